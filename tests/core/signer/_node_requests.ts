/**
 * Builders of node-level signing requests for the signer tests: gossip messages as CLN sends them
 * (type, placeholder signatures, fields as BOLT #7 lists them), BOLT #11 invoices to sign (CLN 8:
 * the hrp and the 5-bit data part) and to pay (a signed invoice string).
 */
import { compare, concat, u16be, u32be, u64be, utf8 } from "../../../core/bytes.ts";
import { networkParams } from "../../../core/bitcoin/network.ts";
import {
  bolt11Data,
  type Bolt11Field,
  bytesField,
  intField,
  makeBolt11,
} from "../node/_payment_fixture.ts";
import { NOW, US_NODE } from "./_rules_fixture.ts";

/** The regtest chain hash. */
export const CHAIN: Uint8Array = networkParams("regtest").genesisHash;

function typed(type: number, signatures: number, body: Uint8Array): Uint8Array {
  return concat(u16be(type), new Uint8Array(64 * signatures), body);
}

/** A full `node_announcement` (type 257). */
export function nodeAnnouncement(
  p: { nodeId?: Uint8Array; timestamp?: number; addresses?: Uint8Array } = {},
): Uint8Array {
  const features = Uint8Array.of(0x08, 0x8a);
  const alias = new Uint8Array(32);
  alias.set(utf8("warden"));
  // One IPv4 address, 127.0.0.1:9735.
  const addresses = p.addresses ?? Uint8Array.of(1, 127, 0, 0, 1, 0x26, 0x07);
  return typed(
    257,
    1,
    concat(
      u16be(features.length),
      features,
      u32be(p.timestamp ?? NOW - 10),
      p.nodeId ?? US_NODE.nodeId,
      Uint8Array.of(0xff, 0x99, 0x00),
      alias,
      u16be(addresses.length),
      addresses,
    ),
  );
}

/** The fields of a `channel_update`. */
export interface UpdateParts {
  /** Chain hash (default regtest's). */
  chain?: Uint8Array;
  /** Short channel id. */
  scid: bigint;
  /** Timestamp (default {@link NOW}). */
  timestamp?: number;
  /** `channel_flags` (bit 0 direction, bit 1 disabled). */
  channelFlags?: number;
  /** `cltv_expiry_delta` (default 144). */
  cltvExpiryDelta?: number;
  /** `fee_base_msat` (default 1000). */
  feeBaseMsat?: number;
  /** `fee_proportional_millionths` (default 10). */
  feeProportionalMillionths?: number;
  /** `htlc_maximum_msat` (default 990M). */
  htlcMaximumMsat?: bigint;
}

/** A full `channel_update` (type 258). */
export function channelUpdate(p: UpdateParts): Uint8Array {
  return typed(
    258,
    1,
    concat(
      p.chain ?? CHAIN,
      u64be(p.scid),
      u32be(p.timestamp ?? NOW),
      Uint8Array.of(1, p.channelFlags ?? 0),
      u16be(p.cltvExpiryDelta ?? 144),
      u64be(1000n),
      u32be(p.feeBaseMsat ?? 1000),
      u32be(p.feeProportionalMillionths ?? 10),
      u64be(p.htlcMaximumMsat ?? 990_000_000n),
    ),
  );
}

/** The direction bit of our updates for a channel with `peerId` (0 when our id sorts first). */
export function ourDirection(peerId: Uint8Array): number {
  return compare(US_NODE.nodeId, peerId) < 0 ? 0 : 1;
}

/**
 * A full `channel_announcement` (type 256) of our channel with `peer`: node ids and funding keys
 * ordered as BOLT #7 requires (unless `swap`).
 */
export function channelAnnouncement(p: {
  scid: bigint;
  peerId: Uint8Array;
  ourFunding: Uint8Array;
  peerFunding: Uint8Array;
  swap?: boolean;
}): Uint8Array {
  const ours = { node: US_NODE.nodeId, key: p.ourFunding };
  const theirs = { node: p.peerId, key: p.peerFunding };
  let [first, second] = compare(ours.node, theirs.node) < 0 ? [ours, theirs] : [theirs, ours];
  if (p.swap) [first, second] = [second, first];
  return typed(
    256,
    4,
    concat(u16be(0), CHAIN, u64be(p.scid), first.node, second.node, first.key, second.key),
  );
}

/** A short channel id `block x tx x output`. */
export function scidOf(block: number, tx: number, output: number): bigint {
  return (BigInt(block) << 40n) | (BigInt(tx) << 16n) | BigInt(output);
}

/** The `p` field of a payment hash. */
export const paymentHashField = (hash: Uint8Array): Bolt11Field => bytesField(1, hash);
/** A `d` field. */
export const descriptionField = (text: string): Bolt11Field => bytesField(13, utf8(text));
/** An `x` (expiry) field. */
export const expiryField = (seconds: number): Bolt11Field => intField(6, seconds);
/** An `n` (payee) field. */
export const payeeField = (nodeId: Uint8Array): Bolt11Field => bytesField(19, nodeId);

/** A `sign_invoice` request (CLN 8): `hrp` and the data part of `fields` created at `timestamp`. */
export function invoiceToSign(
  hrp: string,
  fields: readonly Bolt11Field[],
  timestamp = NOW,
): { hrp: Uint8Array; u5bytes: Uint8Array } {
  return { hrp: utf8(hrp), u5bytes: Uint8Array.from(bolt11Data(timestamp, fields)) };
}

/** A regtest invoice of 10 µBTC (1M msat) to pay, signed by `secret` (hex; default the fixture's). */
export function invoiceToPay(
  fields: readonly Bolt11Field[],
  options: { timestamp?: number; secret?: string; amount?: string } = {},
): string {
  return makeBolt11(`lnbcrt${options.amount ?? "10u"}`, {
    timestamp: options.timestamp ?? NOW - 10,
    fields,
  }, { secret: options.secret });
}
