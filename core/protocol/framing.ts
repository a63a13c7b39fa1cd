/**
 * Transport envelopes around message bodies, and stream decoders that accept bytes in arbitrary
 * pieces.
 *
 * - CLN's framing (protocol.md §1.1, `wire/wire_sync.c`): `u32 len | body`, where `len` counts
 *   the body (type + fields) and not itself.
 * - VLS's serial framing (protocol.md §1.3, `msgs.rs` `write_serial_request_header` /
 *   `read_serial_response_header`; all big-endian):
 *   request `AA 55 | u16 seq | 33-byte peer_id | u64 dbid | u32 len | body`,
 *   reply `5A A5 | u16 seq | u32 len | body`. The root context is peer_id = 33 zero bytes and
 *   dbid 0 ({@link ROOT_PEER_ID}); the peer id is therefore not validated as a point.
 *
 * The decoders check a frame's length as soon as its header is complete, before buffering its
 * body: a length below 2 (no room for the type) or above {@link MAX_BODY_SIZE} is refused. On bad
 * magic (or a bad length) a serial decoder either fails (default) or, with `resync: true`, drops
 * one byte at a time until the next magic and counts what it dropped in `skipped`. CLN's framing
 * has no magic, so it cannot resynchronise. Once a decoder has failed it keeps failing with the
 * same error: the byte stream is no longer trustworthy.
 *
 * @module
 */
import { concat, u16be, u32be, u64be } from "../bytes.ts";
import { MAX_BODY_SIZE, ProtocolError } from "./types.ts";

/** First two bytes of a serial request. */
export const SERIAL_REQUEST_MAGIC = 0xaa55;
/** First two bytes of a serial reply. */
export const SERIAL_REPLY_MAGIC = 0x5aa5;
/** The peer id of the root context (lightningd's own fd, and the proxy's frontend). */
export const ROOT_PEER_ID: Uint8Array = new Uint8Array(33);
/** Bytes before the body in a serial request: magic, seq, peer_id, dbid, len. */
export const SERIAL_REQUEST_HEADER_SIZE: number = 2 + 2 + 33 + 8 + 4;
/** Bytes before the body in a serial reply: magic, seq, len. */
export const SERIAL_REPLY_HEADER_SIZE: number = 2 + 2 + 4;

/** A serial request frame. */
export interface SerialRequest {
  /** Sequence number (u16); the reply must carry the same one. */
  seq: number;
  /** 33-byte peer id of the client context (zeros for the root context). */
  peerId: Uint8Array;
  /** Channel database id of the client context (0 for the root context). */
  dbid: bigint;
  /** The message body (u16 type + fields). */
  body: Uint8Array;
}

/** A serial reply frame. */
export interface SerialReply {
  /** Sequence number of the request answered. */
  seq: number;
  /** The message body (u16 type + fields). */
  body: Uint8Array;
}

function framingError(
  where: string,
  problem: string,
  code: "framing" | "too-large" | "too-short" = "framing",
): ProtocolError {
  return new ProtocolError(problem, { code, where });
}

function checkBody(where: string, body: Uint8Array): void {
  if (!(body instanceof Uint8Array)) throw framingError(where, "body must be a Uint8Array");
  const problem = lengthProblem(body.length);
  if (problem) throw framingError(where, problem.text, problem.code);
}

function lengthProblem(
  len: number,
): { text: string; code: "too-large" | "too-short" } | undefined {
  if (len < 2) {
    return { text: `body length ${len} is below 2 (no room for the type)`, code: "too-short" };
  }
  if (len > MAX_BODY_SIZE) {
    return {
      text: `body length ${len} exceeds the ${MAX_BODY_SIZE}-byte limit`,
      code: "too-large",
    };
  }
  return undefined;
}

/** CLN framing of a body: `u32 len | body`. */
export function encodeClnFrame(body: Uint8Array): Uint8Array {
  checkBody("cln frame", body);
  return concat(u32be(body.length), body);
}

function checkSeq(where: string, seq: unknown): void {
  if (typeof seq !== "number" || !Number.isInteger(seq) || seq < 0 || seq > 0xffff) {
    throw framingError(where, "seq must be an integer in 0..65535");
  }
}

/** Serial framing of a request: `AA55 | seq | peer_id | dbid | len | body`. */
export function encodeSerialRequest(frame: SerialRequest): Uint8Array {
  const where = "serial request";
  checkSeq(where, frame.seq);
  if (!(frame.peerId instanceof Uint8Array) || frame.peerId.length !== 33) {
    throw framingError(where, "peerId must be 33 bytes");
  }
  if (typeof frame.dbid !== "bigint" || frame.dbid < 0n || frame.dbid > 0xffffffffffffffffn) {
    throw framingError(where, "dbid must be a bigint in 0..2^64-1");
  }
  checkBody(where, frame.body);
  return concat(
    u16be(SERIAL_REQUEST_MAGIC),
    u16be(frame.seq),
    frame.peerId,
    u64be(frame.dbid),
    u32be(frame.body.length),
    frame.body,
  );
}

/** Serial framing of a reply: `5AA5 | seq | len | body`. */
export function encodeSerialReply(frame: SerialReply): Uint8Array {
  const where = "serial reply";
  checkSeq(where, frame.seq);
  checkBody(where, frame.body);
  return concat(u16be(SERIAL_REPLY_MAGIC), u16be(frame.seq), u32be(frame.body.length), frame.body);
}

/** Bytes received but not yet consumed, kept as the chunks they arrived in. */
class ByteQueue {
  #chunks: Uint8Array[] = [];
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk.slice());
    this.#length += chunk.length;
  }

  byteAt(i: number): number {
    let index = i + this.#head;
    for (const c of this.#chunks) {
      if (index < c.length) return c[index];
      index -= c.length;
    }
    throw new RangeError("ByteQueue: index out of range");
  }

  peek(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    let offset = this.#head;
    for (const c of this.#chunks) {
      if (filled === n) break;
      const part = c.subarray(offset, offset + (n - filled));
      out.set(part, filled);
      filled += part.length;
      offset = 0;
    }
    return out;
  }

  skip(n: number): void {
    this.#length -= n;
    while (n > 0) {
      const first = this.#chunks[0];
      const left = first.length - this.#head;
      if (n < left) {
        this.#head += n;
        return;
      }
      n -= left;
      this.#chunks.shift();
      this.#head = 0;
    }
  }

  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }
}

interface Envelope<F> {
  where: string;
  magic: number | undefined;
  headerSize: number;
  /** Body length from a complete header. */
  length(header: Uint8Array): number;
  frame(header: Uint8Array, body: Uint8Array): F;
}

/** A stream decoder: feed it chunks, get back the complete frames. */
export interface FrameDecoder<F> {
  /** Adds bytes; returns every frame completed by them, in order. Throws on a framing error. */
  push(chunk: Uint8Array): F[];
  /** Declares the end of the stream; throws if a frame is incomplete. */
  end(): void;
  /** Bytes buffered towards the next frame. */
  readonly buffered: number;
  /** Bytes dropped while resynchronising (serial decoders with `resync: true`). */
  readonly skipped: number;
}

class StreamDecoder<F> implements FrameDecoder<F> {
  #queue = new ByteQueue();
  #pending: { header: Uint8Array; length: number } | undefined;
  #failed: ProtocolError | undefined;
  #skipped = 0;
  readonly #env: Envelope<F>;
  readonly #resync: boolean;

  constructor(env: Envelope<F>, resync: boolean) {
    this.#env = env;
    this.#resync = resync && env.magic !== undefined;
  }

  get buffered(): number {
    return this.#queue.length;
  }

  get skipped(): number {
    return this.#skipped;
  }

  #fail(problem: string, code: "framing" | "too-large" | "too-short" = "framing"): never {
    this.#failed = framingError(this.#env.where, problem, code);
    throw this.#failed;
  }

  /** True when the queue starts with (a prefix of) the magic; resyncs or fails otherwise. */
  #atMagic(): boolean {
    const magic = this.#env.magic;
    if (magic === undefined) return true;
    const q = this.#queue;
    const m = [magic >> 8, magic & 0xff];
    while (q.length > 0) {
      const n = Math.min(2, q.length);
      let ok = true;
      for (let i = 0; i < n; i++) if (q.byteAt(i) !== m[i]) ok = false;
      if (ok) return n === 2;
      if (!this.#resync) {
        const seen = n === 2
          ? `0x${((q.byteAt(0) << 8) | q.byteAt(1)).toString(16).padStart(4, "0")}`
          : `0x${q.byteAt(0).toString(16).padStart(2, "0")}..`;
        this.#fail(`bad magic ${seen} (expected 0x${magic.toString(16)})`);
      }
      q.skip(1);
      this.#skipped++;
    }
    return false;
  }

  push(chunk: Uint8Array): F[] {
    if (this.#failed) throw this.#failed;
    if (!(chunk instanceof Uint8Array)) this.#fail("chunk must be a Uint8Array");
    this.#queue.push(chunk);
    const out: F[] = [];
    while (true) {
      if (!this.#pending) {
        if (!this.#atMagic() || this.#queue.length < this.#env.headerSize) break;
        const header = this.#queue.peek(this.#env.headerSize);
        const length = this.#env.length(header);
        const problem = lengthProblem(length);
        if (problem) {
          if (this.#resync) {
            this.#queue.skip(1);
            this.#skipped++;
            continue;
          }
          this.#fail(problem.text, problem.code);
        }
        this.#queue.skip(this.#env.headerSize);
        this.#pending = { header, length };
      }
      if (this.#queue.length < this.#pending.length) break;
      const body = this.#queue.take(this.#pending.length);
      out.push(this.#env.frame(this.#pending.header, body));
      this.#pending = undefined;
    }
    return out;
  }

  end(): void {
    if (this.#failed) throw this.#failed;
    if (this.#pending || this.#queue.length > 0) {
      const have = this.#queue.length + (this.#pending ? this.#env.headerSize : 0);
      this.#fail(`stream ended inside a frame (${have} bytes of it received)`);
    }
  }
}

function readU16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** Decoder for CLN's `u32 len | body` stream; yields bodies. */
export function clnFrameDecoder(): FrameDecoder<Uint8Array> {
  return new StreamDecoder<Uint8Array>({
    where: "cln frame",
    magic: undefined,
    headerSize: 4,
    length: (h) => readU32(h, 0),
    frame: (_h, body) => body,
  }, false);
}

/**
 * Decoder for a stream of serial requests (the signer's side of the serial link).
 * @param options `resync`: skip bytes up to the next magic instead of failing on bad magic or length
 */
export function serialRequestDecoder(
  options: { resync?: boolean } = {},
): FrameDecoder<SerialRequest> {
  return new StreamDecoder<SerialRequest>({
    where: "serial request",
    magic: SERIAL_REQUEST_MAGIC,
    headerSize: SERIAL_REQUEST_HEADER_SIZE,
    length: (h) => readU32(h, 45),
    frame: (h, body) => ({
      seq: readU16(h, 2),
      peerId: h.slice(4, 37),
      dbid: new DataView(h.buffer, h.byteOffset + 37, 8).getBigUint64(0, false),
      body,
    }),
  }, options.resync ?? false);
}

/**
 * Decoder for a stream of serial replies (the proxy's side of the serial link). Matching `seq`
 * against the request is the caller's job.
 * @param options `resync`: skip bytes up to the next magic instead of failing on bad magic or length
 */
export function serialReplyDecoder(options: { resync?: boolean } = {}): FrameDecoder<SerialReply> {
  return new StreamDecoder<SerialReply>({
    where: "serial reply",
    magic: SERIAL_REPLY_MAGIC,
    headerSize: SERIAL_REPLY_HEADER_SIZE,
    length: (h) => readU32(h, 4),
    frame: (h, body) => ({ seq: readU16(h, 2), body }),
  }, options.resync ?? false);
}

/**
 * Reads frames from a byte stream (a `ReadableStream`, `Deno.Conn.readable`, ...), then checks
 * that it did not end inside a frame.
 * @param stream the bytes
 * @param decoder a fresh decoder for the envelope in use
 */
export async function* readFrames<F>(
  stream: AsyncIterable<Uint8Array>,
  decoder: FrameDecoder<F>,
): AsyncGenerator<F, void, undefined> {
  for await (const chunk of stream) yield* decoder.push(chunk);
  decoder.end();
}
