/**
 * Facts of the two payment preapproval kinds (CLN `preapprove_invoice` 38 and
 * `preapprove_keysend` 39; VLS `handle_proposed_invoice` / `handle_proposed_keysend`), as zod
 * schemas; conventions as in core/channel/facts.ts (units in metadata, bytes as lower-case hex
 * marked `type: "bytes"`, every field always present, no secrets).
 *
 * Both kinds have the same three blocks, so one rule can be `on` both:
 *
 * - `payment`: what would be paid, to whom, and what the signer already knows about it: whether
 *   the same payment was approved before (`already_known`), whether the hash is taken by another
 *   invoice (`conflicts`), whether the payee is on the allowlist, and the approver's answer
 *   (`approved`, `approval_pending`), asked by the service before the policy runs.
 * - `invoice`: the invoice's times (a keysend has a pseudo-invoice created now that expires after
 *   60 seconds, as VLS); `now` is the signer's clock.
 * - `sends` and `table`: counts for the merchant-mode and table-size rules.
 *
 * Velocity is a policy `limit` over `payment.amount_msat`: the amount is 0 for a payment that is
 * already known, so that a retry is not counted twice.
 *
 * @module
 */
import { z } from "zod";
import { bytes, int, msat } from "../channel/facts.ts";
import { seconds } from "./facts_sign.ts";

/** The payment a preapproval is about. */
export const PreapprovalPaymentFacts = z.object({
  /** The payment hash. */
  hash: bytes(),
  /**
   * The amount this approval adds to what we may send: the invoice's amount (0 when the invoice
   * has none) or the keysend's amount; 0 when the payment is already known (a retry adds
   * nothing). Velocity limits sum this.
   */
  amount_msat: msat(),
  /** The invoice states an amount (always true for a keysend). */
  has_amount: z.boolean(),
  /**
   * The payee's node id: the BOLT #11 `n` field or the key the signature recovers to, the BOLT #12
   * `invoice_node_id`, or the keysend destination (which the signer cannot verify).
   */
  payee: bytes(),
  /** The payee is on the allowlist as `payee:<node id>` (never true for a keysend, as VLS). */
  payee_allowlisted: z.boolean(),
  /** The same payment (same hash, same invoice; for a keysend same destination and amount) was approved before. */
  already_known: z.boolean(),
  /** The payment hash is already approved for a different invoice (or keysend). */
  conflicts: z.boolean(),
  /**
   * The approver said yes. False when it said no, when its answer is pending, and when it was not
   * asked (already known, or an allowlisted payee; see `approval_asked`).
   */
  approved: z.boolean(),
  /** The approver was asked (the payment was neither already known nor to an allowlisted payee). */
  approval_asked: z.boolean(),
  /** The approver has not decided yet (a queued request): a rule may refuse temporarily. */
  approval_pending: z.boolean(),
  /** A keysend (no invoice). */
  is_keysend: z.boolean(),
});

/** The invoice being approved (a keysend's pseudo-invoice: created now, expiry 60 seconds). */
export const PreapprovedInvoiceFacts = z.object({
  /** A BOLT #12 invoice (`lni1...`). */
  is_bolt12: z.boolean(),
  /** The invoice's own amount (0 when it has none), whether or not it is already known. */
  amount_msat: msat(),
  /** BOLT #11 `timestamp` / BOLT #12 `invoice_created_at`; a keysend: now. */
  created_at: seconds(),
  /** The `x` field (default 3600) / `invoice_relative_expiry` (default 7200); a keysend: 60. */
  expiry: seconds(),
  /** `created_at + expiry`. */
  expires_at: seconds(),
  /** The signer's clock. */
  now: seconds(),
  /** `created_at - now` (negative when the invoice is in the past). */
  ahead_of_now: seconds(),
  /**
   * The invoice meets the writer MUSTs the signer checks: BOLT #11 exactly one `p`, one `d` or
   * `h`, a valid `n` when present, `s` exactly with the `payment_secret` feature, a canonical
   * amount; BOLT #12 every field a reader MUST reject the invoice without (always true for a
   * keysend).
   */
  well_formed: z.boolean(),
  /** SHA256 of the canonical invoice string (lower case, BOLT #12 `+` joins removed); a keysend: "". */
  invoice_hash: bytes(),
});

/** What the request would send. */
export const SendsFacts = z.object({
  /** Outgoing payments the request authorises: 1 for a preapproval. */
  count: int(),
});

/** The table of approved payments. */
export const PaymentTableFacts = z.object({
  /** Approved payments on record before this request. */
  approved_count: int(),
  /** The request adds a record (it is not already known). */
  adds: z.boolean(),
});

/** `preapprove_invoice` (CLN 38): approve paying a BOLT #11 or BOLT #12 invoice. */
export const PreapproveInvoiceFacts = z.object({
  payment: PreapprovalPaymentFacts,
  invoice: PreapprovedInvoiceFacts,
  sends: SendsFacts,
  table: PaymentTableFacts,
});

/** `preapprove_keysend` (CLN 39): approve a spontaneous payment to a node. */
export const PreapproveKeysendFacts = z.object({
  payment: PreapprovalPaymentFacts,
  invoice: PreapprovedInvoiceFacts,
  sends: SendsFacts,
  table: PaymentTableFacts,
});

/** The preapproval kinds of this module and their schemas. */
export const PAYMENT_FACT_KINDS = {
  preapprove_invoice: PreapproveInvoiceFacts,
  preapprove_keysend: PreapproveKeysendFacts,
} as const;

/** What each kind is (for the registry's descriptions). */
export const PAYMENT_KIND_DESCRIPTIONS: Record<keyof typeof PAYMENT_FACT_KINDS, string> = {
  preapprove_invoice: "approve paying a BOLT #11 or BOLT #12 invoice (CLN 38)",
  preapprove_keysend: "approve a keysend payment to a node (CLN 39)",
};

/** See {@link PreapprovalPaymentFacts}. */
export type PreapprovalPaymentFactsT = z.infer<typeof PreapprovalPaymentFacts>;
/** See {@link PreapprovedInvoiceFacts}. */
export type PreapprovedInvoiceFactsT = z.infer<typeof PreapprovedInvoiceFacts>;
/** See {@link PreapproveInvoiceFacts}. */
export type PreapproveInvoiceFactsT = z.infer<typeof PreapproveInvoiceFacts>;
/** See {@link PreapproveKeysendFacts}. */
export type PreapproveKeysendFactsT = z.infer<typeof PreapproveKeysendFacts>;
