import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { z } from "zod";
import { fact, FactRegistry, loadPolicy, type StoreWrite } from "../../policy/mod.ts";

Deno.test("mod: the README's engine walk-through, end to end", () => {
  const registry = new FactRegistry();
  registry.registerSet("wallet", { element: fact.bytes(), description: "scripts we control" });
  registry.registerKind(
    "sign_onchain",
    z.object({
      tx: z.object({
        outputs: z.array(z.object({ script: fact.bytes(), amount_sat: fact.sat() })),
      }),
    }),
    { description: "sign a withdrawal" },
  );
  const files: Record<string, string> = {
    "rules/site.policy": `policy "site" version 2
include "default.policy"
param max_out = 2_000 sat
`,
    "rules/default.policy": `policy "default" version 1
param max_out = 1_000 sat
rule onchain-to-wallet "Every output pays our wallet." on sign_onchain
  require all o in tx.outputs: o.script in wallet
rule onchain-daily "At most max_out leaves per day." on sign_onchain
  limit sum sum(o in tx.outputs: o.amount_sat) over 24h <= param.max_out
`,
  };
  const policy = loadPolicy("rules/site.policy", {
    registry,
    network: "bitcoin",
    readFile: (p) => files[p],
  });
  const wallet = new Set(["0014aa"]);
  const facts = { tx: { outputs: [{ script: "0014aa", amount_sat: 1_500n }] } };
  const decision = policy.evaluate("sign_onchain", facts, { now: 1_000_000, sets: { wallet } });
  strictEqual(decision.allowed, true);
  const writes: StoreWrite[] = policy.limitWrites(decision);
  deepStrictEqual(writes.map((w) => [w.key, w.version]), [["policy/limit/onchain-daily/0", 0]]);
  policy.commitLimits(decision);
  const again = policy.evaluate("sign_onchain", facts, { now: 1_000_060, sets: { wallet } });
  deepStrictEqual(again.violations.map((v) => [v.rule, v.facts["limit.window_total"]]), [[
    "onchain-daily",
    "1500",
  ]]);
});
