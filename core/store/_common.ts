/**
 * Checks and orderings shared by every {@link Store} implementation, so that the memory and the
 * SQLite store accept exactly the same input and list keys in exactly the same order.
 *
 * @module
 */
import { StoreError, type StoreWrite } from "./types.ts";

/** The longest key accepted, in UTF-16 code units (leaves room for any backend's index limits). */
export const MAX_KEY_LENGTH = 1024;

/**
 * Why `text` cannot be stored, or undefined when it can. Strings must be well-formed UTF-16 (a lone
 * surrogate would not survive UTF-8 storage) and must not contain NUL (SQLite truncates bound text
 * at NUL). JSON documents never contain either: `JSON.stringify` escapes both.
 */
function textProblem(text: string): string | undefined {
  if (!text.isWellFormed()) return "is not well-formed UTF-16 (lone surrogate)";
  if (text.includes("\0")) return "contains a NUL character";
  return undefined;
}

/** Throws {@link StoreError} unless `key` is an acceptable key. The message never quotes the key. */
export function checkKey(key: unknown, where = "key"): asserts key is string {
  if (typeof key !== "string") throw new StoreError(`${where} must be a string`);
  if (key.length === 0) throw new StoreError(`${where} must not be empty`);
  if (key.length > MAX_KEY_LENGTH) {
    throw new StoreError(`${where} is longer than ${MAX_KEY_LENGTH} characters`);
  }
  const problem = textProblem(key);
  if (problem) throw new StoreError(`${where} ${problem}`);
}

/** Throws {@link StoreError} unless `prefix` is an acceptable list prefix (may be empty). */
export function checkPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== "string") throw new StoreError("prefix must be a string");
  if (prefix.length > MAX_KEY_LENGTH) {
    throw new StoreError(`prefix is longer than ${MAX_KEY_LENGTH} characters`);
  }
  const problem = textProblem(prefix);
  if (problem) throw new StoreError(`prefix ${problem}`);
}

/**
 * Validates a batch and returns a private copy of it (so a caller mutating its write objects
 * afterwards cannot affect the store). Throws {@link StoreError} naming the write's index, never
 * its value.
 */
export function checkWrites(writes: unknown): StoreWrite[] {
  if (!Array.isArray(writes)) throw new StoreError("a batch must be an array of writes");
  const out: StoreWrite[] = [];
  for (let i = 0; i < writes.length; i++) {
    const w: unknown = writes[i];
    if (typeof w !== "object" || w === null) throw new StoreError(`write ${i} is not an object`);
    const { key, value, version } = w as Record<string, unknown>;
    checkKey(key, `write ${i}: key`);
    if (value !== null) {
      if (typeof value !== "string") {
        throw new StoreError(`write ${i}: value must be a string or null`);
      }
      const problem = textProblem(value);
      if (problem) throw new StoreError(`write ${i}: value ${problem}`);
    }
    if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 0) {
      throw new StoreError(`write ${i}: version must be a non-negative safe integer`);
    }
    out.push({ key, value, version });
  }
  return out;
}

/**
 * Orders keys by Unicode code point, which is the byte order of their UTF-8 encoding (SQLite's
 * BINARY collation, PostgreSQL's `COLLATE "C"`). JavaScript's `<` compares UTF-16 code units,
 * which disagrees for characters above U+FFFF versus U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (0xD800..0xDFFF) starts a code point above U+FFFF: it sorts after every BMP unit.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * The smallest string greater, in code point order, than every string that starts with `prefix`,
 * or undefined when there is none (an empty prefix, or one made only of U+10FFFF). Keys starting
 * with `prefix` are then exactly those in `[prefix, upper)`, which an index can scan.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = Array.from(prefix, (c) => c.codePointAt(0) as number);
  while (points.length > 0) {
    const last = points.pop() as number;
    if (last < 0x10ffff) {
      points.push(last + 1 === 0xd800 ? 0xe000 : last + 1); // skip the surrogate range
      return String.fromCodePoint(...points);
    }
  }
  return undefined;
}

/**
 * Runs `fn` and turns its result or exception into a promise, so that errors always arrive as
 * rejections and never as synchronous throws from an API that is documented as async.
 */
export function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}
