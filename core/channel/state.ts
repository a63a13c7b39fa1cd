/**
 * Pure helpers over a channel's state: creating a stub, canonical HTLC order and commitment
 * equality, per-commitment points and secrets and when each may be released (README.md,
 * "Counters").
 *
 * @module
 */
import { compare, fromHex, toHex } from "../bytes.ts";
import { perCommitmentPoint } from "../bolt3/keys.ts";
import { commitmentNumberToIndex, generateFromSeed } from "../bolt3/shachain.ts";
import type { ChannelKeys } from "../keys/types.ts";
import type { ChannelState, CommitmentInfo, Enforcement, HtlcInfo } from "./types.ts";

/** The enforcement state of a channel nothing has happened to yet. */
export function initialEnforcement(): Enforcement {
  return {
    nextHolderCommitNum: 0,
    nextCounterpartyCommitNum: 0,
    nextCounterpartyRevokeNum: 0,
    currentHolder: null,
    pendingHolder: null,
    currentCounterparty: null,
    previousCounterparty: null,
    counterpartySecrets: { version: 1, entries: [] },
    closed: false,
    forceClosedNumber: null,
    initialHolderValueSat: 0n,
  };
}

/** A new stub for channel id `idHex`: keys are derivable, nothing is negotiated yet. */
export function newStub(idHex: string): ChannelState {
  return {
    version: 1,
    id: idHex,
    stage: "stub",
    setup: null,
    enforcement: initialEnforcement(),
    forgotten: false,
  };
}

function compareHtlcs(a: HtlcInfo, b: HtlcInfo): number {
  if (a.offered !== b.offered) return a.offered ? -1 : 1;
  if (a.amountMsat !== b.amountMsat) return a.amountMsat < b.amountMsat ? -1 : 1;
  const h = compare(fromHex(a.paymentHash), fromHex(b.paymentHash));
  if (h !== 0) return h;
  return a.cltvExpiry - b.cltvExpiry;
}

/** HTLCs in canonical order (offered first, then amount, hash, expiry), so infos compare equal. */
export function sortHtlcs(htlcs: readonly HtlcInfo[]): HtlcInfo[] {
  return [...htlcs].sort(compareHtlcs);
}

/** Whether two commitment infos describe the same commitment (HTLC order does not matter). */
export function sameInfo(a: CommitmentInfo, b: CommitmentInfo): boolean {
  if (
    a.number !== b.number || a.perCommitmentPoint !== b.perCommitmentPoint ||
    a.feeratePerKw !== b.feeratePerKw || a.toBroadcasterSat !== b.toBroadcasterSat ||
    a.toCountersignatorySat !== b.toCountersignatorySat || a.htlcs.length !== b.htlcs.length
  ) return false;
  const x = sortHtlcs(a.htlcs);
  const y = sortHtlcs(b.htlcs);
  return x.every((h, i) =>
    h.offered === y[i].offered && h.amountMsat === y[i].amountMsat &&
    h.paymentHash === y[i].paymentHash && h.cltvExpiry === y[i].cltvExpiry
  );
}

/**
 * Our per-commitment secret for holder commitment `n` (BOLT #3 shachain from the channel's seed).
 * Callers must check {@link maySecret} before letting it leave the signer.
 */
export function holderSecret(keys: ChannelKeys, n: number): Uint8Array {
  return generateFromSeed(keys.shaSeed.expose(), commitmentNumberToIndex(n));
}

/** Our per-commitment point for holder commitment `n` (public). */
export function holderPoint(keys: ChannelKeys, n: number): Uint8Array {
  return perCommitmentPoint(holderSecret(keys, n));
}

/** {@link holderPoint} as hex. */
export function holderPointHex(keys: ChannelKeys, n: number): string {
  return toHex(holderPoint(keys, n));
}

/**
 * Whether secret `k` may be released: only once commitment `k + 1` is current, so `k <= H - 2`
 * (the current and the pending commitment's secrets never leave), and never the secret of a
 * commitment we signed for a force close.
 */
export function maySecret(e: Enforcement, k: number): boolean {
  return k + 2 <= e.nextHolderCommitNum && e.forceClosedNumber !== k;
}

/** The counterparty's per-commitment point we stored for its commitment `n`, if any. */
export function storedCounterpartyPoint(e: Enforcement, n: number): string | undefined {
  if (e.currentCounterparty?.number === n) return e.currentCounterparty.perCommitmentPoint;
  if (e.previousCounterparty?.number === n) return e.previousCounterparty.perCommitmentPoint;
  return undefined;
}
