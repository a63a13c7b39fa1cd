import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { derDecode, derEncode, DerError } from "../../../core/crypto/der.ts";
import { concat, fromHex, toHex } from "../../../core/bytes.ts";

const R = "934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8";
const S = "2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5";
const DER = "3045022100" + R + "0220" + S;

Deno.test("DER encoding: padding for a set top bit, no padding otherwise, minimal integers", () => {
  strictEqual(toHex(derEncode(fromHex(R + S))), DER);
  strictEqual(toHex(derEncode(fromHex(S + R))), "30450220" + S + "022100" + R);
  // Leading zero bytes are dropped: r = 1, s = 0x80 (needs one padding byte).
  const small = concat(fromHex("00".repeat(31) + "01"), fromHex("00".repeat(31) + "80"));
  strictEqual(toHex(derEncode(small)), "300702010102020080");
  // A 31-byte r whose top bit is set keeps one zero byte.
  const r31 = "00" + "ff".repeat(31);
  strictEqual(
    toHex(derEncode(fromHex(r31 + S))),
    "304402" + "20" + "00" + "ff".repeat(31) + "0220" + S,
  );
  // Zero encodes as a single zero byte.
  strictEqual(toHex(derEncode(new Uint8Array(64))), "3006020100020100");
  throws(() => derEncode(new Uint8Array(63)), {
    name: "DerError",
    message: "compact signature must be 64 bytes",
  });
});

Deno.test("DER decoding is the inverse of encoding", () => {
  deepStrictEqual(derDecode(fromHex(DER)), fromHex(R + S));
  const samples = [
    R + S,
    S + R,
    "00".repeat(31) + "01" + "00".repeat(31) + "80",
    "80".padEnd(64, "0") + "7f".padEnd(64, "f"),
    "00".repeat(32) + "00".repeat(32),
    "ff".repeat(64),
  ];
  for (const compact of samples) {
    deepStrictEqual(toHex(derDecode(derEncode(fromHex(compact)))), compact);
    const der = derEncode(fromHex(compact));
    deepStrictEqual(toHex(derEncode(derDecode(der))), toHex(der));
  }
});

/**
 * BIP-66 strict DER (Bitcoin Core IsValidSignatureEncoding) without the trailing sighash byte:
 * each malformed encoding and the DerError it gets.
 */
const INVALID: [string, string, string][] = [
  ["too short (7 bytes)", "30050201010201", "DER signature has a bad length"],
  ["too long (73 bytes)", "3047022100" + R + "0222" + "0000" + S, "DER signature has a bad length"],
  ["not a SEQUENCE", "3106020101020101", "DER signature is not a SEQUENCE"],
  ["SEQUENCE length too long", "3007020101020101", "DER SEQUENCE length is wrong"],
  ["SEQUENCE length too short", "3005020101020101", "DER SEQUENCE length is wrong"],
  ["long-form SEQUENCE length", "308106020101020101", "DER SEQUENCE length is wrong"],
  ["r not an INTEGER", "3006030101020101", "r is not an INTEGER"],
  ["r of zero length", "30080200020401010101", "r has zero length"],
  ["r negative", "3006020181020101", "r is negative"],
  ["r with excess padding", "300702020001020101", "r has excess padding"],
  ["r overruns the signature", "3006020601020101", "r overruns the signature"],
  ["r longer than 32 bytes", "3026022101" + R + "020101", "r is longer than 32 bytes"],
  ["s not an INTEGER", "3006020101030101", "s is not an INTEGER"],
  ["s of zero length", "30080201010200020101", "s has zero length"],
  ["s negative", "3006020101020180", "s is negative"],
  ["s with excess padding", "300702010102020001", "s has excess padding"],
  ["s overruns the signature", "3006020101020201", "s overruns the signature"],
  ["s missing", "3006020401010101", "s is not an INTEGER"],
  ["trailing bytes after the SEQUENCE", "3006020101020101" + "00", "DER SEQUENCE length is wrong"],
  ["trailing bytes inside the SEQUENCE", "300702010102010100", "DER signature has trailing bytes"],
];

Deno.test("DER decoding refuses every BIP-66 violation with a DerError", () => {
  for (const [what, hex, message] of INVALID) {
    throws(() => derDecode(fromHex(hex)), { name: "DerError", message }, what);
  }
  strictEqual(new DerError("x").name, "DerError");
});

Deno.test("DER decoding accepts the boundaries BIP-66 allows", () => {
  // Minimal 8-byte signature, a padded 33-byte r (top bit set after the zero), 72 bytes total.
  deepStrictEqual(
    toHex(derDecode(fromHex("3006020101020101"))),
    "00".repeat(31) + "01" + "00".repeat(31) + "01",
  );
  const max = "3046022100" + "ff".repeat(32) + "022100" + "80".repeat(32);
  strictEqual(fromHex(max).length, 72);
  strictEqual(toHex(derDecode(fromHex(max))), "ff".repeat(32) + "80".repeat(32));
  // A single zero byte is zero, not excess padding.
  strictEqual(toHex(derDecode(fromHex("3006020100020100"))), "00".repeat(64));
});
