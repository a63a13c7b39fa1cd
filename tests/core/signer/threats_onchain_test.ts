/**
 * Attacks on the node's own on-chain wallet signing (`sign_onchain`: CLN 7, 147, 149) through the
 * real {@link Signer} with the default policy, from an adversarial review:
 *
 * - the input-amount lie (vls.md §2.6) through the taproot shortcut: a taproot input the node only
 *   claims pays our key (it may be its own coin) must not vouch for the other inputs' amounts, in
 *   a withdrawal or in an HTLC fee mingle whose "HTLC" output is the attacker's;
 * - the wallet gap limit ratchet: a made-up coin at a far key index must not move the persisted
 *   highest used index, so that a later real withdrawal cannot send change where no restore looks.
 *
 * Each attack is refused by rule id, nothing changes, and the honest form of the request passes.
 */
import { rejects, strictEqual } from "node:assert/strict";
import { compare, concat, u16be, u64be } from "../../../core/bytes.ts";
import { CHAIN, scidOf } from "./_node_requests.ts";
import { publicKey } from "../../../core/crypto/mod.ts";
import { createPsbt } from "../../../core/bitcoin/psbt.ts";
import { p2tr, p2wpkh } from "../../../core/bitcoin/script.ts";
import { taprootOutputKey } from "../../../core/bitcoin/taproot.ts";
import { type Tx, txid, type TxOutput } from "../../../core/bitcoin/tx.ts";
import { NegativeApprover } from "../../../core/node/approvals.ts";
import type { SignOnchainRequest } from "../../../core/node/onchain.ts";
import type { Utxo } from "../../../core/protocol/mod.ts";
import { expectRefusal, makeTx, Rig, US_NODE, walletScript } from "./_rules_fixture.ts";
import { buildPsbt, prevTx, utxoOf, walletCoins, withdrawal } from "./_onchain_fixture.ts";

const ATTACKER = p2wpkh(publicKey(new Uint8Array(32).fill(0x66)));
/** Our BIP-86 wallet key 9 (the script a taproot wallet coin at key 9 pays). */
const TAPROOT_9 = p2tr(taprootOutputKey(US_NODE.walletPubkey(9)));
/** The attacker's own coin, which the node claims pays our taproot key 9. */
const FAKE_T = { txid: new Uint8Array(32).fill(0xee), vout: 0 };
const FAKE_T_CLAIM: TxOutput = { amount: 1000n, script: TAPROOT_9 };

function fakeTaprootUtxo(): Utxo {
  return {
    txid: FAKE_T.txid,
    outnum: 0,
    amount_sat: FAKE_T_CLAIM.amount,
    keyindex: 9,
    is_p2sh: false,
    script_pubkey: FAKE_T_CLAIM.script,
    close_info: null,
    is_in_coinbase: false,
  };
}

const keyOf = (vout: number) => [3, 5, 7][vout];

/**
 * A2: both 2M-sat wallet coins (keys 3 and 5) and the fake taproot coin, 2M change: ~2M sat of
 * fee. Request `signed` signs wallet coin `signed` with its true amount and states the other's
 * as 1000 sat, so each request alone shows a ~2000-sat fee.
 */
function amountLie(coins: Tx, signed: 0 | 1): SignOnchainRequest {
  const tx = makeTx([
    { txid: txid(coins), vout: 0, sequence: 0xfffffffd },
    { txid: txid(coins), vout: 1, sequence: 0xfffffffd },
    { ...FAKE_T, sequence: 0xfffffffd },
  ], [{ amount: 2_000_000n, script: walletScript(21) }]);
  const psbt = createPsbt(tx);
  const other = 1 - signed;
  psbt.inputs[signed].witnessUtxo = coins.outputs[signed];
  psbt.inputs[other].witnessUtxo = { ...coins.outputs[other], amount: 1000n };
  psbt.inputs[2].witnessUtxo = FAKE_T_CLAIM;
  psbt.outputs[0].bip32Derivation = [{
    pubkey: US_NODE.walletPubkey(21),
    fingerprint: 0,
    path: [21],
  }];
  return {
    utxos: [utxoOf(coins, signed, keyOf(signed)), fakeTaprootUtxo()],
    psbt,
    purpose: "withdrawal",
  };
}

Deno.test("input-amount lie: a taproot coin the node only claims is ours vouches for no other amount", async () => {
  const rig = await Rig.create();
  const coins = walletCoins(40);
  for (const signed of [0, 1] as const) {
    await expectRefusal(
      rig,
      () => rig.signer.signOnchain(amountLie(coins, signed)),
      ["policy-onchain-input-amounts-verified"],
    );
  }
  // Honest: the same wallet coins with their previous transaction (and a sane fee) are signed.
  await rig.signer.signOnchain(
    withdrawal(coins, [{ amount: 3_999_000n, script: walletScript(21), path: [21] }], {
      vouts: [0, 1],
    }),
  );
});

Deno.test("input-amount lie: a taproot coin proven ours by its previous transaction vouches for the others", async () => {
  const rig = await Rig.create();
  const coins = prevTx([
    { amount: 2_000_000n, script: walletScript(3) },
    { amount: 500_000n, script: TAPROOT_9 },
  ], 42);
  const request = (taprootPrevTx: boolean): SignOnchainRequest => {
    const psbt = buildPsbt([
      { prev: coins, vout: 0, nonWitness: false },
      { prev: coins, vout: 1, nonWitness: taprootPrevTx },
    ], [{ amount: 2_499_000n, script: walletScript(21), path: [21] }]);
    return { utxos: [utxoOf(coins, 0, 3), utxoOf(coins, 1, 9)], psbt, purpose: "withdrawal" };
  };
  // The v0 coin's amount is the node's word and the taproot coin is not proven ours.
  await expectRefusal(
    rig,
    () => rig.signer.signOnchain(request(false)),
    ["policy-onchain-input-amounts-verified"],
  );
  // With the taproot coin's previous transaction, our BIP-341 signature (needed: the coin is
  // ours) commits to the v0 coin's amount too, as CLN and LDK wallets rely on.
  const signed = await rig.signer.signOnchain(request(true));
  strictEqual(signed.inputs[0].partialSigs.length, 1);
});

/**
 * A2b, CLN 149: output 0 pays the attacker and is "paired" with the attacker's input 0 (as an
 * HTLC transaction's SINGLE|ANYONECANPAY pair would be); input 3 is the fake taproot coin. Request
 * `signed` (1 or 2) signs one wallet coin; the other's amount is stated as 1000 sat unless
 * `truthful`, in which case both wallet coins carry their previous transaction.
 */
function mingleTheft(coins: Tx, signed: 1 | 2, truthful = false): SignOnchainRequest {
  const F = { txid: new Uint8Array(32).fill(0xf1), vout: 0 };
  const tx = makeTx([
    { ...F, sequence: 0xfffffffd },
    { txid: txid(coins), vout: 0, sequence: 0xfffffffd },
    { txid: txid(coins), vout: 1, sequence: 0xfffffffd },
    { ...FAKE_T, sequence: 0xfffffffd },
  ], [
    { amount: 2_005_000n, script: ATTACKER },
    { amount: 1_999_000n, script: walletScript(21) },
  ]);
  const psbt = createPsbt(tx);
  const other = signed === 1 ? 2 : 1;
  psbt.inputs[0].witnessUtxo = { amount: 10_000n, script: ATTACKER };
  psbt.inputs[signed].witnessUtxo = coins.outputs[signed - 1];
  psbt.inputs[other].witnessUtxo = truthful
    ? coins.outputs[other - 1]
    : { ...coins.outputs[other - 1], amount: 1000n };
  if (truthful) {
    psbt.inputs[1].nonWitnessUtxo = coins;
    psbt.inputs[2].nonWitnessUtxo = coins;
  }
  psbt.inputs[3].witnessUtxo = FAKE_T_CLAIM;
  psbt.outputs[1].bip32Derivation = [{
    pubkey: US_NODE.walletPubkey(21),
    fingerprint: 0,
    path: [21],
  }];
  return {
    utxos: [utxoOf(coins, signed - 1, keyOf(signed - 1)), fakeTaprootUtxo()],
    psbt,
    purpose: "mingle",
  };
}

Deno.test("HTLC mingle (149): an attacker's output paired with its own input cannot take our coins", async () => {
  // The operator approves nothing: the paired output is never asked about.
  const rig = await Rig.create({ approver: new NegativeApprover() });
  const coins = walletCoins(41);
  for (const signed of [1, 2] as const) {
    await expectRefusal(
      rig,
      () => rig.signer.signOnchain(mingleTheft(coins, signed)),
      ["policy-onchain-input-amounts-verified"],
    );
  }
  // With the true amounts, what our coins pay the paired output counts as fee (~2M sat).
  await expectRefusal(
    rig,
    () => rig.signer.signOnchain(mingleTheft(coins, 1, true)),
    ["policy-onchain-fee-range"],
  );
});

Deno.test("wallet gap limit: a made-up coin at a far key index does not ratchet the highest used index", async () => {
  const rig = await Rig.create();
  const FAR = 0x7fffffff;
  const real = () =>
    withdrawal(walletCoins(50), [{ amount: 1_999_000n, script: walletScript(FAR), path: [FAR] }]);
  await expectRefusal(
    rig,
    () => rig.signer.signOnchain(real()),
    ["policy-onchain-wallet-path-predictable"],
  );
  // A previous transaction that never confirmed "pays" key 2^31-2; change next to it passes the
  // rule within that (unconfirmable) transaction...
  const fake = prevTx([{ amount: 10_000n, script: walletScript(FAR - 1) }], 0x51);
  await rig.signer.signOnchain({
    utxos: [utxoOf(fake, 0, FAR - 1)],
    psbt: buildPsbt([{ prev: fake, vout: 0 }], [
      { amount: 9_000n, script: walletScript(FAR), path: [FAR] },
    ]),
    purpose: "withdrawal",
  });
  // ...but a real withdrawal still cannot send change past the gap of what was really used.
  await expectRefusal(
    rig,
    () => rig.signer.signOnchain(real()),
    ["policy-onchain-wallet-path-predictable"],
  );
  // Change within the gap is fine.
  await rig.signer.signOnchain(
    withdrawal(walletCoins(50), [{ amount: 1_999_000n, script: walletScript(21), path: [21] }]),
  );
});

Deno.test("threat: a channel announcement between us and the attacker over its own 2-of-2 is not signed", async () => {
  const rig = await Rig.create();
  const other = publicKey(new Uint8Array(32).fill(0x31));
  const k1 = publicKey(new Uint8Array(32).fill(0x32)); // the attacker's funding keys, both sides
  const k2 = publicKey(new Uint8Array(32).fill(0x33));
  const [n1, n2] = compare(US_NODE.nodeId, other) < 0
    ? [US_NODE.nodeId, other]
    : [other, US_NODE.nodeId];
  const body = concat(u16be(0), CHAIN, u64be(scidOf(700_000, 1, 0)), n1, n2, k1, k2);
  const before = await rig.store.list("");
  await rejects(() => rig.signer.signGossipMessage({ message: body }), {
    name: "RequestError",
    code: "unknown-channel",
    message:
      "sign_gossip_message: channel_announcement 700000x1x0: the bitcoin key on our side is not " +
      "our funding key of any channel with that peer",
  });
  strictEqual(JSON.stringify(await rig.store.list("")), JSON.stringify(before));
});
