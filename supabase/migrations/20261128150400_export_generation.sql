-- Generation of export files inside Postgres: the stored chunks, claiming with leases, one
-- bounded batch per transaction with a checkpoint, finishing, failure after the maximum
-- attempts, the drivers' entry points, and the cron jobs that drive generation and purge old
-- history (expiry, which also frees the stored chunks, is with the export log).
-- Building files here keeps the bytes in the database (no edge-function CPU or memory limits)
-- and makes every batch atomic: a crash leaves the whole batch or none of it.
--
-- One lock order for an export is followed by every path that touches an export's rows, so that
-- actions that overlap (a DELETE while the worker builds the file, a retry racing a DELETE,
-- expiry during a download) wait for each other instead of deadlocking.
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
-- comes after a DELETE finds no row. (Locking the job first deadlocks: the worker would hold
-- the job and need the export row, for a chunk insert's foreign key, while a DELETE holds the
-- export row and needs the job, for its cascade.) The expiry, public.mark_expired_exports(),
-- is defined with the export log in 20261128150000_export_logs.sql and follows it too.

-- The file, in chunks: chunk 0 is the header (written last, when the exact count is known),
-- 1..n the batches, and the footer the largest number. STORAGE EXTERNAL keeps the bytes
-- uncompressed, so a download reads any slice with substring() without decompressing a chunk.
create table exports_internal.export_chunks (
  export_log_id uuid not null references public.export_logs (id) on delete cascade,
  chunk_number integer not null check (chunk_number >= 0),
  data bytea not null,
  data_md5 text not null,
  -- where the chunk starts in the file; set when the export completes
  byte_offset bigint,
  primary key (export_log_id, chunk_number)
);
alter table exports_internal.export_chunks alter column data set storage external;
alter table exports_internal.export_chunks enable row level security;
revoke all on exports_internal.export_chunks from public, anon, authenticated;

-- Downloads in flight, each with a short lease renewed per chunk: the per-user concurrency
-- limit holds across function instances, and a vanished client's slot frees itself.
create table exports_internal.active_downloads (
  id uuid primary key default gen_random_uuid(),
  -- The slot names its user (the limit counts by user) but does not reference auth.users: its
  -- export does, and a deleted user's exports take their slots with them. A reference would make
  -- taking a slot lock the user's row after the export's, the reverse of a user's deletion (user
  -- row, then each export), so a slot taken while the user was deleted could deadlock.
  user_id uuid not null,
  export_log_id uuid not null references public.export_logs (id) on delete cascade,
  lease_expires_at timestamptz not null
);
create index active_downloads_user on exports_internal.active_downloads (user_id, lease_expires_at);
-- Expiry skips exports with a download in flight, and a cascading DELETE finds the slots: both
-- look download slots up by export.
create index active_downloads_export on exports_internal.active_downloads (export_log_id);
alter table exports_internal.active_downloads enable row level security;
revoke all on exports_internal.active_downloads from public, anon, authenticated;

-- Claiming takes the oldest queued export; this keeps that an index scan however long the table.
create index idx_export_logs_queued on public.export_logs ("timestamp", id) where status = 'queued';

-- The sentence a user reads when generation gave up; internals stay in export_jobs.last_error.
create function exports_internal.failure_message(p_attempts integer) returns text
language sql immutable
set search_path = ''
as $$
  select format('The export could not be generated after %s attempts. Retry it; if it fails again, contact support.', p_attempts)
$$;

-- Fails an export for good: no partial file is kept.
create function exports_internal.fail_export(p_export_log_id uuid, p_attempts integer)
returns void
language plpgsql
set search_path = ''
as $$
begin
  delete from exports_internal.export_chunks where export_log_id = p_export_log_id;
  -- An upload that had begun is given up too: clearing object_key queues its abort (outbox).
  update exports_internal.export_jobs
     set lease_token = null, lease_expires_at = null, worker = null,
         sealed_size = null, object_key = null, upload_id = null, upload_part_bytes = null,
         upload_parts = '[]'
   where export_log_id = p_export_log_id;
  update public.export_logs
     set status = 'failed', error_message = exports_internal.failure_message(p_attempts)
   where id = p_export_log_id and status = 'processing';
end
$$;

-- Claims the next export: first one whose lease ran out (its worker died; it resumes from its
-- checkpoint), else the oldest queued one. The export row is locked first and with SKIP LOCKED
-- (a row a DELETE, a batch or a retry holds is passed over, never waited for), then its job.
-- An export that has used up its attempts is failed instead. With p_only, only that export.
-- An export waiting for its upload to the object store (sealed, file_store s3) is claimed only
-- by a driver that can upload (p_can_upload): pg_cron's SQL driver generates but cannot upload.
create function exports_internal.claim_next_export(p_worker text, p_only uuid default null,
                                                   p_can_upload boolean default false)
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
       and (p_can_upload or j.sealed_size is null)
     order by j.lease_expires_at
     limit 1
     for no key update of l skip locked;
    if not found then
      from_lapsed_lease := false;
      select l.id into candidate
        from public.export_logs l
       where l.status = 'queued'
         and (p_only is null or l.id = p_only)
         and (p_can_upload or not exists (select from exports_internal.export_jobs j
                                           where j.export_log_id = l.id and j.sealed_size is not null))
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

-- Seals the file: writes the header and footer, fixes each chunk's byte offset and records the
-- file's hash (its ETag); returns its size. Called by generate_next_batch, which holds the
-- export row and the job.
create function exports_internal.seal_file(p_export_log_id uuid) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  job exports_internal.export_jobs;
  header bytea;
  footer bytea;
  total_size bigint;
  file_hash text;
begin
  select * into job from exports_internal.export_jobs where export_log_id = p_export_log_id;
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
  update exports_internal.export_jobs set content_hash = file_hash where export_log_id = p_export_log_id;
  return total_size;
end
$$;

-- Completes an export whose file of p_file_size bytes is in place (its chunks, or its object):
-- the lease is given up and the export gets its size, expiry and file_url.
create function exports_internal.complete_export(p_export_log_id uuid, p_file_size bigint) returns void
language plpgsql
set search_path = ''
as $$
declare
  settings exports_internal.settings;
begin
  select * into settings from exports_internal.settings;
  update exports_internal.export_jobs
     set lease_token = null, lease_expires_at = null, worker = null
   where export_log_id = p_export_log_id;
  update public.export_logs l
     set status = 'completed',
         file_size = p_file_size,
         expires_at = now() + settings.retention,
         file_url = rtrim(settings.public_base_url, '/') || '/functions/v1/exports/' || l.export_id || '/download',
         error_message = null
   where l.id = p_export_log_id;
end
$$;

-- One step of one claimed export, in the caller's transaction: renew the lease, render the next
-- batch of members into the next chunk and move the checkpoint, or finish when all are done.
-- Returns 'continue', 'completed', 'lost' (the lease is no longer ours: taken over, deleted or
-- paused) or 'released'/'failed' after an error (retried by a later claim, or given up). With
-- the object store (file_store s3) the last step seals the file and returns 'upload': the export
-- stays processing, under the same lease, until a driver with the store has uploaded it
-- (20261128150600_object_store.sql); every later step returns 'upload' again.
-- Locks the export row, then the job (the lock order): a DELETE that came first is waited for,
-- and then the row is gone ('lost').
create function exports_internal.generate_next_batch(p_export_log_id uuid, p_lease_token uuid)
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
  sealed bigint;
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
      if job.file_store = 's3' then
        if job.sealed_size is null then
          -- seal_file() updates the job itself, so its answer is stored by a second statement.
          sealed := exports_internal.seal_file(p_export_log_id);
          update exports_internal.export_jobs set sealed_size = sealed where export_log_id = p_export_log_id;
        end if;
        return 'upload';
      end if;
      perform exports_internal.complete_export(p_export_log_id, exports_internal.seal_file(p_export_log_id));
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
create function exports_internal.release_export(p_export_log_id uuid, p_lease_token uuid)
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

-- The pg_cron driver. A cron command runs as one transaction, so this is a procedure that
-- commits after every batch: checkpoints and lease renewals are durable as it goes. It has no
-- SET clause (a procedure with one cannot COMMIT); every name in it is schema-qualified, and
-- the functions it calls set their own search_path.
create procedure exports_internal.process_exports(p_time_budget interval default interval '50 seconds')
language plpgsql
as $$
declare
  deadline timestamptz := clock_timestamp() + p_time_budget;
  claimed record;
  outcome text;
begin
  while clock_timestamp() < deadline loop
    select * into claimed from exports_internal.claim_next_export('pg_cron');
    commit;
    exit when claimed.export_log_id is null;
    loop
      outcome := exports_internal.generate_next_batch(claimed.export_log_id, claimed.lease_token);
      commit;
      -- A sealed file waits for a driver that can upload it: hand it back at once.
      if outcome = 'upload' then
        perform exports_internal.release_export(claimed.export_log_id, claimed.lease_token);
        commit;
      end if;
      exit when outcome <> 'continue';
      if clock_timestamp() >= deadline then
        perform exports_internal.release_export(claimed.export_log_id, claimed.lease_token);
        commit;
        exit;
      end if;
    end loop;
  end loop;
end
$$;

-- Old history: expired and failed exports past the history retention, and the 24-hour records
-- behind idempotency and the daily limit. Export rows are taken with SKIP LOCKED: a row in use
-- is purged by a later run, never waited for while this holds others.
create function exports_internal.purge_export_history() returns integer
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

revoke execute on all functions in schema exports_internal from public, anon, authenticated;
revoke execute on procedure exports_internal.process_exports(interval) from public, anon, authenticated;

select cron.schedule('process-exports', '* * * * *', 'call exports_internal.process_exports()');
select cron.schedule('purge-export-history', '41 3 * * *', 'select exports_internal.purge_export_history()');
