import assert from "node:assert/strict";
import { ValidationError } from "../../shared/core/errors.ts";
import { MAX_REPORTED_ISSUES } from "../../shared/domain/export_config.ts";
import { DEFAULT_LIMIT, parseListQuery } from "../../shared/http/list_query.ts";

function parse(query: string) {
  return parseListQuery(new URLSearchParams(query));
}

/** The issues parseListQuery throws for `query`; fails the test when it accepts the query. */
function issuesOf(query: string): { path: string; message: string }[] {
  try {
    parse(query);
  } catch (error) {
    assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${error}`);
    assert.equal(error.status, 400);
    assert.equal(error.code, "invalid_request");
    for (const issue of error.issues) {
      assert.match(issue.message, /^[A-Z]/, `sentence case: ${issue.message}`);
      assert.doesNotMatch(issue.message, /\.$/, `no final period: ${issue.message}`);
    }
    return error.issues;
  }
  assert.fail(`expected ${JSON.stringify(query)} to be refused`);
}

function pathsOf(query: string): string[] {
  return issuesOf(query).map((issue) => issue.path);
}

Deno.test("parseListQuery() defaults page 1 and limit 25 for an empty query", () => {
  assert.deepEqual(parse(""), { page: 1, limit: 25 });
  assert.equal(DEFAULT_LIMIT, 25);
});

Deno.test("parseListQuery() returns every parameter when all are valid", () => {
  const query = parse(
    "format=jsonl&status=completed&from=2026-11-01T00:00:00.123456Z" +
      "&to=2026-11-28T14:03:07.654321Z&page=3&limit=100",
  );
  assert.deepEqual(query, {
    format: "jsonl",
    status: "completed",
    from: "2026-11-01T00:00:00.123456Z",
    to: "2026-11-28T14:03:07.654321Z",
    page: 3,
    limit: 100,
  });
});

Deno.test("parseListQuery() omits absent optional parameters rather than setting undefined", () => {
  const query = parse("page=2");
  assert.deepEqual(Object.keys(query).sort(), ["limit", "page"]);
});

Deno.test("parseListQuery() accepts every format and status", () => {
  for (const format of ["json", "jsonl", "csv", "markdown"]) {
    assert.equal(parse(`format=${format}`).format, format);
  }
  for (const status of ["queued", "processing", "completed", "failed", "expired"]) {
    assert.equal(parse(`status=${status}`).status, status);
  }
});

Deno.test("parseListQuery() refuses an unknown format or status quoting it", () => {
  const issues = issuesOf("format=xml&status=done");
  assert.deepEqual(issues.map((issue) => issue.path), ["format", "status"]);
  assert.match(issues[0].message, /"xml"/);
  assert.match(issues[1].message, /"done"/);
  assert.deepEqual(pathsOf("format=JSON"), ["format"]);
  assert.deepEqual(pathsOf("status=approved"), ["status"]);
  assert.deepEqual(pathsOf("format="), ["format"]);
  assert.deepEqual(pathsOf("status"), ["status"]);
});

Deno.test("parseListQuery() refuses unknown parameters by name", () => {
  assert.deepEqual(issuesOf("foo=1"), [{ path: "foo", message: 'Unknown parameter "foo"' }]);
  assert.deepEqual(pathsOf("user_id=0b6f1c2e-3d4a-4b5c-8d6e-7f8091a2b3c4"), ["user_id"]);
  assert.deepEqual(pathsOf("Format=json"), ["Format"]);
  assert.deepEqual(pathsOf("token=abc"), ["token"]);
  assert.deepEqual(pathsOf("__proto__=1&constructor=2"), ["__proto__", "constructor"]);
  assert.equal(({} as Record<string, unknown>)["1"], undefined);
});

Deno.test("parseListQuery() reports an unknown parameter once however often it repeats", () => {
  assert.deepEqual(pathsOf("foo=1&foo=2&foo=3"), ["foo"]);
});

Deno.test("parseListQuery() refuses a repeated parameter even with equal values", () => {
  for (const name of ["format=json", "status=failed", "page=1", "limit=10"]) {
    const issues = issuesOf(`${name}&${name}`);
    assert.deepEqual(issues.map((issue) => issue.path), [name.split("=")[0]]);
    assert.match(issues[0].message, /2 times/);
  }
  assert.deepEqual(
    pathsOf("from=2026-01-01T00:00:00Z&from=2026-01-02T00:00:00Z"),
    ["from"],
  );
});

Deno.test("parseListQuery() accepts page from 1 to 1000000", () => {
  assert.equal(parse("page=1").page, 1);
  assert.equal(parse("page=42").page, 42);
  assert.equal(parse("page=1000000").page, 1_000_000);
  assert.equal(parse("page=007").page, 7);
});

Deno.test("parseListQuery() refuses a page that is not an integer from 1 to 1000000", () => {
  const bad = [
    "1.5",
    "-1",
    "0",
    "abc",
    "",
    "1000001",
    "99999999999999999999999",
    "1e3",
    "+1",
    " 1",
    "1 ",
    "0x10",
    "NaN",
    "Infinity",
    "１",
    "٣",
  ];
  for (const value of bad) {
    const issues = issuesOf(`page=${encodeURIComponent(value)}`);
    assert.deepEqual(issues.map((issue) => issue.path), ["page"], `page=${value}`);
  }
  assert.match(issuesOf("page=1.5")[0].message, /"1\.5"/);
});

Deno.test("parseListQuery() accepts limit from 1 to 100", () => {
  assert.equal(parse("limit=1").limit, 1);
  assert.equal(parse("limit=100").limit, 100);
});

Deno.test("parseListQuery() refuses limit=0, limit=1000 and other malformed limits", () => {
  for (const value of ["0", "101", "1000", "-5", "2.0", "ten", ""]) {
    assert.deepEqual(pathsOf(`limit=${value}`), ["limit"], `limit=${value}`);
  }
});

Deno.test("parseListQuery() keeps microsecond precision of from and to", () => {
  const query = parse("from=2026-11-28T14:03:07.123456Z&to=2026-11-28T14:03:07.123457Z");
  assert.equal(query.from, "2026-11-28T14:03:07.123456Z");
  assert.equal(query.to, "2026-11-28T14:03:07.123457Z");
});

Deno.test("parseListQuery() normalizes from and to to UTC with six fractional digits", () => {
  const params = new URLSearchParams();
  params.set("from", "2026-11-28T16:03:07.5+02:00");
  params.set("to", "2026-11-28T10:03:08-05:00");
  assert.deepEqual(parseListQuery(params), {
    from: "2026-11-28T14:03:07.500000Z",
    to: "2026-11-28T15:03:08.000000Z",
    page: 1,
    limit: 25,
  });
});

Deno.test("parseListQuery() reads an unencoded + in an offset as a space and refuses it", () => {
  assert.deepEqual(pathsOf("from=2026-11-28T16:03:07+02:00"), ["from"]);
  assert.equal(parse("from=2026-11-28T16:03:07%2B02:00").from, "2026-11-28T14:03:07.000000Z");
});

Deno.test("parseListQuery() refuses unparseable dates", () => {
  const bad = [
    "yesterday",
    "",
    "2026-11-28",
    "2026-11-28T14:03:07",
    "2026-02-30T00:00:00Z",
    "2026-11-28T14:03:07.1234567Z",
    "1764338587000",
    "Sat, 28 Nov 2026 14:03:07 GMT",
  ];
  for (const value of bad) {
    for (const name of ["from", "to"]) {
      const params = new URLSearchParams({ [name]: value });
      try {
        parseListQuery(params);
        assert.fail(`${name}=${value} was accepted`);
      } catch (error) {
        assert.ok(error instanceof ValidationError);
        assert.deepEqual(error.issues.map((issue) => issue.path), [name], `${name}=${value}`);
      }
    }
  }
});

Deno.test("parseListQuery() requires from to be earlier than to", () => {
  assert.deepEqual(pathsOf("from=2026-11-28T00:00:00Z&to=2026-11-27T00:00:00Z"), ["from", "to"]);
  const same = "2026-11-28T00:00:00.000001Z";
  assert.deepEqual(pathsOf(`from=${same}&to=${same}`), ["from", "to"]);
  // The same instant written two ways is still not a range
  assert.deepEqual(
    pathsOf("from=2026-11-28T02:00:00%2B02:00&to=2026-11-28T00:00:00Z"),
    ["from", "to"],
  );
  const query = parse("from=2026-11-28T00:00:00.000001Z&to=2026-11-28T00:00:00.000002Z");
  assert.equal(query.from, "2026-11-28T00:00:00.000001Z");
});

Deno.test("parseListQuery() accepts only one bound", () => {
  assert.equal(parse("from=2026-11-28T00:00:00Z").to, undefined);
  assert.equal(parse("to=2026-11-28T00:00:00Z").from, undefined);
});

Deno.test("parseListQuery() reports every bad parameter together", () => {
  const paths = pathsOf(
    "foo=1&page=0&limit=1000&status=weird&format=pdf&from=x&to=y&user_id=1&limit=2",
  );
  assert.deepEqual(paths.sort(), [
    "foo",
    "format",
    "from",
    "limit",
    "page",
    "status",
    "to",
    "user_id",
  ]);
});

Deno.test("parseListQuery() lists known parameters even after a flood of unknown ones", () => {
  const names = Array.from({ length: 500 }, (_, i) => `p${i}=1`).join("&");
  const issues = issuesOf(`${names}&limit=0`);
  assert.equal(issues.length, MAX_REPORTED_ISSUES);
  assert.equal(issues[0].path, "limit");
  assert.equal(issues.at(-1)?.path, "");
  assert.match(issues.at(-1)?.message ?? "", /^Another 402 invalid parameters are not listed$/);
});
