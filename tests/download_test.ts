/**
 * GET /exports/{id}/download: every state the contract names, signed links (tampered, foreign,
 * expired, deleted), byte ranges, the concurrency limit, and that expiry and deletion free the
 * stored bytes.
 */
import assert from "node:assert/strict";
import { signDownloadToken } from "../shared/http/download_token.ts";
import { claimNextExport, driveClaim, runStep } from "../shared/domain/export_worker.ts";
import { parseSigningKeys } from "../shared/core/env.ts";
import { api, exportsUrl } from "./support/api.ts";
import { createConversation, createUser, dbTest, seedConversations, testSql, withSettings } from "./support/database.ts";
import { download, exportAndWait, type ExportLogBody, FILE_STORE } from "./support/exports.ts";
import { userToken } from "./support/tokens.ts";
import { wrapRendering } from "./support/render_wrapper.ts";

const sql = testSql();
const signingKey = parseSigningKeys(Deno.env.get("EXPORTS_SIGNING_SECRET") ?? "")[0];

async function completedExport(format = "jsonl") {
  const userId = await createUser();
  for (let i = 0; i < 3; i++) await createConversation(userId, { title: `Conversation ${i}` });
  const token = await userToken(userId);
  const log = await exportAndWait(token, { format });
  assert.equal(log.status, "completed");
  return { userId, token, log };
}

async function fetchStatus(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  const text = await response.text();
  const isError = response.status >= 400 && response.headers.get("content-type")?.startsWith("application/json");
  return { status: response.status, headers: response.headers, text, body: isError ? JSON.parse(text) : null };
}

function linkWith(log: ExportLogBody, token: string): string {
  const url = new URL(log.file_url);
  url.searchParams.set("token", token);
  return url.toString();
}

async function chunkCount(exportLogId: string): Promise<number> {
  const [{ count }] = await sql<{ count: number }[]>`
    select count(*)::integer as count from exports_internal.export_chunks where export_log_id = ${exportLogId}`;
  return count;
}

dbTest("download by JWT and by signed link both stream the completed file", async () => {
  const { token, log } = await completedExport();
  assert.match(log.file_url, new RegExp(`^${exportsUrl(`/${log.export_id}/download`)}\\?token=`));
  const byJwt = await fetch(exportsUrl(`/${log.export_id}/download`), { headers: { Authorization: `Bearer ${token}` } });
  const jwtBytes = new Uint8Array(await byJwt.arrayBuffer());
  assert.equal(byJwt.status, 200);
  const byLink = await download(log);
  assert.deepEqual(jwtBytes, byLink.bytes);
});

dbTest("download states: queued/processing 409 not_ready, failed 409 export_failed, expired 410, foreign 404", async () => {
  const { token, log } = await completedExport();
  const restore = await withSettings({ processing_paused: true });
  try {
    const queued = await api("", { token, body: { format: "csv" } });
    const path = `/${queued.body.export_id}/download`;
    const notReady = await api(path, { token });
    assert.equal(notReady.status, 409);
    assert.equal(notReady.body.error.code, "not_ready");
    await sql`update public.export_logs set status = 'processing' where export_id = ${queued.body.export_id}`;
    assert.equal((await api(path, { token })).body.error.code, "not_ready");
    await sql`update public.export_logs set status = 'failed', error_message = 'x' where export_id = ${queued.body.export_id}`;
    const failed = await api(path, { token });
    assert.equal(failed.status, 409);
    assert.equal(failed.body.error.code, "export_failed");
  } finally {
    await restore();
  }
  const stranger = await userToken(await createUser());
  const foreign = await api(`/${log.export_id}/download`, { token: stranger });
  assert.equal(foreign.status, 404);
  assert.equal(foreign.body.error.code, "not_found");
  // Past expires_at but not yet marked: the database decides, so it is already 410.
  await sql`update public.export_logs set expires_at = now() - interval '1 second' where export_id = ${log.export_id}`;
  const pastExpiry = await fetchStatus(log.file_url);
  assert.equal(pastExpiry.status, 410);
  assert.equal(pastExpiry.body.error.code, "expired");
  await sql`select public.mark_expired_exports()`;
  assert.equal((await api(`/${log.export_id}/download`, { token })).status, 410);
});

dbTest("signed links: tampered or another export's token 401, expired token 410, deleted export 404", async () => {
  const { token, log } = await completedExport();
  const other = await completedExport();
  const signed = new URL(log.file_url).searchParams.get("token")!;
  const tampered = signed.slice(0, -2) + (signed.endsWith("AA") ? "BB" : "AA");
  assert.equal((await fetchStatus(linkWith(log, tampered))).status, 401);
  assert.equal((await fetchStatus(linkWith(log, "garbage"))).status, 401);
  const othersToken = new URL(other.log.file_url).searchParams.get("token")!;
  const foreign = await fetchStatus(linkWith(log, othersToken));
  assert.equal(foreign.status, 401);
  assert.equal(foreign.body.error.code, "unauthorized");
  const expiredToken = signDownloadToken(log.export_id, new Date(Date.now() - 60_000).toISOString(), signingKey);
  const expired = await fetchStatus(linkWith(log, expiredToken));
  assert.equal(expired.status, 410);
  assert.equal(expired.body.error.code, "expired");
  assert.equal((await api(`/${log.export_id}`, { token, method: "DELETE" })).status, 204);
  const deleted = await fetchStatus(log.file_url);
  assert.equal(deleted.status, 404);
  assert.equal(deleted.body.error.code, "not_found");
});

dbTest("a rotated signing key keeps verifying links it signed", async () => {
  const { log } = await completedExport();
  const keys = parseSigningKeys(Deno.env.get("EXPORTS_SIGNING_SECRET")!);
  // The server's current key signs; an unknown version is refused.
  const unknown = signDownloadToken(log.export_id, log.expires_at, { version: "v0", secret: keys[0].secret });
  assert.equal((await fetchStatus(linkWith(log, unknown))).status, 401);
  const current = signDownloadToken(log.export_id, log.expires_at, keys[0]);
  assert.equal((await fetchStatus(linkWith(log, current))).status, 200);
});

dbTest("Range returns exactly the requested bytes (206); an unsatisfiable range is 416; a stale If-Range gets the whole file", async () => {
  const { log } = await completedExport("csv");
  const whole = await download(log);
  const size = whole.bytes.byteLength;
  for (const [range, start, end] of [["bytes=0-9", 0, 9], ["bytes=5-", 5, size - 1], ["bytes=-7", size - 7, size - 1], [`bytes=3-${size + 100}`, 3, size - 1]] as const) {
    const part = await download(log, { headers: { Range: range } });
    assert.equal(part.response.status, 206, range);
    assert.equal(part.response.headers.get("content-range"), `bytes ${start}-${end}/${size}`);
    assert.equal(part.response.headers.get("content-length"), String(end - start + 1));
    assert.deepEqual(part.bytes, whole.bytes.slice(start, end + 1));
  }
  const unsatisfiable = await fetchStatus(log.file_url, { headers: { Range: `bytes=${size}-` } });
  assert.equal(unsatisfiable.status, 416);
  if (FILE_STORE === "postgres") {
    // With the object store the 416 comes from the store after the redirect, in its own words.
    assert.equal(unsatisfiable.body.error.code, "range_not_satisfiable");
    assert.equal(unsatisfiable.headers.get("content-range"), `bytes */${size}`);
  }
  // If-Range is the function's when it streams the file. S3 does not document If-Range (the
  // contract promises Range and ETag from the object store), so it is asserted for postgres only.
  if (FILE_STORE === "postgres") {
    const stale = await download(log, { headers: { Range: "bytes=0-9", "If-Range": '"stale"' } });
    assert.equal(stale.response.status, 200);
    assert.equal(stale.bytes.byteLength, size);
  }
  const fresh = await download(log, { headers: { Range: "bytes=0-9", "If-Range": whole.response.headers.get("etag")! } });
  assert.equal(fresh.response.status, 206);
});

dbTest("more than four concurrent downloads of one user is 429 too_many_downloads (the database store; the object store has no such limit)", async () => {
  if (FILE_STORE === "s3") {
    // The contract: the concurrent-download limit applies to the database store only; with the
    // object store a download is a redirect and takes no slot.
    const { log } = await completedExport();
    const restore = await withSettings({ max_concurrent_downloads: 1 });
    try {
      const open = await Promise.all(Array.from({ length: 3 }, () => fetch(log.file_url)));
      assert.deepEqual(open.map((response) => response.status), [200, 200, 200]);
      for (const response of open) await response.body?.cancel();
    } finally {
      await restore();
    }
    return;
  }
  // A file of ~64 MB, more than the loopback sockets and the proxy can buffer: unread streams
  // stay open (backpressure), holding their slots.
  const userId = await createUser();
  await seedConversations(userId, 2_000, { turns: 8, contentLength: 4_000 });
  const log = await exportAndWait(await userToken(userId), { format: "jsonl", config: { includeMetadata: false } });
  const restore = await withSettings({ max_concurrent_downloads: 4 });
  const open: Response[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      const response = await fetch(log.file_url);
      assert.equal(response.status, 200);
      open.push(response);
    }
    const fifth = await fetchStatus(log.file_url);
    assert.equal(fifth.status, 429);
    assert.equal(fifth.body.error.code, "too_many_downloads");
    assert.ok(Number(fifth.headers.get("retry-after")) > 0);
  } finally {
    for (const response of open) await response.body?.cancel();
    await restore();
  }
  // Slots are given back when the streams end.
  let status = 0;
  for (let i = 0; i < 20 && status !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const response = await fetch(log.file_url);
    status = response.status;
    await response.body?.cancel();
  }
  assert.equal(status, 200);
});

dbTest("mark_expired_exports() and DELETE leave no bytes of the file in the database", async () => {
  // With the object store the chunks are gone at completion already (the object's removal is
  // shown by tests/object_store_exports_test.ts).
  const storedChunks = async (id: string) => FILE_STORE === "s3" ? (await chunkCount(id)) === 0 : (await chunkCount(id)) > 0;
  const expiring = await completedExport();
  assert.ok(await storedChunks(expiring.log.id));
  await sql`update public.export_logs set expires_at = now() - interval '1 second' where id = ${expiring.log.id}`;
  await sql`select public.mark_expired_exports()`;
  assert.equal(await chunkCount(expiring.log.id), 0);
  const expired = await api(`/${expiring.log.export_id}`, { token: expiring.token });
  assert.equal(expired.body.status, "expired");
  assert.equal(expired.body.file_url, null);

  const deleting = await completedExport();
  assert.ok(await storedChunks(deleting.log.id));
  assert.equal((await api(`/${deleting.log.export_id}`, { token: deleting.token, method: "DELETE" })).status, 204);
  assert.equal(await chunkCount(deleting.log.id), 0);
});

dbTest("Prefer: wait=N is applied (clamped to 30) on POST and GET, and the status code stays", async () => {
  const userId = await createUser();
  await createConversation(userId);
  const token = await userToken(userId);
  const created = await api("", { token, body: { format: "json" }, headers: { Prefer: "wait=99" } });
  assert.equal(created.status, 202);
  assert.equal(created.headers.get("preference-applied"), "wait=30");
  assert.equal(created.body.status, "completed", "a small export finishes while the request waits");
  assert.deepEqual(created.body.progress, { processed: 1, total: 1 });
  const fetched = await api(`/${created.body.export_id}`, { token, headers: { Prefer: "wait=5" } });
  assert.equal(fetched.status, 200);
  assert.equal(fetched.headers.get("preference-applied"), "wait=5");
  const malformed = await api(`/${created.body.export_id}`, { token, headers: { Prefer: "wait=soon" } });
  assert.equal(malformed.headers.get("preference-applied"), null);
});

dbTest("a poison export fails after the maximum attempts with a readable message; retry regenerates it", async () => {
  const userId = await createUser();
  await createConversation(userId);
  const token = await userToken(userId);
  const restore = await withSettings({ processing_paused: true });
  let poisoned: { id: string; export_id: string };
  let restoreRendering = () => Promise.resolve();
  try {
    poisoned = (await api("", { token, body: { format: "json" } })).body as typeof poisoned;
    restoreRendering = await wrapRendering(userId, { fail: true });
  } finally {
    await restore();
  }
  try {
    const failed = await waitUntil(token, poisoned.export_id, (log) => log.status === "failed");
    assert.match(failed.error_message, /could not be generated after 3 attempts/);
    assert.doesNotMatch(failed.error_message, /poison|exception|sql/i);
    assert.equal(await chunkCount(poisoned.id), 0, "a failed export keeps no partial file");
    const refused = await api(`/${poisoned.export_id}/download`, { token });
    assert.equal(refused.body.error.code, "export_failed");
  } finally {
    await restoreRendering();
  }
  const retried = await api(`/${poisoned.export_id}/retry`, { token, method: "POST" });
  assert.equal(retried.status, 202);
  assert.equal(retried.body.error_message, null);
  const completed = await waitUntil(token, poisoned.export_id, (log) => log.status === "completed");
  assert.equal((await download(completed)).response.status, 200);
});



// deno-lint-ignore no-explicit-any
async function waitUntil(token: string, exportId: string, done: (log: any) => boolean) {
  for (let i = 0; i < 200; i++) {
    const current = await api(`/${exportId}`, { token, headers: { Prefer: "wait=1" } });
    if (done(current.body)) return current.body;
    // Drive it here too, so the test does not wait for the minute-by-minute cron safety net.
    const claim = await claimNextExport(sql, "test-driver", current.body.id);
    if (claim) await driveClaim(sql, claim);
  }
  throw new Error(`export ${exportId} never reached the expected state`);
}

dbTest("retry of an export that failed after some batches rebuilds the whole file from scratch", async () => {
  const userId = await createUser();
  for (let i = 0; i < 3; i++) {
    await createConversation(userId, { title: `C${i}`, created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() });
  }
  const token = await userToken(userId);
  const restoreSettings = await withSettings({ batch_size: 1, processing_paused: true });
  let created: { id: string; export_id: string };
  let claim: Awaited<ReturnType<typeof claimNextExport>>;
  try {
    created = (await api("", { token, body: { format: "json" } })).body as typeof created;
  } finally {
    // Unpause and claim in one transaction: the pg_cron driver, draining exports other tests
    // left queued, would otherwise take this one in between and finish it.
    claim = await sql.begin(async (tx) => {
      await tx`update exports_internal.settings set processing_paused = false`;
      return await claimNextExport(tx, "test", created.id);
    });
  }
  try {
    // One batch succeeds, then generation fails until the export is given up.
    assert.ok(claim);
    assert.equal(await runStep(sql, claim), "continue");
    const restoreRendering = await wrapRendering(userId, { fail: true });
    try {
      await sql`update exports_internal.export_jobs set lease_expires_at = now() - interval '1 second'
                where export_log_id = ${created.id}`;
      await waitUntil(token, created.export_id, (log) => log.status === "failed");
    } finally {
      await restoreRendering();
    }
    assert.equal((await api(`/${created.export_id}/retry`, { token, method: "POST" })).status, 202);
    const completed = await waitUntil(token, created.export_id, (log) => log.status === "completed");
    const document = JSON.parse(new TextDecoder().decode((await download(completed)).bytes));
    assert.equal(document.conversation_count, 3);
    assert.deepEqual(document.conversations.map((c: { title: string }) => c.title), ["C0", "C1", "C2"]);
  } finally {
    await restoreSettings();
  }
});
