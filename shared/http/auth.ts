/**
 * Verifies a Bearer JWT inside the function, in the contract's order: signature and algorithm
 * (HS256 only with the project's secret; ES256/RS256 only with a JWKS key chosen by `kid`), then
 * `exp`/`nbf`, then `role` (a verified non-user token is 403), then `aud` and a `sub` that is the
 * UUID of an existing user. A token is never read from the query string.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import { AuthenticationError, ExportPermissionError } from "../core/errors.ts";
import type { UserClaims } from "../database/db.ts";
import { UUID_PATTERN } from "../core/uuid.ts";

const CLOCK_SKEW_SECONDS = 30;
const ASYMMETRIC_ALGORITHMS = ["ES256", "RS256"];

/** Where verification keys come from. */
export interface VerificationKeys {
  /** HS256 secret. */
  jwtSecret?: string;
  /** A JWKS document as JSON (SUPABASE_JWKS). */
  jwksJson?: string;
  /** A JWKS URL, fetched and cached by jose. */
  jwksUrl?: string;
}

/** Verifies tokens for one set of keys; `userExists` decides the last check. */
export interface TokenVerifier {
  /** A signed-in user's token (role authenticated), else 401/403. */
  verify(authorization: string | undefined): Promise<UserClaims>;
  /** The service role's token (role service_role), else 401, or 403 for any other valid token. */
  verifyServiceRole(authorization: string | undefined): Promise<void>;
}

function bearerToken(authorization: string | undefined): string {
  const match = /^Bearer ([A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]*\.[A-Za-z0-9_=-]*)$/.exec(authorization?.trim() ?? "");
  if (!match) throw new AuthenticationError();
  return match[1];
}

/** Builds a verifier; `userExists` is asked whether `sub` names an existing user. */
export function createTokenVerifier(
  keys: VerificationKeys,
  userExists: (userId: string) => Promise<boolean>,
): TokenVerifier {
  const secret = keys.jwtSecret ? new TextEncoder().encode(keys.jwtSecret) : undefined;
  const jwks: JWTVerifyGetKey | undefined = keys.jwksJson
    ? createLocalJWKSet(JSON.parse(keys.jwksJson))
    : keys.jwksUrl
    ? createRemoteJWKSet(new URL(keys.jwksUrl), { cacheMaxAge: 10 * 60 * 1000 })
    : undefined;

  async function verifySignatureAndTime(token: string): Promise<JWTPayload> {
    let algorithm: string | undefined;
    try {
      algorithm = decodeProtectedHeader(token).alg;
    } catch (cause) {
      throw new AuthenticationError("The bearer token is malformed", cause);
    }
    try {
      if (algorithm === "HS256" && secret) {
        return (await jwtVerify(token, secret, {
          algorithms: ["HS256"],
          clockTolerance: CLOCK_SKEW_SECONDS,
          requiredClaims: ["exp"],
        })).payload;
      }
      if (algorithm && ASYMMETRIC_ALGORITHMS.includes(algorithm) && jwks) {
        return (await jwtVerify(token, jwks, {
          algorithms: ASYMMETRIC_ALGORITHMS,
          clockTolerance: CLOCK_SKEW_SECONDS,
          requiredClaims: ["exp"],
        })).payload;
      }
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      if (code === "ERR_JWT_EXPIRED") {
        throw new AuthenticationError("The bearer token has expired", cause);
      }
      if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED") {
        throw new AuthenticationError("The bearer token is not valid yet", cause);
      }
      throw new AuthenticationError("The bearer token's signature is not valid", cause);
    }
    throw new AuthenticationError(`Tokens signed with "${algorithm ?? "none"}" are not accepted`);
  }

  return {
    async verifyServiceRole(authorization) {
      const payload = await verifySignatureAndTime(bearerToken(authorization));
      if (payload.role !== "service_role") {
        throw new ExportPermissionError("This endpoint needs the service role");
      }
    },
    async verify(authorization) {
      const payload = await verifySignatureAndTime(bearerToken(authorization));
      if (payload.role !== "authenticated") {
        throw ExportPermissionError.needsUserToken();
      }
      const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (!audiences.includes("authenticated")) {
        throw new AuthenticationError("The bearer token's audience is not accepted");
      }
      if (typeof payload.sub !== "string" || !UUID_PATTERN.test(payload.sub)) {
        throw new AuthenticationError("The bearer token does not name a user");
      }
      if (!(await userExists(payload.sub))) {
        throw new AuthenticationError("The bearer token's user does not exist");
      }
      return { ...payload, sub: payload.sub.toLowerCase(), role: "authenticated" } as UserClaims;
    },
  };
}
