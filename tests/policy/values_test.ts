import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  asList,
  contains,
  divide,
  element,
  field,
  jsonSafe,
  lookupSet,
  MissingFactError,
} from "../../policy/values.ts";

Deno.test("values: fields read integers as bigint and fail on absent or fractional values", () => {
  const label = () => "a.b";
  strictEqual(field({ b: 5 }, "b", label), 5n);
  strictEqual(field({ b: 5n }, "b", label), 5n);
  strictEqual(field({ b: "00" }, "b", label), "00");
  strictEqual(field({ b: false }, "b", label), false);
  throws(() => field({}, "b", label), { name: "MissingFactError", message: "fact a.b is missing" });
  throws(() => field({ b: null }, "b", label), { name: "MissingFactError" });
  throws(() => field(undefined, "b", label), { name: "MissingFactError" });
  throws(() => field({ b: 1.5 }, "b", label), {
    name: "EvalError",
    message: "fact a.b is not an integer",
  });
  strictEqual(new MissingFactError("x.y").path, "x.y");
  strictEqual(element(7, label), 7n);
  throws(() => element(undefined, label), { name: "MissingFactError" });
  throws(() => asList(5n, () => "x"), { name: "EvalError", message: "x is not a list" });
  deepStrictEqual(asList([1], () => "x"), [1]);
});

Deno.test("values: division truncates toward zero and refuses zero", () => {
  strictEqual(divide(7n, 2n), 3n);
  strictEqual(divide(-7n, 2n), -3n);
  strictEqual(divide(7n, -2n), -3n);
  throws(() => divide(1n, 0n), { name: "EvalError", message: "division by zero" });
});

Deno.test("values: membership, sets and JSON-safe copies", () => {
  strictEqual(contains([1, 2], 2n), true);
  strictEqual(contains([1n, 2n], 2n), true);
  strictEqual(contains(["ab"], "ab"), true);
  strictEqual(contains([1.5], 1n), false);
  strictEqual(contains([], 1n), false);
  const wallet = new Set(["00"]);
  strictEqual(lookupSet({ wallet }, "wallet"), wallet);
  throws(() => lookupSet({}, "wallet"), {
    name: "EvalError",
    message: "set wallet was not supplied",
  });
  deepStrictEqual(jsonSafe({ a: 1n, b: [2, true, "x"], c: { d: null }, e: 1.5, f: undefined }), {
    a: "1",
    b: ["2", true, "x"],
    c: { d: null },
    e: 1.5,
    f: null,
  });
});
