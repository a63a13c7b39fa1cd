/**
 * The signer as a separate process for the transport bench: `deno run mod.ts run` with
 * least-privilege flags, a fresh data directory (SQLite store, audit log) and
 * `rules/default.policy`, dialing a node-side TCP listener on loopback that this process opens.
 * {@link NodeLink} is the node's end of that connection: one request at a time, as CLN's daemons
 * talk to their hsmd (send a serial frame, wait for the reply with the same sequence number).
 *
 * Teardown is synchronous ({@link SignerProcess.stopSync}) so that it can run from an `unload`
 * handler, which is the only hook `deno bench` gives after the last bench: it closes the
 * connection and the listener, sends SIGTERM, waits (sleeping with `Atomics.wait`) until the
 * signer has logged `signer.stopped` (its store and audit log are closed by then), kills it if it
 * has not within the grace time, and removes the temporary directory.
 *
 * The signer's log lines (JSON, stderr) go to a file in the temporary directory: `deno bench`
 * cannot drain a pipe after its last bench, and a full pipe would block the signer.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSignerDir } from "../../core/cli/data_dir.ts";
import {
  encodeSerialRequest,
  ROOT_PEER_ID,
  type SerialReply,
  serialReplyDecoder,
} from "../../core/protocol/framing.ts";
import type { RequestContext } from "../../core/protocol/dispatch.ts";

/** The repository root. */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url)).replace(
  /\/$/,
  "",
);
/** rules/default.policy. */
export const DEFAULT_POLICY_PATH: string = join(REPO_ROOT, "rules", "default.policy");

/** How long the signer may take to dial us after it is spawned. */
const CONNECT_TIMEOUT_MS = 60_000;
/** How long {@link NodeLink.request} waits for a reply before it gives up. */
const REPLY_TIMEOUT_MS = 30_000;
/** How long {@link SignerProcess.stopSync} waits for `signer.stopped` after SIGTERM. */
const STOP_TIMEOUT_MS = 10_000;

/** A failure of the bench rig (the signer did not start, a reply was missing...). */
export class BenchRigError extends Error {
  /** @param message what went wrong */
  constructor(message: string) {
    super(message);
    this.name = "BenchRigError";
  }
}

/** Sleeps synchronously (the `unload` handler cannot await). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readTextOrEmpty(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** One JSON log line of the signer. */
export interface LogEvent {
  /** Level. */
  level: string;
  /** Event name. */
  event: string;
  /** Fields. */
  fields: Record<string, unknown>;
}

/** Parses the JSON lines of a log (lines that are not JSON are skipped). */
export function parseLog(text: string): LogEvent[] {
  const out: LogEvent[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const v = JSON.parse(line) as LogEvent;
      if (typeof v.event === "string") out.push(v);
    } catch {
      // not a log line (e.g. a final `error:` line)
    }
  }
  return out;
}

/** The node's end of the signer's TCP connection: one request at a time. */
export class NodeLink {
  readonly #conn: Deno.TcpConn;
  readonly #decoder = serialReplyDecoder();
  readonly #buf = new Uint8Array(64 * 1024);
  readonly #pending: SerialReply[] = [];
  #seq = 0;

  /** @param conn the accepted connection */
  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    try {
      conn.setNoDelay(true);
    } catch {
      // best effort
    }
  }

  /**
   * Sends one request and waits for its reply.
   * @param context the client context (null: the root, sent as 33 zero bytes and dbid 0)
   * @param body the encoded hsmd message
   * @returns the reply body
   */
  async request(context: RequestContext | null, body: Uint8Array): Promise<Uint8Array> {
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) & 0xffff;
    const frame = encodeSerialRequest({
      seq,
      peerId: context?.peerId ?? ROOT_PEER_ID,
      dbid: context?.dbid ?? 0n,
      body,
    });
    // A signer that stops answering must fail the bench, not hang it: close the connection.
    let timedOut = false;
    const watchdog = setTimeout(() => {
      timedOut = true;
      this.close();
    }, REPLY_TIMEOUT_MS);
    try {
      for (let off = 0; off < frame.length;) off += await this.#conn.write(frame.subarray(off));
      while (this.#pending.length === 0) {
        const n = await this.#conn.read(this.#buf);
        if (n === null) throw new BenchRigError("the signer closed the connection");
        this.#pending.push(...this.#decoder.push(this.#buf.subarray(0, n)));
      }
    } catch (e) {
      if (timedOut) throw new BenchRigError(`no reply within ${REPLY_TIMEOUT_MS / 1000} s`);
      throw e;
    } finally {
      clearTimeout(watchdog);
    }
    const reply = this.#pending.shift() as SerialReply;
    if (reply.seq !== seq) {
      throw new BenchRigError(`reply seq ${reply.seq} to request seq ${seq}`);
    }
    return reply.body;
  }

  /** Closes the connection (idempotent). */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/** What {@link SignerProcess.stopSync} found. */
export interface StopReport {
  /** The signer logged `signer.stopped` after SIGTERM (else it was killed). */
  graceful: boolean;
  /** Its session counters (`signer.stopped`), when graceful. */
  stats?: Record<string, unknown>;
  /** `decision.refused` log lines. */
  refused: number;
  /** `handler.error` and `frame.*` log lines, and other `error` lines. */
  errors: number;
}

/** The signer process and the node's connection to it (see the module documentation). */
export class SignerProcess {
  /** The node's end of the connection. */
  readonly link: NodeLink;
  /** The temporary directory (data directory, log). */
  readonly root: string;
  /** The signer's data directory. */
  readonly dataDir: string;
  readonly #child: Deno.ChildProcess;
  readonly #listener: Deno.TcpListener;
  readonly #logPath: string;
  #stopped?: StopReport;

  private constructor(o: {
    link: NodeLink;
    root: string;
    dataDir: string;
    child: Deno.ChildProcess;
    listener: Deno.TcpListener;
    logPath: string;
  }) {
    this.link = o.link;
    this.root = o.root;
    this.dataDir = o.dataDir;
    this.#child = o.child;
    this.#listener = o.listener;
    this.#logPath = o.logPath;
  }

  /**
   * Creates a regtest data directory for `seed`, listens on 127.0.0.1 (a free port), spawns the
   * signer with least-privilege flags and waits for it to dial in.
   * @param seed the node's seed (32 bytes)
   * @param options `policy`: the policy file (default rules/default.policy)
   */
  static async start(
    seed: Uint8Array,
    options: { policy?: string } = {},
  ): Promise<SignerProcess> {
    const policy = options.policy ?? DEFAULT_POLICY_PATH;
    const root = await Deno.makeTempDir({ prefix: "warden-transport-bench-" });
    const logPath = join(root, "signer.log");
    let listener: Deno.TcpListener | undefined;
    let child: Deno.ChildProcess | undefined;
    try {
      const dataDir = await createSignerDir(join(root, "node"), {
        seed: seed.slice(),
        network: "regtest",
        keyStyle: "native",
      });
      listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const hostPort = `127.0.0.1:${listener.addr.port}`;
      const policyDir = join(policy, "..");
      const args = [
        "run",
        `--allow-net=${hostPort}`,
        `--allow-read=${dataDir},${policyDir}`,
        `--allow-write=${dataDir}`,
        join(REPO_ROOT, "mod.ts"),
        "run",
        "--data-dir",
        dataDir,
        "--policy",
        policy,
        "--connect",
        `tcp://${hostPort}`,
      ];
      // sh opens the log file as the signer's stderr, then becomes the signer (same pid).
      child = new Deno.Command("sh", {
        args: [
          "-c",
          'log="$1"; shift; exec "$@" 2>"$log"',
          "sh",
          logPath,
          Deno.execPath(),
          ...args,
        ],
        cwd: REPO_ROOT,
        stdin: "null",
        stdout: "null",
        stderr: "null",
        env: { NO_COLOR: "1" },
      }).spawn();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const conn = await Promise.race([
        listener.accept(),
        child.status.then((s) => {
          throw new BenchRigError(
            `the signer exited (code ${s.code}) before connecting:\n${readTextOrEmpty(logPath)}`,
          );
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new BenchRigError("the signer did not connect within 60 s")),
            CONNECT_TIMEOUT_MS,
          );
        }),
      ]);
      clearTimeout(timer);
      return new SignerProcess({
        link: new NodeLink(conn),
        root,
        dataDir,
        child,
        listener,
        logPath,
      });
    } catch (e) {
      listener?.close();
      if (child) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await child.status;
      }
      await Deno.remove(root, { recursive: true });
      throw e;
    }
  }

  /** The signer's log so far. */
  log(): LogEvent[] {
    return parseLog(readTextOrEmpty(this.#logPath));
  }

  /**
   * Stops everything, synchronously (see the module documentation); idempotent.
   * @returns what the signer's log says about the session
   */
  stopSync(): StopReport {
    if (this.#stopped) return this.#stopped;
    this.link.close();
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    let events: LogEvent[] = [];
    let stopped: LogEvent | undefined;
    try {
      this.#child.kill("SIGTERM");
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (Date.now() < deadline) {
        events = this.log();
        stopped = events.find((e) => e.event === "signer.stopped");
        if (stopped) break;
        sleepSync(10);
      }
    } catch {
      // it had already exited
    }
    if (stopped) sleepSync(50); // it exits right after its last log line
    try {
      this.#child.kill("SIGKILL"); // a no-op once it has exited
    } catch {
      // already gone
    }
    events = this.log();
    for (let attempt = 0;; attempt++) {
      try {
        Deno.removeSync(this.root, { recursive: true });
        break;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) break;
        if (attempt >= 20) throw e;
        sleepSync(25);
      }
    }
    this.#stopped = {
      graceful: stopped !== undefined,
      stats: stopped?.fields,
      refused: events.filter((e) => e.event === "decision.refused").length,
      errors:
        events.filter((e) =>
          e.level === "error" || e.event === "handler.error" || e.event.startsWith("frame.")
        ).length,
    };
    return this.#stopped;
  }
}
