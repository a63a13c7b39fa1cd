/**
 * The Dispatcher: speaks CLN's hsmd protocol, with VLS's and LDK's extensions, to the
 * {@link Signer}. A transport hands it a request body (u16 type + fields) with the context it came
 * in (CLN's client fd, VLS's gRPC `HsmRequestContext` or serial header) and gets back the reply
 * body:
 *
 * ```ts
 * const dispatcher = new Dispatcher(signer, { network: "regtest", identity: keys });
 * const reply = await dispatcher.handle({ peerId, dbid }, body); // null: send nothing
 * ```
 *
 * `handle` never throws and never leaves the dispatcher in a broken state: every failure becomes a
 * `SignerError` (3000) reply with a code from `errors.ts`, and the next request is served
 * normally. Requests are handled one at a time, in arrival order (as vlsd does), so the
 * multi-step handlers below (validate-then-revoke before version 5) are atomic with respect to
 * other requests.
 *
 * **Context.** No context, or a dbid of 0 (CLN's main fd, connectd, VLS's frontend; the peer id
 * is then 33 zero bytes or connectd's peer), is the root. A dbid above 0 is the channel
 * `ChannelId.fromPeerDbid(peerId, dbid)`. Channel messages (protocol.md §3 column H = C) need a
 * channel context (`WRONG_CONTEXT` otherwise); root messages that name a channel (4, 5, 10, 30,
 * 34, 142-149) build its id from their own fields; node-level messages are served in any context
 * (their keys do not depend on the channel; VLS serves ECDH on both).
 *
 * **Phases.** Before `init` only `ping`, `init` (11), `init_2` (1011) and the dev preinits (99,
 * 90) are served; anything else is `NOT_INITIALIZED`. A later `init` (VLS's proxy replays its
 * cached init on every reconnect) negotiates again. `dev_preinit` (99) has no reply:
 * {@link Dispatcher.handle} returns `null`, which a transport must honour by sending nothing (its
 * TLVs are never applied: the seed, network and allowlist are the signer's own).
 *
 * **Version-dependent semantics** (protocol.md §2, kept from the negotiated version):
 * - `get_per_commitment_point(n)` below version 6 also returns `old_secret` = secret(n - 2) when
 *   n ≥ 2, but only if that commitment is already revoked (n - 2 ≤ H - 2, and not the one signed
 *   for a force close): it is then released through the signer's `revokeHolderCommitment`
 *   retry path, so the release is a policy decision in the audit log and never advances state.
 *   Otherwise `old_secret` is none (VLS's newer `get_per_commitment_secret_or_none`).
 * - `validate_commitment_tx(n)` (and LDK's 1035) below version 5 also revokes commitment n - 1
 *   (`revokeHolderCommitment(n - 1)`) and returns its secret with point(n + 1); from version 5 it
 *   returns no secret and point(n + 1) (commitment 0 becomes current at once in the signer).
 * - `revoke_commitment_tx` (40) is served only from version 5 (`UNSUPPORTED` below).
 *
 * **Chain.** `tip_info` answers height 0 and a zero hash while the signer follows no chain. The
 * first `add_block` on an untracked signer is taken as height 1 (the block after the tip we
 * reported); TXOO proofs are not verified, only their presence is passed (`proofPresent`).
 * `forward_watches`/`reverse_watches` come from the configured chain's `watches()` when it has
 * one, else empty lists. `check_outpoint` answers `funding depth ≥ 1` when a chain view that
 * records confirmations is configured (`options.chain`) and tracks a tip; otherwise true, as
 * CLN's and VLS's stubs do (CLN's channeld polls it every 10 s until true, so a view that never
 * records confirmations, such as one fed only by VLS's frontend whose TXOO proofs are not parsed,
 * would stall every channel).
 *
 * **Reply size.** The PSBT signing requests (7, 147, 149) grow their PSBT by a signature (and
 * maybe a script) per input signed; one whose signed PSBT could exceed `MAX_BODY_SIZE` is refused
 * `MALFORMED` before anything is signed or stored ({@link signedPsbtReplyBound}). A reply that
 * still cannot be encoded is `INTERNAL` (the request was fine), never `MALFORMED`.
 *
 * **Not served** (answered `UNSUPPORTED`): `client_hsmfd` (9, the transport's business),
 * `get_output_scriptpubkey` (24, a CLN database migration), `sign_option_will_fund_offer` (26),
 * `bip137_sign_message` (45), `preapprove_invoice_check` (51), `preapprove_keysend_check` (52),
 * `check_bip86_pubkey` (56); none of them is advertised, so CLN does not send them.
 *
 * @module
 */
import { equal, toHex, zeroize } from "../bytes.ts";
import { SecretBytes } from "../crypto/mod.ts";
import { anchorScript } from "../bolt3/scripts.ts";
import { p2wsh } from "../bitcoin/script.ts";
import { isNetwork, type Network, networkParams } from "../bitcoin/network.ts";
import { SIGHASH } from "../bitcoin/tx.ts";
import { encodePsbt, type Psbt } from "../bitcoin/psbt.ts";
import type { ChainView } from "../channel/ops/context.ts";
import { maySecret } from "../channel/state.ts";
import { isAnchors } from "../channel/rebuild.ts";
import { ChannelId, KeysError } from "../keys/types.ts";
import { encodeSignedHeartbeat } from "../node/heartbeat.ts";
import type { Signer } from "../signer/signer.ts";
import { PolicyRefusal } from "../signer/errors.ts";
import { decodeMessage, encodeReply, peekType } from "./codec.ts";
import type { HsmdReply, HsmdRequest, RequestName, RequestOf } from "./messages.ts";
import { requestByName } from "./messages.ts";
import {
  type BitcoinSignature,
  type Ctx,
  MAX_BODY_SIZE,
  ProtocolError,
  type Utxo,
} from "./types.ts";
import {
  bitcoinSignature,
  channelIdOf,
  channelSetupOf,
  commitmentFeerate,
  commitmentNumber,
  htlcRequests,
  nodeCommitmentTx,
  recoverableSignatureBytes,
  spendTx,
  spentAmount,
  wireOutpoint,
  withPartialSig,
  xpubBytes,
} from "./convert.ts";
import { DispatchError, errorReply, type FailedRequest, SIGNER_ERROR } from "./errors.ts";
import {
  MAX_PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  negotiateInit,
  negotiateInit2,
  type NodeIdentity,
} from "./init.ts";

/** Where a request came from: CLN's (peer id, dbid) of the client fd or VLS's context. */
export interface RequestContext {
  /** The peer's node id (33 bytes; 33 zero bytes for the root). */
  peerId: Uint8Array;
  /** The channel's database id (0 for the root). */
  dbid: bigint;
}

/** The signer operations the dispatcher calls (the {@link Signer} service has them all). */
export type DispatchSigner =
  & Pick<
    Signer,
    | "newChannel"
    | "getChannelBasepoints"
    | "setupChannel"
    | "forgetChannel"
    | "getPerCommitmentPoint"
    | "checkFutureSecret"
    | "revokeHolderCommitment"
    | "validateCounterpartyRevocation"
    | "signCounterpartyCommitment"
    | "validateHolderCommitment"
    | "signHolderCommitment"
    | "signHolderHtlcTx"
    | "signCounterpartyHtlcTx"
    | "signDelayedSweep"
    | "signCounterpartyHtlcSweep"
    | "signJusticeSweep"
    | "signMutualClose"
    | "signSplice"
    | "signAnchorSpend"
    | "ecdh"
    | "signInvoice"
    | "signMessage"
    | "signNodeAnnouncement"
    | "signChannelUpdate"
    | "signGossipMessage"
    | "signChannelAnnouncement"
    | "signBolt12"
    | "signBolt12V2"
    | "deriveSecret"
    | "checkPubkey"
    | "secureRandomBytes"
    | "signOnchain"
    | "preapproveInvoice"
    | "preapproveKeysend"
    | "heartbeat"
    | "channelState"
    | "addBlock"
    | "removeBlock"
    | "tipInfo"
  >
  & {
    /** The node's public identity, when the signer exposes it (else `options.identity`). */
    readonly identity?: NodeIdentity;
  };

/** What `check_outpoint` and the watch lists read (a {@link ChainView} that records depths). */
export interface DispatchChain extends Pick<ChainView, "tracked" | "fundingDepth"> {
  /** The txids and outpoints the node's chain follower should watch (internal-order hex txids). */
  watches?(): { txids: Uint8Array[]; outpoints: { txid: string; vout: number }[] };
}

/** Options of the {@link Dispatcher}. */
export interface DispatcherOptions {
  /** The network the signer is configured for (checked against `init`). */
  network: Network;
  /** Our highest protocol version (default 6; VLS's `VLS_MAX_PROTOCOL_VERSION`). */
  maxVersion?: number;
  /** Developer mode: dev_* init fields and `dev_preinit_v1` are tolerated (never applied). */
  dev?: boolean;
  /** The node's public identity (node id, account key, BOLT-12 key): e.g. the signer's keys. */
  identity?: NodeIdentity;
  /**
   * A chain view that records funding confirmations, for `check_outpoint` and the watch lists.
   * Leave it out when blocks come only from VLS's frontend (see the module documentation).
   */
  chain?: DispatchChain;
}

/** A dispatcher option is invalid. */
export class DispatcherConfigError extends Error {
  /**
   * Creates the error.
   * @param message what is wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "DispatcherConfigError";
  }
}

/** The value {@link Dispatcher.handle} returns when nothing must be sent back (`dev_preinit`). */
export const NO_REPLY = null;

/** Messages served before `init`. */
const INIT_PHASE = new Set<RequestName>([
  "ping",
  "init",
  "init_2",
  "dev_preinit",
  "dev_preinit_v1",
]);

/** Messages that need a channel context (protocol.md §3, column H = C). */
const CHANNEL_MESSAGES = new Set<RequestName>([
  "cannouncement_sig_req",
  "sign_delayed_payment_to_us",
  "sign_remote_htlc_to_us",
  "sign_penalty_to_us",
  "sign_local_htlc_tx",
  "get_per_commitment_point",
  "sign_remote_commitment_tx",
  "sign_remote_htlc_tx",
  "sign_mutual_close_tx",
  "check_future_secret",
  "sign_splice_tx",
  "setup_channel",
  "validate_commitment_tx",
  "validate_revocation",
  "revoke_commitment_tx",
  "sign_local_commitment_tx_2",
  "get_per_commitment_point_2",
  "sign_remote_commitment_tx_2",
  "sign_mutual_close_tx_2",
  "validate_commitment_tx_2",
]);

/** Known messages this signer does not serve, with the reason given. */
const UNSUPPORTED: Partial<Record<RequestName, string>> = {
  client_hsmfd: "client fds are the transport's business",
  get_output_scriptpubkey: "only used by a CLN database migration",
  sign_option_will_fund_offer: "liquidity ads are not supported",
  bip137_sign_message: "not supported (not advertised)",
  preapprove_invoice_check: "not supported (not advertised; CLN sends preapprove_invoice)",
  preapprove_keysend_check: "not supported (not advertised; CLN sends preapprove_keysend)",
  check_bip86_pubkey: "not supported (no bip86 base is advertised)",
  sign_local_htlc_tx_2: "id 20 is CLN's sign_remote_htlc_tx",
};

/** The messages answered `UNSUPPORTED` whatever their content (see the module documentation). */
export const UNSUPPORTED_MESSAGES: readonly RequestName[] = Object.keys(
  UNSUPPORTED,
) as RequestName[];

type Context = { kind: "root" } | { kind: "channel"; id: ChannelId };

const ZERO_HASH = new Uint8Array(32);

function parseContext(context: RequestContext | undefined | null): Context {
  if (context === undefined || context === null) return { kind: "root" };
  const bad = (m: string) => new DispatchError(SIGNER_ERROR.MALFORMED, `malformed: context: ${m}`);
  if (typeof context !== "object") throw bad("must be { peerId, dbid }");
  const { peerId, dbid } = context;
  if (!(peerId instanceof Uint8Array) || peerId.length !== 33) {
    throw bad("peer id must be 33 bytes");
  }
  if (typeof dbid !== "bigint" || dbid < 0n || dbid > 0xffffffffffffffffn) {
    throw bad("dbid must be a u64 bigint");
  }
  if (dbid === 0n) return { kind: "root" };
  try {
    return { kind: "channel", id: ChannelId.fromPeerDbid(peerId, dbid) };
  } catch (e) {
    if (e instanceof KeysError) throw bad(e.message);
    throw e;
  }
}

/** Zeroize every {@link SecretBytes} in a decoded message or reply (plain objects and arrays). */
function zeroizeSecrets(value: unknown, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== "object") return;
  if (value instanceof SecretBytes) {
    value.zeroize();
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) zeroizeSecrets(v, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return;
  for (const v of Object.values(value)) zeroizeSecrets(v, depth + 1);
}

/** Runs `use` with a copy of a secret's bytes, then zeroizes the copy. */
async function withSecret<T>(
  secret: SecretBytes,
  use: (bytes: Uint8Array) => Promise<T>,
): Promise<T> {
  const copy = secret.expose().slice();
  try {
    return await use(copy);
  } finally {
    zeroize(copy);
  }
}

/** A `bsig` with SIGHASH_ALL. */
/**
 * The largest record a signature adds to a PSBT input (BIP-174 PSBT_IN_PARTIAL_SIG): key length
 * (1), key type (1) and 33-byte pubkey, value length (1), DER signature (at most 72) and sighash
 * byte. A taproot key-path signature (PSBT_IN_TAP_KEY_SIG, 68 bytes) is smaller.
 */
export const PARTIAL_SIG_RECORD_MAX = 109;

/**
 * The largest script record the signer adds for the finalizer when an input has none: key length,
 * key type, value length and a script of at most 80 bytes (a P2SH-P2WPKH redeem script is 22, a
 * BOLT #3 anchor 40, a `to_remote` with CSV at most 41, a `to_local` at most 78).
 */
export const SCRIPT_RECORD_MAX = 83;

/**
 * An upper bound of the reply body of a PSBT signing request (7 `sign_withdrawal`, 147
 * `sign_anchorspend`, 149 `sign_htlc_tx_mingle`): the reply's type (2) and PSBT length (4), the
 * request's PSBT encoded again, and for every input the signer may sign (its outpoint is in
 * `utxos`; plus `anchorInputs` for 147's anchor) a {@link PARTIAL_SIG_RECORD_MAX} signature and,
 * where the signer adds one (a P2SH or `close_info` utxo, the anchor) and the input has none, a
 * {@link SCRIPT_RECORD_MAX} script. Also the number of signatures it counted.
 */
export function signedPsbtReplyBound(
  psbt: Psbt,
  o: { utxos: readonly Utxo[]; anchorInputs?: number },
): { bytes: number; signatures: number } {
  const byOutpoint = new Map(o.utxos.map((u) => [`${toHex(u.txid)}:${u.outnum}`, u]));
  let bytes = 2 + 4 + encodePsbt(psbt).length;
  let signatures = 0;
  psbt.tx.inputs.forEach((input, i) => {
    const u = byOutpoint.get(`${toHex(input.txid)}:${input.vout}`);
    if (u === undefined) return;
    signatures++;
    bytes += PARTIAL_SIG_RECORD_MAX;
    const scripted = psbt.inputs[i]?.redeemScript || psbt.inputs[i]?.witnessScript;
    if ((u.is_p2sh || u.close_info !== null) && !scripted) bytes += SCRIPT_RECORD_MAX;
  });
  const anchors = o.anchorInputs ?? 0;
  signatures += anchors;
  bytes += anchors * (PARTIAL_SIG_RECORD_MAX + SCRIPT_RECORD_MAX);
  return { bytes, signatures };
}

/**
 * Refuses, before anything is signed or stored, a PSBT signing request whose signed PSBT might
 * not fit in a reply ({@link signedPsbtReplyBound} above {@link MAX_BODY_SIZE}): the signer would
 * otherwise sign and commit its state, then fail to answer.
 */
function checkSignedPsbtFits(
  name: RequestName,
  o: { psbt: Psbt; utxos: readonly Utxo[]; anchorInputs?: number },
): void {
  const bound = signedPsbtReplyBound(o.psbt, o);
  if (bound.bytes <= MAX_BODY_SIZE) return;
  throw new DispatchError(
    SIGNER_ERROR.MALFORMED,
    `malformed: ${name}.psbt: the signed PSBT would exceed the body cap (up to ${bound.bytes} ` +
      `bytes with ${bound.signatures} signatures; at most ${MAX_BODY_SIZE})`,
  );
}

function sigAll(signature: Uint8Array): BitcoinSignature {
  return bitcoinSignature(signature, SIGHASH.ALL);
}

/** The protocol handler in front of one {@link Signer} (see the module documentation). */
export class Dispatcher {
  readonly #signer: DispatchSigner;
  readonly #network: Network;
  readonly #maxVersion: number;
  readonly #dev: boolean;
  readonly #identity: NodeIdentity | undefined;
  readonly #chain: DispatchChain | undefined;
  #version: number | undefined = undefined;
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * Creates the dispatcher (not initialised: the node's `init` comes first).
   * @param signer the signer service
   * @param options the network, our highest version, developer mode, identity and chain view
   */
  constructor(signer: DispatchSigner, options: DispatcherOptions) {
    if (!signer || typeof signer !== "object") {
      throw new DispatcherConfigError("a signer is required");
    }
    if (!isNetwork(options?.network)) {
      throw new DispatcherConfigError(`unknown network ${JSON.stringify(options?.network)}`);
    }
    const maxVersion = options.maxVersion ?? MAX_PROTOCOL_VERSION;
    if (
      !Number.isInteger(maxVersion) || maxVersion < MIN_PROTOCOL_VERSION ||
      maxVersion > MAX_PROTOCOL_VERSION
    ) {
      throw new DispatcherConfigError(
        `maxVersion must be an integer in ${MIN_PROTOCOL_VERSION}..${MAX_PROTOCOL_VERSION}`,
      );
    }
    this.#signer = signer;
    this.#network = options.network;
    this.#maxVersion = maxVersion;
    this.#dev = options.dev ?? false;
    this.#identity = options.identity ?? signer.identity;
    const signerNodeId = (signer as { nodeId?: unknown }).nodeId;
    if (
      this.#identity !== undefined && signerNodeId instanceof Uint8Array &&
      !equal(signerNodeId, this.#identity.nodeId)
    ) {
      throw new DispatcherConfigError("the identity's node id is not the signer's");
    }
    this.#chain = options.chain;
  }

  /** The negotiated protocol version; undefined before a successful init. */
  get version(): number | undefined {
    return this.#version;
  }

  /**
   * Handle one request body from `context` (undefined or null: the root) and return the reply
   * body, or `null` ({@link NO_REPLY}) when the request has no reply (`dev_preinit`). Never
   * throws: any failure is a `SignerError` reply. Requests are served one at a time, in call
   * order.
   */
  handle(
    context: RequestContext | null | undefined,
    body: Uint8Array,
  ): Promise<Uint8Array | null> {
    const run = this.#queue.then(() => this.#handleOne(context, body));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #handleOne(
    context: RequestContext | null | undefined,
    body: Uint8Array,
  ): Promise<Uint8Array | null> {
    const failed: FailedRequest = {};
    let request: HsmdRequest | undefined;
    let reply: HsmdReply | null = null;
    try {
      failed.id = peekType(body);
      request = decodeMessage(body);
      failed.name = request.type;
      const ctx = parseContext(context);
      if (this.#version === undefined && !INIT_PHASE.has(request.type)) {
        throw new DispatchError(
          SIGNER_ERROR.NOT_INITIALIZED,
          `not initialized: ${request.type} (${failed.id}) before init`,
        );
      }
      reply = await this.#dispatch(request, ctx);
      if (reply === null) return NO_REPLY;
      try {
        return encodeReply(reply);
      } catch (e) {
        // Our own reply: the request was fine (it was served), so this is not MALFORMED.
        const why = e instanceof ProtocolError ? e.message : e instanceof Error ? e.name : "error";
        throw new DispatchError(
          SIGNER_ERROR.INTERNAL,
          `internal: ${request.type}: the reply cannot be encoded (${why})`,
        );
      }
    } catch (e) {
      try {
        return errorReply(e, failed);
      } catch {
        return errorReply(new Error("unencodable error"), {});
      }
    } finally {
      zeroizeSecrets(request);
      zeroizeSecrets(reply);
    }
  }

  #channel(ctx: Context, name: RequestName): ChannelId {
    if (ctx.kind === "channel") return ctx.id;
    throw new DispatchError(
      SIGNER_ERROR.WRONG_CONTEXT,
      `wrong context: ${name} (${
        requestByName(name)?.id
      }) needs a channel context (peer id and dbid > 0)`,
    );
  }

  #identityOrFail(name: string): NodeIdentity {
    if (this.#identity === undefined) {
      throw new DispatchError(
        SIGNER_ERROR.INTERNAL,
        `internal: ${name}: the signer's node identity is not available`,
      );
    }
    return this.#identity;
  }

  #initOptions() {
    return {
      network: this.#network,
      maxVersion: this.#maxVersion,
      dev: this.#dev,
      identity: this.#identity,
    };
  }

  /** The negotiated version (the dispatcher is initialised when this is called). */
  get #v(): number {
    return this.#version ?? MAX_PROTOCOL_VERSION;
  }

  async #dispatch(m: HsmdRequest, ctx: Context): Promise<HsmdReply | null> {
    const s = this.#signer;
    if (CHANNEL_MESSAGES.has(m.type)) this.#channel(ctx, m.type);
    const channel = () => this.#channel(ctx, m.type);
    const unsupported = UNSUPPORTED[m.type];
    if (unsupported !== undefined) {
      throw new DispatchError(
        SIGNER_ERROR.UNSUPPORTED,
        `unsupported: ${m.type} (${requestByName(m.type)?.id}): ${unsupported}`,
      );
    }
    switch (m.type) {
      // ---------------------------------------------------------------------------------------
      // Init phase
      case "ping":
        return { type: "pong", id: m.id, message: "pong" };
      case "init": {
        const outcome = negotiateInit(m, this.#initOptions());
        if (outcome.version !== undefined) this.#version = outcome.version;
        return outcome.reply;
      }
      case "init_2": {
        const outcome = negotiateInit2(m, this.#initOptions());
        this.#version = outcome.version;
        return outcome.reply;
      }
      case "dev_preinit":
        return null;
      case "dev_preinit_v1": {
        if (!this.#dev) {
          throw new DispatchError(
            SIGNER_ERROR.UNSUPPORTED,
            "unsupported: dev_preinit_v1 (90): developer mode is off",
          );
        }
        return { type: "dev_preinit_reply", node_id: this.#identityOrFail(m.type).nodeId };
      }

      // ---------------------------------------------------------------------------------------
      // Channel lifecycle
      case "new_channel":
        await s.newChannel(channelIdOf(m.id, m.dbid));
        return { type: "new_channel_reply" };
      case "get_channel_basepoints": {
        const bp = await s.getChannelBasepoints(channelIdOf(m.peerid, m.dbid));
        return {
          type: "get_channel_basepoints_reply",
          basepoints: {
            revocation: bp.revocation,
            payment: bp.payment,
            htlc: bp.htlc,
            delayed_payment: bp.delayedPayment,
          },
          funding_pubkey: bp.funding,
        };
      }
      case "setup_channel":
        await s.setupChannel(channel(), channelSetupOf(m));
        return { type: "setup_channel_reply" };
      case "forget_channel":
        await s.forgetChannel(channelIdOf(m.id, m.dbid));
        return { type: "forget_channel_reply" };
      case "check_outpoint":
        return { type: "check_outpoint_reply", is_buried: this.#isBuried(m) };
      case "lock_outpoint":
        return { type: "lock_outpoint_reply" };
      case "dev_memleak":
        return { type: "dev_memleak_reply", leak: false };

      // ---------------------------------------------------------------------------------------
      // Points, secrets, revocations
      case "get_per_commitment_point":
        return await this.#getPerCommitmentPoint(channel(), m);
      case "get_per_commitment_point_2": {
        const n = commitmentNumber(m.commitment_number, {
          where: m.type,
          field: "commitment_number",
        });
        return {
          type: "get_per_commitment_point_2_reply",
          point: await s.getPerCommitmentPoint(channel(), n),
        };
      }
      case "check_future_secret": {
        const n = commitmentNumber(m.n, { where: m.type, field: "n" });
        const correct = await withSecret(
          m.commitment_secret,
          (secret) => s.checkFutureSecret(channel(), n, secret),
        );
        return { type: "check_future_secret_reply", correct };
      }
      case "validate_revocation": {
        const n = commitmentNumber(m.revoke_num, { where: m.type, field: "revoke_num" });
        await withSecret(
          m.per_commitment_secret,
          (secret) => s.validateCounterpartyRevocation(channel(), n, secret),
        );
        return { type: "validate_revocation_reply" };
      }
      case "revoke_commitment_tx": {
        if (this.#v < 5) {
          throw new DispatchError(
            SIGNER_ERROR.UNSUPPORTED,
            `unsupported: revoke_commitment_tx (40): needs protocol version 5 (negotiated ${this.#v})`,
          );
        }
        const n = commitmentNumber(m.commit_num, { where: m.type, field: "commit_num" });
        const r = await s.revokeHolderCommitment(channel(), n);
        return {
          type: "revoke_commitment_tx_reply",
          old_commitment_secret: new SecretBytes(r.secret),
          next_per_commitment_point: r.nextPoint,
        };
      }

      // ---------------------------------------------------------------------------------------
      // Commitments
      case "sign_remote_commitment_tx":
        return await this.#signRemoteCommitment(channel(), m);
      case "sign_remote_commitment_tx_2": {
        const r = await s.signCounterpartyCommitment(channel(), {
          number: commitmentNumber(m.commitment_number, {
            where: m.type,
            field: "commitment_number",
          }),
          feeratePerKw: m.feerate,
          htlcs: htlcRequests(m.htlcs, "counterparty"),
          // LDK's `to_local` is ours: the countersignatory's on the counterparty's commitment.
          values: {
            toBroadcasterSat: m.to_remote_value_sat,
            toCountersignatorySat: m.to_local_value_sat,
          },
          perCommitmentPoint: m.remote_per_commitment_point,
        });
        return {
          type: "sign_commitment_tx_with_htlcs_reply",
          signature: sigAll(r.signature),
          htlc_signatures: r.htlcSignatures.map((h) => bitcoinSignature(h, r.htlcSighashType)),
        };
      }
      case "validate_commitment_tx":
      case "validate_commitment_tx_2":
        return await this.#validateCommitment(channel(), m);
      case "sign_commitment_tx":
        return await this.#signCommitmentTx(m);
      case "sign_local_commitment_tx_2": {
        const n = commitmentNumber(m.commitment_number, {
          where: m.type,
          field: "commitment_number",
        });
        const r = await s.signHolderCommitment(channel(), n);
        return { type: "sign_commitment_tx_reply", sig: sigAll(r.signature) };
      }

      // ---------------------------------------------------------------------------------------
      // Second-level transactions, sweeps, closes, splices
      case "sign_remote_htlc_tx": {
        const psbt = m.tx.psbt;
        const r = await s.signCounterpartyHtlcTx(channel(), {
          tx: psbt.tx,
          inputIndex: 0,
          witnessScript: m.wscript,
          amountSat: spentAmount(psbt, 0, { where: m.type, field: "tx.psbt" }),
          outputWitnessScript: psbt.outputs[0]?.witnessScript,
          perCommitmentPoint: m.remote_per_commit_point,
        });
        return { type: "sign_tx_reply", sig: bitcoinSignature(r.signature, r.sighashType) };
      }
      case "sign_local_htlc_tx":
        return await this.#signLocalHtlc(channel(), m, 0);
      case "sign_any_local_htlc_tx":
        return await this.#signLocalHtlc(channelIdOf(m.peerid, m.channel_dbid), m, m.input);
      case "sign_delayed_payment_to_us":
        return await this.#signDelayed(channel(), m, 0);
      case "sign_any_delayed_payment_to_us":
        return await this.#signDelayed(channelIdOf(m.peerid, m.channel_dbid), m, m.input);
      case "sign_remote_htlc_to_us":
        return await this.#signRemoteHtlcToUs(channel(), m, 0);
      case "sign_any_remote_htlc_to_us":
        return await this.#signRemoteHtlcToUs(channelIdOf(m.peerid, m.channel_dbid), m, m.input);
      case "sign_penalty_to_us":
        return await this.#signPenalty(channel(), m, 0);
      case "sign_any_penalty_to_us":
        return await this.#signPenalty(channelIdOf(m.peerid, m.channel_dbid), m, m.input);
      case "sign_mutual_close_tx": {
        const r = await s.signMutualClose(channel(), {
          spend: spendTx(m.tx.psbt, { where: m.type, field: "tx.psbt" }),
          remoteFundingPubkey: m.remote_funding_key,
        });
        return { type: "sign_tx_reply", sig: bitcoinSignature(r.signature, r.sighashType) };
      }
      case "sign_mutual_close_tx_2": {
        const r = await s.signMutualClose(channel(), {
          values: {
            toHolderSat: m.to_local_value_sat,
            toCounterpartySat: m.to_remote_value_sat,
            holderScript: m.local_script,
            counterpartyScript: m.remote_script,
            holderWalletPath: m.local_wallet_path_hint,
          },
        });
        return { type: "sign_tx_reply", sig: bitcoinSignature(r.signature, r.sighashType) };
      }
      case "sign_splice_tx": {
        const r = await s.signSplice(channel(), {
          spend: spendTx(m.tx.psbt, { where: m.type, field: "tx.psbt" }),
          remoteFundingPubkey: m.remote_funding_key,
          inputIndex: m.input_index,
        });
        return { type: "sign_tx_reply", sig: bitcoinSignature(r.signature, r.sighashType) };
      }

      // ---------------------------------------------------------------------------------------
      // On-chain wallet
      case "sign_withdrawal": {
        checkSignedPsbtFits(m.type, { psbt: m.psbt, utxos: m.inputs });
        const psbt = await s.signOnchain({ utxos: m.inputs, psbt: m.psbt, purpose: "withdrawal" });
        return { type: "sign_withdrawal_reply", psbt };
      }
      case "sign_htlc_tx_mingle": {
        checkSignedPsbtFits(m.type, { psbt: m.psbt, utxos: m.inputs });
        const psbt = await s.signOnchain({ utxos: m.inputs, psbt: m.psbt, purpose: "mingle" });
        return { type: "sign_htlc_tx_mingle_reply", psbt };
      }
      case "sign_anchorspend":
        return {
          type: "sign_anchorspend_reply",
          psbt: await this.#signAnchorspend(channelIdOf(m.peerid, m.channel_dbid), m),
        };

      // ---------------------------------------------------------------------------------------
      // Node-level signing
      case "ecdh_req":
        return { type: "ecdh_resp", ss: new SecretBytes(await s.ecdh({ point: m.point })) };
      case "cannouncement_sig_req":
      case "sign_any_cannouncement_req": {
        const id = m.type === "cannouncement_sig_req"
          ? channel()
          : channelIdOf(m.peerid, m.channel_dbid);
        const r = await s.signChannelAnnouncement(id, { announcement: m.ca });
        return {
          type: m.type === "cannouncement_sig_req"
            ? "cannouncement_sig_reply"
            : "sign_any_cannouncement_reply",
          node_signature: r.nodeSignature,
          bitcoin_signature: r.bitcoinSignature,
        };
      }
      case "cupdate_sig_req":
        return { type: "cupdate_sig_reply", cu: await s.signChannelUpdate({ update: m.cu }) };
      case "node_announcement_sig_req":
        return {
          type: "node_announcement_sig_reply",
          signature: await s.signNodeAnnouncement({ announcement: m.announcement }),
        };
      case "sign_gossip_message":
        return {
          type: "sign_gossip_message_reply",
          signature: await s.signGossipMessage({ message: m.message }),
        };
      case "sign_invoice":
        return {
          type: "sign_invoice_reply",
          sig: recoverableSignatureBytes(await s.signInvoice({ u5bytes: m.u5bytes, hrp: m.hrp })),
        };
      case "sign_message":
        return {
          type: "sign_message_reply",
          sig: recoverableSignatureBytes(await s.signMessage({ message: m.msg })),
        };
      case "sign_bolt12":
        return {
          type: "sign_bolt12_reply",
          sig: await s.signBolt12({
            messagename: m.messagename,
            fieldname: m.fieldname,
            merkleRoot: m.merkleroot,
            publicTweak: m.publictweak,
          }),
        };
      case "sign_bolt12_2":
        return {
          type: "sign_bolt12_2_reply",
          sig: await s.signBolt12V2({
            messagename: m.messagename,
            fieldname: m.fieldname,
            merkleRoot: m.merkleroot,
            info: m.info,
            tweakMessage: m.publictweak,
          }),
        };
      case "derive_secret":
        return {
          type: "derive_secret_reply",
          secret: new SecretBytes(await s.deriveSecret({ info: m.info })),
        };
      case "check_pubkey":
        return {
          type: "check_pubkey_reply",
          ok: await s.checkPubkey({ index: m.index, pubkey: m.pubkey }),
        };
      case "get_secure_random_bytes":
        return {
          type: "get_secure_random_bytes_reply",
          data: new SecretBytes(await s.secureRandomBytes()),
        };
      case "preapprove_invoice":
        return {
          type: "preapprove_invoice_reply",
          approved: await refusalAsFalse(() => s.preapproveInvoice({ invstring: m.invstring })),
        };
      case "preapprove_keysend":
        return {
          type: "preapprove_keysend_reply",
          approved: await refusalAsFalse(() =>
            s.preapproveKeysend({
              destination: m.destination,
              paymentHash: m.payment_hash,
              amountMsat: m.amount_msat,
            })
          ),
        };
      case "node_info": {
        const id = this.#identityOrFail(m.type);
        return {
          type: "node_info_reply",
          network_name: this.#network,
          node_id: id.nodeId,
          bip32: xpubBytes(id.accountKey(), networkParams(this.#network).bip32.public),
        };
      }

      // ---------------------------------------------------------------------------------------
      // VLS frontend (chain follower)
      case "tip_info": {
        const tip = s.tipInfo();
        return {
          type: "tip_info_reply",
          height: tip?.height ?? 0,
          block_hash: tip?.hash ?? ZERO_HASH,
        };
      }
      case "forward_watches":
      case "reverse_watches": {
        const w = this.#chain?.watches?.() ?? { txids: [], outpoints: [] };
        return {
          type: m.type === "forward_watches" ? "forward_watches_reply" : "reverse_watches_reply",
          txids: w.txids,
          outpoints: w.outpoints.map(wireOutpoint),
        };
      }
      case "add_block": {
        if (m.header.length !== 80) {
          throw new DispatchError(
            SIGNER_ERROR.MALFORMED,
            `malformed: add_block.header: must be an 80-byte header, got ${m.header.length} bytes`,
          );
        }
        const tracked = s.tipInfo() !== undefined;
        await s.addBlock(m.header, {
          height: tracked ? undefined : 1,
          proofPresent: m.unspent_proof !== null,
        });
        return { type: "add_block_reply" };
      }
      case "remove_block":
        await s.removeBlock(m.header);
        return { type: "remove_block_reply" };
      case "block_chunk":
        return { type: "block_chunk_reply" };
      case "get_heartbeat": {
        const tip = s.tipInfo();
        const signed = await s.heartbeat({
          tipHash: tip?.hash ?? ZERO_HASH,
          height: tip?.height ?? 0,
          tipTimestamp: tip?.time ?? 0,
        });
        return { type: "get_heartbeat_reply", heartbeat: encodeSignedHeartbeat(signed) };
      }
      default:
        throw new DispatchError(
          SIGNER_ERROR.UNSUPPORTED,
          `unsupported: ${m.type} (${requestByName(m.type)?.id})`,
        );
    }
  }

  #isBuried(m: RequestOf<"check_outpoint">): boolean {
    const chain = this.#chain;
    if (chain === undefined || !chain.tracked) return true;
    return chain.fundingDepth({ txid: toHex(m.funding_txid), vout: m.funding_txout }) >= 1;
  }

  async #getPerCommitmentPoint(
    id: ChannelId,
    m: RequestOf<"get_per_commitment_point">,
  ): Promise<HsmdReply> {
    const s = this.#signer;
    const n = commitmentNumber(m.n, { where: m.type, field: "n" });
    const point = await s.getPerCommitmentPoint(id, n);
    let old: SecretBytes | null = null;
    if (this.#v < 6 && n >= 2) {
      const state = await s.channelState(id);
      if (state !== undefined && state.stage === "ready" && maySecret(state.enforcement, n - 2)) {
        old = new SecretBytes((await s.revokeHolderCommitment(id, n - 2)).secret);
      }
    }
    return {
      type: "get_per_commitment_point_reply",
      per_commitment_point: point,
      old_commitment_secret: old,
    };
  }

  /** The feerate to pass for a commitment of channel `id` (see `commitmentFeerate`). */
  async #feerate(
    id: ChannelId,
    o: { declared: number; ctx: Ctx; htlcCount: number },
  ): Promise<number> {
    if (o.declared !== 0) return o.declared;
    const setup = (await this.#signer.channelState(id))?.setup;
    if (!setup) return 0;
    return commitmentFeerate(0, {
      tx: o.ctx.psbt.tx,
      channelValueSat: setup.channelValueSat,
      anchors: isAnchors(setup),
      htlcCount: o.htlcCount,
    });
  }

  async #signRemoteCommitment(
    id: ChannelId,
    m: RequestOf<"sign_remote_commitment_tx">,
  ): Promise<HsmdReply> {
    const r = await this.#signer.signCounterpartyCommitment(id, {
      number: commitmentNumber(m.commit_num, { where: m.type, field: "commit_num" }),
      feeratePerKw: await this.#feerate(id, {
        declared: m.feerate,
        ctx: m.tx,
        htlcCount: m.htlcs.length,
      }),
      htlcs: htlcRequests(m.htlcs, "counterparty"),
      tx: nodeCommitmentTx(m.tx),
      perCommitmentPoint: m.remote_per_commit,
    });
    return { type: "sign_tx_reply", sig: sigAll(r.signature) };
  }

  async #validateCommitment(
    id: ChannelId,
    m: RequestOf<"validate_commitment_tx"> | RequestOf<"validate_commitment_tx_2">,
  ): Promise<HsmdReply> {
    const s = this.#signer;
    const phase1 = m.type === "validate_commitment_tx";
    const numberField = phase1 ? "commit_num" : "commitment_number";
    const n = commitmentNumber(phase1 ? m.commit_num : m.commitment_number, {
      where: m.type,
      field: numberField,
    });
    const sig = phase1 ? m.sig : m.signature;
    const htlcSigs = phase1 ? m.htlc_sigs : m.htlc_signatures;
    if (sig.sighash !== SIGHASH.ALL) {
      throw new DispatchError(
        SIGNER_ERROR.MALFORMED,
        `malformed: ${m.type}.${
          phase1 ? "sig" : "signature"
        }: the commitment signature must be SIGHASH_ALL`,
      );
    }
    htlcSigs.forEach((h, i) => {
      if (h.sighash !== SIGHASH.ALL && h.sighash !== SIGHASH.SINGLE_ANYONECANPAY) {
        throw new DispatchError(
          SIGNER_ERROR.MALFORMED,
          `malformed: ${m.type}.${phase1 ? "htlc_sigs" : "htlc_signatures"}[${i}]: an HTLC ` +
            "signature must be SIGHASH_ALL or SIGHASH_SINGLE|ANYONECANPAY",
        );
      }
    });
    const common = {
      number: n,
      htlcs: htlcRequests(m.htlcs, "holder"),
      counterpartySig: sig.signature,
      counterpartyHtlcSigs: htlcSigs.map((h) => h.signature),
    };
    const validated = phase1
      ? await s.validateHolderCommitment(id, {
        ...common,
        feeratePerKw: await this.#feerate(id, {
          declared: m.feerate,
          ctx: m.tx,
          htlcCount: m.htlcs.length,
        }),
        tx: nodeCommitmentTx(m.tx),
      })
      : await s.validateHolderCommitment(id, {
        ...common,
        feeratePerKw: m.feerate,
        values: {
          toBroadcasterSat: m.to_local_value_sat,
          toCountersignatorySat: m.to_remote_value_sat,
        },
      });
    if (this.#v >= 5 || n === 0) {
      return {
        type: "validate_commitment_tx_reply",
        old_commitment_secret: null,
        next_per_commitment_point: validated.nextPoint,
      };
    }
    // Before version 5 validating n also revokes n - 1 (VLS `revoke_previous_holder_commitment`).
    const revoked = await s.revokeHolderCommitment(id, n - 1);
    return {
      type: "validate_commitment_tx_reply",
      old_commitment_secret: new SecretBytes(revoked.secret),
      next_per_commitment_point: validated.nextPoint,
    };
  }

  async #signCommitmentTx(m: RequestOf<"sign_commitment_tx">): Promise<HsmdReply> {
    const s = this.#signer;
    const id = channelIdOf(m.peer_id, m.channel_dbid);
    if (m.tx.psbt.tx.locktime === 0) {
      // VLS's workaround: a locktime of 0 is a mutual close sent through this message.
      const r = await s.signMutualClose(id, {
        spend: spendTx(m.tx.psbt, { where: m.type, field: "tx.psbt" }),
        remoteFundingPubkey: m.remote_funding_key,
      });
      return {
        type: "sign_commitment_tx_reply",
        sig: bitcoinSignature(r.signature, r.sighashType),
      };
    }
    // The signer signs its own stored commitment, never the node's transaction.
    const n = commitmentNumber(m.commit_num, { where: m.type, field: "commit_num" });
    const r = await s.signHolderCommitment(id, n);
    return { type: "sign_commitment_tx_reply", sig: sigAll(r.signature) };
  }

  async #signLocalHtlc(
    id: ChannelId,
    m: RequestOf<"sign_local_htlc_tx"> | RequestOf<"sign_any_local_htlc_tx">,
    input: number,
  ): Promise<HsmdReply> {
    const psbt = m.tx.psbt;
    const at = { where: m.type, field: "tx.psbt" };
    const r = await this.#signer.signHolderHtlcTx(id, {
      number: commitmentNumber(m.commit_num, { where: m.type, field: "commit_num" }),
      tx: psbt.tx,
      inputIndex: input,
      witnessScript: m.wscript,
      amountSat: spentAmount(psbt, input, at),
      outputWitnessScript: psbt.outputs[input]?.witnessScript,
    });
    return { type: "sign_tx_reply", sig: bitcoinSignature(r.signature, r.sighashType) };
  }

  async #signDelayed(
    id: ChannelId,
    m: RequestOf<"sign_delayed_payment_to_us"> | RequestOf<"sign_any_delayed_payment_to_us">,
    input: number,
  ): Promise<HsmdReply> {
    const r = await this.#signer.signDelayedSweep(id, {
      number: commitmentNumber(m.commit_num, { where: m.type, field: "commit_num" }),
      spend: spendTx(m.tx.psbt, { where: m.type, field: "tx.psbt" }),
      inputIndex: input,
      witnessScript: m.wscript,
    });
    return { type: "sign_tx_reply", sig: bitcoinSignature(r.signature, r.sighashType) };
  }

  async #signRemoteHtlcToUs(
    id: ChannelId,
    m: RequestOf<"sign_remote_htlc_to_us"> | RequestOf<"sign_any_remote_htlc_to_us">,
    input: number,
  ): Promise<HsmdReply> {
    const r = await this.#signer.signCounterpartyHtlcSweep(id, {
      spend: spendTx(m.tx.psbt, { where: m.type, field: "tx.psbt" }),
      inputIndex: input,
      witnessScript: m.wscript,
      perCommitmentPoint: m.remote_per_commitment_point,
    });
    return { type: "sign_tx_reply", sig: bitcoinSignature(r.signature, r.sighashType) };
  }

  async #signPenalty(
    id: ChannelId,
    m: RequestOf<"sign_penalty_to_us"> | RequestOf<"sign_any_penalty_to_us">,
    input: number,
  ): Promise<HsmdReply> {
    const spend = spendTx(m.tx.psbt, { where: m.type, field: "tx.psbt" });
    const r = await withSecret(
      m.revocation_secret,
      (revocationSecret) =>
        this.#signer.signJusticeSweep(id, {
          spend,
          inputIndex: input,
          witnessScript: m.wscript,
          revocationSecret,
        }),
    );
    return { type: "sign_tx_reply", sig: bitcoinSignature(r.signature, r.sighashType) };
  }

  /**
   * CLN 147: sign the wallet inputs (as `sign_withdrawal`), then our anchor input, found by its
   * P2WSH script among the PSBT's spent outputs; the anchor signature goes into the PSBT as a
   * partial signature for our funding key (CLN's hsmd: `wally_psbt_sign` with the funding key).
   */
  async #signAnchorspend(id: ChannelId, m: RequestOf<"sign_anchorspend">): Promise<Psbt> {
    const s = this.#signer;
    const { funding } = await s.getChannelBasepoints(id);
    const script = anchorScript(funding);
    const spend = spendTx(m.psbt, { where: m.type, field: "psbt" });
    const program = toHex(p2wsh(script));
    const inputIndex = spend.spent.findIndex((o) => o !== null && toHex(o.script) === program);
    if (inputIndex < 0) {
      throw new DispatchError(
        SIGNER_ERROR.MALFORMED,
        "malformed: sign_anchorspend.psbt: no input spends our anchor output of the channel",
      );
    }
    checkSignedPsbtFits(m.type, { psbt: m.psbt, utxos: m.inputs, anchorInputs: 1 });
    const signed = await s.signOnchain({ utxos: m.inputs, psbt: m.psbt, purpose: "anchorspend" });
    const sig = await s.signAnchorSpend(id, { spend, inputIndex });
    return withPartialSig(signed, inputIndex, {
      pubkey: funding,
      signature: sig.signature,
      sighash: sig.sighashType,
      witnessScript: script,
    });
  }
}

/**
 * A preapproval: a (non-temporary) policy refusal answers `false`, since the decision is audited
 * with its rule ids; a temporary refusal stays an error so that VLS's proxy retries.
 */
async function refusalAsFalse(run: () => Promise<boolean>): Promise<boolean> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof PolicyRefusal && !e.temporary) return false;
    throw e;
  }
}
