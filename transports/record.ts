/**
 * Traffic recording (`--record FILE`): every request a transport receives and every reply it
 * sends, as JSON lines, for `mod.ts replay` (transports/replay.ts).
 *
 * One line per message:
 *
 * ```json
 * {"time":"2026-01-01T00:00:00.000Z","dir":"request","transport":"tcp","id":7,"seq":6,
 *  "peer_id":"02…","dbid":"1","type":19,"name":"sign_remote_commitment_tx","hex":"0013…"}
 * ```
 *
 * - `time`: ISO time the line was made; `dir`: `request` or `reply`; `transport`: `tcp`,
 *   `websocket` or `serial`;
 * - `id`: the request's number in this recording (from 1; a reply carries its request's id), so
 *   replies pair with requests whatever the sequence numbers do (they wrap, and each connection
 *   may restart them);
 * - `seq`: the frame's u16 sequence number; `peer_id` (hex) and `dbid` (decimal string: it is a
 *   u64) are the request's context, repeated on the reply;
 * - `type`: the message id (`peekType`), `name`: its name in the message table when known;
 * - `hex`: the message body (u16 type + fields, no envelope);
 * - `cached: true` on a reply served from the idempotent-retry cache (transports/session.ts).
 *
 * **Secrets.** A reply whose message carries a secret (`ecdh_resp`, `derive_secret_reply`,
 * `get_secure_random_bytes_reply`, and the per-commitment secrets of
 * `get_per_commitment_point_reply`, `validate_commitment_tx_reply`,
 * `revoke_commitment_tx_reply`) is recorded as `sha256` (hex digest of the body) instead of
 * `hex`: replay compares digests. An init-family request carrying key material of ours (the dev
 * seeds and `hsm_encryption_key` of `init`, `init_2`, `dev_preinit_v1`, `dev_preinit`) is recorded
 * the same way and cannot be replayed; production nodes never send them. Other requests are
 * recorded in full, because replay needs them. Among them are requests that carry the
 * **counterparty's** secrets in clear: `validate_revocation` (36, the per-commitment secret the
 * peer revealed when revoking), `check_future_secret` (22, a secret the peer claims is ours, sent
 * during channel reestablishment), `sign_penalty_to_us` and `sign_any_penalty_to_us` (14 and 144,
 * the revocation secret of a breached commitment). These are not our keys, but they are what lets
 * us punish the peer's breaches (and, for 22, what a peer may have learned): a recording holds the
 * peer's revealed secrets, so it must be guarded like the channel database. The file is therefore
 * kept at mode 0600: created so, and set to 0600 when an existing file with another mode is
 * continued (the recorder refuses to write into a file whose mode it cannot make 0600). It belongs
 * with the data directory.
 *
 * Lines are written as they come and fsynced at most every `flushIntervalMs` (default 1 s) and on
 * {@link TrafficRecorder.close}. A write failure is logged once and stops the recording; it never
 * stops the signer.
 *
 * @module
 */
import { toHex } from "../core/bytes.ts";
import { SecretBytes, sha256 } from "../core/crypto/mod.ts";
import { decodeMessage } from "../core/protocol/codec.ts";
import { replyById, requestById } from "../core/protocol/messages.ts";
import type { RequestContext } from "./types.ts";
import { type Logger, silentLogger } from "./log.ts";

/** One line of a transport recording (see the module documentation). */
export interface TrafficLine {
  /** ISO time. */
  time: string;
  /** Direction. */
  dir: "request" | "reply";
  /** The transport (`tcp`, `websocket`, `serial`). */
  transport: string;
  /** The request's number in the recording (a reply carries its request's). */
  id: number;
  /** The frame's sequence number. */
  seq: number;
  /** The request context's peer id, hex. */
  peer_id: string;
  /** The request context's dbid, decimal. */
  dbid: string;
  /** The message id. */
  type: number;
  /** The message name, when known. */
  name?: string;
  /** The body, hex (absent when redacted). */
  hex?: string;
  /** SHA-256 of the body, hex (instead of `hex` when the body carries a secret). */
  sha256?: string;
  /** The reply came from the retry cache. */
  cached?: boolean;
}

/** An error of the recording itself (bad file). */
export class RecordError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "RecordError";
  }
}

/** Codec names that carry a secret (`sec`, `opt<sec>`, `secrets`, `str0Secret`...). */
function isSecretCodec(name: string): boolean {
  return /(^|[^a-z])sec([^a-z]|$)/i.test(name) || /secret/i.test(name);
}

const secretReplyCache = new Map<number, boolean>();

/** Whether reply type `type` carries a secret (its body is then recorded as a digest only). */
export function replyCarriesSecret(type: number): boolean {
  let known = secretReplyCache.get(type);
  if (known === undefined) {
    const def = replyById(type);
    known = def !== undefined &&
      Object.values(def.fields).some((c) => isSecretCodec((c as { name: string }).name));
    secretReplyCache.set(type, known);
  }
  return known;
}

/** Init-family requests that may carry key material of ours. */
const OWN_SECRET_REQUESTS = new Set(["init", "init_2", "dev_preinit_v1", "dev_preinit"]);

function holdsSecret(value: unknown, depth = 0): boolean {
  if (value instanceof SecretBytes) return true;
  if (depth > 8 || value === null || typeof value !== "object" || value instanceof Uint8Array) {
    return false;
  }
  return Object.values(value as Record<string, unknown>).some((v) => holdsSecret(v, depth + 1));
}

/**
 * Whether a request body carries key material of ours (see the module documentation); such a
 * request is recorded as a digest. A body that does not decode is recorded in full.
 */
export function requestCarriesSecret(body: Uint8Array): boolean {
  if (body.length < 2) return false;
  const def = requestById((body[0] << 8) | body[1]);
  if (def === undefined || !OWN_SECRET_REQUESTS.has(def.name)) return false;
  try {
    return holdsSecret(decodeMessage(body));
  } catch {
    return false;
  }
}

/** Builds the line for one message (exported for tests and tools). */
export function trafficLine(
  dir: "request" | "reply",
  info: {
    transport: string;
    id: number;
    seq: number;
    ctx: RequestContext;
    body: Uint8Array;
    cached?: boolean;
    time?: Date;
  },
): TrafficLine {
  const type = info.body.length >= 2 ? (info.body[0] << 8) | info.body[1] : -1;
  const name = dir === "request" ? requestById(type)?.name : replyById(type)?.name;
  const secret = dir === "request" ? requestCarriesSecret(info.body) : replyCarriesSecret(type);
  const line: TrafficLine = {
    time: (info.time ?? new Date()).toISOString(),
    dir,
    transport: info.transport,
    id: info.id,
    seq: info.seq,
    peer_id: toHex(info.ctx.peerId),
    dbid: info.ctx.dbid.toString(),
    type,
  };
  if (name !== undefined) line.name = name;
  if (secret) line.sha256 = toHex(sha256(info.body));
  else line.hex = toHex(info.body);
  if (info.cached) line.cached = true;
  return line;
}

/**
 * Makes the recording readable and writable by its owner only (an existing file may have been
 * created with another mode), then checks the mode of the file actually open: a path replaced in
 * between is refused rather than written into. `mode` is unknown on Windows: nothing to do there.
 * @throws {RecordError} when the mode cannot be set to 0600
 */
async function ownerOnly(file: Deno.FsFile, path: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  try {
    await Deno.chmod(path, 0o600);
  } catch (e) {
    throw new RecordError(`cannot set mode 0600 on recording ${path} (${(e as Error).name})`);
  }
  const mode = (await file.stat()).mode;
  if (mode !== null && (mode & 0o777) !== 0o600) {
    throw new RecordError(`recording ${path} is not mode 0600 (it was replaced while opening)`);
  }
}

/** Options of {@link TrafficRecorder.open}. */
export interface TrafficRecorderOptions {
  /** Longest time between a line and its fsync, in milliseconds (default 1000). */
  flushIntervalMs?: number;
  /** Where a write failure is reported. */
  logger?: Logger;
  /** The clock (default `new Date()`). */
  now?: () => Date;
}

/** Appends request and reply lines to a recording file (see the module documentation). */
export class TrafficRecorder {
  readonly #file: Deno.FsFile;
  readonly #path: string;
  readonly #interval: number;
  readonly #logger: Logger;
  readonly #now: () => Date;
  #tail: Promise<void> = Promise.resolve();
  #nextId = 1;
  #dirty = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #broken = false;
  #closed = false;
  #lines = 0;

  private constructor(file: Deno.FsFile, path: string, options: TrafficRecorderOptions) {
    this.#file = file;
    this.#path = path;
    this.#interval = options.flushIntervalMs ?? 1000;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Opens `path` for appending (created with mode 0600; an existing recording is continued, with
   * ids starting after its last one, and its mode set to 0600).
   * @throws {RecordError} when the file cannot be opened or made mode 0600
   */
  static async open(path: string, options: TrafficRecorderOptions = {}): Promise<TrafficRecorder> {
    let file: Deno.FsFile;
    let last = 0;
    try {
      const text = await Deno.readTextFile(path);
      for (const line of text.split("\n")) {
        const m = /"id":(\d+)/.exec(line);
        if (m) last = Math.max(last, Number(m[1]));
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new RecordError(`cannot read recording ${path} (${(e as Error).name})`);
      }
    }
    try {
      file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
    } catch (e) {
      throw new RecordError(`cannot open recording ${path} (${(e as Error).name})`);
    }
    try {
      await ownerOnly(file, path);
    } catch (e) {
      file.close();
      throw e;
    }
    const recorder = new TrafficRecorder(file, path, options);
    recorder.#nextId = last + 1;
    return recorder;
  }

  /** The file's path. */
  get path(): string {
    return this.#path;
  }

  /** Lines written to the file so far by this recorder (see {@link flush}). */
  get lines(): number {
    return this.#lines;
  }

  /**
   * Records a request; returns its id (to pass to {@link reply}).
   * @param transport the transport's name
   * @param frame the request's sequence number, context and body
   */
  request(
    transport: string,
    frame: { seq: number; ctx: RequestContext; body: Uint8Array },
  ): number {
    const id = this.#nextId++;
    this.#append(trafficLine("request", { transport, id, ...frame, time: this.#now() }));
    return id;
  }

  /**
   * Records a reply to request `id`.
   * @param transport the transport's name
   * @param frame the request id, sequence number, context, reply body and whether it was cached
   */
  reply(
    transport: string,
    frame: { id: number; seq: number; ctx: RequestContext; body: Uint8Array; cached?: boolean },
  ): void {
    this.#append(trafficLine("reply", { transport, ...frame, time: this.#now() }));
  }

  #append(line: TrafficLine): void {
    if (this.#closed || this.#broken) return;
    const bytes = new TextEncoder().encode(JSON.stringify(line) + "\n");
    this.#tail = this.#tail.then(async () => {
      if (this.#broken) return;
      try {
        for (let off = 0; off < bytes.length;) {
          const n = await this.#file.write(bytes.subarray(off));
          if (n <= 0) throw new RecordError("a write accepted no bytes");
          off += n;
        }
        this.#lines++;
        this.#dirty = true;
      } catch (e) {
        this.#fail(e);
      }
    });
    this.#schedule();
  }

  #fail(e: unknown): void {
    this.#broken = true;
    this.#logger.log("error", "record.failed", {
      path: this.#path,
      error: e instanceof Error ? e.name : "error",
    });
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch(() => {});
    }, this.#interval);
  }

  /** Waits for the lines written so far and fsyncs the file. */
  flush(): Promise<void> {
    this.#tail = this.#tail.then(async () => {
      if (!this.#dirty || this.#broken) return;
      this.#dirty = false;
      try {
        await this.#file.syncData();
      } catch (e) {
        this.#fail(e);
      }
    });
    return this.#tail;
  }

  /** Flushes, fsyncs and closes the file; later lines are dropped. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#closed = true; // no new lines from here on
    await this.flush();
    this.#file.close();
  }
}
