/**
 * The channel operations run by both sides of a channel (us and a simulated honest peer running the
 * same code on the mirrored setup): every signature one side releases must verify on the other, and
 * the counters and facts must follow core/channel/README.md.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { toHex } from "../../../core/bytes.ts";
import { sha256 } from "../../../core/crypto/mod.ts";
import { commitmentFee, isHtlcTrimmed } from "../../../core/bolt3/commitment.ts";
import {
  type HtlcRequest,
  signCounterpartyCommitment,
  validateHolderCommitment,
} from "../../../core/channel/ops/commitment.ts";
import {
  checkFutureSecret,
  getPerCommitmentPoint,
  revokeHolderCommitment,
} from "../../../core/channel/ops/points.ts";
import { validateCounterpartyRevocation } from "../../../core/channel/ops/revocation.ts";
import { signHolderCommitment } from "../../../core/channel/ops/force_close.ts";
import { holderPoint, holderSecret } from "../../../core/channel/state.ts";
import { readySetup } from "../../../core/channel/ops/context.ts";
import { rebuildCommitment } from "../../../core/channel/rebuild.ts";
import { toLocalScript } from "../../../core/bolt3/scripts.ts";
import { p2wpkh, p2wsh } from "../../../core/bitcoin/script.ts";
import { ctxOf, makeChannel, type Side } from "./_peer.ts";

/** A payment in flight, from the opener's point of view. */
interface Htlc {
  fromOpener: boolean;
  amountMsat: bigint;
  hash: Uint8Array;
  cltv: number;
}

const FEERATE = 1000;

/**
 * The commitment `broadcaster` holds with balances (after in-flight HTLCs) `openerMsat` and
 * `acceptorMsat`, computed the BOLT #3 way: trimmed HTLCs dropped, fee and anchors from the opener.
 */
function values(
  options: {
    broadcasterIsOpener: boolean;
    openerMsat: bigint;
    acceptorMsat: bigint;
    htlcs: Htlc[];
    anchors: boolean;
  },
): { toBroadcasterSat: bigint; toCountersignatorySat: bigint; htlcs: HtlcRequest[] } {
  const dust = 546n;
  const htlcs = options.htlcs
    .map((h) => ({
      offered: h.fromOpener === options.broadcasterIsOpener,
      amountMsat: h.amountMsat,
      paymentHash: h.hash,
      cltvExpiry: h.cltv,
    }))
    .filter((h) =>
      !isHtlcTrimmed(h, {
        feeratePerKw: FEERATE,
        dustLimitSatoshis: dust,
        anchors: options.anchors,
      })
    );
  const fee =
    commitmentFee(FEERATE, { numUntrimmedHtlcs: htlcs.length, anchors: options.anchors }) +
    (options.anchors ? 660n : 0n);
  const opener = options.openerMsat / 1000n - fee;
  const acceptor = options.acceptorMsat / 1000n;
  const keep = (v: bigint) => (v >= dust ? v : 0n);
  const [b, c] = options.broadcasterIsOpener ? [opener, acceptor] : [acceptor, opener];
  return { toBroadcasterSat: keep(b), toCountersignatorySat: keep(c), htlcs };
}

/** Both sides and the channel's balance sheet; `us` opened the channel. */
class Channel {
  us: Side;
  peer: Side;
  anchors: boolean;
  openerMsat: bigint;
  acceptorMsat: bigint;
  htlcs: Htlc[] = [];

  constructor(anchors = false, pushMsat = 0n) {
    const { us, peer } = makeChannel({ anchors, pushMsat });
    this.us = us;
    this.peer = peer;
    this.anchors = anchors;
    this.openerMsat = 1_000_000_000n - pushMsat;
    this.acceptorMsat = pushMsat;
  }

  valuesFor(broadcaster: "us" | "peer") {
    return values({
      broadcasterIsOpener: broadcaster === "us",
      openerMsat: this.openerMsat,
      acceptorMsat: this.acceptorMsat,
      htlcs: this.htlcs,
      anchors: this.anchors,
    });
  }

  /** `signer` signs the other side's commitment `n`; the other side validates it. */
  commit(signer: "us" | "peer", n: number): void {
    const [s, v] = signer === "us" ? [this.us, this.peer] : [this.peer, this.us];
    const broadcaster = signer === "us" ? "peer" : "us";
    const { toBroadcasterSat, toCountersignatorySat, htlcs } = this.valuesFor(broadcaster);
    const request = {
      number: n,
      feeratePerKw: FEERATE,
      htlcs,
      values: { toBroadcasterSat, toCountersignatorySat },
    };
    const signed = signCounterpartyCommitment(ctxOf(s), {
      ...request,
      perCommitmentPoint: holderPoint(v.keys, n),
    });
    s.state = signed.next;
    const sigs = signed.release();
    const validated = validateHolderCommitment(ctxOf(v), {
      ...request,
      counterpartySig: sigs.signature,
      counterpartyHtlcSigs: sigs.htlcSignatures,
    });
    strictEqual(validated.facts.commitment.counterparty_sig_valid, true, "commitment sig");
    strictEqual(validated.facts.commitment.htlc_sigs_valid, true, "HTLC sigs");
    v.state = validated.next;
  }

  /** `revoker` revokes its commitment `n`; the other side checks the revocation. */
  revoke(revoker: "us" | "peer", n: number): void {
    const [r, o] = revoker === "us" ? [this.us, this.peer] : [this.peer, this.us];
    const out = revokeHolderCommitment(ctxOf(r), n);
    strictEqual(out.facts.revoke.advances_state, true);
    r.state = out.next;
    const { secret, nextPoint } = out.release();
    deepStrictEqual(nextPoint, holderPoint(r.keys, n + 2));
    const checked = validateCounterpartyRevocation(ctxOf(o), { number: n, secret });
    strictEqual(checked.facts.revocation.point_matches, true);
    strictEqual(checked.facts.revocation.secret_chains, true);
    o.state = checked.next;
  }

  /** Open: both commitments 0 signed and validated. */
  open(): void {
    this.commit("us", 0);
    this.commit("peer", 0);
  }
}

const hashOf = (i: number) => sha256(new TextEncoder().encode(`preimage ${i}`));

Deno.test("open and add an HTLC: signatures verify across both sides, counters advance", () => {
  for (const anchors of [false, true]) {
    const ch = new Channel(anchors);
    ch.open();
    strictEqual(ch.us.state.enforcement.nextHolderCommitNum, 1);
    strictEqual(ch.us.state.enforcement.nextCounterpartyCommitNum, 1);
    // We offer a 100k-sat HTLC: update the peer's commitment first, then ours.
    ch.openerMsat -= 100_000_000n;
    ch.htlcs.push({ fromOpener: true, amountMsat: 100_000_000n, hash: hashOf(1), cltv: 500 });
    ch.commit("us", 1);
    strictEqual(ch.peer.state.enforcement.pendingHolder?.info.number, 1);
    ch.revoke("peer", 0);
    strictEqual(ch.us.state.enforcement.nextCounterpartyRevokeNum, 1);
    ch.commit("peer", 1);
    ch.revoke("us", 0);
    const e = ch.us.state.enforcement;
    deepStrictEqual(
      [e.nextHolderCommitNum, e.nextCounterpartyCommitNum, e.nextCounterpartyRevokeNum],
      [2, 2, 1],
    );
    strictEqual(e.currentHolder?.info.htlcs.length, 1);
    strictEqual(e.currentHolder?.counterpartyHtlcSigs.length, 1);
  }
});

Deno.test("fifty payments each way keep both sides in step (no anchors and anchors)", () => {
  for (const anchors of [false, true]) {
    const ch = new Channel(anchors);
    ch.open();
    let n = 1;
    for (let i = 0; i < 50; i++) {
      for (const fromOpener of [true, false]) {
        const amount = 20_000_000n + BigInt(i) * 1000n;
        if (fromOpener) ch.openerMsat -= amount;
        else ch.acceptorMsat -= amount;
        if (!fromOpener && ch.acceptorMsat < 0n) {
          ch.acceptorMsat += amount;
          continue;
        }
        const htlc = {
          fromOpener,
          amountMsat: amount,
          hash: hashOf(i * 2 + (fromOpener ? 0 : 1)),
          cltv: 600 + i,
        };
        ch.htlcs.push(htlc);
        const [a, b] = fromOpener ? ["us", "peer"] as const : ["peer", "us"] as const;
        ch.commit(a, n);
        ch.revoke(b, n - 1);
        ch.commit(b, n);
        ch.revoke(a, n - 1);
        n++;
        // Settle: the HTLC is fulfilled, its value goes to the receiver.
        ch.htlcs = ch.htlcs.filter((h) => h !== htlc);
        if (fromOpener) ch.acceptorMsat += amount;
        else ch.openerMsat += amount;
        ch.commit(b, n);
        ch.revoke(a, n - 1);
        ch.commit(a, n);
        ch.revoke(b, n - 1);
        n++;
      }
    }
    const e = ch.us.state.enforcement;
    deepStrictEqual(
      [e.nextHolderCommitNum, e.nextCounterpartyCommitNum, e.nextCounterpartyRevokeNum],
      [n, n, n - 1],
    );
    strictEqual(ch.us.state.enforcement.counterpartySecrets.entries.length <= 49, true);
  }
});

Deno.test("retries are idempotent: same signatures, same secret, no state change", () => {
  const ch = new Channel();
  ch.open();
  ch.openerMsat -= 50_000_000n;
  ch.htlcs.push({ fromOpener: true, amountMsat: 50_000_000n, hash: hashOf(7), cltv: 500 });
  ch.commit("us", 1);
  const { toBroadcasterSat, toCountersignatorySat, htlcs } = ch.valuesFor("peer");
  const request = {
    number: 1,
    feeratePerKw: FEERATE,
    htlcs,
    values: { toBroadcasterSat, toCountersignatorySat },
    perCommitmentPoint: holderPoint(ch.peer.keys, 1),
  };
  const again = signCounterpartyCommitment(ctxOf(ch.us), request);
  strictEqual(again.facts.commitment.is_retry, true);
  strictEqual(again.facts.commitment.retry_same_info, true);
  strictEqual(again.facts.commitment.retry_same_point, true);
  strictEqual(again.next, ch.us.state, "a retry changes nothing");
  const differs = signCounterpartyCommitment(ctxOf(ch.us), {
    ...request,
    values: {
      toBroadcasterSat: toBroadcasterSat + 1n,
      toCountersignatorySat: toCountersignatorySat - 1n,
    },
  });
  strictEqual(differs.facts.commitment.retry_same_info, false);

  ch.revoke("peer", 0);
  ch.commit("peer", 1);
  ch.revoke("us", 0);
  const retry = revokeHolderCommitment(ctxOf(ch.us), 0);
  strictEqual(retry.facts.revoke.advances_state, false);
  strictEqual(retry.next, ch.us.state);
  deepStrictEqual(retry.release().secret, holderSecret(ch.us.keys, 0));
});

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

Deno.test("a tampered counterparty signature is reported, and the commitment is not stored", () => {
  const ch = new Channel();
  ch.open();
  const { toBroadcasterSat, toCountersignatorySat, htlcs } = ch.valuesFor("us");
  const signed = signCounterpartyCommitment(ctxOf(ch.peer), {
    number: 1,
    feeratePerKw: FEERATE,
    htlcs,
    values: { toBroadcasterSat, toCountersignatorySat },
    perCommitmentPoint: holderPoint(ch.us.keys, 1),
  }).release();
  const bad = signed.signature.slice();
  bad[10] ^= 1;
  const out = validateHolderCommitment(ctxOf(ch.us), {
    number: 1,
    feeratePerKw: FEERATE,
    htlcs,
    values: { toBroadcasterSat, toCountersignatorySat },
    counterpartySig: bad,
    counterpartyHtlcSigs: [],
  });
  strictEqual(out.facts.commitment.counterparty_sig_valid, false);
  strictEqual(out.next.enforcement.pendingHolder, null);
  strictEqual(toHex(out.release().nextPoint), toHex(holderPoint(ch.us.keys, 2)));
});

/** The peer's own commitment transaction, as a CLN node would send it (phase 1). */
function peerCommitmentTx(ch: Channel, n: number) {
  const v = ch.valuesFor("peer");
  const info = {
    number: n,
    perCommitmentPoint: toHex(holderPoint(ch.peer.keys, n)),
    feeratePerKw: FEERATE,
    toBroadcasterSat: v.toBroadcasterSat,
    toCountersignatorySat: v.toCountersignatorySat,
    htlcs: v.htlcs.map((h) => ({ ...h, paymentHash: toHex(h.paymentHash) })),
  };
  const rebuilt = rebuildCommitment("holder", {
    setup: readySetup(ch.peer.state),
    keys: ch.peer.keys,
    info,
  });
  return { rebuilt, htlcs: v.htlcs };
}

Deno.test("phase 1: the node's transaction is decoded, rebuilt and compared field by field", () => {
  for (const anchors of [false, true]) {
    const ch = new Channel(anchors, 200_000_000n);
    ch.open();
    ch.openerMsat -= 70_000_000n;
    ch.htlcs.push({ fromOpener: true, amountMsat: 70_000_000n, hash: hashOf(3), cltv: 700 });
    const { rebuilt, htlcs } = peerCommitmentTx(ch, 1);
    const node = {
      tx: rebuilt.tx,
      witnessScripts: rebuilt.outputs.map((o) => o.witnessScript ?? null),
    };
    const request = {
      number: 1,
      feeratePerKw: FEERATE,
      htlcs,
      tx: node,
      perCommitmentPoint: holderPoint(ch.peer.keys, 1),
    };
    const honest = signCounterpartyCommitment(ctxOf(ch.us), request);
    strictEqual(honest.facts.commitment.tx.matches_rebuild, true, "honest tx matches");
    strictEqual(honest.facts.commitment.tx.phase, 1);
    strictEqual(honest.facts.commitment.tx.first_mismatch, "");
    // The values were read from the transaction: our balance is what the peer's tx pays us.
    strictEqual(honest.facts.commitment.to_holder_sat, ch.valuesFor("peer").toCountersignatorySat);

    // Tamper: the peer's to_local pays a foreign delayed key (script and output both changed).
    const toLocal = rebuilt.outputs.findIndex((o) => o.kind === "to_broadcaster");
    const foreign = toLocalScript({
      revocationKey: rebuilt.keys.revocationKey,
      broadcasterDelayedPaymentKey: holderPoint(ch.us.keys, 99),
      toSelfDelay: rebuilt.toSelfDelay,
    });
    const tx = { ...rebuilt.tx, outputs: rebuilt.tx.outputs.map((o) => ({ ...o })) };
    tx.outputs[toLocal].script = p2wsh(foreign);
    const ws = node.witnessScripts.slice();
    ws[toLocal] = foreign;
    const tampered = signCounterpartyCommitment(ctxOf(ch.us), {
      ...request,
      tx: { tx, witnessScripts: ws },
    });
    const f = tampered.facts.commitment.tx;
    strictEqual(f.matches_rebuild, false);
    strictEqual(f.broadcaster_delayed_pubkey_ok, false);
    strictEqual(f.revocation_pubkey_ok, true);
    strictEqual(f.first_mismatch, `output ${toLocal} script`);

    // Tamper: a wrong locktime and an extra unknown output.
    const extra = {
      ...rebuilt.tx,
      locktime: rebuilt.tx.locktime ^ 1,
      outputs: [...rebuilt.tx.outputs, {
        amount: 1000n,
        script: p2wpkh(holderPoint(ch.us.keys, 98)),
      }],
    };
    const f2 = signCounterpartyCommitment(ctxOf(ch.us), {
      ...request,
      tx: { tx: extra, witnessScripts: [...node.witnessScripts, null] },
    }).facts.commitment.tx;
    strictEqual(f2.locktime === f2.expected_locktime, false);
    strictEqual(f2.first_mismatch, "locktime");
    if (anchors) {
      strictEqual(f2.unrecognized_output_count, 1, "a P2WPKH output is foreign on anchor channels");
    } else {
      strictEqual(f2.to_holder_output_count, 2, "two outputs claim to pay us");
      strictEqual(f2.countersignatory_pubkey_ok, false, "one of them to a foreign key");
    }
  }
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
  const { toBroadcasterSat, toCountersignatorySat, htlcs } = ch.valuesFor("peer");
  const sign = signCounterpartyCommitment(ctxOf(ch.us), {
    number: 1,
    feeratePerKw: FEERATE,
    htlcs,
    values: { toBroadcasterSat, toCountersignatorySat },
    perCommitmentPoint: holderPoint(ch.peer.keys, 1),
  });
  strictEqual(sign.next, ch.us.state);
});
