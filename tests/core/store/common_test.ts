import { deepStrictEqual, notStrictEqual, rejects, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { compare } from "../../../core/bytes.ts";
import {
  checkKey,
  checkPrefix,
  checkWrites,
  compareKeys,
  MAX_KEY_LENGTH,
  prefixUpperBound,
  settle,
} from "../../../core/store/_common.ts";
import { StoreError } from "../../../core/store/types.ts";

const utf8 = new TextEncoder();
// Characters around the boundaries that matter (surrogate range, BMP end, last code point), mixed
// with arbitrary code points.
const edge = fc.constantFrom(
  "a",
  "b",
  "/",
  "é",
  "\uD7FF",
  "\uE000",
  "\uFFFF",
  "\u{10000}",
  "\u{10FFFF}",
);
const unit = fc.oneof(edge, fc.string({ unit: "binary", minLength: 1, maxLength: 1 }));
const text = fc.string({ unit, maxLength: 6 });

Deno.test("compareKeys orders by UTF-8 bytes (code points), not UTF-16 units", () => {
  strictEqual(compareKeys("\uE000", "😀"), -1); // JavaScript's < says the opposite
  strictEqual("\uE000" < "😀", false);
  strictEqual(compareKeys("😀", "\uFFFF"), 1);
  strictEqual(compareKeys("a", "ab"), -1);
  strictEqual(compareKeys("ab", "ab"), 0);
  fc.assert(
    fc.property(text, text, (a, b) => {
      strictEqual(Math.sign(compareKeys(a, b)), Math.sign(compare(utf8.encode(a), utf8.encode(b))));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("prefixUpperBound: keys with the prefix are exactly [prefix, upper)", () => {
  strictEqual(prefixUpperBound(""), undefined);
  strictEqual(prefixUpperBound("\u{10FFFF}\u{10FFFF}"), undefined);
  strictEqual(prefixUpperBound("ab"), "ac");
  strictEqual(prefixUpperBound("a/"), "a0");
  strictEqual(prefixUpperBound("a\uD7FF"), "a\uE000");
  strictEqual(prefixUpperBound("a\u{10FFFF}"), "b");
  strictEqual(prefixUpperBound("😀"), "😁");
  strictEqual(prefixUpperBound("\uFFFF"), "\u{10000}");
  const within = (key: string, prefix: string) => {
    const upper = prefixUpperBound(prefix);
    return compareKeys(key, prefix) >= 0 && (upper === undefined || compareKeys(key, upper) < 0);
  };
  fc.assert(
    fc.property(text, text, fc.nat(2), (p, rest, how) => {
      // A key extending the prefix, an unrelated key, or one sharing all but the last character.
      const key = how === 0 ? p + rest : how === 1 ? rest : [...p].slice(0, -1).join("") + rest;
      strictEqual(within(key, p), key.startsWith(p));
      const upper = prefixUpperBound(p);
      if (upper !== undefined) strictEqual(upper.isWellFormed(), true);
    }),
    { numRuns: 2000 },
  );
});

/** Asserts that `f` throws a {@link StoreError} with exactly `message`. */
function throwsStoreError(f: () => unknown, message: string): void {
  throws(f, (e) => {
    strictEqual(e instanceof StoreError, true, String(e));
    strictEqual((e as StoreError).name, "StoreError");
    strictEqual((e as StoreError).message, message);
    return true;
  });
}

Deno.test("checkKey: non-empty, at most MAX_KEY_LENGTH UTF-16 units, well-formed, no NUL", () => {
  strictEqual(MAX_KEY_LENGTH, 1024);
  checkKey("channel/0a1b");
  checkKey("k".repeat(MAX_KEY_LENGTH));
  checkKey("😀".repeat(MAX_KEY_LENGTH / 2)); // two units each: exactly the limit
  throwsStoreError(
    () => checkKey("😀".repeat(MAX_KEY_LENGTH / 2) + "k"),
    "key is longer than 1024 characters",
  );
  throwsStoreError(
    () => checkKey("k".repeat(MAX_KEY_LENGTH + 1)),
    "key is longer than 1024 characters",
  );
  throwsStoreError(() => checkKey(""), "key must not be empty");
  throwsStoreError(() => checkKey(undefined), "key must be a string");
  throwsStoreError(() => checkKey(new String("k")), "key must be a string");
  throwsStoreError(() => checkKey("a\uDC00b"), "key is not well-formed UTF-16 (lone surrogate)");
  throwsStoreError(() => checkKey("a\uD800"), "key is not well-formed UTF-16 (lone surrogate)");
  throwsStoreError(() => checkKey("a\0b"), "key contains a NUL character");
  // The caller names the key; the message never quotes it.
  throwsStoreError(
    () => checkKey("seed-0123\0", "write 4: key"),
    "write 4: key contains a NUL character",
  );
});

Deno.test("checkPrefix: may be empty; otherwise the key rules, named 'prefix'", () => {
  checkPrefix("");
  checkPrefix("channel/");
  checkPrefix("p".repeat(MAX_KEY_LENGTH));
  throwsStoreError(
    () => checkPrefix("p".repeat(MAX_KEY_LENGTH + 1)),
    "prefix is longer than 1024 characters",
  );
  throwsStoreError(() => checkPrefix(null), "prefix must be a string");
  throwsStoreError(
    () => checkPrefix("\uD83D"),
    "prefix is not well-formed UTF-16 (lone surrogate)",
  );
  throwsStoreError(() => checkPrefix("p\0"), "prefix contains a NUL character");
});

Deno.test("checkWrites: a private copy of a valid batch, deletes as null", () => {
  deepStrictEqual(checkWrites([]), []);
  const writes: { key: string; value: string | null; version: number; extra?: string }[] = [
    { key: "a", value: "{}", version: 0, extra: "dropped" },
    { key: "b", value: null, version: Number.MAX_SAFE_INTEGER },
  ];
  const copy = checkWrites(writes);
  deepStrictEqual(copy, [
    { key: "a", value: "{}", version: 0 },
    { key: "b", value: null, version: Number.MAX_SAFE_INTEGER },
  ]);
  notStrictEqual(copy, writes);
  notStrictEqual(copy[0], writes[0]);
  writes[0].value = "changed";
  writes.push({ key: "c", value: "", version: 0 });
  deepStrictEqual(copy.map((w) => w.value), ["{}", null]);
});

Deno.test("checkWrites: refusals name the write's index, never its key or value", () => {
  throwsStoreError(() => checkWrites({ length: 0 }), "a batch must be an array of writes");
  throwsStoreError(
    () => checkWrites([{ key: "a", value: "", version: 0 }, "w"]),
    "write 1 is not an object",
  );
  throwsStoreError(() => checkWrites([null]), "write 0 is not an object");
  throwsStoreError(() => checkWrites([{ value: "", version: 0 }]), "write 0: key must be a string");
  throwsStoreError(
    () => checkWrites([{ key: "a", version: 0 }]),
    "write 0: value must be a string or null",
  );
  throwsStoreError(
    () => checkWrites([{ key: "a", value: "seed=ab\0", version: 0 }]),
    "write 0: value contains a NUL character",
  );
  throwsStoreError(
    () => checkWrites([{ key: "a", value: "\uDFFF", version: 0 }]),
    "write 0: value is not well-formed UTF-16 (lone surrogate)",
  );
  for (const version of [-1, 0.5, 2 ** 53, NaN, Infinity, "0", 0n, undefined]) {
    throwsStoreError(
      () => checkWrites([{ key: "a", value: "", version }]),
      "write 0: version must be a non-negative safe integer",
    );
  }
});

Deno.test("settle: results resolve, synchronous throws become rejections", async () => {
  strictEqual(await settle(() => 7), 7);
  strictEqual(await settle(() => Promise.resolve("later")), "later");
  let thrown = false;
  let p: Promise<never> | undefined;
  try {
    p = settle(() => {
      throw new StoreError("store is closed");
    });
  } catch {
    thrown = true;
  }
  strictEqual(thrown, false);
  await rejects(p as Promise<never>, { name: "StoreError", message: "store is closed" });
});
