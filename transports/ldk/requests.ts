/**
 * The asynchronous half of LDK's async-signing protocol, independent of LDK's types: a per-channel
 * table of signer requests keyed by their exact content. LDK's callbacks are synchronous, so a
 * callback {@link ChannelRequests.ask}s: a completed answer is returned at once; otherwise the
 * request is started (once, however often LDK asks) and the callback answers `Err`; when it
 * completes, the owner is told to call LDK's `signer_unblocked` and LDK asks again.
 *
 * Gates implement the validation rule: `validate_holder_commitment` and
 * `validate_counterparty_revocation` must answer `Ok` at once (an `Err` force-closes the channel),
 * so their verdict comes later; until it does every other request of the channel is held back
 * (answered `Err`, and sent to the signer only after the verdict), and a refusal blocks the
 * channel's off-chain requests for good.
 *
 * @module
 */
import { toHex, utf8 } from "../../core/bytes.ts";
import { sha256 } from "../../core/crypto/mod.ts";
import { toJson } from "../../core/store/json.ts";

/** How the signer answered a request. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/** A refused or failed request, as the adapter records it. */
export interface RequestFailure {
  /** Channel keys id, hex. */
  channel: string;
  /** The signer API method. */
  method: string;
  /** The LDK method that asked. */
  ldkMethod: string;
  /** The error (`PolicyRefusal` has `rules`; `RequestError` has `code`). */
  error: Error;
  /** Violated rule ids (empty for errors that are not policy refusals). */
  rules: string[];
  /** Every violated rule is temporary (the request may be asked again). */
  temporary: boolean;
  /** A validation was refused: the channel's off-chain requests are blocked for good. */
  blocksChannel: boolean;
}

/** The rule ids of a `PolicyRefusal`-shaped error, and whether it is temporary. */
export function refusalOf(e: Error): { rules: string[]; temporary: boolean } {
  const r = e as Error & { rules?: unknown; temporary?: unknown };
  const rules = Array.isArray(r.rules) ? r.rules.filter((x) => typeof x === "string") : [];
  return { rules, temporary: r.name === "PolicyRefusal" && r.temporary === true };
}

/**
 * Whether `e` is a transport failure: the request may not have reached the signer, or its answer
 * was lost (an error says so with `transient: true`, as the node link's timeouts and closed
 * connections do). Such a request is asked again, and a gate runs it again.
 */
export function isTransient(e: Error): boolean {
  return (e as Error & { transient?: unknown }).transient === true;
}

/** How often a gate runs its task again after a transient failure, and the first delay (ms). */
export const GATE_RETRIES = 3;
const GATE_RETRY_DELAY_MS = 100;

/** A stable key for a request: method and the SHA-256 of its JSON encoding. */
export function requestKey(method: string, body: unknown): string {
  return `${method}:${toHex(sha256(utf8(toJson(body))))}`;
}

/** Options of {@link ChannelRequests}. */
export interface ChannelRequestsOptions {
  /** Channel keys id, hex (for failure records). */
  channel: string;
  /** Called when an answer became available (schedule LDK's `signer_unblocked`). */
  onAnswer: () => void;
  /** Called for every refusal or failure. */
  onFailure: (f: RequestFailure) => void;
  /** Tracks every started request (for `settled()`). */
  track: (p: Promise<unknown>) => void;
  /** Completed answers kept per channel (oldest dropped first; default 512). */
  maxAnswers?: number;
}

/** What {@link ChannelRequests.ask} answers: a value, a refusal, or "not yet". */
export type Answer<T> = { kind: "ok"; value: T } | { kind: "err" } | { kind: "later" };

/** Where a request runs: off-chain (channel state) or on-chain (monitor claims). */
export type RequestScope = "offchain" | "onchain";

/** Requests, answers, gates and the blocked flag of one channel. */
export class ChannelRequests {
  readonly #o: ChannelRequestsOptions;
  readonly #answers = new Map<string, Outcome<unknown>>();
  readonly #inFlight = new Set<string>();
  #gates = 0;
  #tail: Promise<unknown> = Promise.resolve();
  /** Why the channel's off-chain requests are blocked for good (null: not blocked). */
  blocked: RequestFailure | null = null;
  /** Nothing at all may be signed (setup failed). */
  dead = false;

  /**
   * Creates the table.
   * @param options channel id and callbacks
   */
  constructor(options: ChannelRequestsOptions) {
    this.#o = options;
  }

  /** Validations (or the setup) still waiting for their verdict. */
  get gates(): number {
    return this.#gates;
  }

  /** Requests started and not yet answered. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Store an answer the signer gave as part of another reply (e.g. the next point). */
  remember(key: string, value: unknown): void {
    this.#store(key, { ok: true, value });
  }

  #store(key: string, outcome: Outcome<unknown>): void {
    this.#answers.delete(key);
    this.#answers.set(key, outcome);
    const max = this.#o.maxAnswers ?? 512;
    while (this.#answers.size > max) {
      const first = this.#answers.keys().next();
      if (first.done) break;
      this.#answers.delete(first.value);
    }
  }

  /**
   * Ask for the answer to request `key`: the completed answer, or start `run` (after the pending
   * gates, unless blocked or already running) and answer "later". A permanent refusal is kept and
   * answered `err` from then on; a temporary one is forgotten (asked again next time).
   * `cacheRefusals` false: never keep a refusal (requests whose refusal may be premature).
   */
  ask<T>(
    key: string,
    o: {
      method: string;
      ldkMethod: string;
      scope: RequestScope;
      run: () => Promise<T>;
      cacheRefusals?: boolean;
      onValue?: (value: T) => void;
    },
  ): Answer<T> {
    if (this.dead || (this.blocked !== null && o.scope === "offchain")) return { kind: "err" };
    const done = this.#answers.get(key);
    if (done) return done.ok ? { kind: "ok", value: done.value as T } : { kind: "err" };
    if (this.#inFlight.has(key)) return { kind: "later" };
    this.#inFlight.add(key);
    // Behind a gate the request waits for the verdict (and is dropped if the channel got blocked);
    // it then runs at once, so LDK's next ask usually finds the answer.
    const gated = this.#gates > 0;
    const after = gated ? this.#tail : Promise.resolve();
    const p = after.then(async () => {
      try {
        if (gated && (this.dead || (this.blocked !== null && o.scope === "offchain"))) return;
        const value = await o.run();
        this.#store(key, { ok: true, value });
        o.onValue?.(value);
        this.#o.onAnswer();
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        const r = refusalOf(error);
        const again = r.temporary || isTransient(error);
        if (!again && o.cacheRefusals !== false) this.#store(key, { ok: false, error });
        this.#o.onFailure({
          channel: this.#o.channel,
          method: o.method,
          ldkMethod: o.ldkMethod,
          error,
          rules: r.rules,
          temporary: again,
          blocksChannel: false,
        });
      } finally {
        this.#inFlight.delete(key);
      }
    });
    this.#o.track(p);
    return { kind: "later" };
  }

  /**
   * Run `task` as a gate: after every earlier gate, holding back every request until it is done.
   * A transient failure ({@link isTransient}) runs it again, up to {@link GATE_RETRIES} times; a
   * refusal or other failure blocks the channel's off-chain requests for good (`dead`:
   * everything).
   */
  gate(
    task: () => Promise<unknown>,
    o: { method: string; ldkMethod: string; dead?: boolean; onDone?: () => void },
  ): void {
    this.#gates++;
    const p = this.#tail.then(async () => {
      try {
        if (this.dead) throw new Error("the channel could not be set up");
        // A transport failure is not a verdict: the task runs again (validations are idempotent).
        for (let attempt = 0;; attempt++) {
          try {
            await task();
            break;
          } catch (e) {
            if (!(e instanceof Error) || !isTransient(e) || attempt >= GATE_RETRIES) throw e;
            await new Promise((r) => setTimeout(r, GATE_RETRY_DELAY_MS * 2 ** attempt));
          }
        }
        o.onDone?.();
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        const r = refusalOf(error);
        const failure: RequestFailure = {
          channel: this.#o.channel,
          method: o.method,
          ldkMethod: o.ldkMethod,
          error,
          rules: r.rules,
          temporary: r.temporary,
          blocksChannel: true,
        };
        if (o.dead) this.dead = true;
        if (this.blocked === null) this.blocked = failure;
        this.#o.onFailure(failure);
      } finally {
        this.#gates--;
        this.#o.onAnswer();
      }
    });
    this.#tail = p;
    this.#o.track(p);
  }
}
