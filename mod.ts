/**
 * Warden: a validating Lightning signer.
 *
 * The public API re-exports the building blocks; the command-line interface runs when this file
 * is the main module (`deno run mod.ts <command> ...`).
 *
 * @module
 */
export * as bytes from "./core/bytes.ts";
export * as crypto from "./core/crypto/mod.ts";
export * as tx from "./core/bitcoin/tx.ts";
export * as script from "./core/bitcoin/script.ts";
export * as network from "./core/bitcoin/network.ts";
export * as psbt from "./core/bitcoin/psbt.ts";
export * as address from "./core/bitcoin/address.ts";
export * as sign from "./core/bitcoin/sign.ts";
export * as bolt3 from "./core/bolt3/mod.ts";
export * as keys from "./core/keys/mod.ts";

if (import.meta.main) {
  const { main } = await import("./core/cli/mod.ts");
  Deno.exit(await main(Deno.args));
}
