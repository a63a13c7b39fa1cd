import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { z } from "zod";
import { fact, FactRegistry, typeOfSchema } from "../../policy/registry.ts";
import { typeName } from "../../policy/units.ts";
import { commitmentFacts, testRegistry } from "./fixtures/registry.ts";

Deno.test("registry: types and units derived from zod schemas", () => {
  const schema = z.object({
    a: fact.msat(),
    b: fact.sat(),
    c: fact.blocks(),
    d: fact.seconds(),
    e: fact.perKw(),
    f: fact.int(),
    g: z.bigint(),
    h: z.boolean(),
    i: z.string(),
    j: fact.bytes(),
    k: z.enum(["x", "y"]),
    l: z.array(z.object({ m: fact.sat() })),
    n: z.array(fact.bytes()),
  });
  const t = typeOfSchema(schema, "k");
  if (t.kind !== "object") throw new Error("object");
  deepStrictEqual(
    Object.fromEntries([...t.fields].map(([k, v]) => [k, typeName(v)])),
    {
      a: "msat",
      b: "sat",
      c: "blocks",
      d: "seconds",
      e: "per-kw",
      f: "int",
      g: "int",
      h: "bool",
      i: "string",
      j: "bytes",
      k: "string",
      l: "list of object",
      n: "list of bytes",
    },
  );
  deepStrictEqual(t.fields.get("k"), { kind: "string", values: ["x", "y"] });
});

Deno.test("registry: unsupported, secret and non-integer fields are refused at registration", () => {
  const r = new FactRegistry();
  const cases: [z.ZodObject, string][] = [
    [z.object({ x: z.number() }), "k.x is a number that is not an integer: use z.number().int()"],
    [
      z.object({ x: z.string().optional() }),
      "k.x has an unsupported type (optional): facts are integers, booleans, strings, bytes, lists and objects, always present",
    ],
    [
      z.object({ s: z.object({ key: fact.bytes().meta({ type: "bytes", secret: true }) }) }),
      "k.s.key is marked secret: facts never hold secrets",
    ],
    [
      z.object({ x: z.boolean().meta({ unit: "sat" }) }),
      "k.x is a boolean and cannot carry a unit",
    ],
    [z.object({ x: z.bigint().meta({ unit: "btc" }) }), 'k.x has unknown unit "btc"'],
    [
      z.object({ l: z.array(z.number()) }),
      "k.l[] is a number that is not an integer: use z.number().int()",
    ],
    [z.object({ param: fact.int() }), 'k.param: "param" cannot name a top-level fact'],
    [z.object({ and: fact.int() }), 'k.and: "and" cannot name a top-level fact'],
  ];
  for (const [schema, message] of cases) {
    throws(() => r.registerKind("k", schema, { description: "" }), {
      name: "RegistryError",
      message,
    });
  }
  throws(() => r.registerKind("bad kind", z.object({}), { description: "" }), {
    name: "RegistryError",
    message: 'kind "bad kind" is not an identifier',
  });
  r.registerKind("k", z.object({}), { description: "" });
  throws(() => r.registerKind("k", z.object({}), { description: "" }), {
    name: "RegistryError",
    message: "kind k is already registered",
  });
});

Deno.test("registry: sets have scalar elements and do not clash with top-level facts", () => {
  const r = new FactRegistry();
  r.registerKind("k", z.object({ wallet: fact.int() }), { description: "" });
  throws(() => r.registerSet("wallet", { element: fact.bytes(), description: "" }), {
    name: "RegistryError",
    message: 'set wallet: kind k has a top-level fact "wallet"',
  });
  throws(() => r.registerSet("s", { element: z.array(fact.bytes()), description: "" }), {
    name: "RegistryError",
    message: "set s: members are ints, strings or bytes, not list of bytes",
  });
  throws(() => r.registerSet("in", { element: fact.bytes(), description: "" }), {
    name: "RegistryError",
    message: 'set "in" is not a usable name',
  });
  r.registerSet("allowlist", { element: fact.bytes(), description: "allowlisted scripts" });
  throws(() => r.registerKind("j", z.object({ allowlist: fact.int() }), { description: "" }), {
    name: "RegistryError",
    message: 'j.allowlist: a set is already named "allowlist"',
  });
  throws(() => r.registerSet("allowlist", { element: fact.bytes(), description: "" }), {
    name: "RegistryError",
    message: "set allowlist is already registered",
  });
  deepStrictEqual(r.set("allowlist"), {
    name: "allowlist",
    description: "allowlisted scripts",
    element: { kind: "bytes" },
  });
  deepStrictEqual(r.sets().map((s) => s.name), ["allowlist"]);
});

Deno.test("registry: kinds, fact paths for listings, and validation of facts", () => {
  const r = testRegistry();
  deepStrictEqual(r.kinds().map((k) => k.name), [
    "sign_counterparty_commitment",
    "validate_holder_commitment",
    "preapprove_invoice",
    "preapprove_keysend",
    "sign_onchain",
    "validate_counterparty_revocation",
  ]);
  strictEqual(r.kind("nope"), undefined);
  deepStrictEqual(r.factPaths("preapprove_invoice").map((p) => `${p.path}: ${p.typeName}`), [
    "payment.amount_msat: msat",
    "payment.payee: bytes",
    "payment.already_known: bool",
    "payment.payee_allowlisted: bool",
    "payment.approved: bool",
    "invoice.created_at: seconds",
    "invoice.expiry: seconds",
    "clock.now: seconds",
  ]);
  const paths = r.factPaths("sign_counterparty_commitment").map((p) => p.path);
  strictEqual(paths.includes("commitment.htlcs"), true);
  strictEqual(paths.includes("commitment.htlcs[].amount_msat"), true);
  deepStrictEqual(r.factPaths("nope"), []);
  const facts = commitmentFacts(2);
  strictEqual(r.validate("sign_counterparty_commitment", facts).chain !== undefined, true);
  throws(() => r.validate("sign_counterparty_commitment", { ...facts, chain: { height: 1.5 } }), {
    name: "RegistryError",
    message: /^facts of sign_counterparty_commitment do not match: chain\.height: /,
  });
  throws(() => r.validate("nope", {}), { name: "RegistryError", message: "unknown kind nope" });
  const bytes = fact.bytes();
  strictEqual(bytes.safeParse("00ab").success, true);
  strictEqual(bytes.safeParse("00AB").success, false);
  strictEqual(bytes.safeParse("0ab").success, false);
});

Deno.test("registry: schemas must be zod schemas", () => {
  const r = new FactRegistry();
  const fake = { shape: {}, safeParse: () => ({ success: true }) };
  throws(() => r.registerKind("k", fake, { description: "" }), {
    name: "RegistryError",
    message: "the schema of kind k is not a zod object",
  });
  throws(() => r.registerSet("s", { element: fake, description: "" }), {
    name: "RegistryError",
    message: "set s is not a zod schema",
  });
});
