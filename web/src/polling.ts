/**
 * When to ask the API again for the export list (web-ui.md: "about every 1–2 s while anything is
 * active, backing off when nothing changes, paused while the tab is hidden, and stop when nothing
 * is active"). Every 1.5 s while an export is queued or processing, so progress looks live; each
 * answer that brings nothing new (a 304) stretches the wait by half, up to 5 s, so an export
 * waiting in the queue still shows its start within seconds. Once nothing is active, polling
 * stops: an idle page sends nothing. Showing the tab again, or an action of the page, asks once
 * (a conditional request, answered 304 when nothing changed meanwhile) and starts again if
 * anything is active.
 */

/** Wait while an export runs and answers change. */
export const ACTIVE_DELAY_MS = 1500;
/** Longest wait while an export runs and answers do not change. */
export const MAX_DELAY_MS = 5_000;

/** What one poll found: whether the answer changed, and whether anything is still running. */
export interface PollOutcome {
  changed: boolean;
  active: boolean;
}

/**
 * The wait before the next poll, after `previous` (null at the start) and the last outcome; null
 * when polling stops (nothing is active).
 */
export function nextDelay(previous: number | null, outcome: PollOutcome): number | null {
  if (!outcome.active) return null;
  if (previous === null || outcome.changed) return ACTIVE_DELAY_MS;
  return Math.min(Math.max(previous * 1.5, ACTIVE_DELAY_MS), MAX_DELAY_MS);
}

/** A running poll loop. */
export interface Poller {
  /** Polls now and restarts the waits from the shortest (after an action or a new query). */
  kick(): void;
  stop(): void;
}

/**
 * Runs `poll` one call at a time, waiting between calls as `nextDelay` says. A call that throws
 * counts as "nothing new" (so a failing API is asked less often) with what was active before.
 */
export function startPoller(poll: () => Promise<PollOutcome>): Poller {
  let delay: number | null = null;
  let last: PollOutcome = { changed: false, active: false };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let kicked = false;
  let stopped = false;

  async function run(): Promise<void> {
    timer = undefined;
    if (stopped || document.hidden) return;
    if (running) {
      kicked = true;
      return;
    }
    running = true;
    try {
      last = await poll();
    } catch {
      last = { changed: false, active: last.active };
    } finally {
      running = false;
    }
    if (kicked) {
      kicked = false;
      delay = null;
      void run();
      return;
    }
    delay = nextDelay(delay, last);
    schedule();
  }

  function schedule(): void {
    clearTimeout(timer);
    if (!stopped && !document.hidden && delay !== null) timer = setTimeout(run, delay);
  }

  function onVisibility(): void {
    if (document.hidden) {
      clearTimeout(timer);
      timer = undefined;
    } else {
      delay = null;
      void run();
    }
  }

  document.addEventListener("visibilitychange", onVisibility);
  void run();
  return {
    kick() {
      clearTimeout(timer);
      delay = null;
      void run();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    },
  };
}
