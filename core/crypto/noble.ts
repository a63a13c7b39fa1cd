/**
 * The default {@link CryptoBackend}: @noble/secp256k1 for the curve and @noble/hashes for hashing.
 * This file is the only place in the project that imports those libraries.
 *
 * @module
 */
import * as secp from "@noble/secp256k1";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { ripemd160 } from "@noble/hashes/legacy.js";
import { hmac } from "@noble/hashes/hmac.js";
import type { CryptoBackend } from "./backend.ts";

secp.hashes.sha256 = sha256;
secp.hashes.hmacSha256 = (key, msg) => hmac(sha256, key, msg);

const N = secp.Point.CURVE().n;

function toScalar(bytes: Uint8Array): bigint {
  if (bytes.length !== 32) throw new RangeError("scalar must be 32 bytes");
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function fromScalar(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function nonZero(n: bigint): bigint {
  if (n === 0n) throw new RangeError("scalar result is zero");
  return n;
}

function point(bytes: Uint8Array): secp.Point {
  if (bytes.length !== 33) throw new RangeError("public key must be 33 bytes");
  return secp.Point.fromBytes(bytes);
}

/** The @noble backend. */
export const nobleBackend: CryptoBackend = {
  name: "noble-secp256k1",
  sha256: (data) => sha256(data),
  ripemd160: (data) => ripemd160(data),
  hmacSha256: (key, data) => hmac(sha256, key, data),
  hmacSha512: (key, data) => hmac(sha512, key, data),
  isValidSecretKey: (secret) => secret.length === 32 && secp.utils.isValidSecretKey(secret),
  isValidPublicKey: (p) => p.length === 33 && secp.utils.isValidPublicKey(p, true),
  publicKey: (secret) => secp.getPublicKey(secret, true),
  ecdsaSign(digest, secret, extraEntropy) {
    const rec = secp.sign(digest, secret, {
      prehash: false,
      lowS: true,
      format: "recovered",
      extraEntropy: extraEntropy ?? false,
    });
    return { signature: rec.slice(1), recovery: rec[0] };
  },
  ecdsaVerify(signature, digest, publicKey) {
    try {
      return secp.verify(signature, digest, publicKey, { prehash: false, lowS: true });
    } catch {
      return false;
    }
  },
  ecdsaRecover(signature, recovery, digest) {
    const rec = new Uint8Array(65);
    rec[0] = recovery;
    rec.set(signature, 1);
    return secp.recoverPublicKey(rec, digest, { prehash: false });
  },
  pointAdd(a, b) {
    const sum = point(a).add(point(b));
    if (sum.is0()) throw new RangeError("point sum is infinity");
    return sum.toBytes(true);
  },
  pointMultiply(p, scalar) {
    const k = toScalar(scalar);
    if (k === 0n || k >= N) throw new RangeError("scalar out of range");
    return point(p).multiply(k).toBytes(true);
  },
  scalarAdd: (a, b) => fromScalar(nonZero((toScalar(a) + toScalar(b)) % N)),
  scalarMultiply: (a, b) => fromScalar(nonZero((toScalar(a) * toScalar(b)) % N)),
  scalarNegate: (a) => fromScalar((N - (toScalar(a) % N)) % N),
  schnorrSign: (message, secret, auxRand) =>
    secp.schnorr.sign(message, secret, auxRand ?? new Uint8Array(32)),
  schnorrVerify(signature, message, xOnlyKey) {
    try {
      return secp.schnorr.verify(signature, message, xOnlyKey);
    } catch {
      return false;
    }
  },
  randomBytes(length) {
    const out = new Uint8Array(length);
    crypto.getRandomValues(out);
    return out;
  },
};
