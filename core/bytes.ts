/**
 * Byte helpers shared by every module: hex, concatenation, comparison and fixed-width integers.
 *
 * Nothing here hashes or signs: that is `core/crypto/`. These helpers never log their input, so
 * they are safe on secrets; {@link constantTimeEqual} is the one to use when a secret is compared.
 *
 * @module
 */

/** Raised when bytes or hex handed to a helper here are malformed. Carries no input bytes. */
export class BytesError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong, never the bytes themselves
   */
  constructor(message: string) {
    super(message);
    this.name = "BytesError";
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

/**
 * Bytes of a hex string (either case, no `0x`). Throws {@link BytesError} on odd length, a non-hex
 * character, or, when `length` is given, a different byte length.
 */
export function fromHex(hex: string, length?: number): Uint8Array {
  if (hex.length % 2 !== 0) throw new BytesError(`hex string has odd length ${hex.length}`);
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw new BytesError("hex string has a non-hex character");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  if (length !== undefined && out.length !== length) {
    throw new BytesError(`expected ${length} bytes of hex, got ${out.length}`);
  }
  return out;
}

/** The concatenation of `parts`. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Byte-wise equality; not constant time (use {@link constantTimeEqual} for secrets). */
export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Equality whose running time depends only on the lengths, never on where the bytes differ.
 * Use it whenever either side is a secret (per-commitment secrets, preimages, seeds).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const n = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Lexicographic comparison (-1, 0, 1), shorter-is-smaller on a common prefix. */
export function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** A reversed copy (txids are shown reversed: display order vs internal order). */
export function reverse(bytes: Uint8Array): Uint8Array {
  return bytes.slice().reverse();
}

/** Overwrite `bytes` with zeros, the best the JavaScript runtime allows for erasing a secret. */
export function zeroize(...buffers: Uint8Array[]): void {
  for (const b of buffers) b.fill(0);
}

/** `n` as 2 bytes big-endian. */
export function u16be(n: number): Uint8Array {
  checkInt(n, 0xffff);
  return Uint8Array.of(n >>> 8, n & 0xff);
}

/** `n` as 4 bytes big-endian. */
export function u32be(n: number): Uint8Array {
  checkInt(n, 0xffffffff);
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** `n` as 4 bytes little-endian. */
export function u32le(n: number): Uint8Array {
  checkInt(n, 0xffffffff);
  return Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
}

/** `n` as 8 bytes big-endian. */
export function u64be(n: bigint): Uint8Array {
  checkU64(n);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, false);
  return out;
}

/** `n` as 8 bytes little-endian. */
export function u64le(n: bigint): Uint8Array {
  checkU64(n);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, true);
  return out;
}

/** Big-endian unsigned integer of any width as a bigint. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** `n` as exactly `length` big-endian bytes; throws if it does not fit. */
export function bigIntToBytes(n: bigint, length: number): Uint8Array {
  if (n < 0n) throw new BytesError("negative integer");
  const out = new Uint8Array(length);
  let v = n;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new BytesError(`integer does not fit in ${length} bytes`);
  return out;
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function checkInt(n: number, max: number): void {
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new BytesError(`integer ${n} out of range 0..${max}`);
  }
}

function checkU64(n: bigint): void {
  if (n < 0n || n > 0xffffffffffffffffn) throw new BytesError(`integer ${n} out of u64 range`);
}
