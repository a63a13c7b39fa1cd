/**
 * The chain as the signer knows it: a header chain fed by the node (VLS's `AddBlock` /
 * `RemoveBlock`, or the in-process LDK adapter), checked for linkage and proof of work, plus the
 * confirmations of what the channels care about — each funding output's creation and spend. This
 * is what `channel.funding_depth` and `channel.closing_depth` facts come from.
 *
 * The first block fed is a checkpoint (trusted, like VLS's txoo checkpoints); every later one must
 * extend the tip. A reorganisation removes blocks from the tip. Transactions come with each block
 * from the node: the signer cannot verify they are all of them (VLS uses TXOO compact-filter proofs
 * for that; this tracker does not), so depth facts are only as good as the node's feed — the
 * rules treat an untracked chain as unknown, never as confirmed.
 *
 * @module
 */
import { z } from "zod";
import { bytesToBigInt, equal, fromHex, reverse, toHex } from "../bytes.ts";
import { sha256d } from "../crypto/mod.ts";
import { type Tx, txid as txidOf } from "../bitcoin/tx.ts";
import type { ChainView } from "../channel/ops/context.ts";

/** The store key of the tracker's state. */
export const CHAIN_KEY = "node/chain";

/** How many recent headers are kept for reorganisations (VLS keeps 100). */
export const MAX_REORG_DEPTH = 100;

/** A header the tracker cannot accept. */
export class ChainError extends Error {
  /**
   * Creates the error.
   * @param message what is wrong with the header
   */
  constructor(message: string) {
    super(message);
    this.name = "ChainError";
  }
}

const HeaderSchema = z.object({
  height: z.number().int().min(0),
  /** Block hash, internal byte order, hex. */
  hash: z.string(),
  prevHash: z.string(),
  time: z.number().int(),
});

/** One recorded header. */
export type TrackedHeader = z.infer<typeof HeaderSchema>;

const WatchSchema = z.object({
  /** Height of the block that created the outpoint, or null. */
  created: z.number().int().nullable(),
  /** Height of the block that spent it, or null. */
  spent: z.number().int().nullable(),
});

/** The persisted tracker state. */
export const ChainStateSchema = z.object({
  version: z.literal(1),
  headers: z.array(HeaderSchema),
  /** Watched outpoints by `txid:vout` (txid internal order, hex). */
  watches: z.record(z.string(), WatchSchema),
  /**
   * The node feeds each block's transactions (the in-process LDK adapter does; VLS's frontend sends
   * TXOO proofs, which are not parsed). Only then do depths mean anything.
   */
  txFeed: z.boolean().default(false),
});

/** See {@link ChainStateSchema}. */
export type ChainState = z.infer<typeof ChainStateSchema>;

/** The parsed fields of an 80-byte block header. */
export interface BlockHeader {
  /** Hash, internal byte order. */
  hash: Uint8Array;
  /** Previous block hash, internal byte order. */
  prevHash: Uint8Array;
  /** Timestamp. */
  time: number;
  /** Compact target. */
  bits: number;
  /** Whether the hash meets the target the header claims. */
  powOk: boolean;
}

/** Parse an 80-byte header and check its proof of work against its own `bits`. */
export function parseHeader(header: Uint8Array): BlockHeader {
  if (!(header instanceof Uint8Array) || header.length !== 80) {
    throw new ChainError("a block header is 80 bytes");
  }
  const view = new DataView(header.buffer, header.byteOffset, 80);
  const bits = view.getUint32(72, true);
  const exponent = bits >>> 24;
  const mantissa = BigInt(bits & 0x007fffff);
  const target = exponent <= 3
    ? mantissa >> BigInt(8 * (3 - exponent))
    : mantissa << BigInt(8 * (exponent - 3));
  const hash = sha256d(header);
  const negative = (bits & 0x00800000) !== 0;
  return {
    hash,
    prevHash: header.slice(4, 36),
    time: view.getUint32(68, true),
    bits,
    powOk: !negative && target > 0n && bytesToBigInt(reverse(hash)) <= target,
  };
}

function key(o: { txid: string; vout: number }): string {
  return `${o.txid}:${o.vout}`;
}

/** The verdict on one header, for the policy (`add_block`). */
export interface HeaderCheck {
  /** The header extends our tip (or is the first, a checkpoint). */
  links: boolean;
  /** Its hash meets its target. */
  powOk: boolean;
  /** Its height. */
  height: number;
}

/** See the module documentation. */
export class ChainTracker implements ChainView {
  #state: ChainState;

  /** A tracker over `state` (a fresh one when absent). */
  constructor(state?: ChainState) {
    this.#state = state ?? { version: 1, headers: [], watches: {}, txFeed: false };
  }

  /** The persisted state (for the store). */
  get state(): ChainState {
    return this.#state;
  }

  /**
   * Whether the chain is followed with transactions, so that depth facts mean something: blocks
   * were fed together with their transactions. Headers alone (VLS's frontend) keep a tip for
   * `TipInfo` and heartbeats but leave the chain untracked for the rules.
   */
  get tracked(): boolean {
    return this.#state.headers.length > 0 && this.#state.txFeed;
  }

  /** Whether any block was fed (a tip is known). */
  get hasTip(): boolean {
    return this.#state.headers.length > 0;
  }

  /** The watched outpoints (txid internal order, hex). */
  watched(): { txid: string; vout: number }[] {
    return Object.keys(this.#state.watches).map((k) => {
      const [txid, vout] = k.split(":");
      return { txid, vout: Number(vout) };
    });
  }

  /** The tip height (0 when untracked). */
  get height(): number {
    return this.#tip()?.height ?? 0;
  }

  /** The tip, if any: hash (internal order), height and time. */
  tip(): { hash: Uint8Array; height: number; time: number } | undefined {
    const t = this.#tip();
    return t ? { hash: fromHex(t.hash), height: t.height, time: t.time } : undefined;
  }

  #tip(): TrackedHeader | undefined {
    return this.#state.headers[this.#state.headers.length - 1];
  }

  /** Watch an outpoint (a channel's funding output). Idempotent. */
  watch(outpoint: { txid: string; vout: number }): void {
    const k = key(outpoint);
    if (!(k in this.#state.watches)) {
      this.#state = {
        ...this.#state,
        watches: { ...this.#state.watches, [k]: { created: null, spent: null } },
      };
    }
  }

  /** Whether `outpoint` is watched. */
  watching(outpoint: { txid: string; vout: number }): boolean {
    return key(outpoint) in this.#state.watches;
  }

  /** Check a header against the tip without changing anything. */
  check(header: Uint8Array, options: { height?: number } = {}): HeaderCheck {
    const h = parseHeader(header);
    const tip = this.#tip();
    if (tip === undefined) {
      return { links: options.height !== undefined, powOk: h.powOk, height: options.height ?? 0 };
    }
    return {
      links: equal(h.prevHash, fromHex(tip.hash)),
      powOk: h.powOk,
      height: tip.height + 1,
    };
  }

  /**
   * The state after adding a block (pure: the tracker changes only through {@link commit}). The
   * first block needs `height`; later ones must extend the tip. `transactions` are the block's
   * transactions the node shows: every watched outpoint they create or spend is recorded.
   */
  withBlock(
    header: Uint8Array,
    options: { height?: number; transactions?: Tx[] } = {},
  ): ChainState {
    const c = this.check(header, options);
    if (!c.links) throw new ChainError("the header does not extend the tip");
    const h = parseHeader(header);
    const watches = structuredClone(this.#state.watches);
    for (const tx of options.transactions ?? []) {
      const id = toHex(txidOf(tx));
      tx.outputs.forEach((_, vout) => {
        const w = watches[`${id}:${vout}`];
        if (w && w.created === null) w.created = c.height;
      });
      for (const input of tx.inputs) {
        const w = watches[`${toHex(input.txid)}:${input.vout}`];
        if (w && w.spent === null) w.spent = c.height;
      }
    }
    const headers = [...this.#state.headers, {
      height: c.height,
      hash: toHex(h.hash),
      prevHash: toHex(h.prevHash),
      time: h.time,
    }].slice(-MAX_REORG_DEPTH);
    return {
      version: 1,
      headers,
      watches,
      txFeed: this.#state.txFeed || options.transactions !== undefined,
    };
  }

  /** The state after removing the tip block `header` (a reorganisation). */
  withoutTip(header: Uint8Array): ChainState {
    const tip = this.#tip();
    const h = parseHeader(header);
    if (tip === undefined || tip.hash !== toHex(h.hash)) {
      throw new ChainError("only the tip can be removed");
    }
    if (this.#state.headers.length === 1) throw new ChainError("cannot remove the checkpoint");
    const watches = structuredClone(this.#state.watches);
    for (const w of Object.values(watches)) {
      if (w.created === tip.height) w.created = null;
      if (w.spent === tip.height) w.spent = null;
    }
    return {
      version: 1,
      headers: this.#state.headers.slice(0, -1),
      watches,
      txFeed: this.#state.txFeed,
    };
  }

  /** Adopt a state computed by {@link withBlock} / {@link withoutTip} once it is durable. */
  commit(state: ChainState): void {
    this.#state = state;
  }

  /** Confirmations of the transaction creating `outpoint` (0 when unconfirmed or unwatched). */
  fundingDepth(outpoint: { txid: string; vout: number }): number {
    const w = this.#state.watches[key(outpoint)];
    return w?.created == null ? 0 : this.height - w.created + 1;
  }

  /** Confirmations of a transaction spending `outpoint` (0 when unspent or unwatched). */
  closingDepth(outpoint: { txid: string; vout: number }): number {
    const w = this.#state.watches[key(outpoint)];
    return w?.spent == null ? 0 : this.height - w.spent + 1;
  }

  /** Double spends of funding inputs are not tracked (the node does not show them): always 0. */
  doubleSpentDepth(_outpoint: { txid: string; vout: number }): number {
    return 0;
  }
}
