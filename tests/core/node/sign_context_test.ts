import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { z } from "zod";
import {
  IssuedInvoiceSchema,
  NodeRequestError,
  nowOf,
  parseRequest,
  zBytes,
  zBytesBetween,
} from "../../../core/node/sign_context.ts";

Deno.test("parseRequest: the data, or a malformed error naming the field", () => {
  const schema = z.object({ a: zBytes(2), b: zBytesBetween(1, 3) });
  const ok = parseRequest(schema, { a: Uint8Array.of(1, 2), b: Uint8Array.of(3) }, "op");
  deepStrictEqual(ok, { a: Uint8Array.of(1, 2), b: Uint8Array.of(3) });
  throws(() => parseRequest(schema, { a: Uint8Array.of(1), b: Uint8Array.of(3) }, "op"), {
    name: "NodeRequestError",
    code: "malformed",
    message: "op: a: must be 2 bytes",
  });
  throws(
    () => parseRequest(schema, { a: Uint8Array.of(1, 2), b: new Uint8Array(4) }, "op"),
    /op: b: must be 1 to 3 bytes/,
  );
  throws(() => parseRequest(schema, { a: "0102", b: Uint8Array.of(3) }, "op"), /op: a: /);
  throws(() => parseRequest(schema, null, "op"), /op: request: /);
});

Deno.test("nowOf: a whole, non-negative number of seconds", () => {
  strictEqual(nowOf({ now: 1_700_000_000 }), 1_700_000_000);
  throws(() => nowOf({ now: 1.5 }), { name: "NodeRequestError", code: "invariant" });
  throws(() => nowOf({ now: -1 }), NodeRequestError);
});

Deno.test("the issued-invoice record schema", () => {
  const record = {
    paymentHash: "00".repeat(32),
    invoiceHash: "11".repeat(32),
    amountMsat: 1000n,
    payee: "02" + "22".repeat(32),
    createdAt: 1,
    expirySeconds: 3600,
    isFulfilled: false,
  };
  strictEqual(IssuedInvoiceSchema.safeParse(record).success, true);
  strictEqual(IssuedInvoiceSchema.safeParse({ ...record, amountMsat: -1n }).success, false);
  strictEqual(IssuedInvoiceSchema.safeParse({ ...record, payee: "02" }).success, false);
});
