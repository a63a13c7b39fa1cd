/**
 * Fixtures for tests that run the real signer behind a transport: data directories, policies,
 * and the node's side of a session (encoded requests, a TCP node that dials nothing and waits for
 * the signer).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { concat, toHex, utf8 } from "../../core/bytes.ts";
import { publicKey, sha256 } from "../../core/crypto/mod.ts";
import { initRequest } from "../../core/protocol/init.ts";
import { p2wpkh } from "../../core/bitcoin/script.ts";
import { createSignerDir } from "../../core/cli/data_dir.ts";
import type { KeyStyle } from "../../core/keys/types.ts";
import { encodeMessage } from "../../core/protocol/codec.ts";
import type { HsmdRequest } from "../../core/protocol/messages.ts";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
/** rules/default.policy. */
export const DEFAULT_POLICY: string = join(ROOT, "rules", "default.policy");

/** The seed of the transport tests' signer. */
export const TEST_SEED: Uint8Array = sha256(utf8("warden-transport-tests"));

/**
 * The LDK harness's seed of node "A" (as tests/ldk/warden_node.ts `harnessSeed`, repeated here so
 * these tests do not load the LDK harness).
 */
export const LDK_SEED_A: Uint8Array = sha256(concat(utf8("warden-ldk-harness-node:"), utf8("A")));

/** The LDK harness's seed of node "B" (its node id is an allowlisted payee of A's recordings). */
export const LDK_SEED_B: Uint8Array = sha256(concat(utf8("warden-ldk-harness-node:"), utf8("B")));

/** The harness wallet script of a seed (tests/ldk/warden_node.ts `feeWalletScript`). */
export function ldkFeeWalletScript(seed: Uint8Array): Uint8Array {
  return p2wpkh(publicKey(sha256(concat(utf8("warden-ldk-harness-wallet"), seed))));
}

/** A new data directory (regtest) inside a fresh temporary directory. */
export async function makeDataDir(
  options: { seed?: Uint8Array; keyStyle?: KeyStyle } = {},
): Promise<{ root: string; dir: string }> {
  const root = await Deno.makeTempDir({ prefix: "warden-transport-" });
  const dir = await createSignerDir(join(root, "node"), {
    seed: (options.seed ?? TEST_SEED).slice(),
    network: "regtest",
    keyStyle: options.keyStyle ?? "native",
  });
  return { root, dir };
}

/** A site policy file in `dir` including rules/default.policy, plus `extra` policy text. */
export async function sitePolicy(dir: string, extra = ""): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, "site.policy");
  await Deno.writeTextFile(
    path,
    `policy "site" version 1\ninclude "${DEFAULT_POLICY}"\n${extra}`,
  );
  return path;
}

/** A stricter policy: messages we sign are at most 8 bytes (rule `site-short-messages`). */
export const STRICT_MESSAGES = `
rule site-short-messages
  "Messages we sign are at most 8 bytes."
  on sign_message
  require message.length <= 8
`;

/** CLN's `init` on regtest (wire versions 5..6, no dev fields). */
export function initBody(): Uint8Array {
  return encodeMessage(initRequest("regtest"));
}

/** Encodes a request. */
export function req(message: HsmdRequest): Uint8Array {
  return encodeMessage(message);
}

/** The hex of bytes (for messages in assertions). */
export const hex: (b: Uint8Array) => string = toHex;
