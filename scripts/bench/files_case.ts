/**
 * Cases 1, 2 and 3 at one size (`small`: the subset, `large`: every conversation): every layout
 * generated beside its floors, the jsonl file downloaded, and the peak resident memory of the
 * functions server's processes (exports function and proxy) over the whole phase, next to each
 * worker's own peak. Writes results/files-<size>.json.
 *
 * Usage: deno run -A scripts/bench/files_case.ts small|large   (bench.sh sets the environment)
 */
import { userToken } from "../../tests/support/tokens.ts";
import { currentSizes, env, LAYOUTS, OWNER_ID } from "./config.ts";
import { closeBenchSql } from "./db.ts";
import { measureDownload } from "./download.ts";
import { profileDownload } from "./download_profile.ts";
import {
  dropExport,
  type GenerationProfile,
  type GenerationResult,
  measureGeneration,
  profileGeneration,
} from "./generation.ts";
import { steadyMemory } from "./memory_steady.ts";
import { progress, readResult, writeResult } from "./results.ts";
import { findDenoProcess, resetPeakRss, watchPeakRss } from "./rss.ts";

const size = Deno.args[0];
if (size !== "small" && size !== "large") throw new Error("Usage: files_case.ts small|large");
const sizes = currentSizes();
const conversations = size === "small" ? sizes.subset : sizes.conversations;
const token = await userToken(OWNER_ID);

const serverPid = Number(env("BENCH_FUNCTIONS_SERVER_PID"));
const exportsPid = findDenoProcess(serverPid, "functions/exports/index.ts");
const proxyPid = findDenoProcess(serverPid, "scripts/functions_server.ts");
if (!exportsPid || !proxyPid) {
  throw new Error(`The functions server's processes were not found under pid ${serverPid}`);
}
const peakWasReset = resetPeakRss(exportsPid) && resetPeakRss(proxyPid);
const exportsWatch = watchPeakRss(exportsPid);
const proxyWatch = watchPeakRss(proxyPid);

const generation: GenerationResult[] = [];
const profiles: GenerationProfile[] = [];
let downloadSource: GenerationResult | undefined;
for (const layout of LAYOUTS) {
  progress(`case 1 (${conversations.toLocaleString("en")} conversations): ${layout.name}`);
  const result = await measureGeneration(token, layout, conversations, sizes.conversations);
  generation.push(result);
  progress(
    `  export ${(result.exportMs / 1000).toFixed(2)} s, COPY ${
      (result.floorCopyMs / 1000).toFixed(2)
    } s, ` +
      `INSERT ${(result.floorInsertMs / 1000).toFixed(2)} s, ${
        (result.fileBytes / 1e6).toFixed(1)
      } MB` +
      (result.floorMatchesFile ? "" : "  (FLOOR TEXT DIFFERS FROM THE FILE)"),
  );
  // A layout that misses its target at the large size is profiled before its export goes.
  if (size === "large" && result.exportMs / result.floorInsertMs > layout.target) {
    progress(`  over its target: profiling`);
    profiles.push(await profileGeneration(result));
  }
  if (layout.name === "jsonl openai") downloadSource = result;
  else await dropExport(result.exportLogId);
}

progress(
  `case 2 (${conversations.toLocaleString("en")} conversations): download of the jsonl file`,
);
const download = await measureDownload(
  token,
  downloadSource!.exportId,
  downloadSource!.exportLogId,
  3,
);
progress(
  `  HTTP ${(download.httpMedianMs / 1000).toFixed(2)} s, COPY ${
    (download.copyMedianMs / 1000).toFixed(2)
  } s ` +
    `for ${(download.bytes / 1e6).toFixed(1)} MB`,
);
// Where the download's time goes, profiled on the large file.
const profile = size === "large"
  ? await profileDownload(token, downloadSource!.exportId, downloadSource!.exportLogId, exportsPid)
  : null;
if (profile) await writeResult("profile-download", profile);
if (size === "large") await writeResult("profile-generation", { profiles });

// The small phase's jsonl file is kept for the large phase, which downloads both on the same
// warmed process (see memory_steady.ts) and then drops both.
const peaksWatched = { exports: exportsWatch.stop(), proxy: proxyWatch.stop() };
let steady = null;
if (size === "large") {
  const small = await readResult<{ downloadSource: { exportId: string; exportLogId: string } }>(
    "files-small",
  );
  if (small) {
    progress("case 3: peaks per download on the warmed exports function");
    steady = await steadyMemory(token, small.downloadSource, downloadSource!, exportsPid, 5);
    await dropExport(small.downloadSource.exportLogId);
  }
  await dropExport(downloadSource!.exportLogId);
}

await writeResult(`files-${size}`, {
  size,
  conversations,
  generation,
  download,
  downloadSource: { exportId: downloadSource!.exportId, exportLogId: downloadSource!.exportLogId },
  memory: {
    peakWasReset,
    exportsFunctionPeakRssBytes: peaksWatched.exports,
    functionsProxyPeakRssBytes: peaksWatched.proxy,
    workerPeakRssBytes: Math.max(...generation.map((g) => g.workerPeakRssBytes)),
    steady,
  },
});
await closeBenchSql();
