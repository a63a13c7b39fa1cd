/**
 * Node A of the LDK harness with Warden as a SEPARATE PROCESS: `mod.ts run` started with
 * least-privilege flags on a data directory made by `mod.ts init --key-style ldk --seed-hex
 * <A's harness seed>` (so the node ids match), the harness fee wallet on its allowlist (`mod.ts
 * allowlist add`: LDK's fee bumps pay their change there), rules/default.policy and
 * `--approver positive`,
 * dialing node A's link (TCP or WebSocket) or sitting on a socat pty pair (`--serial -`). Node A's
 * `WardenSignerProvider` talks to it through `RemoteSignerApi` over the `NodeLink`; B is plain
 * LDK. The flows are the asynchronous ones both harnesses share (signed_harness.ts).
 *
 * The signer process uses the system clock (as it would in production), so the simulated chain
 * starts two minutes ago with one second between blocks: the invoices LDK dates at its latest
 * block time are then fresh for the signer's `policy-invoice-not-expired`.
 *
 * @module
 */
import { join } from "node:path";
import { equal, fromHex, reverse, toHex } from "../../core/bytes.ts";
import { p2wpkh } from "../../core/bitcoin/script.ts";
import { scriptToAddress } from "../../core/bitcoin/address.ts";
import { decodeTx, type Tx } from "../../core/bitcoin/tx.ts";
import type { ChannelId } from "../../core/keys/types.ts";
import { main } from "../../core/cli/mod.ts";
import { RemoteSignerApi } from "../../transports/ldk/remote_api.ts";
import {
  type NodeLink,
  SerialNodeLink,
  TcpNodeLink,
  WebSocketNodeLink,
} from "../../transports/ldk/node_link.ts";
import { PtyPair } from "../transports/_socat.ts";
import { type Harness, HarnessError } from "./harness.ts";
import {
  chainOutputLookup,
  type SignedChannel,
  SignedHarness,
  type SignedHarnessParts,
  type SignedHarnessTexts,
  startSignedNodes,
} from "./signed_harness.ts";
import { feeWalletScript, harnessNodeId, harnessSeed, PAYOUT_INDEX } from "./signed_harness.ts";
import { TamperingSignerApi } from "./warden_tamper.ts";

/** The repository root. */
export const ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** The policy the signer process runs. */
export const POLICY: string = join(ROOT, "rules", "default.policy");

/** How node A reaches its signer. */
export type RemoteTransport = "tcp" | "websocket" | "serial";

/** A quiet CLI io (the `init` command prints its JSON description). */
function captureIo(): { io: { stdout(t: string): void; stderr(t: string): void }; out: string[] } {
  const out: string[] = [];
  return { io: { stdout: (t) => out.push(t), stderr: (t) => out.push(t) }, out };
}

/** `mod.ts init --key-style ldk --seed-hex <A's seed>` into `dir`; returns the node id it prints. */
export async function initDataDir(dir: string): Promise<string> {
  const { io, out } = captureIo();
  const code = await main([
    "init",
    "--data-dir",
    dir,
    "--network",
    "regtest",
    "--key-style",
    "ldk",
    "--seed-hex",
    toHex(harnessSeed("A")),
  ], io);
  if (code !== 0) throw new HarnessError(`init failed: ${out.join("")}`);
  return JSON.parse(out.join("")).node_id;
}

/**
 * `mod.ts allowlist add address:<A's harness fee wallet> --data-dir DIR`: the operator's
 * allowlist takes the change of LDK's fee bumps (the harness wallet is not the signer's).
 */
export async function allowlistFeeWallet(dir: string): Promise<void> {
  const { io, out } = captureIo();
  const address = scriptToAddress(feeWalletScript(harnessSeed("A")), "regtest");
  const code = await main(["allowlist", "add", `address:${address}`, "--data-dir", dir], io);
  if (code !== 0) throw new HarnessError(`allowlist add failed: ${out.join("")}`);
}

/** The `deno run` flags and `mod.ts run` arguments of the signer process. */
export function signerCommand(
  o: { dataDir: string; transport: RemoteTransport; url?: string },
): { flags: string[]; args: string[] } {
  const read = `--allow-read=${o.dataDir},${join(ROOT, "rules")}`;
  const write = `--allow-write=${o.dataDir}`;
  const common = [
    "--data-dir",
    o.dataDir,
    "--policy",
    POLICY,
    "--approver",
    "positive",
    "--log-level",
    "warn",
  ];
  if (o.transport === "serial") return { flags: [read, write], args: [...common, "--serial", "-"] };
  const hostPort = new URL(o.url as string).host;
  return {
    flags: [`--allow-net=${hostPort}`, read, write],
    args: [...common, "--connect", o.url as string],
  };
}

/** A running `mod.ts run` process (stderr collected). */
export class SignerProcess {
  /** The child. */
  readonly child: Deno.ChildProcess;
  /** Its stderr so far (JSON log lines). */
  stderr = "";
  readonly #drained: Promise<void>;

  private constructor(child: Deno.ChildProcess) {
    this.child = child;
    this.#drained = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) this.stderr += decoder.decode(chunk);
    })().catch(() => undefined);
  }

  /**
   * Starts `deno run <flags> mod.ts run <args>`; with `device` the process's standard input and
   * output are the serial line, opened by the shell (`--serial - 0<>DEVICE 1>&0`).
   */
  static start(o: { flags: string[]; args: string[]; device?: string }): SignerProcess {
    const deno = Deno.execPath();
    const command = o.device === undefined
      ? new Deno.Command(deno, {
        args: ["run", ...o.flags, "mod.ts", "run", ...o.args],
        cwd: ROOT,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      })
      : new Deno.Command("bash", {
        args: [
          "-c",
          `exec "$0" run "$@" 0<>'${o.device}' 1>&0`,
          deno,
          ...o.flags,
          "mod.ts",
          "run",
          ...o.args,
        ],
        cwd: ROOT,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      });
    return new SignerProcess(command.spawn());
  }

  /** The parsed log lines. */
  events(): { level: string; event: string; fields: Record<string, unknown> }[] {
    return this.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  }

  /** Waits until the process logged `event` (fails after `timeoutMs` or when it exits). */
  async waitForEvent(event: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    this.child.status.then(() => (exited = true));
    while (!this.events().some((e) => e.event === event)) {
      if (exited || Date.now() > deadline) {
        throw new HarnessError(`the signer did not log ${event}:\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends `signal` and waits for the exit; returns the status. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
    const status = await this.child.status;
    await this.#drained;
    return status;
  }
}

/** A channel opened through {@link RemoteHarness.openChannel}. */
export type RemoteChannel = SignedChannel;

/** Options of {@link RemoteHarness.create}. */
export interface RemoteHarnessOptions {
  /** The link (default tcp). */
  transport?: RemoteTransport;
}

/** What the remote harness tells LDK. */
const REMOTE_TEXTS: SignedHarnessTexts = {
  invoice: "warden remote harness",
  forceClose: "warden remote test force close",
};

/** The harness with node A signed by a Warden process. */
export class RemoteHarness extends SignedHarness {
  /** The link node A listens on (or the serial line it opened). */
  readonly link: NodeLink;
  /** The remote signer API. */
  readonly remote: RemoteSignerApi;
  /** The request recorder between the adapter and the remote API (no tampering). */
  readonly recorder: TamperingSignerApi;
  /** The transport. */
  readonly transport: RemoteTransport;
  /** Every signer process started, in order (the last one runs). */
  readonly processes: SignerProcess[] = [];
  readonly #root: string;
  readonly #dataDir: string;
  readonly #pair: PtyPair | null;

  private constructor(
    parts: SignedHarnessParts,
    o: Pick<RemoteHarness, "link" | "remote" | "recorder" | "transport"> & {
      process: SignerProcess;
      root: string;
      dataDir: string;
      pair: PtyPair | null;
    },
  ) {
    super(parts);
    this.link = o.link;
    this.remote = o.remote;
    this.recorder = o.recorder;
    this.processes.push(o.process);
    this.transport = o.transport;
    this.#root = o.root;
    this.#dataDir = o.dataDir;
    this.#pair = o.pair;
  }

  /** Make the data directory, start the link and the signer process, build the LDK nodes. */
  static async create(options: RemoteHarnessOptions = {}): Promise<RemoteHarness> {
    const transport = options.transport ?? "tcp";
    const root = await Deno.makeTempDir({ prefix: "warden-remote-" });
    const dataDir = join(root, "signer");
    const nodeIdHex = await initDataDir(dataDir);
    if (nodeIdHex !== toHex(harnessNodeId("A"))) throw new HarnessError("init: another node id");
    await allowlistFeeWallet(dataDir);
    let pair: PtyPair | null = null;
    let link: NodeLink;
    let process: SignerProcess;
    const linkOptions = { requestTimeoutMs: 60_000 };
    if (transport === "serial") {
      // The signer's end must be open before the node writes: a pty drops what was written
      // while nobody held the other end. The shell opens it before the signer starts; its
      // warning about the permissive approver comes after, just before it serves the line.
      pair = await PtyPair.start(root);
      process = SignerProcess.start({ ...signerCommand({ dataDir, transport }), device: pair.a });
      await process.waitForEvent("approver.permissive");
      link = SerialNodeLink.open(pair.b, linkOptions);
    } else {
      const listening = transport === "tcp"
        ? TcpNodeLink.listen(linkOptions)
        : WebSocketNodeLink.listen(linkOptions);
      link = listening;
      process = SignerProcess.start(signerCommand({ dataDir, transport, url: listening.url }));
    }
    const hRef: { h: Harness | null } = { h: null };
    const previousTx = (display: string): Tx | null => {
      const known = hRef.h?.chain.transaction(display)?.chainTx.tx;
      if (known) return known;
      const held = hRef.h?.tap("A").holderCommitments.find((c) => c.commitment_tx.txid === display);
      return held ? decodeTx(fromHex(held.commitment_tx.tx)) : null;
    };
    let remote: RemoteSignerApi;
    try {
      remote = await RemoteSignerApi.connect(link, {
        network: "regtest",
        nodeId: harnessNodeId("A"),
        timeoutMs: 30_000,
        spentOutput: chainOutputLookup(() => hRef.h?.chain ?? null),
        // The node knows the previous transactions of its fee bumps: its chain and wallet, and
        // its own commitments (the anchor's parent is broadcast with the bump, as a package).
        previousTx: (txid) => previousTx(toHex(reverse(txid))),
      });
    } catch (e) {
      await process.stop("SIGKILL");
      await link.close();
      await pair?.stop();
      throw new HarnessError(
        `the signer did not connect: ${(e as Error).message}\n${process.stderr}`,
      );
    }
    const recorder = new TamperingSignerApi(remote);
    // The node knows its wallet's public keys from the signer's account key (init reply).
    const payout = p2wpkh(remote.accountKey.deriveChild(PAYOUT_INDEX).publicKey);
    const { h, provider } = await startSignedNodes({
      api: recorder.api,
      payout,
      chain: { startTime: Math.floor(Date.now() / 1000) - 120, blockInterval: 1 },
    });
    hRef.h = h;
    if (!equal(h.node("A").nodeId, remote.nodeId)) throw new HarnessError("node ids differ");
    return new RemoteHarness(
      { h, provider, requests: recorder, payout, texts: REMOTE_TEXTS },
      { link, remote, recorder, transport, process, root, dataDir, pair },
    );
  }

  /** The signer's data directory (seed, state.sqlite, audit.log). */
  get dataDir(): string {
    return this.#dataDir;
  }

  /** The running signer process. */
  get signer(): SignerProcess {
    return this.processes[this.processes.length - 1];
  }

  /** Kill the signer with SIGKILL (nothing flushed, no goodbye); returns its exit status. */
  killSigner(): Promise<Deno.CommandStatus> {
    return this.signer.stop("SIGKILL");
  }

  /** Start the signer process again on the same data directory. */
  restartSigner(): SignerProcess {
    if (this.transport === "serial") throw new HarnessError("restart over TCP or WebSocket");
    const url = (this.link as TcpNodeLink | WebSocketNodeLink).url;
    const p = SignerProcess.start(
      signerCommand({ dataDir: this.#dataDir, transport: this.transport, url }),
    );
    this.processes.push(p);
    return p;
  }

  /**
   * The commitment the signer signed for the force close: the node knows it, its own last
   * `signHolderCommitment` request (none: nothing to sweep from).
   */
  protected closedCommitments(): Promise<(id: ChannelId) => Promise<number>> {
    const signed = this.requestsOf("signHolderCommitment").at(-1)?.[0];
    if (typeof signed !== "number") {
      return Promise.reject(new HarnessError("no holder commitment was signed"));
    }
    return Promise.resolve(() => Promise.resolve(signed));
  }

  /** Stop everything: the LDK nodes, the link, the signer process, socat; remove the files. */
  async close(): Promise<void> {
    try {
      await this.settle();
    } finally {
      this.h.close();
      await this.link.close();
      // A serial signer ends when its line closes; the others on SIGTERM.
      await this.#pair?.stop();
      for (const p of this.processes) await p.stop(this.#pair ? "SIGKILL" : "SIGTERM");
      await Deno.remove(this.#root, { recursive: true });
    }
  }
}
