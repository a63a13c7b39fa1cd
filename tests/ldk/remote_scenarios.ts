/**
 * The scenarios of node A signed by a Warden PROCESS (remote_node.ts), each with its assertions:
 * what LDK and the chain show (payments, closes, balances on chain) and what crossed the wire
 * (the requests the adapter made, the link's counters, the signer's own log). Every scenario ends
 * by checking that nothing was refused. The steps both harnesses share are in scenario_common.ts.
 *
 * @module
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { ChannelSetup } from "../../core/channel/types.ts";
import type { ChannelId } from "../../core/keys/types.ts";
import type { RemoteChannel, RemoteHarness } from "./remote_node.ts";
import * as common from "./scenario_common.ts";
import { TEST_FEERATE } from "./signed_harness.ts";

/** Nothing refused anywhere: the adapter, every reply, both LDK nodes, the signer's own log. */
export function expectHonest(w: RemoteHarness): void {
  common.expectNothingRefused(w);
  for (const p of w.processes) {
    deepStrictEqual(
      p.events().filter((e) => e.event === "decision.refused" || e.event === "handler.error"),
      [],
      "the signer process logged no refusal",
    );
  }
  strictEqual(w.link.stats.unmatched, 0, "every reply matched a request");
}

/** The signer's channel of `channel`: the keys id whose setup names its funding outpoint. */
export function remoteChannel(
  w: RemoteHarness,
  channel: RemoteChannel,
): { id: ChannelId; setup: ChannelSetup; dbid: bigint } {
  for (const s of w.recorder.seen) {
    if (s.method !== "setupChannel" || s.id === null) continue;
    const setup = s.args[0] as ChannelSetup;
    const o = setup.fundingOutpoint;
    if (o.txid === common.internalTxid(channel.funding.txid) && o.vout === channel.funding.vout) {
      return { id: s.id, setup, dbid: w.remote.contextOf(s.id).dbid };
    }
  }
  throw new Error(`no channel funded by ${channel.funding.txid} was set up`);
}

/** What happened around the signer's SIGKILL. */
export interface KillReport {
  /** Requests outstanding on the link when the signer died. */
  pendingAtKill: number;
  /** The killed process's exit signal. */
  signal: string | null;
  /** Milliseconds from the kill to the payment's success (restart included). */
  recoveryMs: number;
}

/**
 * `n` payments each way, A first (B needs a balance above its reserve). With `killAt` the
 * signer is SIGKILLed right after A's payment `killAt` left LDK (its signer requests on the
 * wire, unanswered), started again, and the payment completes through the re-sent requests.
 * Returns the net amount (sat) that moved to B.
 */
export function payBothWays(
  w: RemoteHarness,
  o: { n: number; killAt?: number; onKill?: (r: KillReport) => void },
): Promise<bigint> {
  return common.payEachWay(w, {
    opener: "A",
    acceptor: "B",
    n: o.n,
    interruptAt: o.killAt,
    interrupt: async (start, { from, to, i }) => {
      const pendingAtKill = w.link.pending;
      const t0 = Date.now();
      const status = await w.killSigner();
      // The payment waits for its signatures while no signer runs.
      await new Promise((r) => setTimeout(r, 200));
      strictEqual(
        w.h.paymentStatus({ from, to, paymentHash: start.paymentHash }).status,
        "pending",
      );
      w.restartSigner();
      await w.settle();
      const r = w.h.paymentStatus({ from, to, paymentHash: start.paymentHash });
      strictEqual(r.status, "succeeded", `payment ${i} after the signer's restart`);
      o.onKill?.({ pendingAtKill, signal: status.signal, recoveryMs: Date.now() - t0 });
    },
  });
}

/**
 * Open A->B, `n` preapproved payments each way (optionally killing the signer once), B closes
 * cooperatively; the setup, the request counts, the link and the balances on chain checked.
 */
export async function openPayClose(
  w: RemoteHarness,
  o: { n: number; killAt?: number; onKill?: (r: KillReport) => void },
): Promise<void> {
  const ch = await common.openUsable(w, { from: "A", to: "B" });
  // The setup the signer got over setup_channel (31), and the channel's CLN context.
  const { id, setup, dbid } = remoteChannel(w, ch);
  strictEqual(id.kind, "keys-id");
  common.expectDefaultSetup(setup, { outbound: true });
  // Pool of 2 created ahead, one per channel after: the first keys id got dbid 1.
  strictEqual(dbid, 1n);
  deepStrictEqual(w.remote.channels().map((c) => c.dbid), [1n, 2n, 3n]);
  deepStrictEqual(w.remote.contextOf(id).peerId, w.remote.nodeId);

  const net = await payBothWays(w, o);
  common.expectPaymentRequests(w, o.n);
  // The current commitment of A after the last payment: no HTLC, the funder pays the fee.
  const last = w.requestsOf("validateHolderCommitment").at(-1)?.[0] as {
    number: number;
    htlcs: unknown[];
    values: { toBroadcasterSat: bigint; toCountersignatorySat: bigint };
  };
  strictEqual(last.number, 4 * o.n);
  strictEqual(last.htlcs.length, 0);
  strictEqual(last.values.toBroadcasterSat, common.VALUE - net - common.COMMITMENT_FEE);
  strictEqual(last.values.toCountersignatorySat, net);

  await common.expectCooperativeClose(w, ch, { outbound: true, net });
  expectHonest(w);
}

/**
 * A force-closes with an HTLC in flight (B holds it): the holder commitment (1005), the
 * HTLC-timeout (146) after expiry, both delayed outputs swept (142) to A's payout script.
 */
export async function forceCloseByA(w: RemoteHarness): Promise<void> {
  const { ch, held } = await common.openWithHeldHtlc(w);
  const latest = w.requestsOf("validateHolderCommitment").at(-1)?.[0] as {
    number: number;
    values: { toBroadcasterSat: bigint; toCountersignatorySat: bigint };
  };
  const payoutBefore = common.payoutSat(w);

  const commitmentTxid = await w.forceClose({ by: "A", channel: ch, offline: true });
  deepStrictEqual(w.requestsOf("signHolderCommitment"), [[latest.number]]);
  const commitment = await common.expectHolderCommitmentMined(w, commitmentTxid);
  const timeout = await common.expectHtlcTimeout(w, commitmentTxid, commitment);
  await common.expectDelayedRecovered(w, {
    held,
    commitmentTxid,
    timeoutTxid: timeout.txid,
    toLocalSat: latest.values.toBroadcasterSat,
    payoutBefore,
  });
  strictEqual(latest.values.toCountersignatorySat, 100_000n);
  ok(commitment.outputs.some((x) => x.amount === 100_000n), "B's balance on A's commitment");
  expectHonest(w);
}

/**
 * B force-closes with A's HTLC in flight: A claims its timed-out HTLC from B's commitment (143)
 * and gets its to_remote (no signer call).
 */
export async function forceCloseByB(w: RemoteHarness): Promise<void> {
  const { ch, held, bHeld, commitmentTxid, payoutBefore } = await common.counterpartyForceClose(w);
  await w.mine(1);
  const claimed = await common.expectCounterpartyHtlcClaim(w, { bHeld, commitmentTxid, held });
  await common.expectToRemote(w, remoteChannel(w, ch).id, bHeld);
  // A funds the channel: its balance less the HTLC and the fee of a commitment with one HTLC.
  const feeWithHtlc = ((724n + 172n) * BigInt(TEST_FEERATE)) / 1000n;
  strictEqual(bHeld.to_countersignatory_value_sat, common.VALUE - 100_000n - 30_000n - feeWithHtlc);
  strictEqual(common.payoutSat(w) - payoutBefore, claimed);
  expectHonest(w);
}

/** A revoked commitment of B (with a balance and an HTLC) is confirmed: A's justice (144). */
export async function breach(w: RemoteHarness): Promise<void> {
  await common.expectBreachPunished(w);
  expectHonest(w);
}

/**
 * An anchors channel: a few payments, then A force-closes during a fee spike with an HTLC held:
 * the anchor CPFP (147, with the previous transactions), the zero-fee HTLC-timeout with a fee
 * input (146), the delayed sweeps (142).
 */
export async function anchors(w: RemoteHarness, o: { payments: number }): Promise<void> {
  const ch = await w.openChannel({ from: "A", to: "B", valueSat: common.VALUE, anchors: true });
  strictEqual(remoteChannel(w, ch).setup.commitmentType, "anchors_zero_fee_htlc");
  await payBothWays(w, { n: o.payments });
  const held = await w.pay({ from: "A", to: "B", amountMsat: 30_000_000n, hold: true });
  strictEqual(held.status, "held");
  const latest = w.requestsOf("validateHolderCommitment").at(-1)?.[0] as {
    values: { toBroadcasterSat: bigint };
  };
  const payoutBefore = common.payoutSat(w);
  const commitmentTxid = await common.anchorForceCloseByA(w, ch);
  await common.expectAnchorHtlcTimeout(w, commitmentTxid);
  await common.expectHeldPaymentFailed(w, held, 300);
  await common.sweepTwoDelayed(w);
  strictEqual(
    common.payoutSat(w) - payoutBefore,
    latest.values.toBroadcasterSat + 30_000n - 1_000n,
  );
  expectHonest(w);
}
