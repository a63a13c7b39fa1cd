/**
 * Taproot key-path spending (BIP-341, BIP-340): the signature message and hash of an input
 * (segwit v1, `ext_flag = 0`, no annex), the key tweak (`TapTweak`, BIP-86 when there is no script
 * tree), and signing and verifying a key-path spend.
 *
 * The signature message commits to the amounts and scriptPubKeys of every input being spent
 * (unless ANYONECANPAY), so a taproot signature cannot be obtained with a lie about any input's
 * amount: the BIP-143 fee-lie attack does not apply (BIP-341, "Rationale" point 2).
 *
 * Sighash types: SIGHASH_DEFAULT (0x00, a 64-byte signature) and 0x01, 0x02, 0x03, 0x81, 0x82,
 * 0x83 (a 65-byte signature ending in the type byte). Script-path spends (`ext_flag = 1`) and
 * annexes are not supported: the signer has no use for them.
 *
 * @module
 */
import { concat, u32le, u64le } from "../bytes.ts";
import {
  pointAdd,
  publicKey,
  schnorrSign,
  schnorrVerify,
  secretAdd,
  secretNegate,
  sha256,
  taggedHash,
} from "../crypto/mod.ts";
import { compactSize, type Tx, type TxOutput } from "./tx.ts";

/** A taproot computation that cannot be done (bad type, missing prevout, bad key). */
export class TaprootError extends Error {
  /**
   * Creates the error.
   * @param message what is wrong, never key material
   */
  constructor(message: string) {
    super(message);
    this.name = "TaprootError";
  }
}

/** BIP-341 sighash types. */
export const TAPROOT_SIGHASH = {
  /** Like ALL, but the signature is 64 bytes (no type byte). */
  DEFAULT: 0x00,
  ALL: 0x01,
  NONE: 0x02,
  SINGLE: 0x03,
  ANYONECANPAY: 0x80,
} as const;

const VALID_TYPES: ReadonlySet<number> = new Set([0x00, 0x01, 0x02, 0x03, 0x81, 0x82, 0x83]);

/** Options of {@link taprootSigMsg} and {@link taprootSighash}. */
export interface TaprootSighashOptions {
  /** The output spent by every input, in input order (BIP-341 needs all of them). */
  prevouts: TxOutput[];
  /** The sighash type (default SIGHASH_DEFAULT). */
  sighashType?: number;
}

function checkSighashType(type: number): void {
  if (!VALID_TYPES.has(type)) throw new TaprootError(`invalid taproot sighash type ${type}`);
}

function serOutput(o: TxOutput): Uint8Array {
  return concat(u64le(o.amount), compactSize(o.script.length), o.script);
}

/**
 * The BIP-341 signature message of input `index` for a key-path spend, prefixed with the epoch
 * byte 0x00 (the form BIP-341's wallet test vectors call `sigMsg`). Throws {@link TaprootError}
 * on an invalid type, a missing input or prevout, or SIGHASH_SINGLE without a matching output.
 */
export function taprootSigMsg(tx: Tx, index: number, options: TaprootSighashOptions): Uint8Array {
  const type = options.sighashType ?? TAPROOT_SIGHASH.DEFAULT;
  checkSighashType(type);
  const input = tx.inputs[index];
  if (!input) throw new TaprootError(`input ${index} does not exist`);
  const prevouts = options.prevouts;
  if (!Array.isArray(prevouts) || prevouts.length !== tx.inputs.length) {
    throw new TaprootError("one prevout per input is required");
  }
  const outputType = type === TAPROOT_SIGHASH.DEFAULT ? TAPROOT_SIGHASH.ALL : type & 0x03;
  const anyoneCanPay = (type & TAPROOT_SIGHASH.ANYONECANPAY) !== 0;
  const parts: Uint8Array[] = [
    Uint8Array.of(0x00, type),
    u32le(tx.version >>> 0),
    u32le(tx.locktime >>> 0),
  ];
  if (!anyoneCanPay) {
    parts.push(
      sha256(concat(...tx.inputs.map((i) => concat(i.txid, u32le(i.vout))))),
      sha256(concat(...prevouts.map((p) => u64le(p.amount)))),
      sha256(concat(...prevouts.map((p) => concat(compactSize(p.script.length), p.script)))),
      sha256(concat(...tx.inputs.map((i) => u32le(i.sequence >>> 0)))),
    );
  }
  if (outputType === TAPROOT_SIGHASH.ALL) {
    parts.push(sha256(concat(...tx.outputs.map(serOutput))));
  }
  // spend_type = ext_flag * 2 + annex_present: a key-path spend without annex.
  parts.push(Uint8Array.of(0x00));
  if (anyoneCanPay) {
    const p = prevouts[index];
    parts.push(
      input.txid,
      u32le(input.vout),
      u64le(p.amount),
      compactSize(p.script.length),
      p.script,
      u32le(input.sequence >>> 0),
    );
  } else {
    parts.push(u32le(index));
  }
  if (outputType === TAPROOT_SIGHASH.SINGLE) {
    const o = tx.outputs[index];
    if (!o) throw new TaprootError(`SIGHASH_SINGLE: output ${index} does not exist`);
    parts.push(sha256(serOutput(o)));
  }
  return concat(...parts);
}

/** The BIP-341 signature hash of input `index` (key path): `TapSighash` of the message. */
export function taprootSighash(
  tx: Tx,
  index: number,
  options: TaprootSighashOptions,
): Uint8Array {
  return taggedHash("TapSighash", taprootSigMsg(tx, index, options));
}

function xOnly(key: Uint8Array, what: string): Uint8Array {
  if (key instanceof Uint8Array && key.length === 33 && (key[0] === 2 || key[0] === 3)) {
    return key.subarray(1);
  }
  if (key instanceof Uint8Array && key.length === 32) return key;
  throw new TaprootError(`${what} must be a 32-byte x-only or 33-byte compressed key`);
}

function checkMerkleRoot(root: Uint8Array | undefined): Uint8Array {
  if (root === undefined) return new Uint8Array();
  if (!(root instanceof Uint8Array) || root.length !== 32) {
    throw new TaprootError("merkle root must be 32 bytes");
  }
  return root;
}

/**
 * The BIP-341 tweak `t = hash_TapTweak(P || merkle_root)` of an internal key (x-only or
 * compressed); without a merkle root (BIP-86 key-path-only outputs) `t = hash_TapTweak(P)`.
 */
export function taprootTweak(internalKey: Uint8Array, merkleRoot?: Uint8Array): Uint8Array {
  return taggedHash("TapTweak", xOnly(internalKey, "internal key"), checkMerkleRoot(merkleRoot));
}

/**
 * The x-only output key `Q = lift_x(P) + t*G` (BIP-341 `taproot_tweak_pubkey`). Throws
 * {@link TaprootError} if the key is not on the curve or the tweak is out of range.
 */
export function taprootOutputKey(internalKey: Uint8Array, merkleRoot?: Uint8Array): Uint8Array {
  const p = xOnly(internalKey, "internal key");
  const t = taprootTweak(p, merkleRoot);
  try {
    return pointAdd(concat(Uint8Array.of(0x02), p), publicKey(t)).subarray(1);
  } catch {
    throw new TaprootError("the internal key or its tweak is invalid");
  }
}

/**
 * The tweaked secret key of a key-path spend (BIP-341 `taproot_tweak_seckey`): the secret is
 * negated if its point has an odd Y, then `t` is added. The caller owns (and should zeroize) the
 * result. Throws {@link TaprootError} if the secret or the tweak is invalid.
 */
export function taprootTweakSecret(secret: Uint8Array, merkleRoot?: Uint8Array): Uint8Array {
  let point: Uint8Array;
  try {
    point = publicKey(secret);
  } catch {
    throw new TaprootError("the secret key is invalid");
  }
  const even = point[0] === 0x02 ? secret : secretNegate(secret);
  const t = taprootTweak(point.subarray(1), merkleRoot);
  try {
    return secretAdd(even, t);
  } catch {
    throw new TaprootError("the tweak is out of range");
  } finally {
    if (even !== secret) even.fill(0);
  }
}

/** Options of {@link signTaprootKeyPath}. */
export interface TaprootSignOptions extends TaprootSighashOptions {
  /** The untweaked 32-byte secret key of the internal key. */
  secret: Uint8Array;
  /** The script tree's merkle root; absent for a BIP-86 output. */
  merkleRoot?: Uint8Array;
  /** BIP-340 auxiliary randomness (default 32 zero bytes: deterministic). */
  auxRand?: Uint8Array;
}

/**
 * Sign input `index` as a taproot key-path spend: BIP-340 Schnorr with the tweaked key over
 * {@link taprootSighash}. Returns the witness element: 64 bytes for SIGHASH_DEFAULT, else 65 with
 * the type byte appended.
 */
export function signTaprootKeyPath(
  tx: Tx,
  index: number,
  options: TaprootSignOptions,
): Uint8Array {
  const type = options.sighashType ?? TAPROOT_SIGHASH.DEFAULT;
  const digest = taprootSighash(tx, index, { prevouts: options.prevouts, sighashType: type });
  const tweaked = taprootTweakSecret(options.secret, options.merkleRoot);
  try {
    const sig = schnorrSign(digest, tweaked, { auxRand: options.auxRand });
    return type === TAPROOT_SIGHASH.DEFAULT ? sig : concat(sig, Uint8Array.of(type));
  } finally {
    tweaked.fill(0);
  }
}

/** Options of {@link verifyTaprootKeyPath}. */
export interface TaprootVerifyOptions {
  /** The outputs spent by every input, in order. */
  prevouts: TxOutput[];
  /** The witness signature: 64 bytes (SIGHASH_DEFAULT) or 65 with the type byte. */
  signature: Uint8Array;
}

/**
 * Verify a key-path signature of input `index` against the x-only output key of the spent
 * output (its P2TR program, `prevouts[index].script[2..34]`). Returns false, never throws, on
 * any malformed input, including a 65-byte signature whose type byte is 0x00 (BIP-341).
 */
export function verifyTaprootKeyPath(
  tx: Tx,
  index: number,
  options: TaprootVerifyOptions,
): boolean {
  const sig = options.signature;
  const prevout = options.prevouts?.[index];
  if (!(sig instanceof Uint8Array) || (sig.length !== 64 && sig.length !== 65)) return false;
  if (!prevout || prevout.script.length !== 34 || prevout.script[0] !== 0x51) return false;
  if (prevout.script[1] !== 0x20) return false;
  const type = sig.length === 65 ? sig[64] : TAPROOT_SIGHASH.DEFAULT;
  if (sig.length === 65 && type === TAPROOT_SIGHASH.DEFAULT) return false;
  let digest: Uint8Array;
  try {
    digest = taprootSighash(tx, index, { prevouts: options.prevouts, sighashType: type });
  } catch {
    return false;
  }
  return schnorrVerify(sig.subarray(0, 64), digest, prevout.script.subarray(2));
}
