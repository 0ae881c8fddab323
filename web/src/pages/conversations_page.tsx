/**
 * The Conversations page: the conversations an export of the current filters would hold (POST
 * /exports/preview gives the exact count and one page of them), a selection that survives
 * paging and filtering, and Export… to open the export dialog.
 */
import { useEffect, useState } from "preact/hooks";
import type {
  ExportPreview,
  ExportRequest,
  PreviewConversation,
} from "../../../client/exports_client.ts";
import { type Api, retryRequests } from "../api.ts";
import { ConversationFiltersForm } from "../components/conversation_filters.tsx";
import { Pager } from "../components/pager.tsx";
import { RelativeTime } from "../components/relative_time.tsx";
import { errorSentence, fieldIssues, issuesUnder } from "../error_text.ts";
import type { ScopeChoice } from "../export_options.ts";
import { countOf, formatNumber } from "../format.ts";
import { navigate } from "../router.ts";
import { clearSelection, select, selection } from "../selection.ts";
import { useStore } from "../store.ts";
import { useNow } from "../use_now.ts";
import { type ConversationsView, filtersInput, writeConversationsView } from "../url_state.ts";
import { STATUS_LABELS, TIER_LABELS } from "../vocabulary.ts";

interface ConversationsPageProps {
  api: Api;
  view: ConversationsView;
  /** Opens the export dialog with these scopes to choose from (the first chosen at first). */
  onExport(scopes: ScopeChoice[]): void;
}

interface Loaded {
  key: string;
  data: ExportPreview | null;
  error: unknown;
}

/** The Conversations page. */
export function ConversationsPage({ api, view, onExport }: ConversationsPageProps) {
  const selected = useStore(selection);
  const retries = useStore(retryRequests);
  const now = useNow(30_000);
  const filters = filtersInput(view.filters);
  const body: ExportRequest = {
    format: "json",
    config: filters ? { scope: "filtered", filters } : { scope: "all" },
  };
  const key = JSON.stringify([body, view.page, view.limit]);
  const [loaded, setLoaded] = useState<Loaded>({ key: "", data: null, error: null });

  useEffect(() => {
    const controller = new AbortController();
    api.previewExport(body, { page: view.page, limit: view.limit, signal: controller.signal })
      .then((data) => setLoaded({ key, data, error: null }))
      .catch((error) => {
        if (!controller.signal.aborted) setLoaded({ key, data: null, error });
      });
    return () => controller.abort();
  }, [key, retries]);

  const loading = loaded.key !== key;
  // While the next answer comes, the rows shown stay (marked busy) instead of flashing away.
  const data = loaded.data;
  const issues = fieldIssues(loading ? null : loaded.error);
  const filterIssues = issuesUnder(issues, "config.filters.");
  const pagingIssue = issues.some((issue) => issue.path === "page" || issue.path === "limit");
  const pageIds = data?.conversations.map((conversation) => conversation.id) ?? [];

  function go(next: Partial<ConversationsView>): void {
    navigate(writeConversationsView({ ...view, ...next }));
  }

  function exportScopes(): ScopeChoice[] {
    const scopes: ScopeChoice[] = [];
    if (selected.size > 0) scopes.push({ kind: "selected", ids: [...selected] });
    if (filters) scopes.push({ kind: "filtered", filters });
    scopes.push({ kind: "all" });
    return scopes;
  }

  return (
    <>
      <h1 id="page-title" tabIndex={-1}>Conversations</h1>
      <ConversationFiltersForm
        applied={view.filters}
        issues={filterIssues}
        onApply={(next) => go({ filters: next, page: 1 })}
      />
      <div class="list-head">
        <p class="list-count" role="status">
          {data === null
            ? (loading ? "Loading conversations…" : "")
            : `${countOf(data.conversation_count, "conversation")} ${
              data.conversation_count === 1 ? "matches" : "match"
            } · ${formatNumber(selected.size)} selected`}
        </p>
        <div class="toolbar">
          <button
            type="button"
            disabled={pageIds.length === 0}
            onClick={() => select(pageIds, true)}
          >
            Select page
          </button>
          <button type="button" disabled={selected.size === 0} onClick={clearSelection}>
            Clear selection
          </button>
          <button type="button" class="primary" onClick={() => onExport(exportScopes())}>
            Export…
          </button>
        </div>
      </div>
      {!loading && loaded.error !== null && (
        <div class="error" role="alert">
          <p>
            {filterIssues.size > 0
              ? "Fix the marked filters to see the matching conversations."
              : `The conversations could not be loaded. ${errorSentence(loaded.error)}`}
          </p>
          {pagingIssue && (
            <button type="button" onClick={() => go({ page: 1 })}>Go to the first page</button>
          )}
        </div>
      )}
      {data !== null && data.conversations.length === 0 && (
        data.conversation_count > 0
          ? (
            <div class="empty">
              <p>This page is empty.</p>
              <button type="button" onClick={() => go({ page: 1 })}>Go to the first page</button>
            </div>
          )
          : <p class="empty">No conversations match these filters.</p>
      )}
      {data !== null && data.conversations.length > 0 && (
        <table
          class="list-table conversations-table"
          aria-labelledby="page-title"
          aria-busy={loading || undefined}
        >
          <thead>
            <tr>
              <th scope="col">Select</th>
              <th scope="col">Title</th>
              <th scope="col">Tier</th>
              <th scope="col">Status</th>
              <th scope="col">Quality</th>
              <th scope="col">Turns</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {data.conversations.map((conversation) => (
              <ConversationRow
                key={conversation.id}
                conversation={conversation}
                checked={selected.has(conversation.id)}
                now={now}
              />
            ))}
          </tbody>
        </table>
      )}
      {data !== null && data.conversation_count > 0 && (
        <Pager
          label="Pages of conversations"
          page={view.page}
          limit={view.limit}
          total={data.conversation_count}
          onPage={(page) => go({ page })}
          onLimit={(limit) => go({ limit, page: 1 })}
        />
      )}
    </>
  );
}

function ConversationRow(
  { conversation, checked, now }: {
    conversation: PreviewConversation;
    checked: boolean;
    now: number;
  },
) {
  const title = conversation.title ?? "Untitled";
  return (
    <tr data-conversation-id={conversation.id} class={checked ? "selected" : undefined}>
      <td data-label="Select">
        <input
          type="checkbox"
          aria-label={`Select ${title}`}
          checked={checked}
          onChange={(event) => select([conversation.id], event.currentTarget.checked)}
        />
      </td>
      <th
        scope="row"
        data-label="Title"
        class={conversation.title === null ? "untitled" : undefined}
      >
        {title}
      </th>
      <td data-label="Tier">{TIER_LABELS[conversation.tier]}</td>
      <td data-label="Status">{STATUS_LABELS[conversation.status]}</td>
      <td data-label="Quality">
        {conversation.quality_score === null ? "—" : conversation.quality_score.toFixed(1)}
      </td>
      <td data-label="Turns">{formatNumber(conversation.turn_count)}</td>
      <td data-label="Updated">
        <RelativeTime iso={conversation.updated_at} now={now} />
      </td>
    </tr>
  );
}
