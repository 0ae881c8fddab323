/**
 * A real worker process for crash tests: it claims one export, works it up to a chosen point,
 * prints that point's name and then waits there for the test to SIGKILL it.
 *
 * Usage: crashing_worker.ts <export_log_id> <mode> [batches]
 *   after-claim     claims, commits nothing more, prints "after-claim"
 *   mid-batch       commits `batches` batches (default 2), then starts one more inside an open
 *                   transaction and prints "mid-batch" while it is still uncommitted
 *   before-finish   commits every batch, stops before the step that finishes the export,
 *                   prints "before-finish"
 * A numeric second argument means mid-batch with that many batches (the original usage).
 * It prints "claimed" and "batch N" along the way, "no-claim" (exit 3) when there was nothing
 * to claim, and "survived" if nobody kills it within 30 seconds.
 *
 * It waits on the client side, not in a server-side sleep: the backend sits idle (in
 * transaction) reading the socket, so it notices the kill at once and rolls back, as it would
 * for a worker killed between two statements.
 */
import { createSql } from "../../shared/database/db.ts";
import { claimNextExport, runStep } from "../../shared/domain/export_worker.ts";

const MODES = ["after-claim", "mid-batch", "before-finish"] as const;
const WAIT_FOR_KILL_MS = 30_000;

const [exportLogId, modeArg, batchesArg] = Deno.args;
const numeric = /^\d+$/.test(modeArg ?? "");
const mode = numeric ? "mid-batch" : modeArg;
const batches = Number(numeric ? modeArg : batchesArg ?? 2);
if (!exportLogId || !MODES.includes(mode as typeof MODES[number])) {
  console.error(
    `Usage: crashing_worker.ts <export_log_id> <${MODES.join("|")}> [batches]; got "${
      Deno.args.join(" ")
    }"`,
  );
  Deno.exit(2);
}

const sql = createSql(Deno.env.get("SUPABASE_DB_URL")!, {
  max: 1,
  applicationName: "crashing-worker",
});
const claim = await claimNextExport(sql, "crashing-worker", exportLogId);
if (!claim) {
  console.log("no-claim");
  Deno.exit(3);
}
console.log("claimed");

function waitForKill(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, WAIT_FOR_KILL_MS));
}

async function remaining(): Promise<number> {
  const [row] = await sql<{ remaining: number }[]>`
    select l.conversation_count - j.processed as remaining
      from exports_internal.export_jobs j join public.export_logs l on l.id = j.export_log_id
     where j.export_log_id = ${exportLogId}`;
  return row.remaining;
}

if (mode === "after-claim") {
  console.log("after-claim");
  await waitForKill();
} else if (mode === "mid-batch") {
  for (let i = 1; i <= batches; i++) {
    await runStep(sql, claim);
    console.log(`batch ${i}`);
  }
  await sql.begin(async (tx) => {
    await tx`select exports_internal.generate_next_batch(${claim.exportLogId}, ${claim.leaseToken})`;
    console.log("mid-batch");
    await waitForKill();
  });
} else {
  for (let i = 1; (await remaining()) > 0; i++) {
    const outcome = await runStep(sql, claim);
    if (outcome !== "continue") {
      console.log(`unexpected ${outcome}`);
      Deno.exit(4);
    }
    console.log(`batch ${i}`);
  }
  console.log("before-finish");
  await waitForKill();
}
console.log("survived");
await sql.end();
