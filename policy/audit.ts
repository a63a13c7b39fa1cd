/**
 * The audit log (policy/README.md, "Decisions and the audit log"): one JSON line per policy
 * decision, appended to a file that is created with mode 0600, never truncated, and synced to disk
 * (`FsFile.syncData`) before {@link AuditLog.append} resolves. The signer
 * (core/signer/signer.ts) appends every decision before it persists state or releases a reply,
 * so a signature never exists without its record. {@link AuditLog} is that module's
 * `AuditSink<Decision>`.
 *
 * A line (an {@link AuditRecord}):
 *
 * ```json
 * {"time":"2023-11-14T22:13:20.000Z","unix":1700000000,"kind":"sign_counterparty_commitment",
 *  "channel":"ab12...","outcome":"refuse","violations":[{"rule":"policy-commitment-fee-range",
 *  "description":"...","mandatory":false,"temporary":false,"location":"rules/default.policy:120:3",
 *  "clause":0,"facts":{"commitment.fee_feerate_per_kw":"26000"}}],"warnings":[]}
 * ```
 *
 * (one line in the file). Integers in facts are decimal strings. `outcome` is `allow`, `refuse`,
 * or `temporary` (refused, every violation temporary: the node may retry).
 *
 * **No secrets.** Decisions never hold secrets by design (fact schemas may not declare them). As
 * a second line of defence, {@link scanForSecrets} refuses a record in which a string that could
 * be a 32-byte secret sits under a key that names one: the key (any object key, or a fact path,
 * at any depth) contains, ignoring case and the characters `_`, `-` and `.`, one of `secret`,
 * `preimage`, `seed`, `privkey` or `privatekey`; and the string (the value itself, or any string
 * nested under that key) contains a run of exactly 64 hex digits, or is 43 or 44 characters of
 * base64 or base64url (with optional `=`): the encodings of 32 bytes. An array of exactly 32
 * integers from 0 to 255 under such a key is refused too. Nothing is written then;
 * {@link AuditSecretError} names the key, never the value.
 *
 * Appends are serialised: concurrent calls write whole lines, one after the other, in call order.
 * After a failed write the log refuses further appends (the file may end in a partial line); when
 * a log is opened, a partial last line (a crash mid-write) is ended with a line break first, so the
 * next record starts on a line of its own.
 *
 * @module
 */
import type { Decision, Violation } from "./engine.ts";
import type { JsonValue } from "./values.ts";

/** One violation or warning as the log records it. */
export interface AuditViolation {
  /** The rule id. */
  rule: string;
  /** The rule's description. */
  description: string;
  /** Whether the rule is mandatory. */
  mandatory: boolean;
  /** Whether the rule is temporary. */
  temporary: boolean;
  /** The violated clause, `file:line:col`. */
  location: string;
  /** The clause's index in its rule. */
  clause: number;
  /** What the clause read (integers as decimal strings). */
  facts: Record<string, JsonValue>;
  /** Why evaluation failed, when it did. */
  error?: string;
  /** For a warning: the demoting filter, `file:line:col`. */
  demoted_by?: string;
}

/** One line of the audit log. */
export interface AuditRecord {
  /** When the decision was made, ISO 8601 UTC. */
  time: string;
  /** The same time, unix seconds. */
  unix: number;
  /** The request kind. */
  kind: string;
  /** The channel id (hex), or null when the request is not about a channel. */
  channel: string | null;
  /** `allow`, `refuse`, or `temporary` (refused, every violation temporary). */
  outcome: "allow" | "refuse" | "temporary";
  /** Refusing violations. */
  violations: AuditViolation[];
  /** Violations demoted to warnings by a filter. */
  warnings: AuditViolation[];
}

/**
 * One decision to record: the shape of core/signer/signer.ts's `AuditEntry<Decision>` (declared
 * here so that the policy engine does not depend on the signer).
 */
export interface AuditEntry {
  /** Unix time in seconds. */
  time: number;
  /** The request kind. */
  kind: string;
  /** The channel id (hex) when the request is about a channel. */
  channel?: string;
  /** The decision. */
  decision: Decision;
}

/** The audit log cannot be opened, written or read. */
export class AuditLogError extends Error {
  /**
   * Creates the error.
   * @param message what failed (never a record's content)
   */
  constructor(message: string) {
    super(message);
    this.name = "AuditLogError";
  }
}

/** A record would hold what looks like a secret; nothing was written. */
export class AuditSecretError extends Error {
  /** Where in the record (`violations[0].facts["commitment.secret"]`). */
  readonly path: string;

  /**
   * Creates the error.
   * @param path where the suspicious value is (never the value)
   */
  constructor(path: string) {
    super(`refusing to write a value that looks like a 32-byte secret at ${path}`);
    this.name = "AuditSecretError";
    this.path = path;
  }
}

const SECRET_WORDS = ["secret", "preimage", "seed", "privkey", "privatekey"];

/** Whether a key names a secret (see the module documentation). */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[_.\-]/g, "");
  return SECRET_WORDS.some((w) => k.includes(w));
}

/** Whether a string could be an encoding of 32 bytes (see the module documentation). */
export function looksLikeSecret32(value: string): boolean {
  for (const run of value.match(/[0-9a-fA-F]+/g) ?? []) if (run.length === 64) return true;
  return /^[A-Za-z0-9+/_-]{43}=?$/.test(value);
}

/**
 * Throws {@link AuditSecretError} if the value holds a possible secret under a secret-named key.
 * @param value the record (or any JSON-like value)
 * @param path where `value` is, for the error (default `record`)
 */
export function scanForSecrets(value: unknown, path = "record"): void {
  const walk = (v: unknown, at: string, underSecret: boolean): void => {
    if (typeof v === "string") {
      if (underSecret && looksLikeSecret32(v)) throw new AuditSecretError(at);
      return;
    }
    if (Array.isArray(v)) {
      if (
        underSecret && v.length === 32 &&
        v.every((x) => (typeof x === "number" || typeof x === "bigint") && x >= 0 && x <= 255)
      ) {
        throw new AuditSecretError(at);
      }
      v.forEach((x, i) => walk(x, `${at}[${i}]`, underSecret));
      return;
    }
    if (v instanceof Uint8Array) {
      if (underSecret && v.length === 32) throw new AuditSecretError(at);
      return;
    }
    if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const next = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)
          ? `${at}.${k}`
          : `${at}[${JSON.stringify(k)}]`;
        walk(x, next, underSecret || isSecretKey(k));
      }
    }
  };
  walk(value, path, false);
}

function formatLocation(l: { file: string; line: number; column: number }): string {
  return `${l.file}:${l.line}:${l.column}`;
}

function violation(v: Violation): AuditViolation {
  const out: AuditViolation = {
    rule: v.rule,
    description: v.description,
    mandatory: v.mandatory,
    temporary: v.temporary,
    location: formatLocation(v.location),
    clause: v.clause,
    facts: v.facts,
  };
  if (v.error !== undefined) out.error = v.error;
  if (v.demotedBy !== undefined) out.demoted_by = formatLocation(v.demotedBy);
  return out;
}

/** The record of one decision (pure; {@link AuditLog.append} scans and writes it). */
export function auditRecord(entry: AuditEntry): AuditRecord {
  if (!Number.isFinite(entry.time)) throw new AuditLogError("the entry's time is not a number");
  const d = entry.decision;
  return {
    time: new Date(entry.time * 1000).toISOString(),
    unix: entry.time,
    kind: entry.kind,
    channel: entry.channel ?? null,
    outcome: d.allowed ? "allow" : d.temporary ? "temporary" : "refuse",
    violations: d.violations.map(violation),
    warnings: d.warnings.map(violation),
  };
}

/** One JSON line (bigints, should any slip in, as decimal strings). */
function serialise(record: AuditRecord): string {
  return JSON.stringify(record, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n";
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
}

/** Syncs the directory holding a new file, so that its entry survives a crash (best effort). */
async function syncDirectory(path: string): Promise<void> {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Not every platform can open a directory; the file's own data is still synced.
  }
}

/** An append-only, fsynced JSON-lines audit log (core/signer/signer.ts's `AuditSink<Decision>`). */
export class AuditLog {
  readonly #file: Deno.FsFile;
  readonly #path: string;
  #tail: Promise<void> = Promise.resolve();
  #broken = false;
  #closed = false;

  private constructor(file: Deno.FsFile, path: string) {
    this.#file = file;
    this.#path = path;
  }

  /**
   * Opens (creating with mode 0600, and syncing its directory) the log for appending. An existing
   * file is never truncated; its group and other permission bits are cleared; a partial last line
   * is ended.
   * @param path the log file
   * @throws {AuditLogError} when the file cannot be opened
   */
  static async open(path: string): Promise<AuditLog> {
    let file: Deno.FsFile;
    let existed = true;
    try {
      await Deno.lstat(path);
    } catch {
      existed = false;
    }
    try {
      file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
    } catch (e) {
      throw new AuditLogError(
        `cannot open audit log ${path} (${e instanceof Error ? e.name : "error"})`,
      );
    }
    try {
      const info = await file.stat();
      if (info.mode !== null && (info.mode & 0o077) !== 0) {
        await Deno.chmod(path, info.mode & 0o700);
      }
      if (info.size > 0) {
        const reader = await Deno.open(path, { read: true });
        try {
          await reader.seek(info.size - 1, Deno.SeekMode.Start);
          const last = new Uint8Array(1);
          await reader.read(last);
          if (last[0] !== 0x0a) {
            await writeAll(file, new Uint8Array([0x0a]));
            await file.syncData();
          }
        } finally {
          reader.close();
        }
      }
      if (!existed) await syncDirectory(path);
    } catch (e) {
      file.close();
      throw new AuditLogError(
        `cannot prepare audit log ${path} (${e instanceof Error ? e.name : "error"})`,
      );
    }
    return new AuditLog(file, path);
  }

  /** The log's path. */
  get path(): string {
    return this.#path;
  }

  /**
   * Appends one decision as one line and syncs it to disk before resolving. Concurrent calls are
   * written one after the other, in call order.
   * @throws {AuditSecretError} when the record would hold what looks like a secret (nothing written)
   * @throws {AuditLogError} when the log is closed, broken by an earlier failed write, or the write fails
   */
  append(entry: AuditEntry): Promise<void> {
    let line: Uint8Array;
    try {
      const record = auditRecord(entry);
      scanForSecrets(record);
      line = new TextEncoder().encode(serialise(record));
    } catch (e) {
      return Promise.reject(e);
    }
    const run = this.#tail.then(async () => {
      if (this.#closed) throw new AuditLogError("the audit log is closed");
      if (this.#broken) throw new AuditLogError("the audit log is unusable after a failed write");
      try {
        await writeAll(this.#file, line);
        await this.#file.syncData();
      } catch (e) {
        this.#broken = true;
        throw new AuditLogError(
          `cannot write the audit log (${e instanceof Error ? e.name : "error"})`,
        );
      }
    });
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Waits for pending appends, then closes the file. */
  async close(): Promise<void> {
    await this.#tail;
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }
}

/**
 * Reads every record of an audit log (for tests and tools).
 * @throws {AuditLogError} when the file cannot be read or a line is not a record (naming the line)
 */
export async function readAuditLog(path: string): Promise<AuditRecord[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new AuditLogError(
      `cannot read audit log ${path} (${e instanceof Error ? e.name : "error"})`,
    );
  }
  const records: AuditRecord[] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (line === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new AuditLogError(`${path}:${i + 1}: not a JSON line`);
    }
    const r = value as Partial<AuditRecord> | null;
    if (
      r === null || typeof r !== "object" || typeof r.time !== "string" ||
      typeof r.unix !== "number" || typeof r.kind !== "string" || !Array.isArray(r.violations) ||
      !Array.isArray(r.warnings) || !["allow", "refuse", "temporary"].includes(r.outcome as string)
    ) {
      throw new AuditLogError(`${path}:${i + 1}: not an audit record`);
    }
    records.push(r as AuditRecord);
  });
  return records;
}
