/**
 * shared/storage/object_store.ts against a real S3-protocol server (s3rver on loopback): a
 * multipart upload part by part, a presigned GET carrying the contract's headers and serving
 * ranges, deletes and aborts that are idempotent, and the store's refusals as errors.
 */
import assert from "node:assert/strict";
import { ObjectStoreError } from "../shared/storage/object_store.ts";
import { setStoreDown, storeRequests, testObjectStore } from "./support/object_store.ts";

const MiB = 1024 * 1024;

function bytesOf(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

Deno.test("a multipart upload joins its parts in order; the presigned GET serves them with the contract's headers and ranges", async () => {
  const store = testObjectStore();
  const key = `tests/${crypto.randomUUID()}.jsonl`;
  const parts = [bytesOf(5 * MiB, 1), bytesOf(5 * MiB, 2), bytesOf(123, 3)];
  const before = await storeRequests();
  const uploadId = await store.createMultipartUpload(key, "application/x-ndjson");
  const uploaded = [];
  for (const [index, part] of parts.entries()) {
    uploaded.push({ partNumber: index + 1, etag: await store.uploadPart(key, uploadId, index + 1, part) });
  }
  const etag = await store.completeMultipartUpload(key, uploadId, uploaded);
  assert.match(etag, /^"[^"]+"$/);
  const after = await storeRequests();
  assert.equal((after.UploadPart ?? 0) - (before.UploadPart ?? 0), 3, "three parts, each sent once");

  const url = await store.presignGet(key, {
    contentType: "application/x-ndjson",
    contentDisposition: 'attachment; filename="export-x.jsonl"',
  });
  assert.match(url, /X-Amz-Signature=/);
  const whole = await fetch(url);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get("content-type"), "application/x-ndjson");
  assert.equal(whole.headers.get("content-disposition"), 'attachment; filename="export-x.jsonl"');
  assert.equal(whole.headers.get("etag"), etag);
  const body = new Uint8Array(await whole.arrayBuffer());
  assert.equal(body.byteLength, 10 * MiB + 123);
  assert.deepEqual(body.subarray(5 * MiB - 3, 5 * MiB + 3), new Uint8Array([...parts[0].subarray(-3), ...parts[1].subarray(0, 3)]));

  const ranged = await fetch(url, { headers: { range: `bytes=${10 * MiB}-${10 * MiB + 9}` } });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers.get("content-range"), `bytes ${10 * MiB}-${10 * MiB + 9}/${10 * MiB + 123}`);
  assert.deepEqual(new Uint8Array(await ranged.arrayBuffer()), parts[2].subarray(0, 10));

  await store.deleteObject(key);
  const gone = await fetch(url);
  assert.equal(gone.status, 404);
  await gone.body?.cancel();
  await store.deleteObject(key); // again: already gone counts as deleted
});

Deno.test("an aborted upload leaves no object, and aborting again is fine", async () => {
  const store = testObjectStore();
  const key = `tests/${crypto.randomUUID()}.csv`;
  const uploadId = await store.createMultipartUpload(key, "text/csv; charset=utf-8");
  await store.uploadPart(key, uploadId, 1, bytesOf(1000, 9));
  await store.abortMultipartUpload(key, uploadId);
  await store.abortMultipartUpload(key, uploadId);
  const url = await store.presignGet(key, { contentType: "text/csv", contentDisposition: "attachment" });
  const response = await fetch(url);
  assert.equal(response.status, 404);
  await response.body?.cancel();
});

Deno.test("a store that refuses answers with an ObjectStoreError naming the operation", async () => {
  const store = testObjectStore();
  await setStoreDown(true);
  try {
    await assert.rejects(
      () => store.createMultipartUpload(`tests/${crypto.randomUUID()}`, "application/json"),
      (error: unknown) => error instanceof ObjectStoreError && error.status === 503 && /CreateMultipartUpload/.test(error.message),
    );
    await assert.rejects(() => store.deleteObject("tests/anything"), ObjectStoreError);
  } finally {
    await setStoreDown(false);
  }
  await store.deleteObject("tests/anything");
});
