/**
 * The GET /exports query: which of the caller's exports to list, and which page of them. The
 * schema is what the route definition documents; the parser checks values against its enums and
 * bounds, by hand for what a schema of an object cannot see in a query string: a repeated key
 * (refused, not silently taking the first or last) and integers written with digits only.
 */
import { z } from "zod";
import { type FieldIssue, ValidationError } from "../core/errors.ts";
import {
  type ExportFormat,
  ExportFormatSchema,
  MAX_REPORTED_ISSUES,
  parseTimestamp,
  quote,
} from "../domain/export_config.ts";

import {
  DEFAULT_LIMIT,
  EXPORT_STATUSES,
  type ExportStatus,
  MAX_LIMIT,
  MAX_PAGE,
} from "../domain/listing.ts";
import { ExportStatusSchema } from "../domain/export_log.ts";

export { DEFAULT_LIMIT, EXPORT_STATUSES, type ExportStatus, MAX_LIMIT, MAX_PAGE };

/** The GET /exports query as the document describes it; parseListQuery enforces it. */
export const ListQuerySchema = z.strictObject({
  format: ExportFormatSchema.optional(),
  status: ExportStatusSchema.optional(),
  from: z.string().meta({
    format: "date-time",
    description: "Inclusive lower bound of `timestamp` (ISO 8601); must be earlier than `to`",
  }).optional(),
  to: z.string().meta({ format: "date-time", description: "Exclusive upper bound of `timestamp`" })
    .optional(),
  page: z.int().min(1).max(MAX_PAGE).default(1),
  limit: z.int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
});

/** A validated GET /exports query; optional fields are present only when given. */
export interface ListQuery {
  format?: ExportFormat;
  status?: ExportStatus;
  /** Inclusive lower bound of `timestamp`, UTC ISO 8601 with microseconds. */
  from?: string;
  /** Exclusive upper bound of `timestamp`, UTC ISO 8601 with microseconds. */
  to?: string;
  page: number;
  limit: number;
}

/** The query of POST /exports/preview: which page of the matching conversations. */
export const PreviewQuerySchema = ListQuerySchema.pick({ page: true, limit: true });

/** A validated POST /exports/preview query. */
export type PreviewQuery = Pick<ListQuery, "page" | "limit">;

const PARAMETERS = ListQuerySchema.keyof().options;
type Parameter = typeof PARAMETERS[number];

/**
 * Validates a GET /exports query and throws a ValidationError (paths are parameter names) for an
 * unknown, repeated, empty or malformed parameter. `from` must be strictly earlier than `to`
 * (`from` is inclusive and `to` exclusive, so `from` ≥ `to` could match nothing and is a 400).
 * Timestamps come back in UTC with six fractional digits, exactly the instant given.
 */
export function parseListQuery(params: URLSearchParams): ListQuery {
  const issues: FieldIssue[] = [];
  const values = new Map<Parameter, string>();
  const counts = new Map<string, number>();
  for (const [name] of params) counts.set(name, (counts.get(name) ?? 0) + 1);
  for (const [name, count] of counts) {
    if (!isParameter(name)) {
      issues.push({ path: name, message: `Unknown parameter ${quote(name)}` });
    } else if (count > 1) {
      issues.push({ path: name, message: `Given ${count} times; give it at most once` });
    } else {
      values.set(name, params.get(name) ?? "");
    }
  }

  const query: ListQuery = { page: 1, limit: DEFAULT_LIMIT };
  const format = values.get("format");
  if (format !== undefined) {
    const parsed = ExportFormatSchema.safeParse(format);
    if (parsed.success) query.format = parsed.data;
    else issues.push({ path: "format", message: oneOf(ExportFormatSchema.options, format) });
  }
  const status = values.get("status");
  if (status !== undefined) {
    if (isExportStatus(status)) query.status = status;
    else issues.push({ path: "status", message: oneOf(EXPORT_STATUSES, status) });
  }
  for (const bound of ["from", "to"] as const) {
    const text = values.get(bound);
    if (text === undefined) continue;
    const parsed = parseTimestamp(text);
    if (parsed.ok) query[bound] = parsed.value;
    else issues.push({ path: bound, message: parsed.message });
  }
  if (query.from !== undefined && query.to !== undefined && query.from >= query.to) {
    const [fromText, toText] = [quote(values.get("from")), quote(values.get("to"))];
    issues.push(
      { path: "from", message: `Must be earlier than to ${toText}, got ${fromText}` },
      { path: "to", message: `Must be later than from ${fromText}, got ${toText}` },
    );
  }
  const page = values.get("page");
  if (page !== undefined) {
    const parsed = parseInteger(page, 1, MAX_PAGE);
    if (typeof parsed === "number") query.page = parsed;
    else issues.push({ path: "page", message: parsed.message });
  }
  const limit = values.get("limit");
  if (limit !== undefined) {
    const parsed = parseInteger(limit, 1, MAX_LIMIT);
    if (typeof parsed === "number") query.limit = parsed;
    else issues.push({ path: "limit", message: parsed.message });
  }

  if (issues.length > 0) throw new ValidationError(capIssues(issues));
  return query;
}

/**
 * Validates a POST /exports/preview query: `page` and `limit` as GET /exports takes them, and
 * nothing else (every other parameter, those a list takes included, is unknown here).
 */
export function parsePreviewQuery(params: URLSearchParams): PreviewQuery {
  const issues: FieldIssue[] = [];
  const pageParams = new URLSearchParams();
  for (const [name, value] of params) {
    if (name === "page" || name === "limit") pageParams.append(name, value);
    else if (!issues.some((issue) => issue.path === name)) {
      issues.push({ path: name, message: `Unknown parameter ${quote(name)}` });
    }
  }
  let query: PreviewQuery = { page: 1, limit: DEFAULT_LIMIT };
  try {
    const { page, limit } = parseListQuery(pageParams);
    query = { page, limit };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    issues.unshift(...error.issues);
  }
  if (issues.length > 0) throw new ValidationError(capIssues(issues));
  return query;
}

function isParameter(name: string): name is Parameter {
  return (PARAMETERS as readonly string[]).includes(name);
}

function isExportStatus(value: string): value is ExportStatus {
  return (EXPORT_STATUSES as readonly string[]).includes(value);
}

function oneOf(options: readonly string[], value: string): string {
  return `Expected one of ${options.map((option) => quote(option)).join(", ")}, got ${
    quote(value)
  }`;
}

/** A decimal integer in [min, max] written with ASCII digits only (no sign, point or exponent). */
function parseInteger(text: string, min: number, max: number): number | { message: string } {
  if (!/^[0-9]+$/.test(text)) return { message: `Expected a whole number, got ${quote(text)}` };
  const digits = text.replace(/^0+(?=.)/, "");
  const value = digits.length > String(max).length ? Infinity : Number(digits);
  if (value < min || value > max) {
    return { message: `Must be between ${min} and ${max}, got ${quote(text)}` };
  }
  return value;
}

/** At most MAX_REPORTED_ISSUES issues, those about known parameters first (a flood of unknown names must not hide them). */
function capIssues(issues: FieldIssue[]): FieldIssue[] {
  if (issues.length <= MAX_REPORTED_ISSUES) return issues;
  const known = issues.filter((issue) => isParameter(issue.path));
  const unknown = issues.filter((issue) => !isParameter(issue.path));
  const kept = [...known, ...unknown.slice(0, MAX_REPORTED_ISSUES - 1 - known.length)];
  const message = `Another ${issues.length - kept.length} invalid parameters are not listed`;
  return [...kept, { path: "", message }];
}
