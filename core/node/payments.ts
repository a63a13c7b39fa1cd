/**
 * Payments across channels, per payment hash: what comes in, what goes out. A compromised node
 * steals through payments as easily as through channels (forwarding more than it receives, paying
 * an invoice twice or more than it says, failing back a forward whose outgoing side it let
 * settle), so every commitment request is checked against the node-wide picture (VLS
 * `NodeState::validate_payments`, summaries of `EnforcementState`).
 *
 * One channel's view of a payment hash comes from every commitment of the channel that can still
 * be broadcast ({@link broadcastable}): our current commitment and the validated pending one, the
 * peer's current commitment and its previous one while the peer has not revoked it.
 * - **outgoing** (we offered the HTLC): the largest value any of them carries for the hash — a
 *   payment leaves as soon as one of them can pay it, and until none can;
 * - **incoming** (the peer offered it): the smallest, and only when every one of them carries it —
 *   a payment arrives only once no commitment without it can be broadcast (BOLT #2: irrevocably
 *   committed).
 *
 * Node totals add the channels' views. {@link settlements} reads how HTLCs left a commitment
 * (settled or failed) from the balances, which needs no preimage. All pure functions; the signer
 * persists the per-channel views with the channel state in one atomic write.
 *
 * @module
 */
import { ANCHOR_OUTPUT_SATOSHIS, commitmentFee } from "../bolt3/commitment.ts";
import type { CommitmentInfo, Enforcement, HtlcInfo } from "../channel/types.ts";

/** One channel's view of one payment hash (present while any of its HTLCs is on the channel). */
export interface ChannelPaymentView {
  /** Value offered by us with this hash (msat): the most any broadcastable commitment carries. */
  outgoingMsat: bigint;
  /** Value offered to us with this hash, carried by every broadcastable commitment (msat). */
  incomingMsat: bigint;
  /** Smallest expiry of the incoming HTLCs with this hash (0 when none counts). */
  incomingCltvMin: number;
  /** Largest expiry of the outgoing HTLCs with this hash (0 when none). */
  outgoingCltvMax: number;
}

/** A channel's views, by payment hash (hex). */
export type ChannelPayments = Record<string, ChannelPaymentView>;

/** The commitments of a channel that can still be broadcast. */
export interface BroadcastableCommitments {
  /** Ours (broadcaster = us): the current one and the validated pending one, if any. */
  holder: CommitmentInfo[];
  /** The peer's (broadcaster = peer): its current one and its previous one while unrevoked. */
  counterparty: CommitmentInfo[];
}

/**
 * The commitments of a channel that can still be broadcast: our current and pending holder
 * commitments, the peer's current commitment and its previous one while its number is at least
 * the next number the peer must revoke (it has not revealed that commitment's secret yet).
 */
export function broadcastable(e: Enforcement): BroadcastableCommitments {
  const holder = [e.currentHolder?.info, e.pendingHolder?.info]
    .filter((i): i is CommitmentInfo => i !== undefined);
  const previous = e.previousCounterparty;
  const counterparty = [
    e.currentCounterparty,
    previous !== null && previous.number >= e.nextCounterpartyRevokeNum ? previous : null,
  ].filter((i): i is CommitmentInfo => i !== null);
  return { holder, counterparty };
}

interface Sums {
  total: bigint;
  cltvMin: number;
  cltvMax: number;
}

function sumBy(info: CommitmentInfo, pick: (offered: boolean) => boolean): Map<string, Sums> {
  const out = new Map<string, Sums>();
  for (const h of info.htlcs) {
    if (!pick(h.offered)) continue;
    const s = out.get(h.paymentHash) ?? { total: 0n, cltvMin: Infinity, cltvMax: 0 };
    s.total += h.amountMsat;
    s.cltvMin = Math.min(s.cltvMin, h.cltvExpiry);
    s.cltvMax = Math.max(s.cltvMax, h.cltvExpiry);
    out.set(h.paymentHash, s);
  }
  return out;
}

/** Every commitment of `b` with whether we broadcast it. */
function sides(b: BroadcastableCommitments): { info: CommitmentInfo; ours: boolean }[] {
  return [
    ...b.holder.map((info) => ({ info, ours: true })),
    ...b.counterparty.map((info) => ({ info, ours: false })),
  ];
}

/** A channel's per-hash view from its broadcastable commitments (module documentation). */
export function channelPayments(b: BroadcastableCommitments): ChannelPayments {
  const all = sides(b);
  // Our HTLCs are the ones we offer on our commitment and the ones the peer receives on its own.
  const outgoing = all.map((c) => sumBy(c.info, (offered) => offered === c.ours));
  const incoming = all.map((c) => sumBy(c.info, (offered) => offered !== c.ours));
  const bothSides = b.holder.length > 0 && b.counterparty.length > 0;
  const views: ChannelPayments = {};
  const hashes = new Set([...outgoing, ...incoming].flatMap((m) => [...m.keys()]));
  for (const hash of [...hashes].sort()) {
    const v: ChannelPaymentView = {
      outgoingMsat: 0n,
      incomingMsat: 0n,
      incomingCltvMin: 0,
      outgoingCltvMax: 0,
    };
    for (const m of outgoing) {
      const s = m.get(hash);
      if (s === undefined) continue;
      if (s.total > v.outgoingMsat) v.outgoingMsat = s.total;
      v.outgoingCltvMax = Math.max(v.outgoingCltvMax, s.cltvMax);
    }
    const carried = incoming.map((m) => m.get(hash));
    if (bothSides && carried.every((s) => s !== undefined)) {
      const counted = carried as Sums[];
      v.incomingMsat = counted.reduce(
        (min, s) => (s.total < min ? s.total : min),
        counted[0].total,
      );
      v.incomingCltvMin = Math.min(...counted.map((s) => s.cltvMin));
    }
    views[hash] = v;
  }
  return views;
}

/** Payment hashes of the incoming HTLCs any of `b`'s commitments carries. */
export function incomingHashes(b: BroadcastableCommitments): Set<string> {
  const out = new Set<string>();
  for (const c of sides(b)) {
    for (const h of c.info.htlcs) if (h.offered !== c.ours) out.add(h.paymentHash);
  }
  return out;
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

/** Two consecutive commitments of one side of a channel (the same broadcaster). */
export interface CommitmentTransition {
  /** The commitment before. */
  previous: CommitmentInfo;
  /** The commitment after. */
  next: CommitmentInfo;
  /** We broadcast them (our holder commitments); false for the peer's. */
  ours: boolean;
}

/** What {@link settlements} needs to know about the channel and the node's payments. */
export interface SettlementContext {
  /** The channel value (sat). */
  channelValueSat: bigint;
  /** We opened the channel: the commitment fee and the anchors come out of our output. */
  weOpened: boolean;
  /** Anchor outputs (BOLT #3 `option_anchors`). */
  anchors: boolean;
  /** Some channel carries an incoming HTLC with the hash: an outgoing one is a forward. */
  isForward(hash: string): boolean;
  /** An outgoing HTLC with the hash already left a commitment as settled (the book's record). */
  outgoingSettled(hash: string): boolean;
  /**
   * We approved paying the hash (an invoice or keysend): how much of its outgoing value settled
   * is reported in {@link Settlements.settledApprovedMsat}. Default: none is.
   */
  isApproved?(hash: string): boolean;
}

/** The result of {@link settlements}. */
export interface Settlements {
  /** Forwarded hashes whose outgoing HTLCs this transition may have settled (paid the peer). */
  settledOutgoing: Set<string>;
  /**
   * Hashes whose incoming HTLCs this transition may fail back (their value returns to the peer)
   * although an outgoing HTLC with the hash settled, before or in this transition.
   */
  failedAfterSettled: Set<string>;
  /**
   * Per approved hash ({@link SettlementContext.isApproved}), the value (msat) of its outgoing
   * HTLCs this transition may have settled: the most over the fates that explain our output (all
   * of them past {@link MAX_ENUMERATED}), so a payment is never counted as less than it may be.
   */
  settledApprovedMsat: Map<string, bigint>;
}

/** Up to this many HTLCs are enumerated exactly (2^n fates); beyond, the reading is conservative. */
const MAX_ENUMERATED = 12;

function htlcKey(h: HtlcInfo): string {
  return `${h.offered}:${h.amountMsat}:${h.paymentHash}:${h.cltvExpiry}`;
}

/** The HTLCs of `a` that `b` lacks (as multisets). */
function minus(a: HtlcInfo[], b: HtlcInfo[]): HtlcInfo[] {
  const left = new Map<string, number>();
  for (const h of b) left.set(htlcKey(h), (left.get(htlcKey(h)) ?? 0) + 1);
  return a.filter((h) => {
    const n = left.get(htlcKey(h)) ?? 0;
    if (n === 0) return true;
    left.set(htlcKey(h), n - 1);
    return false;
  });
}

const sat = (h: HtlcInfo): bigint => h.amountMsat / 1000n;
const sum = (hs: HtlcInfo[]): bigint => hs.reduce((s, h) => s + sat(h), 0n);

/** BOLT #3 fee plus the anchors of a commitment (what its opener pays besides HTLCs). */
function openerCosts(info: CommitmentInfo, anchors: boolean): bigint {
  const fee = commitmentFee(info.feeratePerKw, { numUntrimmedHtlcs: info.htlcs.length, anchors });
  if (!anchors) return fee;
  const any = info.htlcs.length > 0;
  const count = (info.toBroadcasterSat > 0n || any ? 1n : 0n) +
    (info.toCountersignatorySat > 0n || any ? 1n : 0n);
  return fee + count * ANCHOR_OUTPUT_SATOSHIS;
}

/**
 * Value a commitment does not show: trimmed HTLCs, outputs below dust and sub-satoshi rounding
 * (the channel value less the outputs, the fee and the anchors; 0 when the opener could not pay).
 */
function hiddenSat(info: CommitmentInfo, ctx: SettlementContext): bigint {
  const shown = info.toBroadcasterSat + info.toCountersignatorySat + sum(info.htlcs) +
    openerCosts(info, ctx.anchors);
  return ctx.channelValueSat > shown ? ctx.channelValueSat - shown : 0n;
}

/** Every sum of a subset of `values`, sorted ascending, without duplicates. */
function subsetSums(values: bigint[]): bigint[] {
  let sums = [0n];
  for (const v of values) sums = [...sums, ...sums.map((s) => s + v)];
  return [...new Set(sums)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Whether a sorted `sums` has a value in [lo, hi]. */
function anyWithin(sums: bigint[], lo: bigint, hi: bigint): boolean {
  let [i, j] = [0, sums.length];
  while (i < j) {
    const m = (i + j) >> 1;
    if (sums[m] < lo) i = m + 1;
    else j = m;
  }
  return i < sums.length && sums[i] <= hi;
}

/**
 * How the HTLCs that left a commitment between `t.previous` and `t.next` left it: a removed HTLC
 * either settled (its value goes to the side it was offered to) or failed (back to the side that
 * offered it), and only our output tells which, so no preimage is needed (CLN shows none).
 *
 * Our output moves by the value coming to us (our outgoing HTLCs failed, incoming ones settled),
 * less our new outgoing HTLCs and, when we opened the channel, the change of fee and anchors;
 * what the commitments do not show (trimmed HTLCs, dust, rounding) widens the reading by that
 * much. Every assignment of fates to the removed HTLCs that explains the move is considered: an
 * outgoing forward that settles in any of them counts as settled (it must then be matched by its
 * incoming side), and a hash whose incoming HTLC fails in any of them while its outgoing side
 * settled (before, or in the same assignment) is reported. HTLCs that concern neither are only
 * value that may explain the move. Past {@link MAX_ENUMERATED} concerned HTLCs, every concerned
 * outgoing HTLC counts as settled and every concerned incoming one as failed.
 */
export function settlements(t: CommitmentTransition, ctx: SettlementContext): Settlements {
  const out: Settlements = {
    settledOutgoing: new Set(),
    failedAfterSettled: new Set(),
    settledApprovedMsat: new Map(),
  };
  const removed = minus(t.previous.htlcs, t.next.htlcs);
  const isOut = (h: HtlcInfo) => h.offered === t.ours;
  const approved = (hash: string) => ctx.isApproved?.(hash) ?? false;
  const outgoing = removed.filter((h) =>
    isOut(h) && (ctx.isForward(h.paymentHash) || approved(h.paymentHash))
  );
  const outHashes = new Set(outgoing.map((h) => h.paymentHash));
  const incoming = removed.filter((h) =>
    !isOut(h) && (ctx.outgoingSettled(h.paymentHash) || outHashes.has(h.paymentHash))
  );
  if (outgoing.length === 0 && incoming.length === 0) return out;
  const concerned = [...outgoing, ...incoming];
  const others = removed.filter((h) => !concerned.includes(h)).map(sat);
  const paid = (hs: HtlcInfo[]): Map<string, bigint> => {
    const m = new Map<string, bigint>();
    for (const h of hs) {
      if (approved(h.paymentHash)) {
        m.set(h.paymentHash, (m.get(h.paymentHash) ?? 0n) + h.amountMsat);
      }
    }
    return m;
  };
  const conservative = () => {
    for (const h of outgoing) {
      if (ctx.isForward(h.paymentHash)) out.settledOutgoing.add(h.paymentHash);
    }
    for (const h of incoming) out.failedAfterSettled.add(h.paymentHash);
    out.settledApprovedMsat = paid(outgoing);
    return out;
  };
  if (concerned.length > MAX_ENUMERATED) return conservative();
  // The value that came to us through removed HTLCs, as our output shows it.
  const added = minus(t.next.htlcs, t.previous.htlcs);
  const ours = (i: CommitmentInfo) => (t.ours ? i.toBroadcasterSat : i.toCountersignatorySat);
  let toUs = ours(t.next) - ours(t.previous) + sum(added.filter(isOut));
  if (ctx.weOpened) {
    toUs += openerCosts(t.next, ctx.anchors) - openerCosts(t.previous, ctx.anchors);
  }
  const rounding = BigInt(removed.length + added.length + 1);
  const lo = -(hiddenSat(t.next, ctx) + rounding);
  const hi = hiddenSat(t.previous, ctx) + rounding;
  // The other removed HTLCs may have brought any subset of their values (a range past the cap).
  const sums = others.length <= MAX_ENUMERATED ? subsetSums(others) : null;
  const total = others.reduce((s, v) => s + v, 0n);
  const explained = (rest: bigint) =>
    sums === null ? rest - hi <= total && rest - lo >= 0n : anyWithin(sums, rest - hi, rest - lo);
  let consistent = false;
  for (let mask = 0; mask < 1 << concerned.length; mask++) {
    // Bit set: the value came to us (an outgoing HTLC failed, an incoming one settled).
    let came = 0n;
    concerned.forEach((h, i) => {
      if (mask & (1 << i)) came += sat(h);
    });
    if (!explained(toUs - came)) continue;
    consistent = true;
    const settled = new Set<string>();
    const settledHtlcs: HtlcInfo[] = [];
    concerned.forEach((h, i) => {
      if (isOut(h) && !(mask & (1 << i))) {
        settledHtlcs.push(h);
        if (ctx.isForward(h.paymentHash)) settled.add(h.paymentHash);
      }
    });
    for (const hash of settled) out.settledOutgoing.add(hash);
    for (const [hash, msat] of paid(settledHtlcs)) {
      if (msat > (out.settledApprovedMsat.get(hash) ?? 0n)) out.settledApprovedMsat.set(hash, msat);
    }
    concerned.forEach((h, i) => {
      const failed = !isOut(h) && !(mask & (1 << i));
      if (failed && (ctx.outgoingSettled(h.paymentHash) || settled.has(h.paymentHash))) {
        out.failedAfterSettled.add(h.paymentHash);
      }
    });
  }
  return consistent ? out : conservative();
}
