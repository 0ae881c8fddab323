/** What a list of exports may be asked for: the statuses to filter by and the page bounds. */

/** The statuses an export goes through, as `export_logs.status` allows. */
export const EXPORT_STATUSES = ["queued", "processing", "completed", "failed", "expired"] as const;

/** The status of an export. */
export type ExportStatus = typeof EXPORT_STATUSES[number];

/** Largest `page` accepted; far beyond any real listing, it keeps the SQL offset small. */
export const MAX_PAGE = 1_000_000;
/** Largest `limit` accepted. */
export const MAX_LIMIT = 100;
/** `limit` when the query gives none. */
export const DEFAULT_LIMIT = 25;
