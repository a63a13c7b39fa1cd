/**
 * A JSON codec for state documents that hold `bigint` amounts and `Uint8Array` bytes, which plain
 * `JSON.stringify` cannot represent.
 *
 * Encoding (tagged, self-describing, canonical):
 * - a `bigint` is `{"$bigint": "<decimal>"}` (e.g. `{"$bigint":"-42"}`, no leading zeros, no `-0`);
 * - a `Uint8Array` is `{"$bytes": "<lower-case hex>"}`;
 * - `null`, booleans, strings, finite numbers, arrays and plain objects are plain JSON.
 *
 * Refused with {@link JsonCodecError}: functions, symbols, `NaN` and infinities, `undefined` or
 * holes in arrays, class instances (`Date`, `Map`, other typed arrays, ...), cycles, symbol keys,
 * and objects with a key named `$bigint` or `$bytes` (so a tag can never be confused with data).
 * An object property whose value is `undefined` is left out, as `JSON.stringify` does (an optional
 * field reads back as absent); `-0` is written as `0`. Everything else round-trips exactly:
 * `fromJson(toJson(x))` is deep-equal to `x`.
 *
 * The decoded document is untyped; validate it with the state's zod schema. Error messages give
 * the path of the offending value (`$.htlcs[2].amount`), never the value itself, since documents
 * hold secrets.
 *
 * @module
 */
import { fromHex, toHex } from "../bytes.ts";

const BIGINT_TAG = "$bigint";
const BYTES_TAG = "$bytes";
const MAX_DEPTH = 256;
const DECIMAL = /^-?(?:0|[1-9][0-9]*)$/;
const LOWER_HEX = /^(?:[0-9a-f]{2})*$/;

/** A value cannot be encoded, or a text is not a valid encoding. Never quotes the value. */
export class JsonCodecError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong and where (a path such as `$.a[1]`)
   */
  constructor(message: string) {
    super(message);
    this.name = "JsonCodecError";
  }
}

function member(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
    ? `${path}.${key}`
    : `${path}[${JSON.stringify(key)}]`;
}

function encode(v: unknown, path: string, stack: object[]): unknown {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      if (!Number.isFinite(v)) throw new JsonCodecError(`${path} is not a finite number`);
      return v === 0 ? 0 : v; // -0 -> 0
    case "bigint":
      return { [BIGINT_TAG]: v.toString(10) };
    case "undefined":
      throw new JsonCodecError(`${path} is undefined`);
    case "object": {
      if (v === null) return null;
      if (v instanceof Uint8Array) return { [BYTES_TAG]: toHex(v) };
      if (stack.includes(v)) throw new JsonCodecError(`${path} is a cycle`);
      if (stack.length >= MAX_DEPTH) throw new JsonCodecError(`${path} is nested too deeply`);
      stack.push(v);
      try {
        if (Array.isArray(v)) {
          const out: unknown[] = [];
          for (let i = 0; i < v.length; i++) {
            const p = `${path}[${i}]`;
            if (!(i in v)) throw new JsonCodecError(`${p} is a hole in an array`);
            out.push(encode(v[i], p, stack));
          }
          return out;
        }
        const proto = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) {
          const name = typeof proto?.constructor === "function" ? proto.constructor.name : "object";
          throw new JsonCodecError(
            `${path} is an instance of ${name || "a class"}, not a plain object`,
          );
        }
        if (Object.getOwnPropertySymbols(v).length > 0) {
          throw new JsonCodecError(`${path} has a symbol key`);
        }
        const entries: [string, unknown][] = [];
        for (const key of Object.keys(v)) {
          const p = member(path, key);
          if (key === BIGINT_TAG || key === BYTES_TAG) {
            throw new JsonCodecError(`${p}: the key ${key} is reserved for tagged values`);
          }
          const item = (v as Record<string, unknown>)[key];
          if (item !== undefined) entries.push([key, encode(item, p, stack)]);
        }
        return Object.fromEntries(entries);
      } finally {
        stack.pop();
      }
    }
    default:
      throw new JsonCodecError(`${path} is a ${typeof v}`);
  }
}

function decode(v: unknown, path: string, depth: number): unknown {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new JsonCodecError(`${path} is not a finite number`);
    return v === 0 ? 0 : v;
  }
  if (typeof v !== "object" || v === null) return v;
  if (depth >= MAX_DEPTH) throw new JsonCodecError(`${path} is nested too deeply`);
  if (Array.isArray(v)) return v.map((item, i) => decode(item, `${path}[${i}]`, depth + 1));
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj);
  const tag = keys.find((k) => k === BIGINT_TAG || k === BYTES_TAG);
  if (tag !== undefined) {
    const text = obj[tag];
    if (keys.length !== 1 || typeof text !== "string") {
      throw new JsonCodecError(`${path}: a ${tag} tag must be the only key and hold a string`);
    }
    if (tag === BIGINT_TAG) {
      if (!DECIMAL.test(text) || text === "-0") {
        throw new JsonCodecError(`${path}: ${tag} is not a canonical decimal integer`);
      }
      return BigInt(text);
    }
    if (!LOWER_HEX.test(text)) {
      throw new JsonCodecError(`${path}: ${tag} is not even-length lower-case hex`);
    }
    return fromHex(text);
  }
  return Object.fromEntries(keys.map((k) => [k, decode(obj[k], member(path, k), depth + 1)]));
}

/**
 * The JSON text of `value`, with bigints and bytes tagged (see the module documentation). Throws
 * {@link JsonCodecError} naming the path of the first value that cannot be encoded.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(encode(value, "$", []));
}

/**
 * The value encoded by `text` (the inverse of {@link toJson}). Throws {@link JsonCodecError} when
 * `text` is not JSON or holds a malformed tag; the message never quotes the text.
 */
export function fromJson(text: string): unknown {
  if (typeof text !== "string") throw new JsonCodecError("the input is not a string");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new JsonCodecError("the input is not valid JSON"); // V8's message quotes the text
  }
  return decode(parsed, "$", 0);
}
