-- Internal state behind each export: its fixed membership, its job (attempts, lease, progress),
-- the per-user request log behind the daily limit, and idempotency keys. All of it lives in the
-- private schema, out of PostgREST's reach, and is deleted with the export row by cascade.

-- The export's membership: the exact conversation ids resolved at request time, in export order.
-- Generation reads it in position ranges, so a batch is an index range scan.
create table exports_internal.export_members (
  export_log_id uuid not null references public.export_logs (id) on delete cascade,
  position integer not null check (position >= 1),
  conversation_id uuid not null,
  primary key (export_log_id, position)
);

-- One job per export: what the worker needs to claim, lease, checkpoint and finish it.
create table exports_internal.export_jobs (
  export_log_id uuid primary key references public.export_logs (id) on delete cascade,
  attempts integer not null default 0 check (attempts >= 0),
  lease_token uuid,
  lease_expires_at timestamptz,
  worker text,
  -- checkpoint: members up to this position are in the stored chunks
  processed integer not null default 0 check (processed >= 0),
  -- conversations written so far (members deleted before generation are left out)
  rendered integer not null default 0 check (rendered >= 0),
  skipped integer not null default 0 check (skipped >= 0),
  chunks_written integer not null default 0 check (chunks_written >= 0),
  content_hash text,
  last_error text,
  -- The json summary, accumulated batch by batch from the same snapshot as the batch's text, so
  -- it counts exactly the conversations written and as they were written (a member changed or
  -- deleted while the export runs counts as it was written, or not at all). null: no batch yet.
  summary jsonb,
  -- Where the finished file lives: 'postgres' (the chunks are the file) or 's3' (uploaded as one
  -- object after the last batch, then the chunks are deleted). Fixed when the export is requested.
  file_store text not null default 'postgres' check (file_store in ('postgres', 's3')),
  -- s3 only. The file's size once it is sealed (every batch, the header and the footer written):
  -- from then on the export waits for its upload.
  sealed_size bigint check (sealed_size >= 0),
  -- s3 only, the upload's checkpoint, recorded under the lease: the object's key, the multipart
  -- upload's id, its part size, and the finished parts in order ([{"partNumber", "etag"}]).
  object_key text,
  upload_id text,
  upload_part_bytes integer check (upload_part_bytes > 0),
  upload_parts jsonb not null default '[]',
  -- s3 only: the finished object's ETag; set when the upload completes.
  object_etag text
);
-- Claiming scans queued exports oldest first; expired leases are found through this index too.
create index export_jobs_lease_expires_at on exports_internal.export_jobs (lease_expires_at)
  where lease_expires_at is not null;

-- Every accepted request, kept 24 h: the daily limit counts requests, so deleting an export
-- does not hand a user a fresh allowance.
create table exports_internal.export_requests (
  user_id uuid not null references auth.users (id) on delete cascade,
  requested_at timestamptz not null default now()
);
create index export_requests_user_time on exports_internal.export_requests (user_id, requested_at);

-- Idempotency keys of accepted requests. A repeat with the same key and the same canonical
-- request returns the export; the same key with another request is refused.
create table exports_internal.idempotency_keys (
  user_id uuid not null references auth.users (id) on delete cascade,
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  request_fingerprint text not null,
  export_log_id uuid references public.export_logs (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (user_id, idempotency_key)
);
create index idempotency_keys_created_at on exports_internal.idempotency_keys (created_at);

alter table exports_internal.export_members enable row level security;
alter table exports_internal.export_jobs enable row level security;
alter table exports_internal.export_requests enable row level security;
alter table exports_internal.idempotency_keys enable row level security;

revoke all on all tables in schema exports_internal from public, anon, authenticated;
-- service_role (the worker's role where it is used) may work the queue but not change settings.
grant select, insert, update, delete
  on exports_internal.export_members, exports_internal.export_jobs,
     exports_internal.export_requests, exports_internal.idempotency_keys
  to service_role;
