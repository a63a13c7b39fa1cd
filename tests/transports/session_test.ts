import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { concat, toHex, u16be, utf8 } from "../../core/bytes.ts";
import { publicKey, SecretBytes } from "../../core/crypto/mod.ts";
import { decodeReply, encodeMessage, encodeReply } from "../../core/protocol/codec.ts";
import { signerErrorOf } from "../../core/protocol/errors.ts";
import type { SerialReply } from "../../core/protocol/framing.ts";
import { initRequest } from "../../core/protocol/init.ts";
import { MemoryLogger } from "../../transports/log.ts";
import { StdioSerialTransport } from "../../transports/serial.ts";
import {
  DEFAULT_CACHE_BYTES,
  DEFAULT_IDLE_MS,
  ERROR_REPLY_TYPES,
  FrameSession,
  INIT_TYPES,
  INTERNAL_ERROR_CODE,
  ReplyCache,
  UNCACHED_TYPES,
} from "../../transports/session.ts";
import type { ByteChannel, FrameHandler, RequestContext } from "../../transports/types.ts";
import { ClnDriver, ZERO_ROOT } from "../core/protocol/_cln_driver.ts";
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

// ---------------------------------------------------------------------------------------------
// A corrupted length on the serial line

/**
 * The node's side of a lock-step serial line: it sends one frame, then waits for a reply to it,
 * for at most `timeoutMs`; then it sends the next frame of its script (after a timeout: the same
 * request again, as a node re-sending). After the script, the line ends.
 */
class LockStepNode implements ByteChannel {
  readonly #script: Uint8Array[];
  readonly #timeoutMs: number;
  #sent = 0;
  #answered = false;
  #replies: SerialReply[] = [];
  #written: Uint8Array = new Uint8Array(0);
  #wake: (() => void) | undefined;
  /** Reads that ended on the node's timeout (no reply came). */
  timeouts = 0;

  constructor(script: Uint8Array[], options: { timeoutMs: number }) {
    this.#script = [...script];
    this.#timeoutMs = options.timeoutMs;
  }

  /** The reply frames received, in order. */
  get replies(): SerialReply[] {
    return this.#replies;
  }

  async read(p: Uint8Array): Promise<number | null> {
    if (this.#sent > 0 && !this.#answered) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const answered = await new Promise<boolean>((resolve) => {
        this.#wake = () => resolve(true);
        timer = setTimeout(() => resolve(false), this.#timeoutMs);
      });
      clearTimeout(timer);
      this.#wake = undefined;
      if (!answered) this.timeouts++;
    }
    const next = this.#script.shift();
    if (next === undefined) return null;
    this.#sent++;
    this.#answered = false;
    p.set(next);
    return next.length;
  }

  write(p: Uint8Array): Promise<number> {
    this.#written = concat(this.#written, p);
    // Complete reply frames (5AA5 | seq | len | body) count as answers.
    while (this.#written.length >= 8) {
      const len = new DataView(this.#written.buffer, this.#written.byteOffset).getUint32(4);
      if (this.#written.length < 8 + len) break;
      this.#replies.push({
        seq: (this.#written[2] << 8) | this.#written[3],
        body: this.#written.slice(8, 8 + len),
      });
      this.#written = this.#written.slice(8 + len);
      this.#answered = true;
      this.#wake?.();
    }
    return Promise.resolve(p.length);
  }
}

/** Request frame `seq` of `b` with its u32 length replaced by `len` (a bit flip on the line). */
function corrupted(seq: number, b: Uint8Array, len: number): Uint8Array {
  const f = frame(seq, b);
  new DataView(f.buffer).setUint32(45, len);
  return f;
}

const SERIAL_BODIES = [body(19, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), body(18, 2), body(18, 3)];

Deno.test("session: serial, a corrupted length (13 read as 65549) recovers on the idle signal", async () => {
  const handler = new FakeHandler();
  const logger = new MemoryLogger();
  const session = new FrameSession(handler, { transport: "serial", logger });
  const [a, b, c] = SERIAL_BODIES;
  strictEqual(a.length, 13);
  const bad = corrupted(1, a, 65549);
  // The corrupted request, then the node's re-send after its timeout, then the next requests.
  const node = new LockStepNode([bad, frame(1, a), frame(2, b), frame(3, c)], { timeoutMs: 200 });
  strictEqual(await session.serve(node, { resync: true, idleMs: 10 }), "eof");
  deepStrictEqual(node.replies, [
    { seq: 1, body: fakeReply(a) },
    { seq: 2, body: fakeReply(b) },
    { seq: 3, body: fakeReply(c) },
  ]);
  ok(node.timeouts >= 1, "the corrupted request was never answered");
  deepStrictEqual(handler.calls.map((x) => toHex(x.body)), [a, b, c].map(toHex));
  deepStrictEqual(logger.named("frame.resync").map((e) => e.fields), [
    { transport: "serial", skipped: bad.length, idle: true },
  ]);
  deepStrictEqual(logger.named("frame.truncated"), []);
});

Deno.test("session: the serial transport gives the idle signal by default (DEFAULT_IDLE_MS)", async () => {
  strictEqual(DEFAULT_IDLE_MS, 500);
  const handler = new FakeHandler();
  const logger = new MemoryLogger();
  const session = new FrameSession(handler, { transport: "serial", logger });
  const [a, b] = SERIAL_BODIES;
  // The node's timeout is longer than the idle delay, as a real node's (seconds) is.
  const node = new LockStepNode([corrupted(1, a, 65549), frame(1, a), frame(2, b)], {
    timeoutMs: 2 * DEFAULT_IDLE_MS,
  });
  const transport = new StdioSerialTransport({ session, logger, channel: node });
  await transport.run();
  deepStrictEqual(node.replies.map((r) => r.seq), [1, 2]);
  strictEqual(logger.named("frame.resync")[0].fields.idle, true);
  deepStrictEqual(logger.named("connection.closed").map((e) => e.fields.reason), ["eof"]);
});

// ---------------------------------------------------------------------------------------------
// Writes that accept nothing

Deno.test("session: a write that accepts 0 bytes is a connection error, not an endless loop", async () => {
  const logger = new MemoryLogger();
  const session = new FrameSession(new FakeHandler(), { transport: "test", logger });
  let writes = 0;
  const chunks = [frame(1, body(18, 0))];
  const channel: ByteChannel = {
    read: (p) => {
      const next = chunks.shift();
      if (next === undefined) return Promise.resolve(null);
      p.set(next);
      return Promise.resolve(next.length);
    },
    write: () => {
      // Before the fix the session called write forever; stop it so the test fails, not hangs.
      if (++writes > 1) throw new RangeError("write called again after it returned 0");
      return Promise.resolve(0);
    },
  };
  strictEqual(await session.serve(channel), "error");
  strictEqual(writes, 1);
  deepStrictEqual(logger.named("connection.write_error").map((e) => e.fields), [
    { transport: "test", error: "TransportError", message: "write accepted 0 bytes of 11" },
  ]);
});

// ---------------------------------------------------------------------------------------------
// The retry cache against the real dispatcher

/** The driver's dispatcher as a frame handler, counting calls. */
function counted(d: ClnDriver): FrameHandler & { calls: number } {
  const h = {
    calls: 0,
    handle(ctx: RequestContext, b: Uint8Array) {
      h.calls++;
      return d.dispatcher.handle(ctx, b);
    },
  };
  return h;
}

function initBody(min: number, max: number): Uint8Array {
  return encodeMessage(initRequest("regtest", { minVersion: min, maxVersion: max }));
}

async function reply(session: FrameSession, ctx: RequestContext, b: Uint8Array) {
  const r = await session.respond(ctx, b);
  if (r.body === null) throw new Error("no reply");
  return { ...r, decoded: decodeReply(r.body) };
}

Deno.test("retry cache: init is never cached, and a different init clears the cache", async () => {
  const d = await ClnDriver.create();
  const handler = counted(d);
  const logger = new MemoryLogger();
  const session = new FrameSession(handler, { transport: "test", logger });
  const version = async (min: number, max: number) => {
    const r = await reply(session, ZERO_ROOT, initBody(min, max));
    strictEqual(r.cached, false);
    return (r.decoded as { hsm_version: number }).hsm_version;
  };
  // The review's sequence: before the fix the third init came from the cache (version 6) while
  // the dispatcher kept running version 4.
  deepStrictEqual([await version(5, 6), await version(2, 4), await version(5, 6)], [6, 4, 6]);
  strictEqual(d.dispatcher.version, 6);
  strictEqual(handler.calls, 3);
  // A signed message is cached; VLS's replayed init (6..6, the same reply) keeps it...
  const sign = encodeMessage({ type: "sign_message", msg: utf8("hello") });
  const signed = await reply(session, ZERO_ROOT, sign);
  strictEqual((await reply(session, ZERO_ROOT, sign)).cached, true);
  strictEqual(await version(6, 6), 6);
  strictEqual((await reply(session, ZERO_ROOT, sign)).cached, true);
  strictEqual(session.cache.size, 1);
  // ...another version clears it: the request runs again.
  strictEqual(await version(4, 4), 4);
  strictEqual(session.cache.size, 0);
  const again = await reply(session, ZERO_ROOT, sign);
  strictEqual(again.cached, false);
  deepStrictEqual(again.body, signed.body);
  strictEqual(handler.calls, 7);
  deepStrictEqual(logger.named("cache.cleared").map((e) => e.fields), [
    { type: 11, name: "init" },
    { type: 11, name: "init" },
    { type: 11, name: "init" },
    { type: 11, name: "init" },
  ]);
  for (const t of [11, 1011, 99, 90, 30, 34]) ok(UNCACHED_TYPES.has(t), `type ${t}`);
  deepStrictEqual([...INIT_TYPES], [11, 1011, 99, 90]);
});

Deno.test("retry cache: new_channel after forget_channel gets the dispatcher's refusal, not a cached reply", async () => {
  const d = await ClnDriver.create();
  const session = new FrameSession(counted(d), { transport: "test" });
  await reply(session, ZERO_ROOT, initBody(5, 6));
  const peer = publicKey(new Uint8Array(32).fill(9));
  const open = encodeMessage({ type: "new_channel", id: peer, dbid: 7n });
  const forget = encodeMessage({ type: "forget_channel", id: peer, dbid: 7n });
  strictEqual((await reply(session, ZERO_ROOT, open)).decoded.type, "new_channel_reply");
  strictEqual((await reply(session, ZERO_ROOT, forget)).decoded.type, "forget_channel_reply");
  const reopened = await session.respond(ZERO_ROOT, open);
  strictEqual(reopened.cached, false);
  const error = signerErrorOf(reopened.body ?? new Uint8Array());
  strictEqual(error?.code, 403);
  ok(
    /policy-channel-original-channel-id-reuse/.test(error?.message ?? ""),
    error?.message,
  );
  strictEqual(session.cache.size, 0);
});

Deno.test("retry cache: secret-bearing replies are not kept; their retries get the same bytes from the dispatcher", async () => {
  for (const v of [4, 6]) {
    const d = await ClnDriver.create();
    await d.init({ min: v, max: v });
    // Record what the driver sends, to re-send it through a session as a node would.
    const sent: { ctx: RequestContext; body: Uint8Array; reply: Uint8Array }[] = [];
    const handle = d.dispatcher.handle.bind(d.dispatcher);
    d.dispatcher.handle = async (ctx, b) => {
      const r = await handle(ctx, b);
      if (r !== null) sent.push({ ctx: ctx ?? ZERO_ROOT, body: b.slice(), reply: r.slice() });
      return r;
    };
    await d.open();
    await d.pay("us", 1, { amountMsat: 100_000_000n, hash: new Uint8Array(32).fill(1), cltv: 140 });
    await d.send({ type: "ecdh_req", point: publicKey(new Uint8Array(32).fill(5)) }, ZERO_ROOT);
    await d.send({ type: "derive_secret", info: utf8("info") }, ZERO_ROOT);
    const session = new FrameSession(counted(d), { transport: "test" });
    const secretTypes = v >= 5 ? [100, 127, 135, 140] : [100, 127, 135];
    for (const type of secretTypes) {
      const last = sent.findLast((x) => ((x.reply[0] << 8) | x.reply[1]) === type);
      if (last === undefined) throw new Error(`no reply of type ${type} (v${v})`);
      for (let i = 0; i < 2; i++) {
        const r = await session.respond(last.ctx, last.body);
        strictEqual(r.cached, false);
        deepStrictEqual(toHex(r.body ?? new Uint8Array()), toHex(last.reply), `type ${type}`);
      }
    }
    strictEqual(session.cache.size, 0);
    strictEqual(session.stats.cached, 0);
    if (v === 4) {
      // Below version 5, validate_commitment_tx(1) released secret 0: the retry releases it again.
      const validate = sent.findLast((x) => ((x.reply[0] << 8) | x.reply[1]) === 135);
      const decoded = decodeReply(validate?.reply ?? new Uint8Array());
      ok(decoded.type === "validate_commitment_tx_reply" && decoded.old_commitment_secret !== null);
    }
  }
});

Deno.test("reply cache: no secret-bearing reply is kept, and the bytes held are capped (8 MiB)", () => {
  const ctx = { peerId: new Uint8Array(33), dbid: 0n };
  const cache = new ReplyCache();
  const secret = new SecretBytes(new Uint8Array(32).fill(7));
  const point = publicKey(new Uint8Array(32).fill(3));
  const secretReplies = [
    encodeReply({ type: "ecdh_resp", ss: secret }),
    encodeReply({ type: "derive_secret_reply", secret }),
    encodeReply({
      type: "revoke_commitment_tx_reply",
      old_commitment_secret: secret,
      next_per_commitment_point: point,
    }),
    encodeReply({
      type: "validate_commitment_tx_reply",
      old_commitment_secret: secret,
      next_per_commitment_point: point,
    }),
    encodeReply({
      type: "get_per_commitment_point_reply",
      per_commitment_point: point,
      old_commitment_secret: secret,
    }),
  ];
  secretReplies.forEach((r, i) => cache.set(ctx, body(19, i), r));
  strictEqual(cache.size, 0);
  deepStrictEqual(secretReplies.map((r) => ReplyCache.keepable(r)), [
    false,
    false,
    false,
    false,
    false,
  ]);
  strictEqual(ReplyCache.keepable(body(105, 1)), true);
  // The byte cap: 100 replies of 128 KiB, 64 fit in 8 MiB; the oldest went first.
  strictEqual(DEFAULT_CACHE_BYTES, 8 * 1024 * 1024);
  const big = (i: number) => concat(u16be(105), new Uint8Array(131070).fill(i));
  for (let i = 0; i < 100; i++) cache.set(ctx, body(19, i), big(i));
  deepStrictEqual([cache.size, cache.bytes], [64, 64 * 131072]);
  strictEqual(cache.get(ctx, body(19, 35)), undefined);
  deepStrictEqual(cache.get(ctx, body(19, 36)), big(36));
  // A small cap, and a reply larger than the cap is not kept at all.
  const small = new ReplyCache({ maxBytes: 10 });
  small.set(ctx, body(19, 1), body(119, 1, 2, 3, 4));
  small.set(ctx, body(19, 2), body(119, 1, 2, 3));
  deepStrictEqual([small.size, small.bytes], [1, 5]);
  small.set(ctx, body(19, 3), body(119, ...new Uint8Array(9)));
  deepStrictEqual([small.size, small.bytes], [1, 5]);
  deepStrictEqual(small.get(ctx, body(19, 2)), body(119, 1, 2, 3));
  // Replacing an entry keeps the count right.
  small.set(ctx, body(19, 2), body(119, 1));
  deepStrictEqual([small.size, small.bytes], [1, 3]);
  throws(() => new ReplyCache({ maxBytes: -1 }), /maxBytes must be a non-negative integer/);
});
