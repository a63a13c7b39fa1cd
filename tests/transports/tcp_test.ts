import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { concat } from "../../core/bytes.ts";
import { MemoryLogger } from "../../transports/log.ts";
import { FrameSession } from "../../transports/session.ts";
import { TcpTransport } from "../../transports/tcp.ts";
import { body, FakeHandler, fakeReply, frame, readReplies, waitFor, writeAll } from "./_helpers.ts";

const FAST = { initialMs: 5, maxMs: 40 };
const PEER = { peerId: new Uint8Array(33).fill(3), dbid: 2n };

function setup() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handler = new FakeHandler();
  const logger = new MemoryLogger();
  const session = new FrameSession(handler, { transport: "tcp", logger });
  const transport = new TcpTransport(
    { hostname: "127.0.0.1", port: listener.addr.port },
    { session, logger, backoff: FAST },
  );
  return { listener, handler, logger, session, transport };
}

Deno.test("tcp: the signer dials the node, answers pipelined requests in order", async () => {
  const { listener, handler, logger, transport } = setup();
  try {
    transport.run();
    const conn = await listener.accept();
    const a = body(19, 1);
    const b = body(30, 2);
    const c = body(10, 3);
    await writeAll(conn, concat(frame(0, a), frame(1, b, PEER), frame(2, c, PEER)));
    deepStrictEqual(await readReplies(conn, 3), [
      { seq: 0, body: fakeReply(a) },
      { seq: 1, body: fakeReply(b) },
      { seq: 2, body: fakeReply(c) },
    ]);
    strictEqual(handler.calls.length, 3);
    strictEqual(handler.calls[1].ctx.dbid, 2n);
    conn.close();
    await waitFor(() => logger.named("connection.closed").length === 1, { what: "close" });
    strictEqual(logger.named("connection.closed")[0].fields.requests, 3);
  } finally {
    await transport.stop();
    listener.close();
  }
});

Deno.test("tcp: after a dropped connection the signer reconnects; a re-sent request comes from the cache", async () => {
  const { listener, handler, logger, session, transport } = setup();
  try {
    transport.run();
    const first = await listener.accept();
    const signed = body(19, 7, 7, 7);
    await writeAll(first, frame(41, signed, PEER));
    const [reply] = (await readReplies(first, 1)) ?? [];
    deepStrictEqual(reply, { seq: 41, body: fakeReply(signed) });
    // The node sends half of the next request, then the connection dies.
    const next = frame(42, body(19, 8), PEER);
    await writeAll(first, next.subarray(0, 20));
    first.close();

    const second = await listener.accept(); // the signer dialled again (after a backoff)
    await waitFor(() => transport.connections === 2, { what: "second connection" });
    // The node re-sends everything unanswered as it sees it: 41 (its reply was lost) and 42.
    await writeAll(second, concat(frame(41, signed, PEER), next));
    const again = await readReplies(second, 2);
    ok(again !== null);
    deepStrictEqual(again[0], { seq: 41, body: fakeReply(signed) }); // the same bytes
    deepStrictEqual(again[1], { seq: 42, body: fakeReply(body(19, 8)) });
    // The signed request was not handled twice.
    strictEqual(handler.calls.length, 2);
    strictEqual(session.stats.cached, 1);
    strictEqual(logger.named("request.cached").length, 1);
    ok(logger.named("frame.truncated").length === 1, "the half frame is logged");
    const retry = logger.named("connection.retry")[0];
    strictEqual(retry.fields.attempt, 1);
    ok(Number(retry.fields.delay_ms) <= FAST.initialMs);
    second.close();
  } finally {
    await transport.stop();
    listener.close();
  }
});

Deno.test("tcp: bad magic closes the connection with a logged error; the signer dials again", async () => {
  const { listener, handler, logger, transport } = setup();
  try {
    transport.run();
    const first = await listener.accept();
    await writeAll(first, new Uint8Array([0x12, 0x34, 0, 0, 0, 0]));
    strictEqual(await readReplies(first, 1), null); // closed by the signer
    first.close();
    const second = await listener.accept();
    await writeAll(second, frame(9, body(18, 1)));
    deepStrictEqual(await readReplies(second, 1), [{ seq: 9, body: fakeReply(body(18, 1)) }]);
    strictEqual(handler.calls.length, 1);
    const [malformed] = logger.named("frame.malformed");
    strictEqual(malformed.level, "error");
    strictEqual(logger.named("connection.closed")[0].fields.reason, "framing");
    second.close();
  } finally {
    await transport.stop();
    listener.close();
  }
});

Deno.test("tcp: while the node is down the delays grow up to the cap; it connects once the node listens", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close(); // nothing listens on `port` now
  const logger = new MemoryLogger();
  const session = new FrameSession(new FakeHandler(), { transport: "tcp", logger });
  const transport = new TcpTransport({ hostname: "127.0.0.1", port }, {
    session,
    logger,
    backoff: { initialMs: 1, maxMs: 8, random: () => 0 },
  });
  let listener: Deno.TcpListener | undefined;
  try {
    transport.run();
    await waitFor(() => logger.named("connection.retry").length >= 6, { what: "retries" });
    const delays = logger.named("connection.retry").slice(0, 6).map((e) => e.fields.delay_ms);
    deepStrictEqual(delays, [1, 2, 4, 8, 8, 8]);
    strictEqual(logger.named("connection.failed")[0].fields.error, "ConnectionRefused");
    listener = Deno.listen({ hostname: "127.0.0.1", port });
    const conn = await listener.accept();
    await writeAll(conn, frame(1, body(18, 0)));
    deepStrictEqual(await readReplies(conn, 1), [{ seq: 1, body: fakeReply(body(18, 0)) }]);
    conn.close();
  } finally {
    await transport.stop();
    listener?.close();
  }
});
