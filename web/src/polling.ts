/**
 * When to ask the API again for the export list. Fast (every 1.5 s) while an export is queued or
 * processing, so progress looks live; each answer that brings nothing new (a 304) doubles the
 * wait, up to 30 s; while nothing is active the wait is never under 10 s, so an idle page costs
 * one small conditional request every 10–30 s. Nothing is sent while the tab is hidden; showing
 * it again asks at once.
 */

/** Wait while an export runs and answers change. */
export const ACTIVE_DELAY_MS = 1500;
/** Shortest wait while nothing runs. */
export const IDLE_DELAY_MS = 10_000;
/** Longest wait. */
export const MAX_DELAY_MS = 30_000;

/** What one poll found: whether the answer changed, and whether anything is still running. */
export interface PollOutcome {
  changed: boolean;
  active: boolean;
}

/** The wait before the next poll, after `previous` (null at the start) and the last outcome. */
export function nextDelay(previous: number | null, outcome: PollOutcome): number {
  const floor = outcome.active ? ACTIVE_DELAY_MS : IDLE_DELAY_MS;
  if (previous === null || outcome.changed) return floor;
  return Math.min(Math.max(previous * 2, floor), MAX_DELAY_MS);
}

/** A running poll loop. */
export interface Poller {
  /** Polls now and restarts the waits from the shortest (after an action or a new query). */
  kick(): void;
  stop(): void;
}

/**
 * Runs `poll` one call at a time, waiting between calls as `nextDelay` says. A call that throws
 * counts as "nothing new", so a failing API is asked less and less often.
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
