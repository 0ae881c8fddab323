-- Benchmark data, part 1: one user's training conversations, 8 turns each, of realistic and
-- varied text (200-1,500 characters with quotes, commas, backslashes, tabs, blank lines, list
-- items, markdown-looking lines and non-ASCII, emoji included). Repeatable: setseed() fixes
-- random(), ids come from md5 of the row number, and times from a fixed epoch, so two runs store
-- the same rows (only updated_at, set by the database's own triggers, differs).
--
-- psql -v conversations=100000 -v user_id=<uuid>
-- The first N conversations by created_at form the smaller export (created_at = epoch + N minutes).
\set ON_ERROR_STOP on
set max_parallel_workers_per_gather = 0;  -- random() must run in one process, in one order
set synchronous_commit = off;             -- seeding only; measured work runs with the defaults

select setseed(0.20261128) as seeded \gset
select set_config('bench.owner', :'user_id', false) as owner \gset

insert into auth.users (id, aud, role, email)
values (:'user_id', 'authenticated', 'authenticated', 'bench-owner@example.test')
on conflict (id) do nothing;

-- Sentence fragments of support and tutoring dialogues.
create temporary table fragments (i serial primary key, body text not null);
insert into fragments (body) values
  ('I was charged twice for my subscription this month, once on the 3rd and again on the 4th.'),
  ('Could you check why the invoice says "pending" even though the payment went through?'),
  ('Sure, I can help with that; first, let me pull up your account details.'),
  ('The export finished, but the CSV opens with garbled characters like Ã© instead of é.'),
  ('That usually means the file was read as Latin-1 instead of UTF-8, so choose "UTF-8" when importing.'),
  ('My manager, who is based in Zürich, needs the report in € rather than $.'),
  ('We shipped your order from São Paulo on Monday — it should arrive within 5–7 business days.'),
  ('The tracking page still shows “in transit”, and the courier''s hotline doesn''t answer.'),
  ('Here is what I tried: restarting the router, clearing the cache, and logging out and back in.'),
  ('Open Settings → Security → Reset password, then follow the link in the e-mail we send you.'),
  ('The path is C:\Users\Public\Documents\exports, and the file name ends in .jsonl.'),
  ('In Python you would write: rows = [json.loads(line) for line in open("train.jsonl")]'),
  ('The error message reads: {"error": "rate_limited", "retry_after": 30}.'),
  ('Thanks, that worked! One more question, though: can I schedule the export every night?'),
  ('Not yet, but it is on our roadmap; in the meantime, the API lets you trigger it from a cron job.'),
  ('日本語のサポートもありますか？ We have customers in Tokyo and Osaka.'),
  ('Yes, we support Japanese, Korean (한국어) and Chinese (中文) out of the box.'),
  ('Привет! Our team in Kyiv writes in Ukrainian and Russian; is Cyrillic handled correctly?'),
  ('Absolutely 🙂 — every format is UTF-8, so Cyrillic, Greek (Ελληνικά) and emoji 🚀 come through intact.'),
  ('The formula =SUM(A1:A10) shows up as text in the spreadsheet, which is what we want.'),
  ('Step 1: export the sheet as CSV.	Step 2: upload it.	Step 3: map the columns.'),
  ('A naïve approach would be to load everything into memory, which fails for large files.'),
  ('Let me summarize: you want a refund for the duplicate charge, and a copy of both invoices.'),
  ('I''ve issued the refund; it can take 3–5 business days to show on your card statement.'),
  ('Could you describe what you expected to happen, and what happened instead?'),
  ('When I click "Save", nothing happens, and the console shows a 500 error.'),
  ('That''s a known issue in version 4.2.0; version 4.2.1, released today, fixes it.'),
  ('Please don''t share your password with anyone, including our support team.'),
  ('For the training set, keep answers short, friendly and accurate, and avoid jargon.'),
  ('The model should say "I don''t know" rather than guess, especially about prices.'),
  ('## Not a heading: this line only looks like markdown inside a quoted turn.'),
  ('---'),
  ('> quoted text from an earlier message, with a trailing backslash \'),
  ('Temperature is 21 °C in the office, and the café downstairs opens at 7:30.'),
  ('The résumé template uses “curly quotes” and ‘single quotes’, plus an ellipsis…'),
  ('Can you confirm the account e-mail is jane.o''neil@example.com, not jane.oneil@example.com?'),
  ('I confirmed it; the account is under jane.o''neil@example.com, created on 2024-03-18.'),
  ('If the file is larger than 2 GB, split it into parts of 100,000 lines each.'),
  ('Our SLA promises a first response within 4 hours, 24/7, for priority tickets.'),
  ('Great, thank you so much for your patience and for the quick help!');

-- 2,000 long paragraphs (3,000+ characters), each 60 fragments joined by a space, a blank line or a list item.
create temporary table paragraphs as
select k, string_agg(case when r < 0.08 then E'\n\n' when r < 0.11 then E'\n- ' when r < 0.115 then E'\r\n' else ' ' end
                     || f.body, '' order by j) as body
  from (select s / 60 + 1 as k, s % 60 as j, 1 + floor(random() * 40)::int as fi, random() as r
          from generate_series(0, 2000 * 60 - 1) s) x
  join fragments f on f.i = x.fi
 group by k;
create index on paragraphs (k);

create temporary table titles (i serial primary key, body text);
insert into titles (body) values
  ('Refund for a double charge'), ('Locked out after a password reset'), ('Parcel stuck "in transit"'),
  ('App crashes on launch'), ('Importing contacts from a CSV, with quotes'), ('Invoice in € instead of $'),
  ('Deleting my data (GDPR)'), ('Garbled characters: é → Ã©'), ('Tutoring: fractions, decimals & percentages'),
  ('日本語サポートについて'), ('Schedule a nightly export'), ('Rate limits, retries and back-off'),
  ('=HYPERLINK("http://example.com") in a cell'), ('+1 for the new dashboard'), ('Line one' || E'\n' || 'line two of a title'),
  ('Café opening hours — Zürich office'), ('Emoji in messages 🙂'), (null);

insert into public.conversations
  (id, user_id, title, persona, emotion, tier, status, category, quality_score, quality_metrics,
   review_history, created_at)
select md5('bench-conversation-' || g)::uuid,
       :'user_id',
       (select body from titles where i = x.ti) || case when x.ti < 18 then ' #' || g else '' end,
       (array['first-time customer', 'power user', 'small-business owner', 'frustrated customer',
              'developer', 'student'])[1 + floor(x.r1 * 6)::int],
       (array['calm', 'confused', 'frustrated', 'anxious', 'happy', 'curious'])[1 + floor(x.r2 * 6)::int],
       (array['template', 'scenario', 'edge_case'])[1 + floor(x.r3 * 3)::int],
       (array['approved', 'approved', 'approved', 'approved', 'approved', 'approved', 'pending_review',
              'generated', 'needs_revision', 'rejected', 'draft', 'failed'])[1 + floor(x.r4 * 12)::int],
       (array['billing', 'account', 'shipping', 'technical', 'onboarding', 'privacy', 'tutoring', 'sales'])
         [1:1 + floor(x.r5 * 3)::int],
       case when x.r6 < 0.1 then null else round((x.r6 * 10)::numeric, 1) end,
       case when x.r7 < 0.03 then jsonb_build_object('clarity', round((x.r7 * 300)::numeric, 1), 'notes', 'short, but clear: fine')
            when x.r7 < 0.05 then jsonb_build_object('clarity', 7.5, 'accuracy', null)
            else jsonb_build_object('clarity', round((x.r7 * 10)::numeric, 1), 'accuracy', round((x.r8 * 10)::numeric, 1),
                                    'tone', (array['warm', 'neutral', 'formal'])[1 + floor(x.r8 * 3)::int]) end,
       jsonb_build_array(jsonb_build_object('action', 'approved', 'performed_by', 'reviewer@example.com',
                                            'timestamp', '2026-01-02T10:00:00Z', 'comment', 'Clear, accurate')),
       timestamptz '2026-01-01 00:00:00+00' + make_interval(mins => g)
  from (select g, 1 + floor(random() * 18)::int as ti, random() as r1, random() as r2, random() as r3,
               random() as r4, random() as r5, random() as r6, random() as r7, random() as r8
          from generate_series(1, :conversations) g) x;

-- Eight turns each: user/assistant alternating; one conversation in ten opens with a system turn
-- (and so ends on a user turn, which the alpaca layout skips).
create temporary table picks as
select s / 8 + 1 as g, s % 8 + 1 as t, 1 + floor(random() * 2000)::int as k,
       1 + floor(random() * 800)::int as start, 200 + floor(random() * 1301)::int as len
  from generate_series(0, :conversations * 8 - 1) s;

insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
select md5('bench-conversation-' || p.g)::uuid, p.t,
       case when p.g % 10 = 0 and p.t = 1 then 'system'
            when (p.t + case when p.g % 10 = 0 then 1 else 0 end) % 2 = 1 then 'user'
            else 'assistant' end,
       substr(w.body, p.start, p.len),
       ceil(p.len / 4.0)::int
  from picks p
  join paragraphs w on w.k = p.k
 order by p.g, p.t;

do $$
declare
  shortest integer;
  longest integer;
begin
  select min(char_length(t.content)), max(char_length(t.content)) into shortest, longest
    from public.conversation_turns t
    join public.conversations c on c.id = t.conversation_id
   where c.user_id = current_setting('bench.owner')::uuid;
  if shortest < 200 or longest > 1500 then
    raise exception 'seeded turn lengths % to % are outside 200-1,500 characters', shortest, longest;
  end if;
end
$$;

vacuum analyze public.conversations;
vacuum analyze public.conversation_turns;
