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
 * **A corrupted length (resync mode).** A header whose length was damaged on the line but is
 * still plausible (13 read as 65549) would otherwise make the decoder wait for bytes that never
 * come: a lock-step link (one request, then its reply) stalls. So a decoder keeps the header of
 * the frame it is filling in its buffer until the frame is complete, and its reader tells it when
 * the line has gone quiet with {@link FrameDecoder.idle} (transports/session.ts calls it after
 * `idleMs` without bytes while a frame is incomplete). A lock-step sender that has nothing more to
 * send is waiting for an answer, so an incomplete frame at that point is suspect: if the bytes
 * buffered after its header already hold a complete frame of their own (magic, a plausible length
 * and the whole body: typically the request re-sent by the node after a timeout, or its next
 * one), the header is taken as corrupt, the bytes before that frame are dropped (counted in
 * `skipped`) and decoding goes on from there. An incomplete frame with no complete frame after it
 * is left alone: it may just be slow. The price is that a genuine frame that stalls mid-body for
 * longer than the idle delay while its body happens to contain a complete frame-shaped byte
 * sequence is dropped, and that inner sequence decoded; the node re-sends what it gets no reply
 * for.
 *
 * The buffer behind a decoder is one growable byte array with a start offset (a
 * {@link ByteQueue}): bytes arriving one per read cost amortised O(1) each, however large the
 * frame.
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

/**
 * Bytes received but not yet consumed: one growable array holding `[start, end)`. Appending
 * grows it (doubling) or compacts it (moving the live bytes to the front) only when the tail has
 * no room, and compacts only when at least as many bytes were consumed as are moved, so every
 * byte is moved O(1) times amortised; reading and skipping never move bytes. Used by the
 * decoders; exported for tests, which count moves by overriding {@link ByteQueue.moved}.
 */
export class ByteQueue {
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;

  /** Bytes held. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** Bytes the array can hold before it must grow (for tests and diagnostics). */
  get capacity(): number {
    return this.#buf.length;
  }

  /**
   * Called with the number of live bytes each time they are moved (growth or compaction);
   * does nothing here. A subclass may count.
   * @param _bytes how many bytes were moved
   */
  protected moved(_bytes: number): void {}

  /** Appends a copy of `chunk`. */
  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.#end + n > this.#buf.length) {
      const live = this.length;
      const need = live + n;
      if (need * 2 <= this.#buf.length) {
        // Compact: the consumed prefix (> half the array) is larger than what moves.
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = new Uint8Array(Math.max(this.#buf.length * 2, need, 256));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      }
      if (live > 0) this.moved(live);
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += n;
  }

  /** The byte at offset `i` from the front. */
  byteAt(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError("ByteQueue: index out of range");
    }
    return this.#buf[this.#start + i];
  }

  /** A copy of `n` bytes starting `at` bytes from the front. */
  peek(n: number, at = 0): Uint8Array {
    if (at < 0 || n < 0 || at + n > this.length) {
      throw new RangeError("ByteQueue: range out of range");
    }
    return this.#buf.slice(this.#start + at, this.#start + at + n);
  }

  /** Drops `n` bytes from the front. */
  skip(n: number): void {
    if (n < 0 || n > this.length) throw new RangeError("ByteQueue: skip out of range");
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /** Removes `n` bytes from the front and returns them (a copy). */
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
  /**
   * Tells the decoder that no bytes have arrived for a while (the reader's idle delay). With
   * `resync: true`, an incomplete frame followed in the buffer by a complete frame is dropped as
   * corrupt (see the module documentation) and the frames then complete are returned; otherwise
   * (and always without resync) nothing changes and the result is empty.
   */
  idle(): F[];
  /** Declares the end of the stream; throws if a frame is incomplete. */
  end(): void;
  /** Bytes buffered towards the next frame (the header of a frame being filled not included). */
  readonly buffered: number;
  /** Bytes dropped while resynchronising (serial decoders with `resync: true`). */
  readonly skipped: number;
}

class StreamDecoder<F> implements FrameDecoder<F> {
  /** Unconsumed bytes; a pending frame's header stays at its front until the frame is complete. */
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
    return this.#queue.length - (this.#pending ? this.#env.headerSize : 0);
  }

  get skipped(): number {
    return this.#skipped;
  }

  #fail(problem: string, code: "framing" | "too-large" | "too-short" = "framing"): never {
    this.#failed = framingError(this.#env.where, problem, code);
    throw this.#failed;
  }

  #drop(n: number): void {
    this.#queue.skip(n);
    this.#skipped += n;
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
      this.#drop(1);
    }
    return false;
  }

  push(chunk: Uint8Array): F[] {
    if (this.#failed) throw this.#failed;
    if (!(chunk instanceof Uint8Array)) this.#fail("chunk must be a Uint8Array");
    this.#queue.push(chunk);
    return this.#drain();
  }

  /** Decodes every frame the queue completes. */
  #drain(): F[] {
    const out: F[] = [];
    const size = this.#env.headerSize;
    while (true) {
      if (!this.#pending) {
        if (!this.#atMagic() || this.#queue.length < size) break;
        const header = this.#queue.peek(size);
        const length = this.#env.length(header);
        const problem = lengthProblem(length);
        if (problem) {
          if (this.#resync) {
            this.#drop(1);
            continue;
          }
          this.#fail(problem.text, problem.code);
        }
        this.#pending = { header, length };
      }
      if (this.#queue.length < size + this.#pending.length) break;
      this.#queue.skip(size);
      const body = this.#queue.take(this.#pending.length);
      out.push(this.#env.frame(this.#pending.header, body));
      this.#pending = undefined;
    }
    return out;
  }

  idle(): F[] {
    if (this.#failed) throw this.#failed;
    if (!this.#resync || !this.#pending) return [];
    const at = this.#laterFrame();
    if (at === undefined) return [];
    this.#pending = undefined;
    this.#drop(at);
    return this.#drain();
  }

  /** Offset (> 0) of the first complete frame after the pending header, if any. */
  #laterFrame(): number | undefined {
    const q = this.#queue;
    const size = this.#env.headerSize;
    const magic = this.#env.magic as number;
    for (let at = 1; at + size <= q.length; at++) {
      if (q.byteAt(at) !== magic >> 8 || q.byteAt(at + 1) !== (magic & 0xff)) continue;
      const length = this.#env.length(q.peek(size, at));
      if (lengthProblem(length) === undefined && at + size + length <= q.length) return at;
    }
    return undefined;
  }

  end(): void {
    if (this.#failed) throw this.#failed;
    if (this.#queue.length > 0) {
      this.#fail(`stream ended inside a frame (${this.#queue.length} bytes of it received)`);
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
 * @param options `resync`: skip bytes up to the next magic instead of failing on bad magic or
 *   length, and drop a frame found corrupt when {@link FrameDecoder.idle} is called
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
 * @param options `resync`: skip bytes up to the next magic instead of failing on bad magic or
 *   length, and drop a frame found corrupt when {@link FrameDecoder.idle} is called
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
