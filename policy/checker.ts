/**
 * The type checker (policy/README.md, "Values and units", "Facts and type checking"): resolves
 * every name of a clause (bound variable, `param.NAME`, set, fact path) against the schema of
 * **every** kind the clause is `on`, checks types and units of every operator, and records the
 * fact paths, parameters and sets the clause reads. (Literal values, of parameters and examples,
 * are checked by `literals.ts`.)
 *
 * @module
 */
import type { Clause, Expr, IntLit, PathExpr, Span, Unit } from "./ast.ts";
import { type Diagnostics, didYouMean, nearest } from "./diagnostics.ts";
import type { FactRegistry, KindInfo } from "./registry.ts";
import {
  BOOL,
  BYTES,
  divideUnit,
  INT,
  intOf,
  isScalar,
  multiplyUnit,
  sameType,
  STRING,
  type Type,
  typeName,
  unify,
  unitHint,
} from "./units.ts";

/** What the checker needs to know about a parameter. */
export interface ParamType {
  /** The parameter's type. */
  type: Type;
}

/** What a clause reads (for `policy explain`, decisions and examples). */
export interface Reads {
  /** Fact paths, list elements written `list[].field`, in first-read order. */
  facts: string[];
  /** Parameter names (without `param.`). */
  params: string[];
  /** Set names. */
  sets: string[];
}

/** The result of checking a clause. */
export interface ClauseCheck {
  /** What the clause reads. */
  reads: Reads;
  /** For a limit clause, the amount's type (its unit is the history's unit). */
  limitType?: Type;
}

interface Variable {
  type: Type;
  /** The fact path of the list it ranges over, with `[]`, if it is a fact list. */
  label?: string;
}

interface Scope {
  kind: KindInfo;
  vars: Map<string, Variable>;
}

interface Unknown {
  span: Span;
  what: string;
  path: string;
  kinds: string[];
  hint?: string;
}

/** Checks expressions of one clause; collects diagnostics and reads. */
class Checker {
  readonly facts = new Set<string>();
  readonly params = new Set<string>();
  readonly sets = new Set<string>();
  readonly unknown = new Map<number, Unknown>();

  constructor(
    readonly registry: FactRegistry,
    readonly paramTypes: ReadonlyMap<string, ParamType>,
    readonly diagnostics: Diagnostics,
  ) {}

  error(span: Span, message: string, hint?: string): undefined {
    this.diagnostics.error(span, message, hint);
    return undefined;
  }

  expect(expr: Expr, scope: Scope, want: Type, what: string): Type | undefined {
    const t = this.check(expr, scope);
    if (t === undefined) return undefined;
    if (!sameType(t, want)) {
      return this.error(expr.span, `${what} must be ${typeName(want)}, not ${typeName(t)}`);
    }
    return t;
  }

  int(expr: Expr, scope: Scope, what: string): (Type & { kind: "int" }) | undefined {
    const t = this.check(expr, scope);
    if (t === undefined) return undefined;
    if (t.kind !== "int") {
      return this.error(expr.span, `${what} must be a number, not ${typeName(t)}`);
    }
    return t;
  }

  /** Two operands of one unit (comparisons, `+`, `-`, `between`, `min`, `max`). */
  sameUnit(a: Type & { kind: "int" }, b: Type & { kind: "int" }, at: Span, op: string): boolean {
    if (a.unit === b.unit) return true;
    this.error(at, `unit mismatch: ${typeName(a)} ${op} ${typeName(b)}`, unitHint(a.unit, b.unit));
    return false;
  }

  check(expr: Expr, scope: Scope): Type | undefined {
    switch (expr.type) {
      case "Int":
        return intOf(expr.unit);
      case "Bool":
        return BOOL;
      case "String":
        return STRING;
      case "Bytes":
        return BYTES;
      case "Paren":
        return this.check(expr.expr, scope);
      case "List":
        return this.list(expr.elements, scope);
      case "Object":
        return this.error(expr.span, "object literals appear only in example facts");
      case "Path":
        return this.path(expr, scope, false);
      case "Not":
        return this.expect(expr.operand, scope, BOOL, "the operand of not") && BOOL;
      case "Negate": {
        const t = this.int(expr.operand, scope, "the operand of -");
        return t && intOf(t.unit);
      }
      case "Binary":
        return this.binary(expr, scope);
      case "Between": {
        const v = this.int(expr.value, scope, "the value of between");
        const lo = this.int(expr.low, scope, "the lower bound of between");
        const hi = this.int(expr.high, scope, "the upper bound of between");
        if (v && lo) this.sameUnit(v, lo, expr.low.span, "between");
        if (v && hi) this.sameUnit(v, hi, expr.high.span, "between");
        return BOOL;
      }
      case "In":
        return this.membership(expr.value, expr.target, scope);
      case "Quantifier":
      case "Count":
      case "Sum":
        return this.aggregate(expr, scope);
      case "Call":
        return this.call(expr, scope);
      case "If": {
        this.expect(expr.condition, scope, BOOL, "the condition of if");
        const a = this.check(expr.then, scope);
        const b = this.check(expr.else, scope);
        if (a === undefined || b === undefined) return undefined;
        if (!sameType(a, b)) {
          const hint = a.kind === "int" && b.kind === "int" ? unitHint(a.unit, b.unit) : undefined;
          return this.error(
            expr.else.span,
            `the branches of if differ: ${typeName(a)} and ${typeName(b)}`,
            hint,
          );
        }
        return unify(a, b);
      }
    }
  }

  list(elements: Expr[], scope: Scope): Type | undefined {
    let element: Type | null = null;
    let ok = true;
    for (const e of elements) {
      const t = this.check(e, scope);
      if (t === undefined) {
        ok = false;
        continue;
      }
      if (!isScalar(t)) {
        ok = false;
        this.error(
          e.span,
          `list elements are numbers, booleans, strings or bytes, not ${typeName(t)}`,
        );
      } else if (element === null) element = t;
      else if (!sameType(element, t)) {
        ok = false;
        this.error(e.span, `list elements differ: ${typeName(element)} and ${typeName(t)}`);
      }
    }
    return ok ? { kind: "list", element } : undefined;
  }

  binary(expr: Expr & { type: "Binary" }, scope: Scope): Type | undefined {
    const { op } = expr;
    if (op === "and" || op === "or" || op === "implies") {
      const a = this.expect(expr.left, scope, BOOL, `the left operand of ${op}`);
      const b = this.expect(expr.right, scope, BOOL, `the right operand of ${op}`);
      return a && b && BOOL;
    }
    if (op === "==" || op === "!=") {
      const a = this.check(expr.left, scope);
      const b = this.check(expr.right, scope);
      if (a === undefined || b === undefined) return undefined;
      if (!isScalar(a) || !isScalar(b)) {
        return this.error(expr.opSpan, `cannot compare ${typeName(a)} ${op} ${typeName(b)}`);
      }
      if (a.kind === "int" && b.kind === "int") {
        return this.sameUnit(a, b, expr.opSpan, op) ? BOOL : undefined;
      }
      if (!sameType(a, b)) {
        return this.error(expr.opSpan, `type mismatch: ${typeName(a)} ${op} ${typeName(b)}`);
      }
      this.enumLiteral(a, expr.right);
      this.enumLiteral(b, expr.left);
      return BOOL;
    }
    const a = this.int(expr.left, scope, `the left operand of ${op}`);
    const b = this.int(expr.right, scope, `the right operand of ${op}`);
    if (a === undefined || b === undefined) return undefined;
    switch (op) {
      case "<":
      case "<=":
      case ">":
      case ">=":
        return this.sameUnit(a, b, expr.opSpan, op) ? BOOL : undefined;
      case "+":
      case "-":
        return this.sameUnit(a, b, expr.opSpan, op) ? intOf(a.unit) : undefined;
      case "*": {
        const unit = multiplyUnit(a.unit, b.unit);
        if (unit === undefined) {
          return this.error(expr.opSpan, `cannot multiply two quantities: ${a.unit} * ${b.unit}`);
        }
        return intOf(unit);
      }
      case "/": {
        const unit = divideUnit(a.unit, b.unit);
        if (unit === undefined) {
          return this.error(
            expr.opSpan,
            `unit mismatch: ${typeName(a)} / ${typeName(b)}`,
            a.unit === null
              ? "only a quantity can be divided by a quantity (of the same unit)"
              : unitHint(a.unit, b.unit),
          );
        }
        return intOf(unit);
      }
    }
  }

  /** A string literal compared with an enum fact must be one of its values. */
  enumLiteral(t: Type, other: Expr): void {
    const literal = other.type === "Paren" ? other.expr : other;
    if (t.kind !== "string" || t.values === undefined || literal.type !== "String") return;
    if (t.values.includes(literal.value)) return;
    this.error(
      literal.span,
      `"${literal.value}" is not one of the values ${t.values.map((v) => `"${v}"`).join(", ")}`,
      didYouMean(literal.value, t.values),
    );
  }

  membership(value: Expr, target: Expr, scope: Scope): Type | undefined {
    const v = this.check(value, scope);
    let t: Type | undefined;
    if (
      target.type === "Path" && target.segments.length === 1 && !scope.vars.has(target.segments[0])
    ) {
      const set = this.registry.set(target.segments[0]);
      if (set !== undefined) {
        this.sets.add(set.name);
        t = { kind: "set", name: set.name, element: set.element };
      } else {
        t = this.path(target, scope, true);
      }
    } else {
      t = this.check(target, scope);
    }
    if (v === undefined || t === undefined) return undefined;
    if (!isScalar(v)) return this.error(value.span, `${typeName(v)} cannot be tested with in`);
    if (t.kind !== "list" && t.kind !== "set") {
      return this.error(target.span, `in needs a list or a set, not ${typeName(t)}`);
    }
    if (!sameType(v, t.element)) {
      const hint = v.kind === "int" && t.element?.kind === "int"
        ? unitHint(v.unit, t.element.unit)
        : undefined;
      return this.error(
        target.span,
        `type mismatch: ${typeName(v)} in ${typeName(t)}`,
        hint,
      );
    }
    return BOOL;
  }

  /** Binds `variable` to the element type of `list` for the body. */
  bind(variable: { text: string; span: Span }, list: Expr, scope: Scope): Scope | undefined {
    const t = this.check(list, scope);
    if (t === undefined) return undefined;
    if (t.kind !== "list") return this.error(list.span, `expected a list, not ${typeName(t)}`);
    if (t.element === null) {
      return this.error(list.span, "the list has no elements, so its element type is unknown");
    }
    const name = variable.text;
    const clash = scope.vars.has(name)
      ? "a variable"
      : name === "param"
      ? "the parameter prefix"
      : this.registry.set(name) !== undefined
      ? "a set"
      : scope.kind.type.fields.has(name)
      ? "a fact"
      : undefined;
    if (clash !== undefined) {
      return this.error(
        variable.span,
        `variable ${name} hides ${clash} of that name`,
        "choose another name",
      );
    }
    const label = list.type === "Path" ? this.labelOf(list, scope) : undefined;
    const vars = new Map(scope.vars);
    vars.set(name, { type: t.element, label: label === undefined ? undefined : `${label}[]` });
    return { kind: scope.kind, vars };
  }

  aggregate(
    expr: Expr & { type: "Quantifier" | "Count" | "Sum" },
    scope: Scope,
  ): Type | undefined {
    if (expr.type === "Count" && expr.variable === undefined) {
      const t = this.check(expr.list, scope);
      if (t === undefined) return undefined;
      if (t.kind !== "list") {
        return this.error(expr.list.span, `count needs a list, not ${typeName(t)}`);
      }
      return INT;
    }
    const inner = this.bind(expr.variable as { text: string; span: Span }, expr.list, scope);
    if (inner === undefined) return undefined;
    if (expr.type === "Quantifier") {
      return this.expect(expr.body, inner, BOOL, `the condition of ${expr.quantifier}`) && BOOL;
    }
    if (expr.type === "Count") {
      return this.expect(expr.condition as Expr, inner, BOOL, "the condition of count") && INT;
    }
    const t = this.int(expr.body, inner, "the summed value");
    return t && intOf(t.unit);
  }

  call(expr: Expr & { type: "Call" }, scope: Scope): Type | undefined {
    const arity = expr.fn === "min" || expr.fn === "max" ? 2 : 1;
    if (expr.args.length !== arity) {
      return this.error(expr.span, `${expr.fn} takes ${arity} argument${arity === 1 ? "" : "s"}`);
    }
    if (expr.fn === "len") {
      const t = this.check(expr.args[0], scope);
      if (t === undefined) return undefined;
      if (t.kind !== "list" && t.kind !== "bytes") {
        return this.error(expr.args[0].span, `len needs a list or bytes, not ${typeName(t)}`);
      }
      return INT;
    }
    if (expr.fn === "min" || expr.fn === "max") {
      const a = this.int(expr.args[0], scope, `the arguments of ${expr.fn}`);
      const b = this.int(expr.args[1], scope, `the arguments of ${expr.fn}`);
      if (a === undefined || b === undefined) return undefined;
      return this.sameUnit(a, b, expr.args[1].span, ",") ? intOf(a.unit) : undefined;
    }
    const from: Unit = expr.fn === "msat" ? "sat" : "msat";
    const a = this.int(expr.args[0], scope, `the argument of ${expr.fn}`);
    if (a === undefined) return undefined;
    if (a.unit !== from) {
      return this.error(expr.args[0].span, `${expr.fn}(x) converts ${from}, not ${typeName(a)}`);
    }
    return intOf(expr.fn);
  }

  /** The fact label of a path (`commitment.htlcs`, or `commitment.htlcs[].x` via a variable). */
  labelOf(path: PathExpr, scope: Scope): string | undefined {
    const [root, ...rest] = path.segments;
    const v = scope.vars.get(root);
    if (v !== undefined) return v.label === undefined ? undefined : [v.label, ...rest].join(".");
    if (root === "param") return undefined;
    return path.segments.join(".");
  }

  path(path: PathExpr, scope: Scope, setPosition: boolean): Type | undefined {
    const [root, ...rest] = path.segments;
    const v = scope.vars.get(root);
    if (v !== undefined) {
      const t = this.walk(v.type, rest, path, root, scope);
      const label = this.labelOf(path, scope);
      if (t !== undefined && label !== undefined) this.facts.add(label);
      return t;
    }
    if (root === "param") {
      if (rest.length !== 1) {
        return this.error(path.span, "a parameter is written param.NAME");
      }
      const p = this.paramTypes.get(rest[0]);
      if (p === undefined) {
        const near = nearest(rest[0], this.paramTypes.keys());
        return this.error(
          path.span,
          `unknown parameter param.${rest[0]}`,
          near === undefined ? undefined : `did you mean "param.${near}"?`,
        );
      }
      this.params.add(rest[0]);
      return p.type;
    }
    if (this.registry.set(root) !== undefined) {
      return this.error(path.span, `set ${root} can only be used on the right of in`);
    }
    const t = this.walk(scope.kind.type, path.segments, path, "", scope, setPosition);
    if (t !== undefined) this.facts.add(path.segments.join("."));
    return t;
  }

  /** Walks `segments` from `t`; reports unknown facts (merged across kinds) and bad accesses. */
  walk(
    t: Type,
    segments: string[],
    path: PathExpr,
    prefix: string,
    scope: Scope,
    setPosition = false,
  ): Type | undefined {
    let here = prefix;
    for (const segment of segments) {
      if (t.kind === "list") {
        return this.error(
          path.span,
          `${here} is a list: read its elements with a quantifier`,
          `all x in ${here}: x.${segment} ...`,
        );
      }
      if (t.kind !== "object") {
        return this.error(path.span, `${here} is ${typeName(t)} and has no field ${segment}`);
      }
      const next = t.fields.get(segment);
      const at = here === "" ? segment : `${here}.${segment}`;
      if (next === undefined) {
        if (prefix !== "") {
          return this.error(
            path.span,
            `${prefix} has no field ${at.slice(prefix.length + 1)}`,
            didYouMean(segment, t.fields.keys()),
          );
        }
        const full = path.segments.join(".");
        const candidates = [...t.fields.keys()].map((f) => (here === "" ? f : `${here}.${f}`));
        if (setPosition && segments.length === 1) {
          candidates.push(...this.registry.sets().map((s) => s.name));
        }
        const near = nearest(at, candidates);
        const hint = near === undefined
          ? undefined
          : `did you mean "${[near, ...path.segments.slice(at.split(".").length)].join(".")}"?`;
        const what = setPosition && segments.length === 1 ? "set or fact" : "fact";
        const u = this.unknown.get(path.span.start) ??
          { span: path.span, what, path: full, kinds: [], hint };
        u.kinds.push(scope.kind.name);
        this.unknown.set(path.span.start, u);
        return undefined;
      }
      t = next;
      here = at;
    }
    return t;
  }

  /** Emits one diagnostic per unknown fact, naming the kinds that lack it. */
  flushUnknown(): void {
    for (const u of this.unknown.values()) {
      const kinds = u.kinds.length === 1 ? `kind ${u.kinds[0]}` : `kinds ${u.kinds.join(", ")}`;
      this.error(u.span, `unknown ${u.what} "${u.path}" for ${kinds}`, u.hint);
    }
    this.unknown.clear();
  }

  reads(): Reads {
    return { facts: [...this.facts], params: [...this.params], sets: [...this.sets] };
  }
}

/** The environment of a check: the registry, the parameter types, the diagnostics sink. */
export interface CheckEnv {
  /** Kinds and sets. */
  registry: FactRegistry;
  /** Every parameter of the policy. */
  params: ReadonlyMap<string, ParamType>;
  /** Where errors go. */
  diagnostics: Diagnostics;
}

/**
 * Checks a clause against every (registered) kind it is `on`: the guard and a `require` are
 * booleans; a limit's amount and cap are numbers of one unit and its window a positive duration.
 * Unknown kinds are reported by the caller.
 */
export function checkClause(clause: Clause, env: CheckEnv): ClauseCheck {
  const checker = new Checker(env.registry, env.params, env.diagnostics);
  let limitType: Type | undefined;
  for (const k of clause.kinds) {
    const kind = env.registry.kind(k.text);
    if (kind === undefined) continue;
    const scope: Scope = { kind, vars: new Map() };
    if (clause.guard !== undefined) checker.expect(clause.guard, scope, BOOL, "a when guard");
    const body = clause.body;
    if (body.type === "Require") {
      checker.expect(body.condition, scope, BOOL, "a require condition");
      continue;
    }
    const amount = checker.int(body.amount, scope, "a limit's amount");
    const cap = checker.int(body.cap, scope, "a limit's cap");
    if (amount && cap) checker.sameUnit(amount, cap, body.cap.span, "<=");
    if (amount) limitType ??= amount;
    checkWindow(body.window, env.diagnostics);
  }
  checker.flushUnknown();
  const result: ClauseCheck = { reads: checker.reads() };
  if (limitType !== undefined) result.limitType = limitType;
  return result;
}

function checkWindow(window: IntLit, diagnostics: Diagnostics): void {
  if (window.unit !== "seconds" || window.value <= 0n) {
    diagnostics.error(
      window.span,
      "a limit's window is a positive duration",
      'write e.g. "24h" or "7d"',
    );
  }
}
