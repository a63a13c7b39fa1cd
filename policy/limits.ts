/**
 * Rolling windows of `limit sum AMOUNT over WINDOW <= CAP` clauses (policy/README.md, "Limits").
 *
 * A window of W seconds is split into 24 buckets of B = ceil(W / 24) seconds; an amount recorded
 * at time t lands in bucket floor(t / B). The window's total at time `now` is the sum of the
 * current bucket and the 24 before it (and of any bucket in the future, should the clock step
 * back), so an amount counts for at least W and at most W + B seconds: the cap holds over every
 * interval of W seconds, never less. Memory per clause is constant (25 buckets).
 *
 * State is keyed by rule id and clause index (`policy/limit/<rule>/<clause>`) and persisted
 * through the {@link Store}: the engine never writes; {@link LimitState.writes} gives the writes the
 * caller adds to its own atomic batch, and {@link LimitState.commit} applies them to memory once
 * that batch is durable. Time is passed in (seconds), never read from the clock.
 *
 * @module
 */
import type { Store, StoreWrite } from "../core/store/types.ts";

/** Buckets per window. */
export const BUCKETS_PER_WINDOW = 24;

/** The store key prefix of limit windows. */
export const LIMIT_KEY_PREFIX = "policy/limit/";

/** The store key of a limit clause's window. */
export function limitKey(rule: string, clause: number): string {
  return `${LIMIT_KEY_PREFIX}${rule}/${clause}`;
}

/** An amount to add to a limit window once the decision's operation is durable. */
export interface LimitUpdate {
  /** The rule id. */
  rule: string;
  /** The clause index within the rule. */
  clause: number;
  /** The store key of the window. */
  key: string;
  /** The window's length in seconds. */
  windowSeconds: number;
  /** The request's time (seconds). */
  at: number;
  /** The amount, as a decimal string (JSON-safe). */
  amount: string;
}

/** A window's state could not be read or written. */
export class LimitStateError extends Error {
  /**
   * Creates the error.
   * @param message what failed
   */
  constructor(message: string) {
    super(message);
    this.name = "LimitStateError";
  }
}

/** The bucket size of a window: ceil(W / 24) seconds. */
export function bucketSeconds(windowSeconds: number): number {
  return Math.max(1, Math.ceil(windowSeconds / BUCKETS_PER_WINDOW));
}

/** One clause's window: buckets by index, and the stored version. */
class Window {
  readonly bucket: number;
  buckets = new Map<number, bigint>();
  version: number | undefined;

  constructor(readonly windowSeconds: number) {
    this.bucket = bucketSeconds(windowSeconds);
  }

  index(at: number): number {
    return Math.floor(at / this.bucket);
  }

  total(now: number): bigint {
    const oldest = this.index(now) - BUCKETS_PER_WINDOW;
    let total = 0n;
    for (const [i, amount] of this.buckets) if (i >= oldest) total += amount;
    return total;
  }

  /** The buckets after adding `amount` at `at` and dropping those too old to count at `at`. */
  after(at: number, amount: bigint): Map<number, bigint> {
    const oldest = this.index(at) - BUCKETS_PER_WINDOW;
    const next = new Map<number, bigint>();
    for (const [i, a] of this.buckets) if (i >= oldest) next.set(i, a);
    const i = this.index(at);
    next.set(i, (next.get(i) ?? 0n) + amount);
    return next;
  }

  encode(buckets: Map<number, bigint>): string {
    const list = [...buckets].sort((a, b) => a[0] - b[0]).map(([i, a]) => [i, a.toString()]);
    return JSON.stringify({
      window_seconds: this.windowSeconds,
      bucket_seconds: this.bucket,
      buckets: list,
    });
  }

  /** Loads stored buckets; buckets of another size are moved to the bucket of their last second. */
  decode(value: string, key: string): void {
    let parsed: { bucket_seconds?: unknown; buckets?: unknown };
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new LimitStateError(`limit window ${key} is not valid JSON`);
    }
    const size = parsed.bucket_seconds;
    if (
      typeof size !== "number" || !Number.isSafeInteger(size) || size <= 0 ||
      !Array.isArray(parsed.buckets)
    ) {
      throw new LimitStateError(`limit window ${key} is malformed`);
    }
    this.buckets = new Map();
    for (const entry of parsed.buckets) {
      if (
        !Array.isArray(entry) || !Number.isSafeInteger(entry[0]) || typeof entry[1] !== "string" ||
        !/^[0-9]+$/.test(entry[1])
      ) {
        throw new LimitStateError(`limit window ${key} has a malformed bucket`);
      }
      const i = size === this.bucket ? entry[0] : this.index((entry[0] + 1) * size - 1);
      this.buckets.set(i, (this.buckets.get(i) ?? 0n) + BigInt(entry[1]));
    }
  }
}

/** The windows of every limit clause of a policy. */
export class LimitState {
  readonly #windows = new Map<string, Window>();

  /**
   * Creates empty windows.
   * @param limits each limit clause's store key and window length in seconds
   */
  constructor(limits: readonly { key: string; windowSeconds: number }[]) {
    for (const l of limits) this.#windows.set(l.key, new Window(l.windowSeconds));
  }

  #window(key: string): Window {
    const w = this.#windows.get(key);
    if (w === undefined) throw new LimitStateError(`no limit window ${key} in this policy`);
    return w;
  }

  /** The sum recorded in the window `key` as seen at `now`. */
  total(key: string, now: number): bigint {
    return this.#window(key).total(now);
  }

  /** Adds an amount to memory directly (example histories; tests). */
  record(key: string, at: number, amount: bigint): void {
    const w = this.#window(key);
    w.buckets = w.after(at, amount);
  }

  /** Reads every window of this policy from the store (windows absent from it stay empty). */
  async load(store: Store): Promise<void> {
    for (const [key, w] of this.#windows) {
      const entry = await store.get(key);
      w.buckets = new Map();
      w.version = undefined;
      if (entry === undefined) continue;
      w.decode(entry.value, key);
      w.version = entry.version;
    }
  }

  /** The store writes that record `updates` (versioned after the loaded or committed state). */
  writes(updates: readonly LimitUpdate[]): StoreWrite[] {
    return updates.map((u) => {
      const w = this.#window(u.key);
      return {
        key: u.key,
        value: w.encode(w.after(u.at, BigInt(u.amount))),
        version: w.version === undefined ? 0 : w.version + 1,
      };
    });
  }

  /** Applies `updates` to memory, after the writes from {@link LimitState.writes} are durable. */
  commit(updates: readonly LimitUpdate[]): void {
    for (const u of updates) {
      const w = this.#window(u.key);
      w.buckets = w.after(u.at, BigInt(u.amount));
      w.version = w.version === undefined ? 0 : w.version + 1;
    }
  }
}
