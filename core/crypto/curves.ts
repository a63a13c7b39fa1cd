/**
 * A {@link CryptoBackend} on @noble/curves: the same primitives as `noble.ts`, with the
 * GLV-endomorphism point multiplication that makes verification and tweaks of arbitrary points
 * roughly twice as fast. `tests/bench/backend_bench.ts` compares the backends.
 *
 * @module
 */
import { schnorr, secp256k1 } from "@noble/curves/secp256k1.js";
import type { CryptoBackend } from "./backend.ts";
import { nobleLibraryBackend } from "./noble_common.ts";

/** The @noble/curves backend. */
export const curvesBackend: CryptoBackend = nobleLibraryBackend("noble-curves", {
  pointFromBytes: (bytes) => secp256k1.Point.fromBytes(bytes),
  order: secp256k1.Point.CURVE().n,
  sign: (digest, secret, options) => secp256k1.sign(digest, secret, options),
  verify: (signature, digest, publicKey, options) =>
    secp256k1.verify(signature, digest, publicKey, options),
  recoverPublicKey: (signature, digest, options) =>
    secp256k1.recoverPublicKey(signature, digest, options),
  getPublicKey: (secret, compressed) => secp256k1.getPublicKey(secret, compressed),
  isValidSecretKey: (secret) => secp256k1.utils.isValidSecretKey(secret),
  isValidPublicKey: (p, compressed) => secp256k1.utils.isValidPublicKey(p, compressed),
  schnorrSign: (message, secret, auxRand) => schnorr.sign(message, secret, auxRand),
  schnorrVerify: (signature, message, key) => schnorr.verify(signature, message, key),
});
