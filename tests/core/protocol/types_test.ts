/**
 * Wire primitives and combinators, one by one: exact encodings, the BOLT #1 BigSize vectors,
 * TLV stream rules, and every validation (on decode and on encode) with its exact error.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex } from "../../../core/bytes.ts";
import { SecretBytes } from "../../../core/crypto/mod.ts";
import {
  arr,
  arrBE,
  b16,
  b32,
  bigSize,
  bool,
  bsig,
  type Codec,
  h32,
  htlc,
  opt,
  outpoint,
  ProtocolError,
  pt,
  Reader,
  rest,
  rsig,
  sec,
  str0,
  str0Secret,
  struct,
  tlv,
  tlvs,
  u16,
  u32,
  u32le,
  u64,
  u8,
  utxo,
  Writer,
  xkey,
} from "../../../core/protocol/types.ts";
import { POINTS } from "./arbitrary.ts";

function enc<T>(codec: Codec<T>, value: T): string {
  const w = new Writer({ where: "t" });
  codec.write(w, value);
  return toHex(w.finish());
}

function dec<T>(codec: Codec<T>, hex: string): T {
  const r = new Reader(fromHex(hex), { where: "t" });
  const v = codec.read(r);
  strictEqual(r.remaining, 0, "bytes left after the value");
  return v;
}

function fails(fn: () => unknown, code: string, message: string): void {
  throws(fn, (e: unknown) => {
    ok(e instanceof ProtocolError, String(e));
    strictEqual(e.code, code, e.message);
    strictEqual(e.message, message);
    return true;
  });
}

const P = toHex(POINTS[0]);

Deno.test("integers are big-endian (u32le little-endian); out-of-range values are refused", () => {
  strictEqual(enc(u8, 0xab), "ab");
  strictEqual(enc(u16, 0x1234), "1234");
  strictEqual(enc(u32, 0x12345678), "12345678");
  strictEqual(enc(u32le, 0x12345678), "78563412");
  strictEqual(enc(u64, 0x0102030405060708n), "0102030405060708");
  strictEqual(dec(u32, "ffffffff"), 0xffffffff);
  strictEqual(dec(u32le, "01000080"), 0x80000001);
  strictEqual(dec(u64, "ffffffffffffffff"), 0xffffffffffffffffn);
  fails(() => enc(u8, 256), "invalid", "t: must be an integer in 0..255");
  fails(() => enc(u16, 1.5), "invalid", "t: must be an integer in 0..65535");
  fails(() => enc(u64, -1n), "invalid", "t: must be a bigint in 0..2^64-1");
  fails(() => enc(u64, 1n << 64n), "invalid", "t: must be a bigint in 0..2^64-1");
  // @ts-expect-error: a number is not a u64
  fails(() => enc(u64, 5), "invalid", "t: must be a bigint in 0..2^64-1");
  fails(() => dec(u32, "010203"), "truncated", "t: truncated (needs 4 bytes, 3 left)");
});

Deno.test("bool is 0 or 1 only", () => {
  strictEqual(dec(bool, "00"), false);
  strictEqual(dec(bool, "01"), true);
  strictEqual(enc(bool, true), "01");
  fails(() => dec(bool, "02"), "invalid", "t: invalid bool 2 (must be 0 or 1)");
  fails(() => dec(bool, "ff"), "invalid", "t: invalid bool 255 (must be 0 or 1)");
  // @ts-expect-error: 1 is not a boolean
  fails(() => enc(bool, 1), "invalid", "t: must be a boolean");
});

Deno.test("str0: UTF-8 then NUL; no interior NUL, no control characters, valid UTF-8", () => {
  strictEqual(enc(str0, "abc"), "61626300");
  strictEqual(enc(str0, ""), "00");
  strictEqual(enc(str0, "é ✓"), "c3a920e29c9300");
  strictEqual(dec(str0, "c3a920e29c9300"), "é ✓");
  fails(() => dec(str0, "616263"), "truncated", "t: unterminated string (no NUL before the end)");
  fails(() => dec(str0, "61096200"), "invalid", "t: string contains a control character");
  fails(() => dec(str0, "c3283100"), "invalid", "t: string is not valid UTF-8");
  fails(() => enc(str0, "a\u0000b"), "invalid", "t: string contains a NUL or control character");
  fails(() => enc(str0, "line\n"), "invalid", "t: string contains a NUL or control character");
  fails(() => enc(str0, "\ud800"), "invalid", "t: string is not well-formed UTF-16");
  const r = new Reader(fromHex("6100620063"), { where: "t" });
  deepStrictEqual([str0.read(r), str0.read(r)], ["a", "b"]);
  strictEqual(r.remaining, 1);
});

Deno.test("str0Secret holds the string as SecretBytes", () => {
  const v = dec(str0Secret, "73656372657400");
  ok(v instanceof SecretBytes);
  strictEqual(new TextDecoder().decode(v.expose()), "secret");
  strictEqual(`${v}`, "[redacted]");
  strictEqual(enc(str0Secret, new SecretBytes(new TextEncoder().encode("pw"))), "707700");
  fails(
    () => enc(str0Secret, new SecretBytes(Uint8Array.of(0x70, 0x00))),
    "invalid",
    "t: string contains a NUL or control character",
  );
});

Deno.test("fixed-size fields: pt, h32, rsig, xkey, sec", () => {
  deepStrictEqual(dec(pt, P), POINTS[0]);
  fails(() => dec(pt, "04" + P.slice(2)), "invalid", "t: not a valid compressed secp256k1 point");
  fails(
    () => dec(pt, "02" + "00".repeat(32)),
    "invalid",
    "t: not a valid compressed secp256k1 point",
  );
  fails(() => enc(pt, POINTS[0].subarray(1)), "invalid", "t: must be 33 bytes, got 32");
  strictEqual(enc(h32, new Uint8Array(32).fill(7)), "07".repeat(32));
  strictEqual(dec(rsig, "11".repeat(64) + "03").length, 65);
  fails(
    () => dec(rsig, "11".repeat(64) + "04"),
    "invalid",
    "t: invalid recovery id 4 (must be 0..3)",
  );
  const xpub = "043587cf" + "00".repeat(41) + P;
  deepStrictEqual(dec(xkey, xpub), fromHex(xpub));
  fails(
    () => dec(xkey, "04358394" + "00".repeat(41) + "00" + "11".repeat(32)),
    "invalid",
    "t: not a public BIP-32 extended key (key data is not a valid compressed point)",
  );
  const s = dec(sec, "ab".repeat(32));
  ok(s instanceof SecretBytes);
  strictEqual(toHex(s.expose()), "ab".repeat(32));
  strictEqual(enc(sec, s), "ab".repeat(32));
  // @ts-expect-error: plain bytes are not SecretBytes
  fails(() => enc(sec, new Uint8Array(32)), "invalid", "t: must be SecretBytes");
  fails(
    () => enc(sec, new SecretBytes(new Uint8Array(31))),
    "invalid",
    "t: must be 32 bytes, got 31",
  );
});

Deno.test("bsig: compact signature then a defined sighash type", () => {
  const v = dec(bsig, "22".repeat(64) + "83");
  deepStrictEqual(v, { signature: new Uint8Array(64).fill(0x22), sighash: 0x83 });
  strictEqual(enc(bsig, v), "22".repeat(64) + "83");
  for (const bad of ["00", "04", "80", "84", "c1"]) {
    fails(
      () => dec(bsig, "22".repeat(64) + bad),
      "invalid",
      `t: undefined sighash type 0x${bad.replace(/^0/, "")}`,
    );
  }
  fails(
    () => enc(bsig, { signature: new Uint8Array(64), sighash: 0 }),
    "invalid",
    "t: sighash must be 1, 2, 3, 0x81, 0x82 or 0x83",
  );
  fails(
    () => enc(bsig, { signature: new Uint8Array(63), sighash: 1 }),
    "invalid",
    "t: signature must be 64 bytes, got 63",
  );
});

Deno.test("b16, b32, rest", () => {
  strictEqual(enc(b16, fromHex("aabb")), "0002aabb");
  strictEqual(enc(b32, fromHex("aabb")), "00000002aabb");
  deepStrictEqual(dec(b16, "0000"), new Uint8Array());
  fails(() => dec(b16, "0003aabb"), "truncated", "t: truncated (needs 3 bytes, 2 left)");
  fails(
    () => enc(b16, new Uint8Array(65536)),
    "invalid",
    "t: too long (65536 bytes, at most 65535)",
  );
  strictEqual(enc(b16, new Uint8Array(65535)).length, 2 * 65537);
  deepStrictEqual(dec(rest, "010203"), fromHex("010203"));
  deepStrictEqual(dec(rest, ""), new Uint8Array());
});

Deno.test("opt, arr, arrBE", () => {
  strictEqual(enc(opt(u32), null), "00");
  strictEqual(enc(opt(u32), 5), "0100000005");
  strictEqual(dec(opt(u32), "00"), null);
  fails(() => dec(opt(u32), "02"), "invalid", "t: invalid bool 2 (must be 0 or 1)");
  fails(() => enc(opt(u32), undefined as unknown as null), "invalid", "t: must be a value or null");
  strictEqual(enc(arrBE, [1, 0x1000000]), "00020000000101000000");
  strictEqual(arrBE.name, "arrBE<u32>");
  deepStrictEqual(dec(arr(u16), "00020001ffff"), [1, 0xffff]);
  fails(
    () => dec(arr(pt), "0002" + P + "05" + P.slice(2)),
    "invalid",
    "t[1]: not a valid compressed secp256k1 point",
  );
  fails(
    () => enc(arr(u8), new Array(65536).fill(0)),
    "invalid",
    "t: too many elements (65536, at most 65535)",
  );
  fails(() => enc(arr(u8), [1, 300]), "invalid", "t[1]: must be an integer in 0..255");
});

Deno.test("struct: fields in order; missing and unexpected fields are refused", () => {
  const s = struct("s", { a: u8, b: opt(pt) });
  strictEqual(enc(s, { a: 1, b: POINTS[0] }), "0101" + P);
  deepStrictEqual(dec(s, "0200"), { a: 2, b: null });
  fails(
    () => dec(s, "0201" + "05" + P.slice(2)),
    "invalid",
    "t.b: not a valid compressed secp256k1 point",
  );
  // @ts-expect-error: b is missing
  fails(() => enc(s, { a: 1 }), "invalid", 't: missing field "b"');
  // @ts-expect-error: c is unexpected
  fails(() => enc(s, { a: 1, b: null, c: 2 }), "invalid", 't: unexpected field "c"');
});

Deno.test("protocol.md §0 compound types: htlc, utxo with closeinfo, outpoint (vout LE)", () => {
  const h = {
    side: 1 as const,
    amount_msat: 1000n,
    payment_hash: new Uint8Array(32).fill(9),
    cltv_expiry: 500,
  };
  strictEqual(enc(htlc, h), "01" + "00000000000003e8" + "09".repeat(32) + "000001f4");
  fails(
    () => dec(htlc, "02" + "00".repeat(44)),
    "invalid",
    "t.side: invalid value 2 (must be one of 0, 1)",
  );
  const u = {
    txid: new Uint8Array(32).fill(1),
    outnum: 2,
    amount_sat: 3n,
    keyindex: 4,
    is_p2sh: false,
    script_pubkey: fromHex("0014" + "55".repeat(20)),
    close_info: {
      channel_id: 7n,
      peer_id: POINTS[1],
      commitment_point: null,
      option_anchors: true,
      csv: 1,
    },
    is_in_coinbase: false,
  };
  const hex = "01".repeat(32) + "00000002" + "0000000000000003" + "00000004" + "00" + "0016" +
    "0014" + "55".repeat(20) + "01" + "0000000000000007" + toHex(POINTS[1]) + "00" + "01" +
    "00000001" + "00";
  strictEqual(enc(utxo, u), hex);
  deepStrictEqual(dec(utxo, hex), u);
  strictEqual(enc(outpoint, { txid: new Uint8Array(32), vout: 1 }), "00".repeat(32) + "01000000");
});

Deno.test("BigSize: the BOLT #1 test vectors", () => {
  const vectors: [bigint, string][] = [
    [0n, "00"],
    [252n, "fc"],
    [253n, "fd00fd"],
    [65535n, "fdffff"],
    [65536n, "fe00010000"],
    [4294967295n, "feffffffff"],
    [4294967296n, "ff0000000100000000"],
    [18446744073709551615n, "ffffffffffffffffff"],
  ];
  for (const [n, hex] of vectors) strictEqual(toHex(bigSize(n)), hex);
  // Decoding, as TLV types of an otherwise empty record (odd ones are kept as unknown).
  const t = tlvs("t", {});
  for (const [n, hex] of vectors.filter(([n]) => n % 2n === 1n)) {
    deepStrictEqual(dec(t, hex + "00"), { unknownOdd: [{ type: n, value: new Uint8Array() }] });
  }
  fails(() => dec(t, "fd00fc00"), "invalid", "t: non-minimal BigSize encoding");
  fails(() => dec(t, "fe0000ffff00"), "invalid", "t: non-minimal BigSize encoding");
  fails(() => dec(t, "ff00000000ffffffff00"), "invalid", "t: non-minimal BigSize encoding");
  fails(() => dec(t, "fd00"), "truncated", "t: truncated (needs 2 bytes, 1 left)");
  fails(() => dec(t, "feffff"), "truncated", "t: truncated (needs 4 bytes, 2 left)");
  fails(() => dec(t, "ffffffffff"), "truncated", "t: truncated (needs 8 bytes, 4 left)");
});

Deno.test("TLV streams: order, known records, unknown even/odd, exact value length", () => {
  const t = tlvs("t", { flag: tlv(1, bool), name: tlv(4, str0), keys: tlv(6, arr(pt)) });
  deepStrictEqual(dec(t, ""), {});
  const v = dec(t, "010101" + "030100" + "0403616200");
  deepStrictEqual(v, { flag: true, name: "ab", unknownOdd: [{ type: 3n, value: fromHex("00") }] });
  strictEqual(enc(t, v), "010101" + "030100" + "0403616200");
  // Encoding sorts by type whatever the key order.
  strictEqual(enc(t, { name: "ab", flag: false }), "010100" + "0403616200");
  strictEqual(enc(t, { flag: undefined }), "");
  fails(
    () => dec(t, "0403616200" + "010101"),
    "invalid",
    "t: TLV type 1 is not greater than the previous 4",
  );
  fails(
    () => dec(t, "010101" + "010100"),
    "invalid",
    "t: TLV type 1 is not greater than the previous 1",
  );
  fails(() => dec(t, "0200"), "invalid", "t[type 2]: unknown even TLV type 2");
  fails(() => dec(t, "01020100"), "trailing-bytes", "t.flag: 1 bytes left in the TLV value");
  fails(() => dec(t, "0100"), "truncated", "t.flag: truncated (needs 1 bytes, 0 left)");
  fails(() => dec(t, "0105ff"), "truncated", "t.flag: truncated (TLV length 5, 1 bytes left)");
  fails(() => dec(t, "0102" + "6100"), "invalid", "t.flag: invalid bool 97 (must be 0 or 1)");
  fails(
    () => dec(t, "0402" + "6162"),
    "truncated",
    "t.name: unterminated string (no NUL before the end)",
  );
  fails(
    () => dec(t, "06" + "23" + "0001" + "05" + P.slice(2)),
    "invalid",
    "t.keys[0]: not a valid compressed secp256k1 point",
  );
  fails(
    () => enc(t, { flag: true, unknownOdd: [{ type: 2n, value: new Uint8Array() }] }),
    "invalid",
    "t.unknownOdd[0]: an unknown TLV type must be odd (and fit in 64 bits)",
  );
  fails(
    () => enc(t, { unknownOdd: [{ type: 1n, value: new Uint8Array() }] }),
    "invalid",
    "t.unknownOdd[0]: TLV type 1 is known: use its named field",
  );
  fails(
    () =>
      enc(t, {
        unknownOdd: [{ type: 7n, value: new Uint8Array() }, { type: 7n, value: new Uint8Array() }],
      }),
    "invalid",
    "t: duplicate TLV type 7",
  );
  // @ts-expect-error: not a record of this stream
  fails(() => enc(t, { other: 1 }), "invalid", 't: unexpected TLV record "other"');
  strictEqual(enc(t, { unknownOdd: [{ type: 253n, value: fromHex("ff") }] }), "fd00fd01ff");
  strictEqual(toHex(concat(bigSize(3n))), "03");
});
