/**
 * `heartbeat verify`: check a signed heartbeat (core/node/heartbeat.ts, VLS `get_heartbeat`) as
 * VLS's `HeartbeatMonitor` does: the BIP-340 signature by the signer's account key, staleness
 * (more than 3600 seconds old, 5 on regtest and signet) and future dating.
 *
 * Prints one JSON object `{"valid", "stale", "future_dated", "height", "tip", "timestamp",
 * "age_seconds"}` (`tip` is the block hash in display order, as bitcoind prints it; `timestamp` is
 * the signer's clock when it signed; `age_seconds` is `now - timestamp`; the last four are null
 * when the bytes do not decode), and exits 0 when the heartbeat is valid and fresh, or 1 with one
 * `error:` line saying why.
 *
 * The key is `--pubkey` (33-byte compressed or 32-byte x-only, hex) or the account key of the
 * signer in `--data-dir` (read from its seed, which never leaves this process).
 *
 * @module
 */
import { fromHex, reverse, toHex } from "../bytes.ts";
import { isValidPublicKey } from "../crypto/mod.ts";
import { isNetwork, type Network, NETWORKS } from "../bitcoin/network.ts";
import { nodeKeysFromSeed } from "../keys/mod.ts";
import { heartbeatPubkey, heartbeatStaleAfter, verifyHeartbeat } from "../node/heartbeat.ts";
import { type CliIo, type Command, EXIT, printJson, UsageError } from "./command.ts";
import { openSignerDir } from "./data_dir.ts";
import { parseSubcommand, requiredOption } from "./allowlist.ts";

/** What `heartbeat verify` prints. */
export interface HeartbeatReport {
  /** It decodes and the signature is the key's. */
  valid: boolean;
  /** Older than the network's staleness bound. */
  stale: boolean;
  /** Dated after `now`. */
  future_dated: boolean;
  /** The chain height it reports. */
  height: number | null;
  /** The chain tip it reports, display order. */
  tip: string | null;
  /** The signer's clock when it signed. */
  timestamp: number | null;
  /** `now - timestamp`. */
  age_seconds: number | null;
}

function hexOption(value: string, what: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(value)) throw new UsageError(`${what} must be hex bytes`);
  return fromHex(value.toLowerCase());
}

function networkOption(value: string | boolean | undefined): Network | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !isNetwork(value)) {
    throw new UsageError(`unknown network (expected one of ${NETWORKS.join(", ")})`);
  }
  return value;
}

const USAGE =
  `usage: mod.ts heartbeat verify --hex HEX (--pubkey PUBKEY | --data-dir DIR) [--network NETWORK]
                               [--now SECONDS]

Verify a signed heartbeat (109 bytes: 0x40, the BIP-340 signature, then tip hash, height, tip time
and signer time) as VLS's heartbeat monitor does. Prints {"valid", "stale", "future_dated",
"height", "tip", "timestamp", "age_seconds"} and exits 0 when it is valid and fresh, 1 otherwise.

  --hex HEX             the signed heartbeat in hex
  --pubkey PUBKEY       the signer's heartbeat key (account key m/0/0), 33 or 32 bytes in hex
  --data-dir DIR        take the key from the signer in DIR instead (reads its seed)
  --network NETWORK     ${NETWORKS.join(", ")}: stale after 3600 s, 5 s on regtest and signet
                        (default: DIR's network, else bitcoin)
  --now SECONDS         the clock in seconds since the epoch (default: the system clock)`;

/** `heartbeat`. */
export const heartbeatCommand: Command = {
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseSubcommand(args, {
      subs: { verify: 0 },
      options: {
        hex: { type: "string" },
        pubkey: { type: "string" },
        "data-dir": { type: "string" },
        network: { type: "string" },
        now: { type: "string" },
      },
    });
    const v = parsed.values;
    if (v.help) {
      io.stdout(USAGE + "\n");
      return EXIT.OK;
    }
    const bytes = hexOption(requiredOption(v, "hex"), "--hex");
    let network = networkOption(v.network);
    let now = Math.floor(Date.now() / 1000);
    if (v.now !== undefined) {
      if (typeof v.now !== "string" || !/^[0-9]{1,15}$/.test(v.now)) {
        throw new UsageError("--now must be a number of seconds since the epoch");
      }
      now = Number(v.now);
    }
    if ((v.pubkey === undefined) === (v["data-dir"] === undefined)) {
      throw new UsageError("give exactly one of --pubkey and --data-dir");
    }
    let pubkey: Uint8Array;
    if (typeof v.pubkey === "string") {
      pubkey = hexOption(v.pubkey, "--pubkey");
      if (!(pubkey.length === 32 || (pubkey.length === 33 && isValidPublicKey(pubkey)))) {
        throw new UsageError("--pubkey must be a 33-byte compressed point or a 32-byte x-only key");
      }
    } else {
      const opened = await openSignerDir(requiredOption(v, "data-dir"));
      try {
        network ??= opened.config.network;
        const keys = nodeKeysFromSeed(opened.seed, {
          network: opened.config.network,
          style: opened.config.keyStyle,
        });
        try {
          pubkey = heartbeatPubkey(keys);
        } finally {
          keys.zeroize();
        }
      } finally {
        opened.seed.zeroize();
      }
    }
    network ??= "bitcoin";
    const verdict = verifyHeartbeat(bytes, { pubkey, now, network });
    const hb = verdict.heartbeat;
    const report: HeartbeatReport = {
      valid: verdict.valid,
      stale: verdict.stale,
      future_dated: verdict.futureDated,
      height: hb?.chainHeight ?? null,
      tip: hb ? toHex(reverse(hb.chainTip)) : null,
      timestamp: hb?.currentTimestamp ?? null,
      age_seconds: hb ? now - hb.currentTimestamp : null,
    };
    printJson(io, report);
    let why = "";
    if (hb === null) why = "the bytes are not a signed heartbeat (109 bytes starting 0x40)";
    else if (!verdict.valid) why = "the signature does not verify with this key";
    else if (verdict.stale) {
      why = `the heartbeat is stale: ${report.age_seconds} s old, more than ${
        heartbeatStaleAfter(network)
      } s on ${network}`;
    } else if (verdict.futureDated) {
      why = `the heartbeat is dated ${-(report.age_seconds ?? 0)} s in the future`;
    }
    if (why === "") return EXIT.OK;
    io.stderr(`error: ${why}\n`);
    return EXIT.ERROR;
  },
};

/** The commands of this file. */
export const commands: Record<string, Command> = { heartbeat: heartbeatCommand };
