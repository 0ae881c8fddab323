/**
 * Signed download links. A token is `<key version>.<expiry, unix seconds>.<HMAC-SHA256>` over the
 * export id, expiry and key version, with a secret only the functions hold. Verification is
 * constant-time (timingSafeEqual) and accepts every configured key version, so a rotated key
 * keeps its links working until they expire. The database still decides expiry at download.
 *
 * node:crypto's HMAC rather than WebCrypto's: a list signs a link for each completed export on
 * the page, and an async `crypto.subtle.sign` cost ~50 µs here against ~9 µs.
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import type { SigningKey } from "../core/env.ts";

function mac(secret: string, exportId: string, expiresUnix: number, version: string): Buffer {
  return createHmac("sha256", secret).update(`${exportId.toLowerCase()}.${expiresUnix}.${version}`).digest();
}

/** Signs a download token for an export valid until `expiresAt` with the given key. */
export function signDownloadToken(exportId: string, expiresAt: string, key: SigningKey): string {
  const expiresUnix = Math.ceil(Date.parse(expiresAt) / 1000);
  const signature = mac(key.secret, exportId, expiresUnix, key.version).toString("base64url");
  return `${key.version}.${expiresUnix}.${signature}`;
}

/** The verified content of a token, or null when it is not a valid signature for this export. */
export function verifyDownloadToken(
  exportId: string,
  token: string,
  keys: SigningKey[],
): { expiresUnix: number } | null {
  const parts = token.split(".");
  if (parts.length !== 3 || !/^\d{1,12}$/.test(parts[1]) || !/^[A-Za-z0-9_-]+$/.test(parts[2])) {
    return null;
  }
  const [version, expires, signature] = parts;
  const key = keys.find((candidate) => candidate.version === version);
  if (!key) return null;
  const expected = mac(key.secret, exportId, Number(expires), version);
  const given = Buffer.from(signature, "base64url");
  const valid = given.byteLength === expected.byteLength && timingSafeEqual(given, expected);
  return valid ? { expiresUnix: Number(expires) } : null;
}

/**
 * The file_url a client sees: the stored URL (which never carries a token) plus a fresh one.
 * Plain concatenation: parsing and re-serializing a URL per row showed in the list's profile.
 */
export function signedFileUrl(fileUrl: string, exportId: string, expiresAt: string, key: SigningKey): string {
  const separator = fileUrl.includes("?") ? "&" : "?";
  return `${fileUrl}${separator}token=${encodeURIComponent(signDownloadToken(exportId, expiresAt, key))}`;
}
