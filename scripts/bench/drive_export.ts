/**
 * One worker process for the generation benchmark: drives the given export (internal id) from
 * queued to completed with the project's own driver — claimNextExport (a lease), then
 * driveClaim (one batch per transaction until it completes), as processExports does for each
 * export it claims, but for this export only — and prints one JSON line with the time it took,
 * its steps (count, median and slowest) and this process's peak resident memory (VmHWM). The
 * clock starts before the claim, so Deno's start-up and the connection are not counted.
 *
 * Usage: deno run -A scripts/bench/drive_export.ts <export_log_id>   (reads SUPABASE_DB_URL)
 */
import { createSql } from "../../shared/database/db.ts";
import { claimNextExport, driveClaim } from "../../shared/domain/export_worker.ts";
import { env } from "./config.ts";
import { ownPeakRss } from "./rss.ts";

const [exportLogId] = Deno.args;
if (!exportLogId) throw new Error("Usage: drive_export.ts <export_log_id>");

const sql = createSql(env("SUPABASE_DB_URL"), { max: 1, applicationName: "bench-worker" });
await sql`select 1`;
const stepMs: number[] = [];
const started = performance.now();
let stepStarted = started;
const claim = await claimNextExport(sql, "bench-worker", exportLogId);
if (!claim) throw new Error(`Export ${exportLogId} could not be claimed`);
const outcome = await driveClaim(sql, claim, {
  onStep: () => {
    const now = performance.now();
    stepMs.push(now - stepStarted);
    stepStarted = now;
  },
});
const elapsedMs = performance.now() - started;
await sql.end({ timeout: 5 });
const sorted = [...stepMs].sort((a, b) => a - b);
console.log(JSON.stringify({
  elapsedMs,
  steps: stepMs.length,
  stepMedianMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
  stepMaxMs: sorted.at(-1) ?? 0,
  outcome,
  peakRssBytes: ownPeakRss(),
}));
