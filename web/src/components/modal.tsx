/**
 * A modal dialog: the native <dialog> opened with showModal (the page behind becomes inert,
 * Escape closes it), with Tab and Shift+Tab kept inside it, focus moved into it on opening and
 * given back to the control that opened it on closing.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

const FOCUSABLE = [
  "a[href]",
  "button:not([disabled])",
  "input:not([disabled])",
  "select:not([disabled])",
  "textarea:not([disabled])",
  "[tabindex]:not([tabindex='-1'])",
].join(",");

interface ModalProps {
  /** The id of the heading that names the dialog. */
  labelledBy: string;
  /** Called when the dialog closes by Escape; the parent then stops rendering it. */
  onClose(): void;
  /** Makes the dialog an alertdialog (a confirmation). */
  alert?: boolean;
  children: ComponentChildren;
}

/** A modal dialog; the element marked `data-autofocus` (else the first control) gets focus. */
export function Modal(props: ModalProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;

  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    const opener = document.activeElement;
    dialog.showModal();
    const first = dialog.querySelector<HTMLElement>("[data-autofocus]") ??
      focusables(dialog)[0];
    first?.focus();
    return () => {
      if (dialog.open) dialog.close();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    };
  }, []);

  function onKeyDown(event: KeyboardEvent): void {
    const dialog = ref.current;
    if (event.key !== "Tab" || dialog === null) return;
    const items = focusables(dialog);
    if (items.length === 0) return;
    const [first, last] = [items[0], items[items.length - 1]];
    if (event.shiftKey && (document.activeElement === first || document.activeElement === dialog)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  return (
    <dialog
      ref={ref}
      class="modal"
      role={props.alert ? "alertdialog" : undefined}
      aria-modal="true"
      aria-labelledby={props.labelledBy}
      onKeyDown={onKeyDown}
      // Escape closes the native dialog (the browser may skip `cancel`, never `close`).
      onClose={() => onClose.current()}
    >
      {props.children}
    </dialog>
  );
}

function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)]
    .filter((element) => element.getClientRects().length > 0);
}
