/** timestamptzToIso(): Postgres's timestamptz text to the API's ISO 8601 with microseconds. */
import assert from "node:assert/strict";
import { timestamptzToIso } from "../../shared/database/db.ts";

Deno.test("timestamptzToIso() keeps microseconds and converts offsets exactly", () => {
  assert.equal(timestamptzToIso("2026-11-28 14:03:07.1234+00"), "2026-11-28T14:03:07.123400Z");
  assert.equal(timestamptzToIso("2026-11-28 14:03:07+00"), "2026-11-28T14:03:07.000000Z");
  assert.equal(timestamptzToIso("2026-11-28 16:03:07.000001+02"), "2026-11-28T14:03:07.000001Z");
  assert.equal(timestamptzToIso("2026-11-28 09:33:07.5-04:30"), "2026-11-28T14:03:07.500000Z");
});
