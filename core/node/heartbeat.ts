/**
 * Signed heartbeats (VLS `Node::get_heartbeat`, message 2008; vls.md row 25): the signer's view of
 * the chain tip and its clock, signed so that a monitor can tell a live, up-to-date signer from a
 * stale, absent or lying one.
 *
 * Payload (44 bytes, VLS `Heartbeat` with `bitcoin_consensus_derive`, whose integers are
 * big-endian):
 *
 *   chain_tip (32, block hash in internal byte order) || u32be chain_height ||
 *   u32be chain_timestamp (the tip's header time) || u32be current_timestamp (the signer's clock)
 *
 * Signature: BIP-340 Schnorr with all-zero auxiliary randomness (VLS `sign_schnorr_no_aux_rand`)
 * by the account-level key (the wallet's m/0/0 private key, VLS `account_extended_key`) over
 * SHA256("vls" || "heartbeat" || payload) (VLS `sighash_from_heartbeat`; a plain SHA256 of the
 * concatenation, not a BIP-340 tagged hash).
 *
 * Signed form (109 bytes, VLS `SignedHeartbeat { signature: Vec<u8>, heartbeat }`):
 *
 *   compactSize(64) = 0x40 || signature (64) || payload (44)
 *
 * The payload and the hash are confirmed from VLS's source; the length prefix of the signature is
 * inferred (rust-bitcoin encodes a `Vec<u8>` field with a CompactSize length, and the derive macro
 * documents special handling only for integers and options). The 2108 reply wraps this in a b16.
 *
 * @module
 */
import { z } from "zod";
import { concat, u32be, utf8 } from "../bytes.ts";
import { isValidPublicKey, publicKey, schnorrSign, schnorrVerify, sha256 } from "../crypto/mod.ts";
import type { Network } from "../bitcoin/network.ts";
import type { NodeSignContext, NodeSignerKeys } from "./sign_context.ts";
import { nowOf, parseRequest, zBytes } from "./sign_context.ts";

/** Bytes of an encoded heartbeat payload. */
export const HEARTBEAT_PAYLOAD_LENGTH = 44;
/** Bytes of an encoded signed heartbeat. */
export const SIGNED_HEARTBEAT_LENGTH = 1 + 64 + HEARTBEAT_PAYLOAD_LENGTH;

/** A heartbeat payload. */
export interface Heartbeat {
  /** The tip's block hash, internal byte order (32 bytes). */
  chainTip: Uint8Array;
  /** The tip's height. */
  chainHeight: number;
  /** The tip header's timestamp (seconds). */
  chainTimestamp: number;
  /** The signer's clock when it signed (seconds). */
  currentTimestamp: number;
}

/** A heartbeat with its signature. */
export interface SignedHeartbeat {
  /** BIP-340 signature (64 bytes). */
  signature: Uint8Array;
  /** The payload. */
  heartbeat: Heartbeat;
}

/** A heartbeat could not be encoded or decoded. */
export class HeartbeatError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "HeartbeatError";
  }
}

function needU32(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new HeartbeatError(`${what} must be a u32`);
  }
}

/** The 44-byte payload of `heartbeat`. */
export function encodeHeartbeat(heartbeat: Heartbeat): Uint8Array {
  if (!(heartbeat.chainTip instanceof Uint8Array) || heartbeat.chainTip.length !== 32) {
    throw new HeartbeatError("chain tip must be 32 bytes");
  }
  needU32(heartbeat.chainHeight, "chain height");
  needU32(heartbeat.chainTimestamp, "chain timestamp");
  needU32(heartbeat.currentTimestamp, "current timestamp");
  return concat(
    heartbeat.chainTip,
    u32be(heartbeat.chainHeight),
    u32be(heartbeat.chainTimestamp),
    u32be(heartbeat.currentTimestamp),
  );
}

function readU32(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset + at, 4).getUint32(0, false);
}

/** Decodes a 44-byte payload. */
export function decodeHeartbeat(payload: Uint8Array): Heartbeat {
  if (payload.length !== HEARTBEAT_PAYLOAD_LENGTH) {
    throw new HeartbeatError(`heartbeat payload must be ${HEARTBEAT_PAYLOAD_LENGTH} bytes`);
  }
  return {
    chainTip: payload.slice(0, 32),
    chainHeight: readU32(payload, 32),
    chainTimestamp: readU32(payload, 36),
    currentTimestamp: readU32(payload, 40),
  };
}

/** SHA256("vls" || "heartbeat" || payload): the 32-byte message signed. */
export function heartbeatSigHash(payload: Uint8Array): Uint8Array {
  return sha256(concat(utf8("vls"), utf8("heartbeat"), payload));
}

/** The 109-byte signed form (see the module documentation). */
export function encodeSignedHeartbeat(signed: SignedHeartbeat): Uint8Array {
  if (!(signed.signature instanceof Uint8Array) || signed.signature.length !== 64) {
    throw new HeartbeatError("heartbeat signature must be 64 bytes");
  }
  return concat(Uint8Array.of(64), signed.signature, encodeHeartbeat(signed.heartbeat));
}

/** Decodes the signed form. */
export function decodeSignedHeartbeat(bytes: Uint8Array): SignedHeartbeat {
  if (bytes.length !== SIGNED_HEARTBEAT_LENGTH || bytes[0] !== 64) {
    throw new HeartbeatError(`a signed heartbeat is 0x40, 64 signature bytes and the payload`);
  }
  return { signature: bytes.slice(1, 65), heartbeat: decodeHeartbeat(bytes.subarray(65)) };
}

/** The public key that signs heartbeats: the account key m/0/0 (33 bytes). */
export function heartbeatPubkey(keys: Pick<NodeSignerKeys, "accountSecret">): Uint8Array {
  const secret = keys.accountSecret();
  try {
    return publicKey(secret.expose());
  } finally {
    secret.zeroize();
  }
}

/** `get_heartbeat` (VLS 2008): the chain tip the signer follows. */
export const GetHeartbeatRequest = z.object({
  /** The tip's block hash, internal byte order. */
  tipHash: zBytes(32),
  /** The tip's height. */
  height: z.number().int().min(0).max(0xffffffff),
  /** The tip header's timestamp. */
  tipTimestamp: z.number().int().min(0).max(0xffffffff),
});

/** See {@link GetHeartbeatRequest}. */
export type GetHeartbeatRequestT = z.infer<typeof GetHeartbeatRequest>;

/**
 * Sign a heartbeat for the given tip, dated with the context's clock. Not a policy decision (it
 * reveals nothing and commits to nothing); VLS also prunes expired state at this point, which is
 * the service's business.
 */
export function getHeartbeat(
  ctx: Pick<NodeSignContext, "keys" | "now">,
  request: GetHeartbeatRequestT,
): SignedHeartbeat {
  const req = parseRequest(GetHeartbeatRequest, request, "get_heartbeat");
  const now = nowOf(ctx);
  if (now > 0xffffffff) throw new HeartbeatError("the clock is beyond a u32 timestamp");
  const heartbeat: Heartbeat = {
    chainTip: req.tipHash.slice(),
    chainHeight: req.height,
    chainTimestamp: req.tipTimestamp,
    currentTimestamp: now,
  };
  const secret = ctx.keys.accountSecret();
  try {
    return {
      signature: schnorrSign(heartbeatSigHash(encodeHeartbeat(heartbeat)), secret.expose()),
      heartbeat,
    };
  } finally {
    secret.zeroize();
  }
}

/** Seconds after which a heartbeat is stale (VLS `HeartbeatMonitor`): 3600, or 5 on regtest/signet. */
export function heartbeatStaleAfter(network: Network): number {
  return network === "regtest" || network === "signet" ? 5 : 3600;
}

/** Options of {@link verifyHeartbeat}. */
export interface VerifyHeartbeatOptions {
  /** The signer's heartbeat key (33-byte compressed or 32-byte x-only). */
  pubkey: Uint8Array;
  /** The verifier's clock (seconds). */
  now: number;
  /** The network (chooses the default staleness). */
  network: Network;
  /** Seconds after `current_timestamp` when it becomes stale (default {@link heartbeatStaleAfter}). */
  staleAfter?: number;
  /** Seconds a heartbeat may be dated ahead of `now` before it is future-dated (default 0, VLS). */
  futureTolerance?: number;
}

/** The verdict of {@link verifyHeartbeat}. */
export interface HeartbeatVerdict {
  /** It decodes and the signature is the key's. */
  valid: boolean;
  /** `now > current_timestamp + staleAfter`. */
  stale: boolean;
  /** `current_timestamp > now + futureTolerance`. */
  futureDated: boolean;
  /** The decoded payload (null when it does not decode). */
  heartbeat: Heartbeat | null;
}

/**
 * Checks a signed heartbeat as VLS's `HeartbeatMonitor` does: signature, staleness and future
 * dating (both computed from `current_timestamp`). Never throws on bad bytes; a heartbeat that
 * does not decode is invalid, neither stale nor future-dated.
 */
export function verifyHeartbeat(
  bytes: Uint8Array,
  options: VerifyHeartbeatOptions,
): HeartbeatVerdict {
  let signed: SignedHeartbeat;
  try {
    signed = decodeSignedHeartbeat(bytes);
  } catch {
    return { valid: false, stale: false, futureDated: false, heartbeat: null };
  }
  const key = options.pubkey.length === 33 && isValidPublicKey(options.pubkey)
    ? options.pubkey.subarray(1)
    : options.pubkey;
  const digest = heartbeatSigHash(encodeHeartbeat(signed.heartbeat));
  const valid = schnorrVerify(signed.signature, digest, key);
  const ts = signed.heartbeat.currentTimestamp;
  const staleAfter = options.staleAfter ?? heartbeatStaleAfter(options.network);
  const tolerance = options.futureTolerance ?? 0;
  return {
    valid,
    stale: options.now > ts + staleAfter,
    futureDated: ts > options.now + tolerance,
    heartbeat: signed.heartbeat,
  };
}
