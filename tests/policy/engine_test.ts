import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { type Decision, loadPolicy, type Policy } from "../../policy/engine.ts";
import { commitmentFacts, memoryFiles, testRegistry } from "./fixtures/registry.ts";

const DEFAULT = new URL("./fixtures/default.policy", import.meta.url).pathname;
const COMMIT = "sign_counterparty_commitment";
const NOW = { now: 1_700_000_000 };

function fixture(network: "bitcoin" | "regtest" = "bitcoin"): Policy {
  return loadPolicy(DEFAULT, { registry: testRegistry(), network });
}

function inline(text: string, options: { dev?: boolean } = {}): Policy {
  return loadPolicy("/t.policy", {
    registry: testRegistry(),
    network: "bitcoin",
    readFile: memoryFiles({ "/t.policy": text }),
    devAllowMandatoryDemotion: options.dev,
  });
}

/** Both evaluators must give the same decision; returns it. */
function decide(policy: Policy, kind: string, facts: object, options = NOW): Decision {
  const compiled = policy.evaluate(kind, facts as Record<string, unknown>, options);
  const interpreted = policy.evaluateInterpreted(kind, facts as Record<string, unknown>, options);
  deepStrictEqual(interpreted, compiled);
  return compiled;
}

Deno.test("engine: a typical commitment is allowed by every rule of the default fixture", () => {
  const policy = fixture();
  strictEqual(policy.rules.length, 19);
  deepStrictEqual(decide(policy, COMMIT, commitmentFacts(10)), {
    kind: COMMIT,
    allowed: true,
    temporary: false,
    violations: [],
    warnings: [],
    limitUpdates: [],
  });
  strictEqual(decide(policy, "validate_holder_commitment", commitmentFacts(100)).allowed, true);
});

Deno.test("engine: every violated rule is reported, with its location and the facts it read", () => {
  const facts = commitmentFacts(4);
  facts.commitment.tx.version = 1;
  facts.commitment.htlcs[2].amount_sat = 300n;
  facts.commitment.fee_feerate_per_kw = 30_000;
  facts.payments[0].outgoing_msat = 20_011_000n;
  const d = decide(fixture(), COMMIT, facts);
  strictEqual(d.allowed, false);
  strictEqual(d.temporary, false);
  deepStrictEqual(d.limitUpdates, []);
  deepStrictEqual(
    d.violations.map((v) => [v.rule, v.mandatory, v.location.line, v.location.column, v.clause]),
    [
      ["policy-commitment-version", true, 27, 3, 0],
      ["policy-commitment-fee-range", false, 39, 3, 0],
      ["policy-commitment-outputs-trimmed", false, 47, 3, 0],
      ["policy-commitment-htlc-routing-balance", false, 92, 3, 0],
      ["policy-commitment-payment-invoiced", false, 102, 3, 0],
    ],
  );
  const [version, fee, trimmed, balance, invoiced] = d.violations;
  deepStrictEqual(version, {
    rule: "policy-commitment-version",
    description: "A commitment transaction is version 2 (BOLT #3).",
    mandatory: true,
    temporary: false,
    location: { file: DEFAULT, line: 27, column: 3 },
    clause: 0,
    kind: COMMIT,
    facts: { "commitment.tx.version": "1" },
  });
  deepStrictEqual(fee.facts, {
    "commitment.fee_feerate_per_kw": "30000",
    "param.min_feerate_per_kw": "253",
    "param.max_feerate_per_kw": "25000",
  });
  deepStrictEqual(trimmed.facts, {
    "commitment.to_broadcaster_sat": "500000",
    "param.min_chan_dust_limit_sat": "354",
    "commitment.to_countersigner_sat": "400000",
    "commitment.htlcs[2].amount_sat": "300",
    "channel.is_zero_fee_htlc": true,
  });
  deepStrictEqual(balance.facts, {
    "payments[0].outgoing_msat": "20011000",
    "payments[0].incoming_msat": "0",
    "payments[0].invoiced": true,
    "payments[0].invoice_amount_msat": "10000000",
    "param.max_routing_fee_msat": "10000",
  });
  deepStrictEqual(invoiced.facts, {
    "payments[0].invoiced": true,
    "payments[0].outgoing_msat": "20011000",
    "payments[0].invoice_amount_msat": "10000000",
    "payments[0].incoming_msat": "0",
    "param.max_feerate_percentage": "10",
  });
  // On regtest the feerate is within that network's range.
  const regtest = decide(fixture("regtest"), COMMIT, facts);
  deepStrictEqual(regtest.violations.map((v) => v.rule), [
    "policy-commitment-version",
    "policy-commitment-outputs-trimmed",
    "policy-commitment-htlc-routing-balance",
    "policy-commitment-payment-invoiced",
  ]);
});

Deno.test("engine: guards restrict where a rule applies; a false guard is not reported", () => {
  const facts = commitmentFacts(2);
  facts.commitment.number = 0;
  facts.commitment.to_counterparty_sat = 400_000n;
  facts.state = { counterparty_next: 1, counterparty_revoke_next: 0 };
  const d = decide(fixture(), COMMIT, facts);
  deepStrictEqual(d.violations.map((v) => [v.rule, v.facts]), [
    ["policy-commitment-first-no-htlcs", {
      "commitment.number": "0",
      "commitment.htlc_count": "2",
    }],
    ["policy-commitment-initial-funding-value", {
      "commitment.number": "0",
      "channel.is_outbound": true,
      "commitment.to_counterparty_sat": "400000",
      "channel.push_msat": "0",
    }],
  ]);
  facts.channel.is_outbound = false;
  facts.commitment.htlc_count = 0;
  strictEqual(decide(fixture(), COMMIT, facts).allowed, true);
});

Deno.test("engine: a refusal is temporary only when every violated rule is temporary", () => {
  const facts = commitmentFacts(2);
  facts.channel.funding_depth = 0;
  const temporary = decide(fixture(), COMMIT, facts);
  deepStrictEqual(
    [
      temporary.allowed,
      temporary.temporary,
      temporary.violations.map((v) => [v.rule, v.temporary]),
    ],
    [false, true, [["policy-commitment-spends-active-utxo", true]]],
  );
  facts.channel.closed = true;
  const both = decide(fixture(), COMMIT, facts);
  deepStrictEqual([both.allowed, both.temporary, both.violations.map((v) => v.rule)], [
    false,
    false,
    [
      "policy-commitment-spends-active-utxo",
      "policy-commitment-spends-open-utxo",
    ],
  ]);
});

Deno.test("engine: filters turn optional violations into warnings, in order; errors stay", () => {
  const policy = inline(`policy "t" version 1
rule a-one "A." on ${COMMIT} require commitment.number < 0
rule a-two alias b-alias "B." on ${COMMIT} require commitment.number < 0
rule m mandatory "M." on ${COMMIT} require commitment.number < 0
filter b-alias error
filter a-* warn
`);
  const d = decide(policy, COMMIT, commitmentFacts(1));
  strictEqual(d.allowed, false);
  deepStrictEqual(d.violations.map((v) => [v.rule, v.demotedBy]), [["a-two", undefined], [
    "m",
    undefined,
  ]]);
  deepStrictEqual(d.warnings.map((v) => [v.rule, v.demotedBy]), [["a-one", {
    file: "/t.policy",
    line: 6,
    column: 1,
  }]]);
  const optional = inline(`policy "t" version 1
rule a-one "A." on ${COMMIT} require commitment.number < 0
filter a-one warn
`);
  const warned = decide(optional, COMMIT, commitmentFacts(1));
  deepStrictEqual([warned.allowed, warned.temporary, warned.violations, warned.warnings.length], [
    true,
    false,
    [],
    1,
  ]);
});

Deno.test("engine: a mandatory rule is demoted only with the development flag", () => {
  const text = `policy "t" version 1
rule m mandatory "M." on ${COMMIT} require commitment.number < 0
filter m warn
`;
  throws(() => inline(text), {
    name: "PolicyError",
    message: /filter would demote mandatory rule m/,
  });
  const dev = inline(text, { dev: true });
  deepStrictEqual(dev.mandatoryDemotions, [{
    rule: "m",
    pattern: "m",
    filter: { file: "/t.policy", line: 3, column: 1 },
  }]);
  const d = decide(dev, COMMIT, commitmentFacts(1));
  deepStrictEqual([d.allowed, d.warnings.map((w) => [w.rule, w.mandatory, w.demotedBy?.line])], [
    true,
    [["m", true, 3]],
  ]);
});

Deno.test("engine: a rule with clauses on several kinds runs only the request kind's clauses", () => {
  const policy = fixture();
  const revocation = {
    revocation: { number: 4, point_matches: true, secret_chains: true },
    state: { counterparty_next: 6, counterparty_revoke_next: 4 },
  };
  strictEqual(decide(policy, "validate_counterparty_revocation", revocation).allowed, true);
  revocation.revocation.secret_chains = false;
  const d = decide(policy, "validate_counterparty_revocation", revocation);
  deepStrictEqual(d.violations.map((v) => [v.rule, v.clause, v.location.line, v.facts]), [[
    "policy-commitment-previous-revoked",
    1,
    129,
    {
      "revocation.number": "4",
      "state.counterparty_revoke_next": "4",
      "state.counterparty_next": "6",
      "revocation.point_matches": true,
      "revocation.secret_chains": false,
    },
  ]]);
  const facts = commitmentFacts(1);
  facts.commitment.number = 7;
  deepStrictEqual(
    decide(policy, COMMIT, facts).violations.map((v) => [v.rule, v.clause, v.location.line]),
    [
      ["policy-commitment-previous-revoked", 0, 125],
    ],
  );
});

Deno.test("engine: sets are asked, never enumerated; a missing set or fact fails closed", () => {
  const policy = fixture();
  const onchain = (kind: string, script: string) => ({
    tx: {
      outputs: [{ script, amount_sat: 1000n, kind }],
      fee_sat: 200n,
      feerate_per_kw: 253,
      weight: 800,
      scripts: [],
    },
  });
  const asked: unknown[] = [];
  const wallet = { has: (v: unknown) => (asked.push(v), v === "0014aa") };
  const allowlist = { has: (_: unknown) => false };
  strictEqual(
    decide(
      policy,
      "sign_onchain",
      onchain("wallet", "0014aa"),
      { ...NOW, sets: { wallet, allowlist } } as typeof NOW,
    ).allowed,
    true,
  );
  strictEqual(asked.length >= 1, true);
  deepStrictEqual(asked[0], "0014aa");
  const refused = decide(
    policy,
    "sign_onchain",
    onchain("unknown", "0014bb"),
    { ...NOW, sets: { wallet, allowlist } } as typeof NOW,
  );
  deepStrictEqual(refused.violations.map((v) => [v.rule, v.facts]), [[
    "policy-onchain-output-scriptpubkey",
    {
      "tx.outputs[0].kind": "unknown",
      "tx.outputs[0].script": "0014bb",
    },
  ]]);
  const noSets = decide(policy, "sign_onchain", onchain("unknown", "0014bb"));
  deepStrictEqual(noSets.violations.map((v) => [v.rule, v.error]), [
    ["policy-onchain-output-scriptpubkey", "set wallet was not supplied"],
  ]);
  const facts = commitmentFacts(1) as Record<string, unknown>;
  delete facts.state;
  const missing = decide(policy, COMMIT, facts);
  deepStrictEqual(missing.violations.map((v) => [v.rule, v.error, v.facts]), [[
    "policy-commitment-previous-revoked",
    "fact state.counterparty_revoke_next is missing",
    { "commitment.number": "5" },
  ]]);
  delete facts.chain; // chain.height is read only when param.use_chain_state: short-circuit
  strictEqual(decide(policy, COMMIT, facts).violations.length, 1);
});

Deno.test("engine: division by zero fails closed; integers given as number or bigint agree", () => {
  const policy = inline(`policy "t" version 1
rule ratio "R." on ${COMMIT} require commitment.fee_sat / commitment.to_holder_sat < 1
`);
  const facts = commitmentFacts(1);
  strictEqual(decide(policy, COMMIT, facts).allowed, true);
  facts.commitment.to_holder_sat = 0n;
  deepStrictEqual(decide(policy, COMMIT, facts).violations.map((v) => [v.rule, v.error, v.facts]), [
    [
      "ratio",
      "division by zero",
      { "commitment.fee_sat": "3000", "commitment.to_holder_sat": "0" },
    ],
  ]);
  const asNumbers = JSON.parse(
    JSON.stringify(commitmentFacts(3), (_k, v) => typeof v === "bigint" ? Number(v) : v),
  );
  deepStrictEqual(
    decide(fixture(), COMMIT, asNumbers),
    decide(fixture(), COMMIT, commitmentFacts(3)),
  );
});

Deno.test("engine: traces record aggregates by their text and lists without a witness", () => {
  const policy = inline(`policy "t" version 1
rule counts "C." on ${COMMIT}
  require count(h in commitment.htlcs: h.offered) + len(commitment.htlcs) > 100
      or sum(h in commitment.htlcs: h.amount_sat) > 1_000_000 sat
rule any "A." on ${COMMIT} require any h in commitment.htlcs: h.amount_sat > 20_000 sat
rule script "S." on sign_onchain require 0x00 in tx.scripts
`);
  const d = decide(policy, COMMIT, commitmentFacts(2));
  deepStrictEqual(d.violations.map((v) => v.facts), [
    {
      "count(h in commitment.htlcs: h.offered)": "1",
      "len(commitment.htlcs)": "2",
      "sum(h in commitment.htlcs: h.amount_sat)": "20000",
    },
    {
      "commitment.htlcs": [
        {
          offered: true,
          outgoing: true,
          amount_sat: "10000",
          amount_msat: "10000000",
          cltv_expiry: "800100",
          payment_hash: "00".repeat(32),
          is_new: false,
        },
        {
          offered: false,
          outgoing: false,
          amount_sat: "10000",
          amount_msat: "10000000",
          cltv_expiry: "800101",
          payment_hash: "01".repeat(32),
          is_new: true,
        },
      ],
    },
  ]);
  const onchain = {
    tx: { outputs: [], fee_sat: 1n, feerate_per_kw: 253, weight: 1, scripts: ["0014aa", "0014bb"] },
  };
  deepStrictEqual(decide(policy, "sign_onchain", onchain).violations[0].facts, {
    "tx.scripts": ["0014aa", "0014bb"],
  });
});

Deno.test("engine: unknown kinds throw; a registered kind without clauses is allowed", () => {
  const policy = fixture();
  throws(() => policy.evaluate("sign_everything", {}, NOW), {
    name: "PolicyEvaluationError",
    message: "unknown request kind sign_everything",
  });
  throws(() => policy.evaluate(COMMIT, commitmentFacts(1), { now: 1.5 }), {
    name: "PolicyEvaluationError",
    message: "now must be an integer number of seconds",
  });
  const empty = inline('policy "t" version 1\n');
  deepStrictEqual(empty.evaluate("sign_onchain", {}, NOW), {
    kind: "sign_onchain",
    allowed: true,
    temporary: false,
    violations: [],
    warnings: [],
    limitUpdates: [],
  });
});

Deno.test("engine: the policy exposes its model for explain, diff and info", () => {
  const policy = fixture();
  strictEqual(
    policy.rule("policy-channel-safe-anchors")?.id,
    "policy-commitment-anchors-not-when-off",
  );
  strictEqual(policy.rule("nope"), undefined);
  strictEqual(policy.param("max_htlcs")?.value, 1000n);
  strictEqual(policy.param("nope"), undefined);
  deepStrictEqual(policy.filters.map((f) => f.pattern), ["policy-commitment-htlc-routing-balance"]);
  strictEqual(policy.model.rules, policy.rules);
  const rule = policy.rule("policy-commitment-version");
  strictEqual(
    policy.text(rule?.decl.id.span ?? { file: "", start: 0, end: 0, line: 1, column: 1 }),
    "policy-commitment-version",
  );
  deepStrictEqual(policy.mandatoryDemotions, []);
});
