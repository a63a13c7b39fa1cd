/**
 * BIP-32 hierarchical deterministic keys: the master key of a seed, private and public child
 * derivation (hardened and normal), fingerprints, and the 78-byte base58check serialisation
 * (`xprv`/`xpub`/`tprv`/`tpub`) with strict parsing (every check of BIP-32 test vector 5).
 *
 * All hashing and curve arithmetic goes through `core/crypto`. Private keys are held in
 * {@link SecretBytes}; printing an {@link ExtendedPrivateKey} never shows them.
 *
 * @module
 */
import { createBase58check } from "@scure/base";
import { concat, u32be } from "../bytes.ts";
import {
  CryptoError,
  hash160,
  hmacSha512,
  isValidPublicKey,
  isValidSecretKey,
  pointAdd,
  publicKey,
  secretAdd,
  SecretBytes,
  sha256,
} from "../crypto/mod.ts";
import { networkParams, NETWORKS } from "../bitcoin/network.ts";

/** The first hardened child index, 2^31 (BIP-32 "i_H"). */
export const HARDENED = 0x80000000;

/** Length in bytes of a serialised extended key (before the 4 checksum bytes). */
export const EXTENDED_KEY_LENGTH = 78;

/** A BIP-32 operation refused its input. Messages never contain key bytes. */
export class Bip32Error extends Error {
  /**
   * Creates the error.
   * @param message what was wrong, in words
   */
  constructor(message: string) {
    super(message);
    this.name = "Bip32Error";
  }
}

const base58check = createBase58check(sha256);
const MASTER_HMAC_KEY = new TextEncoder().encode("Bitcoin seed");

/** BIP-32 version bytes of one network: `public` (xpub/tpub) and `private` (xprv/tprv). */
export interface Bip32Versions {
  /** Version of serialised public keys, e.g. 0x0488b21e (`xpub`). */
  public: number;
  /** Version of serialised private keys, e.g. 0x0488ade4 (`xprv`). */
  private: number;
}

/** Mainnet versions (`xpub`/`xprv`). */
export const MAINNET_VERSIONS: Bip32Versions = networkParams("bitcoin").bip32;

/** The version pairs of every known network, deduplicated (mainnet and the test networks). */
export function knownVersions(): Bip32Versions[] {
  const out: Bip32Versions[] = [];
  for (const name of NETWORKS) {
    const v = networkParams(name).bip32;
    if (!out.some((o) => o.public === v.public && o.private === v.private)) out.push(v);
  }
  return out;
}

/** Fields shared by private and public extended keys (BIP-32 "Serialization format"). */
export interface ExtendedKeyFields {
  /** 0 for the master, 1 for its children, ... */
  depth: number;
  /** First 4 bytes of HASH160 of the parent's public key, as a big-endian u32 (0 for master). */
  parentFingerprint: number;
  /** The child index this key was derived with (>= {@link HARDENED} for hardened; 0 for master). */
  childNumber: number;
  /** 32-byte chain code. */
  chainCode: Uint8Array;
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new Bip32Error(`child index ${index} out of range 0..2^32-1`);
  }
}

function fingerprintOf(point: Uint8Array): number {
  const h = hash160(point);
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
}

function serialize(version: number, fields: ExtendedKeyFields, keyData: Uint8Array): string {
  if (fields.depth > 255) throw new Bip32Error("depth above 255 cannot be serialised");
  const raw = concat(
    u32be(version >>> 0),
    Uint8Array.of(fields.depth),
    u32be(fields.parentFingerprint),
    u32be(fields.childNumber),
    fields.chainCode,
    keyData,
  );
  const out = base58check.encode(raw);
  raw.fill(0);
  return out;
}

/** An extended public key (K, c) with its position in the tree. */
export class ExtendedPublicKey implements ExtendedKeyFields {
  /** 0 for the master, 1 for its children, ... */
  readonly depth: number;
  /** Fingerprint of the parent (0 for the master). */
  readonly parentFingerprint: number;
  /** Index this key was derived with. */
  readonly childNumber: number;
  /** 32-byte chain code. */
  readonly chainCode: Uint8Array;
  /** 33-byte compressed public key. */
  readonly publicKey: Uint8Array;

  /**
   * Creates the object from its parts.
   * @param fields depth, parent fingerprint, child number and chain code
   * @param point the 33-byte compressed public key
   */
  constructor(fields: ExtendedKeyFields, point: Uint8Array) {
    if (fields.chainCode?.length !== 32) throw new Bip32Error("chain code must be 32 bytes");
    if (!isValidPublicKey(point)) throw new Bip32Error("invalid public key");
    this.depth = fields.depth;
    this.parentFingerprint = fields.parentFingerprint >>> 0;
    this.childNumber = fields.childNumber >>> 0;
    this.chainCode = fields.chainCode.slice();
    this.publicKey = point.slice();
  }

  /** This key's fingerprint: the first 4 bytes of HASH160(public key), big-endian. */
  get fingerprint(): number {
    return fingerprintOf(this.publicKey);
  }

  /** CKDpub: the normal child `index` (hardened indices need the private key). */
  deriveChild(index: number): ExtendedPublicKey {
    checkIndex(index);
    if (index >= HARDENED) {
      throw new Bip32Error("cannot derive a hardened child from a public key");
    }
    const i = hmacSha512(this.chainCode, concat(this.publicKey, u32be(index)));
    const il = i.subarray(0, 32);
    try {
      if (!isValidSecretKey(il)) throw new Bip32Error("invalid child (use the next index)");
      const point = pointAdd(publicKey(il), this.publicKey);
      return new ExtendedPublicKey({
        depth: this.depth + 1,
        parentFingerprint: this.fingerprint,
        childNumber: index,
        chainCode: i.slice(32),
      }, point);
    } catch (e) {
      if (e instanceof CryptoError) throw new Bip32Error("invalid child (use the next index)");
      throw e;
    } finally {
      i.fill(0);
    }
  }

  /** The key at `path` below this one (`"m/0/1"`, `"0/1"` or indices); normal steps only. */
  derivePath(path: string | readonly number[]): ExtendedPublicKey {
    const indices = typeof path === "string" ? parsePath(path) : path;
    return indices.reduce<ExtendedPublicKey>((key, index) => key.deriveChild(index), this);
  }

  /** Base58check serialisation with `versions.public` (default mainnet `xpub`). */
  toBase58(versions: Bip32Versions = MAINNET_VERSIONS): string {
    return serialize(versions.public, this, this.publicKey);
  }

  /** Same as {@link toBase58} with mainnet versions. */
  toString(): string {
    return this.toBase58();
  }
}

/** An extended private key (k, c). The secret key is held in {@link SecretBytes}. */
export class ExtendedPrivateKey implements ExtendedKeyFields {
  /** 0 for the master, 1 for its children, ... */
  readonly depth: number;
  /** Fingerprint of the parent (0 for the master). */
  readonly parentFingerprint: number;
  /** Index this key was derived with. */
  readonly childNumber: number;
  /** 32-byte chain code. */
  readonly chainCode: Uint8Array;
  /** 33-byte compressed public key of {@link secretKey}. */
  readonly publicKey: Uint8Array;
  readonly #secret: SecretBytes;

  /**
   * Creates the object from its parts.
   * @param fields depth, parent fingerprint, child number and chain code
   * @param secret the 32-byte private key; it is copied into a {@link SecretBytes}
   */
  constructor(fields: ExtendedKeyFields, secret: Uint8Array) {
    if (fields.chainCode?.length !== 32) throw new Bip32Error("chain code must be 32 bytes");
    if (!isValidSecretKey(secret)) throw new Bip32Error("private key not in 1..n-1");
    this.depth = fields.depth;
    this.parentFingerprint = fields.parentFingerprint >>> 0;
    this.childNumber = fields.childNumber >>> 0;
    this.chainCode = fields.chainCode.slice();
    this.#secret = new SecretBytes(secret.slice());
    this.publicKey = publicKey(this.#secret.expose());
  }

  /**
   * BIP-32 master key generation: HMAC-SHA512(key "Bitcoin seed", seed). The seed must be 16 to
   * 64 bytes. Throws {@link Bip32Error} in the (probability 2^-127) case of an invalid master.
   */
  static fromSeed(seed: Uint8Array): ExtendedPrivateKey {
    if (!(seed instanceof Uint8Array) || seed.length < 16 || seed.length > 64) {
      throw new Bip32Error("seed must be 16 to 64 bytes");
    }
    const i = hmacSha512(MASTER_HMAC_KEY, seed);
    try {
      const il = i.subarray(0, 32);
      if (!isValidSecretKey(il)) throw new Bip32Error("seed gives an invalid master key");
      return new ExtendedPrivateKey(
        { depth: 0, parentFingerprint: 0, childNumber: 0, chainCode: i.subarray(32) },
        il,
      );
    } finally {
      i.fill(0);
    }
  }

  /** The 32-byte private key. */
  get secretKey(): SecretBytes {
    return this.#secret;
  }

  /** This key's fingerprint: the first 4 bytes of HASH160(public key), big-endian. */
  get fingerprint(): number {
    return fingerprintOf(this.publicKey);
  }

  /** CKDpriv: the child `index` (hardened when `index >= HARDENED`). */
  deriveChild(index: number): ExtendedPrivateKey {
    checkIndex(index);
    const k = this.#secret.expose();
    const data = index >= HARDENED
      ? concat(Uint8Array.of(0), k, u32be(index))
      : concat(this.publicKey, u32be(index));
    const i = hmacSha512(this.chainCode, data);
    data.fill(0);
    const il = i.subarray(0, 32);
    let child: Uint8Array | undefined;
    try {
      // parse256(IL) >= n is invalid; IL = 0 is allowed as long as the sum is not zero.
      if (!isValidSecretKey(il) && il.some((b) => b !== 0)) {
        throw new Bip32Error("invalid child (use the next index)");
      }
      child = secretAdd(il, k);
      return new ExtendedPrivateKey({
        depth: this.depth + 1,
        parentFingerprint: this.fingerprint,
        childNumber: index,
        chainCode: i.subarray(32),
      }, child);
    } catch (e) {
      if (e instanceof CryptoError) throw new Bip32Error("invalid child (use the next index)");
      throw e;
    } finally {
      i.fill(0);
      child?.fill(0);
    }
  }

  /** The key at `path` below this one (`"m/0'/1"`, `"0h/1"` or indices). */
  derivePath(path: string | readonly number[]): ExtendedPrivateKey {
    const indices = typeof path === "string" ? parsePath(path) : path;
    return indices.reduce<ExtendedPrivateKey>((key, index) => {
      const child = key.deriveChild(index);
      if (key !== this) key.zeroize(); // intermediate keys are not kept
      return child;
    }, this);
  }

  /** The public half N((k, c)). */
  toPublic(): ExtendedPublicKey {
    return new ExtendedPublicKey(this, this.publicKey);
  }

  /**
   * Base58check serialisation with `versions.private` (default mainnet `xprv`).
   * The result contains the private key: treat it as a secret.
   */
  toBase58(versions: Bip32Versions = MAINNET_VERSIONS): string {
    const keyData = concat(Uint8Array.of(0), this.#secret.expose());
    try {
      return serialize(versions.private, this, keyData);
    } finally {
      keyData.fill(0);
    }
  }

  /** Overwrite the private key with zeros; the object is unusable afterwards. */
  zeroize(): void {
    this.#secret.zeroize();
  }

  /** Never the private key: the public serialisation, marked as private. */
  toString(): string {
    return `ExtendedPrivateKey(${this.toPublic().toBase58()})`;
  }

  /** JSON shows only the public key. */
  toJSON(): string {
    return this.toString();
  }

  /** Deno's inspector hook: no private key. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** Node's inspector hook: no private key. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/**
 * Parse a derivation path: `"m/0'/1/2h"`, `"m"`, `"0/1"`. Hardened steps are marked with `'`,
 * `h` or `H`; each index must be below 2^31 before hardening.
 */
export function parsePath(path: string): number[] {
  if (typeof path !== "string") throw new Bip32Error("path must be a string");
  if (path === "m" || path === "M" || path === "") return [];
  const parts = path.split("/");
  if (parts[0] === "m" || parts[0] === "M") parts.shift();
  const out: number[] = [];
  for (const part of parts) {
    const m = /^(\d+)(['hH]?)$/.exec(part);
    if (!m) throw new Bip32Error(`bad path component "${part}"`);
    const n = Number(m[1]);
    if (!Number.isSafeInteger(n) || n >= HARDENED) {
      throw new Bip32Error(`path index ${m[1]} must be below 2^31`);
    }
    out.push(m[2] ? n + HARDENED : n);
  }
  return out;
}

/** Options of {@link parseExtendedKey}. */
export interface ParseOptions {
  /** Accepted version pairs; default {@link knownVersions} (mainnet and test networks). */
  versions?: readonly Bip32Versions[];
}

/**
 * Parse a base58check extended key, checking everything BIP-32 test vector 5 requires: the
 * checksum, the length, a known version, that the key data matches the version (0x00 + a
 * private key in 1..n-1 for private versions, a valid compressed point for public versions),
 * and that depth 0 comes with a zero parent fingerprint and child number.
 * Returns the key and the version pair it matched. Throws {@link Bip32Error}.
 */
export function parseExtendedKey(
  text: string,
  options: ParseOptions = {},
): { key: ExtendedPrivateKey | ExtendedPublicKey; versions: Bip32Versions } {
  let raw: Uint8Array;
  try {
    raw = base58check.decode(text);
  } catch {
    throw new Bip32Error("invalid base58check encoding or checksum");
  }
  try {
    if (raw.length !== EXTENDED_KEY_LENGTH) {
      throw new Bip32Error(`extended key must be ${EXTENDED_KEY_LENGTH} bytes`);
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const version = view.getUint32(0);
    const depth = raw[4];
    const parentFingerprint = view.getUint32(5);
    const childNumber = view.getUint32(9);
    const chainCode = raw.slice(13, 45);
    const keyData = raw.subarray(45, 78);
    if (depth === 0 && parentFingerprint !== 0) {
      throw new Bip32Error("zero depth with non-zero parent fingerprint");
    }
    if (depth === 0 && childNumber !== 0) throw new Bip32Error("zero depth with non-zero index");
    const fields = { depth, parentFingerprint, childNumber, chainCode };
    for (const versions of options.versions ?? knownVersions()) {
      if (version === versions.private) {
        if (keyData[0] !== 0) {
          throw new Bip32Error("private key version with key data not starting 0x00");
        }
        const secret = keyData.subarray(1);
        if (!isValidSecretKey(secret)) throw new Bip32Error("private key not in 1..n-1");
        return { key: new ExtendedPrivateKey(fields, secret), versions };
      }
      if (version === versions.public) {
        if (keyData[0] !== 2 && keyData[0] !== 3) {
          throw new Bip32Error("public key version with invalid public key prefix");
        }
        if (!isValidPublicKey(keyData)) throw new Bip32Error("invalid public key");
        return { key: new ExtendedPublicKey(fields, keyData), versions };
      }
    }
    throw new Bip32Error("unknown extended key version");
  } finally {
    raw.fill(0);
  }
}
