import assert from "node:assert/strict";
import { ValidationError } from "../../shared/core/errors.ts";
import {
  canonicalConfigKey,
  type ExportConfig,
  ExportConfigSchema,
  type ExportRequest,
  ExportRequestSchema,
  MAX_FILTER_VALUES,
  MAX_REPORTED_ISSUES,
  parseExportRequest,
  parseTimestamp,
} from "../../shared/domain/export_config.ts";

const ID_A = "0b6f1c2e-3d4a-4b5c-8d6e-7f8091a2b3c4";
const ID_B = "1c7a2d3f-4e5b-4c6d-9e7f-8091a2b3c4d5";
const ID_C = "2d8b3e4a-5f6c-4d7e-af80-91a2b3c4d5e6";

const DEFAULTS = {
  scope: "all",
  includeMetadata: true,
  includeQualityScores: true,
  includeTimestamps: true,
  includeApprovalHistory: false,
  includeParentReferences: false,
  includeFullContent: true,
} as const;

/** The issues parseExportRequest throws for `body`; fails the test when it accepts the body. */
function issuesOf(body: unknown): { path: string; message: string }[] {
  try {
    parseExportRequest(body);
  } catch (error) {
    assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${error}`);
    assert.equal(error.status, 400);
    assert.equal(error.code, "invalid_request");
    assert.deepEqual(error.details, error.issues);
    for (const issue of error.issues) {
      assert.equal(typeof issue.message, "string");
      assert.match(issue.message, /^[A-Z]/, `sentence case: ${issue.message}`);
      assert.doesNotMatch(issue.message, /\.$/, `no final period: ${issue.message}`);
    }
    return error.issues;
  }
  assert.fail(`expected ${JSON.stringify(body)} to be refused`);
}

function pathsOf(body: unknown): string[] {
  return issuesOf(body).map((issue) => issue.path);
}

function filtered(filters: unknown, format = "json"): unknown {
  return { format, config: { scope: "filtered", filters } };
}

// ---------------------------------------------------------------------------------------------
// Normalization

Deno.test("parseExportRequest() fills defaults when config is omitted", () => {
  assert.deepEqual(parseExportRequest({ format: "json" }), {
    format: "json",
    config: { format: "json", ...DEFAULTS },
  });
});

Deno.test("parseExportRequest() fills the same defaults for an empty config", () => {
  assert.deepEqual(parseExportRequest({ format: "markdown", config: {} }), {
    format: "markdown",
    config: { format: "markdown", ...DEFAULTS },
  });
});

Deno.test("parseExportRequest() adds template openai for jsonl only", () => {
  assert.deepEqual(parseExportRequest({ format: "jsonl" }).config, {
    format: "jsonl",
    ...DEFAULTS,
    template: "openai",
  });
  const config = parseExportRequest({ format: "jsonl", config: { template: "alpaca" } }).config;
  assert.ok(config.format === "jsonl");
  assert.equal(config.template, "alpaca");
});

Deno.test("parseExportRequest() adds csvFormulaEscape true for csv only", () => {
  assert.deepEqual(parseExportRequest({ format: "csv" }).config, {
    format: "csv",
    ...DEFAULTS,
    csvFormulaEscape: true,
  });
  const config = parseExportRequest({ format: "csv", config: { csvFormulaEscape: false } }).config;
  assert.ok(config.format === "csv");
  assert.equal(config.csvFormulaEscape, false);
});

Deno.test("parseExportRequest() adds neither template nor csvFormulaEscape for json and markdown", () => {
  for (const format of ["json", "markdown"]) {
    const config = parseExportRequest({ format }).config;
    assert.equal("template" in config, false);
    assert.equal("csvFormulaEscape" in config, false);
    assert.equal("conversationIds" in config, false);
    assert.equal("filters" in config, false);
    assert.equal("systemPrompt" in config, false);
  }
});

Deno.test("parseExportRequest() keeps every given boolean and the systemPrompt", () => {
  const config = parseExportRequest({
    format: "json",
    config: {
      includeMetadata: false,
      includeQualityScores: false,
      includeTimestamps: false,
      includeApprovalHistory: true,
      includeParentReferences: true,
      includeFullContent: false,
      systemPrompt: "You are helpful",
    },
  }).config;
  assert.deepEqual(config, {
    format: "json",
    scope: "all",
    includeMetadata: false,
    includeQualityScores: false,
    includeTimestamps: false,
    includeApprovalHistory: true,
    includeParentReferences: true,
    includeFullContent: false,
    systemPrompt: "You are helpful",
  });
});

Deno.test("parseExportRequest() turns filters {} into statuses approved", () => {
  const { config } = parseExportRequest(filtered({}));
  assert.deepEqual(config.filters, { statuses: ["approved"] });
  assert.equal(config.scope, "filtered");
});

Deno.test("parseExportRequest() keeps given statuses and every filter", () => {
  const filters = {
    tiers: ["template", "edge_case"],
    statuses: ["draft", "failed"],
    qualityMin: 2.5,
    qualityMax: 9,
    createdFrom: "2026-01-01T00:00:00.123456Z",
    createdTo: "2026-06-30T23:59:59.999999Z",
    categories: ["support"],
    personas: ["Anxious customer"],
    emotions: ["calm", "angry"],
    search: "100%_off\\",
  };
  assert.deepEqual(parseExportRequest(filtered(filters)).config.filters, filters);
});

Deno.test("parseExportRequest() accepts quality bounds equal to each other and to 0 and 10", () => {
  const bounds = [[0, 0], [10, 10], [0, 10], [4.2, 4.2]];
  for (const [qualityMin, qualityMax] of bounds) {
    const filters = parseExportRequest(filtered({ qualityMin, qualityMax })).config.filters;
    assert.equal(filters?.qualityMin, qualityMin);
    assert.equal(filters?.qualityMax, qualityMax);
  }
});

Deno.test("parseExportRequest() normalizes created bounds to UTC with microseconds", () => {
  const filters = parseExportRequest(filtered({
    createdFrom: "2026-03-01T01:30:00+02:00",
    createdTo: "2026-03-01T00:00:00.5-05:00",
  })).config.filters;
  assert.equal(filters?.createdFrom, "2026-02-28T23:30:00.000000Z");
  assert.equal(filters?.createdTo, "2026-03-01T05:00:00.500000Z");
});

Deno.test("parseExportRequest() accepts createdFrom equal to createdTo", () => {
  const at = "2026-05-05T05:05:05.050505Z";
  const filters = parseExportRequest(filtered({ createdFrom: at, createdTo: at })).config.filters;
  assert.equal(filters?.createdFrom, at);
  assert.equal(filters?.createdTo, at);
});

Deno.test("parseExportRequest() deduplicates conversationIds keeping the first occurrence", () => {
  const { config } = parseExportRequest({
    format: "json",
    config: { scope: "selected", conversationIds: [ID_B, ID_A, ID_B, ID_C, ID_A] },
  });
  assert.deepEqual(config.conversationIds, [ID_B, ID_A, ID_C]);
});

Deno.test("parseExportRequest() lowercases conversationIds so case variants are one id", () => {
  const { config } = parseExportRequest({
    format: "json",
    config: { scope: "selected", conversationIds: [ID_A.toUpperCase(), ID_B, ID_A] },
  });
  assert.deepEqual(config.conversationIds, [ID_A, ID_B]);
});

Deno.test("parseExportRequest() accepts exactly 10000 conversationIds", () => {
  const ids = Array.from({ length: 10_000 }, (_, i) => uuidFrom(i));
  const { config } = parseExportRequest({
    format: "json",
    config: { scope: "selected", conversationIds: ids },
  });
  assert.equal(config.conversationIds?.length, 10_000);
});

Deno.test("parseExportRequest() counts 200 emoji as 200 characters of search", () => {
  const search = "😀".repeat(200);
  assert.equal(search.length, 400);
  assert.equal(parseExportRequest(filtered({ search })).config.filters?.search, search);
});

Deno.test("parseExportRequest() refuses 201 emoji in search", () => {
  const issues = issuesOf(filtered({ search: "😀".repeat(201) }));
  assert.deepEqual(issues.map((issue) => issue.path), ["config.filters.search"]);
  assert.match(issues[0].message, /at most 200 characters, got 201/);
});

Deno.test("parseExportRequest() counts systemPrompt in code points up to 8000", () => {
  const systemPrompt = "𝄞".repeat(8_000);
  const config = parseExportRequest({ format: "json", config: { systemPrompt } }).config;
  assert.equal(config.systemPrompt, systemPrompt);
  assert.deepEqual(pathsOf({ format: "json", config: { systemPrompt: systemPrompt + "a" } }), [
    "config.systemPrompt",
  ]);
});

Deno.test("parseExportRequest() returns a config that ExportConfigSchema accepts", () => {
  const bodies: ExportRequest[] = [
    { format: "json" },
    { format: "jsonl", config: { template: "sharegpt", systemPrompt: "Be brief" } },
    { format: "csv", config: { scope: "selected", conversationIds: [ID_A] } },
    { format: "markdown", config: { scope: "filtered", filters: { search: "refund" } } },
  ];
  for (const body of bodies) {
    const { config } = parseExportRequest(body);
    assert.deepEqual(ExportConfigSchema.parse(config), config);
  }
});

Deno.test("ExportConfigSchema refuses template on a stored csv config", () => {
  const stored = { format: "csv", ...DEFAULTS, csvFormulaEscape: true, template: "openai" };
  assert.equal(ExportConfigSchema.safeParse(stored).success, false);
});

Deno.test("ExportRequestSchema parses a body to the same result as parseExportRequest()", () => {
  const body = { format: "jsonl", config: { scope: "filtered", filters: {} } };
  assert.deepEqual(ExportRequestSchema.parse(body), parseExportRequest(body));
});

Deno.test("parseExportRequest() does not change the body it is given", () => {
  const body = {
    format: "json",
    config: { scope: "selected", conversationIds: [ID_A.toUpperCase(), ID_A] },
  };
  const copy = structuredClone(body);
  parseExportRequest(body);
  assert.deepEqual(body, copy);
});

// ---------------------------------------------------------------------------------------------
// Body shape, format and unknown fields

Deno.test("parseExportRequest() refuses a body that is not an object with one issue at the root", () => {
  for (const body of [[], [{ format: "json" }], "json", null, undefined, 42, true]) {
    const issues = issuesOf(body);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].path, "");
  }
});

Deno.test("parseExportRequest() requires format", () => {
  assert.deepEqual(pathsOf({}), ["format"]);
  assert.deepEqual(pathsOf({ config: {} }), ["format"]);
});

Deno.test("parseExportRequest() refuses an unknown format quoting it", () => {
  for (const format of ["xml", "JSON", "", null, 1, ["json"]]) {
    const issues = issuesOf({ format });
    assert.deepEqual(issues.map((issue) => issue.path), ["format"]);
  }
  assert.match(issuesOf({ format: "xml" })[0].message, /"xml"/);
});

Deno.test("parseExportRequest() refuses user_id at the top level as an unknown field", () => {
  const issues = issuesOf({ format: "json", user_id: ID_A });
  assert.deepEqual(issues, [{ path: "user_id", message: 'Unknown field "user_id"' }]);
});

Deno.test("parseExportRequest() names every unknown key by its full path", () => {
  const paths = pathsOf({
    format: "json",
    extra: 1,
    other: 2,
    config: {
      scope: "filtered",
      userId: ID_A,
      filters: { foo: 1, statuses: ["approved"], bar: { deep: [1, 2, 3] } },
    },
  });
  assert.deepEqual(paths.sort(), [
    "config.filters.bar",
    "config.filters.foo",
    "config.userId",
    "extra",
    "other",
  ]);
});

Deno.test("parseExportRequest() refuses null anywhere", () => {
  assert.deepEqual(pathsOf({ format: "json", config: null }), ["config"]);
  assert.deepEqual(pathsOf(filtered(null)), ["config.filters"]);
  for (
    const field of [
      "scope",
      "includeMetadata",
      "includeQualityScores",
      "includeTimestamps",
      "includeApprovalHistory",
      "includeParentReferences",
      "includeFullContent",
      "systemPrompt",
    ]
  ) {
    assert.deepEqual(pathsOf({ format: "json", config: { [field]: null } }), [`config.${field}`]);
  }
  assert.deepEqual(pathsOf({ format: "jsonl", config: { template: null } }), ["config.template"]);
  assert.deepEqual(pathsOf({ format: "csv", config: { csvFormulaEscape: null } }), [
    "config.csvFormulaEscape",
  ]);
  assert.deepEqual(
    pathsOf({ format: "json", config: { scope: "selected", conversationIds: null } }),
    ["config.conversationIds"],
  );
  for (
    const field of [
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
    ]
  ) {
    assert.deepEqual(pathsOf(filtered({ [field]: null })), [`config.filters.${field}`]);
  }
  assert.deepEqual(pathsOf(filtered({ tiers: [null] })), ["config.filters.tiers.0"]);
});

Deno.test("parseExportRequest() refuses a config that is not an object", () => {
  for (const config of ["all", [], 1, true]) {
    assert.deepEqual(pathsOf({ format: "json", config }), ["config"]);
  }
});

Deno.test("parseExportRequest() refuses booleans given as strings or numbers", () => {
  for (const value of ["true", 1, 0, "false"]) {
    assert.deepEqual(pathsOf({ format: "json", config: { includeMetadata: value } }), [
      "config.includeMetadata",
    ]);
  }
});

// ---------------------------------------------------------------------------------------------
// Format-only fields

Deno.test("parseExportRequest() refuses template for formats other than jsonl", () => {
  for (const format of ["json", "csv", "markdown"]) {
    const issues = issuesOf({ format, config: { template: "openai" } });
    assert.deepEqual(issues.map((issue) => issue.path), ["config.template"]);
    assert.match(issues[0].message, /jsonl/);
  }
});

Deno.test("parseExportRequest() refuses csvFormulaEscape for formats other than csv", () => {
  for (const format of ["json", "jsonl", "markdown"]) {
    assert.deepEqual(pathsOf({ format, config: { csvFormulaEscape: true } }), [
      "config.csvFormulaEscape",
    ]);
  }
});

Deno.test("parseExportRequest() refuses an unknown template", () => {
  assert.deepEqual(pathsOf({ format: "jsonl", config: { template: "llama" } }), [
    "config.template",
  ]);
});

// ---------------------------------------------------------------------------------------------
// Scope rules

Deno.test("parseExportRequest() refuses an unknown scope", () => {
  assert.deepEqual(pathsOf({ format: "json", config: { scope: "everything" } }), ["config.scope"]);
});

Deno.test("parseExportRequest() requires conversationIds when scope is selected", () => {
  const issues = issuesOf({ format: "json", config: { scope: "selected" } });
  assert.deepEqual(issues.map((issue) => issue.path), ["config.conversationIds"]);
  assert.match(issues[0].message, /"selected"/);
});

Deno.test("parseExportRequest() refuses filters when scope is selected", () => {
  assert.deepEqual(
    pathsOf({
      format: "json",
      config: { scope: "selected", conversationIds: [ID_A], filters: {} },
    }),
    ["config.filters"],
  );
});

Deno.test("parseExportRequest() requires filters when scope is filtered", () => {
  assert.deepEqual(pathsOf({ format: "json", config: { scope: "filtered" } }), ["config.filters"]);
});

Deno.test("parseExportRequest() refuses conversationIds when scope is filtered", () => {
  assert.deepEqual(
    pathsOf({
      format: "json",
      config: { scope: "filtered", filters: {}, conversationIds: [ID_A] },
    }),
    ["config.conversationIds"],
  );
});

Deno.test("parseExportRequest() refuses conversationIds and filters when scope is all or omitted", () => {
  for (const config of [{ scope: "all" }, {}]) {
    const paths = pathsOf({ format: "json", config: { ...config, conversationIds: [ID_A] } });
    assert.deepEqual(paths, ["config.conversationIds"]);
    assert.deepEqual(pathsOf({ format: "json", config: { ...config, filters: {} } }), [
      "config.filters",
    ]);
  }
});

Deno.test("parseExportRequest() refuses an empty conversationIds", () => {
  assert.deepEqual(
    pathsOf({ format: "json", config: { scope: "selected", conversationIds: [] } }),
    [
      "config.conversationIds",
    ],
  );
});

Deno.test("parseExportRequest() refuses more than 10000 conversationIds", () => {
  const ids = Array.from({ length: 10_001 }, (_, i) => uuidFrom(i));
  const issues = issuesOf({ format: "json", config: { scope: "selected", conversationIds: ids } });
  assert.deepEqual(issues.map((issue) => issue.path), ["config.conversationIds"]);
  assert.match(issues[0].message, /10000/);
});

Deno.test("parseExportRequest() names each invalid conversation id by its index", () => {
  const paths = pathsOf({
    format: "json",
    config: {
      scope: "selected",
      conversationIds: [ID_A, "not-a-uuid", ID_B, 42, `${ID_C} `, "{" + ID_A + "}"],
    },
  });
  assert.deepEqual(paths, [
    "config.conversationIds.1",
    "config.conversationIds.3",
    "config.conversationIds.4",
    "config.conversationIds.5",
  ]);
});

// ---------------------------------------------------------------------------------------------
// Filter rules

Deno.test("parseExportRequest() refuses every empty filter array", () => {
  for (const field of ["tiers", "statuses", "categories", "personas", "emotions"]) {
    const issues = issuesOf(filtered({ [field]: [] }));
    assert.deepEqual(issues.map((issue) => issue.path), [`config.filters.${field}`]);
    assert.equal(issues[0].message, "Must not be empty");
  }
});

Deno.test("parseExportRequest() refuses unknown tiers and statuses by index", () => {
  assert.deepEqual(pathsOf(filtered({ tiers: ["template", "golden"] })), [
    "config.filters.tiers.1",
  ]);
  assert.deepEqual(pathsOf(filtered({ statuses: ["archived", "approved", "Approved"] })), [
    "config.filters.statuses.0",
    "config.filters.statuses.2",
  ]);
});

Deno.test("parseExportRequest() accepts every tier and status", () => {
  const tiers = ["template", "scenario", "edge_case"];
  const statuses = [
    "draft",
    "generated",
    "pending_review",
    "approved",
    "rejected",
    "needs_revision",
    "failed",
  ];
  const filters = parseExportRequest(filtered({ tiers, statuses })).config.filters;
  assert.deepEqual(filters, { tiers, statuses });
});

Deno.test("parseExportRequest() refuses quality bounds outside 0 to 10 or not numbers", () => {
  for (const value of [-0.1, 10.1, 1e308, -1e308, "5", "NaN", "Infinity", true, [5], {}]) {
    for (const field of ["qualityMin", "qualityMax"]) {
      assert.deepEqual(pathsOf(filtered({ [field]: value })), [`config.filters.${field}`]);
    }
  }
});

Deno.test("parseExportRequest() refuses non-finite quality bounds", () => {
  for (const value of [NaN, Infinity, -Infinity]) {
    assert.deepEqual(pathsOf(filtered({ qualityMin: value })), ["config.filters.qualityMin"]);
  }
});

Deno.test("parseExportRequest() refuses qualityMin greater than qualityMax on both bounds", () => {
  const issues = issuesOf(filtered({ qualityMin: 8, qualityMax: 3 }));
  assert.deepEqual(issues.map((issue) => issue.path), [
    "config.filters.qualityMin",
    "config.filters.qualityMax",
  ]);
  assert.match(issues[0].message, /3.*got 8/);
});

Deno.test("parseExportRequest() refuses createdFrom later than createdTo on both bounds", () => {
  const paths = pathsOf(filtered({
    createdFrom: "2026-01-01T00:00:00.000002Z",
    createdTo: "2026-01-01T00:00:00.000001Z",
  }));
  assert.deepEqual(paths, ["config.filters.createdFrom", "config.filters.createdTo"]);
});

Deno.test("parseExportRequest() compares created bounds as instants across offsets", () => {
  // 10:00-02:00 is 12:00Z, later than 11:00Z although "10" sorts before "11"
  assert.deepEqual(
    pathsOf(filtered({
      createdFrom: "2026-01-01T10:00:00-02:00",
      createdTo: "2026-01-01T11:00:00Z",
    })),
    ["config.filters.createdFrom", "config.filters.createdTo"],
  );
  // 10:00+02:00 is 08:00Z, earlier than 09:00Z although "10" sorts after "09"
  const filters = parseExportRequest(filtered({
    createdFrom: "2026-01-01T10:00:00+02:00",
    createdTo: "2026-01-01T09:00:00Z",
  })).config.filters;
  assert.equal(filters?.createdFrom, "2026-01-01T08:00:00.000000Z");
  assert.equal(filters?.createdTo, "2026-01-01T09:00:00.000000Z");
});

Deno.test("parseExportRequest() refuses created bounds that are not ISO timestamps with an offset", () => {
  const bad = [
    "2026-01-01",
    "2026-01-01T00:00:00",
    "2026-02-30T00:00:00Z",
    "2025-02-29T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T23:60:00Z",
    "2026-01-01T23:59:60Z",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00.1234567Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:30:00+01:00",
    "Thu, 01 Jan 2026 00:00:00 GMT",
    "1767225600000",
    "tomorrow",
    "",
    " 2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00Z\n",
  ];
  for (const value of bad) {
    assert.deepEqual(pathsOf(filtered({ createdFrom: value })), ["config.filters.createdFrom"]);
    assert.deepEqual(pathsOf(filtered({ createdTo: value })), ["config.filters.createdTo"]);
  }
  assert.deepEqual(pathsOf(filtered({ createdFrom: 1767225600000 })), [
    "config.filters.createdFrom",
  ]);
});

Deno.test("parseExportRequest() accepts a leap day and microsecond precision", () => {
  const filters = parseExportRequest(filtered({ createdFrom: "2028-02-29T12:00:00.000001z" }))
    .config.filters;
  assert.equal(filters?.createdFrom, "2028-02-29T12:00:00.000001Z");
});

Deno.test("parseExportRequest() refuses empty or non-string categories, personas and emotions", () => {
  for (const field of ["categories", "personas", "emotions"]) {
    assert.deepEqual(pathsOf(filtered({ [field]: ["ok", "", 3, null, ["x"]] })), [
      `config.filters.${field}.1`,
      `config.filters.${field}.2`,
      `config.filters.${field}.3`,
      `config.filters.${field}.4`,
    ]);
    assert.deepEqual(pathsOf(filtered({ [field]: "ok" })), [`config.filters.${field}`]);
  }
});

Deno.test("parseExportRequest() refuses an empty or non-string search", () => {
  assert.deepEqual(issuesOf(filtered({ search: "" })), [
    { path: "config.filters.search", message: "Must not be empty" },
  ]);
  assert.deepEqual(pathsOf(filtered({ search: 5 })), ["config.filters.search"]);
  assert.deepEqual(pathsOf(filtered({ search: ["a"] })), ["config.filters.search"]);
});

Deno.test("parseExportRequest() refuses an empty systemPrompt", () => {
  assert.deepEqual(pathsOf({ format: "json", config: { systemPrompt: "" } }), [
    "config.systemPrompt",
  ]);
});

Deno.test("parseExportRequest() refuses text the database cannot store", () => {
  assert.deepEqual(pathsOf(filtered({ search: "a\u0000b" })), ["config.filters.search"]);
  assert.deepEqual(pathsOf(filtered({ personas: ["\ud800"] })), ["config.filters.personas.0"]);
  assert.deepEqual(pathsOf({ format: "json", config: { systemPrompt: "x\udc00" } }), [
    "config.systemPrompt",
  ]);
});

// ---------------------------------------------------------------------------------------------
// Many errors at once

Deno.test("parseExportRequest() reports every offending field together", () => {
  const issues = issuesOf({
    format: "csv",
    user_id: ID_A,
    config: {
      scope: "filtered",
      conversationIds: [ID_A],
      template: "openai",
      includeMetadata: "yes",
      systemPrompt: "",
      filters: {
        tiers: [],
        statuses: ["approved", "lost"],
        qualityMin: 11,
        createdFrom: "yesterday",
        search: "",
        foo: true,
      },
    },
  });
  assert.deepEqual(issues.map((issue) => issue.path).sort(), [
    "config.conversationIds",
    "config.filters.createdFrom",
    "config.filters.foo",
    "config.filters.qualityMin",
    "config.filters.search",
    "config.filters.statuses.1",
    "config.filters.tiers",
    "config.includeMetadata",
    "config.systemPrompt",
    "config.template",
    "user_id",
  ]);
});

Deno.test("parseExportRequest() reports one issue per path", () => {
  const paths = pathsOf({ format: "json", config: { template: "nonsense", filters: null } });
  assert.equal(new Set(paths).size, paths.length);
  assert.deepEqual(paths.sort(), ["config.filters", "config.template"]);
});

Deno.test("parseExportRequest() lists at most MAX_REPORTED_ISSUES, shallow fields first", () => {
  const ids = Array.from({ length: 10_000 }, () => "x");
  const issues = issuesOf({ format: "pdf", config: { scope: "selected", conversationIds: ids } });
  assert.equal(issues.length, MAX_REPORTED_ISSUES);
  assert.equal(issues[0].path, "format");
  assert.equal(issues[1].path, "config.conversationIds.0");
  assert.deepEqual(issues.at(-1), {
    path: "",
    message: `Another ${10_000 - (MAX_REPORTED_ISSUES - 2)} invalid fields are not listed`,
  });
});

Deno.test("parseExportRequest() still checks the other rules when conversationIds is oversized", () => {
  const ids = Array.from({ length: 10_001 }, (_, i) => uuidFrom(i));
  const paths = pathsOf({
    format: "csv",
    config: { scope: "selected", conversationIds: ids, template: "openai", filters: {} },
  });
  assert.deepEqual(paths.sort(), ["config.conversationIds", "config.filters", "config.template"]);
});

Deno.test("parseExportRequest() refuses a filter array of more than MAX_FILTER_VALUES items", () => {
  const categories = Array.from({ length: MAX_FILTER_VALUES + 1 }, (_, i) => `c${i}`);
  assert.deepEqual(pathsOf(filtered({ categories, qualityMin: 5, qualityMax: 1 })), [
    "config.filters.categories",
    "config.filters.qualityMin",
    "config.filters.qualityMax",
  ]);
  const accepted = parseExportRequest(filtered({ categories: categories.slice(1) }));
  assert.equal(accepted.config.filters?.categories?.length, MAX_FILTER_VALUES);
});

Deno.test("parseExportRequest() refuses a flood of junk array items quickly", () => {
  const started = performance.now();
  const emotions = new Array(500_000).fill(0);
  assert.deepEqual(pathsOf(filtered({ emotions })), ["config.filters.emotions"]);
  assert.ok(performance.now() - started < 1_000);
});

// ---------------------------------------------------------------------------------------------
// Hostile input

Deno.test("parseExportRequest() refuses __proto__ and constructor keys without polluting prototypes", () => {
  const body = JSON.parse(`{
    "format": "json",
    "__proto__": { "polluted": true },
    "constructor": { "prototype": { "polluted": true } },
    "config": {
      "__proto__": { "polluted": true },
      "prototype": { "polluted": true },
      "scope": "filtered",
      "filters": { "__proto__": { "statuses": ["draft"] }, "constructor": 1 }
    }
  }`);
  const paths = pathsOf(body);
  assert.deepEqual(paths.sort(), [
    "__proto__",
    "config.__proto__",
    "config.filters.__proto__",
    "config.filters.constructor",
    "config.prototype",
    "constructor",
  ]);
  const probe: Record<string, unknown> = {};
  assert.equal(probe.polluted, undefined);
  assert.equal(probe.statuses, undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted"), false);
});

Deno.test("parseExportRequest() refuses __proto__ as its only fault without using it", () => {
  const body = JSON.parse('{"format":"json","config":{"__proto__":{"includeMetadata":false}}}');
  assert.deepEqual(pathsOf(body), ["config.__proto__"]);
  assert.equal(({} as Record<string, unknown>).includeMetadata, undefined);
});

Deno.test("parseExportRequest() refuses deeply nested junk without descending into it", () => {
  let junk: unknown = "bottom";
  for (let i = 0; i < 10_000; i++) junk = { a: junk, b: [junk] };
  const paths = pathsOf({ format: "json", config: { junk, scope: junk } });
  assert.deepEqual(paths.sort(), ["config.junk", "config.scope"]);
  let nested: unknown = [];
  for (let i = 0; i < 10_000; i++) nested = [nested];
  assert.deepEqual(pathsOf(filtered({ tiers: nested })), ["config.filters.tiers.0"]);
});

Deno.test("parseExportRequest() refuses huge and NaN-ish numbers and strings", () => {
  assert.deepEqual(
    pathsOf(JSON.parse(
      '{"format":"json","config":{"scope":"filtered",' +
        '"filters":{"qualityMin":1e400,"qualityMax":-1e400}}}',
    )),
    [
      "config.filters.qualityMin",
      "config.filters.qualityMax",
    ],
  );
  assert.deepEqual(pathsOf(filtered({ qualityMin: "NaN", qualityMax: "1e1" })), [
    "config.filters.qualityMin",
    "config.filters.qualityMax",
  ]);
});

Deno.test("parseExportRequest() quotes long offending values cut short", () => {
  const issues = issuesOf({ format: "x".repeat(100_000) });
  assert.ok(issues[0].message.length < 300);
});

// ---------------------------------------------------------------------------------------------
// canonicalConfigKey

Deno.test("canonicalConfigKey() ignores key order", () => {
  const { format, config } = parseExportRequest(filtered({ search: "a", tiers: ["scenario"] }));
  const reordered = JSON.parse(
    JSON.stringify(Object.fromEntries(Object.entries(config).reverse())),
  ) as ExportConfig;
  assert.ok(reordered.filters);
  reordered.filters = Object.fromEntries(
    Object.entries(reordered.filters).reverse(),
  ) as ExportConfig["filters"];
  assert.notEqual(JSON.stringify(reordered), JSON.stringify(config));
  assert.equal(canonicalConfigKey(format, reordered), canonicalConfigKey(format, config));
});

Deno.test("canonicalConfigKey() is equal for requests that normalize alike", () => {
  const a = parseExportRequest({ format: "jsonl" });
  const b = parseExportRequest({
    format: "jsonl",
    config: { scope: "all", template: "openai", includeApprovalHistory: false },
  });
  assert.equal(canonicalConfigKey(a.format, a.config), canonicalConfigKey(b.format, b.config));
  const c = parseExportRequest(filtered({}));
  const d = parseExportRequest(filtered({ statuses: ["approved"] }));
  assert.equal(canonicalConfigKey(c.format, c.config), canonicalConfigKey(d.format, d.config));
  const e = parseExportRequest({
    format: "json",
    config: { scope: "selected", conversationIds: [ID_A, ID_B.toUpperCase(), ID_A] },
  });
  const f = parseExportRequest({
    format: "json",
    config: { scope: "selected", conversationIds: [ID_A, ID_B] },
  });
  assert.equal(canonicalConfigKey(e.format, e.config), canonicalConfigKey(f.format, f.config));
});

Deno.test("canonicalConfigKey() differs when the format or any setting differs", () => {
  const keys = [
    parseExportRequest({ format: "json" }),
    parseExportRequest({ format: "markdown" }),
    parseExportRequest({ format: "json", config: { includeMetadata: false } }),
    parseExportRequest({ format: "jsonl", config: { template: "alpaca" } }),
    parseExportRequest({ format: "jsonl" }),
    parseExportRequest(filtered({ statuses: ["approved", "draft"] })),
    parseExportRequest(filtered({ statuses: ["draft", "approved"] })),
  ].map(({ format, config }) => canonicalConfigKey(format, config));
  assert.equal(new Set(keys).size, keys.length);
});

Deno.test("canonicalConfigKey() is JSON with sorted keys", () => {
  const { format, config } = parseExportRequest({ format: "csv" });
  const key = canonicalConfigKey(format, config);
  assert.deepEqual(JSON.parse(key), { format, config });
  assert.equal(
    key,
    '{"config":{"csvFormulaEscape":true,"format":"csv","includeApprovalHistory":false,' +
      '"includeFullContent":true,"includeMetadata":true,"includeParentReferences":false,' +
      '"includeQualityScores":true,"includeTimestamps":true,"scope":"all"},"format":"csv"}',
  );
});

// ---------------------------------------------------------------------------------------------
// parseTimestamp

Deno.test("parseTimestamp() converts offsets to UTC across day, month and year boundaries", () => {
  const cases: [string, string][] = [
    ["2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000000Z"],
    ["2025-12-31T23:30:00-01:30", "2026-01-01T01:00:00.000000Z"],
    ["2024-02-28T23:00:00-02:00", "2024-02-29T01:00:00.000000Z"],
    ["2026-07-04T12:34Z", "2026-07-04T12:34:00.000000Z"],
    ["2026-07-04T12:34:56.7+0530", "2026-07-04T07:04:56.700000Z"],
    ["2026-07-04T12:34:56.123456-03", "2026-07-04T15:34:56.123456Z"],
    ["9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"],
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"],
  ];
  for (const [input, expected] of cases) {
    assert.deepEqual(parseTimestamp(input), { ok: true, value: expected }, input);
  }
});

Deno.test("parseTimestamp() agrees with Date.parse on the instant", () => {
  for (const input of ["2026-03-29T01:59:59.999+02:00", "1999-12-31T23:59:59-12:00"]) {
    const result = parseTimestamp(input);
    assert.ok(result.ok);
    assert.equal(Date.parse(result.value), Date.parse(input));
  }
});

// ---------------------------------------------------------------------------------------------
// Helpers

function uuidFrom(n: number): string {
  const hex = n.toString(16).padStart(12, "0");
  return `00000000-0000-4000-8000-${hex}`;
}
