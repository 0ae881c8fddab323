/** The current time, re-rendering every `intervalMs`: relative times and countdowns move on. */
import { useEffect, useState } from "preact/hooks";

/** `Date.now()`, refreshed every `intervalMs`. */
export function useNow(intervalMs: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
