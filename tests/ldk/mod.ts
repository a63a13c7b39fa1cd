/**
 * Test harness running real LDK nodes (npm `lightningdevkit` 0.1.0) in one Deno process, with a
 * pluggable signer for node A. See README.md in this folder.
 *
 * @module
 */
export * from "./harness.ts";
export * from "./node.ts";
export * from "./chain.ts";
export * from "./wallet.ts";
export * from "./net.ts";
export * from "./events.ts";
export * from "./signer_hooks.ts";
export * from "./plain.ts";
export { loadLdk, wasmUrl } from "./wasm.ts";
