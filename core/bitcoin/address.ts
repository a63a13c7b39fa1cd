/**
 * Bitcoin addresses of the standard output scripts, checked against a network:
 *
 * - segwit version 0 in bech32 (BIP-173), versions 1..16 in bech32m (BIP-350);
 * - base58check P2PKH and P2SH (version byte from {@link NetworkParams}).
 *
 * Codecs come from @scure/base; the base58check checksum uses our own SHA-256 (`core/crypto`).
 *
 * @module
 */
import { bech32, bech32m, createBase58check } from "@scure/base";
import { concat, equal } from "../bytes.ts";
import { sha256 } from "../crypto/mod.ts";
import { type NetworkParams, networkParams, NETWORKS } from "./network.ts";

/** An address that cannot be decoded, is for another network, or a script with no address. */
export class AddressError extends Error {
  /**
   * Creates the error.
   * @param message what is wrong with the address or script
   */
  constructor(message: string) {
    super(message);
    this.name = "AddressError";
  }
}

const base58check = createBase58check(sha256);

/** Bech32 strings are at most 90 characters (BIP-173). */
const BECH32_LIMIT = 90;

function params(network: string): NetworkParams {
  try {
    return networkParams(network);
  } catch (e) {
    throw new AddressError((e as Error).message);
  }
}

const KNOWN_HRPS = new Set(NETWORKS.map((n) => networkParams(n).bech32Hrp));

function networksWith(predicate: (p: NetworkParams) => boolean): string {
  return NETWORKS.filter((n) => predicate(networkParams(n))).join("/");
}

/** Witness version opcode: OP_0 or OP_1..OP_16. */
function versionOpcode(version: number): number {
  return version === 0 ? 0x00 : 0x50 + version;
}

function witnessScript(version: number, program: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(versionOpcode(version), program.length), program);
}

function checkProgram(version: number, program: Uint8Array): void {
  if (version < 0 || version > 16) throw new AddressError(`invalid witness version ${version}`);
  if (program.length < 2 || program.length > 40) {
    throw new AddressError(`invalid witness program length ${program.length} (BIP-141: 2..40)`);
  }
  if (version === 0 && program.length !== 20 && program.length !== 32) {
    throw new AddressError(
      `invalid witness program length ${program.length} for version 0 (BIP-141: 20 or 32)`,
    );
  }
}

function decodeSegwit(address: string, p: NetworkParams): Uint8Array {
  let decoded: { prefix: string; words: number[] } | undefined;
  let bech32mUsed = false;
  let failure = "";
  try {
    decoded = bech32.decode(address as `${string}1${string}`, BECH32_LIMIT);
  } catch (e) {
    failure = (e as Error).message;
    try {
      decoded = bech32m.decode(address as `${string}1${string}`, BECH32_LIMIT);
      bech32mUsed = true;
    } catch {
      // keep the bech32 failure: it names the problem (case, character, checksum, length)
    }
  }
  if (!decoded) throw new AddressError(`invalid bech32 address: ${failure}`);
  const { prefix, words } = decoded;
  if (prefix !== p.bech32Hrp) {
    throw new AddressError(
      `address is for ${networksWith((q) => q.bech32Hrp === prefix)} ` +
        `(prefix "${prefix}"), not ${p.name} (prefix "${p.bech32Hrp}")`,
    );
  }
  if (words.length === 0) throw new AddressError("bech32 address has no witness version");
  const [version, ...data] = words;
  if (version > 16) throw new AddressError(`invalid witness version ${version}`);
  if (version === 0 && bech32mUsed) {
    throw new AddressError("witness version 0 address must use bech32, not bech32m (BIP-350)");
  }
  if (version !== 0 && !bech32mUsed) {
    throw new AddressError(`witness version ${version} address must use bech32m (BIP-350)`);
  }
  let program: Uint8Array;
  try {
    program = bech32.fromWords(data);
  } catch (e) {
    throw new AddressError(`invalid witness program padding: ${(e as Error).message}`);
  }
  // Strict 5-to-8 bit conversion (BIP-173): at most 4 padding bits, all zero.
  const again = bech32.toWords(program);
  if (again.length !== data.length || again.some((w, i) => w !== data[i])) {
    throw new AddressError("invalid witness program padding");
  }
  checkProgram(version, program);
  return witnessScript(version, program);
}

function decodeBase58(address: string, p: NetworkParams): Uint8Array {
  let payload: Uint8Array;
  try {
    payload = base58check.decode(address);
  } catch (e) {
    throw new AddressError(`invalid base58check address: ${(e as Error).message}`);
  }
  if (payload.length !== 21) {
    throw new AddressError(`base58check payload is ${payload.length} bytes, expected 21`);
  }
  const version = payload[0];
  const hash = payload.subarray(1);
  if (version === p.p2pkhVersion) {
    return concat(Uint8Array.of(0x76, 0xa9, 0x14), hash, Uint8Array.of(0x88, 0xac));
  }
  if (version === p.p2shVersion) {
    return concat(Uint8Array.of(0xa9, 0x14), hash, Uint8Array.of(0x87));
  }
  const others = networksWith((q) => q.p2pkhVersion === version || q.p2shVersion === version);
  if (others) throw new AddressError(`address is for ${others}, not ${p.name}`);
  throw new AddressError(`unknown base58 address version byte 0x${version.toString(16)}`);
}

/**
 * The output script (scriptPubKey) an address pays to on `network`: P2PKH, P2SH (base58check)
 * or a native segwit program of any version (BIP-173 / BIP-350). Throws {@link AddressError}
 * for a malformed address or one that belongs to another network.
 */
export function addressToScript(address: string, network: string): Uint8Array {
  const p = params(network);
  if (typeof address !== "string" || address.length === 0) {
    throw new AddressError("address must be a non-empty string");
  }
  const separator = address.lastIndexOf("1");
  const hrp = separator > 0 ? address.slice(0, separator).toLowerCase() : "";
  if (KNOWN_HRPS.has(hrp)) return decodeSegwit(address, p);
  if (/^[1-9A-HJ-NP-Za-km-z]+$/.test(address)) return decodeBase58(address, p);
  if (separator > 0) throw new AddressError(`unknown address prefix "${hrp}"`);
  throw new AddressError("not a bech32 or base58check address");
}

/**
 * The address of an output script on `network`, or {@link AddressError} when the script is not
 * one of P2PKH, P2SH or a witness program (version 0: 20 or 32 bytes; 1..16: 2..40 bytes).
 * Segwit addresses are lower case.
 */
export function scriptToAddress(script: Uint8Array, network: string): string {
  const p = params(network);
  const s = script;
  if (
    s.length === 25 && s[0] === 0x76 && s[1] === 0xa9 && s[2] === 0x14 && s[23] === 0x88 &&
    s[24] === 0xac
  ) {
    return base58check.encode(concat(Uint8Array.of(p.p2pkhVersion), s.subarray(3, 23)));
  }
  if (s.length === 23 && s[0] === 0xa9 && s[1] === 0x14 && s[22] === 0x87) {
    return base58check.encode(concat(Uint8Array.of(p.p2shVersion), s.subarray(2, 22)));
  }
  const op = s[0];
  const version = op === 0x00 ? 0 : op >= 0x51 && op <= 0x60 ? op - 0x50 : -1;
  if (version >= 0 && s.length >= 4 && s[1] === s.length - 2) {
    const program = s.subarray(2);
    checkProgram(version, program);
    const words = [version, ...bech32.toWords(program)];
    return version === 0 ? bech32.encode(p.bech32Hrp, words) : bech32m.encode(p.bech32Hrp, words);
  }
  throw new AddressError("script is not P2PKH, P2SH or a witness program: it has no address");
}

/** Whether `address` decodes to exactly `script` on `network` (never throws). */
export function isAddressOf(address: string, script: Uint8Array, network: string): boolean {
  try {
    return equal(addressToScript(address, network), script);
  } catch {
    return false;
  }
}
