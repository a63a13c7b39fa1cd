/**
 * Replay of recorded traffic against a fresh signer, to see what a changed policy (or a changed
 * signer) would have decided on real traffic (`mod.ts replay`, core/cli/replay.ts).
 *
 * Two recording formats are read:
 *
 * - **transport recordings** (`--record FILE` of `mod.ts run`, transports/record.ts): each
 *   request body is handed, with its context, to a {@link FrameSession} over the same handler as
 *   the running signer (the protocol dispatcher), with the signer's clock set to the time the
 *   request was recorded, so time-dependent rules decide as they did;
 * - **signer-API recordings** (tests/traffic/*.jsonl, made at the LDK adapter's boundary:
 *   `{seq, dir, method, channel, body}` in core/store/json.ts `toJson` form): each request calls
 *   the signer's method directly; the clock is then the signer's chain tip, as when recorded.
 *
 * Each request's new reply is compared with the recorded one and both are classified as an
 * {@link Outcome}: answered/signed, refused (with the rule ids, from the `signer_error` message or
 * the `PolicyRefusal`), failed, or no reply. A different outcome is a **changed decision**
 * ("request 42 sign_remote_commitment_tx: was signed, now refused by
 * policy-commitment-fee-range"); the same outcome with different bytes is a **changed reply**. A
 * request recorded as a digest (it carried key material) is skipped.
 *
 * @module
 */
import { fromHex, toHex } from "../core/bytes.ts";
import { sha256 } from "../core/crypto/mod.ts";
import { ChannelId } from "../core/keys/types.ts";
import { fromJson, toJson } from "../core/store/json.ts";
import { signerErrorOf } from "../core/protocol/errors.ts";
import { replyById, requestById } from "../core/protocol/messages.ts";
import { NODE_LEVEL_METHODS, SIGNER_API_METHODS, type SignerApi } from "./ldk/api.ts";
import type { TrafficLine } from "./record.ts";
import type { FrameSession } from "./session.ts";

/** A recording cannot be read. */
export class ReplayError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong (line numbers, never body bytes)
   */
  constructor(message: string) {
    super(message);
    this.name = "ReplayError";
  }
}

/** One line of a signer-API recording (tests/ldk/warden_traffic.ts). */
export interface ApiRecord {
  /** Sequence number (a request and its reply share it). */
  seq: number;
  /** Direction. */
  dir: "request" | "reply";
  /** Signer method. */
  method: string;
  /** Channel keys id, hex (null for node-level requests). */
  channel: string | null;
  /** Arguments after the channel id (request), or `{ok}` / `{error}` (reply). */
  body: unknown;
}

/** A parsed recording. */
export type Recording =
  | {
    /** A transport recording. */
    format: "transport";
    /** Its lines. */
    lines: TrafficLine[];
  }
  | {
    /** A signer-API recording. */
    format: "api";
    /** Its lines. */
    records: ApiRecord[];
  };

/** What a reply meant. */
export type Outcome =
  | {
    /** Answered normally. */
    kind: "ok";
    /** The reply's name (or method). */
    reply: string;
    /** The request produces a signature (`sign*`). */
    signed: boolean;
  }
  | {
    /** A policy refusal. */
    kind: "refused";
    /** The rule ids. */
    rules: string[];
    /** Every violated rule is temporary. */
    temporary: boolean;
  }
  | {
    /** Another failure. */
    kind: "error";
    /** The `signer_error` code, or the error's name. */
    code: string;
    /** The message. */
    message: string;
  }
  | {
    /** No reply (a message without one). */
    kind: "none";
  }
  | {
    /** Nothing recorded, or not replayed. */
    kind: "unknown";
  };

/** The replay of one request. */
export interface ReplayEntry {
  /** The request's id (transport recordings) or seq (API recordings). */
  id: number;
  /** The request's name (message name or signer method). */
  request: string;
  /** The recorded outcome. */
  before: Outcome;
  /** The replayed outcome. */
  after: Outcome;
  /** `same`, `decision` (changed decision), `reply` (same decision, other bytes), `skipped`. */
  change: "same" | "decision" | "reply" | "skipped";
  /** Why it was skipped. */
  reason?: string;
}

/** Counts over a replay. */
export interface ReplaySummary {
  /** Requests in the recording. */
  requests: number;
  /** Requests replayed. */
  replayed: number;
  /** Same reply. */
  unchanged: number;
  /** Changed decisions. */
  decisionsChanged: number;
  /** Allowed before, refused now. */
  nowRefused: number;
  /** Refused before, allowed now. */
  nowAllowed: number;
  /** Same decision, different reply bytes. */
  repliesChanged: number;
  /** Not replayed. */
  skipped: number;
  /** Refusals in the recording. */
  refusedBefore: number;
  /** Refusals in the replay. */
  refusedAfter: number;
}

/** A replay's result. */
export interface ReplayReport {
  /** The recording's format. */
  format: "transport" | "api";
  /** Every request, in order. */
  entries: ReplayEntry[];
  /** The counts. */
  summary: ReplaySummary;
}

/** The signer's clock during a replay: the recorded time when set, else a fallback. */
export class ReplayClock {
  /** The time to report, unix seconds (undefined: use the fallback). */
  seconds: number | undefined;
  readonly #fallback: () => number;

  /**
   * Creates the clock.
   * @param fallback the clock when no time is set (default: the system clock)
   */
  constructor(fallback: () => number = () => Math.floor(Date.now() / 1000)) {
    this.#fallback = fallback;
  }

  /** The current time, unix seconds. */
  now(): number {
    return this.seconds ?? this.#fallback();
  }
}

/** The largest dbid (u64). */
const MAX_DBID = 0xffffffffffffffffn;

/** Whether `dbid` is a decimal u64 (at most 20 digits, at most 2^64 - 1). */
function isDbid(dbid: unknown): dbid is string {
  return typeof dbid === "string" && /^[0-9]{1,20}$/.test(dbid) && BigInt(dbid) <= MAX_DBID;
}

/**
 * Parses a recording (either format; see the module documentation).
 * @throws {ReplayError} on a line that is not JSON or not a record (a dbid above 2^64 - 1
 *   included), naming the line
 */
export function parseRecording(text: string): Recording {
  const lines: TrafficLine[] = [];
  const records: ApiRecord[] = [];
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = fromJson(raw);
    } catch {
      throw new ReplayError(`line ${i + 1}: not a JSON line`);
    }
    const v = value as Record<string, unknown> | null;
    if (v === null || typeof v !== "object" || (v.dir !== "request" && v.dir !== "reply")) {
      throw new ReplayError(`line ${i + 1}: not a traffic record (no dir)`);
    }
    if (typeof v.method === "string") {
      if (typeof v.seq !== "number" || !(v.channel === null || typeof v.channel === "string")) {
        throw new ReplayError(`line ${i + 1}: not a signer-API record`);
      }
      records.push(v as unknown as ApiRecord);
      return;
    }
    const okLine = typeof v.id === "number" && typeof v.seq === "number" &&
      typeof v.type === "number" && typeof v.peer_id === "string" &&
      /^[0-9a-f]{66}$/.test(v.peer_id) && typeof v.dbid === "string" &&
      /^[0-9]{1,20}$/.test(v.dbid) &&
      (typeof v.hex === "string" ? /^([0-9a-f]{2})*$/.test(v.hex) : typeof v.sha256 === "string");
    if (!okLine) throw new ReplayError(`line ${i + 1}: not a transport record`);
    if (!isDbid(v.dbid)) throw new ReplayError(`line ${i + 1}: dbid is above 2^64 - 1`);
    lines.push(v as unknown as TrafficLine);
  });
  if (lines.length > 0 && records.length > 0) {
    throw new ReplayError("the file mixes transport and signer-API records");
  }
  return records.length > 0 ? { format: "api", records } : { format: "transport", lines };
}

function refusedRules(message: string): string[] {
  const m = /refused by (.+)$/.exec(message);
  if (!m) return [];
  const rules = m[1].split(",").map((s) => s.trim());
  return [...new Set(rules.filter((s) => s !== "" && s !== "(no rule id)"))];
}

/** The outcome of a transport reply body (`request`: the request's name). */
export function replyOutcome(body: Uint8Array | null, request: string): Outcome {
  if (body === null) return { kind: "none" };
  const error = signerErrorOf(body);
  if (error) {
    const rules = refusedRules(error.message);
    if (rules.length > 0) return { kind: "refused", rules, temporary: error.temporary };
    return { kind: "error", code: String(error.code), message: error.message };
  }
  const type = body.length >= 2 ? (body[0] << 8) | body[1] : -1;
  if (type === 115) return { kind: "error", code: "init_reply_failure", message: "init failed" };
  return typeOutcome(type, request);
}

function typeOutcome(type: number, request: string): Outcome {
  const reply = replyById(type)?.name ?? `type ${type}`;
  return { kind: "ok", reply, signed: request.startsWith("sign") || /sig/.test(reply) };
}

/** The outcome of a signer-API reply (`{ok}` or `{error}`). */
export function apiOutcome(body: unknown, method: string): Outcome {
  const b = body as { ok?: unknown; error?: Record<string, unknown> } | null;
  if (b === null || typeof b !== "object") return { kind: "unknown" };
  if ("ok" in b) return { kind: "ok", reply: method, signed: method.startsWith("sign") };
  const e = b.error ?? {};
  if (e.name === "PolicyRefusal") {
    return {
      kind: "refused",
      rules: Array.isArray(e.rules) ? [...new Set(e.rules.map(String))] : [],
      temporary: e.temporary === true,
    };
  }
  return {
    kind: "error",
    code: typeof e.code === "string" && e.code !== "" ? e.code : String(e.name ?? "Error"),
    message: String(e.message ?? ""),
  };
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "refused" && b.kind === "refused") {
    return a.temporary === b.temporary &&
      [...a.rules].sort().join(",") === [...b.rules].sort().join(",");
  }
  if (a.kind === "error" && b.kind === "error") return a.code === b.code;
  return true;
}

/** How an outcome reads in a report line ("signed", "refused by a, b", ...). */
export function describeOutcome(o: Outcome): string {
  switch (o.kind) {
    case "ok":
      return o.signed ? "signed" : "answered";
    case "refused":
      return `${o.temporary ? "temporarily refused" : "refused"} by ${o.rules.join(", ")}`;
    case "error":
      return `failed (${o.code}: ${o.message})`;
    case "none":
      return "no reply";
    case "unknown":
      return "not recorded";
  }
}

/** One line of the text report for an entry. */
export function describeEntry(e: ReplayEntry): string {
  const head = `request ${e.id} ${e.request}`;
  switch (e.change) {
    case "same":
      return `${head}: ${describeOutcome(e.after)} (unchanged)`;
    case "decision":
      return `${head}: was ${describeOutcome(e.before)}, now ${describeOutcome(e.after)}`;
    case "reply":
      return `${head}: ${describeOutcome(e.after)} as before, but the reply differs`;
    case "skipped":
      return `${head}: skipped (${e.reason ?? "not replayable"})`;
  }
}

function summarise(format: "transport" | "api", entries: ReplayEntry[]): ReplayReport {
  const s: ReplaySummary = {
    requests: entries.length,
    replayed: 0,
    unchanged: 0,
    decisionsChanged: 0,
    nowRefused: 0,
    nowAllowed: 0,
    repliesChanged: 0,
    skipped: 0,
    refusedBefore: 0,
    refusedAfter: 0,
  };
  for (const e of entries) {
    if (e.before.kind === "refused") s.refusedBefore++;
    if (e.change === "skipped") {
      s.skipped++;
      continue;
    }
    s.replayed++;
    if (e.after.kind === "refused") s.refusedAfter++;
    if (e.change === "same") s.unchanged++;
    if (e.change === "reply") s.repliesChanged++;
    if (e.change === "decision") {
      s.decisionsChanged++;
      if (e.after.kind === "refused" && e.before.kind !== "refused") s.nowRefused++;
      if (e.before.kind === "refused" && e.after.kind !== "refused") s.nowAllowed++;
    }
  }
  return { format, entries, summary: s };
}

/** The closing line of the text report. */
export function describeSummary(s: ReplaySummary): string {
  return `replayed ${s.replayed} of ${s.requests} requests: ${s.unchanged} unchanged, ` +
    `${s.decisionsChanged} decisions changed (${s.nowRefused} now refused, ${s.nowAllowed} now ` +
    `allowed), ${s.repliesChanged} replies changed, ${s.skipped} skipped; refusals: ` +
    `${s.refusedBefore} before, ${s.refusedAfter} now`;
}

/**
 * Replays a transport recording through `session` (a fresh signer's dispatcher).
 * @param lines the recording's lines
 * @param options the session and the clock the signer reads (set to each request's time)
 * @throws {ReplayError} when a request's context is not valid (lines not from
 *   {@link parseRecording}), naming the request
 */
export async function replayTransport(
  lines: readonly TrafficLine[],
  options: { session: FrameSession; clock?: ReplayClock },
): Promise<ReplayReport> {
  const replies = new Map<number, TrafficLine>();
  for (const l of lines) if (l.dir === "reply") replies.set(l.id, l);
  const entries: ReplayEntry[] = [];
  for (const line of lines) {
    if (line.dir !== "request") continue;
    const request = line.name ?? requestById(line.type)?.name ?? `message type ${line.type}`;
    const recorded = replies.get(line.id);
    const before: Outcome = recorded === undefined
      ? { kind: "none" }
      : recorded.hex !== undefined
      ? replyOutcome(fromHex(recorded.hex), request)
      : typeOutcome(recorded.type, request);
    if (line.hex === undefined) {
      entries.push({
        id: line.id,
        request,
        before,
        after: { kind: "unknown" },
        change: "skipped",
        reason: "recorded as a digest: it carries key material",
      });
      continue;
    }
    if (options.clock) {
      const t = Date.parse(line.time);
      options.clock.seconds = Number.isFinite(t) ? Math.floor(t / 1000) : undefined;
    }
    if (!isDbid(line.dbid) || !/^[0-9a-f]{66}$/.test(line.peer_id)) {
      throw new ReplayError(`request ${line.id}: not a valid context (peer_id, dbid)`);
    }
    const ctx = { peerId: fromHex(line.peer_id), dbid: BigInt(line.dbid) };
    const { body } = await options.session.respond(ctx, fromHex(line.hex), { seq: line.seq });
    const after = replyOutcome(body, request);
    let same: boolean;
    if (recorded === undefined) same = body === null;
    else if (body === null) same = false;
    else if (recorded.hex !== undefined) same = recorded.hex === toHex(body);
    else same = recorded.sha256 === toHex(sha256(body));
    entries.push({
      id: line.id,
      request,
      before,
      after,
      change: same ? "same" : sameOutcome(before, after) ? "reply" : "decision",
    });
  }
  if (options.clock) options.clock.seconds = undefined;
  return summarise("transport", entries);
}

function errorBody(e: unknown): { error: Record<string, unknown> } {
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

/**
 * Replays a signer-API recording by calling `api` (a fresh signer) directly, as
 * tests/ldk/warden_traffic.ts recorded it.
 * @param records the recording's lines
 * @param options `api`: the signer (an object with the methods of transports/ldk/api.ts
 *   `SignerApi`, such as core/signer/signer.ts `Signer`)
 */
export async function replayApi(
  records: readonly ApiRecord[],
  options: { api: object },
): Promise<ReplayReport> {
  const replies = new Map<number, ApiRecord>();
  for (const r of records) if (r.dir === "reply") replies.set(r.seq, r);
  const entries: ReplayEntry[] = [];
  const methods = new Set<string>(SIGNER_API_METHODS);
  for (const r of records) {
    if (r.dir !== "request") continue;
    const recorded = replies.get(r.seq);
    const before = recorded === undefined ? { kind: "unknown" as const } : apiOutcome(
      recorded.body,
      r.method,
    );
    if (!methods.has(r.method) || !Array.isArray(r.body)) {
      entries.push({
        id: r.seq,
        request: r.method,
        before,
        after: { kind: "unknown" },
        change: "skipped",
        reason: methods.has(r.method) ? "arguments are not a list" : "unknown signer method",
      });
      continue;
    }
    const nodeLevel = NODE_LEVEL_METHODS.has(r.method as keyof SignerApi);
    let body: unknown;
    try {
      if (!nodeLevel && (typeof r.channel !== "string" || !/^[0-9a-f]{64}$/.test(r.channel))) {
        throw new ReplayError("a channel request without a 32-byte channel id");
      }
      const args = nodeLevel
        ? r.body
        : [ChannelId.fromKeysId(fromHex(r.channel as string)), ...r.body];
      const api = options.api as SignerApi;
      const fn = api[r.method as keyof SignerApi] as (...a: unknown[]) => Promise<unknown>;
      if (typeof fn !== "function") throw new ReplayError(`the signer has no ${r.method}`);
      body = { ok: (await fn.apply(api, args)) ?? null };
    } catch (e) {
      body = errorBody(e);
    }
    const after = apiOutcome(body, r.method);
    const same = recorded !== undefined && toJson(recorded.body) === toJson(body);
    entries.push({
      id: r.seq,
      request: r.method,
      before,
      after,
      change: same ? "same" : sameOutcome(before, after) ? "reply" : "decision",
    });
  }
  return summarise("api", entries);
}
