/**
 * What the API answers with, as zod schemas: the ExportLog, its list form and a page of them.
 * The server's, the typed client's and the CLI's types are inferred from these schemas, and the
 * OpenAPI document is generated from them, so a field added here is added everywhere at once.
 */
import { z } from "zod";
import { LOWERCASE_UUID_PATTERN } from "../core/uuid.ts";
import { ExportConfigSchema, ExportFormatSchema, MAX_CONVERSATION_IDS } from "./export_config.ts";
import { EXPORT_STATUSES, MAX_LIMIT, MAX_PAGE } from "./listing.ts";

const TIMESTAMP_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** UTC ISO 8601 with exactly six fractional digits, as every timestamp of the API. */
const timestampSchema = z.string().regex(TIMESTAMP_PATTERN).meta({
  format: "date-time",
  description: "UTC, ISO 8601 with microseconds (`2026-11-28T14:03:07.123456Z`)",
});

/** The status of an export, as `export_logs.status` allows. */
export const ExportStatusSchema = z.enum(EXPORT_STATUSES);

const countSchema = z.int().min(0);
const uuidSchema = z.string().regex(LOWERCASE_UUID_PATTERN).meta({ format: "uuid" });

/** `config` in list responses: `conversationIds` replaced by its count, to keep a page small. */
export const ListedExportConfigSchema = z.discriminatedUnion(
  "format",
  ExportConfigSchema.options.map((option) =>
    (option as unknown as z.ZodObject<Record<string, z.ZodType>>).omit({ conversationIds: true })
      .extend({ conversationIdsCount: z.int().min(1).max(MAX_CONVERSATION_IDS).optional() })
  ) as unknown as [ListedConfigOption<typeof ExportConfigSchema.options[number]>],
);

/** One option of the config union with `conversationIds` swapped for its count. */
type ListedConfigOption<O> = O extends z.ZodObject<infer Shape>
  ? z.ZodObject<Omit<Shape, "conversationIds"> & { conversationIdsCount: z.ZodOptional<z.ZodInt> }>
  : never;

const exportLogFields = {
  id: uuidSchema.meta({ description: "Internal row id" }),
  export_id: uuidSchema.meta({ description: "The public id used in URLs" }),
  user_id: uuidSchema,
  timestamp: timestampSchema.meta({ description: "When the export was requested" }),
  format: ExportFormatSchema,
  conversation_count: countSchema.meta({ description: "Membership at request time" }),
  file_size: countSchema.nullable().meta({ description: "Exact bytes of the finished file" }),
  status: ExportStatusSchema,
  file_url: z.url().nullable().meta({
    description: "Downloads the file without a JWT until expires_at (carries a fresh signed token)",
  }),
  expires_at: timestampSchema.nullable(),
  error_message: z.string().nullable().meta({ description: "A sentence for the user when failed" }),
  created_at: timestampSchema,
  updated_at: timestampSchema,
  progress: z.object({ processed: countSchema, total: countSchema }).meta({
    description: "Conversations processed of the export's total",
  }),
  skipped: countSchema.meta({ description: "Conversations the alpaca layout left out" }),
};

// The ExportLog objects are loose (additionalProperties allowed): the contract lets the server
// add fields, so clients must ignore what they do not know. tests/openapi_test.ts still checks
// the server sends no field the document does not name.
/** One export, as GET /exports/{export_id} and POST return it. */
export const ExportLogSchema = z.looseObject({ ...exportLogFields, config: ExportConfigSchema });
/** One export in a list page. */
export const ListedExportLogSchema = z.looseObject({
  ...exportLogFields,
  config: ListedExportConfigSchema,
});

/** A page of GET /exports. */
export const ExportPageSchema = z.object({
  logs: z.array(ListedExportLogSchema),
  total: countSchema.meta({ description: "Every export matching the filters" }),
  page: z.int().min(1).max(MAX_PAGE),
  limit: z.int().min(1).max(MAX_LIMIT),
});

/** Only the named fields: a loose object's output type would let any property through. */
type Named<T> = { [K in keyof T as string extends K ? never : K]: T[K] };

/** The public ExportLog: the 14 columns of export_logs plus `progress` and `skipped`. */
export type ExportLog = Named<z.output<typeof ExportLogSchema>>;
/** A config as a list shows it: `conversationIds` replaced by their count. */
export type ListedExportConfig = z.output<typeof ListedExportConfigSchema>;
/** An export as GET /exports lists it. */
export type ListedExportLog = Named<z.output<typeof ListedExportLogSchema>>;
/** One page of the caller's exports, newest first. */
export type ExportPage = Omit<z.output<typeof ExportPageSchema>, "logs"> & {
  logs: ListedExportLog[];
};
