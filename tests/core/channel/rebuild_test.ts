/**
 * core/channel/rebuild.ts: the signer's own rebuild of a commitment from its channel state and a
 * {@link CommitmentInfo}, checked byte for byte against BOLT #3 Appendix C (static_remotekey) and
 * Appendix F (zero-fee-HTLC anchors), from both sides of the channel: local rebuilds its holder
 * commitment, remote rebuilds the same transaction as the counterparty's commitment.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex } from "../../../core/bytes.ts";
import { sha256 } from "../../../core/crypto/mod.ts";
import { decodeTx, encodeTx, stripSignatures, type Tx } from "../../../core/bitcoin/tx.ts";
import { p2wpkh, p2wsh } from "../../../core/bitcoin/script.ts";
import { toLocalScript } from "../../../core/bolt3/scripts.ts";
import {
  channelObscuringFactor,
  isAnchors,
  rebuildCommitment,
} from "../../../core/channel/rebuild.ts";
import { COMMITMENT_TYPES } from "../../../core/channel/types.ts";
import {
  APPENDIX_C,
  APPENDIX_F,
  caseInfo,
  caseTx,
  LOCAL_IMPOSED_DELAY,
  localKeys,
  remoteKeys,
  SEVEN_OUTPUTS,
  VECTOR,
  type VectorCase,
  vectorSetup,
} from "./_bolt3.ts";

const bare = (tx: Tx) => toHex(encodeTx(tx, { witness: false }));

Deno.test("isAnchors: true for the two anchor channel types only", () => {
  const setup = vectorSetup("local", false);
  deepStrictEqual(
    COMMITMENT_TYPES.map((commitmentType) => [
      commitmentType,
      isAnchors({ ...setup, commitmentType }),
    ]),
    [
      ["legacy", false],
      ["static_remotekey", false],
      ["anchors", true],
      ["anchors_zero_fee_htlc", true],
    ],
  );
});

Deno.test("channelObscuringFactor: the opener's payment basepoint first (Appendix C 0x2bb038521914)", () => {
  strictEqual(VECTOR.obscuringFactor, 0x2bb038521914);
  // Local opened: its own basepoint first. Remote accepted: the counterparty's (local's) first.
  strictEqual(channelObscuringFactor(vectorSetup("local", false), localKeys()), 0x2bb038521914);
  strictEqual(channelObscuringFactor(vectorSetup("remote", false), remoteKeys()), 0x2bb038521914);
  // Had remote opened, the order flips: the low 48 bits of SHA256(remote || local).
  const flipped = sha256(
    concat(fromHex(VECTOR.remotePaymentBasepoint), fromHex(VECTOR.localPaymentBasepoint)),
  );
  const expected = parseInt(toHex(flipped.subarray(26)), 16);
  strictEqual(
    channelObscuringFactor({ ...vectorSetup("local", false), isOutbound: false }, localKeys()),
    expected,
  );
  strictEqual(expected === 0x2bb038521914, false);
});

function checkCase(c: VectorCase, anchors: boolean): void {
  const info = caseInfo(c, anchors);
  const holder = rebuildCommitment("holder", {
    setup: vectorSetup("local", anchors),
    keys: localKeys(),
    info,
  });
  strictEqual(bare(holder.tx), bare(caseTx(c)), `${c.name}: holder rebuild`);
  deepStrictEqual(
    holder.htlcTxs.map((h) => [h.commitmentOutputIndex, bare(h.tx)]),
    c.htlc_txs.map((h) => [
      h.commitment_output_index,
      bare(stripSignatures(decodeTx(fromHex(h.tx_hex)))),
    ]),
    `${c.name}: HTLC transactions`,
  );
  const counterparty = rebuildCommitment("counterparty", {
    setup: vectorSetup("remote", anchors),
    keys: remoteKeys(),
    info,
  });
  strictEqual(bare(counterparty.tx), bare(caseTx(c)), `${c.name}: counterparty rebuild`);
  deepStrictEqual(
    counterparty.htlcTxs.map((h) => bare(h.tx)),
    holder.htlcTxs.map((h) => bare(h.tx)),
  );
}

Deno.test("rebuildCommitment reproduces every Appendix C commitment and HTLC transaction", () => {
  strictEqual(APPENDIX_C.length, 16);
  for (const c of APPENDIX_C) {
    // The fixture's output values agree with every amount the appendix lists.
    const listed = c.annotations?.outputs_listed ?? [];
    const values = caseInfo(c, false);
    for (const o of listed) {
      if (o.kind === "to_local") strictEqual(values.toBroadcasterSat, BigInt(o.amount_sat));
      if (o.kind === "to_remote") strictEqual(values.toCountersignatorySat, BigInt(o.amount_sat));
    }
    checkCase(c, false);
  }
});

Deno.test("rebuildCommitment reproduces every Appendix F (anchors) commitment and HTLC transaction", () => {
  strictEqual(APPENDIX_F.length, 9);
  for (const c of APPENDIX_F) checkCase(c, true);
});

Deno.test("rebuildCommitment: keys, delay, funding script and metadata of the rebuilt commitment", () => {
  const info = caseInfo(SEVEN_OUTPUTS, false);
  const holder = rebuildCommitment("holder", {
    setup: vectorSetup("local", false),
    keys: localKeys(),
    info,
  });
  strictEqual(holder.broadcaster, "holder");
  strictEqual(holder.feeratePerKw, 647);
  strictEqual(holder.toSelfDelay, 144);
  strictEqual(holder.anchors, false);
  strictEqual(holder.fundingSatoshis, 10_000_000n);
  // 0x2bb038521914 ^ 42 (JavaScript `^` is 32-bit: written out).
  strictEqual(holder.obscuredCommitmentNumber, 0x2bb03852193e);
  strictEqual(toHex(holder.fundingWitnessScript), VECTOR.fundingWitnessScript);
  deepStrictEqual(
    {
      perCommitmentPoint: toHex(holder.keys.perCommitmentPoint),
      revocationKey: toHex(holder.keys.revocationKey),
      broadcasterDelayedPaymentKey: toHex(holder.keys.broadcasterDelayedPaymentKey),
      broadcasterHtlcKey: toHex(holder.keys.broadcasterHtlcKey),
      countersignatoryHtlcKey: toHex(holder.keys.countersignatoryHtlcKey),
    },
    {
      perCommitmentPoint: VECTOR.localPerCommitmentPoint,
      revocationKey: VECTOR.localRevocationPubkey,
      broadcasterDelayedPaymentKey: VECTOR.localDelayedPubkey,
      broadcasterHtlcKey: VECTOR.localHtlcPubkey,
      countersignatoryHtlcKey: VECTOR.remoteHtlcPubkey,
    },
  );
  // Output kinds in transaction order: three HTLCs below to_remote (3_000_000), then to_local.
  deepStrictEqual(
    holder.outputs.map((o) => [o.kind, o.amountSat]),
    [
      ["htlc", 1000n],
      ["htlc", 2000n],
      ["htlc", 2000n],
      ["htlc", 3000n],
      ["htlc", 4000n],
      ["to_countersignatory", 3_000_000n],
      ["to_broadcaster", 6_986_976n], // Appendix C: 6_988_000 less the 1024-sat fee
    ],
  );
  strictEqual(
    toHex(holder.outputs[5].scriptPubKey),
    toHex(p2wpkh(fromHex(VECTOR.remotePaymentBasepoint))),
  );
});

Deno.test("rebuildCommitment: each broadcaster's to_local carries the delay the other side imposed", () => {
  const info = caseInfo(APPENDIX_C[0], false);
  const setup = vectorSetup("local", false);
  strictEqual(setup.counterpartySelectedContestDelay, 144);
  strictEqual(setup.holderSelectedContestDelay, LOCAL_IMPOSED_DELAY);
  // Remote's commitment as local sees it: remote's keys for to_local, local's delay of 720.
  const theirs = rebuildCommitment("counterparty", { setup, keys: localKeys(), info });
  strictEqual(theirs.broadcaster, "counterparty");
  strictEqual(theirs.toSelfDelay, LOCAL_IMPOSED_DELAY);
  const toLocal = theirs.outputs.find((o) => o.kind === "to_broadcaster");
  const expectedScript = toLocalScript({
    revocationKey: theirs.keys.revocationKey,
    broadcasterDelayedPaymentKey: theirs.keys.broadcasterDelayedPaymentKey,
    toSelfDelay: LOCAL_IMPOSED_DELAY,
  });
  strictEqual(toHex(toLocal?.scriptPubKey ?? new Uint8Array()), toHex(p2wsh(expectedScript)));
  // Its to_remote pays local's static payment basepoint.
  const toRemote = theirs.outputs.find((o) => o.kind === "to_countersignatory");
  strictEqual(
    toHex(toRemote?.scriptPubKey ?? new Uint8Array()),
    toHex(p2wpkh(fromHex(VECTOR.localPaymentBasepoint))),
  );
  // Same info, other broadcaster: a different transaction.
  const ours = rebuildCommitment("holder", { setup, keys: localKeys(), info });
  strictEqual(bare(ours.tx) === bare(theirs.tx), false);
});

Deno.test("rebuildCommitment: a per-commitment point that is not on the curve is refused", () => {
  const info = { ...caseInfo(APPENDIX_C[0], false), perCommitmentPoint: "02" + "00".repeat(32) };
  throws(
    () =>
      rebuildCommitment("holder", { setup: vectorSetup("local", false), keys: localKeys(), info }),
    { name: "CryptoError" },
  );
});
