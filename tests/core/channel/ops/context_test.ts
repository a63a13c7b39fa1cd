/**
 * core/channel/ops/context.ts: the typed error every operation throws for a request it cannot
 * handle, the shared fact blocks (`channel`, `state`, `chain`) computed from a known channel
 * state and chain/wallet views, and the copy-on-write state helper.
 */
import { deepStrictEqual, notStrictEqual, strictEqual, throws } from "node:assert/strict";
import { toHex } from "../../../../core/bytes.ts";
import {
  chainFacts,
  type ChainView,
  channelFacts,
  ChannelRequestError,
  EMPTY_WALLET,
  readySetup,
  stateFacts,
  UNTRACKED_CHAIN,
  withEnforcement,
} from "../../../../core/channel/ops/context.ts";
import { initialEnforcement, newStub } from "../../../../core/channel/state.ts";
import type { ChannelState } from "../../../../core/channel/types.ts";
import { makeChannel } from "../_peer.ts";
import { Channel, US_CHANNEL_FACTS } from "./_two_sided.ts";

Deno.test("ChannelRequestError: a named Error with a machine-readable code", () => {
  const e = new ChannelRequestError("forgotten-channel", "the channel was forgotten");
  strictEqual(e instanceof Error, true);
  strictEqual(e.name, "ChannelRequestError");
  strictEqual(e.code, "forgotten-channel");
  strictEqual(e.message, "the channel was forgotten");
  strictEqual(String(e), "ChannelRequestError: the channel was forgotten");
});

Deno.test("UNTRACKED_CHAIN and EMPTY_WALLET know nothing and allow nothing", () => {
  const outpoint = { txid: "aa".repeat(32), vout: 0 };
  deepStrictEqual(
    [
      UNTRACKED_CHAIN.tracked,
      UNTRACKED_CHAIN.height,
      UNTRACKED_CHAIN.fundingDepth(outpoint),
      UNTRACKED_CHAIN.closingDepth(outpoint),
      UNTRACKED_CHAIN.doubleSpentDepth(outpoint),
    ],
    [false, 0, 0, 0, 0],
  );
  const script = Uint8Array.of(0x00, 0x14, ...new Uint8Array(20));
  deepStrictEqual([EMPTY_WALLET.paysWallet(script, 0), EMPTY_WALLET.allowlisted(script)], [
    false,
    false,
  ]);
  deepStrictEqual(chainFacts(UNTRACKED_CHAIN), { tracked: false, height: 0 });
});

Deno.test("readySetup: the setup of a ready channel; a stub is refused as not-ready", () => {
  const { us } = makeChannel();
  strictEqual(readySetup(us.state), us.state.setup);
  const notReady = {
    name: "ChannelRequestError",
    code: "not-ready",
    message: "the channel is not set up yet",
  };
  throws(() => readySetup(newStub("00")), notReady);
  // A state claiming to be ready without a setup is not trusted either.
  throws(() => readySetup({ ...us.state, setup: null }), notReady);
  throws(() => readySetup({ ...us.state, stage: "stub" }), notReady);
});

/** A chain view that answers fixed depths and records the outpoints it was asked about. */
function chainAt(height: number, depths: [number, number, number]) {
  const asked: string[] = [];
  const view: ChainView = {
    tracked: true,
    height,
    fundingDepth: (o) => {
      asked.push(`funding ${o.txid.slice(0, 4)}:${o.vout}`);
      return depths[0];
    },
    closingDepth: (o) => {
      asked.push(`closing ${o.txid.slice(0, 4)}:${o.vout}`);
      return depths[1];
    },
    doubleSpentDepth: (o) => {
      asked.push(`double ${o.txid.slice(0, 4)}:${o.vout}`);
      return depths[2];
    },
  };
  return { view, asked };
}

Deno.test("channelFacts: the channel block of a known channel, chain and wallet", () => {
  const ch = new Channel();
  deepStrictEqual(channelFacts({ state: ch.us.state, chain: UNTRACKED_CHAIN }), US_CHANNEL_FACTS);
  const { view, asked } = chainAt(800_000, [6, 2, 1]);
  const script = Uint8Array.of(0x00, 0x14, ...new Uint8Array(20).fill(9));
  const setup = {
    ...readySetup(ch.us.state),
    commitmentType: "anchors_zero_fee_htlc" as const,
    pushMsat: 5_000n,
    holderShutdownScript: toHex(script),
    holderShutdownWalletIndex: 7,
    counterpartyShutdownScript: "0014" + "11".repeat(20),
  };
  const state: ChannelState = {
    ...ch.us.state,
    setup,
    enforcement: { ...ch.us.state.enforcement, closed: true, forceClosedNumber: 12 },
  };
  const facts = channelFacts({
    state,
    chain: view,
    wallet: {
      paysWallet: (s, i) => toHex(s) === toHex(script) && i === 7,
      allowlisted: (s) => toHex(s) === toHex(script),
    },
  });
  deepStrictEqual(facts, {
    ...US_CHANNEL_FACTS,
    push_msat: 5_000n,
    commitment_type: "anchors_zero_fee_htlc",
    is_anchors: true,
    is_zero_fee_htlc: true,
    is_static_remotekey: true,
    has_holder_shutdown_script: true,
    holder_shutdown_script: toHex(script),
    holder_shutdown_script_in_wallet: true,
    holder_shutdown_script_allowlisted: true,
    has_counterparty_shutdown_script: true,
    closed: true,
    force_closed_number: 12,
    funding_depth: 6,
    closing_depth: 2,
    funding_double_spent_depth: 1,
  });
  // The chain was asked about the channel's funding outpoint (aa..aa:0), once each.
  deepStrictEqual(asked, ["funding aaaa:0", "closing aaaa:0", "double aaaa:0"]);
  // Without a wallet index, the script is never looked up in the wallet.
  const unindexed = channelFacts({
    state: { ...state, setup: { ...setup, holderShutdownWalletIndex: null } },
    chain: UNTRACKED_CHAIN,
    wallet: { paysWallet: () => true, allowlisted: () => false },
  });
  strictEqual(unindexed.holder_shutdown_script_in_wallet, false);
  strictEqual(unindexed.holder_shutdown_script_allowlisted, false);
});

Deno.test("channelFacts: the other commitment types", () => {
  const ch = new Channel();
  const of = (commitmentType: "legacy" | "anchors") =>
    channelFacts({
      state: { ...ch.us.state, setup: { ...readySetup(ch.us.state), commitmentType } },
      chain: UNTRACKED_CHAIN,
    });
  const pick = (f: ReturnType<typeof of>) => [
    f.commitment_type,
    f.is_anchors,
    f.is_zero_fee_htlc,
    f.is_static_remotekey,
  ];
  deepStrictEqual(pick(of("legacy")), ["legacy", false, false, false]);
  deepStrictEqual(pick(of("anchors")), ["anchors", true, false, true]);
});

Deno.test("channelFacts: a stub has only defaults, and the chain is not asked", () => {
  const { view, asked } = chainAt(100, [9, 9, 9]);
  deepStrictEqual(channelFacts({ state: newStub("00"), chain: view }), {
    is_stub: true,
    is_outbound: false,
    value_sat: 0n,
    push_msat: 0n,
    commitment_type: "",
    is_anchors: false,
    is_zero_fee_htlc: false,
    is_static_remotekey: false,
    holder_selected_contest_delay: 0,
    counterparty_selected_contest_delay: 0,
    has_holder_shutdown_script: false,
    holder_shutdown_script: "",
    holder_shutdown_script_in_wallet: false,
    holder_shutdown_script_allowlisted: false,
    has_counterparty_shutdown_script: false,
    closed: false,
    force_closed_number: -1,
    funding_depth: 0,
    closing_depth: 0,
    funding_double_spent_depth: 0,
  });
  deepStrictEqual(asked, []);
  deepStrictEqual(chainFacts(view), { tracked: true, height: 100 });
});

Deno.test("stateFacts: the counters and which commitments are held", () => {
  deepStrictEqual(stateFacts(initialEnforcement()), {
    holder_next: 0,
    counterparty_next: 0,
    counterparty_revoke_next: 0,
    holder_pending: false,
    has_current_holder: false,
    has_current_counterparty: false,
  });
  const ch = new Channel();
  ch.open();
  ch.commit("us", 1);
  ch.commit("peer", 1);
  // H = 1 with 1 pending, C = 2, R = 0.
  deepStrictEqual(stateFacts(ch.us.state.enforcement), {
    holder_next: 1,
    counterparty_next: 2,
    counterparty_revoke_next: 0,
    holder_pending: true,
    has_current_holder: true,
    has_current_counterparty: true,
  });
});

Deno.test("withEnforcement: a copy with some counters changed; the input is untouched", () => {
  const { us } = makeChannel();
  const before = structuredClone(us.state);
  const next = withEnforcement(us.state, { nextHolderCommitNum: 5, closed: true });
  notStrictEqual(next, us.state);
  notStrictEqual(next.enforcement, us.state.enforcement);
  deepStrictEqual(us.state, before);
  deepStrictEqual(next, {
    ...before,
    enforcement: { ...before.enforcement, nextHolderCommitNum: 5, closed: true },
  });
  strictEqual(next.setup, us.state.setup, "the rest is shared, not copied");
  deepStrictEqual(withEnforcement(us.state, {}), us.state);
});
