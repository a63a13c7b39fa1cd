import { deepStrictEqual, strictEqual } from "node:assert/strict";
import type { Expr, ObjectLit, ParamDecl } from "../../policy/ast.ts";
import { Diagnostics, formatDiagnostic } from "../../policy/diagnostics.ts";
import { constant, exampleObject, exampleValue } from "../../policy/literals.ts";
import { parse } from "../../policy/parser.ts";
import { BYTES, intOf, typeName } from "../../policy/units.ts";
import { testRegistry } from "./fixtures/registry.ts";

function value(text: string): Expr {
  const param = parse(`policy "t" version 1\nparam p = ${text}\n`, { file: "t" })
    .items[0] as ParamDecl;
  return param.value as Expr;
}

function facts(text: string): ObjectLit {
  const file = parse(`policy "t" version 1\nrule r "d" on k require true example allow ${text}\n`, {
    file: "t",
  });
  const rule = file.items[0];
  if (rule.type !== "Rule") throw new Error("rule");
  return rule.examples[0].facts;
}

Deno.test("literals: constants and their types", () => {
  const d = new Diagnostics();
  const typed = (text: string) => {
    const c = constant(value(text), d);
    return c === undefined ? undefined : [typeName(c.type), c.value];
  };
  deepStrictEqual(typed("25_000 per-kw"), ["per-kw", 25_000n]);
  deepStrictEqual(typed("-5 sat"), ["sat", -5n]);
  deepStrictEqual(typed("24h"), ["seconds", 86_400n]);
  deepStrictEqual(typed("0xABcd"), ["bytes", "abcd"]);
  deepStrictEqual(typed('["a", "b"]'), ["list of string", ["a", "b"]]);
  deepStrictEqual(typed("[]"), ["empty list", []]);
  deepStrictEqual(typed("true"), ["bool", true]);
  strictEqual(d.count, 0);
  strictEqual(typed("param.x"), undefined);
  strictEqual(typed("[[1]]"), undefined);
  deepStrictEqual(d.sorted().map(formatDiagnostic), [
    "t:2:11: error: a value here is a literal: a number with its unit, true or false, a string, hex bytes, or a list of them",
    "t:2:12: error: list elements are numbers, booleans, strings or bytes",
  ]);
});

Deno.test("literals: example facts become the values the core would supply", () => {
  const d = new Diagnostics();
  const type = testRegistry().kind("sign_counterparty_commitment")?.type;
  if (type === undefined) throw new Error("kind");
  const built = exampleObject(
    facts(
      "{ commitment.fee_sat: 5 sat, commitment: { number: 2, htlcs: [{ payment_hash: 0xAB }] }, channel.closed: false }",
    ),
    type,
    "",
    d,
  );
  strictEqual(d.count, 0);
  deepStrictEqual(built, {
    commitment: { fee_sat: 5n, number: 2n, htlcs: [{ payment_hash: "ab" }] },
    channel: { closed: false },
  });
  strictEqual(exampleValue(value("5 msat"), intOf("msat"), "x", d), 5n);
  strictEqual(exampleValue(value("5 msat"), BYTES, "x", d), undefined);
  deepStrictEqual(d.sorted().map(formatDiagnostic), [
    't:2:11: error: example fact "x" is bytes, not msat',
  ]);
});

Deno.test("literals: dotted and nested example keys merge; a fact given twice is an error", () => {
  const d = new Diagnostics();
  const type = testRegistry().kind("sign_counterparty_commitment")?.type;
  if (type === undefined) throw new Error("kind");
  exampleObject(facts("{ commitment: { number: 1 }, commitment.number: 2 }"), type, "", d);
  exampleObject(
    facts("{ commitment.tx.version: 1, commitment: { tx: { version: 2 } } }"),
    type,
    "",
    d,
  );
  deepStrictEqual(d.sorted().map(formatDiagnostic), [
    't:2:72: error: example fact "commitment.tx.version" is given twice',
    't:2:73: error: example fact "commitment.number" is given twice',
  ]);
});
