/**
 * A simulated Bitcoin chain for the LDK harness: blocks with increasing timestamps, a mempool
 * that receives every broadcast, a UTXO view, and coinbase-like funding outputs for wallets.
 *
 * It does not check scripts or signatures (LDK does not either for confirmed transactions), but it
 * does enforce what matters for channel tests:
 * - no double spend: the first transaction seen spending an outpoint wins, later conflicting
 *   broadcasts are rejected and reported in {@link SimChain.rejections};
 * - inputs must exist (on chain or in the mempool) and values must not be created from nothing;
 * - finality: nLockTime (height or time) and BIP-68 relative locks. A transaction that is not yet
 *   final, or whose parent is not known yet, waits in {@link SimChain.waiting} and is retried at
 *   every block, like a wallet that rebroadcasts (LDK broadcasts some claims one block early).
 *
 * Headers are 80 real bytes (version, previous hash, merkle root, time, bits, nonce); proof of
 * work is not computed because LDK does not check it.
 *
 * This module is LDK-free; node.ts feeds its blocks to LDK.
 *
 * @module
 */
import { concat, reverse, toHex, u32le } from "../../core/bytes.ts";
import { sha256d } from "../../core/crypto/mod.ts";
import { parseHeader } from "../../core/node/chain.ts";
import { buildScript } from "../../core/bitcoin/script.ts";
import { decodeTx, encodeTx, type Tx, txid as txidOf } from "../../core/bitcoin/tx.ts";

/** A request the simulated chain cannot honour (bad transaction bytes, unknown block...). */
export class ChainError extends Error {
  /**
   * Creates the error.
   * @param message what went wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "ChainError";
  }
}

/** A transaction known to the chain (mempool or block). */
export interface ChainTx {
  /** Txid in display (RPC) order, hex. */
  txid: string;
  /** Decoded transaction. */
  tx: Tx;
  /** Consensus bytes as broadcast (with witnesses). */
  bytes: Uint8Array;
  /** Who broadcast it ("A", "B", "wallet:A", "coinbase", "test", ...). */
  source: string;
}

/** A mined block. */
export interface Block {
  /** Height. */
  height: number;
  /** Block hash in display order, hex. */
  hash: string;
  /** The 80-byte header. */
  header: Uint8Array;
  /** Header timestamp (seconds). */
  time: number;
  /** Transactions in block order. */
  txs: ChainTx[];
}

/** One output created by a confirmed transaction, with its spending status. */
export interface UtxoEntry {
  /** Creating txid (display order). */
  txid: string;
  /** Output index. */
  vout: number;
  /** Value in satoshi. */
  amount: bigint;
  /** scriptPubKey. */
  script: Uint8Array;
  /** Height of the block that created it. */
  height: number;
  /** Created by a coinbase-like funding transaction. */
  coinbase: boolean;
  /** Confirmed spend, if any. */
  spentBy: { txid: string; vin: number; height: number } | null;
}

/** Why a broadcast was refused for good. */
export type RejectReason = "double-spend" | "invalid";

/** A refused broadcast. */
export interface Rejection {
  /** Txid of the refused transaction (display order), or "" if it did not even decode. */
  txid: string;
  /** Who broadcast it. */
  source: string;
  /** Category. */
  reason: RejectReason;
  /** Human-readable detail (never key material: transactions are public). */
  detail: string;
  /** For double spends: the txid that already spends the outpoint. */
  conflictsWith?: string;
  /** Chain height when it was refused. */
  height: number;
}

/** What happened to one broadcast transaction. */
export type BroadcastOutcome =
  | { status: "accepted"; txid: string }
  | { status: "duplicate"; txid: string }
  | { status: "confirmed"; txid: string }
  | { status: "waiting"; txid: string; detail: string }
  | { status: "rejected"; txid: string; reason: RejectReason; detail: string };

/** Options of {@link SimChain}. */
export interface SimChainOptions {
  /** Height of the starting tip. Default 100. */
  startHeight?: number;
  /** Timestamp of the starting tip, seconds. Default 1_700_000_000 (fixed for reproducibility). */
  startTime?: number;
  /** Seconds between blocks. Default 600. */
  blockInterval?: number;
}

/** Options of {@link SimChain.mine}. */
export interface MineOptions {
  /** Include mempool transactions (default true); false mines empty blocks. */
  includeMempool?: boolean;
}

const NULL_TXID = new Uint8Array(32);
const LOCKTIME_THRESHOLD = 500_000_000;
const SEQUENCE_FINAL = 0xffffffff;
const SEQ_DISABLE = 0x80000000;
const SEQ_TYPE_TIME = 0x00400000;
const SEQ_MASK = 0x0000ffff;

function key(txid: string, vout: number): string {
  return `${txid}:${vout}`;
}

function isCoinbase(tx: Tx): boolean {
  return tx.inputs.length === 1 && tx.inputs[0].vout === 0xffffffff &&
    tx.inputs[0].txid.every((b, i) => b === NULL_TXID[i]);
}

/** Bitcoin merkle root of internal-order txids. */
function merkleRoot(ids: Uint8Array[]): Uint8Array {
  if (ids.length === 0) return new Uint8Array(32);
  let level = ids;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(sha256d(concat(level[i], level[i + 1] ?? level[i])));
    }
    level = next;
  }
  return level[0];
}

interface Tip {
  height: number;
  hashInternal: Uint8Array;
  time: number;
}

interface Pending {
  chainTx: ChainTx;
  detail: string;
}

/** The simulated chain. */
export class SimChain {
  /** Every refused broadcast, in order. */
  readonly rejections: Rejection[] = [];
  /** Every broadcast with its outcome, in order. */
  readonly broadcasts: { txid: string; source: string; outcome: BroadcastOutcome["status"] }[] = [];
  #tip: Tip;
  #interval: number;
  #blocks = new Map<number, Block>();
  #confirmed = new Map<string, { chainTx: ChainTx; height: number }>();
  #outputs = new Map<string, UtxoEntry>();
  #mempool: ChainTx[] = [];
  #mempoolById = new Map<string, ChainTx>();
  #mempoolSpends = new Map<string, string>();
  #waiting: Pending[] = [];
  #coinbaseQueue: ChainTx[] = [];
  #rejected = new Set<string>();
  #coinbaseCounter = 0;
  #listeners: ((block: Block) => void)[] = [];

  /**
   * Creates a chain whose tip is a synthetic block at `startHeight`.
   * @param options start height, start time and block interval
   */
  constructor(options: SimChainOptions = {}) {
    const height = options.startHeight ?? 100;
    const time = options.startTime ?? 1_700_000_000;
    this.#interval = options.blockInterval ?? 600;
    this.#tip = { height, time, hashInternal: sha256d(concat(u32le(height), u32le(time))) };
  }

  /** Height of the tip. */
  get height(): number {
    return this.#tip.height;
  }

  /** Timestamp of the tip. */
  get time(): number {
    return this.#tip.time;
  }

  /** Tip block hash, internal byte order (as LDK's BestBlock wants it). */
  get tipHashInternal(): Uint8Array {
    return this.#tip.hashInternal.slice();
  }

  /** Register a listener called for every new block, in order. */
  onBlock(listener: (block: Block) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Submit a transaction (as a node's BroadcasterInterface does). Never throws: bad or conflicting
   * transactions are reported in the outcome and in {@link rejections}.
   */
  broadcast(bytes: Uint8Array, source = "test"): BroadcastOutcome {
    const outcome = this.#submit(bytes, source);
    this.broadcasts.push({ txid: outcome.txid, source, outcome: outcome.status });
    return outcome;
  }

  #submit(bytes: Uint8Array, source: string): BroadcastOutcome {
    let tx: Tx;
    try {
      tx = decodeTx(bytes);
    } catch (e) {
      return this.#reject("", source, "invalid", (e as Error).message);
    }
    const chainTx: ChainTx = { txid: toHex(reverse(txidOf(tx))), tx, bytes: bytes.slice(), source };
    if (this.#confirmed.has(chainTx.txid)) return { status: "confirmed", txid: chainTx.txid };
    if (this.#mempoolById.has(chainTx.txid)) return { status: "duplicate", txid: chainTx.txid };
    if (this.#waiting.some((p) => p.chainTx.txid === chainTx.txid)) {
      return { status: "duplicate", txid: chainTx.txid };
    }
    const verdict = this.#check(chainTx);
    if (verdict.kind === "ok") {
      this.#addToMempool(chainTx);
      return { status: "accepted", txid: chainTx.txid };
    }
    if (verdict.kind === "wait") {
      this.#waiting.push({ chainTx, detail: verdict.detail });
      return { status: "waiting", txid: chainTx.txid, detail: verdict.detail };
    }
    return this.#reject(chainTx.txid, source, verdict.reason, verdict.detail, verdict.conflict);
  }

  #reject(
    txid: string,
    source: string,
    reason: RejectReason,
    detail: string,
    conflictsWith?: string,
  ): BroadcastOutcome {
    if (txid !== "") this.#rejected.add(txid);
    const r: Rejection = { txid, source, reason, detail, height: this.#tip.height };
    if (conflictsWith !== undefined) r.conflictsWith = conflictsWith;
    this.rejections.push(r);
    return { status: "rejected", txid, reason, detail };
  }

  #prevout(txid: string, vout: number): { amount: bigint; height: number | null } | undefined {
    const c = this.#outputs.get(key(txid, vout));
    if (c) return { amount: c.amount, height: c.height };
    const m = this.#mempoolById.get(txid);
    const o = m?.tx.outputs[vout];
    return o ? { amount: o.amount, height: null } : undefined;
  }

  #check(
    c: ChainTx,
  ):
    | { kind: "ok" }
    | { kind: "wait"; detail: string }
    | { kind: "reject"; reason: RejectReason; detail: string; conflict?: string } {
    const tx = c.tx;
    if (tx.inputs.length === 0 || tx.outputs.length === 0) {
      return { kind: "reject", reason: "invalid", detail: "no inputs or no outputs" };
    }
    if (isCoinbase(tx)) {
      return { kind: "reject", reason: "invalid", detail: "coinbase transactions are not relayed" };
    }
    const nextHeight = this.#tip.height + 1;
    let inSum = 0n;
    const seen = new Set<string>();
    for (let i = 0; i < tx.inputs.length; i++) {
      const input = tx.inputs[i];
      const prevTxid = toHex(reverse(input.txid));
      const k = key(prevTxid, input.vout);
      if (seen.has(k)) {
        return { kind: "reject", reason: "invalid", detail: `input ${i} spends ${k} twice` };
      }
      seen.add(k);
      const spent = this.#outputs.get(k)?.spentBy?.txid ?? this.#mempoolSpends.get(k);
      if (spent !== undefined) {
        return {
          kind: "reject",
          reason: "double-spend",
          detail: `input ${i} spends ${k}, already spent by ${spent}`,
          conflict: spent,
        };
      }
      const prev = this.#prevout(prevTxid, input.vout);
      if (!prev && this.#rejected.has(prevTxid)) {
        return {
          kind: "reject",
          reason: "double-spend",
          detail: `input ${i} spends ${k} of a refused transaction`,
          conflict: prevTxid,
        };
      }
      if (!prev) return { kind: "wait", detail: `input ${i} spends unknown output ${k}` };
      inSum += prev.amount;
      // BIP-68 relative lock (version >= 2, disable flag clear).
      if (tx.version >= 2 && (input.sequence & SEQ_DISABLE) === 0) {
        const value = input.sequence & SEQ_MASK;
        const coinHeight = prev.height ?? nextHeight;
        if ((input.sequence & SEQ_TYPE_TIME) !== 0) {
          const coinTime = prev.height === null
            ? this.#tip.time
            : this.#blocks.get(prev.height)?.time ?? this.#tip.time;
          if (coinTime + value * 512 > this.#tip.time) {
            return { kind: "wait", detail: `input ${i} relative time lock ${value * 512}s` };
          }
        } else if (coinHeight + value > nextHeight) {
          return { kind: "wait", detail: `input ${i} relative lock of ${value} blocks` };
        }
      }
    }
    const outSum = tx.outputs.reduce((s, o) => s + o.amount, 0n);
    if (outSum > inSum) {
      return {
        kind: "reject",
        reason: "invalid",
        detail: `outputs ${outSum} exceed inputs ${inSum}`,
      };
    }
    if (tx.locktime !== 0 && !tx.inputs.every((i) => i.sequence === SEQUENCE_FINAL)) {
      const final = tx.locktime < LOCKTIME_THRESHOLD
        ? tx.locktime < nextHeight
        : tx.locktime < this.#tip.time;
      if (!final) return { kind: "wait", detail: `nLockTime ${tx.locktime} not reached` };
    }
    return { kind: "ok" };
  }

  #addToMempool(c: ChainTx): void {
    this.#mempool.push(c);
    this.#mempoolById.set(c.txid, c);
    c.tx.inputs.forEach((input) => {
      this.#mempoolSpends.set(key(toHex(reverse(input.txid)), input.vout), c.txid);
    });
  }

  /** Retry waiting transactions until none more can enter the mempool. */
  #retryWaiting(): void {
    let progress = true;
    while (progress && this.#waiting.length > 0) {
      progress = false;
      const still: Pending[] = [];
      for (const p of this.#waiting) {
        if (this.#confirmed.has(p.chainTx.txid) || this.#mempoolById.has(p.chainTx.txid)) {
          progress = true;
          continue;
        }
        const verdict = this.#check(p.chainTx);
        if (verdict.kind === "ok") {
          this.#addToMempool(p.chainTx);
          progress = true;
        } else if (verdict.kind === "wait") {
          still.push({ chainTx: p.chainTx, detail: verdict.detail });
        } else {
          this.#reject(
            p.chainTx.txid,
            p.chainTx.source,
            verdict.reason,
            verdict.detail,
            verdict.conflict,
          );
          progress = true;
        }
      }
      this.#waiting = still;
    }
  }

  /** Transactions in the mempool, in arrival order (parents before children). */
  mempool(): ChainTx[] {
    return [...this.#mempool];
  }

  /** Transactions waiting for finality or for a parent, with the reason. */
  waiting(): { txid: string; source: string; detail: string }[] {
    return this.#waiting.map((p) => ({
      txid: p.chainTx.txid,
      source: p.chainTx.source,
      detail: p.detail,
    }));
  }

  /**
   * Queue a coinbase-like transaction paying `amount` to `script`; it confirms in the next mined
   * block. Returns its outpoint.
   */
  fund(script: Uint8Array, amount: bigint): { txid: string; vout: number } {
    if (amount <= 0n) throw new ChainError("funding amount must be positive");
    const n = this.#coinbaseCounter++;
    const tx: Tx = {
      version: 2,
      inputs: [{
        txid: NULL_TXID,
        vout: 0xffffffff,
        scriptSig: buildScript(u32le(this.#tip.height + 1), u32le(n)),
        sequence: SEQUENCE_FINAL,
        witness: [],
      }],
      outputs: [{ amount, script: script.slice() }],
      locktime: 0,
    };
    const bytes = encodeTx(tx);
    const c: ChainTx = { txid: toHex(reverse(txidOf(tx))), tx, bytes, source: "coinbase" };
    this.#coinbaseQueue.push(c);
    return { txid: c.txid, vout: 0 };
  }

  /** Mine `n` blocks (each with every final mempool transaction); returns them. */
  mine(n = 1, options: MineOptions = {}): Block[] {
    const out: Block[] = [];
    for (let i = 0; i < n; i++) out.push(this.#mineOne(options.includeMempool ?? true));
    return out;
  }

  #mineOne(includeMempool: boolean): Block {
    this.#retryWaiting();
    const height = this.#tip.height + 1;
    const time = this.#tip.time + this.#interval;
    const txs = [...this.#coinbaseQueue];
    this.#coinbaseQueue = [];
    if (includeMempool) {
      txs.push(...this.#mempool);
      this.#mempool = [];
      this.#mempoolById.clear();
      this.#mempoolSpends.clear();
    }
    const root = merkleRoot(txs.map((t) => txidOf(t.tx)));
    // Grind the nonce until the hash meets the regtest target (about two tries), so that a
    // signer checking proof of work accepts every block.
    let header: Uint8Array;
    let hashInternal: Uint8Array;
    for (let nonce = height * 1000;; nonce++) {
      header = concat(
        u32le(0x20000000),
        this.#tip.hashInternal,
        root,
        u32le(time),
        u32le(0x207fffff),
        u32le(nonce >>> 0),
      );
      hashInternal = sha256d(header);
      if (parseHeader(header).powOk) break;
    }
    for (const c of txs) {
      this.#confirmed.set(c.txid, { chainTx: c, height });
      if (!isCoinbase(c.tx)) {
        c.tx.inputs.forEach((input, vin) => {
          const prev = this.#outputs.get(key(toHex(reverse(input.txid)), input.vout));
          if (prev) prev.spentBy = { txid: c.txid, vin, height };
        });
      }
      c.tx.outputs.forEach((o, vout) => {
        this.#outputs.set(key(c.txid, vout), {
          txid: c.txid,
          vout,
          amount: o.amount,
          script: o.script,
          height,
          coinbase: isCoinbase(c.tx),
          spentBy: null,
        });
      });
    }
    const block: Block = { height, hash: toHex(reverse(hashInternal)), header, time, txs };
    this.#blocks.set(height, block);
    this.#tip = { height, time, hashInternal };
    for (const l of this.#listeners) l(block);
    return block;
  }

  /** A mined block by height. */
  block(height: number): Block | undefined {
    return this.#blocks.get(height);
  }

  /** A confirmed output (spent or not). */
  output(txid: string, vout: number): UtxoEntry | undefined {
    const o = this.#outputs.get(key(txid, vout));
    return o ? { ...o } : undefined;
  }

  /** Confirmed unspent outputs, optionally filtered. */
  unspent(filter?: (u: UtxoEntry) => boolean): UtxoEntry[] {
    const out: UtxoEntry[] = [];
    for (const o of this.#outputs.values()) {
      if (o.spentBy === null && (!filter || filter(o))) out.push({ ...o });
    }
    return out;
  }

  /** Is the confirmed output spent by a mempool transaction? Returns that txid. */
  mempoolSpender(txid: string, vout: number): string | undefined {
    return this.#mempoolSpends.get(key(txid, vout));
  }

  /** Who spends an output: confirmed spend (with height) or mempool spend (height null). */
  spenderOf(
    txid: string,
    vout: number,
  ): { txid: string; vin: number; height: number | null } | undefined {
    const c = this.#outputs.get(key(txid, vout))?.spentBy;
    if (c) return { ...c };
    const m = this.#mempoolSpends.get(key(txid, vout));
    if (m === undefined) return undefined;
    const tx = this.#mempoolById.get(m);
    const vin = tx?.tx.inputs.findIndex((i) => toHex(reverse(i.txid)) === txid && i.vout === vout);
    return { txid: m, vin: vin ?? -1, height: null };
  }

  /** A known transaction with its confirmation height (null while in the mempool). */
  transaction(txid: string): { chainTx: ChainTx; height: number | null } | undefined {
    const c = this.#confirmed.get(txid);
    if (c) return { chainTx: c.chainTx, height: c.height };
    const m = this.#mempoolById.get(txid);
    return m ? { chainTx: m, height: null } : undefined;
  }

  /** Number of confirmations of a transaction (0 when unconfirmed or unknown). */
  confirmations(txid: string): number {
    const c = this.#confirmed.get(txid);
    return c ? this.#tip.height - c.height + 1 : 0;
  }

  /** Every confirmed transaction spending any output of `txid`, in block order. */
  childrenOf(txid: string): ChainTx[] {
    const out: ChainTx[] = [];
    for (const { chainTx } of this.#confirmed.values()) {
      if (chainTx.tx.inputs.some((i) => toHex(reverse(i.txid)) === txid)) out.push(chainTx);
    }
    return out;
  }
}
