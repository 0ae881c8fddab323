/**
 * Facts of the HTTP contract that the server enforces and the OpenAPI document describes, each
 * written once: the CORS lists and the Idempotency-Key's form.
 */

/** Methods a browser may use across origins. */
export const CORS_ALLOWED_METHODS = ["GET", "POST", "DELETE", "OPTIONS"] as const;

/** Request headers a browser may send across origins (named explicitly, as the contract says). */
export const CORS_ALLOWED_HEADERS = [
  "authorization",
  "x-client-info",
  "apikey",
  "content-type",
  "idempotency-key",
  "prefer",
  "range",
  "if-range",
  "if-none-match",
] as const;

/** Response headers a browser's script may read. */
export const CORS_EXPOSED_HEADERS = [
  "content-disposition",
  "content-range",
  "content-length",
  "location",
  "etag",
  "retry-after",
  "preference-applied",
  "x-request-id",
] as const;

/** An Idempotency-Key: 1 to 255 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;
