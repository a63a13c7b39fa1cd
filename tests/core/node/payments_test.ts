import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  broadcastable,
  channelPayments,
  incomingHashes,
  paymentTotals,
  samePayments,
  type SettlementContext,
  settlements,
} from "../../../core/node/payments.ts";
import { commitmentFee } from "../../../core/bolt3/commitment.ts";
import type { CommitmentInfo, Enforcement, HtlcInfo } from "../../../core/channel/types.ts";

const H1 = "11".repeat(32);
const H2 = "22".repeat(32);
const H3 = "33".repeat(32);
const point = "02" + "33".repeat(32);

function info(htlcs: HtlcInfo[], number = 1): CommitmentInfo {
  return {
    number,
    perCommitmentPoint: point,
    feeratePerKw: 253,
    toBroadcasterSat: 1000n,
    toCountersignatorySat: 1000n,
    htlcs,
  };
}
const htlc = (offered: boolean, amountMsat: bigint, hash: string, cltvExpiry: number) => ({
  offered,
  amountMsat,
  paymentHash: hash,
  cltvExpiry,
});
const none = { outgoingMsat: 0n, incomingMsat: 0n, incomingCltvMin: 0, outgoingCltvMax: 0 };

Deno.test("outgoing counts while any commitment carries it; incoming only when all do", () => {
  // Our outgoing HTLC is on the peer's commitment only (we signed it, it did not answer yet).
  const views = channelPayments({
    holder: [info([htlc(false, 5_000n, H2, 600)])], // incoming H2 on ours
    counterparty: [info([htlc(false, 7_000n, H1, 500)])], // our outgoing H1 on theirs (received)
  });
  deepStrictEqual(views[H1], { ...none, outgoingMsat: 7_000n, outgoingCltvMax: 500 });
  deepStrictEqual(views[H2], none, "incoming H2 is on one side only: on the channel, not arrived");
  const both = channelPayments({
    holder: [info([htlc(false, 5_000n, H2, 600)])],
    counterparty: [info([htlc(true, 4_000n, H2, 610)])],
  });
  strictEqual(both[H2].incomingMsat, 4_000n, "the smaller of the two sides");
  strictEqual(both[H2].incomingCltvMin, 600);
});

Deno.test("the peer's unrevoked previous commitment without the HTLC keeps incoming at 0", () => {
  const withHtlc = info([htlc(true, 4_000n, H2, 610)], 1);
  const ours = info([htlc(false, 4_000n, H2, 610)], 1);
  const views = channelPayments({ holder: [ours], counterparty: [withHtlc, info([], 0)] });
  deepStrictEqual(views[H2], none);
  // Our own previous commitment counts too while the pending one is not yet current.
  const pending = channelPayments({ holder: [info([], 0), ours], counterparty: [withHtlc] });
  deepStrictEqual(pending[H2], none);
  const committed = channelPayments({ holder: [ours], counterparty: [withHtlc] });
  strictEqual(committed[H2].incomingMsat, 4_000n);
  // Outgoing: the most any of them carries.
  const out = channelPayments({
    holder: [info([htlc(true, 3_000n, H1, 500)], 0), info([], 1)],
    counterparty: [info([htlc(false, 2_000n, H1, 520)])],
  });
  deepStrictEqual(out[H1], { ...none, outgoingMsat: 3_000n, outgoingCltvMax: 520 });
  strictEqual(channelPayments({ holder: [], counterparty: [withHtlc] })[H2].incomingMsat, 0n);
});

Deno.test("broadcastable: current and pending holder, current and unrevoked previous peer's", () => {
  const c = (n: number) => info([], n);
  const e = (o: Partial<Enforcement>): Enforcement => ({
    nextHolderCommitNum: 2,
    nextCounterpartyCommitNum: 2,
    nextCounterpartyRevokeNum: 0,
    currentHolder: { info: c(0), counterpartySig: "", counterpartyHtlcSigs: [], warnings: [] },
    pendingHolder: { info: c(1), counterpartySig: "", counterpartyHtlcSigs: [], warnings: [] },
    currentCounterparty: c(1),
    previousCounterparty: c(0),
    counterpartySecrets: { version: 1, entries: [] },
    closed: false,
    forceClosedNumber: null,
    initialHolderValueSat: 0n,
    ...o,
  });
  const numbers = (x: Enforcement) => {
    const b = broadcastable(x);
    return [b.holder.map((i) => i.number), b.counterparty.map((i) => i.number)];
  };
  deepStrictEqual(numbers(e({})), [[0, 1], [1, 0]]);
  deepStrictEqual(numbers(e({ nextCounterpartyRevokeNum: 1, pendingHolder: null })), [[0], [1]]);
  deepStrictEqual(
    numbers(
      e({
        currentHolder: null,
        pendingHolder: null,
        currentCounterparty: null,
        previousCounterparty: null,
      }),
    ),
    [[], []],
  );
  const both = broadcastable(e({}));
  both.counterparty[1] = info([htlc(true, 1_000n, H3, 9)], 0);
  deepStrictEqual([...incomingHashes(both)], [H3]);
});

Deno.test("node totals replace the changing channel's view and keep the others", () => {
  const all = {
    a: {
      [H1]: { outgoingMsat: 0n, incomingMsat: 10_000n, incomingCltvMin: 700, outgoingCltvMax: 0 },
    },
    b: {
      [H1]: { outgoingMsat: 9_000n, incomingMsat: 0n, incomingCltvMin: 0, outgoingCltvMax: 650 },
    },
  };
  const t = paymentTotals(all, {
    channel: "b",
    views: {
      [H1]: { outgoingMsat: 12_000n, incomingMsat: 0n, incomingCltvMin: 0, outgoingCltvMax: 660 },
    },
  });
  const h = t.get(H1);
  strictEqual(h?.incomingMsat, 10_000n);
  strictEqual(h?.outgoingMsat, 12_000n, "b's stored 9000 is replaced, not added");
  strictEqual(h?.incomingCltvMin, 700);
  strictEqual(h?.outgoingCltvMax, 660);
  deepStrictEqual(h?.incomingChannels, ["a"]);
  // A hash the channel had before and no longer has still gets a total (the removal applies).
  const gone = paymentTotals(all, { channel: "b", views: {} });
  strictEqual(gone.get(H1)?.outgoingMsat, 0n);
});

Deno.test("samePayments compares every field", () => {
  const v = {
    [H1]: { outgoingMsat: 1n, incomingMsat: 0n, incomingCltvMin: 0, outgoingCltvMax: 5 },
  };
  strictEqual(samePayments(v, structuredClone(v)), true);
  strictEqual(samePayments(v, { [H1]: { ...v[H1], outgoingCltvMax: 6 } }), false);
  strictEqual(samePayments(v, {}), false);
});

// -------------------------------------------------------------------------------------------------
// settlements: balances of a 1M-sat channel at 253 sat/kw, as BOLT #3 builds them.

const VALUE = 1_000_000n;

/**
 * A commitment of `ours` (our holder commitment) or the peer's, from the two balances (msat,
 * before HTLCs) and the HTLCs (`out`: we offered it); the opener pays the fee.
 */
function commitment(
  o: {
    us: bigint;
    peer: bigint;
    htlcs?: { out: boolean; msat: bigint; hash: string }[];
    ours: boolean;
    weOpened?: boolean;
    number?: number;
  },
): CommitmentInfo {
  const htlcs = (o.htlcs ?? []).map((h) => htlc(h.out === o.ours, h.msat, h.hash, 500));
  const fee = commitmentFee(253, { numUntrimmedHtlcs: htlcs.length, anchors: false });
  const weOpened = o.weOpened ?? true;
  const us = o.us / 1000n - (weOpened ? fee : 0n);
  const peer = o.peer / 1000n - (weOpened ? 0n : fee);
  return {
    number: o.number ?? 1,
    perCommitmentPoint: point,
    feeratePerKw: 253,
    toBroadcasterSat: o.ours ? us : peer,
    toCountersignatorySat: o.ours ? peer : us,
    htlcs,
  };
}

function ctx(
  o: { forwards?: string[]; settled?: string[]; weOpened?: boolean },
): SettlementContext {
  return {
    channelValueSat: VALUE,
    weOpened: o.weOpened ?? true,
    anchors: false,
    isForward: (h) => (o.forwards ?? [H1]).includes(h),
    outgoingSettled: (h) => (o.settled ?? []).includes(h),
  };
}

const names = (s: Set<string>) => [...s].sort();

Deno.test("settlements: an outgoing forward that leaves paid to the peer counts as settled", () => {
  for (const ours of [true, false]) {
    for (const weOpened of [true, false]) {
      const us = 600_000_000n;
      const peer = 400_000_000n - 7_000_000n;
      const out = { out: true, msat: 49_000_000n, hash: H1 };
      const other = { out: false, msat: 7_000_000n, hash: H2 };
      const previous = commitment({
        us: us - 49_000_000n,
        peer,
        htlcs: [out, other],
        ours,
        weOpened,
      });
      const c = ctx({ weOpened });
      const failed = commitment({ us, peer, htlcs: [other], ours, weOpened, number: 2 });
      const t = { previous, ours };
      deepStrictEqual(names(settlements({ ...t, next: failed }, c).settledOutgoing), []);
      const paid = commitment({
        us: us - 49_000_000n,
        peer: peer + 49_000_000n,
        htlcs: [other],
        ours,
        weOpened,
        number: 2,
      });
      const read = settlements({ ...t, next: paid }, c);
      deepStrictEqual(names(read.settledOutgoing), [H1], `ours ${ours}, we opened ${weOpened}`);
      deepStrictEqual(names(read.failedAfterSettled), []);
      // Not a forward (no incoming HTLC with the hash anywhere): a payment, not recorded.
      const payment = settlements({ ...t, next: paid }, { ...c, isForward: () => false });
      deepStrictEqual(names(payment.settledOutgoing), []);
    }
  }
});

Deno.test("settlements: the settled value of an approved payment is reported", () => {
  for (const ours of [true, false]) {
    const us = 600_000_000n;
    const peer = 400_000_000n - 7_000_000n;
    const out = { out: true, msat: 49_000_000n, hash: H1 };
    const other = { out: false, msat: 7_000_000n, hash: H2 };
    const previous = commitment({ us: us - 49_000_000n, peer, htlcs: [out, other], ours });
    const c = { ...ctx({}), isForward: () => false, isApproved: (h: string) => h === H1 };
    const t = { previous, ours };
    const failed = commitment({ us, peer, htlcs: [other], ours, number: 2 });
    deepStrictEqual([...settlements({ ...t, next: failed }, c).settledApprovedMsat], []);
    const paid = commitment({
      us: us - 49_000_000n,
      peer: peer + 49_000_000n,
      htlcs: [other],
      ours,
      number: 2,
    });
    const read = settlements({ ...t, next: paid }, c);
    deepStrictEqual([...read.settledApprovedMsat], [[H1, 49_000_000n]], `ours ${ours}`);
    // A payment is not a forward: nothing for `node/settled`.
    deepStrictEqual(names(read.settledOutgoing), []);
    // Without isApproved (or not approved), nothing is reported.
    deepStrictEqual([...settlements({ ...t, next: paid }, ctx({})).settledApprovedMsat], []);
  }
});

Deno.test("settlements: an incoming HTLC failed back after its forward settled is reported", () => {
  for (const ours of [true, false]) {
    const us = 650_000_000n;
    const peer = 300_000_000n;
    const inc = { out: false, msat: 50_000_000n, hash: H1 };
    const previous = commitment({ us, peer, htlcs: [inc], ours });
    const failedBack = commitment({ us, peer: peer + 50_000_000n, ours, number: 2 });
    const claimed = commitment({ us: us + 50_000_000n, peer, ours, number: 2 });
    const settled = ctx({ settled: [H1] });
    const t = { previous, ours };
    deepStrictEqual(names(settlements({ ...t, next: failedBack }, settled).failedAfterSettled), [
      H1,
    ]);
    deepStrictEqual(names(settlements({ ...t, next: claimed }, settled).failedAfterSettled), []);
    // Before any outgoing HTLC settled, failing back is the node's right.
    deepStrictEqual(names(settlements({ ...t, next: failedBack }, ctx({})).failedAfterSettled), []);
  }
});

Deno.test("settlements: both sides of a forward on one channel in one commitment", () => {
  const us = 601_000_000n;
  const peer = 300_000_000n;
  const out = { out: true, msat: 49_000_000n, hash: H1 };
  const inc = { out: false, msat: 50_000_000n, hash: H1 };
  const previous = commitment({ us, peer, htlcs: [out, inc], ours: true });
  const t = { previous, ours: true };
  const next = (dUs: bigint, dPeer: bigint) =>
    commitment({ us: us + dUs, peer: peer + dPeer, ours: true, number: 2 });
  // Both settled: we gain the fee.
  const both = settlements({ ...t, next: next(50_000_000n, 49_000_000n) }, ctx({}));
  deepStrictEqual([names(both.settledOutgoing), names(both.failedAfterSettled)], [[H1], []]);
  // Both failed.
  const none = settlements({ ...t, next: next(49_000_000n, 50_000_000n) }, ctx({}));
  deepStrictEqual([names(none.settledOutgoing), names(none.failedAfterSettled)], [[], []]);
  // The drain: the outgoing paid, the incoming returned.
  const drain = settlements({ ...t, next: next(0n, 99_000_000n) }, ctx({}));
  deepStrictEqual([names(drain.settledOutgoing), names(drain.failedAfterSettled)], [[H1], [H1]]);
});

Deno.test("settlements: other HTLCs removed at once explain value only as a whole", () => {
  const peer = 300_000_000n;
  const inc = { out: false, msat: 50_000_000n, hash: H1 };
  const us = (other: bigint) => VALUE * 1000n - peer - 50_000_000n - other;
  const t = (other: bigint) => ({
    previous: commitment({
      us: us(other),
      peer,
      htlcs: [inc, { out: true, msat: other, hash: H2 }],
      ours: false,
    }),
    ours: false,
  });
  const settled = ctx({ settled: [H1] });
  // Our 30k payment H2 settles and the incoming 50k is claimed: the balances say so.
  const claimed = commitment({
    us: us(30_000_000n) + 50_000_000n,
    peer: peer + 30_000_000n,
    ours: false,
  });
  deepStrictEqual(
    names(settlements({ ...t(30_000_000n), next: claimed }, settled).failedAfterSettled),
    [],
  );
  // The incoming failed back while H2 failed too: our output rises by H2 only.
  const failed = commitment({
    us: us(30_000_000n) + 30_000_000n,
    peer: peer + 50_000_000n,
    ours: false,
  });
  deepStrictEqual(
    names(settlements({ ...t(30_000_000n), next: failed }, settled).failedAfterSettled),
    [H1],
  );
  // With equal amounts the two readings give the same balances: the conservative one is taken.
  const same = commitment({
    us: us(50_000_000n) + 50_000_000n,
    peer: peer + 50_000_000n,
    ours: false,
  });
  deepStrictEqual(
    names(settlements({ ...t(50_000_000n), next: same }, settled).failedAfterSettled),
    [H1],
  );
});

Deno.test("settlements: value that appears from nowhere is read conservatively", () => {
  const out = { out: true, msat: 49_000_000n, hash: H1 };
  const previous = commitment({ us: 551_000_000n, peer: 400_000_000n, htlcs: [out], ours: true });
  // 100k sat more for us than any fate of the HTLC explains.
  const next = commitment({ us: 700_000_000n, peer: 300_000_000n, ours: true, number: 2 });
  deepStrictEqual(names(settlements({ previous, next, ours: true }, ctx({})).settledOutgoing), [
    H1,
  ]);
});
