/** An instant shown relative to now (`3 minutes ago`), the exact time on hover and to machines. */
import { formatExact, formatRelative } from "../format.ts";

/** A <time> reading relative to `now`. */
export function RelativeTime({ iso, now }: { iso: string; now: number }) {
  return <time dateTime={iso} title={formatExact(iso)}>{formatRelative(iso, now)}</time>;
}
