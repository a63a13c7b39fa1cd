/**
 * `deno task demo`: Warden as its own locked-down process behind a real LDK node.
 *
 * 1. `mod.ts init` makes the signer's data directory (LDK key style, node A's seed); the signer
 *    starts as `deno run --allow-net=HOST:PORT --allow-read=DIR,rules --allow-write=DIR mod.ts run`
 *    and dials node A over TCP. Started with `--allow-all` instead, it refuses to run.
 * 2. Two LDK nodes (npm `lightningdevkit`) on a simulated chain: A, whose every signature comes
 *    from the signer process, opens a channel to B; they pay each other.
 * 3. Node A turns hostile and asks its signer, over the same connection, to close the channel to
 *    the attacker's address, to sign a revoked commitment (for broadcast) and to reveal the secret
 *    of the current one. Each is refused by a named rule of `rules/default.policy`.
 * 4. The honest traffic goes on: one more payment, a cooperative close paying A's wallet.
 * 5. The account: what the signer's audit log says it signed and what it refused, by which rule.
 *
 * Exits 0 when every step happened as told (every attack refused by its rule, every honest
 * request signed), 1 otherwise.
 *
 * @module
 */
import { fromHex } from "../core/bytes.ts";
import { scriptToAddress } from "../core/bitcoin/address.ts";
import { p2wpkh } from "../core/bitcoin/script.ts";
import type { ChannelId } from "../core/keys/types.ts";
import { PolicyRefusal } from "../core/signer/errors.ts";
import { readAuditLog } from "../policy/audit.ts";
import type { TcpNodeLink } from "../transports/ldk/node_link.ts";
import { RemoteHarness, ROOT, signerCommand } from "../tests/ldk/remote_node.ts";
import { remoteChannel } from "../tests/ldk/remote_scenarios.ts";

/** One attack of the compromised node and what the signer answered. */
export interface DemoAttack {
  /** What the node asked for, in words. */
  attempt: string;
  /** The rule the demo expects to refuse it. */
  expected: string;
  /** The rule ids of the refusal (empty when the signer signed: a failure of the demo). */
  refusedBy: string[];
}

/** One payment of the demo. */
export interface DemoPayment {
  /** Payer. */
  from: string;
  /** Payee. */
  to: string;
  /** Amount (sat). */
  amountSat: bigint;
  /** LDK's outcome. */
  status: string;
}

/** One refusal in the audit log. */
export interface DemoRefusal {
  /** The request kind. */
  kind: string;
  /** The violated rules: id, description, where it is written. */
  rules: { rule: string; description: string; at: string }[];
}

/** What the demo did and saw. */
export interface DemoReport {
  /** The least-privilege command the signer ran with. */
  signerCommand: string;
  /** The signer's answer when started with `--allow-all` (its refusal message). */
  allowAllRefusal: string;
  /** The payments, in order. */
  payments: DemoPayment[];
  /** The attacks, in order. */
  attacks: DemoAttack[];
  /** The cooperative close: what went to A and B, and the fee (sat). */
  close: { A: bigint; B: bigint; feeSat: bigint; txid: string };
  /** Allowed decisions of the audit log, by request kind. */
  signed: Record<string, number>;
  /** Refusals of the audit log, in order. */
  refused: DemoRefusal[];
  /** Whether everything happened as told (the exit status is 0 exactly then). */
  ok: boolean;
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Where the account goes, line by line (default: console.log). */
  print?: (line: string) => void;
}

/** Words of `text` in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

const sat = (x: bigint): string => `${x.toLocaleString("en-US")} sat`;

/** `deno run --allow-all mod.ts run ...`: the signer's permission self-check must refuse. */
async function startWithAllowAll(dataDir: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "mod.ts",
      "run",
      "--data-dir",
      dataDir,
      "--policy",
      "rules/default.policy",
      "--connect",
      "tcp://127.0.0.1:9",
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stderr).trim().replace(/^error: /, "");
  return out.code === 0 ? "" : text;
}

/** Ask, expect a refusal; returns the rule ids (empty when the signer answered). */
async function attempt(f: () => Promise<unknown>): Promise<string[]> {
  try {
    await f();
    return [];
  } catch (e) {
    if (e instanceof PolicyRefusal) return e.rules;
    throw e;
  }
}

/** Runs the demo and prints its account; the report says what happened. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const print = options.print ?? ((l: string) => console.log(l));
  print("Warden demo: a validating Lightning signer in its own locked-down process");
  print("");
  const w = await RemoteHarness.create({ transport: "tcp" });
  try {
    const url = new URL((w.link as TcpNodeLink).url);
    const cmd = signerCommand({ dataDir: w.dataDir, transport: "tcp", url: url.href });
    const signerLine = ["deno run", ...cmd.flags, "mod.ts run", ...cmd.args].join(" ");
    const allowAll = await startWithAllowAll(w.dataDir);
    print("1. The signer process (the node listens, the signer dials it: no open port)");
    print(`   $ ${signerLine}`);
    print(`   started with --allow-all instead, it refuses: ${allowAll.slice(0, 90)}...`);
    print(`   node A (LDK) <-> signer over ${url.href}: hsmd_init negotiated, node id`);
    print(`   ${Array.from(w.remote.nodeId, (b) => b.toString(16).padStart(2, "0")).join("")}`);
    print("");

    print("2. Honest traffic: A opens a channel to B, they pay each other");
    const ch = await w.openChannel({ from: "A", to: "B", valueSat: 1_000_000n });
    print(
      `   channel A->B open: ${sat(ch.valueSat)}, funding ${ch.funding.txid}:${ch.funding.vout}`,
    );
    const payments: DemoPayment[] = [];
    const pay = async (from: string, to: string, amountSat: bigint) => {
      const r = await w.pay({ from, to, amountMsat: amountSat * 1000n });
      payments.push({ from, to, amountSat, status: r.status });
      print(`   payment ${from}->${to} ${sat(amountSat).padStart(11)}: ${r.status}`);
    };
    await pay("A", "B", 50_000n);
    await pay("B", "A", 10_000n);
    await pay("A", "B", 20_000n);
    await pay("B", "A", 4_000n);
    print("");

    print("3. Node A is compromised: over the same connection it asks its signer to steal");
    const { id } = remoteChannel(w, ch);
    const latest = w.requestsOf("validateHolderCommitment").at(-1)?.[0] as {
      number: number;
      values: { toBroadcasterSat: bigint; toCountersignatorySat: bigint };
    };
    const current = latest.number;
    const attacker = p2wpkh(fromHex(`02${"ab".repeat(32)}`));
    const attackerAddress = scriptToAddress(attacker, "regtest");
    const attacks: DemoAttack[] = [];
    const attack = async (
      text: string,
      expected: string,
      f: (id: ChannelId) => Promise<unknown>,
    ) => {
      const refusedBy = await attempt(() => f(id));
      attacks.push({ attempt: text, expected, refusedBy });
      print(
        refusedBy.length === 0
          ? `   SIGNED  ${text}`
          : `   refused ${text}\n           by ${refusedBy.join(", ")}`,
      );
    };
    await attack(
      `a cooperative close paying our ${sat(latest.values.toBroadcasterSat - 1_000n)} ` +
        `to ${attackerAddress}`,
      "policy-mutual-destination-allowlisted",
      (id) =>
        w.remote.signMutualClose(id, {
          values: {
            toHolderSat: latest.values.toBroadcasterSat - 1_000n,
            toCounterpartySat: latest.values.toCountersignatorySat,
            holderScript: attacker,
            counterpartyScript: p2wpkh(fromHex(`03${"cd".repeat(32)}`)),
            holderWalletPath: [],
          },
        }),
    );
    await attack(
      `a signature on revoked commitment #${current - 2}, to broadcast it`,
      "policy-commitment-holder-not-revoked",
      (id) => w.remote.signHolderCommitment(id, current - 2),
    );
    await attack(
      `the secret of current commitment #${current} (its revocation)`,
      "policy-revoke-new-commitment-signed",
      (id) => w.remote.revokeHolderCommitment(id, current),
    );
    await pay("A", "B", 5_000n);
    print("   the signer went on serving the node: the payment above was signed after the attacks");
    print("");

    print("4. Honest close: A closes cooperatively, to the wallet its signer derived");
    const close = await w.cooperativeClose({ by: "A", channel: ch });
    print(`   closing transaction ${close.txid} confirmed`);
    print(
      `   A receives ${sat(close.outputs.A)}, B ${sat(close.outputs.B)}, fee ${sat(close.feeSat)}`,
    );
    await w.settle();
    print("");

    const audit = await readAuditLog(`${w.dataDir}/audit.log`);
    const signed: Record<string, number> = {};
    const refused: DemoRefusal[] = [];
    for (const e of audit) {
      if (e.outcome === "allow") signed[e.kind] = (signed[e.kind] ?? 0) + 1;
      else {
        refused.push({
          kind: e.kind,
          rules: e.violations.map((v) => ({
            rule: v.rule,
            description: v.description,
            at: v.location.replace(`${ROOT}/`, ""),
          })),
        });
      }
    }
    print(`5. The signer's audit log (${audit.length} decisions, one JSON line each, no secrets)`);
    print("   signed:");
    for (const [kind, n] of Object.entries(signed).sort((a, b) => b[1] - a[1])) {
      print(`     ${String(n).padStart(4)}  ${kind}`);
    }
    print("   refused:");
    for (const r of refused) {
      for (const v of r.rules) {
        print(`     ${r.kind}: ${v.rule} (${v.at})`);
        for (const line of wrap(`"${v.description.replace(/\s+/g, " ")}"`, 90)) {
          print(`       ${line}`);
        }
      }
    }

    const okAttacks = attacks.every((a) => a.refusedBy.includes(a.expected));
    const okPayments = payments.every((p) => p.status === "succeeded");
    const okRefusals = refused.length === attacks.length;
    const okClose = close.outputs.A > 0n && close.outputs.B > 0n;
    const ok = okAttacks && okPayments && okRefusals && okClose && allowAll !== "" &&
      w.failures.length === 0;
    print("");
    print(
      ok
        ? "Every honest request was signed; every theft was refused by a named rule."
        : "UNEXPECTED: see above (an attack signed, a payment failed or a refusal missing).",
    );
    return {
      signerCommand: signerLine,
      allowAllRefusal: allowAll,
      payments,
      attacks,
      close: { A: close.outputs.A, B: close.outputs.B, feeSat: close.feeSat, txid: close.txid },
      signed,
      refused,
      ok,
    };
  } finally {
    await w.close();
  }
}

if (import.meta.main) {
  const report = await runDemo();
  Deno.exit(report.ok ? 0 : 1);
}
