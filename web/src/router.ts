/**
 * Two pages, told apart by the query (`?view=conversations`; no `view` is the History page), so
 * the path stays the folder the app was served from: with `base: "./"` the built files and
 * config.json are found relative to it, from any folder of any static host. Navigation uses the
 * History API, so back/forward restore a page with its filters.
 */
import { useEffect, useState } from "preact/hooks";

/** The app's pages. */
export type View = "history" | "conversations";

/** Where the app is: the page, and the rest of the query (that page's state). */
export interface Route {
  view: View;
  params: URLSearchParams;
}

const listeners = new Set<() => void>();

/** The route the address bar shows now. */
function currentRoute(): Route {
  const params = new URLSearchParams(location.search);
  const view: View = params.get("view") === "conversations" ? "conversations" : "history";
  return { view, params };
}

/** The relative URL of a page with its query (the query carries `view` for Conversations). */
export function hrefOf(params: URLSearchParams): string {
  const query = params.toString();
  return query === "" ? location.pathname : `?${query}`;
}

/** Goes to the page the query names, adding a history entry unless `replace`. */
export function navigate(params: URLSearchParams, options: { replace?: boolean } = {}): void {
  const href = hrefOf(params);
  if (options.replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  for (const listener of listeners) listener();
}

/** The current route, re-rendering on navigation and on back/forward. */
export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    listeners.add(update);
    addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  return route;
}

/** A click that the browser should handle itself (new tab, download, modified click). */
export function isModifiedClick(event: MouseEvent): boolean {
  return event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey;
}
