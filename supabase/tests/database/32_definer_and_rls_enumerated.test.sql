-- Checks by enumeration, so that whatever a later migration adds is covered without editing
-- this file: every security definer function pins an empty search_path; every table in public
-- has RLS, and nothing in public serves rows past it (no view without security_invoker, no
-- policy for PUBLIC or FOR ALL); every table in exports_internal has RLS and no policies; and
-- plpgsql_check finds no error in any plpgsql function or procedure of the project.
begin;
\ir ../helpers.sql
select plan(15);

-- ------------------------------------------------------------- as the owner: security definer
select is_empty(
  $$select p.oid::regprocedure::text, p.proconfig
      from pg_proc p
     where p.pronamespace in ('public'::regnamespace, 'exports_internal'::regnamespace)
       and p.prosecdef
       and not coalesce(p.proconfig, '{}') @> array['search_path=""']$$,
  'every security definer function in public and exports_internal sets search_path to empty');
select ok(
  (select count(*) = 3 from pg_proc p
    where p.pronamespace in ('public'::regnamespace, 'exports_internal'::regnamespace)
      and p.prosecdef
      and p.oid in ('public.mark_expired_exports()'::regprocedure,
                    'exports_internal.purge_cron_history()'::regprocedure,
                    'exports_internal.purge_export_history()'::regprocedure)),
  'the enumeration above covers the known security definer functions (it is not vacuous)');

-- --------------------------------------------------------------------- as the owner: RLS
select is_empty(
  $$select c.oid::regclass::text from pg_class c
     where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity$$,
  'every table in public has row level security enabled');
select ok(
  (select count(*) >= 3 from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and c.relrowsecurity),
  'the public enumeration covers at least export_logs, conversations and conversation_turns');
select is_empty(
  $$select c.oid::regclass::text, c.relkind from pg_class c
     where c.relnamespace = 'public'::regnamespace
       and (c.relkind = 'm'
            or (c.relkind = 'v' and not coalesce(c.reloptions, '{}') @> array['security_invoker=true']))$$,
  'no view in public runs as its owner (security_invoker is on) and no materialized view copies rows out of RLS');
select is_empty(
  $$select pol.polrelid::regclass::text, pol.polname
      from pg_policy pol join pg_class c on c.oid = pol.polrelid
     where c.relnamespace = 'public'::regnamespace
       and (pol.polcmd = '*' or 0 = any (pol.polroles))$$,
  'no policy in public is FOR ALL or applies to PUBLIC: each names its operation and its role');
select is_empty(
  $$select c.oid::regclass::text from pg_class c
     where c.relnamespace = 'exports_internal'::regnamespace and c.relkind in ('r', 'p')
       and not c.relrowsecurity$$,
  'every table in exports_internal has row level security enabled');
select is_empty(
  $$select pol.polrelid::regclass::text, pol.polname
      from pg_policy pol join pg_class c on c.oid = pol.polrelid
     where c.relnamespace = 'exports_internal'::regnamespace$$,
  'no table in exports_internal has a policy, so RLS lets no row through to a role that is not exempt');
select ok(
  (select count(*) >= 7 from pg_class c
    where c.relnamespace = 'exports_internal'::regnamespace and c.relkind in ('r', 'p')),
  'the exports_internal enumeration covers at least the 7 tables the migrations create');

-- -------------------------------------------------------------- as the owner: plpgsql_check
-- plpgsql_check works as a plain extension (no shared_preload_libraries needed for
-- plpgsql_check_function); it is created here and rolled back with the test.
create extension if not exists plpgsql_check with schema extensions;

-- Every plpgsql function and procedure, with what plpgsql_check needs to check it: a trigger
-- function is checked against each table it is attached to, with the transition table names its
-- triggers there declare (a statement trigger's function may use old and new tables in different
-- branches, each declared by one of its triggers).
create temp view plpgsql_targets as
select p.oid as fn, p.oid::regprocedure::text as signature,
       p.prorettype = 'trigger'::regtype as is_trigger,
       t.relid, t.oldtable, t.newtable
  from pg_proc p
  join pg_language l on l.oid = p.prolang and l.lanname = 'plpgsql'
  left join lateral (
    select tg.tgrelid as relid, max(tg.tgoldtable) as oldtable, max(tg.tgnewtable) as newtable
      from pg_trigger tg
     where tg.tgfoid = p.oid
     group by tg.tgrelid
  ) t on true
 where p.pronamespace in ('public'::regnamespace, 'exports_internal'::regnamespace)
   and p.prokind in ('f', 'p');

create temp table plpgsql_check_report on commit drop as
select t.signature, t.relid::regclass::text as relation, r.line
  from plpgsql_targets t
  cross join lateral plpgsql_check_function(
    t.fn, coalesce(t.relid, 0), fatal_errors => false,
    oldtable => t.oldtable, newtable => t.newtable) as r(line)
 where not t.is_trigger or t.relid is not null;

select is_empty(
  $$select signature from plpgsql_targets where is_trigger and relid is null$$,
  'every plpgsql trigger function is attached to a trigger, so it can be checked against its table');
select is_empty(
  $$select signature, relation, line from plpgsql_check_report where line like 'error%'$$,
  'plpgsql_check finds no error in any plpgsql function or procedure in public and exports_internal');
select ok(
  (select count(distinct signature) >= 18 from plpgsql_targets where not is_trigger or relid is not null),
  'plpgsql_check went over at least the 18 plpgsql functions and procedures the migrations define');
select ok(
  exists (select from plpgsql_targets
           where signature = 'exports_internal.touch_conversations_of_turns()'
             and oldtable = 'old_turns' and newtable = 'new_turns'),
  'a statement trigger function is checked with the transition tables its triggers declare');
select ok(
  exists (select from plpgsql_targets where signature = 'exports_internal.process_exports(interval)'),
  'procedures are checked too');

-- The checker really reports errors: a function naming a column that does not exist.
create function pg_temp.reads_a_missing_column() returns text
language plpgsql
as $$
begin
  return (select l.no_such_column from public.export_logs l limit 1);
end
$$;
select ok(
  exists (select from plpgsql_check_function('pg_temp.reads_a_missing_column()'::regprocedure) r(line)
           where line like 'error:42703:%'),
  'plpgsql_check reports an error for a function that reads a missing column (the check above is live)');

select * from finish();
rollback;
