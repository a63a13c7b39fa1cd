/**
 * Bitcoin scripts: a builder and parser on @scure/btc-signer's `Script` codec (minimal pushes,
 * small-number opcodes), and the standard output scripts built with our own hashes.
 *
 * @module
 */
import { Script } from "@scure/btc-signer";
import { concat, equal } from "../bytes.ts";
import { hash160, sha256 } from "../crypto/mod.ts";

/** One script element: an opcode name without `OP_` (`"CHECKSIG"`), a small number, or a push. */
export type ScriptOp = string | number | Uint8Array;

/** A script that cannot be built or parsed. */
export class ScriptError extends Error {
  /**
   * Creates the error.
   * @param message what is wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "ScriptError";
  }
}

/**
 * Serialise script elements. Opcode names are written without the `OP_` prefix (`"DUP"`,
 * `"CHECKSIGVERIFY"`; `"OP_0"` is accepted for zero); numbers 0..16 use the small-number opcodes.
 */
export function buildScript(...ops: ScriptOp[]): Uint8Array {
  try {
    // deno-lint-ignore no-explicit-any
    return Script.encode(ops as any);
  } catch (e) {
    throw new ScriptError(`cannot build script: ${(e as Error).message}`);
  }
}

/** Parse a script into elements (the inverse of {@link buildScript}). */
export function parseScript(script: Uint8Array): ScriptOp[] {
  try {
    return Script.decode(script) as ScriptOp[];
  } catch (e) {
    throw new ScriptError(`malformed script: ${(e as Error).message}`);
  }
}

/** P2WSH output script: `OP_0 <sha256(witnessScript)>`. */
export function p2wsh(witnessScript: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(0x00, 0x20), sha256(witnessScript));
}

/** P2WPKH output script: `OP_0 <hash160(pubkey)>`. */
export function p2wpkh(pubkey: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(0x00, 0x14), hash160(pubkey));
}

/** P2PKH output script. */
export function p2pkh(pubkey: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(0x76, 0xa9, 0x14), hash160(pubkey), Uint8Array.of(0x88, 0xac));
}

/** P2SH output script for a redeem script. */
export function p2sh(redeemScript: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(0xa9, 0x14), hash160(redeemScript), Uint8Array.of(0x87));
}

/** P2TR output script for a 32-byte x-only output key. */
export function p2tr(outputKey: Uint8Array): Uint8Array {
  if (outputKey.length !== 32) throw new ScriptError("taproot output key must be 32 bytes");
  return concat(Uint8Array.of(0x51, 0x20), outputKey);
}

/** The BIP-143 scriptCode of a P2WPKH input: the P2PKH script of the key. */
export function p2wpkhScriptCode(pubkey: Uint8Array): Uint8Array {
  return p2pkh(pubkey);
}

/** Whether `script` is `OP_0 <32 bytes>` equal to {@link p2wsh} of `witnessScript`. */
export function isP2wshOf(script: Uint8Array, witnessScript: Uint8Array): boolean {
  return equal(script, p2wsh(witnessScript));
}
