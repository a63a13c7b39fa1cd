import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import staticRemotekey from "../../vectors/bolt3/commitment-static-remotekey.json" with {
  type: "json",
};
import { fromHex, toHex } from "../../../core/bytes.ts";
import { p2wpkh } from "../../../core/bitcoin/script.ts";
import { decodeTx, encodeTx } from "../../../core/bitcoin/tx.ts";
import { signSegwitV0Input, verifySegwitV0Input, withWitness } from "../../../core/bitcoin/sign.ts";
import {
  buildClosingTx,
  ClosingError,
  type ClosingTxOptions,
  fundingWitness,
} from "../../../core/bolt3/mod.ts";
import { CHANNEL } from "./_vectors.ts";

const LOCAL_SCRIPT = p2wpkh(CHANNEL.localPaymentBasepoint); // 0014 + hash: sorts by hash bytes
const REMOTE_SCRIPT = p2wpkh(CHANNEL.remotePaymentBasepoint);

function options(over: Partial<ClosingTxOptions> = {}): ClosingTxOptions {
  return {
    fundingOutpoint: { txid: CHANNEL.fundingTxid, vout: CHANNEL.fundingVout },
    fundingSatoshis: CHANNEL.fundingSatoshis,
    localFundingPubkey: CHANNEL.localFundingPubkey,
    remoteFundingPubkey: CHANNEL.remoteFundingPubkey,
    toLocalMsat: 6000000500n,
    toRemoteMsat: 3999999500n,
    localScriptPubKey: LOCAL_SCRIPT,
    remoteScriptPubKey: REMOTE_SCRIPT,
    feeSatoshis: 1000n,
    localIsOpener: true,
    dustLimitSatoshis: 546n,
    ...over,
  };
}

Deno.test("closing tx: version, locktime, sequence, rounding, fee from the opener, BIP-69", () => {
  const c = buildClosingTx(options());
  strictEqual(c.tx.version, 2);
  strictEqual(c.tx.locktime, 0);
  strictEqual(c.tx.inputs.length, 1);
  strictEqual(c.tx.inputs[0].sequence, 0xffffffff);
  strictEqual(toHex(c.tx.inputs[0].txid), toHex(CHANNEL.fundingTxid));
  strictEqual(c.toLocalSat, 5999000n); // 6000000 - 1000
  strictEqual(c.toRemoteSat, 3999999n); // msat rounded down
  deepStrictEqual(
    c.outputs.map((o) => [o.kind, o.amountSat]),
    [["to_remote", 3999999n], ["to_local", 5999000n]],
  );
  deepStrictEqual(c.tx.outputs.map((o) => o.amount), [3999999n, 5999000n]);
  strictEqual(toHex(c.tx.outputs[1].script), toHex(LOCAL_SCRIPT));
  strictEqual(c.feeSatoshis, 1001n); // the fee plus the rounded-down msat
  deepStrictEqual(c.omitted, []);
  strictEqual(toHex(c.fundingWitnessScript), toHex(CHANNEL.fundingWitnessScript));
  // The remote side pays when it is the opener.
  const r = buildClosingTx(options({ localIsOpener: false }));
  strictEqual(r.toLocalSat, 6000000n);
  strictEqual(r.toRemoteSat, 3998999n);
});

Deno.test("closing tx: equal amounts ordered by scriptPubKey", () => {
  const c = buildClosingTx(
    options({ toLocalMsat: 5000000000n, toRemoteMsat: 5000000000n, feeSatoshis: 0n }),
  );
  const [first, second] = [LOCAL_SCRIPT, REMOTE_SCRIPT].sort((
    a,
    b,
  ) => (toHex(a) < toHex(b) ? -1 : 1));
  deepStrictEqual(c.tx.outputs.map((o) => toHex(o.script)), [toHex(first), toHex(second)]);
});

Deno.test("closing tx: dust and own-output removal", () => {
  const dust = buildClosingTx(options({ toLocalMsat: 9999455000n, toRemoteMsat: 545000n }));
  deepStrictEqual(dust.outputs.map((o) => o.kind), ["to_local"]);
  deepStrictEqual(dust.omitted, ["to_remote"]);
  strictEqual(dust.feeSatoshis, 1000n + 545n);
  const atLimit = buildClosingTx(options({ toLocalMsat: 9999454000n, toRemoteMsat: 546000n }));
  deepStrictEqual(atLimit.outputs.map((o) => o.kind), ["to_remote", "to_local"]);
  const omit = buildClosingTx(options({ omitLocalOutput: true }));
  deepStrictEqual(omit.outputs.map((o) => o.kind), ["to_remote"]);
  deepStrictEqual(omit.omitted, ["to_local"]);
  strictEqual(omit.feeSatoshis, CHANNEL.fundingSatoshis - 3999999n);
});

Deno.test("closing tx: both parties sign, both signatures verify, witness assembles", () => {
  const c = buildClosingTx(options());
  const sign = { scriptCode: c.fundingWitnessScript, amount: c.fundingSatoshis };
  const remoteKey = fromHex(staticRemotekey.internal_values.remote_funding_privkey_raw32);
  const localSig = signSegwitV0Input(c.tx, 0, { ...sign, secretKey: CHANNEL.localFundingPrivkey });
  const remoteSig = signSegwitV0Input(c.tx, 0, { ...sign, secretKey: remoteKey });
  strictEqual(
    verifySegwitV0Input(c.tx, 0, {
      ...sign,
      publicKey: CHANNEL.remoteFundingPubkey,
      signature: remoteSig,
    }),
    true,
  );
  strictEqual(
    verifySegwitV0Input(c.tx, 0, {
      ...sign,
      publicKey: CHANNEL.remoteFundingPubkey,
      signature: localSig,
    }),
    false,
  );
  const signed = withWitness(
    c.tx,
    0,
    fundingWitness({
      pubkeyA: CHANNEL.localFundingPubkey,
      signatureA: localSig,
      pubkeyB: CHANNEL.remoteFundingPubkey,
      signatureB: remoteSig,
    }),
  );
  const back = decodeTx(encodeTx(signed));
  strictEqual(back.inputs[0].witness.length, 4);
  strictEqual(toHex(back.inputs[0].witness[1]), toHex(localSig)); // 023d.. sorts first
  strictEqual(toHex(back.inputs[0].witness[3]), toHex(CHANNEL.fundingWitnessScript));
});

Deno.test("closing tx: inconsistent parameters are typed errors", () => {
  throws(
    () => buildClosingTx(options({ feeSatoshis: 6000001n })),
    (e: Error) => e instanceof ClosingError && /cannot pay/.test(e.message),
  );
  throws(
    () => buildClosingTx(options({ toRemoteMsat: 4000000000n })),
    (e: Error) => e instanceof ClosingError && /exceed/.test(e.message),
  );
  throws(() => buildClosingTx(options({ feeSatoshis: -1n })), ClosingError);
  throws(
    () => buildClosingTx(options({ fundingOutpoint: { txid: new Uint8Array(3), vout: 0 } })),
    ClosingError,
  );
});
