/**
 * `policy explain RULE` (policy/README.md, "Tools"): everything about one rule of a loaded policy —
 * its id, aliases, severity, description, source location and text, each clause's kinds, guard and
 * check, the facts it reads with their types and units (from the fact registry), each parameter it
 * reads with its value on the policy's network and on every network and where each value was set
 * (definition and overrides), the sets it asks, the filters that match it (and which one decides),
 * and its examples.
 *
 * {@link explainRule} gives the data (JSON-safe); {@link formatExplanation} the text the CLI prints.
 *
 * @module
 */
import type { Location, Unit } from "./ast.ts";
import { didYouMean } from "./diagnostics.ts";
import type { Policy } from "./engine.ts";
import { formatExpr, intText, quoteString } from "./format.ts";
import type { Network, ParamInfo, RuleInfo } from "./model.ts";
import type { FactRegistry } from "./registry.ts";
import { type Type, typeName } from "./units.ts";
import type { JsonValue } from "./values.ts";
import { NETWORKS } from "../core/bitcoin/network.ts";

/** No rule has the id or alias asked for. */
export class UnknownRuleError extends Error {
  /** A `did you mean "..."?` hint, when a near id or alias exists. */
  readonly hint?: string;

  /**
   * Creates the error.
   * @param rule the id asked for
   * @param hint a near id, if any
   */
  constructor(rule: string, hint?: string) {
    super(`unknown rule ${rule}${hint === undefined ? "" : ` (hint: ${hint})`}`);
    this.name = "UnknownRuleError";
    if (hint !== undefined) this.hint = hint;
  }
}

/** `file:line:col`. */
export function formatLocation(location: Location): string {
  return `${location.file}:${location.line}:${location.column}`;
}

/** A decimal integer with `_` between groups of three digits from 10_000 on (`25_000`, `1000`). */
export function groupDigits(decimal: string): string {
  const negative = decimal.startsWith("-");
  const digits = negative ? decimal.slice(1) : decimal;
  if (!/^[0-9]+$/.test(digits) || digits.length < 5) return decimal;
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 3) {
    groups.unshift(digits.slice(Math.max(0, end - 3), end));
  }
  return (negative ? "-" : "") + groups.join("_");
}

/**
 * A JSON-safe value (a parameter's value, a fact) written as a policy literal of its type:
 * `25_000 per-kw`, `true`, `"anchors"`, `0x0014ab`, `["a", "b"]`.
 */
export function formatValue(value: JsonValue, type: Type): string {
  if (Array.isArray(value)) {
    const element = type.kind === "list" && type.element !== null ? type.element : type;
    return `[${value.map((v) => formatValue(v, element)).join(", ")}]`;
  }
  if (type.kind === "int" && (typeof value === "string" || typeof value === "number")) {
    const n = groupDigits(String(value));
    return type.unit === null ? n : `${n} ${type.unit}`;
  }
  if (type.kind === "bytes" && typeof value === "string") return `0x${value}`;
  if (typeof value === "string") return quoteString(value);
  return JSON.stringify(value);
}

/** A fact a rule reads. */
export interface FactExplanation {
  /** The dotted path (list elements as `list[].field`). */
  path: string;
  /** The type's readable name (`msat`, `bool`, `list of object`). */
  type: string;
  /** The unit of an integer fact (null for a plain integer or a non-integer). */
  unit: Unit | null;
  /** The kinds whose schema gives it this type (the clauses' kinds). */
  kinds: string[];
}

/** One assignment of a parameter (its definition or an override). */
export interface AssignmentExplanation {
  /** `definition` or `override`. */
  kind: "definition" | "override";
  /** `file:line:col`. */
  location: string;
  /** The values it set, by network (policy literals). Networks it left alone are absent. */
  values: Partial<Record<Network, string>>;
}

/** A parameter a rule reads. */
export interface ParamExplanation {
  /** The name (read as `param.NAME`). */
  name: string;
  /** Its description ("" if none). */
  description: string;
  /** The type's readable name. */
  type: string;
  /** The value on the policy's network (a policy literal). */
  value: string;
  /** The value on every network (policy literals). */
  values: Record<Network, string>;
  /** Where it is defined, then every override, in application order. */
  history: AssignmentExplanation[];
  /** For each network, the assignment its value came from (`file:line:col`). */
  setAt: Record<Network, string>;
}

/** One clause of the rule. */
export interface ClauseExplanation {
  /** Its position in the rule (0-based). */
  index: number;
  /** Where it starts. */
  location: string;
  /** The kinds it is `on`. */
  kinds: string[];
  /** The `when` guard (canonical text), if any. */
  guard?: string;
  /** `require` or `limit`. */
  check: "require" | "limit";
  /** The `require` condition (canonical text). */
  condition?: string;
  /** The parts of a `limit`. */
  limit?: { amount: string; window: string; windowSeconds: number; cap: string };
  /** The fact paths it reads. */
  facts: string[];
  /** The parameters it reads. */
  params: string[];
  /** The sets it asks. */
  sets: string[];
}

/** A filter that matches the rule. */
export interface FilterExplanation {
  /** The pattern as written. */
  pattern: string;
  /** `warn` or `error`. */
  action: "warn" | "error";
  /** `file:line:col`. */
  location: string;
  /** Whether this filter decides the rule's severity (the first match). */
  decides: boolean;
}

/** Everything about one rule. */
export interface RuleExplanation {
  /** The rule id. */
  id: string;
  /** The name asked for (an alias, or the id). */
  asked: string;
  /** Alias ids. */
  aliases: string[];
  /** Whether it is mandatory. */
  mandatory: boolean;
  /** Whether it is temporary. */
  temporary: boolean;
  /** `mandatory`, `optional`, with `, temporary` when temporary. */
  severity: string;
  /** What a violation does: `error` (refuse) or `warn` (warning, allowed). */
  action: "warn" | "error";
  /** The filter that decides the action (absent: the default, error). */
  decidedBy?: { pattern: string; location: string };
  /** A mandatory rule demoted under the development flag. */
  mandatoryDemoted: boolean;
  /** The description. */
  description: string;
  /** Where the rule starts. */
  location: string;
  /** The rule's exact source text. */
  source: string;
  /** The network the parameter values are for. */
  network: Network;
  /** The clauses. */
  clauses: ClauseExplanation[];
  /** Every fact read (union of the clauses), in first-read order. */
  facts: FactExplanation[];
  /** Every parameter read, in first-read order. */
  params: ParamExplanation[];
  /** Every set asked. */
  sets: { name: string; element: string; description: string }[];
  /** Every filter matching the rule, in consultation order. */
  filters: FilterExplanation[];
  /** The examples. */
  examples: {
    /** The expected outcome. */
    expect: "allow" | "refuse";
    /** Its name, or `#N` (1-based) when unnamed. */
    name: string;
    /** Whether it has a name. */
    named: boolean;
    /** The kind it names (`on KIND`), if any. */
    kind?: string;
    /** `file:line:col`. */
    location: string;
  }[];
}

function severityText(rule: RuleInfo): string {
  return (rule.mandatory ? "mandatory" : "optional") + (rule.temporary ? ", temporary" : "");
}

/** Finds a rule by id or alias, or throws {@link UnknownRuleError} with a near name. */
export function findRule(policy: Policy, name: string): RuleInfo {
  const rule = policy.rule(name);
  if (rule !== undefined) return rule;
  const names = policy.rules.flatMap((r) => [r.id, ...r.aliases]);
  throw new UnknownRuleError(name, didYouMean(name, names));
}

function explainParam(param: ParamInfo, network: Network): ParamExplanation {
  const values = Object.fromEntries(
    NETWORKS.map((n) => [n, formatValue(param.values[n], param.type)]),
  ) as Record<Network, string>;
  const history: AssignmentExplanation[] = param.history.map((h) => ({
    kind: h.kind,
    location: formatLocation(h.location),
    values: Object.fromEntries(
      Object.entries(h.values).map(([n, v]) => [n, formatValue(v as JsonValue, param.type)]),
    ) as Partial<Record<Network, string>>,
  }));
  const setAt = {} as Record<Network, string>;
  for (const n of NETWORKS) {
    const last = [...history].reverse().find((h) => h.values[n] !== undefined);
    setAt[n] = last?.location ?? formatLocation(param.location);
  }
  return {
    name: param.name,
    description: param.description,
    type: param.typeName,
    value: values[network],
    values,
    history,
    setAt,
  };
}

/**
 * Explains one rule of a loaded policy.
 * @param policy the loaded policy (its network gives the "current" parameter values)
 * @param rule a rule id or alias
 * @param options `registry`: the fact registry the policy was checked against (fact types)
 * @throws {UnknownRuleError} when no rule has that id or alias (with a near name as hint)
 */
export function explainRule(
  policy: Policy,
  rule: string,
  options: { registry: FactRegistry },
): RuleExplanation {
  const info = findRule(policy, rule);
  const { registry } = options;
  const clauses: ClauseExplanation[] = info.clauses.map((c) => {
    const out: ClauseExplanation = {
      index: c.index,
      location: formatLocation(c.location),
      kinds: c.kinds,
      check: c.check,
      facts: c.reads.facts,
      params: c.reads.params,
      sets: c.reads.sets,
    };
    if (c.guard !== undefined) out.guard = formatExpr(c.guard);
    if (c.condition !== undefined) out.condition = formatExpr(c.condition);
    const limit = c.limit;
    const decl = info.decl.clauses[c.index]?.body;
    if (limit !== undefined && decl?.type === "Limit") {
      out.limit = {
        amount: formatExpr(limit.amount),
        window: intText(decl.window),
        windowSeconds: limit.windowSeconds,
        cap: formatExpr(limit.cap),
      };
    }
    return out;
  });
  const facts: FactExplanation[] = [];
  for (const c of info.clauses) {
    for (const path of c.reads.facts) {
      for (const kind of c.kinds) {
        const leaf = registry.factPaths(kind).find((p) => p.path === path);
        if (leaf === undefined) continue;
        const unit = leaf.type.kind === "int" ? leaf.type.unit : null;
        const known = facts.find((f) => f.path === path && f.type === leaf.typeName);
        if (known === undefined) facts.push({ path, type: leaf.typeName, unit, kinds: [kind] });
        else if (!known.kinds.includes(kind)) known.kinds.push(kind);
      }
    }
  }
  const params = info.reads.params.flatMap((name) => {
    const p = policy.param(name);
    return p === undefined ? [] : [explainParam(p, policy.network)];
  });
  const sets = info.reads.sets.map((name) => {
    const s = registry.set(name);
    return {
      name,
      element: s === undefined ? "?" : typeName(s.element),
      description: s?.description ?? "",
    };
  });
  const decider = info.severity.filter;
  const filters: FilterExplanation[] = policy.filters
    .filter((f) => f.matches.includes(info.id))
    .map((f) => ({
      pattern: f.pattern,
      action: f.action,
      location: formatLocation(f.location),
      decides: decider !== undefined && decider.pattern === f.pattern &&
        formatLocation(decider.location) === formatLocation(f.location),
    }));
  const explanation: RuleExplanation = {
    id: info.id,
    asked: rule,
    aliases: info.aliases,
    mandatory: info.mandatory,
    temporary: info.temporary,
    severity: severityText(info),
    action: info.severity.action,
    mandatoryDemoted: policy.mandatoryDemotions.some((d) => d.rule === info.id),
    description: info.description,
    location: formatLocation(info.location),
    source: policy.text(info.decl.span),
    network: policy.network,
    clauses,
    facts,
    params,
    sets,
    filters,
    examples: info.examples.map((e, i) => {
      const x: RuleExplanation["examples"][number] = {
        expect: e.expect,
        name: e.name?.value ?? `#${i + 1}`,
        named: e.name !== undefined,
        location: formatLocation(e.span),
      };
      if (e.kind !== undefined) x.kind = e.kind.text;
      return x;
    }),
  };
  if (decider !== undefined) {
    explanation.decidedBy = {
      pattern: decider.pattern,
      location: formatLocation(decider.location),
    };
  }
  return explanation;
}

/**
 * Groups networks that share a value: `bitcoin 25_000 per-kw; testnet, signet 333_333 per-kw`, or
 * `253 per-kw on every network`.
 */
function byValue(values: Partial<Record<Network, string>>): string {
  const groups = new Map<string, Network[]>();
  for (const n of NETWORKS) {
    const v = values[n];
    if (v === undefined) continue;
    groups.set(v, [...(groups.get(v) ?? []), n]);
  }
  if (groups.size === 1 && [...groups.values()][0].length === NETWORKS.length) {
    return `${[...groups.keys()][0]} on every network`;
  }
  return [...groups].map(([v, ns]) => `${ns.join(", ")} ${v}`).join("; ");
}

/** The text `mod.ts policy explain` prints. */
export function formatExplanation(e: RuleExplanation): string {
  const out: string[] = [];
  out.push(`rule ${e.id}${e.asked !== e.id ? ` (asked as its alias ${e.asked})` : ""}`);
  out.push(`  aliases: ${e.aliases.length === 0 ? "none" : e.aliases.join(", ")}`);
  let effect: string;
  if (e.action === "warn" && e.decidedBy !== undefined) {
    effect =
      `violations are warnings: demoted by filter ${e.decidedBy.pattern} warn at ${e.decidedBy.location}`;
  } else if (e.decidedBy !== undefined) {
    effect = `violations refuse (filter ${e.decidedBy.pattern} error at ${e.decidedBy.location})`;
  } else {
    effect = "violations refuse (no filter matches)";
  }
  out.push(`  severity: ${e.severity}; ${effect}`);
  if (e.mandatoryDemoted) {
    out.push("  WARNING: a mandatory rule demoted under --dev-allow-mandatory-demotion");
  }
  if (e.temporary) out.push("  temporary: a refusal by this rule alone is retryable");
  out.push(`  description: ${e.description}`);
  out.push(`  defined at: ${e.location}`);
  out.push("");
  out.push("source:");
  for (const line of e.source.split("\n")) out.push(`  | ${line}`.trimEnd());
  out.push("");
  out.push("clauses:");
  for (const c of e.clauses) {
    out.push(`  clause ${c.index} at ${c.location}`);
    out.push(`    on ${c.kinds.join(", ")}`);
    if (c.guard !== undefined) out.push(`    when ${c.guard}`);
    if (c.condition !== undefined) out.push(`    require ${c.condition}`);
    if (c.limit !== undefined) {
      out.push(
        `    limit sum ${c.limit.amount} over ${c.limit.window} (${c.limit.windowSeconds} seconds) <= ${c.limit.cap}`,
      );
    }
  }
  out.push("");
  out.push("facts read:");
  if (e.facts.length === 0) out.push("  none");
  for (const f of e.facts) {
    const unit = f.type === "int"
      ? "plain integer"
      : f.unit !== null
      ? `integer in ${f.unit}`
      : f.type;
    out.push(`  ${f.path}: ${unit} (on ${f.kinds.join(", ")})`);
  }
  out.push("");
  out.push(`parameters read (values on ${e.network}):`);
  if (e.params.length === 0) out.push("  none");
  for (const p of e.params) {
    out.push(`  param.${p.name} = ${p.value}  (${p.type})`);
    if (p.description !== "") out.push(`    ${p.description}`);
    out.push(`    values: ${byValue(p.values)}`);
    for (const h of p.history) {
      out.push(
        `    ${h.kind === "definition" ? "defined" : "overridden"} at ${h.location}: ${
          byValue(h.values)
        }`,
      );
    }
    if (p.history.length > 1) {
      out.push(`    ${e.network} value set at ${p.setAt[e.network]}`);
    }
  }
  if (e.sets.length > 0) {
    out.push("");
    out.push("sets asked:");
    for (const s of e.sets) {
      out.push(`  ${s.name} (${s.element})${s.description === "" ? "" : `: ${s.description}`}`);
    }
  }
  out.push("");
  out.push("filters:");
  if (e.filters.length === 0) out.push("  none matches: violations refuse");
  for (const f of e.filters) {
    const role = f.decides
      ? f.action === "warn"
        ? "decides: demotes violations to warnings"
        : "decides: violations refuse"
      : "matches, but an earlier filter decides";
    out.push(`  filter ${f.pattern} ${f.action} at ${f.location}: ${role}`);
  }
  out.push("");
  out.push(`examples: ${e.examples.length}`);
  for (const x of e.examples) {
    out.push(
      `  ${x.expect} ${x.named ? quoteString(x.name) : x.name}${
        x.kind === undefined ? "" : ` on ${x.kind}`
      } at ${x.location}`,
    );
  }
  return out.join("\n") + "\n";
}
