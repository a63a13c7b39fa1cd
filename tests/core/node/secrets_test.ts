import { deepStrictEqual, notStrictEqual, strictEqual, throws } from "node:assert/strict";
import { toHex, utf8 } from "../../../core/bytes.ts";
import { hkdfSha256, publicKey } from "../../../core/crypto/mod.ts";
import {
  checkPubkey,
  deriveSecret,
  getSecureRandomBytes,
  printableInfo,
} from "../../../core/node/secrets.ts";
import { DeriveSecretFacts } from "../../../core/node/facts_sign.ts";
import { contextOf, seedKeys } from "./_sign_fixture.ts";

const SEED = new Uint8Array(32).fill(7);
const KEYS = seedKeys("regtest", 7);
const CTX = contextOf(KEYS);

Deno.test("derive_secret: CLN's HKDF(HKDF(seed, 'derived secrets'), info)", () => {
  const out = deriveSecret(CTX, { info: utf8("bolt12-invoice-base") });
  strictEqual(out.kind, "derive_secret");
  strictEqual(DeriveSecretFacts.safeParse(out.facts).success, true);
  deepStrictEqual(out.facts, {
    derive_secret: {
      info: toHex(utf8("bolt12-invoice-base")),
      info_length: 19,
      info_text: "bolt12-invoice-base",
      info_known: true,
    },
  });
  const base = hkdfSha256(SEED, { info: "derived secrets" });
  strictEqual(toHex(out.release()), toHex(hkdfSha256(base, { info: "bolt12-invoice-base" })));
});

Deno.test("derive_secret facts: known infos, unknown and binary ones", () => {
  for (const info of ["node-alias-base", "commando", "scb secret"]) {
    strictEqual(deriveSecret(CTX, { info: utf8(info) }).facts.derive_secret.info_known, true, info);
  }
  const odd = deriveSecret(CTX, { info: utf8("my plugin") }).facts.derive_secret;
  strictEqual(odd.info_known, false);
  strictEqual(odd.info_text, "my plugin");
  const binary = deriveSecret(CTX, { info: Uint8Array.of(0, 1, 0xff) }).facts.derive_secret;
  strictEqual(binary.info_text, "");
  strictEqual(binary.info, "0001ff");
  strictEqual(printableInfo(utf8("a\nb")), "");
});

Deno.test("check_pubkey: our wallet key at the index, nothing else", () => {
  strictEqual(checkPubkey(CTX, { index: 3, pubkey: KEYS.walletPubkey(3) }), true);
  strictEqual(checkPubkey(CTX, { index: 4, pubkey: KEYS.walletPubkey(3) }), false);
  strictEqual(checkPubkey(CTX, { index: 3, pubkey: publicKey(new Uint8Array(32).fill(1)) }), false);
  throws(() => checkPubkey(CTX, { index: 0x80000000, pubkey: KEYS.walletPubkey(3) }), {
    name: "NodeRequestError",
    code: "malformed",
    message: /check_pubkey: index/,
  });
  throws(
    () => checkPubkey(CTX, { index: 1, pubkey: new Uint8Array(33).fill(0xff) }),
    /not on the curve/,
  );
});

Deno.test("get_secure_random_bytes: 32 fresh bytes", () => {
  const a = getSecureRandomBytes();
  const b = getSecureRandomBytes();
  strictEqual(a.length, 32);
  notStrictEqual(toHex(a), toHex(b));
});
