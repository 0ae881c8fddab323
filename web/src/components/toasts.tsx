/** The notices of exports that finished while the app was open, announced politely. */
import { useState } from "preact/hooks";
import type { Api } from "../api.ts";
import { downloadExport } from "../download.ts";
import { errorSentence } from "../error_text.ts";
import { configFormatLabel, countOf, scopeSummary } from "../format.ts";
import { dismissToast, type Toast, toasts } from "../toasts.ts";
import { useStore } from "../store.ts";

/** The notice area; it is always present, so screen readers announce what appears in it. */
export function Toasts({ api }: { api: Api }) {
  const shown = useStore(toasts);
  return (
    <aside class="toasts" aria-label="Notifications">
      <div role="status" aria-live="polite">
        {shown.map((toast) => <ToastItem key={toast.id} api={api} toast={toast} />)}
      </div>
    </aside>
  );
}

function ToastItem({ api, toast }: { api: Api; toast: Toast }) {
  const { log } = toast;
  const [error, setError] = useState<string | null>(null);
  const what = `${configFormatLabel(log.config)} export of ${scopeSummary(log.config)}`;
  const completed = log.status === "completed";

  async function download(): Promise<void> {
    setError(null);
    try {
      await downloadExport(api, log.export_id);
      dismissToast(toast.id);
    } catch (failure) {
      setError(errorSentence(failure));
    }
  }

  return (
    <div class={`toast ${completed ? "toast-completed" : "toast-failed"}`}>
      <p>
        <strong>{completed ? "Export completed" : "Export failed"}:</strong> {what}
        {completed && ` (${countOf(log.conversation_count, "conversation")})`}.
        {!completed && log.error_message && ` ${log.error_message}`}
      </p>
      {error && <p class="error">{error}</p>}
      <div class="toast-actions">
        {completed && <button type="button" onClick={download}>Download</button>}
        <button type="button" onClick={() => dismissToast(toast.id)}>Dismiss</button>
      </div>
    </div>
  );
}
