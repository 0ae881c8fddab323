/**
 * The SQL condition that selects an export's conversations from its scope and filters. It is
 * run as the user, so RLS still decides what is exportable; this only narrows it down.
 */
import type { ExportConfig, ExportFilters } from "./export_config.ts";
import type { Tx } from "../database/db.ts";

type Fragment = ReturnType<Tx["unsafe"]>;

/** A postgres.js fragment for `where … and <this>` over `public.conversations c`. */
export function membershipCondition(tx: Tx, config: ExportConfig): Fragment {
  if (config.scope === "selected") {
    return tx`c.id = any(${config.conversationIds ?? []}::uuid[])` as unknown as Fragment;
  }
  const filters: Partial<ExportFilters> = config.scope === "filtered" ? config.filters ?? {} : {};
  const statuses = filters.statuses ?? ["approved"];
  const parts = [tx`c.status = any(${statuses}::text[])`];
  if (filters.tiers) parts.push(tx`c.tier = any(${filters.tiers}::text[])`);
  if (filters.qualityMin !== undefined) parts.push(tx`c.quality_score >= ${filters.qualityMin}`);
  if (filters.qualityMax !== undefined) parts.push(tx`c.quality_score <= ${filters.qualityMax}`);
  if (filters.createdFrom) parts.push(tx`c.created_at >= ${filters.createdFrom}::timestamptz`);
  if (filters.createdTo) parts.push(tx`c.created_at <= ${filters.createdTo}::timestamptz`);
  if (filters.categories) parts.push(tx`c.category && ${filters.categories}::text[]`);
  if (filters.personas) parts.push(tx`c.persona = any(${filters.personas}::text[])`);
  if (filters.emotions) parts.push(tx`c.emotion = any(${filters.emotions}::text[])`);
  // A literal, case-insensitive substring: strpos has no wildcards or escapes to neutralize.
  if (filters.search) parts.push(tx`strpos(lower(c.title), lower(${filters.search})) > 0`);
  return parts.reduce((all, part) => tx`${all} and ${part}`) as unknown as Fragment;
}
