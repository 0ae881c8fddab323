/**
 * The sign-in screen: an access token can always be pasted (the local stack has no Auth server);
 * email and password are offered when the project's Supabase Auth answers.
 */
import { useEffect, useState } from "preact/hooks";
import { looksLikeJwt } from "../auth.ts";
import { describedBy, FieldErrors } from "./field_errors.tsx";

interface SignInProps {
  /** Why the screen is shown (signed out, token refused), if there is something to say. */
  message: { text: string; alert: boolean } | null;
  /** Whether email and password can be used (null while that is being found out). */
  passwordAvailable: boolean | null;
  onToken(token: string): void;
  /** Signs in; resolves to a sentence when it fails. */
  onPassword(email: string, password: string): Promise<string | null>;
}

/** The sign-in screen. */
export function SignIn({ message, passwordAvailable, onToken, onPassword }: SignInProps) {
  const [token, setToken] = useState("");
  const [tokenError, setTokenError] = useState<string[]>([]);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.title = "Sign in · LoRA exports";
  }, []);

  function submitToken(event: Event): void {
    event.preventDefault();
    const value = token.trim().replace(/^Bearer\s+/i, "");
    if (!looksLikeJwt(value)) {
      setTokenError(["This is not an access token: a JWT is three parts joined by dots."]);
      return;
    }
    onToken(value);
  }

  async function submitPassword(event: Event): Promise<void> {
    event.preventDefault();
    setBusy(true);
    setPasswordError(await onPassword(email, password));
    setBusy(false);
  }

  return (
    <>
      <header class="site-header">
        <div class="site-bar">
          <p class="brand">LoRA exports</p>
        </div>
      </header>
      <main id="main" class="sign-in">
        <h1>Sign in</h1>
        {message && (
          <p class={message.alert ? "error" : "notice"} role={message.alert ? "alert" : "status"}>
            {message.text}
          </p>
        )}
        {passwordAvailable && (
          <form class="card" onSubmit={submitPassword}>
            <h2>With email and password</h2>
            <div class="field">
              <label for="sign-in-email">Email</label>
              <input
                id="sign-in-email"
                type="email"
                autocomplete="username"
                required
                value={email}
                onInput={(event) => setEmail(event.currentTarget.value)}
              />
            </div>
            <div class="field">
              <label for="sign-in-password">Password</label>
              <input
                id="sign-in-password"
                type="password"
                autocomplete="current-password"
                required
                value={password}
                onInput={(event) => setPassword(event.currentTarget.value)}
              />
            </div>
            {passwordError && <p class="error" role="alert">{passwordError}</p>}
            <button type="submit" class="primary" disabled={busy}>
              {busy ? "Signing in…" : "Sign in"}
            </button>
          </form>
        )}
        <form class="card" onSubmit={submitToken} noValidate>
          <h2>With an access token</h2>
          <div class="field">
            <label for="access-token">Access token</label>
            <textarea
              id="access-token"
              rows={4}
              autocomplete="off"
              spellcheck={false}
              value={token}
              aria-invalid={tokenError.length > 0 || undefined}
              aria-describedby={describedBy("access-token", { hint: true, errors: tokenError })}
              onInput={(event) => {
                setToken(event.currentTarget.value);
                setTokenError([]);
              }}
            />
            <p class="hint" id="access-token-hint">
              A user's JWT, such as the demo user's token that npm start prints. It is kept in this
              tab only, until it expires or you sign out.
            </p>
            <FieldErrors fieldId="access-token" errors={tokenError} />
          </div>
          <button type="submit" class="primary">Sign in with token</button>
        </form>
      </main>
    </>
  );
}
