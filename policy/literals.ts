/**
 * Literal values: parameter values (`= 25_000 per-kw`, `["a", "b"]`) and the facts, sets and
 * histories written in rule examples, checked against their types and turned into the runtime
 * values the core would supply (integers as `bigint`, bytes as lowercase hex).
 *
 * @module
 */
import type { Expr, ObjectLit, Unit } from "./ast.ts";
import { type Diagnostics, didYouMean } from "./diagnostics.ts";
import { BOOL, BYTES, intOf, isScalar, sameType, STRING, type Type, typeName } from "./units.ts";

/** A constant: a literal, a negated number, or a list of them (parameter values, examples). */
export interface Constant {
  /** Its type. */
  type: Type;
  /** Its value (bigint, boolean, string, lowercase hex, or an array of them). */
  value: unknown;
}

/** Evaluates a literal (a parameter value); reports anything else. */
export function constant(expr: Expr, diagnostics: Diagnostics): Constant | undefined {
  switch (expr.type) {
    case "Int":
      return { type: intOf(expr.unit), value: expr.value };
    case "Negate": {
      const inner = constant(expr.operand, diagnostics);
      if (inner === undefined) return undefined;
      if (inner.type.kind !== "int") {
        diagnostics.error(expr.span, "only a number can be negated");
        return undefined;
      }
      return { type: inner.type, value: -(inner.value as bigint) };
    }
    case "Bool":
      return { type: BOOL, value: expr.value };
    case "String":
      return { type: STRING, value: expr.value };
    case "Bytes":
      return { type: BYTES, value: expr.hex };
    case "List": {
      let element: Type | null = null;
      const values: unknown[] = [];
      for (const e of expr.elements) {
        const c = constant(e, diagnostics);
        if (c === undefined) return undefined;
        if (!isScalar(c.type)) {
          diagnostics.error(e.span, "list elements are numbers, booleans, strings or bytes");
          return undefined;
        }
        if (element !== null && !sameType(element, c.type)) {
          diagnostics.error(
            e.span,
            `list elements differ: ${typeName(element)} and ${typeName(c.type)}`,
          );
          return undefined;
        }
        element ??= c.type;
        values.push(c.value);
      }
      return { type: { kind: "list", element }, value: values };
    }
    default:
      diagnostics.error(
        expr.span,
        "a value here is a literal: a number with its unit, true or false, a string, hex bytes, " +
          "or a list of them",
      );
      return undefined;
  }
}

/**
 * Checks a (partial) value written in an example against the type at `label`, and builds the
 * JavaScript value the core would supply (integers as bigint, bytes as lowercase hex).
 */
export function exampleValue(
  expr: Expr,
  type: Type,
  label: string,
  diagnostics: Diagnostics,
): unknown {
  if (type.kind === "object") {
    if (expr.type !== "Object") {
      diagnostics.error(expr.span, `example fact "${label}" is an object: write { field: value }`);
      return undefined;
    }
    return exampleObject(expr, type, label, diagnostics);
  }
  if (type.kind === "list") {
    if (expr.type !== "List") {
      diagnostics.error(expr.span, `example fact "${label}" is a list: write [ ... ]`);
      return undefined;
    }
    return expr.elements.map((e) =>
      exampleValue(e, type.element as Type, `${label}[]`, diagnostics)
    );
  }
  const c = constant(expr, diagnostics);
  if (c === undefined) return undefined;
  if (!sameType(c.type, type)) {
    const hint = c.type.kind === "int" && type.kind === "int"
      ? literalUnitHint(c.type.unit, type.unit)
      : undefined;
    diagnostics.error(
      expr.span,
      `example fact "${label}" is ${typeName(type)}, not ${typeName(c.type)}`,
      hint,
    );
    return undefined;
  }
  if (
    type.kind === "string" && type.values !== undefined && !type.values.includes(c.value as string)
  ) {
    diagnostics.error(
      expr.span,
      `"${c.value}" is not one of the values of ${label}`,
      didYouMean(c.value as string, type.values),
    );
  }
  return c.value;
}

/** How to write a literal of the expected unit. */
function literalUnitHint(found: Unit | null, expected: Unit | null): string {
  if (expected === null) return "write a plain number, without a unit";
  if (found === null) return `write the number with its unit, e.g. "5 ${expected}"`;
  return `write the value in ${expected}`;
}

/** Builds the nested fact object of `{ a.b: 1, c: { d: true } }` against an object type. */
export function exampleObject(
  object: ObjectLit,
  type: Type & { kind: "object" },
  label: string,
  diagnostics: Diagnostics,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const entry of object.entries) {
    let target = out;
    let t: Type = type;
    let here = label;
    let ok = true;
    for (let i = 0; i < entry.key.length && ok; i++) {
      const segment = entry.key[i];
      const at = here === "" ? segment : `${here}.${segment}`;
      if (t.kind !== "object") {
        diagnostics.error(
          entry.keySpan,
          `example fact "${here}" is ${typeName(t)}, it has no fields`,
        );
        ok = false;
        break;
      }
      const next = t.fields.get(segment);
      if (next === undefined) {
        const candidates = [...t.fields.keys()].map((f) => (here === "" ? f : `${here}.${f}`));
        diagnostics.error(entry.keySpan, `unknown fact "${at}"`, didYouMean(at, candidates));
        ok = false;
        break;
      }
      if (i < entry.key.length - 1) {
        const existing = target[segment];
        if (existing !== undefined && (typeof existing !== "object" || Array.isArray(existing))) {
          diagnostics.error(entry.keySpan, `example fact "${at}" is given twice`);
          ok = false;
          break;
        }
        target = (target[segment] ??= {}) as Record<string, unknown>;
      }
      t = next;
      here = at;
    }
    if (!ok) continue;
    const last = entry.key[entry.key.length - 1];
    const value = exampleValue(entry.value, t, here, diagnostics);
    if (value === undefined) continue;
    if (target[last] === undefined) target[last] = value;
    else {
      const twice = merge(target[last], value, here);
      if (twice !== undefined) {
        diagnostics.error(entry.keySpan, `example fact "${twice}" is given twice`);
      }
    }
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Merges `from` into the object `into`; returns the label of a fact given twice, if any. */
function merge(into: unknown, from: unknown, label: string): string | undefined {
  if (!isObject(into) || !isObject(from)) return label;
  for (const [k, v] of Object.entries(from)) {
    const at = label === "" ? k : `${label}.${k}`;
    if (into[k] === undefined) into[k] = v;
    else {
      const twice = merge(into[k], v, at);
      if (twice !== undefined) return twice;
    }
  }
  return undefined;
}
