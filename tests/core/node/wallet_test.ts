import { strictEqual } from "node:assert/strict";
import { fromHex, toHex } from "../../../core/bytes.ts";
import { bip86OutputKey, walletScripts, walletView } from "../../../core/node/wallet.ts";
import { nodeKeysFromSeed } from "../../../core/keys/mod.ts";
import { p2pkh, p2wpkh } from "../../../core/bitcoin/script.ts";

Deno.test("BIP-86 output key: the BIP's first test vector (m/86'/0'/0'/0/0)", () => {
  const internal = fromHex("cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115");
  strictEqual(
    toHex(bip86OutputKey(internal)),
    "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
  );
});

Deno.test("wallet view: our three script forms at the named index, nothing else", () => {
  const keys = nodeKeysFromSeed(new Uint8Array(32).fill(3), { network: "regtest" });
  const view = walletView(keys, { allowlisted: (s) => toHex(s) === "0014" + "ab".repeat(20) });
  for (const script of walletScripts(keys, 7)) {
    strictEqual(view.paysWallet(script, 7), true);
    strictEqual(view.paysWallet(script, 8), false, "the index must be the right one");
  }
  strictEqual(view.paysWallet(p2pkh(keys.walletPubkey(7)), 7), false, "P2PKH is not a wallet form");
  strictEqual(view.paysWallet(p2wpkh(keys.walletPubkey(7)), -1), false);
  strictEqual(view.allowlisted(fromHex("0014" + "ab".repeat(20))), true);
  strictEqual(view.allowlisted(fromHex("0014" + "cd".repeat(20))), false);
});
