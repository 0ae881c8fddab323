/**
 * The migrations as the Supabase CLI applies them: npm test applied every file to a freshly
 * bootstrapped vanilla Postgres; applying again must change nothing.
 */
import assert from "node:assert/strict";
import { dbTest, testSql } from "./support/database.ts";

const sql = testSql();
const migrationsDir = new URL("../supabase/migrations/", import.meta.url);

function migrationVersions(): string[] {
  return [...Deno.readDirSync(migrationsDir)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".sql"))
    .map((entry) => entry.name.split("_")[0])
    .sort();
}

async function schemaFingerprint(): Promise<string> {
  const [{ fingerprint }] = await sql<{ fingerprint: string }[]>`
    select md5(string_agg(item, ',' order by item)) as fingerprint from (
      select 'rel:' || n.nspname || '.' || c.relname || ':' || c.relkind::text as item
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname in ('public', 'exports_internal')
      union all
      select 'fn:' || p.oid::regprocedure::text || ':' || md5(p.prosrc)
        from pg_proc p where p.pronamespace in ('public'::regnamespace, 'exports_internal'::regnamespace)
      union all
      select 'cron:' || jobname || ':' || schedule || ':' || command from cron.job
    ) items`;
  return fingerprint;
}

dbTest("supabase migration up applied every migration file, and applying again changes nothing", async () => {
  const applied = await sql<{ version: string }[]>`
    select version from supabase_migrations.schema_migrations order by version`;
  assert.deepEqual(applied.map((row) => row.version), migrationVersions());
  const before = await schemaFingerprint();
  const cli = new URL("../node_modules/.bin/supabase", import.meta.url).pathname;
  const result = await new Deno.Command(cli, {
    args: ["migration", "up", "--db-url", `${Deno.env.get("SUPABASE_DB_URL")}?sslmode=disable`],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  assert.equal(result.code, 0, output);
  assert.match(output, /up to date/i);
  assert.equal(await schemaFingerprint(), before);
  const again = await sql<{ version: string }[]>`select version from supabase_migrations.schema_migrations`;
  assert.equal(again.length, applied.length);
});
