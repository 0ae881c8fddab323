/**
 * The signed-in app: header with navigation and usage, the connection banner, the page the URL
 * names, the notices, and the export dialog (opened from either page). It owns the export feed,
 * so exports finishing while the user is on any page are noticed.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { ExportLog, ListExportsQuery } from "../../../client/exports_client.ts";
import { type Api, retryRequests } from "../api.ts";
import {
  DEFAULT_OPTIONS,
  optionsOfConfig,
  type ScopeChoice,
  scopeOfConfig,
} from "../export_options.ts";
import { ConversationsPage } from "../pages/conversations_page.tsx";
import { HistoryPage } from "../pages/history_page.tsx";
import { hrefOf, isModifiedClick, navigate, useRoute, type View } from "../router.ts";
import { useStore } from "../store.ts";
import { notifyFinished } from "../toasts.ts";
import { refreshUsage, usage } from "../usage.ts";
import { useExportFeed } from "../use_export_feed.ts";
import { useNow } from "../use_now.ts";
import {
  DEFAULT_PAGE_SIZE,
  EMPTY_FILTERS,
  historyListQuery,
  readConversationsView,
  readHistoryView,
  writeConversationsView,
  writeHistoryView,
} from "../url_state.ts";
import { ConnectionBanner } from "./connection_banner.tsx";
import { type DialogRequest, ExportDialog } from "./export_dialog.tsx";
import { Toasts } from "./toasts.tsx";
import { UsageBar } from "./usage_bar.tsx";

/** The History page without filters. */
const FIRST_HISTORY_PAGE = { from: "", to: "", page: 1, limit: DEFAULT_PAGE_SIZE };

/** Off the History page, the newest exports are watched for notices. */
const NEWEST_EXPORTS: ListExportsQuery = { page: 1, limit: DEFAULT_PAGE_SIZE };

interface AppProps {
  api: Api;
  /** Who is signed in (an email or a user id). */
  who: string;
  onSignOut(): void;
}

/** The app for a signed-in user. */
export function App({ api, who, onSignOut }: AppProps) {
  const route = useRoute();
  const usageState = useStore(usage);
  const retries = useStore(retryRequests);
  const now = useNow(15_000);
  const [dialog, setDialog] = useState<DialogRequest | null>(null);
  const historyView = route.view === "history" ? readHistoryView(route.params) : null;
  const feed = useExportFeed(
    api,
    historyView ? historyListQuery(historyView) : NEWEST_EXPORTS,
    notifyFinished,
  );

  // The usage figures change as exports start, finish or go: read them again then (progress
  // alone changes nothing there).
  const listed = feed.page &&
    `${feed.page.total}|${feed.page.logs.map((log) => `${log.export_id}:${log.status}`)}`;
  const lastListed = useRef(listed);
  useEffect(() => void refreshUsage(api), [api, retries]);
  useEffect(() => {
    const previous = lastListed.current;
    lastListed.current = listed;
    if (previous !== null && listed !== null && previous !== listed) void refreshUsage(api);
  }, [listed]);

  const nextSlot = usageState.value?.daily.next_slot_at;
  useEffect(() => {
    // At the daily limit, the figures are read again when the next slot frees up.
    if (!nextSlot) return;
    const wait = Math.max(0, Date.parse(nextSlot) - Date.now()) + 1000;
    const timer = setTimeout(() => void refreshUsage(api), wait);
    return () => clearTimeout(timer);
  }, [api, nextSlot]);

  useEffect(() => {
    document.title = `${
      route.view === "history" ? "Export history" : "Conversations"
    } · LoRA exports`;
  }, [route.view]);

  const shownView = useRef(route.view);
  useEffect(() => {
    // Moving to the other page puts focus on its heading, so the change is announced.
    if (shownView.current === route.view) return;
    shownView.current = route.view;
    document.getElementById("page-title")?.focus({ preventScroll: true });
  }, [route.view]);

  function openDialog(request: DialogRequest): void {
    void refreshUsage(api);
    setDialog(request);
  }

  function openFromConversations(scopes: ScopeChoice[]): void {
    openDialog({ title: "Export conversations", scopes, options: DEFAULT_OPTIONS });
  }

  async function exportAgain(exportId: string): Promise<void> {
    // A listed config carries only the count of its ids; the export itself has them.
    const { config } = await api.getExport(exportId);
    openDialog({
      title: "Export again",
      scopes: [scopeOfConfig(config)],
      options: optionsOfConfig(config),
    });
  }

  function created(log: ExportLog): void {
    setDialog(null);
    feed.watch(log);
    void refreshUsage(api);
    navigate(writeHistoryView({ ...FIRST_HISTORY_PAGE, highlight: log.export_id }));
  }

  return (
    <>
      <header class="site-header">
        <div class="site-bar">
          <p class="brand">LoRA exports</p>
          <nav aria-label="Main">
            <ul>
              <NavLink view="history" current={route.view} label="Export history" />
              <NavLink view="conversations" current={route.view} label="Conversations" />
            </ul>
          </nav>
          <div class="account">
            <span class="who">Signed in as {who}</span>
            <button type="button" onClick={onSignOut}>Sign out</button>
          </div>
        </div>
        <UsageBar state={usageState} now={now} />
      </header>
      <main id="main">
        <ConnectionBanner />
        {historyView
          ? (
            <HistoryPage
              api={api}
              view={historyView}
              feed={feed}
              onExportAgain={exportAgain}
            />
          )
          : (
            <ConversationsPage
              api={api}
              view={readConversationsView(route.params)}
              onExport={openFromConversations}
            />
          )}
      </main>
      <Toasts api={api} />
      {dialog && (
        <ExportDialog
          api={api}
          request={dialog}
          usage={usageState}
          now={now}
          onClose={() => setDialog(null)}
          onCreated={created}
        />
      )}
    </>
  );
}

function NavLink({ view, current, label }: { view: View; current: View; label: string }) {
  const params = view === "history"
    ? writeHistoryView(FIRST_HISTORY_PAGE)
    : writeConversationsView({ filters: EMPTY_FILTERS, page: 1, limit: DEFAULT_PAGE_SIZE });
  return (
    <li>
      <a
        href={hrefOf(params)}
        aria-current={view === current ? "page" : undefined}
        onClick={(event) => {
          if (isModifiedClick(event)) return;
          event.preventDefault();
          navigate(params);
        }}
      >
        {label}
      </a>
    </li>
  );
}
