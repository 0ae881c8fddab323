/**
 * Makes one completed export in the database at SUPABASE_DB_URL, through the real service and
 * worker steps, and prints its internal id: a fixture for scripts/test_faults.sh, which has no
 * functions server. Usage: SUPABASE_DB_URL=… deno run -A tests/support/completed_export.ts
 */
import { parseExportRequest } from "../../shared/domain/export_config.ts";
import { ExportService } from "../../shared/domain/export_service.ts";
import { claimNextExport, driveClaim } from "../../shared/domain/export_worker.ts";
import { claimsFor, createConversation, createUser, testSql } from "./database.ts";

const sql = testSql();
try {
  const userId = await createUser();
  for (let i = 0; i < 3; i++) await createConversation(userId, { title: `Conversation ${i}` });
  const log = await ExportService.forUser(sql, claimsFor(userId))
    .createExportLog(parseExportRequest({ format: "jsonl" }));
  // The cron driver may take it first; then it finishes it, and this only waits.
  for (let tries = 0; tries < 120; tries++) {
    const claim = await claimNextExport(sql, "faults-fixture", log.id);
    if (claim) await driveClaim(sql, claim);
    const [{ status }] = await sql<{ status: string }[]>`
      select status from public.export_logs where id = ${log.id}`;
    if (status === "completed") break;
    if (status === "failed") throw new Error(`The fixture export ${log.id} failed`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  console.log(log.id);
} finally {
  await sql.end();
}
