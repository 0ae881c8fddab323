/**
 * The user's limits and how much of each is used (GET /exports/usage), shared by the usage bar
 * and the export dialog, and read again whenever something may have changed them.
 */
import type { ExportUsage } from "../../client/exports_client.ts";
import type { Api } from "./api.ts";
import { formatBytes, formatDuration, formatNumber, formatWhen } from "./format.ts";
import { createStore } from "./store.ts";

/** The last figures read (null until the first answer) and the last error. */
export interface UsageState {
  value: ExportUsage | null;
  error: unknown;
}

/** The shared usage figures. */
export const usage = createStore<UsageState>({ value: null, error: null });

let reading = false;
let readAgain = false;

/** Reads the figures again; calls made while a read runs lead to one more read after it. */
export async function refreshUsage(api: Api): Promise<void> {
  if (reading) {
    readAgain = true;
    return;
  }
  reading = true;
  try {
    usage.set({ value: await api.getUsage(), error: null });
  } catch (error) {
    usage.set({ value: usage.get().value, error });
  } finally {
    reading = false;
  }
  if (readAgain) {
    readAgain = false;
    await refreshUsage(api);
  }
}

/** Forgets the figures (at sign-out: they are the user's). */
export function resetUsage(): void {
  usage.set({ value: null, error: null });
}

/**
 * Why no export may be requested now, naming the limit and when room frees up; null when every
 * limit has room.
 */
export function usageLimitReason(figures: ExportUsage, now: number): string | null {
  const { active, daily, bytes } = figures;
  if (active.used >= active.limit) {
    return `Limit reached: ${formatNumber(active.used)} exports are queued or processing, ` +
      `the most allowed at once (${formatNumber(active.limit)}). ` +
      "A slot frees up as soon as one of them finishes.";
  }
  if (daily.used >= daily.limit) {
    const next = daily.next_slot_at;
    const when = next === null
      ? "A slot frees up as the oldest request leaves the 24 h window."
      : `The next slot frees up at ${formatWhen(next, now)} (in ${
        formatDuration(Date.parse(next) - now)
      }).`;
    return `Limit reached: ${formatNumber(daily.used)} exports were requested in the last 24 h, ` +
      `the daily maximum (${formatNumber(daily.limit)}). ${when}`;
  }
  if (bytes.used >= bytes.limit) {
    return `Limit reached: stored files take ${formatBytes(bytes.used)} of ` +
      `${formatBytes(bytes.limit)}. Room frees up when files expire, or delete exports you no ` +
      "longer need.";
  }
  return null;
}
