/**
 * supabase/schema.sql is the schema the migrations build: the test database (migrated from
 * scratch by npm test; tests that change a function put it back) dumps to exactly the committed
 * file. When a migration changes the schema, `npm run schema` writes the file again.
 */
import assert from "node:assert/strict";
import { dumpSchema, SCHEMA_FILE } from "../scripts/schema_dump.ts";

Deno.test("supabase/schema.sql is the schema the migrations build (run `npm run schema` when it is stale)", async () => {
  const url = Deno.env.get("SUPABASE_DB_URL");
  if (!url) throw new Error("SUPABASE_DB_URL is not set: run the tests with `npm test`");
  const committed = await Deno.readTextFile(SCHEMA_FILE);
  const actual = await dumpSchema(url);
  if (actual !== committed) {
    const [a, b] = [actual.split("\n"), committed.split("\n")];
    const first = a.findIndex((line, i) => line !== b[i]);
    assert.fail(`supabase/schema.sql is stale from line ${first + 1}: the database has\n  ${a[first]}\n` +
      `the file has\n  ${b[first]}\nRun \`npm run schema\` and commit the file.`);
  }
});
