/**
 * The remote-signer (CLN hsmd + VLS) wire protocol: wire primitives (`types.ts`), THE message
 * table (`messages.ts`), the body codec (`codec.ts`), the transport envelopes with their
 * stream decoders (`framing.ts`) and the `SignerError` codes (`errors.ts`).
 *
 * The Dispatcher, which serves these messages with the signer, is imported from `dispatch.ts`
 * directly (with its conversions `convert.ts` and the init phase `init.ts`): it depends on the
 * signer service, which itself uses this module's types, so re-exporting it here would make an
 * import cycle.
 *
 * ```ts
 * import { decodeMessage, encodeReply } from "./mod.ts";
 * const req = decodeMessage(body);            // { type: "get_per_commitment_point", n: 0n }
 * if (req.type === "ping") encodeReply({ type: "pong", id: req.id, message: "pong" });
 * ```
 *
 * @module
 */
export {
  arr,
  arrBE,
  b16,
  b32,
  type Basepoints,
  bigSize,
  type Bip32KeyVersion,
  bip32KeyVersion,
  type BitcoinSignature,
  bool,
  bp,
  bsig,
  bytes,
  type BytesCheck,
  type ChannelSecrets,
  type CloseInfo,
  closeinfo,
  type Codec,
  type Ctx,
  ctx,
  type Fields,
  h32,
  header80,
  type Htlc,
  htlc,
  MAX_BODY_SIZE,
  oneOf,
  opt,
  type Outpoint,
  outpoint,
  ProtocolError,
  type ProtocolErrorCode,
  psbt,
  pt,
  Reader,
  rest,
  rsig,
  sec,
  secrets,
  side,
  sig,
  str0,
  str0Secret,
  struct,
  type StructValue,
  tlv,
  type TlvRecords,
  type TlvRecordSpec,
  tlvs,
  type TlvsValue,
  tx,
  type TypeSpec,
  u16,
  u32,
  u32le,
  u64,
  u8,
  type UnknownTlv,
  type Utxo,
  utxo,
  type Value,
  Writer,
  xkey,
} from "./types.ts";
export {
  describeMessage,
  type HsmdReply,
  type HsmdRequest,
  type MessageOf,
  type Origin,
  REPLIES,
  replyById,
  replyByName,
  type ReplyDef,
  type ReplyFor,
  type ReplyName,
  type ReplyOf,
  requestById,
  requestByName,
  type RequestDef,
  type RequestName,
  type RequestOf,
  REQUESTS,
  type Simplify,
} from "./messages.ts";
export type { SecretBytes } from "../crypto/mod.ts";
export {
  decodeMessage,
  decodeReply,
  decodeReplyTo,
  encodeMessage,
  encodeReply,
  peekType,
} from "./codec.ts";
export {
  ByteQueue,
  clnFrameDecoder,
  encodeClnFrame,
  encodeSerialReply,
  encodeSerialRequest,
  type FrameDecoder,
  readFrames,
  ROOT_PEER_ID,
  SERIAL_REPLY_HEADER_SIZE,
  SERIAL_REPLY_MAGIC,
  SERIAL_REQUEST_HEADER_SIZE,
  SERIAL_REQUEST_MAGIC,
  type SerialReply,
  serialReplyDecoder,
  type SerialRequest,
  serialRequestDecoder,
} from "./framing.ts";
export {
  classifyError,
  DispatchError,
  errorReply,
  type FailedRequest,
  MAX_ERROR_MESSAGE,
  sanitizeMessage,
  SIGNER_ERROR,
  signerError,
  type SignerErrorCode,
  type SignerErrorInfo,
  signerErrorOf,
} from "./errors.ts";
