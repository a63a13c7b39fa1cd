/**
 * The key interface the rest of the signer uses, whatever the derivation style: {@link NodeKeys}
 * (node, wallet and per-channel keys from one seed), {@link ChannelKeys}, and the channel
 * identifier {@link ChannelId} that fits both CLN (peer id + dbid) and LDK (32-byte keys id).
 *
 * @module
 */
import { bytesToBigInt, equal, reverse, toHex, u64le } from "../bytes.ts";
import { publicKey, SecretBytes } from "../crypto/mod.ts";
import type { Network } from "../bitcoin/network.ts";
import type { ExtendedPublicKey } from "./bip32.ts";

/** The derivation styles: CLN's hsmd (`native`, VLS `KeyDerivationStyle::Native`) or LDK's. */
export const KEY_STYLES = ["native", "ldk"] as const;

/** One of {@link KEY_STYLES}. */
export type KeyStyle = typeof KEY_STYLES[number];

/** Whether `name` is a known key style. */
export function isKeyStyle(name: string): name is KeyStyle {
  return (KEY_STYLES as readonly string[]).includes(name);
}

/** Key derivation refused its input. Messages never contain seeds or secret keys. */
export class KeysError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong, in words
   */
  constructor(message: string) {
    super(message);
    this.name = "KeysError";
  }
}

/** How a {@link ChannelId} was made. */
export type ChannelIdKind = "peer-dbid" | "keys-id" | "raw";

/**
 * A channel's identity for key derivation, as VLS's `ChannelId`: opaque bytes.
 * - CLN: `peer_id (33) || dbid (u64 little-endian)`, 41 bytes ({@link ChannelId.fromPeerDbid}).
 * - LDK: the 32-byte `channel_keys_id` LDK generated ({@link ChannelId.fromKeysId}).
 * - anything else received on the wire ({@link ChannelId.fromBytes}).
 */
export class ChannelId {
  /** How the id was made; LDK-style derivation uses a `keys-id` directly. */
  readonly kind: ChannelIdKind;
  readonly #bytes: Uint8Array;

  private constructor(kind: ChannelIdKind, bytes: Uint8Array) {
    this.kind = kind;
    this.#bytes = bytes.slice();
  }

  /** CLN's channel: 33-byte peer node id and the channel's database id. */
  static fromPeerDbid(peerId: Uint8Array, dbid: bigint): ChannelId {
    if (!(peerId instanceof Uint8Array) || peerId.length !== 33) {
      throw new KeysError("peer id must be 33 bytes");
    }
    if (typeof dbid !== "bigint" || dbid < 0n || dbid > 0xffffffffffffffffn) {
      throw new KeysError("dbid must be a u64");
    }
    const bytes = new Uint8Array(41);
    bytes.set(peerId);
    bytes.set(u64le(dbid), 33);
    return new ChannelId("peer-dbid", bytes);
  }

  /** LDK's channel: the 32-byte `channel_keys_id` from `generate_channel_keys_id`. */
  static fromKeysId(keysId: Uint8Array): ChannelId {
    if (!(keysId instanceof Uint8Array) || keysId.length !== 32) {
      throw new KeysError("keys id must be 32 bytes");
    }
    return new ChannelId("keys-id", keysId);
  }

  /** Opaque id bytes (1 to 64 bytes), e.g. VLS test ids or ids decoded from a message. */
  static fromBytes(bytes: Uint8Array): ChannelId {
    if (!(bytes instanceof Uint8Array) || bytes.length < 1 || bytes.length > 64) {
      throw new KeysError("channel id must be 1 to 64 bytes");
    }
    return new ChannelId("raw", bytes);
  }

  /** A copy of the id bytes. */
  get bytes(): Uint8Array {
    return this.#bytes.slice();
  }

  /** The peer node id of a `peer-dbid` id. */
  get peerId(): Uint8Array | undefined {
    return this.kind === "peer-dbid" ? this.#bytes.slice(0, 33) : undefined;
  }

  /** The dbid of a `peer-dbid` id. */
  get dbid(): bigint | undefined {
    return this.kind === "peer-dbid" ? this.oid : undefined;
  }

  /** VLS's `oid()`: the last 8 bytes read little-endian (0 if shorter). */
  get oid(): bigint {
    if (this.#bytes.length < 8) return 0n;
    return bytesToBigInt(reverse(this.#bytes.subarray(this.#bytes.length - 8)));
  }

  /** Hex of the id bytes. */
  toHex(): string {
    return toHex(this.#bytes);
  }

  /** Same kind and bytes. */
  equals(other: ChannelId): boolean {
    return this.kind === other.kind && equal(this.#bytes, other.#bytes);
  }

  /** `kind:hex`. */
  toString(): string {
    return `${this.kind}:${this.toHex()}`;
  }
}

/** The four public basepoints of a channel (BOLT #2 `open_channel`), 33 bytes each. */
export interface Basepoints {
  /** `revocation_basepoint`. */
  revocation: Uint8Array;
  /** `payment_basepoint`. */
  payment: Uint8Array;
  /** `delayed_payment_basepoint`. */
  delayedPayment: Uint8Array;
  /** `htlc_basepoint`. */
  htlc: Uint8Array;
}

/** The holder's key material of one channel. */
export interface ChannelKeys {
  /** The channel these keys belong to. */
  channelId: ChannelId;
  /** Funding private key. */
  fundingSecret: SecretBytes;
  /** Revocation basepoint secret. */
  revocationBaseSecret: SecretBytes;
  /** Payment basepoint secret. */
  paymentBaseSecret: SecretBytes;
  /** Delayed payment basepoint secret. */
  delayedPaymentBaseSecret: SecretBytes;
  /** HTLC basepoint secret. */
  htlcBaseSecret: SecretBytes;
  /** Per-commitment secret seed (BOLT #3 shachain seed; LDK's `commitment_seed`). */
  shaSeed: SecretBytes;
  /** The public basepoints. */
  basepoints: Basepoints;
  /** Funding public key. */
  fundingPubkey: Uint8Array;
  /** Overwrite every secret with zeros. */
  zeroize(): void;
}

/** The six 32-byte channel secrets in CLN's naming; input of {@link channelKeysFromSecrets}. */
export interface ChannelSecrets {
  /** Funding private key. */
  funding: Uint8Array;
  /** Revocation basepoint secret. */
  revocation: Uint8Array;
  /** HTLC basepoint secret. */
  htlc: Uint8Array;
  /** Payment basepoint secret. */
  payment: Uint8Array;
  /** Delayed payment basepoint secret. */
  delayedPayment: Uint8Array;
  /** Shachain seed. */
  shaSeed: Uint8Array;
}

/**
 * Wrap six channel secrets into a {@link ChannelKeys} with their public keys. Takes ownership of
 * the arrays. Throws {@link KeysError} if a key is not a valid secp256k1 secret (CLN's
 * `derive_basepoints` fails the same way; it never happens in practice).
 */
export function channelKeysFromSecrets(channelId: ChannelId, secrets: ChannelSecrets): ChannelKeys {
  const pub = (secret: Uint8Array, what: string): Uint8Array => {
    try {
      return publicKey(secret);
    } catch {
      throw new KeysError(`derived ${what} is not a valid secret key`);
    }
  };
  const keys: ChannelKeys = {
    channelId,
    fundingSecret: new SecretBytes(secrets.funding),
    revocationBaseSecret: new SecretBytes(secrets.revocation),
    paymentBaseSecret: new SecretBytes(secrets.payment),
    delayedPaymentBaseSecret: new SecretBytes(secrets.delayedPayment),
    htlcBaseSecret: new SecretBytes(secrets.htlc),
    shaSeed: new SecretBytes(secrets.shaSeed),
    fundingPubkey: pub(secrets.funding, "funding key"),
    basepoints: {
      revocation: pub(secrets.revocation, "revocation base key"),
      payment: pub(secrets.payment, "payment base key"),
      delayedPayment: pub(secrets.delayedPayment, "delayed payment base key"),
      htlc: pub(secrets.htlc, "htlc base key"),
    },
    zeroize() {
      for (
        const s of [
          keys.fundingSecret,
          keys.revocationBaseSecret,
          keys.paymentBaseSecret,
          keys.delayedPaymentBaseSecret,
          keys.htlcBaseSecret,
          keys.shaSeed,
        ]
      ) s.zeroize();
    },
  };
  return keys;
}

/** One on-chain wallet key (account key m/0/0 child `index`). */
export interface WalletKey {
  /** The child index under the account key. */
  index: number;
  /** The private key. */
  secret: SecretBytes;
  /** The 33-byte compressed public key. */
  publicKey: Uint8Array;
}

/**
 * Everything the signer derives from its seed, in one of the two styles.
 * All secrets are {@link SecretBytes}; public keys are 33-byte compressed points.
 */
export interface NodeKeys {
  /** The derivation style. */
  readonly style: KeyStyle;
  /** The network (chooses the BIP-32 version bytes of {@link NodeKeys.accountXpub}). */
  readonly network: Network;
  /** The node id (33-byte public key of {@link NodeKeys.nodeSecret}). */
  readonly nodeId: Uint8Array;
  /** The node's private key (gossip, invoices, ECDH, signed messages). */
  readonly nodeSecret: SecretBytes;
  /** BOLT-12 base key (BIP-32 m/9735' of the style's master). */
  readonly bolt12Secret: SecretBytes;
  /** Public key of {@link NodeKeys.bolt12Secret}. */
  readonly bolt12Pubkey: Uint8Array;
  /** Key for the cloud-storage (LSS) protocol, VLS's m/9736'. */
  readonly persistenceSecret: SecretBytes;
  /** Public key of {@link NodeKeys.persistenceSecret}. */
  readonly persistencePubkey: Uint8Array;
  /** The wallet account key m/0/0 (public part). */
  accountKey(): ExtendedPublicKey;
  /** {@link NodeKeys.accountKey} serialised with the network's public version (xpub/tpub). */
  accountXpub(): string;
  /** The private key of the account key m/0/0 (VLS signs heartbeats with it). */
  accountSecret(): SecretBytes;
  /** Wallet key m/0/0/`index` (`index` below 2^31, as CLN's `bitcoin_key`). */
  walletKey(index: number): WalletKey;
  /** Public key of wallet key `index`. */
  walletPubkey(index: number): Uint8Array;
  /** CLN's `derive_secret` / `makesecret`: a 32-byte secret for `info`. */
  deriveSecret(info: Uint8Array | string): SecretBytes;
  /** VLS's onion reply secret: HKDF(seed, "onion reply secret"). */
  onionReplySecret(): SecretBytes;
  /** The holder keys of a channel. */
  channelKeys(channelId: ChannelId): ChannelKeys;
  /** Overwrite the seed and long-lived secrets with zeros; the object is unusable afterwards. */
  zeroize(): void;
}
