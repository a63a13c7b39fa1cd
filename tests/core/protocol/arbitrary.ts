/**
 * Test helpers for the protocol codecs: fast-check generators of valid values built from a
 * codec's {@link TypeSpec} (valid points, public extended keys, small transactions and PSBTs), a
 * walker that locates every bool and point of an encoding with its field path (for mutation
 * tests), and a normaliser that makes SecretBytes comparable.
 *
 * @module
 */
import fc from "fast-check";
import { concat, toHex } from "../../../core/bytes.ts";
import { publicKey, SecretBytes, sha256 } from "../../../core/crypto/mod.ts";
import { createPsbt, type Psbt } from "../../../core/bitcoin/psbt.ts";
import type { Tx } from "../../../core/bitcoin/tx.ts";
import { type Codec, type TypeSpec, Writer } from "../../../core/protocol/types.ts";

/** A pool of valid compressed points (public keys of sha256(i)). */
export const POINTS: Uint8Array[] = Array.from(
  { length: 16 },
  (_, i) => publicKey(sha256(Uint8Array.of(i))),
);

const pointArb: fc.Arbitrary<Uint8Array> = fc.constantFrom(...POINTS);
const bytesArb = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const shortBytes = fc.uint8Array({ maxLength: 24 });
const u32Arb = fc.nat({ max: 0xffffffff });

/** Small transactions: 1–3 inputs, 1–3 outputs, optionally with witnesses. */
export function txArb(options: { witness: boolean }): fc.Arbitrary<Tx> {
  const input = fc.record({
    txid: bytesArb(32),
    vout: u32Arb,
    scriptSig: fc.constant(new Uint8Array()),
    sequence: u32Arb,
    witness: options.witness
      ? fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 2 })
      : fc.constant([] as Uint8Array[]),
  });
  const output = fc.record({
    amount: fc.bigInt({ min: 0n, max: 2_100_000_000_000_000n }),
    script: fc.uint8Array({ maxLength: 34 }),
  });
  return fc.record({
    version: fc.constantFrom(1, 2),
    inputs: fc.array(input, { minLength: 1, maxLength: 3 }),
    outputs: fc.array(output, { minLength: 1, maxLength: 3 }),
    locktime: u32Arb,
  });
}

function unsigned(tx: Tx): Tx {
  return {
    ...tx,
    inputs: tx.inputs.map((i) => ({ ...i, scriptSig: new Uint8Array(), witness: [] })),
  };
}

/** A PSBT for `tx` whose inputs all carry a witness UTXO (and some outputs a witness script). */
function psbtFor(tx: Tx, seed: number): Psbt {
  const psbt = createPsbt(unsigned(tx));
  psbt.inputs.forEach((input, i) => {
    input.witnessUtxo = {
      amount: BigInt(1000 + i + seed),
      script: Uint8Array.of(0x00, 0x14, ...new Uint8Array(20).fill(i)),
    };
  });
  if (seed % 2 === 1) psbt.outputs[0].witnessScript = Uint8Array.of(0x51, seed & 0xff);
  return psbt;
}

function tlvArb(spec: Extract<TypeSpec, { kind: "tlvs" }>): fc.Arbitrary<unknown> {
  const known = new Set(Object.values(spec.records).map((r) => BigInt(r.type)));
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, rec] of Object.entries(spec.records)) model[k] = arbitraryFor(rec.codec);
  const unknownOdd = fc.uniqueArray(fc.bigInt({ min: 0n, max: 600n }).map((n) => 2n * n + 1n), {
    minLength: 1,
    maxLength: 3,
  }).map((types) => types.filter((t) => !known.has(t)).sort((a, b) => (a < b ? -1 : 1)))
    .filter((types) => types.length > 0)
    .chain((types) =>
      fc.tuple(...types.map(() => shortBytes)).map((values) =>
        types.map((type, i) => ({ type, value: values[i] }))
      )
    );
  return fc.tuple(fc.record(model, { requiredKeys: [] }), fc.option(unknownOdd, { nil: undefined }))
    .map(([records, odd]) => (odd === undefined ? records : { ...records, unknownOdd: odd }));
}

/** A generator of valid values for `codec`, derived from its spec. */
export function arbitraryFor(codec: Codec<unknown>): fc.Arbitrary<unknown> {
  const spec = codec.spec;
  switch (spec.kind) {
    case "uint":
      return spec.values ? fc.constantFrom(...spec.values) : fc.nat({ max: 2 ** spec.bits - 1 });
    case "u64":
      return fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
    case "bool":
      return fc.boolean();
    case "bytes":
      switch (spec.check) {
        case "point":
          return pointArb;
        case "xpub":
          return fc.tuple(bytesArb(45), pointArb).map(([a, p]) => concat(a, p));
        case "recid":
          return fc.tuple(bytesArb(64), fc.integer({ min: 0, max: 3 })).map(([s, r]) =>
            concat(s, Uint8Array.of(r))
          );
        case "none":
          return bytesArb(spec.length);
      }
      throw new Error("unreachable");
    case "secret":
      return bytesArb(spec.length).map((b) => new SecretBytes(b));
    case "varbytes":
    case "rest":
      return shortBytes;
    case "string": {
      const text = fc.string({ unit: "binary", maxLength: 10 }).filter((s) =>
        s.isWellFormed() && ![...s].some((c) => (c.codePointAt(0) ?? 0) < 0x20)
      );
      return spec.secret ? text.map((s) => new SecretBytes(new TextEncoder().encode(s))) : text;
    }
    case "opt":
      return fc.option(arbitraryFor(spec.inner), { nil: null });
    case "arr":
      return fc.array(arbitraryFor(spec.inner), { maxLength: 3 });
    case "struct": {
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, c] of Object.entries(spec.fields)) model[k] = arbitraryFor(c);
      return fc.record(model);
    }
    case "tlvs":
      return tlvArb(spec);
    case "bsig":
      return fc.record({
        signature: bytesArb(64),
        sighash: fc.constantFrom(0x01, 0x02, 0x03, 0x81, 0x82, 0x83),
      });
    case "tx":
      return txArb({ witness: true });
    case "ctx":
      return fc.tuple(txArb({ witness: false }), fc.nat(1000)).map(([tx, seed]) => ({
        tx,
        psbt: psbtFor(tx, seed),
      }));
    case "psbt":
      return fc.tuple(txArb({ witness: false }), fc.nat(1000)).map(([tx, seed]) =>
        psbtFor(tx, seed)
      );
  }
}

/** `value` with every SecretBytes replaced by `{ secret: hex }`, so deepStrictEqual can see it. */
export function normalize(value: unknown): unknown {
  if (value instanceof SecretBytes) return { secret: toHex(value.expose()) };
  if (value instanceof Uint8Array || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(normalize);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
}

/** Byte length of `value` encoded with `codec`. */
export function encodedSize(codec: Codec<unknown>, value: unknown): number {
  const w = new Writer({ where: "size" });
  codec.write(w, value);
  return w.length;
}

/** A byte of an encoding that holds a bool flag or the first byte of a point. */
export interface Located {
  /** Offset in the encoding. */
  offset: number;
  /** Field path as ProtocolError reports it. */
  path: string;
}

function join(path: string, seg: string): string {
  return seg.startsWith("[") || path === "" ? path + seg : `${path}.${seg}`;
}

/**
 * Offsets and field paths of every bool (including opt flags) and every point in the encoding of
 * `value` with `codec`, starting at `base`. TLV streams are not descended into.
 */
export function locate(
  codec: Codec<unknown>,
  value: unknown,
  base = 0,
  path = "",
  out: { bools: Located[]; points: Located[] } = { bools: [], points: [] },
): { bools: Located[]; points: Located[] } {
  const spec = codec.spec;
  switch (spec.kind) {
    case "bool":
      out.bools.push({ offset: base, path });
      break;
    case "bytes":
      if (spec.check === "point") out.points.push({ offset: base, path });
      break;
    case "opt":
      out.bools.push({ offset: base, path });
      if (value !== null) locate(spec.inner, value, base + 1, path, out);
      break;
    case "arr": {
      let at = base + 2;
      (value as unknown[]).forEach((e, i) => {
        locate(spec.inner, e, at, join(path, `[${i}]`), out);
        at += encodedSize(spec.inner, e);
      });
      break;
    }
    case "struct": {
      let at = base;
      for (const [k, c] of Object.entries(spec.fields)) {
        const v = (value as Record<string, unknown>)[k];
        locate(c, v, at, join(path, k), out);
        at += encodedSize(c, v);
      }
      break;
    }
    default:
      break;
  }
  return out;
}
