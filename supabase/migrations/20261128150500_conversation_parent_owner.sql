-- A conversation's parent_id may name only a conversation of the same user.
--
-- The foreign key alone let a link cross users: referential checks run as the table owner and
-- ignore RLS, so a user could point parent_id at any id and learn from the outcome (accepted, or
-- 23503) whether another user's conversation with that id exists; and once linked, that user's
-- delete would reach into the first user's row and clear the field (ON DELETE SET NULL). A policy
-- checks only the row written, not the row it points at, so a trigger checks the link, for every
-- writer. An id of someone else's and an id of nothing get the same refusal, raised before the
-- foreign key runs, so the error tells a user nothing about other users' data. The same rule
-- refuses moving a conversation to another user while children of its old user point at it.
--
-- Security invoker, deliberately. The lookup runs under the writer's RLS: a user sees every
-- conversation of their own, so their own parent is always found, and never another user's, so
-- such a parent is refused (not found means refused: the check fails closed). The owner and
-- service_role bypass RLS and see every row, so the rule holds for them too. A security definer
-- lookup would see the parent whatever the writer may see, and that reopens the leak: BEFORE
-- triggers run before the RLS WITH CHECK, so a user inserting a row with another user's user_id
-- would get this refusal when the parent is not that user's and the RLS refusal when it is.
-- (Users may no longer name user_id at all, see the grants on conversations; the lookup stays
-- under RLS so that the rule does not rest on that grant alone.)
-- An UPDATE re-checks only when parent_id or user_id changes, so a client sending a row's
-- fields back is not refused over a link that was already there.
create function exports_internal.check_conversation_parent_owner() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE'
     and new.parent_id is not distinct from old.parent_id
     and new.user_id is not distinct from old.user_id then
    return new;
  end if;
  -- A row naming itself is trivially its own user's (at INSERT it is not yet visible).
  if new.parent_id is not null and new.parent_id <> new.id and not exists (
    select from public.conversations p
     where p.id = new.parent_id and p.user_id = new.user_id
  ) then
    raise exception 'parent_id "%" is not a conversation of the same user', new.parent_id
      using errcode = 'insufficient_privilege',
            hint = 'A conversation can only be derived from another conversation of its own user.';
  end if;
  if tg_op = 'UPDATE' and new.user_id is distinct from old.user_id and exists (
    select from public.conversations c
     where c.parent_id = new.id and c.id <> new.id and c.user_id <> new.user_id
  ) then
    raise exception 'conversation "%" cannot change user while conversations of its old user derive from it',
        new.id
      using errcode = 'insufficient_privilege',
            hint = 'Clear or move the children''s parent_id first.';
  end if;
  return new;
end
$$;

-- Firing a trigger checks no privilege on its function; nobody needs to call it directly.
revoke execute on function exports_internal.check_conversation_parent_owner()
  from public, anon, authenticated;

-- Named to fire before the other BEFORE triggers on conversations (they run in name order), so
-- a refused row costs no recount.
create trigger conversations_check_parent_owner
  before insert or update of parent_id, user_id on public.conversations
  for each row execute function exports_internal.check_conversation_parent_owner();
