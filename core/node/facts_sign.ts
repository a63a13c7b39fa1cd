/**
 * Facts of the node-level signing kinds (gossip, invoices, signed messages, ECDH, BOLT-12,
 * `derive_secret`), as zod schemas; conventions as in core/channel/facts.ts (units in metadata,
 * bytes as lower-case hex marked `type: "bytes"`, every field always present, no secrets).
 *
 * Times are seconds since the epoch (unit `seconds`); `now` is the signer's clock and
 * `ahead_of_now` is `timestamp - now` (negative when the timestamp is in the past), so a rule can
 * bound how far in the future a message may be dated.
 *
 * The three gossip kinds (`sign_node_announcement`, `sign_channel_update`,
 * `sign_channel_announcement`) are used whichever message carried the request: CLN's dedicated
 * messages (6, 3, 2/4) or VLS/LDK's generic `SignGossipMessage` (1006), whose type the signer
 * recognises; `gossip.unsigned_form` tells them apart. Rules on gossip thus apply to both paths.
 *
 * @module
 */
import { z } from "zod";
import { blocks, bytes, int, msat } from "../channel/facts.ts";

/** A time or duration in seconds. */
export const seconds = (): z.ZodNumber => z.number().int().meta({ unit: "seconds" });

/** The gossip message types the signer signs. */
export const GOSSIP_TYPE_NAMES = [
  "channel_announcement",
  "node_announcement",
  "channel_update",
] as const;

/** What every gossip kind says about the message itself. */
export const GossipFacts = z.object({
  /** The message type (BOLT #7). */
  type: z.enum(GOSSIP_TYPE_NAMES),
  /**
   * Every field a BOLT #7 writer MUST set correctly is (see each kind's parser): for example
   * `must_be_one` set and no unassigned flag bits (channel_update), valid UTF-8 alias and
   * well-formed ascending address descriptors (node_announcement), four valid points
   * (channel_announcement).
   */
  well_formed: z.boolean(),
  /** Bytes covered by the signature. */
  length: int(),
  /** It came as LDK's unsigned message (VLS `SignGossipMessage`, 1006), not CLN's full message. */
  unsigned_form: z.boolean(),
});

/** A `node_announcement` we sign (CLN 6, or 1006). */
export const NodeAnnouncementFacts = z.object({
  /** `node_id` is our node id. */
  node_id_is_ours: z.boolean(),
  timestamp: seconds(),
  now: seconds(),
  /** `timestamp - now`. */
  ahead_of_now: seconds(),
  /** The set feature bits, ascending (BOLT #9 numbering). */
  feature_bits: z.array(int()),
  /** The alias up to its first zero byte, decoded as UTF-8 ("" when it is not valid UTF-8). */
  alias: z.string(),
  rgb_color: bytes(),
  /** Address descriptors parsed (the unknown one that stops parsing is not counted). */
  address_count: int(),
  ipv4_count: int(),
  ipv6_count: int(),
  /** Deprecated Tor v2 descriptors (type 3). */
  torv2_count: int(),
  torv3_count: int(),
  dns_count: int(),
  /** Parsing stopped at a descriptor of an unknown type. */
  unknown_address_type: z.boolean(),
  /** Bytes after the addresses (TLVs such as `option_will_fund`). */
  excess_length: int(),
});

/** A `channel_update` we sign (CLN 3, or 1006). */
export const ChannelUpdateFacts = z.object({
  /** `chain_hash` is our network's genesis hash. */
  chain_hash_ok: z.boolean(),
  /** `block x tx x output`, e.g. `539268x845x1`. */
  short_channel_id: z.string(),
  block_height: blocks(),
  tx_index: int(),
  output_index: int(),
  /** The short channel id is one of our channels (the service's lookup found it). */
  is_our_channel: z.boolean(),
  /** That channel is closed (false when unknown). */
  channel_closed: z.boolean(),
  /** The `direction` bit of `channel_flags`. */
  direction: int(),
  /**
   * The direction bit says we are the side we are: 0 when our node id sorts before the peer's,
   * 1 otherwise (false when the channel is unknown).
   */
  direction_ok: z.boolean(),
  disabled: z.boolean(),
  dont_forward: z.boolean(),
  timestamp: seconds(),
  now: seconds(),
  ahead_of_now: seconds(),
  cltv_expiry_delta: blocks(),
  htlc_minimum_msat: msat(),
  htlc_maximum_msat: msat(),
  fee_base_msat: msat(),
  fee_proportional_millionths: int(),
  /** The channel's capacity is known (a set-up channel of ours). */
  has_capacity: z.boolean(),
  /** The channel's capacity (0 when unknown). */
  capacity_msat: msat(),
  /** Bytes after `htlc_maximum_msat`. */
  excess_length: int(),
});

/** A `channel_announcement` we sign (CLN 2/4 with the funding key, or 1006 node key only). */
export const ChannelAnnouncementFacts = z.object({
  chain_hash_ok: z.boolean(),
  short_channel_id: z.string(),
  block_height: blocks(),
  tx_index: int(),
  output_index: int(),
  feature_bits: z.array(int()),
  /** `node_id_1` sorts strictly before `node_id_2` (BOLT #7 MUST). */
  node_ids_ordered: z.boolean(),
  /** Our node id is `node_id_1` or `node_id_2`. */
  node_id_is_ours: z.boolean(),
  /** 1 or 2: which node we are; 0 when neither. */
  our_side: int(),
  /** The channel is one of ours (named by the request or found by short channel id). */
  is_our_channel: z.boolean(),
  channel_closed: z.boolean(),
  /** The other node id is the channel's peer. */
  peer_is_counterparty: z.boolean(),
  /** The `bitcoin_key` on our side is our funding key of the channel. */
  funding_key_is_ours: z.boolean(),
  /** The `bitcoin_key` on the other side is the peer's funding key from the channel setup. */
  counterparty_funding_key_matches: z.boolean(),
  /** The short channel id's output index is the channel's funding output index. */
  output_index_matches: z.boolean(),
  /** The reply includes a signature with our funding key (CLN 2/4), not only the node key. */
  signs_funding_key: z.boolean(),
  excess_length: int(),
});

/** `sign_node_announcement`. */
export const SignNodeAnnouncementFacts = z.object({
  gossip: GossipFacts,
  node_announcement: NodeAnnouncementFacts,
});

/** `sign_channel_update`. */
export const SignChannelUpdateFacts = z.object({
  gossip: GossipFacts,
  channel_update: ChannelUpdateFacts,
});

/** `sign_channel_announcement`. */
export const SignChannelAnnouncementFacts = z.object({
  gossip: GossipFacts,
  channel_announcement: ChannelAnnouncementFacts,
});

/** `sign_invoice` (CLN 8, LDK `sign_invoice`): a BOLT #11 invoice we issue. */
export const SignInvoiceFacts = z.object({
  invoice: z.object({
    /**
     * BOLT #11 writer MUSTs: exactly one valid `p`; exactly one `d` (valid UTF-8) or exactly one
     * `h`, not both; a valid `n` if present; an `s` exactly when the `payment_secret` feature is
     * set; a positive amount if present.
     */
    well_formed: z.boolean(),
    /** The currency prefix after `ln` (`bc`, `tb`, `tbs`, `bcrt`). */
    currency: z.string(),
    /** The prefix is our network's. */
    network_ok: z.boolean(),
    has_amount: z.boolean(),
    /** The amount (0 when absent). */
    amount_msat: msat(),
    payment_hash: bytes(),
    /** The invoice's `timestamp`. */
    created_at: seconds(),
    now: seconds(),
    /** `created_at - now`. */
    ahead_of_now: seconds(),
    /** The `x` field, or the default 3600. */
    expiry: seconds(),
    /** `created_at + expiry`. */
    expires_at: seconds(),
    has_min_final_cltv_expiry: z.boolean(),
    /** The `c` field, or the default 18. */
    min_final_cltv_expiry: blocks(),
    /** An `n` (payee) field is present. */
    has_payee: z.boolean(),
    /** The payee field is absent or is our node id. */
    payee_ok: z.boolean(),
    has_description: z.boolean(),
    description_length: int(),
    has_description_hash: z.boolean(),
    has_payment_secret: z.boolean(),
    feature_bits: z.array(int()),
    fallback_count: int(),
    route_hint_count: int(),
    /** We already issued an invoice with this payment hash. */
    already_issued: z.boolean(),
    /** ... and it is this very invoice (a retry). */
    same_as_issued: z.boolean(),
    /** SHA256 of the signed data: identifies the invoice in the audit log. */
    invoice_hash: bytes(),
  }),
});

/** `sign_message` (CLN 23): a "Lightning Signed Message:" signature with the node key. */
export const SignMessageFacts = z.object({
  message: z.object({
    length: int(),
    /** The message is valid UTF-8 text. */
    is_utf8: z.boolean(),
  }),
});

/** `ecdh` (CLN 1): a shared secret with the node key (BOLT #8 handshakes, BOLT #4 onions). */
export const EcdhFacts = z.object({
  ecdh: z.object({
    /** The other party's point. */
    point: bytes(),
    /** The point is our own node id. */
    is_own_node_id: z.boolean(),
  }),
});

/** `derive_secret` (CLN 27, `makesecret`). */
export const DeriveSecretFacts = z.object({
  derive_secret: z.object({
    info: bytes(),
    info_length: int(),
    /** `info` as text when it is printable ASCII, "" otherwise. */
    info_text: z.string(),
    /** `info` is one CLN is known to use ("bolt12-invoice-base", "node-alias-base", ...). */
    info_known: z.boolean(),
  }),
});

/** `sign_bolt12` (CLN 25 and 41): a BIP-340 signature over a BOLT #12 merkle root. */
export const SignBolt12Facts = z.object({
  bolt12: z.object({
    /** 1 for CLN 25 (`sign_bolt12`), 2 for CLN 41 (`sign_bolt12_2`). */
    version: int(),
    /** The TLV stream signed: "invoice", "invoice_request", ... */
    messagename: z.string(),
    /** The signature field: "signature", ... */
    fieldname: z.string(),
    /** The (messagename, fieldname) pair is a signature this node legitimately makes. */
    known_field: z.boolean(),
    /** A public tweak was given. */
    has_tweak: z.boolean(),
    tweak_length: int(),
    /** The signing key: "node", "bolt12" (v1 tweaked) or "alias" (v2 tweaked). */
    key: z.enum(["node", "bolt12", "alias"]),
    /** v2: the HKDF info naming the alias base secret ("" in v1). */
    info_text: z.string(),
    /** v2: `info` is "node-alias-base" (the only base CLN uses); false in v1. */
    info_known: z.boolean(),
  }),
});

/** The node signing kinds of this module and their schemas. */
export const SIGN_FACT_KINDS = {
  sign_node_announcement: SignNodeAnnouncementFacts,
  sign_channel_update: SignChannelUpdateFacts,
  sign_channel_announcement: SignChannelAnnouncementFacts,
  sign_invoice: SignInvoiceFacts,
  sign_message: SignMessageFacts,
  ecdh: EcdhFacts,
  derive_secret: DeriveSecretFacts,
  sign_bolt12: SignBolt12Facts,
} as const;

/** What each kind is (for the registry's descriptions). */
export const SIGN_KIND_DESCRIPTIONS: Record<keyof typeof SIGN_FACT_KINDS, string> = {
  sign_node_announcement: "sign our node_announcement (CLN 6, or LDK via 1006)",
  sign_channel_update: "sign a channel_update of one of our channels (CLN 3, or LDK via 1006)",
  sign_channel_announcement: "sign a channel_announcement (CLN 2/4 with the funding key, or 1006)",
  sign_invoice: "sign a BOLT #11 invoice we issue (CLN 8)",
  sign_message: 'sign a "Lightning Signed Message:" (CLN 23, signmessage)',
  ecdh: "compute an ECDH shared secret with the node key (CLN 1)",
  derive_secret: "derive a named secret from the seed (CLN 27, makesecret)",
  sign_bolt12: "sign a BOLT #12 invoice or invoice request (CLN 25, 41)",
};

/** See {@link GossipFacts}. */
export type GossipFactsT = z.infer<typeof GossipFacts>;
/** See {@link NodeAnnouncementFacts}. */
export type NodeAnnouncementFactsT = z.infer<typeof NodeAnnouncementFacts>;
/** See {@link ChannelUpdateFacts}. */
export type ChannelUpdateFactsT = z.infer<typeof ChannelUpdateFacts>;
/** See {@link ChannelAnnouncementFacts}. */
export type ChannelAnnouncementFactsT = z.infer<typeof ChannelAnnouncementFacts>;
/** See {@link SignNodeAnnouncementFacts}. */
export type SignNodeAnnouncementFactsT = z.infer<typeof SignNodeAnnouncementFacts>;
/** See {@link SignChannelUpdateFacts}. */
export type SignChannelUpdateFactsT = z.infer<typeof SignChannelUpdateFacts>;
/** See {@link SignChannelAnnouncementFacts}. */
export type SignChannelAnnouncementFactsT = z.infer<typeof SignChannelAnnouncementFacts>;
/** See {@link SignInvoiceFacts}. */
export type SignInvoiceFactsT = z.infer<typeof SignInvoiceFacts>;
/** See {@link SignMessageFacts}. */
export type SignMessageFactsT = z.infer<typeof SignMessageFacts>;
/** See {@link EcdhFacts}. */
export type EcdhFactsT = z.infer<typeof EcdhFacts>;
/** See {@link DeriveSecretFacts}. */
export type DeriveSecretFactsT = z.infer<typeof DeriveSecretFacts>;
/** See {@link SignBolt12Facts}. */
export type SignBolt12FactsT = z.infer<typeof SignBolt12Facts>;
