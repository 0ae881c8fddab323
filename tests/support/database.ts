/**
 * Test fixtures over the real test database (npm test points SUPABASE_DB_URL at a throwaway
 * cluster). Every test makes its own users, so tests never see each other's rows.
 */
import { createSql, type Sql, type UserClaims } from "../../shared/database/db.ts";

let shared: Sql | undefined;

/** The test database, shared by the tests of one module. */
export function testSql(): Sql {
  const url = Deno.env.get("SUPABASE_DB_URL");
  if (!url) throw new Error("SUPABASE_DB_URL is not set: run the tests with `npm test`");
  shared ??= createSql(url, { max: 20, applicationName: "lora-exports-tests" });
  return shared;
}

/** A Deno.test whose database connections outlive the test (the pool is shared). */
export function dbTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

/**
 * A dbTest with processing paused: exports stay queued, so tests of the request side see the
 * states they set up, whatever the background drivers (API, pg_cron) would otherwise do.
 */
export function pausedTest(name: string, fn: () => Promise<void>): void {
  dbTest(name, async () => {
    const restore = await withSettings({ processing_paused: true });
    try {
      await fn();
    } finally {
      await restore();
    }
  });
}

/** Creates an auth user and returns its id. */
export async function createUser(sql: Sql = testSql()): Promise<string> {
  const id = crypto.randomUUID();
  await sql`insert into auth.users (id, aud, role, email)
            values (${id}, 'authenticated', 'authenticated', ${`${id}@example.test`})`;
  return id;
}

/** The claims a verified JWT of this user carries. */
export function claimsFor(userId: string): UserClaims {
  return { sub: userId, role: "authenticated", aud: "authenticated" };
}

/** A turn of a test conversation. */
export interface TurnSeed {
  role: "system" | "user" | "assistant";
  content: string;
  token_count?: number;
}

/** Fields of a test conversation; anything left out gets a plain default. */
export interface ConversationSeed {
  title?: string | null;
  persona?: string | null;
  emotion?: string | null;
  tier?: "template" | "scenario" | "edge_case";
  status?: string;
  category?: string[];
  quality_score?: number | null;
  quality_metrics?: Record<string, unknown>;
  parent_id?: string | null;
  parent_type?: string | null;
  parameters?: Record<string, unknown>;
  review_history?: unknown[];
  created_at?: string;
  turns?: TurnSeed[];
}

const DEFAULT_TURNS: TurnSeed[] = [
  { role: "user", content: "How do I reset my password?", token_count: 7 },
  { role: "assistant", content: "Open Settings, then Security, then Reset.", token_count: 9 },
];

/** Inserts a conversation (as the owner) with its turns; returns its id. */
export async function createConversation(
  userId: string,
  seed: ConversationSeed = {},
  sql: Sql = testSql(),
): Promise<string> {
  const [{ id }] = await sql<{ id: string }[]>`
    insert into public.conversations
      (user_id, title, persona, emotion, tier, status, category, quality_score, quality_metrics,
       parent_id, parent_type, parameters, review_history, created_at)
    values (${userId}, ${seed.title === undefined ? "A conversation" : seed.title},
            ${seed.persona ?? null}, ${seed.emotion ?? null}, ${seed.tier ?? "template"},
            ${seed.status ?? "approved"}, ${seed.category ?? []}::text[],
            ${seed.quality_score ?? null}, ${sql.json((seed.quality_metrics ?? {}) as never)},
            ${seed.parent_id ?? null}, ${seed.parent_type ?? null},
            ${sql.json((seed.parameters ?? {}) as never)},
            ${sql.json((seed.review_history ?? []) as never)},
            ${seed.created_at ?? new Date().toISOString()}::timestamptz)
    returning id`;
  const turns = seed.turns ?? DEFAULT_TURNS;
  for (const [index, turn] of turns.entries()) {
    await sql`insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
              values (${id}, ${index + 1}, ${turn.role}, ${turn.content}, ${turn.token_count ?? 0})`;
  }
  return id;
}

/** Sets database-side settings for a test; returns a function that restores the defaults. */
export async function withSettings(
  changes: Record<string, unknown>,
  sql: Sql = testSql(),
): Promise<() => Promise<void>> {
  const [before] = await sql`select * from exports_internal.settings`;
  await sql`update exports_internal.settings set ${sql(changes)}`;
  return async () => {
    const restore = Object.fromEntries(Object.keys(changes).map((key) => [key, before[key]]));
    await sql`update exports_internal.settings set ${sql(restore)}`;
  };
}

/**
 * Switches the pg_cron driver (process-exports) off for `work`, so the only workers are the
 * ones the test runs. A run already in flight keeps claiming until its time budget ends, so
 * this also waits for it to finish.
 */
export async function withoutCronDriver<T>(work: () => Promise<T>, sql: Sql = testSql()): Promise<T> {
  const setActive = (active: boolean) =>
    sql`select cron.alter_job(jobid, active => ${active}) from cron.job where jobname = 'process-exports'`;
  await setActive(false);
  try {
    for (let waited = 0; await cronDriverRunning(sql); waited += 100) {
      if (waited > 90_000) throw new Error("a pg_cron process-exports run did not finish");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return await work();
  } finally {
    await setActive(true);
  }
}

async function cronDriverRunning(sql: Sql): Promise<boolean> {
  const [{ running }] = await sql<{ running: boolean }[]>`
    select exists (select from pg_stat_activity
                    where query like 'call exports_internal.process_exports%'
                      and state <> 'idle' and pid <> pg_backend_pid()) as running`;
  return running;
}

/** Rows in export_logs for a user (as the owner), to show that a refusal wrote nothing. */
export async function countExportRows(userId: string, sql: Sql = testSql()): Promise<number> {
  const [{ count }] = await sql<{ count: number }[]>`
    select count(*)::integer as count from public.export_logs where user_id = ${userId}`;
  return count;
}

/** Inserts `count` approved conversations of `turns` turns each, set-based (fast). */
export async function seedConversations(
  userId: string,
  count: number,
  options: { turns?: number; contentLength?: number } = {},
  sql: Sql = testSql(),
): Promise<void> {
  const turns = options.turns ?? 8;
  const contentLength = options.contentLength ?? 1_000;
  await sql`
    insert into public.conversations (user_id, title, tier, status, created_at)
    select ${userId}, 'Conversation ' || g, 'template', 'approved', now() - make_interval(secs => ${count} - g)
      from generate_series(1, ${count}) g`;
  await sql`
    insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
    select c.id, t, case when t % 2 = 1 then 'user' else 'assistant' end,
           left(repeat(md5(c.id::text || t) || ' "quoted", ok; ', 100), ${contentLength}), ${contentLength} / 4
      from public.conversations c cross join generate_series(1, ${turns}) t
     where c.user_id = ${userId}`;
}
