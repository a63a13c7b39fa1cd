/**
 * `sign_mutual_close`: our signature on the cooperative closing transaction (BOLT #3, "Closing
 * Transaction"; rules-spec.md §2.J), in two forms:
 * - phase 1 (CLN 21 `sign_mutual_close_tx`): the node's transaction with the wallet derivation
 *   path of each output from its PSBT; the signer tells our output from the peer's (upfront
 *   shutdown script, then wallet or allowlist, then value as VLS does), rebuilds the transaction
 *   from those values and scripts, and compares;
 * - phase 2 (VLS 1021 `SignMutualCloseTx2`, LDK `ClosingTransaction`): the two final values, the
 *   two scripts and a wallet path hint for ours.
 *
 * The transaction is assembled from final values as LDK's `ClosingTransaction::new` does: version
 * 2, locktime 0, one input spending the funding outpoint with sequence 0xFFFFFFFF, an output per
 * non-zero value, BIP-69 order. The signature is always on the rebuild. Once a close is signed the
 * channel is closed.
 *
 * @module
 */
import { compare, equal, fromHex, toHex } from "../../bytes.ts";
import { SIGHASH, stripSignatures, type Tx } from "../../bitcoin/tx.ts";
import type { FundingOutpoint } from "../../bolt3/commitment.ts";
import { fundingScript } from "../../bolt3/scripts.ts";
import type { CommitmentSummaryFactsT, MutualCloseFactsT } from "../facts_onchain.ts";
import type { Enforcement } from "../types.ts";
import {
  channelFacts,
  ChannelRequestError,
  EMPTY_WALLET,
  type OpContext,
  type OpOutcome,
  readySetup,
  stateFacts,
  withEnforcement,
} from "./context.ts";
import {
  checkSpendTx,
  destinationFacts,
  feerateOf,
  firstTxMismatch,
  type InputSignature,
  signInput,
  type SpendTx,
  unsignedWeight,
  walletPathOk,
} from "./sweep.ts";

// ---------------------------------------------------------------------------------------------
// Assembling a closing transaction from final values

/** Options of {@link assembleClosingTx}: the final values, after the fee, 0 for an absent output. */
export interface ClosingAssembly {
  /** The funding outpoint. */
  fundingOutpoint: FundingOutpoint;
  /** Value of the funding output. */
  fundingSatoshis: bigint;
  /** Our funding pubkey. */
  holderFundingPubkey: Uint8Array;
  /** The counterparty's funding pubkey. */
  counterpartyFundingPubkey: Uint8Array;
  /** Our output's value (0: no output). */
  toHolderSat: bigint;
  /** The counterparty's output's value (0: no output). */
  toCounterpartySat: bigint;
  /** Our shutdown script. */
  holderScript: Uint8Array;
  /** The counterparty's shutdown script. */
  counterpartyScript: Uint8Array;
}

/** A closing transaction assembled by {@link assembleClosingTx}. */
export interface AssembledClosing {
  /** The unsigned transaction. */
  tx: Tx;
  /** Whose each output of `tx` is, in the same (BIP-69) order. */
  owners: ("holder" | "counterparty")[];
  /** The funding witness script: the BIP-143 scriptCode of the input. */
  fundingWitnessScript: Uint8Array;
  /** The funding value: the BIP-143 amount of the input. */
  fundingSatoshis: bigint;
}

/**
 * Assemble a closing transaction whose output values are final (BOLT #3, Closing Transaction; the
 * form of LDK's `ClosingTransaction::new` and VLS's phase 2): zero values are left out, the rest
 * sorted by amount then script (BIP-69).
 */
export function assembleClosingTx(options: ClosingAssembly): AssembledClosing {
  const o = options;
  const outputs: { owner: "holder" | "counterparty"; amount: bigint; script: Uint8Array }[] = [];
  if (o.toHolderSat > 0n) {
    outputs.push({ owner: "holder", amount: o.toHolderSat, script: o.holderScript.slice() });
  }
  if (o.toCounterpartySat > 0n) {
    outputs.push({
      owner: "counterparty",
      amount: o.toCounterpartySat,
      script: o.counterpartyScript.slice(),
    });
  }
  outputs.sort((a, b) =>
    a.amount !== b.amount ? (a.amount < b.amount ? -1 : 1) : compare(a.script, b.script)
  );
  return {
    tx: {
      version: 2,
      locktime: 0,
      inputs: [{
        txid: o.fundingOutpoint.txid.slice(),
        vout: o.fundingOutpoint.vout,
        scriptSig: new Uint8Array(),
        sequence: 0xffffffff,
        witness: [],
      }],
      outputs: outputs.map((x) => ({ amount: x.amount, script: x.script })),
    },
    owners: outputs.map((x) => x.owner),
    fundingWitnessScript: fundingScript(o.holderFundingPubkey, o.counterpartyFundingPubkey),
    fundingSatoshis: o.fundingSatoshis,
  };
}

/**
 * Whether `script` is a standard shutdown script (BOLT #2 `shutdown`): P2PKH, P2SH, P2WPKH,
 * P2WSH, a witness program of version 1 to 16 with 2 to 40 bytes (`option_shutdown_anysegwit`),
 * or `OP_RETURN` with one push of 6 to 80 bytes (`option_simple_close`).
 */
export function isStandardShutdownScript(script: Uint8Array): boolean {
  const n = script.length;
  if (n === 25 && script[0] === 0x76 && script[1] === 0xa9 && script[2] === 0x14) {
    return script[23] === 0x88 && script[24] === 0xac;
  }
  if (n === 23 && script[0] === 0xa9 && script[1] === 0x14 && script[22] === 0x87) return true;
  if (script[0] === 0x00 && n >= 2 && script[1] === n - 2) return n === 22 || n === 34;
  if (script[0] >= 0x51 && script[0] <= 0x60 && n >= 4 && n <= 42) return script[1] === n - 2;
  if (script[0] === 0x6a && n >= 2) {
    if (script[1] >= 6 && script[1] <= 75) return script[1] === n - 2;
    if (script[1] === 0x4c && n >= 3) {
      return script[2] >= 76 && script[2] <= 80 && script[2] === n - 3;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// sign_mutual_close

/** Phase 2 values (VLS 1021, LDK `ClosingTransaction`). */
export interface MutualCloseValues {
  /** Our output's value (0 when absent). */
  toHolderSat: bigint;
  /** The counterparty's output's value (0 when absent). */
  toCounterpartySat: bigint;
  /** Our shutdown script. */
  holderScript: Uint8Array;
  /** The counterparty's shutdown script. */
  counterpartyScript: Uint8Array;
  /** The wallet derivation path of our script, when the node gives one ([] when none). */
  holderWalletPath: number[];
}

/** `sign_mutual_close`: either the node's transaction (phase 1) or the values (phase 2). */
export interface MutualCloseRequest {
  /** Phase 1 (CLN 21): the closing transaction and the derivation path of each output. */
  spend?: SpendTx;
  /** Phase 1 (CLN 21): the remote funding key the node uses. */
  remoteFundingPubkey?: Uint8Array;
  /** Phase 2: the final values and scripts. */
  values?: MutualCloseValues;
}

function summary(e: Enforcement, side: "holder" | "counterparty"): CommitmentSummaryFactsT {
  if (side === "holder") {
    const i = e.currentHolder?.info;
    return {
      to_holder_sat: i?.toBroadcasterSat ?? 0n,
      to_counterparty_sat: i?.toCountersignatorySat ?? 0n,
      htlc_count: i?.htlcs.length ?? 0,
    };
  }
  const i = e.currentCounterparty;
  return {
    to_holder_sat: i?.toCountersignatorySat ?? 0n,
    to_counterparty_sat: i?.toBroadcasterSat ?? 0n,
    htlc_count: i?.htlcs.length ?? 0,
  };
}

function checkRequest(r: MutualCloseRequest): void {
  const bad = (m: string) => new ChannelRequestError("malformed", m);
  if ((r.spend === undefined) === (r.values === undefined)) {
    throw bad("a close request carries either the transaction or the values");
  }
  if (r.spend) {
    checkSpendTx(r.spend, 0);
    const k = r.remoteFundingPubkey;
    if (k !== undefined && (!(k instanceof Uint8Array) || k.length !== 33)) {
      throw bad("remote funding key must be 33 bytes");
    }
  }
  if (r.values) {
    const v = r.values;
    for (const x of [v.toHolderSat, v.toCounterpartySat]) {
      if (typeof x !== "bigint" || x < 0n || x > 2_100_000_000_000_000n) {
        throw bad("close output value out of range");
      }
    }
    if (!(v.holderScript instanceof Uint8Array) || !(v.counterpartyScript instanceof Uint8Array)) {
      throw bad("shutdown scripts must be bytes");
    }
    if (
      !Array.isArray(v.holderWalletPath) ||
      v.holderWalletPath.some((c) => !Number.isInteger(c) || c < 0 || c > 0xffffffff)
    ) {
      throw bad("wallet path components must be u32");
    }
  }
}

/** Which output of the node's closing transaction is ours, and how that was decided. */
function assignOutputs(
  tx: Tx,
  o: {
    upfront: Uint8Array;
    ours: boolean[];
    holderValue: bigint;
    counterpartyValue: bigint;
  },
): { holder: number; counterparty: number; assignment: string } {
  const outs = tx.outputs;
  let holder = -1;
  let assignment = "value";
  if (o.upfront.length > 0) {
    holder = outs.findIndex((x) => equal(x.script, o.upfront));
    if (holder >= 0) assignment = "upfront";
  }
  if (holder < 0) {
    const candidates = o.ours.flatMap((ok, i) => (ok ? [i] : []));
    if (candidates.length === 1) {
      holder = candidates[0];
      assignment = "wallet";
    }
  }
  if (holder < 0 && outs.length > 0) {
    // VLS: our output is the larger one when our balance is the larger one.
    const holderLarger = o.holderValue > o.counterpartyValue;
    if (outs.length === 1) holder = holderLarger ? 0 : -1;
    else {
      const byAmount = outs.map((x, i) => ({ i, a: x.amount }))
        .sort((x, y) => (x.a === y.a ? x.i - y.i : x.a < y.a ? -1 : 1));
      holder = holderLarger ? byAmount[byAmount.length - 1].i : byAmount[0].i;
    }
  }
  const counterparty = outs.findIndex((_, i) => i !== holder);
  return { holder, counterparty, assignment };
}

/** Sign a cooperative close (CLN 21 phase 1; VLS 1021 / LDK phase 2). */
export function signMutualClose(
  ctx: OpContext,
  request: MutualCloseRequest,
): OpOutcome<MutualCloseFactsT, InputSignature> {
  checkRequest(request);
  const setup = readySetup(ctx.state);
  const e = ctx.state.enforcement;
  const wallet = ctx.wallet ?? EMPTY_WALLET;
  const currentHolder = summary(e, "holder");
  const currentCounterparty = summary(e, "counterparty");
  const upfront = fromHex(setup.holderShutdownScript);
  const cpFunding = fromHex(setup.counterparty.fundingPubkey);
  let toHolder: bigint;
  let toCounterparty: bigint;
  let holderScript: Uint8Array;
  let counterpartyScript: Uint8Array;
  let holderPath: number[];
  let assignment: string;
  let paths: number[][];
  if (request.spend) {
    const { tx } = request.spend;
    paths = request.spend.outputPaths;
    const ours = tx.outputs.map((x, i) => {
      const d = destinationFacts(wallet, x, paths[i]);
      return d.in_wallet || d.allowlisted;
    });
    const a = assignOutputs(tx, {
      upfront,
      ours,
      holderValue: currentHolder.to_holder_sat,
      counterpartyValue: currentHolder.to_counterparty_sat,
    });
    toHolder = a.holder >= 0 ? tx.outputs[a.holder].amount : 0n;
    toCounterparty = a.counterparty >= 0 ? tx.outputs[a.counterparty].amount : 0n;
    holderScript = a.holder >= 0 ? tx.outputs[a.holder].script : new Uint8Array();
    counterpartyScript = a.counterparty >= 0 ? tx.outputs[a.counterparty].script : new Uint8Array();
    holderPath = a.holder >= 0 ? paths[a.holder] : [];
    assignment = a.assignment;
  } else {
    const v = request.values as MutualCloseValues;
    toHolder = v.toHolderSat;
    toCounterparty = v.toCounterpartySat;
    holderScript = v.holderScript;
    counterpartyScript = v.counterpartyScript;
    holderPath = v.holderWalletPath;
    paths = [holderPath];
    assignment = "given";
  }
  // Our upfront script's wallet index comes from the setup when the node names no path.
  const index = setup.holderShutdownWalletIndex;
  if (
    holderPath.length === 0 && index !== null && upfront.length > 0 && equal(holderScript, upfront)
  ) {
    holderPath = [index];
  }
  const rebuilt = assembleClosingTx({
    fundingOutpoint: {
      txid: fromHex(setup.fundingOutpoint.txid),
      vout: setup.fundingOutpoint.vout,
    },
    fundingSatoshis: setup.channelValueSat,
    holderFundingPubkey: ctx.keys.fundingPubkey,
    counterpartyFundingPubkey: cpFunding,
    toHolderSat: toHolder,
    toCounterpartySat: toCounterparty,
    holderScript,
    counterpartyScript,
  });
  let mismatch = "";
  if (request.spend) {
    const key = request.remoteFundingPubkey;
    mismatch = key && !equal(key, cpFunding)
      ? "remote funding key"
      : firstTxMismatch(request.spend.tx, rebuilt.tx);
  }
  const tx = request.spend ? stripSignatures(request.spend.tx) : rebuilt.tx;
  const outputsSum = tx.outputs.reduce((s, x) => s + x.amount, 0n);
  const arithmeticOk = outputsSum <= setup.channelValueSat;
  const fee = arithmeticOk ? setup.channelValueSat - outputsSum : 0n;
  const holderDest = destinationFacts(
    wallet,
    { script: holderScript, amount: toHolder },
    holderPath,
  );
  const holderPresent = toHolder > 0n;
  const counterpartyPresent = toCounterparty > 0n;
  const holderOutput = {
    present: holderPresent,
    script: holderPresent ? toHex(holderScript) : "",
    in_wallet: holderPresent && holderDest.in_wallet,
    allowlisted: holderPresent && holderDest.allowlisted,
  };
  const counterpartyOutput = {
    present: counterpartyPresent,
    script: counterpartyPresent ? toHex(counterpartyScript) : "",
    script_standard: counterpartyPresent && isStandardShutdownScript(counterpartyScript),
  };
  const matches = mismatch === "";
  const destinationOk = (!holderPresent || holderOutput.present) &&
    (!counterpartyPresent || counterpartyOutput.present) &&
    (!(upfront.length > 0 && holderPresent) || equal(holderScript, upfront)) &&
    (!holderOutput.present || holderOutput.in_wallet || holderOutput.allowlisted);
  const facts: MutualCloseFactsT = {
    channel: channelFacts(ctx),
    state: stateFacts(e),
    request: { arithmetic_ok: arithmeticOk },
    close: {
      phase: request.spend ? 1 : 2,
      output_count: tx.outputs.length,
      to_holder_sat: toHolder,
      to_counterparty_sat: toCounterparty,
      fee_sat: fee,
      feerate_per_kw: feerateOf(fee, unsignedWeight(tx) + 222),
      holder_output: holderOutput,
      counterparty_output: counterpartyOutput,
      assignment,
      holder_shutdown_script: setup.holderShutdownScript,
      matches_rebuild: matches,
      first_mismatch: mismatch,
      wallet_lookup_ok: paths.every(walletPathOk),
    },
    current_holder_commitment: currentHolder,
    current_counterparty_commitment: currentCounterparty,
    destination: { ok: destinationOk },
  };
  const closes = matches && arithmeticOk;
  return {
    kind: "sign_mutual_close",
    facts,
    next: closes ? withEnforcement(ctx.state, { closed: true }) : ctx.state,
    release: () =>
      signInput(rebuilt.tx, 0, {
        scriptCode: rebuilt.fundingWitnessScript,
        amount: rebuilt.fundingSatoshis,
        secret: ctx.keys.fundingSecret.expose().slice(),
        sighashType: SIGHASH.ALL,
      }),
  };
}
