/**
 * The witness scripts of BOLT #3: the funding 2-of-2, `to_local`, `to_remote` (static_remotekey
 * P2WPKH, or the anchors P2WSH form), the offered and received HTLC scripts (with and without
 * anchors' `1 OP_CHECKSEQUENCEVERIFY OP_DROP`), the anchor output script, and the witness that
 * spends the funding output.
 *
 * Names follow the broadcaster's (commitment holder's) point of view, as the spec's `local_` /
 * `remote_` do for the local commitment transaction.
 *
 * @module
 */
import { compare, equal } from "../bytes.ts";
import { isValidPublicKey, ripemd160, sha256 } from "../crypto/mod.ts";
import { buildScript, p2wpkh, p2wsh } from "../bitcoin/script.ts";

/** A script cannot be built from the values given. */
export class Bolt3ScriptError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "Bolt3ScriptError";
  }
}

/**
 * Keys already checked, each with a snapshot of its bytes: the same key objects come back for every
 * HTLC of a commitment, and a curve check costs tens of microseconds. A key whose bytes changed
 * since is checked again.
 */
const checkedKeys = new WeakMap<Uint8Array, Uint8Array>();

function needKey(key: Uint8Array, what: string): void {
  if (key instanceof Uint8Array) {
    const snapshot = checkedKeys.get(key);
    if (snapshot && equal(snapshot, key)) return;
  }
  if (!isValidPublicKey(key)) throw new Bolt3ScriptError(`${what} is not a valid public key`);
  checkedKeys.set(key, key.slice());
}

function needU32(n: number, what: string, max = 0xffffffff): void {
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new Bolt3ScriptError(`${what} must be an integer in 0..${max}`);
  }
}

/**
 * The funding output witness script `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG`, keys sorted
 * lexicographically (BOLT #3, Funding Transaction Output).
 */
export function fundingScript(pubkeyA: Uint8Array, pubkeyB: Uint8Array): Uint8Array {
  needKey(pubkeyA, "funding pubkey");
  needKey(pubkeyB, "funding pubkey");
  const [k1, k2] = compare(pubkeyA, pubkeyB) <= 0 ? [pubkeyA, pubkeyB] : [pubkeyB, pubkeyA];
  return buildScript(2, k1, k2, 2, "CHECKMULTISIG");
}

/** Options of {@link toLocalScript}. */
export interface ToLocalScriptOptions {
  /** `revocationpubkey`. */
  revocationKey: Uint8Array;
  /** `local_delayedpubkey`: the broadcaster's delayed payment key. */
  broadcasterDelayedPaymentKey: Uint8Array;
  /** `to_self_delay` in blocks, as set by the countersignatory (0..65535). */
  toSelfDelay: number;
}

/**
 * The `to_local` witness script (BOLT #3, `to_local` Output), also the output script of HTLC
 * transactions (BOLT #3, HTLC-Timeout and HTLC-Success Transactions):
 * `OP_IF <revocationpubkey> OP_ELSE <to_self_delay> OP_CSV OP_DROP <local_delayedpubkey> OP_ENDIF
 * OP_CHECKSIG`.
 */
export function toLocalScript(options: ToLocalScriptOptions): Uint8Array {
  needKey(options.revocationKey, "revocation key");
  needKey(options.broadcasterDelayedPaymentKey, "delayed payment key");
  needU32(options.toSelfDelay, "to_self_delay", 0xffff);
  return buildScript(
    "IF",
    options.revocationKey,
    "ELSE",
    options.toSelfDelay,
    "CHECKSEQUENCEVERIFY",
    "DROP",
    options.broadcasterDelayedPaymentKey,
    "ENDIF",
    "CHECKSIG",
  );
}

/**
 * The anchors `to_remote` witness script `<remotepubkey> OP_CHECKSIGVERIFY 1 OP_CSV`
 * (BOLT #3, `to_remote` Output, with `option_anchors`).
 */
export function toRemoteAnchorsScript(remotePubkey: Uint8Array): Uint8Array {
  needKey(remotePubkey, "to_remote key");
  return buildScript(remotePubkey, "CHECKSIGVERIFY", 1, "CHECKSEQUENCEVERIFY");
}

/** A `to_remote` output: its scriptPubKey and, for P2WSH, its witness script. */
export interface ToRemoteOutputScript {
  /** The output's scriptPubKey. */
  scriptPubKey: Uint8Array;
  /** The witness script (anchors only; absent for P2WPKH). */
  witnessScript?: Uint8Array;
}

/**
 * The `to_remote` output script (BOLT #3, `to_remote` Output). With static_remotekey the key is the
 * countersignatory's `payment_basepoint` itself: P2WPKH without anchors, P2WSH of
 * {@link toRemoteAnchorsScript} with anchors.
 */
export function toRemoteOutputScript(
  remotePubkey: Uint8Array,
  options: { anchors: boolean },
): ToRemoteOutputScript {
  if (options.anchors) {
    const witnessScript = toRemoteAnchorsScript(remotePubkey);
    return { scriptPubKey: p2wsh(witnessScript), witnessScript };
  }
  needKey(remotePubkey, "to_remote key");
  return { scriptPubKey: p2wpkh(remotePubkey) };
}

/**
 * The anchor output witness script (BOLT #3, `to_local_anchor` and `to_remote_anchor` Output):
 * `<funding_pubkey> OP_CHECKSIG OP_IFDUP OP_NOTIF OP_16 OP_CSV OP_ENDIF`.
 */
export function anchorScript(fundingPubkey: Uint8Array): Uint8Array {
  needKey(fundingPubkey, "funding pubkey");
  return buildScript(
    fundingPubkey,
    "CHECKSIG",
    "IFDUP",
    "NOTIF",
    16,
    "CHECKSEQUENCEVERIFY",
    "ENDIF",
  );
}

/** Options of {@link offeredHtlcScript} and {@link receivedHtlcScript}. */
export interface HtlcScriptOptions {
  /** `revocationpubkey`. */
  revocationKey: Uint8Array;
  /** `local_htlcpubkey`: the broadcaster's HTLC key. */
  broadcasterHtlcKey: Uint8Array;
  /** `remote_htlcpubkey`: the countersignatory's HTLC key. */
  countersignatoryHtlcKey: Uint8Array;
  /** The 32-byte payment hash. */
  paymentHash: Uint8Array;
  /** Whether `option_anchors` applies (adds `1 OP_CSV OP_DROP`). */
  anchors: boolean;
}

function paymentHashHash(paymentHash: Uint8Array): Uint8Array {
  if (!(paymentHash instanceof Uint8Array) || paymentHash.length !== 32) {
    throw new Bolt3ScriptError("payment hash must be 32 bytes");
  }
  return ripemd160(paymentHash);
}

function revocationHash(revocationKey: Uint8Array): Uint8Array {
  needKey(revocationKey, "revocation key");
  return ripemd160(sha256(revocationKey));
}

/**
 * The offered HTLC witness script (BOLT #3, Offered HTLC Outputs), from the broadcaster's view: an
 * HTLC the broadcaster pays out.
 */
export function offeredHtlcScript(options: HtlcScriptOptions): Uint8Array {
  needKey(options.broadcasterHtlcKey, "broadcaster HTLC key");
  needKey(options.countersignatoryHtlcKey, "countersignatory HTLC key");
  const csv = options.anchors ? [1, "CHECKSEQUENCEVERIFY", "DROP"] : [];
  return buildScript(
    "DUP",
    "HASH160",
    revocationHash(options.revocationKey),
    "EQUAL",
    "IF",
    "CHECKSIG",
    "ELSE",
    options.countersignatoryHtlcKey,
    "SWAP",
    "SIZE",
    32,
    "EQUAL",
    "NOTIF",
    "DROP",
    2,
    "SWAP",
    options.broadcasterHtlcKey,
    2,
    "CHECKMULTISIG",
    "ELSE",
    "HASH160",
    paymentHashHash(options.paymentHash),
    "EQUALVERIFY",
    "CHECKSIG",
    "ENDIF",
    ...csv,
    "ENDIF",
  );
}

/**
 * The received HTLC witness script (BOLT #3, Received HTLC Outputs), from the broadcaster's view:
 * an HTLC paid to the broadcaster, refundable to the countersignatory after `cltvExpiry`.
 */
export function receivedHtlcScript(
  options: HtlcScriptOptions & { cltvExpiry: number },
): Uint8Array {
  needKey(options.broadcasterHtlcKey, "broadcaster HTLC key");
  needKey(options.countersignatoryHtlcKey, "countersignatory HTLC key");
  needU32(options.cltvExpiry, "cltv_expiry", 0x7fffffff);
  const csv = options.anchors ? [1, "CHECKSEQUENCEVERIFY", "DROP"] : [];
  return buildScript(
    "DUP",
    "HASH160",
    revocationHash(options.revocationKey),
    "EQUAL",
    "IF",
    "CHECKSIG",
    "ELSE",
    options.countersignatoryHtlcKey,
    "SWAP",
    "SIZE",
    32,
    "EQUAL",
    "IF",
    "HASH160",
    paymentHashHash(options.paymentHash),
    "EQUALVERIFY",
    2,
    "SWAP",
    options.broadcasterHtlcKey,
    2,
    "CHECKMULTISIG",
    "ELSE",
    "DROP",
    options.cltvExpiry,
    "CHECKLOCKTIMEVERIFY",
    "DROP",
    "CHECKSIG",
    "ENDIF",
    ...csv,
    "ENDIF",
  );
}

/** Options of {@link fundingWitness}. */
export interface FundingWitnessOptions {
  /** One side's funding pubkey. */
  pubkeyA: Uint8Array;
  /** Signature (DER + sighash byte) of `pubkeyA`. */
  signatureA: Uint8Array;
  /** The other side's funding pubkey. */
  pubkeyB: Uint8Array;
  /** Signature (DER + sighash byte) of `pubkeyB`. */
  signatureB: Uint8Array;
}

/**
 * The witness spending the funding output: `0 <signature_for_pubkey1> <signature_for_pubkey2>
 * <funding witness script>`, signatures in the order of the sorted keys (BOLT #3, Commitment
 * Transaction and Closing Transaction).
 */
export function fundingWitness(options: FundingWitnessOptions): Uint8Array[] {
  const script = fundingScript(options.pubkeyA, options.pubkeyB);
  const aFirst = compare(options.pubkeyA, options.pubkeyB) <= 0;
  const [s1, s2] = aFirst
    ? [options.signatureA, options.signatureB]
    : [options.signatureB, options.signatureA];
  return [new Uint8Array(), s1.slice(), s2.slice(), script];
}
