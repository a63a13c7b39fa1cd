/**
 * The fact registry: core modules register each request kind with a zod object schema of the facts
 * it provides, and each named set (`wallet`, `allowlist`, ...) with its element type. The checker
 * derives the language type of every fact path from these schemas (policy/README.md, "Facts and
 * type checking").
 *
 * Fact value conventions: integers are `number` (`z.number().int()`) or `bigint` (`z.bigint()`),
 * with their unit in zod metadata (`.meta({ unit: "msat" })`); booleans; strings (or `z.enum`);
 * bytes are lowercase hex strings marked `.meta({ type: "bytes" })`; arrays; nested objects. Every
 * field is always present (no optional fields). A field marked `.meta({ secret: true })` is refused:
 * facts never hold secrets.
 *
 * @module
 */
import { z } from "zod";
import type { Unit } from "./ast.ts";
import { BOOL, BYTES, intOf, isScalar, STRING, type Type, typeName, UNITS } from "./units.ts";

/** A schema could not be registered (unsupported type, secret field, name clash). */
export class RegistryError extends Error {
  /**
   * Creates the error.
   * @param message what is wrong, naming the kind or set and the field path
   */
  constructor(message: string) {
    super(message);
    this.name = "RegistryError";
  }
}

/** A zod schema of one field or set member (`fact.msat()`, `z.boolean()`, ...). */
export interface FieldSchema {
  /** Zod's validation entry point (only its presence is relied on here). */
  safeParse(data: unknown): { success: boolean };
}

/** A zod object schema of a kind's facts (`z.object({ ... })`); checked at registration. */
export interface FactSchema extends FieldSchema {
  /** The object's fields. */
  readonly shape: Readonly<Record<string, unknown>>;
}

/** A registered request kind. */
export interface KindInfo {
  /** The kind's name (`sign_counterparty_commitment`). */
  name: string;
  /** What the request is. */
  description: string;
  /** The facts' schema. */
  schema: FactSchema;
  /** The language type of the facts (an object type). */
  type: Type & { kind: "object" };
}

/** A registered set. */
export interface SetInfo {
  /** The set's name (`wallet`). */
  name: string;
  /** What it holds. */
  description: string;
  /** The element type (a scalar). */
  element: Type;
}

/** One leaf of a kind's facts, for listings (`policy explain`). */
export interface FactPathInfo {
  /** The dotted path; list elements are written `list[].field`. */
  path: string;
  /** The language type. */
  type: Type;
  /** The type's readable name (`msat`, `bool`, `list of bytes`). */
  typeName: string;
}

/** Words that cannot name a top-level fact (they start other expressions). */
const RESERVED_ROOTS = new Set([
  "param",
  "and",
  "or",
  "not",
  "implies",
  "between",
  "in",
  "all",
  "any",
  "if",
  "then",
  "else",
  "true",
  "false",
]);

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

function metaOf(schema: z.ZodType): Record<string, unknown> {
  return (schema.meta() ?? {}) as Record<string, unknown>;
}

/** Derives the language type of a zod schema; `where` names the field in errors. */
export function typeOfSchema(field: FieldSchema, where: string): Type {
  if (!(field instanceof z.ZodType)) throw new RegistryError(`${where} is not a zod schema`);
  const schema: z.ZodType = field;
  const meta = metaOf(schema);
  if (meta.secret === true) {
    throw new RegistryError(`${where} is marked secret: facts never hold secrets`);
  }
  const unit = meta.unit;
  if (unit !== undefined && !UNITS.includes(unit as Unit)) {
    throw new RegistryError(`${where} has unknown unit ${JSON.stringify(unit)}`);
  }
  const unitless = (kind: string): void => {
    if (unit !== undefined) {
      throw new RegistryError(`${where} is a ${kind} and cannot carry a unit`);
    }
  };
  if (schema instanceof z.ZodNumber) {
    if (!schema.isInt) {
      throw new RegistryError(`${where} is a number that is not an integer: use z.number().int()`);
    }
    return intOf((unit as Unit | undefined) ?? null);
  }
  if (schema instanceof z.ZodBigInt) return intOf((unit as Unit | undefined) ?? null);
  if (schema instanceof z.ZodBoolean) {
    unitless("boolean");
    return BOOL;
  }
  if (schema instanceof z.ZodString) {
    unitless("string");
    return meta.type === "bytes" ? BYTES : STRING;
  }
  if (schema instanceof z.ZodEnum) {
    unitless("string");
    return { kind: "string", values: schema.options.map(String) };
  }
  if (schema instanceof z.ZodArray) {
    unitless("list");
    return { kind: "list", element: typeOfSchema(schema.element as z.ZodType, `${where}[]`) };
  }
  if (schema instanceof z.ZodObject) {
    unitless("object");
    const fields = new Map<string, Type>();
    for (const [key, field] of Object.entries(schema.shape)) {
      if (!NAME.test(key)) throw new RegistryError(`${where}.${key}: field names are identifiers`);
      fields.set(key, typeOfSchema(field as z.ZodType, `${where}.${key}`));
    }
    return { kind: "object", fields };
  }
  throw new RegistryError(
    `${where} has an unsupported type (${schema.def.type}): facts are integers, booleans, ` +
      "strings, bytes, lists and objects, always present",
  );
}

/** Request kinds and sets known to the policy checker. */
export class FactRegistry {
  readonly #kinds = new Map<string, KindInfo>();
  readonly #sets = new Map<string, SetInfo>();

  /**
   * Registers a request kind and the schema of its facts.
   * @param kind the kind's name (an identifier)
   * @param schema a zod object schema of the facts
   * @param options `description`: what the request is
   * @throws {RegistryError} on a duplicate kind, an unsupported or secret field, or a top-level
   *   field named like a set or a keyword
   */
  registerKind(kind: string, schema: FactSchema, options: { description: string }): void {
    if (!(schema instanceof z.ZodObject)) {
      throw new RegistryError(`the schema of kind ${kind} is not a zod object`);
    }
    if (!NAME.test(kind)) {
      throw new RegistryError(`kind ${JSON.stringify(kind)} is not an identifier`);
    }
    if (this.#kinds.has(kind)) throw new RegistryError(`kind ${kind} is already registered`);
    const type = typeOfSchema(schema, kind) as KindInfo["type"];
    for (const root of type.fields.keys()) {
      if (RESERVED_ROOTS.has(root)) {
        throw new RegistryError(`${kind}.${root}: "${root}" cannot name a top-level fact`);
      }
      if (this.#sets.has(root)) {
        throw new RegistryError(`${kind}.${root}: a set is already named "${root}"`);
      }
    }
    this.#kinds.set(kind, { name: kind, description: options.description, schema, type });
  }

  /**
   * Registers a named set, supplied at evaluation time as `{ has(value): boolean }`.
   * @param name the set's name (an identifier)
   * @param options `element`: a zod schema of the members (a scalar, e.g. `fact.bytes()`);
   *   `description`: what the set holds
   * @throws {RegistryError} on a duplicate, a non-scalar element, or a clash with a fact name
   */
  registerSet(name: string, options: { element: FieldSchema; description: string }): void {
    if (!NAME.test(name) || RESERVED_ROOTS.has(name)) {
      throw new RegistryError(`set ${JSON.stringify(name)} is not a usable name`);
    }
    if (this.#sets.has(name)) throw new RegistryError(`set ${name} is already registered`);
    for (const kind of this.#kinds.values()) {
      if (kind.type.fields.has(name)) {
        throw new RegistryError(`set ${name}: kind ${kind.name} has a top-level fact "${name}"`);
      }
    }
    const element = typeOfSchema(options.element, `set ${name}`);
    if (!isScalar(element)) {
      throw new RegistryError(
        `set ${name}: members are ints, strings or bytes, not ${typeName(element)}`,
      );
    }
    this.#sets.set(name, { name, description: options.description, element });
  }

  /** The kind, if registered. */
  kind(name: string): KindInfo | undefined {
    return this.#kinds.get(name);
  }

  /** Every registered kind, in registration order. */
  kinds(): KindInfo[] {
    return [...this.#kinds.values()];
  }

  /** The set, if registered. */
  set(name: string): SetInfo | undefined {
    return this.#sets.get(name);
  }

  /** Every registered set, in registration order. */
  sets(): SetInfo[] {
    return [...this.#sets.values()];
  }

  /** Every leaf path of a kind's facts (lists as `list[]`), in schema order. */
  factPaths(kind: string): FactPathInfo[] {
    const info = this.#kinds.get(kind);
    if (info === undefined) return [];
    const out: FactPathInfo[] = [];
    const walk = (prefix: string, t: Type): void => {
      if (t.kind === "object") {
        for (const [k, v] of t.fields) walk(prefix === "" ? k : `${prefix}.${k}`, v);
      } else {
        out.push({ path: prefix, type: t, typeName: typeName(t) });
        if (t.kind === "list" && t.element?.kind === "object") walk(`${prefix}[]`, t.element);
      }
    };
    walk("", info.type);
    return out;
  }

  /**
   * Validates facts against a kind's schema (for tests and development; `evaluate` trusts the
   * core and does not re-validate). Returns the parsed facts.
   * @throws {RegistryError} on an unknown kind or facts that do not match
   */
  validate(kind: string, facts: unknown): Record<string, unknown> {
    const info = this.#kinds.get(kind);
    if (info === undefined) throw new RegistryError(`unknown kind ${kind}`);
    const result = (info.schema as z.ZodObject).safeParse(facts);
    if (!result.success) {
      const first = result.error.issues[0];
      throw new RegistryError(
        `facts of ${kind} do not match: ${first.path.join(".")}: ${first.message}`,
      );
    }
    return result.data as Record<string, unknown>;
  }
}

/** Helpers for fact schema authors: integer leaves with their unit, and bytes. */
export const fact = {
  /** An amount in satoshi (`bigint`). */
  sat: (): z.ZodBigInt => z.bigint().meta({ unit: "sat" }),
  /** An amount in millisatoshi (`bigint`). */
  msat: (): z.ZodBigInt => z.bigint().meta({ unit: "msat" }),
  /** A number of blocks (heights, depths, delays; `number`). */
  blocks: (): z.ZodNumber => z.number().int().meta({ unit: "blocks" }),
  /** A time or duration in seconds (`number`). */
  seconds: (): z.ZodNumber => z.number().int().meta({ unit: "seconds" }),
  /** A feerate in satoshi per 1000 weight units (`number`). */
  perKw: (): z.ZodNumber => z.number().int().meta({ unit: "per-kw" }),
  /** A plain integer (counts, indices, versions; `number`). */
  int: (): z.ZodNumber => z.number().int(),
  /** Bytes as lowercase hex. */
  bytes: (): z.ZodString => z.string().regex(/^(?:[0-9a-f]{2})*$/).meta({ type: "bytes" }),
};
