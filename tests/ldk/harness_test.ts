import { deepStrictEqual, notStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import * as ldk from "lightningdevkit";
import { compare, fromHex, toHex } from "../../core/bytes.ts";
import { ecdsaVerify } from "../../core/crypto/mod.ts";
import { buildScript } from "../../core/bitcoin/script.ts";
import { decodeTx, sighashSegwitV0 } from "../../core/bitcoin/tx.ts";
import { Harness, HarnessError } from "./harness.ts";
import type { LdkNode } from "./node.ts";
import type { PlainCommitmentTx } from "./plain.ts";
import {
  type ChannelSignerFactory,
  keysManagerSignerFactory,
  methodCounts,
  trafficJson,
  type TrafficLine,
} from "./signer_hooks.ts";

// ---- helpers ----------------------------------------------------------------------------------

type Obj = { [k: string]: unknown };

function obj(v: unknown): Obj {
  ok(v !== null && typeof v === "object", "expected an object");
  return v as Obj;
}

function str(v: unknown): string {
  strictEqual(typeof v, "string");
  return v as string;
}

function traffic(node: LdkNode, method?: string): TrafficLine[] {
  ok(node.tap, `${node.name} has a signer tap`);
  return node.tap.traffic.filter((l) => method === undefined || l.method === method);
}

/** Funding pubkeys of a channel from the channel signer's provide_channel_parameters call. */
function fundingKeys(node: LdkNode): { ours: Uint8Array; theirs: Uint8Array } {
  const line = traffic(node, "provide_channel_parameters").find((l) => l.signer === 1);
  ok(line);
  const p = obj(line.args.channel_parameters);
  const theirs = obj(obj(p.counterparty).pubkeys).funding_pubkey;
  return {
    ours: fromHex(str(obj(p.holder_pubkeys).funding_pubkey)),
    theirs: fromHex(str(theirs)),
  };
}

/** BOLT #3 funding witness script: 2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG, keys sorted. */
function fundingScript(a: Uint8Array, b: Uint8Array): Uint8Array {
  const [k1, k2] = compare(a, b) < 0 ? [a, b] : [b, a];
  return buildScript(2, k1, k2, 2, "CHECKMULTISIG");
}

function commitmentOf(line: TrafficLine): PlainCommitmentTx {
  return line.args.commitment_tx as unknown as PlainCommitmentTx;
}

function expectNoIssues(h: Harness): void {
  for (const n of h.nodes.values()) deepStrictEqual(n.issues, [], `${n.name} issues`);
  deepStrictEqual(h.net.issues, []);
}

const VALUE = 1_000_000n;

// ---- tests ------------------------------------------------------------------------------------

Deno.test("ldk: open A->B, 10 payments each way, cooperative close", async () => {
  const h = await Harness.create({ nodes: ["A", { name: "B", storeMonitors: true }] });
  const A = h.node("A");
  const B = h.node("B");
  const walletB = h.balances().B.walletSat;
  strictEqual(walletB, 20_000_000n);
  const ch = h.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: false });
  const state = h.channelState(ch.channelId);
  strictEqual(state.A?.isUsable, true);
  strictEqual(state.B?.isUsable, true);
  strictEqual(state.A?.isOutbound, true);
  strictEqual(state.A?.anchors, false);
  strictEqual(
    h.chain.transaction(ch.funding.txid)?.chainTx.tx.outputs[ch.funding.vout].amount,
    VALUE,
  );
  ok(h.chain.confirmations(ch.funding.txid) >= 6);

  // B has nothing to send yet: no route, refused synchronously by send_payment.
  const noRoute = h.pay({ from: "B", to: "A", amountMsat: 5_000_000n });
  strictEqual(noRoute.status, "failed");
  strictEqual(noRoute.reason, "RouteNotFound");
  strictEqual(noRoute.paymentHash.length, 64);
  let toB = 0n;
  let toA = 0n;
  for (let i = 0; i < 10; i++) {
    const ab = 20_000_000n + BigInt(i) * 1_000_000n;
    const r1 = h.pay({ from: "A", to: "B", amountMsat: ab });
    strictEqual(r1.status, "succeeded");
    strictEqual(r1.feePaidMsat, 0n);
    toB += ab;
    const ba = 5_000_000n + BigInt(i) * 100_000n;
    strictEqual(h.pay({ from: "B", to: "A", amountMsat: ba }).status, "succeeded");
    toA += ba;
  }
  strictEqual(h.events("A", "PaymentSent").length, 10);
  strictEqual(h.events("B", "PaymentClaimed").length, 10);
  strictEqual(h.events("B", "PaymentSent").length, 10);
  strictEqual(h.events("A", "PaymentClaimed").length, 10);
  // B persisted (and eagerly freed) its monitor at every update; the stored copy is the latest.
  deepStrictEqual([...B.monitors.keys()], [`${ch.funding.txid}:${ch.funding.vout}`]);
  ok((B.monitors.get(`${ch.funding.txid}:${ch.funding.vout}`)?.length ?? 0) > 1_000);
  const net = (toB - toA) / 1000n; // whole satoshis by construction

  const close = h.cooperativeClose({ by: "A", channelId: ch.channelId });
  ok(close.feeSat > 0n && close.feeSat < 5_000n, `closing fee ${close.feeSat}`);
  strictEqual(close.outputs.B, net);
  strictEqual(close.outputs.A, VALUE - net - close.feeSat);
  strictEqual(close.outputs.A + close.outputs.B + close.feeSat, VALUE);
  strictEqual(h.chain.spenderOf(ch.funding.txid, ch.funding.vout)?.txid, close.closingTxid);
  strictEqual(h.chain.confirmations(close.closingTxid), 1);
  deepStrictEqual(
    h.events("A", "ChannelClosed").map((e) => [e.channelId, e.reason]),
    [[ch.channelId, "LocallyInitiatedCooperativeClosure"]],
  );
  deepStrictEqual(
    h.events("B", "ChannelClosed").map((e) => [e.channelId, e.reason]),
    [[ch.channelId, "CounterpartyInitiatedCooperativeClosure"]],
  );
  strictEqual(h.balances().B.onchainSat, walletB + net);
  deepStrictEqual(h.channelState(ch.channelId), { A: null, B: null });

  // Traffic: counts as LDK 0.1 produces them (1 at funding + 2 per payment).
  const counts = methodCounts(A.tap?.traffic ?? []);
  strictEqual(counts.sign_counterparty_commitment, 41);
  strictEqual(counts.validate_holder_commitment, 41);
  strictEqual(counts.validate_counterparty_revocation, 40);
  strictEqual(counts.release_commitment_secret, 40);
  strictEqual(counts.derive_channel_signer, 2);
  ok(counts.sign_closing_transaction >= 1);
  strictEqual(counts.sign_holder_commitment, undefined);

  // Every line is a JSON line with increasing seq and plain data only.
  const lines = A.tap?.trafficJsonLines() ?? [];
  let seq = 0;
  for (const l of lines) {
    const parsed = JSON.parse(l);
    ok(parsed.seq > seq);
    seq = parsed.seq;
    strictEqual(parsed.meta.node, "A");
    strictEqual(parsed.decision, "allow");
  }

  // Independent check of the plain data: every counterparty-commitment signature verifies
  // (BIP-143 over the logged transaction, funding script from the logged parameters), and every
  // HTLC decoded from TLV 12 sits at its output index with its amount.
  const keys = fundingKeys(A);
  const script = fundingScript(keys.ours, keys.theirs);
  let htlcsSeen = 0;
  for (const line of traffic(A, "sign_counterparty_commitment")) {
    const c = commitmentOf(line);
    const tx = decodeTx(fromHex(c.tx));
    const digest = sighashSegwitV0(tx, 0, { scriptCode: script, amount: VALUE });
    const result = obj(line.result);
    ok(ecdsaVerify(fromHex(str(result.sig)), digest, keys.ours), `sig of ${c.txid}`);
    const placed = c.htlcs.filter((x) => x.transaction_output_index !== null);
    strictEqual((result.htlc_sigs as string[]).length, placed.length);
    for (const x of placed) {
      strictEqual(tx.outputs[x.transaction_output_index as number].amount, x.amount_msat / 1000n);
      htlcsSeen++;
    }
    strictEqual(c.feerate_per_kw, 253);
  }
  strictEqual(htlcsSeen, 20);

  // B's held commitments: one per state, commitment numbers counting down from 2^48 - 1.
  const held = h.heldCommitments("B", ch.channelId);
  strictEqual(held.length, 41);
  strictEqual(held[0].commitment_number, 2n ** 48n - 1n);
  strictEqual(held[40].commitment_number, 2n ** 48n - 41n);
  expectNoIssues(h);
  h.close();
});

Deno.test("ldk: force close by A with a pending HTLC, HTLC-timeout signed asynchronously", async () => {
  const h = await Harness.create();
  const A = h.node("A");
  const B = h.node("B");
  const ch = h.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: false });
  strictEqual(h.pay({ from: "A", to: "B", amountMsat: 100_000_000n }).status, "succeeded");
  const held = h.pay({ from: "A", to: "B", amountMsat: 30_000_000n, hold: true });
  strictEqual(held.status, "held");
  strictEqual(h.channelState(ch.channelId).A?.pendingOutboundHtlcs, 1);

  // Monitor-side async signing: defer the HTLC-timeout signature.
  let hookAsks = 0;
  h.tap(A).hook = (call) => {
    if (call.method !== "sign_holder_htlc_transaction") return;
    hookAsks++;
    return "pending";
  };

  const { commitmentTxid } = h.forceClose({ by: "A", channelId: ch.channelId });
  const latest = traffic(A, "validate_holder_commitment").at(-1);
  ok(latest);
  const commitment = obj(latest.args.holder_tx).commitment_tx as unknown as PlainCommitmentTx;
  strictEqual(commitment.txid, commitmentTxid);
  const signed = traffic(A, "sign_holder_commitment");
  strictEqual(signed.length, 1);
  strictEqual(signed[0].signer, 2);
  deepStrictEqual(h.events("A", "ChannelClosed").map((e) => e.reason), ["HolderForceClosed"]);
  deepStrictEqual(h.events("B", "ChannelClosed").map((e) => e.reason), ["CounterpartyForceClosed"]);
  // B reacted by broadcasting its own commitment: refused as a double spend of the funding output.
  ok(h.chain.rejections.length >= 1);
  for (const r of h.chain.rejections) {
    strictEqual(r.reason, "double-spend");
    strictEqual(r.conflictsWith, commitmentTxid);
    strictEqual(r.source, "B");
  }
  h.mine(1);
  strictEqual(h.chain.confirmations(commitmentTxid), 1);

  // Mine past the HTLC's expiry: the monitor asks for the HTLC-timeout signature, and asks again
  // on each of its claim timers (rebroadcast_pending_claims, fee-bump heights).
  const htlc = commitment.htlcs[0];
  strictEqual(commitment.htlcs.length, 1);
  strictEqual(htlc.offered, true);
  strictEqual(htlc.payment_hash, held.paymentHash);
  const htlcVout = htlc.transaction_output_index as number;
  h.mineUntil(() => h.chain.height >= htlc.cltv_expiry + 2, 200);
  strictEqual(h.tap(A).pending().length, 1);
  A.timerTick();
  A.timerTick();
  h.pump();
  strictEqual(hookAsks, 1, "deduplicated: the hook saw the request once");
  const pending = h.tap(A).pending();
  strictEqual(pending.length, 1);
  strictEqual(pending[0].call.method, "sign_holder_htlc_transaction");
  strictEqual(pending[0].call.signer, 2);
  ok(pending[0].asks > 1, `LDK re-asked (${pending[0].asks})`);
  strictEqual(h.chain.spenderOf(commitmentTxid, htlcVout), undefined);

  strictEqual(h.tap(A).resolveAll("allow"), 1);
  h.unblockSigners("A");
  h.mine(1);
  const timeout = h.chain.spenderOf(commitmentTxid, htlcVout);
  ok(timeout && timeout.height !== null, "HTLC-timeout confirmed");
  const timeoutTx = h.chain.transaction(timeout.txid)?.chainTx;
  strictEqual(timeoutTx?.source, "A");
  strictEqual(timeoutTx?.tx.locktime, htlc.cltv_expiry);
  // BOLT #3: HTLC-timeout weight 663, fee = 663 * feerate / 1000 at 253 sat/kW.
  strictEqual(timeoutTx?.tx.outputs[0].amount, 30_000n - 167n);
  strictEqual(h.events("A", "PaymentFailed").length, 0, "not before 6 confirmations");

  // Everything matures: to_local and the HTLC-timeout output (CSV 144) become spendable.
  h.mineUntil(() => A.claimableSat() === 0n, 200);
  deepStrictEqual(h.events("A", "PaymentFailed").map((e) => e.paymentHash), [held.paymentHash]);
  const outs = h.events("A", "SpendableOutputs").flatMap((e) => e.outputs);
  deepStrictEqual(
    outs.map((o) => [o.kind, o.outpoint.txid, o.valueSat]).sort(),
    [
      ["DelayedPaymentOutput", commitmentTxid, commitment.to_broadcaster_value_sat],
      ["DelayedPaymentOutput", timeout.txid, 30_000n - 167n],
    ].sort(),
  );
  const bOuts = h.events("B", "SpendableOutputs").flatMap((e) => e.outputs);
  deepStrictEqual(
    bOuts.map((o) => [o.kind, o.outpoint.txid, o.valueSat]),
    [["StaticPaymentOutput", commitmentTxid, commitment.to_countersignatory_value_sat]],
  );
  strictEqual(commitment.to_countersignatory_value_sat, 100_000n);

  // Sweep A's outputs to its wallet with LDK's OutputSpender.
  const before = A.wallet.balance();
  ok(A.sweepSpendable());
  h.mine(1);
  const gained = A.wallet.balance() - before;
  const total = commitment.to_broadcaster_value_sat + 30_000n - 167n;
  ok(gained > total - 2_000n && gained < total, `swept ${gained} of ${total}`);
  strictEqual(methodCounts(h.tap(A).traffic).sign_holder_htlc_transaction, pending[0].asks + 1);
  strictEqual(B.hold.size, 1);
  expectNoIssues(h);
  h.close();
});

Deno.test("ldk: force close by B, A claims its HTLC from B's commitment", async () => {
  const h = await Harness.create();
  const A = h.node("A");
  const ch = h.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: false });
  strictEqual(h.pay({ from: "A", to: "B", amountMsat: 100_000_000n }).status, "succeeded");
  const held = h.pay({ from: "A", to: "B", amountMsat: 30_000_000n, hold: true });
  strictEqual(held.status, "held");
  const bHeld = h.heldCommitments("B", ch.channelId).at(-1);
  ok(bHeld);

  const { commitmentTxid } = h.forceClose({ by: "B", channelId: ch.channelId });
  strictEqual(commitmentTxid, bHeld.txid);
  deepStrictEqual(h.events("A", "ChannelClosed").map((e) => e.reason), ["CounterpartyForceClosed"]);
  deepStrictEqual(h.events("B", "ChannelClosed").map((e) => e.reason), ["HolderForceClosed"]);
  // A's ChannelManager reacted to B's error by broadcasting its own commitment: too late.
  ok(h.chain.rejections.length >= 1);
  for (const r of h.chain.rejections) {
    strictEqual(r.reason, "double-spend");
    strictEqual(r.conflictsWith, commitmentTxid);
    strictEqual(r.source, "A");
  }
  h.mine(1);
  strictEqual(h.chain.confirmations(commitmentTxid), 1);

  // The HTLC A offered is "received" in B's commitment: A takes it back after expiry.
  const htlc = bHeld.htlcs[0];
  strictEqual(htlc.offered, false);
  const vout = htlc.transaction_output_index as number;
  h.mineUntil(
    () => h.chain.spenderOf(commitmentTxid, vout)?.height != null,
    htlc.cltv_expiry - h.chain.height + 10,
  );
  const claim = h.chain.spenderOf(commitmentTxid, vout);
  strictEqual(h.chain.transaction(claim?.txid ?? "")?.chainTx.source, "A");
  const signs = traffic(A, "sign_counterparty_htlc_transaction");
  ok(signs.length >= 1);
  strictEqual(obj(signs[0].args.htlc).payment_hash, held.paymentHash);
  strictEqual(signs[0].args.per_commitment_point, bHeld.per_commitment_point);

  h.mineUntil(() => A.claimableSat() === 0n, 50);
  deepStrictEqual(h.events("A", "PaymentFailed").map((e) => e.paymentHash), [held.paymentHash]);
  const outs = h.events("A", "SpendableOutputs").flatMap((e) => e.outputs);
  const toRemote = outs.find((o) => o.kind === "StaticPaymentOutput");
  strictEqual(toRemote?.outpoint.txid, commitmentTxid);
  strictEqual(toRemote?.valueSat, bHeld.to_countersignatory_value_sat);
  const htlcOut = outs.find((o) => o.kind === "StaticOutput");
  strictEqual(htlcOut?.outpoint.txid, claim?.txid);
  ok(htlcOut && htlcOut.valueSat > 29_000n && htlcOut.valueSat < 30_000n);
  strictEqual(
    bHeld.to_countersignatory_value_sat + bHeld.to_broadcaster_value_sat + 30_000n,
    VALUE - feeOf(h, commitmentTxid, VALUE),
  );
  expectNoIssues(h);
  h.close();
});

function feeOf(h: Harness, txid: string, inputValue: bigint): bigint {
  const tx = h.chain.transaction(txid)?.chainTx.tx;
  ok(tx);
  return inputValue - tx.outputs.reduce((s, o) => s + o.amount, 0n);
}

Deno.test("ldk: anchors channel, payments, and a force close fee-bumped through the anchor", async () => {
  const h = await Harness.create();
  const A = h.node("A");
  const ch = h.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: true });
  strictEqual(ch.anchors, true);
  deepStrictEqual(h.events("A", "ChannelReady").map((e) => e.anchors), [true]);
  deepStrictEqual(h.events("B", "ChannelReady").map((e) => e.anchors), [true]);
  deepStrictEqual(h.events("B", "OpenChannelRequest").map((e) => e.anchors), [true]);
  const params = traffic(A, "provide_channel_parameters").map((l) =>
    obj(l.args.channel_parameters)
  );
  deepStrictEqual(params.map((p) => p.anchors_zero_fee_htlc_tx), [true, true]);
  for (let i = 0; i < 3; i++) {
    strictEqual(h.pay({ from: "A", to: "B", amountMsat: 40_000_000n }).status, "succeeded");
    strictEqual(h.pay({ from: "B", to: "A", amountMsat: 10_000_000n }).status, "succeeded");
  }
  // Anchor commitments carry one 330-sat anchor per side that has an output (BOLT #3).
  for (const line of traffic(A, "sign_counterparty_commitment")) {
    const c = commitmentOf(line);
    const tx = decodeTx(fromHex(c.tx));
    const hasHtlcs = c.htlcs.length > 0;
    const expected = Number(c.to_broadcaster_value_sat > 0n || hasHtlcs) +
      Number(c.to_countersignatory_value_sat > 0n || hasHtlcs);
    strictEqual(tx.outputs.filter((o) => o.amount === 330n).length, expected);
  }
  const last = commitmentOf(traffic(A, "sign_counterparty_commitment").at(-1) as TrafficLine);
  strictEqual(last.to_broadcaster_value_sat, 90_000n);

  // Force close while fees spiked: LDK builds a CPFP on A's anchor with a wallet input.
  A.feerate = (
    t,
  ) => (t === ldk.ConfirmationTarget.LDKConfirmationTarget_UrgentOnChainSweep ? 2_000 : 253);
  const walletBefore = A.wallet.balance();
  const { commitmentTxid } = h.forceClose({ by: "A", channelId: ch.channelId });
  deepStrictEqual(
    h.events("A", "BumpTransaction").map((e) => [e.type, e.commitmentTxid]),
    [["ChannelClose", commitmentTxid]],
  );
  const anchorSigs = traffic(A, "sign_holder_anchor_input");
  strictEqual(anchorSigs.length, 1);
  strictEqual(obj(anchorSigs[0].result).status, "ok");
  const mempool = h.chain.mempool();
  deepStrictEqual(mempool.map((t) => t.source), ["A", "A"]);
  strictEqual(mempool[0].txid, commitmentTxid);
  const cpfp = mempool[1].tx;
  ok(cpfp.inputs.some((i) => toHex(i.txid.slice().reverse()) === commitmentTxid));
  ok(cpfp.inputs.length >= 2, "anchor + wallet input");
  h.mine(1);
  strictEqual(h.chain.confirmations(commitmentTxid), 1);
  strictEqual(h.chain.confirmations(mempool[1].txid), 1);
  ok(A.wallet.balance() < walletBefore, "the wallet paid the bump");
  expectNoIssues(h);
  h.close();
});

Deno.test("ldk: a revoked commitment of B on chain makes A's monitor broadcast justice", async () => {
  const h = await Harness.create();
  const A = h.node("A");
  const ch = h.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: false });
  strictEqual(h.pay({ from: "A", to: "B", amountMsat: 50_000_000n }).status, "succeeded");
  strictEqual(h.pay({ from: "A", to: "B", amountMsat: 40_000_000n }).status, "succeeded");
  strictEqual(h.pay({ from: "B", to: "A", amountMsat: 10_000_000n }).status, "succeeded");
  const held = h.heldCommitments("B", ch.channelId);
  strictEqual(held.length, 7);
  // A revoked state where B has a balance and an HTLC is in flight.
  const old = held.find((c) =>
    c.to_broadcaster_value_sat > 0n && c.htlcs.length === 1 &&
    c.htlcs[0].transaction_output_index !== null
  );
  ok(old);
  notStrictEqual(old.txid, held.at(-1)?.txid);
  strictEqual(h.submitTransaction(old.tx, "B (revoked)").status, "accepted");
  h.mine(1);
  deepStrictEqual(h.events("A", "ChannelClosed").map((e) => e.reason), ["CommitmentTxConfirmed"]);
  ok(
    A.logs.some((l) =>
      l.text.includes("Got broadcast of revoked counterparty commitment transaction")
    ),
  );
  h.mine(3);

  // Both of B's outputs (to_local and the HTLC) are taken by A's justice transaction(s).
  const oldTx = decodeTx(fromHex(old.tx));
  const toLocal = oldTx.outputs.findIndex((o) => o.amount === old.to_broadcaster_value_sat);
  const htlcVout = old.htlcs[0].transaction_output_index as number;
  for (const vout of [toLocal, htlcVout]) {
    const s = h.chain.spenderOf(old.txid, vout);
    ok(s && s.height !== null, `output ${vout} claimed`);
    strictEqual(h.chain.transaction(s.txid)?.chainTx.source, "A");
  }
  const out = traffic(A, "sign_justice_revoked_output");
  const htlc = traffic(A, "sign_justice_revoked_htlc");
  ok(out.length >= 1 && htlc.length >= 1);
  // The revocation secret LDK used is the one of that state: its point is the commitment's.
  strictEqual(out[0].args.per_commitment_point, old.per_commitment_point);
  strictEqual(htlc[0].args.per_commitment_point, old.per_commitment_point);
  strictEqual(out[0].args.amount, old.to_broadcaster_value_sat);
  strictEqual(obj(htlc[0].args.htlc).payment_hash, old.htlcs[0].payment_hash);
  strictEqual(out[0].signer, 2);

  h.mineUntil(() => A.claimableSat() === 0n, 20);
  const justiceSat = h.events("A", "SpendableOutputs").flatMap((e) => e.outputs)
    .filter((o) => o.outpoint.txid !== old.txid)
    .reduce((s, o) => s + o.valueSat, 0n);
  const stolen = old.to_broadcaster_value_sat + old.htlcs[0].amount_msat / 1000n;
  ok(justiceSat > stolen - 2_000n && justiceSat < stolen, `justice ${justiceSat} of ${stolen}`);
  expectNoIssues(h);
  h.close();
});

Deno.test("ldk: refusing sign_counterparty_commitment stalls the payment until unblocked", async () => {
  const h = await Harness.create();
  const A = h.node("A");
  const B = h.node("B");
  const ch = h.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: false });
  let refusals = 0;
  h.tap(A).hook = (call) => {
    if (call.method === "sign_counterparty_commitment" && refusals === 0) {
      refusals++;
      return "refuse";
    }
  };
  const r = h.pay({ from: "A", to: "B", amountMsat: 20_000_000n });
  strictEqual(r.status, "pending");
  strictEqual(h.channelState(ch.channelId).A?.pendingOutboundHtlcs, 1);
  strictEqual(h.events("B", "PaymentClaimable").length, 0);
  h.pump();
  strictEqual(h.paymentStatus({ from: A, to: B, paymentHash: r.paymentHash }).status, "pending");
  const refusedLines = traffic(A, "sign_counterparty_commitment").filter((l) =>
    l.decision === "refuse"
  );
  strictEqual(refusedLines.length, 1);
  strictEqual(refusedLines[0].result, null);

  h.unblockSigners("A");
  strictEqual(h.paymentStatus({ from: A, to: B, paymentHash: r.paymentHash }).status, "succeeded");
  const retried = traffic(A, "sign_counterparty_commitment").find((l) =>
    l.seq > refusedLines[0].seq
  );
  ok(retried);
  strictEqual(retried.decision, "allow");
  strictEqual(commitmentOf(retried).txid, commitmentOf(refusedLines[0]).txid);

  // The async flavour: "pending" on release_commitment_secret, resolved later.
  h.tap(A).hook = (call) => (call.method === "release_commitment_secret" ? "pending" : undefined);
  const r2 = h.pay({ from: "B", to: "A", amountMsat: 5_000_000n });
  strictEqual(r2.status, "pending");
  strictEqual(h.tap(A).pending().length, 1);
  h.unblockSigners("A");
  strictEqual(h.tap(A).pending().length, 1, "still pending: not resolved yet");
  h.tap(A).hook = undefined;
  strictEqual(h.tap(A).resolveAll("allow"), 1);
  h.unblockSigners("A");
  strictEqual(h.paymentStatus({ from: B, to: A, paymentHash: r2.paymentHash }).status, "succeeded");
  deepStrictEqual(
    methodCounts(h.tap(A).traffic, { decision: "pending" }),
    { release_commitment_secret: 2 },
  );

  const close = h.cooperativeClose({ by: "B" });
  strictEqual(close.outputs.B, 15_000n);
  strictEqual(close.outputs.A + close.feeSat, VALUE - 15_000n);
  expectNoIssues(h);
  h.close();
});

Deno.test("ldk: a replaced signer factory, a throwing hook failing closed, an announced channel", async () => {
  let derived = 0;
  const h = await Harness.create({
    nodes: [
      {
        name: "A",
        signer: {
          factory: (km): ChannelSignerFactory => {
            const inner = keysManagerSignerFactory(km);
            return {
              ...inner,
              deriveChannelSigner(value, id) {
                derived++;
                return inner.deriveChannelSigner(value, id);
              },
            };
          },
        },
      },
      "B",
    ],
  });
  const A = h.node("A");
  const ch = h.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: false, announce: true });
  strictEqual(derived, 2);
  strictEqual(h.channelState(ch.channelId).A?.isAnnounced, true);
  const ann = traffic(A, "sign_channel_announcement_with_funding_key");
  ok(ann.length >= 1);
  strictEqual(obj(ann[0].result).status, "ok");

  // An exception in a hook must not reach LDK: the call fails closed (Err) and the node lives on.
  let thrown = 0;
  h.tap(A).hook = (call) => {
    if (call.method === "sign_counterparty_commitment" && thrown === 0) {
      thrown++;
      throw new Error("validator crashed");
    }
  };
  const r = h.pay({ from: "A", to: "B", amountMsat: 1_000_000n });
  strictEqual(r.status, "pending");
  const errLine = traffic(A).find((l) => l.decision === "error");
  strictEqual(errLine?.error, "Error: validator crashed");
  h.unblockSigners("A");
  strictEqual(
    h.paymentStatus({ from: "A", to: "B", paymentHash: r.paymentHash }).status,
    "succeeded",
  );
  strictEqual(h.pay({ from: "A", to: "B", amountMsat: 2_000_000n }).status, "succeeded");
  strictEqual(trafficJson(traffic(A).at(-1) as TrafficLine).startsWith('{"seq":'), true);
  expectNoIssues(h);
  h.close();
});

Deno.test("ldk: inbound channels can be rejected (LDK retries once without anchors)", async () => {
  const h = await Harness.create({
    nodes: ["A", { name: "B", acceptInbound: ({ fundingSat }) => fundingSat < 500_000n }],
  });
  throws(
    () => h.openChannel({ from: "A", to: "B", valueSat: VALUE }),
    (e: unknown) => e instanceof HarnessError && /did not reach ChannelPending/.test(e.message),
  );
  deepStrictEqual(
    h.events("B", "OpenChannelRequest").map((e) => [e.fundingSat, e.anchors]),
    [[VALUE, true], [VALUE, false]],
  );
  deepStrictEqual(h.events("A", "ChannelClosed").map((e) => e.reason), ["CounterpartyForceClosed"]);
  strictEqual(h.chain.mempool().length, 0);
  const ch = h.openChannel({ from: "A", to: "B", valueSat: 400_000n });
  strictEqual(ch.anchors, true);
  strictEqual(h.channelState(ch.channelId).B?.isUsable, true);
  expectNoIssues(h);
  h.close();
});

Deno.test("ldk: signer traffic is reproducible run to run (fixed seeds, chain time)", async () => {
  async function run(): Promise<string[]> {
    const h = await Harness.create();
    h.openChannel({ from: "A", to: "B", valueSat: VALUE, anchors: true });
    strictEqual(h.pay({ from: "A", to: "B", amountMsat: 50_000_000n }).status, "succeeded");
    strictEqual(h.pay({ from: "B", to: "A", amountMsat: 10_000_000n }).status, "succeeded");
    h.cooperativeClose({ by: "A" });
    h.close();
    return h.tap("A").trafficJsonLines();
  }
  const first = await run();
  const second = await run();
  ok(first.length > 20);
  deepStrictEqual(second, first);
});
