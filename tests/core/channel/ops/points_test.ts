/**
 * core/channel/ops/points.ts: handing out our per-commitment points (BOLT #3 Appendix D secrets
 * from the channel's shachain seed), checking a claimed secret, and revoking a holder commitment,
 * the only way a secret leaves the signer. Refusals are named by the default policy's rule ids.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import perCommitmentSecrets from "../../../vectors/bolt3/per-commitment-secrets.json" with {
  type: "json",
};
import { fromHex, toHex } from "../../../../core/bytes.ts";
import { publicKey } from "../../../../core/crypto/mod.ts";
import { ChannelId, channelKeysFromSecrets } from "../../../../core/keys/types.ts";
import {
  checkFutureSecret,
  getPerCommitmentPoint,
  revokeHolderCommitment,
} from "../../../../core/channel/ops/points.ts";
import {
  signCounterpartyCommitment,
  validateHolderCommitment,
} from "../../../../core/channel/ops/commitment.ts";
import { type OpContext, UNTRACKED_CHAIN } from "../../../../core/channel/ops/context.ts";
import { holderPoint, holderSecret, newStub } from "../../../../core/channel/state.ts";
import { ctxOf } from "../_peer.ts";
import { refusedBy } from "../_policy.ts";
import { Channel, FEERATE, US_CHANNEL_FACTS } from "./_two_sided.ts";

Deno.test("secrets never leave early; points at most one (or two with a pending) ahead", () => {
  const ch = new Channel();
  ch.open();
  // H = 1: revoking 0 before commitment 1 is validated releases nothing.
  const early = revokeHolderCommitment(ctxOf(ch.us), 0);
  strictEqual(early.facts.revoke.advances_state, false);
  throws(() => early.release(), {
    name: "ChannelRequestError",
    message: "secret 0 is not releasable",
  });
  const p = getPerCommitmentPoint(ctxOf(ch.us), 5);
  deepStrictEqual(p.facts.point, { number: 5 });
  deepStrictEqual(p.facts.state.holder_next, 1);
  strictEqual(checkFutureSecret(ctxOf(ch.us), 3, holderSecret(ch.us.keys, 3)), true);
  strictEqual(checkFutureSecret(ctxOf(ch.us), 3, holderSecret(ch.us.keys, 4)), false);
});

/** A context whose channel keys have shachain seed `seed` (other secrets arbitrary). */
function ctxWithSeed(seedHex: string): OpContext {
  const fill = (b: number) => new Uint8Array(32).fill(b);
  const keys = channelKeysFromSecrets(ChannelId.fromBytes(fromHex("01")), {
    funding: fill(0x11),
    revocation: fill(0x12),
    htlc: fill(0x13),
    payment: fill(0x14),
    delayedPayment: fill(0x15),
    shaSeed: fromHex(seedHex),
  });
  return { state: newStub("01"), keys, chain: UNTRACKED_CHAIN };
}

Deno.test("points and secrets follow BOLT #3 Appendix D generate_from_seed (index 2^48 - 1 - n)", () => {
  const tests = perCommitmentSecrets.generation_tests;
  strictEqual(tests.length, 5);
  for (const t of tests) {
    const ctx = ctxWithSeed(t.seed);
    const n = 281474976710655 - Number(t.index);
    const out = getPerCommitmentPoint(ctx, n);
    strictEqual(out.kind, "get_per_commitment_point");
    strictEqual(toHex(out.release()), toHex(publicKey(fromHex(t.output))), t.name);
    strictEqual(checkFutureSecret(ctx, n, fromHex(t.output)), true, t.name);
    const wrong = fromHex(t.output);
    wrong[31] ^= 1;
    strictEqual(checkFutureSecret(ctx, n, wrong), false, t.name);
  }
  // The first commitment (n = 0) of seed 0: the "0 final node" vector.
  strictEqual(
    toHex(holderSecret(ctxWithSeed("00".repeat(32)).keys, 0)),
    "02a40c85b6f28da08dfdbe0926c53fab2de6d28c10301f8f7c4073d5e42e3148",
  );
});

Deno.test("getPerCommitmentPoint: facts, no state change, and the look-ahead rule", () => {
  const ch = new Channel();
  ch.open(); // H = 1
  const out = getPerCommitmentPoint(ctxOf(ch.us), 2);
  deepStrictEqual(out.facts, {
    channel: US_CHANNEL_FACTS,
    state: {
      holder_next: 1,
      counterparty_next: 1,
      counterparty_revoke_next: 0,
      holder_pending: false,
      has_current_holder: true,
      has_current_counterparty: true,
    },
    point: { number: 2 },
  });
  strictEqual(out.next, ch.us.state);
  deepStrictEqual(out.release(), holderPoint(ch.us.keys, 2));
  deepStrictEqual(refusedBy(out), []);
  // H + 2 without a pending commitment is out of step.
  deepStrictEqual(refusedBy(getPerCommitmentPoint(ctxOf(ch.us), 3)), ["policy-optional-fail-fast"]);
  // With commitment 1 validated and pending, LDK may ask for H + 2 = 3 (not 4).
  ch.commit("peer", 1);
  strictEqual(ch.us.state.enforcement.pendingHolder?.info.number, 1);
  deepStrictEqual(refusedBy(getPerCommitmentPoint(ctxOf(ch.us), 3)), []);
  deepStrictEqual(refusedBy(getPerCommitmentPoint(ctxOf(ch.us), 4)), ["policy-optional-fail-fast"]);
  // A stub hands out points 0 and 1 only.
  const stub = { ...ctxOf(ch.us), state: newStub("00") };
  strictEqual(getPerCommitmentPoint(stub, 1).facts.channel.is_stub, true);
  deepStrictEqual(refusedBy(getPerCommitmentPoint(stub, 1)), []);
  deepStrictEqual(refusedBy(getPerCommitmentPoint(stub, 2)), ["policy-optional-fail-fast"]);
});

Deno.test("points: malformed numbers and secrets are refused with typed errors", () => {
  const ch = new Channel();
  const ctx = ctxOf(ch.us);
  const malformed = (message: string) => ({
    name: "ChannelRequestError",
    code: "malformed",
    message,
  });
  for (const n of [-1, 2 ** 48, 0.5, Number.NaN]) {
    throws(
      () => getPerCommitmentPoint(ctx, n),
      malformed("commitment number must be a 48-bit commitment number"),
    );
    throws(
      () => checkFutureSecret(ctx, n, new Uint8Array(32)),
      malformed("commitment number must be a 48-bit commitment number"),
    );
    throws(
      () => revokeHolderCommitment(ctx, n),
      malformed("commitment number must be a 48-bit commitment number"),
    );
  }
  // The largest commitment number is accepted.
  strictEqual(getPerCommitmentPoint(ctx, 2 ** 48 - 1).release().length, 33);
  throws(() => checkFutureSecret(ctx, 0, new Uint8Array(31)), malformed("secret must be 32 bytes"));
  throws(
    () => checkFutureSecret(ctx, 0, Array(32).fill(0) as unknown as Uint8Array),
    malformed("secret must be 32 bytes"),
  );
  throws(() => revokeHolderCommitment({ ...ctx, state: newStub("00") }, 0), {
    name: "ChannelRequestError",
    code: "not-ready",
    message: "a stub has no commitment to revoke",
  });
});

Deno.test("revokeHolderCommitment: the pending commitment becomes current; secret n and point n + 2 leave", () => {
  const ch = new Channel();
  ch.open();
  ch.commit("peer", 1); // our commitment 1 is pending, H = 1
  const before = ch.us.state;
  const out = revokeHolderCommitment(ctxOf(ch.us), 0);
  strictEqual(out.kind, "revoke_holder_commitment");
  deepStrictEqual(out.facts, {
    channel: US_CHANNEL_FACTS,
    state: {
      holder_next: 1,
      counterparty_next: 1,
      counterparty_revoke_next: 0,
      holder_pending: true,
      has_current_holder: true,
      has_current_counterparty: true,
    },
    revoke: { number: 0, advances_state: true, pending_passed_policy: true },
  });
  deepStrictEqual(refusedBy(out), []);
  const e = out.next.enforcement;
  strictEqual(e.nextHolderCommitNum, 2);
  strictEqual(e.pendingHolder, null);
  deepStrictEqual(e.currentHolder, before.enforcement.pendingHolder);
  strictEqual(before.enforcement.nextHolderCommitNum, 1, "the input is not mutated");
  const { secret, nextPoint } = out.release();
  deepStrictEqual(secret, holderSecret(ch.us.keys, 0));
  deepStrictEqual(nextPoint, holderPoint(ch.us.keys, 2));
  // A retry of 0 once H = 2: the same secret, no change, allowed.
  const retry = revokeHolderCommitment({ ...ctxOf(ch.us), state: out.next }, 0);
  deepStrictEqual(retry.facts.revoke, {
    number: 0,
    advances_state: false,
    pending_passed_policy: false,
  });
  strictEqual(retry.next, out.next);
  deepStrictEqual(refusedBy(retry), []);
  deepStrictEqual(retry.release().secret, secret);
  // Revoking the current commitment (1) with nothing pending is refused, and releases nothing.
  const current = revokeHolderCommitment({ ...ctxOf(ch.us), state: out.next }, 1);
  deepStrictEqual(refusedBy(current), ["policy-revoke-new-commitment-signed"]);
  throws(() => current.release(), {
    name: "ChannelRequestError",
    code: "invariant",
    message: "secret 1 is not releasable",
  });
});

Deno.test("revokeHolderCommitment: a pending commitment accepted with warnings is never revoked on top of", () => {
  const ch = new Channel();
  ch.open();
  const v = ch.valuesFor("us");
  const request = {
    number: 1,
    feeratePerKw: FEERATE,
    htlcs: v.htlcs,
    values: {
      toBroadcasterSat: v.toBroadcasterSat,
      toCountersignatorySat: v.toCountersignatorySat,
    },
  };
  const sigs = signCounterpartyCommitment(ctxOf(ch.peer), {
    ...request,
    perCommitmentPoint: holderPoint(ch.us.keys, 1),
  }).release();
  const validated = validateHolderCommitment(ctxOf(ch.us), {
    ...request,
    counterpartySig: sigs.signature,
    counterpartyHtlcSigs: sigs.htlcSignatures,
  });
  ch.us.state = validated.withWarnings?.(["policy-commitment-fee-range"]) ?? validated.next;
  const out = revokeHolderCommitment(ctxOf(ch.us), 0);
  deepStrictEqual(out.facts.revoke, {
    number: 0,
    advances_state: true,
    pending_passed_policy: false,
  });
  deepStrictEqual(refusedBy(out), ["policy-revoke-new-commitment-valid"]);
});
