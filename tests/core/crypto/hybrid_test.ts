/**
 * The default backend mixes two libraries; mixing must change no result. Differential tests
 * (fast-check) compare every primitive of the hybrid with the plain @noble/secp256k1 backend on
 * random keys and messages, including the inputs each must refuse, and published vectors run on
 * the hybrid's @noble/curves half (verification, recovery, public-scalar tweaks).
 */
import { deepStrictEqual, notStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { concat, fromHex, toHex } from "../../../core/bytes.ts";
import { hybridBackend } from "../../../core/crypto/hybrid.ts";
import { curvesBackend } from "../../../core/crypto/curves.ts";
import { nobleBackend } from "../../../core/crypto/noble.ts";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const bytes32 = (n: bigint) => fromHex(n.toString(16).padStart(64, "0"));
const scalarOf = (b: Uint8Array) => BigInt("0x" + toHex(b));

/** The result of a call, or that it threw (the two libraries word their errors differently). */
function outcome(f: () => Uint8Array | boolean): { ok: string | boolean } | { threw: true } {
  try {
    const r = f();
    return { ok: typeof r === "boolean" ? r : toHex(r) };
  } catch {
    return { threw: true };
  }
}

/** Both backends give the same result, or both throw. */
function agree(f: (b: typeof nobleBackend) => Uint8Array | boolean, what: string): void {
  deepStrictEqual(outcome(() => f(hybridBackend)), outcome(() => f(nobleBackend)), what);
}

const bytesArb = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const secretArb = bytesArb(32).filter((b) => nobleBackend.isValidSecretKey(b));
/** Any 32 bytes, with the edges of the scalar range mixed in. */
const scalarArb = fc.oneof(
  bytesArb(32),
  fc.constantFrom(
    new Uint8Array(32),
    bytes32(1n),
    bytes32(N - 1n),
    bytes32(N),
    bytes32(N + 1n),
    fromHex("ff".repeat(32)),
  ),
);
/** 33 bytes with a compressed, uncompressed or invalid prefix: on the curve about half the time. */
const pointBytesArb = fc.tuple(fc.constantFrom(0x02, 0x03, 0x04, 0x00), bytesArb(32)).map((
  [prefix, x],
) => concat(Uint8Array.of(prefix), x));

Deno.test("hybrid: signing and key derivation from @noble/secp256k1, the rest from @noble/curves", () => {
  strictEqual(hybridBackend.name, "noble-hybrid");
  strictEqual(nobleBackend.name, "noble-secp256k1"); // the spread copied, it did not mutate
  for (const m of ["publicKey", "ecdsaSign", "schnorrSign", "scalarAdd", "sha256"] as const) {
    strictEqual(hybridBackend[m], nobleBackend[m], m);
  }
  for (
    const m of [
      "ecdsaVerify",
      "ecdsaRecover",
      "pointAdd",
      "pointMultiply",
      "isValidPublicKey",
      "schnorrVerify",
    ] as const
  ) {
    strictEqual(hybridBackend[m], curvesBackend[m], m);
    notStrictEqual(hybridBackend[m], nobleBackend[m], m);
  }
});

Deno.test("hybrid = noble: hashes, key validity and public keys", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), bytesArb(40), (data, key) => {
      agree((b) => b.sha256(data), "sha256");
      agree((b) => b.ripemd160(data), "ripemd160");
      agree((b) => b.hmacSha256(key, data), "hmacSha256");
      agree((b) => b.hmacSha512(key, data), "hmacSha512");
    }),
    { numRuns: 50 },
  );
  fc.assert(
    fc.property(scalarArb, pointBytesArb, (s, p) => {
      agree((b) => b.isValidSecretKey(s), "isValidSecretKey");
      agree((b) => b.publicKey(s), "publicKey");
      agree((b) => b.isValidPublicKey(p), "isValidPublicKey");
      agree((b) => b.isValidPublicKey(p.subarray(1)), "isValidPublicKey of 32 bytes");
    }),
    { numRuns: 200 },
  );
});

Deno.test("hybrid = noble: ECDSA sign, verify (good, tampered, high-S) and recover", () => {
  fc.assert(
    fc.property(
      secretArb,
      bytesArb(32),
      bytesArb(32),
      fc.nat(511),
      (secret, digest, ndata, bit) => {
        const pub = nobleBackend.publicKey(secret);
        deepStrictEqual(
          hybridBackend.ecdsaSign(digest, secret),
          nobleBackend.ecdsaSign(digest, secret),
        );
        const { signature, recovery } = hybridBackend.ecdsaSign(digest, secret, ndata);
        deepStrictEqual({ signature, recovery }, nobleBackend.ecdsaSign(digest, secret, ndata));
        strictEqual(hybridBackend.ecdsaVerify(signature, digest, pub), true);
        agree((b) => b.ecdsaVerify(signature, digest, pub), "verify");
        const tampered = signature.slice();
        tampered[bit >> 3] ^= 1 << (bit & 7);
        strictEqual(hybridBackend.ecdsaVerify(tampered, digest, pub), false);
        agree((b) => b.ecdsaVerify(tampered, digest, pub), "verify tampered");
        const highS = concat(
          signature.subarray(0, 32),
          bytes32(N - scalarOf(signature.subarray(32))),
        );
        strictEqual(hybridBackend.ecdsaVerify(highS, digest, pub), false);
        agree((b) => b.ecdsaVerify(highS, digest, pub), "verify high-S");
        deepStrictEqual(hybridBackend.ecdsaRecover(signature, recovery, digest), pub);
        for (let id = 0; id < 4; id++) {
          agree(
            (b) => b.ecdsaRecover(signature, id, digest),
            `id ${id}`,
          );
        }
        agree((b) => b.ecdsaRecover(tampered, recovery, digest), "recover tampered");
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("hybrid = noble: point addition and multiplication, both multiplication paths", () => {
  fc.assert(
    fc.property(secretArb, secretArb, scalarArb, pointBytesArb, (a, c, k, junk) => {
      const A = nobleBackend.publicKey(a);
      const C = nobleBackend.publicKey(c);
      const minusA = nobleBackend.publicKey(nobleBackend.scalarNegate(a));
      agree((b) => b.pointAdd(A, C), "A + C");
      agree((b) => b.pointAdd(A, A), "A + A");
      agree((b) => b.pointAdd(A, minusA), "A + -A (infinity)");
      agree((b) => b.pointAdd(A, junk), "A + junk");
      agree((b) => b.pointAdd(A, C.subarray(1)), "A + 32 bytes");
      agree((b) => b.pointMultiply(A, k), "k A");
      agree((b) => b.pointMultiply(A, k, true), "k A, public scalar");
      agree((b) => b.pointMultiply(junk, c), "c junk");
      // cA is the public key of c*a.
      deepStrictEqual(
        hybridBackend.pointMultiply(A, c, true),
        nobleBackend.publicKey(nobleBackend.scalarMultiply(a, c)),
      );
    }),
    { numRuns: 60 },
  );
});

Deno.test("hybrid = noble: scalar arithmetic, including out-of-range and zero results", () => {
  fc.assert(
    fc.property(scalarArb, scalarArb, (a, c) => {
      agree((b) => b.scalarAdd(a, c), "a + c");
      agree((b) => b.scalarAdd(a, b.scalarNegate(a)), "a - a");
      agree((b) => b.scalarMultiply(a, c), "a c");
      agree((b) => b.scalarNegate(a), "-a");
    }),
    { numRuns: 200 },
  );
});

Deno.test("hybrid = noble: BIP-340 sign and verify (good, tampered, wrong key)", () => {
  fc.assert(
    fc.property(secretArb, secretArb, bytesArb(32), bytesArb(32), (secret, other, msg, aux) => {
      const sig = hybridBackend.schnorrSign(msg, secret, aux);
      deepStrictEqual(sig, nobleBackend.schnorrSign(msg, secret, aux));
      deepStrictEqual(
        hybridBackend.schnorrSign(msg, secret),
        nobleBackend.schnorrSign(msg, secret),
      );
      const key = nobleBackend.publicKey(secret).subarray(1);
      strictEqual(hybridBackend.schnorrVerify(sig, msg, key), true);
      agree((b) => b.schnorrVerify(sig, msg, key), "verify");
      const wrong = nobleBackend.publicKey(other).subarray(1);
      strictEqual(hybridBackend.schnorrVerify(sig, msg, wrong), false);
      agree((b) => b.schnorrVerify(sig, msg, wrong), "wrong key");
      const tampered = sig.slice();
      tampered[63] ^= 0x80;
      agree((b) => b.schnorrVerify(tampered, msg, key), "tampered");
    }),
    { numRuns: 30 },
  );
});

Deno.test("hybrid: BOLT #3 Appendix E key derivation with public-scalar tweaks", () => {
  const v = JSON.parse(
    Deno.readTextFileSync(new URL("../../vectors/bolt3/key-derivation.json", import.meta.url)),
  );
  const b = hybridBackend;
  const basepoint = fromHex(v.base_point);
  const point = fromHex(v.per_commitment_point);
  strictEqual(toHex(b.publicKey(fromHex(v.base_secret))), v.base_point);
  strictEqual(toHex(b.publicKey(fromHex(v.per_commitment_secret))), v.per_commitment_point);
  const tweak = b.sha256(concat(point, basepoint));
  strictEqual(toHex(b.pointAdd(basepoint, b.publicKey(tweak))), v.expected.localpubkey);
  strictEqual(toHex(b.scalarAdd(fromHex(v.base_secret), tweak)), v.expected.localprivkey);
  const revocation = v.tests[2].intermediate;
  const r = b.sha256(concat(basepoint, point));
  strictEqual(toHex(r), revocation.sha256_revocation_basepoint_per_commitment_point);
  const rB = b.pointMultiply(basepoint, r, true);
  strictEqual(toHex(rB), revocation.revocation_basepoint_times_sha256);
  deepStrictEqual(b.pointMultiply(basepoint, r, false), rB);
  const cP = b.pointMultiply(point, tweak, true);
  strictEqual(toHex(cP), revocation.per_commitment_point_times_sha256);
  strictEqual(toHex(b.pointAdd(rB, cP)), v.expected.revocationpubkey);
  const secrets = v.tests[3].intermediate;
  strictEqual(
    toHex(b.scalarMultiply(fromHex(v.base_secret), r)),
    secrets.revocation_basepoint_secret_times_sha256,
  );
  strictEqual(
    toHex(b.scalarMultiply(fromHex(v.per_commitment_secret), tweak)),
    secrets.per_commitment_secret_times_sha256,
  );
});

Deno.test("hybrid: Bitcoin Core's signatures verify and recover on the @noble/curves half", () => {
  // src/test/key_tests.cpp "test deterministic signing", both keys (DER there, compact here).
  const digest = fromHex("5255683da567900bfd3e786ed8836a4e7763c221bf1ac20ece2a5171b9199e8a");
  const cases: [string, string][] = [
    [
      "12b004fff7f4b69ef8650e767f18f11ede158148b425660723b9f9a66e61f747",
      "5dbbddda71772d95ce91cd2d14b592cfbc1dd0aabd6a394b6c2d377bbe59d31d" +
      "14ddda21494a4e221f0824f0b8b924c43fa43c0ad57dccdaa11f81a6bd4582f6",
    ],
    [
      "b524c28b61c9b2c49b2c7dd4c2d75887abb78768c054bd7c01af4029f6c0d117",
      "52d8a32079c11e79db95af63bb9600c5b04f21a9ca33dc129c2bfa8ac9dc1cd5" +
      "61d8ae5e0f6c1a16bde3719c64c2fd70e404b6428ab9a69566962e8771b5944d",
    ],
  ];
  for (const [key, sigHex] of cases) {
    const pub = hybridBackend.publicKey(fromHex(key));
    const signed = hybridBackend.ecdsaSign(digest, fromHex(key));
    strictEqual(toHex(signed.signature), sigHex);
    strictEqual(hybridBackend.ecdsaVerify(fromHex(sigHex), digest, pub), true);
    deepStrictEqual(hybridBackend.ecdsaRecover(fromHex(sigHex), signed.recovery, digest), pub);
  }
});

Deno.test("hybrid: BIP-340 verification vectors 4..14 on the @noble/curves half", () => {
  // bitcoin/bips bip-0340/test-vectors.csv: [public key, message, signature, result, comment].
  const M = "243f6a8885a308d313198a2e03707344a4093822299f31d0082efa98ec4e6c89";
  const PK = "dff1d77f2a671c5f36183726db2341be58feae1da2deced843240f7b502ba659";
  const rows: [string, string, string, boolean, string][] = [
    [
      "d69c3509bb99e412e68b0fe8544e72837dfa30746d8be2aa65975f29d22dc7b9",
      "4df3c3f68fcc83b27e9d42c90431a72499f17875c81a599b566c9889b9696703",
      "00000000000000000000003b78ce563f89a0ed9414f5aa28ad0d96d6795f9c63" +
      "76afb1548af603b3eb45c9f8207dee1060cb71c04e80f593060b07d28308d7f4",
      true,
      "4",
    ],
    [
      "eefdea4cdb677750a420fee807eacf21eb9898ae79b9768766e4faa04a2d4a34",
      M,
      "6cff5c3ba86c69ea4b7376f31a9bcb4f74c1976089b2d9963da2e5543e177769" +
      "69e89b4c5564d00349106b8497785dd7d1d713a8ae82b32fa79d5f7fc407d39b",
      false,
      "5: public key not on the curve",
    ],
    [
      PK,
      M,
      "fff97bd5755eeea420453a14355235d382f6472f8568a18b2f057a1460297556" +
      "3cc27944640ac607cd107ae10923d9ef7a73c643e166be5ebeafa34b1ac553e2",
      false,
      "6: has_even_y(R) is false",
    ],
    [
      PK,
      M,
      "1fa62e331edbc21c394792d2ab1100a7b432b013df3f6ff4f99fcb33e0e1515f" +
      "28890b3edb6e7189b630448b515ce4f8622a954cfe545735aaea5134fccdb2bd",
      false,
      "7: negated message",
    ],
    [
      PK,
      M,
      "6cff5c3ba86c69ea4b7376f31a9bcb4f74c1976089b2d9963da2e5543e177769" +
      "961764b3aa9b2ffcb6ef947b6887a226e8d7c93e00c5ed0c1834ff0d0c2e6da6",
      false,
      "8: negated s",
    ],
    [
      PK,
      M,
      "0000000000000000000000000000000000000000000000000000000000000000" +
      "123dda8328af9c23a94c1feecfd123ba4fb73476f0d594dcb65c6425bd186051",
      false,
      "9: sG - eP is infinite",
    ],
    [
      PK,
      M,
      "4a298dacae57395a15d0795ddbfd1dcb564da82b0f269bc70a74f8220429ba1d" +
      "69e89b4c5564d00349106b8497785dd7d1d713a8ae82b32fa79d5f7fc407d39b",
      false,
      "11: sig[0:32] is not an X coordinate on the curve",
    ],
    [
      PK,
      M,
      "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f" +
      "69e89b4c5564d00349106b8497785dd7d1d713a8ae82b32fa79d5f7fc407d39b",
      false,
      "12: sig[0:32] is equal to the field size",
    ],
    [
      PK,
      M,
      "6cff5c3ba86c69ea4b7376f31a9bcb4f74c1976089b2d9963da2e5543e177769" +
      "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
      false,
      "13: sig[32:64] is equal to the curve order",
    ],
    [
      "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc30",
      M,
      "6cff5c3ba86c69ea4b7376f31a9bcb4f74c1976089b2d9963da2e5543e177769" +
      "69e89b4c5564d00349106b8497785dd7d1d713a8ae82b32fa79d5f7fc407d39b",
      false,
      "14: public key exceeds the field size",
    ],
  ];
  for (const [key, message, signature, valid, comment] of rows) {
    strictEqual(
      hybridBackend.schnorrVerify(fromHex(signature), fromHex(message), fromHex(key)),
      valid,
      comment,
    );
    strictEqual(
      nobleBackend.schnorrVerify(fromHex(signature), fromHex(message), fromHex(key)),
      valid,
      comment,
    );
  }
});
