/**
 * The rules of `rules/default.policy` that a parameter turns on (require_payee_allowlist,
 * require_settlement_preimage, allow_routing off, enforce_balance, merchant_mode): they have no
 * refuse example in the default file (examples run with the policy's own parameters), so here each
 * gated clause is evaluated through the engine on facts that violate it, under a site policy that
 * turns its parameter on (it refuses, having read the facts: no evaluation error) and under the
 * default policy (it does not apply). Their refusals through the signer are in
 * tests/core/signer/rules_node_test.ts.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { loadPolicy, type Policy } from "../../policy/engine.ts";
import { signerRegistry } from "../../core/signer/registry.ts";
import { GATED } from "./_gated.ts";

const DEFAULT = new URL("../../rules/default.policy", import.meta.url).pathname;
const NOW = 1_700_000_000;

function site(items: string): Policy {
  const path = DEFAULT.replace(/default\.policy$/, "site_under_test.policy");
  return loadPolicy(path, {
    registry: signerRegistry(),
    network: "regtest",
    readFile: (p) =>
      p === path
        ? `policy "site" version 1\ninclude "default.policy"\n${items}\n`
        : Deno.readTextFileSync(p),
  });
}

/** Facts violating each gated clause: [rule, clause, kind, facts]. */
const CASES: [string, number, string, Record<string, unknown>][] = [
  ["policy-commitment-payment-allowlisted", 0, "preapprove_invoice", {
    payment: { already_known: false, payee_allowlisted: false },
  }],
  ["policy-commitment-payment-allowlisted", 0, "preapprove_keysend", {
    payment: { already_known: false, payee_allowlisted: false },
  }],
  ["policy-commitment-payment-settled-preimage", 0, "validate_holder_commitment", {
    commitment: { transferred_sat: 5_000n, htlcs: [] },
    payments: [{
      hash: "aa",
      previous_outgoing_msat: 5_000_000n,
      preimage_known: false,
      invoiced: false,
    }],
  }],
  ["policy-no-routing", 0, "sign_counterparty_commitment", {
    payments: [{ outgoing_increased: true, incoming_msat: 100_000n, invoiced: false }],
  }],
  ["policy-routing-balanced", 0, "sign_counterparty_commitment", {
    commitment: { transferred_sat: 8_000n, htlcs: [] },
    payments: [{
      hash: "aa",
      previous_outgoing_msat: 5_000_000n,
      preimage_known: true,
      invoiced: false,
    }],
  }],
  ["policy-merchant-no-sends", 0, "preapprove_keysend", { sends: { count: 1 } }],
  ["policy-merchant-no-sends", 1, "validate_holder_commitment", {
    commitment: { htlcs: [{ outgoing: true, is_new: true }], transferred_sat: 0n },
  }],
  ["policy-merchant-no-sends", 1, "sign_counterparty_commitment", {
    commitment: { htlcs: [], transferred_sat: 100_000n },
  }],
];

Deno.test("every gated clause has a case below", () => {
  const covered = new Set(CASES.map(([rule, clause]) => `${rule}#${clause}`));
  const gated = Object.entries(GATED).flatMap(([rule, g]) => g.clauses.map((c) => `${rule}#${c}`));
  deepStrictEqual([...covered].sort(), gated.sort());
});

for (const [rule, clause, kind, facts] of CASES) {
  Deno.test(`${rule} clause ${clause} on ${kind}: refuses only with ${GATED[rule].param} on`, () => {
    const { param, on } = GATED[rule];
    const enabled = site(`param ${param} = ${on}`).evaluate(kind, facts, { now: NOW });
    const mine = enabled.violations.filter((v) => v.rule === rule);
    deepStrictEqual(mine.map((v) => [v.clause, v.error]), [[clause, undefined]]);
    strictEqual(enabled.allowed, false);
    const off = loadPolicy(DEFAULT, { registry: signerRegistry(), network: "regtest" })
      .evaluate(kind, facts, { now: NOW });
    deepStrictEqual(off.violations.filter((v) => v.rule === rule), [], "off by default");
  });
}
