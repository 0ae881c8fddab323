-- The pieces of the lock-order migration that one session can show (the races themselves are
-- shown over HTTP in tests/races_test.ts): expiry leaves an export with a download in flight,
-- a worker step on a deleted export reports 'lost', a claim does not take over a lease its
-- holder still has, download slots no longer reference auth.users, and the json summary is
-- accumulated part by part.
begin;
\ir ../helpers.sql
select plan(16);

create temp table ids on commit drop as
select tests.create_user('a@example.com') as a;

insert into public.export_logs (id, user_id, format, config, conversation_count, status, file_url, expires_at)
select v.id::uuid, ids.a, 'json', '{"format": "json"}'::jsonb, 1, 'completed', 'http://x/' || v.id, now() - interval '1 minute'
  from ids, (values ('00000000-0000-0000-0000-0000000000d1'),
                    ('00000000-0000-0000-0000-0000000000d2'),
                    ('00000000-0000-0000-0000-0000000000d3')) v(id);
insert into exports_internal.active_downloads (user_id, export_log_id, lease_expires_at)
select ids.a, v.id::uuid, v.lease
  from ids, (values ('00000000-0000-0000-0000-0000000000d1', now() + interval '1 minute'),
                    ('00000000-0000-0000-0000-0000000000d2', now() - interval '1 second')) v(id, lease);

-- ------------------------------------------------------------------------------------- expiry
select is(public.mark_expired_exports(), 2,
  'expiry takes the due exports without a live download slot (a lapsed slot does not count)');
select results_eq(
  $$select id::text, status from public.export_logs where id::text like '%0000000000d_' order by id$$,
  $$values ('00000000-0000-0000-0000-0000000000d1', 'completed'),
           ('00000000-0000-0000-0000-0000000000d2', 'expired'),
           ('00000000-0000-0000-0000-0000000000d3', 'expired')$$,
  'the export with a download in flight stays completed until that download ends');
delete from exports_internal.active_downloads where export_log_id = '00000000-0000-0000-0000-0000000000d1';
select is(public.mark_expired_exports(), 1, 'once its slot is given back, the next run expires it');

-- ------------------------------------------------------------------------------ download slots
select is_empty(
  $$select conname from pg_constraint
     where conrelid = 'exports_internal.active_downloads'::regclass and contype = 'f'
       and confrelid = 'auth.users'::regclass$$,
  'a download slot does not reference auth.users (a user''s deletion reaches it through the export)');
select has_index('exports_internal', 'active_downloads', 'active_downloads_export', array['export_log_id'],
  'download slots are found by export (expiry''s check, the cascade of a DELETE)');
select col_is_fk('exports_internal', 'active_downloads', 'export_log_id',
  'but it does not name the export''s row in vain: the reference to export_logs stays');

-- ---------------------------------------------------------------------------------- the worker
insert into public.export_logs (id, user_id, format, config, conversation_count, status)
select '00000000-0000-0000-0000-0000000000c1', ids.a, 'jsonl', '{"format": "jsonl"}'::jsonb, 1, 'processing' from ids;
insert into exports_internal.export_jobs (export_log_id, attempts, lease_token, lease_expires_at, worker)
values ('00000000-0000-0000-0000-0000000000c1', 1, '11111111-1111-1111-1111-111111111111', now() + interval '1 minute', 'holder');

select is(exports_internal.generate_next_batch('00000000-0000-0000-0000-0000000000c1', '22222222-2222-2222-2222-222222222222'),
  'lost', 'a step with a lease that is not the holder''s is lost');
select is_empty($$select * from exports_internal.claim_next_export('thief', '00000000-0000-0000-0000-0000000000c1')$$,
  'a claim does not take over a lease its holder still has');
update exports_internal.export_jobs set lease_expires_at = now() - interval '1 second'
 where export_log_id = '00000000-0000-0000-0000-0000000000c1';
select is((select count(*)::integer from exports_internal.claim_next_export('rescuer', '00000000-0000-0000-0000-0000000000c1')),
  1, 'once the lease ran out, a claim takes it over');
delete from public.export_logs where id = '00000000-0000-0000-0000-0000000000c1';
select is(exports_internal.generate_next_batch('00000000-0000-0000-0000-0000000000c1',
            (select lease_token from exports_internal.export_jobs where export_log_id = '00000000-0000-0000-0000-0000000000c1')),
  'lost', 'a step on a deleted export is lost: nothing to write to');
select is(exports_internal.release_export('00000000-0000-0000-0000-0000000000c1', '11111111-1111-1111-1111-111111111111'),
  false, 'releasing a deleted export does nothing');

-- ------------------------------------------------------------------------------- the summary
select is(exports_internal.add_summaries(null, '{"total_turns": 1}'::jsonb), '{"total_turns": 1}'::jsonb,
  'null is the empty summary');
select is(
  exports_internal.add_summaries(
    '{"total_turns": 3, "total_tokens": 30, "quality_sum": 8.5, "quality_count": 1, "tiers": {"template": 1}, "statuses": {"approved": 1}}',
    '{"total_turns": 4, "total_tokens": 40, "quality_sum": 6.0, "quality_count": 1, "tiers": {"template": 1, "scenario": 2}, "statuses": {"rejected": 3}}'),
  '{"total_turns": 7, "total_tokens": 70, "quality_sum": 14.5, "quality_count": 2, "tiers": {"template": 2, "scenario": 2}, "statuses": {"approved": 1, "rejected": 3}}'::jsonb,
  'two summaries add up field by field and value by value in the distributions');

insert into public.export_logs (id, user_id, format, config, conversation_count, status)
select '00000000-0000-0000-0000-0000000000b1', ids.a, 'json',
       '{"format": "json", "scope": "all", "includeMetadata": true, "includeQualityScores": true,
         "includeTimestamps": true, "includeApprovalHistory": false,
         "includeParentReferences": false, "includeFullContent": true}'::jsonb,
       0, 'processing' from ids;
select is(
  exports_internal.render_footer('00000000-0000-0000-0000-0000000000b1',
    '{"total_turns": 7, "total_tokens": 70, "quality_sum": 14.5, "quality_count": 2, "tiers": {"template": 2, "scenario": 2}, "statuses": {"approved": 1, "rejected": 3}}'),
  '],"summary":{"total_turns":7,"total_tokens":70,"average_quality_score":7.25,"tier_distribution":{"scenario":2,"template":2},"status_distribution":{"approved":1,"rejected":3}}}',
  'the footer renders the accumulated summary: average to two decimals, distributions in order');
select is(
  exports_internal.render_footer('00000000-0000-0000-0000-0000000000b1', null),
  '],"summary":{"total_turns":0,"total_tokens":0,"average_quality_score":null,"tier_distribution":{},"status_distribution":{}}}',
  'an export that wrote nothing has an empty summary');
select has_column('exports_internal', 'export_jobs', 'summary',
  'the job carries the summary accumulated so far, checkpointed with each batch');

select * from finish();
rollback;
