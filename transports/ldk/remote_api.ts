/**
 * The signer API over the wire: a {@link SignerApi} whose every method is a request of the
 * remote-signer protocol (protocol.md §2, §3) sent through a {@link NodeLink} to a signer in
 * another process (`mod.ts run`), with replies decoded into the same result types, and the same
 * errors, as the in-process `Signer`. The LDK adapter (`WardenSignerProvider`) runs on it
 * unchanged.
 *
 * ```ts
 * const link = TcpNodeLink.listen({ port: 0 });        // mod.ts run ... --connect ${link.url}
 * const api = await RemoteSignerApi.connect(link, { network: "regtest", nodeId });
 * const provider = new WardenSignerProvider({ api, payout });
 * ```
 *
 * **Init.** `hsmd_init` (11) at versions 5..6 for the configured network, sent first on every
 * connection (the link's handshake, so a restarted signer negotiates again before anything else);
 * the reply must be `init_reply_v4` at version 5 or 6, and its node id the expected one (or, when
 * none is given, the first one seen). From version 5 `validate_commitment_tx` does not revoke:
 * revocations are explicit (`revoke_commitment_tx`, 40), as the SignerApi has them; at 6
 * `get_per_commitment_point` returns no old secret.
 *
 * **Channel ids.** The protocol names channels by CLN's (peer id, dbid); LDK's adapter by 32-byte
 * keys ids. A `keys-id` {@link ChannelId} gets the next dbid (from `firstDbid`, default 1) when it
 * is first created (`newChannel`, 30) under one pseudo peer id (default: our own node id, from
 * the init reply); `peer-dbid` ids are used as they are. The map lives in the node process:
 * {@link RemoteSignerApi.channels} exports it and the `channels` option restores it after a
 * node restart (a signer that already has dbid 1 would otherwise answer for an old channel).
 *
 * **Messages** (protocol.md §3): newChannel 30 and getChannelBasepoints 10 (root context, the
 * channel in the fields); setupChannel 31 with the `channel_type` bits of the commitment type;
 * getPerCommitmentPoint 18; revokeHolderCommitment 40; validateCounterpartyRevocation 36;
 * signCounterpartyCommitment 1019 (`sign_remote_commitment_tx_2`, phase 2: the values and HTLCs;
 * its reply carries the commitment and the HTLC signatures); validateHolderCommitment 1035
 * (phase 2; the reply's point n + 1); signHolderCommitment 1005; signHolderHtlcTx 146, the
 * witness script rebuilt from the HTLC and the channel's keys and the spent output in the PSBT;
 * signCounterpartyHtlcSweep 143; signJusticeSweep 144; signDelayedSweep 142; signMutualClose 1021
 * (values) or 21 (transaction); signAnchorSpend 147 (the anchor signature read back from the
 * PSBT); preapproveInvoice 38 / preapproveKeysend 39; addBlock 2005; removeBlock 2006;
 * {@link RemoteSignerApi.forgetChannel} 34. Channel messages go in the channel's context (the
 * pseudo peer id and the dbid), root messages in the root context.
 *
 * **What the wire does not carry** (compared with the in-process calls):
 * - the phase-1 commitment transaction and the preimages of a commitment request (1019 and 1035
 *   are phase 2: the signer rebuilds the transaction from the values; a request with no values is
 *   refused here as unsupported);
 * - the transactions of a block: `add_block` has a header and an optional TXOO proof, so the
 *   remote signer follows the headers (its tip) but its chain stays untracked for the rules (no
 *   funding or closing depths), and the dispatcher takes the first block as height 1;
 * - the counterparty's signatures in `signHolderCommitment` / `signHolderHtlcTx` replies (the wire
 *   returns ours only): they are filled from the node's own validation requests when known, else
 *   empty;
 * - rule ids of a refused preapproval: the signer answers `approved = false` (it audits the rule
 *   ids itself), which becomes a `PolicyRefusal` with no rule id.
 *
 * The witness scripts the CLN-style messages need are computed on the node side from what the
 * node told the signer (the setup and the basepoints it received) and the per-commitment points;
 * they live in memory, so after a node restart `setupChannel`'s data is unknown and the on-chain
 * requests that need it are refused here (`not-ready`).
 *
 * **Errors.** A `signer_error` reply becomes what the in-process signer throws: 403 (and 401,
 * orphan block) a {@link PolicyRefusal} with the rule ids parsed from `policy: refused by ...`,
 * 503 a temporary one; the other codes a {@link RemoteRequestError} (a `RequestError`: 400
 * malformed, 404 unknown-channel, 409 not-ready or already-ready, 405/501 unsupported, else
 * invariant) that keeps the wire code. A request this side cannot express is a `RequestError`
 * before anything is sent; a link failure is the link's `NodeLinkError`.
 *
 * **Replies are checked** as far as the node can: points are valid keys (the codec) and a point
 * `n` never changes once given; every signature is a well-formed compact signature (r, s in
 * range, low s) with the sighash type the transaction needs (SIGHASH_ALL; SINGLE|ANYONECANPAY
 * for the HTLC signatures of an anchors channel); `sign_remote_commitment_tx_2` carries one HTLC
 * signature per HTLC of the request; a revocation secret derives to the point `n` the node got
 * earlier; and the commitment signatures (1019, and 1005 after a validation through this object)
 * are verified over the commitment rebuilt here from the setup, our basepoints and the request.
 * A reply that fails is a {@link RemoteSignerError} naming the message and the field (never a
 * secret), and nothing of it reaches the caller.
 *
 * @module
 */
import { bytesToBigInt, compare, equal, fromHex, toHex } from "../../core/bytes.ts";
import { derDecode, ecdsaVerify, isValidSecretKey, SecretBytes } from "../../core/crypto/mod.ts";
import type { Network } from "../../core/bitcoin/network.ts";
import { p2wsh } from "../../core/bitcoin/script.ts";
import {
  SIGHASH,
  sighashSegwitV0,
  stripSignatures,
  type Tx,
  type TxOutput,
} from "../../core/bitcoin/tx.ts";
import { createPsbt, type Psbt } from "../../core/bitcoin/psbt.ts";
import {
  deriveCommitmentKeys,
  derivePublicKey,
  deriveRevocationPublicKey,
  perCommitmentPoint,
} from "../../core/bolt3/keys.ts";
import {
  anchorScript,
  fundingScript,
  offeredHtlcScript,
  receivedHtlcScript,
  toLocalScript,
} from "../../core/bolt3/scripts.ts";
import {
  ANCHOR_OUTPUT_SATOSHIS,
  assembleCommitmentTx,
  type AssembledCommitment,
  obscuringFactor,
} from "../../core/bolt3/commitment.ts";
import { buildHtlcTxs, type CommitmentHtlcTransaction } from "../../core/bolt3/htlc_tx.ts";
import { ExtendedPublicKey } from "../../core/keys/bip32.ts";
import type { ChannelId } from "../../core/keys/types.ts";
import type { ChannelSetup, CommitmentType } from "../../core/channel/types.ts";
import type { Revocation } from "../../core/channel/ops/points.ts";
import type {
  CommitmentSignatures,
  CounterpartyCommitmentRequest,
  HolderCommitmentRequest,
  HolderValidation,
  HtlcRequest,
} from "../../core/channel/ops/commitment.ts";
import type { HolderCommitmentSignature } from "../../core/channel/ops/force_close.ts";
import type { HolderHtlcSignature, HolderHtlcTxRequest } from "../../core/channel/ops/htlc.ts";
import type {
  CounterpartyHtlcSweepRequest,
  DelayedSweepRequest,
  InputSignature,
  JusticeSweepRequest,
  SpendTx,
} from "../../core/channel/ops/sweep.ts";
import type { MutualCloseRequest } from "../../core/channel/ops/close.ts";
import type { AnchorSpendRequest } from "../../core/channel/ops/anchor.ts";
import type {
  PreapproveInvoiceRequestT,
  PreapproveKeysendRequestT,
} from "../../core/node/preapprove.ts";
import { PolicyRefusal, RequestError, type RequestErrorCode } from "../../core/signer/errors.ts";
import { decodeReplyTo, encodeMessage } from "../../core/protocol/codec.ts";
import type {
  HsmdRequest,
  ReplyFor,
  RequestName,
  RequestOf,
} from "../../core/protocol/messages.ts";
import type { BitcoinSignature, Htlc } from "../../core/protocol/types.ts";
import { SIGNER_ERROR, type SignerErrorInfo, signerErrorOf } from "../../core/protocol/errors.ts";
import { ROOT_PEER_ID } from "../../core/protocol/framing.ts";
import { initRequest } from "../../core/protocol/init.ts";
import type { ChannelBasepoints, SignerApi } from "./api.ts";
import type { SpentOutputLookup } from "./ldk_data.ts";
import type { NodeLink, RequestContext } from "./node_link.ts";

/** The protocol versions the remote API asks for (5: explicit revocation; 6: CLN's newest). */
export const REMOTE_MIN_VERSION = 5;
/** See {@link REMOTE_MIN_VERSION}. */
export const REMOTE_MAX_VERSION = 6;

/** The remote signer cannot be used (init refused, wrong node, an unexpected reply). */
export class RemoteSignerError extends Error {
  /**
   * Creates the error.
   * @param message what went wrong (public data only)
   */
  constructor(message: string) {
    super(message);
    this.name = "RemoteSignerError";
  }
}

/** A `RequestError` that came over the wire: the signer's `SignerError` code is kept. */
export class RemoteRequestError extends RequestError {
  /** The wire `SignerError` code (400, 404, 409, 500, 501, ...). */
  readonly signerCode: number;

  /**
   * Creates the error.
   * @param code the in-process reason it maps to
   * @param message the signer's message
   * @param signerCode the wire code
   */
  constructor(code: RequestErrorCode, message: string, signerCode: number) {
    super(code, message);
    this.signerCode = signerCode;
  }
}

/** The rule ids of a `... refused by a, b` message (none for `(no rule id)`). */
export function refusedRules(message: string): string[] {
  const at = message.lastIndexOf("refused by ");
  if (at < 0) return [];
  return message.slice(at + "refused by ".length).split(",").map((s) => s.trim())
    .filter((s) => s.length > 0 && s !== "(no rule id)");
}

/**
 * The error the in-process signer would have thrown for a `SignerError` reply to request `kind`
 * (see the module documentation).
 */
export function errorOfSignerError(
  info: SignerErrorInfo,
  kind: string,
): PolicyRefusal | RemoteRequestError {
  const { code, message } = info;
  if (code === SIGNER_ERROR.POLICY || code === SIGNER_ERROR.ORPHAN_BLOCK) {
    return new PolicyRefusal(kind, { rules: refusedRules(message), temporary: false });
  }
  if (code === SIGNER_ERROR.TEMPORARY) {
    return new PolicyRefusal(kind, { rules: refusedRules(message), temporary: true });
  }
  let mapped: RequestErrorCode;
  switch (code) {
    case SIGNER_ERROR.MALFORMED:
      mapped = "malformed";
      break;
    case SIGNER_ERROR.UNKNOWN_CHANNEL:
      mapped = "unknown-channel";
      break;
    case SIGNER_ERROR.CHANNEL_STATE:
      mapped = /already/.test(message) ? "already-ready" : "not-ready";
      break;
    case SIGNER_ERROR.UNSUPPORTED:
    case SIGNER_ERROR.UNKNOWN_MESSAGE:
      mapped = "unsupported";
      break;
    default:
      mapped = "invariant";
  }
  return new RemoteRequestError(mapped, message, code);
}

/** The BOLT #9 `channel_type` bitfield of a commitment type (minimal, big-endian). */
export function channelTypeBits(type: CommitmentType): Uint8Array {
  switch (type) {
    case "legacy":
      return new Uint8Array();
    case "static_remotekey":
      return Uint8Array.of(0x10, 0x00); // bit 12
    case "anchors":
      return Uint8Array.of(0x10, 0x10, 0x00); // bits 20, 12
    case "anchors_zero_fee_htlc":
      return Uint8Array.of(0x40, 0x10, 0x00); // bits 22, 12
  }
}

/**
 * HTLCs of `broadcaster`'s commitment (offered from the broadcaster's view) as CLN's `htlc`
 * sides: 0 = LOCAL (offered by us), 1 = REMOTE. Inverse of the dispatcher's `htlcRequests`.
 */
export function wireHtlcs(
  htlcs: readonly HtlcRequest[],
  broadcaster: "holder" | "counterparty",
): Htlc[] {
  const offeredSide = broadcaster === "holder" ? 0 : 1;
  return htlcs.map((h) => ({
    side: (h.offered ? offeredSide : 1 - offeredSide) as 0 | 1,
    amount_msat: h.amountMsat,
    payment_hash: h.paymentHash.slice(),
    cltv_expiry: h.cltvExpiry,
  }));
}

/** The order n of secp256k1's group (SEC 2, §2.4.1). */
const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * What is wrong with a 64-byte compact ECDSA signature `r ‖ s` (null: nothing): r and s must be
 * in 1..n-1 and s low (at most n/2, BIP-146 LOW_S), as the signer's RFC 6979 signing produces
 * and as relay policy requires.
 */
export function compactSignatureProblem(signature: Uint8Array): string | null {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) {
    return "a compact signature is 64 bytes";
  }
  const r = bytesToBigInt(signature.subarray(0, 32));
  const s = bytesToBigInt(signature.subarray(32, 64));
  if (r === 0n || r >= CURVE_ORDER) return "r is out of range";
  if (s === 0n || s >= CURVE_ORDER) return "s is out of range";
  if (s > CURVE_ORDER >> 1n) return "s is high (not BIP-146 LOW_S)";
  return null;
}

/** The name of a sighash type in messages. */
function sighashName(type: number): string {
  const hex = `0x${type.toString(16).padStart(2, "0")}`;
  if (type === SIGHASH.ALL) return `SIGHASH_ALL (${hex})`;
  if (type === SIGHASH.SINGLE_ANYONECANPAY) return `SIGHASH_SINGLE|ANYONECANPAY (${hex})`;
  return hex;
}

/** A reply the signer should not have sent: `<message>: bad reply: <field>: <problem>`. */
function badReply(kind: string, field: string, problem: string): RemoteSignerError {
  return new RemoteSignerError(`${kind}: bad reply: ${field}: ${problem}`);
}

/**
 * The compact signature of a reply's `bitcoin_signature`, once its sighash type is `sighash` and
 * the signature itself well formed ({@link compactSignatureProblem}); else a
 * {@link RemoteSignerError} naming the message and the field.
 */
function checkedSignature(
  sig: BitcoinSignature,
  o: { kind: string; field: string; sighash: number },
): Uint8Array {
  if (sig.sighash !== o.sighash) {
    throw badReply(
      o.kind,
      o.field,
      `sighash ${sighashName(sig.sighash)} where ${sighashName(o.sighash)} is required`,
    );
  }
  const problem = compactSignatureProblem(sig.signature);
  if (problem !== null) throw badReply(o.kind, o.field, `not a valid signature: ${problem}`);
  return sig.signature.slice();
}

/**
 * The SIGHASH_ALL input signature of an on-chain reply (field `sig` unless named), checked with
 * {@link checkedSignature}: every on-chain signature the signer makes for the node is SIGHASH_ALL.
 */
function inputSignature(
  sig: BitcoinSignature,
  o: { kind: string; field?: string },
): InputSignature {
  return {
    signature: checkedSignature(sig, {
      kind: o.kind,
      field: o.field ?? "sig",
      sighash: SIGHASH.ALL,
    }),
    sighashType: SIGHASH.ALL,
  };
}

/** Whether a commitment type has anchor outputs (HTLC signatures SINGLE|ANYONECANPAY). */
function isAnchorsType(type: CommitmentType): boolean {
  return type === "anchors" || type === "anchors_zero_fee_htlc";
}

/** A commitment rebuilt from public data, with its HTLC transactions in output order. */
interface PublicCommitment {
  commitment: AssembledCommitment;
  htlcTxs: CommitmentHtlcTransaction[];
}

/**
 * `broadcaster`'s commitment rebuilt from public data only (BOLT #3, Commitment Transaction
 * Construction): the setup the node gave the signer, our basepoints and funding key as the signer
 * announced them, the broadcaster's per-commitment point, and the request's values and untrimmed
 * HTLCs, as core/channel/rebuild.ts builds it from the keys. This is the transaction the signer
 * must have signed, so its signatures can be checked here.
 */
function rebuildPublic(
  k: { setup: ChannelSetup; ours: ChannelBasepoints },
  o: {
    broadcaster: "holder" | "counterparty";
    number: number;
    point: Uint8Array;
    feeratePerKw: number;
    values: { toBroadcasterSat: bigint; toCountersignatorySat: bigint };
    htlcs: readonly HtlcRequest[];
  },
): PublicCommitment {
  const s = k.setup;
  const cp = s.counterparty;
  const holder = {
    fundingPubkey: k.ours.funding,
    revocationBasepoint: k.ours.revocation,
    paymentBasepoint: k.ours.payment,
    delayedPaymentBasepoint: k.ours.delayedPayment,
    htlcBasepoint: k.ours.htlc,
  };
  const counterparty = {
    fundingPubkey: fromHex(cp.fundingPubkey),
    revocationBasepoint: fromHex(cp.revocationBasepoint),
    paymentBasepoint: fromHex(cp.paymentBasepoint),
    delayedPaymentBasepoint: fromHex(cp.delayedPaymentBasepoint),
    htlcBasepoint: fromHex(cp.htlcBasepoint),
  };
  const [b, c] = o.broadcaster === "holder" ? [holder, counterparty] : [counterparty, holder];
  const factor = s.isOutbound
    ? obscuringFactor(holder.paymentBasepoint, counterparty.paymentBasepoint)
    : obscuringFactor(counterparty.paymentBasepoint, holder.paymentBasepoint);
  const commitment = assembleCommitmentTx({
    fundingOutpoint: { txid: fromHex(s.fundingOutpoint.txid), vout: s.fundingOutpoint.vout },
    fundingSatoshis: s.channelValueSat,
    commitmentNumber: o.number,
    obscuringFactor: factor,
    toBroadcasterSat: o.values.toBroadcasterSat,
    toCountersignatorySat: o.values.toCountersignatorySat,
    htlcs: o.htlcs.map((h) => ({ ...h, paymentHash: h.paymentHash.slice() })),
    toSelfDelay: o.broadcaster === "holder"
      ? s.counterpartySelectedContestDelay
      : s.holderSelectedContestDelay,
    keys: deriveCommitmentKeys(o.point, { broadcaster: b, countersignatory: c }),
    countersignatoryPaymentBasepoint: c.paymentBasepoint,
    broadcasterFundingPubkey: b.fundingPubkey,
    countersignatoryFundingPubkey: c.fundingPubkey,
    anchors: isAnchorsType(s.commitmentType),
  });
  return { commitment, htlcTxs: buildHtlcTxs({ ...commitment, feeratePerKw: o.feeratePerKw }) };
}

/** Options of {@link RemoteSignerApi.connect}. */
export interface RemoteSignerApiOptions {
  /** The network the signer must be configured for (init's chainparams and BIP-32 versions). */
  network: Network;
  /** The node id the signer must have (default: whatever the first init reply says). */
  nodeId?: Uint8Array;
  /** The pseudo peer id of LDK channels (default: our node id). */
  peerId?: Uint8Array;
  /** The dbid of the first new LDK channel (default 1). */
  firstDbid?: bigint;
  /** The keys id to dbid map of a previous run ({@link RemoteSignerApi.channels}). */
  channels?: readonly { keysId: Uint8Array; dbid: bigint }[];
  /** The outputs other inputs spend (fee inputs of anchor HTLC transactions and bumps). */
  spentOutput?: SpentOutputLookup;
  /**
   * The transaction a txid (internal order) names, when the node has it: `sign_anchorspend` runs
   * the signer's on-chain checks over the whole PSBT, which want every input's previous
   * transaction (`policy-onchain-input-amounts-verified`).
   */
  previousTx?: (txid: Uint8Array) => Tx | null;
  /** How long {@link RemoteSignerApi.connect} waits for the signer (default: forever). */
  timeoutMs?: number;
}

interface HolderValidationRecord {
  signature: Uint8Array;
  htlcs: HtlcRequest[];
  htlcSignatures: Uint8Array[];
  feeratePerKw: number;
  values: { toBroadcasterSat: bigint; toCountersignatorySat: bigint };
}

interface ChannelCache {
  basepoints?: ChannelBasepoints;
  setup?: ChannelSetup;
  points: Map<number, Uint8Array>;
  validations: Map<number, HolderValidationRecord>;
}

const KEPT_VALIDATIONS = 4;
const KEPT_POINTS = 8;

function identityFromXkey(xkey: Uint8Array): ExtendedPublicKey {
  const view = new DataView(xkey.buffer, xkey.byteOffset, xkey.byteLength);
  return new ExtendedPublicKey({
    depth: xkey[4],
    parentFingerprint: view.getUint32(5),
    childNumber: view.getUint32(9),
    chainCode: xkey.slice(13, 45),
  }, xkey.slice(45, 78));
}

function notReady(message: string): RequestError {
  return new RequestError("not-ready", message);
}

/** The remote signer API (see the module documentation). */
export class RemoteSignerApi implements SignerApi {
  readonly #link: NodeLink;
  readonly #network: Network;
  readonly #lookup: SpentOutputLookup | undefined;
  readonly #previousTx: ((txid: Uint8Array) => Tx | null) | undefined;
  #nodeId: Uint8Array | undefined;
  #peerId: Uint8Array | undefined;
  #account: ExtendedPublicKey | undefined;
  #version = 0;
  #nextDbid: bigint;
  readonly #dbids = new Map<string, bigint>();
  readonly #cache = new Map<string, ChannelCache>();

  private constructor(link: NodeLink, options: RemoteSignerApiOptions) {
    this.#link = link;
    this.#network = options.network;
    this.#lookup = options.spentOutput;
    this.#previousTx = options.previousTx;
    this.#nodeId = options.nodeId?.slice();
    this.#peerId = options.peerId?.slice();
    let next = options.firstDbid ?? 1n;
    for (const c of options.channels ?? []) {
      this.#dbids.set(toHex(c.keysId), c.dbid);
      if (c.dbid >= next) next = c.dbid + 1n;
    }
    if (next < 1n) throw new RangeError("dbids start at 1 (0 is the root context)");
    this.#nextDbid = next;
    if (this.#peerId !== undefined && this.#peerId.length !== 33) {
      throw new RangeError("the pseudo peer id must be 33 bytes");
    }
  }

  /**
   * Installs the `init` handshake on `link` and waits for a signer to pass it. Rejects with a
   * {@link RemoteSignerError} when the signer refuses init, speaks another version or is another
   * node.
   */
  static async connect(link: NodeLink, options: RemoteSignerApiOptions): Promise<RemoteSignerApi> {
    const api = new RemoteSignerApi(link, options);
    link.handshake = { body: api.#initBody(), check: (reply) => api.#checkInit(reply) };
    await link.whenReady({ timeoutMs: options.timeoutMs });
    return api;
  }

  /** The signer's node id (from its init reply). */
  get nodeId(): Uint8Array {
    if (this.#nodeId === undefined) throw new RemoteSignerError("not connected yet");
    return this.#nodeId.slice();
  }

  /** The negotiated protocol version. */
  get version(): number {
    return this.#version;
  }

  /** The signer's wallet account key m/0/0 (from its init reply). */
  get accountKey(): ExtendedPublicKey {
    if (this.#account === undefined) throw new RemoteSignerError("not connected yet");
    return this.#account;
  }

  /** The keys id to dbid map (persist it with the node's channels; see `channels`). */
  channels(): { keysId: Uint8Array; dbid: bigint }[] {
    return [...this.#dbids].map(([hex, dbid]) => ({ keysId: fromHex(hex), dbid }));
  }

  /** The (pseudo peer id, dbid) context of a channel. */
  contextOf(id: ChannelId): RequestContext {
    if (id.kind === "peer-dbid") {
      return { peerId: id.peerId as Uint8Array, dbid: id.dbid as bigint };
    }
    if (id.kind !== "keys-id") {
      throw new RequestError("malformed", "a remote channel is a keys id or (peer id, dbid)");
    }
    const dbid = this.#dbids.get(id.toHex());
    if (dbid === undefined) {
      throw new RequestError(
        "unknown-channel",
        "no dbid for this keys id (newChannel first, or restore the channel map)",
      );
    }
    return { peerId: this.#pseudoPeer(), dbid };
  }

  #pseudoPeer(): Uint8Array {
    const p = this.#peerId ?? this.#nodeId;
    if (p === undefined) throw new RemoteSignerError("not connected yet");
    return p;
  }

  #initBody(): Uint8Array {
    return encodeMessage(
      initRequest(this.#network, {
        minVersion: REMOTE_MIN_VERSION,
        maxVersion: REMOTE_MAX_VERSION,
      }),
    );
  }

  #checkInit(body: Uint8Array): void {
    const err = signerErrorOf(body);
    if (err) throw new RemoteSignerError(`init refused (${err.code}): ${err.message}`);
    let reply: ReplyFor<"init">;
    try {
      reply = decodeReplyTo("init", body);
    } catch (e) {
      throw new RemoteSignerError(`init: unexpected reply: ${(e as Error).message}`);
    }
    if (reply.type === "init_reply_failure") {
      throw new RemoteSignerError(`init refused: ${reply.error_message}`);
    }
    if (reply.type !== "init_reply_v4") {
      throw new RemoteSignerError("init: the signer speaks a version below 4");
    }
    if (reply.hsm_version < REMOTE_MIN_VERSION || reply.hsm_version > REMOTE_MAX_VERSION) {
      throw new RemoteSignerError(`init: negotiated version ${reply.hsm_version} is not 5 or 6`);
    }
    if (this.#nodeId !== undefined && !equal(this.#nodeId, reply.node_id)) {
      throw new RemoteSignerError(
        `init: the signer is node ${toHex(reply.node_id)}, not ${toHex(this.#nodeId)}`,
      );
    }
    this.#nodeId = reply.node_id.slice();
    this.#account = identityFromXkey(reply.bip32);
    this.#version = reply.hsm_version;
  }

  #channelCache(id: ChannelId): ChannelCache {
    const key = id.toString();
    let c = this.#cache.get(key);
    if (c === undefined) {
      c = { points: new Map(), validations: new Map() };
      this.#cache.set(key, c);
    }
    return c;
  }

  /**
   * Send one request and decode its reply (the request is queued synchronously, so calls reach
   * the signer in call order). A `signer_error` reply is thrown as the in-process error.
   */
  async #call<N extends RequestName>(
    message: RequestOf<N>,
    context: RequestContext | undefined,
  ): Promise<ReplyFor<N>> {
    const name = message.type as N;
    let body: Uint8Array;
    try {
      body = encodeMessage(message as HsmdRequest);
    } catch (e) {
      throw new RequestError("malformed", `cannot encode ${name}: ${(e as Error).message}`);
    }
    const reply = await this.#link.request(body, context);
    const err = signerErrorOf(reply);
    if (err) throw errorOfSignerError(err, name);
    try {
      return decodeReplyTo(name, reply);
    } catch (e) {
      throw new RemoteSignerError(`${name}: unexpected reply: ${(e as Error).message}`);
    }
  }

  // ---- channel lifecycle ----------------------------------------------------------------------

  /** `new_channel` (30): a keys id gets the next dbid first. */
  async newChannel(id: ChannelId): Promise<void> {
    if (id.kind === "keys-id" && !this.#dbids.has(id.toHex())) {
      this.#dbids.set(id.toHex(), this.#nextDbid++);
    }
    const ctx = this.contextOf(id);
    await this.#call({ type: "new_channel", id: ctx.peerId, dbid: ctx.dbid }, undefined);
  }

  /** `get_channel_basepoints` (10). */
  async getChannelBasepoints(id: ChannelId): Promise<ChannelBasepoints> {
    const ctx = this.contextOf(id);
    const r = await this.#call(
      { type: "get_channel_basepoints", peerid: ctx.peerId, dbid: ctx.dbid },
      undefined,
    );
    const bp: ChannelBasepoints = {
      revocation: r.basepoints.revocation,
      payment: r.basepoints.payment,
      delayedPayment: r.basepoints.delayed_payment,
      htlc: r.basepoints.htlc,
      funding: r.funding_pubkey,
    };
    this.#channelCache(id).basepoints = bp;
    return {
      revocation: bp.revocation.slice(),
      payment: bp.payment.slice(),
      delayedPayment: bp.delayedPayment.slice(),
      htlc: bp.htlc.slice(),
      funding: bp.funding.slice(),
    };
  }

  /** `setup_channel` (31). */
  async setupChannel(id: ChannelId, setup: ChannelSetup): Promise<void> {
    const c = setup.counterparty;
    const message: RequestOf<"setup_channel"> = {
      type: "setup_channel",
      is_outbound: setup.isOutbound,
      channel_value: setup.channelValueSat,
      push_value: setup.pushMsat,
      funding_txid: fromHex(setup.fundingOutpoint.txid),
      funding_txout: setup.fundingOutpoint.vout,
      local_to_self_delay: setup.holderSelectedContestDelay,
      local_shutdown_script: fromHex(setup.holderShutdownScript),
      local_shutdown_wallet_index: setup.holderShutdownWalletIndex,
      remote_basepoints: {
        revocation: fromHex(c.revocationBasepoint),
        payment: fromHex(c.paymentBasepoint),
        htlc: fromHex(c.htlcBasepoint),
        delayed_payment: fromHex(c.delayedPaymentBasepoint),
      },
      remote_funding_pubkey: fromHex(c.fundingPubkey),
      remote_to_self_delay: setup.counterpartySelectedContestDelay,
      remote_shutdown_script: fromHex(setup.counterpartyShutdownScript),
      channel_type: channelTypeBits(setup.commitmentType),
    };
    await this.#call(message, this.contextOf(id));
    this.#channelCache(id).setup = structuredClone(setup);
  }

  /** `forget_channel` (34): the signer drops a channel that never became ready. */
  async forgetChannel(id: ChannelId): Promise<void> {
    const ctx = this.contextOf(id);
    await this.#call({ type: "forget_channel", id: ctx.peerId, dbid: ctx.dbid }, undefined);
  }

  // ---- points and revocations -----------------------------------------------------------------

  /**
   * Throws a {@link RemoteSignerError} when the signer gives point `n` other than the one it gave
   * before (a per-commitment point never changes; the peer already has the first one).
   */
  #checkPoint(id: ChannelId, o: { n: number; point: Uint8Array; kind: string; field: string }) {
    const known = this.#channelCache(id).points.get(o.n);
    if (known !== undefined && !equal(known, o.point)) {
      throw badReply(
        o.kind,
        o.field,
        `per-commitment point ${o.n} is not the one the signer gave earlier`,
      );
    }
  }

  #rememberPoint(id: ChannelId, n: number, point: Uint8Array): void {
    const points = this.#channelCache(id).points;
    points.delete(n);
    points.set(n, point.slice());
    while (points.size > KEPT_POINTS) points.delete(points.keys().next().value as number);
  }

  /** `get_per_commitment_point` (18). */
  async getPerCommitmentPoint(id: ChannelId, n: number): Promise<Uint8Array> {
    const r = await this.#call(
      { type: "get_per_commitment_point", n: BigInt(n) },
      this.contextOf(id),
    );
    r.old_commitment_secret?.zeroize();
    const point = r.per_commitment_point;
    this.#checkPoint(id, {
      n,
      point,
      kind: "get_per_commitment_point",
      field: "per_commitment_point",
    });
    this.#rememberPoint(id, n, point);
    return point.slice();
  }

  async #point(id: ChannelId, n: number): Promise<Uint8Array> {
    return this.#channelCache(id).points.get(n)?.slice() ?? await this.getPerCommitmentPoint(id, n);
  }

  /**
   * `revoke_commitment_tx` (40): secret `n` and point `n + 2`. The secret must be a valid
   * secret key and, when the node has point `n` from the signer (the point the peer got), derive
   * to it (BOLT #3, Per-commitment Secret Requirements); point `n + 2` must be the one given
   * before, if any. Otherwise a {@link RemoteSignerError} (the secret is never in it).
   */
  async revokeHolderCommitment(id: ChannelId, n: number): Promise<Revocation> {
    const kind = "revoke_commitment_tx";
    const r = await this.#call(
      { type: "revoke_commitment_tx", commit_num: BigInt(n) },
      this.contextOf(id),
    );
    const secret = r.old_commitment_secret.expose().slice();
    r.old_commitment_secret.zeroize();
    const nextPoint = r.next_per_commitment_point;
    try {
      if (!isValidSecretKey(secret)) {
        throw badReply(kind, "old_commitment_secret", "not a valid secret key");
      }
      const known = this.#channelCache(id).points.get(n);
      if (known !== undefined && !equal(perCommitmentPoint(secret), known)) {
        throw badReply(
          kind,
          "old_commitment_secret",
          `does not derive to per-commitment point ${n}, which the signer gave earlier`,
        );
      }
      this.#checkPoint(id, {
        n: n + 2,
        point: nextPoint,
        kind,
        field: "next_per_commitment_point",
      });
    } catch (e) {
      secret.fill(0);
      throw e;
    }
    this.#rememberPoint(id, n + 2, nextPoint);
    return { secret, nextPoint: nextPoint.slice() };
  }

  /** `validate_revocation` (36). */
  async validateCounterpartyRevocation(
    id: ChannelId,
    n: number,
    secret: Uint8Array,
  ): Promise<void> {
    const sec = new SecretBytes(secret.slice());
    try {
      await this.#call(
        { type: "validate_revocation", revoke_num: BigInt(n), per_commitment_secret: sec },
        this.contextOf(id),
      );
    } finally {
      sec.zeroize();
    }
  }

  // ---- commitments ----------------------------------------------------------------------------

  #anchors(id: ChannelId): boolean {
    const t = this.#channelCache(id).setup?.commitmentType;
    return t !== undefined && isAnchorsType(t);
  }

  /**
   * The sighash type the HTLC signatures of a commitment of this channel carry: SIGHASH_ALL, or
   * SINGLE|ANYONECANPAY with anchors (BOLT #3). When the node does not know the channel's type
   * (set up before a restart), the first signature's type if it is one of those two.
   */
  #htlcSighash(id: ChannelId, sigs: readonly BitcoinSignature[]): number {
    const t = this.#channelCache(id).setup?.commitmentType;
    if (t !== undefined) return isAnchorsType(t) ? SIGHASH.SINGLE_ANYONECANPAY : SIGHASH.ALL;
    return sigs[0]?.sighash === SIGHASH.SINGLE_ANYONECANPAY
      ? SIGHASH.SINGLE_ANYONECANPAY
      : SIGHASH.ALL;
  }

  /**
   * Verifies the signer's signatures on a commitment the node can rebuild: the commitment
   * signature (SIGHASH_ALL) under our funding key and, for the counterparty's commitment, each
   * HTLC signature under our HTLC key for that commitment, over the transactions rebuilt here
   * ({@link rebuildPublic}). Needs the channel's setup (known when it was set up through this
   * object); without it the signatures were only checked for form.
   */
  async #verifyCommitment(
    id: ChannelId,
    o: {
      kind: string;
      /** The reply's field of the commitment signature. */
      field: string;
      broadcaster: "holder" | "counterparty";
      number: number;
      point: Uint8Array;
      feeratePerKw: number;
      values: { toBroadcasterSat: bigint; toCountersignatorySat: bigint };
      htlcs: readonly HtlcRequest[];
      signature: Uint8Array;
      htlcSignatures?: readonly Uint8Array[];
      htlcSighash?: number;
    },
  ): Promise<void> {
    const cache = this.#channelCache(id);
    const setup = cache.setup;
    if (setup === undefined) return;
    const ours = cache.basepoints ?? await this.getChannelBasepoints(id);
    let rebuilt: PublicCommitment;
    try {
      rebuilt = rebuildPublic({ setup, ours }, o);
    } catch {
      // The node's own request does not describe a commitment (the signer checks it too):
      // nothing to verify against.
      return;
    }
    const c = rebuilt.commitment;
    const digest = sighashSegwitV0(c.tx, 0, {
      scriptCode: c.fundingWitnessScript,
      amount: c.fundingSatoshis,
      sighashType: SIGHASH.ALL,
    });
    if (!ecdsaVerify(o.signature, digest, ours.funding)) {
      throw badReply(
        o.kind,
        o.field,
        `does not verify under our funding key for ${o.broadcaster} commitment ${o.number}`,
      );
    }
    const htlcSigs = o.htlcSignatures;
    if (htlcSigs === undefined) return;
    if (rebuilt.htlcTxs.length !== htlcSigs.length) {
      throw badReply(
        o.kind,
        "htlc_signatures",
        `${htlcSigs.length} signatures for ${rebuilt.htlcTxs.length} HTLC transactions`,
      );
    }
    // We are the countersignatory of the counterparty's commitment.
    const key = c.keys.countersignatoryHtlcKey;
    rebuilt.htlcTxs.forEach((h, i) => {
      const d = sighashSegwitV0(h.tx, 0, {
        scriptCode: h.htlcWitnessScript,
        amount: c.outputs[h.commitmentOutputIndex].amountSat,
        sighashType: o.htlcSighash ?? SIGHASH.ALL,
      });
      if (!ecdsaVerify(htlcSigs[i], d, key)) {
        throw badReply(
          o.kind,
          `htlc_signatures[${i}]`,
          `does not verify under our HTLC key for the HTLC transaction of output ${h.commitmentOutputIndex}`,
        );
      }
    });
  }

  /**
   * `sign_remote_commitment_tx_2` (1019): the commitment and HTLC signatures. The reply must
   * carry a SIGHASH_ALL commitment signature and one HTLC signature per HTLC of the request (the
   * request lists the untrimmed HTLCs, each an output with its HTLC transaction), each
   * SIGHASH_ALL, or SINGLE|ANYONECANPAY with anchors; every signature well formed and, when the
   * channel's setup is known here, valid over the rebuilt transactions. Otherwise a
   * {@link RemoteSignerError}.
   */
  async signCounterpartyCommitment(
    id: ChannelId,
    request: CounterpartyCommitmentRequest,
  ): Promise<CommitmentSignatures> {
    const values = commitmentValues(request);
    const kind = "sign_remote_commitment_tx_2";
    const r = await this.#call({
      type: kind,
      remote_per_commitment_point: request.perCommitmentPoint,
      commitment_number: BigInt(request.number),
      feerate: request.feeratePerKw,
      // LDK's to_local is ours: the countersignatory's output on the counterparty's commitment.
      to_local_value_sat: values.toCountersignatorySat,
      to_remote_value_sat: values.toBroadcasterSat,
      htlcs: wireHtlcs(request.htlcs, "counterparty"),
    }, this.contextOf(id));
    const signature = checkedSignature(r.signature, {
      kind,
      field: "signature",
      sighash: SIGHASH.ALL,
    });
    if (r.htlc_signatures.length !== request.htlcs.length) {
      throw badReply(
        kind,
        "htlc_signatures",
        `${r.htlc_signatures.length} signatures for the request's ${request.htlcs.length} HTLCs`,
      );
    }
    const htlcSighashType = this.#htlcSighash(id, r.htlc_signatures);
    const htlcSignatures = r.htlc_signatures.map((s, i) =>
      checkedSignature(s, { kind, field: `htlc_signatures[${i}]`, sighash: htlcSighashType })
    );
    await this.#verifyCommitment(id, {
      kind,
      field: "signature",
      broadcaster: "counterparty",
      number: request.number,
      point: request.perCommitmentPoint,
      feeratePerKw: request.feeratePerKw,
      values,
      htlcs: request.htlcs,
      signature,
      htlcSignatures,
      htlcSighash: htlcSighashType,
    });
    return { signature, htlcSignatures, htlcSighashType };
  }

  /** `validate_commitment_tx_2` (1035): our point `n + 1`. */
  async validateHolderCommitment(
    id: ChannelId,
    request: HolderCommitmentRequest,
  ): Promise<HolderValidation> {
    const values = commitmentValues(request);
    const htlcSighash = this.#anchors(id) ? SIGHASH.SINGLE_ANYONECANPAY : SIGHASH.ALL;
    const r = await this.#call({
      type: "validate_commitment_tx_2",
      commitment_number: BigInt(request.number),
      feerate: request.feeratePerKw,
      to_local_value_sat: values.toBroadcasterSat,
      to_remote_value_sat: values.toCountersignatorySat,
      htlcs: wireHtlcs(request.htlcs, "holder"),
      signature: { signature: request.counterpartySig, sighash: SIGHASH.ALL },
      htlc_signatures: request.counterpartyHtlcSigs.map((s) => ({
        signature: s,
        sighash: htlcSighash,
      })),
    }, this.contextOf(id));
    r.old_commitment_secret?.zeroize();
    const next = r.next_per_commitment_point;
    this.#checkPoint(id, {
      n: request.number + 1,
      point: next,
      kind: "validate_commitment_tx_2",
      field: "next_per_commitment_point",
    });
    const cache = this.#channelCache(id);
    cache.validations.set(request.number, {
      signature: request.counterpartySig.slice(),
      htlcs: request.htlcs.map((h) => ({ ...h, paymentHash: h.paymentHash.slice() })),
      htlcSignatures: request.counterpartyHtlcSigs.map((s) => s.slice()),
      feeratePerKw: request.feeratePerKw,
      values: { ...values },
    });
    while (cache.validations.size > KEPT_VALIDATIONS) {
      cache.validations.delete(cache.validations.keys().next().value as number);
    }
    this.#rememberPoint(id, request.number + 1, next);
    return { nextPoint: next.slice() };
  }

  /**
   * `sign_local_commitment_tx_2` (1005). The signature must be SIGHASH_ALL and well formed and,
   * when the node validated that commitment through this object and has its point and the
   * channel's setup, valid over our rebuilt commitment; otherwise a {@link RemoteSignerError}.
   */
  async signHolderCommitment(id: ChannelId, n: number): Promise<HolderCommitmentSignature> {
    const kind = "sign_local_commitment_tx_2";
    const r = await this.#call(
      { type: kind, commitment_number: BigInt(n) },
      this.contextOf(id),
    );
    const signature = checkedSignature(r.sig, { kind, field: "sig", sighash: SIGHASH.ALL });
    const cache = this.#channelCache(id);
    const validation = cache.validations.get(n);
    const point = cache.points.get(n);
    if (validation !== undefined && point !== undefined) {
      await this.#verifyCommitment(id, {
        kind,
        field: "sig",
        broadcaster: "holder",
        number: n,
        point,
        feeratePerKw: validation.feeratePerKw,
        values: validation.values,
        htlcs: validation.htlcs,
        signature,
      });
    }
    return {
      signature,
      counterpartySignature: validation?.signature.slice() ?? new Uint8Array(),
    };
  }

  // ---- on-chain -------------------------------------------------------------------------------

  async #keys(id: ChannelId): Promise<{ setup: ChannelSetup; ours: ChannelBasepoints }> {
    const cache = this.#channelCache(id);
    const setup = cache.setup;
    if (setup === undefined) {
      throw notReady("the node does not know this channel's setup (it was set up elsewhere)");
    }
    const ours = cache.basepoints ?? await this.getChannelBasepoints(id);
    return { setup, ours };
  }

  /** The HTLC script of `broadcaster`'s commitment at `point` (BOLT #3). */
  #htlcScript(
    k: { setup: ChannelSetup; ours: ChannelBasepoints },
    o: { broadcaster: "holder" | "counterparty"; point: Uint8Array; htlc: HtlcRequest },
  ): Uint8Array {
    const theirs = k.setup.counterparty;
    const ours = {
      revocationBasepoint: k.ours.revocation,
      htlcBasepoint: k.ours.htlc,
      delayedPaymentBasepoint: k.ours.delayedPayment,
    };
    const other = {
      revocationBasepoint: fromHex(theirs.revocationBasepoint),
      htlcBasepoint: fromHex(theirs.htlcBasepoint),
      delayedPaymentBasepoint: fromHex(theirs.delayedPaymentBasepoint),
    };
    const keys = o.broadcaster === "holder"
      ? deriveCommitmentKeys(o.point, { broadcaster: ours, countersignatory: other })
      : deriveCommitmentKeys(o.point, { broadcaster: other, countersignatory: ours });
    const t = k.setup.commitmentType;
    const options = {
      revocationKey: keys.revocationKey,
      broadcasterHtlcKey: keys.broadcasterHtlcKey,
      countersignatoryHtlcKey: keys.countersignatoryHtlcKey,
      paymentHash: o.htlc.paymentHash,
      anchors: t === "anchors" || t === "anchors_zero_fee_htlc",
    };
    return o.htlc.offered
      ? offeredHtlcScript(options)
      : receivedHtlcScript({ ...options, cltvExpiry: o.htlc.cltvExpiry });
  }

  /**
   * A PSBT of `tx` (signatures stripped) whose every input carries the output it spends: input
   * `index` spends `signed` (its P2WSH of `witnessScript` when the node gave no script), the
   * others what `spent` (or the lookup) says; outputs and inputs with a wallet path get a BIP-32
   * record with the wallet key at that index.
   */
  #psbt(
    tx: Tx,
    o: {
      index: number;
      signed: TxOutput;
      spent?: readonly (TxOutput | null)[];
      inputPaths?: readonly number[][];
      outputPaths?: readonly number[][];
      /** Add each input's previous transaction (PSBT_IN_NON_WITNESS_UTXO) when known. */
      previous?: boolean;
    },
  ): { tx: Tx; psbt: Psbt } {
    const unsigned = stripSignatures(tx);
    const psbt = createPsbt(unsigned);
    unsigned.inputs.forEach((input, i) => {
      let out: TxOutput | null | undefined = i === o.index ? o.signed : o.spent?.[i];
      if ((out === null || out === undefined) && i !== o.index) {
        out = this.#lookup?.({ txid: input.txid.slice(), vout: input.vout }) ?? null;
      }
      if (out === null || out === undefined) {
        throw new RequestError(
          "unsupported",
          `input ${i}: the output it spends is unknown (the wire needs every input's UTXO)`,
        );
      }
      psbt.inputs[i].witnessUtxo = { amount: out.amount, script: out.script.slice() };
      const previous = o.previous ? this.#previousTx?.(input.txid.slice()) : undefined;
      if (previous) psbt.inputs[i].nonWitnessUtxo = previous;
      const path = o.inputPaths?.[i] ?? [];
      if (path.length > 0) psbt.inputs[i].bip32Derivation = [this.#walletRecord(path)];
    });
    unsigned.outputs.forEach((_, i) => {
      const path = o.outputPaths?.[i] ?? [];
      if (path.length > 0) psbt.outputs[i].bip32Derivation = [this.#walletRecord(path)];
    });
    return { tx: unsigned, psbt };
  }

  /** A PSBT BIP-32 record for wallet path [index, ...] (the key m/0/0/index of the account). */
  #walletRecord(
    path: readonly number[],
  ): { pubkey: Uint8Array; fingerprint: number; path: number[] } {
    let key = this.accountKey;
    for (const c of path) key = key.deriveChild(c);
    return { pubkey: key.publicKey, fingerprint: 0, path: [...path] };
  }

  #spendCtx(
    spend: SpendTx,
    index: number,
    witnessScript: Uint8Array,
  ): { tx: Tx; psbt: Psbt } {
    const given = spend.spent[index];
    if (given === null || given === undefined) {
      throw new RequestError("malformed", `input ${index}: the amount it spends is unknown`);
    }
    const script = given.script.length > 0 ? given.script : p2wsh(witnessScript);
    return this.#psbt(spend.tx, {
      index,
      signed: { amount: given.amount, script },
      spent: spend.spent,
      inputPaths: spend.inputPaths,
      outputPaths: spend.outputPaths,
    });
  }

  /** `sign_any_local_htlc_tx` (146): our HTLC-success/timeout transaction. */
  async signHolderHtlcTx(
    id: ChannelId,
    request: HolderHtlcTxRequest,
  ): Promise<HolderHtlcSignature> {
    const k = await this.#keys(id);
    const point = await this.#point(id, request.number);
    let script = request.witnessScript;
    if (script === undefined) {
      if (request.htlc === undefined) {
        throw new RequestError("malformed", "an HTLC transaction needs the HTLC or its script");
      }
      script = this.#htlcScript(k, { broadcaster: "holder", point, htlc: request.htlc });
    }
    const amount = request.amountSat ??
      (request.htlc ? request.htlc.amountMsat / 1000n : undefined);
    if (amount === undefined) throw new RequestError("malformed", "the HTLC amount is unknown");
    const ctx = this.#psbt(request.tx, {
      index: request.inputIndex,
      signed: { amount, script: p2wsh(script) },
    });
    const ctxRef = this.contextOf(id);
    const anchors = this.#anchors(id);
    const r = await this.#call({
      type: "sign_any_local_htlc_tx",
      commit_num: BigInt(request.number),
      tx: ctx,
      wscript: script,
      option_anchor_outputs: anchors,
      input: request.inputIndex,
      peerid: ctxRef.peerId,
      channel_dbid: ctxRef.dbid,
    }, undefined);
    const ours = inputSignature(r.sig, { kind: "sign_any_local_htlc_tx" });
    const theirs = this.#counterpartyHtlcSig(id, request, { keys: k, point });
    return {
      signature: ours.signature,
      sighashType: ours.sighashType,
      counterpartySignature: theirs ?? new Uint8Array(),
      counterpartySighashType: anchors ? SIGHASH.SINGLE_ANYONECANPAY : SIGHASH.ALL,
      htlcWitnessScript: script,
    };
  }

  /**
   * The counterparty's signature on our HTLC transaction, from the validation the node sent:
   * its HTLC signatures are in commitment output order (BOLT #3: amount, then script, then
   * expiry), which is rebuilt here to find the one of `request.htlc`.
   */
  #counterpartyHtlcSig(
    id: ChannelId,
    request: HolderHtlcTxRequest,
    o: { keys: { setup: ChannelSetup; ours: ChannelBasepoints }; point: Uint8Array },
  ): Uint8Array | undefined {
    const v = this.#channelCache(id).validations.get(request.number);
    const h = request.htlc;
    if (v === undefined || h === undefined || v.htlcSignatures.length !== v.htlcs.length) {
      return undefined;
    }
    const target = v.htlcs.findIndex((x) =>
      x.offered === h.offered && x.amountMsat === h.amountMsat &&
      x.cltvExpiry === h.cltvExpiry && equal(x.paymentHash, h.paymentHash)
    );
    if (target < 0) return undefined;
    const outputs = v.htlcs.map((x, i) => ({
      i,
      amount: x.amountMsat / 1000n,
      script: p2wsh(this.#htlcScript(o.keys, { broadcaster: "holder", point: o.point, htlc: x })),
      cltv: x.cltvExpiry,
    }));
    outputs.sort((a, b) =>
      a.amount !== b.amount
        ? (a.amount < b.amount ? -1 : 1)
        : compare(a.script, b.script) || a.cltv - b.cltv
    );
    const rank = outputs.findIndex((x) => x.i === target);
    return v.htlcSignatures[rank]?.slice();
  }

  /** `sign_any_delayed_payment_to_us` (142): our to_local (or HTLC transaction output). */
  async signDelayedSweep(id: ChannelId, request: DelayedSweepRequest): Promise<InputSignature> {
    let script = request.witnessScript;
    if (script === undefined) {
      const k = await this.#keys(id);
      const point = await this.#point(id, request.number);
      script = toLocalScript({
        revocationKey: deriveRevocationPublicKey(
          fromHex(k.setup.counterparty.revocationBasepoint),
          point,
        ),
        broadcasterDelayedPaymentKey: derivePublicKey(k.ours.delayedPayment, point),
        toSelfDelay: k.setup.counterpartySelectedContestDelay,
      });
    }
    const ctx = this.#spendCtx(request.spend, request.inputIndex, script);
    const c = this.contextOf(id);
    const r = await this.#call({
      type: "sign_any_delayed_payment_to_us",
      commit_num: BigInt(request.number),
      tx: ctx,
      wscript: script,
      input: request.inputIndex,
      peerid: c.peerId,
      channel_dbid: c.dbid,
    }, undefined);
    return inputSignature(r.sig, { kind: "sign_any_delayed_payment_to_us" });
  }

  /** `sign_any_remote_htlc_to_us` (143): an HTLC output of the counterparty's commitment. */
  async signCounterpartyHtlcSweep(
    id: ChannelId,
    request: CounterpartyHtlcSweepRequest,
  ): Promise<InputSignature> {
    let script = request.witnessScript;
    if (script === undefined) {
      if (request.htlc === undefined) {
        throw new RequestError("malformed", "an HTLC sweep needs the HTLC or its script");
      }
      const k = await this.#keys(id);
      script = this.#htlcScript(k, {
        broadcaster: "counterparty",
        point: request.perCommitmentPoint,
        htlc: request.htlc,
      });
    }
    const ctx = this.#spendCtx(request.spend, request.inputIndex, script);
    const c = this.contextOf(id);
    const r = await this.#call({
      type: "sign_any_remote_htlc_to_us",
      remote_per_commitment_point: request.perCommitmentPoint,
      tx: ctx,
      wscript: script,
      option_anchor_outputs: this.#anchors(id),
      input: request.inputIndex,
      peerid: c.peerId,
      channel_dbid: c.dbid,
    }, undefined);
    return inputSignature(r.sig, { kind: "sign_any_remote_htlc_to_us" });
  }

  /** `sign_any_penalty_to_us` (144): an output of a revoked counterparty commitment. */
  async signJusticeSweep(id: ChannelId, request: JusticeSweepRequest): Promise<InputSignature> {
    let script = request.witnessScript;
    if (script === undefined) {
      const k = await this.#keys(id);
      const point = perCommitmentPoint(request.revocationSecret);
      if (request.htlc !== undefined) {
        script = this.#htlcScript(k, { broadcaster: "counterparty", point, htlc: request.htlc });
      } else {
        script = toLocalScript({
          revocationKey: deriveRevocationPublicKey(k.ours.revocation, point),
          broadcasterDelayedPaymentKey: derivePublicKey(
            fromHex(k.setup.counterparty.delayedPaymentBasepoint),
            point,
          ),
          toSelfDelay: k.setup.holderSelectedContestDelay,
        });
      }
    }
    const ctx = this.#spendCtx(request.spend, request.inputIndex, script);
    const c = this.contextOf(id);
    const secret = new SecretBytes(request.revocationSecret.slice());
    try {
      const r = await this.#call({
        type: "sign_any_penalty_to_us",
        revocation_secret: secret,
        tx: ctx,
        wscript: script,
        input: request.inputIndex,
        peerid: c.peerId,
        channel_dbid: c.dbid,
      }, undefined);
      return inputSignature(r.sig, { kind: "sign_any_penalty_to_us" });
    } finally {
      secret.zeroize();
    }
  }

  /** `sign_mutual_close_tx_2` (1021) with values, `sign_mutual_close_tx` (21) with a transaction. */
  async signMutualClose(id: ChannelId, request: MutualCloseRequest): Promise<InputSignature> {
    const v = request.values;
    if (v !== undefined) {
      const r = await this.#call({
        type: "sign_mutual_close_tx_2",
        to_local_value_sat: v.toHolderSat,
        to_remote_value_sat: v.toCounterpartySat,
        local_script: v.holderScript,
        remote_script: v.counterpartyScript,
        local_wallet_path_hint: v.holderWalletPath,
      }, this.contextOf(id));
      return inputSignature(r.sig, { kind: "sign_mutual_close_tx_2" });
    }
    const spend = request.spend;
    const remote = request.remoteFundingPubkey;
    if (spend === undefined || remote === undefined) {
      throw new RequestError("malformed", "a close needs its values or its transaction and key");
    }
    const k = await this.#keys(id);
    const funding = {
      amount: k.setup.channelValueSat,
      script: p2wsh(fundingScript(k.ours.funding, remote)),
    };
    const ctx = this.#psbt(spend.tx, {
      index: 0,
      signed: spend.spent[0] ?? funding,
      spent: spend.spent,
      inputPaths: spend.inputPaths,
      outputPaths: spend.outputPaths,
    });
    const r = await this.#call(
      { type: "sign_mutual_close_tx", tx: ctx, remote_funding_key: remote },
      this.contextOf(id),
    );
    return inputSignature(r.sig, { kind: "sign_mutual_close_tx" });
  }

  /**
   * `sign_anchorspend` (147): the PSBT with our anchor input (its output from the channel's
   * funding key), every input's previous transaction when `previousTx` knows it, and no wallet
   * inputs for the signer to sign (LDK's wallet signs its own); our signature is read back from
   * the PSBT's partial signature for the funding key.
   */
  async signAnchorSpend(id: ChannelId, request: AnchorSpendRequest): Promise<InputSignature> {
    const cache = this.#channelCache(id);
    const ours = cache.basepoints ?? await this.getChannelBasepoints(id);
    const script = anchorScript(ours.funding);
    const given = request.spend.spent[request.inputIndex];
    const ctx = this.#psbt(request.spend.tx, {
      index: request.inputIndex,
      signed: {
        amount: given?.amount ?? ANCHOR_OUTPUT_SATOSHIS,
        script: given && given.script.length > 0 ? given.script : p2wsh(script),
      },
      spent: request.spend.spent,
      inputPaths: request.spend.inputPaths,
      outputPaths: request.spend.outputPaths,
      previous: true,
    });
    const c = this.contextOf(id);
    const r = await this.#call({
      type: "sign_anchorspend",
      peerid: c.peerId,
      channel_dbid: c.dbid,
      inputs: [],
      psbt: ctx.psbt,
    }, undefined);
    const kind = "sign_anchorspend";
    const field = `psbt.inputs[${request.inputIndex}].partial_sigs`;
    const partial = r.psbt.inputs[request.inputIndex]?.partialSigs.find((p) =>
      equal(p.pubkey, ours.funding)
    );
    if (partial === undefined || partial.signature.length < 9) {
      throw badReply(kind, field, "no signature for our anchor input");
    }
    const der = partial.signature.subarray(0, partial.signature.length - 1);
    let signature: Uint8Array;
    try {
      signature = derDecode(der);
    } catch (e) {
      throw badReply(kind, field, `not a strict DER signature: ${(e as Error).message}`);
    }
    const sighash = partial.signature[partial.signature.length - 1];
    return inputSignature({ signature, sighash }, { kind, field });
  }

  // ---- node level -----------------------------------------------------------------------------

  /**
   * `add_block` (2005): the header only (no TXOO proof). The transactions are not sent (the
   * message has no field for them) and the height is the signer's own (see the module
   * documentation).
   */
  async addBlock(
    header: Uint8Array,
    _options: { height?: number; transactions?: Tx[] } = {},
  ): Promise<void> {
    await this.#call({ type: "add_block", header, unspent_proof: null }, undefined);
  }

  /** `remove_block` (2006). */
  async removeBlock(header: Uint8Array): Promise<void> {
    await this.#call({
      type: "remove_block",
      unspent_proof: null,
      header,
      prev_filter_header: new Uint8Array(32),
    }, undefined);
  }

  /** `preapprove_invoice` (38); `approved = false` becomes a {@link PolicyRefusal}. */
  async preapproveInvoice(request: PreapproveInvoiceRequestT): Promise<boolean> {
    const r = await this.#call(
      { type: "preapprove_invoice", invstring: request.invstring },
      undefined,
    );
    if (!r.approved) throw refusedPreapproval("preapprove_invoice");
    return true;
  }

  /** `preapprove_keysend` (39); as {@link preapproveInvoice}. */
  async preapproveKeysend(request: PreapproveKeysendRequestT): Promise<boolean> {
    const r = await this.#call({
      type: "preapprove_keysend",
      destination: request.destination,
      payment_hash: request.paymentHash,
      amount_msat: request.amountMsat,
    }, undefined);
    if (!r.approved) throw refusedPreapproval("preapprove_keysend");
    return true;
  }
}

/** The values of a commitment request: the wire carries phase 2 only (values, not the tx). */
function commitmentValues(
  request: { values?: { toBroadcasterSat: bigint; toCountersignatorySat: bigint } },
): { toBroadcasterSat: bigint; toCountersignatorySat: bigint } {
  if (request.values === undefined) {
    throw new RequestError("unsupported", "the remote signer API sends commitment values");
  }
  return request.values;
}

function refusedPreapproval(kind: string): PolicyRefusal {
  const e = new PolicyRefusal(kind, { rules: [], temporary: false });
  e.message = `refused ${kind} (the signer answered approved = false; the wire names no rule)`;
  return e;
}

/** The root context (33 zero bytes, dbid 0). */
export const ROOT_CONTEXT: RequestContext = { peerId: ROOT_PEER_ID, dbid: 0n };
