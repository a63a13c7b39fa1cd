/**
 * The body codec: protocol.md §6 constructed vectors 1, 2 and 5 byte for byte; real CLN/VLS
 * traffic from VLS's `vls-protocol/fixtures` (r_3, r_5, w_3, w_5) and VLS's own `HsmdDevPreinit2`
 * vector (`msgs.rs` `tlv_roundtrip_test`); every error class; a round-trip property over every
 * message of the table; mutation properties (truncate, extend, bool flipped to 2, invalid point)
 * that must each give a ProtocolError naming the message and the exact field.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { concat, fromHex, toHex, u32be } from "../../../core/bytes.ts";
import { SecretBytes } from "../../../core/crypto/mod.ts";
import { createPsbt, encodePsbt } from "../../../core/bitcoin/psbt.ts";
import { encodeTx, type Tx } from "../../../core/bitcoin/tx.ts";
import {
  decodeMessage,
  decodeReply,
  decodeReplyTo,
  encodeMessage,
  encodeReply,
  peekType,
} from "../../../core/protocol/codec.ts";
import {
  type HsmdReply,
  type HsmdRequest,
  REPLIES,
  type ReplyDef,
  type RequestDef,
  REQUESTS,
} from "../../../core/protocol/messages.ts";
import { clnFrameDecoder, encodeClnFrame } from "../../../core/protocol/framing.ts";
import { MAX_BODY_SIZE, ProtocolError } from "../../../core/protocol/types.ts";
import { arbitraryFor, locate, normalize, POINTS } from "./arbitrary.ts";

function protocolError(
  fn: () => unknown,
  expected: { code: string; message: string | RegExp },
): void {
  throws(fn, (e: unknown) => {
    ok(e instanceof ProtocolError, `not a ProtocolError: ${e}`);
    strictEqual(e.name, "ProtocolError");
    strictEqual(e.code, expected.code, e.message);
    if (typeof expected.message === "string") strictEqual(e.message, expected.message);
    else ok(expected.message.test(e.message), e.message);
    return true;
  });
}

function bodies(hexFrames: string): Uint8Array[] {
  const d = clnFrameDecoder();
  const out = d.push(fromHex(hexFrames.replace(/\s+/g, "")));
  d.end();
  return out;
}

// ---------------------------------------------------------------------------------------------
// protocol.md §6, vector 1: reply 102

const V1_FRAME = "00000082" + "0066" + "48".repeat(128);

Deno.test("vector 1: cannouncement_sig_reply (102) decodes and re-encodes byte for byte", () => {
  const [body] = bodies(V1_FRAME);
  const reply = decodeReply(body);
  deepStrictEqual(reply, {
    type: "cannouncement_sig_reply",
    node_signature: new Uint8Array(64).fill(0x48),
    bitcoin_signature: new Uint8Array(64).fill(0x48),
  });
  strictEqual(toHex(encodeClnFrame(encodeReply(reply))), V1_FRAME);
  deepStrictEqual(decodeReplyTo("cannouncement_sig_req", body), reply);
});

Deno.test("vector 1: a 1-byte body is too short", () => {
  protocolError(() => decodeReply(Uint8Array.of(0x00)), {
    code: "too-short",
    message: "body: too short (1 bytes; a body starts with a 2-byte type)",
  });
  protocolError(() => clnFrameDecoder().push(fromHex("0000000100")), {
    code: "too-short",
    message: "cln frame: body length 1 is below 2 (no room for the type)",
  });
});

Deno.test("vector 1: a declared length of 131073 is too large (refused before the body)", () => {
  const d = clnFrameDecoder();
  protocolError(() => d.push(fromHex("00020001")), {
    code: "too-large",
    message: "cln frame: body length 131073 exceeds the 131072-byte limit",
  });
  const big = new Uint8Array(MAX_BODY_SIZE + 1);
  big[1] = 102;
  protocolError(() => decodeReply(big), {
    code: "too-large",
    message: "body: too large (131073 bytes; at most 131072)",
  });
  // Exactly the limit is a legal body size (then fails on its content, not its size).
  const limit = new Uint8Array(MAX_BODY_SIZE);
  limit[1] = 102;
  protocolError(() => decodeReply(limit), { code: "trailing-bytes", message: /^cannounce/ });
});

Deno.test("vector 1: one extra 00 with length 00000083 is trailing bytes", () => {
  const [body] = bodies("00000083" + "0066" + "48".repeat(128) + "00");
  strictEqual(body.length, 131);
  protocolError(() => decodeReply(body), {
    code: "trailing-bytes",
    message: "cannouncement_sig_reply: 1 trailing byte after the last field",
  });
});

Deno.test("vector 1: decoding it as the wrong reply type", () => {
  const [body] = bodies(V1_FRAME);
  protocolError(() => decodeReply(body, { expect: "sign_any_cannouncement_reply" }), {
    code: "unexpected-type",
    message:
      "cannouncement_sig_reply: expected sign_any_cannouncement_reply (104), got cannouncement_sig_reply (102)",
  });
  protocolError(() => decodeReplyTo("sign_any_cannouncement_req", body), {
    code: "unexpected-type",
    message: /expected sign_any_cannouncement_reply \(104\), got cannouncement_sig_reply \(102\)$/,
  });
  // A request body is not a reply: type 102 is unknown among requests.
  protocolError(() => decodeMessage(body), {
    code: "unknown-type",
    message: "message type 102: unknown request type 102",
  });
});

// ---------------------------------------------------------------------------------------------
// protocol.md §6, vector 2: hsmd_init from CLN on regtest

const V2_FRAME = "00000037 000b 043587cf 04358394 " +
  "06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f 00 00 00 00 00 00000005 00000006";
const REGTEST_GENESIS = "06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f";

Deno.test("vector 2: hsmd_init from CLN regtest, wire versions 5..6", () => {
  const [body] = bodies(V2_FRAME);
  const init = decodeMessage(body);
  deepStrictEqual(init, {
    type: "init",
    bip32_key_version: { pubkey_version: 0x043587cf, privkey_version: 0x04358394 },
    chainparams: fromHex(REGTEST_GENESIS),
    hsm_encryption_key: null,
    dev_force_privkey: null,
    dev_force_bip32_seed: null,
    dev_force_channel_secrets: null,
    dev_force_channel_secrets_shaseed: null,
    hsm_wire_min_version: 5,
    hsm_wire_max_version: 6,
    tlvs: {},
  });
  strictEqual(toHex(encodeClnFrame(encodeMessage(init))), V2_FRAME.replace(/ /g, ""));
});

Deno.test("init with --hsm-passphrase: the TLV is a NUL-terminated secret string", () => {
  const [body] = bodies(V2_FRAME);
  const withTlv = concat(body, fromHex("0107" + toHex(new TextEncoder().encode("hunter")) + "00"));
  const init = decodeMessage(withTlv);
  if (init.type !== "init") throw new Error("wrong type");
  const pass = init.tlvs.hsm_passphrase;
  ok(pass instanceof SecretBytes);
  strictEqual(new TextDecoder().decode(pass.expose()), "hunter");
  strictEqual(String(pass), "[redacted]");
  deepStrictEqual(encodeMessage(init), withTlv);
  // VLS's HsmdInit has no TLV field: the same bytes there would be TrailingBytes. Here an unknown
  // even TLV is an error naming the stream, an unknown odd one is kept.
  protocolError(() => decodeMessage(concat(body, fromHex("0200"))), {
    code: "invalid",
    message: "init.tlvs[type 2]: unknown even TLV type 2",
  });
  const odd = decodeMessage(concat(body, fromHex("0301aa")));
  if (odd.type !== "init") throw new Error("wrong type");
  deepStrictEqual(odd.tlvs, { unknownOdd: [{ type: 3n, value: fromHex("aa") }] });
  deepStrictEqual(encodeMessage(odd), concat(body, fromHex("0301aa")));
});

Deno.test("init: dev_force_channel_secrets is CLN's 160-byte struct, in towire_secrets order", () => {
  const s = (b: number) => new SecretBytes(new Uint8Array(32).fill(b));
  const init: HsmdRequest = {
    type: "init",
    bip32_key_version: { pubkey_version: 0x0488b21e, privkey_version: 0x0488ade4 },
    chainparams: new Uint8Array(32),
    hsm_encryption_key: null,
    dev_force_privkey: s(9),
    dev_force_bip32_seed: null,
    dev_force_channel_secrets: {
      funding_privkey: s(1),
      revocation_basepoint_secret: s(2),
      payment_basepoint_secret: s(3),
      delayed_payment_basepoint_secret: s(4),
      htlc_basepoint_secret: s(5),
    },
    dev_force_channel_secrets_shaseed: null,
    hsm_wire_min_version: 5,
    hsm_wire_max_version: 6,
    tlvs: {},
  };
  const body = encodeMessage(init);
  strictEqual(
    toHex(body),
    "000b" + "0488b21e0488ade4" + "00".repeat(32) + "00" + "01" + "09".repeat(32) + "00" + "01" +
      ["01", "02", "03", "04", "05"].map((b) => b.repeat(32)).join("") + "00" + "00000005" +
      "00000006",
  );
  deepStrictEqual(normalize(decodeMessage(body)), normalize(init));
});

// ---------------------------------------------------------------------------------------------
// protocol.md §6, vector 5: ping / pong

Deno.test('vector 5: Ping(1000){u16 id, str0} is answered by Pong(1100){u16 id, "pong"}', () => {
  const ping = fromHex("03e8" + "0007" + "68656c6c6f00");
  deepStrictEqual(decodeMessage(ping), { type: "ping", id: 7, message: "hello" });
  deepStrictEqual(encodeMessage({ type: "ping", id: 7, message: "hello" }), ping);
  const pong = encodeReply({ type: "pong", id: 7, message: "pong" });
  strictEqual(toHex(pong), "044c" + "0007" + "706f6e6700");
  deepStrictEqual(decodeReplyTo("ping", pong), { type: "pong", id: 7, message: "pong" });
  // 1000 among signer → node messages is CLN's status message, not a ping.
  const status = encodeReply({
    type: "hsmstatus_client_bad_request",
    id: POINTS[0],
    description: "bad",
    msg: fromHex("0001"),
  });
  strictEqual(peekType(status), 1000);
  strictEqual(decodeReply(status).type, "hsmstatus_client_bad_request");
});

// ---------------------------------------------------------------------------------------------
// Real traffic: VLS vls-protocol/fixtures (CLN requests r_*, VLS replies w_*)

const PEER = "0266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c03518";
const CLN_REQUESTS = `
00000033 0009022d223620a359a47ff7f7ac447c85c46c923da53389221a0054c11c1e3ca31d5900000000000000000000000000000001
0000002b 000a${PEER}0000000000000001
0000009f 00080091011014180d171f010114161c0b151501040b010f060e170d191f04080914090f0b1b0b0c0c060b1a160a140f150c1a0e0c1f011d0808141b120e0a0b10000d00070c111217061818060004120e1400180001051001141c011b0d150f1e161305070c1a181b0a0e1f100e14011c0d12191c050f080a060515041604060a1d17081f01110e04081d1412000500040410100000086c6e62637274326d
00000023 00010237cd61274ee433762e39ce0fb430a4c9ec953fba0727a20503ebd15c7ad4ca6c
00000002 0021
0000008e 0003008a01020000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f0000670000010001614c36fa010000060000000000000000000000010000000a000000003b023380
`;
const VLS_REPLIES = `
00000002 006d
000000a7 006e03cdcb22e07f0f83805ae79d0fa1b777dc1dbd27c1dd2840469d72cf305332d66302abc10666592840eb562f2afaedfac56930b4482ec5d8b61b5a4485b383c2cba803e0a7bb422b254f54bc954be05bd6823a7b7a4b996ff8d3079ca211590fb5df390331446fd843787dae9f2a68633aa17438c566f8a9a5f2115ab4dc2d2753baa5b802e3bd38009866c9da8ec4aa99cc4ea9c6c0dd46df15c61ef0ce1f271291714e57
00000043 006c68e808acd0d65feafb0eb1527f79db72671b23fb8bbe48338b194b2ff9b6d1526699e2069b9091809b1f42737af7e74dd656fc8093cff2b1c82ef4f60da2ca5901
00000022 006436e810e9519db1acd053f5c4f53d26f12f39edc372a70093760b2a7e088e8f7a
00000003 008500
0000008e 0067008a01026ac524aeb88de56f9e830cdbe85025b41e5c5f85f422f82c5b8b056623de0c5d566ce572ccb61d2559d6371e17dfa60c21736575f762673ae7c8d82e8b9783bd06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f0000670000010001614c36fa010000060000000000000000000000010000000a000000003b023380
`;

Deno.test("real CLN requests (VLS fixtures r_3, r_5) decode and re-encode byte for byte", () => {
  const msgs = bodies(CLN_REQUESTS).map((b) => {
    const m = decodeMessage(b);
    deepStrictEqual(encodeMessage(m), b);
    return m;
  });
  deepStrictEqual(msgs.map((m) => m.type), [
    "client_hsmfd",
    "get_channel_basepoints",
    "sign_invoice",
    "ecdh_req",
    "dev_memleak",
    "cupdate_sig_req",
  ]);
  const [hsmfd, basepoints, invoice, , , cupdate] = msgs;
  if (hsmfd.type !== "client_hsmfd") throw new Error("type");
  strictEqual(hsmfd.dbid, 0n);
  strictEqual(hsmfd.permissions, 1n);
  if (basepoints.type !== "get_channel_basepoints") throw new Error("type");
  strictEqual(toHex(basepoints.peerid), PEER);
  strictEqual(basepoints.dbid, 1n);
  if (invoice.type !== "sign_invoice") throw new Error("type");
  strictEqual(invoice.u5bytes.length, 145);
  strictEqual(new TextDecoder().decode(invoice.hrp), "lnbcrt2m");
  if (cupdate.type !== "cupdate_sig_req") throw new Error("type");
  strictEqual(cupdate.cu.length, 138);
});

Deno.test("real VLS replies (fixtures w_3, w_5) decode and re-encode byte for byte", () => {
  const replies = bodies(VLS_REPLIES).map((b) => {
    const m = decodeReply(b);
    deepStrictEqual(encodeReply(m), b);
    return m;
  });
  deepStrictEqual(replies.map((m) => m.type), [
    "client_hsmfd_reply",
    "get_channel_basepoints_reply",
    "sign_invoice_reply",
    "ecdh_resp",
    "dev_memleak_reply",
    "cupdate_sig_reply",
  ]);
  const memleak = replies[4];
  if (memleak.type !== "dev_memleak_reply") throw new Error("type");
  strictEqual(memleak.leak, false);
  const ecdh = replies[3];
  if (ecdh.type !== "ecdh_resp") throw new Error("type");
  strictEqual(
    toHex(ecdh.ss.expose()),
    "36e810e9519db1acd053f5c4f53d26f12f39edc372a70093760b2a7e088e8f7a",
  );
  strictEqual(JSON.stringify(ecdh), '{"type":"ecdh_resp","ss":"[redacted]"}');
});

Deno.test("VLS HsmdDevPreinit2 vector (msgs.rs tlv_roundtrip_test): seed 250, network 251", () => {
  const hex = "0063fa20" + "2a".repeat(32) + "fb08746573746e657400";
  const m = decodeMessage(fromHex(hex));
  deepStrictEqual(normalize(m), {
    type: "dev_preinit",
    tlvs: { seed: { secret: "2a".repeat(32) }, network_name: "testnet" },
  });
  strictEqual(toHex(encodeMessage(m)), hex);
  // CLN's preinit (all three dev flags false).
  const cln = encodeMessage({
    type: "dev_preinit",
    tlvs: { fail_preapprove: false, no_preapprove_check: false, warn_on_overgrind: false },
  });
  strictEqual(toHex(cln), "0063" + "010100" + "030100" + "050100");
});

// ---------------------------------------------------------------------------------------------
// Field errors named precisely

function tx1(): Tx {
  return {
    version: 2,
    inputs: [{
      txid: new Uint8Array(32).fill(1),
      vout: 0,
      scriptSig: new Uint8Array(),
      sequence: 0xffffffff,
      witness: [],
    }],
    outputs: [{ amount: 1000n, script: fromHex("0014" + "11".repeat(20)) }],
    locktime: 0,
  };
}

Deno.test("validate_commitment_tx.htlc_sigs[3]: truncated", () => {
  const psbt = createPsbt(tx1());
  psbt.inputs[0].witnessUtxo = { amount: 5000n, script: fromHex("0020" + "22".repeat(32)) };
  const bsigOf = (b: number) => ({ signature: new Uint8Array(64).fill(b), sighash: 1 });
  const msg: HsmdRequest = {
    type: "validate_commitment_tx",
    tx: { tx: tx1(), psbt },
    htlcs: [],
    commit_num: 3n,
    feerate: 253,
    sig: bsigOf(9),
    htlc_sigs: [bsigOf(1), bsigOf(2), bsigOf(3), bsigOf(4)],
  };
  const body = encodeMessage(msg);
  deepStrictEqual(decodeMessage(body), msg);
  protocolError(() => decodeMessage(body.subarray(0, body.length - 10)), {
    code: "truncated",
    message: "validate_commitment_tx.htlc_sigs[3]: truncated (needs 65 bytes, 55 left)",
  });
  const badSighash = body.slice();
  badSighash[badSighash.length - 1] = 0x04;
  protocolError(() => decodeMessage(badSighash), {
    code: "invalid",
    message: "validate_commitment_tx.htlc_sigs[3]: undefined sighash type 0x4",
  });
});

Deno.test("sign_withdrawal.psbt: an input without its UTXO is refused (decode and encode)", () => {
  const psbt = createPsbt(tx1());
  const body = concat(fromHex("0007" + "0000"), u32be(encodePsbt(psbt).length), encodePsbt(psbt));
  const expected =
    "sign_withdrawal.psbt: input 0: no PSBT_IN_NON_WITNESS_UTXO or PSBT_IN_WITNESS_UTXO";
  protocolError(() => decodeMessage(body), { code: "invalid", message: expected });
  protocolError(() => encodeMessage({ type: "sign_withdrawal", inputs: [], psbt }), {
    code: "invalid",
    message: expected,
  });
  // The reply's PSBT is not held to that rule.
  const reply = encodeReply({ type: "sign_withdrawal_reply", psbt });
  deepStrictEqual(decodeReply(reply), { type: "sign_withdrawal_reply", psbt });
});

Deno.test("ctx: the PSBT must describe the raw transaction; witnesses on the raw tx are allowed", () => {
  const psbt = createPsbt(tx1());
  psbt.inputs[0].witnessUtxo = { amount: 5000n, script: fromHex("0020" + "22".repeat(32)) };
  const other = { ...tx1(), locktime: 5 };
  const ctxBytes = (t: Tx) =>
    concat(
      u32be(encodeTx(t).length),
      encodeTx(t),
      u32be(encodePsbt(psbt).length),
      encodePsbt(psbt),
    );
  const body = concat(fromHex("0015"), ctxBytes(other), POINTS[1]);
  protocolError(() => decodeMessage(body), {
    code: "invalid",
    message: "sign_mutual_close_tx.tx: the PSBT's unsigned transaction is not the raw transaction",
  });
  const signed = tx1();
  signed.inputs[0].witness = [fromHex("3044"), POINTS[0]];
  const m = decodeMessage(concat(fromHex("0015"), ctxBytes(signed), POINTS[1]));
  if (m.type !== "sign_mutual_close_tx") throw new Error("type");
  deepStrictEqual(m.tx.tx.inputs[0].witness, [fromHex("3044"), POINTS[0]]);
  // A malformed PSBT names the ctx's psbt part, a malformed tx its tx part.
  const badPsbt = concat(
    fromHex("0015"),
    u32be(encodeTx(tx1()).length),
    encodeTx(tx1()),
    fromHex("00000003"),
    fromHex("707362"),
    POINTS[1],
  );
  protocolError(() => decodeMessage(badPsbt), {
    code: "invalid",
    message: /^sign_mutual_close_tx\.tx\.psbt: not a PSBT/,
  });
  const badTx = concat(fromHex("0015"), fromHex("0000000100"), u32be(4), fromHex("70736274"));
  protocolError(() => decodeMessage(badTx), {
    code: "invalid",
    message: /^sign_mutual_close_tx\.tx\.tx: malformed transaction/,
  });
});

Deno.test("encoding validates every value and names the field", () => {
  protocolError(() => encodeMessage({ type: "check_pubkey", index: -1, pubkey: POINTS[0] }), {
    code: "invalid",
    message: "check_pubkey.index: must be an integer in 0..4294967295",
  });
  protocolError(
    () => encodeMessage({ type: "check_pubkey", index: 1, pubkey: new Uint8Array(33) }),
    { code: "invalid", message: "check_pubkey.pubkey: not a valid compressed secp256k1 point" },
  );
  protocolError(
    // @ts-expect-error: a missing field is a type error, and a runtime error
    () => encodeMessage({ type: "check_pubkey", index: 1 }),
    { code: "invalid", message: 'check_pubkey: missing field "pubkey"' },
  );
  protocolError(
    // @ts-expect-error: an unexpected field is a type error, and a runtime error
    () => encodeMessage({ type: "check_pubkey", index: 1, pubkey: POINTS[0], extra: 1 }),
    { code: "invalid", message: 'check_pubkey: unexpected field "extra"' },
  );
  protocolError(
    // @ts-expect-error: unknown message name
    () => encodeMessage({ type: "no_such_message" }),
    { code: "invalid", message: 'encodeMessage: no request called "no_such_message"' },
  );
  protocolError(
    () => encodeReply({ type: "tip_info_reply", height: 1, block_hash: new Uint8Array(31) }),
    {
      code: "invalid",
      message: "tip_info_reply.block_hash: must be 32 bytes, got 31",
    },
  );
  protocolError(
    () => encodeReply({ type: "get_heartbeat_reply", heartbeat: new Uint8Array(65536) }),
    {
      code: "invalid",
      message: "get_heartbeat_reply.heartbeat: too long (65536 bytes, at most 65535)",
    },
  );
  protocolError(
    () =>
      encodeMessage({
        type: "add_block",
        header: new Uint8Array(80),
        unspent_proof: new Uint8Array(MAX_BODY_SIZE - 84),
      }),
    { code: "too-large", message: "add_block: too large (131073 bytes; at most 131072)" },
  );
  strictEqual(
    encodeMessage({
      type: "add_block",
      header: new Uint8Array(80),
      unspent_proof: new Uint8Array(MAX_BODY_SIZE - 85),
    }).length,
    MAX_BODY_SIZE,
  );
  // A private extended key can never go out in an init reply.
  const xprv = concat(new Uint8Array(45), Uint8Array.of(0), new Uint8Array(32).fill(1));
  protocolError(() =>
    encodeReply({
      type: "node_info_reply",
      network_name: "regtest",
      node_id: POINTS[0],
      bip32: xprv,
    }), {
    code: "invalid",
    message:
      "node_info_reply.bip32: not a public BIP-32 extended key (key data is not a valid compressed point)",
  });
});

Deno.test("id 20 decodes as CLN sign_remote_htlc_tx; LDK sign_local_htlc_tx_2 only when asked", () => {
  const ldk: HsmdRequest = {
    type: "sign_local_htlc_tx_2",
    tx: tx1(),
    input: 0,
    commitment_number: 7n,
    offered: true,
    cltv_expiry: 500,
    htlc_amount_msat: 1_000_000n,
    payment_hash: new Uint8Array(32).fill(3),
  };
  const body = encodeMessage(ldk);
  strictEqual(peekType(body), 20);
  deepStrictEqual(decodeMessage(body, { as: "sign_local_htlc_tx_2" }), ldk);
  // By id, 20 is the CLN message, which cannot parse these bytes as a ctx.
  throws(
    () => decodeMessage(body),
    (e: unknown) => e instanceof ProtocolError && e.where === "sign_remote_htlc_tx",
  );
  protocolError(() => decodeMessage(encodeMessage({ type: "node_info" }), { as: "tip_info" }), {
    code: "unexpected-type",
    message: "tip_info: expected tip_info (2002), got node_info (1012)",
  });
});

Deno.test("unknown types are typed errors in both directions", () => {
  protocolError(() => decodeMessage(fromHex("270f")), {
    code: "unknown-type",
    message: "message type 9999: unknown request type 9999",
  });
  protocolError(() => decodeReply(fromHex("006f")), {
    code: "unknown-type",
    message: "message type 111: unknown reply type 111",
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over the whole table

type Def = RequestDef | ReplyDef;
const ALL: { def: Def; request: boolean }[] = [
  ...(REQUESTS as readonly RequestDef[]).map((def) => ({ def, request: true })),
  ...(REPLIES as readonly ReplyDef[]).map((def) => ({ def, request: false })),
];

function encode(def: Def, request: boolean, fields: unknown): Uint8Array {
  const msg = { type: def.name, ...(fields as Record<string, unknown>) };
  return request ? encodeMessage(msg as HsmdRequest) : encodeReply(msg as HsmdReply);
}

function decode(def: Def, request: boolean, body: Uint8Array): unknown {
  return request
    ? decodeMessage(body, { as: def.name as HsmdRequest["type"] })
    : decodeReply(body, { expect: def.name as HsmdReply["type"] });
}

/** Messages whose last field reads to the end of the body (a prefix may still be valid). */
function openEnded(def: Def): boolean {
  const specs = Object.values(def.fields).map((c) => c.spec);
  const last = specs[specs.length - 1];
  return last !== undefined &&
    (last.kind === "tlvs" || last.kind === "rest" ||
      (last.kind === "opt" && last.inner.spec.kind === "rest"));
}

const RUNS = 20;

Deno.test("round trip: every message of the table, from generated valid values", () => {
  let checked = 0;
  for (const { def, request } of ALL) {
    fc.assert(
      fc.property(arbitraryFor(def.codec), (fields) => {
        const body = encode(def, request, fields);
        strictEqual(peekType(body), def.id);
        const decoded = decode(def, request, body);
        deepStrictEqual(normalize(decoded), normalize({ type: def.name, ...(fields as object) }));
        const { type: _type, ...again } = decoded as Record<string, unknown>;
        deepStrictEqual(encode(def, request, again), body);
      }),
      { numRuns: RUNS },
    );
    checked++;
  }
  strictEqual(checked, REQUESTS.length + REPLIES.length);
});

Deno.test("mutation: every truncation is a ProtocolError naming the message and a field", () => {
  for (const { def, request } of ALL) {
    fc.assert(
      fc.property(arbitraryFor(def.codec), fc.nat(), (fields, cut) => {
        const body = encode(def, request, fields);
        if (body.length === 2) return;
        const n = 2 + (cut % (body.length - 2));
        let error: unknown;
        try {
          decode(def, request, body.subarray(0, n));
        } catch (e) {
          error = e;
        }
        if (error === undefined) {
          ok(openEnded(def), `${def.name}: prefix of ${n}/${body.length} bytes decoded`);
          return;
        }
        ok(error instanceof ProtocolError, String(error));
        strictEqual(error.where, def.name, error.message);
        if (!openEnded(def)) {
          strictEqual(error.code, "truncated", error.message);
          ok(error.field, `no field named: ${error.message}`);
        }
      }),
      { numRuns: RUNS },
    );
  }
});

Deno.test("mutation: extra bytes after the last field are trailing bytes", () => {
  for (const { def, request } of ALL) {
    if (openEnded(def)) continue;
    fc.assert(
      fc.property(
        arbitraryFor(def.codec),
        fc.uint8Array({ minLength: 1, maxLength: 3 }),
        (fields, extra) => {
          const body = concat(encode(def, request, fields), extra);
          protocolError(() => decode(def, request, body), {
            code: "trailing-bytes",
            message: `${def.name}: ${extra.length} trailing byte${
              extra.length === 1 ? "" : "s"
            } after the last field`,
          });
        },
      ),
      { numRuns: RUNS },
    );
  }
});

/** Top-level fields of `def` whose spec kind is one of `kinds` (always present in an encoding). */
function topLevel(def: Def, test: (c: Def["fields"][string]) => boolean): string[] {
  return Object.entries(def.fields).filter(([, c]) => test(c)).map(([k]) => k);
}

Deno.test("mutation: a bool (or opt flag) set to 2 is an error naming that exact field", () => {
  let withBools = 0;
  for (const { def, request } of ALL) {
    let mutated = 0;
    fc.assert(
      fc.property(arbitraryFor(def.codec), (fields) => {
        const body = encode(def, request, fields);
        for (const { offset, path } of locate(def.codec, fields, 2).bools) {
          const bad = body.slice();
          strictEqual(bad[offset] <= 1, true);
          bad[offset] = 2;
          protocolError(() => decode(def, request, bad), {
            code: "invalid",
            message: `${def.name}.${path}: invalid bool 2 (must be 0 or 1)`,
          });
          mutated++;
        }
      }),
      { numRuns: RUNS },
    );
    const flags = topLevel(def, (c) => c.spec.kind === "bool" || c.spec.kind === "opt");
    if (flags.length > 0) {
      withBools++;
      ok(mutated >= flags.length * RUNS, `${def.name}: ${mutated} mutations`);
    }
  }
  strictEqual(withBools, 27);
});

Deno.test("mutation: an invalid point is an error naming that exact field", () => {
  let withPoints = 0;
  for (const { def, request } of ALL) {
    let mutated = 0;
    fc.assert(
      fc.property(arbitraryFor(def.codec), (fields) => {
        const body = encode(def, request, fields);
        for (const { offset, path } of locate(def.codec, fields, 2).points) {
          const bad = body.slice();
          bad[offset] = 0x04;
          protocolError(() => decode(def, request, bad), {
            code: "invalid",
            message: `${def.name}.${path}: not a valid compressed secp256k1 point`,
          });
          mutated++;
        }
      }),
      { numRuns: RUNS },
    );
    const points = topLevel(def, (c) => c.spec.kind === "bytes" && c.spec.check === "point");
    const bps = topLevel(def, (c) => c.name === "bp");
    if (points.length + bps.length > 0) {
      withPoints++;
      ok(mutated >= (points.length + 4 * bps.length) * RUNS, `${def.name}: ${mutated} mutations`);
    }
  }
  strictEqual(withPoints, 37);
});
