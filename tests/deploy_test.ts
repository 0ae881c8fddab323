/**
 * The deploy path of docs/deploy.md, checked as far as this machine allows (no Docker, no
 * network beyond the package registries):
 * - `supabase db push --db-url … --dry-run` against a fresh, bootstrapped database lists every
 *   migration and applies none; the real push applies them all; a second push changes nothing;
 * - supabase/config.toml declares each function with its entrypoint and import map, and the
 *   pinned CLI parses it;
 * - each function entrypoint type-checks and bundles alone with that import map, and the bundle
 *   runs by itself (no deno.json, no node_modules) against the freshly pushed database. That is
 *   what `supabase functions deploy` does before uploading: resolve the entrypoint's module graph
 *   through the import map and bundle it.
 *
 * pg_cron can only be created in the database named by cron.database_name ('postgres'), and the
 * migrations create it, so a second database in the test cluster cannot take the push. The fresh
 * database is a throwaway cluster of its own (scripts/lib.sh cluster_init), removed afterwards.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { userToken } from "./support/tokens.ts";

const root = new URL("..", import.meta.url).pathname;
const supabaseCli = `${root}node_modules/.bin/supabase`;
const deno = Deno.execPath();
const decoder = new TextDecoder();

interface Run {
  code: number;
  output: string;
}

async function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  const result = await new Deno.Command(command, {
    args,
    cwd: options.cwd ?? root,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: result.code,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

/** Runs a bash snippet with scripts/lib.sh sourced ($1, $2… are `args`). */
function stackShell(snippet: string, args: string[]): Promise<Run> {
  return run("bash", ["-c", `source "${root}scripts/lib.sh"; ${snippet}`, "stack-shell", ...args]);
}

function migrationFiles(): string[] {
  return [...Deno.readDirSync(new URL("../supabase/migrations/", import.meta.url))]
    .filter((entry) => entry.isFile && entry.name.endsWith(".sql"))
    .map((entry) => entry.name)
    .sort();
}

/** The `[functions.<name>]` sections of supabase/config.toml (flat keys only). */
function functionSections(): Map<string, Record<string, string | boolean>> {
  const text = Deno.readTextFileSync(new URL("../supabase/config.toml", import.meta.url));
  const sections = new Map<string, Record<string, string | boolean>>();
  let current: Record<string, string | boolean> | null = null;
  for (const line of text.split("\n").map((l) => l.trim())) {
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      const name = /^functions\.("?)([A-Za-z][A-Za-z0-9_-]*)\1$/.exec(header[1])?.[2];
      current = name ? {} : null;
      if (name) sections.set(name, current!);
      continue;
    }
    const entry = /^([a-z_]+)\s*=\s*(.+?)\s*(#.*)?$/.exec(line);
    if (current && entry) {
      const raw = entry[2];
      current[entry[1]] = raw === "true" ? true : raw === "false" ? false : JSON.parse(raw);
    }
  }
  return sections;
}

/** What the pushed database holds, to show a second push changes nothing. */
async function fingerprint(sql: postgres.Sql): Promise<string> {
  const [{ value }] = await sql<{ value: string }[]>`
    select md5(string_agg(item, ',' order by item)) as value from (
      select 'rel:' || n.nspname || '.' || c.relname || ':' || c.relkind::text as item
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname in ('public', 'exports_internal', 'supabase_migrations')
      union all
      select 'fn:' || p.oid::regprocedure::text || ':' || md5(p.prosrc)
        from pg_proc p where p.pronamespace in ('public'::regnamespace, 'exports_internal'::regnamespace)
      union all
      select 'cron:' || jobname || ':' || schedule || ':' || command from cron.job
      union all
      select 'migration:' || version from supabase_migrations.schema_migrations
    ) items`;
  return value;
}

/** Thrown to roll a transaction back on purpose. */
class RolledBack extends Error {}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function waitForPort(
  port: number,
  child: Deno.ChildProcess,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  child.kill("SIGKILL");
  throw new Error(`The bundle did not listen on ${port}: ${log()}`);
}

Deno.test({
  name:
    "deploy path: db push (dry run, real, again) on a fresh database; each function checks, bundles and runs alone",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const base = Deno.env.get("TEST_CLUSTER_DIR");
    assert.ok(base, "TEST_CLUSTER_DIR is not set: run the tests with `npm test`");
    const clusterDir = `${base}-deploy-check`;
    const created = await stackShell(
      `port=$(free_port $((29500 + $$ % 400))); cluster_init "$1" "$port" && cluster_start "$1" && apply_platform_bootstrap "$(db_url "$port")" && echo "port=$port"`,
      [clusterDir],
    );
    assert.equal(created.code, 0, created.output);
    const port = /port=(\d+)/.exec(created.output)?.[1];
    const dbUrl = `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`;
    const cliUrl = `${dbUrl}?sslmode=disable`;
    const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
    const scratch = await Deno.makeTempDir({ prefix: "deploy-check-" });
    try {
      const files = migrationFiles();
      assert.ok(files.length >= 1);

      await t.step(
        "supabase/config.toml declares each function, and the pinned CLI parses it",
        async () => {
          const sections = functionSections();
          const functionDirs = [...Deno.readDirSync(new URL("../functions/", import.meta.url))]
            .filter((entry) => entry.isDirectory)
            .map((entry) => entry.name)
            .sort();
          assert.deepEqual(
            [...sections.keys()].sort(),
            functionDirs,
            "a [functions.<name>] section per function",
          );
          for (const [name, section] of sections) {
            assert.equal(section.entrypoint, `../functions/${name}/index.ts`, name);
            assert.equal(section.import_map, "../deno.json", name);
            assert.equal(section.verify_jwt, false, `${name}: the function verifies JWTs itself`);
            // Paths in config.toml are relative to the supabase/ folder.
            Deno.statSync(new URL(`../supabase/${section.entrypoint}`, import.meta.url));
            Deno.statSync(new URL(`../supabase/${section.import_map}`, import.meta.url));
          }
          const listed = await run(supabaseCli, ["migration", "list", "--db-url", cliUrl]);
          assert.equal(listed.code, 0, listed.output);
          for (const file of files) {
            assert.ok(listed.output.includes(file.split("_")[0]), `${file}: ${listed.output}`);
          }
        },
      );

      await t.step("db push --dry-run lists every migration and applies none", async () => {
        const dry = await run(supabaseCli, ["db", "push", "--db-url", cliUrl, "--dry-run"]);
        assert.equal(dry.code, 0, dry.output);
        assert.match(dry.output, /DRY RUN/);
        for (const file of files) {
          assert.ok(dry.output.includes(file), `${file} not listed:\n${dry.output}`);
        }
        const [{ table }] =
          await sql`select to_regclass('supabase_migrations.schema_migrations')::text as table`;
        const applied = table
          ? (await sql`select count(*)::int as n from supabase_migrations.schema_migrations`)[0].n
          : 0;
        assert.equal(applied, 0, "a dry run applied migrations");
        const [{ exists }] =
          await sql`select to_regclass('public.export_logs') is not null as exists`;
        assert.equal(exists, false, "a dry run created tables");
      });

      let before = "";
      await t.step(
        "db push applies every migration; the schema and the cron jobs are there",
        async () => {
          const pushed = await run(supabaseCli, ["db", "push", "--db-url", cliUrl, "--yes"]);
          assert.equal(pushed.code, 0, pushed.output);
          for (const file of files) {
            assert.ok(pushed.output.includes(`Applying migration ${file}`), pushed.output);
          }
          const versions = await sql<{ version: string }[]>`
          select version from supabase_migrations.schema_migrations order by version`;
          assert.deepEqual(
            versions.map((row) => row.version),
            files.map((file) => file.split("_")[0]),
          );
          const jobs = await sql<
            { jobname: string }[]
          >`select jobname from cron.job order by jobname`;
          assert.deepEqual(
            jobs.map((job) => job.jobname),
            ["expire-exports", "process-exports", "purge-cron-history", "purge-export-history"],
          );
          // The deploy step after the push: where file_url points.
          await sql`update exports_internal.settings set public_base_url = 'https://abcdefghijklmnopqrst.supabase.co'`;
          before = await fingerprint(sql);
        },
      );

      await t.step("a second db push changes nothing", async () => {
        const again = await run(supabaseCli, ["db", "push", "--db-url", cliUrl, "--yes"]);
        assert.equal(again.code, 0, again.output);
        assert.match(again.output, /up to date/i);
        assert.equal(await fingerprint(sql), before);
      });

      await t.step(
        "the SQL in docs/deploy.md and docs/operations.md runs on the pushed database",
        async () => {
          let ran = 0;
          for (const doc of ["deploy.md", "operations.md"]) {
            const text = await Deno.readTextFile(new URL(`../docs/${doc}`, import.meta.url));
            for (const [, written] of text.matchAll(/```sql\n([\s\S]*?)```/g)) {
              // Placeholders with a harmless value are filled in; the block runs in a
              // transaction of its own here, so its own begin/commit lines are left out.
              const block = written
                .replaceAll("<export_id>", crypto.randomUUID())
                .replaceAll("<ref>", "abcdefghijklmnopqrst")
                .replace(/^\s*(begin|commit);\s*$/gm, "");
              if (/<[A-Za-z][A-Za-z_ ]*>/.test(block)) continue; // e.g. <service_role JWT>
              await sql.begin(async (tx) => {
                await tx.unsafe(block);
                await tx`select 1`; // the block left the transaction usable
                throw new RolledBack();
              }).catch((error) => {
                if (!(error instanceof RolledBack)) throw new Error(`${doc}: ${error}\n${block}`);
              });
              ran++;
            }
          }
          assert.ok(ran >= 6, `only ${ran} SQL blocks ran`);
        },
      );

      const userId = crypto.randomUUID();
      await sql`insert into auth.users (id, aud, role, email)
                values (${userId}, 'authenticated', 'authenticated', ${`${userId}@example.test`})`;
      const secrets = {
        EXPORTS_JWT_SECRET: Deno.env.get("EXPORTS_JWT_SECRET") ?? "",
        EXPORTS_SIGNING_SECRET: `v1:${"deploy-check-signing-secret-".repeat(2)}`,
      };

      for (const [name, section] of functionSections()) {
        await t.step(
          `${name}: deno check and deno bundle of its entrypoint alone, with the import map`,
          async () => {
            const entrypoint =
              new URL(`../supabase/${section.entrypoint}`, import.meta.url).pathname;
            const importMap =
              new URL(`../supabase/${section.import_map}`, import.meta.url).pathname;
            const checked = await run(deno, ["check", "--config", importMap, entrypoint]);
            assert.equal(checked.code, 0, checked.output);
            const bundle = `${scratch}/${name}/index.js`;
            const bundled = await run(deno, [
              "bundle",
              "--config",
              importMap,
              "--platform",
              "deno",
              "--output",
              bundle,
              entrypoint,
            ]);
            assert.equal(bundled.code, 0, bundled.output);
            const text = await Deno.readTextFile(bundle);
            const imports = [...text.matchAll(/^import .* from "([^"]+)";$/gm)].map((match) =>
              match[1]
            );
            assert.deepEqual(
              imports.filter((specifier) => !specifier.startsWith("node:")),
              [],
              "only node: built-ins stay external",
            );
          },
        );

        await t.step(
          `${name}: the bundle serves requests by itself against the pushed database`,
          async () => {
            const servePort = freePort();
            const child = new Deno.Command(deno, {
              args: [
                "run",
                "--no-config",
                "--allow-net",
                "--allow-env",
                "--allow-read",
                "--allow-sys",
                "index.js",
              ],
              cwd: `${scratch}/${name}`,
              clearEnv: true,
              env: {
                PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
                HOME: Deno.env.get("HOME") ?? "/root",
                NO_COLOR: "1",
                DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${servePort}`,
                SUPABASE_DB_URL: dbUrl,
                SUPABASE_URL: `http://127.0.0.1:${servePort}`,
                ...secrets,
              },
              stdin: "null",
              stdout: "piped",
              stderr: "piped",
            }).spawn();
            let log = "";
            const collect = async (stream: ReadableStream<Uint8Array>) => {
              for await (const chunk of stream) log += decoder.decode(chunk);
            };
            const collecting = Promise.all([collect(child.stdout), collect(child.stderr)]);
            try {
              await waitForPort(servePort, child, () => log);
              const at = (path: string) => `http://127.0.0.1:${servePort}/${name}${path}`;
              if (name === "exports") {
                const preflight = await fetch(at(""), {
                  method: "OPTIONS",
                  headers: { Origin: "https://app.example.com" },
                });
                await preflight.body?.cancel();
                assert.equal(preflight.status, 204);
                const anonymous = await fetch(at(""));
                assert.equal(anonymous.status, 401, await anonymous.text());
                const listed = await fetch(at(""), {
                  headers: { Authorization: `Bearer ${await userToken(userId)}` },
                });
                const body = await listed.json();
                assert.equal(listed.status, 200, JSON.stringify(body));
                assert.deepEqual(body, { logs: [], total: 0, page: 1, limit: 25 });
              } else {
                const serviceToken = await userToken(crypto.randomUUID(), {
                  claims: { role: "service_role" },
                });
                const ran = await fetch(at(""), {
                  method: "POST",
                  headers: { Authorization: `Bearer ${serviceToken}` },
                });
                const body = await ran.json();
                assert.equal(ran.status, 200, JSON.stringify(body));
                assert.equal(body.completed, 0);
              }
            } finally {
              child.kill("SIGTERM");
              await child.status;
              await collecting;
            }
          },
        );
      }
    } finally {
      await sql.end({ timeout: 5 });
      await stackShell(`cluster_stop "$1"; rm -rf "$1"`, [clusterDir]);
      await Deno.remove(scratch, { recursive: true });
    }
  },
});
