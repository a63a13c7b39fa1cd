/**
 * Test fixture: the BOLT #3 Appendix C (static_remotekey) and Appendix F (zero-fee-HTLC anchors)
 * channel as two channel states, one per side, with real {@link ChannelKeys} built from the
 * secrets the appendix gives (its `<!-- INTERNAL -->` block). "Local" is the opener and broadcasts
 * the vector commitments; "remote" signs them. Each vector case becomes the
 * {@link CommitmentInfo} a node would describe it with (final output values plus untrimmed HTLCs).
 *
 * Keys the appendix does not use for local's commitment (local's revocation basepoint, remote's
 * delayed payment basepoint, both shachain seeds) are fixed arbitrary secrets.
 */
import staticRemotekey from "../../vectors/bolt3/commitment-static-remotekey.json" with {
  type: "json",
};
import { APPENDIX_C, APPENDIX_F, type VectorCase } from "../bolt3/_vectors.ts";
import { fromHex, reverse, toHex } from "../../../core/bytes.ts";
import { derDecode, publicKey, sha256 } from "../../../core/crypto/mod.ts";
import { decodeTx, stripSignatures, type Tx } from "../../../core/bitcoin/tx.ts";
import { ChannelId, type ChannelKeys, channelKeysFromSecrets } from "../../../core/keys/types.ts";
import type {
  ChannelSetup,
  ChannelState,
  CommitmentInfo,
  HtlcInfo,
} from "../../../core/channel/types.ts";
import { initialEnforcement, sortHtlcs } from "../../../core/channel/state.ts";
import { type OpContext, UNTRACKED_CHAIN } from "../../../core/channel/ops/context.ts";

export { APPENDIX_C, APPENDIX_F, type VectorCase };

/** The Appendix C case with all five HTLCs untrimmed at feerate 647 (seven outputs). */
export const SEVEN_OUTPUTS: VectorCase = APPENDIX_C[2];
/** The Appendix F case with five HTLCs and two anchors (nine outputs). */
export const SEVEN_OUTPUTS_ANCHORS: VectorCase = APPENDIX_F[2];

const ch = staticRemotekey.channel;
const internal = staticRemotekey.internal_values;

/** The vector channel's public values. */
export const VECTOR = {
  /** Funding txid in internal byte order, as hex (the form a setup stores). */
  fundingTxidHex: toHex(reverse(fromHex(ch.funding_txid))),
  fundingSatoshis: BigInt(ch.funding_amount_satoshi),
  commitmentNumber: ch.commitment_number,
  toSelfDelay: ch.to_self_delay,
  obscuringFactor: parseInt(ch.obscuring_factor, 16),
  localPaymentBasepoint: ch.local_payment_basepoint,
  remotePaymentBasepoint: ch.remote_payment_basepoint,
  localFundingPubkey: ch.local_funding_pubkey,
  remoteFundingPubkey: ch.remote_funding_pubkey,
  localHtlcPubkey: ch.local_htlcpubkey,
  remoteHtlcPubkey: ch.remote_htlcpubkey,
  localDelayedPubkey: ch.local_delayedpubkey,
  localRevocationPubkey: ch.local_revocation_pubkey,
  localPerCommitmentPoint: internal.local_per_commitment_point,
  remoteRevocationBasepoint: internal.remote_revocation_basepoint,
  localDelayedPaymentBasepoint: internal.local_delayed_payment_basepoint,
  fundingWitnessScript: ch.funding_witness_script,
};

/** The spec's HTLCs 0..6 from local's (the broadcaster's) view, with their preimages. */
export const HTLCS: Array<HtlcInfo & { preimage: string }> = staticRemotekey.htlcs.map((h) => ({
  offered: h.local_perspective === "offered",
  amountMsat: BigInt(h.amount_msat),
  paymentHash: toHex(sha256(fromHex(h.payment_preimage))),
  cltvExpiry: h.cltv_expiry,
  preimage: h.payment_preimage,
}));

const fill = (byte: number) => new Uint8Array(32).fill(byte);

/** The keys of local (the opener, broadcaster of every vector commitment). */
export function localKeys(): ChannelKeys {
  return channelKeysFromSecrets(ChannelId.fromBytes(fromHex("0c")), {
    funding: fromHex(ch.local_funding_privkey_raw32),
    payment: fromHex(internal.local_payment_basepoint_secret_raw32),
    // Appendix C uses local_payment_basepoint as local_htlc_basepoint.
    htlc: fromHex(internal.local_payment_basepoint_secret_raw32),
    delayedPayment: fromHex(internal.local_delayed_payment_basepoint_secret_raw32),
    revocation: fill(0x55),
    shaSeed: fill(0x00),
  });
}

/** The keys of remote (the acceptor, who signs local's commitments). */
export function remoteKeys(): ChannelKeys {
  return channelKeysFromSecrets(ChannelId.fromBytes(fromHex("0d")), {
    funding: fromHex(internal.remote_funding_privkey_raw32),
    payment: fromHex(internal.remote_payment_basepoint_secret_raw32),
    // Appendix C uses remote_payment_basepoint as remote_htlc_basepoint.
    htlc: fromHex(internal.remote_payment_basepoint_secret_raw32),
    delayedPayment: fill(0x66),
    revocation: fromHex(internal.remote_revocation_basepoint_secret_raw32),
    shaSeed: fill(0xff),
  });
}

/** The delay remote imposes on local's to_local is the vector's 144; local imposes this one. */
export const LOCAL_IMPOSED_DELAY = 720;

function keysOf(k: ChannelKeys): ChannelSetup["counterparty"] {
  return {
    fundingPubkey: toHex(k.fundingPubkey),
    revocationBasepoint: toHex(k.basepoints.revocation),
    paymentBasepoint: toHex(k.basepoints.payment),
    delayedPaymentBasepoint: toHex(k.basepoints.delayedPayment),
    htlcBasepoint: toHex(k.basepoints.htlc),
  };
}

/** The setup as `side` stores it (`anchors`: Appendix F's zero-fee-HTLC anchors). */
export function vectorSetup(side: "local" | "remote", anchors: boolean): ChannelSetup {
  const local = side === "local";
  return {
    isOutbound: local,
    channelValueSat: VECTOR.fundingSatoshis,
    pushMsat: 0n,
    fundingOutpoint: { txid: VECTOR.fundingTxidHex, vout: ch.funding_output_index },
    holderSelectedContestDelay: local ? LOCAL_IMPOSED_DELAY : VECTOR.toSelfDelay,
    counterpartySelectedContestDelay: local ? VECTOR.toSelfDelay : LOCAL_IMPOSED_DELAY,
    counterparty: keysOf(local ? remoteKeys() : localKeys()),
    holderShutdownScript: "",
    holderShutdownWalletIndex: null,
    counterpartyShutdownScript: "",
    commitmentType: anchors ? "anchors_zero_fee_htlc" : "static_remotekey",
  };
}

/** A ready channel state of `side` with a fresh enforcement. */
export function vectorState(side: "local" | "remote", anchors: boolean): ChannelState {
  return {
    version: 1,
    id: side === "local" ? "0c" : "0d",
    stage: "ready",
    setup: vectorSetup(side, anchors),
    enforcement: initialEnforcement(),
    forgotten: false,
  };
}

/** The operation context of `side` (its keys, a ready state, no chain). */
export function vectorCtx(side: "local" | "remote", anchors: boolean): OpContext {
  return {
    state: vectorState(side, anchors),
    keys: side === "local" ? localKeys() : remoteKeys(),
    chain: UNTRACKED_CHAIN,
  };
}

/** The HTLCs of a case that have an output (those with an HTLC transaction), local's view. */
export function untrimmedHtlcs(c: VectorCase): HtlcInfo[] {
  const present = new Set(c.htlc_txs.map((h) => h.htlc_index));
  return sortHtlcs(
    c.htlcs_in_channel.filter((i) => present.has(i)).map((i) => {
      const { preimage: _, ...h } = HTLCS[i];
      return h;
    }),
  );
}

/**
 * The output values of a case (BOLT #3, Fee Calculation, and the README's confirmed formula):
 * the opener pays the base fee over 724 (1124 with anchors) + 172 per untrimmed HTLC weight, and
 * 2 x 330 sat of anchors; an output below the dust limit is absent (0).
 */
export function caseValues(
  c: VectorCase,
  anchors: boolean,
): { toBroadcasterSat: bigint; toCountersignatorySat: bigint } {
  const weight = BigInt((anchors ? 1124 : 724) + 172 * untrimmedHtlcs(c).length);
  const fee = BigInt(c.local_feerate_per_kw) * weight / 1000n + (anchors ? 660n : 0n);
  const local = BigInt(c.to_local_msat) / 1000n;
  const dust = BigInt(c.local_dust_limit_satoshi);
  const keep = (v: bigint) => (v >= dust ? v : 0n);
  return {
    toBroadcasterSat: keep(local > fee ? local - fee : 0n),
    toCountersignatorySat: keep(BigInt(c.to_remote_msat) / 1000n),
  };
}

/** The commitment info a node describes case `c` with (local's commitment 42). */
export function caseInfo(c: VectorCase, anchors: boolean): CommitmentInfo {
  return {
    number: VECTOR.commitmentNumber,
    perCommitmentPoint: VECTOR.localPerCommitmentPoint,
    feeratePerKw: c.local_feerate_per_kw,
    ...caseValues(c, anchors),
    htlcs: untrimmedHtlcs(c),
  };
}

/** The case's signed commitment transaction, witness removed (what a node would send). */
export function caseTx(c: VectorCase): Tx {
  return stripSignatures(decodeTx(fromHex(c.commitment_tx_hex)));
}

/** A DER signature of the vectors as a compact 64-byte one. */
export function compactSig(der: string): Uint8Array {
  return derDecode(fromHex(der));
}

/** A public key of a fixed secret filled with `byte` (a key nobody in the vectors uses). */
export function foreignKey(byte: number): Uint8Array {
  return publicKey(fill(byte));
}
