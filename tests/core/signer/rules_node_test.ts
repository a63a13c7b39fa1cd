/**
 * The rules of `rules/default.policy` that concern payments, routing and velocity (family G), the
 * node's own on-chain signing (family C on `sign_onchain`), the node-level clauses of policy-other
 * and the node-level signing kinds (L: gossip, invoices, messages, ECDH, derived secrets, BOLT #12),
 * each driven into a refusal through the real {@link Signer} (MemoryStore, our node keys, the real
 * default policy for regtest, or a site policy including it to turn a parameter on), asserting the
 * exact rule ids and that nothing changed; each test also shows the honest request passing.
 *
 * Forwards are built on one channel (the peer's HTLC in, ours out with the same hash) or across
 * two channels of one signer (`share`). The last test checks that every rule of the policy is
 * refused here or in rules_channel_test.ts, or is listed as unreachable with a reason.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { fromHex, toHex, utf8 } from "../../../core/bytes.ts";
import { publicKey, sha256 } from "../../../core/crypto/mod.ts";
import { p2pkh, p2wpkh, p2wsh } from "../../../core/bitcoin/script.ts";
import { scriptToAddress } from "../../../core/bitcoin/address.ts";
import {
  decideApproval,
  listApprovals,
  NegativeApprover,
  QueueApprover,
} from "../../../core/node/approvals.ts";
import { updateAllowlist } from "../../../core/node/allowlist.ts";
import { ChannelId } from "../../../core/keys/types.ts";
import { MemoryStore } from "../../../core/store/memory.ts";
import { PolicyRefusal } from "../../../core/signer/errors.ts";
import { loadPolicy } from "../../../policy/engine.ts";
import { signerRegistry } from "../../../core/signer/registry.ts";
import { BOLT11_NODE_ID } from "../node/_payment_fixture.ts";
import { collectCoverage, refusal } from "./_rules_coverage.ts";
import { Depths, forwardAcross, forwardOnOneChannel, hashFor, preimageOf } from "./_forwards.ts";
import {
  assertNoViolations,
  DEFAULT_POLICY,
  expectRefusal,
  FOREIGN_SCRIPT,
  hashOf,
  NOW,
  PAYEE,
  PEER_ID,
  PEER_NODE_ID,
  PEER_SCRIPT,
  Rig,
  type RigOptions,
  US_NODE,
  walletScript,
} from "./_rules_fixture.ts";
import {
  buildPsbt,
  fundingTx,
  prevTx,
  utxoOf,
  walletCoins,
  withdrawal,
} from "./_onchain_fixture.ts";
import {
  channelAnnouncement,
  channelUpdate,
  descriptionField,
  expiryField,
  invoiceToPay,
  invoiceToSign,
  nodeAnnouncement,
  ourDirection,
  payeeField,
  paymentHashField,
  scidOf,
} from "./_node_requests.ts";

/**
 * Rules no request can violate through the signer, with the reason; they are tested by their
 * `policy test` examples only (tests/rules/default_policy_test.ts).
 */
const UNREACHABLE: Record<string, string> = {
  "policy-commitment-anchor-static-remotekey":
    "the core derives is_static_remotekey as commitment_type != legacy, and every anchor type is " +
    "not legacy, so anchors imply a static key by construction (the rule guards that derivation)",
};

// =================================================================================================
// A. policy-other: one payment hash, one approved payment; the table of approved payments

refusal("policy-other", "another amount for an approved keysend hash", async () => {
  const rig = await Rig.create();
  strictEqual(await rig.approve(hashOf(1), 100_000_000n), true);
  strictEqual(await rig.approve(hashOf(1), 100_000_000n), true, "the same payment again");
  await expectRefusal(rig, () => rig.approve(hashOf(1), 200_000_000n), ["policy-other"]);
});

refusal("policy-other", "an approved-payment table at max_invoices", async () => {
  const rig = await Rig.create({ site: "param max_invoices = 2" });
  await rig.approve(hashOf(1), 1_000_000n);
  await rig.approve(hashOf(2), 1_000_000n);
  await expectRefusal(rig, () => rig.approve(hashOf(3), 1_000_000n), ["policy-other"]);
  strictEqual(await rig.approve(hashOf(2), 1_000_000n), true, "a known payment adds no row");
});

refusal("policy-other", "a new channel with the channel table at max_channels", async () => {
  const rig = await Rig.create({ site: "param max_channels = 2" });
  const id = (dbid: bigint) => ChannelId.fromPeerDbid(PEER_ID, dbid);
  await rig.signer.newChannel(id(1n));
  await rig.signer.newChannel(id(2n));
  await expectRefusal(rig, () => rig.signer.newChannel(id(3n)), ["policy-other"]);
  await rig.signer.newChannel(id(2n)); // a retry of an existing stub adds nothing
  // Forgetting a channel frees its slot (its dbid stays burnt).
  await rig.signer.forgetChannel(id(1n));
  await rig.signer.newChannel(id(3n));
  await expectRefusal(rig, () => rig.signer.newChannel(id(4n)), ["policy-other"]);
});

refusal("policy-other", "a second invoice for an issued payment hash", async () => {
  const rig = await Rig.create();
  const p = paymentHashField(hashOf(5));
  const first = invoiceToSign("lnbcrt10u", [p, descriptionField("coffee")]);
  await rig.signer.signInvoice(first);
  await rig.signer.signInvoice(first); // the same invoice again
  await expectRefusal(
    rig,
    () => rig.signer.signInvoice(invoiceToSign("lnbcrt20u", [p, descriptionField("tea")])),
    ["policy-other"],
  );
});

// =================================================================================================
// C. The node's own on-chain signing (sign_onchain)

refusal("policy-generic-error", "a withdrawal paying out more than its inputs", async () => {
  const rig = await Rig.create();
  const coins = walletCoins(1);
  await expectRefusal(
    rig,
    () =>
      rig.signer.signOnchain(
        withdrawal(coins, [{ amount: 2_500_000n, script: walletScript(21), path: [21] }]),
      ),
    ["policy-generic-error"],
  );
});

refusal("policy-onchain-format-standard", "a version 1 withdrawal", async () => {
  const rig = await Rig.create();
  const coins = walletCoins(2);
  const out = [{ amount: 1_999_000n, script: walletScript(21), path: [21] }];
  await expectRefusal(
    rig,
    () => rig.signer.signOnchain(withdrawal(coins, out, { version: 1 })),
    ["policy-onchain-format-standard"],
  );
  await rig.signer.signOnchain(withdrawal(coins, out));
});

refusal("policy-onchain-max-size", "a withdrawal above max_onchain_tx_size = 100", async () => {
  const rig = await Rig.create({ site: "param max_onchain_tx_size = 100" });
  await expectRefusal(
    rig,
    () =>
      rig.signer.signOnchain(
        withdrawal(walletCoins(3), [
          { amount: 1_000_000n, script: walletScript(21), path: [21] },
          { amount: 999_000n, script: walletScript(22), path: [22] },
        ]),
      ),
    ["policy-onchain-max-size"],
  );
});

refusal(
  "policy-onchain-wallet-path-predictable",
  "change at an index no restore scans",
  async () => {
    const rig = await Rig.create();
    const coins = walletCoins(4);
    await expectRefusal(
      rig,
      () =>
        rig.signer.signOnchain(
          withdrawal(coins, [{ amount: 1_999_000n, script: walletScript(5000), path: [5000] }]),
        ),
      ["policy-onchain-wallet-path-predictable"],
    );
    // Change next to a coin the transaction spends (key 4500) is within the gap of that coin.
    const far = prevTx([{ amount: 100_000n, script: walletScript(4500) }], 44);
    await rig.signer.signOnchain({
      utxos: [utxoOf(far, 0, 4500)],
      psbt: buildPsbt([{ prev: far, vout: 0 }], [
        { amount: 99_000n, script: walletScript(4501), path: [4501] },
      ]),
      purpose: "withdrawal",
    });
    // But the coin's key index is the node's word (its previous transaction need never have
    // confirmed): the persisted highest used index moved by one step (20) from -1, not to 4501.
    await expectRefusal(
      rig,
      () =>
        rig.signer.signOnchain(
          withdrawal(coins, [{ amount: 1_999_000n, script: walletScript(5000), path: [5000] }]),
        ),
      ["policy-onchain-wallet-path-predictable"],
    );
    await expectRefusal(
      rig,
      () =>
        rig.signer.signOnchain(
          withdrawal(coins, [{ amount: 1_999_000n, script: walletScript(1020), path: [1020] }]),
        ),
      ["policy-onchain-wallet-path-predictable"],
    );
    await rig.signer.signOnchain(
      withdrawal(coins, [{ amount: 1_999_000n, script: walletScript(1019), path: [1019] }]),
    );
  },
);

refusal(
  "policy-onchain-input-amounts-verified",
  "an amount only the node vouches for",
  async () => {
    const rig = await Rig.create();
    const coins = walletCoins(5);
    const out = [{ amount: 1_999_000n, script: walletScript(21), path: [21] }];
    await expectRefusal(
      rig,
      () => rig.signer.signOnchain(withdrawal(coins, out, { nonWitness: false })),
      ["policy-onchain-input-amounts-verified"],
    );
    await rig.signer.signOnchain(withdrawal(coins, out));
  },
);

refusal("policy-onchain-no-unknown-outputs", "a payment nobody approved", async () => {
  const rig = await Rig.create({ approver: new NegativeApprover() });
  const coins = walletCoins(6);
  const request = withdrawal(coins, [
    { amount: 1_000_000n, script: FOREIGN_SCRIPT },
    { amount: 999_000n, script: walletScript(21), path: [21] },
  ]);
  await expectRefusal(
    rig,
    () => rig.signer.signOnchain(request),
    // Not approved, the payment's value is also counted as fee.
    ["policy-onchain-no-unknown-outputs", "policy-onchain-fee-range"],
  );
  // The operator approves it: the payment is not a fee, the rest is checked as usual.
  const approving = await Rig.create();
  await approving.signer.signOnchain(request);
  assertNoViolations(approving);
  // A path that does not pay our key is never approvable (and its value counts as fee).
  await expectRefusal(
    approving,
    () =>
      approving.signer.signOnchain(
        withdrawal(coins, [{ amount: 1_999_000n, script: FOREIGN_SCRIPT, path: [21] }]),
      ),
    ["policy-onchain-no-unknown-outputs", "policy-onchain-fee-range"],
  );
});

refusal("policy-onchain-fee-range", "a withdrawal burning 500k sat", async () => {
  const rig = await Rig.create();
  await expectRefusal(
    rig,
    () =>
      rig.signer.signOnchain(
        withdrawal(walletCoins(7), [{ amount: 1_500_000n, script: walletScript(21), path: [21] }]),
      ),
    ["policy-onchain-fee-range"],
  );
});

refusal("policy-onchain-fee-range", "the daily fee budget across withdrawals", async () => {
  const rig = await Rig.create({ site: "param max_onchain_fees_msat_per_day = 2_000_000 msat" });
  const coins = walletCoins(8);
  const out = (i: number) => [{ amount: 1_998_500n, script: walletScript(i), path: [i] }];
  await rig.signer.signOnchain(withdrawal(coins, out(21), { vouts: [0] })); // 1500 sat of fee
  const refused = await expectRefusal(
    rig,
    () => rig.signer.signOnchain(withdrawal(coins, out(22), { vouts: [1] })),
    ["policy-onchain-fee-range"],
  );
  deepStrictEqual(refused.rules, ["policy-onchain-fee-range"]);
  const v = rig.audit[rig.audit.length - 1].decision.violations[0];
  strictEqual(v.clause, 2, "the limit clause of sign_onchain");
  strictEqual(v.facts["limit.window_total"], "1500000");
});

/** Channel `dbid` funded by `tx` (its outpoint), open: commitment 0 countersigned (H = 1). */
async function fundedRig(
  options: RigOptions & { dbid?: bigint; open?: boolean },
  tx: ReturnType<typeof fundingTx>,
): Promise<Rig> {
  const rig = await Rig.create({ pushMsat: 0n, ...options, fundingOutpoint: tx.fundingOutpoint });
  if (options.open === false) await rig.setUp();
  else await rig.open();
  return rig;
}

refusal(
  "policy-onchain-initial-commitment-countersigned",
  "funding before commitment 0",
  async () => {
    const tx = fundingTx(walletCoins(10), { dbid: 1n });
    const rig = await fundedRig({ open: false }, tx);
    await expectRefusal(
      rig,
      () => rig.signer.signOnchain(tx.request),
      ["policy-onchain-initial-commitment-countersigned"],
    );
    await rig.commit("us", 0);
    await rig.commit("peer", 0);
    await rig.signer.signOnchain(tx.request);
    const last = rig.audit[rig.audit.length - 1];
    deepStrictEqual([last.kind, last.decision.violations, last.decision.warnings], [
      "sign_onchain",
      [],
      [],
    ]);
  },
);

refusal("policy-onchain-no-channel-push", "funding a channel that pushes 300k sat", async () => {
  const tx = fundingTx(walletCoins(11), { dbid: 1n });
  const rig = await fundedRig({ pushMsat: 300_000_000n }, tx);
  await expectRefusal(
    rig,
    () => rig.signer.signOnchain(tx.request),
    // A push is a gift: not value that comes back to us, so it is fee as well (as VLS counts it).
    ["policy-onchain-no-channel-push", "policy-onchain-fee-range"],
  );
});

refusal("policy-onchain-no-fund-inbound", "funding the peer's channel", async () => {
  const tx = fundingTx(walletCoins(12), { dbid: 1n });
  const rig = await fundedRig({ inbound: true, open: false }, tx);
  await expectRefusal(
    rig,
    () => rig.signer.signOnchain(tx.request),
    // Set up only: our commitment 0 is not countersigned either.
    ["policy-onchain-no-fund-inbound", "policy-onchain-initial-commitment-countersigned"],
  );
});

refusal("policy-onchain-output-match-commitment", "900k sat into a 1M channel", async () => {
  const tx = fundingTx(walletCoins(13), { dbid: 1n, outputSat: 900_000n });
  const rig = await fundedRig({}, tx);
  await expectRefusal(
    rig,
    () => rig.signer.signOnchain(tx.request),
    ["policy-onchain-output-match-commitment"],
  );
});

refusal(
  "policy-onchain-output-scriptpubkey",
  "the funding outpoint paying another script",
  async () => {
    const tx = fundingTx(walletCoins(14), { dbid: 1n, fundingScript: p2wsh(fromHex("51")) });
    const rig = await fundedRig({}, tx);
    await expectRefusal(
      rig,
      () => rig.signer.signOnchain(tx.request),
      ["policy-onchain-output-scriptpubkey"],
    );
  },
);

refusal("policy-onchain-funding-non-malleable", "funding with a legacy input", async () => {
  const legacy = prevTx(
    [{ amount: 10_000n, script: p2pkh(publicKey(new Uint8Array(32).fill(9))) }],
    15,
  );
  const tx = fundingTx(walletCoins(15), {
    dbid: 1n,
    inputs: [{ prev: legacy, vout: 0 }],
    extra: [{ amount: 10_000n, script: walletScript(22), path: [22] }],
  });
  const rig = await fundedRig({}, tx);
  await expectRefusal(
    rig,
    () => rig.signer.signOnchain(tx.request),
    ["policy-onchain-funding-non-malleable"],
  );
});

refusal("policy-velocity-funding", "a second channel over max_funding_sat_per_day", async () => {
  const site = "param max_funding_sat_per_day = 1_500_000 sat";
  const a = fundingTx(walletCoins(16), { dbid: 1n });
  const rigA = await fundedRig({ site }, a);
  await rigA.signer.signOnchain(a.request);
  const b = fundingTx(walletCoins(17), { dbid: 2n });
  const rigB = await fundedRig({ share: rigA, dbid: 2n }, b);
  await expectRefusal(rigB, () => rigB.signer.signOnchain(b.request), ["policy-velocity-funding"]);
});

// =================================================================================================
// G. Payments: approvals, velocity, invoices

refusal("policy-commitment-payment-approved", "the approver says no", async () => {
  const rig = await Rig.create({ approver: new NegativeApprover() });
  await expectRefusal(
    rig,
    () => rig.approve(hashOf(1), 1_000_000n),
    ["policy-commitment-payment-approved"],
  );
  // An allowlisted payee needs no approver.
  await updateAllowlist(rig.store, "regtest", (a) => a.add(`payee:${BOLT11_NODE_ID}`));
  const invoice = invoiceToPay([paymentHashField(hashOf(2)), descriptionField("coffee")]);
  strictEqual(await rig.signer.preapproveInvoice({ invstring: invoice }), true);
});

refusal(
  "policy-commitment-payment-approved-pending",
  "a human has not decided yet: retry later",
  async () => {
    const store = new MemoryStore();
    const rig = await Rig.create({ store, approver: new QueueApprover({ store }) });
    // The first request puts the payment in the queue (a store write of the approver's own).
    const first = await rig.approve(hashOf(1), 1_000_000n).catch((e) => e);
    strictEqual(first instanceof PolicyRefusal && first.temporary, true, String(first));
    const [entry] = await listApprovals(store, { now: NOW });
    strictEqual(entry.status, "pending");
    // The node retries: the queue still waits, refused temporarily, nothing written.
    await expectRefusal(
      rig,
      () => rig.approve(hashOf(1), 1_000_000n),
      ["policy-commitment-payment-approved-pending"],
      { temporary: true },
    );
    // A human approves (`mod.ts approvals approve`): the retry passes.
    await decideApproval(store, entry.id, { decision: "approve", now: NOW });
    strictEqual(await rig.approve(hashOf(1), 1_000_000n), true);
  },
);

refusal(
  "policy-commitment-payment-allowlisted",
  "require_payee_allowlist: a stranger",
  async () => {
    const rig = await Rig.create({ site: "param require_payee_allowlist = true" });
    const invoice = invoiceToPay([paymentHashField(hashOf(1)), descriptionField("coffee")]);
    await expectRefusal(
      rig,
      () => rig.signer.preapproveInvoice({ invstring: invoice }),
      ["policy-commitment-payment-allowlisted"],
    );
    await expectRefusal(
      rig,
      () => rig.approve(hashOf(2), 1_000n),
      ["policy-commitment-payment-allowlisted"],
    );
    await updateAllowlist(rig.store, "regtest", (a) => a.add(`payee:${BOLT11_NODE_ID}`));
    strictEqual(await rig.signer.preapproveInvoice({ invstring: invoice }), true);
  },
);

refusal("policy-commitment-payment-velocity", "a daily cap of 150k sat", async () => {
  const rig = await Rig.create({ site: "param max_payments_msat_per_day = 150_000_000 msat" });
  await rig.approve(hashOf(1), 100_000_000n);
  await rig.approve(hashOf(1), 100_000_000n); // a retry counts nothing
  await expectRefusal(
    rig,
    () => rig.approve(hashOf(2), 100_000_000n),
    ["policy-commitment-payment-velocity"],
  );
  await rig.approve(hashOf(3), 50_000_000n);
});

refusal("policy-invoice-not-expired", "an invoice that expired an hour ago", async () => {
  const rig = await Rig.create();
  const fields = [paymentHashField(hashOf(1)), descriptionField("coffee")];
  await expectRefusal(
    rig,
    () =>
      rig.signer.preapproveInvoice({ invstring: invoiceToPay(fields, { timestamp: NOW - 7200 }) }),
    ["policy-invoice-not-expired"],
  );
  await expectRefusal(
    rig,
    () =>
      rig.signer.preapproveInvoice({ invstring: invoiceToPay(fields, { timestamp: NOW + 3600 }) }),
    ["policy-invoice-not-expired"],
  );
  await rig.signer.preapproveInvoice({ invstring: invoiceToPay(fields) });
});

refusal("policy-invoice-well-formed", "an invoice to pay with two descriptions", async () => {
  const rig = await Rig.create();
  const invoice = invoiceToPay([
    paymentHashField(hashOf(1)),
    descriptionField("coffee"),
    descriptionField("tea"),
  ]);
  await expectRefusal(
    rig,
    () => rig.signer.preapproveInvoice({ invstring: invoice }),
    ["policy-invoice-well-formed"],
  );
});

refusal("policy-merchant-no-sends", "merchant mode: a payment approval", async () => {
  const rig = await Rig.create({ site: "param merchant_mode = true" });
  await expectRefusal(rig, () => rig.approve(hashOf(1), 1_000n), ["policy-merchant-no-sends"]);
});

refusal("policy-merchant-no-sends", "merchant mode: a new outgoing HTLC", async () => {
  const rig = await forwardOnOneChannel({ site: "param merchant_mode = true" });
  await expectRefusal(rig, () => rig.signPeerCommitment(2), ["policy-merchant-no-sends"]);
});

// =================================================================================================
// G. Payments and forwards in commitments

refusal(
  "policy-commitment-htlc-routing-balance",
  "forwarding 60k sat against 50k sat in",
  async () => {
    const rig = await forwardOnOneChannel({ outMsat: 60_000_000n });
    await expectRefusal(
      rig,
      () => rig.signPeerCommitment(2),
      ["policy-commitment-htlc-routing-balance"],
    );
    rig.openerMsat += 11_000_000n;
    rig.htlcs[rig.htlcs.length - 1].amountMsat = 49_000_000n;
    await rig.signPeerCommitment(2);
    strictEqual(rig.audit[rig.audit.length - 1].decision.violations.length, 0);
  },
);

refusal(
  "policy-commitment-htlc-offered-hash-matches",
  "an outgoing HTLC nobody approved and nothing backs",
  async () => {
    const rig = await Rig.create();
    await rig.open();
    await rig.offer({ amountMsat: 100_000_000n, hash: hashOf(1), cltv: 500 }, { approve: false });
    await expectRefusal(rig, () => rig.signPeerCommitment(1), [
      "policy-commitment-htlc-offered-hash-matches",
      "policy-commitment-htlc-routing-balance",
    ]);
    // Our own node validating a commitment with it is refused the same way.
    const ours = await rig.peerSignsOurs(1);
    await expectRefusal(rig, () => rig.signer.validateHolderCommitment(rig.id, ours), [
      "policy-commitment-htlc-offered-hash-matches",
      "policy-commitment-htlc-routing-balance",
    ]);
  },
);

refusal(
  "policy-commitment-payment-invoiced",
  "an 11% routing fee on a 2000-sat payment",
  async () => {
    const rig = await Rig.create();
    await rig.open();
    await rig.approve(hashOf(1), 2_000_000n);
    // 220 sat of fee: within max_routing_fee_msat (222 sat on regtest), above 10%.
    await rig.offer({ amountMsat: 2_220_000n, hash: hashOf(1), cltv: 500 }, { approve: false });
    await expectRefusal(
      rig,
      () => rig.signPeerCommitment(1),
      ["policy-commitment-payment-invoiced"],
    );
    rig.htlcs[0].amountMsat = 2_190_000n;
    rig.openerMsat += 30_000n;
    await rig.signPeerCommitment(1);
  },
);

refusal("policy-routing-cltv-delta", "a forward keeping 2 blocks", async () => {
  const rig = await forwardOnOneChannel({ inCltv: 600, outCltv: 598 });
  await expectRefusal(rig, () => rig.signPeerCommitment(2), ["policy-routing-cltv-delta"]);
  // The incoming side expiring first is refused as well.
  rig.htlcs[rig.htlcs.length - 1].cltv = 700;
  await expectRefusal(rig, () => rig.signPeerCommitment(2), ["policy-routing-cltv-delta"]);
  rig.htlcs[rig.htlcs.length - 1].cltv = 594;
  await rig.signPeerCommitment(2);
});

refusal("policy-no-routing", "allow_routing off: a forward", async () => {
  const rig = await forwardOnOneChannel({ site: "param allow_routing = false" });
  await expectRefusal(rig, () => rig.signPeerCommitment(2), ["policy-no-routing"]);
});

refusal(
  "policy-commitment-htlc-received-spends-active-utxo",
  "forwarding against a closed channel, an unconfirmed one",
  async () => {
    const { a, b } = await forwardAcross();
    await b.signer.signHolderCommitment(b.id, 1); // B is force-closed: its HTLC may never pay
    await expectRefusal(
      a,
      () => a.signPeerCommitment(1),
      ["policy-commitment-htlc-received-spends-active-utxo"],
    );
    // With a chain: B's funding reorganised out.
    const chain = new Depths();
    const fresh = await forwardAcross({ chain });
    chain.depths.set("bb".repeat(32), 0);
    await expectRefusal(
      fresh.a,
      () => fresh.a.signPeerCommitment(1),
      ["policy-commitment-htlc-received-spends-active-utxo"],
    );
    chain.depths.delete("bb".repeat(32));
    await fresh.a.signPeerCommitment(1);
  },
);

/** Across two channels: A's peer fulfils our forwarded HTLC; the request validating it. */
async function settledForward(site: string) {
  const { a, b } = await forwardAcross({ site });
  await a.update("us", 1);
  // The peer of A fulfils: it removes our HTLC and signs our commitment first.
  a.htlcs = [];
  a.acceptorMsat += 49_000_000n;
  const request = await a.peerSignsOurs(2);
  return { a, b, request };
}

refusal(
  "policy-commitment-payment-settled-preimage",
  "a forward settled without its preimage",
  async () => {
    const { a, request } = await settledForward("param require_settlement_preimage = true");
    await expectRefusal(
      a,
      () => a.signer.validateHolderCommitment(a.id, request),
      ["policy-commitment-payment-settled-preimage"],
    );
    // LDK shows the preimage with the commitment: settled in our favour.
    await a.signer.validateHolderCommitment(a.id, { ...request, preimages: [preimageOf(1)] });
  },
);

refusal("policy-routing-balanced", "enforce_balance: value left without a preimage", async () => {
  const { a, request } = await settledForward("param enforce_balance = true");
  await expectRefusal(
    a,
    () => a.signer.validateHolderCommitment(a.id, request),
    ["policy-routing-balanced"],
  );
  await a.signer.validateHolderCommitment(a.id, { ...request, preimages: [preimageOf(1)] });
});

refusal("policy-routing-deltas-only-htlc", "1000 sat handed to the peer, no HTLC", async () => {
  for (const anchors of [false, true]) {
    const rig = await Rig.create({ anchors });
    await rig.open();
    await rig.addHtlc("us", 1, { amountMsat: 100_000_000n, hash: hashOf(1), cltv: 500 });
    const moved = (r: ReturnType<Rig["request"]>) => ({
      ...r,
      values: r.values && {
        toBroadcasterSat: r.values.toBroadcasterSat + 1000n,
        toCountersignatorySat: r.values.toCountersignatorySat - 1000n,
      },
    });
    await expectRefusal(
      rig,
      () => rig.signPeerCommitment(2, moved),
      ["policy-routing-deltas-only-htlc"],
    );
    // On an anchor channel, even an anchor's worth when no anchor can be new (our HTLC stays).
    if (anchors) {
      const anchor = (r: ReturnType<Rig["request"]>) => ({
        ...r,
        values: r.values && {
          toBroadcasterSat: r.values.toBroadcasterSat + 330n,
          toCountersignatorySat: r.values.toCountersignatorySat - 330n,
        },
      });
      await expectRefusal(
        rig,
        () => rig.signPeerCommitment(2, anchor),
        ["policy-routing-deltas-only-htlc"],
      );
    }
    await rig.signPeerCommitment(2);
  }
});

refusal("policy-velocity-transferred", "settled payments over 150k sat a day", async () => {
  const rig = await Rig.create({ site: "param max_transferred_sat_per_day = 150_000 sat" });
  await rig.open();
  const pay = async (n: number, i: number) => {
    const h = await rig.addHtlc("us", n, { amountMsat: 100_000_000n, hash: hashOf(i), cltv: 500 });
    rig.htlcs = rig.htlcs.filter((x) => x !== h);
    rig.acceptorMsat += h.amountMsat;
  };
  await pay(1, 1);
  await rig.update("peer", 2); // we sign the peer's commitment 2: 100k sat transferred
  await pay(3, 2);
  await rig.commit("peer", 4);
  await rig.revoke("us", 3);
  await expectRefusal(rig, () => rig.commit("us", 4), ["policy-velocity-transferred"]);
});

// =================================================================================================
// J. The shared-allowlist close (vls.md §2.6; tests/core/signer/threats_test.ts tells the story)

refusal(
  "policy-mutual-destination-shared-allowlist",
  "our share to an allowlisted script chosen at close",
  async () => {
    const shared = p2wpkh(publicKey(new Uint8Array(32).fill(0x44)));
    const rig = await Rig.create();
    await updateAllowlist(
      rig.store,
      "regtest",
      (a) => a.add(`address:${scriptToAddress(shared, "regtest")}`),
    );
    await rig.open();
    const values = {
      toHolderSat: rig.openerMsat / 1000n - 1000n,
      toCounterpartySat: rig.acceptorMsat / 1000n,
      holderScript: shared,
      counterpartyScript: PEER_SCRIPT,
      holderWalletPath: [],
    };
    await expectRefusal(
      rig,
      () => rig.signer.signMutualClose(rig.id, { values }),
      ["policy-mutual-destination-shared-allowlist"],
    );
    await rig.signer.signMutualClose(rig.id, {
      values: { ...values, holderScript: walletScript(3), holderWalletPath: [3] },
    });
  },
);

// =================================================================================================
// L. Node-level signing

refusal("policy-gossip-our-node", "another node's announcement", async () => {
  const rig = await Rig.create();
  await rig.signer.signNodeAnnouncement({ announcement: nodeAnnouncement() });
  await expectRefusal(
    rig,
    () => rig.signer.signNodeAnnouncement({ announcement: nodeAnnouncement({ nodeId: PAYEE }) }),
    ["policy-gossip-our-node"],
  );
});

refusal("policy-gossip-timestamp", "a node announcement dated next year", async () => {
  const rig = await Rig.create();
  const ahead = nodeAnnouncement({ timestamp: NOW + 365 * 86_400 });
  await expectRefusal(
    rig,
    () => rig.signer.signNodeAnnouncement({ announcement: ahead }),
    ["policy-gossip-timestamp"],
  );
});

refusal(
  "policy-gossip-format",
  "unordered addresses, another chain, unordered node ids",
  async () => {
    const rig = await Rig.create();
    const v6 = Uint8Array.of(2, ...new Uint8Array(16), 0x26, 0x07);
    const v4 = Uint8Array.of(1, 127, 0, 0, 1, 0x26, 0x07);
    await expectRefusal(
      rig,
      () =>
        rig.signer.signNodeAnnouncement({
          announcement: nodeAnnouncement({ addresses: Uint8Array.of(...v6, ...v4) }),
        }),
      ["policy-gossip-format"],
    );
    await expectRefusal(
      rig,
      () =>
        rig.signer.signChannelUpdate({
          update: channelUpdate({ scid: scidOf(700, 1, 0), chain: new Uint8Array(32) }),
        }),
      ["policy-gossip-format"],
    );
    const g = await gossipRig();
    await expectRefusal(
      g.rig,
      () =>
        g.rig.signer.signChannelAnnouncement(g.rig.id, {
          announcement: channelAnnouncement({ ...g.announce, swap: true }),
        }),
      ["policy-gossip-format"],
    );
    // An htlc_maximum_msat above the capacity of a channel we know.
    await g.register();
    await expectRefusal(
      g.rig,
      () =>
        g.rig.signer.signChannelUpdate({
          update: channelUpdate({
            scid: g.scid,
            channelFlags: g.direction,
            htlcMaximumMsat: 2_000_000_000n,
          }),
        }),
      ["policy-gossip-format"],
    );
  },
);

/**
 * A set-up channel with a peer whose node id is a valid point, its announcement's fields, and
 * `register()`, which signs CLN's full announcement so that the signer maps its short channel id.
 */
async function gossipRig() {
  const rig = await Rig.create({
    peerId: PEER_NODE_ID,
    dbid: 9n,
    fundingOutpoint: { txid: "cc".repeat(32), vout: 1 },
  });
  await rig.setUp();
  const scid = scidOf(800_000, 12, 1);
  const announce = {
    scid,
    peerId: PEER_NODE_ID,
    ourFunding: rig.keys.fundingPubkey,
    peerFunding: rig.peer.keys.fundingPubkey,
  };
  const register = async () => {
    await rig.signer.signChannelAnnouncement(rig.id, {
      announcement: channelAnnouncement(announce),
    });
  };
  return { rig, scid, direction: ourDirection(PEER_NODE_ID), announce, register };
}

refusal("policy-gossip-our-channel", "the peer's direction, another funding key", async () => {
  const g = await gossipRig();
  await expectRefusal(
    g.rig,
    () =>
      g.rig.signer.signChannelAnnouncement(g.rig.id, {
        announcement: channelAnnouncement({ ...g.announce, peerFunding: PAYEE }),
      }),
    ["policy-gossip-our-channel"],
  );
  await g.register();
  // Now the signer knows the short channel id: the direction bit must be ours.
  await expectRefusal(
    g.rig,
    () =>
      g.rig.signer.signChannelUpdate({
        update: channelUpdate({ scid: g.scid, channelFlags: 1 - g.direction }),
      }),
    ["policy-gossip-our-channel"],
  );
  await g.rig.signer.signChannelUpdate({
    update: channelUpdate({ scid: g.scid, channelFlags: g.direction }),
  });
  // A private channel the signer cannot map: either direction is accepted.
  for (const channelFlags of [0, 1]) {
    await g.rig.signer.signChannelUpdate({
      update: channelUpdate({ scid: scidOf(800_001, 3, 0), channelFlags }),
    });
  }
  strictEqual(g.rig.audit[g.rig.audit.length - 1].decision.allowed, true);
});

refusal("policy-gossip-channel-update-fees", "a 2000-sat base fee, a 20% fee", async () => {
  const rig = await Rig.create();
  const scid = scidOf(700, 1, 0);
  await expectRefusal(
    rig,
    () => rig.signer.signChannelUpdate({ update: channelUpdate({ scid, feeBaseMsat: 2_000_000 }) }),
    ["policy-gossip-channel-update-fees"],
  );
  await expectRefusal(
    rig,
    () =>
      rig.signer.signChannelUpdate({
        update: channelUpdate({ scid, feeProportionalMillionths: 200_000 }),
      }),
    ["policy-gossip-channel-update-fees"],
  );
  await rig.signer.signChannelUpdate({ update: channelUpdate({ scid }) });
});

refusal(
  "policy-gossip-channel-update-cltv-delta",
  "a 1-block delta, a 3000-block one",
  async () => {
    const rig = await Rig.create();
    const scid = scidOf(700, 1, 0);
    for (const delta of [1, 3000]) {
      await expectRefusal(
        rig,
        () =>
          rig.signer.signChannelUpdate({ update: channelUpdate({ scid, cltvExpiryDelta: delta }) }),
        ["policy-gossip-channel-update-cltv-delta"],
      );
    }
    await rig.signer.signChannelUpdate({ update: channelUpdate({ scid, cltvExpiryDelta: 6 }) });
  },
);

refusal("policy-invoice-ours", "a mainnet invoice, another payee", async () => {
  const rig = await Rig.create();
  const p = paymentHashField(hashOf(1));
  const d = descriptionField("coffee");
  await expectRefusal(
    rig,
    () => rig.signer.signInvoice(invoiceToSign("lnbc10u", [p, d])),
    ["policy-invoice-ours"],
  );
  await expectRefusal(
    rig,
    () => rig.signer.signInvoice(invoiceToSign("lnbcrt10u", [p, d, payeeField(PAYEE)])),
    ["policy-invoice-ours"],
  );
  await rig.signer.signInvoice(invoiceToSign("lnbcrt10u", [p, d, payeeField(US_NODE.nodeId)]));
});

refusal("policy-invoice-well-formed", "an invoice to sign with two payment hashes", async () => {
  const rig = await Rig.create();
  await expectRefusal(
    rig,
    () =>
      rig.signer.signInvoice(
        invoiceToSign("lnbcrt10u", [
          paymentHashField(hashOf(1)),
          paymentHashField(hashOf(2)),
          descriptionField("coffee"),
          expiryField(600),
        ]),
      ),
    ["policy-invoice-well-formed"],
  );
});

refusal("policy-message-text", "binary data", async () => {
  const rig = await Rig.create();
  await expectRefusal(
    rig,
    () => rig.signer.signMessage({ message: Uint8Array.of(0xff, 0xfe, 0x00) }),
    ["policy-message-text"],
  );
  await rig.signer.signMessage({ message: utf8("Warden says hi") });
});

refusal("policy-ecdh-peer-point", "ECDH with our own node id", async () => {
  const rig = await Rig.create();
  await expectRefusal(
    rig,
    () => rig.signer.ecdh({ point: US_NODE.nodeId }),
    ["policy-ecdh-peer-point"],
  );
  strictEqual((await rig.signer.ecdh({ point: PAYEE })).length, 32);
});

refusal("policy-derive-secret-info", "a 300-byte name", async () => {
  const rig = await Rig.create();
  await expectRefusal(
    rig,
    () => rig.signer.deriveSecret({ info: new Uint8Array(300).fill(0x61) }),
    ["policy-derive-secret-info"],
  );
  strictEqual((await rig.signer.deriveSecret({ info: utf8("bolt12-invoice-base") })).length, 32);
});

refusal("policy-bolt12-known-signature", "an offer's signature, another alias base", async () => {
  const rig = await Rig.create();
  const merkleRoot = sha256(utf8("merkle"));
  await expectRefusal(
    rig,
    () => rig.signer.signBolt12({ messagename: "offer", fieldname: "signature", merkleRoot }),
    ["policy-bolt12-known-signature"],
  );
  await expectRefusal(
    rig,
    () =>
      rig.signer.signBolt12V2({
        messagename: "invoice",
        fieldname: "signature",
        merkleRoot,
        info: utf8("scb secret"),
        tweakMessage: utf8("tweak"),
      }),
    ["policy-bolt12-known-signature"],
  );
  await rig.signer.signBolt12({ messagename: "invoice", fieldname: "signature", merkleRoot });
  await rig.signer.signBolt12V2({
    messagename: "invoice_request",
    fieldname: "signature",
    merkleRoot,
    info: utf8("node-alias-base"),
    tweakMessage: utf8("tweak"),
  });
});

// =================================================================================================

Deno.test("every rule of the default policy is refused through the signer (here or in rules_channel_test.ts), or unreachable", async () => {
  const covered = await collectCoverage([
    new URL("./rules_channel_test.ts", import.meta.url),
    new URL("./rules_node_test.ts", import.meta.url),
  ]);
  const policy = loadPolicy(DEFAULT_POLICY, { registry: signerRegistry(), network: "regtest" });
  const ids = policy.rules.map((r) => r.id).sort();
  deepStrictEqual([...new Set([...covered, ...Object.keys(UNREACHABLE)])].sort(), ids);
  for (const id of Object.keys(UNREACHABLE)) strictEqual(covered.has(id), false, id);
  strictEqual(toHex(hashFor(1)).length, 64);
});
