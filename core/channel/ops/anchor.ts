/**
 * `sign_anchor_spend`: our signature on our anchor input of a fee-bump (CPFP) transaction (BOLT #3,
 * "to_local_anchor and to_remote_anchor Output"; CLN 147 `sign_anchorspend` for the anchor input,
 * LDK `sign_holder_anchor_input`). The anchor must be ours (keyed by our funding key) on a
 * commitment we know: the current or the validated pending holder commitment (which is also the
 * one a force close signs), or the current or previous counterparty commitment (CLN bumps those
 * too). The other inputs of CLN's 147 are wallet inputs, signed by the on-chain wallet operation;
 * the transaction's outputs are still classified here (`tx` block, rules-spec.md §2.C).
 *
 * The signature is SIGHASH_ALL over the node's transaction with the anchor script and 330 sat
 * from our own rebuild, never the node's amount.
 *
 * @module
 */
import { equal, toHex } from "../../bytes.ts";
import { p2wsh } from "../../bitcoin/script.ts";
import { SIGHASH, txid } from "../../bitcoin/tx.ts";
import { ANCHOR_OUTPUT_SATOSHIS } from "../../bolt3/commitment.ts";
import { anchorScript } from "../../bolt3/scripts.ts";
import type { AnchorSpendFactsT } from "../facts_onchain.ts";
import { isAnchors, rebuildCommitment } from "../rebuild.ts";
import type { CommitmentInfo } from "../types.ts";
import {
  channelFacts,
  ChannelRequestError,
  type OpContext,
  type OpOutcome,
  readySetup,
  stateFacts,
} from "./context.ts";
import { type OnchainContext, onchainTxFacts } from "./splice.ts";
import { checkSpendTx, type InputSignature, signInput, type SpendTx } from "./sweep.ts";

/** `sign_anchor_spend`. */
export interface AnchorSpendRequest {
  /** The fee-bump transaction and what its PSBT says. */
  spend: SpendTx;
  /** Our anchor input (see {@link findAnchorInput} for CLN, which does not name it). */
  inputIndex: number;
}

/** Witness bytes of an anchor spend besides our signature: the 40-byte script with its length. */
const ANCHOR_WITNESS_SUFFIX = 41;

/**
 * The index of the first input that spends our anchor script (CLN 147 finds it by its P2WSH
 * script in the PSBT's witness UTXOs), or -1.
 */
export function findAnchorInput(ctx: OpContext, spend: SpendTx): number {
  const script = p2wsh(anchorScript(ctx.keys.fundingPubkey));
  return spend.spent.findIndex((s) => s !== null && equal(s.script, script));
}

interface Candidate {
  broadcaster: "holder" | "counterparty";
  info: CommitmentInfo;
  isCurrent: boolean;
}

/** Sign our anchor input of a fee-bump transaction. */
export function signAnchorSpend(
  ctx: OnchainContext,
  request: AnchorSpendRequest,
): OpOutcome<AnchorSpendFactsT, InputSignature> {
  checkSpendTx(request.spend, request.inputIndex);
  const setup = readySetup(ctx.state);
  const e = ctx.state.enforcement;
  const candidates: Candidate[] = [];
  if (isAnchors(setup)) {
    if (e.currentHolder) {
      candidates.push({ broadcaster: "holder", info: e.currentHolder.info, isCurrent: true });
    }
    if (e.pendingHolder) {
      candidates.push({ broadcaster: "holder", info: e.pendingHolder.info, isCurrent: true });
    }
    if (e.currentCounterparty) {
      candidates.push({
        broadcaster: "counterparty",
        info: e.currentCounterparty,
        isCurrent: true,
      });
    }
    if (e.previousCounterparty) {
      candidates.push({
        broadcaster: "counterparty",
        info: e.previousCounterparty,
        isCurrent: false,
      });
    }
  }
  const input = request.spend.tx.inputs[request.inputIndex];
  const matched = candidates.find((c) => {
    const rebuilt = rebuildCommitment(c.broadcaster, { setup, keys: ctx.keys, info: c.info });
    // Our anchor: the broadcaster's on our commitment, the countersignatory's on theirs.
    const kind = c.broadcaster === "holder" ? "anchor_broadcaster" : "anchor_countersignatory";
    const vout = rebuilt.outputs.findIndex((o) => o.kind === kind);
    return vout >= 0 && input.vout === vout && equal(input.txid, txid(rebuilt.tx));
  }) ?? null;
  const spent = request.spend.spent[request.inputIndex];
  const onchain = onchainTxFacts(ctx, request.spend, {
    signed: [{ index: request.inputIndex, witnessSuffixBytes: ANCHOR_WITNESS_SUFFIX }],
    fundedSat: 0n,
  });
  const facts: AnchorSpendFactsT = {
    channel: channelFacts(ctx),
    state: stateFacts(e),
    request: onchain.request,
    tx: onchain.tx,
    wallet_info: onchain.walletInfo,
    anchor: {
      input_index: request.inputIndex,
      matched: matched !== null,
      broadcaster: matched?.broadcaster ?? "none",
      commitment_number: matched?.info.number ?? -1,
      is_current: matched?.isCurrent ?? false,
      input_amount_sat: spent?.amount ?? 0n,
      input_amount_matches: spent?.amount === ANCHOR_OUTPUT_SATOSHIS,
    },
  };
  return {
    kind: "sign_anchor_spend",
    facts,
    next: ctx.state,
    release: () => {
      if (!matched) {
        throw new ChannelRequestError(
          "invariant",
          `input ${request.inputIndex} does not spend our anchor of a known commitment ` +
            `(${toHex(input.txid)}:${input.vout})`,
        );
      }
      return signInput(request.spend.tx, request.inputIndex, {
        scriptCode: anchorScript(ctx.keys.fundingPubkey),
        amount: ANCHOR_OUTPUT_SATOSHIS,
        secret: ctx.keys.fundingSecret.expose().slice(),
        sighashType: SIGHASH.ALL,
      });
    },
  };
}
