/**
 * An in-memory {@link Store}: the reference implementation of the store's semantics, for tests,
 * replay and development. Nothing survives the process.
 *
 * It follows exactly the rules of the durable stores (see `types.ts` and `sqlite.ts`): batches
 * are atomic and checked write by write in order, a delete leaves a tombstone that keeps the
 * key's version, keys list in code point order, and the same inputs are refused. Stored data is
 * never shared with callers: writes are copied on entry and every entry returned is a new object.
 *
 * @module
 */
import { checkKey, checkPrefix, checkWrites, compareKeys, settle } from "./_common.ts";
import {
  type Store,
  type StoreEntry,
  StoreError,
  type StoreWrite,
  VersionConflictError,
} from "./types.ts";

/** A stored row: a live value, or a tombstone (`value === null`) that keeps the version. */
interface Row {
  value: string | null;
  version: number;
}

/** A {@link Store} held in a `Map`. Atomic (all or nothing), but not durable. */
export class MemoryStore implements Store {
  #rows = new Map<string, Row>();
  #closed = false;

  /** The live entry at `key`, or undefined when it was never written or was deleted. */
  get(key: string): Promise<StoreEntry | undefined> {
    return settle(() => {
      this.#checkOpen();
      checkKey(key);
      const row = this.#rows.get(key);
      if (row === undefined || row.value === null) return undefined;
      return { key, value: row.value, version: row.version };
    });
  }

  /** Every live entry whose key starts with `prefix`, in code point order of the keys. */
  list(prefix: string): Promise<StoreEntry[]> {
    return settle(() => {
      this.#checkOpen();
      checkPrefix(prefix);
      const out: StoreEntry[] = [];
      for (const [key, row] of this.#rows) {
        if (row.value !== null && key.startsWith(prefix)) {
          out.push({ key, value: row.value, version: row.version });
        }
      }
      return out.sort((a, b) => compareKeys(a.key, b.key));
    });
  }

  /**
   * Applies every write or none. Each write is checked against the state left by the writes
   * before it in the same batch; the first mismatch rejects with {@link VersionConflictError}.
   */
  put(writes: StoreWrite[]): Promise<void> {
    return settle(() => {
      this.#checkOpen();
      const batch = checkWrites(writes);
      const staged = new Map<string, Row>();
      for (const w of batch) {
        const current = staged.get(w.key) ?? this.#rows.get(w.key);
        const expected = current === undefined ? 0 : current.version + 1;
        if (w.version !== expected) {
          throw new VersionConflictError(w.key, {
            attempted: w.version,
            stored: current?.version,
          });
        }
        staged.set(w.key, { value: w.value, version: w.version });
      }
      for (const [key, row] of staged) this.#rows.set(key, row);
    });
  }

  /** Drops every entry. Later calls reject with {@link StoreError}; closing again is a no-op. */
  close(): Promise<void> {
    this.#closed = true;
    this.#rows.clear();
    return Promise.resolve();
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreError("store is closed");
  }
}
