/**
 * The "where targets do not hold" part of the report: for each case with a target that failed,
 * the measured ratio and what limits it, from the profiles, CPU accounting and plans that the
 * cases recorded in the same run.
 */
import type { DownloadProfile } from "./download_profile.ts";
import type { GenerationProfile } from "./generation.ts";
import { mb, mib, n, type Results, s, type Target, x } from "./report.ts";

/** The plan part of an auto_explain or EXPLAIN text (its query text left out). */
function planOnly(text: string): string {
  const lines = text.split("\n");
  const first = lines.findIndex((line) => /^\S.*\(cost=/.test(line));
  return (first >= 0 ? lines.slice(first) : lines).join("\n").trim();
}

function fence(text: string): string[] {
  return ["```", text, "```"];
}

function generationSection(r: Results, failing: Target[]): string[] {
  if (!failing.some((t) => t.id === "1") || !r.large) return [];
  const profiles = ((r.generationProfile as { profiles?: GenerationProfile[] } | null)?.profiles) ??
    [];
  const out = ["### Case 1: generation", ""];
  for (const t of failing.filter((t) => t.id === "1")) {
    out.push(`- ${t.what}: ${t.measured}, target ${t.target}.`);
  }
  out.push("");
  for (const p of profiles) {
    const g = r.large.generation.find((g) => g.layout === p.layout)!;
    out.push(
      `**${p.layout}.** Rendering every batch alone (\`render_batch\` over all ${
        n(g.batches)
      } batches in one ` +
        `statement, nothing stored) takes ${s(p.renderOnlyMs)} s of the export's ${
          s(g.exportMs)
        } s; storing the ` +
        `chunks, hashing them and the per-batch transactions (claim, lease renewal, checkpoint) take the other ` +
        `${s(g.exportMs - p.renderOnlyMs)} s. The floors render the same text in ${
          s(g.floorCopyMs)
        } s (a) and render ` +
        `and store it in ${s(g.floorInsertMs)} s (b). The worker's median step (one batch) took ` +
        `${g.stepMedianMs.toFixed(0)} ms, its slowest ${
          g.stepMaxMs.toFixed(0)
        } ms. The plan of one batch ` +
        "(auto_explain inside `render_batch`, EXPLAIN ANALYZE with BUFFERS):",
      "",
      ...fence(planOnly(p.batchPlan)),
      "",
    );
  }
  return out;
}

function downloadSection(r: Results, failing: Target[]): string[] {
  const t = failing.find((t) => t.id === "2");
  const p = r.downloadProfile as DownloadProfile | null;
  if (!t || !r.large) return [];
  const d = r.large.download;
  const rate = (ms: number) => mb(d.bytes / (ms / 1000));
  const out = ["### Case 2: download", "", `- ${t.what}: ${t.measured}, target ${t.target}.`, ""];
  if (!p || p.sliceReadsMs === undefined) return out;
  const proxyMs = Math.max(0, d.httpMedianMs - p.directToFunctionMs);
  const serveMs = Math.max(0, p.directToFunctionMs - p.sliceReadsMs);
  const parts: [string, number][] = [
    ["the slice reads (binary COPY, a round trip each)", p.sliceReadsMs],
    ["serving the stream from the function beyond the reads (Deno.serve)", serveMs],
    ["the proxy hop of the local functions server", proxyMs],
  ];
  const [largestName, largestMs] = [...parts].sort((a, b) => b[1] - a[1])[0];
  const sliceMiB = p.sliceBytes / 2 ** 20;
  out.push(
    `Where the time goes, on the same ${mb(p.bytes)} MB file (${n(p.slices)} slices of ${sliceMiB} MiB, ` +
      "each read by `readChunkSlice` in `shared/database/chunk_reader.ts` as `COPY (SELECT substring(…)) TO STDOUT " +
      "(FORMAT binary)`, as `streamFile` in `shared/domain/download.ts` does, which reads the next slice while the " +
      "current one is sent):",
    "",
    "| path | s | MB/s |",
    "| --- | --- | --- |",
    `| \`GET …/download\` through the functions server (curl), median | ${s(d.httpMedianMs)} | ${
      rate(d.httpMedianMs)
    } |`,
    `| the same, straight to the exports function's own port (no proxy hop) | ${
      s(p.directToFunctionMs)
    } | ${rate(p.directToFunctionMs)} |`,
    `| the slice reads alone, one after another (postgres.js, binary COPY) | ${s(p.sliceReadsMs)} | ${
      rate(p.sliceReadsMs)
    } |`,
    `| Postgres alone: reading every slice in one statement, nothing sent | ${s(p.postgresReadMs)} | ${
      rate(p.postgresReadMs)
    } |`,
    `| \`COPY … TO STDOUT\` of the stored bytes (psql), median | ${s(d.copyMedianMs)} | ${
      rate(d.copyMedianMs)
    } |`,
    "",
    `Of the download's ${s(d.httpMedianMs)} s: ` +
      parts.map(([name, ms]) => `${name} ${s(ms)} s`).join(", ") +
      " (the reads measured alone, the rest the difference of two rows above; the read-ahead overlaps the " +
      "reads with serving, so the parts can add up to more than the whole). " +
      `What limits it: ${largestName}, ${s(largestMs)} s. ` +
      "The proxy hop of the local functions server is the difference between the first two rows (on " +
      "Supabase the platform's gateway stands there instead). Every process on the path shares the " +
      "machine's two cores with curl and Postgres.",
    "",
  );
  return out;
}

function memorySection(r: Results, failing: Target[]): string[] {
  const rows = failing.filter((t) => t.id === "3");
  if (rows.length === 0) return [];
  const out = [
    "### Case 3: memory",
    "",
    ...rows.map((t) => `- ${t.what}: ${t.measured}, target ${t.target}.`),
    "",
  ];
  const steady = r.large?.memory.steady;
  if (r.small && r.large && steady) {
    const smallBytes = r.small.download.bytes * r.small.download.httpMs.length;
    const largeBytes = r.large.download.bytes * (r.large.download.httpMs.length + 1);
    const maxSmall = Math.max(...steady.smallPeaksBytes);
    out.push(
      "What limits it: the exports function keeps no file in memory (it streams 2 MiB slices, each read " +
        "as raw bytes and handed on), but every slice leaves its bytes as garbage, and V8 lets the heap " +
        "grow before it collects. The local functions server runs each function with " +
        "`--v8-flags=--max-old-space-size=150`, as the edge runtime caps a function's memory: the heap grows " +
        "with the bytes streamed until it nears that cap, and from there the resident size stays on a plateau. " +
        `The small phase streamed ${mb(smallBytes)} MB and peaked at ${
          mib(r.small.memory.exportsFunctionPeakRssBytes)
        } MiB; the large one streamed ${mb(largeBytes)} MB and peaked at ${
          mib(r.large.memory.exportsFunctionPeakRssBytes)
        } MiB` +
        (r.small.memory.exportsFunctionPeakRssBytes < 0.9 * maxSmall
          ? ", the small phase ending before the heap reached its plateau. "
          : ". ") +
        `On the warmed process, the small file's peaks are ${
          steady.smallPeaksBytes.map(mib).join(", ")
        } MiB over ${steady.smallPeaksBytes.length} ` +
        `downloads and the large file's is ${mib(steady.largePeakBytes)} MiB: ` +
        `${x(steady.largePeakBytes / maxSmall)}× for a file ${
          x(r.large.download.bytes / r.small.download.bytes)
        }× the size. ` +
        "Memory is bounded by the heap cap, under the 256 MiB limit, and does not follow the file size; the ratio " +
        "of the phases' peaks measures how far the small phase got towards the plateau, not a leak (a leak would " +
        "end the function at the cap).",
      "",
    );
  }
  return out;
}

function apiSection(r: Results, failing: Target[]): string[] {
  const rows = failing.filter((t) => t.id === "4");
  if (rows.length === 0) return [];
  const out = [
    "### Case 4: API cost",
    "",
    ...rows.map((t) => `- ${t.what}: ${t.measured}, target ${t.target}.`),
    "",
  ];
  const api = r.apiLarge ?? r.apiSmall;
  if (api) {
    const cpu = (e: (typeof api.endpoints)[number]) =>
      (e as unknown as { cpuMsPerRequest?: Record<string, number> }).cpuMsPerRequest;
    out.push(
      `CPU time per request in each process on the path, at ${
        n(api.rows)
      } rows (from /proc over each run; the ` +
        "load generator, the proxy, the function and Postgres share the machine's 2 cores, so throughput follows " +
        "the CPU a request costs):",
      "",
      "| endpoint | requests/s | exports function ms | functions proxy ms | Postgres ms | total ms |",
      "| --- | --- | --- | --- | --- | --- |",
      ...api.endpoints.map((e) => {
        const c = cpu(e);
        if (!c) return `| ${e.name} | ${n(e.requestsPerSecond)} | — | — | — | — |`;
        const total = c.exportsFunction + c.functionsProxy + c.postgres;
        return `| ${e.name} | ${n(e.requestsPerSecond)} | ${c.exportsFunction.toFixed(2)} | ${
          c.functionsProxy.toFixed(2)
        } | ${c.postgres.toFixed(2)} | ${total.toFixed(2)} |`;
      }),
      "",
      "What limits it: fixed work per request, not the table's size (the list keeps its throughput from the small " +
        "to the large table). A list runs seven statements in its transaction where the baseline runs four: BEGIN, " +
        "role and claims, the count and the page (sent together, pipelined), `reset role` and the page's progress " +
        "from `export_jobs` (pipelined too), COMMIT; and it returns 25 ExportLogs as JSON, each completed one with " +
        "a freshly signed `file_url`" + cpuMultiples(api) + ". A CPU profile of the function under list load " +
        "showed socket writes to Postgres as its largest item, and WebCrypto's HMAC before links were signed with " +
        "node:crypto (10% of the function's time then). What is left to try: the progress read inside the page's " +
        "statement, through a security-definer function the user may call, instead of `reset role` and a second " +
        "query; that adds a function to the API's database surface, so it is not done here.",
      "",
    );
  }
  return out;
}

/** ": the function's CPU per list request is N× the baseline's, Postgres's M×", when measured. */
function cpuMultiples(api: NonNullable<Results["apiLarge"]>): string {
  const cpu = (prefix: string) =>
    (api.endpoints.find((e) => e.name.startsWith(prefix)) as {
      cpuMsPerRequest?: Record<string, number>;
    } | undefined)
      ?.cpuMsPerRequest;
  const list = cpu("list page 1, limit 25");
  const baseline = cpu("baseline");
  if (!list || !baseline) return "";
  return `: per request, the list costs ${
    x(list.exportsFunction / baseline.exportsFunction)
  }× the baseline's CPU ` +
    `in the exports function and ${x(list.postgres / baseline.postgres)}× in Postgres`;
}

function expirySection(r: Results, failing: Target[]): string[] {
  const t = failing.find((t) => t.id === "5");
  if (!t || !r.expiryLarge || !r.expirySmall) return [];
  return [
    "### Case 5: expiry",
    "",
    `- ${t.what}: ${t.measured}, target ${t.target}.`,
    "",
    `The plan of one batch of it (EXPLAIN (ANALYZE, BUFFERS), jit off as the function sets it) at ${
      n(r.expiryLarge.rows)
    } rows, with nothing due:`,
    "",
    ...fence(planOnly(r.expiryLarge.nothingDue.plan)),
    "",
    `and at ${n(r.expirySmall.rows)} rows:`,
    "",
    ...fence(planOnly(r.expirySmall.nothingDue.plan)),
    "",
    ...(r.expiryLarge.nothingDue.plan.includes("idx_export_logs_completed_expires_at")
      ? [
        "`mark_expired_exports()` takes the due rows through the partial index " +
        "`idx_export_logs_completed_expires_at` (completed exports only) in `expires_at` order, 10,000 at a " +
        "time, with `jit = off`; the plans above are its first batch. With nothing due, the large table's plan " +
        "is one probe of that index, so what is left is the fixed cost of the call (a fresh session, a " +
        "plpgsql call and its planning) and the machine's noise on a few milliseconds.",
      ]
      : [
        "What limits it: at this size the planner does not take the partial index " +
        "`idx_export_logs_completed_expires_at` for the function's first batch. It reads every completed export " +
        "(`idx_export_logs_status`, then each heap page) and sorts the due ones, so the work grows with the " +
        "table. Its estimate of due rows comes from every row's `expires_at`, expired ones included, so it " +
        "expects most completed rows to be due; the function's `ORDER BY expires_at LIMIT 10000` makes an " +
        "ordered walk of the index the cheaper plan only when that estimate is well above the LIMIT. " +
        "Changing that plan belongs to the function's migration, outside this issue.",
      ]),
    "",
  ];
}

/** Markdown lines for the targets that do not hold (none when all hold). */
export function analysis(r: Results, all: Target[]): string[] {
  const failing = all.filter((t) => !t.holds);
  if (failing.length === 0) return [];
  return [
    "## Where targets do not hold",
    "",
    ...generationSection(r, failing),
    ...downloadSection(r, failing),
    ...memorySection(r, failing),
    ...apiSection(r, failing),
    ...expirySection(r, failing),
  ];
}
