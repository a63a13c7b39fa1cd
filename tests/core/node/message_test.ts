import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex, utf8 } from "../../../core/bytes.ts";
import { ecdsaRecover, sha256 } from "../../../core/crypto/mod.ts";
import {
  SIGNED_MESSAGE_PREFIX,
  signedMessageHash,
  signMessage,
} from "../../../core/node/message.ts";
import { SignMessageFacts } from "../../../core/node/facts_sign.ts";
import { contextOf, seedKeys } from "./_sign_fixture.ts";

const KEYS = seedKeys("bitcoin");
const CTX = contextOf(KEYS);

Deno.test("signed message hash: SHA256d of the 25-byte prefix and the message", () => {
  const prefix = fromHex("4c696768746e696e67205369676e6564204d6573736167653a");
  strictEqual(toHex(utf8(SIGNED_MESSAGE_PREFIX)), toHex(prefix));
  const msg = utf8("message for you");
  strictEqual(
    toHex(signedMessageHash(msg)),
    toHex(sha256(sha256(concat(prefix, msg)))),
  );
});

Deno.test("sign_message: the recoverable signature recovers our node id", () => {
  const message = utf8("hello from warden");
  const out = signMessage(CTX, { message });
  strictEqual(out.kind, "sign_message");
  strictEqual(SignMessageFacts.safeParse(out.facts).success, true);
  deepStrictEqual(out.facts, { message: { length: 17, is_utf8: true } });
  const sig = out.release();
  strictEqual(sig.signature.length, 64);
  const recovered = ecdsaRecover(sig.signature, sig.recovery, signedMessageHash(message));
  strictEqual(toHex(recovered), toHex(KEYS.nodeId));
  // Deterministic (RFC 6979).
  strictEqual(toHex(signMessage(CTX, { message }).release().signature), toHex(sig.signature));
});

Deno.test("sign_message: binary and empty messages", () => {
  strictEqual(signMessage(CTX, { message: fromHex("c328") }).facts.message.is_utf8, false);
  const empty = signMessage(CTX, { message: new Uint8Array() });
  strictEqual(empty.facts.message.length, 0);
  const sig = empty.release();
  strictEqual(
    toHex(ecdsaRecover(sig.signature, sig.recovery, signedMessageHash(new Uint8Array()))),
    toHex(KEYS.nodeId),
  );
  throws(() => signMessage(CTX, { message: new Uint8Array(65536) }), {
    name: "NodeRequestError",
    message: /sign_message: message: must be 0 to 65535 bytes/,
  });
});
