/**
 * Per-commitment secrets (BOLT #3, "Per-commitment Secret Requirements" and "Efficient
 * Per-commitment Secret Storage"): generating a secret from the channel's shachain seed, and the
 * compact 49-slot store of the secrets received from the counterparty.
 *
 * Indices: the spec's secrets are indexed from 2^48-1 downwards; commitment numbers count up
 * from 0. {@link commitmentNumberToIndex} and {@link indexToCommitmentNumber} convert.
 * All 48-bit values are JavaScript numbers (exact below 2^53).
 *
 * @module
 */
import { constantTimeEqual, fromHex, toHex, zeroize } from "../bytes.ts";
import { SecretBytes, sha256 } from "../crypto/mod.ts";

/** The first (largest) per-commitment index: 2^48 - 1, used for commitment number 0. */
export const SHACHAIN_START_INDEX = 281474976710655;

/** Number of slots of the compact store: one per possible count of trailing zeros (0..48). */
export const SHACHAIN_SLOTS = 49;

const TWO_POW_48 = 281474976710656;

/** Why a per-commitment secret or index was refused. */
export type ShachainErrorCode =
  | "bad-index"
  | "bad-secret"
  | "not-chained"
  | "out-of-order"
  | "conflict"
  | "bad-import";

/** A per-commitment secret, index or stored set was refused. Never carries secret bytes. */
export class ShachainError extends Error {
  /** Machine-readable reason. */
  readonly code: ShachainErrorCode;
  /**
   * Creates the object from its parts.
   * @param code machine-readable reason
   * @param message what was wrong, in words, without any secret
   */
  constructor(code: ShachainErrorCode, message: string) {
    super(message);
    this.name = "ShachainError";
    this.code = code;
  }
}

function checkIndex(index: number, what = "index"): void {
  if (!Number.isSafeInteger(index) || index < 0 || index > SHACHAIN_START_INDEX) {
    throw new ShachainError("bad-index", `${what} must be an integer in 0..2^48-1`);
  }
}

function checkSecret(secret: Uint8Array, what: string): void {
  if (!(secret instanceof Uint8Array) || secret.length !== 32) {
    throw new ShachainError("bad-secret", `${what} must be 32 bytes`);
  }
}

/** Bit `b` (0 = least significant) of a 48-bit index. */
function bit(index: number, b: number): boolean {
  return Math.floor(index / 2 ** b) % 2 === 1;
}

/** `index` with its lowest `bits` bits cleared. */
function clearLow(index: number, bits: number): number {
  return index - (index % 2 ** bits);
}

/**
 * The spec's `derive_secret(base, bits, I)`: flip and hash for each of the lowest `bits` bits of
 * `index` that is set, from the highest down.
 */
function deriveSecret(base: Uint8Array, bits: number, index: number): Uint8Array {
  let p: Uint8Array = base.slice();
  for (let b = bits - 1; b >= 0; b--) {
    if (bit(index, b)) {
      p[b >> 3] ^= 1 << (b & 7);
      const next = sha256(p);
      zeroize(p);
      p = next;
    }
  }
  return p;
}

/**
 * The spec's `generate_from_seed(seed, I)` (BOLT #3, Per-commitment Secret Requirements): the
 * per-commitment secret of index `index` (2^48-1 for the first commitment).
 */
export function generateFromSeed(seed: Uint8Array, index: number): Uint8Array {
  checkSecret(seed, "shachain seed");
  checkIndex(index);
  return deriveSecret(seed, 48, index);
}

/** The BOLT #3 secret index of commitment number `n` (counting up from 0): 2^48-1-n. */
export function commitmentNumberToIndex(n: number): number {
  checkIndex(n, "commitment number");
  return SHACHAIN_START_INDEX - n;
}

/** The commitment number (counting up from 0) of BOLT #3 secret index `index`: 2^48-1-index. */
export function indexToCommitmentNumber(index: number): number {
  checkIndex(index);
  return SHACHAIN_START_INDEX - index;
}

/**
 * The spec's `where_to_put_secret(I)`: the count of trailing zero bits of `index` (48 for 0), which
 * is also the slot of the compact store holding it.
 */
export function slotOfIndex(index: number): number {
  checkIndex(index);
  for (let b = 0; b < 48; b++) if (bit(index, b)) return b;
  return 48;
}

/** One stored secret, as persisted. */
export interface ShachainEntryJson {
  /** The secret's BOLT #3 index (48-bit). */
  index: number;
  /** The 32-byte secret as lower-case hex. */
  secret: string;
}

/** The persisted form of a {@link ShachainStore} (plain JSON; it holds secrets: store it safely). */
export interface ShachainStoreJson {
  /** Format version, 1. */
  version: 1;
  /** The occupied slots in slot order (at most 49 entries). */
  entries: ShachainEntryJson[];
}

interface Slot {
  index: number;
  secret: SecretBytes;
}

/**
 * The compact store of received per-commitment secrets (BOLT #3, Efficient Per-commitment Secret
 * Storage): at most 49 secrets, from which every secret received so far can be derived.
 *
 * Secrets must arrive in order: the first at index 2^48-1, each next one at the previous index
 * minus one (that is what makes the 49 slots sufficient). Re-inserting a known secret is a no-op;
 * a different secret for a known index, a gap, or a secret that does not chain with the ones
 * already held is refused with a {@link ShachainError} and leaves the store unchanged.
 */
export class ShachainStore {
  #slots: (Slot | undefined)[] = new Array(SHACHAIN_SLOTS).fill(undefined);
  #min: number | undefined = undefined;

  /** The index of the next secret expected, or undefined once index 0 has been received. */
  get nextIndex(): number | undefined {
    if (this.#min === undefined) return SHACHAIN_START_INDEX;
    return this.#min === 0 ? undefined : this.#min - 1;
  }

  /** The lowest index received so far (the latest secret), or undefined when empty. */
  get lowestIndex(): number | undefined {
    return this.#min;
  }

  /**
   * The spec's `insert_secret(secret, I)`. Throws {@link ShachainError}: `not-chained` when an
   * already-stored secret cannot be derived from this one, `out-of-order` for an unexpected index,
   * `conflict` for a different secret at a known index.
   */
  insertSecret(secret: Uint8Array, index: number): void {
    checkSecret(secret, "per-commitment secret");
    checkIndex(index);
    if (this.#min !== undefined && index >= this.#min) {
      const known = this.lookup(index);
      const same = known !== undefined && constantTimeEqual(known, secret);
      if (known) zeroize(known);
      if (same) return;
      throw new ShachainError("conflict", `a different secret is already known for index ${index}`);
    }
    const expected = this.nextIndex;
    if (index !== expected) {
      throw new ShachainError("out-of-order", `expected secret index ${expected}, got ${index}`);
    }
    const pos = slotOfIndex(index);
    for (let i = 0; i < pos; i++) {
      const slot = this.#slots[i];
      if (!slot) continue;
      const derived = deriveSecret(secret, pos, slot.index);
      const ok = constantTimeEqual(derived, slot.secret.expose());
      zeroize(derived);
      if (!ok) {
        throw new ShachainError(
          "not-chained",
          `secret for index ${index} does not derive the stored secret for index ${slot.index}`,
        );
      }
    }
    this.#slots[pos]?.secret.zeroize();
    this.#slots[pos] = { index, secret: new SecretBytes(secret.slice()) };
    this.#min = index;
  }

  /**
   * The secret of `index` if it was received (derived from the slot that covers it), else
   * undefined. The caller owns the returned copy.
   */
  lookup(index: number): Uint8Array | undefined {
    checkIndex(index);
    if (this.#min === undefined || index < this.#min) return undefined;
    for (let i = 0; i < SHACHAIN_SLOTS; i++) {
      const slot = this.#slots[i];
      if (slot && clearLow(index, i) === slot.index) {
        return deriveSecret(slot.secret.expose(), i, index);
      }
    }
    return undefined;
  }

  /** The persisted form (contains the secrets as hex). */
  export(): ShachainStoreJson {
    const entries: ShachainEntryJson[] = [];
    for (const slot of this.#slots) {
      if (slot) entries.push({ index: slot.index, secret: toHex(slot.secret.expose()) });
    }
    return { version: 1, entries };
  }

  /**
   * Rebuild a store from {@link ShachainStore.export}'s output. Validates everything: format,
   * that each entry sits in the slot its index implies, that the set of indices is exactly what an
   * in-order insertion down to the lowest index leaves, and that every secret chains. Throws
   * {@link ShachainError} with code `bad-import` otherwise.
   */
  static import(json: unknown): ShachainStore {
    const fail = (why: string): never => {
      throw new ShachainError("bad-import", `invalid shachain store: ${why}`);
    };
    if (typeof json !== "object" || json === null) fail("not an object");
    const obj = json as Record<string, unknown>;
    if (obj.version !== 1) fail("unknown version");
    if (!Array.isArray(obj.entries)) fail("entries is not an array");
    const entries = obj.entries as unknown[];
    if (entries.length > SHACHAIN_SLOTS) fail("too many entries");
    const store = new ShachainStore();
    const slots: (Slot | undefined)[] = new Array(SHACHAIN_SLOTS).fill(undefined);
    let min: number | undefined;
    for (const e of entries) {
      if (typeof e !== "object" || e === null) fail("entry is not an object");
      const { index, secret } = e as Record<string, unknown>;
      if (typeof index !== "number" || !Number.isSafeInteger(index)) fail("bad index");
      if (typeof secret !== "string" || !/^[0-9a-f]{64}$/.test(secret)) fail("bad secret hex");
      const idx = index as number;
      if (idx < 0 || idx > SHACHAIN_START_INDEX) fail("index out of range");
      const pos = slotOfIndex(idx);
      if (slots[pos]) fail(`two entries for slot ${pos}`);
      slots[pos] = { index: idx, secret: new SecretBytes(fromHex(secret as string)) };
      min = min === undefined ? idx : Math.min(min, idx);
    }
    if (min !== undefined) {
      for (let i = 0; i < SHACHAIN_SLOTS; i++) {
        const want = expectedSlotIndex(min, i);
        if (want !== slots[i]?.index) fail(`slot ${i} does not match an in-order insertion`);
      }
      for (let b = 0; b < SHACHAIN_SLOTS; b++) {
        const hi = slots[b];
        if (!hi) continue;
        for (let i = 0; i < b; i++) {
          const lo = slots[i];
          // Only secrets already held when `hi` arrived (higher indices) were checked against it.
          if (!lo || lo.index < hi.index) continue;
          if (clearLow(lo.index, b) !== hi.index) fail(`slot ${i} is not covered by slot ${b}`);
          const derived = deriveSecret(hi.secret.expose(), b, lo.index);
          const ok = constantTimeEqual(derived, lo.secret.expose());
          zeroize(derived);
          if (!ok) fail(`secret of index ${lo.index} does not chain`);
        }
      }
    }
    store.#slots = slots;
    store.#min = min;
    return store;
  }

  /** Overwrite every stored secret with zeros and empty the store. */
  zeroize(): void {
    for (const slot of this.#slots) slot?.secret.zeroize();
    this.#slots = new Array(SHACHAIN_SLOTS).fill(undefined);
    this.#min = undefined;
  }

  /** Never shows secrets. */
  toString(): string {
    return `ShachainStore(lowestIndex=${this.#min ?? "none"})`;
  }

  /** JSON of the store is redacted: persist with {@link ShachainStore.export} instead. */
  toJSON(): string {
    return this.toString();
  }

  /** Deno's inspector hook: no secrets. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

/**
 * The index that slot `slot` holds after secrets 2^48-1 down to `min` were inserted in order: the
 * smallest index >= `min` with exactly `slot` trailing zeros, or undefined if there is none.
 */
function expectedSlotIndex(min: number, slot: number): number | undefined {
  if (slot === 48) return min === 0 ? 0 : undefined;
  const step = 2 ** (slot + 1);
  const offset = 2 ** slot;
  const k = Math.max(0, Math.ceil((min - offset) / step));
  const x = k * step + offset;
  return x < TWO_POW_48 ? x : undefined;
}
