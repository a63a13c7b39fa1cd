/**
 * Partially Signed Bitcoin Transactions, version 0 (BIP-174): a plain data model independent of
 * any library's transaction class, an exact codec, and the checks a signer relies on.
 *
 * Model: {@link Psbt} holds the unsigned transaction ({@link Tx}), one {@link PsbtInput} per input
 * and one {@link PsbtOutput} per output. The fields a signer reads or writes are typed (UTXOs,
 * scripts, BIP-32 and BIP-371 derivations, partial signatures, sighash type, final scriptSig and
 * witness); every other key-value record is kept as a {@link PsbtKeyValue} and written back
 * unchanged ("If the signer encounters key-value pairs that it does not understand, it must pass
 * those key-value pairs through when re-serializing", BIP-174).
 *
 * Record order on encoding: ascending key type; records of the same type keep the order in which
 * they were decoded (or pushed). BIP-174 imposes no order; this reproduces the bytes of PSBTs
 * written by Bitcoin Core (whose partial signatures are ordered by key id, not by key).
 *
 * Decoding is strict: bad magic, truncation, non-minimal CompactSize, duplicate keys, key data on
 * a key type that has none, malformed values, a non-empty scriptSig in the unsigned transaction,
 * missing or extra maps and trailing bytes all raise {@link PsbtError} naming the map, the field
 * and the problem. The signer checks are separate: {@link spentOutput} and
 * {@link verifyNonWitnessUtxos} (the txid of a non-witness UTXO must match the prevout, which
 * defends against the BIP-143 fee-lie attack).
 *
 * @module
 */
import { base64 } from "@scure/base";
import { concat, equal, toHex, u32le, u64le } from "../bytes.ts";
import { derDecode, isValidPublicKey } from "../crypto/mod.ts";
import { p2sh, p2wsh } from "./script.ts";
import { compactSize, decodeTx, encodeTx, type Tx, txid, txidHex, type TxOutput } from "./tx.ts";

/** A malformed PSBT, or one that fails a signer check. The message names map, field and problem. */
export class PsbtError extends Error {
  /**
   * Creates the error.
   * @param message where (global / input N / output N), which field, and what is wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "PsbtError";
  }
}

/** A key-value record kept as raw bytes (unknown, proprietary or not modelled here). */
export interface PsbtKeyValue {
  /** The key type (a CompactSize in the key). */
  keyType: number;
  /** The key data after the key type (may be empty). */
  keyData: Uint8Array;
  /** The value data. */
  value: Uint8Array;
}

/** A BIP-32 key origin: master key fingerprint and derivation path. */
export interface KeyOrigin {
  /** The 4-byte master key fingerprint as a big-endian number (as BIP-32 prints it in hex). */
  fingerprint: number;
  /** Child indices; hardened ones have bit 31 set (`0x80000000 + i`). */
  path: number[];
}

/** PSBT_IN_BIP32_DERIVATION / PSBT_OUT_BIP32_DERIVATION: a public key and its origin. */
export interface Bip32Derivation extends KeyOrigin {
  /** The public key: 33-byte compressed (or 65-byte uncompressed, as BIP-174 allows). */
  pubkey: Uint8Array;
}

/** PSBT_IN_TAP_BIP32_DERIVATION / PSBT_OUT_TAP_BIP32_DERIVATION (BIP-371). */
export interface TapBip32Derivation extends KeyOrigin {
  /** The 32-byte x-only public key. */
  xOnlyPubkey: Uint8Array;
  /** Hashes (32 bytes each) of the leaves that use the key; empty for the internal key. */
  leafHashes: Uint8Array[];
}

/** PSBT_IN_PARTIAL_SIG: a signature as pushed in a scriptSig or witness. */
export interface PartialSig {
  /** The public key the signature is for (33 or 65 bytes). */
  pubkey: Uint8Array;
  /** Strict DER (BIP-66) followed by the one-byte sighash type. */
  signature: Uint8Array;
}

/** One input map. Absent optional fields and empty arrays mean the record is absent. */
export interface PsbtInput {
  /** PSBT_IN_NON_WITNESS_UTXO: the whole transaction the input spends from. */
  nonWitnessUtxo?: Tx;
  /** PSBT_IN_WITNESS_UTXO: the output the input spends. */
  witnessUtxo?: TxOutput;
  /** PSBT_IN_PARTIAL_SIG records. */
  partialSigs: PartialSig[];
  /** PSBT_IN_SIGHASH_TYPE. */
  sighashType?: number;
  /** PSBT_IN_REDEEM_SCRIPT. */
  redeemScript?: Uint8Array;
  /** PSBT_IN_WITNESS_SCRIPT. */
  witnessScript?: Uint8Array;
  /** PSBT_IN_BIP32_DERIVATION records. */
  bip32Derivation: Bip32Derivation[];
  /** PSBT_IN_FINAL_SCRIPTSIG. */
  finalScriptSig?: Uint8Array;
  /** PSBT_IN_FINAL_SCRIPTWITNESS: the witness stack. */
  finalScriptWitness?: Uint8Array[];
  /** PSBT_IN_TAP_BIP32_DERIVATION records (BIP-371). */
  tapBip32Derivation: TapBip32Derivation[];
  /** PSBT_IN_TAP_INTERNAL_KEY (BIP-371): 32-byte x-only key. */
  tapInternalKey?: Uint8Array;
  /** Every other record, in decoded order. */
  unknowns: PsbtKeyValue[];
}

/** One output map. */
export interface PsbtOutput {
  /** PSBT_OUT_REDEEM_SCRIPT. */
  redeemScript?: Uint8Array;
  /** PSBT_OUT_WITNESS_SCRIPT. */
  witnessScript?: Uint8Array;
  /** PSBT_OUT_BIP32_DERIVATION records. */
  bip32Derivation: Bip32Derivation[];
  /** PSBT_OUT_TAP_INTERNAL_KEY (BIP-371). */
  tapInternalKey?: Uint8Array;
  /** PSBT_OUT_TAP_BIP32_DERIVATION records (BIP-371). */
  tapBip32Derivation: TapBip32Derivation[];
  /** Every other record, in decoded order. */
  unknowns: PsbtKeyValue[];
}

/** A version 0 PSBT. */
export interface Psbt {
  /** PSBT_GLOBAL_UNSIGNED_TX: empty scriptSigs and witnesses. */
  tx: Tx;
  /** One map per transaction input, in order. */
  inputs: PsbtInput[];
  /** One map per transaction output, in order. */
  outputs: PsbtOutput[];
  /**
   * Every other global record (PSBT_GLOBAL_XPUB, PSBT_GLOBAL_VERSION = 0, proprietary, unknown),
   * in decoded order.
   */
  unknownGlobals: PsbtKeyValue[];
}

/** Global key types (BIP-174, BIP-370). */
export const PSBT_GLOBAL = {
  UNSIGNED_TX: 0x00,
  XPUB: 0x01,
  TX_VERSION: 0x02,
  FALLBACK_LOCKTIME: 0x03,
  INPUT_COUNT: 0x04,
  OUTPUT_COUNT: 0x05,
  TX_MODIFIABLE: 0x06,
  VERSION: 0xfb,
  PROPRIETARY: 0xfc,
} as const;

/** Input key types (BIP-174, BIP-370, BIP-371). */
export const PSBT_IN = {
  NON_WITNESS_UTXO: 0x00,
  WITNESS_UTXO: 0x01,
  PARTIAL_SIG: 0x02,
  SIGHASH_TYPE: 0x03,
  REDEEM_SCRIPT: 0x04,
  WITNESS_SCRIPT: 0x05,
  BIP32_DERIVATION: 0x06,
  FINAL_SCRIPTSIG: 0x07,
  FINAL_SCRIPTWITNESS: 0x08,
  POR_COMMITMENT: 0x09,
  RIPEMD160: 0x0a,
  SHA256: 0x0b,
  HASH160: 0x0c,
  HASH256: 0x0d,
  PREVIOUS_TXID: 0x0e,
  OUTPUT_INDEX: 0x0f,
  SEQUENCE: 0x10,
  REQUIRED_TIME_LOCKTIME: 0x11,
  REQUIRED_HEIGHT_LOCKTIME: 0x12,
  TAP_KEY_SIG: 0x13,
  TAP_SCRIPT_SIG: 0x14,
  TAP_LEAF_SCRIPT: 0x15,
  TAP_BIP32_DERIVATION: 0x16,
  TAP_INTERNAL_KEY: 0x17,
  TAP_MERKLE_ROOT: 0x18,
  PROPRIETARY: 0xfc,
} as const;

/** Output key types (BIP-174, BIP-370, BIP-371). */
export const PSBT_OUT = {
  REDEEM_SCRIPT: 0x00,
  WITNESS_SCRIPT: 0x01,
  BIP32_DERIVATION: 0x02,
  AMOUNT: 0x03,
  SCRIPT: 0x04,
  TAP_INTERNAL_KEY: 0x05,
  TAP_TREE: 0x06,
  TAP_BIP32_DERIVATION: 0x07,
  PROPRIETARY: 0xfc,
} as const;

const MAGIC = Uint8Array.of(0x70, 0x73, 0x62, 0x74, 0xff);

/** Key types this module decodes into typed fields (the rest go to `unknowns`). */
const MODELLED = {
  global: new Set<number>([PSBT_GLOBAL.UNSIGNED_TX]),
  input: new Set<number>([
    PSBT_IN.NON_WITNESS_UTXO,
    PSBT_IN.WITNESS_UTXO,
    PSBT_IN.PARTIAL_SIG,
    PSBT_IN.SIGHASH_TYPE,
    PSBT_IN.REDEEM_SCRIPT,
    PSBT_IN.WITNESS_SCRIPT,
    PSBT_IN.BIP32_DERIVATION,
    PSBT_IN.FINAL_SCRIPTSIG,
    PSBT_IN.FINAL_SCRIPTWITNESS,
    PSBT_IN.TAP_BIP32_DERIVATION,
    PSBT_IN.TAP_INTERNAL_KEY,
  ]),
  output: new Set<number>([
    PSBT_OUT.REDEEM_SCRIPT,
    PSBT_OUT.WITNESS_SCRIPT,
    PSBT_OUT.BIP32_DERIVATION,
    PSBT_OUT.TAP_INTERNAL_KEY,
    PSBT_OUT.TAP_BIP32_DERIVATION,
  ]),
};

type MapKind = keyof typeof MODELLED;

const NAMES: Record<MapKind, Map<number, string>> = {
  global: new Map(Object.entries(PSBT_GLOBAL).map(([k, v]) => [v, `PSBT_GLOBAL_${k}`])),
  input: new Map(Object.entries(PSBT_IN).map(([k, v]) => [v, `PSBT_IN_${k}`])),
  output: new Map(Object.entries(PSBT_OUT).map(([k, v]) => [v, `PSBT_OUT_${k}`])),
};

function fieldName(kind: MapKind, keyType: number): string {
  return NAMES[kind].get(keyType) ?? `key type 0x${keyType.toString(16).padStart(2, "0")}`;
}

// ---------------------------------------------------------------------------------------------
// Byte reading

class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array, public what: string) {}

  get left(): number {
    return this.bytes.length - this.pos;
  }

  fail(problem: string): never {
    throw new PsbtError(`${this.what}: ${problem}`);
  }

  take(n: number): Uint8Array {
    if (n > this.left) this.fail(`unexpected end of data (needs ${n} bytes, ${this.left} left)`);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  byte(): number {
    return this.take(1)[0];
  }

  u32(): number {
    const b = this.take(4);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  i32(): number {
    return this.u32() | 0;
  }

  u64(): bigint {
    const b = this.take(8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  }

  /** A minimally encoded CompactSize (BIP-174 requires minimal key types; Core all sizes). */
  compactSize(): number {
    const first = this.byte();
    if (first < 0xfd) return first;
    let n: bigint;
    let min: bigint;
    if (first === 0xfd) {
      const b = this.take(2);
      n = BigInt(b[0] | (b[1] << 8));
      min = 0xfdn;
    } else if (first === 0xfe) {
      n = BigInt(this.u32());
      min = 0x10000n;
    } else {
      n = this.u64();
      min = 0x100000000n;
    }
    if (n < min) this.fail("non-minimal CompactSize encoding");
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) this.fail("CompactSize too large");
    return Number(n);
  }

  varBytes(): Uint8Array {
    return this.take(this.compactSize());
  }

  /** A CompactSize count followed by that many items (each at least one byte long). */
  list<T>(item: () => T): T[] {
    const n = this.compactSize();
    if (n > this.left) this.fail(`count ${n} exceeds the ${this.left} bytes left`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  }

  end(): void {
    if (this.left !== 0) this.fail(`${this.left} unexpected trailing bytes`);
  }
}

/** The unsigned transaction in the non-witness serialization (BIP-174 requires it). */
function readUnsignedTx(value: Uint8Array, what: string): Tx {
  const r = new Reader(value, what);
  try {
    const version = r.i32();
    const inputs = r.list(() => ({
      txid: r.take(32),
      vout: r.u32(),
      scriptSig: r.varBytes(),
      sequence: r.u32(),
      witness: [] as Uint8Array[],
    }));
    const outputs = r.list(() => ({ amount: r.u64(), script: r.varBytes() }));
    const locktime = r.u32();
    r.end();
    return { version, inputs, outputs, locktime };
  } catch (e) {
    if (value.length > 6 && value[4] === 0x00 && value[5] === 0x01) {
      throw new PsbtError(`${what}: transaction is in the witness serialization (BIP-144)`);
    }
    throw e;
  }
}

function writeUnsignedTx(tx: Tx): Uint8Array {
  return encodeTx(tx, { witness: false });
}

interface RawRecord extends PsbtKeyValue {
  /** The whole key (key type CompactSize and key data), for duplicate detection. */
  key: Uint8Array;
}

/** Reads one map (`<keypair>* 0x00`), handing each record over as it is read. */
function readMap(
  r: Reader,
  scope: string,
  kind: MapKind,
  onRecord: (rec: RawRecord) => void,
): void {
  r.what = scope;
  const seen = new Set<string>();
  while (true) {
    if (r.left === 0) throw new PsbtError(`${scope}: map has no 0x00 terminator`);
    const key = new Reader(r.varBytes(), scope);
    if (key.bytes.length === 0) return;
    const keyType = key.compactSize();
    const keyData = key.take(key.left);
    const value = r.varBytes();
    const id = toHex(key.bytes);
    if (seen.has(id)) {
      throw new PsbtError(`${scope}: duplicate key ${id} (${fieldName(kind, keyType)})`);
    }
    seen.add(id);
    onRecord({ key: key.bytes, keyType, keyData, value });
  }
}

// ---------------------------------------------------------------------------------------------
// Field codecs (shared by decode and encode, so both enforce the same rules)

function checkPubkey(pubkey: Uint8Array, what: string): void {
  if (pubkey.length === 33) {
    if (!isValidPublicKey(pubkey)) throw new PsbtError(`${what}: not a valid public key`);
  } else if (pubkey.length === 65) {
    // Uncompressed SEC1: only the prefix is checked (core/crypto validates compressed points).
    if (pubkey[0] !== 0x04) throw new PsbtError(`${what}: not a valid public key`);
  } else {
    throw new PsbtError(`${what}: public key must be 33 or 65 bytes, got ${pubkey.length}`);
  }
}

function checkXOnly(key: Uint8Array, what: string): void {
  if (key.length !== 32) throw new PsbtError(`${what}: x-only key must be 32 bytes`);
  if (!isValidPublicKey(concat(Uint8Array.of(0x02), key))) {
    throw new PsbtError(`${what}: not a valid x-only public key`);
  }
}

/** BIP-66 strict DER plus a defined sighash type (Core's DERSIG | STRICTENC). */
function checkSignature(signature: Uint8Array, what: string): void {
  if (signature.length === 0) throw new PsbtError(`${what}: empty signature`);
  try {
    derDecode(signature.subarray(0, signature.length - 1));
  } catch (e) {
    throw new PsbtError(`${what}: signature is not strict DER (${(e as Error).message})`);
  }
  const base = signature[signature.length - 1] & ~0x80;
  if (base < 1 || base > 3) throw new PsbtError(`${what}: signature has an undefined sighash type`);
}

function checkU32(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new PsbtError(`${what}: ${n} is not a 32-bit unsigned integer`);
  }
}

function checkBytes(b: unknown, what: string): void {
  if (!(b instanceof Uint8Array)) throw new PsbtError(`${what}: must be a Uint8Array`);
}

function readOrigin(r: Reader): KeyOrigin {
  if (r.left < 4 || r.left % 4 !== 0) {
    r.fail("key origin must be a 4-byte fingerprint and 4-byte path elements");
  }
  const f = r.take(4);
  const fingerprint = ((f[0] << 24) | (f[1] << 16) | (f[2] << 8) | f[3]) >>> 0;
  const path: number[] = [];
  while (r.left > 0) path.push(r.u32());
  return { fingerprint, path };
}

function writeOrigin(origin: KeyOrigin, what: string): Uint8Array {
  checkU32(origin.fingerprint, `${what} fingerprint`);
  origin.path.forEach((i) => checkU32(i, `${what} path element`));
  const f = origin.fingerprint;
  return concat(
    Uint8Array.of(f >>> 24, (f >>> 16) & 0xff, (f >>> 8) & 0xff, f & 0xff),
    ...origin.path.map(u32le),
  );
}

function readTapOrigin(r: Reader): { leafHashes: Uint8Array[] } & KeyOrigin {
  const leafHashes = r.list(() => r.take(32));
  return { leafHashes, ...readOrigin(r) };
}

function writeTapOrigin(d: TapBip32Derivation, what: string): Uint8Array {
  d.leafHashes.forEach((h) => {
    if (h.length !== 32) throw new PsbtError(`${what}: leaf hash must be 32 bytes`);
  });
  return concat(compactSize(d.leafHashes.length), ...d.leafHashes, writeOrigin(d, what));
}

function readOutput(r: Reader): TxOutput {
  const amount = r.u64();
  if (amount > 0x7fffffffffffffffn) r.fail("amount exceeds 2^63-1 (a negative int64)");
  const script = r.varBytes();
  r.end();
  return { amount, script };
}

function writeOutput(o: TxOutput, what: string): Uint8Array {
  if (typeof o.amount !== "bigint" || o.amount < 0n || o.amount > 0x7fffffffffffffffn) {
    throw new PsbtError(`${what}: amount must be a bigint in 0..2^63-1`);
  }
  checkBytes(o.script, `${what} script`);
  return concat(u64le(o.amount), compactSize(o.script.length), o.script);
}

function readWitness(r: Reader): Uint8Array[] {
  const stack = r.list(() => r.varBytes());
  r.end();
  return stack;
}

function writeWitness(stack: Uint8Array[]): Uint8Array {
  return concat(compactSize(stack.length), ...stack.flatMap((i) => [compactSize(i.length), i]));
}

// ---------------------------------------------------------------------------------------------
// Decoding

function noKeyData(rec: RawRecord, what: string): void {
  if (rec.keyData.length !== 0) throw new PsbtError(`${what} key must have no key data`);
}

function once<T>(current: T | undefined, what: string): void {
  // Distinct keys with the same unkeyed type cannot occur (key data is refused first); this
  // guards the typed model against future keyed variants.
  if (current !== undefined) throw new PsbtError(`${what}: duplicate record`);
}

function decodeInputRecord(input: PsbtInput, rec: RawRecord, scope: string): void {
  const what = `${scope}: ${fieldName("input", rec.keyType)}`;
  const value = new Reader(rec.value, what);
  switch (rec.keyType) {
    case PSBT_IN.NON_WITNESS_UTXO:
      noKeyData(rec, what);
      once(input.nonWitnessUtxo, what);
      try {
        input.nonWitnessUtxo = decodeTx(rec.value);
      } catch (e) {
        throw new PsbtError(`${what}: not a transaction (${(e as Error).message})`);
      }
      return;
    case PSBT_IN.WITNESS_UTXO:
      noKeyData(rec, what);
      once(input.witnessUtxo, what);
      input.witnessUtxo = readOutput(value);
      return;
    case PSBT_IN.PARTIAL_SIG:
      checkPubkey(rec.keyData, `${what} key`);
      checkSignature(rec.value, what);
      input.partialSigs.push({ pubkey: rec.keyData, signature: rec.value });
      return;
    case PSBT_IN.SIGHASH_TYPE:
      noKeyData(rec, what);
      once(input.sighashType, what);
      input.sighashType = value.u32();
      value.end();
      return;
    case PSBT_IN.REDEEM_SCRIPT:
      noKeyData(rec, what);
      once(input.redeemScript, what);
      input.redeemScript = rec.value;
      return;
    case PSBT_IN.WITNESS_SCRIPT:
      noKeyData(rec, what);
      once(input.witnessScript, what);
      input.witnessScript = rec.value;
      return;
    case PSBT_IN.BIP32_DERIVATION:
      checkPubkey(rec.keyData, `${what} key`);
      input.bip32Derivation.push({ pubkey: rec.keyData, ...readOrigin(value) });
      return;
    case PSBT_IN.FINAL_SCRIPTSIG:
      noKeyData(rec, what);
      once(input.finalScriptSig, what);
      input.finalScriptSig = rec.value;
      return;
    case PSBT_IN.FINAL_SCRIPTWITNESS:
      noKeyData(rec, what);
      once(input.finalScriptWitness, what);
      input.finalScriptWitness = readWitness(value);
      return;
    case PSBT_IN.TAP_BIP32_DERIVATION:
      checkXOnly(rec.keyData, `${what} key`);
      input.tapBip32Derivation.push({ xOnlyPubkey: rec.keyData, ...readTapOrigin(value) });
      return;
    case PSBT_IN.TAP_INTERNAL_KEY:
      noKeyData(rec, what);
      once(input.tapInternalKey, what);
      checkXOnly(rec.value, what);
      input.tapInternalKey = rec.value;
      return;
    default:
      input.unknowns.push({ keyType: rec.keyType, keyData: rec.keyData, value: rec.value });
  }
}

function decodeOutputRecord(output: PsbtOutput, rec: RawRecord, scope: string): void {
  const what = `${scope}: ${fieldName("output", rec.keyType)}`;
  switch (rec.keyType) {
    case PSBT_OUT.REDEEM_SCRIPT:
      noKeyData(rec, what);
      once(output.redeemScript, what);
      output.redeemScript = rec.value;
      return;
    case PSBT_OUT.WITNESS_SCRIPT:
      noKeyData(rec, what);
      once(output.witnessScript, what);
      output.witnessScript = rec.value;
      return;
    case PSBT_OUT.BIP32_DERIVATION:
      checkPubkey(rec.keyData, `${what} key`);
      output.bip32Derivation.push({
        pubkey: rec.keyData,
        ...readOrigin(new Reader(rec.value, what)),
      });
      return;
    case PSBT_OUT.TAP_INTERNAL_KEY:
      noKeyData(rec, what);
      once(output.tapInternalKey, what);
      checkXOnly(rec.value, what);
      output.tapInternalKey = rec.value;
      return;
    case PSBT_OUT.TAP_BIP32_DERIVATION:
      checkXOnly(rec.keyData, `${what} key`);
      output.tapBip32Derivation.push({
        xOnlyPubkey: rec.keyData,
        ...readTapOrigin(new Reader(rec.value, what)),
      });
      return;
    default:
      output.unknowns.push({ keyType: rec.keyType, keyData: rec.keyData, value: rec.value });
  }
}

function checkGlobalVersion(rec: PsbtKeyValue, what: string): void {
  if (rec.keyData.length !== 0) throw new PsbtError(`${what} key must have no key data`);
  const r = new Reader(rec.value, what);
  const version = r.u32();
  r.end();
  if (version !== 0) throw new PsbtError(`${what}: unsupported PSBT version ${version} (only 0)`);
}

function checkUnsignedTx(tx: Tx, what: string): void {
  tx.inputs.forEach((input, i) => {
    if (input.scriptSig.length !== 0) {
      throw new PsbtError(`${what}: input ${i} has a non-empty scriptSig`);
    }
    if (input.witness.length !== 0) throw new PsbtError(`${what}: input ${i} has a witness`);
  });
}

function emptyInput(): PsbtInput {
  return { partialSigs: [], bip32Derivation: [], tapBip32Derivation: [], unknowns: [] };
}

function emptyOutput(): PsbtOutput {
  return { bip32Derivation: [], tapBip32Derivation: [], unknowns: [] };
}

/**
 * Parse a binary PSBT (BIP-174 version 0). Throws {@link PsbtError} naming the problem for any
 * malformed input; see the module documentation for what is checked.
 */
export function decodePsbt(bytes: Uint8Array): Psbt {
  if (!(bytes instanceof Uint8Array)) throw new PsbtError("PSBT must be a Uint8Array");
  if (bytes.length < MAGIC.length || !equal(bytes.subarray(0, MAGIC.length), MAGIC)) {
    throw new PsbtError("not a PSBT: missing magic bytes 70736274ff ('psbt' 0xff)");
  }
  const r = new Reader(bytes, "PSBT");
  r.pos = MAGIC.length;

  let tx: Tx | undefined;
  const unknownGlobals: PsbtKeyValue[] = [];
  readMap(r, "global", "global", (rec) => {
    const what = `global: ${fieldName("global", rec.keyType)}`;
    if (rec.keyType === PSBT_GLOBAL.UNSIGNED_TX) {
      noKeyData(rec, what);
      tx = readUnsignedTx(rec.value, what);
      checkUnsignedTx(tx, what);
      return;
    }
    if (rec.keyType === PSBT_GLOBAL.VERSION) checkGlobalVersion(rec, what);
    unknownGlobals.push({ keyType: rec.keyType, keyData: rec.keyData, value: rec.value });
  });
  if (!tx) throw new PsbtError("global: missing PSBT_GLOBAL_UNSIGNED_TX");
  const unsigned: Tx = tx;

  const inputs = unsigned.inputs.map((_, i) => {
    if (r.left === 0) throw new PsbtError(`PSBT ends before input map ${i}`);
    const input = emptyInput();
    readMap(r, `input ${i}`, "input", (rec) => decodeInputRecord(input, rec, `input ${i}`));
    return input;
  });
  const outputs = unsigned.outputs.map((_, i) => {
    if (r.left === 0) throw new PsbtError(`PSBT ends before output map ${i}`);
    const output = emptyOutput();
    readMap(r, `output ${i}`, "output", (rec) => decodeOutputRecord(output, rec, `output ${i}`));
    return output;
  });
  if (r.left !== 0) {
    throw new PsbtError(
      `${r.left} bytes after the last map (the unsigned transaction has ` +
        `${unsigned.inputs.length} inputs and ${unsigned.outputs.length} outputs)`,
    );
  }
  return { tx: unsigned, inputs, outputs, unknownGlobals };
}

// ---------------------------------------------------------------------------------------------
// Encoding

type Record3 = [keyType: number, keyData: Uint8Array, value: Uint8Array];

function writeMap(records: Record3[], scope: string, kind: MapKind): Uint8Array {
  // Stable sort: same-type records keep their order (Array.prototype.sort is stable).
  const sorted = records.map((r, i) => [r, i] as const).sort((a, b) =>
    a[0][0] - b[0][0] || a[1] - b[1]
  );
  const seen = new Set<string>();
  const parts: Uint8Array[] = [];
  for (const [[keyType, keyData, value]] of sorted) {
    checkBytes(keyData, `${scope}: key data`);
    checkBytes(value, `${scope}: value`);
    const key = concat(compactSize(keyType), keyData);
    const id = toHex(key);
    if (seen.has(id)) {
      throw new PsbtError(`${scope}: duplicate key ${id} (${fieldName(kind, keyType)})`);
    }
    seen.add(id);
    parts.push(compactSize(key.length), key, compactSize(value.length), value);
  }
  parts.push(Uint8Array.of(0x00));
  return concat(...parts);
}

function unknownRecords(list: PsbtKeyValue[], kind: MapKind, scope: string): Record3[] {
  return list.map((kv) => {
    if (!Number.isSafeInteger(kv.keyType) || kv.keyType < 0) {
      throw new PsbtError(`${scope}: invalid key type ${kv.keyType}`);
    }
    if (MODELLED[kind].has(kv.keyType)) {
      throw new PsbtError(
        `${scope}: ${fieldName(kind, kv.keyType)} must be given in its typed field, not unknowns`,
      );
    }
    return [kv.keyType, kv.keyData, kv.value];
  });
}

function inputRecords(input: PsbtInput, scope: string): Record3[] {
  const none = new Uint8Array();
  const out: Record3[] = [];
  const name = (t: number) => `${scope}: ${fieldName("input", t)}`;
  if (input.nonWitnessUtxo) {
    out.push([PSBT_IN.NON_WITNESS_UTXO, none, encodeTx(input.nonWitnessUtxo)]);
  }
  if (input.witnessUtxo) {
    out.push([
      PSBT_IN.WITNESS_UTXO,
      none,
      writeOutput(input.witnessUtxo, name(PSBT_IN.WITNESS_UTXO)),
    ]);
  }
  for (const s of input.partialSigs) {
    checkPubkey(s.pubkey, `${name(PSBT_IN.PARTIAL_SIG)} key`);
    checkSignature(s.signature, name(PSBT_IN.PARTIAL_SIG));
    out.push([PSBT_IN.PARTIAL_SIG, s.pubkey, s.signature]);
  }
  if (input.sighashType !== undefined) {
    checkU32(input.sighashType, name(PSBT_IN.SIGHASH_TYPE));
    out.push([PSBT_IN.SIGHASH_TYPE, none, u32le(input.sighashType)]);
  }
  if (input.redeemScript) out.push([PSBT_IN.REDEEM_SCRIPT, none, input.redeemScript]);
  if (input.witnessScript) out.push([PSBT_IN.WITNESS_SCRIPT, none, input.witnessScript]);
  for (const d of input.bip32Derivation) {
    const what = name(PSBT_IN.BIP32_DERIVATION);
    checkPubkey(d.pubkey, `${what} key`);
    out.push([PSBT_IN.BIP32_DERIVATION, d.pubkey, writeOrigin(d, what)]);
  }
  if (input.finalScriptSig) out.push([PSBT_IN.FINAL_SCRIPTSIG, none, input.finalScriptSig]);
  if (input.finalScriptWitness) {
    out.push([PSBT_IN.FINAL_SCRIPTWITNESS, none, writeWitness(input.finalScriptWitness)]);
  }
  for (const d of input.tapBip32Derivation) {
    const what = name(PSBT_IN.TAP_BIP32_DERIVATION);
    checkXOnly(d.xOnlyPubkey, `${what} key`);
    out.push([PSBT_IN.TAP_BIP32_DERIVATION, d.xOnlyPubkey, writeTapOrigin(d, what)]);
  }
  if (input.tapInternalKey) {
    checkXOnly(input.tapInternalKey, name(PSBT_IN.TAP_INTERNAL_KEY));
    out.push([PSBT_IN.TAP_INTERNAL_KEY, none, input.tapInternalKey]);
  }
  return out.concat(unknownRecords(input.unknowns, "input", scope));
}

function outputRecords(output: PsbtOutput, scope: string): Record3[] {
  const none = new Uint8Array();
  const out: Record3[] = [];
  const name = (t: number) => `${scope}: ${fieldName("output", t)}`;
  if (output.redeemScript) out.push([PSBT_OUT.REDEEM_SCRIPT, none, output.redeemScript]);
  if (output.witnessScript) out.push([PSBT_OUT.WITNESS_SCRIPT, none, output.witnessScript]);
  for (const d of output.bip32Derivation) {
    const what = name(PSBT_OUT.BIP32_DERIVATION);
    checkPubkey(d.pubkey, `${what} key`);
    out.push([PSBT_OUT.BIP32_DERIVATION, d.pubkey, writeOrigin(d, what)]);
  }
  if (output.tapInternalKey) {
    checkXOnly(output.tapInternalKey, name(PSBT_OUT.TAP_INTERNAL_KEY));
    out.push([PSBT_OUT.TAP_INTERNAL_KEY, none, output.tapInternalKey]);
  }
  for (const d of output.tapBip32Derivation) {
    const what = name(PSBT_OUT.TAP_BIP32_DERIVATION);
    checkXOnly(d.xOnlyPubkey, `${what} key`);
    out.push([PSBT_OUT.TAP_BIP32_DERIVATION, d.xOnlyPubkey, writeTapOrigin(d, what)]);
  }
  return out.concat(unknownRecords(output.unknowns, "output", scope));
}

/**
 * Serialize a PSBT (BIP-174 version 0). Throws {@link PsbtError} if the unsigned transaction has
 * a scriptSig or witness, if the map counts differ from the transaction's input and output
 * counts, or if a typed field is malformed (bad public key, non-DER signature, ...).
 */
export function encodePsbt(psbt: Psbt): Uint8Array {
  checkUnsignedTx(psbt.tx, "global: PSBT_GLOBAL_UNSIGNED_TX");
  if (psbt.inputs.length !== psbt.tx.inputs.length) {
    throw new PsbtError(
      `${psbt.inputs.length} input maps for ${psbt.tx.inputs.length} transaction inputs`,
    );
  }
  if (psbt.outputs.length !== psbt.tx.outputs.length) {
    throw new PsbtError(
      `${psbt.outputs.length} output maps for ${psbt.tx.outputs.length} transaction outputs`,
    );
  }
  for (const kv of psbt.unknownGlobals) {
    if (kv.keyType === PSBT_GLOBAL.VERSION) checkGlobalVersion(kv, "global: PSBT_GLOBAL_VERSION");
  }
  const globals: Record3[] = [
    [PSBT_GLOBAL.UNSIGNED_TX, new Uint8Array(), writeUnsignedTx(psbt.tx)],
    ...unknownRecords(psbt.unknownGlobals, "global", "global"),
  ];
  return concat(
    MAGIC,
    writeMap(globals, "global", "global"),
    ...psbt.inputs.map((input, i) =>
      writeMap(inputRecords(input, `input ${i}`), `input ${i}`, "input")
    ),
    ...psbt.outputs.map((o, i) =>
      writeMap(outputRecords(o, `output ${i}`), `output ${i}`, "output")
    ),
  );
}

/** Parse a Base64 PSBT (the usual text form, RFC 4648 with padding). */
export function decodePsbtBase64(text: string): Psbt {
  let bytes: Uint8Array;
  try {
    bytes = base64.decode(text.trim());
  } catch (e) {
    throw new PsbtError(`PSBT is not valid base64 (${(e as Error).message})`);
  }
  return decodePsbt(bytes);
}

/** Serialize a PSBT as Base64. */
export function encodePsbtBase64(psbt: Psbt): string {
  return base64.encode(encodePsbt(psbt));
}

// ---------------------------------------------------------------------------------------------
// Creator and signer helpers

/**
 * A new PSBT for `tx` with empty maps (BIP-174 Creator). Throws {@link PsbtError} if `tx` has a
 * scriptSig or witness: strip them first (`stripSignatures` in `tx.ts`).
 */
export function createPsbt(tx: Tx): Psbt {
  checkUnsignedTx(tx, "transaction");
  return {
    tx,
    inputs: tx.inputs.map(emptyInput),
    outputs: tx.outputs.map(emptyOutput),
    unknownGlobals: [],
  };
}

function inputAt(psbt: Psbt, index: number): PsbtInput {
  const input = psbt.inputs[index];
  if (!input || !psbt.tx.inputs[index]) throw new PsbtError(`input ${index} does not exist`);
  return input;
}

function checkNonWitnessUtxo(psbt: Psbt, index: number, utxo: Tx): TxOutput {
  const prevout = psbt.tx.inputs[index];
  const actual = txid(utxo);
  if (!equal(actual, prevout.txid)) {
    throw new PsbtError(
      `input ${index}: PSBT_IN_NON_WITNESS_UTXO has txid ${txidHex(utxo)}, but the input spends ` +
        `${toHex(prevout.txid.slice().reverse())}`,
    );
  }
  const spent = utxo.outputs[prevout.vout];
  if (!spent) {
    throw new PsbtError(
      `input ${index}: PSBT_IN_NON_WITNESS_UTXO has no output ${prevout.vout} ` +
        `(it has ${utxo.outputs.length})`,
    );
  }
  return spent;
}

/**
 * Signer check (BIP-174 "Data Signers Check For"): for every input with a non-witness UTXO, its
 * txid must equal the input's prevout txid and the spent output must exist. Throws
 * {@link PsbtError} naming the first input that fails. A PSBT whose full previous transactions
 * are verified this way cannot lie about input amounts (the BIP-143 fee attack).
 */
export function verifyNonWitnessUtxos(psbt: Psbt): void {
  psbt.inputs.forEach((input, i) => {
    if (input.nonWitnessUtxo) checkNonWitnessUtxo(psbt, i, input.nonWitnessUtxo);
  });
}

/**
 * The output spent by input `index`, as a signer must determine it: from the non-witness UTXO
 * (after checking its txid against the prevout) when present, cross-checked against the witness
 * UTXO if both are present; otherwise from the witness UTXO. Throws {@link PsbtError} when the
 * input has neither, or when they disagree.
 */
export function spentOutput(psbt: Psbt, index: number): TxOutput {
  const input = inputAt(psbt, index);
  if (input.nonWitnessUtxo) {
    const spent = checkNonWitnessUtxo(psbt, index, input.nonWitnessUtxo);
    const w = input.witnessUtxo;
    if (w && (w.amount !== spent.amount || !equal(w.script, spent.script))) {
      throw new PsbtError(
        `input ${index}: PSBT_IN_WITNESS_UTXO disagrees with the output of ` +
          "PSBT_IN_NON_WITNESS_UTXO it spends",
      );
    }
    return spent;
  }
  if (input.witnessUtxo) return input.witnessUtxo;
  throw new PsbtError(`input ${index}: no PSBT_IN_NON_WITNESS_UTXO or PSBT_IN_WITNESS_UTXO`);
}

function isP2sh(script: Uint8Array): boolean {
  return script.length === 23 && script[0] === 0xa9 && script[1] === 0x14 && script[22] === 0x87;
}

function isWitnessProgram(script: Uint8Array): boolean {
  const op = script[0];
  return script.length >= 4 && script.length <= 42 && (op === 0x00 || (op >= 0x51 && op <= 0x60)) &&
    script[1] === script.length - 2;
}

/**
 * All of BIP-174's "Data Signers Check For" that need no keys, for input `index`: the spent
 * output is determined as by {@link spentOutput} (non-witness UTXO txid checked); a witness UTXO
 * must be for a witness program (possibly P2SH-wrapped); a redeemScript must hash to the P2SH
 * scriptPubKey; a witnessScript must hash to the P2WSH program of the scriptPubKey or
 * redeemScript. Returns the spent output. Throws {@link PsbtError} naming the failed check.
 */
export function checkSignerInput(psbt: Psbt, index: number): TxOutput {
  const input = inputAt(psbt, index);
  const spent = spentOutput(psbt, index);
  let script = spent.script;
  if (input.redeemScript) {
    if (!equal(spent.script, p2sh(input.redeemScript))) {
      throw new PsbtError(
        `input ${index}: PSBT_IN_REDEEM_SCRIPT does not match the scriptPubKey it spends`,
      );
    }
    script = input.redeemScript;
  }
  // A P2SH scriptPubKey without its redeemScript may wrap a witness program: nothing to check.
  const unknownP2sh = !input.redeemScript && isP2sh(script);
  if (input.witnessUtxo && !unknownP2sh && !isWitnessProgram(script)) {
    throw new PsbtError(
      `input ${index}: PSBT_IN_WITNESS_UTXO is given for an input that is not segwit`,
    );
  }
  if (input.witnessScript && !equal(script, p2wsh(input.witnessScript))) {
    throw new PsbtError(
      `input ${index}: PSBT_IN_WITNESS_SCRIPT does not match the ` +
        `${input.redeemScript ? "redeemScript" : "scriptPubKey"} it spends`,
    );
  }
  return spent;
}
