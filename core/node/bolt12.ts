/**
 * BOLT #12 signatures (BOLT #12, "Signature Calculation"): BIP-340 Schnorr over
 * H(tag, merkle_root) with tag = "lightning" || messagename || fieldname, where
 * H(tag, msg) = SHA256(SHA256(tag) || SHA256(tag) || msg). The node computes the merkle root; the
 * signer chooses the key, exactly as CLN's hsmd and VLS do:
 *
 * - `sign_bolt12` (CLN 25): no public tweak: the node key. With a tweak: the BOLT-12 base key
 *   (m/9735') plus SHA256(bolt12_pubkey (33 bytes) || publictweak).
 * - `sign_bolt12_2` (CLN 41): no tweak message: the node key. With one: the node key plus
 *   SHA256(derive_secret(info) || tweakmessage) (CLN `bolt12_alias_tweak`; `info` is
 *   "node-alias-base").
 *
 * Signing uses BIP-340 with all-zero auxiliary randomness, as libsecp256k1 with a NULL `aux_rand`
 * (CLN) and `sign_schnorr_no_aux_rand` (VLS): deterministic.
 *
 * @module
 */
import { z } from "zod";
import { concat, zeroize } from "../bytes.ts";
import { schnorrSign, secretAdd, sha256, taggedHash } from "../crypto/mod.ts";
import type { SignBolt12FactsT } from "./facts_sign.ts";
import {
  type NodeOpOutcome,
  type NodeSignContext,
  parseRequest,
  zBytes,
  zBytesBetween,
} from "./sign_context.ts";
import { printableInfo } from "./secrets.ts";

/**
 * The (messagename, fieldname) pairs this node signs: the `signature` of an `invoice` (we are
 * paid) and of an `invoice_request` (we pay). Offers carry no signature in current BOLT #12.
 */
export const KNOWN_BOLT12_SIGNATURE_FIELDS: readonly (readonly [string, string])[] = [
  ["invoice", "signature"],
  ["invoice_request", "signature"],
];

/** The alias base `info` of `sign_bolt12_2` that CLN uses. */
export const BOLT12_ALIAS_BASE_INFO = "node-alias-base";

/** H("lightning" || messagename || fieldname, merkleRoot): the 32-byte message signed. */
export function bolt12SigHash(
  messagename: string,
  fieldname: string,
  merkleRoot: Uint8Array,
): Uint8Array {
  return taggedHash(`lightning${messagename}${fieldname}`, merkleRoot);
}

/** A TLV stream or field name: lower-case letters, digits and `_` (BOLT #12 naming). */
const name = z.string().regex(/^[a-z0-9_]{1,64}$/, "must be 1 to 64 of [a-z0-9_]");

/** `sign_bolt12` (CLN 25: messagename, fieldname, merkleroot, publictweak). */
export const SignBolt12Request = z.object({
  messagename: name,
  fieldname: name,
  merkleRoot: zBytes(32),
  /** Empty or absent: sign with the node key. */
  publicTweak: zBytesBetween(0, 65535).optional(),
});

/** See {@link SignBolt12Request}. */
export type SignBolt12RequestT = z.infer<typeof SignBolt12Request>;

/** `sign_bolt12_2` (CLN 41: messagename, fieldname, merkleroot, info, publictweak). */
export const SignBolt12V2Request = z.object({
  messagename: name,
  fieldname: name,
  merkleRoot: zBytes(32),
  /** The HKDF info of the alias base secret (CLN: "node-alias-base"). */
  info: zBytesBetween(0, 65535),
  /** Empty: sign with the node key. */
  tweakMessage: zBytesBetween(0, 65535),
});

/** See {@link SignBolt12V2Request}. */
export type SignBolt12V2RequestT = z.infer<typeof SignBolt12V2Request>;

function knownField(messagename: string, fieldname: string): boolean {
  return KNOWN_BOLT12_SIGNATURE_FIELDS.some(([m, f]) => m === messagename && f === fieldname);
}

/** Signs with `secret + tweak` (or `secret` alone), erasing the tweaked key afterwards. */
function signTweaked(
  digest: Uint8Array,
  secret: Uint8Array,
  tweak: Uint8Array | null,
): Uint8Array {
  if (tweak === null) return schnorrSign(digest, secret);
  const key = secretAdd(secret, tweak);
  try {
    return schnorrSign(digest, key);
  } finally {
    zeroize(key, tweak);
  }
}

/**
 * The tweak of `sign_bolt12` with a public tweak: SHA256(bolt12 base pubkey || publictweak)
 * (CLN `payer_key_tweak`).
 */
export function bolt12PayerTweak(bolt12Pubkey: Uint8Array, publicTweak: Uint8Array): Uint8Array {
  return sha256(concat(bolt12Pubkey, publicTweak));
}

/**
 * The tweak of `sign_bolt12_2` with a tweak message: SHA256(base secret || tweakmessage)
 * (CLN `bolt12_alias_tweak`). The tweak is secret: it reveals the alias key's offset.
 */
export function bolt12AliasTweak(baseSecret: Uint8Array, tweakMessage: Uint8Array): Uint8Array {
  return sha256(concat(baseSecret, tweakMessage));
}

/** Sign a BOLT #12 message (CLN 25). Releases the 64-byte BIP-340 signature. */
export function signBolt12(
  ctx: NodeSignContext,
  request: SignBolt12RequestT,
): NodeOpOutcome<SignBolt12FactsT, Uint8Array> {
  const req = parseRequest(SignBolt12Request, request, "sign_bolt12");
  const tweak = req.publicTweak?.slice() ?? new Uint8Array();
  const digest = bolt12SigHash(req.messagename, req.fieldname, req.merkleRoot);
  const tweaked = tweak.length > 0;
  return {
    kind: "sign_bolt12",
    facts: {
      bolt12: {
        version: 1,
        messagename: req.messagename,
        fieldname: req.fieldname,
        known_field: knownField(req.messagename, req.fieldname),
        has_tweak: tweaked,
        tweak_length: tweak.length,
        key: tweaked ? "bolt12" : "node",
        info_text: "",
        info_known: false,
      },
    },
    next: null,
    release: () =>
      tweaked
        ? signTweaked(
          digest,
          ctx.keys.bolt12Secret.expose(),
          bolt12PayerTweak(ctx.keys.bolt12Pubkey, tweak),
        )
        : signTweaked(digest, ctx.keys.nodeSecret.expose(), null),
  };
}

/** Sign a BOLT #12 message with an alias key (CLN 41). Releases the 64-byte signature. */
export function signBolt12V2(
  ctx: NodeSignContext,
  request: SignBolt12V2RequestT,
): NodeOpOutcome<SignBolt12FactsT, Uint8Array> {
  const req = parseRequest(SignBolt12V2Request, request, "sign_bolt12_2");
  const info = req.info.slice();
  const tweakMessage = req.tweakMessage.slice();
  const digest = bolt12SigHash(req.messagename, req.fieldname, req.merkleRoot);
  const tweaked = tweakMessage.length > 0;
  const infoText = printableInfo(info);
  return {
    kind: "sign_bolt12",
    facts: {
      bolt12: {
        version: 2,
        messagename: req.messagename,
        fieldname: req.fieldname,
        known_field: knownField(req.messagename, req.fieldname),
        has_tweak: tweaked,
        tweak_length: tweakMessage.length,
        key: tweaked ? "alias" : "node",
        info_text: infoText,
        info_known: infoText === BOLT12_ALIAS_BASE_INFO,
      },
    },
    next: null,
    release: () => {
      if (!tweaked) return signTweaked(digest, ctx.keys.nodeSecret.expose(), null);
      const base = ctx.keys.deriveSecret(info);
      try {
        const tweak = bolt12AliasTweak(base.expose(), tweakMessage);
        return signTweaked(digest, ctx.keys.nodeSecret.expose(), tweak);
      } finally {
        base.zeroize();
      }
    },
  };
}
