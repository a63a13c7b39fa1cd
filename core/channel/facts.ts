/**
 * The facts the channel operations hand to the policy, as zod schemas. Rules in
 * `rules/default.policy` are type-checked against these when a policy is loaded; a rule may read
 * only what is declared here. Leaves carry their unit in zod metadata (`sat`, `msat`, `blocks`,
 * `per-kw`); byte strings are hex and marked `type: "bytes"`. No fact ever holds a secret.
 *
 * Shared blocks (`channel`, `state`, `chain`, `request`) have the same shape in every kind that
 * has them, so one rule can be `on` several kinds.
 *
 * @module
 */
import { z } from "zod";

/** A satoshi amount. */
export const sat = (): z.ZodBigInt => z.bigint().meta({ unit: "sat" });
/** A millisatoshi amount. */
export const msat = (): z.ZodBigInt => z.bigint().meta({ unit: "msat" });
/** A number of blocks (heights, delays, depths). */
export const blocks = (): z.ZodNumber => z.number().int().meta({ unit: "blocks" });
/** A feerate in satoshi per 1000 weight units. */
export const perKw = (): z.ZodNumber => z.number().int().meta({ unit: "per-kw" });
/** A plain integer (counts, commitment numbers, sequence values). */
export const int = (): z.ZodNumber => z.number().int();
/** Bytes as lower-case hex. */
export const bytes = (): z.ZodString => z.string().meta({ type: "bytes" });

/** The channel's negotiated parameters and lifecycle flags. */
export const ChannelFacts = z.object({
  is_stub: z.boolean(),
  is_outbound: z.boolean(),
  value_sat: sat(),
  push_msat: msat(),
  commitment_type: z.string(),
  is_anchors: z.boolean(),
  is_zero_fee_htlc: z.boolean(),
  is_static_remotekey: z.boolean(),
  /** The delay we impose on the counterparty's to_local. */
  holder_selected_contest_delay: blocks(),
  /** The delay the counterparty imposes on our to_local. */
  counterparty_selected_contest_delay: blocks(),
  has_holder_shutdown_script: z.boolean(),
  /** Our upfront shutdown script ("" when none). */
  holder_shutdown_script: bytes(),
  /** The upfront shutdown script pays our wallet at the index the node named. */
  holder_shutdown_script_in_wallet: z.boolean(),
  /** The upfront shutdown script is on the allowlist. */
  holder_shutdown_script_allowlisted: z.boolean(),
  has_counterparty_shutdown_script: z.boolean(),
  /** A close (mutual or force) was signed. */
  closed: z.boolean(),
  /** The holder commitment number signed for a force close, -1 if none. */
  force_closed_number: int(),
  /** Confirmations of the funding transaction (0 if unconfirmed or unknown). */
  funding_depth: blocks(),
  /** Confirmations of a transaction spending the funding output (0 if none). */
  closing_depth: blocks(),
  /** Confirmations of a transaction double-spending the funding transaction's inputs (0 if none). */
  funding_double_spent_depth: blocks(),
});

/** The enforcement counters (core/channel/README.md). */
export const StateFacts = z.object({
  /** H: the current holder commitment is H - 1. */
  holder_next: int(),
  /** C: the current counterparty commitment is C - 1. */
  counterparty_next: int(),
  /** R: every counterparty commitment below R is revoked. */
  counterparty_revoke_next: int(),
  /** A holder commitment H is validated and waits for the revocation of H - 1. */
  holder_pending: z.boolean(),
  has_current_holder: z.boolean(),
  has_current_counterparty: z.boolean(),
});

/** What the signer knows of the chain. */
export const ChainFacts = z.object({
  /** A chain tip is known (the node feeds blocks); depth facts are meaningful only then. */
  tracked: z.boolean(),
  height: blocks(),
});

/** Sanity of the request's numbers. */
export const RequestFacts = z.object({
  /** No sum or difference the signer computed for the request over- or under-flowed. */
  arithmetic_ok: z.boolean(),
});

/** One HTLC of a commitment. */
export const HtlcFacts = z.object({
  /** Offered by the commitment's broadcaster. */
  offered: z.boolean(),
  /** Offered by us (an outgoing payment or forward). */
  outgoing: z.boolean(),
  amount_sat: sat(),
  amount_msat: msat(),
  cltv_expiry: blocks(),
  payment_hash: bytes(),
  /** Not in the previous commitment of the same side. */
  is_new: z.boolean(),
});

/**
 * The node's commitment transaction compared with the rebuilt one, one fact per property. In
 * phase 2 (values only) there is no node transaction: every fact describes the rebuild itself.
 */
export const CommitmentTxFacts = z.object({
  /** 1 when the node sent a transaction, 2 when it sent values only. */
  phase: int(),
  version: int(),
  input_count: int(),
  input_spends_funding: z.boolean(),
  locktime: int(),
  expected_locktime: int(),
  sequence: int(),
  expected_sequence: int(),
  /** Every P2WSH output has a witness script that hashes to it and parses as a BOLT #3 template. */
  witscripts_ok: z.boolean(),
  to_holder_output_count: int(),
  to_counterparty_output_count: int(),
  unrecognized_output_count: int(),
  revocation_pubkey_ok: z.boolean(),
  broadcaster_delayed_pubkey_ok: z.boolean(),
  countersignatory_pubkey_ok: z.boolean(),
  to_self_delay: blocks(),
  htlc_revocation_pubkey_ok: z.boolean(),
  htlc_counterparty_pubkey_ok: z.boolean(),
  htlc_holder_pubkey_ok: z.boolean(),
  holder_anchor_count: int(),
  counterparty_anchor_count: int(),
  anchor_wrong_value_count: int(),
  anchor_unknown_key_count: int(),
  /** Byte equality of the node's transaction and the rebuild. */
  matches_rebuild: z.boolean(),
  /** The first field that differs ("" when equal), for the audit log. */
  first_mismatch: z.string(),
});

/** A commitment being signed (counterparty's) or validated (ours). */
export const CommitmentFacts = z.object({
  number: int(),
  /** "holder" or "counterparty". */
  broadcaster: z.string(),
  /** The request moves the state forward (not a retry of the current commitment). */
  advances_state: z.boolean(),
  is_retry: z.boolean(),
  retry_same_point: z.boolean(),
  retry_same_info: z.boolean(),
  /** The feerate the node declared. */
  feerate_per_kw: perKw(),
  /** Channel value minus every output (anchors and trimmed HTLCs included). */
  fee_sat: sat(),
  /** BOLT #3 expected weight: 724 (1124 with anchors) + 172 per HTLC output. */
  expected_weight: int(),
  /** The effective feerate: the fee over the expected weight, rounded up. */
  fee_feerate_per_kw: perKw(),
  to_broadcaster_sat: sat(),
  to_countersignatory_sat: sat(),
  to_holder_sat: sat(),
  to_counterparty_sat: sat(),
  htlc_count: int(),
  htlc_total_sat: sat(),
  htlc_timeout_fee_sat: sat(),
  htlc_success_fee_sat: sat(),
  htlcs: z.array(HtlcFacts),
  expected_to_self_delay: blocks(),
  /** Holder commitments: the counterparty's signature verifies (true on counterparty ones). */
  counterparty_sig_valid: z.boolean(),
  /** Holder commitments: one valid counterparty signature per HTLC output. */
  htlc_sigs_valid: z.boolean(),
  /** Our claim on this side before the request: our output plus our outgoing HTLCs. */
  holder_claim_before_sat: sat(),
  /** Our claim on this side after the request. */
  holder_claim_after_sat: sat(),
  /** Rise of this side's fee, 0 when it fell. */
  fee_increase_sat: sat(),
  /**
   * Fee above the BOLT #3 fee at the request's feerate for the listed HTLCs: the value of trimmed
   * HTLCs and trimmed main outputs, which no HTLC rule sees (or value a node moved out of our
   * output without an HTLC).
   */
  fee_excess_sat: sat(),
  /** Rise of {@link fee_excess_sat} over the previous commitment of this side (0 on a retry). */
  fee_excess_increase_sat: sat(),
  /** Our outgoing HTLCs that were in the previous commitment and are gone from this one. */
  removed_outgoing_sat: sat(),
  /** Value that left our claim other than through fees: max(0, before - after - fee rise). */
  transferred_sat: sat(),
  tx: CommitmentTxFacts,
});

/** The holder commitment a request is about (shared by several kinds). */
export const HolderCommitmentRef = z.object({ number: int() });

/** The per-commitment point a request asks for or uses. */
export const PointFacts = z.object({ number: int() });

/** `setup_channel`. */
export const SetupChannelFacts = z.object({
  channel: ChannelFacts,
  /** The request repeats the stored setup exactly (idempotent retry). */
  setup: z.object({ is_retry: z.boolean(), conflicts_stored: z.boolean() }),
  request: RequestFacts,
});

/** `get_per_commitment_point`. */
export const GetPointFacts = z.object({
  channel: ChannelFacts,
  state: StateFacts,
  point: PointFacts,
});

/**
 * One payment hash this commitment carries (or carried before), node-wide: the totals over every
 * channel with this request applied (core/node/payments.ts). Filled in by the signer service,
 * which sees all channels.
 */
export const PaymentFacts = z.object({
  hash: bytes(),
  /** Value arriving with this hash, over all channels, committed on both sides. */
  incoming_msat: msat(),
  /**
   * Value leaving with this hash, over all channels; for a hash we approved paying, with what
   * already settled to the peer (an approval pays once; core/signer/payments.ts `node/paid`).
   */
  outgoing_msat: msat(),
  /** {@link outgoing_msat} before this request. */
  previous_outgoing_msat: msat(),
  /** This request raises the outgoing value. */
  outgoing_increased: z.boolean(),
  /** We approved paying an invoice or keysend with this hash. */
  invoiced: z.boolean(),
  /** The approved amount (0 for an amountless invoice or none). */
  invoice_amount_msat: msat(),
  /** We issued an invoice for this hash (a payment to us). */
  issued: z.boolean(),
  /** The hash was seen before this request. */
  known_before: z.boolean(),
  has_incoming_cltv: z.boolean(),
  /** Smallest expiry of the incoming HTLCs with this hash. */
  incoming_cltv_min: blocks(),
  has_outgoing_cltv: z.boolean(),
  /** Largest expiry of the outgoing HTLCs with this hash. */
  outgoing_cltv_max: blocks(),
  /** The node showed us the preimage (LDK passes preimages; CLN does not). */
  preimage_known: z.boolean(),
  /** Smallest funding depth of the channels bringing value in (0 when unknown). */
  incoming_min_funding_depth: blocks(),
  /** A channel bringing value in is closed or closing. */
  incoming_any_closed: z.boolean(),
  /**
   * This request's commitment may fail back an incoming HTLC with this hash (its value returns
   * to the peer, as our output shows) although an outgoing one with it already left a commitment
   * settled (its value went to the peer): a forward paid out and not collected. Read from the
   * balances, without preimages (core/node/payments.ts `settlements`).
   */
  incoming_failed_after_outgoing_settled: z.boolean(),
});

/** `sign_counterparty_commitment` and `validate_holder_commitment`. */
export const CommitmentKindFacts = z.object({
  channel: ChannelFacts,
  state: StateFacts,
  chain: ChainFacts,
  request: RequestFacts,
  commitment: CommitmentFacts,
  holder_commitment: HolderCommitmentRef,
  point: PointFacts,
  /** Every payment hash this commitment or its predecessor carries, node-wide. */
  payments: z.array(PaymentFacts),
});

/** `revoke_holder_commitment`: releasing our secret for holder commitment `number`. */
export const RevokeFacts = z.object({
  channel: ChannelFacts,
  state: StateFacts,
  revoke: z.object({
    /** The commitment whose secret is asked for. */
    number: int(),
    /** The request makes the pending commitment current (not a retry). */
    advances_state: z.boolean(),
    /** The pending commitment that would become current passed every rule without warnings. */
    pending_passed_policy: z.boolean(),
  }),
});

/** `validate_counterparty_revocation`. */
export const RevocationFacts = z.object({
  channel: ChannelFacts,
  state: StateFacts,
  revocation: z.object({
    number: int(),
    /** The secret's point equals the point we stored for that commitment. */
    point_matches: z.boolean(),
    /** The secret chains with the ones already received (BOLT #3 compact storage). */
    secret_chains: z.boolean(),
  }),
});

/** `sign_holder_commitment` (force close). */
export const ForceCloseFacts = z.object({
  channel: ChannelFacts,
  state: StateFacts,
  holder_commitment: HolderCommitmentRef,
  force_close: z.object({
    /** The requested number is the current holder commitment (H - 1). */
    signs_current: z.boolean(),
    /**
     * The requested number is the validated pending commitment (H): LDK's monitor learns of a new
     * holder commitment before we revoke the previous one, and may force-close with it.
     */
    signs_pending: z.boolean(),
  }),
});

/** The channel kinds of this module and their schemas. */
export const CHANNEL_FACT_KINDS = {
  setup_channel: SetupChannelFacts,
  get_per_commitment_point: GetPointFacts,
  sign_counterparty_commitment: CommitmentKindFacts,
  validate_holder_commitment: CommitmentKindFacts,
  revoke_holder_commitment: RevokeFacts,
  validate_counterparty_revocation: RevocationFacts,
  sign_holder_commitment: ForceCloseFacts,
} as const;

/** Types of the fact records. */
export type ChannelFactsT = z.infer<typeof ChannelFacts>;
/** See {@link StateFacts}. */
export type StateFactsT = z.infer<typeof StateFacts>;
/** See {@link CommitmentFacts}. */
export type CommitmentFactsT = z.infer<typeof CommitmentFacts>;
/** See {@link CommitmentTxFacts}. */
export type CommitmentTxFactsT = z.infer<typeof CommitmentTxFacts>;
/** See {@link PaymentFacts}. */
export type PaymentFactsT = z.infer<typeof PaymentFacts>;
/** See {@link CommitmentKindFacts}. */
export type CommitmentKindFactsT = z.infer<typeof CommitmentKindFacts>;
/** See {@link SetupChannelFacts}. */
export type SetupChannelFactsT = z.infer<typeof SetupChannelFacts>;
/** See {@link GetPointFacts}. */
export type GetPointFactsT = z.infer<typeof GetPointFacts>;
/** See {@link RevokeFacts}. */
export type RevokeFactsT = z.infer<typeof RevokeFacts>;
/** See {@link RevocationFacts}. */
export type RevocationFactsT = z.infer<typeof RevocationFacts>;
/** See {@link ForceCloseFacts}. */
export type ForceCloseFactsT = z.infer<typeof ForceCloseFacts>;
/** See {@link ChainFacts}. */
export type ChainFactsT = z.infer<typeof ChainFacts>;
