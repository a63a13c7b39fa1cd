/**
 * Test fixture for the rules of `rules/default.policy` at the signer level: the real {@link Signer}
 * (MemoryStore, our node keys, the real default policy loaded for regtest, optionally under a site
 * policy that includes it) on "our" side of a channel, and a simulated honest peer running the
 * same pure channel operations on the mirrored setup (tests/core/channel/_peer.ts). The peer
 * produces exactly what a real counterparty sends (its points, secrets and signatures), so honest
 * requests can be built and then tampered with one property at a time.
 *
 * Our outgoing HTLCs are payments, so the rig approves each one first (`preapprove_keysend`, with
 * a {@link PositiveApprover} unless told otherwise), as a node must for the payment rules. Several
 * rigs may share one signer (`share`: another channel of the same node, e.g. to forward), a rig
 * may fund its channel from a transaction of its own (`fundingOutpoint`), and `reopen` opens a
 * fresh signer over the same store (a restart).
 */
import { AssertionError, deepStrictEqual, strictEqual } from "node:assert/strict";
import { fromHex, toHex } from "../../../core/bytes.ts";
import { publicKey, sha256 } from "../../../core/crypto/mod.ts";
import { p2wpkh, p2wsh } from "../../../core/bitcoin/script.ts";
import { fundingScript } from "../../../core/bolt3/scripts.ts";
import type { Tx, TxOutput } from "../../../core/bitcoin/tx.ts";
import { commitmentFee, isHtlcTrimmed } from "../../../core/bolt3/commitment.ts";
import { ChannelId, type ChannelKeys } from "../../../core/keys/types.ts";
import { nodeKeysFromSeed } from "../../../core/keys/mod.ts";
import { MemoryStore } from "../../../core/store/memory.ts";
import type { Store } from "../../../core/store/types.ts";
import { type Approver, PositiveApprover } from "../../../core/node/approvals.ts";
import { newStub } from "../../../core/channel/state.ts";
import { setupChannel } from "../../../core/channel/ops/setup.ts";
import { UNTRACKED_CHAIN } from "../../../core/channel/ops/context.ts";
import { toJson } from "../../../core/store/json.ts";
import { walletView } from "../../../core/node/wallet.ts";
import { type AuditEntry, Signer } from "../../../core/signer/signer.ts";
import { PolicyRefusal } from "../../../core/signer/errors.ts";
import { signerRegistry } from "../../../core/signer/registry.ts";
import {
  type CommitmentRequest,
  type HtlcRequest,
  type NodeCommitmentTx,
  signCounterpartyCommitment,
  validateHolderCommitment,
} from "../../../core/channel/ops/commitment.ts";
import { revokeHolderCommitment } from "../../../core/channel/ops/points.ts";
import { validateCounterpartyRevocation } from "../../../core/channel/ops/revocation.ts";
import { type ChainView, readySetup } from "../../../core/channel/ops/context.ts";
import type { SpendTx } from "../../../core/channel/ops/sweep.ts";
import { holderPoint } from "../../../core/channel/state.ts";
import { rebuildCommitment, type RebuiltCommitment } from "../../../core/channel/rebuild.ts";
import type { ChannelSetup, ChannelState, CommitmentInfo } from "../../../core/channel/types.ts";
import { type Decision, loadPolicy, type Policy } from "../../../policy/engine.ts";
import { ctxOf, makeChannel, type Side } from "../channel/_peer.ts";

/** The default policy file. */
export const DEFAULT_POLICY: string =
  new URL("../../../rules/default.policy", import.meta.url).pathname;

const policies = new Map<string, Policy>();

/**
 * The real default policy loaded for regtest, or a site policy (`site`: its items) that includes
 * it. Policies are cached; `Signer.open` reloads their limit windows from each fresh store.
 */
export function regtestPolicy(site?: string): Policy {
  const key = site ?? "";
  let policy = policies.get(key);
  if (policy) return policy;
  policy = loadRegtestPolicy(site);
  policies.set(key, policy);
  return policy;
}

/** {@link regtestPolicy} loaded anew (not cached: its limit windows start empty). */
export function loadRegtestPolicy(site?: string): Policy {
  const registry = signerRegistry();
  if (site === undefined) return loadPolicy(DEFAULT_POLICY, { registry, network: "regtest" });
  const sitePath = DEFAULT_POLICY.replace(/default\.policy$/, "site_under_test.policy");
  const text = `policy "site" version 1\ninclude "default.policy"\n${site}\n`;
  return loadPolicy(sitePath, {
    registry,
    network: "regtest",
    readFile: (path) => (path === sitePath ? text : Deno.readTextFileSync(path)),
  });
}

/** Our node's keys (the seed of _peer.ts). */
export const US_NODE = nodeKeysFromSeed(new Uint8Array(32).fill(1), { network: "regtest" });
/** The peer's node keys (the seed of _peer.ts). */
const PEER_NODE = nodeKeysFromSeed(new Uint8Array(32).fill(2), { network: "regtest" });
/** Where the rig's keysends go (any valid node id: keysend destinations are not verified). */
export const PAYEE: Uint8Array = publicKey(new Uint8Array(32).fill(0x33));
/** The peer's node id as _peer.ts names it. */
export const PEER_ID: Uint8Array = fromHex("02" + "11".repeat(32));
/** The clock of every test signer. */
export const NOW = 1_700_000_000;
/** The feerate of every commitment. */
export const FEERATE = 1000;
/** A script paying a key nobody in the fixture owns. */
export const FOREIGN_SCRIPT: Uint8Array = p2wpkh(publicKey(new Uint8Array(32).fill(0x77)));
/** The peer's shutdown script. */
export const PEER_SCRIPT: Uint8Array = p2wpkh(publicKey(new Uint8Array(32).fill(0x22)));

/** Our wallet's P2WPKH script at index `i`. */
export function walletScript(i: number): Uint8Array {
  return p2wpkh(US_NODE.walletPubkey(i));
}

/** A deterministic payment hash. */
export const hashOf = (i: number): Uint8Array => sha256(new TextEncoder().encode(`preimage ${i}`));

/** A payment in flight, from the opener's (our) point of view. */
export interface Htlc {
  /** We offered it. */
  fromOpener: boolean;
  /** Amount. */
  amountMsat: bigint;
  /** Payment hash. */
  hash: Uint8Array;
  /** Expiry height. */
  cltv: number;
}

/** A commitment's main output values and untrimmed HTLCs, from its broadcaster's view. */
export interface CommitmentValues {
  /** The broadcaster's main output (0: none). */
  toBroadcasterSat: bigint;
  /** The countersignatory's main output (0: none). */
  toCountersignatorySat: bigint;
  /** Untrimmed HTLCs. */
  htlcs: HtlcRequest[];
}

/** A mutable chain view for the funding outpoint of the fixture channel. */
export class TestChain implements ChainView {
  /** A tip is known. */
  tracked = true;
  /** The tip height. */
  height = 800_000;
  /** Confirmations of the funding transaction. */
  funding = 6;
  /** Confirmations of a spend of the funding output. */
  closing = 0;
  /** Confirmations of a double spend of the funding transaction. */
  doubleSpent = 0;
  /** See {@link ChainView.fundingDepth}. */
  fundingDepth(): number {
    return this.funding;
  }
  /** See {@link ChainView.closingDepth}. */
  closingDepth(): number {
    return this.closing;
  }
  /** See {@link ChainView.doubleSpentDepth}. */
  doubleSpentDepth(): number {
    return this.doubleSpent;
  }
}

/** Options of {@link Rig.create}. */
export interface RigOptions {
  /** Zero-fee-HTLC anchors (default: static_remotekey). */
  anchors?: boolean;
  /** Pushed to the peer at open (default 300k sat). */
  pushMsat?: bigint;
  /** Channel value (default 1M sat). */
  valueSat?: bigint;
  /** Items of a site policy that includes the default one. */
  site?: string;
  /**
   * Scripts on the operator's allowlist (a fixed wallet view); without it the signer reads the
   * allowlist stored at `node/allowlist` (edit it with core/node/allowlist.ts `updateAllowlist`).
   */
  allowlist?: Uint8Array[];
  /** The chain the signer sees (default: untracked). */
  chain?: ChainView;
  /** Who approves payments and unknown on-chain outputs (default: {@link PositiveApprover}). */
  approver?: Approver;
  /** The store (default: a fresh MemoryStore). */
  store?: Store;
  /** The signer's clock (default: {@link NOW}). */
  clock?: () => number;
  /** Another rig whose signer (store, audit, options) this channel shares: another channel of ours. */
  share?: Rig;
  /** The channel's CLN dbid (default 1; channels sharing a signer need distinct ones). */
  dbid?: bigint;
  /** The funding outpoint (txid in internal order, hex; default `aa...aa:0`). */
  fundingOutpoint?: { txid: string; vout: number };
  /** The peer opened the channel (only {@link Rig.setUp} fits: the balance sheet assumes we did). */
  inbound?: boolean;
  /** The peer's node id in our channel id (default {@link PEER_ID}, which is not a valid point). */
  peerId?: Uint8Array;
}

/** The options that describe the signer rather than the channel (what `share` inherits). */
function signerOptions(o: RigOptions): RigOptions {
  return {
    site: o.site,
    allowlist: o.allowlist,
    chain: o.chain,
    approver: o.approver,
    store: o.store,
    clock: o.clock,
  };
}

/** The peer's keys of the channel with CLN dbid `dbid` (as channelPair derives them). */
function peerChannelKeys(dbid: bigint): ChannelKeys {
  return PEER_NODE.channelKeys(ChannelId.fromPeerDbid(US_NODE.nodeId, dbid));
}

/** The peer node's real id (a valid point; use it as `peerId` where the id must be one). */
export const PEER_NODE_ID: Uint8Array = PEER_NODE.nodeId;

/** The P2WSH funding script of the channel with `dbid` (and `peerId`), before it exists. */
export function channelFundingScript(o: { dbid: bigint; peerId?: Uint8Array }): Uint8Array {
  const ours = US_NODE.channelKeys(ChannelId.fromPeerDbid(o.peerId ?? PEER_ID, o.dbid));
  return p2wsh(fundingScript(ours.fundingPubkey, peerChannelKeys(o.dbid).fundingPubkey));
}

/**
 * A set-up channel between us and the peer like tests/core/channel/_peer.ts `makeChannel`, with
 * our CLN dbid and the funding outpoint chosen.
 */
function channelPair(
  o: {
    anchors?: boolean;
    pushMsat: bigint;
    valueSat: bigint;
    dbid: bigint;
    fundingOutpoint: { txid: string; vout: number };
    inbound: boolean;
    peerId: Uint8Array;
  },
): { us: Side; peer: Side } {
  const usKeys = US_NODE.channelKeys(ChannelId.fromPeerDbid(o.peerId, o.dbid));
  const peerKeys = peerChannelKeys(o.dbid);
  const base = {
    channelValueSat: o.valueSat,
    pushMsat: o.pushMsat,
    fundingOutpoint: o.fundingOutpoint,
    holderShutdownScript: "",
    holderShutdownWalletIndex: null,
    counterpartyShutdownScript: "",
    commitmentType: o.anchors ? "anchors_zero_fee_htlc" as const : "static_remotekey" as const,
  };
  const keysOf = (k: ChannelKeys) => ({
    fundingPubkey: toHex(k.fundingPubkey),
    revocationBasepoint: toHex(k.basepoints.revocation),
    paymentBasepoint: toHex(k.basepoints.payment),
    delayedPaymentBasepoint: toHex(k.basepoints.delayedPayment),
    htlcBasepoint: toHex(k.basepoints.htlc),
  });
  const ready = (keys: ChannelKeys, setup: ChannelSetup): Side => ({
    keys,
    state: setupChannel(
      { state: newStub(keys.channelId.toHex()), keys, chain: UNTRACKED_CHAIN },
      setup,
    ).next,
  });
  return {
    us: ready(usKeys, {
      ...base,
      isOutbound: !o.inbound,
      holderSelectedContestDelay: 144,
      counterpartySelectedContestDelay: 6,
      counterparty: keysOf(peerKeys),
    }),
    peer: ready(peerKeys, {
      ...base,
      isOutbound: o.inbound,
      holderSelectedContestDelay: 6,
      counterpartySelectedContestDelay: 144,
      counterparty: keysOf(usKeys),
    }),
  };
}

/** Our side through the real signer, the peer's through the pure operations. */
export class Rig {
  /** The signer under test (replaced by {@link Rig.reopen}). */
  signer: Signer<Decision>;
  /** Its store (replaced by {@link Rig.reopen} when given another handle). */
  store: Store;
  /** Every decision the signer made. */
  readonly audit: AuditEntry<Decision>[];
  /** The channel id (CLN style, dbid 1 unless chosen). */
  readonly id: ChannelId;
  /** How the signer was opened (for {@link Rig.reopen}). */
  readonly #open: { options: RigOptions };
  /** Our channel keys (as the signer derives them). */
  readonly keys: ChannelKeys;
  /** The setup our node proposes. */
  setup: ChannelSetup;
  /** The simulated peer. */
  peer: Side;
  /** Zero-fee-HTLC anchors. */
  readonly anchors: boolean;
  /** Our balance (we opened the channel), before in-flight HTLCs. */
  openerMsat: bigint;
  /** The peer's balance. */
  acceptorMsat: bigint;
  /** Payments in flight. */
  htlcs: Htlc[] = [];
  /** Every holder commitment each side validated, by number. */
  history: { us: CommitmentInfo[]; peer: CommitmentInfo[] } = { us: [], peer: [] };

  private constructor(
    signer: Signer<Decision>,
    o: { store: Store; audit: AuditEntry<Decision>[]; options: RigOptions },
  ) {
    this.signer = signer;
    this.store = o.store;
    this.audit = o.audit;
    const options = o.options;
    this.#open = { options };
    const pushMsat = options.pushMsat ?? 300_000_000n;
    const valueSat = options.valueSat ?? 1_000_000n;
    const dbid = options.dbid ?? 1n;
    const peerId = options.peerId ?? PEER_ID;
    this.id = ChannelId.fromPeerDbid(peerId, dbid);
    const custom = dbid !== 1n || options.fundingOutpoint !== undefined ||
      options.inbound === true || options.peerId !== undefined;
    const { us, peer } = !custom
      ? makeChannel({ anchors: options.anchors, pushMsat, valueSat })
      : channelPair({
        anchors: options.anchors,
        pushMsat,
        valueSat,
        dbid,
        fundingOutpoint: options.fundingOutpoint ?? { txid: "aa".repeat(32), vout: 0 },
        inbound: options.inbound ?? false,
        peerId,
      });
    this.keys = us.keys;
    this.setup = readySetup(us.state);
    this.peer = peer;
    this.anchors = options.anchors ?? false;
    this.openerMsat = valueSat * 1000n - pushMsat;
    this.acceptorMsat = pushMsat;
  }

  /**
   * A signer over a fresh store (or `options.store`) and the channel's two sides (nothing created
   * yet); with `share`, the other rig's signer, store and audit.
   */
  static async create(options: RigOptions = {}): Promise<Rig> {
    if (options.share) {
      const other = options.share;
      return new Rig(other.signer, {
        store: other.store,
        audit: other.audit,
        options: { ...options, ...signerOptions(other.#open.options), share: undefined },
      });
    }
    const store = options.store ?? new MemoryStore();
    const audit: AuditEntry<Decision>[] = [];
    const signer = await Rig.#openSigner(store, audit, { options });
    return new Rig(signer, { store, audit, options });
  }

  static #openSigner(
    store: Store,
    audit: AuditEntry<Decision>[],
    o: { options: RigOptions; policy?: Policy },
  ): Promise<Signer<Decision>> {
    const options = o.options;
    const allowlist = options.allowlist ?? [];
    return Signer.open<Decision>({
      keys: US_NODE,
      store,
      policy: o.policy ?? regtestPolicy(options.site),
      audit: { append: (e) => Promise.resolve(void audit.push(e)) },
      clock: options.clock ?? (() => NOW),
      chain: options.chain,
      approver: options.approver ?? new PositiveApprover(),
      // Without `allowlist`, the signer's own wallet view over the store-backed allowlist.
      wallet: options.allowlist === undefined ? undefined : walletView(US_NODE, {
        allowlisted: (s) => allowlist.some((a) => toHex(a) === toHex(s)),
      }),
    });
  }

  /**
   * A restart: a fresh {@link Signer} over the same store, or over `store` (the same database
   * opened again), with `policy` (e.g. one loaded anew; default the cached one) and `approver`,
   * which this rig then uses. Rigs sharing the old signer must be given the new one.
   */
  async reopen(
    options: { store?: Store; policy?: Policy; approver?: Approver } = {},
  ): Promise<Signer<Decision>> {
    if (options.store) this.store = options.store;
    const open = {
      ...this.#open.options,
      approver: options.approver ?? this.#open.options.approver,
    };
    this.signer = await Rig.#openSigner(this.store, this.audit, {
      options: open,
      policy: options.policy,
    });
    return this.signer;
  }

  /** Approve paying `amountMsat` for `hash` (a keysend to {@link PAYEE}): what a node does first. */
  approve(hash: Uint8Array, amountMsat: bigint): Promise<boolean> {
    return this.signer.preapproveKeysend({ destination: PAYEE, paymentHash: hash, amountMsat });
  }

  /** We offer an HTLC (approved first, unless `approve` is false): added to the balance sheet. */
  async offer(
    htlc: { amountMsat: bigint; hash: Uint8Array; cltv: number },
    options: { approve?: boolean } = {},
  ): Promise<Htlc> {
    if (options.approve !== false) await this.approve(htlc.hash, htlc.amountMsat);
    const h = { fromOpener: true, ...htlc };
    this.openerMsat -= h.amountMsat;
    this.htlcs.push(h);
    return h;
  }

  /** `new_channel` and `setup_channel` of our setup (edited by `edit`). */
  async setUp(edit: (s: ChannelSetup) => ChannelSetup = (s) => s): Promise<void> {
    await this.signer.newChannel(this.id);
    this.setup = edit(this.setup);
    await this.signer.setupChannel(this.id, this.setup);
  }

  /** Our channel state as the signer holds it. */
  async state(): Promise<ChannelState> {
    const s = await this.signer.channelState(this.id);
    if (!s) throw new Error("no channel");
    return s;
  }

  /** Everything the signer persisted, plus its view of the channel (for "nothing changed"). */
  async snapshot(): Promise<string> {
    const entries = await this.store.list("");
    const channel = await this.signer.channelState(this.id);
    return JSON.stringify([
      entries.map((e) => [e.key, e.version, toJson(e.value)]),
      channel === undefined ? null : toJson(channel),
    ]);
  }

  /** The values of `broadcaster`'s next commitment under the current balance sheet. */
  valuesFor(broadcaster: "us" | "peer"): CommitmentValues {
    const dust = 546n;
    const broadcasterIsOpener = broadcaster === "us";
    const htlcs = this.htlcs
      .map((h) => ({
        offered: h.fromOpener === broadcasterIsOpener,
        amountMsat: h.amountMsat,
        paymentHash: h.hash,
        cltvExpiry: h.cltv,
      }))
      .filter((h) =>
        !isHtlcTrimmed(h, {
          feeratePerKw: FEERATE,
          dustLimitSatoshis: dust,
          anchors: this.anchors,
        })
      );
    const fee = commitmentFee(FEERATE, { numUntrimmedHtlcs: htlcs.length, anchors: this.anchors }) +
      (this.anchors ? 660n : 0n);
    const opener = this.openerMsat / 1000n - fee;
    const acceptor = this.acceptorMsat / 1000n;
    const keep = (v: bigint) => (v >= dust ? v : 0n);
    const [b, c] = broadcasterIsOpener ? [opener, acceptor] : [acceptor, opener];
    return { toBroadcasterSat: keep(b), toCountersignatorySat: keep(c), htlcs };
  }

  /** A phase-2 commitment request for `broadcaster`'s commitment `n`. */
  request(broadcaster: "us" | "peer", n: number): CommitmentRequest {
    const { toBroadcasterSat, toCountersignatorySat, htlcs } = this.valuesFor(broadcaster);
    return {
      number: n,
      feeratePerKw: FEERATE,
      htlcs,
      values: { toBroadcasterSat, toCountersignatorySat },
    };
  }

  /** The peer's commitment `n` as its node builds it (what a CLN node sends us in phase 1). */
  peerCommitment(n: number, values: CommitmentValues = this.valuesFor("peer")): RebuiltCommitment {
    return rebuildCommitment("holder", {
      setup: readySetup(this.peer.state),
      keys: this.peer.keys,
      info: infoOf(n, holderPoint(this.peer.keys, n), values),
    });
  }

  /** Our commitment `n` as our node builds it. */
  ourCommitment(n: number, values: CommitmentValues = this.valuesFor("us")): RebuiltCommitment {
    return rebuildCommitment("holder", {
      setup: this.setup,
      keys: this.keys,
      info: infoOf(n, holderPoint(this.keys, n), values),
    });
  }

  /** We sign the peer's commitment `n` (through the signer); `edit` changes the request. */
  signPeerCommitment(
    n: number,
    edit: (r: CommitmentRequest) => CommitmentRequest = (r) => r,
  ): ReturnType<Signer["signCounterpartyCommitment"]> {
    return this.signer.signCounterpartyCommitment(this.id, {
      ...edit(this.request("peer", n)),
      perCommitmentPoint: holderPoint(this.peer.keys, n),
    });
  }

  /**
   * The peer signs our commitment `n` (asking the signer for our point, as a node relays it), and
   * returns the request our node then sends to validate it; `edit` changes the values signed.
   */
  async peerSignsOurs(
    n: number,
    edit: (r: CommitmentRequest) => CommitmentRequest = (r) => r,
  ): Promise<Parameters<Signer["validateHolderCommitment"]>[1]> {
    const point = await this.signer.getPerCommitmentPoint(this.id, n);
    const request = edit(this.request("us", n));
    const signed = signCounterpartyCommitment(ctxOf(this.peer), {
      ...request,
      perCommitmentPoint: point,
    });
    this.peer.state = signed.next;
    const sigs = signed.release();
    return {
      ...request,
      counterpartySig: sigs.signature,
      counterpartyHtlcSigs: sigs.htlcSignatures,
    };
  }

  /** `signer` signs the other side's commitment `n`; the other side validates it. */
  async commit(signer: "us" | "peer", n: number, phase1 = false): Promise<void> {
    if (signer === "us") {
      const values = this.valuesFor("peer");
      const node = phase1 ? nodeTx(this.peerCommitment(n, values)) : undefined;
      const sigs = await this.signPeerCommitment(
        n,
        (r) => (node ? { ...r, values: undefined, tx: node } : r),
      );
      const validated = validateHolderCommitment(ctxOf(this.peer), {
        ...this.request("peer", n),
        counterpartySig: sigs.signature,
        counterpartyHtlcSigs: sigs.htlcSignatures,
      });
      strictEqual(validated.facts.commitment.counterparty_sig_valid, true, "our signature");
      strictEqual(validated.facts.commitment.htlc_sigs_valid, true, "our HTLC signatures");
      this.peer.state = validated.next;
      this.history.peer[n] = infoOf(n, holderPoint(this.peer.keys, n), values);
    } else {
      const values = this.valuesFor("us");
      const request = await this.peerSignsOurs(n);
      const node = phase1 ? nodeTx(this.ourCommitment(n, values)) : undefined;
      await this.signer.validateHolderCommitment(
        this.id,
        node ? { ...request, values: undefined, tx: node } : request,
      );
      this.history.us[n] = infoOf(n, holderPoint(this.keys, n), values);
    }
  }

  /** `revoker` revokes its commitment `n`; the other side checks the revocation. */
  async revoke(revoker: "us" | "peer", n: number): Promise<void> {
    if (revoker === "us") {
      const { secret } = await this.signer.revokeHolderCommitment(this.id, n);
      const checked = validateCounterpartyRevocation(ctxOf(this.peer), { number: n, secret });
      strictEqual(checked.facts.revocation.secret_chains, true);
      this.peer.state = checked.next;
    } else {
      const out = revokeHolderCommitment(ctxOf(this.peer), n);
      this.peer.state = out.next;
      const { secret } = out.release();
      await this.signer.validateCounterpartyRevocation(this.id, n, secret);
    }
  }

  /** Create, set up and open the channel: both commitments 0 signed and validated. */
  async open(): Promise<void> {
    await this.setUp();
    await this.commit("us", 0);
    await this.commit("peer", 0);
  }

  /**
   * One full update in which `from` adds (or, with `settle`, removes) `htlc`: `from` signs the
   * other's commitment `n`, the other revokes `n - 1` and signs back, `from` revokes `n - 1`.
   */
  async update(from: "us" | "peer", n: number, phase1 = false): Promise<void> {
    const other = from === "us" ? "peer" : "us";
    await this.commit(from, n, phase1);
    await this.revoke(other, n - 1);
    await this.commit(other, n, phase1);
    await this.revoke(from, n - 1);
  }

  /** Add an HTLC offered by `from` (ours approved first) and lock it in with commitments `n`. */
  async addHtlc(
    from: "us" | "peer",
    n: number,
    htlc: { amountMsat: bigint; hash: Uint8Array; cltv: number },
  ): Promise<Htlc> {
    let h: Htlc;
    if (from === "us") {
      h = await this.offer(htlc);
    } else {
      h = { fromOpener: false, ...htlc };
      this.acceptorMsat -= h.amountMsat;
      this.htlcs.push(h);
    }
    await this.update(from, n);
    return h;
  }

  /**
   * Open, then we offer a 100k-sat HTLC (commitments 1) and the peer a 50k-sat one (commitments 2).
   * Afterwards H = 3, C = 3, R = 2; both current commitments (2) hold both HTLCs.
   */
  async openWithTwoHtlcs(): Promise<void> {
    await this.open();
    await this.addHtlc("us", 1, { amountMsat: 100_000_000n, hash: hashOf(1), cltv: 500 });
    await this.addHtlc("peer", 2, { amountMsat: 50_000_000n, hash: hashOf(2), cltv: 600 });
  }

  /** `side`'s holder commitment `n` as validated. */
  holderCommitment(side: "us" | "peer", n: number): RebuiltCommitment {
    const [setup, keys] = side === "us"
      ? [this.setup, this.keys]
      : [readySetup(this.peer.state), this.peer.keys];
    return rebuildCommitment("holder", { setup, keys, info: this.history[side][n] });
  }
}

function infoOf(n: number, point: Uint8Array, v: CommitmentValues): CommitmentInfo {
  return {
    number: n,
    perCommitmentPoint: toHex(point),
    feeratePerKw: FEERATE,
    toBroadcasterSat: v.toBroadcasterSat,
    toCountersignatorySat: v.toCountersignatorySat,
    htlcs: v.htlcs.map((h) => ({ ...h, paymentHash: toHex(h.paymentHash) })),
  };
}

/** A rebuilt commitment as the node's transaction with its witness scripts (phase 1). */
export function nodeTx(c: RebuiltCommitment): NodeCommitmentTx {
  return { tx: copyTx(c.tx), witnessScripts: c.outputs.map((o) => o.witnessScript ?? null) };
}

/** A deep copy of a transaction, changed by `edit`. */
export function copyTx(tx: Tx, edit: (t: Tx) => void = () => {}): Tx {
  const copy: Tx = {
    version: tx.version,
    locktime: tx.locktime,
    inputs: tx.inputs.map((i) => ({ ...i, txid: i.txid.slice(), witness: [] })),
    outputs: tx.outputs.map((o) => ({ amount: o.amount, script: o.script.slice() })),
  };
  edit(copy);
  return copy;
}

/** A version 2 transaction with the given inputs (sequence 0xffffffff unless set) and outputs. */
export function makeTx(
  inputs: { txid: Uint8Array; vout: number; sequence?: number }[],
  outputs: TxOutput[],
  locktime = 0,
): Tx {
  return {
    version: 2,
    locktime,
    inputs: inputs.map((i) => ({
      txid: i.txid.slice(),
      vout: i.vout,
      scriptSig: new Uint8Array(),
      sequence: i.sequence ?? 0xffffffff,
      witness: [],
    })),
    outputs: outputs.map((o) => ({ amount: o.amount, script: o.script.slice() })),
  };
}

/** A {@link SpendTx} with the given spent outputs and paths (defaults: unknown, none). */
export function spendOf(
  tx: Tx,
  options: { spent?: (TxOutput | null)[]; inputPaths?: number[][]; outputPaths?: number[][] } = {},
): SpendTx {
  return {
    tx,
    spent: options.spent ?? tx.inputs.map(() => null),
    inputPaths: options.inputPaths ?? tx.inputs.map(() => []),
    outputPaths: options.outputPaths ?? tx.outputs.map(() => []),
  };
}

/**
 * Run `action`, which must be refused with exactly the rule ids `rules` (in any order, each once)
 * and, unless `temporary`, not as a temporary refusal; and check that the signer persisted
 * nothing and its view of the channel did not change.
 */
export async function expectRefusal(
  rig: Rig,
  action: () => Promise<unknown>,
  rules: string[],
  options: { temporary?: boolean } = {},
): Promise<PolicyRefusal> {
  const before = await rig.snapshot();
  const audited = rig.audit.length;
  let caught: unknown = undefined;
  try {
    await action();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof PolicyRefusal)) {
    throw new AssertionError({
      message: `expected a refusal by ${rules.join(", ")}, got ${
        caught === undefined ? "success" : String(caught)
      }`,
    });
  }
  deepStrictEqual([...new Set(caught.rules)].sort(), [...rules].sort(), "refusing rules");
  strictEqual(caught.temporary, options.temporary ?? false, "temporary");
  strictEqual(await rig.snapshot(), before, "nothing changed");
  strictEqual(rig.audit.length, audited + 1, "the refusal was audited");
  const last = rig.audit[rig.audit.length - 1];
  strictEqual(last.decision.allowed, false);
  return caught;
}

/** Every decision so far allowed with no warning (no rule violated at all). */
export function assertNoViolations(rig: Rig): void {
  const bad = rig.audit.filter((a) =>
    !a.decision.allowed || a.decision.violations.length > 0 || a.decision.warnings.length > 0
  ).map((a) =>
    `${a.kind}: ${[...a.decision.violations, ...a.decision.warnings].map((v) => v.rule)}`
  );
  deepStrictEqual(bad, []);
}
