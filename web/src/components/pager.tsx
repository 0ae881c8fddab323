/** Paging as the API pages: previous/next, where we are, and how many rows a page holds. */
import { PAGE_SIZES } from "../url_state.ts";

interface PagerProps {
  /** Names the navigation landmark (each pager has its own name). */
  label: string;
  page: number;
  limit: number;
  total: number;
  onPage(page: number): void;
  onLimit(limit: number): void;
}

/** The pager of a list. */
export function Pager({ label, page, limit, total, onPage, onLimit }: PagerProps) {
  const pages = Math.max(1, Math.ceil(total / limit));
  const id = `${label.replace(/\W+/g, "-").toLowerCase()}-size`;
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" disabled={page <= 1} onClick={() => onPage(Math.min(page - 1, pages))}>
        Previous page
      </button>
      <span class="pager-position">Page {page} of {pages}</span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next page
      </button>
      <label class="pager-size" for={id}>Rows per page</label>
      <select
        id={id}
        value={String(limit)}
        onChange={(event) => onLimit(Number(event.currentTarget.value))}
      >
        {[...PAGE_SIZES].sort((a, b) => a - b).map((size) => (
          <option key={size} value={String(size)}>{size}</option>
        ))}
      </select>
    </nav>
  );
}
