/**
 * The payment book: approved payments are forgotten once expired and no longer in flight, and a
 * forward whose outgoing side settled is remembered (across restarts) until its incoming side
 * left every commitment.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { fromHex, toHex } from "../../../core/bytes.ts";
import { nodeKeysFromSeed } from "../../../core/keys/mod.ts";
import { MemoryStore } from "../../../core/store/memory.ts";
import { Signer } from "../../../core/signer/signer.ts";
import { PositiveApprover } from "../../../core/node/approvals.ts";
import { APPROVAL_GRACE_SECONDS, PAYMENT_KEYS } from "../../../core/signer/payments.ts";
import { expectRefusal, regtestPolicy } from "./_rules_fixture.ts";
import { forwardAcross, hashFor } from "./_forwards.ts";

const keys = nodeKeysFromSeed(new Uint8Array(32).fill(4), { network: "regtest" });
const DEST = fromHex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");

Deno.test("expired approvals are pruned, their versions kept, and a hash can be approved again", async () => {
  const store = new MemoryStore();
  let now = 1_700_000_000;
  const open = () =>
    Signer.open({
      keys,
      store,
      policy: regtestPolicy(),
      clock: () => now,
      approver: new PositiveApprover(),
    });
  const signer = await open();
  const hash = (i: number) => new Uint8Array(32).fill(i);
  const keysend = (i: number) =>
    signer.preapproveKeysend({ destination: DEST, paymentHash: hash(i), amountMsat: 1000n });
  strictEqual(await keysend(1), true);
  const key = PAYMENT_KEYS.invoices + "01".repeat(32);
  strictEqual((await store.get(key))?.version, 0);
  now += 60 + APPROVAL_GRACE_SECONDS + 1; // well past the keysend's expiry
  strictEqual(await keysend(2), true, "approving another payment prunes the expired one");
  const marker = await store.get(key);
  strictEqual(marker?.version, 1);
  strictEqual(marker?.value, JSON.stringify({ pruned: true }));
  strictEqual(await keysend(1), true, "the same hash can be approved again");
  strictEqual((await store.get(key))?.version, 2);
  // After a restart the versions carry on.
  now += 60 + APPROVAL_GRACE_SECONDS + 1;
  const again = await open();
  strictEqual(
    await again.preapproveKeysend({ destination: DEST, paymentHash: hash(3), amountMsat: 1000n }),
    true,
  );
  strictEqual((await store.get(key))?.version, 3, "pruned again after the restart");
});

Deno.test("one loaded policy serves two signers over two stores, each with its own limit windows", async () => {
  const policy = regtestPolicy();
  const open = (store: MemoryStore) =>
    Signer.open({
      keys,
      store,
      policy,
      clock: () => 1_700_000_000,
      approver: new PositiveApprover(),
    });
  const a = new MemoryStore();
  const b = new MemoryStore();
  const [sa, sb] = [await open(a), await open(b)];
  for (const [s, i] of [[sa, 7], [sb, 7], [sa, 8], [sb, 8]] as const) {
    strictEqual(
      await s.preapproveKeysend({
        destination: DEST,
        paymentHash: new Uint8Array(32).fill(i),
        amountMsat: 5000n,
      }),
      true,
    );
  }
  const limitsOf = async (store: MemoryStore) =>
    (await store.list("policy/limit/")).map((e) => e.version);
  strictEqual((await limitsOf(a)).length > 0, true, "the velocity limit recorded amounts");
  strictEqual(JSON.stringify(await limitsOf(a)), JSON.stringify(await limitsOf(b)));
});

Deno.test("a forward whose outgoing side settled stays recorded across a restart, until its incoming side is gone", async () => {
  const { a, b } = await forwardAcross();
  await a.update("us", 1);
  // A's peer takes the forwarded 49k sat (no preimage reaches the signer).
  a.htlcs = [];
  a.acceptorMsat += 49_000_000n;
  await a.update("peer", 2);
  const hash = toHex(hashFor(1));
  const record = await a.store.get(PAYMENT_KEYS.settled);
  deepStrictEqual(record && [JSON.parse(record.value), record.version], [{ hashes: [hash] }, 0]);
  // Restart: B shares the new signer, which reads the record back.
  b.signer = await a.reopen();
  b.htlcs = [];
  b.acceptorMsat += 50_000_000n;
  await expectRefusal(b, () => b.signPeerCommitment(2), ["policy-commitment-htlc-routing-balance"]);
  // Claiming it instead goes through.
  b.acceptorMsat -= 50_000_000n;
  b.openerMsat += 50_000_000n;
  await b.update("us", 2);
  // The record is dropped once no commitment of any channel carries the incoming HTLC (the next
  // commitment request sees it), keeping the key's version going.
  await b.update("us", 3);
  const dropped = await a.store.get(PAYMENT_KEYS.settled);
  deepStrictEqual(dropped && [JSON.parse(dropped.value), dropped.version], [{ hashes: [] }, 1]);
});

Deno.test("a forward that fails downstream is failed back upstream, and nothing is recorded", async () => {
  const { a, b } = await forwardAcross();
  await a.update("us", 1);
  // A's peer fails the forwarded HTLC: the 49k sat come back to us.
  a.htlcs = [];
  a.openerMsat += 49_000_000n;
  await a.update("peer", 2);
  // B: the node fails the incoming HTLC back to B's peer.
  b.htlcs = [];
  b.acceptorMsat += 50_000_000n;
  await b.update("us", 2);
  strictEqual(await a.store.get(PAYMENT_KEYS.settled), undefined, "no forward settled");
});
