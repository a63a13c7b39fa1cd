/**
 * `sign_message` (CLN 23, RPC `signmessage`; VLS `Node::sign_message`): a recoverable ECDSA
 * signature with the node key over SHA256d("Lightning Signed Message:" || message), the scheme
 * lnd and CLN share (zbase32 encoding of `31 + recid || r || s` is the caller's business). The
 * prefix means such a signature can never be a gossip or transaction signature.
 *
 * @module
 */
import { z } from "zod";
import { concat, utf8 } from "../bytes.ts";
import { ecdsaSignRecoverable, type RecoverableSignature, sha256d } from "../crypto/mod.ts";
import type { SignMessageFactsT } from "./facts_sign.ts";
import {
  type NodeOpOutcome,
  type NodeSignContext,
  parseRequest,
  zBytesBetween,
} from "./sign_context.ts";

/** The prefix of a signed message. */
export const SIGNED_MESSAGE_PREFIX = "Lightning Signed Message:";

/** The digest a signed message commits to: SHA256d(prefix || message). */
export function signedMessageHash(message: Uint8Array): Uint8Array {
  return sha256d(concat(utf8(SIGNED_MESSAGE_PREFIX), message));
}

/** `sign_message` (CLN 23: `msg`). */
export const SignMessageRequest = z.object({
  /** The message bytes (b16 on the wire: at most 65535). */
  message: zBytesBetween(0, 65535),
});

/** See {@link SignMessageRequest}. */
export type SignMessageRequestT = z.infer<typeof SignMessageRequest>;

function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Sign a message with the node key. Releases the recoverable signature. */
export function signMessage(
  ctx: NodeSignContext,
  request: SignMessageRequestT,
): NodeOpOutcome<SignMessageFactsT, RecoverableSignature> {
  const { message } = parseRequest(SignMessageRequest, request, "sign_message");
  const digest = signedMessageHash(message);
  return {
    kind: "sign_message",
    facts: { message: { length: message.length, is_utf8: isUtf8(message) } },
    next: null,
    release: () => ecdsaSignRecoverable(digest, ctx.keys.nodeSecret.expose()),
  };
}
