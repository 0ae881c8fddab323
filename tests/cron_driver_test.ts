/**
 * The pg_cron driver: `call exports_internal.process_exports()` — exactly the command the
 * process-exports job runs — completes queued exports, committing after every batch.
 */
import assert from "node:assert/strict";
import { ExportService } from "../shared/domain/export_service.ts";
import { parseExportRequest } from "../shared/domain/export_config.ts";
import { claimsFor, createConversation, createUser, dbTest, testSql, withSettings } from "./support/database.ts";

const sql = testSql();

dbTest("the process-exports cron command completes a queued export in several committed batches", async () => {
  const [job] = await sql<{ command: string; schedule: string }[]>`
    select command, schedule from cron.job where jobname = 'process-exports'`;
  assert.deepEqual(job, { command: "call exports_internal.process_exports()", schedule: "* * * * *" });

  const userId = await createUser();
  for (let i = 0; i < 7; i++) await createConversation(userId, { title: `C${i}` });
  const restore = await withSettings({ batch_size: 2 });
  try {
    const log = await ExportService.forUser(sql, claimsFor(userId)).createExportLog(
      parseExportRequest({ format: "jsonl" }),
    );
    // As pg_cron runs it: one top-level CALL, outside any transaction block.
    await sql.unsafe("call exports_internal.process_exports(interval '20 seconds')");
    const [row] = await sql<{ status: string; chunks: number }[]>`
      select l.status,
             (select count(*)::integer from exports_internal.export_chunks c where c.export_log_id = l.id) as chunks
        from public.export_logs l where l.id = ${log.id}`;
    assert.equal(row.status, "completed");
    assert.equal(row.chunks, 4 + 2, "four batches plus header and footer");
  } finally {
    await restore();
  }
});
