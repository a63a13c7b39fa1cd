import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { FactRegistry } from "../../../policy/registry.ts";
import { CHANNEL_FACT_KINDS } from "../../../core/channel/facts.ts";
import { ONCHAIN_FACT_KINDS } from "../../../core/channel/facts_onchain.ts";
import { NODE_FACT_KINDS } from "../../../core/node/facts.ts";
import { SIGN_FACT_KINDS, SIGN_KIND_DESCRIPTIONS } from "../../../core/node/facts_sign.ts";

function registry(): FactRegistry {
  const r = new FactRegistry();
  const all = {
    ...NODE_FACT_KINDS,
    ...CHANNEL_FACT_KINDS,
    ...ONCHAIN_FACT_KINDS,
    ...SIGN_FACT_KINDS,
  };
  for (const [kind, schema] of Object.entries(all)) {
    r.registerKind(kind, schema, { description: kind });
  }
  return r;
}

Deno.test("the signing kinds register next to every other kind, each described", () => {
  const r = registry();
  for (const kind of Object.keys(SIGN_FACT_KINDS)) {
    strictEqual(r.kind(kind)?.name, kind);
    strictEqual(typeof SIGN_KIND_DESCRIPTIONS[kind as keyof typeof SIGN_FACT_KINDS], "string");
  }
  deepStrictEqual(Object.keys(SIGN_KIND_DESCRIPTIONS).sort(), Object.keys(SIGN_FACT_KINDS).sort());
  for (const kind of Object.keys(SIGN_FACT_KINDS)) {
    strictEqual(
      kind in CHANNEL_FACT_KINDS || kind in ONCHAIN_FACT_KINDS || kind in NODE_FACT_KINDS,
      false,
    );
  }
});

Deno.test("fact paths carry their units: msat, seconds, blocks, bytes, lists", () => {
  const r = registry();
  const typeOf = (kind: string, path: string) =>
    r.factPaths(kind).find((p) => p.path === path)?.typeName;
  strictEqual(typeOf("sign_invoice", "invoice.amount_msat"), "msat");
  strictEqual(typeOf("sign_invoice", "invoice.expiry"), "seconds");
  strictEqual(typeOf("sign_invoice", "invoice.min_final_cltv_expiry"), "blocks");
  strictEqual(typeOf("sign_invoice", "invoice.payment_hash"), "bytes");
  strictEqual(typeOf("sign_channel_update", "channel_update.fee_base_msat"), "msat");
  strictEqual(typeOf("sign_channel_update", "channel_update.cltv_expiry_delta"), "blocks");
  strictEqual(typeOf("sign_channel_update", "channel_update.ahead_of_now"), "seconds");
  strictEqual(typeOf("sign_node_announcement", "node_announcement.feature_bits"), "list of int");
  strictEqual(
    typeOf("sign_node_announcement", "gossip.type"),
    typeOf("sign_channel_update", "gossip.type"),
  );
  strictEqual(typeOf("sign_bolt12", "bolt12.key") !== undefined, true);
  strictEqual(typeOf("ecdh", "ecdh.point"), "bytes");
  strictEqual(typeOf("derive_secret", "derive_secret.info_known"), "bool");
  strictEqual(typeOf("sign_message", "message.length"), "int");
});
