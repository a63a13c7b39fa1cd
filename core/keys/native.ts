/**
 * CLN's hsmd key derivation ("native" style; VLS `KeyDerivationStyle::Native`) from the 32-byte
 * `hsm_secret`. Every formula follows CLN `hsmd/libhsmd.c` and `common/derive_basepoints.c`,
 * cross-checked with VLS `vls-core/src/signer/derive.rs` (`NativeKeyDerive`) and
 * `my_keys_manager.rs`. HKDF is RFC 5869 HKDF-SHA256; an absent salt is the empty salt, which
 * HMAC pads to the same key as CLN's 4-byte zero counter salt.
 *
 * - node key = HKDF(salt = u32le(0), ikm = seed, info "nodeid"); on an invalid key CLN retries
 *   with salt u32le(1), u32le(2), ... (`node_key`).
 * - BIP-32 master = master of HKDF(salt = u32le(0), seed, "bip32 seed"), same retry
 *   (`hsmd_init`); wallet account = m/0/0; BOLT-12 key = m/9735'; VLS persistence key = m/9736'.
 * - channels seed = HKDF(seed, "peer seed") (`hsm_channel_secret_base`).
 * - channel seed = HKDF(salt = channel id, ikm = channels seed, info "per-peer seed")
 *   (`get_channel_seed`; CLN's channel id is peer_id(33) || dbid u64 little-endian).
 * - channel secrets = HKDF(channel seed, "c-lightning", 192 bytes), cut in order funding,
 *   revocation, htlc, payment, delayed payment, shachain seed (`derive_basepoints`).
 * - derive_secret(info) = HKDF(ikm = HKDF(seed, "derived secrets"), info) (`handle_derive_secret`).
 *
 * @module
 */
import { toHex, u32le, utf8, zeroize } from "../bytes.ts";
import { hkdfSha256, isValidSecretKey, publicKey, SecretBytes } from "../crypto/mod.ts";
import { type Network, networkParams } from "../bitcoin/network.ts";
import { Bip32Error, ExtendedPrivateKey, type ExtendedPublicKey, HARDENED } from "./bip32.ts";
import {
  type ChannelId,
  type ChannelKeys,
  channelKeysFromSecrets,
  type ChannelSecrets,
  KeysError,
  type KeyStyle,
  type NodeKeys,
  type WalletKey,
} from "./types.ts";

/** BIP-32 index of the BOLT-12 key under the master (9735', "the unicode point for lightning"). */
export const BOLT12_INDEX: number = HARDENED + 9735;

/** BIP-32 index of VLS's persistence (LSS) key under the master (9736'). */
export const PERSISTENCE_INDEX: number = HARDENED + 9736;

/** How many salts CLN's retry loops are allowed here before giving up (never reached). */
const MAX_TRIES = 16;

function needSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new KeysError("seed must be 32 bytes");
  }
}

/** CLN `node_key`: the node's private key (32 bytes; a secret). */
export function clnNodeSecret(seed: Uint8Array): Uint8Array {
  needSeed(seed);
  for (let salt = 0; salt < MAX_TRIES; salt++) {
    const key = hkdfSha256(seed, { salt: u32le(salt), info: "nodeid" });
    if (isValidSecretKey(key)) return key;
    zeroize(key);
  }
  throw new KeysError("no valid node key");
}

/** CLN `hsmd_init`: the BIP-32 master from HKDF(seed, "bip32 seed"), retrying as CLN does. */
export function clnBip32Master(seed: Uint8Array): ExtendedPrivateKey {
  needSeed(seed);
  for (let salt = 0; salt < MAX_TRIES; salt++) {
    const bip32Seed = hkdfSha256(seed, { salt: u32le(salt), info: "bip32 seed" });
    try {
      return ExtendedPrivateKey.fromSeed(bip32Seed);
    } catch (e) {
      if (!(e instanceof Bip32Error)) throw e;
    } finally {
      zeroize(bip32Seed);
    }
  }
  throw new KeysError("no valid BIP-32 master key");
}

/** The wallet account key m/0/0 under {@link clnBip32Master} (CLN `secretstuff.bip32`). */
export function clnAccountKey(seed: Uint8Array): ExtendedPrivateKey {
  const master = clnBip32Master(seed);
  try {
    return master.derivePath([0, 0]);
  } finally {
    master.zeroize();
  }
}

/** CLN `hsm_channel_secret_base` (VLS `channels_seed`): HKDF(seed, "peer seed"). */
export function clnChannelsSeed(seed: Uint8Array): Uint8Array {
  needSeed(seed);
  return hkdfSha256(seed, { info: "peer seed" });
}

/**
 * CLN `get_channel_seed` (VLS `keys_id`): HKDF(salt = channel id bytes, ikm = channels seed,
 * info "per-peer seed"). The result is the channel's secret root.
 */
export function clnChannelSeed(channelsSeed: Uint8Array, channelIdBytes: Uint8Array): Uint8Array {
  if (channelsSeed?.length !== 32) throw new KeysError("channels seed must be 32 bytes");
  return hkdfSha256(channelsSeed, { salt: channelIdBytes, info: "per-peer seed" });
}

/** CLN's channel id bytes: peer_id (33) || dbid as u64 little-endian. */
export function clnChannelIdBytes(peerId: Uint8Array, dbid: bigint): Uint8Array {
  if (peerId?.length !== 33) throw new KeysError("peer id must be 33 bytes");
  const out = new Uint8Array(41);
  out.set(peerId);
  new DataView(out.buffer).setBigUint64(33, dbid, true);
  return out;
}

/**
 * CLN `derive_basepoints`: the 192-byte HKDF(channel seed, "c-lightning") cut into funding,
 * revocation, htlc, payment, delayed payment and shachain seed (in that order).
 */
export function clnChannelSecrets(channelSeed: Uint8Array): ChannelSecrets {
  if (channelSeed?.length !== 32) throw new KeysError("channel seed must be 32 bytes");
  const buf = hkdfSha256(channelSeed, { info: "c-lightning", length: 192 });
  const part = (i: number) => buf.slice(32 * i, 32 * i + 32);
  const secrets: ChannelSecrets = {
    funding: part(0),
    revocation: part(1),
    htlc: part(2),
    payment: part(3),
    delayedPayment: part(4),
    shaSeed: part(5),
  };
  zeroize(buf);
  return secrets;
}

/** CLN `secretstuff.derived_secret`: HKDF(seed, "derived secrets"). */
export function clnDerivedSecretsBase(seed: Uint8Array): Uint8Array {
  needSeed(seed);
  return hkdfSha256(seed, { info: "derived secrets" });
}

/** CLN `handle_derive_secret` (RPC `makesecret`): HKDF(ikm = derived secrets base, info). */
export function clnDeriveSecret(derivedSecretsBase: Uint8Array, info: Uint8Array): Uint8Array {
  if (derivedSecretsBase?.length !== 32) {
    throw new KeysError("derived secrets base must be 32 bytes");
  }
  return hkdfSha256(derivedSecretsBase, { info });
}

/** VLS `get_onion_reply_secret`: HKDF(seed, "onion reply secret"). */
export function onionReplySecretOf(seed: Uint8Array): Uint8Array {
  needSeed(seed);
  return hkdfSha256(seed, { info: "onion reply secret" });
}

/**
 * Node-level keys both styles share with VLS: the wallet (native account key m/0/0, which VLS
 * also uses in LDK style), derive_secret, the onion reply secret and the channels seed.
 * The style-specific parts (node key, BIP-32 master for BOLT-12/persistence keys, channel keys)
 * come from subclasses.
 */
export abstract class BaseNodeKeys implements NodeKeys {
  /** The derivation style. */
  abstract readonly style: KeyStyle;
  /** The network. */
  readonly network: Network;
  /** The node id. */
  readonly nodeId: Uint8Array;
  /** The node's private key. */
  readonly nodeSecret: SecretBytes;
  /** BOLT-12 base key (m/9735' of the style's master). */
  readonly bolt12Secret: SecretBytes;
  /** Public key of the BOLT-12 base key. */
  readonly bolt12Pubkey: Uint8Array;
  /** VLS persistence key (m/9736' of the style's master). */
  readonly persistenceSecret: SecretBytes;
  /** Public key of the persistence key. */
  readonly persistencePubkey: Uint8Array;
  /** The 32-byte seed (kept for derivations that need it). */
  protected readonly seed: SecretBytes;
  /** CLN's channels seed, HKDF(seed, "peer seed"). */
  protected readonly channelsSeed: SecretBytes;
  readonly #account: ExtendedPrivateKey;
  readonly #derivedSecretsBase: SecretBytes;

  /**
   * Creates the object from its parts.
   * @param seed the 32-byte seed (copied)
   * @param parts the network, the node secret (owned) and the style-specific BIP-32 master
   *   (owned: zeroized once the BOLT-12 and persistence keys are derived)
   */
  protected constructor(
    seed: Uint8Array,
    parts: { network: Network; nodeSecret: Uint8Array; master: ExtendedPrivateKey },
  ) {
    needSeed(seed);
    this.network = networkParams(parts.network).name;
    this.seed = new SecretBytes(seed.slice());
    this.nodeSecret = new SecretBytes(parts.nodeSecret);
    this.nodeId = publicKey(parts.nodeSecret);
    const bolt12 = parts.master.deriveChild(BOLT12_INDEX);
    this.bolt12Secret = new SecretBytes(bolt12.secretKey.expose().slice());
    this.bolt12Pubkey = bolt12.publicKey;
    bolt12.zeroize();
    const persistence = parts.master.deriveChild(PERSISTENCE_INDEX);
    this.persistenceSecret = new SecretBytes(persistence.secretKey.expose().slice());
    this.persistencePubkey = persistence.publicKey;
    persistence.zeroize();
    parts.master.zeroize();
    this.#account = clnAccountKey(seed);
    this.channelsSeed = new SecretBytes(clnChannelsSeed(seed));
    this.#derivedSecretsBase = new SecretBytes(clnDerivedSecretsBase(seed));
  }

  /** The wallet account key m/0/0 (public part). */
  accountKey(): ExtendedPublicKey {
    return this.#account.toPublic();
  }

  /** The account key as xpub/tpub with the network's version bytes. */
  accountXpub(): string {
    return this.#account.toPublic().toBase58(networkParams(this.network).bip32);
  }

  /** The account key's private key (a fresh copy). */
  accountSecret(): SecretBytes {
    return new SecretBytes(this.#account.secretKey.expose().slice());
  }

  /** Wallet key m/0/0/`index`. */
  walletKey(index: number): WalletKey {
    if (!Number.isInteger(index) || index < 0 || index >= HARDENED) {
      throw new KeysError(`wallet index ${index} out of range 0..2^31-1`);
    }
    const child = this.#account.deriveChild(index);
    const key = {
      index,
      secret: new SecretBytes(child.secretKey.expose().slice()),
      publicKey: child.publicKey,
    };
    child.zeroize();
    return key;
  }

  /** Public key of wallet key `index`. */
  walletPubkey(index: number): Uint8Array {
    if (!Number.isInteger(index) || index < 0 || index >= HARDENED) {
      throw new KeysError(`wallet index ${index} out of range 0..2^31-1`);
    }
    return this.#account.toPublic().deriveChild(index).publicKey;
  }

  /** CLN `derive_secret`. */
  deriveSecret(info: Uint8Array | string): SecretBytes {
    const bytes = typeof info === "string" ? utf8(info) : info;
    return new SecretBytes(clnDeriveSecret(this.#derivedSecretsBase.expose(), bytes));
  }

  /** VLS onion reply secret. */
  onionReplySecret(): SecretBytes {
    return new SecretBytes(onionReplySecretOf(this.seed.expose()));
  }

  /** The holder keys of a channel (style-specific). */
  abstract channelKeys(channelId: ChannelId): ChannelKeys;

  /** Overwrite the seed and every long-lived secret. */
  zeroize(): void {
    for (
      const s of [
        this.seed,
        this.nodeSecret,
        this.bolt12Secret,
        this.persistenceSecret,
        this.channelsSeed,
        this.#derivedSecretsBase,
      ]
    ) s.zeroize();
    this.#account.zeroize();
  }

  /** Never any secret: style, network and node id. */
  toString(): string {
    return `NodeKeys(${this.style}, ${this.network}, ${toHex(this.nodeId)})`;
  }
}

/** CLN-compatible keys ("native" style). */
export class NativeNodeKeys extends BaseNodeKeys {
  /** Always `native`. */
  readonly style: KeyStyle = "native";

  /**
   * Creates the object from its parts.
   * @param seed the 32-byte `hsm_secret` (copied)
   * @param options the network
   */
  constructor(seed: Uint8Array, options: { network: Network }) {
    super(seed, {
      network: options.network,
      nodeSecret: clnNodeSecret(seed),
      master: clnBip32Master(seed),
    });
  }

  /** CLN's channel secret root for `channelId` (the channel's `keys_id` in VLS). */
  channelSeed(channelId: ChannelId): SecretBytes {
    return new SecretBytes(clnChannelSeed(this.channelsSeed.expose(), channelId.bytes));
  }

  /** CLN `derive_basepoints` for the channel's seed. */
  channelKeys(channelId: ChannelId): ChannelKeys {
    const channelSeed = clnChannelSeed(this.channelsSeed.expose(), channelId.bytes);
    try {
      return channelKeysFromSecrets(channelId, clnChannelSecrets(channelSeed));
    } finally {
      zeroize(channelSeed);
    }
  }
}
