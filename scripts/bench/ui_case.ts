/**
 * Case 8, what the web UI costs the API (issue 13), through the functions server with 16
 * concurrent clients:
 * - POST /exports/preview (jsonl, page 1 of 25) over the owner's 100,000 conversations vs over
 *   their first 1,000 (the same query with a createdTo bound): its cost must stay bounded as the
 *   membership grows;
 * - GET /exports?page=1&limit=25 with If-None-Match of its current ETag (answered 304) vs the
 *   full list (200), for the users of the export_logs table (100 exports each);
 * - the built app's size: web/dist's JavaScript and CSS, gzipped.
 * Writes results/ui.json.
 */
import { gzipSync } from "node:zlib";
import { ConversationStatusSchema } from "../../shared/domain/export_config.ts";
import { userToken } from "../../tests/support/tokens.ts";
import { CONVERSATION_EPOCH_MS, currentSizes, env } from "./config.ts";
import { benchSql, closeBenchSql } from "./db.ts";
import { type ClientRequest, loadGenerator, type LoadResult } from "./http_load.ts";
import { progress, writeResult } from "./results.ts";

const CLIENTS = 16;
const OWNER = "00000000-0000-4000-8000-0000000be4c1";
const SMALL_MEMBERSHIP = 1_000;
const sizes = currentSizes();
const sql = benchSql();
const load = await loadGenerator(sql);
const base = "/functions/v1/exports";

// --- preview at two membership sizes -------------------------------------------------------
const ownerToken = await userToken(OWNER, { expiresIn: 3600 });
const statuses = ConversationStatusSchema.options;
const previewBody = (createdTo?: string) =>
  JSON.stringify({
    format: "jsonl",
    config: { scope: "filtered", filters: createdTo ? { statuses, createdTo } : { statuses } },
  });
const previews = [
  { name: "all", body: previewBody() },
  {
    name: "first 1,000",
    body: previewBody(new Date(CONVERSATION_EPOCH_MS + SMALL_MEMBERSHIP * 60_000).toISOString()),
  },
];
const memberships: Record<string, number> = {};
for (const preview of previews) {
  const response = await fetch(`${env("SUPABASE_URL")}${base}/preview`, {
    method: "POST",
    headers: { authorization: `Bearer ${ownerToken}`, "content-type": "application/json" },
    body: preview.body,
  });
  const answer = await response.json();
  if (response.status !== 200) throw new Error(`preview: ${JSON.stringify(answer)}`);
  memberships[preview.name] = answer.conversation_count;
}
if (memberships["first 1,000"] !== SMALL_MEMBERSHIP) {
  throw new Error(`The small preview has ${memberships["first 1,000"]} members`);
}

// --- list polling: 304 vs 200 ---------------------------------------------------------------
const users = await sql<{ id: string }[]>`
  select md5('bench-user-' || n)::uuid as id from generate_series(1, ${CLIENTS}) n`;
const tokens = await Promise.all(users.map((user) => userToken(user.id, { expiresIn: 3600 })));
const listPath = `${base}?page=1&limit=25`;
const etags = await Promise.all(tokens.map(async (token) => {
  const response = await fetch(`${env("SUPABASE_URL")}${listPath}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await response.body?.cancel();
  return response.headers.get("etag") ?? "";
}));

const runs: { name: string; status: number; request: (i: number) => ClientRequest }[] = [
  ...previews.map((preview) => ({
    name: `preview, ${memberships[preview.name].toLocaleString("en")} members`,
    status: 200,
    request: (): ClientRequest => ({
      method: "POST",
      path: `${base}/preview`,
      headers: { authorization: `Bearer ${ownerToken}`, "content-type": "application/json" },
      body: preview.body,
    }),
  })),
  {
    name: "list page 1, limit 25 (200)",
    status: 200,
    request: (i) => ({
      method: "GET",
      path: listPath,
      headers: { authorization: `Bearer ${tokens[i]}` },
    }),
  },
  {
    name: "list page 1, limit 25, If-None-Match (304)",
    status: 304,
    request: (i) => ({
      method: "GET",
      path: listPath,
      headers: { authorization: `Bearer ${tokens[i]}`, "if-none-match": etags[i] },
    }),
  },
];

const clients = (make: (i: number) => ClientRequest) =>
  Array.from({ length: CLIENTS }, (_, i) => make(i));
await load(clients(runs[0].request), sizes.apiWarmupSeconds, 200);
// Rounds interleave the runs, so a slow spell of the shared machine hits them alike.
const totals = new Map<string, { requests: number; seconds: number; p50: number[] }>();
for (let round = 1; round <= sizes.apiRounds; round++) {
  for (const run of runs) {
    progress(`case 8 (round ${round}): ${run.name}`);
    const result: LoadResult = await load(clients(run.request), sizes.apiSeconds, run.status);
    progress(`  ${result.requestsPerSecond.toFixed(0)} requests/s, p50 ${result.latencyMs.p50} ms`);
    const total = totals.get(run.name) ?? { requests: 0, seconds: 0, p50: [] };
    total.requests += result.requests;
    total.seconds += result.seconds;
    total.p50.push(result.latencyMs.p50);
    totals.set(run.name, total);
  }
}

// --- the built app ----------------------------------------------------------------------------
const assets = new URL("../../web/dist/assets/", import.meta.url);
let rawBytes = 0;
let gzipBytes = 0;
for await (const entry of Deno.readDir(assets)) {
  if (!/\.(js|css)$/.test(entry.name)) continue;
  const bytes = await Deno.readFile(new URL(entry.name, assets));
  rawBytes += bytes.length;
  gzipBytes += gzipSync(bytes, { level: 9 }).length;
}

await writeResult("ui", {
  clients: CLIENTS,
  memberships,
  runs: runs.map((run) => {
    const total = totals.get(run.name)!;
    return {
      name: run.name,
      requestsPerSecond: total.requests / total.seconds,
      p50Ms: total.p50.reduce((a, b) => a + b, 0) / total.p50.length,
    };
  }),
  app: { rawBytes, gzipBytes },
});
await closeBenchSql();
