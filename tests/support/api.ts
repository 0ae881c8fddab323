/** Calling the `exports` function over real HTTP through the local functions server. */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { userToken } from "./tokens.ts";

/** The functions server's base URL (npm test starts it and sets SUPABASE_URL). */
export function functionsBaseUrl(): string {
  const url = Deno.env.get("SUPABASE_URL");
  if (!url) throw new Error("SUPABASE_URL is not set: run the tests with `npm test`");
  return url;
}

/** The absolute URL of an exports path (`""`, `/<id>`, `/<id>/download`, with any query). */
export function exportsUrl(path = ""): string {
  return `${functionsBaseUrl()}/functions/v1/exports${path}`;
}

/** Options of api(): a token (or none), a JSON body, headers. */
export interface ApiCall {
  method?: string;
  token?: string | null;
  body?: unknown;
  rawBody?: BodyInit;
  headers?: Record<string, string>;
}

/** A parsed response: status, headers and the JSON body (or null). */
export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls the API with fetch and reads the whole (JSON) response. */
// deno-lint-ignore no-explicit-any -- JSON bodies of many shapes; tests assert on them
export async function api<T = Record<string, any>>(path: string, call: ApiCall = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...call.headers };
  if (call.token) headers["Authorization"] = `Bearer ${call.token}`;
  let body = call.rawBody;
  if (call.body !== undefined) {
    body = JSON.stringify(call.body);
    headers["Content-Type"] ??= "application/json";
  }
  const response = await fetch(exportsUrl(path), {
    method: call.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as T };
}

/** A supabase-js client that calls the functions as this user. */
export async function supabaseAs(userId: string): Promise<SupabaseClient> {
  const token = await userToken(userId);
  return createClient(functionsBaseUrl(), "local-anon-key-not-used-by-the-functions", {
    global: { headers: { Authorization: `Bearer ${token}` } },
    auth: { persistSession: false, autoRefreshToken: false },
  });
}
