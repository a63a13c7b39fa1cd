import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import type { Expr, PolicyFile, RuleDecl, Span } from "../../policy/ast.ts";
import { PolicyError } from "../../policy/diagnostics.ts";
import { LineIndex, parse, scanComments } from "../../policy/parser.ts";
import { sx } from "./fixtures/sexpr.ts";

const HEAD = 'policy "t" version 1\n';

function condition(text: string): Expr {
  const file = parse(`${HEAD}rule r "d" on k require ${text}\n`, { file: "t.policy" });
  const rule = file.items[0] as RuleDecl;
  const body = rule.clauses[0].body;
  if (body.type !== "Require") throw new Error("not a require");
  return body.condition;
}

function text(file: PolicyFile, span: Span): string {
  return file.source.slice(span.start, span.end);
}

function syntaxError(source: string): string {
  try {
    parse(source, { file: "t.policy" });
  } catch (e) {
    if (e instanceof PolicyError) return e.message;
    throw e;
  }
  throw new Error("parsed");
}

const README_EXAMPLE = `policy "default" version 1

param max_feerate_per_kw "Highest feerate we sign." = 25_000 per-kw
  on test = 333_333 per-kw

rule policy-commitment-fee-range
  "The commitment feerate is within the configured range."
  on sign_counterparty_commitment, validate_holder_commitment
  require commitment.feerate_per_kw between param.min_feerate_per_kw and param.max_feerate_per_kw
  example allow "typical" { commitment.feerate_per_kw: 2_500 per-kw }
  example refuse "too high" { commitment.feerate_per_kw: 26_000 per-kw }

rule policy-commitment-payment-velocity
  "Payments we send are limited per day."
  on preapprove_invoice, preapprove_keysend
  limit sum payment.amount_msat over 24h <= param.max_payments_msat_per_day

filter policy-commitment-htlc-routing-balance warn
`;

Deno.test("parser: the README's example file, item by item with spans", () => {
  const file = parse(README_EXAMPLE, { file: "default.policy" });
  strictEqual(file.name.value, "default");
  strictEqual(file.version.value, 1n);
  deepStrictEqual(file.items.map((i) => i.type), ["Param", "Rule", "Rule", "Filter"]);
  deepStrictEqual(file.span, {
    file: "default.policy",
    start: 0,
    end: README_EXAMPLE.length,
    line: 1,
    column: 1,
  });

  const param = file.items[0];
  if (param.type !== "Param") throw new Error("param");
  strictEqual(param.name.text, "max_feerate_per_kw");
  deepStrictEqual(param.name.span, {
    file: "default.policy",
    start: 34,
    end: 52,
    line: 3,
    column: 7,
  });
  strictEqual(param.description?.value, "Highest feerate we sign.");
  strictEqual(text(file, (param.value as Expr).span), "25_000 per-kw");
  deepStrictEqual(param.value, {
    type: "Int",
    value: 25_000n,
    unit: "per-kw",
    text: "25_000 per-kw",
    span: { file: "default.policy", start: 82, end: 95, line: 3, column: 55 },
  });
  strictEqual(param.networks.length, 1);
  deepStrictEqual(param.networks[0].networks.map((n) => n.text), ["test"]);
  strictEqual(text(file, param.networks[0].span), "on test = 333_333 per-kw");
  strictEqual(
    text(file, param.span),
    'param max_feerate_per_kw "Highest feerate we sign." = 25_000 per-kw\n  on test = 333_333 per-kw',
  );

  const rule = file.items[1] as RuleDecl;
  strictEqual(rule.id.text, "policy-commitment-fee-range");
  deepStrictEqual([rule.id.span.line, rule.id.span.column], [6, 6]);
  deepStrictEqual(rule.modifiers, []);
  deepStrictEqual(rule.aliases, []);
  strictEqual(rule.description.value, "The commitment feerate is within the configured range.");
  strictEqual(rule.clauses.length, 1);
  const clause = rule.clauses[0];
  deepStrictEqual(clause.kinds.map((k) => [k.text, k.span.line, k.span.column]), [
    ["sign_counterparty_commitment", 8, 6],
    ["validate_holder_commitment", 8, 36],
  ]);
  strictEqual(clause.guard, undefined);
  strictEqual(clause.body.type, "Require");
  strictEqual(
    text(file, clause.span),
    "on sign_counterparty_commitment, validate_holder_commitment\n  require commitment.feerate_per_kw between param.min_feerate_per_kw and param.max_feerate_per_kw",
  );
  strictEqual(rule.examples.length, 2);
  const [allow, refuse] = rule.examples;
  strictEqual(allow.expect, "allow");
  strictEqual(allow.name?.value, "typical");
  strictEqual(allow.kind, undefined);
  strictEqual(sx(allow.facts), "{commitment.feerate_per_kw:2500per-kw}");
  deepStrictEqual(allow.facts.entries[0].keySpan, {
    file: "default.policy",
    start: 404,
    end: 429,
    line: 10,
    column: 29,
  });
  strictEqual(text(file, allow.facts.entries[0].keySpan), "commitment.feerate_per_kw");
  strictEqual(refuse.expect, "refuse");
  strictEqual(
    text(file, refuse.span),
    'example refuse "too high" { commitment.feerate_per_kw: 26_000 per-kw }',
  );

  const velocity = file.items[2] as RuleDecl;
  const limit = velocity.clauses[0].body;
  if (limit.type !== "Limit") throw new Error("limit");
  strictEqual(sx(limit.amount), "payment.amount_msat");
  deepStrictEqual([limit.window.value, limit.window.unit, limit.window.text], [
    86_400n,
    "seconds",
    "24h",
  ]);
  strictEqual(sx(limit.cap), "param.max_payments_msat_per_day");
  strictEqual(
    text(file, limit.span),
    "limit sum payment.amount_msat over 24h <= param.max_payments_msat_per_day",
  );

  const filter = file.items[3];
  if (filter.type !== "Filter") throw new Error("filter");
  deepStrictEqual([filter.pattern.text, filter.action], [
    "policy-commitment-htlc-routing-balance",
    "warn",
  ]);
  deepStrictEqual([filter.span.line, filter.span.column, filter.pattern.span.column], [18, 1, 8]);
});

Deno.test("parser: rules with modifiers, aliases, several clauses, guards and example options", () => {
  const source = `${HEAD}include "../default.policy"
rule r-1 mandatory temporary alias r-one alias r-uno
  "Folded
     description."
  on a, b when x.ready require x.ok
  on c limit sum x.amount over 7d <= 5 sat
  example refuse "n" on c { x.amount: 6 sat, y: { z: [1, 2] } } with wallet [0x00AB] network regtest
    history [{ at: -2h, amount: 1 sat }]
  example allow {}
param p on regtest, signet = 5
filter r-* error
`;
  const file = parse(source, { file: "site.policy" });
  const include = file.items[0];
  if (include.type !== "Include") throw new Error("include");
  strictEqual(include.path.value, "../default.policy");
  const rule = file.items[1] as RuleDecl;
  deepStrictEqual(rule.modifiers.map((m) => m.text), ["mandatory", "temporary"]);
  deepStrictEqual(rule.aliases.map((a) => a.text), ["r-one", "r-uno"]);
  strictEqual(rule.description.value, "Folded description.");
  strictEqual(rule.clauses.length, 2);
  strictEqual(sx(rule.clauses[0].guard as Expr), "x.ready");
  deepStrictEqual(rule.clauses[1].kinds.map((k) => k.text), ["c"]);
  const limit = rule.clauses[1].body;
  if (limit.type !== "Limit") throw new Error("limit");
  strictEqual(limit.window.value, 7n * 86_400n);
  const example = rule.examples[0];
  strictEqual(example.kind?.text, "c");
  strictEqual(sx(example.facts), "{x.amount:6sat y:{z.:[1 2]}}".replace("z.:", "z:"));
  deepStrictEqual(example.sets.map((s) => [s.name.text, sx(s.members)]), [["wallet", "[0x00ab]"]]);
  strictEqual(example.network?.text, "regtest");
  strictEqual(sx(example.history as Expr), "[{at:(neg 7200seconds) amount:1sat}]");
  strictEqual(rule.examples[1].facts.entries.length, 0);
  const param = file.items[2];
  if (param.type !== "Param") throw new Error("param");
  strictEqual(param.value, undefined);
  deepStrictEqual(param.networks[0].networks.map((n) => n.text), ["regtest", "signet"]);
  const filter = file.items[3];
  if (filter.type !== "Filter") throw new Error("filter");
  strictEqual(filter.pattern.text, "r-*");
});

Deno.test("parser: precedence, lowest first: implies, or, and, not, comparison, +, *, unary", () => {
  const cases: [string, string][] = [
    ["a implies b implies c", "(implies a (implies b c))"],
    ["a or b and c", "(or a (and b c))"],
    ["a and b or c", "(or (and a b) c)"],
    ["not a and b", "(and (not a) b)"],
    ["not a == b", "(not (== a b))"],
    ["a + b * c == d - e / f", "(== (+ a (* b c)) (- d (/ e f)))"],
    ["a - b - c", "(- (- a b) c)"],
    ["-a * b", "(* (neg a) b)"],
    ["- -a", "(neg (neg a))"],
    ["a between b + 1 and c and d", "(and (between a (+ b 1) c) d)"],
    ["x in [1, 2,] or x not in wallet", "(or (in x [1 2]) (not-in x wallet))"],
    ["not x in p.l", "(not (in x p.l))"],
    ["(a or b) and c", "(and (or a b) c)"],
    ["a implies b or c and not d", "(implies a (or b (and c (not d))))"],
  ];
  for (const [source, expected] of cases) strictEqual(sx(condition(source)), expected, source);
});

Deno.test("parser: quantifier and if bodies extend as far right as possible", () => {
  const cases: [string, string][] = [
    ["all h in c.htlcs: h.a > 0 and h.b", "(all h c.htlcs (and (> h.a 0) h.b))"],
    ["x and any h in l: h.ok or y", "(and x (any h l (or h.ok y)))"],
    ["(all h in l: h.ok) and y", "(and (all h l h.ok) y)"],
    ["a == (if c then 1 else 0)", "(== a (if c 1 0))"],
    ["a >= if c then 1 sat else 2 sat + 3 sat", "(>= a (if c 1sat (+ 2sat 3sat)))"],
    ["count(l) == count(h in l: h.ok)", "(== (count l) (count h l h.ok))"],
    ["sum(h in c.htlcs: h.amount_sat) <= 5 sat", "(<= (sum h c.htlcs h.amount_sat) 5sat)"],
    [
      "min(a, b) < max(msat(c), sat(d)) + len(e)",
      "(< (min a b) (+ (max (msat c) (sat d)) (len e)))",
    ],
    ["x in (if c then [1] else [2])", "(in x (if c [1] [2]))"],
  ];
  for (const [source, expected] of cases) strictEqual(sx(condition(source)), expected, source);
});

Deno.test("parser: literals: integers, units, durations, bytes, strings, booleans", () => {
  strictEqual(sx(condition("x == 25_000")), "(== x 25000)");
  for (
    const [lit, value, unit] of [
      ["1_000 sat", 1000n, "sat"],
      ["5 msat", 5n, "msat"],
      ["144 blocks", 144n, "blocks"],
      ["60 seconds", 60n, "seconds"],
      ["253 per-kw", 253n, "per-kw"],
      ["30s", 30n, "seconds"],
      ["5m", 300n, "seconds"],
      ["24h", 86_400n, "seconds"],
      ["7d", 604_800n, "seconds"],
    ] as const
  ) {
    const e = condition(`x == ${lit}`);
    if (e.type !== "Binary" || e.right.type !== "Int") throw new Error(lit);
    deepStrictEqual([e.right.value, e.right.unit, e.right.text], [value, unit, lit]);
  }
  strictEqual(sx(condition("x == 0x00FFab")), "(== x 0x00ffab)");
  strictEqual(
    sx(condition('x == "a \\"q\\" \\\\ #not a comment"')),
    '(== x "a \\"q\\" \\\\ #not a comment")',
  );
  strictEqual(sx(condition("x == true or x == false")), "(or (== x true) (== x false))");
  strictEqual(sx(condition("a.sum == b.in")), "(== a.sum b.in)");
  strictEqual(sx(condition("android and notable")), "(and android notable)");
});

Deno.test("parser: comments are skipped by the grammar and kept with spans", () => {
  const source = `${HEAD}# leading
rule r "d # not a comment" // trailing
  on k require x # end
`;
  const file = parse(source, { file: "c.policy" });
  deepStrictEqual(file.comments, [
    {
      text: "# leading",
      span: { file: "c.policy", start: 21, end: 30, line: 2, column: 1 },
      trailing: false,
    },
    {
      text: "// trailing",
      span: { file: "c.policy", start: 58, end: 69, line: 3, column: 28 },
      trailing: true,
    },
    {
      text: "# end",
      span: { file: "c.policy", start: 87, end: 92, line: 4, column: 18 },
      trailing: true,
    },
  ]);
  strictEqual((file.items[0] as RuleDecl).description.value, "d # not a comment");
  deepStrictEqual(scanComments('a "x\\"#" # c', "f").map((c) => c.text), ["# c"]);
});

Deno.test("parser: syntax errors are located, with a hint for a misspelt keyword", () => {
  strictEqual(
    syntaxError(`${HEAD}rule a "d" on k requrie x`),
    't.policy:2:17: error: syntax error: expected "limit", "require", "when", or ",", found "requrie" (hint: did you mean "require"?)',
  );
  strictEqual(
    syntaxError(`${HEAD}rule a "d" on k require x ==`),
    "t.policy:2:29: error: syntax error: expected an expression, found the end of the file",
  );
  strictEqual(
    syntaxError(`${HEAD}rul a "d"`),
    't.policy:2:1: error: syntax error: expected end of input, "filter", "rule", "param", or "include", found "rul" (hint: did you mean "rule"?)',
  );
  strictEqual(
    syntaxError('policy "x"'),
    't.policy:1:11: error: syntax error: expected "version", found the end of the file',
  );
  strictEqual(
    syntaxError(`${HEAD}rule a "d" on k require x < y < z`),
    't.policy:2:31: error: syntax error: expected end of input, "filter", "rule", "param", "include", "example", "on", "-", "+", "/", "*", "and", "implies", or "or", found "<"',
  );
  strictEqual(
    syntaxError(`${HEAD}rule a "d" on k require x == 0x123`),
    "t.policy:2:30: error: hex bytes need an even number of digits (got 3)",
  );
  strictEqual(
    syntaxError(`${HEAD}rule a "d\\q" on k require x`),
    't.policy:2:10: error: unknown escape "\\q" in a string (hint: write \\" or \\\\)',
  );
  throws(() => parse("", { file: "e.policy" }), { name: "PolicyError" });
});

Deno.test("LineIndex maps offsets to 1-based lines and columns", () => {
  const index = new LineIndex("ab\ncd\n\nx");
  deepStrictEqual([0, 1, 2, 3, 5, 6, 7].map((o) => index.position(o)), [
    { line: 1, column: 1 },
    { line: 1, column: 2 },
    { line: 1, column: 3 },
    { line: 2, column: 1 },
    { line: 2, column: 3 },
    { line: 3, column: 1 },
    { line: 4, column: 1 },
  ]);
});
