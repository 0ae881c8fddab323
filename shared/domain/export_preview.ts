/**
 * What `POST /exports/preview` and `GET /exports/usage` answer, as zod schemas: the server's,
 * the typed client's, the CLI's and the web UI's types are inferred from these, and the OpenAPI
 * document is generated from them.
 */
import { z } from "zod";
import { LOWERCASE_UUID_PATTERN } from "../core/uuid.ts";
import { ConversationStatusSchema, ConversationTierSchema } from "./export_config.ts";
import { MAX_LIMIT, MAX_PAGE } from "./listing.ts";

/** At most this many conversations go into a preview's sample… */
export const SAMPLE_MAX_RECORDS = 3;
/** …and at most this many bytes (UTF-8), cut at a record boundary. */
export const SAMPLE_MAX_BYTES = 64 * 1024;

const timestampSchema = z.string().meta({ format: "date-time" });
const countSchema = z.int().min(0);

/** One member of the would-be export, as the conversations table of the UI shows it. */
export const PreviewConversationSchema = z.object({
  id: z.string().regex(LOWERCASE_UUID_PATTERN).meta({ format: "uuid" }),
  title: z.string().nullable(),
  tier: ConversationTierSchema,
  status: ConversationStatusSchema,
  quality_score: z.number().nullable(),
  turn_count: countSchema,
  category: z.array(z.string()),
  created_at: timestampSchema,
  updated_at: timestampSchema,
});

/** The answer of POST /exports/preview. */
export const ExportPreviewSchema = z.object({
  conversation_count: countSchema.meta({
    description: "What POST /exports would resolve now (0 is a valid answer here)",
  }),
  max_conversations: z.int().min(1).meta({ description: "The per-export maximum" }),
  sample: z.object({
    text: z.string().meta({
      description:
        `The file's opening with its first records, rendered by the same SQL as the file: at most ${SAMPLE_MAX_RECORDS} conversations and ${SAMPLE_MAX_BYTES} bytes, cut at a record boundary`,
    }),
    records: countSchema.meta({ description: "Conversations the text holds" }),
    skipped: countSchema.meta({
      description: "Of the first conversations, those alpaca leaves out",
    }),
  }),
  conversations: z.array(PreviewConversationSchema).meta({
    description: "One page of the members, in the order the file would hold them",
  }),
  page: z.int().min(1).max(MAX_PAGE),
  limit: z.int().min(1).max(MAX_LIMIT),
});

/** The answer of GET /exports/usage: the figures the limits of POST /exports enforce. */
export const ExportUsageSchema = z.object({
  active: z.object({ used: countSchema, limit: z.int().min(1) }).meta({
    description: "Exports queued or processing",
  }),
  daily: z.object({
    used: countSchema,
    limit: z.int().min(1),
    next_slot_at: timestampSchema.nullable().meta({
      description: "When the oldest request leaves the 24 h window (null below the limit)",
    }),
  }).meta({ description: "Exports requested in the last 24 hours" }),
  bytes: z.object({ used: countSchema, limit: countSchema }).meta({
    description: "Bytes of the caller's stored (completed) files",
  }),
  downloads: z.object({ limit: z.int().min(1) }).meta({
    description: "Downloads in flight at once (database store only)",
  }),
  max_conversations: z.int().min(1),
  retention_seconds: z.int().min(1),
});

/** One conversation of a preview page. */
export type PreviewConversation = z.output<typeof PreviewConversationSchema>;
/** What an export would contain. */
export type ExportPreview = z.output<typeof ExportPreviewSchema>;
/** The caller's limits and how much of each is used. */
export type ExportUsage = z.output<typeof ExportUsageSchema>;
