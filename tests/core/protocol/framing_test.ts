/**
 * Transport envelopes: protocol.md §6 vector 3 (serial envelope around get_per_commitment_point)
 * byte for byte, the three stream decoders under every possible split of every frame, length
 * limits enforced before buffering, bad magic (fail or resynchronise), a corrupted length
 * recovered on the idle signal, streams that end mid-frame, and the byte queue's amortised cost
 * (bytes moved, counted) when a 128 KiB frame arrives one byte per read.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex } from "../../../core/bytes.ts";
import {
  decodeMessage,
  decodeReplyTo,
  encodeMessage,
  encodeReply,
} from "../../../core/protocol/codec.ts";
import {
  ByteQueue,
  clnFrameDecoder,
  encodeClnFrame,
  encodeSerialReply,
  encodeSerialRequest,
  type FrameDecoder,
  readFrames,
  ROOT_PEER_ID,
  SERIAL_REQUEST_HEADER_SIZE,
  type SerialReply,
  serialReplyDecoder,
  type SerialRequest,
  serialRequestDecoder,
} from "../../../core/protocol/framing.ts";
import { MAX_BODY_SIZE, ProtocolError } from "../../../core/protocol/types.ts";

const PEER = "0266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c03518";
/** The generator point G, standing in for "<33-byte point>" of the vector. */
const POINT = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
const V3_REQUEST = "aa55" + "0005" + PEER + "0000000000000001" + "0000000a" + "0012" +
  "0000000000000000";
const V3_REPLY = "5aa5" + "0005" + "00000024" + "0076" + POINT + "00";

function framingError(fn: () => unknown, code: string, message: string): void {
  throws(fn, (e: unknown) => {
    ok(e instanceof ProtocolError, String(e));
    strictEqual(e.code, code, e.message);
    strictEqual(e.message, message);
    return true;
  });
}

Deno.test("vector 3: serial request around get_per_commitment_point(0), peer, dbid 1, seq 5", () => {
  const body = encodeMessage({ type: "get_per_commitment_point", n: 0n });
  const frame = encodeSerialRequest({ seq: 5, peerId: fromHex(PEER), dbid: 1n, body });
  strictEqual(toHex(frame), V3_REQUEST);
  const d = serialRequestDecoder();
  const [decoded] = d.push(frame);
  d.end();
  deepStrictEqual(decoded, { seq: 5, peerId: fromHex(PEER), dbid: 1n, body });
  deepStrictEqual(decodeMessage(decoded.body), { type: "get_per_commitment_point", n: 0n });
});

Deno.test("vector 3: serial reply with the point and no old secret", () => {
  const body = encodeReply({
    type: "get_per_commitment_point_reply",
    per_commitment_point: fromHex(POINT),
    old_commitment_secret: null,
  });
  strictEqual(toHex(encodeSerialReply({ seq: 5, body })), V3_REPLY);
  const [decoded] = serialReplyDecoder().push(fromHex(V3_REPLY));
  strictEqual(decoded.seq, 5);
  deepStrictEqual(decodeReplyTo("get_per_commitment_point", decoded.body), {
    type: "get_per_commitment_point_reply",
    per_commitment_point: fromHex(POINT),
    old_commitment_secret: null,
  });
});

// ---------------------------------------------------------------------------------------------
// Chunking

const PING = encodeMessage({ type: "ping", id: 1, message: "hello" });
const NODE_INFO = encodeMessage({ type: "node_info" });
const GET_POINT = fromHex(V3_REQUEST).subarray(49);

const SERIAL_REQUESTS: SerialRequest[] = [
  { seq: 0, peerId: ROOT_PEER_ID, dbid: 0n, body: PING },
  { seq: 5, peerId: fromHex(PEER), dbid: 1n, body: GET_POINT },
  { seq: 0xffff, peerId: ROOT_PEER_ID, dbid: 0xffffffffffffffffn, body: NODE_INFO },
];
const SERIAL_REPLIES: SerialReply[] = [
  { seq: 0, body: encodeReply({ type: "pong", id: 1, message: "pong" }) },
  { seq: 5, body: fromHex(V3_REPLY).subarray(8) },
  { seq: 7, body: encodeReply({ type: "add_block_reply" }) },
];

/** Feeds `bytes` split at `cuts` and returns every frame. */
function feed<F>(decoder: FrameDecoder<F>, bytes: Uint8Array, cuts: number[]): F[] {
  const out: F[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(...decoder.push(bytes.subarray(at, c)));
    at = c;
  }
  decoder.end();
  strictEqual(decoder.buffered, 0);
  return out;
}

function everySplit<F>(
  make: () => FrameDecoder<F>,
  frames: F[],
  encode: (f: F) => Uint8Array,
): number {
  const stream = concat(...frames.map(encode));
  let checked = 0;
  for (let i = 0; i <= stream.length; i++) {
    deepStrictEqual(feed(make(), stream, [i]), frames);
    checked++;
  }
  // Two cuts: every position of the first cut against every position of the second, sampled.
  for (let i = 0; i <= stream.length; i += 3) {
    for (let j = i; j <= stream.length; j += 7) {
      deepStrictEqual(feed(make(), stream, [i, j]), frames);
    }
  }
  // One byte at a time.
  deepStrictEqual(feed(make(), stream, Array.from({ length: stream.length }, (_, k) => k)), frames);
  return checked;
}

Deno.test("chunking: CLN frames split at every byte position", () => {
  const bodies = [PING, GET_POINT, NODE_INFO];
  const n = everySplit(clnFrameDecoder, bodies, encodeClnFrame);
  strictEqual(n, bodies.reduce((s, b) => s + 4 + b.length, 0) + 1);
});

Deno.test("chunking: serial requests split at every byte position", () => {
  const n = everySplit(serialRequestDecoder, SERIAL_REQUESTS, encodeSerialRequest);
  strictEqual(n, SERIAL_REQUESTS.reduce((s, f) => s + 49 + f.body.length, 0) + 1);
});

Deno.test("chunking: serial replies split at every byte position", () => {
  const n = everySplit(serialReplyDecoder, SERIAL_REPLIES, encodeSerialReply);
  strictEqual(n, SERIAL_REPLIES.reduce((s, f) => s + 8 + f.body.length, 0) + 1);
});

Deno.test("readFrames reads a ReadableStream of chunks", async () => {
  const stream = concat(...SERIAL_REQUESTS.map(encodeSerialRequest));
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < stream.length; i += 5) controller.enqueue(stream.slice(i, i + 5));
      controller.close();
    },
  });
  const frames: SerialRequest[] = [];
  for await (const f of readFrames(readable, serialRequestDecoder())) frames.push(f);
  deepStrictEqual(frames, SERIAL_REQUESTS);
  const cut = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(stream.slice(0, 70));
      controller.close();
    },
  });
  let error: unknown;
  try {
    for await (const _ of readFrames(cut, serialRequestDecoder())) { /* drain */ }
  } catch (e) {
    error = e;
  }
  ok(error instanceof ProtocolError);
  strictEqual(
    error.message,
    "serial request: stream ended inside a frame (11 bytes of it received)",
  );
});

// ---------------------------------------------------------------------------------------------
// Limits and errors

Deno.test("lengths are checked from the header, before any body byte is buffered", () => {
  const header = (len: string) => fromHex("aa55" + "0001" + "00".repeat(33) + "00".repeat(8) + len);
  framingError(
    () => serialRequestDecoder().push(header("00020001")),
    "too-large",
    "serial request: body length 131073 exceeds the 131072-byte limit",
  );
  framingError(
    () => serialRequestDecoder().push(header("00000001")),
    "too-short",
    "serial request: body length 1 is below 2 (no room for the type)",
  );
  framingError(
    () => serialReplyDecoder().push(fromHex("5aa50001ffffffff")),
    "too-large",
    "serial reply: body length 4294967295 exceeds the 131072-byte limit",
  );
  // Exactly 128 KiB is accepted and waits for its body.
  const d = serialReplyDecoder();
  deepStrictEqual(d.push(fromHex("5aa50001" + "00020000")), []);
  const body = new Uint8Array(MAX_BODY_SIZE);
  deepStrictEqual(d.push(body), [{ seq: 1, body }]);
});

Deno.test("bad magic fails clearly, and the decoder stays failed", () => {
  const d = serialRequestDecoder();
  framingError(
    () => d.push(fromHex("5aa5000100")),
    "framing",
    "serial request: bad magic 0x5aa5 (expected 0xaa55)",
  );
  framingError(
    () => d.push(fromHex(V3_REQUEST)),
    "framing",
    "serial request: bad magic 0x5aa5 (expected 0xaa55)",
  );
  framingError(
    () => serialReplyDecoder().push(fromHex("13")),
    "framing",
    "serial reply: bad magic 0x13.. (expected 0x5aa5)",
  );
  // A correct first magic byte waits for the second.
  deepStrictEqual(serialReplyDecoder().push(fromHex("5a")), []);
});

Deno.test("resync: garbage and bad lengths are skipped up to the next magic, and counted", () => {
  const good = concat(...SERIAL_REQUESTS.map(encodeSerialRequest));
  const junk = fromHex("00aa5500aa");
  // aa55 followed by an oversized length: a false header that must be skipped too.
  const falseHeader = fromHex("aa55" + "0000" + "00".repeat(41) + "7fffffff");
  const stream = concat(junk, encodeSerialRequest(SERIAL_REQUESTS[0]), falseHeader, good);
  for (let i = 0; i <= stream.length; i += 11) {
    const d = serialRequestDecoder({ resync: true });
    const frames = feed(d, stream, [i]);
    deepStrictEqual(frames, [SERIAL_REQUESTS[0], ...SERIAL_REQUESTS]);
    strictEqual(d.skipped, junk.length + falseHeader.length);
  }
});

Deno.test("a stream that ends inside a frame is an error; CLN framing cannot resync", () => {
  const d = clnFrameDecoder();
  deepStrictEqual(d.push(fromHex("00000005000a")), []);
  strictEqual(d.buffered, 2);
  framingError(
    () => d.end(),
    "framing",
    "cln frame: stream ended inside a frame (6 bytes of it received)",
  );
  const r = serialReplyDecoder();
  r.push(fromHex("5aa500"));
  framingError(
    () => r.end(),
    "framing",
    "serial reply: stream ended inside a frame (3 bytes of it received)",
  );
});

Deno.test("encoders validate the envelope", () => {
  framingError(
    () => encodeSerialRequest({ seq: 65536, peerId: ROOT_PEER_ID, dbid: 0n, body: PING }),
    "framing",
    "serial request: seq must be an integer in 0..65535",
  );
  framingError(
    () => encodeSerialRequest({ seq: 1, peerId: new Uint8Array(32), dbid: 0n, body: PING }),
    "framing",
    "serial request: peerId must be 33 bytes",
  );
  framingError(
    () => encodeSerialRequest({ seq: 1, peerId: ROOT_PEER_ID, dbid: -1n, body: PING }),
    "framing",
    "serial request: dbid must be a bigint in 0..2^64-1",
  );
  framingError(
    () => encodeSerialReply({ seq: 1, body: new Uint8Array(1) }),
    "too-short",
    "serial reply: body length 1 is below 2 (no room for the type)",
  );
  framingError(
    () => encodeClnFrame(new Uint8Array(MAX_BODY_SIZE + 1)),
    "too-large",
    "cln frame: body length 131073 exceeds the 131072-byte limit",
  );
  strictEqual(toHex(encodeClnFrame(fromHex("006d"))), "00000002006d");
});

// ---------------------------------------------------------------------------------------------
// A corrupted length on a resynchronising (serial) link

/** `frame` with its u32 length (at `at`) replaced by `len`: a bit flip on the line. */
function withLength(frame: Uint8Array, at: number, len: number): Uint8Array {
  const out = frame.slice();
  new DataView(out.buffer).setUint32(at, len, false);
  return out;
}

const CLEAN: SerialRequest[] = [
  { seq: 1, peerId: fromHex(PEER), dbid: 1n, body: GET_POINT },
  { seq: 2, peerId: ROOT_PEER_ID, dbid: 0n, body: PING },
];
/** The first request as sent (len 10), with bit 16 of its length flipped: 65546. */
const CORRUPT = withLength(encodeSerialRequest(CLEAN[0]), 45, 10 | 0x10000);

Deno.test("resync: a corrupted length is dropped once the line is idle and a complete frame follows", () => {
  strictEqual(CORRUPT.length, 49 + 10);
  // The node re-sends the first request after its timeout, then sends the next one.
  const stream = concat(CORRUPT, ...CLEAN.map(encodeSerialRequest));
  for (let i = 0; i <= stream.length; i++) {
    const d = serialRequestDecoder({ resync: true });
    const out: SerialRequest[] = [];
    for (const part of [stream.subarray(0, i), stream.subarray(i)]) {
      out.push(...d.push(part));
      out.push(...d.idle()); // the reader's idle signal after each burst
    }
    d.end();
    deepStrictEqual(out, CLEAN, `split at ${i}`);
    strictEqual(d.skipped, CORRUPT.length);
    strictEqual(d.buffered, 0);
  }
  // Without the idle signal the decoder keeps waiting for the 65546-byte body.
  const waiting = serialRequestDecoder({ resync: true });
  deepStrictEqual(waiting.push(stream), []);
  strictEqual(waiting.buffered, stream.length - 49);
  strictEqual(waiting.skipped, 0);
});

Deno.test("resync: idle leaves an incomplete frame alone when no complete frame follows it", () => {
  const d = serialRequestDecoder({ resync: true });
  const resent = encodeSerialRequest(CLEAN[0]);
  // The corrupt frame, then only part of the re-sent one: nothing to resynchronise on yet.
  deepStrictEqual(d.push(concat(CORRUPT, resent.subarray(0, resent.length - 1))), []);
  deepStrictEqual(d.idle(), []);
  strictEqual(d.skipped, 0);
  // Its last byte arrives: the next idle signal finds it.
  deepStrictEqual(d.push(resent.subarray(resent.length - 1)), []);
  deepStrictEqual(d.idle(), [CLEAN[0]]);
  strictEqual(d.skipped, CORRUPT.length);
  // A genuine frame that is slow to arrive is not touched by idle, and completes.
  const slow = encodeSerialRequest(CLEAN[1]);
  deepStrictEqual(d.push(slow.subarray(0, 55)), []);
  deepStrictEqual(d.idle(), []);
  deepStrictEqual(d.push(slow.subarray(55)), [CLEAN[1]]);
  strictEqual(d.skipped, CORRUPT.length);
  // Decoders that do not resynchronise ignore idle.
  const strict = serialRequestDecoder();
  deepStrictEqual(strict.push(concat(CORRUPT, resent)), []);
  deepStrictEqual(strict.idle(), []);
  deepStrictEqual(clnFrameDecoder().idle(), []);
});

Deno.test("resync: a corrupted reply length recovers the same way (the node's side)", () => {
  const reply = SERIAL_REPLIES[1];
  const bad = withLength(encodeSerialReply(reply), 4, reply.body.length + 0x100);
  const d = serialReplyDecoder({ resync: true });
  deepStrictEqual(d.push(concat(bad, encodeSerialReply(reply))), []);
  deepStrictEqual(d.idle(), [reply]);
  strictEqual(d.skipped, bad.length);
});

// ---------------------------------------------------------------------------------------------
// Cost of small reads

/** A queue that counts the bytes it moves when it grows or compacts. */
class CountingQueue extends ByteQueue {
  moves = 0;
  protected override moved(bytes: number): void {
    this.moves += bytes;
  }
}

Deno.test("byte queue: one byte per read costs amortised O(1) moves per byte", () => {
  // A 128 KiB frame arriving one byte per read, consumed when complete (the decoder's pattern).
  const total = SERIAL_REQUEST_HEADER_SIZE + MAX_BODY_SIZE;
  const q = new CountingQueue();
  const one = new Uint8Array(1);
  for (let i = 0; i < total; i++) {
    one[0] = i & 0xff;
    q.push(one);
  }
  strictEqual(q.length, total);
  // Growth by doubling from 256: 256 + 512 + ... + 131072 bytes moved in all.
  strictEqual(q.moves, 2 * 131072 - 256);
  ok(q.moves < 2 * total);
  strictEqual(q.capacity, 262144);
  const taken = q.take(total);
  strictEqual(taken.length, total);
  strictEqual(taken[300], 300 & 0xff);
  strictEqual(q.length, 0);
  // Many small frames through a queue that is never empty: compaction moves at most what was
  // consumed, so moves stay below the bytes pushed.
  const steady = new CountingQueue();
  steady.push(new Uint8Array(7));
  let pushed = 7;
  for (let i = 0; i < 200_000; i++) {
    steady.push(one);
    pushed++;
    if (steady.length >= 60) steady.skip(53);
  }
  ok(steady.moves <= pushed, `${steady.moves} moves for ${pushed} bytes`);
  strictEqual(steady.capacity, 256);
  // The queue's accessors see the bytes in order.
  const r = new ByteQueue();
  r.push(fromHex("0102"));
  r.push(fromHex("030405"));
  r.skip(1);
  deepStrictEqual([r.byteAt(0), r.byteAt(3), r.length], [2, 5, 4]);
  deepStrictEqual(r.peek(2, 1), fromHex("0304"));
  throws(() => r.byteAt(4), RangeError);
  throws(() => r.skip(5), RangeError);
});

Deno.test("chunking: a 128 KiB frame one byte per read (both decoders, with and without resync)", () => {
  const body = new Uint8Array(MAX_BODY_SIZE).map((_, i) => (i * 7) & 0xff);
  body.set([0x00, 0x12], 0);
  const request = { seq: 9, peerId: fromHex(PEER), dbid: 3n, body };
  const reply = { seq: 9, body };
  for (const resync of [false, true]) {
    const frames: unknown[] = [];
    const d = serialRequestDecoder({ resync });
    const stream = concat(encodeSerialRequest(request), encodeSerialRequest(request));
    for (let i = 0; i < stream.length; i++) frames.push(...d.push(stream.subarray(i, i + 1)));
    d.end();
    deepStrictEqual(frames, [request, request]);
    const r = serialReplyDecoder({ resync });
    const replyStream = encodeSerialReply(reply);
    const got: unknown[] = [];
    for (let i = 0; i < replyStream.length; i++) {
      got.push(...r.push(replyStream.subarray(i, i + 1)));
    }
    deepStrictEqual(got, [reply]);
  }
});
