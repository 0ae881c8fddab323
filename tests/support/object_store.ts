/** The test run's S3-protocol server (scripts/s3_server.mjs, started by npm test). */
import type { ObjectStoreSettings } from "../../shared/core/env.ts";
import { ObjectStore } from "../../shared/storage/object_store.ts";

/** The settings that reach the test run's store, as EXPORTS_FILE_STORE=s3 would read them. */
export function testObjectStoreSettings(overrides: Partial<ObjectStoreSettings> = {}): ObjectStoreSettings {
  const endpoint = Deno.env.get("EXPORTS_S3_ENDPOINT");
  if (!endpoint) throw new Error("EXPORTS_S3_ENDPOINT is not set: run the tests with npm test");
  return {
    kind: "s3",
    endpoint,
    region: Deno.env.get("EXPORTS_S3_REGION") ?? "us-east-1",
    bucket: Deno.env.get("EXPORTS_S3_BUCKET") ?? "exports",
    accessKeyId: Deno.env.get("EXPORTS_S3_ACCESS_KEY_ID") ?? "S3RVER",
    secretAccessKey: Deno.env.get("EXPORTS_S3_SECRET_ACCESS_KEY") ?? "S3RVER",
    urlTtlSeconds: 60,
    partBytes: 5 * 1024 * 1024,
    ...overrides,
  };
}

export function testObjectStore(overrides: Partial<ObjectStoreSettings> = {}): ObjectStore {
  return new ObjectStore(testObjectStoreSettings(overrides));
}

/** How many requests of each S3 operation the store has served so far. */
export async function storeRequests(): Promise<Record<string, number>> {
  const response = await fetch(`${testObjectStoreSettings().endpoint}/_s3/requests`);
  return await response.json();
}

/** Takes the store down (every request answered 503) or brings it back. */
export async function setStoreDown(down: boolean): Promise<void> {
  const response = await fetch(`${testObjectStoreSettings().endpoint}/_s3/outage`, {
    method: "POST",
    body: JSON.stringify({ down }),
  });
  await response.body?.cancel();
}
