/**
 * Where case 2's time goes, on the same file: the download straight from the exports function's
 * own port (without the functions server's proxy hop), the slice queries alone as streamFile
 * runs them (postgres.js, 512 KiB each, fetched as base64 text and decoded with the service's
 * own decodeBase64, i.e. the native Uint8Array.fromBase64), the same queries without decoding,
 * the decoding alone, and Postgres's own part: reading and encoding every slice in one
 * statement, nothing sent.
 */
import { decodeBase64, SLICE_BYTES } from "../../shared/download.ts";
import { api } from "../../tests/support/api.ts";
import { benchSql } from "./db.ts";

/** The profile's figures, each in milliseconds for the whole file. */
export interface DownloadProfile {
  bytes: number;
  slices: number;
  /** curl straight to the exports function's port: the download without the proxy hop. */
  directToFunctionMs: number;
  /** The slice queries as streamFile runs them, each slice decoded (decodeBase64). */
  sliceQueriesMs: number;
  /** The same queries, the base64 text left undecoded. */
  sliceQueriesNoDecodeMs: number;
  /** decodeBase64 of as many slices of Postgres base64 text (with its line breaks), alone. */
  decodeOnlyMs: number;
  /** Postgres reading and base64-encoding every slice in one statement, nothing sent. */
  postgresEncodeMs: number;
  /** Whether the native decoder (Uint8Array.fromBase64) was the one used. */
  nativeDecoder: boolean;
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
  // One slice query as streamFile sends it (its lease renewal matches no slot here).
  const slice = async (s: (typeof slices)[number]) => {
    const [row] = await sql<{ base64: string }[]>`
      with renewed as (
        update exports_internal.active_downloads
           set lease_expires_at = now() + make_interval(secs => 60)
         where id = ${noSlot}
      )
      select encode(substring(data from ${s.from} for ${s.length}), 'base64') as base64
        from exports_internal.export_chunks
       where export_log_id = ${exportLogId} and chunk_number = ${s.chunk}`;
    return row.base64;
  };

  let started = performance.now();
  for (const s of slices) {
    const bytes = decodeBase64(await slice(s));
    if (bytes.byteLength !== s.length) throw new Error("A slice decoded to the wrong length");
  }
  const sliceQueriesMs = performance.now() - started;

  started = performance.now();
  for (const s of slices) await slice(s);
  const sliceQueriesNoDecodeMs = performance.now() - started;

  // The file's first full slice as Postgres sends it, decoded as many times as there are slices.
  const sample = await slice(slices[0]);
  started = performance.now();
  for (let i = 0; i < slices.length; i++) decodeBase64(sample);
  const decodeOnlyMs = (performance.now() - started) * bytes / (slices.length * slices[0].length);

  started = performance.now();
  await sql`
    select sum(length(encode(substring(c.data from s.offset_ + 1 for ${SLICE_BYTES}), 'base64')))
      from exports_internal.export_chunks c,
           generate_series(0, octet_length(c.data) - 1, ${SLICE_BYTES}) as s(offset_)
     where c.export_log_id = ${exportLogId}`;
  const postgresEncodeMs = performance.now() - started;
  return {
    bytes,
    slices: slices.length,
    directToFunctionMs,
    sliceQueriesMs,
    sliceQueriesNoDecodeMs,
    decodeOnlyMs,
    postgresEncodeMs,
    nativeDecoder: typeof (Uint8Array as unknown as { fromBase64?: unknown }).fromBase64 ===
      "function",
  };
}
