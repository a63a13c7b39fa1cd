/**
 * `run`: the locked-down signer process.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1:9735 --allow-read=DIR,POLICYDIR --allow-write=DIR \
 *   mod.ts run --data-dir DIR --policy POLICYDIR/site.policy --connect tcp://127.0.0.1:9735
 * ```
 *
 * Start-up, in this order (nothing secret is read before the permission check passes):
 * 1. parse the options; check the process's permissions (transports/permissions.ts): it refuses to
 *    run, with one `error:` line and exit code 1, when it holds a permission it does not need
 *    (`-A`, any `--allow-run` but `stty` with `--stty`, `--allow-ffi`, `--allow-sys`,
 *    `--allow-env`, net beyond the one `host:port` it dials or net with `--serial`, as far as the
 *    probes of transports/permissions.ts see, read or write beyond what it uses) or lacks one it
 *    needs;
 * 2. read DIR/signer.json (network, key style) and load the policy, type-checked against the
 *    signer's facts (errors are printed as `file:line:col: error: ...`, exit 1); check the read
 *    permissions again with the policy's includes;
 * 3. read the seed (DIR/hsm_secret), open the SQLite store DIR/state.sqlite and the audit log
 *    DIR/audit.log, build the {@link Signer} and the protocol {@link Dispatcher};
 * 4. start the transport (`--connect tcp://`, `ws://`, `wss://`, or `--serial -`: the line as
 *    standard input and output, opened by the shell, since Deno 2 opens devices under /dev only
 *    with `--allow-all`; `--serial DEVICE` opens it by path), recording the traffic with
 *    `--record FILE`.
 *
 * Logs are JSON lines on stderr (transports/log.ts): `signer.start` (node id, network, policy,
 * transport...), `policy.mandatory_demotion` (warn, one per demoted rule, with
 * `--dev-allow-mandatory-demotion`), `approver.permissive` (warn, with `--approver positive`),
 * `connection.*`, `decision.refused` (warn: kind, channel, rule ids), `decision.warning`,
 * `handler.error`, `frame.*`, `signer.stopped`. SIGINT or SIGTERM stops the transport, flushes the
 * recording and closes the store and the audit log (exit 0); with `--serial -` the line closing
 * ends the process the same way, with exit code 1 and one `error:` line (a supervisor restarts
 * it). Nothing is written to stdout (with `--serial -` it is the serial line).
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { toHex } from "../bytes.ts";
import { nodeKeysFromSeed } from "../keys/mod.ts";
import type { Network } from "../bitcoin/network.ts";
import type { KeyStyle } from "../keys/types.ts";
import {
  type Approver,
  NegativeApprover,
  PositiveApprover,
  QueueApprover,
} from "../node/approvals.ts";
import { Signer } from "../signer/signer.ts";
import { signerRegistry } from "../signer/registry.ts";
import { openStore } from "../store/mod.ts";
import type { Store } from "../store/types.ts";
import { Dispatcher } from "../protocol/dispatch.ts";
import { type Decision, loadPolicy, type Policy } from "../../policy/engine.ts";
import { formatDiagnostic, PolicyError } from "../../policy/diagnostics.ts";
import { formatLocation } from "../../policy/explain.ts";
import { type AuditEntry, AuditLog } from "../../policy/audit.ts";
import { JsonLogger, type Logger, type LogLevel } from "../../transports/log.ts";
import {
  checkPermissions,
  describeProblems,
  type PermissionNeeds,
} from "../../transports/permissions.ts";
import { TrafficRecorder } from "../../transports/record.ts";
import { FrameSession } from "../../transports/session.ts";
import type { ReconnectingTransport } from "../../transports/reconnect.ts";
import { TcpTransport } from "../../transports/tcp.ts";
import { WebSocketTransport } from "../../transports/websocket.ts";
import { BAUD_RATES, SerialTransport, StdioSerialTransport } from "../../transports/serial.ts";
import type { BackoffOptions } from "../../transports/backoff.ts";
import { type ConnectTarget, parseConnectUrl } from "../../transports/url.ts";
import { TransportError } from "../../transports/types.ts";
import { CliError, type CliIo, type Command, EXIT, parseOptions, UsageError } from "./command.ts";
import { openSignerDir } from "./data_dir.ts";
import { AUDIT_FILE, readDirConfig } from "./allowlist.ts";

/** Approver choices of `--approver`. */
export const APPROVERS = ["negative", "positive", "queue"] as const;
/** One of {@link APPROVERS}. */
export type ApproverName = typeof APPROVERS[number];

/** The program's own directory (the repository root), when it runs from local files. */
export function programDir(): string | undefined {
  const url = new URL("../../", import.meta.url);
  return url.protocol === "file:" ? fileURLToPath(url).replace(/\/$/, "") : undefined;
}

/** The settings of a signer process (parsed from the command line). */
export interface RunConfig {
  /** The data directory (absolute). */
  dataDir: string;
  /** The policy file (absolute). */
  policyPath: string;
  /** Where to connect (`--connect`), or undefined with `--serial`. */
  connect?: ConnectTarget;
  /** The serial device (`--serial`, absolute), or "-": standard input and output. */
  serial?: string;
  /** Run stty on the device before opening it. */
  stty?: boolean;
  /** Serial line speed for stty. */
  baud?: number;
  /** The recording file (absolute). */
  record?: string;
  /** Who approves payments and unknown on-chain outputs (default negative). */
  approver?: ApproverName;
  /** Let filters demote mandatory rules (development only). */
  devAllowMandatoryDemotion?: boolean;
  /** Lowest log level written (default info). */
  logLevel?: LogLevel;
  /** Reconnect delays (tests shorten them). */
  backoff?: BackoffOptions;
}

/** The permissions a signer with `config` needs (before its policy's includes are known). */
export function neededPermissions(
  config: RunConfig,
  options: { policyFiles?: readonly string[] } = {},
): PermissionNeeds {
  const files = [config.policyPath, ...(options.policyFiles ?? [])];
  const device = config.serial === "-" ? undefined : config.serial;
  const extra = [config.record, device].filter((p): p is string => p !== undefined);
  const program = programDir();
  return {
    net: config.connect ? [config.connect.hostPort] : [],
    read: [config.dataDir, ...new Set(files), ...extra],
    readAllowed: [...new Set(files.map((f) => dirname(f))), ...(program ? [program] : [])],
    write: [config.dataDir, ...extra],
    run: config.stty ? ["stty"] : [],
  };
}

function assertPermissions(needs: PermissionNeeds): void {
  const problems = checkPermissions(needs);
  if (problems.length > 0) throw new CliError(describeProblems(problems));
}

/** An audit sink that writes the audit log and logs refusals and warnings. */
function auditTee(log: AuditLog, logger: Logger): { append(e: AuditEntry): Promise<void> } {
  return {
    async append(entry: AuditEntry): Promise<void> {
      await log.append(entry);
      const d = entry.decision;
      if (!d.allowed) {
        logger.log("warn", "decision.refused", {
          kind: entry.kind,
          channel: entry.channel ?? null,
          rules: [...new Set(d.violations.map((v) => v.rule))],
          temporary: d.temporary,
        });
      }
      if (d.warnings.length > 0) {
        logger.log("warn", "decision.warning", {
          kind: entry.kind,
          channel: entry.channel ?? null,
          rules: [...new Set(d.warnings.map((v) => v.rule))],
        });
      }
    },
  };
}

function makeApprover(name: ApproverName, store: Store): Approver {
  switch (name) {
    case "negative":
      return new NegativeApprover();
    case "positive":
      return new PositiveApprover();
    case "queue":
      return new QueueApprover({ store });
  }
}

/** How long {@link RunningSigner.stop} waits for the transport (a read on stdin cannot be cut). */
export const STOP_GRACE_MS = 3000;

/**
 * Deno 2 opens devices under /dev only with `--allow-all`: fail early, naming the alternative,
 * when `device` is one of them (a missing device is fine: the transport waits for it).
 */
async function checkDeviceOpenable(device: string): Promise<void> {
  try {
    const file = await Deno.open(device, { read: true, write: true });
    file.close();
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new CliError(
        `Deno opens devices such as ${device} only with --allow-all; give the line as standard ` +
          `input and output instead: --serial - 0<>${device} 1>&0`,
      );
    }
  }
}

/** Waits for `promise`, at most `ms` milliseconds. */
async function atMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** A started signer (see {@link startSigner}). */
export interface RunningSigner {
  /** The node id. */
  nodeId: Uint8Array;
  /** The transport. */
  transport: ReconnectingTransport<unknown>;
  /** Resolves when the transport ends by itself (`--serial -`: the line closed). */
  done: Promise<void>;
  /** The frame session (stats, cache). */
  session: FrameSession;
  /** Stops the transport and closes everything (idempotent). */
  stop(): Promise<void>;
}

/**
 * Loads a policy; on problems writes every diagnostic to `io.stderr` and throws a
 * {@link CliError} whose message counts them.
 */
export function loadRunPolicy(
  path: string,
  options: { network: Network; devAllowMandatoryDemotion?: boolean; io: CliIo },
): Policy {
  try {
    return loadPolicy(path, {
      registry: signerRegistry(),
      network: options.network,
      devAllowMandatoryDemotion: options.devAllowMandatoryDemotion,
    });
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    for (const d of e.diagnostics) options.io.stderr(formatDiagnostic(d) + "\n");
    const n = e.diagnostics.length;
    throw new CliError(`the policy ${path} has ${n} error${n === 1 ? "" : "s"}; not starting`);
  }
}

/**
 * Starts a signer: reads the data directory, loads the policy, builds the signer and the
 * dispatcher and starts the transport (steps 2 to 4 of the module documentation; step 1, the
 * permission check, runs first unless `checkPermissions` is false).
 * @param config the settings
 * @param options `io` for log lines and diagnostics; `checkPermissions` (default true)
 */
export async function startSigner(
  config: RunConfig,
  options: { io: CliIo; checkPermissions?: boolean },
): Promise<RunningSigner> {
  const check = options.checkPermissions ?? true;
  if (check) assertPermissions(neededPermissions(config));
  const logger = new JsonLogger({ write: options.io.stderr, level: config.logLevel ?? "info" });
  const dirConfig = await readDirConfig(config.dataDir);
  const network = dirConfig.network;
  const policy = loadRunPolicy(config.policyPath, {
    network,
    devAllowMandatoryDemotion: config.devAllowMandatoryDemotion,
    io: options.io,
  });
  const policyFiles = policy.files.map((f) => resolve(f.path));
  if (check) assertPermissions(neededPermissions(config, { policyFiles }));
  if (config.serial !== undefined && config.serial !== "-") {
    await checkDeviceOpenable(config.serial);
  }

  const opened = await openSignerDir(config.dataDir);
  let keys;
  try {
    keys = nodeKeysFromSeed(opened.seed, {
      network,
      style: opened.config.keyStyle as KeyStyle,
    });
  } finally {
    opened.seed.zeroize();
  }
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch {
        // keep closing the rest
      }
    }
  };
  try {
    const store = await openStore(opened.dir);
    closers.push(() => store.close());
    const audit = await AuditLog.open(join(opened.dir, AUDIT_FILE));
    closers.push(() => audit.close());
    const approverName = config.approver ?? "negative";
    const signer = await Signer.open<Decision>({
      keys,
      store,
      policy,
      audit: auditTee(audit, logger),
      approver: makeApprover(approverName, store),
    });
    const dispatcher = new Dispatcher(signer, { network, identity: keys });
    const recorder = config.record
      ? await TrafficRecorder.open(config.record, { logger })
      : undefined;
    if (recorder) closers.push(() => recorder.close());
    const name = config.serial ? "serial" : config.connect?.kind ?? "tcp";
    const session = new FrameSession(dispatcher, { transport: name, recorder, logger });
    const common = { session, logger, backoff: config.backoff };
    let transport: ReconnectingTransport<unknown>;
    if (config.serial === "-") {
      transport = new StdioSerialTransport({
        ...common,
        stty: config.stty,
        baud: config.baud,
      }) as ReconnectingTransport<unknown>;
    } else if (config.serial) {
      transport = new SerialTransport(config.serial, {
        ...common,
        stty: config.stty,
        baud: config.baud,
      }) as ReconnectingTransport<unknown>;
    } else if (config.connect?.kind === "websocket") {
      transport = new WebSocketTransport(config.connect.url, common) as ReconnectingTransport<
        unknown
      >;
    } else if (config.connect?.kind === "tcp") {
      transport = new TcpTransport(config.connect, common) as ReconnectingTransport<unknown>;
    } else {
      throw new UsageError("give --connect URL or --serial DEVICE");
    }

    for (const d of policy.mandatoryDemotions) {
      logger.log("warn", "policy.mandatory_demotion", {
        message: "DEVELOPMENT FLAG: a MANDATORY rule is demoted to a warning; never in production",
        rule: d.rule,
        filter: d.pattern,
        location: formatLocation(d.filter),
      });
    }
    if (approverName === "positive") {
      logger.log("warn", "approver.permissive", {
        message: "every payment and unknown on-chain output is approved (--approver positive)",
      });
    }
    logger.log("info", "signer.start", {
      node_id: toHex(keys.nodeId),
      network,
      key_style: opened.config.keyStyle,
      data_dir: opened.dir,
      policy: {
        name: policy.name,
        version: policy.version,
        files: policyFiles,
        rules: policy.rules.length,
        mandatory_demotions: policy.mandatoryDemotions.length,
      },
      transport: name,
      target: transport.target,
      record: config.record ?? null,
      approver: approverName,
      permissions: check ? "least privilege (checked)" : "not checked",
    });
    const done = transport.run().catch((e) =>
      logger.log("error", "transport.failed", { error: e instanceof Error ? e.name : "Error" })
    );
    let stopped: Promise<void> | undefined;
    return {
      nodeId: keys.nodeId,
      transport,
      done,
      session,
      stop() {
        stopped ??= (async () => {
          await atMost(transport.stop(), STOP_GRACE_MS);
          await closeAll();
          logger.log("info", "signer.stopped", { ...session.stats });
        })();
        return stopped;
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

const USAGE =
  `usage: mod.ts run --data-dir DIR --policy FILE (--connect URL | --serial DEVICE) [options]

Run the signer: load the seed and network of DIR (made by init), its SQLite store and audit log,
the policy FILE (type-checked; errors are printed with their locations), and serve the node over
one transport. The signer dials the node; it never listens.

  --data-dir DIR                  the data directory
  --policy FILE                   the policy (e.g. a site policy including rules/default.policy)
  --connect URL                   tcp://HOST:PORT, ws://HOST:PORT/PATH or wss://HOST:PORT/PATH
  --serial -                      the serial line is standard input and output, opened by the
                                  shell: ... --serial - 0<>/dev/ttyUSB0 1>&0 (set it raw first:
                                  stty -F /dev/ttyUSB0 raw -echo 115200); exits when it closes
  --serial DEVICE                 open DEVICE itself and reopen it when it goes away (Deno 2
                                  opens devices under /dev only with --allow-all, which run
                                  refuses: use --serial - there)
  --stty                          run that stty command on the line before serving it (needs
                                  --allow-run=stty)
  --baud N                        the speed for --stty (default 115200)
  --record FILE                   append every request and reply to FILE (JSON lines, for replay)
  --approver NAME                 negative (default: approve nothing beyond the allowlist),
                                  positive (approve everything; loud), queue (ask through
                                  mod.ts approvals)
  --log-level LEVEL               debug, info (default), warn or error
  --dev-allow-mandatory-demotion  let filters demote mandatory rules (development only; loud)

Permissions: it refuses to start when it holds more than it needs. Run it as
  deno run --allow-net=HOST:PORT --allow-read=DIR,POLICYDIR --allow-write=DIR mod.ts run ...
adding the recording FILE to --allow-read and --allow-write with --record, no --allow-net with
--serial -, and --allow-run=stty with --stty. Logs are JSON lines on stderr. SIGINT or SIGTERM
stops it cleanly (exit 0); with --serial -, the line closing ends it with exit code 1.`;

function absolute(path: string): string {
  return resolve(path);
}

/** Parses the command line of `run` into a {@link RunConfig}. */
export function parseRunArgs(args: string[]): RunConfig | "help" {
  const values = parseOptions(args, {
    "data-dir": { type: "string" },
    policy: { type: "string" },
    connect: { type: "string" },
    serial: { type: "string" },
    stty: { type: "boolean" },
    baud: { type: "string" },
    record: { type: "string" },
    approver: { type: "string" },
    "log-level": { type: "string" },
    "dev-allow-mandatory-demotion": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return "help";
  const str = (name: string): string | undefined => {
    const v = values[name];
    if (v === "") throw new UsageError(`--${name} needs a value`);
    return typeof v === "string" ? v : undefined;
  };
  const dataDir = str("data-dir");
  const policy = str("policy");
  if (dataDir === undefined) throw new UsageError("missing required option --data-dir");
  if (policy === undefined) throw new UsageError("missing required option --policy");
  const connect = str("connect");
  const serial = str("serial");
  if ((connect === undefined) === (serial === undefined)) {
    throw new UsageError("give exactly one of --connect URL and --serial DEVICE");
  }
  let target: ConnectTarget | undefined;
  if (connect !== undefined) {
    try {
      target = parseConnectUrl(connect);
    } catch (e) {
      if (e instanceof TransportError) throw new UsageError(e.message);
      throw e;
    }
  }
  if (values.stty && serial === undefined) throw new UsageError("--stty goes with --serial");
  const baudText = str("baud");
  let baud: number | undefined;
  if (baudText !== undefined) {
    if (serial === undefined) throw new UsageError("--baud goes with --serial");
    baud = Number(baudText);
    if (!BAUD_RATES.includes(baud)) {
      throw new UsageError(`--baud must be one of ${BAUD_RATES.join(", ")}`);
    }
  }
  const approver = str("approver") ?? "negative";
  if (!(APPROVERS as readonly string[]).includes(approver)) {
    throw new UsageError(`--approver must be one of ${APPROVERS.join(", ")}`);
  }
  const logLevel = str("log-level") ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new UsageError("--log-level must be debug, info, warn or error");
  }
  const record = str("record");
  return {
    dataDir: absolute(dataDir),
    policyPath: absolute(policy),
    connect: target,
    serial: serial === undefined || serial === "-" ? serial : absolute(serial),
    stty: values.stty === true,
    baud,
    record: record === undefined ? undefined : absolute(record),
    approver: approver as ApproverName,
    devAllowMandatoryDemotion: values["dev-allow-mandatory-demotion"] === true,
    logLevel: logLevel as LogLevel,
  };
}

function waitForSignal(): { promise: Promise<string>; dispose(): void } {
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  let resolveSignal: (s: string) => void = () => {};
  const promise = new Promise<string>((r) => (resolveSignal = r));
  const handlers = signals.map((signal) => {
    const handler = () => resolveSignal(signal);
    Deno.addSignalListener(signal, handler);
    return { signal, handler };
  });
  return {
    promise,
    dispose() {
      for (const { signal, handler } of handlers) Deno.removeSignalListener(signal, handler);
    },
  };
}

/** `run`. */
export const runCommand: Command = {
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const config = parseRunArgs(args);
    if (config === "help") {
      io.stdout(USAGE + "\n");
      return EXIT.OK;
    }
    const signal = waitForSignal();
    try {
      const signer = await startSigner(config, { io });
      const ended = await Promise.race([signal.promise, signer.done.then(() => undefined)]);
      if (ended !== undefined) {
        new JsonLogger({ write: io.stderr }).log("info", "signer.signal", { signal: ended });
      }
      await signer.stop();
      if (ended === undefined) throw new CliError("the serial line on standard input closed");
      return EXIT.OK;
    } finally {
      signal.dispose();
    }
  },
};

/** The commands of this file. */
export const commands: Record<string, Command> = { run: runCommand };
