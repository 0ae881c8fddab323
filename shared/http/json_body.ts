/** Reading a JSON request body without ever holding more than the limit. */
import { PayloadTooLargeError, ValidationError } from "../core/errors.ts";

/** Maximum body size of POST /exports: room for 10,000 ids. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Reads a JSON body of at most `maxBytes`: a larger declared Content-Length is refused before
 * reading, and a stream that grows past the limit is cancelled, so no body is held whole past it.
 */
export async function readJsonBody(request: Request, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw new PayloadTooLargeError(maxBytes);
  if (!request.body) throw new ValidationError([{ path: "", message: "Expected a JSON body" }]);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new PayloadTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
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
