/**
 * A real worker process for the upload crash test: it claims one export and drives it with the
 * object store, and just before it would send part `stopBefore` it prints "before-part-N" and
 * waits there for the test to SIGKILL it. Every part before that one is uploaded and recorded.
 *
 * Usage: uploading_worker.ts <export_log_id> <stopBefore>   (reads SUPABASE_DB_URL, EXPORTS_S3_*)
 */
import { createSql } from "../../shared/database/db.ts";
import { claimNextExport, driveClaim } from "../../shared/domain/export_worker.ts";
import { ObjectStore } from "../../shared/storage/object_store.ts";
import { testObjectStoreSettings } from "./object_store.ts";

const WAIT_FOR_KILL_MS = 30_000;
const [exportLogId, stopBeforeArg] = Deno.args;
const stopBefore = Number(stopBeforeArg);
if (!exportLogId || !Number.isInteger(stopBefore)) {
  console.error("Usage: uploading_worker.ts <export_log_id> <stopBefore>");
  Deno.exit(2);
}

/** The store, but it stops the world before one part. */
class StoppingStore extends ObjectStore {
  override async uploadPart(key: string, uploadId: string, partNumber: number, bytes: Uint8Array<ArrayBuffer>) {
    if (partNumber === stopBefore) {
      console.log(`before-part-${partNumber}`);
      await new Promise((resolve) => setTimeout(resolve, WAIT_FOR_KILL_MS));
      console.log("survived");
      Deno.exit(4);
    }
    return await super.uploadPart(key, uploadId, partNumber, bytes);
  }
}

const sql = createSql(Deno.env.get("SUPABASE_DB_URL")!, { max: 2, applicationName: "uploading-worker" });
const claim = await claimNextExport(sql, "uploading-worker", exportLogId, true);
if (!claim) {
  console.log("no-claim");
  Deno.exit(3);
}
console.log("claimed");
const outcome = await driveClaim(sql, claim, { store: new StoppingStore(testObjectStoreSettings()) });
console.log(`ended ${outcome}`);
Deno.exit(0);
