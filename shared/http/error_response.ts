/** The contract's error response: its body and the headers some errors add. */
import { ApiError, MethodNotAllowedError } from "../core/errors.ts";

/** The contract's error body: `{ error: { code, message, details? } }`. */
export function errorBody(error: ApiError): { error: Record<string, unknown> } {
  const body: Record<string, unknown> = { code: error.code, message: error.message };
  if (error.details !== undefined) body.details = error.details;
  return { error: body };
}

/** Headers an error response adds (Retry-After, Allow). */
export function errorHeaders(error: ApiError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) {
    headers["Retry-After"] = String(error.retryAfterSeconds);
  }
  if (error instanceof MethodNotAllowedError) headers["Allow"] = error.allowed.join(", ");
  return headers;
}
