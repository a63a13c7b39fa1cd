/**
 * core/channel/ops/setup.ts: `setup_channel` turns a stub into a ready channel with its
 * negotiated parameters; a repeat is an idempotent retry, a different setup a conflict. Our
 * opening balance (VLS `initial_holder_value`) is computed exactly; malformed setups are refused
 * with a typed error; what the policy refuses is named by rule id.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { toHex } from "../../../../core/bytes.ts";
import { initialHolderValue, setupChannel } from "../../../../core/channel/ops/setup.ts";
import { type OpContext, UNTRACKED_CHAIN } from "../../../../core/channel/ops/context.ts";
import { initialEnforcement, newStub } from "../../../../core/channel/state.ts";
import type { ChannelSetup } from "../../../../core/channel/types.ts";
import { makeChannel } from "../_peer.ts";
import { refusedBy } from "../_policy.ts";
import { US_CHANNEL_FACTS } from "./_two_sided.ts";

/** Our side of the _peer.ts channel: its keys, a fresh stub, and the setup it would receive. */
function fresh(): { ctx: OpContext; setup: ChannelSetup } {
  const { us } = makeChannel();
  const setup = us.state.setup as ChannelSetup;
  return {
    ctx: { state: newStub(us.keys.channelId.toHex()), keys: us.keys, chain: UNTRACKED_CHAIN },
    setup,
  };
}

Deno.test("initialHolderValue: our share of the channel after the push, in whole satoshis", () => {
  const { setup } = fresh();
  const v = (isOutbound: boolean, channelValueSat: bigint, pushMsat: bigint) =>
    initialHolderValue({ ...setup, isOutbound, channelValueSat, pushMsat });
  deepStrictEqual(v(true, 1_000_000n, 0n), { sat: 1_000_000n, ok: true });
  deepStrictEqual(v(true, 1_000_000n, 300_000_000n), { sat: 700_000n, ok: true });
  deepStrictEqual(v(false, 1_000_000n, 300_000_000n), { sat: 300_000n, ok: true });
  // Rounded down: 1_234_567 msat pushed to us is 1234 sat; the opener keeps 998_765.433 -> 998_765.
  deepStrictEqual(v(false, 1_000_000n, 1_234_567n), { sat: 1234n, ok: true });
  deepStrictEqual(v(true, 1_000_000n, 1_234_567n), { sat: 998_765n, ok: true });
  deepStrictEqual(v(true, 1_000_000n, 1_000_000_000n), { sat: 0n, ok: true });
  deepStrictEqual(v(false, 1_000_000n, 1_000_000_000n), { sat: 1_000_000n, ok: true });
  // A push above the channel value is not computable.
  deepStrictEqual(v(true, 1_000_000n, 1_000_000_001n), { sat: 0n, ok: false });
  deepStrictEqual(v(false, 1_000_000n, 1_000_000_001n), { sat: 0n, ok: false });
});

Deno.test("setupChannel: a stub becomes ready with a fresh enforcement and our opening balance", () => {
  const { ctx, setup } = fresh();
  const pushed = { ...setup, pushMsat: 250_000_500n };
  const out = setupChannel(ctx, pushed);
  strictEqual(out.kind, "setup_channel");
  deepStrictEqual(out.next, {
    version: 1,
    id: ctx.state.id,
    stage: "ready",
    setup: pushed,
    enforcement: { ...initialEnforcement(), initialHolderValueSat: 749_999n },
    forgotten: false,
  });
  deepStrictEqual(out.facts, {
    channel: { ...US_CHANNEL_FACTS, push_msat: 250_000_500n },
    setup: { is_retry: false, conflicts_stored: false },
    request: { arithmetic_ok: true },
  });
  deepStrictEqual(refusedBy(out), []);
  strictEqual(out.release(), undefined);
  strictEqual(ctx.state.stage, "stub", "the input is not mutated");
});

Deno.test("setupChannel: the same setup again is a retry, a different one a conflict", () => {
  const { ctx, setup } = fresh();
  const ready = { ...ctx, state: setupChannel(ctx, setup).next };
  const retry = setupChannel(ready, setup);
  deepStrictEqual(retry.facts.setup, { is_retry: true, conflicts_stored: false });
  strictEqual(retry.next, ready.state, "a retry changes nothing");
  deepStrictEqual(refusedBy(retry), []);
  // Key order does not matter: the setup is compared after parsing.
  const reordered = Object.fromEntries(Object.entries(setup).reverse()) as ChannelSetup;
  deepStrictEqual(setupChannel(ready, reordered).facts.setup, {
    is_retry: true,
    conflicts_stored: false,
  });
  // Another value for a ready channel: a conflict, the stored setup stays; facts describe the
  // proposed setup.
  const other = setupChannel(ready, { ...setup, channelValueSat: 2_000_000n });
  deepStrictEqual(other.facts.setup, { is_retry: false, conflicts_stored: true });
  strictEqual(other.facts.channel.value_sat, 2_000_000n);
  strictEqual(other.next, ready.state);
  deepStrictEqual(refusedBy(other), ["policy-other"]);
});

Deno.test("setupChannel: setups the default policy refuses, by rule id", () => {
  const { ctx, setup } = fresh();
  const cases: [Partial<ChannelSetup>, string[]][] = [
    [{ pushMsat: 1_000_000_001n }, ["policy-generic-error"]],
    [{ commitmentType: "legacy" }, ["policy-channel-safe-mode"]],
    [{ commitmentType: "anchors" }, ["policy-channel-safe-mode"]],
    [{ commitmentType: "anchors_zero_fee_htlc" }, []],
    // The peer imposes 5000 blocks on our to_local (max 2016).
    [{ counterpartySelectedContestDelay: 5000 }, ["policy-channel-contest-delay-range-holder"]],
    // We impose 3 blocks on theirs (regtest min 4).
    [{ holderSelectedContestDelay: 3 }, ["policy-channel-contest-delay-range-counterparty"]],
    [{ channelValueSat: 1_100_000_000n }, ["policy-funding-max"]],
  ];
  for (const [change, rules] of cases) {
    const out = setupChannel(ctx, { ...setup, ...change });
    deepStrictEqual(refusedBy(out), rules, JSON.stringify(Object.keys(change)));
  }
  deepStrictEqual(
    setupChannel(ctx, { ...setup, pushMsat: 1_000_000_001n }).facts.request,
    { arithmetic_ok: false },
  );
});

Deno.test("setupChannel: a malformed setup is refused with a typed error (zod's first issue, at its field)", () => {
  const { ctx, setup } = fresh();
  const cases: [Record<string, unknown>, string][] = [
    [
      { channelValueSat: -1n },
      "setup_channel: channelValueSat: Too small: expected bigint to be >=0",
    ],
    [
      { channelValueSat: 5 },
      "setup_channel: channelValueSat: Invalid input: expected bigint, received number",
    ],
    [
      { fundingOutpoint: { txid: "AA".repeat(32), vout: 0 } },
      "setup_channel: fundingOutpoint.txid: 32 bytes of lower-case hex",
    ],
    [
      { counterparty: { ...setup.counterparty, htlcBasepoint: "02" } },
      "setup_channel: counterparty.htlcBasepoint: 33 bytes of lower-case hex",
    ],
    [
      { holderSelectedContestDelay: 70_000 },
      "setup_channel: holderSelectedContestDelay: Too big: expected number to be <=65535",
    ],
    [
      { commitmentType: "simple_taproot" },
      'setup_channel: commitmentType: Invalid option: expected one of "legacy"|"static_remotekey"|"anchors"|"anchors_zero_fee_htlc"',
    ],
    [{ holderShutdownScript: "0014abc" }, "setup_channel: holderShutdownScript: lower-case hex"],
  ];
  for (const [change, message] of cases) {
    throws(
      () => setupChannel(ctx, { ...setup, ...change } as unknown as ChannelSetup),
      { name: "ChannelRequestError", code: "malformed", message },
    );
  }
});

Deno.test("setupChannel: an upfront shutdown script is reported, with its wallet index when named", () => {
  const { ctx, setup } = fresh();
  const script = Uint8Array.of(0x00, 0x14, ...new Uint8Array(20).fill(7));
  const withScript = {
    ...setup,
    holderShutdownScript: toHex(script),
    holderShutdownWalletIndex: 3,
  };
  const seen: [string, number][] = [];
  const out = setupChannel({
    ...ctx,
    wallet: {
      paysWallet: (s, i) => {
        seen.push([toHex(s), i]);
        return i === 3;
      },
      allowlisted: () => false,
    },
  }, withScript);
  deepStrictEqual(seen, [[toHex(script), 3]]);
  const c = out.facts.channel;
  deepStrictEqual(
    [
      c.has_holder_shutdown_script,
      c.holder_shutdown_script,
      c.holder_shutdown_script_in_wallet,
      c.holder_shutdown_script_allowlisted,
    ],
    [true, toHex(script), true, false],
  );
});
