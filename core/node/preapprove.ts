/**
 * Payment preapprovals (CLN `preapprove_invoice` 38 and `preapprove_keysend` 39, vls.md rows 17
 * and 18): before CLN pays, it asks the signer to approve the invoice or keysend. An approved
 * payment is recorded (`core/signer/payments.ts`, {@link ApprovedPayment}), and the commitment
 * rules then let outgoing HTLCs for its hash pay it (routing balance: outgoing ≤ incoming +
 * invoice + fee).
 *
 * Decoding (no policy: a string that cannot be decoded throws {@link InvoiceDecodeError}):
 *
 * - BOLT #11 ("Encoding Overview", "Human-Readable Part", "Data Part"): bech32 without the
 *   90-character limit, all lower or all upper case, checksum; the currency prefix must be our
 *   network's; the signature (last 104 five-bit values: 64 bytes and a recovery id) over
 *   SHA256(hrp || data) must verify against the `n` field when it has a valid one, and otherwise
 *   the payee is the key it recovers to (low-S required in both cases); a payment hash is
 *   required; the amount must fit in 64 bits.
 * - BOLT #12 invoices, `lni1...` ("Encoding", "Signature Calculation", "Invoices"): the bech32
 *   characters without checksum, `+` joins (optionally followed by whitespace) removed; a TLV
 *   stream with strictly ascending types, minimal integers and no unknown even type;
 *   `invoice_created_at`, `invoice_payment_hash`, `invoice_amount`, `invoice_node_id` and
 *   `signature` are required; the chain (`invreq_chain`, else bitcoin) must be ours; the BIP-340
 *   signature by `invoice_node_id` over the Merkle root of the stream (without the signature
 *   range 240..1000) must verify. `invoice_relative_expiry` defaults to 7200 seconds. Offers
 *   (`lno`), invoice requests (`lnr`) and other BOLT #12 strings are refused with reason
 *   `unsupported`: CLN preapproves invoices only.
 *
 * Operations (pure, like every node operation: a {@link PreapproveContext} and the request in, a
 * {@link NodeOpOutcome} out): {@link preapproveInvoice} and {@link preapproveKeysend} compute the
 * facts of core/node/facts_payment.ts; `next.approvedPayment` is the record to persist (null
 * when the payment is already known); `release()` answers `true`. The approver's answer is an
 * input (`ctx.approval`): the service first calls {@link invoiceApprovalRequest} (or
 * {@link keysendApprovalRequest}), asks its approver when `needsApproval` (VLS asks only for
 * payments that are not already known and, for invoices, not to an allowlisted payee), then runs
 * the operation with the answer:
 *
 * ```ts
 * const ask = invoiceApprovalRequest(ctx, request);
 * const approval = ask.needsApproval ? await approver.approvePayment(ask.request, ctx) : undefined;
 * const outcome = preapproveInvoice({ ...ctx, approval }, request);
 * ```
 *
 * A keysend has no invoice: its payee is the unverified destination (never matched against the
 * allowlist, as VLS) and it gets a pseudo-invoice created now that expires after 60 seconds (VLS
 * `add_keysend`).
 *
 * @module
 */
import { z } from "zod";
import { bech32 } from "@scure/base";
import { concat, equal, toHex, utf8 } from "../bytes.ts";
import {
  ecdsaRecover,
  ecdsaVerify,
  isValidPublicKey,
  schnorrVerify,
  sha256,
  taggedHash,
} from "../crypto/mod.ts";
import { type Network, networkParams } from "../bitcoin/network.ts";
import type { ApprovedPayment } from "../signer/payments.ts";
import type { ApprovalAnswer, PaymentApprovalRequest } from "./approvals.ts";
import type { PreapproveInvoiceFactsT, PreapproveKeysendFactsT } from "./facts_payment.ts";
import {
  DEFAULT_INVOICE_EXPIRY,
  invoiceSigningHash,
  invoiceWellFormed,
  parseInvoiceData,
  parseInvoiceHrp,
} from "./invoice.ts";
import { bolt12SigHash } from "./bolt12.ts";
import {
  type NodeOpOutcome,
  NodeRequestError,
  type NodeSignerKeys,
  nowOf,
  parseRequest,
  zBytes,
} from "./sign_context.ts";

/** The longest invoice string accepted (CLN's `str0` fits in a 65535-byte message). */
export const MAX_INVSTRING_LENGTH = 65535;
/** A keysend's pseudo-expiry in seconds (VLS `add_keysend`). */
export const KEYSEND_EXPIRY = 60;
/** `invoice_relative_expiry` when a BOLT #12 invoice has none. */
export const DEFAULT_BOLT12_EXPIRY = 7200;
/** The largest amount a payment can have (CLN and VLS carry msat in a u64). */
export const MAX_AMOUNT_MSAT = 0xffff_ffff_ffff_ffffn;
/** Characters of an invoice description kept for a human. */
const DESCRIPTION_LIMIT = 160;

/** Why an invoice string could not be decoded. */
export type InvoiceDecodeReason =
  | "encoding" // not bech32 / not the BOLT #12 character set, bad checksum, mixed case
  | "network" // for another network
  | "signature" // the signature does not verify
  | "malformed" // decodes, but a field is missing or invalid
  | "unsupported"; // a BOLT #12 string that is not an invoice (offer, invoice request, ...)

/**
 * An invoice string that cannot be decoded (a request error, not a policy decision; nothing
 * changed). `code` is `malformed` ({@link NodeRequestError}); `reason` says why; the message
 * never quotes the string.
 */
export class InvoiceDecodeError extends NodeRequestError {
  /** Why. */
  readonly reason: InvoiceDecodeReason;

  /**
   * Creates the error.
   * @param reason why the string was refused
   * @param message what was wrong, without the string itself
   */
  constructor(reason: InvoiceDecodeReason, message: string) {
    super("malformed", message);
    this.name = "InvoiceDecodeError";
    this.reason = reason;
  }
}

/** A decoded invoice: what the preapproval needs of it. */
export interface DecodedInvoice {
  /** BOLT #11 or BOLT #12. */
  format: "bolt11" | "bolt12";
  /** The canonical string (lower case; BOLT #12 joins removed). */
  canonical: string;
  /** SHA256 of {@link DecodedInvoice.canonical}, hex: identifies this very invoice. */
  invoiceHash: string;
  /** The payment hash (32 bytes). */
  paymentHash: Uint8Array;
  /** The amount, or null when the invoice has none (BOLT #11 only). */
  amountMsat: bigint | null;
  /** The payee's node id (33 bytes), verified by the signature. */
  payee: Uint8Array;
  /** Creation time, unix seconds. */
  createdAt: number;
  /** Seconds after creation when it expires. */
  expiry: number;
  /** The writer MUSTs hold (see `invoice.well_formed` in core/node/facts_payment.ts). */
  wellFormed: boolean;
  /** The description (BOLT #11 `d`, BOLT #12 `offer_description`), "" when none or not UTF-8. */
  description: string;
}

/** Control and bidirectional-formatting characters become spaces; at most 160 characters. */
export function sanitizeDescription(text: string): string {
  const chars = [...text].map((ch) => {
    const c = ch.codePointAt(0) ?? 0;
    const hidden = c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x200e || c === 0x200f ||
      (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
    return hidden ? " " : ch;
  });
  return chars.length > DESCRIPTION_LIMIT
    ? chars.slice(0, DESCRIPTION_LIMIT - 1).join("") + "…"
    : chars.join("");
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// BOLT #11

/**
 * Decodes a BOLT #11 invoice for `network` (see the module documentation). Throws
 * {@link InvoiceDecodeError}.
 */
export function decodeBolt11(invstring: string, network: Network): DecodedInvoice {
  let decoded: { prefix: string; words: number[] };
  try {
    decoded = bech32.decode(invstring as `${string}1${string}`, false);
  } catch {
    throw new InvoiceDecodeError(
      "encoding",
      "invoice: not a valid bech32 string (character set, case or checksum)",
    );
  }
  const words = Uint8Array.from(decoded.words);
  if (words.length < 7 + 104) {
    throw new InvoiceDecodeError("malformed", "invoice: too short for a timestamp and a signature");
  }
  const hrp = parseHrp(decoded.prefix);
  const expected = networkParams(network).invoicePrefix;
  if (hrp.currency !== expected) {
    throw new InvoiceDecodeError(
      "network",
      `invoice: currency prefix "${hrp.currency}" is not ${network}'s "${expected}"`,
    );
  }
  if (hrp.amountMsat !== null && hrp.amountMsat > MAX_AMOUNT_MSAT) {
    throw new InvoiceDecodeError("malformed", "invoice: the amount does not fit in 64 bits");
  }
  const data = words.subarray(0, words.length - 104);
  const sigBytes = Uint8Array.from(
    bech32.fromWords(Array.from(words.subarray(words.length - 104))),
  );
  const signature = sigBytes.subarray(0, 64);
  const recovery = sigBytes[64];
  let inv;
  try {
    inv = parseInvoiceData(hrp, data);
  } catch (e) {
    throw new InvoiceDecodeError("malformed", (e as Error).message);
  }
  if (inv.paymentHash === null) {
    throw new InvoiceDecodeError("malformed", "invoice: no payment hash (p) field");
  }
  const digest = invoiceSigningHash(utf8(decoded.prefix), data);
  let payee: Uint8Array;
  if (inv.payee !== null && inv.payeeValid) {
    // BOLT #11: "if a valid n field is provided: MUST use the n field to validate the signature".
    payee = inv.payee;
  } else {
    if (recovery > 3) throw new InvoiceDecodeError("signature", "invoice: invalid recovery id");
    try {
      payee = ecdsaRecover(signature, recovery, digest);
    } catch {
      throw new InvoiceDecodeError(
        "signature",
        "invoice: no public key recovers from the signature",
      );
    }
  }
  if (!ecdsaVerify(signature, digest, payee)) {
    throw new InvoiceDecodeError(
      "signature",
      "invoice: the signature does not verify (or is high-S)",
    );
  }
  const description = inv.description === null ? "" : decodeUtf8(inv.description) ?? "";
  const canonical = invstring.toLowerCase();
  return {
    format: "bolt11",
    canonical,
    invoiceHash: toHex(sha256(utf8(canonical))),
    paymentHash: inv.paymentHash,
    amountMsat: hrp.amountMsat,
    payee,
    createdAt: inv.timestamp,
    expiry: inv.expiry ?? DEFAULT_INVOICE_EXPIRY,
    wellFormed: invoiceWellFormed(inv),
    description: sanitizeDescription(description),
  };
}

function parseHrp(prefix: string): ReturnType<typeof parseInvoiceHrp> {
  try {
    return parseInvoiceHrp(prefix);
  } catch (e) {
    throw new InvoiceDecodeError("malformed", (e as Error).message);
  }
}

// ---------------------------------------------------------------------------------------------
// BOLT #12

const BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/**
 * A BOLT #12 string's human-readable prefix and payload ("Encoding"): lower or upper case (not
 * mixed), `+` joins between two bech32 characters removed with the whitespace after them, no
 * checksum. Throws {@link InvoiceDecodeError} (`encoding`).
 */
export function decodeBolt12String(
  text: string,
): { hrp: string; canonical: string; payload: Uint8Array } {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) {
    throw new InvoiceDecodeError("encoding", "bolt12: mixed case");
  }
  const lower = text.toLowerCase();
  let joined = "";
  for (let i = 0; i < lower.length; i++) {
    const c = lower[i];
    if (c !== "+") {
      joined += c;
      continue;
    }
    let j = i + 1;
    while (j < lower.length && /\s/.test(lower[j])) j++;
    const before = lower[i - 1];
    const after = lower[j];
    const bech = (ch: string | undefined) => ch !== undefined && /^[0-9a-z]$/.test(ch);
    if (!bech(before) || !bech(after)) {
      throw new InvoiceDecodeError("encoding", "bolt12: '+' must join two bech32 characters");
    }
    i = j - 1;
  }
  const sep = joined.lastIndexOf("1");
  if (sep <= 0) throw new InvoiceDecodeError("encoding", "bolt12: no '1' separator");
  const hrp = joined.slice(0, sep);
  const data = joined.slice(sep + 1);
  const words: number[] = [];
  for (const ch of data) {
    const v = BECH32_CHARSET.indexOf(ch);
    if (v < 0) throw new InvoiceDecodeError("encoding", "bolt12: a character is not bech32");
    words.push(v);
  }
  let payload: Uint8Array;
  try {
    payload = Uint8Array.from(bech32.fromWords(words));
  } catch {
    throw new InvoiceDecodeError("encoding", "bolt12: invalid padding");
  }
  return { hrp, canonical: joined, payload };
}

/** One TLV record: its type, value and the record's full encoding (type, length, value). */
export interface TlvRecord {
  /** The type. */
  type: bigint;
  /** The value. */
  value: Uint8Array;
  /** The whole record as encoded (type || length || value). */
  raw: Uint8Array;
  /** The encoded type alone. */
  rawType: Uint8Array;
}

function readBigSize(bytes: Uint8Array, at: number): { value: bigint; next: number } {
  const first = bytes[at];
  if (first === undefined) throw new InvoiceDecodeError("malformed", "tlv: truncated bigsize");
  const width = first < 0xfd ? 0 : first === 0xfd ? 2 : first === 0xfe ? 4 : 8;
  if (at + 1 + width > bytes.length) {
    throw new InvoiceDecodeError("malformed", "tlv: truncated bigsize");
  }
  if (width === 0) return { value: BigInt(first), next: at + 1 };
  let value = 0n;
  for (let i = 0; i < width; i++) value = (value << 8n) | BigInt(bytes[at + 1 + i]);
  const min = width === 2 ? 0xfdn : width === 4 ? 0x10000n : 0x100000000n;
  if (value < min) throw new InvoiceDecodeError("malformed", "tlv: non-minimal bigsize");
  return { value, next: at + 1 + width };
}

/**
 * Parses a TLV stream (BOLT #1, "Type-Length-Value Format"): minimal bigsize types and lengths,
 * strictly ascending types, values within the stream. Throws {@link InvoiceDecodeError}.
 */
export function parseTlvStream(bytes: Uint8Array): TlvRecord[] {
  const records: TlvRecord[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const type = readBigSize(bytes, at);
    const length = readBigSize(bytes, type.next);
    const end = length.next + Number(length.value);
    if (length.value > BigInt(bytes.length) || end > bytes.length) {
      throw new InvoiceDecodeError("malformed", "tlv: a value runs past the end of the stream");
    }
    const previous = records[records.length - 1];
    if (previous !== undefined && type.value <= previous.type) {
      throw new InvoiceDecodeError("malformed", "tlv: types are not strictly ascending");
    }
    records.push({
      type: type.value,
      value: bytes.subarray(length.next, end),
      raw: bytes.subarray(start, end),
      rawType: bytes.subarray(start, type.next),
    });
    at = end;
  }
  return records;
}

function branch(a: Uint8Array, b: Uint8Array): Uint8Array {
  const [lo, hi] = compareBytes(a, b) <= 0 ? [a, b] : [b, a];
  return taggedHash("LnBranch", lo, hi);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

function merkle(nodes: (Uint8Array | null)[]): Uint8Array | null {
  if (nodes.length === 1) return nodes[0];
  const half = nodes.length / 2;
  const left = merkle(nodes.slice(0, half));
  const right = merkle(nodes.slice(half));
  if (right === null) return left;
  if (left === null) return right;
  return branch(left, right);
}

/** Whether a TLV type is a signature element (BOLT #12: types 240 through 1000). */
export function isSignatureType(type: bigint): boolean {
  return type >= 240n && type <= 1000n;
}

/**
 * The Merkle root of a TLV stream (BOLT #12, "Signature Calculation"): per record, in order,
 * H("LnLeaf", record) and H("LnNonce" || first record, type) joined by H("LnBranch", lesser ||
 * greater); then pairs of nodes, the tree padded to a power of two so that it is deepest on the
 * first records. Signature elements (types 240..1000) are left out.
 */
export function bolt12MerkleRoot(records: readonly TlvRecord[]): Uint8Array {
  const fields = records.filter((r) => !isSignatureType(r.type));
  if (fields.length === 0) throw new InvoiceDecodeError("malformed", "bolt12: no fields to sign");
  const nonceTag = sha256(concat(utf8("LnNonce"), fields[0].raw));
  const leaves = fields.map((r) =>
    branch(taggedHash("LnLeaf", r.raw), sha256(concat(nonceTag, nonceTag, r.rawType)))
  );
  let size = 1;
  while (size < leaves.length) size *= 2;
  const padded: (Uint8Array | null)[] = [...leaves, ...Array(size - leaves.length).fill(null)];
  return merkle(padded) as Uint8Array;
}

/** The TLV types of a BOLT #12 invoice this signer knows (BOLT #12, "Invoices"). */
const INVOICE_TYPES = new Set([
  0n,
  2n,
  4n,
  6n,
  8n,
  10n,
  12n,
  14n,
  16n,
  18n,
  20n,
  22n, // invreq_metadata, offer_*
  80n,
  82n,
  84n,
  86n,
  88n,
  89n,
  90n,
  91n, // invreq_*
  160n,
  162n,
  164n,
  166n,
  168n,
  170n,
  172n,
  174n,
  176n, // invoice_*
  240n, // signature
]);

function tu(value: Uint8Array, max: number, what: string): bigint {
  if (value.length > max) throw new InvoiceDecodeError("malformed", `bolt12: ${what} is too long`);
  if (value.length > 0 && value[0] === 0) {
    throw new InvoiceDecodeError("malformed", `bolt12: ${what} is not minimally encoded`);
  }
  let n = 0n;
  for (const b of value) n = (n << 8n) | BigInt(b);
  return n;
}

/**
 * Decodes a BOLT #12 invoice (`lni1...`) for `network` (see the module documentation). Throws
 * {@link InvoiceDecodeError}; other BOLT #12 strings are `unsupported`.
 */
export function decodeBolt12Invoice(invstring: string, network: Network): DecodedInvoice {
  const { hrp, canonical, payload } = decodeBolt12String(invstring);
  if (!/^ln[a-z]$/.test(hrp)) {
    throw new InvoiceDecodeError("encoding", "bolt12: not a BOLT #12 string (ln + one letter)");
  }
  if (hrp !== "lni") {
    throw new InvoiceDecodeError(
      "unsupported",
      `bolt12: only invoices (lni) can be preapproved, not "${hrp.slice(0, 8)}"`,
    );
  }
  const records = parseTlvStream(payload);
  const field = (type: bigint) => records.find((r) => r.type === type)?.value;
  for (const r of records) {
    if (r.type % 2n === 0n && !INVOICE_TYPES.has(r.type)) {
      throw new InvoiceDecodeError("malformed", `bolt12: unknown even field ${r.type}`);
    }
  }
  const createdAt = field(164n);
  const paymentHash = field(168n);
  const amount = field(170n);
  const nodeId = field(176n);
  const signature = field(240n);
  if (!createdAt || !paymentHash || !amount || !nodeId || !signature) {
    throw new InvoiceDecodeError(
      "malformed",
      "bolt12: an invoice needs created_at, payment_hash, amount, node_id and signature",
    );
  }
  if (paymentHash.length !== 32) {
    throw new InvoiceDecodeError("malformed", "bolt12: invoice_payment_hash is not 32 bytes");
  }
  if (!isValidPublicKey(nodeId)) {
    throw new InvoiceDecodeError("malformed", "bolt12: invoice_node_id is not a valid point");
  }
  if (signature.length !== 64) {
    throw new InvoiceDecodeError("malformed", "bolt12: signature is not 64 bytes");
  }
  const created = tu(createdAt, 8, "invoice_created_at");
  if (created > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvoiceDecodeError("malformed", "bolt12: invoice_created_at is out of range");
  }
  const relative = field(166n);
  const expiry = relative === undefined
    ? DEFAULT_BOLT12_EXPIRY
    : Number(tu(relative, 4, "invoice_relative_expiry"));
  const amountMsat = tu(amount, 8, "invoice_amount");
  const chain = field(80n) ?? networkParams("bitcoin").genesisHash;
  if (!equal(chain, networkParams(network).genesisHash)) {
    throw new InvoiceDecodeError("network", `bolt12: the invoice is not for ${network}'s chain`);
  }
  const digest = bolt12SigHash("invoice", "signature", bolt12MerkleRoot(records));
  if (!schnorrVerify(signature, digest, nodeId.subarray(1))) {
    throw new InvoiceDecodeError(
      "signature",
      "bolt12: the signature by invoice_node_id does not verify",
    );
  }
  const paths = field(160n);
  const payinfo = field(162n);
  const description = field(10n);
  return {
    format: "bolt12",
    canonical,
    invoiceHash: toHex(sha256(utf8(canonical))),
    paymentHash: paymentHash.slice(),
    amountMsat,
    payee: nodeId.slice(),
    createdAt: Number(created),
    expiry,
    wellFormed: paths !== undefined && paths.length > 0 && payinfo !== undefined,
    description: sanitizeDescription(description ? decodeUtf8(description) ?? "" : ""),
  };
}

/**
 * Decodes an invoice string for `network`: BOLT #12 when it starts with `ln`, one letter and `1`
 * (`lni1`, `lno1`, `lnr1`, ...) or contains a `+` join, BOLT #11 otherwise. Throws
 * {@link InvoiceDecodeError}.
 */
export function decodeInvoiceString(invstring: string, network: Network): DecodedInvoice {
  if (typeof invstring !== "string" || invstring.length === 0) {
    throw new InvoiceDecodeError("encoding", "invoice: empty");
  }
  if (invstring.length > MAX_INVSTRING_LENGTH) {
    throw new InvoiceDecodeError("encoding", "invoice: longer than 65535 characters");
  }
  const lower = invstring.toLowerCase();
  // A BOLT #11 currency has at least two letters (`lnbc1`, `lntb1`, ...), a BOLT #12 type one.
  if (lower.includes("+") || /^ln[a-z]1/.test(lower)) {
    return decodeBolt12Invoice(invstring, network);
  }
  return decodeBolt11(invstring, network);
}

// ---------------------------------------------------------------------------------------------
// Operations

/** The input of the preapproval operations. */
export interface PreapproveContext {
  /** The node's keys (only the network is used). */
  keys: Pick<NodeSignerKeys, "network">;
  /** The signer's clock, unix seconds. */
  now: number;
  /** The approved payment on record for a payment hash (lower-case hex), if any. */
  approvedPayment?: (paymentHash: string) => ApprovedPayment | undefined;
  /** Approved payments on record (default 0). */
  approvedCount?: number;
  /** Whether the allowlist has `payee:<node id>` (default: no allowlist). */
  payeeAllowlisted?: (nodeId: Uint8Array) => boolean;
  /** The approver's answer; absent when it was not asked. */
  approval?: ApprovalAnswer;
}

/** What a preapproval hands to the node state. */
export interface PreapproveNext {
  /** The record to persist, or null when the payment is already known. */
  approvedPayment: ApprovedPayment | null;
}

/** `preapprove_invoice` (CLN 38: `invstring`). */
export const PreapproveInvoiceRequest = z.object({
  /** The BOLT #11 or BOLT #12 invoice string. */
  invstring: z.string().min(1).max(MAX_INVSTRING_LENGTH),
});

/** See {@link PreapproveInvoiceRequest}. */
export type PreapproveInvoiceRequestT = z.infer<typeof PreapproveInvoiceRequest>;

/** `preapprove_keysend` (CLN 39: `destination`, `payment_hash`, `amount_msat`). */
export const PreapproveKeysendRequest = z.object({
  /** The destination node id (33 bytes). */
  destination: zBytes(33).refine(isValidPublicKey, { message: "must be a valid point" }),
  /** The payment hash (32 bytes). */
  paymentHash: zBytes(32),
  /** The amount. */
  amountMsat: z.bigint().min(0n).max(MAX_AMOUNT_MSAT),
});

/** See {@link PreapproveKeysendRequest}. */
export type PreapproveKeysendRequestT = z.infer<typeof PreapproveKeysendRequest>;

/** The approver request of a preapproval and whether the approver must be asked. */
export interface ApprovalAsk {
  /** What to show the approver. */
  request: PaymentApprovalRequest;
  /** False when the payment is already known or (invoices) its payee is allowlisted. */
  needsApproval: boolean;
}

interface Assessed {
  request: PaymentApprovalRequest;
  alreadyKnown: boolean;
  conflicts: boolean;
  payeeAllowlisted: boolean;
  record: ApprovedPayment;
  wellFormed: boolean;
}

function assessInvoice(ctx: PreapproveContext, request: PreapproveInvoiceRequestT): Assessed {
  const req = parseRequest(PreapproveInvoiceRequest, request, "preapprove_invoice");
  const now = nowOf(ctx);
  const inv = decodeInvoiceString(req.invstring, ctx.keys.network);
  const hash = toHex(inv.paymentHash);
  const known = ctx.approvedPayment?.(hash);
  const alreadyKnown = known !== undefined && known.kind === "invoice" &&
    known.invoiceHash === inv.invoiceHash;
  const amount = inv.amountMsat ?? 0n;
  const expiresAt = inv.createdAt + inv.expiry;
  return {
    request: {
      kind: "invoice",
      paymentHash: hash,
      amountMsat: amount,
      hasAmount: inv.amountMsat !== null,
      payee: toHex(inv.payee),
      createdAt: inv.createdAt,
      expiresAt,
      invoiceHash: inv.invoiceHash,
      isBolt12: inv.format === "bolt12",
      description: inv.description,
    },
    alreadyKnown,
    conflicts: known !== undefined && !alreadyKnown,
    payeeAllowlisted: ctx.payeeAllowlisted?.(inv.payee) ?? false,
    record: {
      kind: "invoice",
      paymentHash: hash,
      amountMsat: amount,
      payee: toHex(inv.payee),
      approvedAt: now,
      expiresAt,
      invoiceHash: inv.invoiceHash,
    },
    wellFormed: inv.wellFormed,
  };
}

function assessKeysend(ctx: PreapproveContext, request: PreapproveKeysendRequestT): Assessed {
  const req = parseRequest(PreapproveKeysendRequest, request, "preapprove_keysend");
  const now = nowOf(ctx);
  const hash = toHex(req.paymentHash);
  const payee = toHex(req.destination);
  const known = ctx.approvedPayment?.(hash);
  const alreadyKnown = known !== undefined && known.kind === "keysend" && known.payee === payee &&
    known.amountMsat === req.amountMsat;
  return {
    request: {
      kind: "keysend",
      paymentHash: hash,
      amountMsat: req.amountMsat,
      hasAmount: true,
      payee,
      createdAt: now,
      expiresAt: now + KEYSEND_EXPIRY,
      invoiceHash: "",
      isBolt12: false,
      description: "",
    },
    alreadyKnown,
    conflicts: known !== undefined && !alreadyKnown,
    payeeAllowlisted: false, // the destination is not verified (VLS TODO 281)
    record: {
      kind: "keysend",
      paymentHash: hash,
      amountMsat: req.amountMsat,
      payee,
      approvedAt: now,
      expiresAt: now + KEYSEND_EXPIRY,
      invoiceHash: "",
    },
    wellFormed: true,
  };
}

/** What to ask the approver about an invoice, and whether to ask at all. */
export function invoiceApprovalRequest(
  ctx: PreapproveContext,
  request: PreapproveInvoiceRequestT,
): ApprovalAsk {
  const a = assessInvoice(ctx, request);
  return { request: a.request, needsApproval: !a.alreadyKnown && !a.payeeAllowlisted };
}

/** What to ask the approver about a keysend, and whether to ask at all. */
export function keysendApprovalRequest(
  ctx: PreapproveContext,
  request: PreapproveKeysendRequestT,
): ApprovalAsk {
  const a = assessKeysend(ctx, request);
  return { request: a.request, needsApproval: !a.alreadyKnown };
}

function factsOf(ctx: PreapproveContext, a: Assessed): PreapproveInvoiceFactsT {
  const r = a.request;
  return {
    payment: {
      hash: r.paymentHash,
      amount_msat: a.alreadyKnown ? 0n : r.amountMsat,
      has_amount: r.hasAmount,
      payee: r.payee,
      payee_allowlisted: a.payeeAllowlisted,
      already_known: a.alreadyKnown,
      conflicts: a.conflicts,
      approved: ctx.approval === "approve",
      approval_asked: ctx.approval !== undefined,
      approval_pending: ctx.approval === "pending",
      is_keysend: r.kind === "keysend",
    },
    invoice: {
      is_bolt12: r.isBolt12,
      amount_msat: r.amountMsat,
      created_at: r.createdAt,
      expiry: r.expiresAt - r.createdAt,
      expires_at: r.expiresAt,
      now: ctx.now,
      ahead_of_now: r.createdAt - ctx.now,
      well_formed: a.wellFormed,
      invoice_hash: r.invoiceHash,
    },
    sends: { count: 1 },
    table: { approved_count: ctx.approvedCount ?? 0, adds: !a.alreadyKnown },
  };
}

function outcome<F>(
  kind: string,
  facts: F,
  a: Assessed,
): NodeOpOutcome<F, boolean, PreapproveNext> {
  return {
    kind,
    facts,
    next: { approvedPayment: a.alreadyKnown ? null : a.record },
    release: () => true,
  };
}

/**
 * `preapprove_invoice`: decode the invoice and compute the facts (`payment.*`, `invoice.*`,
 * `sends.count`, `table.*`); `next.approvedPayment` is the record to persist (null when already
 * known); `release()` answers `true` (approved) once it is durable.
 */
export function preapproveInvoice(
  ctx: PreapproveContext,
  request: PreapproveInvoiceRequestT,
): NodeOpOutcome<PreapproveInvoiceFactsT, boolean, PreapproveNext> {
  const a = assessInvoice(ctx, request);
  return outcome("preapprove_invoice", factsOf(ctx, a), a);
}

/**
 * `preapprove_keysend`: the same for a keysend (`payment.is_keysend`, payee = the destination,
 * never allowlisted, a pseudo-invoice created now with a 60-second expiry).
 */
export function preapproveKeysend(
  ctx: PreapproveContext,
  request: PreapproveKeysendRequestT,
): NodeOpOutcome<PreapproveKeysendFactsT, boolean, PreapproveNext> {
  const a = assessKeysend(ctx, request);
  return outcome("preapprove_keysend", factsOf(ctx, a), a);
}
