/**
 * Case 1 for one layout: the real export, queued through the API and driven from queued to
 * completed by one worker process, beside its two floors on the same members in the same run —
 * (a) COPY (one SELECT of the same text) TO STDOUT to nowhere, (b) INSERT INTO a scratch table
 * SELECT the same text — and a byte-for-byte check that the floors produced the file's text.
 */
import postgres from "postgres";
import { api } from "../../tests/support/api.ts";
import { ConversationStatusSchema } from "../../shared/domain/export_config.ts";
import { CONVERSATION_EPOCH_MS, env, type Layout } from "./config.ts";
import { benchSql } from "./db.ts";
import { psql, timings } from "./psql.ts";

/** What case 1 measured for one layout at one size. */
export interface GenerationResult {
  layout: string;
  conversations: number;
  fileBytes: number;
  batches: number;
  exportMs: number;
  /** Median and slowest step of the worker (one batch, or the final one that finishes). */
  stepMedianMs: number;
  stepMaxMs: number;
  floorCopyMs: number;
  floorInsertMs: number;
  workerPeakRssBytes: number;
  /** The floors' text equals the stored file's batches, byte for byte (md5 per batch). */
  floorMatchesFile: boolean;
  exportId: string;
  exportLogId: string;
}

/** Pauses (or resumes) every driver's claims: exports stay queued until the worker starts. */
export async function setPaused(paused: boolean): Promise<void> {
  await benchSql()`update exports_internal.settings set processing_paused = ${paused}`;
}

/** Requests the export of the owner's first `conversations` conversations through the API. */
export async function requestExport(
  token: string,
  layout: Layout,
  conversations: number,
  total: number,
) {
  // Every conversation status: the big export takes them all, not only the approved ones.
  const filters: Record<string, unknown> = { statuses: ConversationStatusSchema.options };
  if (conversations < total) {
    filters.createdTo = new Date(CONVERSATION_EPOCH_MS + conversations * 60_000).toISOString();
  }
  const config: Record<string, unknown> = { scope: "filtered", filters };
  if (layout.template) config.template = layout.template;
  const created = await api("", { token, body: { format: layout.format, config } });
  if (created.status !== 202) {
    throw new Error(`POST /exports answered ${created.status}: ${JSON.stringify(created.body)}`);
  }
  if (created.body.conversation_count !== conversations) {
    throw new Error(
      `The export has ${created.body.conversation_count} conversations, expected ${conversations}`,
    );
  }
  return created.body as { id: string; export_id: string };
}

/** Runs the worker process on one export; returns its own report (time, steps, peak RSS). */
async function driveExport(exportLogId: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL("./drive_export.ts", import.meta.url).pathname,
      exportLogId,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`The worker process failed (${output.code})`);
  return JSON.parse(new TextDecoder().decode(output.stdout)) as {
    elapsedMs: number;
    steps: number;
    stepMedianMs: number;
    stepMaxMs: number;
    outcome: string;
    peakRssBytes: number;
  };
}

// The floors run as the batches do: without JIT (a batch's plan is too cheap for it to start,
// while a whole-file plan would be compiled first).
const FLOOR_COPY = `
select set_config('bench.export_log_id', :'id', false) as ignored \\gset
set jit = off;
\\o /dev/null
\\timing on
copy (select body from bench.:view order by position) to stdout with (format binary);
`;

const FLOOR_INSERT = `
select set_config('bench.export_log_id', :'id', false) as ignored \\gset
set jit = off;
\\timing on
insert into bench.scratch (position, body) select position, body from bench.:view where body is not null;
`;

/** Batches whose floor text differs from the stored chunk (md5 of each side). */
async function mismatchedBatches(exportLogId: string): Promise<number> {
  const [{ mismatched }] = await benchSql()<{ mismatched: number }[]>`
    select (count(*) filter (where s.h is distinct from c.data_md5))::integer as mismatched
      from (select (position - 1) / (select batch_size from exports_internal.settings) + 1 as k,
                   md5(string_agg(body, '' order by position)) as h
              from bench.scratch group by 1) s
      full join (select chunk_number, data_md5 from exports_internal.export_chunks
                  where export_log_id = ${exportLogId} and chunk_number between 1 and 2147483646) c
        on c.chunk_number = s.k`;
  return mismatched;
}

/** Writes dirty buffers out, so every timed step starts from the same state. */
async function checkpoint(): Promise<void> {
  await benchSql()`checkpoint`;
}

/** Measures one layout: the export first, then floor (a), then floor (b), each after a checkpoint. */
export async function measureGeneration(
  token: string,
  layout: Layout,
  conversations: number,
  total: number,
): Promise<GenerationResult> {
  await setPaused(true);
  const created = await requestExport(token, layout, conversations, total);
  await checkpoint();
  await setPaused(false);
  const worker = await driveExport(created.id);
  const [row] = await benchSql()<{ status: string; file_size: number; chunks: number }[]>`
    select l.status, l.file_size, j.chunks_written as chunks
      from public.export_logs l join exports_internal.export_jobs j on j.export_log_id = l.id
     where l.id = ${created.id}`;
  if (worker.outcome !== "completed" || row.status !== "completed") {
    throw new Error(`${layout.name}: the export ended ${row.status} (worker: ${worker.outcome})`);
  }

  await checkpoint();
  const [floorCopyMs] = timings(await psql(FLOOR_COPY, { id: created.id, view: layout.floorView }));
  await checkpoint();
  const [floorInsertMs] = timings(
    await psql(FLOOR_INSERT, { id: created.id, view: layout.floorView }),
  );
  const mismatched = await mismatchedBatches(created.id);
  await benchSql()`truncate bench.scratch`;

  return {
    layout: layout.name,
    conversations,
    fileBytes: row.file_size,
    batches: row.chunks,
    exportMs: worker.elapsedMs,
    stepMedianMs: worker.stepMedianMs,
    stepMaxMs: worker.stepMaxMs,
    floorCopyMs,
    floorInsertMs,
    workerPeakRssBytes: worker.peakRssBytes,
    floorMatchesFile: mismatched === 0,
    exportId: created.export_id,
    exportLogId: created.id,
  };
}

/** Deletes an export (its members and file go by cascade) and vacuums, so no autovacuum of its
 * dead rows runs during a later measurement. */
export async function dropExport(exportLogId: string): Promise<void> {
  const sql = benchSql();
  await sql`delete from public.export_logs where id = ${exportLogId}`;
  await sql`vacuum exports_internal.export_chunks, exports_internal.export_members,
                   exports_internal.export_jobs, public.export_logs`;
}

/** Where one export's time goes: rendering every batch alone, and the plan of one batch. */
export interface GenerationProfile {
  layout: string;
  conversations: number;
  /** render_batch over every batch, in one statement, nothing stored. */
  renderOnlyMs: number;
  /** EXPLAIN (ANALYZE, BUFFERS) of render_batch's query for one batch (auto_explain). */
  batchPlan: string;
}

const RENDER_ONLY = `
\\o /dev/null
\\timing on
select sum(octet_length(r.body))
  from generate_series(0, (:total - 1) / :batch) b
 cross join lateral exports_internal.render_batch(:'id', b * :batch + 1, least((b + 1) * :batch, :total), b * :batch) r;
`;

/** Profiles a layout whose export missed its target (the export must still exist). */
export async function profileGeneration(result: GenerationResult): Promise<GenerationProfile> {
  const [{ batch }] = await benchSql()<
    { batch: number }[]
  >`select batch_size as batch from exports_internal.settings`;
  const [renderOnlyMs] = timings(
    await psql(RENDER_ONLY, {
      id: result.exportLogId,
      batch: String(batch),
      total: String(result.conversations),
    }),
  );
  const notices: string[] = [];
  const session = postgres(env("SUPABASE_DB_URL"), {
    max: 1,
    prepare: false,
    onnotice: (n) => notices.push(n.message),
  });
  try {
    await session.unsafe(`load 'auto_explain'`);
    await session`select set_config('auto_explain.log_min_duration', '0', false),
                         set_config('auto_explain.log_analyze', 'on', false),
                         set_config('auto_explain.log_buffers', 'on', false),
                         set_config('auto_explain.log_nested_statements', 'on', false),
                         set_config('auto_explain.log_level', 'notice', false)`;
    const middle = Math.floor(result.conversations / batch / 2) * batch;
    await session`select octet_length(body) from exports_internal.render_batch(
                    ${result.exportLogId}, ${middle + 1}, ${middle + batch}, ${middle})`;
  } finally {
    await session.end({ timeout: 5 });
  }
  const batchPlan =
    notices.filter((n) => n.includes("Query Text:") && n.includes("batch_members")).pop() ??
      notices.join("\n\n");
  return { layout: result.layout, conversations: result.conversations, renderOnlyMs, batchPlan };
}
