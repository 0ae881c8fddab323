/**
 * Case 6: the peer (naive_export.ts) at the small and the large size, in its own process, with
 * its peak resident memory watched from here too (a process killed for running out of memory
 * reports nothing itself). Writes results/peers.json.
 */
import { currentSizes, env } from "./config.ts";
import { progress, writeResult } from "./results.ts";
import { watchPeakRss } from "./rss.ts";

/** What the peer did at one size. */
export interface PeerResult {
  conversations: number;
  finished: boolean;
  error?: string;
  elapsedMs: number;
  builtConversations?: number;
  characters?: number;
  bytes?: number;
  peakRssBytes: number;
  exitCode: number;
}

async function runPeer(conversations: number): Promise<PeerResult> {
  const outputPath = `${env("BENCH_RESULTS_DIR")}/naive-export.jsonl`;
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL("./naive_export.ts", import.meta.url).pathname,
      String(conversations),
      outputPath,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const watch = watchPeakRss(child.pid, 20);
  const output = await child.output();
  const watchedPeak = watch.stop();
  await Deno.remove(outputPath).catch(() => {});
  const line = new TextDecoder().decode(output.stdout).trim().split("\n").pop() ?? "";
  const stderr = new TextDecoder().decode(output.stderr);
  if (!line.startsWith("{")) {
    // Killed before it could report (V8's out-of-memory abort, for one).
    const reason =
      /(Fatal JavaScript out of memory[^\n]*|JavaScript heap out of memory[^\n]*|Invalid string length)/
        .exec(stderr);
    return {
      conversations,
      finished: false,
      error: reason?.[0] ??
        `exited with code ${output.code}: ${stderr.trim().split("\n").slice(-3).join(" ")}`,
      elapsedMs: performance.now() - started,
      peakRssBytes: watchedPeak,
      exitCode: output.code,
    };
  }
  const report = JSON.parse(line);
  return {
    conversations,
    finished: report.finished,
    error: report.error,
    elapsedMs: report.elapsedMs,
    builtConversations: report.conversations,
    characters: report.characters,
    bytes: report.bytes,
    peakRssBytes: Math.max(report.peakRssBytes, watchedPeak),
    exitCode: output.code,
  };
}

const sizes = currentSizes();
const peers: PeerResult[] = [];
for (const conversations of [sizes.subset, sizes.conversations]) {
  progress(`case 6: the naive export of ${conversations.toLocaleString("en")} conversations`);
  const result = await runPeer(conversations);
  progress(
    `  ${result.finished ? "finished" : `did not finish (${result.error})`} in ${
      (result.elapsedMs / 1000).toFixed(2)
    } s, ` +
      `peak ${(result.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  peers.push(result);
}
await writeResult("peers", { peers });
