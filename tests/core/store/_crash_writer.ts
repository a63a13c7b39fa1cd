/**
 * Child process for the SIGKILL durability test of `SqliteStore` (see `sqlite_test.ts`).
 *
 * Usage: `deno run --allow-read=DIR --allow-write=DIR _crash_writer.ts <db file> <count>`.
 * Continues the "bank" history stored in the file for `count` more batches and prints each
 * batch's sequence number on stdout once `put` has resolved (the batch is acknowledged).
 *
 * @module
 */
import { SqliteStore } from "../../../core/store/sqlite.ts";
import { bankBatch, type BankState, nextBankState, readBank } from "./_bank.ts";

const [path, countText] = Deno.args;
const store = await SqliteStore.open(path);
let state: BankState | undefined = await readBank(store);
const out = new TextEncoder();
for (let i = 0; i < Number(countText); i++) {
  const next = nextBankState(state);
  await store.put(bankBatch(next));
  Deno.stdout.writeSync(out.encode(`${next.seq}\n`));
  state = next;
}
await store.close();
