import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { locationOf, sourceText } from "../../policy/ast.ts";

Deno.test("ast: locationOf and sourceText", () => {
  const span = { file: "f.policy", start: 6, end: 11, line: 2, column: 3 };
  deepStrictEqual(locationOf(span), { file: "f.policy", line: 2, column: 3 });
  strictEqual(sourceText("abc\n  hello world", span), "hello");
});
