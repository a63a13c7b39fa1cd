/**
 * Second-level HTLC transactions (BOLT #3, "HTLC-Timeout and HTLC-Success Transactions";
 * rules-spec.md §2.I):
 * - `sign_holder_htlc_tx`: our signature on our own HTLC-success/timeout transaction spending an
 *   HTLC output of holder commitment `n`, which must be the current or the validated pending one
 *   (CLN 16 and 146, VLS `SignLocalHtlcTx2`, LDK `sign_holder_htlc_transaction`). The reply also
 *   carries the counterparty's stored signature, which completes the witness.
 * - `sign_counterparty_htlc_tx`: our signature on the counterparty's HTLC transaction for a
 *   counterparty commitment we signed (current or previous), named by its per-commitment point
 *   (CLN 20).
 *
 * The HTLC is identified either by the spent witness script and amount (phase 1, CLN) or by its
 * description (phase 2, LDK). The transaction is rebuilt from the stored commitment and compared.
 * On anchor channels the counterparty signs with SIGHASH_SINGLE|ANYONECANPAY, so a node may add
 * fee inputs and outputs: then only what the signatures commit to is compared (version, locktime,
 * our input, the output of the same index). Our own holder signature is always SIGHASH_ALL and,
 * on anchor channels, covers the node's whole (fee-bumped) transaction.
 *
 * @module
 */
import { equal, fromHex, toHex } from "../../bytes.ts";
import { SIGHASH, type Tx, txid } from "../../bitcoin/tx.ts";
import { p2wsh } from "../../bitcoin/script.ts";
import type { CommitmentHtlcTransaction } from "../../bolt3/htlc_tx.ts";
import { type CommitmentKeys, derivePrivateKey } from "../../bolt3/keys.ts";
import { toLocalScript } from "../../bolt3/scripts.ts";
import { decodeWitnessScript } from "../decode.ts";
import type { HtlcTxFactsT, HtlcTxKindFactsT } from "../facts_onchain.ts";
import { isAnchors, rebuildCommitment, type RebuiltCommitment } from "../rebuild.ts";
import { holderPoint } from "../state.ts";
import type { ChannelSetup } from "../types.ts";
import type { HtlcRequest } from "./commitment.ts";
import {
  chainFacts,
  channelFacts,
  ChannelRequestError,
  type OpContext,
  type OpOutcome,
  readySetup,
  stateFacts,
} from "./context.ts";
import {
  checkHtlcRequest,
  checkPoint,
  commitmentKeysFor,
  feerateOf,
  firstTxMismatch,
  type InputSignature,
  signInput,
} from "./sweep.ts";

/** What both HTLC transaction requests carry. */
export interface HtlcTxRequest {
  /** The node's HTLC transaction (on anchor channels possibly with fee inputs and outputs). */
  tx: Tx;
  /** The input that spends the HTLC output. */
  inputIndex: number;
  /** Phase 1 (CLN): the witness script of the HTLC output spent. */
  witnessScript?: Uint8Array;
  /** Phase 1 (CLN): the value of the HTLC output spent (PSBT witness UTXO). */
  amountSat?: bigint;
  /** Phase 2 (LDK `HTLCDescriptor`): the HTLC, from the commitment broadcaster's view. */
  htlc?: HtlcRequest;
  /** The witness script of the output paired with the input, when the node gives it (CLN PSBT). */
  outputWitnessScript?: Uint8Array;
}

/** `sign_holder_htlc_tx`. */
export interface HolderHtlcTxRequest extends HtlcTxRequest {
  /** The holder commitment whose HTLC output is spent. */
  number: number;
}

/** `sign_counterparty_htlc_tx`. */
export interface CounterpartyHtlcTxRequest extends HtlcTxRequest {
  /** The counterparty's per-commitment point of the commitment. */
  perCommitmentPoint: Uint8Array;
}

/** The reply of {@link signHolderHtlcTx}. */
export interface HolderHtlcSignature extends InputSignature {
  /** The counterparty's signature on this HTLC transaction (compact), from the stored commitment. */
  counterpartySignature: Uint8Array;
  /** Its sighash type (SIGHASH_ALL, or SINGLE|ANYONECANPAY with anchors). */
  counterpartySighashType: number;
  /** The spent HTLC output's witness script (last witness item). */
  htlcWitnessScript: Uint8Array;
}

/** BOLT #3 weights of the second-level transactions, without and with anchors. */
const HTLC_TIMEOUT_WEIGHTS = { plain: 663, anchors: 666 };
const HTLC_SUCCESS_WEIGHTS = { plain: 703, anchors: 706 };

function checkRequest(r: HtlcTxRequest): void {
  const bad = (m: string) => new ChannelRequestError("malformed", m);
  if (!r.tx || !Array.isArray(r.tx.inputs) || !Array.isArray(r.tx.outputs)) {
    throw bad("a transaction is required");
  }
  if (!Number.isInteger(r.inputIndex) || r.inputIndex < 0 || r.inputIndex >= r.tx.inputs.length) {
    throw bad(`input ${r.inputIndex} does not exist`);
  }
  if (r.htlc) checkHtlcRequest(r.htlc);
  else {
    if (!(r.witnessScript instanceof Uint8Array) || r.witnessScript.length === 0) {
      throw bad("phase 1 needs the HTLC witness script");
    }
    if (typeof r.amountSat !== "bigint" || r.amountSat < 0n) {
      throw bad("phase 1 needs the HTLC output amount");
    }
  }
  if (r.outputWitnessScript !== undefined && !(r.outputWitnessScript instanceof Uint8Array)) {
    throw bad("output witness script must be bytes");
  }
}

/** The rebuilt HTLC transaction the request's input spends, and where it sits. */
interface Match {
  rebuilt: RebuiltCommitment;
  htlcTx: CommitmentHtlcTransaction;
  /** Position in `rebuilt.htlcTxs` (= index of the counterparty's HTLC signature). */
  position: number;
}

function sameHtlc(a: HtlcRequest, b: HtlcRequest): boolean {
  return a.offered === b.offered && a.amountMsat === b.amountMsat &&
    equal(a.paymentHash, b.paymentHash) && a.cltvExpiry === b.cltvExpiry;
}

function findMatch(
  request: HtlcTxRequest,
  rebuilt: RebuiltCommitment | null,
): { match: Match | null; reason: string } {
  if (!rebuilt) return { match: null, reason: "commitment not known" };
  const input = request.tx.inputs[request.inputIndex];
  const position = equal(input.txid, txid(rebuilt.tx))
    ? rebuilt.htlcTxs.findIndex((h) => h.commitmentOutputIndex === input.vout)
    : -1;
  if (position < 0) return { match: null, reason: "input outpoint" };
  const htlcTx = rebuilt.htlcTxs[position];
  if (request.htlc) {
    const h = rebuilt.outputs[htlcTx.commitmentOutputIndex].htlc;
    if (!h || !sameHtlc(request.htlc, h)) return { match: null, reason: "htlc" };
  } else {
    if (!equal(request.witnessScript ?? new Uint8Array(), htlcTx.htlcWitnessScript)) {
      return { match: null, reason: "htlc script" };
    }
    if (request.amountSat !== htlcTx.inputAmountSat) return { match: null, reason: "htlc amount" };
  }
  return { match: { rebuilt, htlcTx, position }, reason: "" };
}

/**
 * The first field our signature commits to that differs from the rebuild: the whole transaction
 * without anchors; with anchors version, locktime, our input and the output of the same index.
 */
function committedMismatch(request: HtlcTxRequest, expected: Tx, anchors: boolean): string {
  const tx = request.tx;
  if (!anchors) return firstTxMismatch(tx, expected);
  const i = request.inputIndex;
  if (tx.version !== expected.version) return "version";
  const a = tx.inputs[i];
  const b = expected.inputs[0];
  if (!equal(a.txid, b.txid) || a.vout !== b.vout) return `input ${i} outpoint`;
  if (a.sequence !== b.sequence) return `input ${i} sequence`;
  if (tx.locktime !== expected.locktime) return "locktime";
  const out = tx.outputs[i];
  if (!out) return `output ${i} missing`;
  if (out.amount !== expected.outputs[0].amount) return `output ${i} amount`;
  if (!equal(out.script, expected.outputs[0].script)) return `output ${i} script`;
  return "";
}

/** The keys and delay the output of the paired output must carry, as facts. */
function outputKeyFacts(
  request: HtlcTxRequest,
  expected: { keys: CommitmentKeys; delay: number },
): { revocation: boolean; delayed: boolean; delay: number } {
  const out = request.tx.outputs[request.inputIndex];
  const none = { revocation: false, delayed: false, delay: -1 };
  if (!out) return none;
  const ws = request.outputWitnessScript;
  if (ws && equal(p2wsh(ws), out.script)) {
    const d = decodeWitnessScript(ws);
    if (d.kind !== "to_local") return none;
    return {
      revocation: equal(d.revocationKey, expected.keys.revocationKey),
      delayed: equal(d.delayedKey, expected.keys.broadcasterDelayedPaymentKey),
      delay: d.toSelfDelay,
    };
  }
  const script = p2wsh(toLocalScript({
    revocationKey: expected.keys.revocationKey,
    broadcasterDelayedPaymentKey: expected.keys.broadcasterDelayedPaymentKey,
    toSelfDelay: expected.delay,
  }));
  // Without the witness script only equality with the expected script can be told.
  return equal(script, out.script)
    ? { revocation: true, delayed: true, delay: expected.delay }
    : none;
}

interface Analysis {
  facts: HtlcTxFactsT;
  match: Match | null;
}

function analyze(
  setup: ChannelSetup,
  request: HtlcTxRequest,
  o: {
    rebuilt: RebuiltCommitment | null;
    keys: CommitmentKeys;
    isCounterparty: boolean;
    commitmentNumber: number;
  },
): Analysis {
  const anchors = isAnchors(setup);
  const zeroFee = setup.commitmentType === "anchors_zero_fee_htlc";
  const { tx, inputIndex } = request;
  const input = tx.inputs[inputIndex];
  const output = tx.outputs[inputIndex];
  let offered: boolean;
  let redeemscriptOk: boolean;
  if (request.htlc) {
    offered = request.htlc.offered;
    redeemscriptOk = true;
  } else {
    const d = decodeWitnessScript(request.witnessScript ?? new Uint8Array());
    offered = d.kind === "offered_htlc";
    redeemscriptOk = (d.kind === "offered_htlc" || d.kind === "received_htlc") &&
      d.anchors === anchors;
  }
  const { match, reason } = findMatch(request, o.rebuilt);
  const amount = match
    ? match.htlcTx.inputAmountSat
    : request.htlc
    ? request.htlc.amountMsat / 1000n
    : request.amountSat ?? 0n;
  const weights = offered ? HTLC_TIMEOUT_WEIGHTS : HTLC_SUCCESS_WEIGHTS;
  const fee = output && amount > output.amount ? amount - output.amount : 0n;
  const expectedDelay = o.isCounterparty
    ? setup.holderSelectedContestDelay
    : setup.counterpartySelectedContestDelay;
  const keyFacts = outputKeyFacts(request, { keys: o.keys, delay: expectedDelay });
  const mismatch = match ? committedMismatch(request, match.htlcTx.tx, anchors) : reason;
  const htlc = match?.rebuilt.outputs[match.htlcTx.commitmentOutputIndex].htlc ?? null;
  const facts: HtlcTxFactsT = {
    commitment_number: o.rebuilt ? o.commitmentNumber : -1,
    is_counterparty: o.isCounterparty,
    offered,
    version: tx.version,
    input_index: inputIndex,
    input_count: tx.inputs.length,
    output_count: tx.outputs.length,
    sequence: input.sequence,
    expected_sequence: anchors ? 1 : 0,
    locktime: tx.locktime,
    htlc_matched: match !== null,
    htlc_cltv_expiry: htlc?.cltvExpiry ?? 0,
    htlc_amount_sat: match?.htlcTx.inputAmountSat ?? 0n,
    to_self_delay: keyFacts.delay,
    expected_to_self_delay: expectedDelay,
    revocation_pubkey_ok: keyFacts.revocation,
    delayed_pubkey_ok: keyFacts.delayed,
    feerate_per_kw: zeroFee ? 0 : feerateOf(fee, anchors ? weights.anchors : weights.plain),
    sighash_ok: output !== undefined,
    redeemscript_ok: redeemscriptOk,
    matches_rebuild: match !== null && mismatch === "",
    first_mismatch: mismatch,
    sighash_type: o.isCounterparty && anchors ? SIGHASH.SINGLE_ANYONECANPAY : SIGHASH.ALL,
  };
  return { facts, match };
}

/** Sign our HTLC transaction spending an HTLC output of holder commitment `number`. */
export function signHolderHtlcTx(
  ctx: OpContext,
  request: HolderHtlcTxRequest,
): OpOutcome<HtlcTxKindFactsT, HolderHtlcSignature> {
  const n = request.number;
  if (!Number.isSafeInteger(n) || n < 0 || n > 281474976710655) {
    throw new ChannelRequestError("malformed", "commitment number must be 48-bit");
  }
  checkRequest(request);
  const setup = readySetup(ctx.state);
  const e = ctx.state.enforcement;
  const H = e.nextHolderCommitNum;
  const chosen = e.currentHolder?.info.number === n && n + 1 === H
    ? e.currentHolder
    : e.pendingHolder?.info.number === n && n === H
    ? e.pendingHolder
    : null;
  const rebuilt = chosen
    ? rebuildCommitment("holder", { setup, keys: ctx.keys, info: chosen.info })
    : null;
  const point = holderPoint(ctx.keys, n);
  const keys = commitmentKeysFor(setup, ctx.keys, { broadcaster: "holder", point });
  const { facts, match } = analyze(setup, request, {
    rebuilt,
    keys,
    isCounterparty: false,
    commitmentNumber: n,
  });
  const anchors = isAnchors(setup);
  return {
    kind: "sign_holder_htlc_tx",
    facts: {
      channel: channelFacts(ctx),
      state: stateFacts(e),
      chain: chainFacts(ctx.chain),
      request: { arithmetic_ok: true },
      htlc_tx: facts,
      holder_commitment: { number: n },
      point: { number: n },
    },
    next: ctx.state,
    release: () => {
      if (!match || !chosen || (anchors && !facts.matches_rebuild)) {
        throw new ChannelRequestError("invariant", "the HTLC transaction is not signable");
      }
      const { htlcTx, position } = match;
      // Without anchors the rebuild is the transaction; with anchors the node's transaction may
      // carry fee inputs and outputs, which our SIGHASH_ALL signature covers as they are.
      const [tx, index] = anchors ? [request.tx, request.inputIndex] : [htlcTx.tx, 0];
      const sig = signInput(tx, index, {
        scriptCode: htlcTx.htlcWitnessScript,
        amount: htlcTx.inputAmountSat,
        secret: derivePrivateKey(ctx.keys.htlcBaseSecret.expose(), point),
        sighashType: SIGHASH.ALL,
      });
      return {
        ...sig,
        counterpartySignature: fromHex(chosen.counterpartyHtlcSigs[position]),
        counterpartySighashType: anchors ? SIGHASH.SINGLE_ANYONECANPAY : SIGHASH.ALL,
        htlcWitnessScript: htlcTx.htlcWitnessScript.slice(),
      };
    },
  };
}

/** Sign the counterparty's HTLC transaction of a counterparty commitment we signed (CLN 20). */
export function signCounterpartyHtlcTx(
  ctx: OpContext,
  request: CounterpartyHtlcTxRequest,
): OpOutcome<HtlcTxKindFactsT, InputSignature> {
  checkRequest(request);
  checkPoint(request.perCommitmentPoint, "per-commitment point");
  const setup = readySetup(ctx.state);
  const e = ctx.state.enforcement;
  const pointHex = toHex(request.perCommitmentPoint);
  const info = [e.currentCounterparty, e.previousCounterparty]
    .find((i) => i !== null && i.perCommitmentPoint === pointHex) ?? null;
  const rebuilt = info ? rebuildCommitment("counterparty", { setup, keys: ctx.keys, info }) : null;
  const point = request.perCommitmentPoint;
  const keys = commitmentKeysFor(setup, ctx.keys, { broadcaster: "counterparty", point });
  const { facts, match } = analyze(setup, request, {
    rebuilt,
    keys,
    isCounterparty: true,
    commitmentNumber: info?.number ?? -1,
  });
  return {
    kind: "sign_counterparty_htlc_tx",
    facts: {
      channel: channelFacts(ctx),
      state: stateFacts(e),
      chain: chainFacts(ctx.chain),
      request: { arithmetic_ok: true },
      htlc_tx: facts,
      holder_commitment: { number: Math.max(0, e.nextHolderCommitNum - 1) },
      point: { number: 0 },
    },
    next: ctx.state,
    release: () => {
      if (!match) {
        throw new ChannelRequestError("invariant", "the HTLC transaction is not signable");
      }
      // Our rebuild has one input and one output; with SIGHASH_SINGLE|ANYONECANPAY its digest is
      // the one of the node's transaction whenever the committed fields match.
      return signInput(match.htlcTx.tx, 0, {
        scriptCode: match.htlcTx.htlcWitnessScript,
        amount: match.htlcTx.inputAmountSat,
        secret: derivePrivateKey(ctx.keys.htlcBaseSecret.expose(), point),
        sighashType: facts.sighash_type,
      });
    },
  };
}
