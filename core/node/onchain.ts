/**
 * `sign_onchain`: the node's own on-chain wallet signing (rules-spec.md §2.C; vls.md rows 15-16):
 * CLN 7 `sign_withdrawal` (withdrawals, channel funding, `signpsbt`), the wallet inputs of CLN 147
 * `sign_anchorspend` (our anchor input is signed by core/channel/ops/anchor.ts) and CLN 149
 * `sign_htlc_tx_mingle` (the wallet inputs that pay an HTLC transaction's fee; the HTLC inputs are
 * signed by the channel operations).
 *
 * The request is the node's `utxo` list and PSBT (protocol.md §0 `utxo`, `closeinfo`). An input is
 * ours to sign when a utxo entry names its outpoint; the entry's amount and script must be those
 * of the PSBT's spent output (from the previous transaction when the PSBT carries it, its txid
 * checked against the prevout), and the key must pay that script:
 * - a wallet utxo: key m/0/0/keyindex as P2WPKH, P2SH-P2WPKH or BIP-86 P2TR (core/node/wallet.ts);
 * - a `closeinfo` utxo (an output to us of a unilateral close, CLN `hsm_unilateral_close_privkey`):
 *   without a commitment point, the channel's payment basepoint key, as P2WPKH or, with anchors,
 *   P2WSH of `<key> OP_CHECKSIGVERIFY <csv> OP_CHECKSEQUENCEVERIFY`; with a commitment point,
 *   either CLN's rotated to_remote key (legacy channels, P2WPKH) or VLS's reading, our delayed
 *   to_local of our holder commitment (P2WSH of BOLT #3 `to_local`, which needs the channel's
 *   setup from the context). The form whose script is the spent one is used; none is an error.
 *
 * Anything contradictory or unsignable is a {@link NodeRequestError} (nothing is signed). What is
 * a policy decision goes to the facts (core/node/facts_onchain_wallet.ts): the `tx` block of
 * {@link onchainTxFacts} (outputs as wallet / allowlisted / channel / unknown, beneficial and
 * non-beneficial value, the feerate over the weight lower bound), made stricter where this
 * operation can check more (segwit inputs vouched for; operator approval of unknown outputs;
 * HTLC pairs of a mingle), `wallet_info`, and the `onchain` block.
 *
 * The reply is what CLN's hsmd returns (`hsmd/libhsmd.c` `sign_our_inputs`, which calls libwally's
 * `wally_psbt_sign` per input and leaves finalizing to lightningd's `psbt_finalize`): the PSBT with
 * a PSBT_IN_PARTIAL_SIG (DER, low R as CLN's `EC_FLAG_GRIND_R`, SIGHASH_ALL) per ECDSA input and a
 * PSBT_IN_TAP_KEY_SIG (64 bytes, SIGHASH_DEFAULT) per taproot input. The scripts the finalizer
 * needs are added when missing: the redeem script of a P2SH-P2WPKH input, the witness script of a
 * P2WSH close input (CLN's hsmd sets that one too). No input is finalized (VLS finalizes instead;
 * lightningd accepts either).
 *
 * @module
 */
import { z } from "zod";
import { equal, fromHex, toHex } from "../bytes.ts";
import { isValidPublicKey } from "../crypto/mod.ts";
import {
  checkSignerInput,
  type PartialSig,
  type Psbt,
  PSBT_IN,
  PsbtError,
  type PsbtInput,
} from "../bitcoin/psbt.ts";
import { buildScript, p2sh, p2tr, p2wpkh, p2wpkhScriptCode, p2wsh } from "../bitcoin/script.ts";
import { signSegwitV0Input } from "../bitcoin/sign.ts";
import { signTaprootKeyPath, taprootOutputKey } from "../bitcoin/taproot.ts";
import { SIGHASH, txid, txidHex, type TxOutput } from "../bitcoin/tx.ts";
import { derivePrivateKey, derivePublicKey, deriveRevocationPublicKey } from "../bolt3/keys.ts";
import { fundingScript, toLocalScript } from "../bolt3/scripts.ts";
import type { OnchainOutputFactsT } from "../channel/facts_onchain.ts";
import { ChannelRequestError, type WalletView } from "../channel/ops/context.ts";
import { type ChannelOutputFacts, onchainTxFacts } from "../channel/ops/splice.ts";
import { feerateOf, type SpendTx, spendTxFromPsbt } from "../channel/ops/sweep.ts";
import type { ChannelSetup } from "../channel/types.ts";
import { ChannelId, type ChannelKeys, type NodeKeys } from "../keys/types.ts";
import type { CloseInfo, Utxo } from "../protocol/types.ts";
import type { OnchainWalletInputFactsT, SignOnchainFactsT } from "./facts_onchain_wallet.ts";
import {
  type NodeOpOutcome,
  NodeRequestError,
  parseRequest,
  zBytes,
  zBytesBetween,
} from "./sign_context.ts";

/** Why the node asks (the CLN message). */
export const ONCHAIN_PURPOSES = ["withdrawal", "anchorspend", "mingle"] as const;

/** One of {@link ONCHAIN_PURPOSES}. */
export type OnchainPurpose = typeof ONCHAIN_PURPOSES[number];

/** The keys the operation uses (tests may supply a subset of {@link NodeKeys}). */
export type OnchainSignerKeys = Pick<NodeKeys, "walletKey" | "walletPubkey" | "channelKeys">;

/** A ready channel whose funding outpoint an output of the transaction is. */
export interface FundingChannel {
  /** The channel's negotiated parameters (its `fundingOutpoint` is the output's outpoint). */
  setup: ChannelSetup;
  /** Our funding public key of the channel (33 bytes). */
  holderFundingPubkey: Uint8Array;
  /** The channel's H: 1 once holder commitment 0 was validated with the peer's signature. */
  nextHolderCommitNum: number;
}

/**
 * What `sign_onchain` needs besides the request; the service supplies it.
 *
 * `wallet` and `walletMaxUsedIndex` are the fields of the channel kinds' {@link OnchainContext}
 * that {@link onchainTxFacts} reads; the rest is node-level.
 */
export interface OnchainWalletContext {
  /** The node's keys (wallet keys; channel keys for `closeinfo` inputs). */
  keys: OnchainSignerKeys;
  /** Our wallet scripts and the operator's allowlist. */
  wallet: WalletView;
  /** Highest wallet index used so far (persisted by the service from `next`); -1 or absent: none. */
  walletMaxUsedIndex?: number;
  /**
   * The policy's `wallet_gap_limit`, if the service passes it: the most one transaction moves the
   * persisted highest used wallet index past its current value when the policy accepted change
   * next to a wallet input above it ({@link nextMaxUsedIndex}). Absent:
   * {@link DEFAULT_WALLET_INDEX_STEP}.
   */
  walletGapLimit?: number;
  /**
   * The ready channel whose funding outpoint is `txid:vout` (txid as lower-case hex in internal
   * byte order, as `ChannelSetup.fundingOutpoint`), or null. Absent: no output funds a channel.
   */
  channelByFundingOutpoint?(txid: string, vout: number): FundingChannel | null;
  /**
   * The setup of a channel (ready or closed, possibly forgotten), for a `closeinfo` input with a
   * commitment point read as our delayed to_local. Absent or null: that reading is unavailable.
   */
  channelSetup?(channelId: ChannelId): ChannelSetup | null;
  /**
   * Whether the operator approved the unknown outputs of the transaction with this txid (display
   * order hex, as `bitcoin-cli` prints it). Absent: nothing is approved.
   */
  approvedUnknownOutputs?(txid: string): boolean;
}

/** `sign_onchain` (CLN 7, 147, 149). */
export interface SignOnchainRequest {
  /** The node's description of the outputs it wants us to sign for (CLN `hsm_utxo`). */
  utxos: Utxo[];
  /** The transaction to sign, with the PSBT data of every input and output. */
  psbt: Psbt;
  /** Which message asked. */
  purpose: OnchainPurpose;
}

/**
 * How far one transaction may move the persisted highest used wallet index past its value when
 * the change was accepted next to a wallet input above it, if the service does not pass the
 * policy's gap ({@link OnchainWalletContext.walletGapLimit}): BIP-44's address gap limit, 20.
 */
export const DEFAULT_WALLET_INDEX_STEP = 20;

/** What the service persists when the policy allows the request. */
export interface OnchainWalletNext {
  /**
   * The highest wallet index used so far, raised by this transaction's wallet outputs only and
   * by at most one gap ({@link nextMaxUsedIndex}); `policy-onchain-wallet-path-predictable`
   * bounds new change indexes with it.
   */
  walletMaxUsedIndex: number;
}

const U32 = z.number().int().min(0).max(0xffffffff);
const MAX_SAT = 2_100_000_000_000_000n;

const CloseInfoSchema = z.object({
  channel_id: z.bigint().min(0n).max(0xffffffffffffffffn),
  peer_id: zBytes(33),
  commitment_point: zBytes(33).nullable(),
  option_anchors: z.boolean(),
  csv: U32,
});

const UtxoSchema = z.object({
  txid: zBytes(32),
  outnum: U32,
  amount_sat: z.bigint().min(0n).max(MAX_SAT),
  keyindex: U32,
  is_p2sh: z.boolean(),
  script_pubkey: zBytesBetween(1, 10_000),
  close_info: CloseInfoSchema.nullable(),
  is_in_coinbase: z.boolean(),
});

function isPsbtShape(value: unknown): value is Psbt {
  const p = value as Psbt;
  return typeof p === "object" && p !== null && typeof p.tx === "object" && p.tx !== null &&
    Array.isArray(p.tx.inputs) && Array.isArray(p.tx.outputs) && Array.isArray(p.inputs) &&
    Array.isArray(p.outputs) && p.inputs.length === p.tx.inputs.length &&
    p.outputs.length === p.tx.outputs.length;
}

const RequestSchema = z.object({
  utxos: z.array(UtxoSchema).max(65_535),
  psbt: z.custom<Psbt>(isPsbtShape, {
    message: "must be a PSBT with one input map per input and one output map per output",
  }),
  purpose: z.enum(ONCHAIN_PURPOSES),
});

/** How an input we sign is spent. */
type Form = "p2wpkh" | "p2sh_p2wpkh" | "p2tr" | "p2wsh";

/** An input this request signs, resolved at request time. */
interface Plan {
  index: number;
  owner: "wallet" | "close";
  form: Form;
  /** The public key that signs (33 bytes). */
  pubkey: Uint8Array;
  amount: bigint;
  /** BIP-143 scriptCode (ECDSA forms). */
  scriptCode: Uint8Array;
  /** P2SH-P2WPKH: the redeem script. */
  redeemScript?: Uint8Array;
  /** P2WSH: the witness script. */
  witnessScript?: Uint8Array;
  /** Witness bytes besides the signature, for the weight lower bound (§1.13). */
  witnessSuffixBytes: number;
  /** Derives the 32-byte signing secret; the caller zeroizes it. */
  secret(): Uint8Array;
  /** Wallet index (-1 for close inputs). */
  walletIndex: number;
}

const bad = (message: string) => new NodeRequestError("malformed", message);

function outpointKey(txidBytes: Uint8Array, vout: number): string {
  return `${toHex(txidBytes)}:${vout}`;
}

function isWitnessProgram(script: Uint8Array): boolean {
  const op = script[0];
  return script.length >= 4 && script.length <= 42 &&
    (op === 0x00 || (op >= 0x51 && op <= 0x60)) && script[1] === script.length - 2;
}

function scriptType(script: Uint8Array): string {
  const n = script.length;
  if (n === 22 && script[0] === 0x00 && script[1] === 0x14) return "p2wpkh";
  if (n === 34 && script[0] === 0x00 && script[1] === 0x20) return "p2wsh";
  if (n === 34 && script[0] === 0x51 && script[1] === 0x20) return "p2tr";
  if (n === 23 && script[0] === 0xa9 && script[1] === 0x14 && script[22] === 0x87) return "p2sh";
  if (
    n === 25 && script[0] === 0x76 && script[1] === 0xa9 && script[2] === 0x14 &&
    script[23] === 0x88 && script[24] === 0xac
  ) return "p2pkh";
  return "other";
}

/** Per §1.13: P2WPKH pubkey (33, as VLS); P2SH adds its 23-byte scriptSig at 4 weight units. */
const WPKH_SUFFIX = 33;
const SH_WPKH_SUFFIX = 33 + 23 * 4;

function walletPlan(
  ctx: OnchainWalletContext,
  options: { index: number; utxo: Utxo; spent: TxOutput },
): Plan {
  const { index, utxo, spent } = options;
  const keyindex = utxo.keyindex;
  if (keyindex >= 0x80000000) {
    throw bad(`input ${index}: wallet key index ${keyindex} is hardened (CLN refuses it too)`);
  }
  const pubkey = ctx.keys.walletPubkey(keyindex);
  const wpkh = p2wpkh(pubkey);
  const base = {
    index,
    owner: "wallet" as const,
    pubkey,
    amount: spent.amount,
    scriptCode: p2wpkhScriptCode(pubkey),
    walletIndex: keyindex,
    secret: () => {
      const key = ctx.keys.walletKey(keyindex);
      const copy = key.secret.expose().slice();
      key.secret.zeroize();
      return copy;
    },
  };
  if (equal(spent.script, wpkh)) {
    return { ...base, form: "p2wpkh", witnessSuffixBytes: WPKH_SUFFIX };
  }
  if (equal(spent.script, p2sh(wpkh))) {
    return {
      ...base,
      form: "p2sh_p2wpkh",
      redeemScript: wpkh,
      witnessSuffixBytes: SH_WPKH_SUFFIX,
    };
  }
  if (equal(spent.script, p2tr(taprootOutputKey(pubkey)))) {
    return { ...base, form: "p2tr", witnessSuffixBytes: 0 };
  }
  throw bad(
    `input ${index}: the spent script is not P2WPKH, P2SH-P2WPKH or P2TR of wallet key ${keyindex}`,
  );
}

/** CLN `bitcoin_wscript_to_remote_anchored`: `<key> OP_CHECKSIGVERIFY <csv> OP_CSV`. */
function toRemoteAnchoredScript(pubkey: Uint8Array, csv: number): Uint8Array {
  return buildScript(pubkey, "CHECKSIGVERIFY", csv, "CHECKSEQUENCEVERIFY");
}

interface CloseCandidate {
  script: Uint8Array;
  form: Form;
  pubkey: Uint8Array;
  witnessScript?: Uint8Array;
  witnessSuffixBytes: number;
  secret(): Uint8Array;
}

function closeCandidates(ctx: OnchainWalletContext, ci: CloseInfo): CloseCandidate[] {
  let channelId: ChannelId;
  try {
    channelId = ChannelId.fromPeerDbid(ci.peer_id, ci.channel_id);
  } catch (e) {
    throw bad(`close_info: ${(e as Error).message}`);
  }
  const keys = ctx.keys.channelKeys(channelId);
  const bp = keys.basepoints;
  keys.zeroize();
  const withKeys = (f: (k: ChannelKeys) => Uint8Array) => () => {
    const k = ctx.keys.channelKeys(channelId);
    try {
      return f(k);
    } finally {
      k.zeroize();
    }
  };
  const point = ci.commitment_point;
  if (point === null) {
    // Static remotekey: the payment basepoint itself (CLN: `secrets.payment_basepoint_secret`).
    const secret = withKeys((k) => k.paymentBaseSecret.expose().slice());
    if (ci.option_anchors) {
      const ws = toRemoteAnchoredScript(bp.payment, ci.csv);
      return [{
        script: p2wsh(ws),
        form: "p2wsh",
        pubkey: bp.payment,
        witnessScript: ws,
        witnessSuffixBytes: 1 + ws.length,
        secret,
      }];
    }
    return [{
      script: p2wpkh(bp.payment),
      form: "p2wpkh",
      pubkey: bp.payment,
      witnessSuffixBytes: WPKH_SUFFIX,
      secret,
    }];
  }
  if (!isValidPublicKey(point)) throw bad("close_info: the commitment point is not a valid point");
  // CLN: a legacy (rotated) to_remote key, `derive_simple_privkey(payment_basepoint_secret, point)`.
  const rotated = derivePublicKey(bp.payment, point);
  const out: CloseCandidate[] = [{
    script: p2wpkh(rotated),
    form: "p2wpkh",
    pubkey: rotated,
    witnessSuffixBytes: WPKH_SUFFIX,
    secret: withKeys((k) => derivePrivateKey(k.paymentBaseSecret.expose(), point)),
  }];
  // VLS: our delayed to_local of our holder commitment with that point.
  const setup = ctx.channelSetup?.(channelId) ?? null;
  if (setup !== null) {
    const delayed = derivePublicKey(bp.delayedPayment, point);
    const ws = toLocalScript({
      revocationKey: deriveRevocationPublicKey(
        fromHex(setup.counterparty.revocationBasepoint),
        point,
      ),
      broadcasterDelayedPaymentKey: delayed,
      toSelfDelay: setup.counterpartySelectedContestDelay,
    });
    out.push({
      script: p2wsh(ws),
      form: "p2wsh",
      pubkey: delayed,
      witnessScript: ws,
      // `<sig> <> <script>`: the empty selector and the script.
      witnessSuffixBytes: 1 + 1 + ws.length,
      secret: withKeys((k) => derivePrivateKey(k.delayedPaymentBaseSecret.expose(), point)),
    });
  }
  return out;
}

function closePlan(
  ctx: OnchainWalletContext,
  options: { index: number; ci: CloseInfo; spent: TxOutput },
): Plan {
  const { index, ci, spent } = options;
  const match = closeCandidates(ctx, ci).find((c) => equal(c.script, spent.script));
  if (!match) {
    throw bad(`input ${index}: close_info does not describe the spent output's script`);
  }
  return {
    index,
    owner: "close",
    form: match.form,
    pubkey: match.pubkey,
    amount: spent.amount,
    scriptCode: match.witnessScript ?? p2wpkhScriptCode(match.pubkey),
    witnessScript: match.witnessScript,
    witnessSuffixBytes: match.witnessSuffixBytes,
    secret: match.secret,
    walletIndex: -1,
  };
}

function nodeError(e: unknown): never {
  if (e instanceof ChannelRequestError || e instanceof PsbtError) throw bad(e.message);
  throw e;
}

/** The txid and vout of a channel's funding outpoint equal `txid:vout`. */
function fundsOutpoint(ch: FundingChannel, txidInternal: string, vout: number): boolean {
  return ch.setup.fundingOutpoint.txid === txidInternal && ch.setup.fundingOutpoint.vout === vout;
}

/**
 * Sign our inputs of an on-chain transaction (CLN 7, 147 wallet inputs, 149). Throws
 * {@link NodeRequestError} when the request is malformed or names an input we cannot sign.
 */
export function signOnchain(
  ctx: OnchainWalletContext,
  request: SignOnchainRequest,
): NodeOpOutcome<SignOnchainFactsT, Psbt, OnchainWalletNext> {
  const { utxos, psbt, purpose } = parseRequest(RequestSchema, request, "sign_onchain");
  const maxUsed = ctx.walletMaxUsedIndex ?? -1;
  if (!Number.isSafeInteger(maxUsed) || maxUsed < -1 || maxUsed >= 0x80000000) {
    throw new NodeRequestError("invariant", "the context's highest used wallet index is invalid");
  }
  const gap = ctx.walletGapLimit;
  if (gap !== undefined && (!Number.isSafeInteger(gap) || gap < 0)) {
    throw new NodeRequestError("invariant", "the context's wallet gap limit is invalid");
  }
  const { tx } = psbt;
  const inputCount = tx.inputs.length;

  // The unsigned transaction: no scriptSig or witness, no outpoint spent twice.
  const seen = new Set<string>();
  tx.inputs.forEach((input, i) => {
    if (input.scriptSig.length > 0 || input.witness.length > 0) {
      throw bad(`input ${i}: the unsigned transaction has a scriptSig or witness`);
    }
    const key = outpointKey(input.txid, input.vout);
    if (seen.has(key)) throw bad(`input ${i}: outpoint spent twice`);
    seen.add(key);
  });

  // What the PSBT says each input spends (a non-witness UTXO's txid is checked here).
  let spend: SpendTx;
  try {
    spend = spendTxFromPsbt(psbt);
  } catch (e) {
    nodeError(e);
  }

  // The utxo entries name the inputs we sign.
  const byOutpoint = new Map<string, Utxo>();
  for (const u of utxos) {
    const key = outpointKey(u.txid, u.outnum);
    if (byOutpoint.has(key)) throw bad(`utxo ${toHex(u.txid)}:${u.outnum} is listed twice`);
    byOutpoint.set(key, u);
  }
  const plans: (Plan | null)[] = tx.inputs.map((input, index) => {
    const utxo = byOutpoint.get(outpointKey(input.txid, input.vout));
    if (!utxo) return null;
    const spent = spend.spent[index];
    if (spent === null) throw bad(`input ${index}: no PSBT UTXO record for an input we sign`);
    if (spent.amount !== utxo.amount_sat) {
      throw bad(
        `input ${index}: the utxo amount ${utxo.amount_sat} is not the PSBT's ${spent.amount}`,
      );
    }
    if (!equal(spent.script, utxo.script_pubkey)) {
      throw bad(`input ${index}: the utxo script is not the PSBT's spent script`);
    }
    try {
      checkSignerInput(psbt, index);
    } catch (e) {
      nodeError(e);
    }
    return utxo.close_info === null
      ? walletPlan(ctx, { index, utxo, spent })
      : closePlan(ctx, { index, ci: utxo.close_info, spent });
  });
  const owned = plans.filter((p): p is Plan => p !== null);
  const usedUtxos = new Set(
    tx.inputs.map((i) => outpointKey(i.txid, i.vout)).filter((k) => byOutpoint.has(k)),
  );
  const signsTaproot = owned.some((p) => p.form === "p2tr");
  const hasPrevTx = (i: number) => psbt.inputs[i].nonWitnessUtxo !== undefined;
  // A taproot signature of ours vouches for the other inputs only when its input is proven ours:
  // its previous transaction (txid checked against the prevout) pays our key at the amount the
  // plan signs. A coin the node merely claims pays our key may be its own; our signature on it
  // is then never needed, and would vouch for nothing.
  const taprootVouches = owned.some((p) => p.form === "p2tr" && hasPrevTx(p.index));
  if (signsTaproot && spend.spent.some((s) => s === null)) {
    throw bad("a taproot signature needs the spent output of every input (BIP-341)");
  }
  for (const p of owned) {
    const input = psbt.inputs[p.index];
    if (input.finalScriptSig || input.finalScriptWitness) {
      throw bad(`input ${p.index}: already finalized`);
    }
  }

  // Wallet inputs' paths are the utxo key indexes (VLS `sign_withdrawal` ipaths).
  spend = {
    ...spend,
    inputPaths: plans.map((p) => (p?.owner === "wallet" ? [p.walletIndex] : [])),
  };

  // Channel funding outputs, found by outpoint.
  const txidInternal = toHex(txid(tx));
  const channelFacts = new Map<TxOutput, ChannelOutputFacts>();
  tx.outputs.forEach((o, vout) => {
    const ch = ctx.channelByFundingOutpoint?.(txidInternal, vout) ?? null;
    if (ch === null) return;
    if (!fundsOutpoint(ch, txidInternal, vout)) {
      throw new NodeRequestError(
        "invariant",
        `the channel found for output ${vout} has another funding outpoint`,
      );
    }
    const { setup } = ch;
    const expected = p2wsh(
      fundingScript(ch.holderFundingPubkey, fromHex(setup.counterparty.fundingPubkey)),
    );
    channelFacts.set(o, {
      value_sat: setup.channelValueSat,
      push_msat: setup.pushMsat,
      is_outbound: setup.isOutbound,
      script_matches: equal(o.script, expected),
      amount_matches: o.amount === setup.channelValueSat,
      holder_next: ch.nextHolderCommitNum,
    });
  });

  const shared = onchainTxFacts(ctx, spend, {
    signed: owned.map((p) => ({ index: p.index, witnessSuffixBytes: p.witnessSuffixBytes })),
    channelOutput: (o) => channelFacts.get(o) ?? null,
    fundedSat: 0n,
  });

  // Mingle: a foreign input and the unknown output of the same index are an HTLC pair. The pair's
  // input is left out of the input sum, so what counts is what leaves the other inputs (ours): an
  // HTLC output that takes more than its input is paid from them and stays in the fee. A pair
  // needs no approval, so an attacker can pair its own output with its own input, but it gains
  // nothing over the fee budget: the paired output is not beneficial, so all of our (verified)
  // inputs' value that does not come back to a wallet, allowlisted or approved output is
  // non-beneficial and bounded by policy-onchain-fee-range. Neither does the pair's input amount
  // (the node's word) enter the sum. The input at a paired output's index is never one we sign
  // here, and a request that signs it sees that output unpaired (unknown, needing approval).
  let pairedIn = 0n;
  const pairedOutput = new Map<number, number>();
  const outputs = shared.tx.outputs.map((o): OnchainOutputFactsT => {
    const i = o.index;
    const pairable = purpose === "mingle" && o.kind === "unknown" && !o.has_path &&
      i < inputCount && plans[i] === null;
    if (!pairable) return o;
    pairedIn += spend.spent[i]?.amount ?? 0n;
    pairedOutput.set(i, i);
    return { ...o, kind: "htlc_tx" };
  });

  // Operator approval of the unknown outputs without a path: a payment, not a fee.
  const approved = ctx.approvedUnknownOutputs?.(txidHex(tx)) ?? false;
  const approvedSat = approved
    ? outputs.filter((o) => o.kind === "unknown" && !o.has_path)
      .reduce((s, o) => s + o.amount_sat, 0n)
    : 0n;
  const t = shared.tx;
  const nb = t.input_sum_sat - pairedIn - t.beneficial_sat - approvedSat;
  const nonBeneficial = nb > 0n ? nb : 0n;

  // Which inputs' amounts and scripts are vouched for (vls.md §2.6, the input-amount lie): its
  // previous transaction; or a taproot signature of ours over a coin proven ours (BIP-341 commits
  // to every input's amount and script, and the transaction cannot be valid without that
  // signature); or, for a taproot input we sign, our own signature. The last is safe without a
  // proof: if the coin is ours, a lie about any amount makes the signature invalid, and if it is
  // the node's own coin, its claimed amount only adds to the value counted as leaving us.
  const inputs = tx.inputs.map((_, i): OnchainWalletInputFactsT => {
    const p = plans[i];
    const s = spend.spent[i];
    const prevTx = hasPrevTx(i);
    const verified = s !== null && (prevTx || taprootVouches || p?.form === "p2tr");
    const segwit = s !== null && (isWitnessProgram(s.script) || p?.form === "p2sh_p2wpkh");
    return {
      index: i,
      owner: p?.owner ?? "foreign",
      script_type: p?.form ?? (s ? scriptType(s.script) : "other"),
      amount_sat: s?.amount ?? 0n,
      has_non_witness_utxo: prevTx,
      verified,
      segwit_verified: verified && segwit,
      wallet_index: p?.walletIndex ?? -1,
      paired_output: pairedOutput.get(i) ?? -1,
    };
  });
  // Our contribution to channel funding: the channel outputs (we fund them alone).
  const channelOutputs = outputs.filter((o) => o.kind === "channel");
  const fundedSat = channelOutputs.reduce((sum, o) => sum + o.amount_sat, 0n);
  const walletOutputIndexes = outputs.filter((o) => o.kind === "wallet").map((o) => o.path_index);
  const walletInputIndexes = owned.filter((p) => p.owner === "wallet").map((p) => p.walletIndex);
  const maxOf = (xs: number[]) => xs.reduce((m, x) => Math.max(m, x), -1);

  const facts: SignOnchainFactsT = {
    request: shared.request,
    tx: {
      ...t,
      all_inputs_segwit: inputs.every((i) => i.segwit_verified),
      non_beneficial_sat: nonBeneficial,
      non_beneficial_feerate_per_kw: feerateOf(nonBeneficial, t.weight_lower_bound),
      unknown_outputs_approved: approved,
      approved_unknown_sat: approvedSat,
      funded_sat: fundedSat,
      outputs,
    },
    wallet_info: shared.walletInfo,
    onchain: {
      purpose,
      input_count: inputCount,
      signed_input_count: owned.length,
      wallet_input_count: owned.filter((p) => p.owner === "wallet").length,
      close_input_count: owned.filter((p) => p.owner === "close").length,
      foreign_input_count: inputCount - owned.length,
      unused_utxo_count: utxos.length - usedUtxos.size,
      signs_taproot: signsTaproot,
      all_inputs_verified: inputs.every((i) => i.verified),
      non_beneficial_msat: nonBeneficial * 1000n,
      funded_channel_count: channelOutputs.length,
      max_wallet_input_index: maxOf(walletInputIndexes),
      max_wallet_output_index: maxOf(walletOutputIndexes),
      inputs,
    },
  };

  const prevouts = spend.spent.filter((s): s is TxOutput => s !== null);
  return {
    kind: "sign_onchain",
    facts,
    next: {
      walletMaxUsedIndex: nextMaxUsedIndex(maxUsed, {
        walletInputs: walletInputIndexes,
        walletOutputs: walletOutputIndexes,
        gapLimit: ctx.walletGapLimit,
      }),
    },
    release: () => signPlans(psbt, { plans: owned, prevouts }),
  };
}

/**
 * The highest wallet index used after a transaction the policy allowed: `maxUsed` raised by the
 * transaction's wallet *outputs* (change the policy approved), never by its wallet inputs, and by
 * at most one gap per transaction.
 *
 * An input's key index is the node's word: a previous transaction is only checked against the
 * prevout's txid, so a made-up coin "at" key 2^31-2 signs as well as a real one (the transaction
 * can never confirm, but the index would stay). An output's index was bounded by
 * `policy-onchain-wallet-path-predictable`: at most `wallet_gap_limit` past
 * `max(maxUsed, highest wallet input index)`. When no wallet input is above `maxUsed`, that bound
 * is `maxUsed` plus the gap, and the output index is recorded as is. When one is (a coin the
 * signer had not seen, or a made-up one), the output may be far past `maxUsed`: the record then
 * moves by at most `gapLimit` (default {@link DEFAULT_WALLET_INDEX_STEP}) or by what the policy
 * let the output exceed that input by (itself at most the policy's gap), whichever is larger.
 * A restore that scans a gap past the coins it finds can then be led astray by at most one gap
 * per signed transaction, not sent to an index no restore reaches in one request.
 */
export function nextMaxUsedIndex(
  maxUsed: number,
  options: { walletInputs: number[]; walletOutputs: number[]; gapLimit?: number },
): number {
  const highest = (xs: number[]) => xs.reduce((m, x) => Math.max(m, x), -1);
  const out = highest(options.walletOutputs);
  if (out <= maxUsed) return maxUsed;
  const anchor = Math.max(maxUsed, highest(options.walletInputs));
  const gap = options.gapLimit ?? DEFAULT_WALLET_INDEX_STEP;
  const step = Math.max(gap, out - anchor);
  return Math.min(out, maxUsed + step);
}

function withPartialSig(input: PsbtInput, sig: PartialSig): PsbtInput {
  return {
    ...input,
    partialSigs: [...input.partialSigs.filter((s) => !equal(s.pubkey, sig.pubkey)), sig],
  };
}

/** Sign every planned input of a copy of `psbt` (the request's PSBT is not changed). */
function signPlans(psbt: Psbt, options: { plans: Plan[]; prevouts: TxOutput[] }): Psbt {
  const inputs = psbt.inputs.map((i) => ({ ...i }));
  for (const p of options.plans) {
    const secret = p.secret();
    try {
      let input = inputs[p.index];
      if (p.form === "p2tr") {
        const sig = signTaprootKeyPath(psbt.tx, p.index, { prevouts: options.prevouts, secret });
        input = {
          ...input,
          unknowns: [
            ...input.unknowns.filter((u) => u.keyType !== PSBT_IN.TAP_KEY_SIG),
            { keyType: PSBT_IN.TAP_KEY_SIG, keyData: new Uint8Array(), value: sig },
          ],
        };
      } else {
        const signature = signSegwitV0Input(psbt.tx, p.index, {
          scriptCode: p.scriptCode,
          amount: p.amount,
          secretKey: secret,
          sighashType: SIGHASH.ALL,
          lowR: true,
        });
        input = withPartialSig(input, { pubkey: p.pubkey, signature });
        if (p.redeemScript && !input.redeemScript) input.redeemScript = p.redeemScript;
        if (p.witnessScript && !input.witnessScript) input.witnessScript = p.witnessScript;
      }
      inputs[p.index] = input;
    } finally {
      secret.fill(0);
    }
  }
  return { ...psbt, inputs };
}
