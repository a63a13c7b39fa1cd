import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  bigIntToBytes,
  BytesError,
  bytesToBigInt,
  compare,
  concat,
  constantTimeEqual,
  equal,
  fromHex,
  reverse,
  toHex,
  u16be,
  u32be,
  u32le,
  u64be,
  u64le,
  utf8,
  zeroize,
} from "../../core/bytes.ts";

Deno.test("hex: both directions, either case, and every error", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const hex = toHex(all);
  strictEqual(hex.length, 512);
  strictEqual(hex.slice(0, 8), "00010203");
  strictEqual(hex.slice(-4), "feff");
  deepStrictEqual(fromHex(hex), all);
  deepStrictEqual(fromHex(hex.toUpperCase()), all);
  strictEqual(toHex(new Uint8Array()), "");
  deepStrictEqual(fromHex(""), new Uint8Array());
  deepStrictEqual(fromHex("0aFf", 2), Uint8Array.of(0x0a, 0xff));
  throws(() => fromHex("abc"), { name: "BytesError", message: "hex string has odd length 3" });
  throws(() => fromHex("0g"), {
    name: "BytesError",
    message: "hex string has a non-hex character",
  });
  throws(() => fromHex("0x00"), {
    name: "BytesError",
    message: "hex string has a non-hex character",
  });
  throws(() => fromHex(" 00"), { name: "BytesError", message: "hex string has odd length 3" });
  throws(() => fromHex("0011", 3), {
    name: "BytesError",
    message: "expected 3 bytes of hex, got 2",
  });
});

Deno.test("concat, equal, compare, reverse", () => {
  deepStrictEqual(concat(), new Uint8Array());
  deepStrictEqual(
    concat(Uint8Array.of(1), new Uint8Array(), Uint8Array.of(2, 3)),
    Uint8Array.of(1, 2, 3),
  );
  strictEqual(equal(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
  strictEqual(equal(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
  strictEqual(equal(Uint8Array.of(1), Uint8Array.of(1, 0)), false);
  strictEqual(compare(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), -1);
  strictEqual(compare(Uint8Array.of(2), Uint8Array.of(1, 9)), 1);
  strictEqual(compare(Uint8Array.of(1), Uint8Array.of(1, 0)), -1);
  strictEqual(compare(Uint8Array.of(1, 0), Uint8Array.of(1)), 1);
  strictEqual(compare(Uint8Array.of(7, 7), Uint8Array.of(7, 7)), 0);
  const bytes = Uint8Array.of(1, 2, 3);
  deepStrictEqual(reverse(bytes), Uint8Array.of(3, 2, 1));
  deepStrictEqual(bytes, Uint8Array.of(1, 2, 3)); // a copy, not in place
});

Deno.test("constantTimeEqual: same answers as equal, including lengths", () => {
  const cases: [number[], number[], boolean][] = [
    [[], [], true],
    [[1, 2, 3], [1, 2, 3], true],
    [[1, 2, 3], [1, 2, 4], false],
    [[0, 2, 3], [1, 2, 3], false],
    [[1, 2, 3], [1, 2], false],
    [[1, 2], [1, 2, 0], false],
    [[0], [], false],
    [[], [0], false],
  ];
  for (const [a, b, expected] of cases) {
    strictEqual(
      constantTimeEqual(Uint8Array.from(a), Uint8Array.from(b)),
      expected,
      `${a} vs ${b}`,
    );
    strictEqual(equal(Uint8Array.from(a), Uint8Array.from(b)), expected);
  }
  const secret = fromHex("ff".repeat(32));
  for (let i = 0; i < 32; i++) {
    const other = secret.slice();
    other[i] = 0xfe;
    strictEqual(constantTimeEqual(secret, other), false, `differs at ${i}`);
  }
});

Deno.test("zeroize overwrites every buffer given", () => {
  const a = Uint8Array.of(1, 2, 3);
  const b = new Uint8Array(40).fill(9);
  zeroize(a, b);
  deepStrictEqual(a, new Uint8Array(3));
  deepStrictEqual(b, new Uint8Array(40));
});

Deno.test("fixed-width integers and their ranges", () => {
  strictEqual(toHex(u16be(0x0102)), "0102");
  strictEqual(toHex(u16be(0xffff)), "ffff");
  strictEqual(toHex(u32be(0x01020304)), "01020304");
  strictEqual(toHex(u32le(0x01020304)), "04030201");
  strictEqual(toHex(u32le(0xffffffff)), "ffffffff");
  strictEqual(toHex(u64be(0x0102030405060708n)), "0102030405060708");
  strictEqual(toHex(u64le(0x0102030405060708n)), "0807060504030201");
  strictEqual(toHex(u64le(0xffffffffffffffffn)), "ffffffffffffffff");
  throws(() => u16be(0x10000), {
    name: "BytesError",
    message: "integer 65536 out of range 0..65535",
  });
  throws(() => u16be(-1), { name: "BytesError" });
  throws(() => u32be(1.5), {
    name: "BytesError",
    message: "integer 1.5 out of range 0..4294967295",
  });
  throws(() => u32le(2 ** 32), { name: "BytesError" });
  throws(() => u64le(-1n), { name: "BytesError", message: "integer -1 out of u64 range" });
  throws(() => u64be(2n ** 64n), { name: "BytesError" });
});

Deno.test("big integers to and from bytes", () => {
  strictEqual(bytesToBigInt(fromHex("0102")), 0x0102n);
  strictEqual(bytesToBigInt(new Uint8Array()), 0n);
  strictEqual(bytesToBigInt(fromHex("ff".repeat(32))), 2n ** 256n - 1n);
  strictEqual(toHex(bigIntToBytes(0x0102n, 4)), "00000102");
  strictEqual(toHex(bigIntToBytes(0n, 0)), "");
  strictEqual(toHex(bigIntToBytes(2n ** 256n - 1n, 32)), "ff".repeat(32));
  throws(() => bigIntToBytes(256n, 1), {
    name: "BytesError",
    message: "integer does not fit in 1 bytes",
  });
  throws(() => bigIntToBytes(-1n, 1), { name: "BytesError", message: "negative integer" });
});

Deno.test("utf8 and the error class", () => {
  strictEqual(toHex(utf8("Hi €")), "486920e282ac");
  const e = new BytesError("m");
  strictEqual(e.name, "BytesError");
  strictEqual(e instanceof Error, true);
});
