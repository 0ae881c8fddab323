/**
 * Hostile input (issue 7, item 11): property-based fuzzing of `POST /exports` and of the
 * `GET /exports` query over real HTTP through the functions server, with a valid user token.
 *
 * Inputs are random and near-valid: valid bodies mutated field by field, records over the real
 * field names mixing valid and invalid values, wrong types, huge numbers, deep nesting, long
 * strings, unicode (lone surrogates and NUL where JSON allows them), SQL fragments and `%`/`_`,
 * prototype-pollution keys, raw non-JSON and streamed bodies; query keys and values repeated,
 * percent-encoded or not, in unicode. The properties:
 * - the status is one of 200, 202, 400, 413, 422, 429, never 500;
 * - a non-2xx answer has the contract's body `{ error: { code, message } }` with the status's code;
 * - no non-2xx answer writes a row (export_logs, nor the internal job, request and key ledgers);
 * - the server agrees with the shared parsers on what is a 400 (a differential oracle), and a
 *   202 stores exactly the config the shared parser normalizes.
 * A third, smaller fuzz covers the `{export_id}` path segment (400/404/405, never 500).
 * To keep 2xx cases from meeting the limits, processing is paused, the limits are raised for the
 * run and accepted exports are deleted as the run goes. The seeds are fixed, so a failure is
 * reproducible; fast-check prints the shrunk case.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ValidationError } from "../shared/core/errors.ts";
import {
  ConversationStatusSchema,
  ConversationTierSchema,
  ExportFormatSchema,
  ExportScopeSchema,
  JsonlTemplateSchema,
  MAX_REPORTED_ISSUES,
  type ParsedExportRequest,
  parseExportRequest,
} from "../shared/domain/export_config.ts";
import { MAX_BODY_BYTES } from "../shared/http/json_body.ts";
import { EXPORT_STATUSES, parseListQuery } from "../shared/http/list_query.ts";
import { api, type ApiCall, type ApiResponse, exportsUrl } from "./support/api.ts";
import {
  countExportRows,
  createConversation,
  createUser,
  pausedTest,
  testSql,
  withSettings,
} from "./support/database.ts";
import { userToken } from "./support/tokens.ts";

const sql = testSql();

/**
 * Fixed seeds: the same cases every run. FUZZ_SEED and FUZZ_RUNS explore further by hand
 * (`FUZZ_SEED=7 FUZZ_RUNS=10000 npm test tests/fuzz_test.ts`); the suite never sets them.
 */
const EXPLORE_SEED = Deno.env.get("FUZZ_SEED");
const EXPLORE_RUNS = Deno.env.get("FUZZ_RUNS");
const POST_SEED = EXPLORE_SEED ? Number(EXPLORE_SEED) : 20261128;
const LIST_SEED = EXPLORE_SEED ? Number(EXPLORE_SEED) + 1 : 20261129;
const POST_RUNS = EXPLORE_RUNS ? Number(EXPLORE_RUNS) : 1_500;
const LIST_RUNS = EXPLORE_RUNS ? Number(EXPLORE_RUNS) : 2_000;

const ALLOWED_STATUSES = [200, 202, 400, 413, 422, 429];
const CODE_OF_STATUS: Record<number, string[]> = {
  400: ["invalid_request"],
  413: ["payload_too_large"],
  422: ["no_conversations", "too_many_conversations", "idempotency_key_reused"],
  429: ["too_many_exports"],
};

// The vocabularies, from the server's own schemas (one definition of each).
const FORMATS = ExportFormatSchema.options;
const SCOPES = ExportScopeSchema.options;
const TEMPLATES = JsonlTemplateSchema.options;
const TIERS = ConversationTierSchema.options;
const CONVERSATION_STATUSES = ConversationStatusSchema.options;
const INCLUDE_FLAGS = [
  "includeMetadata",
  "includeQualityScores",
  "includeTimestamps",
  "includeApprovalHistory",
  "includeParentReferences",
  "includeFullContent",
] as const;
const CONFIG_FIELDS = [
  "scope",
  "conversationIds",
  "filters",
  ...INCLUDE_FLAGS,
  "template",
  "systemPrompt",
  "csvFormulaEscape",
];
const FILTER_FIELDS = [
  "tiers",
  "statuses",
  "qualityMin",
  "qualityMax",
  "createdFrom",
  "createdTo",
  "categories",
  "personas",
  "emotions",
  "search",
];
const LIST_PARAMETERS = ["format", "status", "from", "to", "page", "limit"];

// The fixture's text values, so that valid filters sometimes match (202) and sometimes not (422).
const CATEGORIES = ["billing", "refunds", "100%_off", "shipping"];
const PERSONAS = ["calm", "frustrated customer", "Ünïcødé 😀"];
const EMOTIONS = ["happy", "angry", "a_b%c"];
const TITLE_FRAGMENTS = ["refund", "REFUND", "100%", "%", "_", "\\", "%_\\", "o'clock", "😀"];

// ---------------------------------------------------------------------------------------------
// Hostile building blocks

const PROTO_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
];
const SQL_FRAGMENTS = [
  "'; drop table public.export_logs; --",
  "' or '1'='1",
  '" or ""="',
  "1; select pg_sleep(10)",
  "$$; select 1; $$",
  "%",
  "_",
  "\\",
  "%%",
  "_%_",
  "\\%",
  "\\_",
  "%' escape '\\",
  "E'\\x00'",
  "null",
  "NULL",
  "\\N",
  "::text",
  "); delete from public.export_logs where (true",
  "${1}",
  "{approved}",
  '{"approved","draft"}',
];
const LONE_SURROGATES = ["\ud800", "\udfff", "a\ud83d", "\ude00b", "\udc00\ud800"];
const NUL_STRINGS = ["\u0000", "a\u0000b", "approved\u0000", "\u0000".repeat(10)];

/** Strings that break naive code: unicode of every kind, SQL, wildcards, proto keys, sizes. */
const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string(), weight: 3 },
  { arbitrary: fc.string({ unit: "binary" }), weight: 2 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 30 }), weight: 2 },
  { arbitrary: fc.constantFrom(...SQL_FRAGMENTS), weight: 3 },
  { arbitrary: fc.constantFrom(...PROTO_KEYS), weight: 1 },
  { arbitrary: fc.constantFrom(...LONE_SURROGATES), weight: 2 },
  { arbitrary: fc.constantFrom(...NUL_STRINGS), weight: 2 },
  {
    // Around the limits, counted in code points (an emoji is two UTF-16 units).
    arbitrary: fc.tuple(
      fc.constantFrom("x", "é", "😀", "%", "\u0000", "\ud800"),
      fc.constantFrom(199, 200, 201, 7_999, 8_000, 8_001, 50_000),
    ).map(([c, n]) => c.repeat(n)),
    weight: 1,
  },
  {
    arbitrary: fc.constantFrom(
      "",
      " ",
      "\t\r\n",
      "\ufeff",
      "\u202e",
      "\u200b",
      "\uffff",
      "\ufffd",
      "𝕏",
      "ｊｓｏｎ",
      "JSON",
      "json ",
      " json",
      "json\u0000",
      "approved ",
      "Approved",
      "queued",
      "true",
      "1",
      "-1",
      "NaN",
      "Infinity",
      "1e400",
    ),
    weight: 2,
  },
);

/** Numbers of every awkward kind (NaN and the infinities turn into null through JSON). */
const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(
    0,
    -0,
    10,
    10.000000001,
    -1e-300,
    5e-324,
    1e21,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    2 ** 31,
    -(2 ** 63),
    0.1 + 0.2,
  ),
);

const hostileKey: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...PROTO_KEYS), weight: 4 },
  {
    arbitrary: fc.constantFrom(
      "user_id",
      "userId",
      "id",
      "export_id",
      "status",
      "format",
      "Format",
      "scope ",
      "config",
      "filters",
      "conversationIdsCount",
      "",
    ),
    weight: 2,
  },
  { arbitrary: fc.constantFrom(...CONFIG_FIELDS, ...FILTER_FIELDS), weight: 2 },
  { arbitrary: hostileString.filter((s) => s.length < 100), weight: 2 },
);

/** Sets an own property, `__proto__` included, never touching the prototype. */
function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** An object with the given own keys (a later entry wins). */
function ownObject(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) setOwn(object, key, value);
  return object;
}

/** A copy of `object` with `key` set to `value`. */
function withOwn(
  object: Record<string, unknown>,
  key: string,
  value: unknown,
): Record<string, unknown> {
  return ownObject([...Object.entries(object), [key, value]]);
}

/** `depth` levels of arrays or objects around a leaf. */
function nest(depth: number, kind: "array" | "object", leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = kind === "array" ? [value] : { a: value };
  return value;
}

const deepValue: fc.Arbitrary<unknown> = fc
  .tuple(
    fc.integer({ min: 20, max: 3_000 }),
    fc.constantFrom("array", "object") as fc.Arbitrary<"array" | "object">,
    fc.constantFrom<unknown>("approved", 1, null, {}),
  )
  .map(([depth, kind, leaf]) => nest(depth, kind, leaf));

/** Any value of a wrong (or weird) type. */
const junk: fc.Arbitrary<unknown> = fc.letrec<{ junk: unknown }>((tie) => ({
  junk: fc.oneof(
    { arbitrary: fc.constant(null), weight: 3 },
    { arbitrary: fc.boolean(), weight: 2 },
    { arbitrary: hostileNumber, weight: 3 },
    { arbitrary: hostileString, weight: 5 },
    { arbitrary: fc.constantFrom<unknown>([], {}, [null], [""], [[]], [{}]), weight: 2 },
    { arbitrary: fc.array(tie("junk"), { maxLength: 4 }), weight: 2 },
    {
      arbitrary: fc.array(fc.tuple(hostileKey, tie("junk")), { maxLength: 4 }).map(ownObject),
      weight: 2,
    },
    { arbitrary: deepValue, weight: 1 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 },
  ),
})).junk;

// ---------------------------------------------------------------------------------------------
// Valid values of every field, and near-valid records over the real field names

/** Text a filter or systemPrompt accepts: non-empty, well-formed, no NUL. */
const goodText = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }),
  )
  .filter((s) => s.length > 0 && s.isWellFormed() && !s.includes("\u0000"));

function pad(n: number, width: number): string {
  return String(Math.abs(n)).padStart(width, "0");
}

/** ISO 8601 timestamps the API accepts: Z or an offset, 0–6 fraction digits, any case of T/Z. */
const goodTimestamp: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      "0001-01-01T00:00:00Z",
      "0001-01-01T00:00:00-23:59",
      "9999-12-31T23:59:59.999999Z",
      "9999-12-31T23:59:59+23:59",
      "1970-01-01T00:00:00Z",
      "2026-01-01T00:00:00.123456Z",
      "2024-02-29T12:00:00+0530",
      "2026-01-01T00:00+01:00",
    ),
    weight: 1,
  },
  { arbitrary: generatedTimestamp(), weight: 5 },
);

function generatedTimestamp(): fc.Arbitrary<string> {
  return fc.record({
    date: fc.date({
      min: new Date("0001-01-02T00:00:00Z"),
      max: new Date("9999-12-30T00:00:00Z"),
      noInvalidDate: true,
    }),
    micros: fc.integer({ min: 0, max: 999_999 }),
    digits: fc.integer({ min: 0, max: 6 }),
    offset: fc.option(fc.integer({ min: -23 * 60, max: 23 * 60 }), { nil: undefined }),
    lower: fc.boolean(),
  })
    .map(({ date, micros, digits, offset, lower }) => {
      const iso = date.toISOString();
      const base = iso.slice(0, 19);
      const fraction = digits === 0 ? "" : `.${pad(micros, 6).slice(0, digits)}`;
      const zone = offset === undefined
        ? "Z"
        : `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60), 2)}:${
          pad(Math.abs(offset) % 60, 2)
        }`;
      const text = `${base}${fraction}${zone}`;
      return lower ? text.replace("T", "t").replace("Z", "z") : text;
    });
}

/** Timestamps that look right but are not: no offset, no such date, too precise, other forms. */
const badTimestamp: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "2026-02-30T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T23:59:60Z",
    "2026-01-01T00:00:00",
    "2026-01-01",
    "2026-01-01T00:00:00.1234567Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+00:01",
    "9999-12-31T23:59:59.999999-23:59",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00+05:60",
    "yesterday",
    "now",
    "infinity",
    "-infinity",
    "epoch",
    "1767225600",
    "2026-01-01 00:00:00Z",
    "+002026-01-01T00:00:00Z",
    "２０２６-01-01T00:00:00Z",
    "2026-01-01T00:00:00Z'; select 1; --",
  ),
  goodTimestamp.map((t) => `${t} `),
  goodTimestamp.map((t) => t.slice(0, -1)),
);

function validOrJunk<T>(valid: fc.Arbitrary<T>, junkWeight = 1): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: valid as fc.Arbitrary<unknown>, weight: 6 }, {
    arbitrary: junk,
    weight: junkWeight,
  });
}

function nonEmptyArrayOf<T>(item: fc.Arbitrary<T>, maxLength = 5): fc.Arbitrary<T[]> {
  return fc.array(item, { minLength: 1, maxLength });
}

const goodSearch = fc.oneof(
  fc.constantFrom(...TITLE_FRAGMENTS, ...SQL_FRAGMENTS.filter(Boolean)),
  goodText.filter((s) => [...s].length <= 200),
);
const goodSystemPrompt = fc.oneof(
  { arbitrary: goodText, weight: 6 },
  {
    arbitrary: fc.constantFrom("x".repeat(8_000), "😀".repeat(8_000), "You are helpful. %_\\ ' --"),
    weight: 1,
  },
);
const goodQuality = fc.oneof(
  fc.integer({ min: 0, max: 10 }),
  fc.double({ min: 0, max: 10, noNaN: true }),
);

function goodFilterValues(): Record<string, fc.Arbitrary<unknown>> {
  return {
    tiers: fc.subarray([...TIERS], { minLength: 1 }),
    statuses: fc.subarray([...CONVERSATION_STATUSES], { minLength: 1 }),
    qualityMin: goodQuality,
    qualityMax: goodQuality,
    createdFrom: goodTimestamp,
    createdTo: goodTimestamp,
    categories: nonEmptyArrayOf(fc.oneof(fc.constantFrom(...CATEGORIES), goodText)),
    personas: nonEmptyArrayOf(fc.oneof(fc.constantFrom(...PERSONAS), goodText)),
    emotions: nonEmptyArrayOf(fc.oneof(fc.constantFrom(...EMOTIONS), goodText)),
    search: goodSearch,
  };
}

function badFilterValues(): Record<string, fc.Arbitrary<unknown>> {
  const badEnumArray = (options: readonly string[]) =>
    fc.oneof(
      fc.constant([]),
      fc.array(fc.oneof(fc.constantFrom(...options), hostileString), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.constantFrom(...options),
      fc.constant(Array.from({ length: 1_001 }, (_, i) => options[i % options.length])),
    );
  return {
    tiers: badEnumArray(TIERS),
    statuses: badEnumArray(CONVERSATION_STATUSES),
    qualityMin: fc.oneof(hostileNumber, fc.constantFrom(-0.1, 10.1, "5", "")),
    qualityMax: fc.oneof(hostileNumber, fc.constantFrom(-0.1, 10.1, "5", "")),
    createdFrom: badTimestamp,
    createdTo: badTimestamp,
    categories: fc.oneof(fc.constant([]), fc.array(hostileString, { minLength: 1, maxLength: 3 })),
    personas: fc.oneof(fc.constant([]), fc.array(hostileString, { minLength: 1, maxLength: 3 })),
    emotions: fc.oneof(fc.constant([]), fc.array(hostileString, { minLength: 1, maxLength: 3 })),
    search: hostileString,
  };
}

/** filters as fc.record over the real names, each value valid, near-valid or junk. */
const nearValidFilters: fc.Arbitrary<unknown> = (() => {
  const good = goodFilterValues();
  const bad = badFilterValues();
  const fields = Object.fromEntries(
    FILTER_FIELDS.map((name) => [
      name,
      fc.oneof({ arbitrary: good[name], weight: 5 }, { arbitrary: bad[name], weight: 2 }, {
        arbitrary: junk,
        weight: 1,
      }),
    ]),
  );
  return fc.record(fields, { requiredKeys: [] });
})();

function goodIds(ownIds: string[], foreignId: string): fc.Arbitrary<string[]> {
  return nonEmptyArrayOf(
    fc.oneof(
      { arbitrary: fc.constantFrom(...ownIds), weight: 4 },
      { arbitrary: fc.constantFrom(...ownIds).map((id) => id.toUpperCase()), weight: 1 },
      { arbitrary: fc.constant(foreignId), weight: 1 },
      { arbitrary: fc.uuid(), weight: 2 },
    ),
    12,
  );
}

const badIds: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant([]),
  fc.array(
    fc.oneof(
      hostileString,
      fc.uuid().map((id) => `{${id}}`),
      fc.uuid().map((id) => id.replaceAll("-", "")),
      fc.uuid().map((id) => `${id}\u0000`),
      fc.uuid().map((id) => ` ${id}`),
      fc.uuid().map((id) => `${id}'; drop table public.export_logs; --`),
      hostileNumber,
    ),
    { minLength: 1, maxLength: 5 },
  ),
  fc.uuid(),
  // One more than the maximum: refused before any item is looked at.
  fc.constant(null).map(() => Array.from({ length: 10_001 }, () => crypto.randomUUID())),
);

/** A valid body: the scope decides which fields go with it; format-only fields only with their format. */
function validBody(ownIds: string[], foreignId: string): fc.Arbitrary<Record<string, unknown>> {
  const good = goodFilterValues();
  const includes = Object.fromEntries(INCLUDE_FLAGS.map((flag) => [flag, fc.boolean()]));
  return fc
    .record({
      format: fc.constantFrom(...FORMATS),
      scope: fc.option(fc.constantFrom(...SCOPES), { nil: undefined }),
      withConfig: fc.boolean(),
      ids: goodIds(ownIds, foreignId),
      filters: fc.record(good, { requiredKeys: [] }),
      includes: fc.record(includes, { requiredKeys: [] }),
      template: fc.option(fc.constantFrom(...TEMPLATES), { nil: undefined }),
      systemPrompt: fc.option(goodSystemPrompt, { nil: undefined }),
      csvFormulaEscape: fc.option(fc.boolean(), { nil: undefined }),
    })
    .map((v) => {
      if (!v.withConfig) return { format: v.format };
      const config: Record<string, unknown> = { ...v.includes };
      if (v.scope !== undefined) config.scope = v.scope;
      if (v.scope === "selected") config.conversationIds = v.ids;
      if (v.scope === "filtered") config.filters = v.filters;
      if (v.format === "jsonl" && v.template !== undefined) config.template = v.template;
      if (v.format === "csv" && v.csvFormulaEscape !== undefined) {
        config.csvFormulaEscape = v.csvFormulaEscape;
      }
      if (v.systemPrompt !== undefined) config.systemPrompt = v.systemPrompt;
      return { format: v.format, config };
    });
}

/** A config as fc.record over every real field name, each valid or not, plus stray keys. */
function nearValidConfig(ownIds: string[], foreignId: string): fc.Arbitrary<unknown> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {
    scope: validOrJunk(fc.constantFrom(...SCOPES)),
    conversationIds: fc.oneof({ arbitrary: goodIds(ownIds, foreignId), weight: 3 }, {
      arbitrary: badIds,
      weight: 1,
    }),
    filters: fc.oneof({ arbitrary: nearValidFilters, weight: 4 }, { arbitrary: junk, weight: 1 }),
    template: validOrJunk(fc.constantFrom(...TEMPLATES)),
    systemPrompt: fc.oneof({ arbitrary: goodSystemPrompt, weight: 3 }, {
      arbitrary: hostileString,
      weight: 2,
    }),
    csvFormulaEscape: validOrJunk(fc.boolean()),
  };
  for (const flag of INCLUDE_FLAGS) fields[flag] = validOrJunk(fc.boolean());
  return fc
    .tuple(
      fc.record(fields, { requiredKeys: [] }),
      fc.array(fc.tuple(hostileKey, junk), { maxLength: 2 }),
      fc.nat(9),
    )
    .map(([config, extra, strayChance]) =>
      strayChance === 0 ? ownObject([...Object.entries(config), ...extra]) : config
    );
}

function nearValidBody(ownIds: string[], foreignId: string): fc.Arbitrary<unknown> {
  return fc
    .tuple(
      fc.record({
        format: validOrJunk(fc.constantFrom(...FORMATS)),
        config: fc.oneof({ arbitrary: nearValidConfig(ownIds, foreignId), weight: 5 }, {
          arbitrary: junk,
          weight: 1,
        }),
      }, { requiredKeys: [] }),
      fc.array(fc.tuple(hostileKey, junk), { maxLength: 2 }),
      fc.nat(5),
    )
    .map(([body, extra, strayChance]) =>
      strayChance === 0 ? ownObject([...Object.entries(body), ...extra]) : body
    );
}

/** Fields a single-field probe replaces, by path, with what it puts there. */
function singleFieldProbes(
  ownIds: string[],
  foreignId: string,
): [string[], fc.Arbitrary<unknown>][] {
  const texts = fc.array(hostileString, { minLength: 1, maxLength: 3 });
  const timestamps = fc.oneof(goodTimestamp, badTimestamp, hostileString);
  const bad = badFilterValues();
  return [
    [["format"], fc.oneof(hostileString, junk)],
    [["config"], junk],
    [["config", "scope"], fc.oneof(hostileString, junk)],
    [["config", "systemPrompt"], hostileString],
    [["config", "template"], fc.oneof(hostileString, junk)],
    [["config", "csvFormulaEscape"], junk],
    [["config", "includeFullContent"], junk],
    [["config", "conversationIds"], fc.oneof(badIds, goodIds(ownIds, foreignId))],
    [["config", "filters"], junk],
    [["config", "filters", "search"], hostileString],
    [["config", "filters", "categories"], fc.oneof(texts, bad.categories)],
    [["config", "filters", "personas"], fc.oneof(texts, bad.personas)],
    [["config", "filters", "emotions"], fc.oneof(texts, bad.emotions)],
    [["config", "filters", "qualityMin"], fc.oneof(hostileNumber, goodQuality, junk)],
    [["config", "filters", "qualityMax"], fc.oneof(hostileNumber, goodQuality, junk)],
    [["config", "filters", "createdFrom"], timestamps],
    [["config", "filters", "createdTo"], timestamps],
    [["config", "filters", "tiers"], fc.oneof(bad.tiers, junk)],
    [["config", "filters", "statuses"], fc.oneof(bad.statuses, junk)],
    [["config", "filters", "__proto__"], junk],
    [["config", "__proto__"], junk],
    [["config", "constructor"], junk],
  ];
}

/**
 * A valid body with exactly one field replaced by a hostile value, its scope adjusted so the
 * field belongs there: the one bad value meets the code paths behind validation, if it passes.
 */
function oneFieldOff(ownIds: string[], foreignId: string): fc.Arbitrary<unknown> {
  const probes = singleFieldProbes(ownIds, foreignId);
  return fc
    .tuple(
      validBody(ownIds, foreignId),
      fc.oneof(...probes.map(([path, value]) => fc.tuple(fc.constant(path), value))),
    )
    .map(([base, [path, value]]) => {
      const body = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
      if (path.length === 1) return withOwn(body, path[0], value);
      const config = (body.config ?? {}) as Record<string, unknown>;
      if (path[1] === "filters") {
        config.scope = "filtered";
        delete config.conversationIds;
        if (path.length === 3) {
          const filters = (config.filters ?? {}) as Record<string, unknown>;
          return { ...body, config: withOwn(config, "filters", withOwn(filters, path[2], value)) };
        }
      } else if (path[1] === "conversationIds") {
        config.scope = "selected";
        delete config.filters;
      }
      return { ...body, config: withOwn(config, path[1], value) };
    });
}

/** One edit of a valid body: set, delete or add a field at some depth, or replace a whole object. */
interface Mutation {
  depth: number;
  op: "set" | "delete" | "add" | "replace";
  key: string;
  value: unknown;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  depth: fc.nat(2),
  op: fc.constantFrom("set", "delete", "add", "replace") as fc.Arbitrary<Mutation["op"]>,
  key: fc.oneof(
    fc.constantFrom("format", "config", ...CONFIG_FIELDS, ...FILTER_FIELDS),
    hostileKey,
  ),
  value: fc.oneof(junk, badTimestamp, badIds, fc.constantFrom(...FORMATS, ...SCOPES, ...TEMPLATES)),
});

function mutate(body: Record<string, unknown>, edits: Mutation[]): unknown {
  const root = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
  for (const edit of edits) {
    // The objects on the path root → config → filters that exist in this body.
    const chain: Record<string, unknown>[] = [root];
    const config = root.config;
    if (config && typeof config === "object" && !Array.isArray(config)) {
      chain.push(config as Record<string, unknown>);
      const filters = (config as Record<string, unknown>).filters;
      if (filters && typeof filters === "object" && !Array.isArray(filters)) {
        chain.push(filters as Record<string, unknown>);
      }
    }
    const target = chain[Math.min(edit.depth, chain.length - 1)];
    const keys = Object.keys(target);
    const existing = keys.length > 0 ? keys[edit.key.length % keys.length] : edit.key;
    if (edit.op === "set") setOwn(target, existing, edit.value);
    else if (edit.op === "delete") delete target[existing];
    else if (edit.op === "add") setOwn(target, edit.key, edit.value);
    else if (edit.depth === 0) return edit.value;
    else if (edit.depth === 1 || chain.length < 3) root.config = edit.value;
    else chain[1].filters = edit.value;
  }
  return root;
}

// ---------------------------------------------------------------------------------------------
// Raw bodies: not JSON, not UTF-8, JSON the JS parser cannot represent, too deep, too large

/** A raw body; `chunkSize` sends it as a stream of chunks, without Content-Length. */
type RawBody = { raw: string | Uint8Array | null; label: string; chunkSize?: number };

const oversized = `{"format":"json","pad":"${"x".repeat(MAX_BODY_BYTES)}"}`;
const rawBody: fc.Arbitrary<RawBody> = fc.oneof(
  fc.string().map((raw) => ({ raw, label: "text" })),
  fc.string({ unit: "binary", maxLength: 200 }).map((raw) => ({ raw, label: "unicode text" })),
  fc.uint8Array({ maxLength: 300 }).map((raw) => ({ raw, label: "bytes" })),
  fc.constantFrom(
    "",
    " ",
    "\n\t\r ",
    "null",
    "true",
    "0",
    "-0",
    "1e400",
    '"json"',
    "[]",
    "{}",
    '[{"format":"json"}]',
    '{"format":"json"',
    '{"format":"json"}}',
    '{"format":"json"} {"format":"csv"}',
    "{'format':'json'}",
    '{format:"json"}',
    '{"format":"json",}',
    '\ufeff{"format":"json"}',
    '{"format":"json","format":"csv"}',
    '{"format":"json","config":{"includeMetadata":true,"includeMetadata":"yes"}}',
    '{"format":"json\u0000"}',
    '{"format":"json\\u0000"}',
    '{"format":"\\ud800"}',
    '{"format":"json","config":{"systemPrompt":"\\udfff"}}',
    '{"format":"json","config":{"scope":"filtered","filters":{"qualityMin":1e400}}}',
    '{"format":"json","config":{"scope":"filtered","filters":{"qualityMax":-1e400}}}',
    '{"format":"json","config":{"scope":"filtered","filters":{"qualityMin":1e-400}}}',
    `{"format":"json","config":{"scope":"filtered","filters":{"qualityMin":${"9".repeat(400)}}}}`,
    `{"format":"json","config":{"scope":"filtered","filters":{"qualityMax":0.${
      "0".repeat(400)
    }1}}}`,
    '{"format":"json","config":{"scope":"filtered","filters":{"qualityMin":NaN}}}',
    '{"format":"json","config":{"scope":"filtered","filters":{"qualityMin":Infinity}}}',
    '{"__proto__":{"format":"json"}}',
    '{"format":"json","__proto__":{"scope":"selected"}}',
    '{"format":"json","config":{"__proto__":{"scope":"selected"}}}',
    '{"format":"json","config":{"scope":"filtered","filters":{"__proto__":{"statuses":["draft"]}}}}',
    '{"format":"json","config":{"constructor":{"prototype":{"polluted":true}}}}',
    '{"format":"json","constructor":{"prototype":{"scope":"selected"}}}',
  ).map((raw) => ({ raw, label: "near-JSON" })),
  fc.constantFrom(
    new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]),
    new Uint8Array([
      0x7b,
      0x22,
      0x66,
      0x6f,
      0x72,
      0x6d,
      0x61,
      0x74,
      0x22,
      0x3a,
      0x22,
      0xc3,
      0x28,
      0x22,
      0x7d,
    ]),
    new Uint8Array([
      0x7b,
      0x22,
      0x66,
      0x6f,
      0x72,
      0x6d,
      0x61,
      0x74,
      0x22,
      0x3a,
      0x22,
      0xed,
      0xa0,
      0x80,
      0x22,
      0x7d,
    ]),
    new TextEncoder().encode('{"format":"json"}\u0000'),
    new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
  ).map((raw) => ({ raw, label: "not UTF-8" })),
  fc
    .tuple(fc.integer({ min: 1_000, max: 200_000 }), fc.constantFrom("[", '{"a":'))
    .map(([depth, open]) => ({
      raw: `{"format":"json","config":${open.repeat(depth)}1${
        (open === "[" ? "]" : "}").repeat(depth)
      }}`,
      label: "deep nesting",
    })),
  fc.constant({ raw: null, label: "no body" }),
  fc.constantFrom({ raw: oversized, label: "oversized" }, {
    raw: `${" ".repeat(MAX_BODY_BYTES)}{"format":"json"}`,
    label: "oversized whitespace",
  }),
  // Streamed: the limit must hold while reading, not only against a declared Content-Length.
  fc.tuple(
    fc.constantFrom(
      '{"format":"json"}',
      '{"format":"csv","config":{"csvFormulaEscape":false}}',
      '{"format":',
      '{"format":"json\u0000"}',
    ),
    fc.constantFrom(1, 7),
  ).map(([raw, chunkSize]) => ({
    raw,
    chunkSize,
    label: `streamed in chunks of ${chunkSize} bytes`,
  })),
  fc.constantFrom(16_384, 65_536).map((chunkSize) => ({
    raw: oversized,
    chunkSize,
    label: `oversized, streamed in chunks of ${chunkSize} bytes`,
  })),
);

function streamOf(bytes: Uint8Array, chunkSize: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Cases, requests and the oracle

type PostCase =
  | { kind: "json"; body: unknown; idempotencyKey?: string; prefer?: string }
  | { kind: "replay"; body: unknown; idempotencyKey: string }
  | { kind: "raw"; body: RawBody; idempotencyKey?: string; contentType?: string; prefer?: string };

/** Prefer values that never make the server wait (processing is paused, so a wait would last). */
const prefer: fc.Arbitrary<string | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 10 },
  {
    arbitrary: fc.constantFrom(
      "wait=0",
      "wait=-1",
      "wait=abc",
      "wait=1e3",
      "wait=",
      "wait",
      "return=minimal",
      "wait=0, wait=30",
      "handling=strict",
      'wait="0"',
      "wait=0;x=1",
      "wait=\u00b9",
    ),
    weight: 1,
  },
);

/** Header values fetch can send (no CR, LF or NUL), valid and not. */
const idempotencyKey: fc.Arbitrary<string | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 12 },
  { arbitrary: fc.constantFrom("fuzz-key-1", "fuzz-key-2", "fuzz-key-3"), weight: 2 },
  {
    arbitrary: fc.string({
      unit: fc.oneof(
        fc.integer({ min: 0x20, max: 0x7e }),
        fc.constant(0x09),
        fc.integer({ min: 0x80, max: 0xff }),
      )
        .map((code) => String.fromCharCode(code)),
      maxLength: 40,
    }),
    weight: 2,
  },
  {
    arbitrary: fc.constantFrom(
      "k".repeat(255),
      "k".repeat(256),
      "'; drop table exports_internal.idempotency_keys; --",
      "%_",
    ),
    weight: 1,
  },
);

function postCase(ownIds: string[], foreignId: string): fc.Arbitrary<PostCase> {
  const valid = validBody(ownIds, foreignId);
  const jsonCase = (body: fc.Arbitrary<unknown>) =>
    fc.record({ kind: fc.constant("json" as const), body, idempotencyKey, prefer }).map(
      withoutUndefined,
    ) as fc.Arbitrary<PostCase>;
  return fc.oneof(
    { arbitrary: jsonCase(valid), weight: 6 },
    {
      arbitrary: jsonCase(
        fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([b, m]) =>
          mutate(b, m)
        ),
      ),
      weight: 5,
    },
    { arbitrary: jsonCase(nearValidBody(ownIds, foreignId)), weight: 4 },
    { arbitrary: jsonCase(oneFieldOff(ownIds, foreignId)), weight: 6 },
    { arbitrary: jsonCase(junk), weight: 1 },
    {
      // The same valid body twice with one fresh key: the repeat is a 200 of the same export.
      arbitrary: fc.record({
        kind: fc.constant("replay" as const),
        body: valid,
        idempotencyKey: fc.uuid().map((id) => `fuzz-replay-${id}`),
      }),
      weight: 1,
    },
    {
      arbitrary: fc
        .record({
          kind: fc.constant("raw" as const),
          body: rawBody,
          idempotencyKey,
          prefer,
          contentType: fc.option(
            fc.constantFrom(
              "application/json",
              "text/plain",
              "application/x-www-form-urlencoded",
              "multipart/form-data; boundary=x",
              "application/json; charset=latin1",
            ),
            { nil: undefined },
          ),
        })
        .map(withoutUndefined) as fc.Arbitrary<PostCase>,
      weight: 2,
    },
  );
}

function withoutUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The request a case sends, and its body as bytes (for the oracle). */
function requestOf(c: PostCase): { call: ApiCall; bytes: Uint8Array | null } {
  const headers: Record<string, string> = {};
  if (c.idempotencyKey !== undefined) headers["Idempotency-Key"] = c.idempotencyKey;
  if (c.kind !== "replay" && c.prefer !== undefined) headers["Prefer"] = c.prefer;
  if (c.kind === "json" || c.kind === "replay") {
    const text = JSON.stringify(c.body) ?? "";
    headers["Content-Type"] = "application/json";
    return {
      call: { method: "POST", rawBody: text, headers },
      bytes: new TextEncoder().encode(text),
    };
  }
  if (c.contentType !== undefined) headers["Content-Type"] = c.contentType;
  const raw = c.body.raw;
  if (raw === null) return { call: { method: "POST", headers }, bytes: null };
  const bytes = typeof raw === "string" ? new TextEncoder().encode(raw) : raw;
  const body = c.body.chunkSize === undefined
    ? bytes as BodyInit
    : streamOf(bytes, c.body.chunkSize);
  return { call: { method: "POST", rawBody: body, headers }, bytes };
}

/**
 * What the shared parsers say about a request, independently of the server: 413, 400, or the
 * parsed request (then the server answers 2xx, 422 or 429, never 400, and stores its config);
 * `crashed` when the parser throws anything but a ValidationError.
 */
function expectedClass(
  bytes: Uint8Array | null,
  key: string | undefined,
): 413 | 400 | ParsedExportRequest | { crashed: unknown } {
  if (bytes !== null && bytes.byteLength > MAX_BODY_BYTES) return 413;
  if (bytes === null) return 400;
  let body: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    if (text.trim() === "") return 400;
    body = JSON.parse(text);
  } catch {
    return 400;
  }
  // fetch strips leading and trailing whitespace of a header value, as HTTP does.
  const sentKey = key?.replace(/^[\t ]+|[\t ]+$/g, "");
  if (sentKey !== undefined && !/^[\x20-\x7e]{1,255}$/.test(sentKey)) return 400;
  try {
    return parseExportRequest(body);
  } catch (error) {
    if (error instanceof ValidationError) return 400;
    // Reported after the server's answer, so a crash shows first as what a client would see.
    return { crashed: error };
  }
}

/**
 * One request through the functions server, as api() sends it, but keeping a non-JSON answer
 * as text: such an answer is itself a contract violation to report, with its status.
 */
async function call(path: string, init: ApiCall & { token: string }): Promise<ApiResponse> {
  const response = await fetch(exportsUrl(path), {
    method: init.method ?? "GET",
    headers: { ...init.headers, Authorization: `Bearer ${init.token}` },
    body: init.rawBody,
  });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    assert.fail(`non-JSON answer ${response.status}: ${text.slice(0, 300)}`);
  }
  return {
    status: response.status,
    headers: response.headers,
    body: body as Record<string, unknown>,
  };
}

/** The checks every answer must pass: an allowed status and, when not 2xx, the error body. */
function assertContract(response: ApiResponse, what: string): void {
  const shown = () =>
    `${what} → ${response.status} ${JSON.stringify(response.body)?.slice(0, 500)}`;
  assert.ok(ALLOWED_STATUSES.includes(response.status), `status not allowed: ${shown()}`);
  if (response.status >= 300) {
    const error = (response.body as { error?: { code?: unknown; message?: unknown } } | null)
      ?.error;
    assert.ok(error && typeof error === "object", `no error object: ${shown()}`);
    assert.equal(typeof error.code, "string", `error.code: ${shown()}`);
    assert.equal(typeof error.message, "string", `error.message: ${shown()}`);
    assert.ok(
      CODE_OF_STATUS[response.status].includes(error.code as string),
      `code does not fit the status: ${shown()}`,
    );
    if (response.status === 400) {
      const details = (error as { details?: unknown }).details;
      assert.ok(Array.isArray(details) && details.length > 0, `400 without details: ${shown()}`);
      assert.ok(details.length <= MAX_REPORTED_ISSUES, `unbounded details: ${shown()}`);
      for (const issue of details as { path?: unknown; message?: unknown }[]) {
        assert.equal(typeof issue.path, "string", `details path: ${shown()}`);
        assert.equal(typeof issue.message, "string", `details message: ${shown()}`);
      }
    }
    if (response.status === 429) {
      assert.ok(response.headers.get("retry-after"), `429 without Retry-After: ${shown()}`);
    }
  }
  // No internals ever reach a client.
  assert.doesNotMatch(
    JSON.stringify(response.body) ?? "",
    /file:\/\/|\.ts:\d|\n\s+at |postgres|SQLSTATE/i,
    shown(),
  );
}

/** Everything a request could have written for the user: the log rows and the internal ledgers. */
async function footprint(
  userId: string,
): Promise<{ logs: number; jobs: number; requests: number; keys: number }> {
  const [counts] = await sql<{ logs: number; jobs: number; requests: number; keys: number }[]>`
    select (select count(*) from public.export_logs where user_id = ${userId})::integer as logs,
           (select count(*) from exports_internal.export_jobs j
              join public.export_logs l on l.id = j.export_log_id where l.user_id = ${userId})::integer as jobs,
           (select count(*) from exports_internal.export_requests where user_id = ${userId})::integer as requests,
           (select count(*) from exports_internal.idempotency_keys where user_id = ${userId})::integer as keys`;
  return { ...counts };
}

/** A user whose conversations let valid configs both match (202) and miss (422). */
async function fuzzUser(): Promise<
  { userId: string; token: string; ownIds: string[]; foreignId: string }
> {
  const userId = await createUser();
  const ownIds = [
    await createConversation(userId, {
      title: "Refund 100% off_now \\ o'clock 😀",
      persona: PERSONAS[0],
      emotion: EMOTIONS[0],
      category: ["billing", "refunds"],
      quality_score: 7.5,
      tier: "scenario",
      created_at: "2026-01-01T00:00:00.123456Z",
    }),
    await createConversation(userId, {
      title: "Shipping %_",
      persona: PERSONAS[2],
      emotion: EMOTIONS[2],
      category: ["100%_off"],
      quality_score: 2,
      tier: "edge_case",
      created_at: "1999-12-31T23:59:59Z",
    }),
    await createConversation(userId, { title: null, status: "draft", quality_score: null }),
    await createConversation(userId, {
      title: "Pending",
      status: "pending_review",
      tier: "template",
      turns: [],
    }),
  ];
  const stranger = await createUser();
  const foreignId = await createConversation(stranger, { title: "Not yours" });
  return { userId, token: await userToken(userId), ownIds, foreignId };
}

/** Settings for a fuzz run: limits far away, so a 2xx stays a 2xx however many there are. */
function relaxedLimits() {
  return withSettings({ max_active_exports: 1_000_000, max_daily_exports: 1_000_000 });
}

function describeCase(c: PostCase): string {
  const text = c.kind !== "raw"
    ? JSON.stringify(c.body)
    : `${c.body.label} ${
      typeof c.body.raw === "string" ? JSON.stringify(c.body.raw) : String(c.body.raw)
    }`;
  const key = c.idempotencyKey === undefined
    ? ""
    : ` Idempotency-Key ${JSON.stringify(c.idempotencyKey)}`;
  const wait = c.kind === "replay" || c.prefer === undefined
    ? ""
    : ` Prefer ${JSON.stringify(c.prefer)}`;
  return `POST ${c.kind} ${(text ?? "undefined").slice(0, 300)}${key}${wait}`;
}

// ---------------------------------------------------------------------------------------------
// POST /exports

pausedTest(
  "POST /exports under fuzzed bodies answers only 2xx/400/413/422/429 and writes nothing unless 2xx",
  async () => {
    const restore = await relaxedLimits();
    const { userId, token, ownIds, foreignId } = await fuzzUser();
    const seen = new Map<number, number>();
    // Exports created under one of the shared keys stay until the end, so that later cases reusing
    // the key meet it (200 for the same body, 422 idempotency_key_reused for another).
    const kept = new Set<string>();
    const started = performance.now();
    try {
      await fc.assert(
        fc.asyncProperty(postCase(ownIds, foreignId), async (c) => {
          const what = describeCase(c);
          const { call: init, bytes } = requestOf(c);
          const expected = expectedClass(bytes, c.idempotencyKey);
          const before = await footprint(userId);
          const response = await call("", { ...init, token });
          seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
          assertContract(response, what);
          const after = await footprint(userId);
          const shown = () =>
            `${what} → ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`;

          if (typeof expected === "object" && "crashed" in expected) {
            assert.fail(`parseExportRequest threw ${expected.crashed} for ${what}`);
          }
          if (expected === 413) assert.equal(response.status, 413, shown());
          else if (expected === 400) assert.equal(response.status, 400, shown());
          else assert.notEqual(response.status, 400, `the shared parser accepts it: ${shown()}`);

          if (response.status === 202) {
            const log = response.body as {
              status: string;
              export_id: string;
              format: string;
              config: unknown;
            };
            assert.equal(log.status, "queued", what);
            // The stored config is exactly the shared parser's normalization of what was sent.
            assert.ok(typeof expected === "object" && "config" in expected, what);
            assert.deepEqual(log.config, expected.config, `stored config: ${what}`);
            assert.equal(log.format, expected.format, what);
            assert.equal(response.headers.get("location"), exportsUrl(`/${log.export_id}`), what);
            assert.equal(after.logs, before.logs + 1, `202 writes one export: ${what}`);
            assert.equal(after.jobs, before.jobs + 1, what);
            if (c.kind === "replay") {
              const again = await call("", { ...init, token });
              assertContract(again, `${what} (repeat)`);
              assert.equal(again.status, 200, `a repeat with the key is a replay: ${what}`);
              assert.equal((again.body as { export_id: string }).export_id, log.export_id, what);
              assert.deepEqual(await footprint(userId), after, `a replay writes nothing: ${what}`);
            }
            if (c.kind !== "raw" && c.idempotencyKey?.startsWith("fuzz-key-")) {
              kept.add(log.export_id);
            } else {
              const deleted = await api(`/${log.export_id}`, { method: "DELETE", token });
              assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
            }
          } else if (response.status === 200) {
            assert.ok(c.idempotencyKey !== undefined, `200 without an Idempotency-Key: ${what}`);
            assert.ok(
              kept.has((response.body as { export_id: string }).export_id),
              `a replay of an unknown export: ${what}`,
            );
            assert.deepEqual(after, before, `a replay writes nothing: ${what}`);
          } else {
            assert.deepEqual(after, before, `a ${response.status} wrote something: ${shown()}`);
            if (c.kind === "replay") {
              const again = await call("", { ...init, token });
              assertContract(again, `${what} (repeat)`);
              assert.equal(
                again.status,
                response.status,
                `a refused request is not remembered: ${what}`,
              );
              assert.deepEqual(
                await footprint(userId),
                before,
                `a ${again.status} repeat wrote something: ${what}`,
              );
            }
          }
        }),
        { seed: POST_SEED, numRuns: POST_RUNS },
      );
    } finally {
      for (const exportId of kept) await api(`/${exportId}`, { method: "DELETE", token });
      await restore();
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `POST /exports fuzz: ${POST_RUNS} cases, seed ${POST_SEED}, ${seconds} s, statuses ${
        JSON.stringify(Object.fromEntries([...seen].sort()))
      }`,
    );
    // The fuzz must reach every branch, or it proves little.
    for (const status of [200, 202, 400, 413, 422]) {
      assert.ok((seen.get(status) ?? 0) > 0, `no case answered ${status}`);
    }
    assert.equal(await countExportRows(userId), 0, "every accepted export was deleted again");
  },
);

// ---------------------------------------------------------------------------------------------
// GET /exports

type ListCase = {
  pairs: [string, string][];
  encoding: "search-params" | "component" | "raw" | "mixed";
  noise: string[];
};

const listKey: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...LIST_PARAMETERS), weight: 8 },
  {
    arbitrary: fc.constantFrom(
      "user_id",
      "token",
      "access_token",
      "apikey",
      "",
      "limit[]",
      "LIMIT",
      "page ",
      " page",
      "from\u0000",
      "stat%75s",
      "limit%00",
      "select",
      "order",
    ),
    weight: 2,
  },
  { arbitrary: hostileKey.filter((k) => k.length < 40), weight: 2 },
);

const goodInteger = fc.oneof(
  fc.integer({ min: 1, max: 100 }).map(String),
  fc.integer({ min: 1, max: 1_000_000 }).map(String),
);
const listValueFor: Record<string, fc.Arbitrary<string>> = {
  format: fc.constantFrom(...FORMATS),
  status: fc.constantFrom(...EXPORT_STATUSES),
  from: goodTimestamp,
  to: goodTimestamp,
  page: goodInteger,
  limit: goodInteger,
};
const badListValue: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: hostileString.filter((s) => s.length <= 300), weight: 4 },
  { arbitrary: badTimestamp, weight: 1 },
  {
    arbitrary: fc.constantFrom(
      "0",
      "-1",
      "+1",
      " 1",
      "1 ",
      "1.0",
      "1e2",
      "0x10",
      "0b1",
      "１",
      "٣",
      "00000000000000000000001",
      "99999999999999999999999999",
      "1000001",
      "101",
      "NaN",
      "Infinity",
      "null",
      "undefined",
      "[]",
      "1,2",
      "JSON",
      "Queued",
      "queued ",
    ),
    weight: 3,
  },
  { arbitrary: hostileNumber.map(String), weight: 1 },
);

/** Each known parameter at most once, with a value of the right kind. */
const validPairs: fc.Arbitrary<[string, string][]> = fc
  .record(listValueFor, { requiredKeys: [] })
  .chain((query) => {
    const entries = Object.entries(query) as [string, string][];
    return fc.shuffledSubarray(entries, { minLength: entries.length });
  });

const listCase: fc.Arbitrary<ListCase> = fc.record({
  pairs: fc.oneof({ arbitrary: validPairs, weight: 2 }, { arbitrary: randomPairs(), weight: 3 }),
  encoding: fc.constantFrom("search-params", "component", "raw", "mixed") as fc.Arbitrary<
    ListCase["encoding"]
  >,
  noise: fc.oneof(
    { arbitrary: fc.constant<string[]>([]), weight: 3 },
    {
      arbitrary: fc.array(
        fc.constantFrom<string>(
          "&",
          "&&",
          "=",
          "==",
          "%",
          "%zz",
          "%FF",
          "%C3%28",
          "%ED%A0%80",
          "%00",
          "+",
          ";",
          "?",
          "%25",
          "%26",
          "%3D",
        ),
        { minLength: 1, maxLength: 3 },
      ),
      weight: 1,
    },
  ),
});

/** Any keys (known, unknown, hostile, repeated) with valid or invalid values. */
function randomPairs(): fc.Arbitrary<[string, string][]> {
  return fc
    .array(
      listKey.chain((key) =>
        fc.tuple(
          fc.constant(key),
          Object.hasOwn(listValueFor, key)
            ? fc.oneof({ arbitrary: listValueFor[key], weight: 3 }, {
              arbitrary: badListValue,
              weight: 2,
            })
            : badListValue,
        )
      ),
      { maxLength: 7 },
    )
    // Sometimes a pair twice, the repeated-key case.
    .chain((pairs) =>
      pairs.length === 0
        ? fc.constant(pairs)
        : fc.nat(pairs.length * 3).map((i) => i < pairs.length ? [...pairs, pairs[i]] : pairs)
    );
}

/** A query string for a case: properly encoded, loosely encoded, raw, or with stray separators. */
function queryOf(c: ListCase): string {
  if (c.encoding === "search-params") return new URLSearchParams(c.pairs).toString();
  const encode = c.encoding === "component"
    ? encodeURIComponent
    : c.encoding === "raw"
    ? (s: string) => s.replaceAll("#", "%23")
    : (s: string) =>
      [...s].map((ch, i) => (i % 2 === 0 ? encodeURIComponent(ch) : ch.replaceAll("#", "%23")))
        .join("");
  const parts = c.pairs.map(([k, v]) => `${safeEncode(encode, k)}=${safeEncode(encode, v)}`);
  c.noise.forEach((n, i) => parts.splice(i % (parts.length + 1), 0, n));
  return parts.join("&");
}

/** encodeURIComponent throws on a lone surrogate; the URL parser would turn it into U+FFFD. */
function safeEncode(encode: (s: string) => string, s: string): string {
  try {
    return encode(s);
  } catch {
    return encode(s.toWellFormed());
  }
}

pausedTest(
  "GET /exports under fuzzed queries answers only 200 or 400 with the error body, agreeing with parseListQuery",
  async () => {
    const restore = await relaxedLimits();
    const { userId, token } = await fuzzUser();
    const seen = new Map<number, number>();
    const started = performance.now();
    const listed: string[] = [];
    try {
      // A few exports to list (they stay queued: processing is paused).
      for (const format of ["json", "csv", "markdown"]) {
        const created = await api("", { token, body: { format } });
        assert.equal(created.status, 202, JSON.stringify(created.body));
        listed.push(created.body.export_id);
      }
      const rowsBefore = await footprint(userId);
      await fc.assert(
        fc.asyncProperty(listCase, async (c) => {
          const query = queryOf(c);
          const url = new URL(exportsUrl(`?${query}`));
          const what = `GET ?${url.search.slice(1, 400)}`;
          let expected: ReturnType<typeof parseListQuery> | "invalid" | { crashed: unknown };
          try {
            expected = parseListQuery(url.searchParams);
          } catch (error) {
            expected = error instanceof ValidationError ? "invalid" : { crashed: error };
          }
          const response = await call(`?${query}`, { token });
          seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
          assertContract(response, what);
          if (typeof expected === "object" && "crashed" in expected) {
            assert.fail(`parseListQuery threw ${expected.crashed} for ${what}`);
          }
          if (expected === "invalid") {
            assert.equal(
              response.status,
              400,
              `${what} → ${JSON.stringify(response.body).slice(0, 300)}`,
            );
          } else {
            assert.equal(
              response.status,
              200,
              `${what} → ${JSON.stringify(response.body).slice(0, 300)}`,
            );
            const body = response.body as {
              logs: unknown[];
              total: number;
              page: number;
              limit: number;
            };
            assert.ok(Array.isArray(body.logs), what);
            assert.equal(typeof body.total, "number", what);
            assert.equal(body.page, expected.page, what);
            assert.equal(body.limit, expected.limit, what);
            assert.ok(body.logs.length <= expected.limit && body.total <= 3, what);
          }
          assert.deepEqual(
            await footprint(userId),
            rowsBefore,
            `a list query wrote something: ${what}`,
          );
        }),
        { seed: LIST_SEED, numRuns: LIST_RUNS },
      );
    } finally {
      for (const exportId of listed) await api(`/${exportId}`, { method: "DELETE", token });
      await restore();
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `GET /exports fuzz: ${LIST_RUNS} cases, seed ${LIST_SEED}, ${seconds} s, statuses ${
        JSON.stringify(Object.fromEntries([...seen].sort()))
      }`,
    );
    for (const status of [200, 400]) {
      assert.ok((seen.get(status) ?? 0) > 0, `no case answered ${status}`);
    }
  },
);

// ---------------------------------------------------------------------------------------------
// Paths under /exports: the `{export_id}` segment and what follows it

const PATH_RUNS = EXPLORE_RUNS ? Number(EXPLORE_RUNS) : 500;
const PATH_SEED = EXPLORE_SEED ? Number(EXPLORE_SEED) + 2 : 20261130;

type PathCase = { method: string; segments: string[]; query: string };

const pathSegment: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.uuid(), weight: 3 },
  { arbitrary: fc.uuid().map((id) => id.toUpperCase()), weight: 1 },
  { arbitrary: fc.uuid().map((id) => `{${id}}`), weight: 1 },
  { arbitrary: fc.uuid().map((id) => `${id}%00`), weight: 1 },
  {
    arbitrary: hostileString.filter((s) => s.length <= 100).map((s) =>
      safeEncode(encodeURIComponent, s)
    ),
    weight: 3,
  },
  {
    arbitrary: fc.constantFrom(
      "",
      ".",
      "..",
      "%2e%2e",
      "%2F",
      "%",
      "%zz",
      "%E0%A4%A",
      "%ED%A0%80",
      "download",
      "retry",
      "exports",
      "__proto__",
      "constructor",
      "%5C",
      ";",
      "*",
    ),
    weight: 2,
  },
);

const pathCase: fc.Arbitrary<PathCase> = fc.record({
  method: fc.constantFrom("GET", "GET", "DELETE", "POST", "PUT", "PATCH"),
  segments: fc.oneof(
    fc.tuple(pathSegment).map((s) => [...s]),
    fc.tuple(pathSegment, fc.constantFrom("download", "retry", "Download", "", "x")).map((
      s,
    ) => [...s]),
    fc.array(pathSegment, { minLength: 2, maxLength: 4 }),
  ),
  query: fc.oneof(
    { arbitrary: fc.constant(""), weight: 4 },
    {
      arbitrary: fc.constantFrom(
        "?",
        "?foo=1",
        "?token=",
        "?token=abc.def",
        "?token=%00",
        "?user_id=x",
        "?limit=1",
      ),
      weight: 1,
    },
  ),
});

pausedTest(
  "paths under /exports under fuzzed segments answer 400/401/404/405 with the error body and write nothing",
  async () => {
    const { userId, token } = await fuzzUser();
    const before = await footprint(userId);
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(pathCase, async (c) => {
        const path = `/${c.segments.join("/")}${c.query}`;
        const what = `${c.method} ${path}`;
        const response = await call(path, {
          method: c.method,
          token,
          ...(["POST", "PUT", "PATCH"].includes(c.method) && { rawBody: '{"format":"json"}' }),
        });
        seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
        const allowed = c.query.startsWith("?token=") ? [400, 401, 404, 405] : [400, 404, 405];
        const shown = `${what} → ${response.status} ${
          JSON.stringify(response.body)?.slice(0, 300)
        }`;
        assert.ok(allowed.includes(response.status), shown);
        const error = (response.body as { error?: { code?: unknown; message?: unknown } } | null)
          ?.error;
        assert.equal(typeof error?.code, "string", shown);
        assert.equal(typeof error?.message, "string", shown);
        assert.doesNotMatch(
          JSON.stringify(response.body),
          /file:\/\/|\.ts:\d|\n\s+at |postgres|SQLSTATE/i,
          shown,
        );
        assert.deepEqual(await footprint(userId), before, `wrote something: ${shown}`);
      }),
      { seed: PATH_SEED, numRuns: PATH_RUNS },
    );
    console.log(
      `path fuzz: ${PATH_RUNS} cases, seed ${PATH_SEED}, statuses ${
        JSON.stringify(Object.fromEntries([...seen].sort()))
      }`,
    );
  },
);
