/**
 * Generators of POST /exports requests for tests/fuzz_test.ts: hostile building blocks (strings,
 * numbers, keys, junk), valid and near-valid bodies over the real field names, edits of valid
 * bodies, raw bodies that are not JSON, and whole cases with their headers. The vocabularies come
 * from the server's own schemas.
 */
import fc from "fast-check";
import {
  ConversationStatusSchema,
  ConversationTierSchema,
  ExportFormatSchema,
  ExportScopeSchema,
  JsonlTemplateSchema,
} from "../../shared/domain/export_config.ts";
import { MAX_BODY_BYTES } from "../../shared/http/json_body.ts";

// The vocabularies, from the server's own schemas (one definition of each).
export const FORMATS = ExportFormatSchema.options;
export const SCOPES = ExportScopeSchema.options;
export const TEMPLATES = JsonlTemplateSchema.options;
export const TIERS = ConversationTierSchema.options;
export const CONVERSATION_STATUSES = ConversationStatusSchema.options;
export const INCLUDE_FLAGS = [
  "includeMetadata",
  "includeQualityScores",
  "includeTimestamps",
  "includeApprovalHistory",
  "includeParentReferences",
  "includeFullContent",
] as const;
export const CONFIG_FIELDS = [
  "scope",
  "conversationIds",
  "filters",
  ...INCLUDE_FLAGS,
  "template",
  "systemPrompt",
  "csvFormulaEscape",
];
export const FILTER_FIELDS = [
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
export const LIST_PARAMETERS = ["format", "status", "from", "to", "page", "limit"];

// The fixture's text values, so that valid filters sometimes match (202) and sometimes not (422).
export const CATEGORIES = ["billing", "refunds", "100%_off", "shipping"];
export const PERSONAS = ["calm", "frustrated customer", "Ünïcødé 😀"];
export const EMOTIONS = ["happy", "angry", "a_b%c"];
export const TITLE_FRAGMENTS = [
  "refund",
  "REFUND",
  "100%",
  "%",
  "_",
  "\\",
  "%_\\",
  "o'clock",
  "😀",
];

// ---------------------------------------------------------------------------------------------
// Hostile building blocks

export const PROTO_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
];
export const SQL_FRAGMENTS = [
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
export const LONE_SURROGATES = ["\ud800", "\udfff", "a\ud83d", "\ude00b", "\udc00\ud800"];
export const NUL_STRINGS = ["\u0000", "a\u0000b", "approved\u0000", "\u0000".repeat(10)];

/** Strings that break naive code: unicode of every kind, SQL, wildcards, proto keys, sizes. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
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
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
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

export const hostileKey: fc.Arbitrary<string> = fc.oneof(
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
export function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** An object with the given own keys (a later entry wins). */
export function ownObject(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) setOwn(object, key, value);
  return object;
}

/** A copy of `object` with `key` set to `value`. */
export function withOwn(
  object: Record<string, unknown>,
  key: string,
  value: unknown,
): Record<string, unknown> {
  return ownObject([...Object.entries(object), [key, value]]);
}

/** `depth` levels of arrays or objects around a leaf. */
export function nest(depth: number, kind: "array" | "object", leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = kind === "array" ? [value] : { a: value };
  return value;
}

export const deepValue: fc.Arbitrary<unknown> = fc
  .tuple(
    fc.integer({ min: 20, max: 3_000 }),
    fc.constantFrom("array", "object") as fc.Arbitrary<"array" | "object">,
    fc.constantFrom<unknown>("approved", 1, null, {}),
  )
  .map(([depth, kind, leaf]) => nest(depth, kind, leaf));

/** Any value of a wrong (or weird) type. */
export const junk: fc.Arbitrary<unknown> = fc.letrec<{ junk: unknown }>((tie) => ({
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
export const goodText = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }),
  )
  .filter((s) => s.length > 0 && s.isWellFormed() && !s.includes("\u0000"));

export function pad(n: number, width: number): string {
  return String(Math.abs(n)).padStart(width, "0");
}

/** ISO 8601 timestamps the API accepts: Z or an offset, 0–6 fraction digits, any case of T/Z. */
export const goodTimestamp: fc.Arbitrary<string> = fc.oneof(
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

export function generatedTimestamp(): fc.Arbitrary<string> {
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
export const badTimestamp: fc.Arbitrary<string> = fc.oneof(
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

export function validOrJunk<T>(valid: fc.Arbitrary<T>, junkWeight = 1): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: valid as fc.Arbitrary<unknown>, weight: 6 }, {
    arbitrary: junk,
    weight: junkWeight,
  });
}

export function nonEmptyArrayOf<T>(item: fc.Arbitrary<T>, maxLength = 5): fc.Arbitrary<T[]> {
  return fc.array(item, { minLength: 1, maxLength });
}

export const goodSearch = fc.oneof(
  fc.constantFrom(...TITLE_FRAGMENTS, ...SQL_FRAGMENTS.filter(Boolean)),
  goodText.filter((s) => [...s].length <= 200),
);
export const goodSystemPrompt = fc.oneof(
  { arbitrary: goodText, weight: 6 },
  {
    arbitrary: fc.constantFrom("x".repeat(8_000), "😀".repeat(8_000), "You are helpful. %_\\ ' --"),
    weight: 1,
  },
);
export const goodQuality = fc.oneof(
  fc.integer({ min: 0, max: 10 }),
  fc.double({ min: 0, max: 10, noNaN: true }),
);

export function goodFilterValues(): Record<string, fc.Arbitrary<unknown>> {
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

export function badFilterValues(): Record<string, fc.Arbitrary<unknown>> {
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
export const nearValidFilters: fc.Arbitrary<unknown> = (() => {
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

export function goodIds(ownIds: string[], foreignId: string): fc.Arbitrary<string[]> {
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

export const badIds: fc.Arbitrary<unknown> = fc.oneof(
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
export function validBody(
  ownIds: string[],
  foreignId: string,
): fc.Arbitrary<Record<string, unknown>> {
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
export function nearValidConfig(ownIds: string[], foreignId: string): fc.Arbitrary<unknown> {
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

export function nearValidBody(ownIds: string[], foreignId: string): fc.Arbitrary<unknown> {
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
export function singleFieldProbes(
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
export function oneFieldOff(ownIds: string[], foreignId: string): fc.Arbitrary<unknown> {
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

export const mutation: fc.Arbitrary<Mutation> = fc.record({
  depth: fc.nat(2),
  op: fc.constantFrom("set", "delete", "add", "replace") as fc.Arbitrary<Mutation["op"]>,
  key: fc.oneof(
    fc.constantFrom("format", "config", ...CONFIG_FIELDS, ...FILTER_FIELDS),
    hostileKey,
  ),
  value: fc.oneof(junk, badTimestamp, badIds, fc.constantFrom(...FORMATS, ...SCOPES, ...TEMPLATES)),
});

export function mutate(body: Record<string, unknown>, edits: Mutation[]): unknown {
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
export type RawBody = { raw: string | Uint8Array | null; label: string; chunkSize?: number };

export const oversized = `{"format":"json","pad":"${"x".repeat(MAX_BODY_BYTES)}"}`;
export const rawBody: fc.Arbitrary<RawBody> = fc.oneof(
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

export function streamOf(bytes: Uint8Array, chunkSize: number): ReadableStream<Uint8Array> {
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

export type PostCase =
  | { kind: "json"; body: unknown; idempotencyKey?: string; prefer?: string }
  | { kind: "replay"; body: unknown; idempotencyKey: string }
  | { kind: "raw"; body: RawBody; idempotencyKey?: string; contentType?: string; prefer?: string };

/** Prefer values that never make the server wait (processing is paused, so a wait would last). */
export const prefer: fc.Arbitrary<string | undefined> = fc.oneof(
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
export const idempotencyKey: fc.Arbitrary<string | undefined> = fc.oneof(
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

export function postCase(ownIds: string[], foreignId: string): fc.Arbitrary<PostCase> {
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

export function withoutUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
