/**
 * The frame loop every transport shares: serial-envelope requests in (protocol.md §1.3,
 * `AA 55 | u16 seq | 33-byte peer_id | u64 dbid | u32 len | body`), each handed to a
 * {@link FrameHandler} (the protocol dispatcher), its reply written back as
 * `5A A5 | u16 seq | u32 len | body` with the request's sequence number.
 *
 * - **Order.** Requests on one connection are handled one at a time and answered in arrival order,
 *   so pipelined requests (several in flight, as behind VLS's gRPC proxy) get their replies in the
 *   order they were sent, each with its own seq. Bytes may arrive in any chunking.
 * - **Malformed input.** With `resync: false` (TCP, WebSocket: reliable byte streams, where
 *   garbage means a broken peer) a bad magic or an impossible length closes the connection with
 *   an `error` log line (`frame.malformed`); the transport reconnects and the node re-sends what
 *   was not answered. With `resync: true` (serial: line noise, a device opened mid-frame) the
 *   bytes up to the next magic are dropped and counted (`frame.resync`, `warn`). Either way the
 *   process keeps running.
 * - **Corrupted lengths (serial).** With `resync: true` the loop also watches the line: when no
 *   byte has arrived for `idleMs` ({@link DEFAULT_IDLE_MS} by default) while a frame is
 *   incomplete, it calls the decoder's `idle()` (core/protocol/framing.ts). A lock-step node that
 *   sent a frame whose length a bit flip enlarged (13 read as 65549) is then waiting, and re-sends
 *   after its timeout (or sends its next request); as soon as such a complete frame sits behind
 *   the incomplete one, the incomplete one is dropped (`frame.resync` with `idle: true`) and the
 *   line serves again, instead of swallowing the next 64 KiB.
 * - **Handler errors.** A handler that throws (the dispatcher normally returns error replies
 *   itself) gets a `signer_error` reply (code {@link INTERNAL_ERROR_CODE}); the connection stays
 *   up. A channel whose `write` accepts no bytes is an error of the connection
 *   (`connection.write_error`), never an endless loop.
 * - **Idempotent retries.** After a reconnect the node re-sends every request it has no reply for
 *   (protocol.md §1.4), some of which the signer did answer before the connection broke. A
 *   {@link ReplyCache} shared by all connections of a transport maps (peer id, dbid, body) to the
 *   reply already released, so a re-sent request gets the same bytes and the signer does not run
 *   it again. The cache only ever returns bytes already sent to that same context, so it cannot
 *   release anything new. What it keeps, and when it forgets:
 *   - It skips the requests whose answer must be fresh each time, or whose repetition means
 *     something else than a retry ({@link UNCACHED_TYPES}): the init family (`init`, `init_2`,
 *     `dev_preinit`, `dev_preinit_v1`: each one negotiates again), `new_channel` and
 *     `forget_channel` (a channel forgotten and then "new" again must meet the dispatcher's
 *     refusal, not an old `new_channel_reply`), random bytes, heartbeats, ping, chain queries and
 *     updates, pre-approvals whose answer changes when the operator decides, `check_outpoint`,
 *     `get_per_commitment_point`. The dispatcher answers a retry of any of them itself.
 *   - It never keeps error replies (`signer_error`, `init_reply_failure`: a temporary refusal
 *     must be re-run), nor a reply that carries a secret (transports/record.ts
 *     `replyCarriesSecret`: `ecdh_resp`, `derive_secret_reply`, `revoke_commitment_tx_reply`,
 *     `validate_commitment_tx_reply`, `get_per_commitment_point_reply`,
 *     `get_secure_random_bytes_reply`), so no secret outlives its request in the cache. Those
 *     requests are deterministic, so a retry gets the same bytes from the dispatcher: ECDH and
 *     `derive_secret` are pure functions of the node key, and the core treats a revocation of an
 *     already revoked commitment, or a validation of the current one (with, below version 5, its
 *     revocation of the previous one), as a retry that releases the same secret and changes
 *     nothing.
 *   - When an init-family request runs and its reply is not byte for byte the reply of the
 *     previous init (another negotiated version, say), the whole cache is cleared: replies made
 *     under one version do not mean the same under another. VLS's proxy replays its cached init
 *     (`min = max = negotiated`) first on every reconnect; that gets the same reply, so the
 *     re-sent requests after it still find their replies.
 *   - It is bounded: least recently used entries go first beyond {@link DEFAULT_CACHE_SIZE}
 *     entries or {@link DEFAULT_CACHE_BYTES} bytes of replies.
 *
 *   What it does cache are the requests with effects (signatures, channel state changes) and
 *   deterministic queries whose replies are public.
 *
 * @module
 */
import { concat, toHex, u64be } from "../core/bytes.ts";
import { sha256 } from "../core/crypto/mod.ts";
import { SIGNER_ERROR, signerError } from "../core/protocol/errors.ts";
import {
  encodeSerialReply,
  type SerialRequest,
  serialRequestDecoder,
} from "../core/protocol/framing.ts";
import { requestById } from "../core/protocol/messages.ts";
import { type Logger, silentLogger } from "./log.ts";
import { replyCarriesSecret, type TrafficRecorder } from "./record.ts";
import {
  type ByteChannel,
  type FrameHandler,
  type RequestContext,
  TransportError,
} from "./types.ts";

export type { ByteChannel, FrameHandler, RequestContext } from "./types.ts";

/** `signer_error` code of a reply to a request whose handler threw (the dispatcher's INTERNAL). */
export const INTERNAL_ERROR_CODE: 500 = SIGNER_ERROR.INTERNAL;

/** Reply cache capacity (entries) by default. */
export const DEFAULT_CACHE_SIZE = 1024;

/** Reply cache capacity (bytes of replies held) by default: 8 MiB. */
export const DEFAULT_CACHE_BYTES: number = 8 * 1024 * 1024;

/**
 * How long a resynchronising (serial) line may stay silent while a frame is incomplete before
 * the decoder is told it is idle (milliseconds; see the module documentation).
 */
export const DEFAULT_IDLE_MS = 500;

/** The init family: `init` (11), `init_2` (1011), `dev_preinit` (99), `dev_preinit_v1` (90). */
export const INIT_TYPES: ReadonlySet<number> = new Set([11, 1011, 99, 90]);

/**
 * Request types never answered from the cache (see the module documentation): the init family
 * ({@link INIT_TYPES}), new_channel (30) and forget_channel (34), ping, dev_memleak,
 * check_outpoint, get_per_commitment_point (below version 6 its old secret appears once the
 * commitment is revoked), the pre-approvals (38, 39, 51, 52), get_secure_random_bytes, tip_info,
 * forward/reverse watches, add_block, remove_block, get_heartbeat, block_chunk.
 */
export const UNCACHED_TYPES: ReadonlySet<number> = new Set([
  ...INIT_TYPES,
  30,
  34,
  1000,
  33,
  32,
  18,
  38,
  39,
  51,
  52,
  1036,
  2002,
  2003,
  2004,
  2005,
  2006,
  2008,
  2009,
]);

/** Reply types that are errors (never cached): `init_reply_failure`, `signer_error`. */
export const ERROR_REPLY_TYPES: ReadonlySet<number> = new Set([115, 3000]);

function typeOf(body: Uint8Array): number {
  return body.length >= 2 ? (body[0] << 8) | body[1] : -1;
}

/**
 * A bounded LRU map from (context, request body) to the reply released for it (see the module
 * documentation for what it keeps and when it forgets).
 */
export class ReplyCache {
  readonly #capacity: number;
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Uint8Array>();
  #bytes = 0;
  #hits = 0;
  #lastInit: string | undefined;

  /**
   * Creates an empty cache.
   * @param options `capacity`: the most entries kept (default {@link DEFAULT_CACHE_SIZE});
   *   `maxBytes`: the most reply bytes kept (default {@link DEFAULT_CACHE_BYTES})
   */
  constructor(options: { capacity?: number; maxBytes?: number } = {}) {
    const capacity = options.capacity ?? DEFAULT_CACHE_SIZE;
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new RangeError("cache capacity must be a non-negative integer");
    }
    const maxBytes = options.maxBytes ?? DEFAULT_CACHE_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError("cache maxBytes must be a non-negative integer");
    }
    this.#capacity = capacity;
    this.#maxBytes = maxBytes;
  }

  /** Whether a request of this body may be answered from the cache. */
  static cacheable(body: Uint8Array): boolean {
    return !UNCACHED_TYPES.has(typeOf(body));
  }

  /** Whether a reply may be kept: not an error, and no secret in it. */
  static keepable(reply: Uint8Array): boolean {
    const type = typeOf(reply);
    return !ERROR_REPLY_TYPES.has(type) && !replyCarriesSecret(type);
  }

  static #key(ctx: RequestContext, body: Uint8Array): string {
    return toHex(sha256(concat(ctx.peerId, u64be(ctx.dbid), body)));
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes of replies held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Replies served from the cache so far. */
  get hits(): number {
    return this.#hits;
  }

  /** The reply released for this request, if any (refreshes its place). */
  get(ctx: RequestContext, body: Uint8Array): Uint8Array | undefined {
    if (!ReplyCache.cacheable(body)) return undefined;
    const key = ReplyCache.#key(ctx, body);
    const reply = this.#entries.get(key);
    if (reply === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, reply);
    this.#hits++;
    return reply;
  }

  /**
   * Remembers the reply to a request (ignored for uncacheable requests, error replies, replies
   * carrying a secret, and replies larger than the byte limit).
   */
  set(ctx: RequestContext, body: Uint8Array, reply: Uint8Array): void {
    if (this.#capacity === 0 || !ReplyCache.cacheable(body) || !ReplyCache.keepable(reply)) return;
    if (reply.length > this.#maxBytes) return;
    const key = ReplyCache.#key(ctx, body);
    this.#remove(key);
    this.#entries.set(key, reply.slice());
    this.#bytes += reply.length;
    while (this.#entries.size > this.#capacity || this.#bytes > this.#maxBytes) {
      this.#remove(this.#entries.keys().next().value as string);
    }
  }

  #remove(key: string): void {
    const old = this.#entries.get(key);
    if (old === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= old.length;
  }

  /** Forgets every entry. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  /**
   * Notes that an init-family request ran with `reply` (null: none): clears the cache unless the
   * reply is byte for byte the previous init's (see the module documentation).
   * @returns whether the cache was cleared
   */
  initRan(reply: Uint8Array | null): boolean {
    const digest = reply === null ? "none" : toHex(sha256(reply));
    const same = digest === this.#lastInit;
    this.#lastInit = digest;
    if (same) return false;
    this.clear();
    return true;
  }
}

/**
 * Why {@link FrameSession.serve} (or a transport's connection) returned: end of stream, a
 * read/write error, malformed frames, a stop, or `overload` (the peer queued more requests than
 * the transport accepts: transports/websocket.ts).
 */
export type ServeEnd = "eof" | "error" | "framing" | "aborted" | "overload";

/** Options of {@link FrameSession}. */
export interface FrameSessionOptions {
  /** The transport's name (logs, recordings). */
  transport: string;
  /** The retry cache (shared across connections; default: a new one). */
  cache?: ReplyCache;
  /** Records traffic when given. */
  recorder?: TrafficRecorder;
  /** Where events go. */
  logger?: Logger;
}

/** Counters of a session. */
export interface SessionStats {
  /** Requests received. */
  requests: number;
  /** Replies written (cached ones included). */
  replies: number;
  /** Replies served from the cache. */
  cached: number;
  /** Requests whose handler threw. */
  handlerErrors: number;
}

function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f]+/g, " ").slice(0, 200);
}

/**
 * Writes all of `bytes`.
 * @throws {TransportError} when a write accepts no bytes (it would never finish)
 */
async function writeAll(channel: ByteChannel, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) {
    const n = await channel.write(bytes.subarray(off));
    if (!Number.isInteger(n) || n <= 0 || n > bytes.length - off) {
      throw new TransportError(`write accepted ${n} bytes of ${bytes.length - off}`);
    }
    off += n;
  }
}

/**
 * The read's outcome, or "idle" when `ms` pass first (the read stays pending: await the same
 * promise again). Without `ms`, the read's outcome.
 */
export function readOrIdle(
  reading: Promise<number | null>,
  ms: number | undefined,
): Promise<{ n: number | null } | "idle"> {
  const read = reading.then((n) => ({ n }));
  if (ms === undefined) return read;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const idle = new Promise<"idle">((resolve) => (timer = setTimeout(() => resolve("idle"), ms)));
  return Promise.race([read, idle]).finally(() => clearTimeout(timer));
}

/** The request/reply loop of one transport (see the module documentation). */
export class FrameSession {
  readonly #handler: FrameHandler;
  readonly #transport: string;
  readonly #cache: ReplyCache;
  readonly #recorder?: TrafficRecorder;
  readonly #logger: Logger;
  readonly #stats: SessionStats = { requests: 0, replies: 0, cached: 0, handlerErrors: 0 };

  /**
   * Creates a session.
   * @param handler what answers requests
   * @param options the transport's name, the cache, the recorder and the logger
   */
  constructor(handler: FrameHandler, options: FrameSessionOptions) {
    this.#handler = handler;
    this.#transport = options.transport;
    this.#cache = options.cache ?? new ReplyCache();
    this.#recorder = options.recorder;
    this.#logger = options.logger ?? silentLogger;
  }

  /** The counters so far. */
  get stats(): Readonly<SessionStats> {
    return { ...this.#stats };
  }

  /** The retry cache. */
  get cache(): ReplyCache {
    return this.#cache;
  }

  /**
   * The reply body for a request: from the cache, else from the handler (a thrown error becomes a
   * `signer_error` reply). Nothing is recorded (replay uses this directly).
   * @param ctx the request's context
   * @param body the request body
   * @param options `seq`: the frame's sequence number, for logs
   * @returns the reply body (null: no reply) and whether it came from the cache
   */
  async respond(
    ctx: RequestContext,
    request: Uint8Array,
    options: { seq?: number } = {},
  ): Promise<{ body: Uint8Array | null; cached: boolean }> {
    const req = { seq: options.seq ?? 0, body: request };
    const hit = this.#cache.get(ctx, req.body);
    if (hit !== undefined) {
      this.#stats.cached++;
      this.#logger.log("info", "request.cached", {
        seq: req.seq,
        type: typeOf(req.body),
        name: requestById(typeOf(req.body))?.name ?? null,
      });
      return { body: hit, cached: true };
    }
    let body: Uint8Array | null;
    const type = typeOf(req.body);
    try {
      body = await this.#handler.handle(ctx, req.body);
      if (body !== null) encodeSerialReply({ seq: req.seq, body }); // validates the body
    } catch (e) {
      this.#stats.handlerErrors++;
      const name = e instanceof Error ? e.name : "Error";
      const message = e instanceof Error ? oneLine(e.message) : "unexpected failure";
      const request = requestById(typeOf(req.body))?.name ?? `message type ${typeOf(req.body)}`;
      this.#logger.log("error", "handler.error", {
        seq: req.seq,
        type: typeOf(req.body),
        name: request,
        error: name,
        message,
      });
      body = signerError(INTERNAL_ERROR_CODE, `internal: ${request}: ${name}`);
    }
    if (INIT_TYPES.has(type)) {
      if (this.#cache.initRan(body)) {
        this.#logger.log("info", "cache.cleared", { type, name: requestById(type)?.name ?? null });
      }
    } else if (body !== null) {
      this.#cache.set(ctx, req.body, body);
    }
    return { body, cached: false };
  }

  /**
   * Handles one request frame: records it, answers it, records the reply.
   * @returns the reply frame (serial envelope), or null when the message has no reply
   */
  async process(req: SerialRequest): Promise<Uint8Array | null> {
    this.#stats.requests++;
    const ctx: RequestContext = { peerId: req.peerId, dbid: req.dbid };
    const id = this.#recorder?.request(this.#transport, { seq: req.seq, ctx, body: req.body });
    const { body, cached } = await this.respond(ctx, req.body, { seq: req.seq });
    if (body === null) return null;
    if (this.#recorder && id !== undefined) {
      this.#recorder.reply(this.#transport, { id, seq: req.seq, ctx, body, cached });
    }
    this.#stats.replies++;
    return encodeSerialReply({ seq: req.seq, body });
  }

  /**
   * Serves one connection until it ends: decodes request frames from `channel` (any chunking),
   * answers each in order, writes the replies. Never throws.
   * @param channel the connection
   * @param options `resync` (skip to the next magic on bad input instead of closing), `idleMs`
   *   (with `resync`: how long the line may be silent while a frame is incomplete before the
   *   decoder is told it is idle; default {@link DEFAULT_IDLE_MS}; see the module
   *   documentation), `signal` (stop: the caller also closes the channel to interrupt a pending
   *   read)
   */
  async serve(
    channel: ByteChannel,
    options: { resync?: boolean; idleMs?: number; signal?: AbortSignal } = {},
  ): Promise<ServeEnd> {
    const resync = options.resync ?? false;
    const idleMs = resync ? options.idleMs ?? DEFAULT_IDLE_MS : undefined;
    const decoder = serialRequestDecoder({ resync });
    const buf = new Uint8Array(64 * 1024);
    let skipped = 0;
    const resynced = (idle: boolean) => {
      if (decoder.skipped <= skipped) return;
      this.#logger.log("warn", "frame.resync", {
        transport: this.#transport,
        skipped: decoder.skipped - skipped,
        ...(idle ? { idle: true } : {}),
      });
      skipped = decoder.skipped;
    };
    while (true) {
      if (options.signal?.aborted) return "aborted";
      let n: number | null;
      try {
        const reading = channel.read(buf);
        while (true) {
          // Only while a frame is incomplete is silence worth a look (serial, lock-step).
          const r = await readOrIdle(reading, decoder.buffered > 0 ? idleMs : undefined);
          if (r !== "idle") {
            n = r.n;
            break;
          }
          const frames = decoder.idle();
          resynced(true);
          const ended = await this.#answer(channel, frames, options.signal);
          if (ended !== undefined) return ended;
        }
      } catch (e) {
        if (options.signal?.aborted) return "aborted";
        this.#logger.log("warn", "connection.read_error", {
          transport: this.#transport,
          error: e instanceof Error ? e.name : "Error",
          message: e instanceof Error ? oneLine(e.message) : "",
        });
        return "error";
      }
      if (n === null) {
        if (decoder.buffered > 0) {
          this.#logger.log("warn", "frame.truncated", {
            transport: this.#transport,
            buffered: decoder.buffered,
          });
        }
        return "eof";
      }
      let frames: SerialRequest[];
      try {
        frames = decoder.push(buf.subarray(0, n));
      } catch (e) {
        this.#logger.log("error", "frame.malformed", {
          transport: this.#transport,
          message: e instanceof Error ? oneLine(e.message) : "",
          action: "close",
        });
        return "framing";
      }
      resynced(false);
      const ended = await this.#answer(channel, frames, options.signal);
      if (ended !== undefined) return ended;
    }
  }

  /** Answers `frames` in order; a {@link ServeEnd} when the connection broke. */
  async #answer(
    channel: ByteChannel,
    frames: SerialRequest[],
    signal: AbortSignal | undefined,
  ): Promise<ServeEnd | undefined> {
    for (const frame of frames) {
      const reply = await this.process(frame);
      if (reply === null) continue;
      try {
        await writeAll(channel, reply);
      } catch (e) {
        if (signal?.aborted) return "aborted";
        this.#logger.log("warn", "connection.write_error", {
          transport: this.#transport,
          error: e instanceof Error ? e.name : "Error",
          message: e instanceof Error ? oneLine(e.message) : "",
        });
        return "error";
      }
    }
    return undefined;
  }
}
