/**
 * What the two noble backends share: @noble/secp256k1 and @noble/curves expose the same ECDSA,
 * Schnorr and point API, so one function turns either library into a {@link CryptoBackend}.
 * Hashing always comes from @noble/hashes.
 *
 * @module
 */
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { ripemd160 } from "@noble/hashes/legacy.js";
import { hmac } from "@noble/hashes/hmac.js";
import type { CryptoBackend } from "./backend.ts";

/** The point operations both libraries provide. */
export interface NoblePoint {
  /** Sum of two points. */
  add(other: NoblePoint): NoblePoint;
  /** Constant-time-style multiplication. */
  multiply(k: bigint): NoblePoint;
  /** Faster multiplication for public scalars. */
  multiplyUnsafe(k: bigint): NoblePoint;
  /** Whether this is the point at infinity. */
  is0(): boolean;
  /** SEC1 encoding. */
  toBytes(compressed?: boolean): Uint8Array;
}

/** ECDSA options both libraries accept. */
interface NobleSignOptions {
  prehash: boolean;
  lowS: boolean;
  format?: "recovered";
  extraEntropy?: Uint8Array | false;
}

/** The slice of a noble secp256k1 library a backend needs. */
export interface NobleLibrary {
  /** Decode a SEC1 point (throws on an invalid one). */
  pointFromBytes(bytes: Uint8Array): NoblePoint;
  /** The group order n. */
  order: bigint;
  /** ECDSA sign. */
  sign(digest: Uint8Array, secret: Uint8Array, options: NobleSignOptions): Uint8Array;
  /** ECDSA verify. */
  verify(
    signature: Uint8Array,
    digest: Uint8Array,
    publicKey: Uint8Array,
    options: { prehash: boolean; lowS: boolean },
  ): boolean;
  /** ECDSA public key recovery from a 65-byte recovered signature. */
  recoverPublicKey(
    signature: Uint8Array,
    digest: Uint8Array,
    options: { prehash: boolean },
  ): Uint8Array;
  /** Public key of a secret. */
  getPublicKey(secret: Uint8Array, compressed: boolean): Uint8Array;
  /** Secret-key validity. */
  isValidSecretKey(secret: Uint8Array): boolean;
  /** Public-key validity. */
  isValidPublicKey(point: Uint8Array, compressed: boolean): boolean;
  /** BIP-340 sign. */
  schnorrSign(message: Uint8Array, secret: Uint8Array, auxRand: Uint8Array): Uint8Array;
  /** BIP-340 verify. */
  schnorrVerify(signature: Uint8Array, message: Uint8Array, xOnlyKey: Uint8Array): boolean;
}

/** A {@link CryptoBackend} over one noble library. */
export function nobleLibraryBackend(name: string, lib: NobleLibrary): CryptoBackend {
  const N = lib.order;
  const toScalar = (bytes: Uint8Array): bigint => {
    if (bytes.length !== 32) throw new RangeError("scalar must be 32 bytes");
    let n = 0n;
    for (const b of bytes) n = (n << 8n) | BigInt(b);
    return n;
  };
  const fromScalar = (n: bigint): Uint8Array => {
    const out = new Uint8Array(32);
    let v = n;
    for (let i = 31; i >= 0; i--) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    return out;
  };
  const below = (n: bigint): bigint => {
    if (n >= N) throw new RangeError("scalar not below the group order");
    return n;
  };
  const nonZero = (n: bigint): bigint => {
    if (n === 0n) throw new RangeError("scalar result is zero");
    return n;
  };
  const point = (bytes: Uint8Array): NoblePoint => {
    if (bytes.length !== 33) throw new RangeError("public key must be 33 bytes");
    return lib.pointFromBytes(bytes);
  };
  return {
    name,
    sha256: (data) => sha256(data),
    ripemd160: (data) => ripemd160(data),
    hmacSha256: (key, data) => hmac(sha256, key, data),
    hmacSha512: (key, data) => hmac(sha512, key, data),
    isValidSecretKey: (secret) => secret.length === 32 && lib.isValidSecretKey(secret),
    isValidPublicKey: (p) => p.length === 33 && lib.isValidPublicKey(p, true),
    publicKey: (secret) => lib.getPublicKey(secret, true),
    ecdsaSign(digest, secret, extraEntropy) {
      const rec = lib.sign(digest, secret, {
        prehash: false,
        lowS: true,
        format: "recovered",
        extraEntropy: extraEntropy ?? false,
      });
      return { signature: rec.slice(1), recovery: rec[0] };
    },
    ecdsaVerify(signature, digest, publicKey) {
      try {
        return lib.verify(signature, digest, publicKey, { prehash: false, lowS: true });
      } catch {
        return false;
      }
    },
    ecdsaRecover(signature, recovery, digest) {
      const rec = new Uint8Array(65);
      rec[0] = recovery;
      rec.set(signature, 1);
      return lib.recoverPublicKey(rec, digest, { prehash: false });
    },
    pointAdd(a, b) {
      const sum = point(a).add(point(b));
      if (sum.is0()) throw new RangeError("point sum is infinity");
      return sum.toBytes(true);
    },
    pointMultiply(p, scalar, publicScalar) {
      const k = toScalar(scalar);
      if (k === 0n || k >= N) throw new RangeError("scalar out of range");
      const q = point(p);
      return (publicScalar ? q.multiplyUnsafe(k) : q.multiply(k)).toBytes(true);
    },
    scalarAdd: (a, b) => fromScalar(nonZero((below(toScalar(a)) + below(toScalar(b))) % N)),
    scalarMultiply: (a, b) => fromScalar(nonZero((toScalar(a) * toScalar(b)) % N)),
    scalarNegate: (a) => fromScalar((N - (toScalar(a) % N)) % N),
    schnorrSign: (message, secret, auxRand) =>
      lib.schnorrSign(message, secret, auxRand ?? new Uint8Array(32)),
    schnorrVerify(signature, message, xOnlyKey) {
      try {
        return lib.schnorrVerify(signature, message, xOnlyKey);
      } catch {
        return false;
      }
    },
    randomBytes(length) {
      const out = new Uint8Array(length);
      // getRandomValues fills at most 65,536 bytes per call (Web Crypto's quota).
      for (let i = 0; i < length; i += 65_536) {
        crypto.getRandomValues(out.subarray(i, Math.min(length, i + 65_536)));
      }
      return out;
    },
  };
}
