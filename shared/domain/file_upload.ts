/**
 * The upload phase of an export whose file goes to the object store (EXPORTS_FILE_STORE=s3).
 * After its last batch the export stays `processing` and its chunks are uploaded, in order, as
 * the parts of one multipart upload. The upload id and each finished part (number and ETag) are
 * recorded in the job under the lease, so a worker that dies resumes at the next part: no part
 * is uploaded twice and no file is held whole (one part at a time, a few MiB). When the object
 * is complete, the database deletes the chunks and completes the export in one transaction.
 *
 * Every step checks the lease in the database: a worker that lost its lease (a DELETE, expiry of
 * the lease, a retry) stops, and what it uploaded is removed through the deletion outbox.
 */
import type { FileStoreSettings } from "../core/env.ts";
import { type Sql, withService } from "../database/db.ts";
import { ObjectStore, type UploadedPart } from "../storage/object_store.ts";
import { type ChunkPlace, chunkPlaces, CONTENT_TYPES, FILE_EXTENSIONS, readSlice, sliceAt } from "./download.ts";
import type { ExportFormat } from "./export_config.ts";
import type { Claim } from "./export_worker.ts";

/** How an upload step ended. */
export type UploadOutcome = "completed" | "lost" | "retry" | "failed";

interface UploadState {
  state: "upload" | "lost";
  export_id: string;
  user_id: string;
  format: ExportFormat;
  file_size: number;
  object_key: string | null;
  upload_id: string | null;
  part_bytes: number | null;
  parts: UploadedPart[];
}

/** The object key of an export's file: one folder per user, named like the download. */
export function objectKeyOf(userId: string, exportId: string, format: ExportFormat): string {
  return `${userId}/export-${exportId}.${FILE_EXTENSIONS[format]}`;
}

/**
 * Uploads a claimed export's file, resuming after the parts already recorded. A store that
 * fails counts as one failed attempt (the export is released, or failed once attempts run out).
 */
export async function uploadExport(sql: Sql, store: ObjectStore, claim: Claim): Promise<UploadOutcome> {
  const state = await readUploadState(sql, claim);
  if (state.state === "lost") return "lost";
  const key = state.object_key ?? objectKeyOf(state.user_id, state.export_id, state.format);
  try {
    let { upload_id: uploadId, part_bytes: partBytes } = state;
    if (!uploadId || !partBytes) {
      partBytes = store.settings.partBytes;
      uploadId = await store.createMultipartUpload(key, CONTENT_TYPES[state.format]);
      if (!await ok(sql<{ ok: boolean }[]>`select exports_internal.begin_upload(${claim.exportLogId}, ${claim.leaseToken},
                          ${key}, ${uploadId}, ${partBytes}) as ok`)) {
        await store.abortMultipartUpload(key, uploadId).catch(() => {});
        return "lost";
      }
    }
    const parts = [...state.parts];
    const fileSize = Number(state.file_size);
    const partCount = Math.max(1, Math.ceil(fileSize / partBytes));
    const chunks = await withService(sql, (tx) => chunkPlaces(tx, claim.exportLogId));
    const readPart = (partNumber: number) => {
      const start = (partNumber - 1) * partBytes!;
      const read = readRange(sql, claim.exportLogId, chunks, start, Math.min(fileSize, start + partBytes!) - 1);
      read.catch(() => {}); // awaited below, unless the upload stops first
      return read;
    };
    // The next part is read from the database while this one uploads: two parts in memory at
    // most, and the database and the store work at the same time.
    let nextPart = parts.length < partCount ? readPart(parts.length + 1) : null;
    for (let partNumber = parts.length + 1; partNumber <= partCount; partNumber++) {
      const bytes = await nextPart!;
      nextPart = partNumber < partCount ? readPart(partNumber + 1) : null;
      const etag = await store.uploadPart(key, uploadId, partNumber, bytes);
      const recorded = sql<{ ok: boolean }[]>`select exports_internal.record_upload_part(${claim.exportLogId}, ${claim.leaseToken},
                             ${partNumber}, ${etag}) as ok`;
      if (!await ok(recorded)) return "lost";
      parts.push({ partNumber, etag });
    }
    const etag = await store.completeMultipartUpload(key, uploadId, parts);
    const completed = sql<{ ok: boolean }[]>`select exports_internal.complete_upload(${claim.exportLogId}, ${claim.leaseToken},
                            ${etag}) as ok`;
    return await ok(completed) ? "completed" : "lost";
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const [{ outcome }] = await sql<{ outcome: "retry" | "failed" | "lost" }[]>`
      select exports_internal.upload_failed(${claim.exportLogId}, ${claim.leaseToken}, ${message}) as outcome`;
    return outcome;
  }
}

async function readUploadState(sql: Sql, claim: Claim): Promise<UploadState> {
  const [row] = await sql<UploadState[]>`
    select * from exports_internal.upload_state(${claim.exportLogId}, ${claim.leaseToken})`;
  return row ?? { state: "lost" } as UploadState;
}

/** The answer of one lease-checked step of the upload: false when the lease is no longer ours. */
async function ok(step: PromiseLike<{ ok: boolean }[]>): Promise<boolean> {
  const [row] = await step;
  return row?.ok === true;
}

/** Bytes [start, end] of the file, read slice by slice; one part, never the whole file. */
async function readRange(
  sql: Sql,
  exportLogId: string,
  chunks: ChunkPlace[],
  start: number,
  end: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const part = new Uint8Array(Math.max(0, end - start + 1));
  let position = start;
  while (position <= end) {
    const { chunk, length } = sliceAt(chunks, position, end);
    part.set(await readSlice(sql, exportLogId, chunk, position, length), position - start);
    position += length;
  }
  return part;
}

/** The store a driver uploads with, or null when finished files stay in Postgres. */
export function objectStoreOf(settings: FileStoreSettings): ObjectStore | null {
  return settings.kind === "s3" ? new ObjectStore(settings) : null;
}
