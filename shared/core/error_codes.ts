/**
 * Every error `code` the API answers with, and its HTTP status: the contract's table of errors,
 * written once. The server's errors, the typed client and the OpenAPI document all read it.
 */

/** Each code's status, in the contract's order. */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  not_ready: 409,
  export_failed: 409,
  conflict: 409,
  expired: 410,
  payload_too_large: 413,
  range_not_satisfiable: 416,
  no_conversations: 422,
  too_many_conversations: 422,
  idempotency_key_reused: 422,
  too_many_exports: 429,
  too_many_downloads: 429,
  internal: 500,
  unavailable: 503,
} as const;

/** An error code of the API. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** The codes each status answers with, in the contract's order. */
export const ERROR_CODES_BY_STATUS: Record<number, readonly ErrorCode[]> = Object.entries(ERROR_STATUS)
  .reduce<Record<number, ErrorCode[]>>((byStatus, [code, status]) => {
    (byStatus[status] ??= []).push(code as ErrorCode);
    return byStatus;
  }, {});

/** The one code a status stands for, when it has only one (an answer without the error body). */
export function soleCodeOf(status: number): ErrorCode | undefined {
  const codes = ERROR_CODES_BY_STATUS[status];
  return codes?.length === 1 ? codes[0] : undefined;
}
