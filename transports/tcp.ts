/**
 * TCP transport (`--connect tcp://HOST:PORT`): the signer DIALS the node (it never listens, so it
 * needs no open port and works from behind NAT, like VLS's `vlsd --connect`), then serves serial
 * frames (protocol.md §1.3) on the connection until it ends, and dials again with capped, jittered
 * exponential backoff (transports/reconnect.ts). Bad framing closes the connection
 * (transports/session.ts); the node re-sends what it has no reply for, and the retry cache answers
 * what was already answered.
 *
 * @module
 */
import { ReconnectingTransport, type TransportOptions } from "./reconnect.ts";
import type { ServeEnd } from "./session.ts";

/** Where {@link TcpTransport} dials. */
export interface TcpTarget {
  /** Host name or address (IPv6 without brackets). */
  hostname: string;
  /** Port. */
  port: number;
}

/** A TCP client serving serial frames, reconnecting (see the module documentation). */
export class TcpTransport extends ReconnectingTransport<Deno.TcpConn> {
  readonly #hostname: string;
  readonly #port: number;

  /**
   * Sets the transport up; {@link run} dials.
   * @param target the node's address
   * @param options the session, logger and backoff
   */
  constructor(target: TcpTarget, options: TransportOptions) {
    const host = target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname;
    super("tcp", { ...options, target: `${host}:${target.port}` });
    this.#hostname = target.hostname;
    this.#port = target.port;
  }

  /** Dials the node. */
  protected override async open(): Promise<Deno.TcpConn> {
    const conn = await Deno.connect({ hostname: this.#hostname, port: this.#port });
    try {
      conn.setNoDelay(true);
      conn.setKeepAlive(true);
    } catch {
      // best effort
    }
    return conn;
  }

  /** Serves frames until the connection ends. */
  protected override serveConnection(conn: Deno.TcpConn, signal: AbortSignal): Promise<ServeEnd> {
    return this.session.serve(conn, { resync: false, signal });
  }

  /** Closes the connection. */
  protected override closeConnection(conn: Deno.TcpConn): void {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}
