/**
 * The signer's node-wide state (one document in the store, key {@link NODE_STATE_KEY}): what is
 * not tied to one channel. Grows with the node-level features (allowlist, invoices, payments).
 *
 * @module
 */
import { z } from "zod";

/** The store key of the node state document. */
export const NODE_STATE_KEY = "node/state";

/** The node state schema (validated on every load). */
export const NodeStateSchema = z.object({
  version: z.literal(1),
  /**
   * The highest dbid of a forgotten CLN channel: a new channel must have a higher one, since the
   * dbid seeds the channel's keys (VLS `dbid_high_water_mark`).
   */
  dbidHighWaterMark: z.bigint().min(0n),
  /** The highest on-chain wallet index used so far (-1: none); bounds new change indexes. */
  walletMaxUsedIndex: z.number().int().min(-1).max(0x7fffffff).default(-1),
});

/** See {@link NodeStateSchema}. */
export type NodeState = z.infer<typeof NodeStateSchema>;

/** The state of a node that has done nothing yet. */
export function initialNodeState(): NodeState {
  return { version: 1, dbidHighWaterMark: 0n, walletMaxUsedIndex: -1 };
}
