/**
 * LDK's `KeysManager` derivation (rust-lightning 0.1, `lightning/src/sign/mod.rs`; VLS
 * `vls-core/src/signer/derive.rs` `LdkKeyDerive` is a second reference), from a 32-byte seed:
 *
 * - BIP-32 master of the raw seed; node secret m/0'; destination key m/1' (its P2WPKH is LDK's
 *   `get_destination_script`); shutdown key m/2'; channel master m/3'; inbound payment key
 *   material m/5'.
 * - `derive_channel_keys(params)`: child = channel master / ((u32 of params[4..8] BE) mod 2^31)';
 *   seed = SHA256(params || seed || child private key); commitment seed =
 *   SHA256(seed || "commitment seed"); then the chain key_i = SHA256(seed || key_{i-1} || label)
 *   for "funding key", "revocation base key", "payment key", "delayed payment base key",
 *   "HTLC base key".
 * - `generate_channel_keys_id`: child index (BE u32) || starting nanos (BE u32) ||
 *   starting secs (BE u64) || user_channel_id (BE u128). The constructor's starting time enters
 *   here, so it is an option of {@link LdkNodeKeys}.
 *
 * As VLS does in its LDK style, the on-chain wallet is the native account key
 * (HKDF(seed, "bip32 seed") m/0/0), the BOLT-12 key is m/9735' and the persistence key m/9736'
 * of the raw-seed master, and a CLN-style channel id is mapped to a keys id by
 * HKDF(channels seed, "per-peer seed", salt = id) with bytes 0..3 zeroed and byte 4 below 0x80.
 *
 * @module
 */
import { concat, toHex, u32be, u64be, utf8, zeroize } from "../bytes.ts";
import { hash160, SecretBytes, sha256 } from "../crypto/mod.ts";
import type { Network } from "../bitcoin/network.ts";
import { ExtendedPrivateKey, HARDENED } from "./bip32.ts";
import { BaseNodeKeys, clnChannelSeed } from "./native.ts";
import {
  ChannelId,
  type ChannelKeys,
  channelKeysFromSecrets,
  type ChannelSecrets,
  KeysError,
  type KeyStyle,
} from "./types.ts";

/** LDK's starting time: `KeysManager::new(seed, starting_time_secs, starting_time_nanos)`. */
export interface LdkStartingTime {
  /** Seconds; default: now. */
  startingTimeSecs?: bigint;
  /** Nanoseconds (u32); default: the sub-second part of now. */
  startingTimeNanos?: number;
}

/** Options of {@link LdkNodeKeys}. */
export interface LdkOptions extends LdkStartingTime {
  /** The network (BIP-32 version bytes of the wallet xpub). */
  network: Network;
}

function needSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new KeysError("seed must be 32 bytes");
  }
}

/** Options of {@link ldkChannelSecrets}. */
export interface LdkChannelOptions {
  /** The channel master key m/3' of the seed's master, if already derived. */
  channelMaster?: ExtendedPrivateKey;
}

/**
 * LDK `KeysManager::derive_channel_keys(params)`: the six channel secrets from the seed and the
 * 32-byte `params` (the channel keys id).
 */
export function ldkChannelSecrets(
  seed: Uint8Array,
  params: Uint8Array,
  options: LdkChannelOptions = {},
): ChannelSecrets {
  needSeed(seed);
  if (params?.length !== 32) throw new KeysError("channel keys id must be 32 bytes");
  const channelMaster = options.channelMaster ?? channelMasterOf(seed);
  // `chan_id` is params[0..8] as u64 BE; `chan_id as u32` keeps its low 32 bits.
  const index = new DataView(params.buffer, params.byteOffset).getUint32(4) % HARDENED;
  const child = channelMaster.deriveChild(HARDENED + index);
  const material = concat(params, seed, child.secretKey.expose());
  child.zeroize();
  const channelSeed = sha256(material);
  zeroize(material);
  const commitmentSeed = sha256(concat(channelSeed, utf8("commitment seed")));
  const step = (label: string, previous: Uint8Array): Uint8Array => {
    const input = concat(channelSeed, previous, utf8(label));
    const out = sha256(input);
    zeroize(input);
    return out;
  };
  const funding = step("funding key", commitmentSeed);
  const revocation = step("revocation base key", funding);
  const payment = step("payment key", revocation);
  const delayedPayment = step("delayed payment base key", payment);
  const htlc = step("HTLC base key", delayedPayment);
  zeroize(channelSeed);
  if (!options.channelMaster) channelMaster.zeroize();
  return { funding, revocation, htlc, payment, delayedPayment, shaSeed: commitmentSeed };
}

function channelMasterOf(seed: Uint8Array): ExtendedPrivateKey {
  const master = ExtendedPrivateKey.fromSeed(seed);
  try {
    return master.deriveChild(HARDENED + 3);
  } finally {
    master.zeroize();
  }
}

/** Inputs of {@link ldkChannelKeysId}. */
export interface LdkKeysIdInput {
  /** KeysManager's channel counter (0 for the first channel since start). */
  childIndex: number;
  /** The constructor's seconds. */
  startingTimeSecs: bigint;
  /** The constructor's nanoseconds. */
  startingTimeNanos: number;
  /** The `user_channel_id` (u128). */
  userChannelId: bigint;
}

/** LDK `KeysManager::generate_channel_keys_id`. */
export function ldkChannelKeysId(input: LdkKeysIdInput): Uint8Array {
  const { childIndex, startingTimeSecs, startingTimeNanos, userChannelId } = input;
  if (userChannelId < 0n || userChannelId >= 1n << 128n) {
    throw new KeysError("user channel id must be a u128");
  }
  if (!Number.isInteger(childIndex) || childIndex < 0 || childIndex >= 0xffffffff) {
    throw new KeysError("channel child index out of range");
  }
  return concat(
    u32be(childIndex),
    u32be(startingTimeNanos),
    u64be(startingTimeSecs),
    u64be(userChannelId >> 64n),
    u64be(userChannelId & 0xffffffffffffffffn),
  );
}

/**
 * VLS `LdkKeyDerive::keys_id`: a keys id for a channel id that is not already an LDK keys id
 * (e.g. CLN's peer_id || dbid): HKDF with bytes 0..3 zeroed and byte 4 masked to 7 bits.
 */
export function vlsLdkKeysId(channelsSeed: Uint8Array, channelIdBytes: Uint8Array): Uint8Array {
  const id = clnChannelSeed(channelsSeed, channelIdBytes);
  id.fill(0, 0, 4);
  id[4] &= 0x7f;
  return id;
}

function defaultStartingTime(): { secs: bigint; nanos: number } {
  const ms = Date.now();
  return { secs: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

/** LDK-compatible keys (`KeysManager` style). */
export class LdkNodeKeys extends BaseNodeKeys {
  /** Always `ldk`. */
  readonly style: KeyStyle = "ldk";
  /** LDK's `get_destination_script`: P2WPKH of m/1'. */
  readonly destinationScript: Uint8Array;
  /** Public key of the destination key m/1'. */
  readonly destinationPubkey: Uint8Array;
  /** LDK's shutdown public key m/2' (`get_shutdown_scriptpubkey` is its P2WPKH). */
  readonly shutdownPubkey: Uint8Array;
  /** The constructor's starting seconds (enters {@link LdkNodeKeys.generateChannelKeysId}). */
  readonly startingTimeSecs: bigint;
  /** The constructor's starting nanoseconds. */
  readonly startingTimeNanos: number;
  readonly #master: ExtendedPrivateKey;
  readonly #channelMaster: ExtendedPrivateKey;
  readonly #inboundPaymentKey: SecretBytes;
  #childIndex = 0;

  /**
   * Creates the object from its parts.
   * @param seed the 32-byte seed (copied)
   * @param options network and LDK's starting time
   */
  constructor(seed: Uint8Array, options: LdkOptions) {
    needSeed(seed);
    const master = ExtendedPrivateKey.fromSeed(seed);
    const node = master.deriveChild(HARDENED);
    super(seed, {
      network: options.network,
      nodeSecret: node.secretKey.expose().slice(),
      master: ExtendedPrivateKey.fromSeed(seed),
    });
    node.zeroize();
    this.#master = master;
    const destination = master.deriveChild(HARDENED + 1);
    this.destinationPubkey = destination.publicKey;
    this.destinationScript = concat(Uint8Array.of(0x00, 0x14), hash160(destination.publicKey));
    destination.zeroize();
    const shutdown = master.deriveChild(HARDENED + 2);
    this.shutdownPubkey = shutdown.publicKey;
    shutdown.zeroize();
    this.#channelMaster = master.deriveChild(HARDENED + 3);
    const inbound = master.deriveChild(HARDENED + 5);
    this.#inboundPaymentKey = new SecretBytes(inbound.secretKey.expose().slice());
    inbound.zeroize();
    const now = defaultStartingTime();
    this.startingTimeSecs = options.startingTimeSecs ?? now.secs;
    this.startingTimeNanos = options.startingTimeNanos ?? now.nanos;
    if (this.startingTimeSecs < 0n || this.startingTimeSecs > 0xffffffffffffffffn) {
      throw new KeysError("starting time seconds must be a u64");
    }
    if (
      !Number.isInteger(this.startingTimeNanos) || this.startingTimeNanos < 0 ||
      this.startingTimeNanos > 0xffffffff
    ) {
      throw new KeysError("starting time nanoseconds must be a u32");
    }
  }

  /** LDK's inbound payment key material (m/5'), input of LDK's `ExpandedKey`. */
  get inboundPaymentKeyMaterial(): SecretBytes {
    return this.#inboundPaymentKey;
  }

  /** The private key of the destination script (m/1'). */
  destinationSecret(): SecretBytes {
    const key = this.#master.deriveChild(HARDENED + 1);
    const out = new SecretBytes(key.secretKey.expose().slice());
    key.zeroize();
    return out;
  }

  /** The private key of the shutdown script (m/2'). */
  shutdownSecret(): SecretBytes {
    const key = this.#master.deriveChild(HARDENED + 2);
    const out = new SecretBytes(key.secretKey.expose().slice());
    key.zeroize();
    return out;
  }

  /**
   * LDK `generate_channel_keys_id` with this object's counter (starting at 0) and starting
   * time. Each call consumes one counter value, like LDK's `channel_child_index`.
   */
  generateChannelKeysId(userChannelId = 0n): Uint8Array {
    const id = ldkChannelKeysId({
      childIndex: this.#childIndex,
      startingTimeSecs: this.startingTimeSecs,
      startingTimeNanos: this.startingTimeNanos,
      userChannelId,
    });
    this.#childIndex++;
    return id;
  }

  /** The LDK keys id used for `channelId`: the id itself for a `keys-id`, else VLS's mapping. */
  keysIdFor(channelId: ChannelId): Uint8Array {
    if (channelId.kind === "keys-id") return channelId.bytes;
    return vlsLdkKeysId(this.channelsSeed.expose(), channelId.bytes);
  }

  /** LDK `derive_channel_keys` for the channel's keys id. */
  channelKeys(channelId: ChannelId): ChannelKeys {
    const params = this.keysIdFor(channelId);
    return channelKeysFromSecrets(
      channelId,
      ldkChannelSecrets(this.seed.expose(), params, { channelMaster: this.#channelMaster }),
    );
  }

  /** Keys of the channel LDK calls `derive_channel_signer(value, keysId)` for. */
  channelKeysForKeysId(keysId: Uint8Array): ChannelKeys {
    return this.channelKeys(ChannelId.fromKeysId(keysId));
  }

  /** Overwrite every secret, including LDK's master and channel master. */
  override zeroize(): void {
    super.zeroize();
    this.#master.zeroize();
    this.#channelMaster.zeroize();
    this.#inboundPaymentKey.zeroize();
  }

  /** Never any secret. */
  override toString(): string {
    return `NodeKeys(${this.style}, ${this.network}, ${toHex(this.nodeId)})`;
  }
}
