import { deepStrictEqual, rejects } from "node:assert/strict";
import { MemoryStore } from "../../../core/store/memory.ts";
import { dump, storeConformance } from "./_conformance.ts";

// The suite every Store passes (its assertions live in _conformance.ts).
storeConformance("MemoryStore", () => {
  const store = new MemoryStore();
  return Promise.resolve({ store, dispose: () => store.close() });
});

Deno.test("MemoryStore: instances share nothing, and nothing outlives close()", async () => {
  const a = new MemoryStore();
  const b = new MemoryStore();
  await a.put([{ key: "node/state", value: "a", version: 0 }]);
  deepStrictEqual(await dump(a), [["node/state", "a", 0]]);
  deepStrictEqual(await dump(b), [], "another instance is empty");
  await a.close();
  await rejects(() => a.get("node/state"), { name: "StoreError", message: "store is closed" });
  // A new store in its place starts empty: version 0 is expected again.
  const c = new MemoryStore();
  await c.put([{ key: "node/state", value: "c", version: 0 }]);
  deepStrictEqual(await dump(c), [["node/state", "c", 0]]);
});
