/**
 * One request must never end the process that serves every other request. A promise rejected
 * with no handler ends a Deno process by default; every stream and background task here handles
 * its own errors (see streamFile), and this guard is the backstop for one that still slipped
 * through: it logs the rejection, counts it, and keeps the process serving. The count is logged
 * with each one, so a test or an operator reading the log sees that the guard was needed at all.
 */
import { logLine } from "./log.ts";

let unhandledRejections = 0;

/** How many unhandled rejections the guard has absorbed in this process. */
export function unhandledRejectionCount(): number {
  return unhandledRejections;
}

/** Installs the guard for this process; `functionName` labels its log lines. */
export function guardUnhandledRejections(functionName: string): void {
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    unhandledRejections++;
    const reason = event.reason;
    logLine({
      level: "error",
      message: "unhandled rejection absorbed; the process keeps serving",
      function: functionName,
      unhandled_rejections: unhandledRejections,
      error: reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason),
      stack: reason instanceof Error ? reason.stack : undefined,
    });
  });
}
