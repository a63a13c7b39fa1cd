/**
 * WebSocket transport (`--connect ws://HOST:PORT/PATH`, `wss://…`): the signer dials the node
 * with Deno's WebSocket client and exchanges one serial frame per binary message (protocol.md
 * §1.6): a request `AA55|seq|peer_id|dbid|len|body` in, the reply `5AA5|seq|len|body` out, so
 * replies match requests by seq and requests may be pipelined. Messages are answered in arrival
 * order. A text message, or a binary one that is not exactly one well-formed request frame,
 * closes the connection (code 4002, logged as `frame.malformed`); it is reopened with backoff like
 * TCP (transports/reconnect.ts), and the retry cache answers re-sent requests.
 *
 * **Backlog.** Requests are answered one at a time, so messages that arrive faster wait in a
 * queue, each holding its frame (up to 128 KiB). At most {@link MAX_PENDING_FRAMES} may wait (the
 * one being answered included): one more closes the connection with code 4003 ("too many pending
 * frames", logged as `connection.overload`, `error`), the waiting requests are dropped unanswered
 * (the node re-sends them after reconnecting, as after any broken connection), and the connection
 * ends as `overload`. A node that pipelines within the limit is never affected; one that floods
 * cannot grow the signer's memory without bound.
 *
 * `wss://` uses the system's trust store; a node with a private CA needs Deno's `--cert FILE`
 * (or `DENO_CERT`, which then needs no `--allow-env`: Deno reads it itself).
 *
 * @module
 */
import { type SerialRequest, serialRequestDecoder } from "../core/protocol/framing.ts";
import { ReconnectingTransport, type TransportOptions } from "./reconnect.ts";
import type { ServeEnd } from "./session.ts";

/**
 * Close code for a message that is not one request frame. RFC 6455's own "protocol error" (1002)
 * may not be sent by a WebSocket client (only 1000 and 3000-4999 may), so it is 4002 from the
 * private-use range, with the reason "bad frame".
 */
export const CLOSE_PROTOCOL_ERROR = 4002;

/** Close code when the node has more than {@link MAX_PENDING_FRAMES} requests waiting. */
export const CLOSE_TOO_MANY_PENDING = 4003;

/** Requests a connection may have waiting for their answer (see the module documentation). */
export const MAX_PENDING_FRAMES = 256;

/** Options of {@link WebSocketTransport}. */
export interface WebSocketOptions extends TransportOptions {
  /** Requests that may wait for their answer (default {@link MAX_PENDING_FRAMES}). */
  maxPending?: number;
}

/** Decodes a binary message that must hold exactly one request frame. */
export function decodeRequestMessage(data: Uint8Array): SerialRequest {
  const decoder = serialRequestDecoder();
  const frames = decoder.push(data);
  decoder.end();
  if (frames.length !== 1) {
    throw new RangeError(`a message must hold one request frame, not ${frames.length}`);
  }
  return frames[0];
}

/** A WebSocket client serving serial frames, reconnecting (see the module documentation). */
export class WebSocketTransport extends ReconnectingTransport<WebSocket> {
  readonly #url: string;
  readonly #maxPending: number;

  /**
   * Sets the transport up; {@link run} dials.
   * @param url the node's `ws://` or `wss://` URL
   * @param options the session, logger, backoff and `maxPending`
   */
  constructor(url: string, options: WebSocketOptions) {
    const shown = new URL(url);
    shown.search = "";
    const { maxPending, ...rest } = options;
    super("websocket", { ...rest, target: shown.href });
    const limit = maxPending ?? MAX_PENDING_FRAMES;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError("maxPending must be a positive integer");
    }
    this.#url = url;
    this.#maxPending = limit;
  }

  /** Dials and waits for the WebSocket to open. */
  protected override open(): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.#url);
      } catch (e) {
        return reject(e);
      }
      ws.binaryType = "arraybuffer";
      const onOpen = () => {
        ws.removeEventListener("error", onError);
        ws.removeEventListener("close", onError);
        resolve(ws);
      };
      const onError = (ev: Event) => {
        ws.removeEventListener("open", onOpen);
        ws.removeEventListener("error", onError);
        ws.removeEventListener("close", onError);
        const message = ev instanceof ErrorEvent ? ev.message : "closed before opening";
        reject(new Error(`WebSocket connection failed: ${message}`));
      };
      ws.addEventListener("open", onOpen, { once: true });
      ws.addEventListener("error", onError);
      ws.addEventListener("close", onError);
    });
  }

  /** Answers messages in order until the socket closes (see the module documentation). */
  protected override serveConnection(ws: WebSocket, signal: AbortSignal): Promise<ServeEnd> {
    return new Promise((resolve) => {
      let queue: Promise<void> = Promise.resolve();
      let pending = 0;
      let end: ServeEnd = "eof";
      const close = (code: number, reason: string) => {
        try {
          ws.close(code, reason);
        } catch {
          // already closing
        }
      };
      const fail = (problem: string) => {
        end = "framing";
        this.logger.log("error", "frame.malformed", {
          transport: this.name,
          message: problem,
          action: "close",
        });
        close(CLOSE_PROTOCOL_ERROR, "bad frame");
      };
      const overload = () => {
        end = "overload";
        this.logger.log("error", "connection.overload", {
          transport: this.name,
          pending,
          limit: this.#maxPending,
          action: "close",
        });
        close(CLOSE_TOO_MANY_PENDING, "too many pending frames");
      };
      const onMessage = (ev: MessageEvent) => {
        if (end === "framing" || end === "overload") return;
        if (!(ev.data instanceof ArrayBuffer)) return fail("text message (frames are binary)");
        if (pending >= this.#maxPending) return overload();
        let frame: SerialRequest;
        try {
          frame = decodeRequestMessage(new Uint8Array(ev.data));
        } catch (e) {
          return fail(e instanceof Error ? e.message.slice(0, 200) : "bad frame");
        }
        pending++;
        queue = queue.then(async () => {
          try {
            // After an overload the waiting requests are dropped: the node re-sends them.
            if (end === "overload") return;
            const reply = await this.session.process(frame);
            if (reply === null || ws.readyState !== WebSocket.OPEN) return;
            try {
              ws.send(reply);
            } catch {
              // the socket is closing; the node re-sends after reconnecting
            }
          } finally {
            pending--;
          }
        });
      };
      const onError = (ev: Event) => {
        if (end === "eof") end = "error";
        this.logger.log("warn", "connection.error", {
          transport: this.name,
          message: ev instanceof ErrorEvent ? ev.message.slice(0, 200) : "error",
        });
      };
      ws.addEventListener("message", onMessage);
      ws.addEventListener("error", onError);
      ws.addEventListener("close", () => {
        ws.removeEventListener("message", onMessage);
        ws.removeEventListener("error", onError);
        // Let requests already received finish (their replies are dropped or cached).
        queue.then(() => resolve(signal.aborted ? "aborted" : end));
      }, { once: true });
    });
  }

  /** Closes the socket. */
  protected override closeConnection(ws: WebSocket): void {
    try {
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close();
    } catch {
      // already closed
    }
  }
}
