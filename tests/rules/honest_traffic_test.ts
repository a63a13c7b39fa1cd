/**
 * `rules/default.policy` against honest traffic of a real LDK node: the recordings of
 * tests/traffic/ (open, 50 payments each way and close; force closes; a breach; anchors) are
 * replayed against a fresh signer running the default policy, and no rule may refuse or warn.
 *
 * LDK has no preapproval call: a node using Warden (as VLS's LDK users call `add_invoice`) must
 * approve its payments before sending them, else policy-commitment-htlc-routing-balance and
 * policy-commitment-htlc-offered-hash-matches refuse its outgoing HTLCs. The replay does so
 * first: every payment hash node A offers in the recording is approved as a keysend of its amount.
 * Preapprovals change no signature, so every reply must still be the recorded one.
 *
 * This is the honest-traffic check of the rules written against facts that only real traffic
 * exercises fully, above all policy-routing-deltas-only-htlc (fee updates, trimmed HTLCs,
 * anchors, rounding of msat balances).
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { equal, fromHex, toHex } from "../../core/bytes.ts";
import { publicKey } from "../../core/crypto/mod.ts";
import { nodeKeysFromSeed } from "../../core/keys/mod.ts";
import { MemoryStore } from "../../core/store/memory.ts";
import { walletView } from "../../core/node/wallet.ts";
import { PositiveApprover } from "../../core/node/approvals.ts";
import { type AuditEntry, Signer } from "../../core/signer/signer.ts";
import type { Decision } from "../../policy/engine.ts";
import { defaultPolicy, feeWalletScript, harnessSeed, signerClock } from "../ldk/warden_node.ts";
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

async function replay(file: string): Promise<{
  audit: AuditEntry<Decision>[];
  payments: number;
  result: Awaited<ReturnType<typeof replayTraffic>>;
  requests: number;
}> {
  const records = parseTraffic(await Deno.readTextFile(new URL(file, DIR)));
  const seed = harnessSeed("A");
  const feeWallet = feeWalletScript(seed);
  const keys = nodeKeysFromSeed(seed, { network: "regtest", style: "ldk" });
  const audit: AuditEntry<Decision>[] = [];
  const ref: { signer: Signer<Decision> | null } = { signer: null };
  ref.signer = await Signer.open<Decision>({
    keys,
    store: new MemoryStore(),
    policy: defaultPolicy(),
    clock: signerClock(() => ref.signer),
    audit: { append: (e) => Promise.resolve(void audit.push(e)) },
    approver: new PositiveApprover(),
    wallet: walletView(keys, { allowlisted: (s) => equal(s, feeWallet) }),
  });
  const payments = outgoingPayments(records);
  const destination = publicKey(new Uint8Array(32).fill(0x42));
  for (const [hash, amountMsat] of payments) {
    await ref.signer.preapproveKeysend({ destination, paymentHash: fromHex(hash), amountMsat });
  }
  const result = await replayTraffic(records, { api: ref.signer });
  return {
    audit,
    payments: payments.size,
    result,
    requests: records.filter((r) => r.dir === "request").length,
  };
}

for (const [file, expected] of Object.entries(FILES)) {
  Deno.test(`honest LDK traffic under the default policy: ${file}`, async () => {
    const { audit, payments, result, requests } = await replay(file);
    deepStrictEqual(result.mismatches, [], "every reply is the recorded one");
    strictEqual(result.errors, 0, "no refusal");
    strictEqual(result.requests, requests);
    const flagged = audit.filter((a) =>
      a.decision.violations.length > 0 || a.decision.warnings.length > 0
    ).map((a) =>
      `${a.kind}: ${[...a.decision.violations, ...a.decision.warnings].map((v) => v.rule)}`
    );
    deepStrictEqual(flagged, [], "no rule flags honest traffic");
    const commitments = audit.filter((a) =>
      a.kind === "sign_counterparty_commitment" || a.kind === "validate_holder_commitment"
    );
    deepStrictEqual({ payments, commitments: commitments.length }, expected);
  });
}
