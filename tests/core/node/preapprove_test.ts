import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex, u32be, utf8 } from "../../../core/bytes.ts";
import { publicKey, sha256 } from "../../../core/crypto/mod.ts";
import { type Network, networkParams } from "../../../core/bitcoin/network.ts";
import type { ApprovedPayment } from "../../../core/signer/payments.ts";
import { NodeRequestError } from "../../../core/node/sign_context.ts";
import {
  PreapproveInvoiceFacts,
  PreapproveKeysendFacts,
} from "../../../core/node/facts_payment.ts";
import {
  bolt12MerkleRoot,
  decodeBolt12String,
  decodeInvoiceString,
  invoiceApprovalRequest,
  InvoiceDecodeError,
  type InvoiceDecodeReason,
  keysendApprovalRequest,
  parseTlvStream,
  type PreapproveContext,
  preapproveInvoice,
  preapproveKeysend,
  sanitizeDescription,
} from "../../../core/node/preapprove.ts";
import { decideApproval, QueueApprover } from "../../../core/node/approvals.ts";
import { MemoryStore } from "../../../core/store/memory.ts";
import {
  BOLT11,
  BOLT11_HASH,
  BOLT11_INVALID,
  BOLT11_NODE_ID,
  BOLT11_TIME,
  BOLT12,
  BOLT12_FORMAT,
  BOLT12_INVREQ,
  BOLT12_NODE_ID,
  BOLT12_SECRET,
  bytesField,
  highS,
  intField,
  makeBolt11,
  makeBolt12,
  tlvRecord,
  tu64,
} from "./_payment_fixture.ts";

function reasonOf(f: () => unknown): InvoiceDecodeReason {
  try {
    f();
  } catch (e) {
    ok(e instanceof InvoiceDecodeError, `expected InvoiceDecodeError, got ${e}`);
    ok(e instanceof NodeRequestError);
    strictEqual(e.code, "malformed");
    strictEqual(e.name, "InvoiceDecodeError");
    return e.reason;
  }
  throw new Error("did not throw");
}

const NOW = BOLT11_TIME + 10;

function ctx(network: Network, extra: Partial<PreapproveContext> = {}): PreapproveContext {
  return { keys: { network }, now: NOW, ...extra };
}

// ---- BOLT #11 decoding ----

Deno.test("BOLT #11 examples decode: payee recovered, amounts, times, descriptions", () => {
  const d = (name: keyof typeof BOLT11, network: Network = "bitcoin") =>
    decodeInvoiceString(BOLT11[name], network);
  const donation = d("donation");
  strictEqual(donation.format, "bolt11");
  strictEqual(toHex(donation.payee), BOLT11_NODE_ID);
  strictEqual(toHex(donation.paymentHash), BOLT11_HASH);
  strictEqual(donation.amountMsat, null);
  strictEqual(donation.createdAt, BOLT11_TIME);
  strictEqual(donation.expiry, 3600);
  strictEqual(donation.description, "Please consider supporting this project");
  strictEqual(donation.wellFormed, true);
  strictEqual(donation.invoiceHash, toHex(sha256(utf8(BOLT11.donation))));

  const coffee = d("coffee");
  strictEqual(coffee.amountMsat, 250_000_000n);
  strictEqual(coffee.expiry, 60);
  strictEqual(coffee.description, "1 cup coffee");
  strictEqual(d("nonsense").description, "ナンセンス 1杯");
  strictEqual(d("hashed").amountMsat, 2_000_000_000n);
  strictEqual(d("hashed").description, "");
  strictEqual(d("features").amountMsat, 2_500_000_000n);
  strictEqual(toHex(d("testnetFallback", "testnet").payee), BOLT11_NODE_ID);
  strictEqual(toHex(d("testnetFallback", "testnet4").payee), BOLT11_NODE_ID);

  const pico = d("pico");
  strictEqual(pico.amountMsat, 967_878_534n);
  strictEqual(pico.createdAt, 1572468703);
  strictEqual(pico.expiry, 604800);
  strictEqual(
    toHex(pico.paymentHash),
    "462264ede7e14047e9b249da94fefc47f41f7d02ee9b091815a5506bc8abf75f",
  );
  strictEqual(toHex(pico.payee), BOLT11_NODE_ID);
  ok(pico.description.startsWith("Blockstream Store: 88.85 USD for Blockstream Ledger Nano S x 1"));
});

Deno.test("an upper-case invoice is the same invoice (same canonical string and hash)", () => {
  const lower = decodeInvoiceString(BOLT11.features, "bitcoin");
  const upper = decodeInvoiceString(BOLT11.featuresUpper, "bitcoin");
  strictEqual(upper.canonical, BOLT11.features);
  strictEqual(upper.invoiceHash, lower.invoiceHash);
  deepStrictEqual(upper, lower);
});

Deno.test("BOLT #11 invalid examples are refused at the right step", () => {
  const r = (s: string) => reasonOf(() => decodeInvoiceString(s, "bitcoin"));
  strictEqual(r(BOLT11_INVALID.badChecksum), "encoding");
  strictEqual(r(BOLT11_INVALID.noSeparator), "encoding");
  strictEqual(r(BOLT11_INVALID.mixedCase), "encoding");
  strictEqual(r(BOLT11_INVALID.notRecoverable), "signature");
  strictEqual(r(BOLT11_INVALID.tooShort), "malformed");
  strictEqual(r(BOLT11_INVALID.badMultiplier), "malformed");
  strictEqual(r(BOLT11_INVALID.subMillisatoshi), "malformed");
  strictEqual(r(""), "encoding");
  strictEqual(r("x".repeat(65536)), "encoding");
});

Deno.test("BOLT #11: the currency prefix must be our network's", () => {
  strictEqual(reasonOf(() => decodeInvoiceString(BOLT11.coffee, "regtest")), "network");
  strictEqual(reasonOf(() => decodeInvoiceString(BOLT11.coffee, "testnet")), "network");
  strictEqual(reasonOf(() => decodeInvoiceString(BOLT11.testnetFallback, "bitcoin")), "network");
  // signet's prefix is tbs: a testnet invoice is not a signet invoice.
  strictEqual(reasonOf(() => decodeInvoiceString(BOLT11.testnetFallback, "signet")), "network");
  try {
    decodeInvoiceString(BOLT11.coffee, "regtest");
  } catch (e) {
    strictEqual((e as Error).message, `invoice: currency prefix "bc" is not regtest's "bcrt"`);
  }
});

const P = bytesField(1, fromHex(BOLT11_HASH));
const D = bytesField(13, utf8("regtest coffee"));
const OWN_ID = fromHex(BOLT11_NODE_ID);

Deno.test("our own invoices: regtest prefix, n field checked, tampering changes the payee", () => {
  const time = 1_700_000_000;
  const plain = makeBolt11("lnbcrt10u", { timestamp: time, fields: [P, D, intField(6, 600)] });
  const d = decodeInvoiceString(plain, "regtest");
  strictEqual(toHex(d.payee), BOLT11_NODE_ID);
  strictEqual(d.amountMsat, 1_000_000n);
  strictEqual(d.createdAt, time);
  strictEqual(d.expiry, 600);

  // With n = the signer: verified against n.
  const withN = makeBolt11("lnbcrt10u", {
    timestamp: time,
    fields: [P, D, bytesField(19, OWN_ID)],
  });
  strictEqual(toHex(decodeInvoiceString(withN, "regtest").payee), BOLT11_NODE_ID);

  // n names another node: the signature does not verify against it.
  const other = publicKey(fromHex("11".repeat(32)));
  const wrongN = makeBolt11("lnbcrt10u", {
    timestamp: time,
    fields: [P, D, bytesField(19, other)],
  });
  strictEqual(reasonOf(() => decodeInvoiceString(wrongN, "regtest")), "signature");

  // High-S signatures are refused, with or without n.
  for (const fields of [[P, D], [P, D, bytesField(19, OWN_ID)]]) {
    const high = makeBolt11("lnbcrt10u", { timestamp: time, fields }, { tamper: highS });
    strictEqual(reasonOf(() => decodeInvoiceString(high, "regtest")), "signature");
  }
  // A recovery id above 3.
  const badRec = makeBolt11("lnbcrt10u", { timestamp: time, fields: [P, D] }, {
    tamper: (s) => concat(s.subarray(0, 64), Uint8Array.of(7)),
  });
  strictEqual(reasonOf(() => decodeInvoiceString(badRec, "regtest")), "signature");

  // Without n, a changed field under the same signature recovers to another key: another payee.
  let sig: Uint8Array = new Uint8Array(0);
  makeBolt11("lnbcrt10u", { timestamp: time, fields: [P, D] }, { tamper: (s) => (sig = s) });
  const forged = makeBolt11("lnbcrt20u", { timestamp: time, fields: [P, D] }, {
    tamper: () => sig,
  });
  const f = decodeInvoiceString(forged, "regtest");
  strictEqual(f.amountMsat, 2_000_000n);
  ok(toHex(f.payee) !== BOLT11_NODE_ID);
  // ... and with n the forgery is caught.
  makeBolt11("lnbcrt10u", { timestamp: time, fields: [P, D, bytesField(19, OWN_ID)] }, {
    tamper: (s) => (sig = s),
  });
  const forgedN = makeBolt11("lnbcrt20u", {
    timestamp: time,
    fields: [P, D, bytesField(19, OWN_ID)],
  }, {
    tamper: () => sig,
  });
  strictEqual(reasonOf(() => decodeInvoiceString(forgedN, "regtest")), "signature");
});

Deno.test("BOLT #11: a payment hash is required and amounts must fit in 64 bits", () => {
  const noHash = makeBolt11("lnbcrt10u", { timestamp: 1_700_000_000, fields: [D] });
  strictEqual(reasonOf(() => decodeInvoiceString(noHash, "regtest")), "malformed");
  const huge = makeBolt11("lnbcrt200000000000", { timestamp: 1_700_000_000, fields: [P, D] });
  strictEqual(reasonOf(() => decodeInvoiceString(huge, "regtest")), "malformed");
  const max = makeBolt11("lnbcrt184467440737095516150p", { timestamp: 1, fields: [P, D] });
  strictEqual(decodeInvoiceString(max, "regtest").amountMsat, 18446744073709551615n);
});

// ---- BOLT #12 ----

Deno.test("BOLT #12 Merkle roots: every signature-test.json and payer-proof vector", () => {
  const root = (hex: string) => toHex(bolt12MerkleRoot(parseTlvStream(fromHex(hex))));
  strictEqual(root("010203e8"), "b013756c8fee86503a0b4abdab4cddeb1af5d344ca6fc2fa8b6c08938caa6f93");
  strictEqual(
    root("010203e802080000010000020003"),
    "c3774abbf4815aa54ccaa026bff6581f01f3be5fe814c620a252534f434bc0d1",
  );
  strictEqual(
    root(
      "010203e80208000001000002000303310266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c0351800000000000000010000000000000002",
    ),
    "ab2e79b1283b0b31e0b035258de23782df6b89a38cfa7237bde69aed1a658c5d",
  );
  const tree = (s: string) =>
    toHex(bolt12MerkleRoot(parseTlvStream(decodeBolt12String(s).payload)));
  strictEqual(
    tree(BOLT12_INVREQ),
    "608407c18ad9a94d9ea2bcdbe170b6c20c462a7833a197621c916f78cf18e624",
  );
  strictEqual(tree(BOLT12.full), BOLT12.fullRoot);
  strictEqual(tree(BOLT12.minimal), BOLT12.minimalRoot);
});

Deno.test("BOLT #12 test-vector invoices decode and verify", () => {
  for (const s of [BOLT12.full, BOLT12.minimal]) {
    const d = decodeInvoiceString(s, "bitcoin");
    strictEqual(d.format, "bolt12");
    strictEqual(toHex(d.payee), BOLT12_NODE_ID);
    strictEqual(toHex(d.paymentHash), BOLT12.paymentHash);
    strictEqual(d.amountMsat, 1000n);
    strictEqual(d.createdAt, BOLT12.createdAt);
    strictEqual(d.expiry, 7200);
    strictEqual(d.wellFormed, true);
    strictEqual(d.invoiceHash, toHex(sha256(utf8(s))));
  }
  strictEqual(toHex(publicKey(fromHex(BOLT12_SECRET))), BOLT12_NODE_ID);
  // No invreq_chain: a bitcoin invoice, refused on the test networks.
  strictEqual(reasonOf(() => decodeInvoiceString(BOLT12.full, "regtest")), "network");
  // Split with + and upper case: the same invoice.
  const split = BOLT12.minimal.slice(0, 40) + "+\n  " + BOLT12.minimal.slice(40);
  strictEqual(
    decodeInvoiceString(split.toUpperCase(), "bitcoin").invoiceHash,
    toHex(sha256(utf8(BOLT12.minimal))),
  );
  // One character changed: the signature (or the stream) no longer holds.
  const i = 200;
  const flipped = BOLT12.minimal.slice(0, i) + (BOLT12.minimal[i] === "q" ? "p" : "q") +
    BOLT12.minimal.slice(i + 1);
  ok(["signature", "malformed"].includes(reasonOf(() => decodeInvoiceString(flipped, "bitcoin"))));
});

Deno.test("BOLT #12 strings: the format-string vectors, and only invoices are supported", () => {
  const canonical = BOLT12_FORMAT.valid[0];
  for (const s of BOLT12_FORMAT.valid) {
    strictEqual(decodeBolt12String(s).canonical, canonical);
    strictEqual(reasonOf(() => decodeInvoiceString(s, "bitcoin")), "unsupported");
  }
  for (const s of BOLT12_FORMAT.invalid) {
    strictEqual(reasonOf(() => decodeInvoiceString(s, "bitcoin")), "encoding", s);
  }
  strictEqual(reasonOf(() => decodeInvoiceString(BOLT12_INVREQ, "bitcoin")), "unsupported");
  strictEqual(reasonOf(() => decodeInvoiceString("lni1Qqqq", "bitcoin")), "encoding");
  strictEqual(reasonOf(() => decodeInvoiceString("lni1qqqb", "bitcoin")), "encoding");
  // A BOLT #11 invoice does not take + joins.
  const joined = BOLT11.coffee.slice(0, 30) + "+" + BOLT11.coffee.slice(30);
  strictEqual(reasonOf(() => decodeInvoiceString(joined, "bitcoin")), "encoding");
});

const REGTEST_CHAIN = networkParams("regtest").genesisHash;
const B12_HASH = sha256(utf8("bolt12 preimage"));

function ownBolt12(extra: [number | bigint, Uint8Array][] = [], drop: number[] = []): string {
  const fields: [number | bigint, Uint8Array][] = [
    [80, REGTEST_CHAIN],
    [160, new Uint8Array(5)],
    [162, new Uint8Array(28)],
    [164, tu64(1_700_000_000n)],
    [166, tu64(600n)],
    [168, B12_HASH],
    [170, tu64(123_456n)],
    [176, fromHex(BOLT12_NODE_ID)],
    ...extra,
  ];
  return makeBolt12(fields.filter(([t]) => !drop.includes(Number(t))));
}

Deno.test("our own BOLT #12 invoices: regtest chain, expiry, required fields, unknown fields", () => {
  const d = decodeInvoiceString(ownBolt12([[10, utf8("a\u202eb\nc")]]), "regtest");
  strictEqual(d.amountMsat, 123_456n);
  strictEqual(d.createdAt, 1_700_000_000);
  strictEqual(d.expiry, 600);
  strictEqual(toHex(d.paymentHash), toHex(B12_HASH));
  strictEqual(d.description, "a b c");
  strictEqual(d.wellFormed, true);
  strictEqual(reasonOf(() => decodeInvoiceString(ownBolt12(), "bitcoin")), "network");
  // Unknown odd fields are fine, unknown even ones are not.
  strictEqual(decodeInvoiceString(ownBolt12([[179, utf8("x")]]), "regtest").amountMsat, 123_456n);
  strictEqual(
    decodeInvoiceString(ownBolt12([[3_000_000_001n, utf8("x")]]), "regtest").amountMsat,
    123_456n,
  );
  strictEqual(
    reasonOf(() => decodeInvoiceString(ownBolt12([[178, utf8("x")]]), "regtest")),
    "malformed",
  );
  for (const t of [164, 168, 170, 176]) {
    strictEqual(
      reasonOf(() => decodeInvoiceString(ownBolt12([], [t]), "regtest")),
      "malformed",
      `${t}`,
    );
  }
  // Missing paths: decodes, but not well formed.
  strictEqual(decodeInvoiceString(ownBolt12([], [160]), "regtest").wellFormed, false);
  // Signed by another key.
  const wrongKey = makeBolt12([
    [80, REGTEST_CHAIN],
    [164, tu64(1n)],
    [168, B12_HASH],
    [170, tu64(1n)],
    [176, fromHex(BOLT12_NODE_ID)],
  ], { secret: "47".repeat(32) });
  strictEqual(reasonOf(() => decodeInvoiceString(wrongKey, "regtest")), "signature");
  // Non-minimal integers, out-of-order types.
  const padded = makeBolt12([
    [80, REGTEST_CHAIN],
    [164, concat(Uint8Array.of(0), u32be(5))],
    [168, B12_HASH],
    [170, tu64(1n)],
    [176, fromHex(BOLT12_NODE_ID)],
  ]);
  strictEqual(reasonOf(() => decodeInvoiceString(padded, "regtest")), "malformed");
  const unordered = makeBolt12([
    [80, REGTEST_CHAIN],
    [168, B12_HASH],
    [164, tu64(1n)],
    [170, tu64(1n)],
    [176, fromHex(BOLT12_NODE_ID)],
  ], { raw: true });
  strictEqual(reasonOf(() => decodeInvoiceString(unordered, "regtest")), "malformed");
  strictEqual(
    reasonOf(() => parseTlvStream(concat(tlvRecord(1, new Uint8Array(3)).subarray(0, 3)))),
    "malformed",
  );
});

Deno.test("sanitizeDescription removes control and bidi characters and bounds the length", () => {
  strictEqual(sanitizeDescription("a\u0000b\u007fc\u009fd\u2066e"), "a b c d e");
  const long = sanitizeDescription("é".repeat(300));
  strictEqual([...long].length, 160);
  ok(long.endsWith("…"));
});

// ---- preapprove_invoice ----

Deno.test("preapprove_invoice facts: a new invoice, the approver's answer in the facts", () => {
  const out = preapproveInvoice(ctx("bitcoin", { approval: "approve", approvedCount: 3 }), {
    invstring: BOLT11.coffee,
  });
  strictEqual(out.kind, "preapprove_invoice");
  const invoiceHash = toHex(sha256(utf8(BOLT11.coffee)));
  deepStrictEqual(out.facts, {
    payment: {
      hash: BOLT11_HASH,
      amount_msat: 250_000_000n,
      has_amount: true,
      payee: BOLT11_NODE_ID,
      payee_allowlisted: false,
      already_known: false,
      conflicts: false,
      approved: true,
      approval_asked: true,
      approval_pending: false,
      is_keysend: false,
    },
    invoice: {
      is_bolt12: false,
      amount_msat: 250_000_000n,
      created_at: BOLT11_TIME,
      expiry: 60,
      expires_at: BOLT11_TIME + 60,
      now: NOW,
      ahead_of_now: -10,
      well_formed: true,
      invoice_hash: invoiceHash,
    },
    sends: { count: 1 },
    table: { approved_count: 3, adds: true },
  });
  strictEqual(PreapproveInvoiceFacts.safeParse(out.facts).success, true);
  deepStrictEqual(out.next.approvedPayment, {
    kind: "invoice",
    paymentHash: BOLT11_HASH,
    amountMsat: 250_000_000n,
    payee: BOLT11_NODE_ID,
    approvedAt: NOW,
    expiresAt: BOLT11_TIME + 60,
    invoiceHash,
  });
  strictEqual(out.release(), true);
});

Deno.test("preapprove_invoice: already known, conflicting, amountless, allowlisted payee", () => {
  const first = preapproveInvoice(ctx("bitcoin"), { invstring: BOLT11.coffee });
  const record = first.next.approvedPayment as ApprovedPayment;
  const book = (hash: string) => (hash === BOLT11_HASH ? record : undefined);

  // The same invoice again (even in upper case it would be): known, counts 0, nothing to add.
  const again = preapproveInvoice(ctx("bitcoin", { approvedPayment: book, approvedCount: 1 }), {
    invstring: BOLT11.coffee,
  });
  strictEqual(again.facts.payment.already_known, true);
  strictEqual(again.facts.payment.conflicts, false);
  strictEqual(again.facts.payment.amount_msat, 0n);
  strictEqual(again.facts.invoice.amount_msat, 250_000_000n);
  deepStrictEqual(again.facts.table, { approved_count: 1, adds: false });
  strictEqual(again.next.approvedPayment, null);
  strictEqual(
    invoiceApprovalRequest(ctx("bitcoin", { approvedPayment: book }), { invstring: BOLT11.coffee })
      .needsApproval,
    false,
  );

  // Another invoice with the same payment hash: a conflict.
  const other = preapproveInvoice(ctx("bitcoin", { approvedPayment: book }), {
    invstring: BOLT11.nonsense,
  });
  strictEqual(other.facts.payment.already_known, false);
  strictEqual(other.facts.payment.conflicts, true);
  strictEqual(other.facts.payment.amount_msat, 250_000_000n);

  // Amountless: has_amount false, amount 0.
  const donation = preapproveInvoice(ctx("bitcoin", { approval: "deny" }), {
    invstring: BOLT11.donation,
  });
  strictEqual(donation.facts.payment.has_amount, false);
  strictEqual(donation.facts.payment.amount_msat, 0n);
  strictEqual(donation.facts.payment.approved, false);
  strictEqual(donation.facts.payment.approval_asked, true);
  strictEqual(donation.facts.invoice.expiry, 3600);

  // Allowlisted payee: no need to ask.
  const allow = (id: Uint8Array) => toHex(id) === BOLT11_NODE_ID;
  const ask = invoiceApprovalRequest(ctx("bitcoin", { payeeAllowlisted: allow }), {
    invstring: BOLT11.coffee,
  });
  strictEqual(ask.needsApproval, false);
  const allowed = preapproveInvoice(ctx("bitcoin", { payeeAllowlisted: allow }), {
    invstring: BOLT11.coffee,
  });
  strictEqual(allowed.facts.payment.payee_allowlisted, true);
  strictEqual(allowed.facts.payment.approval_asked, false);
  strictEqual(allowed.facts.payment.approved, false);
});

Deno.test("preapprove_invoice: pending answers, BOLT #12 invoices, request errors", () => {
  const pending = preapproveInvoice(ctx("bitcoin", { approval: "pending" }), {
    invstring: BOLT11.coffee,
  });
  strictEqual(pending.facts.payment.approval_pending, true);
  strictEqual(pending.facts.payment.approved, false);

  const b12 = preapproveInvoice(
    { keys: { network: "bitcoin" }, now: BOLT12.createdAt + 100 },
    { invstring: BOLT12.minimal },
  );
  strictEqual(b12.facts.invoice.is_bolt12, true);
  strictEqual(b12.facts.payment.payee, BOLT12_NODE_ID);
  strictEqual(b12.facts.payment.amount_msat, 1000n);
  strictEqual(b12.facts.invoice.expires_at, BOLT12.createdAt + 7200);
  strictEqual(b12.facts.invoice.ahead_of_now, -100);
  strictEqual(PreapproveInvoiceFacts.safeParse(b12.facts).success, true);

  throws(() => preapproveInvoice(ctx("bitcoin"), { invstring: "" }), NodeRequestError);
  throws(() => preapproveInvoice(ctx("regtest"), { invstring: BOLT11.coffee }), InvoiceDecodeError);
  throws(
    () =>
      preapproveInvoice({ keys: { network: "bitcoin" }, now: -1 }, { invstring: BOLT11.coffee }),
    /clock/,
  );
  const ask = invoiceApprovalRequest(ctx("bitcoin"), { invstring: BOLT11.coffee });
  deepStrictEqual(ask, {
    needsApproval: true,
    request: {
      kind: "invoice",
      paymentHash: BOLT11_HASH,
      amountMsat: 250_000_000n,
      hasAmount: true,
      payee: BOLT11_NODE_ID,
      createdAt: BOLT11_TIME,
      expiresAt: BOLT11_TIME + 60,
      invoiceHash: toHex(sha256(utf8(BOLT11.coffee))),
      isBolt12: false,
      description: "1 cup coffee",
    },
  });
});

// ---- preapprove_keysend ----

const DEST = fromHex(BOLT12_NODE_ID);
const KHASH = sha256(utf8("keysend preimage"));

Deno.test("preapprove_keysend facts: 60-second pseudo-invoice, payee never allowlisted", () => {
  const out = preapproveKeysend(
    ctx("regtest", { approval: "approve", payeeAllowlisted: () => true }),
    { destination: DEST, paymentHash: KHASH, amountMsat: 5000n },
  );
  strictEqual(out.kind, "preapprove_keysend");
  deepStrictEqual(out.facts, {
    payment: {
      hash: toHex(KHASH),
      amount_msat: 5000n,
      has_amount: true,
      payee: BOLT12_NODE_ID,
      payee_allowlisted: false,
      already_known: false,
      conflicts: false,
      approved: true,
      approval_asked: true,
      approval_pending: false,
      is_keysend: true,
    },
    invoice: {
      is_bolt12: false,
      amount_msat: 5000n,
      created_at: NOW,
      expiry: 60,
      expires_at: NOW + 60,
      now: NOW,
      ahead_of_now: 0,
      well_formed: true,
      invoice_hash: "",
    },
    sends: { count: 1 },
    table: { approved_count: 0, adds: true },
  });
  strictEqual(PreapproveKeysendFacts.safeParse(out.facts).success, true);
  deepStrictEqual(out.next.approvedPayment, {
    kind: "keysend",
    paymentHash: toHex(KHASH),
    amountMsat: 5000n,
    payee: BOLT12_NODE_ID,
    approvedAt: NOW,
    expiresAt: NOW + 60,
    invoiceHash: "",
  });
  strictEqual(out.release(), true);

  const record = out.next.approvedPayment as ApprovedPayment;
  const book = (h: string) => (h === toHex(KHASH) ? record : undefined);
  const same = preapproveKeysend(ctx("regtest", { approvedPayment: book }), {
    destination: DEST,
    paymentHash: KHASH,
    amountMsat: 5000n,
  });
  strictEqual(same.facts.payment.already_known, true);
  strictEqual(same.facts.payment.amount_msat, 0n);
  strictEqual(same.next.approvedPayment, null);
  strictEqual(
    keysendApprovalRequest(ctx("regtest", { approvedPayment: book }), {
      destination: DEST,
      paymentHash: KHASH,
      amountMsat: 5000n,
    }).needsApproval,
    false,
  );
  const more = preapproveKeysend(ctx("regtest", { approvedPayment: book }), {
    destination: DEST,
    paymentHash: KHASH,
    amountMsat: 6000n,
  });
  strictEqual(more.facts.payment.already_known, false);
  strictEqual(more.facts.payment.conflicts, true);
});

Deno.test("preapprove_keysend refuses malformed requests", () => {
  const bad = [
    { destination: new Uint8Array(33), paymentHash: KHASH, amountMsat: 1n },
    { destination: DEST, paymentHash: new Uint8Array(31), amountMsat: 1n },
    { destination: DEST, paymentHash: KHASH, amountMsat: -1n },
    { destination: DEST, paymentHash: KHASH, amountMsat: 1n << 64n },
  ];
  for (const req of bad) {
    throws(() => preapproveKeysend(ctx("regtest"), req), (e: unknown) => {
      ok(e instanceof NodeRequestError);
      strictEqual(e.code, "malformed");
      ok(e.message.startsWith("preapprove_keysend: "), e.message);
      return true;
    });
  }
});

Deno.test("the service flow: ask the queue, pending, a human approves, approved on retry", async () => {
  const store = new MemoryStore();
  const approver = new QueueApprover({ store });
  const base = ctx("bitcoin");
  const run = async () => {
    const ask = invoiceApprovalRequest(base, { invstring: BOLT11.coffee });
    const approval = ask.needsApproval
      ? await approver.approvePayment(ask.request, base)
      : undefined;
    return preapproveInvoice({ ...base, approval }, { invstring: BOLT11.coffee });
  };
  const first = await run();
  strictEqual(first.facts.payment.approval_pending, true);
  const [entry] = (await store.list("node/approval/")).map((e) => JSON.parse(e.value));
  strictEqual(entry.status, "pending");
  await decideApproval(store, entry.id, { decision: "approve", now: NOW + 1 });
  const second = await run();
  strictEqual(second.facts.payment.approved, true);
  strictEqual(second.facts.payment.approval_pending, false);
});
