/**
 * The app's start and its sign-in state: reads config.json, finds who is signed in (see
 * auth.ts), and shows the sign-in screen or the app. A refused token (401/403) from any call, or
 * a Supabase session that ends, returns to the sign-in screen with a sentence; the URL is left
 * as it is, so signing in again lands on the same page.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { useEffect, useRef, useState } from "preact/hooks";
import { type Api, connectionLoss, createApi } from "../api.ts";
import {
  createSessionClient,
  currentSignIn,
  passwordSignInAvailable,
  signInWithPassword,
  signOut,
  storeToken,
} from "../auth.ts";
import { type AppConfig, ConfigError, loadConfig } from "../config.ts";
import { errorSentence } from "../error_text.ts";
import { clearSelection } from "../selection.ts";
import { clearToasts } from "../toasts.ts";
import { resetUsage } from "../usage.ts";
import { App } from "./app.tsx";
import { SignIn } from "./sign_in.tsx";

type RootState =
  | { kind: "starting" }
  | { kind: "broken"; message: string }
  | { kind: "signed-out"; message: { text: string; alert: boolean } | null }
  | { kind: "signed-in"; who: string; api: Api };

interface Environment {
  config: AppConfig;
  session: SupabaseClient;
}

/** The whole app. */
export function Root() {
  const [state, setState] = useState<RootState>({ kind: "starting" });
  const [passwordAvailable, setPasswordAvailable] = useState<boolean | null>(null);
  const environment = useRef<Environment | null>(null);
  // Each sign-in has its own number: a late answer to an earlier sign-in's call changes nothing.
  const generation = useRef(0);
  const unsubscribe = useRef<(() => void) | null>(null);

  async function enter(environment: Environment): Promise<void> {
    const { config, session } = environment;
    const signedIn = await currentSignIn(config, session);
    if (signedIn === null) {
      setState({ kind: "signed-out", message: null });
      return;
    }
    const current = ++generation.current;
    const api = createApi(config, signedIn.client, (error) => {
      if (current === generation.current) void leave({ text: errorSentence(error), alert: true });
    });
    if (signedIn.method === "session") {
      const { data } = session.auth.onAuthStateChange((event) => {
        if (event === "SIGNED_OUT" && current === generation.current) {
          void leave({ text: "Your session has ended. Sign in again to continue.", alert: true });
        }
      });
      unsubscribe.current = () => data.subscription.unsubscribe();
    }
    setState({ kind: "signed-in", who: signedIn.who, api });
  }

  async function leave(message: { text: string; alert: boolean }): Promise<void> {
    generation.current += 1;
    unsubscribe.current?.();
    unsubscribe.current = null;
    if (environment.current) await signOut(environment.current.session);
    clearSelection();
    clearToasts();
    resetUsage();
    connectionLoss.set(null);
    setState({ kind: "signed-out", message });
  }

  useEffect(() => {
    (async () => {
      try {
        const config = await loadConfig();
        environment.current = { config, session: createSessionClient(config) };
      } catch (error) {
        const reason = error instanceof ConfigError ? error.message : "config.json is unusable";
        setState({ kind: "broken", message: `The app cannot start: ${reason}.` });
        return;
      }
      await enter(environment.current);
    })();
  }, []);

  useEffect(() => {
    if (state.kind !== "signed-out" || passwordAvailable !== null || !environment.current) return;
    passwordSignInAvailable(environment.current.config).then(setPasswordAvailable);
  }, [state.kind]);

  if (state.kind === "starting") {
    return (
      <main id="main">
        <p role="status">Loading…</p>
      </main>
    );
  }
  if (state.kind === "broken") {
    return (
      <main id="main">
        <h1>LoRA exports</h1>
        <p class="error" role="alert">
          {state.message} The file config.json beside index.html names the API to use.
        </p>
      </main>
    );
  }
  if (state.kind === "signed-out") {
    return (
      <SignIn
        message={state.message}
        passwordAvailable={passwordAvailable}
        onToken={(token) => {
          storeToken(token);
          if (environment.current) void enter(environment.current);
        }}
        onPassword={async (email, password) => {
          if (!environment.current) return "The app is still starting.";
          const failure = await signInWithPassword(environment.current.session, email, password);
          if (failure === null) await enter(environment.current);
          return failure;
        }}
      />
    );
  }
  return (
    <App
      api={state.api}
      who={state.who}
      onSignOut={() => void leave({ text: "You have signed out.", alert: false })}
    />
  );
}
