/**
 * Transport envelopes: protocol.md §6 vector 3 (serial envelope around get_per_commitment_point)
 * byte for byte, the three stream decoders under every possible split of every frame, length
 * limits enforced before buffering, bad magic (fail or resynchronise) and streams that end
 * mid-frame.
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
  clnFrameDecoder,
  encodeClnFrame,
  encodeSerialReply,
  encodeSerialRequest,
  type FrameDecoder,
  readFrames,
  ROOT_PEER_ID,
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
