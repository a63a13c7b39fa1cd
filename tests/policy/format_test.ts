/**
 * The canonical formatter: exact output for a messy file (comments in every kind of place),
 * idempotence and tree preservation on every fixture and on generated policies (fast-check: random
 * expressions, items, whitespace and comments between tokens), literal spelling, wrapping.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { fileURLToPath } from "node:url";
import {
  FORMAT_WIDTH,
  formatExpr,
  formatFile,
  formatPolicy,
  intText,
  quoteString,
  stripLocations,
} from "../../policy/format.ts";
import { parse } from "../../policy/parser.ts";
import { PolicyError } from "../../policy/diagnostics.ts";
import type { Expr, RuleDecl } from "../../policy/ast.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** fmt(x) is a fixed point, parses to the same tree, and keeps every comment. */
function assertCanonical(source: string, file = "x.policy"): string {
  const once = formatPolicy(source, { file });
  const before = parse(source, { file });
  const after = parse(once, { file });
  strictEqual(formatFile(after), once, "fmt(fmt(x)) == fmt(x)");
  deepStrictEqual(
    stripLocations(after),
    stripLocations(before),
    "parse(fmt(x)) == parse(x) modulo locations",
  );
  deepStrictEqual(
    after.comments.map((c) => c.text.trimEnd()).sort(),
    before.comments.map((c) => c.text.trimEnd()).sort(),
  );
  return once;
}

const MESSY = `# header comment

# second
policy   "messy"    version 3 # trailing on header
include "a.policy"
param  x  "An x." =   25_000   per-kw # the x
  on  test=5 per-kw  # cheaper on test
  # about regtest
  on regtest = 7 per-kw
param y = [ "a",  # first
  "b" ]
# leads rule r
rule r-one   mandatory  alias r-uno
  "A rule  with double  spaces and \\"quotes\\" and \\\\ backslashes"   # trailing desc
  on sign_counterparty_commitment   # kinds
  # before when
  when a.b == 1 # guard
  require a.c   # first operand
    and  a.d  >=  # inside compare
      5
    # own line before third
    or not a.e
  example allow "x" { a.b: 1, # one
     a.c: true }   network regtest   # net
    # before history
    history [ ]
  # last comment in rule, indented

filter r-* warn // slash comment
# final comment
`;

const MESSY_FORMATTED = `# header comment

# second
policy "messy" version 3  # trailing on header

include "a.policy"
param x "An x." = 25_000 per-kw  # the x
  on test = 5 per-kw  # cheaper on test
  # about regtest
  on regtest = 7 per-kw
param y = [
  "a",  # first
  "b",
]

# leads rule r
rule r-one mandatory alias r-uno
  "A rule  with double  spaces and \\"quotes\\" and \\\\ backslashes"  # trailing desc
  on sign_counterparty_commitment  # kinds
  # before when
  when a.b == 1  # guard
  require a.c  # first operand
          and a.d  # inside compare
              >= 5
          # own line before third
          or not a.e
  example allow "x" {
    a.b: 1,  # one
    a.c: true,
  }
    network regtest  # net
    # before history
    history []
  # last comment in rule, indented

filter r-* warn  // slash comment
# final comment
`;

Deno.test("fmt: a messy file, comments in place", () => {
  strictEqual(formatPolicy(MESSY, { file: "messy.policy" }), MESSY_FORMATTED);
  assertCanonical(MESSY);
});

Deno.test("fmt: comments where no line can break move before their line", () => {
  const source = `policy # c0
  "m" version # c1
  1
rule # c2
  r-x "d" on k1, # c3
  k2 when count( # c4
  x) > (# c5
  a) require min(a, # c6
  b) == sum(h in l: # c7
  h.x) and [ # c8
  ] == { # c9
  } and all h in l: # c10
  h.y
rule r-y "e" on k limit # c11
  sum a.b over 24h <= # c12
  param.cap example allow { a: 1 } with # c13
  wallet [0x00] history # c14
  []
`;
  strictEqual(
    formatPolicy(source, { file: "x" }),
    `# c0
# c1
policy "m" version 1

# c2
rule r-x
  "d"
  # c3
  on k1, k2
  # c4
  # c5
  when count(x) > (a)
  # c6
  # c7
  require min(a, b) == sum(h in l: h.x)
          # c8
          # c9
          and [] == {}
          and all h in l:  # c10
                h.y

rule r-y
  "e"
  on k
  # c11
  # c12
  limit sum a.b over 24h <= param.cap
  example allow { a: 1 }
    # c13
    with wallet [0x00]  # c14
    history []
`,
  );
  assertCanonical(source);
});

Deno.test("fmt: long boolean expressions break at and/or, aligned; quantifiers after the colon", () => {
  const source = `policy "p" version 1
rule r "d" on k require (commitment.to_broadcaster_sat == 0 sat or commitment.to_broadcaster_sat >= param.min_chan_dust_limit_sat) and all h in commitment.htlcs: h.amount_sat >= (if channel.is_zero_fee_htlc then param.min_chan_dust_limit_sat else param.min_dust_limit_sat + (if h.offered then commitment.htlc_timeout_fee_sat else commitment.htlc_success_fee_sat))
`;
  strictEqual(
    formatPolicy(source, { file: "x" }),
    `policy "p" version 1

rule r
  "d"
  on k
  require (commitment.to_broadcaster_sat == 0 sat
           or commitment.to_broadcaster_sat >= param.min_chan_dust_limit_sat)
          and all h in commitment.htlcs:
                h.amount_sat
                >= (if channel.is_zero_fee_htlc then param.min_chan_dust_limit_sat
                    else param.min_dust_limit_sat
                         + (if h.offered then commitment.htlc_timeout_fee_sat
                            else commitment.htlc_success_fee_sat))
`,
  );
});

Deno.test("fmt: between breaks before its and; implies chains align", () => {
  const source = `policy "p" version 1
rule r "d" on k require all h in commitment.htlcs: h.cltv_expiry < param.max_cltv_expiry and (param.use_chain_state and h.is_new implies h.cltv_expiry between chain.height + param.min_delay and chain.height + param.max_delay)
`;
  strictEqual(
    formatPolicy(source, { file: "x" }),
    `policy "p" version 1

rule r
  "d"
  on k
  require all h in commitment.htlcs:
            h.cltv_expiry < param.max_cltv_expiry
            and (param.use_chain_state and h.is_new
                 implies h.cltv_expiry between chain.height + param.min_delay
                                       and chain.height + param.max_delay)
`,
  );
});

Deno.test("fmt: literals: grouping kept, one space before units, durations kept, hex lowercased", () => {
  const source = `policy "p" version 1_0
param a = 25_000per-kw
param b = 1000   sat
param c = 86400 seconds
param d = 24h
param e = 0xABcd
param f = -5 msat
param g = ["x", "y",]
param h = "tab\there \\\\ \\"q\\""
`;
  strictEqual(
    formatPolicy(source, { file: "x" }),
    `policy "p" version 1_0

param a = 25_000 per-kw
param b = 1000 sat
param c = 86400 seconds
param d = 24h
param e = 0xabcd
param f = -5 msat
param g = ["x", "y"]
param h = "tab\there \\\\ \\"q\\""
`,
  );
  const tree = parse(source, { file: "x" });
  const values = tree.items.map((i) => (i.type === "Param" ? i.value : undefined)) as Expr[];
  deepStrictEqual(values.slice(0, 4).map((v) => v.type === "Int" && intText(v)), [
    "25_000 per-kw",
    "1000 sat",
    "86400 seconds",
    "24h",
  ]);
  strictEqual(quoteString('a"b\\c'), '"a\\"b\\\\c"');
});

Deno.test("fmt: long descriptions wrap at single spaces to the width, value unchanged", () => {
  const words = Array.from({ length: 60 }, (_, i) => `word${i}`);
  const value = words.join(" ") + "  two  spaces  kept";
  const source = `policy "p" version 1\nrule r ${quoteString(value)} on k require true\n`;
  const out = assertCanonical(source);
  const lines = out.split("\n");
  const start = lines.findIndex((l) => l.startsWith('  "word0'));
  ok(start > 0);
  const end = lines.findIndex((l, i) => i > start && l.endsWith('"'));
  ok(end > start + 1, "the description spans several lines");
  for (let i = start; i <= end; i++) {
    ok(lines[i].length <= FORMAT_WIDTH, `line ${i} fits: ${lines[i]}`);
    if (i > start) {
      ok(lines[i].startsWith("   ") && lines[i][3] !== " ", "aligned inside the quote");
    }
  }
  const rule = parse(out, { file: "x" }).items[0] as RuleDecl;
  strictEqual(rule.description.value, value);
});

Deno.test("fmt: CRLF input, tabs, and a file with no items", () => {
  strictEqual(
    formatPolicy('policy "p" version 1\r\nparam\tx = 1\r\n', { file: "x" }),
    'policy "p" version 1\n\nparam x = 1\n',
  );
  strictEqual(formatPolicy('  policy "p"   version 2  ', { file: "x" }), 'policy "p" version 2\n');
});

Deno.test("fmt: blank lines: kept (collapsed to one), forced around rules, comments stay with their rule", () => {
  const source = `policy "p" version 1
param a = 1



param b = 2
param c = 3
# about r
rule r "d" on k require true
  # still r
filter r warn
# floating

# before s
rule s "d" on k require true
`;
  strictEqual(
    formatPolicy(source, { file: "x" }),
    `policy "p" version 1

param a = 1

param b = 2
param c = 3

# about r
rule r
  "d"
  on k
  require true
  # still r

filter r warn
# floating

# before s
rule s
  "d"
  on k
  require true
`,
  );
  assertCanonical(source);
});

Deno.test("fmt: a syntax error is a PolicyError with its location", () => {
  throws(
    () =>
      formatPolicy('policy "p" version 1\nrule r "d" on k require (a\n', { file: "bad.policy" }),
    (err: unknown) => {
      ok(err instanceof PolicyError);
      strictEqual(err.diagnostics.length, 1);
      strictEqual(err.diagnostics[0].file, "bad.policy");
      strictEqual(err.diagnostics[0].line, 3);
      return true;
    },
  );
});

Deno.test("fmt: stripLocations ignores layout and comments but not values", () => {
  const a = parse('policy "p" version 1\nparam x = 25_000 sat # c\n', { file: "a" });
  const b = parse('policy  "p"\nversion 1\n\n  param x =\n 25_000\n sat\n', { file: "b" });
  const c = parse('policy "p" version 1\nparam x = 25000 sat\n', { file: "a" });
  deepStrictEqual(stripLocations(a), stripLocations(b));
  ok(
    JSON.stringify(stripLocations(c), (_, v) => typeof v === "bigint" ? String(v) : v) !==
      JSON.stringify(stripLocations(a), (_, v) => typeof v === "bigint" ? String(v) : v),
  );
});

Deno.test("fmt: formatExpr writes canonical spacing", () => {
  const rule = parse(
    `policy "p" version 1\nrule r "d" on k require not(a)and-b.c*2>=min( x ,y)or z not in[1,2]and count( h in l:h.ok)==sum(h in l:h.v)`,
    { file: "x" },
  ).items[0] as RuleDecl;
  const body = rule.clauses[0].body;
  strictEqual(body.type, "Require");
  strictEqual(
    formatExpr(body.type === "Require" ? body.condition : (undefined as unknown as Expr)),
    "not (a) and -b.c * 2 >= min(x, y) or z not in [1, 2] and count(h in l: h.ok) == sum(h in l: h.v)",
  );
});

/** Every policy file of the repository's fixtures (and rules/, when it parses). */
function fixtureFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const e of entries) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (e.name.endsWith(".policy")) out.push(path);
    }
  };
  walk(`${ROOT}tests/policy/fixtures`);
  walk(`${ROOT}tests/core/cli/fixtures`);
  walk(`${ROOT}rules`);
  return out.sort();
}

Deno.test("fmt: idempotent and tree-preserving on every fixture policy", () => {
  let checked = 0;
  for (const path of fixtureFiles()) {
    const source = Deno.readTextFileSync(path);
    try {
      parse(source, { file: path });
    } catch {
      continue; // fixtures of syntax errors
    }
    const out = assertCanonical(source, path);
    for (const line of out.split("\n")) {
      if (line.includes("#") || line.includes("//") || line.trimStart().startsWith('"')) continue;
      ok(line.length <= FORMAT_WIDTH + 20, `${path}: overlong line ${line}`);
    }
    checked++;
  }
  ok(checked >= 4, `checked ${checked} fixtures`);
});

// ---- generated policies ----

type Toks = string[];
const cat = (...parts: (Toks | string)[]): Toks =>
  parts.flatMap((p) => (typeof p === "string" ? [p] : p));

const leaf: fc.Arbitrary<Toks> = fc.constantFrom<Toks>(
  ["1"],
  ["25_000"],
  ["1000", "sat"],
  ["5", "msat"],
  ["7", "per-kw"],
  ["24h"],
  ["30s"],
  ["true"],
  ["false"],
  ['"s"'],
  ['"a \\" b"'],
  ["0xAB"],
  ["0x00"],
  ["param.max_x"],
  ["a.b"],
  ["h"],
  ["x.y.z"],
  ["h.amount_sat"],
);

const { implies: exprArb } = fc.letrec<Record<string, Toks>>((tie) => ({
  implies: fc.oneof(
    { maxDepth: 4, depthIdentifier: "e" },
    tie("or"),
    fc.tuple(tie("or"), tie("implies")).map(([a, b]) => cat(a, "implies", b)),
  ),
  or: fc.oneof(
    { maxDepth: 4, depthIdentifier: "e" },
    tie("and"),
    fc.tuple(tie("or"), tie("and")).map(([a, b]) => cat(a, "or", b)),
  ),
  and: fc.oneof(
    { maxDepth: 4, depthIdentifier: "e" },
    tie("not"),
    fc.tuple(tie("and"), tie("not")).map(([a, b]) => cat(a, "and", b)),
  ),
  not: fc.oneof(
    { maxDepth: 4, depthIdentifier: "e" },
    tie("cmp"),
    tie("not").map((a) => cat("not", a)),
  ),
  cmp: fc.oneof(
    { maxDepth: 4, depthIdentifier: "e" },
    tie("add"),
    fc.tuple(tie("add"), fc.constantFrom("==", "!=", "<", "<=", ">", ">="), tie("add")).map((
      [a, op, b],
    ) => cat(a, op, b)),
    fc.tuple(tie("add"), tie("add"), tie("add")).map(([a, b, c]) => cat(a, "between", b, "and", c)),
    fc.tuple(tie("add"), fc.boolean(), tie("add")).map(([a, neg, b]) =>
      cat(a, ...(neg ? ["not", "in"] : ["in"]), b)
    ),
  ),
  add: fc.oneof(
    { maxDepth: 4, depthIdentifier: "e" },
    tie("mul"),
    fc.tuple(tie("add"), fc.constantFrom("+", "-"), tie("mul")).map(([a, op, b]) => cat(a, op, b)),
  ),
  mul: fc.oneof(
    { maxDepth: 4, depthIdentifier: "e" },
    tie("unary"),
    fc.tuple(tie("mul"), fc.constantFrom("*", "/"), tie("unary")).map(([a, op, b]) =>
      cat(a, op, b)
    ),
  ),
  unary: fc.oneof(
    { maxDepth: 4, depthIdentifier: "e" },
    tie("primary"),
    tie("unary").map((a) => cat("-", a)),
  ),
  primary: fc.oneof(
    { maxDepth: 4, depthIdentifier: "e" },
    leaf,
    leaf,
    tie("implies").map((a) => cat("(", a, ")")),
    fc.tuple(fc.constantFrom("all", "any"), tie("add"), tie("implies")).map(([q, l, b]) =>
      cat("(", q, "h", "in", l, ":", b, ")")
    ),
    fc.tuple(tie("implies"), tie("implies"), tie("implies")).map(([c, a, b]) =>
      cat("(", "if", c, "then", a, "else", b, ")")
    ),
    tie("implies").map((l) => cat("count", "(", l, ")")),
    fc.tuple(tie("add"), tie("implies")).map(([l, c]) =>
      cat("count", "(", "h", "in", l, ":", c, ")")
    ),
    fc.tuple(tie("add"), tie("implies")).map(([l, c]) =>
      cat("sum", "(", "h", "in", l, ":", c, ")")
    ),
    fc.tuple(fc.constantFrom("min", "max"), tie("implies"), tie("implies")).map(([f, a, b]) =>
      cat(f, "(", a, ",", b, ")")
    ),
    fc.tuple(fc.constantFrom("msat", "sat", "len"), tie("implies")).map(([f, a]) =>
      cat(f, "(", a, ")")
    ),
    fc.array(tie("add"), { maxLength: 3 }).map((xs) =>
      cat("[", ...xs.flatMap((x, i) => (i === 0 ? x : cat(",", x))), "]")
    ),
  ),
}));

/** A top-level condition: sometimes a bare quantifier or conditional (their body runs to the end). */
const conditionArb: fc.Arbitrary<Toks> = fc.oneof(
  exprArb,
  exprArb,
  fc.tuple(exprArb, exprArb).map(([l, b]) => cat("all", "h", "in", "(", l, ")", ":", b)),
  fc.tuple(exprArb, exprArb, exprArb).map(([c, a, b]) => cat("if", c, "then", a, "else", b)),
);

const word = fc.constantFrom(
  "the",
  "feerate",
  "is",
  "within",
  "range",
  '\\"q\\"',
  "a\\\\b",
  "HTLC",
);
const stringArb: fc.Arbitrary<string> = fc.array(
  fc.tuple(word, fc.constantFrom(" ", " ", " ", "  ", "\n     ")),
  { minLength: 1, maxLength: 40 },
).map((ws) => '"' + ws.map(([w, s], i) => (i === 0 ? w : s + w)).join("") + '"');

const valueArb: fc.Arbitrary<Toks> = fc.oneof(
  leaf.filter((t) => !t[0].includes(".") && t[0] !== "h"),
  fc.constantFrom<Toks>(["-", "5", "sat"], ["[", "]"], ["[", '"a"', ",", '"b"', ",", "]"]),
  fc.array(fc.constantFrom('"static_remotekey"', '"anchors_zero_fee_htlc"', '"legacy"'), {
    maxLength: 8,
  }).map((xs) => cat("[", ...xs.flatMap((x, i) => (i === 0 ? [x] : [",", x])), "]")),
);

const paramArb: fc.Arbitrary<Toks> = fc.tuple(
  fc.constantFrom("max_x", "min_feerate_per_kw", "y"),
  fc.option(stringArb),
  fc.option(valueArb),
  fc.array(
    fc.tuple(fc.subarray(["test", "regtest", "signet", "bitcoin"], { minLength: 1 }), valueArb),
    { maxLength: 2 },
  ),
).map(([name, desc, value, ons]) =>
  cat(
    "param",
    name,
    desc === null ? [] : [desc],
    value === null && ons.length === 0 ? ["=", "1"] : value === null ? [] : cat("=", value),
    ...ons.map(([nets, v]) =>
      cat("on", nets.flatMap((n, i) => (i === 0 ? [n] : [",", n])), "=", v)
    ),
  )
);

const factValue: fc.Arbitrary<Toks> = fc.oneof(
  valueArb,
  fc.constantFrom<Toks>(
    ["[", "{", "amount_sat", ":", "5", "sat", "}", ",", "{", "offered", ":", "true", "}", "]"],
    ["{", "number", ":", "4", ",", "ok", ":", "false", "}"],
  ),
);

const exampleArb: fc.Arbitrary<Toks> = fc.tuple(
  fc.constantFrom("allow", "refuse"),
  fc.option(stringArb),
  fc.option(fc.constantFrom("k1", "k2")),
  fc.array(
    fc.tuple(fc.constantFrom("commitment.fee_sat", "a", "channel.is_anchors", "x.y"), factValue),
    { maxLength: 5 },
  ),
  fc.boolean(),
  fc.shuffledSubarray([
    ["network", "regtest"],
    ["with", "wallet", "[", "0x0014AB", "]"],
    ["with", "allowlist", "[", "]"],
    ["history", "[", "{", "at", ":", "-", "2h", ",", "amount", ":", "5", "msat", "}", "]"],
  ]),
).map(([expect, name, kind, facts, trailingComma, options]) =>
  cat(
    "example",
    expect,
    name === null ? [] : [name],
    kind === null ? [] : ["on", kind],
    "{",
    ...facts.map(([k, v], i) => cat(i === 0 ? [] : [","], k, ":", v)),
    trailingComma && facts.length > 0 ? [","] : [],
    "}",
    ...options,
  )
);

const clauseArb: fc.Arbitrary<Toks> = fc.tuple(
  fc.subarray(["sign_counterparty_commitment", "validate_holder_commitment", "k1", "k2"], {
    minLength: 1,
  }),
  fc.option(exprArb),
  fc.oneof(
    conditionArb.map((c) => cat("require", c)),
    fc.tuple(exprArb, fc.constantFrom<Toks>(["24h"], ["86400", "seconds"]), exprArb).map((
      [a, w, c],
    ) => cat("limit", "sum", a, "over", w, "<=", c)),
  ),
).map(([kinds, guard, body]) =>
  cat(
    "on",
    kinds.flatMap((k, i) => (i === 0 ? [k] : [",", k])),
    guard === null ? [] : cat("when", guard),
    body,
  )
);

const ruleArb: fc.Arbitrary<Toks> = fc.tuple(
  fc.constantFrom("policy-commitment-fee-range", "r-1", "site-x"),
  fc.subarray(["mandatory", "temporary"]),
  fc.array(fc.constantFrom("alias-a", "policy-x"), { maxLength: 2 }),
  stringArb,
  fc.array(clauseArb, { minLength: 1, maxLength: 3 }),
  fc.array(exampleArb, { maxLength: 3 }),
).map(([id, mods, aliases, desc, clauses, examples]) =>
  cat("rule", id, mods, ...aliases.map((a) => ["alias", a]), desc, ...clauses, ...examples)
);

const itemArb: fc.Arbitrary<Toks> = fc.oneof(
  paramArb,
  ruleArb,
  ruleArb,
  fc.constantFrom<Toks>(
    ["include", '"default.policy"'],
    ["filter", "policy-commitment-*", "warn"],
    ["filter", "r-1", "error"],
  ),
);

const SEPARATORS = [
  " ",
  " ",
  " ",
  " ",
  "  ",
  "\n",
  "\n  ",
  "\n\n",
  "\t",
  " # note\n",
  "\n  // own line\n    ",
  "\n\n# floating\n\n",
  " #\n",
];

const policyArb: fc.Arbitrary<string> = fc.array(itemArb, { maxLength: 5 }).chain((items) => {
  const tokens = cat("policy", '"gen"', "version", "1", ...items);
  return fc.tuple(
    fc.array(fc.constantFrom(...SEPARATORS), {
      minLength: tokens.length + 1,
      maxLength: tokens.length + 1,
    }),
    fc.constantFrom("", "# lead\n", "\n// lead\n\n"),
  ).map(([seps, lead]) => lead + tokens.map((t, i) => t + seps[i]).join(""));
});

Deno.test("fmt: generated policies: idempotent, same tree, same comments", () => {
  fc.assert(
    fc.property(policyArb, (source) => {
      parse(source, { file: "gen.policy" }); // the generator writes valid syntax
      assertCanonical(source, "gen.policy");
    }),
    { numRuns: 150 },
  );
});

Deno.test("fmt: formatFile of a parsed fixture equals formatPolicy", () => {
  const path = `${ROOT}tests/policy/fixtures/default.policy`;
  const source = Deno.readTextFileSync(path);
  strictEqual(formatFile(parse(source, { file: path })), formatPolicy(source, { file: path }));
});
