/**
 * The flags of `create`, one table: each names the field of the POST /exports body it sets, so
 * the same table builds the request, writes the help and turns the API's field paths
 * (`config.filters.qualityMin`) back into flags (`--quality-min`). Choices come from the server's
 * zod schemas; the request is checked by the server's own parser before it is sent.
 */
import type { ExportRequest } from "../client/exports_client.ts";
import type { FieldIssue } from "../shared/core/errors.ts";
import {
  ConversationStatusSchema,
  ConversationTierSchema,
  ExportFormatSchema,
  ExportScopeSchema,
  JsonlTemplateSchema,
  parseExportRequest,
} from "../shared/domain/export_config.ts";
import { ValidationError } from "../shared/core/errors.ts";
import { type OptionSpec, UsageError } from "./args.ts";

/** How a flag's text becomes the field's value. */
type Kind =
  | "text"
  | "number"
  | "boolean"
  /** Repeatable; each value may also list several, comma-separated. */
  | "csv-list"
  /** Repeatable; one value each (values may contain commas). */
  | "list";

interface CreateFlag {
  flag: string;
  /** The field's path in the POST /exports body. */
  path: readonly string[];
  kind: Kind;
  value?: string;
  help: string;
}

const oneOf = (options: readonly string[]) => options.join(", ");

const CREATE_FLAGS: readonly CreateFlag[] = [
  {
    flag: "format",
    path: ["format"],
    kind: "text",
    value: "FORMAT",
    help: `${oneOf(ExportFormatSchema.options)} (required)`,
  },
  {
    flag: "scope",
    path: ["config", "scope"],
    kind: "text",
    value: "SCOPE",
    help: `${
      oneOf(ExportScopeSchema.options)
    }; default: selected with --ids, filtered with a filter flag, else all (every approved conversation)`,
  },
  {
    flag: "ids",
    path: ["config", "conversationIds"],
    kind: "csv-list",
    value: "ID,…",
    help: "the conversations to export (scope selected)",
  },
  {
    flag: "status",
    path: ["config", "filters", "statuses"],
    kind: "csv-list",
    value: "STATUS,…",
    help: `filter: conversation status (${
      oneOf(ConversationStatusSchema.options)
    }); default approved`,
  },
  {
    flag: "tier",
    path: ["config", "filters", "tiers"],
    kind: "csv-list",
    value: "TIER,…",
    help: `filter: ${oneOf(ConversationTierSchema.options)}`,
  },
  {
    flag: "quality-min",
    path: ["config", "filters", "qualityMin"],
    kind: "number",
    value: "N",
    help: "filter: quality score at least N (0–10)",
  },
  {
    flag: "quality-max",
    path: ["config", "filters", "qualityMax"],
    kind: "number",
    value: "N",
    help: "filter: quality score at most N (0–10)",
  },
  {
    flag: "created-from",
    path: ["config", "filters", "createdFrom"],
    kind: "text",
    value: "TIME",
    help: "filter: created at or after an ISO 8601 time",
  },
  {
    flag: "created-to",
    path: ["config", "filters", "createdTo"],
    kind: "text",
    value: "TIME",
    help: "filter: created at or before an ISO 8601 time",
  },
  {
    flag: "category",
    path: ["config", "filters", "categories"],
    kind: "list",
    value: "NAME",
    help: "filter: has this category (repeat for any of several)",
  },
  {
    flag: "persona",
    path: ["config", "filters", "personas"],
    kind: "list",
    value: "NAME",
    help: "filter: this persona (repeat for any of several)",
  },
  {
    flag: "emotion",
    path: ["config", "filters", "emotions"],
    kind: "list",
    value: "NAME",
    help: "filter: this emotion (repeat for any of several)",
  },
  {
    flag: "search",
    path: ["config", "filters", "search"],
    kind: "text",
    value: "TEXT",
    help: "filter: title contains TEXT (case-insensitive)",
  },
  {
    flag: "template",
    path: ["config", "template"],
    kind: "text",
    value: "NAME",
    help: `jsonl layout: ${oneOf(JsonlTemplateSchema.options)}; default openai`,
  },
  {
    flag: "system-prompt",
    path: ["config", "systemPrompt"],
    kind: "text",
    value: "TEXT",
    help: "prepend TEXT as the system turn of every conversation",
  },
  {
    flag: "metadata",
    path: ["config", "includeMetadata"],
    kind: "boolean",
    help: "include metadata (default; --no-metadata leaves it out)",
  },
  {
    flag: "quality-scores",
    path: ["config", "includeQualityScores"],
    kind: "boolean",
    help: "include quality scores (default)",
  },
  {
    flag: "timestamps",
    path: ["config", "includeTimestamps"],
    kind: "boolean",
    help: "include timestamps (default)",
  },
  {
    flag: "approval-history",
    path: ["config", "includeApprovalHistory"],
    kind: "boolean",
    help: "include the review history (off by default)",
  },
  {
    flag: "parent-references",
    path: ["config", "includeParentReferences"],
    kind: "boolean",
    help: "include parent ids (off by default)",
  },
  {
    flag: "full-content",
    path: ["config", "includeFullContent"],
    kind: "boolean",
    help: "whole turns (default; --no-full-content cuts each to 200 characters)",
  },
  {
    flag: "csv-formula-escape",
    path: ["config", "csvFormulaEscape"],
    kind: "boolean",
    help: "csv: defuse cells starting with = + - @ (default)",
  },
];

/** The parseArgs options of the create flags, with their help. */
export const CREATE_OPTIONS: Record<string, OptionSpec> = Object.fromEntries(
  CREATE_FLAGS.map((spec) => [
    spec.flag,
    {
      type: spec.kind === "boolean" ? "boolean" : "string",
      multiple: spec.kind === "list" || spec.kind === "csv-list",
      negatable: spec.kind === "boolean",
      value: spec.value,
      help: spec.help,
    } satisfies OptionSpec,
  ]),
);

/**
 * Builds the POST /exports body from the parsed flags and checks it with the server's parser;
 * throws a UsageError naming the offending flags.
 */
export function exportRequestFromFlags(values: Record<string, unknown>): ExportRequest {
  const body: Record<string, unknown> = {};
  for (const spec of CREATE_FLAGS) {
    const raw = values[spec.flag];
    if (raw === undefined) continue;
    setPath(body, spec.path, flagValue(spec, raw));
  }
  const config = body.config as Record<string, unknown> | undefined;
  if (config !== undefined && config.scope === undefined) {
    if (config.conversationIds !== undefined) config.scope = "selected";
    else if (config.filters !== undefined) config.scope = "filtered";
  }
  try {
    parseExportRequest(body);
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(describeIssues(error.issues));
    throw error;
  }
  return body as ExportRequest;
}

/**
 * The API's field issues as lines naming the argument each is about: a create flag for a body
 * path, `ID` for the export id, `--<name>` for a query parameter or header.
 */
export function describeIssues(issues: readonly FieldIssue[]): string {
  const lines = issues.map((issue) => `  ${labelOf(issue.path)}: ${issue.message}`);
  return `The request is not valid:\n${lines.join("\n")}`;
}

function labelOf(path: string): string {
  if (path === "config.filters") return "the filter flags";
  if (path === "" || path === "config") return "the request";
  if (path === "export_id") return "ID";
  const spec = CREATE_FLAGS
    .filter((flag) => path === flag.path.join(".") || path.startsWith(`${flag.path.join(".")}.`))
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (spec === undefined) return `--${path.toLowerCase()}`;
  const item = path.slice(spec.path.join(".").length + 1);
  return /^\d+$/.test(item) ? `--${spec.flag} (value ${Number(item) + 1})` : `--${spec.flag}`;
}

function flagValue(spec: CreateFlag, raw: unknown): unknown {
  switch (spec.kind) {
    case "number": {
      const text = String(raw);
      const value = Number(text);
      if (text.trim() === "" || !Number.isFinite(value)) {
        throw new UsageError(`--${spec.flag} expects a number, got ${JSON.stringify(text)}`);
      }
      return value;
    }
    case "csv-list":
      return (raw as string[]).flatMap((text) => text.split(",")).map((text) => text.trim());
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}
