/**
 * The on-chain wallet as the signer sees it: which scripts pay our keys (m/0/0/i, CLN's
 * `bitcoin_key`), in the three forms CLN and VLS use, and the allowlist. Used by every destination
 * check (sweeps, closes, withdrawals).
 *
 * @module
 */
import { equal } from "../bytes.ts";
import { taprootOutputKey } from "../bitcoin/taproot.ts";
import { p2sh, p2tr, p2wpkh } from "../bitcoin/script.ts";
import type { NodeKeys } from "../keys/types.ts";
import type { WalletView } from "../channel/ops/context.ts";

/** BIP-86 output key of an internal key: `P + H_TapTweak(P) * G`, x-only (32 bytes). */
export function bip86OutputKey(internalKey: Uint8Array): Uint8Array {
  return taprootOutputKey(internalKey);
}

/** The scripts that pay wallet key `index`: P2WPKH, P2SH-P2WPKH and BIP-86 P2TR. */
export function walletScripts(keys: NodeKeys, index: number): Uint8Array[] {
  const pub = keys.walletPubkey(index);
  const wpkh = p2wpkh(pub);
  return [wpkh, p2sh(wpkh), p2tr(bip86OutputKey(pub))];
}

/** A {@link WalletView} over the node's keys and an allowlist of scripts. */
export function walletView(
  keys: NodeKeys,
  options: { allowlisted?: (script: Uint8Array) => boolean } = {},
): WalletView {
  return {
    paysWallet(script, index) {
      if (!Number.isInteger(index) || index < 0 || index >= 0x80000000) return false;
      return walletScripts(keys, index).some((s) => equal(s, script));
    },
    allowlisted: options.allowlisted ?? (() => false),
  };
}
