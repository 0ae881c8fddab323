/**
 * The web UI type-checks: Vite compiles it without checking types, so this is where a change of
 * the typed client or the shared schemas that breaks the UI is caught.
 */
import assert from "node:assert/strict";

Deno.test("web/src type-checks against the typed client and the shared schemas", async () => {
  const root = new URL("../..", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", "--config", "web/deno.check.json", "web/src/main.tsx"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
});
