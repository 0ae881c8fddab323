/**
 * The History page: the user's exports, newest first, filtered and paged by the URL, live while
 * any runs (the app's export feed polls), with Download, Delete, Retry and Export again.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { ExportsNotFoundError, type ListedExportLog } from "../../../client/exports_client.ts";
import type { Api } from "../api.ts";
import { ConfirmDialog } from "../components/confirm_dialog.tsx";
import { ExportRow, type RowActions } from "../components/export_row.tsx";
import { HistoryFilters } from "../components/history_filters.tsx";
import { Pager } from "../components/pager.tsx";
import { downloadExport } from "../download.ts";
import { errorSentence, fieldIssues, issuesUnder } from "../error_text.ts";
import { configFormatLabel, countOf, scopeSummary } from "../format.ts";
import { navigate } from "../router.ts";
import type { ExportFeed } from "../use_export_feed.ts";
import { useNow } from "../use_now.ts";
import { type HistoryView, writeHistoryView } from "../url_state.ts";
import { isRunning } from "../vocabulary.ts";

interface HistoryPageProps {
  api: Api;
  view: HistoryView;
  feed: ExportFeed;
  /** Opens the export dialog with this export's format and config; throws when it cannot. */
  onExportAgain(exportId: string): Promise<void>;
}

interface RowState {
  busy: boolean;
  error: string | null;
}

interface Deleting {
  log: ListedExportLog;
  busy: boolean;
  error: string | null;
}

/** The History page. */
export function HistoryPage({ api, view, feed, onExportAgain }: HistoryPageProps) {
  const now = useNow(1000);
  const [rows, setRows] = useState<Record<string, RowState>>({});
  const [deleting, setDeleting] = useState<Deleting | null>(null);
  const focusedHighlight = useRef<string | null>(null);
  const { page, loading, error } = feed;
  const issues = issuesUnder(fieldIssues(error), "");
  const filtered = view.status !== undefined || view.format !== undefined || view.from !== "" ||
    view.to !== "";

  useEffect(() => {
    // The export just created is brought into view and focused, once.
    const id = view.highlight;
    if (!id || focusedHighlight.current === id) return;
    const row = document.querySelector<HTMLElement>(`tr[data-export-id="${CSS.escape(id)}"]`);
    if (row === null) return;
    focusedHighlight.current = id;
    row.scrollIntoView({ block: "nearest" });
    row.focus();
  }, [page, view.highlight]);

  async function run(exportId: string, action: () => Promise<void>): Promise<void> {
    setRows((state) => ({ ...state, [exportId]: { busy: true, error: null } }));
    try {
      await action();
      setRows((state) => ({ ...state, [exportId]: { busy: false, error: null } }));
    } catch (failure) {
      setRows((state) => ({
        ...state,
        [exportId]: { busy: false, error: errorSentence(failure) },
      }));
    }
  }

  const actions: RowActions = {
    download: (exportId) => run(exportId, () => downloadExport(api, exportId)),
    retry: (exportId) =>
      run(exportId, async () => {
        feed.watch(await api.retryExport(exportId));
      }),
    exportAgain: (exportId) => run(exportId, () => onExportAgain(exportId)),
    remove: (log) => setDeleting({ log, busy: false, error: null }),
  };

  async function confirmDelete(): Promise<void> {
    if (deleting === null || deleting.busy) return;
    const { log } = deleting;
    setDeleting({ log, busy: true, error: null });
    try {
      await api.deleteExport(log.export_id);
    } catch (failure) {
      // Already gone is what was asked for.
      if (!(failure instanceof ExportsNotFoundError)) {
        setDeleting({ log, busy: false, error: errorSentence(failure) });
        return;
      }
    }
    feed.forget(log.export_id);
    setDeleting(null);
    feed.refresh();
  }

  function go(next: Partial<HistoryView>): void {
    navigate(writeHistoryView({ ...view, highlight: undefined, ...next }));
  }

  return (
    <>
      <h1 id="page-title" tabIndex={-1}>Export history</h1>
      <HistoryFilters
        view={view}
        issues={issues}
        onApply={(draft) => go({ status: undefined, format: undefined, ...draft, page: 1 })}
      />
      <p class="list-count" role="status">
        {loading ? "Loading exports…" : page ? countOf(page.total, "export") : ""}
      </p>
      {error !== null && (
        <div class="error" role="alert">
          <p>The exports could not be loaded. {errorSentence(error)}</p>
          {issues.has("page") || issues.has("limit")
            ? <button type="button" onClick={() => go({ page: 1 })}>Go to the first page</button>
            : <button type="button" onClick={feed.refresh}>Try again</button>}
        </div>
      )}
      {page !== null && !loading && page.logs.length === 0 && (
        <EmptyHistory
          filtered={filtered}
          pageNumber={view.page}
          onFirstPage={() => go({ page: 1 })}
        />
      )}
      {page !== null && page.logs.length > 0 && (
        <table class="list-table history-table" aria-labelledby="page-title">
          <thead>
            <tr>
              <th scope="col">Export</th>
              <th scope="col">Conversations</th>
              <th scope="col">Status</th>
              <th scope="col">Size</th>
              <th scope="col">Requested</th>
              <th scope="col">Expires</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {page.logs.map((log) => (
              <ExportRow
                key={log.export_id}
                log={log}
                now={now}
                highlighted={log.export_id === view.highlight}
                busy={rows[log.export_id]?.busy ?? false}
                error={rows[log.export_id]?.error ?? null}
                actions={actions}
              />
            ))}
          </tbody>
        </table>
      )}
      {page !== null && page.total > 0 && (
        <Pager
          label="Pages of exports"
          page={view.page}
          limit={view.limit}
          total={page.total}
          onPage={(number) => go({ page: number })}
          onLimit={(limit) => go({ limit, page: 1 })}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete this export?"
          confirmLabel="Delete"
          busyLabel="Deleting…"
          busy={deleting.busy}
          error={deleting.error}
          onConfirm={confirmDelete}
          onCancel={() => setDeleting(null)}
        >
          <p>
            The {configFormatLabel(deleting.log.config)} export of{" "}
            {scopeSummary(deleting.log.config)} and its file will be deleted. This cannot be undone.
          </p>
          {isRunning(deleting.log.status) && <p>It is still running; it will be stopped.</p>}
        </ConfirmDialog>
      )}
    </>
  );
}

function EmptyHistory(
  { filtered, pageNumber, onFirstPage }: {
    filtered: boolean;
    pageNumber: number;
    onFirstPage(): void;
  },
) {
  if (pageNumber > 1) {
    return (
      <div class="empty">
        <p>This page is empty.</p>
        <button type="button" onClick={onFirstPage}>Go to the first page</button>
      </div>
    );
  }
  if (filtered) return <p class="empty">No exports match these filters.</p>;
  return (
    <p class="empty">
      No exports yet. Choose what to export on the Conversations page, from the navigation above.
    </p>
  );
}
