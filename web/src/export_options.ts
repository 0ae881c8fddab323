/**
 * The export dialog's choices and the POST /exports body they make: which conversations (the
 * scope), the format and its layout, and what each record includes. "Export again" starts from
 * a stored config, so the same choices make the same file.
 */
import type {
  ExportConfig,
  ExportConfigInput,
  ExportFiltersInput,
  ExportFormat,
  ExportRequest,
} from "../../client/exports_client.ts";
import type { JsonlTemplate } from "../../shared/domain/export_config.ts";
import { countOf, filtersSummary } from "./format.ts";

/** Which conversations an export reads. */
export type ScopeChoice =
  | { kind: "selected"; ids: readonly string[] }
  | { kind: "filtered"; filters: ExportFiltersInput }
  | { kind: "all" };

/** The include flags of ExportConfig, each a checkbox. */
export type IncludeFlag =
  | "includeMetadata"
  | "includeQualityScores"
  | "includeTimestamps"
  | "includeApprovalHistory"
  | "includeParentReferences"
  | "includeFullContent";

/** Every choice of the dialog but the scope. */
export interface ExportOptions extends Record<IncludeFlag, boolean> {
  format: ExportFormat;
  template: JsonlTemplate;
  systemPrompt: string;
  csvFormulaEscape: boolean;
}

/** The include flags with their label and a one-line explanation, in the spec's order. */
export const INCLUDE_FLAGS: readonly { flag: IncludeFlag; label: string; hint: string }[] = [
  {
    flag: "includeMetadata",
    label: "Metadata",
    hint:
      "Adds title, tier, status, persona, emotion, category and turn and token counts (in JSON also a summary).",
  },
  {
    flag: "includeQualityScores",
    label: "Quality scores",
    hint: "Adds each conversation's quality score and quality metrics.",
  },
  {
    flag: "includeTimestamps",
    label: "Timestamps",
    hint: "Adds when each conversation was created and last updated.",
  },
  {
    flag: "includeApprovalHistory",
    label: "Approval history",
    hint:
      "Adds the review history (who approved or rejected, when, and why); CSV has no column for it.",
  },
  {
    flag: "includeParentReferences",
    label: "Parent references",
    hint: "Adds the template, scenario or conversation each one was derived from.",
  },
  {
    flag: "includeFullContent",
    label: "Full turn content",
    hint: "When off, each turn is cut to its first 200 characters.",
  },
];

/** The API's defaults, with JSONL first: the format LoRA training reads. */
export const DEFAULT_OPTIONS: ExportOptions = {
  format: "jsonl",
  template: "openai",
  systemPrompt: "",
  includeMetadata: true,
  includeQualityScores: true,
  includeTimestamps: true,
  includeApprovalHistory: false,
  includeParentReferences: false,
  includeFullContent: true,
  csvFormulaEscape: true,
};

/** The choices a stored config was made with. */
export function optionsOfConfig(config: ExportConfig): ExportOptions {
  return {
    format: config.format,
    template: config.format === "jsonl" ? config.template : DEFAULT_OPTIONS.template,
    systemPrompt: config.systemPrompt ?? "",
    includeMetadata: config.includeMetadata,
    includeQualityScores: config.includeQualityScores,
    includeTimestamps: config.includeTimestamps,
    includeApprovalHistory: config.includeApprovalHistory,
    includeParentReferences: config.includeParentReferences,
    includeFullContent: config.includeFullContent,
    csvFormulaEscape: config.format === "csv"
      ? config.csvFormulaEscape
      : DEFAULT_OPTIONS.csvFormulaEscape,
  };
}

/** The scope a stored config reads. */
export function scopeOfConfig(config: ExportConfig): ScopeChoice {
  if (config.scope === "selected" && config.conversationIds) {
    return { kind: "selected", ids: config.conversationIds };
  }
  if (config.scope === "filtered" && config.filters) {
    return { kind: "filtered", filters: config.filters };
  }
  return { kind: "all" };
}

/** The scope in words, as the dialog's choice reads. */
export function scopeLabel(scope: ScopeChoice): string {
  switch (scope.kind) {
    case "selected":
      return `The ${countOf(scope.ids.length, "selected conversation")}`;
    case "filtered":
      return `Conversations matching the filters (${filtersSummary(scope.filters)})`;
    case "all":
      return "All approved conversations";
  }
}

/** The POST /exports body of the choices: only fields that apply to the format are sent. */
export function exportRequest(options: ExportOptions, scope: ScopeChoice): ExportRequest {
  const config: ExportConfigInput = { scope: scope.kind };
  if (scope.kind === "selected") config.conversationIds = [...scope.ids];
  if (scope.kind === "filtered") config.filters = scope.filters;
  for (const { flag } of INCLUDE_FLAGS) config[flag] = options[flag];
  if (options.format === "jsonl") config.template = options.template;
  if (options.format === "csv") config.csvFormulaEscape = options.csvFormulaEscape;
  if (options.systemPrompt.trim() !== "") config.systemPrompt = options.systemPrompt;
  return { format: options.format, config };
}

/** A fresh Idempotency-Key (crypto.randomUUID needs a secure context; the fallback does not). */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
