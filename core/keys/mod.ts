/**
 * Keys from a seed, in two styles behind one interface:
 * - `native`: CLN's hsmd derivation (the `hsm_secret` file), see {@link NativeNodeKeys};
 * - `ldk`: LDK's `KeysManager`, see {@link LdkNodeKeys}.
 *
 * ```ts
 * const keys = nodeKeysFromSeed(seed, { network: "regtest", style: "native" });
 * keys.nodeId; keys.accountXpub(); keys.channelKeys(ChannelId.fromPeerDbid(peer, 1n));
 * ```
 *
 * @module
 */
import { SecretBytes } from "../crypto/mod.ts";
import type { Network } from "../bitcoin/network.ts";
import { LdkNodeKeys, type LdkStartingTime } from "./ldk.ts";
import { NativeNodeKeys } from "./native.ts";
import { isKeyStyle, KEY_STYLES, KeysError, type KeyStyle, type NodeKeys } from "./types.ts";

export * from "./types.ts";
export * from "./bip32.ts";
export * from "./native.ts";
export * from "./ldk.ts";

/** Options of {@link nodeKeysFromSeed}. */
export interface NodeKeysOptions extends LdkStartingTime {
  /** The network. */
  network: Network;
  /** The derivation style (default `native`). */
  style?: KeyStyle;
}

/**
 * The node keys of a 32-byte seed in the given style. The seed is copied; the caller may
 * zeroize its own copy afterwards. Throws {@link KeysError} on a bad seed or style and
 * `NetworkError` on an unknown network.
 */
export function nodeKeysFromSeed(
  seed: SecretBytes | Uint8Array,
  options: NodeKeysOptions,
): NodeKeys {
  const bytes = seed instanceof SecretBytes ? seed.expose() : seed;
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new KeysError("seed must be 32 bytes");
  }
  const style = options.style ?? "native";
  if (!isKeyStyle(style)) {
    throw new KeysError(`unknown key style (expected one of ${KEY_STYLES.join(", ")})`);
  }
  return style === "native"
    ? new NativeNodeKeys(bytes, { network: options.network })
    : new LdkNodeKeys(bytes, options);
}
