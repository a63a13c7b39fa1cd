/**
 * Compiles checked expressions into JavaScript closures, once, when the policy is loaded: names
 * are resolved at compile time (a variable to a slot, `param.NAME` to an index, a set name, a fact
 * path to a field walk), so evaluating a request walks no syntax tree.
 *
 * Semantics (shared with the reference interpreter, `interpreter.ts`): operands are evaluated left
 * to right; `and`, `or`, `implies`, `between` and `if` short-circuit; integers are `bigint`;
 * division truncates toward zero and division by zero is an {@link EvalError}.
 *
 * @module
 */
import type { Expr, PathExpr } from "./ast.ts";
import {
  asList,
  contains,
  divide,
  element,
  EvalError,
  type Facts,
  field,
  lookupSet,
  type PolicySet,
  type Value,
} from "./values.ts";

/** What a compiled expression reads besides the facts. */
export interface EvalContext {
  /** Parameter values, by the index the compile scope assigned. */
  params: readonly unknown[];
  /** The sets supplied with the request. */
  sets: Readonly<Record<string, PolicySet>>;
  /** Slots of bound variables (by nesting depth). */
  vars: unknown[];
}

/** A compiled expression. */
export type Compiled = (facts: Facts, ctx: EvalContext) => Value;

/** Names known at compile time. */
export interface CompileScope {
  /** Parameter name to index in {@link EvalContext.params}. */
  params: ReadonlyMap<string, number>;
  /** Registered set names. */
  sets: ReadonlySet<string>;
}

interface Scope extends CompileScope {
  vars: ReadonlyMap<string, number>;
}

const int = (c: Compiled) => c as (f: Facts, x: EvalContext) => bigint;
const bool = (c: Compiled) => c as (f: Facts, x: EvalContext) => boolean;

function factPath(segments: readonly string[]): Compiled {
  const label = () => segments.join(".");
  if (segments.length === 1) {
    const [a] = segments;
    return (f) => field(f, a, label);
  }
  if (segments.length === 2) {
    const [a, b] = segments;
    return (f) => field(field(f, a, label), b, label);
  }
  if (segments.length === 3) {
    const [a, b, c] = segments;
    return (f) => field(field(field(f, a, label), b, label), c, label);
  }
  return (f) => {
    let v: Value = f;
    for (const s of segments) v = field(v, s, label);
    return v;
  };
}

function varPath(slot: number, segments: readonly string[], path: PathExpr): Compiled {
  const label = () => path.segments.join(".");
  if (segments.length === 0) return (_f, x) => element(x.vars[slot], label);
  if (segments.length === 1) {
    const [a] = segments;
    return (_f, x) => field(x.vars[slot], a, label);
  }
  return (_f, x) => {
    let v = x.vars[slot] as Value;
    for (const s of segments) v = field(v, s, label);
    return v;
  };
}

function compilePath(path: PathExpr, scope: Scope): Compiled {
  const [root, ...rest] = path.segments;
  const slot = scope.vars.get(root);
  if (slot !== undefined) return varPath(slot, rest, path);
  if (root === "param") {
    const index = scope.params.get(rest[0]);
    if (index === undefined) throw new EvalError(`unknown parameter ${rest[0]}`);
    return (_f, x) => x.params[index] as Value;
  }
  return factPath(path.segments);
}

function compileList(expr: Expr, scope: Scope): (f: Facts, x: EvalContext) => readonly unknown[] {
  const c = compile(expr, scope);
  const what = () => (expr.type === "Path" ? expr.segments.join(".") : "the value");
  return (f, x) => asList(c(f, x), what);
}

/** Compiles `body` with `name` bound to a new slot; returns the slot and the body. */
function bind(name: string, body: Expr, scope: Scope): [number, Compiled] {
  const slot = scope.vars.size;
  const vars = new Map(scope.vars);
  vars.set(name, slot);
  return [slot, compile(body, { ...scope, vars })];
}

function compileIn(expr: Expr & { type: "In" }, scope: Scope): Compiled {
  const value = compile(expr.value, scope);
  const t = expr.target;
  let test: (v: Value, f: Facts, x: EvalContext) => boolean;
  if (
    t.type === "Path" && t.segments.length === 1 && !scope.vars.has(t.segments[0]) &&
    scope.sets.has(t.segments[0])
  ) {
    const name = t.segments[0];
    test = (v, _f, x) => lookupSet(x.sets, name).has(v) === true;
  } else {
    const list = compileList(t, scope);
    test = (v, f, x) => contains(list(f, x), v);
  }
  return expr.negated ? (f, x) => !test(value(f, x), f, x) : (f, x) => test(value(f, x), f, x);
}

function compileBinary(expr: Expr & { type: "Binary" }, scope: Scope): Compiled {
  const a = compile(expr.left, scope);
  const b = compile(expr.right, scope);
  const [p, q] = [bool(a), bool(b)];
  const [m, n] = [int(a), int(b)];
  switch (expr.op) {
    case "and":
      return (f, x) => p(f, x) && q(f, x);
    case "or":
      return (f, x) => p(f, x) || q(f, x);
    case "implies":
      return (f, x) => !p(f, x) || q(f, x);
    case "==":
      return (f, x) => a(f, x) === b(f, x);
    case "!=":
      return (f, x) => a(f, x) !== b(f, x);
    case "<":
      return (f, x) => m(f, x) < n(f, x);
    case "<=":
      return (f, x) => m(f, x) <= n(f, x);
    case ">":
      return (f, x) => m(f, x) > n(f, x);
    case ">=":
      return (f, x) => m(f, x) >= n(f, x);
    case "+":
      return (f, x) => m(f, x) + n(f, x);
    case "-":
      return (f, x) => m(f, x) - n(f, x);
    case "*":
      return (f, x) => m(f, x) * n(f, x);
    case "/":
      return (f, x) => divide(m(f, x), n(f, x));
  }
}

function compileCall(expr: Expr & { type: "Call" }, scope: Scope): Compiled {
  const args = expr.args.map((e) => int(compile(e, scope)));
  switch (expr.fn) {
    case "min":
      return (f, x) => {
        const p = args[0](f, x);
        const q = args[1](f, x);
        return p < q ? p : q;
      };
    case "max":
      return (f, x) => {
        const p = args[0](f, x);
        const q = args[1](f, x);
        return p > q ? p : q;
      };
    case "msat":
      return (f, x) => args[0](f, x) * 1000n;
    case "sat":
      return (f, x) => args[0](f, x) / 1000n;
    case "len": {
      const arg = compile(expr.args[0], scope);
      return (f, x) => {
        const v = arg(f, x);
        if (Array.isArray(v)) return BigInt(v.length);
        if (typeof v === "string") return BigInt(v.length >> 1);
        throw new EvalError("len needs a list or bytes");
      };
    }
  }
}

function compile(expr: Expr, scope: Scope): Compiled {
  switch (expr.type) {
    case "Int": {
      const v = expr.value;
      return () => v;
    }
    case "Bool": {
      const v = expr.value;
      return () => v;
    }
    case "String": {
      const v = expr.value;
      return () => v;
    }
    case "Bytes": {
      const v = expr.hex;
      return () => v;
    }
    case "List": {
      const items = expr.elements.map((e) => compile(e, scope));
      return (f, x) => items.map((c) => c(f, x));
    }
    case "Object":
      throw new EvalError("object literals appear only in example facts");
    case "Paren":
      return compile(expr.expr, scope);
    case "Path":
      return compilePath(expr, scope);
    case "Not": {
      const a = bool(compile(expr.operand, scope));
      return (f, x) => !a(f, x);
    }
    case "Negate": {
      const a = int(compile(expr.operand, scope));
      return (f, x) => -a(f, x);
    }
    case "Binary":
      return compileBinary(expr, scope);
    case "Between": {
      const v = int(compile(expr.value, scope));
      const lo = int(compile(expr.low, scope));
      const hi = int(compile(expr.high, scope));
      return (f, x) => {
        const a = v(f, x);
        return lo(f, x) <= a && a <= hi(f, x);
      };
    }
    case "In":
      return compileIn(expr, scope);
    case "Quantifier": {
      const list = compileList(expr.list, scope);
      const [slot, body] = bind(expr.variable.text, expr.body, scope);
      if (expr.quantifier === "all") {
        return (f, x) => {
          for (const e of list(f, x)) {
            x.vars[slot] = e;
            if (body(f, x) !== true) return false;
          }
          return true;
        };
      }
      return (f, x) => {
        for (const e of list(f, x)) {
          x.vars[slot] = e;
          if (body(f, x) === true) return true;
        }
        return false;
      };
    }
    case "Count": {
      const list = compileList(expr.list, scope);
      if (expr.variable === undefined || expr.condition === undefined) {
        return (f, x) => BigInt(list(f, x).length);
      }
      const [slot, cond] = bind(expr.variable.text, expr.condition, scope);
      return (f, x) => {
        let n = 0n;
        for (const e of list(f, x)) {
          x.vars[slot] = e;
          if (cond(f, x) === true) n++;
        }
        return n;
      };
    }
    case "Sum": {
      const list = compileList(expr.list, scope);
      const [slot, body] = bind(expr.variable.text, expr.body, scope);
      return (f, x) => {
        let total = 0n;
        for (const e of list(f, x)) {
          x.vars[slot] = e;
          total += body(f, x) as bigint;
        }
        return total;
      };
    }
    case "Call":
      return compileCall(expr, scope);
    case "If": {
      const c = bool(compile(expr.condition, scope));
      const a = compile(expr.then, scope);
      const b = compile(expr.else, scope);
      return (f, x) => (c(f, x) ? a(f, x) : b(f, x));
    }
  }
}

/**
 * Compiles a checked expression (the checker has verified names, types and units).
 * @param expr the expression
 * @param scope parameter indices and set names
 */
export function compileExpr(expr: Expr, scope: CompileScope): Compiled {
  return compile(expr, { ...scope, vars: new Map() });
}
