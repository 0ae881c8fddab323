/**
 * The export dialog: scope, format (with the JSONL layout), system prompt, include flags and CSV
 * formula escaping; a live preview of what the file will hold (debounced, from POST
 * /exports/preview); and the Export button, disabled with its reason when nothing matches, too
 * much matches or a usage limit is reached. The Idempotency-Key is made when the dialog opens,
 * so a double click or a retried request creates one export.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  type ExportFormat,
  type ExportLog,
  type ExportPreview,
  ExportsApiError,
} from "../../../client/exports_client.ts";
import type { JsonlTemplate } from "../../../shared/domain/export_config.ts";
import { type Api, retryRequests } from "../api.ts";
import { errorSentence, fieldIssues, isConnectionLoss } from "../error_text.ts";
import {
  type ExportOptions,
  exportRequest,
  INCLUDE_FLAGS,
  newIdempotencyKey,
  type ScopeChoice,
  scopeLabel,
} from "../export_options.ts";
import { countOf, formatNumber } from "../format.ts";
import { useStore } from "../store.ts";
import { refreshUsage, usageLimitReason, type UsageState } from "../usage.ts";
import { FORMAT_LABELS, keysOf, TEMPLATE_LABELS } from "../vocabulary.ts";
import { describedBy, FieldErrors } from "./field_errors.tsx";
import { Modal } from "./modal.tsx";

/** Waits this long after the last change before asking for a preview. */
const PREVIEW_DEBOUNCE_MS = 300;

/** What the dialog opens with. */
export interface DialogRequest {
  title: string;
  /** The scopes to choose from; the first is chosen at first. */
  scopes: readonly ScopeChoice[];
  options: ExportOptions;
}

interface ExportDialogProps {
  api: Api;
  request: DialogRequest;
  usage: UsageState;
  now: number;
  onClose(): void;
  onCreated(log: ExportLog): void;
}

type PreviewState =
  | { kind: "loading"; last: ExportPreview | null }
  | { kind: "ready"; preview: ExportPreview }
  | { kind: "failed"; error: unknown };

const FORMAT_HINTS: Record<ExportFormat, string> = {
  json: "One JSON document holding every conversation with its turns.",
  jsonl: "One conversation per line, in a training layout.",
  csv: "One row per turn, for spreadsheets.",
  markdown: "A readable document for people reviewing the data.",
};

const TEMPLATE_HINTS: Record<JsonlTemplate, string> = {
  openai: 'Each line is {"messages": [{"role", "content"}, …]}.',
  sharegpt: 'Each line is {"conversations": [{"from", "value"}, …]}.',
  alpaca:
    "Each line is an instruction, its output and earlier pairs; a conversation that does not end with a user → assistant pair is skipped.",
};

/** The export dialog. */
export function ExportDialog({ api, request, usage, now, onClose, onCreated }: ExportDialogProps) {
  const [options, setOptions] = useState(request.options);
  const [scopeIndex, setScopeIndex] = useState(0);
  const scope = request.scopes[scopeIndex];
  const body = useMemo(() => exportRequest(options, scope), [options, scope]);
  const bodyKey = JSON.stringify(body);
  const [preview, setPreview] = useState<PreviewState>({ kind: "loading", last: null });
  const [sendError, setSendError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const idempotencyKey = useRef(newIdempotencyKey());
  const sending = useRef(false);
  const retries = useStore(retryRequests);

  useEffect(() => {
    const controller = new AbortController();
    setPreview((state) => ({ kind: "loading", last: lastPreview(state) }));
    const timer = setTimeout(async () => {
      try {
        const value = await api.previewExport(body, { limit: 1, signal: controller.signal });
        setPreview({ kind: "ready", preview: value });
      } catch (error) {
        if (!controller.signal.aborted) setPreview({ kind: "failed", error });
      }
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [bodyKey, retries]);

  const blocked = blockedReason(preview, usage, now);
  const issues = fieldIssues(sendError ?? (preview.kind === "failed" ? preview.error : null));
  const promptErrors = issues.filter((issue) => issue.path === "config.systemPrompt")
    .map((issue) => issue.message);
  const scopeErrors = issues.filter((issue) => isScopePath(issue.path))
    .map((issue) => `${issue.path.replace(/^config\.(filters\.)?/, "")}: ${issue.message}`);
  const otherErrors = issues.filter((issue) =>
    issue.path !== "config.systemPrompt" && !isScopePath(issue.path)
  );

  function change<K extends keyof ExportOptions>(name: K, value: ExportOptions[K]): void {
    setOptions((current) => ({ ...current, [name]: value }));
    setSendError(null);
  }

  async function send(event: Event): Promise<void> {
    event.preventDefault();
    if (sending.current || blocked !== null) return;
    sending.current = true;
    setBusy(true);
    setSendError(null);
    try {
      const log = await api.createExport(body, { idempotencyKey: idempotencyKey.current });
      onCreated(log);
      return;
    } catch (error) {
      // The key went with other options: a new one lets these options be requested.
      if (error instanceof ExportsApiError && error.code === "idempotency_key_reused") {
        idempotencyKey.current = newIdempotencyKey();
      }
      if (error instanceof ExportsApiError && error.code === "too_many_exports") {
        void refreshUsage(api);
      }
      setSendError(error);
    } finally {
      sending.current = false;
    }
    setBusy(false);
  }

  const sample = preview.kind === "ready" ? preview.preview : lastPreview(preview);
  return (
    <Modal labelledBy="export-title" onClose={onClose}>
      <form class="export-form" onSubmit={send} noValidate>
        <h2 id="export-title">{request.title}</h2>

        <fieldset>
          <legend>Scope</legend>
          {request.scopes.map((choice, index) => (
            <label class="choice" key={choice.kind}>
              <input
                type="radio"
                name="export-scope"
                checked={index === scopeIndex}
                onChange={() => {
                  setScopeIndex(index);
                  setSendError(null);
                }}
                data-autofocus={index === scopeIndex ? "" : undefined}
              />
              <span>{scopeLabel(choice)}</span>
            </label>
          ))}
          <FieldErrors fieldId="export-scope" errors={scopeErrors} />
        </fieldset>

        <div class="field">
          <label for="export-format">Format</label>
          <select
            id="export-format"
            value={options.format}
            aria-describedby="export-format-hint"
            onChange={(event) => change("format", event.currentTarget.value as ExportFormat)}
          >
            {keysOf(FORMAT_LABELS).map((format) => (
              <option key={format} value={format}>{FORMAT_LABELS[format]}</option>
            ))}
          </select>
          <p class="hint" id="export-format-hint">{FORMAT_HINTS[options.format]}</p>
        </div>

        {options.format === "jsonl" && (
          <div class="field">
            <label for="export-template">Training layout</label>
            <select
              id="export-template"
              value={options.template}
              aria-describedby="export-template-hint"
              onChange={(event) => change("template", event.currentTarget.value as JsonlTemplate)}
            >
              {keysOf(TEMPLATE_LABELS).map((template) => (
                <option key={template} value={template}>{TEMPLATE_LABELS[template]}</option>
              ))}
            </select>
            <p class="hint" id="export-template-hint">{TEMPLATE_HINTS[options.template]}</p>
          </div>
        )}

        <div class="field">
          <label for="export-system-prompt">System prompt (optional)</label>
          <textarea
            id="export-system-prompt"
            rows={3}
            value={options.systemPrompt}
            aria-invalid={promptErrors.length > 0 || undefined}
            aria-describedby={describedBy("export-system-prompt", {
              hint: true,
              errors: promptErrors,
            })}
            onInput={(event) => change("systemPrompt", event.currentTarget.value)}
          />
          <p class="hint" id="export-system-prompt-hint">
            Becomes the first turn of every conversation, replacing its own system turns.
          </p>
          <FieldErrors fieldId="export-system-prompt" errors={promptErrors} />
        </div>

        <fieldset>
          <legend>Include</legend>
          {INCLUDE_FLAGS.map(({ flag, label, hint }) => (
            <div class="check" key={flag}>
              <input
                type="checkbox"
                id={`export-${flag}`}
                checked={options[flag]}
                aria-describedby={`export-${flag}-hint`}
                onChange={(event) => change(flag, event.currentTarget.checked)}
              />
              <label for={`export-${flag}`}>{label}</label>
              <p class="hint" id={`export-${flag}-hint`}>{hint}</p>
            </div>
          ))}
          {options.format === "csv" && (
            <div class="check">
              <input
                type="checkbox"
                id="export-csv-escape"
                checked={options.csvFormulaEscape}
                aria-describedby="export-csv-escape-hint"
                onChange={(event) => change("csvFormulaEscape", event.currentTarget.checked)}
              />
              <label for="export-csv-escape">Escape formulas</label>
              <p class="hint" id="export-csv-escape-hint">
                Puts ' before cells starting with =, +, -, @, tab or CR, so spreadsheets show them
                instead of running them.
              </p>
            </div>
          )}
        </fieldset>

        <section class="preview" aria-labelledby="export-preview-title">
          <h3 id="export-preview-title">Preview</h3>
          <p role="status">{previewStatus(preview)}</p>
          {sample !== null && sample.sample.text !== "" && (
            <>
              <p class="hint">
                The first{" "}
                {countOf(sample.sample.records, "record")}, exactly as the file will hold them:
              </p>
              <div class="sample" role="region" aria-label="Sample of the file" tabIndex={0}>
                <pre>{sample.sample.text}</pre>
              </div>
            </>
          )}
          {sample !== null && options.format === "jsonl" && options.template === "alpaca" && (
            <p class="hint">
              Alpaca skips conversations that do not end with a user → assistant pair:{" "}
              {formatNumber(sample.sample.skipped)} of the first{" "}
              {formatNumber(sample.sample.records + sample.sample.skipped)} would be skipped.
            </p>
          )}
        </section>

        {otherErrors.length > 0 && (
          <ul class="field-error">
            {otherErrors.map((issue) => (
              <li key={issue.path}>{issue.path || "request"}: {issue.message}</li>
            ))}
          </ul>
        )}
        {sendError !== null && <p class="error" role="alert">{errorSentence(sendError)}</p>}
        {blocked && <p class="blocked" id="export-blocked">{blocked}</p>}

        <div class="dialog-actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button
            type="submit"
            class="primary"
            disabled={busy || blocked !== null}
            aria-describedby={blocked ? "export-blocked" : undefined}
          >
            {busy ? "Requesting…" : "Export"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function lastPreview(state: PreviewState): ExportPreview | null {
  if (state.kind === "ready") return state.preview;
  return state.kind === "loading" ? state.last : null;
}

function isScopePath(path: string): boolean {
  return /^config\.(scope|conversationIds|filters)(\.|$)/.test(path);
}

function previewStatus(state: PreviewState): string {
  if (state.kind === "loading") {
    return state.last === null ? "Loading the preview…" : "Updating the preview…";
  }
  if (state.kind === "failed") return `The preview failed. ${errorSentence(state.error)}`;
  const { conversation_count: count, max_conversations: max } = state.preview;
  if (count === 0) return "No conversations match this scope.";
  if (count > max) {
    return `${formatNumber(count)} conversations match; one export may hold at most ${
      formatNumber(max)
    }.`;
  }
  return `This export will hold ${countOf(count, "conversation")}.`;
}

/** Why Export is disabled now, or null. */
function blockedReason(preview: PreviewState, usage: UsageState, now: number): string | null {
  if (preview.kind === "loading") return "Checking what the export will hold…";
  if (preview.kind === "failed") {
    return isConnectionLoss(preview.error)
      ? "The export can be requested once the API answers again."
      : "The export cannot be requested until the problem above is fixed.";
  }
  const { conversation_count: count, max_conversations: max } = preview.preview;
  if (count === 0) return "No conversations match this scope, so there is nothing to export.";
  if (count > max) {
    return `${formatNumber(count)} conversations match, more than the ${
      formatNumber(max)
    } one export may hold. Narrow the scope.`;
  }
  return usage.value === null ? null : usageLimitReason(usage.value, now);
}
