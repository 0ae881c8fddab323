/**
 * Helpers of the race tests: putting an export into a chosen phase of its life with the worker's
 * own steps, the evidence a race leaves (deadlocks counted by Postgres, function restarts counted
 * by the functions server), and running many requests at once.
 */
import assert from "node:assert/strict";
import { type Claim, claimNextExport } from "../../shared/domain/export_worker.ts";
import { functionsBaseUrl } from "./api.ts";
import { testSql } from "./database.ts";

const sql = testSql();

/**
 * Claims this export (by internal id) for a test worker while processing stays paused for every
 * other driver: the pause is lifted only inside the claim's transaction.
 */
export function claimWhilePaused(exportLogId: string, workerId = "race-worker"): Promise<Claim | null> {
  return sql.begin(async (tx) => {
    await tx`update exports_internal.settings set processing_paused = false`;
    const claim = await claimNextExport(tx, workerId, exportLogId);
    await tx`update exports_internal.settings set processing_paused = true`;
    return claim;
  }) as Promise<Claim | null>;
}

/** Deadlocks Postgres has detected in the test database, as pg_stat_database counts them. */
export async function deadlocksDetected(): Promise<number> {
  const [{ deadlocks }] = await sql<{ deadlocks: number }[]>`
    select deadlocks::integer from pg_stat_database where datname = current_database()`;
  return deadlocks;
}

/**
 * The deadlock count once every backend has reported its statistics: a backend flushes its
 * counters when it goes idle, at most every second, and an idle one within 10 s, so this waits
 * until the count has held still for longer than that.
 */
export async function settledDeadlocks(): Promise<number> {
  let count = await deadlocksDetected();
  for (let quiet = 0; quiet < 11_000; quiet += 500) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = await deadlocksDetected();
    if (now !== count) {
      count = now;
      quiet = 0;
    }
  }
  return count;
}

/** Restarts of each function's process since the functions server started. */
export async function functionRestarts(): Promise<Record<string, number>> {
  const response = await fetch(`${functionsBaseUrl()}/_functions/status`);
  assert.equal(response.status, 200, "the functions server reports its functions");
  const { functions } = await response.json() as { functions: Record<string, { restarts: number }> };
  return Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, fn.restarts]));
}

/** Runs `tasks` with at most `concurrency` in flight; results in the tasks' order. */
export async function inBatches<T>(tasks: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, lane));
  return results;
}

/** Resolves after a random delay of up to `maxMs`, so two racers meet in either order. */
export function jitter(maxMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * maxMs));
}

/** The export's rows left in the internal tables (all of them must go with the export). */
export async function leftovers(exportLogId: string): Promise<Record<string, number>> {
  const [row] = await sql<Record<string, number>[]>`
    select (select count(*)::integer from public.export_logs where id = ${exportLogId}) as export_logs,
           (select count(*)::integer from exports_internal.export_jobs where export_log_id = ${exportLogId}) as jobs,
           (select count(*)::integer from exports_internal.export_members where export_log_id = ${exportLogId}) as members,
           (select count(*)::integer from exports_internal.export_chunks where export_log_id = ${exportLogId}) as chunks,
           (select count(*)::integer from exports_internal.active_downloads where export_log_id = ${exportLogId}) as slots`;
  return row;
}

/** Reads a response body to its end: its bytes, or the error that cut it. */
export async function readBody(response: Response): Promise<{ bytes: number; error?: unknown }> {
  let bytes = 0;
  try {
    for await (const part of response.body ?? []) bytes += part.byteLength;
    return { bytes };
  } catch (error) {
    return { bytes, error };
  }
}
