/**
 * Warden behind a real LDK node (npm `lightningdevkit` 0.1): an LDK `SignerProvider` whose
 * channel signers are backed by the asynchronous signer API, following LDK's async-signing
 * protocol; the API in process (`Signer`) or over the wire to a `mod.ts run` process
 * (`RemoteSignerApi` through a `NodeLink`: TCP, WebSocket or serial). See README.md in this folder.
 *
 * ```ts
 * import { WardenSignerProvider } from "./transports/ldk/mod.ts";
 * const provider = new WardenSignerProvider({ api: signer, payout: { script, walletIndex: 1 } });
 * await provider.ready();
 * provider.unblock = () => { chanMan.signer_unblocked(none); chainMonitor.signer_unblocked(null); };
 * // ChannelManager.constructor_new(..., provider.signerProvider(), ...)
 * ```
 *
 * @module
 */
export * from "./api.ts";
export * from "./ldk_data.ts";
export * from "./node_link.ts";
export * from "./remote_api.ts";
export * from "./requests.ts";
export * from "./signer_provider.ts";
