/**
 * The one crypto module. Every hash, signature and curve operation in the project goes through
 * here; the actual arithmetic is done by a swappable {@link CryptoBackend} (default: the noble
 * hybrid of `hybrid.ts`; `noble.ts` and `curves.ts` are the single-library backends).
 *
 * Strictness: verification rejects high-S signatures, non-canonical DER and invalid points.
 * Secrets: no function here logs or puts input bytes in an error message; {@link SecretBytes}
 * wraps long-lived secrets so that printing or serialising them shows nothing.
 *
 * @module
 */
import type { CryptoBackend } from "./backend.ts";
import { hybridBackend } from "./hybrid.ts";
import { derDecode, derEncode, DerError } from "./der.ts";
import { concat, utf8, zeroize } from "../bytes.ts";

export type { CryptoBackend } from "./backend.ts";
export { nobleBackend } from "./noble.ts";
export { curvesBackend } from "./curves.ts";
export { hybridBackend } from "./hybrid.ts";
export { derDecode, derEncode, DerError };

let backend: CryptoBackend = hybridBackend;

/** Replace the backend for the whole process (tests and benchmarks compare backends this way). */
export function useBackend(next: CryptoBackend): void {
  backend = next;
}

/** The backend in use. */
export function currentBackend(): CryptoBackend {
  return backend;
}

/** A crypto operation refused its input. The message never contains key or secret bytes. */
export class CryptoError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong, in words
   */
  constructor(message: string) {
    super(message);
    this.name = "CryptoError";
  }
}

function need(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new CryptoError(`${what} must be ${length} bytes`);
  }
}

// ---------------------------------------------------------------------------------------------
// Hashes

/** SHA-256. */
export function sha256(data: Uint8Array): Uint8Array {
  return backend.sha256(data);
}

/** Double SHA-256 (Bitcoin's hash256). */
export function sha256d(data: Uint8Array): Uint8Array {
  return backend.sha256(backend.sha256(data));
}

/** RIPEMD-160. */
export function ripemd160(data: Uint8Array): Uint8Array {
  return backend.ripemd160(data);
}

/** RIPEMD-160 of SHA-256 (Bitcoin's hash160). */
export function hash160(data: Uint8Array): Uint8Array {
  return backend.ripemd160(backend.sha256(data));
}

/** HMAC-SHA256. */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return backend.hmacSha256(key, data);
}

/** HMAC-SHA512. */
export function hmacSha512(key: Uint8Array, data: Uint8Array): Uint8Array {
  return backend.hmacSha512(key, data);
}

/** Options of {@link hkdfSha256}. */
export interface HkdfOptions {
  /** Salt; absent means empty (equivalent to 32 zero bytes, as CLN's zero counter salt). */
  salt?: Uint8Array;
  /** Context string or bytes. */
  info?: string | Uint8Array;
  /** Output length in bytes, at most 255 * 32. Default 32. */
  length?: number;
}

/** HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info` to `length` bytes. */
export function hkdfSha256(ikm: Uint8Array, options: HkdfOptions = {}): Uint8Array {
  const length = options.length ?? 32;
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw new CryptoError("HKDF length out of range");
  }
  const info = typeof options.info === "string"
    ? utf8(options.info)
    : options.info ?? new Uint8Array();
  const prk = backend.hmacSha256(options.salt ?? new Uint8Array(32), ikm);
  const out = new Uint8Array(length);
  let block: Uint8Array = new Uint8Array();
  for (let i = 0, off = 0; off < length; i++) {
    block = backend.hmacSha256(prk, concat(block, info, Uint8Array.of(i + 1)));
    out.set(block.subarray(0, Math.min(32, length - off)), off);
    off += 32;
  }
  zeroize(prk, block);
  return out;
}

/** BIP-340 tagged hash: SHA256(SHA256(tag) || SHA256(tag) || msg...). */
export function taggedHash(tag: string, ...messages: Uint8Array[]): Uint8Array {
  const t = backend.sha256(utf8(tag));
  return backend.sha256(concat(t, t, ...messages));
}

// ---------------------------------------------------------------------------------------------
// Keys and points

/** Whether `secret` is a usable secp256k1 secret key. */
export function isValidSecretKey(secret: Uint8Array): boolean {
  return secret instanceof Uint8Array && secret.length === 32 && backend.isValidSecretKey(secret);
}

/** Whether `point` is a valid compressed secp256k1 point. */
export function isValidPublicKey(point: Uint8Array): boolean {
  return point instanceof Uint8Array && point.length === 33 && backend.isValidPublicKey(point);
}

function needSecret(secret: Uint8Array, what = "secret key"): void {
  need(secret, 32, what);
  if (!backend.isValidSecretKey(secret)) throw new CryptoError(`${what} is out of range`);
}

function needPoint(point: Uint8Array, what = "public key"): void {
  need(point, 33, what);
  if (!backend.isValidPublicKey(point)) throw new CryptoError(`${what} is not a valid point`);
}

/** The 33-byte compressed public key of `secret`. */
export function publicKey(secret: Uint8Array): Uint8Array {
  needSecret(secret);
  return backend.publicKey(secret);
}

/** The 32-byte x-only (BIP-340) public key of `secret`. */
export function xOnlyPublicKey(secret: Uint8Array): Uint8Array {
  return publicKey(secret).subarray(1);
}

/** `a + b` for two points. */
export function pointAdd(a: Uint8Array, b: Uint8Array): Uint8Array {
  needPoint(a, "first point");
  needPoint(b, "second point");
  try {
    return backend.pointAdd(a, b);
  } catch {
    throw new CryptoError("point sum is the point at infinity");
  }
}

/** Options of {@link pointMultiply}. */
export interface MultiplyOptions {
  /**
   * The scalar is public (for example a BOLT-3 tweak hashed from public points), so a faster
   * multiplication that is not constant-time may be used. Never set it for a secret scalar.
   */
  publicScalar?: boolean;
}

/** `scalar * point` (a tweak by multiplication). Constant-time in the scalar unless told otherwise. */
export function pointMultiply(
  point: Uint8Array,
  scalar: Uint8Array,
  options: MultiplyOptions = {},
): Uint8Array {
  needPoint(point);
  needSecret(scalar, "scalar");
  return backend.pointMultiply(point, scalar, options.publicScalar === true);
}

/** `(a + b) mod n`: a secret key tweaked by addition. Inputs must be below the group order n. */
export function secretAdd(a: Uint8Array, b: Uint8Array): Uint8Array {
  need(a, 32, "scalar");
  need(b, 32, "scalar");
  try {
    return backend.scalarAdd(a, b);
  } catch (e) {
    const notBelow = e instanceof RangeError && e.message.includes("group order");
    throw new CryptoError(
      notBelow ? "scalar is not below the group order" : "tweaked secret is zero",
    );
  }
}

/** `(a * b) mod n`: a secret key tweaked by multiplication. */
export function secretMultiply(a: Uint8Array, b: Uint8Array): Uint8Array {
  needSecret(a, "scalar");
  needSecret(b, "scalar");
  return backend.scalarMultiply(a, b);
}

/** `-a mod n`. */
export function secretNegate(a: Uint8Array): Uint8Array {
  need(a, 32, "scalar");
  return backend.scalarNegate(a);
}

// ---------------------------------------------------------------------------------------------
// ECDSA

/** Options of {@link ecdsaSign}. */
export interface SignOptions {
  /** 32 bytes mixed into the RFC 6979 nonce (libsecp256k1's `ndata`). */
  extraEntropy?: Uint8Array;
}

/** RFC 6979 ECDSA, low-S, over a 32-byte digest. Returns the 64-byte compact signature. */
export function ecdsaSign(
  digest: Uint8Array,
  secret: Uint8Array,
  options: SignOptions = {},
): Uint8Array {
  need(digest, 32, "digest");
  needSecret(secret);
  if (options.extraEntropy) need(options.extraEntropy, 32, "extra entropy");
  return backend.ecdsaSign(digest, secret, options.extraEntropy).signature;
}

/**
 * ECDSA with a low R, as CLN and Bitcoin Core produce: RFC 6979 first, then, while R's top bit is
 * set, again with a little-endian counter 1, 2, ... as extra entropy. The DER form is then at most
 * 71 bytes. Deterministic for a given digest and key.
 */
export function ecdsaSignLowR(digest: Uint8Array, secret: Uint8Array): Uint8Array {
  need(digest, 32, "digest");
  needSecret(secret);
  let signature = backend.ecdsaSign(digest, secret).signature;
  const counter = new Uint8Array(32);
  for (let i = 1; signature[0] >= 0x80; i++) {
    new DataView(counter.buffer).setUint32(0, i, true);
    signature = backend.ecdsaSign(digest, secret, counter).signature;
  }
  return signature;
}

/** A compact signature with its recovery id (0..3). */
export interface RecoverableSignature {
  /** 64-byte compact `r || s`. */
  signature: Uint8Array;
  /** The recovery id. */
  recovery: number;
}

/** RFC 6979 ECDSA with the recovery id (BOLT-11 invoices, signed messages). */
export function ecdsaSignRecoverable(digest: Uint8Array, secret: Uint8Array): RecoverableSignature {
  need(digest, 32, "digest");
  needSecret(secret);
  return backend.ecdsaSign(digest, secret);
}

/**
 * Strict verification of a compact signature: rejects high-S, an invalid key or a signature whose
 * r or s is out of range. Never throws on malformed input; returns false.
 */
export function ecdsaVerify(
  signature: Uint8Array,
  digest: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (signature?.length !== 64 || digest?.length !== 32 || !isValidPublicKey(publicKey)) {
    return false;
  }
  return backend.ecdsaVerify(signature, digest, publicKey);
}

/** Strict verification of a DER signature (without sighash byte): BIP-66 encoding and low-S. */
export function ecdsaVerifyDer(
  der: Uint8Array,
  digest: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  let compact: Uint8Array;
  try {
    compact = derDecode(der);
  } catch {
    return false;
  }
  return ecdsaVerify(compact, digest, publicKey);
}

/** The public key that made `signature` over `digest`, given its recovery id. */
export function ecdsaRecover(
  signature: Uint8Array,
  recovery: number,
  digest: Uint8Array,
): Uint8Array {
  need(signature, 64, "signature");
  need(digest, 32, "digest");
  if (!Number.isInteger(recovery) || recovery < 0 || recovery > 3) {
    throw new CryptoError("recovery id must be 0..3");
  }
  try {
    return backend.ecdsaRecover(signature, recovery, digest);
  } catch {
    throw new CryptoError("no public key recovers from this signature");
  }
}

// ---------------------------------------------------------------------------------------------
// ECDH and Schnorr

/** ECDH in libsecp256k1's default (CLN) form: SHA256 of the compressed point `secret * point`. */
export function ecdh(secret: Uint8Array, point: Uint8Array): Uint8Array {
  needSecret(secret);
  needPoint(point);
  const shared = backend.pointMultiply(point, secret);
  const out = backend.sha256(shared);
  zeroize(shared);
  return out;
}

/** Options of {@link schnorrSign}. */
export interface SchnorrOptions {
  /** BIP-340 auxiliary randomness (32 bytes); zeros if absent, which keeps signing deterministic. */
  auxRand?: Uint8Array;
}

/** BIP-340 Schnorr signature over a 32-byte message. */
export function schnorrSign(
  message: Uint8Array,
  secret: Uint8Array,
  options: SchnorrOptions = {},
): Uint8Array {
  need(message, 32, "message");
  needSecret(secret);
  if (options.auxRand) need(options.auxRand, 32, "aux randomness");
  return backend.schnorrSign(message, secret, options.auxRand);
}

/** BIP-340 verification against a 32-byte x-only key. Returns false on malformed input. */
export function schnorrVerify(
  signature: Uint8Array,
  message: Uint8Array,
  xOnlyKey: Uint8Array,
): boolean {
  if (signature?.length !== 64 || message?.length !== 32 || xOnlyKey?.length !== 32) return false;
  return backend.schnorrVerify(signature, message, xOnlyKey);
}

/** Upper bound of one {@link randomBytes} request (1 MiB). */
export const MAX_RANDOM_BYTES = 1 << 20;

/**
 * Cryptographically secure random bytes.
 * @throws {CryptoError} when `length` is not an integer in 0..{@link MAX_RANDOM_BYTES}
 */
export function randomBytes(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_RANDOM_BYTES) {
    throw new CryptoError(`random length must be an integer in 0..${MAX_RANDOM_BYTES}`);
  }
  return backend.randomBytes(length);
}

// ---------------------------------------------------------------------------------------------
// Secrets

const REDACTED = "[redacted]";

/**
 * A long-lived secret (seed, channel secrets, private keys). Printing, `String()`, JSON and Deno's
 * inspector all show `[redacted]`; the bytes come out only through {@link SecretBytes.expose}.
 */
export class SecretBytes {
  #bytes: Uint8Array;

  /** Takes ownership of `bytes` (the caller should not keep using the array). */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** The secret bytes. Do not log them, put them in errors or keep copies longer than needed. */
  expose(): Uint8Array {
    return this.#bytes;
  }

  /** Length in bytes. */
  get length(): number {
    return this.#bytes.length;
  }

  /** Overwrite the bytes with zeros. */
  zeroize(): void {
    zeroize(this.#bytes);
  }

  /** Always `[redacted]`. */
  toString(): string {
    return REDACTED;
  }

  /** Always `"[redacted]"`. */
  toJSON(): string {
    return REDACTED;
  }

  /** Deno's inspector hook: `[redacted]`. */
  [Symbol.for("Deno.customInspect")](): string {
    return `SecretBytes(${REDACTED})`;
  }

  /** Node's inspector hook: `[redacted]`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `SecretBytes(${REDACTED})`;
  }
}
