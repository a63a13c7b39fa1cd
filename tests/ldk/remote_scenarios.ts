/**
 * The scenarios of node A signed by a Warden PROCESS (remote_node.ts), each with its assertions:
 * what LDK and the chain show (payments, closes, balances on chain) and what crossed the wire
 * (the requests the adapter made, the link's counters, the signer's own log). Every scenario ends
 * by checking that nothing was refused.
 *
 * @module
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import * as ldk from "lightningdevkit";
import { fromHex, reverse, toHex } from "../../core/bytes.ts";
import { p2wpkh } from "../../core/bitcoin/script.ts";
import { decodeTx } from "../../core/bitcoin/tx.ts";
import type { ChannelSetup } from "../../core/channel/types.ts";
import type { ChannelId } from "../../core/keys/types.ts";
import type { PlainCommitmentTx } from "./plain.ts";
import type { RemoteChannel, RemoteHarness } from "./remote_node.ts";
import { TEST_FEERATE } from "./warden_node.ts";

/** Channel value of every scenario. */
export const VALUE = 1_000_000n;
/** The contest delay LDK imposes by default (both sides). */
export const DELAY = 144;
/** Fee of a commitment without HTLCs at the test feerate (BOLT #3: 724 WU, rounded down). */
export const COMMITMENT_FEE: bigint = (724n * BigInt(TEST_FEERATE)) / 1000n;
/** Fee of a BOLT #3 HTLC-timeout transaction at the test feerate (663 WU, rounded down). */
export const HTLC_TIMEOUT_FEE: bigint = (663n * BigInt(TEST_FEERATE)) / 1000n;

/** Internal-order hex of a display txid. */
export function internalTxid(display: string): string {
  return toHex(reverse(fromHex(display)));
}

/** A's payout outputs on chain, confirmed and unspent. */
export function payoutSat(w: RemoteHarness): bigint {
  return w.h.chain.unspent((u) => toHex(u.script) === toHex(w.payout))
    .reduce((s, u) => s + u.amount, 0n);
}

/** Nothing refused anywhere: the adapter, every reply, both LDK nodes, the signer's own log. */
export function expectHonest(w: RemoteHarness): void {
  deepStrictEqual(
    w.failures.map((f) => `${f.ldkMethod}: ${f.error.name}: ${f.error.message}`),
    [],
    "the signer refused nothing",
  );
  deepStrictEqual(w.provider.stats.refused, {});
  for (const s of w.recorder.seen) {
    strictEqual(
      s.outcome?.ok,
      true,
      `${s.method} answered${s.outcome?.ok === false ? `: ${s.outcome.error.message}` : ""}`,
    );
  }
  for (const n of w.h.nodes.values()) deepStrictEqual(n.issues, [], `${n.name} issues`);
  deepStrictEqual(w.h.net.issues, []);
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
    if (o.txid === internalTxid(channel.funding.txid) && o.vout === channel.funding.vout) {
      return { id: s.id, setup, dbid: w.remote.contextOf(s.id).dbid };
    }
  }
  throw new Error(`no channel funded by ${channel.funding.txid} was set up`);
}

/** Amounts of the payments of {@link payBothWays} (whole satoshis, msat). */
export function paymentAmounts(n: number): { ab: bigint[]; ba: bigint[] } {
  const ab = Array.from({ length: n }, (_, i) => (10_000n + 13n * BigInt(i)) * 1000n);
  const ba = Array.from({ length: n }, (_, i) => (2_000n + 7n * BigInt(i)) * 1000n);
  return { ab, ba };
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
export async function payBothWays(
  w: RemoteHarness,
  o: { n: number; killAt?: number; onKill?: (r: KillReport) => void },
): Promise<bigint> {
  const { ab, ba } = paymentAmounts(o.n);
  const pay = async (from: string, to: string, amountMsat: bigint, i: number) => {
    if (from === "A" && i === o.killAt) {
      const start = await w.send({ from, to, amountMsat });
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
      return;
    }
    const r = await w.pay({ from, to, amountMsat });
    strictEqual(r.status, "succeeded", `payment ${from}->${to} ${i}: ${r.reason}`);
  };
  for (let i = 0; i < o.n; i++) {
    await pay("A", "B", ab[i], i);
    if (i >= 1) await pay("B", "A", ba[i - 1], i - 1);
  }
  await pay("B", "A", ba[o.n - 1], o.n - 1);
  return (ab.reduce((s, x) => s + x, 0n) - ba.reduce((s, x) => s + x, 0n)) / 1000n;
}

/**
 * Open A->B, `n` preapproved payments each way (optionally killing the signer once), B closes
 * cooperatively; the setup, the request counts, the link and the balances on chain checked.
 */
export async function openPayClose(
  w: RemoteHarness,
  o: { n: number; killAt?: number; onKill?: (r: KillReport) => void },
): Promise<void> {
  const walletA = w.A.wallet.balance();
  const ch = await w.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: false });
  const state = w.h.channelState(ch.channelId);
  strictEqual(state.A?.isUsable, true);
  strictEqual(state.B?.isUsable, true);
  ok(w.A.wallet.balance() < walletA - VALUE, "A funded the channel");
  // The setup the signer got over setup_channel (31), and the channel's CLN context.
  const { id, setup, dbid } = remoteChannel(w, ch);
  strictEqual(id.kind, "keys-id");
  strictEqual(setup.isOutbound, true);
  strictEqual(setup.channelValueSat, VALUE);
  strictEqual(setup.pushMsat, 0n);
  strictEqual(setup.commitmentType, "static_remotekey");
  strictEqual(setup.holderSelectedContestDelay, DELAY);
  strictEqual(setup.counterpartySelectedContestDelay, DELAY);
  // Pool of 2 created ahead, one per channel after: the first keys id got dbid 1.
  strictEqual(dbid, 1n);
  deepStrictEqual(w.remote.channels().map((c) => c.dbid), [1n, 2n, 3n]);
  deepStrictEqual(w.remote.contextOf(id).peerId, w.remote.nodeId);

  const net = await payBothWays(w, o);
  strictEqual(w.h.events("A", "PaymentSent").length, o.n);
  strictEqual(w.h.events("A", "PaymentClaimed").length, o.n);
  const counts = w.requestCounts();
  strictEqual(counts.preapproveInvoice, o.n);
  strictEqual(counts.signCounterpartyCommitment, 4 * o.n + 1);
  strictEqual(counts.validateHolderCommitment, 4 * o.n + 1);
  strictEqual(counts.revokeHolderCommitment, 4 * o.n);
  strictEqual(counts.validateCounterpartyRevocation, 4 * o.n);
  // The current commitment of A after the last payment: no HTLC, the funder pays the fee.
  const last = w.requestsOf("validateHolderCommitment").at(-1)?.[0] as {
    number: number;
    htlcs: unknown[];
    values: { toBroadcasterSat: bigint; toCountersignatorySat: bigint };
  };
  strictEqual(last.number, 4 * o.n);
  strictEqual(last.htlcs.length, 0);
  strictEqual(last.values.toBroadcasterSat, VALUE - net - COMMITMENT_FEE);
  strictEqual(last.values.toCountersignatorySat, net);

  const before = payoutSat(w);
  const close = await w.cooperativeClose({ by: "B", channel: ch });
  ok(close.feeSat > 0n && close.feeSat < 5_000n, `closing fee ${close.feeSat}`);
  strictEqual(close.outputs.B, net);
  strictEqual(close.outputs.A, VALUE - net - close.feeSat);
  strictEqual(close.outputs.A + close.outputs.B + close.feeSat, VALUE);
  strictEqual(payoutSat(w) - before, close.outputs.A, "A's share pays its payout script");
  ok(w.requestsOf("signMutualClose").length >= 1);
  deepStrictEqual(
    w.h.events("A", "ChannelClosed").map((x) => x.reason),
    ["CounterpartyInitiatedCooperativeClosure"],
  );
  deepStrictEqual(w.h.channelState(ch.channelId), { A: null, B: null });
  expectHonest(w);
}

/**
 * A force-closes with an HTLC in flight (B holds it): the holder commitment (1005), the
 * HTLC-timeout (146) after expiry, both delayed outputs swept (142) to A's payout script.
 */
export async function forceCloseByA(w: RemoteHarness): Promise<void> {
  const ch = await w.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: false });
  strictEqual((await w.pay({ from: "A", to: "B", amountMsat: 100_000_000n })).status, "succeeded");
  const held = await w.pay({ from: "A", to: "B", amountMsat: 30_000_000n, hold: true });
  strictEqual(held.status, "held");
  const latest = w.requestsOf("validateHolderCommitment").at(-1)?.[0] as {
    number: number;
    values: { toBroadcasterSat: bigint; toCountersignatorySat: bigint };
  };
  const payoutBefore = payoutSat(w);

  const commitmentTxid = await w.forceClose({ by: "A", channel: ch, offline: true });
  deepStrictEqual(w.requestsOf("signHolderCommitment"), [[latest.number]]);
  const commitment = w.h.chain.transaction(commitmentTxid)?.chainTx.tx;
  ok(commitment);
  deepStrictEqual(w.h.events("A", "ChannelClosed").map((x) => x.reason), ["HolderForceClosed"]);
  await w.mine(1);
  strictEqual(w.h.chain.confirmations(commitmentTxid), 1);

  const htlcVout = commitment.outputs.findIndex((x) => x.amount === 30_000n);
  ok(htlcVout >= 0);
  await w.mineUntil(() => w.h.chain.spenderOf(commitmentTxid, htlcVout)?.height != null, 200);
  const timeout = w.h.chain.spenderOf(commitmentTxid, htlcVout);
  ok(timeout);
  const timeoutTx = w.h.chain.transaction(timeout.txid)?.chainTx;
  strictEqual(timeoutTx?.source, "A");
  strictEqual(timeoutTx?.tx.outputs[0].amount, 30_000n - HTLC_TIMEOUT_FEE);
  strictEqual(w.requestsOf("signHolderHtlcTx").length, 1);

  await w.mineUntil(() => w.A.claimableSat() === 0n, 300);
  deepStrictEqual(w.h.events("A", "PaymentFailed").map((x) => x.paymentHash), [held.paymentHash]);
  const toLocal = latest.values.toBroadcasterSat;
  const outs = w.h.events("A", "SpendableOutputs").flatMap((x) => x.outputs);
  deepStrictEqual(
    outs.map((x) => [x.kind, x.outpoint.txid, x.valueSat]).sort(),
    [
      ["DelayedPaymentOutput", commitmentTxid, toLocal],
      ["DelayedPaymentOutput", timeout.txid, 30_000n - HTLC_TIMEOUT_FEE],
    ].sort(),
  );
  const sweeps = await w.sweepDelayed();
  strictEqual(sweeps.length, 2);
  for (const s of sweeps) strictEqual(s.outcome, "accepted");
  await w.mine(1);
  for (const s of sweeps) strictEqual(w.h.chain.confirmations(s.txid), 1);
  strictEqual(w.requestsOf("signDelayedSweep").length, 2);
  strictEqual(
    payoutSat(w) - payoutBefore,
    toLocal + 30_000n - HTLC_TIMEOUT_FEE - 1_000n,
    "A recovered its balance and the HTLC, less the fees",
  );
  strictEqual(latest.values.toCountersignatorySat, 100_000n);
  ok(commitment.outputs.some((x) => x.amount === 100_000n), "B's balance on A's commitment");
  expectHonest(w);
}

/**
 * B force-closes with A's HTLC in flight: A claims its timed-out HTLC from B's commitment (143)
 * and gets its to_remote (no signer call).
 */
export async function forceCloseByB(w: RemoteHarness): Promise<void> {
  const ch = await w.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: false });
  strictEqual((await w.pay({ from: "A", to: "B", amountMsat: 100_000_000n })).status, "succeeded");
  const held = await w.pay({ from: "A", to: "B", amountMsat: 30_000_000n, hold: true });
  strictEqual(held.status, "held");
  const bHeld = w.heldCommitments("B", ch).at(-1) as PlainCommitmentTx;
  const payoutBefore = payoutSat(w);
  const commitmentTxid = await w.forceClose({ by: "B", channel: ch });
  strictEqual(commitmentTxid, bHeld.txid);
  await w.mine(1);
  const vout = bHeld.htlcs[0].transaction_output_index as number;
  await w.mineUntil(() => w.h.chain.spenderOf(commitmentTxid, vout)?.height != null, 200);
  const claim = w.h.chain.spenderOf(commitmentTxid, vout);
  ok(claim);
  const claimTx = w.h.chain.transaction(claim.txid)?.chainTx;
  strictEqual(claimTx?.source, "A");
  const claimed = claimTx?.tx.outputs[0];
  ok(claimed && toHex(claimed.script) === toHex(w.payout), "the claim pays A's payout script");
  ok(claimed.amount > 29_000n && claimed.amount < 30_000n, `claim ${claimed.amount}`);
  const sweeps = w.requestsOf("signCounterpartyHtlcSweep");
  ok(sweeps.length >= 1);
  strictEqual(
    toHex((sweeps[0][0] as { perCommitmentPoint: Uint8Array }).perCommitmentPoint),
    bHeld.per_commitment_point,
  );
  await w.mineUntil(() => w.A.claimableSat() === 0n, 50);
  deepStrictEqual(w.h.events("A", "PaymentFailed").map((x) => x.paymentHash), [held.paymentHash]);
  const { id } = remoteChannel(w, ch);
  const bp = await w.api.getChannelBasepoints(id);
  const commitment = decodeTx(fromHex(bHeld.tx));
  const toRemote = commitment.outputs.findIndex((x) =>
    toHex(x.script) === toHex(p2wpkh(bp.payment))
  );
  ok(toRemote >= 0);
  strictEqual(commitment.outputs[toRemote].amount, bHeld.to_countersignatory_value_sat);
  // A funds the channel: its balance less the HTLC and the fee of a commitment with one HTLC.
  const feeWithHtlc = ((724n + 172n) * BigInt(TEST_FEERATE)) / 1000n;
  strictEqual(bHeld.to_countersignatory_value_sat, VALUE - 100_000n - 30_000n - feeWithHtlc);
  strictEqual(payoutSat(w) - payoutBefore, claimed.amount);
  expectHonest(w);
}

/** A revoked commitment of B (with a balance and an HTLC) is confirmed: A's justice (144). */
export async function breach(w: RemoteHarness): Promise<void> {
  const ch = await w.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: false });
  strictEqual((await w.pay({ from: "A", to: "B", amountMsat: 50_000_000n })).status, "succeeded");
  strictEqual((await w.pay({ from: "A", to: "B", amountMsat: 40_000_000n })).status, "succeeded");
  strictEqual((await w.pay({ from: "B", to: "A", amountMsat: 10_000_000n })).status, "succeeded");
  const held = w.heldCommitments("B", ch);
  strictEqual(held.length, 7);
  const old = held.find((c) =>
    c.to_broadcaster_value_sat > 0n && c.htlcs.length === 1 &&
    c.htlcs[0].transaction_output_index !== null
  );
  ok(old && old.txid !== held.at(-1)?.txid);
  const payoutBefore = payoutSat(w);
  strictEqual(w.h.submitTransaction(old.tx, "B (revoked)").status, "accepted");
  await w.mine(1);
  deepStrictEqual(w.h.events("A", "ChannelClosed").map((x) => x.reason), ["CommitmentTxConfirmed"]);
  await w.mine(3);
  const oldTx = decodeTx(fromHex(old.tx));
  const toLocal = oldTx.outputs.findIndex((x) => x.amount === old.to_broadcaster_value_sat);
  const htlcVout = old.htlcs[0].transaction_output_index as number;
  for (const vout of [toLocal, htlcVout]) {
    const s = w.h.chain.spenderOf(old.txid, vout);
    ok(s && s.height !== null, `output ${vout} taken`);
    const tx = w.h.chain.transaction(s.txid)?.chainTx;
    strictEqual(tx?.source, "A");
    for (const out of tx?.tx.outputs ?? []) {
      strictEqual(toHex(out.script), toHex(w.payout), "justice pays A's payout script");
    }
  }
  let justice = 0n;
  for (
    const txid of new Set([toLocal, htlcVout].map((v) => w.h.chain.spenderOf(old.txid, v)?.txid))
  ) {
    justice += w.h.chain.transaction(txid as string)?.chainTx.tx.outputs[0].amount ?? 0n;
  }
  const requests = w.requestsOf("signJusticeSweep");
  ok(requests.length >= 2);
  ok(requests.some((a) => (a[0] as { htlc?: unknown }).htlc !== undefined), "an HTLC one");
  await w.mineUntil(() => w.A.claimableSat() === 0n, 20);
  const stolen = old.to_broadcaster_value_sat + old.htlcs[0].amount_msat / 1000n;
  ok(justice > stolen - 3_000n && justice < stolen, `justice ${justice} of ${stolen}`);
  strictEqual(payoutSat(w) - payoutBefore, justice);
  expectHonest(w);
}

/**
 * An anchors channel: a few payments, then A force-closes during a fee spike with an HTLC held:
 * the anchor CPFP (147, with the previous transactions), the zero-fee HTLC-timeout with a fee
 * input (146), the delayed sweeps (142).
 */
export async function anchors(w: RemoteHarness, o: { payments: number }): Promise<void> {
  const ch = await w.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: true });
  strictEqual(remoteChannel(w, ch).setup.commitmentType, "anchors_zero_fee_htlc");
  await payBothWays(w, { n: o.payments });
  const held = await w.pay({ from: "A", to: "B", amountMsat: 30_000_000n, hold: true });
  strictEqual(held.status, "held");
  const latest = w.requestsOf("validateHolderCommitment").at(-1)?.[0] as {
    values: { toBroadcasterSat: bigint };
  };
  w.A.feerate = (t) =>
    t === ldk.ConfirmationTarget.LDKConfirmationTarget_UrgentOnChainSweep ? 5_000 : TEST_FEERATE;
  const walletBefore = w.A.wallet.balance();
  const payoutBefore = payoutSat(w);
  const commitmentTxid = await w.forceClose({ by: "A", channel: ch, offline: true });
  const mempool = w.h.chain.mempool().filter((t) => t.source === "A");
  strictEqual(mempool[0].txid, commitmentTxid);
  const cpfp = mempool[1];
  ok(cpfp, "a CPFP child");
  ok(cpfp.tx.inputs.some((i) => toHex(reverse(i.txid)) === commitmentTxid));
  ok(w.requestsOf("signAnchorSpend").length >= 1);
  await w.mine(1);
  strictEqual(w.h.chain.confirmations(commitmentTxid), 1);
  strictEqual(w.h.chain.confirmations(cpfp.txid), 1);
  ok(w.A.wallet.balance() < walletBefore, "the fee wallet paid the bump");

  const commitment = w.h.chain.transaction(commitmentTxid)?.chainTx.tx;
  const htlcVout = commitment?.outputs.findIndex((x) => x.amount === 30_000n) ?? -1;
  ok(htlcVout >= 0);
  await w.mineUntil(() => w.h.chain.spenderOf(commitmentTxid, htlcVout)?.height != null, 200);
  const timeout = w.h.chain.transaction(w.h.chain.spenderOf(commitmentTxid, htlcVout)?.txid ?? "");
  ok(timeout && timeout.chainTx.source === "A");
  ok(timeout.chainTx.tx.inputs.length >= 2, "the HTLC input and a fee input");
  strictEqual(timeout.chainTx.tx.outputs[0].amount, 30_000n);
  ok(w.requestsOf("signHolderHtlcTx").length >= 1);
  await w.mineUntil(() => w.A.claimableSat() === 0n, 300);
  deepStrictEqual(w.h.events("A", "PaymentFailed").map((x) => x.paymentHash), [held.paymentHash]);
  const sweeps = await w.sweepDelayed();
  strictEqual(sweeps.length, 2);
  await w.mine(1);
  for (const s of sweeps) strictEqual(w.h.chain.confirmations(s.txid), 1);
  strictEqual(payoutSat(w) - payoutBefore, latest.values.toBroadcasterSat + 30_000n - 1_000n);
  expectHonest(w);
}
