// Case 4's load generator: autocannon (the project's pinned devDependency) with one connection per
// client, each connection signed in as its own user. The autocannon CLI sends one set of headers
// on every connection, so this drives its programmatic API, whose setupClient sets each
// connection's request. Closed loop: each connection sends its next request when the last is
// answered. Prints one JSON line: requests/s, latency percentiles (ms) and status code counts.
//
// Usage: node scripts/bench/api_load.mjs <spec.json>
//   spec: { url, seconds, clients: [{ method, path, headers, body }] }
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
let next = 0;
const result = await autocannon({
  url: spec.url,
  connections: spec.clients.length,
  duration: spec.seconds,
  pipelining: 1,
  timeout: 30,
  setupClient(client) {
    client.setRequests([spec.clients[next++ % spec.clients.length]]);
  },
});
const statusCodes = Object.fromEntries(
  Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count]),
);
const answered = Object.values(statusCodes).reduce((sum, count) => sum + count, 0);
console.log(JSON.stringify({
  requests: answered,
  seconds: result.duration,
  requestsPerSecond: answered / result.duration,
  latencyMs: {
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
  },
  statusCodes,
  errors: result.errors,
  timeouts: result.timeouts,
}));
