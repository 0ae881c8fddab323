/**
 * Case 4 at one size of export_logs (`small` or `large`): 16 concurrent clients, each its own
 * user, on loopback through the functions server, for each endpoint in turn — the baseline
 * (GET of an export id that does not exist: authentication plus one indexed SELECT as the user,
 * answered 404), list page 1 (limit 25) without and with a status filter, get one, and create
 * (selected scope of 10 ids). Processing stays paused, so created exports stay queued and
 * nothing else runs; they are deleted afterwards, so both sizes list the same rows.
 * Writes results/api-<size>.json.
 */
import { userToken } from "../../tests/support/tokens.ts";
import { currentSizes, env } from "./config.ts";
import { benchSql, closeBenchSql } from "./db.ts";
import { type ClientRequest, loadGenerator, type LoadResult } from "./http_load.ts";
import { setPaused } from "./generation.ts";
import { progress, writeResult } from "./results.ts";

const size = Deno.args[0];
if (size !== "small" && size !== "large") throw new Error("Usage: api_case.ts small|large");
const sizes = currentSizes();
const CLIENTS = 16;

const sql = benchSql();
const load = await loadGenerator(sql);
const users = await sql<{ id: string; export_id: string; conversation_ids: string[] }[]>`
  select u.id,
         (select l.export_id from public.export_logs l
           where l.user_id = u.id and l.status = 'completed'
           order by l."timestamp" desc limit 1) as export_id,
         (select array_agg(c.id order by c.created_at) from public.conversations c
           where c.user_id = u.id) as conversation_ids
    from (select md5('bench-user-' || n)::uuid as id from generate_series(1, ${CLIENTS}) n) u`;
const [{ rows }] = await sql<
  { rows: number }[]
>`select count(*)::integer as rows from public.export_logs`;
const tokens = await Promise.all(users.map((user) => userToken(user.id, { expiresIn: 3600 })));
const base = "/functions/v1/exports";
const auth = (i: number) => ({ authorization: `Bearer ${tokens[i]}` });

const endpoints: { name: string; status: number; request: (i: number) => ClientRequest }[] = [
  {
    name: "baseline: auth + one select as the user (GET of a missing id, 404)",
    status: 404,
    request: (i) => ({ method: "GET", path: `${base}/${crypto.randomUUID()}`, headers: auth(i) }),
  },
  {
    name: "list page 1, limit 25",
    status: 200,
    request: (i) => ({ method: "GET", path: `${base}?page=1&limit=25`, headers: auth(i) }),
  },
  {
    name: "list page 1, limit 25, status=completed",
    status: 200,
    request: (i) => ({
      method: "GET",
      path: `${base}?status=completed&page=1&limit=25`,
      headers: auth(i),
    }),
  },
  {
    name: "get one",
    status: 200,
    request: (i) => ({ method: "GET", path: `${base}/${users[i].export_id}`, headers: auth(i) }),
  },
  {
    name: "create (selected, 10 ids)",
    status: 202,
    request: (i) => ({
      method: "POST",
      path: base,
      headers: { ...auth(i), "content-type": "application/json" },
      body: JSON.stringify({
        format: "jsonl",
        config: { scope: "selected", conversationIds: users[i].conversation_ids },
      }),
    }),
  },
];

await setPaused(true);
const [{ before }] = await sql<{ before: string }[]>`select now()::text as before`;
const clientRequests = (make: (i: number) => ClientRequest) =>
  Array.from({ length: CLIENTS }, (_, i) => make(i));
// Warm-up: JIT, connection pools and the user cache, not measured.
await load(clientRequests(endpoints[1].request), sizes.apiWarmupSeconds, 200);
// Rounds interleave the endpoints, so a slow spell of the shared machine hits them alike.
const rounds: (LoadResult & { name: string })[][] = [];
for (let round = 1; round <= sizes.apiRounds; round++) {
  const results: (LoadResult & { name: string })[] = [];
  for (const endpoint of endpoints) {
    progress(
      `case 4 (${rows.toLocaleString("en")} export_logs rows, round ${round}): ${endpoint.name}`,
    );
    const result = await load(clientRequests(endpoint.request), sizes.apiSeconds, endpoint.status);
    progress(
      `  ${
        result.requestsPerSecond.toFixed(0)
      } requests/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms`,
    );
    results.push({ name: endpoint.name, ...result });
  }
  rounds.push(results);
}
/** All rounds of one endpoint together: requests over seconds; latencies averaged over rounds. */
function combine(name: string) {
  const runs = rounds.map((round) => round.find((r) => r.name === name)!);
  const mean = (pick: (r: LoadResult) => number) =>
    runs.reduce((sum, r) => sum + pick(r), 0) / runs.length;
  const requests = runs.reduce((sum, r) => sum + r.requests, 0);
  const seconds = runs.reduce((sum, r) => sum + r.seconds, 0);
  return {
    name,
    requests,
    seconds,
    requestsPerSecond: requests / seconds,
    latencyMs: {
      p50: mean((r) => r.latencyMs.p50),
      p90: mean((r) => r.latencyMs.p90),
      p99: mean((r) => r.latencyMs.p99),
      max: Math.max(...runs.map((r) => r.latencyMs.max)),
    },
    cpuMsPerRequest: {
      exportsFunction: mean((r) => r.cpuMsPerRequest.exportsFunction),
      functionsProxy: mean((r) => r.cpuMsPerRequest.functionsProxy),
      postgres: mean((r) => r.cpuMsPerRequest.postgres),
    },
  };
}
const created = await sql`
  delete from public.export_logs
   where user_id in (select md5('bench-user-' || n)::uuid from generate_series(1, ${CLIENTS}) n)
     and "timestamp" >= ${before}::timestamptz`;
await sql`delete from exports_internal.export_requests`;
await sql`vacuum analyze public.export_logs, exports_internal.export_jobs, exports_internal.export_members`;
await setPaused(false);
await writeResult(`api-${size}`, {
  size,
  rows,
  clients: CLIENTS,
  createdAndDeleted: created.count,
  endpoints: endpoints.map((e) => combine(e.name)),
  rounds,
});
await closeBenchSql();
