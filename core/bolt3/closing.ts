/**
 * The cooperative closing transaction (BOLT #3, "Closing Transaction"): version 2, locktime 0, one
 * input spending the funding output with sequence 0xFFFFFFFF, up to two outputs to the scripts
 * given in `shutdown`, each rounded down to whole satoshi, the fee taken from the opener's output,
 * outputs below the signer's dust limit removed, BIP-69 order.
 *
 * "local" is the side building (and signing) this variant; "remote" the other.
 *
 * @module
 */
import { compare } from "../bytes.ts";
import type { Tx } from "../bitcoin/tx.ts";
import type { FundingOutpoint } from "./commitment.ts";
import { fundingScript } from "./scripts.ts";

/** The closing parameters are inconsistent. */
export class ClosingError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "ClosingError";
  }
}

/** Options of {@link buildClosingTx}. */
export interface ClosingTxOptions {
  /** The funding outpoint. */
  fundingOutpoint: FundingOutpoint;
  /** Value of the funding output. */
  fundingSatoshis: bigint;
  /** Our `funding_pubkey`. */
  localFundingPubkey: Uint8Array;
  /** The other side's `funding_pubkey`. */
  remoteFundingPubkey: Uint8Array;
  /** Our final balance in msat. */
  toLocalMsat: bigint;
  /** The other side's final balance in msat. */
  toRemoteMsat: bigint;
  /** Our `scriptpubkey` from `shutdown`. */
  localScriptPubKey: Uint8Array;
  /** The other side's `scriptpubkey` from `shutdown`. */
  remoteScriptPubKey: Uint8Array;
  /** `fee_satoshis` from `closing_signed`, paid by the opener. */
  feeSatoshis: bigint;
  /** Whether we opened (funded) the channel and so pay the fee. */
  localIsOpener: boolean;
  /** Our `dust_limit_satoshis`: outputs below it are removed. */
  dustLimitSatoshis: bigint;
  /** Leave out our own output (allowed by the spec). Default false. */
  omitLocalOutput?: boolean;
}

/** One output of a closing transaction. */
export interface ClosingOutput {
  /** Whose output it is. */
  kind: "to_local" | "to_remote";
  /** Value in satoshi. */
  amountSat: bigint;
  /** The scriptPubKey. */
  scriptPubKey: Uint8Array;
}

/** A built closing transaction and the facts about it. */
export interface ClosingTransaction {
  /** The unsigned transaction. */
  tx: Tx;
  /** One entry per `tx` output, in the same (BIP-69) order. */
  outputs: ClosingOutput[];
  /** Outputs left out, as dust or by choice. */
  omitted: ("to_local" | "to_remote")[];
  /** Value of `to_local` after the fee (whether or not it is in the transaction). */
  toLocalSat: bigint;
  /** Value of `to_remote` after the fee (whether or not it is in the transaction). */
  toRemoteSat: bigint;
  /** The actual fee: funding value minus the outputs (includes dust left out). */
  feeSatoshis: bigint;
  /** The funding witness script: the BIP-143 scriptCode for signing the input. */
  fundingWitnessScript: Uint8Array;
  /** The funding value: the BIP-143 amount for signing the input. */
  fundingSatoshis: bigint;
}

function needAmount(n: bigint, what: string): void {
  if (typeof n !== "bigint" || n < 0n) throw new ClosingError(`${what} must be a bigint >= 0`);
}

/**
 * Build a closing transaction (BOLT #3, Closing Transaction). Throws {@link ClosingError} when the
 * balances exceed the funding amount or the opener cannot pay `fee_satoshis`.
 */
export function buildClosingTx(options: ClosingTxOptions): ClosingTransaction {
  const o = options;
  if (!(o.fundingOutpoint?.txid instanceof Uint8Array) || o.fundingOutpoint.txid.length !== 32) {
    throw new ClosingError("funding txid must be 32 bytes");
  }
  const vout = o.fundingOutpoint.vout;
  if (!Number.isInteger(vout) || vout < 0 || vout > 0xffffffff) {
    throw new ClosingError("funding output index out of range");
  }
  needAmount(o.fundingSatoshis, "funding amount");
  needAmount(o.toLocalMsat, "local balance");
  needAmount(o.toRemoteMsat, "remote balance");
  needAmount(o.feeSatoshis, "fee");
  needAmount(o.dustLimitSatoshis, "dust limit");
  if (
    !(o.localScriptPubKey instanceof Uint8Array) || !(o.remoteScriptPubKey instanceof Uint8Array)
  ) {
    throw new ClosingError("shutdown scripts must be bytes");
  }
  if (o.toLocalMsat + o.toRemoteMsat > o.fundingSatoshis * 1000n) {
    throw new ClosingError("balances exceed the funding amount");
  }
  let toLocal = o.toLocalMsat / 1000n;
  let toRemote = o.toRemoteMsat / 1000n;
  if (o.localIsOpener) {
    if (toLocal < o.feeSatoshis) throw new ClosingError("the opener cannot pay the closing fee");
    toLocal -= o.feeSatoshis;
  } else {
    if (toRemote < o.feeSatoshis) throw new ClosingError("the opener cannot pay the closing fee");
    toRemote -= o.feeSatoshis;
  }
  const outputs: ClosingOutput[] = [];
  const omitted: ("to_local" | "to_remote")[] = [];
  if (!o.omitLocalOutput && toLocal > 0n && toLocal >= o.dustLimitSatoshis) {
    outputs.push({
      kind: "to_local",
      amountSat: toLocal,
      scriptPubKey: o.localScriptPubKey.slice(),
    });
  } else omitted.push("to_local");
  if (toRemote > 0n && toRemote >= o.dustLimitSatoshis) {
    outputs.push({
      kind: "to_remote",
      amountSat: toRemote,
      scriptPubKey: o.remoteScriptPubKey.slice(),
    });
  } else omitted.push("to_remote");
  outputs.sort((a, b) =>
    a.amountSat !== b.amountSat
      ? (a.amountSat < b.amountSat ? -1 : 1)
      : compare(a.scriptPubKey, b.scriptPubKey)
  );
  const sum = outputs.reduce((s, x) => s + x.amountSat, 0n);
  return {
    tx: {
      version: 2,
      locktime: 0,
      inputs: [{
        txid: o.fundingOutpoint.txid.slice(),
        vout,
        scriptSig: new Uint8Array(),
        sequence: 0xffffffff,
        witness: [],
      }],
      outputs: outputs.map((x) => ({ amount: x.amountSat, script: x.scriptPubKey })),
    },
    outputs,
    omitted,
    toLocalSat: toLocal,
    toRemoteSat: toRemote,
    feeSatoshis: o.fundingSatoshis - sum,
    fundingWitnessScript: fundingScript(o.localFundingPubkey, o.remoteFundingPubkey),
    fundingSatoshis: o.fundingSatoshis,
  };
}
