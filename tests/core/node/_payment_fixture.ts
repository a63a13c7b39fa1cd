/**
 * Invoices for the preapproval tests: the BOLT #11 spec examples (all signed by one key, dated
 * 2017 and 2019, so tests pass `now` explicitly), the BOLT #12 test-vector invoices, and builders
 * of our own signed BOLT #11 and BOLT #12 invoices (any network, any field).
 *
 * @module
 */
import { bech32 } from "@scure/base";
import { bytesToBigInt, concat, fromHex, u64be, utf8 } from "../../../core/bytes.ts";
import { ecdsaSignRecoverable, schnorrSign } from "../../../core/crypto/mod.ts";
import { invoiceSigningHash } from "../../../core/node/invoice.ts";
import { bolt12SigHash } from "../../../core/node/bolt12.ts";
import { bolt12MerkleRoot, parseTlvStream } from "../../../core/node/preapprove.ts";

/** BOLT #11 "Examples": the key that signed them all, its node id, their payment hash. */
export const BOLT11_PRIV = "e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734";
/** The node id of {@link BOLT11_PRIV}. */
export const BOLT11_NODE_ID = "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad";
/** The payment hash of most examples. */
export const BOLT11_HASH = "0001020304050607080900010203040506070809000102030405060708090102";
/** The examples' timestamp (`pvjluez`). */
export const BOLT11_TIME = 1496314658;

/** Valid BOLT #11 examples (bitcoin mainnet unless the prefix says `lntb`). */
export const BOLT11 = {
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
  pico:
    "lnbc9678785340p1pwmna7lpp5gc3xfm08u9qy06djf8dfflhugl6p7lgza6dsjxq454gxhj9t7a0sd8dgfkx7cmtwd68yetpd5s9xar0wfjn5gpc8qhrsdfq24f5ggrxdaezqsnvda3kkum5wfjkzmfqf3jkgem9wgsyuctwdus9xgrcyqcjcgpzgfskx6eqf9hzqnteypzxz7fzypfhg6trddjhygrcyqezcgpzfysywmm5ypxxjemgw3hxjmn8yptk7untd9hxwg3q2d6xjcmtv4ezq7pqxgsxzmnyyqcjqmt0wfjjq6t5v4khxxqyjw5qcqp2rzjq0gxwkzc8w6323m55m4jyxcjwmy7stt9hwkwe2qxmy8zpsgg7jcuwz87fcqqeuqqqyqqqqlgqqqqn3qq9qn07ytgrxxzad9hc4xt3mawjjt8znfv8xzscs7007v9gh9j569lencxa8xeujzkxs0uamak9aln6ez02uunw6rd2ht2sqe4hz8thcdagpleym0j",
  features:
    "lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqpqsq67gye39hfg3zd8rgc80k32tvy9xk2xunwm5lzexnvpx6fd77en8qaq424dxgt56cag2dpt359k3ssyhetktkpqh24jqnjyw6uqd08sgptq44qu",
  featuresUpper:
    "LNBC25M1PVJLUEZPP5QQQSYQCYQ5RQWZQFQQQSYQCYQ5RQWZQFQQQSYQCYQ5RQWZQFQYPQDQ5VDHKVEN9V5SXYETPDEESSP5ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYGS9Q5SQQQQQQQQQQQQQQQPQSQ67GYE39HFG3ZD8RGC80K32TVY9XK2XUNWM5LZEXNVPX6FD77EN8QAQ424DXGT56CAG2DPT359K3SSYHETKTKPQH24JQNJYW6UQD08SGPTQ44QU",
} as const;

/** BOLT #11 "Examples of Invalid Invoices" (and which decode step refuses them). */
export const BOLT11_INVALID = {
  badChecksum:
    "lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrnt",
  noSeparator:
    "pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny",
  mixedCase:
    "LNBC2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny",
  notRecoverable:
    "lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpuaxtrnwngzn3kdzw5hydlzf03qdgm2hdq27cqv3agm2awhz5se903vruatfhq77w3ls4evs3ch9zw97j25emudupq63nyw24cg27h2rspk28uwq",
  tooShort:
    "lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6na6hlh",
  badMultiplier:
    "lnbc2500x1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpujr6jxr9gq9pv6g46y7d20jfkegkg4gljz2ea2a3m9lmvvr95tq2s0kvu70u3axgelz3kyvtp2ywwt0y8hkx2869zq5dll9nelr83zzqqpgl2zg",
  subMillisatoshi:
    "lnbc2500000001p1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu7hqtk93pkf7sw55rdv4k9z2vj050rxdr6za9ekfs3nlt5lr89jqpdmxsmlj9urqumg0h9wzpqecw7th56tdms40p2ny9q4ddvjsedzcplva53s",
} as const;

/** The BOLT #12 key of the bolt12/payer-proof-test.json invoices (`invoice_node_id`). */
export const BOLT12_SECRET = "46".repeat(32);
/** Its node id. */
export const BOLT12_NODE_ID = "024bc2a31265153f07e70e0bab08724e6b85e217f8cd628ceb62974247bb493382";

/**
 * bolt12/payer-proof-test.json "full_disclosure" and "minimal_disclosure" invoices (bitcoin,
 * created 1733458312, 1000 msat, payment hash 72cd6e84..., signed by {@link BOLT12_NODE_ID}),
 * with the Merkle roots the file gives.
 */
export const BOLT12 = {
  full:
    "lni1qqgqqqqqqqqqqqqqqqqqqqqqqqqqq93pqf9u9gcjv52n7pl8pc96kzrjfe4ctcshlrxk9r8tv2t5y3amfyecy5szq059sggry3jnatzrgjyqqtxqdwlm0ug0uxyerc6lnljrqtd75mfr20wq4vw2qasz0uc7h32x9s0aecdhxlk075kn046aafpuuyw8f5j652t3vha2yqrsxtqt0nu4xf9q05znnzeyq96dcrptu3zdj6c4n2nv0aa3ue5xszv3qypwm2aaz66peqm3hyh09uzvzxzmfupmdhx49w5m0rva0jyu3u3pz3gqzqqqqqqqqqqqqqqqqqqqqqqqqqq2y8qqqqqqzqqqqqpqqqcqqqqqqqqqqqzqqqqqqqqqqqq9qqq2gpr82fuc32pqwtxkappzcsrlkmgfs6g0zyct0hkhashh7hsaxz7e65slq9fkx7f65qsrazhq6zqqqqqqqqqqqqqqqqqqqzczzqjtc233yeg48ur7wrst4vy8ynntsh3p07xdv2xwkc5hgfrmkjfnstcyp7aextn2n4d5mzx2phwfe70cejyqaaq78my4wndgna3ymwyc4vlf60kke258g33nhp23vldqpygemxp54ecl0vr0qfejm3xpm6atq4mlavkstcqszss",
  fullRoot: "cb9e0c81bb39fc244f9f523c748ab4de0e09f1a5fef74359c2e1f7cc7cdc7447",
  minimal:
    "lni1qqgqqqqqqqqqqqqqqqqqqqqqqqqqq93pqf9u9gcjv52n7pl8pc96kzrjfe4ctcshlrxk9r8tv2t5y3amfyecy5szq059sggry3jnatzrgjyqqtxqdwlm0ug0uxyerc6lnljrqtd75mfr20wq4vw2qasz0uc7h32x9s0aecdhxlk075kn046aafpuuyw8f5j652t3vha2yqrsxtqt0nu4xf9q05znnzeyq96dcrptu3zdj6c4n2nv0aa3ue5xszv3qypwm2aaz66peqm3hyh09uzvzxzmfupmdhx49w5m0rva0jyu3u3pz3gqzqqqqqqqqqqqqqqqqqqqqqqqqqq2y8qqqqqqzqqqqqpqqqcqqqqqqqqqqqzqqqqqqqqqqqq9qqq2gpr82fuc32pqwtxkappzcsrlkmgfs6g0zyct0hkhashh7hsaxz7e65slq9fkx7f65qsrazczzqjtc233yeg48ur7wrst4vy8ynntsh3p07xdv2xwkc5hgfrmkjfnstcyqz3nyfzk3d42umkj2gqjh4l7zpevq04aefl6gnu4kql3e5ymu29s4q7fcvsst9uvmqx6q6yhje3vsraqple9pnxuf5vtwz0l68r6uvvs",
  minimalRoot: "0501ea6d4ad9fe7fce7edd5e3795987bd409d66c5709c2a17f9c0dfb839e3d8e",
  paymentHash: "72cd6e8422c407fb6d098690f1130b7ded7ec2f7f5e1d30bd9d521f015363793",
  createdAt: 1733458312,
} as const;

/** bolt12/signature-test.json: the invoice request (Merkle root 608407c1...). */
export const BOLT12_INVREQ =
  "lnr1qqyqqqqqqqqqqqqqqcp4256ypqqkgzshgysy6ct5dpjk6ct5d93kzmpq23ex2ct5d9ek293pqthvwfzadd7jejes8q9lhc4rvjxd022zv5l44g6qah82ru5rdpnpjkppqvjx204vgdzgsqpvcp4mldl3plscny0rt707gvpdh6ndydfacz43euzqhrurageg3n7kafgsek6gz3e9w52parv8gs2hlxzk95tzeswywffxlkeyhml0hh46kndmwf4m6xma3tkq2lu04qz3slje2rfthc89vss";

/** bolt12/format-string-test.json: one offer in every valid and invalid spelling. */
export const BOLT12_FORMAT = {
  valid: [
    "lno1pqps7sjqpgtyzm3qv4uxzmtsd3jjqer9wd3hy6tsw35k7msjzfpy7nz5yqcnygrfdej82um5wf5k2uckyypwa3eyt44h6txtxquqh7lz5djge4afgfjn7k4rgrkuag0jsd5xvxg",
    "LNO1PQPS7SJQPGTYZM3QV4UXZMTSD3JJQER9WD3HY6TSW35K7MSJZFPY7NZ5YQCNYGRFDEJ82UM5WF5K2UCKYYPWA3EYT44H6TXTXQUQH7LZ5DJGE4AFGFJN7K4RGRKUAG0JSD5XVXG",
    "l+no1pqps7sjqpgtyzm3qv4uxzmtsd3jjqer9wd3hy6tsw35k7msjzfpy7nz5yqcnygrfdej82um5wf5k2uckyypwa3eyt44h6txtxquqh7lz5djge4afgfjn7k4rgrkuag0jsd5xvxg",
    "lno1pqps7sjqpgt+yzm3qv4uxzmtsd3jjqer9wd3hy6tsw3+5k7msjzfpy7nz5yqcn+ygrfdej82um5wf5k2uckyypwa3eyt44h6txtxquqh7lz5djge4afgfjn7k4rgrkuag0jsd+5xvxg",
    "lno1pqps7sjqpgt+ yzm3qv4uxzmtsd3jjqer9wd3hy6tsw3+  5k7msjzfpy7nz5yqcn+\nygrfdej82um5wf5k2uckyypwa3eyt44h6txtxquqh7lz5djge4afgfjn7k4rgrkuag0jsd+\r\n 5xvxg",
    "LNO1PQPS7SJQPGT+ YZM3QV4UXZMTSD3JJQER9WD3HY6TSW3+  5K7MSJZFPY7NZ5YQCN+\nYGRFDEJ82UM5WF5K2UCKYYPWA3EYT44H6TXTXQUQH7LZ5DJGE4AFGFJN7K4RGRKUAG0JSD+\r\n 5XVXG",
  ],
  invalid: [
    "lno1pqps7sjqpgtyzm3qv4uxzmtsd3jjqer9wd3hy6tsw35k7msjzfpy7nz5yqcnygrfdej82um5wf5k2uckyypwa3eyt44h6txtxquqh7lz5djge4afgfjn7k4rgrkuag0jsd5xvxg+",
    "lno1pqps7sjqpgtyzm3qv4uxzmtsd3jjqer9wd3hy6tsw35k7msjzfpy7nz5yqcnygrfdej82um5wf5k2uckyypwa3eyt44h6txtxquqh7lz5djge4afgfjn7k4rgrkuag0jsd5xvxg+ ",
    "+lno1pqps7sjqpgtyzm3qv4uxzmtsd3jjqer9wd3hy6tsw35k7msjzfpy7nz5yqcnygrfdej82um5wf5k2uckyypwa3eyt44h6txtxquqh7lz5djge4afgfjn7k4rgrkuag0jsd5xvxg",
    "+ lno1pqps7sjqpgtyzm3qv4uxzmtsd3jjqer9wd3hy6tsw35k7msjzfpy7nz5yqcnygrfdej82um5wf5k2uckyypwa3eyt44h6txtxquqh7lz5djge4afgfjn7k4rgrkuag0jsd5xvxg",
    "ln++o1pqps7sjqpgtyzm3qv4uxzmtsd3jjqer9wd3hy6tsw35k7msjzfpy7nz5yqcnygrfdej82um5wf5k2uckyypwa3eyt44h6txtxquqh7lz5djge4afgfjn7k4rgrkuag0jsd5xvxg",
  ],
} as const;

/** The secp256k1 group order. */
export const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** A BOLT #11 tagged field: its 5-bit type and data. */
export interface Bolt11Field {
  /** The type (`p` = 1, `d` = 13, `n` = 19, `x` = 6, ...). */
  type: number;
  /** The data as 5-bit values. */
  words: number[];
}

/** A field holding `bytes`. */
export function bytesField(type: number, bytes: Uint8Array): Bolt11Field {
  return { type, words: bech32.toWords(bytes) };
}

/** A field holding an integer in the fewest 5-bit values. */
export function intField(type: number, value: number): Bolt11Field {
  const words: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 32)) words.unshift(v % 32);
  return { type, words: words.length ? words : [0] };
}

/** The data part (timestamp then fields) as 5-bit values. */
export function bolt11Data(timestamp: number, fields: readonly Bolt11Field[]): number[] {
  const data: number[] = [];
  for (let i = 6; i >= 0; i--) data.push(Math.floor(timestamp / 32 ** i) % 32);
  for (const f of fields) data.push(f.type, f.words.length >> 5, f.words.length & 31, ...f.words);
  return data;
}

/** Options of {@link makeBolt11}. */
export interface Bolt11Options {
  /** The signing key, hex (default {@link BOLT11_PRIV}). */
  secret?: string;
  /** Rewrites the 65 signature bytes (64-byte signature, recovery id) before encoding. */
  tamper?: (signature: Uint8Array) => Uint8Array;
}

/** A signed BOLT #11 invoice with human-readable part `hrp`. */
export function makeBolt11(
  hrp: string,
  data: { timestamp: number; fields: readonly Bolt11Field[] },
  options: Bolt11Options = {},
): string {
  const words = bolt11Data(data.timestamp, data.fields);
  const digest = invoiceSigningHash(utf8(hrp), Uint8Array.from(words));
  const sig = ecdsaSignRecoverable(digest, fromHex(options.secret ?? BOLT11_PRIV));
  let bytes = concat(sig.signature, Uint8Array.of(sig.recovery));
  if (options.tamper) bytes = options.tamper(bytes);
  return bech32.encode(hrp, [...words, ...bech32.toWords(bytes)], false);
}

/** The same signature with `s` replaced by `n - s` (high-S) and the recovery id flipped. */
export function highS(sig: Uint8Array): Uint8Array {
  const s = bytesToBigInt(sig.subarray(32, 64));
  const high = CURVE_ORDER - s;
  const out = sig.slice();
  out.set(fromHex(high.toString(16).padStart(64, "0")), 32);
  out[64] = sig[64] ^ 1;
  return out;
}

function bigsize(n: bigint): Uint8Array {
  if (n < 0xfdn) return Uint8Array.of(Number(n));
  if (n <= 0xffffn) return Uint8Array.of(0xfd, Number(n >> 8n), Number(n & 0xffn));
  if (n <= 0xffffffffn) return concat(Uint8Array.of(0xfe), u64be(n).subarray(4));
  return concat(Uint8Array.of(0xff), u64be(n));
}

/** One TLV record. */
export function tlvRecord(type: number | bigint, value: Uint8Array): Uint8Array {
  return concat(bigsize(BigInt(type)), bigsize(BigInt(value.length)), value);
}

/** A minimal big-endian integer (`tu64`). */
export function tu64(n: bigint): Uint8Array {
  const bytes = u64be(n);
  let i = 0;
  while (i < 8 && bytes[i] === 0) i++;
  return bytes.slice(i);
}

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/** `hrp` + `1` + `bytes` in bech32 characters, without checksum (BOLT #12 "Encoding"). */
export function bolt12Encode(hrp: string, bytes: Uint8Array): string {
  return `${hrp}1${bech32.toWords(bytes).map((w) => CHARSET[w]).join("")}`;
}

/**
 * A BOLT #12 invoice of `fields` (type, value; any order), signed with `secret` (default
 * {@link BOLT12_SECRET}) over the Merkle root as BOLT #12 "Signature Calculation" says.
 * `raw: true` keeps the given order (for malformed streams) and signs whatever Merkle root the
 * parser computes.
 */
export function makeBolt12(
  fields: readonly [number | bigint, Uint8Array][],
  options: { secret?: string; raw?: boolean } = {},
): string {
  const sorted = options.raw
    ? [...fields]
    : [...fields].sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
  const unsigned = concat(...sorted.map(([t, v]) => tlvRecord(t, v)));
  let root: Uint8Array;
  try {
    root = bolt12MerkleRoot(parseTlvStream(unsigned));
  } catch {
    root = new Uint8Array(32);
  }
  const sig = schnorrSign(
    bolt12SigHash("invoice", "signature", root),
    fromHex(options.secret ?? BOLT12_SECRET),
  );
  const all = [...sorted, [240, sig] as [number, Uint8Array]];
  if (!options.raw) all.sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
  return bolt12Encode("lni", concat(...all.map(([t, v]) => tlvRecord(t, v))));
}
