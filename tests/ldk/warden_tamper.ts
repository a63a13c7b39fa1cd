/**
 * A compromised node, simulated: a {@link SignerApi} wrapper between the LDK adapter and the
 * signer that may replace a request before the signer sees it (what a node whose LDK process is
 * taken over could send), and remembers every request and outcome.
 *
 * @module
 */
import type { ChannelId } from "../../core/keys/types.ts";
import {
  NODE_LEVEL_METHODS,
  SIGNER_API_METHODS,
  type SignerApi,
} from "../../transports/ldk/api.ts";

/** One request that went through the wrapper. */
export interface SeenRequest {
  /** Method. */
  method: keyof SignerApi;
  /** Channel (null for node-level requests such as addBlock). */
  id: ChannelId | null;
  /** Arguments after the id, as the signer received them. */
  args: unknown[];
  /** The arguments were replaced by the tamper hook. */
  tampered: boolean;
  /** The signer's answer, once known. */
  outcome: { ok: true; value: unknown } | { ok: false; error: Error } | null;
}

/**
 * The hook: return replacement arguments (after the id) to tamper with a request, or undefined
 * to pass it on unchanged.
 */
export type TamperHook = (
  method: keyof SignerApi,
  args: unknown[],
  history: readonly SeenRequest[],
) => unknown[] | undefined;

/** The wrapper. */
export class TamperingSignerApi {
  /** The API to hand to the adapter. */
  readonly api: SignerApi;
  /** Every request, in order. */
  readonly seen: SeenRequest[] = [];
  /** The hook (undefined: an honest node). */
  hook: TamperHook | undefined;

  /**
   * Wraps `inner`.
   * @param inner the signer (or another wrapper)
   */
  constructor(inner: SignerApi) {
    const api: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const method of SIGNER_API_METHODS) {
      const nodeLevel = NODE_LEVEL_METHODS.has(method);
      api[method] = async (...all: unknown[]) => {
        const id = nodeLevel ? null : all[0] as ChannelId;
        const args = nodeLevel ? all : all.slice(1);
        const replaced = this.hook?.(method, args, this.seen);
        const entry: SeenRequest = {
          method,
          id,
          args: replaced ?? args,
          tampered: replaced !== undefined,
          outcome: null,
        };
        this.seen.push(entry);
        const fn = inner[method] as (...a: unknown[]) => Promise<unknown>;
        try {
          const value = await fn.call(inner, ...(id ? [id] : []), ...entry.args);
          entry.outcome = { ok: true, value };
          return value;
        } catch (e) {
          entry.outcome = { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
          throw e;
        }
      };
    }
    this.api = api as unknown as SignerApi;
  }

  /** The tampered requests, in order. */
  tampered(): SeenRequest[] {
    return this.seen.filter((s) => s.tampered);
  }
}

// ---- the compromised node's moves ----------------------------------------------------------------

/**
 * A hook that tampers with the first request of `method` for which `change` returns arguments
 * (later requests pass unchanged): the attack happens once, as in the tests.
 */
export function once(
  method: keyof SignerApi,
  change: (args: unknown[], history: readonly SeenRequest[]) => unknown[] | undefined,
): TamperHook {
  let done = false;
  return (m, args, history) => {
    if (done || m !== method) return undefined;
    const out = change(args, history);
    if (out !== undefined) done = true;
    return out;
  };
}
