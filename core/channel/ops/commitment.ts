/**
 * The two commitment operations at the heart of every channel update:
 * - `sign_counterparty_commitment`: our signatures on the peer's next commitment (we send
 *   `commitment_signed`);
 * - `validate_holder_commitment`: checking the peer's signatures on our next commitment (we
 *   receive `commitment_signed`).
 *
 * Both rebuild the commitment from the channel state and the request's values, compute the same
 * fact record (`CommitmentKindFacts`), and, in phase 1, compare the node's transaction with the
 * rebuild field by field (`decode.ts`). The signer only ever signs its own rebuild.
 *
 * @module
 */
import { fromHex, toHex } from "../../bytes.ts";
import { ecdsaSign, ecdsaVerify, isValidPublicKey } from "../../crypto/mod.ts";
import { SIGHASH, sighashSegwitV0, type Tx } from "../../bitcoin/tx.ts";
import { derivePrivateKey, derivePublicKey } from "../../bolt3/keys.ts";
import {
  ANCHOR_OUTPUT_SATOSHIS,
  COMMITMENT_BASE_WEIGHT,
  COMMITMENT_BASE_WEIGHT_ANCHORS,
  HTLC_OUTPUT_WEIGHT,
  HTLC_SUCCESS_WEIGHT,
  HTLC_TIMEOUT_WEIGHT,
} from "../../bolt3/commitment.ts";
import type { CommitmentFactsT, CommitmentKindFactsT, CommitmentTxFactsT } from "../facts.ts";
import { isAnchors, rebuildCommitment, type RebuiltCommitment } from "../rebuild.ts";
import { holderPoint, sameInfo, sortHtlcs } from "../state.ts";
import type { ChannelSetup, CommitmentInfo, HtlcInfo, SignedHolderCommitment } from "../types.ts";
import { compareCommitmentTx, decodeCommitmentValues, rebuiltTxFacts } from "../decode.ts";
import { feerateOf } from "./sweep.ts";
import {
  chainFacts,
  channelFacts,
  ChannelRequestError,
  type OpContext,
  type OpOutcome,
  readySetup,
  stateFacts,
  withEnforcement,
} from "./context.ts";

/** One HTLC of a request, from the commitment broadcaster's point of view. */
export interface HtlcRequest {
  /** The broadcaster offered it. */
  offered: boolean;
  /** Amount. */
  amountMsat: bigint;
  /** 32-byte payment hash. */
  paymentHash: Uint8Array;
  /** Expiry height. */
  cltvExpiry: number;
}

/** The node's own transaction (phase 1), with the witness script of each output from its PSBT. */
export interface NodeCommitmentTx {
  /** The unsigned commitment transaction. */
  tx: Tx;
  /** One entry per output: the P2WSH witness script, or null when the PSBT has none. */
  witnessScripts: (Uint8Array | null)[];
}

/** What both commitment requests carry. */
export interface CommitmentRequest {
  /** Commitment number, counting up from 0. */
  number: number;
  /** The feerate the node declares for this commitment. */
  feeratePerKw: number;
  /** The untrimmed HTLCs, from the broadcaster's point of view. */
  htlcs: HtlcRequest[];
  /** Phase 2: the two main output values (0 when absent), from the broadcaster's view. */
  values?: { toBroadcasterSat: bigint; toCountersignatorySat: bigint };
  /** Phase 1: the node's transaction. Either this or `values` (or both) must be given. */
  tx?: NodeCommitmentTx;
  /**
   * Payment preimages the node shows with the request (LDK passes the preimages of HTLCs settled
   * in this commitment). Only their hashes are kept, as evidence that a payment settled.
   */
  preimages?: Uint8Array[];
}

/** `sign_counterparty_commitment`: the peer's per-commitment point comes with the request. */
export interface CounterpartyCommitmentRequest extends CommitmentRequest {
  /** The counterparty's per-commitment point for this commitment. */
  perCommitmentPoint: Uint8Array;
}

/** `validate_holder_commitment`: the peer's signatures come with the request. */
export interface HolderCommitmentRequest extends CommitmentRequest {
  /** The counterparty's signature on our commitment (compact 64 bytes). */
  counterpartySig: Uint8Array;
  /** The counterparty's signatures on our HTLC transactions, in output order (compact). */
  counterpartyHtlcSigs: Uint8Array[];
}

/** The reply of {@link signCounterpartyCommitment}. */
export interface CommitmentSignatures {
  /** Our signature on the commitment (compact; sighash SIGHASH_ALL). */
  signature: Uint8Array;
  /** Our signatures on the peer's HTLC transactions, in output order (compact). */
  htlcSignatures: Uint8Array[];
  /** The sighash type of the HTLC signatures (SIGHASH_ALL, or 0x83 with anchors). */
  htlcSighashType: number;
}

/** The reply of {@link validateHolderCommitment}: our point for the commitment after it. */
export interface HolderValidation {
  /** Our per-commitment point `n + 1`. */
  nextPoint: Uint8Array;
}

const MAX_NUMBER = 281474976710655;
const MAX_SAT = 2_100_000_000_000_000n;

function checkRequest(r: CommitmentRequest): void {
  const bad = (m: string) => new ChannelRequestError("malformed", m);
  if (!Number.isSafeInteger(r.number) || r.number < 0 || r.number > MAX_NUMBER) {
    throw bad("commitment number must be 48-bit");
  }
  if (!Number.isInteger(r.feeratePerKw) || r.feeratePerKw < 0 || r.feeratePerKw > 0xffffffff) {
    throw bad("feerate_per_kw must be a u32");
  }
  if (!Array.isArray(r.htlcs) || r.htlcs.length > 966) throw bad("too many HTLCs in a request");
  r.htlcs.forEach((h, i) => {
    if (typeof h !== "object" || h === null) throw bad(`HTLC ${i}: not an HTLC`);
    if (typeof h.offered !== "boolean") throw bad(`HTLC ${i}: offered must be a boolean`);
    if (typeof h.amountMsat !== "bigint" || h.amountMsat < 0n || h.amountMsat > MAX_SAT * 1000n) {
      throw bad(`HTLC ${i}: amount out of range`);
    }
    if (!(h.paymentHash instanceof Uint8Array) || h.paymentHash.length !== 32) {
      throw bad(`HTLC ${i}: payment hash must be 32 bytes`);
    }
    if (!Number.isInteger(h.cltvExpiry) || h.cltvExpiry < 0 || h.cltvExpiry > 0xffffffff) {
      throw bad(`HTLC ${i}: cltv_expiry must be a u32`);
    }
  });
  if (r.values === undefined && r.tx === undefined) {
    throw bad("a commitment request needs the transaction or its values");
  }
  if (r.values) {
    for (const v of [r.values.toBroadcasterSat, r.values.toCountersignatorySat]) {
      if (typeof v !== "bigint" || v < 0n || v > MAX_SAT) throw bad("output value out of range");
    }
  }
  if (
    r.tx && (typeof r.tx !== "object" || !Array.isArray(r.tx.witnessScripts) ||
      !Array.isArray(r.tx.tx?.outputs))
  ) {
    throw bad("a phase-1 request carries the transaction and its witness scripts");
  }
  if (r.tx && r.tx.witnessScripts.length !== r.tx.tx.outputs.length) {
    throw bad("one witness script entry per output is required");
  }
}

function htlcInfos(htlcs: HtlcRequest[]): HtlcInfo[] {
  return sortHtlcs(htlcs.map((h) => ({
    offered: h.offered,
    amountMsat: h.amountMsat,
    paymentHash: toHex(h.paymentHash),
    cltvExpiry: h.cltvExpiry,
  })));
}

/** Sum of the outputs a commitment info implies (main outputs, HTLC outputs, anchors). */
export function infoOutputsSat(setup: ChannelSetup, info: CommitmentInfo): bigint {
  const htlcs = info.htlcs.reduce((s, h) => s + h.amountMsat / 1000n, 0n);
  let anchors = 0n;
  if (isAnchors(setup)) {
    const any = info.htlcs.length > 0;
    if (info.toBroadcasterSat > 0n || any) anchors += ANCHOR_OUTPUT_SATOSHIS;
    if (info.toCountersignatorySat > 0n || any) anchors += ANCHOR_OUTPUT_SATOSHIS;
  }
  return info.toBroadcasterSat + info.toCountersignatorySat + htlcs + anchors;
}

/**
 * Our claim in a commitment: our main output plus the HTLCs we offered (VLS's claimable Q). A
 * retry is compared with the stored commitment of the same number, so its deltas are zero.
 */
function holderClaimSat(info: CommitmentInfo, holderIsBroadcaster: boolean): bigint {
  const ours = holderIsBroadcaster ? info.toBroadcasterSat : info.toCountersignatorySat;
  const outgoing = info.htlcs
    .filter((h) => h.offered === holderIsBroadcaster)
    .reduce((s, h) => s + h.amountMsat / 1000n, 0n);
  return ours + outgoing;
}

function htlcKey(h: HtlcInfo): string {
  return `${h.offered}:${h.amountMsat}:${h.paymentHash}:${h.cltvExpiry}`;
}

interface FactInputs {
  ctx: OpContext;
  setup: ChannelSetup;
  info: CommitmentInfo;
  broadcaster: "holder" | "counterparty";
  /** The previous commitment of the same side (for claims, fee rise, new HTLCs), if any. */
  previous: CommitmentInfo | null;
  txFacts: CommitmentTxFactsT;
  advances: boolean;
  isRetry: boolean;
  retrySamePoint: boolean;
  retrySameInfo: boolean;
  sigsValid: { commitment: boolean; htlcs: boolean };
  arithmeticOk: boolean;
}

function commitmentKindFacts(f: FactInputs): CommitmentKindFactsT {
  const { setup, info, broadcaster, previous } = f;
  const holderIsBroadcaster = broadcaster === "holder";
  const anchors = isAnchors(setup);
  const zeroFee = setup.commitmentType === "anchors_zero_fee_htlc";
  const outputs = infoOutputsSat(setup, info);
  const fee = setup.channelValueSat > outputs ? setup.channelValueSat - outputs : 0n;
  const weight = (anchors ? COMMITMENT_BASE_WEIGHT_ANCHORS : COMMITMENT_BASE_WEIGHT) +
    HTLC_OUTPUT_WEIGHT * info.htlcs.length;
  const rate = BigInt(info.feeratePerKw);
  const previousKeys = new Set((previous?.htlcs ?? []).map(htlcKey));
  const before = previous === null
    ? f.ctx.state.enforcement.initialHolderValueSat
    : holderClaimSat(previous, holderIsBroadcaster);
  const after = holderClaimSat(info, holderIsBroadcaster);
  const previousFee = previous === null
    ? 0n
    : setup.channelValueSat - (infoOutputsSat(setup, previous) > setup.channelValueSat
      ? setup.channelValueSat
      : infoOutputsSat(setup, previous));
  const feeIncrease = fee > previousFee ? fee - previousFee : 0n;
  // BOLT #3's fee at the request's feerate; what the outputs leave beyond it is trimmed value.
  const excessOf = (c: CommitmentInfo, paid: bigint) => {
    const w = (anchors ? COMMITMENT_BASE_WEIGHT_ANCHORS : COMMITMENT_BASE_WEIGHT) +
      HTLC_OUTPUT_WEIGHT * c.htlcs.length;
    const expected = (BigInt(c.feeratePerKw) * BigInt(w)) / 1000n;
    return paid > expected ? paid - expected : 0n;
  };
  const feeExcess = excessOf(info, fee);
  const previousExcess = previous === null ? 0n : excessOf(previous, previousFee);
  const excessIncrease = feeExcess > previousExcess ? feeExcess - previousExcess : 0n;
  const currentKeys = new Set(info.htlcs.map(htlcKey));
  const removedOutgoing = (previous?.htlcs ?? [])
    .filter((h) => h.offered === holderIsBroadcaster && !currentKeys.has(htlcKey(h)))
    .reduce((s, h) => s + h.amountMsat / 1000n, 0n);
  const transferred = before > after + feeIncrease ? before - after - feeIncrease : 0n;
  const commitment: CommitmentFactsT = {
    number: info.number,
    broadcaster,
    advances_state: f.advances,
    is_retry: f.isRetry,
    retry_same_point: f.retrySamePoint,
    retry_same_info: f.retrySameInfo,
    feerate_per_kw: info.feeratePerKw,
    fee_sat: fee,
    expected_weight: weight,
    fee_feerate_per_kw: feerateOf(fee, weight),
    to_broadcaster_sat: info.toBroadcasterSat,
    to_countersignatory_sat: info.toCountersignatorySat,
    to_holder_sat: holderIsBroadcaster ? info.toBroadcasterSat : info.toCountersignatorySat,
    to_counterparty_sat: holderIsBroadcaster ? info.toCountersignatorySat : info.toBroadcasterSat,
    htlc_count: info.htlcs.length,
    htlc_total_sat: info.htlcs.reduce((s, h) => s + h.amountMsat / 1000n, 0n),
    htlc_timeout_fee_sat: zeroFee ? 0n : (rate * BigInt(HTLC_TIMEOUT_WEIGHT)) / 1000n,
    htlc_success_fee_sat: zeroFee ? 0n : (rate * BigInt(HTLC_SUCCESS_WEIGHT)) / 1000n,
    htlcs: info.htlcs.map((h) => ({
      offered: h.offered,
      outgoing: h.offered === holderIsBroadcaster,
      amount_sat: h.amountMsat / 1000n,
      amount_msat: h.amountMsat,
      cltv_expiry: h.cltvExpiry,
      payment_hash: h.paymentHash,
      is_new: !previousKeys.has(htlcKey(h)),
    })),
    expected_to_self_delay: holderIsBroadcaster
      ? setup.counterpartySelectedContestDelay
      : setup.holderSelectedContestDelay,
    counterparty_sig_valid: f.sigsValid.commitment,
    htlc_sigs_valid: f.sigsValid.htlcs,
    holder_claim_before_sat: before,
    holder_claim_after_sat: after,
    fee_increase_sat: feeIncrease,
    fee_excess_sat: feeExcess,
    fee_excess_increase_sat: f.isRetry ? 0n : excessIncrease,
    removed_outgoing_sat: removedOutgoing,
    transferred_sat: f.isRetry ? 0n : transferred,
    tx: f.txFacts,
  };
  return {
    channel: channelFacts(f.ctx),
    state: stateFacts(f.ctx.state.enforcement),
    chain: chainFacts(f.ctx.chain),
    request: { arithmetic_ok: f.arithmeticOk },
    commitment,
    holder_commitment: {
      number: holderIsBroadcaster
        ? info.number
        : Math.max(0, f.ctx.state.enforcement.nextHolderCommitNum - 1),
    },
    point: { number: holderIsBroadcaster ? info.number : 0 },
    // Node-wide: the signer service, which sees every channel, fills this in.
    payments: [],
  };
}

/**
 * Resolve the request's values (phase 2 values, or decoded from the node's transaction in phase
 * 1), rebuild the commitment, and compute the transaction facts.
 */
function rebuildFromRequest(
  ctx: OpContext,
  setup: ChannelSetup,
  request: CommitmentRequest,
  options: { broadcaster: "holder" | "counterparty"; point: Uint8Array },
): { info: CommitmentInfo; rebuilt: RebuiltCommitment; txFacts: CommitmentTxFactsT } {
  const pointHex = toHex(options.point);
  const values = request.values ?? decodeCommitmentValues(request.tx as NodeCommitmentTx, {
    broadcaster: options.broadcaster,
    setup,
    keys: ctx.keys,
  });
  const info: CommitmentInfo = {
    number: request.number,
    perCommitmentPoint: pointHex,
    feeratePerKw: request.feeratePerKw,
    toBroadcasterSat: values.toBroadcasterSat,
    toCountersignatorySat: values.toCountersignatorySat,
    htlcs: htlcInfos(request.htlcs),
  };
  if (infoOutputsSat(setup, info) > setup.channelValueSat) {
    throw new ChannelRequestError("malformed", "commitment outputs exceed the channel value");
  }
  const rebuilt = rebuildCommitment(options.broadcaster, { setup, keys: ctx.keys, info });
  const txFacts = request.tx
    ? compareCommitmentTx(request.tx, rebuilt, { setup, keys: ctx.keys })
    : rebuiltTxFacts(rebuilt);
  return { info, rebuilt, txFacts };
}

/** Sign the counterparty's commitment `n` and its HTLC transactions. */
export function signCounterpartyCommitment(
  ctx: OpContext,
  request: CounterpartyCommitmentRequest,
): OpOutcome<CommitmentKindFactsT, CommitmentSignatures> {
  checkRequest(request);
  if (
    !(request.perCommitmentPoint instanceof Uint8Array) ||
    !isValidPublicKey(request.perCommitmentPoint)
  ) {
    throw new ChannelRequestError("malformed", "per-commitment point must be a valid 33-byte key");
  }
  const setup = readySetup(ctx.state);
  const e = ctx.state.enforcement;
  const { info, rebuilt, txFacts } = rebuildFromRequest(ctx, setup, request, {
    broadcaster: "counterparty",
    point: request.perCommitmentPoint,
  });
  const n = info.number;
  const C = e.nextCounterpartyCommitNum;
  const R = e.nextCounterpartyRevokeNum;
  const current = e.currentCounterparty;
  const isRetry = current !== null && n + 1 === C && current.number === n;
  const advances = n === C;
  const validProgression = n <= R + 1;
  // After a close signature no state moves, whatever a (demoted) rule says.
  const next = advances && validProgression && !e.closed
    ? withEnforcement(ctx.state, {
      nextCounterpartyCommitNum: n + 1,
      currentCounterparty: info,
      previousCounterparty: current,
    })
    : ctx.state;
  const facts = commitmentKindFacts({
    ctx,
    setup,
    info,
    broadcaster: "counterparty",
    previous: current,
    txFacts,
    advances,
    isRetry,
    retrySamePoint: isRetry ? current.perCommitmentPoint === info.perCommitmentPoint : true,
    retrySameInfo: isRetry ? sameInfo(current, info) : true,
    sigsValid: { commitment: true, htlcs: true },
    arithmeticOk: true,
  });
  return {
    kind: "sign_counterparty_commitment",
    facts,
    next,
    release: () => signRebuilt(ctx, rebuilt, request.perCommitmentPoint),
  };
}

function signRebuilt(
  ctx: OpContext,
  rebuilt: RebuiltCommitment,
  counterpartyPoint: Uint8Array,
): CommitmentSignatures {
  const digest = sighashSegwitV0(rebuilt.tx, 0, {
    scriptCode: rebuilt.fundingWitnessScript,
    amount: rebuilt.fundingSatoshis,
    sighashType: SIGHASH.ALL,
  });
  const signature = ecdsaSign(digest, ctx.keys.fundingSecret.expose());
  const htlcSighashType = rebuilt.anchors ? SIGHASH.SINGLE_ANYONECANPAY : SIGHASH.ALL;
  const htlcKey = derivePrivateKey(ctx.keys.htlcBaseSecret.expose(), counterpartyPoint);
  try {
    const htlcSignatures = rebuilt.htlcTxs.map((h) =>
      ecdsaSign(
        sighashSegwitV0(h.tx, 0, {
          scriptCode: h.htlcWitnessScript,
          amount: rebuilt.outputs[h.commitmentOutputIndex].amountSat,
          sighashType: htlcSighashType,
        }),
        htlcKey,
      )
    );
    return { signature, htlcSignatures, htlcSighashType };
  } finally {
    htlcKey.fill(0);
  }
}

/**
 * Check the counterparty's signatures on our rebuilt commitment: the commitment signature under
 * its funding key (SIGHASH_ALL), and one signature per HTLC transaction under its HTLC key for
 * this commitment (SIGHASH_ALL, or SINGLE|ANYONECANPAY with anchors).
 */
export function verifyHolderSignatures(
  ctx: OpContext,
  rebuilt: RebuiltCommitment,
  sigs: { commitment: Uint8Array; htlcs: Uint8Array[] },
): { commitment: boolean; htlcs: boolean } {
  const setup = readySetup(ctx.state);
  const digest = sighashSegwitV0(rebuilt.tx, 0, {
    scriptCode: rebuilt.fundingWitnessScript,
    amount: rebuilt.fundingSatoshis,
    sighashType: SIGHASH.ALL,
  });
  const commitment = ecdsaVerify(
    sigs.commitment,
    digest,
    fromHex(setup.counterparty.fundingPubkey),
  );
  if (sigs.htlcs.length !== rebuilt.htlcTxs.length) return { commitment, htlcs: false };
  const theirHtlcKey = derivePublicKey(
    fromHex(setup.counterparty.htlcBasepoint),
    rebuilt.keys.perCommitmentPoint,
  );
  const type = rebuilt.anchors ? SIGHASH.SINGLE_ANYONECANPAY : SIGHASH.ALL;
  const htlcs = rebuilt.htlcTxs.every((h, i) =>
    ecdsaVerify(
      sigs.htlcs[i],
      sighashSegwitV0(h.tx, 0, {
        scriptCode: h.htlcWitnessScript,
        amount: rebuilt.outputs[h.commitmentOutputIndex].amountSat,
        sighashType: type,
      }),
      theirHtlcKey,
    )
  );
  return { commitment, htlcs };
}

/** Validate the counterparty's signatures on our commitment `n` and remember it. */
export function validateHolderCommitment(
  ctx: OpContext,
  request: HolderCommitmentRequest,
): OpOutcome<CommitmentKindFactsT, HolderValidation> {
  checkRequest(request);
  if (!(request.counterpartySig instanceof Uint8Array) || request.counterpartySig.length !== 64) {
    throw new ChannelRequestError("malformed", "counterparty signature must be 64 bytes");
  }
  if (
    !Array.isArray(request.counterpartyHtlcSigs) ||
    request.counterpartyHtlcSigs.some((s) => !(s instanceof Uint8Array) || s.length !== 64)
  ) {
    throw new ChannelRequestError("malformed", "HTLC signatures must be 64 bytes each");
  }
  const setup = readySetup(ctx.state);
  const e = ctx.state.enforcement;
  const n = request.number;
  const { info, rebuilt, txFacts } = rebuildFromRequest(ctx, setup, request, {
    broadcaster: "holder",
    point: holderPoint(ctx.keys, n),
  });
  const sigsValid = verifyHolderSignatures(ctx, rebuilt, {
    commitment: request.counterpartySig,
    htlcs: request.counterpartyHtlcSigs,
  });
  const H = e.nextHolderCommitNum;
  const current = e.currentHolder;
  const pending = e.pendingHolder;
  // A retry validates a number already validated: the current commitment (H - 1), or the pending
  // one (H, validated but its predecessor not yet revoked; LDK validates it again after a
  // reconnect). Either must be identical (policy-commitment-retry-same) and changes nothing: a
  // pending commitment is never replaced by other content under the same number.
  const retried = current !== null && n + 1 === H && current.info.number === n
    ? current.info
    : pending !== null && n === H && pending.info.number === n
    ? pending.info
    : null;
  const isRetry = retried !== null;
  const advances = n === H && !isRetry;
  const signed: SignedHolderCommitment = {
    info,
    counterpartySig: toHex(request.counterpartySig),
    counterpartyHtlcSigs: request.counterpartyHtlcSigs.map(toHex),
    warnings: [],
  };
  const accept = (warnings: string[]) => {
    if (!advances || !sigsValid.commitment || !sigsValid.htlcs || e.closed) return ctx.state;
    const entry = { ...signed, warnings };
    // Commitment 0 has no predecessor to revoke: it becomes current at once.
    return n === 0 && H === 0
      ? withEnforcement(ctx.state, { nextHolderCommitNum: 1, currentHolder: entry })
      : withEnforcement(ctx.state, { pendingHolder: entry });
  };
  const facts = commitmentKindFacts({
    ctx,
    setup,
    info,
    broadcaster: "holder",
    previous: current?.info ?? null,
    txFacts,
    advances,
    isRetry,
    retrySamePoint: true,
    retrySameInfo: retried !== null ? sameInfo(retried, info) : true,
    sigsValid,
    arithmeticOk: true,
  });
  return {
    kind: "validate_holder_commitment",
    facts,
    next: accept([]),
    withWarnings: (ids) => accept(ids),
    release: () => ({ nextPoint: holderPoint(ctx.keys, n + 1) }),
  };
}
