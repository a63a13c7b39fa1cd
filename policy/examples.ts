/**
 * Rule examples (policy/README.md, "Examples"): checked when the policy is loaded (facts against
 * the kind's schema, network, sets, history) and run by `policy test`.
 *
 * An example runs every rule of its kind against its (partial) facts, on its network (`bitcoin`
 * unless it names one, whatever network the policy was loaded for), with its sets, at time
 * {@link EXAMPLE_NOW}; its history seeds its rule's limit windows. A rule that reads a
 * fact the example does not give is skipped, except the example's own rule, for which that is a
 * failure. `allow` passes when the example's rule is satisfied; `refuse` when the example's rule
 * (not another) refuses. Filters do not apply: an example tests a rule, not its severity. An
 * example without `on KIND` runs once for every kind its rule is on.
 *
 * @module
 */
import type { Example, Expr, Location } from "./ast.ts";
import { locationOf } from "./ast.ts";
import type { CheckEnv } from "./checker.ts";
import { constant, exampleObject } from "./literals.ts";
import { didYouMean } from "./diagnostics.ts";
import type { Network, RuleInfo } from "./model.ts";
import { sameType, typeName } from "./units.ts";
import type { JsonValue } from "./values.ts";
import { NETWORKS } from "../core/bitcoin/network.ts";

/** The time examples run at (seconds); `history` times are relative to it. */
export const EXAMPLE_NOW = 1_700_000_000;

/** An example ready to run, for one kind. */
export interface PreparedExample {
  /** The rule id. */
  rule: string;
  /** The example's position in its rule (0-based). */
  index: number;
  /** Its name, or `#N` (1-based) when unnamed. */
  name: string;
  /** The expected outcome. */
  expect: "allow" | "refuse";
  /** The kind it runs as. */
  kind: string;
  /** Where it is written. */
  location: Location;
  /** The facts. */
  facts: Record<string, unknown>;
  /** The network whose parameters apply (undefined: `bitcoin`). */
  network?: Network;
  /** The sets' members. */
  sets: Record<string, unknown[]>;
  /** Prior amounts of the rule's limits: seconds relative to {@link EXAMPLE_NOW}. */
  history: { at: number; amount: bigint }[];
}

/** How one rule fared in an example run. */
export type RuleOutcome =
  | { verdict: "allow" }
  | { verdict: "refuse"; facts: Record<string, JsonValue>; error?: string }
  | { verdict: "missing"; path: string };

/** The result of one example. */
export interface ExampleResult {
  /** The rule id. */
  rule: string;
  /** The example's name (`#N` when unnamed). */
  example: string;
  /** Its position in the rule (0-based). */
  index: number;
  /** The kind it ran as. */
  kind: string;
  /** Where it is written. */
  location: Location;
  /** The expected outcome. */
  expected: "allow" | "refuse";
  /** What happened: allowed, or refused by these rules (definition order). */
  actual: { outcome: "allow" | "refuse"; refusedBy: string[] };
  /** Whether the expectation held. */
  passed: boolean;
  /** Why not ("" when passed). */
  difference: string;
}

function check(
  rule: RuleInfo,
  example: Example,
  index: number,
  env: CheckEnv,
): PreparedExample[] {
  const { registry, diagnostics } = env;
  let kinds = rule.kinds;
  if (example.kind !== undefined) {
    const k = example.kind;
    if (!rule.kinds.includes(k.text)) {
      diagnostics.error(
        k.span,
        `rule ${rule.id} has no clause on kind ${k.text}`,
        didYouMean(k.text, rule.kinds) ?? `its kinds: ${rule.kinds.join(", ")}`,
      );
      return [];
    }
    kinds = [k.text];
  }
  let network: Network | undefined;
  if (example.network !== undefined) {
    const n = example.network;
    if ((NETWORKS as readonly string[]).includes(n.text)) network = n.text as Network;
    else {
      diagnostics.error(
        n.span,
        `unknown network ${n.text}`,
        didYouMean(n.text, NETWORKS) ?? `the networks are ${NETWORKS.join(", ")}`,
      );
    }
  }
  const sets: Record<string, unknown[]> = {};
  for (const s of example.sets) {
    const info = registry.set(s.name.text);
    if (info === undefined) {
      diagnostics.error(
        s.name.span,
        `unknown set ${s.name.text}`,
        didYouMean(s.name.text, registry.sets().map((x) => x.name)),
      );
      continue;
    }
    if (sets[info.name] !== undefined) diagnostics.error(s.span, `set ${info.name} is given twice`);
    const c = constant(s.members, diagnostics);
    if (c === undefined || c.type.kind !== "list") continue;
    if (!sameType(c.type.element, info.element)) {
      diagnostics.error(
        s.members.span,
        `set ${info.name} holds ${typeName(info.element)}, not ${typeName(c.type.element)}`,
      );
      continue;
    }
    sets[info.name] = c.value as unknown[];
  }
  const prepared: PreparedExample[] = [];
  for (const kind of kinds) {
    const info = registry.kind(kind);
    if (info === undefined) continue;
    const facts = exampleObject(example.facts, info.type, "", diagnostics);
    const history = example.history === undefined
      ? []
      : checkHistory(example.history.elements, rule, kind, env);
    const p: PreparedExample = {
      rule: rule.id,
      index,
      name: example.name?.value ?? `#${index + 1}`,
      expect: example.expect,
      kind,
      location: locationOf(example.span),
      facts,
      sets,
      history,
    };
    if (network !== undefined) p.network = network;
    prepared.push(p);
  }
  return prepared;
}

/** `history [{ at: -2h, amount: 500 msat }, ...]`: times at or before now, in the limit's unit. */
function checkHistory(
  entries: Expr[],
  rule: RuleInfo,
  kind: string,
  env: CheckEnv,
): { at: number; amount: bigint }[] {
  const { diagnostics } = env;
  const limits = rule.clauses.filter((c) => c.limit !== undefined && c.kinds.includes(kind));
  if (limits.length === 0) {
    if (entries.length > 0) {
      diagnostics.error(
        entries[0].span,
        `rule ${rule.id} has no limit on kind ${kind}`,
        "history is for limits",
      );
    }
    return [];
  }
  const unit = limits[0].limit?.unit ?? null;
  const out: { at: number; amount: bigint }[] = [];
  for (const e of entries) {
    if (e.type !== "Object") {
      diagnostics.error(e.span, "a history entry is { at: -DURATION, amount: QUANTITY }");
      continue;
    }
    let at: bigint | undefined;
    let amount: bigint | undefined;
    const keys = new Set(e.entries.map((entry) => entry.key.join(".")));
    for (const entry of e.entries) {
      const key = entry.key.join(".");
      const c = constant(entry.value, diagnostics);
      if (c === undefined) continue;
      if (key === "at") {
        if (c.type.kind !== "int" || c.type.unit !== "seconds" || (c.value as bigint) > 0n) {
          diagnostics.error(
            entry.value.span,
            "at is a duration at or before now",
            'write e.g. "-2h"',
          );
        } else at = c.value as bigint;
      } else if (key === "amount") {
        if (c.type.kind !== "int" || c.type.unit !== unit || (c.value as bigint) < 0n) {
          diagnostics.error(
            entry.value.span,
            `amount is a non-negative ${unit ?? "int"}, like the limit's amount`,
          );
        } else amount = c.value as bigint;
      } else {
        diagnostics.error(
          entry.keySpan,
          `unknown history field ${key}`,
          didYouMean(key, ["at", "amount"]),
        );
      }
    }
    if (!keys.has("at") || !keys.has("amount")) {
      diagnostics.error(e.span, "a history entry needs at and amount");
    }
    if (at === undefined || amount === undefined) continue;
    out.push({ at: Number(at), amount });
  }
  return out;
}

/** Checks every example of every rule; problems go to `env.diagnostics`. */
export function prepareExamples(rules: readonly RuleInfo[], env: CheckEnv): PreparedExample[] {
  return rules.flatMap((rule) => rule.examples.flatMap((e, i) => check(rule, e, i, env)));
}

function factsText(facts: Record<string, JsonValue>): string {
  const parts = Object.entries(facts).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
  return parts.length === 0 ? "" : ` (read: ${parts.join(", ")})`;
}

/**
 * Runs prepared examples.
 * @param examples the examples
 * @param run evaluates every rule of a kind against an example (the engine provides it)
 */
export function runExamples(
  examples: readonly PreparedExample[],
  run: (example: PreparedExample) => Map<string, RuleOutcome>,
): ExampleResult[] {
  return examples.map((example) => {
    const outcomes = run(example);
    const refusedBy = [...outcomes].filter(([, o]) => o.verdict === "refuse").map(([id]) => id);
    const own = outcomes.get(example.rule) ?? { verdict: "allow" };
    const result: ExampleResult = {
      rule: example.rule,
      example: example.name,
      index: example.index,
      kind: example.kind,
      location: example.location,
      expected: example.expect,
      actual: { outcome: refusedBy.length > 0 ? "refuse" : "allow", refusedBy },
      passed: false,
      difference: "",
    };
    const others = refusedBy.filter((id) => id !== example.rule);
    const byOthers = others.length > 0 ? `; refused by ${others.join(", ")}` : "";
    if (own.verdict === "missing") {
      result.difference = `the example does not give ${own.path}, which the rule reads`;
    } else if (example.expect === "allow" && own.verdict === "refuse") {
      const why = own.error === undefined ? "" : ` (${own.error})`;
      result.difference = `expected allow, but ${example.rule} refuses${why}${
        factsText(own.facts)
      }`;
    } else if (example.expect === "refuse" && own.verdict === "allow") {
      result.difference = `expected ${example.rule} to refuse, but it allows${byOthers}`;
    } else {
      result.passed = true;
    }
    return result;
  });
}
