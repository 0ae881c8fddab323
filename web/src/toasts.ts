/** Notices of exports that finished while the app was open (completed or failed). */
import type { ExportLog, ListedExportLog } from "../../client/exports_client.ts";
import { createStore } from "./store.ts";

/** One notice: the export as it finished. */
export interface Toast {
  id: number;
  log: ExportLog | ListedExportLog;
}

/** How many notices stay on screen; older ones make room for new ones. */
const MAX_TOASTS = 4;

/** The notices on screen, oldest first. */
export const toasts = createStore<readonly Toast[]>([]);

let nextId = 1;

/** Shows a notice for an export that has just completed or failed. */
export function notifyFinished(log: ExportLog | ListedExportLog): void {
  const kept = toasts.get().filter((toast) => toast.log.export_id !== log.export_id);
  toasts.set([...kept, { id: nextId++, log }].slice(-MAX_TOASTS));
}

/** Removes a notice. */
export function dismissToast(id: number): void {
  toasts.set(toasts.get().filter((toast) => toast.id !== id));
}

/** Removes every notice (at sign-out). */
export function clearToasts(): void {
  toasts.set([]);
}
