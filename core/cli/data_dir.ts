/**
 * The signer's data directory:
 * - `hsm_secret`: the 32 raw seed bytes (the same file format as CLN), mode 0600;
 * - `signer.json`: `{"network", "key_style", "version": 1}`, mode 0600.
 *
 * {@link createSignerDir} never overwrites: each file is written to a temporary file, flushed
 * with fsync and then hard-linked to its final name, which fails atomically if that name
 * exists (so two concurrent `init`s cannot both win). On any failure everything it created is
 * removed again. {@link openSignerDir} refuses a seed file of the wrong size or one that group
 * or others can access.
 *
 * @module
 */
import { join } from "node:path";
import { toHex } from "../bytes.ts";
import { randomBytes, SecretBytes } from "../crypto/mod.ts";
import { isNetwork, type Network, NETWORKS } from "../bitcoin/network.ts";
import { isKeyStyle, KEY_STYLES, type KeyStyle } from "../keys/types.ts";

/** Name of the seed file. */
export const SEED_FILE = "hsm_secret";
/** Name of the settings file. */
export const CONFIG_FILE = "signer.json";
/** Version written to and required in `signer.json`. */
export const CONFIG_VERSION = 1;
/** Size of the seed in bytes. */
export const SEED_LENGTH = 32;

/** The settings stored in `signer.json`. */
export interface SignerConfig {
  /** The network. */
  network: Network;
  /** The key derivation style. */
  keyStyle: KeyStyle;
}

/** A data directory is missing, malformed or unsafe. Messages never contain the seed. */
export class DataDirError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong, in words
   */
  constructor(message: string) {
    super(message);
    this.name = "DataDirError";
  }
}

function reason(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "not found";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.AlreadyExists) return "already exists";
  if (e instanceof Deno.errors.NotADirectory) return "not a directory";
  return e instanceof Error ? e.message : "unknown error";
}

async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new DataDirError(`cannot inspect ${path}: ${reason(e)}`);
  }
}

async function writeNewFile(path: string, data: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    for (let off = 0; off < data.length;) off += await file.write(data.subarray(off));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.chmod(path, 0o600); // exact, whatever the umask
}

async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // Not every platform can fsync a directory; the files themselves are synced.
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch {
    // already gone
  }
}

/** The JSON text of `signer.json`. */
export function configJson(config: SignerConfig): string {
  return JSON.stringify({
    network: config.network,
    key_style: config.keyStyle,
    version: CONFIG_VERSION,
  }) + "\n";
}

/**
 * Create `dir` (mode 0700, its parent must exist) if absent, then write `hsm_secret` and
 * `signer.json` without overwriting anything. Returns the directory's absolute path.
 * Throws {@link DataDirError}; on failure nothing it created is left behind.
 */
export async function createSignerDir(
  dir: string,
  options: SignerConfig & { seed: Uint8Array },
): Promise<string> {
  const { seed, ...config } = options;
  if (seed.length !== SEED_LENGTH) throw new DataDirError("seed must be 32 bytes");
  const seedPath = join(dir, SEED_FILE);
  const configPath = join(dir, CONFIG_FILE);
  let createdDir = false;
  const created: string[] = []; // final files we linked, for rollback
  const temps: string[] = [];
  try {
    const info = await lstatOrNull(dir);
    if (info === null) {
      try {
        await Deno.mkdir(dir, { mode: 0o700 });
        createdDir = true;
        await Deno.chmod(dir, 0o700);
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) {
          throw new DataDirError(`cannot create data directory ${dir}: ${reason(e)}`);
        }
      }
    } else if (!info.isDirectory) {
      throw new DataDirError(`${dir} exists and is not a directory`);
    }
    if (await lstatOrNull(seedPath)) {
      throw new DataDirError(`${seedPath} already exists; refusing to overwrite a seed`);
    }
    if (await lstatOrNull(configPath)) {
      throw new DataDirError(`${configPath} already exists; refusing to overwrite it`);
    }
    const tag = toHex(randomBytes(8));
    const seedTemp = join(dir, `.${SEED_FILE}.${tag}.tmp`);
    const configTemp = join(dir, `.${CONFIG_FILE}.${tag}.tmp`);
    for (const [temp, data] of [[seedTemp, seed], [configTemp, configJson(config)]] as const) {
      temps.push(temp);
      try {
        await writeNewFile(temp, typeof data === "string" ? new TextEncoder().encode(data) : data);
      } catch (e) {
        throw new DataDirError(`cannot write in ${dir}: ${reason(e)}`);
      }
    }
    for (const [temp, final] of [[seedTemp, seedPath], [configTemp, configPath]]) {
      try {
        await Deno.link(temp, final); // fails if `final` exists: create-new, race-free
        created.push(final);
      } catch (e) {
        if (e instanceof Deno.errors.AlreadyExists) {
          throw new DataDirError(`${final} already exists; refusing to overwrite it`);
        }
        throw new DataDirError(`cannot create ${final}: ${reason(e)}`);
      }
    }
    for (const temp of temps.splice(0)) await removeQuietly(temp);
    await syncDir(dir);
    return await Deno.realPath(dir);
  } catch (e) {
    for (const temp of temps) await removeQuietly(temp);
    for (const final of created) await removeQuietly(final);
    if (createdDir) {
      try {
        await Deno.remove(dir); // only if empty
      } catch {
        // leave a non-empty directory alone
      }
    }
    if (e instanceof DataDirError) throw e;
    throw new DataDirError(`cannot initialise ${dir}: ${reason(e)}`);
  }
}

/** Parse and check the text of `signer.json`. */
export function parseConfig(text: string, path = CONFIG_FILE): SignerConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DataDirError(`${path} is not valid JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DataDirError(`${path} must hold a JSON object`);
  }
  const { network, key_style: keyStyle, version } = value as Record<string, unknown>;
  if (version !== CONFIG_VERSION) {
    throw new DataDirError(`${path} has unsupported version (expected ${CONFIG_VERSION})`);
  }
  if (typeof network !== "string" || !isNetwork(network)) {
    throw new DataDirError(`${path} has unknown network (expected one of ${NETWORKS.join(", ")})`);
  }
  if (typeof keyStyle !== "string" || !isKeyStyle(keyStyle)) {
    throw new DataDirError(
      `${path} has unknown key_style (expected one of ${KEY_STYLES.join(", ")})`,
    );
  }
  return { network, keyStyle };
}

/** An opened data directory. */
export interface SignerDir {
  /** Absolute path of the directory. */
  dir: string;
  /** Its settings. */
  config: SignerConfig;
  /** The 32-byte seed. */
  seed: SecretBytes;
}

/**
 * Read an existing data directory: `signer.json` and `hsm_secret`, which must be a regular
 * file of exactly 32 bytes that neither group nor others can access. Throws
 * {@link DataDirError}.
 */
export async function openSignerDir(dir: string): Promise<SignerDir> {
  const info = await lstatOrNull(dir);
  if (info === null) throw new DataDirError(`data directory ${dir} does not exist`);
  let realDir: string;
  try {
    realDir = await Deno.realPath(dir);
    if (!(await Deno.stat(realDir)).isDirectory) throw new Deno.errors.NotADirectory();
  } catch (e) {
    throw new DataDirError(`cannot open data directory ${dir}: ${reason(e)}`);
  }
  const configPath = join(realDir, CONFIG_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(configPath);
  } catch (e) {
    throw new DataDirError(`cannot read ${configPath}: ${reason(e)}`);
  }
  const config = parseConfig(text, configPath);
  const seedPath = join(realDir, SEED_FILE);
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(seedPath);
  } catch (e) {
    throw new DataDirError(`cannot read ${seedPath}: ${reason(e)}`);
  }
  if (!stat.isFile) throw new DataDirError(`${seedPath} is not a regular file`);
  if (stat.size !== SEED_LENGTH) {
    throw new DataDirError(`${seedPath} must be exactly ${SEED_LENGTH} bytes`);
  }
  if (stat.mode !== null && (stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, "0");
    throw new DataDirError(
      `${seedPath} is accessible by group or others (mode ${mode}); run chmod 600 on it`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(seedPath);
  } catch (e) {
    throw new DataDirError(`cannot read ${seedPath}: ${reason(e)}`);
  }
  if (bytes.length !== SEED_LENGTH) {
    bytes.fill(0);
    throw new DataDirError(`${seedPath} must be exactly ${SEED_LENGTH} bytes`);
  }
  return { dir: realDir, config, seed: new SecretBytes(bytes) };
}
