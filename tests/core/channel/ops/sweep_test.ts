/**
 * Sweeps, two-sided: our to_local of our own commitment, HTLC outputs of the peer's commitment as
 * the peer built it, and outputs of the peer's revoked commitments with the secrets the peer
 * revealed. Signatures verify with the keys BOLT #3 derives; each tampering flips exactly the
 * facts rules-spec.md §2.K reads.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { p2wsh } from "../../../../core/bitcoin/script.ts";
import { type Tx, txid } from "../../../../core/bitcoin/tx.ts";
import { createPsbt, decodePsbt, encodePsbt } from "../../../../core/bitcoin/psbt.ts";
import { offeredHtlcScript } from "../../../../core/bolt3/scripts.ts";
import {
  findRevealedSecret,
  signCounterpartyHtlcSweep,
  signDelayedSweep,
  signJusticeSweep,
  spendTxFromPsbt,
  spendTxOf,
  sweepFeeFacts,
} from "../../../../core/channel/ops/sweep.ts";
import { holderPoint, holderSecret } from "../../../../core/channel/state.ts";
import type { RebuiltCommitment } from "../../../../core/channel/rebuild.ts";
import {
  assertSchema,
  assertSigVerifies,
  Channel,
  ctxWith,
  diffFacts,
  editTx,
  FOREIGN_SCRIPT,
  hashOf,
  spendOf,
  toHex,
  US_NODE,
  walletOf,
  walletScript,
} from "../_fixture2.ts";

/** A one-input sweep of output `vout` of `commitment` to our wallet key 5. */
function sweepOf(
  commitment: RebuiltCommitment,
  vout: number,
  o: { sequence: number; locktime?: number; fee?: bigint },
): Tx {
  return {
    version: 2,
    locktime: o.locktime ?? 0,
    inputs: [{
      txid: txid(commitment.tx),
      vout,
      scriptSig: new Uint8Array(),
      sequence: o.sequence,
      witness: [],
    }],
    outputs: [{
      amount: commitment.outputs[vout].amountSat - (o.fee ?? 500n),
      script: walletScript(5),
    }],
  };
}

function spentOf(commitment: RebuiltCommitment, vout: number) {
  const o = commitment.outputs[vout];
  return [{ amount: o.amountSat, script: o.scriptPubKey }];
}

Deno.test("delayed sweep: our to_local after the CSV delay, to our wallet", () => {
  const ch = new Channel();
  ch.openWithTwoHtlcs();
  const ours = ch.holderCommitment("us", 2);
  const vout = ours.outputs.findIndex((o) => o.kind === "to_broadcaster");
  const ws = ours.outputs[vout].witnessScript ?? new Uint8Array();
  strictEqual(ws.length, 75);
  const tx = sweepOf(ours, vout, { sequence: 6 });
  const spend = spendOf(tx, { spent: spentOf(ours, vout), outputPaths: [[5]] });
  const request = { number: 2, spend, inputIndex: 0, witnessScript: ws };
  const out = signDelayedSweep(ctxWith(ch.us), request);
  assertSchema(out);
  strictEqual(out.next, ch.us.state);
  const value = ours.outputs[vout].amountSat;
  deepStrictEqual(out.facts.sweep, {
    version: 2,
    input_index: 0,
    input_count: 1,
    sequence: 6,
    locktime: 0,
    htlc_kind: "none",
    htlc_cltv_expiry: 0,
    redeemscript_ok: true,
    revocation_secret_known: true,
    input_amount_sat: value,
    output_total_sat: value - 500n,
    all_input_amounts_known: true,
    // 500 sat over 82 * 4 + 2 + (1 + 74 + 1 + 1 + 75) = 482 weight units, rounded up.
    feerate_per_kw: 1039,
    required_csv: 6,
    sequence_ok: true,
    wallet_lookup_ok: true,
    outputs: [{
      script: toHex(walletScript(5)),
      amount_sat: value - 500n,
      in_wallet: true,
      allowlisted: false,
      path_len: 1,
      path_index: 5,
    }],
  });
  deepStrictEqual(out.facts.point, { number: 2 });
  assertSigVerifies(out.release(), {
    tx,
    index: 0,
    scriptCode: ws,
    amount: value,
    pubkey: ours.keys.broadcasterDelayedPaymentKey,
  });
  // LDK-style: no witness script, the amount only for our input: the same facts.
  const ldk = signDelayedSweep(ctxWith(ch.us), {
    number: 2,
    spend: { ...spendTxOf(tx, { inputIndex: 0, amountSat: value }), outputPaths: [[5]] },
    inputIndex: 0,
  });
  deepStrictEqual(diffFacts(out.facts, ldk.facts), []);

  const flips = (edit: Partial<typeof request>, expected: string[]) => {
    const f = signDelayedSweep(ctxWith(ch.us), { ...request, ...edit });
    assertSchema(f);
    deepStrictEqual(diffFacts(out.facts, f.facts), expected.sort());
  };
  const withTx = (t: Tx, paths = [[5]]) => ({ spend: { ...spend, tx: t, outputPaths: paths } });
  flips(withTx(editTx(tx, (t) => t.version = 1)), ["sweep.version"]);
  flips(withTx(editTx(tx, (t) => t.inputs[0].sequence = 5)), [
    "sweep.sequence",
    "sweep.sequence_ok",
  ]);
  flips(withTx(editTx(tx, (t) => t.locktime = 1000)), ["sweep.locktime"]);
  const foreign = editTx(tx, (t) => t.outputs[0].script = FOREIGN_SCRIPT);
  flips(withTx(foreign, [[]]), [
    "sweep.outputs.0.in_wallet",
    "sweep.outputs.0.path_index",
    "sweep.outputs.0.path_len",
    "sweep.outputs.0.script",
  ]);
  // The node claims the foreign script is wallet key 5: it is not.
  flips(withTx(foreign), ["sweep.outputs.0.in_wallet", "sweep.outputs.0.script"]);
  flips(withTx(editTx(tx, (t) => t.outputs[0].script = walletScript(5)), [[0x80000005]]), [
    "sweep.outputs.0.in_wallet",
    "sweep.outputs.0.path_index",
    "sweep.wallet_lookup_ok",
  ]);
  // The script of another commitment (1): not our to_local of commitment 2.
  const other = ch.holderCommitment("us", 1);
  flips({ witnessScript: other.outputs.find((o) => o.kind === "to_broadcaster")?.witnessScript }, [
    "sweep.redeemscript_ok",
  ]);
  // An allowlisted foreign destination is acceptable to the destination rule.
  const allow = signDelayedSweep(ctxWith(ch.us, walletOf([FOREIGN_SCRIPT])), {
    ...request,
    ...withTx(foreign, [[]]),
  });
  deepStrictEqual(
    [allow.facts.sweep.outputs[0].in_wallet, allow.facts.sweep.outputs[0].allowlisted],
    [false, true],
  );
  // Another input of unknown amount: our input alone proves a 500-sat fee at the two-input
  // weight, 82 * 4 + 41 * 4 + 2 + 2 * 152 = 798 units (627 sat/kw, a lower bound the rule judges
  // from min_feerate_per_kw up).
  const two = editTx(tx, (t) => t.inputs.push({ ...t.inputs[0], vout: 9 }));
  const partial = signDelayedSweep(ctxWith(ch.us), {
    ...request,
    spend: spendOf(two, { spent: [...spentOf(ours, vout), null], outputPaths: [[5]] }),
  });
  deepStrictEqual(
    [partial.facts.sweep.all_input_amounts_known, partial.facts.sweep.feerate_per_kw],
    [false, 627],
  );
  // The unknown input pays the fee and more (outputs above our input): no fee proven.
  const funded = editTx(two, (t) => t.outputs[0].amount = value + 1_000n);
  const aggregated = signDelayedSweep(ctxWith(ch.us), {
    ...request,
    spend: spendOf(funded, { spent: [...spentOf(ours, vout), null], outputPaths: [[5]] }),
  });
  deepStrictEqual(
    [aggregated.facts.sweep.all_input_amounts_known, aggregated.facts.sweep.feerate_per_kw],
    [false, 0],
  );
  throws(
    () => signDelayedSweep(ctxWith(ch.us), { ...request, spend: spendOf(tx) }),
    { name: "ChannelRequestError", message: "the amount of input 0 is required" },
  );
});

Deno.test("sweepFeeFacts: exact with every amount, a lower bound when one is missing", () => {
  const out = (amount: bigint) => ({ amount, script: walletScript(5) });
  const input = { txid: new Uint8Array(32), vout: 0, scriptSig: new Uint8Array(), sequence: 0 };
  const tx = (outputs: bigint[], inputs = 2): Tx => ({
    version: 2,
    locktime: 0,
    inputs: Array.from({ length: inputs }, (_, vout) => ({ ...input, vout, witness: [] })),
    outputs: outputs.map(out),
  });
  // Every amount given: the exact fee, judged whatever its size (0 included).
  deepStrictEqual(
    sweepFeeFacts({ tx: tx([9_000n]), spent: [out(6_000n), out(4_000n)] }, 1000),
    { allKnown: true, feeratePerKw: 1000 },
  );
  deepStrictEqual(
    sweepFeeFacts({ tx: tx([10_000n]), spent: [out(6_000n), out(4_000n)] }, 1000),
    { allKnown: true, feeratePerKw: 0 },
  );
  // Input 1 unknown: our 10,000 sat less the outputs is the least fee paid.
  const partial = (outputs: bigint) =>
    sweepFeeFacts({ tx: tx([outputs]), spent: [out(10_000n), null] }, 1000);
  deepStrictEqual(partial(1_000n), { allKnown: false, feeratePerKw: 9_000 });
  deepStrictEqual(partial(10_000n - 253n), { allKnown: false, feeratePerKw: 253 });
  deepStrictEqual(partial(10_000n - 252n), { allKnown: false, feeratePerKw: 252 });
  // The unknown input pays the whole fee and more: nothing of ours is proven to be fee.
  deepStrictEqual(partial(12_000n), { allKnown: false, feeratePerKw: 0 });
  deepStrictEqual(
    sweepFeeFacts({ tx: tx([1_000n], 1), spent: [null] }, 1000),
    { allKnown: false, feeratePerKw: 0 },
  );
});

Deno.test("counterparty HTLC sweep: claims on the peer's commitment as the peer built it", () => {
  for (const anchors of [false, true]) {
    const ch = new Channel({ anchors });
    ch.openWithTwoHtlcs();
    const theirs = ch.holderCommitment("peer", 2);
    const point = holderPoint(ch.peer.keys, 2);
    const htlcOutputs = theirs.outputs.flatMap((
      o,
      i,
    ) => (o.kind === "htlc" && o.htlc ? [{ o, i }] : []));
    strictEqual(htlcOutputs.length, 2);
    for (const { o, i } of htlcOutputs) {
      const htlc = o.htlc;
      if (!htlc || !o.witnessScript) throw new Error("HTLC output without script");
      // Offered by the peer: we claim with the preimage. Received by the peer (ours): timeout.
      const kind = htlc.offered ? "offered" : "received";
      const sequence = anchors ? 1 : 0xfffffffd;
      const tx = sweepOf(theirs, i, { sequence, locktime: htlc.offered ? 0 : htlc.cltvExpiry });
      const spend = spendOf(tx, { spent: spentOf(theirs, i), outputPaths: [[5]] });
      const request = {
        spend,
        inputIndex: 0,
        witnessScript: o.witnessScript,
        perCommitmentPoint: point,
      };
      const out = signCounterpartyHtlcSweep(ctxWith(ch.us), request);
      assertSchema(out);
      const s = out.facts.sweep;
      deepStrictEqual(
        [s.htlc_kind, s.htlc_cltv_expiry, s.redeemscript_ok, s.sequence_ok, s.required_csv],
        [kind, htlc.offered ? 0 : htlc.cltvExpiry, true, true, 0],
      );
      assertSigVerifies(out.release(), {
        tx,
        index: 0,
        scriptCode: o.witnessScript,
        amount: o.amountSat,
        pubkey: theirs.keys.countersignatoryHtlcKey,
      });
      // LDK: the HTLC instead of the script, the same facts.
      const ldk = signCounterpartyHtlcSweep(ctxWith(ch.us), {
        ...request,
        witnessScript: undefined,
        htlc,
      });
      deepStrictEqual(diffFacts(out.facts, ldk.facts), []);

      const flips = (edit: Partial<typeof request>, expected: string[]) => {
        const f = signCounterpartyHtlcSweep(ctxWith(ch.us), { ...request, ...edit });
        assertSchema(f);
        deepStrictEqual(diffFacts(out.facts, f.facts), expected.sort());
        return f;
      };
      const other = anchors ? 0 : 1;
      flips(
        { spend: { ...spend, tx: editTx(tx, (t) => t.inputs[0].sequence = other) } },
        ["sweep.sequence", "sweep.sequence_ok"],
      );
      flips({ spend: { ...spend, tx: editTx(tx, (t) => t.locktime += 7) } }, ["sweep.locktime"]);
      // The point of a commitment we never signed: its HTLC scripts are not ours to sign.
      const unknown = flips({ perCommitmentPoint: holderPoint(ch.peer.keys, 5) }, [
        "sweep.redeemscript_ok",
      ]);
      throws(() => unknown.release(), { name: "ChannelRequestError" });
    }
    // An HTLC we never had: keys right, payment hash unknown.
    const i = htlcOutputs[0].i;
    const never = offeredHtlcScript({
      revocationKey: theirs.keys.revocationKey,
      broadcasterHtlcKey: theirs.keys.broadcasterHtlcKey,
      countersignatoryHtlcKey: theirs.keys.countersignatoryHtlcKey,
      paymentHash: hashOf(42),
      anchors,
    });
    const tx = sweepOf(theirs, i, { sequence: anchors ? 1 : 0 });
    const f = signCounterpartyHtlcSweep(ctxWith(ch.us), {
      spend: spendOf(tx, {
        spent: [{ amount: theirs.outputs[i].amountSat, script: p2wsh(never) }],
      }),
      inputIndex: 0,
      witnessScript: never,
      perCommitmentPoint: point,
    }).facts.sweep;
    deepStrictEqual([f.htlc_kind, f.redeemscript_ok], ["offered", false]);
    // Not an HTLC script at all.
    const toLocal = theirs.outputs.find((o) => o.kind === "to_broadcaster")?.witnessScript;
    const junk = signCounterpartyHtlcSweep(ctxWith(ch.us), {
      spend: spendOf(tx, { spent: [{ amount: 1000n, script: new Uint8Array() }] }),
      inputIndex: 0,
      witnessScript: toLocal,
      perCommitmentPoint: point,
    }).facts.sweep;
    deepStrictEqual([junk.htlc_kind, junk.redeemscript_ok], ["invalid", false]);
  }
});

Deno.test("justice sweep: revoked outputs with a secret the peer revealed, and only then", () => {
  for (const anchors of [false, true]) {
    const ch = new Channel({ anchors });
    ch.openWithTwoHtlcs();
    strictEqual(ch.us.state.enforcement.nextCounterpartyRevokeNum, 2);
    // The peer's revoked commitment 0: its to_local.
    const revoked = ch.holderCommitment("peer", 0);
    const vout = revoked.outputs.findIndex((o) => o.kind === "to_broadcaster");
    const ws = revoked.outputs[vout].witnessScript ?? new Uint8Array();
    const tx = sweepOf(revoked, vout, { sequence: 0xffffffff });
    const spend = spendOf(tx, { spent: spentOf(revoked, vout), outputPaths: [[5]] });
    const request = {
      spend,
      inputIndex: 0,
      witnessScript: ws,
      revocationSecret: holderSecret(ch.peer.keys, 0),
    };
    const out = signJusticeSweep(ctxWith(ch.us), request);
    assertSchema(out);
    const s = out.facts.sweep;
    deepStrictEqual(
      [
        s.revocation_secret_known,
        s.redeemscript_ok,
        s.sequence_ok,
        s.htlc_kind,
        s.outputs[0].in_wallet,
      ],
      [true, true, true, "none", true],
    );
    assertSigVerifies(out.release(), {
      tx,
      index: 0,
      scriptCode: ws,
      amount: revoked.outputs[vout].amountSat,
      pubkey: revoked.keys.revocationKey,
    });
    // LDK `sign_justice_revoked_output`: no script; or with the commitment number as a hint.
    for (const edit of [{ witnessScript: undefined }, { commitmentNumber: 0 }]) {
      deepStrictEqual(
        diffFacts(out.facts, signJusticeSweep(ctxWith(ch.us), { ...request, ...edit }).facts),
        [],
      );
    }
    const flips = (
      edit: Partial<typeof request> & { commitmentNumber?: number },
      expected: string[],
    ) => {
      const f = signJusticeSweep(ctxWith(ch.us), { ...request, ...edit });
      assertSchema(f);
      deepStrictEqual(diffFacts(out.facts, f.facts), expected.sort());
      return f;
    };
    flips({ commitmentNumber: 1 }, ["sweep.revocation_secret_known"]);
    flips({ spend: { ...spend, tx: editTx(tx, (t) => t.inputs[0].sequence = 1) } }, [
      "sweep.sequence",
      "sweep.sequence_ok",
    ]);
    flips({ spend: { ...spend, tx: editTx(tx, (t) => t.locktime = 800_000) } }, ["sweep.locktime"]);
    // The to_local of a revoked commitment swept to a foreign address.
    flips(
      {
        spend: {
          ...spend,
          tx: editTx(tx, (t) => t.outputs[0].script = FOREIGN_SCRIPT),
          outputPaths: [[]],
        },
      },
      [
        "sweep.outputs.0.in_wallet",
        "sweep.outputs.0.path_index",
        "sweep.outputs.0.path_len",
        "sweep.outputs.0.script",
      ],
    );

    // A secret we do not hold: the peer's current commitment 2 is not revoked. Its own script
    // matches the secret, but the secret was never revealed to us: refused, never used.
    const current = ch.holderCommitment("peer", 2);
    const cv = current.outputs.findIndex((o) => o.kind === "to_broadcaster");
    const cws = current.outputs[cv].witnessScript ?? new Uint8Array();
    const ctx2 = signJusticeSweep(ctxWith(ch.us), {
      spend: spendOf(sweepOf(current, cv, { sequence: 0xffffffff }), {
        spent: spentOf(current, cv),
      }),
      inputIndex: 0,
      witnessScript: cws,
      revocationSecret: holderSecret(ch.peer.keys, 2),
    });
    deepStrictEqual(
      [ctx2.facts.sweep.revocation_secret_known, ctx2.facts.sweep.redeemscript_ok],
      [false, true],
    );
    throws(() => ctx2.release(), {
      name: "ChannelRequestError",
      message: "a justice signature needs a revealed secret and a script of the revoked commitment",
    });
    // A secret of another channel altogether.
    const random = signJusticeSweep(ctxWith(ch.us), {
      ...request,
      revocationSecret: new Uint8Array(32).fill(3),
    });
    deepStrictEqual(
      [random.facts.sweep.revocation_secret_known, random.facts.sweep.redeemscript_ok],
      [false, false],
    );

    // The revoked commitment 1's HTLC output (the one we offered): CLN script or LDK HTLC.
    const revoked1 = ch.holderCommitment("peer", 1);
    const hv = revoked1.outputs.findIndex((o) => o.kind === "htlc");
    const h = revoked1.outputs[hv];
    if (!h.htlc || !h.witnessScript) throw new Error("no HTLC output");
    const htx = sweepOf(revoked1, hv, { sequence: 0xfffffffd });
    const base = {
      spend: spendOf(htx, { spent: spentOf(revoked1, hv), outputPaths: [[5]] }),
      inputIndex: 0,
      revocationSecret: holderSecret(ch.peer.keys, 1),
    };
    const cln = signJusticeSweep(ctxWith(ch.us), { ...base, witnessScript: h.witnessScript });
    const ldk = signJusticeSweep(ctxWith(ch.us), { ...base, htlc: h.htlc });
    deepStrictEqual(
      [cln.facts.sweep.revocation_secret_known, cln.facts.sweep.redeemscript_ok],
      [true, true],
    );
    deepStrictEqual(diffFacts(cln.facts, ldk.facts), []);
    assertSigVerifies(cln.release(), {
      tx: htx,
      index: 0,
      scriptCode: h.witnessScript,
      amount: h.amountSat,
      pubkey: revoked1.keys.revocationKey,
    });
    // The right secret with a script of other keys (commitment 0's to_local): not recognised.
    const mixed = signJusticeSweep(ctxWith(ch.us), { ...base, witnessScript: ws });
    strictEqual(mixed.facts.sweep.redeemscript_ok, false);
  }
});

Deno.test("findRevealedSecret: constant-time lookup of held secrets, with and without a hint", () => {
  const ch = new Channel();
  ch.openWithTwoHtlcs();
  const e = ch.us.state.enforcement;
  strictEqual(findRevealedSecret(e, holderSecret(ch.peer.keys, 0)), 0);
  strictEqual(findRevealedSecret(e, holderSecret(ch.peer.keys, 1)), 1);
  strictEqual(findRevealedSecret(e, holderSecret(ch.peer.keys, 1), { commitmentNumber: 1 }), 1);
  strictEqual(findRevealedSecret(e, holderSecret(ch.peer.keys, 1), { commitmentNumber: 0 }), -1);
  strictEqual(findRevealedSecret(e, holderSecret(ch.peer.keys, 2)), -1, "not revealed yet");
  strictEqual(
    findRevealedSecret(e, holderSecret(ch.peer.keys, 0), { limit: 1 }),
    -1,
    "beyond the limit",
  );
  strictEqual(findRevealedSecret(e, holderSecret(ch.us.keys, 0)), -1, "our own secret");
  throws(
    () =>
      signJusticeSweep(ctxWith(ch.us), {
        spend: spendOf(sweepOf(ch.holderCommitment("peer", 0), 0, { sequence: 0 })),
        inputIndex: 0,
        revocationSecret: new Uint8Array(32),
      }),
    { name: "ChannelRequestError", message: "revocation secret must be a valid 32-byte secret" },
  );
});

Deno.test("spendTxFromPsbt: CLN's PSBT gives the spent outputs and the wallet paths", () => {
  const ch = new Channel();
  ch.openWithTwoHtlcs();
  const ours = ch.holderCommitment("us", 2);
  const vout = ours.outputs.findIndex((o) => o.kind === "to_broadcaster");
  const tx = sweepOf(ours, vout, { sequence: 6 });
  const psbt = createPsbt(tx);
  psbt.inputs[0].witnessUtxo = spentOf(ours, vout)[0];
  psbt.outputs[0].bip32Derivation.push({
    pubkey: US_NODE.walletPubkey(5),
    fingerprint: 0x01020304,
    path: [5],
  });
  const spend = spendTxFromPsbt(decodePsbt(encodePsbt(psbt)));
  deepStrictEqual(spend.spent, spentOf(ours, vout));
  deepStrictEqual([spend.inputPaths, spend.outputPaths], [[[]], [[5]]]);
  const out = signDelayedSweep(ctxWith(ch.us), { number: 2, spend, inputIndex: 0 });
  deepStrictEqual(
    [out.facts.sweep.outputs[0].in_wallet, out.facts.sweep.redeemscript_ok],
    [true, true],
  );
  // A non-witness UTXO that is not the transaction the input spends.
  psbt.inputs[0].nonWitnessUtxo = tx;
  throws(() => spendTxFromPsbt(psbt), { name: "ChannelRequestError" });
});
