/**
 * THE message table of the remote-signer protocol: every hsmd message of Core Lightning, the
 * VLS/LDK extensions and the VLS frontend (chain follower) messages, each with its id, its CLN
 * snake_case name (without the `hsmd_` prefix), its fields in wire order with their wire types,
 * and its reply (or replies). The codec (`codec.ts`) is driven by this table alone, and the
 * TypeScript types of decoded messages ({@link HsmdRequest}, {@link HsmdReply}) are computed from
 * it by type-level mapping of the field codecs, so a field added here is decoded, encoded and
 * typed with no other change.
 *
 * Sources: CLN `hsmd/hsmd_wire.csv` (newest stored version, with `hsm_utxo`, init TLVs,
 * `init_reply_failure`, `bip137_sign_message`, `check_bip86_pubkey`, `preapprove_*_check`,
 * `sign_bolt12_2`); VLS `vls-protocol/src/msgs.rs` and `types.csv`; protocol.md §3. Field names
 * are CLN's where CLN defines the message, VLS's (snake_case) otherwise.
 *
 * Two directions, two tables: {@link REQUESTS} (node → signer, ids < 100, 142–149, 10xx, 20xx)
 * and {@link REPLIES} (signer → node: the replies, `signer_error` 3000, and CLN's
 * `hsmstatus_client_bad_request` status message). Id collisions (protocol.md §0), resolved as VLS
 * does:
 * - **20**: CLN `sign_remote_htlc_tx` and LDK `sign_local_htlc_tx_2`. 20 decodes as the CLN
 *   message; the LDK one is in the table marked `shadowedBy` and is reachable only by asking
 *   for it explicitly (`decodeMessage(body, { as: "sign_local_htlc_tx_2" })`).
 * - **1000**: VLS `ping` (a request) and CLN `hsmstatus_client_bad_request` (hsmd → lightningd
 *   on the status fd). They travel in opposite directions, so 1000 is `ping` among requests and
 *   `hsmstatus_client_bad_request` among signer-to-node messages: no ambiguity.
 *
 * @module
 */
import {
  arr,
  arrBE,
  b16,
  b32,
  bip32KeyVersion,
  bool,
  bp,
  bsig,
  type Codec,
  ctx as ctxCodec,
  type Fields,
  h32,
  header80,
  htlc,
  opt,
  outpoint,
  psbt as psbtCodec,
  pt,
  rest,
  rsig,
  sec,
  secrets,
  sig,
  str0,
  str0Secret,
  struct,
  type StructValue,
  tlv,
  tlvs,
  tx,
  u16,
  u32,
  u64,
  u8,
  utxo,
  xkey,
} from "./types.ts";

/** Which implementation defines a message. */
export type Origin = "cln" | "vls" | "ldk";

/** A signer → node message: a reply, or one of the two unsolicited messages. */
export interface ReplyDef<N extends string = string, F extends Fields = Fields> {
  /** The message type. */
  readonly id: number;
  /** CLN snake_case name without the `hsmd_` prefix (VLS names for VLS-only messages). */
  readonly name: N;
  /** Fields in wire order. */
  readonly fields: F;
  /** The codec of the fields (a struct of `fields`). */
  readonly codec: Codec<StructValue<F>>;
  /** Which implementation defines it. */
  readonly origin: Origin;
  /** Sent on its own, not as the answer to a request (`signer_error`, status messages). */
  readonly unsolicited: boolean;
}

/** A node → signer message with its possible replies. */
export interface RequestDef<
  N extends string = string,
  F extends Fields = Fields,
  R extends readonly ReplyDef[] = readonly ReplyDef[],
> {
  /** The message type. */
  readonly id: number;
  /** CLN snake_case name without the `hsmd_` prefix (VLS names for VLS-only messages). */
  readonly name: N;
  /** Fields in wire order. */
  readonly fields: F;
  /** The codec of the fields (a struct of `fields`). */
  readonly codec: Codec<StructValue<F>>;
  /** The replies: the normal one first, then alternatives; empty when no reply is sent. */
  readonly replies: R;
  /** Which implementation defines it. */
  readonly origin: Origin;
  /**
   * Set when another message has the same id and wins when decoding by id (the id-20
   * collision); this one is then decoded only when asked for by name.
   */
  readonly shadowedBy?: string;
}

function reply<const N extends string, const F extends Fields>(
  id: number,
  name: N,
  fields: F,
  meta: { origin?: Origin; unsolicited?: boolean } = {},
): ReplyDef<N, F> {
  return {
    id,
    name,
    fields,
    codec: struct(name, fields),
    origin: meta.origin ?? "cln",
    unsolicited: meta.unsolicited ?? false,
  };
}

function request<
  const N extends string,
  const F extends Fields,
  const R extends readonly ReplyDef[],
>(
  id: number,
  name: N,
  fields: F,
  replies: R,
  meta: { origin?: Origin; shadowedBy?: string } = {},
): RequestDef<N, F, R> {
  const def = {
    id,
    name,
    fields,
    codec: struct(name, fields),
    replies,
    origin: meta.origin ?? "cln",
  };
  return meta.shadowedBy === undefined ? def : { ...def, shadowedBy: meta.shadowedBy };
}

// ---------------------------------------------------------------------------------------------
// Field types used by many messages

/** CLN `bitcoin_tx` in a request: every input must carry its UTXO. */
const ctx = ctxCodec({ requireUtxos: true });
/** A PSBT to be signed: every input must carry its UTXO. */
const psbtIn = psbtCodec({ requireUtxos: true });
/** A PSBT coming back from the signer. */
const psbtOut = psbtCodec({ requireUtxos: false });

// ---------------------------------------------------------------------------------------------
// Replies (signer → node)

const ecdh_resp = reply(100, "ecdh_resp", { ss: sec });
const cannouncement_sig_reply = reply(102, "cannouncement_sig_reply", {
  node_signature: sig,
  bitcoin_signature: sig,
});
const cupdate_sig_reply = reply(103, "cupdate_sig_reply", { cu: b16 });
const sign_any_cannouncement_reply = reply(104, "sign_any_cannouncement_reply", {
  node_signature: sig,
  bitcoin_signature: sig,
});
const sign_commitment_tx_reply = reply(105, "sign_commitment_tx_reply", { sig: bsig });
const node_announcement_sig_reply = reply(106, "node_announcement_sig_reply", { signature: sig });
const sign_withdrawal_reply = reply(107, "sign_withdrawal_reply", { psbt: psbtOut });
const sign_invoice_reply = reply(108, "sign_invoice_reply", { sig: rsig });
const client_hsmfd_reply = reply(109, "client_hsmfd_reply", {});
const get_channel_basepoints_reply = reply(110, "get_channel_basepoints_reply", {
  basepoints: bp,
  funding_pubkey: pt,
});
const sign_tx_reply = reply(112, "sign_tx_reply", { sig: bsig });
const init_reply_v2 = reply(113, "init_reply_v2", { node_id: pt, bip32: xkey, bolt12: pt });
const init_reply_v4 = reply(114, "init_reply_v4", {
  hsm_version: u32,
  hsm_capabilities: arrBE,
  node_id: pt,
  bip32: xkey,
  bolt12: pt,
  tlvs: tlvs("init_reply_v4_tlvs", {
    hsm_secret_type: tlv(1, u8),
    bip86_base: tlv(2, xkey),
  }),
});
const init_reply_failure = reply(115, "init_reply_failure", {
  error_code: u32,
  error_message: str0,
});
const get_per_commitment_point_reply = reply(118, "get_per_commitment_point_reply", {
  per_commitment_point: pt,
  old_commitment_secret: opt(sec),
});
const check_future_secret_reply = reply(122, "check_future_secret_reply", { correct: bool });
const sign_message_reply = reply(123, "sign_message_reply", { sig: rsig });
const get_output_scriptpubkey_reply = reply(124, "get_output_scriptpubkey_reply", { script: b16 });
const sign_bolt12_reply = reply(125, "sign_bolt12_reply", { sig });
/** CLN names the field `rsig`, but it is a plain 64-byte `secp256k1_ecdsa_signature`. */
const sign_option_will_fund_offer_reply = reply(126, "sign_option_will_fund_offer_reply", {
  rsig: sig,
});
const derive_secret_reply = reply(127, "derive_secret_reply", { secret: sec });
const check_pubkey_reply = reply(128, "check_pubkey_reply", { ok: bool });
const new_channel_reply = reply(130, "new_channel_reply", {});
const setup_channel_reply = reply(131, "setup_channel_reply", {});
const check_outpoint_reply = reply(132, "check_outpoint_reply", { is_buried: bool });
const dev_memleak_reply = reply(133, "dev_memleak_reply", { leak: bool });
const forget_channel_reply = reply(134, "forget_channel_reply", {});
const validate_commitment_tx_reply = reply(135, "validate_commitment_tx_reply", {
  old_commitment_secret: opt(sec),
  next_per_commitment_point: pt,
});
const validate_revocation_reply = reply(136, "validate_revocation_reply", {});
const lock_outpoint_reply = reply(137, "lock_outpoint_reply", {});
const preapprove_invoice_reply = reply(138, "preapprove_invoice_reply", { approved: bool });
const preapprove_keysend_reply = reply(139, "preapprove_keysend_reply", { approved: bool });
const revoke_commitment_tx_reply = reply(140, "revoke_commitment_tx_reply", {
  old_commitment_secret: sec,
  next_per_commitment_point: pt,
});
const sign_bolt12_2_reply = reply(141, "sign_bolt12_2_reply", { sig });
const bip137_sign_message_reply = reply(145, "bip137_sign_message_reply", { sig: rsig });
const sign_anchorspend_reply = reply(148, "sign_anchorspend_reply", { psbt: psbtOut });
const sign_htlc_tx_mingle_reply = reply(150, "sign_htlc_tx_mingle_reply", { psbt: psbtOut });
const preapprove_invoice_check_reply = reply(151, "preapprove_invoice_check_reply", {
  approved: bool,
});
const preapprove_keysend_check_reply = reply(152, "preapprove_keysend_check_reply", {
  approved: bool,
});
const check_bip86_pubkey_reply = reply(156, "check_bip86_pubkey_reply", { ok: bool });
const dev_preinit_reply = reply(190, "dev_preinit_reply", { node_id: pt }, { origin: "vls" });
const hsmstatus_client_bad_request = reply(1000, "hsmstatus_client_bad_request", {
  id: pt,
  description: str0,
  msg: b16,
}, { unsolicited: true });
const pong = reply(1100, "pong", { id: u16, message: str0 }, { origin: "vls" });
const sign_gossip_message_reply = reply(1106, "sign_gossip_message_reply", {
  signature: sig,
}, { origin: "ldk" });
const init_2_reply = reply(1111, "init_2_reply", {
  node_id: pt,
  bip32: xkey,
  bolt12: pt,
}, { origin: "ldk" });
const node_info_reply = reply(1112, "node_info_reply", {
  network_name: str0,
  node_id: pt,
  bip32: xkey,
}, { origin: "vls" });
const get_per_commitment_point_2_reply = reply(1118, "get_per_commitment_point_2_reply", {
  point: pt,
}, { origin: "ldk" });
const sign_commitment_tx_with_htlcs_reply = reply(1119, "sign_commitment_tx_with_htlcs_reply", {
  signature: bsig,
  htlc_signatures: arr(bsig),
}, { origin: "ldk" });
const get_secure_random_bytes_reply = reply(1136, "get_secure_random_bytes_reply", {
  data: sec,
}, { origin: "ldk" });
const tip_info_reply = reply(2102, "tip_info_reply", { height: u32, block_hash: h32 }, {
  origin: "vls",
});
const forward_watches_reply = reply(2103, "forward_watches_reply", {
  txids: arr(h32),
  outpoints: arr(outpoint),
}, { origin: "vls" });
const reverse_watches_reply = reply(2104, "reverse_watches_reply", {
  txids: arr(h32),
  outpoints: arr(outpoint),
}, { origin: "vls" });
const add_block_reply = reply(2105, "add_block_reply", {}, { origin: "vls" });
const remove_block_reply = reply(2106, "remove_block_reply", {}, { origin: "vls" });
const get_heartbeat_reply = reply(2108, "get_heartbeat_reply", { heartbeat: b16 }, {
  origin: "vls",
});
const block_chunk_reply = reply(2109, "block_chunk_reply", {}, { origin: "vls" });
/** VLS's only error message; used for orphan blocks (code 401) in answer to `add_block`. */
const signer_error = reply(3000, "signer_error", { code: u16, message: str0 }, {
  origin: "vls",
  unsolicited: true,
});

/** Every signer → node message, by id. */
export const REPLIES = [
  ecdh_resp,
  cannouncement_sig_reply,
  cupdate_sig_reply,
  sign_any_cannouncement_reply,
  sign_commitment_tx_reply,
  node_announcement_sig_reply,
  sign_withdrawal_reply,
  sign_invoice_reply,
  client_hsmfd_reply,
  get_channel_basepoints_reply,
  sign_tx_reply,
  init_reply_v2,
  init_reply_v4,
  init_reply_failure,
  get_per_commitment_point_reply,
  check_future_secret_reply,
  sign_message_reply,
  get_output_scriptpubkey_reply,
  sign_bolt12_reply,
  sign_option_will_fund_offer_reply,
  derive_secret_reply,
  check_pubkey_reply,
  new_channel_reply,
  setup_channel_reply,
  check_outpoint_reply,
  dev_memleak_reply,
  forget_channel_reply,
  validate_commitment_tx_reply,
  validate_revocation_reply,
  lock_outpoint_reply,
  preapprove_invoice_reply,
  preapprove_keysend_reply,
  revoke_commitment_tx_reply,
  sign_bolt12_2_reply,
  bip137_sign_message_reply,
  sign_anchorspend_reply,
  sign_htlc_tx_mingle_reply,
  preapprove_invoice_check_reply,
  preapprove_keysend_check_reply,
  check_bip86_pubkey_reply,
  dev_preinit_reply,
  hsmstatus_client_bad_request,
  pong,
  sign_gossip_message_reply,
  init_2_reply,
  node_info_reply,
  get_per_commitment_point_2_reply,
  sign_commitment_tx_with_htlcs_reply,
  get_secure_random_bytes_reply,
  tip_info_reply,
  forward_watches_reply,
  reverse_watches_reply,
  add_block_reply,
  remove_block_reply,
  get_heartbeat_reply,
  block_chunk_reply,
  signer_error,
] as const;

// ---------------------------------------------------------------------------------------------
// Requests (node → signer)

const devPreinitTlvs = tlvs("dev_preinit_tlvs", {
  // CLN: allocated from 1 upwards.
  fail_preapprove: tlv(1, bool),
  no_preapprove_check: tlv(3, bool),
  warn_on_overgrind: tlv(5, bool),
  // VLS: allocated from 252 downwards.
  allowlist: tlv(249, arr(str0)),
  seed: tlv(250, sec),
  network_name: tlv(251, str0),
  derivation_style: tlv(252, u8),
});

const SIGN_TX = [sign_tx_reply] as const;

/** Every node → signer message, by id (the shadowed id-20 LDK message right after CLN's). */
export const REQUESTS = [
  request(1, "ecdh_req", { point: pt }, [ecdh_resp]),
  request(2, "cannouncement_sig_req", { ca: b16 }, [cannouncement_sig_reply]),
  request(3, "cupdate_sig_req", { cu: b16 }, [cupdate_sig_reply]),
  request(4, "sign_any_cannouncement_req", {
    ca: b16,
    peerid: pt,
    channel_dbid: u64,
  }, [sign_any_cannouncement_reply]),
  request(5, "sign_commitment_tx", {
    peer_id: pt,
    channel_dbid: u64,
    tx: ctx,
    remote_funding_key: pt,
    commit_num: u64,
  }, [sign_commitment_tx_reply]),
  request(6, "node_announcement_sig_req", { announcement: b16 }, [node_announcement_sig_reply]),
  request(7, "sign_withdrawal", { inputs: arr(utxo), psbt: psbtIn }, [sign_withdrawal_reply]),
  request(8, "sign_invoice", { u5bytes: b16, hrp: b16 }, [sign_invoice_reply]),
  request(9, "client_hsmfd", { id: pt, dbid: u64, permissions: u64 }, [client_hsmfd_reply]),
  request(10, "get_channel_basepoints", { peerid: pt, dbid: u64 }, [
    get_channel_basepoints_reply,
  ]),
  request(11, "init", {
    bip32_key_version: bip32KeyVersion,
    chainparams: h32,
    hsm_encryption_key: opt(sec),
    dev_force_privkey: opt(sec),
    dev_force_bip32_seed: opt(sec),
    dev_force_channel_secrets: opt(secrets),
    dev_force_channel_secrets_shaseed: opt(sec),
    hsm_wire_min_version: u32,
    hsm_wire_max_version: u32,
    tlvs: tlvs("init_tlvs", { hsm_passphrase: tlv(1, str0Secret) }),
  }, [init_reply_v4, init_reply_v2, init_reply_failure]),
  request(12, "sign_delayed_payment_to_us", { commit_num: u64, tx: ctx, wscript: b16 }, SIGN_TX),
  request(13, "sign_remote_htlc_to_us", {
    remote_per_commitment_point: pt,
    tx: ctx,
    wscript: b16,
    option_anchor_outputs: bool,
  }, SIGN_TX),
  request(14, "sign_penalty_to_us", { revocation_secret: sec, tx: ctx, wscript: b16 }, SIGN_TX),
  request(16, "sign_local_htlc_tx", {
    commit_num: u64,
    tx: ctx,
    wscript: b16,
    option_anchor_outputs: bool,
  }, SIGN_TX),
  request(18, "get_per_commitment_point", { n: u64 }, [get_per_commitment_point_reply]),
  request(19, "sign_remote_commitment_tx", {
    tx: ctx,
    remote_funding_key: pt,
    remote_per_commit: pt,
    option_static_remotekey: bool,
    commit_num: u64,
    htlcs: arr(htlc),
    feerate: u32,
  }, SIGN_TX),
  request(20, "sign_remote_htlc_tx", {
    tx: ctx,
    wscript: b16,
    remote_per_commit_point: pt,
    option_anchor_outputs: bool,
  }, SIGN_TX),
  request(
    20,
    "sign_local_htlc_tx_2",
    {
      tx,
      input: u32,
      commitment_number: u64,
      offered: bool,
      cltv_expiry: u32,
      htlc_amount_msat: u64,
      payment_hash: h32,
    },
    SIGN_TX,
    { origin: "ldk", shadowedBy: "sign_remote_htlc_tx" },
  ),
  request(21, "sign_mutual_close_tx", { tx: ctx, remote_funding_key: pt }, SIGN_TX),
  request(22, "check_future_secret", { n: u64, commitment_secret: sec }, [
    check_future_secret_reply,
  ]),
  request(23, "sign_message", { msg: b16 }, [sign_message_reply]),
  request(24, "get_output_scriptpubkey", {
    channel_id: u64,
    peer_id: pt,
    commitment_point: opt(pt),
  }, [get_output_scriptpubkey_reply]),
  request(25, "sign_bolt12", {
    messagename: str0,
    fieldname: str0,
    merkleroot: h32,
    publictweak: b16,
  }, [sign_bolt12_reply]),
  request(26, "sign_option_will_fund_offer", {
    funding_pubkey: pt,
    blockheight: u32,
    channel_fee_base_max_msat: u32,
    channel_fee_proportional_basis_max: u16,
  }, [sign_option_will_fund_offer_reply]),
  request(27, "derive_secret", { info: b16 }, [derive_secret_reply]),
  request(28, "check_pubkey", { index: u32, pubkey: pt }, [check_pubkey_reply]),
  request(29, "sign_splice_tx", {
    tx: ctx,
    remote_funding_key: pt,
    input_index: u32,
  }, SIGN_TX),
  request(30, "new_channel", { id: pt, dbid: u64 }, [new_channel_reply]),
  request(31, "setup_channel", {
    is_outbound: bool,
    channel_value: u64,
    push_value: u64,
    funding_txid: h32,
    funding_txout: u16,
    local_to_self_delay: u16,
    local_shutdown_script: b16,
    local_shutdown_wallet_index: opt(u32),
    remote_basepoints: bp,
    remote_funding_pubkey: pt,
    remote_to_self_delay: u16,
    remote_shutdown_script: b16,
    channel_type: b16,
  }, [setup_channel_reply]),
  request(32, "check_outpoint", { funding_txid: h32, funding_txout: u16 }, [
    check_outpoint_reply,
  ]),
  request(33, "dev_memleak", {}, [dev_memleak_reply]),
  request(34, "forget_channel", { id: pt, dbid: u64 }, [forget_channel_reply]),
  request(35, "validate_commitment_tx", {
    tx: ctx,
    htlcs: arr(htlc),
    commit_num: u64,
    feerate: u32,
    sig: bsig,
    htlc_sigs: arr(bsig),
  }, [validate_commitment_tx_reply]),
  request(36, "validate_revocation", { revoke_num: u64, per_commitment_secret: sec }, [
    validate_revocation_reply,
  ]),
  request(37, "lock_outpoint", { funding_txid: h32, funding_txout: u16 }, [lock_outpoint_reply]),
  request(38, "preapprove_invoice", { invstring: str0 }, [preapprove_invoice_reply]),
  request(39, "preapprove_keysend", {
    destination: pt,
    payment_hash: h32,
    amount_msat: u64,
  }, [preapprove_keysend_reply]),
  request(40, "revoke_commitment_tx", { commit_num: u64 }, [revoke_commitment_tx_reply]),
  request(41, "sign_bolt12_2", {
    messagename: str0,
    fieldname: str0,
    merkleroot: h32,
    info: b16,
    publictweak: b16,
  }, [sign_bolt12_2_reply]),
  request(45, "bip137_sign_message", { msg: b16, keyidx: u32 }, [bip137_sign_message_reply]),
  request(51, "preapprove_invoice_check", { invstring: str0, check_only: bool }, [
    preapprove_invoice_check_reply,
  ]),
  request(52, "preapprove_keysend_check", {
    destination: pt,
    payment_hash: h32,
    amount_msat: u64,
    check_only: bool,
  }, [preapprove_keysend_check_reply]),
  request(56, "check_bip86_pubkey", { index: u32, pubkey: pt }, [check_bip86_pubkey_reply]),
  request(
    90,
    "dev_preinit_v1",
    {
      derivation_style: u8,
      network_name: str0,
      seed: opt(sec),
      allowlist: arr(str0),
    },
    [dev_preinit_reply],
    { origin: "vls" },
  ),
  request(99, "dev_preinit", { tlvs: devPreinitTlvs }, []),
  request(142, "sign_any_delayed_payment_to_us", {
    commit_num: u64,
    tx: ctx,
    wscript: b16,
    input: u32,
    peerid: pt,
    channel_dbid: u64,
  }, SIGN_TX),
  request(143, "sign_any_remote_htlc_to_us", {
    remote_per_commitment_point: pt,
    tx: ctx,
    wscript: b16,
    option_anchor_outputs: bool,
    input: u32,
    peerid: pt,
    channel_dbid: u64,
  }, SIGN_TX),
  request(144, "sign_any_penalty_to_us", {
    revocation_secret: sec,
    tx: ctx,
    wscript: b16,
    input: u32,
    peerid: pt,
    channel_dbid: u64,
  }, SIGN_TX),
  request(146, "sign_any_local_htlc_tx", {
    commit_num: u64,
    tx: ctx,
    wscript: b16,
    option_anchor_outputs: bool,
    input: u32,
    peerid: pt,
    channel_dbid: u64,
  }, SIGN_TX),
  request(147, "sign_anchorspend", {
    peerid: pt,
    channel_dbid: u64,
    inputs: arr(utxo),
    psbt: psbtIn,
  }, [sign_anchorspend_reply]),
  request(149, "sign_htlc_tx_mingle", {
    peerid: pt,
    channel_dbid: u64,
    inputs: arr(utxo),
    psbt: psbtIn,
  }, [sign_htlc_tx_mingle_reply]),
  request(1000, "ping", { id: u16, message: str0 }, [pong], { origin: "vls" }),
  request(1005, "sign_local_commitment_tx_2", { commitment_number: u64 }, [
    sign_commitment_tx_reply,
  ], { origin: "ldk" }),
  request(1006, "sign_gossip_message", { message: b16 }, [sign_gossip_message_reply], {
    origin: "ldk",
  }),
  request(
    1011,
    "init_2",
    {
      derivation_style: u8,
      network_name: str0,
      dev_seed: opt(sec),
      dev_allowlist: arr(str0),
    },
    [init_2_reply],
    { origin: "ldk" },
  ),
  request(1012, "node_info", {}, [node_info_reply], { origin: "vls" }),
  request(1018, "get_per_commitment_point_2", { commitment_number: u64 }, [
    get_per_commitment_point_2_reply,
  ], { origin: "ldk" }),
  request(
    1019,
    "sign_remote_commitment_tx_2",
    {
      remote_per_commitment_point: pt,
      commitment_number: u64,
      feerate: u32,
      to_local_value_sat: u64,
      to_remote_value_sat: u64,
      htlcs: arr(htlc),
    },
    [sign_commitment_tx_with_htlcs_reply],
    { origin: "ldk" },
  ),
  request(
    1021,
    "sign_mutual_close_tx_2",
    {
      to_local_value_sat: u64,
      to_remote_value_sat: u64,
      local_script: b16,
      remote_script: b16,
      local_wallet_path_hint: arrBE,
    },
    SIGN_TX,
    { origin: "ldk" },
  ),
  request(
    1035,
    "validate_commitment_tx_2",
    {
      commitment_number: u64,
      feerate: u32,
      to_local_value_sat: u64,
      to_remote_value_sat: u64,
      htlcs: arr(htlc),
      signature: bsig,
      htlc_signatures: arr(bsig),
    },
    [validate_commitment_tx_reply],
    { origin: "ldk" },
  ),
  request(1036, "get_secure_random_bytes", {}, [get_secure_random_bytes_reply], {
    origin: "ldk",
  }),
  request(2002, "tip_info", {}, [tip_info_reply], { origin: "vls" }),
  request(2003, "forward_watches", {}, [forward_watches_reply], { origin: "vls" }),
  request(2004, "reverse_watches", {}, [reverse_watches_reply], { origin: "vls" }),
  request(
    2005,
    "add_block",
    {
      header: b16,
      /** txoo `TxoProof`, consensus-encoded with no length: the rest of the message. */
      unspent_proof: opt(rest),
    },
    [add_block_reply, signer_error],
    { origin: "vls" },
  ),
  request(
    2006,
    "remove_block",
    {
      unspent_proof: opt(b32),
      header: header80,
      prev_filter_header: h32,
    },
    [remove_block_reply],
    { origin: "vls" },
  ),
  request(2008, "get_heartbeat", {}, [get_heartbeat_reply], { origin: "vls" }),
  request(2009, "block_chunk", { hash: h32, offset: u32, content: b16 }, [block_chunk_reply], {
    origin: "vls",
  }),
] as const;

// ---------------------------------------------------------------------------------------------
// Types derived from the table

/** Flattens an intersection of object types into one object type (for readable hovers). */
export type Simplify<T> = { [K in keyof T]: T[K] } & unknown;

/** The decoded form of a table entry: `{ type: name, ...fields }`. */
export type MessageOf<D> = D extends { readonly name: infer N; readonly fields: infer F }
  ? F extends Fields ? Simplify<{ type: N } & StructValue<F>> : never
  : never;

/** A decoded node → signer message: a discriminated union on `type`. */
export type HsmdRequest = MessageOf<typeof REQUESTS[number]>;
/** A decoded signer → node message: a discriminated union on `type`. */
export type HsmdReply = MessageOf<typeof REPLIES[number]>;
/** Every request name. */
export type RequestName = HsmdRequest["type"];
/** Every reply name. */
export type ReplyName = HsmdReply["type"];
/** The decoded request called `N`. */
export type RequestOf<N extends RequestName> = Extract<HsmdRequest, { type: N }>;
/** The decoded reply called `N`. */
export type ReplyOf<N extends ReplyName> = Extract<HsmdReply, { type: N }>;
/** The replies request `N` may receive (normal first, then alternatives). */
export type ReplyFor<N extends RequestName> = MessageOf<
  Extract<typeof REQUESTS[number], { readonly name: N }>["replies"][number]
>;

// ---------------------------------------------------------------------------------------------
// Lookups, and the table's own consistency checks (run once at load)

const requestsById = new Map<number, RequestDef>();
const requestsByName = new Map<string, RequestDef>();
const repliesById = new Map<number, ReplyDef>();
const repliesByName = new Map<string, ReplyDef>();

function lastOnly(def: { name: string; fields: Fields }): void {
  const names = Object.keys(def.fields);
  names.forEach((k, i) => {
    const spec = def.fields[k].spec;
    const open = spec.kind === "tlvs" || spec.kind === "rest" ||
      (spec.kind === "opt" && spec.inner.spec.kind === "rest");
    if (open && i !== names.length - 1) {
      throw new Error(`message table: ${def.name}.${k} reads to the end but is not last`);
    }
  });
}

for (const def of REPLIES as readonly ReplyDef[]) {
  if (repliesById.has(def.id) || repliesByName.has(def.name)) {
    throw new Error(`message table: duplicate reply ${def.id} ${def.name}`);
  }
  lastOnly(def);
  repliesById.set(def.id, def);
  repliesByName.set(def.name, def);
}
for (const def of REQUESTS as readonly RequestDef[]) {
  if (requestsByName.has(def.name)) throw new Error(`message table: duplicate ${def.name}`);
  lastOnly(def);
  requestsByName.set(def.name, def);
  for (const r of def.replies) {
    if (repliesByName.get(r.name) !== r) {
      throw new Error(`message table: ${def.name} replies with ${r.name}, not in REPLIES`);
    }
  }
  if (def.shadowedBy === undefined) {
    if (requestsById.has(def.id)) throw new Error(`message table: duplicate request id ${def.id}`);
    requestsById.set(def.id, def);
  }
}
for (const def of REQUESTS as readonly RequestDef[]) {
  if (def.shadowedBy !== undefined && requestsById.get(def.id)?.name !== def.shadowedBy) {
    throw new Error(`message table: ${def.name} is not shadowed by ${def.shadowedBy}`);
  }
}

/** The request decoded for type `id` (the CLN message on the id-20 collision), if any. */
export function requestById(id: number): RequestDef | undefined {
  return requestsById.get(id);
}

/** The request called `name` (including the shadowed `sign_local_htlc_tx_2`), if any. */
export function requestByName(name: string): RequestDef | undefined {
  return requestsByName.get(name);
}

/** The signer → node message of type `id`, if any. */
export function replyById(id: number): ReplyDef | undefined {
  return repliesById.get(id);
}

/** The signer → node message called `name`, if any. */
export function replyByName(name: string): ReplyDef | undefined {
  return repliesByName.get(name);
}

/**
 * One line describing a message in protocol.md's notation, e.g.
 * `check_pubkey(28): index u32, pubkey pt → check_pubkey_reply(128): ok bool`.
 */
export function describeMessage(def: RequestDef | ReplyDef): string {
  const fields = (d: { fields: Fields }) =>
    Object.entries(d.fields).map(([k, c]) => `${k} ${c.name}`).join(", ") || "–";
  const head = `${def.name}(${def.id}): ${fields(def)}`;
  if (!("replies" in def)) return head;
  if (def.replies.length === 0) return `${head} → (no reply)`;
  return `${head} → ${def.replies.map((r) => `${r.name}(${r.id}): ${fields(r)}`).join(" | ")}`;
}
