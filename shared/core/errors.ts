/**
 * The project's errors. Each carries the HTTP status and the API error `code` it maps to, so the
 * edge function maps them without a table of its own. No message ever carries SQL, connection
 * strings or stack traces.
 */
import type { ErrorCode } from "./error_codes.ts";

/** One offending field, by its path from the root of the body or query (`config.filters.search`). */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Base of every error a client may see: an HTTP status, a stable code and a sentence. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, { cause: options?.cause });
    this.name = new.target.name;
    this.details = options?.details;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
  readonly details?: unknown;
  readonly retryAfterSeconds?: number;
}

/** A request body or query failed validation; `details` lists every offending field. */
export class ValidationError extends ApiError {
  constructor(readonly issues: FieldIssue[], message = "The request is invalid") {
    super(400, "invalid_request", message, { details: issues });
  }
}

/** The export does not exist or is not the caller's (the same answer: existence never leaks). */
export class ExportNotFoundError extends ApiError {
  constructor(message = "No such export") {
    super(404, "not_found", message);
  }
}

/** The database refused the operation for this role (RLS or a missing privilege, SQLSTATE 42501). */
export class ExportPermissionError extends ApiError {
  constructor(message = "This operation is not permitted for the caller", cause?: unknown) {
    super(403, "forbidden", message, { cause });
  }

  /** A valid token whose role is not a signed-in user's (an anon key, say). */
  static needsUserToken(): ExportPermissionError {
    return new ExportPermissionError("This endpoint needs a signed-in user's token");
  }
}

/** No conversation of the caller matches the requested scope; nothing was stored. */
export class NoConversationsError extends ApiError {
  constructor() {
    super(422, "no_conversations", "No conversations match the requested export");
  }
}

/** The scope matches more conversations than one export may hold; nothing was stored. */
export class TooManyConversationsError extends ApiError {
  constructor(count: number, maximum: number) {
    super(
      422,
      "too_many_conversations",
      `The export would hold ${count} conversations, more than the maximum of ${maximum}`,
    );
  }
}

/** A per-user limit (active exports, daily exports, stored bytes) is reached. */
export class TooManyExportsError extends ApiError {
  constructor(message: string, retryAfterSeconds: number) {
    super(429, "too_many_exports", message, { retryAfterSeconds });
  }

  /** Too many exports queued or processing at once. */
  static active(active: number, limit: number): TooManyExportsError {
    return new TooManyExportsError(
      `You already have ${active} exports queued or processing (the limit is ${limit})`,
      10,
    );
  }
}

/** The export is in a state that does not allow the operation (409). */
export class ExportStateError extends ApiError {
  constructor(code: "not_ready" | "export_failed" | "conflict", message: string) {
    super(409, code, message);
  }
}

/** The database is unreachable; the client should retry shortly. */
export class ServiceUnavailableError extends ApiError {
  constructor(cause?: unknown) {
    super(503, "unavailable", "The service is temporarily unavailable; try again shortly", {
      cause,
      retryAfterSeconds: 5,
    });
  }
}

/** The same Idempotency-Key was sent earlier with a different request. */
export class IdempotencyKeyReusedError extends ApiError {
  constructor() {
    super(
      422,
      "idempotency_key_reused",
      "This Idempotency-Key was already used with a different request",
    );
  }
}

/** The request carries no valid credentials (401). */
export class AuthenticationError extends ApiError {
  constructor(message = "A valid bearer token is required", cause?: unknown) {
    super(401, "unauthorized", message, { cause });
  }
}

/** The request body is larger than the endpoint accepts (413). */
export class PayloadTooLargeError extends ApiError {
  constructor(limitBytes: number) {
    super(413, "payload_too_large", `The request body is larger than ${limitBytes} bytes`);
  }
}

/** The path exists but not for this method (405). */
export class MethodNotAllowedError extends ApiError {
  constructor(readonly allowed: string[]) {
    super(405, "method_not_allowed", `This path accepts only ${allowed.join(", ")}`);
  }
}

/** The export's file is gone: expired, whatever a link says (410). */
export class ExportExpiredError extends ApiError {
  constructor() {
    super(410, "expired", "This export has expired; request a new one");
  }
}

/** The requested byte range lies outside the file (416). */
export class RangeNotSatisfiableError extends ApiError {
  constructor(readonly fileSize: number) {
    super(416, "range_not_satisfiable", `The requested range is outside the file of ${fileSize} bytes`);
  }
}

/** Too many downloads of this user are in flight (429). */
export class TooManyDownloadsError extends ApiError {
  constructor(limit: number) {
    super(429, "too_many_downloads", `At most ${limit} downloads may run at once; wait for one to finish`, {
      retryAfterSeconds: 5,
    });
  }
}

/** 409 not_ready: the file is not generated yet. */
export class ExportNotReadyError extends ApiError {
  constructor() {
    super(409, "not_ready", "The export is not ready yet; poll it until it is completed");
  }
}

/** 409 export_failed: there is no file because generation failed. */
export class ExportFailedError extends ApiError {
  constructor() {
    super(409, "export_failed", "The export failed; retry it to generate the file again");
  }
}

/** 409 conflict: only a failed export can be retried. */
export class NotRetryableError extends ApiError {
  constructor(status: string) {
    super(409, "conflict", `Only a failed export can be retried; this one is ${status}`);
  }
}

/** 500 internal: nothing of the cause is disclosed; the log has it under the request id. */
export class InternalError extends ApiError {
  constructor(message = "Something went wrong on our side; the request id is in X-Request-Id") {
    super(500, "internal", message);
  }
}
