/**
 * Store benchmarks, memory versus SQLite (WAL, synchronous=FULL: every put is fsynced): put of one
 * ~2 KB value (a typical channel state), put of a batch of three such values, get, and list of
 * 1000 keys; also the JSON codec on the same document. Run with
 * `deno bench --allow-all tests/bench/store_bench.ts`. The SQLite figures depend on the disk's
 * fsync latency; the file lives in the system temporary directory.
 *
 * @module
 */
import { join } from "node:path";
import {
  fromJson,
  MemoryStore,
  SqliteStore,
  STATE_FILE,
  type Store,
  toJson,
} from "../../core/store/mod.ts";

/** A channel-state-like document of about 2 KB once encoded. */
function channelState(n: number): unknown {
  const bytes = (len: number, fill: number) => new Uint8Array(len).fill(fill);
  return {
    id: bytes(32, n & 0xff),
    peer: bytes(33, 2),
    fundingOutpoint: { txid: bytes(32, 9), vout: 0 },
    capacitySat: 1_000_000n,
    holderCommitment: { number: 42n + BigInt(n), toLocalMsat: 600_000_000n, feeratePerKw: 253 },
    counterpartyCommitment: { number: 43n, toRemoteMsat: 400_000_000n, feeratePerKw: 253 },
    counterpartyPoints: [bytes(33, 3), bytes(33, 4)],
    htlcs: Array.from({ length: 4 }, (_, i) => ({
      id: BigInt(i),
      amountMsat: 1_000_000n * BigInt(i + 1),
      paymentHash: bytes(32, i),
      cltvExpiry: 800_000 + i,
      offered: i % 2 === 0,
    })),
    counterpartySecrets: Array.from({ length: 6 }, (_, i) => [bytes(32, 0x40 + i), BigInt(i)]),
    shutdownScript: bytes(22, 0),
  };
}

const VALUE = toJson(channelState(1));
const BATCH_VALUES = [toJson(channelState(2)), toJson(channelState(3)), toJson(channelState(4))];
console.log(`value size: ${VALUE.length} characters`);

const dir = await Deno.makeTempDir({ prefix: "warden-store-bench-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const stores: [string, Store][] = [
  ["memory", new MemoryStore()],
  ["sqlite", await SqliteStore.open(join(dir, STATE_FILE))],
];

for (const [name, store] of stores) {
  // Fixed data for get and list: 1000 channel keys plus unrelated keys around them.
  await store.put(
    Array.from({ length: 1000 }, (_, i) => ({
      key: `channel/${i.toString().padStart(4, "0")}`,
      value: VALUE,
      version: 0,
    })),
  );
  await store.put([
    { key: "chan", value: VALUE, version: 0 },
    { key: "node/state", value: VALUE, version: 0 },
  ]);

  let version = 0;
  Deno.bench(
    `${name}: put one ~2 KB value`,
    { group: "put", baseline: name === "memory" },
    async () => {
      await store.put([{ key: "single", value: VALUE, version: version++ }]);
    },
  );

  let batchVersion = 0;
  Deno.bench(
    `${name}: put a batch of 3 x ~2 KB`,
    { group: "batch", baseline: name === "memory" },
    async () => {
      const v = batchVersion++;
      await store.put(BATCH_VALUES.map((value, i) => ({ key: `batch/${i}`, value, version: v })));
    },
  );

  Deno.bench(`${name}: get`, { group: "get", baseline: name === "memory" }, async () => {
    await store.get("channel/0500");
  });

  Deno.bench(
    `${name}: list 1000 keys`,
    { group: "list", baseline: name === "memory" },
    async () => {
      const entries = await store.list("channel/");
      if (entries.length !== 1000) throw new Error("list returned the wrong count");
    },
  );
}

Deno.bench("toJson of a ~2 KB channel state", { group: "codec" }, () => {
  toJson(channelState(5));
});

Deno.bench("fromJson of a ~2 KB channel state", { group: "codec" }, () => {
  fromJson(VALUE);
});
