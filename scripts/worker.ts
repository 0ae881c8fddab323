/**
 * The long-running local worker that `npm start` runs: wakes on LISTEN exports_queued (sent when
 * an export is queued or retried), polls as a fallback (a missed notification, an expired lease
 * to take over), and drives exports with the same step as every other driver.
 *
 * Usage: deno run -A scripts/worker.ts   (reads SUPABASE_DB_URL / DATABASE_URL)
 */
import { createSql } from "../shared/database/db.ts";
import { loadFileStoreSettings, WORKER_BUDGETS_MS } from "../shared/core/env.ts";
import { processExports } from "../shared/domain/export_worker.ts";
import { objectStoreOf } from "../shared/domain/file_upload.ts";

const POLL_MS = 5_000;
const url = Deno.env.get("SUPABASE_DB_URL") ?? Deno.env.get("DATABASE_URL");
if (!url) throw new Error("SUPABASE_DB_URL is not set (nor DATABASE_URL)");
const sql = createSql(url, { applicationName: "export-worker-loop", max: 2 });
const workerId = Deno.env.get("EXPORTS_WORKER_ID") ?? `local-worker-${Deno.pid}`;
// With EXPORTS_FILE_STORE=s3 the loop uploads finished files and drains the deletion outbox.
const store = objectStoreOf(loadFileStoreSettings());
const stop = new AbortController();
let wake: () => void = () => {};

function log(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), component: "worker", worker: workerId, ...fields }));
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(signal, () => {
    stop.abort();
    wake();
  });
}

await sql.listen("exports_queued", () => wake());
log({ level: "info", message: "ready" });
while (!stop.signal.aborted) {
  try {
    const completed = await processExports(sql, { workerId, budgetMs: WORKER_BUDGETS_MS.workerLoop, signal: stop.signal, store });
    if (completed > 0) log({ level: "info", message: "completed exports", completed });
  } catch (error) {
    log({ level: "error", message: "processing failed; retrying shortly", error: String(error) });
  }
  if (stop.signal.aborted) break;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, POLL_MS);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}
await sql.end({ timeout: 5 });
log({ level: "info", message: "stopped" });
