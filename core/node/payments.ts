/**
 * Payments across channels, per payment hash: what comes in, what goes out. A compromised node
 * steals through payments as easily as through channels (forwarding more than it receives, paying
 * an invoice twice or more than it says), so every commitment request is checked against the
 * node-wide picture (VLS `NodeState::validate_payments`, summaries of `EnforcementState`).
 *
 * One channel's view of a payment hash comes from its latest commitments on both sides:
 * - **outgoing** (we offered the HTLC): the larger of what our commitment and the peer's
 *   commitment carry for the hash — a payment leaves as soon as either side can claim it;
 * - **incoming** (the peer offered it): the smaller, and only when both commitments carry it —
 *   a payment arrives only once both commitments commit to it.
 *
 * Node totals add the channels' views. All pure functions; the signer persists the per-channel
 * views with the channel state in one atomic write.
 *
 * @module
 */
import type { CommitmentInfo } from "../channel/types.ts";

/** One channel's view of one payment hash. */
export interface ChannelPaymentView {
  /** Value offered by us with this hash (msat). */
  outgoingMsat: bigint;
  /** Value offered to us with this hash, committed on both sides (msat). */
  incomingMsat: bigint;
  /** Smallest expiry of the incoming HTLCs with this hash (0 when none). */
  incomingCltvMin: number;
  /** Largest expiry of the outgoing HTLCs with this hash (0 when none). */
  outgoingCltvMax: number;
}

/** A channel's views, by payment hash (hex). */
export type ChannelPayments = Record<string, ChannelPaymentView>;

/** The latest commitments of a channel: ours (pending, else current) and the peer's. */
export interface LatestCommitments {
  /** Our latest commitment (broadcaster = us). */
  holder: CommitmentInfo | null;
  /** The peer's latest commitment (broadcaster = peer). */
  counterparty: CommitmentInfo | null;
}

interface Sums {
  total: bigint;
  cltvMin: number;
  cltvMax: number;
}

function sumBy(
  info: CommitmentInfo | null,
  pick: (offered: boolean) => boolean,
): Map<string, Sums> {
  const out = new Map<string, Sums>();
  for (const h of info?.htlcs ?? []) {
    if (!pick(h.offered)) continue;
    const s = out.get(h.paymentHash) ?? { total: 0n, cltvMin: Infinity, cltvMax: 0 };
    s.total += h.amountMsat;
    s.cltvMin = Math.min(s.cltvMin, h.cltvExpiry);
    s.cltvMax = Math.max(s.cltvMax, h.cltvExpiry);
    out.set(h.paymentHash, s);
  }
  return out;
}

/** A channel's per-hash view from its latest commitments (module documentation). */
export function channelPayments(latest: LatestCommitments): ChannelPayments {
  // Ours offered on our commitment; on the peer's commitment our HTLCs are the ones it receives.
  const outHolder = sumBy(latest.holder, (offered) => offered);
  const outCounterparty = sumBy(latest.counterparty, (offered) => !offered);
  const inHolder = sumBy(latest.holder, (offered) => !offered);
  const inCounterparty = sumBy(latest.counterparty, (offered) => offered);
  const views: ChannelPayments = {};
  const view = (hash: string): ChannelPaymentView =>
    views[hash] ??= { outgoingMsat: 0n, incomingMsat: 0n, incomingCltvMin: 0, outgoingCltvMax: 0 };
  for (const hash of new Set([...outHolder.keys(), ...outCounterparty.keys()])) {
    const a = outHolder.get(hash);
    const b = outCounterparty.get(hash);
    const v = view(hash);
    v.outgoingMsat = (a?.total ?? 0n) > (b?.total ?? 0n) ? a?.total ?? 0n : b?.total ?? 0n;
    v.outgoingCltvMax = Math.max(a?.cltvMax ?? 0, b?.cltvMax ?? 0);
  }
  for (const [hash, a] of inHolder) {
    const b = inCounterparty.get(hash);
    if (b === undefined) continue; // not yet committed on both sides
    const v = view(hash);
    v.incomingMsat = a.total < b.total ? a.total : b.total;
    v.incomingCltvMin = Math.min(a.cltvMin, b.cltvMin);
  }
  return views;
}

/** The node-wide totals of one payment hash. */
export interface PaymentTotals {
  /** Sum of the channels' incoming value. */
  incomingMsat: bigint;
  /** Sum of the channels' outgoing value. */
  outgoingMsat: bigint;
  /** Smallest incoming expiry over the channels (0 when none). */
  incomingCltvMin: number;
  /** Largest outgoing expiry over the channels (0 when none). */
  outgoingCltvMax: number;
  /** Channels (ids) that bring value in for this hash. */
  incomingChannels: string[];
}

/**
 * Node totals per hash, with `channel`'s stored views replaced by `views` (the request being
 * decided), for every hash that `channel` has now or had before.
 */
export function paymentTotals(
  all: Readonly<Record<string, ChannelPayments>>,
  change: { channel: string; views: ChannelPayments },
): Map<string, PaymentTotals> {
  const before = all[change.channel] ?? {};
  const hashes = new Set([...Object.keys(before), ...Object.keys(change.views)]);
  const totals = new Map<string, PaymentTotals>();
  for (const hash of hashes) {
    const t: PaymentTotals = {
      incomingMsat: 0n,
      outgoingMsat: 0n,
      incomingCltvMin: 0,
      outgoingCltvMax: 0,
      incomingChannels: [],
    };
    for (const [channel, views] of Object.entries(all)) {
      if (channel === change.channel) continue;
      add(t, channel, views[hash]);
    }
    add(t, change.channel, change.views[hash]);
    totals.set(hash, t);
  }
  return totals;
}

function add(t: PaymentTotals, channel: string, v: ChannelPaymentView | undefined): void {
  if (v === undefined) return;
  t.outgoingMsat += v.outgoingMsat;
  t.incomingMsat += v.incomingMsat;
  if (v.incomingMsat > 0n) {
    t.incomingChannels.push(channel);
    t.incomingCltvMin = t.incomingCltvMin === 0
      ? v.incomingCltvMin
      : Math.min(t.incomingCltvMin, v.incomingCltvMin);
  }
  if (v.outgoingMsat > 0n) t.outgoingCltvMax = Math.max(t.outgoingCltvMax, v.outgoingCltvMax);
}

/** Whether a channel's views changed (so they need persisting). */
export function samePayments(a: ChannelPayments, b: ChannelPayments): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) =>
    a[k].outgoingMsat === b[k].outgoingMsat && a[k].incomingMsat === b[k].incomingMsat &&
    a[k].incomingCltvMin === b[k].incomingCltvMin && a[k].outgoingCltvMax === b[k].outgoingCltvMax
  );
}
