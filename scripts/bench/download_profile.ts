/**
 * Where case 2's time goes, on the same file: the download straight from the exports function's
 * own port (without the functions server's proxy hop), the slice queries alone as streamFile
 * runs them (postgres.js, 512 KiB each: bytea arrives as hex text and is decoded in JS), the
 * decoding alone, and the same slices fetched as base64 text instead (the proposed change).
 */
import { Buffer } from "node:buffer";
import { api } from "../../tests/support/api.ts";
import { SLICE_BYTES } from "../../shared/download.ts";
import { benchSql } from "./db.ts";

/** The profile's figures, each in milliseconds for the whole file. */
export interface DownloadProfile {
  bytes: number;
  slices: number;
  directToFunctionMs: number;
  sliceQueriesHexMs: number;
  hexDecodeOnlyMs: number;
  sliceQueriesBase64Ms: number;
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
  const output = await new Deno.Command("curl", {
    args: ["-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}", url],
    stdout: "piped",
  }).output();
  const [status, bytes, seconds] = new TextDecoder().decode(output.stdout).trim().split(" ").map(
    Number,
  );
  if (status !== 200 || bytes !== expectedBytes) {
    throw new Error(`Direct download: ${status}, ${bytes} bytes`);
  }
  return seconds * 1000;
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
  const noSlot = "00000000-0000-0000-0000-000000000000";
  let started = performance.now();
  for (const slice of slices) {
    await sql`
      with renewed as (
        update exports_internal.active_downloads
           set lease_expires_at = now() + make_interval(secs => 60)
         where id = ${noSlot}
      )
      select substring(data from ${slice.from} for ${slice.length}) as bytes
        from exports_internal.export_chunks
       where export_log_id = ${exportLogId} and chunk_number = ${slice.chunk}`;
  }
  const sliceQueriesHexMs = performance.now() - started;

  const sample = new Uint8Array(SLICE_BYTES).map((_, i) => (i * 31) & 255);
  const hex = Buffer.from(sample).toString("hex");
  started = performance.now();
  for (let i = 0; i < slices.length; i++) Buffer.from(hex, "hex");
  const hexDecodeOnlyMs = performance.now() - started;

  started = performance.now();
  for (const slice of slices) {
    const [row] = await sql<{ b64: string }[]>`
      select encode(substring(data from ${slice.from} for ${slice.length}), 'base64') as b64
        from exports_internal.export_chunks
       where export_log_id = ${exportLogId} and chunk_number = ${slice.chunk}`;
    Buffer.from(row.b64, "base64");
  }
  const sliceQueriesBase64Ms = performance.now() - started;
  return {
    bytes,
    slices: slices.length,
    directToFunctionMs,
    sliceQueriesHexMs,
    hexDecodeOnlyMs,
    sliceQueriesBase64Ms,
  };
}
