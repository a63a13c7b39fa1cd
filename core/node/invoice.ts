/**
 * BOLT #11 invoices we issue: CLN's `sign_invoice` (8) sends the human-readable part and the
 * data part as 5-bit values (without signature and checksum); LDK's `sign_invoice` passes the
 * same two. The signer parses them (BOLT #11, "Human-Readable Part", "Data Part", "Tagged
 * Fields") so the policy sees what it signs, returns the record of the issued invoice for the node
 * state, and signs:
 *
 *   signature = recoverable ECDSA (RFC 6979) with the node key over
 *               SHA256(hrp as UTF-8 || data part packed into bytes, zero-padded to a byte).
 *
 * @module
 */
import { z } from "zod";
import { concat, equal, toHex } from "../bytes.ts";
import {
  ecdsaSignRecoverable,
  isValidPublicKey,
  type RecoverableSignature,
  sha256,
} from "../crypto/mod.ts";
import { networkParams } from "../bitcoin/network.ts";
import type { SignInvoiceFactsT } from "./facts_sign.ts";
import {
  type IssuedInvoice,
  type NodeOpOutcome,
  NodeRequestError,
  type NodeSignContext,
  nowOf,
  parseRequest,
  zBytesBetween,
} from "./sign_context.ts";

/** BOLT #11 tagged field types (the 5-bit value of the field's letter). */
export const INVOICE_FIELDS = {
  p: 1,
  r: 3,
  "9": 5,
  x: 6,
  f: 9,
  t: 11,
  d: 13,
  s: 16,
  n: 19,
  h: 23,
  c: 24,
} as const;

/** Expiry when the invoice has no `x` field (BOLT #11). */
export const DEFAULT_INVOICE_EXPIRY = 3600;
/** `min_final_cltv_expiry` when the invoice has no `c` field (BOLT #11). */
export const DEFAULT_MIN_FINAL_CLTV_EXPIRY = 18;

/** The largest expiry accepted (2^48 - 1 seconds), so `timestamp + expiry` stays exact. */
const MAX_EXPIRY = 2 ** 48 - 1;
const MSAT_PER_BTC = 100_000_000_000n;
const MULTIPLIER_DIVISOR: Record<string, bigint> = { m: 1_000n, u: 1_000_000n, n: 1_000_000_000n };

/** The 5-bit values packed into bytes, most significant bit first, zero-padded to a byte. */
export function packU5(values: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil((values.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const v of values) {
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if (bits > 0) out[o] = (acc << (8 - bits)) & 0xff;
  return out;
}

/** Only the whole bytes of the 5-bit values (a field's data: its padding bits are dropped). */
function u5Bytes(values: Uint8Array): Uint8Array {
  return packU5(values).subarray(0, Math.floor((values.length * 5) / 8));
}

function u5Int(values: Uint8Array): bigint {
  let n = 0n;
  for (const v of values) n = (n << 5n) | BigInt(v);
  return n;
}

/** The human-readable part of an invoice. */
export interface InvoiceHrp {
  /** The currency prefix after `ln` (`bc`, `tb`, `tbs`, `bcrt`). */
  currency: string;
  /** The amount in millisatoshi, or null when the invoice has none. */
  amountMsat: bigint | null;
  /** The amount is written as BOLT #11 requires (positive, no leading zero). */
  amountCanonical: boolean;
}

/**
 * Parses `ln` + currency + optional amount and multiplier (BOLT #11, "Human-Readable Part").
 * Throws {@link NodeRequestError} where a reader MUST fail (an invalid multiplier, a `p` amount
 * not ending in 0).
 */
export function parseInvoiceHrp(hrp: string): InvoiceHrp {
  const m = /^ln([a-z]+)(?:([0-9]+)([munp]?))?$/.exec(hrp);
  if (!m) throw new NodeRequestError("malformed", "invoice: the hrp is not ln<currency>[amount]");
  const [, currency, digits, multiplier] = m;
  if (digits === undefined) return { currency, amountMsat: null, amountCanonical: true };
  const amount = BigInt(digits);
  const canonical = amount > 0n && !digits.startsWith("0");
  let msat: bigint;
  if (multiplier === "p") {
    if (amount % 10n !== 0n) {
      throw new NodeRequestError("malformed", "invoice: a pico amount must end in 0");
    }
    msat = amount / 10n;
  } else if (multiplier === "") {
    msat = amount * MSAT_PER_BTC;
  } else {
    msat = (amount * MSAT_PER_BTC) / MULTIPLIER_DIVISOR[multiplier];
  }
  return { currency, amountMsat: msat, amountCanonical: canonical };
}

/** A parsed invoice (what the signer needs of it). */
export interface ParsedInvoice {
  /** The human-readable part. */
  hrp: InvoiceHrp;
  /** `timestamp`. */
  timestamp: number;
  /** The first `p` field of the right length (null when none). */
  paymentHash: Uint8Array | null;
  /** Valid `p` fields. */
  paymentHashCount: number;
  /** The first `d` field's bytes (null when none). */
  description: Uint8Array | null;
  /** `d` fields. */
  descriptionCount: number;
  /** The first `d` is valid UTF-8. */
  descriptionUtf8: boolean;
  /** Valid `h` fields. */
  descriptionHashCount: number;
  /** Valid `s` fields. */
  paymentSecretCount: number;
  /** The first valid `n` field (null when none). */
  payee: Uint8Array | null;
  /** The first valid `n` is a valid point. */
  payeeValid: boolean;
  /** The first `x` field (null when none). */
  expiry: number | null;
  /** The first `c` field (null when none). */
  minFinalCltvExpiry: number | null;
  /** The feature bits of the first `9` field. */
  featureBits: number[];
  /** `f` fields. */
  fallbackCount: number;
  /** Hops in all `r` fields. */
  routeHintCount: number;
}

/**
 * Parses the data part (5-bit values, without signature): a 35-bit timestamp then tagged fields
 * (5-bit type, 10-bit length, data). Fields of known types with the wrong length are skipped, as
 * a reader does. Throws {@link NodeRequestError} on a value above 31 or a truncated field.
 */
export function parseInvoiceData(hrp: InvoiceHrp, data: Uint8Array): ParsedInvoice {
  if (data.some((v) => v > 31)) {
    throw new NodeRequestError("malformed", "invoice: a data value is not 5-bit");
  }
  if (data.length < 7) throw new NodeRequestError("malformed", "invoice: no timestamp");
  const inv: ParsedInvoice = {
    hrp,
    timestamp: Number(u5Int(data.subarray(0, 7))),
    paymentHash: null,
    paymentHashCount: 0,
    description: null,
    descriptionCount: 0,
    descriptionUtf8: false,
    descriptionHashCount: 0,
    paymentSecretCount: 0,
    payee: null,
    payeeValid: false,
    expiry: null,
    minFinalCltvExpiry: null,
    featureBits: [],
    fallbackCount: 0,
    routeHintCount: 0,
  };
  let seenFeatures = false;
  let i = 7;
  while (i < data.length) {
    if (i + 3 > data.length) throw new NodeRequestError("malformed", "invoice: truncated field");
    const type = data[i];
    const length = data[i + 1] * 32 + data[i + 2];
    if (i + 3 + length > data.length) {
      throw new NodeRequestError("malformed", "invoice: field longer than the data");
    }
    const field = data.subarray(i + 3, i + 3 + length);
    i += 3 + length;
    switch (type) {
      case INVOICE_FIELDS.p:
        if (length === 52) {
          inv.paymentHashCount++;
          inv.paymentHash ??= u5Bytes(field);
        }
        break;
      case INVOICE_FIELDS.h:
        if (length === 52) inv.descriptionHashCount++;
        break;
      case INVOICE_FIELDS.s:
        if (length === 52) inv.paymentSecretCount++;
        break;
      case INVOICE_FIELDS.n:
        if (length === 53 && inv.payee === null) {
          inv.payee = u5Bytes(field);
          inv.payeeValid = isValidPublicKey(inv.payee);
        }
        break;
      case INVOICE_FIELDS.d:
        inv.descriptionCount++;
        if (inv.description === null) {
          inv.description = u5Bytes(field);
          try {
            new TextDecoder("utf-8", { fatal: true }).decode(inv.description);
            inv.descriptionUtf8 = true;
          } catch {
            inv.descriptionUtf8 = false;
          }
        }
        break;
      case INVOICE_FIELDS.x:
        inv.expiry ??= boundedInt(field, MAX_EXPIRY, "expiry");
        break;
      case INVOICE_FIELDS.c:
        inv.minFinalCltvExpiry ??= boundedInt(field, 0xffffffff, "min_final_cltv_expiry");
        break;
      case INVOICE_FIELDS.f:
        inv.fallbackCount++;
        break;
      case INVOICE_FIELDS.r:
        inv.routeHintCount += Math.floor(u5Bytes(field).length / 51);
        break;
      case INVOICE_FIELDS["9"]:
        if (!seenFeatures) {
          seenFeatures = true;
          for (let j = 0; j < field.length; j++) {
            const base = (field.length - 1 - j) * 5;
            for (let b = 0; b < 5; b++) if (field[j] & (1 << b)) inv.featureBits.push(base + b);
          }
          inv.featureBits.sort((a, b) => a - b);
        }
        break;
    }
  }
  return inv;
}

function boundedInt(field: Uint8Array, max: number, what: string): number {
  const n = u5Int(field);
  if (n > BigInt(max)) throw new NodeRequestError("malformed", `invoice: ${what} is too large`);
  return Number(n);
}

/** The BOLT #11 writer MUSTs this signer checks (see `invoice.well_formed`). */
export function invoiceWellFormed(inv: ParsedInvoice): boolean {
  const secretFeature = inv.featureBits.includes(14) || inv.featureBits.includes(15);
  const oneDescription = (inv.descriptionCount === 1 && inv.descriptionHashCount === 0 &&
    inv.descriptionUtf8) || (inv.descriptionCount === 0 && inv.descriptionHashCount === 1);
  return inv.paymentHashCount === 1 && oneDescription &&
    (inv.payee === null || inv.payeeValid) &&
    (secretFeature ? inv.paymentSecretCount === 1 : inv.paymentSecretCount === 0) &&
    inv.hrp.amountCanonical;
}

/** The hash CLN and LDK sign: SHA256(hrp bytes || data part packed and zero-padded). */
export function invoiceSigningHash(hrp: Uint8Array, data: Uint8Array): Uint8Array {
  return sha256(concat(hrp, packU5(data)));
}

/** `sign_invoice` (CLN 8: `u5bytes`, `hrp`). */
export const SignInvoiceRequest = z.object({
  /** The data part as one 5-bit value per byte, without signature. */
  u5bytes: zBytesBetween(7, 65535),
  /** The human-readable part as ASCII bytes (`lnbc2500u`). */
  hrp: zBytesBetween(3, 65535),
});

/** See {@link SignInvoiceRequest}. */
export type SignInvoiceRequestT = z.infer<typeof SignInvoiceRequest>;

/** What {@link signInvoice} hands to the node state. */
export interface InvoiceNext {
  /** The invoice to remember as issued (null when it has no positive amount, as VLS). */
  issuedInvoice: IssuedInvoice | null;
}

/**
 * Sign a BOLT #11 invoice we issue. Facts: `invoice.*` (SignInvoiceFacts). `next` is the issued
 * invoice record for the node state (VLS records invoices with an amount above 0). Releases the
 * recoverable signature (64-byte compact signature and recovery id).
 */
export function signInvoice(
  ctx: NodeSignContext,
  request: SignInvoiceRequestT,
): NodeOpOutcome<SignInvoiceFactsT, RecoverableSignature, InvoiceNext> {
  const req = parseRequest(SignInvoiceRequest, request, "sign_invoice");
  if (req.hrp.some((c) => c < 0x21 || c > 0x7e)) {
    throw new NodeRequestError("malformed", "sign_invoice: the hrp is not printable ASCII");
  }
  const hrpText = new TextDecoder().decode(req.hrp);
  const inv = parseInvoiceData(parseInvoiceHrp(hrpText), req.u5bytes);
  const now = nowOf(ctx);
  const digest = invoiceSigningHash(req.hrp, req.u5bytes);
  const paymentHash = inv.paymentHash ? toHex(inv.paymentHash) : "";
  const issued = paymentHash ? ctx.issuedInvoice?.(paymentHash) : undefined;
  const expiry = inv.expiry ?? DEFAULT_INVOICE_EXPIRY;
  const amount = inv.hrp.amountMsat;
  const facts: SignInvoiceFactsT = {
    invoice: {
      well_formed: invoiceWellFormed(inv),
      currency: inv.hrp.currency,
      network_ok: inv.hrp.currency === networkParams(ctx.keys.network).invoicePrefix,
      has_amount: amount !== null,
      amount_msat: amount ?? 0n,
      payment_hash: paymentHash,
      created_at: inv.timestamp,
      now,
      ahead_of_now: inv.timestamp - now,
      expiry,
      expires_at: inv.timestamp + expiry,
      has_min_final_cltv_expiry: inv.minFinalCltvExpiry !== null,
      min_final_cltv_expiry: inv.minFinalCltvExpiry ?? DEFAULT_MIN_FINAL_CLTV_EXPIRY,
      has_payee: inv.payee !== null,
      payee_ok: inv.payee === null || equal(inv.payee, ctx.keys.nodeId),
      has_description: inv.description !== null,
      description_length: inv.description?.length ?? 0,
      has_description_hash: inv.descriptionHashCount > 0,
      has_payment_secret: inv.paymentSecretCount > 0,
      feature_bits: inv.featureBits,
      fallback_count: inv.fallbackCount,
      route_hint_count: inv.routeHintCount,
      already_issued: issued !== undefined,
      same_as_issued: issued !== undefined && issued.invoiceHash === toHex(digest),
      invoice_hash: toHex(digest),
    },
  };
  const issuedInvoice: IssuedInvoice | null = paymentHash && amount !== null && amount > 0n
    ? {
      paymentHash,
      invoiceHash: toHex(digest),
      amountMsat: amount,
      payee: toHex(ctx.keys.nodeId),
      createdAt: inv.timestamp,
      expirySeconds: expiry,
      isFulfilled: false,
    }
    : null;
  return {
    kind: "sign_invoice",
    facts,
    next: { issuedInvoice },
    release: () => ecdsaSignRecoverable(digest, ctx.keys.nodeSecret.expose()),
  };
}
