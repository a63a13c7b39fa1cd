/**
 * The message codec: a message body is a big-endian u16 type followed by the fields of that type,
 * in table order, with nothing after them (protocol.md §0). Decoding and encoding are both driven
 * by the table in `messages.ts`.
 *
 * Rules (VLS `msgs.rs` `from_reader`/`check_message_length`): a body shorter than 2 bytes is
 * `too-short`, longer than {@link MAX_BODY_SIZE} (128 KiB) `too-large`; an unknown type is
 * `unknown-type`; bytes after the last field are `trailing-bytes`; a malformed field is
 * `truncated` or `invalid`, naming the message and field. All are {@link ProtocolError}s.
 *
 * Requests (node → signer) and replies (signer → node) are separate tables because their ids
 * overlap in meaning (1000 is `ping` as a request, `hsmstatus_client_bad_request` from the
 * signer). On the id-20 request collision, 20 decodes as CLN's `sign_remote_htlc_tx`; LDK's
 * `sign_local_htlc_tx_2` is decoded only with `{ as: "sign_local_htlc_tx_2" }`.
 *
 * @module
 */
import { u16be } from "../bytes.ts";
import {
  type HsmdReply,
  type HsmdRequest,
  replyById,
  replyByName,
  type ReplyDef,
  type ReplyFor,
  type ReplyName,
  requestById,
  requestByName,
  type RequestDef,
  type RequestName,
} from "./messages.ts";
import { MAX_BODY_SIZE, ProtocolError, Reader, Writer } from "./types.ts";

function checkBodySize(body: Uint8Array): void {
  if (!(body instanceof Uint8Array)) {
    throw new ProtocolError("body must be a Uint8Array", { code: "invalid", where: "body" });
  }
  if (body.length < 2) {
    throw new ProtocolError(
      `too short (${body.length} bytes; a body starts with a 2-byte type)`,
      { code: "too-short", where: "body" },
    );
  }
  if (body.length > MAX_BODY_SIZE) {
    throw new ProtocolError(
      `too large (${body.length} bytes; at most ${MAX_BODY_SIZE})`,
      { code: "too-large", where: "body" },
    );
  }
}

/** The message type of a body (its first two bytes); checks the body size limits. */
export function peekType(body: Uint8Array): number {
  checkBodySize(body);
  return (body[0] << 8) | body[1];
}

function decodeWith(def: RequestDef | ReplyDef, body: Uint8Array): Record<string, unknown> {
  const r = new Reader(body.subarray(2), { where: def.name });
  const fields = def.codec.read(r);
  if (r.remaining > 0) {
    r.fail(
      `${r.remaining} trailing byte${r.remaining === 1 ? "" : "s"} after the last field`,
      "trailing-bytes",
    );
  }
  return { type: def.name, ...fields };
}

function encodeWith(def: RequestDef | ReplyDef, message: Record<string, unknown>): Uint8Array {
  const { type: _type, ...fields } = message;
  const w = new Writer({ where: def.name });
  w.push(u16be(def.id));
  def.codec.write(w, fields);
  if (w.length > MAX_BODY_SIZE) {
    throw new ProtocolError(`too large (${w.length} bytes; at most ${MAX_BODY_SIZE})`, {
      code: "too-large",
      where: def.name,
    });
  }
  return w.finish();
}

function unknownType(type: number, direction: string): never {
  throw new ProtocolError(`unknown ${direction} type ${type}`, {
    code: "unknown-type",
    where: `message type ${type}`,
  });
}

function typeName(value: unknown): string {
  return typeof value === "string" ? `"${value.slice(0, 64)}"` : typeof value;
}

/**
 * Decodes a node → signer message body (u16 type + fields).
 * @param body the body, without any transport envelope
 * @param options `as`: decode as this request and fail with `unexpected-type` if the body's type
 *   is another one (the only way to decode the shadowed `sign_local_htlc_tx_2`)
 * @returns `{ type: name, ...fields }`
 */
export function decodeMessage(body: Uint8Array, options: { as?: RequestName } = {}): HsmdRequest {
  const id = peekType(body);
  let def: RequestDef | undefined;
  if (options.as !== undefined) {
    def = requestByName(options.as);
    if (!def) {
      throw new ProtocolError(`no request called ${typeName(options.as)}`, {
        code: "invalid",
        where: "decodeMessage",
      });
    }
    if (def.id !== id) {
      const actual = requestById(id);
      throw new ProtocolError(
        `expected ${def.name} (${def.id}), got ${actual ? `${actual.name} (${id})` : `type ${id}`}`,
        { code: "unexpected-type", where: def.name },
      );
    }
  } else {
    def = requestById(id) ?? unknownType(id, "request");
  }
  return decodeWith(def, body) as HsmdRequest;
}

/**
 * Encodes a node → signer message: its type, then its fields as the table declares them. Every
 * value is validated first (ranges, lengths, points, sighash types, missing or unexpected
 * fields); the result is at most {@link MAX_BODY_SIZE} bytes.
 */
export function encodeMessage(message: HsmdRequest): Uint8Array {
  const name = (message as { type?: unknown })?.type;
  const def = typeof name === "string" ? requestByName(name) : undefined;
  if (!def) {
    throw new ProtocolError(`no request called ${typeName(name)}`, {
      code: "invalid",
      where: "encodeMessage",
    });
  }
  return encodeWith(def, message as Record<string, unknown>);
}

/**
 * Decodes a signer → node message body (a reply, `signer_error` or a status message).
 * @param body the body, without any transport envelope
 * @param options `expect`: the reply name(s) acceptable here; another known type fails with
 *   `unexpected-type`
 */
export function decodeReply(
  body: Uint8Array,
  options: { expect?: ReplyName | readonly ReplyName[] } = {},
): HsmdReply {
  const id = peekType(body);
  const def = replyById(id) ?? unknownType(id, "reply");
  const expect = options.expect === undefined
    ? undefined
    : typeof options.expect === "string"
    ? [options.expect]
    : options.expect;
  if (expect !== undefined && !expect.includes(def.name as ReplyName)) {
    const wanted = expect.map((n) => `${n} (${replyByName(n)?.id ?? "?"})`).join(" or ");
    throw new ProtocolError(`expected ${wanted}, got ${def.name} (${id})`, {
      code: "unexpected-type",
      where: def.name,
    });
  }
  return decodeWith(def, body) as HsmdReply;
}

/**
 * Decodes the reply to request `request`: one of the replies the table lists for it (for `init`:
 * `init_reply_v4`, `init_reply_v2` or `init_reply_failure`).
 * @param request the request name
 * @param body the reply body
 */
export function decodeReplyTo<N extends RequestName>(request: N, body: Uint8Array): ReplyFor<N> {
  const def = requestByName(request);
  if (!def) {
    throw new ProtocolError(`no request called ${typeName(request)}`, {
      code: "invalid",
      where: "decodeReplyTo",
    });
  }
  if (def.replies.length === 0) {
    throw new ProtocolError("this request has no reply", {
      code: "unexpected-type",
      where: def.name,
    });
  }
  const expect = def.replies.map((r) => r.name as ReplyName);
  return decodeReply(body, { expect }) as ReplyFor<N>;
}

/** Encodes a signer → node message, validating every value as {@link encodeMessage} does. */
export function encodeReply(reply: HsmdReply): Uint8Array {
  const name = (reply as { type?: unknown })?.type;
  const def = typeof name === "string" ? replyByName(name) : undefined;
  if (!def) {
    throw new ProtocolError(`no reply called ${typeName(name)}`, {
      code: "invalid",
      where: "encodeReply",
    });
  }
  return encodeWith(def, reply as Record<string, unknown>);
}
