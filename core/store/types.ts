/**
 * The `Store` interface: a small versioned key-value store. Every piece of signer state (channels,
 * node state, velocity windows, the allowlist) is persisted through it, and every state change is
 * one atomic {@link Store.put} that is durable before the signature or secret depending on it is
 * released.
 *
 * Versions (as VLS's KVV stores): a key that does not exist has no version; the first write of a
 * key carries version 0, and every later write carries exactly the stored version + 1. A write whose
 * version is anything else is a conflict and the whole batch is refused, so a stale or concurrent
 * writer can never silently overwrite newer state.
 *
 * Deletes (a write whose value is `null`) follow the same version rule and leave a tombstone: the
 * key then reads as absent, but it keeps the delete's version, so a later re-creation carries that
 * version + 1 (a write of version 0 is a conflict). A key's versions never restart, so one
 * `(key, version)` pair always names one value, as in VLS (which deletes by writing an empty value
 * at version + 1), whose channel keys are never reused once forgotten.
 *
 * @module
 */

/** One stored value with its version. */
export interface StoreEntry {
  /** The key (`/`-separated path, e.g. `channel/<id hex>`). */
  key: string;
  /** The value, a JSON document. */
  value: string;
  /** The value's version: 0 for the first write, +1 for each later one. */
  version: number;
}

/** One write in an atomic batch. */
export interface StoreWrite {
  /** The key. */
  key: string;
  /** The new value, or `null` to delete the key. */
  value: string | null;
  /**
   * The new version: 0 when the key was never written, otherwise the stored version + 1 (for a
   * deleted key, the version of its tombstone + 1).
   */
  version: number;
}

/** A versioned key-value store. Implementations must make {@link Store.put} atomic and durable. */
export interface Store {
  /** The entry at `key`, or undefined. */
  get(key: string): Promise<StoreEntry | undefined>;
  /** Every entry whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<StoreEntry[]>;
  /**
   * Apply every write or none. Resolves only once the batch is durable; rejects with
   * {@link VersionConflictError} (and changes nothing) if any write's version is not exactly the
   * stored version + 1 (or 0 for a key that does not exist).
   */
  put(writes: StoreWrite[]): Promise<void>;
  /** Release the store's resources. */
  close(): Promise<void>;
}

/** A write's version does not follow the stored one: the batch was refused and nothing changed. */
export class VersionConflictError extends Error {
  /** The key whose version did not match. */
  readonly key: string;
  /** The version the write carried. */
  readonly attempted: number;
  /**
   * The version currently stored (a deleted key's tombstone keeps one), or undefined when the key
   * was never written.
   */
  readonly stored: number | undefined;

  /**
   * Creates the error.
   * @param key the conflicting key
   * @param versions the attempted and the stored version
   */
  constructor(key: string, versions: { attempted: number; stored: number | undefined }) {
    super(
      `version conflict on ${key}: write carries ${versions.attempted}, stored is ${
        versions.stored ?? "absent"
      }`,
    );
    this.name = "VersionConflictError";
    this.key = key;
    this.attempted = versions.attempted;
    this.stored = versions.stored;
  }
}

/** The store failed (I/O, corruption, closed). The message never contains stored values. */
export class StoreError extends Error {
  /**
   * Creates the error.
   * @param message what failed
   */
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}
