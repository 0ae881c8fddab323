-- One lock order for an export, followed by every path that touches an export's rows, so that
-- actions that overlap (a DELETE while the worker builds the file, a retry racing a DELETE,
-- expiry during a download) wait for each other instead of deadlocking; and a json summary that
-- describes the conversations in the file as they were written.
--
-- THE LOCK ORDER (docs/operations.md says the same):
--   1. the user's advisory lock 'exports:create:<user_id>' (request, retry), or
--      'exports:download:<user_id>' (a download slot), each taken first when taken at all;
--   2. the auth.users row (KEY SHARE, taken by the foreign keys of every insert that names the
--      user, explicitly first by a download slot);
--   3. the export_logs row: FOR UPDATE by DELETE (API, cascade from auth.users, history purge),
--      FOR NO KEY UPDATE by claim, batch, finish, fail, release, retry and expiry, FOR SHARE by
--      a download slot, KEY SHARE by the foreign key of every child insert;
--   4. the export_jobs row;
--   5. the export's other rows: chunks, members, download slots, idempotency keys.
-- A transaction never waits for a row of step n while holding a row of a later step, and never
-- waits for a second export while it holds one: claims, expiry and the history purge take the
-- rows they would hold with SKIP LOCKED. A DELETE therefore waits for a running batch to commit
-- (at most one batch) and the worker's next step finds the row gone ('lost'); a batch that
-- comes after a DELETE finds no row. Before this migration the worker locked the job and then
-- needed the export row (a chunk insert's foreign key) while DELETE held the export row and
-- needed the job (its cascade): a deadlock in every overlap.

-- The json summary, accumulated batch by batch from the same snapshot as the batch's text, so
-- it counts exactly the conversations written and as they were written (a member changed or
-- deleted while the export runs counts as it was written, or not at all). null: no batch yet.
alter table exports_internal.export_jobs add column summary jsonb;

-- A download slot names its user (the limit counts by user) but no longer references auth.users:
-- its export does, and a deleted user's exports take their slots with them. The reference made
-- taking a slot lock the user's row after the export's, the reverse of a user's deletion
-- (user row, then each export): a slot taken while the user was deleted could deadlock.
alter table exports_internal.active_downloads drop constraint active_downloads_user_id_fkey;

-- Expiry skips exports with a download in flight, and a cascading DELETE finds the slots: both
-- look download slots up by export.
create index active_downloads_export on exports_internal.active_downloads (export_log_id);

-- The summary parts of members p_first_position..p_last_position whose conversations exist:
-- turn and token totals (the conversations' own turn_count/total_tokens, as their metadata
-- shows them), the quality sum and count behind the average, and the tier and status counts.
-- Stable, so called in the same statement as render_batch it reads the same snapshot.
create function exports_internal.batch_summary(
  p_export_log_id uuid,
  p_first_position integer,
  p_last_position integer
) returns jsonb
language sql
stable
set search_path = ''
as $$
  with members as materialized (
    select c.tier, c.status, c.turn_count, c.total_tokens, c.quality_score
      from exports_internal.export_members m
      join public.conversations c on c.id = m.conversation_id
     where m.export_log_id = p_export_log_id
       and m.position between p_first_position and p_last_position
  )
  select jsonb_build_object(
           'total_turns', coalesce(sum(turn_count), 0),
           'total_tokens', coalesce(sum(total_tokens), 0),
           'quality_sum', coalesce(sum(quality_score), 0),
           'quality_count', count(quality_score),
           'tiers', coalesce((select jsonb_object_agg(tier, n)
                                from (select tier, count(*) as n from members group by tier) d),
                             '{}'::jsonb),
           'statuses', coalesce((select jsonb_object_agg(status, n)
                                   from (select status, count(*) as n from members group by status) d),
                                '{}'::jsonb))
    from members
$$;

-- Two summaries added up (null is the empty summary), key by key for the distributions.
create function exports_internal.add_summaries(p_a jsonb, p_b jsonb) returns jsonb
language sql
immutable
set search_path = ''
as $$
  select case
    when p_a is null then p_b
    when p_b is null then p_a
    else jsonb_build_object(
      'total_turns', (p_a ->> 'total_turns')::bigint + (p_b ->> 'total_turns')::bigint,
      'total_tokens', (p_a ->> 'total_tokens')::bigint + (p_b ->> 'total_tokens')::bigint,
      'quality_sum', (p_a ->> 'quality_sum')::numeric + (p_b ->> 'quality_sum')::numeric,
      'quality_count', (p_a ->> 'quality_count')::bigint + (p_b ->> 'quality_count')::bigint,
      'tiers', (select coalesce(jsonb_object_agg(key, n), '{}'::jsonb)
                  from (select key, sum(value::bigint) as n
                          from (select * from jsonb_each_text(p_a -> 'tiers')
                                union all
                                select * from jsonb_each_text(p_b -> 'tiers')) e
                         group by key) s),
      'statuses', (select coalesce(jsonb_object_agg(key, n), '{}'::jsonb)
                     from (select key, sum(value::bigint) as n
                             from (select * from jsonb_each_text(p_a -> 'statuses')
                                   union all
                                   select * from jsonb_each_text(p_b -> 'statuses')) e
                            group by key) s))
  end
$$;

-- The footer now renders the accumulated summary instead of recomputing it from the live rows
-- at the end (which disagreed with the file when members changed during the run).
drop function exports_internal.render_footer(uuid);

-- What comes after the last batch: for json the end of the "conversations" array, the summary
-- (with includeMetadata) and the closing brace; nothing for the other formats. Distributions list
-- the values present, in alphabetical order.
create function exports_internal.render_footer(p_export_log_id uuid, p_summary jsonb)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  o exports_internal.render_options := exports_internal.load_render_options(p_export_log_id);
  s jsonb := coalesce(p_summary, exports_internal.batch_summary(p_export_log_id, 1, 0));
  summary text;
begin
  if o.format <> 'json' then
    return '';
  end if;
  if o.include_metadata then
    summary := '{"total_turns":' || (s ->> 'total_turns')
      || ',"total_tokens":' || (s ->> 'total_tokens')
      || ',"average_quality_score":'
      || case when (s ->> 'quality_count')::bigint = 0 then 'null'
              else round((s ->> 'quality_sum')::numeric / (s ->> 'quality_count')::bigint, 2)::text end
      || ',"tier_distribution":{'
      || coalesce((select string_agg(to_json(key)::text || ':' || value, ',' order by key)
                     from jsonb_each_text(s -> 'tiers')), '')
      || '},"status_distribution":{'
      || coalesce((select string_agg(to_json(key)::text || ':' || value, ',' order by key)
                     from jsonb_each_text(s -> 'statuses')), '')
      || '}}';
  end if;
  return ']' || coalesce(',"summary":' || summary, '') || '}';
end
$$;

-- Claims the next export: first one whose lease ran out (its worker died; it resumes from its
-- checkpoint), else the oldest queued one. The export row is locked first and with SKIP LOCKED
-- (a row a DELETE, a batch or a retry holds is passed over, never waited for), then its job.
-- An export that has used up its attempts is failed instead. With p_only, only that export.
create or replace function exports_internal.claim_next_export(p_worker text, p_only uuid default null)
returns table (export_log_id uuid, lease_token uuid)
language plpgsql
set search_path = ''
as $$
declare
  settings exports_internal.settings;
  candidate uuid;
  from_lapsed_lease boolean;
  job exports_internal.export_jobs;
begin
  select * into settings from exports_internal.settings;
  if settings.processing_paused then
    return;
  end if;
  loop
    from_lapsed_lease := true;
    select l.id into candidate
      from exports_internal.export_jobs j
      join public.export_logs l on l.id = j.export_log_id
     where j.lease_expires_at < now() and l.status = 'processing'
       and (p_only is null or j.export_log_id = p_only)
     order by j.lease_expires_at
     limit 1
     for no key update of l skip locked;
    if not found then
      from_lapsed_lease := false;
      select l.id into candidate
        from public.export_logs l
       where l.status = 'queued'
         and (p_only is null or l.id = p_only)
       order by l."timestamp", l.id
       limit 1
       for no key update of l skip locked;
    end if;
    if not found then
      return;
    end if;
    select * into job from exports_internal.export_jobs j where j.export_log_id = candidate for update;
    -- The lease was read before the export row was locked; its holder may have renewed it since.
    if not found or (from_lapsed_lease and not coalesce(job.lease_expires_at < now(), false)) then
      return;
    end if;
    if job.attempts >= settings.max_attempts then
      update public.export_logs set status = 'processing' where id = candidate and status = 'queued';
      perform exports_internal.fail_export(candidate, job.attempts);
      continue;
    end if;
    update public.export_logs set status = 'processing' where id = candidate and status = 'queued';
    return query
      update exports_internal.export_jobs j
         set attempts = j.attempts + 1,
             lease_token = gen_random_uuid(),
             lease_expires_at = now() + settings.lease_duration,
             worker = p_worker
       where j.export_log_id = candidate
      returning j.export_log_id, j.lease_token;
    return;
  end loop;
end
$$;

-- Writes the header and footer, fixes each chunk's byte offset, and completes the export. Called
-- by generate_next_batch, which holds the export row and the job.
create or replace function exports_internal.finish_export(p_export_log_id uuid) returns void
language plpgsql
set search_path = ''
as $$
declare
  job exports_internal.export_jobs;
  settings exports_internal.settings;
  header bytea;
  footer bytea;
  total_size bigint;
  file_hash text;
begin
  select * into job from exports_internal.export_jobs where export_log_id = p_export_log_id;
  select * into settings from exports_internal.settings;
  header := convert_to(exports_internal.render_header(p_export_log_id, job.rendered, now()), 'UTF8');
  footer := convert_to(exports_internal.render_footer(p_export_log_id, job.summary), 'UTF8');
  insert into exports_internal.export_chunks (export_log_id, chunk_number, data, data_md5)
  values (p_export_log_id, 0, header, md5(header)),
         (p_export_log_id, 2147483647, footer, md5(footer))
  on conflict (export_log_id, chunk_number) do update
     set data = excluded.data, data_md5 = excluded.data_md5;
  with offsets as (
    select chunk_number,
           sum(octet_length(data)) over (order by chunk_number) - octet_length(data) as byte_offset
      from exports_internal.export_chunks
     where export_log_id = p_export_log_id
  )
  update exports_internal.export_chunks c
     set byte_offset = o.byte_offset
    from offsets o
   where c.export_log_id = p_export_log_id and c.chunk_number = o.chunk_number;
  select coalesce(sum(octet_length(data)), 0),
         encode(sha256(convert_to(string_agg(data_md5, '' order by chunk_number), 'UTF8')), 'hex')
    into total_size, file_hash
    from exports_internal.export_chunks
   where export_log_id = p_export_log_id;
  update exports_internal.export_jobs
     set content_hash = file_hash, lease_token = null, lease_expires_at = null, worker = null
   where export_log_id = p_export_log_id;
  update public.export_logs l
     set status = 'completed',
         file_size = total_size,
         expires_at = now() + settings.retention,
         file_url = rtrim(settings.public_base_url, '/') || '/functions/v1/exports/' || l.export_id || '/download',
         error_message = null
   where l.id = p_export_log_id;
end
$$;

-- One step of one claimed export, in the caller's transaction: renew the lease, render the next
-- batch of members into the next chunk and move the checkpoint, or finish when all are done.
-- Returns 'continue', 'completed', 'lost' (the lease is no longer ours: taken over, deleted or
-- paused) or 'released'/'failed' after an error (retried by a later claim, or given up).
-- Locks the export row, then the job (the lock order): a DELETE that came first is waited for,
-- and then the row is gone ('lost').
create or replace function exports_internal.generate_next_batch(p_export_log_id uuid, p_lease_token uuid)
returns text
language plpgsql
set search_path = ''
as $$
declare
  job exports_internal.export_jobs;
  total integer;
  settings exports_internal.settings;
  o exports_internal.render_options;
  batch record;
  last_position integer;
begin
  select l.conversation_count into total
    from public.export_logs l
   where l.id = p_export_log_id and l.status = 'processing'
   for no key update;
  if not found then
    return 'lost';
  end if;
  select * into job from exports_internal.export_jobs where export_log_id = p_export_log_id for update;
  if not found or job.lease_token is distinct from p_lease_token then
    return 'lost';
  end if;
  select * into settings from exports_internal.settings;
  update exports_internal.export_jobs
     set lease_expires_at = now() + settings.lease_duration
   where export_log_id = p_export_log_id;

  begin
    if job.processed >= total then
      perform exports_internal.finish_export(p_export_log_id);
      return 'completed';
    end if;
    last_position := least(job.processed + settings.batch_size, total);
    o := exports_internal.load_render_options(p_export_log_id);
    -- One statement, so the summary reads the snapshot the batch's text was rendered from; only
    -- a json file with metadata has a summary, so only then is it read.
    select b.body, b.rendered, b.skipped,
           case when o.format = 'json' and o.include_metadata
                then exports_internal.batch_summary(p_export_log_id, job.processed + 1, last_position)
           end as summary
      into batch
      from exports_internal.render_batch(p_export_log_id, job.processed + 1, last_position, job.rendered) b;
    if batch.body <> '' then
      insert into exports_internal.export_chunks (export_log_id, chunk_number, data, data_md5)
      select p_export_log_id, job.chunks_written + 1, bytes, md5(bytes)
        from (select convert_to(batch.body, 'UTF8') as bytes) b;
    end if;
    update exports_internal.export_jobs
       set processed = last_position,
           rendered = rendered + batch.rendered,
           skipped = skipped + batch.skipped,
           chunks_written = chunks_written + case when batch.body <> '' then 1 else 0 end,
           summary = exports_internal.add_summaries(summary, batch.summary)
     where export_log_id = p_export_log_id;
    return 'continue';
  exception when others then
    -- The batch's work is rolled back with this block. Keep the cause for operators, and let a
    -- later claim retry the export from its checkpoint, or give up after the maximum attempts.
    update exports_internal.export_jobs
       set last_error = left(sqlerrm, 2000), lease_token = null, lease_expires_at = null, worker = null
     where export_log_id = p_export_log_id;
    if job.attempts >= settings.max_attempts then
      perform exports_internal.fail_export(p_export_log_id, job.attempts);
      return 'failed';
    end if;
    update public.export_logs set status = 'queued' where id = p_export_log_id;
    return 'released';
  end;
end
$$;

-- Hands a claimed export back (its driver's time budget is spent) so the next claim resumes it
-- at once from its checkpoint. A voluntary release is not a failed attempt. The export row
-- first, then the job.
create or replace function exports_internal.release_export(p_export_log_id uuid, p_lease_token uuid)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  perform from public.export_logs where id = p_export_log_id for no key update;
  if not found then
    return false;
  end if;
  update exports_internal.export_jobs
     set lease_token = null, lease_expires_at = null, worker = null,
         attempts = greatest(attempts - 1, 0)
   where export_log_id = p_export_log_id and lease_token = p_lease_token;
  if not found then
    return false;
  end if;
  update public.export_logs set status = 'queued' where id = p_export_log_id and status = 'processing';
  return true;
end
$$;

-- Expiry (pg_cron). Due exports are taken with SKIP LOCKED, so expiry never waits for (nor
-- deadlocks with) a DELETE, a batch or a download slot being taken; what it skips, the next run
-- takes. An export with a download in flight (a live slot) is left until that download ends,
-- so a download that started before the expiry finishes whole; new downloads already get 410
-- (the database decides by expires_at). The bytes go in the same transaction as the status.
create or replace function public.mark_expired_exports() returns integer
language plpgsql
security definer
set search_path = ''
set jit = off
as $$
declare
  expired_count integer := 0;
  batch_count integer;
begin
  loop
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
    select count(*) into batch_count from expired;
    expired_count := expired_count + batch_count;
    exit when batch_count < 10000;
  end loop;
  return expired_count;
end
$$;
revoke execute on function public.mark_expired_exports() from public, anon, authenticated;
grant execute on function public.mark_expired_exports() to service_role;

-- Old history, as before, with the export rows taken by SKIP LOCKED (a row in use is purged by a
-- later run, never waited for while this holds others).
create or replace function exports_internal.purge_export_history() returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  purged integer;
begin
  delete from public.export_logs
   where id in (select id from public.export_logs
                 where status in ('expired', 'failed')
                   and updated_at < now() - (select history_retention from exports_internal.settings)
                   for update skip locked);
  get diagnostics purged = row_count;
  delete from exports_internal.idempotency_keys where created_at < now() - interval '24 hours';
  delete from exports_internal.export_requests where requested_at < now() - interval '24 hours';
  delete from exports_internal.active_downloads where lease_expires_at < now() - interval '1 hour';
  return purged;
end
$$;

revoke execute on function
  exports_internal.batch_summary(uuid, integer, integer),
  exports_internal.add_summaries(jsonb, jsonb),
  exports_internal.render_footer(uuid, jsonb)
  from public, anon, authenticated;
grant execute on function
  exports_internal.batch_summary(uuid, integer, integer),
  exports_internal.add_summaries(jsonb, jsonb),
  exports_internal.render_footer(uuid, jsonb)
  to service_role;
revoke execute on all functions in schema exports_internal from public, anon, authenticated;
