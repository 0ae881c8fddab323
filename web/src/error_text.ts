/**
 * Errors as people read them: one sentence per API error `code` (never the raw body), and the
 * 400 `details` sorted by the field they name, so forms can show each next to its field.
 */
import {
  ExportsApiError,
  ExportsConnectionError,
  type ExportsErrorCode,
  ExportsValidationError,
  type FieldIssue,
} from "../../client/exports_client.ts";
import { formatDuration } from "./format.ts";

const SENTENCES: Record<ExportsErrorCode, string> = {
  invalid_request: "Some values were not accepted; see the marked fields.",
  unauthorized: "Your sign-in has expired or was refused. Sign in again to continue.",
  forbidden: "This access token is not a signed-in user's token. Sign in as a user to continue.",
  not_found: "This export no longer exists; it may have been deleted.",
  method_not_allowed:
    "The app asked for something the exports API does not offer. Reload the page.",
  not_ready: "The file is not ready yet. Wait until the export has completed.",
  export_failed: "This export failed, so it has no file. Retry it first.",
  conflict: "Only a failed export can be retried.",
  expired: "This export has expired and its file is gone. Export it again.",
  payload_too_large: "The request is too large. Select fewer conversations (at most 10,000).",
  range_not_satisfiable: "That part of the file does not exist.",
  no_conversations: "No conversations match, so there is nothing to export.",
  too_many_conversations: "More conversations match than one export may hold. Narrow the scope.",
  idempotency_key_reused:
    "This export was already requested with other options. Press Export again to request it with these.",
  too_many_exports: "You have reached an export limit.",
  too_many_downloads: "Too many downloads are running at once. Wait for one to finish.",
  internal: "Something went wrong on the server. Try again in a moment.",
  unavailable: "The exports service is temporarily unavailable. Try again shortly.",
};

const CONNECTION_SENTENCE = "The exports API cannot be reached. Check your connection, then retry.";

/** The sentence for any error a call may throw. */
export function errorSentence(error: unknown): string {
  if (error instanceof ExportsConnectionError) return CONNECTION_SENTENCE;
  if (!(error instanceof ExportsApiError)) return "Something unexpected went wrong. Try again.";
  const sentence = SENTENCES[error.code] ?? `The exports API answered ${error.status}.`;
  const wait = error.retryAfterSeconds;
  const retry = wait !== undefined && wait > 0 && (error.status === 429 || error.status === 503)
    ? ` You can try again in ${formatDuration(wait * 1000)}.`
    : "";
  const reference = error.code === "internal" && error.requestId
    ? ` If it keeps happening, quote request ${error.requestId}.`
    : "";
  return sentence + retry + reference;
}

/** Whether the error means the API could not be reached (the banner's case). */
export function isConnectionLoss(error: unknown): boolean {
  return error instanceof ExportsConnectionError ||
    (error instanceof ExportsApiError && error.code === "unavailable");
}

/** Whether the error means the token is missing, expired, refused or not a user's. */
export function isAuthLoss(error: unknown): error is ExportsApiError {
  return error instanceof ExportsApiError && (error.status === 401 || error.status === 403);
}

/** Whether the error is the cancellation of a request the UI no longer needs. */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

/** The 400 details of an error (empty for any other error). */
export function fieldIssues(error: unknown): FieldIssue[] {
  return error instanceof ExportsValidationError ? error.issues : [];
}

/**
 * The issues about the fields under `prefix` (`config.filters.`), by the rest of their path
 * (`qualityMin`); an array item's issue (`categories.2`) goes to its array's field.
 */
export function issuesUnder(issues: FieldIssue[], prefix: string): Map<string, string[]> {
  const byField = new Map<string, string[]>();
  for (const issue of issues) {
    if (!issue.path.startsWith(prefix)) continue;
    const field = issue.path.slice(prefix.length).split(".")[0];
    byField.set(field, [...byField.get(field) ?? [], issue.message]);
  }
  return byField;
}
