/**
 * The signer's book of payments: every channel's per-hash view (persisted under
 * `node/payments/<channel>`), the payments we approved to send (`node/invoice/<hash>`), the
 * invoices we issued (`node/issued/<hash>`), the payment hashes whose preimage the node showed
 * us (`node/preimage/<hash>`, the hash only) and the forwarded hashes whose outgoing HTLC settled
 * while an incoming one is still on a channel (`node/settled`), and per approved hash the value of
 * its outgoing HTLCs that left our commitments settled (`node/paid/<hash>`: paid, so an approval
 * pays once). From it the signer computes the
 * `payments` facts of every commitment request: node-wide totals per hash with the request
 * applied, each channel read from the commitments it can still broadcast (core/node/payments.ts).
 *
 * @module
 */
import { z } from "zod";
import { sha256 } from "../crypto/mod.ts";
import { toHex } from "../bytes.ts";
import { fromJson, toJson } from "../store/json.ts";
import type { Store, StoreWrite } from "../store/types.ts";
import type { PaymentFactsT } from "../channel/facts.ts";
import type { ChainView } from "../channel/ops/context.ts";
import type { ChannelState } from "../channel/types.ts";
import { isAnchors } from "../channel/rebuild.ts";
import { type IssuedInvoice, IssuedInvoiceSchema } from "../node/sign_context.ts";
import {
  broadcastable,
  type ChannelPayments,
  channelPayments,
  incomingHashes,
  paymentTotals,
  samePayments,
  type Settlements,
  settlements,
} from "../node/payments.ts";

/** Store prefixes of the payment book. */
export const PAYMENT_KEYS = {
  views: "node/payments/",
  invoices: "node/invoice/",
  issued: "node/issued/",
  preimages: "node/preimage/",
  settled: "node/settled",
  paid: "node/paid/",
} as const;

const ViewSchema = z.object({
  outgoingMsat: z.bigint(),
  incomingMsat: z.bigint(),
  incomingCltvMin: z.number().int(),
  outgoingCltvMax: z.number().int(),
});
const ViewsSchema = z.record(z.string(), ViewSchema);
/** The `node/settled` record: hashes whose outgoing HTLC settled, their incoming side pending. */
const SettledSchema = z.object({ hashes: z.array(z.string()) });
/**
 * The `node/paid/<hash>` record: per channel, the cumulative value (msat) of our outgoing HTLCs
 * with the (approved) hash that left our latest holder commitments settled, and the peer's.
 */
const PaidSchema = z.record(
  z.string(),
  z.object({ holderMsat: z.bigint(), counterpartyMsat: z.bigint() }),
);
/** See {@link PaidSchema}. */
type Paid = z.infer<typeof PaidSchema>;

/** Our outgoing value per hash on a channel's latest commitment of each side. */
function latestOutgoing(
  state: ChannelState,
): { holder: Map<string, bigint>; counterparty: Map<string, bigint> } {
  const e = state.enforcement;
  const sum = (
    htlcs: readonly { offered: boolean; amountMsat: bigint; paymentHash: string }[],
    offered: boolean,
  ) => {
    const m = new Map<string, bigint>();
    for (const h of htlcs) {
      if (h.offered === offered) m.set(h.paymentHash, (m.get(h.paymentHash) ?? 0n) + h.amountMsat);
    }
    return m;
  };
  return {
    holder: sum((e.pendingHolder?.info ?? e.currentHolder?.info)?.htlcs ?? [], true),
    counterparty: sum(e.currentCounterparty?.htlcs ?? [], false),
  };
}

/**
 * What a hash's settled payments add to its outgoing value on the channels of `paid`: each
 * channel counts the most of its in-flight view, and, per side, its latest commitment's outgoing
 * value plus what already left that side settled (an HTLC leaves each side once, so a side's sum
 * is everything sent there; the view covers older commitments still broadcastable).
 */
function paidExtra(
  hash: string,
  paid: Paid,
  ctx: { view(id: string): bigint; state(id: string): ChannelState | undefined },
): bigint {
  let extra = 0n;
  for (const [id, p] of Object.entries(paid)) {
    const view = ctx.view(id);
    const s = ctx.state(id);
    let side: bigint;
    if (s === undefined) {
      side = view + (p.holderMsat > p.counterpartyMsat ? p.holderMsat : p.counterpartyMsat);
    } else {
      const l = latestOutgoing(s);
      const h = (l.holder.get(hash) ?? 0n) + p.holderMsat;
      const c = (l.counterparty.get(hash) ?? 0n) + p.counterpartyMsat;
      side = h > c ? h : c;
    }
    if (side > view) extra += side - view;
  }
  return extra;
}

function samePaid(a: Paid, b: Paid): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length &&
    ka.every((k, i) =>
      k === kb[i] && a[k].holderMsat === b[k].holderMsat &&
      a[k].counterpartyMsat === b[k].counterpartyMsat
    );
}

/** A payment we approved to send: an invoice or a keysend (preapprove_invoice / _keysend). */
export const ApprovedPaymentSchema = z.object({
  kind: z.enum(["invoice", "keysend"]),
  paymentHash: z.string(),
  /** The amount approved (0 for an amountless invoice). */
  amountMsat: z.bigint(),
  /** The payee's node id (hex), when known. */
  payee: z.string(),
  /** When it was approved (unix seconds). */
  approvedAt: z.number().int(),
  /** When it expires (unix seconds). */
  expiresAt: z.number().int(),
  /** SHA-256 of the invoice string (empty for keysends): the same hash with another invoice is a conflict. */
  invoiceHash: z.string(),
});

/** See {@link ApprovedPaymentSchema}. */
export type ApprovedPayment = z.infer<typeof ApprovedPaymentSchema>;

/** How long an approved invoice is kept after it expires (VLS: 24 hours). */
export const APPROVAL_GRACE_SECONDS = 24 * 3600;

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function isPrunedMarker(value: unknown): boolean {
  return typeof value === "object" && value !== null &&
    (value as { pruned?: unknown }).pruned === true &&
    Object.keys(value).length === 1;
}

interface Versioned<T> {
  value: T;
  version: number;
}

/** A channel's views from the commitments it can still broadcast (core/node/payments.ts). */
export function channelViews(state: ChannelState): ChannelPayments {
  return channelPayments(broadcastable(state.enforcement));
}

/**
 * How the request's new commitment (ours, or the peer's) left the HTLCs its predecessor of the
 * same side carried (core/node/payments.ts `settlements`); null when it adds no commitment after
 * another (a retry, commitment 0).
 */
function requestSettlements(
  before: ChannelState,
  next: ChannelState,
  ctx: {
    isForward(hash: string): boolean;
    outgoingSettled(hash: string): boolean;
    isApproved(hash: string): boolean;
  },
): (Settlements & { ours: boolean }) | null {
  const setup = next.setup;
  if (setup === null) return null;
  const [a, b] = [before.enforcement, next.enforcement];
  const holderBefore = a.pendingHolder?.info ?? a.currentHolder?.info;
  const holderNext = b.pendingHolder?.info ?? b.currentHolder?.info;
  const counterpartyBefore = a.currentCounterparty;
  const counterpartyNext = b.currentCounterparty;
  const transition = holderBefore && holderNext && holderNext.number > holderBefore.number
    ? { previous: holderBefore, next: holderNext, ours: true }
    : counterpartyBefore && counterpartyNext && counterpartyNext.number > counterpartyBefore.number
    ? { previous: counterpartyBefore, next: counterpartyNext, ours: false }
    : null;
  if (transition === null) return null;
  const read = settlements(transition, {
    channelValueSat: setup.channelValueSat,
    weOpened: setup.isOutbound,
    anchors: isAnchors(setup),
    ...ctx,
  });
  return { ...read, ours: transition.ours };
}

/** The result of {@link PaymentBook.assess}. */
export interface PaymentAssessment {
  /** The `payments` facts. */
  facts: PaymentFactsT[];
  /** The channel's views after the request. */
  views: ChannelPayments;
  /** Whether they differ from the stored ones. */
  changed: boolean;
  /** The `node/settled` hashes after the request. */
  settled: Set<string>;
  /** Whether they differ from the stored ones. */
  settledChanged: boolean;
  /** The `node/paid/<hash>` records this request changes, by hash. */
  paid: Map<string, Paid>;
}

/** See the module documentation. */
export class PaymentBook {
  readonly #views = new Map<string, Versioned<ChannelPayments>>();
  readonly #approved = new Map<string, Versioned<ApprovedPayment>>();
  /** Versions of pruned approvals (a pruned record is overwritten by a marker, never deleted). */
  readonly #pruned = new Map<string, number>();
  readonly #issued = new Map<string, IssuedInvoice>();
  readonly #preimages = new Set<string>();
  /** Forwarded hashes whose outgoing HTLC settled (`node/settled`), with the record's version. */
  #settled: Versioned<Set<string>> | null = null;
  /** Per approved hash, what settled to the peer (`node/paid/<hash>`), with the record's version. */
  readonly #paid = new Map<string, Versioned<Paid>>();

  private constructor() {}

  /** Load the book from the store. */
  static async load(store: Store): Promise<PaymentBook> {
    const book = new PaymentBook();
    for (const e of await store.list(PAYMENT_KEYS.views)) {
      const views = ViewsSchema.parse(fromJson(e.value));
      book.#views.set(e.key.slice(PAYMENT_KEYS.views.length), { value: views, version: e.version });
    }
    for (const e of await store.list(PAYMENT_KEYS.invoices)) {
      const value = fromJson(e.value);
      if (isPrunedMarker(value)) {
        book.#pruned.set(e.key.slice(PAYMENT_KEYS.invoices.length), e.version);
        continue;
      }
      const p = ApprovedPaymentSchema.parse(value);
      book.#approved.set(p.paymentHash, { value: p, version: e.version });
    }
    for (const e of await store.list(PAYMENT_KEYS.issued)) {
      const record = IssuedInvoiceSchema.parse(fromJson(e.value));
      book.#issued.set(e.key.slice(PAYMENT_KEYS.issued.length), record);
    }
    for (const e of await store.list(PAYMENT_KEYS.preimages)) {
      book.#preimages.add(e.key.slice(PAYMENT_KEYS.preimages.length));
    }
    for (const e of await store.list(PAYMENT_KEYS.paid)) {
      const value = PaidSchema.parse(fromJson(e.value));
      book.#paid.set(e.key.slice(PAYMENT_KEYS.paid.length), { value, version: e.version });
    }
    const settled = await store.get(PAYMENT_KEYS.settled);
    if (settled !== undefined) {
      const record = SettledSchema.parse(fromJson(settled.value));
      book.#settled = { value: new Set(record.hashes), version: settled.version };
    }
    return book;
  }

  /** The approved payment for a hash, if any. */
  approved(hash: string): ApprovedPayment | undefined {
    return this.#approved.get(hash)?.value;
  }

  /** Forwarded hashes whose outgoing HTLC settled while an incoming one is still on a channel. */
  get settledHashes(): ReadonlySet<string> {
    return this.#settled?.value ?? new Set();
  }

  /**
   * The payment facts of a commitment request on channel `channel` whose state after the request
   * would be `next`. `ctx.channelState` resolves the channels' states as they are before the
   * request (this channel's included): every channel is read from the commitments it can
   * broadcast now, so a revocation since its last commitment request counts.
   */
  assess(
    channel: string,
    next: ChannelState,
    ctx: { chain: ChainView; channelState(id: string): ChannelState | undefined },
  ): PaymentAssessment {
    const current = ctx.channelState(channel);
    const stored = this.#views.get(channel)?.value ?? {};
    const others: Record<string, ChannelPayments> = {};
    const incoming = incomingHashes(broadcastable(next.enforcement));
    if (current !== undefined) {
      for (const h of incomingHashes(broadcastable(current.enforcement))) incoming.add(h);
    }
    for (const [id, v] of this.#views) {
      if (id === channel) continue;
      const s = ctx.channelState(id);
      others[id] = s === undefined ? v.value : channelViews(s);
      // Without its state, a hash on the channel may be incoming there.
      const hashes = s === undefined
        ? Object.keys(v.value)
        : incomingHashes(broadcastable(s.enforcement));
      for (const h of hashes) incoming.add(h);
    }
    const before = current === undefined ? stored : channelViews(current);
    const views = channelViews(next);
    const after = paymentTotals(others, { channel, views });
    const previous = paymentTotals(others, { channel, views: before });
    const settledBefore = this.settledHashes;
    const moved = current === undefined ? null : requestSettlements(current, next, {
      isForward: (hash) => incoming.has(hash),
      outgoingSettled: (hash) => settledBefore.has(hash),
      isApproved: (hash) => this.#approved.has(hash),
    });
    // What this request's transition settled of approved hashes, added to their records.
    const paid = new Map<string, Paid>();
    for (const [hash, msat] of moved?.settledApprovedMsat ?? []) {
      if (msat === 0n || moved === null) continue;
      const record: Paid = structuredClone(this.#paid.get(hash)?.value ?? {});
      const entry = record[channel] ?? { holderMsat: 0n, counterpartyMsat: 0n };
      record[channel] = moved.ours
        ? { ...entry, holderMsat: entry.holderMsat + msat }
        : { ...entry, counterpartyMsat: entry.counterpartyMsat + msat };
      paid.set(hash, record);
    }
    const viewOf = (views: ChannelPayments | undefined, hash: string) =>
      views?.[hash]?.outgoingMsat ?? 0n;
    // A settled hash is kept while an incoming HTLC with it is on any channel after the request.
    const incomingAfter = incomingHashes(broadcastable(next.enforcement));
    for (const id of Object.keys(others)) {
      const s = ctx.channelState(id);
      const hashes = s === undefined
        ? Object.keys(others[id])
        : incomingHashes(broadcastable(s.enforcement));
      for (const h of hashes) incomingAfter.add(h);
    }
    const settled = new Set(
      [...settledBefore, ...(moved?.settledOutgoing ?? [])].filter((h) => incomingAfter.has(h)),
    );
    const facts: PaymentFactsT[] = [];
    for (const [hash, t] of [...after].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const prev = previous.get(hash);
      const approved = this.#approved.get(hash)?.value;
      // Settled payments of an approved hash count as outgoing: the approval pays once.
      const paidBefore = this.#paid.get(hash)?.value;
      const paidAfter = paid.get(hash) ?? paidBefore;
      const extraBefore = paidBefore === undefined ? 0n : paidExtra(hash, paidBefore, {
        view: (id) => viewOf(id === channel ? before : others[id], hash),
        state: (id) => ctx.channelState(id),
      });
      const extraAfter = paidAfter === undefined ? 0n : paidExtra(hash, paidAfter, {
        view: (id) => viewOf(id === channel ? views : others[id], hash),
        state: (id) => (id === channel ? next : ctx.channelState(id)),
      });
      const outgoing = t.outgoingMsat + extraAfter;
      const previousOutgoing = (prev?.outgoingMsat ?? 0n) + extraBefore;
      let minDepth = Infinity;
      let anyClosed = false;
      for (const id of t.incomingChannels) {
        const s = id === channel ? next : ctx.channelState(id);
        const outpoint = s?.setup?.fundingOutpoint;
        minDepth = Math.min(minDepth, outpoint ? ctx.chain.fundingDepth(outpoint) : 0);
        anyClosed ||= s?.enforcement.closed ?? false;
      }
      facts.push({
        hash,
        incoming_msat: t.incomingMsat,
        outgoing_msat: outgoing,
        previous_outgoing_msat: previousOutgoing,
        outgoing_increased: outgoing > previousOutgoing,
        invoiced: approved !== undefined,
        invoice_amount_msat: approved?.amountMsat ?? 0n,
        issued: this.#issued.has(hash),
        known_before: this.#known(hash, channel, before),
        has_incoming_cltv: t.incomingMsat > 0n,
        incoming_cltv_min: t.incomingCltvMin,
        has_outgoing_cltv: t.outgoingMsat > 0n,
        outgoing_cltv_max: t.outgoingCltvMax,
        preimage_known: this.#preimages.has(hash),
        incoming_min_funding_depth: minDepth === Infinity ? 0 : minDepth,
        incoming_any_closed: anyClosed,
        incoming_failed_after_outgoing_settled: moved?.failedAfterSettled.has(hash) ?? false,
      });
    }
    return {
      facts,
      views,
      changed: !samePayments(stored, views),
      settled,
      settledChanged: !sameSet(settled, settledBefore),
      paid: new Map(
        [...paid].filter(([hash, p]) => !samePaid(p, this.#paid.get(hash)?.value ?? {})),
      ),
    };
  }

  #known(hash: string, channel: string, before: ChannelPayments): boolean {
    if (before[hash] !== undefined || this.#approved.has(hash) || this.#issued.has(hash)) {
      return true;
    }
    for (const [id, v] of this.#views) {
      if (id !== channel && v.value[hash] !== undefined) return true;
    }
    return false;
  }

  /**
   * The writes persisting the request's views for `channel` and the settled hashes (none when
   * unchanged), to go into the request's atomic batch.
   */
  viewWrites(channel: string, assessment: PaymentAssessment): StoreWrite[] {
    const writes: StoreWrite[] = [];
    if (assessment.changed) {
      const stored = this.#views.get(channel);
      writes.push({
        key: PAYMENT_KEYS.views + channel,
        value: toJson(assessment.views),
        version: stored === undefined ? 0 : stored.version + 1,
      });
    }
    if (assessment.settledChanged) {
      writes.push({
        key: PAYMENT_KEYS.settled,
        value: toJson({ hashes: [...assessment.settled].sort() }),
        version: this.#settled === null ? 0 : this.#settled.version + 1,
      });
    }
    for (const [hash, p] of assessment.paid) {
      const stored = this.#paid.get(hash);
      writes.push({
        key: PAYMENT_KEYS.paid + hash,
        value: toJson(p),
        version: stored === undefined ? 0 : stored.version + 1,
      });
    }
    return writes;
  }

  /** Apply {@link PaymentBook.viewWrites} to memory once they are durable. */
  commitViews(channel: string, assessment: PaymentAssessment): void {
    if (assessment.changed) {
      const stored = this.#views.get(channel);
      this.#views.set(channel, {
        value: assessment.views,
        version: stored === undefined ? 0 : stored.version + 1,
      });
    }
    if (assessment.settledChanged) {
      this.#settled = {
        value: assessment.settled,
        version: this.#settled === null ? 0 : this.#settled.version + 1,
      };
    }
    for (const [hash, p] of assessment.paid) {
      const stored = this.#paid.get(hash);
      this.#paid.set(hash, { value: p, version: stored === undefined ? 0 : stored.version + 1 });
    }
  }

  /** What settled to the peer of an approved hash's outgoing HTLCs, per channel (msat). */
  paid(hash: string): Readonly<Record<string, { holderMsat: bigint; counterpartyMsat: bigint }>> {
    return this.#paid.get(hash)?.value ?? {};
  }

  /**
   * Record preimages the node showed us (LDK passes them with commitments): only their hashes
   * are kept. Returns the writes for the hashes not yet known.
   */
  preimageWrites(preimages: readonly Uint8Array[]): { writes: StoreWrite[]; hashes: string[] } {
    const hashes = preimages
      .filter((p) => p instanceof Uint8Array && p.length === 32)
      .map((p) => toHex(sha256(p)))
      .filter((h, i, all) => !this.#preimages.has(h) && all.indexOf(h) === i);
    return {
      hashes,
      writes: hashes.map((h) => ({ key: PAYMENT_KEYS.preimages + h, value: "true", version: 0 })),
    };
  }

  /** Apply {@link PaymentBook.preimageWrites} to memory once durable. */
  commitPreimages(hashes: readonly string[]): void {
    for (const h of hashes) this.#preimages.add(h);
  }

  /** The invoice we issued for `hash`, if any. */
  issued(hash: string): IssuedInvoice | undefined {
    return this.#issued.get(hash);
  }

  /** The writes recording an issued invoice (none when one is already recorded for its hash). */
  issuedWrites(record: IssuedInvoice): StoreWrite[] {
    return this.#issued.has(record.paymentHash)
      ? []
      : [{ key: PAYMENT_KEYS.issued + record.paymentHash, value: toJson(record), version: 0 }];
  }

  /** Apply {@link PaymentBook.issuedWrites} once durable. */
  commitIssued(record: IssuedInvoice): void {
    if (!this.#issued.has(record.paymentHash)) this.#issued.set(record.paymentHash, record);
  }

  #nextVersion(hash: string): number {
    const stored = this.#approved.get(hash)?.version ?? this.#pruned.get(hash);
    return stored === undefined ? 0 : stored + 1;
  }

  /** The writes recording an approved payment (replacing an older one for the hash). */
  approvedWrites(payment: ApprovedPayment): StoreWrite[] {
    return [{
      key: PAYMENT_KEYS.invoices + payment.paymentHash,
      value: toJson(payment),
      version: this.#nextVersion(payment.paymentHash),
    }];
  }

  /** Apply {@link PaymentBook.approvedWrites} once durable. */
  commitApproved(payment: ApprovedPayment): void {
    this.#approved.set(payment.paymentHash, {
      value: payment,
      version: this.#nextVersion(payment.paymentHash),
    });
    this.#pruned.delete(payment.paymentHash);
  }

  /**
   * Approved payments to forget (VLS prunes invoices 24 hours after they expire, keysends at
   * expiry): expired past the grace period and no longer carried by any channel's commitments,
   * so no rule can need them again. Returns the writes (each record overwritten by a small marker,
   * keeping its version) and a `commit` to apply once they are durable.
   */
  pruneApproved(now: number): { writes: StoreWrite[]; commit(): void } {
    const inFlight = new Set<string>();
    for (const v of this.#views.values()) {
      for (const hash of Object.keys(v.value)) inFlight.add(hash);
    }
    const expired = [...this.#approved.values()].filter((a) => {
      const grace = a.value.kind === "keysend" ? 0 : APPROVAL_GRACE_SECONDS;
      return a.value.expiresAt + grace < now && !inFlight.has(a.value.paymentHash);
    });
    return {
      writes: expired.map((a) => ({
        key: PAYMENT_KEYS.invoices + a.value.paymentHash,
        value: toJson({ pruned: true }),
        version: a.version + 1,
      })),
      commit: () => {
        for (const a of expired) {
          this.#approved.delete(a.value.paymentHash);
          this.#pruned.set(a.value.paymentHash, a.version + 1);
        }
      },
    };
  }

  /** Number of approved payments on record. */
  get approvedCount(): number {
    return this.#approved.size;
  }

  /** Number of issued invoices on record. */
  get issuedCount(): number {
    return this.#issued.size;
  }
}
