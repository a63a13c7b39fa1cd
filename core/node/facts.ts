/**
 * Facts of the node-level request kinds, as zod schemas (see core/channel/facts.ts for the
 * conventions).
 *
 * @module
 */
import { z } from "zod";

/** `new_channel`: a stub for a new channel id. */
export const NewChannelFacts = z.object({
  new_channel: z.object({
    /** CLN's database id of the channel (0 for LDK-style ids). */
    dbid: z.bigint(),
    /** The id is a CLN (peer, dbid) id, which the high-water mark applies to. */
    has_dbid: z.boolean(),
    /** A stub or channel with this id already exists (the request is an idempotent retry). */
    exists: z.boolean(),
    /** This id was used by a channel that was forgotten: its keys must never be reused. */
    was_forgotten: z.boolean(),
  }),
  node: z.object({
    /** The highest dbid of any forgotten channel. */
    dbid_high_water_mark: z.bigint(),
  }),
});

/** See {@link NewChannelFacts}. */
export type NewChannelFactsT = z.infer<typeof NewChannelFacts>;

/** The node kinds of this module and their schemas. */
export const NODE_FACT_KINDS = {
  new_channel: NewChannelFacts,
} as const;
