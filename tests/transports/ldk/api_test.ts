import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { Signer } from "../../../core/signer/signer.ts";
import { NODE_LEVEL_METHODS, SIGNER_API_METHODS } from "../../../transports/ldk/api.ts";

Deno.test("api: every SignerApi method is a method of the in-process Signer, listed once", () => {
  strictEqual(new Set(SIGNER_API_METHODS).size, SIGNER_API_METHODS.length);
  const proto = Signer.prototype as unknown as Record<string, unknown>;
  deepStrictEqual(
    SIGNER_API_METHODS.filter((m) => typeof proto[m] !== "function"),
    [],
  );
  strictEqual(SIGNER_API_METHODS.length, 19);
});

Deno.test("api: the chain feed and the payment approvals take no channel id", () => {
  deepStrictEqual([...NODE_LEVEL_METHODS].sort(), [
    "addBlock",
    "preapproveInvoice",
    "preapproveKeysend",
    "removeBlock",
  ]);
  for (const m of NODE_LEVEL_METHODS) strictEqual(SIGNER_API_METHODS.includes(m), true);
});
