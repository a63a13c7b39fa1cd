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
    /** Channels and stubs the signer holds now (forgotten ones excluded). */
    channel_count: z.number().int().nonnegative(),
  }),
});

/** See {@link NewChannelFacts}. */
export type NewChannelFactsT = z.infer<typeof NewChannelFacts>;

/** `add_block`: a block header fed by the node (VLS `AddBlock`). */
export const AddBlockFacts = z.object({
  block: z.object({
    /** The header extends our tip (or is the first one fed: a checkpoint). */
    links: z.boolean(),
    /** The header's hash meets the target its `bits` claim. */
    pow_ok: z.boolean(),
    /** The block's height. */
    height: z.number().int().meta({ unit: "blocks" }),
    /** The node sent a TXOO proof with it (Warden does not verify TXOO proofs). */
    proof_present: z.boolean(),
  }),
});

/** See {@link AddBlockFacts}. */
export type AddBlockFactsT = z.infer<typeof AddBlockFacts>;

/** The node kinds of this module and their schemas. */
export const NODE_FACT_KINDS = {
  new_channel: NewChannelFacts,
  add_block: AddBlockFacts,
} as const;
