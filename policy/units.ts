/**
 * The language's types and units (policy/README.md, "Values and units"): integers carry a unit
 * (`sat`, `msat`, `blocks`, `seconds`, `per-kw`) or none; the checker uses these rules for every
 * operator, and the registry derives a {@link Type} for every fact path from its zod schema.
 *
 * @module
 */
import type { Unit } from "./ast.ts";

export type { Unit } from "./ast.ts";

/** Every unit, in the order the README lists them. */
export const UNITS: readonly Unit[] = ["sat", "msat", "blocks", "seconds", "per-kw"];

/** Seconds per duration suffix (`30s`, `5m`, `24h`, `7d`). */
export const DURATION_SECONDS: Readonly<Record<string, bigint>> = {
  s: 1n,
  m: 60n,
  h: 3600n,
  d: 86400n,
};

/** A language type. */
export type Type =
  | { kind: "int"; unit: Unit | null }
  | { kind: "bool" }
  | { kind: "string"; values?: readonly string[] }
  | { kind: "bytes" }
  | { kind: "list"; element: Type | null }
  | { kind: "object"; fields: ReadonlyMap<string, Type> }
  | { kind: "set"; name: string; element: Type };

/** The plain integer type. */
export const INT: Type = { kind: "int", unit: null };
/** The boolean type. */
export const BOOL: Type = { kind: "bool" };
/** The string type. */
export const STRING: Type = { kind: "string" };
/** The bytes type. */
export const BYTES: Type = { kind: "bytes" };

/** An integer type of a unit (null: plain). */
export function intOf(unit: Unit | null): Type {
  return { kind: "int", unit };
}

/** A readable name: `int`, `msat`, `bool`, `list of sat`, `object`, `set wallet of bytes`. */
export function typeName(t: Type | null): string {
  if (t === null) return "anything";
  switch (t.kind) {
    case "int":
      return t.unit ?? "int";
    case "list":
      return t.element === null ? "empty list" : `list of ${typeName(t.element)}`;
    case "set":
      return `set ${t.name} of ${typeName(t.element)}`;
    default:
      return t.kind;
  }
}

/**
 * Whether values of the two types may be compared or mixed: same kind, same unit, lists of the
 * same element (an empty list literal matches any list). Strings match whatever their values.
 */
export function sameType(a: Type | null, b: Type | null): boolean {
  if (a === null || b === null) return true;
  if (a.kind !== b.kind) return false;
  if (a.kind === "int" && b.kind === "int") return a.unit === b.unit;
  if (a.kind === "list" && b.kind === "list") return sameType(a.element, b.element);
  if (a.kind === "object" || a.kind === "set") return false;
  return true;
}

/** The more specific of two same types (a list with a known element over an empty one). */
export function unify(a: Type, b: Type): Type {
  if (a.kind === "list" && b.kind === "list" && a.element === null) return b;
  return a;
}

/** Whether a type can be tested with `==` / `!=` and `in` (int, bool, string, bytes). */
export function isScalar(t: Type): boolean {
  return t.kind === "int" || t.kind === "bool" || t.kind === "string" || t.kind === "bytes";
}

/**
 * The unit of `a * b`: a quantity times a plain int keeps the quantity's unit; two quantities
 * cannot be multiplied (undefined).
 */
export function multiplyUnit(a: Unit | null, b: Unit | null): Unit | null | undefined {
  if (a !== null && b !== null) return undefined;
  return a ?? b;
}

/**
 * The unit of `a / b`: a quantity divided by a plain int keeps its unit; a quantity divided by
 * the same unit is a plain int; anything else (plain / quantity, sat / msat) is undefined.
 */
export function divideUnit(a: Unit | null, b: Unit | null): Unit | null | undefined {
  if (b === null) return a;
  if (a === b) return null;
  return undefined;
}

/** A hint for mixing two units: how to convert, or how to write a literal with a unit. */
export function unitHint(a: Unit | null, b: Unit | null): string | undefined {
  if ((a === "sat" && b === "msat") || (a === "msat" && b === "sat")) {
    return "convert with msat(x) (sat to msat) or sat(x) (msat to sat, truncating)";
  }
  if (a === null && b !== null) return `write the number with its unit, e.g. "0 ${b}"`;
  if (b === null && a !== null) return `write the number with its unit, e.g. "0 ${a}"`;
  return undefined;
}
