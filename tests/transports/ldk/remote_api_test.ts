/**
 * RemoteSignerApi against the real Dispatcher and Signer in this process: a loopback connection
 * hands the link's request frames to a FrameSession over the Dispatcher, so every call crosses
 * the full wire path (encode, frame, dispatch, reply, decode). The channel flows of the signer's
 * rule tests (the Rig and its simulated peer, which checks every signature) run through it, and
 * the on-chain answers are compared byte for byte with the in-process signer's.
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  bigIntToBytes,
  bytesToBigInt,
  concat,
  equal,
  fromHex,
  toHex,
  utf8,
} from "../../../core/bytes.ts";
import { derDecode, derEncode, SecretBytes, sha256 } from "../../../core/crypto/mod.ts";
import { p2wsh } from "../../../core/bitcoin/script.ts";
import { SIGHASH, type Tx, txid } from "../../../core/bitcoin/tx.ts";
import { holderPoint, holderSecret } from "../../../core/channel/state.ts";
import { ChannelId } from "../../../core/keys/types.ts";
import type { CommitmentType } from "../../../core/channel/types.ts";
import { NegativeApprover } from "../../../core/node/approvals.ts";
import { PolicyRefusal, RequestError } from "../../../core/signer/errors.ts";
import type { Signer } from "../../../core/signer/signer.ts";
import { toJson } from "../../../core/store/json.ts";
import { Dispatcher } from "../../../core/protocol/dispatch.ts";
import { decodeReply, encodeReply } from "../../../core/protocol/codec.ts";
import type { ReplyName, ReplyOf } from "../../../core/protocol/messages.ts";
import { commitmentTypeOf, htlcRequests } from "../../../core/protocol/convert.ts";
import { serialReplyDecoder, serialRequestDecoder } from "../../../core/protocol/framing.ts";
import type { Decision } from "../../../policy/engine.ts";
import { FrameSession } from "../../../transports/session.ts";
import { NodeLink } from "../../../transports/ldk/node_link.ts";
import {
  channelTypeBits,
  compactSignatureProblem,
  errorOfSignerError,
  refusedRules,
  RemoteRequestError,
  RemoteSignerApi,
  type RemoteSignerApiOptions,
  RemoteSignerError,
  wireHtlcs,
} from "../../../transports/ldk/remote_api.ts";
import {
  assertNoViolations,
  hashOf,
  makeTx,
  PEER_NODE_ID,
  Rig,
  type RigOptions,
  spendOf,
  US_NODE,
  walletScript,
} from "../../core/signer/_rules_fixture.ts";
import { regtestHeader } from "../../core/protocol/_cln_driver.ts";

/** Changes a reply body on its way back to the node (a fake signer); identity by default. */
type ReplyEdit = (reply: Uint8Array) => Uint8Array;

/**
 * Attach a connection that serves the link's frames with `session` (in order); `edit.fn`, read
 * at each reply, may change the reply bodies.
 */
function loopback(
  link: NodeLink,
  session: FrameSession,
  edit: { fn: ReplyEdit | null } = { fn: null },
): void {
  const requests = serialRequestDecoder();
  const replies = serialReplyDecoder();
  let tail: Promise<void> = Promise.resolve();
  const att = link.attach({
    send(frame) {
      for (const req of requests.push(frame)) {
        tail = tail.then(async () => {
          const reply = await session.process(req);
          if (reply === null) return;
          for (const r of replies.push(reply)) {
            att.receive(edit.fn === null ? r : { seq: r.seq, body: edit.fn(r.body) });
          }
        });
      }
      return Promise.resolve();
    },
    close() {},
  });
}

interface Remote {
  rig: Rig;
  inproc: Signer<Decision>;
  remote: RemoteSignerApi;
  link: NodeLink;
  /** Set `edit.fn` to tamper with the replies (a fake signer); null: honest. */
  edit: { fn: ReplyEdit | null };
  /** The signer's frame session (its reply cache answers retries). */
  session: FrameSession;
}

/** A Rig whose signer is reached over the wire (`rig.signer` is the remote API). */
async function remoteRig(
  options: RigOptions = {},
  api: Pick<RemoteSignerApiOptions, "previousTx"> = {},
): Promise<Remote> {
  const edit: { fn: ReplyEdit | null } = { fn: null };
  const rig = await Rig.create({ peerId: PEER_NODE_ID, ...options });
  const inproc = rig.signer;
  const link = new NodeLink();
  const connected = RemoteSignerApi.connect(link, {
    network: "regtest",
    nodeId: US_NODE.nodeId,
    ...api,
  });
  const session = new FrameSession(new Dispatcher(inproc, { network: "regtest" }), {
    transport: "loopback",
  });
  loopback(link, session, edit);
  const remote = await connected;
  rig.signer = remote as unknown as Signer<Decision>;
  return { rig, inproc, remote, link, edit, session };
}

Deno.test("remote api: init at version 6 checks the network and the node id", async () => {
  const { remote, inproc, link } = await remoteRig();
  strictEqual(remote.version, 6);
  deepStrictEqual(remote.nodeId, US_NODE.nodeId);
  deepStrictEqual(remote.accountKey.publicKey, US_NODE.accountKey().publicKey);
  strictEqual(link.stats.handshakes, 1);

  const session = () =>
    new FrameSession(new Dispatcher(inproc, { network: "regtest" }), { transport: "t" });
  const other = new NodeLink();
  const wrongNode = RemoteSignerApi.connect(other, {
    network: "regtest",
    nodeId: PEER_NODE_ID,
  });
  loopback(other, session());
  await rejects(
    wrongNode,
    (e) => e instanceof RemoteSignerError && /is node .* not /.test(e.message),
  );
  strictEqual(other.ready, false, "the connection was refused");

  const mainnet = new NodeLink();
  const wrongNetwork = RemoteSignerApi.connect(mainnet, { network: "bitcoin" });
  loopback(mainnet, session());
  await rejects(
    wrongNetwork,
    (e) =>
      e instanceof RemoteSignerError && /^init refused: chainparams .* regtest/.test(e.message),
  );

  const old = new NodeLink();
  const tooOld = RemoteSignerApi.connect(old, { network: "regtest" });
  loopback(
    old,
    new FrameSession(new Dispatcher(inproc, { network: "regtest", maxVersion: 4 }), {
      transport: "t",
    }),
  );
  await rejects(tooOld, /init refused: the node needs protocol version 5; .* at most 4/);
});

Deno.test("remote api: LDK keys ids get increasing dbids under our node id, restorable", async () => {
  const { remote, inproc } = await remoteRig();
  const k1 = ChannelId.fromKeysId(sha256(utf8("keys id 1")));
  const k2 = ChannelId.fromKeysId(sha256(utf8("keys id 2")));
  await remote.newChannel(k1);
  await remote.newChannel(k2);
  await remote.newChannel(k1); // idempotent: no new dbid
  deepStrictEqual(remote.channels().map((c) => [toHex(c.keysId), c.dbid]), [
    [k1.toHex(), 1n],
    [k2.toHex(), 2n],
  ]);
  deepStrictEqual(remote.contextOf(k2), { peerId: US_NODE.nodeId, dbid: 2n });
  // The basepoints are those of CLN's (our node id, dbid) channel in the signer.
  const bp = await remote.getChannelBasepoints(k2);
  const direct = await inproc.getChannelBasepoints(ChannelId.fromPeerDbid(US_NODE.nodeId, 2n));
  deepStrictEqual(bp, direct);
  deepStrictEqual(
    await remote.getPerCommitmentPoint(k1, 0),
    await inproc.getPerCommitmentPoint(ChannelId.fromPeerDbid(US_NODE.nodeId, 1n), 0),
  );
  // A keys id the node never created has no dbid: refused before anything is sent.
  await rejects(
    remote.getChannelBasepoints(ChannelId.fromKeysId(sha256(utf8("keys id 3")))),
    (e) =>
      e instanceof RequestError && e.code === "unknown-channel" &&
      !(e instanceof RemoteRequestError),
  );
  // After a node restart the map is restored and new channels continue after it.
  const link = new NodeLink();
  const again = RemoteSignerApi.connect(link, {
    network: "regtest",
    channels: remote.channels(),
  });
  loopback(
    link,
    new FrameSession(new Dispatcher(inproc, { network: "regtest" }), { transport: "t" }),
  );
  const restored = await again;
  deepStrictEqual(await restored.getChannelBasepoints(k2), bp);
  const k3 = ChannelId.fromKeysId(sha256(utf8("keys id 3")));
  await restored.newChannel(k3);
  strictEqual(restored.contextOf(k3).dbid, 3n);
});

Deno.test("remote api: open, HTLCs both ways and revocations over the wire; the peer checks every signature", async () => {
  const { rig, inproc, link } = await remoteRig();
  await rig.openWithTwoHtlcs();
  const state = await inproc.channelState(rig.id);
  ok(state);
  strictEqual(state.enforcement.nextHolderCommitNum, 3);
  strictEqual(state.enforcement.nextCounterpartyCommitNum, 3);
  strictEqual(state.enforcement.nextCounterpartyRevokeNum, 2);
  deepStrictEqual(state.setup, rig.setup, "setup_channel carried the whole setup");
  strictEqual(state.enforcement.currentHolder?.info.htlcs.length, 2);
  assertNoViolations(rig);
  // new_channel, setup, preapprove, 3 x (sign, point, validate), 2 x 2 revocations ...
  strictEqual(link.stats.replies, link.stats.requests);
  strictEqual(link.pending, 0);
});

Deno.test("remote api: on-chain answers are the in-process signer's, byte for byte", async () => {
  const { rig, inproc, remote } = await remoteRig();
  await rig.openWithTwoHtlcs();
  const id = rig.id;
  const same = async <T>(what: string, viaWire: Promise<T>, direct: () => Promise<T>) => {
    const a = await viaWire;
    deepStrictEqual(toJson(a), toJson(await direct()), what);
    return a;
  };

  // Force close: our commitment 2 (1005), with the peer's signature filled from the validation.
  const closing = await same(
    "holder commitment",
    remote.signHolderCommitment(id, 2),
    () => inproc.signHolderCommitment(id, 2),
  );
  strictEqual(closing.counterpartySignature.length, 64);

  // Our HTLC transactions on commitment 2 (146): the witness script rebuilt from the HTLC.
  const ours = rig.holderCommitment("us", 2);
  strictEqual(ours.htlcTxs.length, 2);
  for (const h of ours.htlcTxs) {
    const info = rig.history.us[2].htlcs[h.htlcIndex];
    const request = {
      tx: h.tx,
      inputIndex: 0,
      number: 2,
      htlc: {
        offered: info.offered,
        amountMsat: info.amountMsat,
        paymentHash: fromHex(info.paymentHash),
        cltvExpiry: info.cltvExpiry,
      },
    };
    const r = await same(
      `HTLC tx ${h.htlcIndex}`,
      remote.signHolderHtlcTx(id, request),
      () => inproc.signHolderHtlcTx(id, request),
    );
    deepStrictEqual(r.htlcWitnessScript, h.htlcWitnessScript);
    strictEqual(r.counterpartySignature.length, 64);
  }

  // Our to_local of commitment 2 after the delay (142).
  const toLocal = ours.outputs.findIndex((o) => o.kind === "to_broadcaster");
  const value = ours.tx.outputs[toLocal].amount;
  const delayed = makeTx([{ txid: txid(ours.tx), vout: toLocal, sequence: 6 }], [
    { amount: value - 1_000n, script: walletScript(1) },
  ]);
  const delayedRequest = {
    spend: spendOf(delayed, {
      spent: [ours.tx.outputs[toLocal]],
      outputPaths: [[1]],
    }),
    inputIndex: 0,
    number: 2,
  };
  await same(
    "delayed sweep",
    remote.signDelayedSweep(id, delayedRequest),
    () => inproc.signDelayedSweep(id, delayedRequest),
  );

  // Our HTLC on the peer's commitment 2, claimed after its expiry (143).
  const theirs = rig.holderCommitment("peer", 2);
  const vout = theirs.outputs.findIndex((o) =>
    o.kind === "htlc" && o.htlc?.amountMsat === 100_000_000n
  );
  ok(vout >= 0);
  const claim = makeTx(
    [{ txid: txid(theirs.tx), vout, sequence: 0 }],
    [{ amount: 100_000n - 1_000n, script: walletScript(2) }],
    500,
  );
  const claimRequest = {
    spend: spendOf(claim, { spent: [theirs.tx.outputs[vout]], outputPaths: [[2]] }),
    inputIndex: 0,
    perCommitmentPoint: holderPoint(rig.peer.keys, 2),
    htlc: { offered: false, amountMsat: 100_000_000n, paymentHash: hashOf(1), cltvExpiry: 500 },
  };
  await same(
    "counterparty HTLC sweep",
    remote.signCounterpartyHtlcSweep(id, claimRequest),
    () => inproc.signCounterpartyHtlcSweep(id, claimRequest),
  );

  // The peer's revoked commitment 1: its to_local with the revocation key (144).
  const revoked = rig.holderCommitment("peer", 1);
  const theirLocal = revoked.outputs.findIndex((o) => o.kind === "to_broadcaster");
  const justice = makeTx([{ txid: txid(revoked.tx), vout: theirLocal }], [
    { amount: revoked.tx.outputs[theirLocal].amount - 1_000n, script: walletScript(3) },
  ]);
  const justiceRequest = {
    spend: spendOf(justice, { spent: [revoked.tx.outputs[theirLocal]], outputPaths: [[3]] }),
    inputIndex: 0,
    revocationSecret: holderSecret(rig.peer.keys, 1),
  };
  await same(
    "justice",
    remote.signJusticeSweep(id, justiceRequest),
    () => inproc.signJusticeSweep(id, justiceRequest),
  );
  assertNoViolations(rig);
});

Deno.test("remote api: a cooperative close (1021) is the in-process signature", async () => {
  const { rig, inproc, remote } = await remoteRig();
  await rig.open();
  const v = rig.valuesFor("us");
  const request = {
    values: {
      toHolderSat: v.toBroadcasterSat,
      toCounterpartySat: v.toCountersignatorySat,
      holderScript: walletScript(1),
      counterpartyScript: p2wsh(utf8("peer")),
      holderWalletPath: [1],
    },
  };
  const viaWire = await remote.signMutualClose(rig.id, request);
  deepStrictEqual(viaWire, await inproc.signMutualClose(rig.id, request));
  strictEqual(viaWire.sighashType, 1);
  assertNoViolations(rig);
});

Deno.test("remote api: refusals and errors are the in-process ones (rule ids, codes)", async () => {
  const { rig, inproc, remote } = await remoteRig({ approver: new NegativeApprover() });
  await rig.open();
  const base = rig.request("peer", 1);
  const values = base.values as { toBroadcasterSat: bigint; toCountersignatorySat: bigint };
  // 300 000 sat of our balance burnt as fee.
  const request = {
    ...base,
    values: { ...values, toCountersignatorySat: values.toCountersignatorySat - 300_000n },
    perCommitmentPoint: holderPoint(rig.peer.keys, 1),
  };
  let wire: unknown;
  let direct: unknown;
  await remote.signCounterpartyCommitment(rig.id, request).catch((e) => (wire = e));
  await inproc.signCounterpartyCommitment(rig.id, request).catch((e) => (direct = e));
  ok(wire instanceof PolicyRefusal && direct instanceof PolicyRefusal);
  ok(wire.rules.includes("policy-commitment-fee-range"), wire.rules.join());
  deepStrictEqual([wire.rules, wire.temporary], [direct.rules, direct.temporary]);
  strictEqual(wire.message, `refused sign_remote_commitment_tx_2 by ${direct.rules.join(", ")}`);

  // A refused preapproval: the wire says approved = false, without the rule ids.
  await rejects(
    remote.preapproveKeysend({ destination: PEER_NODE_ID, paymentHash: hashOf(9), amountMsat: 1n }),
    (e) => e instanceof PolicyRefusal && e.rules.length === 0 && /approved = false/.test(e.message),
  );

  // The channel state and unknown channels, with the wire code kept.
  const stub = ChannelId.fromPeerDbid(PEER_NODE_ID, 7n);
  await remote.newChannel(stub);
  await rejects(
    remote.signHolderCommitment(stub, 0),
    (e) =>
      e instanceof RemoteRequestError && e.name === "RequestError" && e.code === "not-ready" &&
      e.signerCode === 409,
  );
  await rejects(
    remote.getPerCommitmentPoint(ChannelId.fromPeerDbid(PEER_NODE_ID, 8n), 0),
    (e) => e instanceof RemoteRequestError && e.code === "unknown-channel" && e.signerCode === 404,
  );
});

Deno.test("remote api: blocks are fed as headers; the signer counts from height 1", async () => {
  const { remote, inproc } = await remoteRig();
  const first = regtestHeader(new Uint8Array(32), 1_700_000_000);
  await remote.addBlock(first, { height: 800, transactions: [] });
  strictEqual(inproc.tipInfo()?.height, 1, "the dispatcher takes the first block as height 1");
  strictEqual(inproc.chain.tracked, false, "no transactions: the rules' chain stays untracked");
  const second = regtestHeader(sha256(sha256(first)), 1_700_000_600);
  await remote.addBlock(second);
  strictEqual(inproc.tipInfo()?.height, 2);
  await remote.removeBlock(second);
  strictEqual(inproc.tipInfo()?.height, 1);
  // A header that does not extend the tip: the orphan refusal (401) is a PolicyRefusal.
  await rejects(
    remote.addBlock(second.slice().fill(0, 4, 36)),
    (e) => e instanceof PolicyRefusal && e.rules.includes("policy-chain-validated"),
  );
});

Deno.test("remote api: SignerError codes map onto the in-process errors", () => {
  const p = errorOfSignerError(
    { code: 403, message: "policy: refused by a-rule, b-rule", temporary: false },
    "x",
  );
  ok(p instanceof PolicyRefusal);
  deepStrictEqual([p.rules, p.temporary, p.kind], [["a-rule", "b-rule"], false, "x"]);
  const t = errorOfSignerError(
    { code: 503, message: "temporary: refused by t", temporary: true },
    "y",
  );
  ok(t instanceof PolicyRefusal && t.temporary && t.rules[0] === "t");
  const o = errorOfSignerError(
    { code: 401, message: "orphan: policy: refused by policy-chain-validated", temporary: false },
    "add_block",
  );
  ok(o instanceof PolicyRefusal && o.rules[0] === "policy-chain-validated" && !o.temporary);
  const cases: [number, string, string][] = [
    [400, "malformed: x", "malformed"],
    [404, "unknown channel: x", "unknown-channel"],
    [409, "channel state: setup_channel: already ready", "already-ready"],
    [409, "channel state: sign: not ready", "not-ready"],
    [405, "unknown message type 9", "unsupported"],
    [501, "unsupported: x", "unsupported"],
    [412, "not initialized: x", "invariant"],
    [421, "wrong context: x", "invariant"],
    [500, "internal: x", "invariant"],
  ];
  for (const [code, message, mapped] of cases) {
    const e = errorOfSignerError({ code, message, temporary: false }, "k");
    ok(e instanceof RemoteRequestError, `${code}`);
    deepStrictEqual([e.code, e.signerCode, e.message], [mapped, code, message]);
  }
  deepStrictEqual(refusedRules("policy: refused by (no rule id)"), []);
  deepStrictEqual(refusedRules("something else"), []);
});

Deno.test("remote api: channel_type bits and HTLC sides are the dispatcher's inverse", () => {
  const types: CommitmentType[] = [
    "legacy",
    "static_remotekey",
    "anchors",
    "anchors_zero_fee_htlc",
  ];
  for (const t of types) strictEqual(commitmentTypeOf(channelTypeBits(t), "test"), t);
  deepStrictEqual(toHex(channelTypeBits("static_remotekey")), "1000");
  const htlcs = [
    { offered: true, amountMsat: 5_000n, paymentHash: hashOf(1), cltvExpiry: 100 },
    { offered: false, amountMsat: 7_000n, paymentHash: hashOf(2), cltvExpiry: 200 },
  ];
  for (const side of ["holder", "counterparty"] as const) {
    deepStrictEqual(htlcRequests(wireHtlcs(htlcs, side), side), htlcs);
  }
  deepStrictEqual(wireHtlcs(htlcs, "holder").map((h) => h.side), [0, 1]);
  deepStrictEqual(wireHtlcs(htlcs, "counterparty").map((h) => h.side), [1, 0]);
});

Deno.test("remote api: an anchor fee bump (147): our anchor signature read back from the PSBT", async () => {
  const ours = { tx: undefined as Tx | undefined };
  const funding = makeTx([{ txid: new Uint8Array(32).fill(0xcc), vout: 0 }], [
    { amount: 1_000n, script: walletScript(8) },
    { amount: 2_000n, script: walletScript(8) },
    { amount: 50_000n, script: walletScript(9) },
  ]);
  // The node knows the previous transactions: its commitment and its wallet's funding.
  const known = (id: Uint8Array) =>
    [ours.tx, funding].find((t) => t !== undefined && equal(txid(t), id)) ?? null;
  const { rig, inproc, remote, edit } = await remoteRig({ anchors: true }, { previousTx: known });
  await rig.open();
  const commitment = rig.holderCommitment("us", 0);
  ours.tx = commitment.tx;
  const vout = commitment.outputs.findIndex((o) => o.kind === "anchor_broadcaster");
  const tx = makeTx(
    [{ txid: txid(commitment.tx), vout }, { txid: txid(funding), vout: 2 }],
    [{ amount: 49_000n, script: walletScript(10) }],
  );
  const request = {
    spend: spendOf(tx, {
      spent: [
        { amount: 330n, script: commitment.outputs[vout].scriptPubKey },
        { amount: 50_000n, script: walletScript(9) },
      ],
      inputPaths: [[], [9]],
      outputPaths: [[10]],
    }),
    inputIndex: 0,
  };
  const viaWire = await remote.signAnchorSpend(rig.id, request);
  deepStrictEqual(viaWire, await inproc.signAnchorSpend(rig.id, request));
  assertNoViolations(rig);

  // A fake signer's anchor signature: another sighash type, or a high S.
  const bad = "sign_anchorspend: bad reply: psbt.inputs[0].partial_sigs: ";
  edit.fn = onReply("sign_anchorspend_reply", (r) => {
    for (const p of r.psbt.inputs[0].partialSigs) p.signature[p.signature.length - 1] = 0x83;
  });
  await rejects(
    remote.signAnchorSpend(rig.id, request),
    badReply(
      `${bad}sighash SIGHASH_SINGLE|ANYONECANPAY (0x83) where SIGHASH_ALL (0x01) is required`,
    ),
  );
  edit.fn = onReply("sign_anchorspend_reply", (r) => {
    for (const p of r.psbt.inputs[0].partialSigs) {
      const high = highS(derDecode(p.signature.subarray(0, p.signature.length - 1)));
      p.signature = concat(derEncode(high), Uint8Array.of(SIGHASH.ALL));
    }
  });
  await rejects(
    remote.signAnchorSpend(rig.id, request),
    badReply(`${bad}not a valid signature: s is high (not BIP-146 LOW_S)`),
  );
  edit.fn = null;
  deepStrictEqual(await remote.signAnchorSpend(rig.id, request), viaWire);
});

// ---- replies a fake signer gets wrong ---------------------------------------------------------

/** A reply edit: replies named `name` are decoded, changed by `change` and encoded again. */
function onReply<N extends ReplyName>(name: N, change: (r: ReplyOf<N>) => void): ReplyEdit {
  return (body) => {
    const r = decodeReply(body);
    if (r.type !== name) return body;
    change(r as ReplyOf<N>);
    return encodeReply(r);
  };
}

/** A RemoteSignerError with exactly this message. */
function badReply(message: string): (e: unknown) => boolean {
  return (e: unknown) => {
    ok(e instanceof RemoteSignerError, String(e));
    strictEqual(e.name, "RemoteSignerError");
    strictEqual(e.message, message);
    return true;
  };
}

const CURVE_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** The same signature with s replaced by n - s (valid, but high S). */
function highS(signature: Uint8Array): Uint8Array {
  const s = bytesToBigInt(signature.subarray(32));
  const out = signature.slice();
  out.set(bigIntToBytes(CURVE_N - s, 32), 32);
  return out;
}

Deno.test("remote api: compactSignatureProblem: r and s in range, s low", () => {
  const sig = new Uint8Array(64).fill(0x11);
  strictEqual(compactSignatureProblem(sig), null);
  strictEqual(compactSignatureProblem(sig.subarray(0, 63)), "a compact signature is 64 bytes");
  const zeroR = sig.slice().fill(0, 0, 32);
  strictEqual(compactSignatureProblem(zeroR), "r is out of range");
  const bigR = sig.slice();
  bigR.set(bigIntToBytes(CURVE_N, 32), 0);
  strictEqual(compactSignatureProblem(bigR), "r is out of range");
  strictEqual(compactSignatureProblem(sig.slice().fill(0, 32)), "s is out of range");
  strictEqual(compactSignatureProblem(highS(sig)), "s is high (not BIP-146 LOW_S)");
  const halfN = sig.slice();
  halfN.set(bigIntToBytes(CURVE_N >> 1n, 32), 32);
  strictEqual(compactSignatureProblem(halfN), null, "n/2 is still low");
  halfN.set(bigIntToBytes((CURVE_N >> 1n) + 1n, 32), 32);
  strictEqual(compactSignatureProblem(halfN), "s is high (not BIP-146 LOW_S)");
});

Deno.test("remote api: a 1019 reply is checked: one HTLC signature per HTLC, sighash types, form, validity", async () => {
  const { rig, edit } = await remoteRig();
  await rig.openWithTwoHtlcs();
  // The peer's commitment 2 (two HTLCs) signed again: a retry the signer serves identically.
  const honest = await rig.signPeerCommitment(2);
  strictEqual(honest.htlcSignatures.length, 2);
  strictEqual(honest.htlcSighashType, SIGHASH.ALL);
  const theirs = rig.holderCommitment("peer", 2);
  const firstOutput = theirs.htlcTxs[0].commitmentOutputIndex;
  const bad = "sign_remote_commitment_tx_2: bad reply: ";
  type Reply = ReplyOf<"sign_commitment_tx_with_htlcs_reply">;
  const cases: [string, (r: Reply) => void, string][] = [
    [
      "the review's reply: no HTLC signature and a commitment signature with sighash 0x83",
      (r) => {
        r.htlc_signatures = [];
        r.signature.sighash = 0x83;
      },
      `${bad}signature: sighash SIGHASH_SINGLE|ANYONECANPAY (0x83) where SIGHASH_ALL (0x01) is required`,
    ],
    [
      "no HTLC signature",
      (r) => (r.htlc_signatures = []),
      `${bad}htlc_signatures: 0 signatures for the request's 2 HTLCs`,
    ],
    [
      "one HTLC signature too many",
      (r) => r.htlc_signatures.push(r.htlc_signatures[0]),
      `${bad}htlc_signatures: 3 signatures for the request's 2 HTLCs`,
    ],
    [
      "an HTLC signature with 0x83 on a static_remotekey channel",
      (r) => (r.htlc_signatures[1].sighash = 0x83),
      `${bad}htlc_signatures[1]: sighash SIGHASH_SINGLE|ANYONECANPAY (0x83) where SIGHASH_ALL (0x01) is required`,
    ],
    [
      "a high-S commitment signature",
      (r) => (r.signature.signature = highS(r.signature.signature)),
      `${bad}signature: not a valid signature: s is high (not BIP-146 LOW_S)`,
    ],
    [
      "an HTLC signature with r = 0",
      (r) => r.htlc_signatures[0].signature.fill(0, 0, 32),
      `${bad}htlc_signatures[0]: not a valid signature: r is out of range`,
    ],
    [
      "a well-formed signature of another transaction as the commitment signature",
      (r) => (r.signature.signature = r.htlc_signatures[0].signature.slice()),
      `${bad}signature: does not verify under our funding key for counterparty commitment 2`,
    ],
    [
      "the HTLC signatures swapped",
      (r) => r.htlc_signatures.reverse(),
      `${bad}htlc_signatures[0]: does not verify under our HTLC key for the HTLC transaction of output ${firstOutput}`,
    ],
  ];
  for (const [what, change, message] of cases) {
    edit.fn = onReply("sign_commitment_tx_with_htlcs_reply", change);
    await rejects(rig.signPeerCommitment(2), badReply(message), what);
  }
  edit.fn = null;
  deepStrictEqual(await rig.signPeerCommitment(2), honest);
});

Deno.test("remote api: with anchors the HTLC signatures of 1019 must be SINGLE|ANYONECANPAY", async () => {
  const { rig, edit } = await remoteRig({ anchors: true });
  await rig.openWithTwoHtlcs();
  const honest = await rig.signPeerCommitment(2);
  deepStrictEqual(
    [honest.htlcSignatures.length, honest.htlcSighashType],
    [2, SIGHASH.SINGLE_ANYONECANPAY],
  );
  edit.fn = onReply("sign_commitment_tx_with_htlcs_reply", (r) => {
    r.htlc_signatures[0].sighash = SIGHASH.ALL;
  });
  await rejects(
    rig.signPeerCommitment(2),
    badReply(
      "sign_remote_commitment_tx_2: bad reply: htlc_signatures[0]: sighash SIGHASH_ALL (0x01) " +
        "where SIGHASH_SINGLE|ANYONECANPAY (0x83) is required",
    ),
  );
  edit.fn = null;
  deepStrictEqual(await rig.signPeerCommitment(2), honest);
});

Deno.test("remote api: a released secret must derive to the point n the node got; a point n never changes", async () => {
  const { rig, remote, edit } = await remoteRig();
  await rig.openWithTwoHtlcs(); // our commitments 0 and 1 revoked, points 0..3 seen by the node
  const honest = await remote.revokeHolderCommitment(rig.id, 1); // a retry, served again
  deepStrictEqual(honest, {
    secret: holderSecret(rig.keys, 1),
    nextPoint: holderPoint(rig.keys, 3),
  });
  const bad = "revoke_commitment_tx: bad reply: ";
  const otherSecret = holderSecret(rig.keys, 0);
  edit.fn = onReply("revoke_commitment_tx_reply", (r) => {
    r.old_commitment_secret = new SecretBytes(otherSecret.slice());
  });
  await rejects(remote.revokeHolderCommitment(rig.id, 1), (e: unknown) => {
    badReply(
      `${bad}old_commitment_secret: does not derive to per-commitment point 1, which the signer gave earlier`,
    )(e);
    ok(!(e as Error).message.includes(toHex(otherSecret)), "no secret in the message");
    return true;
  });
  edit.fn = onReply("revoke_commitment_tx_reply", (r) => {
    r.old_commitment_secret = new SecretBytes(bigIntToBytes(CURVE_N, 32));
  });
  await rejects(
    remote.revokeHolderCommitment(rig.id, 1),
    badReply(`${bad}old_commitment_secret: not a valid secret key`),
  );
  edit.fn = onReply("revoke_commitment_tx_reply", (r) => {
    r.next_per_commitment_point = holderPoint(rig.keys, 9);
  });
  await rejects(
    remote.revokeHolderCommitment(rig.id, 1),
    badReply(
      `${bad}next_per_commitment_point: per-commitment point 3 is not the one the signer gave earlier`,
    ),
  );
  edit.fn = onReply("get_per_commitment_point_reply", (r) => {
    r.per_commitment_point = holderPoint(rig.keys, 9);
  });
  await rejects(
    remote.getPerCommitmentPoint(rig.id, 2),
    badReply(
      "get_per_commitment_point: bad reply: per_commitment_point: per-commitment point 2 is not " +
        "the one the signer gave earlier",
    ),
  );
  edit.fn = null;
  deepStrictEqual(await remote.revokeHolderCommitment(rig.id, 1), honest);
  deepStrictEqual(await remote.getPerCommitmentPoint(rig.id, 2), holderPoint(rig.keys, 2));
});

Deno.test("remote api: sign_local_commitment_tx_2 must be SIGHASH_ALL and verify over our commitment", async () => {
  const { rig, remote, edit } = await remoteRig();
  await rig.openWithTwoHtlcs();
  const honest = await remote.signHolderCommitment(rig.id, 2);
  const bad = "sign_local_commitment_tx_2: bad reply: sig: ";
  edit.fn = onReply("sign_commitment_tx_reply", (r) => (r.sig.sighash = 0x82));
  await rejects(
    remote.signHolderCommitment(rig.id, 2),
    badReply(`${bad}sighash 0x82 where SIGHASH_ALL (0x01) is required`),
  );
  // The peer's signature on the same transaction: well formed, but not under our funding key.
  edit.fn = onReply("sign_commitment_tx_reply", (r) => {
    r.sig.signature = honest.counterpartySignature.slice();
  });
  await rejects(
    remote.signHolderCommitment(rig.id, 2),
    badReply(`${bad}does not verify under our funding key for holder commitment 2`),
  );
  edit.fn = null;
  deepStrictEqual(await remote.signHolderCommitment(rig.id, 2), honest);
});

Deno.test("remote api: on-chain signatures (1021, 142, 146) must be SIGHASH_ALL and well formed", async () => {
  // A cooperative close (no HTLC pending) on a channel of its own.
  const closing = await remoteRig();
  await closing.rig.open();
  const v = closing.rig.valuesFor("us");
  const close = {
    values: {
      toHolderSat: v.toBroadcasterSat,
      toCounterpartySat: v.toCountersignatorySat,
      holderScript: walletScript(1),
      counterpartyScript: p2wsh(utf8("peer")),
      holderWalletPath: [1],
    },
  };
  closing.edit.fn = onReply("sign_tx_reply", (r) => (r.sig.sighash = SIGHASH.NONE));
  await rejects(
    closing.remote.signMutualClose(closing.rig.id, close),
    badReply(
      "sign_mutual_close_tx_2: bad reply: sig: sighash 0x02 where SIGHASH_ALL (0x01) is required",
    ),
  );
  closing.edit.fn = null;
  strictEqual((await closing.remote.signMutualClose(closing.rig.id, close)).sighashType, 1);

  const { rig, remote, edit } = await remoteRig();
  await rig.openWithTwoHtlcs();
  const ours = rig.holderCommitment("us", 2);
  const h = ours.htlcTxs[0];
  const info = rig.history.us[2].htlcs[h.htlcIndex];
  const htlcTx = {
    tx: h.tx,
    inputIndex: 0,
    number: 2,
    htlc: {
      offered: info.offered,
      amountMsat: info.amountMsat,
      paymentHash: fromHex(info.paymentHash),
      cltvExpiry: info.cltvExpiry,
    },
  };
  const toLocal = ours.outputs.findIndex((o) => o.kind === "to_broadcaster");
  const delayed = {
    spend: spendOf(
      makeTx([{ txid: txid(ours.tx), vout: toLocal, sequence: 6 }], [
        { amount: ours.tx.outputs[toLocal].amount - 1_000n, script: walletScript(1) },
      ]),
      { spent: [ours.tx.outputs[toLocal]], outputPaths: [[1]] },
    ),
    inputIndex: 0,
    number: 2,
  };
  const honestHtlc = await remote.signHolderHtlcTx(rig.id, htlcTx);
  const honestDelayed = await remote.signDelayedSweep(rig.id, delayed);
  edit.fn = onReply("sign_tx_reply", (r) => (r.sig.sighash = SIGHASH.SINGLE_ANYONECANPAY));
  await rejects(
    remote.signHolderHtlcTx(rig.id, htlcTx),
    badReply(
      "sign_any_local_htlc_tx: bad reply: sig: sighash SIGHASH_SINGLE|ANYONECANPAY (0x83) where " +
        "SIGHASH_ALL (0x01) is required",
    ),
  );
  edit.fn = onReply("sign_tx_reply", (r) => (r.sig.signature = highS(r.sig.signature)));
  await rejects(
    remote.signDelayedSweep(rig.id, delayed),
    badReply(
      "sign_any_delayed_payment_to_us: bad reply: sig: not a valid signature: s is high (not BIP-146 LOW_S)",
    ),
  );
  edit.fn = null;
  deepStrictEqual(await remote.signHolderHtlcTx(rig.id, htlcTx), honestHtlc);
  deepStrictEqual(await remote.signDelayedSweep(rig.id, delayed), honestDelayed);
});

Deno.test("remote api: a node that lost the setup (restarted) still checks the form of a 1019 reply", async () => {
  const { rig, session } = await remoteRig();
  await rig.openWithTwoHtlcs();
  const honest = await rig.signPeerCommitment(2);
  // The node restarts; the signer's session (and its reply cache) serves the new connection.
  const link = new NodeLink();
  const edit: { fn: ReplyEdit | null } = { fn: null };
  const connected = RemoteSignerApi.connect(link, { network: "regtest" });
  loopback(link, session, edit);
  const restarted = await connected;
  const request = { ...rig.request("peer", 2), perCommitmentPoint: holderPoint(rig.peer.keys, 2) };
  deepStrictEqual(await restarted.signCounterpartyCommitment(rig.id, request), honest);
  deepStrictEqual([honest.htlcSignatures.length, honest.htlcSighashType], [2, SIGHASH.ALL]);
  const bad = "sign_remote_commitment_tx_2: bad reply: ";
  // The commitment type is unknown: the HTLC signatures must agree on ALL or SINGLE|ANYONECANPAY.
  edit.fn = onReply("sign_commitment_tx_with_htlcs_reply", (r) => {
    r.htlc_signatures[0].sighash = SIGHASH.SINGLE_ANYONECANPAY;
  });
  await rejects(
    restarted.signCounterpartyCommitment(rig.id, request),
    badReply(
      `${bad}htlc_signatures[1]: sighash SIGHASH_ALL (0x01) where SIGHASH_SINGLE|ANYONECANPAY ` +
        "(0x83) is required",
    ),
  );
  edit.fn = onReply("sign_commitment_tx_with_htlcs_reply", (r) => (r.htlc_signatures = []));
  await rejects(
    restarted.signCounterpartyCommitment(rig.id, request),
    badReply(`${bad}htlc_signatures: 0 signatures for the request's 2 HTLCs`),
  );
  // Without the setup nothing can be rebuilt: well-formed signatures in the wrong order pass.
  edit.fn = onReply("sign_commitment_tx_with_htlcs_reply", (r) => r.htlc_signatures.reverse());
  deepStrictEqual(
    (await restarted.signCounterpartyCommitment(rig.id, request)).htlcSignatures,
    [...honest.htlcSignatures].reverse(),
  );
});
