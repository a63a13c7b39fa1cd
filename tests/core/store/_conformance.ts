/**
 * The conformance suite every {@link Store} implementation must pass: version rules, batch
 * atomicity, listing by prefix, deletes (tombstones), exact round trips, input checks, isolation
 * from callers and behaviour once closed. Call {@link storeConformance} from an implementation's
 * test module with a factory for a fresh, empty store.
 *
 * @module
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  MAX_KEY_LENGTH,
  type Store,
  type StoreEntry,
  StoreError,
  VersionConflictError,
} from "../../../core/store/mod.ts";

/** A fresh, empty store and how to dispose of it (close it if still open, remove its files). */
export interface StoreFixture {
  /** The store under test. */
  store: Store;
  /** Closes the store if needed and removes whatever it left behind. */
  dispose(): Promise<void>;
}

/** Asserts that `promise` rejects with a {@link VersionConflictError} with these fields. */
export async function rejectsConflict(
  promise: Promise<unknown>,
  expected: { key: string; attempted: number; stored: number | undefined },
): Promise<void> {
  await rejects(promise, (e: unknown) => {
    ok(e instanceof VersionConflictError, `expected VersionConflictError, got ${e}`);
    strictEqual(e.name, "VersionConflictError");
    strictEqual(e.key, expected.key);
    strictEqual(e.attempted, expected.attempted);
    strictEqual(e.stored, expected.stored);
    ok(e.message.includes(expected.key), "the message names the key");
    return true;
  });
}

/** Asserts that `promise` rejects with a {@link StoreError} whose message matches `pattern`. */
export async function rejectsStoreError(
  promise: Promise<unknown>,
  pattern: RegExp,
): Promise<StoreError> {
  let caught: StoreError | undefined;
  await rejects(promise, (e: unknown) => {
    ok(e instanceof StoreError, `expected StoreError, got ${e}`);
    strictEqual(e.name, "StoreError");
    ok(pattern.test(e.message), `message ${JSON.stringify(e.message)} does not match ${pattern}`);
    caught = e;
    return true;
  });
  return caught as StoreError;
}

/** Every live entry of `store`, as `[key, value, version]` triples in list order. */
export async function dump(store: Store, prefix = ""): Promise<[string, string, number][]> {
  return (await store.list(prefix)).map((e) => [e.key, e.value, e.version]);
}

/** A JSON document of about `bytes` characters with varied content (escapes, unicode). */
export function bigDocument(bytes: number, seed = 1): string {
  const items: unknown[] = [];
  let n = 0;
  let i = 0;
  while (n < bytes) {
    const item = {
      i,
      seed,
      text: `line ${i} "quoted" \\ back\tslash é 😀 \u2028 ${"x".repeat(i % 50)}`,
      amount: (i * 7919) % 1000003,
    };
    n += JSON.stringify(item).length + 1;
    items.push(item);
    i++;
  }
  return JSON.stringify({ items });
}

/**
 * Registers the conformance tests for the store made by `makeFixture`, each named
 * `<label>: <case>`.
 */
export function storeConformance(label: string, makeFixture: () => Promise<StoreFixture>): void {
  const test = (name: string, body: (store: Store) => Promise<void>) =>
    Deno.test(`${label}: ${name}`, async () => {
      const fx = await makeFixture();
      try {
        await body(fx.store);
      } finally {
        await fx.dispose();
      }
    });

  test("a missing key reads as undefined and lists as nothing", async (s) => {
    strictEqual(await s.get("a"), undefined);
    deepStrictEqual(await s.list(""), []);
  });

  test("the first write must carry version 0", async (s) => {
    await rejectsConflict(s.put([{ key: "a", value: "1", version: 1 }]), {
      key: "a",
      attempted: 1,
      stored: undefined,
    });
    strictEqual(await s.get("a"), undefined);
    await s.put([{ key: "a", value: '{"n":1}', version: 0 }]);
    deepStrictEqual(await s.get("a"), { key: "a", value: '{"n":1}', version: 0 });
  });

  test("every later write carries exactly the stored version + 1", async (s) => {
    for (let v = 0; v <= 5; v++) await s.put([{ key: "k", value: `${v}`, version: v }]);
    deepStrictEqual(await s.get("k"), { key: "k", value: "5", version: 5 });
  });

  test("too low, same and too high versions are conflicts naming the key", async (s) => {
    for (let v = 0; v <= 2; v++) await s.put([{ key: "chan/1", value: `"v${v}"`, version: v }]);
    for (const attempted of [0, 1, 2, 4, 1000]) {
      await rejectsConflict(s.put([{ key: "chan/1", value: '"bad"', version: attempted }]), {
        key: "chan/1",
        attempted,
        stored: 2,
      });
    }
    deepStrictEqual(await s.get("chan/1"), { key: "chan/1", value: '"v2"', version: 2 });
  });

  test("a conflict message names the key but never the value", async (s) => {
    await s.put([{ key: "node/state", value: '"x"', version: 0 }]);
    await rejects(
      s.put([{ key: "node/state", value: '"SECRET-PREIMAGE-f00d"', version: 5 }]),
      (e: unknown) => {
        ok(e instanceof VersionConflictError);
        strictEqual(e.message, "version conflict on node/state: write carries 5, stored is 0");
        return true;
      },
    );
  });

  test("a batch with one bad write changes nothing", async (s) => {
    await s.put([
      { key: "acct/a", value: "100", version: 0 },
      { key: "acct/b", value: "0", version: 0 },
    ]);
    const before = await dump(s);
    // The bad write first, in the middle, and last.
    for (const badAt of [0, 1, 2]) {
      const writes = [
        { key: "acct/a", value: "60", version: 1 },
        { key: "acct/b", value: "40", version: 1 },
        { key: "acct/c", value: "new", version: 0 },
      ];
      writes[badAt] = { ...writes[badAt], version: writes[badAt].version + 3 };
      await rejectsConflict(s.put(writes), {
        key: writes[badAt].key,
        attempted: writes[badAt].version,
        stored: badAt === 2 ? undefined : 0,
      });
      deepStrictEqual(await dump(s), before);
    }
    // A delete in a refused batch is not applied either.
    await rejectsConflict(
      s.put([{ key: "acct/a", value: null, version: 1 }, {
        key: "acct/b",
        value: "1",
        version: 0,
      }]),
      { key: "acct/b", attempted: 0, stored: 0 },
    );
    deepStrictEqual(await dump(s), before);
    await s.put([
      { key: "acct/a", value: "60", version: 1 },
      { key: "acct/b", value: "40", version: 1 },
    ]);
    deepStrictEqual(await dump(s), [["acct/a", "60", 1], ["acct/b", "40", 1]]);
  });

  test("writes to one key in a batch apply in order", async (s) => {
    await s.put([
      { key: "k", value: "a", version: 0 },
      { key: "k", value: "b", version: 1 },
      { key: "k", value: "c", version: 2 },
    ]);
    deepStrictEqual(await s.get("k"), { key: "k", value: "c", version: 2 });
    await rejectsConflict(
      s.put([{ key: "k", value: "d", version: 3 }, { key: "k", value: "e", version: 3 }]),
      { key: "k", attempted: 3, stored: 3 },
    );
    deepStrictEqual(await s.get("k"), { key: "k", value: "c", version: 2 });
  });

  test("an empty batch is a no-op", async (s) => {
    await s.put([]);
    deepStrictEqual(await s.list(""), []);
  });

  test("list returns exactly the keys with the prefix, in key order", async (s) => {
    const keys = [
      "node/x",
      "channel/ab",
      "channelx",
      "channel",
      "channel/a",
      "chan",
      "channel/a/b",
      "channel/b",
      "channel0",
      "channel.",
    ];
    await s.put(keys.map((key, i) => ({ key, value: `${i}`, version: 0 })));
    const listed = async (p: string) => (await s.list(p)).map((e) => e.key);
    deepStrictEqual(await listed("channel/"), [
      "channel/a",
      "channel/a/b",
      "channel/ab",
      "channel/b",
    ]);
    deepStrictEqual(await listed("channel/a"), ["channel/a", "channel/a/b", "channel/ab"]);
    deepStrictEqual(await listed("channel/a/"), ["channel/a/b"]);
    deepStrictEqual(await listed("channel"), [
      "channel",
      "channel.",
      "channel/a",
      "channel/a/b",
      "channel/ab",
      "channel/b",
      "channel0",
      "channelx",
    ]);
    deepStrictEqual(await listed(""), [...keys].sort());
    deepStrictEqual(await listed("zzz"), []);
    deepStrictEqual(await listed("channel/a/b/"), []);
    deepStrictEqual(await listed("node/x"), ["node/x"]);
    // Values and versions come with the keys.
    deepStrictEqual(await s.list("node/"), [{ key: "node/x", value: "0", version: 0 }]);
  });

  test("list treats % _ * ? [ as plain characters", async (s) => {
    const keys = ["a%b", "a_b", "axb", "a*b", "a?b", "a[b]", "a\\b"];
    await s.put(keys.map((key) => ({ key, value: "1", version: 0 })));
    for (const p of ["a%", "a_", "a*", "a?", "a[", "a\\"]) {
      deepStrictEqual((await s.list(p)).map((e) => e.key), keys.filter((k) => k.startsWith(p)));
      strictEqual((await s.list(p)).length, 1);
    }
  });

  test("keys with unicode list in code point (UTF-8 byte) order", async (s) => {
    const keys = [
      "u/😀",
      "u/\uE000",
      "u/é",
      "u/a/b",
      "u/\u{10FFFF}",
      "u/\u{10FFFF}x",
      "u/\u{10FFFF}\u{10FFFF}",
      "u/\uFFFF",
      "u/\u{10000}",
      "v",
    ];
    await s.put(keys.map((key) => ({ key, value: JSON.stringify(key), version: 0 })));
    deepStrictEqual((await s.list("u/")).map((e) => e.key), [
      "u/a/b",
      "u/é",
      "u/\uE000",
      "u/\uFFFF",
      "u/\u{10000}",
      "u/😀",
      "u/\u{10FFFF}",
      "u/\u{10FFFF}x",
      "u/\u{10FFFF}\u{10FFFF}",
    ]);
    deepStrictEqual((await s.list("u/\u{10FFFF}")).map((e) => e.key), [
      "u/\u{10FFFF}",
      "u/\u{10FFFF}x",
      "u/\u{10FFFF}\u{10FFFF}",
    ]);
    deepStrictEqual((await s.list("u/\uD7FF")).map((e) => e.key), []);
    deepStrictEqual((await s.list("u/😀")).map((e) => e.key), ["u/😀"]);
    deepStrictEqual(await s.get("u/😀"), { key: "u/😀", value: '"u/😀"', version: 0 });
  });

  test("a delete needs version + 1, hides the key and keeps its version", async (s) => {
    await s.put([{ key: "channel/n/1", value: "{}", version: 0 }]);
    await s.put([{ key: "channel/n/1", value: '{"a":1}', version: 1 }]);
    await rejectsConflict(s.put([{ key: "channel/n/1", value: null, version: 1 }]), {
      key: "channel/n/1",
      attempted: 1,
      stored: 1,
    });
    await s.put([{ key: "channel/n/1", value: null, version: 2 }]);
    strictEqual(await s.get("channel/n/1"), undefined);
    deepStrictEqual(await s.list("channel/"), []);
    deepStrictEqual(await s.list(""), []);
    // Re-creating at version 0 is refused: the tombstone keeps version 2.
    await rejectsConflict(s.put([{ key: "channel/n/1", value: '{"new":1}', version: 0 }]), {
      key: "channel/n/1",
      attempted: 0,
      stored: 2,
    });
    await rejectsConflict(s.put([{ key: "channel/n/1", value: '{"old":1}', version: 2 }]), {
      key: "channel/n/1",
      attempted: 2,
      stored: 2,
    });
    strictEqual(await s.get("channel/n/1"), undefined);
    // Re-creation continues the version sequence.
    await s.put([{ key: "channel/n/1", value: '{"new":1}', version: 3 }]);
    deepStrictEqual(await s.get("channel/n/1"), {
      key: "channel/n/1",
      value: '{"new":1}',
      version: 3,
    });
    deepStrictEqual(await dump(s), [["channel/n/1", '{"new":1}', 3]]);
  });

  test("deleting a never-written key at version 0 leaves a tombstone", async (s) => {
    await s.put([{ key: "gone", value: null, version: 0 }]);
    strictEqual(await s.get("gone"), undefined);
    deepStrictEqual(await s.list(""), []);
    await rejectsConflict(s.put([{ key: "gone", value: "1", version: 0 }]), {
      key: "gone",
      attempted: 0,
      stored: 0,
    });
    await s.put([{ key: "gone", value: "1", version: 1 }]);
    deepStrictEqual(await s.get("gone"), { key: "gone", value: "1", version: 1 });
  });

  test("delete and re-create in one batch", async (s) => {
    await s.put([{ key: "k", value: "a", version: 0 }]);
    await s.put([{ key: "k", value: null, version: 1 }, { key: "k", value: "b", version: 2 }]);
    deepStrictEqual(await s.get("k"), { key: "k", value: "b", version: 2 });
  });

  test("values round trip exactly", async (s) => {
    const values = [
      "",
      "null",
      '"a"',
      " \t\n\r ",
      '{"a":"é😀\\u0000\u2028\u2029","b":[1,2.5e-7,-0,1e308]}',
      "\u{10FFFF}\uFFFD\uFEFF",
      "x".repeat(4096),
    ];
    await s.put(values.map((value, i) => ({ key: `v/${i}`, value, version: 0 })));
    for (let i = 0; i < values.length; i++) {
      deepStrictEqual(await s.get(`v/${i}`), { key: `v/${i}`, value: values[i], version: 0 });
    }
    deepStrictEqual((await s.list("v/")).map((e) => e.value), values);
  });

  test("a ~1 MB value round trips exactly, and a batch of three of them", async (s) => {
    const big = bigDocument(1_000_000);
    ok(big.length >= 1_000_000);
    await s.put([{ key: "big", value: big, version: 0 }]);
    const got = await s.get("big");
    strictEqual(got?.value, big);
    const batch = [1, 2, 3].map((n) => ({
      key: `big/${n}`,
      value: bigDocument(1_000_000, n),
      version: 0,
    }));
    await s.put(batch);
    deepStrictEqual(await s.list("big/"), batch);
  });

  test("the maximum key length is accepted, one more is refused", async (s) => {
    const key = "k".repeat(MAX_KEY_LENGTH);
    await s.put([{ key, value: "1", version: 0 }]);
    deepStrictEqual(await s.get(key), { key, value: "1", version: 0 });
    await rejectsStoreError(
      s.put([{ key: key + "k", value: "1", version: 0 }]),
      /^write 0: key is longer than 1024 characters$/,
    );
  });

  test("malformed writes are refused with StoreError and change nothing", async (s) => {
    await s.put([{ key: "ok", value: "1", version: 0 }]);
    const before = await dump(s);
    const good = { key: "new", value: "1", version: 0 };
    const cases: [unknown, RegExp][] = [
      [{ key: "", value: "1", version: 0 }, /^write 1: key must not be empty$/],
      [{ key: 5, value: "1", version: 0 }, /^write 1: key must be a string$/],
      [{ key: "a\0b", value: "1", version: 0 }, /^write 1: key contains a NUL character$/],
      [{ key: "a\uD800", value: "1", version: 0 }, /^write 1: key is not well-formed/],
      [{ key: "a", value: "x\0y", version: 0 }, /^write 1: value contains a NUL character$/],
      [{ key: "a", value: "\uDC00", version: 0 }, /^write 1: value is not well-formed/],
      [{ key: "a", value: 5, version: 0 }, /^write 1: value must be a string or null$/],
      [{ key: "a", value: undefined, version: 0 }, /^write 1: value must be a string or null$/],
      [{ key: "a", value: "1", version: -1 }, /^write 1: version must be a non-negative safe/],
      [{ key: "a", value: "1", version: 1.5 }, /^write 1: version must be a non-negative safe/],
      [{ key: "a", value: "1", version: NaN }, /^write 1: version must be a non-negative safe/],
      [{ key: "a", value: "1", version: 2 ** 53 }, /^write 1: version must be a non-negative/],
      [{ key: "a", value: "1", version: "0" }, /^write 1: version must be a non-negative safe/],
      [{ key: "a", value: "1", version: 0n }, /^write 1: version must be a non-negative safe/],
      [null, /^write 1 is not an object$/],
    ];
    for (const [bad, pattern] of cases) {
      await rejectsStoreError(s.put([good, bad] as never), pattern);
    }
    await rejectsStoreError(s.put("nope" as never), /^a batch must be an array of writes$/);
    deepStrictEqual(await dump(s), before);
  });

  test("malformed keys and prefixes are refused by get and list", async (s) => {
    await rejectsStoreError(s.get(""), /^key must not be empty$/);
    await rejectsStoreError(s.get("a\0"), /^key contains a NUL character$/);
    await rejectsStoreError(s.get(7 as never), /^key must be a string$/);
    await rejectsStoreError(s.list("\uD800"), /^prefix is not well-formed/);
    await rejectsStoreError(s.list("p\0"), /^prefix contains a NUL character$/);
    await rejectsStoreError(s.list(undefined as never), /^prefix must be a string$/);
  });

  test("callers cannot mutate stored data", async (s) => {
    const writes = [{ key: "k", value: "orig", version: 0 }];
    const pending = s.put(writes);
    writes[0].value = "changed";
    writes[0].key = "other";
    await pending;
    deepStrictEqual(await s.get("k"), { key: "k", value: "orig", version: 0 });
    strictEqual(await s.get("other"), undefined);
    const got = (await s.get("k")) as StoreEntry;
    got.value = "mutated";
    got.version = 9;
    const listed = await s.list("");
    listed[0].value = "mutated";
    listed.push({ key: "z", value: "z", version: 0 });
    deepStrictEqual(await s.get("k"), { key: "k", value: "orig", version: 0 });
    deepStrictEqual(await dump(s), [["k", "orig", 0]]);
  });

  test("errors arrive as rejections, not synchronous throws", async (s) => {
    let p: Promise<unknown> | undefined;
    p = s.get("");
    ok(p instanceof Promise);
    await rejects(p, StoreError);
    p = s.put([{ key: "", value: "", version: 0 }]);
    await rejects(p, StoreError);
    p = s.list(1 as never);
    await rejects(p, StoreError);
  });

  test("a closed store rejects every operation with StoreError", async (s) => {
    await s.put([{ key: "k", value: "1", version: 0 }]);
    await s.close();
    await rejectsStoreError(s.get("k"), /^store is closed$/);
    await rejectsStoreError(s.list(""), /^store is closed$/);
    await rejectsStoreError(s.put([{ key: "k", value: "2", version: 1 }]), /^store is closed$/);
    await s.close(); // idempotent
  });
}
