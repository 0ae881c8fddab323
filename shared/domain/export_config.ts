/**
 * The POST /exports body and the normalized ExportConfig (see spec/export-config.md): zod schemas,
 * the types inferred from them, and the parser the edge function calls. A normalized config says
 * exactly what the file contains, so it is what `export_logs.config` stores and what idempotent
 * replays compare (through `canonicalConfigKey`).
 */

import { z } from "zod";
import { type FieldIssue, ValidationError } from "../core/errors.ts";
import { UUID_PATTERN } from "../core/uuid.ts";

/** Most conversation ids one export request may list. */
export const MAX_CONVERSATION_IDS = 10_000;
/** Most characters (Unicode code points) of `filters.search`. */
export const MAX_SEARCH_CHARS = 200;
/** Most characters (Unicode code points) of `systemPrompt`. */
export const MAX_SYSTEM_PROMPT_CHARS = 8_000;
/** Most values one filter array (`tiers`, `categories`, …) may list. */
export const MAX_FILTER_VALUES = 1_000;
/** Most issues a ValidationError lists; a hostile body could otherwise yield one per array item. */
export const MAX_REPORTED_ISSUES = 100;

const FORMATS = ["json", "jsonl", "csv", "markdown"] as const;
const SCOPES = ["all", "filtered", "selected"] as const;
const TEMPLATES = ["openai", "sharegpt", "alpaca"] as const;
const TIERS = ["template", "scenario", "edge_case"] as const;
const STATUSES = [
  "draft",
  "generated",
  "pending_review",
  "approved",
  "rejected",
  "needs_revision",
  "failed",
] as const;

/** The file format of an export. */
export const ExportFormatSchema = z.enum(FORMATS);
/** Which conversations an export reads: all approved ones, a filtered set, or listed ids. */
export const ExportScopeSchema = z.enum(SCOPES);
/** The line layout of a jsonl export. */
export const JsonlTemplateSchema = z.enum(TEMPLATES);
/** A conversation's tier, as `public.conversations.tier` allows. */
export const ConversationTierSchema = z.enum(TIERS);
/** A conversation's status, as `public.conversations.status` allows. */
export const ConversationStatusSchema = z.enum(STATUSES);

/** The file format of an export. */
export type ExportFormat = z.infer<typeof ExportFormatSchema>;
/** Which conversations an export reads. */
export type ExportScope = z.infer<typeof ExportScopeSchema>;
/** The line layout of a jsonl export. */
export type JsonlTemplate = z.infer<typeof JsonlTemplateSchema>;
/** A conversation's tier. */
export type ConversationTier = z.infer<typeof ConversationTierSchema>;
/** A conversation's status. */
export type ConversationStatus = z.infer<typeof ConversationStatusSchema>;

// ---------------------------------------------------------------------------------------------
// Field schemas shared by the request (input) and the normalized (output) shapes

function textSchema(maxChars: number | undefined) {
  return z.string().superRefine((value, ctx) => {
    const message = textProblem(value, maxChars);
    if (message !== undefined) ctx.addIssue({ code: "custom", message, input: value });
  });
}

/** Why a string may not be stored (jsonb holds neither NUL nor lone surrogates), else undefined. */
function textProblem(value: string, maxChars: number | undefined): string | undefined {
  if (value.length === 0) return "Must not be empty";
  if (!value.isWellFormed()) return `Must not contain unpaired surrogates, got ${quote(value)}`;
  if (value.includes("\u0000")) return `Must not contain NUL characters, got ${quote(value)}`;
  if (maxChars !== undefined) {
    const chars = [...value].length;
    if (chars > maxChars) return `Must be at most ${maxChars} characters, got ${chars}`;
  }
  return undefined;
}

const uuidSchema = z.string().regex(UUID_PATTERN, {
  error: (issue) => `Expected a UUID, got ${quote(issue.input)}`,
});

// The maximum comes first: zod then refuses an oversized array without parsing its items.
const conversationIdsSchema = z.array(uuidSchema).max(MAX_CONVERSATION_IDS).min(1);

const timestampSchema = z.string().superRefine((value, ctx) => {
  const result = parseTimestamp(value);
  if (!result.ok) ctx.addIssue({ code: "custom", message: result.message, input: value });
});

const qualitySchema = z.number().min(0).max(10);

function nonEmptyArray<T extends z.ZodType>(item: T) {
  return z.array(item).max(MAX_FILTER_VALUES).min(1);
}

const filterFields = {
  tiers: nonEmptyArray(ConversationTierSchema).optional(),
  qualityMin: qualitySchema.optional(),
  qualityMax: qualitySchema.optional(),
  createdFrom: timestampSchema.optional(),
  createdTo: timestampSchema.optional(),
  categories: nonEmptyArray(textSchema(undefined)).optional(),
  personas: nonEmptyArray(textSchema(undefined)).optional(),
  emotions: nonEmptyArray(textSchema(undefined)).optional(),
  search: textSchema(MAX_SEARCH_CHARS).optional(),
};

const statusesSchema = nonEmptyArray(ConversationStatusSchema);

/** `filters` as a normalized config holds it: `statuses` always present. */
export const ExportFiltersSchema = z.strictObject({ ...filterFields, statuses: statusesSchema });

/** Filters as a normalized config holds them (`statuses` always present). */
export type ExportFilters = z.infer<typeof ExportFiltersSchema>;

const includeFields = {
  includeMetadata: z.boolean(),
  includeQualityScores: z.boolean(),
  includeTimestamps: z.boolean(),
  includeApprovalHistory: z.boolean(),
  includeParentReferences: z.boolean(),
  includeFullContent: z.boolean(),
};

const normalizedCommonFields = {
  scope: ExportScopeSchema,
  conversationIds: conversationIdsSchema.optional(),
  filters: ExportFiltersSchema.optional(),
  ...includeFields,
  systemPrompt: textSchema(MAX_SYSTEM_PROMPT_CHARS).optional(),
};

/**
 * The normalized ExportConfig, as stored in `export_logs.config`: `template` only for jsonl,
 * `csvFormulaEscape` only for csv. It checks shape only; `parseExportRequest` enforces the rest.
 */
export const ExportConfigSchema = z.discriminatedUnion("format", [
  z.strictObject({
    format: z.literal("jsonl"),
    ...normalizedCommonFields,
    template: JsonlTemplateSchema,
  }),
  z.strictObject({
    format: z.literal("csv"),
    ...normalizedCommonFields,
    csvFormulaEscape: z.boolean(),
  }),
  z.strictObject({ format: z.enum(["json", "markdown"]), ...normalizedCommonFields }),
]);

/** The normalized ExportConfig: every default filled in, `format` included. */
export type ExportConfig = z.infer<typeof ExportConfigSchema>;

// ---------------------------------------------------------------------------------------------
// The request body as a client sends it, with the rules that relate fields to each other

const ExportFiltersInputSchema = z
  .strictObject({ ...filterFields, statuses: statusesSchema.optional() })
  .superRefine(refinement(filterRangeIssues), { when: (payload) => isRecord(payload.value) });

const ExportConfigInputSchema = z
  .strictObject({
    scope: ExportScopeSchema.optional(),
    conversationIds: conversationIdsSchema.optional(),
    filters: ExportFiltersInputSchema.optional(),
    includeMetadata: z.boolean().optional(),
    includeQualityScores: z.boolean().optional(),
    includeTimestamps: z.boolean().optional(),
    includeApprovalHistory: z.boolean().optional(),
    includeParentReferences: z.boolean().optional(),
    includeFullContent: z.boolean().optional(),
    template: JsonlTemplateSchema.optional(),
    systemPrompt: textSchema(MAX_SYSTEM_PROMPT_CHARS).optional(),
    csvFormulaEscape: z.boolean().optional(),
  })
  .superRefine(refinement(scopeIssues), { when: (payload) => isRecord(payload.value) });

/** The parsed request: its format and the normalized config that goes with it. */
export interface ParsedExportRequest {
  format: ExportFormat;
  config: ExportConfig;
}

/**
 * The POST /exports body `{ format, config? }`: parsing validates every rule of the spec and
 * outputs the normalized request; its input type is what a client sends.
 */
export const ExportRequestSchema = z
  .strictObject({ format: ExportFormatSchema, config: ExportConfigInputSchema.optional() })
  .superRefine(refinement(formatOnlyIssues), { when: (payload) => isRecord(payload.value) })
  .transform(normalizeRequest);

/** The POST /exports body as a client sends it. */
export type ExportRequest = z.input<typeof ExportRequestSchema>;
/** The `config` of a POST /exports body as a client sends it (defaults not yet filled in). */
export type ExportConfigInput = NonNullable<ExportRequest["config"]>;
/** The `config.filters` of a POST /exports body as a client sends it. */
export type ExportFiltersInput = NonNullable<ExportConfigInput["filters"]>;

// The rules relating fields to each other are plain functions of the (possibly invalid) values,
// so they run both as refinements and, in parseExportRequest, over the raw body: zod skips
// refinements once an oversized array has aborted the parse, yet every offending field must
// still be listed.

type RelationIssue = { path: string[]; message: string; input: unknown };

function refinement(rule: (value: Record<string, unknown>) => RelationIssue[]) {
  return (value: Record<string, unknown>, ctx: z.core.$RefinementCtx<unknown>) => {
    for (const issue of rule(value)) ctx.addIssue({ code: "custom", ...issue });
  };
}

/** `qualityMin` ≤ `qualityMax` and `createdFrom` ≤ `createdTo`; reported on both bounds. */
function filterRangeIssues(filters: Record<string, unknown>): RelationIssue[] {
  const issues: RelationIssue[] = [];
  const min = qualitySchema.safeParse(filters.qualityMin);
  const max = qualitySchema.safeParse(filters.qualityMax);
  if (min.success && max.success && min.data > max.data) {
    issues.push(
      {
        path: ["qualityMin"],
        message: `Must not be greater than qualityMax ${max.data}, got ${min.data}`,
        input: min.data,
      },
      {
        path: ["qualityMax"],
        message: `Must not be less than qualityMin ${min.data}, got ${max.data}`,
        input: max.data,
      },
    );
  }
  const from = typeof filters.createdFrom === "string"
    ? parseTimestamp(filters.createdFrom)
    : undefined;
  const to = typeof filters.createdTo === "string" ? parseTimestamp(filters.createdTo) : undefined;
  if (from?.ok && to?.ok && from.value > to.value) {
    const [fromText, toText] = [quote(filters.createdFrom), quote(filters.createdTo)];
    issues.push(
      {
        path: ["createdFrom"],
        message: `Must not be later than createdTo ${toText}, got ${fromText}`,
        input: filters.createdFrom,
      },
      {
        path: ["createdTo"],
        message: `Must not be earlier than createdFrom ${fromText}, got ${toText}`,
        input: filters.createdTo,
      },
    );
  }
  return issues;
}

/** `conversationIds` only (and always) with `selected`; `filters` only (and always) with `filtered`. */
function scopeIssues(config: Record<string, unknown>): RelationIssue[] {
  const scope = ExportScopeSchema.safeParse(config.scope ?? "all");
  if (!scope.success) return [];
  const issues: RelationIssue[] = [];
  const wanted = { conversationIds: scope.data === "selected", filters: scope.data === "filtered" };
  for (const field of ["conversationIds", "filters"] as const) {
    const given = config[field] !== undefined;
    if (wanted[field] && !given) {
      const message = `Required when scope is ${quote(scope.data)}`;
      issues.push({ path: [field], message, input: undefined });
    } else if (!wanted[field] && given) {
      const message = `Not allowed when scope is ${quote(scope.data)}`;
      issues.push({ path: [field], message, input: config[field] });
    }
  }
  return issues;
}

/** `template` belongs to jsonl and `csvFormulaEscape` to csv; any other format refuses them. */
function formatOnlyIssues(body: Record<string, unknown>): RelationIssue[] {
  const format = ExportFormatSchema.safeParse(body.format);
  const config = body.config;
  if (!format.success || !isRecord(config)) return [];
  const owners = { template: "jsonl", csvFormulaEscape: "csv" } as const;
  return (["template", "csvFormulaEscape"] as const)
    .filter((field) => config[field] !== undefined && format.data !== owners[field])
    .map((field) => ({
      path: ["config", field],
      message: `Only allowed for ${owners[field]} exports, not ${quote(format.data)}`,
      input: config[field],
    }));
}

/** Every relation rule over a raw body, with paths from its root. */
function relationIssues(body: Record<string, unknown>): z.core.$ZodIssue[] {
  const issues = formatOnlyIssues(body);
  const config = body.config;
  if (isRecord(config)) {
    for (const issue of scopeIssues(config)) {
      issues.push({ ...issue, path: ["config", ...issue.path] });
    }
    if (isRecord(config.filters)) {
      for (const issue of filterRangeIssues(config.filters)) {
        issues.push({ ...issue, path: ["config", "filters", ...issue.path] });
      }
    }
  }
  return issues.map((issue) => ({ code: "custom", ...issue }));
}

type RequestShape = {
  format: ExportFormat;
  config?: z.output<typeof ExportConfigInputSchema> | undefined;
};

/** Builds the normalized request from a body every rule has accepted. */
function normalizeRequest(body: RequestShape): ParsedExportRequest {
  const input = body.config ?? {};
  const common = {
    scope: input.scope ?? "all",
    ...(input.conversationIds !== undefined && {
      conversationIds: [...new Set(input.conversationIds.map((id) => id.toLowerCase()))],
    }),
    ...(input.filters !== undefined && { filters: normalizeFilters(input.filters) }),
    includeMetadata: input.includeMetadata ?? true,
    includeQualityScores: input.includeQualityScores ?? true,
    includeTimestamps: input.includeTimestamps ?? true,
    includeApprovalHistory: input.includeApprovalHistory ?? false,
    includeParentReferences: input.includeParentReferences ?? false,
    includeFullContent: input.includeFullContent ?? true,
    ...(input.systemPrompt !== undefined && { systemPrompt: input.systemPrompt }),
  };
  const format = body.format;
  let config: ExportConfig;
  if (format === "jsonl") {
    config = { format, ...common, template: input.template ?? "openai" };
  } else if (format === "csv") {
    config = { format, ...common, csvFormulaEscape: input.csvFormulaEscape ?? true };
  } else {
    config = { format, ...common };
  }
  return { format, config };
}

function normalizeFilters(input: z.output<typeof ExportFiltersInputSchema>): ExportFilters {
  const filters: ExportFilters = { statuses: input.statuses ?? ["approved"] };
  if (input.tiers !== undefined) filters.tiers = input.tiers;
  if (input.qualityMin !== undefined) filters.qualityMin = input.qualityMin;
  if (input.qualityMax !== undefined) filters.qualityMax = input.qualityMax;
  if (input.createdFrom !== undefined) filters.createdFrom = normalizeTimestamp(input.createdFrom);
  if (input.createdTo !== undefined) filters.createdTo = normalizeTimestamp(input.createdTo);
  if (input.categories !== undefined) filters.categories = input.categories;
  if (input.personas !== undefined) filters.personas = input.personas;
  if (input.emotions !== undefined) filters.emotions = input.emotions;
  if (input.search !== undefined) filters.search = input.search;
  return filters;
}

function normalizeTimestamp(value: string): string {
  const result = parseTimestamp(value);
  if (!result.ok) throw new TypeError(`Timestamp ${quote(value)} was not validated`);
  return result.value;
}

// ---------------------------------------------------------------------------------------------
// The parser

/**
 * Validates a POST /exports body and returns its format with the normalized config; throws a
 * ValidationError listing every offending field (`config.filters.qualityMin`,
 * `config.conversationIds.3`, one issue per unknown key; `""` when the body is not an object).
 */
export function parseExportRequest(body: unknown): ParsedExportRequest {
  if (!isRecord(body)) {
    throw new ValidationError([
      { path: "", message: `The body must be a JSON object, got ${quote(body)}` },
    ]);
  }
  const result = ExportRequestSchema.safeParse(body, { error: issueMessage });
  if (result.success) return result.data;
  throw new ValidationError(toFieldIssues([...result.error.issues, ...relationIssues(body)]));
}

/**
 * Turns zod issues into FieldIssues: one per unknown key, one per path (the first wins), and at
 * most MAX_REPORTED_ISSUES of them, shallower paths first, then a note of how many were left out.
 */
export function toFieldIssues(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  const byPath = new Map<string, { issue: FieldIssue; depth: number }>();
  const add = (path: readonly PropertyKey[], message: string) => {
    const key = path.map(String).join(".");
    if (!byPath.has(key)) byPath.set(key, { issue: { path: key, message }, depth: path.length });
  };
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) add([...issue.path, key], `Unknown field ${quote(key)}`);
    } else {
      add(issue.path, issue.message);
    }
  }
  const all = [...byPath.values()];
  if (all.length <= MAX_REPORTED_ISSUES) return all.map((entry) => entry.issue);
  const kept = all
    .map((entry, index) => ({ ...entry, index }))
    .sort((a, b) => a.depth - b.depth || a.index - b.index)
    .slice(0, MAX_REPORTED_ISSUES - 1)
    .sort((a, b) => a.index - b.index)
    .map((entry) => entry.issue);
  const omitted = all.length - kept.length;
  return [...kept, { path: "", message: `Another ${omitted} invalid fields are not listed` }];
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  boolean: "true or false",
  object: "an object",
  array: "an array",
};

/** The sentence for a zod issue that its schema does not word itself. */
function issueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "Missing required field";
      return `Expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${quote(issue.input)}`;
    case "invalid_value":
      return `Expected one of ${issue.values.map((v) => quote(v)).join(", ")}, got ${
        quote(issue.input)
      }`;
    case "too_small":
      if (issue.origin === "array") {
        return Number(issue.minimum) <= 1
          ? "Must not be empty"
          : `Must list at least ${issue.minimum} items`;
      }
      return `Must be at least ${issue.minimum}, got ${quote(issue.input)}`;
    case "too_big":
      if (issue.origin === "array") {
        const count = Array.isArray(issue.input) ? `, got ${issue.input.length}` : "";
        return `Must list at most ${issue.maximum} items${count}`;
      }
      return `Must be at most ${issue.maximum}, got ${quote(issue.input)}`;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Canonical form for idempotency

/**
 * A stable string for "same format and same normalized config": JSON with object keys sorted at
 * every depth (array order kept), so key order, such as jsonb's, does not matter.
 */
export function canonicalConfigKey(format: ExportFormat, config: ExportConfig): string {
  return canonicalJson({ format, config });
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
  }
  if (isRecord(value)) {
    const entries = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

// ---------------------------------------------------------------------------------------------
// Timestamps

const TIMESTAMP_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;

/** A parsed timestamp (`value` in UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`) or why it is refused. */
export type TimestampResult = { ok: true; value: string } | { ok: false; message: string };

/**
 * Parses an ISO 8601 / RFC 3339 timestamp with `Z` or an offset and at most microsecond precision
 * into UTC with exactly six fractional digits (lossless, and ordered like time when compared as
 * strings). Refuses dates that do not exist (`2026-02-30`), a missing offset, and finer precision
 * than the database keeps.
 */
export function parseTimestamp(text: string): TimestampResult {
  const refuse = (why: string): TimestampResult => ({
    ok: false,
    message: `Expected an ISO 8601 timestamp with an offset or Z${why}, got ${quote(text)}`,
  });
  const match = TIMESTAMP_PATTERN.exec(text);
  if (match === null) return refuse("");
  const [, y, mo, d, h, mi, s = "00", fraction = "", zulu, sign, oh = "00", om = "00"] = match;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return refuse(" (no such date)");
  }
  if (hour > 23 || minute > 59 || second > 59) return refuse(" (no such time of day)");
  if (Number(oh) > 23 || Number(om) > 59) return refuse(" (no such offset)");
  if (fraction.length > 6) return refuse(" (at most microsecond precision)");
  const offsetMinutes = zulu ? 0 : (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om));
  const minutes = daysFromCivil(year, month, day) * 1440 + hour * 60 + minute - offsetMinutes;
  const days = Math.floor(minutes / 1440);
  const minuteOfDay = minutes - days * 1440;
  const utc = civilFromDays(days);
  if (utc.year < 1 || utc.year > 9999) return refuse(" (year out of range in UTC)");
  const value = `${pad(utc.year, 4)}-${pad(utc.month, 2)}-${pad(utc.day, 2)}T${
    pad(Math.floor(minuteOfDay / 60), 2)
  }:${pad(minuteOfDay % 60, 2)}:${s}.${fraction.padEnd(6, "0")}Z`;
  return { ok: true, value };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) -
      Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as an error message quotes it: strings in JSON quotes (cut at 60 characters). */
export function quote(value: unknown): string {
  if (typeof value === "string") {
    const chars = [...value];
    return JSON.stringify(chars.length > 60 ? `${chars.slice(0, 60).join("")}…` : value);
  }
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return String(value);
}
