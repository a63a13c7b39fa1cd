/**
 * Wire primitives of the remote-signer (hsmd) protocol, as small codecs in the style of
 * micro-packed: each {@link Codec} is one declaration that drives both decoding and encoding, and
 * carries an introspectable {@link TypeSpec} (used to document the table and to generate test
 * values). Combinators ({@link opt}, {@link arr}, {@link struct}, {@link tlvs}) build the compound
 * types of the protocol from the primitives.
 *
 * Encodings (CLN `wire/fromwire.c`, `wire/towire.c`, `bitcoin/tx.c`, `bitcoin/signature.c`,
 * `common/derive_basepoints.c`, `hsmd/hsm_utxo.c`; VLS `vls-protocol/src/model.rs`): every integer
 * is big-endian unless its name says `le`; `bool` is one byte, 0 or 1 (anything else is an error,
 * as in CLN's `fromwire_bool`); `opt<T>` is a bool flag then T; `arr<T>` is a u16 count then T
 * repeated, each element in T's own encoding; `b16`/`b32` are u16/u32 length-prefixed bytes;
 * `str0` is UTF-8 then a NUL with no length (CLN's `wirestring`, which also refuses control
 * characters below 0x20); `ctx` is CLN's `bitcoin_tx`: a u32-length raw transaction followed by
 * a u32-length PSBT v0; `tlvs` is a BOLT #1 TLV stream running to the end of the message.
 *
 * Strictness: decoding and encoding enforce the same rules (points must be valid compressed
 * secp256k1 points, signatures must carry a defined sighash type, recoverable signatures a
 * recovery id 0..3, extended keys must be public, PSBTs must be version 0 and describe the same
 * transaction as the raw one, TLV types must increase, BigSizes must be minimal, ...). Every
 * failure is a {@link ProtocolError} naming the message and the field path
 * (`validate_commitment_tx.htlc_sigs[3]: truncated ...`); error texts never contain field values.
 *
 * Values: u8/u16/u32 are numbers, u64 are bigints, byte strings are Uint8Array, 32-byte secrets
 * are {@link SecretBytes} (which redact themselves when logged), `opt<T>` is `T | null`.
 *
 * @module
 */
import { concat, equal, u16be, u32be, u32le as u32leBytes, u64be } from "../bytes.ts";
import { isValidPublicKey, SecretBytes } from "../crypto/mod.ts";
import { decodeTx, encodeTx, stripSignatures, type Tx } from "../bitcoin/tx.ts";
import {
  decodePsbt,
  encodePsbt,
  type Psbt,
  spentOutput,
  verifyNonWitnessUtxos,
} from "../bitcoin/psbt.ts";

/** The largest message body (u16 type + fields) accepted or produced: VLS's `MAX_MESSAGE_SIZE`. */
export const MAX_BODY_SIZE = 131072;

/** What kind of problem a {@link ProtocolError} reports. */
export type ProtocolErrorCode =
  /** A body shorter than the 2-byte type. */
  | "too-short"
  /** A body (or frame) over {@link MAX_BODY_SIZE}. */
  | "too-large"
  /** Bytes left after the last field. */
  | "trailing-bytes"
  /** A message type the table does not know. */
  | "unknown-type"
  /** A known message type, but not the one that was expected here. */
  | "unexpected-type"
  /** The body ended inside a field. */
  | "truncated"
  /** A field holds a value its type does not allow. */
  | "invalid"
  /** A transport envelope is malformed (bad magic, bad length, stream ended mid-frame). */
  | "framing";

/**
 * A malformed message, field or frame. `message` reads `<message>.<field path>: <problem>`, e.g.
 * `sign_withdrawal.psbt: input 0: no PSBT_IN_NON_WITNESS_UTXO or PSBT_IN_WITNESS_UTXO`. It never
 * contains the value of a field.
 */
export class ProtocolError extends Error {
  /** The kind of problem. */
  readonly code: ProtocolErrorCode;
  /** The message (CLN snake_case name) or envelope the problem is in, if known. */
  readonly where: string | undefined;
  /** The field path inside it (`htlc_sigs[3]`, `inputs[0].close_info.peer_id`), if any. */
  readonly field: string | undefined;
  /** The problem alone, without the location. */
  readonly problem: string;

  /**
   * Creates the error.
   * @param problem what is wrong, never the offending bytes
   * @param options the kind of problem, the message (or envelope) and the field path
   */
  constructor(
    problem: string,
    options: { code: ProtocolErrorCode; where?: string; field?: string },
  ) {
    const field = options.field ?? "";
    const where = options.where ?? "";
    const location = where === "" || field === "" || field.startsWith("[")
      ? where + field
      : `${where}.${field}`;
    super(location === "" ? problem : `${location}: ${problem}`);
    this.name = "ProtocolError";
    this.code = options.code;
    this.where = options.where;
    this.field = options.field;
    this.problem = problem;
  }
}

function formatPath(path: readonly string[]): string {
  let out = "";
  for (const seg of path) out += seg.startsWith("[") || out === "" ? seg : `.${seg}`;
  return out;
}

/** Sequential reader over one message body (or part of it) that tracks the field path. */
export class Reader {
  #bytes: Uint8Array;
  #pos: number;
  #end: number;
  /** The message name used in errors. */
  readonly where: string;
  /** The field path of the value being read (shared with sub-readers). */
  readonly path: string[];

  /**
   * Creates a reader.
   * @param bytes the bytes to read (not copied; values read out are copies)
   * @param options `where` (message name for errors) and an optional shared `path`
   */
  constructor(bytes: Uint8Array, options: { where: string; path?: string[] }) {
    this.#bytes = bytes;
    this.#pos = 0;
    this.#end = bytes.length;
    this.where = options.where;
    this.path = options.path ?? [];
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#end - this.#pos;
  }

  /** Current offset from the start of the bytes. */
  get offset(): number {
    return this.#pos;
  }

  /** Throws a {@link ProtocolError} at the current field path. */
  fail(problem: string, code: ProtocolErrorCode = "invalid"): never {
    throw new ProtocolError(problem, {
      code,
      where: this.where,
      field: formatPath(this.path),
    });
  }

  /** The next `n` bytes (a copy); fails with `truncated` if fewer are left. */
  take(n: number): Uint8Array {
    if (n > this.remaining) {
      this.fail(`truncated (needs ${n} bytes, ${this.remaining} left)`, "truncated");
    }
    const out = this.#bytes.slice(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** The next byte. */
  byte(): number {
    return this.take(1)[0];
  }

  /** The offset of the next `value` byte, or -1 (does not consume). */
  indexOf(value: number): number {
    const i = this.#bytes.subarray(this.#pos, this.#end).indexOf(value);
    return i < 0 ? -1 : i;
  }

  /** Reads a value inside field `name` (pushed on the path for errors). */
  field<T>(name: string, read: () => T): T {
    this.path.push(name);
    try {
      return read();
    } finally {
      this.path.pop();
    }
  }

  /** A reader over the next `n` bytes, sharing this reader's path; this reader skips them. */
  sub(n: number): Reader {
    return new Reader(this.take(n), { where: this.where, path: this.path });
  }
}

/** Collects the encoding of one message body, tracking the field path for errors. */
export class Writer {
  #parts: Uint8Array[] = [];
  #length = 0;
  /** The message name used in errors. */
  readonly where: string;
  /** The field path of the value being written. */
  readonly path: string[];

  /**
   * Creates a writer.
   * @param options `where` (message name for errors) and an optional shared `path`
   */
  constructor(options: { where: string; path?: string[] }) {
    this.where = options.where;
    this.path = options.path ?? [];
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** Throws a {@link ProtocolError} (code `invalid`) at the current field path. */
  fail(problem: string): never {
    throw new ProtocolError(problem, {
      code: "invalid",
      where: this.where,
      field: formatPath(this.path),
    });
  }

  /** Appends bytes. */
  push(bytes: Uint8Array): void {
    this.#parts.push(bytes);
    this.#length += bytes.length;
  }

  /** Writes a value inside field `name` (pushed on the path for errors). */
  field(name: string, write: () => void): void {
    this.path.push(name);
    try {
      write();
    } finally {
      this.path.pop();
    }
  }

  /** Everything written, as one array. */
  finish(): Uint8Array {
    return concat(...this.#parts);
  }
}

/** Extra validation of a fixed-length byte field (drives test-value generation too). */
export type BytesCheck = "none" | "point" | "xpub" | "recid";

/** A TLV record declared in a {@link tlvs} stream. */
export interface TlvRecordSpec<T = unknown> {
  /** The TLV type. */
  readonly type: number;
  /** The value's codec; the value must fill the record exactly. */
  readonly codec: Codec<T>;
}

/** A machine-readable description of a codec's wire type. */
export type TypeSpec =
  | {
    readonly kind: "uint";
    readonly bits: 8 | 16 | 32;
    readonly littleEndian: boolean;
    /** When set, the only values allowed. */
    readonly values?: readonly number[];
  }
  | { readonly kind: "u64" }
  | { readonly kind: "bool" }
  | { readonly kind: "bytes"; readonly length: number; readonly check: BytesCheck }
  | { readonly kind: "secret"; readonly length: number }
  | { readonly kind: "varbytes"; readonly lengthBits: 16 | 32 }
  | { readonly kind: "rest" }
  | { readonly kind: "string"; readonly secret: boolean }
  | { readonly kind: "opt"; readonly inner: Codec<unknown> }
  | { readonly kind: "arr"; readonly inner: Codec<unknown> }
  | { readonly kind: "struct"; readonly fields: Fields }
  | { readonly kind: "tlvs"; readonly records: TlvRecords }
  | { readonly kind: "bsig" }
  | { readonly kind: "tx" }
  | { readonly kind: "ctx"; readonly requireUtxos: boolean }
  | { readonly kind: "psbt"; readonly requireUtxos: boolean };

/**
 * One wire type: a name for documentation, a {@link TypeSpec}, and the reader and writer that
 * the spec describes. `write` validates the value before writing it.
 */
export interface Codec<T> {
  /** Short wire-type name as used in protocol.md (`pt`, `arr<htlc>`, `opt<sec>`). */
  readonly name: string;
  /** Structure of the type. */
  readonly spec: TypeSpec;
  /** Reads one value. */
  read(r: Reader): T;
  /** Validates and writes one value. */
  write(w: Writer, value: T): void;
}

/** The value type of a codec. */
export type Value<C> = C extends Codec<infer T> ? T : never;

/** Named fields, in wire order (object key order). */
export type Fields = { readonly [name: string]: Codec<unknown> };

/** The value of a {@link struct} with fields `F`. */
export type StructValue<F extends Fields> = { -readonly [K in keyof F]: Value<F[K]> };

/** Named TLV records of a {@link tlvs} stream. */
export type TlvRecords = { readonly [name: string]: TlvRecordSpec };

/** A TLV record with an odd type the table does not know (kept, and written back). */
export interface UnknownTlv {
  /** The TLV type (odd). */
  type: bigint;
  /** The raw value. */
  value: Uint8Array;
}

/** The value of a {@link tlvs} stream: known records by name, plus unknown odd records. */
export type TlvsValue<R extends TlvRecords> =
  & { -readonly [K in keyof R]?: Value<R[K]["codec"]> }
  & { unknownOdd?: UnknownTlv[] };

function codec<T>(
  name: string,
  spec: TypeSpec,
  read: (r: Reader) => T,
  write: (w: Writer, value: T) => void,
): Codec<T> {
  return { name, spec, read, write };
}

// ---------------------------------------------------------------------------------------------
// Integers and bool

function isUint(v: unknown, max: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max;
}

function uint(bits: 8 | 16 | 32, littleEndian: boolean): Codec<number> {
  const size = bits / 8;
  const max = 2 ** bits - 1;
  const name = bits === 8 ? "u8" : `u${bits}${littleEndian ? "le" : ""}`;
  return codec(name, { kind: "uint", bits, littleEndian }, (r) => {
    const b = r.take(size);
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + b[littleEndian ? size - 1 - i : i];
    return n;
  }, (w, v) => {
    if (!isUint(v, max)) w.fail(`must be an integer in 0..${max}`);
    if (bits === 8) w.push(Uint8Array.of(v));
    else if (bits === 16) w.push(u16be(v));
    else w.push(littleEndian ? u32leBytes(v) : u32be(v));
  });
}

/** Unsigned 8-bit integer. */
export const u8: Codec<number> = uint(8, false);
/** Unsigned 16-bit integer, big-endian. */
export const u16: Codec<number> = uint(16, false);
/** Unsigned 32-bit integer, big-endian. */
export const u32: Codec<number> = uint(32, false);
/** Unsigned 32-bit integer, little-endian (Bitcoin consensus, inside {@link outpoint}). */
export const u32le: Codec<number> = uint(32, true);

/** Unsigned 64-bit integer, big-endian, as a bigint. */
export const u64: Codec<bigint> = codec("u64", { kind: "u64" }, (r) => {
  const b = r.take(8);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, false);
}, (w, v) => {
  if (typeof v !== "bigint" || v < 0n || v > 0xffffffffffffffffn) {
    w.fail("must be a bigint in 0..2^64-1");
  }
  w.push(u64be(v));
});

/** One byte, 0 (false) or 1 (true); any other byte is an error (CLN `fromwire_bool`). */
export const bool: Codec<boolean> = codec("bool", { kind: "bool" }, (r) => {
  const b = r.byte();
  if (b > 1) r.fail(`invalid bool ${b} (must be 0 or 1)`);
  return b === 1;
}, (w, v) => {
  if (typeof v !== "boolean") w.fail("must be a boolean");
  w.push(Uint8Array.of(v ? 1 : 0));
});

/**
 * A u8 restricted to `values` (e.g. an HTLC side, 0 or 1).
 * @param name wire-type name for documentation
 * @param values the allowed values
 */
export function oneOf<const V extends readonly number[]>(
  name: string,
  values: V,
): Codec<V[number]> {
  const problem = `must be one of ${values.join(", ")}`;
  const allowed = new Set<number>(values);
  return codec(name, { kind: "uint", bits: 8, littleEndian: false, values }, (r) => {
    const b = r.byte();
    if (!allowed.has(b)) r.fail(`invalid value ${b} (${problem})`);
    return b as V[number];
  }, (w, v) => {
    if (!allowed.has(v)) w.fail(problem);
    w.push(Uint8Array.of(v));
  });
}

// ---------------------------------------------------------------------------------------------
// Byte strings

function checkBytes(w: Writer, v: unknown): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) w.fail("must be a Uint8Array");
}

function validXpub(b: Uint8Array): boolean {
  return isValidPublicKey(b.subarray(45, 78));
}

function checkFixed(b: Uint8Array, check: BytesCheck): string | undefined {
  switch (check) {
    case "point":
      return isValidPublicKey(b) ? undefined : "not a valid compressed secp256k1 point";
    case "xpub":
      return validXpub(b)
        ? undefined
        : "not a public BIP-32 extended key (key data is not a valid compressed point)";
    case "recid":
      return b[64] <= 3 ? undefined : `invalid recovery id ${b[64]} (must be 0..3)`;
    case "none":
      return undefined;
  }
}

/**
 * Exactly `length` bytes, optionally validated.
 * @param name wire-type name for documentation
 * @param length byte length
 * @param check extra validation of the content
 */
export function bytes(name: string, length: number, check: BytesCheck = "none"): Codec<Uint8Array> {
  return codec(name, { kind: "bytes", length, check }, (r) => {
    const b = r.take(length);
    const problem = checkFixed(b, check);
    if (problem) r.fail(problem);
    return b;
  }, (w, v) => {
    checkBytes(w, v);
    if (v.length !== length) w.fail(`must be ${length} bytes, got ${v.length}`);
    const problem = checkFixed(v, check);
    if (problem) w.fail(problem);
    w.push(v);
  });
}

/** A 33-byte compressed public key, validated as a point on secp256k1 (CLN `pubkey`, `node_id`). */
export const pt: Codec<Uint8Array> = bytes("pt", 33, "point");
/** 32 raw bytes in internal order: txid, block hash, SHA-256 (CLN `sha256`, `bitcoin_txid`). */
export const h32: Codec<Uint8Array> = bytes("h32", 32);
/** A 64-byte compact signature (r ‖ s), or a BIP-340 signature (CLN `bip340sig`). */
export const sig: Codec<Uint8Array> = bytes("sig", 64);
/** A 65-byte recoverable signature: compact signature then recovery id 0..3. */
export const rsig: Codec<Uint8Array> = bytes("rsig", 65, "recid");
/**
 * A 78-byte BIP-32 extended key. Only public keys are accepted (the key data must be a valid
 * compressed point), so an extended private key can never be sent by mistake.
 */
export const xkey: Codec<Uint8Array> = bytes("xkey", 78, "xpub");

/** A 32-byte secret (CLN `secret`, `privkey`), as {@link SecretBytes} so it never gets logged. */
export const sec: Codec<SecretBytes> = codec("sec", { kind: "secret", length: 32 }, (r) => {
  return new SecretBytes(r.take(32));
}, (w, v) => {
  if (!(v instanceof SecretBytes)) w.fail("must be SecretBytes");
  if (v.length !== 32) w.fail(`must be 32 bytes, got ${v.length}`);
  w.push(v.expose().slice());
});

function varbytes(lengthBits: 16 | 32): Codec<Uint8Array> {
  const max = 2 ** lengthBits - 1;
  const len = lengthBits === 16 ? u16 : u32;
  return codec(`b${lengthBits}`, { kind: "varbytes", lengthBits }, (r) => {
    return r.take(len.read(r));
  }, (w, v) => {
    checkBytes(w, v);
    if (v.length > max) w.fail(`too long (${v.length} bytes, at most ${max})`);
    len.write(w, v.length);
    w.push(v);
  });
}

/** u16 length then bytes (VLS `Octets`; CLN `len,u16` + `u8,len`). */
export const b16: Codec<Uint8Array> = varbytes(16);
/** u32 length then bytes (VLS `LargeOctets`). */
export const b32: Codec<Uint8Array> = varbytes(32);

/**
 * Every remaining byte of the message. Only valid as the last field (VLS's consensus-encoded
 * `TxoProof` in `add_block`, whose length is implied by the end of the message).
 */
export const rest: Codec<Uint8Array> = codec("rest", { kind: "rest" }, (r) => {
  return r.take(r.remaining);
}, (w, v) => {
  checkBytes(w, v);
  w.push(v);
});

// ---------------------------------------------------------------------------------------------
// Strings

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const ENCODER = new TextEncoder();

function readStr0(r: Reader): Uint8Array {
  const n = r.indexOf(0);
  if (n < 0) r.fail("unterminated string (no NUL before the end)", "truncated");
  const raw = r.take(n + 1).subarray(0, n);
  if (raw.some((c) => c < 0x20)) r.fail("string contains a control character");
  return raw;
}

function checkStr0Bytes(w: Writer, raw: Uint8Array): void {
  if (raw.some((c) => c < 0x20)) w.fail("string contains a NUL or control character");
}

/**
 * A UTF-8 string terminated by NUL, with no length (CLN `wirestring`, VLS `WireString`). As in
 * CLN's `fromwire_wirestring`, bytes below 0x20 are refused; the bytes must also be valid UTF-8.
 */
export const str0: Codec<string> = codec("str0", { kind: "string", secret: false }, (r) => {
  const raw = readStr0(r);
  try {
    return UTF8.decode(raw);
  } catch {
    return r.fail("string is not valid UTF-8");
  }
}, (w, v) => {
  if (typeof v !== "string") w.fail("must be a string");
  if (!v.isWellFormed()) w.fail("string is not well-formed UTF-16");
  const raw = ENCODER.encode(v);
  checkStr0Bytes(w, raw);
  w.push(raw);
  w.push(Uint8Array.of(0));
});

/** A {@link str0} that holds a secret (CLN's `hsm_passphrase`): its UTF-8 bytes as SecretBytes. */
export const str0Secret: Codec<SecretBytes> = codec(
  "str0",
  { kind: "string", secret: true },
  (r) => {
    const raw = readStr0(r);
    try {
      UTF8.decode(raw);
    } catch {
      r.fail("string is not valid UTF-8");
    }
    return new SecretBytes(raw);
  },
  (w, v) => {
    if (!(v instanceof SecretBytes)) w.fail("must be SecretBytes");
    const raw = v.expose();
    checkStr0Bytes(w, raw);
    try {
      UTF8.decode(raw);
    } catch {
      w.fail("string is not valid UTF-8");
    }
    w.push(raw.slice());
    w.push(Uint8Array.of(0));
  },
);

// ---------------------------------------------------------------------------------------------
// Combinators

/**
 * `opt<T>`: a bool flag, then T if the flag is 1. The value is `T | null`.
 * @param inner the codec of the value
 */
export function opt<T>(inner: Codec<T>): Codec<T | null> {
  return codec(`opt<${inner.name}>`, { kind: "opt", inner }, (r) => {
    return bool.read(r) ? inner.read(r) : null;
  }, (w, v) => {
    if (v === undefined) w.fail("must be a value or null");
    bool.write(w, v !== null);
    if (v !== null) inner.write(w, v);
  });
}

/**
 * `arr<T>`: a u16 count, then that many T, each in T's own encoding.
 * @param inner the element codec
 */
export function arr<T>(inner: Codec<T>): Codec<T[]> {
  return codec(`arr<${inner.name}>`, { kind: "arr", inner }, (r) => {
    const n = u16.read(r);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(r.field(`[${i}]`, () => inner.read(r)));
    return out;
  }, (w, v) => {
    if (!Array.isArray(v)) w.fail("must be an array");
    if (v.length > 0xffff) w.fail(`too many elements (${v.length}, at most 65535)`);
    u16.write(w, v.length);
    v.forEach((e, i) => w.field(`[${i}]`, () => inner.write(w, e)));
  });
}

/**
 * `arrBE<u32>` (VLS `ArrayBE<u32>`): a u16 count then big-endian u32s. The same encoding as
 * `arr(u32)`; the separate name exists because VLS distinguishes it from a consensus-encoded array.
 */
export const arrBE: Codec<number[]> = { ...arr(u32), name: "arrBE<u32>" };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/**
 * A sequence of named fields (object key order is wire order), with no framing of its own.
 * Encoding refuses missing and unexpected keys.
 * @param name wire-type name for documentation
 * @param fields the fields in wire order
 */
export function struct<const F extends Fields>(name: string, fields: F): Codec<StructValue<F>> {
  const names = Object.keys(fields);
  return codec(name, { kind: "struct", fields }, (r) => {
    const out: Record<string, unknown> = {};
    for (const k of names) out[k] = r.field(k, () => fields[k].read(r));
    return out as StructValue<F>;
  }, (w, v) => {
    if (!isPlainObject(v)) w.fail("must be an object");
    for (const k of Object.keys(v)) {
      if (!Object.hasOwn(fields, k)) w.fail(`unexpected field "${k}"`);
    }
    for (const k of names) {
      if (!Object.hasOwn(v, k)) w.fail(`missing field "${k}"`);
      w.field(k, () => fields[k].write(w, v[k]));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// TLV streams (BOLT #1, "Type-Length-Value Format" and "Fundamental Types": bigsize)

function readBigSize(r: Reader): bigint {
  const first = r.byte();
  if (first < 0xfd) return BigInt(first);
  const size = first === 0xfd ? 2 : first === 0xfe ? 4 : 8;
  const b = r.take(size);
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  const min = first === 0xfd ? 0xfdn : first === 0xfe ? 0x10000n : 0x100000000n;
  if (n < min) r.fail("non-minimal BigSize encoding");
  return n;
}

/** BOLT #1 BigSize encoding of `n` (big-endian, minimal). */
export function bigSize(n: bigint): Uint8Array {
  if (n < 0n || n > 0xffffffffffffffffn) throw new RangeError("BigSize out of range");
  if (n < 0xfdn) return Uint8Array.of(Number(n));
  if (n <= 0xffffn) return concat(Uint8Array.of(0xfd), u16be(Number(n)));
  if (n <= 0xffffffffn) return concat(Uint8Array.of(0xfe), u32be(Number(n)));
  return concat(Uint8Array.of(0xff), u64be(n));
}

/**
 * A {@link tlvs} record declaration.
 * @param type the TLV type
 * @param codec the value's codec
 */
export function tlv<T>(type: number, codec: Codec<T>): TlvRecordSpec<T> {
  return { type, codec };
}

/**
 * A BOLT #1 TLV stream running to the end of the message: BigSize type, BigSize length, value;
 * types strictly increasing. Known records decode by name; an unknown even type is an error; an
 * unknown odd type is kept in `unknownOdd` and written back. An empty stream is zero bytes.
 * @param name wire-type name for documentation
 * @param records the known records by name
 */
export function tlvs<const R extends TlvRecords>(name: string, records: R): Codec<TlvsValue<R>> {
  const byType = new Map<bigint, [string, TlvRecordSpec]>();
  for (const [k, rec] of Object.entries(records)) byType.set(BigInt(rec.type), [k, rec]);
  return codec(name, { kind: "tlvs", records }, (r) => {
    const out: Record<string, unknown> = {};
    const unknownOdd: UnknownTlv[] = [];
    let last = -1n;
    while (r.remaining > 0) {
      const type = readBigSize(r);
      if (type <= last) r.fail(`TLV type ${type} is not greater than the previous ${last}`);
      last = type;
      const known = byType.get(type);
      r.field(known ? known[0] : `[type ${type}]`, () => {
        const length = readBigSize(r);
        if (length > BigInt(r.remaining)) {
          r.fail(`truncated (TLV length ${length}, ${r.remaining} bytes left)`, "truncated");
        }
        const value = r.sub(Number(length));
        if (!known) {
          if (type % 2n === 0n) r.fail(`unknown even TLV type ${type}`);
          unknownOdd.push({ type, value: value.take(value.remaining) });
          return;
        }
        out[known[0]] = known[1].codec.read(value);
        if (value.remaining > 0) {
          r.fail(`${value.remaining} bytes left in the TLV value`, "trailing-bytes");
        }
      });
    }
    if (unknownOdd.length > 0) out.unknownOdd = unknownOdd;
    return out as TlvsValue<R>;
  }, (w, v) => {
    if (!isPlainObject(v)) w.fail("must be an object");
    const items: [bigint, Uint8Array][] = [];
    for (const k of Object.keys(v)) {
      if (k === "unknownOdd" || v[k] === undefined) continue;
      const rec = Object.hasOwn(records, k) ? records[k] : undefined;
      if (!rec) return w.fail(`unexpected TLV record "${k}"`);
      const sub = new Writer({ where: w.where, path: w.path });
      w.field(k, () => rec.codec.write(sub, v[k]));
      items.push([BigInt(rec.type), sub.finish()]);
    }
    const unknown = v.unknownOdd;
    if (unknown !== undefined) {
      if (!Array.isArray(unknown)) w.fail("unknownOdd must be an array");
      unknown.forEach((u: unknown, i) =>
        w.field(`unknownOdd[${i}]`, () => {
          if (!isPlainObject(u) || typeof u.type !== "bigint" || !(u.value instanceof Uint8Array)) {
            return w.fail("must be { type: bigint, value: Uint8Array }");
          }
          if (u.type < 0n || u.type > 0xffffffffffffffffn || u.type % 2n === 0n) {
            w.fail("an unknown TLV type must be odd (and fit in 64 bits)");
          }
          if (byType.has(u.type)) w.fail(`TLV type ${u.type} is known: use its named field`);
          items.push([u.type, u.value]);
        })
      );
    }
    items.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (let i = 1; i < items.length; i++) {
      if (items[i][0] === items[i - 1][0]) w.fail(`duplicate TLV type ${items[i][0]}`);
    }
    for (const [type, value] of items) {
      w.push(bigSize(type));
      w.push(bigSize(BigInt(value.length)));
      w.push(value);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Bitcoin objects

function txOf(r: Reader, raw: Uint8Array, what: string): Tx {
  try {
    return decodeTx(raw);
  } catch (e) {
    return r.fail(`${what}: ${(e as Error).message}`);
  }
}

function txBytes(w: Writer, tx: Tx, what: string): Uint8Array {
  try {
    return encodeTx(tx);
  } catch (e) {
    return w.fail(`${what}: ${(e as Error).message}`);
  }
}

function psbtOf(r: Reader, raw: Uint8Array, requireUtxos: boolean): Psbt {
  let psbt: Psbt;
  try {
    psbt = decodePsbt(raw);
  } catch (e) {
    return r.fail((e as Error).message);
  }
  const problem = psbtProblem(psbt, requireUtxos);
  if (problem) r.fail(problem);
  return psbt;
}

function psbtBytes(w: Writer, psbt: Psbt, requireUtxos: boolean): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = encodePsbt(psbt);
  } catch (e) {
    return w.fail((e as Error).message);
  }
  const problem = psbtProblem(psbt, requireUtxos);
  if (problem) w.fail(problem);
  return raw;
}

/** With `requireUtxos`, every input must say what it spends (BIP-174 signer checks). */
function psbtProblem(psbt: Psbt, requireUtxos: boolean): string | undefined {
  if (!requireUtxos) return undefined;
  try {
    verifyNonWitnessUtxos(psbt);
    psbt.inputs.forEach((_, i) => spentOutput(psbt, i));
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

function sameUnsignedTx(a: Tx, b: Tx): boolean {
  return equal(encodeTx(stripSignatures(a), { witness: false }), encodeTx(b, { witness: false }));
}

/** A u32 length then a consensus-serialised transaction (VLS `WithSize<Transaction>`). */
export const tx: Codec<Tx> = codec("tx", { kind: "tx" }, (r) => {
  return txOf(r, r.take(u32.read(r)), "malformed transaction");
}, (w, v) => {
  const raw = txBytes(w, v, "cannot encode transaction");
  u32.write(w, raw.length);
  w.push(raw);
});

/**
 * A u32 length then a PSBT version 0 (CLN `wally_psbt`, VLS `WithSize<PSBT>`), decoded strictly
 * by `core/bitcoin/psbt.ts`.
 * @param options `requireUtxos`: every input must carry its witness or non-witness UTXO (the
 *   latter's txid checked against the prevout), as a signer needs to know what it spends
 */
export function psbt(options: { requireUtxos: boolean }): Codec<Psbt> {
  const { requireUtxos } = options;
  return codec("psbt", { kind: "psbt", requireUtxos }, (r) => {
    return psbtOf(r, r.take(u32.read(r)), requireUtxos);
  }, (w, v) => {
    const raw = psbtBytes(w, v, requireUtxos);
    u32.write(w, raw.length);
    w.push(raw);
  });
}

/** CLN's `bitcoin_tx` (`bitcoin/tx.c`): the raw transaction and the PSBT that describes it. */
export interface Ctx {
  /** The transaction as CLN linearised it (usually unsigned). */
  tx: Tx;
  /** Its PSBT v0: UTXOs, witness scripts, derivations, partial signatures. */
  psbt: Psbt;
}

/**
 * `ctx` (CLN `bitcoin_tx`; VLS `WithSize<Transaction>` + `WithSize<PSBT>`): a u32-length raw
 * transaction, then a u32-length PSBT v0. Both are decoded strictly; the PSBT's unsigned
 * transaction must be the raw transaction (scriptSigs and witnesses aside), so a request cannot
 * show the policy one transaction and have another one signed.
 * @param options `requireUtxos` as for {@link psbt}
 */
export function ctx(options: { requireUtxos: boolean }): Codec<Ctx> {
  const { requireUtxos } = options;
  return codec("ctx", { kind: "ctx", requireUtxos }, (r) => {
    const t = r.field("tx", () => txOf(r, r.take(u32.read(r)), "malformed transaction"));
    const p = r.field("psbt", () => psbtOf(r, r.take(u32.read(r)), requireUtxos));
    if (!sameUnsignedTx(t, p.tx)) {
      r.fail("the PSBT's unsigned transaction is not the raw transaction");
    }
    return { tx: t, psbt: p };
  }, (w, v) => {
    if (!isPlainObject(v) || Object.keys(v).some((k) => k !== "tx" && k !== "psbt")) {
      w.fail("must be { tx, psbt }");
    }
    const rawTx = txBytes(w, v.tx, "tx: cannot encode transaction");
    const rawPsbt = psbtBytes(w, v.psbt, requireUtxos);
    if (!sameUnsignedTx(v.tx, v.psbt.tx)) {
      w.fail("the PSBT's unsigned transaction is not the raw transaction");
    }
    u32.write(w, rawTx.length);
    w.push(rawTx);
    u32.write(w, rawPsbt.length);
    w.push(rawPsbt);
  });
}

// ---------------------------------------------------------------------------------------------
// Compound protocol types (protocol.md §0)

const SIGHASH_TYPES = new Set([0x01, 0x02, 0x03, 0x81, 0x82, 0x83]);

/** A signature with its sighash type, as in a witness (CLN `bitcoin_signature`). */
export interface BitcoinSignature {
  /** 64-byte compact ECDSA signature (r ‖ s). */
  signature: Uint8Array;
  /** Sighash type: ALL, NONE or SINGLE, optionally with ANYONECANPAY (0x80). */
  sighash: number;
}

/**
 * `bsig` (CLN `bitcoin_signature`): a 64-byte compact signature then the sighash type byte, which
 * must be defined (CLN `fromwire_bitcoin_signature` checks `sighash_type_valid`).
 */
export const bsig: Codec<BitcoinSignature> = codec("bsig", { kind: "bsig" }, (r) => {
  const b = r.take(65);
  if (!SIGHASH_TYPES.has(b[64])) r.fail(`undefined sighash type 0x${b[64].toString(16)}`);
  return { signature: b.slice(0, 64), sighash: b[64] };
}, (w, v) => {
  if (!isPlainObject(v) || Object.keys(v).some((k) => k !== "signature" && k !== "sighash")) {
    w.fail("must be { signature, sighash }");
  }
  checkBytes(w, v.signature);
  if (v.signature.length !== 64) w.fail(`signature must be 64 bytes, got ${v.signature.length}`);
  if (!SIGHASH_TYPES.has(v.sighash)) w.fail("sighash must be 1, 2, 3, 0x81, 0x82 or 0x83");
  w.push(v.signature);
  w.push(Uint8Array.of(v.sighash));
});

/** A channel's four basepoints (CLN `struct basepoints`). */
export interface Basepoints {
  /** Revocation basepoint. */
  revocation: Uint8Array;
  /** Payment basepoint. */
  payment: Uint8Array;
  /** HTLC basepoint. */
  htlc: Uint8Array;
  /** Delayed payment basepoint. */
  delayed_payment: Uint8Array;
}

/** `bp` (CLN `basepoints`): revocation, payment, htlc, delayed_payment (that order). */
export const bp: Codec<Basepoints> = struct("bp", {
  revocation: pt,
  payment: pt,
  htlc: pt,
  delayed_payment: pt,
});

/** An HTLC side: 0 = LOCAL (offered by the holder), 1 = REMOTE. */
export const side: Codec<0 | 1> = oneOf("side", [0, 1] as const);

/** An HTLC as the node describes it (CLN `hsm_htlc`). */
export interface Htlc {
  /** 0 = offered by the holder (LOCAL), 1 = offered by the counterparty (REMOTE). */
  side: 0 | 1;
  /** Amount in millisatoshi. */
  amount_msat: bigint;
  /** SHA-256 payment hash. */
  payment_hash: Uint8Array;
  /** CLTV expiry (block height). */
  cltv_expiry: number;
}

/** `htlc` (CLN `hsm_htlc`, VLS `Htlc`). */
export const htlc: Codec<Htlc> = struct("htlc", {
  side,
  amount_msat: u64,
  payment_hash: h32,
  cltv_expiry: u32,
});

/** Where a wallet output from a counterparty's unilateral close came from. */
export interface CloseInfo {
  /** The channel's database id (dbid). */
  channel_id: bigint;
  /** The peer's node id. */
  peer_id: Uint8Array;
  /** The per-commitment point, or null with static remotekey. */
  commitment_point: Uint8Array | null;
  /** Whether the channel used anchors. */
  option_anchors: boolean;
  /** The output's CSV delay. */
  csv: number;
}

/** `closeinfo` (CLN `unilateral_close_info` inside `hsm_utxo`, VLS `CloseInfo`). */
export const closeinfo: Codec<CloseInfo> = struct("closeinfo", {
  channel_id: u64,
  peer_id: pt,
  commitment_point: opt(pt),
  option_anchors: bool,
  csv: u32,
});

/** A wallet input of a withdrawal or anchor spend (CLN `struct hsm_utxo`). */
export interface Utxo {
  /** Txid of the output, internal byte order. */
  txid: Uint8Array;
  /** Output index. */
  outnum: number;
  /** Amount in satoshi. */
  amount_sat: bigint;
  /** BIP-32 index m/0/0/keyindex of its key (unused with close_info). */
  keyindex: number;
  /** Legacy flag; CLN always sends false. */
  is_p2sh: boolean;
  /** The output's scriptPubKey. */
  script_pubkey: Uint8Array;
  /** Set when the output comes from a counterparty's unilateral close. */
  close_info: CloseInfo | null;
  /** Legacy flag; CLN always sends false. */
  is_in_coinbase: boolean;
}

/**
 * `utxo` (CLN `hsm_utxo`, `hsmd/hsm_utxo.c`; VLS `Utxo`). CLN always writes `is_p2sh` and
 * `is_in_coinbase` as false; they are kept so that any value round-trips.
 */
export const utxo: Codec<Utxo> = struct("utxo", {
  txid: h32,
  outnum: u32,
  amount_sat: u64,
  keyindex: u32,
  is_p2sh: bool,
  script_pubkey: b16,
  close_info: opt(closeinfo),
  is_in_coinbase: bool,
});

/** A transaction outpoint. */
export interface Outpoint {
  /** Txid, internal byte order. */
  txid: Uint8Array;
  /** Output index. */
  vout: number;
}

/** `outpoint` (rust-bitcoin `OutPoint`, VLS frontend only): txid then vout little-endian. */
export const outpoint: Codec<Outpoint> = struct("outpoint", { txid: h32, vout: u32le });

/** BIP-32 version bytes of a network (CLN `struct bip32_key_version`). */
export interface Bip32KeyVersion {
  /** Version of public extended keys (e.g. 0x043587cf for test networks). */
  pubkey_version: number;
  /** Version of private extended keys (e.g. 0x04358394). */
  privkey_version: number;
}

/** CLN `bip32_key_version`: the public then the private BIP-32 version bytes. */
export const bip32KeyVersion: Codec<Bip32KeyVersion> = struct("bip32_key_version", {
  pubkey_version: u32,
  privkey_version: u32,
});

/** The five channel secrets CLN's `--dev-force-channel-secrets` sets (CLN `struct secrets`). */
export interface ChannelSecrets {
  /** Funding private key. */
  funding_privkey: SecretBytes;
  /** Revocation basepoint secret. */
  revocation_basepoint_secret: SecretBytes;
  /** Payment basepoint secret. */
  payment_basepoint_secret: SecretBytes;
  /** Delayed payment basepoint secret. */
  delayed_payment_basepoint_secret: SecretBytes;
  /** HTLC basepoint secret. */
  htlc_basepoint_secret: SecretBytes;
}

/**
 * CLN `secrets` (`--dev-force-channel-secrets`, `common/derive_basepoints.c`): five 32-byte
 * secrets in the order `towire_secrets` writes them (delayed payment before htlc).
 */
export const secrets: Codec<ChannelSecrets> = struct("secrets", {
  funding_privkey: sec,
  revocation_basepoint_secret: sec,
  payment_basepoint_secret: sec,
  delayed_payment_basepoint_secret: sec,
  htlc_basepoint_secret: sec,
});

/** An 80-byte consensus block header (not length-prefixed). */
export const header80: Codec<Uint8Array> = bytes("header80", 80);
