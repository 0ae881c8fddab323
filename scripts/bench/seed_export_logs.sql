-- Benchmark data, part 2: export history of many users, 100 exports each, in every status, as
-- a busy project's export_logs looks (per user, newest first: one queued, one processing, 16
-- completed in the last 24 hours and still downloadable, then a month of expired ones with
-- some failed), each with its job row and, when completed, a small stored file. Also ten small
-- conversations for each of the first 16 users, whom the API benchmark signs in as.
--
-- Two steps, so that the small and the large table hold the same rows for the users they share:
--   psql -v step=stage -v users=10000                   builds every row once in bench.log_seed
--   psql -v step=load -v first_user=1 -v last_user=100   copies those users' rows into the tables
-- Repeatable: setseed() fixes random(); ids come from md5 of the user and export numbers.
\set ON_ERROR_STOP on
set client_min_messages = warning;
set max_parallel_workers_per_gather = 0;
set synchronous_commit = off;
-- The rows are consistent by construction: skip the per-row foreign-key checks while loading.
set session_replication_role = replica;
create schema if not exists bench;

select :'step' = 'stage' as staging \gset
\if :staging
select setseed(0.1128) as seeded \gset
drop table if exists bench.log_seed;
create unlogged table bench.log_seed as
select u as user_no, j as export_no,
       md5('bench-user-' || u)::uuid as user_id,
       md5('bench-export-' || u || '-' || j)::uuid as id,
       md5('bench-export-id-' || u || '-' || j)::uuid as export_id,
       case when j = 1 then 'queued' when j = 2 then 'processing' when j <= 18 then 'completed'
            when r1 < 0.08 then 'failed' else 'expired' end as status,
       (array['json', 'jsonl', 'csv', 'markdown'])[1 + floor(r2 * 4)::int] as format,
       (array['all', 'filtered', 'selected'])[1 + floor(r3 * 3)::int] as scope,
       1 + floor(r4 * 5000)::int as conversation_count,
       case when j <= 18 then now() - make_interval(hours => j, secs => floor(r5 * 3000)::int)
            else now() - make_interval(days => 1, hours => (j - 18) * 8, secs => floor(r5 * 3000)::int)
       end as requested_at,
       r4
  from (select u, j, random() as r1, random() as r2, random() as r3, random() as r4, random() as r5
          from generate_series(1, :users) u cross join generate_series(1, 100) j) x;
alter table bench.log_seed add primary key (user_no, export_no);
\else
insert into auth.users (id, aud, role, email)
select md5('bench-user-' || u)::uuid, 'authenticated', 'authenticated', 'bench-user-' || u || '@example.test'
  from generate_series(:first_user, :last_user) u
on conflict (id) do nothing;

-- The normalized configs, one per format and scope (a selected export lists 10 ids).
create temporary table configs as
select f.format, sc.scope,
       jsonb_build_object('format', f.format, 'scope', sc.scope, 'includeMetadata', true,
                          'includeQualityScores', true, 'includeTimestamps', true,
                          'includeApprovalHistory', false, 'includeParentReferences', false,
                          'includeFullContent', true)
       || case f.format when 'jsonl' then '{"template": "openai"}'::jsonb
                        when 'csv' then '{"csvFormulaEscape": true}'::jsonb else '{}'::jsonb end
       || case sc.scope when 'filtered' then '{"filters": {"statuses": ["approved"], "tiers": ["scenario"]}}'::jsonb
                        when 'selected' then jsonb_build_object('conversationIds',
                          (select jsonb_agg(md5(f.format || k)::uuid) from generate_series(1, 10) k))
                        else '{}'::jsonb end as config
  from unnest(array['json', 'jsonl', 'csv', 'markdown']) f(format)
  cross join unnest(array['all', 'filtered', 'selected']) sc(scope);

insert into public.export_logs
  (id, export_id, user_id, "timestamp", format, config, conversation_count, file_size, status,
   file_url, expires_at, error_message, created_at, updated_at)
select s.id, s.export_id, s.user_id, s.requested_at, s.format, c.config,
       case when s.scope = 'selected' then 10 else s.conversation_count end,
       case when s.status in ('completed', 'expired') then 2000 + floor(s.r4 * 5e7)::bigint end,
       s.status,
       case when s.status = 'completed'
            then (select rtrim(public_base_url, '/') from exports_internal.settings)
                 || '/functions/v1/exports/' || s.export_id || '/download' end,
       case when s.status in ('completed', 'expired') then s.requested_at + interval '24 hours' end,
       case when s.status = 'failed' then exports_internal.failure_message(3) end,
       s.requested_at, s.requested_at + interval '1 minute'
  from bench.log_seed s
  join configs c on c.format = s.format and c.scope = s.scope
 where s.user_no between :first_user and :last_user;

insert into exports_internal.export_jobs
  (export_log_id, attempts, processed, rendered, chunks_written, content_hash, last_error)
select s.id,
       case s.status when 'queued' then 0 when 'failed' then 3 else 1 end,
       case when s.status in ('completed', 'expired') then l.conversation_count else 0 end,
       case when s.status in ('completed', 'expired') then l.conversation_count else 0 end,
       case when s.status in ('completed', 'expired') then 1 else 0 end,
       case when s.status in ('completed', 'expired') then md5(s.id::text) end,
       case when s.status = 'failed' then 'canceling statement due to statement timeout' end
  from bench.log_seed s
  join public.export_logs l on l.id = s.id
 where s.user_no between :first_user and :last_user;

-- A completed export keeps its file until it expires: here a small one per export.
insert into exports_internal.export_chunks (export_log_id, chunk_number, data, data_md5, byte_offset)
select s.id, 1, b.bytes, md5(b.bytes), 0
  from bench.log_seed s
  cross join lateral (select convert_to(repeat('{"messages":[]}' || E'\n', 16), 'UTF8') as bytes) b
 where s.user_no between :first_user and :last_user and s.status = 'completed';

-- The first 16 users sign in for the API benchmark and export ten of their conversations.
insert into public.conversations (id, user_id, title, tier, status, created_at)
select md5('bench-user-conversation-' || u || '-' || k)::uuid, md5('bench-user-' || u)::uuid,
       'Conversation ' || k || ' of user ' || u, 'template', 'approved',
       timestamptz '2026-01-01 00:00:00+00' + make_interval(mins => k)
  from generate_series(:first_user, least(:last_user, 16)) u cross join generate_series(1, 10) k;
insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
select md5('bench-user-conversation-' || u || '-' || k)::uuid, t,
       case when t = 1 then 'user' else 'assistant' end,
       case when t = 1 then 'Where is my parcel? It has said "in transit" since Monday.'
            else 'It left the depot this morning, so it should arrive tomorrow — sorry for the wait!' end,
       20
  from generate_series(:first_user, least(:last_user, 16)) u
  cross join generate_series(1, 10) k cross join generate_series(1, 2) t;

vacuum analyze public.export_logs;
vacuum analyze exports_internal.export_jobs;
vacuum analyze exports_internal.export_chunks;
\endif
