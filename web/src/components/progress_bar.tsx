/**
 * How far a queued or processing export has got: a progress bar with `processed / total`, the
 * percentage and the time since it was requested. The counts are announced as they change; the
 * elapsed time, which changes every second, is not.
 */
import { formatDuration, formatNumber } from "../format.ts";

interface ProgressBarProps {
  processed: number;
  total: number;
  /** Milliseconds since the export was requested. */
  elapsedMs: number;
  /** Names the bar (which export it belongs to). */
  label: string;
}

/** The progress of one export. */
export function ProgressBar({ processed, total, elapsedMs, label }: ProgressBarProps) {
  const percent = total > 0 ? Math.floor((processed / total) * 100) : 0;
  const counts = `${formatNumber(processed)} / ${formatNumber(total)}`;
  return (
    <div class="progress">
      <div
        class="progress-track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={processed}
        aria-valuetext={`${counts} conversations (${percent}%)`}
      >
        <div class="progress-fill" style={{ width: `${percent}%` }} />
      </div>
      <p class="progress-text">
        <span aria-live="polite">{counts} · {percent}%</span>
        <span>{` · ${formatDuration(elapsedMs)} elapsed`}</span>
      </p>
    </div>
  );
}
