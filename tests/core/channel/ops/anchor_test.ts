/**
 * Anchor spends: our anchor of our own current (or pending) commitment, or of the peer's current
 * commitment as the peer built it; never the peer's anchor, a stale commitment's, or one of a
 * channel without anchors.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { txid } from "../../../../core/bitcoin/tx.ts";
import { anchorScript } from "../../../../core/bolt3/scripts.ts";
import { findAnchorInput, signAnchorSpend } from "../../../../core/channel/ops/anchor.ts";
import type { RebuiltCommitment } from "../../../../core/channel/rebuild.ts";
import type { SpendTx } from "../../../../core/channel/ops/sweep.ts";
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
  walletScript,
} from "../_fixture2.ts";

/** A fee bump spending output `vout` of `commitment` and a 50k-sat wallet input, change to key 10. */
function bump(commitment: RebuiltCommitment, vout: number): SpendTx {
  const tx = makeTx(
    [{ txid: txid(commitment.tx), vout }, { txid: new Uint8Array(32).fill(0xcc), vout: 2 }],
    [{ amount: 49_000n, script: walletScript(10) }],
  );
  return spendOf(tx, {
    spent: [
      { amount: 330n, script: commitment.outputs[vout].scriptPubKey },
      { amount: 50_000n, script: walletScript(9) },
    ],
    inputPaths: [[], [9]],
    outputPaths: [[10]],
  });
}

function anchorOf(c: RebuiltCommitment, kind: "anchor_broadcaster" | "anchor_countersignatory") {
  const i = c.outputs.findIndex((o) => o.kind === kind);
  if (i < 0) throw new Error(`no ${kind}`);
  return i;
}

Deno.test("anchor spend: our anchor of our current commitment, signed with ALL over the fee bump", () => {
  const ch = new Channel({ anchors: true });
  ch.open();
  const ours = ch.holderCommitment("us", 0);
  const spend = bump(ours, anchorOf(ours, "anchor_broadcaster"));
  strictEqual(findAnchorInput(ctxWith(ch.us), spend), 0);
  const out = signAnchorSpend(ctxWith(ch.us), { spend, inputIndex: 0 });
  assertSchema(out);
  strictEqual(out.next, ch.us.state);
  deepStrictEqual(out.facts.anchor, {
    input_index: 0,
    matched: true,
    broadcaster: "holder",
    commitment_number: 0,
    is_current: true,
    input_amount_sat: 330n,
    input_amount_matches: true,
  });
  const t = out.facts.tx;
  deepStrictEqual(
    [
      t.input_sum_sat,
      t.beneficial_sat,
      t.non_beneficial_sat,
      t.outputs[0].kind,
      t.all_inputs_segwit,
    ],
    [50_330n, 49_000n, 1330n, "wallet", true],
  );
  const signed = {
    tx: spend.tx,
    index: 0,
    scriptCode: anchorScript(ch.us.keys.fundingPubkey),
    amount: 330n,
    pubkey: ch.us.keys.fundingPubkey,
  };
  assertSigVerifies(out.release(), signed);

  // Our anchor on the peer's current commitment, as the peer built it.
  const theirs = ch.holderCommitment("peer", 0);
  const cp = signAnchorSpend(ctxWith(ch.us), {
    spend: bump(theirs, anchorOf(theirs, "anchor_countersignatory")),
    inputIndex: 0,
  });
  deepStrictEqual(
    [cp.facts.anchor.matched, cp.facts.anchor.broadcaster, cp.facts.anchor.commitment_number],
    [true, "counterparty", 0],
  );
  assertSigVerifies(cp.release(), {
    ...signed,
    tx: bump(theirs, anchorOf(theirs, "anchor_countersignatory")).tx,
  });

  // The peer's anchor on our commitment is keyed by the peer's funding key: not ours.
  const peerAnchor = signAnchorSpend(ctxWith(ch.us), {
    spend: bump(ours, anchorOf(ours, "anchor_countersignatory")),
    inputIndex: 0,
  });
  assertSchema(peerAnchor);
  deepStrictEqual(diffFacts(out.facts, peerAnchor.facts), [
    "anchor.broadcaster",
    "anchor.commitment_number",
    "anchor.is_current",
    "anchor.matched",
  ]);
  throws(() => peerAnchor.release(), { name: "ChannelRequestError" });
  // A foreign change output.
  const foreign = { ...spend, tx: editTx(spend.tx, (x) => x.outputs[0].script = FOREIGN_SCRIPT) };
  const f = signAnchorSpend(ctxWith(ch.us), { spend: foreign, inputIndex: 0 });
  deepStrictEqual([f.facts.tx.outputs[0].kind, f.facts.tx.beneficial_sat], ["unknown", 0n]);
  // The node misstates the anchor amount.
  const lie = signAnchorSpend(ctxWith(ch.us), {
    spend: {
      ...spend,
      spent: [
        { amount: 10_000n, script: spend.spent[0]?.script ?? new Uint8Array() },
        spend.spent[1],
      ],
    },
    inputIndex: 0,
  });
  strictEqual(lie.facts.anchor.input_amount_matches, false);
});

Deno.test("anchor spend: pending and stale commitments, previous counterparty, no anchors", () => {
  const ch = new Channel({ anchors: true });
  ch.open();
  ch.commit("peer", 1); // our commitment 1 is validated, 0 still current
  const pending = ch.holderCommitment("us", 1);
  const p = signAnchorSpend(ctxWith(ch.us), {
    spend: bump(pending, anchorOf(pending, "anchor_broadcaster")),
    inputIndex: 0,
  });
  deepStrictEqual([p.facts.anchor.matched, p.facts.anchor.commitment_number], [true, 1]);
  ch.revoke("us", 0); // 1 is current, 0 revoked
  const stale = ch.holderCommitment("us", 0);
  const s = signAnchorSpend(ctxWith(ch.us), {
    spend: bump(stale, anchorOf(stale, "anchor_broadcaster")),
    inputIndex: 0,
  });
  strictEqual(s.facts.anchor.matched, false);
  // The peer's commitment 0 after we signed its commitment 1: the previous one.
  ch.commit("us", 1);
  const previous = ch.holderCommitment("peer", 0);
  const prev = signAnchorSpend(ctxWith(ch.us), {
    spend: bump(previous, anchorOf(previous, "anchor_countersignatory")),
    inputIndex: 0,
  });
  deepStrictEqual([prev.facts.anchor.matched, prev.facts.anchor.is_current], [true, false]);

  const plain = new Channel();
  plain.open();
  const c = plain.holderCommitment("us", 0);
  const none = signAnchorSpend(ctxWith(plain.us), { spend: bump(c, 0), inputIndex: 0 });
  deepStrictEqual([none.facts.anchor.matched, none.facts.channel.is_anchors], [false, false]);
  strictEqual(findAnchorInput(ctxWith(plain.us), bump(c, 0)), -1);
});
