import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { loadPolicy, type Policy } from "../../policy/engine.ts";
import { EXAMPLE_NOW } from "../../policy/examples.ts";
import { diagnose, memoryFiles, testRegistry } from "./fixtures/registry.ts";

const DEFAULT = new URL("./fixtures/default.policy", import.meta.url).pathname;
const COMMIT = "sign_counterparty_commitment";

function inline(text: string): Policy {
  return loadPolicy("/t.policy", {
    registry: testRegistry(),
    network: "bitcoin",
    readFile: memoryFiles({ "/t.policy": text }),
  });
}

Deno.test("examples: every example of the default fixture passes, once per kind", () => {
  const policy = loadPolicy(DEFAULT, { registry: testRegistry(), network: "bitcoin" });
  const results = policy.runExamples();
  strictEqual(results.length, 29);
  deepStrictEqual(results.filter((r) => !r.passed), []);
  deepStrictEqual(results.find((r) => r.example === "too high" && r.kind === COMMIT), {
    rule: "policy-commitment-fee-range",
    example: "too high",
    index: 1,
    kind: COMMIT,
    location: { file: DEFAULT, line: 42, column: 3 },
    expected: "refuse",
    actual: { outcome: "refuse", refusedBy: ["policy-commitment-fee-range"] },
    passed: true,
    difference: "",
  });
  const unnamed = results.find((r) => r.rule === "policy-commitment-version" && r.index === 0);
  strictEqual(unnamed?.example, "#1");
  const revocation = results.filter((r) => r.rule === "policy-commitment-previous-revoked");
  deepStrictEqual(revocation.map((r) => r.kind), ["validate_counterparty_revocation"]);
});

Deno.test("examples: failures say exactly what differs", () => {
  const policy = inline(`policy "t" version 1
param cap = 100 msat
rule fee "Fee." on ${COMMIT} require commitment.fee_sat <= 1_000 sat
  example allow "too much" { commitment.fee_sat: 5_000 sat }
  example refuse "fine" { commitment.fee_sat: 5 sat }
  example refuse "fine, but another rule refuses" { commitment.fee_sat: 5 sat, commitment.number: 0 }
  example allow "missing fact" { commitment.number: 0 }
rule other "Other." on ${COMMIT} require commitment.number > 0
rule divides "Divides." on ${COMMIT} require commitment.fee_sat / commitment.to_holder_sat < 1
  example allow "by zero" { commitment.fee_sat: 1 sat, commitment.to_holder_sat: 0 sat }
rule v "Velocity." on preapprove_keysend limit sum payment.amount_msat over 1h <= param.cap
  example allow "history expired" { payment.amount_msat: 100 msat } history [{ at: -2h, amount: 100 msat }]
  example allow "history counts" { payment.amount_msat: 100 msat } history [{ at: -30m, amount: 1 msat }]
`);
  const results = policy.runExamples();
  deepStrictEqual(results.map((r) => [r.example, r.passed, r.actual, r.difference]), [
    [
      "too much",
      false,
      { outcome: "refuse", refusedBy: ["fee"] },
      'expected allow, but fee refuses (read: commitment.fee_sat = "5000")',
    ],
    ["fine", false, { outcome: "allow", refusedBy: [] }, "expected fee to refuse, but it allows"],
    [
      "fine, but another rule refuses",
      false,
      { outcome: "refuse", refusedBy: ["other"] },
      "expected fee to refuse, but it allows; refused by other",
    ],
    [
      "missing fact",
      false,
      { outcome: "refuse", refusedBy: ["other"] },
      "the example does not give commitment.fee_sat, which the rule reads",
    ],
    [
      "by zero",
      false,
      { outcome: "refuse", refusedBy: ["divides"] },
      'expected allow, but divides refuses (division by zero) (read: commitment.fee_sat = "1", commitment.to_holder_sat = "0")',
    ],
    ["history expired", true, { outcome: "allow", refusedBy: [] }, ""],
    [
      "history counts",
      false,
      { outcome: "refuse", refusedBy: ["v"] },
      'expected allow, but v refuses (read: payment.amount_msat = "100", param.cap = "100", limit.amount = "100", limit.window_total = "1", limit.cap = "100", limit.window_seconds = "3600")',
    ],
  ]);
  strictEqual(EXAMPLE_NOW, 1_700_000_000);
});

Deno.test("examples: list elements missing a field the rule reads name the element", () => {
  const policy = inline(`policy "t" version 1
rule dust "Dust." on ${COMMIT} require all h in commitment.htlcs: h.amount_sat >= 354 sat or h.offered
  example refuse { commitment.htlcs: [{ amount_sat: 1_000 sat }, { amount_sat: 1 sat }] }
`);
  deepStrictEqual(policy.runExamples().map((r) => r.difference), [
    "the example does not give commitment.htlcs[1].offered, which the rule reads",
  ]);
});

Deno.test("examples: facts, kinds, networks, sets and history are checked when the policy loads", () => {
  const rule = (examples: string) =>
    diagnose({
      "/t.policy": `policy "t" version 1
rule r "R." on ${COMMIT} require commitment.fee_sat > 0 sat
  on preapprove_invoice limit sum payment.amount_msat over 1h <= 5 msat
${examples}`,
    });
  deepStrictEqual(rule("  example allow on sign_onchian { commitment.fee_sat: 1 sat }\n"), [
    "/t.policy:4:20: error: rule r has no clause on kind sign_onchian (hint: its kinds: sign_counterparty_commitment, preapprove_invoice)",
  ]);
  deepStrictEqual(
    rule(`  example allow on ${COMMIT} { commitment.fee_sats: 1 sat, commitment.number: 1 sat }\n`),
    [
      '/t.policy:4:51: error: unknown fact "commitment.fee_sats" (hint: did you mean "commitment.fee_sat"?)',
      '/t.policy:4:98: error: example fact "commitment.number" is int, not sat (hint: write a plain number, without a unit)',
    ],
  );
  deepStrictEqual(
    rule(
      `  example allow on ${COMMIT} { commitment.fee_sat: 1 msat, channel.commitment_type: "anchor" }\n`,
    ),
    [
      '/t.policy:4:71: error: example fact "commitment.fee_sat" is sat, not msat (hint: write the value in sat)',
      '/t.policy:4:104: error: "anchor" is not one of the values of channel.commitment_type (hint: did you mean "anchors"?)',
    ],
  );
  deepStrictEqual(
    rule(
      `  example allow on ${COMMIT} { commitment: { fee_sat: 1 }, commitment.htlcs: 5, chain: 1 }\n`,
    ),
    [
      '/t.policy:4:74: error: example fact "commitment.fee_sat" is sat, not int (hint: write the number with its unit, e.g. "5 sat")',
      '/t.policy:4:97: error: example fact "commitment.htlcs" is a list: write [ ... ]',
      '/t.policy:4:107: error: example fact "chain" is an object: write { field: value }',
    ],
  );
  deepStrictEqual(
    rule(`  example allow on ${COMMIT} { commitment.fee_sat: 1 sat, commitment.fee_sat: 2 sat }\n`),
    [
      '/t.policy:4:78: error: example fact "commitment.fee_sat" is given twice',
    ],
  );
  deepStrictEqual(
    rule(`  example allow on ${COMMIT} {} network mainnet with walet [0x00] with wallet [1]\n`),
    [
      "/t.policy:4:60: error: unknown network mainnet (hint: the networks are bitcoin, testnet, testnet4, signet, regtest)",
      '/t.policy:4:73: error: unknown set walet (hint: did you mean "wallet"?)',
      "/t.policy:4:98: error: set wallet holds bytes, not int",
    ],
  );
  deepStrictEqual(rule(`  example allow on ${COMMIT} {} history [{ at: -1h, amount: 1 msat }]\n`), [
    `/t.policy:4:61: error: rule r has no limit on kind ${COMMIT} (hint: history is for limits)`,
  ]);
  deepStrictEqual(
    rule(
      "  example allow on preapprove_invoice {} history [{ at: 1h, amount: 1 sat, when: 1 }, { at: -1h }, 5]\n",
    ),
    [
      '/t.policy:4:57: error: at is a duration at or before now (hint: write e.g. "-2h")',
      "/t.policy:4:69: error: amount is a non-negative msat, like the limit's amount",
      "/t.policy:4:76: error: unknown history field when",
      "/t.policy:4:87: error: a history entry needs at and amount",
      "/t.policy:4:100: error: a history entry is { at: -DURATION, amount: QUANTITY }",
    ],
  );
});
