/**
 * Settings the functions need from the environment, read once and validated up front: a missing
 * or malformed variable fails fast with its name, instead of surfacing later as a confusing
 * error (no `Deno.env.get(X) ?? ''`). Database-side settings live in exports_internal.settings.
 */

/**
 * How long each driver of generation keeps claiming, in one place. Every driver stops claiming
 * when its budget is spent and releases what it holds, so each fits the lifetime of what runs it.
 */
export const WORKER_BUDGETS_MS = {
  /** The API, in the background of the request that queued the export: well inside the edge
   * runtime's 150 s wall clock of the free plan, leaving the request's own work room. */
  apiBackground: 25_000,
  /** The export-worker function per invocation (EXPORTS_WORKER_BUDGET_MS overrides it), and
   * pg_cron's process_exports() per minute (its SQL default is the same 50 s): under a minute,
   * so runs do not pile up. */
  workerFunction: 50_000,
  /** The local worker loop, between two looks at the queue. */
  workerLoop: 60_000,
} as const;

/** One download-signing key; `version` goes into every token so rotated keys keep verifying. */
export interface SigningKey {
  version: string;
  secret: string;
}

/** The functions' settings, from the environment. */
export interface FunctionsEnv {
  /** Postgres connection string (SUPABASE_DB_URL, else DATABASE_URL). */
  databaseUrl: string;
  /** Public base URL for Location and file_url (SUPABASE_URL). */
  publicBaseUrl: string;
  /** HS256 secret (EXPORTS_JWT_SECRET); optional where only asymmetric keys are used. */
  jwtSecret?: string;
  /** JWKS JSON (SUPABASE_JWKS) for ES256/RS256 tokens. */
  jwksJson?: string;
  /** URL to fetch a JWKS from (EXPORTS_JWKS_URL), cached. */
  jwksUrl?: string;
  /** Download-signing keys, newest first; the first one signs (EXPORTS_SIGNING_SECRET). */
  signingKeys: SigningKey[];
  /** Allowed CORS origins (EXPORTS_CORS_ORIGINS, comma-separated; default `*`). */
  corsOrigins: string[];
  /** How long one export-worker invocation claims work (EXPORTS_WORKER_BUDGET_MS). */
  workerBudgetMs: number;
  /** Where finished files live (EXPORTS_FILE_STORE and EXPORTS_S3_*). */
  fileStore: FileStoreSettings;
}

/** The object store's settings (EXPORTS_S3_*), when finished files go there. */
export interface ObjectStoreSettings {
  kind: "s3";
  /** The S3 endpoint, e.g. https://<ref>.supabase.co/storage/v1/s3 (EXPORTS_S3_ENDPOINT). */
  endpoint: string;
  region: string;
  /** A private bucket (EXPORTS_S3_BUCKET, default `exports`). */
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** How long a presigned download URL is valid (EXPORTS_S3_URL_TTL_SECONDS, default 60). */
  urlTtlSeconds: number;
  /** Bytes per multipart part, at least 5 MiB (EXPORTS_S3_PART_BYTES, default 8 MiB). */
  partBytes: number;
}

/** Where finished files live: in Postgres (the default) or in an S3-protocol object store. */
export type FileStoreSettings = { kind: "postgres" } | ObjectStoreSettings;

/** The smallest part S3 accepts, except the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

/** Thrown when a required variable is missing or malformed; names the variable. */
export class ConfigurationError extends Error {}

function readOptional(name: string): string | undefined {
  const value = Deno.env.get(name)?.trim();
  return value ? value : undefined;
}

/**
 * Parses EXPORTS_SIGNING_SECRET: `v2:secret2,v1:secret1` (newest first). A bare secret is
 * version `v1`. Older versions keep verifying links they signed until those links expire.
 */
export function parseSigningKeys(raw: string): SigningKey[] {
  const keys = raw.split(",").map((entry) => entry.trim()).filter(Boolean).map((entry) => {
    const separator = entry.indexOf(":");
    if (separator <= 0) return { version: "v1", secret: entry };
    return { version: entry.slice(0, separator), secret: entry.slice(separator + 1) };
  });
  for (const key of keys) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(key.version)) {
      throw new ConfigurationError(
        `EXPORTS_SIGNING_SECRET has an invalid key version "${key.version}"`,
      );
    }
    if (key.secret.length < 32) {
      throw new ConfigurationError(
        `EXPORTS_SIGNING_SECRET key "${key.version}" is shorter than 32 characters`,
      );
    }
  }
  if (keys.length === 0) throw new ConfigurationError("EXPORTS_SIGNING_SECRET is empty");
  return keys;
}

/**
 * Reads EXPORTS_FILE_STORE (`postgres`, the default, or `s3`) and, for `s3`, the EXPORTS_S3_*
 * settings: a missing or malformed one fails fast, naming it.
 */
export function loadFileStoreSettings(): FileStoreSettings {
  const kind = readOptional("EXPORTS_FILE_STORE") ?? "postgres";
  if (kind === "postgres") return { kind };
  if (kind !== "s3") {
    throw new ConfigurationError(`EXPORTS_FILE_STORE must be "postgres" or "s3", not "${kind}"`);
  }
  const required = (name: string) => {
    const value = readOptional(name);
    if (!value) throw new ConfigurationError(`${name} is not set (EXPORTS_FILE_STORE is s3)`);
    return value;
  };
  const positive = (name: string, fallback: number, minimum = 1) => {
    const raw = readOptional(name);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < minimum) {
      throw new ConfigurationError(`${name} must be a whole number of at least ${minimum}, not "${raw}"`);
    }
    return value;
  };
  const endpoint = required("EXPORTS_S3_ENDPOINT");
  if (!URL.canParse(endpoint)) throw new ConfigurationError("EXPORTS_S3_ENDPOINT is not a URL");
  return {
    kind,
    endpoint: endpoint.replace(/\/+$/, ""),
    region: required("EXPORTS_S3_REGION"),
    bucket: readOptional("EXPORTS_S3_BUCKET") ?? "exports",
    accessKeyId: required("EXPORTS_S3_ACCESS_KEY_ID"),
    secretAccessKey: required("EXPORTS_S3_SECRET_ACCESS_KEY"),
    urlTtlSeconds: positive("EXPORTS_S3_URL_TTL_SECONDS", 60),
    partBytes: positive("EXPORTS_S3_PART_BYTES", 8 * 1024 * 1024, MIN_PART_BYTES),
  };
}

/** Reads the environment; explicit overrides win over variables (used by tests). */
export function loadFunctionsEnv(overrides: Partial<FunctionsEnv> = {}): FunctionsEnv {
  const databaseUrl = overrides.databaseUrl ?? readOptional("SUPABASE_DB_URL") ??
    readOptional("DATABASE_URL");
  if (!databaseUrl) {
    throw new ConfigurationError("SUPABASE_DB_URL is not set (nor DATABASE_URL)");
  }
  const publicBaseUrl = overrides.publicBaseUrl ?? readOptional("SUPABASE_URL");
  if (!publicBaseUrl) throw new ConfigurationError("SUPABASE_URL is not set");
  const jwtSecret = overrides.jwtSecret ?? readOptional("EXPORTS_JWT_SECRET");
  const jwksJson = overrides.jwksJson ?? readOptional("SUPABASE_JWKS");
  const jwksUrl = overrides.jwksUrl ?? readOptional("EXPORTS_JWKS_URL");
  if (!jwtSecret && !jwksJson && !jwksUrl) {
    throw new ConfigurationError(
      "EXPORTS_JWT_SECRET is not set (nor SUPABASE_JWKS or EXPORTS_JWKS_URL): no way to verify tokens",
    );
  }
  let signingKeys = overrides.signingKeys;
  if (!signingKeys) {
    const raw = readOptional("EXPORTS_SIGNING_SECRET");
    if (!raw) throw new ConfigurationError("EXPORTS_SIGNING_SECRET is not set");
    signingKeys = parseSigningKeys(raw);
  }
  const corsOrigins = overrides.corsOrigins ??
    (readOptional("EXPORTS_CORS_ORIGINS") ?? "*").split(",").map((o) => o.trim()).filter(Boolean);
  // A budget that is not a positive number falls back to the default: the worker must run.
  const budget = Number(readOptional("EXPORTS_WORKER_BUDGET_MS") ?? WORKER_BUDGETS_MS.workerFunction);
  const workerBudgetMs = overrides.workerBudgetMs ??
    (Number.isFinite(budget) && budget > 0 ? budget : WORKER_BUDGETS_MS.workerFunction);
  return {
    databaseUrl,
    publicBaseUrl: publicBaseUrl.replace(/\/+$/, ""),
    jwtSecret,
    jwksJson,
    jwksUrl,
    signingKeys,
    corsOrigins,
    workerBudgetMs,
    fileStore: overrides.fileStore ?? loadFileStoreSettings(),
  };
}
