/**
 * The clauses of `rules/default.policy` guarded by a parameter that is off on every network. The
 * examples of a policy run with its own parameter values (a site policy's overrides included), so
 * these clauses carry examples that hold whatever the parameter, and no refuse example;
 * param_gated_test.ts refuses each of them through the engine with the parameter on.
 */

/** Rule id → the parameter that turns it on (the value that does) and its gated clauses. */
export const GATED: Record<string, { param: string; on: string; clauses: number[] }> = {
  "policy-commitment-payment-allowlisted": {
    param: "require_payee_allowlist",
    on: "true",
    clauses: [0],
  },
  "policy-commitment-payment-settled-preimage": {
    param: "require_settlement_preimage",
    on: "true",
    clauses: [0],
  },
  "policy-no-routing": { param: "allow_routing", on: "false", clauses: [0] },
  "policy-routing-balanced": { param: "enforce_balance", on: "true", clauses: [0] },
  "policy-merchant-no-sends": { param: "merchant_mode", on: "true", clauses: [0, 1] },
};
