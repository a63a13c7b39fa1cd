import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import type { Expr } from "../../policy/ast.ts";
import { compileExpr } from "../../policy/compiler.ts";
import { loadPolicy, type Policy } from "../../policy/engine.ts";
import { interpret } from "../../policy/interpreter.ts";
import { fact, FactRegistry } from "../../policy/registry.ts";
import { EvalError, type PolicySet } from "../../policy/values.ts";

/** A small schema exercising every type: numbers as `number` and as `bigint`, lists, bytes. */
function registry(): FactRegistry {
  const r = new FactRegistry();
  r.registerSet("wallet", { element: fact.bytes(), description: "" });
  r.registerKind(
    "prop",
    z.object({
      x: z.object({
        a: fact.sat(),
        b: z.number().int().meta({ unit: "sat" }),
        c: fact.msat(),
        n: fact.int(),
        flag: z.boolean(),
        s: z.enum(["red", "green"]),
        h: fact.bytes(),
        items: z.array(
          z.object({ v: fact.sat(), w: fact.int(), ok: z.boolean(), tag: fact.bytes() }),
        ),
        ints: z.array(fact.int()),
      }),
    }),
    { description: "" },
  );
  return r;
}

const PARAMS = `param p_sat = 7 sat
param p_int = 3
param p_flag = true
param p_list = [0, 1, 2, -3]
param p_tags = [0x00, 0xab]
`;

function load(condition: string): Policy {
  return loadPolicy("/p.policy", {
    registry: registry(),
    network: "bitcoin",
    readFile: () => `policy "p" version 1\n${PARAMS}rule r "r" on prop require ${condition}\n`,
  });
}

/** Compiled and interpreted value of `expr` (or the EvalError message), which must agree. */
function both(
  policy: Policy,
  expr: Expr,
  facts: Record<string, unknown>,
  sets: Record<string, PolicySet>,
): unknown {
  const params = new Map(policy.params.map((p, i) => [p.name, i]));
  const compiled = compileExpr(expr, { params, sets: new Set(["wallet"]) });
  const run = (f: () => unknown) => {
    try {
      return f();
    } catch (e) {
      if (e instanceof EvalError) return `error: ${e.message}`;
      throw e;
    }
  };
  const a = run(() =>
    compiled(facts, { params: policy.params.map((p) => p.value), sets, vars: [] })
  );
  const b = run(() =>
    interpret(expr, {
      facts,
      params: new Map(policy.params.map((p) => [p.name, p.value])),
      sets,
      setNames: new Set(["wallet"]),
    })
  );
  deepStrictEqual(a, b);
  return a;
}

// ---- generators of well-typed expressions ----

type T = "bool" | "sat" | "msat" | "int" | "bytes";
const TAGS = ["00", "ab", "0014aa"];

const generated = new Map<string, fc.Arbitrary<string>>();

/** An arbitrary expression of type `t` (memoised: arbitraries are built once). */
function gen(t: T, depth: number, vars: string[]): fc.Arbitrary<string> {
  const key = `${t}/${depth}/${vars.join(",")}`;
  let arb = generated.get(key);
  if (arb === undefined) {
    arb = build(t, depth, vars);
    generated.set(key, arb);
  }
  return arb;
}

function build(t: T, depth: number, vars: string[]): fc.Arbitrary<string> {
  const v = vars.length > 0 ? vars[vars.length - 1] : undefined;
  const leaves: Record<T, fc.Arbitrary<string>[]> = {
    bool: [fc.constantFrom("true", "false", "x.flag", "param.p_flag", ...(v ? [`${v}.ok`] : []))],
    sat: [
      fc.constantFrom("x.a", "x.b", "param.p_sat", ...(v ? [`${v}.v`] : [])),
      fc.integer({ min: 0, max: 20 }).map((n) => `${n} sat`),
    ],
    msat: [fc.constantFrom("x.c"), fc.integer({ min: 0, max: 5000 }).map((n) => `${n} msat`)],
    int: [
      fc.constantFrom(
        "x.n",
        "param.p_int",
        "len(x.items)",
        "count(x.ints)",
        "len(x.h)",
        ...(v ? [`${v}.w`] : []),
      ),
      fc.integer({ min: 0, max: 9 }).map(String),
    ],
    bytes: [fc.constantFrom("x.h", "0x00", "0xab", ...(v ? [`${v}.tag`] : []))],
  };
  if (depth <= 0) return fc.oneof(...leaves[t]);
  const d = depth - 1;
  const g = (u: T) => gen(u, d, vars);
  const bin = (a: fc.Arbitrary<string>, op: string, b: fc.Arbitrary<string>) =>
    fc.tuple(a, b).map(([l, r]) => `(${l} ${op} ${r})`);
  const quant = (body: (inner: string[]) => fc.Arbitrary<string>) => {
    const name = `e${vars.length}`;
    return body([...vars, name]).map((b) => [name, b] as const);
  };
  const composite: Record<T, fc.Arbitrary<string>[]> = {
    bool: [
      g("bool").map((b) => `(not ${b})`),
      bin(g("bool"), "and", g("bool")),
      bin(g("bool"), "or", g("bool")),
      bin(g("bool"), "implies", g("bool")),
      fc.tuple(g("sat"), fc.constantFrom("==", "!=", "<", "<=", ">", ">="), g("sat")).map((
        [a, op, b],
      ) => `(${a} ${op} ${b})`),
      bin(g("int"), "<", g("int")),
      bin(g("msat"), ">=", g("msat")),
      bin(g("bytes"), "==", g("bytes")),
      fc.tuple(g("sat"), g("sat"), g("sat")).map(([a, b, c]) => `(${a} between ${b} and ${c})`),
      fc.tuple(g("int"), g("int"), g("int")).map(([a, b, c]) => `(${a} in [${b}, ${c}])`),
      g("int").map((a) => `(${a} not in param.p_list)`),
      g("int").map((a) => `(${a} in x.ints)`),
      g("bytes").map((a) => `(${a} in wallet)`),
      g("bytes").map((a) => `(${a} not in param.p_tags)`),
      fc.constantFrom('(x.s == "red")', '(x.s != "green")'),
      fc.constantFrom("all", "any").chain((q) =>
        quant((inner) => gen("bool", d, inner)).map(([n, b]) => `(${q} ${n} in x.items: ${b})`)
      ),
      fc.tuple(g("bool"), g("bool"), g("bool")).map(([c, a, b]) => `(if ${c} then ${a} else ${b})`),
    ],
    sat: [
      bin(g("sat"), "+", g("sat")),
      bin(g("sat"), "-", g("sat")),
      bin(g("sat"), "*", g("int")),
      bin(g("int"), "*", g("sat")),
      bin(g("sat"), "/", g("int")),
      g("sat").map((a) => `(-${a})`),
      fc.tuple(fc.constantFrom("min", "max"), g("sat"), g("sat")).map(([f, a, b]) =>
        `${f}(${a}, ${b})`
      ),
      g("msat").map((a) => `sat(${a})`),
      quant((inner) => gen("sat", d, inner)).map(([n, b]) => `sum(${n} in x.items: ${b})`),
      fc.tuple(g("bool"), g("sat"), g("sat")).map(([c, a, b]) => `(if ${c} then ${a} else ${b})`),
    ],
    msat: [
      g("sat").map((a) => `msat(${a})`),
      bin(g("msat"), "-", g("msat")),
      bin(g("msat"), "/", g("int")),
    ],
    int: [
      bin(g("int"), "+", g("int")),
      bin(g("int"), "*", g("int")),
      bin(g("int"), "/", g("int")),
      bin(g("sat"), "/", g("sat")),
      quant((inner) => gen("bool", d, inner)).map(([n, b]) => `count(${n} in x.items: ${b})`),
    ],
    bytes: [
      fc.tuple(g("bool"), g("bytes"), g("bytes")).map(([c, a, b]) =>
        `(if ${c} then ${a} else ${b})`
      ),
    ],
  };
  return fc.oneof({ depthSize: "small" }, ...leaves[t], ...composite[t]);
}

const factsArb = fc.record({
  x: fc.record({
    a: fc.bigInt({ min: -50n, max: 50n }),
    b: fc.integer({ min: -50, max: 50 }),
    c: fc.bigInt({ min: 0n, max: 50_000n }),
    n: fc.integer({ min: -5, max: 5 }),
    flag: fc.boolean(),
    s: fc.constantFrom("red", "green"),
    h: fc.constantFrom(...TAGS),
    items: fc.array(
      fc.record({
        v: fc.bigInt({ min: -20n, max: 20n }),
        w: fc.integer({ min: -3, max: 3 }),
        ok: fc.boolean(),
        tag: fc.constantFrom(...TAGS),
      }),
      { maxLength: 4 },
    ),
    ints: fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 4 }),
  }),
});

/** One policy holding rule `rI` = `(E) == (E)` per expression (one parse for many expressions). */
function loadMany(texts: string[]): [Policy, Expr[]] {
  const rules = texts.map((t, i) => `rule r${i} "r" on prop require (${t}) == (${t})\n`).join("");
  const policy = loadPolicy("/p.policy", {
    registry: registry(),
    network: "bitcoin",
    readFile: () => `policy "p" version 1\n${PARAMS}${rules}`,
  });
  const exprs = policy.rules.map((r) => {
    const c = r.clauses[0].condition;
    if (c?.type !== "Binary" || c.left.type !== "Paren") throw new Error("shape");
    return c.left.expr;
  });
  return [policy, exprs];
}

Deno.test("property: compiled evaluation equals the reference interpreter", () => {
  const typed = fc.constantFrom<T>("bool", "sat", "msat", "int", "bytes").chain((t) =>
    gen(t, 3, [])
  );
  fc.assert(
    fc.property(
      fc.array(typed, { minLength: 12, maxLength: 12 }),
      fc.array(fc.tuple(factsArb, fc.subarray(TAGS)), { minLength: 6, maxLength: 6 }),
      (texts, samples) => {
        const [policy, exprs] = loadMany(texts);
        for (const [facts, members] of samples) {
          for (const expr of exprs) both(policy, expr, facts, { wallet: new Set(members) });
        }
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("property: whole decisions (violations and traces) agree", () => {
  fc.assert(
    fc.property(
      fc.array(gen("bool", 3, []), { minLength: 12, maxLength: 12 }),
      fc.array(factsArb, { minLength: 6, maxLength: 6 }),
      (texts, samples) => {
        const rules = texts.map((t, i) => `rule r${i} "r" on prop require ${t}\n`).join("");
        const policy = loadPolicy("/p.policy", {
          registry: registry(),
          network: "bitcoin",
          readFile: () => `policy "p" version 1\n${PARAMS}${rules}`,
        });
        const sets = { wallet: new Set(["00"]) };
        for (const facts of samples) {
          deepStrictEqual(
            policy.evaluate("prop", facts, { now: 0, sets }),
            policy.evaluateInterpreted("prop", facts, { now: 0, sets }),
          );
        }
      },
    ),
    { numRuns: 15 },
  );
});

Deno.test("semantics: exact integers, truncating division, inclusive between, empty lists", () => {
  const facts = {
    x: { a: -7n, b: 2, c: 1999n, n: 0, flag: true, s: "red", h: "0014aa", items: [], ints: [1, 2] },
  };
  const sets = { wallet: new Set(["0014aa"]) };
  const value = (text: string) => {
    const [policy, expr] = ((p: Policy) => {
      const c = p.rules[0].clauses[0].condition;
      if (c?.type !== "Binary" || c.left.type !== "Paren") throw new Error("shape");
      return [p, c.left.expr] as const;
    })(load(`(${text}) == (${text})`));
    return both(policy, expr, facts, sets);
  };
  strictEqual(value("x.a / 2"), -3n);
  strictEqual(value("x.a / x.b"), -3n);
  strictEqual(value("sat(x.c)"), 1n);
  strictEqual(value("msat(x.a)"), -7000n);
  strictEqual(value("x.a / x.a"), 1n);
  strictEqual(value("1 / x.n"), "error: division by zero");
  strictEqual(value("x.b between 2 sat and 2 sat"), true);
  strictEqual(value("x.b between 3 sat and 1 / x.n * 1 sat"), false); // short-circuit: upper bound not evaluated
  strictEqual(value("all e in x.items: false"), true);
  strictEqual(value("any e in x.items: true"), false);
  strictEqual(value("sum(e in x.items: e.v)"), 0n);
  strictEqual(value("count(x.items)"), 0n);
  strictEqual(value("count(e in x.items: e.ok)"), 0n);
  strictEqual(value("2 in x.ints and 3 not in x.ints"), true);
  strictEqual(value("x.h in wallet and 0x0014AA in wallet"), true);
  strictEqual(value("len(x.h)"), 3n);
  strictEqual(value("min(x.a, 1 sat) + max(x.a, 1 sat)"), -6n);
  strictEqual(value("x.flag or 1 / x.n == 1"), true);
  strictEqual(value("not x.flag and 1 / x.n == 1"), false);
  strictEqual(value("not x.flag implies 1 / x.n == 1"), true);
  strictEqual(
    value("(if x.flag then 1 else 1 / x.n) + 99_999_999_999_999_999_999"),
    100_000_000_000_000_000_000n,
  );
  strictEqual(value("-3 in param.p_list"), true);
  strictEqual(value('x.s == "red"'), true);
});

Deno.test("compileExpr: object literals and unknown parameters cannot be compiled", () => {
  const span = { file: "f", start: 0, end: 0, line: 1, column: 1 };
  throws(
    () =>
      compileExpr({ type: "Object", entries: [], span }, { params: new Map(), sets: new Set() }),
    {
      name: "EvalError",
    },
  );
  throws(
    () =>
      compileExpr({ type: "Path", segments: ["param", "x"], span }, {
        params: new Map(),
        sets: new Set(),
      }),
    { name: "EvalError", message: "unknown parameter x" },
  );
});
