/**
 * The @noble/curves backend must be a drop-in replacement for the default: a differential test
 * over random inputs (fast-check) compares every primitive of the two backends byte for byte.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { curvesBackend } from "../../../core/crypto/curves.ts";
import { nobleBackend } from "../../../core/crypto/noble.ts";

const secretArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((b) =>
  nobleBackend.isValidSecretKey(b)
);
const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 });

Deno.test("curves backend: keys, ECDSA, recovery and Schnorr equal the default backend", () => {
  fc.assert(
    fc.property(secretArb, secretArb, digestArb, (a, b, d) => {
      const pa = nobleBackend.publicKey(a);
      deepStrictEqual(curvesBackend.publicKey(a), pa);
      const s1 = nobleBackend.ecdsaSign(d, a);
      deepStrictEqual(curvesBackend.ecdsaSign(d, a), s1);
      deepStrictEqual(curvesBackend.ecdsaSign(d, a, b), nobleBackend.ecdsaSign(d, a, b));
      strictEqual(curvesBackend.ecdsaVerify(s1.signature, d, pa), true);
      strictEqual(curvesBackend.ecdsaVerify(s1.signature, d, nobleBackend.publicKey(b)), false);
      deepStrictEqual(curvesBackend.ecdsaRecover(s1.signature, s1.recovery, d), pa);
      const sch = nobleBackend.schnorrSign(d, a);
      deepStrictEqual(curvesBackend.schnorrSign(d, a), sch);
      strictEqual(curvesBackend.schnorrVerify(sch, d, pa.subarray(1)), true);
    }),
    { numRuns: 25 },
  );
});

Deno.test("curves backend: point and scalar arithmetic equal the default backend", () => {
  fc.assert(
    fc.property(secretArb, secretArb, (a, b) => {
      const pa = nobleBackend.publicKey(a);
      const pb = nobleBackend.publicKey(b);
      deepStrictEqual(curvesBackend.pointAdd(pa, pb), nobleBackend.pointAdd(pa, pb));
      const m = nobleBackend.pointMultiply(pa, b);
      deepStrictEqual(curvesBackend.pointMultiply(pa, b), m);
      deepStrictEqual(curvesBackend.pointMultiply(pa, b, true), m);
      deepStrictEqual(curvesBackend.scalarAdd(a, b), nobleBackend.scalarAdd(a, b));
      deepStrictEqual(curvesBackend.scalarMultiply(a, b), nobleBackend.scalarMultiply(a, b));
      deepStrictEqual(curvesBackend.scalarNegate(a), nobleBackend.scalarNegate(a));
    }),
    { numRuns: 25 },
  );
});

Deno.test("curves backend: the same refusals as the default backend", () => {
  const n = new Uint8Array([
    ...Array(15).fill(0xff),
    0xfe,
    0xba,
    0xae,
    0xdc,
    0xe6,
    0xaf,
    0x48,
    0xa0,
    0x3b,
    0xbf,
    0xd2,
    0x5e,
    0x8c,
    0xd0,
    0x36,
    0x41,
    0x41,
  ]);
  const one = new Uint8Array(32);
  one[31] = 1;
  strictEqual(curvesBackend.isValidSecretKey(n), false);
  strictEqual(curvesBackend.isValidSecretKey(new Uint8Array(32)), false);
  throws(() => curvesBackend.scalarAdd(n, one), RangeError);
  const offCurve = new Uint8Array(33);
  offCurve[0] = 2;
  offCurve[32] = 5; // x = 5: 5^3 + 7 is not a square mod p, so no point has this x
  strictEqual(nobleBackend.isValidPublicKey(offCurve), false);
  strictEqual(curvesBackend.isValidPublicKey(offCurve), false);
  const sig = nobleBackend.ecdsaSign(new Uint8Array(32).fill(9), one);
  // The high-S twin of a valid signature is refused by both.
  const s = BigInt(
    "0x" + Array.from(sig.signature.subarray(32), (x) => x.toString(16).padStart(2, "0")).join(""),
  );
  const order = BigInt("0x" + Array.from(n, (x) => x.toString(16).padStart(2, "0")).join(""));
  const high = (order - s).toString(16).padStart(64, "0");
  const twin = new Uint8Array(64);
  twin.set(sig.signature.subarray(0, 32));
  for (let i = 0; i < 32; i++) twin[32 + i] = parseInt(high.slice(2 * i, 2 * i + 2), 16);
  const pk = nobleBackend.publicKey(one);
  strictEqual(nobleBackend.ecdsaVerify(twin, new Uint8Array(32).fill(9), pk), false);
  strictEqual(curvesBackend.ecdsaVerify(twin, new Uint8Array(32).fill(9), pk), false);
});
