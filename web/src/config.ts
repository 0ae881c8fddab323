/**
 * The deployment's settings, read at start from `config.json` beside index.html (written at
 * deploy time, never compiled in), so one build serves any Supabase project.
 */

/** Where the API lives and the public key that goes with it. */
export interface AppConfig {
  supabaseUrl: string;
  anonKey: string;
  /** The edge function serving the exports API (default `exports`). */
  functionName: string;
}

/** A config.json that is missing or malformed, with a sentence saying which. */
export class ConfigError extends Error {}

/** Fetches and checks `./config.json`. */
export async function loadConfig(): Promise<AppConfig> {
  let body: unknown;
  try {
    // Fetched as index.html preloads it (so the preload is used); the host decides its caching.
    const response = await fetch("./config.json");
    if (!response.ok) throw new ConfigError(`config.json answered ${response.status}`);
    body = await response.json();
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError("config.json could not be read", { cause: error });
  }
  if (typeof body !== "object" || body === null) {
    throw new ConfigError("config.json is not a JSON object");
  }
  const { supabaseUrl, anonKey, functionName = "exports" } = body as Record<string, unknown>;
  if (typeof supabaseUrl !== "string" || !isHttpUrl(supabaseUrl)) {
    throw new ConfigError("config.json has no valid supabaseUrl");
  }
  if (typeof anonKey !== "string" || anonKey === "") {
    throw new ConfigError("config.json has no anonKey");
  }
  if (typeof functionName !== "string" || functionName === "") {
    throw new ConfigError("config.json has an invalid functionName");
  }
  return { supabaseUrl: supabaseUrl.replace(/\/+$/, ""), anonKey, functionName };
}

function isHttpUrl(text: string): boolean {
  try {
    return ["http:", "https:"].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}
