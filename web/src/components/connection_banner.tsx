/**
 * The banner shown while the API cannot be reached (or answers 503): what the user typed stays
 * where it is; Retry asks every view to reload; the next successful call removes the banner.
 */
import { connectionLoss, requestRetry } from "../api.ts";
import { errorSentence } from "../error_text.ts";
import { useStore } from "../store.ts";

/** The connection banner, or nothing while calls succeed. */
export function ConnectionBanner() {
  const error = useStore(connectionLoss);
  if (error === null) return null;
  return (
    <div class="banner" role="alert">
      <p>
        {errorSentence(error)} What you typed is kept.
      </p>
      <button type="button" onClick={requestRetry}>Retry</button>
    </div>
  );
}
