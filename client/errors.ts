/**
 * The errors the exports client throws: the API's error body (`{ error: { code, message,
 * details } }`) as typed classes. They extend the server's ApiError, so both sides share one
 * shape: `status`, `code`, `message`, `details`, `retryAfterSeconds`.
 */
import { ApiError, type FieldIssue } from "../shared/core/errors.ts";
import { type ErrorCode, soleCodeOf } from "../shared/core/error_codes.ts";

export type { FieldIssue };

/** Every error `code` the API answers with (shared/core/error_codes.ts, the contract's table). */
export type ExportsErrorCode = ErrorCode;

/** An error answer of the exports API: its HTTP status, its `code`, message and details. */
export class ExportsApiError extends ApiError {
  declare readonly code: ExportsErrorCode;
  /** The `X-Request-Id` of the failed request, to quote when reporting a problem. */
  readonly requestId?: string;

  constructor(
    status: number,
    code: ExportsErrorCode,
    message: string,
    options: { details?: unknown; retryAfterSeconds?: number; requestId?: string } = {},
  ) {
    super(status, code, message, options);
    this.requestId = options.requestId;
  }
}

/** 400 `invalid_request`: `issues` lists every offending field by its path (`config.filters.search`). */
export class ExportsValidationError extends ExportsApiError {
  /** The offending fields, as the API's `details` lists them. */
  get issues(): FieldIssue[] {
    return Array.isArray(this.details) ? this.details as FieldIssue[] : [];
  }
}

/** 401 `unauthorized` or 403 `forbidden`: the token is missing, invalid, expired or not a user's. */
export class ExportsAuthError extends ExportsApiError {}

/** 404 `not_found`: no such export, or not the caller's (the API answers both alike). */
export class ExportsNotFoundError extends ExportsApiError {}

/** The request never got an answer (network down, DNS, connection refused). */
export class ExportsConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ExportsConnectionError";
  }
}

/** The typed error for an API answer with the given status, code and message. */
export function exportsApiError(
  status: number,
  code: ExportsErrorCode,
  message: string,
  options: { details?: unknown; retryAfterSeconds?: number; requestId?: string } = {},
): ExportsApiError {
  const ErrorClass = status === 400
    ? ExportsValidationError
    : status === 401 || status === 403
    ? ExportsAuthError
    : status === 404
    ? ExportsNotFoundError
    : ExportsApiError;
  return new ErrorClass(status, code, message, options);
}

/** Reads an error response of the API (its whole, small JSON body) into a typed error. */
export async function errorFromResponse(response: Response): Promise<ExportsApiError> {
  let body: unknown = null;
  try {
    body = JSON.parse(await response.text());
  } catch {
    // Not the contract's body: the status alone decides.
  }
  const error = isRecord(body) && isRecord(body.error) ? body.error : {};
  const code = typeof error.code === "string"
    ? error.code as ExportsErrorCode
    // An answer without the contract's body (a proxy's HTML page, say): its status's sole code.
    : soleCodeOf(response.status) ?? "internal";
  const message = typeof error.message === "string"
    ? error.message
    : `The exports API answered ${response.status} ${response.statusText}`.trim();
  const retryAfter = Number(response.headers.get("retry-after") ?? Number.NaN);
  return exportsApiError(response.status, code, message, {
    details: error.details,
    retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined,
    requestId: response.headers.get("x-request-id") ?? undefined,
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
