import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { FactRegistry } from "../../../policy/registry.ts";
import { CHANNEL_FACT_KINDS } from "../../../core/channel/facts.ts";
import { ONCHAIN_FACT_KINDS } from "../../../core/channel/facts_onchain.ts";
import { NODE_FACT_KINDS } from "../../../core/node/facts.ts";
import { SIGN_FACT_KINDS } from "../../../core/node/facts_sign.ts";
import { PAYMENT_FACT_KINDS, PAYMENT_KIND_DESCRIPTIONS } from "../../../core/node/facts_payment.ts";

function registry(): FactRegistry {
  const r = new FactRegistry();
  const all = {
    ...NODE_FACT_KINDS,
    ...CHANNEL_FACT_KINDS,
    ...ONCHAIN_FACT_KINDS,
    ...SIGN_FACT_KINDS,
    ...PAYMENT_FACT_KINDS,
  };
  for (const [kind, schema] of Object.entries(all)) {
    r.registerKind(kind, schema, { description: kind });
  }
  return r;
}

Deno.test("the preapproval kinds register next to every other kind, each described", () => {
  const r = registry();
  deepStrictEqual(Object.keys(PAYMENT_FACT_KINDS), ["preapprove_invoice", "preapprove_keysend"]);
  deepStrictEqual(Object.keys(PAYMENT_KIND_DESCRIPTIONS), Object.keys(PAYMENT_FACT_KINDS));
  for (const kind of Object.keys(PAYMENT_FACT_KINDS)) {
    strictEqual(r.kind(kind)?.name, kind);
    strictEqual(kind in { ...NODE_FACT_KINDS, ...SIGN_FACT_KINDS, ...CHANNEL_FACT_KINDS }, false);
  }
});

Deno.test("both kinds have the same paths with units, so one rule can be on both", () => {
  const r = registry();
  const paths = (kind: string) =>
    Object.fromEntries(r.factPaths(kind).map((p) => [p.path, p.typeName]));
  const invoice = paths("preapprove_invoice");
  deepStrictEqual(invoice, paths("preapprove_keysend"));
  strictEqual(invoice["payment.amount_msat"], "msat");
  strictEqual(invoice["payment.hash"], "bytes");
  strictEqual(invoice["payment.payee"], "bytes");
  strictEqual(invoice["payment.approved"], "bool");
  strictEqual(invoice["payment.approval_pending"], "bool");
  strictEqual(invoice["invoice.created_at"], "seconds");
  strictEqual(invoice["invoice.expires_at"], "seconds");
  strictEqual(invoice["invoice.now"], "seconds");
  strictEqual(invoice["sends.count"], "int");
  strictEqual(invoice["table.approved_count"], "int");
  // Shared names mean the same as in sign_invoice.
  const signInvoice = paths("sign_invoice");
  for (const p of ["created_at", "expiry", "expires_at", "now", "ahead_of_now", "amount_msat"]) {
    strictEqual(invoice[`invoice.${p}`], signInvoice[`invoice.${p}`], p);
  }
});
