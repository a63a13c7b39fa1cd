/**
 * core/channel/facts.ts: the fact schemas of the channel request kinds. The leaf builders carry
 * their units; every amount, delay and feerate is marked with the unit its name says; the shared
 * blocks are the same schema in every kind; and the facts the operations compute for a known
 * channel state are exactly what the schemas describe (nothing missing, nothing extra), with a
 * malformed record refused at the path of the bad field.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { z } from "zod";
import {
  blocks,
  bytes,
  ChainFacts,
  CHANNEL_FACT_KINDS,
  ChannelFacts,
  CommitmentFacts,
  CommitmentTxFacts,
  int,
  msat,
  perKw,
  RequestFacts,
  sat,
  StateFacts,
} from "../../../core/channel/facts.ts";
import { setupChannel } from "../../../core/channel/ops/setup.ts";
import { getPerCommitmentPoint, revokeHolderCommitment } from "../../../core/channel/ops/points.ts";
import { validateCounterpartyRevocation } from "../../../core/channel/ops/revocation.ts";
import { signHolderCommitment } from "../../../core/channel/ops/force_close.ts";
import {
  signCounterpartyCommitment,
  validateHolderCommitment,
} from "../../../core/channel/ops/commitment.ts";
import { readySetup } from "../../../core/channel/ops/context.ts";
import { holderPoint, holderSecret } from "../../../core/channel/state.ts";
import { ctxOf } from "./_peer.ts";
import { Channel, FEERATE, hashOf, US_CHANNEL_FACTS } from "./ops/_two_sided.ts";

const metaOf = (s: z.ZodType) => (s.meta() ?? {}) as Record<string, unknown>;

Deno.test("leaf builders: amounts, blocks and feerates carry their unit, bytes are marked", () => {
  deepStrictEqual(metaOf(sat()), { unit: "sat" });
  deepStrictEqual(metaOf(msat()), { unit: "msat" });
  deepStrictEqual(metaOf(blocks()), { unit: "blocks" });
  deepStrictEqual(metaOf(perKw()), { unit: "per-kw" });
  deepStrictEqual(metaOf(bytes()), { type: "bytes" });
  deepStrictEqual(metaOf(int()), {});
  strictEqual(sat().safeParse(5n).success, true);
  strictEqual(sat().safeParse(5).success, false, "amounts are bigint");
  strictEqual(msat().safeParse(5).success, false);
  strictEqual(blocks().safeParse(144).success, true);
  strictEqual(blocks().safeParse(1.5).success, false, "blocks are integers");
  strictEqual(perKw().safeParse(253.5).success, false);
  strictEqual(int().safeParse(-1).success, true);
  strictEqual(bytes().safeParse("00ff").success, true);
  strictEqual(bytes().safeParse(0).success, false);
});

Deno.test("CHANNEL_FACT_KINDS: the seven channel kinds and their blocks", () => {
  const blocksOf = (s: z.ZodObject) => Object.keys(s.shape);
  deepStrictEqual(
    Object.fromEntries(Object.entries(CHANNEL_FACT_KINDS).map(([k, s]) => [k, blocksOf(s)])),
    {
      setup_channel: ["channel", "setup", "request"],
      get_per_commitment_point: ["channel", "state", "point"],
      sign_counterparty_commitment: [
        "channel",
        "state",
        "chain",
        "request",
        "commitment",
        "holder_commitment",
        "point",
        "payments",
      ],
      validate_holder_commitment: [
        "channel",
        "state",
        "chain",
        "request",
        "commitment",
        "holder_commitment",
        "point",
        "payments",
      ],
      revoke_holder_commitment: ["channel", "state", "revoke"],
      validate_counterparty_revocation: ["channel", "state", "revocation"],
      sign_holder_commitment: ["channel", "state", "holder_commitment", "force_close"],
    },
  );
  strictEqual(
    CHANNEL_FACT_KINDS.sign_counterparty_commitment,
    CHANNEL_FACT_KINDS.validate_holder_commitment,
  );
  // Shared blocks are one schema, so one rule can be `on` several kinds.
  const shared: [string, z.ZodType][] = [
    ["channel", ChannelFacts],
    ["state", StateFacts],
    ["chain", ChainFacts],
    ["request", RequestFacts],
  ];
  for (const [kind, schema] of Object.entries(CHANNEL_FACT_KINDS)) {
    for (const [block, s] of shared) {
      const own = (schema.shape as Record<string, z.ZodType>)[block];
      if (own !== undefined) strictEqual(own, s, `${kind}.${block}`);
    }
  }
  strictEqual(CommitmentFacts.shape.tx, CommitmentTxFacts);
});

/** Every leaf of a schema: its path, zod type and unit (or `bytes`). */
function leaves(schema: z.ZodType, prefix: string): [string, string, string][] {
  if (schema instanceof z.ZodObject) {
    return Object.entries(schema.shape).flatMap(([k, v]) =>
      leaves(v as z.ZodType, prefix ? `${prefix}.${k}` : k)
    );
  }
  if (schema instanceof z.ZodArray) return leaves(schema.element as z.ZodType, `${prefix}[]`);
  const m = metaOf(schema);
  return [[prefix, schema.def.type, String(m.unit ?? m.type ?? "")]];
}

Deno.test("every leaf's unit agrees with its name, and every amount has one", () => {
  const all = Object.entries(CHANNEL_FACT_KINDS).flatMap(([kind, schema]) => leaves(schema, kind));
  const wrong = all.filter(([path, type, unit]) => {
    const name = path.split(".").pop() ?? "";
    if (type === "bigint") return !(name.endsWith("_msat") ? unit === "msat" : unit === "sat");
    if (name.endsWith("_sat")) return unit !== "sat";
    if (name.endsWith("_msat")) return unit !== "msat";
    if (name.endsWith("per_kw")) return unit !== "per-kw";
    if (/(delay|depth|cltv_expiry|cltv_min|cltv_max|height)$/.test(name)) return unit !== "blocks";
    if (/(hash|script)$/.test(name) && type === "string") return unit !== "bytes";
    return !["boolean", "string", "number"].includes(type);
  });
  deepStrictEqual(wrong, []);
  // Spot checks of the table.
  const find = (p: string) => all.find(([path]) => path === p)?.slice(1);
  deepStrictEqual(find("sign_counterparty_commitment.commitment.fee_sat"), ["bigint", "sat"]);
  deepStrictEqual(find("validate_holder_commitment.commitment.htlcs[].amount_msat"), [
    "bigint",
    "msat",
  ]);
  deepStrictEqual(find("sign_counterparty_commitment.payments[].hash"), ["string", "bytes"]);
  deepStrictEqual(find("setup_channel.channel.holder_selected_contest_delay"), [
    "number",
    "blocks",
  ]);
  deepStrictEqual(find("sign_counterparty_commitment.commitment.tx.locktime"), ["number", ""]);
});

/** Strip nothing, keep everything: `parse` returns exactly the record when it fits the schema. */
function assertExact(kind: keyof typeof CHANNEL_FACT_KINDS, facts: unknown): void {
  const parsed = CHANNEL_FACT_KINDS[kind].safeParse(facts);
  deepStrictEqual(parsed.success ? [] : parsed.error.issues, [], kind);
  deepStrictEqual(parsed.data, facts, `${kind}: no field missing or extra`);
}

Deno.test("the facts every channel operation computes fit their schema exactly", () => {
  const ch = new Channel(true, 300_000_000n);
  const stubCtx = {
    ...ctxOf(ch.us),
    state: { ...ch.us.state, stage: "stub" as const, setup: null },
  };
  assertExact("setup_channel", setupChannel(stubCtx, readySetup(ch.us.state)).facts);
  ch.open();
  ch.openerMsat -= 100_000_000n;
  ch.htlcs.push({ fromOpener: true, amountMsat: 100_000_000n, hash: hashOf(1), cltv: 500 });
  assertExact("get_per_commitment_point", getPerCommitmentPoint(ctxOf(ch.us), 2).facts);
  const v = ch.valuesFor("peer");
  const request = {
    number: 1,
    feeratePerKw: FEERATE,
    htlcs: v.htlcs,
    values: {
      toBroadcasterSat: v.toBroadcasterSat,
      toCountersignatorySat: v.toCountersignatorySat,
    },
  };
  const signed = signCounterpartyCommitment(ctxOf(ch.us), {
    ...request,
    perCommitmentPoint: holderPoint(ch.peer.keys, 1),
  });
  assertExact("sign_counterparty_commitment", signed.facts);
  strictEqual(signed.facts.commitment.htlcs.length, 1);
  ch.commit("us", 1);
  assertExact(
    "validate_counterparty_revocation",
    validateCounterpartyRevocation(ctxOf(ch.us), {
      number: 0,
      secret: holderSecret(ch.peer.keys, 0),
    })
      .facts,
  );
  ch.revoke("peer", 0);
  const ours = ch.valuesFor("us");
  const sigs = signCounterpartyCommitment(ctxOf(ch.peer), {
    number: 1,
    feeratePerKw: FEERATE,
    htlcs: ours.htlcs,
    values: {
      toBroadcasterSat: ours.toBroadcasterSat,
      toCountersignatorySat: ours.toCountersignatorySat,
    },
    perCommitmentPoint: holderPoint(ch.us.keys, 1),
  }).release();
  const validated = validateHolderCommitment(ctxOf(ch.us), {
    number: 1,
    feeratePerKw: FEERATE,
    htlcs: ours.htlcs,
    values: {
      toBroadcasterSat: ours.toBroadcasterSat,
      toCountersignatorySat: ours.toCountersignatorySat,
    },
    counterpartySig: sigs.signature,
    counterpartyHtlcSigs: sigs.htlcSignatures,
  });
  assertExact("validate_holder_commitment", validated.facts);
  ch.us.state = validated.next;
  assertExact("revoke_holder_commitment", revokeHolderCommitment(ctxOf(ch.us), 0).facts);
  assertExact("sign_holder_commitment", signHolderCommitment(ctxOf(ch.us), 0).facts);
});

Deno.test("a known state's facts: get_per_commitment_point and sign_holder_commitment, exactly", () => {
  const ch = new Channel();
  ch.open();
  const state = {
    holder_next: 1,
    counterparty_next: 1,
    counterparty_revoke_next: 0,
    holder_pending: false,
    has_current_holder: true,
    has_current_counterparty: true,
  };
  deepStrictEqual(getPerCommitmentPoint(ctxOf(ch.us), 1).facts, {
    channel: US_CHANNEL_FACTS,
    state,
    point: { number: 1 },
  });
  deepStrictEqual(signHolderCommitment(ctxOf(ch.us), 0).facts, {
    channel: US_CHANNEL_FACTS,
    state,
    holder_commitment: { number: 0 },
    force_close: { signs_current: true, signs_pending: false },
  });
});

Deno.test("a malformed fact record is refused at the path of the bad field", () => {
  const ch = new Channel();
  ch.open();
  const facts = getPerCommitmentPoint(ctxOf(ch.us), 1).facts;
  const issue = (value: unknown) => {
    const r = CHANNEL_FACT_KINDS.get_per_commitment_point.safeParse(value);
    return r.success ? "ok" : r.error.issues.map((i) => [i.path, i.message]);
  };
  deepStrictEqual(issue({ ...facts, channel: { ...facts.channel, value_sat: 1_000_000 } }), [[
    ["channel", "value_sat"],
    "Invalid input: expected bigint, received number",
  ]]);
  deepStrictEqual(issue({ ...facts, point: {} }), [[
    ["point", "number"],
    "Invalid input: expected number, received undefined",
  ]]);
  deepStrictEqual(issue({ ...facts, state: { ...facts.state, holder_next: 1.5 } }), [[
    ["state", "holder_next"],
    "Invalid input: expected int, received number",
  ]]);
  const { state: _, ...noState } = facts;
  deepStrictEqual(issue(noState), [[
    ["state"],
    "Invalid input: expected object, received undefined",
  ]]);
});
