/**
 * Builders for `sign_onchain` requests through the signer (CLN 7 `sign_withdrawal`): wallet coins
 * in a previous transaction, a PSBT spending them (with or without the previous transaction, which
 * vouches for the amounts), outputs with the BIP-32 path the node gives for change, and a channel
 * funding transaction whose outpoint a rig's channel then uses (`RigOptions.fundingOutpoint`).
 */
import { toHex } from "../../../core/bytes.ts";
import { createPsbt, type Psbt } from "../../../core/bitcoin/psbt.ts";
import { type Tx, txid, type TxOutput } from "../../../core/bitcoin/tx.ts";
import type { Utxo } from "../../../core/protocol/mod.ts";
import type { SignOnchainRequest } from "../../../core/node/onchain.ts";
import { channelFundingScript, makeTx, US_NODE, walletScript } from "./_rules_fixture.ts";

/** A previous transaction paying `outputs` (its own input made up from `tag`). */
export function prevTx(outputs: TxOutput[], tag: number): Tx {
  return makeTx([{ txid: new Uint8Array(32).fill(tag), vout: 0 }], outputs);
}

/** An input of {@link buildPsbt}. */
export interface In {
  /** The transaction whose output is spent. */
  prev: Tx;
  /** Which output. */
  vout: number;
  /** Put the previous transaction in the PSBT, vouching for the amount (default true). */
  nonWitness?: boolean;
}

/** An output of {@link buildPsbt}. */
export interface Out extends TxOutput {
  /** The BIP-32 path the node gives for the output (our change). */
  path?: number[];
}

/** A PSBT spending `ins` to `outs`, with the UTXO records and output paths a node sends. */
export function buildPsbt(ins: In[], outs: Out[], options: { version?: number } = {}): Psbt {
  const tx = makeTx(
    ins.map((i) => ({ txid: txid(i.prev), vout: i.vout, sequence: 0xfffffffd })),
    outs,
  );
  if (options.version !== undefined) tx.version = options.version;
  const psbt = createPsbt(tx);
  ins.forEach((i, n) => {
    if (i.nonWitness !== false) psbt.inputs[n].nonWitnessUtxo = i.prev;
    psbt.inputs[n].witnessUtxo = i.prev.outputs[i.vout];
  });
  outs.forEach((o, n) => {
    if (!o.path) return;
    const pubkey = US_NODE.walletPubkey(o.path[0] & 0x7fffffff);
    psbt.outputs[n].bip32Derivation = [{ pubkey, fingerprint: 0x12345678, path: o.path }];
  });
  return psbt;
}

/** The node's description of our wallet coin `prev:vout` at key `keyindex`. */
export function utxoOf(prev: Tx, vout: number, keyindex: number): Utxo {
  return {
    txid: txid(prev),
    outnum: vout,
    amount_sat: prev.outputs[vout].amount,
    keyindex,
    is_p2sh: false,
    script_pubkey: prev.outputs[vout].script,
    close_info: null,
    is_in_coinbase: false,
  };
}

/** Wallet coins: 2M sat at keys 3 and 5, 500k at key 7 (made up from `tag`). */
export function walletCoins(tag: number): Tx {
  return prevTx([
    { amount: 2_000_000n, script: walletScript(3) },
    { amount: 2_000_000n, script: walletScript(5) },
    { amount: 500_000n, script: walletScript(7) },
  ], tag);
}

/** A withdrawal request spending wallet coins `vouts` of `coins` (keys 3, 5, 7) to `outs`. */
export function withdrawal(
  coins: Tx,
  outs: Out[],
  options: { vouts?: number[]; nonWitness?: boolean; version?: number } = {},
): SignOnchainRequest {
  const vouts = options.vouts ?? [0];
  const keys = [3, 5, 7];
  return {
    utxos: vouts.map((v) => utxoOf(coins, v, keys[v])),
    psbt: buildPsbt(
      vouts.map((v) => ({ prev: coins, vout: v, nonWitness: options.nonWitness })),
      outs,
      { version: options.version },
    ),
    purpose: "withdrawal",
  };
}

/**
 * A funding transaction of the channel with CLN dbid `dbid`: coin 0 of `coins` (2M sat, key 3)
 * pays `valueSat` (default 1M) to the channel's 2-of-2 (or to `fundingScript`) and the rest less
 * a 1000-sat fee to our change at key 20. Returns the request and the funding outpoint for the
 * rig's setup.
 */
export function fundingTx(
  coins: Tx,
  options: {
    dbid: bigint;
    peerId?: Uint8Array;
    valueSat?: bigint;
    outputSat?: bigint;
    fundingScript?: Uint8Array;
    extra?: Out[];
    inputs?: In[];
    utxos?: Utxo[];
  },
): { request: SignOnchainRequest; fundingOutpoint: { txid: string; vout: number } } {
  const value = options.outputSat ?? options.valueSat ?? 1_000_000n;
  const outs: Out[] = [
    { amount: value, script: options.fundingScript ?? channelFundingScript(options) },
    { amount: 2_000_000n - value - 1000n, script: walletScript(20), path: [20] },
    ...(options.extra ?? []),
  ];
  const psbt = buildPsbt([{ prev: coins, vout: 0 }, ...(options.inputs ?? [])], outs);
  return {
    request: {
      utxos: [utxoOf(coins, 0, 3), ...(options.utxos ?? [])],
      psbt,
      purpose: "withdrawal",
    },
    fundingOutpoint: { txid: toHex(txid(psbt.tx)), vout: 0 },
  };
}
