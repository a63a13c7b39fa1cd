/**
 * Strict DER encoding of ECDSA signatures (BIP-66), to and from the 64-byte compact form.
 * Pure byte manipulation: no curve arithmetic.
 *
 * @module
 */

/** A DER signature that is not strictly encoded. */
export class DerError extends Error {
  /**
   * Creates the error.
   * @param message what is malformed
   */
  constructor(message: string) {
    super(message);
    this.name = "DerError";
  }
}

function integer(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && bytes[i + 1] < 0x80) i++;
  const body = bytes.subarray(i);
  const pad = body[0] >= 0x80 ? 1 : 0;
  const out = new Uint8Array(2 + pad + body.length);
  out[0] = 0x02;
  out[1] = pad + body.length;
  out.set(body, 2 + pad);
  return out;
}

/** DER encoding of a 64-byte compact signature `r || s` (no sighash byte). */
export function derEncode(compact: Uint8Array): Uint8Array {
  if (compact.length !== 64) throw new DerError("compact signature must be 64 bytes");
  const r = integer(compact.subarray(0, 32));
  const s = integer(compact.subarray(32, 64));
  const out = new Uint8Array(2 + r.length + s.length);
  out[0] = 0x30;
  out[1] = r.length + s.length;
  out.set(r, 2);
  out.set(s, 2 + r.length);
  return out;
}

function readInteger(der: Uint8Array, at: number, name: string): [Uint8Array, number] {
  if (der[at] !== 0x02) throw new DerError(`${name} is not an INTEGER`);
  const len = der[at + 1];
  if (len === undefined || len === 0) throw new DerError(`${name} has zero length`);
  if (at + 2 + len > der.length) throw new DerError(`${name} overruns the signature`);
  const body = der.subarray(at + 2, at + 2 + len);
  if (body[0] & 0x80) throw new DerError(`${name} is negative`);
  if (len > 1 && body[0] === 0 && !(body[1] & 0x80)) {
    throw new DerError(`${name} has excess padding`);
  }
  const value = body[0] === 0 ? body.subarray(1) : body;
  if (value.length > 32) throw new DerError(`${name} is longer than 32 bytes`);
  const fixed = new Uint8Array(32);
  fixed.set(value, 32 - value.length);
  return [fixed, at + 2 + len];
}

/** The 64-byte compact form of a strictly encoded DER signature (no sighash byte). */
export function derDecode(der: Uint8Array): Uint8Array {
  if (der.length < 8 || der.length > 72) throw new DerError("DER signature has a bad length");
  if (der[0] !== 0x30) throw new DerError("DER signature is not a SEQUENCE");
  if (der[1] !== der.length - 2) throw new DerError("DER SEQUENCE length is wrong");
  const [r, next] = readInteger(der, 2, "r");
  const [s, end] = readInteger(der, next, "s");
  if (end !== der.length) throw new DerError("DER signature has trailing bytes");
  const out = new Uint8Array(64);
  out.set(r, 0);
  out.set(s, 32);
  return out;
}
