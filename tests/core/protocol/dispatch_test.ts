/**
 * The Dispatcher end to end: a CLN-like driver (_cln_driver.ts) speaks encoded hsmd messages to a
 * dispatcher over a real Signer (MemoryStore, rules/default.policy for regtest) while the simulated
 * honest peer checks every signature we return against its own view.
 */
import { limitKey } from "../../../policy/limits.ts";
import type { MemoryStore } from "../../../core/store/memory.ts";
import { deepStrictEqual, notStrictEqual, ok, strictEqual } from "node:assert/strict";
import { createBase58check } from "@scure/base";
import { compare, concat, fromHex, toHex, u16be, u32be, u64be, utf8 } from "../../../core/bytes.ts";
import {
  derDecode,
  ecdh,
  ecdsaRecover,
  ecdsaVerify,
  publicKey,
  schnorrVerify,
  SecretBytes,
  sha256,
  sha256d,
  taggedHash,
} from "../../../core/crypto/mod.ts";
import { createPsbt, encodePsbt, type Psbt } from "../../../core/bitcoin/psbt.ts";
import { p2wpkh, p2wpkhScriptCode, p2wsh } from "../../../core/bitcoin/script.ts";
import { SIGHASH, sighashSegwitV0, txid } from "../../../core/bitcoin/tx.ts";
import { networkParams } from "../../../core/bitcoin/network.ts";
import { anchorScript } from "../../../core/bolt3/scripts.ts";
import type { RebuiltCommitment } from "../../../core/channel/rebuild.ts";
import { holderPoint, holderSecret } from "../../../core/channel/state.ts";
import { heartbeatPubkey, verifyHeartbeat } from "../../../core/node/heartbeat.ts";
import { PolicyRefusal } from "../../../core/signer/errors.ts";
import fc from "fast-check";
import {
  decodeMessage,
  decodeReply,
  encodeMessage,
  type Fields,
  type HsmdRequest,
  MAX_BODY_SIZE,
  type ReplyFor,
  type ReplyName,
  type RequestDef,
  type RequestName,
  type RequestOf,
  REQUESTS,
  type StructValue,
  Writer,
} from "../../../core/protocol/mod.ts";
import { arbitraryFor } from "./arbitrary.ts";
import type { Ctx } from "../../../core/protocol/types.ts";
import {
  Dispatcher,
  type DispatchSigner,
  NO_REPLY,
  PARTIAL_SIG_RECORD_MAX,
  signedPsbtReplyBound,
  UNSUPPORTED_MESSAGES,
} from "../../../core/protocol/dispatch.ts";
import { SIGNER_ERROR, signerErrorOf } from "../../../core/protocol/errors.ts";
import { xpubBytes } from "../../../core/protocol/convert.ts";
import {
  assertAllAllowed,
  CHANNEL,
  ClnDriver,
  copyTx,
  initMessage,
  invoiceFor,
  invoiceWords,
  packWords,
  PAYEE,
  PAYEE_SECRET,
  PEER_ID,
  regtestHeader,
  ROOT,
  STRANGER,
  STRANGER_SECRET,
  ZERO_ROOT,
} from "./_cln_driver.ts";
import {
  FEERATE,
  hashOf,
  NOW,
  PEER_SCRIPT,
  US_NODE,
  walletScript,
} from "../signer/_rules_fixture.ts";

/** `value`, which the test knows is there. */
function must<T>(value: T | null | undefined): T {
  if (value === null || value === undefined) throw new Error("missing value");
  return value;
}

const HEIGHT = 800_000;
const REGTEST = networkParams("regtest");

// =================================================================================================
// Init

/**
 * The totals (msat) of `policy-onchain-fee-range`'s two daily windows in the store: clause 1
 * (sign_anchor_spend) and clause 2 (sign_onchain).
 */
async function onchainFeeWindows(store: MemoryStore): Promise<[bigint, bigint]> {
  const total = async (clause: number) => {
    const entry = await store.get(limitKey("policy-onchain-fee-range", clause));
    if (entry === undefined) return 0n;
    const { buckets } = JSON.parse(entry.value) as { buckets: [number, string][] };
    return buckets.reduce((sum, [, amount]) => sum + BigInt(amount), 0n);
  };
  return [await total(1), await total(2)];
}

Deno.test("init (CLN 5..6): version 6, CLN's capabilities for what we serve, node id, xpub, bolt12", async () => {
  const d = await ClnDriver.create();
  const reply = await d.init();
  deepStrictEqual(reply, {
    type: "init_reply_v4",
    hsm_version: 6,
    hsm_capabilities: [28, 142, 147, 149, 29, 32, 34, 40, 41],
    node_id: US_NODE.nodeId,
    bip32: xpubBytes(US_NODE.accountKey(), REGTEST.bip32.public),
    bolt12: US_NODE.bolt12Pubkey,
    tlvs: {},
  });
  // The xkey is the account xpub m/0/0 as the keys print it (base58check of the same 78 bytes).
  deepStrictEqual(
    toHex(createBase58check(sha256).decode(US_NODE.accountXpub())),
    toHex(reply.type === "init_reply_v4" ? reply.bip32 : new Uint8Array()),
  );
  strictEqual(d.dispatcher.version, 6);
  // VLS's proxy replays its cached init (min = max = negotiated) on every reconnect.
  deepStrictEqual((await d.init({ min: 6, max: 6 })).type, "init_reply_v4");
  strictEqual(d.dispatcher.version, 6);
});

Deno.test("init: a v5 node gets version 5 (with 40), a v4 node version 4 (without), our max caps it", async () => {
  const v5 = await ClnDriver.create();
  const r5 = await v5.init({ min: 5, max: 5 });
  strictEqual(r5.type === "init_reply_v4" && r5.hsm_version, 5);
  deepStrictEqual(r5.type === "init_reply_v4" && r5.hsm_capabilities, [
    28,
    142,
    147,
    149,
    29,
    32,
    34,
    40,
    41,
  ]);
  const v4 = await ClnDriver.create();
  const r4 = await v4.init({ min: 4, max: 4 });
  strictEqual(r4.type === "init_reply_v4" && r4.hsm_version, 4);
  deepStrictEqual(r4.type === "init_reply_v4" && r4.hsm_capabilities, [
    28,
    142,
    147,
    149,
    29,
    32,
    34,
    41,
  ]);
  const capped = await ClnDriver.create({ maxVersion: 5 });
  const rc = await capped.init({ min: 5, max: 6 });
  strictEqual(rc.type === "init_reply_v4" && rc.hsm_version, 5);
  // A node that needs more than we speak gets the failure reply, and stays uninitialised.
  const old = await ClnDriver.create({ maxVersion: 5 });
  deepStrictEqual(await old.init({ min: 6, max: 6 }), {
    type: "init_reply_failure",
    error_code: 20,
    error_message: "the node needs protocol version 6; this signer speaks at most 5",
  });
  strictEqual(old.dispatcher.version, undefined);
});

Deno.test("before init only ping, init, init_2 and the dev preinits are served", async () => {
  const d = await ClnDriver.create();
  const ping = encodeMessage({ type: "ping", id: 7, message: "hello" });
  deepStrictEqual(decodeMessage(ping).type, "ping");
  const pong = async () => await d.call(ping, ROOT);
  deepStrictEqual(toHex(await pong()), toHex(concat(u16be(1100), u16be(7), utf8("pong\0"))));
  deepStrictEqual(await d.fail({ type: "node_info" }, ROOT), {
    code: SIGNER_ERROR.NOT_INITIALIZED,
    message: "not initialized: node_info (1012) before init",
    temporary: false,
  });
  deepStrictEqual(
    (await d.fail({ type: "get_per_commitment_point", n: 0n })).code,
    SIGNER_ERROR.NOT_INITIALIZED,
  );
  // CLN's dev_preinit (99) has no reply: the transport sends nothing.
  strictEqual(
    await d.dispatcher.handle(
      ROOT,
      encodeMessage({ type: "dev_preinit", tlvs: { fail_preapprove: true } }),
    ),
    NO_REPLY,
  );
  await d.init();
  deepStrictEqual(toHex(await pong()), toHex(concat(u16be(1100), u16be(7), utf8("pong\0"))));
  strictEqual((await d.send({ type: "node_info" }, ZERO_ROOT)).network_name, "regtest");
});

// =================================================================================================
// Honest channel traffic

Deno.test("openingd's commitments 0 with CLN's feerate 0 are stored with the transactions' own feerate", async () => {
  for (const anchors of [false, true]) {
    const d = await ClnDriver.create({ anchors });
    await d.init();
    await d.open();
    const e = (await d.signer.channelState(d.id))?.enforcement;
    deepStrictEqual(
      [e?.currentHolder?.info.feeratePerKw, e?.currentCounterparty?.feeratePerKw],
      [FEERATE, FEERATE],
    );
    deepStrictEqual([e?.nextHolderCommitNum, e?.nextCounterpartyCommitNum], [1, 1]);
    assertAllAllowed(d.audit);
  }
});

/** Open, then payments both ways (added, then settled), as CLN's daemons drive them. */
async function paymentsBothWays(d: ClnDriver): Promise<number> {
  await d.open();
  let n = 1;
  const ours1 = await d.pay("us", n++, {
    amountMsat: 100_000_000n,
    hash: hashOf(1),
    cltv: HEIGHT + 40,
  });
  const theirs1 = await d.pay("peer", n++, {
    amountMsat: 50_000_000n,
    hash: hashOf(2),
    cltv: HEIGHT + 50,
  });
  const ours2 = await d.pay("us", n++, {
    amountMsat: 20_000_000n,
    hash: hashOf(3),
    cltv: HEIGHT + 60,
  });
  await d.settle(ours1, n++);
  const theirs2 = await d.pay("peer", n++, {
    amountMsat: 30_000_000n,
    hash: hashOf(4),
    cltv: HEIGHT + 70,
  });
  await d.settle(theirs1, n++);
  await d.settle(ours2, n++);
  await d.settle(theirs2, n++);
  return n;
}

for (const anchors of [false, true]) {
  const kind = anchors ? "anchors" : "static_remotekey";
  Deno.test(`honest CLN traffic (${kind}, v6): open with feerate 0, payments both ways, mutual close`, async () => {
    const d = await ClnDriver.create({ anchors });
    await d.init();
    const n = await paymentsBothWays(d);
    const state = await d.signer.channelState(d.id);
    if (!state) throw new Error("no channel");
    // setup_channel's wire form is exactly the setup our node negotiated.
    deepStrictEqual(state.setup, d.setup);
    deepStrictEqual(
      [state.enforcement.nextHolderCommitNum, state.enforcement.nextCounterpartyCommitNum],
      [n, n],
    );
    // Version 6: get_per_commitment_point never returns an old secret.
    const p = await d.send({ type: "get_per_commitment_point", n: BigInt(n) });
    deepStrictEqual(p, {
      type: "get_per_commitment_point_reply",
      per_commitment_point: holderPoint(d.us.keys, n),
      old_commitment_secret: null,
    });
    // channeld's reestablish check: our secret 2 (released) is ours, a wrong one is not.
    const check = (k: number, secret: Uint8Array) =>
      d.send({
        type: "check_future_secret",
        n: BigInt(k),
        commitment_secret: new SecretBytes(secret),
      });
    strictEqual((await check(2, holderSecret(d.us.keys, 2))).correct, true);
    strictEqual((await check(2, holderSecret(d.us.keys, 3))).correct, false);
    // closingd: the peer's closing transaction pays our wallet key 3.
    const { ctx, tx } = d.closingCtx();
    const close = await d.send({
      type: "sign_mutual_close_tx",
      tx: ctx,
      remote_funding_key: d.peer.keys.fundingPubkey,
    });
    strictEqual(close.sig.sighash, SIGHASH.ALL);
    strictEqual(d.verifiesFundingSig(tx, close.sig.signature), true);
    strictEqual((await d.signer.channelState(d.id))?.enforcement.closed, true);
    assertAllAllowed(d.audit);
  });
}

Deno.test("version 5: validate returns no secret, 40 revokes, get_per_commitment_point(n) returns secret n-2 once revoked", async () => {
  const d = await ClnDriver.create();
  await d.init({ min: 5, max: 5 });
  const n = await paymentsBothWays(d);
  // H = n: commitment n - 1 is current, n - 2 revoked.
  const atH = await d.send({ type: "get_per_commitment_point", n: BigInt(n) });
  deepStrictEqual(
    toHex(atH.old_commitment_secret?.expose() ?? new Uint8Array()),
    toHex(holderSecret(d.us.keys, n - 2)),
  );
  const ahead = await d.send({ type: "get_per_commitment_point", n: BigInt(n + 1) });
  strictEqual(ahead.old_commitment_secret, null, "secret n - 1 is not revoked yet");
  deepStrictEqual(ahead.per_commitment_point, holderPoint(d.us.keys, n + 1));
  assertAllAllowed(d.audit);
});

Deno.test("version 4: validate revokes the previous commitment and returns its secret; 40 is unsupported", async () => {
  const d = await ClnDriver.create();
  await d.init({ min: 4, max: 4 });
  await d.open();
  await d.pay("us", 1, { amountMsat: 100_000_000n, hash: hashOf(1), cltv: HEIGHT + 40 });
  // The driver's weRevoke used the secret validate_commitment_tx released; check it there.
  deepStrictEqual(toHex(d.released.get(0) ?? new Uint8Array()), toHex(holderSecret(d.us.keys, 0)));
  const state = await d.signer.channelState(d.id);
  strictEqual(state?.enforcement.nextHolderCommitNum, 2);
  // CLN v4's channeld gets the old secret from get_per_commitment_point(revoke_index + 2).
  const p = await d.send({ type: "get_per_commitment_point", n: 2n });
  deepStrictEqual(
    toHex(p.old_commitment_secret?.expose() ?? new Uint8Array()),
    toHex(holderSecret(d.us.keys, 0)),
  );
  deepStrictEqual(await d.fail({ type: "revoke_commitment_tx", commit_num: 1n }), {
    code: SIGNER_ERROR.UNSUPPORTED,
    message: "unsupported: revoke_commitment_tx (40): needs protocol version 5 (negotiated 4)",
    temporary: false,
  });
  await d.pay("peer", 2, { amountMsat: 50_000_000n, hash: hashOf(2), cltv: HEIGHT + 50 });
  assertAllAllowed(d.audit);
});

// =================================================================================================
// LDK's phase-2 messages (version 4 through init_2)

/** We sign the peer's commitment `n` from its values (1019); the peer checks the signatures. */
async function ldkWeSign(d: ClnDriver, n: number): Promise<void> {
  const info = d.commitmentInfo("peer", n);
  const r = await d.send({
    type: "sign_remote_commitment_tx_2",
    remote_per_commitment_point: holderPoint(d.peer.keys, n),
    commitment_number: BigInt(n),
    feerate: FEERATE,
    // LDK's to_local is ours: the countersignatory's output on the peer's commitment.
    to_local_value_sat: info.toCountersignatorySat,
    to_remote_value_sat: info.toBroadcasterSat,
    htlcs: d.wireHtlcs(info, "peer"),
  });
  strictEqual(r.signature.sighash, SIGHASH.ALL);
  d.peerValidates(info, r.signature.signature, r.htlc_signatures.map((h) => h.signature));
}

/** The peer signs our commitment `n` for our point (1018); we validate it from its values (1035). */
async function ldkPeerSigns(
  d: ClnDriver,
  n: number,
): Promise<ReplyFor<"validate_commitment_tx_2">> {
  const point = (await d.send({ type: "get_per_commitment_point_2", commitment_number: BigInt(n) }))
    .point;
  const { info, sig, htlcSigs, htlcSighash } = d.peerSignature(n, point);
  const reply = await d.send({
    type: "validate_commitment_tx_2",
    commitment_number: BigInt(n),
    feerate: FEERATE,
    to_local_value_sat: info.toBroadcasterSat,
    to_remote_value_sat: info.toCountersignatorySat,
    htlcs: d.wireHtlcs(info, "us"),
    signature: { signature: sig, sighash: SIGHASH.ALL },
    htlc_signatures: htlcSigs.map((s) => ({ signature: s, sighash: htlcSighash })),
  });
  if (reply.old_commitment_secret !== null) {
    d.released.set(n - 1, reply.old_commitment_secret.expose().slice());
  }
  return reply;
}

/** init_2, new_channel, setup_channel, commitments 0 and 1 both ways through LDK's messages. */
async function ldkOpen(d: ClnDriver): Promise<void> {
  const init = await d.send({
    type: "init_2",
    derivation_style: 0,
    network_name: "regtest",
    dev_seed: null,
    dev_allowlist: [],
  }, ROOT);
  deepStrictEqual(init.node_id, US_NODE.nodeId);
  strictEqual(d.dispatcher.version, 4);
  await d.send({ type: "new_channel", id: PEER_ID, dbid: 1n }, ROOT);
  await d.send(d.setupMessage());
  await ldkWeSign(d, 0);
  const zero = await ldkPeerSigns(d, 0);
  strictEqual(zero.old_commitment_secret, null);
  // Commitments 1: nothing changes but the keys; validating ours revokes 0 at once (version 4).
  await ldkWeSign(d, 1);
  await d.peerRevokes(0);
  const one = await ldkPeerSigns(d, 1);
  deepStrictEqual(
    toHex(one.old_commitment_secret?.expose() ?? new Uint8Array()),
    toHex(holderSecret(d.us.keys, 0)),
  );
  await d.weRevoke(0);
}

Deno.test("LDK's messages: init_2, 1018, 1019, 1035 (version 4), then 1005 force close", async () => {
  const d = await ClnDriver.create();
  await ldkOpen(d);
  const forced = await d.send({ type: "sign_local_commitment_tx_2", commitment_number: 1n });
  const ours = d.rebuild("us", d.commitmentInfo("us", 1));
  strictEqual(d.verifiesFundingSig(ours.tx, forced.sig.signature), true);
  strictEqual((await d.signer.channelState(d.id))?.enforcement.forceClosedNumber, 1);
  assertAllAllowed(d.audit);
});

Deno.test("LDK's messages: 1021 mutual close from values, 1006 gossip; 34 forgets the channel", async () => {
  const d = await ClnDriver.create();
  await ldkOpen(d);
  const r = await d.send({
    type: "sign_mutual_close_tx_2",
    to_local_value_sat: d.openerMsat / 1000n - 1000n,
    to_remote_value_sat: d.acceptorMsat / 1000n,
    local_script: walletScript(3),
    remote_script: PEER_SCRIPT,
    local_wallet_path_hint: [3],
  });
  strictEqual(d.verifiesFundingSig(d.closingCtx().tx, r.sig.signature), true);
  // LDK's unsigned node announcement (the signed fields only).
  const alias = new Uint8Array(32);
  alias.set(utf8("warden"));
  const addresses = concat(Uint8Array.of(1, 127, 0, 0, 1), u16be(9735));
  const unsigned = concat(
    u16be(0),
    u32be(NOW - 10),
    US_NODE.nodeId,
    fromHex("ff9900"),
    alias,
    u16be(addresses.length),
    addresses,
  );
  const g = await d.send({ type: "sign_gossip_message", message: unsigned }, ROOT);
  strictEqual(ecdsaVerify(g.signature, sha256d(unsigned), US_NODE.nodeId), true);
  await d.send({ type: "forget_channel", id: PEER_ID, dbid: 1n }, ROOT);
  deepStrictEqual(await d.fail({ type: "get_per_commitment_point_2", commitment_number: 2n }), {
    code: SIGNER_ERROR.UNKNOWN_CHANNEL,
    message: "unknown channel: get_per_commitment_point_2: channel was forgotten",
    temporary: false,
  });
  assertAllAllowed(d.audit);
});

Deno.test("sign_commitment_tx (5) with a locktime of 0 is a mutual close (VLS's workaround)", async () => {
  const d = await ClnDriver.create();
  await d.init();
  await d.open();
  const { ctx, tx } = d.closingCtx();
  const r = await d.send({
    type: "sign_commitment_tx",
    peer_id: PEER_ID,
    channel_dbid: 1n,
    tx: ctx,
    remote_funding_key: d.peer.keys.fundingPubkey,
    commit_num: 0n,
  }, ROOT);
  strictEqual(d.verifiesFundingSig(tx, r.sig.signature), true);
  const e = (await d.signer.channelState(d.id))?.enforcement;
  deepStrictEqual([e?.closed, e?.forceClosedNumber], [true, null], "closed, not force-closed");
  strictEqual(d.audit[d.audit.length - 1].kind, "sign_mutual_close");
});

// =================================================================================================
// Force close and on-chain

/** A one-input sweep of output `vout` of `c` to our wallet key 5, as onchaind builds it. */
function sweepCtx(
  c: RebuiltCommitment,
  vout: number,
  o: { sequence: number; locktime?: number },
): Ctx {
  const out = c.outputs[vout];
  const tx = {
    version: 2,
    locktime: o.locktime ?? 0,
    inputs: [{
      txid: txid(c.tx),
      vout,
      scriptSig: new Uint8Array(),
      sequence: o.sequence,
      witness: [],
    }],
    outputs: [{ amount: out.amountSat - 500n, script: walletScript(5) }],
  };
  const psbt = createPsbt(copyTx(tx));
  psbt.inputs[0].witnessUtxo = { amount: out.amountSat, script: out.scriptPubKey };
  if (out.witnessScript) psbt.inputs[0].witnessScript = out.witnessScript;
  psbt.outputs[0].bip32Derivation = [{
    pubkey: US_NODE.walletPubkey(5),
    fingerprint: US_NODE.accountKey().fingerprint,
    path: [5],
  }];
  return { tx: copyTx(tx), psbt };
}

function indexOf(c: RebuiltCommitment, kind: string): number {
  const i = c.outputs.findIndex((o) => o.kind === kind);
  if (i < 0) throw new Error(`no ${kind}`);
  return i;
}

function verifies(
  ctx: Ctx,
  sig: { signature: Uint8Array; sighash: number },
  o: { script: Uint8Array; amount: bigint; key: Uint8Array; index?: number },
): boolean {
  const digest = sighashSegwitV0(ctx.psbt.tx, o.index ?? 0, {
    scriptCode: o.script,
    amount: o.amount,
    sighashType: sig.sighash,
  });
  return ecdsaVerify(sig.signature, digest, o.key);
}

for (const anchors of [false, true]) {
  const kind = anchors ? "anchors" : "static_remotekey";
  Deno.test(`force close and on-chain requests (${kind}): 5, 146, 16, 142, 12, 143, 13, 144, 14, 29, 7, 147, 149`, async () => {
    const d = await ClnDriver.create({ anchors });
    await d.init();
    await d.open();
    await d.pay("us", 1, { amountMsat: 100_000_000n, hash: hashOf(1), cltv: HEIGHT + 40 });
    await d.pay("peer", 2, { amountMsat: 50_000_000n, hash: hashOf(2), cltv: HEIGHT + 50 });
    const ours = d.rebuild("us", must(d.ours.get(2)));
    const theirs = d.rebuild("peer", must(d.theirs.get(2)));
    const revoked = d.rebuild("peer", must(d.theirs.get(0)));
    const peerPoint = holderPoint(d.peer.keys, 2);

    // 146 (lightningd, root) and 16 (onchaind, channel fd): our HTLC transactions.
    for (const [i, h] of ours.htlcTxs.entries()) {
      const ctx = d.htlcCtx(h);
      const common = {
        commit_num: 2n,
        tx: ctx,
        wscript: h.htlcWitnessScript,
        option_anchor_outputs: anchors,
      };
      const r = i === 0
        ? await d.send({
          type: "sign_any_local_htlc_tx",
          ...common,
          input: 0,
          peerid: PEER_ID,
          channel_dbid: 1n,
        }, ROOT)
        : await d.send({ type: "sign_local_htlc_tx", ...common });
      strictEqual(r.sig.sighash, SIGHASH.ALL);
      strictEqual(
        verifies(ctx, r.sig, {
          script: h.htlcWitnessScript,
          amount: h.inputAmountSat,
          key: ours.keys.broadcasterHtlcKey,
        }),
        true,
        "our HTLC transaction signature",
      );
    }
    // 142: our to_local after the delay the peer imposed (6 blocks).
    const local = indexOf(ours, "to_broadcaster");
    const sweep = sweepCtx(ours, local, { sequence: 6, locktime: HEIGHT });
    const delayed = await d.send({
      type: "sign_any_delayed_payment_to_us",
      commit_num: 2n,
      tx: sweep,
      wscript: must(ours.outputs[local].witnessScript),
      input: 0,
      peerid: PEER_ID,
      channel_dbid: 1n,
    }, ROOT);
    strictEqual(
      verifies(sweep, delayed.sig, {
        script: must(ours.outputs[local].witnessScript),
        amount: ours.outputs[local].amountSat,
        key: ours.keys.broadcasterDelayedPaymentKey,
      }),
      true,
    );
    // 12: the same from onchaind's channel fd (legacy form, input 0): the same signature.
    const legacy = await d.send({
      type: "sign_delayed_payment_to_us",
      commit_num: 2n,
      tx: sweep,
      wscript: must(ours.outputs[local].witnessScript),
    });
    deepStrictEqual(legacy, delayed);
    // 143 (13 for the first, from the channel fd): the HTLC outputs of the peer's commitment,
    // claimed with the preimage or timed out.
    let first = true;
    for (const [i, o] of theirs.outputs.entries()) {
      if (o.kind !== "htlc" || !o.htlc) continue;
      const ctx = sweepCtx(theirs, i, {
        sequence: anchors ? 1 : 0xfffffffd,
        locktime: o.htlc.offered ? HEIGHT : o.htlc.cltvExpiry,
      });
      const common = {
        remote_per_commitment_point: peerPoint,
        tx: ctx,
        wscript: must(o.witnessScript),
        option_anchor_outputs: anchors,
      };
      const r: ReplyFor<"sign_remote_htlc_to_us"> = first
        ? await d.send({ type: "sign_remote_htlc_to_us", ...common })
        : await d.send({
          type: "sign_any_remote_htlc_to_us",
          ...common,
          input: 0,
          peerid: PEER_ID,
          channel_dbid: 1n,
        }, ROOT);
      first = false;
      strictEqual(
        verifies(ctx, r.sig, {
          script: must(o.witnessScript),
          amount: o.amountSat,
          key: theirs.keys.countersignatoryHtlcKey,
        }),
        true,
      );
    }
    // 144: the revoked commitment 0 of the peer, with the secret it revealed.
    const toLocal = indexOf(revoked, "to_broadcaster");
    const justiceCtx = sweepCtx(revoked, toLocal, { sequence: 0xffffffff });
    const justice = await d.send({
      type: "sign_any_penalty_to_us",
      revocation_secret: new SecretBytes(holderSecret(d.peer.keys, 0)),
      tx: justiceCtx,
      wscript: must(revoked.outputs[toLocal].witnessScript),
      input: 0,
      peerid: PEER_ID,
      channel_dbid: 1n,
    }, ROOT);
    strictEqual(
      verifies(justiceCtx, justice.sig, {
        script: must(revoked.outputs[toLocal].witnessScript),
        amount: revoked.outputs[toLocal].amountSat,
        key: revoked.keys.revocationKey,
      }),
      true,
    );
    // 14: channeld's watchtower form, on the channel fd.
    const watchtower = await d.send({
      type: "sign_penalty_to_us",
      revocation_secret: new SecretBytes(holderSecret(d.peer.keys, 0)),
      tx: justiceCtx,
      wscript: must(revoked.outputs[toLocal].witnessScript),
    });
    deepStrictEqual(watchtower, justice);
    // 29: splice in 200k sat from wallet key 7 (channeld, channel fd).
    const fundingScript = d.fundingScript();
    // Our wallet's coins: output 1 (key 7) and output 2 (key 9) of a previous transaction, which
    // the PSBTs carry (non-witness UTXO) so that input amounts are vouched for.
    const prev = {
      version: 2,
      locktime: 0,
      inputs: [{
        txid: new Uint8Array(32).fill(0xdd),
        vout: 0,
        scriptSig: new Uint8Array(),
        sequence: 0xffffffff,
        witness: [],
      }],
      outputs: [
        { amount: 10_000n, script: walletScript(1) },
        { amount: 200_000n, script: walletScript(7) },
        { amount: 50_000n, script: walletScript(9) },
      ],
    };
    const walletTxid = txid(prev);
    const splice = {
      version: 2,
      locktime: 0,
      inputs: [
        {
          txid: fromHex(d.setup.fundingOutpoint.txid),
          vout: 0,
          scriptSig: new Uint8Array(),
          sequence: 0xfffffffd,
          witness: [],
        },
        {
          txid: walletTxid,
          vout: 1,
          scriptSig: new Uint8Array(),
          sequence: 0xfffffffd,
          witness: [],
        },
      ],
      outputs: [{ amount: 1_199_000n, script: p2wsh(fundingScript) }],
    };
    const splicePsbt = createPsbt(copyTx(splice));
    splicePsbt.inputs[0].witnessUtxo = { amount: 1_000_000n, script: p2wsh(fundingScript) };
    splicePsbt.inputs[0].witnessScript = fundingScript;
    splicePsbt.inputs[1].witnessUtxo = { amount: 200_000n, script: walletScript(7) };
    splicePsbt.inputs[1].bip32Derivation = [{
      pubkey: US_NODE.walletPubkey(7),
      fingerprint: US_NODE.accountKey().fingerprint,
      path: [7],
    }];
    const spliceCtx = { tx: copyTx(splice), psbt: splicePsbt };
    const spliced = await d.send({
      type: "sign_splice_tx",
      tx: spliceCtx,
      remote_funding_key: d.peer.keys.fundingPubkey,
      input_index: 0,
    });
    strictEqual(
      verifies(spliceCtx, spliced.sig, {
        script: fundingScript,
        amount: 1_000_000n,
        key: d.us.keys.fundingPubkey,
      }),
      true,
    );
    // 7: a withdrawal from wallet key 9 to wallet key 10.
    const withdrawal = {
      version: 2,
      locktime: 0,
      inputs: [{
        txid: walletTxid,
        vout: 2,
        scriptSig: new Uint8Array(),
        sequence: 0xfffffffd,
        witness: [],
      }],
      outputs: [{ amount: 49_000n, script: walletScript(10) }],
    };
    const wPsbt = createPsbt(copyTx(withdrawal));
    wPsbt.inputs[0].witnessUtxo = { amount: 50_000n, script: walletScript(9) };
    wPsbt.inputs[0].nonWitnessUtxo = prev;
    wPsbt.outputs[0].bip32Derivation = [{
      pubkey: US_NODE.walletPubkey(10),
      fingerprint: US_NODE.accountKey().fingerprint,
      path: [10],
    }];
    const utxo9 = {
      txid: walletTxid,
      outnum: 2,
      amount_sat: 50_000n,
      keyindex: 9,
      is_p2sh: false,
      script_pubkey: walletScript(9),
      close_info: null,
      is_in_coinbase: false,
    };
    const w = await d.send({ type: "sign_withdrawal", inputs: [utxo9], psbt: wPsbt }, ROOT);
    const wSig = w.psbt.inputs[0].partialSigs[0];
    deepStrictEqual(wSig.pubkey, US_NODE.walletPubkey(9));
    strictEqual(wSig.signature[wSig.signature.length - 1], SIGHASH.ALL);
    strictEqual(
      ecdsaVerify(
        derDecode(wSig.signature.subarray(0, -1)),
        sighashSegwitV0(withdrawal, 0, {
          scriptCode: p2wpkhScriptCode(US_NODE.walletPubkey(9)),
          amount: 50_000n,
          sighashType: SIGHASH.ALL,
        }),
        US_NODE.walletPubkey(9),
      ),
      true,
    );
    if (anchors) {
      // 147: bump our commitment through our anchor, with wallet key 9 paying the fee.
      const a = indexOf(ours, "anchor_broadcaster");
      const bump = {
        version: 2,
        locktime: 0,
        inputs: [
          {
            txid: txid(ours.tx),
            vout: a,
            scriptSig: new Uint8Array(),
            sequence: 0xfffffffd,
            witness: [],
          },
          {
            txid: walletTxid,
            vout: 2,
            scriptSig: new Uint8Array(),
            sequence: 0xfffffffd,
            witness: [],
          },
        ],
        outputs: [{ amount: 49_000n, script: walletScript(10) }],
      };
      const bPsbt = createPsbt(copyTx(bump));
      bPsbt.inputs[0].witnessUtxo = { amount: 330n, script: ours.outputs[a].scriptPubKey };
      bPsbt.inputs[0].nonWitnessUtxo = copyTx(ours.tx);
      bPsbt.inputs[1].witnessUtxo = { amount: 50_000n, script: walletScript(9) };
      bPsbt.inputs[1].nonWitnessUtxo = prev;
      bPsbt.outputs[0].bip32Derivation = wPsbt.outputs[0].bip32Derivation;
      const feesBefore = await onchainFeeWindows(d.store);
      const b = await d.send({
        type: "sign_anchorspend",
        peerid: PEER_ID,
        channel_dbid: 1n,
        inputs: [utxo9],
        psbt: bPsbt,
      }, ROOT);
      // Judged as sign_onchain and as sign_anchor_spend, the bump's fee (50,330 - 49,000 sat)
      // enters the daily on-chain fee window once, through the anchor-spend clause.
      const feesAfter = await onchainFeeWindows(d.store);
      deepStrictEqual(
        [feesAfter[0] - feesBefore[0], feesAfter[1] - feesBefore[1]],
        [1_330_000n, 0n],
        "fee windows (sign_anchor_spend, sign_onchain)",
      );
      const anchorSig = b.psbt.inputs[0].partialSigs[0];
      deepStrictEqual(anchorSig.pubkey, d.us.keys.fundingPubkey);
      deepStrictEqual(b.psbt.inputs[0].witnessScript, anchorScript(d.us.keys.fundingPubkey));
      strictEqual(
        ecdsaVerify(
          derDecode(anchorSig.signature.subarray(0, -1)),
          sighashSegwitV0(bump, 0, {
            scriptCode: anchorScript(d.us.keys.fundingPubkey),
            amount: 330n,
            sighashType: anchorSig.signature[anchorSig.signature.length - 1],
          }),
          d.us.keys.fundingPubkey,
        ),
        true,
        "anchor signature",
      );
      deepStrictEqual(b.psbt.inputs[1].partialSigs[0].pubkey, US_NODE.walletPubkey(9));
      // 149: our HTLC-timeout transaction with wallet key 9 adding the fee and taking change.
      const h = ours.htlcTxs[0];
      const mingle = copyTx(h.tx);
      mingle.inputs.push({
        txid: walletTxid,
        vout: 2,
        scriptSig: new Uint8Array(),
        sequence: 0xfffffffd,
        witness: [],
      });
      mingle.outputs.push({ amount: 45_000n, script: walletScript(11) });
      const mPsbt = createPsbt(copyTx(mingle));
      mPsbt.inputs[0].witnessUtxo = {
        amount: h.inputAmountSat,
        script: p2wsh(h.htlcWitnessScript),
      };
      mPsbt.inputs[0].witnessScript = h.htlcWitnessScript;
      mPsbt.inputs[1].witnessUtxo = { amount: 50_000n, script: walletScript(9) };
      mPsbt.inputs[1].nonWitnessUtxo = prev;
      mPsbt.outputs[0].witnessScript = h.outputWitnessScript;
      mPsbt.outputs[1].bip32Derivation = [{
        pubkey: US_NODE.walletPubkey(11),
        fingerprint: US_NODE.accountKey().fingerprint,
        path: [11],
      }];
      const m = await d.send({
        type: "sign_htlc_tx_mingle",
        peerid: PEER_ID,
        channel_dbid: 1n,
        inputs: [utxo9],
        psbt: mPsbt,
      }, ROOT);
      strictEqual(m.psbt.inputs[0].partialSigs.length, 0, "the HTLC input is 146's business");
      deepStrictEqual(m.psbt.inputs[1].partialSigs[0].pubkey, US_NODE.walletPubkey(9));
    }
    // 5 (lightningd, root): force close on our current commitment 2; the rest of the tx is ignored.
    const current = d.commitmentCtx(ours);
    const forced = await d.send({
      type: "sign_commitment_tx",
      peer_id: PEER_ID,
      channel_dbid: 1n,
      tx: current,
      remote_funding_key: d.peer.keys.fundingPubkey,
      commit_num: 2n,
    }, ROOT);
    strictEqual(forced.sig.sighash, SIGHASH.ALL);
    strictEqual(d.verifiesFundingSig(ours.tx, forced.sig.signature), true);
    const state = await d.signer.channelState(d.id);
    strictEqual(state?.enforcement.forceClosedNumber, 2);
    assertAllAllowed(d.audit);
  });
}

// =================================================================================================
// Node-level messages

Deno.test("node messages: ecdh, invoices, messages, secrets, pubkeys, bolt12, info, tip, heartbeat", async () => {
  const d = await ClnDriver.create();
  await d.init();
  // 1: ECDH, on the root and on a channel fd (channeld's onions).
  const k = new Uint8Array(32).fill(0x5a);
  for (const context of [ROOT, CHANNEL]) {
    const r = await d.send({ type: "ecdh_req", point: publicKey(k) }, context);
    deepStrictEqual(toHex(r.ss.expose()), toHex(ecdh(k, US_NODE.nodeId)));
  }
  // 8: an invoice we issue.
  const words = invoiceWords(hashOf(9));
  const hrp = utf8("lnbcrt10u");
  const inv = await d.send({ type: "sign_invoice", u5bytes: words, hrp }, ROOT);
  const digest = sha256(concat(hrp, packWords(words)));
  deepStrictEqual(ecdsaRecover(inv.sig.subarray(0, 64), inv.sig[64], digest), US_NODE.nodeId);
  // 23: signmessage.
  const msg = utf8("hello from CLN");
  const signed = await d.send({ type: "sign_message", msg }, ROOT);
  const msgDigest = sha256d(concat(utf8("Lightning Signed Message:"), msg));
  deepStrictEqual(
    ecdsaRecover(signed.sig.subarray(0, 64), signed.sig[64], msgDigest),
    US_NODE.nodeId,
  );
  // 27: derive_secret, as lightningd asks at startup.
  const secret = await d.send({ type: "derive_secret", info: utf8("bolt12-invoice-base") }, ROOT);
  deepStrictEqual(
    toHex(secret.secret.expose()),
    toHex(US_NODE.deriveSecret("bolt12-invoice-base").expose()),
  );
  // 28: check_pubkey.
  strictEqual(
    (await d.send({ type: "check_pubkey", index: 5, pubkey: US_NODE.walletPubkey(5) }, ROOT)).ok,
    true,
  );
  strictEqual(
    (await d.send({ type: "check_pubkey", index: 6, pubkey: US_NODE.walletPubkey(5) }, ROOT)).ok,
    false,
  );
  // 25 and 41 without a tweak: the node key signs the BOLT #12 tagged hash.
  const root = sha256(utf8("merkle"));
  const bolt12Digest = taggedHash("lightninginvoicesignature", root);
  const b1 = await d.send({
    type: "sign_bolt12",
    messagename: "invoice",
    fieldname: "signature",
    merkleroot: root,
    publictweak: new Uint8Array(),
  }, ROOT);
  strictEqual(schnorrVerify(b1.sig, bolt12Digest, US_NODE.nodeId.subarray(1)), true);
  const b2 = await d.send({
    type: "sign_bolt12_2",
    messagename: "invoice",
    fieldname: "signature",
    merkleroot: root,
    info: utf8("node-alias-base"),
    publictweak: new Uint8Array(),
  }, ROOT);
  strictEqual(schnorrVerify(b2.sig, bolt12Digest, US_NODE.nodeId.subarray(1)), true);
  // 1012, 2002, 2008, 1036, 33, 37, 32.
  deepStrictEqual(await d.send({ type: "node_info" }, ROOT), {
    type: "node_info_reply",
    network_name: "regtest",
    node_id: US_NODE.nodeId,
    bip32: xpubBytes(US_NODE.accountKey(), REGTEST.bip32.public),
  });
  deepStrictEqual(await d.send({ type: "tip_info" }, ROOT), {
    type: "tip_info_reply",
    height: 0,
    block_hash: new Uint8Array(32),
  });
  const hb = await d.send({ type: "get_heartbeat" }, ROOT);
  const verdict = verifyHeartbeat(hb.heartbeat, {
    pubkey: heartbeatPubkey(US_NODE),
    now: NOW,
    network: "regtest",
  });
  strictEqual(verdict.valid, true);
  deepStrictEqual(verdict.heartbeat?.chainHeight, 0);
  const random = await d.send({ type: "get_secure_random_bytes" }, ROOT);
  strictEqual(random.data.length, 32);
  deepStrictEqual(await d.send({ type: "dev_memleak" }, ROOT), {
    type: "dev_memleak_reply",
    leak: false,
  });
  deepStrictEqual(await d.send({ type: "forward_watches" }, ROOT), {
    type: "forward_watches_reply",
    txids: [],
    outpoints: [],
  });
  deepStrictEqual(await d.send({ type: "reverse_watches" }, ROOT), {
    type: "reverse_watches_reply",
    txids: [],
    outpoints: [],
  });
  deepStrictEqual(
    await d.send({
      type: "block_chunk",
      hash: new Uint8Array(32),
      offset: 0,
      content: new Uint8Array(10),
    }, ROOT),
    { type: "block_chunk_reply" },
  );
  assertAllAllowed(d.audit);
});

Deno.test("chain: add_block from an untracked tip is height 1, then extends it; orphans are 401; heartbeat follows", async () => {
  const d = await ClnDriver.create();
  await d.init();
  const b1 = regtestHeader(REGTEST.genesisHash, NOW - 600);
  await d.send({ type: "add_block", header: b1, unspent_proof: new Uint8Array([1, 2, 3]) }, ROOT);
  deepStrictEqual(await d.send({ type: "tip_info" }, ROOT), {
    type: "tip_info_reply",
    height: 1,
    block_hash: sha256d(b1),
  });
  const b2 = regtestHeader(sha256d(b1), NOW - 300);
  await d.send({ type: "add_block", header: b2, unspent_proof: null }, ROOT);
  const orphan = regtestHeader(new Uint8Array(32).fill(9), NOW);
  deepStrictEqual(await d.fail({ type: "add_block", header: orphan, unspent_proof: null }, ROOT), {
    code: SIGNER_ERROR.ORPHAN_BLOCK,
    message: "orphan: policy: refused by policy-chain-validated",
    temporary: false,
  });
  const hb = await d.send({ type: "get_heartbeat" }, ROOT);
  const verdict = verifyHeartbeat(hb.heartbeat, {
    pubkey: heartbeatPubkey(US_NODE),
    now: NOW,
    network: "regtest",
  });
  deepStrictEqual([
    verdict.valid,
    verdict.heartbeat?.chainHeight,
    verdict.heartbeat?.chainTimestamp,
  ], [true, 2, NOW - 300]);
  deepStrictEqual(toHex(verdict.heartbeat?.chainTip ?? new Uint8Array()), toHex(sha256d(b2)));
  await d.send({
    type: "remove_block",
    unspent_proof: null,
    header: b2,
    prev_filter_header: new Uint8Array(32),
  }, ROOT);
  strictEqual((await d.send({ type: "tip_info" }, ROOT)).height, 1);
  deepStrictEqual(
    (await d.fail({ type: "add_block", header: new Uint8Array(79), unspent_proof: null }, ROOT))
      .code,
    SIGNER_ERROR.MALFORMED,
  );
});

Deno.test("gossip: channel announcement (4, 2), channel update (3), node announcement (6)", async () => {
  const d = await ClnDriver.create();
  await d.init();
  await d.open();
  const scid = (BigInt(HEIGHT - 10) << 40n) | (7n << 16n) | 0n;
  const ours = { node: US_NODE.nodeId, key: d.us.keys.fundingPubkey };
  const theirs = { node: PEER_ID, key: d.peer.keys.fundingPubkey };
  const [a, b] = compare(ours.node, theirs.node) < 0 ? [ours, theirs] : [theirs, ours];
  const body = concat(u16be(0), REGTEST.genesisHash, u64be(scid), a.node, b.node, a.key, b.key);
  const ca = concat(u16be(256), new Uint8Array(256), body);
  const any = await d.send({
    type: "sign_any_cannouncement_req",
    ca,
    peerid: PEER_ID,
    channel_dbid: 1n,
  }, ROOT);
  strictEqual(ecdsaVerify(any.node_signature, sha256d(body), US_NODE.nodeId), true);
  strictEqual(ecdsaVerify(any.bitcoin_signature, sha256d(body), d.us.keys.fundingPubkey), true);
  const onChannel = await d.send({ type: "cannouncement_sig_req", ca });
  deepStrictEqual(onChannel.node_signature, any.node_signature);
  const update = concat(
    u16be(258),
    new Uint8Array(64),
    REGTEST.genesisHash,
    u64be(scid),
    u32be(NOW),
    Uint8Array.of(1, 0),
    u16be(144),
    u64be(1000n),
    u32be(1000),
    u32be(250),
    u64be(990_000_000n),
  );
  const cu = (await d.send({ type: "cupdate_sig_req", cu: update }, ROOT)).cu;
  deepStrictEqual(toHex(cu.subarray(66)), toHex(update.subarray(66)));
  strictEqual(ecdsaVerify(cu.subarray(2, 66), sha256d(cu.subarray(66)), US_NODE.nodeId), true);
  const alias = new Uint8Array(32);
  alias.set(utf8("warden"));
  const addresses = concat(Uint8Array.of(1, 127, 0, 0, 1), u16be(9735));
  const naBody = concat(
    u16be(0),
    u32be(NOW - 10),
    US_NODE.nodeId,
    fromHex("ff9900"),
    alias,
    u16be(addresses.length),
    addresses,
  );
  const na = await d.send({
    type: "node_announcement_sig_req",
    announcement: concat(u16be(257), new Uint8Array(64), naBody),
  }, ROOT);
  strictEqual(ecdsaVerify(na.signature, sha256d(naBody), US_NODE.nodeId), true);
  assertAllAllowed(d.audit);
});

Deno.test("preapprove: an allowlisted payee is approved; an unknown one answers false, audited with its rule", async () => {
  const d = await ClnDriver.create();
  await d.init();
  const ok = await d.send({
    type: "preapprove_invoice",
    invstring: invoiceFor(hashOf(1), 5_000n, PAYEE_SECRET),
  }, ROOT);
  strictEqual(ok.approved, true);
  const audited = d.audit.length;
  const no = await d.send({
    type: "preapprove_invoice",
    invstring: invoiceFor(hashOf(2), 5_000n, STRANGER_SECRET),
  }, ROOT);
  strictEqual(no.approved, false);
  const keysend = await d.send({
    type: "preapprove_keysend",
    destination: STRANGER,
    payment_hash: hashOf(3),
    amount_msat: 5_000n,
  }, ROOT);
  strictEqual(keysend.approved, false);
  strictEqual(d.audit.length, audited + 2);
  for (
    const [entry, kind] of [[d.audit[audited], "preapprove_invoice"], [
      d.audit[audited + 1],
      "preapprove_keysend",
    ]] as const
  ) {
    deepStrictEqual(
      [entry.kind, entry.decision.allowed, entry.decision.violations.map((v) => v.rule)],
      [kind, false, ["policy-commitment-payment-approved"]],
    );
  }
  // An invoice that does not decode is a malformed request, not a refusal.
  const bad = await d.fail({ type: "preapprove_invoice", invstring: "lnbcrt1notaninvoice" }, ROOT);
  strictEqual(bad.code, SIGNER_ERROR.MALFORMED);
  strictEqual(bad.message.startsWith("malformed: preapprove_invoice: "), true, bad.message);
});

// =================================================================================================
// Refusals and malformed requests

Deno.test("a tampered sign_remote_commitment_tx is refused by rule id; nothing changes; the honest one is served", async () => {
  const d = await ClnDriver.create();
  await d.init();
  await d.open();
  const before = JSON.stringify(
    await d.store.list(""),
    (_k, v) => typeof v === "bigint" ? `${v}` : v,
  );
  // The peer's node moves 100k sat of ours to its own main output.
  const m = d.signRemoteMessage(1);
  const outs = m.tx.psbt.tx.outputs;
  const theirs = outs.findIndex((o) => o.amount === 300_000n);
  const mine = outs.findIndex((o) => o.amount !== 300_000n);
  const tamper = (t: typeof m.tx.tx) => {
    t.outputs[theirs].amount += 100_000n;
    t.outputs[mine].amount -= 100_000n;
  };
  tamper(m.tx.tx);
  tamper(m.tx.psbt.tx);
  const error = await d.fail(m);
  strictEqual(error.code, SIGNER_ERROR.POLICY);
  deepStrictEqual(error.message, "policy: refused by policy-routing-deltas-only-htlc");
  strictEqual(
    JSON.stringify(await d.store.list(""), (_k, v) => typeof v === "bigint" ? `${v}` : v),
    before,
  );
  const last = d.audit[d.audit.length - 1];
  deepStrictEqual([last.kind, last.decision.allowed], ["sign_counterparty_commitment", false]);
  await d.weSign(1);
});

Deno.test("malformed bodies: truncated, unknown type, bad point, bad bsig; each names message and field, the next is served", async () => {
  const d = await ClnDriver.create();
  await d.init();
  const ping = () => d.send({ type: "ping", id: 1, message: "x" }, ROOT);
  const good = encodeMessage({ type: "check_pubkey", index: 5, pubkey: US_NODE.walletPubkey(5) });
  deepStrictEqual(await d.fail(good.subarray(0, good.length - 3), ROOT), {
    code: SIGNER_ERROR.MALFORMED,
    message: "malformed: check_pubkey.pubkey: truncated (needs 33 bytes, 30 left)",
    temporary: false,
  });
  await ping();
  deepStrictEqual(await d.fail(fromHex("7777"), ROOT), {
    code: SIGNER_ERROR.UNKNOWN_MESSAGE,
    message: "unknown message type 30583",
    temporary: false,
  });
  await ping();
  const badPoint = concat(u16be(30), Uint8Array.of(2), new Uint8Array(32), u64be(1n));
  deepStrictEqual(await d.fail(badPoint, ROOT), {
    code: SIGNER_ERROR.MALFORMED,
    message: "malformed: new_channel.id: not a valid compressed secp256k1 point",
    temporary: false,
  });
  await ping();
  deepStrictEqual((await d.fail(fromHex("00"), ROOT)).code, SIGNER_ERROR.MALFORMED);
  deepStrictEqual(
    (await d.fail(concat(good, Uint8Array.of(0)), ROOT)).message,
    "malformed: check_pubkey: 1 trailing byte after the last field",
  );
  // A validate_commitment_tx whose commitment signature is not SIGHASH_ALL.
  await d.open();
  const body = encodeMessage({
    type: "validate_commitment_tx",
    tx: d.commitmentCtx(d.rebuild("us", d.commitmentInfo("us", 1))),
    htlcs: [],
    commit_num: 1n,
    feerate: FEERATE,
    sig: { signature: new Uint8Array(64).fill(1), sighash: SIGHASH.SINGLE },
    htlc_sigs: [],
  });
  deepStrictEqual(await d.fail(body), {
    code: SIGNER_ERROR.MALFORMED,
    message: "malformed: validate_commitment_tx.sig: the commitment signature must be SIGHASH_ALL",
    temporary: false,
  });
  await ping();
  assertAllAllowed(d.audit);
});

Deno.test("contexts and unsupported messages: wrong context, unknown channel, unsupported ids, bad context", async () => {
  const d = await ClnDriver.create();
  await d.init();
  deepStrictEqual(await d.fail({ type: "get_per_commitment_point", n: 0n }, ROOT), {
    code: SIGNER_ERROR.WRONG_CONTEXT,
    message:
      "wrong context: get_per_commitment_point (18) needs a channel context (peer id and dbid > 0)",
    temporary: false,
  });
  // A channel fd for a channel the node never created.
  deepStrictEqual(await d.fail({ type: "get_per_commitment_point", n: 0n }), {
    code: SIGNER_ERROR.UNKNOWN_CHANNEL,
    message: "unknown channel: get_per_commitment_point: no such channel",
    temporary: false,
  });
  const unsupported: HsmdRequest[] = [
    { type: "client_hsmfd", id: PEER_ID, dbid: 1n, permissions: 447n },
    { type: "get_output_scriptpubkey", channel_id: 1n, peer_id: PEER_ID, commitment_point: null },
    {
      type: "sign_option_will_fund_offer",
      funding_pubkey: PEER_ID,
      blockheight: 1,
      channel_fee_base_max_msat: 1,
      channel_fee_proportional_basis_max: 1,
    },
    { type: "bip137_sign_message", msg: utf8("x"), keyidx: 0 },
    { type: "preapprove_invoice_check", invstring: "x", check_only: true },
    {
      type: "preapprove_keysend_check",
      destination: PAYEE,
      payment_hash: hashOf(1),
      amount_msat: 1n,
      check_only: true,
    },
    { type: "check_bip86_pubkey", index: 0, pubkey: PAYEE },
  ];
  const codes = [];
  for (const m of unsupported) codes.push((await d.fail(m, ROOT)).code);
  deepStrictEqual(codes, unsupported.map(() => SIGNER_ERROR.UNSUPPORTED));
  deepStrictEqual(
    (await d.fail({
      type: "get_output_scriptpubkey",
      channel_id: 1n,
      peer_id: PEER_ID,
      commitment_point: null,
    }, ROOT)).message,
    "unsupported: get_output_scriptpubkey (24): only used by a CLN database migration",
  );
  // A transport passing a broken context gets a malformed reply, not a crash.
  const reply = await d.dispatcher.handle(
    { peerId: new Uint8Array(5), dbid: 1n },
    encodeMessage({ type: "dev_memleak" }),
  );
  deepStrictEqual(signerErrorOf(reply ?? new Uint8Array()), {
    code: SIGNER_ERROR.MALFORMED,
    message: "malformed: context: peer id must be 33 bytes",
    temporary: false,
  });
  // dbid 0 with connectd's peer id is the root.
  strictEqual(
    (await d.send({ type: "node_info" }, { peerId: PEER_ID, dbid: 0n })).type,
    "node_info_reply",
  );
});

Deno.test("check_outpoint: true without a chain view (CLN's and VLS's stubs); funding depth with one", async () => {
  const stub = await ClnDriver.create();
  await stub.init();
  await stub.open();
  const funding = { funding_txid: fromHex(stub.setup.fundingOutpoint.txid), funding_txout: 0 };
  deepStrictEqual(await stub.send({ type: "check_outpoint", ...funding }), {
    type: "check_outpoint_reply",
    is_buried: true,
  });
  deepStrictEqual(await stub.send({ type: "lock_outpoint", ...funding }), {
    type: "lock_outpoint_reply",
  });
  const chain = { tracked: true, depth: 0, fundingDepth: () => chain.depth };
  const d = await ClnDriver.create({ dispatchChain: chain });
  await d.init();
  await d.open();
  strictEqual((await d.send({ type: "check_outpoint", ...funding })).is_buried, false);
  chain.depth = 1;
  strictEqual((await d.send({ type: "check_outpoint", ...funding })).is_buried, true);
});

// =================================================================================================
// The dispatcher around a failing signer

function failingSigner(error: unknown): DispatchSigner {
  const fail = () => Promise.reject(error);
  return new Proxy({}, {
    get: (_t, name) => name === "identity" ? US_NODE : name === "tipInfo" ? () => undefined : fail,
  }) as DispatchSigner;
}

async function initialised(signer: DispatchSigner): Promise<Dispatcher> {
  const dispatcher = new Dispatcher(signer, { network: "regtest" });
  const reply = await dispatcher.handle(ROOT, encodeMessage(initMessage()));
  deepStrictEqual(reply?.subarray(0, 2), u16be(114));
  return dispatcher;
}

Deno.test("failures of the signer: temporary refusals, refusals as false on preapprove, internal errors without secrets", async () => {
  const keysend = encodeMessage({
    type: "preapprove_keysend",
    destination: PAYEE,
    payment_hash: hashOf(1),
    amount_msat: 1n,
  });
  const temporary = await initialised(
    failingSigner(
      new PolicyRefusal("preapprove_keysend", { rules: ["policy-x"], temporary: true }),
    ),
  );
  deepStrictEqual(signerErrorOf(must(await temporary.handle(ROOT, keysend))), {
    code: SIGNER_ERROR.TEMPORARY,
    message: "temporary: refused by policy-x",
    temporary: true,
  });
  const refused = await initialised(
    failingSigner(
      new PolicyRefusal("preapprove_keysend", { rules: ["policy-x"], temporary: false }),
    ),
  );
  deepStrictEqual(
    toHex(must(await refused.handle(ROOT, keysend))),
    toHex(concat(u16be(139), Uint8Array.of(0))),
  );
  const secretText = "00".repeat(32);
  const internal = await initialised(failingSigner(new TypeError(`secret ${secretText} leaked`)));
  const reply = signerErrorOf(
    must(await internal.handle(ROOT, encodeMessage({ type: "derive_secret", info: utf8("x") }))),
  );
  deepStrictEqual(reply, {
    code: SIGNER_ERROR.INTERNAL,
    message: "internal: derive_secret: TypeError",
    temporary: false,
  });
  // A failure in the middle of a request leaves the dispatcher serving the next one.
  deepStrictEqual(
    toHex(must(await internal.handle(ROOT, encodeMessage({ type: "ping", id: 2, message: "" })))),
    toHex(concat(u16be(1100), u16be(2), utf8("pong\0"))),
  );
});

Deno.test("requests are served one at a time, in arrival order, even when a signer call is slow", async () => {
  const order: string[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => release = r);
  const signer = new Proxy({}, {
    get: (_t, name) => {
      if (name === "identity") return US_NODE;
      if (name === "deriveSecret") {
        return async () => {
          order.push("derive:start");
          await gate;
          order.push("derive:end");
          return new Uint8Array(32);
        };
      }
      if (name === "checkPubkey") {
        return () => Promise.resolve(void order.push("check")).then(() => true);
      }
      return () => Promise.reject(new Error("unexpected"));
    },
  }) as DispatchSigner;
  const dispatcher = await initialised(signer);
  const first = dispatcher.handle(ROOT, encodeMessage({ type: "derive_secret", info: utf8("a") }));
  const second = dispatcher.handle(
    ROOT,
    encodeMessage({ type: "check_pubkey", index: 1, pubkey: PAYEE }),
  );
  await new Promise((r) => setTimeout(r, 0));
  release();
  await Promise.all([first, second]);
  deepStrictEqual(order, ["derive:start", "derive:end", "check"]);
  strictEqual(p2wpkh(PAYEE).length, 22);
});

// =================================================================================================
// Every message, with random valid fields

Deno.test("every request type with random valid fields, root and channel: a well-formed reply, never a throw", async () => {
  const d = await ClnDriver.create();
  await d.init();
  await d.open();
  const codes = new Set<number>(Object.values(SIGNER_ERROR));
  for (const def of REQUESTS as readonly RequestDef[]) {
    if (def.shadowedBy !== undefined) continue;
    const expect = [...def.replies.map((r) => r.name as ReplyName), "signer_error" as const];
    await fc.assert(
      fc.asyncProperty(arbitraryFor(def.codec), fc.boolean(), async (fields, root) => {
        const w = new Writer({ where: def.name });
        w.push(u16be(def.id));
        def.codec.write(w, fields as StructValue<Fields>);
        const body = w.finish();
        if (body.length > MAX_BODY_SIZE) return;
        const reply = await d.dispatcher.handle(root ? ROOT : CHANNEL, body);
        if (def.name === "dev_preinit") return strictEqual(reply, NO_REPLY);
        if (reply === null) throw new Error(`${def.name}: no reply`);
        const decoded = decodeReply(reply, { expect });
        if (decoded.type !== "signer_error") return;
        strictEqual(codes.has(decoded.code), true, `${def.name}: code ${decoded.code}`);
        notStrictEqual(decoded.code, SIGNER_ERROR.INTERNAL, `${def.name}: ${decoded.message}`);
        if (UNSUPPORTED_MESSAGES.includes(def.name as RequestName)) {
          strictEqual(decoded.code, SIGNER_ERROR.UNSUPPORTED, def.name);
        } else {
          notStrictEqual(decoded.code, SIGNER_ERROR.UNKNOWN_MESSAGE, def.name);
        }
      }),
      { numRuns: 10 },
    );
  }
  // Still serving normally afterwards (the random requests may have closed the channel: a random
  // sign_local_commitment_tx_2 of commitment 0 is an honest force close).
  strictEqual((await d.send({ type: "ping", id: 3, message: "" }, ROOT)).message, "pong");
  strictEqual((await d.send({ type: "node_info" }, ROOT)).network_name, "regtest");
});

// =================================================================================================
// Replies that would not fit

/**
 * A withdrawal of `count` wallet coins (key 9, 50 000 sat each, each from its own previous
 * transaction, carried in the PSBT so that the amounts are vouched for) to wallet key 10 with a
 * 20 000-sat fee, its PSBT padded with a proprietary global record of `padding` bytes.
 */
function withdrawal(count: number, padding: number): RequestOf<"sign_withdrawal"> {
  const prevs = Array.from({ length: count }, (_, i) => ({
    version: 2,
    locktime: 0,
    inputs: [{
      txid: concat(u32be(i), new Uint8Array(28).fill(0xee)),
      vout: 0,
      scriptSig: new Uint8Array(),
      sequence: 0xffffffff,
      witness: [],
    }],
    outputs: [{ amount: 50_000n, script: walletScript(9) }],
  }));
  const tx = {
    version: 2,
    locktime: 0,
    inputs: prevs.map((p) => ({
      txid: txid(p),
      vout: 0,
      scriptSig: new Uint8Array(),
      sequence: 0xfffffffd,
      witness: [],
    })),
    outputs: [{ amount: BigInt(count) * 50_000n - 20_000n, script: walletScript(10) }],
  };
  const psbt = createPsbt(copyTx(tx));
  prevs.forEach((p, i) => {
    psbt.inputs[i].witnessUtxo = { amount: 50_000n, script: walletScript(9) };
    psbt.inputs[i].nonWitnessUtxo = p;
  });
  psbt.outputs[0].bip32Derivation = [{
    pubkey: US_NODE.walletPubkey(10),
    fingerprint: US_NODE.accountKey().fingerprint,
    path: [10],
  }];
  if (padding > 0) {
    psbt.unknownGlobals = [{
      keyType: 0xfc,
      keyData: utf8("\x06warden"),
      value: new Uint8Array(padding).fill(0x5a),
    }];
  }
  return {
    type: "sign_withdrawal",
    inputs: prevs.map((p) => ({
      txid: txid(p),
      outnum: 0,
      amount_sat: 50_000n,
      keyindex: 9,
      is_p2sh: false,
      script_pubkey: walletScript(9),
      close_info: null,
      is_in_coinbase: false,
    })),
    psbt,
  };
}

/** {@link withdrawal} padded so that its encoded request is exactly `size` bytes. */
function withdrawalOfSize(count: number, size: number): RequestOf<"sign_withdrawal"> {
  let m = withdrawal(count, 0);
  // The request without its PSBT, whose size does not depend on the padding.
  const rest = encodeMessage(m).length - encodePsbt(m.psbt).length;
  const length = (r: RequestOf<"sign_withdrawal">) => rest + encodePsbt(r.psbt).length;
  let padding = 0;
  for (let i = 0; i < 4 && length(m) !== size; i++) {
    padding += size - length(m);
    m = withdrawal(count, padding);
  }
  strictEqual(encodeMessage(m).length, size);
  return m;
}

function storeJson(entries: unknown): string {
  return JSON.stringify(entries, (_k, v) => typeof v === "bigint" ? `${v}` : v);
}

Deno.test("sign_withdrawal (7) whose signed PSBT would exceed the body cap is refused before signing; the store does not change", async () => {
  const d = await ClnDriver.create();
  await d.init();
  const before = storeJson(await d.store.list(""));
  const audited = d.audit.length;

  // The review's request: 300 inputs and padding, 131 066 bytes (the cap is 131 072); signing
  // adds a ~108-byte partial signature per input.
  const big = withdrawalOfSize(300, 131_066);
  const bound = signedPsbtReplyBound(big.psbt, { utxos: big.inputs });
  deepStrictEqual(bound, {
    bytes: 2 + 4 + encodePsbt(big.psbt).length + 300 * PARTIAL_SIG_RECORD_MAX,
    signatures: 300,
  });
  ok(bound.bytes > MAX_BODY_SIZE);
  deepStrictEqual(await d.fail(big, ROOT), {
    code: SIGNER_ERROR.MALFORMED,
    message:
      `malformed: sign_withdrawal.psbt: the signed PSBT would exceed the body cap (up to ${bound.bytes} bytes with 300 signatures; at most ${MAX_BODY_SIZE})`,
    temporary: false,
  });
  // 149 the same way (its wallet inputs are signed by the same operation); its peer id and
  // dbid take 41 bytes of the request.
  const m = withdrawalOfSize(300, 131_066 - 41);
  const mingleBound = signedPsbtReplyBound(m.psbt, { utxos: m.inputs });
  ok(mingleBound.bytes > MAX_BODY_SIZE);
  deepStrictEqual(
    await d.fail({
      type: "sign_htlc_tx_mingle",
      peerid: PEER_ID,
      channel_dbid: 1n,
      inputs: m.inputs,
      psbt: m.psbt,
    }, ROOT),
    {
      code: SIGNER_ERROR.MALFORMED,
      message:
        `malformed: sign_htlc_tx_mingle.psbt: the signed PSBT would exceed the body cap (up to ${mingleBound.bytes} bytes with 300 signatures; at most ${MAX_BODY_SIZE})`,
      temporary: false,
    },
  );
  strictEqual(storeJson(await d.store.list("")), before, "nothing was signed or stored");
  strictEqual(d.audit.length, audited, "no decision was made");

  // The same withdrawal without the padding fits: it is signed (the fee enters the daily
  // window), and the reply grew by exactly its partial signature records, within the bound.
  const fits = withdrawal(300, 0);
  const fitsBound = signedPsbtReplyBound(fits.psbt, { utxos: fits.inputs });
  ok(fitsBound.bytes <= MAX_BODY_SIZE);
  const body = await d.call(encodeMessage(fits), ROOT);
  const reply = decodeReply(body);
  strictEqual(reply.type, "sign_withdrawal_reply");
  const signed = (reply as ReplyFor<"sign_withdrawal">).psbt;
  const records = signed.inputs.map((input) => {
    strictEqual(input.partialSigs.length, 1);
    return 1 + 1 + 33 + 1 + input.partialSigs[0].signature.length;
  });
  strictEqual(body.length, 2 + 4 + encodePsbt(fits.psbt).length + records.reduce((a, b) => a + b));
  ok(records.every((r) => r <= PARTIAL_SIG_RECORD_MAX), `${Math.max(...records)}`);
  ok(body.length <= fitsBound.bytes);
  deepStrictEqual(await onchainFeeWindows(d.store), [0n, 20_000_000n]);
  notStrictEqual(storeJson(await d.store.list("")), before);
});

Deno.test("a reply that cannot be encoded is 500 internal, not 400 malformed", async () => {
  const huge: Psbt = withdrawal(1, 131_100).psbt;
  const size = 2 + 4 + encodePsbt(huge).length;
  const signer = new Proxy({}, {
    get: (_t, name) =>
      name === "identity"
        ? US_NODE
        : name === "tipInfo"
        ? () => undefined
        : name === "signOnchain"
        ? () => Promise.resolve(huge)
        : () => Promise.reject(new Error("not expected")),
  }) as DispatchSigner;
  const dispatcher = await initialised(signer);
  const small = withdrawal(1, 0);
  ok(signedPsbtReplyBound(small.psbt, { utxos: small.inputs }).bytes <= MAX_BODY_SIZE);
  deepStrictEqual(signerErrorOf(must(await dispatcher.handle(ROOT, encodeMessage(small)))), {
    code: SIGNER_ERROR.INTERNAL,
    message: `internal: sign_withdrawal: the reply cannot be encoded (sign_withdrawal_reply: ` +
      `too large (${size} bytes; at most ${MAX_BODY_SIZE}))`,
    temporary: false,
  });
});
