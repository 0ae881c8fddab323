/**
 * The exports API as the app calls it: the project's typed client over the signed-in user's
 * supabase-js client, with every call's outcome reported in one place, so that a lost connection
 * raises the banner (and a later success lowers it) and a refused token returns to sign-in,
 * whichever page made the call.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { ExportsClient } from "../../client/exports_client.ts";
import type { AppConfig } from "./config.ts";
import { isAbort, isAuthLoss, isConnectionLoss } from "./error_text.ts";
import { createStore } from "./store.ts";

/** The calls the app makes. */
export type Api = Pick<
  ExportsClient,
  | "createExport"
  | "getExport"
  | "listExportsIfChanged"
  | "previewExport"
  | "getUsage"
  | "deleteExport"
  | "retryExport"
>;

/** What the banner shows: the error of the last failed call when it was a connection loss. */
export const connectionLoss = createStore<unknown>(null);

/** Asked for by the banner's Retry: every view reloads what it shows. */
export const retryRequests = createStore(0);

/** Asks every view to reload (the banner's Retry). */
export function requestRetry(): void {
  retryRequests.set(retryRequests.get() + 1);
}

/** The API for the signed-in user; `onAuthLoss` runs when the API refuses their token. */
export function createApi(
  config: AppConfig,
  client: SupabaseClient,
  onAuthLoss: (error: unknown) => void,
): Api {
  const exports = new ExportsClient(client, { functionName: config.functionName });
  async function track<T>(call: Promise<T>): Promise<T> {
    try {
      const value = await call;
      connectionLoss.set(null);
      return value;
    } catch (error) {
      if (isConnectionLoss(error)) connectionLoss.set(error);
      else if (!isAbort(error)) connectionLoss.set(null);
      if (isAuthLoss(error)) onAuthLoss(error);
      throw error;
    }
  }
  return {
    createExport: (...args) => track(exports.createExport(...args)),
    getExport: (...args) => track(exports.getExport(...args)),
    listExportsIfChanged: (...args) => track(exports.listExportsIfChanged(...args)),
    previewExport: (...args) => track(exports.previewExport(...args)),
    getUsage: (...args) => track(exports.getUsage(...args)),
    deleteExport: (...args) => track(exports.deleteExport(...args)),
    retryExport: (...args) => track(exports.retryExport(...args)),
  };
}
