/**
 * Wire values into signer requests and signer replies into wire values (core/protocol/convert.ts).
 */
import { deepStrictEqual, notStrictEqual, strictEqual, throws } from "node:assert/strict";
import { createBase58check } from "@scure/base";
import { concat, fromHex, toHex } from "../../../core/bytes.ts";
import { derDecode, ecdsaSign, publicKey, sha256 } from "../../../core/crypto/mod.ts";
import { createPsbt } from "../../../core/bitcoin/psbt.ts";
import { p2wpkh, p2wsh } from "../../../core/bitcoin/script.ts";
import { networkParams } from "../../../core/bitcoin/network.ts";
import type { Tx } from "../../../core/bitcoin/tx.ts";
import { commitmentFee } from "../../../core/bolt3/commitment.ts";
import {
  bitcoinSignature,
  channelIdOf,
  channelSetupOf,
  commitmentFeerate,
  commitmentNumber,
  commitmentTypeOf,
  featureBits,
  htlcRequests,
  nodeCommitmentTx,
  recoverableSignatureBytes,
  spendTx,
  spentAmount,
  wireOutpoint,
  withPartialSig,
  xpubBytes,
} from "../../../core/protocol/convert.ts";
import { ProtocolError } from "../../../core/protocol/types.ts";
import type { Htlc } from "../../../core/protocol/types.ts";
import { US_NODE } from "../signer/_rules_fixture.ts";
import { ClnDriver, PEER_ID } from "./_cln_driver.ts";

const HASH = sha256(new TextEncoder().encode("h"));
const KEY = publicKey(new Uint8Array(32).fill(5));

function tx(outputs: { amount: bigint; script: Uint8Array }[], inputs = 1): Tx {
  return {
    version: 2,
    locktime: 0,
    inputs: Array.from({ length: inputs }, (_, i) => ({
      txid: new Uint8Array(32).fill(0xaa + i),
      vout: i,
      scriptSig: new Uint8Array(),
      sequence: 0xffffffff,
      witness: [],
    })),
    outputs,
  };
}

Deno.test("htlc side: LOCAL (0) is offered on our commitment and received on the peer's", () => {
  const htlcs: Htlc[] = [
    { side: 0, amount_msat: 5_000_000n, payment_hash: HASH, cltv_expiry: 500 },
    { side: 1, amount_msat: 7_000_000n, payment_hash: HASH, cltv_expiry: 600 },
  ];
  const view = (b: "holder" | "counterparty") => htlcRequests(htlcs, b).map((h) => h.offered);
  deepStrictEqual(view("holder"), [true, false]);
  deepStrictEqual(view("counterparty"), [false, true]);
  deepStrictEqual(htlcRequests(htlcs, "holder")[1], {
    offered: false,
    amountMsat: 7_000_000n,
    paymentHash: HASH,
    cltvExpiry: 600,
  });
  // A copy: the request does not alias the decoded message.
  notStrictEqual(htlcRequests(htlcs, "holder")[0].paymentHash, HASH);
});

Deno.test("ctx → NodeCommitmentTx: witness scripts from the PSBT outputs, none for P2WPKH", () => {
  const ws = concat(KEY, fromHex("ac"));
  const t = tx([{ amount: 1000n, script: p2wsh(ws) }, { amount: 2000n, script: p2wpkh(KEY) }]);
  const psbt = createPsbt(t);
  psbt.outputs[0].witnessScript = ws;
  const node = nodeCommitmentTx({ tx: t, psbt });
  deepStrictEqual(node.witnessScripts, [ws, null]);
  strictEqual(node.tx, psbt.tx);
});

Deno.test("ctx → SpendTx: amounts from witness_utxo, paths from BIP-32 derivations", () => {
  const t = tx([{ amount: 1000n, script: p2wpkh(KEY) }, { amount: 2000n, script: p2wpkh(KEY) }], 2);
  const psbt = createPsbt(t);
  psbt.inputs[0].witnessUtxo = { amount: 5000n, script: p2wpkh(KEY) };
  psbt.outputs[1].bip32Derivation = [{ pubkey: KEY, fingerprint: 1, path: [7] }];
  const s = spendTx(psbt, { where: "sign_any_delayed_payment_to_us", field: "tx.psbt" });
  deepStrictEqual(s.spent, [{ amount: 5000n, script: p2wpkh(KEY) }, null]);
  deepStrictEqual(s.inputPaths, [[], []]);
  deepStrictEqual(s.outputPaths, [[], [7]]);
  strictEqual(spentAmount(psbt, 0, { where: "m", field: "tx.psbt" }), 5000n);
  throws(() => spentAmount(psbt, 1, { where: "sign_remote_htlc_tx", field: "tx.psbt" }), {
    name: "ProtocolError",
    message:
      "sign_remote_htlc_tx.tx.psbt: input 1: no PSBT_IN_NON_WITNESS_UTXO or PSBT_IN_WITNESS_UTXO",
  });
  throws(() => spentAmount(psbt, 2, { where: "m", field: "f" }), {
    message: "m.f: input 2 does not exist",
  });
  // A previous transaction contradicting the prevout is malformed, naming message and field.
  psbt.inputs[0].nonWitnessUtxo = tx([{ amount: 1n, script: p2wpkh(KEY) }]);
  throws(
    () => spendTx(psbt, { where: "sign_mutual_close_tx", field: "tx.psbt" }),
    (e) =>
      e instanceof ProtocolError && e.where === "sign_mutual_close_tx" && e.field === "tx.psbt" &&
      e.message.startsWith(
        "sign_mutual_close_tx.tx.psbt: input 0: PSBT_IN_NON_WITNESS_UTXO has txid",
      ),
  );
});

Deno.test("commitment feerate: the declared one, or for CLN's 0 the transaction's own", () => {
  const value = 1_000_000n;
  const commitment = (feerate: number, htlcCount: number, anchors: boolean) => {
    const fee = commitmentFee(feerate, { numUntrimmedHtlcs: htlcCount, anchors });
    const t = tx([{ amount: 300_000n, script: p2wpkh(KEY) }, {
      amount: value - 300_000n - fee,
      script: p2wpkh(KEY),
    }]);
    return { tx: t, channelValueSat: value, anchors, htlcCount };
  };
  for (const anchors of [false, true]) {
    for (const [feerate, htlcCount] of [[253, 0], [1000, 0], [2500, 0], [1000, 2], [7777, 3]]) {
      const o = commitment(feerate, htlcCount, anchors);
      strictEqual(commitmentFeerate(0, o), feerate, `${anchors} ${feerate} ${htlcCount}`);
      strictEqual(commitmentFeerate(999, o), 999, "a declared feerate is used as it is");
    }
  }
  // 1000 and 1001 sat/kw give the same 724-sat fee at 724 weight units: the lowest is returned.
  strictEqual(commitmentFee(1001, { numUntrimmedHtlcs: 0, anchors: false }), 724n);
  strictEqual(commitmentFeerate(0, commitment(1001, 0, false)), 1000);
  // Outputs over the channel value (a lie) give 0: the signer then refuses on its own facts.
  strictEqual(
    commitmentFeerate(0, {
      tx: tx([{ amount: 2_000_000n, script: p2wpkh(KEY) }]),
      channelValueSat: value,
      anchors: false,
      htlcCount: 0,
    }),
    0,
  );
});

Deno.test("channel_type of any length → commitment type", () => {
  deepStrictEqual(featureBits(fromHex("401000")), [12, 22]);
  deepStrictEqual(featureBits(fromHex("00001000")), [12]);
  const type = (hex: string) => commitmentTypeOf(fromHex(hex), "setup_channel");
  strictEqual(type(""), "legacy");
  strictEqual(type("0000"), "legacy");
  strictEqual(type("1000"), "static_remotekey"); // CLN, minimal
  strictEqual(type("00001000"), "static_remotekey"); // VLS's LDK client, 4 bytes
  strictEqual(type("101000"), "anchors");
  strictEqual(type("401000"), "anchors_zero_fee_htlc");
  // scid_alias (46) and zeroconf (50) change nothing.
  strictEqual(type("04400000401000"), "anchors_zero_fee_htlc");
  const refused = (hex: string, message: string) =>
    throws(() => type(hex), { name: "ProtocolError", message });
  refused("400000", "setup_channel.channel_type: anchors without static_remotekey (bit 12)");
  refused(
    "501000",
    "setup_channel.channel_type: both anchor_outputs (20) and anchors_zero_fee_htlc (22)",
  );
  refused("2000", "setup_channel.channel_type: unsupported bit 13");
  refused("01" + "00".repeat(22) + "401000", "setup_channel.channel_type: unsupported bit 200");
});

Deno.test("setup_channel → ChannelSetup: delays, keys, scripts, outpoint as the signer stores them", async () => {
  const d = await ClnDriver.create({ anchors: true });
  const setup = channelSetupOf(d.setupMessage());
  deepStrictEqual(setup, d.setup);
  const withScripts = channelSetupOf({
    ...d.setupMessage(),
    local_shutdown_script: p2wpkh(KEY),
    local_shutdown_wallet_index: 4,
    remote_shutdown_script: fromHex("0014" + "22".repeat(20)),
  });
  deepStrictEqual(
    [
      withScripts.holderShutdownScript,
      withScripts.holderShutdownWalletIndex,
      withScripts.counterpartyShutdownScript,
    ],
    [toHex(p2wpkh(KEY)), 4, "0014" + "22".repeat(20)],
  );
  deepStrictEqual(
    [setup.holderSelectedContestDelay, setup.counterpartySelectedContestDelay],
    [144, 6],
    "local_to_self_delay is what we impose on the peer",
  );
});

Deno.test("replies: bsig, rsig, the 78-byte xkey, a PSBT partial signature", () => {
  const sig = ecdsaSign(HASH, new Uint8Array(32).fill(9));
  deepStrictEqual(bitcoinSignature(sig, 0x83), { signature: sig, sighash: 0x83 });
  deepStrictEqual(
    recoverableSignatureBytes({ signature: sig, recovery: 2 }),
    concat(sig, Uint8Array.of(2)),
  );
  const account = US_NODE.accountKey();
  const versions = networkParams("regtest").bip32;
  deepStrictEqual(
    toHex(xpubBytes(account, versions.public)),
    toHex(createBase58check(sha256).decode(US_NODE.accountXpub())),
  );
  const t = tx([{ amount: 1000n, script: p2wpkh(KEY) }], 2);
  const psbt = createPsbt(t);
  psbt.inputs[1].partialSigs = [{ pubkey: KEY, signature: fromHex("3006020101020101" + "01") }];
  const ws = fromHex("51");
  const out = withPartialSig(psbt, 1, {
    pubkey: KEY,
    signature: sig,
    sighash: 1,
    witnessScript: ws,
  });
  strictEqual(out.inputs[1].partialSigs.length, 1, "the key's old signature is replaced");
  const p = out.inputs[1].partialSigs[0];
  deepStrictEqual(derDecode(p.signature.subarray(0, -1)), sig);
  strictEqual(p.signature[p.signature.length - 1], 1);
  deepStrictEqual(out.inputs[1].witnessScript, ws);
  deepStrictEqual(out.inputs[0], psbt.inputs[0]);
  strictEqual(psbt.inputs[1].partialSigs[0].signature.length, 9, "the input PSBT is unchanged");
  // An existing witness script is kept.
  psbt.inputs[1].witnessScript = fromHex("52");
  deepStrictEqual(
    withPartialSig(psbt, 1, { pubkey: KEY, signature: sig, sighash: 1, witnessScript: ws })
      .inputs[1]
      .witnessScript,
    fromHex("52"),
  );
});

Deno.test("ids, numbers and outpoints", () => {
  strictEqual(channelIdOf(PEER_ID, 1n).toHex(), toHex(PEER_ID) + "0100000000000000");
  strictEqual(commitmentNumber(281474976710655n, { where: "m", field: "n" }), 281474976710655);
  throws(
    () => commitmentNumber(281474976710656n, { where: "get_per_commitment_point", field: "n" }),
    {
      message: "get_per_commitment_point.n: a commitment number must be below 2^48",
    },
  );
  deepStrictEqual(wireOutpoint({ txid: "ab".repeat(32), vout: 3 }), {
    txid: new Uint8Array(32).fill(0xab),
    vout: 3,
  });
});
