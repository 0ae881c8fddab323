/**
 * Signed download links. A token is `<key version>.<expiry, unix seconds>.<HMAC-SHA256>` over the
 * export id, expiry and key version, with a secret only the functions hold. Verification is
 * constant-time (WebCrypto's HMAC verify) and accepts every configured key version, so a rotated
 * key keeps its links working until they expire. The database still decides expiry at download.
 */
import type { SigningKey } from "./env.ts";

const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    keyCache.set(secret, key);
  }
  return key;
}

function toBase64Url(bytes: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function signedPayload(exportId: string, expiresUnix: number, version: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${exportId.toLowerCase()}.${expiresUnix}.${version}`);
}

/** Signs a download token for an export valid until `expiresAt` with the given key. */
export async function signDownloadToken(exportId: string, expiresAt: string, key: SigningKey): Promise<string> {
  const expiresUnix = Math.ceil(Date.parse(expiresAt) / 1000);
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(key.secret), signedPayload(exportId, expiresUnix, key.version));
  return `${key.version}.${expiresUnix}.${toBase64Url(mac)}`;
}

/** The verified content of a token, or null when it is not a valid signature for this export. */
export async function verifyDownloadToken(
  exportId: string,
  token: string,
  keys: SigningKey[],
): Promise<{ expiresUnix: number } | null> {
  const parts = token.split(".");
  if (parts.length !== 3 || !/^\d{1,12}$/.test(parts[1])) return null;
  const [version, expires, mac] = parts;
  const key = keys.find((candidate) => candidate.version === version);
  const signature = fromBase64Url(mac);
  if (!key || !signature) return null;
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(key.secret),
    signature,
    signedPayload(exportId, Number(expires), version),
  );
  return valid ? { expiresUnix: Number(expires) } : null;
}

/** The file_url a client sees: the stored URL plus a fresh token. */
export async function signedFileUrl(
  fileUrl: string,
  exportId: string,
  expiresAt: string,
  key: SigningKey,
): Promise<string> {
  const url = new URL(fileUrl);
  url.searchParams.set("token", await signDownloadToken(exportId, expiresAt, key));
  return url.toString();
}
