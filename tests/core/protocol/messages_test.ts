/**
 * THE message table: its size, that every message of protocol.md §3.1–§3.3 is in it with the
 * field list verified against CLN's hsmd_wire.csv and VLS's msgs.rs (the listing below, in
 * protocol.md's notation), the id collisions, and that the TypeScript types derived from the
 * table are exact.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  describeMessage,
  type HsmdReply,
  type HsmdRequest,
  REPLIES,
  replyById,
  replyByName,
  type ReplyDef,
  type ReplyFor,
  type ReplyOf,
  requestById,
  requestByName,
  type RequestDef,
  type RequestName,
  type RequestOf,
  REQUESTS,
} from "../../../core/protocol/messages.ts";
import type { BitcoinSignature, Ctx } from "../../../core/protocol/types.ts";
import type { SecretBytes } from "../../../core/crypto/mod.ts";

/** Every request, as `describeMessage` prints it (checked field by field against the sources). */
const LISTING = [
  "ecdh_req(1): point pt → ecdh_resp(100): ss sec",
  "cannouncement_sig_req(2): ca b16 → cannouncement_sig_reply(102): node_signature sig, bitcoin_signature sig",
  "cupdate_sig_req(3): cu b16 → cupdate_sig_reply(103): cu b16",
  "sign_any_cannouncement_req(4): ca b16, peerid pt, channel_dbid u64 → sign_any_cannouncement_reply(104): node_signature sig, bitcoin_signature sig",
  "sign_commitment_tx(5): peer_id pt, channel_dbid u64, tx ctx, remote_funding_key pt, commit_num u64 → sign_commitment_tx_reply(105): sig bsig",
  "node_announcement_sig_req(6): announcement b16 → node_announcement_sig_reply(106): signature sig",
  "sign_withdrawal(7): inputs arr<utxo>, psbt psbt → sign_withdrawal_reply(107): psbt psbt",
  "sign_invoice(8): u5bytes b16, hrp b16 → sign_invoice_reply(108): sig rsig",
  "client_hsmfd(9): id pt, dbid u64, permissions u64 → client_hsmfd_reply(109): –",
  "get_channel_basepoints(10): peerid pt, dbid u64 → get_channel_basepoints_reply(110): basepoints bp, funding_pubkey pt",
  "init(11): bip32_key_version bip32_key_version, chainparams h32, hsm_encryption_key opt<sec>, dev_force_privkey opt<sec>, dev_force_bip32_seed opt<sec>, dev_force_channel_secrets opt<secrets>, dev_force_channel_secrets_shaseed opt<sec>, hsm_wire_min_version u32, hsm_wire_max_version u32, tlvs init_tlvs → init_reply_v4(114): hsm_version u32, hsm_capabilities arrBE<u32>, node_id pt, bip32 xkey, bolt12 pt, tlvs init_reply_v4_tlvs | init_reply_v2(113): node_id pt, bip32 xkey, bolt12 pt | init_reply_failure(115): error_code u32, error_message str0",
  "sign_delayed_payment_to_us(12): commit_num u64, tx ctx, wscript b16 → sign_tx_reply(112): sig bsig",
  "sign_remote_htlc_to_us(13): remote_per_commitment_point pt, tx ctx, wscript b16, option_anchor_outputs bool → sign_tx_reply(112): sig bsig",
  "sign_penalty_to_us(14): revocation_secret sec, tx ctx, wscript b16 → sign_tx_reply(112): sig bsig",
  "sign_local_htlc_tx(16): commit_num u64, tx ctx, wscript b16, option_anchor_outputs bool → sign_tx_reply(112): sig bsig",
  "get_per_commitment_point(18): n u64 → get_per_commitment_point_reply(118): per_commitment_point pt, old_commitment_secret opt<sec>",
  "sign_remote_commitment_tx(19): tx ctx, remote_funding_key pt, remote_per_commit pt, option_static_remotekey bool, commit_num u64, htlcs arr<htlc>, feerate u32 → sign_tx_reply(112): sig bsig",
  "sign_remote_htlc_tx(20): tx ctx, wscript b16, remote_per_commit_point pt, option_anchor_outputs bool → sign_tx_reply(112): sig bsig",
  "sign_local_htlc_tx_2(20): tx tx, input u32, commitment_number u64, offered bool, cltv_expiry u32, htlc_amount_msat u64, payment_hash h32 → sign_tx_reply(112): sig bsig",
  "sign_mutual_close_tx(21): tx ctx, remote_funding_key pt → sign_tx_reply(112): sig bsig",
  "check_future_secret(22): n u64, commitment_secret sec → check_future_secret_reply(122): correct bool",
  "sign_message(23): msg b16 → sign_message_reply(123): sig rsig",
  "get_output_scriptpubkey(24): channel_id u64, peer_id pt, commitment_point opt<pt> → get_output_scriptpubkey_reply(124): script b16",
  "sign_bolt12(25): messagename str0, fieldname str0, merkleroot h32, publictweak b16 → sign_bolt12_reply(125): sig sig",
  "sign_option_will_fund_offer(26): funding_pubkey pt, blockheight u32, channel_fee_base_max_msat u32, channel_fee_proportional_basis_max u16 → sign_option_will_fund_offer_reply(126): rsig sig",
  "derive_secret(27): info b16 → derive_secret_reply(127): secret sec",
  "check_pubkey(28): index u32, pubkey pt → check_pubkey_reply(128): ok bool",
  "sign_splice_tx(29): tx ctx, remote_funding_key pt, input_index u32 → sign_tx_reply(112): sig bsig",
  "new_channel(30): id pt, dbid u64 → new_channel_reply(130): –",
  "setup_channel(31): is_outbound bool, channel_value u64, push_value u64, funding_txid h32, funding_txout u16, local_to_self_delay u16, local_shutdown_script b16, local_shutdown_wallet_index opt<u32>, remote_basepoints bp, remote_funding_pubkey pt, remote_to_self_delay u16, remote_shutdown_script b16, channel_type b16 → setup_channel_reply(131): –",
  "check_outpoint(32): funding_txid h32, funding_txout u16 → check_outpoint_reply(132): is_buried bool",
  "dev_memleak(33): – → dev_memleak_reply(133): leak bool",
  "forget_channel(34): id pt, dbid u64 → forget_channel_reply(134): –",
  "validate_commitment_tx(35): tx ctx, htlcs arr<htlc>, commit_num u64, feerate u32, sig bsig, htlc_sigs arr<bsig> → validate_commitment_tx_reply(135): old_commitment_secret opt<sec>, next_per_commitment_point pt",
  "validate_revocation(36): revoke_num u64, per_commitment_secret sec → validate_revocation_reply(136): –",
  "lock_outpoint(37): funding_txid h32, funding_txout u16 → lock_outpoint_reply(137): –",
  "preapprove_invoice(38): invstring str0 → preapprove_invoice_reply(138): approved bool",
  "preapprove_keysend(39): destination pt, payment_hash h32, amount_msat u64 → preapprove_keysend_reply(139): approved bool",
  "revoke_commitment_tx(40): commit_num u64 → revoke_commitment_tx_reply(140): old_commitment_secret sec, next_per_commitment_point pt",
  "sign_bolt12_2(41): messagename str0, fieldname str0, merkleroot h32, info b16, publictweak b16 → sign_bolt12_2_reply(141): sig sig",
  "bip137_sign_message(45): msg b16, keyidx u32 → bip137_sign_message_reply(145): sig rsig",
  "preapprove_invoice_check(51): invstring str0, check_only bool → preapprove_invoice_check_reply(151): approved bool",
  "preapprove_keysend_check(52): destination pt, payment_hash h32, amount_msat u64, check_only bool → preapprove_keysend_check_reply(152): approved bool",
  "check_bip86_pubkey(56): index u32, pubkey pt → check_bip86_pubkey_reply(156): ok bool",
  "dev_preinit_v1(90): derivation_style u8, network_name str0, seed opt<sec>, allowlist arr<str0> → dev_preinit_reply(190): node_id pt",
  "dev_preinit(99): tlvs dev_preinit_tlvs → (no reply)",
  "sign_any_delayed_payment_to_us(142): commit_num u64, tx ctx, wscript b16, input u32, peerid pt, channel_dbid u64 → sign_tx_reply(112): sig bsig",
  "sign_any_remote_htlc_to_us(143): remote_per_commitment_point pt, tx ctx, wscript b16, option_anchor_outputs bool, input u32, peerid pt, channel_dbid u64 → sign_tx_reply(112): sig bsig",
  "sign_any_penalty_to_us(144): revocation_secret sec, tx ctx, wscript b16, input u32, peerid pt, channel_dbid u64 → sign_tx_reply(112): sig bsig",
  "sign_any_local_htlc_tx(146): commit_num u64, tx ctx, wscript b16, option_anchor_outputs bool, input u32, peerid pt, channel_dbid u64 → sign_tx_reply(112): sig bsig",
  "sign_anchorspend(147): peerid pt, channel_dbid u64, inputs arr<utxo>, psbt psbt → sign_anchorspend_reply(148): psbt psbt",
  "sign_htlc_tx_mingle(149): peerid pt, channel_dbid u64, inputs arr<utxo>, psbt psbt → sign_htlc_tx_mingle_reply(150): psbt psbt",
  "ping(1000): id u16, message str0 → pong(1100): id u16, message str0",
  "sign_local_commitment_tx_2(1005): commitment_number u64 → sign_commitment_tx_reply(105): sig bsig",
  "sign_gossip_message(1006): message b16 → sign_gossip_message_reply(1106): signature sig",
  "init_2(1011): derivation_style u8, network_name str0, dev_seed opt<sec>, dev_allowlist arr<str0> → init_2_reply(1111): node_id pt, bip32 xkey, bolt12 pt",
  "node_info(1012): – → node_info_reply(1112): network_name str0, node_id pt, bip32 xkey",
  "get_per_commitment_point_2(1018): commitment_number u64 → get_per_commitment_point_2_reply(1118): point pt",
  "sign_remote_commitment_tx_2(1019): remote_per_commitment_point pt, commitment_number u64, feerate u32, to_local_value_sat u64, to_remote_value_sat u64, htlcs arr<htlc> → sign_commitment_tx_with_htlcs_reply(1119): signature bsig, htlc_signatures arr<bsig>",
  "sign_mutual_close_tx_2(1021): to_local_value_sat u64, to_remote_value_sat u64, local_script b16, remote_script b16, local_wallet_path_hint arrBE<u32> → sign_tx_reply(112): sig bsig",
  "validate_commitment_tx_2(1035): commitment_number u64, feerate u32, to_local_value_sat u64, to_remote_value_sat u64, htlcs arr<htlc>, signature bsig, htlc_signatures arr<bsig> → validate_commitment_tx_reply(135): old_commitment_secret opt<sec>, next_per_commitment_point pt",
  "get_secure_random_bytes(1036): – → get_secure_random_bytes_reply(1136): data sec",
  "tip_info(2002): – → tip_info_reply(2102): height u32, block_hash h32",
  "forward_watches(2003): – → forward_watches_reply(2103): txids arr<h32>, outpoints arr<outpoint>",
  "reverse_watches(2004): – → reverse_watches_reply(2104): txids arr<h32>, outpoints arr<outpoint>",
  "add_block(2005): header b16, unspent_proof opt<rest> → add_block_reply(2105): – | signer_error(3000): code u16, message str0",
  "remove_block(2006): unspent_proof opt<b32>, header header80, prev_filter_header h32 → remove_block_reply(2106): –",
  "get_heartbeat(2008): – → get_heartbeat_reply(2108): heartbeat b16",
  "block_chunk(2009): hash h32, offset u32, content b16 → block_chunk_reply(2109): –",
];

Deno.test("the table lists every request with its fields and replies", () => {
  deepStrictEqual(REQUESTS.map((d) => describeMessage(d)), LISTING);
});

Deno.test("table size: 69 requests (209 fields), 57 signer messages (74 fields)", () => {
  const fieldCount = (defs: readonly { fields: object }[]) =>
    defs.reduce((n, d) => n + Object.keys(d.fields).length, 0);
  strictEqual(REQUESTS.length, 69);
  strictEqual(fieldCount(REQUESTS), 209);
  strictEqual(REPLIES.length, 57);
  strictEqual(fieldCount(REPLIES), 74);
});

Deno.test("every id of protocol.md §3.1, §3.2 and §3.3 is in the table", () => {
  const requests = [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    16,
    18,
    19,
    20,
    21,
    22,
    23,
    24,
    25,
    26,
    27,
    28,
    29,
    30,
    31,
    32,
    33,
    34,
    35,
    36,
    37,
    38,
    39,
    40,
    41,
    45,
    51,
    52,
    56,
    90,
    99,
    142,
    143,
    144,
    146,
    147,
    149,
    1000,
    1005,
    1006,
    1011,
    1012,
    1018,
    1019,
    1021,
    1035,
    1036,
    2002,
    2003,
    2004,
    2005,
    2006,
    2008,
    2009,
  ];
  for (const id of requests) ok(requestById(id), `request ${id}`);
  const replies = [
    100,
    102,
    103,
    104,
    105,
    106,
    107,
    108,
    109,
    110,
    112,
    113,
    114,
    115,
    118,
    122,
    123,
    124,
    125,
    126,
    127,
    128,
    130,
    131,
    132,
    133,
    134,
    135,
    136,
    137,
    138,
    139,
    140,
    141,
    145,
    148,
    150,
    151,
    152,
    156,
    190,
    1000,
    1100,
    1106,
    1111,
    1112,
    1118,
    1119,
    1136,
    2102,
    2103,
    2104,
    2105,
    2106,
    2108,
    2109,
    3000,
  ];
  deepStrictEqual(REPLIES.map((r) => r.id), replies);
  // Requests are sorted by id (VLS keeps types.csv and msgs.rs sorted the same way).
  const ids = REQUESTS.map((r) => r.id);
  deepStrictEqual(ids, [...ids].sort((a, b) => a - b));
  strictEqual(new Set(ids).size, ids.length - 1); // only 20 appears twice
});

Deno.test("names are CLN snake_case without the hsmd_ prefix, unique in each direction", () => {
  for (const d of [...REQUESTS, ...REPLIES] as readonly (RequestDef | ReplyDef)[]) {
    ok(/^[a-z][a-z0-9_]*$/.test(d.name), d.name);
    ok(!d.name.startsWith("hsmd_"), d.name);
    for (const f of Object.keys(d.fields)) ok(/^[a-z][a-z0-9_]*$/.test(f), `${d.name}.${f}`);
    ok(!("type" in d.fields), `${d.name} has a field called type`);
  }
  strictEqual(new Set(REQUESTS.map((d) => d.name)).size, REQUESTS.length);
  strictEqual(new Set(REPLIES.map((d) => d.name)).size, REPLIES.length);
});

Deno.test("id collisions: 20 is CLN's, the LDK message is shadowed; 1000 differs by direction", () => {
  strictEqual(requestById(20)?.name, "sign_remote_htlc_tx");
  strictEqual(requestByName("sign_local_htlc_tx_2")?.id, 20);
  strictEqual(requestByName("sign_local_htlc_tx_2")?.shadowedBy, "sign_remote_htlc_tx");
  strictEqual(requestByName("sign_local_htlc_tx_2")?.origin, "ldk");
  strictEqual(requestById(1000)?.name, "ping");
  strictEqual(replyById(1000)?.name, "hsmstatus_client_bad_request");
  strictEqual(replyById(1000)?.unsolicited, true);
  strictEqual(replyByName("signer_error")?.unsolicited, true);
  strictEqual(requestById(15), undefined);
  strictEqual(replyById(111), undefined);
});

Deno.test("shared replies are one definition: 112 for all signing requests, 105, 135", () => {
  const using = (id: number) =>
    (REQUESTS as readonly RequestDef[]).filter((d) => d.replies.some((r) => r.id === id))
      .map((d) => d.name);
  deepStrictEqual(using(112), [
    "sign_delayed_payment_to_us",
    "sign_remote_htlc_to_us",
    "sign_penalty_to_us",
    "sign_local_htlc_tx",
    "sign_remote_commitment_tx",
    "sign_remote_htlc_tx",
    "sign_local_htlc_tx_2",
    "sign_mutual_close_tx",
    "sign_splice_tx",
    "sign_any_delayed_payment_to_us",
    "sign_any_remote_htlc_to_us",
    "sign_any_penalty_to_us",
    "sign_any_local_htlc_tx",
    "sign_mutual_close_tx_2",
  ]);
  deepStrictEqual(using(105), ["sign_commitment_tx", "sign_local_commitment_tx_2"]);
  deepStrictEqual(using(135), ["validate_commitment_tx", "validate_commitment_tx_2"]);
  strictEqual(
    requestByName("sign_commitment_tx")?.replies[0],
    replyByName("sign_commitment_tx_reply"),
  );
});

// ---------------------------------------------------------------------------------------------
// Type-level checks: these fail `deno check` (and so the test run) if a type is not exact.

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
function assertType<_T extends true>(): void {}

Deno.test("types derived from the table are exact", () => {
  assertType<
    Equal<RequestOf<"check_pubkey">, { type: "check_pubkey"; index: number; pubkey: Uint8Array }>
  >();
  assertType<
    Equal<
      RequestOf<"validate_commitment_tx">,
      {
        type: "validate_commitment_tx";
        tx: Ctx;
        htlcs: {
          side: 0 | 1;
          amount_msat: bigint;
          payment_hash: Uint8Array;
          cltv_expiry: number;
        }[];
        commit_num: bigint;
        feerate: number;
        sig: BitcoinSignature;
        htlc_sigs: BitcoinSignature[];
      }
    >
  >();
  assertType<
    Equal<
      ReplyOf<"get_per_commitment_point_reply">,
      {
        type: "get_per_commitment_point_reply";
        per_commitment_point: Uint8Array;
        old_commitment_secret: SecretBytes | null;
      }
    >
  >();
  assertType<Equal<RequestOf<"dev_memleak">, { type: "dev_memleak" }>>();
  assertType<
    Equal<ReplyFor<"init">["type"], "init_reply_v4" | "init_reply_v2" | "init_reply_failure">
  >();
  assertType<Equal<ReplyFor<"add_block">["type"], "add_block_reply" | "signer_error">>();
  assertType<Equal<ReplyFor<"sign_splice_tx">["type"], "sign_tx_reply">>();
  assertType<Equal<ReplyFor<"dev_preinit">, never>>();
  assertType<Equal<Extract<RequestName, "sign_local_htlc_tx_2">, "sign_local_htlc_tx_2">>();
  // The union narrows on `type`.
  const m = { type: "ping", id: 1, message: "x" } as HsmdRequest;
  if (m.type === "ping") {
    const id: number = m.id;
    strictEqual(id, 1);
  }
  const r = { type: "tip_info_reply", height: 7, block_hash: new Uint8Array(32) } as HsmdReply;
  if (r.type === "tip_info_reply") strictEqual(r.height, 7);
});
