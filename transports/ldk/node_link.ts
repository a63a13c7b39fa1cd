/**
 * The node's side of the signer link (protocol.md §1.3, §1.6): the signer process DIALS the node
 * (`mod.ts run --connect tcp://…` / `ws://…`) or sits on a serial line (`--serial -`), so the node
 * listens (TCP, WebSocket) or opens the line (serial), sends request frames
 * `AA55 | seq | peer_id | dbid | len | body` and matches the replies `5AA5 | seq | len | body` by
 * their sequence number.
 *
 * ```ts
 * const link = TcpNodeLink.listen({ hostname: "127.0.0.1", port: 0 });
 * // start the signer: mod.ts run ... --connect ${link.url}
 * const reply = await link.request(body, { peerId, dbid }); // the reply body
 * ```
 *
 * - **Pipelining.** Over TCP and WebSocket up to `maxInFlight` requests (default 256) are written
 *   without waiting; the signer answers them in arrival order. Over serial the link is lock-step
 *   (`maxInFlight` 1), as the serial transport expects. Requests are written in the order
 *   {@link NodeLink.request} was called, so the signer sees the node's order.
 * - **Handshake.** A link with a {@link NodeLink.handshake} (the RemoteSignerApi's `init`) sends
 *   it first on every new connection and sends nothing else until its reply passes the check: a
 *   restarted signer negotiates again before anything else reaches it. A reply `signer_error`
 *   412 (not initialised: a signer restarted behind an open serial line) triggers the handshake
 *   again and the request is re-sent after it; the {@link MAX_NOT_INITIALIZED_REPLIES}th 412 to
 *   the same request fails it (`not-initialized`) instead of negotiating for ever.
 * - **Reconnects.** When a connection ends, every request it carried that has no reply yet is
 *   kept and re-sent, in its original order, on the next connection once the handshake passed
 *   (protocol.md §1.4); a newer connection replaces an older one. The signer's retry cache, or
 *   its idempotent handling of retries after a restart, answers requests it already served. A
 *   request waits for as long as it takes (or `requestTimeoutMs`; serial: 60 s by default), so a
 *   signer that is restarted resumes the node where it stopped.
 * - **Timeouts.** A request that expires after it was written keeps its seq out of use until its
 *   late reply arrives (then dropped) or the connection ends (at most {@link MAX_EXPIRED_SEQS}),
 *   so after the u16 seqs wrap around a late reply can never answer a newer request. A
 *   handshake left unanswered for `requestTimeoutMs` is sent again.
 * - **Writes** go through whole: a stream write that accepts no byte fails the connection
 *   instead of looping.
 * - **Bad input.** A reply that does not decode closes the connection (TCP, WebSocket) or is
 *   skipped up to the next magic (serial); a reply whose seq matches nothing outstanding is
 *   counted and dropped.
 *
 * @module
 */
import {
  encodeSerialRequest,
  ROOT_PEER_ID,
  type SerialReply,
  serialReplyDecoder,
} from "../../core/protocol/framing.ts";
import { signerErrorOf } from "../../core/protocol/errors.ts";
import { SIGNER_ERROR } from "../../core/protocol/errors.ts";
import { type Logger, silentLogger } from "../log.ts";
import { DEFAULT_IDLE_MS, readOrIdle } from "../session.ts";
import type { RequestContext } from "../types.ts";

export type { RequestContext } from "../types.ts";

/** Why a request of the link failed (never carries message contents). */
export type NodeLinkErrorCode =
  | "closed"
  | "timeout"
  | "invalid"
  | "busy"
  | "handshake"
  | "not-initialized";

/**
 * How many `signer_error` 412 (not initialised) replies one request may get: each earlier one
 * makes the link negotiate again and re-send the request; this one fails it with a
 * {@link NodeLinkError} `not-initialized` instead of negotiating again for ever.
 */
export const MAX_NOT_INITIALIZED_REPLIES = 3;

/**
 * Sequence numbers of expired requests kept out of use until their late reply arrives, at most
 * (the oldest is released first): a late reply can then never be taken for another request's.
 */
export const MAX_EXPIRED_SEQS = 1024;

/** The default {@link NodeLinkOptions.requestTimeoutMs} of a {@link SerialNodeLink}: 60 s. */
export const SERIAL_REQUEST_TIMEOUT_MS = 60_000;

/** A request could not be sent or answered through the link. */
export class NodeLinkError extends Error {
  /** Machine-readable reason. */
  readonly code: NodeLinkErrorCode;
  /**
   * The link failed, not the request (closed, timed out, busy, not initialised): asking again may
   * succeed. The LDK adapter asks again instead of keeping the failure.
   */
  readonly transient: boolean;

  /**
   * Creates the error.
   * @param code the reason
   * @param message what happened
   */
  constructor(code: NodeLinkErrorCode, message: string) {
    super(message);
    this.name = "NodeLinkError";
    this.code = code;
    this.transient = code !== "invalid" && code !== "handshake";
  }
}

/** One open connection to the signer, as an endpoint hands it to {@link NodeLink.attach}. */
export interface LinkConnection {
  /** Writes one request frame (writes of one connection must not interleave). */
  send(frame: Uint8Array): Promise<void>;
  /** Closes the connection (idempotent; must not throw). */
  close(): void;
}

/** What the endpoint calls back for a connection it attached. */
export interface LinkAttachment {
  /** A reply frame arrived on the connection. */
  receive(reply: SerialReply): void;
  /** The connection ended (idempotent). */
  closed(): void;
}

/** The first exchange of every connection (the `init` of the remote signer API). */
export interface NodeLinkHandshake {
  /** The request body sent first (root context). */
  body: Uint8Array;
  /** Checks the reply body; throws to refuse the connection. */
  check(reply: Uint8Array): void;
}

/** Options of {@link NodeLink}. */
export interface NodeLinkOptions {
  /** Requests written and not yet answered, at most (default 256; serial: 1). */
  maxInFlight?: number;
  /**
   * Fail a request that has no reply after this many milliseconds, and send the handshake again
   * when its reply takes that long (default: never, `Infinity` too; {@link SerialNodeLink}:
   * {@link SERIAL_REQUEST_TIMEOUT_MS}).
   */
  requestTimeoutMs?: number;
  /** Where link events go (`link.*`). */
  logger?: Logger;
  /** The transport's name in logs. */
  name?: string;
}

/** Counters of a link. */
export interface NodeLinkStats {
  /** Requests accepted by {@link NodeLink.request}. */
  requests: number;
  /** Replies matched to a request. */
  replies: number;
  /** Request frames written again (after a reconnect or a lost init). */
  resent: number;
  /** Connections attached. */
  connections: number;
  /** Handshakes that passed. */
  handshakes: number;
  /** Replies that matched no outstanding request (or came on a replaced connection). */
  unmatched: number;
}

interface Entry {
  seq: number;
  frame: Uint8Array;
  resolve: (body: Uint8Array) => void;
  reject: (e: Error) => void;
  sentOn: Attachment | null;
  sends: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** `signer_error` 412 replies to this request so far. */
  notInitialized: number;
}

interface Attachment {
  conn: LinkConnection;
  state: "handshaking" | "ready" | "closed";
  inFlight: number;
  handshakeSeq: number | null;
  handshakeTimer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The request/reply logic of the node's side, independent of the transport (see the module
 * documentation). The endpoints {@link TcpNodeLink}, {@link WebSocketNodeLink} and
 * {@link SerialNodeLink} attach their connections; tests may attach their own.
 */
export class NodeLink {
  /** The first exchange of every connection (set it before the signer connects). */
  handshake: NodeLinkHandshake | undefined;
  /** The transport's name. */
  readonly name: string;
  /** Where link events go. */
  protected readonly logger: Logger;
  readonly #max: number;
  readonly #timeoutMs: number | undefined;
  readonly #entries = new Map<number, Entry>();
  /** Seqs of requests that expired after being written on a connection (oldest first). */
  readonly #expired = new Map<number, Attachment>();
  readonly #stats: NodeLinkStats = {
    requests: 0,
    replies: 0,
    resent: 0,
    connections: 0,
    handshakes: 0,
    unmatched: 0,
  };
  #current: Attachment | null = null;
  #nextSeq = 0;
  #closed = false;
  #waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  /**
   * Creates a link with no connection (requests wait for one).
   * @param options in-flight limit, timeout, logger and name
   */
  constructor(options: NodeLinkOptions = {}) {
    const max = options.maxInFlight ?? 256;
    if (!(max >= 1) || (!Number.isInteger(max) && max !== Infinity)) {
      throw new RangeError("maxInFlight must be a positive integer");
    }
    this.#max = max;
    const timeout = options.requestTimeoutMs;
    if (timeout !== undefined && !(timeout > 0)) {
      throw new RangeError("requestTimeoutMs must be a positive number of milliseconds");
    }
    this.#timeoutMs = timeout === Infinity ? undefined : timeout;
    this.logger = options.logger ?? silentLogger;
    this.name = options.name ?? "link";
  }

  /** The counters so far. */
  get stats(): Readonly<NodeLinkStats> {
    return { ...this.#stats };
  }

  /** Requests waiting for their reply (written or not). */
  get pending(): number {
    return this.#entries.size;
  }

  /** Requests written on the current connection and not answered yet. */
  get inFlight(): number {
    return this.#current?.inFlight ?? 0;
  }

  /** A connection is up and its handshake passed. */
  get ready(): boolean {
    return this.#current?.state === "ready";
  }

  /** Whether {@link close} was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** How long a request may wait for its reply (undefined: for ever). */
  get requestTimeoutMs(): number | undefined {
    return this.#timeoutMs;
  }

  /** Sequence numbers of expired requests kept out of use until their late reply arrives. */
  get expiredSeqs(): number[] {
    return [...this.#expired.keys()];
  }

  /**
   * Resolves when a connection is ready (at once if one is); rejects when the link closes, when
   * a handshake reply fails its check, or after `timeoutMs`.
   */
  whenReady(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new NodeLinkError("closed", "the link is closed"));
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#waiters.push(waiter);
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new NodeLinkError("timeout", "no signer connected in time"));
        }, options.timeoutMs);
      }
    });
  }

  /**
   * Sends a request body in `context` (default: the root context) and resolves with the reply
   * body (a `signer_error` reply included: interpreting it is the caller's job). The frame is
   * queued at once, in call order; it is written when a connection is ready.
   */
  request(body: Uint8Array, context?: RequestContext): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new NodeLinkError("closed", "the link is closed"));
    const seq = this.#allocateSeq();
    if (seq === null) {
      return Promise.reject(new NodeLinkError("busy", "65536 requests are outstanding"));
    }
    let frame: Uint8Array;
    try {
      frame = encodeSerialRequest({
        seq,
        peerId: context?.peerId ?? ROOT_PEER_ID,
        dbid: context?.dbid ?? 0n,
        body,
      });
    } catch (e) {
      return Promise.reject(
        new NodeLinkError("invalid", `cannot frame the request: ${(e as Error).message}`),
      );
    }
    this.#stats.requests++;
    return new Promise<Uint8Array>((resolve, reject) => {
      const entry: Entry = {
        seq,
        frame,
        resolve,
        reject,
        sentOn: null,
        sends: 0,
        timer: undefined,
        notInitialized: 0,
      };
      if (this.#timeoutMs !== undefined) {
        entry.timer = setTimeout(() => this.#expire(entry), this.#timeoutMs);
      }
      this.#entries.set(seq, entry);
      this.#flush();
    });
  }

  /**
   * Attaches a new connection: it replaces the current one (whose unanswered requests are
   * re-sent on this one), starts with the handshake and then writes the waiting requests.
   */
  attach(conn: LinkConnection): LinkAttachment {
    const att: Attachment = {
      conn,
      state: "ready",
      inFlight: 0,
      handshakeSeq: null,
      handshakeTimer: undefined,
    };
    if (this.#closed) {
      att.state = "closed";
      conn.close();
      return { receive: () => {}, closed: () => {} };
    }
    if (this.#current !== null) this.#detach(this.#current, "replaced");
    this.#current = att;
    this.#stats.connections++;
    this.logger.log("info", "link.connected", {
      transport: this.name,
      connection: this.#stats.connections,
      pending: this.#entries.size,
    });
    if (this.handshake !== undefined) this.#startHandshake(att);
    else {
      this.#readyNow();
      this.#flush();
    }
    return { receive: (r) => this.#receive(att, r), closed: () => this.#detach(att, "closed") };
  }

  /** Rejects every outstanding request, closes the connection; the endpoints stop listening. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const error = new NodeLinkError("closed", "the link is closed");
    for (const entry of this.#entries.values()) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    this.#entries.clear();
    if (this.#current !== null) this.#detach(this.#current, "link closed");
    for (const w of this.#waiters.splice(0)) w.reject(error);
    return Promise.resolve();
  }

  #allocateSeq(): number | null {
    for (let i = 0; i < 0x10000; i++) {
      const seq = this.#nextSeq;
      this.#nextSeq = (this.#nextSeq + 1) & 0xffff;
      if (this.#entries.has(seq) || this.#expired.has(seq)) continue;
      if (this.#current?.handshakeSeq === seq) continue;
      return seq;
    }
    return null;
  }

  #readyNow(): void {
    for (const w of this.#waiters.splice(0)) w.resolve();
  }

  #startHandshake(att: Attachment): void {
    const hs = this.handshake;
    if (hs === undefined) return;
    const seq = this.#allocateSeq();
    if (seq === null) {
      this.#detach(att, "no sequence number left for the handshake");
      return;
    }
    let frame: Uint8Array;
    try {
      frame = encodeSerialRequest({ seq, peerId: ROOT_PEER_ID, dbid: 0n, body: hs.body });
    } catch (e) {
      this.#failHandshake(att, new NodeLinkError("handshake", (e as Error).message));
      return;
    }
    att.state = "handshaking";
    att.handshakeSeq = seq;
    clearTimeout(att.handshakeTimer);
    if (this.#timeoutMs !== undefined) {
      // A lost frame (a noisy serial line) must not leave the connection handshaking for ever:
      // send the handshake again under a new seq; a late reply to the old one is dropped.
      att.handshakeTimer = setTimeout(() => {
        if (att.state !== "handshaking" || att !== this.#current || att.handshakeSeq !== seq) {
          return;
        }
        this.logger.log("warn", "link.handshake_timeout", {
          transport: this.name,
          timeout_ms: this.#timeoutMs,
        });
        this.#tombstone(seq, att);
        att.handshakeSeq = null;
        this.#startHandshake(att);
      }, this.#timeoutMs);
    }
    att.conn.send(frame).catch(() => this.#detach(att, "write failed"));
  }

  /** Keeps `seq`, written on `att` and given up, out of use until its reply comes. */
  #tombstone(seq: number, att: Attachment): void {
    this.#expired.delete(seq);
    this.#expired.set(seq, att);
    while (this.#expired.size > MAX_EXPIRED_SEQS) {
      this.#expired.delete(this.#expired.keys().next().value as number);
    }
  }

  #failHandshake(att: Attachment, error: Error): void {
    this.logger.log("warn", "link.handshake_failed", {
      transport: this.name,
      message: error.message.slice(0, 200),
    });
    for (const w of this.#waiters.splice(0)) w.reject(error);
    this.#detach(att, "handshake refused");
  }

  #flush(): void {
    const att = this.#current;
    if (att === null || att.state !== "ready") return;
    for (const entry of this.#entries.values()) {
      if (att.inFlight >= this.#max) break;
      if (entry.sentOn === att) continue;
      entry.sentOn = att;
      entry.sends++;
      if (entry.sends > 1) this.#stats.resent++;
      att.inFlight++;
      att.conn.send(entry.frame).catch(() => this.#detach(att, "write failed"));
    }
  }

  #receive(att: Attachment, reply: SerialReply): void {
    if (att !== this.#current || att.state === "closed") {
      this.#stats.unmatched++;
      return;
    }
    if (att.state === "handshaking") {
      if (reply.seq !== att.handshakeSeq) {
        // A request answered before the handshake was sent again (412 path) or a stray reply.
        this.#receiveEntry(att, reply);
        return;
      }
      att.handshakeSeq = null;
      clearTimeout(att.handshakeTimer);
      try {
        this.handshake?.check(reply.body);
      } catch (e) {
        this.#failHandshake(
          att,
          e instanceof Error ? e : new NodeLinkError("handshake", "handshake refused"),
        );
        return;
      }
      att.state = "ready";
      this.#stats.handshakes++;
      this.#readyNow();
      this.#flush();
      return;
    }
    this.#receiveEntry(att, reply);
  }

  #receiveEntry(att: Attachment, reply: SerialReply): void {
    const entry = this.#entries.get(reply.seq);
    if (entry === undefined || entry.sentOn !== att) {
      // A late reply to an expired request releases its seq; anything else is a stray.
      if (this.#expired.get(reply.seq) === att) this.#expired.delete(reply.seq);
      this.#stats.unmatched++;
      return;
    }
    att.inFlight--;
    const error = signerErrorOf(reply.body);
    if (error?.code === SIGNER_ERROR.NOT_INITIALIZED && this.handshake !== undefined) {
      entry.sentOn = null;
      entry.notInitialized++;
      if (entry.notInitialized >= MAX_NOT_INITIALIZED_REPLIES) {
        // Handshakes pass and the signer still answers 412: negotiating again would loop.
        this.#entries.delete(reply.seq);
        clearTimeout(entry.timer);
        this.logger.log("error", "link.reinit_failed", {
          transport: this.name,
          replies: entry.notInitialized,
        });
        entry.reject(
          new NodeLinkError(
            "not-initialized",
            `the signer answered "not initialized" ${entry.notInitialized} times to the same ` +
              "request, each time after a handshake that passed",
          ),
        );
        this.#flush();
        return;
      }
      // The signer lost its init (restarted behind a line that stayed open): negotiate again,
      // then send this request (and any other refused the same way) again.
      if (att.state === "ready") {
        this.logger.log("warn", "link.reinit", { transport: this.name });
        this.#startHandshake(att);
      }
      return;
    }
    this.#entries.delete(reply.seq);
    clearTimeout(entry.timer);
    this.#stats.replies++;
    entry.resolve(reply.body);
    this.#flush();
  }

  #expire(entry: Entry): void {
    if (this.#entries.get(entry.seq) !== entry) return;
    this.#entries.delete(entry.seq);
    if (entry.sentOn !== null && entry.sentOn === this.#current) {
      // The signer may still answer it: its seq stays out of use until then.
      entry.sentOn.inFlight--;
      this.#tombstone(entry.seq, entry.sentOn);
    }
    entry.reject(new NodeLinkError("timeout", `no reply after ${this.#timeoutMs} ms`));
    this.#flush();
  }

  #detach(att: Attachment, reason: string): void {
    if (att.state === "closed") return;
    att.state = "closed";
    clearTimeout(att.handshakeTimer);
    // Replies on a connection that is gone are never matched: its expired seqs are free again.
    for (const [seq, on] of this.#expired) if (on === att) this.#expired.delete(seq);
    try {
      att.conn.close();
    } catch {
      // already closed
    }
    if (this.#current !== att) return;
    this.#current = null;
    let unanswered = 0;
    for (const entry of this.#entries.values()) {
      if (entry.sentOn === att) {
        entry.sentOn = null;
        unanswered++;
      }
    }
    this.logger.log("info", "link.disconnected", {
      transport: this.name,
      reason,
      unanswered,
      pending: this.#entries.size,
    });
  }
}

// ---- endpoints ------------------------------------------------------------------------------

/**
 * Writes all of `b`. A write that accepts no byte (returns 0, or anything but a positive
 * integer) fails with a {@link NodeLinkError} instead of being retried forever.
 */
async function writeAll(w: { write(p: Uint8Array): Promise<number> }, b: Uint8Array) {
  for (let off = 0; off < b.length;) {
    const n = await w.write(b.subarray(off));
    if (!Number.isInteger(n) || n <= 0 || n > b.length - off) {
      throw new NodeLinkError("closed", `the stream accepted ${n} bytes of a write`);
    }
    off += n;
  }
}

/**
 * A connection over a byte stream (a TCP socket, a serial device) whose writes are queued one
 * after the other; a frame is written whole, and a write that accepts no byte fails the send
 * (the link then drops the connection) instead of looping.
 */
export function streamConnection(
  stream: { write(p: Uint8Array): Promise<number>; close(): void },
): LinkConnection {
  let tail: Promise<void> = Promise.resolve();
  let closed = false;
  return {
    send(frame: Uint8Array): Promise<void> {
      const next = tail.then(() => {
        if (closed) throw new NodeLinkError("closed", "the connection is closed");
        return writeAll(stream, frame);
      });
      tail = next.catch(() => undefined);
      return next;
    },
    close(): void {
      if (closed) return;
      closed = true;
      try {
        stream.close();
      } catch {
        // already closed
      }
    },
  };
}

function closeQuietly(file: { close(): void } | undefined): void {
  try {
    file?.close();
  } catch {
    // already closed
  }
}

/** Reads reply frames from `reader` into `att` until the stream ends or breaks. */
async function pumpReplies(
  reader: { read(p: Uint8Array): Promise<number | null> },
  att: LinkAttachment,
  options: { resync: boolean; idleMs?: number; onError?: (message: string) => void },
): Promise<void> {
  const decoder = serialReplyDecoder({ resync: options.resync });
  // On a serial line, silence while a reply is incomplete may mean a corrupted length: the
  // decoder then looks for a complete reply after it (FrameDecoder.idle).
  const idleMs = options.resync ? options.idleMs ?? DEFAULT_IDLE_MS : undefined;
  const buf = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const reading = reader.read(buf);
      let n: number | null;
      while (true) {
        const r = await readOrIdle(reading, decoder.buffered > 0 ? idleMs : undefined);
        if (r !== "idle") {
          n = r.n;
          break;
        }
        for (const reply of decoder.idle()) att.receive(reply);
      }
      if (n === null) break;
      for (const reply of decoder.push(buf.subarray(0, n))) att.receive(reply);
    }
  } catch (e) {
    options.onError?.(e instanceof Error ? e.message.slice(0, 200) : "read failed");
  } finally {
    att.closed();
  }
}

/** Options of {@link TcpNodeLink.listen}. */
export interface TcpNodeLinkOptions extends NodeLinkOptions {
  /** Address to listen on (default 127.0.0.1). */
  hostname?: string;
  /** Port (default 0: any free port). */
  port?: number;
}

/** The node listening for the signer's TCP connection (`mod.ts run --connect tcp://…`). */
export class TcpNodeLink extends NodeLink {
  readonly #listener: Deno.TcpListener;
  readonly #accepting: Promise<void>;
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #readers = new Set<Promise<void>>();

  private constructor(listener: Deno.TcpListener, options: NodeLinkOptions) {
    super({ ...options, name: options.name ?? "tcp" });
    this.#listener = listener;
    this.#accepting = this.#accept();
  }

  /** Listens (synchronously) and accepts the signer's connections until {@link close}. */
  static listen(options: TcpNodeLinkOptions = {}): TcpNodeLink {
    const { hostname, port, ...rest } = options;
    const listener = Deno.listen({ hostname: hostname ?? "127.0.0.1", port: port ?? 0 });
    return new TcpNodeLink(listener, rest);
  }

  /** The port listened on. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** The `--connect` URL for the signer. */
  get url(): string {
    const host = this.#listener.addr.hostname;
    return `tcp://${host.includes(":") ? `[${host}]` : host}:${this.port}`;
  }

  async #accept(): Promise<void> {
    while (!this.isClosed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        break;
      }
      if (this.isClosed) {
        conn.close();
        break;
      }
      try {
        conn.setNoDelay(true);
      } catch {
        // best effort
      }
      this.#conns.add(conn);
      const att = this.attach(streamConnection(conn));
      const reader = pumpReplies(conn, att, {
        resync: false,
        onError: (message) =>
          this.logger.log("warn", "link.read_error", { transport: this.name, message }),
      }).finally(() => {
        this.#conns.delete(conn);
        this.#readers.delete(reader);
        try {
          conn.close();
        } catch {
          // already closed
        }
      });
      this.#readers.add(reader);
    }
  }

  /** Stops listening, closes the connection, rejects what is outstanding. */
  override async close(): Promise<void> {
    await super.close();
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    await this.#accepting;
    await Promise.allSettled([...this.#readers]);
  }
}

/** Options of {@link WebSocketNodeLink.listen}. */
export interface WebSocketNodeLinkOptions extends NodeLinkOptions {
  /** Address to listen on (default 127.0.0.1). */
  hostname?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /** The path the signer connects to (default `/signer`). */
  path?: string;
}

/** Close code for a message that is not one reply frame (as the signer's transport uses). */
export const LINK_CLOSE_BAD_FRAME = 4002;

/** Decodes a binary WebSocket message that must hold exactly one reply frame. */
export function decodeReplyMessage(data: Uint8Array): SerialReply {
  const decoder = serialReplyDecoder();
  const frames = decoder.push(data);
  decoder.end();
  if (frames.length !== 1) {
    throw new RangeError(`a message must hold one reply frame, not ${frames.length}`);
  }
  return frames[0];
}

/**
 * The node serving the signer's WebSocket (`mod.ts run --connect ws://HOST:PORT/PATH`): one
 * binary message per frame (protocol.md §1.6).
 */
export class WebSocketNodeLink extends NodeLink {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #path: string;
  readonly #sockets = new Set<WebSocket>();

  private constructor(options: WebSocketNodeLinkOptions) {
    const { hostname, port, path, ...rest } = options;
    super({ ...rest, name: rest.name ?? "websocket" });
    this.#path = path ?? "/signer";
    this.#server = Deno.serve(
      { hostname: hostname ?? "127.0.0.1", port: port ?? 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
  }

  /** Starts the server (synchronously); the signer connects to {@link url}. */
  static listen(options: WebSocketNodeLinkOptions = {}): WebSocketNodeLink {
    return new WebSocketNodeLink(options);
  }

  /** The port listened on. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** The `--connect` URL for the signer. */
  get url(): string {
    const host = this.#server.addr.hostname;
    return `ws://${host.includes(":") ? `[${host}]` : host}:${this.port}${this.#path}`;
  }

  #handle(request: Request): Response {
    if (new URL(request.url).pathname !== this.#path) {
      return new Response("not found", { status: 404 });
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("a WebSocket upgrade is expected", { status: 426 });
    }
    if (this.isClosed) return new Response("closed", { status: 503 });
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = "arraybuffer";
    let att: LinkAttachment | null = null;
    socket.addEventListener("open", () => {
      this.#sockets.add(socket);
      att = this.attach({
        send: (frame) => {
          if (socket.readyState !== WebSocket.OPEN) {
            return Promise.reject(new NodeLinkError("closed", "the socket is closed"));
          }
          socket.send(frame);
          return Promise.resolve();
        },
        close: () => {
          try {
            socket.close();
          } catch {
            // already closing
          }
        },
      });
    });
    socket.addEventListener("message", (ev) => {
      if (att === null) return;
      let reply: SerialReply;
      try {
        if (!(ev.data instanceof ArrayBuffer)) throw new TypeError("a text message");
        reply = decodeReplyMessage(new Uint8Array(ev.data));
      } catch (e) {
        this.logger.log("error", "link.malformed", {
          transport: this.name,
          message: e instanceof Error ? e.message.slice(0, 200) : "bad frame",
        });
        try {
          socket.close(LINK_CLOSE_BAD_FRAME, "bad frame");
        } catch {
          // already closing
        }
        return;
      }
      att.receive(reply);
    });
    socket.addEventListener("close", () => {
      this.#sockets.delete(socket);
      att?.closed();
    });
    return response;
  }

  /** Closes the sockets and stops the server, rejecting what is outstanding. */
  override async close(): Promise<void> {
    await super.close();
    for (const s of this.#sockets) {
      try {
        s.close();
      } catch {
        // already closing
      }
    }
    await this.#server.shutdown();
  }
}

/** Options of {@link SerialNodeLink.open}. */
export interface SerialNodeLinkOptions extends NodeLinkOptions {
  /** Delay before opening the device again after it went away (default 200 ms). */
  reopenDelayMs?: number;
}

/**
 * The node's end of a serial line (a character device or a pseudo-terminal, already in raw
 * mode): lock-step by default, resynchronising on line noise, reopened when it goes away. Line
 * noise can eat a frame, which on a lock-step line would hold every later request back for
 * ever, so requests time out by default after {@link SERIAL_REQUEST_TIMEOUT_MS} (a
 * `NodeLinkError` `timeout`; the slot goes to the next request, a late reply is dropped) and a
 * handshake with no reply by then is sent again; `requestTimeoutMs: Infinity` waits for ever.
 */
export class SerialNodeLink extends NodeLink {
  readonly #device: string;
  readonly #delay: number;
  readonly #running: Promise<void>;
  #files: Deno.FsFile[] = [];

  private constructor(device: string, options: SerialNodeLinkOptions) {
    const { reopenDelayMs, ...rest } = options;
    super({
      ...rest,
      maxInFlight: rest.maxInFlight ?? 1,
      requestTimeoutMs: rest.requestTimeoutMs ?? SERIAL_REQUEST_TIMEOUT_MS,
      name: rest.name ?? "serial",
    });
    this.#device = device;
    this.#delay = reopenDelayMs ?? 200;
    this.#running = this.#run();
  }

  /** Opens `device` (in the background, again after it goes away) until {@link close}. */
  static open(device: string, options: SerialNodeLinkOptions = {}): SerialNodeLink {
    return new SerialNodeLink(device, options);
  }

  /** The device. */
  get device(): string {
    return this.#device;
  }

  async #run(): Promise<void> {
    while (!this.isClosed) {
      // Two handles: Deno serialises operations on one file, so a pending read would hold back
      // every write on the same handle.
      let reader: Deno.FsFile | undefined;
      let writer: Deno.FsFile | undefined;
      try {
        reader = await Deno.open(this.#device, { read: true });
        writer = await Deno.open(this.#device, { write: true });
      } catch (e) {
        closeQuietly(reader);
        this.logger.log("warn", "link.open_failed", {
          transport: this.name,
          error: e instanceof Error ? e.name : "Error",
        });
        await new Promise((r) => setTimeout(r, this.#delay));
        continue;
      }
      if (this.isClosed) {
        closeQuietly(reader);
        closeQuietly(writer);
        break;
      }
      this.#files = [reader, writer];
      const w = writer;
      const r = reader;
      const att = this.attach(streamConnection({
        write: (p) => w.write(p),
        close: () => {
          closeQuietly(w);
          closeQuietly(r);
        },
      }));
      await pumpReplies(reader, att, { resync: true });
      this.#files = [];
      if (!this.isClosed) await new Promise((r) => setTimeout(r, this.#delay));
    }
  }

  /** Closes the device and stops reopening it, rejecting what is outstanding. */
  override async close(): Promise<void> {
    await super.close();
    for (const f of this.#files) closeQuietly(f);
    await this.#running;
  }
}
