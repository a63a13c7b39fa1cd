/**
 * The connection loop shared by the TCP, WebSocket and serial transports: open (dial the node, or
 * open the device), serve until the connection ends, then open again after a backoff delay
 * (transports/backoff.ts), until {@link ReconnectingTransport.stop}. Every step is logged:
 * `connection.open` (info), `connection.closed` (info, or warn when it ended on an error) with the
 * requests served, `connection.failed` (warn) when opening fails, and `connection.retry` (info)
 * with the attempt and the delay.
 *
 * @module
 */
import { Backoff, type BackoffOptions, sleep } from "./backoff.ts";
import { type Logger, silentLogger } from "./log.ts";
import type { FrameSession, ServeEnd } from "./session.ts";

/** Options every transport takes. */
export interface TransportOptions {
  /** The frame loop (shared by every connection, with its retry cache). */
  session: FrameSession;
  /** Where connection events go. */
  logger?: Logger;
  /** Reconnect delays. */
  backoff?: BackoffOptions;
}

/** A transport that keeps (re)opening its connection (see the module documentation). */
export abstract class ReconnectingTransport<C> {
  /** The transport's name in logs (`tcp`, `websocket`, `serial`). */
  readonly name: string;
  /** What it connects to (for logs; no secrets). */
  readonly target: string;
  /** The frame loop. */
  protected readonly session: FrameSession;
  /** Where events go. */
  protected readonly logger: Logger;
  readonly #backoff: Backoff;
  readonly #reconnect: boolean;
  readonly #abort = new AbortController();
  #current: C | undefined;
  #running: Promise<void> | undefined;
  #connections = 0;

  /**
   * Sets the transport up (nothing is opened before {@link run}).
   * @param name the transport's name
   * @param options the target (for logs), the session, the logger, the backoff, and `reconnect`
   *   (default true; false: {@link run} ends when the first connection ends or cannot be opened)
   */
  protected constructor(
    name: string,
    options: TransportOptions & { target: string; reconnect?: boolean },
  ) {
    this.name = name;
    this.#reconnect = options.reconnect ?? true;
    this.target = options.target;
    this.session = options.session;
    this.logger = options.logger ?? silentLogger;
    this.#backoff = new Backoff(options.backoff);
  }

  /** Opens one connection (throws when it cannot). */
  protected abstract open(): Promise<C>;
  /** Serves an open connection until it ends; never throws. */
  protected abstract serveConnection(conn: C, signal: AbortSignal): Promise<ServeEnd>;
  /** Closes a connection (must not throw; interrupts a pending read). */
  protected abstract closeConnection(conn: C): void;

  /** Connections opened so far. */
  get connections(): number {
    return this.#connections;
  }

  /** Whether {@link stop} was called. */
  get stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  /**
   * Runs the connection loop until {@link stop} (or, without reconnecting, until the connection
   * ends); the same promise on every call.
   */
  run(): Promise<void> {
    this.#running ??= this.#loop();
    return this.#running;
  }

  /** Stops: closes the current connection, ends the loop, and waits for it. */
  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#current !== undefined) this.closeConnection(this.#current);
    await this.#running;
  }

  async #retry(): Promise<void> {
    const delay = this.#backoff.next();
    this.logger.log("info", "connection.retry", {
      transport: this.name,
      target: this.target,
      attempt: this.#backoff.attempt,
      delay_ms: delay,
    });
    await sleep(delay, this.#abort.signal);
  }

  async #loop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      let conn: C;
      try {
        conn = await this.open();
      } catch (e) {
        if (signal.aborted) break;
        this.logger.log("warn", "connection.failed", {
          transport: this.name,
          target: this.target,
          error: e instanceof Error ? e.name : "Error",
          message: e instanceof Error ? e.message.slice(0, 200) : "",
        });
        if (!this.#reconnect) break;
        await this.#retry();
        continue;
      }
      if (signal.aborted) {
        this.closeConnection(conn);
        break;
      }
      this.#current = conn;
      this.#connections++;
      this.logger.log("info", "connection.open", {
        transport: this.name,
        target: this.target,
        connection: this.#connections,
      });
      const before = this.session.stats.requests;
      const end = await this.serveConnection(conn, signal);
      this.#current = undefined;
      this.closeConnection(conn);
      const served = this.session.stats.requests - before;
      this.logger.log(end === "eof" || end === "aborted" ? "info" : "warn", "connection.closed", {
        transport: this.name,
        target: this.target,
        connection: this.#connections,
        reason: end,
        requests: served,
      });
      if (signal.aborted || !this.#reconnect) break;
      if (served > 0) this.#backoff.reset();
      await this.#retry();
    }
  }
}
