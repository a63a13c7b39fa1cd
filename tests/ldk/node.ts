/**
 * One real LDK node in-process: KeysManager, FeeEstimator, Logger, in-memory Persist, ChainMonitor,
 * ChannelManager, PeerManager, router, BumpTransactionEventHandler with a JS WalletSource, and a
 * JS SignerProvider (a {@link SignerTap} around a {@link ChannelSignerFactory}).
 *
 * Every JS object handed to LDK is kept reachable from the node (the bindings only hold a
 * `WeakRef`), and every callback body is wrapped in try/catch (an exception escaping into wasm
 * breaks the LDK instance for good).
 *
 * @module
 */
import * as ldk from "lightningdevkit";
import * as rawBindings from "lightningdevkit/bindings.mjs";
import { concat, toHex, utf8 } from "../../core/bytes.ts";
import { sha256 } from "../../core/crypto/mod.ts";
import type { Block, SimChain } from "./chain.ts";
import { convertEvent, type EventAction, type RecordedEvent } from "./events.ts";
import { forgetPtr, ptrOf, txidHex } from "./plain.ts";
import {
  type ChannelSignerFactory,
  keysManagerSignerFactory,
  type SignerHook,
  SignerTap,
  type TrafficLine,
} from "./signer_hooks.ts";
import { SimWallet } from "./wallet.ts";

/** An operation on a node failed (LDK returned an error, bad arguments...). */
export class NodeError extends Error {
  /**
   * Creates the error.
   * @param message what failed (never key material)
   */
  constructor(message: string) {
    super(message);
    this.name = "NodeError";
  }
}

/** LDK log levels, lowest first. */
export const LOG_LEVELS = ["gossip", "trace", "debug", "info", "warn", "error"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** A recorded LDK log line. */
export interface LogLine {
  /** Node name. */
  node: string;
  /** Level. */
  level: LogLevel;
  /** Rust module path. */
  module: string;
  /** The message. */
  text: string;
}

/** Logger options. */
export interface LogOptions {
  /** Lowest level recorded (default "debug"). */
  level?: LogLevel;
  /** Also print recorded lines to the console (default false: tests print nothing). */
  print?: boolean;
  /** Keep at most this many lines (the oldest tenth is dropped when full; default 20000). */
  max?: number;
}

/** Channel configuration of a node (its UserConfig defaults). */
export interface NodeConfigOptions {
  /** Negotiate anchor outputs (zero-fee HTLC) channels when both sides agree (default true). */
  anchors?: boolean;
  /** Announce channels for forwarding (default false). */
  announce?: boolean;
  /** Confirmations this node requires as acceptor (LDK default 6). */
  minDepth?: number;
  /** to_self_delay this node imposes on its peer (LDK default 144, minimum 144). */
  ourToSelfDelay?: number;
  /**
   * Inbound channels go through OpenChannelRequest (default true; LDK requires it for anchor
   * channels). The harness then accepts or rejects per {@link NodeOptions.acceptInbound}.
   */
  manualAccept?: boolean;
}

/** Signer options of a node. */
export interface NodeSignerOptions {
  /** Use the JS SignerProvider tap (default true); false hands KeysManager to LDK directly. */
  js?: boolean;
  /** Backend; default: KeysManager/InMemorySigner (see keysManagerSignerFactory). */
  factory?: (km: ldk.KeysManager) => ChannelSignerFactory;
  /** Observe/refuse hook. */
  hook?: SignerHook;
  /** Keep traffic lines in memory (default true). */
  record?: boolean;
  /** Traffic callback. */
  onTraffic?: (line: TrafficLine) => void;
}

/** Options of {@link LdkNode}. */
export interface NodeOptions {
  /** Node name ("A", "B", ...). */
  name: string;
  /** 32-byte seed (test material). Default: SHA-256 of the name. */
  seed?: Uint8Array;
  /** Feerate in sat/kW, for every target, or per target (default 253). */
  feerate?: number | ((target: ldk.ConfirmationTarget) => number);
  /** Logger options (muted by default). */
  log?: LogOptions;
  /** Channel configuration. */
  config?: NodeConfigOptions;
  /** Accept inbound channel requests (default true); a function decides per request. */
  acceptInbound?: boolean | ((request: { counterparty: string; fundingSat: bigint }) => boolean);
  /** Signer options. */
  signer?: NodeSignerOptions;
  /** Keep the serialised latest ChannelMonitor per channel (default false: cheaper). */
  storeMonitors?: boolean;
}

/** A channel as the node sees it (plain data from `list_channels`). */
export interface ChannelInfo {
  /** Channel id, hex. */
  channelId: string;
  /** Counterparty node id, hex. */
  counterparty: string;
  /** Funding outpoint (display txid), null before funding. */
  funding: { txid: string; vout: number } | null;
  /** Channel value in satoshi. */
  valueSat: bigint;
  /** What we could send now, msat. */
  outboundCapacityMsat: bigint;
  /** What we could receive now, msat. */
  inboundCapacityMsat: bigint;
  /** We opened it. */
  isOutbound: boolean;
  /** channel_ready exchanged. */
  isReady: boolean;
  /** Ready and peer connected. */
  isUsable: boolean;
  /** Announced channel. */
  isAnnounced: boolean;
  /** Anchor outputs channel. */
  anchors: boolean;
  /** Funding confirmations (null when unknown). */
  confirmations: number | null;
  /** Pending inbound HTLCs. */
  pendingInboundHtlcs: number;
  /** Pending outbound HTLCs. */
  pendingOutboundHtlcs: number;
}

/** Something the node could not do while handling events (recorded; also a test failure cue). */
export interface NodeIssue {
  /** What was being done. */
  context: string;
  /** Description. */
  detail: string;
}

const LEVEL_BY_LDK: Record<number, LogLevel> = {
  [ldk.Level.LDKLevel_Gossip]: "gossip",
  [ldk.Level.LDKLevel_Trace]: "trace",
  [ldk.Level.LDKLevel_Debug]: "debug",
  [ldk.Level.LDKLevel_Info]: "info",
  [ldk.Level.LDKLevel_Warn]: "warn",
  [ldk.Level.LDKLevel_Error]: "error",
};

const raw = rawBindings as unknown as { ChannelMonitor_free(ptr: bigint): void };

/**
 * Free a ChannelMonitor clone handed to a callback right away (gotcha 6: Persist receives a full
 * clone per update; leaving it to the GC makes the wasm heap and run time grow quadratically).
 */
function freeMonitor(m: ldk.ChannelMonitor): void {
  const p = ptrOf(m);
  if (p === 0n) return;
  raw.ChannelMonitor_free(p);
  forgetPtr(m);
}

function buildConfig(o: NodeConfigOptions, overrides: { anchors?: boolean; announce?: boolean }) {
  const cfg = ldk.UserConfig.constructor_default();
  const hs = cfg.get_channel_handshake_config();
  hs.set_negotiate_anchors_zero_fee_htlc_tx(overrides.anchors ?? o.anchors ?? true);
  hs.set_announce_for_forwarding(overrides.announce ?? o.announce ?? false);
  if (o.minDepth !== undefined) hs.set_minimum_depth(o.minDepth);
  if (o.ourToSelfDelay !== undefined) hs.set_our_to_self_delay(o.ourToSelfDelay);
  cfg.set_channel_handshake_config(hs);
  const limits = cfg.get_channel_handshake_limits();
  limits.set_force_announced_channel_preference(false);
  cfg.set_channel_handshake_limits(limits);
  cfg.set_manually_accept_inbound_channels(o.manualAccept ?? true);
  return cfg;
}

/** A real LDK node on a {@link SimChain}. */
export class LdkNode {
  /** Node name. */
  readonly name: string;
  /** The chain it follows. */
  readonly chain: SimChain;
  /** Its on-chain wallet (funding and fee-bump inputs). */
  readonly wallet: SimWallet;
  /** LDK KeysManager (NodeSigner, EntropySource, and the default channel-key backend). */
  readonly keysManager: ldk.KeysManager;
  /** The signer tap (null when the node uses KeysManager's SignerProvider directly). */
  readonly tap: SignerTap | null;
  /** LDK ChainMonitor. */
  readonly chainMonitor: ldk.ChainMonitor;
  /** LDK ChannelManager. */
  readonly chanMan: ldk.ChannelManager;
  /** LDK PeerManager. */
  readonly peerManager: ldk.PeerManager;
  /** This node's public key. */
  readonly nodeId: Uint8Array;
  /** Every event, in order. */
  readonly events: RecordedEvent[] = [];
  /** Recorded log lines. */
  readonly logs: LogLine[] = [];
  /** Problems met while acting on events. */
  readonly issues: NodeIssue[] = [];
  /** Txids this node broadcast, in order. */
  readonly broadcasts: string[] = [];
  /** Spendable outputs reported by LDK, not yet swept. */
  readonly spendable: ldk.SpendableOutputDescriptor[] = [];
  /** Latest serialised ChannelMonitor per funding outpoint (when `storeMonitors`). */
  readonly monitors = new Map<string, Uint8Array>();
  /** Payment hashes (hex) this node must not claim automatically. */
  readonly hold = new Set<string>();
  /** Preimages of held payments, by payment hash (hex); see {@link claimHeld}. */
  readonly #held = new Map<string, Uint8Array>();
  /** Feerate answered to LDK (sat/kW); may be changed at any time. */
  feerate: number | ((target: ldk.ConfirmationTarget) => number);
  /** Accept inbound channel requests. */
  acceptInbound: boolean | ((request: { counterparty: string; fundingSat: bigint }) => boolean);
  /** Logger options (mutable: e.g. `node.logOptions.print = true` while debugging). */
  logOptions: Required<LogOptions>;
  readonly #config: NodeConfigOptions;
  readonly #fee: ldk.FeeEstimator;
  readonly #broadcaster: ldk.BroadcasterInterface;
  readonly #logger: ldk.Logger;
  readonly #bump: ldk.BumpTransactionEventHandler;
  readonly #handler: ldk.EventHandler;
  readonly #pendingActions: EventAction[] = [];
  readonly #keep: unknown[] = [];
  #eventSeq = 0;
  #userChannelId = 1n;

  /**
   * Builds the node at the chain's current tip.
   * @param chain the simulated chain (blocks are fed by the harness, see {@link connectBlock})
   * @param options name, seed, fees, logging, config, signer
   */
  constructor(chain: SimChain, options: NodeOptions) {
    this.name = options.name;
    this.chain = chain;
    const seed = options.seed ??
      sha256(concat(utf8("warden-ldk-harness-node:"), utf8(options.name)));
    if (seed.length !== 32) throw new NodeError("seed must be 32 bytes");
    this.wallet = new SimWallet(chain, { name: options.name, seed });
    this.feerate = options.feerate ?? 253;
    this.acceptInbound = options.acceptInbound ?? true;
    this.logOptions = {
      level: options.log?.level ?? "debug",
      print: options.log?.print ?? false,
      max: options.log?.max ?? 20000,
    };
    this.#config = options.config ?? {};
    this.monitorsStored = options.storeMonitors ?? false;

    this.#fee = ldk.FeeEstimator.new_impl({
      get_est_sat_per_1000_weight: (target: ldk.ConfirmationTarget): number => {
        try {
          const f = typeof this.feerate === "function" ? this.feerate(target) : this.feerate;
          return Math.max(253, Math.floor(f));
        } catch {
          return 253;
        }
      },
    });
    this.#broadcaster = ldk.BroadcasterInterface.new_impl({
      broadcast_transactions: (txs: Uint8Array[]): void => {
        for (const tx of txs) {
          try {
            const out = chain.broadcast(tx, this.name);
            this.broadcasts.push(out.txid);
          } catch (e) {
            this.#issue("broadcast", e);
          }
        }
      },
    });
    this.#logger = ldk.Logger.new_impl({
      log: (record: ldk.Record): void => {
        try {
          this.#log(record);
        } catch {
          // Logging must never break LDK.
        }
      },
    });
    const persist = ldk.Persist.new_impl({
      persist_new_channel: (outpoint: ldk.OutPoint, monitor: ldk.ChannelMonitor) =>
        this.#persist(outpoint, monitor),
      update_persisted_channel: (
        outpoint: ldk.OutPoint,
        _update: ldk.ChannelMonitorUpdate,
        monitor: ldk.ChannelMonitor,
      ) => this.#persist(outpoint, monitor),
      archive_persisted_channel: (_outpoint: ldk.OutPoint): void => {},
    });
    this.chainMonitor = ldk.ChainMonitor.constructor_new(
      ldk.Option_FilterZ.constructor_none(),
      this.#broadcaster,
      this.#logger,
      this.#fee,
      persist,
    );
    this.keysManager = ldk.KeysManager.constructor_new(seed, BigInt(chain.time), 0);
    const km = this.keysManager;

    const signerOpts = options.signer ?? {};
    this.tap = signerOpts.js === false ? null : new SignerTap({
      node: this.name,
      factory: (signerOpts.factory ?? keysManagerSignerFactory)(km),
      hook: signerOpts.hook,
      record: signerOpts.record,
      onTraffic: signerOpts.onTraffic,
    });
    const provider = this.tap ? this.tap.provider : km.as_SignerProvider();

    const graph = ldk.NetworkGraph.constructor_new(ldk.Network.LDKNetwork_Regtest, this.#logger);
    const scorer = ldk.ProbabilisticScorer.constructor_new(
      ldk.ProbabilisticScoringDecayParameters.constructor_default(),
      graph,
      this.#logger,
    );
    const lockable = ldk.MultiThreadedLockableScore.constructor_new(scorer.as_Score());
    const router = ldk.DefaultRouter.constructor_new(
      graph,
      this.#logger,
      km.as_EntropySource(),
      lockable.as_LockableScore(),
      ldk.ProbabilisticScoringFeeParameters.constructor_default(),
    );
    const msgRouter = ldk.DefaultMessageRouter.constructor_new(graph, km.as_EntropySource());
    const params = ldk.ChainParameters.constructor_new(
      ldk.Network.LDKNetwork_Regtest,
      ldk.BestBlock.constructor_new(chain.tipHashInternal, chain.height),
    );
    this.chanMan = ldk.ChannelManager.constructor_new(
      this.#fee,
      this.chainMonitor.as_Watch(),
      this.#broadcaster,
      router.as_Router(),
      msgRouter.as_MessageRouter(),
      this.#logger,
      km.as_EntropySource(),
      km.as_NodeSigner(),
      provider,
      buildConfig(this.#config, {}),
      params,
      chain.time,
    );
    this.nodeId = this.chanMan.get_our_node_id();
    const ignorer = ldk.IgnoringMessageHandler.constructor_new();
    this.peerManager = ldk.PeerManager.constructor_new(
      this.chanMan.as_ChannelMessageHandler(),
      ignorer.as_RoutingMessageHandler(),
      ignorer.as_OnionMessageHandler(),
      ignorer.as_CustomMessageHandler(),
      chain.time,
      km.as_EntropySource().get_secure_random_bytes(),
      this.#logger,
      km.as_NodeSigner(),
    );
    const walletSource = this.wallet.walletSource();
    const coinSelection = ldk.Wallet.constructor_new(walletSource, this.#logger);
    this.#bump = ldk.BumpTransactionEventHandler.constructor_new(
      this.#broadcaster,
      coinSelection.as_CoinSelectionSource(),
      provider,
      this.#logger,
    );
    this.#handler = ldk.EventHandler.new_impl({
      handle_event: (e: ldk.Event): ldk.Result_NoneReplayEventZ => {
        try {
          const { event, action } = convertEvent(e);
          this.events.push({ ...event, node: this.name, seq: ++this.#eventSeq } as RecordedEvent);
          if (action) this.#pendingActions.push(action);
        } catch (err) {
          this.#issue("event conversion", err);
        }
        return ldk.Result_NoneReplayEventZ.constructor_ok();
      },
    });
    this.#keep.push(
      persist,
      graph,
      scorer,
      lockable,
      router,
      msgRouter,
      ignorer,
      walletSource,
      coinSelection,
      provider,
      this.tap,
    );
  }

  /** Node id as hex. */
  get nodeIdHex(): string {
    return toHex(this.nodeId);
  }

  #issue(context: string, e: unknown): void {
    this.issues.push({
      context,
      detail: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
    });
  }

  #log(record: ldk.Record): void {
    const level = LEVEL_BY_LDK[record.get_level()] ?? "error";
    if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(this.logOptions.level)) return;
    const line: LogLine = {
      node: this.name,
      level,
      module: record.get_module_path(),
      text: record.get_args(),
    };
    this.logs.push(line);
    if (this.logs.length > this.logOptions.max) {
      // Drop the oldest tenth at once (amortised O(1) per line).
      this.logs.splice(0, this.logs.length - Math.floor(this.logOptions.max * 0.9));
    }
    if (this.logOptions.print) console.log(`[${this.name} ${level}] ${line.module}: ${line.text}`);
  }

  #persist(outpoint: ldk.OutPoint, monitor: ldk.ChannelMonitor): ldk.ChannelMonitorUpdateStatus {
    try {
      if (this.monitorsStored) {
        const o = outpoint;
        this.monitors.set(`${txidHex(o.get_txid())}:${o.get_index()}`, monitor.write());
      }
    } catch (e) {
      this.#issue("persist", e);
    } finally {
      try {
        freeMonitor(monitor);
      } catch (e) {
        this.#issue("free monitor", e);
      }
    }
    return ldk.ChannelMonitorUpdateStatus.LDKChannelMonitorUpdateStatus_Completed;
  }

  /** Keep serialised monitors (set from {@link NodeOptions.storeMonitors}). */
  monitorsStored = false;

  /** Feed a block to the ChainMonitor and the ChannelManager (Confirm interface). */
  connectBlock(block: Block): void {
    for (const confirm of [this.chainMonitor.as_Confirm(), this.chanMan.as_Confirm()]) {
      if (block.txs.length > 0) {
        const txdata = block.txs.map((t, i) =>
          ldk.TwoTuple_usizeTransactionZ.constructor_new(i, t.bytes)
        );
        confirm.transactions_confirmed(block.header, txdata, block.height);
      }
      confirm.best_block_updated(block.header, block.height);
    }
  }

  /**
   * Process pending LDK events (ChannelManager, then ChainMonitor) and act on them. Returns how
   * many events were handled.
   */
  processEvents(): number {
    const before = this.events.length;
    this.chanMan.as_EventsProvider().process_pending_events(this.#handler);
    this.chainMonitor.as_EventsProvider().process_pending_events(this.#handler);
    const actions = this.#pendingActions.splice(0);
    for (const a of actions) this.#act(a);
    return this.events.length - before;
  }

  #act(a: EventAction): void {
    try {
      switch (a.kind) {
        case "fund": {
          const rate = this.#fee.get_est_sat_per_1000_weight(
            ldk.ConfirmationTarget.LDKConfirmationTarget_NonAnchorChannelFee,
          );
          const tx = this.wallet.buildPayment(
            [{ amount: a.valueSat, script: a.outputScript }],
            rate,
          );
          const r = this.chanMan.funding_transaction_generated(
            a.temporaryChannelId,
            a.counterparty,
            tx,
          );
          if (!r.is_ok()) this.#issue("funding_transaction_generated", apiError(r));
          break;
        }
        case "claim": {
          const hash = toHex(sha256(a.preimage));
          if (this.hold.has(hash)) this.#held.set(hash, a.preimage);
          else this.chanMan.claim_funds(a.preimage);
          break;
        }
        case "forward":
          this.chanMan.process_pending_htlc_forwards();
          break;
        case "open-request": {
          const counterparty = toHex(a.counterparty);
          const accept = typeof this.acceptInbound === "function"
            ? this.acceptInbound({ counterparty, fundingSat: a.fundingSat })
            : this.acceptInbound;
          const r = accept
            ? this.chanMan.accept_inbound_channel(
              a.temporaryChannelId,
              a.counterparty,
              this.#userChannelId++,
            )
            : this.chanMan.force_close_without_broadcasting_txn(
              a.temporaryChannelId,
              a.counterparty,
              "inbound channel rejected by harness",
            );
          if (!r.is_ok()) {
            this.#issue(accept ? "accept_inbound_channel" : "reject channel", apiError(r));
          }
          break;
        }
        case "bump":
          this.#bump.handle_event(a.event);
          break;
        case "spendable":
          this.spendable.push(...a.descriptors);
          break;
      }
    } catch (e) {
      this.#issue(`event action ${a.kind}`, e);
    }
  }

  /** Claim a payment held because its hash was in {@link hold}. Returns false if none is held. */
  claimHeld(paymentHash: string): boolean {
    const pre = this.#held.get(paymentHash);
    if (!pre) return false;
    this.#held.delete(paymentHash);
    this.hold.delete(paymentHash);
    this.chanMan.claim_funds(pre);
    return true;
  }

  /** Hashes of held (claimable, unclaimed) payments. */
  heldPayments(): string[] {
    return [...this.#held.keys()];
  }

  /** UserConfig for a channel opened by this node, with per-channel overrides. */
  channelConfig(overrides: { anchors?: boolean; announce?: boolean }): ldk.UserConfig {
    return buildConfig(this.#config, overrides);
  }

  /** The next user channel id (small numbers: the bindings' u128 encoder rejects >= 2^124). */
  nextUserChannelId(): bigint {
    return this.#userChannelId++;
  }

  /** Channels as plain data. */
  channels(): ChannelInfo[] {
    return this.chanMan.list_channels().map((c) => {
      const fo = c.get_funding_txo();
      const conf = c.get_confirmations();
      return {
        channelId: toHex(c.get_channel_id().get_a()),
        counterparty: toHex(c.get_counterparty().get_node_id()),
        funding: ptrOf(fo) === 0n ? null : { txid: txidHex(fo.get_txid()), vout: fo.get_index() },
        valueSat: c.get_channel_value_satoshis(),
        outboundCapacityMsat: c.get_outbound_capacity_msat(),
        inboundCapacityMsat: c.get_inbound_capacity_msat(),
        isOutbound: !!c.get_is_outbound(),
        isReady: !!c.get_is_channel_ready(),
        isUsable: !!c.get_is_usable(),
        isAnnounced: !!c.get_is_announced(),
        anchors: !!c.get_channel_type()?.supports_anchors_zero_fee_htlc_tx(),
        confirmations: conf instanceof ldk.Option_u32Z_Some ? conf.some : null,
        pendingInboundHtlcs: c.get_pending_inbound_htlcs().length,
        pendingOutboundHtlcs: c.get_pending_outbound_htlcs().length,
      };
    });
  }

  /** The LDK ChannelId object of a channel by hex id. */
  channelIdObject(channelId: string): ldk.ChannelId {
    const c = this.chanMan.list_channels().find((d) =>
      toHex(d.get_channel_id().get_a()) === channelId
    );
    if (!c) throw new NodeError(`${this.name} has no channel ${channelId}`);
    return c.get_channel_id();
  }

  /**
   * Sum of the monitors' claimable balances (satoshi): what LDK expects to recover on chain for
   * closed channels (and could claim on close for open ones).
   */
  claimableSat(): bigint {
    return this.chainMonitor.get_claimable_balances([]).reduce(
      (s, b) => s + b.claimable_amount_satoshis(),
      0n,
    );
  }

  /** Tell LDK the signer may have answers now (async signing). */
  signerUnblocked(): void {
    this.chanMan.signer_unblocked(ldk.Option_C2Tuple_PublicKeyChannelIdZZ.constructor_none());
    this.chainMonitor.signer_unblocked(null);
  }

  /** Timer tick for ChannelManager, PeerManager and monitor claim rebroadcasts. */
  timerTick(): void {
    this.chanMan.timer_tick_occurred();
    this.peerManager.timer_tick_occurred();
    this.chainMonitor.rebroadcast_pending_claims();
  }

  /**
   * Sweep every recorded spendable output to the wallet with LDK's OutputSpender (KeysManager).
   * Returns the sweep transaction bytes (broadcast through the chain) or null when nothing to do.
   * Only works for outputs whose keys KeysManager derives (the default signer backend).
   */
  sweepSpendable(): Uint8Array | null {
    if (this.spendable.length === 0) return null;
    const rate = this.#fee.get_est_sat_per_1000_weight(
      ldk.ConfirmationTarget.LDKConfirmationTarget_OutputSpendingFee,
    );
    const r = this.keysManager.as_OutputSpender().spend_spendable_outputs(
      this.spendable,
      [],
      this.wallet.script,
      rate,
      ldk.Option_u32Z.constructor_none(),
    );
    if (!(r instanceof ldk.Result_TransactionNoneZ_OK)) {
      throw new NodeError("spend_spendable_outputs failed");
    }
    this.spendable.length = 0;
    this.chain.broadcast(r.res, `sweep:${this.name}`);
    return r.res;
  }
}

/** The message of an APIError result. */
export function apiError(r: { is_ok(): boolean }): string {
  const err = (r as { err?: unknown }).err;
  if (err && typeof err === "object") {
    const e = err as { err?: unknown; constructor: { name: string } };
    return `${e.constructor.name}${typeof e.err === "string" ? `: ${e.err}` : ""}`;
  }
  return "error";
}
