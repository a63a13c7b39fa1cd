/**
 * `init` (create a data directory with a new or given seed) and `info` (show the public keys of
 * an existing one). Both print one JSON object:
 * `{"node_id", "network", "key_style", "bip32_xpub", "bolt12_pubkey", "data_dir"}`.
 *
 * @module
 */
import { fromHex, toHex } from "../bytes.ts";
import { randomBytes } from "../crypto/mod.ts";
import { isNetwork, type Network, NETWORKS } from "../bitcoin/network.ts";
import { nodeKeysFromSeed } from "../keys/mod.ts";
import { isKeyStyle, KEY_STYLES, type KeyStyle } from "../keys/types.ts";
import {
  type CliIo,
  type Command,
  EXIT,
  parseOptions,
  printJson,
  requireString,
  UsageError,
} from "./command.ts";
import { createSignerDir, openSignerDir, SEED_LENGTH } from "./data_dir.ts";

/** The JSON object `init` and `info` print. */
export interface NodeInfo {
  /** 33-byte node id, hex. */
  node_id: string;
  /** The network. */
  network: Network;
  /** The key derivation style. */
  key_style: KeyStyle;
  /** The wallet account key m/0/0 as xpub/tpub. */
  bip32_xpub: string;
  /** The BOLT-12 base public key, 33 bytes hex. */
  bolt12_pubkey: string;
  /** Absolute path of the data directory. */
  data_dir: string;
}

/** The public description of a seed in a style and network. */
export function describeSeed(
  seed: Uint8Array,
  options: { network: Network; keyStyle: KeyStyle; dataDir: string },
): NodeInfo {
  const keys = nodeKeysFromSeed(seed, { network: options.network, style: options.keyStyle });
  try {
    return {
      node_id: toHex(keys.nodeId),
      network: options.network,
      key_style: options.keyStyle,
      bip32_xpub: keys.accountXpub(),
      bolt12_pubkey: toHex(keys.bolt12Pubkey),
      data_dir: options.dataDir,
    };
  } finally {
    keys.zeroize();
  }
}

function parseNetwork(value: string): Network {
  if (!isNetwork(value)) {
    throw new UsageError(`unknown network (expected one of ${NETWORKS.join(", ")})`);
  }
  return value;
}

function parseKeyStyle(value: string): KeyStyle {
  if (!isKeyStyle(value)) {
    throw new UsageError(`unknown key style (expected one of ${KEY_STYLES.join(", ")})`);
  }
  return value;
}

function parseSeedHex(value: string): Uint8Array {
  // Never echo the value: it is (meant to be) a seed.
  if (value.length !== 2 * SEED_LENGTH || !/^[0-9a-fA-F]*$/.test(value)) {
    throw new UsageError(`--seed-hex must be ${2 * SEED_LENGTH} hex characters (32 bytes)`);
  }
  return fromHex(value);
}

const INIT_USAGE =
  `usage: mod.ts init --data-dir DIR --network NETWORK [--key-style STYLE] [--seed-hex HEX]

Create DIR (mode 0700, if absent) holding a seed: DIR/hsm_secret (32 raw bytes, the CLN file
format, mode 0600) and DIR/signer.json. Never overwrites an existing seed. Prints one JSON object
with the node id, network, key style, wallet xpub (m/0/0), BOLT-12 public key and directory.

  --data-dir DIR        the data directory (its parent must exist)
  --network NETWORK     ${NETWORKS.join(", ")}
  --key-style STYLE     ${KEY_STYLES.join(" or ")} (default native: CLN's hsmd derivation)
  --seed-hex HEX        use this 32-byte seed (64 hex characters) instead of a fresh random one;
                        beware that command lines can be seen by other local users and shells
                        keep a history`;

const INFO_USAGE = `usage: mod.ts info --data-dir DIR

Print the same JSON object as init for an existing data directory. Refuses an hsm_secret that is
not exactly 32 bytes or that group or others can access.

  --data-dir DIR        the data directory`;

/** `init`. */
export const initCommand: Command = {
  usage: INIT_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const values = parseOptions(args, {
      "data-dir": { type: "string" },
      network: { type: "string" },
      "key-style": { type: "string" },
      "seed-hex": { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      io.stdout(INIT_USAGE + "\n");
      return EXIT.OK;
    }
    const dataDir = requireString(values, "data-dir");
    const network = parseNetwork(requireString(values, "network"));
    const keyStyle = parseKeyStyle(
      typeof values["key-style"] === "string" ? values["key-style"] : "native",
    );
    const seed = typeof values["seed-hex"] === "string"
      ? parseSeedHex(values["seed-hex"])
      : randomBytes(SEED_LENGTH);
    try {
      // Derive first: a seed that gives no keys is refused before anything is written.
      const preview = describeSeed(seed, { network, keyStyle, dataDir });
      const dir = await createSignerDir(dataDir, { seed, network, keyStyle });
      printJson(io, { ...preview, data_dir: dir });
      return EXIT.OK;
    } finally {
      seed.fill(0);
    }
  },
};

/** `info`. */
export const infoCommand: Command = {
  usage: INFO_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const values = parseOptions(args, {
      "data-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      io.stdout(INFO_USAGE + "\n");
      return EXIT.OK;
    }
    const dataDir = requireString(values, "data-dir");
    const opened = await openSignerDir(dataDir);
    try {
      printJson(
        io,
        describeSeed(opened.seed.expose(), {
          network: opened.config.network,
          keyStyle: opened.config.keyStyle,
          dataDir: opened.dir,
        }),
      );
      return EXIT.OK;
    } finally {
      opened.seed.zeroize();
    }
  },
};

/** The commands of this file. */
export const commands: Record<string, Command> = { init: initCommand, info: infoCommand };
