import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  compactSize,
  decodeTx,
  encodeTx,
  SIGHASH,
  sighashLegacy,
  sighashSegwitV0,
  stripSignatures,
  type Tx,
  TxError,
  txid,
  txidHex,
  weight,
} from "../../../core/bitcoin/tx.ts";
import { p2sh, p2wpkh, p2wpkhScriptCode, p2wsh } from "../../../core/bitcoin/script.ts";
import { concat, fromHex, reverse, toHex } from "../../../core/bytes.ts";
import {
  derDecode,
  derEncode,
  ecdsaRecover,
  ecdsaSign,
  ecdsaVerify,
  ecdsaVerifyDer,
  publicKey,
  sha256d,
} from "../../../core/crypto/mod.ts";

/** DER (no sighash byte) of RFC 6979 ECDSA, as Bitcoin Core signed the BIP-143 examples. */
const signDer = (digest: Uint8Array, secret: string) =>
  toHex(derEncode(ecdsaSign(digest, fromHex(secret))));

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

// ---------------------------------------------------------------------------------------------
// BIP-143 examples (bitcoin/bips bip-0143.mediawiki, "Example")

const P2WPKH = {
  unsigned:
    "0100000002fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f0000000000eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df378db99f66f85c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2d50ce2f0167faa815988ac11000000",
  signed:
    "01000000000102fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f00000000494830450221008b9d1dc26ba6a9cb62127b02742fa9d754cd3bebf337f7a55d114c8e5cdd30be022040529b194ba3f9281a99f2b1c0a19c0489bc22ede944ccf4ecbab4cc618ef3ed01eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df378db99f66f85c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2d50ce2f0167faa815988ac000247304402203609e17b84f6a7d30c80bfa610b5b4542f32a8a0d5447a12fb1366d7f01cc44a0220573a954c4518331561406f90300e8f3358f51928d43c212a8caed02de67eebee0121025476c2e83188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee635711000000",
};

Deno.test("BIP-143 native P2WPKH: sighash, signature and the legacy P2PK input", () => {
  const tx = decodeTx(fromHex(P2WPKH.unsigned));
  strictEqual(tx.version, 1);
  strictEqual(tx.locktime, 0x11);
  strictEqual(tx.inputs[0].sequence, 0xffffffee);
  deepStrictEqual(tx.outputs.map((o) => o.amount), [112340000n, 223450000n]);
  strictEqual(
    toHex(tx.inputs[0].txid),
    "fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f",
  );
  const pubkey = fromHex("025476c2e83188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee6357");
  strictEqual(toHex(p2wpkh(pubkey)), "00141d0f172a0ecb48aee1be1f2687d2963ae33f71a1");
  const scriptCode = p2wpkhScriptCode(pubkey);
  strictEqual(toHex(scriptCode), "76a9141d0f172a0ecb48aee1be1f2687d2963ae33f71a188ac");
  const digest = sighashSegwitV0(tx, 1, { scriptCode, amount: 600000000n });
  strictEqual(toHex(digest), "c37af31116d1b27caf68aae9e3ac82f1477929014d5b917657d0eb49478cb670");
  strictEqual(
    signDer(digest, "619c335025c7f4012e556c2a58b2506e30b8511b53ade95ea316fd8c3286feb9"),
    "304402203609e17b84f6a7d30c80bfa610b5b4542f32a8a0d5447a12fb1366d7f01cc44a0220573a954c4518331561406f90300e8f3358f51928d43c212a8caed02de67eebee",
  );
  // Input 0 spends a P2PK output: the legacy sighash with that script as scriptCode.
  const legacy = sighashLegacy(
    tx,
    0,
    fromHex("2103c9f4836b9a4f77fc0d81f7bcb01b7f1b35916864b9476c241ce9fc198bd25432ac"),
  );
  strictEqual(
    signDer(legacy, "bbc27228ddcb9209d7fd6f36b02f7dfa6252af40bb2f1cbc7a557da8027ff866"),
    "30450221008b9d1dc26ba6a9cb62127b02742fa9d754cd3bebf337f7a55d114c8e5cdd30be022040529b194ba3f9281a99f2b1c0a19c0489bc22ede944ccf4ecbab4cc618ef3ed",
  );
  // The signed transaction: decode/encode round trip, and it is the unsigned one plus signatures.
  const signed = decodeTx(fromHex(P2WPKH.signed));
  strictEqual(toHex(encodeTx(signed)), P2WPKH.signed);
  deepStrictEqual(stripSignatures(signed), tx);
  strictEqual(signed.inputs[1].witness.length, 2);
  strictEqual(toHex(signed.inputs[1].witness[1]), toHex(pubkey));
  strictEqual(toHex(txid(signed)), toHex(sha256d(encodeTx(signed, { witness: false }))));
  strictEqual(txidHex(signed), toHex(reverse(txid(signed))));
});

Deno.test("BIP-143 P2SH-P2WPKH: sighash and signature", () => {
  const tx = decodeTx(fromHex(
    "0100000001db6b1b20aa0fd7b23880be2ecbd4a98130974cf4748fb66092ac4d3ceb1a54770100000000feffffff02b8b4eb0b000000001976a914a457b684d7f0d539a46a45bbc043f35b59d0d96388ac0008af2f000000001976a914fd270b1ee6abcaea97fea7ad0402e8bd8ad6d77c88ac92040000",
  ));
  const pubkey = fromHex("03ad1d8e89212f0b92c74d23bb710c00662ad1470198ac48c43f7d6f93a2a26873");
  const redeemScript = p2wpkh(pubkey);
  strictEqual(toHex(redeemScript), "001479091972186c449eb1ded22b78e40d009bdf0089");
  strictEqual(toHex(p2sh(redeemScript)), "a9144733f37cf4db86fbc2efed2500b4f4e49f31202387");
  const digest = sighashSegwitV0(tx, 0, {
    scriptCode: p2wpkhScriptCode(pubkey),
    amount: 1000000000n,
    sighashType: SIGHASH.ALL,
  });
  strictEqual(toHex(digest), "64f3b0f4dd2bb3aa1ce8566d220cc74dda9df97d8490cc81d89d735c92e59fb6");
  strictEqual(
    signDer(digest, "eb696a065ef48a2192da5b28b694f87544b30fae8327c4510137a922f32c6dcf"),
    "3044022047ac8e878352d3ebbde1c94ce3a10d057c24175747116f8288e5d794d12d482f0220217f36a485cae903c713331d877c1f64677e3622ad4010726870540656fe9dcb",
  );
  const signedHex =
    "01000000000101db6b1b20aa0fd7b23880be2ecbd4a98130974cf4748fb66092ac4d3ceb1a5477010000001716001479091972186c449eb1ded22b78e40d009bdf0089feffffff02b8b4eb0b000000001976a914a457b684d7f0d539a46a45bbc043f35b59d0d96388ac0008af2f000000001976a914fd270b1ee6abcaea97fea7ad0402e8bd8ad6d77c88ac02473044022047ac8e878352d3ebbde1c94ce3a10d057c24175747116f8288e5d794d12d482f0220217f36a485cae903c713331d877c1f64677e3622ad4010726870540656fe9dcb012103ad1d8e89212f0b92c74d23bb710c00662ad1470198ac48c43f7d6f93a2a2687392040000";
  const signed = decodeTx(fromHex(signedHex));
  strictEqual(toHex(encodeTx(signed)), signedHex);
  strictEqual(toHex(signed.inputs[0].scriptSig), "16" + toHex(redeemScript));
  // txid excludes the witness; the full serialization is 2 marker/flag bytes + witness longer.
  const base = encodeTx(signed, { witness: false });
  strictEqual(base.length, signedHex.length / 2 - 2 - 107); // witness: 02 47<71> 21<33>
  strictEqual(weight(signed), 3 * base.length + signedHex.length / 2);
  strictEqual(weight(signed), 3 * 142 + 251);
});

Deno.test("BIP-143 native P2WSH: SIGHASH_SINGLE without a matching output, OP_CODESEPARATOR", () => {
  const tx = decodeTx(fromHex(
    "0100000002fe3dc9208094f3ffd12645477b3dc56f60ec4fa8e6f5d67c565d1c6b9216b36e0000000000ffffffff0815cf020f013ed6cf91d29f4202e8a58726b1ac6c79da47c23d1bee0a6925f80000000000ffffffff0100f2052a010000001976a914a30741f8145e5acadf23f751864167f32e0963f788ac00000000",
  ));
  const witnessScript = fromHex(
    "21026dccc749adc2a9d0d89497ac511f760f45c47dc5ed9cf352a58ac706453880aeadab210255a9626aebf5e29c0e6538428ba0d1dcf6ca98ffdf086aa8ced5e0d0215ea465ac",
  );
  strictEqual(
    toHex(p2wsh(witnessScript)),
    "00205d1b56b63d714eebe542309525f484b7e9d6f686b3781b6f61ef925d66d6f6a0",
  );
  const amount = 4900000000n;
  const first = sighashSegwitV0(tx, 1, { scriptCode: witnessScript, amount, sighashType: 3 });
  strictEqual(toHex(first), "82dde6e4f1e94d02c2b7ad03d2115d691f48d064e9d52f58194a6637e4194391");
  strictEqual(
    signDer(first, "8e02b539b1500aa7c81cf3fed177448a546f19d2be416c0c61ff28e577d8d0cd"),
    "3044022027dc95ad6b740fe5129e7e62a75dd00f291a2aeb1200b84b09d9e3789406b6c002201a9ecd315dd6a0e632ab20bbb98948bc0c6fb204f2c286963bb48517a7058e27",
  );
  // After the executed OP_CODESEPARATOR the scriptCode is the rest of the script.
  const afterSeparator = witnessScript.subarray(witnessScript.indexOf(0xab) + 1);
  const second = sighashSegwitV0(tx, 1, { scriptCode: afterSeparator, amount, sighashType: 3 });
  strictEqual(toHex(second), "fef7bd749cce710c5c052bd796df1af0d935e59cea63736268bcbe2d2134fc47");
  strictEqual(
    signDer(second, "86bf2ed75935a0cbef03b89d72034bb4c189d381037a5ac121a70016db8896ec"),
    "304402200de66acf4527789bfda55fc5459e214fa6083f936b430a762c629656216805ac0220396f550692cd347171cbc1ef1f51e15282e837bb2b30860dc77c8f78bc8501e5",
  );
  // Input 0 spends a P2PK output with SIGHASH_ALL (legacy).
  const legacy = sighashLegacy(
    tx,
    0,
    fromHex("21036d5c20fa14fb2f635474c1dc4ef5909d4568e5569b79fc94d3448486e14685f8ac"),
  );
  strictEqual(
    signDer(legacy, "b8f28a772fccbf9b4f58a4f027e07dc2e35e7cd80529975e292ea34f84c4580c"),
    "304402200af4e47c9b9629dbecc21f73af989bdaa911f7e6f6c2e9394588a3aa68f81e9902204f3fcf6ade7e5abb1295b6774c8e0abd94ae62217367096bc02ee5e435b67da2",
  );
  const signedHex =
    "01000000000102fe3dc9208094f3ffd12645477b3dc56f60ec4fa8e6f5d67c565d1c6b9216b36e000000004847304402200af4e47c9b9629dbecc21f73af989bdaa911f7e6f6c2e9394588a3aa68f81e9902204f3fcf6ade7e5abb1295b6774c8e0abd94ae62217367096bc02ee5e435b67da201ffffffff0815cf020f013ed6cf91d29f4202e8a58726b1ac6c79da47c23d1bee0a6925f80000000000ffffffff0100f2052a010000001976a914a30741f8145e5acadf23f751864167f32e0963f788ac000347304402200de66acf4527789bfda55fc5459e214fa6083f936b430a762c629656216805ac0220396f550692cd347171cbc1ef1f51e15282e837bb2b30860dc77c8f78bc8501e503473044022027dc95ad6b740fe5129e7e62a75dd00f291a2aeb1200b84b09d9e3789406b6c002201a9ecd315dd6a0e632ab20bbb98948bc0c6fb204f2c286963bb48517a7058e27034721026dccc749adc2a9d0d89497ac511f760f45c47dc5ed9cf352a58ac706453880aeadab210255a9626aebf5e29c0e6538428ba0d1dcf6ca98ffdf086aa8ced5e0d0215ea465ac00000000";
  const signed = decodeTx(fromHex(signedHex));
  strictEqual(toHex(encodeTx(signed)), signedHex);
  deepStrictEqual(signed.inputs[0].witness, []);
  deepStrictEqual(stripSignatures(signed), tx);
});

Deno.test("BIP-143 native P2WSH: SINGLE|ANYONECANPAY does not commit to the input index", () => {
  const unsignedHex =
    "0100000002e9b542c5176808107ff1df906f46bb1f2583b16112b95ee5380665ba7fcfc0010000000000ffffffff80e68831516392fcd100d186b3c2c7b95c80b53c77e77c35ba03a66b429a2a1b0000000000ffffffff0280969800000000001976a914de4b231626ef508c9a74a8517e6783c0546d6b2888ac80969800000000001976a9146648a8cd4531e1ec47f35916de8e259237294d1e88ac00000000";
  const tx = decodeTx(fromHex(unsignedHex));
  const scriptA = fromHex(
    "0063ab68210392972e2eb617b2388771abe27235fd5ac44af8e61693261550447a4c3e39da98ac",
  );
  const scriptB = fromHex(
    "5163ab68210392972e2eb617b2388771abe27235fd5ac44af8e61693261550447a4c3e39da98ac",
  );
  strictEqual(
    toHex(p2wsh(scriptA)),
    "0020ba468eea561b26301e4cf69fa34bde4ad60c81e70f059f045ca9a79931004a4d",
  );
  strictEqual(
    toHex(p2wsh(scriptB)),
    "0020d9bbfbe56af7c4b7f960a70d7ea107156913d9e5a26b0a71429df5e097ca6537",
  );
  const amount = 16777215n;
  const type = SIGHASH.SINGLE_ANYONECANPAY;
  strictEqual(type, 0x83);
  const a = sighashSegwitV0(tx, 0, { scriptCode: scriptA, amount, sighashType: type });
  strictEqual(toHex(a), "e9071e75e25b8a1e298a72f0d2e9f4f95a0f5cdf86a533cda597eb402ed13b3a");
  // The unexecuted OP_CODESEPARATOR stays; the executed one cuts the script after it.
  const b = sighashSegwitV0(tx, 1, { scriptCode: scriptB.subarray(3), amount, sighashType: type });
  strictEqual(toHex(b), "cd72f1f1a433ee9df816857fad88d8ebd97e09a75cd481583eb841c330275e54");
  const key = "f52b3484edd96598e02a9c89c4492e9c1e2031f471c49fd721fe68b3ce37780d";
  strictEqual(
    signDer(a, key),
    "3045022100f6a10b8604e6dc910194b79ccfc93e1bc0ec7c03453caaa8987f7d6c3413566002206216229ede9b4d6ec2d325be245c5b508ff0339bf1794078e20bfe0babc7ffe6",
  );
  strictEqual(
    signDer(b, key),
    "30440220032521802a76ad7bf74d0e2c218b72cf0cbc867066e2e53db905ba37f130397e02207709e2188ed7f08f4c952d9d13986da504502b8c3be59617e043552f506c46ff",
  );
  // The BIP's transaction with the input-output pairs swapped: same digests at swapped indices.
  const swappedHex =
    "0100000000010280e68831516392fcd100d186b3c2c7b95c80b53c77e77c35ba03a66b429a2a1b0000000000ffffffffe9b542c5176808107ff1df906f46bb1f2583b16112b95ee5380665ba7fcfc0010000000000ffffffff0280969800000000001976a9146648a8cd4531e1ec47f35916de8e259237294d1e88ac80969800000000001976a914de4b231626ef508c9a74a8517e6783c0546d6b2888ac024730440220032521802a76ad7bf74d0e2c218b72cf0cbc867066e2e53db905ba37f130397e02207709e2188ed7f08f4c952d9d13986da504502b8c3be59617e043552f506c46ff83275163ab68210392972e2eb617b2388771abe27235fd5ac44af8e61693261550447a4c3e39da98ac02483045022100f6a10b8604e6dc910194b79ccfc93e1bc0ec7c03453caaa8987f7d6c3413566002206216229ede9b4d6ec2d325be245c5b508ff0339bf1794078e20bfe0babc7ffe683270063ab68210392972e2eb617b2388771abe27235fd5ac44af8e61693261550447a4c3e39da98ac00000000";
  const swapped = decodeTx(fromHex(swappedHex));
  strictEqual(toHex(encodeTx(swapped)), swappedHex);
  strictEqual(
    toHex(sighashSegwitV0(swapped, 1, { scriptCode: scriptA, amount, sighashType: type })),
    toHex(a),
  );
  strictEqual(
    toHex(
      sighashSegwitV0(swapped, 0, { scriptCode: scriptB.subarray(3), amount, sighashType: type }),
    ),
    toHex(b),
  );
  const signedHex =
    "01000000000102e9b542c5176808107ff1df906f46bb1f2583b16112b95ee5380665ba7fcfc0010000000000ffffffff80e68831516392fcd100d186b3c2c7b95c80b53c77e77c35ba03a66b429a2a1b0000000000ffffffff0280969800000000001976a914de4b231626ef508c9a74a8517e6783c0546d6b2888ac80969800000000001976a9146648a8cd4531e1ec47f35916de8e259237294d1e88ac02483045022100f6a10b8604e6dc910194b79ccfc93e1bc0ec7c03453caaa8987f7d6c3413566002206216229ede9b4d6ec2d325be245c5b508ff0339bf1794078e20bfe0babc7ffe683270063ab68210392972e2eb617b2388771abe27235fd5ac44af8e61693261550447a4c3e39da98ac024730440220032521802a76ad7bf74d0e2c218b72cf0cbc867066e2e53db905ba37f130397e02207709e2188ed7f08f4c952d9d13986da504502b8c3be59617e043552f506c46ff83275163ab68210392972e2eb617b2388771abe27235fd5ac44af8e61693261550447a4c3e39da98ac00000000";
  strictEqual(toHex(encodeTx(decodeTx(fromHex(signedHex)))), signedHex);
  strictEqual(toHex(encodeTx(stripSignatures(decodeTx(fromHex(signedHex))))), unsignedHex);
});

Deno.test("BIP-143 P2SH-P2WSH 6-of-6: all six sighash types", () => {
  const tx = decodeTx(fromHex(
    "010000000136641869ca081e70f394c6948e8af409e18b619df2ed74aa106c1ca29787b96e0100000000ffffffff0200e9a435000000001976a914389ffce9cd9ae88dcc0631e88a821ffdbe9bfe2688acc0832f05000000001976a9147480a33f950689af511e6e84c138dbbd3c3ee41588ac00000000",
  ));
  const witnessScript = fromHex(
    "56210307b8ae49ac90a048e9b53357a2354b3334e9c8bee813ecb98e99a7e07e8c3ba32103b28f0c28bfab54554ae8c658ac5c3e0ce6e79ad336331f78c428dd43eea8449b21034b8113d703413d57761b8b9781957b8c0ac1dfe69f492580ca4195f50376ba4a21033400f6afecb833092a9a21cfdf1ed1376e58c5d1f47de74683123987e967a8f42103a6d48b1131e94ba04d9737d61acdaa1322008af9602b3b14862c07a1789aac162102d8b661b0b3302ee2f162b09e07a55ad5dfbe673a9f01d9f0c19617681024306b56ae",
  );
  const redeemScript = p2wsh(witnessScript);
  strictEqual(
    toHex(redeemScript),
    "0020a16b5755f7f6f96dbd65f5f0d6ab9418b89af4b1f14a1bb8a09062c35f0dcb54",
  );
  strictEqual(toHex(p2sh(redeemScript)), "a9149993a429037b5d912407a71c252019287b8d27a587");
  const cases: [number, string, string, string][] = [
    [
      SIGHASH.ALL,
      "185c0be5263dce5b4bb50a047973c1b6272bfbd0103a89444597dc40b248ee7c",
      "730fff80e1413068a05b57d6a58261f07551163369787f349438ea38ca80fac6",
      "304402206ac44d672dac41f9b00e28f4df20c52eeb087207e8d758d76d92c6fab3b73e2b0220367750dbbe19290069cba53d096f44530e4f98acaa594810388cf7409a1870ce",
    ],
    [
      SIGHASH.NONE,
      "e9733bc60ea13c95c6527066bb975a2ff29a925e80aa14c213f686cbae5d2f36",
      "11fa3d25a17cbc22b29c44a484ba552b5a53149d106d3d853e22fdd05a2d8bb3",
      "3044022068c7946a43232757cbdf9176f009a928e1cd9a1a8c212f15c1e11ac9f2925d9002205b75f937ff2f9f3c1246e547e54f62e027f64eefa2695578cc6432cdabce2715",
    ],
    [
      SIGHASH.SINGLE,
      "1e1f1c303dc025bd664acb72e583e933fae4cff9148bf78c157d1e8f78530aea",
      "77bf4141a87d55bdd7f3cd0bdccf6e9e642935fec45f2f30047be7b799120661",
      "3044022059ebf56d98010a932cf8ecfec54c48e6139ed6adb0728c09cbe1e4fa0915302e022007cd986c8fa870ff5d2b3a89139c9fe7e499259875357e20fcbb15571c767954",
    ],
    [
      SIGHASH.ALL | SIGHASH.ANYONECANPAY,
      "2a67f03e63a6a422125878b40b82da593be8d4efaafe88ee528af6e5a9955c6e",
      "14af36970f5025ea3e8b5542c0f8ebe7763e674838d08808896b63c3351ffe49",
      "3045022100fbefd94bd0a488d50b79102b5dad4ab6ced30c4069f1eaa69a4b5a763414067e02203156c6a5c9cf88f91265f5a942e96213afae16d83321c8b31bb342142a14d163",
    ],
    [
      SIGHASH.NONE | SIGHASH.ANYONECANPAY,
      "781ba15f3779d5542ce8ecb5c18716733a5ee42a6f51488ec96154934e2c890a",
      "fe9a95c19eef81dde2b95c1284ef39be497d128e2aa46916fb02d552485e0323",
      "3045022100a5263ea0553ba89221984bd7f0b13613db16e7a70c549a86de0cc0444141a407022005c360ef0ae5a5d4f9f2f87a56c1546cc8268cab08c73501d6b3be2e1e1a8a08",
    ],
    [
      SIGHASH.SINGLE | SIGHASH.ANYONECANPAY,
      "511e8e52ed574121fc1b654970395502128263f62662e076dc6baf05c2e6a99b",
      "428a7aee9f0c2af0cd19af3cf1c78149951ea528726989b2e83e4778d2c3f890",
      "30440220525406a1482936d5a21888260dc165497a90a15669636d8edca6b9fe490d309c022032af0c646a34a44d1f4576bf6a4a74b67940f8faa84c7df9abe12a01a11e2b47",
    ],
  ];
  for (const [type, digest, key, signature] of cases) {
    const h = sighashSegwitV0(tx, 0, {
      scriptCode: witnessScript,
      amount: 987654321n,
      sighashType: type,
    });
    strictEqual(toHex(h), digest, `sighash type 0x${type.toString(16)}`);
    strictEqual(signDer(h, key), signature, `sighash type 0x${type.toString(16)}`);
  }
  const signedHex =
    "0100000000010136641869ca081e70f394c6948e8af409e18b619df2ed74aa106c1ca29787b96e0100000023220020a16b5755f7f6f96dbd65f5f0d6ab9418b89af4b1f14a1bb8a09062c35f0dcb54ffffffff0200e9a435000000001976a914389ffce9cd9ae88dcc0631e88a821ffdbe9bfe2688acc0832f05000000001976a9147480a33f950689af511e6e84c138dbbd3c3ee41588ac080047304402206ac44d672dac41f9b00e28f4df20c52eeb087207e8d758d76d92c6fab3b73e2b0220367750dbbe19290069cba53d096f44530e4f98acaa594810388cf7409a1870ce01473044022068c7946a43232757cbdf9176f009a928e1cd9a1a8c212f15c1e11ac9f2925d9002205b75f937ff2f9f3c1246e547e54f62e027f64eefa2695578cc6432cdabce271502473044022059ebf56d98010a932cf8ecfec54c48e6139ed6adb0728c09cbe1e4fa0915302e022007cd986c8fa870ff5d2b3a89139c9fe7e499259875357e20fcbb15571c76795403483045022100fbefd94bd0a488d50b79102b5dad4ab6ced30c4069f1eaa69a4b5a763414067e02203156c6a5c9cf88f91265f5a942e96213afae16d83321c8b31bb342142a14d16381483045022100a5263ea0553ba89221984bd7f0b13613db16e7a70c549a86de0cc0444141a407022005c360ef0ae5a5d4f9f2f87a56c1546cc8268cab08c73501d6b3be2e1e1a8a08824730440220525406a1482936d5a21888260dc165497a90a15669636d8edca6b9fe490d309c022032af0c646a34a44d1f4576bf6a4a74b67940f8faa84c7df9abe12a01a11e2b4783cf56210307b8ae49ac90a048e9b53357a2354b3334e9c8bee813ecb98e99a7e07e8c3ba32103b28f0c28bfab54554ae8c658ac5c3e0ce6e79ad336331f78c428dd43eea8449b21034b8113d703413d57761b8b9781957b8c0ac1dfe69f492580ca4195f50376ba4a21033400f6afecb833092a9a21cfdf1ed1376e58c5d1f47de74683123987e967a8f42103a6d48b1131e94ba04d9737d61acdaa1322008af9602b3b14862c07a1789aac162102d8b661b0b3302ee2f162b09e07a55ad5dfbe673a9f01d9f0c19617681024306b56ae00000000";
  const signed = decodeTx(fromHex(signedHex));
  strictEqual(toHex(encodeTx(signed)), signedHex);
  strictEqual(signed.inputs[0].witness.length, 8);
  strictEqual(toHex(signed.inputs[0].witness[7]), toHex(witnessScript));
  // Each witness signature ends with the sighash type it was made with.
  deepStrictEqual(
    signed.inputs[0].witness.slice(1, 7).map((sig) => sig[sig.length - 1]),
    cases.map(([type]) => type),
  );
});

Deno.test("BIP-143 'No FindAndDelete': sighash, and the published high-S signature", () => {
  const tx = decodeTx(fromHex(
    "010000000169c12106097dc2e0526493ef67f21269fe888ef05c7a3a5dacab38e1ac8387f14c1d000000ffffffff0101000000000000000000000000",
  ));
  const scriptCode = fromHex(
    "ad4830450220487fb382c4974de3f7d834c1b617fe15860828c7f96454490edd6d891556dcc9022100baf95feb48f845d5bfc9882eb6aeefa1bc3790e39f59eaa46ff7f15ae626c53e01",
  );
  const digest = sighashSegwitV0(tx, 0, { scriptCode, amount: 200000n });
  strictEqual(toHex(digest), "71c9cd9b2869b9c70b01b1f0360c148f42dee72297db312638df136f43311f23");
  // The BIP made the public key by recovery from this signature and digest.
  const der = scriptCode.subarray(2, scriptCode.length - 1);
  const compact = derDecode(der);
  const pubkey = "02a9781d66b61fb5a7ef00ac5ad5bc6ffc78be7b44a566e3c87870e1079368df4c";
  const recovered = [0, 1, 2, 3].flatMap((id) => {
    try {
      return [toHex(ecdsaRecover(compact, id, digest))];
    } catch {
      return [];
    }
  });
  strictEqual(recovered.includes(pubkey), true);
  // Its S is high, so strict (low-S) verification refuses it; the low-S twin verifies.
  strictEqual(ecdsaVerifyDer(der, digest, fromHex(pubkey)), false);
  const s = BigInt("0x" + toHex(compact.subarray(32)));
  const lowS = concat(compact.subarray(0, 32), fromHex((N - s).toString(16).padStart(64, "0")));
  strictEqual(ecdsaVerify(lowS, digest, fromHex(pubkey)), true);
  const signedHex =
    "0100000000010169c12106097dc2e0526493ef67f21269fe888ef05c7a3a5dacab38e1ac8387f14c1d000000ffffffff01010000000000000000034830450220487fb382c4974de3f7d834c1b617fe15860828c7f96454490edd6d891556dcc9022100baf95feb48f845d5bfc9882eb6aeefa1bc3790e39f59eaa46ff7f15ae626c53e012102a9781d66b61fb5a7ef00ac5ad5bc6ffc78be7b44a566e3c87870e1079368df4c4aad4830450220487fb382c4974de3f7d834c1b617fe15860828c7f96454490edd6d891556dcc9022100baf95feb48f845d5bfc9882eb6aeefa1bc3790e39f59eaa46ff7f15ae626c53e0100000000";
  strictEqual(toHex(encodeTx(decodeTx(fromHex(signedHex)))), signedHex);
});

// ---------------------------------------------------------------------------------------------
// BOLT #3 Appendix B (tests/vectors/bolt3/funding.json)

const FUNDING = JSON.parse(
  Deno.readTextFileSync(new URL("../../vectors/bolt3/funding.json", import.meta.url)),
);

Deno.test("BOLT #3 funding tx: txid, legacy sighash of its P2PKH input, signature", () => {
  const tx = decodeTx(fromHex(FUNDING.funding_tx_hex));
  strictEqual(toHex(encodeTx(tx)), FUNDING.funding_tx_hex);
  strictEqual(txidHex(tx), FUNDING.funding_txid);
  strictEqual(txidHex(tx), "8984484a580b825b9972d7adb15050b3ab624ccd731946b3eeddb92f4e7ef6be");
  strictEqual(txidHex(tx), toHex(reverse(txid(tx))));
  strictEqual(toHex(tx.inputs[0].txid), toHex(reverse(fromHex(FUNDING.input_txid))));
  strictEqual(weight(tx), 4 * fromHex(FUNDING.funding_tx_hex).length);
  deepStrictEqual(tx.outputs.map((o) => o.amount), [10000000n, 4989986080n]);
  strictEqual(toHex(tx.outputs[0].script), toHex(p2wsh(fromHex(FUNDING.funding_witness_script))));

  // The input spends block 1's coinbase output (P2PKH); its scriptSig is <sig> <pubkey>.
  const coinbase = decodeTx(fromHex(FUNDING.block1_coinbase_tx_hex));
  strictEqual(txidHex(coinbase), FUNDING.input_txid);
  const scriptCode = coinbase.outputs[0].script;
  const scriptSig = tx.inputs[0].scriptSig;
  const der = scriptSig.subarray(1, 1 + scriptSig[0] - 1);
  strictEqual(scriptSig[scriptSig[0]], SIGHASH.ALL);
  const pubkey = scriptSig.subarray(scriptSig[0] + 2);
  strictEqual(toHex(pubkey), toHex(publicKey(fromHex(FUNDING.block1_coinbase_privkey_raw32))));
  const digest = sighashLegacy(tx, 0, scriptCode);
  strictEqual(ecdsaVerifyDer(der, digest, pubkey), true);
  strictEqual(
    toHex(derEncode(ecdsaSign(digest, fromHex(FUNDING.block1_coinbase_privkey_raw32)))),
    toHex(der),
  );
  // Any other scriptCode gives another digest, and the signature no longer verifies.
  strictEqual(
    ecdsaVerifyDer(der, sighashLegacy(tx, 0, concat(scriptCode, Uint8Array.of(0x51))), pubkey),
    false,
  );
});

Deno.test("BOLT #3 commitment txs: txids match the HTLC txs' prevouts, round trips", () => {
  const v = JSON.parse(
    Deno.readTextFileSync(new URL("../../vectors/bolt3/commitment-anchors.json", import.meta.url)),
  );
  let checked = 0;
  for (const tc of v.test_cases) {
    const commitment = decodeTx(fromHex(tc.commitment_tx_hex));
    strictEqual(toHex(encodeTx(commitment)), tc.commitment_tx_hex);
    strictEqual(toHex(commitment.inputs[0].txid), toHex(reverse(fromHex(v.channel.funding_txid))));
    for (const htlc of tc.htlc_txs) {
      const spend = decodeTx(fromHex(htlc.tx_hex));
      strictEqual(toHex(encodeTx(spend)), htlc.tx_hex);
      strictEqual(toHex(spend.inputs[0].txid), toHex(txid(commitment)), tc.name);
      strictEqual(spend.inputs[0].vout, htlc.commitment_output_index);
      checked++;
    }
  }
  strictEqual(checked, 15);
});

Deno.test("genesis coinbase (regtest block 0) has the well-known txid", () => {
  const block = fromHex(FUNDING.block0_genesis_hex);
  strictEqual(block[80], 1); // one transaction after the 80-byte header
  const coinbase = decodeTx(block.subarray(81));
  strictEqual(
    txidHex(coinbase),
    "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
  );
  // The header's merkle root is that txid (internal order).
  strictEqual(toHex(block.subarray(36, 68)), toHex(txid(coinbase)));
});

// ---------------------------------------------------------------------------------------------
// Codec edge cases

Deno.test("legacy and segwit round trips; txid ignores the witness; weight counts it once", () => {
  const legacyHex = FUNDING.funding_tx_hex;
  const legacy = decodeTx(fromHex(legacyHex));
  strictEqual(legacy.inputs.every((i) => i.witness.length === 0), true);
  strictEqual(toHex(encodeTx(legacy, { witness: false })), legacyHex);
  // For a transaction without witnesses, the full serialization is the txid serialization.
  strictEqual(toHex(sha256d(encodeTx(legacy))), toHex(txid(legacy)));
  const segwit = decodeTx(fromHex(P2WPKH.signed));
  const bare: Tx = { ...segwit, inputs: segwit.inputs.map((i) => ({ ...i, witness: [] })) };
  strictEqual(toHex(txid(segwit)), toHex(txid(bare)));
  // The witness data: marker+flag (2), input 0's empty stack (1), input 1's stack (107).
  strictEqual(encodeTx(segwit).length - encodeTx(bare).length, 2 + 1 + 107);
  strictEqual(weight(segwit) - weight(bare), 2 + 1 + 107);
  strictEqual(weight(bare), 4 * encodeTx(bare).length);
});

Deno.test("malformed transactions are refused with a TxError", () => {
  const bytes = fromHex(P2WPKH.signed);
  throws(() => decodeTx(concat(bytes, Uint8Array.of(0))), {
    name: "TxError",
    message: "malformed transaction: Reader(): 1 bytes 0 bits left after unpack: 00",
  });
  throws(() => decodeTx(bytes.subarray(0, bytes.length - 1)), {
    name: "TxError",
    message: "malformed transaction: Reader(lockTime): readView: Unexpected end of buffer",
  });
  throws(() => decodeTx(new Uint8Array()), (e: Error) => e instanceof TxError);
  // Marker and flag present but every witness empty: BIP-144 forbids it.
  const unsigned = fromHex(P2WPKH.unsigned);
  const emptyWitnesses = concat(
    unsigned.subarray(0, 4),
    fromHex("0001"),
    unsigned.subarray(4, unsigned.length - 4),
    fromHex("0000"),
    unsigned.subarray(unsigned.length - 4),
  );
  throws(() => decodeTx(emptyWitnesses), {
    name: "TxError",
    message: "malformed transaction: Reader(): Segwit flag with only empty witness fields",
  });
  const tx = decodeTx(unsigned);
  throws(
    () => encodeTx({ ...tx, outputs: [{ amount: -1n, script: new Uint8Array() }] }),
    (e: Error) => {
      strictEqual(e.name, "TxError");
      strictEqual(e.message.startsWith("cannot encode transaction: "), true);
      return true;
    },
  );
  throws(() => sighashSegwitV0(tx, 2, { scriptCode: new Uint8Array(), amount: 0n }), {
    name: "TxError",
    message: "input 2 does not exist",
  });
  throws(() => sighashLegacy(tx, 2, new Uint8Array()), {
    name: "TxError",
    message: "input 2 does not exist",
  });
});

Deno.test("stripSignatures copies; compactSize encodes every width", () => {
  const signed = decodeTx(fromHex(P2WPKH.signed));
  const stripped = stripSignatures(signed);
  strictEqual(signed.inputs[0].scriptSig.length, 0x49);
  strictEqual(signed.inputs[1].witness.length, 2);
  strictEqual(
    stripped.inputs.every((i) => i.scriptSig.length === 0 && i.witness.length === 0),
    true,
  );
  stripped.outputs[0].amount = 1n;
  strictEqual(signed.outputs[0].amount, 112340000n);
  const cases: [number, string][] = [
    [0, "00"],
    [0xfc, "fc"],
    [0xfd, "fdfd00"],
    [0xffff, "fdffff"],
    [0x10000, "fe00000100"],
    [0xffffffff, "feffffffff"],
    [0x100000000, "ff0000000001000000"],
  ];
  for (const [n, hex] of cases) strictEqual(toHex(compactSize(n)), hex, String(n));
  deepStrictEqual(SIGHASH, {
    ALL: 1,
    NONE: 2,
    SINGLE: 3,
    ANYONECANPAY: 0x80,
    SINGLE_ANYONECANPAY: 0x83,
  });
});
