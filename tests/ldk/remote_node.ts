/**
 * Node A of the LDK harness with Warden as a SEPARATE PROCESS: `mod.ts run` started with
 * least-privilege flags on a data directory made by `mod.ts init --key-style ldk --seed-hex
 * <A's harness seed>` (so the node ids match), the harness fee wallet on its allowlist (`mod.ts
 * allowlist add`: LDK's fee bumps pay their change there), rules/default.policy and
 * `--approver positive`,
 * dialing node A's link (TCP or WebSocket) or sitting on a socat pty pair (`--serial -`). Node A's
 * `WardenSignerProvider` talks to it through `RemoteSignerApi` over the `NodeLink`; B is plain
 * LDK. The flows are the asynchronous ones of the in-process harness (warden_node.ts).
 *
 * The signer process uses the system clock (as it would in production), so the simulated chain
 * starts two minutes ago with one second between blocks: the invoices LDK dates at its latest
 * block time are then fresh for the signer's `policy-invoice-not-expired`.
 *
 * @module
 */
import { join } from "node:path";
import * as ldk from "lightningdevkit";
import { concat, equal, fromHex, reverse, toHex } from "../../core/bytes.ts";
import { derEncode } from "../../core/crypto/mod.ts";
import { p2wpkh } from "../../core/bitcoin/script.ts";
import { scriptToAddress } from "../../core/bitcoin/address.ts";
import { decodeTx, encodeTx, type Tx } from "../../core/bitcoin/tx.ts";
import { derivePublicKey } from "../../core/bolt3/keys.ts";
import { toLocalScript } from "../../core/bolt3/scripts.ts";
import { ChannelId } from "../../core/keys/types.ts";
import { main } from "../../core/cli/mod.ts";
import type { SignerApi } from "../../transports/ldk/api.ts";
import { WardenSignerProvider } from "../../transports/ldk/signer_provider.ts";
import type { RequestFailure } from "../../transports/ldk/requests.ts";
import { RemoteSignerApi } from "../../transports/ldk/remote_api.ts";
import {
  type NodeLink,
  SerialNodeLink,
  TcpNodeLink,
  WebSocketNodeLink,
} from "../../transports/ldk/node_link.ts";
import { PtyPair } from "../transports/_socat.ts";
import type { SimChain } from "./chain.ts";
import { Harness, HarnessError, type NodeRef, type PaymentResult } from "./harness.ts";
import type { LdkNode } from "./node.ts";
import { apiError } from "./node.ts";
import type { PlainCommitmentTx } from "./plain.ts";
import { TamperingSignerApi } from "./warden_tamper.ts";
import {
  feeWalletScript,
  harnessNodeId,
  harnessSeed,
  KEYS_ID_SEED,
  PAYOUT_INDEX,
  TEST_FEERATE,
  type WardenPayOptions,
} from "./warden_node.ts";

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
export interface RemoteChannel {
  /** Channel id, hex. */
  channelId: string;
  /** Funding outpoint (display txid). */
  funding: { txid: string; vout: number };
  /** Channel value. */
  valueSat: bigint;
  /** Opener. */
  from: string;
  /** Acceptor. */
  to: string;
}

/** Options of {@link RemoteHarness.create}. */
export interface RemoteHarnessOptions {
  /** The link (default tcp). */
  transport?: RemoteTransport;
}

/** The harness with node A signed by a Warden process. */
export class RemoteHarness {
  /** The LDK harness. */
  readonly h: Harness;
  /** The link node A listens on (or the serial line it opened). */
  readonly link: NodeLink;
  /** The remote signer API. */
  readonly remote: RemoteSignerApi;
  /** The request recorder between the adapter and the remote API (no tampering). */
  readonly recorder: TamperingSignerApi;
  /** The API the adapter calls. */
  readonly api: SignerApi;
  /** The adapter. */
  readonly provider: WardenSignerProvider;
  /** A's payout script (wallet m/0/0/1, from the signer's account key). */
  readonly payout: Uint8Array;
  /** The transport. */
  readonly transport: RemoteTransport;
  /** Every signer process started, in order (the last one runs). */
  readonly processes: SignerProcess[] = [];
  readonly #root: string;
  readonly #dataDir: string;
  readonly #pair: PtyPair | null;

  private constructor(o: {
    h: Harness;
    link: NodeLink;
    remote: RemoteSignerApi;
    recorder: TamperingSignerApi;
    provider: WardenSignerProvider;
    payout: Uint8Array;
    transport: RemoteTransport;
    process: SignerProcess;
    root: string;
    dataDir: string;
    pair: PtyPair | null;
  }) {
    this.h = o.h;
    this.link = o.link;
    this.remote = o.remote;
    this.recorder = o.recorder;
    this.api = o.recorder.api;
    this.provider = o.provider;
    this.payout = o.payout;
    this.transport = o.transport;
    this.processes.push(o.process);
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
    const chainRef: { chain: SimChain | null } = { chain: null };
    const hRef: { h: Harness | null } = { h: null };
    const previousTx = (display: string): Tx | null => {
      const known = chainRef.chain?.transaction(display)?.chainTx.tx;
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
        spentOutput: ({ txid, vout }) => {
          const o = chainRef.chain?.output(toHex(reverse(txid)), vout);
          return o ? { amount: o.amount, script: o.script } : null;
        },
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
    const provider = new WardenSignerProvider({
      api: recorder.api,
      payout: { script: payout, walletIndex: PAYOUT_INDEX },
      keysIdSeed: KEYS_ID_SEED,
      poolSize: 2,
      spentOutput: ({ txid, vout }) => {
        const o = chainRef.chain?.output(toHex(reverse(txid)), vout);
        return o ? { amount: o.amount, script: o.script } : null;
      },
    });
    await provider.ready();
    const seed = harnessSeed("A");
    const h = await Harness.create({
      log: { level: "warn" },
      chain: { startTime: Math.floor(Date.now() / 1000) - 120, blockInterval: 1 },
      nodes: [
        { name: "A", seed, feerate: TEST_FEERATE, signer: { factory: () => provider } },
        { name: "B", feerate: TEST_FEERATE },
      ],
    });
    chainRef.chain = h.chain;
    hRef.h = h;
    h.chain.onBlock((b) =>
      provider.blockConnected(b.header, { height: b.height, transactions: b.txs.map((t) => t.tx) })
    );
    provider.unblock = () => h.unblockSigners("A");
    if (!equal(h.node("A").wallet.script, feeWalletScript(seed))) {
      throw new HarnessError("fee wallet differs");
    }
    if (!equal(h.node("A").nodeId, remote.nodeId)) throw new HarnessError("node ids differ");
    return new RemoteHarness({
      h,
      link,
      remote,
      recorder,
      provider,
      payout,
      transport,
      process,
      root,
      dataDir,
      pair,
    });
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

  /** Node A. */
  get A(): LdkNode {
    return this.h.node("A");
  }

  /** Node B. */
  get B(): LdkNode {
    return this.h.node("B");
  }

  /** Refusals and failures the adapter met. */
  get failures(): RequestFailure[] {
    return this.provider.failures;
  }

  /** Wait until the signer answered everything and LDK's resulting rounds are done. */
  settle(): Promise<void> {
    return this.provider.settled();
  }

  /** Mine `n` blocks one by one, settling after each. */
  async mine(n = 1): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.h.mine(1);
      await this.settle();
    }
  }

  /** Mine until `done()` (checked before each block), at most `max` blocks. */
  async mineUntil(done: () => boolean, max: number): Promise<number> {
    for (let i = 0; i < max; i++) {
      if (done()) return i;
      await this.mine(1);
    }
    if (done()) return max;
    throw new HarnessError(`condition not reached after mining ${max} blocks`);
  }

  /** Pump and settle. */
  async pump(): Promise<void> {
    this.h.pump();
    await this.settle();
  }

  /** Open a channel and wait until it is ready on both sides. */
  async openChannel(
    o: { from: NodeRef; to: NodeRef; valueSat: bigint; anchors?: boolean },
  ): Promise<RemoteChannel> {
    await this.provider.ready();
    const from = this.h.node(o.from);
    const to = this.h.node(o.to);
    const mark = from.events.length;
    const userChannelId = from.nextUserChannelId();
    if (from.name === "A") this.provider.expectChannel(userChannelId, { pushMsat: 0n });
    const r = from.chanMan.create_channel(
      to.nodeId,
      o.valueSat,
      0n,
      userChannelId,
      null,
      from.channelConfig({ anchors: o.anchors }),
    );
    if (!(r instanceof ldk.Result_ChannelIdAPIErrorZ_OK)) {
      throw new HarnessError(`create_channel failed: ${apiError(r)}`);
    }
    const temp = toHex(r.res.get_a());
    await this.pump();
    const pending = this.h.events(from, "ChannelPending", { since: mark })
      .find((e) => e.formerTemporaryChannelId === temp);
    if (!pending) throw new HarnessError(`channel ${temp} did not reach ChannelPending`);
    const channel: RemoteChannel = {
      channelId: pending.channelId,
      funding: { txid: pending.fundingTxid, vout: pending.fundingVout },
      valueSat: o.valueSat,
      from: from.name,
      to: to.name,
    };
    const ready = (n: LdkNode) =>
      n.events.some((e) => e.kind === "ChannelReady" && e.channelId === channel.channelId);
    await this.mineUntil(() => ready(from) && ready(to), 20);
    return channel;
  }

  /**
   * Start a payment over the direct channel and pump once, without waiting for the signer: A
   * first asks its signer to approve the payee's invoice.
   */
  async send(o: WardenPayOptions): Promise<PaymentResult> {
    const from = this.h.node(o.from);
    const to = this.h.node(o.to);
    const inv = ldk.UtilMethods.constructor_create_invoice_from_channelmanager(
      to.chanMan,
      ldk.Option_u64Z.constructor_some(o.amountMsat),
      "warden remote harness",
      3600,
      ldk.Option_u16Z.constructor_none(),
    );
    if (!(inv instanceof ldk.Result_Bolt11InvoiceSignOrCreationErrorZ_OK)) {
      throw new HarnessError("invoice creation failed");
    }
    const params = ldk.UtilMethods.constructor_payment_parameters_from_invoice(inv.res);
    if (
      !(params instanceof
        ldk.Result_C3Tuple_ThirtyTwoBytesRecipientOnionFieldsRouteParametersZNoneZ_OK)
    ) {
      throw new HarnessError("payment parameters from invoice failed");
    }
    const hash = params.res.get_a();
    const paymentHash = toHex(hash);
    if (from.name === "A" && o.preapprove !== false) {
      try {
        await this.provider.preapproveInvoice(inv.res.to_str());
      } catch (e) {
        const reason = `preapproval refused: ${e instanceof Error ? e.message : String(e)}`;
        return { paymentHash, status: "failed", feePaidMsat: null, reason };
      }
    }
    if (o.hold) to.hold.add(paymentHash);
    const since: [number, number] = [from.events.length, to.events.length];
    const sent = from.chanMan.send_payment(
      hash,
      params.res.get_b(),
      hash,
      params.res.get_c(),
      ldk.Retry.constructor_attempts(0),
    );
    if (!sent.is_ok()) return { paymentHash, status: "failed", feePaidMsat: null, reason: "send" };
    this.h.pump();
    return this.h.paymentStatus({ from, to, paymentHash, since });
  }

  /** Pay over the direct channel (A preapproving first) and wait. */
  async pay(o: WardenPayOptions): Promise<PaymentResult> {
    const from = this.h.node(o.from);
    const to = this.h.node(o.to);
    const since: [number, number] = [from.events.length, to.events.length];
    const r = await this.send(o);
    if (r.status === "failed") return r;
    await this.settle();
    return this.h.paymentStatus({ from, to, paymentHash: r.paymentHash, since });
  }

  /** Cooperative close by `by`: negotiate, mine the closing transaction, return it. */
  async cooperativeClose(
    o: { by: NodeRef; channel: RemoteChannel },
  ): Promise<{ txid: string; tx: Tx; feeSat: bigint; outputs: Record<string, bigint> }> {
    const by = this.h.node(o.by);
    const other = this.h.node(by.name === o.channel.from ? o.channel.to : o.channel.from);
    const r = by.chanMan.close_channel(by.channelIdObject(o.channel.channelId), other.nodeId);
    if (!r.is_ok()) throw new HarnessError(`close_channel failed: ${apiError(r)}`);
    await this.pump();
    const f = o.channel.funding;
    const spender = this.h.chain.spenderOf(f.txid, f.vout);
    if (!spender) throw new HarnessError("no closing transaction was broadcast");
    if (spender.height === null) await this.mine(1);
    const tx = this.h.chain.transaction(spender.txid)?.chainTx.tx as Tx;
    const outputs: Record<string, bigint> = {};
    for (const n of this.h.nodes.values()) {
      outputs[n.name] = tx.outputs.filter((x) => this.h.ownsScript(n, x.script))
        .reduce((s, x) => s + x.amount, 0n);
    }
    const feeSat = o.channel.valueSat - tx.outputs.reduce((s, x) => s + x.amount, 0n);
    return { txid: spender.txid, tx, feeSat, outputs };
  }

  /** Force close by `by`; with `offline` the peers are disconnected around it. */
  async forceClose(
    o: { by: NodeRef; channel: RemoteChannel; offline?: boolean },
  ): Promise<string> {
    const by = this.h.node(o.by);
    const other = this.h.node(by.name === o.channel.from ? o.channel.to : o.channel.from);
    const connections = o.offline ? this.h.net.connections() : [];
    for (const c of connections) this.h.net.disconnect(c);
    if (o.offline) await this.pump();
    const r = by.chanMan.force_close_broadcasting_latest_txn(
      by.channelIdObject(o.channel.channelId),
      other.nodeId,
      "warden remote test force close",
    );
    if (!r.is_ok()) throw new HarnessError(`force close failed: ${apiError(r)}`);
    await this.pump();
    const f = o.channel.funding;
    const spender = this.h.chain.spenderOf(f.txid, f.vout);
    if (!spender) throw new HarnessError("no commitment transaction was broadcast");
    if (o.offline) {
      this.h.connect("A", "B");
      await this.settle();
    }
    return spender.txid;
  }

  /** Every distinct commitment `ref` held for a channel (revoked ones included), oldest first. */
  heldCommitments(ref: NodeRef, channel: RemoteChannel): PlainCommitmentTx[] {
    const seen = new Set<string>();
    const out: PlainCommitmentTx[] = [];
    for (const hc of this.h.tap(ref).holderCommitments) {
      const c = hc.commitment_tx;
      if (seen.has(c.txid)) continue;
      const input = decodeTx(fromHex(c.tx)).inputs[0];
      if (toHex(reverse(input.txid)) !== channel.funding.txid) continue;
      if (input.vout !== channel.funding.vout) continue;
      seen.add(c.txid);
      out.push(c);
    }
    return out;
  }

  /** Requests the signer received per API method. */
  requestCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.recorder.seen) out[r.method] = (out[r.method] ?? 0) + 1;
    return out;
  }

  /** The arguments (after the channel id) of every request of `method`, in order. */
  requestsOf(method: string): unknown[][] {
    return this.recorder.seen.filter((s) => s.method === method).map((s) => s.args);
  }

  /**
   * Sweep every `DelayedPaymentOutput` LDK reported to the payout script, each input signed by
   * the remote signer (`signDelayedSweep`, wire 142). The commitment is the one it signed for
   * the force close (the node knows it: its own `signHolderCommitment` request).
   */
  async sweepDelayed(o: { feeSat?: bigint } = {}): Promise<
    { txid: string; valueSat: bigint; sweptSat: bigint; outcome: string }[]
  > {
    const out = [];
    const rest: ldk.SpendableOutputDescriptor[] = [];
    const signed = this.requestsOf("signHolderCommitment").at(-1)?.[0];
    if (typeof signed !== "number") throw new HarnessError("no holder commitment was signed");
    for (const d of this.A.spendable) {
      if (!(d instanceof ldk.SpendableOutputDescriptor_DelayedPaymentOutput)) {
        rest.push(d);
        continue;
      }
      const p = d.delayed_payment_output;
      const id = ChannelId.fromKeysId(p.get_channel_keys_id());
      const point = p.get_per_commitment_point();
      const ours = await this.api.getPerCommitmentPoint(id, signed);
      if (!equal(ours, point)) throw new HarnessError("the output is not of our closed commitment");
      const bp = await this.api.getChannelBasepoints(id);
      const delay = p.get_to_self_delay();
      const script = toLocalScript({
        revocationKey: p.get_revocation_pubkey().get_a(),
        broadcasterDelayedPaymentKey: derivePublicKey(bp.delayedPayment, point),
        toSelfDelay: delay,
      });
      const outpoint = p.get_outpoint();
      const value = p.get_output().value;
      const fee = o.feeSat ?? 500n;
      const tx: Tx = {
        version: 2,
        inputs: [{
          txid: outpoint.get_txid(),
          vout: outpoint.get_index(),
          scriptSig: new Uint8Array(),
          sequence: delay,
          witness: [],
        }],
        outputs: [{ amount: value - fee, script: this.payout }],
        locktime: 0,
      };
      const sig = await this.api.signDelayedSweep(id, {
        spend: {
          tx,
          spent: [{ amount: value, script: p.get_output().script_pubkey }],
          inputPaths: [[]],
          outputPaths: [[PAYOUT_INDEX]],
        },
        inputIndex: 0,
        number: signed,
      });
      tx.inputs[0].witness = [
        concat(derEncode(sig.signature), Uint8Array.of(sig.sighashType)),
        new Uint8Array(),
        script,
      ];
      const outcome = this.h.submitTransaction(encodeTx(tx), "sweep:A");
      out.push({
        txid: outcome.txid,
        valueSat: value,
        sweptSat: value - fee,
        outcome: outcome.status,
      });
    }
    this.A.spendable.splice(0, this.A.spendable.length, ...rest);
    return out;
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
