/**
 * The commitment transaction (BOLT #3, "Commitment Transaction", "Trimmed Outputs", "Fees" and
 * "Commitment Transaction Construction"), built from the channel parameters, with metadata on
 * every output so the caller can state facts about it: which output pays whom, which HTLC each
 * HTLC output is, which HTLCs were trimmed, the fee and the expected weight.
 *
 * Channel types: `option_static_remotekey` (to_remote pays the countersignatory's payment basepoint
 * directly), with or without `option_anchors` (the zero-fee-HTLC variant: 330-sat anchors, HTLC
 * transactions that pay no fee). The legacy tweaked to_remote is not supported.
 *
 * @module
 */
import { compare, concat } from "../bytes.ts";
import { sha256 } from "../crypto/mod.ts";
import { p2wsh } from "../bitcoin/script.ts";
import type { Tx } from "../bitcoin/tx.ts";
import type { CommitmentKeys } from "./keys.ts";
import {
  anchorScript,
  fundingScript,
  offeredHtlcScript,
  receivedHtlcScript,
  toLocalScript,
  toRemoteOutputScript,
} from "./scripts.ts";

/** The commitment parameters are inconsistent, or a transaction is not a commitment. */
export class CommitmentError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "CommitmentError";
  }
}

/** Value of each anchor output (BOLT #3, `to_local_anchor` and `to_remote_anchor` Output). */
export const ANCHOR_OUTPUT_SATOSHIS = 330n;
/** Expected weight of a commitment transaction without HTLC outputs (BOLT #3, Fee Calculation). */
export const COMMITMENT_BASE_WEIGHT = 724;
/** Expected weight of an anchors commitment transaction without HTLC outputs. */
export const COMMITMENT_BASE_WEIGHT_ANCHORS = 1124;
/** Expected weight added by each untrimmed HTLC output. */
export const HTLC_OUTPUT_WEIGHT = 172;
/** Expected weight of an HTLC-timeout transaction (BOLT #3, Fee Calculation). */
export const HTLC_TIMEOUT_WEIGHT = 663;
/** Expected weight of an HTLC-success transaction (BOLT #3, Fee Calculation). */
export const HTLC_SUCCESS_WEIGHT = 703;

const MAX_48 = 281474976710655;
const TWO_24 = 16777216;

function needInt(n: number, what: string, max: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > max) {
    throw new CommitmentError(`${what} must be an integer in 0..${max}`);
  }
}

function needAmount(n: bigint, what: string): void {
  if (typeof n !== "bigint" || n < 0n) throw new CommitmentError(`${what} must be a bigint >= 0`);
}

/** Expected commitment weight: 724 (1124 with anchors) + 172 per untrimmed HTLC output. */
export function commitmentWeight(numUntrimmedHtlcs: number, options: { anchors: boolean }): number {
  needInt(numUntrimmedHtlcs, "number of HTLCs", 0xffff);
  const base = options.anchors ? COMMITMENT_BASE_WEIGHT_ANCHORS : COMMITMENT_BASE_WEIGHT;
  return base + HTLC_OUTPUT_WEIGHT * numUntrimmedHtlcs;
}

/** `floor(feerate_per_kw * weight / 1000)` in satoshi. */
export function feeForWeight(feeratePerKw: number, weight: number): bigint {
  needInt(feeratePerKw, "feerate_per_kw", 0xffffffff);
  needInt(weight, "weight", Number.MAX_SAFE_INTEGER);
  return (BigInt(feeratePerKw) * BigInt(weight)) / 1000n;
}

/** The base commitment fee (BOLT #3, Fee Calculation): paid by the opener. */
export function commitmentFee(
  feeratePerKw: number,
  options: { numUntrimmedHtlcs: number; anchors: boolean },
): bigint {
  return feeForWeight(feeratePerKw, commitmentWeight(options.numUntrimmedHtlcs, options));
}

/** HTLC-timeout fee (BOLT #3, Fee Calculation): `feerate * 663 / 1000`, 0 with zero-fee anchors. */
export function htlcTimeoutFee(feeratePerKw: number, options: { anchors: boolean }): bigint {
  return options.anchors ? 0n : feeForWeight(feeratePerKw, HTLC_TIMEOUT_WEIGHT);
}

/** HTLC-success fee (BOLT #3, Fee Calculation): `feerate * 703 / 1000`, 0 with zero-fee anchors. */
export function htlcSuccessFee(feeratePerKw: number, options: { anchors: boolean }): bigint {
  return options.anchors ? 0n : feeForWeight(feeratePerKw, HTLC_SUCCESS_WEIGHT);
}

/** One HTLC committed to, seen from the broadcaster of the commitment transaction. */
export interface CommitmentHtlc {
  /** True when the broadcaster offered it (pays out), false when it receives it. */
  offered: boolean;
  /** Amount in millisatoshi. */
  amountMsat: bigint;
  /** The 32-byte payment hash. */
  paymentHash: Uint8Array;
  /** `cltv_expiry` (block height). */
  cltvExpiry: number;
}

/** Options of {@link isHtlcTrimmed}. */
export interface TrimOptions {
  /** `feerate_per_kw` of the commitment. */
  feeratePerKw: number;
  /** The broadcaster's `dust_limit_satoshis`. */
  dustLimitSatoshis: bigint;
  /** Whether `option_anchors` (zero-fee HTLC transactions) applies. */
  anchors: boolean;
}

/**
 * Whether an HTLC is trimmed (BOLT #3, Trimmed Outputs): its amount, rounded down to satoshi,
 * minus the fee of its second-stage transaction (HTLC-timeout if offered, HTLC-success if received)
 * is below the broadcaster's dust limit.
 */
export function isHtlcTrimmed(
  htlc: Pick<CommitmentHtlc, "offered" | "amountMsat">,
  options: TrimOptions,
): boolean {
  const rate = options.feeratePerKw;
  const fee = htlc.offered ? htlcTimeoutFee(rate, options) : htlcSuccessFee(rate, options);
  return htlc.amountMsat / 1000n < options.dustLimitSatoshis + fee;
}

/**
 * The commitment number obscuring factor (BOLT #3, Commitment Transaction): the lower 48 bits of
 * `SHA256(payment_basepoint from open_channel || payment_basepoint from accept_channel)`.
 */
export function obscuringFactor(
  openerPaymentBasepoint: Uint8Array,
  acceptorPaymentBasepoint: Uint8Array,
): number {
  if (openerPaymentBasepoint?.length !== 33 || acceptorPaymentBasepoint?.length !== 33) {
    throw new CommitmentError("payment basepoints must be 33-byte compressed points");
  }
  const h = sha256(concat(openerPaymentBasepoint, acceptorPaymentBasepoint));
  let n = 0;
  for (let i = 26; i < 32; i++) n = n * 256 + h[i];
  return n;
}

function xor48(a: number, b: number): number {
  const hi = (Math.floor(a / TWO_24) ^ Math.floor(b / TWO_24)) & 0xffffff;
  const lo = ((a % TWO_24) ^ (b % TWO_24)) & 0xffffff;
  return hi * TWO_24 + lo;
}

/** `commitment_number XOR obscuring_factor`, both 48-bit. */
export function obscureCommitmentNumber(commitmentNumber: number, factor: number): number {
  needInt(commitmentNumber, "commitment number", MAX_48);
  needInt(factor, "obscuring factor", MAX_48);
  return xor48(commitmentNumber, factor);
}

/**
 * The locktime (`0x20` then the lower 24 bits) and input sequence (`0x80` then the upper 24 bits)
 * carrying an obscured commitment number (BOLT #3, Commitment Transaction).
 */
export function commitmentLocktimeAndSequence(
  obscured: number,
): { locktime: number; sequence: number } {
  needInt(obscured, "obscured commitment number", MAX_48);
  return {
    locktime: (0x20000000 + (obscured % TWO_24)) >>> 0,
    sequence: (0x80000000 + Math.floor(obscured / TWO_24)) >>> 0,
  };
}

/**
 * The commitment number of a commitment transaction, read back from its locktime and input
 * sequence with the obscuring factor. Throws {@link CommitmentError} if the transaction does not
 * have exactly one input or its upper bytes are not `0x20` (locktime) / `0x80` (sequence).
 */
export function commitmentNumberFromTx(tx: Tx, factor: number): number {
  needInt(factor, "obscuring factor", MAX_48);
  if (tx.inputs.length !== 1) throw new CommitmentError("a commitment tx has exactly one input");
  const locktime = tx.locktime >>> 0;
  const sequence = tx.inputs[0].sequence >>> 0;
  if (locktime >>> 24 !== 0x20) throw new CommitmentError("locktime upper byte is not 0x20");
  if (sequence >>> 24 !== 0x80) throw new CommitmentError("sequence upper byte is not 0x80");
  const obscured = (sequence & 0xffffff) * TWO_24 + (locktime & 0xffffff);
  return xor48(obscured, factor);
}

/** The funding outpoint a commitment or closing transaction spends. */
export interface FundingOutpoint {
  /** Funding txid, 32 bytes in internal byte order (as inside a serialised transaction). */
  txid: Uint8Array;
  /** Funding output index. */
  vout: number;
}

/** Options of {@link buildCommitmentTx}. */
export interface CommitmentTxOptions {
  /** The funding outpoint. */
  fundingOutpoint: FundingOutpoint;
  /** Value of the funding output. */
  fundingSatoshis: bigint;
  /** Commitment number, counting up from 0 (48-bit). */
  commitmentNumber: number;
  /** See {@link obscuringFactor} (always opener's basepoint first). */
  obscuringFactor: number;
  /** Whether the broadcaster opened (funded) the channel and so pays the fee and the anchors. */
  broadcasterIsOpener: boolean;
  /** Broadcaster's balance in msat, in-flight HTLCs removed, before fee and anchors. */
  toBroadcasterMsat: bigint;
  /** Countersignatory's balance in msat, in-flight HTLCs removed, before fee and anchors. */
  toCountersignatoryMsat: bigint;
  /** `feerate_per_kw` of this commitment. */
  feeratePerKw: number;
  /** The broadcaster's `dust_limit_satoshis`. */
  dustLimitSatoshis: bigint;
  /** `to_self_delay` imposed on the broadcaster (set by the countersignatory). */
  toSelfDelay: number;
  /** Every HTLC committed to, seen from the broadcaster. */
  htlcs: CommitmentHtlc[];
  /** The keys of this commitment (see `deriveCommitmentKeys`). */
  keys: CommitmentKeys;
  /** The countersignatory's `payment_basepoint`: the to_remote key under static_remotekey. */
  countersignatoryPaymentBasepoint: Uint8Array;
  /** The broadcaster's `funding_pubkey` (also keys its anchor). */
  broadcasterFundingPubkey: Uint8Array;
  /** The countersignatory's `funding_pubkey` (also keys its anchor). */
  countersignatoryFundingPubkey: Uint8Array;
  /** Whether `option_anchors` (zero-fee HTLC transactions) applies. */
  anchors: boolean;
}

/** What an output of a commitment transaction is. */
export type CommitmentOutputKind =
  | "to_broadcaster"
  | "to_countersignatory"
  | "anchor_broadcaster"
  | "anchor_countersignatory"
  | "htlc";

/** One output of a built commitment transaction, with what it is. */
export interface CommitmentOutput {
  /** What the output is. */
  kind: CommitmentOutputKind;
  /** Value in satoshi. */
  amountSat: bigint;
  /** The scriptPubKey. */
  scriptPubKey: Uint8Array;
  /** The witness script when the output is P2WSH (every kind but non-anchors to_countersignatory). */
  witnessScript?: Uint8Array;
  /** For `htlc`: index into the `htlcs` option. */
  htlcIndex?: number;
  /** For `htlc`: the HTLC itself. */
  htlc?: CommitmentHtlc;
}

/** A built commitment transaction and the facts about it. */
export interface CommitmentTransaction {
  /** The unsigned transaction (empty witness). */
  tx: Tx;
  /** One entry per `tx` output, in the same (BIP-69 + CLTV) order. */
  outputs: CommitmentOutput[];
  /** Indices into the `htlcs` option of the HTLCs that were trimmed (ascending). */
  trimmedHtlcs: number[];
  /** The expected weight the base fee was computed on. */
  weight: number;
  /** The base fee from the expected weight (BOLT #3, Fee Calculation). */
  baseFeeSatoshis: bigint;
  /** The actual fee: funding value minus the sum of all outputs (includes trimmed amounts). */
  feeSatoshis: bigint;
  /** Broadcaster's value after fee and anchors, whether or not the output was trimmed. */
  toBroadcasterSat: bigint;
  /** Countersignatory's value after fee and anchors, whether or not the output was trimmed. */
  toCountersignatorySat: bigint;
  /** The obscured commitment number carried by locktime and sequence. */
  obscuredCommitmentNumber: number;
  /** The funding witness script: the BIP-143 scriptCode for signing the input. */
  fundingWitnessScript: Uint8Array;
  /** The funding value: the BIP-143 amount for signing the input. */
  fundingSatoshis: bigint;
  /** The keys the transaction was built with. */
  keys: CommitmentKeys;
  /** `feerate_per_kw` (needed for the HTLC transactions). */
  feeratePerKw: number;
  /** `to_self_delay` (needed for the HTLC transactions). */
  toSelfDelay: number;
  /** Whether `option_anchors` applies. */
  anchors: boolean;
}

function compareOutputs(a: CommitmentOutput, b: CommitmentOutput): number {
  if (a.amountSat !== b.amountSat) return a.amountSat < b.amountSat ? -1 : 1;
  const c = compare(a.scriptPubKey, b.scriptPubKey);
  if (c !== 0) return c;
  if (a.htlc && b.htlc) {
    if (a.htlc.cltvExpiry !== b.htlc.cltvExpiry) return a.htlc.cltvExpiry - b.htlc.cltvExpiry;
    return (a.htlcIndex ?? 0) - (b.htlcIndex ?? 0);
  }
  return 0;
}

function validate(o: CommitmentTxOptions): void {
  if (!(o.fundingOutpoint?.txid instanceof Uint8Array) || o.fundingOutpoint.txid.length !== 32) {
    throw new CommitmentError("funding txid must be 32 bytes");
  }
  needInt(o.fundingOutpoint.vout, "funding output index", 0xffffffff);
  needAmount(o.fundingSatoshis, "funding amount");
  needInt(o.commitmentNumber, "commitment number", MAX_48);
  needInt(o.obscuringFactor, "obscuring factor", MAX_48);
  needAmount(o.toBroadcasterMsat, "broadcaster balance");
  needAmount(o.toCountersignatoryMsat, "countersignatory balance");
  needInt(o.feeratePerKw, "feerate_per_kw", 0xffffffff);
  needAmount(o.dustLimitSatoshis, "dust limit");
  needInt(o.toSelfDelay, "to_self_delay", 0xffff);
  if (!Array.isArray(o.htlcs)) throw new CommitmentError("htlcs must be an array");
  let total = o.toBroadcasterMsat + o.toCountersignatoryMsat;
  o.htlcs.forEach((h, i) => {
    needAmount(h.amountMsat, `HTLC ${i} amount`);
    needInt(h.cltvExpiry, `HTLC ${i} cltv_expiry`, 0x7fffffff);
    if (!(h.paymentHash instanceof Uint8Array) || h.paymentHash.length !== 32) {
      throw new CommitmentError(`HTLC ${i} payment hash must be 32 bytes`);
    }
    total += h.amountMsat;
  });
  if (total > o.fundingSatoshis * 1000n) {
    throw new CommitmentError("balances and HTLCs exceed the funding amount");
  }
}

function subtractFloorZero(a: bigint, b: bigint): bigint {
  return a > b ? a - b : 0n;
}

/** Options of {@link assembleCommitmentTx}: the final output values, after fee and trimming. */
export interface CommitmentAssembly {
  /** The funding outpoint. */
  fundingOutpoint: FundingOutpoint;
  /** Value of the funding output. */
  fundingSatoshis: bigint;
  /** Commitment number, counting up from 0 (48-bit). */
  commitmentNumber: number;
  /** See {@link obscuringFactor} (always opener's basepoint first). */
  obscuringFactor: number;
  /** Value of `to_local` (the broadcaster's output); 0 when it is absent (trimmed). */
  toBroadcasterSat: bigint;
  /** Value of `to_remote` (the countersignatory's output); 0 when it is absent (trimmed). */
  toCountersignatorySat: bigint;
  /** The untrimmed HTLCs, seen from the broadcaster; each becomes one output. */
  htlcs: CommitmentHtlc[];
  /** `to_self_delay` imposed on the broadcaster (set by the countersignatory). */
  toSelfDelay: number;
  /** The keys of this commitment (see `deriveCommitmentKeys`). */
  keys: CommitmentKeys;
  /** The countersignatory's `payment_basepoint`: the to_remote key under static_remotekey. */
  countersignatoryPaymentBasepoint: Uint8Array;
  /** The broadcaster's `funding_pubkey` (also keys its anchor). */
  broadcasterFundingPubkey: Uint8Array;
  /** The countersignatory's `funding_pubkey` (also keys its anchor). */
  countersignatoryFundingPubkey: Uint8Array;
  /** Whether `option_anchors` (zero-fee HTLC transactions) applies. */
  anchors: boolean;
}

/** An assembled commitment transaction (see {@link assembleCommitmentTx}). */
export type AssembledCommitment = Omit<
  CommitmentTransaction,
  "trimmedHtlcs" | "weight" | "baseFeeSatoshis" | "feeratePerKw"
>;

/**
 * Place the outputs of a commitment transaction whose values are already final (BOLT #3,
 * Commitment Transaction Construction, steps 4 to 7): one output per HTLC, `to_local` and
 * `to_remote` when their value is non-zero, with anchors an anchor for each side that has an output
 * (both when there is any HTLC), then BIP-69 order with the `cltv_expiry` tie-break. This is the
 * form in which LDK, CLN and VLS describe a commitment (final values plus untrimmed HTLCs), so the
 * signer rebuilds what a node sends with it; {@link buildCommitmentTx} computes the values first.
 */
export function assembleCommitmentTx(options: CommitmentAssembly): AssembledCommitment {
  validateAssembly(options);
  const { anchors, keys } = options;
  const obscured = obscureCommitmentNumber(options.commitmentNumber, options.obscuringFactor);
  const { locktime, sequence } = commitmentLocktimeAndSequence(obscured);
  const outputs: CommitmentOutput[] = options.htlcs.map((htlc, htlcIndex) => {
    const scriptOptions = {
      revocationKey: keys.revocationKey,
      broadcasterHtlcKey: keys.broadcasterHtlcKey,
      countersignatoryHtlcKey: keys.countersignatoryHtlcKey,
      paymentHash: htlc.paymentHash,
      anchors,
    };
    const witnessScript = htlc.offered
      ? offeredHtlcScript(scriptOptions)
      : receivedHtlcScript({ ...scriptOptions, cltvExpiry: htlc.cltvExpiry });
    return {
      kind: "htlc",
      amountSat: htlc.amountMsat / 1000n,
      scriptPubKey: p2wsh(witnessScript),
      witnessScript,
      htlcIndex,
      htlc: { ...htlc, paymentHash: htlc.paymentHash.slice() },
    };
  });
  const hasToBroadcaster = options.toBroadcasterSat > 0n;
  const hasToCountersignatory = options.toCountersignatorySat > 0n;
  if (hasToBroadcaster) {
    const witnessScript = toLocalScript({
      revocationKey: keys.revocationKey,
      broadcasterDelayedPaymentKey: keys.broadcasterDelayedPaymentKey,
      toSelfDelay: options.toSelfDelay,
    });
    outputs.push({
      kind: "to_broadcaster",
      amountSat: options.toBroadcasterSat,
      scriptPubKey: p2wsh(witnessScript),
      witnessScript,
    });
  }
  if (hasToCountersignatory) {
    const s = toRemoteOutputScript(options.countersignatoryPaymentBasepoint, { anchors });
    outputs.push({
      kind: "to_countersignatory",
      amountSat: options.toCountersignatorySat,
      scriptPubKey: s.scriptPubKey,
      ...(s.witnessScript ? { witnessScript: s.witnessScript } : {}),
    });
  }
  const hasHtlcs = options.htlcs.length > 0;
  if (anchors) {
    if (hasToBroadcaster || hasHtlcs) {
      const witnessScript = anchorScript(options.broadcasterFundingPubkey);
      outputs.push({
        kind: "anchor_broadcaster",
        amountSat: ANCHOR_OUTPUT_SATOSHIS,
        scriptPubKey: p2wsh(witnessScript),
        witnessScript,
      });
    }
    if (hasToCountersignatory || hasHtlcs) {
      const witnessScript = anchorScript(options.countersignatoryFundingPubkey);
      outputs.push({
        kind: "anchor_countersignatory",
        amountSat: ANCHOR_OUTPUT_SATOSHIS,
        scriptPubKey: p2wsh(witnessScript),
        witnessScript,
      });
    }
  }
  outputs.sort(compareOutputs);
  const sum = outputs.reduce((acc, o) => acc + o.amountSat, 0n);
  if (sum > options.fundingSatoshis) {
    throw new CommitmentError("outputs exceed the funding amount");
  }
  return {
    tx: {
      version: 2,
      locktime,
      inputs: [{
        txid: options.fundingOutpoint.txid.slice(),
        vout: options.fundingOutpoint.vout,
        scriptSig: new Uint8Array(),
        sequence,
        witness: [],
      }],
      outputs: outputs.map((o) => ({ amount: o.amountSat, script: o.scriptPubKey })),
    },
    outputs,
    feeSatoshis: options.fundingSatoshis - sum,
    toBroadcasterSat: options.toBroadcasterSat,
    toCountersignatorySat: options.toCountersignatorySat,
    obscuredCommitmentNumber: obscured,
    fundingWitnessScript: fundingScript(
      options.broadcasterFundingPubkey,
      options.countersignatoryFundingPubkey,
    ),
    fundingSatoshis: options.fundingSatoshis,
    keys,
    toSelfDelay: options.toSelfDelay,
    anchors,
  };
}

function validateAssembly(o: CommitmentAssembly): void {
  if (!(o.fundingOutpoint?.txid instanceof Uint8Array) || o.fundingOutpoint.txid.length !== 32) {
    throw new CommitmentError("funding txid must be 32 bytes");
  }
  needInt(o.fundingOutpoint.vout, "funding output index", 0xffffffff);
  needAmount(o.fundingSatoshis, "funding amount");
  needInt(o.commitmentNumber, "commitment number", MAX_48);
  needInt(o.obscuringFactor, "obscuring factor", MAX_48);
  needAmount(o.toBroadcasterSat, "broadcaster value");
  needAmount(o.toCountersignatorySat, "countersignatory value");
  needInt(o.toSelfDelay, "to_self_delay", 0xffff);
  if (!Array.isArray(o.htlcs)) throw new CommitmentError("htlcs must be an array");
  o.htlcs.forEach((h, i) => {
    needAmount(h.amountMsat, `HTLC ${i} amount`);
    needInt(h.cltvExpiry, `HTLC ${i} cltv_expiry`, 0x7fffffff);
    if (!(h.paymentHash instanceof Uint8Array) || h.paymentHash.length !== 32) {
      throw new CommitmentError(`HTLC ${i} payment hash must be 32 bytes`);
    }
  });
}

/**
 * Build a commitment transaction (BOLT #3, Commitment Transaction Construction):
 * 1. input and locktime carry the obscured commitment number;
 * 2. trim HTLCs below dust plus their second-stage fee;
 * 3. base fee from the expected weight, taken from the opener with a floor of 0, and with anchors
 *    also 2 x 330 sat from the opener;
 * 4. untrimmed HTLC outputs, then `to_local` / `to_remote` if at or above the dust limit;
 * 5. with anchors, an anchor for each side that has an output, or both if any HTLC is untrimmed;
 * 6. BIP-69 order, ties between identical HTLC outputs broken by `cltv_expiry` (then by position
 *    in `htlcs`, which only matters for fully identical HTLCs).
 *
 * Steps 4 to 6 are {@link assembleCommitmentTx}. A zero-value output is never produced, even with
 * a dust limit of 0. Throws {@link CommitmentError} on inconsistent parameters (for example
 * balances and HTLCs that exceed the funding amount).
 */
export function buildCommitmentTx(options: CommitmentTxOptions): CommitmentTransaction {
  validate(options);
  const { anchors, feeratePerKw, dustLimitSatoshis } = options;
  const trimmedHtlcs: number[] = [];
  const untrimmed: number[] = [];
  options.htlcs.forEach((htlc, i) => {
    if (isHtlcTrimmed(htlc, { feeratePerKw, dustLimitSatoshis, anchors })) trimmedHtlcs.push(i);
    else untrimmed.push(i);
  });
  const weight = commitmentWeight(untrimmed.length, { anchors });
  const baseFee = feeForWeight(feeratePerKw, weight);

  let toBroadcaster = options.toBroadcasterMsat / 1000n;
  let toCountersignatory = options.toCountersignatoryMsat / 1000n;
  const openerCharge = baseFee + (anchors ? 2n * ANCHOR_OUTPUT_SATOSHIS : 0n);
  if (options.broadcasterIsOpener) toBroadcaster = subtractFloorZero(toBroadcaster, openerCharge);
  else toCountersignatory = subtractFloorZero(toCountersignatory, openerCharge);
  const kept = (v: bigint) => (v > 0n && v >= dustLimitSatoshis ? v : 0n);

  const assembled = assembleCommitmentTx({
    fundingOutpoint: options.fundingOutpoint,
    fundingSatoshis: options.fundingSatoshis,
    commitmentNumber: options.commitmentNumber,
    obscuringFactor: options.obscuringFactor,
    toBroadcasterSat: kept(toBroadcaster),
    toCountersignatorySat: kept(toCountersignatory),
    htlcs: untrimmed.map((i) => options.htlcs[i]),
    toSelfDelay: options.toSelfDelay,
    keys: options.keys,
    countersignatoryPaymentBasepoint: options.countersignatoryPaymentBasepoint,
    broadcasterFundingPubkey: options.broadcasterFundingPubkey,
    countersignatoryFundingPubkey: options.countersignatoryFundingPubkey,
    anchors,
  });
  // Report HTLC indices against the caller's list, not the untrimmed sub-list.
  const outputs = assembled.outputs.map((o) =>
    o.htlcIndex === undefined ? o : { ...o, htlcIndex: untrimmed[o.htlcIndex] }
  );
  return {
    ...assembled,
    outputs,
    trimmedHtlcs,
    weight,
    baseFeeSatoshis: baseFee,
    toBroadcasterSat: toBroadcaster,
    toCountersignatorySat: toCountersignatory,
    feeratePerKw,
  };
}
