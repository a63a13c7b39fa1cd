/**
 * Runtime values shared by the compiler, the reference interpreter and the engine.
 *
 * Integers are exact: every integer fact (`number` or `bigint`) is read as a `bigint`; division
 * truncates toward zero; there are no floats. Bytes are lowercase hex strings. A failure while
 * evaluating (a missing fact, division by zero, a set that was not supplied) is an
 * {@link EvalError}; the engine reports it as a violation of the clause (fail closed).
 *
 * @module
 */

/** A set supplied at evaluation time (`wallet`, `allowlist`, ...). */
export interface PolicySet {
  /** Whether the value is a member (bytes and strings as strings, integers as `bigint`). */
  has(value: unknown): boolean;
}

/** A runtime value. */
export type Value = bigint | boolean | string | readonly unknown[] | object;

/** The facts of one request: a plain object following the kind's schema. */
export type Facts = Readonly<Record<string, unknown>>;

/** JSON-safe data (decisions and violation facts; `bigint` becomes a decimal string). */
export type JsonValue = string | number | boolean | null | JsonValue[] | {
  [key: string]: JsonValue;
};

/** Evaluating a clause failed (a missing or malformed fact, division by zero, a missing set). */
export class EvalError extends Error {
  /**
   * Creates the error.
   * @param message what failed (never contains fact values)
   */
  constructor(message: string) {
    super(message);
    this.name = "EvalError";
  }
}

/** A fact the clause reads is absent from the request's facts. */
export class MissingFactError extends EvalError {
  /** The missing path (`commitment.htlcs[2].amount_sat`). */
  readonly path: string;

  /**
   * Creates the error.
   * @param path the dotted path of the missing fact
   */
  constructor(path: string) {
    super(`fact ${path} is missing`);
    this.name = "MissingFactError";
    this.path = path;
  }
}

/**
 * Reads one field of a fact object: integers become `bigint`; an absent field is a
 * {@link MissingFactError}; a non-integer number an {@link EvalError}.
 */
export function field(object: unknown, key: string, path: () => string): Value {
  if (object === null || typeof object !== "object") throw new MissingFactError(path());
  const v = (object as Record<string, unknown>)[key];
  if (v === undefined || v === null) throw new MissingFactError(path());
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new EvalError(`fact ${path()} is not an integer`);
    return BigInt(v);
  }
  return v as Value;
}

/** The value as a list, or an {@link EvalError}. */
export function asList(v: Value, what: () => string): readonly unknown[] {
  if (!Array.isArray(v)) throw new EvalError(`${what()} is not a list`);
  return v;
}

/** A list element read through a variable: integers become `bigint`. */
export function element(v: unknown, what: () => string): Value {
  if (v === undefined || v === null) throw new MissingFactError(what());
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new EvalError(`${what()} is not an integer`);
    return BigInt(v);
  }
  return v as Value;
}

/** Whether a list holds `v` (integer elements given as `number` compare as integers). */
export function contains(list: readonly unknown[], v: Value): boolean {
  for (const e of list) {
    if (e === v) return true;
    if (
      typeof e === "number" && typeof v === "bigint" && Number.isSafeInteger(e) && BigInt(e) === v
    ) {
      return true;
    }
  }
  return false;
}

/** Integer division truncating toward zero; division by zero is an {@link EvalError}. */
export function divide(a: bigint, b: bigint): bigint {
  if (b === 0n) throw new EvalError("division by zero");
  return a / b;
}

/** The set named `name` from the evaluation's sets, or an {@link EvalError}. */
export function lookupSet(sets: Readonly<Record<string, PolicySet>>, name: string): PolicySet {
  const set = sets[name];
  if (set === undefined) throw new EvalError(`set ${name} was not supplied`);
  return set;
}

/** A JSON-safe copy (bigint to decimal string; objects and lists copied). */
export function jsonSafe(v: unknown): JsonValue {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return Number.isSafeInteger(v) ? String(v) : v;
  if (typeof v === "string" || typeof v === "boolean" || v === null) return v;
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (typeof v === "object") {
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = jsonSafe(x);
    return out;
  }
  return null;
}
