import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { Backoff, sleep } from "../../transports/backoff.ts";

Deno.test("backoff: doubles up to the cap, with jitter taking off up to half", () => {
  const none = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
  deepStrictEqual([1, 2, 3, 4, 5, 6].map(() => none.next()), [100, 200, 400, 800, 1000, 1000]);
  strictEqual(none.attempt, 6);
  none.reset();
  strictEqual(none.next(), 100);
  const most = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
  deepStrictEqual([1, 2, 3, 4, 5].map(() => most.next()), [50, 100, 200, 400, 500]);
  const fixed = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0, random: () => 0.7 });
  deepStrictEqual([1, 2].map(() => fixed.next()), [100, 200]);
});

Deno.test("backoff: bad settings are refused", () => {
  throws(() => new Backoff({ initialMs: 10, maxMs: 5 }), RangeError);
  throws(() => new Backoff({ factor: 0.5 }), RangeError);
  throws(() => new Backoff({ jitter: 2 }), RangeError);
});

Deno.test("sleep: an abort ends the wait early and leaves no timer behind", async () => {
  const controller = new AbortController();
  const waiting = sleep(60_000, controller.signal);
  controller.abort();
  await waiting; // would hang (and leak a timer) if the abort were ignored
  await sleep(1_000, controller.signal); // already aborted: returns at once
});
