/**
 * `sign_splice`: our signature on the channel's 2-of-2 funding input of a splice transaction (CLN
 * 29 `sign_splice_tx`: the transaction with its PSBT, the remote funding key and the input index;
 * LDK `sign_splicing_funding_input` has the same shape). Also the on-chain transaction block
 * (rules-spec.md §2.C) shared with `sign_anchor_spend` and the node's `sign_onchain`.
 *
 * What is checked: the input spends the channel's funding outpoint with the channel value; the new
 * funding output (P2WSH of the 2-of-2 of our funding key and the remote one) is recognised; every
 * other output is classified (wallet at its PSBT path, allowlist, unknown), and the value removed
 * from the channel is compared with what comes back to our wallet. Which party a removed value
 * belongs to is not visible in the splice transaction (it is in the new commitments, which this
 * state model does not hold yet), so `splice.unaccounted_removed_sat` treats every removed satoshi
 * that does not come back to us as possibly ours: a conservative fact.
 *
 * The signature uses the funding script of the stored setup and the stored channel value, never the
 * node's amount. The state does not change (the new funding becomes the channel's through a new
 * setup once locked).
 *
 * @module
 */
import { equal, fromHex } from "../../bytes.ts";
import { p2wsh } from "../../bitcoin/script.ts";
import { encodeTx, SIGHASH, stripSignatures, type TxOutput } from "../../bitcoin/tx.ts";
import { fundingScript } from "../../bolt3/scripts.ts";
import type {
  OnchainOutputFactsT,
  OnchainRequestFactsT,
  OnchainTxFactsT,
  SpliceKindFactsT,
  WalletInfoFactsT,
} from "../facts_onchain.ts";
import {
  channelFacts,
  ChannelRequestError,
  EMPTY_WALLET,
  type OpContext,
  type OpOutcome,
  readySetup,
  stateFacts,
} from "./context.ts";
import {
  checkPoint,
  checkSpendTx,
  destinationFacts,
  feerateOf,
  type InputSignature,
  signInput,
  type SpendTx,
  unsignedWeight,
  walletPathOk,
} from "./sweep.ts";

/** The context of the on-chain kinds: the operation context plus wallet bookkeeping. */
export interface OnchainContext extends OpContext {
  /** Highest wallet index used so far, if the node state tracks it (-1 or absent: unknown). */
  walletMaxUsedIndex?: number;
}

/** What a channel output of an on-chain transaction is. */
export type ChannelOutputFacts = OnchainOutputFactsT["channel"];

/** Options of {@link onchainTxFacts}. */
export interface OnchainTxOptions {
  /** The inputs this request signs, with the witness bytes besides our signature (§1.13). */
  signed: { index: number; witnessSuffixBytes: number }[];
  /** Recognise a channel funding output (null: not one). */
  channelOutput?: (output: TxOutput) => ChannelOutputFacts | null;
  /** Value added to a channel. */
  fundedSat: bigint;
}

/** The on-chain facts of a spend, and the sums the splice facts need. */
export interface OnchainTxResult {
  /** The `tx` block. */
  tx: OnchainTxFactsT;
  /** The `request` block. */
  request: OnchainRequestFactsT;
  /** The `wallet_info` block. */
  walletInfo: WalletInfoFactsT;
  /** Inputs that pay our wallet key at their PSBT path. */
  holderInputsSat: bigint;
  /** Wallet and allowlisted outputs. */
  holderOutputsSat: bigint;
  /** Outputs of kind "unknown". */
  unknownOutputsSat: bigint;
}

const NO_CHANNEL: ChannelOutputFacts = {
  value_sat: 0n,
  push_msat: 0n,
  is_outbound: false,
  script_matches: false,
  amount_matches: false,
  holder_next: 0,
};

function isWitnessProgram(script: Uint8Array): boolean {
  const op = script[0];
  return script.length >= 4 && script.length <= 42 &&
    (op === 0x00 || (op >= 0x51 && op <= 0x60)) && script[1] === script.length - 2;
}

function isP2sh(script: Uint8Array): boolean {
  return script.length === 23 && script[0] === 0xa9 && script[1] === 0x14 && script[22] === 0x87;
}

/**
 * The `tx` block of an on-chain transaction (rules-spec.md §2.C): every output classified (our
 * wallet at its PSBT path, the allowlist, a channel output, or unknown), the beneficial and
 * non-beneficial value, and the feerate of the latter over the §1.13 weight lower bound.
 */
export function onchainTxFacts(
  ctx: Pick<OnchainContext, "wallet" | "walletMaxUsedIndex">,
  spend: SpendTx,
  options: OnchainTxOptions,
): OnchainTxResult {
  const wallet = ctx.wallet ?? EMPTY_WALLET;
  const { tx } = spend;
  let beneficial = 0n;
  let holderOutputs = 0n;
  let unknown = 0n;
  const outputs = tx.outputs.map((o, index): OnchainOutputFactsT => {
    const path = spend.outputPaths[index];
    const d = destinationFacts(wallet, o, path);
    const channel = !d.in_wallet && !d.allowlisted ? options.channelOutput?.(o) ?? null : null;
    const kind = d.in_wallet
      ? "wallet"
      : d.allowlisted
      ? "allowlisted_address"
      : channel
      ? "channel"
      : "unknown";
    if (kind === "wallet" || kind === "allowlisted_address") {
      beneficial += o.amount;
      holderOutputs += o.amount;
    } else if (channel) {
      const push = channel.push_msat / 1000n;
      beneficial += o.amount > push ? o.amount - push : 0n;
    } else unknown += o.amount;
    return {
      index,
      amount_sat: o.amount,
      script: d.script,
      kind,
      has_path: path.length > 0,
      path_len: d.path_len,
      path_index: d.path_index,
      channel: channel ?? NO_CHANNEL,
    };
  });
  const inputSum = spend.spent.reduce((s, x) => s + (x?.amount ?? 0n), 0n);
  let holderInputs = 0n;
  let allSegwit = true;
  spend.spent.forEach((x, i) => {
    const path = spend.inputPaths[i];
    const walletPays = x !== null && path.length === 1 && path[0] < 0x80000000 &&
      wallet.paysWallet(x.script, path[0]);
    if (walletPays) holderInputs += x?.amount ?? 0n;
    if (x === null || !(isWitnessProgram(x.script) || (isP2sh(x.script) && walletPays))) {
      allSegwit = false;
    }
  });
  const weightLowerBound = unsignedWeight(tx) +
    options.signed.reduce((s, x) => s + 2 + 1 + 1 + 72 + 1 + x.witnessSuffixBytes, 0);
  const arithmeticOk = spend.spent.every((x) => x !== null) && inputSum >= beneficial;
  const nonBeneficial = inputSum > beneficial ? inputSum - beneficial : 0n;
  return {
    tx: {
      version: tx.version,
      base_size: encodeTx(stripSignatures(tx), { witness: false }).length,
      funds_channel: outputs.some((o) => o.kind === "channel"),
      all_inputs_segwit: allSegwit,
      input_sum_sat: inputSum,
      weight_lower_bound: weightLowerBound,
      beneficial_sat: beneficial,
      non_beneficial_sat: nonBeneficial,
      non_beneficial_feerate_per_kw: feerateOf(nonBeneficial, weightLowerBound),
      unknown_outputs_approved: false,
      approved_unknown_sat: 0n,
      funded_sat: options.fundedSat,
      outputs,
    },
    request: {
      arithmetic_ok: arithmeticOk,
      wallet_lookup_ok: [...spend.inputPaths, ...spend.outputPaths].every(walletPathOk),
    },
    walletInfo: { expected_path_len: 1, max_used_index: ctx.walletMaxUsedIndex ?? -1 },
    holderInputsSat: holderInputs,
    holderOutputsSat: holderOutputs,
    unknownOutputsSat: unknown,
  };
}

/** `sign_splice`. */
export interface SpliceRequest {
  /** The splice transaction and what its PSBT says. */
  spend: SpendTx;
  /** The remote funding key the node uses for our input's 2-of-2 (CLN). */
  remoteFundingPubkey: Uint8Array;
  /** Our funding input. */
  inputIndex: number;
  /** The new channel value, when the caller knows it (e.g. from the splice negotiation). */
  newChannelValueSat?: bigint;
}

/** Witness bytes of a 2-of-2 spend besides our signature: `0`, their signature, the script. */
const FUNDING_WITNESS_SUFFIX = 1 + 73 + 72;

/** Sign our funding input of a splice transaction (CLN 29). */
export function signSplice(
  ctx: OnchainContext,
  request: SpliceRequest,
): OpOutcome<SpliceKindFactsT, InputSignature> {
  checkSpendTx(request.spend, request.inputIndex);
  checkPoint(request.remoteFundingPubkey, "remote funding key");
  const expected = request.newChannelValueSat;
  if (expected !== undefined && (typeof expected !== "bigint" || expected < 0n)) {
    throw new ChannelRequestError("malformed", "new channel value must be a bigint >= 0");
  }
  const setup = readySetup(ctx.state);
  const e = ctx.state.enforcement;
  const { tx, spent } = request.spend;
  const input = tx.inputs[request.inputIndex];
  const spendsFunding = equal(input.txid, fromHex(setup.fundingOutpoint.txid)) &&
    input.vout === setup.fundingOutpoint.vout;
  const inputAmount = spent[request.inputIndex]?.amount ?? 0n;
  const setupRemote = fromHex(setup.counterparty.fundingPubkey);
  const fundingScripts = [
    p2wsh(fundingScript(ctx.keys.fundingPubkey, request.remoteFundingPubkey)),
    p2wsh(fundingScript(ctx.keys.fundingPubkey, setupRemote)),
  ];
  const isNewFunding = (o: TxOutput) => fundingScripts.some((s) => equal(s, o.script));
  const newFunding = tx.outputs.filter(isNewFunding);
  const oldValue = setup.channelValueSat;
  const newValue = newFunding[0]?.amount ?? 0n;
  const added = newValue > oldValue ? newValue - oldValue : 0n;
  const removed = oldValue > newValue ? oldValue - newValue : 0n;
  const onchain = onchainTxFacts(ctx, request.spend, {
    signed: [{ index: request.inputIndex, witnessSuffixBytes: FUNDING_WITNESS_SUFFIX }],
    channelOutput: (o) =>
      isNewFunding(o)
        ? {
          value_sat: expected ?? o.amount,
          push_msat: 0n,
          is_outbound: setup.isOutbound,
          script_matches: true,
          amount_matches: expected === undefined || o.amount === expected,
          holder_next: e.nextHolderCommitNum,
        }
        : null,
    fundedSat: added,
  });
  const net = onchain.holderOutputsSat > onchain.holderInputsSat
    ? onchain.holderOutputsSat - onchain.holderInputsSat
    : 0n;
  const holderInfo = e.currentHolder?.info;
  const facts: SpliceKindFactsT = {
    channel: channelFacts(ctx),
    state: stateFacts(e),
    request: onchain.request,
    tx: onchain.tx,
    wallet_info: onchain.walletInfo,
    splice: {
      input_index: request.inputIndex,
      input_spends_funding: spendsFunding,
      input_amount_sat: inputAmount,
      input_amount_matches: spent[request.inputIndex] !== null && inputAmount === oldValue,
      remote_funding_key_matches: equal(request.remoteFundingPubkey, setupRemote),
      new_funding_output_count: newFunding.length,
      old_value_sat: oldValue,
      new_value_sat: newValue,
      new_value_known: expected !== undefined,
      added_sat: added,
      removed_sat: removed,
      holder_balance_sat: holderInfo?.toBroadcasterSat ?? 0n,
      counterparty_balance_sat: holderInfo?.toCountersignatorySat ?? 0n,
      holder_inputs_sat: onchain.holderInputsSat,
      holder_outputs_sat: onchain.holderOutputsSat,
      unknown_outputs_sat: onchain.unknownOutputsSat,
      unaccounted_removed_sat: removed > net ? removed - net : 0n,
    },
  };
  return {
    kind: "sign_splice",
    facts,
    next: ctx.state,
    release: () => {
      if (!spendsFunding) {
        throw new ChannelRequestError("invariant", "the input does not spend the funding output");
      }
      return signInput(tx, request.inputIndex, {
        scriptCode: fundingScript(ctx.keys.fundingPubkey, setupRemote),
        amount: oldValue,
        secret: ctx.keys.fundingSecret.expose().slice(),
        sighashType: SIGHASH.ALL,
      });
    },
  };
}
