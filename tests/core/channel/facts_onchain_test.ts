/**
 * The on-chain fact schemas against rules-spec.md §4.3: every path the spec's rules for these
 * kinds read exists (with the renames the report lists), and every leaf is a type the policy
 * language accepts (integers with a known unit, booleans, strings, bytes, lists, objects).
 */
import { deepStrictEqual } from "node:assert/strict";
import { z } from "zod";
import { ONCHAIN_FACT_KINDS } from "../../../core/channel/facts_onchain.ts";

const SHARED = {
  channel: [
    "closed",
    "closing_depth",
    "commitment_type",
    "counterparty_selected_contest_delay",
    "force_closed_number",
    "funding_depth",
    "has_holder_shutdown_script",
    "holder_selected_contest_delay",
    "is_anchors",
    "is_outbound",
    "is_static_remotekey",
    "is_stub",
    "is_zero_fee_htlc",
    "push_msat",
    "value_sat",
  ].map((f) => `channel.${f}`),
  state: [
    "counterparty_next",
    "counterparty_revoke_next",
    // The spec's has_current_{holder,counterparty}_info: facts.ts names them without `_info`.
    "has_current_counterparty",
    "has_current_holder",
    "holder_next",
    "holder_pending",
  ].map((f) => `state.${f}`),
};

const HTLC_TX = [
  "commitment_number",
  "delayed_pubkey_ok",
  "expected_sequence",
  "expected_to_self_delay",
  "feerate_per_kw",
  "first_mismatch",
  "htlc_cltv_expiry",
  "htlc_matched",
  "input_count",
  "is_counterparty",
  "locktime",
  "matches_rebuild",
  "offered",
  "redeemscript_ok",
  "revocation_pubkey_ok",
  "sequence",
  "sighash_ok",
  "to_self_delay",
  "version",
].map((f) => `htlc_tx.${f}`);

const SWEEP = [
  "all_input_amounts_known",
  "feerate_per_kw",
  "htlc_cltv_expiry",
  "htlc_kind",
  "input_amount_sat",
  "input_count",
  "input_index",
  "locktime",
  "output_total_sat",
  "redeemscript_ok",
  "required_csv",
  "sequence",
  "sequence_ok",
  "version",
  ...["script", "amount_sat", "in_wallet", "allowlisted", "path_len", "path_index"]
    .map((f) => `outputs[].${f}`),
].map((f) => `sweep.${f}`);

const TX = [
  "all_inputs_segwit",
  "approved_unknown_sat",
  "base_size",
  "beneficial_sat",
  "funded_sat",
  "funds_channel",
  "input_sum_sat",
  "non_beneficial_feerate_per_kw",
  "non_beneficial_sat",
  "unknown_outputs_approved",
  "version",
  "weight_lower_bound",
  ...["index", "amount_sat", "script", "kind", "has_path", "path_len", "path_index"]
    .map((f) => `outputs[].${f}`),
  ...["value_sat", "push_msat", "is_outbound", "script_matches", "amount_matches", "holder_next"]
    .map((f) => `outputs[].channel.${f}`),
].map((f) => `tx.${f}`);

const ONCHAIN = [
  ...TX,
  "request.arithmetic_ok",
  "request.wallet_lookup_ok",
  // The spec's wallet.*: `wallet` names a set in the policy language.
  "wallet_info.expected_path_len",
  "wallet_info.max_used_index",
];

const SUMMARY = ["to_holder_sat", "to_counterparty_sat", "htlc_count"];

/** The paths rules-spec.md §4.3 lists per kind, renamed as above. */
const SPEC: Record<keyof typeof ONCHAIN_FACT_KINDS, string[]> = {
  sign_holder_htlc_tx: [
    ...SHARED.channel,
    ...SHARED.state,
    "chain.height",
    "holder_commitment.number",
    "point.number",
    "request.arithmetic_ok",
    ...HTLC_TX,
  ],
  sign_counterparty_htlc_tx: [],
  sign_delayed_sweep: [
    ...SHARED.channel,
    ...SHARED.state,
    "chain.height",
    "point.number",
    "request.arithmetic_ok",
    ...SWEEP,
  ],
  sign_counterparty_htlc_sweep: [],
  sign_justice_sweep: [],
  sign_mutual_close: [
    ...SHARED.channel,
    ...SHARED.state,
    "request.arithmetic_ok",
    "destination.ok",
    ...[
      "assignment",
      "fee_sat",
      "feerate_per_kw",
      "first_mismatch",
      "matches_rebuild",
      "output_count",
      "to_counterparty_sat",
      "to_holder_sat",
      "wallet_lookup_ok",
      // The spec's channel.holder_shutdown_script, until the shared channel block has it.
      "holder_shutdown_script",
      ...["present", "script", "script_standard"].map((f) => `counterparty_output.${f}`),
      ...["present", "script", "in_wallet", "allowlisted"].map((f) => `holder_output.${f}`),
    ].map((f) => `close.${f}`),
    ...SUMMARY.map((f) => `current_holder_commitment.${f}`),
    ...SUMMARY.map((f) => `current_counterparty_commitment.${f}`),
  ],
  sign_anchor_spend: ONCHAIN,
  sign_splice: [...SHARED.channel, ...ONCHAIN],
};
SPEC.sign_counterparty_htlc_tx = SPEC.sign_holder_htlc_tx;
SPEC.sign_counterparty_htlc_sweep = SPEC.sign_delayed_sweep;
SPEC.sign_justice_sweep = SPEC.sign_delayed_sweep;

const UNITS = ["sat", "msat", "blocks", "seconds", "per-kw"];

/** Every path of a schema (objects and leaves; list elements as `[]`), and its unusable leaves. */
function walk(schema: z.ZodType, prefix: string, paths: Set<string>, bad: string[]): void {
  if (prefix) paths.add(prefix);
  const meta = (schema.meta() ?? {}) as { unit?: string; type?: string };
  if (schema instanceof z.ZodObject) {
    for (const [k, v] of Object.entries(schema.shape)) {
      walk(v as z.ZodType, prefix ? `${prefix}.${k}` : k, paths, bad);
    }
  } else if (schema instanceof z.ZodArray) {
    walk(schema.element as z.ZodType, `${prefix}[]`, paths, bad);
  } else if (schema instanceof z.ZodNumber) {
    if (!schema.isInt) bad.push(`${prefix}: not an integer`);
    if (meta.unit !== undefined && !UNITS.includes(meta.unit)) bad.push(`${prefix}: unit`);
  } else if (schema instanceof z.ZodBigInt) {
    if (meta.unit !== undefined && !UNITS.includes(meta.unit)) bad.push(`${prefix}: unit`);
  } else if (!(schema instanceof z.ZodBoolean) && !(schema instanceof z.ZodString)) {
    bad.push(`${prefix}: unsupported type`);
  }
}

Deno.test("every fact path the spec's rules read exists in each on-chain kind", () => {
  for (const [kind, schema] of Object.entries(ONCHAIN_FACT_KINDS)) {
    const paths = new Set<string>();
    const bad: string[] = [];
    walk(schema, "", paths, bad);
    deepStrictEqual(bad, [], `${kind}: leaves the policy language cannot type`);
    const missing = SPEC[kind as keyof typeof SPEC].filter((p) => !paths.has(p));
    deepStrictEqual(missing, [], `${kind}: spec paths missing`);
  }
});

Deno.test("amounts carry their units, byte strings are marked", () => {
  const unit = (s: z.ZodType) => ((s.meta() ?? {}) as { unit?: string }).unit;
  const sweep = ONCHAIN_FACT_KINDS.sign_delayed_sweep.shape.sweep.shape;
  deepStrictEqual(
    [
      unit(sweep.input_amount_sat),
      unit(sweep.locktime),
      unit(sweep.feerate_per_kw),
      unit(sweep.sequence),
    ],
    ["sat", "blocks", "per-kw", undefined],
  );
  const htlc = ONCHAIN_FACT_KINDS.sign_holder_htlc_tx.shape.htlc_tx.shape;
  deepStrictEqual([unit(htlc.locktime), unit(htlc.to_self_delay)], ["blocks", "blocks"]);
  const out = ONCHAIN_FACT_KINDS.sign_splice.shape.tx.shape.outputs.element.shape;
  deepStrictEqual((out.script.meta() ?? {}) as unknown, { type: "bytes" });
});
