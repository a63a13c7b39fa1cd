/**
 * A CLN-like driver for the {@link Dispatcher}: it speaks ENCODED hsmd messages, as lightningd,
 * openingd, channeld, closingd and onchaind do, to a dispatcher over a real {@link Signer}
 * (MemoryStore, `rules/default.policy` for regtest), while the channel's other side is the
 * simulated honest peer of tests/core/channel/_peer.ts (the same pure channel operations on the
 * mirrored setup). The peer builds its commitments and HTLC transactions exactly as a CLN node
 * shows them (transaction + PSBT with witness scripts and UTXOs), and checks every signature we
 * return against its own view.
 */
import { AssertionError, deepStrictEqual, strictEqual } from "node:assert/strict";
import { concat, fromHex, toHex, u32le, utf8 } from "../../../core/bytes.ts";
import { bech32 } from "@scure/base";
import {
  derEncode,
  ecdsaSignRecoverable,
  ecdsaVerify,
  publicKey,
  SecretBytes,
  sha256,
  sha256d,
} from "../../../core/crypto/mod.ts";
import { createPsbt, type Psbt } from "../../../core/bitcoin/psbt.ts";
import { p2wsh } from "../../../core/bitcoin/script.ts";
import { SIGHASH, sighashSegwitV0, type Tx } from "../../../core/bitcoin/tx.ts";
import { initRequest } from "../../../core/protocol/init.ts";
import { commitmentFee, isHtlcTrimmed } from "../../../core/bolt3/commitment.ts";
import type { CommitmentHtlcTransaction } from "../../../core/bolt3/htlc_tx.ts";
import { assembleClosingTx } from "../../../core/channel/ops/close.ts";
import {
  signCounterpartyCommitment,
  validateHolderCommitment,
} from "../../../core/channel/ops/commitment.ts";
import { readySetup } from "../../../core/channel/ops/context.ts";
import { revokeHolderCommitment } from "../../../core/channel/ops/points.ts";
import { validateCounterpartyRevocation } from "../../../core/channel/ops/revocation.ts";
import { rebuildCommitment, type RebuiltCommitment } from "../../../core/channel/rebuild.ts";
import { holderPoint, holderSecret } from "../../../core/channel/state.ts";
import type { ChannelSetup, CommitmentInfo } from "../../../core/channel/types.ts";
import { ChannelId, type ChannelKeys } from "../../../core/keys/types.ts";
import { nodeKeysFromSeed } from "../../../core/keys/mod.ts";
import { newStub } from "../../../core/channel/state.ts";
import { setupChannel } from "../../../core/channel/ops/setup.ts";
import { UNTRACKED_CHAIN } from "../../../core/channel/ops/context.ts";
import { type Approver, NegativeApprover } from "../../../core/node/approvals.ts";
import { ALLOWLIST_KEY } from "../../../core/node/allowlist.ts";
import { type AuditEntry, Signer } from "../../../core/signer/signer.ts";
import { MemoryStore } from "../../../core/store/memory.ts";
import { toJson } from "../../../core/store/json.ts";
import { walletView } from "../../../core/node/wallet.ts";
import type { Decision } from "../../../policy/engine.ts";
import {
  decodeReplyTo,
  encodeMessage,
  type HsmdRequest,
  type ReplyFor,
  type RequestName,
  type RequestOf,
} from "../../../core/protocol/mod.ts";
import type { Ctx, Htlc as WireHtlc } from "../../../core/protocol/types.ts";
import {
  type DispatchChain,
  Dispatcher,
  type RequestContext,
} from "../../../core/protocol/dispatch.ts";
import { type SignerErrorInfo, signerErrorOf } from "../../../core/protocol/errors.ts";
import { ctxOf, type Side } from "../channel/_peer.ts";
import {
  FEERATE,
  NOW,
  PEER_SCRIPT,
  regtestPolicy,
  TestChain,
  US_NODE,
  walletScript,
} from "../signer/_rules_fixture.ts";

/** The peer's node keys (the seed of tests/core/channel/_peer.ts). */
export const PEER_NODE = nodeKeysFromSeed(new Uint8Array(32).fill(2), { network: "regtest" });
/** The peer's node id: CLN names our channel (peer id, dbid 1) with it. */
export const PEER_ID: Uint8Array = PEER_NODE.nodeId;

/**
 * Our channel with the peer, both sides set up (as tests/core/channel/_peer.ts `makeChannel`,
 * but keyed by the peer's real node id, which CLN's messages must carry as a valid point).
 */
export function channelPair(o: { anchors: boolean; pushMsat: bigint; valueSat: bigint }): {
  us: Side;
  peer: Side;
} {
  const usKeys = US_NODE.channelKeys(ChannelId.fromPeerDbid(PEER_ID, 1n));
  const peerKeys = PEER_NODE.channelKeys(ChannelId.fromPeerDbid(US_NODE.nodeId, 1n));
  const base = {
    channelValueSat: o.valueSat,
    pushMsat: o.pushMsat,
    fundingOutpoint: { txid: "aa".repeat(32), vout: 0 },
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
      isOutbound: true,
      holderSelectedContestDelay: 144,
      counterpartySelectedContestDelay: 6,
      counterparty: keysOf(peerKeys),
    }),
    peer: ready(peerKeys, {
      ...base,
      isOutbound: false,
      holderSelectedContestDelay: 6,
      counterpartySelectedContestDelay: 144,
      counterparty: keysOf(usKeys),
    }),
  };
}

/** The root context (lightningd's main fd): no context at all. */
export const ROOT: null = null;
/** The root as VLS's serial proxy sends it: 33 zero bytes and dbid 0. */
export const ZERO_ROOT: RequestContext = { peerId: new Uint8Array(33), dbid: 0n };
/** The channel's client fd context (channeld, openingd...). */
export const CHANNEL: RequestContext = { peerId: PEER_ID, dbid: 1n };
/** The secret key of {@link PAYEE}. */
export const PAYEE_SECRET: Uint8Array = new Uint8Array(32).fill(0x33);
/** An allowlisted payee (invoices it signs are approved without asking). */
export const PAYEE: Uint8Array = publicKey(PAYEE_SECRET);
/** The secret key of {@link STRANGER}. */
export const STRANGER_SECRET: Uint8Array = new Uint8Array(32).fill(0x44);
/** A payee nobody approved. */
export const STRANGER: Uint8Array = publicKey(STRANGER_SECRET);

/** BOLT #11 data part: timestamp, payment hash (p) and description (d), as 5-bit words. */
export function invoiceWords(hash: Uint8Array, timestamp: number = NOW): Uint8Array {
  const field = (type: number, bytes: Uint8Array) => {
    const words = bech32.toWords(bytes);
    return [type, words.length >> 5, words.length & 31, ...words];
  };
  const ts: number[] = [];
  for (let i = 6; i >= 0; i--) ts.push(Math.floor(timestamp / 32 ** i) % 32);
  return Uint8Array.from([...ts, ...field(1, hash), ...field(13, utf8("coffee"))]);
}

/** The 5-bit words packed into bytes, zero-padded (BOLT #11 signature preimage). */
export function packWords(words: Uint8Array): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const w of words) {
    acc = ((acc << 5) | w) & 0xffff;
    bits += 5;
    while (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  if (bits > 0) out.push((acc << (8 - bits)) & 0xff);
  return Uint8Array.from(out);
}

/** A regtest BOLT #11 invoice for `amountMsat` (a multiple of 100) signed by `payeeSecret`. */
export function invoiceFor(hash: Uint8Array, amountMsat: bigint, payeeSecret: Uint8Array): string {
  const hrp = `lnbcrt${amountMsat / 100n}n`;
  const words = invoiceWords(hash);
  const sig = ecdsaSignRecoverable(sha256(concat(utf8(hrp), packWords(words))), payeeSecret);
  const all = [...words, ...bech32.toWords(concat(sig.signature, Uint8Array.of(sig.recovery)))];
  return bech32.encode(hrp, all, false);
}
/** CLN's `channel_type` for static_remotekey (bit 12) and zero-fee-HTLC anchors (bits 12, 22). */
export const CHANNEL_TYPES = {
  static_remotekey: fromHex("1000"),
  anchors_zero_fee_htlc: fromHex("401000"),
} as const;

/** A payment in flight, from the opener's (our) point of view. */
export interface Payment {
  /** We offered it. */
  fromUs: boolean;
  /** Amount. */
  amountMsat: bigint;
  /** Payment hash. */
  hash: Uint8Array;
  /** Expiry height. */
  cltv: number;
}

/** Options of {@link ClnDriver.create}. */
export interface DriverOptions {
  /** Zero-fee-HTLC anchors (default static_remotekey). */
  anchors?: boolean;
  /** The dispatcher's highest version (default 6). */
  maxVersion?: number;
  /** Who approves payments (default: nobody, VLS's default). */
  approver?: Approver;
  /** The chain view the dispatcher reads for `check_outpoint` (default none). */
  dispatchChain?: DispatchChain;
  /** Developer mode. */
  dev?: boolean;
}

/** The signature our node would put in a PSBT partial sig (DER + sighash byte). */
function partialSig(sig: Uint8Array, sighash: number): Uint8Array {
  return concat(derEncode(sig), Uint8Array.of(sighash));
}

/** A regtest header extending `prev` with valid proof of work (bits 0x207fffff). */
export function regtestHeader(prev: Uint8Array, time: number): Uint8Array {
  for (let nonce = 0;; nonce++) {
    const header = concat(
      u32le(0x20000000),
      prev,
      new Uint8Array(32).fill(0x11),
      u32le(time),
      u32le(0x207fffff),
      u32le(nonce),
    );
    // The hash read as a big-endian number must be at most 0x7fffff << 232.
    if (sha256d(header)[31] <= 0x7f) return header;
  }
}

/** CLN's `init` on regtest with wire versions `min..max` (CLN today: 5..6), no dev fields. */
export function initMessage(o: { min?: number; max?: number } = {}): RequestOf<"init"> {
  return initRequest("regtest", { minVersion: o.min, maxVersion: o.max });
}

/** See the module documentation. */
export class ClnDriver {
  /** The signer under test. */
  readonly signer: Signer<Decision>;
  /** The dispatcher under test. */
  readonly dispatcher: Dispatcher;
  /** The signer's store. */
  readonly store: MemoryStore;
  /** Every decision the signer made. */
  readonly audit: AuditEntry<Decision>[];
  /** The chain the signer's channel operations see. */
  readonly chain: TestChain;
  /** Our channel (CLN: peer id, dbid 1). */
  readonly id: ChannelId = ChannelId.fromPeerDbid(PEER_ID, 1n);
  /** Our side's keys and the setup our node negotiated. */
  readonly us: Side;
  /** The simulated peer. */
  peer: Side;
  /** Zero-fee-HTLC anchors. */
  readonly anchors: boolean;
  /** Our balance (we opened the channel), before in-flight HTLCs. */
  openerMsat: bigint;
  /** The peer's balance. */
  acceptorMsat: bigint;
  /** Payments in flight. */
  payments: Payment[] = [];
  /** Our per-commitment secrets the signer released, by commitment number. */
  released: Map<number, Uint8Array> = new Map();
  /** Our holder commitments as validated, by number. */
  ours: Map<number, CommitmentInfo> = new Map();
  /** The peer's commitments as we signed them, by number. */
  theirs: Map<number, CommitmentInfo> = new Map();
  /** Every request sent, by name (for coverage). */
  readonly sent: Map<string, number> = new Map();

  private constructor(
    o: {
      signer: Signer<Decision>;
      dispatcher: Dispatcher;
      store: MemoryStore;
      audit: AuditEntry<Decision>[];
      chain: TestChain;
      anchors: boolean;
    },
  ) {
    this.signer = o.signer;
    this.dispatcher = o.dispatcher;
    this.store = o.store;
    this.audit = o.audit;
    this.chain = o.chain;
    this.anchors = o.anchors;
    const pushMsat = 300_000_000n;
    const { us, peer } = channelPair({ anchors: o.anchors, pushMsat, valueSat: 1_000_000n });
    this.us = us;
    this.peer = peer;
    this.openerMsat = 1_000_000_000n - pushMsat;
    this.acceptorMsat = pushMsat;
  }

  /** A signer over a fresh store (with {@link PAYEE} allowlisted) and its dispatcher. */
  static async create(o: DriverOptions = {}): Promise<ClnDriver> {
    const store = new MemoryStore();
    await store.put([{
      key: ALLOWLIST_KEY,
      value: toJson({ version: 1, network: "regtest", entries: [`payee:${toHex(PAYEE)}`] }),
      version: 0,
    }]);
    const audit: AuditEntry<Decision>[] = [];
    const chain = new TestChain();
    const signer = await Signer.open<Decision>({
      keys: US_NODE,
      store,
      policy: regtestPolicy(),
      audit: { append: (e) => Promise.resolve(void audit.push(e)) },
      clock: () => NOW,
      chain,
      approver: o.approver ?? new NegativeApprover(),
      wallet: walletView(US_NODE, { allowlisted: () => false }),
    });
    const dispatcher = new Dispatcher(signer, {
      network: "regtest",
      maxVersion: o.maxVersion,
      identity: US_NODE,
      chain: o.dispatchChain,
      dev: o.dev,
    });
    return new ClnDriver({
      signer,
      dispatcher,
      store,
      audit,
      chain,
      anchors: o.anchors ?? false,
    });
  }

  /** Our setup as our node negotiated it. */
  get setup(): ChannelSetup {
    return readySetup(this.us.state);
  }

  /** The negotiated protocol version. */
  get version(): number {
    const v = this.dispatcher.version;
    if (v === undefined) throw new AssertionError({ message: "not initialised" });
    return v;
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  /** Send a raw body; the reply body (never null here). */
  async call(body: Uint8Array, context: RequestContext | null = CHANNEL): Promise<Uint8Array> {
    const reply = await this.dispatcher.handle(context, body);
    if (reply === null) throw new AssertionError({ message: "no reply" });
    return reply;
  }

  /** Send an encoded request; its decoded reply (a SignerError fails the test with its message). */
  async send<N extends RequestName>(
    request: RequestOf<N>,
    context: RequestContext | null = CHANNEL,
  ): Promise<ReplyFor<N>> {
    this.sent.set(request.type, (this.sent.get(request.type) ?? 0) + 1);
    const reply = await this.call(encodeMessage(request as HsmdRequest), context);
    const error = signerErrorOf(reply);
    if (error) {
      throw new AssertionError({
        message: `${request.type}: SignerError ${error.code}: ${error.message}`,
      });
    }
    return decodeReplyTo(request.type as N, reply);
  }

  /** Send a request (or a raw body) that must fail; the decoded SignerError. */
  async fail(
    request: HsmdRequest | Uint8Array,
    context: RequestContext | null = CHANNEL,
  ): Promise<SignerErrorInfo> {
    const body = request instanceof Uint8Array ? request : encodeMessage(request);
    const reply = await this.call(body, context);
    const error = signerErrorOf(reply);
    if (!error) {
      throw new AssertionError({
        message: `expected a SignerError, got type ${reply[0] * 256 + reply[1]}`,
      });
    }
    return error;
  }

  // -------------------------------------------------------------------------------------------
  // Init and open

  /** CLN's `init` on regtest with wire versions `min..max` (CLN today: 5..6). */
  init(o: { min?: number; max?: number } = {}): Promise<ReplyFor<"init">> {
    return this.send(initMessage(o), ROOT);
  }

  /** `setup_channel` as openingd sends it for our setup. */
  setupMessage(): RequestOf<"setup_channel"> {
    const s = this.setup;
    const cp = s.counterparty;
    return {
      type: "setup_channel",
      is_outbound: s.isOutbound,
      channel_value: s.channelValueSat,
      push_value: s.pushMsat,
      funding_txid: fromHex(s.fundingOutpoint.txid),
      funding_txout: s.fundingOutpoint.vout,
      local_to_self_delay: s.holderSelectedContestDelay,
      local_shutdown_script: fromHex(s.holderShutdownScript),
      local_shutdown_wallet_index: s.holderShutdownWalletIndex,
      remote_basepoints: {
        revocation: fromHex(cp.revocationBasepoint),
        payment: fromHex(cp.paymentBasepoint),
        htlc: fromHex(cp.htlcBasepoint),
        delayed_payment: fromHex(cp.delayedPaymentBasepoint),
      },
      remote_funding_pubkey: fromHex(cp.fundingPubkey),
      remote_to_self_delay: s.counterpartySelectedContestDelay,
      remote_shutdown_script: fromHex(s.counterpartyShutdownScript),
      channel_type: this.anchors
        ? CHANNEL_TYPES.anchors_zero_fee_htlc
        : CHANNEL_TYPES.static_remotekey,
    };
  }

  /**
   * openingd's sequence (we open): new_channel and get_channel_basepoints from lightningd, our
   * points 0 and 1, setup_channel, then commitments 0 both ways with CLN's feerate 0.
   */
  async open(): Promise<void> {
    await this.send({ type: "new_channel", id: PEER_ID, dbid: 1n }, ROOT);
    const bp = await this.send({ type: "get_channel_basepoints", peerid: PEER_ID, dbid: 1n }, ROOT);
    const k = this.us.keys;
    deepStrictEqual(bp, {
      type: "get_channel_basepoints_reply",
      basepoints: {
        revocation: k.basepoints.revocation,
        payment: k.basepoints.payment,
        htlc: k.basepoints.htlc,
        delayed_payment: k.basepoints.delayedPayment,
      },
      funding_pubkey: k.fundingPubkey,
    });
    for (const n of [0n, 1n]) {
      const p = await this.send({ type: "get_per_commitment_point", n });
      deepStrictEqual(p.per_commitment_point, holderPoint(k, Number(n)));
      strictEqual(p.old_commitment_secret, null);
    }
    await this.send(this.setupMessage());
    await this.weSign(0, { feerate: 0 });
    await this.peerSigns(0, { feerate: 0 });
  }

  // -------------------------------------------------------------------------------------------
  // Commitments as each node builds them

  /** The values and untrimmed HTLCs of `broadcaster`'s next commitment. */
  commitmentInfo(broadcaster: "us" | "peer", n: number): CommitmentInfo {
    const dust = 546n;
    const ours = broadcaster === "us";
    const htlcs = this.payments
      .map((p) => ({
        offered: p.fromUs === ours,
        amountMsat: p.amountMsat,
        paymentHash: toHex(p.hash),
        cltvExpiry: p.cltv,
      }))
      .filter((h) =>
        !isHtlcTrimmed(h, { feeratePerKw: FEERATE, dustLimitSatoshis: dust, anchors: this.anchors })
      );
    const fee = commitmentFee(FEERATE, { numUntrimmedHtlcs: htlcs.length, anchors: this.anchors }) +
      (this.anchors ? 660n : 0n);
    const keep = (v: bigint) => (v >= dust ? v : 0n);
    const opener = keep(this.openerMsat / 1000n - fee);
    const acceptor = keep(this.acceptorMsat / 1000n);
    const keys = ours ? this.us.keys : this.peer.keys;
    return {
      number: n,
      perCommitmentPoint: toHex(holderPoint(keys, n)),
      feeratePerKw: FEERATE,
      toBroadcasterSat: ours ? opener : acceptor,
      toCountersignatorySat: ours ? acceptor : opener,
      htlcs,
    };
  }

  /** The HTLCs of a commitment as CLN lists them (side 0 = offered by us). */
  wireHtlcs(info: CommitmentInfo, broadcaster: "us" | "peer"): WireHtlc[] {
    return info.htlcs.map((h) => ({
      side: (h.offered === (broadcaster === "us") ? 0 : 1) as 0 | 1,
      amount_msat: h.amountMsat,
      payment_hash: fromHex(h.paymentHash),
      cltv_expiry: h.cltvExpiry,
    }));
  }

  /** `broadcaster`'s commitment for `info`, as its node builds it. */
  rebuild(broadcaster: "us" | "peer", info: CommitmentInfo): RebuiltCommitment {
    const side = broadcaster === "us" ? this.us : this.peer;
    return rebuildCommitment("holder", { setup: readySetup(side.state), keys: side.keys, info });
  }

  /**
   * The `ctx` of a commitment as CLN sends it: the funding input with its witness UTXO and 2-of-2
   * script (and, when given, the peer's partial signature), a witness script on every P2WSH output.
   */
  commitmentCtx(c: RebuiltCommitment, peerSig?: { pubkey: Uint8Array; sig: Uint8Array }): Ctx {
    const psbt = createPsbt(copyTx(c.tx));
    psbt.inputs[0].witnessUtxo = {
      amount: c.fundingSatoshis,
      script: p2wsh(c.fundingWitnessScript),
    };
    psbt.inputs[0].witnessScript = c.fundingWitnessScript.slice();
    if (peerSig) {
      psbt.inputs[0].partialSigs = [{
        pubkey: peerSig.pubkey,
        signature: partialSig(peerSig.sig, SIGHASH.ALL),
      }];
    }
    c.outputs.forEach((o, i) => {
      if (o.witnessScript) psbt.outputs[i].witnessScript = o.witnessScript.slice();
    });
    return { tx: copyTx(c.tx), psbt };
  }

  /** The `ctx` of an HTLC transaction (one input with its witness UTXO, the output's script). */
  htlcCtx(h: CommitmentHtlcTransaction): Ctx {
    const psbt = createPsbt(copyTx(h.tx));
    psbt.inputs[0].witnessUtxo = { amount: h.inputAmountSat, script: p2wsh(h.htlcWitnessScript) };
    psbt.inputs[0].witnessScript = h.htlcWitnessScript.slice();
    psbt.outputs[0].witnessScript = h.outputWitnessScript.slice();
    return { tx: copyTx(h.tx), psbt };
  }

  /** channeld's `sign_remote_commitment_tx` for the peer's commitment `n`. */
  signRemoteMessage(
    n: number,
    o: { feerate?: number } = {},
  ): RequestOf<"sign_remote_commitment_tx"> {
    const info = this.commitmentInfo("peer", n);
    return {
      type: "sign_remote_commitment_tx",
      tx: this.commitmentCtx(this.rebuild("peer", info)),
      remote_funding_key: this.peer.keys.fundingPubkey,
      remote_per_commit: holderPoint(this.peer.keys, n),
      option_static_remotekey: true,
      commit_num: BigInt(n),
      htlcs: this.wireHtlcs(info, "peer"),
      feerate: o.feerate ?? FEERATE,
    };
  }

  /**
   * We sign the peer's commitment `n` (19) and each of its HTLC transactions (20); the peer
   * validates them all as its own holder commitment: every signature must verify.
   */
  async weSign(n: number, o: { feerate?: number } = {}): Promise<void> {
    const info = this.commitmentInfo("peer", n);
    const c = this.rebuild("peer", info);
    const reply = await this.send(this.signRemoteMessage(n, o));
    strictEqual(reply.sig.sighash, SIGHASH.ALL);
    const htlcSigs: Uint8Array[] = [];
    const type = this.anchors ? SIGHASH.SINGLE_ANYONECANPAY : SIGHASH.ALL;
    for (const h of c.htlcTxs) {
      const r = await this.send({
        type: "sign_remote_htlc_tx",
        tx: this.htlcCtx(h),
        wscript: h.htlcWitnessScript,
        remote_per_commit_point: holderPoint(this.peer.keys, n),
        option_anchor_outputs: this.anchors,
      });
      strictEqual(r.sig.sighash, type, "HTLC signature sighash");
      htlcSigs.push(r.sig.signature);
    }
    this.peerValidates(info, reply.sig.signature, htlcSigs);
  }

  /** The peer validates our signatures on its commitment `info` (they must verify). */
  peerValidates(info: CommitmentInfo, sig: Uint8Array, htlcSigs: Uint8Array[]): void {
    const validated = validateHolderCommitment(ctxOf(this.peer), {
      number: info.number,
      feeratePerKw: info.feeratePerKw,
      htlcs: info.htlcs.map((h) => ({ ...h, paymentHash: fromHex(h.paymentHash) })),
      values: {
        toBroadcasterSat: info.toBroadcasterSat,
        toCountersignatorySat: info.toCountersignatorySat,
      },
      counterpartySig: sig,
      counterpartyHtlcSigs: htlcSigs,
    });
    strictEqual(validated.facts.commitment.counterparty_sig_valid, true, "our signature");
    strictEqual(validated.facts.commitment.htlc_sigs_valid, true, "our HTLC signatures");
    this.peer.state = validated.next;
    this.theirs.set(info.number, info);
  }

  /** The peer signs our commitment `n` for `point` (the point our signer handed out). */
  peerSignature(
    n: number,
    point: Uint8Array,
  ): { info: CommitmentInfo; sig: Uint8Array; htlcSigs: Uint8Array[]; htlcSighash: number } {
    const info = this.commitmentInfo("us", n);
    deepStrictEqual(toHex(point), info.perCommitmentPoint);
    const signed = signCounterpartyCommitment(ctxOf(this.peer), {
      number: n,
      feeratePerKw: FEERATE,
      htlcs: info.htlcs.map((h) => ({ ...h, paymentHash: fromHex(h.paymentHash) })),
      values: {
        toBroadcasterSat: info.toBroadcasterSat,
        toCountersignatorySat: info.toCountersignatorySat,
      },
      perCommitmentPoint: point,
    });
    this.peer.state = signed.next;
    const sigs = signed.release();
    return {
      info,
      sig: sigs.signature,
      htlcSigs: sigs.htlcSignatures,
      htlcSighash: sigs.htlcSighashType,
    };
  }

  /**
   * The peer signs our commitment `n` for the point our signer hands out (18), and channeld asks
   * us to validate it (35). Returns the reply (with the old secret before version 5).
   */
  async peerSigns(
    n: number,
    o: { feerate?: number } = {},
  ): Promise<ReplyFor<"validate_commitment_tx">> {
    const point = (await this.send({ type: "get_per_commitment_point", n: BigInt(n) }))
      .per_commitment_point;
    const { info, sig, htlcSigs, htlcSighash } = this.peerSignature(n, point);
    const c = this.rebuild("us", info);
    const reply = await this.send({
      type: "validate_commitment_tx",
      tx: this.commitmentCtx(
        c,
        n > 0 ? { pubkey: this.peer.keys.fundingPubkey, sig } : undefined,
      ),
      htlcs: this.wireHtlcs(info, "us"),
      commit_num: BigInt(n),
      feerate: o.feerate ?? FEERATE,
      sig: { signature: sig, sighash: SIGHASH.ALL },
      htlc_sigs: htlcSigs.map((s) => ({ signature: s, sighash: htlcSighash })),
    });
    deepStrictEqual(reply.next_per_commitment_point, holderPoint(this.us.keys, n + 1));
    if (reply.old_commitment_secret !== null) {
      this.released.set(n - 1, reply.old_commitment_secret.expose().slice());
    }
    this.ours.set(n, info);
    return reply;
  }

  /**
   * We revoke our commitment `n` (40 from version 5; before, validate_commitment_tx already
   * released it) and the peer checks the secret.
   */
  async weRevoke(n: number): Promise<void> {
    let secret = this.released.get(n);
    if (this.version >= 5) {
      const r = await this.send({ type: "revoke_commitment_tx", commit_num: BigInt(n) });
      deepStrictEqual(r.next_per_commitment_point, holderPoint(this.us.keys, n + 2));
      secret = r.old_commitment_secret.expose().slice();
      this.released.set(n, secret);
    }
    if (secret === undefined) throw new AssertionError({ message: `secret ${n} was not released` });
    deepStrictEqual(toHex(secret), toHex(holderSecret(this.us.keys, n)));
    const checked = validateCounterpartyRevocation(ctxOf(this.peer), { number: n, secret });
    strictEqual(checked.facts.revocation.secret_chains, true);
    strictEqual(checked.facts.revocation.point_matches, true);
    this.peer.state = checked.next;
  }

  /** The peer revokes its commitment `n`; channeld hands us the secret (36). */
  async peerRevokes(n: number): Promise<void> {
    const out = revokeHolderCommitment(ctxOf(this.peer), n);
    this.peer.state = out.next;
    const { secret } = out.release();
    await this.send({
      type: "validate_revocation",
      revoke_num: BigInt(n),
      per_commitment_secret: new SecretBytes(secret),
    });
  }

  /** One update started by `from`: commitments `n` both ways, revocations of `n - 1`. */
  async update(from: "us" | "peer", n: number): Promise<void> {
    if (from === "us") {
      await this.weSign(n);
      await this.peerRevokes(n - 1);
      await this.peerSigns(n);
      await this.weRevoke(n - 1);
    } else {
      await this.peerSigns(n);
      await this.weRevoke(n - 1);
      await this.weSign(n);
      await this.peerRevokes(n - 1);
    }
  }

  /** `from` adds a payment, locked in with commitments `n` (ours preapproved first, as CLN does). */
  async pay(from: "us" | "peer", n: number, p: Omit<Payment, "fromUs">): Promise<Payment> {
    const payment = { fromUs: from === "us", ...p };
    if (from === "us") {
      const approved = await this.send({
        type: "preapprove_invoice",
        invstring: invoiceFor(p.hash, p.amountMsat, PAYEE_SECRET),
      }, ROOT);
      strictEqual(approved.approved, true, "our payment is preapproved");
      this.openerMsat -= p.amountMsat;
    } else {
      this.acceptorMsat -= p.amountMsat;
    }
    this.payments.push(payment);
    await this.update(from, n);
    return payment;
  }

  /** The receiver of `payment` settles it, with commitments `n`. */
  async settle(payment: Payment, n: number): Promise<void> {
    this.payments = this.payments.filter((p) => p !== payment);
    if (payment.fromUs) this.acceptorMsat += payment.amountMsat;
    else this.openerMsat += payment.amountMsat;
    await this.update(payment.fromUs ? "peer" : "us", n);
  }

  // -------------------------------------------------------------------------------------------
  // Closes

  /** The closing transaction the peer's node proposes: we pay the 1000-sat fee to wallet key 3. */
  closingCtx(): { ctx: Ctx; tx: Tx } {
    const s = this.setup;
    const tx = assembleClosingTx({
      fundingOutpoint: { txid: fromHex(s.fundingOutpoint.txid), vout: s.fundingOutpoint.vout },
      fundingSatoshis: s.channelValueSat,
      holderFundingPubkey: this.peer.keys.fundingPubkey,
      counterpartyFundingPubkey: this.us.keys.fundingPubkey,
      toHolderSat: this.acceptorMsat / 1000n,
      toCounterpartySat: this.openerMsat / 1000n - 1000n,
      holderScript: PEER_SCRIPT,
      counterpartyScript: walletScript(3),
    }).tx;
    const psbt: Psbt = createPsbt(copyTx(tx));
    psbt.inputs[0].witnessUtxo = {
      amount: s.channelValueSat,
      script: p2wsh(this.fundingScript()),
    };
    psbt.inputs[0].witnessScript = this.fundingScript();
    tx.outputs.forEach((out, i) => {
      if (toHex(out.script) === toHex(walletScript(3))) {
        psbt.outputs[i].bip32Derivation = [{
          pubkey: US_NODE.walletPubkey(3),
          fingerprint: US_NODE.accountKey().fingerprint,
          path: [3],
        }];
      }
    });
    return { ctx: { tx: copyTx(tx), psbt }, tx };
  }

  /** The channel's 2-of-2 funding script. */
  fundingScript(): Uint8Array {
    return this.rebuild("us", this.commitmentInfo("us", 0)).fundingWitnessScript;
  }

  /** Whether `sig` (SIGHASH_ALL) is our funding key's signature of input 0 of `tx`. */
  verifiesFundingSig(tx: Tx, sig: Uint8Array): boolean {
    const digest = sighashSegwitV0(tx, 0, {
      scriptCode: this.fundingScript(),
      amount: this.setup.channelValueSat,
      sighashType: SIGHASH.ALL,
    });
    return ecdsaVerify(sig, digest, this.us.keys.fundingPubkey);
  }
}

/** A deep copy of a transaction without witnesses. */
export function copyTx(tx: Tx): Tx {
  return {
    version: tx.version,
    locktime: tx.locktime,
    inputs: tx.inputs.map((i) => ({
      ...i,
      txid: i.txid.slice(),
      scriptSig: i.scriptSig.slice(),
      witness: [],
    })),
    outputs: tx.outputs.map((o) => ({ amount: o.amount, script: o.script.slice() })),
  };
}

/** Every decision of the audit was allowed with no violation or warning. */
export function assertAllAllowed(audit: AuditEntry<Decision>[]): void {
  const bad = audit.filter((a) =>
    !a.decision.allowed || a.decision.violations.length > 0 || a.decision.warnings.length > 0
  ).map((a) =>
    `${a.kind}: ${[...a.decision.violations, ...a.decision.warnings].map((v) => v.rule)}`
  );
  deepStrictEqual(bad, []);
}
