/**
 * `setup_channel`: fix a stub's negotiated parameters (BOLT #2 `open_channel`/`accept_channel`
 * and `funding_created`), turning it into a ready channel. Repeating the same setup is an
 * idempotent retry; a different setup for a ready channel is reported as a conflict.
 *
 * @module
 */
import type { SetupChannelFactsT } from "../facts.ts";
import type { ChannelSetup } from "../types.ts";
import { ChannelSetupSchema } from "../types.ts";
import { initialEnforcement } from "../state.ts";
import { channelFacts, ChannelRequestError, type OpContext, type OpOutcome } from "./context.ts";

function sameSetup(a: ChannelSetup, b: ChannelSetup): boolean {
  const canon = (s: ChannelSetup) =>
    JSON.stringify(s, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  return canon(a) === canon(b);
}

/** Our balance right after open (VLS `initial_holder_value`), and whether it was computable. */
export function initialHolderValue(setup: ChannelSetup): { sat: bigint; ok: boolean } {
  const totalMsat = setup.channelValueSat * 1000n;
  if (setup.pushMsat > totalMsat) return { sat: 0n, ok: false };
  const oursMsat = setup.isOutbound ? totalMsat - setup.pushMsat : setup.pushMsat;
  return { sat: oursMsat / 1000n, ok: true };
}

/** Set up a channel. The reply is empty. */
export function setupChannel(
  ctx: OpContext,
  request: ChannelSetup,
): OpOutcome<SetupChannelFactsT, void> {
  const parsed = ChannelSetupSchema.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    throw new ChannelRequestError("malformed", `setup_channel: ${at}${issue.message}`);
  }
  const setup = parsed.data;
  const { state } = ctx;
  const isRetry = state.stage === "ready" && state.setup !== null && sameSetup(state.setup, setup);
  const conflicts = state.stage === "ready" && !isRetry;
  const initial = initialHolderValue(setup);
  const next = state.stage === "stub"
    ? {
      ...state,
      stage: "ready" as const,
      setup,
      enforcement: { ...initialEnforcement(), initialHolderValueSat: initial.sat },
    }
    : state;
  // Facts describe the proposed setup (for a conflicting retry: the proposed one, not the stored).
  const facts: SetupChannelFactsT = {
    channel: channelFacts({ ...ctx, state: { ...next, setup } }),
    setup: { is_retry: isRetry, conflicts_stored: conflicts },
    request: { arithmetic_ok: initial.ok },
  };
  return { kind: "setup_channel", facts, next, release: () => undefined };
}
