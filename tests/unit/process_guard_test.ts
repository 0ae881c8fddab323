/**
 * guardUnhandledRejections(): one request's stray rejected promise must not end the process that
 * serves everyone else's. A small server runs in a child process, as a function does; one request
 * leaves a rejection unhandled while another is in flight. With the guard the process logs it,
 * counts it and keeps serving; without it (the control) the process dies, which is what the
 * `exports` function did before.
 */
import assert from "node:assert/strict";

const guardModule = new URL("../../shared/core/process_guard.ts", import.meta.url).href;

/** The child: a server with /slow (answers after 500 ms), /stray (leaves a rejection) and /ok. */
function serverSource(guarded: boolean): string {
  return `
    import { guardUnhandledRejections, unhandledRejectionCount } from ${JSON.stringify(guardModule)};
    ${guarded ? 'guardUnhandledRejections("test");' : ""}
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log("port " + port) }, async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/slow") {
        await new Promise((resolve) => setTimeout(resolve, 500));
        return new Response("slow done");
      }
      if (path === "/stray") {
        Promise.reject(new Error("a read nobody awaited"));
        return new Response("stray sent");
      }
      return new Response("ok " + unhandledRejectionCount());
    });`;
}

async function startServer(guarded: boolean) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", serverSource(guarded)],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  while (!/port (\d+)/.test(output)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the server did not start: ${output}`);
    output += value;
  }
  const port = Number(/port (\d+)/.exec(output)![1]);
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return output;
      output += value;
    }
  })();
  return { child, base: `http://127.0.0.1:${port}`, logs: () => rest };
}

Deno.test("guardUnhandledRejections() keeps the process serving: a request in flight and the next ones complete", async () => {
  const { child, base, logs } = await startServer(true);
  try {
    const inFlight = fetch(`${base}/slow`).then((r) => r.text());
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await (await fetch(`${base}/stray`)).text(), "stray sent");
    assert.equal(await inFlight, "slow done", "the request in flight completed");
    assert.equal(await (await fetch(`${base}/ok`)).text(), "ok 1", "the process serves on and counted one");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stderr.cancel();
  }
  const line = (await logs()).split("\n").find((l) => l.includes("unhandled rejection absorbed"));
  assert.ok(line, "the rejection is logged");
  assert.equal(JSON.parse(line).unhandled_rejections, 1);
  assert.match(JSON.parse(line).error, /a read nobody awaited/);
});

Deno.test("without the guard the same stray rejection ends the process (the control)", async () => {
  const { child, base } = await startServer(false);
  try {
    const inFlight = fetch(`${base}/slow`).then((r) => r.text(), () => "cut");
    await new Promise((resolve) => setTimeout(resolve, 50));
    await fetch(`${base}/stray`).then((r) => r.text(), () => "");
    const status = await child.status;
    assert.notEqual(status.code, 0, "the process died");
    assert.equal(await inFlight, "cut", "and took the request in flight with it");
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel();
  }
});
