/**
 * core/channel/types.ts: the zod schemas of the persisted channel state. Each accepts the values
 * the channel operations produce (BOLT #3 vector channel, real states) and refuses malformed ones
 * with the offending field's path and a clear message.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import type { z } from "zod";
import {
  ChannelSetupSchema,
  ChannelStateSchema,
  COMMITMENT_TYPES,
  CommitmentInfoSchema,
  CounterpartyKeysSchema,
  EnforcementSchema,
  HashHex,
  HtlcInfoSchema,
  PointHex,
  ScriptHex,
  SignedHolderCommitmentSchema,
} from "../../../core/channel/types.ts";
import { initialEnforcement, newStub } from "../../../core/channel/state.ts";
import { caseInfo, SEVEN_OUTPUTS, VECTOR, vectorSetup, vectorState } from "./_bolt3.ts";
import { Channel } from "./ops/_two_sided.ts";

/** "ok", or the path and message of each issue. */
function check(schema: z.ZodType, value: unknown): "ok" | [(string | number)[], string][] {
  const r = schema.safeParse(value);
  return r.success ? "ok" : r.error.issues.map((i) => [i.path as (string | number)[], i.message]);
}

Deno.test("PointHex, HashHex and ScriptHex: lower-case hex of the right length", () => {
  strictEqual(check(PointHex, VECTOR.localFundingPubkey), "ok");
  const point = [[[], "33 bytes of lower-case hex"]];
  deepStrictEqual(check(PointHex, VECTOR.localFundingPubkey.toUpperCase()), point);
  deepStrictEqual(check(PointHex, VECTOR.localFundingPubkey.slice(2)), point);
  deepStrictEqual(check(PointHex, VECTOR.localFundingPubkey + "00"), point);
  deepStrictEqual(check(PointHex, "0x" + VECTOR.localFundingPubkey.slice(2)), point);
  deepStrictEqual(check(PointHex, 5), [[[], "Invalid input: expected string, received number"]]);
  strictEqual(check(HashHex, VECTOR.fundingTxidHex), "ok");
  deepStrictEqual(check(HashHex, VECTOR.localFundingPubkey), [[[], "32 bytes of lower-case hex"]]);
  for (const ok of ["", "00", VECTOR.fundingWitnessScript]) strictEqual(check(ScriptHex, ok), "ok");
  for (const bad of ["0", "0g", "AB", "00 11"]) {
    deepStrictEqual(check(ScriptHex, bad), [[[], "lower-case hex"]]);
  }
});

Deno.test("COMMITMENT_TYPES: the four BOLT #9 channel types the signer knows, in order", () => {
  deepStrictEqual(COMMITMENT_TYPES, [
    "legacy",
    "static_remotekey",
    "anchors",
    "anchors_zero_fee_htlc",
  ]);
});

Deno.test("ChannelSetupSchema and CounterpartyKeysSchema: valid setups pass, each bad field is named", () => {
  const setup = vectorSetup("local", false);
  deepStrictEqual(ChannelSetupSchema.parse(setup), setup);
  strictEqual(check(ChannelSetupSchema, vectorSetup("remote", true)), "ok");
  strictEqual(check(CounterpartyKeysSchema, setup.counterparty), "ok");
  // Unknown keys are dropped, not kept.
  strictEqual("extra" in ChannelSetupSchema.parse({ ...setup, extra: 1 }), false);
  const cases: [Record<string, unknown>, (string | number)[], string][] = [
    [{ isOutbound: "yes" }, ["isOutbound"], "Invalid input: expected boolean, received string"],
    [{ channelValueSat: -1n }, ["channelValueSat"], "Too small: expected bigint to be >=0"],
    [
      { channelValueSat: 2_100_000_000_000_001n },
      ["channelValueSat"],
      "Too big: expected bigint to be <=2100000000000000",
    ],
    [
      { pushMsat: 2_100_000_000_000_000_001n },
      ["pushMsat"],
      "Too big: expected bigint to be <=2100000000000000000",
    ],
    [
      { fundingOutpoint: { txid: setup.fundingOutpoint.txid, vout: 0x10000 } },
      ["fundingOutpoint", "vout"],
      "Too big: expected number to be <=65535",
    ],
    [
      { fundingOutpoint: { txid: "00", vout: 0 } },
      ["fundingOutpoint", "txid"],
      "32 bytes of lower-case hex",
    ],
    [
      { counterpartySelectedContestDelay: 1.5 },
      ["counterpartySelectedContestDelay"],
      "Invalid input: expected int, received number",
    ],
    [
      { counterparty: { ...setup.counterparty, htlcBasepoint: undefined } },
      ["counterparty", "htlcBasepoint"],
      "Invalid input: expected string, received undefined",
    ],
    [{ holderShutdownScript: "0" }, ["holderShutdownScript"], "lower-case hex"],
    [
      { holderShutdownWalletIndex: 0x80000000 },
      ["holderShutdownWalletIndex"],
      "Too big: expected number to be <=2147483647",
    ],
    [
      { commitmentType: "simple_taproot" },
      ["commitmentType"],
      'Invalid option: expected one of "legacy"|"static_remotekey"|"anchors"|"anchors_zero_fee_htlc"',
    ],
  ];
  for (const [change, path, message] of cases) {
    deepStrictEqual(check(ChannelSetupSchema, { ...setup, ...change }), [[path, message]]);
  }
  const { isOutbound: _, ...missing } = setup;
  deepStrictEqual(check(ChannelSetupSchema, missing), [[
    ["isOutbound"],
    "Invalid input: expected boolean, received undefined",
  ]]);
});

Deno.test("HtlcInfoSchema and CommitmentInfoSchema: Appendix C's commitment passes, bad fields are named", () => {
  const info = caseInfo(SEVEN_OUTPUTS, false);
  deepStrictEqual(CommitmentInfoSchema.parse(info), info);
  strictEqual(check(HtlcInfoSchema, info.htlcs[0]), "ok");
  const cases: [Record<string, unknown>, (string | number)[], string][] = [
    [{ number: 2 ** 48 }, ["number"], "Too big: expected number to be <=281474976710655"],
    [{ number: 1.5 }, ["number"], "Invalid input: expected int, received number"],
    [{ feeratePerKw: 2 ** 32 }, ["feeratePerKw"], "Too big: expected number to be <=4294967295"],
    [{ perCommitmentPoint: "02" }, ["perCommitmentPoint"], "33 bytes of lower-case hex"],
    [
      { toBroadcasterSat: 2_100_000_000_000_001n },
      ["toBroadcasterSat"],
      "Too big: expected bigint to be <=2100000000000000",
    ],
    [
      { toCountersignatorySat: 5 },
      ["toCountersignatorySat"],
      "Invalid input: expected bigint, received number",
    ],
    [
      { htlcs: [info.htlcs[0], { ...info.htlcs[1], cltvExpiry: 2 ** 32 }] },
      ["htlcs", 1, "cltvExpiry"],
      "Too big: expected number to be <=4294967295",
    ],
    [
      { htlcs: [{ ...info.htlcs[0], paymentHash: "ab" }] },
      ["htlcs", 0, "paymentHash"],
      "32 bytes of lower-case hex",
    ],
    [
      { htlcs: [{ ...info.htlcs[0], amountMsat: -1n }] },
      ["htlcs", 0, "amountMsat"],
      "Too small: expected bigint to be >=0",
    ],
  ];
  for (const [change, path, message] of cases) {
    deepStrictEqual(check(CommitmentInfoSchema, { ...info, ...change }), [[path, message]]);
  }
});

Deno.test("SignedHolderCommitmentSchema and EnforcementSchema: signatures and the secret store are bounded", () => {
  const info = caseInfo(SEVEN_OUTPUTS, false);
  const signed = {
    info,
    counterpartySig: "11".repeat(64),
    counterpartyHtlcSigs: ["22".repeat(64), "33".repeat(64)],
    warnings: ["policy-commitment-fee-range"],
  };
  deepStrictEqual(SignedHolderCommitmentSchema.parse(signed), signed);
  deepStrictEqual(
    check(SignedHolderCommitmentSchema, { ...signed, counterpartySig: "11".repeat(63) }),
    [[
      ["counterpartySig"],
      "64 bytes of lower-case hex",
    ]],
  );
  deepStrictEqual(
    check(SignedHolderCommitmentSchema, {
      ...signed,
      counterpartyHtlcSigs: ["22".repeat(64), "33"],
    }),
    [[["counterpartyHtlcSigs", 1], "64 bytes of lower-case hex"]],
  );
  strictEqual(check(EnforcementSchema, initialEnforcement()), "ok");
  const e = { ...initialEnforcement(), currentHolder: signed, nextHolderCommitNum: 43 };
  strictEqual(check(EnforcementSchema, e), "ok");
  const entry = { index: 2 ** 48 - 1, secret: "44".repeat(32) };
  const secrets = (entries: unknown[], version = 1) => ({
    ...initialEnforcement(),
    counterpartySecrets: { version, entries },
  });
  strictEqual(check(EnforcementSchema, secrets(new Array(49).fill(entry))), "ok");
  deepStrictEqual(check(EnforcementSchema, secrets(new Array(50).fill(entry))), [[
    ["counterpartySecrets", "entries"],
    "Too big: expected array to have <=49 items",
  ]]);
  deepStrictEqual(check(EnforcementSchema, secrets([entry], 2)), [[
    ["counterpartySecrets", "version"],
    "Invalid input: expected 1",
  ]]);
  deepStrictEqual(check(EnforcementSchema, secrets([{ ...entry, secret: "44" }])), [[
    ["counterpartySecrets", "entries", 0, "secret"],
    "32 bytes of lower-case hex",
  ]]);
  deepStrictEqual(check(EnforcementSchema, { ...initialEnforcement(), nextHolderCommitNum: -1 }), [[
    ["nextHolderCommitNum"],
    "Too small: expected number to be >=0",
  ]]);
  deepStrictEqual(check(EnforcementSchema, { ...initialEnforcement(), closed: 1 }), [[
    ["closed"],
    "Invalid input: expected boolean, received number",
  ]]);
});

Deno.test("ChannelStateSchema: stubs and real states pass; version, stage and id are checked", () => {
  strictEqual(check(ChannelStateSchema, newStub("00")), "ok");
  strictEqual(check(ChannelStateSchema, vectorState("local", true)), "ok");
  const ch = new Channel(true);
  ch.open();
  deepStrictEqual(ChannelStateSchema.parse(ch.us.state), ch.us.state);
  const state = vectorState("local", false);
  const cases: [Record<string, unknown>, (string | number)[], string][] = [
    [{ version: 2 }, ["version"], "Invalid input: expected 1"],
    [{ stage: "open" }, ["stage"], 'Invalid option: expected one of "stub"|"ready"'],
    [{ id: "abc" }, ["id"], "lower-case hex"],
    [{ forgotten: "no" }, ["forgotten"], "Invalid input: expected boolean, received string"],
    [
      { setup: { ...state.setup, channelValueSat: 1 } },
      ["setup", "channelValueSat"],
      "Invalid input: expected bigint, received number",
    ],
    [
      { enforcement: { ...state.enforcement, pendingHolder: { info: {} } } },
      ["enforcement", "pendingHolder", "info", "number"],
      "Invalid input: expected number, received undefined",
    ],
  ];
  for (const [change, path, message] of cases) {
    const issues = check(ChannelStateSchema, { ...state, ...change });
    deepStrictEqual(issues === "ok" ? "ok" : issues[0], [path, message]);
  }
});
