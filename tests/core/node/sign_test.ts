import { strictEqual } from "node:assert/strict";
import * as sign from "../../../core/node/sign.ts";

Deno.test("core/node/sign.ts exports every node-level operation", () => {
  for (
    const name of [
      "ecdh",
      "signChannelAnnouncement",
      "signChannelUpdate",
      "signNodeAnnouncement",
      "signGossipMessage",
      "signInvoice",
      "signMessage",
      "signBolt12",
      "signBolt12V2",
      "deriveSecret",
      "checkPubkey",
      "getSecureRandomBytes",
      "getHeartbeat",
      "verifyHeartbeat",
    ] as const
  ) {
    strictEqual(typeof sign[name], "function", name);
  }
  strictEqual(new sign.NodeRequestError("malformed", "x").name, "NodeRequestError");
});
