import { deepStrictEqual, strictEqual } from "node:assert/strict";
import type { Expr, RuleDecl } from "../../policy/ast.ts";
import { interpret, type InterpretEnv, trace } from "../../policy/interpreter.ts";
import { parse } from "../../policy/parser.ts";

const SOURCE = (condition: string) =>
  `policy "t" version 1\nrule r "d" on k require ${condition}\n`;

function expr(condition: string): [Expr, string] {
  const source = SOURCE(condition);
  const rule = parse(source, { file: "t" }).items[0] as RuleDecl;
  const body = rule.clauses[0].body;
  if (body.type !== "Require") throw new Error("require");
  return [body.condition, source];
}

const FACTS = {
  c: {
    n: 3,
    htlcs: [
      { amount: 10n, offered: true, hash: "aa" },
      { amount: 2n, offered: false, hash: "bb" },
      { amount: 7n, offered: true, hash: "cc" },
    ],
    scripts: ["0014aa"],
  },
};

function env(source: string, facts: object = FACTS): InterpretEnv {
  return {
    facts: facts as Record<string, unknown>,
    params: new Map<string, unknown>([["min", 8n], ["names", ["x"]]]),
    sets: { wallet: new Set(["0014aa"]) },
    setNames: new Set(["wallet"]),
    text: (span) => source.slice(span.start, span.end),
  };
}

function run(condition: string, facts?: object) {
  const [e, source] = expr(condition);
  return trace([e], env(source, facts));
}

Deno.test("interpreter: names resolve to variables, parameters, sets and facts at run time", () => {
  const [all, source] = expr("all h in c.htlcs: h.amount >= 1 sat");
  strictEqual(interpret(all, env(source)), true);
  const [mixed, text] = expr(
    '"0014aa" in wallet and param.min == 8 and c.n == 3 and "x" in param.names',
  );
  strictEqual(interpret(mixed, env(text)), true);
  const [sum, s] = expr("sum(h in c.htlcs: h.amount)");
  strictEqual(interpret(sum, env(s)), 19n);
});

Deno.test("trace: the counterexample of all, the witness of any, by element index", () => {
  deepStrictEqual(run("all h in c.htlcs: h.amount >= param.min or not h.offered"), {
    values: [false],
    facts: { "c.htlcs[2].amount": "7", "param.min": "8", "c.htlcs[2].offered": true },
  });
  deepStrictEqual(run("not (any h in c.htlcs: h.amount < 5 sat)"), {
    values: [false],
    facts: { "c.htlcs[1].amount": "2" },
  });
  deepStrictEqual(run("any h in c.htlcs: h.amount > 100 sat").facts, {
    "c.htlcs": [
      { amount: "10", offered: true, hash: "aa" },
      { amount: "2", offered: false, hash: "bb" },
      { amount: "7", offered: true, hash: "cc" },
    ],
  });
});

Deno.test("trace: aggregates by their source text; lists on the right of in; short-circuit", () => {
  deepStrictEqual(
    run("count(h in c.htlcs: h.offered) + len(c.htlcs) > sum(h in c.htlcs: h.amount) / 1 sat")
      .facts,
    {
      "count(h in c.htlcs: h.offered)": "2",
      "len(c.htlcs)": "3",
      "sum(h in c.htlcs: h.amount)": "19",
    },
  );
  deepStrictEqual(run('"0014bb" in c.scripts').facts, { "c.scripts": ["0014aa"] });
  deepStrictEqual(run("c.n == 4 and c.missing").facts, { "c.n": "3" });
  deepStrictEqual(run("count(c.htlcs) == 0").facts, { "count(c.htlcs)": "3" });
});

Deno.test("trace: a failure stops evaluation and names the missing element's path", () => {
  const facts = { c: { n: 0, htlcs: [{ amount: 10n }, { offered: true }], scripts: [] } };
  deepStrictEqual(run("c.n == 0 and all h in c.htlcs: h.amount > 1 sat", facts), {
    values: [],
    facts: { "c.n": "0" },
    error: "fact c.htlcs[1].amount is missing",
    missing: "c.htlcs[1].amount",
  });
  deepStrictEqual(run("c.n / c.n == 1", facts), {
    values: [],
    facts: { "c.n": "0" },
    error: "division by zero",
  });
});
