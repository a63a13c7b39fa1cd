/**
 * core/channel/ops/commitment.ts: signing the counterparty's commitment and validating ours.
 *
 * Two-sided (us and a simulated honest peer running the same code on the mirrored setup): every
 * signature one side releases must verify on the other, and the counters and facts follow
 * core/channel/README.md. Against BOLT #3 Appendix C and F: remote's signatures on local's
 * commitment and HTLC transactions are the appendix's byte for byte, and local verifies them.
 * Every malformed request is refused with its typed error; state refusals are named by rule id.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { fromHex, toHex } from "../../../../core/bytes.ts";
import { p2wpkh, p2wsh } from "../../../../core/bitcoin/script.ts";
import { toLocalScript } from "../../../../core/bolt3/scripts.ts";
import {
  type CounterpartyCommitmentRequest,
  type HolderCommitmentRequest,
  type HtlcRequest,
  infoOutputsSat,
  type NodeCommitmentTx,
  signCounterpartyCommitment,
  validateHolderCommitment,
  verifyHolderSignatures,
} from "../../../../core/channel/ops/commitment.ts";
import { revokeHolderCommitment } from "../../../../core/channel/ops/points.ts";
import { readySetup, withEnforcement } from "../../../../core/channel/ops/context.ts";
import { holderPoint, holderSecret, newStub } from "../../../../core/channel/state.ts";
import { rebuildCommitment } from "../../../../core/channel/rebuild.ts";
import type { CommitmentInfo } from "../../../../core/channel/types.ts";
import { ctxOf } from "../_peer.ts";
import { refusedBy } from "../_policy.ts";
import {
  APPENDIX_C,
  APPENDIX_F,
  caseInfo,
  caseTx,
  compactSig,
  SEVEN_OUTPUTS,
  SEVEN_OUTPUTS_ANCHORS,
  VECTOR,
  type VectorCase,
  vectorCtx,
  vectorSetup,
} from "../_bolt3.ts";
import { Channel, FEERATE, hashOf } from "./_two_sided.ts";

Deno.test("open and add an HTLC: signatures verify across both sides, counters advance", () => {
  for (const anchors of [false, true]) {
    const ch = new Channel(anchors);
    ch.open();
    strictEqual(ch.us.state.enforcement.nextHolderCommitNum, 1);
    strictEqual(ch.us.state.enforcement.nextCounterpartyCommitNum, 1);
    // We offer a 100k-sat HTLC: update the peer's commitment first, then ours.
    ch.openerMsat -= 100_000_000n;
    ch.htlcs.push({ fromOpener: true, amountMsat: 100_000_000n, hash: hashOf(1), cltv: 500 });
    ch.commit("us", 1);
    strictEqual(ch.peer.state.enforcement.pendingHolder?.info.number, 1);
    ch.revoke("peer", 0);
    strictEqual(ch.us.state.enforcement.nextCounterpartyRevokeNum, 1);
    ch.commit("peer", 1);
    ch.revoke("us", 0);
    const e = ch.us.state.enforcement;
    deepStrictEqual(
      [e.nextHolderCommitNum, e.nextCounterpartyCommitNum, e.nextCounterpartyRevokeNum],
      [2, 2, 1],
    );
    strictEqual(e.currentHolder?.info.htlcs.length, 1);
    strictEqual(e.currentHolder?.counterpartyHtlcSigs.length, 1);
  }
});

Deno.test("fifty payments each way keep both sides in step (no anchors and anchors)", () => {
  for (const anchors of [false, true]) {
    const ch = new Channel(anchors);
    ch.open();
    let n = 1;
    for (let i = 0; i < 50; i++) {
      for (const fromOpener of [true, false]) {
        const amount = 20_000_000n + BigInt(i) * 1000n;
        if (fromOpener) ch.openerMsat -= amount;
        else ch.acceptorMsat -= amount;
        if (!fromOpener && ch.acceptorMsat < 0n) {
          ch.acceptorMsat += amount;
          continue;
        }
        const htlc = {
          fromOpener,
          amountMsat: amount,
          hash: hashOf(i * 2 + (fromOpener ? 0 : 1)),
          cltv: 600 + i,
        };
        ch.htlcs.push(htlc);
        const [a, b] = fromOpener ? ["us", "peer"] as const : ["peer", "us"] as const;
        ch.commit(a, n);
        ch.revoke(b, n - 1);
        ch.commit(b, n);
        ch.revoke(a, n - 1);
        n++;
        // Settle: the HTLC is fulfilled, its value goes to the receiver.
        ch.htlcs = ch.htlcs.filter((h) => h !== htlc);
        if (fromOpener) ch.acceptorMsat += amount;
        else ch.openerMsat += amount;
        ch.commit(b, n);
        ch.revoke(a, n - 1);
        ch.commit(a, n);
        ch.revoke(b, n - 1);
        n++;
      }
    }
    const e = ch.us.state.enforcement;
    deepStrictEqual(
      [e.nextHolderCommitNum, e.nextCounterpartyCommitNum, e.nextCounterpartyRevokeNum],
      [n, n, n - 1],
    );
    strictEqual(ch.us.state.enforcement.counterpartySecrets.entries.length <= 49, true);
  }
});

Deno.test("retries are idempotent: same signatures, same secret, no state change", () => {
  const ch = new Channel();
  ch.open();
  ch.openerMsat -= 50_000_000n;
  ch.htlcs.push({ fromOpener: true, amountMsat: 50_000_000n, hash: hashOf(7), cltv: 500 });
  ch.commit("us", 1);
  const { toBroadcasterSat, toCountersignatorySat, htlcs } = ch.valuesFor("peer");
  const request = {
    number: 1,
    feeratePerKw: FEERATE,
    htlcs,
    values: { toBroadcasterSat, toCountersignatorySat },
    perCommitmentPoint: holderPoint(ch.peer.keys, 1),
  };
  const again = signCounterpartyCommitment(ctxOf(ch.us), request);
  strictEqual(again.facts.commitment.is_retry, true);
  strictEqual(again.facts.commitment.retry_same_info, true);
  strictEqual(again.facts.commitment.retry_same_point, true);
  strictEqual(again.next, ch.us.state, "a retry changes nothing");
  const differs = signCounterpartyCommitment(ctxOf(ch.us), {
    ...request,
    values: {
      toBroadcasterSat: toBroadcasterSat + 1n,
      toCountersignatorySat: toCountersignatorySat - 1n,
    },
  });
  strictEqual(differs.facts.commitment.retry_same_info, false);

  ch.revoke("peer", 0);
  ch.commit("peer", 1);
  ch.revoke("us", 0);
  const retry = revokeHolderCommitment(ctxOf(ch.us), 0);
  strictEqual(retry.facts.revoke.advances_state, false);
  strictEqual(retry.next, ch.us.state);
  deepStrictEqual(retry.release().secret, holderSecret(ch.us.keys, 0));
});

Deno.test("a tampered counterparty signature is reported, and the commitment is not stored", () => {
  const ch = new Channel();
  ch.open();
  const { toBroadcasterSat, toCountersignatorySat, htlcs } = ch.valuesFor("us");
  const signed = signCounterpartyCommitment(ctxOf(ch.peer), {
    number: 1,
    feeratePerKw: FEERATE,
    htlcs,
    values: { toBroadcasterSat, toCountersignatorySat },
    perCommitmentPoint: holderPoint(ch.us.keys, 1),
  }).release();
  const bad = signed.signature.slice();
  bad[10] ^= 1;
  const out = validateHolderCommitment(ctxOf(ch.us), {
    number: 1,
    feeratePerKw: FEERATE,
    htlcs,
    values: { toBroadcasterSat, toCountersignatorySat },
    counterpartySig: bad,
    counterpartyHtlcSigs: [],
  });
  strictEqual(out.facts.commitment.counterparty_sig_valid, false);
  strictEqual(out.next.enforcement.pendingHolder, null);
  strictEqual(toHex(out.release().nextPoint), toHex(holderPoint(ch.us.keys, 2)));
});

/** The peer's own commitment transaction, as a CLN node would send it (phase 1). */
function peerCommitmentTx(ch: Channel, n: number) {
  const v = ch.valuesFor("peer");
  const info = {
    number: n,
    perCommitmentPoint: toHex(holderPoint(ch.peer.keys, n)),
    feeratePerKw: FEERATE,
    toBroadcasterSat: v.toBroadcasterSat,
    toCountersignatorySat: v.toCountersignatorySat,
    htlcs: v.htlcs.map((h) => ({ ...h, paymentHash: toHex(h.paymentHash) })),
  };
  const rebuilt = rebuildCommitment("holder", {
    setup: readySetup(ch.peer.state),
    keys: ch.peer.keys,
    info,
  });
  return { rebuilt, htlcs: v.htlcs };
}

Deno.test("phase 1: the node's transaction is decoded, rebuilt and compared field by field", () => {
  for (const anchors of [false, true]) {
    const ch = new Channel(anchors, 200_000_000n);
    ch.open();
    ch.openerMsat -= 70_000_000n;
    ch.htlcs.push({ fromOpener: true, amountMsat: 70_000_000n, hash: hashOf(3), cltv: 700 });
    const { rebuilt, htlcs } = peerCommitmentTx(ch, 1);
    const node = {
      tx: rebuilt.tx,
      witnessScripts: rebuilt.outputs.map((o) => o.witnessScript ?? null),
    };
    const request = {
      number: 1,
      feeratePerKw: FEERATE,
      htlcs,
      tx: node,
      perCommitmentPoint: holderPoint(ch.peer.keys, 1),
    };
    const honest = signCounterpartyCommitment(ctxOf(ch.us), request);
    strictEqual(honest.facts.commitment.tx.matches_rebuild, true, "honest tx matches");
    strictEqual(honest.facts.commitment.tx.phase, 1);
    strictEqual(honest.facts.commitment.tx.first_mismatch, "");
    // The values were read from the transaction: our balance is what the peer's tx pays us.
    strictEqual(honest.facts.commitment.to_holder_sat, ch.valuesFor("peer").toCountersignatorySat);

    // Tamper: the peer's to_local pays a foreign delayed key (script and output both changed).
    const toLocal = rebuilt.outputs.findIndex((o) => o.kind === "to_broadcaster");
    const foreign = toLocalScript({
      revocationKey: rebuilt.keys.revocationKey,
      broadcasterDelayedPaymentKey: holderPoint(ch.us.keys, 99),
      toSelfDelay: rebuilt.toSelfDelay,
    });
    const tx = { ...rebuilt.tx, outputs: rebuilt.tx.outputs.map((o) => ({ ...o })) };
    tx.outputs[toLocal].script = p2wsh(foreign);
    const ws = node.witnessScripts.slice();
    ws[toLocal] = foreign;
    const tampered = signCounterpartyCommitment(ctxOf(ch.us), {
      ...request,
      tx: { tx, witnessScripts: ws },
    });
    const f = tampered.facts.commitment.tx;
    strictEqual(f.matches_rebuild, false);
    strictEqual(f.broadcaster_delayed_pubkey_ok, false);
    strictEqual(f.revocation_pubkey_ok, true);
    strictEqual(f.first_mismatch, `output ${toLocal} script`);

    // Tamper: a wrong locktime and an extra unknown output.
    const extra = {
      ...rebuilt.tx,
      locktime: rebuilt.tx.locktime ^ 1,
      outputs: [...rebuilt.tx.outputs, {
        amount: 1000n,
        script: p2wpkh(holderPoint(ch.us.keys, 98)),
      }],
    };
    const f2 = signCounterpartyCommitment(ctxOf(ch.us), {
      ...request,
      tx: { tx: extra, witnessScripts: [...node.witnessScripts, null] },
    }).facts.commitment.tx;
    strictEqual(f2.locktime === f2.expected_locktime, false);
    strictEqual(f2.first_mismatch, "locktime");
    if (anchors) {
      strictEqual(f2.unrecognized_output_count, 1, "a P2WPKH output is foreign on anchor channels");
    } else {
      strictEqual(f2.to_holder_output_count, 2, "two outputs claim to pay us");
      strictEqual(f2.countersignatory_pubkey_ok, false, "one of them to a foreign key");
    }
  }
});

// ---------------------------------------------------------------------------------------------
// BOLT #3 Appendix C and F: remote signs local's commitment 42, local checks the signatures.

/** Remote's request to sign local's commitment of case `c` (values from the case, phase 2). */
function vectorRequest(c: VectorCase, anchors: boolean): CounterpartyCommitmentRequest {
  const info = caseInfo(c, anchors);
  return {
    number: info.number,
    feeratePerKw: info.feeratePerKw,
    htlcs: info.htlcs.map((h) => ({ ...h, paymentHash: fromHex(h.paymentHash) })),
    values: {
      toBroadcasterSat: info.toBroadcasterSat,
      toCountersignatorySat: info.toCountersignatorySat,
    },
    perCommitmentPoint: fromHex(VECTOR.localPerCommitmentPoint),
  };
}

/** Remote's context with local's commitment 42 next (R = 41: every commitment below 41 revoked). */
function remoteAt42(anchors: boolean) {
  const ctx = vectorCtx("remote", anchors);
  return {
    ...ctx,
    state: withEnforcement(ctx.state, {
      nextCounterpartyCommitNum: 42,
      nextCounterpartyRevokeNum: 41,
    }),
  };
}

Deno.test("signCounterpartyCommitment: remote's signatures are Appendix C's and F's, byte for byte", () => {
  for (const [cases, anchors] of [[APPENDIX_C, false], [APPENDIX_F, true]] as const) {
    for (const c of cases) {
      const sigs = signCounterpartyCommitment(remoteAt42(anchors), vectorRequest(c, anchors))
        .release();
      strictEqual(toHex(sigs.signature), toHex(compactSig(c.remote_signature)), c.name);
      deepStrictEqual(
        sigs.htlcSignatures.map(toHex),
        c.htlc_txs.map((h) => toHex(compactSig(h.remote_htlc_signature))),
        `${c.name}: HTLC signatures`,
      );
      strictEqual(sigs.htlcSighashType, anchors ? 0x83 : 0x01);
      for (const h of c.htlc_txs) strictEqual(h.remote_htlc_sighash_type, sigs.htlcSighashType);
    }
  }
});

Deno.test("signCounterpartyCommitment: the facts of Appendix C's seven-output commitment", () => {
  const ctx = remoteAt42(false);
  const out = signCounterpartyCommitment(ctx, vectorRequest(SEVEN_OUTPUTS, false));
  strictEqual(out.kind, "sign_counterparty_commitment");
  const { tx, htlcs, ...commitment } = out.facts.commitment;
  deepStrictEqual(commitment, {
    number: 42,
    broadcaster: "counterparty",
    advances_state: true,
    is_retry: false,
    retry_same_point: true,
    retry_same_info: true,
    feerate_per_kw: 647,
    fee_sat: 1024n, // the appendix's actual_commitment_fee_sat
    expected_weight: 724 + 5 * 172,
    fee_feerate_per_kw: 647,
    to_broadcaster_sat: 6_986_976n,
    to_countersignatory_sat: 3_000_000n,
    to_holder_sat: 3_000_000n,
    to_counterparty_sat: 6_986_976n,
    htlc_count: 5,
    htlc_total_sat: 12_000n,
    htlc_timeout_fee_sat: 428n, // 647 * 663 / 1000
    htlc_success_fee_sat: 454n, // 647 * 703 / 1000
    expected_to_self_delay: 144,
    counterparty_sig_valid: true,
    htlc_sigs_valid: true,
    holder_claim_before_sat: 0n, // the state's initialHolderValueSat
    holder_claim_after_sat: 3_007_000n, // to_remote plus local's received HTLCs 0, 1 and 4
    fee_increase_sat: 1024n,
    // Appendix C's fee is exactly BOLT #3's at 647 per-kw for its five HTLCs: no trimmed value.
    fee_excess_sat: 0n,
    fee_excess_increase_sat: 0n,
    removed_outgoing_sat: 0n,
    transferred_sat: 0n,
  });
  // HTLCs in canonical order (offered first, then amount), from local's (the broadcaster's) view.
  deepStrictEqual(
    htlcs.map((h) => [h.offered, h.outgoing, h.amount_sat, h.cltv_expiry, h.is_new]),
    [
      [true, false, 2000n, 502, true],
      [true, false, 3000n, 503, true],
      [false, true, 1000n, 500, true],
      [false, true, 2000n, 501, true],
      [false, true, 4000n, 504, true],
    ],
  );
  strictEqual(tx.phase, 2);
  strictEqual(tx.locktime, 0x2052193e);
  strictEqual(tx.sequence, 0x802bb038);
  strictEqual(tx.to_self_delay, 144);
  deepStrictEqual(out.facts.state, {
    holder_next: 0,
    counterparty_next: 42,
    counterparty_revoke_next: 41,
    holder_pending: false,
    has_current_holder: false,
    has_current_counterparty: false,
  });
  deepStrictEqual(out.facts.holder_commitment, { number: 0 });
  deepStrictEqual(out.facts.point, { number: 0 });
  deepStrictEqual(out.facts.payments, []);
  deepStrictEqual(out.facts.request, { arithmetic_ok: true });
  // The next state: C = 43 and the commitment is the current counterparty one.
  strictEqual(out.next.enforcement.nextCounterpartyCommitNum, 43);
  deepStrictEqual(out.next.enforcement.currentCounterparty, caseInfo(SEVEN_OUTPUTS, false));
  strictEqual(out.next.enforcement.previousCounterparty, null);
  strictEqual(ctx.state.enforcement.nextCounterpartyCommitNum, 42, "the input is not mutated");
  deepStrictEqual(refusedBy(out), []);
});

Deno.test("signCounterpartyCommitment: phase 1 reads the values from Appendix C's transaction", () => {
  const c = SEVEN_OUTPUTS;
  const info = caseInfo(c, false);
  const rebuilt = rebuildCommitment("counterparty", {
    setup: vectorSetup("remote", false),
    keys: vectorCtx("remote", false).keys,
    info,
  });
  const { values: _, ...request } = vectorRequest(c, false);
  const out = signCounterpartyCommitment(remoteAt42(false), {
    ...request,
    tx: { tx: caseTx(c), witnessScripts: rebuilt.outputs.map((o) => o.witnessScript ?? null) },
  });
  strictEqual(out.facts.commitment.to_broadcaster_sat, 6_986_976n);
  strictEqual(out.facts.commitment.to_countersignatory_sat, 3_000_000n);
  strictEqual(out.facts.commitment.tx.phase, 1);
  strictEqual(out.facts.commitment.tx.matches_rebuild, true);
  strictEqual(toHex(out.release().signature), toHex(compactSig(c.remote_signature)));
});

Deno.test("verifyHolderSignatures: Appendix C and F remote signatures verify on local's rebuild", () => {
  for (const [c, anchors] of [[SEVEN_OUTPUTS, false], [SEVEN_OUTPUTS_ANCHORS, true]] as const) {
    const ctx = vectorCtx("local", anchors);
    const rebuilt = rebuildCommitment("holder", {
      setup: vectorSetup("local", anchors),
      keys: ctx.keys,
      info: caseInfo(c, anchors),
    });
    const commitment = compactSig(c.remote_signature);
    const htlcs = c.htlc_txs.map((h) => compactSig(h.remote_htlc_signature));
    deepStrictEqual(verifyHolderSignatures(ctx, rebuilt, { commitment, htlcs }), {
      commitment: true,
      htlcs: true,
    });
    // Local's own signature is not the counterparty's.
    deepStrictEqual(
      verifyHolderSignatures(ctx, rebuilt, { commitment: compactSig(c.local_signature), htlcs }),
      { commitment: false, htlcs: true },
    );
    // Two HTLC signatures swapped, or one missing.
    const swapped = [htlcs[1], htlcs[0], ...htlcs.slice(2)];
    deepStrictEqual(verifyHolderSignatures(ctx, rebuilt, { commitment, htlcs: swapped }), {
      commitment: true,
      htlcs: false,
    });
    deepStrictEqual(verifyHolderSignatures(ctx, rebuilt, { commitment, htlcs: htlcs.slice(1) }), {
      commitment: true,
      htlcs: false,
    });
  }
});

Deno.test("infoOutputsSat: main outputs, HTLC outputs and the anchors an info implies", () => {
  const c = caseInfo(SEVEN_OUTPUTS, false);
  // Appendix C: 10_000_000 funding less the 1024-sat fee.
  strictEqual(infoOutputsSat(vectorSetup("local", false), c), 9_998_976n);
  // The same info on an anchor channel: two 330-sat anchors on top.
  strictEqual(infoOutputsSat(vectorSetup("local", true), c), 9_999_636n);
  const f = caseInfo(APPENDIX_F[1], true); // "no HTLCs and single anchor": to_remote is 0
  strictEqual(f.toCountersignatorySat, 0n);
  strictEqual(infoOutputsSat(vectorSetup("local", true), f), f.toBroadcasterSat + 330n);
  const empty: CommitmentInfo = { ...f, toBroadcasterSat: 0n, htlcs: [] };
  strictEqual(infoOutputsSat(vectorSetup("local", true), empty), 0n);
  // HTLC amounts count in whole satoshis (Appendix C's HTLC 6 is 5_000_001 msat: 5000 sat).
  const six = caseInfo(APPENDIX_C[15], false).htlcs.find((h) => h.amountMsat === 5_000_001n);
  strictEqual(six?.cltvExpiry, 505);
  strictEqual(infoOutputsSat(vectorSetup("local", false), { ...empty, htlcs: [six] }), 5000n);
  // With anchors, any HTLC brings both anchors.
  strictEqual(infoOutputsSat(vectorSetup("local", true), { ...empty, htlcs: [six] }), 5660n);
});

// ---------------------------------------------------------------------------------------------
// Malformed requests: typed errors, nothing changes.

const malformed = (message: string) => ({
  name: "ChannelRequestError",
  code: "malformed",
  message,
});

Deno.test("signCounterpartyCommitment: every malformed request is refused with a typed error", () => {
  const ctx = remoteAt42(false);
  const good = vectorRequest(SEVEN_OUTPUTS, false);
  const htlc = good.htlcs[0];
  const cases: [Partial<CounterpartyCommitmentRequest>, string][] = [
    [{ number: -1 }, "commitment number must be 48-bit"],
    [{ number: 2 ** 48 }, "commitment number must be 48-bit"],
    [{ number: 1.5 }, "commitment number must be 48-bit"],
    [{ feeratePerKw: -1 }, "feerate_per_kw must be a u32"],
    [{ feeratePerKw: 2 ** 32 }, "feerate_per_kw must be a u32"],
    [{ htlcs: new Array(967).fill(htlc) }, "too many HTLCs in a request"],
    [{ htlcs: [{ ...htlc, amountMsat: -1n }] }, "HTLC 0: amount out of range"],
    [
      { htlcs: [htlc, { ...htlc, amountMsat: 2_100_000_000_000_000_001n }] },
      "HTLC 1: amount out of range",
    ],
    [
      { htlcs: [{ ...htlc, paymentHash: new Uint8Array(31) }] },
      "HTLC 0: payment hash must be 32 bytes",
    ],
    [{ htlcs: [{ ...htlc, cltvExpiry: 2 ** 32 }] }, "HTLC 0: cltv_expiry must be a u32"],
    [{ values: undefined }, "a commitment request needs the transaction or its values"],
    [
      { values: { toBroadcasterSat: -1n, toCountersignatorySat: 0n } },
      "output value out of range",
    ],
    [
      { values: { toBroadcasterSat: 0n, toCountersignatorySat: 2_100_000_000_000_001n } },
      "output value out of range",
    ],
    [
      { values: undefined, tx: { tx: caseTx(SEVEN_OUTPUTS), witnessScripts: [] } },
      "one witness script entry per output is required",
    ],
    [
      { perCommitmentPoint: new Uint8Array(32) },
      "per-commitment point must be a valid 33-byte key",
    ],
    [
      // 33 bytes, but not a point: x = 0 is not on the curve.
      { perCommitmentPoint: new Uint8Array(33).fill(0, 1).fill(2, 0, 1) },
      "per-commitment point must be a valid 33-byte key",
    ],
    [{ htlcs: [null] as unknown as HtlcRequest[] }, "HTLC 0: not an HTLC"],
    [
      { values: undefined, tx: { tx: caseTx(SEVEN_OUTPUTS) } as unknown as NodeCommitmentTx },
      "a phase-1 request carries the transaction and its witness scripts",
    ],
    [
      { values: { toBroadcasterSat: 9_990_000n, toCountersignatorySat: 3_000_000n } },
      "commitment outputs exceed the channel value",
    ],
  ];
  for (const [change, message] of cases) {
    throws(() => signCounterpartyCommitment(ctx, { ...good, ...change }), malformed(message));
  }
  // A stub has no setup to rebuild from.
  throws(
    () => signCounterpartyCommitment({ ...ctx, state: newStub("0d") }, good),
    { name: "ChannelRequestError", code: "not-ready", message: "the channel is not set up yet" },
  );
});

Deno.test("validateHolderCommitment: malformed signatures and a stub are refused with typed errors", () => {
  const ch = new Channel();
  ch.open();
  const v = ch.valuesFor("us");
  const good: HolderCommitmentRequest = {
    number: 1,
    feeratePerKw: FEERATE,
    htlcs: v.htlcs,
    values: {
      toBroadcasterSat: v.toBroadcasterSat,
      toCountersignatorySat: v.toCountersignatorySat,
    },
    counterpartySig: new Uint8Array(64),
    counterpartyHtlcSigs: [],
  };
  throws(
    () => validateHolderCommitment(ctxOf(ch.us), { ...good, counterpartySig: new Uint8Array(65) }),
    malformed("counterparty signature must be 64 bytes"),
  );
  throws(
    () =>
      validateHolderCommitment(ctxOf(ch.us), {
        ...good,
        counterpartyHtlcSigs: [new Uint8Array(64), new Uint8Array(63)],
      }),
    malformed("HTLC signatures must be 64 bytes each"),
  );
  throws(
    () => validateHolderCommitment(ctxOf(ch.us), { ...good, feeratePerKw: 0.5 }),
    malformed("feerate_per_kw must be a u32"),
  );
  throws(
    () => validateHolderCommitment({ ...ctxOf(ch.us), state: newStub("00") }, good),
    { name: "ChannelRequestError", code: "not-ready" },
  );
});

// ---------------------------------------------------------------------------------------------
// State refusals, named by the default policy's rule ids.

Deno.test("signCounterpartyCommitment: skipping a number, or before n - 2 is revoked, is refused", () => {
  const ch = new Channel();
  ch.open(); // C = 1, R = 0
  const v = ch.valuesFor("peer");
  const request = (n: number) => ({
    number: n,
    feeratePerKw: FEERATE,
    htlcs: v.htlcs,
    values: {
      toBroadcasterSat: v.toBroadcasterSat,
      toCountersignatorySat: v.toCountersignatorySat,
    },
    perCommitmentPoint: holderPoint(ch.peer.keys, n),
  });
  const next = signCounterpartyCommitment(ctxOf(ch.us), request(1));
  deepStrictEqual(refusedBy(next), []);
  strictEqual(next.next.enforcement.nextCounterpartyCommitNum, 2);
  // Commitment 2 skips 1 (and 0 is not revoked): refused, and the state does not move.
  const skip = signCounterpartyCommitment(ctxOf(ch.us), request(2));
  deepStrictEqual(refusedBy(skip), ["policy-commitment-previous-revoked"]);
  strictEqual(skip.facts.commitment.advances_state, false);
  strictEqual(skip.next, ch.us.state);
  // After signing 1, commitment 2 needs the revocation of 0 first.
  ch.us.state = next.next;
  const early = signCounterpartyCommitment(ctxOf(ch.us), request(2));
  strictEqual(early.facts.commitment.advances_state, true);
  deepStrictEqual(refusedBy(early), ["policy-commitment-previous-revoked"]);
  strictEqual(early.next, ch.us.state, "n > R + 1: the operation does not advance either");
});

Deno.test("signCounterpartyCommitment: a retry with other values is refused by policy-commitment-retry-same", () => {
  const ch = new Channel();
  ch.open();
  const v = ch.valuesFor("peer");
  const retry = signCounterpartyCommitment(ctxOf(ch.us), {
    number: 0,
    feeratePerKw: FEERATE,
    htlcs: v.htlcs,
    values: {
      toBroadcasterSat: v.toBroadcasterSat,
      toCountersignatorySat: v.toCountersignatorySat - 1000n,
    },
    perCommitmentPoint: holderPoint(ch.peer.keys, 0),
  });
  deepStrictEqual(
    [retry.facts.commitment.is_retry, retry.facts.commitment.retry_same_info],
    [true, false],
  );
  deepStrictEqual(refusedBy(retry), ["policy-commitment-retry-same"]);
  const otherPoint = signCounterpartyCommitment(ctxOf(ch.us), {
    number: 0,
    feeratePerKw: FEERATE,
    htlcs: v.htlcs,
    values: {
      toBroadcasterSat: v.toBroadcasterSat,
      toCountersignatorySat: v.toCountersignatorySat,
    },
    perCommitmentPoint: holderPoint(ch.peer.keys, 5),
  });
  strictEqual(otherPoint.facts.commitment.retry_same_point, false);
  deepStrictEqual(refusedBy(otherPoint), ["policy-commitment-retry-same"]);
});

Deno.test("validateHolderCommitment: bad signatures, a revoked or a far-ahead number are refused by rule", () => {
  const ch = new Channel();
  ch.open();
  ch.commit("peer", 1);
  ch.revoke("us", 0);
  ch.commit("us", 1);
  ch.revoke("peer", 0);
  ch.commit("peer", 2);
  ch.revoke("us", 1); // H = 3 on our side
  const v = ch.valuesFor("us");
  const request = (n: number, sig: Uint8Array) => ({
    number: n,
    feeratePerKw: FEERATE,
    htlcs: v.htlcs,
    values: {
      toBroadcasterSat: v.toBroadcasterSat,
      toCountersignatorySat: v.toCountersignatorySat,
    },
    counterpartySig: sig,
    counterpartyHtlcSigs: [],
  });
  const peerSig = (n: number) =>
    signCounterpartyCommitment(ctxOf(ch.peer), {
      ...request(n, new Uint8Array(64)),
      perCommitmentPoint: holderPoint(ch.us.keys, n),
    }).release().signature;
  const bad = validateHolderCommitment(ctxOf(ch.us), request(3, new Uint8Array(64).fill(1)));
  strictEqual(bad.facts.commitment.counterparty_sig_valid, false);
  deepStrictEqual(refusedBy(bad), ["policy-revoke-new-commitment-signed"]);
  strictEqual(bad.next, ch.us.state);
  const revoked = validateHolderCommitment(ctxOf(ch.us), request(1, peerSig(1)));
  deepStrictEqual(refusedBy(revoked), ["policy-commitment-holder-not-revoked"]);
  const ahead = validateHolderCommitment(ctxOf(ch.us), request(5, peerSig(5)));
  deepStrictEqual(refusedBy(ahead), ["policy-optional-fail-fast"]);
  strictEqual(ahead.next, ch.us.state);
  const honest = validateHolderCommitment(ctxOf(ch.us), request(3, peerSig(3)));
  deepStrictEqual(refusedBy(honest), []);
  strictEqual(honest.next.enforcement.pendingHolder?.info.number, 3);
  deepStrictEqual(honest.withWarnings?.(["some-rule"]).enforcement.pendingHolder?.warnings, [
    "some-rule",
  ]);
});

Deno.test("validateHolderCommitment: the pending commitment validated again is a retry, never replaced", () => {
  const ch = new Channel(false, 300_000_000n);
  ch.open();
  ch.commit("peer", 1); // our commitment 1 is pending: H = 1 until we revoke 0
  const pending = ch.us.state.enforcement.pendingHolder;
  strictEqual(pending?.info.number, 1);
  strictEqual(ch.us.state.enforcement.nextHolderCommitNum, 1);
  const v = ch.valuesFor("us");
  const request = (values: { toBroadcasterSat: bigint; toCountersignatorySat: bigint }) => {
    const base = { number: 1, feeratePerKw: FEERATE, htlcs: v.htlcs, values };
    const sigs = signCounterpartyCommitment(ctxOf(ch.peer), {
      ...base,
      perCommitmentPoint: holderPoint(ch.us.keys, 1),
    }).release();
    return {
      ...base,
      counterpartySig: sigs.signature,
      counterpartyHtlcSigs: sigs.htlcSignatures,
    };
  };
  // LDK validates it again after a reconnect: identical, allowed, nothing changes.
  const same = validateHolderCommitment(ctxOf(ch.us), request(v));
  const c = same.facts.commitment;
  deepStrictEqual(
    [c.is_retry, c.retry_same_point, c.retry_same_info, c.advances_state, c.transferred_sat],
    [true, true, true, false, 0n],
  );
  deepStrictEqual(refusedBy(same), []);
  strictEqual(same.next, ch.us.state);
  strictEqual(same.withWarnings?.(["some-rule"]), ch.us.state);
  // Other balances under the pending number (even 1000 sat more for us), validly signed by the
  // peer: refused, and even a (demoted) refusal would leave the pending commitment as it was.
  const other = validateHolderCommitment(
    ctxOf(ch.us),
    request({
      toBroadcasterSat: v.toBroadcasterSat + 1000n,
      toCountersignatorySat: v.toCountersignatorySat - 1000n,
    }),
  );
  deepStrictEqual(
    [other.facts.commitment.is_retry, other.facts.commitment.retry_same_info],
    [true, false],
  );
  strictEqual(other.facts.commitment.counterparty_sig_valid, true);
  deepStrictEqual(refusedBy(other), ["policy-commitment-retry-same"]);
  strictEqual(other.next, ch.us.state);
  strictEqual(other.withWarnings?.(["policy-commitment-retry-same"]), ch.us.state);
  // The pending commitment still becomes current when we revoke 0.
  ch.revoke("us", 0);
  deepStrictEqual(ch.us.state.enforcement.currentHolder, pending);
});
