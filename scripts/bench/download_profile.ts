/**
 * Where case 2's time goes, on the same file: the download straight from the exports function's
 * own port (without the functions server's proxy hop), the slice reads alone as streamFile
 * runs them (readChunkSlice: binary COPY of one SLICE_BYTES slice each, here one after another,
 * without the read-ahead that overlaps them with sending), and Postgres's own part: reading
 * every slice in one statement, nothing sent.
 */
import { readChunkSlice } from "../../shared/database/chunk_reader.ts";
import { SLICE_BYTES } from "../../shared/domain/download.ts";
import { api } from "../../tests/support/api.ts";
import { curlToNowhere } from "./curl.ts";
import { benchSql } from "./db.ts";

/** The profile's figures, each in milliseconds for the whole file. */
export interface DownloadProfile {
  bytes: number;
  slices: number;
  sliceBytes: number;
  /** curl straight to the exports function's port: the download without the proxy hop. */
  directToFunctionMs: number;
  /** Every slice read with readChunkSlice, one after another. */
  sliceReadsMs: number;
  /** Postgres reading every slice in one statement, nothing sent. */
  postgresReadMs: number;
}

/** The exports function's own loopback port, from its environment (DENO_SERVE_ADDRESS). */
function functionPort(pid: number): number {
  const environ = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0");
  const address = environ.find((entry) => entry.startsWith("DENO_SERVE_ADDRESS="));
  const port = Number(address?.split(":").pop());
  if (!port) throw new Error(`The exports function (pid ${pid}) has no DENO_SERVE_ADDRESS`);
  return port;
}

async function curlMs(url: string, expectedBytes: number): Promise<number> {
  const { status, bytes, ms } = await curlToNowhere(url);
  if (status !== 200 || bytes !== expectedBytes) {
    throw new Error(`Direct download: ${status}, ${bytes} bytes`);
  }
  return ms;
}

/** Profiles the download of one completed export. */
export async function profileDownload(
  token: string,
  exportId: string,
  exportLogId: string,
  exportsPid: number,
): Promise<DownloadProfile> {
  const current = await api(`/${exportId}`, { token });
  const fileUrl = new URL(current.body.file_url as string);
  const direct = `http://127.0.0.1:${functionPort(exportsPid)}${
    fileUrl.pathname.replace("/functions/v1", "")
  }${fileUrl.search}`;
  const bytes = current.body.file_size as number;
  const directToFunctionMs = await curlMs(direct, bytes);

  const sql = benchSql();
  const chunks = await sql<{ chunk_number: number; length: number }[]>`
    select chunk_number, octet_length(data)::integer as length from exports_internal.export_chunks
     where export_log_id = ${exportLogId} order by chunk_number`;
  const slices = chunks.flatMap((c) =>
    Array.from({ length: Math.ceil(c.length / SLICE_BYTES) }, (_, i) => ({
      chunk: c.chunk_number,
      from: i * SLICE_BYTES + 1,
      length: Math.min(SLICE_BYTES, c.length - i * SLICE_BYTES),
    }))
  );
  let started = performance.now();
  for (const s of slices) {
    const bytes = await readChunkSlice(sql, {
      exportLogId,
      chunkNumber: s.chunk,
      offset: s.from - 1,
      length: s.length,
    });
    if (bytes?.byteLength !== s.length) throw new Error("A slice came back with the wrong length");
  }
  const sliceReadsMs = performance.now() - started;

  started = performance.now();
  await sql`
    select sum(octet_length(substring(c.data from s.offset_ + 1 for ${SLICE_BYTES})))
      from exports_internal.export_chunks c,
           generate_series(0, octet_length(c.data) - 1, ${SLICE_BYTES}) as s(offset_)
     where c.export_log_id = ${exportLogId}`;
  const postgresReadMs = performance.now() - started;
  return {
    bytes,
    slices: slices.length,
    sliceBytes: SLICE_BYTES,
    directToFunctionMs,
    sliceReadsMs,
    postgresReadMs,
  };
}
