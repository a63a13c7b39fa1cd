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

if (import.meta.main) {
  const { main } = await import("./core/cli/mod.ts");
  Deno.exit(await main(Deno.args));
}
