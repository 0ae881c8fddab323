/**
 * The JSON body of a request. Its size is bounded before it is read (hono/body-limit in the
 * jsonBody middleware: a larger Content-Length is refused unread, a chunked body is cut off at
 * the limit), so parsing here never holds more than the limit.
 */
import { ValidationError } from "../core/errors.ts";

/** Maximum body size of POST /exports: room for 10,000 ids. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Parses a body already bounded in size: strict UTF-8, not empty, JSON (400 otherwise). */
export async function parseJsonBody(request: Request): Promise<unknown> {
  if (!request.body) throw new ValidationError([{ path: "", message: "Expected a JSON body" }]);
  const bytes = new Uint8Array(await request.arrayBuffer());
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ValidationError([{ path: "", message: "The body is not valid UTF-8" }]);
  }
  if (text.trim() === "") {
    throw new ValidationError([{ path: "", message: "Expected a JSON body" }]);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError([{ path: "", message: "The body is not valid JSON" }]);
  }
}
