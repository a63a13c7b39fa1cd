/**
 * The {@link CryptoBackend} contract (core/crypto/backend.ts is an interface only): every backend
 * the project ships must meet its documented conventions with the same known answers, since
 * core/crypto/mod.ts relies on them. 32-byte big-endian scalars, 33-byte compressed points, 64-byte
 * compact low-S signatures, `extraEntropy` as libsecp256k1's `ndata`, verification that never
 * throws, and the RangeError whose message names the group order (mod.ts maps it to its own
 * error).
 */
import { deepStrictEqual, notDeepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex, utf8 } from "../../../core/bytes.ts";
import type { CryptoBackend } from "../../../core/crypto/backend.ts";
import { curvesBackend, hybridBackend, nobleBackend } from "../../../core/crypto/mod.ts";

const BACKENDS: CryptoBackend[] = [nobleBackend, curvesBackend, hybridBackend];

/** Every member of the interface: a compile error here when the interface changes. */
const MEMBERS = {
  name: true,
  sha256: true,
  ripemd160: true,
  hmacSha256: true,
  hmacSha512: true,
  isValidSecretKey: true,
  isValidPublicKey: true,
  publicKey: true,
  ecdsaSign: true,
  ecdsaVerify: true,
  ecdsaRecover: true,
  pointAdd: true,
  pointMultiply: true,
  scalarAdd: true,
  scalarMultiply: true,
  scalarNegate: true,
  schnorrSign: true,
  schnorrVerify: true,
  randomBytes: true,
} satisfies Record<keyof CryptoBackend, true>;

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const bytes32 = (n: bigint) => fromHex(n.toString(16).padStart(64, "0"));
const scalarOf = (b: Uint8Array) => BigInt("0x" + toHex(b));
const ONE = bytes32(1n);
const TWO = bytes32(2n);
const N_MINUS_1 = bytes32(N - 1n);
const G = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
const G2 = "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5";
const G3 = "02f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9";

Deno.test("backend contract: every member is present, names are distinct", () => {
  for (const b of BACKENDS) {
    for (const member of Object.keys(MEMBERS) as (keyof CryptoBackend)[]) {
      strictEqual(
        typeof b[member],
        member === "name" ? "string" : "function",
        `${b.name}.${member}`,
      );
    }
  }
  deepStrictEqual(BACKENDS.map((b) => b.name), ["noble-secp256k1", "noble-curves", "noble-hybrid"]);
});

Deno.test("backend contract: hashes and HMACs (FIPS 180, RIPEMD-160 paper, RFC 4231 case 2)", () => {
  for (const b of BACKENDS) {
    strictEqual(
      toHex(b.sha256(utf8("abc"))),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      b.name,
    );
    strictEqual(
      toHex(b.ripemd160(utf8("abc"))),
      "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc",
      b.name,
    );
    const key = utf8("Jefe");
    const data = utf8("what do ya want for nothing?");
    strictEqual(
      toHex(b.hmacSha256(key, data)),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      b.name,
    );
    strictEqual(
      toHex(b.hmacSha512(key, data)),
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
      b.name,
    );
  }
});

Deno.test("backend contract: secret keys are 32 bytes in [1, n); public keys 33-byte compressed", () => {
  const x = G.slice(2);
  for (const b of BACKENDS) {
    const secrets: [Uint8Array, boolean][] = [
      [new Uint8Array(32), false],
      [ONE, true],
      [N_MINUS_1, true],
      [bytes32(N), false],
      [fromHex("ff".repeat(32)), false],
      [new Uint8Array(31).fill(1), false],
      [new Uint8Array(33).fill(1), false],
    ];
    deepStrictEqual(secrets.map(([s]) => b.isValidSecretKey(s)), secrets.map(([, v]) => v), b.name);
    const points: [string, boolean][] = [
      [G, true],
      ["03" + x, true],
      ["04" + x, false], // 33 bytes with an uncompressed prefix
      ["02" + "00".repeat(32), false], // x = 0 is not on the curve
      ["02fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc30", false], // x >= p
      [x, false], // x-only, 32 bytes
      [
        // The generator uncompressed (65 bytes): valid SEC1, but not the backend's form.
        "04" + x + "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
        false,
      ],
    ];
    deepStrictEqual(
      points.map(([p]) => b.isValidPublicKey(fromHex(p))),
      points.map(([, v]) => v),
      b.name,
    );
    strictEqual(toHex(b.publicKey(ONE)), G, b.name);
    strictEqual(toHex(b.publicKey(TWO)), G2, b.name);
    strictEqual(toHex(b.publicKey(bytes32(3n))), G3, b.name);
    strictEqual(toHex(b.publicKey(N_MINUS_1)), "03" + x, b.name);
    // BOLT #8 Appendix A: the initiator's static key ls.priv = 0x1111...11.
    strictEqual(
      toHex(b.publicKey(fromHex("11".repeat(32)))),
      "034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa",
      b.name,
    );
  }
});

/** Bitcoin Core src/test/key_tests.cpp "test deterministic signing": key1 and its SignCompact. */
const CORE_KEY1 = fromHex("12b004fff7f4b69ef8650e767f18f11ede158148b425660723b9f9a66e61f747");
const CORE_DIGEST = fromHex("5255683da567900bfd3e786ed8836a4e7763c221bf1ac20ece2a5171b9199e8a");
const CORE_SIG1 =
  "5dbbddda71772d95ce91cd2d14b592cfbc1dd0aabd6a394b6c2d377bbe59d31d14ddda21494a4e221f0824f0b8b924c43fa43c0ad57dccdaa11f81a6bd4582f6";

Deno.test("backend contract: RFC 6979 ECDSA, low-S, with the recovery id (Bitcoin Core, btcd)", () => {
  for (const b of BACKENDS) {
    strictEqual(toHex(b.sha256(b.sha256(utf8("Very deterministic message")))), toHex(CORE_DIGEST));
    // SignCompact's header is 0x1c = 27 + recovery id 1.
    const signed = b.ecdsaSign(CORE_DIGEST, CORE_KEY1);
    deepStrictEqual(
      { signature: toHex(signed.signature), recovery: signed.recovery },
      { signature: CORE_SIG1, recovery: 1 },
      b.name,
    );
    // btcd's RFC 6979 case whose raw S is above n/2: the backend returns the low-S form.
    const { signature } = b.ecdsaSign(b.sha256(utf8("Satoshi Nakamoto")), ONE);
    strictEqual(
      toHex(signature),
      "934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d82442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5",
      b.name,
    );
    strictEqual(scalarOf(signature.subarray(32)) <= N >> 1n, true, b.name);
  }
});

Deno.test("backend contract: extraEntropy is libsecp256k1's ndata (Bitcoin Core's low-R grinding)", () => {
  // Bisq LowRSigningKeyTest vectors made with bitcoin-tx: key 2 needed counter 2 (little-endian),
  // key n-1 counter 3; plain RFC 6979 gave a high R for both.
  const cases: [Uint8Array, string, number, string][] = [
    [
      TWO,
      "546876d08f9f06f12c168f96079cd0af996ce22d89bbc58eced2631918a9bc9a",
      2,
      "45cc5d5e4fad81f2bc89f16cb37575da3ae13677f707a73ca5ca1e2787e3d311" +
      "25829e0ad206dbd53cd637b75eedbde3273548673b2d08de3f61dcbe723409e2",
    ],
    [
      N_MINUS_1,
      "9339f4b9ca9ef2c9459462b329261895b5ed2952a1a0d26223fbaea88f60960e",
      3,
      "31b5b2fbaad2e3696cb4492aad8044f264f3ae991dde02c590fe254587d96e0c" +
      "183ae3a641b2056ce425adec1bea9454574a1af367071d9aa28bcdc148ba425d",
    ],
  ];
  for (const b of BACKENDS) {
    for (const [secret, digestHex, counter, expected] of cases) {
      const digest = fromHex(digestHex);
      const ndata = new Uint8Array(32);
      ndata[0] = counter;
      strictEqual(toHex(b.ecdsaSign(digest, secret, ndata).signature), expected, b.name);
      strictEqual(b.ecdsaSign(digest, secret).signature[0] >= 0x80, true, b.name);
      strictEqual(b.ecdsaVerify(fromHex(expected), digest, b.publicKey(secret)), true, b.name);
    }
  }
});

Deno.test("backend contract: verification is strict (low-S) and never throws; recovery", () => {
  for (const b of BACKENDS) {
    const pub = b.publicKey(CORE_KEY1);
    const sig = fromHex(CORE_SIG1);
    strictEqual(b.ecdsaVerify(sig, CORE_DIGEST, pub), true, b.name);
    const highS = concat(sig.subarray(0, 32), bytes32(N - scalarOf(sig.subarray(32))));
    strictEqual(b.ecdsaVerify(highS, CORE_DIGEST, pub), false, b.name);
    strictEqual(b.ecdsaVerify(sig, CORE_DIGEST, b.publicKey(ONE)), false, b.name);
    strictEqual(b.ecdsaVerify(new Uint8Array(64), CORE_DIGEST, pub), false, b.name);
    strictEqual(b.ecdsaVerify(sig, CORE_DIGEST, new Uint8Array(33)), false, b.name);
    strictEqual(b.ecdsaVerify(sig.subarray(1), CORE_DIGEST, pub), false, b.name);
    deepStrictEqual(b.ecdsaRecover(sig, 1, CORE_DIGEST), pub, b.name);
    notDeepStrictEqual(b.ecdsaRecover(sig, 0, CORE_DIGEST), pub, b.name);
    strictEqual(b.schnorrVerify(new Uint8Array(64), CORE_DIGEST, pub.subarray(1)), false, b.name);
    strictEqual(b.schnorrVerify(sig, CORE_DIGEST, new Uint8Array(32)), false, b.name);
  }
});

Deno.test("backend contract: point arithmetic on compressed points", () => {
  for (const b of BACKENDS) {
    const g = fromHex(G);
    strictEqual(toHex(b.pointAdd(g, g)), G2, b.name);
    strictEqual(toHex(b.pointAdd(g, fromHex(G2))), G3, b.name);
    strictEqual(toHex(b.pointMultiply(g, bytes32(3n))), G3, b.name);
    strictEqual(toHex(b.pointMultiply(g, bytes32(3n), true)), G3, b.name);
    strictEqual(toHex(b.pointMultiply(fromHex(G2), N_MINUS_1)), "03" + G2.slice(2), b.name);
    // The sum at infinity, and scalars outside [1, n), throw.
    throws(() => b.pointAdd(g, fromHex("03" + G.slice(2))), RangeError, b.name);
    throws(() => b.pointMultiply(g, new Uint8Array(32)), RangeError, b.name);
    throws(() => b.pointMultiply(g, bytes32(N), true), RangeError, b.name);
  }
});

Deno.test("backend contract: scalar arithmetic mod n, and its refusals", () => {
  for (const b of BACKENDS) {
    deepStrictEqual(b.scalarAdd(N_MINUS_1, TWO), ONE, b.name);
    deepStrictEqual(b.scalarAdd(ONE, TWO), bytes32(3n), b.name);
    deepStrictEqual(b.scalarMultiply(N_MINUS_1, N_MINUS_1), ONE, b.name); // (-1)(-1)
    deepStrictEqual(
      b.scalarMultiply(bytes32(1n << 200n), bytes32(1n << 100n)),
      bytes32(2n ** 300n % N),
    );
    deepStrictEqual(b.scalarNegate(ONE), N_MINUS_1, b.name);
    deepStrictEqual(b.scalarNegate(new Uint8Array(32)), new Uint8Array(32), b.name);
    // core/crypto/mod.ts tells "not below the group order" from "zero" by this message.
    throws(() => b.scalarAdd(bytes32(N), ONE), { name: "RangeError", message: /group order/ });
    throws(() => b.scalarAdd(ONE, bytes32(N)), { name: "RangeError", message: /group order/ });
    throws(() => b.scalarAdd(ONE, N_MINUS_1), (e) => {
      strictEqual(e instanceof RangeError, true);
      strictEqual((e as Error).message.includes("group order"), false);
      return true;
    });
    throws(() => b.scalarMultiply(ONE, new Uint8Array(32)), RangeError, b.name);
  }
});

Deno.test("backend contract: BIP-340 Schnorr, auxRand defaults to 32 zero bytes", () => {
  // bitcoin/bips bip-0340/test-vectors.csv rows 0 and 1.
  const row0 = {
    secret: bytes32(3n),
    key: "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9",
    message: new Uint8Array(32),
    signature:
      "e907831f80848d1069a5371b402410364bdf1c5f8307b0084c55f1ce2dca821525f66a4a85ea8b71e482a74f382d2ce5ebeee8fdb2172f477df4900d310536c0",
  };
  const row1 = {
    secret: fromHex("b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfef"),
    aux: ONE,
    message: fromHex("243f6a8885a308d313198a2e03707344a4093822299f31d0082efa98ec4e6c89"),
    signature:
      "6896bd60eeae296db48a229ff71dfe071bde413e6d43f917dc8dcf8c78de33418906d11ac976abccb20b091292bff4ea897efcb639ea871cfa95f6de339e4b0a",
  };
  for (const b of BACKENDS) {
    strictEqual(toHex(b.schnorrSign(row0.message, row0.secret)), row0.signature, b.name);
    strictEqual(
      toHex(b.schnorrSign(row0.message, row0.secret, new Uint8Array(32))),
      row0.signature,
      b.name,
    );
    strictEqual(toHex(b.schnorrSign(row1.message, row1.secret, row1.aux)), row1.signature, b.name);
    strictEqual(
      b.schnorrVerify(fromHex(row0.signature), row0.message, fromHex(row0.key)),
      true,
      b.name,
    );
    strictEqual(
      b.schnorrVerify(fromHex(row1.signature), row0.message, b.publicKey(row1.secret).subarray(1)),
      false,
      b.name,
    );
  }
});

Deno.test("backend contract: randomBytes gives the length asked, different each time", () => {
  for (const b of BACKENDS) {
    strictEqual(b.randomBytes(0).length, 0, b.name);
    strictEqual(b.randomBytes(1000).length, 1000, b.name);
    notDeepStrictEqual(b.randomBytes(32), b.randomBytes(32), b.name);
  }
});
