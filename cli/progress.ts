/**
 * Progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise (a log or a
 * pipe gets one line per change of an export and a line per download, never control codes).
 */
import type { ExportProgress } from "../client/exports_client.ts";

/** Where progress goes and whether it is a terminal. */
export interface ProgressOutput {
  write(text: string): void;
  isTerminal: boolean;
}

/** Progress on this process's stderr. */
export function stderrOutput(): ProgressOutput {
  const encoder = new TextEncoder();
  return {
    write: (text) => void Deno.stderr.writeSync(encoder.encode(text)),
    isTerminal: Deno.stderr.isTerminal(),
  };
}

const BAR_WIDTH = 24;
const REDRAW_MS = 100;
const CLEAR_LINE = "\r\x1b[2K";

/** Reports an export's progress (conversations done / total); `finish` ends a bar's line. */
export function exportProgressReporter(output: ProgressOutput): {
  onProgress(progress: ExportProgress): void;
  finish(): void;
} {
  let drawn = false;
  return {
    onProgress({ processed, total, status }) {
      const counts = `${processed}/${total} conversations`;
      if (!output.isTerminal) {
        output.write(`${status}: ${counts}\n`);
        return;
      }
      output.write(
        `${CLEAR_LINE}${status.padEnd(10)} ${bar(total === 0 ? 1 : processed / total)} ${counts}`,
      );
      drawn = true;
    },
    finish() {
      if (drawn) output.write("\n");
      drawn = false;
    },
  };
}

/** Reports a download's bytes / total and rate; `finish` prints the closing line. */
export function downloadProgressReporter(
  output: ProgressOutput,
  totalBytes: number,
  target: string,
): {
  advance(bytes: number): void;
  finish(): void;
} {
  const started = performance.now();
  let received = 0;
  let lastDraw = -Infinity;
  const rate = () => received / Math.max((performance.now() - started) / 1000, 0.001);
  const draw = () => {
    const fraction = totalBytes === 0 ? 1 : received / totalBytes;
    output.write(
      `${CLEAR_LINE}download   ${bar(fraction)} ${formatBytes(received)} / ${
        formatBytes(totalBytes)
      }  ${formatBytes(rate())}/s`,
    );
    lastDraw = performance.now();
  };
  if (!output.isTerminal) output.write(`downloading ${formatBytes(totalBytes)} to ${target}\n`);
  return {
    advance(bytes) {
      received += bytes;
      if (output.isTerminal && performance.now() - lastDraw >= REDRAW_MS) draw();
    },
    finish() {
      const seconds = (performance.now() - started) / 1000;
      if (output.isTerminal) {
        draw();
        output.write("\n");
      } else {
        output.write(
          `downloaded ${formatBytes(received)} in ${seconds.toFixed(1)} s (${
            formatBytes(rate())
          }/s)\n`,
        );
      }
    },
  };
}

/** A byte count for people: `512 B`, `1.5 KiB`, `23.4 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function bar(fraction: number): string {
  const filled = Math.round(Math.min(Math.max(fraction, 0), 1) * BAR_WIDTH);
  return `${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}`;
}
