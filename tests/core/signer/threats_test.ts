/**
 * The threats of VLS's security documents (vls.md §2.6: `potential-exploits.md` and
 * `pitfalls.md`), each played by a compromised node against the real {@link Signer} (the default
 * policy for regtest, an honest simulated peer) and refused by the rule that names it: the
 * refusal carries exactly the expected rule ids, and nothing the signer persisted changed.
 *
 * Sending: overpay, pay twice. Routing: out more than in, the incoming channel closed or not
 * confirmed, the incoming HTLC removed first, the incoming expiring before the outgoing, hashes
 * that differ. On chain: funding or change to an attacker, a fee too high, the input-amount lie.
 * Channels: a short or long to_self_delay, a low initial value for us as funder, dust, a far-future
 * HTLC expiry, a close paying the attacker or less than due, the shared-allowlist close.
 * Revocation: signing a revoked commitment, revoking a signed one, the peer not revoking.
 *
 * How the shared-allowlist close is defended (pitfalls.md: two nodes of a team share an allowlist
 * entry; a compromised one proposes a close paying half the channel to the shared address and
 * half to itself; each signer takes the shared address for its own share): Warden's
 * `policy-mutual-destination-shared-allowlist` lets our share go to a script that is allowlisted
 * but not our wallet only when it was fixed at setup as our upfront shutdown script. Chosen at
 * close time, it is refused; the close must pay our wallet (which the node proves with a path).
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { fromHex, toHex } from "../../../core/bytes.ts";
import { publicKey } from "../../../core/crypto/mod.ts";
import { p2wpkh, p2wsh } from "../../../core/bitcoin/script.ts";
import { scriptToAddress } from "../../../core/bitcoin/address.ts";
import { fundingScript } from "../../../core/bolt3/scripts.ts";
import { assembleClosingTx } from "../../../core/channel/ops/close.ts";
import type { CommitmentRequest } from "../../../core/channel/ops/commitment.ts";
import { holderSecret } from "../../../core/channel/state.ts";
import { NegativeApprover } from "../../../core/node/approvals.ts";
import { updateAllowlist } from "../../../core/node/allowlist.ts";
import { RequestError } from "../../../core/signer/errors.ts";
import {
  expectRefusal,
  hashOf,
  PEER_SCRIPT,
  Rig,
  spendOf,
  walletScript,
} from "./_rules_fixture.ts";
import { buildPsbt, fundingTx, utxoOf, walletCoins, withdrawal } from "./_onchain_fixture.ts";
import {
  Depths,
  forwardAcross,
  forwardOnOneChannel,
  hashFor,
  preimageOf,
  secondChannel,
} from "./_forwards.ts";
import { descriptionField, invoiceToPay, paymentHashField } from "./_node_requests.ts";

const ATTACKER = p2wpkh(publicKey(new Uint8Array(32).fill(0x66)));
const ATTACKER_KEY = publicKey(new Uint8Array(32).fill(0x67));

// =================================================================================================
// Sending

Deno.test("threat: overpay an invoice (120k sat for a 100k-sat payment)", async () => {
  const rig = await Rig.create();
  await rig.open();
  await rig.approve(hashOf(1), 100_000_000n);
  await rig.offer({ amountMsat: 120_000_000n, hash: hashOf(1), cltv: 500 }, { approve: false });
  await expectRefusal(rig, () => rig.signPeerCommitment(1), [
    "policy-commitment-htlc-routing-balance",
    "policy-commitment-payment-invoiced",
  ]);
});

Deno.test("threat: pay twice (a second HTLC for an approved hash, a second invoice)", async () => {
  const a = await Rig.create();
  await a.open();
  const b = await Rig.create({
    share: a,
    dbid: 2n,
    fundingOutpoint: { txid: "bb".repeat(32), vout: 0 },
  });
  await b.open();
  // The payment goes out once, through channel A.
  await a.addHtlc("us", 1, { amountMsat: 100_000_000n, hash: hashOf(1), cltv: 500 });
  // The same payment again through channel B: 200k sat for a 100k-sat approval.
  await b.offer({ amountMsat: 100_000_000n, hash: hashOf(1), cltv: 500 }, { approve: false });
  await expectRefusal(b, () => b.signPeerCommitment(1), [
    "policy-commitment-htlc-routing-balance",
    "policy-commitment-payment-invoiced",
  ]);
  // Nor may a second approval for the same hash raise what may be paid.
  await expectRefusal(b, () => b.approve(hashOf(1), 200_000_000n), ["policy-other"]);
  const invoice = invoiceToPay([paymentHashField(hashOf(1)), descriptionField("again")]);
  await expectRefusal(b, () => b.signer.preapproveInvoice({ invstring: invoice }), [
    "policy-other",
  ]);
});

// =================================================================================================
// Routing

Deno.test("threat: route out more than comes in", async () => {
  const rig = await forwardOnOneChannel({ outMsat: 60_000_000n });
  await expectRefusal(rig, () => rig.signPeerCommitment(2), [
    "policy-commitment-htlc-routing-balance",
  ]);
});

Deno.test("threat: forward against an incoming channel closed, or not confirmed", async () => {
  const closed = await forwardAcross();
  await closed.b.signer.signHolderCommitment(closed.b.id, 1);
  await expectRefusal(closed.a, () => closed.a.signPeerCommitment(1), [
    "policy-commitment-htlc-received-spends-active-utxo",
  ]);
  const chain = new Depths();
  const unconfirmed = await forwardAcross({ chain });
  chain.depths.set("bb".repeat(32), 0);
  await expectRefusal(unconfirmed.a, () => unconfirmed.a.signPeerCommitment(1), [
    "policy-commitment-htlc-received-spends-active-utxo",
  ]);
});

Deno.test("threat: the incoming HTLC removed before the outgoing one", async () => {
  const { a, b } = await forwardAcross();
  await a.update("us", 1); // the forward is out on A
  // B's peer fails its HTLC back (without the preimage): B's commitments drop the incoming side.
  b.htlcs = [];
  b.acceptorMsat += 50_000_000n;
  const request = await b.peerSignsOurs(2);
  await expectRefusal(b, () => b.signer.validateHolderCommitment(b.id, request), [
    "policy-commitment-htlc-routing-balance",
  ]);
});

Deno.test("threat: forward against an incoming HTLC the peer can still take back", async () => {
  const a = await Rig.create();
  await a.open();
  const b = await secondChannel(a);
  await b.open();
  // B: the peer offers 50k sat and signs our commitment 1; we sign its commitment 1. Nobody
  // revoked: the peer may still broadcast its commitment 0, which lacks the HTLC.
  b.htlcs.push({ fromOpener: false, amountMsat: 50_000_000n, hash: hashFor(1), cltv: 800_600 });
  b.acceptorMsat -= 50_000_000n;
  await b.commit("peer", 1);
  await b.commit("us", 1);
  const e = (await b.state()).enforcement;
  deepStrictEqual(
    [e.nextHolderCommitNum, e.pendingHolder?.info.number, e.nextCounterpartyCommitNum],
    [1, 1, 2],
  );
  strictEqual(e.nextCounterpartyRevokeNum, 0);
  // A: the node forwards 49k sat with the same hash.
  await a.offer({ amountMsat: 49_000_000n, hash: hashFor(1), cltv: 800_500 }, { approve: false });
  const forward = [
    "policy-commitment-htlc-offered-hash-matches",
    "policy-commitment-htlc-routing-balance",
  ];
  await expectRefusal(a, () => a.signPeerCommitment(1), forward);
  // The peer revokes its commitment 0: our own commitment 0 (current until we revoke it) still
  // lacks the HTLC.
  await b.revoke("peer", 0);
  await expectRefusal(a, () => a.signPeerCommitment(1), forward);
  // Once we revoke ours, no commitment without the HTLC can be broadcast: the forward goes out.
  await b.revoke("us", 0);
  await a.signPeerCommitment(1);
  strictEqual(a.audit[a.audit.length - 1].decision.violations.length, 0);
});

Deno.test("threat: the outgoing HTLC settled, then the incoming one failed back (no preimage)", async () => {
  const { a, b } = await forwardAcross();
  await a.update("us", 1); // the forward is out on A
  // A's peer takes the 49k sat (the node says it fulfilled; no preimage reaches the signer).
  a.htlcs = [];
  a.acceptorMsat += 49_000_000n;
  await a.update("peer", 2);
  // B: the node fails the 50k-sat incoming HTLC back to B's peer instead of claiming it.
  b.htlcs = [];
  b.acceptorMsat += 50_000_000n;
  await expectRefusal(b, () => b.signPeerCommitment(2), ["policy-commitment-htlc-routing-balance"]);
  deepStrictEqual(
    b.audit[b.audit.length - 1].decision.violations.map((v) => v.facts),
    [{
      "payments[0].outgoing_msat": "0",
      "payments[0].incoming_msat": "0",
      "payments[0].invoiced": false,
      "payments[0].incoming_failed_after_outgoing_settled": true,
    }],
    "the balances, not a preimage, show the drain",
  );
  // Showing the preimage (as LDK would) does not make failing back right.
  await expectRefusal(
    b,
    () => b.signPeerCommitment(2, (r) => ({ ...r, preimages: [preimageOf(1)] })),
    ["policy-commitment-htlc-routing-balance"],
  );
  // Nor may our own commitment without it be validated.
  const ours = await b.peerSignsOurs(2);
  await expectRefusal(
    b,
    () => b.signer.validateHolderCommitment(b.id, ours),
    ["policy-commitment-htlc-routing-balance"],
  );
});

Deno.test("threat: a forward on one channel drained in one commitment", async () => {
  const rig = await forwardOnOneChannel({});
  await rig.update("us", 2); // the forward is out on the same channel
  // One commitment: the outgoing 49k sat paid to the peer, the incoming 50k sat returned to it.
  // The node shows the preimage (LDK does), so the outgoing value left over is no shortfall.
  rig.htlcs = [];
  rig.acceptorMsat += 99_000_000n;
  const shown = (r: CommitmentRequest) => ({ ...r, preimages: [preimageOf(1)] });
  await expectRefusal(rig, () => rig.signPeerCommitment(3, shown), [
    "policy-commitment-htlc-routing-balance",
  ]);
  deepStrictEqual(
    rig.audit[rig.audit.length - 1].decision.violations.map((v) =>
      v.facts["payments[0].incoming_failed_after_outgoing_settled"]
    ),
    [true],
  );
  // Settling both (we keep the 1k-sat fee) goes through.
  rig.acceptorMsat -= 50_000_000n;
  rig.openerMsat += 50_000_000n;
  await rig.signPeerCommitment(3, shown);
  strictEqual(rig.audit[rig.audit.length - 1].decision.violations.length, 0);
});

Deno.test("threat: the incoming HTLC expires before the outgoing one", async () => {
  const rig = await forwardOnOneChannel({ inCltv: 600, outCltv: 650 });
  await expectRefusal(rig, () => rig.signPeerCommitment(2), ["policy-routing-cltv-delta"]);
});

Deno.test("threat: forward with a hash that differs from the incoming one", async () => {
  const rig = await Rig.create();
  await rig.open();
  await rig.addHtlc("peer", 1, { amountMsat: 50_000_000n, hash: hashFor(1), cltv: 600 });
  await rig.offer({ amountMsat: 49_000_000n, hash: hashFor(2), cltv: 500 }, { approve: false });
  await expectRefusal(rig, () => rig.signPeerCommitment(2), [
    "policy-commitment-htlc-offered-hash-matches",
    "policy-commitment-htlc-routing-balance",
  ]);
});

// =================================================================================================
// On chain

Deno.test("threat: channel funding to an attacker", async () => {
  // Our channel's funding outpoint, paying the attacker's 2-of-2 instead of ours.
  const attacker2of2 = p2wsh(fundingScript(ATTACKER_KEY, publicKey(new Uint8Array(32).fill(0x68))));
  const tx = fundingTx(walletCoins(30), { dbid: 1n, fundingScript: attacker2of2 });
  const rig = await Rig.create({ pushMsat: 0n, fundingOutpoint: tx.fundingOutpoint });
  await rig.open();
  await expectRefusal(rig, () => rig.signer.signOnchain(tx.request), [
    "policy-onchain-output-scriptpubkey",
  ]);
  // An output that funds no channel of ours at all is an unknown payment, and not approved.
  const strange = await Rig.create({ approver: new NegativeApprover() });
  const other = fundingTx(walletCoins(31), { dbid: 5n, fundingScript: attacker2of2 });
  await expectRefusal(strange, () => strange.signer.signOnchain(other.request), [
    "policy-onchain-no-unknown-outputs",
    "policy-onchain-fee-range",
  ]);
});

Deno.test("threat: change to an attacker (claimed as our wallet path)", async () => {
  const rig = await Rig.create(); // even an approver that says yes to everything
  const request = withdrawal(walletCoins(32), [
    { amount: 1_000_000n, script: walletScript(21), path: [21] },
    { amount: 999_000n, script: ATTACKER, path: [22] },
  ]);
  await expectRefusal(rig, () => rig.signer.signOnchain(request), [
    "policy-onchain-no-unknown-outputs",
    "policy-onchain-fee-range",
  ]);
});

Deno.test("threat: a fee too high (a withdrawal, a commitment, a close)", async () => {
  const rig = await Rig.create();
  const burn = withdrawal(walletCoins(33), [
    { amount: 1_000_000n, script: walletScript(21), path: [21] },
  ]);
  await expectRefusal(rig, () => rig.signer.signOnchain(burn), ["policy-onchain-fee-range"]);
  await rig.open();
  await expectRefusal(
    rig,
    () =>
      rig.signPeerCommitment(1, (r) => ({
        ...r,
        values: r.values && {
          ...r.values,
          toCountersignatorySat: r.values.toCountersignatorySat - 300_000n,
        },
      })),
    ["policy-commitment-fee-range"],
  );
  await expectRefusal(
    rig,
    () =>
      rig.signer.signMutualClose(rig.id, {
        values: {
          toHolderSat: 199_000n,
          toCounterpartySat: rig.acceptorMsat / 1000n,
          holderScript: walletScript(3),
          counterpartyScript: PEER_SCRIPT,
          holderWalletPath: [3],
        },
      }),
    ["policy-mutual-fee-range"],
  );
});

Deno.test("threat: the input-amount lie across two signing requests (pitfalls.md)", async () => {
  // Real inputs: 2M + 2M sat (keys 3 and 5); one 3M-sat output to our wallet: 1M sat of fee.
  const coins = walletCoins(34);
  const outs = [{ amount: 3_000_000n, script: walletScript(21), path: [21] }];
  const lie = (signed: 0 | 1) => {
    const psbt = buildPsbt([
      { prev: coins, vout: 0, nonWitness: false },
      { prev: coins, vout: 1, nonWitness: false },
    ], outs);
    // The input this request does not sign is stated at 1M sat: each request sees 3M in, 3M out.
    const other = signed === 0 ? 1 : 0;
    psbt.inputs[other].witnessUtxo = { ...coins.outputs[other], amount: 1_000_000n };
    return {
      utxos: [utxoOf(coins, signed, signed === 0 ? 3 : 5)],
      psbt,
      purpose: "withdrawal" as const,
    };
  };
  const rig = await Rig.create();
  for (const signed of [0, 1] as const) {
    await expectRefusal(rig, () => rig.signer.signOnchain(lie(signed)), [
      "policy-onchain-input-amounts-verified",
    ]);
    // Nothing vouches for the amounts (not even ours: no previous transaction, no taproot).
    deepStrictEqual(rig.audit[rig.audit.length - 1].decision.violations[0].facts, {
      "onchain.inputs[0].verified": false,
      "onchain.inputs[0].paired_output": "-1",
    });
  }
  // With the previous transactions the lie cannot even be stated: a malformed request.
  const vouched = lie(0);
  vouched.psbt.inputs[1].nonWitnessUtxo = coins;
  let caught: unknown;
  await rig.signer.signOnchain(vouched).catch((e) => (caught = e));
  strictEqual(caught instanceof RequestError && caught.code, "malformed");
});

// =================================================================================================
// Channels

Deno.test("threat: a too-short or too-long to_self_delay", async () => {
  for (
    const [edit, rule] of [
      [{ holderSelectedContestDelay: 2 }, "policy-channel-contest-delay-range-counterparty"],
      [{ counterpartySelectedContestDelay: 3000 }, "policy-channel-contest-delay-range-holder"],
    ] as const
  ) {
    const rig = await Rig.create();
    await rig.signer.newChannel(rig.id);
    await expectRefusal(rig, () => rig.signer.setupChannel(rig.id, { ...rig.setup, ...edit }), [
      rule,
    ]);
  }
});

Deno.test("threat: a low initial value for us, the funder", async () => {
  const rig = await Rig.create();
  await rig.setUp();
  rig.openerMsat -= 100_000_000n;
  rig.acceptorMsat += 100_000_000n;
  await expectRefusal(rig, () => rig.signPeerCommitment(0), [
    "policy-commitment-initial-funding-value",
    "policy-routing-deltas-only-htlc",
  ]);
});

Deno.test("threat: dust outputs and a far-future HTLC expiry", async () => {
  const rig = await Rig.create();
  await rig.open();
  await expectRefusal(
    rig,
    () =>
      rig.signPeerCommitment(1, (r) => ({
        ...r,
        values: r.values && {
          toBroadcasterSat: r.values.toBroadcasterSat + r.values.toCountersignatorySat - 100n,
          toCountersignatorySat: 100n,
        },
      })),
    ["policy-commitment-outputs-trimmed", "policy-routing-deltas-only-htlc"],
  );
  await rig.offer({ amountMsat: 100_000_000n, hash: hashOf(1), cltv: 600_000_000 });
  await expectRefusal(rig, () => rig.signPeerCommitment(1), ["policy-commitment-htlc-cltv-range"]);
});

Deno.test("threat: a close paying the attacker, or paying us less than due", async () => {
  const rig = await Rig.create();
  await rig.open();
  const values = {
    toHolderSat: rig.openerMsat / 1000n - 1000n,
    toCounterpartySat: rig.acceptorMsat / 1000n,
    holderScript: walletScript(3),
    counterpartyScript: PEER_SCRIPT,
    holderWalletPath: [3],
  };
  await expectRefusal(
    rig,
    () =>
      rig.signer.signMutualClose(rig.id, {
        values: { ...values, holderScript: ATTACKER, holderWalletPath: [] },
      }),
    ["policy-mutual-destination-allowlisted", "policy-mutual-destination-shared-allowlist"],
  );
  await expectRefusal(
    rig,
    () =>
      rig.signer.signMutualClose(rig.id, {
        values: {
          ...values,
          toHolderSat: values.toHolderSat - 50_000n,
          toCounterpartySat: values.toCounterpartySat + 50_000n,
        },
      }),
    ["policy-mutual-value-matches-commitment"],
  );
  await rig.signer.signMutualClose(rig.id, { values });
});

Deno.test("threat: the shared-allowlist close (pitfalls.md)", async () => {
  // Both team nodes allowlist the team's cold wallet; the channel between them is balanced.
  const shared = p2wpkh(publicKey(new Uint8Array(32).fill(0x44)));
  const entry = `address:${scriptToAddress(shared, "regtest")}`;
  const rig = await Rig.create({ pushMsat: 500_000_000n });
  await updateAllowlist(rig.store, "regtest", (a) => a.add(entry));
  await rig.open();
  const ours = rig.openerMsat / 1000n - 1000n;
  const theirs = rig.acceptorMsat / 1000n;
  // The compromised node proposes: half to the shared address, half to the attacker. Our signer
  // would take the shared output (allowlisted, carrying our balance) for ours.
  const tx = assembleClosingTx({
    fundingOutpoint: { txid: fromHex(rig.setup.fundingOutpoint.txid), vout: 0 },
    fundingSatoshis: rig.setup.channelValueSat,
    holderFundingPubkey: rig.keys.fundingPubkey,
    counterpartyFundingPubkey: rig.peer.keys.fundingPubkey,
    toHolderSat: ours,
    toCounterpartySat: theirs,
    holderScript: shared,
    counterpartyScript: ATTACKER,
  }).tx;
  const request = {
    spend: spendOf(tx, { outputPaths: tx.outputs.map(() => []) }),
    remoteFundingPubkey: rig.peer.keys.fundingPubkey,
  };
  const refused = await expectRefusal(
    rig,
    () => rig.signer.signMutualClose(rig.id, request),
    ["policy-mutual-destination-shared-allowlist"],
  );
  deepStrictEqual(refused.rules, ["policy-mutual-destination-shared-allowlist"]);
  // The shared output was taken for ours: present, not our wallet, and no upfront script agreed.
  deepStrictEqual(rig.audit[rig.audit.length - 1].decision.violations[0].facts, {
    "close.holder_output.present": true,
    "close.holder_output.in_wallet": false,
    "channel.has_holder_shutdown_script": false,
  });
  strictEqual((await rig.state()).enforcement.closed, false);

  // The same address agreed at setup as our upfront shutdown script is our destination by
  // contract: the peer's node cannot choose it at close time.
  const upfront = await Rig.create({ pushMsat: 500_000_000n });
  await updateAllowlist(upfront.store, "regtest", (a) => a.add(entry));
  await upfront.setUp((s) => ({
    ...s,
    holderShutdownScript: toHex(shared),
    holderShutdownWalletIndex: null,
  }));
  await upfront.commit("us", 0);
  await upfront.commit("peer", 0);
  await upfront.signer.signMutualClose(upfront.id, {
    values: {
      toHolderSat: ours,
      toCounterpartySat: theirs,
      holderScript: shared,
      counterpartyScript: PEER_SCRIPT,
      holderWalletPath: [],
    },
  });
  strictEqual((await upfront.state()).enforcement.closed, true);
});

// =================================================================================================
// Revocation

Deno.test("threat: sign a revoked commitment (ours for broadcast, ours again, the peer's old one)", async () => {
  const rig = await Rig.create();
  await rig.openWithTwoHtlcs(); // H = 3: our commitments 0 and 1 are revoked
  await expectRefusal(rig, () => rig.signer.signHolderCommitment(rig.id, 1), [
    "policy-commitment-holder-not-revoked",
    "policy-other",
  ]);
  const old = await rig.peerSignsOurs(1);
  await expectRefusal(rig, () => rig.signer.validateHolderCommitment(rig.id, old), [
    "policy-commitment-holder-not-revoked",
  ]);
  // The peer's commitment 1 is revoked (R = 2): signing it again is refused.
  await expectRefusal(rig, () => rig.signPeerCommitment(1), [
    "policy-commitment-previous-revoked",
  ]);
});

Deno.test("threat: revoke a commitment we signed for broadcast, or with nothing to replace it", async () => {
  const rig = await Rig.create();
  await rig.open();
  // Nothing pending: revoking our current commitment 0 would leave us without one.
  await expectRefusal(rig, () => rig.signer.revokeHolderCommitment(rig.id, 0), [
    "policy-revoke-new-commitment-signed",
  ]);
  await rig.signer.validateHolderCommitment(rig.id, await rig.peerSignsOurs(1));
  await rig.signer.signHolderCommitment(rig.id, 0); // the node broadcasts commitment 0
  await expectRefusal(rig, () => rig.signer.revokeHolderCommitment(rig.id, 0), [
    "policy-revoke-not-closed",
  ]);
});

Deno.test("threat: the peer does not revoke (we never sign two commitments ahead)", async () => {
  const rig = await Rig.create();
  await rig.open();
  await rig.commit("us", 1); // the peer has not revoked commitment 0
  await expectRefusal(rig, () => rig.signPeerCommitment(2), [
    "policy-commitment-previous-revoked",
  ]);
  // A secret that is not the peer's is no revocation either.
  await expectRefusal(
    rig,
    () => rig.signer.validateCounterpartyRevocation(rig.id, 0, holderSecret(rig.peer.keys, 1)),
    ["policy-commitment-previous-revoked"],
  );
});

Deno.test("threat: our balance moved to the peer through the fee, with no HTLC", async () => {
  // Our output shrinks into the fee, then the fee shrinks into the peer's output: our claim
  // never drops "through an HTLC", so only the bound on trimmed value (fee above BOLT #3's at the
  // commitment's feerate) stops it.
  const rig = await Rig.create();
  await rig.open();
  rig.openerMsat -= 200_000_000n;
  const before = await rig.store.list("");
  await expectRefusal(rig, () => rig.update("us", 1), ["policy-commitment-fee-range"]);
  deepStrictEqual(await rig.store.list(""), before, "nothing changed");
  const v = rig.audit[rig.audit.length - 1].decision.violations[0];
  deepStrictEqual(v.facts["commitment.fee_excess_sat"], "200000");

  // Small rounds stay under the per-commitment bound; the daily budget (each side's commitments
  // counted) stops them: 3 rounds of 15k, the 4th refused.
  const small = await Rig.create();
  await small.open();
  let n = 1;
  for (let round = 0; round < 3; round++) {
    small.openerMsat -= 15_000_000n;
    await small.update("us", n++);
    small.acceptorMsat += 15_000_000n;
    await small.update("us", n++);
  }
  small.openerMsat -= 15_000_000n;
  await expectRefusal(small, () => small.update("us", n), ["policy-commitment-fee-range"]);
});

Deno.test("threat: pay an approved hash again after it settled", async () => {
  // One approval pays once: the value of the hash's outgoing HTLCs that settled to the peer is
  // kept (`node/paid/<hash>`) and counted with what is in flight, so a second HTLC for the hash
  // is refused once the first settled, also after a restart.
  const rig = await Rig.create({ pushMsat: 0n });
  await rig.open();
  const hash = hashOf(9);
  strictEqual(await rig.approve(hash, 100_000_000n), true);
  await rig.offer({ amountMsat: 100_000_000n, hash, cltv: 500 }, { approve: false });
  await rig.update("us", 1);
  // The payee settles it: the HTLC leaves both sides' commitments, its value is the peer's.
  rig.htlcs = [];
  rig.acceptorMsat += 100_000_000n;
  await rig.update("peer", 2);
  const key = `node/paid/${toHex(hash)}`;
  const record = await rig.store.get(key);
  strictEqual(
    record?.value,
    JSON.stringify({
      [rig.id.toHex()]: {
        holderMsat: { $bigint: "100000000" },
        counterpartyMsat: { $bigint: "100000000" },
      },
    }),
  );
  // Restart: the record is read back from the store.
  await rig.reopen();
  await rig.offer({ amountMsat: 100_000_000n, hash, cltv: 500 }, { approve: false });
  await expectRefusal(rig, () => rig.update("us", 3), [
    "policy-commitment-htlc-routing-balance",
    "policy-commitment-payment-invoiced",
  ]);
  const v = rig.audit[rig.audit.length - 1].decision.violations[0];
  deepStrictEqual(v.facts["payments[0].outgoing_msat"], "200000000");

  // A payment that failed is not paid: the hash may be retried, and pays once.
  const retry = await Rig.create({ pushMsat: 0n });
  await retry.open();
  strictEqual(await retry.approve(hash, 100_000_000n), true);
  await retry.offer({ amountMsat: 100_000_000n, hash, cltv: 500 }, { approve: false });
  await retry.update("us", 1);
  retry.htlcs = [];
  retry.openerMsat += 100_000_000n;
  await retry.update("peer", 2);
  strictEqual(await retry.store.get(key), undefined);
  await retry.offer({ amountMsat: 100_000_000n, hash, cltv: 500 }, { approve: false });
  await retry.update("us", 3);
  retry.htlcs = [];
  retry.acceptorMsat += 100_000_000n;
  await retry.update("peer", 4);
  // 10k sat more is past the routing fee allowance (222 sat on regtest), within the 10% fee.
  await retry.offer({ amountMsat: 10_000_000n, hash, cltv: 500 }, { approve: false });
  await expectRefusal(retry, () => retry.update("us", 5), [
    "policy-commitment-htlc-routing-balance",
  ]);
  const w = retry.audit[retry.audit.length - 1].decision.violations[0];
  deepStrictEqual(w.facts["payments[0].outgoing_msat"], "110000000");
});
