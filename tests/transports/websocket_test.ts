import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { concat } from "../../core/bytes.ts";
import { MemoryLogger } from "../../transports/log.ts";
import { FrameSession } from "../../transports/session.ts";
import type { FrameHandler, RequestContext } from "../../transports/types.ts";
import {
  CLOSE_PROTOCOL_ERROR,
  CLOSE_TOO_MANY_PENDING,
  decodeRequestMessage,
  MAX_PENDING_FRAMES,
  WebSocketTransport,
} from "../../transports/websocket.ts";
import { body, FakeHandler, fakeReply, frame, replies, waitFor } from "./_helpers.ts";

const PEER = { peerId: new Uint8Array(33).fill(4), dbid: 5n };

/** The node side of one WebSocket: received messages, in order. */
class NodeSocket {
  readonly messages: Uint8Array[] = [];
  closed: { code: number } | undefined;
  constructor(readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (ev) => {
      if (ev.data instanceof ArrayBuffer) this.messages.push(new Uint8Array(ev.data));
    });
    ws.addEventListener("close", (ev) => (this.closed = { code: ev.code }));
  }
  async replies(count: number) {
    await waitFor(() => this.messages.length >= count, { what: `${count} replies` });
    return this.messages.splice(0, count).map((m) => replies(m)[0]);
  }
}

/** A WebSocket server on 127.0.0.1 (path /signer) handing each connection to the test. */
function node() {
  const sockets: NodeSocket[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (new URL(req.url).pathname !== "/signer") return new Response("not here", { status: 404 });
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.addEventListener("open", () => sockets.push(new NodeSocket(socket)));
    return response;
  });
  return {
    sockets,
    url: `ws://127.0.0.1:${server.addr.port}/signer`,
    async next(i: number) {
      await waitFor(() => sockets.length > i, { what: `connection ${i + 1}` });
      return sockets[i];
    },
    close: () => server.shutdown(),
  };
}

function setup(url: string) {
  const handler = new FakeHandler();
  const logger = new MemoryLogger();
  const session = new FrameSession(handler, { transport: "websocket", logger });
  const transport = new WebSocketTransport(url, {
    session,
    logger,
    backoff: { initialMs: 5, maxMs: 40 },
  });
  return { handler, logger, session, transport };
}

Deno.test("websocket: one frame per binary message, pipelined requests answered in order", async () => {
  const n = node();
  const { handler, transport } = setup(n.url);
  try {
    transport.run();
    const s = await n.next(0);
    const bodies = [body(19, 1), body(30, 2), body(10, 3)];
    for (const [i, b] of bodies.entries()) s.ws.send(frame(i + 10, b, PEER));
    deepStrictEqual(
      await s.replies(3),
      bodies.map((b, i) => ({ seq: i + 10, body: fakeReply(b) })),
    );
    strictEqual(handler.maxConcurrent, 1);
    strictEqual(handler.calls[0].ctx.dbid, 5n);
  } finally {
    await transport.stop();
    await n.close();
  }
});

Deno.test("websocket: the signer reconnects after the node closes; a re-sent request comes from the cache", async () => {
  const n = node();
  const { handler, session, transport, logger } = setup(n.url);
  try {
    transport.run();
    const first = await n.next(0);
    const signed = body(19, 9, 9);
    first.ws.send(frame(1, signed, PEER));
    deepStrictEqual(await first.replies(1), [{ seq: 1, body: fakeReply(signed) }]);
    first.ws.close();
    const second = await n.next(1);
    second.ws.send(frame(1, signed, PEER));
    second.ws.send(frame(2, body(19, 10), PEER));
    deepStrictEqual(await second.replies(2), [
      { seq: 1, body: fakeReply(signed) },
      { seq: 2, body: fakeReply(body(19, 10)) },
    ]);
    strictEqual(handler.calls.length, 2);
    strictEqual(session.stats.cached, 1);
    ok(logger.named("connection.retry").length >= 1);
  } finally {
    await transport.stop();
    await n.close();
  }
});

Deno.test("websocket: a text message or a message that is not one frame closes the connection (code 4002)", async () => {
  const n = node();
  const { handler, logger, transport } = setup(n.url);
  try {
    transport.run();
    const first = await n.next(0);
    first.ws.send("hello");
    await waitFor(() => first.closed !== undefined, { what: "close" });
    strictEqual(first.closed?.code, CLOSE_PROTOCOL_ERROR);
    const second = await n.next(1);
    second.ws.send(concat(frame(1, body(18, 1)), frame(2, body(18, 2)))); // two frames
    await waitFor(() => second.closed !== undefined, { what: "close" });
    strictEqual(second.closed?.code, CLOSE_PROTOCOL_ERROR);
    const third = await n.next(2);
    third.ws.send(frame(3, body(18, 3)));
    deepStrictEqual(await third.replies(1), [{ seq: 3, body: fakeReply(body(18, 3)) }]);
    strictEqual(handler.calls.length, 1);
    deepStrictEqual(
      logger.named("frame.malformed").map((e) => e.fields.message),
      ["text message (frames are binary)", "a message must hold one request frame, not 2"],
    );
  } finally {
    await transport.stop();
    await n.close();
  }
});

Deno.test("websocket: decodeRequestMessage takes exactly one complete frame", () => {
  const f = frame(7, body(18, 1), PEER);
  deepStrictEqual(decodeRequestMessage(f), {
    seq: 7,
    peerId: PEER.peerId,
    dbid: 5n,
    body: body(18, 1),
  });
  throws(() => decodeRequestMessage(f.subarray(0, f.length - 1)), /stream ended inside a frame/);
  throws(() => decodeRequestMessage(new Uint8Array([1, 2, 3])), /bad magic/);
});

/** A handler whose calls wait until {@link GateHandler.open} (then answer as FakeHandler). */
class GateHandler implements FrameHandler {
  readonly inner = new FakeHandler();
  #open!: () => void;
  readonly #gate = new Promise<void>((resolve) => (this.#open = resolve));
  /** Calls started so far. */
  started = 0;
  async handle(ctx: RequestContext, b: Uint8Array): Promise<Uint8Array | null> {
    this.started++;
    await this.#gate;
    return this.inner.handle(ctx, b);
  }
  open(): void {
    this.#open();
  }
}

Deno.test("websocket: more than 256 pending frames close the connection (code 4003); the waiting ones are dropped", async () => {
  const n = node();
  const handler = new GateHandler();
  const logger = new MemoryLogger();
  const session = new FrameSession(handler, { transport: "websocket", logger });
  const transport = new WebSocketTransport(n.url, {
    session,
    logger,
    backoff: { initialMs: 5, maxMs: 40 },
  });
  try {
    strictEqual(MAX_PENDING_FRAMES, 256);
    transport.run();
    const first = await n.next(0);
    // The first request blocks the handler; 255 more wait behind it: the limit, still served.
    for (let i = 0; i < MAX_PENDING_FRAMES; i++) {
      first.ws.send(frame(i, body(19, i & 0xff, i >> 8)));
    }
    // One more is one too many.
    first.ws.send(frame(999, body(19, 0xff, 0xff)));
    await waitFor(() => first.closed !== undefined, { what: "close" });
    strictEqual(first.closed?.code, CLOSE_TOO_MANY_PENDING);
    deepStrictEqual(logger.named("connection.overload").map((e) => [e.level, e.fields]), [
      ["error", { transport: "websocket", pending: 256, limit: 256, action: "close" }],
    ]);
    handler.open();
    await waitFor(() => logger.named("connection.closed").length === 1, { what: "closed log" });
    deepStrictEqual(logger.named("connection.closed")[0].fields.reason, "overload");
    // Only the request that was running was answered; the 255 waiting were dropped unanswered.
    strictEqual(handler.inner.calls.length, 1);
    deepStrictEqual(first.messages, []);
    // The signer reconnects and serves normally.
    const second = await n.next(1);
    second.ws.send(frame(1, body(19, 1, 0)));
    deepStrictEqual(await second.replies(1), [{ seq: 1, body: fakeReply(body(19, 1, 0)) }]);
    strictEqual(handler.started, 2);
  } finally {
    handler.open(); // never leave a request blocked (stop waits for it)
    await transport.stop();
    await n.close();
  }
});

Deno.test("websocket: maxPending must be a positive integer", () => {
  const session = new FrameSession(new FakeHandler(), { transport: "websocket" });
  throws(
    () => new WebSocketTransport("ws://127.0.0.1:1/", { session, maxPending: 0 }),
    /maxPending must be a positive integer/,
  );
});
