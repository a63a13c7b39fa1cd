/**
 * `policy diff`: rules, clauses, examples, parameters (with tightening / loosening inferred from
 * how each parameter is used), filters and includes; layout-only changes are no changes; the
 * result is JSON-safe and its text is stable.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { loadPolicy, type Policy } from "../../policy/engine.ts";
import { diffPolicies, formatDiff, isEmptyDiff, type ParamChange } from "../../policy/diff.ts";
import { memoryFiles, testRegistry } from "./fixtures/registry.ts";

const C = "sign_counterparty_commitment";

function load(files: Record<string, string>): Policy {
  return loadPolicy(Object.keys(files)[0], {
    registry: testRegistry(),
    network: "bitcoin",
    readFile: memoryFiles(files),
  });
}

function policy(body: string, version = 1): Policy {
  return load({ "dir/p.policy": `policy "p" version ${version}\n${body}` });
}

/** The change of one parameter used by `rule` when its value goes from `a` to `b`. */
function paramChange(rule: string, a: string, b: string, extra = ""): ParamChange | undefined {
  const old = policy(`param x = ${a}\n${extra}rule r "d" on ${C} ${rule}\n`);
  const now = policy(`param x = ${b}\n${extra}rule r "d" on ${C} ${rule}\n`);
  return diffPolicies(old, now).params.changed[0];
}

Deno.test("diff: identical policies, and layout, comments, parentheses, grouping do not count", () => {
  const a = policy(`param x = 25000 sat
rule r "d" on ${C} require commitment.fee_sat <= param.x and commitment.number > 0
  example allow { commitment: { fee_sat: 1 sat, number: 1 } }
`);
  const b = policy(`# a comment
param x = 25_000 sat
rule r
  "d"
  on ${C}
  require (commitment.fee_sat <= param.x)  # why
          and commitment.number > 0
  example allow { commitment: { fee_sat: 1 sat, number: 1, } }
`);
  const d = diffPolicies(a, b);
  ok(isEmptyDiff(d), JSON.stringify(d));
  strictEqual(
    formatDiff(d),
    '--- dir/p.policy: policy "p" version 1\n+++ dir/p.policy: policy "p" version 1\nno differences\n',
  );
});

Deno.test("diff: effects of parameter changes follow how the parameter is used", () => {
  const cases: [string, string, string, string | undefined, string | undefined][] = [
    // [rule, old, new, use, effect]
    ["require commitment.fee_sat <= param.x", "5 sat", "6 sat", "upper bound", "loosening"],
    ["require commitment.fee_sat < param.x", "5 sat", "4 sat", "upper bound", "tightening"],
    ["require param.x >= commitment.fee_sat", "5 sat", "6 sat", "upper bound", "loosening"],
    ["require commitment.fee_sat >= param.x", "5 sat", "6 sat", "lower bound", "tightening"],
    ["require param.x < commitment.fee_sat", "5 sat", "4 sat", "lower bound", "loosening"],
    [
      "require commitment.fee_sat between param.x and 9 sat",
      "5 sat",
      "6 sat",
      "lower bound",
      "tightening",
    ],
    [
      "require commitment.fee_sat between 1 sat and param.x",
      "5 sat",
      "6 sat",
      "upper bound",
      "loosening",
    ],
    ["require not (commitment.fee_sat > param.x)", "5 sat", "6 sat", "upper bound", "loosening"],
    [
      "require commitment.fee_sat <= commitment.htlc_total_sat - param.x",
      "5 sat",
      "6 sat",
      "lower bound",
      "tightening",
    ],
    ["require commitment.fee_sat <= param.x * 2", "5 sat", "6 sat", "upper bound", "loosening"],
    [
      "require commitment.fee_sat <= max(param.x, commitment.htlc_total_sat)",
      "5 sat",
      "6 sat",
      "upper bound",
      "loosening",
    ],
    [
      "when commitment.fee_sat > param.x require false",
      "5 sat",
      "6 sat",
      "upper bound",
      "loosening",
    ],
    [
      "require commitment.fee_sat > param.x implies commitment.is_retry",
      "5 sat",
      "6 sat",
      "upper bound",
      "loosening",
    ],
    // unknown: equality, products with non-literals, uses that disagree
    ["require commitment.fee_sat == param.x", "5 sat", "6 sat", undefined, undefined],
    [
      "require commitment.fee_sat <= param.x * commitment.htlc_count",
      "5 sat",
      "6 sat",
      undefined,
      undefined,
    ],
    [
      "require commitment.fee_sat <= param.x and commitment.htlc_total_sat >= param.x",
      "5 sat",
      "6 sat",
      undefined,
      undefined,
    ],
    // booleans and lists
    ["require param.x or commitment.is_retry", "false", "true", "true allows more", "loosening"],
    [
      "require param.x implies commitment.is_retry",
      "false",
      "true",
      "true refuses more",
      "tightening",
    ],
    [
      "require channel.commitment_type in param.x",
      '["anchors"]',
      '["anchors", "legacy"]',
      "allowed values",
      "loosening",
    ],
    [
      "require channel.commitment_type not in param.x",
      '["anchors"]',
      '["anchors", "legacy"]',
      "refused values",
      "tightening",
    ],
    [
      "require channel.commitment_type in param.x",
      '["anchors"]',
      '["legacy"]',
      "allowed values",
      undefined,
    ],
  ];
  for (const [rule, a, b, use, effect] of cases) {
    const c = paramChange(rule, a, b);
    ok(c !== undefined, rule);
    strictEqual(c.use, use, `use of ${rule}`);
    strictEqual(c.values.length, 1, rule);
    strictEqual(c.values[0].effect, effect, `effect of ${rule}: ${a} -> ${b}`);
  }
  // A limit's cap: more allows more; the limited amount: more refuses more.
  const cap = load({
    "p.policy": `policy "p" version 1
param x = 5 msat
rule r "d" on preapprove_invoice limit sum payment.amount_msat over 24h <= param.x
`,
  });
  const cap2 = load({
    "p.policy": `policy "p" version 1
param x = 9 msat
rule r "d" on preapprove_invoice limit sum payment.amount_msat over 24h <= param.x
`,
  });
  deepStrictEqual(diffPolicies(cap, cap2).params.changed, [{
    name: "x",
    use: "upper bound",
    values: [{
      networks: ["bitcoin", "testnet", "testnet4", "signet", "regtest"],
      old: "5 msat",
      new: "9 msat",
      effect: "loosening",
    }],
  }]);
});

Deno.test("diff: per-network values grouped; --network restricts; types and descriptions", () => {
  const a = policy(`param x "Old." = 5 sat
  on test = 7 sat
param y = 1
rule r "d" on ${C} require commitment.fee_sat <= param.x
`);
  const b = policy(`param x "New." = 5 sat
  on regtest, signet = 9 sat
param y = true
rule r "d" on ${C} require commitment.fee_sat <= param.x
`);
  const d = diffPolicies(a, b);
  deepStrictEqual(d.params.changed, [
    {
      name: "x",
      use: "upper bound",
      description: { old: "Old.", new: "New." },
      values: [
        { networks: ["testnet", "testnet4"], old: "7 sat", new: "5 sat", effect: "tightening" },
        { networks: ["signet", "regtest"], old: "7 sat", new: "9 sat", effect: "loosening" },
      ],
    },
    {
      name: "y",
      type: { old: "int", new: "bool" },
      values: [{
        networks: ["bitcoin", "testnet", "testnet4", "signet", "regtest"],
        old: "1",
        new: "true",
      }],
    },
  ]);
  const only = diffPolicies(a, b, { network: "regtest" });
  deepStrictEqual(only.params.changed[0].values, [
    { networks: ["regtest"], old: "7 sat", new: "9 sat", effect: "loosening" },
  ]);
  const bitcoin = diffPolicies(a, b, { network: "bitcoin" });
  deepStrictEqual(bitcoin.params.changed[0].values, [], "the description still differs");
});

Deno.test("diff: rules: severity, action, aliases, kinds, clauses, examples", () => {
  const a = policy(`rule r alias r-old "Old."
  on ${C}
  require commitment.number > 0
  on validate_counterparty_revocation
  require revocation.point_matches
  example allow "kept" on ${C} { commitment.number: 1 }
  example allow "edited" on ${C} { commitment.number: 2 }
  example refuse on ${C} { commitment.number: 0 }
rule gone mandatory "Gone." on ${C} require true
filter r warn
`);
  const b = policy(`rule r mandatory temporary alias r-new "New."
  on ${C}, validate_holder_commitment
  when commitment.is_retry
  require commitment.number > 0
  example allow "kept" on ${C} { commitment.number: 1 }
  example allow "edited" on ${C} { commitment: { number: 3, is_retry: true } }
  example allow "added" on ${C} { commitment.number: 5 }
rule fresh "Fresh." on ${C} require true
filter fresh warn
`);
  const d = diffPolicies(a, b);
  deepStrictEqual(d.rules.added, [{
    id: "fresh",
    severity: "optional",
    location: "dir/p.policy:9:1",
    description: "Fresh.",
  }]);
  deepStrictEqual(d.rules.removed.map((r) => r.id), ["gone"]);
  deepStrictEqual(d.rules.changed, [{
    id: "r",
    location: "dir/p.policy:2:1",
    severity: { old: "optional", new: "mandatory, temporary" },
    action: { old: "warn (filter r)", new: "error" },
    description: { old: "Old.", new: "New." },
    aliases: { added: ["r-new"], removed: ["r-old"] },
    kinds: { added: ["validate_holder_commitment"], removed: ["validate_counterparty_revocation"] },
    clauses: [
      {
        index: 0,
        change: "changed",
        old: `on ${C} require commitment.number > 0`,
        new:
          `on ${C}, validate_holder_commitment when commitment.is_retry require commitment.number > 0`,
        parts: ["kinds", "guard"],
      },
      {
        index: 1,
        change: "removed",
        old: "on validate_counterparty_revocation require revocation.point_matches",
      },
    ],
    examples: { added: ['allow "added"'], removed: ["refuse #3"], changed: ['allow "edited"'] },
  }]);
  deepStrictEqual(d.filters, {
    added: [{ pattern: "fresh", action: "warn", location: "dir/p.policy:10:1" }],
    removed: [{ pattern: "r", action: "warn", location: "dir/p.policy:11:1" }],
    changed: [],
  });
  // JSON-safe: survives a round trip unchanged.
  deepStrictEqual(JSON.parse(JSON.stringify(d)), d);
  const text = formatDiff(d);
  ok(
    text.includes("  ~ r at dir/p.policy:2:1\n      severity: optional -> mandatory, temporary\n"),
  );
  ok(text.includes("      aliases: + r-new, - r-old\n"));
  ok(text.includes('      examples: + allow "added", - refuse #3, ~ allow "edited"\n'));
  ok(text.includes("      clause 1 removed:\n        - on validate_counterparty_revocation"));
  ok(text.indexOf("  + fresh (optional)") < text.indexOf("  - gone (mandatory)"), "sorted by id");
  ok(text.indexOf("  - gone (mandatory)") < text.indexOf("  ~ r at"), "sorted by id");
});

Deno.test("diff: limits, filter actions and repeated patterns, includes, header", () => {
  const base = `policy "default" version 1
param cap = 10 msat
rule pay "d" on preapprove_invoice limit sum payment.amount_msat over 24h <= param.cap
rule other "d" on ${C} require true
`;
  const b = load({
    "site/b.policy": `policy "site2" version 5
include "../lib/default.policy"
filter pay error
filter other warn
filter pay warn
`,
    "lib/default.policy": base,
  });
  const old = load({
    "site/a.policy": `policy "site" version 1
include "../lib/default.policy"
filter pay warn
filter other warn
filter pay error
`,
    "lib/default.policy": base.replace("over 24h", "over 1h"),
  });
  const d = diffPolicies(old, b);
  deepStrictEqual(d.includes, { added: [], removed: [] });
  deepStrictEqual(d.filters.changed, [
    { pattern: "pay", old: "warn", new: "error" },
    { pattern: "pay", old: "error", new: "warn" },
  ]);
  deepStrictEqual(d.rules.changed.map((r) => [r.id, r.action, r.clauses?.[0].parts]), [
    ["pay", { old: "warn (filter pay)", new: "error (filter pay)" }, ["check"]],
  ]);
  strictEqual(
    d.rules.changed[0].clauses?.[0].new,
    "on preapprove_invoice limit sum payment.amount_msat over 86400 seconds <= param.cap",
  );
  deepStrictEqual([d.old.name, d.old.version, d.new.name, d.new.version], ["site", 1, "site2", 5]);
  const text = formatDiff(d);
  ok(text.includes('\nname: "site" -> "site2"\nversion: 1 -> 5\n'));
  const alone = load({ "lib/default.policy": base });
  const inc = diffPolicies(alone, b);
  deepStrictEqual(inc.includes, { added: ["../lib/default.policy"], removed: [] });
});
