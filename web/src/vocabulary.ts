/**
 * The enumerated values the UI offers (conversation statuses and tiers, export formats, layouts
 * and statuses) with their labels. Typed as complete records of the shared types, so a value the
 * API adds fails the type check here instead of silently missing from a filter.
 */
import type { ExportFormat, ExportStatus } from "../../client/exports_client.ts";
import type {
  ConversationStatus,
  ConversationTier,
  JsonlTemplate,
} from "../../shared/domain/export_config.ts";

/** Conversation statuses, in the order of the spec. */
export const STATUS_LABELS: Record<ConversationStatus, string> = {
  draft: "draft",
  generated: "generated",
  pending_review: "pending review",
  approved: "approved",
  rejected: "rejected",
  needs_revision: "needs revision",
  failed: "failed",
};

/** Conversation tiers. */
export const TIER_LABELS: Record<ConversationTier, string> = {
  template: "template",
  scenario: "scenario",
  edge_case: "edge case",
};

/** Export file formats. */
export const FORMAT_LABELS: Record<ExportFormat, string> = {
  json: "JSON",
  jsonl: "JSONL",
  csv: "CSV",
  markdown: "Markdown",
};

/** JSONL training layouts. */
export const TEMPLATE_LABELS: Record<JsonlTemplate, string> = {
  openai: "OpenAI",
  sharegpt: "ShareGPT",
  alpaca: "Alpaca",
};

/** Export statuses, as the badge reads them. */
export const EXPORT_STATUS_LABELS: Record<ExportStatus, string> = {
  queued: "Queued",
  processing: "Processing",
  completed: "Completed",
  failed: "Failed",
  expired: "Expired",
};

/** The keys of a label record, typed. */
export function keysOf<K extends string>(labels: Record<K, string>): K[] {
  return Object.keys(labels) as K[];
}

/** Whether an export is still being produced. */
export function isRunning(status: ExportStatus): boolean {
  return status === "queued" || status === "processing";
}
