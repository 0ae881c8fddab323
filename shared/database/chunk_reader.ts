/**
 * Reads a slice of a stored chunk as raw bytes. postgres.js reads every result column as text,
 * and bytea as text is hex or base64: more bytes on the wire, encoded by the server and decoded
 * here. `COPY … TO STDOUT (FORMAT binary)` sends the bytes as they are stored, with a few bytes
 * of framing that this module strips.
 */
import { getDefaultHighWaterMark, setDefaultHighWaterMark } from "node:stream";
import { idempotentWithReconnect, isConnectionError, type Sql } from "./db.ts";
import { LOWERCASE_UUID_PATTERN } from "../core/uuid.ts";

/** The largest slice one read may ask for. */
export const MAX_SLICE_BYTES = 4 * 1024 * 1024;

// PGCOPY signature (11 bytes), flags (4) and header extension length (4): see "Binary Format"
// in the COPY reference.
const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
const HEADER_BYTES = 19;

/** Where a slice lies: the chunk, and a 0-based offset and length inside it. */
export interface SliceAddress {
  exportLogId: string;
  chunkNumber: number;
  offset: number;
  length: number;
}

/**
 * The slice's bytes, or null when its chunk no longer exists (the export was deleted or expired
 * meanwhile). Safe to repeat, so a connection replaying a stale termination notice is retried.
 */
export function readChunkSlice(sql: Sql, slice: SliceAddress): Promise<Uint8Array | null> {
  return idempotentWithReconnect(async () => decodeBinaryCopy(await copyOut(sql, slice)));
}

/**
 * COPY takes no bind parameters, so the statement carries its values inline; they are checked
 * to be exactly a UUID and non-negative integers first.
 */
function copyStatement({ exportLogId, chunkNumber, offset, length }: SliceAddress): string {
  if (!LOWERCASE_UUID_PATTERN.test(exportLogId)) throw new Error("Not an export id");
  for (const value of [chunkNumber, offset, length]) {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error("Not a slice position");
  }
  return `copy (select substring(data from ${offset + 1} for ${length})
                  from exports_internal.export_chunks
                 where export_log_id = '${exportLogId}' and chunk_number = ${chunkNumber})
          to stdout (format binary)`;
}

// postgres.js pauses a connection's socket when a COPY row meets a full stream buffer, and
// resumes it only when the stream asks for more. When the COPY's end arrives in the same socket
// read (rows are pushed before the caller can attach a reader), the ended stream never asks
// again and the pooled connection stays paused: the next query on it hangs
// (porsager/postgres#499, fix proposed in #1016, unmerged in 3.4.9). A default high-water mark
// above one slice's COPY output means a slice's push never meets a full buffer. Process-wide:
// the only other Node streams here are postgres.js's sockets, read as they arrive.
setDefaultHighWaterMark(false, Math.max(getDefaultHighWaterMark(false), 2 * MAX_SLICE_BYTES));

/**
 * Runs the COPY on a connection reserved for it and gathers its output (one slice, so bounded by
 * the slice size) before giving the connection back. On the shared pool postgres.js pipelines
 * queries onto busy connections, and one queued behind a COPY fails with COPY_IN_PROGRESS: with
 * a few downloads reading ahead at once, other downloads' slices and slot updates failed and
 * streams were cut. A reserved connection takes no other query until it is released, and it is
 * released only once the COPY has been read to its end.
 */
async function copyOut(sql: Sql, slice: SliceAddress): Promise<Uint8Array> {
  if (slice.length > MAX_SLICE_BYTES) throw new Error("Slice too large");
  const statement = copyStatement(slice);
  const parts: Uint8Array[] = [];
  let total = 0;
  const reserved = await sql.reserve();
  let connectionLost = false;
  try {
    for await (const part of await reserved.unsafe(statement).readable()) {
      parts.push(part);
      total += part.byteLength;
    }
  } catch (error) {
    connectionLost = isConnectionError(error);
    throw error;
  } finally {
    // A connection that closed under the COPY is already back in the pool's closed set, to be
    // reconnected there. Releasing it too would put it among the open ones with no socket, and
    // the next query sent down it throws outside any promise, ending the process (postgres.js
    // 3.4.9's release() does not check).
    if (!connectionLost) reserved.release();
  }
  if (parts.length === 1) return parts[0];
  const whole = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.byteLength;
  }
  return whole;
}

/**
 * The single bytea field of the single row of a binary COPY, or null for no row. Anything else
 * (a NULL, more rows, a torn stream) is an error: a download must never pass on wrong bytes.
 */
export function decodeBinaryCopy(copy: Uint8Array): Uint8Array | null {
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  if (copy.byteLength < HEADER_BYTES + 2 || SIGNATURE.some((byte, i) => copy[i] !== byte)) {
    throw new Error("Not a binary COPY stream");
  }
  let at = HEADER_BYTES + view.getUint32(15);
  const fields = view.getInt16(at);
  if (fields === -1 && at + 2 === copy.byteLength) return null;
  if (fields !== 1 || at + 6 > copy.byteLength) throw new Error("Unexpected binary COPY row");
  const length = view.getInt32(at + 2);
  at += 6;
  if (length < 0 || at + length + 2 !== copy.byteLength || view.getInt16(at + length) !== -1) {
    throw new Error("Unexpected binary COPY row");
  }
  return copy.subarray(at, at + length);
}
