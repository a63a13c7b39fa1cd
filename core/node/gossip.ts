/**
 * Gossip we sign (BOLT #7, "P2P Node and Channel Discovery"): `node_announcement`,
 * `channel_update` and `channel_announcement`, parsed field by field so that the policy sees what
 * it signs (VLS signs these blind, vls.md row 31). Every signature is ECDSA (RFC 6979, low-S,
 * compact 64 bytes) over the double-SHA256 of the message after its signature fields:
 *
 * - `node_announcement` (type 257): SHA256d of everything after `signature` (offset 2 + 64).
 * - `channel_update` (type 258): the same; CLN 3 gets the whole update back with our signature
 *   written into bytes 2..66.
 * - `channel_announcement` (type 256): SHA256d from offset 2 + 256 (after the four signatures),
 *   signed with the node key and, for CLN 2/4, with the channel's funding key.
 *
 * CLN sends full messages (type, placeholder signatures, fields). VLS's `SignGossipMessage` (1006,
 * LDK `NodeSigner::sign_gossip_message`) carries LDK's *unsigned* message: the signed fields only,
 * without type or signatures; {@link signGossipMessage} recognises which of the three it is.
 *
 * Signatures are plain RFC 6979 like VLS (CLN grinds for a low R; both verify the same way).
 *
 * @module
 */
import { z } from "zod";
import { compare, equal, toHex } from "../bytes.ts";
import { ecdsaSign, isValidPublicKey, sha256d } from "../crypto/mod.ts";
import { networkParams } from "../bitcoin/network.ts";
import type { ChannelKeys } from "../keys/types.ts";
import type { ChannelSetup } from "../channel/types.ts";
import type {
  ChannelAnnouncementFactsT,
  ChannelUpdateFactsT,
  GossipFactsT,
  NodeAnnouncementFactsT,
  SignChannelAnnouncementFactsT,
  SignChannelUpdateFactsT,
  SignNodeAnnouncementFactsT,
} from "./facts_sign.ts";
import {
  type KnownChannel,
  type NodeOpOutcome,
  NodeRequestError,
  type NodeSignContext,
  nowOf,
  parseRequest,
  zBytesBetween,
} from "./sign_context.ts";

/** BOLT #7 message types. */
export const GOSSIP_MESSAGE_TYPES = {
  channel_announcement: 256,
  node_announcement: 257,
  channel_update: 258,
} as const;

const SIG = 64;
const POINT = 33;
/** Size of the fixed fields of a `channel_update` after its signature. */
const CHANNEL_UPDATE_FIXED = 32 + 8 + 4 + 1 + 1 + 2 + 8 + 4 + 4 + 8;

// ---------------------------------------------------------------------------------------------
// Parsing

class Reader {
  #bytes: Uint8Array;
  #offset = 0;
  #what: string;

  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#what = what;
  }

  take(n: number, field: string): Uint8Array {
    if (this.#offset + n > this.#bytes.length) {
      throw new NodeRequestError("malformed", `${this.#what} is truncated at ${field}`);
    }
    const out = this.#bytes.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return out;
  }

  u8(field: string): number {
    return this.take(1, field)[0];
  }

  u16(field: string): number {
    const b = this.take(2, field);
    return (b[0] << 8) | b[1];
  }

  u32(field: string): number {
    const b = this.take(4, field);
    return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  }

  u64(field: string): bigint {
    const b = this.take(8, field);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, false);
  }

  rest(): Uint8Array {
    const out = this.#bytes.subarray(this.#offset);
    this.#offset = this.#bytes.length;
    return out;
  }
}

/** The set bits of a BOLT #9 feature bitfield (big-endian; bit 0 is the last byte's lowest). */
export function featureBits(features: Uint8Array): number[] {
  const bits: number[] = [];
  for (let i = features.length - 1; i >= 0; i--) {
    const base = (features.length - 1 - i) * 8;
    for (let b = 0; b < 8; b++) if (features[i] & (1 << b)) bits.push(base + b);
  }
  return bits;
}

/** A short channel id's parts (BOLT #7, "Definition of short_channel_id"). */
export interface ShortChannelId {
  /** Block height of the funding transaction. */
  blockHeight: number;
  /** Index of the funding transaction in its block. */
  txIndex: number;
  /** Index of the funding output. */
  outputIndex: number;
}

/** The parts of a 64-bit short channel id. */
export function splitShortChannelId(scid: bigint): ShortChannelId {
  return {
    blockHeight: Number(scid >> 40n),
    txIndex: Number((scid >> 16n) & 0xffffffn),
    outputIndex: Number(scid & 0xffffn),
  };
}

/** The human-readable form `block x tx x output` (e.g. `539268x845x1`). */
export function formatShortChannelId(scid: bigint): string {
  const s = splitShortChannelId(scid);
  return `${s.blockHeight}x${s.txIndex}x${s.outputIndex}`;
}

/** One address descriptor of a `node_announcement`. */
export interface AddressDescriptor {
  /** 1 ipv4, 2 ipv6, 3 Tor v2 (deprecated), 4 Tor v3, 5 DNS hostname. */
  type: number;
  /** The address bytes (without type, hostname length and port). */
  address: Uint8Array;
  /** The port. */
  port: number;
}

/** A parsed `node_announcement` (the signed part: everything after `signature`). */
export interface NodeAnnouncement {
  /** `features`. */
  features: Uint8Array;
  /** `timestamp`. */
  timestamp: number;
  /** `node_id` (33 bytes, not checked to be a point; see `nodeIdValid`). */
  nodeId: Uint8Array;
  /** `node_id` is a valid compressed point. */
  nodeIdValid: boolean;
  /** `rgb_color` (3 bytes). */
  rgbColor: Uint8Array;
  /** `alias` (32 bytes). */
  alias: Uint8Array;
  /** The alias text up to the first zero byte, if valid UTF-8 followed by zeros only. */
  aliasText: string | null;
  /** The descriptors parsed, up to the first of an unknown type. */
  addresses: AddressDescriptor[];
  /** Descriptors fit `addrlen`, ascend by type, have non-zero ports, at most one DNS name. */
  addressesOk: boolean;
  /** Parsing stopped at a descriptor of an unknown type (BOLT #7: the rest is ignored). */
  unknownAddressType: boolean;
  /** Bytes after the addresses (TLV stream). */
  excess: Uint8Array;
}

const ADDRESS_SIZES: Record<number, number> = { 1: 4, 2: 16, 3: 10, 4: 35 };

function parseAddresses(
  bytes: Uint8Array,
): Pick<NodeAnnouncement, "addresses" | "addressesOk" | "unknownAddressType"> {
  const addresses: AddressDescriptor[] = [];
  let ok = true;
  let unknown = false;
  let previous = 0;
  let dns = 0;
  let i = 0;
  while (i < bytes.length) {
    const type = bytes[i];
    let start = i + 1;
    let size = ADDRESS_SIZES[type];
    if (type === 5) {
      if (start >= bytes.length) {
        ok = false;
        break;
      }
      size = bytes[start];
      start += 1;
    }
    if (size === undefined) {
      unknown = true;
      break;
    }
    if (start + size + 2 > bytes.length) {
      ok = false;
      break;
    }
    const address = bytes.slice(start, start + size);
    const port = (bytes[start + size] << 8) | bytes[start + size + 1];
    if (type < previous) ok = false;
    if ((type === 1 || type === 2 || type === 5) && port === 0) ok = false;
    if (type === 5) {
      dns++;
      if (dns > 1 || size === 0 || address.some((c) => c < 0x21 || c > 0x7e)) ok = false;
    }
    previous = type;
    addresses.push({ type, address, port });
    i = start + size + 2;
  }
  return { addresses, addressesOk: ok, unknownAddressType: unknown };
}

function aliasText(alias: Uint8Array): string | null {
  let end = alias.indexOf(0);
  if (end < 0) end = alias.length;
  if (alias.subarray(end).some((b) => b !== 0)) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(alias.subarray(0, end));
  } catch {
    return null;
  }
}

/**
 * Parses the signed part of a `node_announcement` (BOLT #7: `flen`, `features`, `timestamp`,
 * `node_id`, `rgb_color`, `alias`, `addrlen`, `addresses`, TLVs). Throws {@link NodeRequestError}
 * when a fixed field is missing.
 */
export function parseNodeAnnouncement(signed: Uint8Array): NodeAnnouncement {
  const r = new Reader(signed, "node_announcement");
  const features = r.take(r.u16("flen"), "features");
  const timestamp = r.u32("timestamp");
  const nodeId = r.take(POINT, "node_id");
  const rgbColor = r.take(3, "rgb_color");
  const alias = r.take(32, "alias");
  const addressBytes = r.take(r.u16("addrlen"), "addresses");
  return {
    features,
    timestamp,
    nodeId,
    nodeIdValid: isValidPublicKey(nodeId),
    rgbColor,
    alias,
    aliasText: aliasText(alias),
    ...parseAddresses(addressBytes),
    excess: r.rest(),
  };
}

/** A parsed `channel_update` (the signed part: everything after `signature`). */
export interface ChannelUpdate {
  /** `chain_hash` (internal byte order, as the genesis hash). */
  chainHash: Uint8Array;
  /** `short_channel_id`. */
  shortChannelId: bigint;
  /** `timestamp`. */
  timestamp: number;
  /** `message_flags` (bit 0 `must_be_one`, bit 1 `dont_forward`). */
  messageFlags: number;
  /** `channel_flags` (bit 0 `direction`, bit 1 `disable`). */
  channelFlags: number;
  /** `cltv_expiry_delta`. */
  cltvExpiryDelta: number;
  /** `htlc_minimum_msat`. */
  htlcMinimumMsat: bigint;
  /** `fee_base_msat`. */
  feeBaseMsat: number;
  /** `fee_proportional_millionths`. */
  feeProportionalMillionths: number;
  /** `htlc_maximum_msat`. */
  htlcMaximumMsat: bigint;
  /** Bytes after `htlc_maximum_msat`. */
  excess: Uint8Array;
}

/** Parses the signed part of a `channel_update`; every field through `htlc_maximum_msat`. */
export function parseChannelUpdate(signed: Uint8Array): ChannelUpdate {
  const r = new Reader(signed, "channel_update");
  return {
    chainHash: r.take(32, "chain_hash"),
    shortChannelId: r.u64("short_channel_id"),
    timestamp: r.u32("timestamp"),
    messageFlags: r.u8("message_flags"),
    channelFlags: r.u8("channel_flags"),
    cltvExpiryDelta: r.u16("cltv_expiry_delta"),
    htlcMinimumMsat: r.u64("htlc_minimum_msat"),
    feeBaseMsat: r.u32("fee_base_msat"),
    feeProportionalMillionths: r.u32("fee_proportional_millionths"),
    htlcMaximumMsat: r.u64("htlc_maximum_msat"),
    excess: r.rest(),
  };
}

/** A parsed `channel_announcement` (the signed part: everything after the four signatures). */
export interface ChannelAnnouncement {
  /** `features`. */
  features: Uint8Array;
  /** `chain_hash`. */
  chainHash: Uint8Array;
  /** `short_channel_id`. */
  shortChannelId: bigint;
  /** `node_id_1`. */
  nodeId1: Uint8Array;
  /** `node_id_2`. */
  nodeId2: Uint8Array;
  /** `bitcoin_key_1`. */
  bitcoinKey1: Uint8Array;
  /** `bitcoin_key_2`. */
  bitcoinKey2: Uint8Array;
  /** Bytes after `bitcoin_key_2`. */
  excess: Uint8Array;
}

/** Parses the signed part of a `channel_announcement`. */
export function parseChannelAnnouncement(signed: Uint8Array): ChannelAnnouncement {
  const r = new Reader(signed, "channel_announcement");
  return {
    features: r.take(r.u16("len"), "features"),
    chainHash: r.take(32, "chain_hash"),
    shortChannelId: r.u64("short_channel_id"),
    nodeId1: r.take(POINT, "node_id_1"),
    nodeId2: r.take(POINT, "node_id_2"),
    bitcoinKey1: r.take(POINT, "bitcoin_key_1"),
    bitcoinKey2: r.take(POINT, "bitcoin_key_2"),
    excess: r.rest(),
  };
}

/**
 * The signed part of a full gossip message: checks the 2-byte type and skips `signatures`
 * placeholder signatures.
 */
export function signedPart(message: Uint8Array, type: number, signatures: number): Uint8Array {
  const offset = 2 + SIG * signatures;
  if (message.length < offset) {
    throw new NodeRequestError("malformed", `gossip message shorter than its ${offset}-byte head`);
  }
  const actual = (message[0] << 8) | message[1];
  if (actual !== type) {
    throw new NodeRequestError("malformed", `gossip message has type ${actual}, expected ${type}`);
  }
  return message.subarray(offset);
}

// ---------------------------------------------------------------------------------------------
// Facts

function chainHashOk(ctx: NodeSignContext, chainHash: Uint8Array): boolean {
  return equal(chainHash, networkParams(ctx.keys.network).genesisHash);
}

function gossipFacts(
  type: GossipFactsT["type"],
  wellFormed: boolean,
  signed: Uint8Array,
  unsignedForm: boolean,
): GossipFactsT {
  return { type, well_formed: wellFormed, length: signed.length, unsigned_form: unsignedForm };
}

function nodeAnnouncementFacts(
  ctx: NodeSignContext,
  ann: NodeAnnouncement,
): NodeAnnouncementFactsT {
  const now = nowOf(ctx);
  const count = (t: number) => ann.addresses.filter((a) => a.type === t).length;
  return {
    node_id_is_ours: equal(ann.nodeId, ctx.keys.nodeId),
    timestamp: ann.timestamp,
    now,
    ahead_of_now: ann.timestamp - now,
    feature_bits: featureBits(ann.features),
    alias: ann.aliasText ?? "",
    rgb_color: toHex(ann.rgbColor),
    address_count: ann.addresses.length,
    ipv4_count: count(1),
    ipv6_count: count(2),
    torv2_count: count(3),
    torv3_count: count(4),
    dns_count: count(5),
    unknown_address_type: ann.unknownAddressType,
    excess_length: ann.excess.length,
  };
}

/** BOLT #7 MUSTs of a node_announcement writer that can be checked from the message alone. */
function nodeAnnouncementWellFormed(ann: NodeAnnouncement): boolean {
  return ann.nodeIdValid && ann.aliasText !== null && ann.addressesOk;
}

function capacityMsat(channel: KnownChannel | undefined): bigint | null {
  const setup: ChannelSetup | null | undefined = channel?.setup;
  return setup ? setup.channelValueSat * 1000n : null;
}

function channelUpdateFacts(ctx: NodeSignContext, cu: ChannelUpdate): ChannelUpdateFactsT {
  const now = nowOf(ctx);
  const scid = splitShortChannelId(cu.shortChannelId);
  const channel = ctx.channelByScid?.(cu.shortChannelId);
  const direction = cu.channelFlags & 1;
  const weAreFirst = channel ? compare(ctx.keys.nodeId, channel.peerId) < 0 : false;
  const capacity = capacityMsat(channel);
  return {
    chain_hash_ok: chainHashOk(ctx, cu.chainHash),
    short_channel_id: formatShortChannelId(cu.shortChannelId),
    block_height: scid.blockHeight,
    tx_index: scid.txIndex,
    output_index: scid.outputIndex,
    is_our_channel: channel !== undefined,
    channel_closed: channel?.closed ?? false,
    direction,
    direction_ok: channel !== undefined && direction === (weAreFirst ? 0 : 1),
    disabled: (cu.channelFlags & 2) !== 0,
    dont_forward: (cu.messageFlags & 2) !== 0,
    timestamp: cu.timestamp,
    now,
    ahead_of_now: cu.timestamp - now,
    cltv_expiry_delta: cu.cltvExpiryDelta,
    htlc_minimum_msat: cu.htlcMinimumMsat,
    htlc_maximum_msat: cu.htlcMaximumMsat,
    fee_base_msat: BigInt(cu.feeBaseMsat),
    fee_proportional_millionths: cu.feeProportionalMillionths,
    has_capacity: capacity !== null,
    capacity_msat: capacity ?? 0n,
    excess_length: cu.excess.length,
  };
}

/**
 * BOLT #7 MUSTs of a channel_update writer checkable from the message: `must_be_one` set, the
 * unassigned bits of both flag bytes zero, `timestamp` above 0, `htlc_minimum_msat` at most
 * `htlc_maximum_msat`.
 */
function channelUpdateWellFormed(cu: ChannelUpdate): boolean {
  return (cu.messageFlags & 1) === 1 && (cu.messageFlags & ~3) === 0 &&
    (cu.channelFlags & ~3) === 0 && cu.timestamp > 0 && cu.htlcMinimumMsat <= cu.htlcMaximumMsat;
}

function channelAnnouncementFacts(
  ctx: NodeSignContext,
  ca: ChannelAnnouncement,
  channel: KnownChannel | undefined,
  signsFundingKey: boolean,
): ChannelAnnouncementFactsT {
  const scid = splitShortChannelId(ca.shortChannelId);
  const ours = ctx.keys.nodeId;
  const side = equal(ca.nodeId1, ours) ? 1 : equal(ca.nodeId2, ours) ? 2 : 0;
  const otherNode = side === 1 ? ca.nodeId2 : ca.nodeId1;
  const ourKey = side === 1 ? ca.bitcoinKey1 : ca.bitcoinKey2;
  const otherKey = side === 1 ? ca.bitcoinKey2 : ca.bitcoinKey1;
  const setup = channel?.setup ?? null;
  return {
    chain_hash_ok: chainHashOk(ctx, ca.chainHash),
    short_channel_id: formatShortChannelId(ca.shortChannelId),
    block_height: scid.blockHeight,
    tx_index: scid.txIndex,
    output_index: scid.outputIndex,
    feature_bits: featureBits(ca.features),
    node_ids_ordered: compare(ca.nodeId1, ca.nodeId2) < 0,
    node_id_is_ours: side !== 0,
    our_side: side,
    is_our_channel: channel !== undefined,
    channel_closed: channel?.closed ?? false,
    peer_is_counterparty: side !== 0 && channel !== undefined && equal(otherNode, channel.peerId),
    funding_key_is_ours: side !== 0 && channel !== undefined &&
      equal(ourKey, channel.holderFundingPubkey),
    counterparty_funding_key_matches: side !== 0 && setup !== null &&
      toHex(otherKey) === setup.counterparty.fundingPubkey,
    output_index_matches: setup !== null && setup.fundingOutpoint.vout === scid.outputIndex,
    signs_funding_key: signsFundingKey,
    excess_length: ca.excess.length,
  };
}

function channelAnnouncementWellFormed(ca: ChannelAnnouncement): boolean {
  return [ca.nodeId1, ca.nodeId2, ca.bitcoinKey1, ca.bitcoinKey2].every(isValidPublicKey);
}

function nodeSign(ctx: NodeSignContext, signed: Uint8Array): Uint8Array {
  return ecdsaSign(sha256d(signed), ctx.keys.nodeSecret.expose());
}

// ---------------------------------------------------------------------------------------------
// Operations

const MAX_MESSAGE = 65535;

/** `sign_node_announcement` (CLN 6 `node_announcement_sig_req`): the full message. */
export const SignNodeAnnouncementRequest = z.object({
  /** The whole `node_announcement`, type and placeholder signature included. */
  announcement: zBytesBetween(2 + SIG, MAX_MESSAGE),
});

/** See {@link SignNodeAnnouncementRequest}. */
export type SignNodeAnnouncementRequestT = z.infer<typeof SignNodeAnnouncementRequest>;

function nodeAnnouncementOutcome(
  ctx: NodeSignContext,
  signed: Uint8Array,
  unsignedForm: boolean,
): NodeOpOutcome<SignNodeAnnouncementFactsT, Uint8Array> {
  const ann = parseNodeAnnouncement(signed);
  const facts: SignNodeAnnouncementFactsT = {
    gossip: gossipFacts("node_announcement", nodeAnnouncementWellFormed(ann), signed, unsignedForm),
    node_announcement: nodeAnnouncementFacts(ctx, ann),
  };
  return {
    kind: "sign_node_announcement",
    facts,
    next: null,
    release: () => nodeSign(ctx, signed),
  };
}

/**
 * Sign our `node_announcement` (BOLT #7: the signature of the double-SHA256 of the packet after
 * `signature`, with the key of `node_id`). Releases the 64-byte compact signature.
 */
export function signNodeAnnouncement(
  ctx: NodeSignContext,
  request: SignNodeAnnouncementRequestT,
): NodeOpOutcome<SignNodeAnnouncementFactsT, Uint8Array> {
  const { announcement } = parseRequest(
    SignNodeAnnouncementRequest,
    request,
    "sign_node_announcement",
  );
  // A copy: the signature must cover exactly the bytes the facts describe.
  const signed = signedPart(announcement.slice(), GOSSIP_MESSAGE_TYPES.node_announcement, 1);
  return nodeAnnouncementOutcome(ctx, signed, false);
}

/** `sign_channel_update` (CLN 3 `cupdate_sig_req`): the full message. */
export const SignChannelUpdateRequest = z.object({
  /** The whole `channel_update`, type and placeholder signature included. */
  update: zBytesBetween(2 + SIG, MAX_MESSAGE),
});

/** See {@link SignChannelUpdateRequest}. */
export type SignChannelUpdateRequestT = z.infer<typeof SignChannelUpdateRequest>;

function signChannelUpdateFacts(
  ctx: NodeSignContext,
  signed: Uint8Array,
  unsignedForm: boolean,
): SignChannelUpdateFactsT {
  const cu = parseChannelUpdate(signed);
  return {
    gossip: gossipFacts("channel_update", channelUpdateWellFormed(cu), signed, unsignedForm),
    channel_update: channelUpdateFacts(ctx, cu),
  };
}

/**
 * Sign a `channel_update` of one of our channels (BOLT #7: double-SHA256 of the packet after
 * `signature`, with our node key). Releases the whole update with the signature written in
 * (bytes 2..66), as CLN's `cupdate_sig_reply`.
 */
export function signChannelUpdate(
  ctx: NodeSignContext,
  request: SignChannelUpdateRequestT,
): NodeOpOutcome<SignChannelUpdateFactsT, Uint8Array> {
  const { update } = parseRequest(SignChannelUpdateRequest, request, "sign_channel_update");
  const copy = update.slice();
  const signed = signedPart(copy, GOSSIP_MESSAGE_TYPES.channel_update, 1);
  const facts = signChannelUpdateFacts(ctx, signed, false);
  return {
    kind: "sign_channel_update",
    facts,
    next: null,
    release: () => {
      const out = copy.slice();
      out.set(nodeSign(ctx, signed), 2);
      return out;
    },
  };
}

/** The channel CLN names in `sign_any_cannouncement_req` (4) or a channel client's 2. */
export interface AnnouncedChannel {
  /** The peer's node id. */
  peerId: Uint8Array;
  /** Our keys of the channel (the funding key signs). */
  keys: ChannelKeys;
  /** The negotiated parameters (null for a stub). */
  setup: ChannelSetup | null;
  /** A close was signed. */
  closed: boolean;
}

/** The context of {@link signChannelAnnouncement}: the node's plus the channel announced. */
export interface ChannelAnnouncementContext extends NodeSignContext {
  /** The channel whose funding key signs. */
  channel: AnnouncedChannel;
}

/** `sign_channel_announcement` (CLN 2 / 4; LDK `sign_channel_announcement_with_funding_key`). */
export const SignChannelAnnouncementRequest = z.object({
  /**
   * The whole `channel_announcement` (type and four placeholder signatures), or with
   * `unsigned: true` LDK's unsigned announcement (the signed fields only).
   */
  announcement: zBytesBetween(2, MAX_MESSAGE),
  /** The announcement is LDK's unsigned form. */
  unsigned: z.boolean().optional(),
});

/** See {@link SignChannelAnnouncementRequest}. */
export type SignChannelAnnouncementRequestT = z.infer<typeof SignChannelAnnouncementRequest>;

/** The reply of {@link signChannelAnnouncement}. */
export interface ChannelAnnouncementSignatures {
  /** Signature with our node key (64-byte compact). */
  nodeSignature: Uint8Array;
  /** Signature with our funding key of the channel (64-byte compact). */
  bitcoinSignature: Uint8Array;
}

/**
 * Sign a `channel_announcement` with the node key and the channel's funding key (BOLT #7:
 * double-SHA256 of the message from offset 256 after the type, i.e. after the four signatures).
 */
export function signChannelAnnouncement(
  ctx: ChannelAnnouncementContext,
  request: SignChannelAnnouncementRequestT,
): NodeOpOutcome<SignChannelAnnouncementFactsT, ChannelAnnouncementSignatures> {
  const req = parseRequest(SignChannelAnnouncementRequest, request, "sign_channel_announcement");
  const unsigned = req.unsigned === true;
  const announcement = req.announcement.slice();
  const signed = unsigned
    ? announcement
    : signedPart(announcement, GOSSIP_MESSAGE_TYPES.channel_announcement, 4);
  const ca = parseChannelAnnouncement(signed);
  const ch = ctx.channel;
  const known: KnownChannel = {
    peerId: ch.peerId,
    holderFundingPubkey: ch.keys.fundingPubkey,
    setup: ch.setup,
    closed: ch.closed,
  };
  const facts: SignChannelAnnouncementFactsT = {
    gossip: gossipFacts(
      "channel_announcement",
      channelAnnouncementWellFormed(ca),
      signed,
      unsigned,
    ),
    channel_announcement: channelAnnouncementFacts(ctx, ca, known, true),
  };
  return {
    kind: "sign_channel_announcement",
    facts,
    next: null,
    release: () => {
      const digest = sha256d(signed);
      return {
        nodeSignature: ecdsaSign(digest, ctx.keys.nodeSecret.expose()),
        bitcoinSignature: ecdsaSign(digest, ch.keys.fundingSecret.expose()),
      };
    },
  };
}

/**
 * The context of {@link signGossipMessage}: the node's, plus our channels with a peer, which a
 * `channel_announcement` whose short channel id the service has not mapped yet is checked
 * against. LDK asks for the node signature (1006) *before* the funding key's (which is what maps
 * the short channel id), so that announcement cannot be found by its short channel id.
 */
export interface GossipMessageContext extends NodeSignContext {
  /**
   * Every channel we have with the peer `peerId` (33 bytes), closed ones included. Absent: an
   * announcement with an unmapped short channel id cannot be checked (facts with
   * `is_our_channel: false`, as a private channel's).
   */
  channelsWithPeer?: (peerId: Uint8Array) => KnownChannel[];
}

/**
 * Our channel a `channel_announcement` signed with the node key alone describes: by its short
 * channel id, else (when the context lists our channels with a peer) the channel with the other
 * node whose funding key is the announcement's `bitcoin_key` on our side. Throws
 * {@link NodeRequestError} `unknown-channel` when our channels with that peer are known and none
 * has that key: the node key would vouch that our node funded a 2-of-2 it has no key of.
 */
function announcedChannel(
  ctx: GossipMessageContext,
  ca: ChannelAnnouncement,
): KnownChannel | undefined {
  const byScid = ctx.channelByScid?.(ca.shortChannelId);
  if (byScid !== undefined || ctx.channelsWithPeer === undefined) return byScid;
  const ours = ctx.keys.nodeId;
  const side = equal(ca.nodeId1, ours) ? 1 : equal(ca.nodeId2, ours) ? 2 : 0;
  // Not our node at either end: policy-gossip-our-node refuses it.
  if (side === 0) return undefined;
  const peer = side === 1 ? ca.nodeId2 : ca.nodeId1;
  const ourKey = side === 1 ? ca.bitcoinKey1 : ca.bitcoinKey2;
  const found = ctx.channelsWithPeer(peer).find((c) => equal(c.holderFundingPubkey, ourKey));
  if (found === undefined) {
    throw new NodeRequestError(
      "unknown-channel",
      `sign_gossip_message: channel_announcement ${formatShortChannelId(ca.shortChannelId)}: ` +
        "the bitcoin key on our side is not our funding key of any channel with that peer",
    );
  }
  return found;
}

/** `sign_gossip_message` (VLS 1006, LDK `NodeSigner::sign_gossip_message`). */
export const SignGossipMessageRequest = z.object({
  /** LDK's unsigned gossip message: the signed fields only, no type, no signatures. */
  message: zBytesBetween(1, MAX_MESSAGE),
});

/** See {@link SignGossipMessageRequest}. */
export type SignGossipMessageRequestT = z.infer<typeof SignGossipMessageRequest>;

/** The outcome of {@link signGossipMessage}: one of the three gossip kinds. */
export type GossipOutcome =
  | NodeOpOutcome<SignNodeAnnouncementFactsT, Uint8Array>
  | NodeOpOutcome<SignChannelUpdateFactsT, Uint8Array>
  | NodeOpOutcome<SignChannelAnnouncementFactsT, Uint8Array>;

/**
 * Which gossip message an unsigned body is. A `channel_update` starts with our chain hash; a
 * `channel_announcement` has it after its features; anything else long enough for the fixed
 * fields of a `node_announcement` is taken as one (its facts then say whether the node id is
 * ours). Throws {@link NodeRequestError} when it fits none.
 */
export function classifyUnsignedGossip(
  ctx: Pick<NodeSignContext, "keys">,
  body: Uint8Array,
): GossipFactsT["type"] {
  const chain = networkParams(ctx.keys.network).genesisHash;
  if (body.length >= CHANNEL_UPDATE_FIXED && equal(body.subarray(0, 32), chain)) {
    return "channel_update";
  }
  if (body.length >= 2) {
    const flen = (body[0] << 8) | body[1];
    const at = 2 + flen;
    if (body.length >= at + 32 + 8 + 4 * POINT && equal(body.subarray(at, at + 32), chain)) {
      return "channel_announcement";
    }
    if (body.length >= at + 4 + POINT + 3 + 32 + 2) return "node_announcement";
  }
  throw new NodeRequestError("malformed", "sign_gossip_message: not a known gossip message");
}

/**
 * Sign LDK's unsigned gossip message with the node key (VLS 1006). The request is classified
 * ({@link classifyUnsignedGossip}) and gets the facts of its own kind, with
 * `gossip.unsigned_form` set, so the same rules hold whichever message carried it. A
 * `channel_announcement` is matched to our channel through `ctx.channelByScid`, else by our
 * funding key among `ctx.channelsWithPeer` (none: `unknown-channel`, see
 * {@link GossipMessageContext}). Releases the 64-byte compact signature.
 */
export function signGossipMessage(
  ctx: GossipMessageContext,
  request: SignGossipMessageRequestT,
): GossipOutcome {
  const message = parseRequest(SignGossipMessageRequest, request, "sign_gossip_message")
    .message.slice();
  const type = classifyUnsignedGossip(ctx, message);
  if (type === "node_announcement") return nodeAnnouncementOutcome(ctx, message, true);
  if (type === "channel_update") {
    return {
      kind: "sign_channel_update",
      facts: signChannelUpdateFacts(ctx, message, true),
      next: null,
      release: () => nodeSign(ctx, message),
    };
  }
  const ca = parseChannelAnnouncement(message);
  const channel = announcedChannel(ctx, ca);
  const facts: SignChannelAnnouncementFactsT = {
    gossip: gossipFacts("channel_announcement", channelAnnouncementWellFormed(ca), message, true),
    channel_announcement: channelAnnouncementFacts(ctx, ca, channel, false),
  };
  return {
    kind: "sign_channel_announcement",
    facts,
    next: null,
    release: () => nodeSign(ctx, message),
  };
}
