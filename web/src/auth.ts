/**
 * Who the app calls the API as. In order: the supabase-js session (signed in here earlier, or by
 * a host app on the same origin; supabase-js refreshes it), else an access token handed over in
 * the link's fragment or pasted on the sign-in screen (kept in sessionStorage, used until it
 * expires), else nobody: the sign-in screen.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { AppConfig } from "./config.ts";

const TOKEN_KEY = "lora-exports.access-token";
const HEALTH_TIMEOUT_MS = 3000;

/** A signed-in user: the supabase-js client that carries their JWT, and how they signed in. */
export interface SignedIn {
  client: SupabaseClient;
  method: "session" | "token";
  /** The user's email, else their id, to show who is signed in. */
  who: string;
}

/**
 * Moves an `#access_token=<jwt>` fragment to sessionStorage and removes it from the address bar
 * at once (keeping path and query), so the token is neither bookmarked nor left in history.
 */
export function takeFragmentToken(): void {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = fragment.get("access_token");
  if (token === null) return;
  history.replaceState(history.state, "", location.pathname + location.search);
  if (token.trim() !== "") storeToken(token.trim());
}

/** The client that holds the supabase-js session; it reads no session from the URL (see above). */
export function createSessionClient(config: AppConfig): SupabaseClient {
  return createClient(config.supabaseUrl, config.anonKey, {
    auth: { detectSessionInUrl: false },
  });
}

/** Who is signed in now, if anyone. */
export async function currentSignIn(
  config: AppConfig,
  sessionClient: SupabaseClient,
): Promise<SignedIn | null> {
  const { data, error } = await sessionClient.auth.getSession();
  const session = error === null ? data.session : null;
  if (session !== null) {
    return {
      client: sessionClient,
      method: "session",
      who: session.user.email ?? session.user.id,
    };
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token === null) return null;
  return {
    // The token is the client's JWT as it is: no Auth server is needed to use it.
    client: createClient(config.supabaseUrl, config.anonKey, {
      accessToken: () => Promise.resolve(token),
    }),
    method: "token",
    who: whoOf(token),
  };
}

/** Keeps a pasted or linked access token for this tab. */
export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** Whether the text has the shape of a JWT (three base64url parts). */
export function looksLikeJwt(text: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(text);
}

/**
 * Whether the project's Supabase Auth answers (a deployed project): only then does the sign-in
 * screen offer email and password. The local stack has no Auth server.
 */
export async function passwordSignInAvailable(config: AppConfig): Promise<boolean> {
  try {
    const response = await fetch(`${config.supabaseUrl}/auth/v1/health`, {
      headers: { apikey: config.anonKey },
      signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
    });
    return response.ok;
  } catch {
    return false;
  }
}

/** Signs in through Supabase Auth; resolves to a sentence when it fails. */
export async function signInWithPassword(
  sessionClient: SupabaseClient,
  email: string,
  password: string,
): Promise<string | null> {
  const { error } = await sessionClient.auth.signInWithPassword({ email, password });
  if (error === null) return null;
  if (error.status === 400) return "The email or password is not right.";
  if (error.status === 429) return "Too many sign-in attempts. Wait a minute, then try again.";
  if (error.status === undefined || error.status === 0) {
    return "Supabase Auth cannot be reached. Check your connection, then try again.";
  }
  return "Signing in did not work. Try again, or sign in with an access token.";
}

/** Forgets the stored token and ends the session on this device. */
export async function signOut(sessionClient: SupabaseClient): Promise<void> {
  sessionStorage.removeItem(TOKEN_KEY);
  // "local": the session goes from this browser whether or not the Auth server answers.
  await sessionClient.auth.signOut({ scope: "local" });
}

/** The `email` claim of a JWT, else its `sub`, else a neutral word. */
function whoOf(token: string): string {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims: unknown = JSON.parse(
      atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")),
    );
    if (typeof claims === "object" && claims !== null) {
      const { email, sub } = claims as Record<string, unknown>;
      if (typeof email === "string" && email !== "") return email;
      if (typeof sub === "string" && sub !== "") return sub;
    }
  } catch {
    // Not a readable JWT: the API will refuse it, and the sign-in screen will say so.
  }
  return "access token";
}
