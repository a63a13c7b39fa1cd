/**
 * Per-commitment key derivation (BOLT #3, "Key Derivation"): the per-commitment point, the
 * basepoint tweak used for `localpubkey`/`remotepubkey`, the HTLC keys and the delayed keys, the
 * revocation key, and the full key set of one commitment transaction (as LDK's
 * `TxCreationKeys`).
 *
 * Points are 33-byte compressed secp256k1 public keys; secrets are 32-byte scalars.
 *
 * @module
 */
import { concat, toHex, zeroize } from "../bytes.ts";
import {
  pointAdd,
  pointMultiply,
  publicKey,
  secretAdd,
  secretMultiply,
  sha256,
} from "../crypto/mod.ts";

/** The per-commitment point of a per-commitment secret: `per_commitment_secret * G`. */
export function perCommitmentPoint(perCommitmentSecret: Uint8Array): Uint8Array {
  return publicKey(perCommitmentSecret);
}

/**
 * The tweak `SHA256(per_commitment_point || basepoint)` (BOLT #3, "`localpubkey`, ... Derivation").
 */
export function basepointTweak(perCommitmentPoint: Uint8Array, basepoint: Uint8Array): Uint8Array {
  return sha256(concat(perCommitmentPoint, basepoint));
}

/**
 * `pubkey = basepoint + SHA256(per_commitment_point || basepoint) * G` (BOLT #3, "`localpubkey`,
 * `remotepubkey`, `local_htlcpubkey`, `remote_htlcpubkey`, `local_delayedpubkey`, and
 * `remote_delayedpubkey` Derivation"). Used for the payment (without static_remotekey), HTLC and
 * delayed-payment keys.
 */
export function derivePublicKey(basepoint: Uint8Array, perCommitmentPoint: Uint8Array): Uint8Array {
  const tweak = basepointTweak(perCommitmentPoint, basepoint);
  return pointAdd(basepoint, publicKey(tweak));
}

/**
 * `privkey = basepoint_secret + SHA256(per_commitment_point || basepoint) mod n`, the secret of
 * {@link derivePublicKey} (BOLT #3, same section).
 */
export function derivePrivateKey(
  basepointSecret: Uint8Array,
  perCommitmentPoint: Uint8Array,
): Uint8Array {
  const tweak = basepointTweak(perCommitmentPoint, publicKey(basepointSecret));
  const out = secretAdd(basepointSecret, tweak);
  zeroize(tweak);
  return out;
}

/**
 * `SHA256(revocation_basepoint || per_commitment_point)`, the factor of the revocation basepoint in
 * the revocation key (BOLT #3, "`revocationpubkey` Derivation").
 */
export function revocationBasepointTweak(
  revocationBasepoint: Uint8Array,
  perCommitmentPoint: Uint8Array,
): Uint8Array {
  return sha256(concat(revocationBasepoint, perCommitmentPoint));
}

/**
 * `revocationpubkey = revocation_basepoint * SHA256(revocation_basepoint || per_commitment_point)
 * + per_commitment_point * SHA256(per_commitment_point || revocation_basepoint)`
 * (BOLT #3, "`revocationpubkey` Derivation").
 */
export function deriveRevocationPublicKey(
  revocationBasepoint: Uint8Array,
  perCommitmentPoint: Uint8Array,
): Uint8Array {
  // Both tweaks are hashes of public points, so the faster public-scalar multiplication is safe.
  const a = pointMultiply(
    revocationBasepoint,
    revocationBasepointTweak(revocationBasepoint, perCommitmentPoint),
    { publicScalar: true },
  );
  const b = pointMultiply(
    perCommitmentPoint,
    basepointTweak(perCommitmentPoint, revocationBasepoint),
    { publicScalar: true },
  );
  return pointAdd(a, b);
}

/**
 * `revocationprivkey = revocation_basepoint_secret * SHA256(revocation_basepoint ||
 * per_commitment_point) + per_commitment_secret * SHA256(per_commitment_point ||
 * revocation_basepoint) mod n` (BOLT #3, "`revocationpubkey` Derivation").
 */
export function deriveRevocationPrivateKey(
  revocationBasepointSecret: Uint8Array,
  perCommitmentSecret: Uint8Array,
): Uint8Array {
  const basepoint = publicKey(revocationBasepointSecret);
  const point = publicKey(perCommitmentSecret);
  const a = secretMultiply(revocationBasepointSecret, revocationBasepointTweak(basepoint, point));
  const b = secretMultiply(perCommitmentSecret, basepointTweak(point, basepoint));
  const out = secretAdd(a, b);
  zeroize(a, b);
  return out;
}

/** The public basepoints one side announces in `open_channel` / `accept_channel`. */
export interface ChannelBasepoints {
  /** `funding_pubkey`. */
  fundingPubkey: Uint8Array;
  /** `revocation_basepoint`. */
  revocationBasepoint: Uint8Array;
  /** `payment_basepoint` (with static_remotekey, the to_remote key itself). */
  paymentBasepoint: Uint8Array;
  /** `delayed_payment_basepoint`. */
  delayedPaymentBasepoint: Uint8Array;
  /** `htlc_basepoint`. */
  htlcBasepoint: Uint8Array;
}

/**
 * The keys of one commitment transaction, named from the broadcaster's (the holder of that
 * commitment) point of view, as LDK's `TxCreationKeys`.
 */
export interface CommitmentKeys {
  /** The broadcaster's per-commitment point for this commitment. */
  perCommitmentPoint: Uint8Array;
  /** `revocationpubkey`, from the countersignatory's revocation basepoint. */
  revocationKey: Uint8Array;
  /** `local_delayedpubkey`: the broadcaster's delayed payment key. */
  broadcasterDelayedPaymentKey: Uint8Array;
  /** `local_htlcpubkey`: the broadcaster's HTLC key. */
  broadcasterHtlcKey: Uint8Array;
  /** `remote_htlcpubkey`: the countersignatory's HTLC key. */
  countersignatoryHtlcKey: Uint8Array;
}

/** Options of {@link deriveCommitmentKeys}. */
export interface DeriveCommitmentKeysOptions {
  /** Basepoints of the side whose commitment transaction this is. */
  broadcaster: Pick<ChannelBasepoints, "delayedPaymentBasepoint" | "htlcBasepoint">;
  /** Basepoints of the other side (who signs this commitment for the broadcaster). */
  countersignatory: Pick<ChannelBasepoints, "revocationBasepoint" | "htlcBasepoint">;
}

/**
 * Every key of one commitment transaction from the two sides' basepoints and the broadcaster's
 * per-commitment point (BOLT #3, Key Derivation).
 */
export function deriveCommitmentKeys(
  perCommitmentPoint: Uint8Array,
  options: DeriveCommitmentKeysOptions,
): CommitmentKeys {
  // Every input and output is public, and one commitment's keys are needed by several requests
  // (the commitment, each of its HTLC transactions, sweeps): remember the last few derivations.
  const memoKey = [
    perCommitmentPoint,
    options.countersignatory.revocationBasepoint,
    options.countersignatory.htlcBasepoint,
    options.broadcaster.delayedPaymentBasepoint,
    options.broadcaster.htlcBasepoint,
  ].map(toHex).join(":");
  const hit = memo.get(memoKey);
  if (hit !== undefined) {
    memo.delete(memoKey);
    memo.set(memoKey, hit);
    return copyKeys(hit);
  }
  const keys = computeCommitmentKeys(perCommitmentPoint, options);
  memo.set(memoKey, copyKeys(keys));
  if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value as string);
  return keys;
}

const MEMO_SIZE = 64;
const memo = new Map<string, CommitmentKeys>();

function copyKeys(k: CommitmentKeys): CommitmentKeys {
  return {
    perCommitmentPoint: k.perCommitmentPoint.slice(),
    revocationKey: k.revocationKey.slice(),
    broadcasterDelayedPaymentKey: k.broadcasterDelayedPaymentKey.slice(),
    broadcasterHtlcKey: k.broadcasterHtlcKey.slice(),
    countersignatoryHtlcKey: k.countersignatoryHtlcKey.slice(),
  };
}

function computeCommitmentKeys(
  perCommitmentPoint: Uint8Array,
  options: DeriveCommitmentKeysOptions,
): CommitmentKeys {
  return {
    perCommitmentPoint: perCommitmentPoint.slice(),
    revocationKey: deriveRevocationPublicKey(
      options.countersignatory.revocationBasepoint,
      perCommitmentPoint,
    ),
    broadcasterDelayedPaymentKey: derivePublicKey(
      options.broadcaster.delayedPaymentBasepoint,
      perCommitmentPoint,
    ),
    broadcasterHtlcKey: derivePublicKey(options.broadcaster.htlcBasepoint, perCommitmentPoint),
    countersignatoryHtlcKey: derivePublicKey(
      options.countersignatory.htlcBasepoint,
      perCommitmentPoint,
    ),
  };
}
