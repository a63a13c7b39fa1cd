/**
 * Conversions from LDK binding objects to plain data (hex strings, bigint, numbers, booleans),
 * for signer hooks and the JSON-lines traffic log.
 *
 * Secrets never become plain data here: a per-commitment secret is shown as its point, a payment
 * preimage as its SHA-256 (the payment hash).
 *
 * Two structures have no accessor in the bindings and are read from their LDK serialisation
 * (`impl_writeable_tlv_based!`: a BigSize total length, then a TLV stream of BigSize type, BigSize
 * length, value):
 * - `CommitmentTransaction` TLV 12 = the HTLCs, written back to back, each one itself a
 *   length-prefixed TLV stream {0: offered u8, 2: amount_msat u64, 4: cltv_expiry u32,
 *   6: payment_hash 32 bytes, 8: transaction_output_index u32 (optional)};
 * - `HolderCommitmentTransaction` TLV 0 = the inner `CommitmentTransaction`.
 *
 * @module
 */
import * as ldk from "lightningdevkit";
import { CommonBase } from "lightningdevkit/structs/CommonBase.mjs";
import { reverse, toHex } from "../../core/bytes.ts";
import { publicKey, sha256 } from "../../core/crypto/mod.ts";
import {
  commitmentHtlcs as ldkCommitmentHtlcs,
  innerOfHolder,
} from "../../transports/ldk/ldk_data.ts";

/** A JSON-friendly value (bigint is written as a decimal string in the traffic log). */
export type Plain =
  | string
  | number
  | boolean
  | bigint
  | null
  | Plain[]
  | { [key: string]: Plain };

/** An HTLC output of a commitment transaction (BOLT #3), from the broadcaster's view. */
export type PlainHtlc = {
  /** Offered by the broadcaster of the commitment. */
  offered: boolean;
  /** Amount in millisatoshi. */
  amount_msat: bigint;
  /** Absolute CLTV expiry. */
  cltv_expiry: number;
  /** Payment hash, hex. */
  payment_hash: string;
  /** Output index in the commitment transaction, null for trimmed HTLCs. */
  transaction_output_index: number | null;
};

/** A commitment transaction as LDK describes it. */
export type PlainCommitmentTx = {
  /** Commitment number, counting down from 2^48-1. */
  commitment_number: bigint;
  /** Per-commitment point, hex (33 bytes). */
  per_commitment_point: string;
  /** Broadcaster's balance in satoshi. */
  to_broadcaster_value_sat: bigint;
  /** Countersignatory's balance in satoshi. */
  to_countersignatory_value_sat: bigint;
  /** Feerate in sat per 1000 weight. */
  feerate_per_kw: number;
  /** HTLCs (TLV 12 of the serialisation). */
  htlcs: PlainHtlc[];
  /** Txid in display order, hex. */
  txid: string;
  /** The unsigned transaction, hex. */
  tx: string;
};

/** A holder commitment with the counterparty's signatures. */
export type PlainHolderCommitmentTx = {
  /** The commitment (TLV 0 of the serialisation). */
  commitment_tx: PlainCommitmentTx;
  /** Counterparty signature on the commitment, compact hex. */
  counterparty_sig: string;
  /** Counterparty HTLC signatures, compact hex. */
  counterparty_htlc_sigs: string[];
};

// ---- low-level helpers ------------------------------------------------------------------------

/** Access to the protected pointer helpers of the bindings' CommonBase. */
class PtrAccess extends CommonBase {
  static ptrOf(o: CommonBase): bigint {
    return CommonBase.get_ptr_of(o);
  }
  static forget(o: CommonBase): void {
    CommonBase.set_null_skip_free(o);
  }
}

/** The raw wasm pointer of a binding object (0n when the object is "null"). */
export function ptrOf(o: CommonBase): bigint {
  return PtrAccess.ptrOf(o);
}

/** Detach a binding object from its pointer so the finalizer will not free it again. */
export function forgetPtr(o: CommonBase): void {
  PtrAccess.forget(o);
}

/** Hex of bytes. */
export function hex(b: Uint8Array): string {
  return toHex(b);
}

/** Txid (internal byte order) to display hex. */
export function txidHex(internal: Uint8Array): string {
  return toHex(reverse(internal));
}

/**
 * Undo the bindings' u128 byte reversal (decodeUint128 reads big-endian what Rust wrote
 * little-endian): 42 arrives as 0x2a << 120.
 */
export function fixU128(v: bigint): bigint {
  let out = 0n;
  for (let i = 0; i < 16; i++) out = (out << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** The point of a 32-byte secret (per-commitment secret -> per-commitment point), hex. */
export function pointOfSecret(secret: Uint8Array): string {
  try {
    return toHex(publicKey(secret));
  } catch {
    return "invalid";
  }
}

/** SHA-256 of a preimage (the payment hash), hex. */
export function hashOfPreimage(preimage: Uint8Array): string {
  return toHex(sha256(preimage));
}

/** The HTLCs of a CommitmentTransaction (TLV 12 of its serialisation, decoded by the adapter). */
export function commitmentHtlcs(ct: ldk.CommitmentTransaction): PlainHtlc[] {
  return ldkCommitmentHtlcs(ct).map((h) => ({
    offered: h.offered,
    amount_msat: h.amountMsat,
    cltv_expiry: h.cltvExpiry,
    payment_hash: toHex(h.paymentHash),
    transaction_output_index: h.outputIndex,
  }));
}

// ---- objects ----------------------------------------------------------------------------------

/** Plain view of a CommitmentTransaction. */
export function plainCommitment(ct: ldk.CommitmentTransaction): PlainCommitmentTx {
  const built = ct.trust().built_transaction();
  return {
    commitment_number: ct.commitment_number(),
    per_commitment_point: toHex(ct.per_commitment_point()),
    to_broadcaster_value_sat: ct.to_broadcaster_value_sat(),
    to_countersignatory_value_sat: ct.to_countersignatory_value_sat(),
    feerate_per_kw: ct.feerate_per_kw(),
    htlcs: commitmentHtlcs(ct),
    txid: txidHex(built.get_txid()),
    tx: toHex(built.get_transaction()),
  };
}

/** Plain view of a HolderCommitmentTransaction. */
export function plainHolderCommitment(h: ldk.HolderCommitmentTransaction): PlainHolderCommitmentTx {
  return {
    commitment_tx: plainCommitment(innerOfHolder(h)),
    counterparty_sig: toHex(h.get_counterparty_sig()),
    counterparty_htlc_sigs: h.get_counterparty_htlc_sigs().map(toHex),
  };
}

/** Plain view of an HTLCOutputInCommitment. */
export function plainHtlc(h: ldk.HTLCOutputInCommitment): PlainHtlc {
  const idx = h.get_transaction_output_index();
  return {
    offered: !!h.get_offered(),
    amount_msat: h.get_amount_msat(),
    cltv_expiry: h.get_cltv_expiry(),
    payment_hash: toHex(h.get_payment_hash()),
    transaction_output_index: idx instanceof ldk.Option_u32Z_Some ? idx.some : null,
  };
}

/** Plain view of ChannelPublicKeys. */
export function plainPubkeys(k: ldk.ChannelPublicKeys): { [key: string]: Plain } {
  return {
    funding_pubkey: toHex(k.get_funding_pubkey()),
    revocation_basepoint: toHex(k.get_revocation_basepoint().get_a()),
    payment_point: toHex(k.get_payment_point()),
    delayed_payment_basepoint: toHex(k.get_delayed_payment_basepoint().get_a()),
    htlc_basepoint: toHex(k.get_htlc_basepoint().get_a()),
  };
}

/** Plain view of an OutPoint. */
export function plainOutPoint(o: ldk.OutPoint): { txid: string; vout: number } {
  return { txid: txidHex(o.get_txid()), vout: o.get_index() };
}

/**
 * Plain view of ChannelTransactionParameters. The counterparty part and the funding outpoint are
 * read only when `is_populated()` (reading an unset one dereferences a null pointer in wasm).
 */
export function plainChannelParameters(
  p: ldk.ChannelTransactionParameters,
): { [key: string]: Plain } {
  const populated = !!p.is_populated();
  const type = p.get_channel_type_features();
  let counterparty: Plain = null;
  let fundingOutpoint: Plain = null;
  if (populated) {
    const cp = p.get_counterparty_parameters();
    counterparty = {
      pubkeys: plainPubkeys(cp.get_pubkeys()),
      selected_contest_delay: cp.get_selected_contest_delay(),
    };
    fundingOutpoint = plainOutPoint(p.get_funding_outpoint());
  }
  return {
    holder_pubkeys: plainPubkeys(p.get_holder_pubkeys()),
    holder_selected_contest_delay: p.get_holder_selected_contest_delay(),
    is_outbound_from_holder: !!p.get_is_outbound_from_holder(),
    counterparty,
    funding_outpoint: fundingOutpoint,
    channel_type: toHex(type.le_flags()),
    anchors_zero_fee_htlc_tx: !!type.supports_anchors_zero_fee_htlc_tx(),
  };
}

/** Plain view of a ClosingTransaction. */
export function plainClosing(c: ldk.ClosingTransaction): { [key: string]: Plain } {
  const tx = c.trust().built_transaction();
  return {
    to_holder_value_sat: c.to_holder_value_sat(),
    to_counterparty_value_sat: c.to_counterparty_value_sat(),
    to_holder_script: toHex(c.to_holder_script()),
    to_counterparty_script: toHex(c.to_counterparty_script()),
    tx: toHex(tx),
  };
}

/** Plain view of an HTLCDescriptor (the preimage shown as its hash). */
export function plainHtlcDescriptor(d: ldk.HTLCDescriptor): { [key: string]: Plain } {
  const dp = d.get_channel_derivation_parameters();
  const pre = d.get_preimage();
  return {
    channel_keys_id: toHex(dp.get_keys_id()),
    channel_value_satoshis: dp.get_value_satoshis(),
    commitment_txid: txidHex(d.get_commitment_txid()),
    per_commitment_number: d.get_per_commitment_number(),
    per_commitment_point: toHex(d.get_per_commitment_point()),
    feerate_per_kw: d.get_feerate_per_kw(),
    htlc: plainHtlc(d.get_htlc()),
    preimage_hash: pre instanceof ldk.Option_ThirtyTwoBytesZ_Some ? hashOfPreimage(pre.some) : null,
    counterparty_sig: toHex(d.get_counterparty_sig()),
  };
}
