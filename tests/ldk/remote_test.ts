/**
 * Warden as a SEPARATE PROCESS behind a real LDK node: `mod.ts run` with least-privilege flags
 * (data directory from `mod.ts init --key-style ldk --seed-hex <A's seed>`, rules/default.policy,
 * `--approver positive`) serves node A's `WardenSignerProvider` through `RemoteSignerApi` over
 * TCP, WebSocket and a serial line (socat pty pair). Honest scenarios, each over every transport
 * (open, payments both ways and a cooperative close; force closes by either side; a breach) and an
 * anchors channel over TCP: zero refusals, balances on chain. Over TCP and WebSocket the signer is
 * SIGKILLed once mid-payment and restarted, and the channel continues from the requests the node
 * link re-sends.
 */
import { ok, strictEqual } from "node:assert/strict";
import { RemoteHarness, type RemoteTransport } from "./remote_node.ts";
import {
  anchors,
  breach,
  forceCloseByA,
  forceCloseByB,
  type KillReport,
  openPayClose,
} from "./remote_scenarios.ts";

/** Payments each way in the open/pay/close scenarios. */
const PAYMENTS = 20;

async function run(
  transport: RemoteTransport,
  f: (w: RemoteHarness) => Promise<void>,
): Promise<void> {
  const w = await RemoteHarness.create({ transport });
  try {
    await f(w);
  } finally {
    await w.close();
  }
}

// Over TCP and WebSocket the signer is SIGKILLed with requests outstanding and started again.
for (const [transport, killAt] of [["tcp", 7], ["websocket", 12]] as const) {
  Deno.test(
    `remote/ldk ${transport}: open, ${PAYMENTS} payments each way, the signer SIGKILLed and ` +
      "restarted mid-payment, cooperative close",
    () =>
      run(transport, async (w) => {
        let kill: KillReport | undefined;
        await openPayClose(w, { n: PAYMENTS, killAt, onKill: (r) => (kill = r) });
        ok(kill, "the signer was killed");
        strictEqual(kill.signal, "SIGKILL");
        ok(kill.pendingAtKill > 0, "requests were outstanding when the signer died");
        // Two signer processes, two connections, two inits; the unanswered requests went again.
        strictEqual(w.processes.length, 2);
        strictEqual(w.link.stats.connections, 2);
        strictEqual(w.link.stats.handshakes, 2);
        ok(w.link.stats.resent >= 1, `re-sent ${w.link.stats.resent}`);
        strictEqual(w.link.pending, 0);
      }),
  );
}

// The on-chain scenarios over every transport.
for (const transport of ["tcp", "websocket", "serial"] as const) {
  Deno.test(`remote/ldk ${transport}: force close by A with an HTLC, HTLC-timeout, delayed sweeps`, () =>
    run(transport, forceCloseByA));

  Deno.test(`remote/ldk ${transport}: force close by B, A claims its HTLC from B's commitment`, () =>
    run(transport, forceCloseByB));

  Deno.test(`remote/ldk ${transport}: a revoked commitment of B confirmed, A's justice txs`, () =>
    run(transport, breach));
}

Deno.test(
  "remote/ldk tcp: anchors channel, force close in a fee spike: anchor CPFP, zero-fee HTLC-timeout",
  () => run("tcp", (w) => anchors(w, { payments: 3 })),
);

Deno.test(`remote/ldk serial: open, ${PAYMENTS} payments each way, cooperative close`, () =>
  run("serial", async (w) => {
    await openPayClose(w, { n: PAYMENTS });
    strictEqual(w.link.stats.connections, 1);
    // Lock-step: never more than one request on the line.
    strictEqual(w.link.inFlight, 0);
  }));
