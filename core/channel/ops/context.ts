/**
 * What every channel operation receives and returns. An operation is a pure function of an
 * {@link OpContext} and its request; it returns an {@link OpOutcome}: the request kind, the facts
 * for the policy, the state to persist if the policy allows, and `release()`, which computes the
 * reply (a signature, a secret) and is called only after that state is durable.
 *
 * Requests that cannot be understood at all (unknown or forgotten channel, a stub asked to sign,
 * malformed values) are not policy decisions: they throw {@link ChannelRequestError}.
 *
 * @module
 */
import { fromHex } from "../../bytes.ts";
import type { ChannelKeys } from "../../keys/types.ts";
import type { ChainFactsT, ChannelFactsT, StateFactsT } from "../facts.ts";
import { isAnchors } from "../rebuild.ts";
import type { ChannelSetup, ChannelState, Enforcement } from "../types.ts";

/** What the signer knows of the chain (fed by the node; see core/node). */
export interface ChainView {
  /** Whether a tip is known at all. */
  tracked: boolean;
  /** The tip height (0 when not tracked). */
  height: number;
  /** Confirmations of the transaction creating `outpoint` (0 when unconfirmed or unknown). */
  fundingDepth(outpoint: { txid: string; vout: number }): number;
  /** Confirmations of a transaction spending `outpoint` (0 when unspent). */
  closingDepth(outpoint: { txid: string; vout: number }): number;
  /**
   * Confirmations of a transaction double-spending an input of the funding transaction that
   * creates `outpoint` (0 when none): the channel can then never open.
   */
  doubleSpentDepth(outpoint: { txid: string; vout: number }): number;
}

/** A chain view that knows nothing (no blocks fed yet). */
export const UNTRACKED_CHAIN: ChainView = {
  tracked: false,
  height: 0,
  fundingDepth: () => 0,
  closingDepth: () => 0,
  doubleSpentDepth: () => 0,
};

/** Where our on-chain wallet and the operator's allowlist are, for destination checks. */
export interface WalletView {
  /**
   * Whether `script` pays our on-chain wallet key m/0/0/`index` (P2WPKH, P2SH-P2WPKH or BIP-86
   * P2TR). The node names the index (PSBT derivation or wallet index); the signer checks it.
   */
  paysWallet(script: Uint8Array, index: number): boolean;
  /** Whether `script` is on the operator's allowlist. */
  allowlisted(script: Uint8Array): boolean;
}

/** A wallet view that owns nothing and allows nothing (tests of pure channel logic). */
export const EMPTY_WALLET: WalletView = {
  paysWallet: () => false,
  allowlisted: () => false,
};

/** The input of every channel operation. */
export interface OpContext {
  /** The channel's state as loaded from the store. */
  state: ChannelState;
  /** Our keys for the channel (derived from the seed and the channel id, never stored). */
  keys: ChannelKeys;
  /** The chain as the signer knows it. */
  chain: ChainView;
  /** Our wallet and the allowlist (default {@link EMPTY_WALLET}). */
  wallet?: WalletView;
}

/** The output of every channel operation. */
export interface OpOutcome<F, R> {
  /** The request kind (the policy's `on` name). */
  kind: string;
  /** The facts the policy evaluates. */
  facts: F;
  /** The state to persist when allowed (the same object when nothing changes). */
  next: ChannelState;
  /** Compute the reply; call only after `next` is durable. */
  release(): R;
  /**
   * The state to persist when the policy allowed the request with warnings (rules demoted by a
   * filter); operations that remember such acceptances (a holder commitment accepted with
   * warnings is not revocable under `policy-revoke-new-commitment-valid`) provide it.
   */
  withWarnings?(ruleIds: string[]): ChannelState;
}

/** Why a request could not be handled at all. */
export type ChannelRequestErrorCode =
  | "unknown-channel"
  | "forgotten-channel"
  | "not-ready"
  | "already-ready"
  | "malformed"
  | "invariant";

/** A request the channel cannot handle (not a policy decision); nothing changed. */
export class ChannelRequestError extends Error {
  /** Machine-readable reason. */
  readonly code: ChannelRequestErrorCode;

  /**
   * Creates the error.
   * @param code the reason
   * @param message what was wrong, never secret values
   */
  constructor(code: ChannelRequestErrorCode, message: string) {
    super(message);
    this.name = "ChannelRequestError";
    this.code = code;
  }
}

/** The setup of a ready channel; a stub is refused with `not-ready`. */
export function readySetup(state: ChannelState): ChannelSetup {
  if (state.stage !== "ready" || state.setup === null) {
    throw new ChannelRequestError("not-ready", "the channel is not set up yet");
  }
  return state.setup;
}

/** The `channel` fact block. */
export function channelFacts(ctx: Pick<OpContext, "state" | "chain" | "wallet">): ChannelFactsT {
  const { state, chain } = ctx;
  const wallet = ctx.wallet ?? EMPTY_WALLET;
  const s = state.setup;
  const e = state.enforcement;
  const outpoint = s?.fundingOutpoint;
  const shutdown = fromHex(s?.holderShutdownScript ?? "");
  const shutdownIndex = s?.holderShutdownWalletIndex ?? null;
  return {
    is_stub: state.stage === "stub",
    is_outbound: s?.isOutbound ?? false,
    value_sat: s?.channelValueSat ?? 0n,
    push_msat: s?.pushMsat ?? 0n,
    commitment_type: s?.commitmentType ?? "",
    is_anchors: s ? isAnchors(s) : false,
    is_zero_fee_htlc: s?.commitmentType === "anchors_zero_fee_htlc",
    is_static_remotekey: s ? s.commitmentType !== "legacy" : false,
    holder_selected_contest_delay: s?.holderSelectedContestDelay ?? 0,
    counterparty_selected_contest_delay: s?.counterpartySelectedContestDelay ?? 0,
    has_holder_shutdown_script: shutdown.length > 0,
    holder_shutdown_script: s?.holderShutdownScript ?? "",
    holder_shutdown_script_in_wallet: shutdown.length > 0 && shutdownIndex !== null &&
      wallet.paysWallet(shutdown, shutdownIndex),
    holder_shutdown_script_allowlisted: shutdown.length > 0 && wallet.allowlisted(shutdown),
    has_counterparty_shutdown_script: (s?.counterpartyShutdownScript ?? "") !== "",
    closed: e.closed,
    force_closed_number: e.forceClosedNumber ?? -1,
    funding_depth: outpoint ? chain.fundingDepth(outpoint) : 0,
    closing_depth: outpoint ? chain.closingDepth(outpoint) : 0,
    funding_double_spent_depth: outpoint ? chain.doubleSpentDepth(outpoint) : 0,
  };
}

/** The `state` fact block. */
export function stateFacts(e: Enforcement): StateFactsT {
  return {
    holder_next: e.nextHolderCommitNum,
    counterparty_next: e.nextCounterpartyCommitNum,
    counterparty_revoke_next: e.nextCounterpartyRevokeNum,
    holder_pending: e.pendingHolder !== null,
    has_current_holder: e.currentHolder !== null,
    has_current_counterparty: e.currentCounterparty !== null,
  };
}

/** The `chain` fact block. */
export function chainFacts(chain: ChainView): ChainFactsT {
  return { tracked: chain.tracked, height: chain.height };
}

/** A copy of `state` with a new enforcement (states are never mutated in place). */
export function withEnforcement(state: ChannelState, e: Partial<Enforcement>): ChannelState {
  return { ...state, enforcement: { ...state.enforcement, ...e } };
}
