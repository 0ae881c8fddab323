/**
 * A real worker process for crash tests: claims one export, commits `batches` batches (printing
 * "batch N" after each), then starts one more batch inside an open transaction and prints
 * "mid-batch" while that transaction is still uncommitted — the moment the test SIGKILLs it.
 * Usage: crashing_worker.ts <export_log_id> <batches>
 */
import { createSql } from "../../shared/db.ts";
import { claimNextExport, runStep } from "../../shared/export_worker.ts";

const [exportLogId, batches] = Deno.args;
const sql = createSql(Deno.env.get("SUPABASE_DB_URL")!, { max: 1, applicationName: "crashing-worker" });
const claim = await claimNextExport(sql, "crashing-worker", exportLogId);
if (!claim) {
  console.log("no-claim");
  Deno.exit(3);
}
console.log("claimed");
for (let i = 1; i <= Number(batches); i++) {
  await runStep(sql, claim);
  console.log(`batch ${i}`);
}
await sql.begin(async (tx) => {
  await tx`select exports_internal.generate_next_batch(${claim.exportLogId}, ${claim.leaseToken})`;
  console.log("mid-batch");
  await tx`select pg_sleep(2)`;
});
console.log("survived");
