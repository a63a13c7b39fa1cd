/**
 * Replays the LDK traffic recordings (tests/traffic/ldk_*.jsonl, written by record_traffic.ts)
 * against a fresh signer with the same seed, policy and payment approval (B an allowlisted
 * payee): the recorded blocks rebuild its chain and clock, A's recorded preapprovals approve its
 * payments again, every reply must be the recorded one (RFC 6979 signatures are deterministic)
 * and nothing may be refused.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { MemoryStore } from "../../core/store/memory.ts";
import type { Signer } from "../../core/signer/signer.ts";
import type { Decision } from "../../policy/engine.ts";
import { openSignerA } from "./warden_node.ts";
import { RECORDING_APPROVAL } from "./record_traffic.ts";
import { parseTraffic, replayTraffic, type TrafficRecord } from "./warden_traffic.ts";

const DIR = new URL("../traffic/", import.meta.url);

/** The methods each recording must contain (what makes it worth keeping). */
const EXPECTED: Record<string, string[]> = {
  "ldk_open_pay_close.jsonl": [
    "addBlock",
    "preapproveInvoice",
    "setupChannel",
    "signCounterpartyCommitment",
    "validateHolderCommitment",
    "revokeHolderCommitment",
    "validateCounterpartyRevocation",
    "signMutualClose",
  ],
  "ldk_force_close.jsonl": [
    "preapproveInvoice",
    "signHolderCommitment",
    "signHolderHtlcTx",
    "signDelayedSweep",
  ],
  "ldk_breach.jsonl": ["preapproveInvoice", "signJusticeSweep"],
  "ldk_anchors.jsonl": ["preapproveInvoice", "signAnchorSpend", "signHolderHtlcTx"],
};

async function freshSigner(): Promise<Signer<Decision>> {
  return (await openSignerA({ store: new MemoryStore(), approval: RECORDING_APPROVAL })).signer;
}

for (const [file, methods] of Object.entries(EXPECTED)) {
  Deno.test(`traffic replay: ${file}`, async () => {
    const records: TrafficRecord[] = parseTraffic(await Deno.readTextFile(new URL(file, DIR)));
    ok(records.length > 0);
    // One reply per request, same sequence number, same method.
    const requests = records.filter((r) => r.dir === "request");
    const replies = records.filter((r) => r.dir === "reply");
    strictEqual(replies.length, requests.length);
    deepStrictEqual(
      replies.map((r) => `${r.seq}:${r.method}`).sort(),
      requests.map((r) => `${r.seq}:${r.method}`).sort(),
    );
    for (const r of replies) {
      ok("ok" in (r.body as object), `recorded reply ${r.seq} is not an error`);
    }
    const result = await replayTraffic(records, { api: await freshSigner() });
    deepStrictEqual(result.mismatches, []);
    strictEqual(result.errors, 0, "zero refusals");
    strictEqual(result.requests, requests.length);
    for (const m of methods) ok((result.methods[m] ?? 0) > 0, `${file} has ${m}`);
  });
}

Deno.test("traffic replay: a changed reply is reported", async () => {
  const file = "ldk_open_pay_close.jsonl";
  const records = parseTraffic(await Deno.readTextFile(new URL(file, DIR)));
  const i = records.findIndex((r) =>
    r.dir === "reply" && r.method === "signCounterpartyCommitment"
  );
  ok(i > 0);
  const body = records[i].body as { ok: { signature: Uint8Array } };
  const forged = body.ok.signature.slice();
  forged[10] ^= 1;
  const changed = records.map((r, j) =>
    j === i ? { ...r, body: { ok: { ...body.ok, signature: forged } } } : r
  );
  const result = await replayTraffic(changed, { api: await freshSigner() });
  strictEqual(result.mismatches.length, 1);
  strictEqual(result.mismatches[0].seq, records[i].seq);
  strictEqual(result.mismatches[0].method, "signCounterpartyCommitment");
});
