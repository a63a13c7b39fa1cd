/**
 * `rules/default.policy` against honest traffic of a real LDK node: the recordings of
 * tests/traffic/ (open, payments each way and close; force closes; a breach; anchors) are
 * replayed against a fresh signer running the default policy, and no rule may refuse or warn.
 *
 * Node A asks its signer to approve every payment before sending it (`preapproveInvoice` with
 * B's BOLT 11 invoice, as CLN's `preapprove_invoice` and VLS's LDK node do); the recordings
 * carry those requests, approved because B is an allowlisted payee. The replay checks that the
 * approved invoices are exactly the payments A's outgoing HTLCs carry (hash and amount), and that
 * the same traffic without them is refused at A's first outgoing HTLC by
 * policy-commitment-htlc-routing-balance and policy-commitment-htlc-offered-hash-matches: the
 * payment rules bite on real traffic, and an honest node's preapprovals satisfy them.
 *
 * This is the honest-traffic check of the rules written against facts that only real traffic
 * exercises fully, above all policy-routing-deltas-only-htlc (fee updates, trimmed HTLCs,
 * anchors, rounding of msat balances).
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { toHex } from "../../core/bytes.ts";
import { MemoryStore } from "../../core/store/memory.ts";
import { decodeBolt11 } from "../../core/node/preapprove.ts";
import type { AuditEntry } from "../../core/signer/signer.ts";
import type { Decision } from "../../policy/engine.ts";
import { harnessNodeId, openSignerA } from "../ldk/warden_node.ts";
import { RECORDING_APPROVAL } from "../ldk/record_traffic.ts";
import { parseTraffic, replayTraffic, type TrafficRecord } from "../ldk/warden_traffic.ts";

const DIR = new URL("../traffic/", import.meta.url);
/** Each recording, with the payments node A sends in it and the commitment requests judged. */
const FILES: Record<string, { payments: number; commitments: number }> = {
  "ldk_open_pay_close.jsonl": { payments: 5, commitments: 43 },
  "ldk_force_close.jsonl": { payments: 2, commitments: 8 },
  "ldk_breach.jsonl": { payments: 2, commitments: 14 },
  "ldk_anchors.jsonl": { payments: 3, commitments: 20 },
};

interface HtlcRecord {
  offered: boolean;
  amountMsat: bigint;
  paymentHash: Uint8Array;
}

/**
 * The payments node A sends in a recording: the HTLCs it offers, by payment hash (the largest
 * total seen in one commitment): received by the peer on the peer's commitments, offered on ours.
 */
function outgoingPayments(records: readonly TrafficRecord[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const r of records) {
    if (r.dir !== "request") continue;
    const ours = r.method === "signCounterpartyCommitment"
      ? (h: HtlcRecord) => !h.offered
      : r.method === "validateHolderCommitment"
      ? (h: HtlcRecord) => h.offered
      : null;
    if (ours === null) continue;
    const request = (r.body as { htlcs?: HtlcRecord[] }[])[0];
    const totals = new Map<string, bigint>();
    for (const h of request.htlcs ?? []) {
      if (!ours(h)) continue;
      const hash = toHex(h.paymentHash);
      totals.set(hash, (totals.get(hash) ?? 0n) + h.amountMsat);
    }
    for (const [hash, total] of totals) {
      if (total > (out.get(hash) ?? 0n)) out.set(hash, total);
    }
  }
  return out;
}

/** The payments A's recorded preapprovals approve: payment hash to invoice amount (and payee). */
function approvedPayments(records: readonly TrafficRecord[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const r of records) {
    if (r.dir !== "request" || !r.method.startsWith("preapprove")) continue;
    strictEqual(r.method, "preapproveInvoice", "A pays B's invoices");
    const invoice = decodeBolt11((r.body as { invstring: string }[])[0].invstring, "regtest");
    strictEqual(toHex(invoice.payee), toHex(harnessNodeId("B")), "the payee is B");
    out.set(toHex(invoice.paymentHash), invoice.amountMsat ?? 0n);
  }
  return out;
}

async function replay(records: readonly TrafficRecord[]): Promise<{
  audit: AuditEntry<Decision>[];
  result: Awaited<ReturnType<typeof replayTraffic>>;
}> {
  const audit: AuditEntry<Decision>[] = [];
  const { signer } = await openSignerA({
    store: new MemoryStore(),
    approval: RECORDING_APPROVAL,
    audit: { append: (e) => Promise.resolve(void audit.push(e)) },
  });
  return { audit, result: await replayTraffic(records, { api: signer }) };
}

function rulesOf(a: AuditEntry<Decision>): string[] {
  return [...a.decision.violations, ...a.decision.warnings].map((v) => v.rule);
}

for (const [file, expected] of Object.entries(FILES)) {
  Deno.test(`honest LDK traffic under the default policy: ${file}`, async () => {
    const records = parseTraffic(await Deno.readTextFile(new URL(file, DIR)));
    const requests = records.filter((r) => r.dir === "request").length;
    // A approved exactly the payments it sent, for their amounts (a direct channel: no fee).
    const payments = outgoingPayments(records);
    deepStrictEqual(approvedPayments(records), payments);
    const { audit, result } = await replay(records);
    deepStrictEqual(result.mismatches, [], "every reply is the recorded one");
    strictEqual(result.errors, 0, "no refusal");
    strictEqual(result.requests, requests);
    const flagged = audit.filter((a) => rulesOf(a).length > 0).map((a) =>
      `${a.kind}: ${rulesOf(a)}`
    );
    deepStrictEqual(flagged, [], "no rule flags honest traffic");
    const commitments = audit.filter((a) =>
      a.kind === "sign_counterparty_commitment" || a.kind === "validate_holder_commitment"
    );
    deepStrictEqual({ payments: payments.size, commitments: commitments.length }, expected);
    strictEqual(audit.filter((a) => a.kind === "preapprove_invoice").length, expected.payments);
  });

  Deno.test(`the same traffic without A's preapprovals is refused: ${file}`, async () => {
    const records = parseTraffic(await Deno.readTextFile(new URL(file, DIR)))
      .filter((r) => !r.method.startsWith("preapprove"));
    const { audit, result } = await replay(records);
    ok(result.errors > 0);
    const first = audit.find((a) => a.decision.violations.length > 0);
    ok(first, "a request was refused");
    // The first refusal is A's first outgoing HTLC: it pays nobody's approved payment and no
    // incoming HTLC with its hash backs it.
    ok(
      first.kind === "sign_counterparty_commitment" || first.kind === "validate_holder_commitment",
      first.kind,
    );
    deepStrictEqual(rulesOf(first), [
      "policy-commitment-htlc-routing-balance",
      "policy-commitment-htlc-offered-hash-matches",
    ]);
    const firstMismatch = result.mismatches[0];
    const firstOffer = records.find((r) =>
      r.dir === "request" && r.method === "signCounterpartyCommitment" &&
      ((r.body as { htlcs: HtlcRecord[] }[])[0].htlcs ?? []).some((h) => !h.offered)
    );
    strictEqual(firstMismatch?.seq, firstOffer?.seq, "refused where A first offers an HTLC");
  });
}
