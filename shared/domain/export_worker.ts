/**
 * Drives queued exports to completion with the database's own step: claim (with a lease), then
 * one batch per transaction until the export completes. The API (in the background after a
 * POST), the export-worker function and the local worker loop all use this; pg_cron uses the
 * SQL procedure exports_internal.process_exports(). Any number may run at once.
 */
import { WORKER_BUDGETS_MS } from "../core/env.ts";
import type { Sql, Tx } from "../database/db.ts";
import type { ObjectStore } from "../storage/object_store.ts";
import { uploadExport } from "./file_upload.ts";
import { drainObjectDeletions } from "./object_deletions.ts";

/** Options of processExports. */
export interface ProcessOptions {
  /** Label stored with the lease, for operators. */
  workerId?: string;
  /** Stop claiming new exports after this many milliseconds (a running batch finishes). */
  budgetMs?: number;
  /** Stop when aborted (between batches). */
  signal?: AbortSignal;
  /** Claim this export (internal id) first, e.g. the one a request just queued. */
  firstExportLogId?: string;
  /** Called after every step, e.g. for logs. */
  onStep?: (step: { exportLogId: string; outcome: StepOutcome }) => void;
  /**
   * The object store, when finished files go there (EXPORTS_FILE_STORE=s3): this driver then
   * also claims exports waiting for their upload, uploads them, and drains the deletion outbox.
   */
  store?: ObjectStore | null;
}

/**
 * What one step of generate_next_batch() reports. `upload`: every batch is written and the file
 * waits for its upload to the object store (the export stays processing).
 */
export type StepOutcome = "continue" | "completed" | "lost" | "released" | "failed" | "upload";

/** A claimed export and the lease that proves it is ours. */
export interface Claim {
  exportLogId: string;
  leaseToken: string;
}

/**
 * Claims the next export (an expired lease first, else the oldest queued), or null. With
 * `only`, just that export (by its internal id) if it is claimable.
 */
export async function claimNextExport(
  sql: Sql | Tx,
  workerId: string,
  only?: string,
  canUpload = false,
): Promise<Claim | null> {
  const [claim] = await sql<{ export_log_id: string; lease_token: string }[]>`
    select export_log_id, lease_token
      from exports_internal.claim_next_export(${workerId}, ${only ?? null}::uuid, ${canUpload})`;
  return claim ? { exportLogId: claim.export_log_id, leaseToken: claim.lease_token } : null;
}

/** Runs one step of a claimed export in its own transaction. */
export async function runStep(sql: Sql, claim: Claim): Promise<StepOutcome> {
  const [{ outcome }] = await sql<{ outcome: StepOutcome }[]>`
    select exports_internal.generate_next_batch(${claim.exportLogId}, ${claim.leaseToken}) as outcome`;
  return outcome;
}

/** Hands a claimed export back so the next claim resumes it from its checkpoint. */
export async function releaseClaim(sql: Sql, claim: Claim): Promise<void> {
  await sql`select exports_internal.release_export(${claim.exportLogId}, ${claim.leaseToken})`;
}

/**
 * Works one claimed export until it leaves our hands or the deadline passes (then it is
 * released, not abandoned to its lease); returns the last outcome.
 */
export async function driveClaim(
  sql: Sql,
  claim: Claim,
  options: ProcessOptions & { deadline?: number } = {},
): Promise<StepOutcome> {
  while (true) {
    let outcome = await runStep(sql, claim);
    if (outcome === "upload") outcome = await upload(sql, claim, options.store);
    options.onStep?.({ exportLogId: claim.exportLogId, outcome });
    if (outcome !== "continue") return outcome;
    if (options.signal?.aborted || (options.deadline !== undefined && Date.now() >= options.deadline)) {
      await releaseClaim(sql, claim);
      return "released";
    }
  }
}

/**
 * Processes exports until none is left, the budget is spent or the signal aborts. Returns how
 * many exports this call completed.
 */
export async function processExports(sql: Sql, options: ProcessOptions = {}): Promise<number> {
  const workerId = options.workerId ?? `worker-${crypto.randomUUID().slice(0, 8)}`;
  const deadline = Date.now() + (options.budgetMs ?? WORKER_BUDGETS_MS.workerFunction);
  let completed = 0;
  let first = options.firstExportLogId;
  const canUpload = Boolean(options.store);
  if (options.store) await drainObjectDeletions(sql, options.store);
  while (Date.now() < deadline && !options.signal?.aborted) {
    const claim = await claimNextExport(sql, workerId, first, canUpload) ??
      (first ? await claimNextExport(sql, workerId, undefined, canUpload) : null);
    first = undefined;
    if (!claim) break;
    if (await driveClaim(sql, claim, { ...options, deadline }) === "completed") completed++;
  }
  return completed;
}

/**
 * Uploads a generated file to the object store. A driver without the store (it was started with
 * the postgres store while this export was requested with s3) hands the export back.
 */
async function upload(sql: Sql, claim: Claim, store: ObjectStore | null | undefined): Promise<StepOutcome> {
  if (!store) {
    await releaseClaim(sql, claim);
    return "released";
  }
  const outcome = await uploadExport(sql, store, claim);
  return outcome === "retry" ? "released" : outcome;
}
