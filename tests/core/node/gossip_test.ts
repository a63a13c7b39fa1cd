import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  compare,
  concat,
  equal,
  fromHex,
  toHex,
  u16be,
  u32be,
  u64be,
  utf8,
} from "../../../core/bytes.ts";
import { ecdsaVerify, publicKey, sha256d } from "../../../core/crypto/mod.ts";
import { networkParams } from "../../../core/bitcoin/network.ts";
import { ChannelId } from "../../../core/keys/mod.ts";
import type { ChannelSetup } from "../../../core/channel/types.ts";
import {
  type AnnouncedChannel,
  classifyUnsignedGossip,
  featureBits,
  formatShortChannelId,
  type GossipMessageContext,
  parseChannelUpdate,
  parseNodeAnnouncement,
  signChannelAnnouncement,
  signChannelUpdate,
  signGossipMessage,
  signNodeAnnouncement,
  splitShortChannelId,
} from "../../../core/node/gossip.ts";
import {
  SignChannelAnnouncementFacts,
  SignChannelUpdateFacts,
  SignNodeAnnouncementFacts,
} from "../../../core/node/facts_sign.ts";
import { type KnownChannel, NodeRequestError } from "../../../core/node/sign_context.ts";
import { contextOf, seedKeys } from "./_sign_fixture.ts";

const KEYS = seedKeys("regtest");
const NOW = 1_700_000_000;
const CHAIN = networkParams("regtest").genesisHash;
const PEER = publicKey(new Uint8Array(32).fill(0x55));
const SCID = (700_000n << 40n) | (1234n << 16n) | 1n;

function typed(type: number, signatures: number, body: Uint8Array): Uint8Array {
  return concat(u16be(type), new Uint8Array(64 * signatures), body);
}

function address(type: number, addr: Uint8Array, port: number): Uint8Array {
  return type === 5
    ? concat(Uint8Array.of(5, addr.length), addr, u16be(port))
    : concat(Uint8Array.of(type), addr, u16be(port));
}

interface NodeAnnouncementParts {
  features?: Uint8Array;
  timestamp?: number;
  nodeId?: Uint8Array;
  alias?: Uint8Array;
  addresses?: Uint8Array;
  tlvs?: Uint8Array;
}

/** The signed part of a node_announcement, field by field as BOLT #7 lists them. */
function nodeAnnouncementBody(p: NodeAnnouncementParts = {}): Uint8Array {
  const features = p.features ?? fromHex("088a52a1");
  const alias = new Uint8Array(32);
  alias.set(p.alias ?? utf8("warden"));
  const addresses = p.addresses ??
    concat(
      address(1, Uint8Array.of(127, 0, 0, 1), 9735),
      address(2, new Uint8Array(16).fill(1), 9735),
      address(4, new Uint8Array(35).fill(2), 9735),
      address(5, utf8("node.example.com"), 9735),
    );
  return concat(
    u16be(features.length),
    features,
    u32be(p.timestamp ?? NOW - 10),
    p.nodeId ?? KEYS.nodeId,
    fromHex("ff9900"),
    alias,
    u16be(addresses.length),
    addresses,
    p.tlvs ?? new Uint8Array(),
  );
}

interface UpdateParts {
  chain?: Uint8Array;
  scid?: bigint;
  timestamp?: number;
  messageFlags?: number;
  channelFlags?: number;
  htlcMin?: bigint;
  htlcMax?: bigint;
}

/** The signed part of a channel_update. */
function channelUpdateBody(p: UpdateParts = {}): Uint8Array {
  return concat(
    p.chain ?? CHAIN,
    u64be(p.scid ?? SCID),
    u32be(p.timestamp ?? NOW),
    Uint8Array.of(p.messageFlags ?? 1, p.channelFlags ?? 0),
    u16be(144),
    u64be(p.htlcMin ?? 1000n),
    u32be(1000),
    u32be(250),
    u64be(p.htlcMax ?? 990_000_000n),
  );
}

function setupWith(fundingPubkey: Uint8Array, vout: number): ChannelSetup {
  const point = toHex(PEER);
  return {
    isOutbound: true,
    channelValueSat: 1_000_000n,
    pushMsat: 0n,
    fundingOutpoint: { txid: "11".repeat(32), vout },
    holderSelectedContestDelay: 144,
    counterpartySelectedContestDelay: 144,
    counterparty: {
      fundingPubkey: toHex(fundingPubkey),
      revocationBasepoint: point,
      paymentBasepoint: point,
      delayedPaymentBasepoint: point,
      htlcBasepoint: point,
    },
    holderShutdownScript: "",
    holderShutdownWalletIndex: null,
    counterpartyShutdownScript: "",
    commitmentType: "anchors_zero_fee_htlc",
  };
}

const CHANNEL_KEYS = KEYS.channelKeys(ChannelId.fromPeerDbid(PEER, 5n));
const PEER_FUNDING = publicKey(new Uint8Array(32).fill(0x66));
const CHANNEL: KnownChannel = {
  peerId: PEER,
  holderFundingPubkey: CHANNEL_KEYS.fundingPubkey,
  setup: setupWith(PEER_FUNDING, 1),
  closed: false,
};

function lookup(channel: KnownChannel) {
  return (scid: bigint) => (scid === SCID ? channel : undefined);
}

const CTX = contextOf(KEYS, { now: NOW, channelByScid: lookup(CHANNEL) });

Deno.test("short channel ids and feature bits", () => {
  const scid = (539268n << 40n) | (845n << 16n) | 1n;
  strictEqual(formatShortChannelId(scid), "539268x845x1");
  deepStrictEqual(splitShortChannelId(scid), { blockHeight: 539268, txIndex: 845, outputIndex: 1 });
  deepStrictEqual(featureBits(fromHex("0100")), [8]);
  deepStrictEqual(featureBits(fromHex("8002")), [1, 15]);
  deepStrictEqual(featureBits(new Uint8Array()), []);
});

Deno.test("sign_node_announcement: facts and a signature over SHA256d(message[66..])", () => {
  const message = typed(257, 1, nodeAnnouncementBody());
  const out = signNodeAnnouncement(CTX, { announcement: message });
  strictEqual(out.kind, "sign_node_announcement");
  strictEqual(SignNodeAnnouncementFacts.safeParse(out.facts).success, true);
  deepStrictEqual(out.facts.gossip, {
    type: "node_announcement",
    well_formed: true,
    length: message.length - 66,
    unsigned_form: false,
  });
  deepStrictEqual(out.facts.node_announcement, {
    node_id_is_ours: true,
    timestamp: NOW - 10,
    now: NOW,
    ahead_of_now: -10,
    feature_bits: featureBits(fromHex("088a52a1")),
    alias: "warden",
    rgb_color: "ff9900",
    address_count: 4,
    ipv4_count: 1,
    ipv6_count: 1,
    torv2_count: 0,
    torv3_count: 1,
    dns_count: 1,
    unknown_address_type: false,
    excess_length: 0,
  });
  const sig = out.release();
  strictEqual(sig.length, 64);
  strictEqual(ecdsaVerify(sig, sha256d(message.subarray(66)), KEYS.nodeId), true);
});

Deno.test("node_announcement well_formed: addresses, ports, alias, node id", () => {
  const wf = (parts: NodeAnnouncementParts) =>
    signNodeAnnouncement(CTX, { announcement: typed(257, 1, nodeAnnouncementBody(parts)) })
      .facts.gossip.well_formed;
  const v4 = address(1, Uint8Array.of(10, 0, 0, 1), 9735);
  const v6 = address(2, new Uint8Array(16), 9735);
  strictEqual(wf({ addresses: concat(v4, v4, v6) }), true, "equal types may repeat");
  strictEqual(wf({ addresses: concat(v6, v4) }), false, "descending types");
  strictEqual(wf({ addresses: address(1, Uint8Array.of(10, 0, 0, 1), 0) }), false, "port 0");
  strictEqual(
    wf({ addresses: concat(address(5, utf8("a.b"), 1), address(5, utf8("c.d"), 1)) }),
    false,
    "two DNS names",
  );
  strictEqual(wf({ addresses: address(5, utf8("a b"), 1) }), false, "hostname not ASCII printable");
  strictEqual(wf({ addresses: v4.subarray(0, 5) }), false, "addrlen cuts a descriptor");
  strictEqual(wf({ alias: Uint8Array.of(0x41, 0, 0x42) }), false, "bytes after the alias' end");
  strictEqual(wf({ alias: Uint8Array.of(0xc3, 0x28) }), false, "alias not UTF-8");
  strictEqual(wf({ nodeId: fromHex("02" + "ff".repeat(32)) }), false, "node id not a point");
  // An unknown type stops parsing without being malformed (BOLT #7: ignore it).
  const unknown = signNodeAnnouncement(CTX, {
    announcement: typed(
      257,
      1,
      nodeAnnouncementBody({ addresses: concat(v4, Uint8Array.of(9, 1, 2)) }),
    ),
  }).facts;
  strictEqual(unknown.gossip.well_formed, true);
  strictEqual(unknown.node_announcement.unknown_address_type, true);
  strictEqual(unknown.node_announcement.address_count, 1);
  const other = signNodeAnnouncement(CTX, {
    announcement: typed(257, 1, nodeAnnouncementBody({ nodeId: PEER, tlvs: fromHex("0100") })),
  }).facts.node_announcement;
  strictEqual(other.node_id_is_ours, false);
  strictEqual(other.excess_length, 2);
  const future = signNodeAnnouncement(CTX, {
    announcement: typed(257, 1, nodeAnnouncementBody({ timestamp: NOW + 7200 })),
  }).facts.node_announcement;
  strictEqual(future.ahead_of_now, 7200);
});

Deno.test("parseNodeAnnouncement reads BOLT #7's fields in order", () => {
  const ann = parseNodeAnnouncement(nodeAnnouncementBody({ tlvs: fromHex("010203") }));
  strictEqual(toHex(ann.features), "088a52a1");
  strictEqual(ann.timestamp, NOW - 10);
  strictEqual(equal(ann.nodeId, KEYS.nodeId), true);
  strictEqual(ann.aliasText, "warden");
  deepStrictEqual(ann.addresses[0], { type: 1, address: Uint8Array.of(127, 0, 0, 1), port: 9735 });
  strictEqual(new TextDecoder().decode(ann.addresses[3].address), "node.example.com");
  strictEqual(toHex(ann.excess), "010203");
});

Deno.test("gossip requests that are not what they claim are refused", () => {
  throws(
    () => signNodeAnnouncement(CTX, { announcement: typed(258, 1, nodeAnnouncementBody()) }),
    { name: "NodeRequestError", code: "malformed", message: /type 258, expected 257/ },
  );
  throws(
    () => signNodeAnnouncement(CTX, { announcement: typed(257, 1, fromHex("0000")) }),
    /node_announcement is truncated at timestamp/,
  );
  throws(() => signNodeAnnouncement(CTX, { announcement: new Uint8Array(10) }), {
    name: "NodeRequestError",
    message: /sign_node_announcement: announcement: must be 66 to 65535 bytes/,
  });
  throws(
    () => signChannelUpdate(CTX, { update: typed(258, 1, channelUpdateBody().subarray(0, 71)) }),
    /channel_update is truncated at htlc_maximum_msat/,
  );
});

Deno.test("sign_channel_update: facts, and the update returned with our signature in it", () => {
  const message = typed(258, 1, channelUpdateBody());
  const out = signChannelUpdate(CTX, { update: message });
  strictEqual(out.kind, "sign_channel_update");
  strictEqual(SignChannelUpdateFacts.safeParse(out.facts).success, true);
  strictEqual(out.facts.gossip.well_formed, true);
  const weAreFirst = compare(KEYS.nodeId, PEER) < 0;
  deepStrictEqual(out.facts.channel_update, {
    chain_hash_ok: true,
    short_channel_id: "700000x1234x1",
    block_height: 700000,
    tx_index: 1234,
    output_index: 1,
    is_our_channel: true,
    channel_closed: false,
    direction: 0,
    direction_ok: weAreFirst,
    disabled: false,
    dont_forward: false,
    timestamp: NOW,
    now: NOW,
    ahead_of_now: 0,
    cltv_expiry_delta: 144,
    htlc_minimum_msat: 1000n,
    htlc_maximum_msat: 990_000_000n,
    fee_base_msat: 1000n,
    fee_proportional_millionths: 250,
    has_capacity: true,
    capacity_msat: 1_000_000_000n,
    excess_length: 0,
  });
  const flipped = signChannelUpdate(CTX, {
    update: typed(258, 1, channelUpdateBody({ channelFlags: 1 })),
  });
  strictEqual(flipped.facts.channel_update.direction, 1);
  strictEqual(flipped.facts.channel_update.direction_ok, !weAreFirst);

  const signed = out.release();
  strictEqual(signed.length, message.length);
  strictEqual(toHex(signed.subarray(0, 2)), "0102");
  strictEqual(toHex(signed.subarray(66)), toHex(message.subarray(66)), "fields unchanged");
  strictEqual(
    ecdsaVerify(signed.subarray(2, 66), sha256d(message.subarray(66)), KEYS.nodeId),
    true,
  );
  strictEqual(toHex(message.subarray(2, 66)), "00".repeat(64), "the request is not modified");
});

Deno.test("channel_update facts: unknown channel, other chain, flags, capacity", () => {
  const facts = (parts: UpdateParts, ctx = CTX) =>
    signChannelUpdate(ctx, { update: typed(258, 1, channelUpdateBody(parts)) }).facts;
  const unknown = facts({ scid: SCID + 1n }).channel_update;
  strictEqual(unknown.is_our_channel, false);
  strictEqual(unknown.direction_ok, false);
  strictEqual(unknown.has_capacity, false);
  strictEqual(unknown.capacity_msat, 0n);
  strictEqual(
    facts({ chain: networkParams("bitcoin").genesisHash }).channel_update.chain_hash_ok,
    false,
  );
  const flags = facts({ messageFlags: 3, channelFlags: 2 }).channel_update;
  strictEqual(flags.dont_forward, true);
  strictEqual(flags.disabled, true);
  strictEqual(facts({ messageFlags: 0 }).gossip.well_formed, false, "must_be_one unset");
  strictEqual(facts({ messageFlags: 5 }).gossip.well_formed, false, "unassigned message flag");
  strictEqual(facts({ channelFlags: 4 }).gossip.well_formed, false, "unassigned channel flag");
  strictEqual(facts({ timestamp: 0 }).gossip.well_formed, false, "timestamp 0");
  strictEqual(facts({ htlcMin: 10n, htlcMax: 9n }).gossip.well_formed, false, "min above max");
  const closed = contextOf(KEYS, { now: NOW, channelByScid: lookup({ ...CHANNEL, closed: true }) });
  strictEqual(facts({}, closed).channel_update.channel_closed, true);
  const stub = contextOf(KEYS, { now: NOW, channelByScid: lookup({ ...CHANNEL, setup: null }) });
  strictEqual(facts({}, stub).channel_update.has_capacity, false);
  const parsed = parseChannelUpdate(concat(channelUpdateBody(), fromHex("abcd")));
  strictEqual(toHex(parsed.excess), "abcd");
  strictEqual(parsed.feeBaseMsat, 1000);
});

/** The signed part of a channel_announcement between us and PEER, sorted as BOLT #7 requires. */
function channelAnnouncementBody(
  options: { swap?: boolean; ourFunding?: Uint8Array; peerFunding?: Uint8Array } = {},
) {
  const ours = { node: KEYS.nodeId, key: options.ourFunding ?? CHANNEL_KEYS.fundingPubkey };
  const theirs = { node: PEER, key: options.peerFunding ?? PEER_FUNDING };
  let [first, second] = compare(ours.node, theirs.node) < 0 ? [ours, theirs] : [theirs, ours];
  if (options.swap) [first, second] = [second, first];
  return concat(
    u16be(1),
    Uint8Array.of(0x01),
    CHAIN,
    u64be(SCID),
    first.node,
    second.node,
    first.key,
    second.key,
  );
}

const ANNOUNCED: AnnouncedChannel = {
  peerId: PEER,
  keys: CHANNEL_KEYS,
  setup: setupWith(PEER_FUNDING, 1),
  closed: false,
};

Deno.test("sign_channel_announcement: node and funding signatures, facts", () => {
  const message = typed(256, 4, channelAnnouncementBody());
  const ctx = { ...CTX, channel: ANNOUNCED };
  const out = signChannelAnnouncement(ctx, { announcement: message });
  strictEqual(out.kind, "sign_channel_announcement");
  strictEqual(SignChannelAnnouncementFacts.safeParse(out.facts).success, true);
  strictEqual(out.facts.gossip.well_formed, true);
  strictEqual(out.facts.gossip.length, message.length - 258);
  deepStrictEqual(out.facts.channel_announcement, {
    chain_hash_ok: true,
    short_channel_id: "700000x1234x1",
    block_height: 700000,
    tx_index: 1234,
    output_index: 1,
    feature_bits: [0],
    node_ids_ordered: true,
    node_id_is_ours: true,
    our_side: compare(KEYS.nodeId, PEER) < 0 ? 1 : 2,
    is_our_channel: true,
    channel_closed: false,
    peer_is_counterparty: true,
    funding_key_is_ours: true,
    counterparty_funding_key_matches: true,
    output_index_matches: true,
    signs_funding_key: true,
    excess_length: 0,
  });
  const sigs = out.release();
  const digest = sha256d(message.subarray(258));
  strictEqual(ecdsaVerify(sigs.nodeSignature, digest, KEYS.nodeId), true);
  strictEqual(ecdsaVerify(sigs.bitcoinSignature, digest, CHANNEL_KEYS.fundingPubkey), true);

  // LDK's unsigned form hashes the same bytes.
  const unsigned = signChannelAnnouncement(ctx, {
    announcement: message.subarray(258),
    unsigned: true,
  });
  strictEqual(unsigned.facts.gossip.unsigned_form, true);
  strictEqual(
    ecdsaVerify(unsigned.release().bitcoinSignature, digest, CHANNEL_KEYS.fundingPubkey),
    true,
  );
});

Deno.test("channel_announcement facts catch wrong order, wrong keys, wrong channel", () => {
  const facts = (body: Uint8Array, channel = ANNOUNCED) =>
    signChannelAnnouncement({ ...CTX, channel }, { announcement: typed(256, 4, body) })
      .facts.channel_announcement;
  const swapped = facts(channelAnnouncementBody({ swap: true }));
  strictEqual(swapped.node_ids_ordered, false);
  strictEqual(swapped.node_id_is_ours, true);
  strictEqual(swapped.funding_key_is_ours, true, "keys follow their nodes");
  const foreignKey = facts(channelAnnouncementBody({ ourFunding: PEER_FUNDING }));
  strictEqual(foreignKey.funding_key_is_ours, false);
  const otherPeer = facts(channelAnnouncementBody(), {
    ...ANNOUNCED,
    peerId: publicKey(new Uint8Array(32).fill(0x77)),
  });
  strictEqual(otherPeer.peer_is_counterparty, false);
  const otherVout = facts(channelAnnouncementBody(), {
    ...ANNOUNCED,
    setup: setupWith(PEER_FUNDING, 0),
  });
  strictEqual(otherVout.output_index_matches, false);
  const otherFunding = facts(channelAnnouncementBody(), {
    ...ANNOUNCED,
    setup: setupWith(publicKey(new Uint8Array(32).fill(0x99)), 1),
  });
  strictEqual(otherFunding.counterparty_funding_key_matches, false);
  const stub = facts(channelAnnouncementBody(), { ...ANNOUNCED, setup: null });
  strictEqual(stub.counterparty_funding_key_matches, false);
  strictEqual(stub.output_index_matches, false);
  const broken = concat(channelAnnouncementBody().subarray(0, 35 + 8 + 66), new Uint8Array(66));
  strictEqual(
    signChannelAnnouncement({ ...CTX, channel: ANNOUNCED }, { announcement: typed(256, 4, broken) })
      .facts.gossip.well_formed,
    false,
    "bitcoin keys that are not points",
  );
});

Deno.test("sign_gossip_message (1006): classifies LDK's unsigned messages", () => {
  const update = channelUpdateBody();
  const node = nodeAnnouncementBody();
  const chan = channelAnnouncementBody();
  strictEqual(classifyUnsignedGossip(CTX, update), "channel_update");
  strictEqual(classifyUnsignedGossip(CTX, node), "node_announcement");
  strictEqual(classifyUnsignedGossip(CTX, chan), "channel_announcement");
  throws(() => classifyUnsignedGossip(CTX, fromHex("0005")), /not a known gossip message/);

  const u = signGossipMessage(CTX, { message: update });
  strictEqual(u.kind, "sign_channel_update");
  strictEqual(SignChannelUpdateFacts.safeParse(u.facts).success, true);
  strictEqual(u.facts.gossip.unsigned_form, true);
  strictEqual(ecdsaVerify(u.release(), sha256d(update), KEYS.nodeId), true);

  const n = signGossipMessage(CTX, { message: node });
  strictEqual(n.kind, "sign_node_announcement");
  strictEqual(SignNodeAnnouncementFacts.safeParse(n.facts).success, true);
  strictEqual(ecdsaVerify(n.release(), sha256d(node), KEYS.nodeId), true);

  const c = signGossipMessage(CTX, { message: chan });
  strictEqual(c.kind, "sign_channel_announcement");
  strictEqual(SignChannelAnnouncementFacts.safeParse(c.facts).success, true);
  const ca = (c.facts as { channel_announcement: Record<string, unknown> }).channel_announcement;
  strictEqual(ca.is_our_channel, true, "found by short channel id");
  strictEqual(ca.funding_key_is_ours, true);
  strictEqual(ca.signs_funding_key, false);
  strictEqual(ecdsaVerify(c.release(), sha256d(chan), KEYS.nodeId), true);

  const lonely = signGossipMessage(contextOf(KEYS, { now: NOW }), { message: chan });
  const lca = (lonely.facts as { channel_announcement: Record<string, unknown> })
    .channel_announcement;
  strictEqual(lca.is_our_channel, false);
  strictEqual(lca.funding_key_is_ours, false);
});

Deno.test("sign_gossip_message (1006): an unmapped announcement must carry our funding key with that peer", () => {
  // LDK asks for the node signature before the funding key's: the short channel id is unmapped.
  const withPeer = (channels: KnownChannel[]): GossipMessageContext => ({
    ...contextOf(KEYS, { now: NOW }),
    channelsWithPeer: (peer) => (equal(peer, PEER) ? channels : []),
  });
  const other = KEYS.channelKeys(ChannelId.fromPeerDbid(PEER, 6n)).fundingPubkey;
  const second: KnownChannel = { ...CHANNEL, holderFundingPubkey: other };
  // Found among our channels with the peer by its funding key: checked as our channel.
  const honest = signGossipMessage(withPeer([second, CHANNEL]), {
    message: channelAnnouncementBody(),
  });
  const ca = (honest.facts as { channel_announcement: Record<string, unknown> })
    .channel_announcement;
  deepStrictEqual(
    [ca.is_our_channel, ca.funding_key_is_ours, ca.counterparty_funding_key_matches],
    [true, true, true],
  );
  strictEqual(ecdsaVerify(honest.release(), sha256d(channelAnnouncementBody()), KEYS.nodeId), true);
  // Our funding key, but another peer funding key than the channel's: the rule sees it.
  const mixed = signGossipMessage(withPeer([CHANNEL]), {
    message: channelAnnouncementBody({ peerFunding: publicKey(new Uint8Array(32).fill(0x32)) }),
  });
  const mca = (mixed.facts as { channel_announcement: Record<string, unknown> })
    .channel_announcement;
  deepStrictEqual([mca.is_our_channel, mca.counterparty_funding_key_matches], [true, false]);
  // A 2-of-2 of keys that are not ours (the attacker's own), with a peer we have channels with
  // or with none: the node key never vouches for it.
  const fake = channelAnnouncementBody({ ourFunding: publicKey(new Uint8Array(32).fill(0x33)) });
  for (const channels of [[CHANNEL, second], []]) {
    throws(
      () => signGossipMessage(withPeer(channels), { message: fake }),
      (e) =>
        e instanceof NodeRequestError && e.code === "unknown-channel" &&
        e.message ===
          "sign_gossip_message: channel_announcement 700000x1234x1: the bitcoin key on our side " +
            "is not our funding key of any channel with that peer",
    );
  }
  // Mapped by short channel id, the announcement is checked against that channel as before.
  const mapped = signGossipMessage(
    { ...withPeer([]), channelByScid: lookup(CHANNEL) },
    { message: fake },
  );
  const pca = (mapped.facts as { channel_announcement: Record<string, unknown> })
    .channel_announcement;
  deepStrictEqual([pca.is_our_channel, pca.funding_key_is_ours], [true, false]);
  // Not our node at either end: no lookup, policy-gossip-our-node refuses it.
  const stranger = publicKey(new Uint8Array(32).fill(0x34));
  const [n1, n2] = compare(stranger, PEER) < 0 ? [stranger, PEER] : [PEER, stranger];
  const theirs = concat(u16be(0), CHAIN, u64be(SCID), n1, n2, PEER_FUNDING, PEER_FUNDING);
  const t = signGossipMessage(withPeer([]), { message: theirs });
  const tca = (t.facts as { channel_announcement: Record<string, unknown> }).channel_announcement;
  deepStrictEqual([tca.node_id_is_ours, tca.is_our_channel], [false, false]);
});

Deno.test("the full-form and unsigned-form signatures of one update are the same", () => {
  const body = channelUpdateBody();
  const full = signChannelUpdate(CTX, { update: typed(258, 1, body) }).release();
  const bare = signGossipMessage(CTX, { message: body }).release();
  strictEqual(toHex(full.subarray(2, 66)), toHex(bare));
});

Deno.test("what is signed is what the facts describe, even if the caller reuses its buffer", () => {
  const message = typed(258, 1, channelUpdateBody());
  const original = message.slice();
  const out = signChannelUpdate(CTX, { update: message });
  message.fill(0xee, 66);
  const signed = out.release();
  strictEqual(toHex(signed.subarray(66)), toHex(original.subarray(66)));
  strictEqual(
    ecdsaVerify(signed.subarray(2, 66), sha256d(original.subarray(66)), KEYS.nodeId),
    true,
  );

  const body = nodeAnnouncementBody();
  const ann = typed(257, 1, body);
  const nodeOut = signNodeAnnouncement(CTX, { announcement: ann });
  ann.fill(0, 66);
  strictEqual(ecdsaVerify(nodeOut.release(), sha256d(body), KEYS.nodeId), true);

  const bare = channelUpdateBody();
  const bareCopy = bare.slice();
  const gossipOut = signGossipMessage(CTX, { message: bare });
  bare.fill(1);
  strictEqual(ecdsaVerify(gossipOut.release(), sha256d(bareCopy), KEYS.nodeId), true);
});
