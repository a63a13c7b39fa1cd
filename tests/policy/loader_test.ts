import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { loadPolicy, type Policy } from "../../policy/engine.ts";
import { resolveInclude } from "../../policy/loader.ts";
import { diagnose, memoryFiles, testRegistry } from "./fixtures/registry.ts";

const COMMIT = "sign_counterparty_commitment";

function load(
  files: Record<string, string>,
  options: { network?: "bitcoin" | "regtest" | "signet"; dev?: boolean } = {},
): Policy {
  return loadPolicy(Object.keys(files)[0], {
    registry: testRegistry(),
    network: options.network ?? "bitcoin",
    readFile: memoryFiles(files),
    devAllowMandatoryDemotion: options.dev,
  });
}

const BASE = `policy "default" version 3
param max_feerate "Highest feerate." = 25_000 per-kw
  on test = 333_333 per-kw
  on regtest = 1_000_000 per-kw
param max_htlcs = 1000
param types = ["anchors"]
rule policy-commitment-version mandatory alias policy-version
  "Version 2."
  on ${COMMIT}
  require commitment.tx.version == 2
rule policy-commitment-fee-range
  "Feerate in range."
  on ${COMMIT}
  require commitment.fee_feerate_per_kw <= param.max_feerate
rule policy-commitment-htlc-count-limit
  "HTLC count."
  on ${COMMIT}
  require commitment.htlc_count <= param.max_htlcs
filter policy-commitment-htlc-count-limit warn
`;

Deno.test("resolveInclude: relative to the including file, . and .. normalised", () => {
  strictEqual(
    resolveInclude("/etc/warden/site.policy", "default.policy"),
    "/etc/warden/default.policy",
  );
  strictEqual(
    resolveInclude("/etc/warden/site.policy", "../rules/./d.policy"),
    "/etc/rules/d.policy",
  );
  strictEqual(resolveInclude("site.policy", "d.policy"), "d.policy");
  strictEqual(resolveInclude("a/b/site.policy", "../../../d.policy"), "../d.policy");
  strictEqual(resolveInclude("/a/site.policy", "/abs/d.policy"), "/abs/d.policy");
});

Deno.test("params: per-network values, explicit networks over the test group", () => {
  const files = { "/p/default.policy": BASE };
  const value = (network: "bitcoin" | "regtest" | "signet") =>
    load(files, { network }).param("max_feerate")?.value;
  strictEqual(value("bitcoin"), 25_000n);
  strictEqual(value("signet"), 333_333n);
  strictEqual(value("regtest"), 1_000_000n);
  const p = load(files).param("max_feerate");
  deepStrictEqual(p && { ...p, decl: undefined, type: undefined }, {
    name: "max_feerate",
    description: "Highest feerate.",
    type: undefined,
    typeName: "per-kw",
    unit: "per-kw",
    value: 25_000n,
    values: {
      bitcoin: "25000",
      testnet: "333333",
      testnet4: "333333",
      signet: "333333",
      regtest: "1000000",
    },
    location: { file: "/p/default.policy", line: 2, column: 1 },
    history: [{
      kind: "definition",
      location: { file: "/p/default.policy", line: 2, column: 1 },
      values: {
        bitcoin: "25000",
        testnet: "333333",
        testnet4: "333333",
        signet: "333333",
        regtest: "1000000",
      },
    }],
    decl: undefined,
  });
  const policy = load(files);
  strictEqual(policy.name, "default");
  strictEqual(policy.version, 3);
  strictEqual(policy.network, "bitcoin");
  deepStrictEqual(policy.param("types")?.value, ["anchors"]);
  strictEqual(policy.param("types")?.typeName, "list of string");
});

Deno.test("includes: an including file overrides parameters (whole or per network) and adds rules", () => {
  const files = {
    "/site/site.policy": `policy "site" version 1
include "../p/default.policy"
param max_feerate = 30_000 per-kw
param max_htlcs on regtest = 5
rule site-extra "Extra." on ${COMMIT} require commitment.htlc_count < 10
`,
    "/p/default.policy": BASE,
  };
  const policy = load(files, { network: "regtest" });
  strictEqual(policy.name, "site");
  deepStrictEqual(policy.files.map((f) => f.path), ["/p/default.policy", "/site/site.policy"]);
  const feerate = policy.param("max_feerate");
  strictEqual(feerate?.value, 30_000n);
  strictEqual(feerate?.description, "Highest feerate.");
  deepStrictEqual(feerate?.values.regtest, "30000");
  deepStrictEqual(
    feerate?.history.map((h) => [h.kind, h.location.file, h.location.line, h.values.regtest]),
    [
      ["definition", "/p/default.policy", 2, "1000000"],
      ["override", "/site/site.policy", 3, "30000"],
    ],
  );
  const htlcs = policy.param("max_htlcs");
  deepStrictEqual(htlcs?.values, {
    bitcoin: "1000",
    testnet: "1000",
    testnet4: "1000",
    signet: "1000",
    regtest: "5",
  });
  deepStrictEqual(htlcs?.history[1].values, { regtest: "5" });
  deepStrictEqual(policy.rules.map((r) => r.id), [
    "policy-commitment-version",
    "policy-commitment-fee-range",
    "policy-commitment-htlc-count-limit",
    "site-extra",
  ]);
  deepStrictEqual(policy.rule("policy-version")?.id, "policy-commitment-version");
  strictEqual(load(files).param("max_htlcs")?.value, 1000n);
});

Deno.test("includes: a diamond loads the shared file once; filters of the includer come first", () => {
  const files = {
    "/top.policy": `policy "top" version 1
include "a.policy"
include "b.policy"
filter policy-commitment-fee-range warn
`,
    "/a.policy": `policy "a" version 1
include "default.policy"
param max_htlcs = 10
filter policy-commitment-* error
`,
    "/b.policy": `policy "b" version 1
include "default.policy"
param max_htlcs = 20
`,
    "/default.policy": BASE,
  };
  const policy = load(files);
  deepStrictEqual(policy.files.map((f) => f.path), [
    "/default.policy",
    "/a.policy",
    "/b.policy",
    "/top.policy",
  ]);
  strictEqual(policy.param("max_htlcs")?.value, 20n);
  deepStrictEqual(policy.filters.map((f) => [f.pattern, f.action, f.location.file]), [
    ["policy-commitment-fee-range", "warn", "/top.policy"],
    ["policy-commitment-*", "error", "/a.policy"],
    ["policy-commitment-htlc-count-limit", "warn", "/default.policy"],
  ]);
  const severity = (id: string) => policy.rule(id)?.severity;
  deepStrictEqual(severity("policy-commitment-fee-range"), {
    action: "warn",
    filter: {
      pattern: "policy-commitment-fee-range",
      location: { file: "/top.policy", line: 4, column: 1 },
    },
  });
  deepStrictEqual(severity("policy-commitment-htlc-count-limit"), {
    action: "error",
    filter: { pattern: "policy-commitment-*", location: { file: "/a.policy", line: 4, column: 1 } },
  });
  deepStrictEqual(policy.filters[1].matches, [
    "policy-commitment-version",
    "policy-commitment-fee-range",
    "policy-commitment-htlc-count-limit",
  ]);
});

Deno.test("a site policy's parameter that no rule reads is an error (a misspelled override)", () => {
  deepStrictEqual(
    diagnose({
      "/site.policy": `policy "s" version 1
include "default.policy"
param max_htlc = 10
param own_cap = 5
rule site-cap "Own cap." on ${COMMIT} require commitment.htlc_count <= param.own_cap
`,
      "/default.policy": BASE,
    }),
    [
      '/site.policy:3:7: error: param max_htlc is read by no rule (hint: did you mean "max_htlcs"?)',
    ],
  );
});

Deno.test("includes: cycles, missing files, duplicate ids and illegal overrides are located errors", () => {
  deepStrictEqual(
    diagnose({
      "/a.policy": 'policy "a" version 1\ninclude "b.policy"\n',
      "/b.policy": 'policy "b" version 1\ninclude "a.policy"\ninclude "missing.policy"\n',
    }),
    [
      "/b.policy:2:9: error: include cycle: /a.policy -> /b.policy -> /a.policy",
      "/b.policy:3:9: error: cannot read included file /missing.policy (NotFound)",
    ],
  );
  deepStrictEqual(diagnose({ "/none.policy": "x" }).length, 1);
  deepStrictEqual(diagnose({ "/t.policy": 'policy "t" version 1\ninclude "t.policy"\n' }), [
    "/t.policy:2:9: error: include cycle: /t.policy -> /t.policy",
  ]);
  deepStrictEqual(
    diagnose({
      "/site.policy": `policy "s" version 1
include "default.policy"
rule policy-commitment-version "Again." on ${COMMIT} require true
rule r2 alias policy-version "Alias taken." on ${COMMIT} require true
param max_feerate = 5 sat
param max_htlcs = 1
param max_htlcs = 2
param fresh on regtest = 1
param empty
`,
      "/default.policy": BASE,
    }),
    [
      "/site.policy:3:6: error: rule policy-commitment-version is already defined (as a rule) at /default.policy:7:6 (hint: rules are never replaced: tighten with a new rule or a parameter)",
      "/site.policy:4:15: error: alias policy-version is already defined (as an alias of rule policy-commitment-version) at /default.policy:7:48",
      "/site.policy:5:1: error: param max_feerate is per-kw; an override cannot make it sat",
      "/site.policy:7:7: error: param max_htlcs is already set in this file at /site.policy:6:1",
      '/site.policy:8:7: error: param fresh needs a value for every network (missing: bitcoin, testnet, testnet4, signet) (hint: write "param fresh = VALUE", then "on NETWORK = VALUE" for exceptions)',
      '/site.policy:9:7: error: param empty gives no value (hint: write "param empty = VALUE" or "param empty on NETWORK = VALUE")',
    ],
  );
  deepStrictEqual(
    diagnose({
      "/top.policy": 'policy "t" version 1\ninclude "a.policy"\ninclude "b.policy"\n',
      "/a.policy": 'policy "a" version 1\nparam x = 1\n',
      "/b.policy":
        'policy "b" version 1\nparam x = 2\nparam y = 1 on tset = 2 on regtest, regtest = 3\n',
    }),
    [
      "/b.policy:2:7: error: param x is already defined at /a.policy:2:1, in a file this one does not include (hint: only an including file can override a parameter)",
      '/b.policy:3:16: error: unknown network tset (hint: did you mean "test"?)',
      "/b.policy:3:37: error: network regtest is listed twice for param y",
    ],
  );
});

Deno.test("filters: unknown rules, empty or unmatched prefixes, and mandatory rules", () => {
  const site = (filters: string) => ({
    "/site.policy": `policy "s" version 1\ninclude "default.policy"\n${filters}`,
    "/default.policy": BASE,
  });
  deepStrictEqual(diagnose(site("filter policy-commitment-fee-rnage warn\n")), [
    '/site.policy:3:8: error: filter names unknown rule policy-commitment-fee-rnage (hint: did you mean "policy-commitment-fee-range"?)',
  ]);
  deepStrictEqual(diagnose(site("filter * warn\n")), [
    '/site.policy:3:8: error: a filter prefix cannot be empty (it would match every rule) (hint: write a prefix such as "policy-commitment-*")',
  ]);
  deepStrictEqual(diagnose(site("filter policy-comitment-* warn\n")), [
    '/site.policy:3:8: error: filter names no rule matches policy-comitment-* (hint: did you mean "policy-commitment-*"?)',
  ]);
  deepStrictEqual(diagnose(site("filter policy-version warn\n")), [
    "/site.policy:3:8: error: filter would demote mandatory rule policy-commitment-version (hint: mandatory rules always refuse; only --dev-allow-mandatory-demotion lets a filter demote them)",
  ]);
  deepStrictEqual(diagnose(site("filter policy-commitment-* warn\n")), [
    "/site.policy:3:8: error: filter would demote mandatory rule policy-commitment-version (hint: mandatory rules always refuse; only --dev-allow-mandatory-demotion lets a filter demote them)",
  ]);
  // An earlier error filter decides the mandatory rule, so the prefix only demotes optional rules.
  deepStrictEqual(
    diagnose(site("filter policy-commitment-version error\nfilter policy-commitment-* warn\n")),
    [],
  );
  const dev = load(site("filter policy-version warn\n"), { dev: true });
  deepStrictEqual(dev.mandatoryDemotions, [{
    rule: "policy-commitment-version",
    pattern: "policy-version",
    filter: { file: "/site.policy", line: 3, column: 1 },
  }]);
  strictEqual(dev.rule("policy-commitment-version")?.severity.action, "warn");
  deepStrictEqual(load(site("")).mandatoryDemotions, []);
});

Deno.test("rules: the model exposes id, aliases, severity, clauses, reads, text and location", () => {
  const policy = load({
    "/r.policy": `policy "r" version 1
param cap = 5 msat
# The rule:
rule r-1 mandatory temporary alias r-one
  "Two clauses."
  on ${COMMIT}, validate_holder_commitment when commitment.number > 0
    require commitment.tx.version == 2
  on preapprove_invoice limit sum payment.amount_msat over 1h <= param.cap
  example allow on preapprove_invoice { payment.amount_msat: 1 msat }
`,
  }, {});
  const r = policy.rule("r-one");
  if (r === undefined) throw new Error("rule");
  deepStrictEqual([r.id, r.aliases, r.mandatory, r.temporary, r.description], [
    "r-1",
    ["r-one"],
    true,
    true,
    "Two clauses.",
  ]);
  deepStrictEqual(r.location, { file: "/r.policy", line: 4, column: 1 });
  deepStrictEqual(r.kinds, [COMMIT, "validate_holder_commitment", "preapprove_invoice"]);
  deepStrictEqual(r.clauses.map((c) => [c.index, c.kinds, c.check, c.location.line, c.reads]), [
    [0, [COMMIT, "validate_holder_commitment"], "require", 6, {
      facts: ["commitment.number", "commitment.tx.version"],
      params: [],
      sets: [],
    }],
    [1, ["preapprove_invoice"], "limit", 8, {
      facts: ["payment.amount_msat"],
      params: ["cap"],
      sets: [],
    }],
  ]);
  deepStrictEqual(
    r.clauses[1].limit && { ...r.clauses[1].limit, amount: undefined, cap: undefined },
    {
      amount: undefined,
      cap: undefined,
      windowSeconds: 3600,
      unit: "msat",
    },
  );
  strictEqual(
    r.clauses[1].text,
    "on preapprove_invoice limit sum payment.amount_msat over 1h <= param.cap",
  );
  deepStrictEqual(r.reads, {
    facts: ["commitment.number", "commitment.tx.version", "payment.amount_msat"],
    params: ["cap"],
    sets: [],
  });
  strictEqual(r.examples.length, 1);
  strictEqual(r.text.split("\n")[0], "rule r-1 mandatory temporary alias r-one");
  deepStrictEqual(r.severity, { action: "error" });
  strictEqual(policy.files[0].comments[0].text, "# The rule:");
});

Deno.test("includes: a site policy on disk, read with the default readFile", () => {
  const site = new URL("./fixtures/site.policy", import.meta.url).pathname;
  const policy = loadPolicy(site, { registry: testRegistry(), network: "regtest" });
  deepStrictEqual(policy.files.map((f) => f.path.split("/").pop()), [
    "default.policy",
    "site.policy",
  ]);
  deepStrictEqual([policy.name, policy.version], ["site", 7]);
  strictEqual(policy.param("max_feerate_per_kw")?.value, 500_000n);
  deepStrictEqual(policy.param("max_feerate_per_kw")?.values.signet, "333333");
  strictEqual(policy.param("max_payments_msat_per_day")?.value, 2_000_000_000n);
  deepStrictEqual(policy.filters.map((f) => f.pattern), [
    "policy-commitment-retry-same",
    "policy-channel-safe-type",
    "policy-commitment-htlc-routing-balance",
  ]);
  // Examples of the included file run with the site's parameters: the raised daily cap no
  // longer refuses the default's "over the daily cap" example (once per kind).
  deepStrictEqual(
    policy.runExamples().filter((r) => !r.passed).map((
      r,
    ) => [r.rule, r.example, r.kind, r.difference]),
    ["preapprove_invoice", "preapprove_keysend"].map((kind) => [
      "policy-commitment-payment-velocity",
      "over the daily cap",
      kind,
      "expected policy-commitment-payment-velocity to refuse, but it allows",
    ]),
  );
  strictEqual(policy.rules.at(-1)?.id, "site-no-big-htlcs");
  deepStrictEqual(policy.files[1].comments.map((c) => [c.text, c.trailing]), [
    ["# A site policy: the default, a stricter rule, wider limits, two demotions.", false],
    ["// our regtest node pays anything", true],
  ]);
});

Deno.test("params: an empty list parameter takes its element type from an override", () => {
  const policy = load({
    "/site.policy": `policy "s" version 1
include "default.policy"
param scripts = [0x0014aa]
`,
    "/default.policy": `policy "d" version 1
param scripts = []
rule r "R." on sign_onchain require all s in param.scripts: s in tx.scripts
`,
  });
  deepStrictEqual([policy.param("scripts")?.typeName, policy.param("scripts")?.value], [
    "list of bytes",
    ["0014aa"],
  ]);
  deepStrictEqual(
    diagnose({
      "/d.policy":
        'policy "d" version 1\nparam scripts = []\nrule r "R." on sign_onchain require all s in param.scripts: true\n',
    }),
    ["/d.policy:3:46: error: the list has no elements, so its element type is unknown"],
  );
});
