/**
 * The signer service: where a request becomes a decision, a durable state change and, only then,
 * a signature or a secret. Every operation runs the same steps, one request at a time:
 *
 * 1. load the channel (or node) state from the store;
 * 2. run the pure operation (`core/channel/ops`): rebuild, compute facts, compute the next state;
 * 3. evaluate the policy on the facts;
 * 4. append the decision to the audit log;
 * 5. if refused: throw {@link PolicyRefusal} (nothing changed);
 * 6. persist the next state and any limit records in one atomic, durable store write;
 * 7. release the reply (signature, secret, point).
 *
 * Transports, the wire protocol and the in-process LDK adapter all call these methods.
 *
 * @module
 */
import { bytesToBigInt, equal, fromHex, reverse, toHex } from "../bytes.ts";
import { ChannelId, type ChannelKeys, type KeyStyle, type NodeKeys } from "../keys/types.ts";
import type { ExtendedPublicKey } from "../keys/bip32.ts";
import type { Network } from "../bitcoin/network.ts";
import { fromJson, toJson } from "../store/json.ts";
import type { Store, StoreWrite } from "../store/types.ts";
import { type ChannelSetup, type ChannelState, ChannelStateSchema } from "../channel/types.ts";
import { newStub } from "../channel/state.ts";
import {
  type ChainView,
  ChannelRequestError,
  type OpContext,
  type OpOutcome,
  type WalletView,
} from "../channel/ops/context.ts";
import { walletView } from "../node/wallet.ts";
import { setupChannel } from "../channel/ops/setup.ts";
import {
  checkFutureSecret,
  getPerCommitmentPoint,
  type Revocation,
  revokeHolderCommitment,
} from "../channel/ops/points.ts";
import {
  type CommitmentSignatures,
  type CounterpartyCommitmentRequest,
  type HolderCommitmentRequest,
  type HolderValidation,
  signCounterpartyCommitment,
  validateHolderCommitment,
} from "../channel/ops/commitment.ts";
import { validateCounterpartyRevocation } from "../channel/ops/revocation.ts";
import {
  type HolderCommitmentSignature,
  signHolderCommitment,
} from "../channel/ops/force_close.ts";
import {
  initialNodeState,
  NODE_STATE_KEY,
  type NodeState,
  NodeStateSchema,
} from "../node/state.ts";
import {
  type CounterpartyHtlcTxRequest,
  type HolderHtlcSignature,
  type HolderHtlcTxRequest,
  signCounterpartyHtlcTx,
  signHolderHtlcTx,
} from "../channel/ops/htlc.ts";
import {
  type CounterpartyHtlcSweepRequest,
  type DelayedSweepRequest,
  type InputSignature,
  type JusticeSweepRequest,
  signCounterpartyHtlcSweep,
  signDelayedSweep,
  signJusticeSweep,
} from "../channel/ops/sweep.ts";
import { type MutualCloseRequest, signMutualClose } from "../channel/ops/close.ts";
import { signSplice, type SpliceRequest } from "../channel/ops/splice.ts";
import { type AnchorSpendRequest, signAnchorSpend } from "../channel/ops/anchor.ts";
import type { AddBlockFactsT, NewChannelFactsT } from "../node/facts.ts";
import { PolicyRefusal, RequestError } from "./errors.ts";
import {
  type KnownChannel,
  type NodeOpOutcome,
  NodeRequestError,
  type NodeSignContext,
} from "../node/sign_context.ts";
import {
  type ChannelAnnouncementSignatures,
  type GossipMessageContext,
  signChannelAnnouncement,
  type SignChannelAnnouncementRequestT,
  signChannelUpdate,
  type SignChannelUpdateRequestT,
  signGossipMessage,
  type SignGossipMessageRequestT,
  signNodeAnnouncement,
  type SignNodeAnnouncementRequestT,
} from "../node/gossip.ts";
import { signInvoice, type SignInvoiceRequestT } from "../node/invoice.ts";
import { signMessage, type SignMessageRequestT } from "../node/message.ts";
import { ecdh, type EcdhRequestT } from "../node/ecdh.ts";
import {
  checkPubkey,
  type CheckPubkeyRequestT,
  deriveSecret,
  type DeriveSecretRequestT,
  getSecureRandomBytes,
} from "../node/secrets.ts";
import {
  signBolt12,
  type SignBolt12RequestT,
  signBolt12V2,
  type SignBolt12V2RequestT,
} from "../node/bolt12.ts";
import {
  getHeartbeat,
  type GetHeartbeatRequestT,
  type SignedHeartbeat,
} from "../node/heartbeat.ts";
import type { RecoverableSignature } from "../crypto/mod.ts";
import { signOnchain, type SignOnchainRequest } from "../node/onchain.ts";
import type { Psbt } from "../bitcoin/psbt.ts";
import { txidHex } from "../bitcoin/tx.ts";
import { scriptToAddress } from "../bitcoin/address.ts";
import { AllowlistSource } from "../node/allowlist.ts";
import { type Approver, NegativeApprover } from "../node/approvals.ts";
import {
  type ApprovalAsk,
  invoiceApprovalRequest,
  InvoiceDecodeError,
  keysendApprovalRequest,
  type PreapproveContext,
  preapproveInvoice,
  type PreapproveInvoiceRequestT,
  preapproveKeysend,
  type PreapproveKeysendRequestT,
  type PreapproveNext,
} from "../node/preapprove.ts";
import { PaymentBook } from "./payments.ts";
import {
  CHAIN_KEY,
  ChainError,
  type ChainState,
  ChainStateSchema,
  ChainTracker,
} from "../node/chain.ts";
import type { Tx } from "../bitcoin/tx.ts";

/** Request kinds whose facts include the node-wide `payments` block. */
const PAYMENT_KINDS = new Set(["sign_counterparty_commitment", "validate_holder_commitment"]);

/** What the signer needs from a policy decision. */
export interface Verdict {
  /** The request may proceed. */
  allowed: boolean;
  /** Every violation is temporary. */
  temporary: boolean;
  /** Violated rules (refusing). */
  violations: { rule: string }[];
  /** Violated rules demoted to warnings by a filter. */
  warnings: { rule: string }[];
}

/** What the signer needs from the policy engine (implemented by `policy/` `Policy`). */
export interface PolicyEngine<D extends Verdict = Verdict> {
  /** Evaluate the rules of `kind` on `facts`. */
  evaluate(kind: string, facts: unknown, context: { now: number }): D;
  /** The limit records an allowed decision adds (to persist with the operation's state). */
  limitWrites(decision: D): StoreWrite[];
  /** Apply those records to the engine's memory once they are durable. */
  commitLimits(decision: D): void;
  /** Load the limit windows from the store (once, at start). */
  loadLimitState(store: Store): Promise<void>;
  /** The engine for a signer over `store` (a copy with its own limit windows if needed). */
  forStore?(store: Store): PolicyEngine<D>;
}

/** One audit-log entry: the decision on one request, without secrets. */
export interface AuditEntry<D extends Verdict = Verdict> {
  /** Unix time in seconds. */
  time: number;
  /** The request kind. */
  kind: string;
  /** The channel id (hex) when the request is about a channel. */
  channel?: string;
  /** The decision. */
  decision: D;
}

/** Where decisions are recorded (see `policy/audit.ts`). */
export interface AuditSink<D extends Verdict = Verdict> {
  /** Append one entry durably. */
  append(entry: AuditEntry<D>): Promise<void>;
}

/** Options of {@link Signer.open}. */
export interface SignerOptions<D extends Verdict> {
  /** The node's keys (from its seed). */
  keys: NodeKeys;
  /** Where state lives. */
  store: Store;
  /** The loaded policy. */
  policy: PolicyEngine<D>;
  /** The audit log (optional: tests may leave it out). */
  audit?: AuditSink<D>;
  /** The clock, in unix seconds (default: the system clock). */
  clock?: () => number;
  /**
   * The chain as the signer knows it. Default: a {@link ChainTracker} persisted in the store and
   * fed through {@link Signer.addBlock}; tests may pass a fixed view.
   */
  chain?: ChainView;
  /**
   * Our wallet and the allowlist. Default: the node's wallet keys and the allowlist stored in the
   * store (`node/allowlist`, edited by `mod.ts allowlist`, re-read when it changes).
   */
  wallet?: WalletView;
  /** Who approves payments and unknown on-chain outputs (default: nobody, VLS's default). */
  approver?: Approver;
}

interface Loaded {
  state: ChannelState;
  version: number;
}

const CHANNEL_PREFIX = "channel/";
/** Short channel ids of announced channels: `node/scid/<scid>` holds the channel id (hex). */
const SCID_PREFIX = "node/scid/";

function channelKey(id: ChannelId): string {
  return CHANNEL_PREFIX + id.toHex();
}

/** The signer service (see the module documentation). */
export class Signer<D extends Verdict = Verdict> {
  readonly #keys: NodeKeys;
  readonly #store: Store;
  readonly #policy: PolicyEngine<D>;
  readonly #audit?: AuditSink<D>;
  readonly #clock: () => number;
  #chain: ChainView;
  readonly #tracker: ChainTracker;
  #trackerVersion: number | undefined;
  readonly #wallet: WalletView;
  readonly #allowlist: AllowlistSource;
  readonly #approver: Approver;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #channels: Map<string, Loaded>;
  readonly #channelKeys = new Map<string, ChannelKeys>();
  #node: { state: NodeState; version: number | undefined };
  readonly #payments: PaymentBook;
  readonly #scids: Map<bigint, string>;
  /** Txids (display hex) whose unknown outputs the operator approved. */
  readonly #approvedOnchain = new Set<string>();

  private constructor(
    options: SignerOptions<D>,
    loaded: {
      node: { state: NodeState; version: number | undefined };
      payments: PaymentBook;
      channels: Map<string, Loaded>;
      scids: Map<bigint, string>;
      tracker: { tracker: ChainTracker; version: number | undefined };
      allowlist: AllowlistSource;
    },
  ) {
    this.#keys = options.keys;
    this.#store = options.store;
    this.#policy = options.policy;
    this.#audit = options.audit;
    this.#clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
    this.#tracker = loaded.tracker.tracker;
    this.#trackerVersion = loaded.tracker.version;
    this.#chain = options.chain ?? this.#tracker;
    this.#allowlist = loaded.allowlist;
    this.#approver = options.approver ?? new NegativeApprover();
    this.#wallet = options.wallet ??
      walletView(options.keys, {
        allowlisted: (script) => this.#allowlist.current.contains(script),
      });
    this.#node = loaded.node;
    this.#payments = loaded.payments;
    this.#channels = loaded.channels;
    this.#scids = loaded.scids;
  }

  /** Open a signer over a store (loads the node state, the payment book and every channel). */
  static async open<D extends Verdict>(given: SignerOptions<D>): Promise<Signer<D>> {
    const options = { ...given, policy: given.policy.forStore?.(given.store) ?? given.policy };
    await options.policy.loadLimitState(options.store);
    const entry = await options.store.get(NODE_STATE_KEY);
    const node = entry === undefined
      ? { state: initialNodeState(), version: undefined }
      : { state: NodeStateSchema.parse(fromJson(entry.value)), version: entry.version };
    const channels = new Map<string, Loaded>();
    for (const e of await options.store.list(CHANNEL_PREFIX)) {
      const parsed = ChannelStateSchema.safeParse(fromJson(e.value));
      if (!parsed.success) {
        throw new RequestError("invariant", `stored state of ${e.key} is invalid`);
      }
      channels.set(e.key.slice(CHANNEL_PREFIX.length), { state: parsed.data, version: e.version });
    }
    const payments = await PaymentBook.load(options.store);
    const scids = new Map<bigint, string>();
    for (const e of await options.store.list(SCID_PREFIX)) {
      scids.set(BigInt(e.key.slice(SCID_PREFIX.length)), JSON.parse(e.value) as string);
    }
    const chainEntry = await options.store.get(CHAIN_KEY);
    const tracker = {
      tracker: new ChainTracker(
        chainEntry === undefined ? undefined : ChainStateSchema.parse(JSON.parse(chainEntry.value)),
      ),
      version: chainEntry?.version,
    };
    const allowlist = await AllowlistSource.open(options.store, options.keys.network);
    return new Signer(options, { node, payments, channels, scids, tracker, allowlist });
  }

  /** The node id. */
  get nodeId(): Uint8Array {
    return this.#keys.nodeId;
  }

  /** Replace the chain view (the node feeds blocks). */
  setChain(chain: ChainView): void {
    this.#chain = chain;
  }

  /** Run `task` after every earlier request: requests never interleave. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #keysOf(id: ChannelId): ChannelKeys {
    const hex = id.toHex();
    let keys = this.#channelKeys.get(hex);
    if (!keys) {
      keys = this.#keys.channelKeys(id);
      this.#channelKeys.set(hex, keys);
    }
    return keys;
  }

  async #load(id: ChannelId): Promise<Loaded | undefined> {
    const hex = id.toHex();
    const cached = this.#channels.get(hex);
    if (cached) return cached;
    const entry = await this.#store.get(channelKey(id));
    if (entry === undefined) return undefined;
    const parsed = ChannelStateSchema.safeParse(fromJson(entry.value));
    if (!parsed.success) {
      throw new RequestError("invariant", `stored state of channel ${hex} is invalid`);
    }
    const loaded = { state: parsed.data, version: entry.version };
    this.#channels.set(hex, loaded);
    return loaded;
  }

  async #loadActive(id: ChannelId): Promise<Loaded> {
    const loaded = await this.#load(id);
    if (loaded === undefined) throw new RequestError("unknown-channel", "no such channel");
    if (loaded.state.forgotten) {
      throw new RequestError("forgotten-channel", "channel was forgotten");
    }
    return loaded;
  }

  async #decide(kind: string, facts: unknown, channel: string | undefined): Promise<D> {
    const decision = this.#policy.evaluate(kind, facts, { now: this.#clock() });
    if (this.#audit) {
      await this.#audit.append({ time: this.#clock(), kind, channel, decision });
    }
    if (!decision.allowed) {
      throw new PolicyRefusal(kind, {
        // One id per rule, however many of its clauses failed (the audit log has each clause).
        rules: [...new Set(decision.violations.map((v) => v.rule))],
        temporary: decision.temporary,
      });
    }
    return decision;
  }

  /** Persist `writes` plus the decision's limit records atomically, then update memory. */
  async #commit(decision: D, writes: StoreWrite[]): Promise<void> {
    const all = [...writes, ...this.#policy.limitWrites(decision)];
    if (all.length > 0) await this.#store.put(all);
    this.#policy.commitLimits(decision);
  }

  /** The generic channel operation runner (module documentation, steps 1-7). */
  #channelOp<F, R>(
    id: ChannelId,
    op: (ctx: OpContext) => OpOutcome<F, R>,
    options: { preimages?: readonly Uint8Array[] } = {},
  ): Promise<R> {
    return this.#serial(async () => {
      const loaded = await this.#loadActive(id);
      await this.#allowlist.refresh();
      let outcome: OpOutcome<F, R>;
      try {
        outcome = op({
          state: loaded.state,
          keys: this.#keysOf(id),
          chain: this.#chain,
          wallet: this.#wallet,
        });
      } catch (e) {
        throw asRequestError(e);
      }
      const hex = id.toHex();
      // The hashes of the preimages this request shows that the store does not hold yet (memory
      // follows the store). They count as known in this request's own payment facts, and are
      // persisted with its state and then remembered: a refused request changes neither.
      const preimages = this.#payments.preimageWrites(options.preimages ?? []);
      let facts: unknown = outcome.facts;
      const assessment = PAYMENT_KINDS.has(outcome.kind)
        ? this.#payments.assess(hex, outcome.next, {
          chain: this.#chain,
          channelState: (other) => this.#channels.get(other)?.state,
        })
        : undefined;
      if (assessment) {
        const shown = new Set(preimages.hashes);
        const payments = assessment.facts.map((p) =>
          shown.has(p.hash) ? { ...p, preimage_known: true } : p
        );
        facts = { ...(outcome.facts as object), payments };
      }
      const decision = await this.#decide(outcome.kind, facts, hex);
      const next = decision.warnings.length > 0 && outcome.withWarnings
        ? outcome.withWarnings([...new Set(decision.warnings.map((w) => w.rule))])
        : outcome.next;
      const writes: StoreWrite[] = next === loaded.state
        ? []
        : [{ key: channelKey(id), value: toJson(next), version: loaded.version + 1 }];
      if (assessment) writes.push(...this.#payments.viewWrites(hex, assessment));
      writes.push(...preimages.writes);
      await this.#commit(decision, writes);
      if (next !== loaded.state) {
        this.#channels.set(hex, { state: next, version: loaded.version + 1 });
      }
      if (assessment) this.#payments.commitViews(hex, assessment);
      this.#payments.commitPreimages(preimages.hashes);
      try {
        return outcome.release();
      } catch (e) {
        throw asRequestError(e);
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // Channel lifecycle

  /**
   * Create a stub for a new channel (CLN `new_channel`, LDK `derive_channel_signer`). An existing
   * id is an idempotent retry; a forgotten id, or a CLN dbid at or below the high-water mark of
   * forgotten dbids, is refused (`policy-channel-original-channel-id-reuse`).
   */
  newChannel(id: ChannelId): Promise<void> {
    return this.#serial(async () => {
      const existing = await this.#load(id);
      const mark = this.#node.state.dbidHighWaterMark;
      const facts: NewChannelFactsT = {
        new_channel: {
          dbid: id.dbid ?? 0n,
          has_dbid: id.kind === "peer-dbid",
          exists: existing !== undefined && !existing.state.forgotten,
          was_forgotten: existing?.state.forgotten ?? false,
        },
        node: {
          dbid_high_water_mark: mark,
          channel_count: [...this.#channels.values()].filter((c) => !c.state.forgotten).length,
        },
      };
      const decision = await this.#decide("new_channel", facts, id.toHex());
      if (existing !== undefined) {
        await this.#commit(decision, []);
        return;
      }
      const state = newStub(id.toHex());
      await this.#commit(decision, [{ key: channelKey(id), value: toJson(state), version: 0 }]);
      this.#channels.set(id.toHex(), { state, version: 0 });
    });
  }

  /** Our basepoints and funding key for a channel (public; needs no policy decision). */
  getChannelBasepoints(
    id: ChannelId,
  ): Promise<ChannelKeys["basepoints"] & { funding: Uint8Array }> {
    return this.#serial(async () => {
      await this.#loadActive(id);
      const keys = this.#keysOf(id);
      return { ...keys.basepoints, funding: keys.fundingPubkey };
    });
  }

  /** `setup_channel`; the funding outpoint is then watched on the chain. */
  async setupChannel(id: ChannelId, setup: ChannelSetup): Promise<void> {
    await this.#channelOp(id, (ctx) => setupChannel(ctx, setup));
    await this.#serial(async () => {
      const outpoint = setup.fundingOutpoint;
      if (this.#tracker.watching(outpoint)) return;
      this.#tracker.watch(outpoint);
      await this.#persistChain(this.#tracker.state);
    });
  }

  async #persistChain(state: ChainState): Promise<void> {
    const version = this.#trackerVersion === undefined ? 0 : this.#trackerVersion + 1;
    await this.#store.put([{ key: CHAIN_KEY, value: JSON.stringify(state), version }]);
    this.#trackerVersion = version;
  }

  // -------------------------------------------------------------------------------------------
  // Chain

  /**
   * Feed one block (VLS `AddBlock`; the in-process LDK adapter feeds every block): the header must
   * extend the tip (the first one is a checkpoint at `height`) with valid proof of work
   * (`policy-chain-validated`); the transactions shown record the watched outputs' confirmations.
   */
  addBlock(
    header: Uint8Array,
    options: { height?: number; transactions?: Tx[]; proofPresent?: boolean } = {},
  ): Promise<void> {
    return this.#serial(async () => {
      let check;
      try {
        check = this.#tracker.check(header, options);
      } catch (e) {
        throw asRequestError(e);
      }
      const facts: AddBlockFactsT = {
        block: {
          links: check.links,
          pow_ok: check.powOk,
          height: check.height,
          proof_present: options.proofPresent ?? false,
        },
      };
      const decision = await this.#decide("add_block", facts, undefined);
      const state = this.#tracker.withBlock(header, options);
      const version = this.#trackerVersion === undefined ? 0 : this.#trackerVersion + 1;
      await this.#commit(decision, [{ key: CHAIN_KEY, value: JSON.stringify(state), version }]);
      this.#trackerVersion = version;
      this.#tracker.commit(state);
    });
  }

  /** Remove the tip block (VLS `RemoveBlock`, a reorganisation). */
  removeBlock(header: Uint8Array): Promise<void> {
    return this.#serial(async () => {
      let state: ChainState;
      try {
        state = this.#tracker.withoutTip(header);
      } catch (e) {
        throw asRequestError(e);
      }
      await this.#persistChain(state);
      this.#tracker.commit(state);
    });
  }

  /**
   * What the protocol layer reads of the chain: whether depths are known, funding depths, and the
   * outpoints the node's chain follower should watch (`check_outpoint`, `ForwardWatches`).
   */
  get chain(): ChainView & {
    watches(): { txids: Uint8Array[]; outpoints: { txid: string; vout: number }[] };
  } {
    const view = this.#chain;
    const tracker = this.#tracker;
    return {
      get tracked() {
        return view.tracked;
      },
      get height() {
        return view.height;
      },
      fundingDepth: (o) => view.fundingDepth(o),
      closingDepth: (o) => view.closingDepth(o),
      doubleSpentDepth: (o) => view.doubleSpentDepth(o),
      watches: () => {
        const outpoints = tracker.watched();
        return {
          txids: [...new Set(outpoints.map((o) => o.txid))].map((t) => fromHex(t)),
          outpoints,
        };
      },
    };
  }

  /** The node's public identity (for init replies): node id, BOLT-12 key, account key, style. */
  get identity(): {
    nodeId: Uint8Array;
    bolt12Pubkey: Uint8Array;
    accountKey(): ExtendedPublicKey;
    style: KeyStyle;
    network: Network;
  } {
    const keys = this.#keys;
    return {
      nodeId: keys.nodeId,
      bolt12Pubkey: keys.bolt12Pubkey,
      accountKey: () => keys.accountKey(),
      style: keys.style,
      network: keys.network,
    };
  }

  /** The chain tip (VLS `TipInfo`): height and hash (internal order); undefined when untracked. */
  tipInfo(): { height: number; hash: Uint8Array; time: number } | undefined {
    return this.#tracker.tip();
  }

  /**
   * Forget a channel (CLN `forget_channel`): it is kept as a tombstone so its id is never used
   * again, and a CLN dbid raises the high-water mark.
   */
  forgetChannel(id: ChannelId): Promise<void> {
    return this.#serial(async () => {
      const loaded = await this.#load(id);
      if (loaded === undefined || loaded.state.forgotten) return;
      const state: ChannelState = { ...loaded.state, forgotten: true };
      const writes: StoreWrite[] = [
        { key: channelKey(id), value: toJson(state), version: loaded.version + 1 },
      ];
      let node = this.#node.state;
      const dbid = id.dbid;
      if (id.kind === "peer-dbid" && dbid !== undefined && dbid > node.dbidHighWaterMark) {
        node = { ...node, dbidHighWaterMark: dbid };
        writes.push({
          key: NODE_STATE_KEY,
          value: toJson(node),
          version: this.#node.version === undefined ? 0 : this.#node.version + 1,
        });
      }
      await this.#store.put(writes);
      this.#channels.set(id.toHex(), { state, version: loaded.version + 1 });
      if (node !== this.#node.state) {
        this.#node = { state: node, version: (this.#node.version ?? -1) + 1 };
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // Points, secrets, revocations

  /** Our per-commitment point `n`. */
  getPerCommitmentPoint(id: ChannelId, n: number): Promise<Uint8Array> {
    return this.#channelOp(id, (ctx) => getPerCommitmentPoint(ctx, n));
  }

  /** Whether `secret` is our per-commitment secret `n` (constant time; nothing released). */
  checkFutureSecret(id: ChannelId, n: number, secret: Uint8Array): Promise<boolean> {
    return this.#serial(async () => {
      const loaded = await this.#loadActive(id);
      try {
        return checkFutureSecret(
          { state: loaded.state, keys: this.#keysOf(id), chain: this.#chain },
          n,
          secret,
        );
      } catch (e) {
        throw asRequestError(e);
      }
    });
  }

  /** Revoke holder commitment `n`: our secret `n` and point `n + 2`. */
  revokeHolderCommitment(id: ChannelId, n: number): Promise<Revocation> {
    return this.#channelOp(id, (ctx) => revokeHolderCommitment(ctx, n));
  }

  /** Check and store the counterparty's revocation of its commitment `n`. */
  validateCounterpartyRevocation(id: ChannelId, n: number, secret: Uint8Array): Promise<void> {
    return this.#channelOp(id, (ctx) => validateCounterpartyRevocation(ctx, { number: n, secret }));
  }

  // -------------------------------------------------------------------------------------------
  // Commitments

  /** Sign the counterparty's commitment and its HTLC transactions. */
  signCounterpartyCommitment(
    id: ChannelId,
    request: CounterpartyCommitmentRequest,
  ): Promise<CommitmentSignatures> {
    return this.#channelOp(id, (ctx) => signCounterpartyCommitment(ctx, request), {
      preimages: request.preimages,
    });
  }

  /** Validate the counterparty's signatures on our next commitment. */
  validateHolderCommitment(
    id: ChannelId,
    request: HolderCommitmentRequest,
  ): Promise<HolderValidation> {
    return this.#channelOp(id, (ctx) => validateHolderCommitment(ctx, request), {
      preimages: request.preimages,
    });
  }

  /** Sign our current commitment for a unilateral close. */
  signHolderCommitment(id: ChannelId, n: number): Promise<HolderCommitmentSignature> {
    return this.#channelOp(id, (ctx) => signHolderCommitment(ctx, n));
  }

  // -------------------------------------------------------------------------------------------
  // Second-level transactions, sweeps, closes

  /** Our HTLC-success/timeout transaction on our own commitment. */
  signHolderHtlcTx(id: ChannelId, request: HolderHtlcTxRequest): Promise<HolderHtlcSignature> {
    return this.#channelOp(id, (ctx) => signHolderHtlcTx(ctx, request));
  }

  /** Our signature on the counterparty's HTLC transaction (CLN `sign_remote_htlc_tx`). */
  signCounterpartyHtlcTx(
    id: ChannelId,
    request: CounterpartyHtlcTxRequest,
  ): Promise<InputSignature> {
    return this.#channelOp(id, (ctx) => signCounterpartyHtlcTx(ctx, request));
  }

  /** Sweep our delayed to_local output. */
  signDelayedSweep(id: ChannelId, request: DelayedSweepRequest): Promise<InputSignature> {
    return this.#channelOp(id, (ctx) => signDelayedSweep(ctx, request));
  }

  /** Claim an HTLC output of the counterparty's commitment. */
  signCounterpartyHtlcSweep(
    id: ChannelId,
    request: CounterpartyHtlcSweepRequest,
  ): Promise<InputSignature> {
    return this.#channelOp(id, (ctx) => signCounterpartyHtlcSweep(ctx, request));
  }

  /** Sweep an output of a revoked counterparty commitment (justice). */
  signJusticeSweep(id: ChannelId, request: JusticeSweepRequest): Promise<InputSignature> {
    return this.#channelOp(id, (ctx) => signJusticeSweep(ctx, request));
  }

  /** Sign a cooperative close. */
  signMutualClose(id: ChannelId, request: MutualCloseRequest): Promise<InputSignature> {
    return this.#channelOp(id, (ctx) => signMutualClose(ctx, request));
  }

  /** Sign our funding input of a splice transaction. */
  signSplice(id: ChannelId, request: SpliceRequest): Promise<InputSignature> {
    return this.#channelOp(id, (ctx) => signSplice(ctx, request));
  }

  /** Sign our anchor input of a fee bump. */
  signAnchorSpend(id: ChannelId, request: AnchorSpendRequest): Promise<InputSignature> {
    return this.#channelOp(id, (ctx) => signAnchorSpend(ctx, request));
  }

  // -------------------------------------------------------------------------------------------
  // Node-level operations

  #nodeContext(): GossipMessageContext {
    return {
      keys: this.#keys,
      now: this.#clock(),
      channelByScid: (scid) => {
        const hex = this.#scids.get(scid);
        const loaded = hex === undefined ? undefined : this.#channels.get(hex);
        if (hex === undefined || loaded === undefined) return undefined;
        return this.#knownChannel(hex, loaded.state);
      },
      issuedInvoice: (hash) => this.#payments.issued(hash),
      // Our channels with a peer (LDK keys-id channels name no peer: they are matched by the
      // funding key alone).
      channelsWithPeer: (peerId) => {
        const out: KnownChannel[] = [];
        for (const [hex, { state }] of this.#channels) {
          const id = channelIdOf(hex);
          if (id.peerId === undefined || equal(id.peerId, peerId)) {
            out.push(this.#knownChannel(hex, state));
          }
        }
        return out;
      },
    };
  }

  #knownChannel(hex: string, state: ChannelState): KnownChannel {
    const id = channelIdOf(hex);
    return {
      peerId: id.peerId ?? new Uint8Array(33),
      holderFundingPubkey: this.#keysOf(id).fundingPubkey,
      setup: state.setup,
      closed: state.enforcement.closed,
    };
  }

  /**
   * The generic node operation runner: like the channel runner, with optional state effects
   * (`writes`, applied to memory by `commit` once durable).
   */
  #nodeOp<F, R, N>(
    run: (ctx: NodeSignContext) => NodeOpOutcome<F, R, N>,
    effects?: (next: N) => { writes: StoreWrite[]; commit(): void },
  ): Promise<R> {
    return this.#serial(async () => {
      await this.#allowlist.refresh();
      let outcome: NodeOpOutcome<F, R, N>;
      try {
        outcome = run(this.#nodeContext());
      } catch (e) {
        throw asRequestError(e);
      }
      const decision = await this.#decide(outcome.kind, outcome.facts, undefined);
      const effect = effects?.(outcome.next);
      await this.#commit(decision, effect?.writes ?? []);
      effect?.commit();
      try {
        return outcome.release();
      } catch (e) {
        throw asRequestError(e);
      }
    });
  }

  /** ECDH with the node key (CLN 1). */
  ecdh(request: EcdhRequestT): Promise<Uint8Array> {
    return this.#nodeOp((ctx) => ecdh(ctx, request));
  }

  /** Sign a BOLT-11 invoice we issue (CLN 8); remembers it as issued. */
  signInvoice(request: SignInvoiceRequestT): Promise<RecoverableSignature> {
    return this.#nodeOp((ctx) => signInvoice(ctx, request), (next) => {
      const record = next.issuedInvoice;
      if (record === null) return { writes: [], commit: () => {} };
      return {
        writes: this.#payments.issuedWrites(record),
        commit: () => this.#payments.commitIssued(record),
      };
    });
  }

  /** Sign a "Lightning Signed Message:" (CLN 23). */
  signMessage(request: SignMessageRequestT): Promise<RecoverableSignature> {
    return this.#nodeOp((ctx) => signMessage(ctx, request));
  }

  /** Sign our node announcement (CLN 6). */
  signNodeAnnouncement(request: SignNodeAnnouncementRequestT): Promise<Uint8Array> {
    return this.#nodeOp((ctx) => signNodeAnnouncement(ctx, request));
  }

  /** Sign a channel update of one of our channels (CLN 3): the update with our signature. */
  signChannelUpdate(request: SignChannelUpdateRequestT): Promise<Uint8Array> {
    return this.#nodeOp((ctx) => signChannelUpdate(ctx, request));
  }

  /** Sign an unsigned gossip message (VLS 1006, LDK's NodeSigner). */
  signGossipMessage(request: SignGossipMessageRequestT): Promise<Uint8Array> {
    return this.#nodeOp<unknown, Uint8Array, null>((ctx) => signGossipMessage(ctx, request));
  }

  /**
   * Sign a channel announcement of channel `id` with the node key and its funding key (CLN 2/4,
   * LDK `sign_channel_announcement_with_funding_key`); remembers its short channel id.
   */
  signChannelAnnouncement(
    id: ChannelId,
    request: SignChannelAnnouncementRequestT,
  ): Promise<ChannelAnnouncementSignatures> {
    return this.#serial(async () => {
      const loaded = await this.#loadActive(id);
      const hex = id.toHex();
      const known = this.#knownChannel(hex, loaded.state);
      let outcome;
      try {
        outcome = signChannelAnnouncement({
          ...this.#nodeContext(),
          channel: { ...known, keys: this.#keysOf(id) },
        }, request);
      } catch (e) {
        throw asRequestError(e);
      }
      const decision = await this.#decide(outcome.kind, outcome.facts, hex);
      // The short channel id as the operation parsed it (CLN's signed form or LDK's unsigned one).
      const ca = outcome.facts.channel_announcement;
      const scid = (BigInt(ca.block_height) << 40n) | (BigInt(ca.tx_index) << 16n) |
        BigInt(ca.output_index);
      const writes: StoreWrite[] = !this.#scids.has(scid)
        ? [{ key: SCID_PREFIX + scid.toString(), value: JSON.stringify(hex), version: 0 }]
        : [];
      await this.#commit(decision, writes);
      if (writes.length > 0) this.#scids.set(scid, hex);
      try {
        return outcome.release();
      } catch (e) {
        throw asRequestError(e);
      }
    });
  }

  /** A BOLT-12 signature with the bolt12 or node key (CLN 25). */
  signBolt12(request: SignBolt12RequestT): Promise<Uint8Array> {
    return this.#nodeOp((ctx) => signBolt12(ctx, request));
  }

  /** A BOLT-12 signature with the alias key of `derive_secret(info)` (CLN 41). */
  signBolt12V2(request: SignBolt12V2RequestT): Promise<Uint8Array> {
    return this.#nodeOp((ctx) => signBolt12V2(ctx, request));
  }

  /** A named secret derived from the seed (CLN 27). */
  deriveSecret(request: DeriveSecretRequestT): Promise<Uint8Array> {
    return this.#nodeOp((ctx) => deriveSecret(ctx, request));
  }

  /** Whether `pubkey` is our wallet key `index` (CLN 28); public, no decision. */
  checkPubkey(request: CheckPubkeyRequestT): Promise<boolean> {
    return this.#serial(() => {
      try {
        return Promise.resolve(checkPubkey(this.#nodeContext(), request));
      } catch (e) {
        return Promise.reject(asRequestError(e));
      }
    });
  }

  /** 32 bytes from the system's secure random generator (VLS 1036). */
  secureRandomBytes(): Promise<Uint8Array> {
    return Promise.resolve(getSecureRandomBytes());
  }

  /**
   * Sign our inputs of an on-chain transaction (CLN `sign_withdrawal` 7, the wallet inputs of
   * `sign_anchorspend` 147, `sign_htlc_tx_mingle` 149): every output must pay our wallet, an
   * allowlisted destination, a channel we set up, or be approved by the operator.
   */
  async signOnchain(request: SignOnchainRequest): Promise<Psbt> {
    await this.#askOnchainApproval(request);
    return this.#nodeOp(
      () =>
        signOnchain({
          keys: this.#keys,
          wallet: this.#wallet,
          walletMaxUsedIndex: this.#node.state.walletMaxUsedIndex,
          channelByFundingOutpoint: (txid, vout) => {
            for (const [hex, { state }] of this.#channels) {
              const o = state.setup?.fundingOutpoint;
              if (state.stage === "ready" && state.setup && o?.txid === txid && o.vout === vout) {
                return {
                  setup: state.setup,
                  holderFundingPubkey: this.#keysOf(channelIdOf(hex)).fundingPubkey,
                  nextHolderCommitNum: state.enforcement.nextHolderCommitNum,
                };
              }
            }
            return null;
          },
          channelSetup: (id) => this.#channels.get(id.toHex())?.state.setup ?? null,
          approvedUnknownOutputs: (txid) => this.#approvedOnchain.has(txid),
        }, request),
      (next) => {
        if (next.walletMaxUsedIndex <= this.#node.state.walletMaxUsedIndex) {
          return { writes: [], commit: () => {} };
        }
        const state = { ...this.#node.state, walletMaxUsedIndex: next.walletMaxUsedIndex };
        const version = this.#node.version === undefined ? 0 : this.#node.version + 1;
        return {
          writes: [{ key: NODE_STATE_KEY, value: toJson(state), version }],
          commit: () => {
            this.#node = { state, version };
          },
        };
      },
    );
  }

  // -------------------------------------------------------------------------------------------
  // Payments

  #preapproveContext(): PreapproveContext {
    return {
      keys: this.#keys,
      now: this.#clock(),
      approvedPayment: (hash) => this.#payments.approved(hash),
      approvedCount: this.#payments.approvedCount,
      payeeAllowlisted: (nodeId) => this.#allowlist.current.containsPayee(nodeId),
    };
  }

  /**
   * Approve paying an invoice (CLN `preapprove_invoice`): decoded and checked, the operator's
   * approver asked when needed, the policy decides (expiry, approval, velocity), and the approved
   * payment is recorded so that outgoing HTLCs for its hash are balanced by it.
   */
  preapproveInvoice(request: PreapproveInvoiceRequestT): Promise<boolean> {
    return this.#preapprove(
      (ctx) => invoiceApprovalRequest(ctx, request),
      (ctx) => preapproveInvoice(ctx, request),
    );
  }

  /** Approve a keysend (CLN `preapprove_keysend`); as {@link Signer.preapproveInvoice}. */
  preapproveKeysend(request: PreapproveKeysendRequestT): Promise<boolean> {
    return this.#preapprove(
      (ctx) => keysendApprovalRequest(ctx, request),
      (ctx) => preapproveKeysend(ctx, request),
    );
  }

  #preapprove<F>(
    ask: (ctx: PreapproveContext) => ApprovalAsk,
    run: (ctx: PreapproveContext) => NodeOpOutcome<F, boolean, PreapproveNext>,
  ): Promise<boolean> {
    return this.#serial(async () => {
      await this.#allowlist.refresh();
      // Expired approvals are forgotten first, so they neither fill the table nor count as known.
      const pruning = this.#payments.pruneApproved(this.#clock());
      if (pruning.writes.length > 0) {
        await this.#store.put(pruning.writes);
        pruning.commit();
      }
      const ctx = this.#preapproveContext();
      let outcome: NodeOpOutcome<F, boolean, PreapproveNext>;
      try {
        const question = ask(ctx);
        const approval = question.needsApproval
          ? await this.#approver.approvePayment(question.request, { now: ctx.now })
          : undefined;
        outcome = run({ ...ctx, approval });
      } catch (e) {
        throw asRequestError(e);
      }
      const decision = await this.#decide(outcome.kind, outcome.facts, undefined);
      const record = outcome.next.approvedPayment;
      await this.#commit(decision, record ? this.#payments.approvedWrites(record) : []);
      if (record) this.#payments.commitApproved(record);
      return outcome.release();
    });
  }

  /**
   * When a transaction pays outputs that are neither ours nor allowlisted, ask the approver
   * (VLS `approve_onchain`); an approval lets the policy treat them as intended payments (the
   * fee rules still apply). Malformed requests are left for the operation to refuse.
   */
  #askOnchainApproval(request: SignOnchainRequest): Promise<void> {
    return this.#serial(async () => {
      await this.#allowlist.refresh();
      let facts;
      try {
        facts = signOnchain({
          keys: this.#keys,
          wallet: this.#wallet,
          walletMaxUsedIndex: this.#node.state.walletMaxUsedIndex,
        }, request).facts;
      } catch {
        return;
      }
      const unknown = facts.tx.outputs.filter((o) => o.kind === "unknown");
      if (unknown.length === 0) return;
      const txid = txidHex(request.psbt.tx);
      if (this.#approvedOnchain.has(txid)) return;
      const answer = await this.#approver.approveOnchain({
        txid,
        outputs: unknown.map((o) => ({
          index: o.index,
          script: o.script,
          address: addressOrEmpty(fromHex(o.script), this.#keys.network),
          amountSat: o.amount_sat,
        })),
      }, { now: this.#clock() });
      if (answer === "approve") this.#approvedOnchain.add(txid);
    });
  }

  /** A signed heartbeat for the given chain tip (VLS 2008). */
  heartbeat(request: GetHeartbeatRequestT): Promise<SignedHeartbeat> {
    return this.#serial(() => {
      try {
        return Promise.resolve(getHeartbeat(this.#nodeContext(), request));
      } catch (e) {
        return Promise.reject(asRequestError(e));
      }
    });
  }

  /** The stored state of a channel (for `info`, tests and the crash test); undefined if none. */
  channelState(id: ChannelId): Promise<ChannelState | undefined> {
    return this.#serial(async () => (await this.#load(id))?.state);
  }

  /** Hex of the node id, for logs. */
  get nodeIdHex(): string {
    return toHex(this.#keys.nodeId);
  }
}

function addressOrEmpty(script: Uint8Array, network: string): string {
  try {
    return scriptToAddress(script, network);
  } catch {
    return "";
  }
}

function asRequestError(e: unknown): Error {
  if (e instanceof ChannelRequestError) return new RequestError(e.code, e.message);
  if (e instanceof NodeRequestError) return new RequestError(e.code, e.message);
  if (e instanceof ChainError) return new RequestError("malformed", e.message);
  if (e instanceof InvoiceDecodeError && e.reason === "unsupported") {
    return new RequestError("unsupported", e.message);
  }
  if (e instanceof Error && /Error$/.test(e.name) && e.name !== "Error") {
    // Typed parse errors of the operations (BOLT-11, gossip, PSBT...): a malformed request.
    return new RequestError("malformed", e.message);
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** The channel id stored as hex: 41 bytes are CLN's (peer, dbid), 32 bytes LDK's keys id. */
export function channelIdOf(hex: string): ChannelId {
  const b = fromHex(hex);
  if (b.length === 41) {
    return ChannelId.fromPeerDbid(b.subarray(0, 33), bytesToBigInt(reverse(b.subarray(33))));
  }
  if (b.length === 32) return ChannelId.fromKeysId(b);
  return ChannelId.fromBytes(b);
}
