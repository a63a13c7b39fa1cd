/**
 * Splices, two-sided: both sides sign their funding input of the same splice transaction with the
 * same operation, and both signatures verify against the old funding output. The facts tell the
 * new funding output, our wallet outputs and value leaving the channel apart.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { publicKey } from "../../../../core/crypto/mod.ts";
import { p2wsh } from "../../../../core/bitcoin/script.ts";
import type { Tx } from "../../../../core/bitcoin/tx.ts";
import { fundingScript } from "../../../../core/bolt3/scripts.ts";
import { signSplice, type SpliceRequest } from "../../../../core/channel/ops/splice.ts";
import { newStub } from "../../../../core/channel/state.ts";
import { ctxOf } from "../_peer.ts";
import {
  assertSchema,
  assertSigVerifies,
  Channel,
  ctxWith,
  diffFacts,
  editTx,
  FOREIGN_SCRIPT,
  makeTx,
  spendOf,
  toHex,
  walletScript,
} from "../_fixture2.ts";

const FUNDING = { txid: new Uint8Array(32).fill(0xaa), vout: 0 };
const WALLET_UTXO = { txid: new Uint8Array(32).fill(0xbb), vout: 1 };

function newFunding(ch: Channel): Uint8Array {
  return p2wsh(fundingScript(ch.us.keys.fundingPubkey, ch.peer.keys.fundingPubkey));
}

/** Splice-in of 200k sat from our wallet key 7 (1000 sat fee). */
function spliceIn(ch: Channel): { tx: Tx; request: SpliceRequest } {
  const tx = makeTx(
    [{ ...FUNDING, sequence: 0xfffffffd }, { ...WALLET_UTXO, sequence: 0xfffffffd }],
    [{ amount: 1_199_000n, script: newFunding(ch) }],
  );
  return {
    tx,
    request: {
      spend: spendOf(tx, {
        spent: [
          { amount: 1_000_000n, script: newFunding(ch) },
          { amount: 200_000n, script: walletScript(7) },
        ],
        inputPaths: [[], [7]],
      }),
      remoteFundingPubkey: ch.peer.keys.fundingPubkey,
      inputIndex: 0,
    },
  };
}

Deno.test("splice-in: our funding input is signed, the new funding output recognised, both sides verify", () => {
  for (const anchors of [false, true]) {
    const ch = new Channel({ anchors });
    ch.open();
    const { tx, request } = spliceIn(ch);
    const out = signSplice(ctxWith(ch.us), request);
    assertSchema(out);
    strictEqual(out.next, ch.us.state, "the state does not change");
    // Our commitment 0 output: 700k minus the commitment fee (724 or 1124 sat) and anchors (660).
    const ourBalance = anchors ? 700_000n - 1124n - 660n : 700_000n - 724n;
    deepStrictEqual(out.facts.splice, {
      input_index: 0,
      input_spends_funding: true,
      input_amount_sat: 1_000_000n,
      input_amount_matches: true,
      remote_funding_key_matches: true,
      new_funding_output_count: 1,
      old_value_sat: 1_000_000n,
      new_value_sat: 1_199_000n,
      new_value_known: false,
      added_sat: 199_000n,
      removed_sat: 0n,
      holder_balance_sat: ourBalance,
      counterparty_balance_sat: 300_000n,
      holder_inputs_sat: 200_000n,
      holder_outputs_sat: 0n,
      unknown_outputs_sat: 0n,
      unaccounted_removed_sat: 0n,
    });
    const t = out.facts.tx;
    deepStrictEqual(
      [t.version, t.funds_channel, t.all_inputs_segwit, t.input_sum_sat, t.beneficial_sat],
      [2, true, true, 1_200_000n, 1_199_000n],
    );
    deepStrictEqual([t.non_beneficial_sat, t.funded_sat], [1000n, 199_000n]);
    deepStrictEqual(t.outputs[0], {
      index: 0,
      amount_sat: 1_199_000n,
      script: toHex(newFunding(ch)),
      kind: "channel",
      has_path: false,
      path_len: 0,
      path_index: -1,
      channel: {
        value_sat: 1_199_000n,
        push_msat: 0n,
        is_outbound: true,
        script_matches: true,
        amount_matches: true,
        holder_next: 1,
      },
    });
    deepStrictEqual(out.facts.request, { arithmetic_ok: true, wallet_lookup_ok: true });
    deepStrictEqual(out.facts.wallet_info, { expected_path_len: 1, max_used_index: -1 });
    const script = fundingScript(ch.us.keys.fundingPubkey, ch.peer.keys.fundingPubkey);
    const signed = { tx, index: 0, scriptCode: script, amount: 1_000_000n };
    assertSigVerifies(out.release(), { ...signed, pubkey: ch.us.keys.fundingPubkey });
    // The peer signs its side of the same input with the same operation.
    const theirs = signSplice(ctxOf(ch.peer), {
      ...request,
      remoteFundingPubkey: ch.us.keys.fundingPubkey,
    });
    strictEqual(theirs.facts.splice.new_funding_output_count, 1);
    assertSigVerifies(theirs.release(), { ...signed, pubkey: ch.peer.keys.fundingPubkey });
    // The new channel value, when known, must be the new funding output's.
    const known = signSplice(ctxWith(ch.us), { ...request, newChannelValueSat: 1_199_000n });
    deepStrictEqual(diffFacts(out.facts, known.facts), ["splice.new_value_known"]);
    const wrong = signSplice(ctxWith(ch.us), { ...request, newChannelValueSat: 1_200_000n });
    deepStrictEqual(diffFacts(out.facts, wrong.facts), [
      "splice.new_value_known",
      "tx.outputs.0.channel.amount_matches",
      "tx.outputs.0.channel.value_sat",
    ]);
  }
});

Deno.test("splice-out: value leaving the channel must come back to us", () => {
  const ch = new Channel();
  ch.open();
  const tx = makeTx([FUNDING], [
    { amount: 900_000n, script: newFunding(ch) },
    { amount: 99_000n, script: walletScript(8) },
  ]);
  const spent = [{ amount: 1_000_000n, script: newFunding(ch) }];
  const request = {
    spend: spendOf(tx, { spent, outputPaths: [[], [8]] }),
    remoteFundingPubkey: ch.peer.keys.fundingPubkey,
    inputIndex: 0,
  };
  const honest = signSplice(ctxWith(ch.us), request);
  assertSchema(honest);
  const s = honest.facts.splice;
  deepStrictEqual(
    [
      s.removed_sat,
      s.holder_outputs_sat,
      s.unaccounted_removed_sat,
      honest.facts.tx.outputs[1].kind,
    ],
    [100_000n, 99_000n, 1000n, "wallet"],
  );
  // The same splice-out to a foreign address.
  const foreign = editTx(tx, (t) => t.outputs[1].script = FOREIGN_SCRIPT);
  const out = signSplice(ctxWith(ch.us), { ...request, spend: spendOf(foreign, { spent }) });
  assertSchema(out);
  deepStrictEqual(diffFacts(honest.facts, out.facts), [
    "splice.holder_outputs_sat",
    "splice.unaccounted_removed_sat",
    "splice.unknown_outputs_sat",
    "tx.beneficial_sat",
    "tx.non_beneficial_feerate_per_kw",
    "tx.non_beneficial_sat",
    "tx.outputs.1.has_path",
    "tx.outputs.1.kind",
    "tx.outputs.1.path_index",
    "tx.outputs.1.path_len",
    "tx.outputs.1.script",
  ]);
  deepStrictEqual(
    [out.facts.splice.unaccounted_removed_sat, out.facts.tx.outputs[1].kind],
    [100_000n, "unknown"],
  );
});

Deno.test("splice: tampering with our input, the keys or the amount", () => {
  const ch = new Channel();
  ch.open();
  const { request } = spliceIn(ch);
  const honest = signSplice(ctxWith(ch.us), request);
  // The node names a rotated remote key: the old funding output is still ours to sign.
  const rotated = signSplice(ctxWith(ch.us), {
    ...request,
    remoteFundingPubkey: publicKey(new Uint8Array(32).fill(9)),
  });
  deepStrictEqual(diffFacts(honest.facts, rotated.facts), ["splice.remote_funding_key_matches"]);
  // The PSBT lies about our input's amount (our signature commits to the stored value anyway).
  const lie = signSplice(ctxWith(ch.us), {
    ...request,
    spend: {
      ...request.spend,
      spent: [{ amount: 900_000n, script: newFunding(ch) }, request.spend.spent[1]],
    },
  });
  deepStrictEqual(
    [lie.facts.splice.input_amount_matches, lie.facts.splice.input_amount_sat],
    [false, 900_000n],
  );
  // Our "funding input" is some other outpoint.
  const other = signSplice(ctxWith(ch.us), { ...request, inputIndex: 1 });
  strictEqual(other.facts.splice.input_spends_funding, false);
  throws(() => other.release(), {
    name: "ChannelRequestError",
    message: "the input does not spend the funding output",
  });
  // An input spending something that is no witness program: not all inputs are segwit.
  const legacy = signSplice(ctxWith(ch.us), {
    ...request,
    spend: {
      ...request.spend,
      spent: [request.spend.spent[0], { amount: 200_000n, script: FOREIGN_SCRIPT.slice(1) }],
    },
  });
  strictEqual(legacy.facts.tx.all_inputs_segwit, false);
  throws(() => signSplice(ctxWith(ch.us), { ...request, inputIndex: 2 }), {
    name: "ChannelRequestError",
    message: "input 2 does not exist",
  });
  throws(
    () => signSplice({ ...ctxWith(ch.us), state: newStub("00") }, request),
    { name: "ChannelRequestError", message: "the channel is not set up yet" },
  );
});
