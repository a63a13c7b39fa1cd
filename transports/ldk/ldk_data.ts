/**
 * LDK binding objects to signer requests: commitment transactions (phase 1 transaction with the
 * witness script of every output, computed from the commitment's `TxCreationKeys`, plus the
 * phase 2 values), channel parameters to a `ChannelSetup`, closing transactions, HTLCs and spends.
 *
 * Two structures have no accessor in the bindings (LDK 0.1) and are read from their serialisation
 * (`impl_writeable_tlv_based!`: a BigSize total length, then a TLV stream):
 * - `CommitmentTransaction` TLV 12 = its HTLCs, written back to back, each a length-prefixed TLV
 *   stream {0: offered u8, 2: amount_msat u64 BE, 4: cltv_expiry u32 BE, 6: payment_hash,
 *   8: transaction_output_index u32 BE (optional)};
 * - `HolderCommitmentTransaction` TLV 0 = the inner `CommitmentTransaction`.
 *
 * Conventions: LDK counts commitment numbers down from 2^48 - 1, the signer up from 0
 * (`n = 2^48 - 1 - index`); LDK's `OutPoint.get_txid()` is in internal byte order, as the signer's
 * setup wants it; booleans from the bindings are 0/1 numbers.
 *
 * @module
 */
import * as ldk from "lightningdevkit";
import { equal, toHex } from "../../core/bytes.ts";
import { decodeTx, type Tx } from "../../core/bitcoin/tx.ts";
import { p2wsh } from "../../core/bitcoin/script.ts";
import {
  anchorScript,
  offeredHtlcScript,
  receivedHtlcScript,
  toLocalScript,
  toRemoteAnchorsScript,
} from "../../core/bolt3/scripts.ts";
import type { CommitmentKeys } from "../../core/bolt3/keys.ts";
import type { ChannelSetup, CommitmentType } from "../../core/channel/types.ts";
import type {
  CounterpartyCommitmentRequest,
  HolderCommitmentRequest,
  HtlcRequest,
  NodeCommitmentTx,
} from "../../core/channel/ops/commitment.ts";
import type { MutualCloseRequest } from "../../core/channel/ops/close.ts";
import type { SpendTx } from "../../core/channel/ops/sweep.ts";

/** LDK data could not be read or does not fit the signer's request types. */
export class LdkDataError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong (public data only)
   */
  constructor(message: string) {
    super(message);
    this.name = "LdkDataError";
  }
}

/** LDK's first commitment index (2^48 - 1); the signer's commitment 0. */
export const INITIAL_COMMITMENT_INDEX = 281474976710655n;

/** The signer's commitment number (counting up) of an LDK index (counting down from 2^48 - 1). */
export function commitmentNumberOf(index: bigint): number {
  if (typeof index !== "bigint" || index < 0n || index > INITIAL_COMMITMENT_INDEX) {
    throw new LdkDataError("commitment index out of the 48-bit range");
  }
  return Number(INITIAL_COMMITMENT_INDEX - index);
}

/**
 * Undo the bindings' u128 byte reversal (`decodeUint128` reads big-endian what Rust wrote
 * little-endian): 42 arrives as 0x2a << 120.
 */
export function fixU128(v: bigint): bigint {
  let out = 0n;
  for (let i = 0; i < 16; i++) out = (out << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

// ---- TLV reading -------------------------------------------------------------------------------

class Reader {
  #b: Uint8Array;
  #o = 0;
  constructor(b: Uint8Array) {
    this.#b = b;
  }
  get remaining(): number {
    return this.#b.length - this.#o;
  }
  get offset(): number {
    return this.#o;
  }
  bytes(n: number): Uint8Array {
    if (n < 0 || this.#o + n > this.#b.length) throw new LdkDataError("truncated TLV data");
    const out = this.#b.subarray(this.#o, this.#o + n);
    this.#o += n;
    return out;
  }
  bigSize(): number {
    const first = this.bytes(1)[0];
    const width = first < 0xfd ? 0 : first === 0xfd ? 2 : first === 0xfe ? 4 : 8;
    if (width === 0) return first;
    let v = 0n;
    for (const x of this.bytes(width)) v = (v << 8n) | BigInt(x);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new LdkDataError("BigSize too large");
    return Number(v);
  }
}

function beUint(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

/** Split a length-prefixed TLV stream (LDK `impl_writeable_tlv_based!`) into type -> value. */
export function tlvRecords(data: Uint8Array): Map<number, Uint8Array> {
  const r = new Reader(data);
  const body = new Reader(r.bytes(r.bigSize()));
  const out = new Map<number, Uint8Array>();
  while (body.remaining > 0) {
    const type = body.bigSize();
    out.set(type, body.bytes(body.bigSize()));
  }
  return out;
}

/** An HTLC of a commitment with its output index (null when trimmed). */
export interface IndexedHtlc extends HtlcRequest {
  /** Output index in the commitment transaction, null when the HTLC has no output. */
  outputIndex: number | null;
}

function decodeHtlc(elem: Uint8Array): IndexedHtlc {
  const f = tlvRecords(elem);
  const offered = f.get(0);
  const amount = f.get(2);
  const cltv = f.get(4);
  const hash = f.get(6);
  const index = f.get(8);
  if (!offered || !amount || !cltv || !hash || hash.length !== 32) {
    throw new LdkDataError("HTLC record lacks a required field");
  }
  return {
    offered: offered[0] !== 0,
    amountMsat: beUint(amount),
    cltvExpiry: Number(beUint(cltv)),
    paymentHash: hash.slice(),
    outputIndex: index ? Number(beUint(index)) : null,
  };
}

/** The HTLCs of a `CommitmentTransaction` (TLV 12 of its serialisation), broadcaster's view. */
export function commitmentHtlcs(ct: ldk.CommitmentTransaction): IndexedHtlc[] {
  const field = tlvRecords(ct.write()).get(12);
  if (!field) return [];
  const r = new Reader(field);
  const out: IndexedHtlc[] = [];
  while (r.remaining > 0) {
    const start = r.offset;
    r.bytes(r.bigSize());
    out.push(decodeHtlc(field.subarray(start, r.offset)));
  }
  return out;
}

/** The inner `CommitmentTransaction` of a `HolderCommitmentTransaction` (TLV 0). */
export function innerOfHolder(h: ldk.HolderCommitmentTransaction): ldk.CommitmentTransaction {
  const field = tlvRecords(h.write()).get(0);
  if (!field) throw new LdkDataError("HolderCommitmentTransaction without TLV 0");
  const res = ldk.CommitmentTransaction.constructor_read(field);
  if (!(res instanceof ldk.Result_CommitmentTransactionDecodeErrorZ_OK)) {
    throw new LdkDataError("the inner CommitmentTransaction does not decode");
  }
  return res.res;
}

/** An `HTLCOutputInCommitment` as a signer HTLC (the broadcaster's view, as LDK gives it). */
export function htlcRequestOf(h: ldk.HTLCOutputInCommitment): HtlcRequest {
  return {
    offered: !!h.get_offered(),
    amountMsat: h.get_amount_msat(),
    paymentHash: h.get_payment_hash().slice(),
    cltvExpiry: h.get_cltv_expiry(),
  };
}

// ---- channel parameters ------------------------------------------------------------------------

/** Public keys of one side, as the scripts need them. */
export interface SideKeys {
  /** Funding pubkey. */
  funding: Uint8Array;
  /** Revocation basepoint. */
  revocation: Uint8Array;
  /** Payment point (static_remotekey: the to_remote key itself). */
  payment: Uint8Array;
  /** Delayed payment basepoint. */
  delayedPayment: Uint8Array;
  /** HTLC basepoint. */
  htlc: Uint8Array;
}

/** What the node side needs to describe the channel's commitment outputs. */
export interface ScriptContext {
  /** Anchor outputs channel. */
  anchors: boolean;
  /** Our keys. */
  holder: SideKeys;
  /** The counterparty's keys. */
  counterparty: SideKeys;
  /** The delay we impose on the counterparty's to_local. */
  holderSelectedContestDelay: number;
  /** The delay the counterparty imposes on our to_local. */
  counterpartySelectedContestDelay: number;
}

/** The keys of an LDK `ChannelPublicKeys`. */
export function sideKeysOf(k: ldk.ChannelPublicKeys): SideKeys {
  return {
    funding: k.get_funding_pubkey(),
    revocation: k.get_revocation_basepoint().get_a(),
    payment: k.get_payment_point(),
    delayedPayment: k.get_delayed_payment_basepoint().get_a(),
    htlc: k.get_htlc_basepoint().get_a(),
  };
}

/** The signer's commitment type of an LDK `ChannelTypeFeatures` (BOLT #9 `channel_type`). */
export function commitmentTypeOf(f: ldk.ChannelTypeFeatures): CommitmentType {
  if (f.supports_anchors_zero_fee_htlc_tx()) return "anchors_zero_fee_htlc";
  if (f.supports_anchors_nonzero_fee_htlc_tx()) return "anchors";
  if (f.supports_static_remote_key()) return "static_remotekey";
  return "legacy";
}

/** What {@link channelSetupOf} needs besides LDK's parameters. */
export interface SetupInputs {
  /** Channel value (from `derive_channel_signer`). */
  channelValueSat: bigint;
  /** Amount pushed to the acceptor at open (LDK does not pass it in the parameters). */
  pushMsat: bigint;
  /** Our upfront shutdown script (empty: none). */
  holderShutdownScript?: Uint8Array;
  /** The wallet index of that script, when known. */
  holderShutdownWalletIndex?: number | null;
}

/**
 * `ChannelTransactionParameters` (complete: `is_populated()`) as a `ChannelSetup` and the script
 * context of the channel. Throws {@link LdkDataError} when the parameters are not complete.
 */
export function channelSetupOf(
  p: ldk.ChannelTransactionParameters,
  inputs: SetupInputs,
): { setup: ChannelSetup; scripts: ScriptContext } {
  // Reading an unset counterparty part or outpoint dereferences a null pointer in wasm.
  if (!p.is_populated()) throw new LdkDataError("channel parameters are not populated yet");
  const cp = p.get_counterparty_parameters();
  const theirs = sideKeysOf(cp.get_pubkeys());
  const ours = sideKeysOf(p.get_holder_pubkeys());
  const outpoint = p.get_funding_outpoint();
  const commitmentType = commitmentTypeOf(p.get_channel_type_features());
  const shutdown = inputs.holderShutdownScript ?? new Uint8Array();
  const setup: ChannelSetup = {
    isOutbound: !!p.get_is_outbound_from_holder(),
    channelValueSat: inputs.channelValueSat,
    pushMsat: inputs.pushMsat,
    fundingOutpoint: { txid: toHex(outpoint.get_txid()), vout: outpoint.get_index() },
    holderSelectedContestDelay: p.get_holder_selected_contest_delay(),
    counterpartySelectedContestDelay: cp.get_selected_contest_delay(),
    counterparty: {
      fundingPubkey: toHex(theirs.funding),
      revocationBasepoint: toHex(theirs.revocation),
      paymentBasepoint: toHex(theirs.payment),
      delayedPaymentBasepoint: toHex(theirs.delayedPayment),
      htlcBasepoint: toHex(theirs.htlc),
    },
    holderShutdownScript: toHex(shutdown),
    holderShutdownWalletIndex: shutdown.length > 0
      ? inputs.holderShutdownWalletIndex ?? null
      : null,
    counterpartyShutdownScript: "",
    commitmentType,
  };
  const scripts: ScriptContext = {
    anchors: commitmentType === "anchors" || commitmentType === "anchors_zero_fee_htlc",
    holder: ours,
    counterparty: theirs,
    holderSelectedContestDelay: setup.holderSelectedContestDelay,
    counterpartySelectedContestDelay: setup.counterpartySelectedContestDelay,
  };
  return { setup, scripts };
}

// ---- commitments -------------------------------------------------------------------------------

/** The `TxCreationKeys` of a commitment (as LDK built it). */
export function commitmentKeysOf(ct: ldk.CommitmentTransaction): CommitmentKeys {
  const k = ct.trust().keys();
  return {
    perCommitmentPoint: k.get_per_commitment_point(),
    revocationKey: k.get_revocation_key().get_a(),
    broadcasterHtlcKey: k.get_broadcaster_htlc_key().get_a(),
    countersignatoryHtlcKey: k.get_countersignatory_htlc_key().get_a(),
    broadcasterDelayedPaymentKey: k.get_broadcaster_delayed_payment_key().get_a(),
  };
}

/**
 * The witness script of every output of a commitment transaction, as the node describes it (the
 * phase 1 PSBT's witness scripts): HTLC outputs by their index, other P2WSH outputs by matching
 * the to_local, anchors to_remote and anchor templates built from the commitment's keys; null for
 * P2WPKH outputs and anything unmatched. The signer decodes and checks them field by field.
 */
export function commitmentWitnessScripts(
  tx: Tx,
  o: {
    broadcaster: "holder" | "counterparty";
    keys: CommitmentKeys;
    htlcs: IndexedHtlc[];
    context: ScriptContext;
  },
): (Uint8Array | null)[] {
  const c = o.context;
  const [broadcaster, countersignatory] = o.broadcaster === "holder"
    ? [c.holder, c.counterparty]
    : [c.counterparty, c.holder];
  const delay = o.broadcaster === "holder"
    ? c.counterpartySelectedContestDelay
    : c.holderSelectedContestDelay;
  const candidates: Uint8Array[] = [
    toLocalScript({
      revocationKey: o.keys.revocationKey,
      broadcasterDelayedPaymentKey: o.keys.broadcasterDelayedPaymentKey,
      toSelfDelay: delay,
    }),
  ];
  if (c.anchors) {
    candidates.push(
      toRemoteAnchorsScript(countersignatory.payment),
      anchorScript(broadcaster.funding),
      anchorScript(countersignatory.funding),
    );
  }
  const byIndex = new Map<number, Uint8Array>();
  for (const h of o.htlcs) {
    if (h.outputIndex === null) continue;
    const options = {
      revocationKey: o.keys.revocationKey,
      broadcasterHtlcKey: o.keys.broadcasterHtlcKey,
      countersignatoryHtlcKey: o.keys.countersignatoryHtlcKey,
      paymentHash: h.paymentHash,
      anchors: c.anchors,
    };
    byIndex.set(
      h.outputIndex,
      h.offered
        ? offeredHtlcScript(options)
        : receivedHtlcScript({ ...options, cltvExpiry: h.cltvExpiry }),
    );
  }
  return tx.outputs.map((out, i) => {
    const htlc = byIndex.get(i);
    if (htlc) return htlc;
    return candidates.find((ws) => equal(p2wsh(ws), out.script)) ?? null;
  });
}

function commitmentParts(
  ct: ldk.CommitmentTransaction,
  broadcaster: "holder" | "counterparty",
  context: ScriptContext,
): {
  number: number;
  feeratePerKw: number;
  htlcs: HtlcRequest[];
  values: { toBroadcasterSat: bigint; toCountersignatorySat: bigint };
  tx: NodeCommitmentTx;
  perCommitmentPoint: Uint8Array;
} {
  const indexed = commitmentHtlcs(ct);
  const tx = decodeTx(ct.trust().built_transaction().get_transaction());
  const keys = commitmentKeysOf(ct);
  const witnessScripts = commitmentWitnessScripts(tx, {
    broadcaster,
    keys,
    htlcs: indexed,
    context,
  });
  return {
    number: commitmentNumberOf(ct.commitment_number()),
    feeratePerKw: ct.feerate_per_kw(),
    // LDK lists only HTLCs with an output (trimmed ones are kept apart); keep exactly those.
    htlcs: indexed.filter((h) => h.outputIndex !== null).map((h) => ({
      offered: h.offered,
      amountMsat: h.amountMsat,
      paymentHash: h.paymentHash,
      cltvExpiry: h.cltvExpiry,
    })),
    values: {
      toBroadcasterSat: ct.to_broadcaster_value_sat(),
      toCountersignatorySat: ct.to_countersignatory_value_sat(),
    },
    tx: { tx, witnessScripts },
    perCommitmentPoint: ct.per_commitment_point(),
  };
}

/**
 * `sign_counterparty_commitment`'s `CommitmentTransaction` as a request with both phases: the
 * values and the transaction with its witness scripts. HTLC `offered` is the broadcaster's (the
 * counterparty's) view, as LDK gives it. `preimages`: LDK's inbound and outbound HTLC preimages
 * (evidence of settled payments; the signer keeps only their hashes).
 */
export function counterpartyCommitmentRequest(
  ct: ldk.CommitmentTransaction,
  context: ScriptContext,
  preimages: readonly Uint8Array[] = [],
): CounterpartyCommitmentRequest {
  const p = commitmentParts(ct, "counterparty", context);
  return {
    number: p.number,
    feeratePerKw: p.feeratePerKw,
    htlcs: p.htlcs,
    values: p.values,
    tx: p.tx,
    preimages: preimages.map((x) => x.slice()),
    perCommitmentPoint: p.perCommitmentPoint,
  };
}

/**
 * `validate_holder_commitment`'s `HolderCommitmentTransaction` as a request (both phases), with
 * LDK's outbound HTLC preimages.
 */
export function holderCommitmentRequest(
  h: ldk.HolderCommitmentTransaction,
  context: ScriptContext,
  preimages: readonly Uint8Array[] = [],
): HolderCommitmentRequest {
  const p = commitmentParts(innerOfHolder(h), "holder", context);
  return {
    number: p.number,
    feeratePerKw: p.feeratePerKw,
    htlcs: p.htlcs,
    values: p.values,
    tx: p.tx,
    preimages: preimages.map((x) => x.slice()),
    counterpartySig: h.get_counterparty_sig().slice(),
    counterpartyHtlcSigs: h.get_counterparty_htlc_sigs().map((s) => s.slice()),
  };
}

/** The holder commitment number of a `HolderCommitmentTransaction`. */
export function holderCommitmentNumber(h: ldk.HolderCommitmentTransaction): number {
  return commitmentNumberOf(innerOfHolder(h).commitment_number());
}

// ---- closes and spends -------------------------------------------------------------------------

/** A wallet script the node hands to LDK, with its wallet index (m/0/0/index). */
export interface PayoutScript {
  /** The scriptPubKey. */
  script: Uint8Array;
  /** Its wallet index, so the signer can check that it pays our wallet. */
  walletIndex: number;
}

/** A `ClosingTransaction` as a phase 2 mutual-close request. */
export function mutualCloseRequest(
  c: ldk.ClosingTransaction,
  payouts: readonly PayoutScript[],
): MutualCloseRequest {
  const holderScript = c.to_holder_script();
  const payout = payouts.find((p) => equal(p.script, holderScript));
  return {
    values: {
      toHolderSat: c.to_holder_value_sat(),
      toCounterpartySat: c.to_counterparty_value_sat(),
      holderScript: holderScript.slice(),
      counterpartyScript: c.to_counterparty_script().slice(),
      holderWalletPath: payout ? [payout.walletIndex] : [],
    },
  };
}

/** The output an input spends, as the node's wallet or chain knows it (null: unknown). */
export type SpentOutputLookup = (
  outpoint: { txid: Uint8Array; vout: number },
) => { amount: bigint; script: Uint8Array } | null;

/**
 * A transaction LDK asks to sign one input of, as a {@link SpendTx}: the amount of that input
 * (LDK gives it), the other inputs' outputs when `lookup` knows them (fee-bump wallet inputs),
 * and the wallet index of every output paying one of our payout scripts.
 */
export function spendOf(
  txBytes: Uint8Array,
  o: {
    inputIndex: number;
    amountSat: bigint;
    payouts: readonly PayoutScript[];
    script?: Uint8Array;
    lookup?: SpentOutputLookup;
  },
): SpendTx {
  const tx = decodeTx(txBytes);
  if (!Number.isInteger(o.inputIndex) || o.inputIndex < 0 || o.inputIndex >= tx.inputs.length) {
    throw new LdkDataError(`input ${o.inputIndex} does not exist`);
  }
  return {
    tx,
    spent: tx.inputs.map((input, i) =>
      i === o.inputIndex
        ? { amount: o.amountSat, script: o.script ?? new Uint8Array() }
        : o.lookup?.({ txid: input.txid.slice(), vout: input.vout }) ?? null
    ),
    inputPaths: tx.inputs.map(() => []),
    outputPaths: tx.outputs.map((out) => {
      const p = o.payouts.find((x) => equal(x.script, out.script));
      return p ? [p.walletIndex] : [];
    }),
  };
}
