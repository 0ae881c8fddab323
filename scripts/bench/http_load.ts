/**
 * Load through the functions server for the API cases (4 and 8): autocannon (api_load.mjs) with
 * one connection per client, each signed in as its own user, and the CPU each process of the
 * path spent per request (the exports function, the functions server's proxy, Postgres).
 */
import type { Sql } from "../../shared/database/db.ts";
import { env } from "./config.ts";
import { clusterCpuSeconds, parentPid, processCpuSeconds } from "./cpu.ts";
import { findDenoProcess } from "./rss.ts";

/** One autocannon run's figures. */
export interface LoadResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  /** CPU milliseconds per request in each process of the path (the load generator aside). */
  cpuMsPerRequest: { exportsFunction: number; functionsProxy: number; postgres: number };
}

/** One client's request, repeated for the whole run. */
export interface ClientRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * A load generator for this run's functions server: `load(clients, seconds, status)` runs the
 * clients' requests for that long and fails unless every answer has that status.
 */
export async function loadGenerator(sql: Sql) {
  const [{ backend }] = await sql<{ backend: number }[]>`select pg_backend_pid() as backend`;
  const postmasterPid = parentPid(backend);
  const serverPid = Number(env("BENCH_FUNCTIONS_SERVER_PID"));
  const exportsPid = findDenoProcess(serverPid, "functions/exports/index.ts")!;
  const proxyPid = findDenoProcess(serverPid, "scripts/functions_server.ts")!;
  const cpuNow = () => ({
    exportsFunction: processCpuSeconds(exportsPid),
    functionsProxy: processCpuSeconds(proxyPid),
    postgres: clusterCpuSeconds(postmasterPid),
  });
  return (clients: ClientRequest[], seconds: number, expectedStatus: number) =>
    load(clients, seconds, expectedStatus, cpuNow);
}

async function load(
  clients: ClientRequest[],
  seconds: number,
  expectedStatus: number,
  cpuNow: () => Record<keyof LoadResult["cpuMsPerRequest"], number>,
): Promise<LoadResult> {
  const specPath = `${env("BENCH_RESULTS_DIR")}/load-spec.json`;
  await Deno.writeTextFile(
    specPath,
    JSON.stringify({ url: env("SUPABASE_URL"), seconds, clients }),
  );
  const cpuBefore = cpuNow();
  const output = await new Deno.Command("node", {
    args: [new URL("./api_load.mjs", import.meta.url).pathname, specPath],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`The load generator failed (${output.code})`);
  const cpuAfter = cpuNow();
  const result = JSON.parse(new TextDecoder().decode(output.stdout)) as LoadResult;
  const perRequest = (key: keyof typeof cpuBefore) =>
    ((cpuAfter[key] - cpuBefore[key]) * 1000) / result.requests;
  result.cpuMsPerRequest = {
    exportsFunction: perRequest("exportsFunction"),
    functionsProxy: perRequest("functionsProxy"),
    postgres: perRequest("postgres"),
  };
  const unexpected = Object.keys(result.statusCodes).filter((code) =>
    Number(code) !== expectedStatus
  );
  if (unexpected.length > 0 || result.errors > 0 || result.requests === 0) {
    throw new Error(`Expected only ${expectedStatus}, got ${JSON.stringify(result)}`);
  }
  return result;
}
