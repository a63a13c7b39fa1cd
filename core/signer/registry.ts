/**
 * The fact registry of the signer: every request kind the core computes facts for, with the zod
 * schema that lives next to the code computing them. A policy is type-checked against this
 * registry when it is loaded, so a rule can only read facts that exist.
 *
 * @module
 */
import { FactRegistry } from "../../policy/registry.ts";
import { CHANNEL_FACT_KINDS } from "../channel/facts.ts";
import { ONCHAIN_FACT_KINDS } from "../channel/facts_onchain.ts";
import { NODE_FACT_KINDS } from "../node/facts.ts";
import { SIGN_FACT_KINDS, SIGN_KIND_DESCRIPTIONS } from "../node/facts_sign.ts";
import { PAYMENT_FACT_KINDS, PAYMENT_KIND_DESCRIPTIONS } from "../node/facts_payment.ts";
import {
  ONCHAIN_WALLET_FACT_KINDS,
  ONCHAIN_WALLET_KIND_DESCRIPTIONS,
} from "../node/facts_onchain_wallet.ts";

/** What each request kind is, for `policy explain` and error messages. */
export const KIND_DESCRIPTIONS: Record<string, string> = {
  new_channel: "create a channel stub (CLN new_channel, LDK derive_channel_signer)",
  add_block: "extend the signer's view of the chain by one block (VLS AddBlock)",
  setup_channel: "fix a channel's negotiated parameters",
  get_per_commitment_point: "hand out our per-commitment point n",
  sign_counterparty_commitment: "sign the peer's next commitment (we send commitment_signed)",
  validate_holder_commitment: "check the peer's signatures on our next commitment",
  revoke_holder_commitment: "release our secret of an old commitment (we send revoke_and_ack)",
  validate_counterparty_revocation: "check and store the peer's revocation secret",
  sign_holder_commitment: "sign our commitment for a unilateral close",
  sign_holder_htlc_tx: "sign our HTLC-success/timeout transaction",
  sign_counterparty_htlc_tx: "sign the peer's HTLC transaction (CLN sign_remote_htlc_tx)",
  sign_delayed_sweep: "sweep our delayed to_local output",
  sign_counterparty_htlc_sweep: "claim an HTLC output of the peer's commitment",
  sign_justice_sweep: "sweep an output of a revoked peer commitment",
  sign_mutual_close: "sign a cooperative close",
  sign_splice: "sign our funding input of a splice transaction",
  sign_anchor_spend: "sign our anchor input of a fee bump",
  ...SIGN_KIND_DESCRIPTIONS,
  ...ONCHAIN_WALLET_KIND_DESCRIPTIONS,
  ...PAYMENT_KIND_DESCRIPTIONS,
};

/** A registry with every kind the signer knows. */
export function signerRegistry(): FactRegistry {
  const registry = new FactRegistry();
  const all = {
    ...NODE_FACT_KINDS,
    ...SIGN_FACT_KINDS,
    ...ONCHAIN_WALLET_FACT_KINDS,
    ...PAYMENT_FACT_KINDS,
    ...CHANNEL_FACT_KINDS,
    ...ONCHAIN_FACT_KINDS,
  };
  for (const [kind, schema] of Object.entries(all)) {
    registry.registerKind(kind, schema, { description: KIND_DESCRIPTIONS[kind] ?? kind });
  }
  return registry;
}
