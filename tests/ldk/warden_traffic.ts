/**
 * Signer traffic at the {@link SignerApi} boundary: a recording wrapper and a replayer.
 *
 * A traffic file has one JSON line (core/store/json.ts `toJson`: bigint and bytes tagged) per
 * request and per reply: `{seq, dir: "request" | "reply", method, channel, body}`. A request's
 * body is its argument list after the channel id; a reply's body is `{ok: value}` (null for none)
 * or `{error: {name, message, rules, temporary, code}}`. Node-level requests (`addBlock`, the
 * blocks the node feeds: the signer's chain and clock) have `channel: null` and their whole
 * argument list as body, so a replay rebuilds the same chain view.
 *
 * @module
 */
import { fromHex } from "../../core/bytes.ts";
import { fromJson, toJson } from "../../core/store/json.ts";
import { ChannelId } from "../../core/keys/types.ts";
import {
  NODE_LEVEL_METHODS,
  SIGNER_API_METHODS,
  type SignerApi,
} from "../../transports/ldk/api.ts";

/** One traffic line. */
export interface TrafficRecord {
  /** Sequence number (a request and its reply share it). */
  seq: number;
  /** Direction. */
  dir: "request" | "reply";
  /** Signer API method. */
  method: string;
  /** Channel keys id, hex (null for node-level requests). */
  channel: string | null;
  /** Arguments after the channel id (request), or `{ok}` / `{error}` (reply). */
  body: unknown;
}

function errorBody(e: unknown): { error: { [k: string]: unknown } } {
  const err = e instanceof Error ? e : new Error(String(e));
  const x = err as Error & { rules?: unknown; temporary?: unknown; code?: unknown };
  return {
    error: {
      name: err.name,
      message: err.message,
      rules: Array.isArray(x.rules) ? x.rules : [],
      temporary: x.temporary === true,
      code: typeof x.code === "string" ? x.code : "",
    },
  };
}

/** A {@link SignerApi} that records every request and reply as traffic lines. */
export class RecordingSignerApi {
  /** The wrapped API. */
  readonly inner: SignerApi;
  /** Recorded lines (JSON). */
  readonly lines: string[] = [];
  /** The recording API to hand to the adapter. */
  readonly api: SignerApi;
  #seq = 0;

  /**
   * Wraps `inner`.
   * @param inner the signer
   */
  constructor(inner: SignerApi) {
    this.inner = inner;
    const api: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const method of SIGNER_API_METHODS) {
      api[method] = (...args: unknown[]) => this.#call(method, args);
    }
    this.api = api as unknown as SignerApi;
  }

  #emit(r: TrafficRecord): void {
    this.lines.push(toJson(r));
  }

  async #call(method: keyof SignerApi, args: unknown[]): Promise<unknown> {
    const nodeLevel = NODE_LEVEL_METHODS.has(method);
    const id = nodeLevel ? null : args[0] as ChannelId;
    const rest = nodeLevel ? args : args.slice(1);
    const seq = ++this.#seq;
    const channel = id?.toHex() ?? null;
    this.#emit({ seq, dir: "request", method, channel, body: rest });
    const fn = this.inner[method] as (...a: unknown[]) => Promise<unknown>;
    try {
      const value = await fn.call(this.inner, ...args);
      this.#emit({ seq, dir: "reply", method, channel, body: { ok: value ?? null } });
      return value;
    } catch (e) {
      this.#emit({ seq, dir: "reply", method, channel, body: errorBody(e) });
      throw e;
    }
  }
}

/** Parse a traffic file's lines. */
export function parseTraffic(text: string): TrafficRecord[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => fromJson(l) as TrafficRecord);
}

/** One difference found by {@link replayTraffic}. */
export interface ReplayMismatch {
  /** Sequence number. */
  seq: number;
  /** Method. */
  method: string;
  /** Recorded reply (JSON). */
  expected: string;
  /** Replayed reply (JSON). */
  actual: string;
}

/** What a replay did. */
export interface ReplayResult {
  /** Requests replayed. */
  requests: number;
  /** Replies that were errors (refusals included). */
  errors: number;
  /** Replies that differ from the recording. */
  mismatches: ReplayMismatch[];
  /** Requests per method. */
  methods: Record<string, number>;
}

/**
 * Feed every request of a recording to `api` in order and compare each reply with the recorded
 * one.
 */
export async function replayTraffic(
  records: readonly TrafficRecord[],
  o: { api: SignerApi },
): Promise<ReplayResult> {
  const replies = new Map<number, TrafficRecord>();
  for (const r of records) if (r.dir === "reply") replies.set(r.seq, r);
  const result: ReplayResult = { requests: 0, errors: 0, mismatches: [], methods: {} };
  for (const r of records) {
    if (r.dir !== "request") continue;
    result.requests++;
    result.methods[r.method] = (result.methods[r.method] ?? 0) + 1;
    const args = r.body as unknown[];
    const all = r.channel === null ? args : [ChannelId.fromKeysId(fromHex(r.channel)), ...args];
    const fn = o.api[r.method as keyof SignerApi] as (...a: unknown[]) => Promise<unknown>;
    let body: unknown;
    try {
      body = { ok: (await fn.call(o.api, ...all)) ?? null };
    } catch (e) {
      result.errors++;
      body = errorBody(e);
    }
    const expected = replies.get(r.seq);
    const actual = toJson(body);
    const exp = expected ? toJson(expected.body) : "(no recorded reply)";
    if (actual !== exp) {
      result.mismatches.push({ seq: r.seq, method: r.method, expected: exp, actual });
    }
  }
  return result;
}
