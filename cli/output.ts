/**
 * What the CLI prints on stdout: an export, a page of exports, a preview or the usage, as text or
 * as the API's JSON.
 */
import type {
  ExportLog,
  ExportPage,
  ExportPreview,
  ExportUsage,
  ListedExportLog,
} from "../client/exports_client.ts";
import { formatBytes } from "./progress.ts";

/** One export as `status` shows it: a field per line. */
export function describeExport(log: ExportLog | ListedExportLog): string {
  const template = "template" in log.config ? ` (${log.config.template})` : "";
  const lines: [string, string][] = [
    ["export_id", log.export_id],
    ["status", log.status],
    ["format", `${log.format}${template}`],
    ["requested", log.timestamp],
    ["progress", `${log.progress.processed}/${log.progress.total} conversations`],
  ];
  if (log.skipped > 0) {
    lines.push(["skipped", `${log.skipped} conversations (no final user→assistant pair)`]);
  }
  if (log.file_size !== null) {
    lines.push(["file", `${formatBytes(log.file_size)} (${log.file_size} bytes)`]);
  }
  if (log.expires_at !== null) lines.push(["expires", log.expires_at]);
  if (log.error_message !== null) lines.push(["error", log.error_message]);
  return lines.map(([name, value]) => `${name.padEnd(10)} ${value}`).join("\n");
}

/** A page of exports as a table, with where the page stands. */
export function describePage(page: ExportPage): string {
  if (page.logs.length === 0) {
    return page.total === 0
      ? "No exports."
      : `Page ${page.page} is past the last of ${page.total} exports.`;
  }
  const rows = [
    ["EXPORT_ID", "STATUS", "FORMAT", "CONVERSATIONS", "SIZE", "REQUESTED"],
    ...page.logs.map((log) => [
      log.export_id,
      log.status,
      log.format,
      String(log.conversation_count),
      log.file_size === null ? "-" : formatBytes(log.file_size),
      log.timestamp,
    ]),
  ];
  const pages = Math.max(1, Math.ceil(page.total / page.limit));
  return [...table(rows), "", `Page ${page.page} of ${pages} (${page.total} exports)`].join("\n");
}

/** A preview: the count, the file's first records as the file holds them, a page of members. */
export function describePreview(preview: ExportPreview): string {
  const count = preview.conversation_count;
  const lines = [
    `${count} conversation${count === 1 ? "" : "s"} match` +
    (count > preview.max_conversations
      ? ` — more than the ${preview.max_conversations} an export may hold`
      : ""),
  ];
  if (count === 0) return lines[0];
  const skipped = preview.sample.skipped > 0
    ? `; ${preview.sample.skipped} skipped (no final user→assistant pair)`
    : "";
  lines.push(
    "",
    `The file begins (${preview.sample.records} conversation${
      preview.sample.records === 1 ? "" : "s"
    }${skipped}):`,
    preview.sample.text.replace(/\n$/, ""),
    "",
  );
  const rows = [
    ["ID", "TITLE", "TIER", "STATUS", "QUALITY", "TURNS"],
    ...preview.conversations.map((c) => [
      c.id,
      (c.title ?? "").length > 40 ? `${(c.title ?? "").slice(0, 39)}…` : c.title ?? "",
      c.tier,
      c.status,
      c.quality_score === null ? "-" : String(c.quality_score),
      String(c.turn_count),
    ]),
  ];
  const pages = Math.max(1, Math.ceil(count / preview.limit));
  return [...lines, ...table(rows), "", `Page ${preview.page} of ${pages}`].join("\n");
}

/** The caller's usage against each limit. */
export function describeUsage(usage: ExportUsage): string {
  const nextSlot = usage.daily.next_slot_at ? ` (a slot frees at ${usage.daily.next_slot_at})` : "";
  const lines: [string, string][] = [
    ["active", `${usage.active.used} / ${usage.active.limit} exports queued or processing`],
    ["daily", `${usage.daily.used} / ${usage.daily.limit} requested in the last 24 h${nextSlot}`],
    ["stored", `${formatBytes(usage.bytes.used)} / ${formatBytes(usage.bytes.limit)} of files`],
    ["downloads", `${usage.downloads.limit} at once`],
    ["per export", `at most ${usage.max_conversations} conversations`],
    ["kept", `${usage.retention_seconds / 3600} h after completion`],
  ];
  return lines.map(([name, value]) => `${name.padEnd(10)} ${value}`).join("\n");
}

/** Rows as aligned columns, the first row the header. */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd()
  );
}

/** The API's JSON, indented. */
export function asJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
