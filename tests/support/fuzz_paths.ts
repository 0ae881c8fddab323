/** Generators of paths under /exports for tests/fuzz_test.ts: the `{export_id}` segment and what follows it. */
import fc from "fast-check";
import { hostileString } from "./fuzz_export_request.ts";
import { safeEncode } from "./fuzz_list_query.ts";

export type PathCase = { method: string; segments: string[]; query: string };

export const pathSegment: fc.Arbitrary<string> = fc.oneof(
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

export const pathCase: fc.Arbitrary<PathCase> = fc.record({
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
