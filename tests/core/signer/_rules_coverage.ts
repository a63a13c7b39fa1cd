/**
 * The refusal registry of the signer-level rule tests (rules_channel_test.ts, rules_node_test.ts):
 * {@link refusal} registers a test that drives a rule into a refusal through the real signer and
 * records the rule as covered.
 *
 * Deno runs every test module in an isolate of its own, so one module cannot see what another
 * registered. {@link collectCoverage} therefore loads the other modules with `Deno.test` replaced
 * by a function that registers nothing (their tests do not run twice) and returns every rule the
 * modules loaded so far recorded.
 */

const COVERED = new Set<string>();

/** Register a test `"<rule>: <name>"` that drives `rule` into a refusal. */
export function refusal(rule: string, name: string, fn: () => Promise<void>): void {
  COVERED.add(rule);
  Deno.test(`${rule}: ${name}`, fn);
}

/** Load `modules` without registering their tests; the rules every loaded module covers. */
export async function collectCoverage(modules: readonly URL[]): Promise<Set<string>> {
  const original = Deno.test;
  const register = (() => {}) as unknown as typeof Deno.test;
  Object.defineProperty(Deno, "test", { value: register, writable: true, configurable: true });
  try {
    for (const m of modules) await import(m.href);
  } finally {
    Object.defineProperty(Deno, "test", { value: original, writable: true, configurable: true });
  }
  return new Set(COVERED);
}
