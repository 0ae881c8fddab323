/**
 * Demo data for `npm start`: a demo user with ~200 realistic conversations across tiers,
 * statuses and categories (created once; running again changes nothing), then prints a token
 * for that user and ready-to-run examples. Reads .env.local's settings from the environment.
 */
import { SignJWT } from "jose";
import { createSql } from "../shared/database/db.ts";

const DEMO_USER_ID = "00000000-0000-4000-8000-00000000de70";
const DEMO_EMAIL = "demo@example.com";
const CONVERSATIONS = 200;

const url = Deno.env.get("SUPABASE_DB_URL");
const secret = Deno.env.get("EXPORTS_JWT_SECRET");
const baseUrl = Deno.env.get("SUPABASE_URL") ?? "http://127.0.0.1:54321";
if (!url || !secret) throw new Error("SUPABASE_DB_URL and EXPORTS_JWT_SECRET must be set (see .env.local)");

// A small deterministic generator, so every machine gets the same demo data.
let state = 20261128;
function random(): number {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state / 2147483648;
}
function pick<T>(items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

const TOPICS = [
  { category: "billing", title: "Refund for a double charge", ask: "I was charged twice for my subscription this month.", answer: "I'm sorry about that. I can see two charges on the 3rd; I've refunded the duplicate, and it will reach your card in 3–5 business days." },
  { category: "account", title: "Locked out after password reset", ask: "I reset my password and now it says my account is locked.", answer: "After five failed attempts we lock the account for 15 minutes. I've unlocked it now; try signing in with the new password." },
  { category: "shipping", title: "Parcel stuck in transit", ask: "My order hasn't moved from \"in transit\" for a week.", answer: "The carrier flagged a sorting delay at the depot. I've opened a trace; if it doesn't move in 48 hours we'll ship a replacement." },
  { category: "technical", title: "App crashes on launch", ask: "Since the update the app closes as soon as I open it.", answer: "Version 4.2.0 had a bug with older cached data. Clearing the app cache (Settings → Storage → Clear cache) fixes it; 4.2.1 is rolling out today." },
  { category: "onboarding", title: "Importing contacts from a CSV", ask: "How do I import my contacts? I have them in a spreadsheet.", answer: "Export the sheet as CSV with the columns name, email, phone, then use Contacts → Import. Quoted fields like \"Smith, Jr.\" are fine." },
  { category: "billing", title: "Invoice in euros", ask: "Can I get my invoices in € instead of $?", answer: "Yes: Billing → Currency → EUR. Future invoices will be in euros; past ones stay as issued." },
  { category: "privacy", title: "Deleting my data", ask: "I want all my data deleted. How?", answer: "Settings → Privacy → Delete account removes everything within 30 days. You'll get a confirmation e-mail first." },
] as const;
const PERSONAS = ["first-time customer", "power user", "small-business owner", "frustrated customer", "developer"];
const EMOTIONS = ["calm", "confused", "frustrated", "anxious", "happy"];
const TIERS = ["template", "scenario", "edge_case"] as const;
const STATUSES = ["approved", "approved", "approved", "pending_review", "generated", "needs_revision", "rejected", "draft"];

const sql = createSql(url, { max: 2, applicationName: "seed-demo" });
try {
  await sql`
    insert into auth.users (id, aud, role, email)
    values (${DEMO_USER_ID}, 'authenticated', 'authenticated', ${DEMO_EMAIL})
    on conflict (id) do nothing`;
  const [{ existing }] = await sql<{ existing: number }[]>`
    select count(*)::integer as existing from public.conversations where user_id = ${DEMO_USER_ID}`;
  if (existing === 0) {
    await sql.begin(async (tx) => {
      for (let i = 0; i < CONVERSATIONS; i++) {
        const topic = pick(TOPICS);
        const status = pick(STATUSES);
        const score = status === "draft" ? null : Math.round((5 + random() * 5) * 10) / 10;
        const [{ id }] = await tx<{ id: string }[]>`
          insert into public.conversations
            (user_id, title, persona, emotion, tier, status, category, quality_score, review_history, created_at)
          values (${DEMO_USER_ID}, ${`${topic.title} #${i + 1}`}, ${pick(PERSONAS)}, ${pick(EMOTIONS)},
                  ${pick(TIERS)}, ${status}, ${[topic.category]}::text[], ${score},
                  ${tx.json((status === "approved" ? [{ action: "approved", performed_by: "reviewer@example.com", timestamp: "2026-11-01T10:00:00Z", comment: "Clear and accurate" }] : []) as never)},
                  now() - make_interval(mins => ${CONVERSATIONS - i}))
          returning id`;
        const turns = [
          ["system", "You are a concise, friendly support agent."],
          ["user", topic.ask],
          ["assistant", topic.answer],
          ["user", "Thanks! Anything else I should know?"],
          ["assistant", "That's all. If anything else comes up, just reply here — we're happy to help."],
        ];
        for (const [index, [role, content]] of turns.entries()) {
          await tx`insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
                   values (${id}, ${index + 1}, ${role}, ${content}, ${Math.ceil(content.length / 4)})`;
        }
      }
    });
  }
  const [{ approved }] = await sql<{ approved: number }[]>`
    select count(*)::integer as approved from public.conversations
     where user_id = ${DEMO_USER_ID} and status = 'approved'`;
  const token = await new SignJWT({ role: "authenticated", aud: "authenticated", email: DEMO_EMAIL })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(DEMO_USER_ID)
    .setIssuedAt()
    .setExpirationTime("7d")
    .sign(new TextEncoder().encode(secret));
  const api = `${baseUrl}/functions/v1/exports`;
  // `deno` is not on PATH on a fresh machine: npx runs the project's own (node_modules/.bin).
  // --url is explicit so a SUPABASE_URL left in the user's shell cannot redirect the line.
  const cliLine = `EXPORTS_TOKEN=${token} npx deno task export create --format jsonl --wait --out demo.jsonl --url ${baseUrl}`;
  const webUrl = Deno.env.get("WEB_URL");
  // The token travels in the fragment, which no server sees; the app moves it out at once.
  const signIn = webUrl ? `\nOpen the web UI, signed in as the demo user:\n\n  ${webUrl}/#access_token=${token}\n` : "";
  console.log(`
The local stack is up.
${signIn}
  API            ${api}
  Database       ${url}
  Settings       .env.local (SUPABASE_URL, SUPABASE_DB_URL, SUPABASE_ANON_KEY, EXPORTS_*)
  Demo user      ${DEMO_EMAIL} (${DEMO_USER_ID}): ${CONVERSATIONS} conversations, ${approved} approved

Export the demo user's approved conversations to demo.jsonl, in one line, with the CLI:

  ${cliLine}

A token for the demo user (valid 7 days), for the CLI (npx deno task export --help) and curl:

  export EXPORTS_TOKEN=${token}

Request an export of the approved conversations and wait for it:

  curl -s -X POST ${api} -H "Authorization: Bearer $EXPORTS_TOKEN" \\
       -H 'Content-Type: application/json' -H 'Prefer: wait=10' -d '{"format":"jsonl"}'

Then download it with the returned file_url:  curl -o demo.jsonl "<file_url>"

Stop everything with: npm run stop
`);
} finally {
  await sql.end({ timeout: 5 });
}
