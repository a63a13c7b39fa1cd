/**
 * The example site policies of rules/examples/ (merchant, routing): each loads against the
 * signer's fact registry for every network with no diagnostic, all its examples pass (the default
 * policy's, under the site's parameters), its overrides and filters are the ones documented, it
 * decides as a merchant or a routing node should, and the CLI's `policy check` and `policy test`
 * accept it.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadPolicy, type Policy } from "../../policy/engine.ts";
import { NETWORKS } from "../../core/bitcoin/network.ts";
import { signerRegistry } from "../../core/signer/registry.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLES = ["merchant", "routing"] as const;
const pathOf = (name: string) => `${ROOT}rules/examples/${name}.policy`;
const NOW = 1_700_000_000;

function load(name: string, network: (typeof NETWORKS)[number] = "bitcoin"): Policy {
  return loadPolicy(pathOf(name), { registry: signerRegistry(), network });
}

/** The parameters each example overrides, with their bitcoin values. */
const OVERRIDES: Record<string, Record<string, unknown>> = {
  merchant: {
    merchant_mode: true,
    allow_routing: false,
    max_payments_msat_per_day: "1000000000",
    max_onchain_fees_msat_per_day: "100000000",
    max_onchain_tx_size: "4096",
    max_funding_sat_per_day: "10000000",
  },
  routing: {
    max_feerate_percentage: "1",
    max_routing_fee_msat: "1000000",
    cltv_delta: "72",
    max_channel_update_fee_base_msat: "10000",
    max_channel_update_fee_proportional_millionths: "5000",
    max_htlc_value_sat: "100000000",
    max_channel_size_sat: "500000000",
  },
};

for (const name of EXAMPLES) {
  Deno.test(`rules/examples/${name}.policy: loads everywhere, every example passes`, () => {
    const defaults = loadPolicy(`${ROOT}rules/default.policy`, {
      registry: signerRegistry(),
      network: "bitcoin",
    });
    for (const network of NETWORKS) {
      const policy = load(name, network);
      deepStrictEqual(policy.rules.map((r) => r.id), defaults.rules.map((r) => r.id), network);
      deepStrictEqual(policy.mandatoryDemotions, []);
    }
    const results = load(name, "regtest").runExamples();
    deepStrictEqual(results.filter((r) => !r.passed).map((r) => `${r.rule} ${r.example}`), []);
    strictEqual(results.length, defaults.runExamples().length);
    // Exactly the documented overrides differ from the default policy on bitcoin.
    const policy = load(name);
    const changed = Object.fromEntries(
      policy.params
        .filter((p) => {
          const d = defaults.params.find((q) => q.name === p.name);
          return JSON.stringify(d?.values) !== JSON.stringify(p.values);
        })
        .map((p) => [p.name, p.values.bitcoin]),
    );
    deepStrictEqual(changed, OVERRIDES[name]);
  });

  Deno.test(`rules/examples/${name}.policy: the CLI's policy check and policy test accept it`, async () => {
    for (const command of ["check", "test"]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "mod.ts", "policy", command, `rules/examples/${name}.policy`],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      strictEqual(out.code, 0, new TextDecoder().decode(out.stderr));
      if (command === "check") ok(stdout.startsWith(`policy "${name}" version 1: ok`), stdout);
      else strictEqual(stdout, "PASS: 536/536\n");
    }
  });
}

Deno.test("merchant: no payment, no forward, no value leaving; receiving is fine", () => {
  const policy = load("merchant", "regtest");
  const keysend = policy.evaluate("preapprove_keysend", {
    payment: {
      hash: "aa",
      amount_msat: 1_000n,
      has_amount: true,
      payee: "02",
      payee_allowlisted: false,
      already_known: false,
      conflicts: false,
      approved: true,
      approval_asked: true,
      approval_pending: false,
      is_keysend: true,
    },
    invoice: {
      is_bolt12: false,
      amount_msat: 1_000n,
      created_at: NOW,
      expiry: 60,
      expires_at: NOW + 60,
      now: NOW,
      ahead_of_now: 0,
      well_formed: true,
      invoice_hash: "",
    },
    sends: { count: 1 },
    table: { approved_count: 0, adds: true },
  }, { now: NOW });
  deepStrictEqual(keysend.violations.map((v) => v.rule), ["policy-merchant-no-sends"]);
  const forward = policy.evaluate("sign_counterparty_commitment", {
    commitment: { htlcs: [{ outgoing: true, is_new: true }], transferred_sat: 0n },
    payments: [{ outgoing_increased: true, incoming_msat: 100_000n, invoiced: false }],
  }, { now: NOW });
  for (const rule of ["policy-merchant-no-sends", "policy-no-routing"]) {
    deepStrictEqual(
      forward.violations.filter((v) => v.rule === rule).map((v) => v.error),
      [undefined],
      rule,
    );
  }
});

Deno.test("routing: tighter rebalance fees and update fees, larger HTLCs, a push only warns", () => {
  const policy = load("routing", "regtest");
  const fee = (outgoing: bigint) =>
    policy.evaluate("sign_counterparty_commitment", {
      payments: [{
        invoiced: true,
        invoice_amount_msat: 100_000_000n,
        incoming_msat: 0n,
        outgoing_msat: outgoing,
      }],
    }, { now: NOW }).violations.filter((v) => v.rule === "policy-commitment-payment-invoiced");
  strictEqual(fee(100_900_000n).length, 0, "0.9%");
  strictEqual(fee(102_000_000n).length, 1, "2%");
  const update = policy.evaluate("sign_channel_update", {
    channel_update: {
      fee_base_msat: 20_000n,
      fee_proportional_millionths: 10,
      cltv_expiry_delta: 72,
    },
  }, { now: NOW }).violations.map((v) => v.rule);
  ok(update.includes("policy-gossip-channel-update-fees"));
  ok(!update.includes("policy-gossip-channel-update-cltv-delta"));
  const inflight = policy.evaluate("validate_holder_commitment", {
    commitment: { htlc_total_sat: 50_000_000n },
  }, { now: NOW }).violations.map((v) => v.rule);
  ok(!inflight.includes("policy-commitment-htlc-inflight-limit"));
  strictEqual(
    policy.rules.find((r) => r.id === "policy-onchain-no-channel-push")?.severity.action,
    "warn",
  );
  const pushed = policy.evaluate("sign_onchain", {
    tx: { outputs: [{ kind: "channel", channel: { push_msat: 100_000_000n } }] },
  }, { now: NOW });
  deepStrictEqual(
    pushed.warnings.filter((w) => w.rule === "policy-onchain-no-channel-push").length,
    1,
  );
});
