/**
 * The commands of `deno task export`: their specs (options and help) and what each does. Each
 * returns its exit code: 0 ok, 1 the export failed; errors are thrown and main.ts maps them.
 */
import type { ExportDownload, ExportLog, ExportsClient } from "../client/exports_client.ts";
import { ValidationError } from "../shared/core/errors.ts";
import { ExportFormatSchema } from "../shared/domain/export_config.ts";
import { EXPORT_STATUSES, parseListQuery, parsePreviewQuery } from "../shared/http/list_query.ts";
import { type CommandSpec, type OptionSpec, PROGRAM, UsageError, WAIT_OPTION } from "./args.ts";
import { CREATE_OPTIONS, describeIssues, exportRequestFromFlags } from "./create_flags.ts";
import { asJson, describeExport, describePage, describePreview, describeUsage } from "./output.ts";
import {
  downloadProgressReporter,
  exportProgressReporter,
  formatBytes,
  type ProgressOutput,
} from "./progress.ts";

/** What a command runs with. */
export interface CommandContext {
  client: ExportsClient;
  positionals: string[];
  values: Record<string, unknown>;
  /** Prints a result line on stdout. */
  print(text: string): void;
  /** Progress and notes, on stderr. */
  progress: ProgressOutput;
  signal: AbortSignal;
}

const OUT_OPTION: OptionSpec = {
  type: "string",
  value: "FILE",
  help: "save the file to FILE (streamed; `-` for stdout)",
};

/** Every command: its spec for parsing and help. */
export const COMMANDS: Record<string, CommandSpec> = {
  create: {
    summary: "Request an export; with --wait or --out, follow it to the end (and save the file)",
    positionals: [],
    options: {
      ...CREATE_OPTIONS,
      wait: WAIT_OPTION,
      out: { ...OUT_OPTION, help: `${OUT_OPTION.help}; implies --wait` },
      "idempotency-key": {
        type: "string",
        value: "KEY",
        help: "a repeat with the same KEY within 24 h returns the same export",
      },
    },
    examples: [
      `${PROGRAM} create --format jsonl --wait --out demo.jsonl`,
      `${PROGRAM} create --format jsonl --template sharegpt --tier scenario,edge_case --quality-min 8 --out train.jsonl`,
      `${PROGRAM} create --format csv --status approved,pending_review --category billing --no-metadata`,
      `${PROGRAM} create --format json --ids 3f6c…,9a01… --approval-history`,
    ],
  },
  preview: {
    summary:
      "Show what an export would contain, storing nothing: the count, the file's first records, a page of conversations",
    positionals: [],
    options: {
      ...CREATE_OPTIONS,
      page: { type: "string", value: "N", help: "page of conversations (default 1)" },
      limit: { type: "string", value: "N", help: "conversations per page, 1–100 (default 25)" },
    },
    examples: [
      `${PROGRAM} preview --format jsonl --template alpaca --tier scenario`,
      `${PROGRAM} preview --format csv --search refund --json`,
    ],
  },
  usage: {
    summary: "Show your limits and how much of each is used",
    positionals: [],
    options: {},
  },
  status: {
    summary: "Show one export; with --wait, follow it until it finishes",
    positionals: ["ID"],
    options: { wait: WAIT_OPTION },
  },
  list: {
    summary: "List your exports, newest first",
    positionals: [],
    options: {
      status: {
        type: "string",
        value: "STATUS",
        help: `only exports in this status: ${EXPORT_STATUSES.join(", ")}`,
      },
      format: {
        type: "string",
        value: "FORMAT",
        help: `only this format: ${ExportFormatSchema.options.join(", ")}`,
      },
      from: { type: "string", value: "TIME", help: "requested at or after an ISO 8601 time" },
      to: { type: "string", value: "TIME", help: "requested before an ISO 8601 time" },
      page: { type: "string", value: "N", help: "page number (default 1)" },
      limit: { type: "string", value: "N", help: "exports per page, 1–100 (default 25)" },
    },
  },
  download: {
    summary: "Save a completed export's file, streamed, with a progress bar",
    positionals: ["ID"],
    options: { out: { ...OUT_OPTION, help: `${OUT_OPTION.help}; default export-<ID>.<ext>` } },
  },
  delete: {
    summary: "Delete an export and its file (a running export is stopped)",
    positionals: ["ID"],
    options: {},
  },
  retry: {
    summary: "Queue a failed export again; with --wait or --out, follow it to the end",
    positionals: ["ID"],
    options: {
      wait: WAIT_OPTION,
      out: { ...OUT_OPTION, help: `${OUT_OPTION.help}; implies --wait` },
    },
  },
};

/** What each command does. */
export const HANDLERS: Record<string, (ctx: CommandContext) => Promise<number>> = {
  async create(ctx) {
    const request = exportRequestFromFlags(ctx.values);
    const log = await ctx.client.createExport(request, {
      idempotencyKey: ctx.values["idempotency-key"] as string | undefined,
      signal: ctx.signal,
    });
    return await conclude(ctx, log);
  },

  async preview(ctx) {
    const request = exportRequestFromFlags(ctx.values);
    const params = new URLSearchParams();
    for (const name of ["page", "limit"]) {
      const value = ctx.values[name];
      if (typeof value === "string") params.set(name, value);
    }
    const query = parseFlags(() => parsePreviewQuery(params), "preview");
    const preview = await ctx.client.previewExport(request, { ...query, signal: ctx.signal });
    ctx.print(ctx.values.json ? asJson(preview) : describePreview(preview));
    return 0;
  },

  async usage(ctx) {
    const usage = await ctx.client.getUsage({ signal: ctx.signal });
    ctx.print(ctx.values.json ? asJson(usage) : describeUsage(usage));
    return 0;
  },

  async status(ctx) {
    const [exportId] = ctx.positionals;
    const log = ctx.values.wait
      ? await follow(ctx, exportId)
      : await ctx.client.getExport(exportId, { signal: ctx.signal });
    ctx.print(ctx.values.json ? asJson(log) : describeExport(log));
    return log.status === "failed" ? 1 : 0;
  },

  async list(ctx) {
    const params = new URLSearchParams();
    for (const name of Object.keys(COMMANDS.list.options)) {
      const value = ctx.values[name];
      if (typeof value === "string") params.set(name, value);
    }
    const query = parseFlags(() => parseListQuery(params), "list");
    const page = await ctx.client.listExports(query, { signal: ctx.signal });
    ctx.print(ctx.values.json ? asJson(page) : describePage(page));
    return 0;
  },

  async download(ctx) {
    const [exportId] = ctx.positionals;
    const download = await ctx.client.downloadExport(exportId, { signal: ctx.signal });
    const target = (ctx.values.out as string | undefined) ?? download.filename;
    await save(ctx, download, target);
    if (target !== "-") ctx.print(`Saved ${target} (${download.size} bytes)`);
    return 0;
  },

  async delete(ctx) {
    const [exportId] = ctx.positionals;
    await ctx.client.deleteExport(exportId);
    ctx.print(`Deleted export ${exportId}`);
    return 0;
  },

  async retry(ctx) {
    const [exportId] = ctx.positionals;
    return await conclude(ctx, await ctx.client.retryExport(exportId));
  },
};

/** Runs a parser of flags; what it refuses becomes a usage error of the command. */
function parseFlags<T>(parse: () => T, command: string): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new UsageError(describeIssues(error.issues), command);
    }
    throw error;
  }
}

/** After create or retry: follow the export if asked, save its file, print the outcome. */
async function conclude(ctx: CommandContext, log: ExportLog): Promise<number> {
  const out = ctx.values.out as string | undefined;
  const print = out === "-" ? (text: string) => ctx.progress.write(`${text}\n`) : ctx.print;
  if (!ctx.values.wait && out === undefined) {
    print(
      ctx.values.json ? asJson(log) : [
        `Export ${log.export_id} ${log.status}: ${log.conversation_count} conversations as ${log.format}`,
        `Follow it with: ${PROGRAM} status ${log.export_id} --wait`,
      ].join("\n"),
    );
    return 0;
  }
  log = await follow(ctx, log.export_id);
  if (log.status !== "completed") {
    if (ctx.values.json) print(asJson(log));
    ctx.progress.write(
      `Export ${log.export_id} ${log.status}: ${log.error_message ?? "no file to download"}\n`,
    );
    if (log.status === "failed") {
      ctx.progress.write(`Retry it with: ${PROGRAM} retry ${log.export_id} --wait\n`);
    }
    return 1;
  }
  if (out !== undefined) {
    await save(ctx, await ctx.client.downloadExport(log, { signal: ctx.signal }), out);
  }
  print(
    ctx.values.json ? asJson(log) : [
      `Export ${log.export_id} completed: ${log.progress.total} conversations, ${
        formatBytes(log.file_size ?? 0)
      } of ${log.format}`,
      out === undefined
        ? `Download it with: ${PROGRAM} download ${log.export_id} --out FILE`
        : out === "-"
        ? "Written to stdout"
        : `Saved ${out} (${log.file_size} bytes)`,
    ].join("\n"),
  );
  return 0;
}

/** Waits for the export to finish, showing its progress. */
async function follow(ctx: CommandContext, exportId: string): Promise<ExportLog> {
  const reporter = exportProgressReporter(ctx.progress);
  try {
    return await ctx.client.waitForExport(exportId, {
      onProgress: reporter.onProgress,
      signal: ctx.signal,
    });
  } finally {
    reporter.finish();
  }
}

/**
 * Streams the file to `target` chunk by chunk (never whole in memory), through `<target>.part`
 * renamed at the end, so an interrupted download never leaves a file that looks complete.
 */
async function save(ctx: CommandContext, download: ExportDownload, target: string): Promise<void> {
  const progress = downloadProgressReporter(
    ctx.progress,
    download.size,
    target === "-" ? "stdout" : target,
  );
  let written = 0;
  const counted = download.stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        written += chunk.byteLength;
        progress.advance(chunk.byteLength);
        controller.enqueue(chunk);
      },
    }),
  );
  const checkLength = () => {
    if (written !== download.size) {
      throw new Error(
        `The download ended after ${written} of ${download.size} bytes; run it again`,
      );
    }
  };
  if (target === "-") {
    await counted.pipeTo(Deno.stdout.writable, { preventClose: true, signal: ctx.signal });
    checkLength();
  } else {
    const partial = `${target}.part`;
    const file = await Deno.open(partial, { write: true, create: true, truncate: true });
    try {
      await counted.pipeTo(file.writable, { signal: ctx.signal });
      checkLength();
      await Deno.rename(partial, target);
    } catch (error) {
      await Deno.remove(partial).catch(() => {});
      throw error;
    }
  }
  progress.finish();
}
