/**
 * Keys for the node-signing tests: real seed-derived keys, optionally with a fixed node secret
 * (the spec vectors give the private key that signed them).
 *
 * @module
 */
import { fromHex } from "../../../core/bytes.ts";
import { publicKey, SecretBytes } from "../../../core/crypto/mod.ts";
import { type NodeKeys, nodeKeysFromSeed } from "../../../core/keys/mod.ts";
import type { Network } from "../../../core/bitcoin/network.ts";
import type { NodeSignContext, NodeSignerKeys } from "../../../core/node/sign_context.ts";

/** Seed-derived node keys (native style). */
export function seedKeys(network: Network = "regtest", fill = 7): NodeKeys {
  return nodeKeysFromSeed(new Uint8Array(32).fill(fill), { network });
}

/** Node keys whose node secret is `nodeSecretHex`; the other keys come from a fixed seed. */
export function keysWithNodeSecret(nodeSecretHex: string, network: Network): NodeSignerKeys {
  const base = seedKeys(network);
  const secret = fromHex(nodeSecretHex, 32);
  return {
    network,
    nodeId: publicKey(secret),
    nodeSecret: new SecretBytes(secret),
    bolt12Secret: base.bolt12Secret,
    bolt12Pubkey: base.bolt12Pubkey,
    accountSecret: () => base.accountSecret(),
    walletPubkey: (index: number) => base.walletPubkey(index),
    deriveSecret: (info: Uint8Array | string) => base.deriveSecret(info),
  };
}

/** A context at time `now` with `keys`. */
export function contextOf(
  keys: NodeSignerKeys,
  extra: Partial<NodeSignContext> = {},
): NodeSignContext {
  return { keys, now: 1_700_000_000, ...extra };
}
