/**
 * Payments through the signer's channels for the rule and threat tests: a forward on one channel
 * (the peer's HTLC in, ours out with the same payment hash) or across two channels of one signer
 * (`share`), preimages and their hashes, and a chain view with one depth per funding outpoint.
 */
import { utf8 } from "../../../core/bytes.ts";
import { sha256 } from "../../../core/crypto/mod.ts";
import type { ChainView } from "../../../core/channel/ops/context.ts";
import { Rig, type RigOptions } from "./_rules_fixture.ts";

/** A 32-byte preimage. */
export const preimageOf = (i: number): Uint8Array => sha256(utf8(`warden preimage ${i}`));
/** The payment hash of {@link preimageOf}. */
export const hashFor = (i: number): Uint8Array => sha256(preimageOf(i));

/** A second channel of the same node (dbid 2, its own funding outpoint). */
export function secondChannel(rig: Rig, options: RigOptions = {}): Promise<Rig> {
  return Rig.create({
    share: rig,
    dbid: 2n,
    fundingOutpoint: { txid: "bb".repeat(32), vout: 0 },
    ...options,
  });
}

/**
 * One channel, open, with the peer's 50k-sat HTLC (hash `hash`, expiry `inCltv`) locked in
 * (commitments 1), and our `outMsat` HTLC with the same hash (expiry `outCltv`) on the balance
 * sheet, not approved (a forward): signing the peer's commitment 2 adds it.
 */
export async function forwardOnOneChannel(
  o: { site?: string; outMsat?: bigint; inCltv?: number; outCltv?: number; hash?: Uint8Array },
): Promise<Rig> {
  const rig = await Rig.create({ site: o.site });
  await rig.open();
  const hash = o.hash ?? hashFor(1);
  await rig.addHtlc("peer", 1, { amountMsat: 50_000_000n, hash, cltv: o.inCltv ?? 600 });
  await rig.offer(
    { amountMsat: o.outMsat ?? 49_000_000n, hash, cltv: o.outCltv ?? 500 },
    { approve: false },
  );
  return rig;
}

/** A per-outpoint chain view: every funding `depths[txid] ?? 6` deep. */
export class Depths implements ChainView {
  /** A tip is known. */
  tracked = true;
  /** The tip height. */
  height = 800_000;
  /** Funding depths by funding txid (internal order, hex); 6 when absent. */
  depths: Map<string, number> = new Map();
  /** See {@link ChainView.fundingDepth}. */
  fundingDepth(outpoint: { txid: string }): number {
    return this.depths.get(outpoint.txid) ?? 6;
  }
  /** See {@link ChainView.closingDepth}. */
  closingDepth(): number {
    return 0;
  }
  /** See {@link ChainView.doubleSpentDepth}. */
  doubleSpentDepth(): number {
    return 0;
  }
}

/**
 * Channel B (dbid 2) brings in the peer's 50k-sat HTLC with `hash`; channel A (dbid 1) is to
 * forward it (our 49k-sat HTLC on A's balance sheet, not yet signed).
 */
export async function forwardAcross(
  o: { site?: string; chain?: ChainView; hash?: Uint8Array } = {},
): Promise<{ a: Rig; b: Rig }> {
  const a = await Rig.create({ site: o.site, chain: o.chain });
  await a.open();
  const b = await secondChannel(a);
  await b.open();
  const hash = o.hash ?? hashFor(1);
  await b.addHtlc("peer", 1, { amountMsat: 50_000_000n, hash, cltv: 800_600 });
  await a.offer({ amountMsat: 49_000_000n, hash, cltv: 800_500 }, { approve: false });
  return { a, b };
}
