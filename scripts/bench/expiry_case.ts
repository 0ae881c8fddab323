/**
 * Case 5 at one size of export_logs: mark_expired_exports() with nothing due, called as pg_cron
 * calls it (a fresh session each time, so the plan is made anew), median of several calls, with
 * the plan of its first batch (EXPLAIN ANALYZE, BUFFERS, with jit off as the function sets it,
 * rolled back): the due rows taken through idx_export_logs_completed_expires_at in expires_at
 * order, 10,000 at a time, expired and their chunks deleted. With --due N (large size
 * only), N completed exports are made due and one call expires them all: rows/s, how long its
 * locks are held (its transaction id, which every writer of a row it updated waits on, polled in
 * pg_locks from its first update to its commit), and what a writer of one of those rows waits,
 * beside a writer of another row.
 * Writes results/expiry-<size>.json.
 */
import postgres from "postgres";
import { createSql } from "../../shared/database/db.ts";
import { currentSizes, env } from "./config.ts";
import { benchSql, closeBenchSql } from "./db.ts";
import { median } from "./download.ts";
import { progress, writeResult } from "./results.ts";

const size = Deno.args[0];
if (size !== "small" && size !== "large") {
  throw new Error("Usage: expiry_case.ts small|large [--due]");
}
const withDue = Deno.args.includes("--due");
const sizes = currentSizes();
const sql = benchSql();

// One batch of mark_expired_exports() (supabase/migrations/20261128150000_export_logs.sql),
// as its loop runs it; the function itself is plpgsql, so EXPLAIN cannot see inside it.
const EXPIRY_BATCH = `
with due as (
  select l.id from public.export_logs l
   where l.status = 'completed' and l.expires_at <= now()
     and not exists (select from exports_internal.active_downloads d
                      where d.export_log_id = l.id and d.lease_expires_at > now())
   order by l.expires_at
   limit 10000
   for no key update of l skip locked
), expired as (
  update public.export_logs l
     set status = 'expired', file_url = null
    from due
   where l.id = due.id
  returning l.id
), freed as (
  delete from exports_internal.export_chunks c
   using expired e
   where c.export_log_id = e.id
)
select count(*) from expired`;

/** One call in a fresh session, timed from the client once the session is up. */
async function timedCall(): Promise<{ ms: number; expired: number }> {
  const session = createSql(env("SUPABASE_DB_URL"), { max: 1, applicationName: "bench-expiry" });
  try {
    await session`select 1`;
    const started = performance.now();
    const [{ expired }] = await session<
      { expired: number }[]
    >`select public.mark_expired_exports() as expired`;
    return { ms: performance.now() - started, expired };
  } finally {
    await session.end({ timeout: 5 });
  }
}

/** Median of fresh-session calls with nothing due. */
async function nothingDueCalls(): Promise<number[]> {
  const calls: number[] = [];
  for (let i = 0; i < sizes.expiryCalls; i++) {
    const call = await timedCall();
    if (call.expired !== 0) throw new Error(`${call.expired} exports were due; expected none`);
    calls.push(call.ms);
  }
  return calls;
}

/** The plan of one batch of the expiry, as the function runs it (jit off), rolled back. */
async function explainExpiry(): Promise<string> {
  const session = await sql.reserve();
  try {
    await session`begin`;
    await session`set local jit = off`;
    const rows = await session.unsafe(`explain (analyze, buffers) ${EXPIRY_BATCH}`);
    return rows.map((row) => row["QUERY PLAN"]).join("\n");
  } finally {
    await session`rollback`;
    session.release();
  }
}

const [{ rows }] = await sql<
  { rows: number }[]
>`select count(*)::integer as rows from public.export_logs`;
progress(
  `case 5 (${rows.toLocaleString("en")} export_logs rows): mark_expired_exports() with nothing due`,
);
const calls = await nothingDueCalls();
const nothingDue = { calls, medianMs: median(calls), plan: await explainExpiry() };
progress(`  median ${nothingDue.medianMs.toFixed(2)} ms over ${calls.length} calls`);

let due = null;
if (withDue) {
  progress(`case 5: ${sizes.due.toLocaleString("en")} exports due at once`);
  await sql`
    update public.export_logs set expires_at = now() - interval '1 minute'
     where id in (select id from public.export_logs where status = 'completed' order by id limit ${sizes.due})`;
  await sql`vacuum analyze public.export_logs`;
  await sql`checkpoint`;
  const [otherRow] = await sql<{ id: string }[]>`
    select id from public.export_logs where status = 'completed' and expires_at > now() limit 1`;

  const expirer = createSql(env("SUPABASE_DB_URL"), { max: 1, applicationName: "bench-expiry" });
  const writer = postgres(env("SUPABASE_DB_URL"), { max: 2, prepare: false, onnotice: () => {} });
  const [{ pid }] = await expirer<{ pid: number }[]>`select pg_backend_pid() as pid`;
  await writer`select 1`;
  const started = performance.now();
  const expiring = expirer<{ expired: number }[]>`select public.mark_expired_exports() as expired`;
  let finished = false;
  expiring.finally(() => (finished = true)).catch(() => {});

  // The call's transaction id is locked from its first row update to its commit: every writer
  // of a row it has updated queues behind that lock. Poll it every 10 ms.
  let xid: string | null = null;
  let firstSeen = 0;
  let lastSeen = 0;
  const poll = (async () => {
    while (!finished) {
      const [row] = await sql<{ xid: string }[]>`
        select transactionid::text as xid from pg_locks
         where pid = ${pid} and locktype = 'transactionid' and granted`;
      const now = performance.now();
      if (row) {
        xid ??= row.xid;
        firstSeen ||= now;
        lastSeen = now;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  while (!xid && !finished) await new Promise((resolve) => setTimeout(resolve, 5));
  // A row the call has already expired (its old version carries the call's xid as xmax), and a
  // row it never touches: a writer of the first waits for the commit, one of the second does not.
  const touch = async (id: string) => {
    const from = performance.now();
    await writer`update public.export_logs set updated_at = updated_at where id = ${id}`;
    return performance.now() - from;
  };
  const [touched] = xid
    ? await sql<
      { id: string }[]
    >`select id from public.export_logs where xmax = ${xid}::xid limit 1`
    : [];
  const [dueWriterWaitMs, otherWriterWaitMs] = await Promise.all([
    touched ? touch(touched.id) : Promise.resolve(NaN),
    touch(otherRow.id),
  ]);
  const [{ expired }] = await expiring;
  const callMs = performance.now() - started;
  await poll;
  await Promise.all([expirer.end({ timeout: 5 }), writer.end({ timeout: 5 })]);
  if (expired !== sizes.due) throw new Error(`${expired} exports expired; expected ${sizes.due}`);
  const lockHeldMs = lastSeen - firstSeen;
  due = {
    expired,
    callMs,
    rowsPerSecond: expired / (callMs / 1000),
    lockHeldMs,
    dueWriterWaitMs,
    otherWriterWaitMs,
  };
  progress(
    `  ${expired.toLocaleString("en")} expired in ${(callMs / 1000).toFixed(2)} s ` +
      `(${due.rowsPerSecond.toFixed(0)} rows/s); locks held ${
        (lockHeldMs / 1000).toFixed(2)
      } s; a writer on an ` +
      `expired row waited ${dueWriterWaitMs.toFixed(0)} ms, one on another row ${
        otherWriterWaitMs.toFixed(1)
      } ms`,
  );
}
await writeResult(`expiry-${size}`, { size, rows, nothingDue, due });
await closeBenchSql();
