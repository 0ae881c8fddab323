/**
 * Drains the deletion outbox: objects (and unfinished multipart uploads) whose export was
 * deleted, expired, retried from scratch or whose user was deleted. Each was queued in the same
 * transaction that took the row away, so no object outlives its row for longer than one worker
 * pass. Deletes are idempotent; a failure is retried with backoff and stays visible in
 * exports_internal.object_deletions (docs/operations.md gives the query).
 */
import type { Sql } from "../database/db.ts";
import type { ObjectStore } from "../storage/object_store.ts";

/** What one pass did. */
export interface DrainResult {
  deleted: number;
  failed: number;
}

/** Deletes what is due in the outbox, at most `limit` entries; never throws for the store. */
export async function drainObjectDeletions(sql: Sql, store: ObjectStore, limit = 100): Promise<DrainResult> {
  const due = await sql<{ id: string; object_key: string; upload_id: string | null }[]>`
    select id, object_key, upload_id from exports_internal.claim_object_deletions(${limit})`;
  const result = { deleted: 0, failed: 0 };
  for (const entry of due) {
    try {
      if (entry.upload_id) await store.abortMultipartUpload(entry.object_key, entry.upload_id);
      await store.deleteObject(entry.object_key);
      await sql`select exports_internal.object_deleted(${entry.id})`;
      result.deleted++;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await sql`select exports_internal.object_deletion_failed(${entry.id}, ${message})`;
      result.failed++;
    }
  }
  return result;
}
