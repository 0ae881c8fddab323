/**
 * Date fields hold local calendar days (`YYYY-MM-DD`, as `<input type="date">` gives them); the
 * API takes instants. A day runs from its local midnight to the next one, so the bounds sent
 * cover whole days in the user's own time zone.
 */

const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether the text is a real calendar day written `YYYY-MM-DD`. */
export function isDay(text: string): boolean {
  return localMidnight(text) !== undefined;
}

/** The first instant of the day, as an ISO timestamp (an inclusive lower bound). */
export function startOfDay(day: string): string | undefined {
  return localMidnight(day)?.toISOString();
}

/**
 * The last microsecond of the day, as an ISO timestamp (an inclusive upper bound: the API keeps
 * microseconds, so the bound must reach past the last millisecond).
 */
export function endOfDay(day: string): string | undefined {
  const next = nextDay(day);
  if (next === undefined) return undefined;
  return new Date(Date.parse(next) - 1).toISOString().replace(/Z$/, "999Z");
}

/** The first instant of the following day, as an ISO timestamp (an exclusive upper bound). */
export function nextDay(day: string): string | undefined {
  const midnight = localMidnight(day);
  if (midnight === undefined) return undefined;
  midnight.setDate(midnight.getDate() + 1);
  return midnight.toISOString();
}

function localMidnight(day: string): Date | undefined {
  const match = DAY_PATTERN.exec(day);
  if (match === null) return undefined;
  const [year, month, date] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const midnight = new Date(year, month - 1, date);
  const real = midnight.getFullYear() === year && midnight.getMonth() === month - 1 &&
    midnight.getDate() === date;
  return real ? midnight : undefined;
}
