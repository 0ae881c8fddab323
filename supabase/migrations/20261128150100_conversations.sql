-- The source data that exports read: users' multi-turn training conversations and their turns,
-- with row level security so each user reads and writes only their own, and the per-conversation
-- turn_count / total_tokens kept by the database so they always agree with the turns.

create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  -- A user's insert leaves the owner to this default (the caller's JWT subject): users may not
  -- name an owner at all (see the grants below). The service names it explicitly.
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title text,
  persona text,
  emotion text,
  tier text not null constraint conversations_tier_check
    check (tier in ('template', 'scenario', 'edge_case')),
  status text not null default 'draft' constraint conversations_status_check
    check (status in ('draft', 'generated', 'pending_review', 'approved', 'rejected',
                      'needs_revision', 'failed')),
  category text[] not null default '{}',
  -- numeric(3,1) keeps one decimal (a longer value is rounded, not refused); the range is checked.
  quality_score numeric(3, 1) constraint conversations_quality_score_check
    check (quality_score between 0 and 10),
  quality_metrics jsonb not null default '{}',
  -- Derived from conversation_turns: users cannot write them, and whatever the owner or the
  -- service supplies is replaced (see the grants and the triggers).
  turn_count integer not null default 0,
  total_tokens integer not null default 0,
  -- A derived conversation outlives its parent: the link is cleared, the child is kept.
  parent_id uuid references public.conversations (id) on delete set null,
  parent_type text constraint conversations_parent_type_check
    check (parent_type in ('template', 'scenario', 'conversation')),
  parameters jsonb not null default '{}',
  -- Entries are { action, performed_by, timestamp, comment }; exports emit it as a list.
  review_history jsonb not null default '[]' constraint conversations_review_history_check
    check (jsonb_typeof(review_history) = 'array'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.conversation_turns (
  id uuid primary key default gen_random_uuid(),
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  turn_number integer not null constraint conversation_turns_turn_number_check
    check (turn_number >= 1),
  role text not null constraint conversation_turns_role_check
    check (role in ('system', 'user', 'assistant')),
  content text not null,
  token_count integer not null default 0 constraint conversation_turns_token_count_check
    check (token_count >= 0),
  created_at timestamptz not null default now(),
  -- Also the index that reads a conversation's turns in order and that the turn policies use.
  unique (conversation_id, turn_number)
);

-- Row level security in the same migration that creates the tables.
alter table public.conversations enable row level security;
alter table public.conversation_turns enable row level security;

-- The export filters all start from the caller's rows, so every index leads with user_id (which
-- also serves the policies).
create index idx_conversations_user_status on public.conversations (user_id, status);
create index idx_conversations_user_tier on public.conversations (user_id, tier);
-- Exports walk a user's conversations in (created_at, id) order, keyset-paginated.
create index idx_conversations_user_created on public.conversations (user_id, created_at, id);
create index idx_conversations_user_quality on public.conversations (user_id, quality_score);
-- The categories filter is an array overlap (&&), which only a GIN index serves.
create index idx_conversations_category on public.conversations using gin (category);
-- Deleting a conversation looks up its children to clear their parent_id.
create index idx_conversations_parent_id on public.conversations (parent_id);

-- Policies: one per operation, to authenticated only, auth.uid() evaluated once per statement.
create policy conversations_select_own on public.conversations
  for select to authenticated
  using ((select auth.uid()) = user_id);

create policy conversations_insert_own on public.conversations
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

create policy conversations_update_own on public.conversations
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

create policy conversations_delete_own on public.conversations
  for delete to authenticated
  using ((select auth.uid()) = user_id);

-- A turn belongs to whoever owns its conversation; there is no user_id to keep in step.
create policy conversation_turns_select_own on public.conversation_turns
  for select to authenticated
  using (exists (select 1 from public.conversations c
                 where c.id = conversation_id and c.user_id = (select auth.uid())));

create policy conversation_turns_insert_own on public.conversation_turns
  for insert to authenticated
  with check (exists (select 1 from public.conversations c
                      where c.id = conversation_id and c.user_id = (select auth.uid())));

-- USING covers the conversation a turn is in, WITH CHECK the one it ends up in, so a turn can
-- only be moved between two conversations of the same user.
create policy conversation_turns_update_own on public.conversation_turns
  for update to authenticated
  using (exists (select 1 from public.conversations c
                 where c.id = conversation_id and c.user_id = (select auth.uid())))
  with check (exists (select 1 from public.conversations c
                      where c.id = conversation_id and c.user_id = (select auth.uid())));

create policy conversation_turns_delete_own on public.conversation_turns
  for delete to authenticated
  using (exists (select 1 from public.conversations c
                 where c.id = conversation_id and c.user_id = (select auth.uid())));

-- Supabase's default grants give anon and authenticated every privilege on new tables in public.
-- Users do read and write their own conversations, so authenticated gets SELECT and DELETE, and
-- INSERT and UPDATE column by column, each filtered by the policies above. What the database
-- fills in or maintains is not theirs to write: the owner (user_id defaults to auth.uid(), and a
-- user cannot hand a conversation to someone else), the counters (recounted from the turns) and
-- the timestamps (defaults, and set_updated_at). An id may be chosen at insert, never changed. A
-- turn may be moved between conversations (its policies keep both ends the user's own).
-- TRUNCATE is not subject to RLS at all (one statement would empty every user's data);
-- REFERENCES would let a table of the user's own point a foreign key at these rows, revealing
-- which ids exist and blocking their owners' deletes; and TRIGGER would let a user attach a
-- function to every user's writes. anon has no business with anyone's conversations, so it gets
-- nothing.
revoke all on public.conversations, public.conversation_turns from public, anon, authenticated;
grant select, delete on public.conversations, public.conversation_turns to authenticated;
grant insert (id, title, persona, emotion, tier, status, category, quality_score, quality_metrics,
              parent_id, parent_type, parameters, review_history)
  on public.conversations to authenticated;
grant update (title, persona, emotion, tier, status, category, quality_score, quality_metrics,
              parent_id, parent_type, parameters, review_history)
  on public.conversations to authenticated;
grant insert (id, conversation_id, turn_number, role, content, token_count)
  on public.conversation_turns to authenticated;
grant update (conversation_id, turn_number, role, content, token_count)
  on public.conversation_turns to authenticated;
grant all on public.conversations, public.conversation_turns to service_role;

-- updated_at is maintained by the database so no writer can forget it.
create trigger conversations_set_updated_at
  before update on public.conversations
  for each row execute function exports_internal.set_updated_at();

-- turn_count / total_tokens are recounted from the turns on every write of a conversation row,
-- so no write can make them disagree: users hold no privilege on them, and the values the owner
-- or the service supplies are silently replaced.
--
-- The recount is here, in a BEFORE ROW trigger, rather than in the turn triggers, because it
-- runs once the row is locked: two transactions changing turns of one conversation both update
-- its row (below), the second waits for the first to commit, and under READ COMMITTED its
-- recount then takes a fresh snapshot that includes the first one's turns. A count computed
-- before taking the lock would overwrite the row with a stale number. This is also why the
-- trigger has no WHEN clause: the values a writer supplies may equal the stale ones.
--
-- Security invoker: when a user writes, the count reads the turns through their own RLS, which
-- shows every turn of a conversation they own, and only such conversations can be written.
create function exports_internal.recount_conversation_turns() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  select count(*)::integer, coalesce(sum(t.token_count), 0)::integer
    into new.turn_count, new.total_tokens
    from public.conversation_turns t
   where t.conversation_id = new.id;
  return new;
end
$$;

create trigger conversations_recount_turns
  before insert or update on public.conversations
  for each row execute function exports_internal.recount_conversation_turns();

-- Any change to turns (added, edited, removed, or moved to another conversation) touches every
-- conversation involved; that update's BEFORE triggers do the recount and move updated_at,
-- because the conversation's content changed. Statement-level with transition tables, so a
-- bulk insert of a thousand turns updates each conversation once, not a thousand times.
--
-- Security invoker: the turn policies already require the user to own every conversation
-- involved (both ends of a move), so this UPDATE passes conversations_update_own. A cascade from
-- deleting a conversation or an auth user runs as the table owner and finds no row to touch.
create function exports_internal.touch_conversations_of_turns() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- Each UPDATE sets title to itself: a statement must name a column its writer may update, and
  -- users may not update updated_at or the counters. The BEFORE triggers do the real work
  -- (set_updated_at, the recount).
  if tg_op = 'INSERT' then
    update public.conversations c
       set title = c.title
     where c.id in (select n.conversation_id from new_turns n);
  elsif tg_op = 'UPDATE' then
    update public.conversations c
       set title = c.title
     where c.id in (select o.conversation_id from old_turns o
                    union
                    select n.conversation_id from new_turns n);
  elsif tg_op = 'DELETE' then
    update public.conversations c
       set title = c.title
     where c.id in (select o.conversation_id from old_turns o);
  elsif tg_op = 'TRUNCATE' then
    -- Only the owner can truncate; no row-level triggers run, so recount everything.
    update public.conversations c
       set title = c.title;
  end if;
  return null;
end
$$;

-- A trigger with transition tables can have only one event, hence three of them.
create trigger conversation_turns_touch_after_insert
  after insert on public.conversation_turns
  referencing new table as new_turns
  for each statement execute function exports_internal.touch_conversations_of_turns();

create trigger conversation_turns_touch_after_update
  after update on public.conversation_turns
  referencing old table as old_turns new table as new_turns
  for each statement execute function exports_internal.touch_conversations_of_turns();

create trigger conversation_turns_touch_after_delete
  after delete on public.conversation_turns
  referencing old table as old_turns
  for each statement execute function exports_internal.touch_conversations_of_turns();

create trigger conversation_turns_touch_after_truncate
  after truncate on public.conversation_turns
  for each statement execute function exports_internal.touch_conversations_of_turns();

-- Trigger functions are never called directly; nobody but the owner needs EXECUTE on them
-- (firing a trigger checks no privilege on its function or schema).
revoke execute on function exports_internal.recount_conversation_turns() from public, anon, authenticated;
revoke execute on function exports_internal.touch_conversations_of_turns() from public, anon, authenticated;
