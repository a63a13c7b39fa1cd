import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { channelPayments, paymentTotals, samePayments } from "../../../core/node/payments.ts";
import type { CommitmentInfo, HtlcInfo } from "../../../core/channel/types.ts";

const H1 = "11".repeat(32);
const H2 = "22".repeat(32);
const point = "02" + "33".repeat(32);

function info(htlcs: HtlcInfo[]): CommitmentInfo {
  return {
    number: 1,
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

Deno.test("outgoing counts as soon as either side carries it; incoming only when both do", () => {
  // Our outgoing HTLC is on the peer's commitment only (we signed it, it did not answer yet).
  const views = channelPayments({
    holder: info([htlc(false, 5_000n, H2, 600)]), // incoming H2 on ours
    counterparty: info([htlc(false, 7_000n, H1, 500)]), // our outgoing H1 on theirs (received)
  });
  deepStrictEqual(views[H1], {
    outgoingMsat: 7_000n,
    incomingMsat: 0n,
    incomingCltvMin: 0,
    outgoingCltvMax: 500,
  });
  strictEqual(views[H2], undefined, "incoming H2 is on one side only: not yet arrived");
  const both = channelPayments({
    holder: info([htlc(false, 5_000n, H2, 600)]),
    counterparty: info([htlc(true, 4_000n, H2, 610)]),
  });
  strictEqual(both[H2].incomingMsat, 4_000n, "the smaller of the two sides");
  strictEqual(both[H2].incomingCltvMin, 600);
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
