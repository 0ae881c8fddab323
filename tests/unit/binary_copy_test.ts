/** decodeBinaryCopy(): the framing of a binary COPY slice, and every way it can be wrong. */
import assert from "node:assert/strict";
import { decodeBinaryCopy } from "../../shared/database/chunk_reader.ts";

Deno.test("decodeBinaryCopy reads one bytea row and refuses NULLs, extra rows and torn streams", () => {
  const header = [...new TextEncoder().encode("PGCOPY\n"), 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
  const row = (bytes: number[]) => [0, 1, 0, 0, 0, bytes.length, ...bytes];
  const trailer = [0xff, 0xff];
  const decode = (bytes: number[]) => decodeBinaryCopy(new Uint8Array(bytes));
  assert.deepEqual(decode([...header, ...row([7, 8, 9]), ...trailer]), new Uint8Array([7, 8, 9]));
  assert.equal(decode([...header, ...trailer]), null);
  assert.throws(() => decode([...header, 0, 1, 0xff, 0xff, 0xff, 0xff, ...trailer]), /Unexpected/); // NULL
  assert.throws(() => decode([...header, ...row([1]), ...row([2]), ...trailer]), /Unexpected/);
  assert.throws(() => decode([...header, ...row([1, 2, 3]).slice(0, -1), ...trailer]), /Unexpected/);
  assert.throws(() => decode([...header, ...row([1])]), /Unexpected/);
  assert.throws(() => decode([...header.slice(0, 10), ...trailer]), /Not a binary COPY/);
});
