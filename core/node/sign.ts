/**
 * The node-level signing operations, each validated before signing (vls.md rows 6, 25, 31, 33):
 * gossip (BOLT #7), invoices (BOLT #11), signed messages, ECDH, BOLT #12, `derive_secret`,
 * `check_pubkey`, random bytes and heartbeats. Each operation is a pure function of a
 * {@link NodeSignContext} and a request (validated by its zod schema) returning the facts for the
 * policy and `release()`; the service adds the policy and persistence.
 *
 * | CLN / VLS message                  | operation                     | kind                        |
 * | ---------------------------------- | ----------------------------- | --------------------------- |
 * | 1 `ecdh_req`                       | {@link ecdh}                  | `ecdh`                      |
 * | 2, 4 `cannouncement_sig_req`       | {@link signChannelAnnouncement} | `sign_channel_announcement` |
 * | 3 `cupdate_sig_req`                | {@link signChannelUpdate}     | `sign_channel_update`       |
 * | 6 `node_announcement_sig_req`      | {@link signNodeAnnouncement}  | `sign_node_announcement`    |
 * | 8 `sign_invoice`                   | {@link signInvoice}           | `sign_invoice`              |
 * | 23 `sign_message`                  | {@link signMessage}           | `sign_message`              |
 * | 25 `sign_bolt12`                   | {@link signBolt12}            | `sign_bolt12`               |
 * | 27 `derive_secret`                 | {@link deriveSecret}          | `derive_secret`             |
 * | 28 `check_pubkey`                  | {@link checkPubkey}           | (no policy: a boolean)      |
 * | 41 `sign_bolt12_2`                 | {@link signBolt12V2}          | `sign_bolt12`               |
 * | 1006 `SignGossipMessage`           | {@link signGossipMessage}     | the gossip message's kind   |
 * | 1036 `GetSecureRandomBytes`        | {@link getSecureRandomBytes}  | (no policy)                 |
 * | 2008 `GetHeartbeat`                | {@link getHeartbeat}          | (no policy)                 |
 *
 * @module
 */
export * from "./sign_context.ts";
export * from "./gossip.ts";
export * from "./invoice.ts";
export * from "./message.ts";
export * from "./ecdh.ts";
export * from "./secrets.ts";
export * from "./bolt12.ts";
export * from "./heartbeat.ts";
