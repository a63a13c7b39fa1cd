/**
 * Shared fixtures for the BOLT #3 tests: the Appendix C / F vectors and the commitment options of
 * each case, built from the channel's basepoints exactly as a signer would (nothing here is
 * copied from a result field of the vectors except what the spec gives as input).
 *
 * @module
 */
import staticRemotekey from "../../vectors/bolt3/commitment-static-remotekey.json" with {
  type: "json",
};
import anchorsVectors from "../../vectors/bolt3/commitment-anchors.json" with { type: "json" };
import { fromHex, reverse } from "../../../core/bytes.ts";
import { sha256 } from "../../../core/crypto/mod.ts";
import {
  type CommitmentHtlc,
  type CommitmentKeys,
  type CommitmentTxOptions,
  deriveCommitmentKeys,
  obscuringFactor,
} from "../../../core/bolt3/mod.ts";

/** A commitment case as stored in the vector files (the fields the tests use). */
export interface VectorCase {
  name: string;
  to_local_msat: number;
  to_remote_msat: number;
  local_feerate_per_kw: number;
  local_dust_limit_satoshi: number;
  htlcs_in_channel: number[];
  remote_signature: string;
  local_signature: string;
  commitment_tx_hex: string;
  num_htlcs: number;
  htlc_txs: Array<{
    commitment_output_index: number;
    htlc_index: number;
    tx_type: string;
    remote_htlc_signature: string;
    local_htlc_signature: string;
    tx_hex: string;
    remote_htlc_sighash_type: number;
    local_htlc_sighash_type: number;
  }>;
  annotations?: {
    base_commitment_fee_sat?: number;
    actual_commitment_fee_sat?: number;
    outputs_listed?: Array<{
      kind: string;
      htlc_index?: number;
      local_perspective?: string;
      amount_sat: number;
      witness_script?: string;
      p2wpkh_pubkey?: string;
    }>;
  };
}

/** Appendix C cases (static_remotekey, no anchors). */
export const APPENDIX_C: VectorCase[] = staticRemotekey.test_cases as VectorCase[];
/** Appendix F cases (option_anchors, zero-fee HTLC transactions). */
export const APPENDIX_F: VectorCase[] = anchorsVectors.test_cases as VectorCase[];

const ch = staticRemotekey.channel;
const internal = staticRemotekey.internal_values;

/** Channel values of Appendix C (F copies them). */
export const CHANNEL = {
  fundingTxid: reverse(fromHex(ch.funding_txid)),
  fundingVout: ch.funding_output_index,
  fundingSatoshis: BigInt(ch.funding_amount_satoshi),
  commitmentNumber: ch.commitment_number,
  toSelfDelay: ch.to_self_delay,
  localPaymentBasepoint: fromHex(ch.local_payment_basepoint),
  remotePaymentBasepoint: fromHex(ch.remote_payment_basepoint),
  localHtlcBasepoint: fromHex(ch.local_htlc_basepoint),
  remoteHtlcBasepoint: fromHex(ch.remote_htlc_basepoint),
  localDelayedPaymentBasepoint: fromHex(internal.local_delayed_payment_basepoint),
  remoteRevocationBasepoint: fromHex(internal.remote_revocation_basepoint),
  localPerCommitmentPoint: fromHex(internal.local_per_commitment_point),
  localFundingPrivkey: fromHex(ch.local_funding_privkey_raw32),
  localFundingPubkey: fromHex(ch.local_funding_pubkey),
  remoteFundingPubkey: fromHex(ch.remote_funding_pubkey),
  /** The local HTLC secret key of this commitment (spec `local_privkey`). */
  localHtlcPrivkey: fromHex(ch.local_privkey_raw32),
  localHtlcPubkey: fromHex(ch.local_htlcpubkey),
  remoteHtlcPubkey: fromHex(ch.remote_htlcpubkey),
  localDelayedPubkey: fromHex(ch.local_delayedpubkey),
  localRevocationPubkey: fromHex(ch.local_revocation_pubkey),
  fundingWitnessScript: fromHex(ch.funding_witness_script),
  obscuringFactorHex: ch.obscuring_factor,
};

/** The spec's HTLCs 0..6 with their preimages, from local's (the broadcaster's) view. */
export const HTLCS: Array<CommitmentHtlc & { preimage: Uint8Array }> = staticRemotekey.htlcs
  .map((h) => {
    const preimage = fromHex(h.payment_preimage);
    return {
      offered: h.local_perspective === "offered",
      amountMsat: BigInt(h.amount_msat),
      paymentHash: sha256(preimage),
      cltvExpiry: h.cltv_expiry,
      preimage,
    };
  });

/** The keys of local's commitment, derived from the basepoints and the per-commitment point. */
export function localCommitmentKeys(): CommitmentKeys {
  return deriveCommitmentKeys(CHANNEL.localPerCommitmentPoint, {
    broadcaster: {
      delayedPaymentBasepoint: CHANNEL.localDelayedPaymentBasepoint,
      htlcBasepoint: CHANNEL.localHtlcBasepoint,
    },
    countersignatory: {
      revocationBasepoint: CHANNEL.remoteRevocationBasepoint,
      htlcBasepoint: CHANNEL.remoteHtlcBasepoint,
    },
  });
}

/** The builder options of one vector case. */
export function caseOptions(c: VectorCase, anchors: boolean): CommitmentTxOptions {
  return {
    fundingOutpoint: { txid: CHANNEL.fundingTxid, vout: CHANNEL.fundingVout },
    fundingSatoshis: CHANNEL.fundingSatoshis,
    commitmentNumber: CHANNEL.commitmentNumber,
    obscuringFactor: obscuringFactor(CHANNEL.localPaymentBasepoint, CHANNEL.remotePaymentBasepoint),
    broadcasterIsOpener: true,
    toBroadcasterMsat: BigInt(c.to_local_msat),
    toCountersignatoryMsat: BigInt(c.to_remote_msat),
    feeratePerKw: c.local_feerate_per_kw,
    dustLimitSatoshis: BigInt(c.local_dust_limit_satoshi),
    toSelfDelay: CHANNEL.toSelfDelay,
    htlcs: c.htlcs_in_channel.map((i) => {
      const { preimage: _, ...htlc } = HTLCS[i];
      return htlc;
    }),
    keys: localCommitmentKeys(),
    countersignatoryPaymentBasepoint: CHANNEL.remotePaymentBasepoint,
    broadcasterFundingPubkey: CHANNEL.localFundingPubkey,
    countersignatoryFundingPubkey: CHANNEL.remoteFundingPubkey,
    anchors,
  };
}
