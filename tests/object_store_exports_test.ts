/**
 * Finished files in the object store (EXPORTS_FILE_STORE=s3), against a real S3-protocol server
 * (s3rver on loopback) and the functions server in s3 mode: the upload and its checkpoints, the
 * 302 to a presigned URL, deletion through the outbox, an unreachable store, and the bytes limit.
 * npm test runs this file in its s3 phase (the functions server restarted with
 * EXPORTS_FILE_STORE=s3); elsewhere it is ignored, saying why.
 */
import assert from "node:assert/strict";
import { parseExportRequest } from "../shared/domain/export_config.ts";
import { ExportService } from "../shared/domain/export_service.ts";
import { processExports } from "../shared/domain/export_worker.ts";
import { drainObjectDeletions } from "../shared/domain/object_deletions.ts";
import { ObjectStore, ObjectStoreError } from "../shared/storage/object_store.ts";
import { ExportsClient } from "../client/exports_client.ts";
import { api, supabaseAs } from "./support/api.ts";
import { claimsFor, createConversation, createUser, seedConversations, testSql, withoutCronDriver, withSettings } from "./support/database.ts";
import { exportAndWait, waitForExport } from "./support/exports.ts";
import { setStoreDown, storeRequests, testObjectStore } from "./support/object_store.ts";
import { userToken } from "./support/tokens.ts";

const S3_MODE = Deno.env.get("EXPORTS_FILE_STORE") === "s3";
const sql = testSql();
const store = testObjectStore();
const MiB = 1024 * 1024;

function s3Test(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: !S3_MODE,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => withoutCronDriver(fn),
  });
}

interface Job {
  file_store: string;
  object_key: string | null;
  upload_id: string | null;
  upload_parts: { partNumber: number; etag: string }[];
  object_etag: string | null;
  attempts: number;
  last_error: string | null;
}

async function jobOf(exportLogId: string): Promise<Job | undefined> {
  const [job] = await sql<Job[]>`
    select file_store, object_key, upload_id, upload_parts, object_etag, attempts, last_error
      from exports_internal.export_jobs where export_log_id = ${exportLogId}`;
  return job;
}

async function statusOf(exportLogId: string): Promise<string | undefined> {
  const [row] = await sql<{ status: string }[]>`select status from public.export_logs where id = ${exportLogId}`;
  return row?.status;
}

async function chunkBytes(exportLogId: string): Promise<Uint8Array> {
  const rows = await sql<{ data: Uint8Array }[]>`
    select data from exports_internal.export_chunks where export_log_id = ${exportLogId} order by chunk_number`;
  const total = rows.reduce((sum, row) => sum + row.data.byteLength, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const row of rows) {
    bytes.set(row.data, offset);
    offset += row.data.byteLength;
  }
  return bytes;
}

/** The object's bytes, or null when the store has no such object. */
async function objectBytes(key: string): Promise<Uint8Array | null> {
  const response = await fetch(await store.presignGet(key, { contentType: "application/octet-stream", contentDisposition: "attachment" }));
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  assert.equal(response.status, 200);
  return new Uint8Array(await response.arrayBuffer());
}

/** An export requested for the object store, without the API's background processing. */
async function requestS3Export(userId: string, body: unknown = { format: "jsonl" }) {
  const service = ExportService.forUser(sql, claimsFor(userId));
  const { log } = await service.requestExport(parseExportRequest(body), { fileStore: "s3" });
  return log;
}

/** A store that fails every part after the first, as a store that goes down mid-upload. */
class FailingAfterPartOne extends ObjectStore {
  override async uploadPart(key: string, uploadId: string, partNumber: number, bytes: Uint8Array<ArrayBuffer>) {
    if (partNumber > 1) throw new ObjectStoreError("UploadPart", 503, "down for a test");
    return await super.uploadPart(key, uploadId, partNumber, bytes);
  }
}

async function queuedDeletions(keys: string[]): Promise<number> {
  const [{ count }] = await sql<{ count: number }[]>`
    select count(*)::integer as count from exports_internal.object_deletions where object_key = any(${keys})`;
  return count;
}

/** Ends an upload's backoff now, instead of waiting 2^attempts seconds. */
async function lapseBackoff(exportLogId: string): Promise<void> {
  await sql`update exports_internal.export_jobs set lease_expires_at = now() - interval '1 millisecond'
             where export_log_id = ${exportLogId} and lease_token is null and lease_expires_at is not null`;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

s3Test("an export is uploaded as one object: the chunks go, the download is a 302 to a presigned URL with the contract's headers", async () => {
  const userId = await createUser();
  for (let i = 0; i < 3; i++) await createConversation(userId, { title: `Conversation ${i}` });
  const token = await userToken(userId);
  const log = await exportAndWait(token, { format: "jsonl" });
  assert.equal(log.status, "completed");
  const job = await jobOf(log.id);
  assert.equal(job?.file_store, "s3");
  assert.ok(job?.object_key && job.object_etag, "the object is recorded");
  assert.equal((await chunkBytes(log.id)).byteLength, 0, "no chunk is left in the database");

  const redirect = await fetch(log.file_url, { redirect: "manual" });
  await redirect.body?.cancel();
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.get("cache-control"), "private, no-store");
  assert.equal(redirect.headers.get("referrer-policy"), "no-referrer");
  // Every header the document gives the 302 is sent (docs/openapi.json, generated from routes.ts).
  const documented = JSON.parse(await Deno.readTextFile(new URL("../docs/openapi.json", import.meta.url)));
  const redirectHeaders = documented.paths["/exports/{export_id}/download"].get.responses["302"].headers;
  for (const name of Object.keys(redirectHeaders)) assert.ok(redirect.headers.get(name), `the 302 sends ${name}`);
  const location = redirect.headers.get("location") ?? "";
  assert.match(location, /X-Amz-Signature=/);
  assert.match(location, /X-Amz-Expires=60/);

  const file = await fetch(location);
  const bytes = new Uint8Array(await file.arrayBuffer());
  assert.equal(file.status, 200);
  assert.equal(file.headers.get("content-type"), "application/x-ndjson");
  assert.equal(file.headers.get("content-disposition"), `attachment; filename="export-${log.export_id}.jsonl"`);
  assert.equal(bytes.byteLength, log.file_size);
  assert.equal(Number(file.headers.get("content-length")), log.file_size);
  assert.equal(new TextDecoder().decode(bytes).split("\n").filter(Boolean).length, 3);

  // The typed client follows the redirect (so does the CLI, which downloads through it).
  const client = new ExportsClient(await supabaseAs(userId));
  const fetched = await client.downloadExport(log.export_id);
  assert.equal(fetched.filename, `export-${log.export_id}.jsonl`);
  assert.equal(fetched.size, log.file_size);
  assert.deepEqual(new Uint8Array(await new Response(fetched.stream).arrayBuffer()), bytes);
});

s3Test("a worker killed after part 2 of 5 is resumed at part 3: 5 parts in all, and the object equals the generated file", async () => {
  const userId = await createUser();
  await seedConversations(userId, 2_600, { turns: 8, contentLength: 1_000 });
  const log = await requestS3Export(userId);
  const before = await storeRequests();
  const worker = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL("./support/uploading_worker.ts", import.meta.url).pathname, log.id, "3"],
    env: { EXPORTS_S3_ENDPOINT: store.settings.endpoint },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = worker.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  while (!printed.includes("before-part-3")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the worker ended early: ${printed}`);
    printed += value;
  }
  worker.kill("SIGKILL");
  await worker.status;
  await reader.cancel().catch(() => {});

  const killed = await jobOf(log.id);
  assert.deepEqual(killed?.upload_parts.map((part) => part.partNumber), [1, 2], "two parts recorded");
  const file = await chunkBytes(log.id);
  assert.ok(file.byteLength > 20 * MiB && file.byteLength <= 25 * MiB, `a file of 5 parts (${file.byteLength} bytes)`);
  // Its lease lapses; the next driver with the store takes it over.
  await sql`update exports_internal.export_jobs set lease_expires_at = now() - interval '1 second'
             where export_log_id = ${log.id}`;
  await processExports(sql, { workerId: "resumer", store, budgetMs: 60_000 });
  assert.equal(await statusOf(log.id), "completed");
  const after = await storeRequests();
  assert.equal((after.UploadPart ?? 0) - (before.UploadPart ?? 0), 5, "parts 1-2 by the killed worker, 3-5 by the next");
  assert.equal((after.CreateMultipartUpload ?? 0) - (before.CreateMultipartUpload ?? 0), 1, "one multipart upload");
  const job = await jobOf(log.id);
  const object = await objectBytes(job!.object_key!);
  assert.equal(object?.byteLength, file.byteLength);
  assert.equal(await sha256(object!), await sha256(file), "byte-identical");
  assert.equal((await chunkBytes(log.id)).byteLength, 0, "the chunks are gone at completion");
});

s3Test("DELETE, expiry and the user's deletion each remove the object after one worker pass", async () => {
  const makeCompleted = async () => {
    const userId = await createUser();
    await createConversation(userId, { title: "One" });
    const log = await requestS3Export(userId);
    await processExports(sql, { workerId: "test", store, firstExportLogId: log.id, budgetMs: 30_000 });
    const job = await jobOf(log.id);
    assert.equal(await statusOf(log.id), "completed");
    assert.ok(await objectBytes(job!.object_key!), "the object exists");
    return { userId, log, key: job!.object_key! };
  };
  // Each worker pass drains the outbox first: all three are made before any is taken away.
  const [deleted, expired, userGone] = [await makeCompleted(), await makeCompleted(), await makeCompleted()];
  const token = await userToken(deleted.userId);
  assert.equal((await api(`/${deleted.log.export_id}`, { method: "DELETE", token })).status, 204);
  await sql`update public.export_logs set expires_at = now() - interval '1 second' where id = ${expired.log.id}`;
  await sql`select public.mark_expired_exports()`;
  assert.equal(await statusOf(expired.log.id), "expired");
  await sql`delete from auth.users where id = ${userGone.userId}`;

  for (const { key } of [deleted, expired, userGone]) {
    assert.ok(await objectBytes(key), "still there before the worker's pass");
  }
  await processExports(sql, { workerId: "drainer", store, budgetMs: 30_000 });
  for (const [name, { key }] of Object.entries({ deleted, expired, userGone })) {
    assert.equal(await objectBytes(key), null, `${name}: the object is gone`);
  }
  assert.equal(await queuedDeletions([deleted.key, expired.key, userGone.key]), 0, "the outbox is drained");
});

s3Test("an upload given up after its part 1, then retried from scratch: the unfinished upload is aborted after one worker pass", async () => {
  const userId = await createUser();
  await seedConversations(userId, 700, { turns: 8, contentLength: 1_000 });
  const log = await requestS3Export(userId);
  const restore = await withSettings({ max_attempts: 1 });
  try {
    await processExports(sql, { workerId: "test", store: new FailingAfterPartOne(store.settings), firstExportLogId: log.id, budgetMs: 30_000 });
  } finally {
    await restore();
  }
  assert.equal(await statusOf(log.id), "failed");
  const [queued] = await sql<{ object_key: string; upload_id: string | null }[]>`
    select object_key, upload_id from exports_internal.object_deletions where object_key like ${"%" + log.export_id + "%"}`;
  assert.ok(queued?.upload_id, "the unfinished upload is queued to be aborted");
  const token = await userToken(userId);
  // The retry kicks the API's own background worker, which may drain and upload first: count
  // from before the retry, and wait for whichever worker completes it.
  const aborts = (await storeRequests()).AbortMultipartUpload ?? 0;
  assert.equal((await api(`/${log.export_id}/retry`, { method: "POST", token })).status, 202);
  await processExports(sql, { workerId: "drainer", store, firstExportLogId: log.id, budgetMs: 60_000 });
  assert.equal((await waitForExport(token, log.export_id, 60)).status, "completed", "the retry uploads a new object");
  assert.equal(((await storeRequests()).AbortMultipartUpload ?? 0) - aborts, 1, "aborted once");
  assert.equal(await queuedDeletions([queued.object_key]), 0);
});

s3Test("with the store down, deletions stay queued and visible, and drain once it is back", async () => {
  const userId = await createUser();
  await createConversation(userId, { title: "One" });
  const log = await requestS3Export(userId);
  await processExports(sql, { workerId: "test", store, firstExportLogId: log.id, budgetMs: 30_000 });
  const key = (await jobOf(log.id))!.object_key!;
  await sql`delete from public.export_logs where id = ${log.id}`;
  await setStoreDown(true);
  try {
    const result = await drainObjectDeletions(sql, store);
    assert.ok(result.failed >= 1 && result.deleted === 0, JSON.stringify(result));
    const [queued] = await sql<{ attempts: number; last_error: string }[]>`
      select attempts, last_error from exports_internal.object_deletions where object_key = ${key}`;
    assert.equal(queued.attempts, 1);
    assert.match(queued.last_error, /503/);
  } finally {
    await setStoreDown(false);
  }
  await sql`update exports_internal.object_deletions set next_attempt_at = now() where object_key = ${key}`;
  await drainObjectDeletions(sql, store);
  assert.equal(await objectBytes(key), null);
  const [{ count }] = await sql<{ count: number }[]>`
    select count(*)::integer as count from exports_internal.object_deletions where object_key = ${key}`;
  assert.equal(count, 0, "the outbox entry is gone once the store confirmed");
});

s3Test("the store unreachable during the upload: not completed; it completes once the store is back, or fails with a readable message after the maximum attempts", async () => {
  const userId = await createUser();
  await createConversation(userId, { title: "One" });
  const log = await requestS3Export(userId);
  await setStoreDown(true);
  try {
    await processExports(sql, { workerId: "test", store, firstExportLogId: log.id, budgetMs: 10_000 });
    assert.notEqual(await statusOf(log.id), "completed");
    assert.match((await jobOf(log.id))?.last_error ?? "", /upload: .*503/);
    assert.equal((await jobOf(log.id))?.attempts, 1, "one attempt used: the retry waits for its backoff");
  } finally {
    await setStoreDown(false);
  }
  await lapseBackoff(log.id);
  await processExports(sql, { workerId: "test", store, firstExportLogId: log.id, budgetMs: 30_000 });
  assert.equal(await statusOf(log.id), "completed");

  const restore = await withSettings({ max_attempts: 2 });
  const failing = await requestS3Export(userId);
  await setStoreDown(true);
  try {
    for (let i = 0; i < 3; i++) {
      await processExports(sql, { workerId: "test", store, firstExportLogId: failing.id, budgetMs: 10_000 });
      await lapseBackoff(failing.id);
    }
  } finally {
    await setStoreDown(false);
    await restore();
  }
  assert.equal(await statusOf(failing.id), "failed");
  const token = await userToken(userId);
  const shown = await waitForExport(token, failing.export_id, 5);
  assert.match(shown.error_message, /[A-Z].*\./, "a sentence for the user");
  assert.doesNotMatch(shown.error_message, /503|S3|upload:/, "no internals");
});

s3Test("the bytes limit counts objects as it counts chunks", async () => {
  const userId = await createUser();
  await seedConversations(userId, 20, { turns: 4, contentLength: 500 });
  const log = await requestS3Export(userId);
  await processExports(sql, { workerId: "test", store, firstExportLogId: log.id, budgetMs: 30_000 });
  assert.equal(await statusOf(log.id), "completed");
  const [{ file_size }] = await sql<{ file_size: number }[]>`select file_size from public.export_logs where id = ${log.id}`;
  assert.ok(file_size > 0);
  const restore = await withSettings({ max_stored_bytes: file_size });
  try {
    const token = await userToken(userId);
    const refused = await api("", { token, body: { format: "jsonl" } });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, "too_many_exports");
    assert.match(refused.body.error.message, /stored export files take/);
  } finally {
    await restore();
  }
});
