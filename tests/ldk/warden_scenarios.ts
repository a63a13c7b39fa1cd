/**
 * The honest scenarios of node A signed by Warden, each run end to end with its assertions: the
 * LDK tests (warden_test.ts) run them, and record_traffic.ts runs the small versions to write the
 * traffic files under tests/traffic/. Every scenario ends by checking that the signer refused
 * nothing and neither node met a problem.
 *
 * @module
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import * as ldk from "lightningdevkit";
import { fromHex, reverse, toHex } from "../../core/bytes.ts";
import { p2wpkh } from "../../core/bitcoin/script.ts";
import { decodeTx } from "../../core/bitcoin/tx.ts";
import { ChannelId } from "../../core/keys/types.ts";
import type { ChannelState } from "../../core/channel/types.ts";
import { toJson } from "../../core/store/json.ts";
import type { PlainCommitmentTx } from "./plain.ts";
import { TEST_FEERATE, type WardenChannel, type WardenHarness } from "./warden_node.ts";

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
      state && o && o.txid === internalTxid(channel.funding.txid) && o.vout === channel.funding.vout
    ) {
      return { id, state };
    }
  }
  throw new Error(`the signer has no channel funded by ${channel.funding.txid}`);
}

/** Nothing refused, no node issue, no rejected broadcast other than the expected ones. */
export function expectHonest(w: WardenHarness): void {
  deepStrictEqual(
    w.failures.map((f) => `${f.ldkMethod}: ${f.error.message}`),
    [],
    "the signer refused nothing",
  );
  deepStrictEqual(w.provider.stats.refused, {});
  for (const s of w.tamper.seen) strictEqual(s.outcome?.ok, true, `${s.method} answered`);
  for (const n of w.h.nodes.values()) deepStrictEqual(n.issues, [], `${n.name} issues`);
  deepStrictEqual(w.h.net.issues, []);
}

/** The request arguments the signer received for `method`, in order. */
export function requestsOf(w: WardenHarness, method: string): unknown[][] {
  return w.tamper.seen.filter((s) => s.method === method).map((s) => s.args);
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

/** A's payout (destination and shutdown) outputs on chain, confirmed and unspent. */
export function payoutSat(w: WardenHarness): bigint {
  return w.h.chain.unspent((u) =>
    u.script.length === w.payout.length && toHex(u.script) === toHex(w.payout)
  )
    .reduce((s, u) => s + u.amount, 0n);
}

/** Amounts of the payments of {@link payBothWays} (whole satoshis, msat). */
export function paymentAmounts(n: number): { ab: bigint[]; ba: bigint[] } {
  const ab = Array.from({ length: n }, (_, i) => (10_000n + 13n * BigInt(i)) * 1000n);
  const ba = Array.from({ length: n }, (_, i) => (2_000n + 7n * BigInt(i)) * 1000n);
  return { ab, ba };
}

/**
 * `n` payments each way between the opener and the acceptor (the opener pays first: the acceptor
 * needs a balance above its reserve). Returns the net amount (sat) that moved to the acceptor.
 */
export async function payBothWays(
  w: WardenHarness,
  o: { opener: string; acceptor: string; n: number; reconnectAt?: number },
): Promise<bigint> {
  const { ab, ba } = paymentAmounts(o.n);
  const pay = async (from: string, to: string, amountMsat: bigint, i: number) => {
    if (i === o.reconnectAt && from === o.opener) {
      // Drop the connection in the middle of the payment: LDK re-establishes the channel and
      // retransmits; the signer sees the same requests again and answers them the same way.
      const start = await w.send({ from, to, amountMsat });
      for (const c of w.h.net.connections()) w.h.net.disconnect(c);
      await w.settle();
      w.h.connect(o.opener, o.acceptor);
      await w.settle();
      const r = w.h.paymentStatus({ from, to, paymentHash: start.paymentHash });
      strictEqual(r.status, "succeeded", `payment ${from}->${to} ${i} after a reconnect`);
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

/** Open A->B (or B->A), `n` payments each way, cooperative close; everything checked. */
export async function openPayClose(
  w: WardenHarness,
  o: { outbound: boolean; n: number; reconnectAt?: number },
): Promise<void> {
  const [opener, acceptor] = o.outbound ? ["A", "B"] : ["B", "A"];
  const walletA = w.A.wallet.balance();
  const ch = await w.openChannel({ from: opener, to: acceptor, valueSat: VALUE, anchors: false });
  const state = w.h.channelState(ch.channelId);
  strictEqual(state.A?.isUsable, true);
  strictEqual(state.B?.isUsable, true);
  strictEqual(state.A?.isOutbound, o.outbound);
  // The signer's setup from LDK's channel parameters.
  const { id, state: opened } = await signerChannel(w, ch);
  const setup = opened.setup;
  ok(setup);
  strictEqual(setup.isOutbound, o.outbound);
  strictEqual(setup.channelValueSat, VALUE);
  strictEqual(setup.pushMsat, 0n);
  strictEqual(setup.commitmentType, "static_remotekey");
  strictEqual(setup.holderSelectedContestDelay, DELAY);
  strictEqual(setup.counterpartySelectedContestDelay, DELAY);
  deepStrictEqual(setup.fundingOutpoint, {
    txid: internalTxid(ch.funding.txid),
    vout: ch.funding.vout,
  });
  strictEqual(opened.enforcement.initialHolderValueSat, o.outbound ? VALUE : 0n);
  // The signer follows the chain from the blocks it is fed: same tip, funding depth known.
  strictEqual(w.signer.tipInfo()?.height, w.h.chain.height);
  if (o.outbound) ok(w.A.wallet.balance() < walletA - VALUE, "A funded the channel");

  const net = await payBothWays(w, { opener, acceptor, n: o.n, reconnectAt: o.reconnectAt });
  strictEqual(w.h.events("A", "PaymentSent").length, o.n);
  strictEqual(w.h.events("A", "PaymentClaimed").length, o.n);
  const e = (await w.signer.channelState(id))?.enforcement;
  ok(e);
  // Two new commitments per payment on each side, all but the current one revoked.
  strictEqual(e.nextHolderCommitNum, 4 * o.n + 1);
  strictEqual(e.nextCounterpartyCommitNum, 4 * o.n + 1);
  strictEqual(e.nextCounterpartyRevokeNum, 4 * o.n);
  const counts = w.requestCounts();
  // A asked its signer to approve each of its n payments (B's are not A's to approve).
  strictEqual(counts.preapproveInvoice, o.n);
  strictEqual(counts.signCounterpartyCommitment, 4 * o.n + 1);
  strictEqual(counts.validateHolderCommitment, 4 * o.n + 1);
  strictEqual(counts.revokeHolderCommitment, 4 * o.n);
  strictEqual(counts.validateCounterpartyRevocation, 4 * o.n);
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
  const holderBalance = o.outbound ? VALUE - net : net;
  const current = e.currentHolder?.info;
  ok(current);
  strictEqual(current.htlcs.length, 0);
  // The funder pays the commitment fee.
  strictEqual(current.toBroadcasterSat, o.outbound ? holderBalance - COMMITMENT_FEE : net);

  const before = payoutSat(w);
  const close = await w.cooperativeClose({ by: acceptor, channel: ch });
  ok(close.feeSat > 0n && close.feeSat < 5_000n, `closing fee ${close.feeSat}`);
  strictEqual(close.outputs.B, o.outbound ? net : VALUE - net - close.feeSat);
  strictEqual(close.outputs.A, o.outbound ? VALUE - net - close.feeSat : net);
  strictEqual(close.outputs.A + close.outputs.B + close.feeSat, VALUE);
  // A's share pays A's payout script (wallet m/0/0/1), which the signer checked.
  strictEqual(payoutSat(w) - before, close.outputs.A);
  ok(close.tx.outputs.some((x) => toHex(x.script) === toHex(w.payout)));
  strictEqual(requestsOf(w, "signMutualClose").length >= 1, true);
  strictEqual((await w.signer.channelState(id))?.enforcement.closed, true);
  deepStrictEqual(
    w.h.events("A", "ChannelClosed").map((x) => x.reason),
    [o.outbound ? "CounterpartyInitiatedCooperativeClosure" : "LocallyInitiatedCooperativeClosure"],
  );
  deepStrictEqual(w.h.channelState(ch.channelId), { A: null, B: null });
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
  const ch = await w.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: false });
  strictEqual((await w.pay({ from: "A", to: "B", amountMsat: 100_000_000n })).status, "succeeded");
  const held = await w.pay({ from: "A", to: "B", amountMsat: 30_000_000n, hold: true });
  strictEqual(held.status, "held");
  const { id } = await signerChannel(w, ch);
  const latest = requestsOf(w, "validateHolderCommitment").at(-1)?.[0] as { number: number };
  const payoutBefore = payoutSat(w);

  const commitmentTxid = await w.forceClose({ by: "A", channel: ch, offline: true });
  const e = (await w.signer.channelState(id))?.enforcement;
  ok(e);
  strictEqual(e.closed, true);
  strictEqual(e.forceClosedNumber, latest.number, "Warden signed the latest holder commitment");
  deepStrictEqual(numbers(w, "signHolderCommitment"), [latest.number]);
  const commitment = w.h.chain.transaction(commitmentTxid)?.chainTx.tx;
  ok(commitment);
  const info = e.currentHolder?.info;
  ok(info);
  strictEqual(info.htlcs.length, 1);
  deepStrictEqual(w.h.events("A", "ChannelClosed").map((x) => x.reason), ["HolderForceClosed"]);
  await w.mine(1);
  strictEqual(w.h.chain.confirmations(commitmentTxid), 1);

  // After the HTLC's expiry the monitor asks for the HTLC-timeout signature.
  const htlcVout = commitment.outputs.findIndex((x) => x.amount === 30_000n);
  ok(htlcVout >= 0);
  await w.mineUntil(() => w.h.chain.spenderOf(commitmentTxid, htlcVout)?.height != null, 200);
  const timeout = w.h.chain.spenderOf(commitmentTxid, htlcVout);
  ok(timeout);
  const timeoutTx = w.h.chain.transaction(timeout.txid)?.chainTx;
  strictEqual(timeoutTx?.source, "A");
  strictEqual(timeoutTx?.tx.locktime, info.htlcs[0].cltvExpiry);
  strictEqual(timeoutTx?.tx.outputs[0].amount, 30_000n - HTLC_TIMEOUT_FEE);
  strictEqual(requestsOf(w, "signHolderHtlcTx").length, 1);

  // Both delayed outputs mature (to_self_delay 144) and LDK reports them.
  await w.mineUntil(() => w.A.claimableSat() === 0n, 300);
  deepStrictEqual(w.h.events("A", "PaymentFailed").map((x) => x.paymentHash), [held.paymentHash]);
  const outs = w.h.events("A", "SpendableOutputs").flatMap((x) => x.outputs);
  deepStrictEqual(
    outs.map((x) => [x.kind, x.outpoint.txid, x.valueSat]).sort(),
    [
      ["DelayedPaymentOutput", commitmentTxid, info.toBroadcasterSat],
      ["DelayedPaymentOutput", timeout.txid, 30_000n - HTLC_TIMEOUT_FEE],
    ].sort(),
  );
  // Warden signs the sweeps (signDelayedSweep); LDK made no signer call for them.
  const sweeps = await w.sweepDelayed();
  strictEqual(sweeps.length, 2);
  for (const s of sweeps) strictEqual(s.outcome, "accepted");
  await w.mine(1);
  for (const s of sweeps) strictEqual(w.h.chain.confirmations(s.txid), 1);
  strictEqual(requestsOf(w, "signDelayedSweep").length, 2);
  const recovered = payoutSat(w) - payoutBefore;
  strictEqual(recovered, info.toBroadcasterSat + 30_000n - HTLC_TIMEOUT_FEE - 1_000n);
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
  const ch = await w.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: false });
  strictEqual((await w.pay({ from: "A", to: "B", amountMsat: 100_000_000n })).status, "succeeded");
  const held = await w.pay({ from: "A", to: "B", amountMsat: 30_000_000n, hold: true });
  strictEqual(held.status, "held");
  const bHeld = w.heldCommitments("B", ch).at(-1) as PlainCommitmentTx;
  const payoutBefore = payoutSat(w);
  const commitmentTxid = await w.forceClose({ by: "B", channel: ch });
  strictEqual(commitmentTxid, bHeld.txid);
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

  const htlc = bHeld.htlcs[0];
  strictEqual(htlc.offered, false, "A's payment is received by B");
  const vout = htlc.transaction_output_index as number;
  await w.mineUntil(() => w.h.chain.spenderOf(commitmentTxid, vout)?.height != null, 200);
  const claim = w.h.chain.spenderOf(commitmentTxid, vout);
  ok(claim);
  const claimTx = w.h.chain.transaction(claim.txid)?.chainTx;
  strictEqual(claimTx?.source, "A");
  const claimed = claimTx?.tx.outputs[0];
  ok(claimed && toHex(claimed.script) === toHex(w.payout), "the claim pays A's payout script");
  ok(claimed.amount > 29_000n && claimed.amount < 30_000n, `claim ${claimed.amount}`);
  const sweeps = requestsOf(w, "signCounterpartyHtlcSweep");
  ok(sweeps.length >= 1);
  deepStrictEqual(
    toHex((sweeps[0][0] as { perCommitmentPoint: Uint8Array }).perCommitmentPoint),
    bHeld.per_commitment_point,
  );
  await w.mineUntil(() => w.A.claimableSat() === 0n, 50);
  deepStrictEqual(w.h.events("A", "PaymentFailed").map((x) => x.paymentHash), [held.paymentHash]);
  // to_remote: P2WPKH of our payment basepoint (static_remotekey), no signer call needed.
  const bp = await w.api.getChannelBasepoints((await signerChannel(w, ch)).id);
  const commitment = decodeTx(fromHex(bHeld.tx));
  const toRemote = commitment.outputs.findIndex((x) =>
    toHex(x.script) === toHex(p2wpkh(bp.payment))
  );
  ok(toRemote >= 0);
  strictEqual(commitment.outputs[toRemote].amount, bHeld.to_countersignatory_value_sat);
  strictEqual(w.h.chain.output(commitmentTxid, toRemote)?.spentBy, null);
  strictEqual(payoutSat(w) - payoutBefore, claimed.amount);
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
  let justice = 0n;
  for (const vout of [toLocal, htlcVout]) {
    const s = w.h.chain.spenderOf(old.txid, vout);
    ok(s && s.height !== null, `output ${vout} taken`);
    const tx = w.h.chain.transaction(s.txid)?.chainTx;
    strictEqual(tx?.source, "A");
    for (const out of tx?.tx.outputs ?? []) {
      strictEqual(toHex(out.script), toHex(w.payout), "justice pays A's payout script");
    }
  }
  for (
    const txid of new Set([toLocal, htlcVout].map((v) => w.h.chain.spenderOf(old.txid, v)?.txid))
  ) {
    justice += w.h.chain.transaction(txid as string)?.chainTx.tx.outputs[0].amount ?? 0n;
  }
  const justiceRequests = requestsOf(w, "signJusticeSweep");
  ok(justiceRequests.length >= 2);
  ok(justiceRequests.some((a) => (a[0] as { htlc?: unknown }).htlc !== undefined), "an HTLC one");
  await w.mineUntil(() => w.A.claimableSat() === 0n, 20);
  const stolen = old.to_broadcaster_value_sat + old.htlcs[0].amount_msat / 1000n;
  ok(justice > stolen - 3_000n && justice < stolen, `justice ${justice} of ${stolen}`);
  strictEqual(payoutSat(w) - payoutBefore, justice);
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
  const ch = await w.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: true });
  const { id, state } = await signerChannel(w, ch);
  strictEqual(state.setup?.commitmentType, "anchors_zero_fee_htlc");
  await payBothWays(w, { opener: "A", acceptor: "B", n: o.payments });
  const held = await w.pay({ from: "A", to: "B", amountMsat: 30_000_000n, hold: true });
  strictEqual(held.status, "held");
  w.A.feerate = (
    t,
  ) => (t === ldk.ConfirmationTarget.LDKConfirmationTarget_UrgentOnChainSweep
    ? 5_000
    : TEST_FEERATE);
  const walletBefore = w.A.wallet.balance();
  const payoutBefore = payoutSat(w);
  const commitmentTxid = await w.forceClose({ by: "A", channel: ch, offline: true });
  const mempool = w.h.chain.mempool().filter((t) => t.source === "A");
  strictEqual(mempool[0].txid, commitmentTxid);
  const cpfp = mempool[1];
  ok(cpfp, "a CPFP child");
  ok(cpfp.tx.inputs.some((i) => toHex(reverse(i.txid)) === commitmentTxid));
  strictEqual(requestsOf(w, "signAnchorSpend").length >= 1, true);
  await w.mine(1);
  strictEqual(w.h.chain.confirmations(commitmentTxid), 1);
  strictEqual(w.h.chain.confirmations(cpfp.txid), 1);
  ok(w.A.wallet.balance() < walletBefore, "the fee wallet paid the bump");

  const e = (await w.signer.channelState(id))?.enforcement;
  ok(e?.currentHolder);
  const info = e.currentHolder.info;
  // The HTLC-timeout: LDK's BumpTransactionEventHandler adds a fee input to the zero-fee
  // transaction and Warden signs the whole of it.
  const commitment = w.h.chain.transaction(commitmentTxid)?.chainTx.tx;
  const htlcVout = commitment?.outputs.findIndex((x) => x.amount === 30_000n) ?? -1;
  ok(htlcVout >= 0);
  await w.mineUntil(() => w.h.chain.spenderOf(commitmentTxid, htlcVout)?.height != null, 200);
  const timeout = w.h.chain.transaction(w.h.chain.spenderOf(commitmentTxid, htlcVout)?.txid ?? "");
  ok(timeout && timeout.chainTx.source === "A");
  ok(timeout.chainTx.tx.inputs.length >= 2, "the HTLC input and a fee input");
  strictEqual(timeout.chainTx.tx.outputs[0].amount, 30_000n);
  strictEqual(requestsOf(w, "signHolderHtlcTx").length >= 1, true);
  if (o.sweep === false) {
    expectHonest(w);
    return;
  }
  await w.mineUntil(() => w.A.claimableSat() === 0n, 300);
  deepStrictEqual(w.h.events("A", "PaymentFailed").map((x) => x.paymentHash), [held.paymentHash]);
  const outs = w.h.events("A", "SpendableOutputs").flatMap((x) => x.outputs);
  const delayed = outs.filter((x) => x.kind === "DelayedPaymentOutput");
  strictEqual(delayed.length, 2);
  ok(
    delayed.some((x) => x.outpoint.txid === commitmentTxid && x.valueSat === info.toBroadcasterSat),
  );
  // Zero-fee HTLC transactions: the HTLC-timeout's output keeps the whole HTLC value.
  ok(delayed.some((x) => x.outpoint.txid !== commitmentTxid && x.valueSat === 30_000n));
  const sweeps = await w.sweepDelayed();
  strictEqual(sweeps.length, 2);
  await w.mine(1);
  for (const s of sweeps) strictEqual(w.h.chain.confirmations(s.txid), 1);
  strictEqual(payoutSat(w) - payoutBefore, info.toBroadcasterSat + 30_000n - 1_000n);
  expectHonest(w);
}
