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
  if (!p) return out;
  out.push(
    `Where the time goes, on the same ${mb(p.bytes)} MB file (${
      n(p.slices)
    } slices of 512 KiB, each read by its ` +
      "own query, as `streamFile` in `shared/download.ts` does):",
    "",
    "| path | s | MB/s |",
    "| --- | --- | --- |",
    `| \`GET …/download\` through the functions server (curl), median | ${s(d.httpMedianMs)} | ${
      rate(d.httpMedianMs)
    } |`,
    `| the same, straight to the exports function's own port (no proxy hop) | ${
      s(p.directToFunctionMs)
    } | ${rate(p.directToFunctionMs)} |`,
    `| the slice queries alone, as streamFile runs them (postgres.js; bytea arrives as hex text) | ${
      s(p.sliceQueriesHexMs)
    } | ${rate(p.sliceQueriesHexMs)} |`,
    `| of which decoding the hex: \`Buffer.from(hex, "hex")\` of as many 512 KiB slices, alone | ${
      s(p.hexDecodeOnlyMs)
    } | ${rate(p.hexDecodeOnlyMs)} |`,
    `| the slice queries fetching base64 text instead (\`encode(substring(…), 'base64')\`, decoded with \`Buffer.from(…, "base64")\`) | ${
      s(p.sliceQueriesBase64Ms)
    } | ${rate(p.sliceQueriesBase64Ms)} |`,
    `| \`COPY … TO STDOUT\` of the stored bytes (psql), median | ${s(d.copyMedianMs)} | ${
      rate(d.copyMedianMs)
    } |`,
    "",
    "What limits it: the slice queries themselves, as postgres.js runs them — they take " +
      `${s(p.sliceQueriesHexMs)} s of the download's ${
        s(d.httpMedianMs)
      } s. postgres.js reads every column in ` +
      "text format, so each 512 KiB slice of bytea crosses the connection as 1 MiB of hex, is read into a string " +
      "and decoded with Node's `Buffer.from(…, \"hex\")`, which in Deno's Node compatibility layer runs at about " +
      `${rate(p.hexDecodeOnlyMs)} MB/s (${
        s(p.hexDecodeOnlyMs)
      } s for this file on its own). The proxy hop of the ` +
      "local functions server is the difference between the first two rows (on Supabase the platform's gateway " +
      `stands there instead). Postgres is not the limit: COPY reads the same chunks at ${
        rate(d.copyMedianMs)
      } MB/s.`,
    "",
    "Proposed change (in `shared/download.ts`, outside this issue): select each slice as " +
      "`encode(substring(data from … for …), 'base64')` and decode it with `Buffer.from(text, \"base64\")` (or " +
      `\`Uint8Array.fromBase64\`): the slice queries then take ${
        s(p.sliceQueriesBase64Ms)
      } s instead of ` +
      `${s(p.sliceQueriesHexMs)} s for this file. Slices stay 512 KiB, so memory stays flat.`,
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
    const lastSmall = steady.smallPeaksBytes.at(-1)!;
    out.push(
      "What limits it: the exports function keeps no file in memory (it streams 512 KiB slices), but its heap " +
        "grows with the bytes it has streamed since it started, until V8 settles on a heap size: each slice " +
        "leaves a 1 MiB hex string and a 512 KiB buffer as garbage (see case 2), which V8 collects in its own " +
        `time. The small phase streamed ${mb(smallBytes)} MB, the large one ${
          mb(largeBytes)
        } MB. On the warmed ` +
        `process, the small file's peak rises to ${
          mib(lastSmall)
        } MiB over ${steady.smallPeaksBytes.length} ` +
        `downloads and the large file's is ${mib(steady.largePeakBytes)} MiB: ` +
        `${x(steady.largePeakBytes / lastSmall)}× for a file ${
          x(r.large.download.bytes / r.small.download.bytes)
        }× ` +
        "the size. Memory is bounded, well under the 256 MiB limit, and does not follow the file size; the " +
        "ratio of the phases' peaks measures how far each phase got in growing the heap. Fetching slices as " +
        "base64 (case 2's proposal) would also shrink the largest garbage, 0.7 MiB of text per slice in place of 1 MiB.",
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
        "to the large table). A list runs seven statements in its transaction (BEGIN, role and claims, the count, the " +
        "page, `reset role`, the page's progress from `export_jobs`, COMMIT) where the baseline runs four, and it " +
        "returns 25 ExportLogs as JSON, each completed one with a freshly HMAC-signed `file_url`" +
        cpuMultiples(api) + ". Possible changes (in " +
        "`shared/export_service.ts`, outside this issue): the page and its total in one statement " +
        "(`count(*) over ()`), and the progress read in the same statement through a security-definer function " +
        "instead of `reset role` and a second query — three round trips fewer per list.",
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
    `The plan of its UPDATE at ${n(r.expiryLarge.rows)} rows, with nothing due:`,
    "",
    ...fence(planOnly(r.expiryLarge.nothingDue.plan)),
    "",
    `and at ${n(r.expirySmall.rows)} rows:`,
    "",
    ...fence(planOnly(r.expirySmall.nothingDue.plan)),
    "",
    "What limits it: no index serves `status = 'completed' and expires_at <= now()` together. The planner either " +
    "reads every completed export (`idx_export_logs_status`, then each heap page) to find none due, or walks " +
    "`idx_export_logs_expires_at` over every expired export (expired rows keep their past `expires_at`); either " +
    "way the work grows with the table.",
    "",
    "Proposed change (a migration; `scripts/bench/proposals.sql` has the function as measured): a partial " +
    "index on `export_logs (expires_at) where status = 'completed'`, and `mark_expired_exports()` taking the due " +
    "rows through it in `expires_at` order, 10,000 at a time, with `jit = off`. The index alone is not enough: " +
    "the planner judges `expires_at <= now()` from every row's `expires_at`, expired ones included, expects most " +
    "completed rows to be due and keeps reading them all; the `ORDER BY expires_at LIMIT` makes the index the " +
    "cheaper plan whatever that estimate. With nothing due it then finds nothing in one index probe" +
    (r.expiryLarge.proposal && r.expirySmall.proposal
      ? `: ${r.expiryLarge.proposal.medianMs.toFixed(2)} ms at ${n(r.expiryLarge.rows)} rows and ` +
        `${r.expirySmall.proposal.medianMs.toFixed(2)} ms at ${
          n(r.expirySmall.rows)
        } rows in this run ` +
        `(${x(r.expiryLarge.proposal.medianMs / r.expirySmall.proposal.medianMs)}×), against ` +
        `${r.expiryLarge.nothingDue.medianMs.toFixed(2)} ms now.`
      : "."),
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
