/**
 * Node-level key requests that are not signatures:
 *
 * - `derive_secret` (CLN 27, RPC `makesecret`): HKDF(HKDF(seed, "derived secrets"), info), the
 *   secret CLN legitimately gets (BOLT-12 invoice path base, alias base, runes, backups).
 * - `check_pubkey` (CLN 28): whether the node's wallet key m/0/0/`index` is the one it derived
 *   (answers a boolean, releases nothing).
 * - `get_secure_random_bytes` (VLS 1036): 32 random bytes.
 *
 * @module
 */
import { z } from "zod";
import { equal, toHex } from "../bytes.ts";
import { isValidPublicKey, randomBytes } from "../crypto/mod.ts";
import type { DeriveSecretFactsT } from "./facts_sign.ts";
import {
  type NodeOpOutcome,
  NodeRequestError,
  type NodeSignContext,
  parseRequest,
  zBytes,
  zBytesBetween,
} from "./sign_context.ts";

/**
 * The `info` strings CLN sends: "bolt12-invoice-base" and "node-alias-base" at start-up (the
 * latter is also the base of `sign_bolt12_2`'s alias keys), "commando" for runes, "scb secret"
 * for static channel backups (chanbackup plugin).
 */
export const KNOWN_DERIVE_SECRET_INFOS: readonly string[] = [
  "bolt12-invoice-base",
  "node-alias-base",
  "commando",
  "scb secret",
];

/** `info` as text when it is printable ASCII, "" otherwise. */
export function printableInfo(info: Uint8Array): string {
  if (info.some((c) => c < 0x20 || c > 0x7e)) return "";
  return new TextDecoder().decode(info);
}

/** `derive_secret` (CLN 27: `info`). */
export const DeriveSecretRequest = z.object({
  /** The HKDF info (b16 on the wire). */
  info: zBytesBetween(0, 65535),
});

/** See {@link DeriveSecretRequest}. */
export type DeriveSecretRequestT = z.infer<typeof DeriveSecretRequest>;

/** Derive the secret named by `info`. Releases the 32-byte secret. */
export function deriveSecret(
  ctx: NodeSignContext,
  request: DeriveSecretRequestT,
): NodeOpOutcome<DeriveSecretFactsT, Uint8Array> {
  const { info } = parseRequest(DeriveSecretRequest, request, "derive_secret");
  const copy = info.slice();
  const text = printableInfo(copy);
  return {
    kind: "derive_secret",
    facts: {
      derive_secret: {
        info: toHex(copy),
        info_length: copy.length,
        info_text: text,
        info_known: KNOWN_DERIVE_SECRET_INFOS.includes(text),
      },
    },
    next: null,
    release: () => {
      const secret = ctx.keys.deriveSecret(copy);
      const out = secret.expose().slice();
      secret.zeroize();
      return out;
    },
  };
}

/** `check_pubkey` (CLN 28: `index`, `pubkey`). */
export const CheckPubkeyRequest = z.object({
  /** The wallet key index (below 2^31). */
  index: z.number().int().min(0).max(0x7fffffff),
  /** The public key the node derived. */
  pubkey: zBytes(33),
});

/** See {@link CheckPubkeyRequest}. */
export type CheckPubkeyRequestT = z.infer<typeof CheckPubkeyRequest>;

/**
 * Whether `pubkey` is our wallet key m/0/0/`index` (CLN treats `false` as fatal). Public data
 * only, so not a policy decision. Throws {@link NodeRequestError} on a bad index or point.
 */
export function checkPubkey(ctx: NodeSignContext, request: CheckPubkeyRequestT): boolean {
  const { index, pubkey } = parseRequest(CheckPubkeyRequest, request, "check_pubkey");
  if (!isValidPublicKey(pubkey)) {
    throw new NodeRequestError("malformed", "check_pubkey: the pubkey is not on the curve");
  }
  return equal(ctx.keys.walletPubkey(index), pubkey);
}

/** `get_secure_random_bytes` (VLS 1036): 32 bytes from the system's CSPRNG. */
export function getSecureRandomBytes(): Uint8Array {
  return randomBytes(32);
}
