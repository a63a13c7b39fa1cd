import { deepStrictEqual, rejects, strictEqual, throws } from "node:assert/strict";
import { type Decision, loadPolicy, type Policy } from "../../policy/engine.ts";
import { bucketSeconds, limitKey, LimitState } from "../../policy/limits.ts";
import {
  type Store,
  type StoreEntry,
  type StoreWrite,
  VersionConflictError,
} from "../../core/store/types.ts";
import { memoryFiles, testRegistry } from "./fixtures/registry.ts";

/** A tiny Map-backed versioned store following core/store/types.ts. */
class MapStore implements Store {
  readonly entries = new Map<string, StoreEntry>();
  get(key: string): Promise<StoreEntry | undefined> {
    return Promise.resolve(this.entries.get(key));
  }
  list(prefix: string): Promise<StoreEntry[]> {
    return Promise.resolve(
      [...this.entries.values()].filter((e) => e.key.startsWith(prefix)).sort((a, b) =>
        a.key < b.key ? -1 : 1
      ),
    );
  }
  put(writes: StoreWrite[]): Promise<void> {
    for (const w of writes) {
      const stored = this.entries.get(w.key)?.version;
      if (w.version !== (stored === undefined ? 0 : stored + 1)) {
        return Promise.reject(new VersionConflictError(w.key, { attempted: w.version, stored }));
      }
    }
    for (const w of writes) {
      if (w.value === null) this.entries.delete(w.key);
      else this.entries.set(w.key, { key: w.key, value: w.value, version: w.version });
    }
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const HOUR = 3600;
const T0 = 1_700_002_800; // a multiple of 3600: the start of bucket 472_223
const PAYMENT = (amount: bigint, alreadyKnown = false) => ({
  payment: {
    amount_msat: amount,
    payee: "02".repeat(33),
    already_known: alreadyKnown,
    payee_allowlisted: false,
    approved: true,
  },
  invoice: { created_at: T0, expiry: 3600 },
  clock: { now: T0 },
});

const TEXT = `policy "t" version 1
param cap = 1_000 msat
rule velocity "Daily cap." on preapprove_invoice, preapprove_keysend
  when not payment.already_known
  limit sum payment.amount_msat over 24h <= param.cap
`;

function policy(text = TEXT): Policy {
  return loadPolicy("/t.policy", {
    registry: testRegistry(),
    network: "bitcoin",
    readFile: memoryFiles({ "/t.policy": text }),
  });
}

/** Evaluates, and when allowed persists and commits like the signer does. */
async function pay(p: Policy, store: Store, amount: bigint, now: number): Promise<Decision> {
  const d = p.evaluate("preapprove_invoice", PAYMENT(amount), { now });
  if (d.allowed) {
    await store.put(p.limitWrites(d));
    p.commitLimits(d);
  }
  return d;
}

Deno.test("limits: 24 buckets of ceil(W / 24) seconds", () => {
  strictEqual(bucketSeconds(86_400), 3600);
  strictEqual(bucketSeconds(3600), 150);
  strictEqual(bucketSeconds(30), 2);
  strictEqual(bucketSeconds(1), 1);
  strictEqual(limitKey("velocity", 0), "policy/limit/velocity/0");
});

Deno.test("limits: an amount counts for at least the window and at most one bucket longer", () => {
  const state = new LimitState([{ key: "k", windowSeconds: 24 * HOUR }]);
  state.record("k", T0 + 10, 5n);
  strictEqual(state.total("k", T0 + 10), 5n);
  strictEqual(state.total("k", T0 + 10 + 24 * HOUR - 1), 5n); // within the window
  strictEqual(state.total("k", T0 + 25 * HOUR - 1), 5n); // last second of the 25th bucket
  strictEqual(state.total("k", T0 + 25 * HOUR), 0n); // expired
  strictEqual(state.total("k", T0 - HOUR), 5n); // a clock that steps back still sees it
  throws(() => state.total("nope", T0), {
    name: "LimitStateError",
    message: "no limit window nope in this policy",
  });
});

Deno.test("limits: allowed up to exactly the cap, refused one msat over, with the window in the facts", async () => {
  const p = policy();
  const store = new MapStore();
  await p.loadLimitState(store);
  const first = await pay(p, store, 600n, T0);
  deepStrictEqual(first.limitUpdates, [{
    rule: "velocity",
    clause: 0,
    key: "policy/limit/velocity/0",
    windowSeconds: 86_400,
    at: T0,
    amount: "600",
  }]);
  strictEqual(p.limitTotal("velocity", { now: T0 }), 600n);
  const over = await pay(p, store, 401n, T0 + HOUR);
  strictEqual(over.allowed, false);
  deepStrictEqual(over.limitUpdates, []);
  deepStrictEqual(over.violations[0].facts, {
    "payment.already_known": false,
    "payment.amount_msat": "401",
    "param.cap": "1000",
    "limit.amount": "401",
    "limit.window_total": "600",
    "limit.cap": "1000",
    "limit.window_seconds": "86400",
  });
  strictEqual((await pay(p, store, 400n, T0 + HOUR)).allowed, true);
  strictEqual(p.limitTotal("velocity", { now: T0 + HOUR }), 1000n);
  strictEqual((await pay(p, store, 1n, T0 + 2 * HOUR)).allowed, false);
  strictEqual((await pay(p, store, 0n, T0 + 2 * HOUR)).allowed, true);
  // A known payment is not counted (the guard is false): no update.
  const known = p.evaluate("preapprove_invoice", PAYMENT(5_000n, true), { now: T0 });
  deepStrictEqual([known.allowed, known.limitUpdates], [true, []]);
  // After the window (and its extra bucket) the first 600 expire, the 400 remains.
  strictEqual(p.limitTotal("velocity", { now: T0 + 25 * HOUR }), 400n);
  strictEqual((await pay(p, store, 600n, T0 + 25 * HOUR)).allowed, true);
  strictEqual((await pay(p, store, 1n, T0 + 25 * HOUR)).allowed, false);
  strictEqual(p.limitTotal("velocity", { now: T0 + 26 * HOUR }), 600n);
});

Deno.test("limits: state survives a restart through the store, with versions", async () => {
  const store = new MapStore();
  const p = policy();
  await p.loadLimitState(store);
  await pay(p, store, 300n, T0);
  await pay(p, store, 200n, T0 + 90 * 60);
  const entry = store.entries.get("policy/limit/velocity/0");
  deepStrictEqual(entry && { ...entry, value: JSON.parse(entry.value) }, {
    key: "policy/limit/velocity/0",
    version: 1,
    value: {
      window_seconds: 86_400,
      bucket_seconds: 3600,
      buckets: [[T0 / 3600, "300"], [T0 / 3600 + 1, "200"]],
    },
  });
  const restarted = policy();
  await restarted.loadLimitState(store);
  strictEqual(restarted.limitTotal("velocity", { now: T0 + 2 * HOUR }), 500n);
  strictEqual(
    restarted.evaluate("preapprove_invoice", PAYMENT(501n), { now: T0 + 2 * HOUR }).allowed,
    false,
  );
  const d = restarted.evaluate("preapprove_invoice", PAYMENT(500n), { now: T0 + 2 * HOUR });
  deepStrictEqual(restarted.limitWrites(d).map((w) => w.version), [2]);
  // Old buckets are dropped when the window is written again.
  const later = restarted.evaluate("preapprove_invoice", PAYMENT(7n), { now: T0 + 48 * HOUR });
  const [write] = restarted.limitWrites(later);
  deepStrictEqual(JSON.parse(write.value ?? "").buckets, [[T0 / 3600 + 48, "7"]]);
});

Deno.test("limits: nothing changes in memory until commit; a stale write conflicts", async () => {
  const store = new MapStore();
  const p = policy();
  await p.loadLimitState(store);
  const a = p.evaluate("preapprove_invoice", PAYMENT(100n), { now: T0 });
  const b = p.evaluate("preapprove_invoice", PAYMENT(100n), { now: T0 });
  strictEqual(p.limitTotal("velocity", { now: T0 }), 0n);
  await store.put(p.limitWrites(a));
  p.commitLimits(a);
  const stale = [{ ...p.limitWrites(b)[0], version: 0 }];
  await rejects(() => store.put(stale), { name: "VersionConflictError" });
  await store.put(p.limitWrites(b));
  p.commitLimits(b);
  strictEqual(p.limitTotal("velocity", { now: T0 }), 200n);
  strictEqual(store.entries.get("policy/limit/velocity/0")?.version, 1);
});

Deno.test("limits: a demoted limit still records its amount; a new window size re-buckets", async () => {
  const store = new MapStore();
  const warned = policy(`${TEXT}filter velocity warn\n`);
  await warned.loadLimitState(store);
  await pay(warned, store, 900n, T0);
  const d = await pay(warned, store, 900n, T0 + 60);
  deepStrictEqual([d.allowed, d.warnings.map((w) => w.rule), d.limitUpdates.map((u) => u.amount)], [
    true,
    ["velocity"],
    ["900"],
  ]);
  strictEqual(warned.limitTotal("velocity", { now: T0 + 60 }), 1800n);
  // The same rule with a 48h window (2h buckets) reads the stored 1h buckets conservatively.
  const wider = policy(TEXT.replace("over 24h", "over 48h"));
  await wider.loadLimitState(store);
  strictEqual(wider.limitTotal("velocity", { now: T0 + 47 * HOUR }), 1800n);
  strictEqual(wider.limitTotal("velocity", { now: T0 + 51 * HOUR }), 0n);
});

Deno.test("limits: malformed stored state is a typed error", async () => {
  const p = policy();
  for (
    const [value, message] of [
      ["{", "limit window policy/limit/velocity/0 is not valid JSON"],
      ['{"bucket_seconds":0,"buckets":[]}', "limit window policy/limit/velocity/0 is malformed"],
      [
        '{"bucket_seconds":3600,"buckets":[[1,"-5"]]}',
        "limit window policy/limit/velocity/0 has a malformed bucket",
      ],
    ]
  ) {
    const store = new MapStore();
    store.entries.set("policy/limit/velocity/0", {
      key: "policy/limit/velocity/0",
      value,
      version: 0,
    });
    await rejects(() => p.loadLimitState(store), { name: "LimitStateError", message });
  }
});

Deno.test("limits: a negative amount is refused rather than credited", () => {
  const p = policy(`policy "t" version 1
rule v "V." on preapprove_invoice limit sum payment.amount_msat - 10 msat over 1h <= 100 msat
`);
  const d = p.evaluate("preapprove_invoice", PAYMENT(5n), { now: T0 });
  deepStrictEqual([d.allowed, d.violations[0].facts["limit.amount"], d.limitUpdates], [
    false,
    "-5",
    [],
  ]);
});
