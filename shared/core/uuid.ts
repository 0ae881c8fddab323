/**
 * The one definition of a UUID's text form, for every check of an id: export ids in paths, a
 * token's `sub`, conversation ids in a config, and the ids a COPY statement carries inline.
 */

/** A UUID in its canonical 8-4-4-4-12 hexadecimal form, any version, either case. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID as Postgres prints it: lowercase only (what responses carry, and SQL built inline). */
export const LOWERCASE_UUID_PATTERN = new RegExp(UUID_PATTERN.source);

/** True for a syntactically valid UUID (any version, either case). */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
