/**
 * `deno task export <command>`: the exports API from a terminal or a script. Exit codes: 0 ok,
 * 1 the export failed (or the request did: not found, server error, unreachable), 2 bad usage,
 * 3 authentication (no token, or the API answered 401/403). Run with `--help` for the commands.
 */
import { createClient } from "@supabase/supabase-js";
import {
  ExportsApiError,
  ExportsAuthError,
  ExportsClient,
  ExportsConnectionError,
  ExportsValidationError,
} from "../client/exports_client.ts";
import { parseCommandLine, PROGRAM, usage, UsageError, usageLine } from "./args.ts";
import { type CommandContext, COMMANDS, HANDLERS } from "./commands.ts";
import { describeIssues } from "./create_flags.ts";
import { type ProgressOutput, stderrOutput } from "./progress.ts";

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failed: 1, usage: 2, auth: 3, interrupted: 130 } as const;

const DEFAULT_URL = "http://127.0.0.1:54321";
// The local functions do not check an API key; a hosted project's gateway may want its anon key.
const PLACEHOLDER_ANON_KEY = "anon-key-not-checked-locally";

/** No token was given: an authentication problem (exit 3), found before any request. */
class MissingTokenError extends Error {}

/** Where the API is and who calls it: each from its flag, else the environment, else the default. */
export function resolveConnection(
  values: Record<string, unknown>,
  env: Pick<typeof Deno.env, "get"> = Deno.env,
): { url: string; token: string | undefined; anonKey: string } {
  const text = (values.url as string | undefined) ?? env.get("SUPABASE_URL") ?? DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(text)}`);
  }
  // The project's URL is wanted; accept the functions' or the API's URL too.
  const base = url.href.replace(/\/+$/, "").replace(/\/functions\/v1(\/exports)?$/, "");
  const token = (values.token as string | undefined) ?? env.get("EXPORTS_TOKEN");
  const anonKey = env.get("SUPABASE_ANON_KEY") ?? PLACEHOLDER_ANON_KEY;
  return { url: base, token: token?.trim() || undefined, anonKey };
}

/** Runs the CLI with these arguments and returns its exit code. */
export async function main(
  args: readonly string[],
  progress: ProgressOutput = stderrOutput(),
): Promise<number> {
  const note = (text: string) => progress.write(`${text}\n`);
  let command: string | undefined;
  let apiUrl = DEFAULT_URL;
  const controller = new AbortController();
  const interrupt = () => controller.abort(new DOMException("Interrupted", "AbortError"));
  Deno.addSignalListener("SIGINT", interrupt);
  try {
    const parsed = parseCommandLine(args, COMMANDS);
    command = parsed.command;
    if (parsed.values.help) {
      console.log(usage(COMMANDS, command));
      return EXIT.ok;
    }
    const connection = resolveConnection(parsed.values);
    apiUrl = connection.url;
    let client: ExportsClient | undefined;
    const ctx: CommandContext = {
      // Made on first use, so a command checks its arguments (exit 2) before wanting a token.
      get client() {
        if (connection.token === undefined) throw new MissingTokenError();
        client ??= new ExportsClient(createClient(connection.url, connection.anonKey, {
          global: { headers: { Authorization: `Bearer ${connection.token}` } },
          auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
        }));
        return client;
      },
      positionals: parsed.positionals,
      values: parsed.values,
      print: (text) => console.log(text),
      progress,
      signal: controller.signal,
    };
    return await HANDLERS[parsed.command!](ctx);
  } catch (error) {
    if (controller.signal.aborted) {
      note("Interrupted");
      return EXIT.interrupted;
    }
    if (error instanceof UsageError || error instanceof ExportsValidationError) {
      const message = error instanceof UsageError ? error.message : describeIssues(error.issues);
      const about = error instanceof UsageError ? error.command ?? command : command;
      note(`error: ${message}\n`);
      note(about === undefined ? usage(COMMANDS) : usageLine(COMMANDS, about));
      if (about !== undefined) note(`Run \`${PROGRAM} ${about} --help\` for its options.`);
      return EXIT.usage;
    }
    if (error instanceof MissingTokenError) {
      note("error: No token: pass --token JWT or set EXPORTS_TOKEN to the user's access token");
      note("(npm start prints one for the demo user)");
      return EXIT.auth;
    }
    if (error instanceof ExportsAuthError) {
      note(`error: The API refused the token (${error.status} ${error.code}): ${error.message}`);
      note(
        "Pass a valid user access token with --token or EXPORTS_TOKEN (npm start prints one for the demo user)",
      );
      return EXIT.auth;
    }
    if (error instanceof ExportsApiError) {
      const request = error.requestId ? `; request id ${error.requestId}` : "";
      note(`error: ${error.message} (${error.status} ${error.code}${request})`);
      return EXIT.failed;
    }
    if (error instanceof ExportsConnectionError) {
      const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
      note(`error: Could not reach the exports API at ${apiUrl}/functions/v1/exports${cause}`);
      note("Is the stack running? Start it with `npm start`, or pass --url");
      return EXIT.failed;
    }
    note(`error: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  } finally {
    Deno.removeSignalListener("SIGINT", interrupt);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
