/**
 * `approvals` through the real entry point: a signer-like QueueApprover holding the data
 * directory's store open queues requests; the command lists them and decides them; the queue
 * answers the next ask with the decision. Errors are one line; decisions are audited.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { SqliteStore, STATE_FILE } from "../../../core/store/mod.ts";
import { approvalId, QueueApprover } from "../../../core/node/approvals.ts";
import type { PaymentApprovalRequest } from "../../../core/node/approvals.ts";
import { readAuditLog } from "../../../policy/audit.ts";
import { cli, dataDir, failed, okJson } from "./_run.ts";

const NOW = Math.floor(Date.now() / 1000);

const REQUEST: PaymentApprovalRequest = {
  kind: "invoice",
  paymentHash: "ab".repeat(32),
  amountMsat: 250_000_000n,
  hasAmount: true,
  payee: "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad",
  createdAt: NOW - 10,
  expiresAt: NOW + 600,
  invoiceHash: "cd".repeat(32),
  isBolt12: false,
  description: "1 cup coffee",
};

Deno.test("approvals: the signer queues, the command decides, the signer reads the answer", async () => {
  const dir = await dataDir("regtest");
  const store = await SqliteStore.open(join(dir, STATE_FILE));
  try {
    const queue = new QueueApprover({ store });
    deepStrictEqual(okJson(await cli("approvals", "list", "--data-dir", dir)), { approvals: [] });

    strictEqual(await queue.approvePayment(REQUEST, { now: NOW }), "pending");
    const keysend = { ...REQUEST, kind: "keysend" as const, paymentHash: "ef".repeat(32) };
    strictEqual(await queue.approvePayment(keysend, { now: NOW + 1 }), "pending");
    const id = approvalId({ payment: REQUEST });
    const kid = approvalId({ payment: keysend });

    const listed = okJson(await cli("approvals", "list", "--data-dir", dir)) as {
      approvals: Record<string, unknown>[];
    };
    deepStrictEqual(listed.approvals[0], {
      version: 1,
      id,
      kind: "invoice",
      status: "pending",
      requestedAt: NOW,
      expiresAt: NOW + 600,
      decidedAt: null,
      payment: {
        payee: REQUEST.payee,
        amountMsat: "250000000",
        hasAmount: true,
        paymentHash: REQUEST.paymentHash,
        createdAt: NOW - 10,
        expiresAt: NOW + 600,
        description: "1 cup coffee",
        isBolt12: false,
      },
      onchain: null,
    });
    deepStrictEqual(listed.approvals.map((a) => a.id), [id, kid]);

    const approved = okJson(
      await cli("approvals", "approve", id.toUpperCase(), "--data-dir", dir, "--now", `${NOW + 5}`),
    );
    strictEqual(approved.id, id);
    strictEqual(approved.status, "approved");
    strictEqual(approved.changed, true);
    strictEqual((approved.entry as { decidedAt: number }).decidedAt, NOW + 5);
    // The running signer sees the decision on its next ask.
    strictEqual(await queue.approvePayment(REQUEST, { now: NOW + 6 }), "approve");

    const denied = okJson(await cli("approvals", "deny", kid, "--data-dir", dir));
    deepStrictEqual([denied.status, denied.changed], ["denied", true]);
    strictEqual(await queue.approvePayment(keysend, { now: NOW + 7 }), "deny");

    // Deciding again the same way changes nothing; the other way is refused.
    strictEqual(okJson(await cli("approvals", "approve", id, "--data-dir", dir)).changed, false);
    failed(
      await cli("approvals", "deny", id, "--data-dir", dir),
      1,
      new RegExp(`^error: approval request ${id} was already approved$`),
    );
    // After expiry: not listed (except with --all) and no longer decidable.
    const later = `${NOW + 10_000}`;
    deepStrictEqual(okJson(await cli("approvals", "list", "--data-dir", dir, "--now", later)), {
      approvals: [],
    });
    strictEqual(
      (okJson(await cli("approvals", "list", "--all", "--data-dir", dir, "--now", later))
        .approvals as unknown[]).length,
      2,
    );
    failed(
      await cli("approvals", "approve", kid, "--data-dir", dir, "--now", later),
      1,
      new RegExp(`^error: approval request ${kid} has expired$`),
    );
  } finally {
    await store.close();
  }
  const records = await readAuditLog(join(dir, "audit.log"));
  deepStrictEqual(
    records.map((r) => [r.kind, (r as unknown as { entry: string }).entry]),
    [["approval_approve", approvalId({ payment: REQUEST })], [
      "approval_deny",
      approvalId({ payment: { ...REQUEST, kind: "keysend", paymentHash: "ef".repeat(32) } }),
    ]],
  );
});

Deno.test("approvals: bad ids and usage give one error line", async () => {
  const dir = await dataDir("regtest");
  failed(
    await cli("approvals", "approve", "0123456789abcdef", "--data-dir", dir),
    1,
    /^error: no approval request 0123456789abcdef$/,
  );
  failed(
    await cli("approvals", "approve", "xyz", "--data-dir", dir),
    2,
    /an approval id is 16 hex characters/,
  );
  failed(await cli("approvals", "deny", "--data-dir", dir), 2, /deny takes exactly 1 argument/);
  failed(
    await cli("approvals", "approve", "0123456789abcdef", "--all", "--data-dir", dir),
    2,
    /--all is an option of list only/,
  );
  failed(
    await cli("approvals", "list", "--data-dir", dir, "--now", "soon"),
    2,
    /--now must be a number of seconds/,
  );
  const help = await cli("help", "approvals");
  strictEqual(help.code, 0);
  ok(help.stdout.startsWith("usage: mod.ts approvals list --data-dir DIR [--all]\n"));
});
