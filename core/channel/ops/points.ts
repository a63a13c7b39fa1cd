/**
 * Our per-commitment points and secrets: handing out a point, checking a secret the peer claims
 * we sent (`option_data_loss_protect`), and revoking a holder commitment (our `revoke_and_ack`),
 * which is the only way a secret leaves the signer.
 *
 * @module
 */
import { constantTimeEqual, zeroize } from "../../bytes.ts";
import type { GetPointFactsT, RevokeFactsT } from "../facts.ts";
import { holderPoint, holderSecret, maySecret } from "../state.ts";
import {
  channelFacts,
  ChannelRequestError,
  type OpContext,
  type OpOutcome,
  stateFacts,
  withEnforcement,
} from "./context.ts";

const MAX_NUMBER = 281474976710655;

function needNumber(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_NUMBER) {
    throw new ChannelRequestError("malformed", `${what} must be a 48-bit commitment number`);
  }
}

/** `get_per_commitment_point(n)`: our point for holder commitment `n` (public). */
export function getPerCommitmentPoint(
  ctx: OpContext,
  n: number,
): OpOutcome<GetPointFactsT, Uint8Array> {
  needNumber(n, "commitment number");
  const facts: GetPointFactsT = {
    channel: channelFacts(ctx),
    state: stateFacts(ctx.state.enforcement),
    point: { number: n },
  };
  return {
    kind: "get_per_commitment_point",
    facts,
    next: ctx.state,
    release: () => holderPoint(ctx.keys, n),
  };
}

/**
 * `check_future_secret(n, secret)`: whether `secret` is our per-commitment secret `n`. Compared in
 * constant time; nothing is released and no state changes, so this is not a policy decision.
 */
export function checkFutureSecret(ctx: OpContext, n: number, secret: Uint8Array): boolean {
  needNumber(n, "commitment number");
  if (!(secret instanceof Uint8Array) || secret.length !== 32) {
    throw new ChannelRequestError("malformed", "secret must be 32 bytes");
  }
  const ours = holderSecret(ctx.keys, n);
  const same = constantTimeEqual(ours, secret);
  zeroize(ours);
  return same;
}

/** The reply of {@link revokeHolderCommitment}. */
export interface Revocation {
  /** Our per-commitment secret of the revoked commitment. */
  secret: Uint8Array;
  /** Our point for commitment `n + 2`, which the peer needs next. */
  nextPoint: Uint8Array;
}

/**
 * `revoke_holder_commitment(n)`: revoke holder commitment `n` once `n + 1` is validated. When
 * `n + 1` is the pending commitment it becomes current (`H = n + 2`); when `n <= H - 2` this is a
 * retry that releases the same secret again and changes nothing.
 */
export function revokeHolderCommitment(
  ctx: OpContext,
  n: number,
): OpOutcome<RevokeFactsT, Revocation> {
  needNumber(n, "commitment number");
  if (ctx.state.stage !== "ready") {
    throw new ChannelRequestError("not-ready", "a stub has no commitment to revoke");
  }
  const e = ctx.state.enforcement;
  const pending = e.pendingHolder;
  const advances = pending !== null && pending.info.number === n + 1 &&
    e.nextHolderCommitNum === n + 1;
  // After a close signature no holder state moves, whatever a (demoted) rule says.
  const moves = advances && !e.closed;
  const next = moves
    ? withEnforcement(ctx.state, {
      nextHolderCommitNum: n + 2,
      currentHolder: pending,
      pendingHolder: null,
    })
    : ctx.state;
  const facts: RevokeFactsT = {
    channel: channelFacts(ctx),
    state: stateFacts(e),
    revoke: {
      number: n,
      advances_state: advances,
      pending_passed_policy: advances ? pending.warnings.length === 0 : false,
    },
  };
  return {
    kind: "revoke_holder_commitment",
    facts,
    next,
    release: () => {
      // Defence in depth: the rules already refused anything else, but a secret must never leave
      // unless the persisted state makes it releasable.
      if (!maySecret(next.enforcement, n)) {
        throw new ChannelRequestError("invariant", `secret ${n} is not releasable`);
      }
      return { secret: holderSecret(ctx.keys, n), nextPoint: holderPoint(ctx.keys, n + 2) };
    },
  };
}
