import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex } from "../../../core/bytes.ts";
import { ecdsaVerifyDer } from "../../../core/crypto/mod.ts";
import { decodeTx, encodeTx, SIGHASH, sighashSegwitV0 } from "../../../core/bitcoin/tx.ts";
import { signSegwitV0Input, verifySegwitV0Input, withWitness } from "../../../core/bitcoin/sign.ts";
import {
  buildCommitmentTx,
  buildHtlcTx,
  buildHtlcTxs,
  countersignatoryHtlcSighashType,
  HtlcTxError,
  htlcTxWitness,
} from "../../../core/bolt3/mod.ts";
import {
  APPENDIX_C,
  APPENDIX_F,
  caseOptions,
  CHANNEL,
  HTLCS,
  type VectorCase,
} from "./_vectors.ts";

/** The value, which must be defined. */
function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("unexpectedly undefined");
  return value;
}

/** Rebuild, sign and complete every HTLC tx of one case; returns how many were checked. */
function checkCase(c: VectorCase, anchors: boolean): number {
  const commitment = buildCommitmentTx(caseOptions(c, anchors));
  const htlcTxs = buildHtlcTxs(commitment);
  strictEqual(htlcTxs.length, c.htlc_txs.length, `${c.name}: number of HTLC txs`);
  htlcTxs.forEach((h, i) => {
    const v = c.htlc_txs[i];
    const what = `${c.name}, HTLC tx ${i}`;
    strictEqual(h.commitmentOutputIndex, v.commitment_output_index, what);
    strictEqual(c.htlcs_in_channel[h.htlcIndex], v.htlc_index, what);
    strictEqual(h.kind, v.tx_type, what);
    const signOpts = { scriptCode: h.htlcWitnessScript, amount: h.inputAmountSat };
    // Our (local, broadcaster) signature: SIGHASH_ALL, equal to the spec's.
    const local = signSegwitV0Input(h.tx, 0, { ...signOpts, secretKey: CHANNEL.localHtlcPrivkey });
    strictEqual(toHex(local), v.local_htlc_signature + "01", `${what}: local signature`);
    strictEqual(v.local_htlc_sighash_type, SIGHASH.ALL);
    // Their signature verifies against the remote HTLC key with the expected sighash type.
    const type = countersignatoryHtlcSighashType({ anchors });
    strictEqual(type, v.remote_htlc_sighash_type, what);
    const remote = concat(fromHex(v.remote_htlc_signature), Uint8Array.of(type));
    strictEqual(
      verifySegwitV0Input(h.tx, 0, {
        ...signOpts,
        publicKey: CHANNEL.remoteHtlcPubkey,
        signature: remote,
        sighashType: type,
      }),
      true,
      `${what}: remote signature`,
    );
    const digest = sighashSegwitV0(h.tx, 0, { ...signOpts, sighashType: type });
    strictEqual(
      ecdsaVerifyDer(fromHex(v.remote_htlc_signature), digest, CHANNEL.remoteHtlcPubkey),
      true,
    );
    const preimage = h.kind === "htlc-success"
      ? HTLCS[c.htlcs_in_channel[h.htlcIndex]].preimage
      : undefined;
    const signed = withWitness(
      h.tx,
      0,
      htlcTxWitness({
        kind: h.kind,
        countersignatorySignature: remote,
        broadcasterSignature: local,
        paymentPreimage: preimage,
        htlcWitnessScript: h.htlcWitnessScript,
      }),
    );
    strictEqual(toHex(encodeTx(signed)), v.tx_hex, what);
  });
  return htlcTxs.length;
}

Deno.test("Appendix C: all 33 HTLC transactions byte for byte", () => {
  let n = 0;
  for (const c of APPENDIX_C) n += checkCase(c, false);
  strictEqual(n, 33);
});

Deno.test("Appendix F (anchors): all 15 HTLC transactions byte for byte", () => {
  let n = 0;
  for (const c of APPENDIX_F) n += checkCase(c, true);
  strictEqual(n, 15);
});

Deno.test("HTLC tx shape: version, locktime, sequence, fee", () => {
  const c = APPENDIX_C[1]; // feerate 0
  const hi = APPENDIX_C[2]; // feerate 647
  const commitment = buildCommitmentTx(caseOptions(hi, false));
  const txs = buildHtlcTxs(commitment);
  const timeout = must(txs.find((t) => t.kind === "htlc-timeout"));
  const success = must(txs.find((t) => t.kind === "htlc-success"));
  strictEqual(timeout.tx.version, 2);
  strictEqual(timeout.tx.locktime, 502); // HTLC 2
  strictEqual(timeout.tx.inputs[0].sequence, 0);
  strictEqual(timeout.feeSatoshis, 428n); // floor(647 * 663 / 1000)
  strictEqual(timeout.outputAmountSat, 2000n - 428n);
  strictEqual(success.tx.locktime, 0);
  strictEqual(success.feeSatoshis, 454n); // floor(647 * 703 / 1000)
  strictEqual(success.outputAmountSat, 1000n - 454n);
  deepStrictEqual(toHex(success.outputScriptPubKey), toHex(commitment.tx.outputs[6].script));
  strictEqual(
    toHex(decodeTx(fromHex(hi.htlc_txs[0].tx_hex)).outputs[0].script),
    toHex(success.outputScriptPubKey),
  );
  strictEqual(c.local_feerate_per_kw, 0);
  // With anchors: sequence 1 and no fee.
  const fa = buildCommitmentTx(caseOptions(APPENDIX_F[2], true));
  for (const t of buildHtlcTxs(fa)) {
    strictEqual(t.tx.inputs[0].sequence, 1);
    strictEqual(t.feeSatoshis, 0n);
    strictEqual(t.outputAmountSat, t.inputAmountSat);
  }
});

Deno.test("HTLC tx: bad input is a typed error", () => {
  const base = {
    commitmentTxid: new Uint8Array(32),
    outputIndex: 0,
    htlc: { offered: true, amountMsat: 1000000n, cltvExpiry: 500 },
    feeratePerKw: 10000, // timeout fee 6630 > 1000 sat
    toSelfDelay: 144,
    revocationKey: CHANNEL.localRevocationPubkey,
    broadcasterDelayedPaymentKey: CHANNEL.localDelayedPubkey,
    anchors: false,
  };
  throws(
    () => buildHtlcTx(base),
    (e: Error) => e instanceof HtlcTxError && /below/.test(e.message),
  );
  throws(() => buildHtlcTx({ ...base, commitmentTxid: new Uint8Array(3) }), HtlcTxError);
  throws(() => buildHtlcTx({ ...base, outputIndex: -1 }), HtlcTxError);
  const ok = buildHtlcTx({ ...base, feeratePerKw: 0 });
  strictEqual(ok.outputAmountSat, 1000n);
  const w = {
    countersignatorySignature: new Uint8Array(72),
    broadcasterSignature: new Uint8Array(72),
    htlcWitnessScript: new Uint8Array(10),
  };
  throws(() => htlcTxWitness({ ...w, kind: "htlc-success" }), HtlcTxError);
  throws(
    () => htlcTxWitness({ ...w, kind: "htlc-timeout", paymentPreimage: new Uint8Array(32) }),
    HtlcTxError,
  );
  deepStrictEqual(htlcTxWitness({ ...w, kind: "htlc-timeout" }).map((x) => x.length), [
    0,
    72,
    72,
    0,
    10,
  ]);
});

Deno.test("a tampered remote HTLC signature does not verify", () => {
  const c = APPENDIX_F[2];
  const commitment = buildCommitmentTx(caseOptions(c, true));
  const h = buildHtlcTxs(commitment)[0];
  const v = c.htlc_txs[0];
  const opts = {
    scriptCode: h.htlcWitnessScript,
    amount: h.inputAmountSat,
    publicKey: CHANNEL.remoteHtlcPubkey,
  };
  const good = concat(fromHex(v.remote_htlc_signature), Uint8Array.of(0x83));
  strictEqual(verifySegwitV0Input(h.tx, 0, { ...opts, signature: good }), true);
  const bad = good.slice();
  bad[bad.length - 5] ^= 0x80;
  strictEqual(verifySegwitV0Input(h.tx, 0, { ...opts, signature: bad }), false);
  // Same signature read as SIGHASH_ALL: a different digest, so it fails.
  const asAll = concat(fromHex(v.remote_htlc_signature), Uint8Array.of(0x01));
  strictEqual(verifySegwitV0Input(h.tx, 0, { ...opts, signature: asAll }), false);
  // Demanding SIGHASH_ALL rejects the 0x83 signature outright.
  strictEqual(verifySegwitV0Input(h.tx, 0, { ...opts, signature: good, sighashType: 1 }), false);
});
