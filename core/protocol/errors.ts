/**
 * The error replies of the dispatcher: VLS's `SignerError` (3000: u16 code, str0 message), the
 * only error message of the protocol (protocol.md §3.3). CLN's own hsmd has no error reply (it
 * dies); VLS uses 3000 only for orphan blocks and otherwise makes the proxy stop the node, unless
 * the failure is temporary. This module gives every failure of a request a distinct, documented
 * code so that a transport can decide what to do with it (the gRPC transport sets
 * `is_temporary_failure` for {@link SIGNER_ERROR}.TEMPORARY, see {@link signerErrorOf}).
 *
 * - 400 MALFORMED: a body or field does not decode (codec `ProtocolError`), or the signer finds a
 *   value malformed (`RequestError` `malformed`): `malformed: <message>.<field>: <problem>`.
 * - 401 ORPHAN_BLOCK (VLS's own code): `add_block` refused by the policy (the header does not
 *   extend the tip, or its proof of work is bad): `orphan: policy: refused by <ids>`.
 * - 403 POLICY: a rule refused the request (`PolicyRefusal`, not temporary):
 *   `policy: refused by <ids>`.
 * - 404 UNKNOWN_CHANNEL: the channel does not exist or was forgotten:
 *   `unknown channel: <message>: <reason>`.
 * - 405 UNKNOWN_MESSAGE: a message type nobody defines: `unknown message type <id>`.
 * - 409 CHANNEL_STATE: the channel is in the wrong stage (a stub asked to sign, a second setup):
 *   `channel state: <message>: <reason>`.
 * - 412 NOT_INITIALIZED: anything but ping, init and the dev preinits before `init`:
 *   `not initialized: <message> (<id>) before init`.
 * - 421 WRONG_CONTEXT: a channel message without a channel context (peer id and dbid > 0):
 *   `wrong context: <message> (<id>) needs a channel context (peer id and dbid > 0)`.
 * - 500 INTERNAL: a bug or an invariant; nothing was released:
 *   `internal: <message>: <error class name, or the signer's invariant>`.
 * - 501 UNSUPPORTED: a known message this signer does not serve, or not at the negotiated
 *   version: `unsupported: <message> (<id>): <reason>`.
 * - 503 TEMPORARY: every violated rule is temporary, the node may retry later:
 *   `temporary: refused by <ids>`.
 *
 * Messages never contain secret bytes: codec errors never quote field values, signer errors are
 * written without secrets, and an unexpected exception contributes only its class name.
 *
 * @module
 */
import { decodeReply, encodeReply } from "./codec.ts";
import { ProtocolError } from "./types.ts";
import { PolicyRefusal, RequestError } from "../signer/errors.ts";

/** The `SignerError` codes this signer sends (see the module documentation). */
export const SIGNER_ERROR = {
  /** A body or field is malformed. */
  MALFORMED: 400,
  /** `add_block` was refused: the header does not extend the tip (VLS's orphan code). */
  ORPHAN_BLOCK: 401,
  /** A policy rule refused the request. */
  POLICY: 403,
  /** The channel does not exist or was forgotten. */
  UNKNOWN_CHANNEL: 404,
  /** Nobody defines this message type. */
  UNKNOWN_MESSAGE: 405,
  /** The channel is in the wrong stage for the request. */
  CHANNEL_STATE: 409,
  /** The request came before `init`. */
  NOT_INITIALIZED: 412,
  /** A channel message came without a channel context. */
  WRONG_CONTEXT: 421,
  /** An internal error: nothing was released. */
  INTERNAL: 500,
  /** A known message this signer does not serve (or not at the negotiated version). */
  UNSUPPORTED: 501,
  /** A temporary refusal: the node may retry later. */
  TEMPORARY: 503,
} as const;

/** One of the {@link SIGNER_ERROR} codes. */
export type SignerErrorCode = typeof SIGNER_ERROR[keyof typeof SIGNER_ERROR];

/**
 * A failure the dispatcher or the conversions detect themselves (unsupported message, wrong
 * context, before init). Its message is sent as it is, so it must never contain secrets.
 */
export class DispatchError extends Error {
  /** The `SignerError` code to send. */
  readonly code: SignerErrorCode;

  /**
   * Creates the error.
   * @param code the `SignerError` code
   * @param message the complete wire message (no secrets)
   */
  constructor(code: SignerErrorCode, message: string) {
    super(message);
    this.name = "DispatchError";
    this.code = code;
  }
}

/** The longest message sent (longer ones are cut, with an ellipsis). */
export const MAX_ERROR_MESSAGE = 1000;

/**
 * A message as a valid `str0`: well-formed UTF-16, no control characters (a `str0` cannot carry
 * them), at most {@link MAX_ERROR_MESSAGE} characters.
 */
export function sanitizeMessage(message: string): string {
  // deno-lint-ignore no-control-regex
  const clean = String(message).toWellFormed().replace(/[\u0000-\u001f\u007f]/g, " ");
  return clean.length <= MAX_ERROR_MESSAGE ? clean : `${clean.slice(0, MAX_ERROR_MESSAGE - 1)}…`;
}

/** The body of a `SignerError` (3000) reply. */
export function signerError(code: SignerErrorCode, message: string): Uint8Array {
  return encodeReply({ type: "signer_error", code, message: sanitizeMessage(message) });
}

/** What the failing request was, for error messages. */
export interface FailedRequest {
  /** The request name (CLN snake_case), when it was decoded. */
  name?: string;
  /** The message type, when the body had one. */
  id?: number;
}

function label(request: FailedRequest): string {
  if (request.name !== undefined) return request.name;
  if (request.id !== undefined) return `message type ${request.id}`;
  return "request";
}

function refusedBy(rules: readonly string[]): string {
  const ids = [...new Set(rules)];
  return `refused by ${ids.length > 0 ? ids.join(", ") : "(no rule id)"}`;
}

/**
 * The `SignerError` code and message for a failure of `request`:
 * - {@link DispatchError}: its own code and message;
 * - codec {@link ProtocolError}: `unknown-type` → UNKNOWN_MESSAGE, anything else → MALFORMED
 *   (its message names the message and the field);
 * - {@link PolicyRefusal}: POLICY or TEMPORARY with the rule ids (ORPHAN_BLOCK for `add_block`);
 * - signer {@link RequestError}: by its code (malformed, unknown or forgotten channel, channel
 *   state, unsupported, invariant → internal);
 * - anything else: INTERNAL with the error's class name only.
 */
export function classifyError(
  e: unknown,
  request: FailedRequest = {},
): { code: SignerErrorCode; message: string } {
  const what = label(request);
  if (e instanceof DispatchError) return { code: e.code, message: e.message };
  if (e instanceof ProtocolError) {
    if (e.code === "unknown-type") {
      return {
        code: SIGNER_ERROR.UNKNOWN_MESSAGE,
        message: `unknown message type ${request.id ?? "?"}`,
      };
    }
    return { code: SIGNER_ERROR.MALFORMED, message: `malformed: ${e.message}` };
  }
  if (e instanceof PolicyRefusal) {
    if (e.temporary) {
      return { code: SIGNER_ERROR.TEMPORARY, message: `temporary: ${refusedBy(e.rules)}` };
    }
    const message = `policy: ${refusedBy(e.rules)}`;
    if (request.name === "add_block") {
      return { code: SIGNER_ERROR.ORPHAN_BLOCK, message: `orphan: ${message}` };
    }
    return { code: SIGNER_ERROR.POLICY, message };
  }
  if (e instanceof RequestError) {
    switch (e.code) {
      case "malformed":
        return { code: SIGNER_ERROR.MALFORMED, message: `malformed: ${what}: ${e.message}` };
      case "unknown-channel":
      case "forgotten-channel":
        return {
          code: SIGNER_ERROR.UNKNOWN_CHANNEL,
          message: `unknown channel: ${what}: ${e.message}`,
        };
      case "not-ready":
      case "already-ready":
        return {
          code: SIGNER_ERROR.CHANNEL_STATE,
          message: `channel state: ${what}: ${e.message}`,
        };
      case "unsupported":
        return { code: SIGNER_ERROR.UNSUPPORTED, message: `unsupported: ${what}: ${e.message}` };
      case "invariant":
        return { code: SIGNER_ERROR.INTERNAL, message: `internal: ${what}: ${e.message}` };
    }
  }
  const name = e instanceof Error ? e.name : typeof e;
  return { code: SIGNER_ERROR.INTERNAL, message: `internal: ${what}: ${name}` };
}

/** The `SignerError` reply body for a failure of `request` (see {@link classifyError}). */
export function errorReply(e: unknown, request: FailedRequest = {}): Uint8Array {
  const { code, message } = classifyError(e, request);
  return signerError(code, message);
}

/** A `SignerError` reply, decoded. */
export interface SignerErrorInfo {
  /** The code. */
  code: number;
  /** The message. */
  message: string;
  /** The node may retry (the gRPC transport's `is_temporary_failure`). */
  temporary: boolean;
}

/**
 * The `SignerError` a reply body carries, or undefined when the body is another reply (or does
 * not decode). Transports use it to flag temporary failures.
 */
export function signerErrorOf(body: Uint8Array): SignerErrorInfo | undefined {
  if (!(body instanceof Uint8Array) || body.length < 2 || ((body[0] << 8) | body[1]) !== 3000) {
    return undefined;
  }
  try {
    const reply = decodeReply(body, { expect: "signer_error" });
    if (reply.type !== "signer_error") return undefined;
    return {
      code: reply.code,
      message: reply.message,
      temporary: reply.code === SIGNER_ERROR.TEMPORARY,
    };
  } catch {
    return undefined;
  }
}
