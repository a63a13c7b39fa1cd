/**
 * Child process for the concurrent-writer test of `SqliteStore` (see `sqlite_test.ts`).
 *
 * Usage: `deno run --allow-read=DIR --allow-write=DIR _counter_writer.ts <db file> <id> <n>
 * <start ms>`. Waits until the wall clock reaches `start ms` (so the writers overlap), then
 * performs `n` successful read-modify-write increments of `counter`, each in a batch that also
 * bumps `writer/<id>`, retrying on VersionConflictError. Prints `{"id", "conflicts"}` at the end.
 *
 * @module
 */
import { SqliteStore } from "../../../core/store/sqlite.ts";
import { VersionConflictError } from "../../../core/store/types.ts";

const [path, id, countText, startText] = Deno.args;
const store = await SqliteStore.open(path, { busyTimeoutMs: 30_000 });
const wait = Number(startText) - Date.now();
if (wait > 0) await new Promise((r) => setTimeout(r, wait));
let conflicts = 0;
for (let done = 0; done < Number(countText);) {
  const counter = await store.get("counter");
  const mine = await store.get(`writer/${id}`);
  if (counter === undefined) throw new Error("counter missing");
  try {
    await store.put([
      { key: "counter", value: String(Number(counter.value) + 1), version: counter.version + 1 },
      {
        key: `writer/${id}`,
        value: String(mine === undefined ? 1 : Number(mine.value) + 1),
        version: mine === undefined ? 0 : mine.version + 1,
      },
    ]);
    done++;
  } catch (e) {
    if (!(e instanceof VersionConflictError)) throw e;
    conflicts++;
  }
}
await store.close();
console.log(JSON.stringify({ id, conflicts }));
