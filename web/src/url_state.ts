/**
 * What each page keeps in the URL query, so a view can be bookmarked, shared and restored by
 * back/forward: the filters as the user typed them, the page and the page size. Unknown values
 * are dropped when read; values the API may still refuse (a quality of 11) are kept, so its
 * answer can point at the field.
 */
import type {
  ExportFiltersInput,
  ExportFormat,
  ExportStatus,
  ListExportsQuery,
} from "../../client/exports_client.ts";
import type { ConversationStatus, ConversationTier } from "../../shared/domain/export_config.ts";
import { endOfDay, isDay, nextDay, startOfDay } from "./dates.ts";
import {
  EXPORT_STATUS_LABELS,
  FORMAT_LABELS,
  keysOf,
  STATUS_LABELS,
  TIER_LABELS,
} from "./vocabulary.ts";

/** Rows per page the API allows and the UI offers; the API's default comes first. */
export const PAGE_SIZES = [25, 10, 50, 100] as const;
/** Rows per page when the URL names none. */
export const DEFAULT_PAGE_SIZE = PAGE_SIZES[0];

/** The conversation filters as the filter bar holds them (text fields as typed). */
export interface ConversationFilters {
  statuses: ConversationStatus[];
  tiers: ConversationTier[];
  qualityMin: string;
  qualityMax: string;
  /** Local days, `YYYY-MM-DD`, both inclusive. */
  createdFrom: string;
  createdTo: string;
  /** Comma-separated values. */
  categories: string;
  personas: string;
  emotions: string;
  search: string;
}

/** The Conversations page's state in the URL. */
export interface ConversationsView {
  filters: ConversationFilters;
  page: number;
  limit: number;
}

/** The History page's state in the URL. */
export interface HistoryView {
  status?: ExportStatus;
  format?: ExportFormat;
  /** Local days, `YYYY-MM-DD`, both inclusive. */
  from: string;
  to: string;
  page: number;
  limit: number;
  /** The export just created, shown highlighted. */
  highlight?: string;
}

/** No filter set. */
export const EMPTY_FILTERS: ConversationFilters = {
  statuses: [],
  tiers: [],
  qualityMin: "",
  qualityMax: "",
  createdFrom: "",
  createdTo: "",
  categories: "",
  personas: "",
  emotions: "",
  search: "",
};

const TEXT_FILTERS = [
  "qualityMin",
  "qualityMax",
  "createdFrom",
  "createdTo",
  "categories",
  "personas",
  "emotions",
  "search",
] as const;

/** Reads the Conversations page's state from the query. */
export function readConversationsView(params: URLSearchParams): ConversationsView {
  const filters: ConversationFilters = {
    ...EMPTY_FILTERS,
    statuses: listOf(params.get("statuses"), keysOf(STATUS_LABELS)),
    tiers: listOf(params.get("tiers"), keysOf(TIER_LABELS)),
  };
  for (const name of TEXT_FILTERS) filters[name] = params.get(name) ?? "";
  return { filters, page: pageOf(params), limit: limitOf(params) };
}

/** The query of a Conversations view (defaults left out, so URLs stay short). */
export function writeConversationsView(view: ConversationsView): URLSearchParams {
  const params = new URLSearchParams({ view: "conversations" });
  const { filters } = view;
  if (filters.statuses.length > 0) params.set("statuses", filters.statuses.join(","));
  if (filters.tiers.length > 0) params.set("tiers", filters.tiers.join(","));
  for (const name of TEXT_FILTERS) {
    if (filters[name].trim() !== "") params.set(name, filters[name].trim());
  }
  setPaging(params, view.page, view.limit);
  return params;
}

/** Reads the History page's state from the query. */
export function readHistoryView(params: URLSearchParams): HistoryView {
  const status = oneOf(params.get("status"), keysOf(EXPORT_STATUS_LABELS));
  const format = oneOf(params.get("format"), keysOf(FORMAT_LABELS));
  const highlight = params.get("highlight") ?? undefined;
  return {
    ...(status && { status }),
    ...(format && { format }),
    from: params.get("from") ?? "",
    to: params.get("to") ?? "",
    page: pageOf(params),
    limit: limitOf(params),
    ...(highlight && { highlight }),
  };
}

/** The query of a History view. */
export function writeHistoryView(view: HistoryView): URLSearchParams {
  const params = new URLSearchParams();
  if (view.status) params.set("status", view.status);
  if (view.format) params.set("format", view.format);
  if (view.from) params.set("from", view.from);
  if (view.to) params.set("to", view.to);
  setPaging(params, view.page, view.limit);
  if (view.highlight) params.set("highlight", view.highlight);
  return params;
}

/** The GET /exports query of a History view: its days as instants (`to` exclusive). */
export function historyListQuery(view: HistoryView): ListExportsQuery {
  return {
    ...(view.status && { status: view.status }),
    ...(view.format && { format: view.format }),
    ...(isDay(view.from) && { from: startOfDay(view.from) }),
    ...(isDay(view.to) && { to: nextDay(view.to) }),
    page: view.page,
    limit: view.limit,
  };
}

/**
 * The filters as the API takes them, or undefined when none is set. Empty text and empty lists
 * are left out (the API refuses them); a day that is not a real date is sent as typed, so the
 * API's answer names the field.
 */
export function filtersInput(filters: ConversationFilters): ExportFiltersInput | undefined {
  const input: ExportFiltersInput = {};
  if (filters.statuses.length > 0) input.statuses = filters.statuses;
  if (filters.tiers.length > 0) input.tiers = filters.tiers;
  const min = numberOf(filters.qualityMin);
  if (min !== undefined) input.qualityMin = min;
  const max = numberOf(filters.qualityMax);
  if (max !== undefined) input.qualityMax = max;
  const from = filters.createdFrom.trim();
  if (from !== "") input.createdFrom = startOfDay(from) ?? from;
  const to = filters.createdTo.trim();
  if (to !== "") input.createdTo = endOfDay(to) ?? to;
  const categories = valuesOf(filters.categories);
  if (categories.length > 0) input.categories = categories;
  const personas = valuesOf(filters.personas);
  if (personas.length > 0) input.personas = personas;
  const emotions = valuesOf(filters.emotions);
  if (emotions.length > 0) input.emotions = emotions;
  if (filters.search.trim() !== "") input.search = filters.search.trim();
  return Object.keys(input).length > 0 ? input : undefined;
}

/** The values of a comma-separated field, trimmed, without empty ones. */
function valuesOf(text: string): string[] {
  return text.split(",").map((value) => value.trim()).filter((value) => value !== "");
}

function numberOf(text: string): number | undefined {
  if (text.trim() === "") return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function listOf<T extends string>(text: string | null, allowed: readonly T[]): T[] {
  if (text === null) return [];
  const given = text.split(",");
  return allowed.filter((value) => given.includes(value));
}

function oneOf<T extends string>(text: string | null, allowed: readonly T[]): T | undefined {
  return allowed.find((value) => value === text);
}

function pageOf(params: URLSearchParams): number {
  const page = Number(params.get("page"));
  return Number.isSafeInteger(page) && page >= 1 ? page : 1;
}

function limitOf(params: URLSearchParams): number {
  const limit = Number(params.get("limit"));
  return (PAGE_SIZES as readonly number[]).includes(limit) ? limit : DEFAULT_PAGE_SIZE;
}

function setPaging(params: URLSearchParams, page: number, limit: number): void {
  if (page > 1) params.set("page", String(page));
  if (limit !== DEFAULT_PAGE_SIZE) params.set("limit", String(limit));
}
