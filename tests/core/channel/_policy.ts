/**
 * Test helper: the real `rules/default.policy` (regtest parameters, the signer's fact registry)
 * deciding the facts a channel operation returned, so a test can name the rules that refuse it.
 */
import { loadPolicy, type Policy } from "../../../policy/engine.ts";
import { signerRegistry } from "../../../core/signer/registry.ts";

let cached: Policy | undefined;

/** The default policy loaded once for regtest. */
export function defaultPolicy(): Policy {
  cached ??= loadPolicy(new URL("../../../rules/default.policy", import.meta.url).pathname, {
    registry: signerRegistry(),
    network: "regtest",
  });
  return cached;
}

/**
 * The ids of the rules refusing an outcome (sorted, each once; empty when allowed). The facts are
 * decided as the signer would before persisting anything; limit windows start empty.
 */
export function refusedBy(outcome: { kind: string; facts: unknown }): string[] {
  const decision = defaultPolicy().evaluate(
    outcome.kind,
    outcome.facts as Record<string, unknown>,
    { now: 1_700_000_000 },
  );
  return [...new Set(decision.violations.map((v) => v.rule))].sort();
}
