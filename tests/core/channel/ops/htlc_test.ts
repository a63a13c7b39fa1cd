/**
 * Second-level HTLC transactions, two-sided: our own HTLC transactions (the counterparty's stored
 * signature must verify on them too) and the peer's HTLC transactions as the peer builds them (our
 * signature must equal the one we gave with the commitment). Each tampering flips exactly the facts
 * rules-spec.md §2.I reads.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { ecdsaVerify, publicKey } from "../../../../core/crypto/mod.ts";
import { SIGHASH, sighashSegwitV0 } from "../../../../core/bitcoin/tx.ts";
import { p2wsh } from "../../../../core/bitcoin/script.ts";
import { derivePublicKey } from "../../../../core/bolt3/keys.ts";
import { offeredHtlcScript, toLocalScript } from "../../../../core/bolt3/scripts.ts";
import type { CommitmentHtlcTransaction } from "../../../../core/bolt3/htlc_tx.ts";
import {
  type HolderHtlcTxRequest,
  signCounterpartyHtlcTx,
  signHolderHtlcTx,
} from "../../../../core/channel/ops/htlc.ts";
import { holderPoint } from "../../../../core/channel/state.ts";
import type { RebuiltCommitment } from "../../../../core/channel/rebuild.ts";
import {
  assertSchema,
  assertSigVerifies,
  Channel,
  ctxWith,
  diffFacts,
  editTx,
  fromHex,
  hashOf,
  walletScript,
} from "../_fixture2.ts";

function holderRequest(n: number, h: CommitmentHtlcTransaction): HolderHtlcTxRequest {
  return {
    number: n,
    tx: h.tx,
    inputIndex: 0,
    witnessScript: h.htlcWitnessScript,
    amountSat: h.inputAmountSat,
    outputWitnessScript: h.outputWitnessScript,
  };
}

function cltvOf(rebuilt: RebuiltCommitment, h: CommitmentHtlcTransaction): number {
  return rebuilt.outputs[h.commitmentOutputIndex].htlc?.cltvExpiry ?? -1;
}

Deno.test("holder HTLC tx: honest requests give the expected facts and verifying signatures", () => {
  for (const anchors of [false, true]) {
    const ch = new Channel({ anchors });
    ch.openWithTwoHtlcs();
    const rebuilt = ch.holderCommitment("us", 2);
    strictEqual(rebuilt.htlcTxs.length, 2);
    const ourKey = derivePublicKey(ch.us.keys.basepoints.htlc, holderPoint(ch.us.keys, 2));
    const theirKey = derivePublicKey(ch.peer.keys.basepoints.htlc, holderPoint(ch.us.keys, 2));
    for (const h of rebuilt.htlcTxs) {
      const offered = h.kind === "htlc-timeout";
      const out = signHolderHtlcTx(ctxWith(ch.us), holderRequest(2, h));
      assertSchema(out);
      strictEqual(out.kind, "sign_holder_htlc_tx");
      strictEqual(out.next, ch.us.state, "no state change");
      deepStrictEqual(out.facts.htlc_tx, {
        commitment_number: 2,
        is_counterparty: false,
        offered,
        version: 2,
        input_index: 0,
        input_count: 1,
        output_count: 1,
        sequence: anchors ? 1 : 0,
        expected_sequence: anchors ? 1 : 0,
        locktime: offered ? cltvOf(rebuilt, h) : 0,
        htlc_matched: true,
        htlc_cltv_expiry: cltvOf(rebuilt, h),
        htlc_amount_sat: h.inputAmountSat,
        to_self_delay: 6,
        expected_to_self_delay: 6,
        revocation_pubkey_ok: true,
        delayed_pubkey_ok: true,
        // 663 or 703 sat over 663 or 703 weight units: 1001 is the highest feerate that gives
        // that fee when rounded down (the commitment's 1000 per kw gives it too).
        feerate_per_kw: anchors ? 0 : 1001,
        sighash_ok: true,
        redeemscript_ok: true,
        matches_rebuild: true,
        first_mismatch: "",
        sighash_type: SIGHASH.ALL,
      });
      deepStrictEqual(out.facts.holder_commitment, { number: 2 });
      deepStrictEqual(out.facts.point, { number: 2 });
      const sig = out.release();
      const signed = {
        tx: h.tx,
        index: 0,
        scriptCode: h.htlcWitnessScript,
        amount: h.inputAmountSat,
      };
      assertSigVerifies(sig, { ...signed, pubkey: ourKey });
      // The peer's stored signature completes the witness: it verifies with the peer's HTLC key.
      const type = anchors ? SIGHASH.SINGLE_ANYONECANPAY : SIGHASH.ALL;
      strictEqual(sig.counterpartySighashType, type);
      const digest = sighashSegwitV0(h.tx, 0, {
        scriptCode: h.htlcWitnessScript,
        amount: h.inputAmountSat,
        sighashType: type,
      });
      strictEqual(ecdsaVerify(sig.counterpartySignature, digest, theirKey), true);
      deepStrictEqual(sig.htlcWitnessScript, h.htlcWitnessScript);

      // Phase 2 (LDK): the HTLC's description instead of its script: the same facts.
      const htlc = rebuilt.outputs[h.commitmentOutputIndex].htlc;
      if (!htlc) throw new Error("HTLC output without HTLC");
      const phase2 = signHolderHtlcTx(ctxWith(ch.us), { number: 2, tx: h.tx, inputIndex: 0, htlc });
      deepStrictEqual(diffFacts(out.facts, phase2.facts), []);
      deepStrictEqual(phase2.release().signature, sig.signature);
      const wrongCltv = signHolderHtlcTx(ctxWith(ch.us), {
        number: 2,
        tx: h.tx,
        inputIndex: 0,
        htlc: { ...htlc, cltvExpiry: htlc.cltvExpiry + 1 },
      });
      strictEqual(wrongCltv.facts.htlc_tx.htlc_matched, false);
      strictEqual(wrongCltv.facts.htlc_tx.first_mismatch, "htlc");
    }
  }
});

Deno.test("holder HTLC tx: each tampering flips exactly its facts", () => {
  for (const anchors of [false, true]) {
    const ch = new Channel({ anchors });
    ch.openWithTwoHtlcs();
    const rebuilt = ch.holderCommitment("us", 2);
    const timeout = rebuilt.htlcTxs.find((h) => h.kind === "htlc-timeout");
    if (!timeout) throw new Error("no HTLC-timeout");
    const base = holderRequest(2, timeout);
    const honest = signHolderHtlcTx(ctxWith(ch.us), base).facts;
    const facts = (r: HolderHtlcTxRequest) => {
      const out = signHolderHtlcTx(ctxWith(ch.us), r);
      assertSchema(out);
      return out.facts;
    };
    const flips = (r: HolderHtlcTxRequest, expected: string[], mismatch: string) => {
      const f = facts(r);
      deepStrictEqual(diffFacts(honest, f), expected.sort());
      strictEqual(f.htlc_tx.first_mismatch, mismatch);
    };
    const m = ["htlc_tx.first_mismatch", "htlc_tx.matches_rebuild"];
    flips(
      { ...base, tx: editTx(base.tx, (t) => t.version = 1) },
      [...m, "htlc_tx.version"],
      "version",
    );
    flips(
      { ...base, tx: editTx(base.tx, (t) => t.inputs[0].sequence = 0xfffffffd) },
      [...m, "htlc_tx.sequence"],
      "input 0 sequence",
    );
    flips(
      { ...base, tx: editTx(base.tx, (t) => t.locktime = 480) },
      [...m, "htlc_tx.locktime"],
      "locktime",
    );
    // The output pays a foreign delayed key / revocation key / shorter delay.
    const keys = rebuilt.keys;
    const foreign = publicKey(new Uint8Array(32).fill(0x55));
    const variants: [Parameters<typeof toLocalScript>[0], string][] = [
      [
        {
          revocationKey: keys.revocationKey,
          broadcasterDelayedPaymentKey: foreign,
          toSelfDelay: 6,
        },
        "htlc_tx.delayed_pubkey_ok",
      ],
      [{
        revocationKey: foreign,
        broadcasterDelayedPaymentKey: keys.broadcasterDelayedPaymentKey,
        toSelfDelay: 6,
      }, "htlc_tx.revocation_pubkey_ok"],
      [{
        revocationKey: keys.revocationKey,
        broadcasterDelayedPaymentKey: keys.broadcasterDelayedPaymentKey,
        toSelfDelay: 5,
      }, "htlc_tx.to_self_delay"],
    ];
    for (const [o, fact] of variants) {
      const ws = toLocalScript(o);
      flips(
        {
          ...base,
          tx: editTx(base.tx, (t) => t.outputs[0].script = p2wsh(ws)),
          outputWitnessScript: ws,
        },
        [...m, fact],
        "output 0 script",
      );
    }
    // Without the output's witness script (LDK) a wrong output script flips all three.
    const ws = toLocalScript(variants[0][0]);
    const blind = facts({
      ...base,
      tx: editTx(base.tx, (t) => t.outputs[0].script = p2wsh(ws)),
      outputWitnessScript: undefined,
    });
    deepStrictEqual(
      [
        blind.htlc_tx.revocation_pubkey_ok,
        blind.htlc_tx.delayed_pubkey_ok,
        blind.htlc_tx.to_self_delay,
      ],
      [false, false, -1],
    );
    // A fee taken from the HTLC: on anchor channels the paired output must carry the full value.
    flips(
      { ...base, tx: editTx(base.tx, (t) => t.outputs[0].amount -= 1000n) },
      anchors ? m : [...m, "htlc_tx.feerate_per_kw"],
      "output 0 amount",
    );
    // An HTLC we never signed: another payment hash at the same outpoint.
    const never = offeredHtlcScript({
      revocationKey: keys.revocationKey,
      broadcasterHtlcKey: keys.broadcasterHtlcKey,
      countersignatoryHtlcKey: keys.countersignatoryHtlcKey,
      paymentHash: hashOf(99),
      anchors,
    });
    flips(
      { ...base, witnessScript: never },
      [...m, "htlc_tx.htlc_amount_sat", "htlc_tx.htlc_cltv_expiry", "htlc_tx.htlc_matched"],
      "htlc script",
    );
    // Spending the to_local output (not an HTLC output) of the same commitment.
    const toLocal = rebuilt.outputs.findIndex((o) => o.kind === "to_broadcaster");
    flips(
      { ...base, tx: editTx(base.tx, (t) => t.inputs[0].vout = toLocal) },
      [...m, "htlc_tx.htlc_amount_sat", "htlc_tx.htlc_cltv_expiry", "htlc_tx.htlc_matched"],
      "input outpoint",
    );
    // A script that is no HTLC script at all.
    const junk = facts({ ...base, witnessScript: toLocalScript(variants[0][0]) });
    strictEqual(junk.htlc_tx.redeemscript_ok, false);
    strictEqual(junk.htlc_tx.htlc_matched, false);
    // A revoked commitment (1 <= H - 2): not signable, the numbers say which.
    const old = signHolderHtlcTx(ctxWith(ch.us), { ...base, number: 1 });
    strictEqual(old.facts.htlc_tx.commitment_number, -1);
    strictEqual(old.facts.htlc_tx.htlc_matched, false);
    deepStrictEqual([old.facts.holder_commitment.number, old.facts.state.holder_next], [1, 3]);
    throws(() => old.release(), {
      name: "ChannelRequestError",
      message: "the HTLC transaction is not signable",
    });
  }
});

Deno.test("holder HTLC tx on anchors: fee inputs and outputs are allowed, our ALL signature covers them", () => {
  const ch = new Channel({ anchors: true });
  ch.openWithTwoHtlcs();
  const rebuilt = ch.holderCommitment("us", 2);
  const h = rebuilt.htlcTxs[0];
  const bumped = editTx(h.tx, (t) => {
    t.inputs.push({
      ...t.inputs[0],
      txid: new Uint8Array(32).fill(9),
      vout: 3,
      sequence: 0xfffffffd,
    });
    t.outputs.push({ amount: 40_000n, script: walletScript(4) });
  });
  const out = signHolderHtlcTx(ctxWith(ch.us), { ...holderRequest(2, h), tx: bumped });
  strictEqual(out.facts.htlc_tx.matches_rebuild, true);
  deepStrictEqual([out.facts.htlc_tx.input_count, out.facts.htlc_tx.output_count], [2, 2]);
  assertSigVerifies(out.release(), {
    tx: bumped,
    index: 0,
    scriptCode: h.htlcWitnessScript,
    amount: h.inputAmountSat,
    pubkey: derivePublicKey(ch.us.keys.basepoints.htlc, holderPoint(ch.us.keys, 2)),
  });
  // Our HTLC input second: the paired output is the second one.
  const swapped = editTx(bumped, (t) => {
    t.inputs.reverse();
    t.outputs.reverse();
  });
  const second = signHolderHtlcTx(ctxWith(ch.us), {
    ...holderRequest(2, h),
    tx: swapped,
    inputIndex: 1,
  });
  strictEqual(second.facts.htlc_tx.matches_rebuild, true);
  // The same extra input on a channel without anchors is a mismatch.
  const plain = new Channel();
  plain.openWithTwoHtlcs();
  const p = plain.holderCommitment("us", 2).htlcTxs[0];
  const extra = editTx(p.tx, (t) => t.inputs.push({ ...t.inputs[0], vout: 7 }));
  const f = signHolderHtlcTx(ctxWith(plain.us), { ...holderRequest(2, p), tx: extra }).facts;
  deepStrictEqual([f.htlc_tx.matches_rebuild, f.htlc_tx.first_mismatch], [false, "input count"]);
});

Deno.test("counterparty HTLC tx: the peer's own HTLC txs get the signature we gave with the commitment", () => {
  for (const anchors of [false, true]) {
    const ch = new Channel({ anchors });
    ch.openWithTwoHtlcs();
    const theirs = ch.holderCommitment("peer", 2);
    const point = holderPoint(ch.peer.keys, 2);
    const stored = ch.peer.state.enforcement.currentHolder?.counterpartyHtlcSigs ?? [];
    strictEqual(stored.length, 2);
    theirs.htlcTxs.forEach((h, i) => {
      const out = signCounterpartyHtlcTx(ctxWith(ch.us), {
        tx: h.tx,
        inputIndex: 0,
        witnessScript: h.htlcWitnessScript,
        amountSat: h.inputAmountSat,
        outputWitnessScript: h.outputWitnessScript,
        perCommitmentPoint: point,
      });
      assertSchema(out);
      const f = out.facts.htlc_tx;
      deepStrictEqual(
        [
          f.commitment_number,
          f.is_counterparty,
          f.htlc_matched,
          f.matches_rebuild,
          f.to_self_delay,
        ],
        [2, true, true, true, 144],
      );
      deepStrictEqual([f.revocation_pubkey_ok, f.delayed_pubkey_ok, f.expected_to_self_delay], [
        true,
        true,
        144,
      ]);
      deepStrictEqual([out.facts.holder_commitment.number, out.facts.point.number], [2, 0]);
      const type = anchors ? SIGHASH.SINGLE_ANYONECANPAY : SIGHASH.ALL;
      strictEqual(f.sighash_type, type);
      const sig = out.release();
      // Deterministic signatures: exactly the one the peer stored from our commitment_signed.
      deepStrictEqual(sig.signature, fromHex(stored[i]));
      assertSigVerifies(sig, {
        tx: h.tx,
        index: 0,
        scriptCode: h.htlcWitnessScript,
        amount: h.inputAmountSat,
        pubkey: derivePublicKey(ch.us.keys.basepoints.htlc, point),
      }, type);
    });
    const h = theirs.htlcTxs[0];
    const request = {
      tx: h.tx,
      inputIndex: 0,
      witnessScript: h.htlcWitnessScript,
      amountSat: h.inputAmountSat,
      outputWitnessScript: h.outputWitnessScript,
      perCommitmentPoint: point,
    };
    const honest = signCounterpartyHtlcTx(ctxWith(ch.us), request).facts;
    // A shorter delay on the peer's output would shrink our justice window.
    const ws = toLocalScript({
      revocationKey: theirs.keys.revocationKey,
      broadcasterDelayedPaymentKey: theirs.keys.broadcasterDelayedPaymentKey,
      toSelfDelay: 6,
    });
    const short = signCounterpartyHtlcTx(ctxWith(ch.us), {
      ...request,
      tx: editTx(h.tx, (t) => t.outputs[0].script = p2wsh(ws)),
      outputWitnessScript: ws,
    }).facts;
    deepStrictEqual(diffFacts(honest, short), [
      "htlc_tx.first_mismatch",
      "htlc_tx.matches_rebuild",
      "htlc_tx.to_self_delay",
    ]);
    // A point we never stored: no commitment, nothing signable.
    const unknown = signCounterpartyHtlcTx(ctxWith(ch.us), {
      ...request,
      perCommitmentPoint: holderPoint(ch.peer.keys, 7),
    });
    deepStrictEqual(
      [unknown.facts.htlc_tx.commitment_number, unknown.facts.htlc_tx.htlc_matched],
      [-1, false],
    );
    throws(() => unknown.release(), { name: "ChannelRequestError" });
  }
});

Deno.test("counterparty HTLC tx: the previous counterparty commitment is still signable", () => {
  const ch = new Channel();
  ch.openWithTwoHtlcs();
  ch.commit("us", 3); // commitment 3 signed, 2 not revoked yet: 2 is the previous one
  strictEqual(ch.us.state.enforcement.previousCounterparty?.number, 2);
  const theirs = ch.holderCommitment("peer", 2);
  const h = theirs.htlcTxs[1];
  const out = signCounterpartyHtlcTx(ctxWith(ch.us), {
    tx: h.tx,
    inputIndex: 0,
    witnessScript: h.htlcWitnessScript,
    amountSat: h.inputAmountSat,
    perCommitmentPoint: holderPoint(ch.peer.keys, 2),
  });
  deepStrictEqual([out.facts.htlc_tx.commitment_number, out.facts.htlc_tx.matches_rebuild], [
    2,
    true,
  ]);
});

Deno.test("HTLC tx requests that cannot be understood are refused as malformed", () => {
  const ch = new Channel();
  ch.openWithTwoHtlcs();
  const h = ch.holderCommitment("us", 2).htlcTxs[0];
  const base = holderRequest(2, h);
  throws(() => signHolderHtlcTx(ctxWith(ch.us), { ...base, inputIndex: 1 }), {
    name: "ChannelRequestError",
    message: "input 1 does not exist",
  });
  throws(() => signHolderHtlcTx(ctxWith(ch.us), { ...base, witnessScript: undefined }), {
    name: "ChannelRequestError",
    message: "phase 1 needs the HTLC witness script",
  });
  throws(() => signHolderHtlcTx(ctxWith(ch.us), { ...base, number: -1 }), {
    name: "ChannelRequestError",
  });
  throws(
    () =>
      signCounterpartyHtlcTx(ctxWith(ch.us), { ...base, perCommitmentPoint: new Uint8Array(33) }),
    { name: "ChannelRequestError", message: "per-commitment point must be a valid 33-byte point" },
  );
});
