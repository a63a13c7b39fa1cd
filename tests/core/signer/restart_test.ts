/**
 * Everything the signer decides with survives a restart. A signer over a SQLite store in a temp
 * dir drives a channel (funded from our wallet, opened, a payment in flight, announced), a human
 * approval through the approval queue, approved payments, an issued invoice, the payee allowlist,
 * the payment velocity window near its cap, the chain tip and the short channel id map. Then the
 * store is closed, the same file opened again with a fresh {@link Signer} and a freshly loaded
 * policy (its limit windows come from the store only), and:
 *
 * - every refusal probed before the restart is refused again with the identical decision (rule
 *   ids, clauses, and the facts each rule read), and
 * - what was allowed goes on: the known payment is still known, the channel keeps updating, the
 *   approved payment settles, the chain extends its old tip.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { concat, toHex, u32le } from "../../../core/bytes.ts";
import { sha256d } from "../../../core/crypto/mod.ts";
import { parseHeader } from "../../../core/node/chain.ts";
import { decideApproval, listApprovals, QueueApprover } from "../../../core/node/approvals.ts";
import { updateAllowlist } from "../../../core/node/allowlist.ts";
import { PolicyRefusal } from "../../../core/signer/errors.ts";
import { SqliteStore } from "../../../core/store/sqlite.ts";
import { toJson } from "../../../core/store/json.ts";
import { BOLT11_NODE_ID } from "../node/_payment_fixture.ts";
import {
  expectRefusal,
  hashOf,
  loadRegtestPolicy,
  NOW,
  PEER_NODE_ID,
  Rig,
  walletScript,
} from "./_rules_fixture.ts";
import { fundingTx, walletCoins, withdrawal } from "./_onchain_fixture.ts";
import { forwardAcross, hashFor, preimageOf } from "./_forwards.ts";
import {
  channelAnnouncement,
  channelUpdate,
  descriptionField,
  invoiceToPay,
  invoiceToSign,
  ourDirection,
  paymentHashField,
  scidOf,
} from "./_node_requests.ts";

/** An 80-byte regtest header on `prev` (internal order), nonce ground until the hash meets bits. */
function header(prev: Uint8Array, time: number): Uint8Array {
  for (let nonce = 0;; nonce++) {
    const h = concat(
      u32le(0x20000000),
      prev,
      new Uint8Array(32),
      u32le(time),
      u32le(0x207fffff),
      u32le(nonce),
    );
    if (parseHeader(h).powOk) return h;
  }
}

/** A payment velocity cap close to what the test approves before the restart. */
const SITE = "param max_payments_msat_per_day = 150_000_000 msat";

Deno.test("restart: decisions after reopening the SQLite store are the ones before", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-restart-" });
  const path = `${dir}/state.sqlite`;
  let store = await SqliteStore.open(path);
  try {
    // ---- Before: build up state ------------------------------------------------------------
    const funding = fundingTx(walletCoins(60), { dbid: 1n, peerId: PEER_NODE_ID });
    const rig = await Rig.create({
      store,
      site: SITE,
      approver: new QueueApprover({ store }),
      peerId: PEER_NODE_ID,
      pushMsat: 0n,
      fundingOutpoint: funding.fundingOutpoint,
    });
    await rig.open();
    await rig.signer.signOnchain(funding.request); // change at wallet index 20
    // The chain: a checkpoint with the funding transaction, then one more block.
    const first = header(new Uint8Array(32), NOW - 1200);
    await rig.signer.addBlock(first, { height: 800, transactions: [funding.request.psbt.tx] });
    const second = header(sha256d(first), NOW - 600);
    await rig.signer.addBlock(second);
    // A human approves a 100k-sat keysend in the queue; the payment goes out.
    const pending = await rig.approve(hashOf(1), 100_000_000n).catch((e) => e);
    strictEqual(pending instanceof PolicyRefusal && pending.temporary, true);
    const [entry] = await listApprovals(store, { now: NOW });
    await decideApproval(store, entry.id, { decision: "approve", now: NOW });
    await rig.addHtlc("us", 1, { amountMsat: 100_000_000n, hash: hashOf(1), cltv: 900 });
    // An invoice we issue; a payee on the allowlist; the channel announced (its scid mapped).
    const issued = invoiceToSign("lnbcrt10u", [
      paymentHashField(hashOf(9)),
      descriptionField("coffee"),
    ]);
    await rig.signer.signInvoice(issued);
    await updateAllowlist(store, "regtest", (a) => a.add(`payee:${BOLT11_NODE_ID}`));
    const scid = scidOf(800, 1, 0);
    const announcement = channelAnnouncement({
      scid,
      peerId: PEER_NODE_ID,
      ourFunding: rig.keys.fundingPubkey,
      peerFunding: rig.peer.keys.fundingPubkey,
    });
    await rig.signer.signChannelAnnouncement(rig.id, { announcement });
    // (The scid is mapped from LDK's unsigned form only; see rules_node_test.ts gossipRig.)
    await rig.signer.signChannelAnnouncement(rig.id, {
      announcement: announcement.subarray(2 + 4 * 64),
      unsigned: true,
    });

    // ---- The probes: requests that must be refused, the same way, before and after --------
    const fork = header(sha256d(first), NOW - 500);
    const probes: { name: string; run: () => Promise<unknown>; rules: string[] }[] = [
      {
        name: "60k sat more than the velocity window leaves (100k of 150k used)",
        run: () =>
          rig.signer.preapproveInvoice({
            invstring: invoiceToPay([paymentHashField(hashOf(2)), descriptionField("tv")], {
              amount: "600u",
            }),
          }),
        rules: ["policy-commitment-payment-velocity"],
      },
      {
        name: "another payment for the approved hash",
        run: () =>
          rig.signer.preapproveInvoice({
            invstring: invoiceToPay([paymentHashField(hashOf(1)), descriptionField("again")]),
          }),
        rules: ["policy-other"],
      },
      {
        name: "another invoice for the issued hash",
        run: () =>
          rig.signer.signInvoice(
            invoiceToSign("lnbcrt20u", [paymentHashField(hashOf(9)), descriptionField("tea")]),
          ),
        rules: ["policy-other"],
      },
      {
        name: "force-closing with our revoked commitment 0",
        run: () => rig.signer.signHolderCommitment(rig.id, 0),
        rules: ["policy-commitment-holder-not-revoked", "policy-other"],
      },
      {
        name: "signing the peer's revoked commitment 0 again (with today's HTLC in it)",
        run: () => rig.signPeerCommitment(0),
        rules: ["policy-commitment-previous-revoked", "policy-commitment-first-no-htlcs"],
      },
      {
        name: "the peer's direction on our announced channel",
        run: () =>
          rig.signer.signChannelUpdate({
            update: channelUpdate({ scid, channelFlags: 1 - ourDirection(PEER_NODE_ID) }),
          }),
        rules: ["policy-gossip-our-channel"],
      },
      {
        name: "a block that does not extend the tip",
        run: () => rig.signer.addBlock(fork),
        rules: ["policy-chain-validated"],
      },
      {
        name: "change beyond the gap of the highest wallet index used (20)",
        run: () =>
          rig.signer.signOnchain(
            withdrawal(walletCoins(61), [
              { amount: 1_999_000n, script: walletScript(1021), path: [1021] },
            ]),
          ),
        rules: ["policy-onchain-wallet-path-predictable"],
      },
    ];
    const decide = async () => {
      const out: string[] = [];
      for (const p of probes) {
        const refusal = await expectRefusal(rig, p.run, p.rules);
        strictEqual(refusal.temporary, false, p.name);
        out.push(toJson(rig.audit[rig.audit.length - 1].decision));
      }
      return out;
    };
    const before = await decide();
    const tip = rig.signer.tipInfo();
    strictEqual(tip?.height, 801);

    // ---- Restart -----------------------------------------------------------------------------
    await store.close();
    store = await SqliteStore.open(path);
    await rig.reopen({
      store,
      policy: loadRegtestPolicy(SITE),
      approver: new QueueApprover({ store }),
    });

    // ---- After: the same decisions -------------------------------------------------------------
    const restartedAt = rig.audit.length;
    deepStrictEqual(await decide(), before);
    deepStrictEqual(rig.signer.tipInfo(), tip);

    // What was allowed goes on from where it was.
    strictEqual(await rig.approve(hashOf(1), 100_000_000n), true, "the approved payment is known");
    await rig.signer.signInvoice(issued); // the same invoice again
    await rig.signer.signChannelUpdate({
      update: channelUpdate({ scid, channelFlags: ourDirection(PEER_NODE_ID) }),
    });
    // The allowlisted payee needs no approver; 40k sat still fits the window, 20k more does not.
    const pay = (i: number, amount: string) =>
      rig.signer.preapproveInvoice({
        invstring: invoiceToPay([paymentHashField(hashOf(i)), descriptionField("x")], { amount }),
      });
    strictEqual(await pay(3, "400u"), true);
    await expectRefusal(rig, () => pay(4, "200u"), ["policy-commitment-payment-velocity"]);
    // The payment in flight settles: the peer fulfils, the channel moves on.
    rig.htlcs = [];
    rig.acceptorMsat += 100_000_000n;
    await rig.update("peer", 2);
    const e = (await rig.state()).enforcement;
    deepStrictEqual([e.nextHolderCommitNum, e.nextCounterpartyCommitNum], [3, 3]);
    // Change within the gap of the persisted highest index is fine.
    await rig.signer.signOnchain(
      withdrawal(walletCoins(62), [{
        amount: 1_999_000n,
        script: walletScript(1019),
        path: [1019],
      }]),
    );
    // The chain extends its old tip.
    await rig.signer.addBlock(header(sha256d(second), NOW - 300));
    strictEqual(rig.signer.tipInfo()?.height, 802);
    // Nothing after the restart was refused but the probes and the over-cap payment.
    const refusedAfter = rig.audit.slice(restartedAt).filter((a) => !a.decision.allowed);
    strictEqual(refusedAfter.length, probes.length + 1);
  } finally {
    await store.close().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restart: a preimage first shown with a refused request is saved by the allowed one", async () => {
  // Channel A forwards the 49k-sat HTLC that channel B brings in; A's peer fulfils it. With
  // require_settlement_preimage, value may leave A only for hashes whose preimage we know.
  const { a } = await forwardAcross({ site: "param require_settlement_preimage = true" });
  await a.update("us", 1);
  a.htlcs = [];
  a.acceptorMsat += 49_000_000n;
  const request = await a.peerSignsOurs(2);
  const key = `node/preimage/${toHex(hashFor(1))}`;
  // Refused (the peer's signature is wrong) although it shows the preimage: nothing is kept,
  // in the store (expectRefusal compares it) or in the signer's memory.
  await expectRefusal(
    a,
    () =>
      a.signer.validateHolderCommitment(a.id, {
        ...request,
        counterpartySig: new Uint8Array(64).fill(1),
        preimages: [preimageOf(1)],
      }),
    ["policy-revoke-new-commitment-signed"],
  );
  strictEqual(await a.store.get(key), undefined);
  // Allowed with the same preimage: its hash is persisted with the commitment.
  await a.signer.validateHolderCommitment(a.id, { ...request, preimages: [preimageOf(1)] });
  deepStrictEqual((await a.store.get(key))?.value, "true");
  // Restart on the same store: signing the peer's commitment 2 without the HTLC moves 49k sat
  // away from us, allowed only because the restarted signer knows the preimage.
  await a.reopen();
  await a.revoke("us", 1);
  await a.commit("us", 2);
  await a.revoke("peer", 1);
  const e = (await a.state()).enforcement;
  deepStrictEqual([e.nextHolderCommitNum, e.nextCounterpartyCommitNum], [3, 3]);
  deepStrictEqual((await a.store.list("node/preimage/")).map((x) => x.key), [key]);
});
