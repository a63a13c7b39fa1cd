/**
 * Test helpers for the transports: a fake handler, frame builders, an in-memory byte channel, and
 * a waiter for conditions.
 *
 * @module
 */
import { concat, u16be } from "../../core/bytes.ts";
import {
  encodeSerialRequest,
  ROOT_PEER_ID,
  type SerialReply,
  serialReplyDecoder,
} from "../../core/protocol/framing.ts";
import type { ByteChannel, FrameHandler, RequestContext } from "../../transports/types.ts";

/** Message type the fake handler throws on. */
export const THROW_TYPE = 0x0999;
/** Message type the fake handler gives no reply to (dev_preinit). */
export const NO_REPLY_TYPE = 99;

/** A handler that answers `type + 100` followed by the request's payload, and counts calls. */
export class FakeHandler implements FrameHandler {
  /** Every call, in order. */
  readonly calls: { ctx: RequestContext; body: Uint8Array }[] = [];
  /** Calls running at the same time, at most. */
  maxConcurrent = 0;
  #running = 0;
  /** Per-call delay (ms) by payload's first byte, to shuffle completion order if calls overlapped. */
  delays = new Map<number, number>();

  /** The fake answer. */
  async handle(ctx: RequestContext, body: Uint8Array): Promise<Uint8Array | null> {
    this.calls.push({ ctx, body: body.slice() });
    this.#running++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.#running);
    try {
      const delay = this.delays.get(body[2] ?? -1);
      if (delay !== undefined) await new Promise((r) => setTimeout(r, delay));
      const type = (body[0] << 8) | body[1];
      if (type === THROW_TYPE) throw new Error("boom");
      if (type === NO_REPLY_TYPE) return null;
      return fakeReply(body);
    } finally {
      this.#running--;
    }
  }
}

/** What {@link FakeHandler} answers to `body`. */
export function fakeReply(body: Uint8Array): Uint8Array {
  const type = (body[0] << 8) | body[1];
  return concat(u16be((type + 100) & 0xffff), body.subarray(2));
}

/** A body: type then payload bytes. */
export function body(type: number, ...payload: number[]): Uint8Array {
  return concat(u16be(type), new Uint8Array(payload));
}

/** A request frame in the root context (or `ctx`). */
export function frame(seq: number, b: Uint8Array, ctx?: RequestContext): Uint8Array {
  return encodeSerialRequest({
    seq,
    peerId: ctx?.peerId ?? ROOT_PEER_ID,
    dbid: ctx?.dbid ?? 0n,
    body: b,
  });
}

/** Decodes a stream of reply frames. */
export function replies(bytes: Uint8Array): SerialReply[] {
  const d = serialReplyDecoder();
  const out = d.push(bytes);
  d.end();
  return out;
}

/** An in-memory connection: reads come from `chunks` (then EOF), writes are collected. */
export class MemoryChannel implements ByteChannel {
  readonly #chunks: Uint8Array[];
  /** Everything written. */
  written: Uint8Array = new Uint8Array(0);

  /**
   * Creates the channel.
   * @param chunks what reads return, one chunk per read
   */
  constructor(chunks: Uint8Array[]) {
    this.#chunks = [...chunks];
  }

  /** Next chunk, or null at the end. */
  read(p: Uint8Array): Promise<number | null> {
    const next = this.#chunks.shift();
    if (next === undefined) return Promise.resolve(null);
    if (next.length > p.length) throw new RangeError("chunk larger than the read buffer");
    p.set(next);
    return Promise.resolve(next.length);
  }

  /** Collects the bytes (one at most 7 at a time, to exercise partial writes). */
  write(p: Uint8Array): Promise<number> {
    const n = Math.min(7, p.length);
    this.written = concat(this.written, p.subarray(0, n));
    return Promise.resolve(n);
  }
}

/** Splits bytes into chunks of `size`. */
export function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

/** Waits until `check()` is true (polling every 5 ms; fails after `timeoutMs`). */
export async function waitFor(
  check: () => boolean,
  options: { timeoutMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? "it"}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Reads reply frames from a connection until `count` have arrived (null: it closed first). */
export async function readReplies(
  conn: { read(p: Uint8Array): Promise<number | null> },
  count: number,
): Promise<SerialReply[] | null> {
  const d = serialReplyDecoder();
  const out: SerialReply[] = [];
  const buf = new Uint8Array(4096);
  while (out.length < count) {
    const n = await conn.read(buf);
    if (n === null) return null;
    out.push(...d.push(buf.subarray(0, n)));
  }
  return out;
}

/** Writes all of `bytes`. */
export async function writeAll(
  conn: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}
