import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex } from "../../../core/bytes.ts";
import { ecdsaVerifyDer } from "../../../core/crypto/mod.ts";
import { decodeTx, encodeTx, SIGHASH, sighashSegwitV0, txidHex } from "../../../core/bitcoin/tx.ts";
import { signSegwitV0Input, verifySegwitV0Input, withWitness } from "../../../core/bitcoin/sign.ts";
import {
  ANCHOR_OUTPUT_SATOSHIS,
  assembleCommitmentTx,
  buildCommitmentTx,
  CommitmentError,
  commitmentFee,
  commitmentLocktimeAndSequence,
  commitmentNumberFromTx,
  type CommitmentTransaction,
  commitmentWeight,
  fundingWitness,
  htlcSuccessFee,
  htlcTimeoutFee,
  isHtlcTrimmed,
  obscureCommitmentNumber,
  obscuringFactor,
} from "../../../core/bolt3/mod.ts";
import { APPENDIX_C, APPENDIX_F, caseOptions, CHANNEL, type VectorCase } from "./_vectors.ts";

/**
 * Build the case's commitment, sign it with the local funding key, check the local signature
 * against the vector (DER), verify the vector's remote signature, assemble the witness and return
 * the fully signed transaction hex with the built commitment.
 */
function reproduce(c: VectorCase, anchors: boolean): { hex: string; built: CommitmentTransaction } {
  const built = buildCommitmentTx(caseOptions(c, anchors));
  const signOpts = { scriptCode: built.fundingWitnessScript, amount: built.fundingSatoshis };
  const local = signSegwitV0Input(built.tx, 0, {
    ...signOpts,
    secretKey: CHANNEL.localFundingPrivkey,
  });
  strictEqual(toHex(local), c.local_signature + "01", `${c.name}: local signature`);
  const remote = concat(fromHex(c.remote_signature), Uint8Array.of(SIGHASH.ALL));
  strictEqual(
    verifySegwitV0Input(built.tx, 0, {
      ...signOpts,
      publicKey: CHANNEL.remoteFundingPubkey,
      signature: remote,
      sighashType: SIGHASH.ALL,
    }),
    true,
    `${c.name}: remote signature`,
  );
  const digest = sighashSegwitV0(built.tx, 0, signOpts);
  strictEqual(
    ecdsaVerifyDer(fromHex(c.remote_signature), digest, CHANNEL.remoteFundingPubkey),
    true,
  );
  const signed = withWitness(
    built.tx,
    0,
    fundingWitness({
      pubkeyA: CHANNEL.localFundingPubkey,
      signatureA: local,
      pubkeyB: CHANNEL.remoteFundingPubkey,
      signatureB: remote,
    }),
  );
  return { hex: toHex(encodeTx(signed)), built };
}

Deno.test("obscuring factor and obscured commitment number of Appendix C", () => {
  const factor = obscuringFactor(CHANNEL.localPaymentBasepoint, CHANNEL.remotePaymentBasepoint);
  strictEqual(factor.toString(16), CHANNEL.obscuringFactorHex);
  strictEqual(obscureCommitmentNumber(42, factor), 0x2bb03852193e);
  // The commitment transactions carry 0x2bb03852193e: sequence 0x80 2bb038, locktime 0x20 52193e.
  deepStrictEqual(commitmentLocktimeAndSequence(0x2bb03852193e), {
    locktime: 0x2052193e,
    sequence: 0x802bb038,
  });
});

Deno.test("Appendix C: all 16 commitment transactions byte for byte", () => {
  strictEqual(APPENDIX_C.length, 16);
  for (const c of APPENDIX_C) {
    const { hex, built } = reproduce(c, false);
    strictEqual(hex, c.commitment_tx_hex, c.name);
    strictEqual(built.outputs.filter((o) => o.kind === "htlc").length, c.num_htlcs, c.name);
    strictEqual(built.trimmedHtlcs.length, c.htlcs_in_channel.length - c.num_htlcs, c.name);
    const a = c.annotations;
    if (a?.base_commitment_fee_sat !== undefined) {
      strictEqual(built.baseFeeSatoshis, BigInt(a.base_commitment_fee_sat), `${c.name}: base fee`);
    }
    if (a?.actual_commitment_fee_sat !== undefined) {
      strictEqual(built.feeSatoshis, BigInt(a.actual_commitment_fee_sat), `${c.name}: fee`);
    }
    // Every output the spec lists is present with its amount (and script where given).
    for (const listed of a?.outputs_listed ?? []) {
      const found = built.outputs.filter((o) =>
        listed.kind === "htlc"
          ? o.kind === "htlc" && c.htlcs_in_channel[o.htlcIndex ?? -1] === listed.htlc_index
          : o.kind === (listed.kind === "to_local" ? "to_broadcaster" : "to_countersignatory")
      );
      strictEqual(found.length, 1, `${c.name}: ${listed.kind} ${listed.htlc_index ?? ""}`);
      strictEqual(found[0].amountSat, BigInt(listed.amount_sat));
      if (listed.witness_script) {
        strictEqual(toHex(found[0].witnessScript ?? new Uint8Array()), listed.witness_script);
      }
    }
  }
});

Deno.test("Appendix F (anchors): all 9 commitment transactions byte for byte", () => {
  strictEqual(APPENDIX_F.length, 9);
  for (const c of APPENDIX_F) {
    const { hex, built } = reproduce(c, true);
    strictEqual(hex, c.commitment_tx_hex, c.name);
    strictEqual(built.outputs.filter((o) => o.kind === "htlc").length, c.num_htlcs, c.name);
    // The anchors are taken from the opener's balance, on top of the base fee.
    const toLocal = built.outputs.find((o) => o.kind === "to_broadcaster");
    if (toLocal) {
      strictEqual(
        toLocal.amountSat,
        BigInt(Math.floor(c.to_local_msat / 1000)) - built.baseFeeSatoshis -
          2n * ANCHOR_OUTPUT_SATOSHIS,
      );
    }
  }
});

Deno.test("Appendix F: output kinds and anchors of selected cases", () => {
  const kinds = (i: number) =>
    buildCommitmentTx(caseOptions(APPENDIX_F[i], true)).outputs.map((o) => o.kind);
  deepStrictEqual(kinds(0), [
    "anchor_broadcaster",
    "anchor_countersignatory",
    "to_countersignatory",
    "to_broadcaster",
  ]);
  // "simple commitment tx with no HTLCs and single anchor": no to_remote, so no remote anchor.
  deepStrictEqual(kinds(1), ["anchor_broadcaster", "to_broadcaster"]);
  // "one output untrimmed": the fee eats to_local; only to_remote is left, with its anchor only.
  deepStrictEqual(kinds(7), ["anchor_countersignatory", "to_countersignatory"]);
});

Deno.test("Appendix C: output metadata of the seven-output case", () => {
  const c = APPENDIX_C[2];
  const built = buildCommitmentTx(caseOptions(c, false));
  deepStrictEqual(
    built.outputs.map((o) => [o.kind, o.amountSat, o.htlcIndex]),
    [
      ["htlc", 1000n, 0],
      ["htlc", 2000n, 2],
      ["htlc", 2000n, 1],
      ["htlc", 3000n, 3],
      ["htlc", 4000n, 4],
      ["to_countersignatory", 3000000n, undefined],
      ["to_broadcaster", 6986976n, undefined],
    ],
  );
  strictEqual(built.weight, 724 + 5 * 172);
  strictEqual(built.baseFeeSatoshis, 1024n); // spec: base commitment transaction fee = 1024
  strictEqual(built.feeSatoshis, 1024n);
  deepStrictEqual(built.trimmedHtlcs, []);
  strictEqual(built.toCountersignatorySat, 3000000n);
  strictEqual(built.obscuredCommitmentNumber, 0x2bb03852193e);
  strictEqual(built.outputs[5].witnessScript, undefined);
  strictEqual(txidHex(decodeTx(fromHex(c.commitment_tx_hex))), txidHex(built.tx));
});

Deno.test("Appendix C: trimming metadata and fee above funder amount", () => {
  // "commitment tx with three outputs untrimmed (minimum feerate)": only HTLC 4 (received) stays.
  const three = buildCommitmentTx(caseOptions(APPENDIX_C[9], false));
  deepStrictEqual(three.trimmedHtlcs, [0, 1, 2, 3]);
  // "commitment tx with fee greater than funder amount": to_local goes to zero, only to_remote.
  const c = APPENDIX_C[14];
  strictEqual(c.name, "commitment tx with fee greater than funder amount");
  const built = buildCommitmentTx(caseOptions(c, false));
  strictEqual(built.baseFeeSatoshis, 6988001n);
  strictEqual(built.toBroadcasterSat, 0n);
  deepStrictEqual(built.outputs.map((o) => o.kind), ["to_countersignatory"]);
  strictEqual(built.feeSatoshis, CHANNEL.fundingSatoshis - 3000000n);
});

Deno.test("same amount and payment hash: HTLC outputs ordered by cltv_expiry", () => {
  const c = APPENDIX_C[15];
  const built = buildCommitmentTx(caseOptions(c, false));
  // Options htlcs are [1, 5, 6]; HTLC 6 (cltv 505) sorts before HTLC 5 (cltv 506).
  deepStrictEqual(built.outputs.map((o) => o.htlcIndex), [0, 2, 1, undefined, undefined]);
  deepStrictEqual(toHex(built.outputs[1].scriptPubKey), toHex(built.outputs[2].scriptPubKey));
  // Swapping the input order changes nothing in the transaction.
  const opts = caseOptions(c, false);
  const swapped = buildCommitmentTx({
    ...opts,
    htlcs: [opts.htlcs[2], opts.htlcs[1], opts.htlcs[0]],
  });
  strictEqual(toHex(encodeTx(swapped.tx)), toHex(encodeTx(built.tx)));
  deepStrictEqual(swapped.outputs.map((o) => o.htlcIndex), [2, 0, 1, undefined, undefined]);
});

Deno.test("commitment number read back from the vectors' transactions", () => {
  const factor = obscuringFactor(CHANNEL.localPaymentBasepoint, CHANNEL.remotePaymentBasepoint);
  for (const c of [...APPENDIX_C, ...APPENDIX_F]) {
    strictEqual(commitmentNumberFromTx(decodeTx(fromHex(c.commitment_tx_hex)), factor), 42);
  }
  const tx = decodeTx(fromHex(APPENDIX_C[0].commitment_tx_hex));
  throws(
    () => commitmentNumberFromTx({ ...tx, locktime: 0x1052193e }, factor),
    (e: Error) => e instanceof CommitmentError && /locktime upper byte/.test(e.message),
  );
  throws(
    () =>
      commitmentNumberFromTx({
        ...tx,
        inputs: [{ ...tx.inputs[0], sequence: 0xffffffff }],
      }, factor),
    (e: Error) => e instanceof CommitmentError && /sequence upper byte/.test(e.message),
  );
  throws(() => commitmentNumberFromTx({ ...tx, inputs: [] }, factor), CommitmentError);
  // Round trip at the 48-bit edges.
  for (const n of [0, 1, 2 ** 24 - 1, 2 ** 24, 2 ** 48 - 1]) {
    const obscured = obscureCommitmentNumber(n, 0xffffffffffff);
    const { locktime, sequence } = commitmentLocktimeAndSequence(obscured);
    const t = { ...tx, locktime, inputs: [{ ...tx.inputs[0], sequence }] };
    strictEqual(commitmentNumberFromTx(t, 0xffffffffffff), n);
  }
});

Deno.test("fee and trimming helpers", () => {
  strictEqual(commitmentWeight(0, { anchors: false }), 724);
  strictEqual(commitmentWeight(3, { anchors: true }), 1124 + 516);
  strictEqual(commitmentFee(15000, { numUntrimmedHtlcs: 0, anchors: false }), 10860n);
  strictEqual(htlcTimeoutFee(5000, { anchors: false }), 3315n);
  strictEqual(htlcSuccessFee(5000, { anchors: false }), 3515n);
  strictEqual(htlcTimeoutFee(5000, { anchors: true }), 0n);
  strictEqual(htlcSuccessFee(5000, { anchors: true }), 0n);
  // BOLT #3 Fee Calculation example: feerate 5000, dust 546.
  const t = { feeratePerKw: 5000, dustLimitSatoshis: 546n, anchors: false };
  strictEqual(isHtlcTrimmed({ offered: true, amountMsat: 5000000n }, t), false);
  strictEqual(isHtlcTrimmed({ offered: true, amountMsat: 1000000n }, t), true);
  strictEqual(isHtlcTrimmed({ offered: false, amountMsat: 7000000n }, t), false);
  strictEqual(isHtlcTrimmed({ offered: false, amountMsat: 800000n }, t), true);
  // Boundary: exactly dust + fee is kept, one satoshi less is trimmed; msat are rounded down.
  strictEqual(isHtlcTrimmed({ offered: true, amountMsat: 3861000n }, t), false);
  strictEqual(isHtlcTrimmed({ offered: true, amountMsat: 3860999n }, t), true);
  // Zero-fee anchors: plain dust.
  const a = { ...t, anchors: true };
  strictEqual(isHtlcTrimmed({ offered: true, amountMsat: 546000n }, a), false);
  strictEqual(isHtlcTrimmed({ offered: false, amountMsat: 545999n }, a), true);
});

Deno.test("the acceptor's commitment: the countersignatory pays fee and anchors", () => {
  const opts = caseOptions(APPENDIX_F[0], true);
  const built = buildCommitmentTx({ ...opts, broadcasterIsOpener: false });
  const fee = commitmentFee(opts.feeratePerKw, { numUntrimmedHtlcs: 0, anchors: true });
  strictEqual(built.toBroadcasterSat, 7000000n);
  strictEqual(built.toCountersignatorySat, 3000000n - fee - 660n);
  strictEqual(built.feeSatoshis, fee);
});

Deno.test("bad parameters are typed errors", () => {
  const opts = caseOptions(APPENDIX_C[0], false);
  throws(
    () => buildCommitmentTx({ ...opts, toBroadcasterMsat: opts.toBroadcasterMsat + 1n }),
    (e: Error) => e instanceof CommitmentError && /exceed the funding/.test(e.message),
  );
  throws(() => buildCommitmentTx({ ...opts, commitmentNumber: 2 ** 48 }), CommitmentError);
  throws(() => buildCommitmentTx({ ...opts, feeratePerKw: -1 }), CommitmentError);
  throws(() => buildCommitmentTx({ ...opts, toSelfDelay: 70000 }), CommitmentError);
  throws(
    () => buildCommitmentTx({ ...opts, fundingOutpoint: { txid: new Uint8Array(31), vout: 0 } }),
    CommitmentError,
  );
  throws(
    () =>
      buildCommitmentTx({
        ...opts,
        toBroadcasterMsat: 0n,
        htlcs: [{ offered: true, amountMsat: 1n, paymentHash: new Uint8Array(31), cltvExpiry: 1 }],
      }),
    (e: Error) => e instanceof CommitmentError && /payment hash/.test(e.message),
  );
  throws(
    () => obscuringFactor(new Uint8Array(32), CHANNEL.remotePaymentBasepoint),
    CommitmentError,
  );
});

Deno.test("a tampered remote commitment signature does not verify", () => {
  const c = APPENDIX_C[1];
  const built = buildCommitmentTx(caseOptions(c, false));
  const opts = { scriptCode: built.fundingWitnessScript, amount: built.fundingSatoshis };
  const sig = fromHex(c.remote_signature);
  sig[10] ^= 0x01;
  strictEqual(
    verifySegwitV0Input(built.tx, 0, {
      ...opts,
      publicKey: CHANNEL.remoteFundingPubkey,
      signature: concat(sig, Uint8Array.of(1)),
    }),
    false,
  );
  // The right signature against a different transaction (another case's outputs) fails too.
  const other = buildCommitmentTx(caseOptions(APPENDIX_C[2], false));
  strictEqual(
    verifySegwitV0Input(other.tx, 0, {
      ...opts,
      publicKey: CHANNEL.remoteFundingPubkey,
      signature: concat(fromHex(c.remote_signature), Uint8Array.of(1)),
    }),
    false,
  );
  // And the local key does not verify the remote signature.
  const digest = sighashSegwitV0(built.tx, 0, opts);
  strictEqual(
    ecdsaVerifyDer(fromHex(c.remote_signature), digest, CHANNEL.localFundingPubkey),
    false,
  );
});

Deno.test("anchors: untrimmed HTLCs keep both anchors even without a side's main output", () => {
  const opts = caseOptions(APPENDIX_F[2], true); // HTLCs 0..4, feerate 644, dust 546
  const htlcMsat = opts.htlcs.reduce((s, h) => s + h.amountMsat, 0n);
  const total = opts.fundingSatoshis * 1000n - htlcMsat;
  // The broadcaster (not the opener) has nothing; the countersignatory has everything else.
  const noLocal = buildCommitmentTx({
    ...opts,
    broadcasterIsOpener: false,
    toBroadcasterMsat: 0n,
    toCountersignatoryMsat: total,
  });
  deepStrictEqual(
    noLocal.outputs.map((o) => o.kind).filter((k) => k !== "htlc"),
    ["anchor_broadcaster", "anchor_countersignatory", "to_countersignatory"],
  );
  // The reverse: no to_countersignatory output, both anchors still there.
  const noRemote = buildCommitmentTx({
    ...opts,
    toBroadcasterMsat: total,
    toCountersignatoryMsat: 0n,
  });
  deepStrictEqual(
    noRemote.outputs.map((o) => o.kind).filter((k) => k !== "htlc"),
    ["anchor_broadcaster", "anchor_countersignatory", "to_broadcaster"],
  );
  // With every HTLC trimmed (dust limit above all of them), the anchor follows the outputs only.
  const trimmed = buildCommitmentTx({
    ...opts,
    dustLimitSatoshis: 5000n,
    toBroadcasterMsat: total,
    toCountersignatoryMsat: 0n,
  });
  deepStrictEqual(trimmed.trimmedHtlcs, [0, 1, 2, 3, 4]);
  deepStrictEqual(trimmed.outputs.map((o) => o.kind), ["anchor_broadcaster", "to_broadcaster"]);
});

Deno.test("assembleCommitmentTx rebuilds every vector from its final values and untrimmed HTLCs", () => {
  // The form nodes hand the signer: output values after fee and trimming, and only the HTLCs that
  // have outputs. Assembling from that must give the very same unsigned transaction.
  for (const [cases, anchors] of [[APPENDIX_C, false], [APPENDIX_F, true]] as const) {
    for (const c of cases) {
      const options = caseOptions(c, anchors);
      const built = buildCommitmentTx(options);
      const value = (kind: string) => built.outputs.find((o) => o.kind === kind)?.amountSat ?? 0n;
      const untrimmed = options.htlcs.filter((_, i) => !built.trimmedHtlcs.includes(i));
      const assembled = assembleCommitmentTx({
        ...options,
        toBroadcasterSat: value("to_broadcaster"),
        toCountersignatorySat: value("to_countersignatory"),
        htlcs: untrimmed,
      });
      strictEqual(toHex(encodeTx(assembled.tx)), toHex(encodeTx(built.tx)), c.name);
      strictEqual(assembled.feeSatoshis, built.feeSatoshis, c.name);
    }
  }
});

Deno.test("assembleCommitmentTx refuses outputs above the funding value", () => {
  const options = caseOptions(APPENDIX_C[0], false);
  throws(
    () =>
      assembleCommitmentTx({
        ...options,
        toBroadcasterSat: options.fundingSatoshis,
        toCountersignatorySat: 1n,
        htlcs: [],
      }),
    { name: "CommitmentError", message: "outputs exceed the funding amount" },
  );
});
