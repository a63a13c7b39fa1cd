import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { nobleBackend } from "../../../core/crypto/noble.ts";
import { fromHex, toHex } from "../../../core/bytes.ts";

/**
 * bitcoin/bips bip-0340/test-vectors.csv rows 15..18 (added 2022-12): messages that are not 32
 * bytes. `core/crypto/mod.ts` signs 32-byte messages only, so these run on the backend directly.
 */
const VARIABLE_LENGTH: [string, string][] = [
  [
    "",
    "71535DB165ECD9FBBC046E5FFAEA61186BB6AD436732FCCC25291A55895464CF6069CE26BF03466228F19A3A62DB8A649F2D560FAC652827D1AF0574E427AB63",
  ],
  [
    "11",
    "08A20A0AFEF64124649232E0693C583AB1B9934AE63B4C3511F3AE1134C6A303EA3173BFEA6683BD101FA5AA5DBC1996FE7CACFC5A577D33EC14564CEC2BACBF",
  ],
  [
    "0102030405060708090A0B0C0D0E0F1011",
    "5130F39A4059B43BC7CAC09A19ECE52B5D8699D1A71E3C52DA9AFDB6B50AC370C4A482B77BF960F8681540E25B6771ECE1E5A37FD80E5A51897C5566A97EA5A5",
  ],
  [
    "99".repeat(100),
    "403B12B0D8555A344175EA7EC746566303321E5DBFA8BE6F091635163ECA79A8585ED3E3170807E7C03B720FC54C7B23897FCBA0E9D0B4A06894CFD249F22367",
  ],
];

Deno.test("BIP-340 test vectors 15..18 (variable-length messages) on the noble backend", () => {
  const secret = fromHex("0340034003400340034003400340034003400340034003400340034003400340");
  const xOnly = fromHex("778CAA53B4393AC467774D09497A87224BF9FAB6F6E68B23086497324D6FD117");
  strictEqual(toHex(nobleBackend.publicKey(secret).subarray(1)), toHex(xOnly));
  for (const [message, signature] of VARIABLE_LENGTH) {
    const sig = nobleBackend.schnorrSign(fromHex(message), secret, new Uint8Array(32));
    strictEqual(toHex(sig), signature.toLowerCase(), `message of ${message.length / 2} bytes`);
    strictEqual(nobleBackend.schnorrVerify(sig, fromHex(message), xOnly), true);
  }
});

Deno.test("noble backend: primitive contracts the crypto module relies on", () => {
  strictEqual(nobleBackend.name, "noble-secp256k1");
  const secret = fromHex("e91671c46231f833a6406ccbea0e3e392c76c167bac1cb013f6f1013980455c2");
  const digest = nobleBackend.sha256(new TextEncoder().encode("backend"));
  const { signature, recovery } = nobleBackend.ecdsaSign(digest, secret);
  strictEqual(signature.length, 64);
  deepStrictEqual(
    nobleBackend.ecdsaRecover(signature, recovery, digest),
    nobleBackend.publicKey(secret),
  );
  strictEqual(nobleBackend.ecdsaVerify(signature, digest, nobleBackend.publicKey(secret)), true);
  // Verification never throws on garbage.
  strictEqual(nobleBackend.ecdsaVerify(new Uint8Array(64), digest, new Uint8Array(33)), false);
  strictEqual(nobleBackend.schnorrVerify(new Uint8Array(64), digest, new Uint8Array(32)), false);
  // Scalars are 32 bytes; zero results and out-of-range multipliers throw.
  throws(() => nobleBackend.scalarAdd(new Uint8Array(31), new Uint8Array(32)), RangeError);
  throws(() => nobleBackend.scalarMultiply(secret, new Uint8Array(32)), RangeError);
  throws(
    () => nobleBackend.pointMultiply(nobleBackend.publicKey(secret), new Uint8Array(32)),
    RangeError,
  );
  strictEqual(nobleBackend.isValidSecretKey(new Uint8Array(33).fill(1)), false);
  strictEqual(nobleBackend.isValidPublicKey(nobleBackend.publicKey(secret).subarray(0, 32)), false);
});
