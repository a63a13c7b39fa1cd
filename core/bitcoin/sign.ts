/**
 * Signing and verifying one transaction input: segwit v0 (BIP-143, for P2WSH and P2WPKH inputs)
 * and legacy P2PKH (SIGHASH_ALL only). Signatures are handled in their wire form: DER followed by
 * the one sighash-type byte, exactly as they sit in a witness or a scriptSig.
 *
 * Signing is RFC 6979 deterministic (low-S), so the same transaction, key and sighash type always
 * give the same bytes; `lowR` asks for Bitcoin Core / CLN style low-R grinding instead.
 *
 * @module
 */
import { concat } from "../bytes.ts";
import { derEncode, ecdsaSign, ecdsaSignLowR, ecdsaVerifyDer, publicKey } from "../crypto/mod.ts";
import { buildScript, p2pkh } from "./script.ts";
import { SIGHASH, sighashLegacy, sighashSegwitV0, type Tx } from "./tx.ts";

/** A signing request that cannot be honoured. The message never contains key material. */
export class SignError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "SignError";
  }
}

const SIGHASH_TYPES: ReadonlySet<number> = new Set([0x01, 0x02, 0x03, 0x81, 0x82, 0x83]);

function checkSighashType(type: number): void {
  if (!SIGHASH_TYPES.has(type)) throw new SignError(`unsupported sighash type ${type}`);
}

/** Options of {@link signSegwitV0Input}. */
export interface SegwitV0SignOptions {
  /** BIP-143 scriptCode: the witness script (P2WSH) or the P2PKH script of the key (P2WPKH). */
  scriptCode: Uint8Array;
  /** Value in satoshi of the output being spent. */
  amount: bigint;
  /** The 32-byte secret key. */
  secretKey: Uint8Array;
  /** Sighash type; default SIGHASH_ALL (0x01). */
  sighashType?: number;
  /** Grind for a low R (at most 71-byte DER) instead of plain RFC 6979. Default false. */
  lowR?: boolean;
}

/**
 * Sign input `index` of a segwit v0 transaction (BIP-143 digest). Returns DER + sighash byte, the
 * form that goes on the witness stack.
 */
export function signSegwitV0Input(
  tx: Tx,
  index: number,
  options: SegwitV0SignOptions,
): Uint8Array {
  const type = options.sighashType ?? SIGHASH.ALL;
  checkSighashType(type);
  const digest = sighashSegwitV0(tx, index, {
    scriptCode: options.scriptCode,
    amount: options.amount,
    sighashType: type,
  });
  const compact = options.lowR
    ? ecdsaSignLowR(digest, options.secretKey)
    : ecdsaSign(digest, options.secretKey);
  return concat(derEncode(compact), Uint8Array.of(type));
}

/** Options of {@link verifySegwitV0Input}. */
export interface SegwitV0VerifyOptions {
  /** BIP-143 scriptCode (see {@link SegwitV0SignOptions.scriptCode}). */
  scriptCode: Uint8Array;
  /** Value in satoshi of the output being spent. */
  amount: bigint;
  /** The 33-byte compressed public key expected to have signed. */
  publicKey: Uint8Array;
  /** DER signature followed by its sighash byte. */
  signature: Uint8Array;
  /** When given, the signature's sighash byte must be exactly this. */
  sighashType?: number;
}

/**
 * Strict verification of a segwit v0 input signature (DER + sighash byte): the digest is computed
 * with the signature's own sighash byte, which must equal `sighashType` when that is given.
 * Returns false (never throws) on any malformed input.
 */
export function verifySegwitV0Input(
  tx: Tx,
  index: number,
  options: SegwitV0VerifyOptions,
): boolean {
  const sig = options.signature;
  if (!(sig instanceof Uint8Array) || sig.length < 2) return false;
  const type = sig[sig.length - 1];
  if (!SIGHASH_TYPES.has(type)) return false;
  if (options.sighashType !== undefined && options.sighashType !== type) return false;
  if (!tx.inputs[index]) return false;
  const digest = sighashSegwitV0(tx, index, {
    scriptCode: options.scriptCode,
    amount: options.amount,
    sighashType: type,
  });
  return ecdsaVerifyDer(sig.subarray(0, sig.length - 1), digest, options.publicKey);
}

/** Options of {@link signP2pkhInput}. */
export interface P2pkhSignOptions {
  /** The 32-byte secret key whose compressed public key the P2PKH output pays. */
  secretKey: Uint8Array;
  /** Grind for a low R. Default false (plain RFC 6979). */
  lowR?: boolean;
}

/**
 * Sign input `index` (a P2PKH output of the key's compressed public key) with the legacy
 * SIGHASH_ALL digest. Returns DER + `01`; {@link p2pkhScriptSig} makes the scriptSig.
 */
export function signP2pkhInput(tx: Tx, index: number, options: P2pkhSignOptions): Uint8Array {
  const pub = publicKey(options.secretKey);
  const digest = sighashLegacy(tx, index, p2pkh(pub));
  const compact = options.lowR
    ? ecdsaSignLowR(digest, options.secretKey)
    : ecdsaSign(digest, options.secretKey);
  return concat(derEncode(compact), Uint8Array.of(SIGHASH.ALL));
}

/** Options of {@link verifyP2pkhInput}. */
export interface P2pkhVerifyOptions {
  /** The 33-byte compressed public key. */
  publicKey: Uint8Array;
  /** DER signature followed by its sighash byte, which must be `01`. */
  signature: Uint8Array;
}

/** Verify a legacy SIGHASH_ALL P2PKH input signature. Returns false on any malformed input. */
export function verifyP2pkhInput(tx: Tx, index: number, options: P2pkhVerifyOptions): boolean {
  const sig = options.signature;
  if (!(sig instanceof Uint8Array) || sig.length < 2 || sig[sig.length - 1] !== SIGHASH.ALL) {
    return false;
  }
  if (!tx.inputs[index] || options.publicKey?.length !== 33) return false;
  const digest = sighashLegacy(tx, index, p2pkh(options.publicKey));
  return ecdsaVerifyDer(sig.subarray(0, sig.length - 1), digest, options.publicKey);
}

/** The P2PKH scriptSig `<signature> <pubkey>` (signature with its sighash byte). */
export function p2pkhScriptSig(signature: Uint8Array, pubkey: Uint8Array): Uint8Array {
  return buildScript(signature, pubkey);
}

/** A copy of `tx` whose input `index` has `witness` as its witness stack (other inputs as they were). */
export function withWitness(tx: Tx, index: number, witness: Uint8Array[]): Tx {
  if (!tx.inputs[index]) throw new SignError(`input ${index} does not exist`);
  return {
    version: tx.version,
    locktime: tx.locktime,
    inputs: tx.inputs.map((i, n) => ({
      ...i,
      witness: n === index ? witness.map((w) => w.slice()) : i.witness.map((w) => w.slice()),
    })),
    outputs: tx.outputs.map((o) => ({ ...o })),
  };
}
