import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { toHex, utf8 } from "../../../core/bytes.ts";
import { sha256 } from "../../../core/crypto/mod.ts";
import { MemoryStore } from "../../../core/store/memory.ts";
import { fromJson } from "../../../core/store/json.ts";
import type { Store, StoreWrite } from "../../../core/store/types.ts";
import {
  advanceVelocity,
  APPROVAL_PREFIX,
  type ApprovalAnswer,
  type ApprovalEntry,
  ApprovalError,
  approvalId,
  type Approver,
  decideApproval,
  describeOnchain,
  describePayment,
  emptyVelocity,
  listApprovals,
  NegativeApprover,
  type OnchainApprovalRequest,
  type PaymentApprovalRequest,
  PositiveApprover,
  pruneApprovals,
  QueueApprover,
  VELOCITY_KEY,
  VelocityApprover,
  velocityTotal,
  WarningPositiveApprover,
} from "../../../core/node/approvals.ts";

const T = 1_700_000_000;

function payment(overrides: Partial<PaymentApprovalRequest> = {}): PaymentApprovalRequest {
  return {
    kind: "invoice",
    paymentHash: "11".repeat(32),
    amountMsat: 600n,
    hasAmount: true,
    payee: "02" + "22".repeat(32),
    createdAt: T - 100,
    expiresAt: T + 3500,
    invoiceHash: "33".repeat(32),
    isBolt12: false,
    description: "coffee",
    ...overrides,
  };
}

const ONCHAIN: OnchainApprovalRequest = {
  txid: "44".repeat(32),
  outputs: [
    { index: 1, script: "0014" + "55".repeat(20), address: "bcrt1q...", amountSat: 70_000n },
    { index: 2, script: "6a00", address: "", amountSat: 0n },
  ],
};

/** An approver that records its calls and answers from a script. */
class Scripted implements Approver {
  calls: string[] = [];
  constructor(readonly answer: ApprovalAnswer) {}
  approvePayment(request: PaymentApprovalRequest): Promise<ApprovalAnswer> {
    this.calls.push(`payment ${request.amountMsat}`);
    return Promise.resolve(this.answer);
  }
  approveOnchain(request: OnchainApprovalRequest): Promise<ApprovalAnswer> {
    this.calls.push(`onchain ${request.txid.slice(0, 4)}`);
    return Promise.resolve(this.answer);
  }
}

Deno.test("positive, negative and warning-positive approvers", async () => {
  const now = { now: T };
  strictEqual(await new PositiveApprover().approvePayment(payment(), now), "approve");
  strictEqual(await new PositiveApprover().approveOnchain(ONCHAIN, now), "approve");
  strictEqual(await new NegativeApprover().approvePayment(payment(), now), "deny");
  strictEqual(await new NegativeApprover().approveOnchain(ONCHAIN, now), "deny");
  const lines: string[] = [];
  const warning = new WarningPositiveApprover({ warn: (l) => lines.push(l) });
  strictEqual(await warning.approvePayment(payment(), now), "approve");
  strictEqual(await warning.approveOnchain(ONCHAIN, now), "approve");
  strictEqual(
    await warning.approvePayment(payment({ kind: "keysend", hasAmount: true }), now),
    "approve",
  );
  deepStrictEqual(lines, [
    `warning: AUTO-APPROVED invoice payment of 600 msat to 02${"22".repeat(32)} (payment hash ${
      "11".repeat(32)
    })`,
    `warning: AUTO-APPROVED on-chain transaction ${"44".repeat(32)} paying 70000 sat to unknown ` +
    `outputs 1:bcrt1q..., 2:6a00`,
    `warning: AUTO-APPROVED keysend payment of 600 msat to 02${"22".repeat(32)} (payment hash ${
      "11".repeat(32)
    })`,
  ]);
  strictEqual(
    describePayment(payment({ hasAmount: false, amountMsat: 0n })),
    `invoice payment of an unspecified amount to 02${"22".repeat(32)} (payment hash ${
      "11".repeat(32)
    })`,
  );
  ok(describeOnchain(ONCHAIN).includes("70000 sat"));
});

Deno.test("velocity windows shift bucket by bucket and empty after a full window", () => {
  const w = { ...emptyVelocity("hour", T), buckets: [5n, ...Array(11).fill(1n)] };
  strictEqual(w.start, Math.floor(T / 300) * 300);
  strictEqual(velocityTotal(w), 16n);
  strictEqual(advanceVelocity(w, w.start + 299), w); // same bucket
  strictEqual(advanceVelocity(w, w.start - 1000), w); // the clock went back
  const one = advanceVelocity(w, w.start + 300);
  deepStrictEqual(one.buckets, [0n, 5n, ...Array(10).fill(1n)]);
  strictEqual(one.start, w.start + 300);
  deepStrictEqual(advanceVelocity(w, w.start + 11 * 300).buckets, [...Array(11).fill(0n), 5n]);
  deepStrictEqual(advanceVelocity(w, w.start + 12 * 300).buckets, Array(12).fill(0n));
  deepStrictEqual(advanceVelocity(w, w.start + 1e6).buckets, Array(12).fill(0n));
  const day = emptyVelocity("day", T);
  strictEqual(day.buckets.length, 24);
  strictEqual(day.start % 3600, 0);
});

Deno.test("velocity approver: under budget automatic, over budget the delegate, persisted", async () => {
  const store = new MemoryStore();
  const delegate = new Scripted("deny");
  const v = new VelocityApprover({ store, limitMsat: 1000n, window: "hour", delegate });
  strictEqual(await v.approvePayment(payment({ amountMsat: 600n }), { now: T }), "approve");
  strictEqual(await v.approvePayment(payment({ amountMsat: 400n }), { now: T + 10 }), "approve");
  strictEqual(await v.approvePayment(payment({ amountMsat: 1n }), { now: T + 20 }), "deny");
  deepStrictEqual(delegate.calls, ["payment 1"]);
  strictEqual(velocityTotal(await v.state(T + 20)), 1000n);
  // A second approver on the same store sees the same window.
  const again = new VelocityApprover({ store, limitMsat: 1000n, window: "hour" });
  strictEqual(await again.approvePayment(payment({ amountMsat: 1n }), { now: T + 30 }), "deny");
  // An hour later the window is empty again.
  strictEqual(await v.approvePayment(payment({ amountMsat: 1000n }), { now: T + 3600 }), "approve");
  strictEqual((await store.get(VELOCITY_KEY))?.version, 2);
  // On-chain always goes to the delegate.
  strictEqual(await v.approveOnchain(ONCHAIN, { now: T }), "deny");
  deepStrictEqual(delegate.calls, ["payment 1", "onchain 4444"]);
});

Deno.test("velocity approver: a delegate's approval clears the window, pending writes nothing", async () => {
  const store = new MemoryStore();
  const yes = new Scripted("approve");
  const v = new VelocityApprover({ store, limitMsat: 1000n, window: "day", delegate: yes });
  strictEqual(await v.approvePayment(payment({ amountMsat: 900n }), { now: T }), "approve");
  strictEqual(await v.approvePayment(payment({ amountMsat: 200n }), { now: T }), "approve");
  deepStrictEqual(yes.calls, ["payment 200"]);
  strictEqual(velocityTotal(await v.state(T)), 0n);
  const pendingStore = new MemoryStore();
  const wait = new VelocityApprover({
    store: pendingStore,
    limitMsat: 0n,
    window: "day",
    delegate: new Scripted("pending"),
  });
  strictEqual(await wait.approvePayment(payment({ amountMsat: 1n }), { now: T }), "pending");
  strictEqual(await pendingStore.get(VELOCITY_KEY), undefined);
  // A zero amount always fits (an amountless invoice records 0, as VLS).
  strictEqual(await wait.approvePayment(payment({ amountMsat: 0n }), { now: T }), "approve");
  // Changing the window kind starts afresh.
  await v.approvePayment(payment({ amountMsat: 500n }), { now: T });
  const hourly = new VelocityApprover({ store, limitMsat: 1000n, window: "hour" });
  strictEqual(velocityTotal(await hourly.state(T)), 0n);
  strictEqual((await hourly.state(T)).window, "hour");
  throws(() => new VelocityApprover({ store, limitMsat: -1n, window: "day" }), ApprovalError);
  throws(
    () => new VelocityApprover({ store, limitMsat: 1n, window: "week" as "day" }),
    ApprovalError,
  );
});

Deno.test("velocity approver retries a version conflict and counts once", async () => {
  const inner = new MemoryStore();
  let conflicts = 1;
  const racy: Store = {
    get: (k) => inner.get(k),
    list: (p) => inner.list(p),
    close: () => inner.close(),
    async put(writes: StoreWrite[]) {
      if (conflicts-- > 0) {
        // Another writer gets there first.
        await inner.put([{ key: VELOCITY_KEY, value: writes[0].value as string, version: 0 }]);
      }
      return inner.put(writes);
    },
  };
  const v = new VelocityApprover({ store: racy, limitMsat: 1000n, window: "hour" });
  strictEqual(await v.approvePayment(payment({ amountMsat: 300n }), { now: T }), "approve");
  strictEqual(velocityTotal(await v.state(T)), 600n); // the other writer's 300 and ours
});

Deno.test("approval ids: a short hash of the request's canonical text", () => {
  const p = payment();
  const text = ["payment", "invoice", p.paymentHash, p.invoiceHash, p.payee, "600"].join("\n");
  strictEqual(approvalId({ payment: p }), toHex(sha256(utf8(text)).subarray(0, 8)));
  strictEqual(approvalId({ payment: p }).length, 16);
  ok(approvalId({ payment: p }) !== approvalId({ payment: payment({ amountMsat: 601n }) }));
  const o = ["onchain", ONCHAIN.txid, `1:0014${"55".repeat(20)}:70000`, "2:6a00:0"].join("\n");
  strictEqual(approvalId({ onchain: ONCHAIN }), toHex(sha256(utf8(o)).subarray(0, 8)));
});

async function entries(store: Store): Promise<ApprovalEntry[]> {
  return (await store.list(APPROVAL_PREFIX)).map((e) => fromJson(e.value) as ApprovalEntry);
}

Deno.test("queue: unknown requests wait as pending, a decision answers later asks", async () => {
  const store = new MemoryStore();
  const q = new QueueApprover({ store });
  const p = payment();
  const id = approvalId({ payment: p });
  strictEqual(await q.approvePayment(p, { now: T }), "pending");
  strictEqual(await q.approvePayment(p, { now: T + 5 }), "pending");
  const [entry] = await entries(store);
  deepStrictEqual(entry, {
    version: 1,
    id,
    kind: "invoice",
    status: "pending",
    requestedAt: T,
    expiresAt: p.expiresAt,
    decidedAt: null,
    payment: {
      payee: p.payee,
      amountMsat: 600n,
      hasAmount: true,
      paymentHash: p.paymentHash,
      createdAt: p.createdAt,
      expiresAt: p.expiresAt,
      description: "coffee",
      isBolt12: false,
    },
    onchain: null,
  });
  strictEqual((await store.get(APPROVAL_PREFIX + id))?.version, 0); // asked twice, written once

  const decided = await decideApproval(store, id.toUpperCase(), {
    decision: "approve",
    now: T + 9,
  });
  strictEqual(decided.changed, true);
  strictEqual(decided.entry.status, "approved");
  strictEqual(decided.entry.decidedAt, T + 9);
  strictEqual(await q.approvePayment(p, { now: T + 10 }), "approve");
  deepStrictEqual(await decideApproval(store, id, { decision: "approve", now: T + 11 }), {
    entry: decided.entry,
    changed: false,
  });
  await rejects(
    decideApproval(store, id, { decision: "deny", now: T + 12 }),
    new ApprovalError(`approval request ${id} was already approved`),
  );

  // A denied keysend: one hour to decide, then "deny" for every ask.
  const k = payment({ kind: "keysend", expiresAt: T + 60, invoiceHash: "" });
  const kid = approvalId({ payment: k });
  strictEqual(await q.approvePayment(k, { now: T }), "pending");
  strictEqual((await entries(store)).find((e) => e.id === kid)?.expiresAt, T + 3600);
  await decideApproval(store, kid, { decision: "deny", now: T + 1 });
  strictEqual(await q.approvePayment(k, { now: T + 2 }), "deny");
});

Deno.test("queue: expiry, pruning and re-asking after a tombstone", async () => {
  const store = new MemoryStore();
  const q = new QueueApprover({ store, ttlSeconds: 100 });
  const k = payment({ kind: "keysend" });
  const id = approvalId({ payment: k });
  strictEqual(await q.approvePayment(k, { now: T }), "pending");
  await rejects(
    decideApproval(store, id, { decision: "approve", now: T + 100 }),
    new ApprovalError(`approval request ${id} has expired`),
  );
  deepStrictEqual(await listApprovals(store, { now: T + 100 }), []);
  strictEqual((await listApprovals(store, { now: T + 100, all: true })).length, 1);
  strictEqual(await pruneApprovals(store, { now: T + 99 }), 0);
  strictEqual(await pruneApprovals(store, { now: T + 100 }), 1);
  strictEqual(await store.get(APPROVAL_PREFIX + id), undefined);
  // Asked again: a fresh pending entry after the tombstone (version 2).
  strictEqual(await q.approvePayment(k, { now: T + 200 }), "pending");
  strictEqual((await store.get(APPROVAL_PREFIX + id))?.version, 2);
  // An expired entry that was not pruned yet is replaced as well.
  await decideApproval(store, id, { decision: "deny", now: T + 201 });
  strictEqual(await q.approvePayment(k, { now: T + 250 }), "deny");
  strictEqual(await q.approvePayment(k, { now: T + 300 }), "pending");
  // An invoice that has already expired is not queued.
  const old = payment({ paymentHash: "66".repeat(32), expiresAt: T - 1 });
  strictEqual(await q.approvePayment(old, { now: T + 300 }), "deny");
  strictEqual(await store.get(APPROVAL_PREFIX + approvalId({ payment: old })), undefined);
  throws(() => new QueueApprover({ store, ttlSeconds: 0 }), ApprovalError);
});

Deno.test("queue: on-chain requests, listing order, bad and unknown ids", async () => {
  const store = new MemoryStore();
  const q = new QueueApprover({ store });
  strictEqual(await q.approveOnchain(ONCHAIN, { now: T + 1 }), "pending");
  strictEqual(await q.approvePayment(payment(), { now: T }), "pending");
  const list = await listApprovals(store, { now: T + 2 });
  deepStrictEqual(list.map((e) => e.kind), ["invoice", "onchain"]);
  deepStrictEqual(list[1].onchain, {
    txid: ONCHAIN.txid,
    outputs: ONCHAIN.outputs,
    totalSat: 70_000n,
  });
  strictEqual(list[1].expiresAt, T + 1 + 3600);
  await decideApproval(store, list[1].id, { decision: "approve", now: T + 3 });
  strictEqual(await q.approveOnchain(ONCHAIN, { now: T + 4 }), "approve");
  await rejects(
    decideApproval(store, "xyz", { decision: "approve", now: T }),
    new ApprovalError("an approval id is 16 hex characters"),
  );
  await rejects(
    decideApproval(store, "0123456789abcdef", { decision: "approve", now: T }),
    new ApprovalError("no approval request 0123456789abcdef"),
  );
  // A corrupt entry is reported, not trusted.
  await store.put([{ key: APPROVAL_PREFIX + "00000000000000aa", value: '{"x":1}', version: 0 }]);
  await rejects(listApprovals(store, { now: T }), ApprovalError);
});
