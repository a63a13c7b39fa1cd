/**
 * The signer's two typed errors: their names, fields and exact messages (the wire protocol maps
 * them onto SignerError codes; tests/core/protocol/errors_test.ts covers that mapping).
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { PolicyRefusal, RequestError, type RequestErrorCode } from "../../../core/signer/errors.ts";

Deno.test("PolicyRefusal: names the kind and every violated rule", () => {
  const e = new PolicyRefusal("sign_counterparty_commitment", {
    rules: ["policy-commitment-fee-range", "policy-htlc-cltv-range"],
    temporary: false,
  });
  strictEqual(e instanceof Error, true);
  strictEqual(e.name, "PolicyRefusal");
  strictEqual(
    e.message,
    "refused sign_counterparty_commitment by policy-commitment-fee-range, policy-htlc-cltv-range",
  );
  strictEqual(e.kind, "sign_counterparty_commitment");
  deepStrictEqual(e.rules, ["policy-commitment-fee-range", "policy-htlc-cltv-range"]);
  strictEqual(e.temporary, false);
  strictEqual(String(e), `PolicyRefusal: ${e.message}`);
  throws(() => {
    throw e;
  }, { name: "PolicyRefusal", message: /^refused sign_counterparty_commitment by / });
});

Deno.test("PolicyRefusal: a temporary refusal says so", () => {
  const e = new PolicyRefusal("preapprove_invoice", {
    rules: ["policy-velocity-payments"],
    temporary: true,
  });
  strictEqual(e.message, "temporarily refused preapprove_invoice by policy-velocity-payments");
  strictEqual(e.temporary, true);
  deepStrictEqual(e.rules, ["policy-velocity-payments"]);
  strictEqual(e.kind, "preapprove_invoice");
});

Deno.test("PolicyRefusal: with no rule id it says so instead of ending in `by `", () => {
  const e = new PolicyRefusal("preapprove_invoice", { rules: [], temporary: false });
  strictEqual(e.message, "refused preapprove_invoice (no rule named)");
  deepStrictEqual(e.rules, []);
});

Deno.test("RequestError: every code, the message as given", () => {
  const codes: RequestErrorCode[] = [
    "unknown-channel",
    "forgotten-channel",
    "not-ready",
    "already-ready",
    "malformed",
    "invariant",
    "unsupported",
  ];
  for (const code of codes) {
    const e = new RequestError(code, `channel 0a1b: ${code}`);
    strictEqual(e instanceof Error, true);
    strictEqual(e.name, "RequestError");
    strictEqual(e.code, code);
    strictEqual(e.message, `channel 0a1b: ${code}`);
    strictEqual(String(e), `RequestError: channel 0a1b: ${code}`);
  }
});

Deno.test("the two errors are distinct classes (callers dispatch on instanceof)", () => {
  const refusal: unknown = new PolicyRefusal("k", { rules: ["r"], temporary: false });
  const request: unknown = new RequestError("malformed", "m");
  strictEqual(refusal instanceof RequestError, false);
  strictEqual(request instanceof PolicyRefusal, false);
  strictEqual(typeof (request as { stack?: string }).stack, "string");
});
