/**
 * The benchmark report, built from the cases' results: a table on stdout, and for a full run
 * docs/benchmarks.md — machine, date, commit, every figure and ratio, whether each target
 * holds, and for a target that does not, the measured ratio and what limits it (with the plans
 * and profiles the cases recorded).
 *
 * Usage: deno run -A scripts/bench/report.ts [--write docs/benchmarks.md]
 */
import { currentSizes, env, LAYOUTS } from "./config.ts";
import type { DownloadResult } from "./download.ts";
import type { GenerationResult } from "./generation.ts";
import type { PeerResult } from "./peers_case.ts";
import { readResult } from "./results.ts";
import { analysis } from "./report_analysis.ts";

// ------------------------------------------------------------------------------------------
// Result shapes (as the cases write them)
// ------------------------------------------------------------------------------------------

interface FilesResult {
  conversations: number;
  generation: GenerationResult[];
  download: DownloadResult;
  memory: {
    peakWasReset: boolean;
    exportsFunctionPeakRssBytes: number;
    functionsProxyPeakRssBytes: number;
    workerPeakRssBytes: number;
    steady?: { smallPeaksBytes: number[]; largePeakBytes: number } | null;
  };
}
interface LoadFigures {
  name: string;
  requestsPerSecond: number;
  requests: number;
  seconds: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}
interface ApiResult {
  rows: number;
  clients: number;
  rounds: LoadFigures[][];
  endpoints: LoadFigures[];
}
interface ExpiryResult {
  rows: number;
  nothingDue: { calls: number[]; medianMs: number; plan: string };
  due: null | {
    expired: number;
    callMs: number;
    rowsPerSecond: number;
    lockHeldMs: number;
    dueWriterWaitMs: number;
    otherWriterWaitMs: number;
  };
}

/** Everything the report is built from. */
/** Case 7: the object store (object_store_case.ts). */
interface ObjectStoreResult {
  conversations: number;
  smallConversations: number;
  fileBytes: number;
  smallFileBytes: number;
  partBytes: number;
  uploadMs: number;
  plainUploadMs: number;
  redirectDownloadMs: number[];
  directDownloadMs: number[];
  redirectsPerSize: number;
  cpuSecondsPerDownloadSmall: number;
  cpuSecondsPerDownloadLarge: number;
}

/** Case 8: what the web UI costs the API (ui_case.ts). */
interface UiResult {
  clients: number;
  memberships: Record<string, number>;
  runs: { name: string; requestsPerSecond: number; p50Ms: number }[];
  app: { rawBytes: number; gzipBytes: number };
}

export interface Results {
  objectStore: ObjectStoreResult | null;
  ui: UiResult | null;
  small: FilesResult | null;
  large: FilesResult | null;
  peers: { peers: PeerResult[] } | null;
  apiSmall: ApiResult | null;
  apiLarge: ApiResult | null;
  expirySmall: ExpiryResult | null;
  expiryLarge: ExpiryResult | null;
  downloadProfile: Record<string, unknown> | null;
  generationProfile: Record<string, unknown> | null;
  timings: Record<string, number>;
}

// ------------------------------------------------------------------------------------------
// Formatting
// ------------------------------------------------------------------------------------------

export const s = (ms: number) => (ms / 1000).toFixed(2);
export const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
export const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
export const x = (ratio: number) => ratio.toFixed(2);
export const n = (value: number) => Math.round(value).toLocaleString("en");
export const ok = (holds: boolean) => (holds ? "yes" : "**no**");
const MIB_256 = 256 * 2 ** 20;

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

// ------------------------------------------------------------------------------------------
// Targets
// ------------------------------------------------------------------------------------------

/** One target: what it measures, its bound, the measured value and whether it holds. */
export interface Target {
  id: string;
  what: string;
  target: string;
  measured: string;
  holds: boolean;
}

function endpoint(api: ApiResult, prefix: string): LoadFigures {
  const found = api.endpoints.find((e) => e.name.startsWith(prefix));
  if (!found) throw new Error(`No results for endpoint "${prefix}"`);
  return found;
}
const LIST = "list page 1, limit 25";
const LIST_STATUS = "list page 1, limit 25, status=completed";
const BASELINE = "baseline";

function listFigures(api: ApiResult, withStatus: boolean): LoadFigures {
  return api.endpoints.find((e) => e.name === (withStatus ? LIST_STATUS : LIST))!;
}

/** Every target of issue 6 that these results can judge. */
export function targets(r: Results): Target[] {
  const out: Target[] = [];
  if (r.large) {
    for (const g of r.large.generation) {
      const layout = LAYOUTS.find((l) => l.name === g.layout)!;
      const ratio = g.exportMs / g.floorInsertMs;
      out.push({
        id: "1",
        what: `generation, ${g.layout}: export time / INSERT floor (b), ${
          n(g.conversations)
        } conversations`,
        target: `≤ ${layout.target.toFixed(1)}`,
        measured: `${x(ratio)} (${s(g.exportMs)} s / ${s(g.floorInsertMs)} s)`,
        holds: ratio <= layout.target && g.floorMatchesFile,
      });
    }
    const d = r.large.download;
    const ratio = d.copyMedianMs / d.httpMedianMs;
    out.push({
      id: "2",
      what: `download of the ${mb(d.bytes)} MB jsonl file: HTTP throughput / COPY throughput`,
      target: "≥ 0.5",
      measured: `${x(ratio)} (${mb(d.bytes / (d.httpMedianMs / 1000))} / ${
        mb(d.bytes / (d.copyMedianMs / 1000))
      } MB/s)`,
      holds: ratio >= 0.5,
    });
  }
  if (r.small && r.large) {
    const pairs: [string, number, number][] = [
      [
        "exports function process",
        r.small.memory.exportsFunctionPeakRssBytes,
        r.large.memory.exportsFunctionPeakRssBytes,
      ],
      ["worker process", r.small.memory.workerPeakRssBytes, r.large.memory.workerPeakRssBytes],
    ];
    for (const [who, small, large] of pairs) {
      out.push({
        id: "3",
        what: `peak RSS of the ${who}, ${n(r.large.conversations)} vs ${
          n(r.small.conversations)
        } conversations`,
        target: "≤ 1.25× and < 256 MiB",
        measured: `${x(large / small)}× (${mib(large)} vs ${mib(small)} MiB)`,
        holds: large <= 1.25 * small && large < MIB_256,
      });
    }
  }
  if (r.apiSmall && r.apiLarge) {
    for (const withStatus of [false, true]) {
      const small = listFigures(r.apiSmall, withStatus);
      const large = listFigures(r.apiLarge, withStatus);
      const ratio = large.requestsPerSecond / small.requestsPerSecond;
      out.push({
        id: "4",
        what: `${withStatus ? LIST_STATUS : LIST}: requests/s at ${n(r.apiLarge.rows)} rows / at ${
          n(r.apiSmall.rows)
        } rows`,
        target: "≥ 0.8",
        measured: `${x(ratio)} (${n(large.requestsPerSecond)} / ${n(small.requestsPerSecond)})`,
        holds: ratio >= 0.8,
      });
    }
    for (const api of [r.apiSmall, r.apiLarge]) {
      const baseline = endpoint(api, BASELINE);
      for (const withStatus of [false, true]) {
        const list = listFigures(api, withStatus);
        const ratio = list.requestsPerSecond / baseline.requestsPerSecond;
        out.push({
          id: "4",
          what: `${withStatus ? LIST_STATUS : LIST} / baseline endpoint, requests/s at ${
            n(api.rows)
          } rows`,
          target: "≥ 0.5",
          measured: `${x(ratio)} (${n(list.requestsPerSecond)} / ${n(baseline.requestsPerSecond)})`,
          holds: ratio >= 0.5,
        });
      }
    }
  }
  if (r.objectStore) {
    const o = r.objectStore;
    const upload = o.uploadMs / o.plainUploadMs;
    out.push({
      id: "7",
      what: `object store: upload of the ${mb(o.fileBytes)} MB jsonl file (${
        n(o.conversations)
      } conversations), last batch to completed / a plain multipart upload of the same bytes`,
      target: "≤ 1.25",
      measured: `${x(upload)} (${s(o.uploadMs)} s / ${s(o.plainUploadMs)} s)`,
      holds: upload <= 1.25,
    });
    const [viaRedirect, direct] = [medianOf(o.redirectDownloadMs), medianOf(o.directDownloadMs)];
    const download = direct / viaRedirect;
    out.push({
      id: "7",
      what: `object store: download through the 302, throughput / a direct GET of the object`,
      target: "≥ 0.9",
      measured: `${x(download)} (${mb(o.fileBytes / (viaRedirect / 1000))} / ${
        mb(o.fileBytes / (direct / 1000))
      } MB/s)`,
      holds: download >= 0.9,
    });
    const cpu = o.cpuSecondsPerDownloadLarge / o.cpuSecondsPerDownloadSmall;
    out.push({
      id: "7",
      what: `object store: the exports function's CPU per download, ${n(o.conversations)} vs ${
        n(o.smallConversations)
      } conversations`,
      target: "≤ 1.2×",
      measured: `${x(cpu)}× (${(o.cpuSecondsPerDownloadLarge * 1000).toFixed(2)} vs ${
        (o.cpuSecondsPerDownloadSmall * 1000).toFixed(2)
      } ms)`,
      holds: cpu <= 1.2,
    });
  }
  if (r.ui) out.push(...uiTargets(r.ui));
  if (r.expirySmall && r.expiryLarge) {
    const ratio = r.expiryLarge.nothingDue.medianMs / r.expirySmall.nothingDue.medianMs;
    out.push({
      id: "5",
      what: `mark_expired_exports() with nothing due: at ${n(r.expiryLarge.rows)} rows / at ${
        n(r.expirySmall.rows)
      } rows`,
      target: "≤ 2",
      measured: `${x(ratio)} (${r.expiryLarge.nothingDue.medianMs.toFixed(2)} / ${
        r.expirySmall.nothingDue.medianMs.toFixed(2)
      } ms)`,
      holds: ratio <= 2,
    });
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// Sections
// ------------------------------------------------------------------------------------------

/** Case 8's targets: preview bounded by membership, 304 polls cheap, the app small. */
function uiTargets(ui: UiResult): Target[] {
  const run = (prefix: string) => ui.runs.find((r) => r.name.startsWith(prefix))!;
  const [large, small] = ui.runs.filter((r) => r.name.startsWith("preview"));
  const previewRatio = small.requestsPerSecond / large.requestsPerSecond;
  const [full, notModified] = [
    run("list page 1, limit 25 (200)"),
    run("list page 1, limit 25, If"),
  ];
  const pollRatio = notModified.requestsPerSecond / full.requestsPerSecond;
  const kb = (bytes: number) => (bytes / 1024).toFixed(1);
  return [
    {
      id: "8",
      what: `web UI: POST /exports/preview, time per request at ${large.name.slice(9)} / at ${
        small.name.slice(9)
      } (requests/s inverted)`,
      target: "≤ 2",
      measured: `${x(previewRatio)} (${n(large.requestsPerSecond)} / ${
        n(small.requestsPerSecond)
      } requests/s)`,
      holds: previewRatio <= 2,
    },
    {
      id: "8",
      what: "web UI: list polling with If-None-Match (304) / the full list (200), requests/s",
      target: "≥ 2×",
      measured: `${x(pollRatio)}× (${n(notModified.requestsPerSecond)} / ${
        n(full.requestsPerSecond)
      })`,
      holds: pollRatio >= 2,
    },
    {
      id: "8",
      what: "web UI: the built app, JavaScript + CSS gzipped",
      target: "< 150 KB",
      measured: `${kb(ui.app.gzipBytes)} KB (${kb(ui.app.rawBytes)} KB before gzip)`,
      holds: ui.app.gzipBytes < 150 * 1024,
    },
  ];
}

function generationTable(files: FilesResult): string {
  return table(
    [
      "layout",
      "file MB",
      "export s",
      "(a) COPY s",
      "(b) INSERT s",
      "export/(b)",
      "target",
      "holds",
      "export/(a)",
      "export MB/s",
      "floor text = file",
    ],
    files.generation.map((g) => {
      const layout = LAYOUTS.find((l) => l.name === g.layout)!;
      const ratio = g.exportMs / g.floorInsertMs;
      return [
        g.layout,
        mb(g.fileBytes),
        s(g.exportMs),
        s(g.floorCopyMs),
        s(g.floorInsertMs),
        x(ratio),
        `≤ ${layout.target.toFixed(1)}`,
        ok(ratio <= layout.target),
        x(g.exportMs / g.floorCopyMs),
        mb(g.fileBytes / (g.exportMs / 1000)),
        g.floorMatchesFile ? "yes" : "**no**",
      ];
    }),
  );
}

function downloadTable(files: FilesResult): string {
  const d = files.download;
  return table(
    [
      "conversations",
      "file MB",
      "HTTP s (median of " + d.httpMs.length + ")",
      "HTTP MB/s",
      "COPY s",
      "COPY MB/s",
      "HTTP/COPY",
    ],
    [[
      n(files.conversations),
      mb(d.bytes),
      s(d.httpMedianMs),
      mb(d.bytes / (d.httpMedianMs / 1000)),
      s(d.copyMedianMs),
      mb(d.bytes / (d.copyMedianMs / 1000)),
      x(d.copyMedianMs / d.httpMedianMs),
    ]],
  );
}

function memoryTable(small: FilesResult, large: FilesResult): string {
  const rows: [string, keyof FilesResult["memory"]][] = [
    ["exports function process", "exportsFunctionPeakRssBytes"],
    ["worker process (largest of its runs)", "workerPeakRssBytes"],
    ["functions server proxy process", "functionsProxyPeakRssBytes"],
  ];
  return table(
    [
      "process",
      `peak at ${n(small.conversations)} MiB`,
      `peak at ${n(large.conversations)} MiB`,
      "ratio",
      "≤ 1.25× and < 256 MiB",
    ],
    rows.map(([name, key]) => {
      const a = small.memory[key] as number;
      const b = large.memory[key] as number;
      return [name, mib(a), mib(b), x(b / a), ok(b <= 1.25 * a && b < MIB_256)];
    }),
  );
}

function apiTable(api: ApiResult): string {
  return table(
    ["endpoint", "requests/s", "p50 ms", "p90 ms", "p99 ms", "requests"],
    api.endpoints.map((
      e,
    ) => [
      e.name,
      n(e.requestsPerSecond),
      e.latencyMs.p50,
      e.latencyMs.p90,
      e.latencyMs.p99,
      n(e.requests),
    ]),
  );
}

function peersTable(r: Results): string {
  const ours = (conversations: number) => {
    const files = [r.small, r.large].find((f) => f?.conversations === conversations);
    return files?.generation.find((g) => g.layout === "jsonl openai");
  };
  const memory = (conversations: number) => {
    const files = [r.small, r.large].find((f) => f?.conversations === conversations);
    return files
      ? Math.max(files.memory.workerPeakRssBytes, files.memory.exportsFunctionPeakRssBytes)
      : NaN;
  };
  return table(
    [
      "conversations",
      "naive: result",
      "naive s",
      "naive peak MiB",
      "ours (jsonl openai) s",
      "ours peak MiB (worker, API)",
      "time naive/ours",
    ],
    (r.peers?.peers ?? []).map((p) => {
      const g = ours(p.conversations);
      return [
        n(p.conversations),
        p.finished ? `finished, ${mb(p.bytes!)} MB` : `**did not finish**: ${p.error}` +
          (p.builtConversations !== undefined
            ? ` (after ${n(p.builtConversations)} conversations, ${
              n(p.characters ?? 0)
            } characters)`
            : ""),
        s(p.elapsedMs),
        mib(p.peakRssBytes),
        g ? s(g.exportMs) : "—",
        mib(memory(p.conversations)),
        p.finished && g ? x(p.elapsedMs / g.exportMs) : "—",
      ];
    }),
  );
}

// ------------------------------------------------------------------------------------------
// The document
// ------------------------------------------------------------------------------------------

async function machine(): Promise<Record<string, string>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const meminfo = await Deno.readTextFile("/proc/meminfo");
  const git = async (...args: string[]) =>
    new TextDecoder().decode(
      (await new Deno.Command("git", {
        args,
        cwd: new URL("../..", import.meta.url).pathname,
        stdout: "piped",
      }).output()).stdout,
    ).trim();
  const commit = await git("rev-parse", "--short", "HEAD");
  const dirty = (await git("status", "--porcelain", "--untracked-files=no")) !== "";
  const database = await readResult<
    { version: string; batch_size: number; shared_buffers: string }
  >("database");
  return {
    cpus: String(cpuinfo.match(/^processor\s*:/gm)?.length ?? "?"),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    memory: `${
      (Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0) / 2 ** 20).toFixed(1)
    } GiB`,
    commit: dirty ? `${commit} (with uncommitted changes in tracked files)` : commit,
    postgres: database?.version.split(" on ")[0] ?? "unknown",
    batchSize: String(database?.batch_size ?? "?"),
    sharedBuffers: database?.shared_buffers ?? "?",
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  };
}

/** The whole report as markdown. */
export async function buildReport(r: Results): Promise<string> {
  const sizes = currentSizes();
  const m = await machine();
  const all = targets(r);
  const failing = all.filter((t) => !t.holds);
  const lines: string[] = [];
  lines.push("# Benchmarks");
  lines.push("");
  lines.push(
    `Written by \`npm run bench\`${
      sizes.quick ? " -- --quick" : ""
    } (issue 6); regenerated by every full run, so edit ` +
      "`scripts/bench/report.ts`, not this file. Every target is a ratio of two figures measured side by side in the " +
      "same run on a shared, noisy 2-core machine; absolute times vary from run to run, the ratios much less.",
  );
  lines.push("");
  lines.push("## The run");
  lines.push("");
  lines.push(table(["", ""], [
    ["machine", `${m.cpus} CPUs (${m.cpuModel}), ${m.memory} memory`],
    ["date", m.date],
    ["commit", m.commit],
    ["mode", sizes.quick ? "--quick (a tenth of the sizes)" : "full"],
    [
      "duration",
      `${n(r.timings.total ?? 0)} s (seeding ${
        n((r.timings.seed_conversations ?? 0) + (r.timings.seed_export_logs ?? 0))
      } s)`,
    ],
    [
      "data",
      `${n(sizes.conversations)} conversations × 8 turns (one user; ${
        n(sizes.subset)
      } of them form the small export); ` +
      `export_logs: ${n(sizes.logUsersSmall * 100)} rows (${n(sizes.logUsersSmall)} users) and ${
        n(sizes.logUsersLarge * 100)
      } rows (${n(sizes.logUsersLarge)} users), 100 per user`,
    ],
    [
      "database",
      `${m.postgres}, shared_buffers ${m.sharedBuffers}, export batch_size ${m.batchSize}`,
    ],
  ]));
  lines.push("");
  lines.push("## Targets");
  lines.push("");
  lines.push(
    table(
      ["case", "what", "target", "measured", "holds"],
      all.map((t) => [t.id, t.what, t.target, t.measured, ok(t.holds)]),
    ),
  );
  lines.push("");
  lines.push(
    failing.length === 0
      ? "Every target holds."
      : `${failing.length} of ${all.length} targets do not hold; see [Where targets do not hold](#where-targets-do-not-hold).`,
  );
  lines.push("");

  lines.push("## 1. Generation vs the physical floor");
  lines.push("");
  lines.push(
    "Time from `queued` to `completed` of one export requested through the API, driven by one worker process with " +
      "the project's own driver (`claimNextExport` then `driveClaim`, as `processExports` does: claim with a lease, " +
      "one batch per transaction, then finish; the clock starts at the claim, the export having waited queued with " +
      "processing paused until then), against two floors on the same members " +
      "in the same run: (a) `COPY (SELECT …) TO STDOUT` of the same text, one row per conversation, to nowhere (psql, " +
      "binary format) — reading and serializing; (b) `INSERT INTO` a scratch table (logged, `STORAGE EXTERNAL` like " +
      "the chunks) `SELECT` the same text — reading, serializing and storing. The floors are plain views " +
      "(`scripts/bench/floor_views.sql`); after each run their text is checked against the stored file, batch by " +
      "batch (md5), so both sides produce the same bytes. Every timed step starts after a `CHECKPOINT`. Exports " +
      "take every conversation of the owner (`scope: filtered`, all statuses) with the default options " +
      "(metadata, quality scores and timestamps included).",
  );
  lines.push("");
  if (r.large) {
    lines.push(`### ${n(r.large.conversations)} conversations (the targets)`);
    lines.push("");
    lines.push(generationTable(r.large));
    lines.push("");
  }
  if (r.small) {
    lines.push(`### ${n(r.small.conversations)} conversations`);
    lines.push("");
    lines.push(generationTable(r.small));
    lines.push("");
  }

  lines.push("## 2. Download");
  lines.push("");
  lines.push(
    "The finished jsonl openai file streamed through `GET …/download` with its signed `file_url` (curl to " +
      "/dev/null, through the functions server) against `COPY (SELECT data FROM export_chunks … ORDER BY " +
      "chunk_number) TO STDOUT` of the same stored bytes (psql, to /dev/null). Rounds alternate; medians shown.",
  );
  lines.push("");
  for (const files of [r.large, r.small]) if (files) lines.push(downloadTable(files), "");

  lines.push("## 3. Memory");
  lines.push("");
  lines.push(
    "Peak resident memory (`VmHWM`, reset with `clear_refs` at the start of each size's phase, and sampled every " +
      "50 ms) of the functions server's processes over all of cases 1 and 2 at that size — exports requested and " +
      "files downloaded through them — and each worker process's own peak.",
  );
  lines.push("");
  if (r.small && r.large) lines.push(memoryTable(r.small, r.large), "");
  const steady = r.large?.memory.steady;
  if (r.small && r.large && steady) {
    lines.push(
      "The same exports function afterwards (its heap capped at 150 MB, `--max-old-space-size=150`, as the " +
        "functions server runs every function), its heap already grown by the downloads above, the peak reset " +
        "before each download:",
      "",
      table(
        ["download", "peak MiB"],
        [
          ...steady.smallPeaksBytes.map((
            b,
            i,
          ) => [`${n(r.small!.conversations)}-conversation file, round ${i + 1}`, mib(b)]),
          [`${n(r.large.conversations)}-conversation file`, mib(steady.largePeakBytes)],
        ],
      ),
      "",
    );
  }

  lines.push("## 4. API cost as data grows");
  lines.push("");
  lines.push(
    "16 concurrent clients on loopback, each signed in as its own user (16 HS256 tokens), through the functions " +
      "server, closed loop (autocannon, one connection per client). Each user has 100 exports at both sizes, so only " +
      "the table grows. The baseline is a request to the real API that does the same authentication and one indexed " +
      "SELECT as the user in one transaction, and nothing else: `GET /exports/<an id that does not exist>`, answered " +
      "404 (see the notes). Processing is paused, so created exports stay queued; they are deleted after the run.",
  );
  lines.push("");
  for (const api of [r.apiSmall, r.apiLarge]) {
    if (!api) continue;
    lines.push(`### ${n(api.rows)} export_logs rows`);
    lines.push("");
    lines.push(apiTable(api));
    lines.push("");
  }

  lines.push("## 5. Expiry");
  lines.push("");
  lines.push(
    "`mark_expired_exports()` called as pg_cron calls it: a fresh session per call, median of " +
      `${sizes.expiryCalls} calls.`,
  );
  lines.push("");
  if (r.expirySmall && r.expiryLarge) {
    lines.push(table(
      [
        "export_logs rows",
        "nothing due: median ms",
        "min ms",
        "max ms",
      ],
      [r.expirySmall, r.expiryLarge].map((e) => [
        n(e.rows),
        e.nothingDue.medianMs.toFixed(2),
        Math.min(...e.nothingDue.calls).toFixed(2),
        Math.max(...e.nothingDue.calls).toFixed(2),
      ]),
    ));
    lines.push("");
    lines.push(
      "The function takes the due rows through the partial index `idx_export_logs_completed_expires_at` in " +
        "`expires_at` order, 10,000 at a time, with `jit = off` " +
        "(both in `supabase/migrations/20261128150000_export_logs.sql`; the function skips rows in use " +
        "and exports with a download in flight).",
    );
    lines.push("");
    const due = r.expiryLarge.due;
    if (due) {
      lines.push(table(
        [
          "due exports",
          "call s",
          "rows/s",
          "longest lock held",
          "a writer of an expired row waited",
          "a writer of another row waited",
        ],
        [[
          n(due.expired),
          s(due.callMs),
          n(due.rowsPerSecond),
          `${s(due.lockHeldMs)} s`,
          `${s(due.dueWriterWaitMs)} s`,
          `${due.otherWriterWaitMs.toFixed(1)} ms`,
        ]],
      ));
      lines.push("");
      lines.push(
        "The call is one transaction (its batches of 10,000 are statements inside it), so every row it expires " +
          "stays locked from its update to the commit. The longest lock held is its transaction id's, polled in `pg_locks` every 10 ms from its " +
          "first update to its commit; a writer of a row it had already expired (found by that row's `xmax`) " +
          "waited for the commit, a writer of another row did not. Readers never wait.",
      );
      lines.push("");
    }
  }

  lines.push("## 6. Peers: the naive export");
  lines.push("");
  lines.push(
    "The same jsonl export done as typical applications do it (`scripts/bench/naive_export.ts`): every " +
      "conversation and turn fetched into a Deno process with postgres.js, the file built as one string, then " +
      "written. Time from the first query to the file written; peak RSS of that process.",
  );
  lines.push("");
  lines.push(peersTable(r));
  lines.push("");

  if (r.ui) {
    lines.push("## 8. The web UI's reads");
    lines.push("");
    lines.push(
      `What the web UI asks of the API, ${r.ui.clients} concurrent clients through the functions server ` +
        "(`scripts/bench/ui_case.ts`): the preview of the export dialog and the conversations page, " +
        "and the history page's poll, answered 304 while nothing changed.",
    );
    lines.push("");
    lines.push(table(
      ["request", "requests/s", "p50 ms"],
      r.ui.runs.map((run) => [run.name, n(run.requestsPerSecond), run.p50Ms.toFixed(1)]),
    ));
    lines.push("");
  }

  lines.push(...analysis(r, all));
  lines.push(...methodNotes());
  return lines.join("\n") + "\n";
}

function methodNotes(): string[] {
  return [
    "## Notes on the method",
    "",
    "- **Own cluster and server.** `scripts/bench.sh` builds a throwaway Postgres cluster and functions server " +
    "on their own ports, as `npm test` does, so a running `npm start` stack is left alone. Only the benchmark " +
    "drives exports and expiry there: pg_cron's `process-exports` and `expire-exports` jobs are unscheduled, " +
    "and per-user limits are raised so that no request is refused. `max_wal_size` is raised to 8GB so that no " +
    "checkpoint starts in the middle of a measurement; instead each timed step of cases 1 and 5 starts after an " +
    "explicit `CHECKPOINT`. Everything else is the cluster `npm test` uses (fsync and synchronous commit on).",
    "- **Data.** `scripts/bench/seed_conversations.sql` and `seed_export_logs.sql`: set-based SQL, `setseed()` for " +
    "`random()`, ids from md5 of row numbers, so every run stores the same rows. Turns are 200–1,500 characters " +
    "cut from paragraphs of support-dialogue sentences with quotes, commas, backslashes, tabs, CRLF and LF line " +
    "breaks, list items, markdown-looking lines and non-ASCII text (accents, CJK, Cyrillic, emoji); one " +
    "conversation in ten opens with a system turn (and so ends on a user turn, which alpaca skips). Completed " +
    "exports in export_logs each keep one small stored chunk.",
    "- **Floors.** The (a) and (b) queries are the rendering migration's per-conversation expressions in one " +
    "plain SELECT per format, reading each conversation by key in position order as the batches do, without " +
    "JIT as the batches run. After each export, the floor's text is compared with the stored file batch by " +
    "batch (md5); a difference would show as **no** in the tables.",
    "- **Baseline endpoint of case 4.** No route was added to the API for the benchmark. The baseline is " +
    "`GET /exports/<an id that does not exist>`: the same JWT verification and user lookup as every request, " +
    "then one transaction as the user (role and claims set, one SELECT by the unique `export_id` index that " +
    "finds nothing, commit), answered 404. That is the trivial authenticated `select` the issue asks for, with " +
    "the real middleware, run by the real server; it costs an index probe and an error body more than `select 1`.",
    "- **Load generator.** autocannon (pinned devDependency) through its programmatic API " +
    "(`scripts/bench/api_load.mjs`): its CLI sends the same headers on every connection, and each of the 16 " +
    "connections must carry its own user's token.",
    "- **Memory.** Peaks are the kernel's `VmHWM` (reset per phase with `clear_refs`) and 50 ms samples of " +
    "`VmRSS`; the functions server's processes are found by ancestry from the server this run started, since " +
    "other functions servers may run on the same machine.",
    "",
  ];
}

async function readAll(): Promise<Results> {
  const timings: Record<string, number> = {};
  try {
    for (
      const line of (await Deno.readTextFile(`${env("BENCH_RESULTS_DIR")}/timings.jsonl`)).split(
        "\n",
      )
    ) {
      if (!line.trim()) continue;
      for (const [name, seconds] of Object.entries(JSON.parse(line) as Record<string, number>)) {
        timings[name] = (timings[name] ?? 0) + seconds;
      }
    }
  } catch {
    // no timings
  }
  const startedAt = Number(Deno.env.get("BENCH_STARTED_AT") ?? 0);
  if (startedAt && timings.total === undefined) timings.total = Date.now() / 1000 - startedAt;
  return {
    objectStore: await readResult("object-store"),
    ui: await readResult("ui"),
    small: await readResult("files-small"),
    large: await readResult("files-large"),
    peers: await readResult("peers"),
    apiSmall: await readResult("api-small"),
    apiLarge: await readResult("api-large"),
    expirySmall: await readResult("expiry-small"),
    expiryLarge: await readResult("expiry-large"),
    downloadProfile: await readResult("profile-download"),
    generationProfile: await readResult("profile-generation"),
    timings,
  };
}

if (import.meta.main) {
  const results = await readAll();
  const report = await buildReport(results);
  const writeIndex = Deno.args.indexOf("--write");
  if (writeIndex >= 0) await Deno.writeTextFile(Deno.args[writeIndex + 1], report);
  console.log(report);
}
