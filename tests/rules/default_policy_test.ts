/**
 * `rules/default.policy` against the signer's real fact registry: it loads for every network with
 * no diagnostic, every example passes, it holds all 94 VLS rule ids plus exactly Warden's own ids
 * (both listed in the file's closing index), with the agreed severities and every parameter of
 * rules-spec.md §5 (and Warden's own) with its per-network defaults.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { loadPolicy, type Policy } from "../../policy/engine.ts";
import { PolicyError } from "../../policy/diagnostics.ts";
import { NETWORKS } from "../../core/bitcoin/network.ts";
import { signerRegistry } from "../../core/signer/registry.ts";
import { GATED } from "./_gated.ts";

const DEFAULT = new URL("../../rules/default.policy", import.meta.url).pathname;

/** VLS's 94 rule ids (the reference list of the project). */
const VLS_IDS = [
  "policy-chain-validated",
  "policy-channel-contest-delay-range-counterparty",
  "policy-channel-contest-delay-range-holder",
  "policy-channel-original-channel-id-reuse",
  "policy-channel-safe-mode",
  "policy-commitment-anchor-amount",
  "policy-commitment-anchor-match-fundingkey",
  "policy-commitment-anchor-static-remotekey",
  "policy-commitment-anchor-to-counterparty",
  "policy-commitment-anchor-to-holder",
  "policy-commitment-anchors-not-when-off",
  "policy-commitment-broadcaster-pubkey",
  "policy-commitment-countersignatory-pubkey",
  "policy-commitment-fee-range",
  "policy-commitment-first-no-htlcs",
  "policy-commitment-holder-not-revoked",
  "policy-commitment-htlc-cltv-range",
  "policy-commitment-htlc-count-limit",
  "policy-commitment-htlc-counterparty-htlc-pubkey",
  "policy-commitment-htlc-holder-htlc-pubkey",
  "policy-commitment-htlc-inflight-limit",
  "policy-commitment-htlc-offered-hash-matches",
  "policy-commitment-htlc-received-spends-active-utxo",
  "policy-commitment-htlc-revocation-pubkey",
  "policy-commitment-htlc-routing-balance",
  "policy-commitment-initial-funding-value",
  "policy-commitment-input-match-funding",
  "policy-commitment-input-single",
  "policy-commitment-locktime",
  "policy-commitment-no-unrecognized-outputs",
  "policy-commitment-other",
  "policy-commitment-outputs-trimmed",
  "policy-commitment-payment-allowlisted",
  "policy-commitment-payment-approved",
  "policy-commitment-payment-invoiced",
  "policy-commitment-payment-settled-preimage",
  "policy-commitment-payment-velocity",
  "policy-commitment-previous-revoked",
  "policy-commitment-retry-same",
  "policy-commitment-revocation-pubkey",
  "policy-commitment-scripts",
  "policy-commitment-sequence",
  "policy-commitment-singular-to-counterparty",
  "policy-commitment-singular-to-holder",
  "policy-commitment-spends-active-utxo",
  "policy-commitment-to-self-delay-range",
  "policy-commitment-version",
  "policy-funding-max",
  "policy-generic-error",
  "policy-htlc-cltv-range",
  "policy-htlc-delayed-pubkey",
  "policy-htlc-fee-range",
  "policy-htlc-locktime",
  "policy-htlc-other",
  "policy-htlc-revocation-pubkey",
  "policy-htlc-sequence",
  "policy-htlc-to-self-delay",
  "policy-htlc-version",
  "policy-invoice-not-expired",
  "policy-merchant-no-sends",
  "policy-mutual-destination-allowlisted",
  "policy-mutual-fee-range",
  "policy-mutual-no-pending-htlcs",
  "policy-mutual-other",
  "policy-mutual-scripts",
  "policy-mutual-value-matches-commitment",
  "policy-no-routing",
  "policy-onchain-fee-range",
  "policy-onchain-format-standard",
  "policy-onchain-funding-non-malleable",
  "policy-onchain-initial-commitment-countersigned",
  "policy-onchain-max-size",
  "policy-onchain-no-channel-push",
  "policy-onchain-no-fund-inbound",
  "policy-onchain-no-unknown-outputs",
  "policy-onchain-output-match-commitment",
  "policy-onchain-output-scriptpubkey",
  "policy-onchain-wallet-path-predictable",
  "policy-optional-fail-fast",
  "policy-other",
  "policy-revoke-new-commitment-signed",
  "policy-revoke-new-commitment-valid",
  "policy-revoke-not-closed",
  "policy-routing-balanced",
  "policy-routing-cltv-delta",
  "policy-routing-deltas-only-htlc",
  "policy-sweep-destination-allowlisted",
  "policy-sweep-fee-range",
  "policy-sweep-locktime",
  "policy-sweep-other",
  "policy-sweep-sequence",
  "policy-sweep-version",
  "policy-velocity-funding",
  "policy-velocity-transferred",
];

/** Warden's own ids (new rules, documented in the file and listed in its closing index). */
const WARDEN_IDS = [
  "policy-commitment-spends-active-utxo-depth",
  "policy-commitment-payment-approved-pending",
  "policy-onchain-input-amounts-verified",
  "policy-mutual-destination-shared-allowlist",
  "policy-gossip-format",
  "policy-gossip-our-node",
  "policy-gossip-our-channel",
  "policy-gossip-timestamp",
  "policy-gossip-channel-update-fees",
  "policy-gossip-channel-update-cltv-delta",
  "policy-invoice-ours",
  "policy-invoice-well-formed",
  "policy-message-text",
  "policy-ecdh-peer-point",
  "policy-derive-secret-info",
  "policy-bolt12-known-signature",
];

/** The rules that no filter may demote. */
const MANDATORY = [
  "policy-chain-validated",
  "policy-channel-original-channel-id-reuse",
  "policy-channel-safe-mode",
  "policy-commitment-anchor-amount",
  "policy-commitment-anchor-match-fundingkey",
  "policy-commitment-anchor-static-remotekey",
  "policy-commitment-anchor-to-counterparty",
  "policy-commitment-anchor-to-holder",
  "policy-commitment-anchors-not-when-off",
  "policy-commitment-broadcaster-pubkey",
  "policy-commitment-countersignatory-pubkey",
  "policy-commitment-first-no-htlcs",
  "policy-commitment-holder-not-revoked",
  "policy-commitment-htlc-counterparty-htlc-pubkey",
  "policy-commitment-htlc-holder-htlc-pubkey",
  "policy-commitment-htlc-revocation-pubkey",
  "policy-commitment-initial-funding-value",
  "policy-commitment-input-match-funding",
  "policy-commitment-input-single",
  "policy-commitment-locktime",
  "policy-commitment-no-unrecognized-outputs",
  "policy-commitment-other",
  "policy-commitment-previous-revoked",
  "policy-commitment-retry-same",
  "policy-commitment-revocation-pubkey",
  "policy-commitment-scripts",
  "policy-commitment-sequence",
  "policy-commitment-singular-to-counterparty",
  "policy-commitment-singular-to-holder",
  "policy-commitment-spends-active-utxo",
  "policy-commitment-spends-active-utxo-depth",
  "policy-commitment-to-self-delay-range",
  "policy-commitment-version",
  "policy-generic-error",
  "policy-gossip-format",
  "policy-gossip-our-channel",
  "policy-gossip-our-node",
  "policy-htlc-cltv-range",
  "policy-htlc-delayed-pubkey",
  "policy-htlc-locktime",
  "policy-htlc-other",
  "policy-htlc-revocation-pubkey",
  "policy-htlc-sequence",
  "policy-htlc-to-self-delay",
  "policy-htlc-version",
  "policy-invoice-ours",
  "policy-mutual-destination-allowlisted",
  "policy-mutual-no-pending-htlcs",
  "policy-mutual-other",
  "policy-mutual-scripts",
  "policy-onchain-funding-non-malleable",
  "policy-onchain-initial-commitment-countersigned",
  "policy-onchain-output-match-commitment",
  "policy-onchain-output-scriptpubkey",
  "policy-other",
  "policy-revoke-new-commitment-signed",
  "policy-revoke-new-commitment-valid",
  "policy-revoke-not-closed",
  "policy-routing-deltas-only-htlc",
  "policy-sweep-destination-allowlisted",
  "policy-sweep-locktime",
  "policy-sweep-other",
  "policy-sweep-sequence",
  "policy-sweep-version",
];

/**
 * Every parameter of rules-spec.md §5, then Warden's node-level ones, as [bitcoin value, value on
 * the test networks].
 */
const PARAMS: Record<string, [unknown, unknown]> = {
  min_delay: ["144", "4"],
  max_delay: ["2016", "2016"],
  max_channel_size_sat: ["1000000001", "1000000001"],
  epsilon_sat: ["10000", "10000"],
  max_htlcs: ["1000", "1000"],
  max_htlc_value_sat: ["16777216", "16777216"],
  use_chain_state: [false, false],
  min_feerate_per_kw: ["253", "253"],
  max_feerate_per_kw: ["25000", "333333"],
  enforce_balance: [false, false],
  max_routing_fee_msat: ["10000", "222000"],
  max_feerate_percentage: ["10", "10"],
  cltv_delta: ["34", "6"],
  disable_beneficial_balance_checks: [false, false],
  max_channels: ["1000", "1000"],
  max_invoices: ["1000", "1000"],
  max_payments_msat_per_day: ["2100000000000000000", "2100000000000000000"],
  max_onchain_fees_msat_per_day: ["1000000000", "1000000000"],
  max_onchain_tx_size: ["32768", "32768"],
  min_invoice_expiry: ["60", "60"],
  max_clock_skew: ["60", "60"],
  max_cltv_expiry: ["500000000", "500000000"],
  max_chain_lag: ["2", "2"],
  min_funding_depth: ["1", "1"],
  min_dust_limit_sat: ["330", "330"],
  max_trimmed_value_sat: ["50000", "50000"],
  max_trimmed_value_sat_per_day: ["100000", "100000"],
  min_chan_dust_limit_sat: ["354", "354"],
  anchor_value_sat: ["330", "330"],
  safe_commitment_types: [
    ["static_remotekey", "anchors_zero_fee_htlc"],
    ["static_remotekey", "anchors_zero_fee_htlc"],
  ],
  sweep_sequences_non_anchor: [
    ["0", "4294967293", "4294967295"],
    ["0", "4294967293", "4294967295"],
  ],
  sweep_sequences_anchor: [["1"], ["1"]],
  wallet_gap_limit: ["1000", "1000"],
  require_settlement_preimage: [false, false],
  require_payee_allowlist: [false, false],
  allow_routing: [true, true],
  merchant_mode: [false, false],
  max_funding_sat_per_day: ["2100000000000000", "2100000000000000"],
  max_transferred_sat_per_day: ["2100000000000000", "2100000000000000"],
  max_channel_update_fee_base_msat: ["1000000", "1000000"],
  max_channel_update_fee_proportional_millionths: ["100000", "100000"],
  max_gossip_timestamp_ahead: ["10800", "10800"],
  max_derive_secret_info_length: ["256", "256"],
};

function load(network: (typeof NETWORKS)[number]): Policy {
  return loadPolicy(DEFAULT, { registry: signerRegistry(), network });
}

Deno.test("default policy: loads for every network with no diagnostic, the same rules", () => {
  const ids = load("bitcoin").rules.map((r) => r.id);
  for (const network of NETWORKS) {
    const policy = load(network);
    deepStrictEqual(policy.rules.map((r) => r.id), ids, network);
    deepStrictEqual(policy.filters, [], "the default policy filters nothing");
    deepStrictEqual(policy.mandatoryDemotions, []);
  }
});

Deno.test("default policy: every example passes, and every rule and clause has examples", () => {
  const policy = load("regtest");
  const results = policy.runExamples();
  deepStrictEqual(
    results.filter((r) => !r.passed).map((r) =>
      `${r.rule} "${r.example}" on ${r.kind}: ${r.difference}`
    ),
    [],
  );
  strictEqual(results.length, 536);
  for (const rule of policy.rules) {
    const mine = results.filter((r) => r.rule === rule.id);
    strictEqual(rule.description.length > 20, true, `${rule.id} has a description`);
    strictEqual(mine.some((r) => r.expected === "allow"), true, `${rule.id} has an allow example`);
    for (const clause of rule.clauses) {
      if (GATED[rule.id]?.clauses.includes(clause.index)) continue;
      strictEqual(
        mine.some((r) => r.expected === "refuse" && clause.kinds.includes(r.kind)),
        true,
        `${rule.id} clause ${clause.index} has a refuse example on one of its kinds`,
      );
    }
  }
  // The gated clauses are exactly those whose parameter is off on every network.
  for (const [id, { param, on, clauses }] of Object.entries(GATED)) {
    const rule = policy.rules.find((r) => r.id === id);
    strictEqual(rule?.clauses.length, clauses.length, id);
    const values = Object.values(policy.params.find((p) => p.name === param)?.values ?? {});
    deepStrictEqual(new Set(values), new Set([on !== "true"]), `${param} is off`);
  }
});

Deno.test("default policy: all 94 VLS ids and Warden's own ids, all named in the closing index", () => {
  strictEqual(VLS_IDS.length, 94);
  const policy = load("bitcoin");
  const ids = policy.rules.map((r) => r.id);
  deepStrictEqual(ids.filter((id) => VLS_IDS.includes(id)).sort(), VLS_IDS);
  deepStrictEqual(ids.filter((id) => !VLS_IDS.includes(id)).sort(), [...WARDEN_IDS].sort());
  strictEqual(ids.length, 94 + WARDEN_IDS.length);
  deepStrictEqual(
    policy.rules.filter((r) => r.aliases.length > 0).map((r) => [r.id, r.aliases]),
    [["policy-channel-safe-mode", ["policy-channel-safe-type"]]],
  );
  // The closing index of the file names every VLS id and every Warden id, and nothing else.
  const text = Deno.readTextFileSync(DEFAULT);
  const index = text.slice(text.indexOf("# Rule index."));
  const ownAt = index.indexOf("# Warden's own ids");
  const named = (part: string) => new Set(part.match(/policy-[a-z0-9-]+[a-z0-9]/g) ?? []);
  const vlsPart = named(index.slice(0, ownAt));
  vlsPart.delete("policy-channel-safe-type"); // the alias, named next to its rule
  deepStrictEqual([...vlsPart].sort(), VLS_IDS, "the VLS part of the index");
  const missingAt = index.indexOf("# Facts still missing");
  deepStrictEqual(
    [...named(index.slice(ownAt, missingAt))].sort(),
    [...WARDEN_IDS].sort(),
    "Warden's part",
  );
});

Deno.test("default policy: severities, and mandatory rules cannot be demoted", () => {
  const policy = load("bitcoin");
  deepStrictEqual(policy.rules.filter((r) => r.mandatory).map((r) => r.id).sort(), MANDATORY);
  deepStrictEqual(policy.rules.filter((r) => r.temporary).map((r) => r.id).sort(), [
    "policy-commitment-payment-approved-pending",
    "policy-commitment-spends-active-utxo-depth",
  ]);
  const site = (items: string) => {
    const path = DEFAULT.replace(/default\.policy$/, "site_under_test.policy");
    return loadPolicy(path, {
      registry: signerRegistry(),
      network: "bitcoin",
      readFile: (p) =>
        p === path
          ? `policy "site" version 1\ninclude "default.policy"\n${items}\n`
          : Deno.readTextFileSync(p),
    });
  };
  throws(() => site("filter policy-channel-safe-type warn"), PolicyError);
  const demoted = site("filter policy-commitment-fee-range warn\nparam max_htlcs = 10");
  strictEqual(
    demoted.rules.find((r) => r.id === "policy-commitment-fee-range")?.severity.action,
    "warn",
  );
  deepStrictEqual(demoted.params.find((p) => p.name === "max_htlcs")?.values.bitcoin, "10");
});

Deno.test("default policy: every parameter (rules-spec.md §5 and Warden's) with its mainnet and test values", () => {
  const policy = load("bitcoin");
  deepStrictEqual(policy.params.map((p) => p.name).sort(), Object.keys(PARAMS).sort());
  for (const p of policy.params) {
    const [mainnet, test] = PARAMS[p.name];
    strictEqual(p.description.length > 10, true, `${p.name} has a description`);
    deepStrictEqual(p.values.bitcoin, mainnet, `${p.name} on bitcoin`);
    for (const network of NETWORKS.filter((n) => n !== "bitcoin")) {
      deepStrictEqual(p.values[network], test, `${p.name} on ${network}`);
    }
  }
});
