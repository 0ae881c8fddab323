/**
 * The structured log line every part writes (HTTP, downloads, the database layer, the process
 * guard): JSON on stdout, never tokens, query strings or file contents. Its own module, so the
 * database layer can log without depending on the HTTP layer.
 */

/** One structured log line. */
export function logLine(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), ...fields }));
}
