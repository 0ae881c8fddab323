/**
 * Makes the test run's ES256 signing key: writes the private JWK to the path given and prints
 * the public JWKS, which npm test passes to the functions as SUPABASE_JWKS (as hosted Supabase does).
 */
import { exportJWK, generateKeyPair } from "jose";

const [privatePath] = Deno.args;
const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
const kid = `test-${crypto.randomUUID()}`;
const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "ES256", use: "sig" };
const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
Deno.writeTextFileSync(privatePath, JSON.stringify(privateJwk));
console.log(JSON.stringify({ keys: [publicJwk] }));
