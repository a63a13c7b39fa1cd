import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import funding from "../../vectors/bolt3/funding.json" with { type: "json" };
import { fromHex, reverse, toHex } from "../../../core/bytes.ts";
import { publicKey } from "../../../core/crypto/mod.ts";
import { p2pkh, p2wpkh, p2wpkhScriptCode, p2wsh } from "../../../core/bitcoin/script.ts";
import { decodeTx, encodeTx, SIGHASH, type Tx, txid, txidHex } from "../../../core/bitcoin/tx.ts";
import {
  p2pkhScriptSig,
  SignError,
  signP2pkhInput,
  signSegwitV0Input,
  verifyP2pkhInput,
  verifySegwitV0Input,
  withWitness,
} from "../../../core/bitcoin/sign.ts";
import { fundingScript } from "../../../core/bolt3/scripts.ts";

const COINBASE_KEY = fromHex(funding.block1_coinbase_privkey_raw32);

/** The Appendix B funding transaction, unsigned, built from its parameters. */
function unsignedFundingTx(): Tx {
  const pub = publicKey(COINBASE_KEY);
  const script = fundingScript(
    fromHex(funding.local_funding_pubkey),
    fromHex(funding.remote_funding_pubkey),
  );
  return {
    version: 2,
    locktime: 0,
    inputs: [{
      txid: reverse(fromHex(funding.input_txid)),
      vout: funding.input_index,
      scriptSig: new Uint8Array(),
      sequence: 0xffffffff,
      witness: [],
    }],
    outputs: [
      { amount: BigInt(funding.funding_satoshis), script: p2wsh(script) },
      { amount: BigInt(funding.change_satoshis), script: p2wpkh(pub) },
    ],
  };
}

Deno.test("Appendix B: funding tx rebuilt and signed (P2PKH, RFC 6979) byte for byte", () => {
  const pub = publicKey(COINBASE_KEY);
  // The input really is block 1's coinbase output, paying P2PKH to this key.
  const coinbase = decodeTx(fromHex(funding.block1_coinbase_tx_hex));
  strictEqual(txidHex(coinbase), funding.input_txid);
  strictEqual(toHex(coinbase.outputs[0].script), toHex(p2pkh(pub)));
  strictEqual(coinbase.outputs[0].amount, BigInt(funding.input_satoshis));

  const tx = unsignedFundingTx();
  const sig = signP2pkhInput(tx, 0, { secretKey: COINBASE_KEY });
  strictEqual(verifyP2pkhInput(tx, 0, { publicKey: pub, signature: sig }), true);
  const signed: Tx = {
    ...tx,
    inputs: [{ ...tx.inputs[0], scriptSig: p2pkhScriptSig(sig, pub) }],
  };
  strictEqual(toHex(encodeTx(signed)), funding.funding_tx_hex);
  strictEqual(txidHex(signed), funding.funding_txid);
  // The fee: input minus outputs.
  strictEqual(
    BigInt(funding.input_satoshis) - BigInt(funding.funding_satoshis) -
      BigInt(funding.change_satoshis),
    13920n,
  );
});

Deno.test("P2PKH verification rejects tampering", () => {
  const pub = publicKey(COINBASE_KEY);
  const tx = unsignedFundingTx();
  const sig = signP2pkhInput(tx, 0, { secretKey: COINBASE_KEY });
  const bad = sig.slice();
  bad[8] ^= 1;
  strictEqual(verifyP2pkhInput(tx, 0, { publicKey: pub, signature: bad }), false);
  const other = { ...tx, locktime: 1 };
  strictEqual(verifyP2pkhInput(other, 0, { publicKey: pub, signature: sig }), false);
  const wrongType = sig.slice();
  wrongType[wrongType.length - 1] = 0x02;
  strictEqual(verifyP2pkhInput(tx, 0, { publicKey: pub, signature: wrongType }), false);
  strictEqual(verifyP2pkhInput(tx, 1, { publicKey: pub, signature: sig }), false);
});

/** A two-input segwit transaction to sign. */
function twoInputTx(): Tx {
  const mk = (n: number) => ({
    txid: new Uint8Array(32).fill(n),
    vout: n,
    scriptSig: new Uint8Array(),
    sequence: 0xfffffffd,
    witness: [],
  });
  return {
    version: 2,
    locktime: 0,
    inputs: [mk(1), mk(2)],
    outputs: [
      { amount: 1000n, script: p2wpkh(publicKey(COINBASE_KEY)) },
      { amount: 2000n, script: p2wsh(Uint8Array.of(0x51)) },
    ],
  };
}

Deno.test("segwit v0: sign and verify with every sighash type; strict sighash check", () => {
  const key = new Uint8Array(32).fill(7);
  const pub = publicKey(key);
  const tx = twoInputTx();
  const scriptCode = p2wpkhScriptCode(pub);
  for (const type of [0x01, 0x02, 0x03, 0x81, 0x82, 0x83]) {
    const sig = signSegwitV0Input(tx, 1, {
      scriptCode,
      amount: 5000n,
      secretKey: key,
      sighashType: type,
    });
    strictEqual(sig[sig.length - 1], type);
    const v = { scriptCode, amount: 5000n, publicKey: pub, signature: sig };
    strictEqual(verifySegwitV0Input(tx, 1, v), true, `type ${type}`);
    strictEqual(verifySegwitV0Input(tx, 1, { ...v, sighashType: type }), true);
    strictEqual(verifySegwitV0Input(tx, 1, { ...v, sighashType: type ^ 0x80 }), false);
    strictEqual(verifySegwitV0Input(tx, 1, { ...v, amount: 5001n }), false);
    strictEqual(verifySegwitV0Input(tx, 0, v), false);
  }
  // Deterministic.
  const a = signSegwitV0Input(tx, 0, { scriptCode, amount: 1n, secretKey: key });
  const b = signSegwitV0Input(tx, 0, { scriptCode, amount: 1n, secretKey: key });
  strictEqual(toHex(a), toHex(b));
  // SIGHASH_SINGLE|ANYONECANPAY commits to neither the other input nor the other output.
  const acp = signSegwitV0Input(tx, 0, {
    scriptCode,
    amount: 1n,
    secretKey: key,
    sighashType: SIGHASH.SINGLE_ANYONECANPAY,
  });
  const changed: Tx = { ...tx, inputs: [tx.inputs[0]], outputs: [tx.outputs[0]] };
  strictEqual(
    verifySegwitV0Input(changed, 0, { scriptCode, amount: 1n, publicKey: pub, signature: acp }),
    true,
  );
  strictEqual(
    verifySegwitV0Input(changed, 0, { scriptCode, amount: 1n, publicKey: pub, signature: a }),
    false,
  );
});

Deno.test("segwit v0: low-R grinding, malformed input", () => {
  const key = new Uint8Array(32).fill(9);
  const pub = publicKey(key);
  const tx = twoInputTx();
  const scriptCode = p2wpkhScriptCode(pub);
  for (let amount = 1n; amount <= 16n; amount++) {
    const sig = signSegwitV0Input(tx, 0, { scriptCode, amount, secretKey: key, lowR: true });
    strictEqual(sig[3], 0x20, "r is 32 bytes without padding");
    strictEqual(sig[4] < 0x80, true);
    strictEqual(
      verifySegwitV0Input(tx, 0, { scriptCode, amount, publicKey: pub, signature: sig }),
      true,
    );
  }
  throws(
    () => signSegwitV0Input(tx, 0, { scriptCode, amount: 1n, secretKey: key, sighashType: 0x04 }),
    SignError,
  );
  const v = { scriptCode, amount: 1n, publicKey: pub };
  strictEqual(verifySegwitV0Input(tx, 0, { ...v, signature: new Uint8Array() }), false);
  strictEqual(verifySegwitV0Input(tx, 0, { ...v, signature: Uint8Array.of(0x30, 0x01) }), false);
  strictEqual(verifySegwitV0Input(tx, 7, { ...v, signature: Uint8Array.of(0x30, 0x01) }), false);
});

Deno.test("withWitness copies and sets one input's witness", () => {
  const tx = twoInputTx();
  const w = [Uint8Array.of(1), Uint8Array.of(2, 3)];
  const out = withWitness(tx, 1, w);
  deepStrictEqual(out.inputs[1].witness.map(toHex), ["01", "0203"]);
  deepStrictEqual(out.inputs[0].witness, []);
  deepStrictEqual(tx.inputs[1].witness, []);
  w[0][0] = 9;
  strictEqual(out.inputs[1].witness[0][0], 1);
  strictEqual(toHex(txid(out)), toHex(txid(tx)));
  throws(() => withWitness(tx, 2, w), SignError);
});
