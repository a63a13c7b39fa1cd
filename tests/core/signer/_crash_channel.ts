/**
 * Test fixture shared by the signer's crash test and the channel benchmark: a channel between the
 * signer under test ("us", whose keys come from a seed the fixture knows) and a simulated honest
 * peer running the same pure channel operations on the mirrored setup, a balance sheet that turns
 * HTLC adds and settlements into commitment values (BOLT #3 trimming and fees), and the policy the
 * signer runs with (rules/default.policy when it loads, else an inline permissive one).
 *
 * @module
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { fromHex, toHex } from "../../../core/bytes.ts";
import { sha256 } from "../../../core/crypto/mod.ts";
import { commitmentFee, isHtlcTrimmed } from "../../../core/bolt3/commitment.ts";
import { nodeKeysFromSeed } from "../../../core/keys/mod.ts";
import {
  ChannelId,
  type ChannelKeys,
  type KeyStyle,
  type NodeKeys,
} from "../../../core/keys/types.ts";
import type { ChannelSetup, ChannelState } from "../../../core/channel/types.ts";
import { holderPoint, newStub } from "../../../core/channel/state.ts";
import { type OpContext, UNTRACKED_CHAIN } from "../../../core/channel/ops/context.ts";
import { setupChannel } from "../../../core/channel/ops/setup.ts";
import {
  type CommitmentSignatures,
  type CounterpartyCommitmentRequest,
  type HolderCommitmentRequest,
  type HtlcRequest,
  signCounterpartyCommitment,
  validateHolderCommitment,
} from "../../../core/channel/ops/commitment.ts";
import { type Revocation, revokeHolderCommitment } from "../../../core/channel/ops/points.ts";
import { validateCounterpartyRevocation } from "../../../core/channel/ops/revocation.ts";
import { loadPolicy, type Policy } from "../../../policy/engine.ts";
import { signerRegistry } from "../../../core/signer/registry.ts";
import { bytesField, makeBolt11 } from "../node/_payment_fixture.ts";

/** The feerate of every commitment of the fixture. */
export const FEERATE = 1000;

/** The dust limit both sides use. */
export const DUST_SAT = 546n;

/** The fixed unix time the signer's clock reads in these tests. */
export const NOW = 1_700_000_000;

/** The peer's node id as the signer sees it (CLN ids are peer id + dbid). */
export const PEER_NODE_ID: Uint8Array = fromHex("02" + "11".repeat(32));

/** The repository root (where `rules/` lives). */
export const REPO_ROOT: string = new URL("../../../", import.meta.url).pathname;

/** Our node keys: seed 0x01 * 32, regtest, in `style` (LDK with a fixed starting time). */
export function ourNodeKeys(style: KeyStyle): NodeKeys {
  return nodeKeysFromSeed(new Uint8Array(32).fill(1), {
    network: "regtest",
    style,
    startingTimeSecs: 1_700_000_000n,
    startingTimeNanos: 0,
  });
}

/** The channel id of the fixture channel: CLN's peer + dbid 1 (native), a keys id (LDK). */
export function ourChannelId(style: KeyStyle): ChannelId {
  return style === "native"
    ? ChannelId.fromPeerDbid(PEER_NODE_ID, 1n)
    : ChannelId.fromKeysId(sha256(new TextEncoder().encode("warden crash channel")));
}

/** A deterministic payment hash. */
export function paymentHash(i: number): Uint8Array {
  return sha256(new TextEncoder().encode(`preimage ${i}`));
}

/** The peer's node keys: seed 0x02 * 32, regtest (its channel keys are the fixture peer's). */
export function peerNodeKeys(): NodeKeys {
  return nodeKeysFromSeed(new Uint8Array(32).fill(2), { network: "regtest" });
}

/**
 * The peer's BOLT #11 invoice for a payment we send (what `preapprove_invoice` is asked about):
 * regtest, the amount in pico-bitcoin (msat * 10), created 10 s before {@link NOW} with the
 * default expiry (3600 s), a description, signed by the peer's node key.
 */
export function peerInvoice(payment: { hash: Uint8Array; amountMsat: bigint }): string {
  return makeBolt11(`lnbcrt${payment.amountMsat * 10n}p`, {
    timestamp: NOW - 10,
    fields: [bytesField(1, payment.hash), bytesField(13, new TextEncoder().encode("crash test"))],
  }, { secret: toHex(peerNodeKeys().nodeSecret.expose()) });
}

/** A payment in flight, from the opener's (our) point of view. */
export interface Htlc {
  /** We (the opener) offered it. */
  fromUs: boolean;
  /** Amount. */
  amountMsat: bigint;
  /** Payment hash. */
  hash: Uint8Array;
  /** Expiry height. */
  cltv: number;
}

/** A commitment's main output values and untrimmed HTLCs, from its broadcaster's view. */
export interface CommitmentValues {
  /** The broadcaster's main output (0 when below dust). */
  toBroadcasterSat: bigint;
  /** The countersignatory's main output (0 when below dust). */
  toCountersignatorySat: bigint;
  /** The untrimmed HTLCs. */
  htlcs: HtlcRequest[];
}

/**
 * The balance sheet of the channel: what each side owns outside HTLCs and the HTLCs in flight. We
 * opened the channel, so we pay the commitment fee (and the anchors).
 */
export class Ledger {
  /** Anchor outputs (zero-fee HTLC anchors). */
  readonly anchors: boolean;
  /** Our balance outside HTLCs. */
  usMsat: bigint;
  /** The peer's balance outside HTLCs. */
  peerMsat: bigint;
  /** HTLCs in flight. */
  htlcs: Htlc[] = [];

  /**
   * Creates the sheet.
   * @param options channel value, push to the peer, anchors
   */
  constructor(options: { valueSat: bigint; pushMsat: bigint; anchors: boolean }) {
    this.anchors = options.anchors;
    this.usMsat = options.valueSat * 1000n - options.pushMsat;
    this.peerMsat = options.pushMsat;
  }

  /** Offer an HTLC (the amount leaves the offerer's balance). */
  add(htlc: Htlc): void {
    if (htlc.fromUs) this.usMsat -= htlc.amountMsat;
    else this.peerMsat -= htlc.amountMsat;
    this.htlcs.push(htlc);
  }

  /** Remove an HTLC: fulfilled (the receiver gets it) or failed (back to the offerer). */
  remove(htlc: Htlc, fulfilled: boolean): void {
    const i = this.htlcs.indexOf(htlc);
    if (i < 0) throw new Error("no such HTLC");
    this.htlcs.splice(i, 1);
    const toUs = fulfilled ? !htlc.fromUs : htlc.fromUs;
    if (toUs) this.usMsat += htlc.amountMsat;
    else this.peerMsat += htlc.amountMsat;
  }

  /** The commitment `broadcaster` holds now (BOLT #3: trimmed HTLCs dropped, fee from us). */
  valuesFor(broadcaster: "us" | "peer"): CommitmentValues {
    const htlcs = this.htlcs
      .map((h) => ({
        offered: h.fromUs === (broadcaster === "us"),
        amountMsat: h.amountMsat,
        paymentHash: h.hash,
        cltvExpiry: h.cltv,
      }))
      .filter((h) =>
        !isHtlcTrimmed(h, {
          feeratePerKw: FEERATE,
          dustLimitSatoshis: DUST_SAT,
          anchors: this.anchors,
        })
      );
    const fee = commitmentFee(FEERATE, { numUntrimmedHtlcs: htlcs.length, anchors: this.anchors }) +
      (this.anchors ? 660n : 0n);
    const us = this.usMsat / 1000n - fee;
    const peer = this.peerMsat / 1000n;
    const keep = (v: bigint) => (v >= DUST_SAT ? v : 0n);
    const [b, c] = broadcaster === "us" ? [us, peer] : [peer, us];
    return { toBroadcasterSat: keep(b), toCountersignatorySat: keep(c), htlcs };
  }
}

/** One side's channel state, advanced with the pure operations. */
export interface Side {
  /** The side's channel keys. */
  keys: ChannelKeys;
  /** The side's current state. */
  state: ChannelState;
}

/** The operation context of a side (untracked chain, no wallet). */
export function ctxOf(side: Side): OpContext {
  return { state: side.state, keys: side.keys, chain: UNTRACKED_CHAIN };
}

/** Options of {@link makePair}. */
export interface PairOptions {
  /** Our node keys (the signer's). */
  ours: NodeKeys;
  /** The channel id the signer uses. */
  id: ChannelId;
  /** Channel value (default 1,000,000 sat). */
  valueSat?: bigint;
  /** Pushed to the peer at open (default 400,000,000 msat). */
  pushMsat?: bigint;
  /** Zero-fee-HTLC anchors (default false). */
  anchors?: boolean;
}

/** A channel between us and the peer, before any commitment. */
export interface Pair {
  /** What the node sends to `setup_channel`. */
  setup: ChannelSetup;
  /** Our channel keys (for the shadow model of the signer). */
  usKeys: ChannelKeys;
  /** The peer, set up. */
  peer: Side;
  /** The balance sheet. */
  ledger: Ledger;
}

/** The setup of both sides of a new channel we open (mirrored contest delays and keys). */
export function makePair(options: PairOptions): Pair {
  const usKeys = options.ours.channelKeys(options.id);
  const theirs = peerNodeKeys();
  const peerKeys = theirs.channelKeys(ChannelId.fromPeerDbid(options.ours.nodeId, 1n));
  const valueSat = options.valueSat ?? 1_000_000n;
  const pushMsat = options.pushMsat ?? 400_000_000n;
  const anchors = options.anchors ?? false;
  const base = {
    channelValueSat: valueSat,
    pushMsat,
    fundingOutpoint: { txid: "aa".repeat(32), vout: 0 },
    holderShutdownScript: "",
    holderShutdownWalletIndex: null,
    counterpartyShutdownScript: "",
    commitmentType: anchors ? "anchors_zero_fee_htlc" as const : "static_remotekey" as const,
  };
  const keysOf = (k: ChannelKeys) => ({
    fundingPubkey: toHex(k.fundingPubkey),
    revocationBasepoint: toHex(k.basepoints.revocation),
    paymentBasepoint: toHex(k.basepoints.payment),
    delayedPaymentBasepoint: toHex(k.basepoints.delayedPayment),
    htlcBasepoint: toHex(k.basepoints.htlc),
  });
  const setup: ChannelSetup = {
    ...base,
    isOutbound: true,
    holderSelectedContestDelay: 144,
    counterpartySelectedContestDelay: 6,
    counterparty: keysOf(peerKeys),
  };
  const peerSetup: ChannelSetup = {
    ...base,
    isOutbound: false,
    holderSelectedContestDelay: 6,
    counterpartySelectedContestDelay: 144,
    counterparty: keysOf(usKeys),
  };
  return {
    setup,
    usKeys,
    peer: readySide(peerKeys, peerSetup),
    ledger: new Ledger({ valueSat, pushMsat, anchors }),
  };
}

/** A side with `setup` applied by the pure `setup_channel` operation. */
export function readySide(keys: ChannelKeys, setup: ChannelSetup): Side {
  const ctx: OpContext = { state: newStub(keys.channelId.toHex()), keys, chain: UNTRACKED_CHAIN };
  return { keys, state: setupChannel(ctx, setup).next };
}

/** Our `sign_counterparty_commitment` request for the peer's commitment `n` (phase 2). */
export function counterpartyRequest(
  pair: { ledger: Ledger; peer: Side },
  n: number,
): CounterpartyCommitmentRequest {
  const v = pair.ledger.valuesFor("peer");
  return {
    number: n,
    feeratePerKw: FEERATE,
    htlcs: v.htlcs,
    values: {
      toBroadcasterSat: v.toBroadcasterSat,
      toCountersignatorySat: v.toCountersignatorySat,
    },
    perCommitmentPoint: holderPoint(pair.peer.keys, n),
  };
}

/**
 * The peer signs our commitment `n` (its `commitment_signed`), using the point `ourPoint` we
 * released for it; returns our `validate_holder_commitment` request.
 */
export function peerSignsOurs(
  pair: { ledger: Ledger; peer: Side },
  n: number,
  ourPoint: Uint8Array,
): HolderCommitmentRequest {
  const v = pair.ledger.valuesFor("us");
  const base = {
    number: n,
    feeratePerKw: FEERATE,
    htlcs: v.htlcs,
    values: {
      toBroadcasterSat: v.toBroadcasterSat,
      toCountersignatorySat: v.toCountersignatorySat,
    },
  };
  const out = signCounterpartyCommitment(ctxOf(pair.peer), {
    ...base,
    perCommitmentPoint: ourPoint,
  });
  strictEqual(out.facts.commitment.advances_state || out.facts.commitment.is_retry, true);
  pair.peer.state = out.next;
  const sigs = out.release();
  return { ...base, counterpartySig: sigs.signature, counterpartyHtlcSigs: sigs.htlcSignatures };
}

/** The peer checks our signatures on its commitment (the request we signed) and stores them. */
export function peerValidatesOurs(
  pair: { peer: Side },
  request: CounterpartyCommitmentRequest,
  sigs: CommitmentSignatures,
): void {
  const out = validateHolderCommitment(ctxOf(pair.peer), {
    number: request.number,
    feeratePerKw: request.feeratePerKw,
    htlcs: request.htlcs,
    values: request.values,
    counterpartySig: sigs.signature,
    counterpartyHtlcSigs: sigs.htlcSignatures,
  });
  strictEqual(out.facts.commitment.counterparty_sig_valid, true, "our commitment signature");
  strictEqual(out.facts.commitment.htlc_sigs_valid, true, "our HTLC signatures");
  pair.peer.state = out.next;
}

/** The peer revokes its commitment `n` (its `revoke_and_ack`); returns the secret. */
export function peerRevokes(pair: { peer: Side }, n: number): Uint8Array {
  const out = revokeHolderCommitment(ctxOf(pair.peer), n);
  strictEqual(out.facts.revoke.advances_state, true, `peer revokes ${n}`);
  pair.peer.state = out.next;
  return out.release().secret;
}

/** The peer checks our revocation of our commitment `n`. */
export function peerChecksRevocation(pair: { peer: Side }, n: number, rev: Revocation): void {
  const out = validateCounterpartyRevocation(ctxOf(pair.peer), { number: n, secret: rev.secret });
  strictEqual(out.facts.revocation.point_matches, true, `our secret ${n} matches its point`);
  strictEqual(out.facts.revocation.secret_chains, true, `our secret ${n} chains`);
  strictEqual(out.next.enforcement.nextCounterpartyRevokeNum, n + 1);
  pair.peer.state = out.next;
}

/** The policy text used when `rules/default.policy` is missing or does not load. */
export const PERMISSIVE_POLICY = `policy "permissive" version 1
# No rules: every request kind is allowed (test fallback while rules/default.policy is missing).
`;

/** The policy the signer runs with in these tests, and where it came from. */
export interface TestPolicy {
  /** The loaded policy. */
  policy: Policy;
  /** `"rules/default.policy"` or `"inline permissive"`. */
  source: string;
  /** Why the default policy was not used (absent when it was). */
  fallbackReason?: string;
}

/**
 * rules/default.policy checked against the signer's registry, else {@link PERMISSIVE_POLICY}.
 * The environment variable `WARDEN_TEST_POLICY=permissive` forces the permissive one (to see what
 * the core guarantees without any rule).
 */
export function loadTestPolicy(): TestPolicy {
  const path = REPO_ROOT + "rules/default.policy";
  let reason: string;
  try {
    if (Deno.env.get("WARDEN_TEST_POLICY") === "permissive") throw new Error("forced");
    Deno.statSync(path);
    try {
      const policy = loadPolicy(path, { registry: signerRegistry(), network: "regtest" });
      return { policy, source: "rules/default.policy" };
    } catch (e) {
      reason = `rules/default.policy does not load: ${e instanceof Error ? e.message : e}`;
    }
  } catch (e) {
    reason = e instanceof Error && e.message === "forced"
      ? "WARDEN_TEST_POLICY=permissive"
      : "rules/default.policy does not exist";
  }
  const policy = loadPolicy("/inline/permissive.policy", {
    registry: signerRegistry(),
    network: "regtest",
    readFile: () => PERMISSIVE_POLICY,
  });
  return { policy, source: "inline permissive", fallbackReason: reason };
}

/** Check that `a` and `b` are the same bytes (a helper giving hex in the failure message). */
export function sameBytes(a: Uint8Array, b: Uint8Array, message: string): void {
  deepStrictEqual(toHex(a), toHex(b), message);
}
