/** Generators of GET /exports query strings for tests/fuzz_test.ts: keys and values repeated, encoded or not. */
import fc from "fast-check";
import { EXPORT_STATUSES } from "../../shared/http/list_query.ts";
import {
  badTimestamp,
  FORMATS,
  goodTimestamp,
  hostileKey,
  hostileNumber,
  hostileString,
  LIST_PARAMETERS,
} from "./fuzz_export_request.ts";

export type ListCase = {
  pairs: [string, string][];
  encoding: "search-params" | "component" | "raw" | "mixed";
  noise: string[];
};

export const listKey: fc.Arbitrary<string> = fc.oneof(
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

export const goodInteger = fc.oneof(
  fc.integer({ min: 1, max: 100 }).map(String),
  fc.integer({ min: 1, max: 1_000_000 }).map(String),
);
export const listValueFor: Record<string, fc.Arbitrary<string>> = {
  format: fc.constantFrom(...FORMATS),
  status: fc.constantFrom(...EXPORT_STATUSES),
  from: goodTimestamp,
  to: goodTimestamp,
  page: goodInteger,
  limit: goodInteger,
};
export const badListValue: fc.Arbitrary<string> = fc.oneof(
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
export const validPairs: fc.Arbitrary<[string, string][]> = fc
  .record(listValueFor, { requiredKeys: [] })
  .chain((query) => {
    const entries = Object.entries(query) as [string, string][];
    return fc.shuffledSubarray(entries, { minLength: entries.length });
  });

export const listCase: fc.Arbitrary<ListCase> = fc.record({
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
export function randomPairs(): fc.Arbitrary<[string, string][]> {
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
export function queryOf(c: ListCase): string {
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
export function safeEncode(encode: (s: string) => string, s: string): string {
  try {
    return encode(s);
  } catch {
    return encode(s.toWellFormed());
  }
}
