/** An export's status as a badge: a word and a symbol, the colour only repeating them. */
import type { ExportStatus } from "../../../client/exports_client.ts";
import { EXPORT_STATUS_LABELS } from "../vocabulary.ts";

const SYMBOLS: Record<ExportStatus, string> = {
  queued: "○",
  processing: "◔",
  completed: "✓",
  failed: "✕",
  expired: "⊘",
};

/** The badge of a status. */
export function StatusBadge({ status }: { status: ExportStatus }) {
  return (
    <span class={`badge badge-${status}`}>
      <span aria-hidden="true">{SYMBOLS[status]}</span> {EXPORT_STATUS_LABELS[status]}
    </span>
  );
}
