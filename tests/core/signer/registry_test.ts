/**
 * The signer's fact registry: exactly the kinds the core computes facts for, each with the schema
 * of its module and a description of its own (none falls back to the kind's name), a fresh
 * registry per call, and room for the policy's named sets (`wallet`, `allowlist`).
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { z } from "zod";
import { fact } from "../../../policy/registry.ts";
import { CHANNEL_FACT_KINDS } from "../../../core/channel/facts.ts";
import { ONCHAIN_FACT_KINDS } from "../../../core/channel/facts_onchain.ts";
import { NODE_FACT_KINDS } from "../../../core/node/facts.ts";
import { SIGN_FACT_KINDS } from "../../../core/node/facts_sign.ts";
import { PAYMENT_FACT_KINDS } from "../../../core/node/facts_payment.ts";
import { ONCHAIN_WALLET_FACT_KINDS } from "../../../core/node/facts_onchain_wallet.ts";
import { KIND_DESCRIPTIONS, signerRegistry } from "../../../core/signer/registry.ts";

/** Every kind, in registration order (node, signing, wallet, payment, channel, on-chain). */
const KINDS = [
  "new_channel",
  "add_block",
  "sign_node_announcement",
  "sign_channel_update",
  "sign_channel_announcement",
  "sign_invoice",
  "sign_message",
  "ecdh",
  "derive_secret",
  "sign_bolt12",
  "sign_onchain",
  "preapprove_invoice",
  "preapprove_keysend",
  "setup_channel",
  "get_per_commitment_point",
  "sign_counterparty_commitment",
  "validate_holder_commitment",
  "revoke_holder_commitment",
  "validate_counterparty_revocation",
  "sign_holder_commitment",
  "sign_holder_htlc_tx",
  "sign_counterparty_htlc_tx",
  "sign_delayed_sweep",
  "sign_counterparty_htlc_sweep",
  "sign_justice_sweep",
  "sign_mutual_close",
  "sign_splice",
  "sign_anchor_spend",
];

Deno.test("signerRegistry: every kind of the fact modules, in order, with its module's schema", () => {
  const r = signerRegistry();
  deepStrictEqual(r.kinds().map((k) => k.name), KINDS);
  const modules = {
    ...NODE_FACT_KINDS,
    ...SIGN_FACT_KINDS,
    ...ONCHAIN_WALLET_FACT_KINDS,
    ...PAYMENT_FACT_KINDS,
    ...CHANNEL_FACT_KINDS,
    ...ONCHAIN_FACT_KINDS,
  };
  deepStrictEqual(Object.keys(modules).sort(), [...KINDS].sort());
  for (const [kind, schema] of Object.entries(modules)) {
    strictEqual(r.kind(kind)?.schema, schema, kind);
  }
  deepStrictEqual(r.sets(), []);
});

Deno.test("KIND_DESCRIPTIONS: one per registered kind, none falls back to the kind's name", () => {
  const r = signerRegistry();
  deepStrictEqual(Object.keys(KIND_DESCRIPTIONS).sort(), [...KINDS].sort());
  for (const info of r.kinds()) {
    strictEqual(info.description, KIND_DESCRIPTIONS[info.name], info.name);
    strictEqual(info.description !== info.name && info.description.length > 10, true, info.name);
  }
  strictEqual(
    r.kind("new_channel")?.description,
    "create a channel stub (CLN new_channel, LDK derive_channel_signer)",
  );
  strictEqual(
    r.kind("add_block")?.description,
    "extend the signer's view of the chain by one block (VLS AddBlock)",
  );
  strictEqual(
    r.kind("sign_counterparty_htlc_tx")?.description,
    "sign the peer's HTLC transaction (CLN sign_remote_htlc_tx)",
  );
  // Descriptions merged in from the node modules.
  strictEqual(
    r.kind("sign_onchain")?.description,
    "sign our wallet's inputs of a withdrawal, channel funding or fee bump (CLN 7, 147, 149)",
  );
});

Deno.test("signerRegistry: each call builds an independent registry", () => {
  const a = signerRegistry();
  const b = signerRegistry();
  a.registerKind("extra_kind", z.object({ x: fact.int() }), { description: "test only" });
  a.registerSet("allowlist", { element: fact.bytes(), description: "allowlisted scripts" });
  strictEqual(a.kind("extra_kind")?.name, "extra_kind");
  strictEqual(b.kind("extra_kind"), undefined);
  deepStrictEqual(b.sets(), []);
  deepStrictEqual(signerRegistry().kinds().map((k) => k.name), KINDS);
});

Deno.test("the policy's named sets can be registered: no kind has a top-level `wallet` fact", () => {
  const r = signerRegistry();
  r.registerSet("wallet", { element: fact.bytes(), description: "our wallet's scripts" });
  r.registerSet("allowlist", { element: fact.bytes(), description: "allowlisted scripts" });
  deepStrictEqual(r.sets().map((s) => s.name), ["wallet", "allowlist"]);
});
