/**
 * The signer over TCP, measured end to end: the signer runs as its own process (`deno run mod.ts
 * run`, least-privilege flags, a fresh data directory with its SQLite store and audit log,
 * `rules/default.policy`, regtest) and dials a node-side listener on 127.0.0.1 that this bench
 * opens; the bench then plays the node, sending serial frames one at a time (CLN's daemons wait
 * for each hsmd reply) and timing each round trip from the first byte written to the last byte of
 * the reply read. See tests/bench/_transport_signer.ts for the process and its teardown.
 *
 * The traffic is CLN's, recorded from the CLN-like driver (tests/bench/_transport_traffic.ts):
 * `init`, the channel open, then the peer adds 10 HTLCs. Every reply of the signer process is
 * compared byte for byte with the reply of the driver's in-process reference signer (a mismatch
 * fails the bench). Two measurements:
 *
 * 1. **get_per_commitment_point (18)**, a cheap request (a point derivation and a policy check;
 *    never answered from the retry cache): requests per second and p50/p99 latency;
 * 2. **a channel update with 10 HTLCs** as CLN sends it: sign_remote_commitment_tx (19), one
 *    sign_remote_htlc_tx (20) per HTLC, validate_revocation (36), validate_commitment_tx (35),
 *    revoke_commitment_tx (40): 14 round trips. Each update fails the oldest HTLC and adds a new
 *    one, so every request is new to the signer (no retry-cache hits). The driver builds the next
 *    update (the peer's work) outside the measured region.
 *
 * Deno.bench runs each with an explicit warmup; its table shows its own statistics. At the end a
 * summary table gives throughput (one request in flight: 1000 / mean), mean, p50 and p99 computed
 * from this file's own timings after dropping the first `warmup` samples of each bench, per
 * message type too, and, for scale, the p50 of the same requests handled by the reference
 * dispatcher in this process (memory store, no transport, no fsync: the signer's own work), then
 * the signer process's counters (requests served, retry-cache hits, handler errors) from its
 * `signer.stopped` log line and its refusals.
 *
 * Run with `deno bench --allow-all tests/bench/transport_bench.ts`. The figures include one fsync
 * of the SQLite store per state change and the audit log appends, so they depend on the disk.
 *
 * @module
 */
import { equal, toHex } from "../../core/bytes.ts";
import { SignerProcess, type StopReport } from "./_transport_signer.ts";
import { ClnTraffic, type Exchange, HTLCS_IN_FLIGHT, US_SEED } from "./_transport_traffic.ts";

const POINT_RUNS = { n: 2000, warmup: 200 };
const UPDATE_RUNS = { n: 100, warmup: 5 };

/** Per series, in order: round-trip times over TCP and the reference dispatcher's times (ms). */
const samples = new Map<string, { tcp: number[]; reference: number[] }>();
function sample(series: string, ms: { tcp: number; reference: number }): void {
  let lists = samples.get(series);
  if (!lists) samples.set(series, lists = { tcp: [], reference: [] });
  lists.tcp.push(ms.tcp);
  lists.reference.push(ms.reference);
}

function checkReply(x: Exchange, reply: Uint8Array): void {
  if (!equal(reply, x.reply)) {
    throw new Error(
      `${x.name}: the signer process replied ${toHex(reply.subarray(0, 64))}..., ` +
        `the reference ${toHex(x.reply.subarray(0, 64))}...`,
    );
  }
}

const traffic = await ClnTraffic.create();
const signer = await SignerProcess.start(US_SEED);
let report: StopReport | undefined;
globalThis.addEventListener("unload", () => {
  report = signer.stopSync();
  console.log(summary());
});

async function replay(exchanges: Exchange[]): Promise<void> {
  for (const x of exchanges) checkReply(x, await signer.link.request(x.context, x.body));
}

let point: Exchange;
try {
  await replay(await traffic.init());
  await replay(await traffic.open());
  point = await traffic.pointRequest();
} catch (e) {
  signer.stopSync();
  throw e;
}

const POINT_NAME = "get_per_commitment_point (18)";
const UPDATE_NAME =
  `channel update, ${HTLCS_IN_FLIGHT} HTLCs (19, ${HTLCS_IN_FLIGHT} x 20, 36, 35, 40)`;

Deno.bench(POINT_NAME, POINT_RUNS, async (b) => {
  b.start();
  const t0 = performance.now();
  const reply = await signer.link.request(point.context, point.body);
  const ms = performance.now() - t0;
  b.end();
  checkReply(point, reply);
  sample(POINT_NAME, { tcp: ms, reference: await traffic.timeReference(point) });
});

Deno.bench(UPDATE_NAME, UPDATE_RUNS, async (b) => {
  const exchanges = await traffic.update();
  const replies: Uint8Array[] = [];
  const times: number[] = [];
  b.start();
  const t0 = performance.now();
  for (const x of exchanges) {
    const t = performance.now();
    replies.push(await signer.link.request(x.context, x.body));
    times.push(performance.now() - t);
  }
  const ms = performance.now() - t0;
  b.end();
  exchanges.forEach((x, i) => checkReply(x, replies[i]));
  const reference = exchanges.reduce((sum, x) => sum + x.referenceMs, 0);
  sample(UPDATE_NAME, { tcp: ms, reference });
  exchanges.forEach((x, i) => {
    sample(`  ${x.name} (${x.type})`, { tcp: times[i], reference: x.referenceMs });
  });
});

/** The value at percentile `p` (nearest rank) of sorted values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(): string {
  const rows: string[][] = [];
  // The warmup runs' samples: one per run, ten per run for sign_remote_htlc_tx.
  const warmupOf = (series: string) => {
    if (series === POINT_NAME) return POINT_RUNS.warmup;
    return UPDATE_RUNS.warmup * (series.includes("(20)") ? HTLCS_IN_FLIGHT : 1);
  };
  for (const [series, lists] of samples) {
    const skip = warmupOf(series);
    const kept = lists.tcp.slice(skip);
    if (kept.length === 0) continue;
    const sorted = [...kept].sort((a, b) => a - b);
    const mean = kept.reduce((s, v) => s + v, 0) / kept.length;
    const reference = lists.reference.slice(skip).sort((a, b) => a - b);
    const unit = series === UPDATE_NAME ? "updates/s" : "req/s";
    rows.push([
      series,
      String(kept.length),
      `${(1000 / mean).toFixed(1)} ${unit}`,
      `${mean.toFixed(3)} ms`,
      `${percentile(sorted, 50).toFixed(3)} ms`,
      `${percentile(sorted, 99).toFixed(3)} ms`,
      `${percentile(reference, 50).toFixed(3)} ms`,
    ]);
  }
  const head = ["measurement", "samples", "throughput", "mean", "p50", "p99", "in-process p50"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    "| " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(
      " | ",
    ) + " |";
  const out = [
    "",
    "signer over TCP (signer process: deno run mod.ts run; 127.0.0.1; SQLite store; " +
    "rules/default.policy; one request in flight; first `warmup` samples dropped):",
    line(head),
    "| " + widths.map((w, i) => (i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":")).join(" | ") +
    " |",
    ...rows.map(line),
  ];
  if (report) {
    const s = report.stats ?? {};
    out.push(
      report.graceful
        ? `signer process: stopped on SIGTERM; requests ${s.requests}, replies ${s.replies}, ` +
          `retry-cache hits ${s.cached}, handler errors ${s.handlerErrors}; ` +
          `refusals ${report.refused}, error log lines ${report.errors}`
        : `signer process: did not stop within the grace time and was killed; refusals ${report.refused}, error log lines ${report.errors}`,
    );
  }
  return out.join("\n");
}
