import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import funding from "../../vectors/bolt3/funding.json" with { type: "json" };
import { fromHex, toHex } from "../../../core/bytes.ts";
import { p2wpkh, p2wsh } from "../../../core/bitcoin/script.ts";
import { decodeTx } from "../../../core/bitcoin/tx.ts";
import {
  anchorScript,
  Bolt3ScriptError,
  fundingScript,
  fundingWitness,
  offeredHtlcScript,
  receivedHtlcScript,
  toLocalScript,
  toRemoteAnchorsScript,
  toRemoteOutputScript,
} from "../../../core/bolt3/mod.ts";
import { APPENDIX_C, APPENDIX_F, CHANNEL, HTLCS } from "./_vectors.ts";

const keyOpts = {
  revocationKey: CHANNEL.localRevocationPubkey,
  broadcasterHtlcKey: CHANNEL.localHtlcPubkey,
  countersignatoryHtlcKey: CHANNEL.remoteHtlcPubkey,
};

Deno.test("funding 2-of-2 script: Appendix B and C, in either key order", () => {
  const a = fromHex(funding.local_funding_pubkey);
  const b = fromHex(funding.remote_funding_pubkey);
  strictEqual(toHex(fundingScript(a, b)), funding.funding_witness_script);
  strictEqual(toHex(fundingScript(b, a)), funding.funding_witness_script);
  strictEqual(
    toHex(fundingScript(CHANNEL.localFundingPubkey, CHANNEL.remoteFundingPubkey)),
    toHex(CHANNEL.fundingWitnessScript),
  );
  // The funding tx output 0 pays P2WSH of it.
  const tx = decodeTx(fromHex(funding.funding_tx_hex));
  strictEqual(toHex(tx.outputs[0].script), toHex(p2wsh(fundingScript(a, b))));
});

Deno.test("Appendix C: every listed witness script byte for byte", () => {
  let checked = 0;
  for (const c of APPENDIX_C) {
    for (const o of c.annotations?.outputs_listed ?? []) {
      if (o.kind === "to_remote") {
        strictEqual(o.p2wpkh_pubkey, toHex(CHANNEL.remotePaymentBasepoint));
        const s = toRemoteOutputScript(CHANNEL.remotePaymentBasepoint, { anchors: false });
        strictEqual(toHex(s.scriptPubKey), toHex(p2wpkh(CHANNEL.remotePaymentBasepoint)));
        strictEqual(s.witnessScript, undefined);
        continue;
      }
      let script: Uint8Array;
      if (o.kind === "to_local") {
        script = toLocalScript({
          revocationKey: CHANNEL.localRevocationPubkey,
          broadcasterDelayedPaymentKey: CHANNEL.localDelayedPubkey,
          toSelfDelay: CHANNEL.toSelfDelay,
        });
      } else {
        const h = HTLCS[o.htlc_index ?? -1];
        strictEqual(h.offered, o.local_perspective === "offered");
        script = h.offered
          ? offeredHtlcScript({ ...keyOpts, paymentHash: h.paymentHash, anchors: false })
          : receivedHtlcScript({
            ...keyOpts,
            paymentHash: h.paymentHash,
            cltvExpiry: h.cltvExpiry,
            anchors: false,
          });
      }
      strictEqual(toHex(script), o.witness_script, `${c.name}: ${o.kind} ${o.htlc_index ?? ""}`);
      checked++;
    }
  }
  // The 16 cases list 46 witness scripts in all (to_local and HTLCs).
  strictEqual(checked, 46);
});

Deno.test("Appendix F: anchor, to_remote and anchors HTLC scripts hash to the outputs", () => {
  // "commitment tx with seven outputs untrimmed": both anchors, 5 HTLCs, to_remote, to_local.
  const tx = decodeTx(fromHex(APPENDIX_F[2].commitment_tx_hex));
  const scripts = tx.outputs.map((o) => toHex(o.script));
  const expect = [
    anchorScript(CHANNEL.localFundingPubkey),
    anchorScript(CHANNEL.remoteFundingPubkey),
    toRemoteAnchorsScript(CHANNEL.remotePaymentBasepoint),
    toLocalScript({
      revocationKey: CHANNEL.localRevocationPubkey,
      broadcasterDelayedPaymentKey: CHANNEL.localDelayedPubkey,
      toSelfDelay: CHANNEL.toSelfDelay,
    }),
    ...[0, 1, 2, 3, 4].map((i) => {
      const h = HTLCS[i];
      return h.offered
        ? offeredHtlcScript({ ...keyOpts, paymentHash: h.paymentHash, anchors: true })
        : receivedHtlcScript({
          ...keyOpts,
          paymentHash: h.paymentHash,
          cltvExpiry: h.cltvExpiry,
          anchors: true,
        });
    }),
  ].map((s) => toHex(p2wsh(s)));
  deepStrictEqual([...scripts].sort(), [...expect].sort());
  // The witness script revealed by an anchors HTLC-success tx (its last witness item).
  const success = decodeTx(fromHex(APPENDIX_F[2].htlc_txs[0].tx_hex));
  const revealed = success.inputs[0].witness[4];
  strictEqual(
    toHex(revealed),
    toHex(receivedHtlcScript({
      ...keyOpts,
      paymentHash: HTLCS[0].paymentHash,
      cltvExpiry: HTLCS[0].cltvExpiry,
      anchors: true,
    })),
  );
  // The anchors forms end in `1 OP_CSV OP_DROP OP_ENDIF`.
  strictEqual(toHex(revealed.slice(-4)), "51b27568");
  const s = toRemoteOutputScript(CHANNEL.remotePaymentBasepoint, { anchors: true });
  strictEqual(
    toHex(s.witnessScript ?? new Uint8Array()),
    "21" + toHex(CHANNEL.remotePaymentBasepoint) + "ad51b2",
  );
  strictEqual(
    toHex(anchorScript(CHANNEL.localFundingPubkey)),
    "21" + toHex(CHANNEL.localFundingPubkey) + "ac736460b268",
  );
});

Deno.test("funding witness orders signatures by key", () => {
  const sigA = Uint8Array.of(0xaa);
  const sigB = Uint8Array.of(0xbb);
  // local (023d...) sorts before remote (030e...).
  const w1 = fundingWitness({
    pubkeyA: CHANNEL.localFundingPubkey,
    signatureA: sigA,
    pubkeyB: CHANNEL.remoteFundingPubkey,
    signatureB: sigB,
  });
  const w2 = fundingWitness({
    pubkeyA: CHANNEL.remoteFundingPubkey,
    signatureA: sigB,
    pubkeyB: CHANNEL.localFundingPubkey,
    signatureB: sigA,
  });
  deepStrictEqual(w1.map(toHex), ["", "aa", "bb", toHex(CHANNEL.fundingWitnessScript)]);
  deepStrictEqual(w2.map(toHex), w1.map(toHex));
});

Deno.test("scripts refuse bad keys and values", () => {
  const bad = new Uint8Array(33);
  throws(() => fundingScript(bad, CHANNEL.localFundingPubkey), Bolt3ScriptError);
  throws(() => anchorScript(bad), Bolt3ScriptError);
  throws(
    () =>
      toLocalScript({
        revocationKey: CHANNEL.localRevocationPubkey,
        broadcasterDelayedPaymentKey: CHANNEL.localDelayedPubkey,
        toSelfDelay: 65536,
      }),
    Bolt3ScriptError,
  );
  throws(
    () => offeredHtlcScript({ ...keyOpts, paymentHash: new Uint8Array(31), anchors: false }),
    (e: Error) => e instanceof Bolt3ScriptError && /payment hash/.test(e.message),
  );
  throws(
    () =>
      receivedHtlcScript({
        ...keyOpts,
        paymentHash: new Uint8Array(32),
        cltvExpiry: -1,
        anchors: false,
      }),
    Bolt3ScriptError,
  );
  throws(() => toRemoteOutputScript(bad, { anchors: false }), Bolt3ScriptError);
});
