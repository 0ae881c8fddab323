/**
 * Downloading a finished file: the export is read afresh, so its signed `file_url` is never
 * stale, and the browser follows that URL itself; the API's Content-Disposition names the file
 * and the body streams to disk instead of through the page's memory.
 */
import { exportsApiError } from "../../client/exports_client.ts";
import type { Api } from "./api.ts";
import { isRunning } from "./vocabulary.ts";

/** Starts the download of an export's file; throws the API's error when it has none. */
export async function downloadExport(api: Api, exportId: string): Promise<void> {
  const log = await api.getExport(exportId);
  if (log.file_url === null) {
    // The errors the download endpoint itself would answer, worded by their codes.
    if (log.status === "failed") throw exportsApiError(409, "export_failed", "No file");
    if (isRunning(log.status)) throw exportsApiError(409, "not_ready", "No file yet");
    throw exportsApiError(410, "expired", "No file any more");
  }
  const link = document.createElement("a");
  link.href = log.file_url;
  link.download = "";
  link.rel = "noopener";
  document.body.append(link);
  link.click();
  link.remove();
}
