/**
 * `sign_holder_commitment`: our signature on our own commitment, for a unilateral close. Only the
 * current holder commitment (or the validated pending one, which LDK's monitor may already hold)
 * can be signed, always rebuilt from the stored values, never from the node's transaction. The
 * channel is then closed: no more state advances, and the signed commitment's secret can never be
 * released.
 *
 * @module
 */
import { fromHex } from "../../bytes.ts";
import { ecdsaSign } from "../../crypto/mod.ts";
import { SIGHASH, sighashSegwitV0 } from "../../bitcoin/tx.ts";
import type { ForceCloseFactsT } from "../facts.ts";
import { rebuildCommitment } from "../rebuild.ts";
import {
  channelFacts,
  ChannelRequestError,
  type OpContext,
  type OpOutcome,
  readySetup,
  stateFacts,
  withEnforcement,
} from "./context.ts";

/** The reply of {@link signHolderCommitment}. */
export interface HolderCommitmentSignature {
  /** Our signature on the commitment (compact; SIGHASH_ALL). */
  signature: Uint8Array;
  /** The counterparty's stored signature on it (compact), to complete the witness. */
  counterpartySignature: Uint8Array;
}

/** Sign holder commitment `n` for broadcast. */
export function signHolderCommitment(
  ctx: OpContext,
  n: number,
): OpOutcome<ForceCloseFactsT, HolderCommitmentSignature> {
  if (!Number.isSafeInteger(n) || n < 0 || n > 281474976710655) {
    throw new ChannelRequestError("malformed", "commitment number must be 48-bit");
  }
  const setup = readySetup(ctx.state);
  const e = ctx.state.enforcement;
  const signsCurrent = e.currentHolder !== null && e.currentHolder.info.number === n &&
    n + 1 === e.nextHolderCommitNum;
  const signsPending = e.pendingHolder !== null && e.pendingHolder.info.number === n &&
    n === e.nextHolderCommitNum;
  const chosen = signsCurrent ? e.currentHolder : signsPending ? e.pendingHolder : null;
  const next = chosen
    ? withEnforcement(ctx.state, {
      closed: true,
      forceClosedNumber: e.forceClosedNumber ?? n,
    })
    : ctx.state;
  const facts: ForceCloseFactsT = {
    channel: channelFacts(ctx),
    state: stateFacts(e),
    holder_commitment: { number: n },
    force_close: { signs_current: signsCurrent, signs_pending: signsPending },
  };
  return {
    kind: "sign_holder_commitment",
    facts,
    next,
    release: () => {
      if (chosen === null) {
        throw new ChannelRequestError("invariant", `holder commitment ${n} is not signable`);
      }
      const rebuilt = rebuildCommitment("holder", { setup, keys: ctx.keys, info: chosen.info });
      const digest = sighashSegwitV0(rebuilt.tx, 0, {
        scriptCode: rebuilt.fundingWitnessScript,
        amount: rebuilt.fundingSatoshis,
        sighashType: SIGHASH.ALL,
      });
      return {
        signature: ecdsaSign(digest, ctx.keys.fundingSecret.expose()),
        counterpartySignature: fromHex(chosen.counterpartySig),
      };
    },
  };
}
