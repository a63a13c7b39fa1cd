/**
 * core/channel/ops/force_close.ts: our signature on our own commitment for a unilateral close.
 * Only the current (or validated pending) holder commitment is signed, rebuilt from the stored
 * values: local's signature on BOLT #3 Appendix C and F commitments is the appendix's, byte for
 * byte. The channel is closed afterwards; refusals are named by the default policy's rule ids.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { toHex } from "../../../../core/bytes.ts";
import { signCounterpartyCommitment } from "../../../../core/channel/ops/commitment.ts";
import { revokeHolderCommitment } from "../../../../core/channel/ops/points.ts";
import { signHolderCommitment } from "../../../../core/channel/ops/force_close.ts";
import { type OpContext, withEnforcement } from "../../../../core/channel/ops/context.ts";
import { holderPoint, newStub } from "../../../../core/channel/state.ts";
import type { ChannelState, SignedHolderCommitment } from "../../../../core/channel/types.ts";
import { ctxOf } from "../_peer.ts";
import { refusedBy } from "../_policy.ts";
import {
  APPENDIX_C,
  APPENDIX_F,
  caseInfo,
  compactSig,
  type VectorCase,
  vectorCtx,
  vectorState,
} from "../_bolt3.ts";
import { Channel, FEERATE } from "./_two_sided.ts";

Deno.test("force close signs only the current (or pending) commitment and closes the channel", () => {
  const ch = new Channel();
  ch.open();
  const stale = signHolderCommitment(ctxOf(ch.us), 3);
  deepStrictEqual(stale.facts.force_close, { signs_current: false, signs_pending: false });
  strictEqual(stale.next, ch.us.state);
  const ok = signHolderCommitment(ctxOf(ch.us), 0);
  deepStrictEqual(ok.facts.force_close, { signs_current: true, signs_pending: false });
  strictEqual(ok.next.enforcement.closed, true);
  strictEqual(ok.next.enforcement.forceClosedNumber, 0);
  strictEqual(ok.release().signature.length, 64);
});

Deno.test("after a force close, neither a revocation nor a new counterparty commitment moves state", () => {
  const ch = new Channel();
  ch.open();
  ch.commit("peer", 1); // our commitment 1 is validated and pending
  const closed = signHolderCommitment(ctxOf(ch.us), 0).next;
  ch.us.state = closed;
  const revoke = revokeHolderCommitment(ctxOf(ch.us), 0);
  strictEqual(
    revoke.facts.revoke.advances_state,
    true,
    "the request would advance: the rule refuses",
  );
  strictEqual(revoke.next, ch.us.state, "but the operation itself moves nothing");
  throws(() => revoke.release(), { name: "ChannelRequestError" });
  deepStrictEqual(refusedBy(revoke), ["policy-revoke-not-closed"]);
  const { toBroadcasterSat, toCountersignatorySat, htlcs } = ch.valuesFor("peer");
  const sign = signCounterpartyCommitment(ctxOf(ch.us), {
    number: 1,
    feeratePerKw: FEERATE,
    htlcs,
    values: { toBroadcasterSat, toCountersignatorySat },
    perCommitmentPoint: holderPoint(ch.peer.keys, 1),
  });
  strictEqual(sign.next, ch.us.state);
  deepStrictEqual(refusedBy(sign), ["policy-commitment-spends-active-utxo"]);
});

/** Local's context over `state`. */
function ctxAt(anchors: boolean, state: ChannelState): OpContext {
  return { ...vectorCtx("local", anchors), state };
}

/** Local's state with case `c` as its holder commitment 42, current (H = 43) or pending (H = 42). */
function localWith42(
  c: VectorCase,
  options: { anchors: boolean; as: "current" | "pending" },
): ChannelState {
  const { anchors, as } = options;
  const signed: SignedHolderCommitment = {
    info: caseInfo(c, anchors),
    counterpartySig: toHex(compactSig(c.remote_signature)),
    counterpartyHtlcSigs: c.htlc_txs.map((h) => toHex(compactSig(h.remote_htlc_signature))),
    warnings: [],
  };
  return withEnforcement(vectorState("local", anchors), {
    nextHolderCommitNum: as === "current" ? 43 : 42,
    currentHolder: as === "current" ? signed : { ...signed, info: { ...signed.info, number: 41 } },
    pendingHolder: as === "pending" ? signed : null,
  });
}

Deno.test("signHolderCommitment: local's signature is Appendix C's and F's, byte for byte", () => {
  for (const [cases, anchors] of [[APPENDIX_C, false], [APPENDIX_F, true]] as const) {
    for (const c of cases) {
      const ctx = ctxAt(anchors, localWith42(c, { anchors, as: "current" }));
      const { signature, counterpartySignature } = signHolderCommitment(ctx, 42).release();
      strictEqual(toHex(signature), toHex(compactSig(c.local_signature)), c.name);
      strictEqual(toHex(counterpartySignature), toHex(compactSig(c.remote_signature)), c.name);
    }
  }
});

Deno.test("signHolderCommitment: facts and next state for the current and the pending commitment", () => {
  const c = APPENDIX_C[2];
  const current = localWith42(c, { anchors: false, as: "current" });
  const out = signHolderCommitment(ctxAt(false, current), 42);
  strictEqual(out.kind, "sign_holder_commitment");
  deepStrictEqual(out.facts.state, {
    holder_next: 43,
    counterparty_next: 0,
    counterparty_revoke_next: 0,
    holder_pending: false,
    has_current_holder: true,
    has_current_counterparty: false,
  });
  deepStrictEqual(out.facts.holder_commitment, { number: 42 });
  deepStrictEqual(out.facts.force_close, { signs_current: true, signs_pending: false });
  strictEqual(out.facts.channel.closed, false);
  strictEqual(out.facts.channel.force_closed_number, -1);
  deepStrictEqual(refusedBy(out), []);
  deepStrictEqual(
    [out.next.enforcement.closed, out.next.enforcement.forceClosedNumber],
    [true, 42],
  );
  strictEqual(current.enforcement.closed, false, "the input is not mutated");

  // LDK's monitor may hold the validated pending commitment already: it is signed the same way.
  const pending = localWith42(c, { anchors: false, as: "pending" });
  const p = signHolderCommitment(ctxAt(false, pending), 42);
  deepStrictEqual(p.facts.force_close, { signs_current: false, signs_pending: true });
  deepStrictEqual(refusedBy(p), []);
  strictEqual(toHex(p.release().signature), toHex(compactSig(c.local_signature)));
  strictEqual(p.next.enforcement.forceClosedNumber, 42);

  // Signing again after a close keeps the first force-closed number.
  const again = signHolderCommitment(
    ctxAt(false, withEnforcement(current, { closed: true, forceClosedNumber: 41 })),
    42,
  );
  deepStrictEqual(
    [again.next.enforcement.closed, again.next.enforcement.forceClosedNumber],
    [true, 41],
  );
  strictEqual(again.facts.channel.force_closed_number, 41);
});

Deno.test("signHolderCommitment: another number is refused by rule and never signed", () => {
  const current = localWith42(APPENDIX_C[0], { anchors: false, as: "current" });
  const ctx = ctxAt(false, current);
  // The previous (revoked) commitment 41.
  const revoked = signHolderCommitment(ctx, 41);
  deepStrictEqual(revoked.facts.force_close, { signs_current: false, signs_pending: false });
  deepStrictEqual(refusedBy(revoked), ["policy-commitment-holder-not-revoked", "policy-other"]);
  strictEqual(revoked.next, current);
  throws(() => revoked.release(), {
    name: "ChannelRequestError",
    code: "invariant",
    message: "holder commitment 41 is not signable",
  });
  // A commitment ahead of the current one (nothing pending).
  const ahead = signHolderCommitment(ctx, 43);
  deepStrictEqual(refusedBy(ahead), ["policy-other"]);
  strictEqual(ahead.next, current);
  throws(() => ahead.release(), {
    name: "ChannelRequestError",
    code: "invariant",
    message: "holder commitment 43 is not signable",
  });
  // After the force close, our secret 42 never leaves, whatever the request.
  const closed = signHolderCommitment(ctx, 42).next;
  const leak = revokeHolderCommitment(ctxAt(false, closed), 42);
  deepStrictEqual(refusedBy(leak), [
    "policy-revoke-new-commitment-signed",
    "policy-revoke-not-closed",
  ]);
  throws(() => leak.release(), { name: "ChannelRequestError", code: "invariant" });
});

Deno.test("signHolderCommitment: malformed numbers and a stub are refused with typed errors", () => {
  const ctx = ctxAt(false, localWith42(APPENDIX_C[0], { anchors: false, as: "current" }));
  for (const n of [-1, 2 ** 48, 0.5]) {
    throws(() => signHolderCommitment(ctx, n), {
      name: "ChannelRequestError",
      code: "malformed",
      message: "commitment number must be 48-bit",
    });
  }
  throws(() => signHolderCommitment({ ...ctx, state: newStub("0c") }, 0), {
    name: "ChannelRequestError",
    code: "not-ready",
    message: "the channel is not set up yet",
  });
});
