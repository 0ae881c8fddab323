/**
 * One export in the history: format and layout, scope, count, status with progress or error,
 * size, requested time, expiry countdown, and its actions. A table row on wide screens; the
 * stylesheet turns it into a card on narrow ones, with each cell's `data-label` as its caption.
 */
import type { ListedExportLog } from "../../../client/exports_client.ts";
import {
  configFormatLabel,
  countOf,
  formatBytes,
  formatCountdown,
  formatExact,
  formatNumber,
  scopeSummary,
} from "../format.ts";
import { isRunning } from "../vocabulary.ts";
import { ProgressBar } from "./progress_bar.tsx";
import { RelativeTime } from "./relative_time.tsx";
import { StatusBadge } from "./status_badge.tsx";

/** What can be done to an export from its row. */
export interface RowActions {
  download(exportId: string): void;
  remove(log: ListedExportLog): void;
  retry(exportId: string): void;
  exportAgain(exportId: string): void;
}

interface ExportRowProps {
  log: ListedExportLog;
  now: number;
  highlighted: boolean;
  /** An action of this row is running: its buttons wait. */
  busy: boolean;
  /** The sentence of this row's last failed action. */
  error: string | null;
  actions: RowActions;
}

/** A row of the history table. */
export function ExportRow({ log, now, highlighted, busy, error, actions }: ExportRowProps) {
  const format = configFormatLabel(log.config);
  const scope = scopeSummary(log.config);
  const alpaca = log.config.format === "jsonl" && log.config.template === "alpaca";
  return (
    <tr
      data-export-id={log.export_id}
      data-status={log.status}
      class={highlighted ? "highlighted" : undefined}
      tabIndex={highlighted ? -1 : undefined}
    >
      <th scope="row" data-label="Export">
        <span class="row-format">{format}</span>
        {highlighted && <span class="new-tag">New</span>}
        <span class="row-scope">{scope}</span>
      </th>
      <td data-label="Conversations">
        {formatNumber(log.conversation_count)}
        {alpaca && (log.status === "completed" || log.skipped > 0) && (
          <span class="row-note">
            {countOf(log.skipped, "conversation")}{" "}
            skipped by Alpaca (not ending with a user → assistant pair)
          </span>
        )}
      </td>
      <td data-label="Status">
        <StatusBadge status={log.status} />
        {isRunning(log.status) && (
          <ProgressBar
            processed={log.progress.processed}
            total={log.progress.total}
            elapsedMs={now - Date.parse(log.timestamp)}
            label={`Progress of the ${format} export of ${scope}`}
          />
        )}
        {log.status === "failed" && log.error_message && (
          <p class="row-error">{log.error_message}</p>
        )}
        {log.status === "expired" && (
          <p class="row-note">Expired: the file is gone. Export it again to get a new one.</p>
        )}
      </td>
      <td data-label="Size">{log.file_size === null ? "—" : formatBytes(log.file_size)}</td>
      <td data-label="Requested">
        <RelativeTime iso={log.timestamp} now={now} />
      </td>
      <td data-label="Expires">
        {log.status === "completed" && log.expires_at
          ? <span title={formatExact(log.expires_at)}>{formatCountdown(log.expires_at, now)}</span>
          : "—"}
      </td>
      <td data-label="Actions">
        <div class="row-actions">
          {log.status === "completed" && (
            <button
              type="button"
              disabled={busy}
              onClick={() => actions.download(log.export_id)}
            >
              Download
            </button>
          )}
          {log.status === "failed" && (
            <button
              type="button"
              disabled={busy}
              onClick={() => actions.retry(log.export_id)}
            >
              Retry
            </button>
          )}
          {!isRunning(log.status) && (
            <button
              type="button"
              disabled={busy}
              onClick={() => actions.exportAgain(log.export_id)}
            >
              Export again
            </button>
          )}
          <button type="button" disabled={busy} onClick={() => actions.remove(log)}>
            Delete
          </button>
        </div>
        {error && <p class="row-error" role="alert">{error}</p>}
      </td>
    </tr>
  );
}
