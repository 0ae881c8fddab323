/** JWTs for tests, signed with the test run's secret (HS256) or its JWKS key (ES256). */
import { importJWK, type JWTPayload, SignJWT } from "jose";

/** Claims and header overrides for a test token. */
export interface TokenOptions {
  claims?: JWTPayload & Record<string, unknown>;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  /** Seconds from now for `nbf`. */
  notBefore?: number;
  /** Sign HS256 with this secret instead of the project's. */
  secret?: string;
}

function requireEnv(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run the tests with \`npm test\``);
  return value;
}

function baseClaims(userId: string, options: TokenOptions): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    sub: userId,
    role: "authenticated",
    aud: "authenticated",
    iat: now,
    exp: now + (options.expiresIn ?? 3600),
    ...options.claims,
  };
  if (options.notBefore !== undefined) claims.nbf = now + options.notBefore;
  return claims;
}

/** An HS256 user token signed with the project's JWT secret (or `options.secret`). */
export async function userToken(userId: string, options: TokenOptions = {}): Promise<string> {
  const secret = new TextEncoder().encode(options.secret ?? requireEnv("EXPORTS_JWT_SECRET"));
  return await new SignJWT(baseClaims(userId, options))
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(secret);
}

/** An ES256 user token from the test JWKS key, or from a fresh key that is not in the JWKS. */
export async function es256Token(
  userId: string,
  options: TokenOptions & { foreignKey?: boolean } = {},
): Promise<string> {
  const jwk = JSON.parse(Deno.readTextFileSync(requireEnv("TEST_JWKS_PRIVATE_PATH")));
  let key: CryptoKey | Uint8Array = await importJWK(jwk, "ES256") as CryptoKey;
  if (options.foreignKey) {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ]);
    key = pair.privateKey;
  }
  return await new SignJWT(baseClaims(userId, options))
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: jwk.kid })
    .sign(key);
}

/** A token with `alg: none`: header and claims, no signature. */
export function unsignedToken(userId: string): string {
  const encode = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${encode({ alg: "none", typ: "JWT" })}.${encode(baseClaims(userId, {}))}.`;
}
