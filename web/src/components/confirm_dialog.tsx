/** A confirmation before an action that cannot be undone (deleting an export). */
import type { ComponentChildren } from "preact";
import { Modal } from "./modal.tsx";

interface ConfirmDialogProps {
  title: string;
  confirmLabel: string;
  /** The confirm button's text while the action runs. */
  busyLabel: string;
  /** Set while the action runs: the buttons wait. */
  busy: boolean;
  /** The sentence of a failed attempt. */
  error: string | null;
  onConfirm(): void;
  onCancel(): void;
  children: ComponentChildren;
}

/** Asks before acting; Cancel (focused first) and Escape leave everything as it was. */
export function ConfirmDialog(props: ConfirmDialogProps) {
  return (
    <Modal labelledBy="confirm-title" onClose={props.onCancel} alert>
      <h2 id="confirm-title">{props.title}</h2>
      {props.children}
      {props.error && <p class="error" role="alert">{props.error}</p>}
      <div class="dialog-actions">
        <button type="button" onClick={props.onCancel} data-autofocus>Cancel</button>
        <button type="button" class="danger" onClick={props.onConfirm} disabled={props.busy}>
          {props.busy ? props.busyLabel : props.confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
