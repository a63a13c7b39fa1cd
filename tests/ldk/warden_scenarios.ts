/**
 * The honest scenarios of node A signed by Warden, each run end to end with its assertions: the
 * LDK tests (warden_test.ts) run them, and record_traffic.ts runs the small versions to write the
 * traffic files under tests/traffic/. Every scenario ends by checking that the signer refused
 * nothing and neither node met a problem. The steps both harnesses share are in
 * scenario_common.ts; here they are completed with what the in-process signer's state shows.
 *
 * @module
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fromHex, toHex } from "../../core/bytes.ts";
import { ChannelId } from "../../core/keys/types.ts";
import type { ChannelState } from "../../core/channel/types.ts";
import { toJson } from "../../core/store/json.ts";
import * as common from "./scenario_common.ts";
import type { WardenChannel, WardenHarness } from "./warden_node.ts";

export { VALUE } from "./scenario_common.ts";

/** The only channel of the signer that is set up (the adapter pools stubs besides it). */
export async function signerChannel(
  w: WardenHarness,
  channel: WardenChannel,
): Promise<{ id: ChannelId; state: ChannelState }> {
  for (const hex of w.provider.channels()) {
    const id = ChannelId.fromKeysId(fromHex(hex));
    const state = await w.signer.channelState(id);
    const o = state?.setup?.fundingOutpoint;
    if (
      state && o && o.txid === common.internalTxid(channel.funding.txid) &&
      o.vout === channel.funding.vout
    ) {
      return { id, state };
    }
  }
  throw new Error(`the signer has no channel funded by ${channel.funding.txid}`);
}

/** Nothing refused, no node issue, no rejected broadcast other than the expected ones. */
export function expectHonest(w: WardenHarness): void {
  common.expectNothingRefused(w);
}

/** The request arguments the signer received for `method`, in order. */
export function requestsOf(w: WardenHarness, method: string): unknown[][] {
  return w.requestsOf(method);
}

function numbers(w: WardenHarness, method: string): number[] {
  return requestsOf(w, method).map((a) =>
    typeof a[0] === "number" ? a[0] : (a[0] as { number: number }).number
  );
}

/**
 * LDK's look-ahead: after validating holder commitment n (n >= 1) it asks for point n + 2 before
 * revoking n - 1. Returns how many such early requests the signer answered.
 */
export function earlyPointRequests(w: WardenHarness): number {
  let early = 0;
  const seen = w.tamper.seen;
  seen.forEach((s, i) => {
    if (s.method !== "validateHolderCommitment") return;
    const n = (s.args[0] as { number: number }).number;
    if (n === 0) return;
    const revoke = seen.findIndex((r, j) =>
      j > i && r.method === "revokeHolderCommitment" && r.args[0] === n - 1
    );
    const point = seen.findIndex((r, j) =>
      j > i && r.method === "getPerCommitmentPoint" && r.args[0] === n + 2
    );
    if (point > i && (revoke === -1 || point < revoke)) early++;
  });
  return early;
}

/**
 * `n` payments each way between the opener and the acceptor (the opener pays first: the acceptor
 * needs a balance above its reserve). Returns the net amount (sat) that moved to the acceptor.
 */
export function payBothWays(
  w: WardenHarness,
  o: { opener: string; acceptor: string; n: number; reconnectAt?: number },
): Promise<bigint> {
  return common.payEachWay(w, {
    opener: o.opener,
    acceptor: o.acceptor,
    n: o.n,
    interruptAt: o.reconnectAt,
    interrupt: async (start, { from, to, i }) => {
      // Drop the connection in the middle of the payment: LDK re-establishes the channel and
      // retransmits; the signer sees the same requests again and answers them the same way.
      for (const c of w.h.net.connections()) w.h.net.disconnect(c);
      await w.settle();
      w.h.connect(o.opener, o.acceptor);
      await w.settle();
      const r = w.h.paymentStatus({ from, to, paymentHash: start.paymentHash });
      strictEqual(r.status, "succeeded", `payment ${from}->${to} ${i} after a reconnect`);
    },
  });
}

/** Open A->B (or B->A), `n` payments each way, cooperative close; everything checked. */
export async function openPayClose(
  w: WardenHarness,
  o: { outbound: boolean; n: number; reconnectAt?: number },
): Promise<void> {
  const [opener, acceptor] = o.outbound ? ["A", "B"] : ["B", "A"];
  const ch = await common.openUsable(w, { from: opener, to: acceptor });
  strictEqual(w.h.channelState(ch.channelId).A?.isOutbound, o.outbound);
  // The signer's setup from LDK's channel parameters.
  const { id, state: opened } = await signerChannel(w, ch);
  const setup = opened.setup;
  ok(setup);
  common.expectDefaultSetup(setup, { outbound: o.outbound });
  deepStrictEqual(setup.fundingOutpoint, {
    txid: common.internalTxid(ch.funding.txid),
    vout: ch.funding.vout,
  });
  strictEqual(opened.enforcement.initialHolderValueSat, o.outbound ? common.VALUE : 0n);
  // The signer follows the chain from the blocks it is fed: same tip, funding depth known.
  strictEqual(w.signer.tipInfo()?.height, w.h.chain.height);

  const net = await payBothWays(w, { opener, acceptor, n: o.n, reconnectAt: o.reconnectAt });
  const counts = common.expectPaymentRequests(w, o.n);
  const e = (await w.signer.channelState(id))?.enforcement;
  ok(e);
  // Two new commitments per payment on each side, all but the current one revoked.
  strictEqual(e.nextHolderCommitNum, 4 * o.n + 1);
  strictEqual(e.nextCounterpartyCommitNum, 4 * o.n + 1);
  strictEqual(e.nextCounterpartyRevokeNum, 4 * o.n);
  // LDK asked more often than the signer was asked: the retries came from the answer cache.
  ok(
    (w.provider.stats.deferred.sign_counterparty_commitment ?? 0) >=
      counts.signCounterpartyCommitment,
    "every counterparty commitment was first deferred (async signing)",
  );
  strictEqual(earlyPointRequests(w), 4 * o.n, "LDK's early point request after every validation");
  if (o.reconnectAt !== undefined) {
    // After the reconnect LDK asked again for a secret (and a commitment signature) it had
    // already received: answered from the adapter's cache, the signer asked once.
    ok((w.provider.stats.answered.release_commitment_secret ?? 0) > counts.revokeHolderCommitment);
  }
  await expectIdempotentRetries(w, id);
  const holderBalance = o.outbound ? common.VALUE - net : net;
  const current = e.currentHolder?.info;
  ok(current);
  strictEqual(current.htlcs.length, 0);
  // The funder pays the commitment fee.
  strictEqual(current.toBroadcasterSat, o.outbound ? holderBalance - common.COMMITMENT_FEE : net);

  const close = await common.expectCooperativeClose(w, ch, { outbound: o.outbound, net });
  ok(close.tx.outputs.some((x) => toHex(x.script) === toHex(w.payout)));
  strictEqual((await w.signer.channelState(id))?.enforcement.closed, true);
  expectHonest(w);
}

/**
 * The signer answers a repeated request exactly as the first time and changes nothing: the last
 * holder validation, revocation and point requests LDK caused, sent again at the API. (A retry of
 * the last counterparty commitment is refused once the peer revoked its predecessor, as in VLS:
 * LDK only retransmits a commitment the peer has not acted on.)
 */
export async function expectIdempotentRetries(w: WardenHarness, id: ChannelId): Promise<void> {
  const before = toJson(await w.signer.channelState(id));
  const methods = ["validateHolderCommitment", "revokeHolderCommitment", "getPerCommitmentPoint"];
  for (const method of methods) {
    const first = w.tamper.seen.filter((s) => s.method === method).at(-1);
    const outcome = first?.outcome;
    ok(first && outcome?.ok, `${method} was answered`);
    const fn = w.api[method as keyof typeof w.api] as (
      id: ChannelId,
      ...args: unknown[]
    ) => Promise<unknown>;
    const again = await fn.call(w.api, id, ...first.args);
    strictEqual(toJson(again), toJson(outcome.value), `${method} retried`);
  }
  strictEqual(toJson(await w.signer.channelState(id)), before, "a retry changes no state");
}

/** The commitment A's monitor broadcast and the HTLC held in it. */
export interface ForceCloseResult {
  /** The commitment txid. */
  commitmentTxid: string;
  /** The held payment's hash. */
  paymentHash: string;
}

/**
 * A force-closes with an HTLC in flight (B holds the payment): A's holder commitment signed by
 * Warden, the HTLC-timeout transaction signed by Warden after expiry, and both delayed outputs
 * (to_local, the HTLC-timeout output) swept to A's payout script with Warden's signatures.
 */
export async function forceCloseByA(w: WardenHarness): Promise<void> {
  const { ch, held } = await common.openWithHeldHtlc(w);
  const { id } = await signerChannel(w, ch);
  const latest = requestsOf(w, "validateHolderCommitment").at(-1)?.[0] as { number: number };
  const payoutBefore = common.payoutSat(w);

  const commitmentTxid = await w.forceClose({ by: "A", channel: ch, offline: true });
  const e = (await w.signer.channelState(id))?.enforcement;
  ok(e);
  strictEqual(e.closed, true);
  strictEqual(e.forceClosedNumber, latest.number, "Warden signed the latest holder commitment");
  deepStrictEqual(numbers(w, "signHolderCommitment"), [latest.number]);
  const info = e.currentHolder?.info;
  ok(info);
  strictEqual(info.htlcs.length, 1);
  const commitment = await common.expectHolderCommitmentMined(w, commitmentTxid);

  // After the HTLC's expiry the monitor asks for the HTLC-timeout signature.
  const timeout = await common.expectHtlcTimeout(w, commitmentTxid, commitment);
  strictEqual(timeout.tx.locktime, info.htlcs[0].cltvExpiry);

  // Both delayed outputs mature (to_self_delay 144) and LDK reports them; Warden sweeps them.
  await common.expectDelayedRecovered(w, {
    held,
    commitmentTxid,
    timeoutTxid: timeout.txid,
    toLocalSat: info.toBroadcasterSat,
    payoutBefore,
  });
  // The peer got exactly its balance (to_remote on A's commitment).
  strictEqual(info.toCountersignatorySat, 100_000n);
  strictEqual(commitment.outputs.some((x) => x.amount === 100_000n), true);
  expectHonest(w);
}

/**
 * B force-closes with A's HTLC in flight: A's to_remote on B's commitment, and A's claim of its
 * timed-out HTLC from B's commitment signed by Warden (`signCounterpartyHtlcSweep`).
 */
export async function forceCloseByB(w: WardenHarness): Promise<void> {
  const { ch, held, bHeld, commitmentTxid, payoutBefore } = await common.counterpartyForceClose(w);
  deepStrictEqual(w.h.events("A", "ChannelClosed").map((x) => x.reason), [
    "CounterpartyForceClosed",
  ]);
  // A's ChannelManager answered B's error by broadcasting its own commitment (Warden signed it),
  // too late: the chain refused it as a double spend.
  strictEqual(requestsOf(w, "signHolderCommitment").length, 1);
  for (const r of w.h.chain.rejections) {
    strictEqual(r.reason, "double-spend");
    strictEqual(r.conflictsWith, commitmentTxid);
  }
  await w.mine(1);

  strictEqual(bHeld.htlcs[0].offered, false, "A's payment is received by B");
  const claimed = await common.expectCounterpartyHtlcClaim(w, { bHeld, commitmentTxid, held });
  const toRemote = await common.expectToRemote(w, (await signerChannel(w, ch)).id, bHeld);
  strictEqual(w.h.chain.output(commitmentTxid, toRemote)?.spentBy, null);
  strictEqual(common.payoutSat(w) - payoutBefore, claimed);
  const outs = w.h.events("A", "SpendableOutputs").flatMap((x) => x.outputs);
  ok(
    outs.some((x) =>
      x.kind === "StaticPaymentOutput" && x.valueSat === bHeld.to_countersignatory_value_sat
    ),
  );
  expectHonest(w);
}

/** A revoked commitment of B is confirmed: Warden signs A's justice transactions. */
export async function breach(w: WardenHarness): Promise<void> {
  await common.expectBreachPunished(w);
  expectHonest(w);
}

/**
 * An anchors channel: open, payments, and a force close by A during a fee spike with an HTLC in
 * flight: the anchor CPFP (`signAnchorSpend`), the HTLC-timeout with a fee input
 * (`signHolderHtlcTx` on LDK's bumped transaction) and the delayed sweeps, all signed by Warden.
 */
export async function anchors(
  w: WardenHarness,
  o: { payments: number; sweep?: boolean },
): Promise<void> {
  const ch = await w.openChannel({ from: "A", to: "B", valueSat: common.VALUE, anchors: true });
  const { id, state } = await signerChannel(w, ch);
  strictEqual(state.setup?.commitmentType, "anchors_zero_fee_htlc");
  await payBothWays(w, { opener: "A", acceptor: "B", n: o.payments });
  const held = await w.pay({ from: "A", to: "B", amountMsat: 30_000_000n, hold: true });
  strictEqual(held.status, "held");
  const payoutBefore = common.payoutSat(w);
  const commitmentTxid = await common.anchorForceCloseByA(w, ch);

  const e = (await w.signer.channelState(id))?.enforcement;
  ok(e?.currentHolder);
  const info = e.currentHolder.info;
  await common.expectAnchorHtlcTimeout(w, commitmentTxid);
  if (o.sweep === false) {
    expectHonest(w);
    return;
  }
  await common.expectHeldPaymentFailed(w, held, 300);
  const outs = w.h.events("A", "SpendableOutputs").flatMap((x) => x.outputs);
  const delayed = outs.filter((x) => x.kind === "DelayedPaymentOutput");
  strictEqual(delayed.length, 2);
  ok(
    delayed.some((x) => x.outpoint.txid === commitmentTxid && x.valueSat === info.toBroadcasterSat),
  );
  // Zero-fee HTLC transactions: the HTLC-timeout's output keeps the whole HTLC value.
  ok(delayed.some((x) => x.outpoint.txid !== commitmentTxid && x.valueSat === 30_000n));
  await common.sweepTwoDelayed(w);
  strictEqual(common.payoutSat(w) - payoutBefore, info.toBroadcasterSat + 30_000n - 1_000n);
  expectHonest(w);
}
