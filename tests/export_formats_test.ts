/**
 * Every format and training layout end to end: conversations made through SQL, the export
 * requested over HTTP, built by the workers, downloaded through its signed link, and checked
 * field by field with real parsers (JSON.parse, a real CSV parser, markdown structure).
 */
import assert from "node:assert/strict";
import { parse as parseCsv } from "csv-parse/sync";
import { createConversation, createUser, dbTest } from "./support/database.ts";
import { download, downloadText, exportAndWait, FILE_STORE } from "./support/exports.ts";
import { userToken } from "./support/tokens.ts";

const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

// Content that breaks naive writers: quotes, commas, every newline, tabs, non-ASCII, markdown.
const TRICKY = 'He said "hi", then left;\r\nline two\rline three\nend\ttab — café 😀';
const MARKDOWN_BREAKER = "## Not a heading\n---\n> not a quote";
const FORMULA_CELLS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tlead", "\rlead"];

interface Fixture {
  userId: string;
  token: string;
  ids: string[];
}

/** Two approved conversations (one with a system turn, a parent and review history) and a draft. */
async function fixture(): Promise<Fixture> {
  const userId = await createUser();
  const parent = await createConversation(userId, { status: "draft", title: "Parent template" });
  const first = await createConversation(userId, {
    title: 'Refund "quoted", with commas\nand a newline',
    persona: "frustrated customer",
    emotion: "angry",
    tier: "scenario",
    category: ["billing", "refunds"],
    quality_score: 8.5,
    quality_metrics: { clarity: 9 },
    parent_id: parent,
    parent_type: "template",
    review_history: [{ action: "approved", performed_by: "rev@example.com", timestamp: "2026-11-01T10:00:00Z", comment: "ok" }],
    created_at: "2026-01-01T00:00:00.123456Z",
    turns: [
      { role: "system", content: "You are helpful.", token_count: 4 },
      { role: "user", content: TRICKY, token_count: 20 },
      { role: "assistant", content: MARKDOWN_BREAKER, token_count: 10 },
      { role: "user", content: FORMULA_CELLS.join(" "), token_count: 6 },
      { role: "assistant", content: "x".repeat(300), token_count: 300 },
    ],
  });
  const second = await createConversation(userId, {
    title: null,
    tier: "edge_case",
    quality_score: 6,
    created_at: "2026-01-02T00:00:00Z",
    turns: [
      { role: "user", content: "Only a question?", token_count: 3 },
      { role: "assistant", content: "=HYPERLINK(\"x\")", token_count: 3 },
    ],
  });
  return { userId, token: await userToken(userId), ids: [first, second] };
}

// --- json -----------------------------------------------------------------------------------

dbTest("json export is one valid document with every field, metadata and summary", async () => {
  const { token, ids } = await fixture();
  const log = await exportAndWait(token, { format: "json", config: { includeApprovalHistory: true, includeParentReferences: true } });
  const document = JSON.parse(await downloadText(log));
  assert.equal(document.version, "1.0");
  assert.equal(document.export_id, log.export_id);
  assert.match(document.exported_at, ISO_MICROS);
  assert.equal(document.conversation_count, 2);
  assert.equal(document.conversations.length, 2);
  const [first, second] = document.conversations;
  assert.deepEqual(first.conversation_id, ids[0]);
  assert.equal(first.title, 'Refund "quoted", with commas\nand a newline');
  assert.equal(first.status, "approved");
  assert.equal(first.tier, "scenario");
  assert.deepEqual(first.turns.map((t: { turn_number: number }) => t.turn_number), [1, 2, 3, 4, 5]);
  assert.deepEqual(first.turns[1], { turn_number: 2, role: "user", content: TRICKY, token_count: 20 });
  assert.equal(first.turns[2].content, MARKDOWN_BREAKER);
  const m = first.metadata;
  assert.equal(m.conversation_id, ids[0]);
  assert.equal(m.persona, "frustrated customer");
  assert.equal(m.emotion, "angry");
  assert.deepEqual(m.category, ["billing", "refunds"]);
  assert.equal(m.turn_count, 5);
  assert.equal(m.total_tokens, 340);
  assert.equal(m.quality_score, 8.5);
  assert.deepEqual(m.quality_metrics, { clarity: 9 });
  assert.equal(m.created_at, "2026-01-01T00:00:00.123456Z");
  assert.match(m.updated_at, ISO_MICROS);
  assert.equal(m.review_history[0].action, "approved");
  assert.equal(typeof m.parent_id, "string");
  assert.equal(m.parent_type, "template");
  assert.equal(second.title, null);
  assert.equal(second.metadata.persona, null);
  assert.equal(document.summary.total_turns, 7);
  assert.equal(document.summary.total_tokens, 346);
  assert.equal(document.summary.average_quality_score, 7.25);
  assert.deepEqual(document.summary.tier_distribution, { scenario: 1, edge_case: 1 });
  assert.deepEqual(document.summary.status_distribution, { approved: 2 });
});

dbTest("json include flags change exactly their fields", async () => {
  const { token } = await fixture();
  const allOff = JSON.parse(await downloadText(await exportAndWait(token, {
    format: "json",
    config: { includeMetadata: false, includeQualityScores: false, includeTimestamps: false },
  })));
  assert.equal("metadata" in allOff.conversations[0], false);
  assert.equal("summary" in allOff, false);
  assert.deepEqual(Object.keys(allOff.conversations[0]).sort(), ["conversation_id", "status", "tier", "title", "turns"]);

  const base = ["category", "conversation_id", "emotion", "persona", "status", "tier", "title", "total_tokens", "turn_count"];
  const cases: [Record<string, boolean>, string[]][] = [
    [{ includeQualityScores: false, includeTimestamps: false }, base],
    [{ includeQualityScores: true, includeTimestamps: false }, [...base, "quality_metrics", "quality_score"]],
    [{ includeQualityScores: false, includeTimestamps: true }, [...base, "created_at", "updated_at"]],
    [{ includeQualityScores: false, includeTimestamps: false, includeApprovalHistory: true }, [...base, "review_history"]],
    [{ includeQualityScores: false, includeTimestamps: false, includeParentReferences: true }, [...base, "parent_id", "parent_type"]],
  ];
  for (const [flags, expected] of cases) {
    const document = JSON.parse(await downloadText(await exportAndWait(token, { format: "json", config: flags })));
    assert.deepEqual(Object.keys(document.conversations[0].metadata).sort(), expected.sort(), JSON.stringify(flags));
  }
});

dbTest("includeFullContent false cuts each turn to 200 code points; systemPrompt replaces system turns", async () => {
  const { token } = await fixture();
  const prompt = "Answer as a pirate. ".repeat(20);
  const document = JSON.parse(await downloadText(await exportAndWait(token, {
    format: "json",
    config: { includeFullContent: false, systemPrompt: prompt },
  })));
  const turns = document.conversations[0].turns;
  assert.deepEqual(turns[0], { turn_number: 0, role: "system", content: prompt, token_count: null });
  assert.equal(turns.filter((t: { role: string }) => t.role === "system").length, 1, "own system turn replaced");
  assert.equal(turns.at(-1).content, "x".repeat(200));
  assert.equal(document.conversations[0].metadata.turn_count, 5, "the prompt is not counted");
  assert.equal(document.conversations[1].turns[0].content, prompt);
});

// --- jsonl ----------------------------------------------------------------------------------

function jsonLines(text: string) {
  assert.ok(text.endsWith("\n"));
  return text.slice(0, -1).split("\n").map((line) => JSON.parse(line));
}

dbTest("jsonl openai: one messages line per conversation, metadata with includeMetadata", async () => {
  const { token, ids } = await fixture();
  const lines = jsonLines(await downloadText(await exportAndWait(token, { format: "jsonl" })));
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[0].messages.slice(0, 2), [
    { role: "system", content: "You are helpful." },
    { role: "user", content: TRICKY },
  ]);
  assert.equal(lines[0].metadata.conversation_id, ids[0]);
  assert.deepEqual(Object.keys(lines[1]).sort(), ["messages", "metadata"]);
  const bare = jsonLines(await downloadText(await exportAndWait(token, { format: "jsonl", config: { includeMetadata: false } })));
  assert.deepEqual(Object.keys(bare[0]), ["messages"]);
});

dbTest("jsonl sharegpt: from system/human/gpt with value", async () => {
  const { token } = await fixture();
  const lines = jsonLines(await downloadText(await exportAndWait(token, {
    format: "jsonl",
    config: { template: "sharegpt", includeMetadata: false, systemPrompt: "Be brief." },
  })));
  assert.deepEqual(lines[0].conversations.map((t: { from: string }) => t.from), ["system", "human", "gpt", "human", "gpt"]);
  assert.deepEqual(lines[0].conversations[0], { from: "system", value: "Be brief." });
  assert.deepEqual(lines[1].conversations, [
    { from: "system", value: "Be brief." },
    { from: "human", value: "Only a question?" },
    { from: "gpt", value: "=HYPERLINK(\"x\")" },
  ]);
});

dbTest("jsonl alpaca: instruction/output from the last pair, history of earlier pairs, skipped counted", async () => {
  const { userId, token } = await fixture();
  await createConversation(userId, {
    title: "ends with a user turn",
    created_at: "2026-01-03T00:00:00Z",
    turns: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "user", content: "c" }],
  });
  const log = await exportAndWait(token, { format: "jsonl", config: { template: "alpaca", includeMetadata: false } });
  assert.equal(log.skipped, 1);
  assert.equal(log.error_message, null);
  assert.equal(log.conversation_count, 3);
  const lines = jsonLines(await downloadText(log));
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[0], {
    instruction: FORMULA_CELLS.join(" "),
    input: "",
    output: "x".repeat(300),
    system: "You are helpful.",
    history: [[TRICKY, MARKDOWN_BREAKER]],
  });
  assert.deepEqual(lines[1], { instruction: "Only a question?", input: "", output: "=HYPERLINK(\"x\")", system: "", history: [] });
});

// --- csv ------------------------------------------------------------------------------------

const CSV_BASE = ["conversation_id", "title", "status", "tier", "turn_number", "role", "content", "token_count"];

dbTest("csv: BOM, CRLF, every field quoted, and a real parser reads every value back", async () => {
  const { token, ids } = await fixture();
  const log = await exportAndWait(token, {
    format: "csv",
    config: { includeParentReferences: true, csvFormulaEscape: false },
  });
  const { bytes } = await download(log);
  assert.deepEqual([...bytes.slice(0, 3)], [0xef, 0xbb, 0xbf]);
  const text = new TextDecoder().decode(bytes);
  assert.ok(text.endsWith("\r\n"));
  const rows: string[][] = parseCsv(text, { bom: true, relax_quotes: false });
  assert.deepEqual(rows[0], [
    ...CSV_BASE, "quality_score", "persona", "emotion", "category", "created_at", "updated_at", "parent_id", "parent_type",
  ]);
  assert.equal(rows.length, 1 + 5 + 2);
  const user = rows[2];
  assert.equal(user[0], ids[0]);
  assert.equal(user[1], 'Refund "quoted", with commas\nand a newline');
  assert.equal(user[4], "2");
  assert.equal(user[5], "user");
  assert.equal(user[6], TRICKY);
  assert.equal(user[7], "20");
  assert.equal(user[8], "8.5");
  assert.equal(user[11], "billing; refunds");
  assert.equal(user[12], "2026-01-01T00:00:00.123456Z");
  assert.equal(user[15], "template");
  assert.equal(rows[4][6], FORMULA_CELLS.join(" "), "kept verbatim with csvFormulaEscape false");
  assert.equal(rows[7][1], "", "a null title is an empty field");
  // Every field is quoted: the header line is exactly the quoted column names.
  assert.ok(text.startsWith('"conversation_id","title","status"'), "(the decoder drops the BOM)");
});

dbTest("csv flags add only their own columns; formula cells are neutralized when escaping", async () => {
  const { userId, token } = await fixture();
  const noTurns = await createConversation(userId, { title: "=cmd|' /C calc'!A0", created_at: "2026-01-05T00:00:00Z", turns: [] });
  const escaped = parseCsv(await downloadText(await exportAndWait(token, {
    format: "csv",
    config: { includeMetadata: false, includeQualityScores: false, includeTimestamps: false },
  })), { bom: true });
  assert.deepEqual(escaped[0], CSV_BASE);
  const empty = escaped.find((row: string[]) => row[0] === noTurns);
  assert.deepEqual(empty, [noTurns, "'=cmd|' /C calc'!A0", "approved", "template", "", "", "", ""]);
  assert.equal(escaped.find((row: string[]) => row[6].includes("HYPERLINK"))?.[6], "'=HYPERLINK(\"x\")");
  const onlyQuality = parseCsv(await downloadText(await exportAndWait(token, {
    format: "csv",
    config: { includeMetadata: false, includeTimestamps: false },
  })), { bom: true });
  assert.deepEqual(onlyQuality[0], [...CSV_BASE, "quality_score"]);
  const onlyTimes = parseCsv(await downloadText(await exportAndWait(token, {
    format: "csv",
    config: { includeMetadata: false, includeQualityScores: false },
  })), { bom: true });
  assert.deepEqual(onlyTimes[0], [...CSV_BASE, "created_at", "updated_at"]);
});

dbTest("csv formula escape prefixes a quote to =, +, -, @, tab and CR cells and nothing else", async () => {
  const userId = await createUser();
  await createConversation(userId, {
    title: "plain",
    turns: [...FORMULA_CELLS, "safe = text"].map((content) => ({ role: "user" as const, content })),
  });
  const token = await userToken(userId);
  const on = parseCsv(await downloadText(await exportAndWait(token, { format: "csv", config: { includeMetadata: false } })), { bom: true });
  assert.deepEqual(on.slice(1).map((row: string[]) => row[6]), [...FORMULA_CELLS.map((c) => `'${c}`), "safe = text"]);
  const off = parseCsv(await downloadText(await exportAndWait(token, { format: "csv", config: { includeMetadata: false, csvFormulaEscape: false } })), { bom: true });
  assert.deepEqual(off.slice(1).map((row: string[]) => row[6]), [...FORMULA_CELLS, "safe = text"]);
});

// --- markdown -------------------------------------------------------------------------------

dbTest("markdown: headings per conversation, blockquoted turns that cannot break the structure", async () => {
  const { token } = await fixture();
  const log = await exportAndWait(token, { format: "markdown" });
  const text = await downloadText(log);
  const lines = text.split("\n");
  assert.equal(lines[0], "# Training conversations export");
  assert.ok(text.includes(log.export_id));
  const headings = lines.filter((line) => line.startsWith("## "));
  assert.deepEqual(headings, ['## Refund "quoted", with commas and a newline', "## Untitled"]);
  assert.equal(lines.filter((line) => line === "### Dialogue").length, 2);
  assert.equal(lines.filter((line) => line === "---").length, 1, "one separator between two conversations");
  // Every line after a speaker label, up to the next blank line, is inside the blockquote.
  const breaker = lines.findIndex((line) => line.includes("Not a heading"));
  assert.equal(lines[breaker], "> ## Not a heading");
  assert.equal(lines[breaker + 1], "> ---");
  for (const label of ["**System:**", "**User:**", "**Assistant:**"]) assert.ok(lines.includes(label), label);
  assert.ok(lines.includes("> line two") && lines.includes("> line three"), "CR, LF and CRLF all split lines");
  assert.ok(text.includes("frustrated customer"), "metadata bullets with includeMetadata");
  const bare = await downloadText(await exportAndWait(token, { format: "markdown", config: { includeMetadata: false } }));
  assert.ok(!bare.includes("frustrated customer"));
});

// --- the file as downloaded ---------------------------------------------------------------

dbTest("download headers match the contract; file_size is the byte count; repeats are identical", async () => {
  const { token } = await fixture();
  for (const [format, type, ext] of [
    ["json", "application/json", "json"],
    ["jsonl", "application/x-ndjson", "jsonl"],
    ["csv", "text/csv; charset=utf-8", "csv"],
    ["markdown", "text/markdown; charset=utf-8", "md"],
  ]) {
    const log = await exportAndWait(token, { format });
    const first = await download(log);
    assert.equal(first.response.status, 200);
    assert.equal(first.bytes.byteLength, log.file_size, format);
    assert.equal(first.response.headers.get("content-length"), String(log.file_size));
    assert.equal(first.response.headers.get("content-type"), type);
    assert.equal(first.response.headers.get("content-disposition"), `attachment; filename="export-${log.export_id}.${ext}"`);
    assert.equal(first.response.headers.get("accept-ranges"), "bytes");
    if (FILE_STORE === "postgres") {
      assert.match(first.response.headers.get("etag") ?? "", /^"[0-9a-f]{64}"$/);
      assert.equal(first.response.headers.get("cache-control"), "private, no-store");
      assert.equal(first.response.headers.get("x-content-type-options"), "nosniff");
      assert.equal(first.response.headers.get("referrer-policy"), "no-referrer");
    } else {
      // The store's own strong ETag; the function's redirect carries the caching headers.
      assert.match(first.response.headers.get("etag") ?? "", /^"[^"]+"$/);
      const redirect = await fetch(log.file_url, { redirect: "manual" });
      await redirect.body?.cancel();
      assert.equal(redirect.status, 302);
      assert.equal(redirect.headers.get("cache-control"), "private, no-store");
      assert.equal(redirect.headers.get("referrer-policy"), "no-referrer");
    }
    const again = await download(log);
    assert.deepEqual(again.bytes, first.bytes);
    assert.equal(again.response.headers.get("etag"), first.response.headers.get("etag"));
    assert.equal(log.progress.processed, log.progress.total);
    assert.match(log.expires_at, ISO_MICROS);
  }
});
