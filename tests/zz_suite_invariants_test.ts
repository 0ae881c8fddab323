/**
 * Runs last (files run in name order): what the whole suite must not have caused, read from the
 * store and the servers themselves. Postgres detected no deadlock in the test database (a fresh
 * cluster per run; its statistics survive the faults test's fast restart), no function process
 * restarted, no request was answered with a 5xx other than 503 (the database down, in the faults
 * test), and no unhandled rejection had to be absorbed by the process guard.
 */
import assert from "node:assert/strict";
import { dbTest } from "./support/database.ts";
import { functionRestarts, settledDeadlocks } from "./support/races.ts";

dbTest("the whole suite: no deadlock, no function restart, no 5xx but 503, no unhandled rejection", async () => {
  assert.equal(await settledDeadlocks(), 0, "pg_stat_database.deadlocks of the test database");
  const restarts = await functionRestarts();
  assert.deepEqual(restarts, Object.fromEntries(Object.keys(restarts).map((name) => [name, 0])));
  const logPath = Deno.env.get("FUNCTIONS_LOG");
  assert.ok(logPath, "npm test names the functions server's log (FUNCTIONS_LOG)");
  const failures: string[] = [];
  for (const line of Deno.readTextFileSync(logPath).split("\n")) {
    if (!line.startsWith("{")) continue;
    let entry: { status?: number; message?: string };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if ((entry.status ?? 0) >= 500 && entry.status !== 503) failures.push(line);
    if (entry.message?.startsWith("unhandled rejection")) failures.push(line);
  }
  assert.deepEqual(failures, [], "log lines of 5xx answers or absorbed rejections");
});
