/**
 * "Persist before release" under SIGKILL. The test plays the node and an honest peer; the signer
 * runs in a child process (`_crash_signer.ts`) over a SQLite state file. The channel goes through
 * hundreds of updates (HTLCs added, fulfilled and failed, both directions) while the child is
 * killed with SIGKILL at chosen and at random moments: right after a request was written, just
 * before and just after its durable write, after its reply, on a timer, during start-up. Like a
 * real node, the parent restarts the signer and re-sends the request whose reply it did not see.
 *
 * After every kill the state file is opened directly and checked:
 * (a) every secret the parent received for holder commitment k has k + 2 <= H persisted;
 * (b) every counterparty signature received for commitment n has C >= n + 1 persisted;
 * (e) every payment the signer said it approved is persisted (its approval record);
 * and the persisted counters are those before or after the request in flight (after, when the
 * kill followed the durable write), never anything else. Like a real node, the parent asks the
 * signer to approve each payment before offering its HTLC (the peer's BOLT #11 invoice or a
 * keysend, alternately; the operator's approver says yes): without it the payment rules would
 * refuse the HTLC. After every restart the signer is asked
 * to force-close-sign a revoked holder commitment and must refuse (c). Every reply, first try or
 * retry, must equal byte for byte the reply of a shadow model running the same pure operations on
 * the same keys (RFC 6979 signatures are deterministic), so a retry is answered idempotently (d),
 * and the peer checks every signature and secret it receives. At the end, the current commitment
 * is force-closed (a real signature), and the signer then refuses to release its secret.
 *
 * Reproduce a failure with `CRASH_SEED=<seed>` (printed on failure); the kill plan and the channel
 * history follow the seed, the timer kills only approximately.
 */
import { deepStrictEqual, fail, ok, rejects, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { toHex } from "../../../core/bytes.ts";
import { ecdsaVerify } from "../../../core/crypto/mod.ts";
import { SIGHASH, sighashSegwitV0 } from "../../../core/bitcoin/tx.ts";
import { fromJson, toJson } from "../../../core/store/json.ts";
import { SqliteStore, STATE_FILE } from "../../../core/store/sqlite.ts";
import { PAYMENT_KEYS } from "../../../core/signer/payments.ts";
import type { ChannelId, ChannelKeys, KeyStyle } from "../../../core/keys/types.ts";
import { type ChannelState, ChannelStateSchema } from "../../../core/channel/types.ts";
import { newStub } from "../../../core/channel/state.ts";
import {
  type OpContext,
  UNTRACKED_CHAIN,
  type WalletView,
} from "../../../core/channel/ops/context.ts";
import { walletView } from "../../../core/node/wallet.ts";
import { setupChannel } from "../../../core/channel/ops/setup.ts";
import {
  getPerCommitmentPoint,
  type Revocation,
  revokeHolderCommitment,
} from "../../../core/channel/ops/points.ts";
import {
  type CommitmentSignatures,
  type CounterpartyCommitmentRequest,
  type HolderCommitmentRequest,
  type HolderValidation,
  signCounterpartyCommitment,
  validateHolderCommitment,
} from "../../../core/channel/ops/commitment.ts";
import { validateCounterpartyRevocation } from "../../../core/channel/ops/revocation.ts";
import type { HolderCommitmentSignature } from "../../../core/channel/ops/force_close.ts";
import { rebuildCommitment } from "../../../core/channel/rebuild.ts";
import {
  counterpartyRequest,
  type Htlc,
  loadTestPolicy,
  makePair,
  ourChannelId,
  ourNodeKeys,
  type Pair,
  paymentHash,
  peerChecksRevocation,
  peerInvoice,
  peerNodeKeys,
  peerRevokes,
  peerSignsOurs,
  peerValidatesOurs,
  sameBytes,
} from "./_crash_channel.ts";
import {
  decodeLine,
  encodeChannelId,
  encodeLine,
  LineReader,
  type Method,
  NODE_METHODS,
  type WireError,
  type WireLine,
} from "./_crash_wire.ts";

const CHILD = new URL("./_crash_signer.ts", import.meta.url).pathname;
const ROOT = new URL("../../../", import.meta.url).pathname;

/** A small seeded PRNG (mulberry32): the run's plan follows the seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Where a planned kill happens, relative to one request. */
type KillMode = "sent" | "put-begin" | "put-done" | "replied";
const MODES: readonly KillMode[] = ["sent", "put-begin", "put-done", "replied"];
/** Why the child was killed: a planned mode, a timer started with a request, a start-up timer. */
type KillReason = KillMode | "timer" | "startup";

/** What of a channel state the test compares (counters and flags). */
function snapshot(state: ChannelState | undefined): string {
  if (state === undefined) return "absent";
  const e = state.enforcement;
  return JSON.stringify({
    stage: state.stage,
    H: e.nextHolderCommitNum,
    C: e.nextCounterpartyCommitNum,
    R: e.nextCounterpartyRevokeNum,
    pending: e.pendingHolder?.info.number ?? null,
    current: e.currentHolder?.info.number ?? null,
    counterparty: e.currentCounterparty?.number ?? null,
    secrets: e.counterpartySecrets.entries.length,
    closed: e.closed,
    forceClosed: e.forceClosedNumber,
  });
}

type Reply = { ok: unknown } | { error: WireError };

/** One run of the signer child process. */
class Child {
  readonly process: Deno.ChildProcess;
  readonly lines: LineReader;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stderr: Promise<string>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Why we killed it (undefined: we did not). */
  killedBy: KillReason | undefined;

  constructor(path: string, style: KeyStyle, mutant: boolean) {
    this.process = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", CHILD, path, style, ...(mutant ? ["ack-before-write"] : [])],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.lines = new LineReader(this.process.stdout);
    this.#stdin = this.process.stdin.getWriter();
    this.#stderr = new Response(this.process.stderr).text();
  }

  /** SIGKILL now (at most once), recording why. */
  kill(reason: KillReason): void {
    if (this.killedBy !== undefined) return;
    this.killedBy = reason;
    this.cancelTimer();
    try {
      this.process.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  /** SIGKILL after `ms` milliseconds (unless it exits first). */
  killAfter(ms: number, reason: KillReason): void {
    this.cancelTimer();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.kill(reason);
    }, ms);
  }

  cancelTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Write one request line; false when the child is gone. */
  async send(value: unknown): Promise<boolean> {
    try {
      await this.#stdin.write(encodeLine(value));
      return true;
    } catch {
      return false;
    }
  }

  /** The next line from the child, or undefined once it is gone. */
  async next(): Promise<WireLine | undefined> {
    const line = await this.lines.next();
    return line === undefined ? undefined : decodeLine(line);
  }

  /** Wait for the process to end (closing stdin first) and release every resource. */
  async reap(): Promise<{ status: Deno.CommandStatus; stderr: string; torn: string }> {
    this.cancelTimer();
    try {
      await this.#stdin.close();
    } catch {
      // the pipe is broken: the child is dead
    }
    await this.lines.drain();
    const status = await this.process.status;
    return { status, stderr: await this.#stderr, torn: this.lines.rest };
  }
}

/** Options of one crash run. */
interface RunOptions {
  seed: number;
  style: KeyStyle;
  /** Channel update rounds (4 signer requests each). */
  rounds: number;
  /** Kills tied to a request (split evenly over the four {@link KillMode}s). */
  plannedKills: number;
  /** Kills on a timer started with a request (a random moment in or after it). */
  timerKills: number;
  /** Chance that a restart is itself killed on a timer during start-up. */
  startupKillChance: number;
  /** At most this many start-up kills. */
  maxStartupKills: number;
  /** Anchors on the channel. */
  anchors: boolean;
  /** Run the deliberately broken child (acknowledges writes before making them). */
  mutant?: boolean;
}

/** What a run saw, for the final assertions. */
interface Stats {
  requests: number;
  kills: Record<KillMode | "timer" | "startup", number>;
  inFlightPersisted: number;
  inFlightNotPersisted: number;
  restarts: number;
  refusedRevoked: number;
  retriesSame: number;
  /** Payments approved before their HTLC was offered, per kind. */
  approvals: { invoice: number; keysend: number };
  policy: string;
  /** Milliseconds spent starting children, in signer calls, in the shadow and the peer. */
  ms: { startup: number; calls: number; local: number };
}

/** The node: drives the channel, restarts the signer, checks the state file. */
class Node {
  readonly opts: RunOptions;
  readonly plan: () => number;
  readonly timing: () => number;
  readonly dir: string;
  readonly path: string;
  readonly id: ChannelId;
  readonly pair: Pair;
  readonly usKeys: ChannelKeys;
  readonly wallet: WalletView;
  /** The shadow of the signer's channel state (same pure operations, same keys). */
  shadow: ChannelState | undefined = undefined;
  /** Our points as the signer released them. */
  readonly ourPoints = new Map<number, Uint8Array>();
  /** Payment hashes (hex) the signer said it approved. */
  readonly approved = new Set<string>();
  /** The payment hash of the approval in flight. */
  approving: string | undefined;
  /** Kills planned on approvals on top of {@link RunOptions.plannedKills}. */
  extraKills = 0;
  /** The peer's node id (payee of our payments). */
  readonly peerId: Uint8Array = peerNodeKeys().nodeId;
  /** The highest holder secret and counterparty signature received. */
  maxSecret = -1;
  maxSig = -1;
  /** H in the state file at the last check. */
  diskH = 0;
  child: Child | undefined;
  #standby: Child | undefined;
  inFlight: { before: string; after: string } | undefined;
  readonly killPlan = new Map<number, KillMode>();
  readonly timerPlan = new Set<number>();
  plannedDone = 0;
  /** No start-up kills (the final phase). */
  quiet = false;
  readonly stats: Stats;
  #seq = 0;
  #index = 0;

  constructor(opts: RunOptions, dir: string) {
    this.opts = opts;
    this.plan = prng(opts.seed);
    this.timing = prng(opts.seed ^ 0x5bd1e995);
    this.dir = dir;
    this.path = join(dir, STATE_FILE);
    this.id = ourChannelId(opts.style);
    const ours = ourNodeKeys(opts.style);
    this.pair = makePair({ ours, id: this.id, anchors: opts.anchors });
    this.usKeys = this.pair.usKeys;
    this.wallet = walletView(ours);
    const total = 6 + 4 * opts.rounds;
    const indices = this.#distinct(opts.plannedKills + opts.timerKills, total);
    indices.slice(0, opts.plannedKills).forEach((i, k) => this.killPlan.set(i, MODES[k % 4]));
    indices.slice(opts.plannedKills).forEach((i) => this.timerPlan.add(i));
    this.stats = {
      requests: 0,
      kills: { "sent": 0, "put-begin": 0, "put-done": 0, "replied": 0, timer: 0, startup: 0 },
      inFlightPersisted: 0,
      inFlightNotPersisted: 0,
      restarts: 0,
      refusedRevoked: 0,
      retriesSame: 0,
      approvals: { invoice: 0, keysend: 0 },
      policy: "",
      ms: { startup: 0, calls: 0, local: 0 },
    };
  }

  #distinct(count: number, below: number): number[] {
    const set = new Set<number>();
    while (set.size < count) set.add(Math.floor(this.plan() * below));
    return [...set];
  }

  // -------------------------------------------------------------------------------------------
  // The child process

  #spawn(): Child {
    return new Child(this.path, this.opts.style, this.opts.mutant ?? false);
  }

  /**
   * A child that is up and has passed the post-restart checks. Children start warm: each restart
   * takes the reserve child (keys and policy already loaded) and spawns the next reserve, so a
   * restart costs only the opening of the state file and the signer.
   */
  async #ready(): Promise<Child> {
    const t0 = performance.now();
    while (this.child === undefined) {
      const child = this.#standby ?? this.#spawn();
      this.#standby = this.#spawn();
      const warm = await child.next();
      if (warm === undefined || !("event" in warm) || warm.event !== "warm") {
        child.kill("startup");
        const { stderr } = await child.reap();
        fail(`the signer did not start: ${JSON.stringify(warm)} ${stderr}`);
      }
      const startupKill = this.stats.restarts > 0 && !this.quiet &&
        this.stats.kills.startup < this.opts.maxStartupKills &&
        this.timing() < this.opts.startupKillChance;
      if (startupKill) {
        child.killAfter(this.timing() * 40, "startup");
      }
      if (!(await child.send({ start: true }))) {
        await this.#died(child);
        continue;
      }
      const first = await child.next();
      if (first === undefined) {
        await this.#died(child);
        continue;
      }
      if (!("event" in first) || first.event !== "ready") {
        child.kill("startup");
        await child.reap();
        fail(`unexpected first line from the signer: ${JSON.stringify(first)}`);
      }
      this.stats.policy = first.policy;
      this.child = child;
      if (this.stats.restarts > 0) await this.#probeRevoked();
    }
    this.stats.ms.startup += performance.now() - t0;
    return this.child;
  }

  /** Handle a child that is gone: it must have been killed by us; then check the file. */
  async #died(child: Child): Promise<void> {
    const { status, stderr, torn } = await child.reap();
    if (this.child === child) this.child = undefined;
    const reason = child.killedBy ?? fail(`the signer exited by itself: ${stderr}`);
    strictEqual(status.signal, "SIGKILL", `the signer died otherwise: ${stderr}`);
    strictEqual(torn, "", "a torn reply line");
    this.stats.kills[reason]++;
    this.stats.restarts++;
    await this.#checkFile(reason);
  }

  /**
   * (a), (b) and agreement with the shadow: the persisted state is the shadow's (or, with a
   * request in flight, the state before or after it; after, once its write was acknowledged).
   */
  async #checkFile(reason: KillReason): Promise<void> {
    const store = await SqliteStore.open(this.path);
    let state: ChannelState | undefined;
    const lostApprovals: string[] = [];
    try {
      const entry = await store.get("channel/" + this.id.toHex());
      if (entry !== undefined) state = ChannelStateSchema.parse(fromJson(entry.value));
      const durable = reason === "put-done" || reason === "replied";
      const approved = [...this.approved, ...(durable && this.approving ? [this.approving] : [])];
      for (const hash of approved) {
        if ((await store.get(PAYMENT_KEYS.invoices + hash)) === undefined) lostApprovals.push(hash);
      }
    } finally {
      await store.close();
    }
    deepStrictEqual(lostApprovals, [], "(e) approved payments are persisted");
    const e = state?.enforcement;
    this.diskH = e?.nextHolderCommitNum ?? 0;
    if (this.maxSecret >= 0) {
      ok(e !== undefined, "a secret was released but no state is persisted");
      ok(
        this.maxSecret + 2 <= e.nextHolderCommitNum,
        `(a) secret ${this.maxSecret} released, persisted H = ${e.nextHolderCommitNum}`,
      );
    }
    if (this.maxSig >= 0) {
      ok(e !== undefined, "a signature was released but no state is persisted");
      ok(
        this.maxSig + 1 <= e.nextCounterpartyCommitNum,
        `(b) signature ${this.maxSig} released, persisted C = ${e.nextCounterpartyCommitNum}`,
      );
    }
    const disk = snapshot(state);
    if (this.inFlight === undefined) {
      strictEqual(disk, snapshot(this.shadow), "persisted state = shadow (nothing in flight)");
      return;
    }
    const { before, after } = this.inFlight;
    if (reason === "put-done" || reason === "replied") {
      strictEqual(disk, after, `killed after the durable write (${reason}): state after`);
    } else {
      ok(disk === before || disk === after, `persisted ${disk}, expected ${before} or ${after}`);
    }
    if (before !== after) {
      if (disk === after) this.stats.inFlightPersisted++;
      else this.stats.inFlightNotPersisted++;
    }
  }

  /**
   * (c) After a restart: force-close-signing a revoked holder commitment is refused, including
   * the one revoked by a request in flight whose reply the node did not see (H as persisted).
   * When the child dies meanwhile (a start-up timer), the caller restarts it.
   */
  async #probeRevoked(): Promise<void> {
    const H = Math.max(this.shadow?.enforcement.nextHolderCommitNum ?? 0, this.diskH);
    if (H < 2) return;
    const k = Math.max(0, H - 2 - Math.floor(this.timing() * 4));
    const reply = await this.#exchange("signHolderCommitment", [encodeChannelId(this.id), k]);
    if (reply === undefined) return;
    ok("error" in reply, `(c) the signer force-close-signed revoked holder commitment ${k}`);
    this.#expectRefusal(reply.error, `force close of revoked ${k}`);
    this.stats.refusedRevoked++;
  }

  #expectRefusal(error: WireError, what: string): void {
    ok(
      error.name === "PolicyRefusal" || error.name === "RequestError",
      `${what}: expected a refusal, got ${error.name}: ${error.message}`,
    );
  }

  /** One request on the current child without kills; undefined when the child died meanwhile. */
  async #exchange(method: Method, args: unknown[]): Promise<Reply | undefined> {
    const child = this.child as Child;
    const id = ++this.#seq;
    if (!(await child.send({ id, method, args }))) {
      await this.#died(child);
      return undefined;
    }
    for (;;) {
      const line = await child.next();
      if (line === undefined) {
        await this.#died(child);
        return undefined;
      }
      if ("id" in line && line.id === id && ("ok" in line || "error" in line)) return line;
    }
  }

  /**
   * Send a request until it is answered, killing the child as planned and re-sending after every
   * restart (the node never saw a reply). A reply after a planned "replied" kill is re-sent too,
   * and both answers must be identical.
   */
  async call(method: Method, args: unknown[]): Promise<Reply> {
    const index = this.#index++;
    this.stats.requests++;
    let mode = this.killPlan.get(index);
    let timer = this.timerPlan.has(index);
    const request = {
      method,
      args: NODE_METHODS.has(method) ? args : [encodeChannelId(this.id), ...args],
    };
    let first: Reply | undefined;
    for (;;) {
      const child = await this.#ready();
      if (timer) {
        timer = false;
        child.killAfter(this.timing() * 12, "timer");
      }
      const id = ++this.#seq;
      if (!(await child.send({ id, ...request }))) {
        await this.#died(child);
        continue;
      }
      if (mode === "sent") {
        mode = undefined;
        this.plannedDone++;
        child.kill("sent");
        await this.#died(child);
        continue;
      }
      let reply: Reply | undefined;
      for (let line = await child.next(); line !== undefined; line = await child.next()) {
        if ("event" in line) {
          if ("id" in line && line.id === id && line.event === mode) {
            mode = undefined;
            this.plannedDone++;
            child.kill(line.event);
            break;
          }
        } else if (line.id === id) {
          reply = "ok" in line ? { ok: line.ok } : { error: line.error };
          break;
        }
      }
      if (reply === undefined) {
        await this.#died(child);
        continue;
      }
      if (first !== undefined) {
        strictEqual(toJson(reply), toJson(first), `(d) ${method}: a retry answered differently`);
        this.stats.retriesSame++;
        return reply;
      }
      if (mode === undefined) return reply;
      // "replied", or a planned put kill on a request that wrote nothing: kill after the reply,
      // then re-send the answered request (a node retrying after a reconnection).
      first = reply;
      mode = undefined;
      this.plannedDone++;
      child.kill("replied");
      await this.#died(child);
    }
  }

  /** Stop the child and the reserve cleanly (stdin closed: they exit 0). */
  async stop(): Promise<void> {
    for (const child of [this.child, this.#standby]) {
      if (child === undefined) continue;
      const { status, stderr } = await child.reap();
      strictEqual(status.code, 0, stderr);
    }
    this.child = this.#standby = undefined;
  }

  /** After a failure: kill whatever runs. */
  async abort(): Promise<void> {
    for (const child of [this.child, this.#standby]) {
      if (child === undefined) continue;
      child.kill("startup");
      await child.reap();
    }
    this.child = this.#standby = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Requests checked against the shadow model

  #ctx(state: ChannelState): OpContext {
    return { state, keys: this.usKeys, chain: UNTRACKED_CHAIN, wallet: this.wallet };
  }

  /**
   * Run `method` on the signer; the reply must equal the shadow's (the same pure operation on
   * the same keys and state), and the shadow then advances.
   */
  async op<R>(
    method: Method,
    args: unknown[],
    shadow: (ctx: OpContext) => { next: ChannelState; release(): R },
  ): Promise<R> {
    const before = this.shadow ?? fail("no shadow state");
    const outcome = shadow(this.#ctx(before));
    const expected: unknown = outcome.release();
    this.inFlight = { before: snapshot(before), after: snapshot(outcome.next) };
    const t0 = performance.now();
    const reply = await this.call(method, args);
    this.stats.ms.calls += performance.now() - t0;
    if ("error" in reply) {
      fail(`${method} failed: ${reply.error.name} ${reply.error.message}`);
    }
    strictEqual(toJson(reply.ok), toJson(expected ?? null), `${method}: reply = shadow's`);
    this.shadow = outcome.next;
    this.inFlight = undefined;
    return reply.ok as R;
  }

  // -------------------------------------------------------------------------------------------
  // The channel

  async open(): Promise<void> {
    const { pair } = this;
    this.inFlight = { before: "absent", after: snapshot(newStub(this.id.toHex())) };
    const created = await this.call("newChannel", []);
    ok("ok" in created, "newChannel");
    this.shadow = newStub(this.id.toHex());
    this.inFlight = undefined;
    await this.op("setupChannel", [pair.setup], (ctx) => setupChannel(ctx, pair.setup));
    for (const n of [0, 1]) {
      const point = await this.op<Uint8Array>(
        "getPerCommitmentPoint",
        [n],
        (ctx) => getPerCommitmentPoint(ctx, n),
      );
      this.ourPoints.set(n, point);
    }
    // Commitments 0: we sign the peer's, the peer signs ours.
    await this.signTheirs(0);
    await this.validateOurs(0);
    strictEqual(this.shadow?.enforcement.nextHolderCommitNum, 1);
  }

  async signTheirs(n: number): Promise<void> {
    const request: CounterpartyCommitmentRequest = counterpartyRequest(this.pair, n);
    const sigs = await this.op<CommitmentSignatures>(
      "signCounterpartyCommitment",
      [request],
      (ctx) => signCounterpartyCommitment(ctx, request),
    );
    this.maxSig = Math.max(this.maxSig, n);
    peerValidatesOurs(this.pair, request, sigs);
  }

  async validateOurs(n: number): Promise<HolderCommitmentRequest> {
    const point = this.ourPoints.get(n) ?? fail(`the signer never released point ${n}`);
    const request = peerSignsOurs(this.pair, n, point);
    const { nextPoint } = await this.op<HolderValidation>(
      "validateHolderCommitment",
      [request],
      (ctx) => validateHolderCommitment(ctx, request),
    );
    this.#point(n + 1, nextPoint);
    return request;
  }

  async revokeOurs(n: number): Promise<void> {
    const rev = await this.op<Revocation>(
      "revokeHolderCommitment",
      [n],
      (ctx) => revokeHolderCommitment(ctx, n),
    );
    this.maxSecret = Math.max(this.maxSecret, n);
    this.#point(n + 2, rev.nextPoint);
    peerChecksRevocation(this.pair, n, rev);
  }

  async theyRevoke(n: number): Promise<void> {
    const secret = peerRevokes(this.pair, n);
    await this.op(
      "validateCounterpartyRevocation",
      [n, secret],
      (ctx) => validateCounterpartyRevocation(ctx, { number: n, secret }),
    );
  }

  /**
   * The node asks the signer to approve a payment before it offers the payment's HTLC (CLN's
   * `preapprove_invoice` with the peer's invoice, or `preapprove_keysend`). The answer must be
   * `true`, also when re-sent after a restart (an approval already made is approved again). The
   * first invoice approval is killed after its durable write, the first keysend approval after its
   * reply (unless the plan already kills them).
   */
  async preapprove(htlc: Htlc, via: "invoice" | "keysend"): Promise<void> {
    if (this.stats.approvals[via] === 0 && !this.killPlan.has(this.#index)) {
      this.killPlan.set(this.#index, via === "invoice" ? "put-done" : "replied");
      this.extraKills++;
    }
    this.approving = toHex(htlc.hash);
    const [method, request]: [Method, unknown] = via === "invoice"
      ? ["preapproveInvoice", { invstring: peerInvoice(htlc) }]
      : ["preapproveKeysend", {
        destination: this.peerId,
        paymentHash: htlc.hash,
        amountMsat: htlc.amountMsat,
      }];
    this.inFlight = undefined; // no channel state changes
    const t0 = performance.now();
    const reply = await this.call(method, [request]);
    this.stats.ms.calls += performance.now() - t0;
    if ("error" in reply) fail(`${method} failed: ${reply.error.name} ${reply.error.message}`);
    strictEqual(reply.ok, true, `${method}: approved`);
    this.approved.add(toHex(htlc.hash));
    this.approving = undefined;
    this.stats.approvals[via]++;
  }

  #point(n: number, point: Uint8Array): void {
    const known = this.ourPoints.get(n);
    if (known) sameBytes(point, known, `our point ${n} released twice differently`);
    this.ourPoints.set(n, point);
  }

  /** One update: both commitments `n` signed and validated, both `n - 1` revoked. */
  async round(n: number, initiator: "us" | "peer"): Promise<void> {
    if (initiator === "us") {
      await this.signTheirs(n);
      await this.theyRevoke(n - 1);
      await this.validateOurs(n);
      await this.revokeOurs(n - 1);
    } else {
      await this.validateOurs(n);
      await this.revokeOurs(n - 1);
      await this.signTheirs(n);
      await this.theyRevoke(n - 1);
    }
  }

  /** The payment traffic: the seed decides every add, fulfil and fail. */
  async traffic(): Promise<{ added: number; fulfilled: number; failed: number; maxHtlcs: number }> {
    const { ledger } = this.pair;
    const counts = { added: 0, fulfilled: 0, failed: 0, maxHtlcs: 0 };
    for (let n = 1; n <= this.opts.rounds; n++) {
      let initiator: "us" | "peer";
      if (ledger.htlcs.length === 0 || (ledger.htlcs.length < 8 && this.plan() < 0.55)) {
        let fromUs = this.plan() < 0.5;
        const amountMsat = 600_000n + BigInt(Math.floor(this.plan() * 60_000_000));
        const room = (
          us: boolean,
        ) => (us ? ledger.usMsat - 250_000_000n : ledger.peerMsat - 50_000_000n);
        if (room(fromUs) < amountMsat) fromUs = !fromUs;
        ok(room(fromUs) >= amountMsat, "both balances exhausted");
        const htlc: Htlc = {
          fromUs,
          amountMsat,
          hash: paymentHash(n),
          cltv: 500 + Math.floor(this.plan() * 1000),
        };
        if (fromUs) await this.preapprove(htlc, n % 2 === 0 ? "invoice" : "keysend");
        ledger.add(htlc);
        counts.added++;
        initiator = fromUs ? "us" : "peer";
      } else {
        const htlc = ledger.htlcs[Math.floor(this.plan() * ledger.htlcs.length)];
        const fulfilled = this.plan() < 0.8;
        ledger.remove(htlc, fulfilled);
        if (fulfilled) counts.fulfilled++;
        else counts.failed++;
        initiator = htlc.fromUs ? "peer" : "us"; // the receiver removes it
      }
      counts.maxHtlcs = Math.max(counts.maxHtlcs, ledger.htlcs.length);
      await this.round(n, initiator);
    }
    return counts;
  }

  /**
   * The end: the peer's next commitment is validated (pending), we force-close the current one
   * (a real signature on the rebuilt transaction), and then the signer refuses to release that
   * commitment's secret and to sign any older commitment, also after one more restart.
   */
  async forceClose(): Promise<void> {
    const N = this.opts.rounds;
    this.quiet = true;
    const current = this.shadow?.enforcement.currentHolder ?? fail("no current commitment");
    strictEqual(current.info.number, N);
    await this.validateOurs(N + 1);
    const reply = await this.call("signHolderCommitment", [N]);
    if ("error" in reply) fail(`force close refused: ${reply.error.message}`);
    const sig = reply.ok as HolderCommitmentSignature;
    const rebuilt = rebuildCommitment("holder", {
      setup: this.pair.setup,
      keys: this.usKeys,
      info: current.info,
    });
    const digest = sighashSegwitV0(rebuilt.tx, 0, {
      scriptCode: rebuilt.fundingWitnessScript,
      amount: rebuilt.fundingSatoshis,
      sighashType: SIGHASH.ALL,
    });
    strictEqual(ecdsaVerify(sig.signature, digest, this.usKeys.fundingPubkey), true);
    strictEqual(toHex(sig.counterpartySignature), current.counterpartySig);
    for (let round = 0; round < 2; round++) {
      for (const [method, n] of [["revokeHolderCommitment", N], ["signHolderCommitment", N - 1]]) {
        const refused = await this.call(method as Method, [n]);
        ok("error" in refused, `${method}(${n}) after the force close of ${N} was answered`);
        this.#expectRefusal(refused.error, `${method}(${n}) after the force close`);
      }
      const state = await this.call("channelState", []);
      ok("ok" in state);
      const e = ChannelStateSchema.parse(state.ok).enforcement;
      strictEqual(e.closed, true);
      strictEqual(e.forceClosedNumber, N);
      if (this.stats.policy === "rules/default.policy") {
        // policy-revoke-not-closed refused the revocation: nothing changed. (Without that rule,
        // revokeHolderCommitment persists H + 1 here and only then refuses to release the secret.)
        deepStrictEqual([e.nextHolderCommitNum, e.pendingHolder?.info.number], [N + 1, N + 1]);
      }
      if (round === 0) {
        const child = this.child as Child;
        this.shadow = ChannelStateSchema.parse(state.ok);
        child.kill("replied");
        await this.#died(child);
      }
    }
  }
}

async function crashRun(opts: RunOptions): Promise<Stats> {
  const dir = await Deno.makeTempDir({ prefix: "warden-crash-" });
  const node = new Node(opts, dir);
  const t0 = performance.now();
  try {
    await node.open();
    const traffic = await node.traffic();
    ok(traffic.added >= opts.rounds / 3 && traffic.fulfilled > 0 && traffic.failed > 0);
    ok(traffic.maxHtlcs >= 4, "several HTLCs were in flight at once");
    const e = node.shadow?.enforcement;
    deepStrictEqual(
      [e?.nextHolderCommitNum, e?.nextCounterpartyCommitNum, e?.nextCounterpartyRevokeNum],
      [opts.rounds + 1, opts.rounds + 1, opts.rounds],
      "every update completed",
    );
    await node.forceClose();
    strictEqual(
      node.plannedDone,
      opts.plannedKills + node.extraKills,
      "every planned kill happened",
    );
    strictEqual(node.stats.policy, loadTestPolicy().source, "the child runs the expected policy");
    await node.stop();
    node.stats.ms.local = performance.now() - t0 - node.stats.ms.calls;
    return node.stats;
  } catch (e) {
    await node.abort();
    if (opts.mutant) throw e;
    console.error(
      `signer crash test failed (${opts.style}); reproduce with CRASH_SEED=${opts.seed} ` +
        `deno test --allow-all tests/core/signer/crash_test.ts`,
    );
    console.error(`stats so far: ${JSON.stringify(node.stats)}`);
    throw e;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function seedOf(): number {
  const fixed = Deno.env.get("CRASH_SEED");
  return fixed !== undefined ? Number(fixed) >>> 0 : Math.floor(Math.random() * 2 ** 32);
}

Deno.test("signer: secrets and signatures leave only once their state is durable (SIGKILL)", async () => {
  const seed = seedOf();
  const stats = await crashRun({
    seed,
    style: seed % 2 === 0 ? "native" : "ldk",
    anchors: (seed >>> 1) % 2 === 1,
    rounds: 120,
    plannedKills: 16,
    timerKills: 6,
    startupKillChance: 0.15,
    maxStartupKills: 3,
  });
  if (Deno.env.get("CRASH_DEBUG")) console.log(seed, stats);
  for (const mode of MODES) ok(stats.kills[mode] > 0, `no ${mode} kill: ${JSON.stringify(stats)}`);
  ok(stats.refusedRevoked >= 12, "the revoked-commitment probe ran after most restarts");
  ok(stats.retriesSame > 0, "answered requests were re-sent");
  ok(stats.approvals.invoice > 0 && stats.approvals.keysend > 0, "both kinds of approval");
});

Deno.test("signer crash harness: a signer that acknowledges writes before making them is caught", async () => {
  await rejects(
    crashRun({
      seed: 7,
      style: "native",
      anchors: false,
      rounds: 8,
      plannedKills: 8,
      timerKills: 0,
      startupKillChance: 0,
      maxStartupKills: 0,
      mutant: true,
    }),
    (e: Error) => {
      ok(
        /^\((a|b|e)\) |^killed after the durable write/.test(e.message),
        `caught for another reason: ${e.message}`,
      );
      return true;
    },
  );
});
