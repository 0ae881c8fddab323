/** What the CLI prints on stdout: an export or a page of exports, as text or as the API's JSON. */
import type { ExportLog, ExportPage, ListedExportLog } from "../client/exports_client.ts";
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
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const table = rows.map((row) =>
    row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd()
  );
  const pages = Math.max(1, Math.ceil(page.total / page.limit));
  return [...table, "", `Page ${page.page} of ${pages} (${page.total} exports)`].join("\n");
}

/** The API's JSON, indented. */
export function asJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
