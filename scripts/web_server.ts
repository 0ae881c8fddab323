/**
 * Serves the built web UI (web/dist) on loopback, as a static host would: files by path, any
 * other path without a file extension falls back to index.html (the app routes in the browser),
 * and `config.json` is written from the environment at start, never compiled in (the UI reads
 * the API's URL and the anon key from it). npm start and npm test run it; a deployment puts the
 * same files on any static host (docs/deploy.md).
 *
 * Usage: deno run --allow-read --allow-net --allow-env scripts/web_server.ts --port 54330
 *        [--root web/dist]    (SUPABASE_URL and SUPABASE_ANON_KEY from the environment)
 */
import { parseArgs } from "node:util";
import { extname, join, normalize } from "node:path";
import { logLine } from "../shared/core/log.ts";

const { values } = parseArgs({
  options: { port: { type: "string" }, root: { type: "string" } },
});
const port = Number(values.port ?? 54330);
const root = normalize(values.root ?? new URL("../web/dist", import.meta.url).pathname);
const supabaseUrl = Deno.env.get("SUPABASE_URL");
const anonKey = Deno.env.get("SUPABASE_ANON_KEY");
if (!supabaseUrl || !anonKey) {
  console.error("web_server: set SUPABASE_URL and SUPABASE_ANON_KEY (npm start writes .env.local)");
  Deno.exit(2);
}
const config = JSON.stringify({ supabaseUrl, anonKey });

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

// The app talks to the API only; nothing else may be loaded or framed. Styles set by script
// (Preact's style props) need no 'unsafe-inline'; none are written inline in the HTML.
const SECURITY_HEADERS = {
  "Content-Security-Policy": [
    "default-src 'self'",
    `connect-src 'self' ${new URL(supabaseUrl).origin}`,
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

async function serveFile(path: string, cacheControl: string): Promise<Response> {
  const file = await Deno.open(path, { read: true });
  return new Response(file.readable, {
    headers: {
      ...SECURITY_HEADERS,
      "Content-Type": CONTENT_TYPES[extname(path)] ?? "application/octet-stream",
      "Cache-Control": cacheControl,
    },
  });
}

async function handle(request: Request): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("Method not allowed", { status: 405, headers: { Allow: "GET, HEAD" } });
  }
  const { pathname } = new URL(request.url);
  if (pathname === "/config.json") {
    return new Response(config, {
      headers: { ...SECURITY_HEADERS, "Content-Type": "application/json", "Cache-Control": "no-cache" },
    });
  }
  // Decoded and normalized, then checked to stay inside the root: no `..` walks out of it.
  let relative: string;
  try {
    relative = normalize(decodeURIComponent(pathname)).replace(/^\/+/, "");
  } catch {
    return new Response("Bad path", { status: 400 });
  }
  const path = join(root, relative);
  if (path !== root && !path.startsWith(`${root}/`)) return new Response("Not found", { status: 404 });
  const stat = await Deno.stat(path).catch(() => null);
  if (stat?.isFile) {
    // Built assets carry a content hash in their name: they never change under that name.
    const immutable = relative.startsWith("assets/");
    return await serveFile(path, immutable ? "public, max-age=31536000, immutable" : "no-cache");
  }
  if (extname(relative) !== "") return new Response("Not found", { status: 404 });
  return await serveFile(join(root, "index.html"), "no-cache");
}

Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: () => logLine({ level: "info", message: "ready", url: `http://127.0.0.1:${port}/` }),
}, async (request) => {
  try {
    return await handle(request);
  } catch (error) {
    logLine({ level: "error", message: "web server error", error: String(error) });
    return new Response("Internal error", { status: 500 });
  }
});
