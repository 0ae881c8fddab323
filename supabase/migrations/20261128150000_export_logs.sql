-- The export log: the public record of every export a user requests, its private settings, the
-- lifecycle rules that keep its status honest, and the pg_cron jobs that expire old files.

-- Internal state lives in a schema PostgREST does not expose. RLS is on for every table in it
-- and there are no policies, and anon/authenticated hold no privilege on the schema at all.
create schema if not exists exports_internal;
revoke all on schema exports_internal from public, anon, authenticated;
grant usage on schema exports_internal to service_role;

-- One row of database-side settings. The defaults live here and nowhere else; the functions
-- read them from this table rather than keeping copies.
create table exports_internal.settings (
  singleton boolean primary key default true check (singleton),
  retention interval not null default interval '24 hours',
  history_retention interval not null default interval '30 days',
  max_active_exports integer not null default 5 check (max_active_exports >= 1),
  max_daily_exports integer not null default 50 check (max_daily_exports >= 1),
  max_conversations_per_export integer not null default 100000
    check (max_conversations_per_export >= 1),
  max_stored_bytes bigint not null default 2147483648 check (max_stored_bytes >= 0),
  max_concurrent_downloads integer not null default 4 check (max_concurrent_downloads >= 1),
  batch_size integer not null default 1000 check (batch_size between 1 and 100000),
  lease_duration interval not null default interval '60 seconds',
  max_attempts integer not null default 3 check (max_attempts >= 1),
  public_base_url text not null default 'http://127.0.0.1:54321',
  processing_paused boolean not null default false
);
insert into exports_internal.settings default values;
alter table exports_internal.settings enable row level security;
revoke all on exports_internal.settings from public, anon, authenticated;
grant select on exports_internal.settings to service_role;

create table public.export_logs (
  id uuid primary key default gen_random_uuid(),
  export_id uuid not null default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  "timestamp" timestamptz not null default now(),
  format text not null constraint export_logs_format_check
    check (format in ('json', 'jsonl', 'csv', 'markdown')),
  config jsonb not null,
  conversation_count integer not null constraint export_logs_conversation_count_check
    check (conversation_count >= 0),
  file_size bigint constraint export_logs_file_size_check check (file_size >= 0),
  status text not null default 'queued' constraint export_logs_status_check
    check (status in ('queued', 'processing', 'completed', 'failed', 'expired')),
  file_url text,
  expires_at timestamptz,
  error_message text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Row level security in the same migration that creates the table.
alter table public.export_logs enable row level security;

create unique index idx_export_logs_export_id on public.export_logs (export_id);
create index idx_export_logs_user_id on public.export_logs (user_id);
create index idx_export_logs_timestamp on public.export_logs ("timestamp" desc);
create index idx_export_logs_status on public.export_logs (status);
create index idx_export_logs_format on public.export_logs (format);
create index idx_export_logs_expires_at on public.export_logs (expires_at);
-- Listing a user's exports newest first (ties by id) must stay an index scan at a million rows.
create index idx_export_logs_user_timestamp
  on public.export_logs (user_id, "timestamp" desc, id desc);
-- The active-export limit counts a user's queued and processing rows on every request.
create index idx_export_logs_user_active
  on public.export_logs (user_id) where status in ('queued', 'processing');
-- Expiry looks for completed exports whose expires_at has passed. Without this index nothing
-- served both conditions: the planner read every completed export, or walked expires_at over
-- every already-expired one (expired rows keep their past expires_at), so an idle run grew with
-- the table (4.7 ms at 10,000 rows, 562 ms at 1,000,000; benchmark case 5). It holds only
-- completed exports.
create index idx_export_logs_completed_expires_at
  on public.export_logs (expires_at) where status = 'completed';

-- Policies: one per operation, to authenticated only, auth.uid() evaluated once per statement.
create policy export_logs_select_own on public.export_logs
  for select to authenticated
  using ((select auth.uid()) = user_id);

create policy export_logs_delete_own on public.export_logs
  for delete to authenticated
  using ((select auth.uid()) = user_id);

-- Supabase's default grants give anon and authenticated every privilege on new tables in public,
-- and public is exposed over PostgREST. A user who could INSERT here would create jobs that skip
-- validation, limits and membership; one who could UPDATE would forge a status or a result; and
-- TRUNCATE is not subject to RLS at all. So users may only read and delete their own rows; the
-- service (owner role) creates exports and moves them along their lifecycle.
revoke all on public.export_logs from public, anon, authenticated;
grant select, delete on public.export_logs to authenticated;
grant all on public.export_logs to service_role;

-- updated_at is maintained by the database so no writer can forget it.
create function exports_internal.set_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create trigger export_logs_set_updated_at
  before update on public.export_logs
  for each row execute function exports_internal.set_updated_at();

-- The lifecycle: queued -> processing -> completed | failed; processing -> queued (a released or
-- recovered job); failed -> queued (retry); completed -> expired. Anything else is a bug in a
-- writer, so it is refused loudly rather than silently recorded.
create function exports_internal.enforce_export_lifecycle() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.status is distinct from old.status and (old.status, new.status) not in (
    ('queued', 'processing'),
    ('processing', 'completed'),
    ('processing', 'failed'),
    ('processing', 'queued'),
    ('failed', 'queued'),
    ('completed', 'expired')
  ) then
    raise exception 'illegal export status transition from "%" to "%"', old.status, new.status
      using errcode = 'EX409',
            hint = 'Allowed: queued->processing, processing->completed|failed|queued, failed->queued, completed->expired';
  end if;
  -- An expired export's link must stop pointing anywhere, whoever expired it.
  if new.status = 'expired' then
    new.file_url := null;
  end if;
  return new;
end
$$;

create trigger export_logs_enforce_lifecycle
  before update of status on public.export_logs
  for each row execute function exports_internal.enforce_export_lifecycle();

-- Expiry, run by pg_cron. Idempotent: a second call finds nothing due, so a missed run (or a row
-- it skipped) is simply caught up by the next one.
--
-- Due exports are taken with SKIP LOCKED (the lock order is at the top of
-- 20261128150400_export_generation.sql), so expiry never waits for (nor deadlocks with) a
-- DELETE, a batch or a download slot being taken. An export with a download in flight (a live
-- slot) is left until that download ends, so a download that started before the expiry
-- finishes whole; new downloads already get 410 (the database decides by expires_at). The bytes
-- go in the same transaction as the status change. Chunks and download slots are created by the
-- generation migration; PL/pgSQL resolves those names when the function runs, not here.
--
-- It costs the same at a million rows as at ten thousand (benchmark case 5): the due rows are
-- taken through idx_export_logs_completed_expires_at in expires_at order, a batch of 1,000 at a
-- time (see the query). JIT is off: its estimated cost would start a compilation that costs more
-- than the statement.
create function public.mark_expired_exports() returns integer
language plpgsql
security definer
set search_path = ''
set jit = off
as $$
declare
  expired_count integer := 0;
  candidate_count integer;
  batch_count integer;
begin
  loop
    with candidates as materialized (
      -- The oldest due rows, read through idx_export_logs_completed_expires_at in expires_at
      -- order: an index probe however many exports the table holds. The planner takes the
      -- index only while the LIMIT is a small part of the rows it believes due (it judges
      -- "expires_at <= now()" from every row, expired ones included): with batches of 10,000,
      -- or with the lock and the download check in this query, it read every completed export
      -- through the status index instead (164 ms at 1,000,000 rows; benchmark case 5).
      select l.id from public.export_logs l
       where l.status = 'completed' and l.expires_at <= now()
       order by l.expires_at
       limit 1000
    ), due as (
      -- Locked (the export row first, the lock order), rechecked under the lock, and left for
      -- the next run while a download of it is in flight or another transaction holds it.
      select l.id from public.export_logs l
        join candidates c on c.id = l.id
       where l.status = 'completed'
         and not exists (select from exports_internal.active_downloads d
                          where d.export_log_id = l.id and d.lease_expires_at > now())
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
    ), forgotten as (
      -- A file in the object store: clearing its key queues the object's deletion (the outbox
      -- of 20261128150600_object_store.sql).
      update exports_internal.export_jobs j
         set object_key = null, object_etag = null
        from expired e
       where j.export_log_id = e.id and j.object_key is not null
    )
    select (select count(*) from candidates), (select count(*) from expired)
      into candidate_count, batch_count;
    expired_count := expired_count + batch_count;
    -- Done when fewer than a batch were due, or when none of a batch could be taken now.
    exit when candidate_count < 1000 or batch_count = 0;
  end loop;
  return expired_count;
end
$$;
revoke execute on function public.mark_expired_exports() from public, anon, authenticated;
grant execute on function public.mark_expired_exports() to service_role;

-- pg_cron's own history grows by a row per run; keep a week of it.
create function exports_internal.purge_cron_history() returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  purged integer;
begin
  delete from cron.job_run_details where end_time < now() - interval '7 days';
  get diagnostics purged = row_count;
  return purged;
end
$$;

revoke execute on function exports_internal.purge_cron_history() from public, anon, authenticated;

-- Nothing in the internal schema is for users: not the functions above, nor any added later.
revoke execute on all functions in schema exports_internal from public, anon, authenticated;
alter default privileges in schema exports_internal revoke execute on functions from public;

create extension if not exists pg_cron with schema pg_catalog;

-- Scheduling by name replaces an existing job of that name, so re-running never duplicates.
select cron.schedule('expire-exports', '*/5 * * * *', 'select public.mark_expired_exports()');
select cron.schedule('purge-cron-history', '17 3 * * *', 'select exports_internal.purge_cron_history()');
