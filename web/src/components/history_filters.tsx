/**
 * The History page's filters: status, format and the requested-date range. The form keeps what
 * is typed until it is applied; applying puts it in the URL (a new history entry).
 */
import { useEffect, useState } from "preact/hooks";
import type { ExportFormat, ExportStatus } from "../../../client/exports_client.ts";
import type { HistoryView } from "../url_state.ts";
import { EXPORT_STATUS_LABELS, FORMAT_LABELS, keysOf } from "../vocabulary.ts";
import { describedBy, FieldErrors } from "./field_errors.tsx";

type Draft = Pick<HistoryView, "status" | "format" | "from" | "to">;

interface HistoryFiltersProps {
  view: HistoryView;
  /** The API's messages by query parameter (`from`, `to`, …). */
  issues: Map<string, string[]>;
  onApply(draft: Draft): void;
}

/** The filter form of the History page. */
export function HistoryFilters({ view, issues, onApply }: HistoryFiltersProps) {
  const [draft, setDraft] = useState<Draft>(draftOf(view));
  const applied = JSON.stringify(draftOf(view));
  // Back/forward (or a link) changed the applied filters: the form shows them.
  useEffect(() => setDraft(draftOf(view)), [applied]);

  function submit(event: Event): void {
    event.preventDefault();
    onApply(draft);
  }

  return (
    <form class="filters" role="search" aria-label="Filter exports" onSubmit={submit} noValidate>
      <div class="field">
        <label for="history-status">Status</label>
        <select
          id="history-status"
          value={draft.status ?? ""}
          aria-describedby={describedBy("history-status", { errors: issues.get("status") })}
          onChange={(event) =>
            setDraft({
              ...draft,
              status: (event.currentTarget.value || undefined) as ExportStatus | undefined,
            })}
        >
          <option value="">Any status</option>
          {keysOf(EXPORT_STATUS_LABELS).map((status) => (
            <option key={status} value={status}>{EXPORT_STATUS_LABELS[status]}</option>
          ))}
        </select>
        <FieldErrors fieldId="history-status" errors={issues.get("status")} />
      </div>
      <div class="field">
        <label for="history-format">Format</label>
        <select
          id="history-format"
          value={draft.format ?? ""}
          aria-describedby={describedBy("history-format", { errors: issues.get("format") })}
          onChange={(event) =>
            setDraft({
              ...draft,
              format: (event.currentTarget.value || undefined) as ExportFormat | undefined,
            })}
        >
          <option value="">Any format</option>
          {keysOf(FORMAT_LABELS).map((format) => (
            <option key={format} value={format}>{FORMAT_LABELS[format]}</option>
          ))}
        </select>
        <FieldErrors fieldId="history-format" errors={issues.get("format")} />
      </div>
      {(["from", "to"] as const).map((bound) => {
        const id = `history-${bound}`;
        const errors = issues.get(bound);
        return (
          <div class="field" key={bound}>
            <label for={id}>{bound === "from" ? "Requested from" : "Requested until"}</label>
            <input
              id={id}
              type="date"
              value={draft[bound]}
              aria-invalid={errors ? true : undefined}
              aria-describedby={describedBy(id, { errors })}
              onInput={(event) => setDraft({ ...draft, [bound]: event.currentTarget.value })}
            />
            <FieldErrors fieldId={id} errors={errors} />
          </div>
        );
      })}
      <div class="filter-actions">
        <button type="submit" class="primary">Apply filters</button>
        <button
          type="button"
          onClick={() =>
            onApply({ from: "", to: "" })}
        >
          Reset filters
        </button>
      </div>
    </form>
  );
}

function draftOf(view: HistoryView): Draft {
  return { status: view.status, format: view.format, from: view.from, to: view.to };
}
