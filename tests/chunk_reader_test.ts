/**
 * The binary COPY slice reader under downloads: exact bytes against the stored chunk, a missing
 * chunk, and that a pooled connection stays usable after a slice
 * (postgres.js could leave its socket paused after a COPY, hanging the next query).
 */
import assert from "node:assert/strict";
import { readChunkSlice } from "../shared/database/chunk_reader.ts";
import { createSql } from "../shared/database/db.ts";
import { createUser, dbTest, seedConversations, testSql } from "./support/database.ts";
import { exportAndWait } from "./support/exports.ts";
import { userToken } from "./support/tokens.ts";

const sql = testSql();

/** A connection left paused by a COPY hangs its next query: fail instead of waiting forever. */
function withinSeconds<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} hung: the connection stayed paused`)), 10_000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A completed jsonl export whose one data chunk is a few MB; its internal id and chunk. */
async function storedChunk(): Promise<{ exportLogId: string; chunkNumber: number; length: number }> {
  const userId = await createUser();
  await seedConversations(userId, 400, { turns: 8, contentLength: 1_000 });
  const log = await exportAndWait(await userToken(userId), { format: "jsonl" });
  const [chunk] = await sql<{ export_log_id: string; chunk_number: number; length: number }[]>`
    select c.export_log_id, c.chunk_number, octet_length(c.data) as length
      from exports_internal.export_chunks c
      join public.export_logs l on l.id = c.export_log_id
     where l.export_id = ${log.export_id}
     order by octet_length(c.data) desc limit 1`;
  return { exportLogId: chunk.export_log_id, chunkNumber: chunk.chunk_number, length: chunk.length };
}

dbTest("readChunkSlice returns exactly the stored bytes of a slice, and null for a missing chunk", async () => {
  const chunk = await storedChunk();
  assert.ok(chunk.length > 2 * 2 ** 20, `a chunk of several MB: ${chunk.length}`);
  for (const [offset, length] of [[0, 1], [0, 2 * 2 ** 20], [12_345, 777_777], [chunk.length - 10, 10], [5, 0]]) {
    const bytes = await withinSeconds(readChunkSlice(sql, { ...chunk, offset, length }), `${offset}+${length}`);
    const [{ expected }] = await withinSeconds(sql<{ expected: string }[]>`
      select encode(substring(data from ${offset + 1} for ${length}), 'base64') as expected
        from exports_internal.export_chunks
       where export_log_id = ${chunk.exportLogId} and chunk_number = ${chunk.chunkNumber}`, "a query");
    assert.ok(bytes);
    assert.equal(bytes.byteLength, length);
    assert.deepEqual(bytes, Uint8Array.fromBase64(expected.replaceAll("\n", "")), `slice ${offset}+${length}`);
  }
  assert.equal(await readChunkSlice(sql, { ...chunk, offset: 0, chunkNumber: 12345 }), null);
  assert.equal(await readChunkSlice(sql, { ...chunk, offset: 0, exportLogId: crypto.randomUUID() }), null);
});

dbTest("a one-connection pool keeps answering after slices of every size", async () => {
  const chunk = await storedChunk();
  const single = createSql(Deno.env.get("SUPABASE_DB_URL")!, { max: 1, applicationName: "chunk-reader-test" });
  try {
    for (const length of [2 * 2 ** 20, 0, 200_000, 70_000, 65_536, 20_000, 1, 2 * 2 ** 20, 30_000]) {
      const bytes = await withinSeconds(readChunkSlice(single, { ...chunk, offset: 0, length }), `a slice of ${length}`);
      assert.equal(bytes?.byteLength, length);
      const [{ alive }] = await withinSeconds(single<{ alive: number }[]>`select 1 as alive`, `the query after ${length}`);
      assert.equal(alive, 1);
    }
  } finally {
    await single.end({ timeout: 1 });
  }
});

dbTest("readChunkSlice refuses anything but a UUID and non-negative integers in its COPY", async () => {
  const base = { exportLogId: crypto.randomUUID(), chunkNumber: 1, offset: 0, length: 1 };
  for (const bad of [
    { exportLogId: "x' or true --" },
    { chunkNumber: -1 },
    { offset: 1.5 },
    { length: Number.NaN },
  ]) {
    await assert.rejects(readChunkSlice(sql, { ...base, ...bad }), /Not an export id|Not a slice position/);
  }
});
