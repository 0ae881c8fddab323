/**
 * The long-running local worker (scripts/worker.ts, started by npm start) as a real process: it
 * wakes on NOTIFY exports_queued, completes the export, and stops cleanly on SIGTERM.
 */
import assert from "node:assert/strict";
import { ExportService } from "../shared/domain/export_service.ts";
import { parseExportRequest } from "../shared/domain/export_config.ts";
import { processExports } from "../shared/domain/export_worker.ts";
import { claimsFor, createConversation, createUser, dbTest, testSql } from "./support/database.ts";

const sql = testSql();

dbTest("scripts/worker.ts wakes on NOTIFY, completes a queued export, and stops on SIGTERM", async () => {
  // Exports left queued by earlier tests would be the worker's first work: finish them first.
  await processExports(sql, { workerId: "test-drain" });
  const worker = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../scripts/worker.ts", import.meta.url).pathname],
    env: { EXPORTS_WORKER_ID: "test-worker-loop" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = worker.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  async function readUntil(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(output)) {
      const timer = new Promise<{ done: true; value: undefined }>((resolve) =>
        setTimeout(() => resolve({ done: true, value: undefined }), Math.max(0, deadline - Date.now()))
      );
      const { done, value } = await Promise.race([lines.read(), timer]);
      if (done) break;
      output += value;
    }
    assert.match(output, pattern);
  }
  try {
    await readUntil(/"message":"ready"/, 30_000);
    const userId = await createUser();
    await createConversation(userId);
    // Created through the service, not the API: nothing but the worker loop is kicked.
    const log = await ExportService.forUser(sql, claimsFor(userId)).createExportLog(
      parseExportRequest({ format: "jsonl" }),
    );
    // Well inside the loop's 5 s poll: only the notification can have woken it this fast.
    await readUntil(/"message":"completed exports","completed":1/, 4_000);
    const [{ status }] = await sql<{ status: string }[]>`
      select status from public.export_logs where id = ${log.id}`;
    assert.equal(status, "completed");
    worker.kill("SIGTERM");
    await readUntil(/"message":"stopped"/, 10_000);
    assert.equal((await worker.status).code, 0);
  } finally {
    try {
      worker.kill("SIGKILL");
    } catch {
      // already stopped
    }
    lines.releaseLock();
    await worker.stdout.cancel().catch(() => {});
  }
});
