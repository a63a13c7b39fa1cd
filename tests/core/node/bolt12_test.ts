import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex, utf8 } from "../../../core/bytes.ts";
import { pointAdd, publicKey, schnorrVerify, sha256 } from "../../../core/crypto/mod.ts";
import { bolt12SigHash, signBolt12, signBolt12V2 } from "../../../core/node/bolt12.ts";
import { SignBolt12Facts } from "../../../core/node/facts_sign.ts";
import { contextOf, keysWithNodeSecret } from "./_sign_fixture.ts";

// bolt12/signature-test.json, "invoice_request test": payer Bob (privkey 0x4242...), the merkle
// root, H(signature_tag, merkle) and the encoded lnr1... whose TLV 240 is Bob's signature.
const BOB = "42".repeat(32);
const MERKLE = fromHex("608407c18ad9a94d9ea2bcdbe170b6c20c462a7833a197621c916f78cf18e624");
const SIGHASH = "aefe3aa88a69772c246dcaef75ed3e7566c08ecc4e9f995233526a5651fc34cd";
const SIGNATURE =
  "b8f83ea3288cfd6ea510cdb481472575141e8d8744157f98562d162cc1c472526fdb24befefbdebab4dbb726bbd1b7d8aec057f8fa805187e5950d2bbe0e5642";

const KEYS = keysWithNodeSecret(BOB, "bitcoin");
const CTX = contextOf(KEYS);

Deno.test("bolt12 sighash: the spec's invoice_request H(tag, merkle root)", () => {
  strictEqual(toHex(bolt12SigHash("invoice_request", "signature", MERKLE)), SIGHASH);
});

Deno.test("sign_bolt12 without tweak: node key, the spec's signature byte for byte", () => {
  const out = signBolt12(CTX, {
    messagename: "invoice_request",
    fieldname: "signature",
    merkleRoot: MERKLE,
    publicTweak: new Uint8Array(),
  });
  strictEqual(out.kind, "sign_bolt12");
  strictEqual(SignBolt12Facts.safeParse(out.facts).success, true);
  deepStrictEqual(out.facts.bolt12, {
    version: 1,
    messagename: "invoice_request",
    fieldname: "signature",
    known_field: true,
    has_tweak: false,
    tweak_length: 0,
    key: "node",
    info_text: "",
    info_known: false,
  });
  strictEqual(toHex(out.release()), SIGNATURE);
  // sign_bolt12_2 without a tweak message signs with the node key too.
  const v2 = signBolt12V2(CTX, {
    messagename: "invoice_request",
    fieldname: "signature",
    merkleRoot: MERKLE,
    info: utf8("node-alias-base"),
    tweakMessage: new Uint8Array(),
  });
  strictEqual(v2.facts.bolt12.key, "node");
  strictEqual(toHex(v2.release()), SIGNATURE);
});

Deno.test("sign_bolt12 with a public tweak: bolt12 key + SHA256(bolt12 pubkey || tweak)", () => {
  const tweak = utf8("payer tweak");
  const out = signBolt12(CTX, {
    messagename: "invoice",
    fieldname: "signature",
    merkleRoot: MERKLE,
    publicTweak: tweak,
  });
  strictEqual(out.facts.bolt12.key, "bolt12");
  strictEqual(out.facts.bolt12.tweak_length, tweak.length);
  const expectedKey = pointAdd(
    KEYS.bolt12Pubkey,
    publicKey(sha256(concat(KEYS.bolt12Pubkey, tweak))),
  );
  const digest = bolt12SigHash("invoice", "signature", MERKLE);
  const sig = out.release();
  strictEqual(schnorrVerify(sig, digest, expectedKey.subarray(1)), true);
  strictEqual(schnorrVerify(sig, digest, KEYS.nodeId.subarray(1)), false);
});

Deno.test("sign_bolt12_2 with a tweak: node key + SHA256(derive_secret(info) || tweak)", () => {
  const tweak = utf8("offer id 1");
  const out = signBolt12V2(CTX, {
    messagename: "invoice",
    fieldname: "signature",
    merkleRoot: MERKLE,
    info: utf8("node-alias-base"),
    tweakMessage: tweak,
  });
  deepStrictEqual(out.facts.bolt12, {
    version: 2,
    messagename: "invoice",
    fieldname: "signature",
    known_field: true,
    has_tweak: true,
    tweak_length: tweak.length,
    key: "alias",
    info_text: "node-alias-base",
    info_known: true,
  });
  const base = KEYS.deriveSecret("node-alias-base").expose();
  const aliasKey = pointAdd(KEYS.nodeId, publicKey(sha256(concat(base, tweak))));
  const sig = out.release();
  strictEqual(
    schnorrVerify(sig, bolt12SigHash("invoice", "signature", MERKLE), aliasKey.subarray(1)),
    true,
  );
});

Deno.test("sign_bolt12 facts flag unusual fields; bad requests are refused", () => {
  const offer = signBolt12(CTX, {
    messagename: "offer",
    fieldname: "signature",
    merkleRoot: MERKLE,
  });
  strictEqual(offer.facts.bolt12.known_field, false);
  strictEqual(offer.facts.bolt12.has_tweak, false);
  const v2 = signBolt12V2(CTX, {
    messagename: "invoice",
    fieldname: "payer_signature",
    merkleRoot: MERKLE,
    info: utf8("other base"),
    tweakMessage: utf8("x"),
  });
  strictEqual(v2.facts.bolt12.known_field, false);
  strictEqual(v2.facts.bolt12.info_known, false);
  throws(
    () => signBolt12(CTX, { messagename: "Invoice", fieldname: "signature", merkleRoot: MERKLE }),
    { name: "NodeRequestError", code: "malformed", message: /sign_bolt12: messagename/ },
  );
  throws(
    () =>
      signBolt12(CTX, {
        messagename: "invoice",
        fieldname: "signature",
        merkleRoot: MERKLE.subarray(1),
      }),
    /merkleRoot: must be 32 bytes/,
  );
});
