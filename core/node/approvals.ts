/**
 * Approvers (VLS `Approve`, vls.md row 17): who says yes to a payment, or to an on-chain
 * transaction with outputs the signer does not recognise, before the policy evaluates it.
 *
 * The service asks an {@link Approver} only when the answer matters: for a preapproval that is
 * not already known and whose payee is not allowlisted (core/node/preapprove.ts,
 * `needsApproval`), and for an on-chain transaction with unknown outputs. The answer becomes a
 * fact (`payment.approved`, `payment.approval_pending`), so a refusal is always a rule's
 * (`policy-commitment-payment-approved`), never a silent `false`.
 *
 * Implementations, as VLS's (approver.rs):
 *
 * - {@link PositiveApprover}: always approves (tests, permissive set-ups);
 * - {@link NegativeApprover}: never approves (the default: only the allowlist and already known
 *   payments pass);
 * - {@link WarningPositiveApprover}: approves and reports one warning line per approval;
 * - {@link VelocityApprover}: approves payments automatically while the amounts it approved in a
 *   rolling window (an hour of 12 five-minute buckets or a day of 24 one-hour buckets, as VLS's
 *   `VelocityControl`) stay under a budget, and otherwise asks a delegate; a delegate's approval
 *   clears the window (VLS: "don't bother the user until more transactions flow through"). The
 *   window is its own document in the store ({@link VELOCITY_KEY}), separate from any policy
 *   `limit`: the policy limit caps what is paid, this one only decides when a human is asked.
 *   On-chain requests always go to the delegate.
 * - {@link QueueApprover}: a persisted queue a human answers from the command line
 *   (`mod.ts approvals list|approve ID|deny ID`).
 *
 * Queue semantics. Each request has an id: the first 8 bytes, in hex, of SHA256 of a canonical
 * text of the request ({@link approvalId}), so a retry of the same request finds the same entry.
 * An entry is one store document, `node/approval/<id>` ({@link APPROVAL_PREFIX}), validated by
 * {@link ApprovalEntrySchema}. An unknown request is recorded as `pending` and answered
 * `"pending"`: the signer then refuses temporarily, so CLN (or VLS's proxy) retries with backoff.
 * Once a human approves or denies it ({@link decideApproval}), later asks get that answer. Entries
 * expire at the invoice's expiry (payments by invoice) or one hour after the request (keysends,
 * on-chain), after which they answer nothing and are removed (a tombstone) by the next ask; an
 * invoice that has already expired is answered `"deny"` without being queued (there is nothing to
 * decide). Every write is versioned ({@link Store}), so the signer and the command line can work
 * on the same store at the same time: the signer reads the entry on every ask, and a conflicting
 * write is re-read, never overwritten.
 *
 * @module
 */
import { z } from "zod";
import { toHex, utf8 } from "../bytes.ts";
import { sha256 } from "../crypto/mod.ts";
import { fromJson, toJson } from "../store/json.ts";
import { type Store, type StoreEntry, VersionConflictError } from "../store/types.ts";

/** An approver's answer: yes, no, or not yet (ask again later). */
export type ApprovalAnswer = "approve" | "deny" | "pending";

/** A payment the service asks an approver about (built by core/node/preapprove.ts). */
export interface PaymentApprovalRequest {
  /** Paying an invoice, or a keysend. */
  kind: "invoice" | "keysend";
  /** The payment hash, lower-case hex. */
  paymentHash: string;
  /** The amount (0 for an invoice without amount). */
  amountMsat: bigint;
  /** The invoice states an amount (always true for a keysend). */
  hasAmount: boolean;
  /** The payee's node id, lower-case hex (a keysend's unverified destination). */
  payee: string;
  /** When the invoice was created (a keysend: when it was asked), unix seconds. */
  createdAt: number;
  /** When the invoice expires (a keysend: 60 seconds after it was asked), unix seconds. */
  expiresAt: number;
  /** SHA256 of the canonical invoice string ("" for a keysend). */
  invoiceHash: string;
  /** A BOLT #12 invoice. */
  isBolt12: boolean;
  /** The invoice's description for a human, control characters removed, at most 160 characters. */
  description: string;
}

/** One output of an on-chain transaction that pays neither our wallet nor the allowlist. */
export interface UnknownOutput {
  /** The output's index. */
  index: number;
  /** The output script, lower-case hex. */
  script: string;
  /** Its address on the signer's network ("" when the script has none). */
  address: string;
  /** Its amount. */
  amountSat: bigint;
}

/** An on-chain transaction with unknown outputs (VLS `approve_onchain`). */
export interface OnchainApprovalRequest {
  /** The transaction id, in the usual display order (as block explorers show it). */
  txid: string;
  /** The outputs that pay neither our wallet nor the allowlist. */
  outputs: UnknownOutput[];
}

/** Options of every approver call. */
export interface ApproveOptions {
  /** The signer's clock, unix seconds. */
  now: number;
}

/** Decides payments and on-chain transactions with unknown outputs (VLS `Approve`). */
export interface Approver {
  /** Whether to approve paying `request`. */
  approvePayment(request: PaymentApprovalRequest, options: ApproveOptions): Promise<ApprovalAnswer>;
  /** Whether to approve an on-chain transaction paying unknown outputs. */
  approveOnchain(request: OnchainApprovalRequest, options: ApproveOptions): Promise<ApprovalAnswer>;
}

/** An approval request or decision that cannot be handled (bad id, unknown entry, ...). */
export class ApprovalError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong (ids and statuses only)
   */
  constructor(message: string) {
    super(message);
    this.name = "ApprovalError";
  }
}

/** Approves everything, quietly (VLS `PositiveApprover`: tests and permissive mode). */
export class PositiveApprover implements Approver {
  /** Always `"approve"`. */
  approvePayment(
    _request: PaymentApprovalRequest,
    _options: ApproveOptions,
  ): Promise<ApprovalAnswer> {
    return Promise.resolve("approve");
  }

  /** Always `"approve"`. */
  approveOnchain(
    _request: OnchainApprovalRequest,
    _options: ApproveOptions,
  ): Promise<ApprovalAnswer> {
    return Promise.resolve("approve");
  }
}

/** Approves nothing (VLS `NegativeApprover`, the default: only the allowlist and known payments pass). */
export class NegativeApprover implements Approver {
  /** Always `"deny"`. */
  approvePayment(
    _request: PaymentApprovalRequest,
    _options: ApproveOptions,
  ): Promise<ApprovalAnswer> {
    return Promise.resolve("deny");
  }

  /** Always `"deny"`. */
  approveOnchain(
    _request: OnchainApprovalRequest,
    _options: ApproveOptions,
  ): Promise<ApprovalAnswer> {
    return Promise.resolve("deny");
  }
}

/** One line describing a payment request (for warnings and logs; no secrets in it). */
export function describePayment(request: PaymentApprovalRequest): string {
  const amount = request.hasAmount ? `${request.amountMsat} msat` : "an unspecified amount";
  return `${request.kind} payment of ${amount} to ${request.payee} (payment hash ${request.paymentHash})`;
}

/** One line describing an on-chain request. */
export function describeOnchain(request: OnchainApprovalRequest): string {
  const total = request.outputs.reduce((s, o) => s + o.amountSat, 0n);
  const outputs = request.outputs.map((o) => `${o.index}:${o.address || o.script}`).join(", ");
  return `on-chain transaction ${request.txid} paying ${total} sat to unknown outputs ${outputs}`;
}

/** Approves everything and reports each approval as one warning line (VLS `WarningPositiveApprover`). */
export class WarningPositiveApprover implements Approver {
  readonly #warn: (line: string) => void;

  /**
   * Creates the approver.
   * @param options `warn` receives each warning line (default: `console.warn`)
   */
  constructor(options: { warn?: (line: string) => void } = {}) {
    this.#warn = options.warn ?? ((line) => console.warn(line));
  }

  /** Reports `AUTO-APPROVED <payment>` and approves. */
  approvePayment(
    request: PaymentApprovalRequest,
    _options: ApproveOptions,
  ): Promise<ApprovalAnswer> {
    this.#warn(`warning: AUTO-APPROVED ${describePayment(request)}`);
    return Promise.resolve("approve");
  }

  /** Reports `AUTO-APPROVED <transaction>` and approves. */
  approveOnchain(
    request: OnchainApprovalRequest,
    _options: ApproveOptions,
  ): Promise<ApprovalAnswer> {
    this.#warn(`warning: AUTO-APPROVED ${describeOnchain(request)}`);
    return Promise.resolve("approve");
  }
}

// ---------------------------------------------------------------------------------------------
// Velocity

/** The store key of {@link VelocityApprover}'s window. */
export const VELOCITY_KEY = "node/approvals/velocity";

/** The windows of VLS's `VelocityControl`: an hour of 12 × 5 minutes, a day of 24 × 1 hour. */
export const VELOCITY_WINDOWS = {
  hour: { buckets: 12, interval: 300 },
  day: { buckets: 24, interval: 3600 },
} as const;

/** A velocity window's length: `hour` or `day`. */
export type VelocityWindow = keyof typeof VELOCITY_WINDOWS;

/** The persisted window of a {@link VelocityApprover}. */
export const VelocityStateSchema = z.object({
  version: z.literal(1),
  /** The window kind the buckets were counted in (a change of kind starts afresh). */
  window: z.enum(["hour", "day"]),
  /** Start of the newest bucket, unix seconds (a multiple of the bucket interval). */
  start: z.number().int().min(0),
  /** Amounts approved per bucket, newest first. */
  buckets: z.array(z.bigint().min(0n)),
});

/** See {@link VelocityStateSchema}. */
export type VelocityState = z.infer<typeof VelocityStateSchema>;

/** The window moved to `now`: buckets older than the window are dropped (pure). */
export function advanceVelocity(state: VelocityState, now: number): VelocityState {
  const { buckets, interval } = VELOCITY_WINDOWS[state.window];
  const start = Math.floor(now / interval) * interval;
  if (start <= state.start) return state; // same bucket, or a clock that went back
  const shift = (start - state.start) / interval;
  const kept = shift >= buckets ? [] : state.buckets.slice(0, buckets - shift);
  return {
    ...state,
    start,
    buckets: [...Array(Math.min(shift, buckets)).fill(0n), ...kept].slice(0, buckets),
  };
}

/** An empty window of kind `window` at `now`. */
export function emptyVelocity(window: VelocityWindow, now: number): VelocityState {
  const { buckets, interval } = VELOCITY_WINDOWS[window];
  return {
    version: 1,
    window,
    start: Math.floor(now / interval) * interval,
    buckets: Array(buckets).fill(0n),
  };
}

/** The total approved in the window. */
export function velocityTotal(state: VelocityState): bigint {
  return state.buckets.reduce((s, b) => s + b, 0n);
}

/** Options of {@link VelocityApprover}. */
export interface VelocityApproverOptions {
  /** Where the window is persisted. */
  store: Store;
  /** The most that may be auto-approved within the window. */
  limitMsat: bigint;
  /** `hour` (12 × 5 min) or `day` (24 × 1 h). */
  window: VelocityWindow;
  /** Who decides what the budget does not cover (default {@link NegativeApprover}). */
  delegate?: Approver;
  /** The store key (default {@link VELOCITY_KEY}). */
  key?: string;
}

const MAX_ATTEMPTS = 5;

/**
 * Approves payments automatically under a velocity budget, otherwise asks its delegate (VLS
 * `VelocityApprover`). See the module documentation. The amount is counted when the approver says
 * yes, before the policy runs: a payment the policy then refuses still counts (as in VLS).
 */
export class VelocityApprover implements Approver {
  readonly #options: Required<Omit<VelocityApproverOptions, "delegate">> & { delegate: Approver };

  /**
   * Creates the approver.
   * @param options the store, the budget and window, the delegate
   */
  constructor(options: VelocityApproverOptions) {
    if (typeof options.limitMsat !== "bigint" || options.limitMsat < 0n) {
      throw new ApprovalError("the velocity limit must be a non-negative msat amount");
    }
    if (!(options.window in VELOCITY_WINDOWS)) {
      throw new ApprovalError("the velocity window must be hour or day");
    }
    this.#options = {
      store: options.store,
      limitMsat: options.limitMsat,
      window: options.window,
      delegate: options.delegate ?? new NegativeApprover(),
      key: options.key ?? VELOCITY_KEY,
    };
  }

  /** The window as stored, moved to `now` (an empty one when none is stored). */
  async state(now: number): Promise<VelocityState> {
    return (await this.#load(now)).state;
  }

  async #load(now: number): Promise<{ state: VelocityState; version: number | undefined }> {
    const entry = await this.#options.store.get(this.#options.key);
    if (entry === undefined) {
      return { state: emptyVelocity(this.#options.window, now), version: undefined };
    }
    const stored = VelocityStateSchema.parse(fromJson(entry.value));
    const state = stored.window === this.#options.window
      ? advanceVelocity(stored, now)
      : emptyVelocity(this.#options.window, now);
    return { state, version: entry.version };
  }

  async #save(state: VelocityState, version: number | undefined): Promise<void> {
    await this.#options.store.put([{
      key: this.#options.key,
      value: toJson(state),
      version: version === undefined ? 0 : version + 1,
    }]);
  }

  /** Approves if the amount fits the budget (and counts it); otherwise the delegate decides. */
  async approvePayment(
    request: PaymentApprovalRequest,
    options: ApproveOptions,
  ): Promise<ApprovalAnswer> {
    for (let attempt = 0;; attempt++) {
      const { state, version } = await this.#load(options.now);
      try {
        if (velocityTotal(state) + request.amountMsat <= this.#options.limitMsat) {
          const buckets = [...state.buckets];
          buckets[0] += request.amountMsat;
          await this.#save({ ...state, buckets }, version);
          return "approve";
        }
        const answer = await this.#options.delegate.approvePayment(request, options);
        if (answer === "approve") {
          await this.#save(emptyVelocity(this.#options.window, options.now), version);
        }
        return answer;
      } catch (e) {
        if (!(e instanceof VersionConflictError) || attempt + 1 >= MAX_ATTEMPTS) throw e;
      }
    }
  }

  /** On-chain requests always go to the delegate (as VLS). */
  approveOnchain(
    request: OnchainApprovalRequest,
    options: ApproveOptions,
  ): Promise<ApprovalAnswer> {
    return this.#options.delegate.approveOnchain(request, options);
  }
}

// ---------------------------------------------------------------------------------------------
// Queue

/** Store prefix of the approval queue: one document per entry, `node/approval/<id>`. */
export const APPROVAL_PREFIX = "node/approval/";

/** How long a keysend or on-chain entry waits for a decision: one hour. */
export const DEFAULT_APPROVAL_TTL = 3600;

/** An approval id: 16 lower-case hex characters. */
export const APPROVAL_ID = /^[0-9a-f]{16}$/;

/** What a human needs to decide a payment. */
export const PaymentSummarySchema = z.object({
  payee: z.string(),
  amountMsat: z.bigint(),
  hasAmount: z.boolean(),
  paymentHash: z.string(),
  /** When the invoice was created, unix seconds. */
  createdAt: z.number().int(),
  /** When the invoice expires, unix seconds. */
  expiresAt: z.number().int(),
  description: z.string(),
  isBolt12: z.boolean(),
});

/** What a human needs to decide an on-chain transaction. */
export const OnchainSummarySchema = z.object({
  txid: z.string(),
  outputs: z.array(z.object({
    index: z.number().int(),
    address: z.string(),
    script: z.string(),
    amountSat: z.bigint(),
  })),
  totalSat: z.bigint(),
});

/** One queue entry (the document at `node/approval/<id>`). */
export const ApprovalEntrySchema = z.object({
  version: z.literal(1),
  /** See {@link approvalId}. */
  id: z.string().regex(APPROVAL_ID),
  kind: z.enum(["invoice", "keysend", "onchain"]),
  status: z.enum(["pending", "approved", "denied"]),
  /** When the signer first asked, unix seconds. */
  requestedAt: z.number().int(),
  /** When the entry stops answering, unix seconds. */
  expiresAt: z.number().int(),
  /** When a human decided (null while pending). */
  decidedAt: z.number().int().nullable(),
  /** Set for payments. */
  payment: PaymentSummarySchema.nullable(),
  /** Set for on-chain transactions. */
  onchain: OnchainSummarySchema.nullable(),
});

/** See {@link ApprovalEntrySchema}. */
export type ApprovalEntry = z.infer<typeof ApprovalEntrySchema>;

function shortHash(text: string): string {
  return toHex(sha256(utf8(text)).subarray(0, 8));
}

/**
 * The id of a request: the first 8 bytes (16 hex characters) of SHA256 over a canonical text —
 * for a payment its kind, payment hash, invoice hash, payee and amount; for an on-chain
 * transaction its txid and its unknown outputs (index, script, amount).
 */
export function approvalId(
  request: { payment: PaymentApprovalRequest } | { onchain: OnchainApprovalRequest },
): string {
  if ("payment" in request) {
    const p = request.payment;
    return shortHash(
      ["payment", p.kind, p.paymentHash, p.invoiceHash, p.payee, p.amountMsat.toString()].join(
        "\n",
      ),
    );
  }
  const o = request.onchain;
  return shortHash(
    ["onchain", o.txid, ...o.outputs.map((x) => `${x.index}:${x.script}:${x.amountSat}`)].join(
      "\n",
    ),
  );
}

/** The answer an entry gives. */
function answerOf(entry: ApprovalEntry): ApprovalAnswer {
  return entry.status === "approved" ? "approve" : entry.status === "denied" ? "deny" : "pending";
}

function parseEntry(e: StoreEntry): ApprovalEntry {
  const parsed = ApprovalEntrySchema.safeParse(fromJson(e.value));
  if (!parsed.success) throw new ApprovalError(`the approval entry ${e.key} is not valid`);
  return parsed.data;
}

/**
 * Writes `value` at `key` as a new document: version 0, or after the key's tombstone (learned
 * from the conflict, since a deleted key reads as absent). A conflict with a live document is
 * rethrown.
 */
async function putNew(store: Store, key: string, value: string): Promise<void> {
  try {
    await store.put([{ key, value, version: 0 }]);
  } catch (e) {
    if (!(e instanceof VersionConflictError) || e.stored === undefined) throw e;
    if ((await store.get(key)) !== undefined) throw e;
    await store.put([{ key, value, version: e.stored + 1 }]);
  }
}

/** Options of {@link listApprovals}. */
export interface ListApprovalsOptions {
  /** The clock, unix seconds. */
  now: number;
  /** Include expired entries (default false). */
  all?: boolean;
}

/** The queue's entries, oldest request first (expired ones only with `all`). */
export async function listApprovals(
  store: Store,
  options: ListApprovalsOptions,
): Promise<ApprovalEntry[]> {
  const entries = (await store.list(APPROVAL_PREFIX)).map(parseEntry);
  return entries
    .filter((e) => options.all || e.expiresAt > options.now)
    .sort((a, b) => a.requestedAt - b.requestedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** What {@link decideApproval} did. */
export interface DecisionResult {
  /** The entry after the decision. */
  entry: ApprovalEntry;
  /** False when the entry already had this decision (nothing was written). */
  changed: boolean;
}

/**
 * Approve or deny the pending entry `id`. Deciding an entry the same way again changes nothing;
 * an entry already decided the other way, an expired entry and an unknown id are refused with
 * {@link ApprovalError}. The write is versioned: if the signer changed the entry meanwhile, it is
 * re-read and decided again.
 */
export async function decideApproval(
  store: Store,
  id: string,
  options: { decision: "approve" | "deny"; now: number },
): Promise<DecisionResult> {
  const wanted = id.toLowerCase();
  if (!APPROVAL_ID.test(wanted)) throw new ApprovalError("an approval id is 16 hex characters");
  const status = options.decision === "approve" ? "approved" : "denied";
  for (let attempt = 0;; attempt++) {
    const stored = await store.get(APPROVAL_PREFIX + wanted);
    if (stored === undefined) throw new ApprovalError(`no approval request ${wanted}`);
    const entry = parseEntry(stored);
    if (entry.expiresAt <= options.now) {
      throw new ApprovalError(`approval request ${wanted} has expired`);
    }
    if (entry.status === status) return { entry, changed: false };
    if (entry.status !== "pending") {
      throw new ApprovalError(`approval request ${wanted} was already ${entry.status}`);
    }
    const next: ApprovalEntry = { ...entry, status, decidedAt: options.now };
    try {
      await store.put([{ key: stored.key, value: toJson(next), version: stored.version + 1 }]);
      return { entry: next, changed: true };
    } catch (e) {
      if (!(e instanceof VersionConflictError) || attempt + 1 >= MAX_ATTEMPTS) throw e;
    }
  }
}

/** Removes (tombstones) every expired entry; conflicting removals are skipped. Returns how many. */
export async function pruneApprovals(store: Store, options: { now: number }): Promise<number> {
  let removed = 0;
  for (const e of await store.list(APPROVAL_PREFIX)) {
    let expired: boolean;
    try {
      expired = parseEntry(e).expiresAt <= options.now;
    } catch {
      expired = false; // leave an unreadable entry for a human to look at
    }
    if (!expired) continue;
    try {
      await store.put([{ key: e.key, value: null, version: e.version + 1 }]);
      removed++;
    } catch (err) {
      if (!(err instanceof VersionConflictError)) throw err;
    }
  }
  return removed;
}

/** Options of {@link QueueApprover}. */
export interface QueueApproverOptions {
  /** The store holding the queue (the signer's store; the command line opens the same file). */
  store: Store;
  /** Seconds a keysend or on-chain entry waits for a decision (default {@link DEFAULT_APPROVAL_TTL}). */
  ttlSeconds?: number;
}

/** A persisted queue of requests answered by a human (see the module documentation). */
export class QueueApprover implements Approver {
  readonly #store: Store;
  readonly #ttl: number;

  /**
   * Creates the approver.
   * @param options the store and the time-to-live of entries without an invoice expiry
   */
  constructor(options: QueueApproverOptions) {
    const ttl = options.ttlSeconds ?? DEFAULT_APPROVAL_TTL;
    if (!Number.isSafeInteger(ttl) || ttl <= 0) {
      throw new ApprovalError("the approval time-to-live must be a positive number of seconds");
    }
    this.#store = options.store;
    this.#ttl = ttl;
  }

  /** The answer to a payment: a recorded decision, or `"pending"` (recording the request). */
  approvePayment(
    request: PaymentApprovalRequest,
    options: ApproveOptions,
  ): Promise<ApprovalAnswer> {
    const expiresAt = request.kind === "invoice" ? request.expiresAt : options.now + this.#ttl;
    if (expiresAt <= options.now) return Promise.resolve("deny");
    return this.#ask({
      version: 1,
      id: approvalId({ payment: request }),
      kind: request.kind,
      status: "pending",
      requestedAt: options.now,
      expiresAt,
      decidedAt: null,
      payment: {
        payee: request.payee,
        amountMsat: request.amountMsat,
        hasAmount: request.hasAmount,
        paymentHash: request.paymentHash,
        createdAt: request.createdAt,
        expiresAt: request.expiresAt,
        description: request.description,
        isBolt12: request.isBolt12,
      },
      onchain: null,
    }, options.now);
  }

  /** The answer to an on-chain transaction: a recorded decision, or `"pending"`. */
  approveOnchain(
    request: OnchainApprovalRequest,
    options: ApproveOptions,
  ): Promise<ApprovalAnswer> {
    return this.#ask({
      version: 1,
      id: approvalId({ onchain: request }),
      kind: "onchain",
      status: "pending",
      requestedAt: options.now,
      expiresAt: options.now + this.#ttl,
      decidedAt: null,
      payment: null,
      onchain: {
        txid: request.txid,
        outputs: request.outputs.map((o) => ({
          index: o.index,
          address: o.address,
          script: o.script,
          amountSat: o.amountSat,
        })),
        totalSat: request.outputs.reduce((s, o) => s + o.amountSat, 0n),
      },
    }, options.now);
  }

  async #ask(fresh: ApprovalEntry, now: number): Promise<ApprovalAnswer> {
    await pruneApprovals(this.#store, { now });
    const key = APPROVAL_PREFIX + fresh.id;
    for (let attempt = 0;; attempt++) {
      const stored = await this.#store.get(key);
      if (stored !== undefined) {
        const entry = parseEntry(stored);
        if (entry.expiresAt > now) return answerOf(entry);
      }
      try {
        if (stored === undefined) await putNew(this.#store, key, toJson(fresh));
        else await this.#store.put([{ key, value: toJson(fresh), version: stored.version + 1 }]);
        return "pending";
      } catch (e) {
        if (!(e instanceof VersionConflictError) || attempt + 1 >= MAX_ATTEMPTS) throw e;
      }
    }
  }
}
