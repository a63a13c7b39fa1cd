import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { fromHex, toHex } from "../../../core/bytes.ts";
import { ecdh } from "../../../core/node/ecdh.ts";
import { EcdhFacts } from "../../../core/node/facts_sign.ts";
import { contextOf, keysWithNodeSecret } from "./_sign_fixture.ts";

// BOLT #8 "Appendix A: Transport Test Vectors", responder side: our static key is rs.priv and the
// initiator's ephemeral key e.pub; Act One's shared secret is `ss`.
const RS_PRIV = "2121212121212121212121212121212121212121212121212121212121212121";
const RS_PUB = "028d7500dd4c12685d1f568b4c2b5048e8534b873319f3a8daa612b469132ec7f7";
const E_PUB = "036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f7";
const SS = "1e2fb3c8fe8fb9f262f649f64d26ecf0f2c0a805a767cf02dc2d77a6ef1fdcc3";

const CTX = contextOf(keysWithNodeSecret(RS_PRIV, "bitcoin"));

Deno.test("ecdh: BOLT #8 Act One shared secret with the node key", () => {
  strictEqual(toHex(CTX.keys.nodeId), RS_PUB);
  const out = ecdh(CTX, { point: fromHex(E_PUB) });
  strictEqual(out.kind, "ecdh");
  strictEqual(EcdhFacts.safeParse(out.facts).success, true);
  deepStrictEqual(out.facts, { ecdh: { point: E_PUB, is_own_node_id: false } });
  strictEqual(toHex(out.release()), SS);
});

Deno.test("ecdh: our own node id is flagged for the policy", () => {
  strictEqual(ecdh(CTX, { point: fromHex(RS_PUB) }).facts.ecdh.is_own_node_id, true);
});

Deno.test("ecdh: invalid points are malformed requests", () => {
  throws(() => ecdh(CTX, { point: fromHex("02" + "ff".repeat(32)) }), {
    name: "NodeRequestError",
    code: "malformed",
    message: "ecdh: the point is not on the curve",
  });
  throws(() => ecdh(CTX, { point: fromHex("04" + "11".repeat(32)) }), /not on the curve/);
  throws(() => ecdh(CTX, { point: fromHex(E_PUB).subarray(1) }), /ecdh: point: must be 33 bytes/);
});
