/**
 * The steps and checks the scenarios of both signed harnesses share (warden_scenarios.ts: node A
 * signed in process; remote_scenarios.ts: node A signed by a `mod.ts run` process): the amounts,
 * the payments each way, and what LDK and the chain must show around an open, a cooperative
 * close, a force close by either side, a breach and an anchors force close. Each scenario file
 * adds what its signer lets it see (the signer's state in process; the wire and the process's log
 * remotely).
 *
 * @module
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import * as ldk from "lightningdevkit";
import { fromHex, reverse, toHex } from "../../core/bytes.ts";
import { p2wpkh } from "../../core/bitcoin/script.ts";
import { decodeTx, type Tx } from "../../core/bitcoin/tx.ts";
import type { ChannelSetup } from "../../core/channel/types.ts";
import type { ChannelId } from "../../core/keys/types.ts";
import type { PaymentResult } from "./harness.ts";
import type { PlainCommitmentTx } from "./plain.ts";
import {
  type CloseOutcome,
  type DelayedSweep,
  type SignedChannel,
  type SignedHarness,
  TEST_FEERATE,
} from "./signed_harness.ts";

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

/** A's payout (destination and shutdown) outputs on chain, confirmed and unspent. */
export function payoutSat(w: SignedHarness): bigint {
  return w.h.chain.unspent((u) =>
    u.script.length === w.payout.length && toHex(u.script) === toHex(w.payout)
  )
    .reduce((s, u) => s + u.amount, 0n);
}

/**
 * Nothing refused by the adapter, every request answered, no issue in either LDK node or the
 * network.
 */
export function expectNothingRefused(w: SignedHarness): void {
  deepStrictEqual(
    w.failures.map((f) => `${f.ldkMethod}: ${f.error.name}: ${f.error.message}`),
    [],
    "the signer refused nothing",
  );
  deepStrictEqual(w.provider.stats.refused, {});
  for (const s of w.seen) {
    strictEqual(
      s.outcome?.ok,
      true,
      `${s.method} answered${s.outcome?.ok === false ? `: ${s.outcome.error.message}` : ""}`,
    );
  }
  for (const n of w.h.nodes.values()) deepStrictEqual(n.issues, [], `${n.name} issues`);
  deepStrictEqual(w.h.net.issues, []);
}

/** Amounts of the payments of {@link payEachWay} (whole satoshis, msat). */
export function paymentAmounts(n: number): { ab: bigint[]; ba: bigint[] } {
  const ab = Array.from({ length: n }, (_, i) => (10_000n + 13n * BigInt(i)) * 1000n);
  const ba = Array.from({ length: n }, (_, i) => (2_000n + 7n * BigInt(i)) * 1000n);
  return { ab, ba };
}

/** One payment of {@link payEachWay}: payer, payee, amount, index in its direction. */
export interface PaymentStep {
  /** The payer. */
  from: string;
  /** The payee. */
  to: string;
  /** The amount. */
  amountMsat: bigint;
  /** The payment's index among those in its direction. */
  i: number;
}

/**
 * `n` payments each way between the opener and the acceptor (the opener pays first: the acceptor
 * needs a balance above its reserve), each checked to succeed. The opener's payment `interruptAt`
 * is only started (`send`) and handed to `interrupt`, which sees it through. Returns the net
 * amount (sat) that moved to the acceptor.
 */
export async function payEachWay(
  w: SignedHarness,
  o: {
    opener: string;
    acceptor: string;
    n: number;
    interruptAt?: number;
    interrupt?: (start: PaymentResult, step: PaymentStep) => Promise<void>;
  },
): Promise<bigint> {
  const { ab, ba } = paymentAmounts(o.n);
  const pay = async (from: string, to: string, amountMsat: bigint, i: number) => {
    if (from === o.opener && i === o.interruptAt && o.interrupt) {
      const start = await w.send({ from, to, amountMsat });
      await o.interrupt(start, { from, to, amountMsat, i });
      return;
    }
    const r = await w.pay({ from, to, amountMsat });
    strictEqual(r.status, "succeeded", `payment ${from}->${to} ${i}: ${r.reason}`);
  };
  for (let i = 0; i < o.n; i++) {
    await pay(o.opener, o.acceptor, ab[i], i);
    if (i >= 1) await pay(o.acceptor, o.opener, ba[i - 1], i - 1);
  }
  await pay(o.acceptor, o.opener, ba[o.n - 1], o.n - 1);
  return (ab.reduce((s, x) => s + x, 0n) - ba.reduce((s, x) => s + x, 0n)) / 1000n;
}

/**
 * Open a {@link VALUE} channel without anchors and check that both sides can use it (and, when A
 * opens, that A's wallet funded it).
 */
export async function openUsable(
  w: SignedHarness,
  o: { from: string; to: string },
): Promise<SignedChannel> {
  const walletA = w.A.wallet.balance();
  const ch = await w.openChannel({ from: o.from, to: o.to, valueSat: VALUE, anchors: false });
  const state = w.h.channelState(ch.channelId);
  strictEqual(state.A?.isUsable, true);
  strictEqual(state.B?.isUsable, true);
  if (o.from === "A") ok(w.A.wallet.balance() < walletA - VALUE, "A funded the channel");
  return ch;
}

/** The signer's setup of a {@link VALUE} channel LDK opened with its defaults, no push. */
export function expectDefaultSetup(setup: ChannelSetup, o: { outbound: boolean }): void {
  strictEqual(setup.isOutbound, o.outbound);
  strictEqual(setup.channelValueSat, VALUE);
  strictEqual(setup.pushMsat, 0n);
  strictEqual(setup.commitmentType, "static_remotekey");
  strictEqual(setup.holderSelectedContestDelay, DELAY);
  strictEqual(setup.counterpartySelectedContestDelay, DELAY);
}

/**
 * After `n` payments each way: A sent and claimed `n`, asked its signer to approve each of its
 * own, and every payment cost two commitments on each side (all but the current one revoked).
 * Returns the request counts.
 */
export function expectPaymentRequests(w: SignedHarness, n: number): Record<string, number> {
  strictEqual(w.h.events("A", "PaymentSent").length, n);
  strictEqual(w.h.events("A", "PaymentClaimed").length, n);
  const counts = w.requestCounts();
  // A asked its signer to approve each of its n payments (B's are not A's to approve).
  strictEqual(counts.preapproveInvoice, n);
  strictEqual(counts.signCounterpartyCommitment, 4 * n + 1);
  strictEqual(counts.validateHolderCommitment, 4 * n + 1);
  strictEqual(counts.revokeHolderCommitment, 4 * n);
  strictEqual(counts.validateCounterpartyRevocation, 4 * n);
  return counts;
}

/**
 * The acceptor closes cooperatively after `net` (sat) moved to it: the closing fee, each side's
 * output, A's share on its payout script, the signer asked, the channel gone on both sides.
 */
export async function expectCooperativeClose(
  w: SignedHarness,
  ch: SignedChannel,
  o: { outbound: boolean; net: bigint },
): Promise<CloseOutcome> {
  const before = payoutSat(w);
  const close = await w.cooperativeClose({ by: ch.to, channel: ch });
  ok(close.feeSat > 0n && close.feeSat < 5_000n, `closing fee ${close.feeSat}`);
  strictEqual(close.outputs.B, o.outbound ? o.net : VALUE - o.net - close.feeSat);
  strictEqual(close.outputs.A, o.outbound ? VALUE - o.net - close.feeSat : o.net);
  strictEqual(close.outputs.A + close.outputs.B + close.feeSat, VALUE);
  // A's share pays A's payout script (wallet m/0/0/1), which the signer checked.
  strictEqual(payoutSat(w) - before, close.outputs.A, "A's share pays its payout script");
  ok(w.requestsOf("signMutualClose").length >= 1);
  deepStrictEqual(
    w.h.events("A", "ChannelClosed").map((x) => x.reason),
    [o.outbound ? "CounterpartyInitiatedCooperativeClosure" : "LocallyInitiatedCooperativeClosure"],
  );
  deepStrictEqual(w.h.channelState(ch.channelId), { A: null, B: null });
  return close;
}

/** Open A->B, pay 100,000 sat, and start a 30,000 sat payment B holds (an HTLC in flight). */
export async function openWithHeldHtlc(
  w: SignedHarness,
): Promise<{ ch: SignedChannel; held: PaymentResult }> {
  const ch = await w.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: false });
  strictEqual((await w.pay({ from: "A", to: "B", amountMsat: 100_000_000n })).status, "succeeded");
  const held = await w.pay({ from: "A", to: "B", amountMsat: 30_000_000n, hold: true });
  strictEqual(held.status, "held");
  return { ch, held };
}

/**
 * B force-closes (its latest commitment) with A's HTLC held in flight ({@link openWithHeldHtlc}).
 * Returns what B held and broadcast, the held payment and A's payout before the close.
 */
export async function counterpartyForceClose(w: SignedHarness): Promise<{
  ch: SignedChannel;
  held: PaymentResult;
  bHeld: PlainCommitmentTx;
  commitmentTxid: string;
  payoutBefore: bigint;
}> {
  const { ch, held } = await openWithHeldHtlc(w);
  const bHeld = w.heldCommitments("B", ch).at(-1) as PlainCommitmentTx;
  const payoutBefore = payoutSat(w);
  const commitmentTxid = await w.forceClose({ by: "B", channel: ch });
  strictEqual(commitmentTxid, bHeld.txid);
  return { ch, held, bHeld, commitmentTxid, payoutBefore };
}

/** A's commitment of its force close is on chain; mined, one confirmation. Returns it. */
export async function expectHolderCommitmentMined(
  w: SignedHarness,
  commitmentTxid: string,
): Promise<Tx> {
  const commitment = w.h.chain.transaction(commitmentTxid)?.chainTx.tx;
  ok(commitment);
  deepStrictEqual(w.h.events("A", "ChannelClosed").map((x) => x.reason), ["HolderForceClosed"]);
  await w.mine(1);
  strictEqual(w.h.chain.confirmations(commitmentTxid), 1);
  return commitment;
}

/**
 * After the held HTLC's expiry the monitor asks for the HTLC-timeout signature (once) and A's
 * HTLC-timeout transaction, less its fee, is mined. Returns its txid and transaction.
 */
export async function expectHtlcTimeout(
  w: SignedHarness,
  commitmentTxid: string,
  commitment: Tx,
): Promise<{ txid: string; tx: Tx }> {
  const htlcVout = commitment.outputs.findIndex((x) => x.amount === 30_000n);
  ok(htlcVout >= 0);
  await w.mineUntil(() => w.h.chain.spenderOf(commitmentTxid, htlcVout)?.height != null, 200);
  const timeout = w.h.chain.spenderOf(commitmentTxid, htlcVout);
  ok(timeout);
  const timeoutTx = w.h.chain.transaction(timeout.txid)?.chainTx;
  strictEqual(timeoutTx?.source, "A");
  strictEqual(timeoutTx?.tx.outputs[0].amount, 30_000n - HTLC_TIMEOUT_FEE);
  strictEqual(w.requestsOf("signHolderHtlcTx").length, 1);
  return { txid: timeout.txid, tx: timeoutTx.tx };
}

/** The held payment failed back to A once nothing is claimable any more. */
export async function expectHeldPaymentFailed(
  w: SignedHarness,
  held: PaymentResult,
  max: number,
): Promise<void> {
  await w.mineUntil(() => w.A.claimableSat() === 0n, max);
  deepStrictEqual(w.h.events("A", "PaymentFailed").map((x) => x.paymentHash), [held.paymentHash]);
}

/** Sweep the two delayed outputs LDK reported ({@link SignedHarness.sweepDelayed}) and mine. */
export async function sweepTwoDelayed(w: SignedHarness): Promise<DelayedSweep[]> {
  const sweeps = await w.sweepDelayed();
  strictEqual(sweeps.length, 2);
  await w.mine(1);
  for (const s of sweeps) strictEqual(w.h.chain.confirmations(s.txid), 1);
  return sweeps;
}

/**
 * The end of A's force close with a held HTLC: the payment failed back, LDK reported the two
 * delayed outputs (to_local on the commitment, the HTLC-timeout's output), both were swept to
 * A's payout script with the signer's signatures, and A recovered them less the fees.
 */
export async function expectDelayedRecovered(
  w: SignedHarness,
  o: {
    held: PaymentResult;
    commitmentTxid: string;
    timeoutTxid: string;
    toLocalSat: bigint;
    payoutBefore: bigint;
  },
): Promise<void> {
  await expectHeldPaymentFailed(w, o.held, 300);
  const outs = w.h.events("A", "SpendableOutputs").flatMap((x) => x.outputs);
  deepStrictEqual(
    outs.map((x) => [x.kind, x.outpoint.txid, x.valueSat]).sort(),
    [
      ["DelayedPaymentOutput", o.commitmentTxid, o.toLocalSat],
      ["DelayedPaymentOutput", o.timeoutTxid, 30_000n - HTLC_TIMEOUT_FEE],
    ].sort(),
  );
  // The signer signs the sweeps (signDelayedSweep); LDK made no signer call for them.
  const sweeps = await sweepTwoDelayed(w);
  for (const s of sweeps) strictEqual(s.outcome, "accepted");
  strictEqual(w.requestsOf("signDelayedSweep").length, 2);
  strictEqual(
    payoutSat(w) - o.payoutBefore,
    o.toLocalSat + 30_000n - HTLC_TIMEOUT_FEE - 1_000n,
    "A recovered its balance and the HTLC, less the fees",
  );
}

/**
 * B force-closed with A's held HTLC in flight: after its expiry A claims it from B's commitment
 * (`signCounterpartyHtlcSweep`, for B's per-commitment point) to its payout script, and the
 * payment fails back. Returns the claimed amount.
 */
export async function expectCounterpartyHtlcClaim(
  w: SignedHarness,
  o: { bHeld: PlainCommitmentTx; commitmentTxid: string; held: PaymentResult },
): Promise<bigint> {
  const vout = o.bHeld.htlcs[0].transaction_output_index as number;
  await w.mineUntil(() => w.h.chain.spenderOf(o.commitmentTxid, vout)?.height != null, 200);
  const claim = w.h.chain.spenderOf(o.commitmentTxid, vout);
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
    o.bHeld.per_commitment_point,
  );
  await expectHeldPaymentFailed(w, o.held, 50);
  return claimed.amount;
}

/**
 * A's to_remote on B's commitment: P2WPKH of A's payment basepoint of channel `id`
 * (static_remotekey), B's whole countersignatory balance, no signer call needed. Returns its
 * output index.
 */
export async function expectToRemote(
  w: SignedHarness,
  id: ChannelId,
  bHeld: PlainCommitmentTx,
): Promise<number> {
  const bp = await w.api.getChannelBasepoints(id);
  const commitment = decodeTx(fromHex(bHeld.tx));
  const toRemote = commitment.outputs.findIndex((x) =>
    toHex(x.script) === toHex(p2wpkh(bp.payment))
  );
  ok(toRemote >= 0);
  strictEqual(commitment.outputs[toRemote].amount, bHeld.to_countersignatory_value_sat);
  return toRemote;
}

/**
 * A revoked commitment of B (with a balance and an HTLC) is confirmed: A's justice transactions
 * (`signJusticeSweep`, an HTLC one among them) take both outputs to A's payout script, nearly all
 * of what B tried to steal.
 */
export async function expectBreachPunished(w: SignedHarness): Promise<void> {
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
}

/**
 * A force-closes an anchors channel during a fee spike (5,000 sat/kW for urgent sweeps): its
 * commitment and the anchor CPFP child (`signAnchorSpend`, paid by the fee wallet) are broadcast
 * together and mined. Returns the commitment's txid.
 */
export async function anchorForceCloseByA(w: SignedHarness, ch: SignedChannel): Promise<string> {
  w.A.feerate = (t) =>
    t === ldk.ConfirmationTarget.LDKConfirmationTarget_UrgentOnChainSweep ? 5_000 : TEST_FEERATE;
  const walletBefore = w.A.wallet.balance();
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
  return commitmentTxid;
}

/**
 * The held HTLC's zero-fee HTLC-timeout of an anchors commitment: LDK's
 * BumpTransactionEventHandler adds a fee input and the signer signs the whole of it
 * (`signHolderHtlcTx`); the HTLC keeps its whole value.
 */
export async function expectAnchorHtlcTimeout(
  w: SignedHarness,
  commitmentTxid: string,
): Promise<void> {
  const commitment = w.h.chain.transaction(commitmentTxid)?.chainTx.tx;
  const htlcVout = commitment?.outputs.findIndex((x) => x.amount === 30_000n) ?? -1;
  ok(htlcVout >= 0);
  await w.mineUntil(() => w.h.chain.spenderOf(commitmentTxid, htlcVout)?.height != null, 200);
  const timeout = w.h.chain.transaction(w.h.chain.spenderOf(commitmentTxid, htlcVout)?.txid ?? "");
  ok(timeout && timeout.chainTx.source === "A");
  ok(timeout.chainTx.tx.inputs.length >= 2, "the HTLC input and a fee input");
  strictEqual(timeout.chainTx.tx.outputs[0].amount, 30_000n);
  ok(w.requestsOf("signHolderHtlcTx").length >= 1);
}
