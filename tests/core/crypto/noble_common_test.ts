/**
 * `nobleLibraryBackend` over a fake {@link NobleLibrary}: what the adapter itself does, apart from
 * either real library (tests/core/crypto/backend_test.ts runs it over both). The fake works in the
 * additive group of integers mod a small order, so results are exact numbers: the options the
 * adapter passes (no prehash, low-S, recovered format, `extraEntropy: false` when absent), the
 * 65-byte recovered form split and rebuilt, length checks before the library is asked, the
 * RangeErrors (with their messages, which core/crypto/mod.ts reads), big-endian scalars mod n, the
 * public-scalar multiplication path, and the hashes, which come from @noble/hashes in any case.
 */
import { deepStrictEqual, notDeepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex, utf8 } from "../../../core/bytes.ts";
import {
  type NobleLibrary,
  nobleLibraryBackend,
  type NoblePoint,
} from "../../../core/crypto/noble_common.ts";

const bytes32 = (n: bigint) => fromHex(n.toString(16).padStart(64, "0"));
const valueOf = (b: Uint8Array) => BigInt("0x" + (toHex(b) || "0"));

/** What the fake library was asked. */
interface Call {
  fn: string;
  args: unknown[];
}

/** A point of the fake group: `v` times a generator, encoded `02 || v` (32 bytes, big-endian). */
function fakePoint(v: bigint, order: bigint, calls: Call[]): NoblePoint {
  return {
    add: (other) => fakePoint((v + valueOf(other.toBytes(true).subarray(1))) % order, order, calls),
    multiply(k) {
      calls.push({ fn: "multiply", args: [k] });
      return fakePoint((v * k) % order, order, calls);
    },
    multiplyUnsafe(k) {
      calls.push({ fn: "multiplyUnsafe", args: [k] });
      return fakePoint((v * k) % order, order, calls);
    },
    is0: () => v === 0n,
    toBytes(compressed) {
      calls.push({ fn: "toBytes", args: [compressed] });
      return concat(Uint8Array.of(0x02), bytes32(v));
    },
  };
}

/** A fake library of group order `order` that records its calls. */
function fakeLibrary(order: bigint): { lib: NobleLibrary; calls: Call[] } {
  const calls: Call[] = [];
  const record = (fn: string, ...args: unknown[]) => calls.push({ fn, args });
  const lib: NobleLibrary = {
    order,
    pointFromBytes(bytes) {
      record("pointFromBytes", toHex(bytes));
      if (bytes[0] !== 0x02) throw new Error("fake: bad point");
      return fakePoint(valueOf(bytes.subarray(1)), order, calls);
    },
    sign(digest, secret, options) {
      record("sign", options);
      return concat(Uint8Array.of(3), digest, secret); // recovery id 3, then "r || s"
    },
    verify(signature, _digest, _publicKey, options) {
      record("verify", options);
      if (signature[0] === 0xee) throw new Error("fake: malformed");
      return signature[0] === 0x01;
    },
    recoverPublicKey(signature, _digest, options) {
      record("recoverPublicKey", options);
      return signature.slice();
    },
    getPublicKey(_secret, compressed) {
      record("getPublicKey", compressed);
      return Uint8Array.of(compressed ? 0x02 : 0x04);
    },
    isValidSecretKey(secret) {
      record("isValidSecretKey", secret.length);
      return secret[0] !== 0xff;
    },
    isValidPublicKey(point, compressed) {
      record("isValidPublicKey", compressed);
      return point[0] === 0x02;
    },
    schnorrSign(_message, _secret, auxRand) {
      record("schnorrSign");
      return auxRand;
    },
    schnorrVerify(signature) {
      record("schnorrVerify");
      if (signature[0] === 0xee) throw new Error("fake: malformed");
      return true;
    },
  };
  return { lib, calls };
}

/** The fake point `v`. */
const P = (v: bigint) => concat(Uint8Array.of(0x02), bytes32(v));

Deno.test("nobleLibraryBackend: hashes come from @noble/hashes (FIPS 180-2, RFC 4231 case 1)", () => {
  const b = nobleLibraryBackend("fake", fakeLibrary(97n).lib);
  strictEqual(b.name, "fake");
  strictEqual(
    toHex(b.sha256(new Uint8Array())),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  strictEqual(toHex(b.ripemd160(new Uint8Array())), "9c1185a5c5e9fc54612808977ee8f548b2258d31");
  strictEqual(
    toHex(b.ripemd160(utf8("message digest"))),
    "5d0689ef49d2fae572b881b123a85ffa21595f36",
  );
  const key = fromHex("0b".repeat(20));
  strictEqual(
    toHex(b.hmacSha256(key, utf8("Hi There"))),
    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  );
  strictEqual(
    toHex(b.hmacSha512(key, utf8("Hi There"))),
    "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
  );
});

Deno.test("nobleLibraryBackend: ECDSA options, the recovered form split and rebuilt", () => {
  const { lib, calls } = fakeLibrary(97n);
  const b = nobleLibraryBackend("fake", lib);
  const digest = new Uint8Array(32).fill(0xd1);
  const secret = new Uint8Array(32).fill(0x5e);
  const signed = b.ecdsaSign(digest, secret);
  deepStrictEqual(signed, { signature: concat(digest, secret), recovery: 3 });
  const ndata = new Uint8Array(32).fill(7);
  b.ecdsaSign(digest, secret, ndata);
  deepStrictEqual(calls.splice(0), [
    {
      fn: "sign",
      args: [{ prehash: false, lowS: true, format: "recovered", extraEntropy: false }],
    },
    {
      fn: "sign",
      args: [{ prehash: false, lowS: true, format: "recovered", extraEntropy: ndata }],
    },
  ]);
  const good = new Uint8Array(64).fill(0x01);
  strictEqual(b.ecdsaVerify(good, digest, P(1n)), true);
  strictEqual(b.ecdsaVerify(new Uint8Array(64), digest, P(1n)), false);
  // A library that throws on malformed input gives false, never an exception.
  strictEqual(b.ecdsaVerify(new Uint8Array(64).fill(0xee), digest, P(1n)), false);
  deepStrictEqual(calls.splice(0), [
    { fn: "verify", args: [{ prehash: false, lowS: true }] },
    { fn: "verify", args: [{ prehash: false, lowS: true }] },
    { fn: "verify", args: [{ prehash: false, lowS: true }] },
  ]);
  const signature = concat(new Uint8Array(32).fill(0xaa), new Uint8Array(32).fill(0xbb));
  deepStrictEqual(b.ecdsaRecover(signature, 2, digest), concat(Uint8Array.of(2), signature));
  deepStrictEqual(calls.splice(0), [{ fn: "recoverPublicKey", args: [{ prehash: false }] }]);
});

Deno.test("nobleLibraryBackend: keys are compressed; lengths are checked before the library", () => {
  const { lib, calls } = fakeLibrary(97n);
  const b = nobleLibraryBackend("fake", lib);
  deepStrictEqual(b.publicKey(new Uint8Array(32).fill(1)), Uint8Array.of(0x02));
  strictEqual(b.isValidSecretKey(new Uint8Array(32).fill(1)), true);
  strictEqual(b.isValidSecretKey(new Uint8Array(32).fill(0xff)), false);
  strictEqual(b.isValidPublicKey(P(5n)), true);
  strictEqual(b.isValidPublicKey(concat(Uint8Array.of(0x03), bytes32(5n))), false);
  deepStrictEqual(calls.splice(0), [
    { fn: "getPublicKey", args: [true] },
    { fn: "isValidSecretKey", args: [32] },
    { fn: "isValidSecretKey", args: [32] },
    { fn: "isValidPublicKey", args: [true] },
    { fn: "isValidPublicKey", args: [true] },
  ]);
  // Wrong lengths are refused without asking the library (it might accept other encodings).
  strictEqual(b.isValidSecretKey(new Uint8Array(31).fill(1)), false);
  strictEqual(b.isValidSecretKey(new Uint8Array(33).fill(1)), false);
  strictEqual(b.isValidPublicKey(P(5n).subarray(1)), false);
  strictEqual(b.isValidPublicKey(concat(P(5n), new Uint8Array(32))), false);
  deepStrictEqual(calls, []);
});

Deno.test("nobleLibraryBackend: point addition, and its RangeErrors", () => {
  const { lib, calls } = fakeLibrary(97n);
  const b = nobleLibraryBackend("fake", lib);
  deepStrictEqual(b.pointAdd(P(5n), P(7n)), P(12n));
  deepStrictEqual(b.pointAdd(P(90n), P(10n)), P(3n));
  deepStrictEqual(
    calls.filter((c) => c.fn === "toBytes").at(-1),
    { fn: "toBytes", args: [true] },
  );
  throws(() => b.pointAdd(P(5n), P(92n)), {
    name: "RangeError",
    message: "point sum is infinity",
  });
  calls.length = 0;
  throws(() => b.pointAdd(P(5n).subarray(1), P(7n)), {
    name: "RangeError",
    message: "public key must be 33 bytes",
  });
  throws(() => b.pointAdd(P(5n), concat(P(7n), Uint8Array.of(0))), {
    name: "RangeError",
    message: "public key must be 33 bytes",
  });
  // The library decoded only the one well-sized point (the first of the second call).
  strictEqual(calls.filter((c) => c.fn === "pointFromBytes").length, 1);
  // A point the library refuses: its own error passes through.
  throws(() => b.pointAdd(P(5n), fromHex("03" + "00".repeat(32))), {
    message: "fake: bad point",
  });
});

Deno.test("nobleLibraryBackend: multiplication in [1, n); the public-scalar path is opt-in", () => {
  const { lib, calls } = fakeLibrary(97n);
  const b = nobleLibraryBackend("fake", lib);
  deepStrictEqual(b.pointMultiply(P(5n), bytes32(3n)), P(15n));
  deepStrictEqual(b.pointMultiply(P(5n), bytes32(96n), false), P(92n));
  deepStrictEqual(b.pointMultiply(P(5n), bytes32(20n), true), P(3n));
  deepStrictEqual(
    calls.filter((c) => c.fn.startsWith("multiply")),
    [
      { fn: "multiply", args: [3n] },
      { fn: "multiply", args: [96n] },
      { fn: "multiplyUnsafe", args: [20n] },
    ],
  );
  for (const k of [0n, 97n, 98n, 2n ** 256n - 1n]) {
    throws(() => b.pointMultiply(P(5n), bytes32(k)), {
      name: "RangeError",
      message: "scalar out of range",
    });
    throws(() => b.pointMultiply(P(5n), bytes32(k), true), {
      name: "RangeError",
      message: "scalar out of range",
    });
  }
  throws(() => b.pointMultiply(P(5n), new Uint8Array(31)), {
    name: "RangeError",
    message: "scalar must be 32 bytes",
  });
  throws(() => b.pointMultiply(P(5n).subarray(1), bytes32(3n)), {
    name: "RangeError",
    message: "public key must be 33 bytes",
  });
});

Deno.test("nobleLibraryBackend: scalar arithmetic mod the library's order, exact errors", () => {
  const b = nobleLibraryBackend("fake", fakeLibrary(97n).lib);
  deepStrictEqual(b.scalarAdd(bytes32(50n), bytes32(50n)), bytes32(3n));
  deepStrictEqual(b.scalarAdd(bytes32(0n), bytes32(5n)), bytes32(5n));
  throws(() => b.scalarAdd(bytes32(96n), bytes32(1n)), {
    name: "RangeError",
    message: "scalar result is zero",
  });
  for (const [x, y] of [[97n, 1n], [1n, 97n], [2n ** 256n - 1n, 1n]]) {
    throws(() => b.scalarAdd(bytes32(x), bytes32(y)), {
      name: "RangeError",
      message: "scalar not below the group order",
    });
  }
  deepStrictEqual(b.scalarMultiply(bytes32(10n), bytes32(10n)), bytes32(3n));
  // Multiplication reduces its inputs (only a zero product is refused).
  deepStrictEqual(b.scalarMultiply(bytes32(98n), bytes32(5n)), bytes32(5n));
  throws(() => b.scalarMultiply(bytes32(97n), bytes32(5n)), {
    name: "RangeError",
    message: "scalar result is zero",
  });
  deepStrictEqual(b.scalarNegate(bytes32(1n)), bytes32(96n));
  deepStrictEqual(b.scalarNegate(bytes32(0n)), bytes32(0n));
  deepStrictEqual(b.scalarNegate(bytes32(97n)), bytes32(0n));
  deepStrictEqual(b.scalarNegate(bytes32(98n)), bytes32(96n));
  for (
    const f of [
      () => b.scalarNegate(new Uint8Array(33)),
      () => b.scalarAdd(bytes32(1n), new Uint8Array(31)),
      () => b.scalarMultiply(new Uint8Array(0), bytes32(1n)),
    ]
  ) {
    throws(f, { name: "RangeError", message: "scalar must be 32 bytes" });
  }
});

Deno.test("nobleLibraryBackend: scalars are 32-byte big-endian, carries cross bytes", () => {
  const order = 2n ** 248n + 1n;
  const b = nobleLibraryBackend("fake", fakeLibrary(order).lib);
  deepStrictEqual(b.scalarAdd(fromHex("00".repeat(30) + "01ff"), bytes32(1n)), bytes32(0x200n));
  deepStrictEqual(
    b.scalarAdd(bytes32(2n ** 248n), bytes32(2n)),
    bytes32(1n), // 2^248 + 2 - (2^248 + 1)
  );
  deepStrictEqual(b.scalarMultiply(bytes32(2n ** 247n), bytes32(2n)), bytes32(order - 1n));
  deepStrictEqual(b.scalarNegate(bytes32(2n)), bytes32(order - 2n));
  strictEqual(toHex(b.scalarNegate(bytes32(2n))), "00" + "ff".repeat(30) + "ff");
});

Deno.test("nobleLibraryBackend: Schnorr auxRand defaults to 32 zeros; verify never throws", () => {
  const b = nobleLibraryBackend("fake", fakeLibrary(97n).lib);
  const msg = new Uint8Array(32);
  deepStrictEqual(b.schnorrSign(msg, bytes32(1n)), new Uint8Array(32));
  const aux = new Uint8Array(32).fill(0x42);
  strictEqual(b.schnorrSign(msg, bytes32(1n), aux), aux);
  strictEqual(b.schnorrVerify(new Uint8Array(64), msg, new Uint8Array(32)), true);
  strictEqual(b.schnorrVerify(new Uint8Array(64).fill(0xee), msg, new Uint8Array(32)), false);
});

Deno.test("nobleLibraryBackend: randomBytes from the platform CSPRNG", () => {
  const b = nobleLibraryBackend("fake", fakeLibrary(97n).lib);
  strictEqual(b.randomBytes(0).length, 0);
  strictEqual(b.randomBytes(4096).length, 4096);
  notDeepStrictEqual(b.randomBytes(32), b.randomBytes(32));
  strictEqual(b.randomBytes(32) instanceof Uint8Array, true);
});
