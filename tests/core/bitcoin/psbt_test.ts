import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { base64, createBase58check } from "@scure/base";
import {
  checkSignerInput,
  createPsbt,
  decodePsbt,
  decodePsbtBase64,
  encodePsbt,
  encodePsbtBase64,
  type Psbt,
  PSBT_GLOBAL,
  PSBT_IN,
  PSBT_OUT,
  PsbtError,
  spentOutput,
  verifyNonWitnessUtxos,
} from "../../../core/bitcoin/psbt.ts";
import {
  decodeTx,
  encodeTx,
  sighashLegacy,
  sighashSegwitV0,
  stripSignatures,
  type Tx,
} from "../../../core/bitcoin/tx.ts";
import { p2wsh } from "../../../core/bitcoin/script.ts";
import { compare, concat, fromHex, toHex } from "../../../core/bytes.ts";
import {
  derEncode,
  ecdsaSign,
  ecdsaVerifyDer,
  publicKey,
  sha256,
} from "../../../core/crypto/mod.ts";
import {
  type Bip174Vector,
  FAILS_SIGNER_CHECKS,
  INVALID,
  UNKNOWN_COMBINE,
  VALID,
  WORKFLOW,
} from "./bip174_vectors.ts";

const WORKFLOW_PSBTS: Bip174Vector[] = [
  WORKFLOW.updated,
  WORKFLOW.signer1,
  WORKFLOW.signer2,
  WORKFLOW.combined,
  WORKFLOW.finalized,
];
const UNKNOWN_PSBTS: Bip174Vector[] = [
  UNKNOWN_COMBINE.a,
  UNKNOWN_COMBINE.b,
  UNKNOWN_COMBINE.combined,
];
const ALL_VALID = [...VALID, ...FAILS_SIGNER_CHECKS, ...WORKFLOW_PSBTS, ...UNKNOWN_PSBTS];

const psbtOf = (v: Bip174Vector): Psbt => decodePsbt(fromHex(v.hex));

/** The value of an optional field the test expects to be present. */
function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("expected field is missing");
  return value;
}

/** Every problem named, in the order of INVALID. */
const INVALID_ERRORS: Record<string, string> = {
  "Network transaction, not PSBT format":
    "not a PSBT: missing magic bytes 70736274ff ('psbt' 0xff)",
  "PSBT missing outputs": "PSBT ends before output map 0",
  "PSBT where one input has a filled scriptSig in the unsigned tx":
    "global: PSBT_GLOBAL_UNSIGNED_TX: input 0 has a non-empty scriptSig",
  "PSBT where inputs and outputs are provided but without an unsigned tx":
    "global: missing PSBT_GLOBAL_UNSIGNED_TX",
  "PSBT with duplicate keys in an input": "input 0: duplicate key 00 (PSBT_IN_NON_WITNESS_UTXO)",
  "PSBT with invalid global transaction typed key":
    "global: PSBT_GLOBAL_UNSIGNED_TX key must have no key data",
  "PSBT with invalid input witness utxo typed key":
    "input 0: PSBT_IN_WITNESS_UTXO key must have no key data",
  "PSBT with invalid pubkey length for input partial signature typed key":
    "input 0: PSBT_IN_PARTIAL_SIG key: public key must be 33 or 65 bytes, got 32",
  "PSBT with invalid redeemscript typed key":
    "input 0: PSBT_IN_REDEEM_SCRIPT key must have no key data",
  "PSBT with invalid witnessscript typed key":
    "input 0: PSBT_IN_WITNESS_SCRIPT key must have no key data",
  "PSBT with invalid pubkey in input BIP 32 derivation paths typed key":
    "input 0: PSBT_IN_BIP32_DERIVATION key: public key must be 33 or 65 bytes, got 32",
  "PSBT with invalid non-witness utxo typed key":
    "input 0: PSBT_IN_NON_WITNESS_UTXO key must have no key data",
  "PSBT with invalid final scriptsig typed key":
    "input 0: PSBT_IN_FINAL_SCRIPTSIG key must have no key data",
  "PSBT with invalid final script witness typed key":
    "input 1: PSBT_IN_FINAL_SCRIPTWITNESS key must have no key data",
  "PSBT with invalid pubkey in output BIP 32 derivation paths typed key":
    "output 0: PSBT_OUT_BIP32_DERIVATION key: public key must be 33 or 65 bytes, got 32",
  "PSBT with invalid input sighash type typed key":
    "input 0: PSBT_IN_SIGHASH_TYPE key must have no key data",
  "PSBT with invalid output redeemScript typed key":
    "output 0: PSBT_OUT_REDEEM_SCRIPT key must have no key data",
  "PSBT with invalid output witnessScript typed key":
    "output 1: PSBT_OUT_WITNESS_SCRIPT key must have no key data",
  "PSBT with unsigned tx serialized with witness serialization format":
    "global: PSBT_GLOBAL_UNSIGNED_TX: transaction is in the witness serialization (BIP-144)",
};

Deno.test("BIP-174 vectors: the hex and Base64 copies agree", () => {
  const all = [...INVALID, ...ALL_VALID];
  strictEqual(all.length, 19 + 10 + 4 + 5 + 3);
  for (const v of all) strictEqual(toHex(base64.decode(v.base64)), v.hex, v.name);
});

Deno.test("BIP-174 invalid vectors: each is rejected with a PsbtError naming the problem", () => {
  strictEqual(Object.keys(INVALID_ERRORS).length, INVALID.length);
  for (const v of INVALID) {
    const message = INVALID_ERRORS[v.name];
    throws(() => decodePsbt(fromHex(v.hex)), { name: "PsbtError", message }, v.name);
    throws(() => decodePsbtBase64(v.base64), { name: "PsbtError", message }, v.name);
  }
});

Deno.test("BIP-174 valid vectors: decode then encode reproduces the bytes exactly", () => {
  for (const v of ALL_VALID) {
    strictEqual(toHex(encodePsbt(psbtOf(v))), v.hex, v.name);
    strictEqual(encodePsbtBase64(decodePsbtBase64(v.base64)), v.base64, v.name);
  }
});

Deno.test("decoded fields: P2SH-P2WSH 2-of-2 with one signature (BIP-174 valid case 5)", () => {
  const p = psbtOf(VALID[4]);
  strictEqual(p.inputs.length, 1);
  strictEqual(p.outputs.length, 1);
  strictEqual(p.tx.version, 2);
  strictEqual(
    toHex(p.tx.inputs[0].txid.slice().reverse()),
    toHex(fromHex(
      "39bc5c3b33d66ce3d7852a7942331e3ec10f8ba50f225fc41fb5dfa523239a27",
    )),
  );
  const input = p.inputs[0];
  deepStrictEqual(input.witnessUtxo, {
    amount: 199909013n,
    script: fromHex("a9146345200f68d189e1adc0df1c4d16ea8f14c0dbeb87"),
  });
  strictEqual(input.nonWitnessUtxo, undefined);
  strictEqual(input.partialSigs.length, 1);
  strictEqual(
    toHex(input.partialSigs[0].pubkey),
    "03b1341ccba7683b6af4f1238cd6e97e7167d569fac47f1e48d47541844355bd46",
  );
  strictEqual(
    toHex(input.partialSigs[0].signature),
    "304302200424b58effaaa694e1559ea5c93bbfd4a89064224055cdf070b6771469442d07021f5c8eb0fea6516d60b8acb33ad64ede60e8785bfb3aa94b99bdf86151db9a9a01",
  );
  strictEqual(
    toHex(must(input.redeemScript)),
    "0020771fd18ad459666dd49f3d564e3dbc42f4c84774e360ada16816a8ed488d5681",
  );
  strictEqual(
    toHex(must(input.witnessScript)),
    "522103b1341ccba7683b6af4f1238cd6e97e7167d569fac47f1e48d47541844355bd462103de55d1e1dac805e3f8a58c1fbf9b94c02f3dbaafe127fefca4995f26f82083bd52ae",
  );
  deepStrictEqual(
    input.bip32Derivation.map((d) => [toHex(d.pubkey), d.fingerprint, d.path]),
    [
      [
        "03b1341ccba7683b6af4f1238cd6e97e7167d569fac47f1e48d47541844355bd46",
        0xb4a6ba67,
        [0x80000000, 0x80000000, 0x80000004],
      ],
      [
        "03de55d1e1dac805e3f8a58c1fbf9b94c02f3dbaafe127fefca4995f26f82083bd",
        0xb4a6ba67,
        [0x80000000, 0x80000000, 0x80000005],
      ],
    ],
  );
  strictEqual(input.sighashType, undefined);
  deepStrictEqual(input.unknowns, []);
  deepStrictEqual(p.outputs[0], { bip32Derivation: [], tapBip32Derivation: [], unknowns: [] });
  deepStrictEqual(p.unknownGlobals, []);
  // The redeemScript and witnessScript hash to the scriptPubKey.
  deepStrictEqual(checkSignerInput(p, 0), input.witnessUtxo);
});

Deno.test("decoded fields: unknown records and global xpubs are kept in order", () => {
  const unknown = psbtOf(VALID[6]);
  deepStrictEqual(unknown.inputs[0].unknowns, [{
    keyType: 0xf0,
    keyData: fromHex("010203040506070809"),
    value: fromHex("0102030405060708090a0b0c0d0e0f"),
  }]);
  const xpubs = psbtOf(VALID[5]).unknownGlobals;
  deepStrictEqual(xpubs.map((kv) => [kv.keyType, kv.keyData.length, toHex(kv.value)]), [
    [PSBT_GLOBAL.XPUB, 78, "d90c6a4fae00008000000080"],
    [PSBT_GLOBAL.XPUB, 78, "d90c6a4fae00008001000080"],
  ]);
  const empty = psbtOf(VALID[8]);
  deepStrictEqual(empty, {
    tx: { version: 0, inputs: [], outputs: [], locktime: 0 },
    inputs: [],
    outputs: [],
    unknownGlobals: [],
  });
  strictEqual(psbtOf(VALID[9]).tx.outputs.length, 2);
  const sighash = psbtOf(VALID[2]);
  strictEqual(sighash.inputs[0].sighashType, 1);
  const finalized = psbtOf(VALID[1]);
  strictEqual(must(finalized.inputs[0].finalScriptSig).length, 0x6a);
  strictEqual(finalized.inputs[0].finalScriptWitness, undefined);
  strictEqual(toHex(must(psbtOf(WORKFLOW.finalized).inputs[1].finalScriptWitness)[0]), "");
  strictEqual(must(psbtOf(WORKFLOW.finalized).inputs[1].finalScriptWitness).length, 4);
});

function wifSecret(wif: string): Uint8Array {
  const payload = createBase58check(sha256).decode(wif);
  strictEqual(payload.length, 34); // 0xef version, 32-byte key, 0x01 "compressed"
  strictEqual(payload[0], 0xef);
  strictEqual(payload[33], 0x01);
  return payload.slice(1, 33);
}

/** A BIP-174 "simple signer": SIGHASH_ALL, P2SH multisig (legacy) and P2SH-P2WSH inputs. */
function sign(psbt: Psbt, wifs: string[]): void {
  const keys = wifs.map(wifSecret);
  psbt.inputs.forEach((input, index) => {
    const spent = checkSignerInput(psbt, index);
    for (const secret of keys) {
      const pubkey = publicKey(secret);
      if (!input.bip32Derivation.some((d) => toHex(d.pubkey) === toHex(pubkey))) continue;
      strictEqual(input.sighashType, 1);
      const digest = input.witnessScript
        ? sighashSegwitV0(psbt.tx, index, { scriptCode: input.witnessScript, amount: spent.amount })
        : sighashLegacy(psbt.tx, index, must(input.redeemScript));
      const signature = concat(derEncode(ecdsaSign(digest, secret)), Uint8Array.of(1));
      input.partialSigs.push({ pubkey, signature });
    }
  });
}

Deno.test("BIP-174 signer vectors: RFC 6979 signatures reproduce both signers' PSBTs", () => {
  const one = psbtOf(WORKFLOW.updated);
  sign(one, WORKFLOW.signerKeys.signer1);
  strictEqual(toHex(encodePsbt(one)), WORKFLOW.signer1.hex);
  const two = psbtOf(WORKFLOW.updated);
  sign(two, WORKFLOW.signerKeys.signer2);
  strictEqual(toHex(encodePsbt(two)), WORKFLOW.signer2.hex);
});

Deno.test("BIP-174 combiner vector: the union of both signers' signatures", () => {
  const one = psbtOf(WORKFLOW.signer1);
  const two = psbtOf(WORKFLOW.signer2);
  one.inputs.forEach((input, i) => input.partialSigs.push(...two.inputs[i].partialSigs));
  strictEqual(toHex(encodePsbt(one)), WORKFLOW.combined.hex);
});

Deno.test("BIP-174 finalizer and extractor vectors: final scriptSig and witness give the tx", () => {
  const psbt = psbtOf(WORKFLOW.finalized);
  const tx: Tx = {
    ...psbt.tx,
    inputs: psbt.tx.inputs.map((input, i) => ({
      ...input,
      scriptSig: psbt.inputs[i].finalScriptSig ?? new Uint8Array(),
      witness: psbt.inputs[i].finalScriptWitness ?? [],
    })),
  };
  strictEqual(toHex(encodeTx(tx)), WORKFLOW.extractedTxHex);
  // The combined PSBT's signatures are the ones the finalizer placed.
  const combined = psbtOf(WORKFLOW.combined);
  const witness = must(psbt.inputs[1].finalScriptWitness);
  deepStrictEqual(
    combined.inputs[1].partialSigs.map((s) => toHex(s.signature)),
    [toHex(witness[1]), toHex(witness[2])],
  );
});

Deno.test("BIP-174 unknown records: combining lexicographically gives the published PSBT", () => {
  const a = psbtOf(UNKNOWN_COMBINE.a);
  const b = psbtOf(UNKNOWN_COMBINE.b);
  const byKey = (x: { keyData: Uint8Array }, y: { keyData: Uint8Array }) =>
    compare(x.keyData, y.keyData);
  a.unknownGlobals = [...a.unknownGlobals, ...b.unknownGlobals].sort(byKey);
  a.inputs[0].unknowns = [...a.inputs[0].unknowns, ...b.inputs[0].unknowns].sort(byKey);
  a.outputs[0].unknowns = [...a.outputs[0].unknowns, ...b.outputs[0].unknowns].sort(byKey);
  strictEqual(toHex(encodePsbt(a)), UNKNOWN_COMBINE.combined.hex);
});

Deno.test("signer checks: the four BIP-174 'Fails Signer checks' vectors are refused", () => {
  const expected: [number, string][] = [
    [0, "input 0: PSBT_IN_WITNESS_UTXO is given for an input that is not segwit"],
    [0, "input 0: PSBT_IN_REDEEM_SCRIPT does not match the scriptPubKey it spends"],
    [1, "input 1: PSBT_IN_REDEEM_SCRIPT does not match the scriptPubKey it spends"],
    [1, "input 1: PSBT_IN_WITNESS_SCRIPT does not match the redeemScript it spends"],
  ];
  FAILS_SIGNER_CHECKS.forEach((v, n) => {
    const [index, message] = expected[n];
    throws(() => checkSignerInput(psbtOf(v), index), { name: "PsbtError", message }, v.name);
  });
});

Deno.test("signer checks: the spent outputs of the BIP-174 updater vector", () => {
  const p = psbtOf(WORKFLOW.updated);
  verifyNonWitnessUtxos(p);
  deepStrictEqual(checkSignerInput(p, 0), {
    amount: 50000000n,
    script: fromHex("a9140fb9463421696b82c833af241c78c17ddbde493487"),
  });
  deepStrictEqual(checkSignerInput(p, 1), {
    amount: 200000000n,
    script: fromHex("a914b7f5faf40e3d40a5a459b1db3535f2b72fa921e887"),
  });
  throws(() => spentOutput(p, 2), { name: "PsbtError", message: "input 2 does not exist" });
  throws(() => spentOutput(psbtOf(VALID[6]), 0), {
    name: "PsbtError",
    message: "input 0: no PSBT_IN_NON_WITNESS_UTXO or PSBT_IN_WITNESS_UTXO",
  });
});

Deno.test("fee-lie defence: a non-witness UTXO that is not the spent transaction is refused", () => {
  const p = psbtOf(WORKFLOW.updated);
  const utxo = must(p.inputs[0].nonWitnessUtxo);
  // Inflate the amount of the output being spent: the txid no longer matches the prevout.
  utxo.outputs[0] = { ...utxo.outputs[0], amount: utxo.outputs[0].amount + 1n };
  const message = "input 0: PSBT_IN_NON_WITNESS_UTXO has txid " +
    "66612e4752f8a6f9395d61dfc2b62577fe4fb6cb5a9ce83049c2cb9c0e47d806, but the input spends " +
    "75ddabb27b8845f5247975c8a5ba7c6f336c4570708ebe230caf6db5217ae858";
  throws(() => verifyNonWitnessUtxos(p), { name: "PsbtError", message });
  throws(() => spentOutput(p, 0), { name: "PsbtError", message });

  const q = psbtOf(WORKFLOW.updated);
  q.inputs[0].witnessUtxo = {
    amount: 60000000n,
    script: must(q.inputs[0].nonWitnessUtxo).outputs[0].script,
  };
  throws(() => spentOutput(q, 0), {
    name: "PsbtError",
    message: "input 0: PSBT_IN_WITNESS_UTXO disagrees with the output of " +
      "PSBT_IN_NON_WITNESS_UTXO it spends",
  });

  const r = psbtOf(WORKFLOW.updated);
  r.tx.inputs[0].vout = 7;
  throws(() => spentOutput(r, 0), {
    name: "PsbtError",
    message: "input 0: PSBT_IN_NON_WITNESS_UTXO has no output 7 (it has 2)",
  });
});

Deno.test("decode refuses truncation, trailing bytes, non-minimal sizes and other versions", () => {
  const bytes = fromHex(WORKFLOW.updated.hex);
  throws(() => decodePsbt(bytes.subarray(0, bytes.length - 1)), {
    name: "PsbtError",
    message: "output 1: map has no 0x00 terminator",
  });
  throws(() => decodePsbt(bytes.subarray(0, 200)), {
    name: "PsbtError",
    message: "input 0: unexpected end of data (needs 187 bytes, 34 left)",
  });
  throws(() => decodePsbt(concat(bytes, Uint8Array.of(0))), {
    name: "PsbtError",
    message: "1 bytes after the last map (the unsigned transaction has 2 inputs and 2 outputs)",
  });
  // The creator's PSBT with its global key length written as fd0100 instead of 01.
  const creator = fromHex(
    "70736274ff01009a020000000258e87a21b56daf0c23be8e7070456c336f7cbaa5c8757924f545887bb2abdd750000000000ffffffff838d0427d0ec650a68aa46bb0b098aea4422c071b2ca78352a077959d07cea1d0100000000ffffffff0270aaf00800000000160014d85c2b71d0060b09c9886aeb815e50991dda124d00e1f5050000000016001400aea9a2e5f0f876a588df5546e8742d1d87008f000000000000000000",
  );
  strictEqual(decodePsbt(creator).inputs.length, 2);
  throws(() => decodePsbt(concat(creator.subarray(0, 5), fromHex("fd0100"), creator.subarray(6))), {
    name: "PsbtError",
    message: "global: non-minimal CompactSize encoding",
  });
  // The global map's terminator is the fifth byte from the end (then 2 input and 2 output maps).
  const version = (v: string) =>
    concat(creator.subarray(0, creator.length - 5), fromHex(`01fb04${v}`), creator.subarray(-5));
  const v0 = decodePsbt(version("00000000"));
  deepStrictEqual(v0.unknownGlobals, [{
    keyType: PSBT_GLOBAL.VERSION,
    keyData: new Uint8Array(),
    value: fromHex("00000000"),
  }]);
  strictEqual(toHex(encodePsbt(v0)), toHex(version("00000000")));
  throws(() => decodePsbt(version("02000000")), {
    name: "PsbtError",
    message: "global: PSBT_GLOBAL_VERSION: unsupported PSBT version 2 (only 0)",
  });
  throws(() => decodePsbtBase64("cHNidP8*"), (e: Error) => {
    strictEqual(e.name, "PsbtError");
    strictEqual(e.message.startsWith("PSBT is not valid base64"), true);
    return true;
  });
  throws(() => decodePsbt(new Uint8Array()), { name: "PsbtError" });
  // An unsigned transaction claiming 2^53-1 inputs fails on the count, before any allocation.
  throws(() => decodePsbt(fromHex("70736274ff01000d01000000ffffffffffffff1f00")), {
    name: "PsbtError",
    message: "global: PSBT_GLOBAL_UNSIGNED_TX: count 9007199254740991 exceeds the 0 bytes left",
  });
});

Deno.test("decode refuses malformed values of typed fields", () => {
  const creator = decodePsbt(fromHex(WORKFLOW.updated.hex));
  const withInput0 = (record: string) => {
    const bytes = encodePsbt(createPsbt(creator.tx));
    // The creator's maps are all empty: replace the first input map's terminator.
    const start = bytes.length - 4;
    return concat(bytes.subarray(0, start), fromHex(record), bytes.subarray(start));
  };
  const cases: [string, string][] = [
    ["0103050000000000", "input 0: PSBT_IN_SIGHASH_TYPE: 1 unexpected trailing bytes"],
    [
      "01030201000000",
      "input 0: PSBT_IN_SIGHASH_TYPE: unexpected end of data (needs 4 bytes, 2 left)",
    ],
    [
      "01010a0000000000000000" + "00ff",
      "input 0: PSBT_IN_WITNESS_UTXO: 1 unexpected trailing bytes",
    ],
    [
      "2206" + "02" + "00".repeat(32) + "0400000000",
      "input 0: PSBT_IN_BIP32_DERIVATION key: not a valid public key",
    ],
    [
      "2206" + "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798" +
      "0500000000ff",
      "input 0: PSBT_IN_BIP32_DERIVATION: key origin must be a 4-byte fingerprint and 4-byte path elements",
    ],
    [
      "2202" + "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798" + "03300001",
      "input 0: PSBT_IN_PARTIAL_SIG: signature is not strict DER (DER signature has a bad length)",
    ],
    [
      "2202" + "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798" +
      "09300602010102010105",
      "input 0: PSBT_IN_PARTIAL_SIG: signature has an undefined sighash type",
    ],
    [
      "011720" + "00".repeat(32),
      "input 0: PSBT_IN_TAP_INTERNAL_KEY: not a valid x-only public key",
    ],
    [
      "010109" + "ffffffffffffffff" + "00",
      "input 0: PSBT_IN_WITNESS_UTXO: amount exceeds 2^63-1 (a negative int64)",
    ],
    ["010803fdffff", "input 0: PSBT_IN_FINAL_SCRIPTWITNESS: count 65535 exceeds the 0 bytes left"],
    [
      "0108020102",
      "input 0: PSBT_IN_FINAL_SCRIPTWITNESS: unexpected end of data (needs 2 bytes, 0 left)",
    ],
  ];
  for (const [record, message] of cases) {
    throws(() => decodePsbt(withInput0(record)), { name: "PsbtError", message }, record);
  }
});

Deno.test("encode refuses inconsistent or malformed PSBTs", () => {
  const ok = psbtOf(WORKFLOW.signer1);
  const variants: [string, (p: Psbt) => void][] = [
    ["global: PSBT_GLOBAL_UNSIGNED_TX: input 0 has a non-empty scriptSig", (p) => {
      p.tx.inputs[0].scriptSig = Uint8Array.of(0x51);
    }],
    ["global: PSBT_GLOBAL_UNSIGNED_TX: input 1 has a witness", (p) => {
      p.tx.inputs[1].witness = [Uint8Array.of(1)];
    }],
    ["1 input maps for 2 transaction inputs", (p) => {
      p.inputs.pop();
    }],
    ["3 output maps for 2 transaction outputs", (p) => {
      p.outputs.push({ bip32Derivation: [], tapBip32Derivation: [], unknowns: [] });
    }],
    [
      "input 0: duplicate key 02029583bf39ae0a609747ad199addd634fa6108559d6c5cd39b4c2183f1ab96e07f (PSBT_IN_PARTIAL_SIG)",
      (p) => {
        p.inputs[0].partialSigs.push(p.inputs[0].partialSigs[0]);
      },
    ],
    ["input 0: PSBT_IN_PARTIAL_SIG key: not a valid public key", (p) => {
      p.inputs[0].partialSigs[0].pubkey = fromHex("02" + "00".repeat(32));
    }],
    ["input 0: PSBT_IN_PARTIAL_SIG: signature has an undefined sighash type", (p) => {
      const s = p.inputs[0].partialSigs[0].signature;
      p.inputs[0].partialSigs[0].signature = concat(s.subarray(0, -1), Uint8Array.of(0x04));
    }],
    ["input 1: PSBT_IN_SIGHASH_TYPE: -1 is not a 32-bit unsigned integer", (p) => {
      p.inputs[1].sighashType = -1;
    }],
    ["input 0: PSBT_IN_PARTIAL_SIG must be given in its typed field, not unknowns", (p) => {
      p.inputs[0].unknowns.push({
        keyType: PSBT_IN.PARTIAL_SIG,
        keyData: new Uint8Array(),
        value: new Uint8Array(),
      });
    }],
    ["output 0: PSBT_OUT_BIP32_DERIVATION must be given in its typed field, not unknowns", (p) => {
      p.outputs[0].unknowns.push({
        keyType: PSBT_OUT.BIP32_DERIVATION,
        keyData: new Uint8Array(),
        value: new Uint8Array(),
      });
    }],
    ["global: PSBT_GLOBAL_UNSIGNED_TX must be given in its typed field, not unknowns", (p) => {
      p.unknownGlobals.push({
        keyType: PSBT_GLOBAL.UNSIGNED_TX,
        keyData: new Uint8Array(),
        value: new Uint8Array(),
      });
    }],
    ["global: PSBT_GLOBAL_VERSION: unsupported PSBT version 2 (only 0)", (p) => {
      p.unknownGlobals.push({
        keyType: PSBT_GLOBAL.VERSION,
        keyData: new Uint8Array(),
        value: fromHex("02000000"),
      });
    }],
    ["input 1: PSBT_IN_WITNESS_UTXO: amount must be a bigint in 0..2^63-1", (p) => {
      p.inputs[1].witnessUtxo = { amount: -1n, script: new Uint8Array() };
    }],
    [
      "output 1: PSBT_OUT_BIP32_DERIVATION path element: 4294967296 is not a 32-bit unsigned integer",
      (p) => {
        p.outputs[1].bip32Derivation[0].path.push(2 ** 32);
      },
    ],
  ];
  for (const [message, mutate] of variants) {
    const p = structuredClone(ok);
    mutate(p);
    throws(() => encodePsbt(p), { name: "PsbtError", message }, message);
  }
  throws(() => createPsbt(decodeTx(fromHex(WORKFLOW.extractedTxHex))), {
    name: "PsbtError",
    message: "transaction: input 0 has a non-empty scriptSig",
  });
});

Deno.test("taproot derivations and internal keys (BIP-371) round-trip", () => {
  const p = createPsbt(psbtOf(VALID[6]).tx);
  const x = fromHex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
  p.inputs[0].tapInternalKey = x;
  p.inputs[0].tapBip32Derivation.push({
    xOnlyPubkey: x,
    leafHashes: [new Uint8Array(32).fill(7)],
    fingerprint: 0xdeadbeef,
    path: [0x80000056, 0x80000000, 0x80000000, 0, 1],
  });
  p.outputs[0].tapInternalKey = x;
  p.outputs[0].tapBip32Derivation.push({
    xOnlyPubkey: x,
    leafHashes: [],
    fingerprint: 1,
    path: [],
  });
  const bytes = encodePsbt(p);
  deepStrictEqual(decodePsbt(bytes), p);
  // The output map: tap internal key (0x05), then the tap derivation (0x07), then 0x00.
  const outputMap = "0105" + "20" + toHex(x) + "2107" + toHex(x) + "05" + "00" + "00000001" + "00";
  strictEqual(toHex(bytes).endsWith(outputMap), true);
});

Deno.test("a PSBT for a BOLT #3 commitment transaction round-trips and yields its witness", () => {
  const v = JSON.parse(
    Deno.readTextFileSync(
      new URL("../../vectors/bolt3/commitment-static-remotekey.json", import.meta.url),
    ),
  );
  const ch = v.channel;
  for (const tc of v.test_cases) {
    const signed = decodeTx(fromHex(tc.commitment_tx_hex));
    const fundingScript = fromHex(ch.funding_witness_script);
    const psbt = createPsbt(stripSignatures(signed));
    const input = psbt.inputs[0];
    input.witnessUtxo = { amount: BigInt(ch.funding_amount_satoshi), script: p2wsh(fundingScript) };
    input.witnessScript = fundingScript;
    input.sighashType = 1;
    input.partialSigs.push(
      { pubkey: fromHex(ch.local_funding_pubkey), signature: fromHex(tc.local_signature + "01") },
      { pubkey: fromHex(ch.remote_funding_pubkey), signature: fromHex(tc.remote_signature + "01") },
    );
    input.bip32Derivation.push({
      pubkey: fromHex(ch.local_funding_pubkey),
      fingerprint: 0x01020304,
      path: [0x80000000 + 1017, 42],
    });
    input.unknowns.push({
      keyType: PSBT_IN.PROPRIETARY,
      keyData: fromHex("096c696768746e696e6701"),
      value: fromHex("0000000000000001"),
    });
    for (const o of tc.annotations?.outputs_listed ?? []) {
      if (!o.witness_script) continue;
      const index = psbt.tx.outputs.findIndex((out) =>
        toHex(out.script) === toHex(p2wsh(fromHex(o.witness_script)))
      );
      psbt.outputs[index].witnessScript = fromHex(o.witness_script);
    }

    const bytes = encodePsbt(psbt);
    const again = decodePsbt(bytes);
    deepStrictEqual(again, psbt, tc.name);
    strictEqual(toHex(encodePsbt(again)), toHex(bytes), tc.name);
    strictEqual(decodePsbtBase64(encodePsbtBase64(psbt)).tx.locktime, signed.locktime);

    // What a signer does with it: check, hash, verify the counterparty's signature, finalize.
    const spent = checkSignerInput(again, 0);
    const digest = sighashSegwitV0(again.tx, 0, {
      scriptCode: must(again.inputs[0].witnessScript),
      amount: spent.amount,
    });
    strictEqual(
      ecdsaVerifyDer(fromHex(tc.remote_signature), digest, fromHex(ch.remote_funding_pubkey)),
      true,
    );
    const [local, remote] = again.inputs[0].partialSigs.map((s) => s.signature);
    const finalTx: Tx = {
      ...again.tx,
      inputs: [{
        ...again.tx.inputs[0],
        witness: [new Uint8Array(), local, remote, fundingScript],
      }],
    };
    strictEqual(toHex(encodeTx(finalTx)), tc.commitment_tx_hex, tc.name);
  }
});

Deno.test("key type constants follow BIP-174/370/371", () => {
  strictEqual(PSBT_GLOBAL.UNSIGNED_TX, 0x00);
  strictEqual(PSBT_GLOBAL.VERSION, 0xfb);
  strictEqual(PSBT_IN.NON_WITNESS_UTXO, 0x00);
  strictEqual(PSBT_IN.FINAL_SCRIPTWITNESS, 0x08);
  strictEqual(PSBT_IN.TAP_BIP32_DERIVATION, 0x16);
  strictEqual(PSBT_IN.TAP_INTERNAL_KEY, 0x17);
  strictEqual(PSBT_OUT.TAP_INTERNAL_KEY, 0x05);
  strictEqual(PSBT_OUT.TAP_BIP32_DERIVATION, 0x07);
  strictEqual(new PsbtError("x").name, "PsbtError");
});
