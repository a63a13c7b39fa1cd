/**
 * The node's end of the signer link (transports/ldk/node_link.ts), driven by fake signers written
 * here: in-memory connections attached with {@link NodeLink.attach} (exact frames written, in
 * order, synchronously), a TCP client and a WebSocket client dialing the link on loopback, and the
 * far end of a socat pty pair for the serial link. Every fake signer decodes request frames and
 * encodes reply frames with core/protocol/framing.ts; no signer process runs.
 */
import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { concat, equal } from "../../../core/bytes.ts";
import {
  encodeSerialReply,
  encodeSerialRequest,
  ROOT_PEER_ID,
  type SerialRequest,
  serialRequestDecoder,
} from "../../../core/protocol/framing.ts";
import { SIGNER_ERROR, signerError } from "../../../core/protocol/errors.ts";
import { MAX_BODY_SIZE, ProtocolError } from "../../../core/protocol/types.ts";
import { MemoryLogger } from "../../../transports/log.ts";
import {
  decodeReplyMessage,
  LINK_CLOSE_BAD_FRAME,
  type LinkConnection,
  MAX_EXPIRED_SEQS,
  MAX_NOT_INITIALIZED_REPLIES,
  NodeLink,
  NodeLinkError,
  type NodeLinkHandshake,
  SERIAL_REQUEST_TIMEOUT_MS,
  SerialNodeLink,
  streamConnection,
  TcpNodeLink,
  WebSocketNodeLink,
} from "../../../transports/ldk/node_link.ts";
import { body, fakeReply, frame, waitFor, writeAll } from "../_helpers.ts";
import { PtyPair } from "../_socat.ts";

// ---- fixtures -------------------------------------------------------------------------------

const PEER = { peerId: new Uint8Array(33).fill(2), dbid: 7n };
const A = body(20, 0xa1);
const B = body(21, 0xb2, 0xb3);
const C = body(22, 0xc4);
const D = body(23, 0xd5);
/** The handshake request (an `init` stand-in) and the reply its check accepts. */
const HS = body(11, 0x01, 0x02);
const HS_OK = body(111, 0x01, 0x02);
/** `signer_error` 412: the signer lost its init. */
const NOT_INIT = signerError(SIGNER_ERROR.NOT_INITIALIZED, "not initialized: init first");

function handshake(): NodeLinkHandshake {
  return {
    body: HS,
    check(reply: Uint8Array): void {
      if (!equal(reply, HS_OK)) throw new Error("not the init reply expected");
    },
  };
}

/** A request frame as the signer decodes it: root context unless `ctx`. */
function req(
  seq: number,
  b: Uint8Array,
  ctx: { peerId: Uint8Array; dbid: bigint } = { peerId: ROOT_PEER_ID, dbid: 0n },
): SerialRequest {
  return { seq, peerId: ctx.peerId, dbid: ctx.dbid, body: b };
}

function decodeOne(frame: Uint8Array): SerialRequest {
  const decoder = serialRequestDecoder();
  const frames = decoder.push(frame);
  decoder.end();
  strictEqual(frames.length, 1, "one request frame per write");
  return frames[0];
}

/** Whether a promise has settled yet (without waiting for it). */
async function state(p: Promise<unknown>): Promise<"pending" | "fulfilled" | "rejected"> {
  const marker = {};
  try {
    return (await Promise.race([p, Promise.resolve(marker)])) === marker ? "pending" : "fulfilled";
  } catch {
    return "rejected";
  }
}

/** A NodeLinkError with exactly this code and message. */
function linkError(code: string, message: string): (e: unknown) => boolean {
  return (e: unknown) => {
    ok(e instanceof NodeLinkError, String(e));
    strictEqual(e.name, "NodeLinkError");
    strictEqual(e.code, code);
    strictEqual(e.message, message);
    return true;
  };
}

const CLOSED = linkError("closed", "the link is closed");

/** A connection that decodes every frame written to it, synchronously. */
class MemoryConn implements LinkConnection {
  /** Every request frame written, decoded, in order. */
  readonly sent: SerialRequest[] = [];
  /** Calls of close(). */
  closes = 0;
  /** Make writes fail. */
  fail = false;
  /** Called after each frame is recorded. */
  onSend: (() => void) | undefined;

  send(frame: Uint8Array): Promise<void> {
    if (this.fail) return Promise.reject(new Error("broken pipe"));
    this.sent.push(decodeOne(frame));
    this.onSend?.();
    return Promise.resolve();
  }

  /** Resolves once `count` frames have been written. */
  sentCount(count: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.sent.length >= count) return resolve();
      this.onSend = () => {
        if (this.sent.length >= count) {
          this.onSend = undefined;
          resolve();
        }
      };
    });
  }

  close(): void {
    this.closes++;
  }
}

function events(logger: MemoryLogger, name: string) {
  return logger.named(name).map((e) => ({ level: e.level, fields: e.fields }));
}

// ---- fake signers over sockets -------------------------------------------------------------

/** A signer's TCP connection to a {@link TcpNodeLink}: reads request frames, writes replies. */
class TcpSigner {
  readonly #conn: Deno.TcpConn;
  readonly #decoder = serialRequestDecoder();
  readonly #frames: SerialRequest[] = [];
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Dials the link (loopback). */
  static async dial(
    link: TcpNodeLink,
    all: TcpSigner[],
    hostname = "127.0.0.1",
  ): Promise<TcpSigner> {
    const s = new TcpSigner(await Deno.connect({ hostname, port: link.port }));
    all.push(s);
    return s;
  }

  async #fill(): Promise<boolean> {
    if (this.#closed) return false;
    const buf = new Uint8Array(4096);
    const guard = setTimeout(() => this.close(), 10_000); // never hang a test
    let n: number | null;
    try {
      n = await this.#conn.read(buf);
    } catch {
      n = null; // reset by the link
    } finally {
      clearTimeout(guard);
    }
    if (n === null) return false;
    this.#frames.push(...this.#decoder.push(buf.subarray(0, n)));
    return true;
  }

  /** The next `n` request frames; fails if the connection ends first. */
  async take(n: number): Promise<SerialRequest[]> {
    while (this.#frames.length < n) {
      if (!(await this.#fill())) {
        throw new Error(`the connection ended after ${this.#frames.length} of ${n} frames`);
      }
    }
    return this.#frames.splice(0, n);
  }

  /** Waits until the link closes the connection; the frames that came before. */
  async eof(): Promise<SerialRequest[]> {
    while (await this.#fill());
    return this.#frames.splice(0);
  }

  /** Writes one reply frame. */
  reply(seq: number, b: Uint8Array): Promise<void> {
    return writeAll(this.#conn, encodeSerialReply({ seq, body: b }));
  }

  /** Writes raw bytes. */
  write(bytes: Uint8Array): Promise<void> {
    return writeAll(this.#conn, bytes);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/** A signer's WebSocket to a {@link WebSocketNodeLink}: one request frame per binary message. */
class WsSigner {
  readonly ws: WebSocket;
  readonly #frames: SerialRequest[] = [];
  #closed = false;
  /** How the socket closed (code and reason). */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (ev) => {
      this.#frames.push(decodeOne(new Uint8Array(ev.data as ArrayBuffer)));
    });
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (ev) => {
        this.#closed = true;
        resolve({ code: ev.code, reason: ev.reason });
      });
    });
  }

  /** Connects and waits for the socket to open. */
  static async dial(url: string, all: WsSigner[]): Promise<WsSigner> {
    const s = new WsSigner(new WebSocket(url));
    all.push(s);
    await new Promise<void>((resolve, reject) => {
      s.ws.addEventListener("open", () => resolve());
      s.ws.addEventListener("error", () => reject(new Error("the WebSocket did not open")));
    });
    return s;
  }

  /** The next `n` request frames; fails if the socket closes first. */
  async take(n: number): Promise<SerialRequest[]> {
    await waitFor(() => this.#frames.length >= n || this.#closed, { what: `${n} frames` });
    if (this.#frames.length < n) throw new Error("the socket closed first");
    return this.#frames.splice(0, n);
  }

  /** Sends one reply frame. */
  reply(seq: number, b: Uint8Array): void {
    this.ws.send(encodeSerialReply({ seq, body: b }));
  }

  /** Closes the socket and waits for it to be closed. */
  async close(): Promise<void> {
    if (!this.#closed) {
      try {
        this.ws.close();
      } catch {
        // closing already
      }
    }
    await this.closed;
  }
}

// ---- NodeLink: the request/reply logic, on in-memory connections ----------------------------

Deno.test("node link: NodeLinkError carries its code; a bad maxInFlight is a RangeError; defaults", async () => {
  const e = new NodeLinkError("busy", "65536 requests are outstanding");
  ok(e instanceof Error);
  deepStrictEqual([e.name, e.code, e.message], [
    "NodeLinkError",
    "busy",
    "65536 requests are outstanding",
  ]);
  for (const maxInFlight of [0, -1, 1.5, Number.NaN]) {
    throws(() => new NodeLink({ maxInFlight }), (err: unknown) => {
      ok(err instanceof RangeError);
      strictEqual(err.message, "maxInFlight must be a positive integer");
      return true;
    });
  }
  strictEqual(new NodeLink({ maxInFlight: Infinity }).name, "link");
  const link = new NodeLink({ maxInFlight: 1, name: "mine" });
  deepStrictEqual(
    [link.name, link.pending, link.inFlight, link.ready, link.isClosed, link.handshake],
    ["mine", 0, 0, false, false, undefined],
  );
  deepStrictEqual(link.stats, {
    requests: 0,
    replies: 0,
    resent: 0,
    connections: 0,
    handshakes: 0,
    unmatched: 0,
  });
  await link.close();
});

Deno.test("node link: requests are framed in call order with their context and matched by seq, out of order too", async () => {
  const logger = new MemoryLogger();
  const link = new NodeLink({ logger });
  const a = link.request(A); // before any connection: queued
  strictEqual(link.pending, 1);
  const conn = new MemoryConn();
  const att = link.attach(conn);
  strictEqual(link.ready, true);
  const b = link.request(B, PEER);
  const c = link.request(C, { peerId: PEER.peerId, dbid: 0xffffffffffffffffn });
  deepStrictEqual(conn.sent, [
    req(0, A),
    req(1, B, PEER),
    req(2, C, { peerId: PEER.peerId, dbid: 0xffffffffffffffffn }),
  ]);
  deepStrictEqual([link.pending, link.inFlight], [3, 3]);
  // The signer may answer in any order: each reply goes to the request with its seq.
  att.receive({ seq: 2, body: fakeReply(C) });
  att.receive({ seq: 0, body: fakeReply(A) });
  strictEqual(await state(b), "pending");
  att.receive({ seq: 1, body: fakeReply(B) });
  deepStrictEqual(await Promise.all([a, b, c]), [fakeReply(A), fakeReply(B), fakeReply(C)]);
  deepStrictEqual([link.pending, link.inFlight], [0, 0]);
  deepStrictEqual(link.stats, {
    requests: 3,
    replies: 3,
    resent: 0,
    connections: 1,
    handshakes: 0,
    unmatched: 0,
  });
  deepStrictEqual(events(logger, "link.connected"), [
    { level: "info", fields: { transport: "link", connection: 1, pending: 1 } },
  ]);
  await link.close();
  strictEqual(conn.closes, 1);
});

Deno.test("node link: maxInFlight bounds the frames written; each reply lets the next one out", async () => {
  const link = new NodeLink({ maxInFlight: 2 });
  const conn = new MemoryConn();
  const att = link.attach(conn);
  const all = [A, B, C, D].map((b) => link.request(b));
  deepStrictEqual(conn.sent.map((f) => f.seq), [0, 1]);
  deepStrictEqual([link.pending, link.inFlight], [4, 2]);
  att.receive({ seq: 1, body: fakeReply(B) });
  deepStrictEqual(conn.sent.map((f) => f.seq), [0, 1, 2]);
  att.receive({ seq: 0, body: fakeReply(A) });
  deepStrictEqual(conn.sent, [req(0, A), req(1, B), req(2, C), req(3, D)]);
  att.receive({ seq: 3, body: fakeReply(D) });
  att.receive({ seq: 2, body: fakeReply(C) });
  deepStrictEqual(await Promise.all(all), [A, B, C, D].map(fakeReply));
  await link.close();
});

Deno.test("node link: the handshake goes first on every new connection and nothing else before its reply passes", async () => {
  const logger = new MemoryLogger();
  const link = new NodeLink({ logger });
  link.handshake = handshake();
  const a = link.request(A); // seq 0, waits
  const ready = link.whenReady();
  const c1 = new MemoryConn();
  const att1 = link.attach(c1);
  deepStrictEqual(c1.sent, [req(1, HS)]); // the handshake takes the next seq, root context
  const b = link.request(B, PEER); // seq 2: still nothing but the handshake is written
  deepStrictEqual(c1.sent, [req(1, HS)]);
  deepStrictEqual([link.ready, link.inFlight, link.pending], [false, 0, 2]);
  strictEqual(await state(ready), "pending");
  // A reply to a request this connection never carried is dropped, even while handshaking.
  att1.receive({ seq: 0, body: fakeReply(A) });
  strictEqual(link.stats.unmatched, 1);
  strictEqual(await state(a), "pending");
  att1.receive({ seq: 1, body: HS_OK });
  await ready;
  deepStrictEqual(c1.sent, [req(1, HS), req(0, A), req(2, B, PEER)]);
  deepStrictEqual([link.ready, link.inFlight], [true, 2]);

  // A new connection replaces this one: its own handshake, then the unanswered requests again.
  const c2 = new MemoryConn();
  const att2 = link.attach(c2);
  strictEqual(c1.closes, 1);
  deepStrictEqual(c2.sent, [req(3, HS)]);
  att2.receive({ seq: 3, body: HS_OK });
  deepStrictEqual(c2.sent, [req(3, HS), req(0, A), req(2, B, PEER)]);
  att2.receive({ seq: 2, body: fakeReply(B) });
  att2.receive({ seq: 0, body: fakeReply(A) });
  deepStrictEqual(await Promise.all([a, b]), [fakeReply(A), fakeReply(B)]);
  deepStrictEqual(link.stats, {
    requests: 2,
    replies: 2,
    resent: 2,
    connections: 2,
    handshakes: 2,
    unmatched: 1,
  });
  deepStrictEqual(events(logger, "link.connected").map((e) => e.fields), [
    { transport: "link", connection: 1, pending: 1 },
    { transport: "link", connection: 2, pending: 2 },
  ]);
  deepStrictEqual(events(logger, "link.disconnected"), [
    {
      level: "info",
      fields: { transport: "link", reason: "replaced", unanswered: 2, pending: 2 },
    },
  ]);
  await link.close();
});

Deno.test("node link: a handshake reply that fails its check closes the connection; requests wait for a good one", async () => {
  const logger = new MemoryLogger();
  const link = new NodeLink({ logger });
  link.handshake = handshake();
  const a = link.request(A); // seq 0
  const ready = link.whenReady();
  const c1 = new MemoryConn();
  const att1 = link.attach(c1); // handshake seq 1
  att1.receive({ seq: 1, body: body(111, 0xee) });
  await rejects(ready, (e: unknown) => {
    ok(e instanceof Error);
    strictEqual(e.message, "not the init reply expected"); // the check's own error
    return true;
  });
  deepStrictEqual([c1.closes, link.ready, link.stats.handshakes], [1, false, 0]);
  deepStrictEqual(c1.sent, [req(1, HS)]);
  deepStrictEqual(events(logger, "link.handshake_failed"), [
    { level: "warn", fields: { transport: "link", message: "not the init reply expected" } },
  ]);
  strictEqual(events(logger, "link.disconnected")[0].fields.reason, "handshake refused");
  strictEqual(await state(a), "pending");

  // A check that throws something other than an Error is refused as a NodeLinkError.
  link.handshake = {
    body: HS,
    check: () => {
      throw "no";
    },
  };
  const refused = link.whenReady();
  const c2 = new MemoryConn();
  link.attach(c2).receive({ seq: 2, body: HS_OK });
  await rejects(refused, linkError("handshake", "handshake refused"));
  strictEqual(c2.closes, 1);

  // A handshake body that cannot be framed is refused the same way.
  link.handshake = { body: new Uint8Array([1]), check: () => {} };
  const unframed = link.whenReady();
  const c3 = new MemoryConn();
  link.attach(c3);
  await rejects(
    unframed,
    linkError("handshake", "serial request: body length 1 is below 2 (no room for the type)"),
  );
  deepStrictEqual([c3.sent, c3.closes], [[], 1]);

  link.handshake = handshake();
  const c4 = new MemoryConn();
  const att4 = link.attach(c4);
  att4.receive({ seq: c4.sent[0].seq, body: HS_OK });
  deepStrictEqual(c4.sent.slice(1), [req(0, A)]);
  att4.receive({ seq: 0, body: fakeReply(A) });
  deepStrictEqual(await a, fakeReply(A));
  deepStrictEqual([link.stats.connections, link.stats.handshakes, link.stats.resent], [4, 1, 0]);
  await link.close();
});

Deno.test("node link: signer_error 412 runs the handshake again, then re-sends every request refused that way", async () => {
  const logger = new MemoryLogger();
  const link = new NodeLink({ logger });
  link.handshake = handshake();
  const conn = new MemoryConn();
  const att = link.attach(conn);
  att.receive({ seq: 0, body: HS_OK });
  const a = link.request(A); // seq 1
  const b = link.request(B, PEER); // seq 2
  deepStrictEqual(conn.sent, [req(0, HS), req(1, A), req(2, B, PEER)]);
  // The signer restarted behind a line that stayed open: it refuses A with 412.
  att.receive({ seq: 1, body: NOT_INIT });
  deepStrictEqual(conn.sent.slice(3), [req(3, HS)]);
  strictEqual(link.ready, false);
  // B is refused the same way while the handshake runs: no second handshake.
  att.receive({ seq: 2, body: NOT_INIT });
  strictEqual(conn.sent.length, 4);
  strictEqual(await state(a), "pending");
  att.receive({ seq: 3, body: HS_OK });
  deepStrictEqual(conn.sent.slice(4), [req(1, A), req(2, B, PEER)]);
  att.receive({ seq: 1, body: fakeReply(A) });
  att.receive({ seq: 2, body: fakeReply(B) });
  deepStrictEqual(await Promise.all([a, b]), [fakeReply(A), fakeReply(B)]);
  deepStrictEqual(link.stats, {
    requests: 2,
    replies: 2,
    resent: 2,
    connections: 1,
    handshakes: 2,
    unmatched: 0,
  });
  deepStrictEqual(events(logger, "link.reinit"), [
    { level: "warn", fields: { transport: "link" } },
  ]);

  // Any other signer_error is the caller's to interpret: it is the reply.
  const refusal = signerError(SIGNER_ERROR.POLICY, "policy: refused by policy-message-text");
  const c = link.request(C); // seq 4
  att.receive({ seq: 4, body: refusal });
  deepStrictEqual(await c, refusal);
  await link.close();

  // Without a handshake there is nothing to run again: 412 is the reply.
  const bare = new NodeLink();
  const bareAtt = bare.attach(new MemoryConn());
  const d = bare.request(D);
  bareAtt.receive({ seq: 0, body: NOT_INIT });
  deepStrictEqual(await d, NOT_INIT);
  deepStrictEqual([bare.stats.resent, bare.stats.replies], [0, 1]);
  await bare.close();
});

Deno.test("node link: replies matching nothing are counted in stats.unmatched and dropped", async () => {
  const link = new NodeLink();
  const c1 = new MemoryConn();
  const att1 = link.attach(c1);
  const a = link.request(A); // seq 0
  att1.receive({ seq: 999, body: fakeReply(A) }); // no such request
  strictEqual(await state(a), "pending");
  att1.receive({ seq: 0, body: fakeReply(A) });
  att1.receive({ seq: 0, body: body(99, 9) }); // a second reply to the same request
  deepStrictEqual(await a, fakeReply(A));
  const b = link.request(B); // seq 1, written on c1
  const c2 = new MemoryConn();
  const att2 = link.attach(c2); // replaces c1: B is re-sent on c2
  att1.receive({ seq: 1, body: body(99, 1) }); // a late reply on the replaced connection
  att1.closed(); // the old connection's end changes nothing
  strictEqual(await state(b), "pending");
  deepStrictEqual(c2.sent, [req(1, B)]);
  att2.receive({ seq: 1, body: fakeReply(B) });
  deepStrictEqual(await b, fakeReply(B));
  deepStrictEqual(link.stats, {
    requests: 2,
    replies: 2,
    resent: 1,
    connections: 2,
    handshakes: 0,
    unmatched: 3,
  });
  await link.close();
});

Deno.test("node link: a failed write drops the connection; its requests are re-sent on the next one", async () => {
  const logger = new MemoryLogger();
  const link = new NodeLink({ logger });
  const c1 = new MemoryConn();
  c1.fail = true;
  link.attach(c1);
  const a = link.request(A);
  await waitFor(() => !link.ready, { what: "the failed write to drop the connection" });
  strictEqual(c1.closes, 1);
  deepStrictEqual(events(logger, "link.disconnected"), [
    {
      level: "info",
      fields: { transport: "link", reason: "write failed", unanswered: 1, pending: 1 },
    },
  ]);
  const c2 = new MemoryConn();
  const att2 = link.attach(c2);
  deepStrictEqual(c2.sent, [req(0, A)]);
  att2.receive({ seq: 0, body: fakeReply(A) });
  deepStrictEqual(await a, fakeReply(A));
  deepStrictEqual([link.stats.resent, link.stats.connections], [1, 2]);
  await link.close();
});

Deno.test("node link: requestTimeoutMs rejects a request left unanswered and frees its slot; whenReady times out", async () => {
  const link = new NodeLink({ requestTimeoutMs: 20, maxInFlight: 1 });
  const timeout = linkError("timeout", "no reply after 20 ms");
  await rejects(link.request(A), timeout); // no connection at all
  strictEqual(link.pending, 0);
  const conn = new MemoryConn();
  const att = link.attach(conn);
  const b = link.request(B); // seq 1, written
  const c = link.request(C); // seq 2, waits for the slot
  deepStrictEqual(conn.sent.map((f) => f.seq), [1]);
  await rejects(b, timeout);
  deepStrictEqual(conn.sent.map((f) => f.seq), [1, 2]); // the slot went to C
  await rejects(c, timeout);
  deepStrictEqual([link.pending, link.inFlight], [0, 0]);
  att.receive({ seq: 1, body: fakeReply(B) }); // too late: dropped
  att.receive({ seq: 2, body: fakeReply(C) });
  strictEqual(link.stats.unmatched, 2);
  const d = link.request(D); // seq 3, written at once and answered in time
  att.receive({ seq: 3, body: fakeReply(D) });
  deepStrictEqual(await d, fakeReply(D));
  deepStrictEqual([link.stats.requests, link.stats.replies], [4, 1]);
  await link.close();

  const idle = new NodeLink();
  await rejects(
    idle.whenReady({ timeoutMs: 10 }),
    linkError("timeout", "no signer connected in time"),
  );
  idle.attach(new MemoryConn());
  await idle.whenReady({ timeoutMs: 10 }); // ready: resolves at once
  await idle.close();
});

Deno.test("node link: close() rejects pending requests and waiters with NodeLinkError, closes the connection", async () => {
  const logger = new MemoryLogger();
  // Long request timers: close() must clear them (the test's timer sanitizer checks it).
  const link = new NodeLink({ logger, requestTimeoutMs: 60_000 });
  link.handshake = handshake();
  const conn = new MemoryConn();
  link.attach(conn); // handshaking: nothing is ready
  const refused = [link.whenReady(), link.request(A), link.request(B, PEER)].map((p) =>
    rejects(p, CLOSED)
  );
  await link.close();
  await Promise.all(refused);
  deepStrictEqual([conn.closes, link.isClosed, link.pending, link.ready], [1, true, 0, false]);
  deepStrictEqual(events(logger, "link.disconnected").map((e) => e.fields.reason), ["link closed"]);
  await rejects(link.request(C), CLOSED);
  await rejects(link.whenReady(), CLOSED);
  await link.close(); // idempotent
  // A connection attached after close is closed at once and ignored.
  const late = new MemoryConn();
  const att = link.attach(late);
  att.receive({ seq: 0, body: HS_OK });
  att.closed();
  deepStrictEqual([late.closes, late.sent, link.stats.connections], [1, [], 1]);
  strictEqual(link.stats.requests, 2);
});

Deno.test("node link: requests that cannot be framed are refused as invalid; 65536 outstanding is busy", async () => {
  const link = new NodeLink();
  const invalid = (detail: string) => linkError("invalid", `cannot frame the request: ${detail}`);
  await rejects(
    link.request(new Uint8Array([1])),
    invalid("serial request: body length 1 is below 2 (no room for the type)"),
  );
  await rejects(
    link.request(new Uint8Array(MAX_BODY_SIZE + 1)),
    invalid(`serial request: body length ${MAX_BODY_SIZE + 1} exceeds the 131072-byte limit`),
  );
  await rejects(
    link.request(A, { peerId: new Uint8Array(32), dbid: 0n }),
    invalid("serial request: peerId must be 33 bytes"),
  );
  await rejects(
    link.request(A, { peerId: ROOT_PEER_ID, dbid: -1n }),
    invalid("serial request: dbid must be a bigint in 0..2^64-1"),
  );
  deepStrictEqual([link.stats.requests, link.pending], [0, 0]);

  // Every u16 sequence number in use: the next request has none.
  const outstanding: Promise<unknown>[] = [];
  for (let i = 0; i < 0x10000; i++) outstanding.push(link.request(A).catch((e) => e));
  strictEqual(link.pending, 0x10000);
  await rejects(link.request(A), linkError("busy", "65536 requests are outstanding"));
  await link.close();
  const results = await Promise.all(outstanding);
  ok(results.every((e) => e instanceof NodeLinkError && e.code === "closed"));
});

Deno.test("node link: decodeReplyMessage takes exactly one reply frame", () => {
  strictEqual(LINK_CLOSE_BAD_FRAME, 4002);
  deepStrictEqual(decodeReplyMessage(encodeSerialReply({ seq: 0x1234, body: B })), {
    seq: 0x1234,
    body: B,
  });
  deepStrictEqual(
    decodeReplyMessage(
      Uint8Array.from([0x5a, 0xa5, 0xff, 0xff, 0, 0, 0, 2, 0x0b, 0xb8]),
    ),
    { seq: 0xffff, body: Uint8Array.from([0x0b, 0xb8]) },
  );
  const count = (n: number) => (e: unknown) => {
    ok(e instanceof RangeError);
    strictEqual(e.message, `a message must hold one reply frame, not ${n}`);
    return true;
  };
  throws(() => decodeReplyMessage(new Uint8Array(0)), count(0));
  const one = encodeSerialReply({ seq: 1, body: A });
  throws(() => decodeReplyMessage(concat(one, one)), count(2));
  const protocol = (message: string) => (e: unknown) => {
    ok(e instanceof ProtocolError);
    strictEqual(e.message, message);
    return true;
  };
  throws(
    () => decodeReplyMessage(one.subarray(0, one.length - 1)),
    protocol("serial reply: stream ended inside a frame (10 bytes of it received)"),
  );
  // A request frame is not a reply.
  throws(
    () => decodeReplyMessage(encodeSerialRequest({ ...req(1, A) })),
    protocol("serial reply: bad magic 0xaa55 (expected 0x5aa5)"),
  );
  throws(
    () => decodeReplyMessage(Uint8Array.from([0x5a, 0xa5, 0, 1, 0, 0, 0, 1, 0x00])),
    protocol("serial reply: body length 1 is below 2 (no room for the type)"),
  );
});

Deno.test("node link: a stream write that accepts no byte fails the send instead of looping; the connection drops", async () => {
  // At most 100 writes before the fake stream gives up (an endless loop would spin here).
  let writes = 0;
  let closes = 0;
  const zero = {
    write: () => (++writes > 100 ? Promise.reject(new Error("looped")) : Promise.resolve(0)),
    close: () => void closes++,
  };
  await rejects(
    streamConnection(zero).send(frame(0, A)),
    linkError("closed", "the stream accepted 0 bytes of a write"),
  );
  strictEqual(writes, 1);

  // Short writes go through whole, in order.
  const written: number[] = [];
  const short = streamConnection({
    write: (p) => {
      written.push(...p.subarray(0, 3));
      return Promise.resolve(Math.min(3, p.length));
    },
    close: () => {},
  });
  await short.send(frame(7, B));
  deepStrictEqual(Uint8Array.from(written), frame(7, B));

  // Through a link: the connection is dropped and the request goes out on the next one.
  const logger = new MemoryLogger();
  const link = new NodeLink({ logger });
  writes = 0;
  link.attach(streamConnection(zero));
  const a = link.request(A);
  await waitFor(() => !link.ready, { what: "the write to drop the connection" });
  deepStrictEqual([writes, closes], [1, 1]);
  deepStrictEqual(events(logger, "link.disconnected")[0].fields, {
    transport: "link",
    reason: "write failed",
    unanswered: 1,
    pending: 1,
  });
  const c2 = new MemoryConn();
  const att2 = link.attach(c2);
  deepStrictEqual(c2.sent, [req(0, A)]);
  att2.receive({ seq: 0, body: fakeReply(A) });
  deepStrictEqual(await a, fakeReply(A));
  await link.close();
});

Deno.test("node link: an expired request's seq is not reused when the seqs wrap around; its late reply is dropped", async () => {
  const link = new NodeLink({ requestTimeoutMs: 10 });
  const conn = new MemoryConn();
  const att = link.attach(conn);
  const a = link.request(A); // seq 0, written, never answered in time
  await rejects(a, linkError("timeout", "no reply after 10 ms"));
  deepStrictEqual(link.expiredSeqs, [0]);
  // Seqs 1..65535, each answered at once: the u16 counter is back at 0.
  for (let seq = 1; seq < 0x10000; seq++) {
    const p = link.request(B);
    att.receive({ seq, body: fakeReply(B) });
    await p;
  }
  const c = link.request(C);
  deepStrictEqual(conn.sent[conn.sent.length - 1], req(1, C), "seq 0 is skipped");
  // A's late reply matches nothing (C is not answered with it) and releases seq 0.
  att.receive({ seq: 0, body: fakeReply(A) });
  strictEqual(await state(c), "pending");
  deepStrictEqual([link.expiredSeqs, link.stats.unmatched], [[], 1]);
  att.receive({ seq: 1, body: fakeReply(C) });
  deepStrictEqual(await c, fakeReply(C));
  deepStrictEqual([link.stats.requests, link.stats.replies], [0x10001, 0x10000]);
  await link.close();
});

Deno.test("node link: expired seqs are kept at most MAX_EXPIRED_SEQS, and released with their connection", async () => {
  strictEqual(MAX_EXPIRED_SEQS, 1024);
  const link = new NodeLink({ requestTimeoutMs: 5, maxInFlight: Infinity });
  const conn = new MemoryConn();
  link.attach(conn);
  const all = Array.from({ length: MAX_EXPIRED_SEQS + 2 }, () => link.request(A)); // all written
  await Promise.all(all.map((p) => rejects(p, linkError("timeout", "no reply after 5 ms"))));
  const kept = link.expiredSeqs;
  strictEqual(kept.length, MAX_EXPIRED_SEQS);
  deepStrictEqual([kept[0], kept[kept.length - 1]], [2, MAX_EXPIRED_SEQS + 1], "oldest dropped");
  link.attach(new MemoryConn()); // replaces conn: its replies can never match again
  deepStrictEqual(link.expiredSeqs, []);
  // Never written: a request expiring before any connection leaves no seq behind.
  const idle = new NodeLink({ requestTimeoutMs: 5 });
  await rejects(idle.request(A), linkError("timeout", "no reply after 5 ms"));
  deepStrictEqual(idle.expiredSeqs, []);
  await Promise.all([link.close(), idle.close()]);
});

Deno.test("node link: the third signer_error 412 to one request fails it (not-initialized) instead of re-handshaking for ever", async () => {
  strictEqual(MAX_NOT_INITIALIZED_REPLIES, 3);
  const logger = new MemoryLogger();
  const link = new NodeLink({ logger });
  link.handshake = handshake();
  const conn = new MemoryConn();
  const att = link.attach(conn);
  att.receive({ seq: 0, body: HS_OK });
  const a = link.request(A); // seq 1
  att.receive({ seq: 1, body: NOT_INIT }); // handshake seq 2
  att.receive({ seq: 2, body: HS_OK }); // A again
  att.receive({ seq: 1, body: NOT_INIT }); // handshake seq 3
  att.receive({ seq: 3, body: HS_OK }); // A again
  att.receive({ seq: 1, body: NOT_INIT }); // the signer still says "not initialised"
  await rejects(
    a,
    linkError(
      "not-initialized",
      'the signer answered "not initialized" 3 times to the same request, each time after a ' +
        "handshake that passed",
    ),
  );
  deepStrictEqual(conn.sent, [
    req(0, HS),
    req(1, A),
    req(2, HS),
    req(1, A),
    req(3, HS),
    req(1, A),
  ]);
  deepStrictEqual([link.ready, link.pending, link.inFlight], [true, 0, 0]);
  deepStrictEqual(events(logger, "link.reinit").length, 2);
  deepStrictEqual(events(logger, "link.reinit_failed"), [
    { level: "error", fields: { transport: "link", replies: 3 } },
  ]);
  // The link serves the next request as usual.
  const b = link.request(B); // seq 4
  deepStrictEqual(conn.sent[conn.sent.length - 1], req(4, B));
  att.receive({ seq: 4, body: fakeReply(B) });
  deepStrictEqual(await b, fakeReply(B));
  await link.close();
});

Deno.test("node link: a handshake left unanswered for requestTimeoutMs is sent again; the late reply is dropped", async () => {
  const logger = new MemoryLogger();
  const link = new NodeLink({ requestTimeoutMs: 10, logger });
  link.handshake = handshake();
  const conn = new MemoryConn();
  const att = link.attach(conn);
  deepStrictEqual(conn.sent, [req(0, HS)]);
  await conn.sentCount(2); // the first handshake frame was lost
  deepStrictEqual(conn.sent, [req(0, HS), req(1, HS)]);
  att.receive({ seq: 0, body: HS_OK }); // too late: dropped
  deepStrictEqual([link.ready, link.stats.unmatched, link.expiredSeqs], [false, 1, []]);
  att.receive({ seq: 1, body: HS_OK });
  strictEqual(link.ready, true);
  deepStrictEqual(events(logger, "link.handshake_timeout"), [
    { level: "warn", fields: { transport: "link", timeout_ms: 10 } },
  ]);
  await link.close();
});

Deno.test("node link: requestTimeoutMs must be positive; Infinity is never; SerialNodeLink defaults to 60 s", async () => {
  for (const requestTimeoutMs of [0, -1, Number.NaN]) {
    throws(() => new NodeLink({ requestTimeoutMs }), (err: unknown) => {
      ok(err instanceof RangeError);
      strictEqual(err.message, "requestTimeoutMs must be a positive number of milliseconds");
      return true;
    });
  }
  strictEqual(new NodeLink().requestTimeoutMs, undefined);
  strictEqual(new NodeLink({ requestTimeoutMs: Infinity }).requestTimeoutMs, undefined);
  strictEqual(new NodeLink({ requestTimeoutMs: 250 }).requestTimeoutMs, 250);
  strictEqual(SERIAL_REQUEST_TIMEOUT_MS, 60_000);
  const device = "/nonexistent-warden-test/ttyY";
  const serial = SerialNodeLink.open(device, { reopenDelayMs: 5 });
  const forever = SerialNodeLink.open(device, { reopenDelayMs: 5, requestTimeoutMs: Infinity });
  const tcp = TcpNodeLink.listen();
  try {
    deepStrictEqual(
      [serial.requestTimeoutMs, forever.requestTimeoutMs, tcp.requestTimeoutMs],
      [60_000, undefined, undefined],
    );
  } finally {
    await Promise.all([serial.close(), forever.close(), tcp.close()]);
  }
});

// ---- TcpNodeLink ----------------------------------------------------------------------------

Deno.test("tcp node link: listens on loopback; a request and its reply through a fake signer; close() ends it all", async () => {
  const link = TcpNodeLink.listen();
  const signers: TcpSigner[] = [];
  try {
    ok(link.port > 0);
    deepStrictEqual([link.url, link.name], [`tcp://127.0.0.1:${link.port}`, "tcp"]);
    const s = await TcpSigner.dial(link, signers);
    const a = link.request(A, PEER);
    deepStrictEqual(await s.take(1), [req(0, A, PEER)]);
    await s.reply(0, fakeReply(A));
    deepStrictEqual(await a, fakeReply(A));
    strictEqual(link.ready, true);

    const b = link.request(B); // written, never answered
    deepStrictEqual(await s.take(1), [req(1, B)]);
    const refused = rejects(b, CLOSED);
    await link.close();
    await refused;
    deepStrictEqual(await s.eof(), []); // the link closed the signer's connection
    await rejects(
      Deno.connect({ hostname: "127.0.0.1", port: link.port }),
      Deno.errors.ConnectionRefused,
    );
    deepStrictEqual(link.stats, {
      requests: 2,
      replies: 1,
      resent: 0,
      connections: 1,
      handshakes: 0,
      unmatched: 0,
    });
  } finally {
    await link.close();
    for (const s of signers) s.close();
  }
});

Deno.test("tcp node link: pipelined requests are all written before any reply; replies out of order match by seq", async () => {
  const link = TcpNodeLink.listen();
  const signers: TcpSigner[] = [];
  try {
    const s = await TcpSigner.dial(link, signers);
    const pending = [link.request(A), link.request(B, PEER), link.request(C)];
    // The signer reads all three before it answers any.
    deepStrictEqual(await s.take(3), [req(0, A), req(1, B, PEER), req(2, C)]);
    strictEqual(link.inFlight, 3);
    // One write: a stray reply, then the answers in reverse order.
    await s.write(concat(
      encodeSerialReply({ seq: 77, body: D }),
      encodeSerialReply({ seq: 2, body: fakeReply(C) }),
      encodeSerialReply({ seq: 1, body: fakeReply(B) }),
      encodeSerialReply({ seq: 0, body: fakeReply(A) }),
    ));
    deepStrictEqual(await Promise.all(pending), [fakeReply(A), fakeReply(B), fakeReply(C)]);
    deepStrictEqual(link.stats, {
      requests: 3,
      replies: 3,
      resent: 0,
      connections: 1,
      handshakes: 0,
      unmatched: 1,
    });
  } finally {
    await link.close();
    for (const s of signers) s.close();
  }
});

Deno.test("tcp node link: handshake first on each connection; a dropped connection's unanswered requests are re-sent in order", async () => {
  const link = TcpNodeLink.listen();
  link.handshake = handshake();
  const signers: TcpSigner[] = [];
  try {
    const pending = [link.request(A), link.request(B, PEER), link.request(C)]; // seqs 0, 1, 2
    const s1 = await TcpSigner.dial(link, signers);
    deepStrictEqual(await s1.take(1), [req(3, HS)]);
    deepStrictEqual([link.ready, link.inFlight], [false, 0]); // nothing else written yet
    await s1.reply(3, HS_OK);
    deepStrictEqual(await s1.take(3), [req(0, A), req(1, B, PEER), req(2, C)]);
    await s1.reply(1, fakeReply(B)); // only B is answered before the connection drops
    deepStrictEqual(await pending[1], fakeReply(B));
    s1.close();

    const s2 = await TcpSigner.dial(link, signers);
    deepStrictEqual(await s2.take(1), [req(4, HS)]);
    await s2.reply(4, HS_OK);
    deepStrictEqual(await s2.take(2), [req(0, A), req(2, C)]); // same seqs, original order
    await s2.reply(2, fakeReply(C));
    await s2.reply(0, fakeReply(A));
    deepStrictEqual(await Promise.all(pending), [fakeReply(A), fakeReply(B), fakeReply(C)]);
    deepStrictEqual(link.stats, {
      requests: 3,
      replies: 3,
      resent: 2,
      connections: 2,
      handshakes: 2,
      unmatched: 0,
    });
  } finally {
    await link.close();
    for (const s of signers) s.close();
  }
});

Deno.test("tcp node link: a newer connection replaces the older one and takes over its requests", async () => {
  const link = TcpNodeLink.listen();
  const signers: TcpSigner[] = [];
  try {
    const s1 = await TcpSigner.dial(link, signers);
    const a = link.request(A);
    deepStrictEqual(await s1.take(1), [req(0, A)]);
    const s2 = await TcpSigner.dial(link, signers);
    deepStrictEqual(await s2.take(1), [req(0, A)]);
    deepStrictEqual(await s1.eof(), []); // the link closed the replaced connection
    await s2.reply(0, fakeReply(A));
    deepStrictEqual(await a, fakeReply(A));
    deepStrictEqual([link.stats.connections, link.stats.resent], [2, 1]);
  } finally {
    await link.close();
    for (const s of signers) s.close();
  }
});

Deno.test("tcp node link: signer_error 412 on the wire: handshake again, then the request once more", async () => {
  const link = TcpNodeLink.listen();
  link.handshake = handshake();
  const signers: TcpSigner[] = [];
  try {
    const s = await TcpSigner.dial(link, signers);
    deepStrictEqual(await s.take(1), [req(0, HS)]);
    await s.reply(0, HS_OK);
    await link.whenReady();
    const a = link.request(A, PEER);
    deepStrictEqual(await s.take(1), [req(1, A, PEER)]);
    await s.reply(1, NOT_INIT); // the signer restarted behind the connection
    deepStrictEqual(await s.take(1), [req(2, HS)]);
    await s.reply(2, HS_OK);
    deepStrictEqual(await s.take(1), [req(1, A, PEER)]);
    await s.reply(1, fakeReply(A));
    deepStrictEqual(await a, fakeReply(A));
    deepStrictEqual(link.stats, {
      requests: 1,
      replies: 1,
      resent: 1,
      connections: 1,
      handshakes: 2,
      unmatched: 0,
    });
  } finally {
    await link.close();
    for (const s of signers) s.close();
  }
});

Deno.test("tcp node link: a reply that does not decode closes the connection; the request goes to the next one", async () => {
  const logger = new MemoryLogger();
  const link = TcpNodeLink.listen({ logger });
  const signers: TcpSigner[] = [];
  try {
    const s1 = await TcpSigner.dial(link, signers);
    const a = link.request(A);
    deepStrictEqual(await s1.take(1), [req(0, A)]);
    await s1.write(Uint8Array.from([0x12, 0x34, 0, 0, 0, 0, 0, 2, 0x00, 0x78]));
    deepStrictEqual(await s1.eof(), []);
    deepStrictEqual(events(logger, "link.read_error"), [
      {
        level: "warn",
        fields: { transport: "tcp", message: "serial reply: bad magic 0x1234 (expected 0x5aa5)" },
      },
    ]);
    strictEqual(link.ready, false);
    strictEqual(await state(a), "pending");
    const s2 = await TcpSigner.dial(link, signers);
    deepStrictEqual(await s2.take(1), [req(0, A)]);
    await s2.reply(0, fakeReply(A));
    deepStrictEqual(await a, fakeReply(A));
    deepStrictEqual([link.stats.resent, link.stats.connections, link.stats.unmatched], [1, 2, 0]);
  } finally {
    await link.close();
    for (const s of signers) s.close();
  }
});

Deno.test("tcp node link: requestTimeoutMs and the other options pass through listen()", async () => {
  const link = TcpNodeLink.listen({ requestTimeoutMs: 25, name: "node-a", port: 0 });
  try {
    strictEqual(link.name, "node-a");
    await rejects(link.request(A), linkError("timeout", "no reply after 25 ms"));
    await rejects(
      link.whenReady({ timeoutMs: 5 }),
      linkError("timeout", "no signer connected in time"),
    );
  } finally {
    await link.close();
  }
});

const HAS_IPV6 = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "tcp node link: on IPv6 loopback the URL brackets the address",
  ignore: !HAS_IPV6,
  async fn() {
    const link = TcpNodeLink.listen({ hostname: "::1" });
    const signers: TcpSigner[] = [];
    try {
      strictEqual(link.url, `tcp://[::1]:${link.port}`);
      const s = await TcpSigner.dial(link, signers, "::1");
      const a = link.request(A);
      deepStrictEqual(await s.take(1), [req(0, A)]);
      await s.reply(0, fakeReply(A));
      deepStrictEqual(await a, fakeReply(A));
    } finally {
      await link.close();
      for (const s of signers) s.close();
    }
  },
});

// ---- WebSocketNodeLink ----------------------------------------------------------------------

Deno.test("websocket node link: url and path; 404 elsewhere, 426 without an upgrade", async () => {
  const link = WebSocketNodeLink.listen({ path: "/node/signer" });
  try {
    deepStrictEqual(
      [link.url, link.name],
      [`ws://127.0.0.1:${link.port}/node/signer`, "websocket"],
    );
    const base = `http://127.0.0.1:${link.port}`;
    const other = await fetch(`${base}/signer`);
    deepStrictEqual([other.status, await other.text()], [404, "not found"]);
    const plain = await fetch(`${base}/node/signer`);
    deepStrictEqual([plain.status, await plain.text()], [426, "a WebSocket upgrade is expected"]);
    strictEqual(link.stats.connections, 0);
  } finally {
    await link.close();
  }
  const byDefault = WebSocketNodeLink.listen();
  try {
    strictEqual(byDefault.url, `ws://127.0.0.1:${byDefault.port}/signer`);
  } finally {
    await byDefault.close();
  }
});

Deno.test("websocket node link: one frame per message, pipelined, replies matched by seq out of order", async () => {
  const link = WebSocketNodeLink.listen();
  const signers: WsSigner[] = [];
  try {
    const s = await WsSigner.dial(link.url, signers);
    await link.whenReady();
    const pending = [link.request(A), link.request(B, PEER), link.request(C)];
    deepStrictEqual(await s.take(3), [req(0, A), req(1, B, PEER), req(2, C)]);
    s.reply(9, D); // matches nothing
    s.reply(1, fakeReply(B));
    s.reply(2, fakeReply(C));
    s.reply(0, fakeReply(A));
    deepStrictEqual(await Promise.all(pending), [fakeReply(A), fakeReply(B), fakeReply(C)]);
    deepStrictEqual(link.stats, {
      requests: 3,
      replies: 3,
      resent: 0,
      connections: 1,
      handshakes: 0,
      unmatched: 1,
    });
  } finally {
    await link.close();
    for (const s of signers) await s.close();
  }
});

Deno.test("websocket node link: handshake on every socket; a dropped socket's requests are re-sent on the next", async () => {
  const link = WebSocketNodeLink.listen();
  link.handshake = handshake();
  const signers: WsSigner[] = [];
  try {
    const a = link.request(A); // seq 0
    const s1 = await WsSigner.dial(link.url, signers);
    deepStrictEqual(await s1.take(1), [req(1, HS)]);
    s1.reply(1, HS_OK);
    deepStrictEqual(await s1.take(1), [req(0, A)]);
    await s1.close();
    await waitFor(() => !link.ready, { what: "the link to see the socket close" });
    const s2 = await WsSigner.dial(link.url, signers);
    deepStrictEqual(await s2.take(1), [req(2, HS)]);
    s2.reply(2, HS_OK);
    deepStrictEqual(await s2.take(1), [req(0, A)]);
    s2.reply(0, fakeReply(A));
    deepStrictEqual(await a, fakeReply(A));
    deepStrictEqual(link.stats, {
      requests: 1,
      replies: 1,
      resent: 1,
      connections: 2,
      handshakes: 2,
      unmatched: 0,
    });
  } finally {
    await link.close();
    for (const s of signers) await s.close();
  }
});

Deno.test("websocket node link: a message that is not one reply frame closes the socket with 4002", async () => {
  const logger = new MemoryLogger();
  const link = WebSocketNodeLink.listen({ logger });
  const signers: WsSigner[] = [];
  try {
    const a = link.request(A);
    const s1 = await WsSigner.dial(link.url, signers);
    deepStrictEqual(await s1.take(1), [req(0, A)]);
    s1.ws.send("5aa5000000000002"); // text, not binary
    deepStrictEqual(await s1.closed, { code: LINK_CLOSE_BAD_FRAME, reason: "bad frame" });
    const s2 = await WsSigner.dial(link.url, signers);
    deepStrictEqual(await s2.take(1), [req(0, A)]);
    const reply = encodeSerialReply({ seq: 0, body: fakeReply(A) });
    s2.ws.send(concat(reply, reply)); // two frames in one message
    deepStrictEqual(await s2.closed, { code: LINK_CLOSE_BAD_FRAME, reason: "bad frame" });
    deepStrictEqual(events(logger, "link.malformed"), [
      { level: "error", fields: { transport: "websocket", message: "a text message" } },
      {
        level: "error",
        fields: { transport: "websocket", message: "a message must hold one reply frame, not 2" },
      },
    ]);
    strictEqual(await state(a), "pending");
    const s3 = await WsSigner.dial(link.url, signers);
    deepStrictEqual(await s3.take(1), [req(0, A)]);
    s3.reply(0, fakeReply(A));
    deepStrictEqual(await a, fakeReply(A));
    deepStrictEqual([link.stats.connections, link.stats.resent, link.stats.replies], [3, 2, 1]);
  } finally {
    await link.close();
    for (const s of signers) await s.close();
  }
});

Deno.test("websocket node link: close() rejects what is pending and closes the signer's socket", async () => {
  const link = WebSocketNodeLink.listen();
  const signers: WsSigner[] = [];
  try {
    const s = await WsSigner.dial(link.url, signers);
    const a = link.request(A);
    deepStrictEqual(await s.take(1), [req(0, A)]);
    const refused = rejects(a, CLOSED);
    await link.close();
    await refused;
    await s.closed; // the link closed the socket (the test would hang otherwise)
    await rejects(link.request(B), CLOSED);
  } finally {
    await link.close();
    for (const s of signers) await s.close();
  }
});

// ---- SerialNodeLink -------------------------------------------------------------------------

/** The signer's end of the pty pair: reads request frames, writes replies. */
async function openSignerEnd(path: string): Promise<Deno.FsFile> {
  return await Deno.open(path, { read: true, write: true });
}

async function readRequests(file: Deno.FsFile, count: number): Promise<SerialRequest[]> {
  const decoder = serialRequestDecoder();
  const out: SerialRequest[] = [];
  const buf = new Uint8Array(4096);
  while (out.length < count) {
    const n = await file.read(buf);
    if (n === null) throw new Error("the line closed");
    out.push(...decoder.push(buf.subarray(0, n)));
  }
  strictEqual(out.length, count, "no more frames than asked for (lock-step)");
  return out;
}

Deno.test("serial node link: lock-step over a pty pair, line noise skipped, reopened after the line goes away", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-node-link-" });
  const logger = new MemoryLogger();
  let pair = await PtyPair.start(dir);
  let signer: Deno.FsFile | undefined = await openSignerEnd(pair.a);
  const link = SerialNodeLink.open(pair.b, { logger, reopenDelayMs: 10 });
  try {
    deepStrictEqual([link.device, link.name], [pair.b, "serial"]);
    await link.whenReady({ timeoutMs: 10_000 });
    const a = link.request(A, PEER);
    const b = link.request(B);
    deepStrictEqual(await readRequests(signer, 1), [req(0, A, PEER)]);
    deepStrictEqual([link.inFlight, link.pending], [1, 2]); // B waits for A's reply
    // Noise on the line before the reply is skipped up to the next magic.
    await writeAll(
      signer,
      concat(
        Uint8Array.from([0x00, 0x5a, 0x13]),
        encodeSerialReply({ seq: 0, body: fakeReply(A) }),
      ),
    );
    deepStrictEqual(await a, fakeReply(A));
    deepStrictEqual(await readRequests(signer, 1), [req(1, B)]);
    await writeAll(signer, encodeSerialReply({ seq: 1, body: fakeReply(B) }));
    deepStrictEqual(await b, fakeReply(B));

    // C is written, then the line goes away before its reply.
    const c = link.request(C);
    deepStrictEqual(await readRequests(signer, 1), [req(2, C)]);
    signer.close();
    signer = undefined;
    await pair.stop();
    await waitFor(() => !link.ready, { what: "the link to lose the line" });
    await waitFor(() => logger.named("link.open_failed").length > 0, { what: "a failed reopen" });
    deepStrictEqual(logger.named("link.open_failed")[0].fields, {
      transport: "serial",
      error: "NotFound",
    });

    // The line comes back: the link reopens it and writes C again.
    pair = await PtyPair.start(dir);
    signer = await openSignerEnd(pair.a);
    deepStrictEqual(await readRequests(signer, 1), [req(2, C)]);
    await writeAll(signer, encodeSerialReply({ seq: 2, body: fakeReply(C) }));
    deepStrictEqual(await c, fakeReply(C));
    deepStrictEqual(link.stats, {
      requests: 3,
      replies: 3,
      resent: 1,
      connections: 2,
      handshakes: 0,
      unmatched: 0,
    });
  } finally {
    await link.close();
    signer?.close();
    await pair.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serial node link: a device that cannot be opened is retried and logged until close()", async () => {
  const logger = new MemoryLogger();
  const device = "/nonexistent-warden-test/ttyX";
  const link = SerialNodeLink.open(device, { logger, reopenDelayMs: 5 });
  const refused = rejects(link.request(A), CLOSED);
  try {
    await waitFor(() => logger.named("link.open_failed").length >= 2, { what: "two attempts" });
    deepStrictEqual(events(logger, "link.open_failed")[0], {
      level: "warn",
      fields: { transport: "serial", error: "NotFound" },
    });
    deepStrictEqual([link.ready, link.stats.connections, link.pending], [false, 0, 1]);
  } finally {
    await link.close();
  }
  await refused;
});

Deno.test("serial node link: a lost reply times out and frees the lock-step line; the late reply is dropped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-node-link-" });
  const pair = await PtyPair.start(dir);
  const signer = await openSignerEnd(pair.a);
  const link = SerialNodeLink.open(pair.b, { reopenDelayMs: 10, requestTimeoutMs: 1_000 });
  try {
    await link.whenReady({ timeoutMs: 10_000 });
    const a = link.request(A);
    deepStrictEqual(await readRequests(signer, 1), [req(0, A)]);
    // The signer's reply is lost on the line: A fails instead of holding the line for ever.
    await rejects(a, linkError("timeout", "no reply after 1000 ms"));
    const b = link.request(B);
    deepStrictEqual(await readRequests(signer, 1), [req(1, B)]);
    await writeAll(
      signer,
      concat(
        encodeSerialReply({ seq: 0, body: fakeReply(A) }),
        encodeSerialReply({ seq: 1, body: fakeReply(B) }),
      ),
    );
    deepStrictEqual(await b, fakeReply(B));
    deepStrictEqual([link.stats.unmatched, link.expiredSeqs], [1, []]);
  } finally {
    await link.close();
    signer.close();
    await pair.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serial node link: a reply with a corrupted length is dropped once the line is idle; the next reply arrives", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-node-link-" });
  const pair = await PtyPair.start(dir);
  const signer = await openSignerEnd(pair.a);
  const link = SerialNodeLink.open(pair.b, { reopenDelayMs: 10, requestTimeoutMs: 1_000 });
  try {
    await link.whenReady({ timeoutMs: 10_000 });
    const a = link.request(A);
    deepStrictEqual(await readRequests(signer, 1), [req(0, A)]);
    // A's reply with its length's high byte flipped: the decoder waits for ~64 KiB that never
    // come, and A times out.
    const corrupt = encodeSerialReply({ seq: 0, body: fakeReply(A) });
    corrupt[5] ^= 0x01;
    await writeAll(signer, corrupt);
    await rejects(a, linkError("timeout", "no reply after 1000 ms"));
    // B's reply follows; after the idle delay the corrupt frame is dropped and B is delivered.
    const b = link.request(B);
    deepStrictEqual(await readRequests(signer, 1), [req(1, B)]);
    await writeAll(signer, encodeSerialReply({ seq: 1, body: fakeReply(B) }));
    deepStrictEqual(await b, fakeReply(B));
  } finally {
    await link.close();
    signer.close();
    await pair.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
