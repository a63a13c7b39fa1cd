import { strictEqual } from "node:assert/strict";
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
  typeName,
  unify,
  unitHint,
  UNITS,
} from "../../policy/units.ts";

Deno.test("units: the README's five units", () => {
  strictEqual(UNITS.join(" "), "sat msat blocks seconds per-kw");
});

Deno.test("units: multiplication keeps a quantity's unit; two quantities do not multiply", () => {
  strictEqual(multiplyUnit("sat", null), "sat");
  strictEqual(multiplyUnit(null, "per-kw"), "per-kw");
  strictEqual(multiplyUnit(null, null), null);
  strictEqual(multiplyUnit("sat", "sat"), undefined);
});

Deno.test("units: quantity / int keeps the unit, quantity / same unit is plain, others fail", () => {
  strictEqual(divideUnit("msat", null), "msat");
  strictEqual(divideUnit("msat", "msat"), null);
  strictEqual(divideUnit(null, null), null);
  strictEqual(divideUnit("sat", "msat"), undefined);
  strictEqual(divideUnit(null, "sat"), undefined);
});

Deno.test("units: sameType compares kinds, units and list elements", () => {
  strictEqual(sameType(intOf("sat"), intOf("sat")), true);
  strictEqual(sameType(intOf("sat"), intOf("msat")), false);
  strictEqual(sameType(INT, intOf("sat")), false);
  strictEqual(sameType(STRING, { kind: "string", values: ["a"] }), true);
  strictEqual(sameType({ kind: "list", element: null }, { kind: "list", element: BYTES }), true);
  strictEqual(sameType({ kind: "list", element: INT }, { kind: "list", element: BYTES }), false);
  strictEqual(sameType(BOOL, BYTES), false);
  strictEqual(sameType(null, BOOL), true);
  const object = { kind: "object" as const, fields: new Map() };
  strictEqual(sameType(object, object), false);
  strictEqual(unify({ kind: "list", element: null }, { kind: "list", element: INT }).kind, "list");
  strictEqual(
    typeName(unify({ kind: "list", element: null }, { kind: "list", element: INT })),
    "list of int",
  );
});

Deno.test("units: type names and hints", () => {
  strictEqual(typeName(intOf("per-kw")), "per-kw");
  strictEqual(typeName(INT), "int");
  strictEqual(typeName({ kind: "list", element: intOf("sat") }), "list of sat");
  strictEqual(typeName({ kind: "list", element: null }), "empty list");
  strictEqual(typeName({ kind: "set", name: "wallet", element: BYTES }), "set wallet of bytes");
  strictEqual(typeName(null), "anything");
  strictEqual(isScalar(BYTES), true);
  strictEqual(isScalar({ kind: "list", element: INT }), false);
  strictEqual(
    unitHint("sat", "msat"),
    "convert with msat(x) (sat to msat) or sat(x) (msat to sat, truncating)",
  );
  strictEqual(unitHint(null, "msat"), 'write the number with its unit, e.g. "0 msat"');
  strictEqual(unitHint("blocks", null), 'write the number with its unit, e.g. "0 blocks"');
  strictEqual(unitHint("blocks", "seconds"), undefined);
});
