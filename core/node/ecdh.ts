/**
 * `ecdh` (CLN 1 `ecdh_req`; LDK `NodeSigner::ecdh` without tweak): the shared secret of the node
 * key and another party's point, in libsecp256k1's default form SHA256(compressed(k * P)), which
 * BOLT #8 (handshake) and BOLT #4 (onion) use. An invalid point is a malformed request.
 *
 * @module
 */
import { z } from "zod";
import { equal, toHex } from "../bytes.ts";
import { ecdh as sharedSecret, isValidPublicKey } from "../crypto/mod.ts";
import type { EcdhFactsT } from "./facts_sign.ts";
import {
  type NodeOpOutcome,
  NodeRequestError,
  type NodeSignContext,
  parseRequest,
  zBytes,
} from "./sign_context.ts";

/** `ecdh` (CLN 1: `point`). */
export const EcdhRequest = z.object({
  /** The other party's 33-byte compressed point. */
  point: zBytes(33),
});

/** See {@link EcdhRequest}. */
export type EcdhRequestT = z.infer<typeof EcdhRequest>;

/** The ECDH shared secret with the node key. Releases the 32-byte secret. */
export function ecdh(
  ctx: NodeSignContext,
  request: EcdhRequestT,
): NodeOpOutcome<EcdhFactsT, Uint8Array> {
  const { point } = parseRequest(EcdhRequest, request, "ecdh");
  if (!isValidPublicKey(point)) {
    throw new NodeRequestError("malformed", "ecdh: the point is not on the curve");
  }
  const copy = point.slice();
  return {
    kind: "ecdh",
    facts: { ecdh: { point: toHex(copy), is_own_node_id: equal(copy, ctx.keys.nodeId) } },
    next: null,
    release: () => sharedSecret(ctx.keys.nodeSecret.expose(), copy),
  };
}
