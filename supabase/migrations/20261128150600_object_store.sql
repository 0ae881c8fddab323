-- Finished files in an object store (EXPORTS_FILE_STORE=s3, see docs/architecture.md decision 4):
-- the upload phase of an export, checkpointed part by part under the lease, and the outbox
-- through which objects are deleted once their export row is gone, expired or retried.
--
-- The upload itself runs in Deno (shared/domain/file_upload.ts): after the last batch,
-- generate_next_batch() seals the file (header, footer, offsets) and answers 'upload'; the
-- export stays 'processing'. A driver with the object store claims it and calls these functions
-- around each request to the store. Each takes the export row, then the job (the lock order of
-- 20261128150400_export_generation.sql) and checks the lease, so a DELETE or a takeover stops the
-- upload at its next step ('lost'/false).

-- Locks a claimed export in the upload phase and renews its lease; null when the lease is not
-- ours (deleted, taken over, paused) or the export is not waiting for its upload.
create function exports_internal.lock_upload(p_export_log_id uuid, p_lease_token uuid)
returns exports_internal.export_jobs
language plpgsql
set search_path = ''
as $$
declare
  job exports_internal.export_jobs;
begin
  perform from public.export_logs l
   where l.id = p_export_log_id and l.status = 'processing'
   for no key update;
  if not found then
    return null;
  end if;
  select * into job from exports_internal.export_jobs j
   where j.export_log_id = p_export_log_id for update;
  if not found or job.lease_token is distinct from p_lease_token
     or job.file_store <> 's3' or job.sealed_size is null then
    return null;
  end if;
  update exports_internal.export_jobs j
     set lease_expires_at = now() + (select lease_duration from exports_internal.settings)
   where j.export_log_id = p_export_log_id;
  return job;
end
$$;

-- Where the upload stands: the file's size and format, and the checkpoint (key, upload id, part
-- size, finished parts). state 'lost' when the lease is no longer ours.
create function exports_internal.upload_state(p_export_log_id uuid, p_lease_token uuid)
returns table (state text, export_id uuid, user_id uuid, format text, file_size bigint,
               object_key text, upload_id text, part_bytes integer, parts jsonb)
language plpgsql
set search_path = ''
as $$
declare
  job exports_internal.export_jobs := exports_internal.lock_upload(p_export_log_id, p_lease_token);
begin
  if job is null then
    return query select 'lost'::text, null::uuid, null::uuid, null::text, null::bigint,
                        null::text, null::text, null::integer, null::jsonb;
    return;
  end if;
  return query
    select 'upload'::text, l.export_id, l.user_id, l.format, job.sealed_size,
           job.object_key, job.upload_id, job.upload_part_bytes, job.upload_parts
      from public.export_logs l where l.id = p_export_log_id;
end
$$;

-- Records a started multipart upload: from now on its object is the export's, and is deleted
-- through the outbox if the export goes away before it completes.
create function exports_internal.begin_upload(p_export_log_id uuid, p_lease_token uuid,
  p_object_key text, p_upload_id text, p_part_bytes integer)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  if exports_internal.lock_upload(p_export_log_id, p_lease_token) is null then
    return false;
  end if;
  update exports_internal.export_jobs
     set object_key = p_object_key, upload_id = p_upload_id, upload_part_bytes = p_part_bytes,
         upload_parts = '[]'
   where export_log_id = p_export_log_id;
  return true;
end
$$;

-- Records one finished part, which must be the next one: a resumed upload starts after it.
create function exports_internal.record_upload_part(p_export_log_id uuid, p_lease_token uuid,
  p_part_number integer, p_etag text)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  job exports_internal.export_jobs := exports_internal.lock_upload(p_export_log_id, p_lease_token);
begin
  if job is null then
    return false;
  end if;
  if p_part_number <> jsonb_array_length(job.upload_parts) + 1 then
    raise exception 'part % recorded out of order (% recorded)', p_part_number, jsonb_array_length(job.upload_parts);
  end if;
  update exports_internal.export_jobs
     set upload_parts = upload_parts || jsonb_build_array(jsonb_build_object('partNumber', p_part_number, 'etag', p_etag))
   where export_log_id = p_export_log_id;
  return true;
end
$$;

-- The object is complete: the chunks go, and the export completes with the sealed file's size.
create function exports_internal.complete_upload(p_export_log_id uuid, p_lease_token uuid, p_etag text)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  job exports_internal.export_jobs := exports_internal.lock_upload(p_export_log_id, p_lease_token);
begin
  if job is null then
    return false;
  end if;
  update exports_internal.export_jobs
     set object_etag = p_etag, upload_id = null, upload_parts = '[]'
   where export_log_id = p_export_log_id;
  delete from exports_internal.export_chunks where export_log_id = p_export_log_id;
  perform exports_internal.complete_export(p_export_log_id, job.sealed_size);
  return true;
end
$$;

-- An upload step failed (the store refused or was unreachable): one failed attempt. The export
-- resumes at its next part after a backoff (2^attempts seconds, at most the lease duration: its
-- lease is left to lapse then, so claims pass it over until then instead of burning every
-- attempt against a store that is down), or fails once its attempts are used up (its unfinished
-- upload is then aborted through the outbox).
create function exports_internal.upload_failed(p_export_log_id uuid, p_lease_token uuid, p_error text)
returns text
language plpgsql
set search_path = ''
as $$
declare
  job exports_internal.export_jobs := exports_internal.lock_upload(p_export_log_id, p_lease_token);
begin
  if job is null then
    return 'lost';
  end if;
  if job.attempts >= (select max_attempts from exports_internal.settings) then
    update exports_internal.export_jobs
       set last_error = left('upload: ' || p_error, 2000)
     where export_log_id = p_export_log_id;
    perform exports_internal.fail_export(p_export_log_id, job.attempts);
    return 'failed';
  end if;
  update exports_internal.export_jobs
     set last_error = left('upload: ' || p_error, 2000),
         lease_token = null, worker = null,
         lease_expires_at = now() + least(interval '1 second' * power(2, job.attempts),
                                          (select lease_duration from exports_internal.settings))
   where export_log_id = p_export_log_id;
  return 'retry';
end
$$;

-- The outbox: objects (and unfinished multipart uploads) to delete from the store. A row is
-- added in the transaction that takes the object away from its export (trigger below), and
-- removed once the store confirms; failures are retried with backoff and stay visible here.
create table exports_internal.object_deletions (
  id bigint generated always as identity primary key,
  object_key text not null,
  upload_id text,
  queued_at timestamptz not null default now(),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text
);
create index object_deletions_due on exports_internal.object_deletions (next_attempt_at);
alter table exports_internal.object_deletions enable row level security;
revoke all on exports_internal.object_deletions from public, anon, authenticated;

-- Every way an object stops belonging to its export queues it: the job deleted (DELETE of the
-- export, or of its user, by cascade), or its object_key cleared (expiry, retry from scratch,
-- an upload given up). An upload that never completed is aborted as well.
-- Security definer: a user's DELETE of their export reaches here through the cascade, and users
-- hold no privilege on the outbox. It only copies the old row's key; nothing comes from the user.
create function exports_internal.queue_object_deletion() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if old.object_key is not null
     and (tg_op = 'DELETE' or new.object_key is distinct from old.object_key) then
    insert into exports_internal.object_deletions (object_key, upload_id)
    values (old.object_key, case when old.object_etag is null then old.upload_id end);
  end if;
  return null;
end
$$;

create trigger export_jobs_queue_object_deletion
  after update of object_key or delete on exports_internal.export_jobs
  for each row execute function exports_internal.queue_object_deletion();

-- Takes up to p_limit due deletions for one drain pass; each is hidden from other drainers for
-- two minutes (a drainer that dies leaves it to the next pass).
create function exports_internal.claim_object_deletions(p_limit integer)
returns table (id bigint, object_key text, upload_id text)
language sql
set search_path = ''
as $$
  update exports_internal.object_deletions d
     set next_attempt_at = now() + interval '2 minutes'
   where d.id in (select o.id from exports_internal.object_deletions o
                   where o.next_attempt_at <= now()
                   order by o.next_attempt_at
                   limit p_limit
                   for update skip locked)
  returning d.id, d.object_key, d.upload_id
$$;

create function exports_internal.object_deleted(p_id bigint) returns void
language sql
set search_path = ''
as $$
  delete from exports_internal.object_deletions where id = p_id
$$;

-- Backoff: 2^attempts seconds, at most 10 minutes.
create function exports_internal.object_deletion_failed(p_id bigint, p_error text) returns void
language sql
set search_path = ''
as $$
  update exports_internal.object_deletions
     set attempts = attempts + 1,
         last_error = left(p_error, 2000),
         next_attempt_at = now() + least(interval '1 second' * power(2, attempts), interval '10 minutes')
   where id = p_id
$$;

revoke execute on all functions in schema exports_internal from public, anon, authenticated;
grant select, insert, update, delete on exports_internal.object_deletions to service_role;
