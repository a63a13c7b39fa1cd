import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import vectors from "../../vectors/bolt3/per-commitment-secrets.json" with { type: "json" };
import { fromHex, toHex } from "../../../core/bytes.ts";
import {
  commitmentNumberToIndex,
  generateFromSeed,
  indexToCommitmentNumber,
  SHACHAIN_START_INDEX,
  ShachainError,
  ShachainStore,
  type ShachainStoreJson,
  slotOfIndex,
} from "../../../core/bolt3/mod.ts";

const SEED_FF = fromHex(vectors.storage_tests.correct_seed);

/** Hex of a looked-up secret, or "missing". */
function hexOf(secret: Uint8Array | undefined): string {
  return secret ? toHex(secret) : "missing";
}

/** The value, which must be defined. */
function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("unexpectedly undefined");
  return value;
}

Deno.test("Appendix D: all 5 generation tests", () => {
  strictEqual(vectors.generation_tests.length, 5);
  for (const t of vectors.generation_tests) {
    strictEqual(toHex(generateFromSeed(fromHex(t.seed), Number(t.index))), t.output, t.name);
  }
});

Deno.test("Appendix D: all 9 storage tests, 56 steps, OK/ERROR exactly as given", () => {
  const tests = vectors.storage_tests.tests;
  strictEqual(tests.length, 9);
  let steps = 0;
  let errors = 0;
  for (const t of tests) {
    const store = new ShachainStore();
    t.steps.forEach((step, i) => {
      steps++;
      const index = Number(step.index);
      const secret = fromHex(step.secret);
      if (step.expected === "OK") {
        store.insertSecret(secret, index);
        strictEqual(hexOf(store.lookup(index)), step.secret, `${t.name} step ${i}`);
      } else {
        errors++;
        strictEqual(i, t.error_at_step, t.name);
        const before = JSON.stringify(store.export());
        throws(
          () => store.insertSecret(secret, index),
          (e: Error) => e instanceof ShachainError && e.code === "not-chained",
          `${t.name} step ${i}`,
        );
        // A refused secret leaves the store as it was.
        strictEqual(JSON.stringify(store.export()), before);
        strictEqual(store.lookup(index), undefined);
      }
    });
    if (t.error_at_step === null) strictEqual(t.expected_result, "OK");
  }
  strictEqual(steps, 56);
  strictEqual(errors, 8);
});

Deno.test("commitment numbers and BOLT indices", () => {
  strictEqual(SHACHAIN_START_INDEX, 2 ** 48 - 1);
  strictEqual(commitmentNumberToIndex(0), 281474976710655);
  strictEqual(commitmentNumberToIndex(42), 281474976710613);
  strictEqual(indexToCommitmentNumber(281474976710613), 42);
  strictEqual(indexToCommitmentNumber(0), 2 ** 48 - 1);
  throws(() => commitmentNumberToIndex(2 ** 48), ShachainError);
  throws(() => commitmentNumberToIndex(-1), ShachainError);
  throws(() => indexToCommitmentNumber(1.5), ShachainError);
  strictEqual(slotOfIndex(SHACHAIN_START_INDEX), 0);
  strictEqual(slotOfIndex(SHACHAIN_START_INDEX - 1), 1);
  strictEqual(slotOfIndex(2 ** 47), 47);
  strictEqual(slotOfIndex(0), 48);
});

Deno.test("generateFromSeed refuses bad input without echoing it", () => {
  throws(
    () => generateFromSeed(new Uint8Array(31), 0),
    (e: Error) =>
      e instanceof ShachainError && e.code === "bad-secret" && !e.message.includes("00"),
  );
  throws(() => generateFromSeed(SEED_FF, 2 ** 48), ShachainError);
});

/** A store holding the first `n` secrets of seed FF..FF. */
function filled(n: number): ShachainStore {
  const store = new ShachainStore();
  for (let k = 0; k < n; k++) {
    const index = commitmentNumberToIndex(k);
    store.insertSecret(generateFromSeed(SEED_FF, index), index);
  }
  return store;
}

Deno.test("store: every received secret can be looked up, others cannot", () => {
  const store = filled(1000);
  strictEqual(store.lowestIndex, commitmentNumberToIndex(999));
  strictEqual(store.nextIndex, commitmentNumberToIndex(1000));
  for (let k = 0; k < 1000; k++) {
    const index = commitmentNumberToIndex(k);
    strictEqual(hexOf(store.lookup(index)), toHex(generateFromSeed(SEED_FF, index)));
  }
  strictEqual(store.lookup(commitmentNumberToIndex(1000)), undefined);
  strictEqual(store.lookup(0), undefined);
  // At most 49 slots are ever used (here 10 = popcount pattern of 1000 insertions).
  const entries = store.export().entries;
  strictEqual(entries.length <= 49, true);
  strictEqual(entries.length, 10);
});

Deno.test("store: order, duplicates and conflicts", () => {
  const store = filled(3);
  const next = must(store.nextIndex);
  // Skipping an index is refused.
  throws(
    () => store.insertSecret(generateFromSeed(SEED_FF, next - 1), next - 1),
    (e: Error) => e instanceof ShachainError && e.code === "out-of-order",
  );
  // Re-inserting a known secret is a no-op; a different one for a known index is a conflict.
  const known = commitmentNumberToIndex(1);
  store.insertSecret(generateFromSeed(SEED_FF, known), known);
  strictEqual(store.nextIndex, next);
  throws(
    () => store.insertSecret(new Uint8Array(32), known),
    (e: Error) => e instanceof ShachainError && e.code === "conflict",
  );
  // The first secret must be for index 2^48-1.
  throws(
    () => new ShachainStore().insertSecret(new Uint8Array(32), 5),
    (e: Error) => e instanceof ShachainError && e.code === "out-of-order",
  );
  throws(() => store.insertSecret(new Uint8Array(31), next), ShachainError);
});

Deno.test("store: export and import round trip", () => {
  const store = filled(77);
  const json = JSON.parse(JSON.stringify(store.export())) as ShachainStoreJson;
  const back = ShachainStore.import(json);
  deepStrictEqual(back.export(), store.export());
  strictEqual(back.nextIndex, store.nextIndex);
  for (let k = 0; k < 77; k++) {
    const index = commitmentNumberToIndex(k);
    strictEqual(hexOf(back.lookup(index)), toHex(generateFromSeed(SEED_FF, index)));
  }
  // The imported store keeps accepting the chain, and refuses a foreign secret.
  const index = must(back.nextIndex);
  throws(
    () => back.insertSecret(generateFromSeed(new Uint8Array(32), index), index),
    ShachainError,
  );
  back.insertSecret(generateFromSeed(SEED_FF, index), index);
  // Round trip at many fill levels (each leaves a different slot pattern).
  for (const n of [1, 2, 3, 4, 8, 9, 31, 64, 65, 129, 300]) {
    const s = filled(n);
    const again = ShachainStore.import(s.export());
    strictEqual(again.nextIndex, commitmentNumberToIndex(n), `n=${n}`);
    const probe = commitmentNumberToIndex(n - 1);
    strictEqual(hexOf(again.lookup(probe)), toHex(generateFromSeed(SEED_FF, probe)));
  }
  deepStrictEqual(ShachainStore.import({ version: 1, entries: [] }).export(), {
    version: 1,
    entries: [],
  });
});

Deno.test("store: import validates everything", () => {
  const good = filled(12).export();
  const bad = (json: unknown, what: string) =>
    throws(
      () => ShachainStore.import(json),
      (e: Error) => e instanceof ShachainError && e.code === "bad-import",
      what,
    );
  bad(null, "null");
  bad({ ...good, version: 2 }, "version");
  bad({ version: 1 }, "no entries");
  bad({ version: 1, entries: [{ index: "1", secret: good.entries[0].secret }] }, "index type");
  bad({ version: 1, entries: [{ ...good.entries[0], secret: "zz" }] }, "secret hex");
  bad({ version: 1, entries: [{ ...good.entries[0], index: 2 ** 48 }] }, "index range");
  // A missing slot: not what an in-order insertion leaves.
  bad({ version: 1, entries: good.entries.slice(1) }, "missing slot");
  // Two entries in one slot.
  bad({ version: 1, entries: [...good.entries, good.entries[0]] }, "duplicate slot");
  // A secret that does not chain (one bit flipped). Slot 0 holds index 2^48-11, which the later
  // secret 2^48-12 (slot 2) must derive.
  const tampered = good.entries.map((e) => ({ ...e }));
  strictEqual(tampered[0].index, SHACHAIN_START_INDEX - 10);
  strictEqual(tampered[1].index, SHACHAIN_START_INDEX - 9);
  strictEqual(tampered[2].index, SHACHAIN_START_INDEX - 11);
  const first = tampered[0];
  first.secret = (first.secret[0] === "0" ? "1" : "0") + first.secret.slice(1);
  bad({ version: 1, entries: tampered }, "not chained");
});

Deno.test("store never prints its secrets", () => {
  const store = filled(2);
  const secret = toHex(generateFromSeed(SEED_FF, SHACHAIN_START_INDEX));
  strictEqual(String(store).includes(secret), false);
  strictEqual(JSON.stringify(store).includes(secret), false);
  strictEqual(Deno.inspect(store).includes(secret), false);
  strictEqual(JSON.stringify(store.export()).includes(secret), true);
  store.zeroize();
  strictEqual(store.lookup(SHACHAIN_START_INDEX), undefined);
  strictEqual(store.nextIndex, SHACHAIN_START_INDEX);
});
