/**
 * The signer API the LDK adapter talks to: the subset of the signer service
 * (`core/signer/signer.ts` {@link Signer}) an LDK node needs. The in-process `Signer` satisfies
 * it as it is; a remote protocol client implements the same interface later. Every method is
 * asynchronous and fails with `PolicyRefusal` (a rule refused; nothing changed) or
 * `RequestError` (the request could not be handled) from `core/signer/errors.ts`.
 *
 * @module
 */
import type { ChannelId } from "../../core/keys/types.ts";
import type { ChannelSetup } from "../../core/channel/types.ts";
import type { Revocation } from "../../core/channel/ops/points.ts";
import type {
  CommitmentSignatures,
  CounterpartyCommitmentRequest,
  HolderCommitmentRequest,
  HolderValidation,
} from "../../core/channel/ops/commitment.ts";
import type { HolderCommitmentSignature } from "../../core/channel/ops/force_close.ts";
import type { HolderHtlcSignature, HolderHtlcTxRequest } from "../../core/channel/ops/htlc.ts";
import type {
  CounterpartyHtlcSweepRequest,
  DelayedSweepRequest,
  InputSignature,
  JusticeSweepRequest,
} from "../../core/channel/ops/sweep.ts";
import type { MutualCloseRequest } from "../../core/channel/ops/close.ts";
import type { AnchorSpendRequest } from "../../core/channel/ops/anchor.ts";
import type {
  PreapproveInvoiceRequestT,
  PreapproveKeysendRequestT,
} from "../../core/node/preapprove.ts";
import type { Signer } from "../../core/signer/signer.ts";
import type { Tx } from "../../core/bitcoin/tx.ts";

/** Our public channel keys (basepoints and funding key), 33 bytes each. */
export interface ChannelBasepoints {
  /** `revocation_basepoint`. */
  revocation: Uint8Array;
  /** `payment_basepoint` (LDK's `payment_point`). */
  payment: Uint8Array;
  /** `delayed_payment_basepoint`. */
  delayedPayment: Uint8Array;
  /** `htlc_basepoint`. */
  htlc: Uint8Array;
  /** `funding_pubkey`. */
  funding: Uint8Array;
}

/**
 * The signer operations an LDK node uses (names and semantics of {@link Signer}): the channel
 * signer's, the block feed, and the approval of the payments the node sends.
 */
export interface SignerApi {
  /** Create the stub of a new channel (idempotent for an existing id). */
  newChannel(id: ChannelId): Promise<void>;
  /** Our basepoints and funding key for a channel. */
  getChannelBasepoints(id: ChannelId): Promise<ChannelBasepoints>;
  /** Fix the channel's negotiated parameters. */
  setupChannel(id: ChannelId, setup: ChannelSetup): Promise<void>;
  /** Our per-commitment point `n` (commitment numbers count up from 0). */
  getPerCommitmentPoint(id: ChannelId, n: number): Promise<Uint8Array>;
  /** Revoke holder commitment `n`: secret `n` and point `n + 2`. */
  revokeHolderCommitment(id: ChannelId, n: number): Promise<Revocation>;
  /** Check and store the counterparty's revocation of its commitment `n`. */
  validateCounterpartyRevocation(id: ChannelId, n: number, secret: Uint8Array): Promise<void>;
  /** Sign the counterparty's commitment and its HTLC transactions. */
  signCounterpartyCommitment(
    id: ChannelId,
    request: CounterpartyCommitmentRequest,
  ): Promise<CommitmentSignatures>;
  /** Validate the counterparty's signatures on our next commitment. */
  validateHolderCommitment(
    id: ChannelId,
    request: HolderCommitmentRequest,
  ): Promise<HolderValidation>;
  /** Sign our current commitment for a unilateral close. */
  signHolderCommitment(id: ChannelId, n: number): Promise<HolderCommitmentSignature>;
  /** Our HTLC-success/timeout transaction on our own commitment. */
  signHolderHtlcTx(id: ChannelId, request: HolderHtlcTxRequest): Promise<HolderHtlcSignature>;
  /** Sweep our delayed output (to_local or our HTLC transaction's output). */
  signDelayedSweep(id: ChannelId, request: DelayedSweepRequest): Promise<InputSignature>;
  /** Claim an HTLC output of the counterparty's commitment. */
  signCounterpartyHtlcSweep(
    id: ChannelId,
    request: CounterpartyHtlcSweepRequest,
  ): Promise<InputSignature>;
  /** Sweep an output of a revoked counterparty commitment (justice). */
  signJusticeSweep(id: ChannelId, request: JusticeSweepRequest): Promise<InputSignature>;
  /** Sign a cooperative close. */
  signMutualClose(id: ChannelId, request: MutualCloseRequest): Promise<InputSignature>;
  /** Sign our anchor input of a fee bump. */
  signAnchorSpend(id: ChannelId, request: AnchorSpendRequest): Promise<InputSignature>;
  /**
   * Feed a block (VLS `AddBlock`): the 80-byte header (the first one fed is a checkpoint at
   * `height`) and its transactions, which record the watched funding outputs' confirmations.
   */
  addBlock(
    header: Uint8Array,
    options?: { height?: number; transactions?: Tx[] },
  ): Promise<void>;
  /** Remove the tip block (VLS `RemoveBlock`, a reorganisation). */
  removeBlock(header: Uint8Array): Promise<void>;
  /**
   * Approve paying a BOLT #11 (or BOLT #12) invoice before the node sends it (CLN
   * `preapprove_invoice`; VLS's LDK node does the same before `send_payment`): the signer decodes
   * and checks it, asks its approver unless the payee is allowlisted, and records the approved
   * payment, without which the commitment rules refuse the outgoing HTLCs of its payment hash.
   * Resolves `true`; a refusal rejects with `PolicyRefusal`.
   */
  preapproveInvoice(request: PreapproveInvoiceRequestT): Promise<boolean>;
  /** Approve a keysend (CLN `preapprove_keysend`); as {@link SignerApi.preapproveInvoice}. */
  preapproveKeysend(request: PreapproveKeysendRequestT): Promise<boolean>;
}

/** Every method name of {@link SignerApi}. */
export type SignerApiMethod = keyof SignerApi;

/** The method names of {@link SignerApi}, in declaration order. */
export const SIGNER_API_METHODS: readonly SignerApiMethod[] = [
  "newChannel",
  "getChannelBasepoints",
  "setupChannel",
  "getPerCommitmentPoint",
  "revokeHolderCommitment",
  "validateCounterpartyRevocation",
  "signCounterpartyCommitment",
  "validateHolderCommitment",
  "signHolderCommitment",
  "signHolderHtlcTx",
  "signDelayedSweep",
  "signCounterpartyHtlcSweep",
  "signJusticeSweep",
  "signMutualClose",
  "signAnchorSpend",
  "addBlock",
  "removeBlock",
  "preapproveInvoice",
  "preapproveKeysend",
];

/**
 * The methods of {@link SignerApi} that are about the node, not a channel (no channel id): the
 * chain feed and the payment approvals.
 */
export const NODE_LEVEL_METHODS: ReadonlySet<SignerApiMethod> = new Set<SignerApiMethod>([
  "addBlock",
  "removeBlock",
  "preapproveInvoice",
  "preapproveKeysend",
]);

// The in-process signer satisfies the API (checked at compile time).
type _SignerIsApi = Signer extends SignerApi ? true : never;
const _signerIsApi: _SignerIsApi = true;
void _signerIsApi;
