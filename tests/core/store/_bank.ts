/**
 * The "bank" history used by the crash tests: every batch moves an amount between `bank/a` and
 * `bank/b` (their sum is always {@link BANK_TOTAL}), rewrites `bank/log`, and creates (even
 * sequence numbers) or deletes (odd ones) `bank/tmp`. Every key's version equals the batch's
 * sequence number, so after a crash the three live keys must agree exactly, and
 * {@link expectedBank} recomputes the state any sequence number must hold.
 *
 * @module
 */
import type { Store, StoreWrite } from "../../../core/store/mod.ts";

/** The constant sum of the two balances. */
export const BANK_TOTAL = 1_000_000;

/** The state after batch `seq`. */
export interface BankState {
  /** The batch's sequence number (= every key's version). */
  seq: number;
  /** Balance of account a. */
  a: number;
  /** Balance of account b. */
  b: number;
}

/** The state after the batch following `prev` (or the first batch when `prev` is undefined). */
export function nextBankState(prev: BankState | undefined): BankState {
  if (prev === undefined) return { seq: 0, a: BANK_TOTAL, b: 0 };
  const seq = prev.seq + 1;
  const amount = ((seq * 7919) % 5000) + 1;
  return prev.a >= amount
    ? { seq, a: prev.a - amount, b: prev.b + amount }
    : { seq, a: prev.a + amount, b: prev.b - amount };
}

/** The state after batch `seq`, recomputed from the start. */
export function expectedBank(seq: number): BankState {
  let s = nextBankState(undefined);
  while (s.seq < seq) s = nextBankState(s);
  return s;
}

function pad(seq: number): string {
  return "p".repeat(1500 + ((seq * 31) % 1000)); // ~2 KB values of varying size
}

/** The atomic batch that writes state `s`. */
export function bankBatch(s: BankState): StoreWrite[] {
  return [
    {
      key: "bank/a",
      value: JSON.stringify({ seq: s.seq, balance: s.a, pad: pad(s.seq) }),
      version: s.seq,
    },
    {
      key: "bank/b",
      value: JSON.stringify({ seq: s.seq, balance: s.b, pad: pad(s.seq) }),
      version: s.seq,
    },
    { key: "bank/log", value: JSON.stringify(s), version: s.seq },
    {
      key: "bank/tmp",
      value: s.seq % 2 === 0 ? JSON.stringify({ seq: s.seq }) : null,
      version: s.seq,
    },
  ];
}

/**
 * Reads the bank back, checking that the batch is wholly present: the same sequence number and
 * version on every key, the balances of `bank/a` and `bank/b` equal to the log's, and `bank/tmp`
 * live exactly on even sequence numbers. Returns undefined for an empty store; throws on any
 * inconsistency.
 */
export async function readBank(store: Store): Promise<BankState | undefined> {
  const entries = await store.list("bank/");
  if (entries.length === 0) return undefined;
  const byKey = new Map(entries.map((e) => [e.key, e]));
  const log = byKey.get("bank/log");
  if (log === undefined) throw new Error("half-applied batch: bank/log missing");
  const s = JSON.parse(log.value) as BankState;
  if (log.version !== s.seq) throw new Error(`bank/log version ${log.version} != seq ${s.seq}`);
  for (const [key, balance] of [["bank/a", s.a], ["bank/b", s.b]] as const) {
    const e = byKey.get(key);
    if (e === undefined) throw new Error(`half-applied batch: ${key} missing`);
    const v = JSON.parse(e.value) as { seq: number; balance: number; pad: string };
    if (e.version !== s.seq || v.seq !== s.seq || v.balance !== balance || v.pad !== pad(s.seq)) {
      throw new Error(`half-applied batch: ${key} at ${e.version} disagrees with log ${s.seq}`);
    }
  }
  const tmp = byKey.get("bank/tmp");
  if ((s.seq % 2 === 0) !== (tmp !== undefined)) {
    throw new Error(`half-applied batch: bank/tmp presence wrong at ${s.seq}`);
  }
  if (tmp !== undefined && (tmp.version !== s.seq || JSON.parse(tmp.value).seq !== s.seq)) {
    throw new Error(`half-applied batch: bank/tmp at ${tmp.version} disagrees with log ${s.seq}`);
  }
  if (s.a + s.b !== BANK_TOTAL) throw new Error("balances do not add up");
  if (entries.length !== (tmp === undefined ? 3 : 4)) throw new Error("unexpected bank keys");
  return s;
}
