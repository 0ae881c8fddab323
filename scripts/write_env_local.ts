/**
 * Writes the local settings to the git-ignored `.env.local` at the project root, generating the
 * secrets once: values already in the file are kept, so tokens minted earlier stay valid.
 * Usage: write_env_local.ts --db-url URL --functions-url URL
 */
import { SignJWT } from "jose";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: { "db-url": { type: "string" }, "functions-url": { type: "string" } },
});
const envPath = new URL("../.env.local", import.meta.url);

function readEnvFile(path: URL): Map<string, string> {
  const entries = new Map<string, string>();
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  for (const line of text.split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) entries.set(match[1], match[2]);
  }
  return entries;
}

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const env = readEnvFile(envPath);
env.set("SUPABASE_URL", values["functions-url"] ?? "http://127.0.0.1:54321");
env.set("SUPABASE_DB_URL", values["db-url"] ?? env.get("SUPABASE_DB_URL") ?? "");
if (!env.get("EXPORTS_JWT_SECRET")) env.set("EXPORTS_JWT_SECRET", randomSecret());
if (!env.get("EXPORTS_SIGNING_SECRET")) env.set("EXPORTS_SIGNING_SECRET", `v1:${randomSecret()}`);
if (!env.get("SUPABASE_ANON_KEY")) {
  const secret = new TextEncoder().encode(env.get("EXPORTS_JWT_SECRET"));
  const anonKey = await new SignJWT({ role: "anon", iss: "supabase-local" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime("10y")
    .sign(secret);
  env.set("SUPABASE_ANON_KEY", anonKey);
}

const text = [...env].map(([key, value]) => `${key}=${value}`).join("\n") + "\n";
Deno.writeTextFileSync(envPath, text, { mode: 0o600 });
console.log(`Local settings written to .env.local:\n\n${text}`);
