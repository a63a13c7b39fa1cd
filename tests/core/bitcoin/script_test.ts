import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  buildScript,
  isP2wshOf,
  p2pkh,
  p2sh,
  p2tr,
  p2wpkh,
  p2wpkhScriptCode,
  p2wsh,
  parseScript,
  ScriptError,
  type ScriptOp,
} from "../../../core/bitcoin/script.ts";
import { fromHex, toHex } from "../../../core/bytes.ts";

const G = fromHex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
const LOCAL_FUNDING = fromHex("023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb");
const REMOTE_FUNDING = fromHex(
  "030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c1",
);
/** BOLT #3 Appendix B funding witness script. */
const FUNDING_SCRIPT =
  "5221023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb21030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c152ae";
/** BOLT #3 Appendix C, offered HTLC 2's witness script. */
const OFFERED_HTLC =
  "76a91414011f7254d96b819c76986c277d115efce6f7b58763ac67210394854aa6eab5b2a8122cc726e9dded053a2184d88256816826d6231c068d4a5b7c820120876475527c21030d417a46946384f88d5f3337267c5e579765875dc4daca813e21734b140639e752ae67a914b43e1b38138a41b37f7cd9a1d274bc63e3a9b5d188ac6868";

Deno.test("builder and parser: the BOLT #3 funding script", () => {
  const ops: ScriptOp[] = [2, LOCAL_FUNDING, REMOTE_FUNDING, 2, "CHECKMULTISIG"];
  strictEqual(toHex(buildScript(...ops)), FUNDING_SCRIPT);
  deepStrictEqual(parseScript(fromHex(FUNDING_SCRIPT)), ops);
  // BOLT #3 Appendix B: the funding output pays to P2WSH of this script.
  strictEqual(
    toHex(p2wsh(fromHex(FUNDING_SCRIPT))),
    "0020c015c4a6be010e21657068fc2e6a9d02b27ebe4d490a25846f7237f104d1a3cd",
  );
  strictEqual(isP2wshOf(p2wsh(fromHex(FUNDING_SCRIPT)), fromHex(FUNDING_SCRIPT)), true);
  strictEqual(isP2wshOf(p2wsh(fromHex(OFFERED_HTLC)), fromHex(FUNDING_SCRIPT)), false);
});

Deno.test("builder and parser: a BOLT #3 offered-HTLC script round-trips", () => {
  const ops = parseScript(fromHex(OFFERED_HTLC));
  deepStrictEqual(ops.slice(0, 7), [
    "DUP",
    "HASH160",
    fromHex("14011f7254d96b819c76986c277d115efce6f7b5"),
    "EQUAL",
    "IF",
    "CHECKSIG",
    "ELSE",
  ]);
  strictEqual(ops.includes("NOTIF"), true);
  strictEqual(toHex(buildScript(...ops)), OFFERED_HTLC);
});

Deno.test("builder: OP_CODESEPARATOR and CHECKSIGVERIFY (the BIP-143 P2WSH witness script)", () => {
  const a = fromHex("026dccc749adc2a9d0d89497ac511f760f45c47dc5ed9cf352a58ac706453880ae");
  const b = fromHex("0255a9626aebf5e29c0e6538428ba0d1dcf6ca98ffdf086aa8ced5e0d0215ea465");
  const script = buildScript(a, "CHECKSIGVERIFY", "CODESEPARATOR", b, "CHECKSIG");
  strictEqual(
    toHex(script),
    "21026dccc749adc2a9d0d89497ac511f760f45c47dc5ed9cf352a58ac706453880aeadab210255a9626aebf5e29c0e6538428ba0d1dcf6ca98ffdf086aa8ced5e0d0215ea465ac",
  );
  strictEqual(toHex(buildScript("OP_0", "IF", "CODESEPARATOR", "ENDIF")), "0063ab68");
});

Deno.test("builder: numbers use small-number opcodes or minimal script numbers", () => {
  const cases: [number, string][] = [
    [0, "00"],
    [1, "51"],
    [16, "60"],
    [-1, "4f"],
    [17, "0111"],
    [127, "017f"],
    [128, "028000"],
    [144, "029000"], // to_self_delay in BOLT #3 to_local scripts
    [255, "02ff00"],
    [500, "02f401"],
    [-5, "0185"],
    [0x7fffffff, "04ffffff7f"],
  ];
  for (const [n, hex] of cases) strictEqual(toHex(buildScript(n)), hex, String(n));
  // Parsing gives small numbers back as numbers, larger ones as their pushed bytes.
  deepStrictEqual(parseScript(fromHex("00515f60")), [0, 1, 15, 16]);
  deepStrictEqual(parseScript(fromHex("029000")), [fromHex("9000")]);
  deepStrictEqual(parseScript(fromHex("4f")), ["1NEGATE"]);
});

Deno.test("builder: data pushes use the shortest push opcode", () => {
  const push = (n: number) => toHex(buildScript(new Uint8Array(n).fill(0xab)));
  strictEqual(push(1), "01ab");
  strictEqual(push(75), "4b" + "ab".repeat(75));
  strictEqual(push(76), "4c4c" + "ab".repeat(76));
  strictEqual(push(255), "4cff" + "ab".repeat(255));
  strictEqual(push(256), "4d0001" + "ab".repeat(256));
  strictEqual(push(520), "4d0802" + "ab".repeat(520));
  strictEqual(toHex(buildScript(new Uint8Array())), "00");
  for (const n of [1, 75, 76, 255, 256, 520]) {
    deepStrictEqual(parseScript(fromHex(push(n))), [new Uint8Array(n).fill(0xab)], String(n));
  }
});

Deno.test("malformed scripts and unknown opcode names are ScriptErrors", () => {
  const bad: [string, string][] = [
    ["4c", "malformed script: Reader(): readView: Unexpected end of buffer"],
    ["0201", "malformed script: Reader(): readBytes: Unexpected end of buffer"],
    ["4d01", "malformed script: Reader(): readView: Unexpected end of buffer"],
    ["bb", "malformed script: Unknown opcode=bb"],
  ];
  for (const [hex, message] of bad) {
    throws(() => parseScript(fromHex(hex)), { name: "ScriptError", message }, hex);
  }
  throws(() => buildScript("OP_CHECKSIG"), {
    name: "ScriptError",
    message: "cannot build script: Unknown opcode=OP_CHECKSIG",
  });
  throws(() => buildScript("toString"), { name: "ScriptError" });
  strictEqual(new ScriptError("x").name, "ScriptError");
});

Deno.test("standard output scripts", () => {
  // BIP-173: the P2WPKH program of the generator point's key.
  strictEqual(toHex(p2wpkh(G)), "0014751e76e8199196d454941c45d1b3a323f1433bd6");
  strictEqual(toHex(p2pkh(G)), "76a914751e76e8199196d454941c45d1b3a323f1433bd688ac");
  strictEqual(toHex(p2wpkhScriptCode(G)), toHex(p2pkh(G)));
  // BIP-143 P2SH-P2WSH example: redeemScript and scriptPubKey.
  const redeem = fromHex("0020a16b5755f7f6f96dbd65f5f0d6ab9418b89af4b1f14a1bb8a09062c35f0dcb54");
  strictEqual(toHex(p2sh(redeem)), "a9149993a429037b5d912407a71c252019287b8d27a587");
  // BIP-341 wallet vector scriptPubKey[0].
  strictEqual(
    toHex(p2tr(fromHex("53a1f6e454df1aa2776a2814a721372d6258050de330b3c6d10ee8f4e0dda343"))),
    "512053a1f6e454df1aa2776a2814a721372d6258050de330b3c6d10ee8f4e0dda343",
  );
  throws(() => p2tr(G), { name: "ScriptError", message: "taproot output key must be 32 bytes" });
  deepStrictEqual(parseScript(p2pkh(G)), [
    "DUP",
    "HASH160",
    fromHex("751e76e8199196d454941c45d1b3a323f1433bd6"),
    "EQUALVERIFY",
    "CHECKSIG",
  ]);
  deepStrictEqual(parseScript(p2wpkh(G)), [0, fromHex("751e76e8199196d454941c45d1b3a323f1433bd6")]);
});
