/**
 * `policy explain` data and text: a rule's severity and deciding filter, clauses, facts with types
 * and units, parameters with per-network values and override history, sets, examples; unknown rules
 * with hints; value formatting.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { loadPolicy, type Policy } from "../../policy/engine.ts";
import {
  explainRule,
  findRule,
  formatExplanation,
  formatLocation,
  formatValue,
  groupDigits,
  UnknownRuleError,
} from "../../policy/explain.ts";
import { memoryFiles, testRegistry } from "./fixtures/registry.ts";

const DEFAULT = `policy "default" version 1
param max_feerate "Highest feerate." = 25_000 per-kw
  on test = 333_333 per-kw
param min_feerate = 253 per-kw
param max_per_day = 1_000_000 msat
param types = ["anchors"]
rule policy-commitment-fee-range alias policy-fee
  "The feerate is in range."
  on sign_counterparty_commitment, validate_holder_commitment
  when commitment.number > 0
  require commitment.feerate_per_kw between param.min_feerate and param.max_feerate
  example allow "typical" { commitment: { number: 1, feerate_per_kw: 2_500 per-kw } }
  example refuse { commitment: { number: 1, feerate_per_kw: 26_000 per-kw } }
rule policy-onchain-output mandatory temporary
  "Outputs pay the wallet."
  on sign_onchain
  require all o in tx.outputs: o.script in wallet
rule policy-payment-velocity
  "Payments per day."
  on preapprove_invoice
  limit sum payment.amount_msat over 24h <= param.max_per_day
  example refuse on preapprove_invoice { payment.amount_msat: 2_000_000 msat }
`;

const SITE = `policy "site" version 2
include "default.policy"
param max_feerate on regtest = 1_000_000 per-kw
param min_feerate "Our floor." = 300 per-kw
filter policy-fee warn
filter policy-commitment-* error
`;

function load(network: "bitcoin" | "regtest" = "bitcoin"): Policy {
  return loadPolicy("site.policy", {
    registry: testRegistry(),
    network,
    readFile: memoryFiles({ "site.policy": SITE, "default.policy": DEFAULT }),
  });
}

Deno.test("explain: severity, deciding filter, clauses, facts, parameters with history", () => {
  const e = explainRule(load("regtest"), "policy-commitment-fee-range", {
    registry: testRegistry(),
  });
  strictEqual(e.id, "policy-commitment-fee-range");
  deepStrictEqual(e.aliases, ["policy-fee"]);
  strictEqual(e.severity, "optional");
  strictEqual(e.action, "warn");
  deepStrictEqual(e.decidedBy, { pattern: "policy-fee", location: "site.policy:5:1" });
  strictEqual(e.location, "default.policy:7:1");
  ok(e.source.startsWith("rule policy-commitment-fee-range alias policy-fee\n"));
  ok(e.source.endsWith("feerate_per_kw: 26_000 per-kw } }"));
  deepStrictEqual(e.clauses, [{
    index: 0,
    location: "default.policy:9:3",
    kinds: ["sign_counterparty_commitment", "validate_holder_commitment"],
    check: "require",
    guard: "commitment.number > 0",
    condition: "commitment.feerate_per_kw between param.min_feerate and param.max_feerate",
    facts: ["commitment.number", "commitment.feerate_per_kw"],
    params: ["min_feerate", "max_feerate"],
    sets: [],
  }]);
  deepStrictEqual(e.facts, [
    {
      path: "commitment.number",
      type: "int",
      unit: null,
      kinds: ["sign_counterparty_commitment", "validate_holder_commitment"],
    },
    {
      path: "commitment.feerate_per_kw",
      type: "per-kw",
      unit: "per-kw",
      kinds: ["sign_counterparty_commitment", "validate_holder_commitment"],
    },
  ]);
  deepStrictEqual(e.params.map((p) => [p.name, p.value, p.description]), [
    ["min_feerate", "300 per-kw", "Our floor."],
    ["max_feerate", "1_000_000 per-kw", "Highest feerate."],
  ]);
  const max = e.params[1];
  deepStrictEqual(max.values, {
    bitcoin: "25_000 per-kw",
    testnet: "333_333 per-kw",
    testnet4: "333_333 per-kw",
    signet: "333_333 per-kw",
    regtest: "1_000_000 per-kw",
  });
  deepStrictEqual(max.history, [
    {
      kind: "definition",
      location: "default.policy:2:1",
      values: {
        bitcoin: "25_000 per-kw",
        testnet: "333_333 per-kw",
        testnet4: "333_333 per-kw",
        signet: "333_333 per-kw",
        regtest: "333_333 per-kw",
      },
    },
    { kind: "override", location: "site.policy:3:1", values: { regtest: "1_000_000 per-kw" } },
  ]);
  strictEqual(max.setAt.regtest, "site.policy:3:1");
  strictEqual(max.setAt.bitcoin, "default.policy:2:1");
  deepStrictEqual(e.filters, [
    { pattern: "policy-fee", action: "warn", location: "site.policy:5:1", decides: true },
    {
      pattern: "policy-commitment-*",
      action: "error",
      location: "site.policy:6:1",
      decides: false,
    },
  ]);
  deepStrictEqual(e.examples, [
    { expect: "allow", name: "typical", named: true, location: "default.policy:12:3" },
    { expect: "refuse", name: "#2", named: false, location: "default.policy:13:3" },
  ]);
});

Deno.test("explain: sets, limits, mandatory and temporary rules, aliases asked", () => {
  const policy = load();
  const registry = testRegistry();
  const onchain = explainRule(policy, "policy-onchain-output", { registry });
  strictEqual(onchain.severity, "mandatory, temporary");
  strictEqual(onchain.action, "error");
  strictEqual(onchain.decidedBy, undefined);
  deepStrictEqual(onchain.sets, [
    { name: "wallet", element: "bytes", description: "scripts our wallet controls" },
  ]);
  deepStrictEqual(onchain.facts.map((f) => [f.path, f.type]), [
    ["tx.outputs", "list of object"],
    ["tx.outputs[].script", "bytes"],
  ]);
  const limit = explainRule(policy, "policy-payment-velocity", { registry });
  deepStrictEqual(limit.clauses[0].limit, {
    amount: "payment.amount_msat",
    window: "24h",
    windowSeconds: 86400,
    cap: "param.max_per_day",
  });
  strictEqual(limit.examples[0].kind, "preapprove_invoice");
  const byAlias = explainRule(policy, "policy-fee", { registry });
  strictEqual(byAlias.id, "policy-commitment-fee-range");
  strictEqual(byAlias.asked, "policy-fee");
  const text = formatExplanation(byAlias);
  ok(text.startsWith("rule policy-commitment-fee-range (asked as its alias policy-fee)\n"));
});

Deno.test("explain: the text", () => {
  const text = formatExplanation(
    explainRule(load("regtest"), "policy-commitment-fee-range", { registry: testRegistry() }),
  );
  strictEqual(
    text,
    `rule policy-commitment-fee-range
  aliases: policy-fee
  severity: optional; violations are warnings: demoted by filter policy-fee warn at site.policy:5:1
  description: The feerate is in range.
  defined at: default.policy:7:1

source:
  | rule policy-commitment-fee-range alias policy-fee
  |   "The feerate is in range."
  |   on sign_counterparty_commitment, validate_holder_commitment
  |   when commitment.number > 0
  |   require commitment.feerate_per_kw between param.min_feerate and param.max_feerate
  |   example allow "typical" { commitment: { number: 1, feerate_per_kw: 2_500 per-kw } }
  |   example refuse { commitment: { number: 1, feerate_per_kw: 26_000 per-kw } }

clauses:
  clause 0 at default.policy:9:3
    on sign_counterparty_commitment, validate_holder_commitment
    when commitment.number > 0
    require commitment.feerate_per_kw between param.min_feerate and param.max_feerate

facts read:
  commitment.number: plain integer (on sign_counterparty_commitment, validate_holder_commitment)
  commitment.feerate_per_kw: integer in per-kw (on sign_counterparty_commitment, validate_holder_commitment)

parameters read (values on regtest):
  param.min_feerate = 300 per-kw  (per-kw)
    Our floor.
    values: 300 per-kw on every network
    defined at default.policy:4:1: 253 per-kw on every network
    overridden at site.policy:4:1: 300 per-kw on every network
    regtest value set at site.policy:4:1
  param.max_feerate = 1_000_000 per-kw  (per-kw)
    Highest feerate.
    values: bitcoin 25_000 per-kw; testnet, testnet4, signet 333_333 per-kw; regtest 1_000_000 per-kw
    defined at default.policy:2:1: bitcoin 25_000 per-kw; testnet, testnet4, signet, regtest 333_333 per-kw
    overridden at site.policy:3:1: regtest 1_000_000 per-kw
    regtest value set at site.policy:3:1

filters:
  filter policy-fee warn at site.policy:5:1: decides: demotes violations to warnings
  filter policy-commitment-* error at site.policy:6:1: matches, but an earlier filter decides

examples: 2
  allow "typical" at default.policy:12:3
  refuse #2 at default.policy:13:3
`,
  );
});

Deno.test("explain: an unknown rule is an error with a near id or alias", () => {
  const policy = load();
  throws(
    () => explainRule(policy, "policy-commitment-fee-rang", { registry: testRegistry() }),
    (err: unknown) => {
      ok(err instanceof UnknownRuleError);
      strictEqual(err.hint, 'did you mean "policy-commitment-fee-range"?');
      return true;
    },
  );
  throws(() => findRule(policy, "policy-fe"), (err: unknown) => {
    ok(err instanceof UnknownRuleError);
    strictEqual(err.hint, 'did you mean "policy-fee"?');
    strictEqual(err.message, 'unknown rule policy-fe (hint: did you mean "policy-fee"?)');
    return true;
  });
  throws(() => findRule(policy, "zzz"), (err: unknown) => {
    ok(err instanceof UnknownRuleError);
    strictEqual(err.hint, undefined);
    strictEqual(err.message, "unknown rule zzz");
    return true;
  });
});

Deno.test("explain: values as policy literals", () => {
  strictEqual(groupDigits("1000"), "1000");
  strictEqual(groupDigits("25000"), "25_000");
  strictEqual(groupDigits("-1000000"), "-1_000_000");
  strictEqual(groupDigits("21000000000000000"), "21_000_000_000_000_000");
  strictEqual(formatValue("25000", { kind: "int", unit: "per-kw" }), "25_000 per-kw");
  strictEqual(formatValue("7", { kind: "int", unit: null }), "7");
  strictEqual(formatValue(true, { kind: "bool" }), "true");
  strictEqual(formatValue("0014ab", { kind: "bytes" }), "0x0014ab");
  strictEqual(formatValue('a"b', { kind: "string" }), '"a\\"b"');
  strictEqual(
    formatValue(["a", "b"], { kind: "list", element: { kind: "string" } }),
    '["a", "b"]',
  );
  strictEqual(formatValue([], { kind: "list", element: null }), "[]");
  strictEqual(formatLocation({ file: "f", line: 3, column: 9 }), "f:3:9");
});
