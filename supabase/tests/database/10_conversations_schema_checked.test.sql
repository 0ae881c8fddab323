-- The source-data tables match the contract in spec/export-config.md: columns, defaults, the
-- values each check admits and refuses, what deleting a user, a parent or a conversation does,
-- the indexes the export filters rely on, and updated_at kept by the database.
begin;
\ir ../helpers.sql
select plan(113);

-- The owner of every row below.
do $$
begin
  perform set_config('tests.owner', tests.create_user('owner@example.com')::text, true);
end
$$;

-- ---------------------------------------------------------------------------- conversations
select columns_are('public', 'conversations', array[
  'id', 'user_id', 'title', 'persona', 'emotion', 'tier', 'status', 'category', 'quality_score',
  'quality_metrics', 'turn_count', 'total_tokens', 'parent_id', 'parent_type', 'parameters',
  'review_history', 'created_at', 'updated_at'],
  'conversations has exactly the columns of the contract');

select col_type_is('public', 'conversations', 'id', 'uuid', 'conversations.id is a uuid');
select col_type_is('public', 'conversations', 'user_id', 'uuid', 'conversations.user_id is a uuid');
select col_type_is('public', 'conversations', 'title', 'text', 'conversations.title is text');
select col_type_is('public', 'conversations', 'persona', 'text', 'conversations.persona is text');
select col_type_is('public', 'conversations', 'emotion', 'text', 'conversations.emotion is text');
select col_type_is('public', 'conversations', 'tier', 'text', 'conversations.tier is text');
select col_type_is('public', 'conversations', 'status', 'text', 'conversations.status is text');
select col_type_is('public', 'conversations', 'category', 'text[]', 'conversations.category is a text array');
select col_type_is('public', 'conversations', 'quality_score', 'numeric(3,1)',
  'conversations.quality_score is numeric with one decimal');
select col_type_is('public', 'conversations', 'quality_metrics', 'jsonb', 'conversations.quality_metrics is jsonb');
select col_type_is('public', 'conversations', 'turn_count', 'integer', 'conversations.turn_count is an integer');
select col_type_is('public', 'conversations', 'total_tokens', 'integer', 'conversations.total_tokens is an integer');
select col_type_is('public', 'conversations', 'parent_id', 'uuid', 'conversations.parent_id is a uuid');
select col_type_is('public', 'conversations', 'parent_type', 'text', 'conversations.parent_type is text');
select col_type_is('public', 'conversations', 'parameters', 'jsonb', 'conversations.parameters is jsonb');
select col_type_is('public', 'conversations', 'review_history', 'jsonb', 'conversations.review_history is jsonb');
select col_type_is('public', 'conversations', 'created_at', 'timestamp with time zone',
  'conversations.created_at is a timestamptz');
select col_type_is('public', 'conversations', 'updated_at', 'timestamp with time zone',
  'conversations.updated_at is a timestamptz');

select col_not_null('public', 'conversations', 'id', 'conversations.id is required');
select col_not_null('public', 'conversations', 'user_id', 'every conversation has an owner');
select col_is_null('public', 'conversations', 'title', 'a conversation may have no title');
select col_is_null('public', 'conversations', 'persona', 'a conversation may have no persona');
select col_is_null('public', 'conversations', 'emotion', 'a conversation may have no emotion');
select col_not_null('public', 'conversations', 'tier', 'every conversation has a tier');
select col_not_null('public', 'conversations', 'status', 'every conversation has a status');
select col_not_null('public', 'conversations', 'category', 'category is an array, never null');
select col_is_null('public', 'conversations', 'quality_score', 'a conversation may be unscored');
select col_not_null('public', 'conversations', 'quality_metrics', 'quality_metrics is never null');
select col_not_null('public', 'conversations', 'turn_count', 'turn_count is never null');
select col_not_null('public', 'conversations', 'total_tokens', 'total_tokens is never null');
select col_is_null('public', 'conversations', 'parent_id', 'a conversation may have no parent');
select col_is_null('public', 'conversations', 'parent_type', 'a conversation may have no parent type');
select col_not_null('public', 'conversations', 'parameters', 'parameters is never null');
select col_not_null('public', 'conversations', 'review_history', 'review_history is never null');
select col_not_null('public', 'conversations', 'created_at', 'created_at is never null');
select col_not_null('public', 'conversations', 'updated_at', 'updated_at is never null');

select col_default_is('public', 'conversations', 'id', 'gen_random_uuid()',
  'a conversation id is generated when not given');
select col_default_is('public', 'conversations', 'status', 'draft', 'a new conversation is a draft');
select col_default_is('public', 'conversations', 'category', '{}', 'category defaults to an empty array');
select col_default_is('public', 'conversations', 'quality_metrics', '{}',
  'quality_metrics defaults to an empty object');
select col_default_is('public', 'conversations', 'turn_count', '0', 'turn_count starts at zero');
select col_default_is('public', 'conversations', 'total_tokens', '0', 'total_tokens starts at zero');
select col_default_is('public', 'conversations', 'parameters', '{}', 'parameters defaults to an empty object');
select col_default_is('public', 'conversations', 'review_history', '[]',
  'review_history defaults to an empty array');
select col_default_is('public', 'conversations', 'created_at', 'now()', 'created_at defaults to now');
select col_default_is('public', 'conversations', 'updated_at', 'now()', 'updated_at defaults to now');

select col_is_pk('public', 'conversations', 'id', 'conversations is keyed by id');
select fk_ok('public', 'conversations', 'user_id', 'auth', 'users', 'id',
  'conversations.user_id references auth.users');
select fk_ok('public', 'conversations', 'parent_id', 'public', 'conversations', 'id',
  'conversations.parent_id references another conversation');

-- A row with only the required columns gets every default.
insert into public.conversations (id, user_id, tier)
values ('10000000-0000-0000-0000-000000000001', current_setting('tests.owner')::uuid, 'template');

select results_eq(
  $$select status, category, quality_metrics, parameters, review_history, turn_count, total_tokens
      from public.conversations where id = '10000000-0000-0000-0000-000000000001'$$,
  $$values ('draft', '{}'::text[], '{}'::jsonb, '{}'::jsonb, '[]'::jsonb, 0, 0)$$,
  'a conversation inserted with only its owner and tier gets every default');

-- ------------------------------------------------------------------------- checks, by behaviour
select throws_ok(
  $$insert into public.conversations (user_id) values (current_setting('tests.owner')::uuid)$$,
  '23502', null, 'a conversation without a tier is refused');
select lives_ok(
  $$insert into public.conversations (user_id, tier)
    select current_setting('tests.owner')::uuid, t from unnest(array['template', 'scenario', 'edge_case']) t$$,
  'every tier of the contract is accepted');
select throws_ok(
  $$insert into public.conversations (user_id, tier) values (current_setting('tests.owner')::uuid, 'premium')$$,
  '23514', 'new row for relation "conversations" violates check constraint "conversations_tier_check"',
  'a tier outside the contract is refused by conversations_tier_check');
select lives_ok(
  $$insert into public.conversations (user_id, tier, status)
    select current_setting('tests.owner')::uuid, 'template', s
      from unnest(array['draft', 'generated', 'pending_review', 'approved', 'rejected',
                        'needs_revision', 'failed']) s$$,
  'every status of the contract is accepted');
select throws_ok(
  $$insert into public.conversations (user_id, tier, status)
    values (current_setting('tests.owner')::uuid, 'template', 'published')$$,
  '23514', 'new row for relation "conversations" violates check constraint "conversations_status_check"',
  'a status outside the contract is refused by conversations_status_check');
select throws_ok(
  $$update public.conversations set status = 'Approved' where id = '10000000-0000-0000-0000-000000000001'$$,
  '23514', 'new row for relation "conversations" violates check constraint "conversations_status_check"',
  'status values are case-sensitive, also on update');

select lives_ok(
  $$insert into public.conversations (user_id, tier, quality_score)
    values (current_setting('tests.owner')::uuid, 'template', 0),
           (current_setting('tests.owner')::uuid, 'template', 10),
           (current_setting('tests.owner')::uuid, 'template', null)$$,
  'quality scores of 0, 10 and none are accepted');
select throws_ok(
  $$insert into public.conversations (user_id, tier, quality_score)
    values (current_setting('tests.owner')::uuid, 'template', 10.1)$$,
  '23514', 'new row for relation "conversations" violates check constraint "conversations_quality_score_check"',
  'a quality score above 10 is refused by conversations_quality_score_check');
select throws_ok(
  $$insert into public.conversations (user_id, tier, quality_score)
    values (current_setting('tests.owner')::uuid, 'template', -0.1)$$,
  '23514', 'new row for relation "conversations" violates check constraint "conversations_quality_score_check"',
  'a negative quality score is refused by conversations_quality_score_check');
update public.conversations set quality_score = 7.25 where id = '10000000-0000-0000-0000-000000000001';
select is(
  (select quality_score::text from public.conversations where id = '10000000-0000-0000-0000-000000000001'),
  '7.3', 'a quality score is kept with one decimal, rounded');
select throws_ok(
  $$insert into public.conversations (user_id, tier, quality_score)
    values (current_setting('tests.owner')::uuid, 'template', 10.05)$$,
  '23514', 'new row for relation "conversations" violates check constraint "conversations_quality_score_check"',
  'a score that rounds to 10.1 is refused, so the bound holds after rounding');

select lives_ok(
  $$insert into public.conversations (user_id, tier, parent_type)
    select current_setting('tests.owner')::uuid, 'scenario', p
      from unnest(array['template', 'scenario', 'conversation']) p$$,
  'every parent type of the contract is accepted');
select throws_ok(
  $$insert into public.conversations (user_id, tier, parent_type)
    values (current_setting('tests.owner')::uuid, 'scenario', 'persona')$$,
  '23514', 'new row for relation "conversations" violates check constraint "conversations_parent_type_check"',
  'a parent type outside the contract is refused by conversations_parent_type_check');

select lives_ok(
  $$insert into public.conversations (user_id, tier, review_history)
    values (current_setting('tests.owner')::uuid, 'template',
            '[{"action": "approved", "performed_by": "u", "timestamp": "2026-01-01T00:00:00Z", "comment": null}]')$$,
  'a review history that is an array of entries is accepted');
select throws_ok(
  $$insert into public.conversations (user_id, tier, review_history)
    values (current_setting('tests.owner')::uuid, 'template', '{"action": "approved"}')$$,
  '23514', 'new row for relation "conversations" violates check constraint "conversations_review_history_check"',
  'a review history that is a single object rather than an array is refused');
select throws_ok(
  $$insert into public.conversations (user_id, tier, review_history)
    values (current_setting('tests.owner')::uuid, 'template', 'null')$$,
  '23514', 'new row for relation "conversations" violates check constraint "conversations_review_history_check"',
  'a review history that is JSON null is refused');

-- ----------------------------------------------------------------------- conversation_turns
select columns_are('public', 'conversation_turns', array[
  'id', 'conversation_id', 'turn_number', 'role', 'content', 'token_count', 'created_at'],
  'conversation_turns has exactly the columns of the contract');

select col_type_is('public', 'conversation_turns', 'id', 'uuid', 'conversation_turns.id is a uuid');
select col_type_is('public', 'conversation_turns', 'conversation_id', 'uuid',
  'conversation_turns.conversation_id is a uuid');
select col_type_is('public', 'conversation_turns', 'turn_number', 'integer',
  'conversation_turns.turn_number is an integer');
select col_type_is('public', 'conversation_turns', 'role', 'text', 'conversation_turns.role is text');
select col_type_is('public', 'conversation_turns', 'content', 'text', 'conversation_turns.content is text');
select col_type_is('public', 'conversation_turns', 'token_count', 'integer',
  'conversation_turns.token_count is an integer');
select col_type_is('public', 'conversation_turns', 'created_at', 'timestamp with time zone',
  'conversation_turns.created_at is a timestamptz');

select col_not_null('public', 'conversation_turns', 'id', 'conversation_turns.id is required');
select col_not_null('public', 'conversation_turns', 'conversation_id', 'every turn belongs to a conversation');
select col_not_null('public', 'conversation_turns', 'turn_number', 'every turn has a number');
select col_not_null('public', 'conversation_turns', 'role', 'every turn has a role');
select col_not_null('public', 'conversation_turns', 'content', 'every turn has content');
select col_not_null('public', 'conversation_turns', 'token_count', 'token_count is never null');
select col_not_null('public', 'conversation_turns', 'created_at', 'created_at is never null');

select col_default_is('public', 'conversation_turns', 'id', 'gen_random_uuid()',
  'a turn id is generated when not given');
select col_default_is('public', 'conversation_turns', 'token_count', '0', 'token_count defaults to zero');
select col_default_is('public', 'conversation_turns', 'created_at', 'now()', 'a turn''s created_at defaults to now');

select col_is_pk('public', 'conversation_turns', 'id', 'conversation_turns is keyed by id');
select fk_ok('public', 'conversation_turns', 'conversation_id', 'public', 'conversations', 'id',
  'conversation_turns.conversation_id references conversations');
select col_is_unique('public', 'conversation_turns', array['conversation_id', 'turn_number'],
  'a turn number is unique within its conversation');

select lives_ok(
  $$insert into public.conversation_turns (conversation_id, turn_number, role, content)
    values ('10000000-0000-0000-0000-000000000001', 1, 'system', 'Be kind.'),
           ('10000000-0000-0000-0000-000000000001', 2, 'user', 'Hello'),
           ('10000000-0000-0000-0000-000000000001', 3, 'assistant', 'Hi')$$,
  'every role of the contract is accepted');
select throws_ok(
  $$insert into public.conversation_turns (conversation_id, turn_number, role, content)
    values ('10000000-0000-0000-0000-000000000001', 4, 'tool', 'x')$$,
  '23514', 'new row for relation "conversation_turns" violates check constraint "conversation_turns_role_check"',
  'a role outside the contract is refused by conversation_turns_role_check');
select throws_ok(
  $$insert into public.conversation_turns (conversation_id, turn_number, role, content)
    values ('10000000-0000-0000-0000-000000000001', 0, 'user', 'x')$$,
  '23514', 'new row for relation "conversation_turns" violates check constraint "conversation_turns_turn_number_check"',
  'turn number 0 is refused: turns are numbered from 1');
select throws_ok(
  $$insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
    values ('10000000-0000-0000-0000-000000000001', 4, 'user', 'x', -1)$$,
  '23514', 'new row for relation "conversation_turns" violates check constraint "conversation_turns_token_count_check"',
  'a negative token count is refused by conversation_turns_token_count_check');
select throws_ok(
  $$insert into public.conversation_turns (conversation_id, turn_number, role, content)
    values ('10000000-0000-0000-0000-000000000001', 4, 'user', null)$$,
  '23502', null, 'a turn without content is refused');
select lives_ok(
  $$insert into public.conversation_turns (conversation_id, turn_number, role, content)
    values ('10000000-0000-0000-0000-000000000001', 4, 'user', '')$$,
  'empty content is a value, not a missing one');
select throws_ok(
  $$insert into public.conversation_turns (conversation_id, turn_number, role, content)
    values ('10000000-0000-0000-0000-000000000001', 2, 'user', 'again')$$,
  '23505',
  'duplicate key value violates unique constraint "conversation_turns_conversation_id_turn_number_key"',
  'a second turn with the same number in one conversation is refused');
select throws_ok(
  $$insert into public.conversation_turns (conversation_id, turn_number, role, content)
    values ('10000000-0000-0000-0000-0000000000ff', 1, 'user', 'orphan')$$,
  '23503', null, 'a turn of a conversation that does not exist is refused');

-- ------------------------------------------------------------------ what deleting things does
insert into public.conversations (id, user_id, tier, parent_id, parent_type)
values ('10000000-0000-0000-0000-000000000002', current_setting('tests.owner')::uuid, 'scenario',
        '10000000-0000-0000-0000-000000000001', 'template'),
       ('10000000-0000-0000-0000-000000000003', current_setting('tests.owner')::uuid, 'edge_case',
        '10000000-0000-0000-0000-000000000002', 'scenario');
insert into public.conversation_turns (conversation_id, turn_number, role, content)
values ('10000000-0000-0000-0000-000000000002', 1, 'user', 'Hello'),
       ('10000000-0000-0000-0000-000000000003', 1, 'user', 'Hello');

delete from public.conversations where id = '10000000-0000-0000-0000-000000000001';
select is_empty(
  $$select 1 from public.conversation_turns where conversation_id = '10000000-0000-0000-0000-000000000001'$$,
  'deleting a conversation deletes its turns');
select results_eq(
  $$select parent_id, parent_type from public.conversations where id = '10000000-0000-0000-0000-000000000002'$$,
  $$values (null::uuid, 'template'::text)$$,
  'deleting a parent keeps the child and clears its parent_id');
select results_eq(
  $$select parent_id from public.conversations where id = '10000000-0000-0000-0000-000000000003'$$,
  $$values ('10000000-0000-0000-0000-000000000002'::uuid)$$,
  'a grandchild keeps its link to a parent that still exists');

delete from auth.users where id = current_setting('tests.owner')::uuid;
select is_empty(
  $$select 1 from public.conversations where user_id = current_setting('tests.owner')::uuid$$,
  'deleting an auth user deletes their conversations');
select is_empty(
  $$select 1 from public.conversation_turns
     where conversation_id in ('10000000-0000-0000-0000-000000000002', '10000000-0000-0000-0000-000000000003')$$,
  'deleting an auth user deletes the turns of their conversations');

-- ----------------------------------------------------------------------------------- indexes
select has_index('public', 'conversations', 'idx_conversations_user_status', array['user_id', 'status'],
  'the status filter has an index leading with the owner');
select has_index('public', 'conversations', 'idx_conversations_user_tier', array['user_id', 'tier'],
  'the tier filter has an index leading with the owner');
select has_index('public', 'conversations', 'idx_conversations_user_created',
  array['user_id', 'created_at', 'id'],
  'the stable export order (created_at, id) per owner has an index');
select has_index('public', 'conversations', 'idx_conversations_user_quality', array['user_id', 'quality_score'],
  'the quality filter has an index leading with the owner');
select has_index('public', 'conversations', 'idx_conversations_category', array['category'],
  'the category filter has an index');
select index_is_type('public', 'conversations', 'idx_conversations_category', 'gin',
  'the category index is GIN, so array overlap can use it');
select has_index('public', 'conversations', 'idx_conversations_parent_id', array['parent_id'],
  'clearing children when a parent is deleted has an index');
select has_index('public', 'conversation_turns', 'conversation_turns_conversation_id_turn_number_key',
  array['conversation_id', 'turn_number'],
  'reading a conversation''s turns in order uses the unique index');

-- -------------------------------------------------------------------------------- updated_at
select has_trigger('public', 'conversations', 'conversations_set_updated_at',
  'conversations has the updated_at trigger');

do $$
begin
  perform set_config('tests.owner', tests.create_user('owner2@example.com')::text, true);
end
$$;
insert into public.conversations (id, user_id, tier, created_at, updated_at)
values ('10000000-0000-0000-0000-000000000004', current_setting('tests.owner')::uuid, 'template',
        '2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z');
update public.conversations set title = 'Renamed' where id = '10000000-0000-0000-0000-000000000004';
select is(
  (select updated_at from public.conversations where id = '10000000-0000-0000-0000-000000000004'),
  now(), 'updating a conversation sets updated_at to the time of the change');
select is(
  (select created_at from public.conversations where id = '10000000-0000-0000-0000-000000000004'),
  '2020-01-01T00:00:00Z'::timestamptz, 'updating a conversation leaves created_at alone');
update public.conversations set updated_at = '2020-01-01T00:00:00Z'
 where id = '10000000-0000-0000-0000-000000000004';
select is(
  (select updated_at from public.conversations where id = '10000000-0000-0000-0000-000000000004'),
  now(), 'a writer cannot backdate updated_at');

select * from finish();
rollback;
