/**
 * The user's limits on both pages: exports active now, requested in the last 24 h, and bytes
 * stored, each `used / limit`; at a limit it says which and when room frees up.
 */
import { formatBytes, formatNumber } from "../format.ts";
import { usageLimitReason, type UsageState } from "../usage.ts";

/** The usage bar. */
export function UsageBar({ state, now }: { state: UsageState; now: number }) {
  const figures = state.value;
  if (figures === null) {
    return (
      <section class="usage" aria-label="Usage">
        <p class="muted">{state.error ? "Usage could not be read." : "Reading usage…"}</p>
      </section>
    );
  }
  const { active, daily, bytes } = figures;
  const items = [
    ["Active", `${formatNumber(active.used)} / ${formatNumber(active.limit)}`, active],
    [
      "Requested in the last 24 h",
      `${formatNumber(daily.used)} / ${formatNumber(daily.limit)}`,
      daily,
    ],
    ["Stored", `${formatBytes(bytes.used)} / ${formatBytes(bytes.limit)}`, bytes],
  ] as const;
  const reason = usageLimitReason(figures, now);
  return (
    <section class="usage" aria-label="Usage">
      <ul class="usage-figures">
        {items.map(([label, value, figure]) => {
          const full = figure.used >= figure.limit;
          return (
            <li key={label} class={full ? "usage-full" : undefined}>
              {label} <strong>{value}</strong>
              {full && <span class="usage-flag">{" (limit reached)"}</span>}
            </li>
          );
        })}
      </ul>
      {reason && <p class="usage-reason">{reason}</p>}
    </section>
  );
}
