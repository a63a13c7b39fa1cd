/**
 * The shapes the transports share: a request's context, the handler that answers requests (the
 * protocol dispatcher, core/protocol/dispatch.ts, satisfies it) and a bidirectional byte stream.
 *
 * @module
 */

/** The context of a request: the client it came from (zeros and 0 for the root context). */
export interface RequestContext {
  /** 33-byte peer id (33 zero bytes for the root context). */
  peerId: Uint8Array;
  /** Channel database id (0 for the root context). */
  dbid: bigint;
}

/** What answers requests (the protocol dispatcher, core/protocol/dispatch.ts). */
export interface FrameHandler {
  /**
   * Handles one request body (u16 type + fields).
   * @param ctx the request's context
   * @param body the message body
   * @returns the reply body, or null for a message without a reply
   */
  handle(ctx: RequestContext, body: Uint8Array): Promise<Uint8Array | null>;
}

/** A bidirectional byte stream (a `Deno.Conn`, a `Deno.FsFile` opened read/write). */
export interface ByteChannel {
  /** Reads into `p`; null at the end of the stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; returns how many bytes. */
  write(p: Uint8Array): Promise<number>;
}

/** A transport cannot be set up (bad URL, bad device path). Never carries secrets. */
export class TransportError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "TransportError";
  }
}
