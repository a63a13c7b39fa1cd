/**
 * Policy engine benchmarks: deciding one commitment-signing request under a realistic policy of
 * 100 rules (structural equalities, parameter ranges, guards, quantifiers over the HTLC and
 * payment lists, a unit conversion) with 10 and with 100 HTLCs, compiled and interpreted; and
 * loading (parse, check, compile) that policy. Run with
 * `deno bench --allow-all tests/bench/policy_bench.ts`.
 *
 * @module
 */
import { loadPolicy } from "../../policy/engine.ts";
import { commitmentFacts, memoryFiles, testRegistry } from "../policy/fixtures/registry.ts";

const KINDS = "sign_counterparty_commitment, validate_holder_commitment";

/** The bodies the 100 rules are made of, shaped like rules-spec §2.D, §2.E and §2.G. */
const BODIES = [
  "commitment.tx.version == 2",
  "commitment.tx.input_count == 1",
  "commitment.tx.locktime == commitment.tx.expected_locktime",
  "commitment.tx.to_self_delay == commitment.expected_to_self_delay",
  "commitment.tx.matches_rebuild",
  "channel.is_anchors or commitment.tx.holder_anchor_count + commitment.tx.counterparty_anchor_count == 0",
  "channel.is_anchors implies channel.is_static_remotekey",
  "commitment.fee_feerate_per_kw between param.min_feerate_per_kw and param.max_feerate_per_kw",
  "commitment.htlc_count <= param.max_htlcs",
  "commitment.htlc_total_sat <= param.max_htlc_value_sat",
  "channel.value_sat <= param.max_channel_size_sat",
  "channel.funding_depth >= param.min_funding_depth and channel.closing_depth == 0 blocks",
  "commitment.number <= state.counterparty_revoke_next + 1",
  "commitment.to_counterparty_sat <= sat(channel.push_msat) or commitment.number > 0",
  "not channel.is_anchors or commitment.tx.holder_anchor_count == (if commitment.to_holder_sat > 0 sat or commitment.htlc_count > 0 then 1 else 0)",
  "all h in commitment.htlcs: h.amount_sat >= (if channel.is_zero_fee_htlc then param.min_chan_dust_limit_sat else param.min_dust_limit_sat + (if h.offered then commitment.htlc_timeout_fee_sat else commitment.htlc_success_fee_sat))",
  "all h in commitment.htlcs: h.cltv_expiry < param.max_cltv_expiry and (param.use_chain_state and h.is_new implies h.cltv_expiry between chain.height + param.min_delay and chain.height + param.max_delay)",
  "all p in payments: p.outgoing_msat <= p.incoming_msat + (if p.invoiced then p.invoice_amount_msat + param.max_routing_fee_msat else 0 msat)",
  "all p in payments: (p.invoiced and p.outgoing_msat > p.invoice_amount_msat + p.incoming_msat) implies (p.outgoing_msat - p.invoice_amount_msat - p.incoming_msat) * 100 < max(p.invoice_amount_msat, 1 msat) * (param.max_feerate_percentage + 1)",
  "sum(h in commitment.htlcs: h.amount_sat) <= channel.value_sat",
];

function policyText(): string {
  const params = `param min_feerate_per_kw = 253 per-kw
param max_feerate_per_kw = 25_000 per-kw
param max_htlcs = 1000
param max_htlc_value_sat = 16_777_216 sat
param max_channel_size_sat = 1_000_000_001 sat
param min_funding_depth = 1 blocks
param min_chan_dust_limit_sat = 354 sat
param min_dust_limit_sat = 330 sat
param max_cltv_expiry = 500_000_000 blocks
param use_chain_state = true
param min_delay = 1 blocks
param max_delay = 2016 blocks
param max_routing_fee_msat = 10_000 msat
param max_feerate_percentage = 10
`;
  const rules = Array.from({ length: 100 }, (_, i) => {
    const guard = i % 10 === 9 ? "\n  when not commitment.is_retry" : "";
    return `rule bench-rule-${i}\n  "Rule ${i}."\n  on ${KINDS}${guard}\n  require ${
      BODIES[i % BODIES.length]
    }\n`;
  });
  return `policy "bench" version 1\n${params}${rules.join("")}`;
}

const text = policyText();
const load = () =>
  loadPolicy("/bench.policy", {
    registry: testRegistry(),
    network: "bitcoin",
    readFile: memoryFiles({ "/bench.policy": text }),
  });
const policy = load();
const facts10 = commitmentFacts(10);
const facts100 = commitmentFacts(100);
const options = { now: 1_700_000_000 };
for (const facts of [facts10, facts100]) {
  const d = policy.evaluate("sign_counterparty_commitment", facts, options);
  if (!d.allowed) throw new Error(`benchmark facts are refused: ${JSON.stringify(d.violations)}`);
}

Deno.bench(
  "policy: evaluate 100 rules, 10 HTLCs (compiled)",
  { group: "10 HTLCs", baseline: true },
  () => {
    policy.evaluate("sign_counterparty_commitment", facts10, options);
  },
);

Deno.bench("policy: evaluate 100 rules, 10 HTLCs (interpreted)", { group: "10 HTLCs" }, () => {
  policy.evaluateInterpreted("sign_counterparty_commitment", facts10, options);
});

Deno.bench("policy: evaluate 100 rules, 100 HTLCs (compiled)", {
  group: "100 HTLCs",
  baseline: true,
}, () => {
  policy.evaluate("sign_counterparty_commitment", facts100, options);
});

Deno.bench("policy: evaluate 100 rules, 100 HTLCs (interpreted)", { group: "100 HTLCs" }, () => {
  policy.evaluateInterpreted("sign_counterparty_commitment", facts100, options);
});

const refused = commitmentFacts(10);
refused.commitment.tx.version = 1;
Deno.bench("policy: a refusal by 5 rules, 10 HTLCs (traces the violated clauses)", () => {
  policy.evaluate("sign_counterparty_commitment", refused, options);
});

Deno.bench("policy: load, check and compile the 100-rule policy", () => {
  load();
});
