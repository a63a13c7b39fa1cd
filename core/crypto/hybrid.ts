/**
 * The default {@link CryptoBackend}: each primitive from whichever noble library is faster at it,
 * measured in `tests/bench/backend_bench.ts`. @noble/secp256k1 signs and derives public keys
 * faster (its precomputed base-point table); @noble/curves verifies and multiplies arbitrary points
 * about twice as fast (GLV endomorphism). `tests/core/crypto/curves_test.ts` checks that the two
 * libraries agree byte for byte on every primitive, so mixing them changes no result.
 *
 * @module
 */
import type { CryptoBackend } from "./backend.ts";
import { curvesBackend } from "./curves.ts";
import { nobleBackend } from "./noble.ts";

/** Signing and key derivation from @noble/secp256k1, verification and tweaks from @noble/curves. */
export const hybridBackend: CryptoBackend = {
  ...nobleBackend,
  name: "noble-hybrid",
  ecdsaVerify: curvesBackend.ecdsaVerify,
  ecdsaRecover: curvesBackend.ecdsaRecover,
  pointAdd: curvesBackend.pointAdd,
  pointMultiply: curvesBackend.pointMultiply,
  isValidPublicKey: curvesBackend.isValidPublicKey,
  schnorrVerify: curvesBackend.schnorrVerify,
};
