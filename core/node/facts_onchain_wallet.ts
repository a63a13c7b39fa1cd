/**
 * The facts of `sign_onchain`: the node's own on-chain wallet signing (CLN 7 `sign_withdrawal`,
 * 147 `sign_anchorspend` for the wallet inputs, 149 `sign_htlc_tx_mingle`), in the conventions of
 * core/channel/facts.ts. The shared on-chain blocks (`request`, `tx`, `wallet_info`) are those of
 * core/channel/facts_onchain.ts (rules-spec.md §2.C), so one rule can be `on sign_onchain,
 * sign_anchor_spend, sign_splice`; the `onchain` block adds what only the wallet operation knows.
 *
 * Two shared facts are stricter for `sign_onchain` than on the channel kinds, because here the
 * signer can check them (vls.md §2.6, the input-amount lie):
 * - `tx.all_inputs_segwit`: every input's spent script is a segwit program (or our wallet's
 *   P2SH-P2WPKH) *and* that script is vouched for (`onchain.inputs[].verified`: its previous
 *   transaction, or a taproot signature of ours as described there). This is VLS's
 *   `segwit_flags`, so `policy-onchain-funding-non-malleable` refuses funding transactions whose
 *   inputs the node only described.
 * - `tx.unknown_outputs_approved` / `tx.approved_unknown_sat`: the operator's approval of this
 *   transaction's unknown outputs (outputs without a derivation path only); approved value is a
 *   payment, not a fee, and is left out of `tx.non_beneficial_sat` (rules-spec.md, VLS gap note).
 *
 * With purpose `mingle` (CLN 149), an input we do not sign and the output of the same index are
 * an HTLC transaction's pair (it is signed SIGHASH_SINGLE|ANYONECANPAY by the channel operation):
 * the output's kind is `"htlc_tx"` and the pair's input is left out of the input sum, so the fee
 * is what leaves the other inputs (ours): an HTLC output taking more than its input is paid from
 * them and counts. The node's amount for the pair's input (which we cannot check) plays no part.
 *
 * @module
 */
import { z } from "zod";
import { int, msat, sat } from "../channel/facts.ts";
import { OnchainRequestFacts, OnchainTxFacts, WalletInfoFacts } from "../channel/facts_onchain.ts";

/** One input of the transaction. */
export const OnchainWalletInputFacts = z.object({
  index: int(),
  /**
   * "wallet" (a utxo at m/0/0/keyindex we sign), "close" (a utxo from a unilateral close, signed
   * with the channel's keys) or "foreign" (not ours to sign in this request).
   */
  owner: z.string(),
  /**
   * The spent script's form: "p2wpkh", "p2sh_p2wpkh" (our wallet key only), "p2sh", "p2tr",
   * "p2wsh", "p2pkh", "other".
   */
  script_type: z.string(),
  /** The amount the node gave for the spent output. */
  amount_sat: sat(),
  /** The input carries its previous transaction (its txid matched the prevout). */
  has_non_witness_utxo: z.boolean(),
  /**
   * The amount and script are vouched for: by the input's previous transaction (its txid matched
   * the prevout); or by our BIP-341 signature on a taproot input proven ours (its previous
   * transaction pays our key), which commits to every input's amount and script and which the
   * transaction cannot do without; or, for a taproot input we sign, by our own signature. A
   * taproot input the node only *claims* pays our key may be its own coin: our signature on it is
   * never needed, so it vouches for no other input (a segwit v0 wallet input then needs its own
   * previous transaction).
   */
  verified: z.boolean(),
  /** The spent output is segwit (or our P2SH-P2WPKH) and {@link verified}. */
  segwit_verified: z.boolean(),
  /** The wallet index of a "wallet" input (-1 otherwise). */
  wallet_index: int(),
  /** Purpose "mingle": the index of the output paired with this foreign input (-1 otherwise). */
  paired_output: int(),
});

/** What the wallet operation knows besides the shared blocks. */
export const OnchainWalletFacts = z.object({
  /** "withdrawal" (CLN 7), "anchorspend" (CLN 147) or "mingle" (CLN 149). */
  purpose: z.string(),
  input_count: int(),
  /** Inputs this request signs (wallet and close inputs). */
  signed_input_count: int(),
  wallet_input_count: int(),
  close_input_count: int(),
  foreign_input_count: int(),
  /** Utxo entries of the request that no input spends (ignored, as CLN's hsmd does). */
  unused_utxo_count: int(),
  /**
   * We sign at least one taproot input. Its signature commits to every input's amount and
   * script, but vouches for the other inputs only if that input is proven ours (see `verified`).
   */
  signs_taproot: z.boolean(),
  /** Every input is `verified`: no amount can lie (the multi-call fee attack of BIP-143). */
  all_inputs_verified: z.boolean(),
  /** `tx.non_beneficial_sat` in msat (the unit of `max_onchain_fees_msat_per_day`). */
  non_beneficial_msat: msat(),
  /** Outputs of kind "channel". */
  funded_channel_count: int(),
  /** Highest wallet index among the wallet inputs (-1 when none). */
  max_wallet_input_index: int(),
  /** Highest path index among the outputs of kind "wallet" (-1 when none). */
  max_wallet_output_index: int(),
  inputs: z.array(OnchainWalletInputFacts),
});

/** `sign_onchain`. */
export const SignOnchainFacts = z.object({
  request: OnchainRequestFacts,
  tx: OnchainTxFacts,
  wallet_info: WalletInfoFacts,
  onchain: OnchainWalletFacts,
});

/** The kinds of this module and their schemas. */
export const ONCHAIN_WALLET_FACT_KINDS = {
  sign_onchain: SignOnchainFacts,
} as const;

/** What each kind is (for the registry's descriptions). */
export const ONCHAIN_WALLET_KIND_DESCRIPTIONS: Record<
  keyof typeof ONCHAIN_WALLET_FACT_KINDS,
  string
> = {
  sign_onchain:
    "sign our wallet's inputs of a withdrawal, channel funding or fee bump (CLN 7, 147, 149)",
};

/** See {@link OnchainWalletInputFacts}. */
export type OnchainWalletInputFactsT = z.infer<typeof OnchainWalletInputFacts>;
/** See {@link OnchainWalletFacts}. */
export type OnchainWalletFactsT = z.infer<typeof OnchainWalletFacts>;
/** See {@link SignOnchainFacts}. */
export type SignOnchainFactsT = z.infer<typeof SignOnchainFacts>;
