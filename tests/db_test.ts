/** shared/database/db.ts against the real database: the user scope and transaction guards. */
import assert from "node:assert/strict";
import { type Tx, withUser } from "../shared/database/db.ts";
import { claimsFor, createUser, dbTest, testSql } from "./support/database.ts";

const sql = testSql();

dbTest("withUser() runs as authenticated with the caller's claims, and only inside its transaction", async () => {
  const userId = await createUser();
  const [inside] = await withUser(sql, claimsFor(userId), (tx) =>
    tx<{ role: string; uid: string }[]>`select current_user as role, auth.uid()::text as uid`);
  assert.deepEqual(inside, { role: "authenticated", uid: userId });
  const [after] = await sql<{ role: string }[]>`select current_user as role`;
  assert.equal(after.role, "postgres");
});

dbTest("a transaction handle used after its transaction ended refuses to run anything (never as the owner)", async () => {
  const userId = await createUser();
  let leaked: Tx | undefined;
  await withUser(sql, claimsFor(userId), async (tx) => {
    leaked = tx;
    await tx`select 1`;
  });
  assert.throws(() => leaked!`select current_user`, /transaction has ended/);
  assert.throws(() => leaked!.unsafe("select current_user"), /transaction has ended/);
});
