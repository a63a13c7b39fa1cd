/**
 * Conversions between the decoded wire messages (`messages.ts`) and the signer's requests and
 * replies (`core/channel/ops`, `core/node`). Pure functions, one per wire notion:
 *
 * - CLN's `htlc` side (0 = LOCAL, offered by us; 1 = REMOTE) into the commitment broadcaster's
 *   view ({@link htlcRequests}): on our (holder) commitment the broadcaster is us, so LOCAL HTLCs
 *   are offered; on the counterparty's commitment LOCAL HTLCs are received by the broadcaster
 *   (VLS `extract_htlcs`, flipped for `SignRemoteCommitmentTx`).
 * - A `ctx` (raw transaction + PSBT v0) into the phase-1 {@link NodeCommitmentTx} (witness script
 *   of each output from its PSBT output, none for P2WPKH outputs; VLS `extract_psbt_witscripts`)
 *   and into a {@link SpendTx} (spent amounts from the PSBT's UTXO records, wallet paths from its
 *   BIP-32 derivations; VLS `extract_psbt_output_paths`).
 * - The commitment feerate CLN declares: openingd sends 0 for commitment 0 (protocol.md §7), so a
 *   declared 0 is replaced by the feerate of the transaction itself ({@link commitmentFeerate}).
 * - `setup_channel` into a {@link ChannelSetup}, with the BOLT #9 `channel_type` bitfield of any
 *   length read into a commitment type ({@link commitmentTypeOf}).
 * - Signatures back into wire form: `bsig` (compact + sighash byte), `rsig` (compact + recovery
 *   id), a PSBT partial signature (DER + sighash byte), and the 78-byte BIP-32 `xkey`.
 *
 * Wire values the conversion finds malformed raise a {@link ProtocolError} naming the message and
 * the field, as the codec does.
 *
 * @module
 */
import { concat, fromHex, toHex, u32be } from "../bytes.ts";
import { derEncode, type RecoverableSignature } from "../crypto/mod.ts";
import type { Psbt, PsbtInput } from "../bitcoin/psbt.ts";
import { spentOutput } from "../bitcoin/psbt.ts";
import type { Tx } from "../bitcoin/tx.ts";
import {
  COMMITMENT_BASE_WEIGHT,
  COMMITMENT_BASE_WEIGHT_ANCHORS,
  HTLC_OUTPUT_WEIGHT,
} from "../bolt3/commitment.ts";
import type { HtlcRequest, NodeCommitmentTx } from "../channel/ops/commitment.ts";
import { type SpendTx, spendTxFromPsbt } from "../channel/ops/sweep.ts";
import type { ChannelSetup, CommitmentType } from "../channel/types.ts";
import type { ExtendedPublicKey } from "../keys/bip32.ts";
import { ChannelId } from "../keys/types.ts";
import type { RequestOf } from "./messages.ts";
import { type BitcoinSignature, type Ctx, type Htlc, ProtocolError } from "./types.ts";

/** Whose commitment a list of HTLCs describes. */
export type Broadcaster = "holder" | "counterparty";

/** The largest commitment number (48 bits, BOLT #3 obscured commitment number). */
export const MAX_COMMITMENT_NUMBER = 281474976710655;

function invalid(where: string, field: string, problem: string): ProtocolError {
  return new ProtocolError(problem, { code: "invalid", where, field });
}

/**
 * A u64 commitment number as a number; above 2^48 - 1 it cannot be one (BOLT #3).
 * @param value the wire value
 * @param at the message and field, for the error
 */
export function commitmentNumber(value: bigint, at: { where: string; field: string }): number {
  if (value > BigInt(MAX_COMMITMENT_NUMBER)) {
    throw invalid(at.where, at.field, "a commitment number must be below 2^48");
  }
  return Number(value);
}

/**
 * CLN HTLCs (`side` 0 = LOCAL, offered by us) as HTLCs of `broadcaster`'s commitment, each
 * `offered` when the broadcaster offered it: on the holder's commitment LOCAL HTLCs are offered,
 * on the counterparty's commitment REMOTE ones are.
 */
export function htlcRequests(htlcs: readonly Htlc[], broadcaster: Broadcaster): HtlcRequest[] {
  const offeredSide = broadcaster === "holder" ? 0 : 1;
  return htlcs.map((h) => ({
    offered: h.side === offeredSide,
    amountMsat: h.amount_msat,
    paymentHash: h.payment_hash.slice(),
    cltvExpiry: h.cltv_expiry,
  }));
}

/**
 * The node's commitment transaction of a `ctx` (phase 1): the PSBT's unsigned transaction (the
 * codec checked it is the raw one) and the witness script of each output from its PSBT output
 * map, or null (CLN sets none on P2WPKH outputs).
 */
export function nodeCommitmentTx(ctx: Ctx): NodeCommitmentTx {
  return {
    tx: ctx.psbt.tx,
    witnessScripts: ctx.psbt.outputs.map((o) => o.witnessScript?.slice() ?? null),
  };
}

/**
 * The {@link SpendTx} of a `ctx` or PSBT: spent outputs from the PSBT's (non-)witness UTXOs, paths
 * from its BIP-32 derivations. A UTXO record contradicting the transaction is malformed.
 * @param psbt the PSBT
 * @param at the message and field, for the error
 */
export function spendTx(psbt: Psbt, at: { where: string; field: string }): SpendTx {
  try {
    return spendTxFromPsbt(psbt);
  } catch (e) {
    throw invalid(at.where, at.field, (e as Error).message);
  }
}

/**
 * The amount of the output input `index` spends, from the PSBT (CLN sets the witness UTXO).
 * @param psbt the PSBT
 * @param index the input
 * @param at the message and field, for the error
 */
export function spentAmount(
  psbt: Psbt,
  index: number,
  at: { where: string; field: string },
): bigint {
  if (!Number.isInteger(index) || index < 0 || index >= psbt.inputs.length) {
    throw invalid(at.where, at.field, `input ${index} does not exist`);
  }
  try {
    return spentOutput(psbt, index).amount;
  } catch (e) {
    throw invalid(at.where, at.field, (e as Error).message);
  }
}

/**
 * The feerate to hand the signer for a commitment: the declared one, or, when the node declares 0
 * (CLN's openingd for commitment 0, protocol.md §7, where the field is unused), the feerate of the
 * transaction itself: the channel value minus every output is the fee, and the result is the
 * lowest feerate whose BOLT #3 fee at the expected weight (with `htlcCount` HTLC outputs) is that
 * fee, `ceil(fee * 1000 / weight)`. Every feerate giving the same fee builds the same commitment;
 * the lowest is the node's own whenever `feerate * weight mod 1000 < weight`, which holds for all
 * round feerates (253, 1000, 2500 sat/kw...).
 */
export function commitmentFeerate(
  declared: number,
  o: { tx: Tx; channelValueSat: bigint; anchors: boolean; htlcCount: number },
): number {
  if (declared !== 0) return declared;
  const outputs = o.tx.outputs.reduce((s, out) => s + out.amount, 0n);
  const fee = o.channelValueSat > outputs ? o.channelValueSat - outputs : 0n;
  const weight = BigInt(
    (o.anchors ? COMMITMENT_BASE_WEIGHT_ANCHORS : COMMITMENT_BASE_WEIGHT) +
      HTLC_OUTPUT_WEIGHT * o.htlcCount,
  );
  const rate = (fee * 1000n + weight - 1n) / weight;
  return rate > 0xffffffffn ? 0xffffffff : Number(rate);
}

/** The BOLT #9 bit numbers set in a feature bitfield (big-endian; bit 0 is the last byte's LSB). */
export function featureBits(bitfield: Uint8Array): number[] {
  const bits: number[] = [];
  for (let i = 0; i < bitfield.length * 8; i++) {
    const byte = bitfield[bitfield.length - 1 - (i >> 3)];
    if ((byte >> (i & 7)) & 1) bits.push(i);
  }
  return bits;
}

/** `option_static_remotekey`. */
const STATIC_REMOTEKEY = 12;
/** `option_anchor_outputs`. */
const ANCHOR_OUTPUTS = 20;
/** `option_anchors_zero_fee_htlc_tx`. */
const ANCHORS_ZERO_FEE_HTLC = 22;
/** Channel type modifiers that leave the commitment as it is: scid_alias (46), zeroconf (50). */
const MODIFIERS = new Set([46, 50]);

/**
 * The commitment type of a BOLT #9 `channel_type` of any length (CLN sends the minimal bitfield,
 * `1000` for static_remotekey; VLS's LDK client 4 bytes): bit 22 → `anchors_zero_fee_htlc`, bit
 * 20 → `anchors` (each with bit 12, as BOLT #2 defines them), bit 12 → `static_remotekey`, none →
 * `legacy`. Bits 46 (scid_alias) and 50 (zeroconf) are allowed and change nothing; any other bit
 * (e.g. a taproot channel type), anchors without static_remotekey, or both anchor bits are
 * refused, since the signer would build a commitment the peer does not.
 * @param channelType the bitfield
 * @param where the message, for the error
 */
export function commitmentTypeOf(channelType: Uint8Array, where: string): CommitmentType {
  const bits = new Set(featureBits(channelType));
  for (const b of bits) {
    if (b !== STATIC_REMOTEKEY && b !== ANCHOR_OUTPUTS && b !== ANCHORS_ZERO_FEE_HTLC) {
      if (!MODIFIERS.has(b)) throw invalid(where, "channel_type", `unsupported bit ${b}`);
    }
  }
  const anchors = bits.has(ANCHOR_OUTPUTS);
  const zeroFee = bits.has(ANCHORS_ZERO_FEE_HTLC);
  const staticKey = bits.has(STATIC_REMOTEKEY);
  if (anchors && zeroFee) {
    throw invalid(where, "channel_type", "both anchor_outputs (20) and anchors_zero_fee_htlc (22)");
  }
  if ((anchors || zeroFee) && !staticKey) {
    throw invalid(where, "channel_type", "anchors without static_remotekey (bit 12)");
  }
  if (zeroFee) return "anchors_zero_fee_htlc";
  if (anchors) return "anchors";
  return staticKey ? "static_remotekey" : "legacy";
}

/**
 * `setup_channel` (31) as the signer's {@link ChannelSetup}. CLN's `local_to_self_delay` is the
 * delay we impose on the peer (its `to_self_delay` from our `open_channel`/`accept_channel`), so
 * it is the holder-selected contest delay; `remote_to_self_delay` the counterparty-selected one
 * (VLS `ReadyChannel`). The remote basepoints and funding key become the counterparty's keys;
 * empty shutdown scripts mean none.
 */
export function channelSetupOf(m: RequestOf<"setup_channel">): ChannelSetup {
  const bp = m.remote_basepoints;
  return {
    isOutbound: m.is_outbound,
    channelValueSat: m.channel_value,
    pushMsat: m.push_value,
    fundingOutpoint: { txid: toHex(m.funding_txid), vout: m.funding_txout },
    holderSelectedContestDelay: m.local_to_self_delay,
    counterpartySelectedContestDelay: m.remote_to_self_delay,
    counterparty: {
      fundingPubkey: toHex(m.remote_funding_pubkey),
      revocationBasepoint: toHex(bp.revocation),
      paymentBasepoint: toHex(bp.payment),
      delayedPaymentBasepoint: toHex(bp.delayed_payment),
      htlcBasepoint: toHex(bp.htlc),
    },
    holderShutdownScript: toHex(m.local_shutdown_script),
    holderShutdownWalletIndex: m.local_shutdown_wallet_index,
    counterpartyShutdownScript: toHex(m.remote_shutdown_script),
    commitmentType: commitmentTypeOf(m.channel_type, "setup_channel"),
  };
}

/**
 * The channel of CLN's (peer id, dbid).
 * @param peerId the 33-byte peer node id
 * @param dbid the channel's database id
 */
export function channelIdOf(peerId: Uint8Array, dbid: bigint): ChannelId {
  return ChannelId.fromPeerDbid(peerId, dbid);
}

/** A `bsig`: a compact signature and its sighash type. */
export function bitcoinSignature(signature: Uint8Array, sighash: number): BitcoinSignature {
  return { signature: signature.slice(), sighash };
}

/** An `rsig`: the compact signature followed by the recovery id. */
export function recoverableSignatureBytes(sig: RecoverableSignature): Uint8Array {
  return concat(sig.signature, Uint8Array.of(sig.recovery));
}

/**
 * The 78-byte BIP-32 serialisation of a public extended key (the `xkey` of `init` replies and
 * `node_info`): version, depth, parent fingerprint, child number, chain code, key.
 * @param key the key
 * @param version the network's public version bytes (e.g. 0x043587cf for tpub)
 */
export function xpubBytes(key: ExtendedPublicKey, version: number): Uint8Array {
  return concat(
    u32be(version >>> 0),
    Uint8Array.of(key.depth),
    u32be(key.parentFingerprint >>> 0),
    u32be(key.childNumber >>> 0),
    key.chainCode,
    key.publicKey,
  );
}

/**
 * `psbt` with a PSBT_IN_PARTIAL_SIG for `pubkey` on input `index` (DER signature + sighash byte,
 * as libwally's `wally_psbt_sign` leaves it for CLN's finalizer) and, when the input has none, the
 * witness script the finalizer needs. Returns a new PSBT; `psbt` is not changed.
 */
export function withPartialSig(
  psbt: Psbt,
  index: number,
  o: { pubkey: Uint8Array; signature: Uint8Array; sighash: number; witnessScript?: Uint8Array },
): Psbt {
  const inputs = psbt.inputs.map((input, i): PsbtInput => {
    if (i !== index) return input;
    const others = input.partialSigs.filter((p) => toHex(p.pubkey) !== toHex(o.pubkey));
    return {
      ...input,
      partialSigs: [...others, {
        pubkey: o.pubkey.slice(),
        signature: concat(derEncode(o.signature), Uint8Array.of(o.sighash)),
      }],
      witnessScript: input.witnessScript ?? o.witnessScript?.slice(),
    };
  });
  return { ...psbt, inputs };
}

/** A watched outpoint (txid as internal-order hex) in wire form. */
export function wireOutpoint(
  o: { txid: string; vout: number },
): { txid: Uint8Array; vout: number } {
  return { txid: fromHex(o.txid, 32), vout: o.vout };
}
