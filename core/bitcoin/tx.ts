/**
 * Bitcoin transactions: the data model, the exact consensus codec (on @scure/btc-signer's
 * `RawTx`), txids, weight, and the two signature hashes the signer needs (BIP-143 for segwit v0,
 * and the legacy one for P2PKH inputs).
 *
 * Txids are kept in internal byte order (as inside a serialised transaction); {@link txidHex}
 * gives the usual reversed display form.
 *
 * @module
 */
import { RawTx } from "@scure/btc-signer";
import { concat, reverse, toHex, u32le, u64le } from "../bytes.ts";
import { sha256d } from "../crypto/mod.ts";

/** A malformed transaction. The message names the problem, never key material. */
export class TxError extends Error {
  /**
   * Creates the error.
   * @param message what is wrong with the transaction
   */
  constructor(message: string) {
    super(message);
    this.name = "TxError";
  }
}

/** A transaction input. */
export interface TxInput {
  /** Previous txid, 32 bytes in internal byte order. */
  txid: Uint8Array;
  /** Previous output index. */
  vout: number;
  /** scriptSig (empty for native segwit). */
  scriptSig: Uint8Array;
  /** nSequence. */
  sequence: number;
  /** Witness stack items (empty when unsigned or not segwit). */
  witness: Uint8Array[];
}

/** A transaction output. */
export interface TxOutput {
  /** Value in satoshi. */
  amount: bigint;
  /** scriptPubKey. */
  script: Uint8Array;
}

/** A transaction. */
export interface Tx {
  /** nVersion. */
  version: number;
  /** Inputs in order. */
  inputs: TxInput[];
  /** Outputs in order. */
  outputs: TxOutput[];
  /** nLockTime. */
  locktime: number;
}

/** Sighash type flags. */
export const SIGHASH = {
  ALL: 0x01,
  NONE: 0x02,
  SINGLE: 0x03,
  ANYONECANPAY: 0x80,
  /** SIGHASH_SINGLE | SIGHASH_ANYONECANPAY, used by anchor-channel HTLC signatures. */
  SINGLE_ANYONECANPAY: 0x83,
} as const;

function hasWitness(tx: Tx): boolean {
  return tx.inputs.some((i) => i.witness.length > 0);
}

/** Consensus serialisation; with witnesses (BIP-144) unless `options.witness` is false. */
export function encodeTx(tx: Tx, options: { witness?: boolean } = {}): Uint8Array {
  const segwit = (options.witness ?? true) && hasWitness(tx);
  try {
    return RawTx.encode({
      version: tx.version,
      segwitFlag: segwit,
      inputs: tx.inputs.map((i) => ({
        txid: reverse(i.txid),
        index: i.vout,
        finalScriptSig: i.scriptSig,
        sequence: i.sequence,
      })),
      outputs: tx.outputs.map((o) => ({ amount: o.amount, script: o.script })),
      witnesses: segwit ? tx.inputs.map((i) => i.witness) : undefined,
      lockTime: tx.locktime,
    });
  } catch (e) {
    throw new TxError(`cannot encode transaction: ${(e as Error).message}`);
  }
}

/** Parse a consensus-serialised transaction; trailing bytes and bad encodings are errors. */
export function decodeTx(bytes: Uint8Array): Tx {
  let raw;
  try {
    raw = RawTx.decode(bytes);
  } catch (e) {
    throw new TxError(`malformed transaction: ${(e as Error).message}`);
  }
  return {
    version: raw.version,
    inputs: raw.inputs.map((i, n) => ({
      txid: reverse(i.txid),
      vout: i.index,
      scriptSig: i.finalScriptSig,
      sequence: i.sequence,
      witness: raw.witnesses?.[n] ?? [],
    })),
    outputs: raw.outputs.map((o) => ({ amount: o.amount, script: o.script })),
    locktime: raw.lockTime,
  };
}

/** The txid (double SHA-256 of the non-witness serialisation), internal byte order. */
export function txid(tx: Tx): Uint8Array {
  return sha256d(encodeTx(tx, { witness: false }));
}

/** The txid in display (RPC) order, as hex. */
export function txidHex(tx: Tx): string {
  return toHex(reverse(txid(tx)));
}

/** Weight units: 3 * base size + total size (BIP-141). */
export function weight(tx: Tx): number {
  const base = encodeTx(tx, { witness: false }).length;
  const total = encodeTx(tx).length;
  return base * 3 + total;
}

/** A deep copy with every scriptSig and witness removed (the form that gets signed). */
export function stripSignatures(tx: Tx): Tx {
  return {
    version: tx.version,
    locktime: tx.locktime,
    inputs: tx.inputs.map((i) => ({ ...i, scriptSig: new Uint8Array(), witness: [] })),
    outputs: tx.outputs.map((o) => ({ ...o })),
  };
}

function varBytes(b: Uint8Array): Uint8Array {
  return concat(compactSize(b.length), b);
}

/** Bitcoin CompactSize encoding of `n`. */
export function compactSize(n: number): Uint8Array {
  if (n < 0xfd) return Uint8Array.of(n);
  if (n <= 0xffff) return Uint8Array.of(0xfd, n & 0xff, n >>> 8);
  if (n <= 0xffffffff) return concat(Uint8Array.of(0xfe), u32le(n));
  return concat(Uint8Array.of(0xff), u64le(BigInt(n)));
}

function outpoint(i: TxInput): Uint8Array {
  return concat(i.txid, u32le(i.vout));
}

/**
 * BIP-143 signature hash for input `index` of a segwit v0 transaction. `scriptCode` is the witness
 * script for P2WSH, or the P2PKH-style script for P2WPKH; `amount` is the value of the output spent.
 */
export function sighashSegwitV0(
  tx: Tx,
  index: number,
  options: { scriptCode: Uint8Array; amount: bigint; sighashType?: number },
): Uint8Array {
  const type = options.sighashType ?? SIGHASH.ALL;
  const input = tx.inputs[index];
  if (!input) throw new TxError(`input ${index} does not exist`);
  const anyoneCanPay = (type & SIGHASH.ANYONECANPAY) !== 0;
  const base = type & 0x1f;
  const zero = new Uint8Array(32);
  const hashPrevouts = anyoneCanPay ? zero : sha256d(concat(...tx.inputs.map(outpoint)));
  const hashSequence = anyoneCanPay || base === SIGHASH.SINGLE || base === SIGHASH.NONE
    ? zero
    : sha256d(concat(...tx.inputs.map((i) => u32le(i.sequence))));
  let hashOutputs: Uint8Array = zero;
  if (base !== SIGHASH.SINGLE && base !== SIGHASH.NONE) {
    hashOutputs = sha256d(
      concat(...tx.outputs.map((o) => concat(u64le(o.amount), varBytes(o.script)))),
    );
  } else if (base === SIGHASH.SINGLE && index < tx.outputs.length) {
    const o = tx.outputs[index];
    hashOutputs = sha256d(concat(u64le(o.amount), varBytes(o.script)));
  }
  const preimage = concat(
    u32le(tx.version >>> 0),
    hashPrevouts,
    hashSequence,
    outpoint(input),
    varBytes(options.scriptCode),
    u64le(options.amount),
    u32le(input.sequence),
    hashOutputs,
    u32le(tx.locktime),
    u32le(type),
  );
  return sha256d(preimage);
}

/**
 * Legacy (pre-segwit) signature hash for SIGHASH_ALL, for P2PKH inputs. Only SIGHASH_ALL is
 * supported: the signer never produces anything else on legacy inputs.
 */
export function sighashLegacy(tx: Tx, index: number, scriptCode: Uint8Array): Uint8Array {
  if (!tx.inputs[index]) throw new TxError(`input ${index} does not exist`);
  const copy = stripSignatures(tx);
  copy.inputs.forEach((i, n) => i.scriptSig = n === index ? scriptCode : new Uint8Array());
  return sha256d(concat(encodeTx(copy, { witness: false }), u32le(SIGHASH.ALL)));
}
