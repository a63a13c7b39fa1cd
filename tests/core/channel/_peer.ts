/**
 * Test fixture: a channel between "us" (the signer under test) and a simulated honest peer. Both
 * sides run the same pure channel operations on mirrored setups, so the peer can produce exactly
 * what a real counterparty sends: its per-commitment points and secrets, its signatures on our
 * commitments, and it checks our signatures on its own.
 */
import { fromHex, toHex } from "../../../core/bytes.ts";
import { nodeKeysFromSeed } from "../../../core/keys/mod.ts";
import { ChannelId, type ChannelKeys } from "../../../core/keys/types.ts";
import type { ChannelSetup, ChannelState } from "../../../core/channel/types.ts";
import { newStub } from "../../../core/channel/state.ts";
import { type OpContext, UNTRACKED_CHAIN } from "../../../core/channel/ops/context.ts";
import { setupChannel } from "../../../core/channel/ops/setup.ts";

/** One side of the fixture channel. */
export interface Side {
  keys: ChannelKeys;
  state: ChannelState;
}

/** Options of {@link makeChannel}. */
export interface ChannelOptions {
  anchors?: boolean;
  valueSat?: bigint;
  pushMsat?: bigint;
  /** We opened the channel (default true). */
  weOpen?: boolean;
}

const PEER_ID = fromHex("02" + "11".repeat(32));

/** A set-up channel between us and the peer, both sides' states ready. */
export function makeChannel(options: ChannelOptions = {}): { us: Side; peer: Side } {
  const ours = nodeKeysFromSeed(new Uint8Array(32).fill(1), { network: "regtest" });
  const theirs = nodeKeysFromSeed(new Uint8Array(32).fill(2), { network: "regtest" });
  const usKeys = ours.channelKeys(ChannelId.fromPeerDbid(PEER_ID, 1n));
  const peerKeys = theirs.channelKeys(ChannelId.fromPeerDbid(ours.nodeId, 1n));
  const weOpen = options.weOpen ?? true;
  const base = {
    channelValueSat: options.valueSat ?? 1_000_000n,
    pushMsat: options.pushMsat ?? 0n,
    fundingOutpoint: { txid: "aa".repeat(32), vout: 0 },
    holderShutdownScript: "",
    holderShutdownWalletIndex: null,
    counterpartyShutdownScript: "",
    commitmentType: options.anchors
      ? "anchors_zero_fee_htlc" as const
      : "static_remotekey" as const,
  };
  const keysOf = (k: ChannelKeys) => ({
    fundingPubkey: toHex(k.fundingPubkey),
    revocationBasepoint: toHex(k.basepoints.revocation),
    paymentBasepoint: toHex(k.basepoints.payment),
    delayedPaymentBasepoint: toHex(k.basepoints.delayedPayment),
    htlcBasepoint: toHex(k.basepoints.htlc),
  });
  const usSetup: ChannelSetup = {
    ...base,
    isOutbound: weOpen,
    holderSelectedContestDelay: 144,
    counterpartySelectedContestDelay: 6,
    counterparty: keysOf(peerKeys),
  };
  const peerSetup: ChannelSetup = {
    ...base,
    isOutbound: !weOpen,
    holderSelectedContestDelay: 6,
    counterpartySelectedContestDelay: 144,
    counterparty: keysOf(usKeys),
  };
  const ready = (keys: ChannelKeys, setup: ChannelSetup): Side => {
    const ctx: OpContext = { state: newStub(keys.channelId.toHex()), keys, chain: UNTRACKED_CHAIN };
    return { keys, state: setupChannel(ctx, setup).next };
  };
  return { us: ready(usKeys, usSetup), peer: ready(peerKeys, peerSetup) };
}

/** The operation context of one side. */
export function ctxOf(side: Side): OpContext {
  return { state: side.state, keys: side.keys, chain: UNTRACKED_CHAIN };
}
