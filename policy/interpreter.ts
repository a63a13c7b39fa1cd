/**
 * The reference interpreter: evaluates the syntax tree directly, resolving names at run time. It
 * defines the semantics the compiler must reproduce (a property test checks that compiled and
 * interpreted evaluation agree), and it produces the **trace** of a violated clause: the facts
 * and parameters it read, with list elements by index (`commitment.htlcs[3].amount_sat`).
 *
 * What a trace records: every scalar fact and parameter read; a list used on the right of `in`;
 * for `all` the reads of the first element that fails (the counterexample), for `any` the reads
 * of the first that holds (the witness), and the whole list when there is none; the value of each
 * `count(...)`, `sum(...)` and `len(...)`, under its source text.
 *
 * @module
 */
import type { Expr, PathExpr, Span } from "./ast.ts";
import {
  asList,
  contains,
  divide,
  element,
  EvalError,
  type Facts,
  field,
  jsonSafe,
  type JsonValue,
  lookupSet,
  MissingFactError,
  type PolicySet,
  type Value,
} from "./values.ts";

/** What the interpreter evaluates against. */
export interface InterpretEnv {
  /** The request's facts. */
  facts: Facts;
  /** Parameter values by name. */
  params: ReadonlyMap<string, unknown>;
  /** The sets supplied with the request. */
  sets: Readonly<Record<string, PolicySet>>;
  /** Registered set names (a bare name on the right of `in` that is one of these is a set). */
  setNames: ReadonlySet<string>;
  /** The source text of a span (labels of aggregates in traces). */
  text?: (span: Span) => string;
}

interface Binding {
  value: unknown;
  /** The element's fact label (`commitment.htlcs[3]`), when the list is a fact. */
  label?: string;
}

type Vars = ReadonlyMap<string, Binding>;

const isScalar = (v: unknown): boolean =>
  typeof v === "bigint" || typeof v === "boolean" || typeof v === "string";

class Interpreter {
  #quiet = 0;

  constructor(readonly env: InterpretEnv, readonly record?: Map<string, JsonValue>) {}

  note(label: string | undefined, v: unknown): void {
    if (this.record !== undefined && this.#quiet === 0 && label !== undefined) {
      this.record.set(label, jsonSafe(v));
    }
  }

  quietly<T>(f: () => T): T {
    this.#quiet++;
    try {
      return f();
    } finally {
      this.#quiet--;
    }
  }

  text(span: Span): string | undefined {
    return this.env.text?.(span);
  }

  /** The fact label of a path, or undefined for parameters and non-fact variables. */
  label(path: PathExpr, vars: Vars): string | undefined {
    const [root, ...rest] = path.segments;
    const b = vars.get(root);
    if (b !== undefined) return b.label === undefined ? undefined : [b.label, ...rest].join(".");
    if (root === "param") return undefined;
    return path.segments.join(".");
  }

  path(path: PathExpr, vars: Vars): Value {
    const [root, ...rest] = path.segments;
    const name = () => path.segments.join(".");
    const b = vars.get(root);
    let v: Value;
    if (b !== undefined) {
      const full = () => this.label(path, vars) ?? name();
      v = rest.length === 0 ? element(b.value, full) : b.value as Value;
      for (const s of rest) v = field(v, s, full);
    } else if (root === "param") {
      if (!this.env.params.has(rest[0])) throw new EvalError(`unknown parameter ${rest[0]}`);
      v = this.env.params.get(rest[0]) as Value;
      this.note(`param.${rest[0]}`, v);
      return v;
    } else {
      v = this.env.facts;
      for (const s of path.segments) v = field(v, s, name);
    }
    if (isScalar(v)) this.note(this.label(path, vars), v);
    return v;
  }

  list(expr: Expr, vars: Vars): readonly unknown[] {
    const what = () => (expr.type === "Path" ? expr.segments.join(".") : "the value");
    return asList(this.eval(expr, vars), what);
  }

  int(expr: Expr, vars: Vars): bigint {
    return this.eval(expr, vars) as bigint;
  }

  bool(expr: Expr, vars: Vars): boolean {
    return this.eval(expr, vars) === true;
  }

  /** Evaluates `body` for each element; returns the index where `stop(result)` first holds. */
  scan(
    variable: string,
    listExpr: Expr,
    body: Expr,
    vars: Vars,
    stop: (v: boolean) => boolean,
  ): { index: number; list: readonly unknown[]; labelOf: (i: number) => string | undefined } {
    const list = this.list(listExpr, vars);
    const base = listExpr.type === "Path" ? this.label(listExpr, vars) : undefined;
    const labelOf = (i: number) => (base === undefined ? undefined : `${base}[${i}]`);
    for (let i = 0; i < list.length; i++) {
      const inner = new Map(vars).set(variable, { value: list[i], label: labelOf(i) });
      if (stop(this.quietly(() => this.bool(body, inner)))) {
        this.bool(body, inner); // once more, recording the counterexample's or witness's reads
        return { index: i, list, labelOf };
      }
    }
    return { index: -1, list, labelOf };
  }

  binary(expr: Expr & { type: "Binary" }, vars: Vars): Value {
    switch (expr.op) {
      case "and":
        return this.bool(expr.left, vars) && this.bool(expr.right, vars);
      case "or":
        return this.bool(expr.left, vars) || this.bool(expr.right, vars);
      case "implies":
        return !this.bool(expr.left, vars) || this.bool(expr.right, vars);
      case "==":
        return this.eval(expr.left, vars) === this.eval(expr.right, vars);
      case "!=":
        return this.eval(expr.left, vars) !== this.eval(expr.right, vars);
    }
    const a = this.int(expr.left, vars);
    const b = this.int(expr.right, vars);
    switch (expr.op) {
      case "<":
        return a < b;
      case "<=":
        return a <= b;
      case ">":
        return a > b;
      case ">=":
        return a >= b;
      case "+":
        return a + b;
      case "-":
        return a - b;
      case "*":
        return a * b;
      case "/":
        return divide(a, b);
    }
  }

  eval(expr: Expr, vars: Vars): Value {
    switch (expr.type) {
      case "Int":
        return expr.value;
      case "Bool":
        return expr.value;
      case "String":
        return expr.value;
      case "Bytes":
        return expr.hex;
      case "List":
        return expr.elements.map((e) => this.eval(e, vars));
      case "Object":
        throw new EvalError("object literals appear only in example facts");
      case "Paren":
        return this.eval(expr.expr, vars);
      case "Path":
        return this.path(expr, vars);
      case "Not":
        return !this.bool(expr.operand, vars);
      case "Negate":
        return -this.int(expr.operand, vars);
      case "Binary":
        return this.binary(expr, vars);
      case "Between": {
        const v = this.int(expr.value, vars);
        return this.int(expr.low, vars) <= v && v <= this.int(expr.high, vars);
      }
      case "In": {
        const value = this.eval(expr.value, vars);
        const t = expr.target;
        let found: boolean;
        if (
          t.type === "Path" && t.segments.length === 1 && !vars.has(t.segments[0]) &&
          this.env.setNames.has(t.segments[0])
        ) {
          found = lookupSet(this.env.sets, t.segments[0]).has(value) === true;
        } else {
          const list = this.list(t, vars);
          if (t.type === "Path") this.note(this.label(t, vars), list);
          found = contains(list, value);
        }
        return expr.negated ? !found : found;
      }
      case "Quantifier": {
        const all = expr.quantifier === "all";
        const { index, list } = this.scan(
          expr.variable.text,
          expr.list,
          expr.body,
          vars,
          (v) => (all ? !v : v),
        );
        if (index < 0 && expr.list.type === "Path") this.note(this.label(expr.list, vars), list);
        return all ? index < 0 : index >= 0;
      }
      case "Count": {
        const list = this.list(expr.list, vars);
        let n = 0n;
        if (expr.variable === undefined || expr.condition === undefined) n = BigInt(list.length);
        else {
          for (const e of list) {
            const inner = new Map(vars).set(expr.variable.text, { value: e });
            if (this.quietly(() => this.bool(expr.condition as Expr, inner))) n++;
          }
        }
        this.note(this.text(expr.span), n);
        return n;
      }
      case "Sum": {
        const list = this.list(expr.list, vars);
        let total = 0n;
        for (const e of list) {
          const inner = new Map(vars).set(expr.variable.text, { value: e });
          total += this.quietly(() => this.int(expr.body, inner));
        }
        this.note(this.text(expr.span), total);
        return total;
      }
      case "Call":
        return this.call(expr, vars);
      case "If":
        return this.bool(expr.condition, vars)
          ? this.eval(expr.then, vars)
          : this.eval(expr.else, vars);
    }
  }

  call(expr: Expr & { type: "Call" }, vars: Vars): Value {
    switch (expr.fn) {
      case "min": {
        const a = this.int(expr.args[0], vars);
        const b = this.int(expr.args[1], vars);
        return a < b ? a : b;
      }
      case "max": {
        const a = this.int(expr.args[0], vars);
        const b = this.int(expr.args[1], vars);
        return a > b ? a : b;
      }
      case "msat":
        return this.int(expr.args[0], vars) * 1000n;
      case "sat":
        return this.int(expr.args[0], vars) / 1000n;
      case "len": {
        const v = this.eval(expr.args[0], vars);
        let n: bigint;
        if (Array.isArray(v)) n = BigInt(v.length);
        else if (typeof v === "string") n = BigInt(v.length >> 1);
        else throw new EvalError("len needs a list or bytes");
        this.note(this.text(expr.span), n);
        return n;
      }
    }
  }
}

/** Evaluates an expression against facts, parameters and sets (no recording). */
export function interpret(expr: Expr, env: InterpretEnv): Value {
  return new Interpreter(env).eval(expr, new Map());
}

/** The trace of evaluating some expressions in order (a clause's guard, then its check). */
export interface Trace {
  /** The values, in order (fewer when evaluation failed). */
  values: Value[];
  /** What was read, by label (JSON-safe). */
  facts: Record<string, JsonValue>;
  /** The failure, if evaluation failed. */
  error?: string;
  /** The missing fact's path, if that was the failure. */
  missing?: string;
}

/** Evaluates `exprs` in order, recording what they read; stops at the first failure. */
export function trace(exprs: readonly Expr[], env: InterpretEnv): Trace {
  const record = new Map<string, JsonValue>();
  const interpreter = new Interpreter(env, record);
  const values: Value[] = [];
  const result: Trace = { values, facts: {} };
  try {
    for (const e of exprs) values.push(interpreter.eval(e, new Map()));
  } catch (e) {
    if (!(e instanceof EvalError)) throw e;
    result.error = e.message;
    if (e instanceof MissingFactError) result.missing = e.path;
  }
  result.facts = Object.fromEntries(record);
  return result;
}
