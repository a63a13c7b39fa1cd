import { MemoryStore } from "../../../core/store/memory.ts";
import { storeConformance } from "./_conformance.ts";

storeConformance("MemoryStore", () => {
  const store = new MemoryStore();
  return Promise.resolve({ store, dispose: () => store.close() });
});
