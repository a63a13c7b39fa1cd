/**
 * Reconnect delays: exponential backoff, capped, with jitter, and an abortable sleep.
 *
 * The n-th consecutive failure waits `min(max, initial * factor^n)` reduced by a random part of
 * at most `jitter` of it ("equal jitter" for the default 0.5: between half and all of the step),
 * so a fleet of signers that lost their node at the same moment does not reconnect in lock-step.
 * A connection that served a request resets the sequence.
 *
 * @module
 */

/** Options of {@link Backoff}. */
export interface BackoffOptions {
  /** First delay in milliseconds (default 250). */
  initialMs?: number;
  /** Largest delay in milliseconds (default 30 000). */
  maxMs?: number;
  /** Growth per failure (default 2). */
  factor?: number;
  /** Fraction of a delay taken off at random, 0..1 (default 0.5). */
  jitter?: number;
  /** Random source in [0, 1) (default `Math.random`: jitter needs no secrecy). */
  random?: () => number;
}

/** A backoff sequence (see the module documentation). */
export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  /**
   * Creates a sequence at its start.
   * @param options delays, growth, jitter and the random source
   */
  constructor(options: BackoffOptions = {}) {
    this.#initial = options.initialMs ?? 250;
    this.#max = options.maxMs ?? 30_000;
    this.#factor = options.factor ?? 2;
    this.#jitter = options.jitter ?? 0.5;
    this.#random = options.random ?? Math.random;
    if (!(this.#initial >= 0 && this.#max >= this.#initial && this.#factor >= 1)) {
      throw new RangeError("backoff needs 0 <= initialMs <= maxMs and factor >= 1");
    }
    if (!(this.#jitter >= 0 && this.#jitter <= 1)) {
      throw new RangeError("backoff jitter must be within 0..1");
    }
  }

  /** Failures since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt, in whole milliseconds; counts one more failure. */
  next(): number {
    const step = Math.min(this.#max, this.#initial * this.#factor ** Math.min(this.#attempt, 64));
    this.#attempt++;
    return Math.round(step * (1 - this.#jitter * this.#random()));
  }

  /** Back to the first delay (after a good connection). */
  reset(): void {
    this.#attempt = 0;
  }
}

/**
 * Waits `ms` milliseconds, or less if `signal` aborts (then resolves early, without throwing).
 * @param ms the delay
 * @param signal stops the wait
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
