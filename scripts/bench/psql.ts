/**
 * Runs psql, the C client, for the measurements whose client must not be the bottleneck (COPY
 * to nowhere) and for SQL scripts with variables. Timings come from psql's \timing, which
 * measures the statement from the client side, excluding psql's start-up and connection.
 */
import { env } from "./config.ts";

/** Runs a psql script (stdin) with -v variables; returns stdout, throws with stderr on failure. */
export async function psql(
  script: string,
  variables: Record<string, string> = {},
): Promise<string> {
  const args = [env("SUPABASE_DB_URL"), "-X", "-q", "-v", "ON_ERROR_STOP=1"];
  for (const [name, value] of Object.entries(variables)) args.push("-v", `${name}=${value}`);
  const child = new Deno.Command("psql", { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) {
    throw new Error(`psql failed (${code}): ${new TextDecoder().decode(stderr)}\n${text}`);
  }
  return text;
}

/** Runs a psql script file from scripts/bench/ with -v variables. */
export async function psqlFile(
  name: string,
  variables: Record<string, string> = {},
): Promise<string> {
  return await psql(await Deno.readTextFile(new URL(name, import.meta.url)), variables);
}

/** The "Time: … ms" lines \timing printed, in order, in milliseconds. */
export function timings(output: string): number[] {
  return [...output.matchAll(/^Time: ([\d.]+) ms/gm)].map((match) => Number(match[1]));
}
