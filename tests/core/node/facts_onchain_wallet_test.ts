/**
 * The `sign_onchain` fact schema: its kind and description, the paths and types of the `onchain`
 * block, the shared blocks (`request`, `tx`, `wallet_info`) being the very schemas of the channel's
 * on-chain kinds (so one rule can be `on sign_onchain, sign_anchor_spend, sign_splice`), and facts
 * of the wrong shape refused at their path. tests/core/node/onchain_test.ts checks the values
 * `signOnchain` computes; tests/core/channel/facts_onchain_test.ts covers the channel kinds only.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import type { z } from "zod";
import { FactRegistry } from "../../../policy/registry.ts";
import {
  ONCHAIN_FACT_KINDS,
  OnchainRequestFacts,
  OnchainTxFacts,
  WalletInfoFacts,
} from "../../../core/channel/facts_onchain.ts";
import {
  ONCHAIN_WALLET_FACT_KINDS,
  ONCHAIN_WALLET_KIND_DESCRIPTIONS,
  OnchainWalletFacts,
  OnchainWalletInputFacts,
  type OnchainWalletInputFactsT,
  SignOnchainFacts,
  type SignOnchainFactsT,
} from "../../../core/node/facts_onchain_wallet.ts";

function registry(): FactRegistry {
  const r = new FactRegistry();
  for (
    const [kind, schema] of Object.entries({ ...ONCHAIN_FACT_KINDS, ...ONCHAIN_WALLET_FACT_KINDS })
  ) {
    r.registerKind(kind, schema, { description: kind });
  }
  return r;
}

/** The issues of a parse as `path: code: message` ([] when it parsed). */
function issues(schema: z.ZodType, facts: unknown): string[] {
  const r = schema.safeParse(facts);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.code}: ${i.message}`);
}

const WALLET_INPUT: OnchainWalletInputFactsT = {
  index: 0,
  owner: "wallet",
  script_type: "p2wpkh",
  amount_sat: 600_000n,
  has_non_witness_utxo: true,
  verified: true,
  segwit_verified: true,
  wallet_index: 3,
  paired_output: -1,
};

/** A withdrawal of one wallet coin to an allowlisted address with change at wallet index 8. */
const WITHDRAWAL: SignOnchainFactsT = {
  request: { arithmetic_ok: true, wallet_lookup_ok: true },
  tx: {
    version: 2,
    base_size: 113,
    funds_channel: false,
    all_inputs_segwit: true,
    input_sum_sat: 600_000n,
    weight_lower_bound: 561,
    beneficial_sat: 599_000n,
    non_beneficial_sat: 1_000n,
    non_beneficial_feerate_per_kw: 1_782,
    unknown_outputs_approved: false,
    approved_unknown_sat: 0n,
    funded_sat: 0n,
    outputs: [0, 1].map((index) => ({
      index,
      amount_sat: index === 0 ? 500_000n : 99_000n,
      script: "0014" + (index === 0 ? "11" : "22").repeat(20),
      kind: index === 0 ? "allowlisted_address" : "wallet",
      has_path: index === 1,
      path_len: index === 1 ? 1 : 0,
      path_index: index === 1 ? 8 : -1,
      channel: {
        value_sat: 0n,
        push_msat: 0n,
        is_outbound: false,
        script_matches: false,
        amount_matches: true,
        holder_next: 0,
      },
    })),
  },
  wallet_info: { expected_path_len: 1, max_used_index: 7 },
  onchain: {
    purpose: "withdrawal",
    input_count: 1,
    signed_input_count: 1,
    wallet_input_count: 1,
    close_input_count: 0,
    foreign_input_count: 0,
    unused_utxo_count: 0,
    signs_taproot: false,
    all_inputs_verified: true,
    non_beneficial_msat: 1_000_000n,
    funded_channel_count: 0,
    max_wallet_input_index: 3,
    max_wallet_output_index: 8,
    inputs: [WALLET_INPUT],
  },
};

Deno.test("ONCHAIN_WALLET_FACT_KINDS: sign_onchain, described for the registry", () => {
  deepStrictEqual(Object.keys(ONCHAIN_WALLET_FACT_KINDS), ["sign_onchain"]);
  strictEqual(ONCHAIN_WALLET_FACT_KINDS.sign_onchain, SignOnchainFacts);
  deepStrictEqual(ONCHAIN_WALLET_KIND_DESCRIPTIONS, {
    sign_onchain:
      "sign our wallet's inputs of a withdrawal, channel funding or fee bump (CLN 7, 147, 149)",
  });
  strictEqual("sign_onchain" in ONCHAIN_FACT_KINDS, false);
});

Deno.test("sign_onchain has the shared on-chain blocks and its own onchain block, no channel", () => {
  deepStrictEqual(Object.keys(SignOnchainFacts.shape), ["request", "tx", "wallet_info", "onchain"]);
  strictEqual(SignOnchainFacts.shape.request, OnchainRequestFacts);
  strictEqual(SignOnchainFacts.shape.tx, OnchainTxFacts);
  strictEqual(SignOnchainFacts.shape.wallet_info, WalletInfoFacts);
  strictEqual(SignOnchainFacts.shape.onchain, OnchainWalletFacts);
  strictEqual(OnchainWalletFacts.shape.inputs.element, OnchainWalletInputFacts);
});

Deno.test("the onchain block's paths and types (units: sat, msat)", () => {
  const onchain = registry().factPaths("sign_onchain")
    .filter((p) => p.path.startsWith("onchain."))
    .map((p) => `${p.path.slice("onchain.".length)}: ${p.typeName}`);
  deepStrictEqual(onchain, [
    "purpose: string",
    "input_count: int",
    "signed_input_count: int",
    "wallet_input_count: int",
    "close_input_count: int",
    "foreign_input_count: int",
    "unused_utxo_count: int",
    "signs_taproot: bool",
    "all_inputs_verified: bool",
    "non_beneficial_msat: msat",
    "funded_channel_count: int",
    "max_wallet_input_index: int",
    "max_wallet_output_index: int",
    "inputs: list of object",
    "inputs[].index: int",
    "inputs[].owner: string",
    "inputs[].script_type: string",
    "inputs[].amount_sat: sat",
    "inputs[].has_non_witness_utxo: bool",
    "inputs[].verified: bool",
    "inputs[].segwit_verified: bool",
    "inputs[].wallet_index: int",
    "inputs[].paired_output: int",
  ]);
});

Deno.test("one rule can read the shared blocks on sign_onchain, sign_anchor_spend, sign_splice", () => {
  const r = registry();
  const shared = (kind: string) =>
    r.factPaths(kind)
      .filter((p) => /^(request|tx|wallet_info)\./.test(p.path))
      .map((p) => `${p.path}: ${p.typeName}`);
  const onchain = shared("sign_onchain");
  strictEqual(onchain.length, 30);
  deepStrictEqual(shared("sign_anchor_spend"), onchain);
  deepStrictEqual(shared("sign_splice"), onchain);
  for (
    const p of [
      "request.wallet_lookup_ok: bool",
      "tx.all_inputs_segwit: bool",
      "tx.non_beneficial_sat: sat",
      "tx.non_beneficial_feerate_per_kw: per-kw",
      "tx.unknown_outputs_approved: bool",
      "tx.approved_unknown_sat: sat",
      "tx.outputs[].script: bytes",
      "tx.outputs[].channel.push_msat: msat",
      "wallet_info.max_used_index: int",
    ]
  ) {
    strictEqual(onchain.includes(p), true, p);
  }
});

Deno.test("a complete withdrawal's facts parse unchanged; so do the mingle pair's", () => {
  deepStrictEqual(SignOnchainFacts.parse(WITHDRAWAL), WITHDRAWAL);
  deepStrictEqual(registry().validate("sign_onchain", WITHDRAWAL), WITHDRAWAL);
  const pair: OnchainWalletInputFactsT = {
    ...WALLET_INPUT,
    index: 1,
    owner: "foreign",
    script_type: "p2wsh",
    amount_sat: 0n,
    has_non_witness_utxo: false,
    verified: false,
    segwit_verified: false,
    wallet_index: -1,
    paired_output: 1,
  };
  deepStrictEqual(OnchainWalletInputFacts.parse(pair), pair);
});

Deno.test("facts of the wrong shape are refused at their path", () => {
  const withInput = (changes: Record<string, unknown>) => ({
    ...WITHDRAWAL,
    onchain: { ...WITHDRAWAL.onchain, inputs: [{ ...WALLET_INPUT, ...changes }] },
  });
  deepStrictEqual(issues(SignOnchainFacts, withInput({ amount_sat: 600_000 })), [
    "onchain.inputs.0.amount_sat: invalid_type: Invalid input: expected bigint, received number",
  ]);
  deepStrictEqual(issues(SignOnchainFacts, withInput({ wallet_index: 0.5 })), [
    "onchain.inputs.0.wallet_index: invalid_type: Invalid input: expected int, received number",
  ]);
  deepStrictEqual(issues(SignOnchainFacts, withInput({ verified: undefined })), [
    "onchain.inputs.0.verified: invalid_type: Invalid input: expected boolean, received undefined",
  ]);
  deepStrictEqual(
    issues(SignOnchainFacts, {
      ...WITHDRAWAL,
      onchain: { ...WITHDRAWAL.onchain, non_beneficial_msat: 1_000_000 },
    }),
    ["onchain.non_beneficial_msat: invalid_type: Invalid input: expected bigint, received number"],
  );
  const { onchain: _, ...channelOnly } = WITHDRAWAL;
  deepStrictEqual(issues(SignOnchainFacts, channelOnly), [
    "onchain: invalid_type: Invalid input: expected object, received undefined",
  ]);
});
