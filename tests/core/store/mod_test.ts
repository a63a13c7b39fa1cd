import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import {
  fromJson,
  MemoryStore,
  openStore,
  SqliteStore,
  STATE_FILE,
  toJson,
} from "../../../core/store/mod.ts";
import { rejectsStoreError } from "./_conformance.ts";

Deno.test("openStore: SQLite by default, in <dataDir>/state.sqlite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-store-" });
  try {
    const store = await openStore(dir, { busyTimeoutMs: 250 });
    ok(store instanceof SqliteStore);
    strictEqual(store.path, join(dir, STATE_FILE));
    strictEqual((await store.settings()).busyTimeoutMs, 250);
    const doc = { amountMsat: 123_456_789n, hash: new Uint8Array([1, 2, 3]) };
    await store.put([{ key: "node/state", value: toJson(doc), version: 0 }]);
    await store.close();

    const again = await openStore(dir, { backend: "sqlite" });
    const entry = await again.get("node/state");
    strictEqual(entry?.version, 0);
    deepStrictEqual(fromJson(entry?.value as string), doc);
    await again.close();
    strictEqual(STATE_FILE, "state.sqlite");
    ok((await Deno.stat(join(dir, STATE_FILE))).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openStore: the memory backend touches no file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-store-" });
  try {
    const store = await openStore(dir, { backend: "memory" });
    ok(store instanceof MemoryStore);
    await store.put([{ key: "k", value: "1", version: 0 }]);
    deepStrictEqual(await store.get("k"), { key: "k", value: "1", version: 0 });
    await store.close();
    deepStrictEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openStore: a missing data directory or unknown backend is a StoreError", async () => {
  await rejectsStoreError(
    openStore("/nonexistent/warden-data-dir"),
    /^data directory \/nonexistent\/warden-data-dir: not found$/,
  );
  await rejectsStoreError(
    openStore("/tmp", { backend: "postgres" as never }),
    /^unknown store backend "postgres"$/,
  );
});
