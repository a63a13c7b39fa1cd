import { strictEqual } from "node:assert/strict";
import { GRAMMAR_SOURCE } from "../../policy/grammar.ts";

Deno.test("grammar.ts embeds policy/policy.ohm exactly", () => {
  const source = Deno.readTextFileSync(new URL("../../policy/policy.ohm", import.meta.url));
  strictEqual(
    GRAMMAR_SOURCE,
    source,
    "policy/grammar.ts is stale: run deno run --allow-read --allow-write policy/grammar.ts",
  );
});
