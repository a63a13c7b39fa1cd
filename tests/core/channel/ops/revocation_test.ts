/**
 * core/channel/ops/revocation.ts: the peer's `revoke_and_ack`. The secret must match the point we
 * stored for that commitment and chain with every secret received before (BOLT #3 Appendix D
 * storage tests, run through the operation); then R moves on. Refusals are named by rule id.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import perCommitmentSecrets from "../../../vectors/bolt3/per-commitment-secrets.json" with {
  type: "json",
};
import { fromHex, toHex } from "../../../../core/bytes.ts";
import { publicKey } from "../../../../core/crypto/mod.ts";
import { validateCounterpartyRevocation } from "../../../../core/channel/ops/revocation.ts";
import { withEnforcement } from "../../../../core/channel/ops/context.ts";
import { holderSecret, newStub } from "../../../../core/channel/state.ts";
import type { ChannelState, CommitmentInfo } from "../../../../core/channel/types.ts";
import { ctxOf } from "../_peer.ts";
import { refusedBy } from "../_policy.ts";
import { foreignKey, vectorCtx } from "../_bolt3.ts";
import { Channel, US_CHANNEL_FACTS } from "./_two_sided.ts";

Deno.test("a revocation secret that does not match or does not chain is reported", () => {
  const ch = new Channel();
  ch.open();
  ch.commit("us", 1);
  // The peer "revokes" 0 with the secret of 1: wrong point, and it does not chain.
  const wrong = validateCounterpartyRevocation(ctxOf(ch.us), {
    number: 0,
    secret: holderSecret(ch.peer.keys, 1),
  });
  strictEqual(wrong.facts.revocation.point_matches, false);
  strictEqual(wrong.next, ch.us.state);
  const right = validateCounterpartyRevocation(ctxOf(ch.us), {
    number: 0,
    secret: holderSecret(ch.peer.keys, 0),
  });
  strictEqual(right.facts.revocation.point_matches, true);
  strictEqual(right.facts.revocation.secret_chains, true);
  strictEqual(right.next.enforcement.nextCounterpartyRevokeNum, 1);
});

Deno.test("validateCounterpartyRevocation: facts and next state of the expected revocation", () => {
  const ch = new Channel();
  ch.open();
  ch.commit("us", 1); // C = 2, R = 0: the peer's commitment 0 is previous, 1 current
  const before = ch.us.state;
  strictEqual(before.enforcement.previousCounterparty?.number, 0);
  const secret = holderSecret(ch.peer.keys, 0);
  const out = validateCounterpartyRevocation(ctxOf(ch.us), { number: 0, secret });
  strictEqual(out.kind, "validate_counterparty_revocation");
  deepStrictEqual(out.facts, {
    channel: US_CHANNEL_FACTS,
    state: {
      holder_next: 1,
      counterparty_next: 2,
      counterparty_revoke_next: 0,
      holder_pending: false,
      has_current_holder: true,
      has_current_counterparty: true,
    },
    revocation: { number: 0, point_matches: true, secret_chains: true },
  });
  deepStrictEqual(refusedBy(out), []);
  strictEqual(out.release(), undefined);
  const e = out.next.enforcement;
  strictEqual(e.nextCounterpartyRevokeNum, 1);
  deepStrictEqual(e.counterpartySecrets, {
    version: 1,
    entries: [{ index: 2 ** 48 - 1, secret: toHex(secret) }],
  });
  strictEqual(e.previousCounterparty, null, "the revoked commitment is forgotten");
  deepStrictEqual(e.currentCounterparty, before.enforcement.currentCounterparty);
  strictEqual(before.enforcement.nextCounterpartyRevokeNum, 0, "the input is not mutated");

  // A retry of 0 (R = 1) with the same secret: accepted, nothing changes.
  const retry = validateCounterpartyRevocation({ ...ctxOf(ch.us), state: out.next }, {
    number: 0,
    secret,
  });
  deepStrictEqual(retry.facts.revocation, { number: 0, point_matches: true, secret_chains: true });
  strictEqual(retry.next, out.next);
  deepStrictEqual(refusedBy(retry), []);
  // A retry of 0 with another secret: neither matches nor chains.
  const other = validateCounterpartyRevocation({ ...ctxOf(ch.us), state: out.next }, {
    number: 0,
    secret: holderSecret(ch.peer.keys, 5),
  });
  deepStrictEqual(other.facts.revocation, {
    number: 0,
    point_matches: false,
    secret_chains: false,
  });
  strictEqual(other.next, out.next);
  deepStrictEqual(refusedBy(other), ["policy-commitment-previous-revoked"]);
});

Deno.test("validateCounterpartyRevocation: out of sequence, or not a valid secret key, is refused by rule", () => {
  const ch = new Channel();
  ch.open();
  ch.commit("us", 1); // C = 2, R = 0
  // Revoking the current commitment 1 (not replaced yet, and 0 not revoked): its point matches,
  // but the store expects the secret of 0 first.
  const current = validateCounterpartyRevocation(ctxOf(ch.us), {
    number: 1,
    secret: holderSecret(ch.peer.keys, 1),
  });
  deepStrictEqual(current.facts.revocation, {
    number: 1,
    point_matches: true,
    secret_chains: false,
  });
  strictEqual(current.next, ch.us.state);
  deepStrictEqual(refusedBy(current), ["policy-commitment-previous-revoked"]);
  // 32 bytes that are not a secret key (above the curve order): no point to compare.
  const invalid = validateCounterpartyRevocation(ctxOf(ch.us), {
    number: 0,
    secret: new Uint8Array(32).fill(0xff),
  });
  strictEqual(invalid.facts.revocation.point_matches, false);
  strictEqual(invalid.next, ch.us.state);
  deepStrictEqual(refusedBy(invalid), ["policy-commitment-previous-revoked"]);
  // The right secret for a commitment we never stored a point for (C = 2: no commitment 7).
  const unknown = validateCounterpartyRevocation(ctxOf(ch.us), {
    number: 7,
    secret: holderSecret(ch.peer.keys, 7),
  });
  strictEqual(unknown.facts.revocation.point_matches, false);
  deepStrictEqual(refusedBy(unknown), ["policy-commitment-previous-revoked"]);
});

Deno.test("validateCounterpartyRevocation: malformed requests and a stub are refused with typed errors", () => {
  const ch = new Channel();
  ch.open();
  const ctx = ctxOf(ch.us);
  for (const number of [-1, 2 ** 48, 2.5]) {
    throws(() => validateCounterpartyRevocation(ctx, { number, secret: new Uint8Array(32) }), {
      name: "ChannelRequestError",
      code: "malformed",
      message: "commitment number must be 48-bit",
    });
  }
  for (const secret of [new Uint8Array(31), new Uint8Array(33)]) {
    throws(() => validateCounterpartyRevocation(ctx, { number: 0, secret }), {
      name: "ChannelRequestError",
      code: "malformed",
      message: "secret must be 32 bytes",
    });
  }
  throws(
    () =>
      validateCounterpartyRevocation({ ...ctx, state: newStub("00") }, {
        number: 0,
        secret: new Uint8Array(32),
      }),
    { name: "ChannelRequestError", code: "not-ready", message: "the channel is not set up yet" },
  );
});

/** A ready state expecting the revocation of `n` (R = n, C = n + 2) whose stored point is `point`. */
function expecting(base: ChannelState, o: { n: number; point: string }): ChannelState {
  const { n, point } = o;
  const info = (number: number, perCommitmentPoint: string): CommitmentInfo => ({
    number,
    perCommitmentPoint,
    feeratePerKw: 253,
    toBroadcasterSat: 1000n,
    toCountersignatorySat: 1000n,
    htlcs: [],
  });
  return withEnforcement(base, {
    nextCounterpartyRevokeNum: n,
    nextCounterpartyCommitNum: n + 2,
    previousCounterparty: info(n, point),
    currentCounterparty: info(n + 1, toHex(foreignKey(0x21))),
  });
}

Deno.test("validateCounterpartyRevocation: BOLT #3 Appendix D storage tests, step by step", () => {
  const tests = perCommitmentSecrets.storage_tests.tests;
  strictEqual(tests.length, 9);
  for (const t of tests) {
    const ctx = vectorCtx("local", false);
    let state = ctx.state;
    t.steps.forEach((step, i) => {
      const n = 2 ** 48 - 1 - Number(step.index);
      strictEqual(n, i, `${t.name}: the steps are commitments 0, 1, 2...`);
      const secret = fromHex(step.secret);
      const asked = expecting(state, { n, point: toHex(publicKey(secret)) });
      const out = validateCounterpartyRevocation({ ...ctx, state: asked }, { number: n, secret });
      if (step.expected === "OK") {
        deepStrictEqual(out.facts.revocation, {
          number: n,
          point_matches: true,
          secret_chains: true,
        });
        deepStrictEqual(refusedBy(out), [], `${t.name} step ${i}`);
        strictEqual(out.next.enforcement.nextCounterpartyRevokeNum, n + 1);
        strictEqual(out.next.enforcement.previousCounterparty, null);
        state = out.next;
      } else {
        strictEqual(i, t.error_at_step, t.name);
        deepStrictEqual(
          out.facts.revocation,
          { number: n, point_matches: true, secret_chains: false },
          `${t.name} step ${i}`,
        );
        deepStrictEqual(refusedBy(out), ["policy-commitment-previous-revoked"]);
        strictEqual(out.next, asked, "a refused secret is not stored");
      }
    });
    if (t.expected_result === "OK") {
      // Eight secrets in order (indices 2^48 - 1 down to 2^48 - 8) leave one per slot, the slot
      // being the index's count of trailing zero bits: commitments 6, 5, 3 and 7 in slots 0..3.
      deepStrictEqual(
        state.enforcement.counterpartySecrets.entries.map((e) => 2 ** 48 - 1 - e.index),
        [6, 5, 3, 7],
      );
    }
  }
});
