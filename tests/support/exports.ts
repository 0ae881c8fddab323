/** Requesting, awaiting and downloading exports over HTTP, for the end-to-end tests. */
import assert from "node:assert/strict";
import { api } from "./api.ts";

/** An export as the API returns it. */
// deno-lint-ignore no-explicit-any
export type ExportLogBody = Record<string, any>;

/**
 * The store the functions server keeps finished files in for this run: npm test runs the
 * download and format tests once with each (the s3 phase restarts the server with
 * EXPORTS_FILE_STORE=s3); the few contract points that differ by store are asserted per store.
 */
export const FILE_STORE: "postgres" | "s3" = Deno.env.get("EXPORTS_FILE_STORE") === "s3" ? "s3" : "postgres";

/** Requests an export and waits (Prefer: wait) until it leaves queued/processing. */
export async function exportAndWait(token: string, body: unknown, timeoutSeconds = 120): Promise<ExportLogBody> {
  const created = await api("", { token, body, headers: { Prefer: "wait=30" } });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  return await waitForExport(token, created.body.export_id, timeoutSeconds);
}

/** Polls one export (with Prefer: wait) until it is no longer queued or processing. */
export async function waitForExport(token: string, exportId: string, timeoutSeconds = 120): Promise<ExportLogBody> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (true) {
    const current = await api(`/${exportId}`, { token, headers: { Prefer: "wait=10" } });
    assert.equal(current.status, 200, JSON.stringify(current.body));
    if (!["queued", "processing"].includes(current.body.status)) return current.body;
    if (Date.now() > deadline) throw new Error(`Export ${exportId} still ${current.body.status}`);
  }
}

/** Downloads a completed export through its signed file_url; returns the response and bytes. */
export async function download(log: ExportLogBody, init: RequestInit = {}): Promise<{ response: Response; bytes: Uint8Array }> {
  assert.equal(log.status, "completed", JSON.stringify(log));
  const response = await fetch(log.file_url, init);
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { response, bytes };
}

/** Downloads and decodes as UTF-8 text. */
export async function downloadText(log: ExportLogBody): Promise<string> {
  const { response, bytes } = await download(log);
  assert.equal(response.status, 200);
  return new TextDecoder().decode(bytes);
}
