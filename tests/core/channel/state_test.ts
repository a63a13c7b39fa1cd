/**
 * core/channel/state.ts: a stub's initial state, canonical HTLC order and commitment equality,
 * our per-commitment secrets and points (BOLT #3 Appendix D) and when a secret may leave, the
 * counterparty points we stored; and the persisted form of states reached by real transitions
 * (store JSON codec and schema, as the signer loads them) with the README's counter invariants.
 */
import { deepStrictEqual, notStrictEqual, strictEqual } from "node:assert/strict";
import { fromHex, toHex } from "../../../core/bytes.ts";
import { publicKey } from "../../../core/crypto/mod.ts";
import { fromJson, toJson } from "../../../core/store/json.ts";
import { ChannelId, channelKeysFromSecrets } from "../../../core/keys/types.ts";
import {
  holderPoint,
  holderPointHex,
  holderSecret,
  initialEnforcement,
  maySecret,
  newStub,
  sameInfo,
  sortHtlcs,
  storedCounterpartyPoint,
} from "../../../core/channel/state.ts";
import {
  type ChannelState,
  ChannelStateSchema,
  type CommitmentInfo,
} from "../../../core/channel/types.ts";
import { signHolderCommitment } from "../../../core/channel/ops/force_close.ts";
import { ctxOf } from "./_peer.ts";
import { caseInfo, HTLCS, SEVEN_OUTPUTS } from "./_bolt3.ts";
import { Channel } from "./ops/_two_sided.ts";

Deno.test("initialEnforcement and newStub: nothing has happened yet", () => {
  const e = initialEnforcement();
  deepStrictEqual(e, {
    nextHolderCommitNum: 0,
    nextCounterpartyCommitNum: 0,
    nextCounterpartyRevokeNum: 0,
    currentHolder: null,
    pendingHolder: null,
    currentCounterparty: null,
    previousCounterparty: null,
    counterpartySecrets: { version: 1, entries: [] },
    closed: false,
    forceClosedNumber: null,
    initialHolderValueSat: 0n,
  });
  notStrictEqual(initialEnforcement().counterpartySecrets, e.counterpartySecrets, "never shared");
  const stub = newStub("0a0b");
  deepStrictEqual(stub, {
    version: 1,
    id: "0a0b",
    stage: "stub",
    setup: null,
    enforcement: e,
    forgotten: false,
  });
  deepStrictEqual(ChannelStateSchema.parse(stub), stub);
});

Deno.test("sortHtlcs: offered first, then amount, payment hash and expiry (Appendix C's HTLCs)", () => {
  const all = HTLCS.map(({ preimage: _, ...h }) => h);
  const sorted = sortHtlcs([...all].reverse());
  // Offered: 2 (2000 sat), 3 (3000), 5 (5_000_000 msat), 6 (5_000_001 msat); received 0, 1, 4.
  deepStrictEqual(sorted, [all[2], all[3], all[5], all[6], all[0], all[1], all[4]]);
  strictEqual(all[0].cltvExpiry, 500, "the input is not reordered");
  // Same amount: by payment hash, then by expiry.
  const a = { offered: true, amountMsat: 1000n, paymentHash: "01".repeat(32), cltvExpiry: 9 };
  const b = { ...a, paymentHash: "00".repeat(32) };
  const c = { ...a, cltvExpiry: 8 };
  deepStrictEqual(sortHtlcs([a, b, c]), [b, c, a]);
  deepStrictEqual(sortHtlcs([]), []);
});

Deno.test("sameInfo: equal infos describe the same commitment whatever the HTLC order", () => {
  const info = caseInfo(SEVEN_OUTPUTS, false);
  strictEqual(sameInfo(info, { ...info, htlcs: [...info.htlcs].reverse() }), true);
  const changes: Partial<CommitmentInfo>[] = [
    { number: 43 },
    { perCommitmentPoint: "03" + info.perCommitmentPoint.slice(2) },
    { feeratePerKw: 648 },
    { toBroadcasterSat: info.toBroadcasterSat - 1n },
    { toCountersignatorySat: info.toCountersignatorySat + 1n },
    { htlcs: info.htlcs.slice(1) },
    { htlcs: [{ ...info.htlcs[0], offered: !info.htlcs[0].offered }, ...info.htlcs.slice(1)] },
    { htlcs: [{ ...info.htlcs[0], amountMsat: 1n }, ...info.htlcs.slice(1)] },
    { htlcs: [{ ...info.htlcs[0], paymentHash: "00".repeat(32) }, ...info.htlcs.slice(1)] },
    { htlcs: [{ ...info.htlcs[0], cltvExpiry: 1 }, ...info.htlcs.slice(1)] },
  ];
  for (const change of changes) {
    strictEqual(sameInfo(info, { ...info, ...change }), false, JSON.stringify(Object.keys(change)));
  }
});

Deno.test("holderSecret and holderPoint: BOLT #3 generate_from_seed at index 2^48 - 1 - n", () => {
  const keysWithSeed = (byte: number) =>
    channelKeysFromSecrets(ChannelId.fromBytes(fromHex("02")), {
      funding: new Uint8Array(32).fill(0x31),
      revocation: new Uint8Array(32).fill(0x32),
      htlc: new Uint8Array(32).fill(0x33),
      payment: new Uint8Array(32).fill(0x34),
      delayedPayment: new Uint8Array(32).fill(0x35),
      shaSeed: new Uint8Array(32).fill(byte),
    });
  // Appendix D: "generate_from_seed 0 final node" and "FF final node" (commitment 0), and
  // "01 last nontrivial node" (index 1: commitment 2^48 - 2).
  const vectors: [number, number, string][] = [
    [0x00, 0, "02a40c85b6f28da08dfdbe0926c53fab2de6d28c10301f8f7c4073d5e42e3148"],
    [0xff, 0, "7cc854b54e3e0dcdb010d7a3fee464a9687be6e8db3be6854c475621e007a5dc"],
    [0x01, 2 ** 48 - 2, "915c75942a26bb3a433a8ce2cb0427c29ec6c1775cfc78328b57f6ba7bfeaa9c"],
  ];
  for (const [seed, n, secret] of vectors) {
    const keys = keysWithSeed(seed);
    strictEqual(toHex(holderSecret(keys, n)), secret);
    const point = toHex(publicKey(fromHex(secret)));
    strictEqual(toHex(holderPoint(keys, n)), point);
    strictEqual(holderPointHex(keys, n), point);
  }
});

Deno.test("maySecret: secret k leaves only once k + 1 is current (k <= H - 2), never a force-closed one", () => {
  const at = (H: number, forceClosedNumber: number | null = null) => ({
    ...initialEnforcement(),
    nextHolderCommitNum: H,
    forceClosedNumber,
  });
  deepStrictEqual([0, 1, 2, 3, 4, 5].map((k) => maySecret(at(5), k)), [
    true,
    true,
    true,
    true,
    false,
    false,
  ]);
  deepStrictEqual([0, 1].map((k) => maySecret(at(0), k)), [false, false]);
  deepStrictEqual([0, 1].map((k) => maySecret(at(1), k)), [false, false]);
  strictEqual(maySecret(at(2), 0), true);
  deepStrictEqual([2, 3].map((k) => maySecret(at(5, 3), k)), [true, false]);
});

Deno.test("storedCounterpartyPoint: the point of the current or previous counterparty commitment", () => {
  const current = caseInfo(SEVEN_OUTPUTS, false);
  const previous = { ...current, number: 41, perCommitmentPoint: "02" + "11".repeat(32) };
  const e = {
    ...initialEnforcement(),
    currentCounterparty: current,
    previousCounterparty: previous,
  };
  strictEqual(storedCounterpartyPoint(e, 42), current.perCommitmentPoint);
  strictEqual(storedCounterpartyPoint(e, 41), "02" + "11".repeat(32));
  strictEqual(storedCounterpartyPoint(e, 40), undefined);
  strictEqual(storedCounterpartyPoint(e, 43), undefined);
  strictEqual(storedCounterpartyPoint(initialEnforcement(), 0), undefined);
});

/** The persisted form of a state: the store's JSON codec, then the schema, as the signer loads. */
function roundTrip(state: ChannelState): ChannelState {
  return ChannelStateSchema.parse(fromJson(toJson(state)));
}

/** README.md "Counters": what every reachable state satisfies. */
function checkInvariants(s: ChannelState): void {
  const e = s.enforcement;
  const H = e.nextHolderCommitNum;
  const C = e.nextCounterpartyCommitNum;
  const R = e.nextCounterpartyRevokeNum;
  strictEqual(e.currentHolder?.info.number, H - 1, "the current holder commitment is H - 1");
  strictEqual(e.pendingHolder === null || e.pendingHolder.info.number === H, true);
  strictEqual(e.currentCounterparty?.number, C - 1, "the current counterparty commitment is C - 1");
  strictEqual(e.previousCounterparty === null || e.previousCounterparty.number === C - 2, true);
  strictEqual(R <= C - 1 && R >= C - 2, true, "R is C - 1 or C - 2");
  strictEqual(e.previousCounterparty === null || R <= C - 2, true, "previous is not revoked yet");
  strictEqual(e.counterpartySecrets.entries.length <= 49, true);
  strictEqual(
    e.counterpartySecrets.entries.length > 0,
    R > 0,
    "a secret is held exactly when some commitment was revoked",
  );
}

Deno.test("states reached by real transitions keep the invariants and survive the store round trip", () => {
  for (const anchors of [false, true]) {
    const opened = new Channel(anchors);
    const states: ChannelState[] = [opened.us.state];
    opened.open();
    states.push(opened.us.state);
    const ch = new Channel(anchors, 300_000_000n); // the peer needs a balance to offer its HTLC
    ch.openWithTwoHtlcs();
    states.push(ch.us.state);
    ch.commit("peer", 3); // our commitment 3 validated: pending
    states.push(ch.us.state);
    for (const s of states.slice(1)) checkInvariants(s);
    const e = ch.us.state.enforcement;
    deepStrictEqual(
      [e.nextHolderCommitNum, e.nextCounterpartyCommitNum, e.nextCounterpartyRevokeNum],
      [3, 3, 2],
    );
    strictEqual(e.pendingHolder?.info.number, 3);
    strictEqual(e.currentHolder?.info.htlcs.length, 2);
    // Secrets 0 and 1 (indices 2^48 - 1 and 2^48 - 2) sit in slots 0 and 1.
    deepStrictEqual(e.counterpartySecrets.entries.map((x) => 2 ** 48 - 1 - x.index), [0, 1]);
    const closed = signHolderCommitment(ctxOf(ch.us), 2).next;
    states.push(closed);
    for (const s of states) deepStrictEqual(roundTrip(s), s);
    strictEqual(roundTrip(closed).enforcement.forceClosedNumber, 2);
    strictEqual(typeof roundTrip(closed).enforcement.initialHolderValueSat, "bigint");
  }
});
