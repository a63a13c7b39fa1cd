import { strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { compare } from "../../../core/bytes.ts";
import { compareKeys, prefixUpperBound } from "../../../core/store/_common.ts";

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
