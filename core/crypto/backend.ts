/**
 * The primitive operations a crypto backend provides. Callers never use a backend directly: they
 * call `core/crypto/mod.ts`, which adds encodings, strictness and grinding on top, so a faster
 * backend (a WebAssembly libsecp256k1, say) can be swapped in with {@link CryptoBackend} alone.
 *
 * Conventions: secret keys are 32-byte big-endian scalars in [1, n); public keys are 33-byte
 * compressed SEC1 points; ECDSA signatures are 64-byte compact `r || s`; digests are 32 bytes.
 *
 * @module
 */

/** Hashes and secp256k1 operations, all synchronous and all pure. */
export interface CryptoBackend {
  /** A short name for logs and benchmarks. */
  readonly name: string;
  /** SHA-256. */
  sha256(data: Uint8Array): Uint8Array;
  /** RIPEMD-160. */
  ripemd160(data: Uint8Array): Uint8Array;
  /** HMAC-SHA256. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** HMAC-SHA512 (BIP-32). */
  hmacSha512(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** Whether `secret` is a valid secret key (32 bytes, 1 <= k < n). */
  isValidSecretKey(secret: Uint8Array): boolean;
  /** Whether `point` is a valid 33-byte compressed point on the curve. */
  isValidPublicKey(point: Uint8Array): boolean;
  /** The compressed public key of `secret`. */
  publicKey(secret: Uint8Array): Uint8Array;
  /**
   * RFC 6979 ECDSA over a 32-byte digest, low-S. `extraEntropy` (32 bytes) is mixed into the nonce
   * derivation exactly as libsecp256k1's `ndata` does, so a counter reproduces CLN's grinding.
   * Returns the compact signature and its recovery id.
   */
  ecdsaSign(
    digest: Uint8Array,
    secret: Uint8Array,
    extraEntropy?: Uint8Array,
  ): { signature: Uint8Array; recovery: number };
  /** Verify a compact signature; high-S signatures are rejected. */
  ecdsaVerify(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean;
  /** The compressed public key that produced a compact signature with `recovery` over `digest`. */
  ecdsaRecover(signature: Uint8Array, recovery: number, digest: Uint8Array): Uint8Array;
  /** `a + b` of two compressed points. Throws if the sum is the point at infinity. */
  pointAdd(a: Uint8Array, b: Uint8Array): Uint8Array;
  /**
   * `scalar * point`; `scalar` is 32 bytes in [1, n). When `publicScalar` is true the scalar is
   * public data (a BOLT-3 tweak hashed from public points) and a faster, non-constant-time
   * multiplication may be used; otherwise the multiplication must not leak the scalar.
   */
  pointMultiply(point: Uint8Array, scalar: Uint8Array, publicScalar?: boolean): Uint8Array;
  /** `(a + b) mod n`; throws if either input is not below n or the result is zero. */
  scalarAdd(a: Uint8Array, b: Uint8Array): Uint8Array;
  /** `(a * b) mod n`; throws if the result is zero. */
  scalarMultiply(a: Uint8Array, b: Uint8Array): Uint8Array;
  /** `-a mod n`. */
  scalarNegate(a: Uint8Array): Uint8Array;
  /** BIP-340 Schnorr signature over a 32-byte message; `auxRand` is 32 bytes (zeros if absent). */
  schnorrSign(message: Uint8Array, secret: Uint8Array, auxRand?: Uint8Array): Uint8Array;
  /** BIP-340 verification against a 32-byte x-only key. */
  schnorrVerify(signature: Uint8Array, message: Uint8Array, xOnlyKey: Uint8Array): boolean;
  /** Cryptographically secure random bytes. */
  randomBytes(length: number): Uint8Array;
}
