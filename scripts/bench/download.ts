/**
 * Case 2: the finished file streamed through GET …/download over HTTP to nowhere (curl, through
 * the functions server, with the signed file_url), against reading the same stored bytes with
 * COPY … TO STDOUT (psql). Rounds alternate between the two; the median of each is reported.
 */
import { api } from "../../tests/support/api.ts";
import { curlToNowhere } from "./curl.ts";
import { psql, timings } from "./psql.ts";

/** What case 2 measured for one file. */
export interface DownloadResult {
  bytes: number;
  httpMs: number[];
  copyMs: number[];
  httpMedianMs: number;
  copyMedianMs: number;
}

const COPY_STORED_BYTES = `
\\o /dev/null
\\timing on
copy (select data from exports_internal.export_chunks where export_log_id = :'id' order by chunk_number)
  to stdout with (format binary);
`;

/** The median of a few numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Downloads the export `rounds` times each way; checks every HTTP download was whole. */
export async function measureDownload(
  token: string,
  exportId: string,
  exportLogId: string,
  rounds: number,
): Promise<DownloadResult> {
  const current = await api(`/${exportId}`, { token });
  if (current.status !== 200 || current.body.status !== "completed") {
    throw new Error(
      `GET /exports/${exportId} answered ${current.status}: ${JSON.stringify(current.body)}`,
    );
  }
  const fileSize = current.body.file_size as number;
  const httpMs: number[] = [];
  const copyMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const http = await curlToNowhere(current.body.file_url);
    if (http.status !== 200 || http.bytes !== fileSize) {
      throw new Error(
        `The download answered ${http.status} with ${http.bytes} of ${fileSize} bytes`,
      );
    }
    httpMs.push(http.ms);
    copyMs.push(...timings(await psql(COPY_STORED_BYTES, { id: exportLogId })));
  }
  return {
    bytes: fileSize,
    httpMs,
    copyMs,
    httpMedianMs: median(httpMs),
    copyMedianMs: median(copyMs),
  };
}
