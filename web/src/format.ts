/**
 * How values read on screen: sizes, times, durations, counts, export formats and the one-line
 * summary of an export's scope. The UI is written in English, so numbers and relative times use
 * the "en" locale; clock times follow the user's time zone.
 */
import type {
  ExportConfig,
  ExportFormat,
  ListedExportConfig,
} from "../../client/exports_client.ts";
import type { JsonlTemplate } from "../../shared/domain/export_config.ts";
import { FORMAT_LABELS, STATUS_LABELS, TEMPLATE_LABELS, TIER_LABELS } from "./vocabulary.ts";

const LOCALE = "en";
const numbers = new Intl.NumberFormat(LOCALE);
const relative = new Intl.RelativeTimeFormat(LOCALE, { numeric: "auto" });
const exact = new Intl.DateTimeFormat(LOCALE, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZoneName: "short",
});
const clock = new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit" });

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A count with thousands separators: `100,000`. */
export function formatNumber(value: number): string {
  return numbers.format(value);
}

/** `1 conversation` / `142 conversations`. */
export function countOf(count: number, singular: string, plural = `${singular}s`): string {
  return `${formatNumber(count)} ${count === 1 ? singular : plural}`;
}

/** Bytes in binary units, as the storage limit is set: `812 B`, `3.4 MiB`, `1.2 GiB`, `2 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const rounded = unit === 0 ? String(value) : value.toFixed(1).replace(/\.0$/, "");
  return `${rounded} ${units[unit]}`;
}

/** A duration by its two largest units: `6 d 3 h`, `3 h 12 min`, `4 min 5 s`, `12 s`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / SECOND));
  const parts: [number, string][] = [
    [Math.floor(total / 86400), "d"],
    [Math.floor((total % 86400) / 3600), "h"],
    [Math.floor((total % 3600) / 60), "min"],
    [total % 60, "s"],
  ];
  const first = parts.findIndex(([amount]) => amount > 0);
  if (first === -1) return "0 s";
  return parts.slice(first, first + 2)
    .filter(([amount]) => amount > 0)
    .map(([amount, unit]) => `${amount} ${unit}`)
    .join(" ");
}

/** How long ago (or how far ahead) an instant is: `3 minutes ago`, `yesterday`, `in 2 hours`. */
export function formatRelative(iso: string, now: number): string {
  const delta = Date.parse(iso) - now;
  const size = Math.abs(delta);
  if (size < MINUTE) return relative.format(Math.round(delta / SECOND), "second");
  if (size < HOUR) return relative.format(Math.round(delta / MINUTE), "minute");
  if (size < DAY) return relative.format(Math.round(delta / HOUR), "hour");
  return relative.format(Math.round(delta / DAY), "day");
}

/** The exact local date and time, for a tooltip: `Nov 28, 2026, 03:03:07 PM GMT+1`. */
export function formatExact(iso: string): string {
  return exact.format(new Date(iso));
}

/** A clock time today, or the exact time when it is another day. */
export function formatWhen(iso: string, now: number): string {
  const date = new Date(iso);
  return date.toDateString() === new Date(now).toDateString()
    ? clock.format(date)
    : formatExact(iso);
}

/** The expiry countdown: `expires in 6 d 3 h`, or `expired` once past. */
export function formatCountdown(expiresAt: string, now: number): string {
  const left = Date.parse(expiresAt) - now;
  return left <= 0 ? "expired" : `expires in ${formatDuration(left)}`;
}

/** A local calendar date as `YYYY-MM-DD`. */
function formatDate(iso: string): string {
  const date = new Date(iso);
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The format's name, with the layout for jsonl: `JSONL (ShareGPT)`, `CSV`. */
function formatLabel(format: ExportFormat, template?: JsonlTemplate): string {
  const name = FORMAT_LABELS[format];
  return format === "jsonl" && template !== undefined
    ? `${name} (${TEMPLATE_LABELS[template]})`
    : name;
}

/** The format label of a stored config. */
export function configFormatLabel(config: ExportConfig | ListedExportConfig): string {
  return formatLabel(config.format, config.format === "jsonl" ? config.template : undefined);
}

type AnyFilters = NonNullable<ExportConfig["filters"]>;

/**
 * One line saying which conversations an export reads: `all approved`, `3 selected`,
 * `filtered: approved, tier scenario, quality ≥ 8`.
 */
export function scopeSummary(config: ExportConfig | ListedExportConfig): string {
  if (config.scope === "selected") {
    // A listed config carries the count of its ids, a whole one the ids.
    const ids: { conversationIds?: readonly string[]; conversationIdsCount?: number } = config;
    const count = ids.conversationIds?.length ?? ids.conversationIdsCount ?? 0;
    return `${formatNumber(count)} selected`;
  }
  if (config.scope === "filtered" && config.filters !== undefined) {
    return `filtered: ${filtersSummary(config.filters)}`;
  }
  return "all approved";
}

/** The filters of a scope in words, in the order the filter bar lists them. */
export function filtersSummary(filters: Partial<AnyFilters>): string {
  const parts: string[] = [];
  parts.push((filters.statuses ?? ["approved"]).map((status) => STATUS_LABELS[status]).join(", "));
  if (filters.tiers) {
    const tiers = filters.tiers.map((tier) => TIER_LABELS[tier]).join(", ");
    parts.push(`${filters.tiers.length === 1 ? "tier" : "tiers"} ${tiers}`);
  }
  const { qualityMin: min, qualityMax: max } = filters;
  if (min !== undefined && max !== undefined) parts.push(`quality ${min}–${max}`);
  else if (min !== undefined) parts.push(`quality ≥ ${min}`);
  else if (max !== undefined) parts.push(`quality ≤ ${max}`);
  if (filters.createdFrom) parts.push(`created from ${formatDate(filters.createdFrom)}`);
  if (filters.createdTo) parts.push(`created until ${formatDate(filters.createdTo)}`);
  if (filters.categories) parts.push(`category ${filters.categories.join(", ")}`);
  if (filters.personas) parts.push(`persona ${filters.personas.join(", ")}`);
  if (filters.emotions) parts.push(`emotion ${filters.emotions.join(", ")}`);
  if (filters.search) parts.push(`title contains “${filters.search}”`);
  return parts.join(", ");
}
