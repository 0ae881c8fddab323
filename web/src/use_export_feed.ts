/**
 * The user's export list, kept current by polling with ETags (see polling.ts), and the notices
 * for exports that finish while the app is open. One feed serves the whole app: the History page
 * shows the page its URL asks for; elsewhere the newest exports are watched.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import {
  type ExportLog,
  type ExportPage,
  ExportsNotFoundError,
  type ListedExportLog,
  type ListExportsQuery,
} from "../../client/exports_client.ts";
import { type Api, retryRequests } from "./api.ts";
import { type Poller, startPoller } from "./polling.ts";
import { useStore } from "./store.ts";
import { isRunning } from "./vocabulary.ts";

/** What the feed holds for the current query. */
export interface ExportFeed {
  /** The page for the current query, or null while it is first read. */
  page: ExportPage | null;
  /** Whether `page` is an older query's answer (or none yet) while the current one is read. */
  loading: boolean;
  /** The last poll's error, null once a poll succeeds. */
  error: unknown;
  /** Polls now (after an action that changed the list). */
  refresh(): void;
  /** Watches an export the app has just created or retried, so its end is noticed; polls now. */
  watch(log: ExportLog | ListedExportLog): void;
  /** Stops watching an export (deleted). */
  forget(exportId: string): void;
}

interface FeedState {
  key: string;
  page: ExportPage | null;
  error: unknown;
}

/**
 * Polls `query` and calls `onFinished` for each watched export that completes or fails. An
 * export is watched once seen queued or processing; when it leaves the list while the query
 * stays the same (a status filter, say), it is read once by id to learn how it ended.
 */
export function useExportFeed(
  api: Api,
  query: ListExportsQuery,
  onFinished: (log: ExportLog | ListedExportLog) => void,
): ExportFeed {
  const key = JSON.stringify(query);
  const [state, setState] = useState<FeedState>({ key: "", page: null, error: null });
  const latest = useRef({ query, key, onFinished });
  latest.current = { query, key, onFinished };
  const poller = useRef<Poller | null>(null);
  const startedKey = useRef<string | null>(null);
  const watched = useRef(new Set<string>());

  useEffect(() => {
    let etag: { key: string; value: string | null } = { key: "", value: null };
    let shown: FeedState = { key: "", page: null, error: null };
    let previousKey: string | null = null;

    async function notice(logs: readonly ListedExportLog[], sameQuery: boolean): Promise<void> {
      const listed = new Set<string>();
      for (const log of logs) {
        listed.add(log.export_id);
        const wasRunning = watched.current.has(log.export_id);
        if (isRunning(log.status)) watched.current.add(log.export_id);
        else if (wasRunning) {
          watched.current.delete(log.export_id);
          latest.current.onFinished(log);
        }
      }
      if (!sameQuery) return;
      for (const exportId of [...watched.current].filter((id) => !listed.has(id))) {
        try {
          const log = await api.getExport(exportId);
          if (!isRunning(log.status) && watched.current.delete(exportId)) {
            latest.current.onFinished(log);
          }
        } catch (error) {
          if (error instanceof ExportsNotFoundError) watched.current.delete(exportId);
        }
      }
    }

    const instance = startPoller(async () => {
      const { query, key } = latest.current;
      startedKey.current = key;
      try {
        const answer = await api.listExportsIfChanged(query, etag.key === key ? etag.value : null);
        if (answer.notModified) {
          return { changed: false, active: hasRunning(shown.page) || watched.current.size > 0 };
        }
        etag = { key, value: answer.etag };
        shown = { key, page: answer.value, error: null };
        setState(shown);
        await notice(answer.value.logs, previousKey === key);
        previousKey = key;
        return { changed: true, active: hasRunning(answer.value) || watched.current.size > 0 };
      } catch (error) {
        // An older query's rows are not this query's: only the error is shown then.
        shown = { key, page: shown.key === key ? shown.page : null, error };
        setState(shown);
        throw error;
      }
    });
    poller.current = instance;
    return () => instance.stop();
  }, [api]);

  const retries = useStore(retryRequests);
  useEffect(() => {
    // The banner's Retry reads the list at once, whatever the current wait.
    if (retries > 0) poller.current?.kick();
  }, [retries]);

  useEffect(() => {
    // A new query is read at once (the first one is read as the poller starts).
    if (startedKey.current !== null && startedKey.current !== key) poller.current?.kick();
  }, [key]);

  return {
    page: state.page,
    loading: state.key !== key || (state.page === null && state.error === null),
    error: state.key === key ? state.error : null,
    refresh: () => poller.current?.kick(),
    watch: (log) => {
      if (!isRunning(log.status)) return;
      watched.current.add(log.export_id);
      // Polling stops while nothing runs: a new running export starts it again.
      poller.current?.kick();
    },
    forget: (exportId) => watched.current.delete(exportId),
  };
}

function hasRunning(page: ExportPage | null): boolean {
  return page?.logs.some((log) => isRunning(log.status)) ?? false;
}
