/**
 * `Prefer: wait=N`: hold the response until the export leaves queued/processing or N seconds
 * pass. Each check is its own short query, so waiting holds no database connection in between.
 */
import type { ExportLog } from "../domain/export_log.ts";

/** The longest wait honoured, in seconds. */
export const MAX_WAIT_SECONDS = 30;

/** N from a Prefer header (clamped to 30), or null when absent or malformed. */
export function parseWaitPreference(header: string | undefined): number | null {
  if (!header) return null;
  for (const preference of header.split(",")) {
    const match = /^\s*wait\s*=\s*"?(\d{1,9})"?\s*(?:;.*)?$/i.exec(preference);
    if (match) return Math.min(Number(match[1]), MAX_WAIT_SECONDS);
  }
  return null;
}

/** Re-reads the export until it is no longer running, the time is up or the client goes away. */
export async function waitWhileRunning(
  log: ExportLog,
  seconds: number,
  reload: (exportId: string) => Promise<ExportLog | null>,
  signal?: AbortSignal,
): Promise<ExportLog> {
  const deadline = Date.now() + seconds * 1000;
  let interval = 100;
  while ((log.status === "queued" || log.status === "processing") && Date.now() < deadline) {
    if (signal?.aborted) break;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(interval, Math.max(0, deadline - Date.now())))
    );
    interval = Math.min(interval * 2, 1000);
    const current = await reload(log.export_id);
    if (!current) break;
    log = current;
  }
  return log;
}
