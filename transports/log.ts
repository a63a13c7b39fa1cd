/**
 * Structured logs: one JSON object per line, `{"time", "level", "event", "fields"}`, written to
 * standard error by the running signer.
 *
 * Nothing secret is ever passed to a logger: callers log ids, counts, rule ids, message type
 * names, error names and messages (the project's errors never carry secrets). Field values that
 * are `bigint` are written as decimal strings and `Uint8Array`s as hex, so a log line is always
 * valid JSON.
 *
 * @module
 */
import { toHex } from "../core/bytes.ts";

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Extra fields of a log line (JSON-serialisable; bigint and bytes are converted). */
export type LogFields = Record<string, unknown>;

/** Where transports and the `run` command write their events. */
export interface Logger {
  /**
   * Writes one event.
   * @param level how severe
   * @param event a dotted event name, e.g. `connection.open`
   * @param fields the event's details (never secrets)
   */
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

const LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return toHex(value);
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** One log line (without the newline). */
export function formatLogLine(
  level: LogLevel,
  event: string,
  options: { fields?: LogFields; time?: Date } = {},
): string {
  const time = (options.time ?? new Date()).toISOString();
  return JSON.stringify({ time, level, event, fields: options.fields ?? {} }, jsonSafe);
}

/** Options of {@link JsonLogger}. */
export interface JsonLoggerOptions {
  /** Where lines go (default: the process's standard error, synchronously). */
  write?: (line: string) => void;
  /** Lines below this level are dropped (default `info`). */
  level?: LogLevel;
  /** The clock (default `new Date()`). */
  now?: () => Date;
}

function writeStderr(line: string): void {
  const bytes = new TextEncoder().encode(line);
  for (let off = 0; off < bytes.length;) off += Deno.stderr.writeSync(bytes.subarray(off));
}

/** A {@link Logger} writing JSON lines (see the module documentation). */
export class JsonLogger implements Logger {
  readonly #write: (line: string) => void;
  readonly #min: number;
  readonly #now: () => Date;

  /**
   * Creates the logger.
   * @param options the sink, the lowest level written and the clock
   */
  constructor(options: JsonLoggerOptions = {}) {
    this.#write = options.write ?? writeStderr;
    this.#min = LEVELS[options.level ?? "info"];
    this.#now = options.now ?? (() => new Date());
  }

  /** Writes one event as a JSON line (never throws: a failing sink drops the line). */
  log(level: LogLevel, event: string, fields: LogFields = {}): void {
    if (LEVELS[level] < this.#min) return;
    try {
      this.#write(formatLogLine(level, event, { fields, time: this.#now() }) + "\n");
    } catch {
      // A log line must never take the signer down.
    }
  }
}

/** A logger that keeps its lines in memory (tests). */
export class MemoryLogger implements Logger {
  /** Every event logged, in order. */
  readonly events: { level: LogLevel; event: string; fields: LogFields }[] = [];

  /** Keeps the event. */
  log(level: LogLevel, event: string, fields: LogFields = {}): void {
    this.events.push({ level, event, fields });
  }

  /** The events called `event`. */
  named(event: string): { level: LogLevel; event: string; fields: LogFields }[] {
    return this.events.filter((e) => e.event === event);
  }
}

/** A logger that drops everything. */
export const silentLogger: Logger = { log: () => {} };
