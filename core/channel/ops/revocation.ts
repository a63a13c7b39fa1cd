/**
 * `validate_counterparty_revocation(n, secret)`: the peer's `revoke_and_ack` for its commitment
 * `n`. The secret must be the one whose point we stored for `n` and must chain with every secret
 * received before (BOLT #3, Efficient Per-commitment Secret Storage); then `R = n + 1`. A retry of
 * the last revocation carries the secret we already hold.
 *
 * @module
 */
import { constantTimeEqual, toHex } from "../../bytes.ts";
import { perCommitmentPoint } from "../../bolt3/keys.ts";
import { commitmentNumberToIndex, ShachainStore } from "../../bolt3/shachain.ts";
import type { RevocationFactsT } from "../facts.ts";
import { storedCounterpartyPoint } from "../state.ts";
import {
  channelFacts,
  ChannelRequestError,
  type OpContext,
  type OpOutcome,
  stateFacts,
  withEnforcement,
} from "./context.ts";

/** Validate and store the counterparty's revocation of its commitment `n`. The reply is empty. */
export function validateCounterpartyRevocation(
  ctx: OpContext,
  request: { number: number; secret: Uint8Array },
): OpOutcome<RevocationFactsT, void> {
  const { number: n, secret } = request;
  if (!Number.isSafeInteger(n) || n < 0 || n > 281474976710655) {
    throw new ChannelRequestError("malformed", "commitment number must be 48-bit");
  }
  if (!(secret instanceof Uint8Array) || secret.length !== 32) {
    throw new ChannelRequestError("malformed", "secret must be 32 bytes");
  }
  if (ctx.state.stage !== "ready") {
    throw new ChannelRequestError("not-ready", "the channel is not set up yet");
  }
  const e = ctx.state.enforcement;
  const store = ShachainStore.import(e.counterpartySecrets);
  const index = commitmentNumberToIndex(n);
  let pointMatches = false;
  let chains = false;
  let nextSecrets = e.counterpartySecrets;
  try {
    const known = store.lookup(index);
    if (known) {
      // A retry: the secret must be exactly the one we hold.
      pointMatches = constantTimeEqual(known, secret);
      chains = pointMatches;
    } else {
      const stored = storedCounterpartyPoint(e, n);
      let point: string | undefined;
      try {
        point = toHex(perCommitmentPoint(secret));
      } catch {
        point = undefined; // not a valid secret key: cannot match any point
      }
      pointMatches = stored !== undefined && point === stored;
      try {
        store.insertSecret(secret, index);
        chains = true;
        nextSecrets = store.export();
      } catch {
        chains = false;
      }
    }
  } finally {
    store.zeroize();
  }
  const R = e.nextCounterpartyRevokeNum;
  const C = e.nextCounterpartyCommitNum;
  const inSequence = (n === R || n + 1 === R) && n + 2 <= C;
  const advances = n === R && inSequence && pointMatches && chains;
  const next = advances
    ? withEnforcement(ctx.state, {
      nextCounterpartyRevokeNum: n + 1,
      counterpartySecrets: nextSecrets,
      previousCounterparty: e.previousCounterparty !== null && e.previousCounterparty.number <= n
        ? null
        : e.previousCounterparty,
    })
    : ctx.state;
  const facts: RevocationFactsT = {
    channel: channelFacts(ctx),
    state: stateFacts(e),
    revocation: { number: n, point_matches: pointMatches, secret_chains: chains },
  };
  return { kind: "validate_counterparty_revocation", facts, next, release: () => undefined };
}
