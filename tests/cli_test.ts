/**
 * `deno task export` end to end: the CLI runs as a subprocess, exactly as a user types it,
 * against the running functions server and the real database. Its exit codes are the contract
 * scripts rely on: 0 ok, 1 failed export, 2 bad usage, 3 authentication.
 */
import assert from "node:assert/strict";
import { functionsBaseUrl } from "./support/api.ts";
import { createConversation, createUser, dbTest } from "./support/database.ts";
import { download } from "./support/exports.ts";
import { userToken } from "./support/tokens.ts";
import { wrapRendering } from "./support/render_wrapper.ts";

const PROJECT_ROOT = new URL("..", import.meta.url).pathname;

/** What one run of the CLI did. */
interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno task export <args>` with this token (none: EXPORTS_TOKEN empty). */
async function cli(args: string[], token?: string): Promise<CliRun> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "export", ...args],
    cwd: PROJECT_ROOT,
    env: { SUPABASE_URL: functionsBaseUrl(), EXPORTS_TOKEN: token ?? "", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

async function userWithConversations(count: number): Promise<{ userId: string; token: string }> {
  const userId = await createUser();
  for (let i = 0; i < count; i++) await createConversation(userId, { title: `Conversation ${i}` });
  return { userId, token: await userToken(userId) };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

dbTest(
  "export create --wait --out saves the file byte for byte as a direct download of file_url",
  async () => {
    const { token } = await userWithConversations(4);
    const dir = await Deno.makeTempDir({ prefix: "cli-test-" });
    const out = `${dir}/train.jsonl`;
    const run = await cli([
      "create",
      "--format",
      "jsonl",
      "--template",
      "sharegpt",
      "--wait",
      "--out",
      out,
      "--json",
    ], token);
    assert.equal(run.code, 0, run.stderr);
    const log = JSON.parse(run.stdout);
    assert.equal(log.status, "completed");
    assert.equal(log.config.template, "sharegpt");
    const saved = await Deno.readFile(out);
    assert.equal(saved.length, log.file_size);
    assert.deepEqual(saved, (await download(log)).bytes);
    assert.equal(await exists(`${out}.part`), false);
    // Not a terminal: plain progress lines, no control codes.
    assert.match(run.stderr, /^completed: 4\/4 conversations$/m);
    assert.match(run.stderr, /^downloaded .* in .* s \(.*\/s\)$/m);
    assert.ok(
      !run.stderr.includes("\x1b") && !run.stderr.includes("\r"),
      "no escape codes, no redraws",
    );
    await Deno.remove(dir, { recursive: true });
  },
);

dbTest(
  "export status, list, download and delete drive one export; their text names it",
  async () => {
    const { token } = await userWithConversations(2);
    const created = await cli(
      ["create", "--format", "csv", "--status", "approved", "--json"],
      token,
    );
    assert.equal(created.code, 0, created.stderr);
    const exportId = JSON.parse(created.stdout).export_id;
    assert.equal(
      JSON.parse(created.stdout).config.scope,
      "filtered",
      "a filter flag implies scope filtered",
    );

    const status = await cli(["status", exportId, "--wait"], token);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^export_id +${exportId}$`, "m"));
    assert.match(status.stdout, /^status +completed$/m);

    const list = await cli(["list", "--status", "completed"], token);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${exportId} +completed +csv +2 `, "m"));
    assert.match(list.stdout, /Page 1 of 1 \(1 exports\)/);

    const dir = await Deno.makeTempDir({ prefix: "cli-test-" });
    const saved = await cli(["download", exportId, "--out", `${dir}/file.csv`], token);
    assert.equal(saved.code, 0, saved.stderr);
    const log = JSON.parse((await cli(["status", exportId, "--json"], token)).stdout);
    assert.deepEqual(await Deno.readFile(`${dir}/file.csv`), (await download(log)).bytes);
    await Deno.remove(dir, { recursive: true });

    const deleted = await cli(["delete", exportId], token);
    assert.equal(deleted.code, 0, deleted.stderr);
    const gone = await cli(["status", exportId], token);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /\(404 not_found/);
  },
);

dbTest("export exits 2 on bad usage, with what is wrong and how to use it", async () => {
  const { token } = await userWithConversations(1);
  const misspelt = await cli(["create", "--formt", "jsonl"], token);
  assert.equal(misspelt.code, 2);
  assert.match(misspelt.stderr, /Unknown option --formt; did you mean --format\?/);
  assert.match(misspelt.stderr, /Usage: deno task export create \[options\]/);
  assert.match(misspelt.stderr, /deno task export create --help/);

  // Checked before any request, with the server's own parser, and named by flag: no token needed.
  const invalid = await cli(["create", "--quality-min", "11", "--tier", "scenario,epic"]);
  assert.equal(invalid.code, 2);
  assert.match(
    invalid.stderr,
    /--format: Expected one of "json", "jsonl", "csv", "markdown", got nothing/,
  );
  assert.match(invalid.stderr, /--quality-min: Must be at most 10, got 11/);
  assert.match(
    invalid.stderr,
    /--tier \(value 2\): Expected one of "template", "scenario", "edge_case", got "epic"/,
  );

  const noId = await cli(["status"], token);
  assert.equal(noId.code, 2);
  assert.match(noId.stderr, /Missing ID/);
  assert.match(noId.stderr, /Usage: deno task export status ID/);

  const badId = await cli(["status", "not-an-id"], token);
  assert.equal(badId.code, 2, "the API's 400 is bad usage too");
  assert.match(badId.stderr, /ID: Expected a UUID, got "not-an-id"/);

  const unknown = await cli(["craete"], token);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command "craete"; did you mean create\?/);
  assert.match(unknown.stderr, /Commands:\n {2}create/);

  const help = await cli(["create", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--quality-min N +filter: quality score at least N/);
});

dbTest("export exits 3 when the token is missing, refused or expired", async () => {
  const { userId } = await userWithConversations(1);
  const missing = await cli(["list"]);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /No token: pass --token JWT or set EXPORTS_TOKEN/);

  const garbage = await cli(["list", "--token", "not-a-jwt"], await userToken(userId));
  assert.equal(garbage.code, 3, "--token wins over EXPORTS_TOKEN");
  assert.match(garbage.stderr, /The API refused the token \(401 unauthorized\)/);

  const expired = await cli(
    ["create", "--format", "jsonl", "--wait"],
    await userToken(userId, { expiresIn: -600 }),
  );
  assert.equal(expired.code, 3);
});

dbTest("export exits 1 when the export fails, saves nothing and says how to retry", async () => {
  const { userId, token } = await userWithConversations(2);
  const dir = await Deno.makeTempDir({ prefix: "cli-test-" });
  const restoreRendering = await wrapRendering(userId, { fail: true });
  let run: CliRun;
  try {
    run = await cli(["create", "--format", "json", "--out", `${dir}/never.json`], token);
  } finally {
    await restoreRendering();
  }
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /^failed: 0\/2 conversations$/m);
  assert.match(run.stderr, /failed: The export could not be generated after 3 attempts/);
  const exportId = /Retry it with: deno task export retry ([0-9a-f-]{36}) --wait/.exec(run.stderr)
    ?.[1];
  assert.ok(exportId, run.stderr);
  assert.deepEqual([...Deno.readDirSync(dir)], [], "no file, not even a partial one");

  const status = await cli(["status", exportId], token);
  assert.equal(status.code, 1, "status of a failed export exits 1");
  assert.match(status.stdout, /^status +failed$/m);
  await Deno.remove(dir, { recursive: true });
});

dbTest(
  "export preview and usage: what an export would hold and the limits, as text and as --json",
  async () => {
    const { userId, token } = await userWithConversations(3);
    await createConversation(userId, { title: "Refund please", status: "approved" });
    const asJson = await cli(
      ["preview", "--format", "jsonl", "--search", "refund", "--json"],
      token,
    );
    assert.equal(asJson.code, 0, asJson.stderr);
    const preview = JSON.parse(asJson.stdout);
    assert.equal(preview.conversation_count, 1);
    assert.equal(preview.conversations[0].title, "Refund please");
    assert.equal(preview.sample.records, 1);

    const asText = await cli(["preview", "--format", "csv", "--limit", "2"], token);
    assert.equal(asText.code, 0, asText.stderr);
    assert.match(asText.stdout, /^4 conversations match$/m);
    assert.match(asText.stdout, /^The file begins \(3 conversations\):$/m);
    assert.match(asText.stdout, /^Page 1 of 2$/m);
    const badPage = await cli(["preview", "--format", "csv", "--page", "0"], token);
    assert.equal(badPage.code, 2);
    assert.match(badPage.stderr, /page/);

    const usage = await cli(["usage", "--json"], token);
    assert.equal(usage.code, 0, usage.stderr);
    assert.equal(JSON.parse(usage.stdout).active.used, 0);
    const usageText = await cli(["usage"], token);
    assert.match(usageText.stdout, /^active +0 \/ \d+ exports queued or processing$/m);
    assert.match(usageText.stdout, /^daily +0 \/ \d+ requested in the last 24 h$/m);
  },
);
