import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { concat, toHex } from "../../core/bytes.ts";
import { decodeReply, encodeMessage } from "../../core/protocol/codec.ts";
import { MemoryLogger } from "../../transports/log.ts";
import {
  ERROR_REPLY_TYPES,
  FrameSession,
  INTERNAL_ERROR_CODE,
  ReplyCache,
  UNCACHED_TYPES,
} from "../../transports/session.ts";
import {
  body,
  chunked,
  FakeHandler,
  fakeReply,
  frame,
  MemoryChannel,
  NO_REPLY_TYPE,
  replies,
  THROW_TYPE,
} from "./_helpers.ts";

const PEER = { peerId: new Uint8Array(33).fill(2), dbid: 7n };

Deno.test("session: frames in one-byte chunks are decoded and answered with their seq", async () => {
  const handler = new FakeHandler();
  const session = new FrameSession(handler, { transport: "test" });
  const a = body(19, 1, 2, 3);
  const b = body(30, 9);
  const channel = new MemoryChannel(chunked(concat(frame(5, a), frame(6, b, PEER)), 1));
  strictEqual(await session.serve(channel), "eof");
  deepStrictEqual(replies(channel.written), [
    { seq: 5, body: fakeReply(a) },
    { seq: 6, body: fakeReply(b) },
  ]);
  deepStrictEqual(handler.calls.map((c) => [toHex(c.ctx.peerId), c.ctx.dbid, toHex(c.body)]), [
    ["00".repeat(33), 0n, toHex(a)],
    ["02".repeat(33), 7n, toHex(b)],
  ]);
  deepStrictEqual(session.stats, { requests: 2, replies: 2, cached: 0, handlerErrors: 0 });
});

Deno.test("session: pipelined requests are handled one at a time and answered in order", async () => {
  const handler = new FakeHandler();
  // The first request is the slowest: were calls concurrent, replies would come back reordered.
  handler.delays.set(1, 30).set(2, 10).set(3, 0);
  const session = new FrameSession(handler, { transport: "test" });
  const bodies = [body(40, 1), body(40, 2), body(40, 3), body(40, 4)];
  const stream = concat(...bodies.map((b, i) => frame(100 + i, b)));
  const channel = new MemoryChannel([stream]);
  await session.serve(channel);
  deepStrictEqual(
    replies(channel.written).map((r) => [r.seq, toHex(r.body)]),
    bodies.map((b, i) => [100 + i, toHex(fakeReply(b))]),
  );
  strictEqual(handler.maxConcurrent, 1);
});

Deno.test("session: bad magic closes the connection when not resynchronising", async () => {
  const handler = new FakeHandler();
  const logger = new MemoryLogger();
  const session = new FrameSession(handler, { transport: "tcp", logger });
  const good = frame(1, body(18, 0));
  const channel = new MemoryChannel([good, new Uint8Array([0xde, 0xad]), frame(2, body(18, 1))]);
  strictEqual(await session.serve(channel), "framing");
  deepStrictEqual(replies(channel.written).map((r) => r.seq), [1]);
  strictEqual(handler.calls.length, 1);
  const [malformed] = logger.named("frame.malformed");
  strictEqual(malformed.level, "error");
  strictEqual(malformed.fields.action, "close");
  ok(/bad magic 0xdead/.test(String(malformed.fields.message)), String(malformed.fields.message));
});

Deno.test("session: bad magic is skipped up to the next frame when resynchronising", async () => {
  const handler = new FakeHandler();
  const logger = new MemoryLogger();
  const session = new FrameSession(handler, { transport: "serial", logger });
  const noise = new Uint8Array([0x00, 0xaa, 0x13, 0x5a, 0xa5, 0xff]);
  const channel = new MemoryChannel(
    chunked(concat(frame(1, body(18, 0)), noise, frame(2, body(18, 1))), 5),
  );
  strictEqual(await session.serve(channel, { resync: true }), "eof");
  deepStrictEqual(replies(channel.written).map((r) => r.seq), [1, 2]);
  const skipped = logger.named("frame.resync").reduce((n, e) => n + Number(e.fields.skipped), 0);
  strictEqual(skipped, noise.length);
});

Deno.test("session: a frame with an impossible length is malformed", async () => {
  const logger = new MemoryLogger();
  const session = new FrameSession(new FakeHandler(), { transport: "tcp", logger });
  const bad = frame(1, body(18, 0));
  bad.set([0xff, 0xff, 0xff, 0xff], 45); // u32 len
  strictEqual(await session.serve(new MemoryChannel([bad])), "framing");
  ok(/exceeds/.test(String(logger.named("frame.malformed")[0].fields.message)));
});

Deno.test("session: a handler error becomes a signer_error reply and the connection stays up", async () => {
  const handler = new FakeHandler();
  const logger = new MemoryLogger();
  const session = new FrameSession(handler, { transport: "test", logger });
  const after = body(18, 5);
  const channel = new MemoryChannel([frame(1, body(THROW_TYPE, 1)), frame(2, after)]);
  strictEqual(await session.serve(channel), "eof");
  const [err, next] = replies(channel.written);
  strictEqual(err.seq, 1);
  deepStrictEqual(decodeReply(err.body), {
    type: "signer_error",
    code: INTERNAL_ERROR_CODE,
    message: "internal: message type 2457: Error",
  });
  deepStrictEqual(next, { seq: 2, body: fakeReply(after) });
  strictEqual(session.stats.handlerErrors, 1);
  const [logged] = logger.named("handler.error");
  deepStrictEqual([logged.level, logged.fields.error, logged.fields.message], [
    "error",
    "Error",
    "boom",
  ]);
});

Deno.test("session: a message without reply writes nothing", async () => {
  const session = new FrameSession(new FakeHandler(), { transport: "test" });
  const channel = new MemoryChannel([frame(0, body(NO_REPLY_TYPE)), frame(0, body(11, 1))]);
  await session.serve(channel);
  deepStrictEqual(replies(channel.written).map((r) => toHex(r.body)), [toHex(body(111, 1))]);
  deepStrictEqual(session.stats, { requests: 2, replies: 1, cached: 0, handlerErrors: 0 });
});

Deno.test("session: a re-sent request is answered from the cache, in the same context only", async () => {
  const handler = new FakeHandler();
  const session = new FrameSession(handler, { transport: "test" });
  const b = body(19, 1, 2);
  const first = await session.process({ seq: 1, peerId: PEER.peerId, dbid: 7n, body: b });
  const again = await session.process({ seq: 9, peerId: PEER.peerId, dbid: 7n, body: b });
  strictEqual(handler.calls.length, 1);
  ok(first !== null && again !== null);
  deepStrictEqual(replies(again), [{ seq: 9, body: fakeReply(b) }]);
  deepStrictEqual(replies(first)[0].body, replies(again)[0].body);
  // Another dbid is another request.
  await session.process({ seq: 10, peerId: PEER.peerId, dbid: 8n, body: b });
  strictEqual(handler.calls.length, 2);
  strictEqual(session.stats.cached, 1);
});

Deno.test("session: fresh-answer requests and error replies are never cached", async () => {
  const handler = new FakeHandler();
  const session = new FrameSession(handler, { transport: "test" });
  const heartbeat = encodeMessage({ type: "get_heartbeat" });
  const random = encodeMessage({ type: "get_secure_random_bytes" });
  for (const b of [heartbeat, heartbeat, random, random, body(THROW_TYPE), body(THROW_TYPE)]) {
    await session.process({ seq: 0, peerId: PEER.peerId, dbid: 0n, body: b });
  }
  strictEqual(handler.calls.length, 6);
  strictEqual(session.cache.size, 0);
  ok(UNCACHED_TYPES.has(2008) && UNCACHED_TYPES.has(1036) && ERROR_REPLY_TYPES.has(3000));
});

Deno.test("reply cache: least recently used entries go first", () => {
  const cache = new ReplyCache({ capacity: 2 });
  const ctx = { peerId: new Uint8Array(33), dbid: 0n };
  cache.set(ctx, body(19, 1), body(119, 1));
  cache.set(ctx, body(19, 2), body(119, 2));
  deepStrictEqual(cache.get(ctx, body(19, 1)), body(119, 1)); // 1 is now the newest
  cache.set(ctx, body(19, 3), body(119, 3));
  strictEqual(cache.size, 2);
  strictEqual(cache.get(ctx, body(19, 2)), undefined);
  deepStrictEqual(cache.get(ctx, body(19, 3)), body(119, 3));
  strictEqual(cache.hits, 2);
  // Error replies are not kept.
  cache.set(ctx, body(19, 4), body(3000, 0, 1, 0));
  strictEqual(cache.get(ctx, body(19, 4)), undefined);
});
