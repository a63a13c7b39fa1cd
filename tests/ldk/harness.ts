/**
 * A harness running two (or more) real LDK nodes in one Deno process over a simulated chain and
 * an in-memory network, with helpers for the flows a signer must survive: open, pay, cooperative
 * close, force close (either side), anchors, breach (revoked commitment) and signer refusals.
 *
 * ```ts
 * const h = await Harness.create();            // nodes "A" and "B", wallets funded, connected
 * const ch = h.openChannel({ from: "A", to: "B", valueSat: 1_000_000n });
 * h.pay({ from: "A", to: "B", amountMsat: 50_000_000n });
 * h.cooperativeClose({ by: "A", channelId: ch.channelId });
 * ```
 *
 * Node A's signer is reachable through `h.tap("A")` (a {@link SignerTap}): replace its
 * `factory` (before the first channel) or set its `hook`.
 *
 * @module
 */
import * as ldk from "lightningdevkit";
import { equal, fromHex, reverse, toHex } from "../../core/bytes.ts";
import { decodeTx, type Tx } from "../../core/bitcoin/tx.ts";
import { type Block, SimChain, type SimChainOptions } from "./chain.ts";
import type { HarnessEvent, RecordedEvent } from "./events.ts";
import { MemoryNetwork } from "./net.ts";
import { apiError, type ChannelInfo, LdkNode, type LogOptions, type NodeOptions } from "./node.ts";
import type { PlainCommitmentTx } from "./plain.ts";
import type { SignerTap } from "./signer_hooks.ts";
import { loadLdk } from "./wasm.ts";

/**
 * `send_payment` of an invoice's payment parameters with no retries (payment id = payment hash).
 * Returns null when LDK took it, else the name of its `RetryableSendFailure`.
 */
export function sendInvoicePayment(
  from: LdkNode,
  params: ldk.ThreeTuple_ThirtyTwoBytesRecipientOnionFieldsRouteParametersZ,
): string | null {
  const hash = params.get_a();
  const sent = from.chanMan.send_payment(
    hash,
    params.get_b(),
    hash,
    params.get_c(),
    ldk.Retry.constructor_attempts(0),
  );
  if (sent.is_ok()) return null;
  const err = (sent as { err?: number }).err;
  return typeof err === "number"
    ? (ldk.RetryableSendFailure[err] ?? String(err)).replace("LDKRetryableSendFailure_", "")
    : "error";
}

/** A harness operation failed or did not reach the expected state. */
export class HarnessError extends Error {
  /**
   * Creates the error.
   * @param message what failed, with the state that explains it (never key material)
   */
  constructor(message: string) {
    super(message);
    this.name = "HarnessError";
  }
}

/** Options of {@link Harness.create}. */
export interface HarnessOptions {
  /** Nodes to build: names or full options (default ["A", "B"]). */
  nodes?: (string | NodeOptions)[];
  /** Chain options. */
  chain?: SimChainOptions;
  /** Wallet funding per node: number of coinbase outputs and value of each (default 4 x 0.05 BTC). */
  fund?: { count?: number; valueSat?: bigint };
  /** Connect every pair of nodes (default true). */
  connect?: boolean;
  /** Logger options for nodes that do not set their own (default: muted, level debug). */
  log?: LogOptions;
  /** Maximum rounds of one {@link Harness.pump} (default 10000). */
  maxPumpRounds?: number;
}

/** A node given by name or object. */
export type NodeRef = string | LdkNode;

/** Options of {@link Harness.openChannel}. */
export interface OpenChannelOptions {
  /** Opener. */
  from: NodeRef;
  /** Acceptor. */
  to: NodeRef;
  /** Channel value in satoshi. */
  valueSat: bigint;
  /** Amount pushed to the acceptor at open, msat (default 0). */
  pushMsat?: bigint;
  /** Anchor outputs channel (default: the opener's config, true unless configured off). */
  anchors?: boolean;
  /** Announced channel (default false). */
  announce?: boolean;
  /** Mine to the minimum depth and wait for ChannelReady on both sides (default true). */
  confirm?: boolean;
}

/** An opened channel. */
export interface OpenedChannel {
  /** Channel id, hex. */
  channelId: string;
  /** Funding outpoint (display txid). */
  funding: { txid: string; vout: number };
  /** Opener and acceptor names. */
  from: string;
  /** Acceptor name. */
  to: string;
  /** Channel value. */
  valueSat: bigint;
  /** Anchor outputs channel. */
  anchors: boolean;
}

/** Options of {@link Harness.pay}. */
export interface PayOptions {
  /** Payer. */
  from: NodeRef;
  /** Payee (creates the invoice). */
  to: NodeRef;
  /** Amount in msat. */
  amountMsat: bigint;
  /** Payee does not claim (the HTLC stays pending; see LdkNode.claimHeld). Default false. */
  hold?: boolean;
}

/** Outcome of a payment. */
export interface PaymentResult {
  /** Payment hash, hex (also the payment id). */
  paymentHash: string;
  /**
   * "succeeded": PaymentSent at the payer and PaymentClaimed at the payee; "failed": PaymentFailed
   * (or send_payment refused); "held": claimable at the payee but held; "pending": neither yet
   * (e.g. the signer refused or deferred a call).
   */
  status: "succeeded" | "failed" | "held" | "pending";
  /** Routing fee paid (0 over a direct channel), when known. */
  feePaidMsat: bigint | null;
  /** Failure reason, when failed. */
  reason: string | null;
}

/** Outcome of a cooperative close. */
export interface CloseResult {
  /** Closing transaction id. */
  closingTxid: string;
  /** The closing transaction. */
  tx: Tx;
  /** Fee paid by the closing transaction (funding value - outputs). */
  feeSat: bigint;
  /** Closing output value per node name (0n if the node has no output). */
  outputs: Record<string, bigint>;
}

/** Balances of one node. */
export interface NodeBalances {
  /** Spendable wallet outputs (confirmed, not spent in the mempool). */
  walletSat: bigint;
  /**
   * Confirmed unspent outputs paying the node's wallet or payout scripts (shutdown and
   * destination scripts of its signer backend).
   */
  onchainSat: bigint;
  /** Sum of open channels' outbound capacity, msat. */
  channelOutboundMsat: bigint;
  /** Sum of the monitors' claimable balances, satoshi. */
  claimableSat: bigint;
}

/** A commitment transaction a node held (could broadcast), from its signer tap. */
export interface HeldCommitment extends PlainCommitmentTx {
  /** The funding outpoint it spends. */
  funding: { txid: string; vout: number };
}

function outpointOf(tx: Tx, index: number): { txid: string; vout: number } {
  const i = tx.inputs[index];
  return { txid: toHex(reverse(i.txid)), vout: i.vout };
}

/** The harness. */
export class Harness {
  /** The simulated chain. */
  readonly chain: SimChain;
  /** The in-memory network. */
  readonly net: MemoryNetwork;
  /** The nodes by name, in creation order. */
  readonly nodes: Map<string, LdkNode> = new Map();
  #maxRounds: number;
  #channels = new Map<string, OpenedChannel>();

  private constructor(chain: SimChain, maxRounds: number) {
    this.chain = chain;
    this.net = new MemoryNetwork();
    this.#maxRounds = maxRounds;
    chain.onBlock((b) => {
      for (const n of this.nodes.values()) n.connectBlock(b);
    });
  }

  /**
   * Load the wasm (once per process), build the chain and the nodes, fund every wallet (mined in
   * one block) and connect every pair of nodes.
   */
  static async create(options: HarnessOptions = {}): Promise<Harness> {
    await loadLdk();
    const h = new Harness(new SimChain(options.chain), options.maxPumpRounds ?? 10000);
    for (const spec of options.nodes ?? ["A", "B"]) {
      const o: NodeOptions = typeof spec === "string" ? { name: spec } : { ...spec };
      if (!o.log && options.log) o.log = options.log;
      if (h.nodes.has(o.name)) throw new HarnessError(`duplicate node name ${o.name}`);
      h.nodes.set(o.name, new LdkNode(h.chain, o));
    }
    const count = options.fund?.count ?? 4;
    const value = options.fund?.valueSat ?? 5_000_000n;
    for (const n of h.nodes.values()) for (let i = 0; i < count; i++) n.wallet.fund(value);
    h.mine(1);
    if (options.connect ?? true) {
      const list = [...h.nodes.values()];
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) h.connect(list[i], list[j]);
      }
    }
    return h;
  }

  /** A node by name (or the node itself). */
  node(ref: NodeRef): LdkNode {
    if (ref instanceof LdkNode) return ref;
    const n = this.nodes.get(ref);
    if (!n) throw new HarnessError(`no node named ${ref}`);
    return n;
  }

  /** The signer tap of a node (throws if the node hands KeysManager to LDK directly). */
  tap(ref: NodeRef): SignerTap {
    const n = this.node(ref);
    if (!n.tap) throw new HarnessError(`${n.name} has no signer tap`);
    return n.tap;
  }

  /** Connect two nodes (a outbound) and complete the handshake. */
  connect(a: NodeRef, b: NodeRef): void {
    const na = this.node(a);
    const nb = this.node(b);
    this.net.connect(
      { name: na.name, peerManager: na.peerManager, nodeId: na.nodeId },
      { name: nb.name, peerManager: nb.peerManager, nodeId: nb.nodeId },
    );
    this.pump();
  }

  /**
   * Deliver messages and process events on every node until nothing moves. Returns the number of
   * rounds that did something. Throws {@link HarnessError} if it never settles.
   */
  pump(): number {
    let busy = 0;
    for (let round = 0;; round++) {
      if (round >= this.#maxRounds) {
        throw new HarnessError(`pump did not settle in ${round} rounds`);
      }
      let progress = 0;
      // Events first: a node's own reaction (e.g. broadcasting its commitment through the
      // BumpTransaction handler after a force close) happens before its messages reach peers.
      for (const n of this.nodes.values()) progress += n.processEvents();
      for (const n of this.nodes.values()) n.peerManager.process_events();
      progress += this.net.deliver();
      if (progress === 0 && !this.net.hasQueued()) return busy;
      busy++;
    }
  }

  /** Mine `n` blocks with the mempool, pumping after each block. */
  mine(n = 1): Block[] {
    const out: Block[] = [];
    for (let i = 0; i < n; i++) {
      out.push(...this.chain.mine(1));
      this.pump();
    }
    return out;
  }

  /** Mine until `done()` holds (checked after each block), at most `max` blocks. */
  mineUntil(done: () => boolean, max: number): number {
    for (let i = 0; i < max; i++) {
      if (done()) return i;
      this.mine(1);
    }
    if (done()) return max;
    throw new HarnessError(`condition not reached after mining ${max} blocks`);
  }

  /** Events of a node, optionally of one kind, optionally from index `options.since`. */
  events<K extends HarnessEvent["kind"]>(
    ref: NodeRef,
    kind?: K,
    options: { since?: number } = {},
  ): (RecordedEvent & { kind: K })[] {
    const all = this.node(ref).events.slice(options.since ?? 0);
    return all.filter((e) => kind === undefined || e.kind === kind) as (
      & RecordedEvent
      & { kind: K }
    )[];
  }

  #issues(): string {
    const parts: string[] = [];
    for (const n of this.nodes.values()) {
      for (const i of n.issues) parts.push(`${n.name}: ${i.context}: ${i.detail}`);
      const pending = n.tap?.pending() ?? [];
      if (pending.length) parts.push(`${n.name}: ${pending.length} signer call(s) pending`);
    }
    return parts.length ? ` (${parts.join("; ")})` : "";
  }

  /**
   * Open a channel: create_channel, funding from the opener's wallet, and (unless `confirm` is
   * false) mining to the minimum depth until both sides emitted ChannelReady.
   */
  openChannel(options: OpenChannelOptions): OpenedChannel {
    const from = this.node(options.from);
    const to = this.node(options.to);
    const mark = from.events.length;
    const r = from.chanMan.create_channel(
      to.nodeId,
      options.valueSat,
      options.pushMsat ?? 0n,
      from.nextUserChannelId(),
      null,
      from.channelConfig({ anchors: options.anchors, announce: options.announce }),
    );
    if (!(r instanceof ldk.Result_ChannelIdAPIErrorZ_OK)) {
      throw new HarnessError(`create_channel failed: ${apiError(r)}`);
    }
    const temp = toHex(r.res.get_a());
    this.pump();
    const pending = this.events(from, "ChannelPending", { since: mark }).find((e) =>
      e.formerTemporaryChannelId === temp
    );
    if (!pending) {
      throw new HarnessError(`channel ${temp} did not reach ChannelPending${this.#issues()}`);
    }
    const channelId = pending.channelId;
    const info = from.channels().find((c) => c.channelId === channelId);
    const opened: OpenedChannel = {
      channelId,
      funding: { txid: pending.fundingTxid, vout: pending.fundingVout },
      from: from.name,
      to: to.name,
      valueSat: options.valueSat,
      anchors: info?.anchors ?? false,
    };
    this.#channels.set(channelId, opened);
    if (options.confirm === false) return opened;
    const ready = (n: LdkNode) =>
      n.events.some((e) => e.kind === "ChannelReady" && e.channelId === channelId);
    try {
      this.mineUntil(() => ready(from) && ready(to), 20);
    } catch {
      throw new HarnessError(`channel ${channelId} did not become ready${this.#issues()}`);
    }
    return opened;
  }

  /** A channel opened through this harness. */
  channel(channelId: string): OpenedChannel {
    const c = this.#channels.get(channelId);
    if (!c) throw new HarnessError(`unknown channel ${channelId}`);
    return c;
  }

  /**
   * Pay over the direct channel with a BOLT 11 invoice of the payee
   * (`create_invoice_from_channelmanager` + `payment_parameters_from_invoice` + `send_payment`,
   * no retries), pumping until quiescent.
   */
  pay(options: PayOptions): PaymentResult {
    const from = this.node(options.from);
    const to = this.node(options.to);
    const inv = ldk.UtilMethods.constructor_create_invoice_from_channelmanager(
      to.chanMan,
      ldk.Option_u64Z.constructor_some(options.amountMsat),
      "warden ldk harness",
      3600,
      ldk.Option_u16Z.constructor_none(),
    );
    if (!(inv instanceof ldk.Result_Bolt11InvoiceSignOrCreationErrorZ_OK)) {
      throw new HarnessError("invoice creation failed");
    }
    const params = ldk.UtilMethods.constructor_payment_parameters_from_invoice(inv.res);
    if (
      !(params instanceof
        ldk.Result_C3Tuple_ThirtyTwoBytesRecipientOnionFieldsRouteParametersZNoneZ_OK)
    ) {
      throw new HarnessError("payment parameters from invoice failed");
    }
    const hash = params.res.get_a();
    const hashHex = toHex(hash);
    if (options.hold) to.hold.add(hashHex);
    const payerMark = from.events.length;
    const payeeMark = to.events.length;
    const reason = sendInvoicePayment(from, params.res);
    if (reason !== null) {
      return { paymentHash: hashHex, status: "failed", feePaidMsat: null, reason };
    }
    this.pump();
    return this.paymentStatus({ from, to, paymentHash: hashHex, since: [payerMark, payeeMark] });
  }

  /**
   * Status of a payment from the events (see {@link PaymentResult.status}); `since` limits the
   * search to events after the given indexes of payer and payee.
   */
  paymentStatus(
    options: { from: NodeRef; to: NodeRef; paymentHash: string; since?: [number, number] },
  ): PaymentResult {
    const from = this.node(options.from);
    const to = this.node(options.to);
    const [ps, qs] = options.since ?? [0, 0];
    const h = options.paymentHash;
    const sentEv = this.events(from, "PaymentSent", { since: ps }).find((e) => e.paymentHash === h);
    const failed = this.events(from, "PaymentFailed", { since: ps }).find((e) =>
      e.paymentHash === h
    );
    const claimed = this.events(to, "PaymentClaimed", { since: qs }).some((e) =>
      e.paymentHash === h
    );
    const claimable = this.events(to, "PaymentClaimable", { since: qs }).some((e) =>
      e.paymentHash === h
    );
    if (failed) {
      return { paymentHash: h, status: "failed", feePaidMsat: null, reason: failed.reason };
    }
    if (sentEv && claimed) {
      return { paymentHash: h, status: "succeeded", feePaidMsat: sentEv.feePaidMsat, reason: null };
    }
    if (claimable && to.heldPayments().includes(h)) {
      return { paymentHash: h, status: "held", feePaidMsat: null, reason: null };
    }
    return { paymentHash: h, status: "pending", feePaidMsat: null, reason: null };
  }

  /** `n` payments of the same amount, one after the other; stops at the first that fails. */
  payMany(n: number, options: PayOptions): PaymentResult[] {
    const out: PaymentResult[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.pay(options);
      out.push(r);
      if (r.status !== "succeeded") break;
    }
    return out;
  }

  /** The channel id given, or the only open harness channel of `node`. */
  #channelOf(node: LdkNode, channelId: string | undefined): string {
    if (channelId !== undefined) return channelId;
    const open = new Set(node.channels().map((c) => c.channelId));
    const mine = [...this.#channels.values()].filter((c) =>
      (c.from === node.name || c.to === node.name) && open.has(c.channelId)
    );
    if (mine.length !== 1) {
      throw new HarnessError(`${node.name} has ${mine.length} open channels: give channelId`);
    }
    return mine[0].channelId;
  }

  #counterparty(node: LdkNode, channelId: string): LdkNode {
    const c = this.channel(channelId);
    return this.node(c.from === node.name ? c.to : c.from);
  }

  /**
   * Cooperative close initiated by `by` (of `channelId`, default its only open channel): shutdown / closing_signed negotiation, then the closing
   * transaction is mined (1 block) and returned with its fee and per-node outputs.
   */
  cooperativeClose(options: { by: NodeRef; channelId?: string }): CloseResult {
    const by = this.node(options.by);
    const channelId = this.#channelOf(by, options.channelId);
    const other = this.#counterparty(by, channelId);
    const ch = this.channel(channelId);
    const r = by.chanMan.close_channel(by.channelIdObject(channelId), other.nodeId);
    if (!r.is_ok()) throw new HarnessError(`close_channel failed: ${apiError(r)}`);
    this.pump();
    const spender = this.chain.spenderOf(ch.funding.txid, ch.funding.vout);
    if (!spender) throw new HarnessError(`no closing transaction was broadcast${this.#issues()}`);
    if (spender.height === null) this.mine(1);
    const found = this.chain.transaction(spender.txid);
    if (!found || found.height === null) {
      throw new HarnessError("closing transaction did not confirm");
    }
    const tx = found.chainTx.tx;
    const outSum = tx.outputs.reduce((s, o) => s + o.amount, 0n);
    const outputs: Record<string, bigint> = {};
    for (const n of this.nodes.values()) {
      outputs[n.name] = tx.outputs.filter((o) => this.ownsScript(n, o.script)).reduce(
        (s, o) => s + o.amount,
        0n,
      );
    }
    return { closingTxid: spender.txid, tx, feeSat: ch.valueSat - outSum, outputs };
  }

  /**
   * Force close by `by` (`force_close_broadcasting_latest_txn`), pumping so that the commitment
   * (and, for anchor channels, the CPFP package) reaches the mempool. Nothing is mined. Returns
   * the txid of the transaction that spends the funding output (in the mempool or confirmed).
   */
  forceClose(options: { by: NodeRef; channelId?: string }): { commitmentTxid: string } {
    const by = this.node(options.by);
    const channelId = this.#channelOf(by, options.channelId);
    const other = this.#counterparty(by, channelId);
    const ch = this.channel(channelId);
    const r = by.chanMan.force_close_broadcasting_latest_txn(
      by.channelIdObject(channelId),
      other.nodeId,
      "harness force close",
    );
    if (!r.is_ok()) throw new HarnessError(`force close failed: ${apiError(r)}`);
    this.pump();
    const spender = this.chain.spenderOf(ch.funding.txid, ch.funding.vout);
    if (!spender) {
      throw new HarnessError(`no commitment transaction was broadcast${this.#issues()}`);
    }
    return { commitmentTxid: spender.txid };
  }

  /** Does the script pay this node (wallet, or a payout script its signer backend handed out)? */
  ownsScript(ref: NodeRef, script: Uint8Array): boolean {
    const n = this.node(ref);
    return equal(script, n.wallet.script) || (n.tap?.payoutScripts.has(toHex(script)) ?? false);
  }

  /** Balances of every node. */
  balances(): Record<string, NodeBalances> {
    const out: Record<string, NodeBalances> = {};
    for (const n of this.nodes.values()) {
      out[n.name] = {
        walletSat: n.wallet.balance(),
        onchainSat: this.chain.unspent((u) => this.ownsScript(n, u.script)).reduce(
          (s, u) => s + u.amount,
          0n,
        ),
        channelOutboundMsat: n.channels().reduce((s, c) => s + c.outboundCapacityMsat, 0n),
        claimableSat: n.claimableSat(),
      };
    }
    return out;
  }

  /** The channel as each node sees it (null where the node no longer lists it). */
  channelState(channelId: string): Record<string, ChannelInfo | null> {
    const out: Record<string, ChannelInfo | null> = {};
    for (const n of this.nodes.values()) {
      out[n.name] = n.channels().find((c) => c.channelId === channelId) ?? null;
    }
    return out;
  }

  /**
   * Tell LDK that signer answers may be ready (`ChannelManager.signer_unblocked(None)` and
   * `ChainMonitor.signer_unblocked(None)`) on one node or all, then pump.
   */
  unblockSigners(ref?: NodeRef): void {
    const list = ref === undefined ? [...this.nodes.values()] : [this.node(ref)];
    for (const n of list) n.signerUnblocked();
    this.pump();
  }

  /**
   * Every distinct commitment transaction `ref` held for a channel (captured by its signer tap at
   * `validate_holder_commitment`), oldest first. Old entries are revoked once newer ones were
   * revoked by the holder: confirming one is a breach.
   */
  heldCommitments(ref: NodeRef, channelId: string): HeldCommitment[] {
    const tap = this.tap(ref);
    const ch = this.channel(channelId);
    const seen = new Set<string>();
    const out: HeldCommitment[] = [];
    for (const h of tap.holderCommitments) {
      const c = h.commitment_tx;
      if (seen.has(c.txid)) continue;
      const funding = outpointOf(decodeTx(fromHex(c.tx)), 0);
      if (funding.txid !== ch.funding.txid || funding.vout !== ch.funding.vout) continue;
      seen.add(c.txid);
      out.push({ ...c, funding });
    }
    return out;
  }

  /**
   * Put a raw transaction in the mempool (e.g. an old commitment for a breach test; LDK does not
   * check the witnesses of confirmed transactions) and return the chain's verdict.
   */
  submitTransaction(tx: Uint8Array | string, source = "test"): ReturnType<SimChain["broadcast"]> {
    return this.chain.broadcast(typeof tx === "string" ? fromHex(tx) : tx, source);
  }

  /** Disconnect every connection (the harness holds no timers; this just ends cleanly). */
  close(): void {
    for (const c of this.net.connections()) this.net.disconnect(c);
  }
}
