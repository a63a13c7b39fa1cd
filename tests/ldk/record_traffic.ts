/**
 * Writes the LDK traffic recordings under tests/traffic/: small honest runs of node A signed by
 * Warden (warden_scenarios.ts, with all their assertions), recorded at the SignerApi boundary.
 * Runs are deterministic (fixed seeds, keys-id seed and chain time), so regenerating gives the
 * same files unless the adapter's requests or the signer's replies change.
 *
 * A asks its signer to approve every payment it sends before sending it (`preapproveInvoice`
 * with B's BOLT 11 invoice, recorded like every other request); the signer approves them because
 * B's node id is on the operator's allowlist ({@link RECORDING_APPROVAL}): a replay must open its
 * signer the same way (`openSignerA` in warden_node.ts, or `payee:<B's node id>` added to a data
 * directory's allowlist).
 *
 * ```sh
 * deno run --allow-all tests/ldk/record_traffic.ts
 * ```
 *
 * traffic_replay_test.ts replays each file against a fresh signer.
 *
 * @module
 */
import { type PaymentApproval, WardenHarness } from "./warden_node.ts";
import { anchors, breach, forceCloseByA, openPayClose } from "./warden_scenarios.ts";

/** The recordings: file name (under tests/traffic/) and the scenario. */
export const RECORDINGS: readonly { file: string; run: (w: WardenHarness) => Promise<void> }[] = [
  { file: "ldk_open_pay_close.jsonl", run: (w) => openPayClose(w, { outbound: true, n: 5 }) },
  { file: "ldk_force_close.jsonl", run: forceCloseByA },
  { file: "ldk_breach.jsonl", run: breach },
  // Up to the anchor CPFP and the fee-bumped HTLC-timeout (the delayed sweeps are recorded in
  // ldk_force_close.jsonl; 144 more blocks would double the file).
  { file: "ldk_anchors.jsonl", run: (w) => anchors(w, { payments: 2, sweep: false }) },
];

/** How A's signer approves A's payments in the recordings: B is an allowlisted payee. */
export const RECORDING_APPROVAL: PaymentApproval = "allowlist";

/** Run one recording and return its lines. */
export async function record(run: (w: WardenHarness) => Promise<void>): Promise<string[]> {
  const w = await WardenHarness.create({ record: true, approval: RECORDING_APPROVAL });
  try {
    await run(w);
    return w.recorder?.lines.slice() ?? [];
  } finally {
    await w.close();
  }
}

if (import.meta.main) {
  const dir = new URL("../traffic/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  for (const r of RECORDINGS) {
    const lines = await record(r.run);
    await Deno.writeTextFile(new URL(r.file, dir), lines.join("\n") + "\n");
    console.log(`${r.file}: ${lines.length} lines`);
  }
}
