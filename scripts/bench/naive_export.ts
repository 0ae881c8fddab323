/**
 * Case 6's peer: an export built the way typical applications build one — every conversation
 * and turn fetched into the process with postgres.js, the file built as one string, then
 * written — here the jsonl openai layout with metadata, as case 1's jsonl export. Prints one
 * JSON line: finished or not (and why, after how many conversations), time, bytes and this
 * process's peak resident memory. A crash (out of memory) prints nothing; the parent watches.
 *
 * Usage: deno run -A scripts/bench/naive_export.ts <conversations> <output file>
 */
import { createSql } from "../../shared/database/db.ts";
import { CONVERSATION_EPOCH_MS, env, OWNER_ID } from "./config.ts";
import { ownPeakRss } from "./rss.ts";

const conversations = Number(Deno.args[0]);
const outputPath = Deno.args[1];
const createdTo = new Date(CONVERSATION_EPOCH_MS + conversations * 60_000).toISOString();
const sql = createSql(env("SUPABASE_DB_URL"), { max: 1, applicationName: "bench-naive-export" });

const started = performance.now();
let built = 0;
let file = "";
try {
  const rows = await sql`
    select * from public.conversations
     where user_id = ${OWNER_ID} and created_at <= ${createdTo}
     order by created_at, id`;
  const turns = await sql<{ conversation_id: string; role: string; content: string }[]>`
    select t.conversation_id, t.role, t.content
      from public.conversation_turns t
      join public.conversations c on c.id = t.conversation_id
     where c.user_id = ${OWNER_ID} and c.created_at <= ${createdTo}
     order by t.conversation_id, t.turn_number`;
  const turnsOf = new Map<string, { role: string; content: string }[]>();
  for (const turn of turns) {
    const list = turnsOf.get(turn.conversation_id) ?? [];
    list.push({ role: turn.role, content: turn.content });
    turnsOf.set(turn.conversation_id, list);
  }
  for (const c of rows) {
    file += JSON.stringify({
      messages: turnsOf.get(c.id) ?? [],
      metadata: {
        conversation_id: c.id,
        title: c.title,
        tier: c.tier,
        status: c.status,
        persona: c.persona,
        emotion: c.emotion,
        category: c.category,
        turn_count: c.turn_count,
        total_tokens: c.total_tokens,
        quality_score: c.quality_score === null ? null : Number(c.quality_score),
        quality_metrics: c.quality_metrics,
        created_at: c.created_at,
        updated_at: c.updated_at,
      },
    }) + "\n";
    built++;
  }
  await Deno.writeTextFile(outputPath, file);
  const bytes = (await Deno.stat(outputPath)).size;
  console.log(JSON.stringify({
    finished: true,
    elapsedMs: performance.now() - started,
    conversations: built,
    bytes,
    peakRssBytes: ownPeakRss(),
  }));
} catch (error) {
  console.log(JSON.stringify({
    finished: false,
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    elapsedMs: performance.now() - started,
    conversations: built,
    characters: file.length,
    peakRssBytes: ownPeakRss(),
  }));
} finally {
  await sql.end({ timeout: 5 });
}
