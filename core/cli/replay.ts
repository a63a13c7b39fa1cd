/**
 * `replay`: feed a recording's requests to a FRESH signer and report what it decides now
 * (transports/replay.ts). The tool for trying a changed policy on real traffic:
 *
 * ```sh
 * deno run -A mod.ts replay --traffic node.jsonl --data-dir DIR --policy stricter.policy
 * ```
 *
 * The fresh signer has the data directory's seed, network and key style, an in-memory store
 * (nothing is written to DIR) holding a copy of DIR's allowlist (operator configuration, read from
 * DIR/state.sqlite when it exists), the given policy (default: rules/default.policy) and the given
 * approver (default negative). Transport recordings (`mod.ts run --record`) go through the
 * protocol dispatcher with the clock set to each request's recorded time; signer-API recordings
 * (tests/traffic/*.jsonl) call the signer directly with the chain tip's time as the clock.
 *
 * Output: one line per request whose decision or reply changed (every request with `--all`),
 * e.g. `request 42 sign_remote_commitment_tx: was signed, now refused by
 * policy-commitment-fee-range`, then a summary line; with `--json`, one JSON object
 * `{format, summary, entries}`. Exit code 0 whatever changed, 1 on errors (unreadable recording,
 * bad data directory, policy errors printed with their locations).
 *
 * @module
 */
import { join } from "node:path";
import { nodeKeysFromSeed } from "../keys/mod.ts";
import { ALLOWLIST_KEY } from "../node/allowlist.ts";
import { type Approver, NegativeApprover, PositiveApprover } from "../node/approvals.ts";
import { Signer } from "../signer/signer.ts";
import { MemoryStore, openStore, STATE_FILE } from "../store/mod.ts";
import { Dispatcher } from "../protocol/dispatch.ts";
import type { Decision } from "../../policy/engine.ts";
import {
  describeEntry,
  describeSummary,
  parseRecording,
  type Recording,
  replayApi,
  ReplayClock,
  ReplayError,
  type ReplayReport,
  replayTransport,
} from "../../transports/replay.ts";
import { FrameSession } from "../../transports/session.ts";
import { CliError, type CliIo, type Command, EXIT, parseOptions, UsageError } from "./command.ts";
import { openSignerDir } from "./data_dir.ts";
import { readDirConfig } from "./allowlist.ts";
import { defaultPolicyPath } from "./policy.ts";
import { loadRunPolicy } from "./run.ts";

/** The clock of a replayed signer-API recording before the first block: the LDK harness's. */
export const API_REPLAY_START_TIME = 1_700_000_000;

const USAGE = `usage: mod.ts replay --traffic FILE --data-dir DIR [--policy FILE] [options]

Replay the requests of a recording (mod.ts run --record, or a signer-API recording such as
tests/traffic/*.jsonl) against a fresh signer with DIR's seed, an in-memory store holding a copy of
DIR's allowlist, and the policy FILE (default rules/default.policy). Reports every request whose
decision or reply changed, e.g.
  request 42 sign_remote_commitment_tx: was signed, now refused by policy-commitment-fee-range
and a summary. Nothing is written to DIR. Exit code 0 (1 only on errors).

  --traffic FILE                  the recording
  --data-dir DIR                  the data directory whose seed signed the traffic
  --policy FILE                   the policy to try (default rules/default.policy)
  --approver NAME                 negative (default) or positive
  --all                           one line per request, changed or not
  --json                          one JSON object: {format, summary, entries}
  --dev-allow-mandatory-demotion  let filters demote mandatory rules (development only)`;

async function allowlistCopy(dir: string): Promise<MemoryStore> {
  const store = new MemoryStore();
  try {
    await Deno.stat(join(dir, STATE_FILE));
  } catch {
    return store; // no store yet: no allowlist
  }
  const source = await openStore(dir);
  try {
    const entry = await source.get(ALLOWLIST_KEY);
    if (entry !== undefined) {
      await store.put([{ key: ALLOWLIST_KEY, value: entry.value, version: 0 }]);
    }
  } finally {
    await source.close();
  }
  return store;
}

/** Replays `recording` against a fresh signer of `dir` (see the module documentation). */
export async function replayRecording(
  recording: Recording,
  options: {
    dir: string;
    policyPath: string;
    approver?: "negative" | "positive";
    devAllowMandatoryDemotion?: boolean;
    io: CliIo;
  },
): Promise<ReplayReport> {
  const config = await readDirConfig(options.dir);
  const policy = loadRunPolicy(options.policyPath, {
    network: config.network,
    devAllowMandatoryDemotion: options.devAllowMandatoryDemotion,
    io: options.io,
  });
  const opened = await openSignerDir(options.dir);
  let keys;
  try {
    keys = nodeKeysFromSeed(opened.seed, { network: config.network, style: config.keyStyle });
  } finally {
    opened.seed.zeroize();
  }
  const store = await allowlistCopy(opened.dir);
  const ref: { signer?: Signer<Decision> } = {};
  const clock = recording.format === "api"
    ? new ReplayClock(() => ref.signer?.tipInfo()?.time ?? API_REPLAY_START_TIME)
    : new ReplayClock();
  const approver: Approver = options.approver === "positive"
    ? new PositiveApprover()
    : new NegativeApprover();
  const signer = await Signer.open<Decision>({
    keys,
    store,
    policy,
    clock: () => clock.now(),
    approver,
  });
  ref.signer = signer;
  if (recording.format === "api") return await replayApi(recording.records, { api: signer });
  const dispatcher = new Dispatcher(signer, { network: config.network, identity: keys });
  const session = new FrameSession(dispatcher, { transport: "replay" });
  return await replayTransport(recording.lines, { session, clock });
}

/** `replay`. */
export const replayCommand: Command = {
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const values = parseOptions(args, {
      traffic: { type: "string" },
      "data-dir": { type: "string" },
      policy: { type: "string" },
      approver: { type: "string" },
      all: { type: "boolean" },
      json: { type: "boolean" },
      "dev-allow-mandatory-demotion": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      io.stdout(USAGE + "\n");
      return EXIT.OK;
    }
    const traffic = values.traffic;
    const dir = values["data-dir"];
    if (typeof traffic !== "string" || traffic === "") {
      throw new UsageError("missing required option --traffic");
    }
    if (typeof dir !== "string" || dir === "") {
      throw new UsageError("missing required option --data-dir");
    }
    const approver = values.approver ?? "negative";
    if (approver !== "negative" && approver !== "positive") {
      throw new UsageError("--approver must be negative or positive");
    }
    const policyPath = typeof values.policy === "string" && values.policy !== ""
      ? values.policy
      : defaultPolicyPath();
    let text: string;
    try {
      text = await Deno.readTextFile(traffic);
    } catch (e) {
      throw new CliError(`cannot read ${traffic} (${e instanceof Error ? e.name : "error"})`);
    }
    let recording: Recording;
    try {
      recording = parseRecording(text);
    } catch (e) {
      if (e instanceof ReplayError) throw new CliError(`${traffic}: ${e.message}`);
      throw e;
    }
    const report = await replayRecording(recording, {
      dir,
      policyPath,
      approver,
      devAllowMandatoryDemotion: values["dev-allow-mandatory-demotion"] === true,
      io,
    });
    const shown = values.all ? report.entries : report.entries.filter((e) => e.change !== "same");
    if (values.json) {
      io.stdout(
        JSON.stringify({ format: report.format, summary: report.summary, entries: shown }) + "\n",
      );
    } else {
      for (const e of shown) io.stdout(describeEntry(e) + "\n");
      io.stdout(describeSummary(report.summary) + "\n");
    }
    return EXIT.OK;
  },
};

/** The commands of this file. */
export const commands: Record<string, Command> = { replay: replayCommand };
