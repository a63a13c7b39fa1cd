/**
 * A {@link CryptoBackend} on @noble/secp256k1 (hashing on @noble/hashes). This file,
 * `curves.ts` and `noble_common.ts` are the only places in the project that import those
 * libraries.
 *
 * @module
 */
import * as secp from "@noble/secp256k1";
import { sha256 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";
import type { CryptoBackend } from "./backend.ts";
import { nobleLibraryBackend } from "./noble_common.ts";

secp.hashes.sha256 = sha256;
secp.hashes.hmacSha256 = (key, msg) => hmac(sha256, key, msg);

/** The @noble/secp256k1 backend. */
export const nobleBackend: CryptoBackend = nobleLibraryBackend("noble-secp256k1", {
  pointFromBytes: (bytes) => secp.Point.fromBytes(bytes),
  order: secp.Point.CURVE().n,
  sign: (digest, secret, options) => secp.sign(digest, secret, options),
  verify: (signature, digest, publicKey, options) =>
    secp.verify(signature, digest, publicKey, options),
  recoverPublicKey: (signature, digest, options) =>
    secp.recoverPublicKey(signature, digest, options),
  getPublicKey: (secret, compressed) => secp.getPublicKey(secret, compressed),
  isValidSecretKey: (secret) => secp.utils.isValidSecretKey(secret),
  isValidPublicKey: (p, compressed) => secp.utils.isValidPublicKey(p, compressed),
  schnorrSign: (message, secret, auxRand) => secp.schnorr.sign(message, secret, auxRand),
  schnorrVerify: (signature, message, key) => secp.schnorr.verify(signature, message, key),
});
