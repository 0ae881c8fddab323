/**
 * Conditional reads for polling (RFC 9110, 8.8.3 and 13.1.2): GET /exports and GET /exports/{id}
 * send an ETag, and answer a matching If-None-Match with 304 and no body, so a page that polls
 * an unchanged list costs one small statement and a few bytes.
 *
 * The ETag is not a hash of the body (that would cost the whole read it is meant to spare) but of
 * what the body is a function of: the rows it covers at their current versions
 * (ExportService.exportsVersion), the request (path and query), and what the server adds to
 * them (the public base URL and the signing key of file_url tokens), under a version of the
 * representation that changes when its shape does. It is computed before the body is read, so a
 * body is never older than its ETag: a write in between makes the next poll a 200, never a stale
 * 304.
 */
import { createHash } from "node:crypto";

/** Changes whenever the JSON an ETag stands for changes shape. */
const REPRESENTATION_VERSION = "exports-v1";

/** A strong ETag of the given parts (quoted, as a header value). */
export function etagOf(parts: readonly string[]): string {
  const digest = createHash("sha256").update([REPRESENTATION_VERSION, ...parts].join("\n"))
    .digest("base64url");
  return `"${digest.slice(0, 27)}"`;
}

/**
 * Does an If-None-Match header name this ETag (or `*`)? Weak comparison, as the RFC asks for
 * If-None-Match: `W/"x"` matches `"x"`.
 */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const candidates = header.split(",").map((part) => part.trim().replace(/^W\//, ""));
  return candidates.some((candidate) => candidate === "*" || candidate === etag);
}
