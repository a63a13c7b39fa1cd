/**
 * `sign_onchain`: withdrawals, channel funding (with the two-sided channel fixture), fee bumps and
 * HTLC fee mingles. Good requests sign every input we own, and the signatures verify with our own
 * BIP-143 and BIP-341 verifiers; each threat of vls.md §2.6 changes exactly the facts it should;
 * contradictory requests are typed errors.
 */
import { deepStrictEqual, notDeepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { equal, fromHex, toHex } from "../../../core/bytes.ts";
import { publicKey } from "../../../core/crypto/mod.ts";
import {
  createPsbt,
  decodePsbt,
  encodePsbt,
  type Psbt,
  PSBT_IN,
} from "../../../core/bitcoin/psbt.ts";
import {
  buildScript,
  p2pkh,
  p2sh,
  p2tr,
  p2wpkh,
  p2wpkhScriptCode,
  p2wsh,
} from "../../../core/bitcoin/script.ts";
import { verifySegwitV0Input } from "../../../core/bitcoin/sign.ts";
import { verifyTaprootKeyPath } from "../../../core/bitcoin/taproot.ts";
import { encodeTx, SIGHASH, type Tx, txid, type TxOutput } from "../../../core/bitcoin/tx.ts";
import { derivePublicKey, deriveRevocationPublicKey } from "../../../core/bolt3/keys.ts";
import {
  anchorScript,
  fundingScript,
  toLocalScript,
  toRemoteAnchorsScript,
} from "../../../core/bolt3/scripts.ts";
import { readySetup } from "../../../core/channel/ops/context.ts";
import { ChannelId } from "../../../core/keys/types.ts";
import type { CloseInfo, Utxo } from "../../../core/protocol/mod.ts";
import { bip86OutputKey } from "../../../core/node/wallet.ts";
import {
  DEFAULT_WALLET_INDEX_STEP,
  type FundingChannel,
  nextMaxUsedIndex,
  type OnchainWalletContext,
  signOnchain,
  type SignOnchainRequest,
} from "../../../core/node/onchain.ts";
import {
  ONCHAIN_WALLET_FACT_KINDS,
  SignOnchainFacts,
} from "../../../core/node/facts_onchain_wallet.ts";
import { NodeRequestError } from "../../../core/node/sign_context.ts";
import { FactRegistry } from "../../../policy/registry.ts";
import {
  Channel,
  diffFacts,
  FOREIGN_SCRIPT,
  makeTx,
  US_NODE,
  walletOf,
  walletScript,
} from "../channel/_fixture2.ts";

// ---------------------------------------------------------------------------------------------
// Builders

/** A previous transaction paying `outputs` (its own input is made up from `tag`). */
function prevTx(outputs: TxOutput[], tag: number): Tx {
  return makeTx([{ txid: new Uint8Array(32).fill(tag), vout: 0 }], outputs);
}

interface In {
  prev: Tx;
  vout: number;
  /** Put the previous transaction in the PSBT (default true). */
  nonWitness?: boolean;
  /** Put the witness UTXO in the PSBT (default true). */
  witness?: boolean;
}

interface Out extends TxOutput {
  /** The BIP-32 path the node gives for the output. */
  path?: number[];
}

function buildPsbt(ins: In[], outs: Out[]): Psbt {
  const tx = makeTx(
    ins.map((i) => ({ txid: txid(i.prev), vout: i.vout, sequence: 0xfffffffd })),
    outs,
  );
  const psbt = createPsbt(tx);
  ins.forEach((i, n) => {
    if (i.nonWitness !== false) psbt.inputs[n].nonWitnessUtxo = i.prev;
    if (i.witness !== false) psbt.inputs[n].witnessUtxo = i.prev.outputs[i.vout];
  });
  outs.forEach((o, n) => {
    if (!o.path) return;
    const pubkey = US_NODE.walletPubkey(o.path[0] & 0x7fffffff);
    psbt.outputs[n].bip32Derivation = [{ pubkey, fingerprint: 0x12345678, path: o.path }];
  });
  return psbt;
}

function utxoOf(prev: Tx, vout: number, keyindex: number, close: CloseInfo | null = null): Utxo {
  return {
    txid: txid(prev),
    outnum: vout,
    amount_sat: prev.outputs[vout].amount,
    keyindex,
    is_p2sh: false,
    script_pubkey: prev.outputs[vout].script,
    close_info: close,
    is_in_coinbase: false,
  };
}

interface CtxOptions {
  allowlist?: Uint8Array[];
  channels?: FundingChannel[];
  approved?: boolean;
  maxUsed?: number;
  setups?: boolean;
}

function ctxFor(o: CtxOptions = {}): OnchainWalletContext {
  const channels = o.channels ?? [];
  return {
    keys: US_NODE,
    wallet: walletOf(o.allowlist ?? []),
    walletMaxUsedIndex: o.maxUsed,
    channelByFundingOutpoint: (t, v) =>
      channels.find((c) =>
        c.setup.fundingOutpoint.txid === t && c.setup.fundingOutpoint.vout === v
      ) ?? null,
    approvedUnknownOutputs: () => o.approved ?? false,
    channelSetup: o.setups ? () => readySetup(new Channel().us.state) : undefined,
  };
}

const ALLOWLISTED = p2wpkh(publicKey(new Uint8Array(32).fill(0x55)));
const PEER = fromHex("02" + "11".repeat(32));

/** The weight lower bound (§1.13) of `tx` with `n` inputs signed with P2WPKH-sized witnesses. */
function lowerBound(tx: Tx, n: number): number {
  return encodeTx(tx, { witness: false }).length * 4 + n * (2 + 1 + 1 + 72 + 1 + 33);
}

/** VLS `estimate_feerate_per_kw` (rules-spec.md §1.1). */
const feerate = (fee: bigint, weight: number) => Number((fee * 1000n + 999n) / BigInt(weight));

/** Our partial signature on input `index` verifies (BIP-143, SIGHASH_ALL, low R). */
function assertEcdsaSigned(
  out: Psbt,
  index: number,
  o: { pubkey: Uint8Array; scriptCode: Uint8Array; amount: bigint },
): void {
  const sigs = out.inputs[index].partialSigs;
  strictEqual(sigs.length, 1, `input ${index}: one partial signature`);
  deepStrictEqual(sigs[0].pubkey, o.pubkey, `input ${index}: our key`);
  const sig = sigs[0].signature;
  strictEqual(sig[sig.length - 1], SIGHASH.ALL);
  strictEqual(sig[3] <= 32 && sig[4] < 0x80, true, "low R (CLN grinds R)");
  strictEqual(
    verifySegwitV0Input(out.tx, index, {
      scriptCode: o.scriptCode,
      amount: o.amount,
      publicKey: o.pubkey,
      signature: sig,
      sighashType: SIGHASH.ALL,
    }),
    true,
    `input ${index}: the signature verifies`,
  );
  strictEqual(out.inputs[index].finalScriptWitness, undefined, "not finalized (as CLN's hsmd)");
}

function tapKeySig(out: Psbt, index: number): Uint8Array {
  const sig = out.inputs[index].unknowns.find((u) => u.keyType === PSBT_IN.TAP_KEY_SIG)?.value;
  if (!sig) throw new Error(`input ${index} has no PSBT_IN_TAP_KEY_SIG`);
  return sig;
}

function assertSchema(facts: unknown): void {
  const parsed = SignOnchainFacts.safeParse(facts);
  deepStrictEqual(parsed.success ? [] : parsed.error.issues, []);
}

// Wallet coins: key 3 (P2WPKH, 600k), key 5 (P2WPKH, 400k), key 6 (P2SH-P2WPKH), key 8 (P2TR),
// someone else's P2PKH (100k), key 13 (P2WPKH, 500k).
const COINS = prevTx([
  { amount: 600_000n, script: walletScript(3) },
  { amount: 400_000n, script: walletScript(5) },
  { amount: 300_000n, script: p2sh(walletScript(6)) },
  { amount: 200_000n, script: p2tr(bip86OutputKey(US_NODE.walletPubkey(8))) },
  { amount: 100_000n, script: p2pkh(publicKey(new Uint8Array(32).fill(0x66))) },
  { amount: 500_000n, script: walletScript(13) },
], 0x01);

/** 1M sat from keys 3 and 5: 700k to an allowlisted address, 295k change to key 9. */
function withdrawal(change: Out = { amount: 295_000n, script: walletScript(9), path: [9] }) {
  const psbt = buildPsbt(
    [{ prev: COINS, vout: 0 }, { prev: COINS, vout: 1, nonWitness: false }],
    [{ amount: 700_000n, script: ALLOWLISTED }, change],
  );
  const request: SignOnchainRequest = {
    utxos: [utxoOf(COINS, 0, 3), utxoOf(COINS, 1, 5)],
    psbt,
    purpose: "withdrawal",
  };
  return { psbt, request };
}

// ---------------------------------------------------------------------------------------------
// Withdrawals

Deno.test("withdrawal to an allowlisted address with change: facts, signatures, CLN's reply form", () => {
  const { psbt, request } = withdrawal();
  const before = encodePsbt(psbt);
  const out = signOnchain(ctxFor({ allowlist: [ALLOWLISTED], maxUsed: 7 }), request);
  strictEqual(out.kind, "sign_onchain");
  assertSchema(out.facts);
  const weight = lowerBound(psbt.tx, 2);
  const f = out.facts;
  deepStrictEqual(f.request, { arithmetic_ok: true, wallet_lookup_ok: true });
  deepStrictEqual(f.wallet_info, { expected_path_len: 1, max_used_index: 7 });
  deepStrictEqual(
    { ...f.tx, outputs: f.tx.outputs.map((o) => [o.kind, o.amount_sat, o.has_path, o.path_index]) },
    {
      version: 2,
      base_size: encodeTx(psbt.tx, { witness: false }).length,
      funds_channel: false,
      // Input 1 has only a witness UTXO: its script and amount are the node's word.
      all_inputs_segwit: false,
      input_sum_sat: 1_000_000n,
      weight_lower_bound: weight,
      beneficial_sat: 995_000n,
      non_beneficial_sat: 5_000n,
      non_beneficial_feerate_per_kw: feerate(5_000n, weight),
      unknown_outputs_approved: false,
      approved_unknown_sat: 0n,
      funded_sat: 0n,
      outputs: [["allowlisted_address", 700_000n, false, -1], ["wallet", 295_000n, true, 9]],
    },
  );
  deepStrictEqual({ ...f.onchain, inputs: undefined }, {
    purpose: "withdrawal",
    input_count: 2,
    signed_input_count: 2,
    wallet_input_count: 2,
    close_input_count: 0,
    foreign_input_count: 0,
    unused_utxo_count: 0,
    signs_taproot: false,
    all_inputs_verified: false,
    non_beneficial_msat: 5_000_000n,
    funded_channel_count: 0,
    max_wallet_input_index: 5,
    max_wallet_output_index: 9,
    inputs: undefined,
  });
  deepStrictEqual(f.onchain.inputs, [
    {
      index: 0,
      owner: "wallet",
      script_type: "p2wpkh",
      amount_sat: 600_000n,
      has_non_witness_utxo: true,
      verified: true,
      segwit_verified: true,
      wallet_index: 3,
      paired_output: -1,
    },
    {
      index: 1,
      owner: "wallet",
      script_type: "p2wpkh",
      amount_sat: 400_000n,
      has_non_witness_utxo: false,
      verified: false,
      segwit_verified: false,
      wallet_index: 5,
      paired_output: -1,
    },
  ]);
  deepStrictEqual(out.next, { walletMaxUsedIndex: 9 });

  const signed = out.release();
  for (const [i, key, amount] of [[0, 3, 600_000n], [1, 5, 400_000n]] as const) {
    const pubkey = US_NODE.walletPubkey(key);
    assertEcdsaSigned(signed, i, { pubkey, scriptCode: p2wpkhScriptCode(pubkey), amount });
  }
  deepStrictEqual(encodePsbt(psbt), before, "the request's PSBT is not changed");
  deepStrictEqual(decodePsbt(encodePsbt(signed)), signed, "a valid PSBT, records as CLN expects");
});

Deno.test("change to an attacker: a script or path that is not our wallet's is an unknown output", () => {
  const ctx = ctxFor({ allowlist: [ALLOWLISTED] });
  const good = signOnchain(ctx, withdrawal().request).facts;
  const changed = [
    "onchain.max_wallet_output_index",
    "onchain.non_beneficial_msat",
    "tx.beneficial_sat",
    "tx.non_beneficial_feerate_per_kw",
    "tx.non_beneficial_sat",
    "tx.outputs.1.kind",
  ];
  // The attacker's script with our path.
  const foreign = signOnchain(
    ctx,
    withdrawal({ amount: 295_000n, script: FOREIGN_SCRIPT, path: [9] }).request,
  ).facts;
  deepStrictEqual(diffFacts(good, foreign), [...changed, "tx.outputs.1.script"].sort());
  strictEqual(foreign.tx.outputs[1].kind, "unknown");
  strictEqual(foreign.tx.outputs[1].has_path, true, "never approvable (VLS: a path given)");
  strictEqual(foreign.tx.non_beneficial_sat, 300_000n);
  // Our key 9's script under another index.
  const wrongPath = signOnchain(
    ctx,
    withdrawal({ amount: 295_000n, script: walletScript(9), path: [10] }).request,
  ).facts;
  deepStrictEqual(diffFacts(good, wrongPath), [...changed, "tx.outputs.1.path_index"].sort());
  // A hardened path cannot be a wallet path at all.
  const hardened = signOnchain(
    ctx,
    withdrawal({ amount: 295_000n, script: walletScript(9), path: [0x80000009] }).request,
  ).facts;
  strictEqual(hardened.request.wallet_lookup_ok, false);
  strictEqual(hardened.tx.outputs[1].kind, "unknown");
  // An unpredictable wallet path: ours, but far beyond the used indexes.
  const far = signOnchain(
    ctxFor({ allowlist: [ALLOWLISTED], maxUsed: 9 }),
    withdrawal({ amount: 295_000n, script: walletScript(1_000_000), path: [1_000_000] }).request,
  );
  strictEqual(far.facts.tx.outputs[1].kind, "wallet");
  strictEqual(far.facts.tx.outputs[1].path_index, 1_000_000);
  strictEqual(far.facts.wallet_info.max_used_index, 9);
  deepStrictEqual(far.next, { walletMaxUsedIndex: 1_000_000 });
});

Deno.test("unknown outputs: refused facts unless the operator approved this transaction", () => {
  const { request } = withdrawal({ amount: 295_000n, script: FOREIGN_SCRIPT });
  const seen: string[] = [];
  const ctx = (approved: boolean): OnchainWalletContext => ({
    ...ctxFor({ allowlist: [ALLOWLISTED] }),
    approvedUnknownOutputs: (t) => {
      seen.push(t);
      return approved;
    },
  });
  const refused = signOnchain(ctx(false), request).facts;
  strictEqual(refused.tx.outputs[1].kind, "unknown");
  strictEqual(refused.tx.outputs[1].has_path, false);
  strictEqual(refused.tx.unknown_outputs_approved, false);
  strictEqual(refused.tx.non_beneficial_sat, 300_000n, "a payment not approved counts as fee");
  const approved = signOnchain(ctx(true), request).facts;
  deepStrictEqual(diffFacts(refused, approved), [
    "onchain.non_beneficial_msat",
    "tx.approved_unknown_sat",
    "tx.non_beneficial_feerate_per_kw",
    "tx.non_beneficial_sat",
    "tx.unknown_outputs_approved",
  ]);
  strictEqual(approved.tx.approved_unknown_sat, 295_000n);
  strictEqual(approved.tx.non_beneficial_sat, 5_000n, "the fee is still bounded");
  // The lookup is by the display txid.
  deepStrictEqual(seen[0], toHex(txid(request.psbt.tx).slice().reverse()));
});

Deno.test("fee too high: the non-beneficial feerate over the weight lower bound", () => {
  const psbt = buildPsbt([{ prev: COINS, vout: 0 }], [{ amount: 100_000n, script: ALLOWLISTED }]);
  const out = signOnchain(ctxFor({ allowlist: [ALLOWLISTED] }), {
    utxos: [utxoOf(COINS, 0, 3)],
    psbt,
    purpose: "withdrawal",
  });
  const weight = lowerBound(psbt.tx, 1);
  strictEqual(out.facts.tx.weight_lower_bound, weight);
  strictEqual(out.facts.tx.non_beneficial_sat, 500_000n);
  strictEqual(out.facts.tx.non_beneficial_feerate_per_kw, feerate(500_000n, weight));
  strictEqual(out.facts.tx.non_beneficial_feerate_per_kw > 333_333, true, "above every range");
  strictEqual(out.facts.onchain.non_beneficial_msat, 500_000_000n);
});

// ---------------------------------------------------------------------------------------------
// The input-amount lie (vls.md §2.6)

Deno.test("input-amount lie: a previous transaction that is not the prevout's is a typed error", () => {
  const { request } = withdrawal();
  const other = prevTx(COINS.outputs, 0x02);
  const lie: Psbt = {
    ...request.psbt,
    inputs: request.psbt.inputs.map((i, n) => (n === 0 ? { ...i, nonWitnessUtxo: other } : i)),
  };
  throws(
    () => signOnchain(ctxFor(), { ...request, psbt: lie }),
    (e) =>
      e instanceof NodeRequestError && e.code === "malformed" &&
      /input 0: PSBT_IN_NON_WITNESS_UTXO has txid/.test(e.message),
  );
  // A witness UTXO that disagrees with the previous transaction.
  const disagree: Psbt = {
    ...request.psbt,
    inputs: request.psbt.inputs.map((i, n) =>
      n === 0 ? { ...i, witnessUtxo: { amount: 500_000n, script: walletScript(3) } } : i
    ),
  };
  throws(
    () => signOnchain(ctxFor(), { ...request, psbt: disagree }),
    /input 0: PSBT_IN_WITNESS_UTXO disagrees/,
  );
  // The utxo list and the PSBT disagree on the amount.
  throws(
    () =>
      signOnchain(ctxFor(), {
        ...request,
        utxos: [{ ...request.utxos[0], amount_sat: 600_001n }, request.utxos[1]],
      }),
    /input 0: the utxo amount 600001 is not the PSBT's 600000/,
  );
});

Deno.test("input-amount lie: witness-only segwit v0 amounts are unverified; a taproot signature on a coin proven ours vouches for all", () => {
  const psbt = buildPsbt(
    [{ prev: COINS, vout: 1, nonWitness: false }, { prev: COINS, vout: 3 }],
    [{ amount: 590_000n, script: ALLOWLISTED }],
  );
  const v0Only = signOnchain(ctxFor({ allowlist: [ALLOWLISTED] }), {
    utxos: [utxoOf(COINS, 1, 5)],
    psbt,
    purpose: "withdrawal",
  }).facts;
  strictEqual(v0Only.onchain.signs_taproot, false);
  strictEqual(v0Only.onchain.all_inputs_verified, false);
  deepStrictEqual(v0Only.onchain.inputs.map((i) => [i.owner, i.verified]), [
    ["wallet", false],
    ["foreign", true],
  ]);
  const withTaproot = signOnchain(ctxFor({ allowlist: [ALLOWLISTED] }), {
    utxos: [utxoOf(COINS, 1, 5), utxoOf(COINS, 3, 8)],
    psbt,
    purpose: "withdrawal",
  });
  strictEqual(withTaproot.facts.onchain.signs_taproot, true);
  strictEqual(withTaproot.facts.onchain.all_inputs_verified, true);
  strictEqual(withTaproot.facts.tx.all_inputs_segwit, true);
  deepStrictEqual(
    withTaproot.facts.onchain.inputs.map((i) => [i.has_non_witness_utxo, i.verified]),
    [[false, true], [true, true]],
  );
  const signed = withTaproot.release();
  const prevouts = [COINS.outputs[1], COINS.outputs[3]];
  const sig = tapKeySig(signed, 1);
  strictEqual(sig.length, 64, "SIGHASH_DEFAULT");
  strictEqual(verifyTaprootKeyPath(signed.tx, 1, { prevouts, signature: sig }), true);
  // The signature is useless with another amount for the other input: the lie cannot pay.
  const lied = [{ ...prevouts[0], amount: 300_000n }, prevouts[1]];
  strictEqual(verifyTaprootKeyPath(signed.tx, 1, { prevouts: lied, signature: sig }), false);
});

Deno.test("input-amount lie: a taproot coin the node only claims is ours vouches for nothing", () => {
  // Without its previous transaction, the taproot input may be the node's own coin: our
  // signature on it would never be needed, so it cannot vouch for the v0 input's amount.
  const claimed = buildPsbt(
    [{ prev: COINS, vout: 1, nonWitness: false }, { prev: COINS, vout: 3, nonWitness: false }],
    [{ amount: 590_000n, script: ALLOWLISTED }],
  );
  const utxos = [utxoOf(COINS, 1, 5), utxoOf(COINS, 3, 8)];
  const out = signOnchain(ctxFor({ allowlist: [ALLOWLISTED] }), {
    utxos,
    psbt: claimed,
    purpose: "withdrawal",
  }).facts;
  strictEqual(out.onchain.signs_taproot, true);
  strictEqual(out.onchain.all_inputs_verified, false);
  deepStrictEqual(
    out.onchain.inputs.map((i) => [i.owner, i.script_type, i.verified, i.segwit_verified]),
    [["wallet", "p2wpkh", false, false], ["wallet", "p2tr", true, true]],
    "the taproot input's own amount is committed to by our own signature",
  );
  strictEqual(out.tx.all_inputs_segwit, false);
  // A foreign input is not vouched for by an unproven taproot signature either.
  const foreign = signOnchain(ctxFor({ allowlist: [ALLOWLISTED] }), {
    utxos: [utxoOf(COINS, 3, 8)],
    psbt: claimed,
    purpose: "withdrawal",
  }).facts;
  deepStrictEqual(foreign.onchain.inputs.map((i) => [i.owner, i.verified]), [
    ["foreign", false],
    ["wallet", true],
  ]);
  // Only taproot inputs, none proven: each is vouched for by our own signature (if one coin is
  // ours, a lie about any amount invalidates its signature; if none is, nothing we sign pays).
  const allTaproot = buildPsbt(
    [{ prev: COINS, vout: 3, nonWitness: false }],
    [{ amount: 190_000n, script: ALLOWLISTED }],
  );
  const tr = signOnchain(ctxFor({ allowlist: [ALLOWLISTED] }), {
    utxos: [utxoOf(COINS, 3, 8)],
    psbt: allTaproot,
    purpose: "withdrawal",
  }).facts;
  strictEqual(tr.onchain.all_inputs_verified, true);
});

// ---------------------------------------------------------------------------------------------
// Input forms

Deno.test("P2SH-P2WPKH and P2TR wallet inputs sign correctly (BIP-143 and BIP-341 verifiers)", () => {
  const psbt = buildPsbt(
    [{ prev: COINS, vout: 2 }, { prev: COINS, vout: 3 }],
    [{ amount: 495_000n, script: walletScript(11), path: [11] }],
  );
  const out = signOnchain(ctxFor(), {
    utxos: [utxoOf(COINS, 2, 6), utxoOf(COINS, 3, 8)],
    psbt,
    purpose: "withdrawal",
  });
  deepStrictEqual(out.facts.onchain.inputs.map((i) => [i.script_type, i.segwit_verified]), [
    ["p2sh_p2wpkh", true],
    ["p2tr", true],
  ]);
  // §1.13 with the P2SH scriptSig (23 bytes at 4 weight units) and the taproot witness.
  strictEqual(
    out.facts.tx.weight_lower_bound,
    encodeTx(psbt.tx, { witness: false }).length * 4 + (110 + 92) + 77,
  );
  const signed = out.release();
  const pub6 = US_NODE.walletPubkey(6);
  assertEcdsaSigned(signed, 0, {
    pubkey: pub6,
    scriptCode: p2wpkhScriptCode(pub6),
    amount: 300_000n,
  });
  deepStrictEqual(
    signed.inputs[0].redeemScript,
    p2wpkh(pub6),
    "the redeem script for the finalizer",
  );
  const sig = tapKeySig(signed, 1);
  strictEqual(sig.length, 64);
  strictEqual(
    verifyTaprootKeyPath(signed.tx, 1, {
      prevouts: [COINS.outputs[2], COINS.outputs[3]],
      signature: sig,
    }),
    true,
  );
  deepStrictEqual(signed.inputs[1].partialSigs, []);
  deepStrictEqual(decodePsbt(encodePsbt(signed)), signed, "PSBT_IN_TAP_KEY_SIG round-trips");
});

Deno.test("unilateral-close inputs: static, anchored, rotated and delayed to_local keys", () => {
  const ck = US_NODE.channelKeys(ChannelId.fromPeerDbid(PEER, 1n));
  const point = publicKey(new Uint8Array(32).fill(0x42));
  const pay = ck.basepoints.payment;
  const rotated = derivePublicKey(pay, point);
  const ch = new Channel();
  const setup = readySetup(ch.us.state);
  const delayed = derivePublicKey(ck.basepoints.delayedPayment, point);
  const toLocal = toLocalScript({
    revocationKey: deriveRevocationPublicKey(
      fromHex(setup.counterparty.revocationBasepoint),
      point,
    ),
    broadcasterDelayedPaymentKey: delayed,
    toSelfDelay: setup.counterpartySelectedContestDelay,
  });
  const anchored = toRemoteAnchorsScript(pay);
  const coins = prevTx([
    { amount: 10_000n, script: p2wpkh(pay) },
    { amount: 20_000n, script: p2wsh(anchored) },
    { amount: 30_000n, script: p2wpkh(rotated) },
    { amount: 40_000n, script: p2wsh(toLocal) },
  ], 0x03);
  const ci = (p: Uint8Array | null, anchors: boolean): CloseInfo => ({
    channel_id: 1n,
    peer_id: PEER,
    commitment_point: p,
    option_anchors: anchors,
    csv: anchors ? 1 : 0,
  });
  const psbt = buildPsbt(
    [0, 1, 2, 3].map((vout) => ({ prev: coins, vout })),
    [{ amount: 99_000n, script: walletScript(2), path: [2] }],
  );
  const request: SignOnchainRequest = {
    utxos: [
      utxoOf(coins, 0, 0, ci(null, false)),
      utxoOf(coins, 1, 0, ci(null, true)),
      utxoOf(coins, 2, 0, ci(point, false)),
      utxoOf(coins, 3, 0, ci(point, false)),
    ],
    psbt,
    purpose: "withdrawal",
  };
  // Without the channel's setup, the to_local reading is unavailable.
  throws(
    () => signOnchain(ctxFor(), request),
    /input 3: close_info does not describe the spent output's script/,
  );
  const out = signOnchain(ctxFor({ setups: true }), request);
  deepStrictEqual(out.facts.onchain.inputs.map((i) => [i.owner, i.script_type]), [
    ["close", "p2wpkh"],
    ["close", "p2wsh"],
    ["close", "p2wpkh"],
    ["close", "p2wsh"],
  ]);
  strictEqual(out.facts.onchain.close_input_count, 4);
  const signed = out.release();
  assertEcdsaSigned(signed, 0, { pubkey: pay, scriptCode: p2wpkhScriptCode(pay), amount: 10_000n });
  assertEcdsaSigned(signed, 1, { pubkey: pay, scriptCode: anchored, amount: 20_000n });
  deepStrictEqual(signed.inputs[1].witnessScript, anchored, "CLN's hsmd sets it for its finalizer");
  assertEcdsaSigned(signed, 2, {
    pubkey: rotated,
    scriptCode: p2wpkhScriptCode(rotated),
    amount: 30_000n,
  });
  assertEcdsaSigned(signed, 3, { pubkey: delayed, scriptCode: toLocal, amount: 40_000n });
  deepStrictEqual(signed.inputs[3].witnessScript, toLocal);
  // A close_info that does not describe the output (anchors flag on a P2WPKH output).
  throws(
    () =>
      signOnchain(ctxFor({ setups: true }), {
        ...request,
        utxos: [utxoOf(coins, 0, 0, ci(null, true))],
      }),
    /input 0: close_info does not describe/,
  );
});

// ---------------------------------------------------------------------------------------------
// Channel funding (two-sided fixture)

/**
 * Our funding transaction for `ch`: the channel value (vout 0) and change to key 4 with a 10k fee,
 * by default from key 3 (with its previous transaction) and key 13 (witness UTXO only).
 */
function funding(
  ch: Channel,
  options: { amount?: bigint; script?: Uint8Array; coins?: In[]; utxos?: Utxo[] } = {},
) {
  const script = options.script ??
    p2wsh(fundingScript(ch.us.keys.fundingPubkey, ch.peer.keys.fundingPubkey));
  const ins = options.coins ??
    [{ prev: COINS, vout: 0 }, { prev: COINS, vout: 5, nonWitness: false }];
  const total = ins.reduce((t, i) => t + i.prev.outputs[i.vout].amount, 0n);
  const amount = options.amount ?? 1_000_000n;
  const psbt = buildPsbt(ins, [
    { amount, script },
    { amount: total - amount - 10_000n, script: walletScript(4), path: [4] },
  ]);
  const setup = readySetup(ch.us.state);
  const channel: FundingChannel = {
    setup: { ...setup, fundingOutpoint: { txid: toHex(txid(psbt.tx)), vout: 0 } },
    holderFundingPubkey: ch.us.keys.fundingPubkey,
    nextHolderCommitNum: ch.us.state.enforcement.nextHolderCommitNum,
  };
  const request: SignOnchainRequest = {
    utxos: options.utxos ?? [utxoOf(COINS, 0, 3), utxoOf(COINS, 5, 13)],
    psbt,
    purpose: "withdrawal",
  };
  return { request, channel };
}

function fundingFacts(ch: Channel, edit: (c: FundingChannel) => FundingChannel = (c) => c) {
  const { request, channel } = funding(ch);
  return signOnchain(ctxFor({ channels: [edit(channel)] }), request);
}

Deno.test("channel funding: the funding output is recognised, value and counters from the channel", () => {
  const ch = new Channel({ pushMsat: 0n });
  ch.open();
  const out = fundingFacts(ch);
  assertSchema(out.facts);
  const t = out.facts.tx;
  strictEqual(t.funds_channel, true);
  strictEqual(t.funded_sat, 1_000_000n);
  deepStrictEqual(t.outputs[0].kind, "channel");
  deepStrictEqual(t.outputs[0].channel, {
    value_sat: 1_000_000n,
    push_msat: 0n,
    is_outbound: true,
    script_matches: true,
    amount_matches: true,
    holder_next: 1,
  });
  strictEqual(t.beneficial_sat, 1_090_000n);
  strictEqual(t.non_beneficial_sat, 10_000n);
  strictEqual(t.all_inputs_segwit, false, "input 1 is witness-only");
  strictEqual(out.facts.onchain.funded_channel_count, 1);
  const signed = out.release();
  strictEqual(signed.inputs[0].partialSigs.length, 1);
  strictEqual(signed.inputs[1].partialSigs.length, 1);
});

Deno.test("funding threats: attacker script, wrong amount, push, inbound, no countersigned commitment", () => {
  const ch = new Channel({ pushMsat: 0n });
  ch.open();
  const good = fundingFacts(ch).facts;
  const { request } = funding(ch);

  // A P2WSH that is not a channel's funding outpoint: unknown.
  const attacker = signOnchain(ctxFor(), request).facts;
  strictEqual(attacker.tx.outputs[0].kind, "unknown");
  strictEqual(attacker.tx.funds_channel, false);
  strictEqual(attacker.tx.non_beneficial_sat, 1_010_000n);
  // The channel's outpoint, but not its 2-of-2 (another remote key).
  const otherRemote = publicKey(new Uint8Array(32).fill(0x99));
  const bad = funding(ch, { script: p2wsh(fundingScript(ch.us.keys.fundingPubkey, otherRemote)) });
  const badOut = signOnchain(ctxFor({ channels: [bad.channel] }), bad.request).facts;
  strictEqual(badOut.tx.outputs[0].kind, "channel");
  strictEqual(badOut.tx.outputs[0].channel.script_matches, false);
  // Another amount than the channel value.
  const less = funding(ch, { amount: 900_000n });
  const lessOut = signOnchain(ctxFor({ channels: [less.channel] }), less.request).facts;
  strictEqual(lessOut.tx.outputs[0].channel.amount_matches, false);
  strictEqual(lessOut.tx.funded_sat, 900_000n);

  // A push when we fund (the fixture's default channel pushes 300k sat).
  const pushed = new Channel();
  pushed.open();
  const pushOut = fundingFacts(pushed).facts;
  deepStrictEqual(diffFacts(good, pushOut), [
    "onchain.non_beneficial_msat",
    "tx.beneficial_sat",
    "tx.non_beneficial_feerate_per_kw",
    "tx.non_beneficial_sat",
    "tx.outputs.0.channel.push_msat",
  ]);
  strictEqual(pushOut.tx.outputs[0].channel.push_msat, 300_000_000n);
  strictEqual(pushOut.tx.non_beneficial_sat, 310_000n, "the push is not beneficial to us");
  // Funding an inbound channel.
  const inbound = fundingFacts(ch, (c) => ({ ...c, setup: { ...c.setup, isOutbound: false } }));
  deepStrictEqual(diffFacts(good, inbound.facts), ["tx.outputs.0.channel.is_outbound"]);
  // Before holder commitment 0 was validated.
  const early = new Channel({ pushMsat: 0n });
  deepStrictEqual(diffFacts(good, fundingFacts(early).facts), ["tx.outputs.0.channel.holder_next"]);
  strictEqual(fundingFacts(early).facts.tx.outputs[0].channel.holder_next, 0);
});

Deno.test("funding non-malleable: only inputs vouched for as segwit keep all_inputs_segwit", () => {
  const ch = new Channel({ pushMsat: 0n });
  ch.open();
  // Both inputs with their previous transaction: segwit, verified.
  const both = funding(ch, { coins: [{ prev: COINS, vout: 0 }, { prev: COINS, vout: 5 }] });
  const ok = signOnchain(ctxFor({ channels: [both.channel] }), both.request).facts;
  strictEqual(ok.tx.all_inputs_segwit, true);
  strictEqual(ok.onchain.all_inputs_verified, true);
  // A legacy (P2PKH) input of someone else's: the funding txid could be malleated.
  const legacy = funding(ch, {
    coins: [{ prev: COINS, vout: 0 }, { prev: COINS, vout: 4, witness: false }],
    utxos: [utxoOf(COINS, 0, 3)],
    amount: 600_000n,
  });
  const legacyOut = signOnchain(ctxFor({ channels: [legacy.channel] }), legacy.request).facts;
  strictEqual(legacyOut.tx.funds_channel, true);
  strictEqual(legacyOut.tx.all_inputs_segwit, false);
  deepStrictEqual(legacyOut.onchain.inputs[1], {
    index: 1,
    owner: "foreign",
    script_type: "p2pkh",
    amount_sat: 100_000n,
    has_non_witness_utxo: true,
    verified: true,
    segwit_verified: false,
    wallet_index: -1,
    paired_output: -1,
  });
  // A segwit input the node only describes (witness UTXO): not vouched for.
  const described = funding(ch);
  const describedOut = signOnchain(ctxFor({ channels: [described.channel] }), described.request);
  strictEqual(describedOut.facts.tx.all_inputs_segwit, false);
  strictEqual(describedOut.facts.onchain.inputs[1].segwit_verified, false);
});

// ---------------------------------------------------------------------------------------------
// Fee bumps and HTLC mingles

Deno.test("anchor spend (147): only the wallet input is signed, the anchor is left to the channel", () => {
  const ch = new Channel({ anchors: true, pushMsat: 0n });
  const anchor = prevTx(
    [{ amount: 330n, script: p2wsh(anchorScript(ch.us.keys.fundingPubkey)) }],
    0x04,
  );
  const psbt = buildPsbt(
    [{ prev: anchor, vout: 0, nonWitness: false }, { prev: COINS, vout: 1 }],
    [{ amount: 395_330n, script: walletScript(12), path: [12] }],
  );
  const out = signOnchain(ctxFor(), { utxos: [utxoOf(COINS, 1, 5)], psbt, purpose: "anchorspend" });
  deepStrictEqual(out.facts.onchain.inputs.map((i) => [i.owner, i.script_type]), [
    ["foreign", "p2wsh"],
    ["wallet", "p2wpkh"],
  ]);
  strictEqual(out.facts.tx.non_beneficial_sat, 5_000n);
  const signed = out.release();
  deepStrictEqual(signed.inputs[0].partialSigs, []);
  const pub = US_NODE.walletPubkey(5);
  assertEcdsaSigned(signed, 1, {
    pubkey: pub,
    scriptCode: p2wpkhScriptCode(pub),
    amount: 400_000n,
  });
});

Deno.test("HTLC mingle (149): the HTLC pair is passed through, only wallet value counts as fee", () => {
  const htlcOut = p2wsh(buildScript(publicKey(new Uint8Array(32).fill(0x21)), "CHECKSIG"));
  const htlcIn = prevTx([{ amount: 100_000n, script: p2wsh(buildScript(1)) }], 0x05);
  const mingle = (pairValue: bigint, change: bigint) =>
    buildPsbt(
      [{ prev: htlcIn, vout: 0, nonWitness: false }, { prev: COINS, vout: 1 }],
      [{ amount: pairValue, script: htlcOut }, {
        amount: change,
        script: walletScript(3),
        path: [3],
      }],
    );
  const psbt = mingle(100_000n, 395_000n);
  const utxos = [utxoOf(COINS, 1, 5)];
  const out = signOnchain(ctxFor(), { utxos, psbt, purpose: "mingle" });
  strictEqual(out.facts.tx.outputs[0].kind, "htlc_tx");
  strictEqual(out.facts.onchain.inputs[0].paired_output, 0);
  strictEqual(out.facts.tx.non_beneficial_sat, 5_000n);
  // The same transaction as a withdrawal: the HTLC output is unknown and its input is fee.
  const asWithdrawal = signOnchain(ctxFor(), { utxos, psbt, purpose: "withdrawal" }).facts;
  strictEqual(asWithdrawal.tx.outputs[0].kind, "unknown");
  strictEqual(asWithdrawal.tx.non_beneficial_sat, 105_000n);
  // An HTLC output taking more than its input: the excess leaves our wallet and is fee, whatever
  // amount the node claims for the HTLC input.
  const greedy = signOnchain(ctxFor(), {
    utxos,
    psbt: mingle(120_000n, 375_000n),
    purpose: "mingle",
  });
  strictEqual(greedy.facts.tx.non_beneficial_sat, 25_000n);
  const lie = mingle(120_000n, 375_000n);
  lie.inputs[0].witnessUtxo = { script: htlcIn.outputs[0].script, amount: 120_000n };
  const lied = signOnchain(ctxFor(), { utxos, psbt: lie, purpose: "mingle" }).facts;
  strictEqual(lied.tx.input_sum_sat, 520_000n);
  strictEqual(lied.tx.non_beneficial_sat, 25_000n, "the lie about the HTLC input changes nothing");
  const signed = out.release();
  deepStrictEqual(signed.inputs[0].partialSigs, [], "the HTLC input is the channel's to sign");
  strictEqual(signed.inputs[1].partialSigs.length, 1);
});

// ---------------------------------------------------------------------------------------------
// Malformed requests

Deno.test("malformed requests are typed errors naming the problem", () => {
  const { request } = withdrawal();
  const ctx = ctxFor();
  const expect = (r: SignOnchainRequest, re: RegExp) =>
    throws(
      () => signOnchain(ctx, r),
      (e) => e instanceof NodeRequestError && e.code === "malformed" && re.test(e.message),
    );
  expect({ ...request, purpose: "splice" as "withdrawal" }, /sign_onchain: purpose/);
  expect(
    { ...request, utxos: [{ ...request.utxos[0], txid: new Uint8Array(31) }] },
    /utxos\.0\.txid/,
  );
  expect({ ...request, psbt: { ...request.psbt, inputs: [] } }, /sign_onchain: psbt/);
  const withSig: Psbt = {
    ...request.psbt,
    tx: {
      ...request.psbt.tx,
      inputs: request.psbt.tx.inputs.map((
        i,
        n,
      ) => (n === 1 ? { ...i, scriptSig: Uint8Array.of(0) } : i)),
    },
  };
  expect({ ...request, psbt: withSig }, /input 1: the unsigned transaction has a scriptSig/);
  expect({ ...request, utxos: [request.utxos[0], request.utxos[0]] }, /is listed twice/);
  expect(
    { ...request, utxos: [{ ...request.utxos[0], keyindex: 0x80000003 }] },
    /input 0: wallet key index 2147483651 is hardened/,
  );
  expect(
    { ...request, utxos: [{ ...request.utxos[0], keyindex: 4 }] },
    /input 0: the spent script is not P2WPKH, P2SH-P2WPKH or P2TR of wallet key 4/,
  );
  expect(
    { ...request, utxos: [{ ...request.utxos[0], script_pubkey: walletScript(4) }] },
    /input 0: the utxo script is not the PSBT's spent script/,
  );
  const finalized: Psbt = {
    ...request.psbt,
    inputs: request.psbt.inputs.map((i, n) => (n === 0 ? { ...i, finalScriptWitness: [] } : i)),
  };
  expect({ ...request, psbt: finalized }, /input 0: already finalized/);
  const noUtxo: Psbt = {
    ...request.psbt,
    inputs: request.psbt.inputs.map((i, n) =>
      n === 1 ? { ...i, witnessUtxo: undefined, nonWitnessUtxo: undefined } : i
    ),
  };
  expect({ ...request, psbt: noUtxo }, /input 1: no PSBT UTXO record for an input we sign/);
  // A taproot input needs every prevout, even of inputs that are not ours.
  const tap = buildPsbt(
    [{ prev: COINS, vout: 3 }, { prev: COINS, vout: 1, nonWitness: false, witness: false }],
    [{ amount: 1_000n, script: ALLOWLISTED }],
  );
  expect(
    { utxos: [utxoOf(COINS, 3, 8)], psbt: tap, purpose: "withdrawal" },
    /a taproot signature needs the spent output of every input/,
  );
  // A close_info with an invalid commitment point.
  expect(
    {
      ...request,
      utxos: [{
        ...request.utxos[0],
        close_info: {
          channel_id: 1n,
          peer_id: PEER,
          commitment_point: new Uint8Array(33),
          option_anchors: false,
          csv: 0,
        },
      }],
    },
    /close_info: the commitment point is not a valid point/,
  );
  // Unused utxo entries are ignored (CLN's hsmd does the same).
  const extra = signOnchain(ctx, {
    ...request,
    utxos: [...request.utxos, utxoOf(COINS, 2, 6)],
  });
  strictEqual(extra.facts.onchain.unused_utxo_count, 1);
  strictEqual(extra.facts.onchain.signed_input_count, 2);
});

Deno.test("the context must be consistent: the channel of that outpoint, a wallet index", () => {
  const ch = new Channel({ pushMsat: 0n });
  ch.open();
  const { request, channel } = funding(ch);
  const ctx: OnchainWalletContext = { ...ctxFor(), channelByFundingOutpoint: () => channel };
  throws(
    () => signOnchain(ctx, request),
    (e) =>
      e instanceof NodeRequestError && e.code === "invariant" &&
      /output 1 has another funding outpoint/.test(e.message),
  );
  throws(
    () => signOnchain({ ...ctxFor(), walletMaxUsedIndex: 1.5 }, withdrawal().request),
    (e) => e instanceof NodeRequestError && e.code === "invariant",
  );
  for (const walletGapLimit of [-1, 2.5]) {
    throws(
      () => signOnchain({ ...ctxFor(), walletGapLimit }, withdrawal().request),
      (e) =>
        e instanceof NodeRequestError && e.code === "invariant" &&
        e.message === "the context's wallet gap limit is invalid",
    );
  }
});

Deno.test("the highest used wallet index: raised by wallet outputs only, by one gap at most", () => {
  // Change next to the coins spent, all below the recorded index: recorded as is.
  deepStrictEqual(signOnchain(ctxFor({ maxUsed: 7 }), withdrawal().request).next, {
    walletMaxUsedIndex: 9,
  });
  // A wallet input's index alone (no wallet output) moves nothing.
  const far = prevTx([{ amount: 100_000n, script: walletScript(4500) }], 0x44);
  const spendFar = (change: Out) => ({
    utxos: [utxoOf(far, 0, 4500)],
    psbt: buildPsbt([{ prev: far, vout: 0 }], [change]),
    purpose: "withdrawal" as const,
  });
  deepStrictEqual(
    signOnchain(
      ctxFor({ maxUsed: 7, allowlist: [ALLOWLISTED] }),
      spendFar({
        amount: 99_000n,
        script: ALLOWLISTED,
      }),
    ).next,
    { walletMaxUsedIndex: 7 },
  );
  // Change next to a wallet input above the record: one step (the default 20, or the gap).
  const next = (o: { maxUsed?: number; walletGapLimit?: number; change: number }) =>
    signOnchain(
      { ...ctxFor({ maxUsed: o.maxUsed }), walletGapLimit: o.walletGapLimit },
      spendFar({ amount: 99_000n, script: walletScript(o.change), path: [o.change] }),
    ).next.walletMaxUsedIndex;
  strictEqual(next({ maxUsed: 7, change: 4501 }), 27);
  strictEqual(next({ change: 4501 }), 19, "from none used");
  strictEqual(next({ maxUsed: 7, walletGapLimit: 1000, change: 4501 }), 1007);
  strictEqual(next({ maxUsed: 7, walletGapLimit: 5000, change: 4501 }), 4501);
  // By what the policy let the change exceed that input by, when larger than the step.
  strictEqual(next({ maxUsed: 7, change: 4550 }), 57);
  // A change index at or below the record moves nothing.
  strictEqual(next({ maxUsed: 5000, change: 4501 }), 5000);
});

Deno.test("nextMaxUsedIndex: the pure rule", () => {
  const n = (maxUsed: number, walletInputs: number[], walletOutputs: number[], gapLimit?: number) =>
    nextMaxUsedIndex(maxUsed, { walletInputs, walletOutputs, gapLimit });
  strictEqual(n(-1, [], []), -1);
  strictEqual(n(-1, [3, 5], [20]), 19);
  strictEqual(n(20, [3, 5], [21]), 21);
  strictEqual(n(20, [3, 5], [1020]), 1020, "no input above the record: the policy bounded it");
  strictEqual(n(20, [0x7ffffffe], [0x7fffffff]), 40);
  strictEqual(n(20, [0x7ffffffe], [0x7fffffff], 1000), 1020);
  strictEqual(n(20, [0x7ffffffe], []), 20);
  strictEqual(n(20, [100], [150, 30]), 70);
  strictEqual(DEFAULT_WALLET_INDEX_STEP, 20);
});

Deno.test("sign_onchain facts register with the policy's fact registry", () => {
  const registry = new FactRegistry();
  for (const [kind, schema] of Object.entries(ONCHAIN_WALLET_FACT_KINDS)) {
    registry.registerKind(kind, schema, { description: kind });
  }
  const out = signOnchain(ctxFor({ allowlist: [ALLOWLISTED] }), withdrawal().request);
  assertSchema(out.facts);
  notDeepStrictEqual(out.facts.onchain.inputs, []);
  strictEqual(equal(out.release().tx.inputs[0].txid, txid(COINS)), true);
});
