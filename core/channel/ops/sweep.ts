/**
 * Sweeps of channel outputs to our wallet (rules-spec.md §2.K), and the helpers every on-chain
 * channel operation shares (the node's spending transaction with its PSBT data, destination
 * facts, feerates, signing one input):
 * - `sign_delayed_sweep`: our to_local output of holder commitment `n` (or the output of our own
 *   HTLC transaction, which has the same script) after the CSV delay (CLN 12 and 142);
 * - `sign_counterparty_htlc_sweep`: an HTLC output of the counterparty's commitment, with our HTLC
 *   key for its per-commitment point (CLN 13 and 143; LDK `sign_counterparty_htlc_transaction`);
 * - `sign_justice_sweep`: an output of a revoked counterparty commitment with the revocation key
 *   (CLN 14 and 144; LDK `sign_justice_revoked_output` / `sign_justice_revoked_htlc`). The
 *   revocation secret must be one the counterparty revealed to us: a node-supplied secret we cannot
 *   find in our store is reported and never used.
 *
 * The script we sign with is always our own rebuild of the expected script, never the node's.
 *
 * @module
 */
import { constantTimeEqual, equal, fromHex, toHex, zeroize } from "../../bytes.ts";
import {
  ecdsaSign,
  hash160,
  isValidPublicKey,
  isValidSecretKey,
  publicKey,
} from "../../crypto/mod.ts";
import {
  compactSize,
  encodeTx,
  SIGHASH,
  sighashSegwitV0,
  stripSignatures,
  type Tx,
  type TxOutput,
} from "../../bitcoin/tx.ts";
import { p2wsh } from "../../bitcoin/script.ts";
import type { Psbt } from "../../bitcoin/psbt.ts";
import { spentOutput } from "../../bitcoin/psbt.ts";
import {
  type CommitmentKeys,
  deriveCommitmentKeys,
  derivePrivateKey,
  deriveRevocationPrivateKey,
} from "../../bolt3/keys.ts";
import { offeredHtlcScript, receivedHtlcScript, toLocalScript } from "../../bolt3/scripts.ts";
import { commitmentNumberToIndex, ShachainStore } from "../../bolt3/shachain.ts";
import type { ChannelKeys } from "../../keys/types.ts";
import { decodeWitnessScript } from "../decode.ts";
import type { DestinationFactsT, SweepFactsT, SweepKindFactsT } from "../facts_onchain.ts";
import { isAnchors, rebuildCommitment } from "../rebuild.ts";
import { holderPoint } from "../state.ts";
import type { ChannelSetup, Enforcement } from "../types.ts";
import type { HtlcRequest } from "./commitment.ts";
import {
  chainFacts,
  channelFacts,
  ChannelRequestError,
  EMPTY_WALLET,
  type OpContext,
  type OpOutcome,
  readySetup,
  stateFacts,
  type WalletView,
} from "./context.ts";

// ---------------------------------------------------------------------------------------------
// Shared helpers of the on-chain channel operations

/**
 * The node's transaction with what its PSBT says about it (CLN sends both; LDK sends the
 * transaction and the amount of the input to sign).
 */
export interface SpendTx {
  /** The unsigned transaction. */
  tx: Tx;
  /** Per input: the output it spends as the node describes it (PSBT witness UTXO), or null. */
  spent: (TxOutput | null)[];
  /** Per input: the wallet derivation path the node gives (PSBT BIP-32 record), [] when none. */
  inputPaths: number[][];
  /** Per output: the wallet derivation path the node gives, [] when none. */
  outputPaths: number[][];
}

/** A signature on one input. */
export interface InputSignature {
  /** Compact 64-byte signature. */
  signature: Uint8Array;
  /** The sighash type it commits to (the byte appended in the witness). */
  sighashType: number;
}

function pathOf(
  records: { path: number[] }[],
  tapRecords: { path: number[] }[],
): number[] {
  return (records[0] ?? tapRecords[0])?.path.slice() ?? [];
}

/**
 * A {@link SpendTx} from a PSBT: spent outputs from the witness or non-witness UTXO (the latter
 * checked against the prevout), paths from the first BIP-32 (or BIP-371) derivation record of each
 * map. Throws {@link ChannelRequestError} `malformed` when a UTXO record contradicts the
 * transaction.
 */
export function spendTxFromPsbt(psbt: Psbt): SpendTx {
  const spent = psbt.inputs.map((input, i) => {
    if (!input.witnessUtxo && !input.nonWitnessUtxo) return null;
    try {
      return spentOutput(psbt, i);
    } catch (e) {
      throw new ChannelRequestError("malformed", (e as Error).message);
    }
  });
  return {
    tx: psbt.tx,
    spent,
    inputPaths: psbt.inputs.map((i) => pathOf(i.bip32Derivation, i.tapBip32Derivation)),
    outputPaths: psbt.outputs.map((o) => pathOf(o.bip32Derivation, o.tapBip32Derivation)),
  };
}

/**
 * A {@link SpendTx} for a transaction whose only known input is `inputIndex` (LDK hands over the
 * transaction and the value of the input to sign).
 */
export function spendTxOf(
  tx: Tx,
  known: { inputIndex: number; amountSat: bigint; script?: Uint8Array },
): SpendTx {
  return {
    tx,
    spent: tx.inputs.map((_, i) =>
      i === known.inputIndex
        ? { amount: known.amountSat, script: known.script ?? new Uint8Array() }
        : null
    ),
    inputPaths: tx.inputs.map(() => []),
    outputPaths: tx.outputs.map(() => []),
  };
}

/** Check the shape of a {@link SpendTx} and that `inputIndex` is one of its inputs. */
export function checkSpendTx(spend: SpendTx, inputIndex: number): void {
  const bad = (m: string) => new ChannelRequestError("malformed", m);
  const tx = spend?.tx;
  if (!tx || !Array.isArray(tx.inputs) || !Array.isArray(tx.outputs)) {
    throw bad("a transaction is required");
  }
  if (
    !Array.isArray(spend.spent) || spend.spent.length !== tx.inputs.length ||
    !Array.isArray(spend.inputPaths) || spend.inputPaths.length !== tx.inputs.length ||
    !Array.isArray(spend.outputPaths) || spend.outputPaths.length !== tx.outputs.length
  ) {
    throw bad("one spent-output and path entry per input, one path entry per output");
  }
  if (!Number.isInteger(inputIndex) || inputIndex < 0 || inputIndex >= tx.inputs.length) {
    throw bad(`input ${inputIndex} does not exist`);
  }
  for (const p of [...spend.inputPaths, ...spend.outputPaths]) {
    if (!Array.isArray(p) || p.some((c) => !Number.isInteger(c) || c < 0 || c > 0xffffffff)) {
      throw bad("derivation path components must be u32");
    }
  }
  for (const s of spend.spent) {
    if (s !== null && (typeof s.amount !== "bigint" || s.amount < 0n)) {
      throw bad("spent amounts must be bigints >= 0");
    }
  }
}

/**
 * Whether a derivation path is a wallet path the signer can check: one component below 2^31 (CLN
 * writes m/0/0/i as `[i]` under the account key's fingerprint), or none at all.
 */
export function walletPathOk(path: number[]): boolean {
  return path.length === 0 || (path.length === 1 && path[0] < 0x80000000);
}

/** Where an output pays: our wallet at the given path, the allowlist, or neither. */
export function destinationFacts(
  wallet: WalletView,
  output: { script: Uint8Array; amount: bigint },
  path: number[],
): DestinationFactsT {
  return {
    script: toHex(output.script),
    amount_sat: output.amount,
    in_wallet: path.length === 1 && path[0] < 0x80000000 &&
      wallet.paysWallet(output.script, path[0]),
    allowlisted: wallet.allowlisted(output.script),
    path_len: path.length,
    path_index: path.length > 0 ? path[path.length - 1] : -1,
  };
}

/** The feerate a fee implies at a weight (VLS `estimate_feerate_per_kw`, rules-spec §1.1). */
export function feerateOf(feeSat: bigint, weight: number): number {
  if (weight <= 0 || feeSat <= 0n) return 0;
  // VLS `estimate_feerate_per_kw`: the highest feerate whose fee at this weight, rounded down as
  // BOLT #3 does (`feerate * weight / 1000`), is this fee. An honest 253 sat/kw HTLC transaction
  // (fee 167 sat at weight 663) gives 253, where the plain ceiling would give 252.
  const r = (feeSat * 1000n + 999n) / BigInt(weight);
  return r > 0xffffffffn ? 0xffffffff : Number(r);
}

/** Weight of `tx` without witnesses (4 × the stripped size). */
export function unsignedWeight(tx: Tx): number {
  return encodeTx(stripSignatures(tx), { witness: false }).length * 4;
}

/**
 * The first field in which the node's transaction differs from the rebuild, ignoring witnesses
 * and scriptSigs ("" when they are equal).
 */
export function firstTxMismatch(node: Tx, rebuilt: Tx): string {
  if (node.version !== rebuilt.version) return "version";
  if (node.inputs.length !== rebuilt.inputs.length) return "input count";
  for (let i = 0; i < node.inputs.length; i++) {
    const a = node.inputs[i];
    const b = rebuilt.inputs[i];
    if (!equal(a.txid, b.txid) || a.vout !== b.vout) return `input ${i} outpoint`;
    if (a.sequence !== b.sequence) return `input ${i} sequence`;
  }
  if (node.locktime !== rebuilt.locktime) return "locktime";
  if (node.outputs.length !== rebuilt.outputs.length) return "output count";
  for (let i = 0; i < node.outputs.length; i++) {
    if (node.outputs[i].amount !== rebuilt.outputs[i].amount) return `output ${i} amount`;
    if (!equal(node.outputs[i].script, rebuilt.outputs[i].script)) return `output ${i} script`;
  }
  return "";
}

/** Sign input `index` of `tx` (BIP-143) with `secret`; the secret is zeroized afterwards. */
export function signInput(
  tx: Tx,
  index: number,
  options: { scriptCode: Uint8Array; amount: bigint; secret: Uint8Array; sighashType: number },
): InputSignature {
  try {
    const digest = sighashSegwitV0(tx, index, {
      scriptCode: options.scriptCode,
      amount: options.amount,
      sighashType: options.sighashType,
    });
    return { signature: ecdsaSign(digest, options.secret), sighashType: options.sighashType };
  } finally {
    zeroize(options.secret);
  }
}

/** The keys of the commitment `broadcaster` holds with per-commitment point `point`. */
export function commitmentKeysFor(
  setup: ChannelSetup,
  keys: ChannelKeys,
  options: { broadcaster: "holder" | "counterparty"; point: Uint8Array },
): CommitmentKeys {
  const cp = setup.counterparty;
  const holder = {
    revocationBasepoint: keys.basepoints.revocation,
    delayedPaymentBasepoint: keys.basepoints.delayedPayment,
    htlcBasepoint: keys.basepoints.htlc,
  };
  const counterparty = {
    revocationBasepoint: fromHex(cp.revocationBasepoint),
    delayedPaymentBasepoint: fromHex(cp.delayedPaymentBasepoint),
    htlcBasepoint: fromHex(cp.htlcBasepoint),
  };
  const [b, c] = options.broadcaster === "holder" ? [holder, counterparty] : [counterparty, holder];
  return deriveCommitmentKeys(options.point, { broadcaster: b, countersignatory: c });
}

/** The HTLC witness script of `htlc` (broadcaster view) in a commitment with `keys`. */
export function htlcScriptFor(
  htlc: HtlcRequest,
  options: { keys: CommitmentKeys; anchors: boolean },
): Uint8Array {
  const o = {
    revocationKey: options.keys.revocationKey,
    broadcasterHtlcKey: options.keys.broadcasterHtlcKey,
    countersignatoryHtlcKey: options.keys.countersignatoryHtlcKey,
    paymentHash: htlc.paymentHash,
    anchors: options.anchors,
  };
  return htlc.offered
    ? offeredHtlcScript(o)
    : receivedHtlcScript({ ...o, cltvExpiry: htlc.cltvExpiry });
}

/** Check a request HTLC (phase 2). */
export function checkHtlcRequest(h: HtlcRequest): void {
  const bad = (m: string) => new ChannelRequestError("malformed", m);
  if (typeof h.offered !== "boolean") throw bad("HTLC: offered must be a boolean");
  if (
    typeof h.amountMsat !== "bigint" || h.amountMsat < 0n ||
    h.amountMsat > 2_100_000_000_000_000_000n
  ) {
    throw bad("HTLC: amount out of range");
  }
  if (!(h.paymentHash instanceof Uint8Array) || h.paymentHash.length !== 32) {
    throw bad("HTLC: payment hash must be 32 bytes");
  }
  if (!Number.isInteger(h.cltvExpiry) || h.cltvExpiry < 0 || h.cltvExpiry > 0x7fffffff) {
    throw bad("HTLC: cltv_expiry out of range");
  }
}

/** Check a 33-byte point. */
export function checkPoint(point: Uint8Array, what: string): void {
  if (!(point instanceof Uint8Array) || point.length !== 33 || !isValidPublicKey(point)) {
    throw new ChannelRequestError("malformed", `${what} must be a valid 33-byte point`);
  }
}

// ---------------------------------------------------------------------------------------------
// Sweep facts

/** The fee facts of a sweep (`sweep.all_input_amounts_known`, `sweep.feerate_per_kw`). */
export interface SweepFee {
  /** Every input's amount was given (the feerate is exact). */
  allKnown: boolean;
  /** The feerate of the given amounts over the weight: the fee's lower bound when any is missing. */
  feeratePerKw: number;
}

/**
 * The fee facts of a sweep (rules-spec.md §2.K `policy-sweep-fee-range`). The fee is
 * Σ inputs − Σ outputs. With every input amount given it is exact. When the node leaves an input's
 * amount out (LDK signs one input at a time and aggregates claims, knowing only that input's
 * amount), the missing amounts can only add to the fee, so Σ given inputs − Σ outputs is a lower
 * bound of the fee that our signed input pays: a node hiding a burn of our output behind an input
 * of unknown amount proves that bound itself. Which bounds the policy judges (every exact fee, a
 * lower bound from `min_feerate_per_kw` up) is the rule's decision, not this function's.
 */
export function sweepFeeFacts(
  spend: Pick<SpendTx, "tx" | "spent">,
  weight: number,
): SweepFee {
  const outputTotal = spend.tx.outputs.reduce((t, o) => t + o.amount, 0n);
  const inputTotal = spend.spent.reduce((t, x) => t + (x?.amount ?? 0n), 0n);
  const fee = inputTotal > outputTotal ? inputTotal - outputTotal : 0n;
  return { allKnown: spend.spent.every((x) => x !== null), feeratePerKw: feerateOf(fee, weight) };
}

/** Sequences BOLT #3 allows on inputs without a relative timelock (VLS `NON_ANCHOR_SEQS`). */
export const NON_ANCHOR_SWEEP_SEQUENCES: readonly number[] = [0, 0xfffffffd, 0xffffffff];
/** Sequences of HTLC outputs on anchor channels (`1 OP_CSV`, VLS `ANCHOR_SEQS`). */
export const ANCHOR_SWEEP_SEQUENCES: readonly number[] = [1];

interface SweepInputs {
  ctx: OpContext;
  setup: ChannelSetup;
  spend: SpendTx;
  inputIndex: number;
  /** The witness script spent (for the weight estimate). */
  script: Uint8Array;
  /** Bytes of the witness between the signature and the script (preimage, key, selector). */
  selectorBytes: number;
  htlcKind: string;
  htlcCltvExpiry: number;
  redeemscriptOk: boolean;
  secretKnown: boolean;
  requiredCsv: number;
  sequenceOk: boolean;
  pointNumber: number;
}

function sweepKindFacts(s: SweepInputs): SweepKindFactsT {
  const { tx, spent } = s.spend;
  const wallet = s.ctx.wallet ?? EMPTY_WALLET;
  const outputs = tx.outputs.map((o, i) => destinationFacts(wallet, o, s.spend.outputPaths[i]));
  const outputTotal = tx.outputs.reduce((t, o) => t + o.amount, 0n);
  const allKnown = spent.every((x) => x !== null);
  const inputTotal = spent.reduce((t, x) => t + (x?.amount ?? 0n), 0n);
  // One witness per input: item count, signature with sighash byte (73), selector, script.
  const witness = 1 + 74 + s.selectorBytes + compactSize(s.script.length).length + s.script.length;
  const weight = unsignedWeight(tx) + 2 + witness * tx.inputs.length;
  const fee = sweepFeeFacts(s.spend, weight);
  const sweep: SweepFactsT = {
    version: tx.version,
    input_index: s.inputIndex,
    input_count: tx.inputs.length,
    sequence: tx.inputs[s.inputIndex].sequence,
    locktime: tx.locktime,
    htlc_kind: s.htlcKind,
    htlc_cltv_expiry: s.htlcCltvExpiry,
    redeemscript_ok: s.redeemscriptOk,
    revocation_secret_known: s.secretKnown,
    input_amount_sat: spent[s.inputIndex]?.amount ?? 0n,
    output_total_sat: outputTotal,
    all_input_amounts_known: fee.allKnown,
    feerate_per_kw: fee.feeratePerKw,
    required_csv: s.requiredCsv,
    sequence_ok: s.sequenceOk,
    wallet_lookup_ok: [...s.spend.outputPaths].every(walletPathOk),
    outputs,
  };
  return {
    channel: channelFacts(s.ctx),
    state: stateFacts(s.ctx.state.enforcement),
    chain: chainFacts(s.ctx.chain),
    request: { arithmetic_ok: !allKnown || inputTotal >= outputTotal },
    sweep,
    point: { number: s.pointNumber },
  };
}

function signedAmount(spend: SpendTx, inputIndex: number): bigint {
  const spent = spend.spent[inputIndex];
  if (spent === null) {
    throw new ChannelRequestError("malformed", `the amount of input ${inputIndex} is required`);
  }
  return spent.amount;
}

function spentScriptOk(spend: SpendTx, inputIndex: number, witnessScript: Uint8Array): boolean {
  const script = spend.spent[inputIndex]?.script;
  return !script || script.length === 0 || equal(script, p2wsh(witnessScript));
}

function checkWitnessScript(ws: Uint8Array | undefined): void {
  if (ws !== undefined && (!(ws instanceof Uint8Array) || ws.length === 0 || ws.length > 10_000)) {
    throw new ChannelRequestError("malformed", "witness script must be 1 to 10000 bytes");
  }
}

// ---------------------------------------------------------------------------------------------
// sign_delayed_sweep

/** What every sweep request carries. */
export interface SweepRequest {
  /** The sweep transaction and what the node says about its inputs and outputs. */
  spend: SpendTx;
  /** The input to sign. */
  inputIndex: number;
  /** CLN: the witness script of the output spent. Absent (LDK): the one we expect. */
  witnessScript?: Uint8Array;
}

/** `sign_delayed_sweep`: our to_local of holder commitment `number`. */
export interface DelayedSweepRequest extends SweepRequest {
  /** The holder commitment whose to_local (or our HTLC transaction's output) is swept. */
  number: number;
}

/** Sign a sweep of our delayed output of holder commitment `n` (CLN 12 / 142). */
export function signDelayedSweep(
  ctx: OpContext,
  request: DelayedSweepRequest,
): OpOutcome<SweepKindFactsT, InputSignature> {
  const n = request.number;
  if (!Number.isSafeInteger(n) || n < 0 || n > 281474976710655) {
    throw new ChannelRequestError("malformed", "commitment number must be 48-bit");
  }
  checkSpendTx(request.spend, request.inputIndex);
  checkWitnessScript(request.witnessScript);
  const setup = readySetup(ctx.state);
  const amount = signedAmount(request.spend, request.inputIndex);
  const point = holderPoint(ctx.keys, n);
  const keys = commitmentKeysFor(setup, ctx.keys, { broadcaster: "holder", point });
  const delay = setup.counterpartySelectedContestDelay;
  const expected = toLocalScript({
    revocationKey: keys.revocationKey,
    broadcasterDelayedPaymentKey: keys.broadcasterDelayedPaymentKey,
    toSelfDelay: delay,
  });
  const script = request.witnessScript ?? expected;
  const sequence = request.spend.tx.inputs[request.inputIndex].sequence;
  const facts = sweepKindFacts({
    ctx,
    setup,
    spend: request.spend,
    inputIndex: request.inputIndex,
    script: expected,
    selectorBytes: 1,
    htlcKind: "none",
    htlcCltvExpiry: 0,
    redeemscriptOk: equal(script, expected) &&
      spentScriptOk(request.spend, request.inputIndex, expected),
    secretKnown: true,
    requiredCsv: delay,
    sequenceOk: sequence === delay,
    pointNumber: n,
  });
  return {
    kind: "sign_delayed_sweep",
    facts,
    next: ctx.state,
    release: () =>
      signInput(request.spend.tx, request.inputIndex, {
        scriptCode: expected,
        amount,
        secret: derivePrivateKey(ctx.keys.delayedPaymentBaseSecret.expose(), point),
        sighashType: SIGHASH.ALL,
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// sign_counterparty_htlc_sweep

/** `sign_counterparty_htlc_sweep`: an HTLC output of the counterparty's commitment. */
export interface CounterpartyHtlcSweepRequest extends SweepRequest {
  /** The counterparty's per-commitment point of that commitment. */
  perCommitmentPoint: Uint8Array;
  /** LDK: the HTLC (counterparty's view) instead of the witness script. */
  htlc?: HtlcRequest;
}

/** The HTLC outputs of the counterparty commitments we know with `pointHex`. */
function knownCounterpartyHtlcs(
  ctx: OpContext,
  setup: ChannelSetup,
  pointHex: string,
): { script: Uint8Array; amountSat: bigint; cltvExpiry: number; offered: boolean }[] {
  const e = ctx.state.enforcement;
  return [e.currentCounterparty, e.previousCounterparty].flatMap((info) => {
    if (info === null || info.perCommitmentPoint !== pointHex) return [];
    const rebuilt = rebuildCommitment("counterparty", { setup, keys: ctx.keys, info });
    return rebuilt.outputs.flatMap((o) =>
      o.kind === "htlc" && o.witnessScript && o.htlc
        ? [{
          script: o.witnessScript,
          amountSat: o.amountSat,
          cltvExpiry: o.htlc.cltvExpiry,
          offered: o.htlc.offered,
        }]
        : []
    );
  });
}

/** Sign a claim of an HTLC output of the counterparty's commitment (CLN 13 / 143, LDK). */
export function signCounterpartyHtlcSweep(
  ctx: OpContext,
  request: CounterpartyHtlcSweepRequest,
): OpOutcome<SweepKindFactsT, InputSignature> {
  checkSpendTx(request.spend, request.inputIndex);
  checkPoint(request.perCommitmentPoint, "per-commitment point");
  checkWitnessScript(request.witnessScript);
  if (request.htlc) checkHtlcRequest(request.htlc);
  const given = request.witnessScript ?? request.htlc;
  if (given === undefined) {
    throw new ChannelRequestError("malformed", "a witness script or the HTLC is required");
  }
  const setup = readySetup(ctx.state);
  const amount = signedAmount(request.spend, request.inputIndex);
  const anchors = isAnchors(setup);
  const point = request.perCommitmentPoint;
  const keys = commitmentKeysFor(setup, ctx.keys, { broadcaster: "counterparty", point });
  const script = given instanceof Uint8Array ? given : htlcScriptFor(given, { keys, anchors });
  const decoded = decodeWitnessScript(script);
  const isHtlc = (decoded.kind === "offered_htlc" || decoded.kind === "received_htlc") &&
    decoded.anchors === anchors;
  const htlcKind = !isHtlc ? "invalid" : decoded.kind === "offered_htlc" ? "offered" : "received";
  const match = knownCounterpartyHtlcs(ctx, setup, toHex(point))
    .find((h) => equal(h.script, script));
  const redeemscriptOk = match !== undefined &&
    spentScriptOk(request.spend, request.inputIndex, script);
  const sequence = request.spend.tx.inputs[request.inputIndex].sequence;
  const allowed = anchors ? ANCHOR_SWEEP_SEQUENCES : NON_ANCHOR_SWEEP_SEQUENCES;
  const facts = sweepKindFacts({
    ctx,
    setup,
    spend: request.spend,
    inputIndex: request.inputIndex,
    script,
    // Offered (cp view): we claim with the preimage (32 bytes); received: the timeout path (empty).
    selectorBytes: htlcKind === "offered" ? 33 : 1,
    htlcKind,
    htlcCltvExpiry: htlcKind === "received" && decoded.kind === "received_htlc"
      ? decoded.cltvExpiry
      : 0,
    redeemscriptOk,
    secretKnown: true,
    requiredCsv: 0,
    sequenceOk: allowed.includes(sequence),
    pointNumber: 0,
  });
  return {
    kind: "sign_counterparty_htlc_sweep",
    facts,
    next: ctx.state,
    release: () => {
      if (!match) {
        throw new ChannelRequestError(
          "invariant",
          "the HTLC script is not one of a known commitment",
        );
      }
      return signInput(request.spend.tx, request.inputIndex, {
        scriptCode: match.script,
        amount,
        secret: derivePrivateKey(ctx.keys.htlcBaseSecret.expose(), point),
        sighashType: SIGHASH.ALL,
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// sign_justice_sweep

/**
 * How many of the most recent revoked commitments a justice request without a commitment number
 * searches (each candidate costs one shachain derivation, at most 48 hashes).
 */
export const JUSTICE_SEARCH_LIMIT = 100_000;

/** `sign_justice_sweep`: an output of a revoked counterparty commitment. */
export interface JusticeSweepRequest extends SweepRequest {
  /** The revocation secret the node says the counterparty revealed (CLN; LDK `per_commitment_key`). */
  revocationSecret: Uint8Array;
  /** The revoked commitment's number, when the node knows it (speeds up the lookup). */
  commitmentNumber?: number;
  /** LDK `sign_justice_revoked_htlc`: the revoked HTLC (counterparty's view). */
  htlc?: HtlcRequest;
}

/**
 * Whether `secret` is the counterparty's secret of a commitment below R, found in (or derived
 * from) our compact store, compared in constant time. Returns the commitment number or -1.
 */
export function findRevealedSecret(
  e: Enforcement,
  secret: Uint8Array,
  options: { commitmentNumber?: number; limit?: number } = {},
): number {
  const R = e.nextCounterpartyRevokeNum;
  const limit = options.limit ?? JUSTICE_SEARCH_LIMIT;
  const store = ShachainStore.import(e.counterpartySecrets);
  try {
    const candidates: number[] = [];
    const hint = options.commitmentNumber;
    if (hint !== undefined) {
      if (Number.isSafeInteger(hint) && hint >= 0 && hint < R) candidates.push(hint);
    } else {
      for (let k = R - 1; k >= 0 && R - k <= limit; k--) candidates.push(k);
    }
    for (const k of candidates) {
      const held = store.lookup(commitmentNumberToIndex(k));
      if (!held) continue;
      const same = constantTimeEqual(held, secret);
      zeroize(held);
      if (same) return k;
    }
    return -1;
  } finally {
    store.zeroize();
  }
}

/** Whether `script` is an HTLC script (offered or received) of a commitment with `keys`. */
function isHtlcScriptOf(script: Uint8Array, keys: CommitmentKeys, anchors: boolean): boolean {
  const d = decodeWitnessScript(script);
  if (d.kind !== "offered_htlc" && d.kind !== "received_htlc") return false;
  return d.anchors === anchors && equal(d.revocationHash, hash160(keys.revocationKey)) &&
    equal(d.broadcasterKey, keys.broadcasterHtlcKey) &&
    equal(d.countersignatoryKey, keys.countersignatoryHtlcKey);
}

/** Sign a penalty sweep of a revoked counterparty commitment's output (CLN 14 / 144, LDK). */
export function signJusticeSweep(
  ctx: OpContext,
  request: JusticeSweepRequest,
): OpOutcome<SweepKindFactsT, InputSignature> {
  checkSpendTx(request.spend, request.inputIndex);
  checkWitnessScript(request.witnessScript);
  if (request.htlc) checkHtlcRequest(request.htlc);
  const secret = request.revocationSecret;
  if (!(secret instanceof Uint8Array) || secret.length !== 32 || !isValidSecretKey(secret)) {
    throw new ChannelRequestError("malformed", "revocation secret must be a valid 32-byte secret");
  }
  const setup = readySetup(ctx.state);
  const amount = signedAmount(request.spend, request.inputIndex);
  const anchors = isAnchors(setup);
  const revoked = findRevealedSecret(ctx.state.enforcement, secret, {
    commitmentNumber: request.commitmentNumber,
  });
  const point = publicKey(secret);
  const keys = commitmentKeysFor(setup, ctx.keys, { broadcaster: "counterparty", point });
  const toLocal = toLocalScript({
    revocationKey: keys.revocationKey,
    broadcasterDelayedPaymentKey: keys.broadcasterDelayedPaymentKey,
    toSelfDelay: setup.holderSelectedContestDelay,
  });
  const script = request.witnessScript ??
    (request.htlc ? htlcScriptFor(request.htlc, { keys, anchors }) : toLocal);
  const isToLocal = equal(script, toLocal);
  const recognised = isToLocal || isHtlcScriptOf(script, keys, anchors);
  const redeemscriptOk = recognised && spentScriptOk(request.spend, request.inputIndex, script);
  const sequence = request.spend.tx.inputs[request.inputIndex].sequence;
  const facts = sweepKindFacts({
    ctx,
    setup,
    spend: request.spend,
    inputIndex: request.inputIndex,
    script,
    // to_local: `<sig> 1`; HTLC: `<sig> <revocationpubkey>`.
    selectorBytes: isToLocal ? 2 : 34,
    htlcKind: "none",
    htlcCltvExpiry: 0,
    redeemscriptOk,
    secretKnown: revoked >= 0,
    requiredCsv: 0,
    sequenceOk: NON_ANCHOR_SWEEP_SEQUENCES.includes(sequence),
    pointNumber: 0,
  });
  // The secret is the counterparty's revealed one (verified above), copied so that a later change
  // to the caller's buffer cannot change what is signed.
  const revealed = secret.slice();
  return {
    kind: "sign_justice_sweep",
    facts,
    next: ctx.state,
    release: () => {
      if (revoked < 0 || !recognised) {
        throw new ChannelRequestError(
          "invariant",
          "a justice signature needs a revealed secret and a script of the revoked commitment",
        );
      }
      return signInput(request.spend.tx, request.inputIndex, {
        scriptCode: script,
        amount,
        secret: deriveRevocationPrivateKey(ctx.keys.revocationBaseSecret.expose(), revealed),
        sighashType: SIGHASH.ALL,
      });
    },
  };
}
