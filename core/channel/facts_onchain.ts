/**
 * The facts of the channel's on-chain request kinds, as zod schemas in the conventions of
 * `facts.ts` (units in zod metadata, bytes as hex marked `type: "bytes"`, snake_case names, every
 * field always present): second-level HTLC transactions (rules-spec.md §2.I), mutual close (§2.J),
 * sweeps (§2.K), and the on-chain transactions that spend a channel output besides commitments:
 * the splice of the funding output and the anchor spend (§2.C).
 *
 * Shared blocks (`channel`, `state`, `chain`, `request`) are the ones of `facts.ts`. Where a value
 * does not apply to a kind it is neutral and says so in its comment. No fact holds a secret: a
 * revocation secret is reduced to `sweep.revocation_secret_known`.
 *
 * @module
 */
import { z } from "zod";
import {
  blocks,
  bytes,
  ChainFacts,
  ChannelFacts,
  HolderCommitmentRef,
  int,
  msat,
  perKw,
  PointFacts,
  RequestFacts,
  sat,
  StateFacts,
} from "./facts.ts";

// ---------------------------------------------------------------------------------------------
// Second-level HTLC transactions (§2.I)

/** A second-level HTLC transaction (HTLC-timeout or HTLC-success) compared with the rebuild. */
export const HtlcTxFacts = z.object({
  /** The commitment whose HTLC output is spent; -1 when no commitment we know matched. */
  commitment_number: int(),
  /** The HTLC transaction spends the counterparty's commitment (we countersign it). */
  is_counterparty: z.boolean(),
  /** HTLC-timeout (the commitment's broadcaster offered the HTLC); false for HTLC-success. */
  offered: z.boolean(),
  version: int(),
  /** The input that spends the HTLC output. */
  input_index: int(),
  input_count: int(),
  output_count: int(),
  /** nSequence of the input that spends the HTLC output. */
  sequence: int(),
  /** BOLT #3: 1 on anchor channels, else 0. */
  expected_sequence: int(),
  /** The raw nLockTime. */
  locktime: blocks(),
  /**
   * The input spends an HTLC output of a commitment we validated or signed (holder: the current or
   * pending one; counterparty: the current or previous one) with the same script and amount.
   */
  htlc_matched: z.boolean(),
  /** `cltv_expiry` of the matched HTLC (0 when none matched). */
  htlc_cltv_expiry: blocks(),
  /** Value of the matched HTLC output (0 when none matched). */
  htlc_amount_sat: sat(),
  /** The delay of the transaction's output script; -1 when the script cannot be read. */
  to_self_delay: blocks(),
  /** The delay imposed on the commitment's broadcaster. */
  expected_to_self_delay: blocks(),
  /** The output's revocation key is the commitment's. */
  revocation_pubkey_ok: z.boolean(),
  /** The output's delayed key is the broadcaster's delayed payment key of the commitment. */
  delayed_pubkey_ok: z.boolean(),
  /**
   * The feerate of the transaction's own fee (HTLC value minus the paired output) over the BOLT #3
   * weight (663 timeout / 703 success, 666 / 706 with anchors); 0 on zero-fee-HTLC channels.
   */
  feerate_per_kw: perKw(),
  /** The signature hash can be computed (the input and, for SIGHASH_SINGLE, its output exist). */
  sighash_ok: z.boolean(),
  /** The spent script is an offered or received HTLC script of the channel's type. */
  redeemscript_ok: z.boolean(),
  /**
   * The node's transaction equals the rebuild in everything our signature commits to (with
   * anchors and SIGHASH_SINGLE|ANYONECANPAY or added fee inputs: version, locktime, our input and
   * the output of the same index; otherwise the whole transaction).
   */
  matches_rebuild: z.boolean(),
  /** The first field that differs ("" when equal), for the audit log. */
  first_mismatch: z.string(),
  /** The sighash type of the signature we would give. */
  sighash_type: int(),
});

/** `sign_holder_htlc_tx` and `sign_counterparty_htlc_tx`. */
export const HtlcTxKindFacts = z.object({
  channel: ChannelFacts,
  state: StateFacts,
  chain: ChainFacts,
  request: RequestFacts,
  htlc_tx: HtlcTxFacts,
  /** Holder kind: the HTLC's commitment; counterparty kind: H - 1 (neutral). */
  holder_commitment: HolderCommitmentRef,
  /** Holder kind: the HTLC's commitment; counterparty kind: 0. */
  point: PointFacts,
});

// ---------------------------------------------------------------------------------------------
// Sweeps (§2.K)

/** One output of a sweep (or any spend whose outputs must come back to us). */
export const DestinationFacts = z.object({
  script: bytes(),
  amount_sat: sat(),
  /** Pays our wallet key at the output's derivation path (PSBT or path hint). */
  in_wallet: z.boolean(),
  /** On the operator's allowlist. */
  allowlisted: z.boolean(),
  /** Length of the derivation path the node gave (0 when none). */
  path_len: int(),
  /** Last component of that path (-1 when none). */
  path_index: int(),
});

/** A sweep of a channel output to our wallet. */
export const SweepFacts = z.object({
  version: int(),
  /** The input we sign. */
  input_index: int(),
  input_count: int(),
  /** nSequence of the input we sign. */
  sequence: int(),
  /** The raw nLockTime. */
  locktime: blocks(),
  /**
   * Counterparty HTLC sweeps: "received" or "offered" from the counterparty's point of view, or
   * "invalid" when the script is neither; "none" for the other kinds.
   */
  htlc_kind: z.string(),
  /** `cltv_expiry` of a "received" HTLC (0 otherwise). */
  htlc_cltv_expiry: blocks(),
  /**
   * The spent script is the one we expect: delayed sweeps our to_local script of that commitment;
   * counterparty HTLC sweeps an HTLC output of a counterparty commitment we know with the point;
   * justice sweeps a to_local or HTLC script of the revoked commitment's keys.
   */
  redeemscript_ok: z.boolean(),
  /**
   * Justice sweeps: the revocation secret is one the counterparty revealed to us (held in, or
   * derivable from, our store). True on the other kinds.
   */
  revocation_secret_known: z.boolean(),
  /** Value of the output we spend. */
  input_amount_sat: sat(),
  output_total_sat: sat(),
  /** The node gave the amount of every input, so the fee is known. */
  all_input_amounts_known: z.boolean(),
  /** Fee over the estimated weight (§1.1): a lower bound when an input amount is missing. */
  feerate_per_kw: perKw(),
  /** Delayed sweeps: the CSV delay (our to_self_delay); 0 on the other kinds. */
  required_csv: int(),
  /** The sequence BOLT #3 requires for this kind (§2.K policy-sweep-sequence, per kind). */
  sequence_ok: z.boolean(),
  /** Every derivation path given is a wallet path (one component below 2^31). */
  wallet_lookup_ok: z.boolean(),
  outputs: z.array(DestinationFacts),
});

/** `sign_delayed_sweep`, `sign_counterparty_htlc_sweep` and `sign_justice_sweep`. */
export const SweepKindFacts = z.object({
  channel: ChannelFacts,
  state: StateFacts,
  chain: ChainFacts,
  request: RequestFacts,
  sweep: SweepFacts,
  /** Delayed sweeps: the holder commitment swept; 0 on the other kinds. */
  point: PointFacts,
});

// ---------------------------------------------------------------------------------------------
// Mutual close (§2.J)

/** Our output of a cooperative close. */
export const CloseHolderOutputFacts = z.object({
  present: z.boolean(),
  script: bytes(),
  in_wallet: z.boolean(),
  allowlisted: z.boolean(),
});

/** The counterparty's output of a cooperative close. */
export const CloseCounterpartyOutputFacts = z.object({
  present: z.boolean(),
  script: bytes(),
  /** A standard BOLT #2 shutdown script (P2PKH, P2SH, P2WPKH, P2WSH, witness v1+, OP_RETURN). */
  script_standard: z.boolean(),
});

/** The closing transaction. */
export const CloseFacts = z.object({
  /** 1 when the node sent a transaction, 2 when it sent values only. */
  phase: int(),
  output_count: int(),
  to_holder_sat: sat(),
  to_counterparty_sat: sat(),
  /** Channel value minus every output. */
  fee_sat: sat(),
  /** §1.1 over the unsigned weight plus 222 (§1.12). */
  feerate_per_kw: perKw(),
  holder_output: CloseHolderOutputFacts,
  counterparty_output: CloseCounterpartyOutputFacts,
  /**
   * How our output was told apart in phase 1: "upfront" (our upfront shutdown script), "wallet"
   * (the only output in the wallet or allowlist), "value" (closest to our balance, as VLS), or
   * "given" (phase 2 values).
   */
  assignment: z.string(),
  /**
   * Our upfront shutdown script ("" when none); the spec's `channel.holder_shutdown_script`,
   * which the shared channel block does not have yet.
   */
  holder_shutdown_script: bytes(),
  /** The node's transaction is the one rebuilt from the assigned values and scripts. */
  matches_rebuild: z.boolean(),
  first_mismatch: z.string(),
  /** Every derivation path given is a wallet path. */
  wallet_lookup_ok: z.boolean(),
});

/** The main outputs and HTLC count of one of the latest commitments, from our point of view. */
export const CommitmentSummaryFacts = z.object({
  to_holder_sat: sat(),
  to_counterparty_sat: sat(),
  htlc_count: int(),
});

/** `sign_mutual_close`. */
export const MutualCloseFacts = z.object({
  channel: ChannelFacts,
  state: StateFacts,
  request: RequestFacts,
  close: CloseFacts,
  /** The current holder commitment (zeros when none). */
  current_holder_commitment: CommitmentSummaryFacts,
  /** The current counterparty commitment (zeros when none). */
  current_counterparty_commitment: CommitmentSummaryFacts,
  /** The sign_mutual_close clause of policy-mutual-destination-allowlisted (§2.J). */
  destination: z.object({ ok: z.boolean() }),
});

// ---------------------------------------------------------------------------------------------
// On-chain transactions spending a channel output (§2.C): splice and anchor spend

/** What a channel output of an on-chain transaction is (meaningful when `kind == "channel"`). */
export const OnchainChannelOutputFacts = z.object({
  value_sat: sat(),
  push_msat: msat(),
  is_outbound: z.boolean(),
  /** The script is the P2WSH 2-of-2 of our funding key and the counterparty's. */
  script_matches: z.boolean(),
  /** The amount is the channel value expected (true when no value is expected). */
  amount_matches: z.boolean(),
  holder_next: int(),
});

/** One output of an on-chain transaction. */
export const OnchainOutputFacts = z.object({
  index: int(),
  amount_sat: sat(),
  script: bytes(),
  /** "wallet", "allowlisted_address", "channel" or "unknown". */
  kind: z.string(),
  has_path: z.boolean(),
  path_len: int(),
  path_index: int(),
  channel: OnchainChannelOutputFacts,
});

/** The on-chain transaction block shared with `sign_onchain` (§2.C). */
export const OnchainTxFacts = z.object({
  version: int(),
  /** Bytes without witness. */
  base_size: int(),
  funds_channel: z.boolean(),
  /** Every input spends a segwit output the node described. */
  all_inputs_segwit: z.boolean(),
  /** Sum of the input amounts the node gave. */
  input_sum_sat: sat(),
  /** §1.13: unsigned weight plus a witness estimate for the inputs this request signs. */
  weight_lower_bound: int(),
  /** Wallet and allowlisted outputs, plus channel outputs less their push. */
  beneficial_sat: sat(),
  non_beneficial_sat: sat(),
  non_beneficial_feerate_per_kw: perKw(),
  /** No approval mechanism is wired here: false. */
  unknown_outputs_approved: z.boolean(),
  approved_unknown_sat: sat(),
  /** Value added to a channel (splice: the funding output's increase). */
  funded_sat: sat(),
  outputs: z.array(OnchainOutputFacts),
});

/** `request` of the on-chain kinds. */
export const OnchainRequestFacts = RequestFacts.extend({
  /** Every derivation path given is a wallet path. */
  wallet_lookup_ok: z.boolean(),
});

/**
 * Wallet bookkeeping for `policy-onchain-wallet-path-predictable` (the spec's `wallet.*`, renamed
 * because `wallet` names a set in the policy language).
 */
export const WalletInfoFacts = z.object({
  /** The path length of a wallet key (1 for CLN's m/0/0/i as `[i]`). */
  expected_path_len: int(),
  /** Highest wallet index used so far (-1 when unknown). */
  max_used_index: int(),
});

/** Our anchor input of a fee-bump transaction. */
export const AnchorFacts = z.object({
  input_index: int(),
  /** The input spends our anchor of a commitment we know. */
  matched: z.boolean(),
  /** Whose commitment the anchor is on ("holder", "counterparty", "none"). */
  broadcaster: z.string(),
  /** That commitment's number (-1 when none matched). */
  commitment_number: int(),
  /**
   * The commitment is the current holder commitment (or the one we force-closed with, or the
   * validated pending one) or the current counterparty commitment.
   */
  is_current: z.boolean(),
  /** The amount the node gave for the input (0 when none). */
  input_amount_sat: sat(),
  /** That amount is the anchor value (330 sat). */
  input_amount_matches: z.boolean(),
});

/** `sign_anchor_spend`. */
export const AnchorSpendFacts = z.object({
  channel: ChannelFacts,
  state: StateFacts,
  request: OnchainRequestFacts,
  tx: OnchainTxFacts,
  wallet_info: WalletInfoFacts,
  anchor: AnchorFacts,
});

/** Our funding input of a splice transaction. */
export const SpliceFacts = z.object({
  input_index: int(),
  /** The input spends the channel's funding outpoint. */
  input_spends_funding: z.boolean(),
  /** The amount the node gave for it (0 when none). */
  input_amount_sat: sat(),
  /** That amount is the channel value. */
  input_amount_matches: z.boolean(),
  /** The node's remote funding key is the counterparty's funding key of the setup. */
  remote_funding_key_matches: z.boolean(),
  /** Outputs paying the 2-of-2 of our funding key and the node's remote funding key. */
  new_funding_output_count: int(),
  old_value_sat: sat(),
  /** The new funding output's value (0 when none). */
  new_value_sat: sat(),
  /** The request stated the new channel value (so `tx.outputs[].channel.amount_matches` means something). */
  new_value_known: z.boolean(),
  /** max(0, new - old). */
  added_sat: sat(),
  /** max(0, old - new). */
  removed_sat: sat(),
  /** Our main output in the current holder commitment (0 when none). */
  holder_balance_sat: sat(),
  /** The counterparty's main output in the current holder commitment (0 when none). */
  counterparty_balance_sat: sat(),
  /** Inputs the node says are our wallet's and that pay our wallet key. */
  holder_inputs_sat: sat(),
  /** Wallet and allowlisted outputs. */
  holder_outputs_sat: sat(),
  /** Outputs neither ours nor the new funding output. */
  unknown_outputs_sat: sat(),
  /** Value removed from the channel that did not come back to us: max(0, removed - net to us). */
  unaccounted_removed_sat: sat(),
});

/** `sign_splice`. */
export const SpliceKindFacts = z.object({
  channel: ChannelFacts,
  state: StateFacts,
  request: OnchainRequestFacts,
  tx: OnchainTxFacts,
  wallet_info: WalletInfoFacts,
  splice: SpliceFacts,
});

/** The kinds of this module and their schemas. */
export const ONCHAIN_FACT_KINDS = {
  sign_holder_htlc_tx: HtlcTxKindFacts,
  sign_counterparty_htlc_tx: HtlcTxKindFacts,
  sign_delayed_sweep: SweepKindFacts,
  sign_counterparty_htlc_sweep: SweepKindFacts,
  sign_justice_sweep: SweepKindFacts,
  sign_mutual_close: MutualCloseFacts,
  sign_splice: SpliceKindFacts,
  sign_anchor_spend: AnchorSpendFacts,
} as const;

/** See {@link HtlcTxFacts}. */
export type HtlcTxFactsT = z.infer<typeof HtlcTxFacts>;
/** See {@link HtlcTxKindFacts}. */
export type HtlcTxKindFactsT = z.infer<typeof HtlcTxKindFacts>;
/** See {@link DestinationFacts}. */
export type DestinationFactsT = z.infer<typeof DestinationFacts>;
/** See {@link SweepFacts}. */
export type SweepFactsT = z.infer<typeof SweepFacts>;
/** See {@link SweepKindFacts}. */
export type SweepKindFactsT = z.infer<typeof SweepKindFacts>;
/** See {@link CloseFacts}. */
export type CloseFactsT = z.infer<typeof CloseFacts>;
/** See {@link CommitmentSummaryFacts}. */
export type CommitmentSummaryFactsT = z.infer<typeof CommitmentSummaryFacts>;
/** See {@link MutualCloseFacts}. */
export type MutualCloseFactsT = z.infer<typeof MutualCloseFacts>;
/** See {@link OnchainOutputFacts}. */
export type OnchainOutputFactsT = z.infer<typeof OnchainOutputFacts>;
/** See {@link OnchainTxFacts}. */
export type OnchainTxFactsT = z.infer<typeof OnchainTxFacts>;
/** See {@link OnchainRequestFacts}. */
export type OnchainRequestFactsT = z.infer<typeof OnchainRequestFacts>;
/** See {@link WalletInfoFacts}. */
export type WalletInfoFactsT = z.infer<typeof WalletInfoFacts>;
/** See {@link AnchorFacts}. */
export type AnchorFactsT = z.infer<typeof AnchorFacts>;
/** See {@link AnchorSpendFacts}. */
export type AnchorSpendFactsT = z.infer<typeof AnchorSpendFacts>;
/** See {@link SpliceFacts}. */
export type SpliceFactsT = z.infer<typeof SpliceFacts>;
/** See {@link SpliceKindFacts}. */
export type SpliceKindFactsT = z.infer<typeof SpliceKindFacts>;
