import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { bech32 } from "@scure/base";
import { concat, fromHex, toHex, utf8 } from "../../../core/bytes.ts";
import { ecdsaRecover } from "../../../core/crypto/mod.ts";
import {
  invoiceSigningHash,
  packU5,
  parseInvoiceHrp,
  signInvoice,
} from "../../../core/node/invoice.ts";
import { SignInvoiceFacts } from "../../../core/node/facts_sign.ts";
import type { IssuedInvoice } from "../../../core/node/sign_context.ts";
import type { Network } from "../../../core/bitcoin/network.ts";
import { contextOf, keysWithNodeSecret } from "./_sign_fixture.ts";

/** BOLT #11 "Examples": all signed with this key. */
const PRIV = "e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734";
const NODE_ID = "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad";
const HASH = "0001020304050607080900010203040506070809000102030405060708090102";

const EXAMPLES = {
  donation:
    "lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq8rkx3yf5tcsyz3d73gafnh3cax9rn449d9p5uxz9ezhhypd0elx87sjle52x86fux2ypatgddc6k63n7erqz25le42c4u4ecky03ylcqca784w",
  coffee:
    "lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpuaztrnwngzn3kdzw5hydlzf03qdgm2hdq27cqv3agm2awhz5se903vruatfhq77w3ls4evs3ch9zw97j25emudupq63nyw24cg27h2rspfj9srp",
  nonsense:
    "lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny",
  hashed:
    "lnbc20m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqscc6gd6ql3jrc5yzme8v4ntcewwz5cnw92tz0pc8qcuufvq7khhr8wpald05e92xw006sq94mg8v2ndf4sefvf9sygkshp5zfem29trqq2yxxz7",
  testnetFallback:
    "lntb20m1pvjluezhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfpp3x9et2e20v6pu37c5d9vax37wxq72un98kmzzhznpurw9sgl2v0nklu2g4d0keph5t7tj9tcqd8rexnd07ux4uv2cjvcqwaxgj7v4uwn5wmypjd5n69z2xm3xgksg28nwht7f6zspwp3f9t",
  routed:
    "lnbc20m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqsfpp3qjmp7lwpagxun9pygexvgpjdc4jdj85fr9yq20q82gphp2nflc7jtzrcazrra7wwgzxqc8u7754cdlpfrmccae92qgzqvzq2ps8pqqqqqqpqqqqq9qqqvpeuqafqxu92d8lr6fvg0r5gv0heeeqgcrqlnm6jhphu9y00rrhy4grqszsvpcgpy9qqqqqqgqqqqq7qqzqj9n4evl6mr5aj9f58zp6fyjzup6ywn3x6sk8akg5v4tgn2q8g4fhx05wf6juaxu9760yp46454gpg5mtzgerlzezqcqvjnhjh8z3g2qqdhhwkj",
  p2sh:
    "lnbc20m1pvjluezhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfppj3a24vwu6r8ejrss3axul8rxldph2q7z9kmrgvr7xlaqm47apw3d48zm203kzcq357a4ls9al2ea73r8jcceyjtya6fu5wzzpe50zrge6ulk4nvjcpxlekvmxl6qcs9j3tz0469gq5g658y",
  p2wpkh:
    "lnbc20m1pvjluezhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfppqw508d6qejxtdg4y5r3zarvary0c5xw7kepvrhrm9s57hejg0p662ur5j5cr03890fa7k2pypgttmh4897d3raaq85a293e9jpuqwl0rnfuwzam7yr8e690nd2ypcq9hlkdwdvycqa0qza8",
  p2wsh:
    "lnbc20m1pvjluezhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfp4qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q28j0v3rwgy9pvjnd48ee2pl8xrpxysd5g44td63g6xcjcu003j3qe8878hluqlvl3km8rm92f5stamd3jw763n3hck0ct7p8wwj463cql26ava",
  pico:
    "lnbc9678785340p1pwmna7lpp5gc3xfm08u9qy06djf8dfflhugl6p7lgza6dsjxq454gxhj9t7a0sd8dgfkx7cmtwd68yetpd5s9xar0wfjn5gpc8qhrsdfq24f5ggrxdaezqsnvda3kkum5wfjkzmfqf3jkgem9wgsyuctwdus9xgrcyqcjcgpzgfskx6eqf9hzqnteypzxz7fzypfhg6trddjhygrcyqezcgpzfysywmm5ypxxjemgw3hxjmn8yptk7untd9hxwg3q2d6xjcmtv4ezq7pqxgsxzmnyyqcjqmt0wfjjq6t5v4khxxqyjw5qcqp2rzjq0gxwkzc8w6323m55m4jyxcjwmy7stt9hwkwe2qxmy8zpsgg7jcuwz87fcqqeuqqqyqqqqlgqqqqn3qq9qn07ytgrxxzad9hc4xt3mawjjt8znfv8xzscs7007v9gh9j569lencxa8xeujzkxs0uamak9aln6ez02uunw6rd2ht2sqe4hz8thcdagpleym0j",
  features:
    "lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqpqsq67gye39hfg3zd8rgc80k32tvy9xk2xunwm5lzexnvpx6fd77en8qaq424dxgt56cag2dpt359k3ssyhetktkpqh24jqnjyw6uqd08sgptq44qu",
  ignoredFields:
    "lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqpqsq" +
    // BOLT #11 "Same, but including fields which must be ignored": the fields are written out by
    // their lengths (unknown type 2; f version 19; p, h, s of 51 and 53; n of 52 and 54).
    "2qrqqq" + "fpp" + "n" + "q".repeat(32) +
    "ppn" + "q".repeat(51) + "pp4" + "q".repeat(53) +
    "hpn" + "q".repeat(51) + "hp4" + "q".repeat(53) +
    "spn" + "q".repeat(51) + "sp4" + "q".repeat(53) +
    "np5" + "q".repeat(52) + "npk" + "q".repeat(54) +
    "2jxxfsnucm4jf4zwtznpaxphce606fvhvje5x7d4gw7n73994hgs7nteqvenq8a4ml8aqtchv5d9pf7l558889hp4yyrqv6a7zpq9fgp" +
    "skqhza",
} as const;

interface Split {
  hrp: Uint8Array;
  data: Uint8Array;
  signature: Uint8Array;
  recovery: number;
}

/** An encoded invoice as CLN's sign_invoice request sees it, plus the signature it carries. */
function split(invoice: string): Split {
  const decoded = bech32.decode(invoice as `${string}1${string}`, false);
  const words = Uint8Array.from(decoded.words);
  const sig = Uint8Array.from(bech32.fromWords(Array.from(words.subarray(words.length - 104))));
  return {
    hrp: utf8(decoded.prefix),
    data: words.slice(0, words.length - 104),
    signature: sig.subarray(0, 64),
    recovery: sig[64],
  };
}

function ctxFor(network: Network, extra = {}) {
  return contextOf(keysWithNodeSecret(PRIV, network), { now: 1496314658, ...extra });
}

Deno.test("sign_invoice reproduces every BOLT #11 example signature byte for byte", () => {
  for (const [name, invoice] of Object.entries(EXAMPLES)) {
    const s = split(invoice);
    const network: Network = invoice.startsWith("lntb") ? "testnet" : "bitcoin";
    const out = signInvoice(ctxFor(network), { u5bytes: s.data, hrp: s.hrp });
    strictEqual(out.kind, "sign_invoice");
    strictEqual(SignInvoiceFacts.safeParse(out.facts).success, true, name);
    const sig = out.release();
    strictEqual(toHex(sig.signature), toHex(s.signature), name);
    strictEqual(sig.recovery, s.recovery, name);
    strictEqual(
      toHex(ecdsaRecover(sig.signature, sig.recovery, fromHex(out.facts.invoice.invoice_hash))),
      NODE_ID,
    );
  }
});

Deno.test("the signed preimage and its hash are BOLT #11's 'data for signing' and SHA256", () => {
  const s = split(EXAMPLES.donation);
  strictEqual(
    toHex(concat(s.hrp, packU5(s.data))),
    "6c6e62630b25fe64410d00004080c1014181c20240004080c1014181c20240004080c1014181c202404081a1fa83632b0b9b29031b7b739b4b232b91039bab83837b93a34b733903a3434b990383937b532b1ba0",
  );
  strictEqual(
    toHex(invoiceSigningHash(s.hrp, s.data)),
    "c3d4e83f646fa79a393d75277b1d858db1d1f7ab7137dcb7835db2ecd518e1c9",
  );
  const t = split(EXAMPLES.testnetFallback);
  strictEqual(
    toHex(invoiceSigningHash(t.hrp, t.data)),
    "00c17b39642becc064615ef196a6cc0cce262f1d8dde7b3c23694aeeda473abe",
  );
});

Deno.test("invoice facts: amounts, hash, times and fields of the spec examples", () => {
  const facts = (name: keyof typeof EXAMPLES, network: Network = "bitcoin") => {
    const s = split(EXAMPLES[name]);
    return signInvoice(ctxFor(network), { u5bytes: s.data, hrp: s.hrp }).facts.invoice;
  };
  const donation = facts("donation");
  strictEqual(donation.has_amount, false);
  strictEqual(donation.amount_msat, 0n);
  strictEqual(donation.payment_hash, HASH);
  strictEqual(donation.created_at, 1496314658);
  strictEqual(donation.expiry, 3600);
  strictEqual(donation.expires_at, 1496314658 + 3600);
  strictEqual(donation.description_length, "Please consider supporting this project".length);
  strictEqual(donation.min_final_cltv_expiry, 18);
  strictEqual(donation.has_min_final_cltv_expiry, false);
  strictEqual(donation.well_formed, true);
  strictEqual(donation.network_ok, true);
  strictEqual(donation.currency, "bc");

  const coffee = facts("coffee");
  strictEqual(coffee.amount_msat, 250_000_000n);
  strictEqual(coffee.expiry, 60);

  strictEqual(facts("nonsense").description_length, utf8("ナンセンス 1杯").length);

  const hashed = facts("hashed");
  strictEqual(hashed.amount_msat, 2_000_000_000n);
  strictEqual(hashed.has_description, false);
  strictEqual(hashed.has_description_hash, true);
  strictEqual(hashed.well_formed, true);

  const testnet = facts("testnetFallback", "testnet");
  strictEqual(testnet.currency, "tb");
  strictEqual(testnet.network_ok, true);
  strictEqual(testnet.fallback_count, 1);
  strictEqual(facts("testnetFallback", "bitcoin").network_ok, false);
  strictEqual(facts("coffee", "regtest").network_ok, false);

  const routed = facts("routed");
  strictEqual(routed.route_hint_count, 2);
  strictEqual(routed.fallback_count, 1);

  const pico = facts("pico");
  strictEqual(pico.amount_msat, 967_878_534n);
  strictEqual(pico.created_at, 1572468703);
  strictEqual(pico.expiry, 604800);
  strictEqual(pico.min_final_cltv_expiry, 10);
  strictEqual(pico.has_min_final_cltv_expiry, true);
  strictEqual(pico.route_hint_count, 1);
  strictEqual(
    pico.payment_hash,
    "462264ede7e14047e9b249da94fefc47f41f7d02ee9b091815a5506bc8abf75f",
  );

  const features = facts("features");
  deepStrictEqual(features.feature_bits, [9, 15, 99]);
  strictEqual(features.has_payment_secret, true);
  strictEqual(features.amount_msat, 2_500_000_000n);
  strictEqual(features.well_formed, true);

  // Fields of known types with the wrong length are skipped, as a reader must.
  const ignored = facts("ignoredFields");
  strictEqual(ignored.payment_hash, HASH);
  strictEqual(ignored.has_payee, false);
  strictEqual(ignored.payee_ok, true);
  strictEqual(ignored.has_description_hash, false);
  strictEqual(ignored.fallback_count, 1);
  strictEqual(ignored.well_formed, true);
});

/** Appends a tagged field to a data part. */
function withField(data: Uint8Array, type: number, bytes: Uint8Array): Uint8Array {
  const words = bech32.toWords(bytes);
  return concat(data, Uint8Array.of(type, words.length >> 5, words.length & 31, ...words));
}

Deno.test("invoice facts: the payee field is checked against our node id", () => {
  const s = split(EXAMPLES.coffee);
  const mine = withField(s.data, 19, fromHex(NODE_ID));
  const ours = signInvoice(ctxFor("bitcoin"), { u5bytes: mine, hrp: s.hrp }).facts.invoice;
  strictEqual(ours.has_payee, true);
  strictEqual(ours.payee_ok, true);
  strictEqual(ours.well_formed, true);
  const other = withField(
    s.data,
    19,
    fromHex("028d7500dd4c12685d1f568b4c2b5048e8534b873319f3a8daa612b469132ec7f7"),
  );
  const theirs = signInvoice(ctxFor("bitcoin"), { u5bytes: other, hrp: s.hrp }).facts.invoice;
  strictEqual(theirs.has_payee, true);
  strictEqual(theirs.payee_ok, false);
});

Deno.test("invoice well_formed: one payment hash, one description or hash, secret iff feature", () => {
  const s = split(EXAMPLES.coffee);
  const wf = (data: Uint8Array) =>
    signInvoice(ctxFor("bitcoin"), { u5bytes: data, hrp: s.hrp }).facts.invoice.well_formed;
  strictEqual(wf(s.data), true);
  // A second payment hash.
  strictEqual(wf(withField(s.data, 1, new Uint8Array(32).fill(9))), false);
  // A description hash besides the description.
  strictEqual(wf(withField(s.data, 23, new Uint8Array(32))), false);
  // A payment secret without the payment_secret feature.
  strictEqual(wf(withField(s.data, 16, new Uint8Array(32))), false);
  // Only the timestamp: no payment hash, no description.
  strictEqual(wf(s.data.slice(0, 7)), false);
  // Zero amount: a writer MUST encode a positive amount.
  const zero = signInvoice(ctxFor("bitcoin"), { u5bytes: s.data, hrp: utf8("lnbc0u") });
  strictEqual(zero.facts.invoice.well_formed, false);
  strictEqual(zero.facts.invoice.has_amount, true);
  strictEqual(zero.next.issuedInvoice, null);
});

Deno.test("sign_invoice: the issued-invoice record, and what the node already issued", () => {
  const s = split(EXAMPLES.coffee);
  const first = signInvoice(ctxFor("bitcoin"), { u5bytes: s.data, hrp: s.hrp });
  const record = first.next.issuedInvoice as IssuedInvoice;
  deepStrictEqual(record, {
    paymentHash: HASH,
    invoiceHash: "3cd6ef07744040556e01be64f68fd9e1565fb47d78c42308b1ee005aca5a0d86",
    amountMsat: 250_000_000n,
    payee: NODE_ID,
    createdAt: 1496314658,
    expirySeconds: 60,
    isFulfilled: false,
  });
  strictEqual(first.facts.invoice.already_issued, false);
  const lookup = (hash: string) => (hash === HASH ? record : undefined);
  const retry = signInvoice(ctxFor("bitcoin", { issuedInvoice: lookup }), {
    u5bytes: s.data,
    hrp: s.hrp,
  });
  strictEqual(retry.facts.invoice.already_issued, true);
  strictEqual(retry.facts.invoice.same_as_issued, true);
  // Same payment hash, another invoice (the nonsense example differs only in its description).
  const n = split(EXAMPLES.nonsense);
  const other = signInvoice(ctxFor("bitcoin", { issuedInvoice: lookup }), {
    u5bytes: n.data,
    hrp: n.hrp,
  });
  strictEqual(other.facts.invoice.already_issued, true);
  strictEqual(other.facts.invoice.same_as_issued, false);
  // No amount: nothing to remember (VLS records invoices with an amount above 0).
  const d = split(EXAMPLES.donation);
  strictEqual(
    signInvoice(ctxFor("bitcoin"), { u5bytes: d.data, hrp: d.hrp }).next.issuedInvoice,
    null,
  );
});

Deno.test("invoice times are relative to the signer's clock", () => {
  const s = split(EXAMPLES.coffee);
  const out = signInvoice(ctxFor("bitcoin", { now: 1496314000 }), { u5bytes: s.data, hrp: s.hrp });
  strictEqual(out.facts.invoice.now, 1496314000);
  strictEqual(out.facts.invoice.ahead_of_now, 658);
});

Deno.test("hrp parsing: multipliers, and the readers' MUST-fail cases", () => {
  deepStrictEqual(parseInvoiceHrp("lnbc"), {
    currency: "bc",
    amountMsat: null,
    amountCanonical: true,
  });
  strictEqual(parseInvoiceHrp("lnbcrt1m").amountMsat, 100_000_000n);
  strictEqual(parseInvoiceHrp("lntbs3n").amountMsat, 300n);
  strictEqual(parseInvoiceHrp("lnbc2").amountMsat, 200_000_000_000n);
  strictEqual(parseInvoiceHrp("lnbc10p").amountMsat, 1n);
  strictEqual(parseInvoiceHrp("lnbc025m").amountCanonical, false);
  // BOLT #11 "Examples of Invalid Invoices": invalid multiplier, sub-millisatoshi precision.
  throws(() => parseInvoiceHrp("lnbc2500x"), { name: "NodeRequestError", code: "malformed" });
  throws(() => parseInvoiceHrp("lnbc2500000001p"), /pico amount must end in 0/);
  throws(() => parseInvoiceHrp("bc2500u"), { name: "NodeRequestError" });
});

Deno.test("sign_invoice refuses what it cannot read", () => {
  const s = split(EXAMPLES.coffee);
  const ctx = ctxFor("bitcoin");
  const bad = s.data.slice();
  bad[10] = 32;
  throws(() => signInvoice(ctx, { u5bytes: bad, hrp: s.hrp }), /not 5-bit/);
  throws(() => signInvoice(ctx, { u5bytes: s.data.slice(0, 9), hrp: s.hrp }), /truncated field/);
  throws(
    () => signInvoice(ctx, { u5bytes: s.data.slice(0, 20), hrp: s.hrp }),
    /field longer than the data/,
  );
  throws(() => signInvoice(ctx, { u5bytes: s.data.slice(0, 6), hrp: s.hrp }), {
    name: "NodeRequestError",
    code: "malformed",
  });
  throws(() => signInvoice(ctx, { u5bytes: s.data, hrp: utf8("ln bc") }), /printable ASCII/);
  throws(
    () => signInvoice(ctx, { u5bytes: "abc", hrp: s.hrp } as never),
    /sign_invoice: u5bytes/,
  );
});
