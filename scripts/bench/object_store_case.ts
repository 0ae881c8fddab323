/**
 * Case 7, the object store (EXPORTS_FILE_STORE=s3, against s3rver on loopback): bench.sh has
 * restarted the functions server in s3 mode and started the store.
 * - The upload of the large jsonl file: time from its last batch (sealed) to completed, against a
 *   plain multipart upload of the same bytes, in parts of the same size, to the same server.
 * - A download through the function's 302 against a direct GET of the presigned URL.
 * - The exports function's CPU time per download (the redirect alone) for the small and the large
 *   file: with the object store it should not grow with the file.
 * Writes results/object-store.json.
 *
 * Usage: deno run -A scripts/bench/object_store_case.ts   (bench.sh sets the environment)
 */
import { loadFileStoreSettings, type ObjectStoreSettings, parseSigningKeys } from "../../shared/core/env.ts";
import { signedFileUrl } from "../../shared/http/download_token.ts";
import { createSql } from "../../shared/database/db.ts";
import { CONTENT_TYPES } from "../../shared/domain/download.ts";
import { ConversationStatusSchema, parseExportRequest } from "../../shared/domain/export_config.ts";
import { ExportService } from "../../shared/domain/export_service.ts";
import { claimNextExport, driveClaim } from "../../shared/domain/export_worker.ts";
import { ObjectStore, type UploadedPart } from "../../shared/storage/object_store.ts";
import { claimsFor } from "../../tests/support/database.ts";
import { processCpuSeconds } from "./cpu.ts";
import { CONVERSATION_EPOCH_MS, currentSizes, env, OWNER_ID } from "./config.ts";
import { curlToNowhere } from "./curl.ts";
import { progress, writeResult } from "./results.ts";
import { findDenoProcess } from "./rss.ts";

const DOWNLOAD_ROUNDS = 3;
const REDIRECTS_PER_SIZE = 200;

const settings = loadFileStoreSettings();
if (settings.kind !== "s3") throw new Error("EXPORTS_FILE_STORE=s3 is not set: run with npm run bench");
const store = new ObjectStore(settings as ObjectStoreSettings);
const sql = createSql(env("SUPABASE_DB_URL"), { max: 4, applicationName: "bench-object-store" });
const sizes = currentSizes();
const exportsPid = findDenoProcess(Number(env("BENCH_FUNCTIONS_SERVER_PID")), "functions/exports/index.ts");
if (!exportsPid) throw new Error("The exports function's process was not found");

/** A jsonl export of the owner's first `conversations`, generated up to its upload. */
async function generatedExport(conversations: number) {
  const filters: Record<string, unknown> = { statuses: ConversationStatusSchema.options };
  if (conversations < sizes.conversations) {
    filters.createdTo = new Date(CONVERSATION_EPOCH_MS + conversations * 60_000).toISOString();
  }
  const request = parseExportRequest({ format: "jsonl", config: { scope: "filtered", filters } });
  const { log } = await ExportService.forUser(sql, claimsFor(OWNER_ID)).requestExport(request, { fileStore: "s3" });
  // Generation without the store: it stops at the sealed file, waiting for its upload. Only
  // this export is claimed: the export_logs of case 4 hold thousands of queued ones.
  const claim = await claimNextExport(sql, "bench-generate", log.id, false);
  if (!claim) throw new Error("The export could not be claimed");
  await driveClaim(sql, claim);
  const [job] = await sql<{ sealed_size: number | null }[]>`
    select sealed_size from exports_internal.export_jobs where export_log_id = ${log.id}`;
  if (job?.sealed_size == null) throw new Error("The export did not reach its upload");
  return { log, fileBytes: Number(job.sealed_size) };
}

/** The upload phase alone: from the sealed file to the completed export. */
async function timedUpload(exportLogId: string): Promise<number> {
  const started = performance.now();
  const claim = await claimNextExport(sql, "bench-upload", exportLogId, true);
  if (!claim) throw new Error("The sealed export could not be claimed for its upload");
  await driveClaim(sql, claim, { store });
  const elapsed = performance.now() - started;
  const [row] = await sql<{ status: string }[]>`select status from public.export_logs where id = ${exportLogId}`;
  if (row?.status !== "completed") throw new Error(`The upload ended ${row?.status}`);
  return elapsed;
}

/** The baseline: the object's bytes, read back, uploaded again as a plain multipart upload. */
async function plainMultipartUpload(sourceKey: string, fileBytes: number): Promise<number> {
  const source = await fetch(await store.presignGet(sourceKey, { contentType: CONTENT_TYPES.jsonl, contentDisposition: "attachment" }));
  const partBytes = settings.kind === "s3" ? (settings as ObjectStoreSettings).partBytes : 0;
  const key = `bench/plain-${crypto.randomUUID()}.jsonl`;
  // The part being filled is the only buffer, as in the upload itself; reading the source
  // is outside the timed span only in so far as it runs ahead of the parts.
  const reader = source.body!.getReader();
  const started = performance.now();
  const uploadId = await store.createMultipartUpload(key, CONTENT_TYPES.jsonl);
  const parts: UploadedPart[] = [];
  let part = new Uint8Array(partBytes);
  let filled = 0;
  let total = 0;
  const flush = async () => {
    parts.push({ partNumber: parts.length + 1, etag: await store.uploadPart(key, uploadId, parts.length + 1, part.slice(0, filled)) });
    filled = 0;
  };
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    let offset = 0;
    while (offset < value.byteLength) {
      const take = Math.min(partBytes - filled, value.byteLength - offset);
      part.set(value.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      total += take;
      if (filled === partBytes) await flush();
    }
  }
  if (filled > 0 || parts.length === 0) await flush();
  await store.completeMultipartUpload(key, uploadId, parts);
  const elapsed = performance.now() - started;
  part = new Uint8Array(0);
  if (total !== fileBytes) throw new Error(`The baseline read ${total} of ${fileBytes} bytes`);
  await store.deleteObject(key);
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The function's CPU seconds per redirect (the 302 only, not followed). */
async function cpuPerRedirect(fileUrl: string): Promise<number> {
  for (let i = 0; i < 20; i++) await (await fetch(fileUrl, { redirect: "manual" })).body?.cancel();
  const before = processCpuSeconds(exportsPid!);
  for (let i = 0; i < REDIRECTS_PER_SIZE; i++) {
    const response = await fetch(fileUrl, { redirect: "manual" });
    await response.body?.cancel();
    if (response.status !== 302) throw new Error(`The download answered ${response.status}`);
  }
  return (processCpuSeconds(exportsPid!) - before) / REDIRECTS_PER_SIZE;
}

progress(`case 7: jsonl of ${sizes.conversations.toLocaleString("en")} conversations to the object store`);
const large = await generatedExport(sizes.conversations);
const uploadMs = await timedUpload(large.log.id);
const [{ object_key: largeKey, file_url: largeUrl }] = await sql<{ object_key: string; file_url: string }[]>`
  select j.object_key, l.file_url from exports_internal.export_jobs j
    join public.export_logs l on l.id = j.export_log_id where l.id = ${large.log.id}`;
const plainMs = await plainMultipartUpload(largeKey, large.fileBytes);
progress(`  upload ${(uploadMs / 1000).toFixed(2)} s, plain multipart ${(plainMs / 1000).toFixed(2)} s, ${(large.fileBytes / 1e6).toFixed(1)} MB`);

// The stored file_url carries no token; the function answers it for a signed link only, so the
// benchmark signs one as the API would present it.
const signingKey = parseSigningKeys(env("EXPORTS_SIGNING_SECRET"))[0];
const linkOf = async (exportLogId: string, fileUrl: string) => {
  const [row] = await sql<{ export_id: string; expires_at: string }[]>`
    select export_id, expires_at from public.export_logs where id = ${exportLogId}`;
  return signedFileUrl(fileUrl, row.export_id, String(row.expires_at), signingKey);
};
const largeLink = await linkOf(large.log.id, largeUrl);

const redirectMs: number[] = [];
const directMs: number[] = [];
for (let round = 0; round < DOWNLOAD_ROUNDS; round++) {
  const viaRedirect = await curlToNowhere(largeLink, ["-L"]);
  if (viaRedirect.status !== 200 || viaRedirect.bytes !== large.fileBytes) {
    throw new Error(`The download answered ${viaRedirect.status} with ${viaRedirect.bytes} bytes`);
  }
  redirectMs.push(viaRedirect.ms);
  const direct = await curlToNowhere(await store.presignGet(largeKey, { contentType: CONTENT_TYPES.jsonl, contentDisposition: "attachment" }));
  directMs.push(direct.ms);
}
progress(`  download via 302 ${(median(redirectMs) / 1000).toFixed(2)} s, direct ${(median(directMs) / 1000).toFixed(2)} s`);

progress(`case 7: CPU per download at ${sizes.subset.toLocaleString("en")} and ${sizes.conversations.toLocaleString("en")} conversations`);
const small = await generatedExport(sizes.subset);
await timedUpload(small.log.id);
const [{ file_url: smallUrl }] = await sql<{ file_url: string }[]>`select file_url from public.export_logs where id = ${small.log.id}`;
const smallLink = await linkOf(small.log.id, smallUrl);
const cpuSmall = await cpuPerRedirect(smallLink);
const cpuLarge = await cpuPerRedirect(largeLink);
progress(`  ${(cpuSmall * 1000).toFixed(2)} ms vs ${(cpuLarge * 1000).toFixed(2)} ms of CPU per download`);

await writeResult("object-store", {
  conversations: sizes.conversations,
  smallConversations: sizes.subset,
  fileBytes: large.fileBytes,
  smallFileBytes: small.fileBytes,
  partBytes: (settings as ObjectStoreSettings).partBytes,
  uploadMs,
  plainUploadMs: plainMs,
  redirectDownloadMs: redirectMs,
  directDownloadMs: directMs,
  redirectsPerSize: REDIRECTS_PER_SIZE,
  cpuSecondsPerDownloadSmall: cpuSmall,
  cpuSecondsPerDownloadLarge: cpuLarge,
});
await sql.end({ timeout: 5 });
