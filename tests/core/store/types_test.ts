/**
 * The store's two typed errors (core/store/types.ts is otherwise interfaces, which the conformance
 * suite in `_conformance.ts` exercises through every implementation): names, fields and exact
 * messages, including a stored version 0, which must not read as "absent".
 */
import { strictEqual, throws } from "node:assert/strict";
import { StoreError, VersionConflictError } from "../../../core/store/types.ts";

Deno.test("VersionConflictError: key, attempted and stored versions, in fields and message", () => {
  const e = new VersionConflictError("channel/0a1b", { attempted: 3, stored: 5 });
  strictEqual(e instanceof Error, true);
  strictEqual(e.name, "VersionConflictError");
  strictEqual(e.message, "version conflict on channel/0a1b: write carries 3, stored is 5");
  strictEqual(e.key, "channel/0a1b");
  strictEqual(e.attempted, 3);
  strictEqual(e.stored, 5);
  strictEqual(String(e), `VersionConflictError: ${e.message}`);
});

Deno.test("VersionConflictError: a key never written is 'absent'; a stored 0 is 0", () => {
  const absent = new VersionConflictError("node/state", { attempted: 1, stored: undefined });
  strictEqual(absent.message, "version conflict on node/state: write carries 1, stored is absent");
  strictEqual(absent.stored, undefined);
  const zero = new VersionConflictError("node/state", { attempted: 0, stored: 0 });
  strictEqual(zero.message, "version conflict on node/state: write carries 0, stored is 0");
  strictEqual(zero.stored, 0);
  strictEqual(zero.attempted, 0);
});

Deno.test("StoreError: the message as given", () => {
  const e = new StoreError("store is closed");
  strictEqual(e instanceof Error, true);
  strictEqual(e.name, "StoreError");
  strictEqual(e.message, "store is closed");
  strictEqual(e instanceof VersionConflictError, false);
  throws(() => {
    throw e;
  }, { name: "StoreError", message: "store is closed" });
});
