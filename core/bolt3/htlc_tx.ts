/**
 * Second-stage HTLC transactions (BOLT #3, "HTLC-Timeout and HTLC-Success Transactions"): the
 * HTLC-timeout transaction for an HTLC the broadcaster offered, the HTLC-success transaction for
 * one it received, and the witness that completes them.
 *
 * Without anchors they pay `feerate * 663 / 1000` (timeout) or `feerate * 703 / 1000` (success)
 * and use sequence 0; with `option_anchors` (zero-fee HTLC transactions) they pay no fee, use
 * sequence 1, and the countersignatory signs with SIGHASH_SINGLE|SIGHASH_ANYONECANPAY.
 *
 * @module
 */
import { p2wsh } from "../bitcoin/script.ts";
import { SIGHASH, type Tx, txid } from "../bitcoin/tx.ts";
import type { CommitmentHtlc, CommitmentTransaction } from "./commitment.ts";
import { htlcSuccessFee, htlcTimeoutFee } from "./commitment.ts";
import { toLocalScript } from "./scripts.ts";

/** An HTLC transaction cannot be built or completed from the values given. */
export class HtlcTxError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "HtlcTxError";
  }
}

/** Which second-stage transaction. */
export type HtlcTxKind = "htlc-timeout" | "htlc-success";

/** Options of {@link buildHtlcTx}. */
export interface HtlcTxOptions {
  /** Txid of the commitment transaction, 32 bytes in internal byte order. */
  commitmentTxid: Uint8Array;
  /** Index of the HTLC output in the commitment transaction. */
  outputIndex: number;
  /** The HTLC, from the broadcaster's view (offered gives HTLC-timeout, received HTLC-success). */
  htlc: Pick<CommitmentHtlc, "offered" | "amountMsat" | "cltvExpiry">;
  /** `feerate_per_kw` of the commitment. */
  feeratePerKw: number;
  /** `to_self_delay` imposed on the broadcaster. */
  toSelfDelay: number;
  /** `revocationpubkey` of the commitment. */
  revocationKey: Uint8Array;
  /** `local_delayedpubkey`: the broadcaster's delayed payment key of the commitment. */
  broadcasterDelayedPaymentKey: Uint8Array;
  /** Whether `option_anchors` (zero-fee HTLC transactions) applies. */
  anchors: boolean;
}

/** A built (unsigned) HTLC transaction and the facts about it. */
export interface HtlcTransaction {
  /** The unsigned transaction. */
  tx: Tx;
  /** HTLC-timeout or HTLC-success. */
  kind: HtlcTxKind;
  /** Value of the commitment HTLC output spent (the BIP-143 amount for signing). */
  inputAmountSat: bigint;
  /** Fee paid (0 with zero-fee anchors). */
  feeSatoshis: bigint;
  /** Value of the single output. */
  outputAmountSat: bigint;
  /** The output's witness script (to_local form with the broadcaster's delayed key). */
  outputWitnessScript: Uint8Array;
  /** The output's scriptPubKey. */
  outputScriptPubKey: Uint8Array;
}

/**
 * Build an HTLC-timeout (offered HTLC) or HTLC-success (received HTLC) transaction (BOLT #3,
 * HTLC-Timeout and HTLC-Success Transactions): version 2; locktime `cltv_expiry` for timeout, 0
 * for success; one input spending the commitment's HTLC output with sequence 0 (1 with anchors);
 * one output of the HTLC amount minus the fee to the to_local-style script.
 */
export function buildHtlcTx(options: HtlcTxOptions): HtlcTransaction {
  const { htlc, anchors } = options;
  if (!(options.commitmentTxid instanceof Uint8Array) || options.commitmentTxid.length !== 32) {
    throw new HtlcTxError("commitment txid must be 32 bytes");
  }
  if (!Number.isInteger(options.outputIndex) || options.outputIndex < 0) {
    throw new HtlcTxError("output index must be a non-negative integer");
  }
  if (typeof htlc.amountMsat !== "bigint" || htlc.amountMsat < 0n) {
    throw new HtlcTxError("HTLC amount must be a bigint >= 0");
  }
  if (!Number.isInteger(htlc.cltvExpiry) || htlc.cltvExpiry < 0 || htlc.cltvExpiry > 0x7fffffff) {
    throw new HtlcTxError("cltv_expiry out of range");
  }
  const kind: HtlcTxKind = htlc.offered ? "htlc-timeout" : "htlc-success";
  const fee = htlc.offered
    ? htlcTimeoutFee(options.feeratePerKw, { anchors })
    : htlcSuccessFee(options.feeratePerKw, { anchors });
  const inputAmountSat = htlc.amountMsat / 1000n;
  if (inputAmountSat < fee) throw new HtlcTxError("HTLC amount is below its transaction fee");
  const outputWitnessScript = toLocalScript({
    revocationKey: options.revocationKey,
    broadcasterDelayedPaymentKey: options.broadcasterDelayedPaymentKey,
    toSelfDelay: options.toSelfDelay,
  });
  const outputScriptPubKey = p2wsh(outputWitnessScript);
  const outputAmountSat = inputAmountSat - fee;
  return {
    tx: {
      version: 2,
      locktime: htlc.offered ? htlc.cltvExpiry : 0,
      inputs: [{
        txid: options.commitmentTxid.slice(),
        vout: options.outputIndex,
        scriptSig: new Uint8Array(),
        sequence: anchors ? 1 : 0,
        witness: [],
      }],
      outputs: [{ amount: outputAmountSat, script: outputScriptPubKey }],
    },
    kind,
    inputAmountSat,
    feeSatoshis: fee,
    outputAmountSat,
    outputWitnessScript,
    outputScriptPubKey,
  };
}

/** An HTLC transaction of a commitment, with the commitment output it spends. */
export interface CommitmentHtlcTransaction extends HtlcTransaction {
  /** The commitment output index spent. */
  commitmentOutputIndex: number;
  /** Index into the commitment's `htlcs` option. */
  htlcIndex: number;
  /** The HTLC output's witness script: the BIP-143 scriptCode for signing the input. */
  htlcWitnessScript: Uint8Array;
}

/**
 * Every HTLC transaction of a built commitment, one per untrimmed HTLC output, in commitment
 * output order (the order of `htlc_signatures` in `commitment_signed`, BOLT #2).
 */
export function buildHtlcTxs(
  commitment: Pick<
    CommitmentTransaction,
    "tx" | "outputs" | "feeratePerKw" | "toSelfDelay" | "keys" | "anchors"
  >,
): CommitmentHtlcTransaction[] {
  const commitmentTxid = txid(commitment.tx);
  const out: CommitmentHtlcTransaction[] = [];
  commitment.outputs.forEach((o, i) => {
    if (o.kind !== "htlc" || !o.htlc || o.htlcIndex === undefined || !o.witnessScript) return;
    const built = buildHtlcTx({
      commitmentTxid,
      outputIndex: i,
      htlc: o.htlc,
      feeratePerKw: commitment.feeratePerKw,
      toSelfDelay: commitment.toSelfDelay,
      revocationKey: commitment.keys.revocationKey,
      broadcasterDelayedPaymentKey: commitment.keys.broadcasterDelayedPaymentKey,
      anchors: commitment.anchors,
    });
    out.push({
      ...built,
      commitmentOutputIndex: i,
      htlcIndex: o.htlcIndex,
      htlcWitnessScript: o.witnessScript,
    });
  });
  return out;
}

/**
 * The sighash type of the countersignatory's HTLC signature: SIGHASH_ALL, or
 * SIGHASH_SINGLE|SIGHASH_ANYONECANPAY (0x83) with anchors (BOLT #3, HTLC-Timeout and HTLC-Success
 * Transactions). The broadcaster always signs with SIGHASH_ALL.
 */
export function countersignatoryHtlcSighashType(options: { anchors: boolean }): number {
  return options.anchors ? SIGHASH.SINGLE_ANYONECANPAY : SIGHASH.ALL;
}

/** Options of {@link htlcTxWitness}. */
export interface HtlcTxWitnessOptions {
  /** HTLC-timeout or HTLC-success. */
  kind: HtlcTxKind;
  /** The countersignatory's signature, DER + sighash byte (`remotehtlcsig`). */
  countersignatorySignature: Uint8Array;
  /** The broadcaster's signature, DER + sighash byte (`localhtlcsig`). */
  broadcasterSignature: Uint8Array;
  /** The 32-byte payment preimage (HTLC-success only). */
  paymentPreimage?: Uint8Array;
  /** The commitment HTLC output's witness script. */
  htlcWitnessScript: Uint8Array;
}

/**
 * The input witness of an HTLC transaction (BOLT #3, HTLC-Timeout and HTLC-Success Transactions):
 * `0 <remotehtlcsig> <localhtlcsig> <payment_preimage>` for HTLC-success,
 * `0 <remotehtlcsig> <localhtlcsig> 0` for HTLC-timeout, then the witness script.
 */
export function htlcTxWitness(options: HtlcTxWitnessOptions): Uint8Array[] {
  let last: Uint8Array;
  if (options.kind === "htlc-success") {
    if (!(options.paymentPreimage instanceof Uint8Array) || options.paymentPreimage.length !== 32) {
      throw new HtlcTxError("an HTLC-success witness needs the 32-byte payment preimage");
    }
    last = options.paymentPreimage.slice();
  } else {
    if (options.paymentPreimage !== undefined) {
      throw new HtlcTxError("an HTLC-timeout witness takes no preimage");
    }
    last = new Uint8Array();
  }
  return [
    new Uint8Array(),
    options.countersignatorySignature.slice(),
    options.broadcasterSignature.slice(),
    last,
    options.htlcWitnessScript.slice(),
  ];
}
