/**
 * What every node-level signing operation receives and returns (gossip, invoices, signed
 * messages, BOLT-12, ECDH, `derive_secret`, heartbeats). Like the channel operations
 * (core/channel/ops/context.ts), an operation is a pure function of a {@link NodeSignContext} and
 * its request that returns a {@link NodeOpOutcome}: the request kind, the facts for the policy,
 * the node-state data to persist if the policy allows (`next`), and `release()`, which computes
 * the reply and is called only after that data is durable.
 *
 * Requests that cannot be understood at all (wrong lengths, an invalid point, a message that is
 * not what it claims to be) are not policy decisions: they throw {@link NodeRequestError}.
 *
 * @module
 */
import { z } from "zod";
import type { NodeKeys } from "../keys/types.ts";
import type { ChannelSetup } from "../channel/types.ts";

/** The parts of {@link NodeKeys} the node-level operations use (tests may supply fixed keys). */
export type NodeSignerKeys = Pick<
  NodeKeys,
  | "network"
  | "nodeId"
  | "nodeSecret"
  | "bolt12Secret"
  | "bolt12Pubkey"
  | "accountSecret"
  | "walletPubkey"
  | "deriveSecret"
>;

/** One of our channels as the gossip operations see it (found by short channel id or named). */
export interface KnownChannel {
  /** The peer's node id (33 bytes). */
  peerId: Uint8Array;
  /** Our funding public key of the channel (33 bytes). */
  holderFundingPubkey: Uint8Array;
  /** The negotiated parameters (null for a stub). */
  setup: ChannelSetup | null;
  /** A close (mutual or force) was signed for the channel. */
  closed: boolean;
}

/**
 * An invoice this node signed and remembers (VLS `NodeState.issued_invoices`), returned as `next`
 * by `signInvoice` for the service to persist in the node state. Byte strings are lower-case hex.
 */
export const IssuedInvoiceSchema = z.object({
  /** The invoice's payment hash (the key of the record). */
  paymentHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** SHA256 of the signed invoice data (hrp and data part): identifies this very invoice. */
  invoiceHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** The amount the invoice asks for. */
  amountMsat: z.bigint().min(0n),
  /** Our node id (the payee). */
  payee: z.string().regex(/^[0-9a-f]{66}$/),
  /** The invoice's timestamp, seconds since the epoch. */
  createdAt: z.number().int().min(0),
  /** The invoice's expiry in seconds after `createdAt`. */
  expirySeconds: z.number().int().min(0),
  /** The payment was received (always false when the invoice is signed). */
  isFulfilled: z.boolean(),
});

/** See {@link IssuedInvoiceSchema}. */
export type IssuedInvoice = z.infer<typeof IssuedInvoiceSchema>;

/** The input of every node-level operation. */
export interface NodeSignContext {
  /** The node's keys. */
  keys: NodeSignerKeys;
  /** The current time in seconds since the epoch (the service's clock). */
  now: number;
  /**
   * Our channel with this short channel id, if the node has one (the service maps short channel
   * ids to channels through the funding outpoints it watches). Absent: no channel is known.
   */
  channelByScid?: (shortChannelId: bigint) => KnownChannel | undefined;
  /** The invoice we issued with this payment hash (lower-case hex), if any. */
  issuedInvoice?: (paymentHash: string) => IssuedInvoice | undefined;
}

/** The output of every node-level operation that goes through the policy. */
export interface NodeOpOutcome<F, R, N = null> {
  /** The request kind (the policy's `on` name). */
  kind: string;
  /** The facts the policy evaluates. */
  facts: F;
  /** Node-state data to persist when allowed (`null` when nothing is to be remembered). */
  next: N;
  /** Compute the reply; call only after `next` is durable. */
  release(): R;
}

/** Why a node-level request could not be handled at all. */
export type NodeRequestErrorCode = "malformed" | "unknown-channel" | "invariant";

/** A node-level request that cannot be handled (not a policy decision); nothing changed. */
export class NodeRequestError extends Error {
  /** Machine-readable reason. */
  readonly code: NodeRequestErrorCode;

  /**
   * Creates the error.
   * @param code the reason
   * @param message what was wrong, never secret values
   */
  constructor(code: NodeRequestErrorCode, message: string) {
    super(message);
    this.name = "NodeRequestError";
    this.code = code;
  }
}

/** A zod schema of a byte string, of exactly `length` bytes when given. */
export function zBytes(length?: number): z.ZodType<Uint8Array> {
  const base = z.instanceof(Uint8Array);
  if (length === undefined) return base;
  return base.refine((b) => b.length === length, { message: `must be ${length} bytes` });
}

/** A zod schema of a byte string of `min` to `max` bytes. */
export function zBytesBetween(min: number, max: number): z.ZodType<Uint8Array> {
  return z.instanceof(Uint8Array).refine((b) => b.length >= min && b.length <= max, {
    message: `must be ${min} to ${max} bytes`,
  });
}

/**
 * `request` validated by `schema`; a {@link NodeRequestError} (`malformed`) naming the first bad
 * field otherwise. Zod's messages describe types and lengths, never the values.
 */
export function parseRequest<T>(schema: z.ZodType<T>, request: unknown, what: string): T {
  const parsed = schema.safeParse(request);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.length ? issue.path.join(".") : "request";
  throw new NodeRequestError("malformed", `${what}: ${path}: ${issue?.message ?? "invalid"}`);
}

/** Validates the context's clock (a whole number of seconds since the epoch). */
export function nowOf(ctx: Pick<NodeSignContext, "now">): number {
  const now = ctx.now;
  if (!Number.isSafeInteger(now) || now < 0) {
    throw new NodeRequestError("invariant", "the context's clock is not a time in seconds");
  }
  return now;
}
