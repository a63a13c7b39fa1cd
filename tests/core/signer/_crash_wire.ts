/**
 * The JSON-lines protocol between the crash test (the node and the peer) and the signer child
 * process (`_crash_signer.ts`). Every line is one `toJson` document (core/store/json.ts), so
 * bigints and bytes survive:
 *
 * - the child prints `{"event":"warm"}` once its keys and policy are loaded, and waits for
 *   `{"start":true}` (end of input instead: it exits without touching the state file);
 * - the child prints `{"event":"ready","policy":<source>}` once the signer is open;
 * - the parent sends `{"id":<n>,"method":<name>,"args":[...]}` (the channel id first, except for
 *   the node-level {@link NODE_METHODS}: the payment approvals the node asks before it offers an
 *   HTLC);
 * - the child prints `{"event":"put-begin","id":<n>}` before and `{"event":"put-done","id":<n>}`
 *   after every durable store write made for request `n` (so the parent can kill it exactly
 *   between persisting and replying);
 * - the child prints `{"id":<n>,"ok":<reply>}` or `{"id":<n>,"error":{name,code?,rules?,message}}`
 *   only once the signer method resolved (the state is durable).
 *
 * @module
 */
import { fromJson, toJson } from "../../../core/store/json.ts";
import { ChannelId } from "../../../core/keys/types.ts";

/** The signer methods the child serves. */
export const METHODS = [
  "newChannel",
  "setupChannel",
  "getPerCommitmentPoint",
  "signCounterpartyCommitment",
  "validateHolderCommitment",
  "revokeHolderCommitment",
  "validateCounterpartyRevocation",
  "signHolderCommitment",
  "channelState",
  "preapproveInvoice",
  "preapproveKeysend",
] as const;

/** One of {@link METHODS}. */
export type Method = typeof METHODS[number];

/** The methods about the node, not the channel: their arguments carry no channel id. */
export const NODE_METHODS: ReadonlySet<Method> = new Set<Method>([
  "preapproveInvoice",
  "preapproveKeysend",
]);

/**
 * A request line. The first argument is the channel id ({@link encodeChannelId}), except for
 * {@link NODE_METHODS}.
 */
export interface WireRequest {
  /** Request id, echoed in the reply and the events. */
  id: number;
  /** The signer method. */
  method: Method;
  /** The method's arguments. */
  args: unknown[];
}

/** A failed request, as the child reports it (never a secret: error messages carry none). */
export interface WireError {
  /** The error class name (`PolicyRefusal`, `RequestError`, ...). */
  name: string;
  /** A RequestError's code. */
  code?: string;
  /** A PolicyRefusal's rule ids. */
  rules?: string[];
  /** The message. */
  message: string;
}

/** A line from the child. */
export type WireLine =
  | { event: "warm" }
  | { event: "ready"; policy: string }
  | { event: "put-begin" | "put-done"; id: number }
  | { id: number; ok: unknown }
  | { id: number; error: WireError };

/** A channel id on the wire: its kind and bytes. */
export function encodeChannelId(id: ChannelId): { kind: string; bytes: Uint8Array } {
  return { kind: id.kind, bytes: id.bytes };
}

/** The inverse of {@link encodeChannelId}. */
export function decodeChannelId(v: unknown): ChannelId {
  const { kind, bytes } = v as { kind: string; bytes: Uint8Array };
  if (kind === "peer-dbid") {
    let dbid = 0n;
    for (let i = 40; i >= 33; i--) dbid = (dbid << 8n) | BigInt(bytes[i]);
    return ChannelId.fromPeerDbid(bytes.slice(0, 33), dbid);
  }
  if (kind === "keys-id") return ChannelId.fromKeysId(bytes);
  return ChannelId.fromBytes(bytes);
}

/** One line of text (with its newline) for a document. */
export function encodeLine(value: unknown): Uint8Array {
  return new TextEncoder().encode(toJson(value) + "\n");
}

/** A line parsed back. */
export function decodeLine(line: string): WireLine {
  return fromJson(line) as WireLine;
}

/** Write all of `bytes` to a synchronous writer (stdout), looping over partial writes. */
export function writeAllSync(w: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += w.writeSync(bytes.subarray(off));
}

/** Reads newline-terminated lines from a byte stream. */
export class LineReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  readonly #lines: string[] = [];
  #done = false;

  /**
   * Wraps a stream.
   * @param stream the byte stream (a child's stdout, or stdin)
   */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** The next complete line (without the newline), or undefined at the end of the stream. */
  async next(): Promise<string | undefined> {
    while (this.#lines.length === 0 && !this.#done) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await this.#reader.read();
      } catch {
        chunk = { done: true, value: undefined };
      }
      if (chunk.done) {
        this.#done = true;
        this.#buffer += this.#decoder.decode();
        break;
      }
      this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
      const parts = this.#buffer.split("\n");
      this.#buffer = parts.pop() as string;
      this.#lines.push(...parts.filter((l) => l.length > 0));
    }
    return this.#lines.shift();
  }

  /** Text received after the last newline (a torn line), if any. */
  get rest(): string {
    return this.#buffer;
  }

  /** Read to the end (discarding) and release the stream. */
  async drain(): Promise<void> {
    while ((await this.next()) !== undefined) {
      // discard
    }
    this.#reader.releaseLock();
  }
}
