/**
 * The conversations the user ticked. Kept apart from the page and filters, so it survives paging
 * and filtering, and in sessionStorage, so it survives a reload of the tab.
 */
import { createStore } from "./store.ts";

const KEY = "lora-exports.selection";

/** The selected conversation ids. */
export const selection = createStore<ReadonlySet<string>>(load());

/** Adds the ids to the selection (`on`) or removes them. */
export function select(ids: readonly string[], on: boolean): void {
  const next = new Set(selection.get());
  for (const id of ids) {
    if (on) next.add(id);
    else next.delete(id);
  }
  save(next);
}

/** Empties the selection. */
export function clearSelection(): void {
  save(new Set());
}

function save(ids: Set<string>): void {
  if (ids.size === 0) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, JSON.stringify([...ids]));
  selection.set(ids);
}

function load(): Set<string> {
  try {
    const stored: unknown = JSON.parse(sessionStorage.getItem(KEY) ?? "[]");
    return new Set(Array.isArray(stored) ? stored.filter((id) => typeof id === "string") : []);
  } catch {
    return new Set();
  }
}
