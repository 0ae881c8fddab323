/**
 * The local functions server: serves every function in functions/ under
 * http://127.0.0.1:<port>/functions/v1/<name>, as the Supabase edge runtime does. Each function
 * runs its own index.ts in its own Deno process (so `Deno.serve` in index.ts is the real entry
 * point) on an internal loopback port; this server strips `/functions/v1` and streams requests
 * and responses through, bodies never held whole. A function process that dies is restarted.
 *
 * Usage: deno run -A scripts/functions_server.ts [--port 54321]
 * The functions get this process's environment (SUPABASE_DB_URL, EXPORTS_*, …).
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({ args: Deno.args, options: { port: { type: "string" } } });
const port = Number(values.port ?? Deno.env.get("FUNCTIONS_PORT") ?? 54321);
const functionsDir = new URL("../functions/", import.meta.url);
const denoBinary = Deno.execPath();
const FUNCTION_HEAP_MB = 150;

interface FunctionProcess {
  name: string;
  port: number;
  child?: Deno.ChildProcess;
  stopping: boolean;
  /** Times the process exited unasked and was started again: a crash, to tests and operators. */
  restarts: number;
}

function log(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), component: "functions-server", ...fields }));
}

function findFreePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function discoverFunctions(): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(functionsDir)) {
    if (!entry.isDirectory) continue;
    try {
      Deno.statSync(new URL(`${entry.name}/index.ts`, functionsDir));
      names.push(entry.name);
    } catch {
      // a folder without index.ts is not a function
    }
  }
  return names.sort();
}

function spawn(fn: FunctionProcess): void {
  const entry = new URL(`${fn.name}/index.ts`, functionsDir).pathname;
  const command = new Deno.Command(denoBinary, {
    // The edge runtime caps a function's memory (256 MB on Supabase); capping the heap here too
    // makes the collector behave as it will there, and makes a leak fail locally.
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", `--v8-flags=--max-old-space-size=${FUNCTION_HEAP_MB}`, entry],
    env: { DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${fn.port}`, EXPORTS_FUNCTION_NAME: fn.name },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  });
  fn.child = command.spawn();
  fn.child.status.then((status) => {
    if (fn.stopping) return;
    fn.restarts++;
    log({ level: "error", message: "function exited; restarting", function: fn.name, code: status.code, restarts: fn.restarts });
    setTimeout(() => spawn(fn), 500);
  });
}

async function waitUntilListening(fn: FunctionProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const connection = await Deno.connect({ hostname: "127.0.0.1", port: fn.port });
      connection.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`Function "${fn.name}" did not start listening within ${timeoutMs} ms`);
}

const functions = new Map<string, FunctionProcess>();
for (const name of discoverFunctions()) {
  const fn: FunctionProcess = { name, port: findFreePort(), stopping: false, restarts: 0 };
  functions.set(name, fn);
  spawn(fn);
}
await Promise.all([...functions.values()].map((fn) => waitUntilListening(fn)));

function notFound(message: string): Response {
  return Response.json({ error: { code: "not_found", message } }, { status: 404 });
}

/** GET /_functions/status: each function's process id and restart count (for the race tests). */
function status(): Response {
  const entries = [...functions.values()].map((fn) => [fn.name, { pid: fn.child?.pid ?? null, restarts: fn.restarts }]);
  return Response.json({ functions: Object.fromEntries(entries) });
}

async function proxy(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/_functions/status" && request.method === "GET") return status();
  const match = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(url.pathname);
  if (!match) return notFound("No such function");
  const fn = functions.get(match[1]);
  if (!fn) return notFound(`No function named "${match[1]}"`);
  const target = `http://127.0.0.1:${fn.port}/${match[1]}${match[2] ?? ""}${url.search}`;
  const headers = new Headers(request.headers);
  headers.delete("host");
  try {
    const upstream = await fetch(target, {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
      signal: request.signal,
    });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  } catch (error) {
    if (request.signal.aborted) return new Response(null, { status: 499 });
    log({ level: "error", message: "function unreachable", function: fn.name, error: String(error) });
    return Response.json(
      { error: { code: "unavailable", message: "The function is restarting; try again shortly" } },
      { status: 503, headers: { "Retry-After": "1" } },
    );
  }
}

const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, proxy);
log({ level: "info", message: "ready", url: `http://127.0.0.1:${port}/functions/v1/`, functions: [...functions.keys()] });

async function shutdown(): Promise<void> {
  for (const fn of functions.values()) {
    fn.stopping = true;
    try {
      fn.child?.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
  await server.shutdown();
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", shutdown);
Deno.addSignalListener("SIGINT", shutdown);
