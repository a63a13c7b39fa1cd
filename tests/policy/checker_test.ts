import { deepStrictEqual } from "node:assert/strict";
import { loadPolicy } from "../../policy/engine.ts";
import { diagnose, memoryFiles, testRegistry } from "./fixtures/registry.ts";

const HEAD =
  'policy "t" version 1\nparam cap = 5 sat\nparam flag = false\nparam names = ["a", "b"]\n';
const COMMIT = "sign_counterparty_commitment";

/** Diagnostics of one rule `r` on `kinds` requiring `condition` (line 5 of the file). */
function check(condition: string, kinds = COMMIT): string[] {
  return diagnose({ "t.policy": `${HEAD}rule r "d" on ${kinds} require ${condition}\n` });
}

/** The column where the condition starts on line 5 for `kinds`. */
function col(kinds = COMMIT): number {
  return `rule r "d" on ${kinds} require `.length + 1;
}

Deno.test("checker: a well-typed rule has no diagnostics and records what it reads", () => {
  const policy = loadPolicy("t.policy", {
    registry: testRegistry(),
    network: "bitcoin",
    readFile: memoryFiles({
      "t.policy": `${HEAD}rule r "d" on ${COMMIT}, validate_holder_commitment
  when commitment.number > 0 and not param.flag
  require all h in commitment.htlcs: h.amount_sat >= param.cap or h.payment_hash in wallet
`,
    }),
  });
  const rule = policy.rule("r");
  deepStrictEqual(rule?.reads, {
    facts: [
      "commitment.number",
      "commitment.htlcs",
      "commitment.htlcs[].amount_sat",
      "commitment.htlcs[].payment_hash",
    ],
    params: ["flag", "cap"],
    sets: ["wallet"],
  });
  deepStrictEqual(rule?.kinds, [COMMIT, "validate_holder_commitment"]);
});

Deno.test("checker: unknown facts are checked against every kind of the clause, with a hint", () => {
  const c = col();
  deepStrictEqual(check("commitment.fee_sats > 0 sat"), [
    `t.policy:5:${c}: error: unknown fact "commitment.fee_sats" for kind ${COMMIT} (hint: did you mean "commitment.fee_sat"?)`,
  ]);
  const two = `${COMMIT}, validate_holder_commitment`;
  deepStrictEqual(check("comitment.fee_sat > 0 sat", two), [
    `t.policy:5:${
      col(two)
    }: error: unknown fact "comitment.fee_sat" for kinds ${two} (hint: did you mean "commitment.fee_sat"?)`,
  ]);
  const mixed = `${COMMIT}, preapprove_invoice`;
  deepStrictEqual(check("channel.closed", mixed), [
    `t.policy:5:${col(mixed)}: error: unknown fact "channel.closed" for kind preapprove_invoice`,
  ]);
  deepStrictEqual(check("commitment.htlcs.amount_sat > 0 sat"), [
    `t.policy:5:${c}: error: commitment.htlcs is a list: read its elements with a quantifier (hint: all x in commitment.htlcs: x.amount_sat ...)`,
  ]);
  deepStrictEqual(check("commitment.fee_sat.x"), [
    `t.policy:5:${c}: error: commitment.fee_sat is sat and has no field x`,
  ]);
  deepStrictEqual(check("all h in commitment.htlcs: h.amount_sats > 0 sat"), [
    `t.policy:5:${c + 27}: error: h has no field amount_sats (hint: did you mean "amount_sat"?)`,
  ]);
});

Deno.test("checker: unknown kinds, parameters and sets have hints", () => {
  deepStrictEqual(check("true", "sign_counterparty_comitment"), [
    `t.policy:5:15: error: unknown kind sign_counterparty_comitment (hint: did you mean "${COMMIT}"?)`,
  ]);
  const c = col();
  deepStrictEqual(check("commitment.fee_sat <= param.cpa"), [
    `t.policy:5:${c + 22}: error: unknown parameter param.cpa (hint: did you mean "param.cap"?)`,
  ]);
  deepStrictEqual(check("param.cap.x == 1"), [
    `t.policy:5:${c}: error: a parameter is written param.NAME`,
  ]);
  deepStrictEqual(check("commitment.tx.version == 2 and channel.commitment_type in walet"), [
    `t.policy:5:${
      c + 58
    }: error: unknown set or fact "walet" for kind ${COMMIT} (hint: did you mean "wallet"?)`,
  ]);
  deepStrictEqual(check("wallet"), [
    `t.policy:5:${c}: error: set wallet can only be used on the right of in`,
  ]);
});

Deno.test("checker: unit mismatches name both units and how to convert", () => {
  const c = col();
  deepStrictEqual(check("commitment.fee_sat + channel.push_msat > 0 sat"), [
    `t.policy:5:${
      c + 19
    }: error: unit mismatch: sat + msat (hint: convert with msat(x) (sat to msat) or sat(x) (msat to sat, truncating))`,
  ]);
  deepStrictEqual(check("commitment.fee_sat > 0"), [
    `t.policy:5:${
      c + 19
    }: error: unit mismatch: sat > int (hint: write the number with its unit, e.g. "0 sat")`,
  ]);
  deepStrictEqual(check("commitment.fee_sat between 1 sat and 5 msat"), [
    `t.policy:5:${
      c + 37
    }: error: unit mismatch: sat between msat (hint: convert with msat(x) (sat to msat) or sat(x) (msat to sat, truncating))`,
  ]);
  deepStrictEqual(check("commitment.fee_sat * commitment.fee_sat > 0 sat"), [
    `t.policy:5:${c + 19}: error: cannot multiply two quantities: sat * sat`,
  ]);
  deepStrictEqual(check("5 / commitment.fee_sat > 0"), [
    `t.policy:5:${
      c + 2
    }: error: unit mismatch: int / sat (hint: only a quantity can be divided by a quantity (of the same unit))`,
  ]);
  deepStrictEqual(check("commitment.fee_sat / 2 sat > 0 and commitment.fee_sat / 2 > 0 sat"), []);
  deepStrictEqual(check("msat(channel.push_msat) > 0 msat"), [
    `t.policy:5:${c + 5}: error: msat(x) converts sat, not msat`,
  ]);
  deepStrictEqual(check("min(commitment.fee_sat, 1 msat) > 0 sat"), [
    `t.policy:5:${
      c + 24
    }: error: unit mismatch: sat , msat (hint: convert with msat(x) (sat to msat) or sat(x) (msat to sat, truncating))`,
  ]);
  deepStrictEqual(check("commitment.fee_sat in [1 sat, 2 msat]"), [
    `t.policy:5:${c + 30}: error: list elements differ: sat and msat`,
  ]);
  deepStrictEqual(check("commitment.fee_sat in [1, 2]"), [
    `t.policy:5:${
      c + 22
    }: error: type mismatch: sat in list of int (hint: write the number with its unit, e.g. "0 sat")`,
  ]);
});

Deno.test("checker: type mismatches", () => {
  const c = col();
  deepStrictEqual(check("channel.closed == 1"), [
    `t.policy:5:${c + 15}: error: type mismatch: bool == int`,
  ]);
  deepStrictEqual(check("commitment.number"), [
    `t.policy:5:${c}: error: a require condition must be bool, not int`,
  ]);
  deepStrictEqual(check("channel.closed and commitment.number"), [
    `t.policy:5:${c + 19}: error: the right operand of and must be bool, not int`,
  ]);
  deepStrictEqual(check("channel.closed < true"), [
    `t.policy:5:${c}: error: the left operand of < must be a number, not bool`,
    `t.policy:5:${c + 17}: error: the right operand of < must be a number, not bool`,
  ]);
  deepStrictEqual(check('channel.commitment_type == "anchor"'), [
    `t.policy:5:${
      c + 27
    }: error: "anchor" is not one of the values "legacy", "static_remotekey", "anchors", "anchors_zero_fee_htlc" (hint: did you mean "anchors"?)`,
  ]);
  deepStrictEqual(check("commitment.htlcs == commitment.htlcs"), [
    `t.policy:5:${c + 17}: error: cannot compare list of object == list of object`,
  ]);
  deepStrictEqual(check("(if channel.closed then 1 sat else 2) > 0 sat"), [
    `t.policy:5:${
      c + 35
    }: error: the branches of if differ: sat and int (hint: write the number with its unit, e.g. "0 sat")`,
  ]);
  deepStrictEqual(check("len(commitment.number) > 0"), [
    `t.policy:5:${c + 4}: error: len needs a list or bytes, not int`,
  ]);
  deepStrictEqual(check("count(commitment.number) > 0"), [
    `t.policy:5:${c + 6}: error: count needs a list, not int`,
  ]);
  deepStrictEqual(check("min(1) > 0"), [`t.policy:5:${c}: error: min takes 2 arguments`]);
  deepStrictEqual(check("{ a: 1 } == 1"), [
    `t.policy:5:${c}: error: object literals appear only in example facts`,
  ]);
  deepStrictEqual(check("all h in commitment.number: true"), [
    `t.policy:5:${c + 9}: error: expected a list, not int`,
  ]);
  deepStrictEqual(check('"a" in param.names and 1 in []'), []);
  deepStrictEqual(check("channel.closed in param.names"), [
    `t.policy:5:${c + 18}: error: type mismatch: bool in list of string`,
  ]);
  deepStrictEqual(check("commitment.htlcs in param.names"), [
    `t.policy:5:${c}: error: list of object cannot be tested with in`,
  ]);
  deepStrictEqual(check("sum(h in commitment.htlcs: h.offered) > 0"), [
    `t.policy:5:${c + 27}: error: the summed value must be a number, not bool`,
  ]);
});

Deno.test("checker: bound variables may not hide variables, sets, facts or param", () => {
  const c = col();
  deepStrictEqual(check("all h in commitment.htlcs: any h in commitment.htlcs: h.offered"), [
    `t.policy:5:${
      c + 31
    }: error: variable h hides a variable of that name (hint: choose another name)`,
  ]);
  deepStrictEqual(check("all wallet in commitment.htlcs: true"), [
    `t.policy:5:${
      c + 4
    }: error: variable wallet hides a set of that name (hint: choose another name)`,
  ]);
  deepStrictEqual(check("all chain in commitment.htlcs: true"), [
    `t.policy:5:${
      c + 4
    }: error: variable chain hides a fact of that name (hint: choose another name)`,
  ]);
  deepStrictEqual(check("all param in commitment.htlcs: true"), [
    `t.policy:5:${
      c + 4
    }: error: variable param hides the parameter prefix of that name (hint: choose another name)`,
  ]);
  deepStrictEqual(
    check("all h in commitment.htlcs: h.offered and (any h2 in commitment.htlcs: h2.offered)"),
    [],
  );
});

Deno.test("checker: guards, limits and parameter values", () => {
  deepStrictEqual(
    diagnose({
      "t.policy": `${HEAD}rule r "d" on preapprove_invoice when payment.amount_msat
  limit sum payment.amount_msat over 5 sat <= param.cap
`,
    }),
    [
      "t.policy:5:39: error: a when guard must be bool, not msat",
      't.policy:6:38: error: a limit\'s window is a positive duration (hint: write e.g. "24h" or "7d")',
      "t.policy:6:47: error: unit mismatch: msat <= sat (hint: convert with msat(x) (sat to msat) or sat(x) (msat to sat, truncating))",
    ],
  );
  deepStrictEqual(
    diagnose({
      "t.policy": 'policy "t" version 1\nparam a = 1 + 2\nparam b = [1, true]\nparam c = -true\n',
    }),
    [
      "t.policy:2:11: error: a value here is a literal: a number with its unit, true or false, a string, hex bytes, or a list of them",
      "t.policy:3:15: error: list elements differ: int and bool",
      "t.policy:4:11: error: only a number can be negated",
    ],
  );
});

Deno.test("checker: every error of a load is reported, not just the first", () => {
  deepStrictEqual(
    diagnose({
      "t.policy": `${HEAD}rule a "d" on ${COMMIT} require commitment.fee > 0 sat
rule b "d" on ${COMMIT} require param.nope
rule c "d" on nope require true
`,
    }),
    [
      `t.policy:5:52: error: unknown fact "commitment.fee" for kind ${COMMIT} (hint: did you mean "commitment.fee_sat"?)`,
      "t.policy:6:52: error: unknown parameter param.nope",
      "t.policy:7:15: error: unknown kind nope",
    ],
  );
});
