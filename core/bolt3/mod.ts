/**
 * BOLT #3, "Bitcoin Transaction and Script Formats", as pure functions: per-commitment secrets
 * (shachain), key derivation, scripts, commitment, HTLC and closing transactions.
 *
 * @module
 */
export * from "./shachain.ts";
export * from "./keys.ts";
export * from "./scripts.ts";
export * from "./commitment.ts";
export * from "./htlc_tx.ts";
export * from "./closing.ts";
