/**
 * Each case writes its figures as one JSON file in BENCH_RESULTS_DIR; report.ts reads them all.
 * Machine-readable on purpose: the table and docs/benchmarks.md are both built from these.
 */
import { env } from "./config.ts";

/** Writes (replaces) one case's results. */
export async function writeResult(name: string, data: unknown): Promise<void> {
  await Deno.writeTextFile(
    `${env("BENCH_RESULTS_DIR")}/${name}.json`,
    JSON.stringify(data, null, 2) + "\n",
  );
}

/** Reads one case's results, or null when that case did not run. */
export async function readResult<T>(name: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(`${env("BENCH_RESULTS_DIR")}/${name}.json`)) as T;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Logs progress to stderr, so stdout stays for the report. */
export function progress(message: string): void {
  console.error(`\x1b[2m[bench]\x1b[0m ${message}`);
}
