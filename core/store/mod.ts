/**
 * Persistence: the versioned key-value {@link Store} interface, its in-memory and SQLite
 * implementations, {@link openStore} to open the store of a data directory, and the JSON codec
 * for state documents holding `bigint` and `Uint8Array` values.
 *
 * ```ts
 * import { openStore, toJson, fromJson } from "./mod.ts";
 * const store = await openStore("/var/lib/warden");
 * await store.put([{ key: "node/state", value: toJson({ fees: 1000n }), version: 0 }]);
 * const entry = await store.get("node/state"); // { key, value, version: 0 }
 * await store.close();
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { MemoryStore } from "./memory.ts";
import { SqliteStore, STATE_FILE } from "./sqlite.ts";
import { type Store, StoreError } from "./types.ts";

export * from "./types.ts";
export { MemoryStore } from "./memory.ts";
export {
  APPLICATION_ID,
  DEFAULT_BUSY_TIMEOUT_MS,
  SCHEMA_VERSION,
  SqliteStore,
  type SqliteStoreOptions,
  type SqliteStoreSettings,
  STATE_FILE,
} from "./sqlite.ts";
export { MAX_KEY_LENGTH } from "./_common.ts";
export { fromJson, JsonCodecError, toJson } from "./json.ts";

/** The kinds of store {@link openStore} can open. */
export type StoreBackend = "sqlite" | "memory";

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** `"sqlite"` (the default): `<dataDir>/state.sqlite`; `"memory"`: nothing is persisted. */
  backend?: StoreBackend;
  /** For SQLite: how long a writer waits for another writer's lock, in milliseconds. */
  busyTimeoutMs?: number;
}

/**
 * Opens the state store of the data directory `dataDir`, which must exist. With the default
 * SQLite backend the file is `<dataDir>/state.sqlite` ({@link STATE_FILE}), created with mode 0600
 * when missing. Rejects with {@link StoreError} as {@link SqliteStore.open} does.
 */
export function openStore(dataDir: string, options: OpenStoreOptions = {}): Promise<Store> {
  const backend = options.backend ?? "sqlite";
  switch (backend) {
    case "memory":
      return Promise.resolve(new MemoryStore());
    case "sqlite":
      return SqliteStore.open(join(dataDir, STATE_FILE), { busyTimeoutMs: options.busyTimeoutMs });
    default:
      return Promise.reject(new StoreError(`unknown store backend ${JSON.stringify(backend)}`));
  }
}
