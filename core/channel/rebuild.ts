/**
 * Rebuilding, from the signer's own state, the transactions a node asks about: the holder's and
 * the counterparty's commitment for a given {@link CommitmentInfo}, and their HTLC transactions.
 * Everything the signer signs is built here; the node's transactions are only ever compared.
 *
 * @module
 */
import { fromHex } from "../bytes.ts";
import {
  assembleCommitmentTx,
  type AssembledCommitment,
  obscuringFactor,
} from "../bolt3/commitment.ts";
import { buildHtlcTxs, type CommitmentHtlcTransaction } from "../bolt3/htlc_tx.ts";
import { deriveCommitmentKeys } from "../bolt3/keys.ts";
import type { ChannelKeys } from "../keys/types.ts";
import type { ChannelSetup, CommitmentInfo } from "./types.ts";

/** Which side broadcasts a commitment. */
export type Broadcaster = "holder" | "counterparty";

/** A rebuilt commitment with its HTLC transactions and who broadcasts it. */
export interface RebuiltCommitment extends AssembledCommitment {
  /** Whose commitment it is. */
  broadcaster: Broadcaster;
  /** `feerate_per_kw` used for the HTLC transactions. */
  feeratePerKw: number;
  /** One HTLC transaction per HTLC output, in output order. */
  htlcTxs: CommitmentHtlcTransaction[];
}

/** Whether the channel type has zero-fee-HTLC anchors. */
export function isAnchors(setup: ChannelSetup): boolean {
  return setup.commitmentType === "anchors_zero_fee_htlc" || setup.commitmentType === "anchors";
}

/** The BOLT #3 obscuring factor of the channel (opener's payment basepoint first). */
export function channelObscuringFactor(setup: ChannelSetup, keys: ChannelKeys): number {
  const ours = keys.basepoints.payment;
  const theirs = fromHex(setup.counterparty.paymentBasepoint);
  return setup.isOutbound ? obscuringFactor(ours, theirs) : obscuringFactor(theirs, ours);
}

/**
 * The commitment `info` describes, broadcast by `broadcaster`: keys derived from the broadcaster's
 * per-commitment point in `info`, the delay imposed on the broadcaster, the countersignatory's
 * static to_remote key, anchors keyed by the funding keys.
 */
export function rebuildCommitment(
  broadcaster: Broadcaster,
  ctx: { setup: ChannelSetup; keys: ChannelKeys; info: CommitmentInfo },
): RebuiltCommitment {
  const { setup, keys, info } = ctx;
  const cp = setup.counterparty;
  const holder = {
    fundingPubkey: keys.fundingPubkey,
    revocationBasepoint: keys.basepoints.revocation,
    paymentBasepoint: keys.basepoints.payment,
    delayedPaymentBasepoint: keys.basepoints.delayedPayment,
    htlcBasepoint: keys.basepoints.htlc,
  };
  const counterparty = {
    fundingPubkey: fromHex(cp.fundingPubkey),
    revocationBasepoint: fromHex(cp.revocationBasepoint),
    paymentBasepoint: fromHex(cp.paymentBasepoint),
    delayedPaymentBasepoint: fromHex(cp.delayedPaymentBasepoint),
    htlcBasepoint: fromHex(cp.htlcBasepoint),
  };
  const [b, c] = broadcaster === "holder" ? [holder, counterparty] : [counterparty, holder];
  const point = fromHex(info.perCommitmentPoint);
  const commitmentKeys = deriveCommitmentKeys(point, { broadcaster: b, countersignatory: c });
  const anchors = isAnchors(setup);
  const assembled = assembleCommitmentTx({
    fundingOutpoint: {
      txid: fromHex(setup.fundingOutpoint.txid),
      vout: setup.fundingOutpoint.vout,
    },
    fundingSatoshis: setup.channelValueSat,
    commitmentNumber: info.number,
    obscuringFactor: channelObscuringFactor(setup, keys),
    toBroadcasterSat: info.toBroadcasterSat,
    toCountersignatorySat: info.toCountersignatorySat,
    htlcs: info.htlcs.map((h) => ({
      offered: h.offered,
      amountMsat: h.amountMsat,
      paymentHash: fromHex(h.paymentHash),
      cltvExpiry: h.cltvExpiry,
    })),
    toSelfDelay: broadcaster === "holder"
      ? setup.counterpartySelectedContestDelay
      : setup.holderSelectedContestDelay,
    keys: commitmentKeys,
    countersignatoryPaymentBasepoint: c.paymentBasepoint,
    broadcasterFundingPubkey: b.fundingPubkey,
    countersignatoryFundingPubkey: c.fundingPubkey,
    anchors,
  });
  const htlcTxs = buildHtlcTxs({ ...assembled, feeratePerKw: info.feeratePerKw });
  return { ...assembled, broadcaster, feeratePerKw: info.feeratePerKw, htlcTxs };
}
