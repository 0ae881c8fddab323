/**
 * The example values of docs/openapi.json. They are the document's alone; route definitions name
 * them (shared/http/routes.ts) and tests/openapi_test.ts checks each against its schema and the
 * server's own parser.
 */
import { DEFAULT_LIMIT } from "../../shared/domain/listing.ts";

const EXAMPLE_EXPORT_ID = "6d1f5c2e-8a4b-4c1e-9f3a-2b7d8e9f0a1b";
const EXAMPLE_BASE = "https://abcdefghijklmnopqrst.supabase.co/functions/v1/exports";

export const REQUEST_EXAMPLES = {
  minimal: { format: "jsonl" },
  filtered: {
    format: "jsonl",
    config: {
      scope: "filtered",
      filters: { statuses: ["approved"], tiers: ["scenario"], qualityMin: 8 },
      template: "sharegpt",
    },
  },
  selected: {
    format: "csv",
    config: {
      scope: "selected",
      conversationIds: [
        "0b6c1a54-2f0e-4c4c-8d0e-5f1f3b2a9c01",
        "3e9d7a10-6b3c-4a55-9e2d-7c8b1f0e4d22",
      ],
      includeApprovalHistory: true,
      csvFormulaEscape: true,
    },
  },
};

const QUEUED_EXAMPLE = {
  id: "f3a9c1d2-7b4e-4f6a-8c2d-1e0b9a8f7c6d",
  export_id: EXAMPLE_EXPORT_ID,
  user_id: "9b2e4f6a-1c3d-4e5f-8a7b-6c5d4e3f2a1b",
  timestamp: "2026-11-28T14:03:07.123456Z",
  format: "jsonl",
  config: {
    format: "jsonl",
    scope: "filtered",
    filters: { statuses: ["approved"], tiers: ["scenario"], qualityMin: 8 },
    includeMetadata: true,
    includeQualityScores: true,
    includeTimestamps: true,
    includeApprovalHistory: false,
    includeParentReferences: false,
    includeFullContent: true,
    template: "sharegpt",
  },
  conversation_count: 212,
  file_size: null,
  status: "queued",
  file_url: null,
  expires_at: null,
  error_message: null,
  created_at: "2026-11-28T14:03:07.123456Z",
  updated_at: "2026-11-28T14:03:07.123456Z",
  progress: { processed: 0, total: 212 },
  skipped: 0,
};

const COMPLETED_EXAMPLE = {
  ...QUEUED_EXAMPLE,
  file_size: 1843207,
  status: "completed",
  file_url:
    `${EXAMPLE_BASE}/${EXAMPLE_EXPORT_ID}/download?token=v1.1764425000.q2Vt0mN4l8rP3sXk9yZa1bC5dE7fG9hJ0kL2mN4oP6q`,
  expires_at: "2026-11-29T14:03:08.402118Z",
  updated_at: "2026-11-28T14:03:08.402118Z",
  progress: { processed: 212, total: 212 },
};

const LIST_EXAMPLE = {
  logs: [COMPLETED_EXAMPLE],
  total: 1,
  page: 1,
  limit: DEFAULT_LIMIT,
};

const PREVIEW_EXAMPLE = {
  conversation_count: 142,
  max_conversations: 100000,
  sample: {
    text:
      '{"messages":[{"role":"user","content":"My order arrived damaged."},{"role":"assistant","content":"I am sorry to hear that. Could you send a photo?"}]}\n',
    records: 1,
    skipped: 0,
  },
  conversations: [{
    id: "0b7e2f4a-1c3d-4e5f-8a9b-0c1d2e3f4a5b",
    title: "Damaged delivery",
    tier: "scenario",
    status: "approved",
    quality_score: 8.5,
    turn_count: 2,
    category: ["support"],
    created_at: "2026-11-20T09:12:44.512000Z",
    updated_at: "2026-11-21T16:03:10.004000Z",
  }],
  page: 1,
  limit: 1,
};

const USAGE_EXAMPLE = {
  active: { used: 2, limit: 5 },
  daily: { used: 50, limit: 50, next_slot_at: "2026-12-05T09:14:03.120000Z" },
  bytes: { used: 1288490188, limit: 2147483648 },
  downloads: { limit: 4 },
  max_conversations: 100000,
  retention_seconds: 604800,
};

/** Examples by name: request bodies, then responses; the test checks them all. */
export const EXAMPLES = {
  REQUEST_EXAMPLES,
  QUEUED_EXAMPLE,
  COMPLETED_EXAMPLE,
  LIST_EXAMPLE,
  PREVIEW_EXAMPLE,
  USAGE_EXAMPLE,
};

/** The response examples route definitions name. */
export const RESPONSE_EXAMPLES = {
  queued: QUEUED_EXAMPLE,
  completed: COMPLETED_EXAMPLE,
  page: LIST_EXAMPLE,
  done: { completed: 3, duration_ms: 1840 },
  preview: PREVIEW_EXAMPLE,
  usage: USAGE_EXAMPLE,
};
