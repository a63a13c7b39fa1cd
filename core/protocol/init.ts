/**
 * The init phase (protocol.md §2): CLN's `init` (11) with version negotiation and the network
 * checks VLS leaves out, LDK's `init_2` (1011), and the dev preinits (99, 90).
 *
 * `init` (11):
 * - `chainparams` must be the genesis hash of the configured network and `bip32_key_version` its
 *   BIP-32 versions; otherwise the reply is `init_reply_failure` (115) with code
 *   {@link INIT_FAILURE_CODE} (lightningd exits with that status and prints the message).
 * - The `dev_force_*` fields are refused (115) unless the dispatcher runs in developer mode; even
 *   then they are never applied: the signer's keys come from its own seed, never from the wire.
 *   `hsm_encryption_key` and the `hsm_passphrase` TLV concern CLN's local `hsm_secret` file and
 *   are ignored (VLS ignores them too).
 * - Version (VLS `InitHandler`): the node's minimum must not exceed ours and its maximum must be at
 *   least 2; the negotiated version is `min(ours, node max)`. Below 4 the reply is VLS's
 *   `init_reply_v2` (113); from 4 it is `init_reply_v4` (114) with the capabilities
 *   ({@link capabilitiesFor}), the node id, the account xpub m/0/0 with the network's version and
 *   the BOLT-12 key.
 *
 * `init_2` (1011, LDK): version 4; the network name must be ours and the derivation style the
 * keys' style (0 native/CLN, 1 LDK) when known; `dev_seed` and `dev_allowlist` are refused unless
 * in developer mode and never applied. There is no failure reply: a mismatch is a `SignerError`.
 *
 * @module
 */
import { equal, toHex } from "../bytes.ts";
import { type Network, networkParams } from "../bitcoin/network.ts";
import type { ExtendedPublicKey } from "../keys/bip32.ts";
import type { KeyStyle } from "../keys/types.ts";
import { xpubBytes } from "./convert.ts";
import { DispatchError, SIGNER_ERROR } from "./errors.ts";
import type { HsmdReply, RequestOf } from "./messages.ts";

/** The highest protocol version this signer speaks (CLN's `HSM_MAX_VERSION` today). */
export const MAX_PROTOCOL_VERSION = 6;
/** The lowest version a node may ask for (VLS asserts `node_max >= 2`). */
export const MIN_PROTOCOL_VERSION = 2;
/** The `init_reply_failure` code: CLN's `EXITCODE_HSM_GENERIC_ERROR` (lightningd exits with it). */
export const INIT_FAILURE_CODE = 20;
/** The version of LDK's `init_2` (fixed). */
export const INIT_2_VERSION = 4;

/**
 * The node's side: CLN's `init` (11) for `network`, as lightningd sends it (the network's genesis
 * hash and BIP-32 versions, wire versions `minVersion..maxVersion`, default 5..6), without the
 * `dev_force_*` fields or an encryption key.
 */
export function initRequest(
  network: Network,
  o: { minVersion?: number; maxVersion?: number } = {},
): RequestOf<"init"> {
  const params = networkParams(network);
  return {
    type: "init",
    bip32_key_version: {
      pubkey_version: params.bip32.public,
      privkey_version: params.bip32.private,
    },
    chainparams: params.genesisHash,
    hsm_encryption_key: null,
    dev_force_privkey: null,
    dev_force_bip32_seed: null,
    dev_force_channel_secrets: null,
    dev_force_channel_secrets_shaseed: null,
    hsm_wire_min_version: o.minVersion ?? 5,
    hsm_wire_max_version: o.maxVersion ?? MAX_PROTOCOL_VERSION,
    tlvs: {},
  };
}

/** The public identity the init replies carry (the signer's `NodeKeys` have it). */
export interface NodeIdentity {
  /** The node id (33 bytes). */
  readonly nodeId: Uint8Array;
  /** The BOLT-12 base key m/9735' (33 bytes). */
  readonly bolt12Pubkey: Uint8Array;
  /** The wallet account key m/0/0. */
  accountKey(): ExtendedPublicKey;
  /** The key derivation style, when known (checked against `init_2`'s derivation style). */
  readonly style?: KeyStyle;
}

/** What the init handlers need. */
export interface InitOptions {
  /** The network the signer is configured for. */
  network: Network;
  /** Our highest protocol version ({@link MIN_PROTOCOL_VERSION}..{@link MAX_PROTOCOL_VERSION}). */
  maxVersion: number;
  /** Developer mode: dev_* fields are tolerated (never applied). */
  dev: boolean;
  /** The node's public identity; without it init fails. */
  identity: NodeIdentity | undefined;
}

/** What an init handler decided: the reply and, on success, the negotiated version. */
export interface InitOutcome {
  /** The reply to send. */
  reply: HsmdReply;
  /** The negotiated version; undefined when init failed. */
  version?: number;
}

/**
 * The message ids we advertise in `init_reply_v4` at `version`, in CLN's order (CLN's own hsmd
 * advertises 28, 56, 142, 147, 149, 29, 32, 34, 40, 41, 45 and 51, 52): check_pubkey 28,
 * sign_any_delayed_payment_to_us 142 (and with it 143, 144, 146), sign_anchorspend 147,
 * sign_htlc_tx_mingle 149, sign_splice_tx 29, check_outpoint 32, forget_channel 34,
 * revoke_commitment_tx 40 from version 5, sign_bolt12_2 41. Not advertised because not served:
 * check_bip86_pubkey 56 (we send no bip86 base), bip137_sign_message 45, the preapprove checks
 * 51 and 52.
 */
export function capabilitiesFor(version: number): number[] {
  return [28, 142, 147, 149, 29, 32, 34, ...(version >= 5 ? [40] : []), 41];
}

function failure(message: string): InitOutcome {
  return {
    reply: { type: "init_reply_failure", error_code: INIT_FAILURE_CODE, error_message: message },
  };
}

function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
}

/** Negotiate CLN's `init` (11); see the module documentation. */
export function negotiateInit(m: RequestOf<"init">, o: InitOptions): InitOutcome {
  const params = networkParams(o.network);
  if (!equal(m.chainparams, params.genesisHash)) {
    return failure(
      `chainparams ${toHex(m.chainparams.slice().reverse())} is not the genesis block of ` +
        `${o.network}, which this signer is configured for`,
    );
  }
  const v = m.bip32_key_version;
  if (v.pubkey_version !== params.bip32.public || v.privkey_version !== params.bip32.private) {
    return failure(
      `bip32_key_version ${hex32(v.pubkey_version)}/${hex32(v.privkey_version)} is not ` +
        `${o.network}'s ${hex32(params.bip32.public)}/${hex32(params.bip32.private)}`,
    );
  }
  const dev = [
    ["dev_force_privkey", m.dev_force_privkey],
    ["dev_force_bip32_seed", m.dev_force_bip32_seed],
    ["dev_force_channel_secrets", m.dev_force_channel_secrets],
    ["dev_force_channel_secrets_shaseed", m.dev_force_channel_secrets_shaseed],
  ].filter(([, value]) => value !== null).map(([name]) => name as string);
  if (dev.length > 0 && !o.dev) {
    return failure(`${dev.join(", ")}: developer fields are refused (not in developer mode)`);
  }
  const nodeMin = m.hsm_wire_min_version;
  const nodeMax = m.hsm_wire_max_version;
  if (nodeMin > nodeMax) {
    return failure(`hsm_wire_min_version ${nodeMin} is above hsm_wire_max_version ${nodeMax}`);
  }
  if (nodeMin > o.maxVersion) {
    return failure(
      `the node needs protocol version ${nodeMin}; this signer speaks at most ${o.maxVersion}`,
    );
  }
  if (nodeMax < MIN_PROTOCOL_VERSION) {
    return failure(
      `the node speaks at most protocol version ${nodeMax}; this signer needs ${MIN_PROTOCOL_VERSION}`,
    );
  }
  if (o.identity === undefined) return failure("the signer's node identity is not available");
  const version = Math.min(o.maxVersion, nodeMax);
  const id = o.identity;
  const bip32 = xpubBytes(id.accountKey(), params.bip32.public);
  if (version < 4) {
    return {
      reply: { type: "init_reply_v2", node_id: id.nodeId, bip32, bolt12: id.bolt12Pubkey },
      version,
    };
  }
  return {
    reply: {
      type: "init_reply_v4",
      hsm_version: version,
      hsm_capabilities: capabilitiesFor(version),
      node_id: id.nodeId,
      bip32,
      bolt12: id.bolt12Pubkey,
      tlvs: {},
    },
    version,
  };
}

/** VLS derivation styles of `init_2` and the dev preinits. */
const STYLES: Record<number, KeyStyle> = { 0: "native", 1: "ldk" };

/** Negotiate LDK's `init_2` (1011); a mismatch throws a {@link DispatchError} (MALFORMED). */
export function negotiateInit2(m: RequestOf<"init_2">, o: InitOptions): InitOutcome {
  const bad = (message: string) =>
    new DispatchError(SIGNER_ERROR.MALFORMED, `malformed: init_2.${message}`);
  if (m.network_name !== o.network) {
    throw bad(
      `network_name: "${m.network_name}" is not ${o.network}, which this signer is configured for`,
    );
  }
  const style = STYLES[m.derivation_style];
  if (style === undefined) throw bad(`derivation_style: unknown style ${m.derivation_style}`);
  if (o.identity?.style !== undefined && o.identity.style !== style) {
    throw bad(
      `derivation_style: ${style} keys were asked for; this signer's keys are ${o.identity.style}`,
    );
  }
  if ((m.dev_seed !== null || m.dev_allowlist.length > 0) && !o.dev) {
    throw new DispatchError(
      SIGNER_ERROR.UNSUPPORTED,
      "unsupported: init_2 (1011): dev_seed and dev_allowlist are refused (not in developer mode)",
    );
  }
  if (o.identity === undefined) {
    throw new DispatchError(
      SIGNER_ERROR.INTERNAL,
      "internal: init_2: the signer's node identity is not available",
    );
  }
  const params = networkParams(o.network);
  return {
    reply: {
      type: "init_2_reply",
      node_id: o.identity.nodeId,
      bip32: xpubBytes(o.identity.accountKey(), params.bip32.public),
      bolt12: o.identity.bolt12Pubkey,
    },
    version: INIT_2_VERSION,
  };
}
