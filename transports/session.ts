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
 * - **Handler errors.** A handler that throws (the dispatcher normally returns error replies
 *   itself) gets a `signer_error` reply (code {@link INTERNAL_ERROR_CODE}); the connection stays
 *   up.
 * - **Idempotent retries.** After a reconnect the node re-sends every request it has no reply for
 *   (protocol.md §1.4), some of which the signer did answer before the connection broke. A
 *   {@link ReplyCache} shared by all connections of a transport maps (peer id, dbid, body) to the
 *   reply already released, so a re-sent request gets the same bytes and the signer does not run
 *   it again. The cache only ever returns bytes already sent to that same context, so it cannot
 *   release anything new. It is bounded (LRU, {@link DEFAULT_CACHE_SIZE} entries), it never keeps
 *   error replies (`signer_error`, `init_reply_failure`: a temporary refusal must be re-run), and
 *   it skips the requests whose answer must be fresh each time ({@link UNCACHED_TYPES}: random
 *   bytes, heartbeats, ping, chain queries and updates, pre-approvals whose answer changes when the
 *   operator decides, `check_outpoint`, `get_per_commitment_point`). What it does cache are the
 *   requests with effects (signatures, revocations, channel state changes) and deterministic
 *   queries.
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
import type { TrafficRecorder } from "./record.ts";
import type { ByteChannel, FrameHandler, RequestContext } from "./types.ts";

export type { ByteChannel, FrameHandler, RequestContext } from "./types.ts";

/** `signer_error` code of a reply to a request whose handler threw (the dispatcher's INTERNAL). */
export const INTERNAL_ERROR_CODE: 500 = SIGNER_ERROR.INTERNAL;

/** Reply cache capacity (entries) by default. */
export const DEFAULT_CACHE_SIZE = 1024;

/**
 * Request types never answered from the cache (their answer must be fresh): ping, dev_memleak,
 * check_outpoint, get_per_commitment_point (below version 6 its old secret appears once the
 * commitment is revoked), the pre-approvals (38, 39, 51, 52), get_secure_random_bytes, tip_info,
 * forward/reverse watches, add_block, remove_block, get_heartbeat, block_chunk.
 */
export const UNCACHED_TYPES: ReadonlySet<number> = new Set([
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

/** A bounded LRU map from (context, request body) to the reply released for it. */
export class ReplyCache {
  readonly #capacity: number;
  readonly #entries = new Map<string, Uint8Array>();
  #hits = 0;

  /**
   * Creates an empty cache.
   * @param options `capacity`: the most entries kept (default {@link DEFAULT_CACHE_SIZE})
   */
  constructor(options: { capacity?: number } = {}) {
    const capacity = options.capacity ?? DEFAULT_CACHE_SIZE;
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new RangeError("cache capacity must be a non-negative integer");
    }
    this.#capacity = capacity;
  }

  /** Whether a request of this body may be answered from the cache. */
  static cacheable(body: Uint8Array): boolean {
    return !UNCACHED_TYPES.has(typeOf(body));
  }

  static #key(ctx: RequestContext, body: Uint8Array): string {
    return toHex(sha256(concat(ctx.peerId, u64be(ctx.dbid), body)));
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
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

  /** Remembers the reply to a request (ignored for uncacheable requests and error replies). */
  set(ctx: RequestContext, body: Uint8Array, reply: Uint8Array): void {
    if (this.#capacity === 0 || !ReplyCache.cacheable(body)) return;
    if (ERROR_REPLY_TYPES.has(typeOf(reply))) return;
    const key = ReplyCache.#key(ctx, body);
    this.#entries.delete(key);
    this.#entries.set(key, reply.slice());
    while (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}

/** Why {@link FrameSession.serve} returned. */
export type ServeEnd = "eof" | "error" | "framing" | "aborted";

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

async function writeAll(channel: ByteChannel, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await channel.write(bytes.subarray(off));
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
    if (body !== null) this.#cache.set(ctx, req.body, body);
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
   * @param options `resync` (skip to the next magic on bad input instead of closing), `signal`
   *   (stop: the caller also closes the channel to interrupt a pending read)
   */
  async serve(
    channel: ByteChannel,
    options: { resync?: boolean; signal?: AbortSignal } = {},
  ): Promise<ServeEnd> {
    const decoder = serialRequestDecoder({ resync: options.resync ?? false });
    const buf = new Uint8Array(64 * 1024);
    let skipped = 0;
    while (true) {
      if (options.signal?.aborted) return "aborted";
      let n: number | null;
      try {
        n = await channel.read(buf);
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
      if (decoder.skipped > skipped) {
        this.#logger.log("warn", "frame.resync", {
          transport: this.#transport,
          skipped: decoder.skipped - skipped,
        });
        skipped = decoder.skipped;
      }
      for (const frame of frames) {
        const reply = await this.process(frame);
        if (reply === null) continue;
        try {
          await writeAll(channel, reply);
        } catch (e) {
          if (options.signal?.aborted) return "aborted";
          this.#logger.log("warn", "connection.write_error", {
            transport: this.#transport,
            error: e instanceof Error ? e.name : "Error",
          });
          return "error";
        }
      }
    }
  }
}
