/**
 * `policy diff OLD NEW` (policy/README.md, "Tools"): what a change to a policy does, rule by rule
 * and parameter by parameter, between two loaded (type-checked) policies.
 *
 * - **rules** (by id): added, removed; for a rule in both: severity (`optional` → `mandatory`,
 *   `temporary`), what a violation does (a filter demoting it or not), description, aliases,
 *   kinds, each clause (by position: kinds, guard, check; old and new text), examples added,
 *   removed or changed (by name; unnamed ones by content).
 * - **params** (by name): added, removed; for a parameter in both: type, description, and the
 *   value on each network that changed, old → new, with its effect when it can be inferred: a
 *   parameter every use of which is monotone (an upper bound like `x <= param.max`, a lower bound
 *   like `x >= param.min`, a `between` bound, a limit's cap, a boolean condition, a list on the
 *   right of `in`) is **tightening** when the change refuses more and **loosening** when it allows
 *   more. Anything else (`==`, products with non-literals, a use inside a guard and a check that
 *   disagree) gives no effect, only old → new.
 * - **filters** (by pattern): added, removed, action changed.
 * - **includes**: files loaded (transitively) added or removed, relative to the top file.
 *
 * Expressions are compared by their syntax tree (layout, comments, parentheses and digit grouping
 * do not count). Everything is sorted, so the output is stable. {@link diffPolicies} gives the
 * data (JSON-safe, `--json`); {@link formatDiff} the text.
 *
 * @module
 */
import type { Example, Expr } from "./ast.ts";
import type { Policy } from "./engine.ts";
import { formatLocation, formatValue } from "./explain.ts";
import { formatExpr, quoteString, stripLocations } from "./format.ts";
import type { ClauseInfo, Network, ParamInfo, RuleInfo } from "./model.ts";
import type { JsonValue } from "./values.ts";
import { NETWORKS } from "../core/bitcoin/network.ts";
import { posix } from "node:path";

/** An old and a new value. */
export interface Change<T = string> {
  /** Before. */
  old: T;
  /** After. */
  new: T;
}

/** A rule that is only in one of the policies. */
export interface RuleSummary {
  /** The id. */
  id: string;
  /** `mandatory` or `optional`, with `, temporary`. */
  severity: string;
  /** `file:line:col`. */
  location: string;
  /** The description. */
  description: string;
}

/** A clause that differs (by position in its rule). */
export interface ClauseChange {
  /** Its position (0-based). */
  index: number;
  /** `added`, `removed` or `changed`. */
  change: "added" | "removed" | "changed";
  /** The clause's text before (canonical; absent when added). */
  old?: string;
  /** The clause's text after (canonical; absent when removed). */
  new?: string;
  /** What differs, for a changed clause: `kinds`, `guard`, `check`. */
  parts?: ("kinds" | "guard" | "check")[];
}

/** A rule present in both policies that differs. */
export interface RuleChange {
  /** The id. */
  id: string;
  /** `file:line:col` in the new policy. */
  location: string;
  /** `optional` → `mandatory` and the like. */
  severity?: Change;
  /** What a violation does: `error`, or `warn (filter P)`. */
  action?: Change;
  /** The description. */
  description?: Change;
  /** Aliases added and removed. */
  aliases?: { added: string[]; removed: string[] };
  /** Kinds added and removed (over all clauses). */
  kinds?: { added: string[]; removed: string[] };
  /** Clauses that differ. */
  clauses?: ClauseChange[];
  /** Examples added, removed and changed (labels like `allow "typical"`). */
  examples?: { added: string[]; removed: string[]; changed: string[] };
}

/** How a parameter is used, when every use agrees. */
export type ParamUse =
  | "upper bound"
  | "lower bound"
  | "true allows more"
  | "true refuses more"
  | "allowed values"
  | "refused values";

/** A parameter only in one of the policies. */
export interface ParamSummary {
  /** The name. */
  name: string;
  /** The type's readable name. */
  type: string;
  /** Its values, grouped: `5 sat on every network` or `bitcoin 1 sat; testnet, ... 5 sat`. */
  values: string;
  /** `file:line:col` of its definition. */
  location: string;
}

/** A change of value on some networks. */
export interface ValueChange {
  /** The networks (in the usual order) that share this old → new change. */
  networks: Network[];
  /** The value before (a policy literal). */
  old: string;
  /** The value after. */
  new: string;
  /** The inferred effect, when the parameter's use is known. */
  effect?: "tightening" | "loosening";
}

/** A parameter in both policies that differs. */
export interface ParamChange {
  /** The name. */
  name: string;
  /** How the new policy's rules use it (absent when unknown or unused). */
  use?: ParamUse;
  /** The type. */
  type?: Change;
  /** The description. */
  description?: Change;
  /** Changed values. */
  values: ValueChange[];
}

/** A filter only in one of the policies. */
export interface FilterSummary {
  /** The pattern. */
  pattern: string;
  /** `warn` or `error`. */
  action: "warn" | "error";
  /** `file:line:col`. */
  location: string;
}

/** What changes between two policies. */
export interface PolicyDiff {
  /** The old policy: top file, name, version. */
  old: { file: string; name: string; version: number };
  /** The new policy. */
  new: { file: string; name: string; version: number };
  /** Included files (relative to the top file's directory) added and removed. */
  includes: { added: string[]; removed: string[] };
  /** Rules, sorted by id. */
  rules: { added: RuleSummary[]; removed: RuleSummary[]; changed: RuleChange[] };
  /** Parameters, sorted by name. */
  params: { added: ParamSummary[]; removed: ParamSummary[]; changed: ParamChange[] };
  /** Filters, sorted by pattern. */
  filters: {
    added: FilterSummary[];
    removed: FilterSummary[];
    changed: (Change<"warn" | "error"> & { pattern: string })[];
  };
}

// ---- comparing syntax ----

/** A key of a syntax subtree that ignores locations, parentheses and digit grouping. */
function key(node: unknown): string {
  const unwrap = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(unwrap);
    if (v === null || typeof v !== "object") return typeof v === "bigint" ? `${v}n` : v;
    const o = v as Record<string, unknown>;
    if (o.type === "Paren") return unwrap(o.expr);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) if (k !== "text") out[k] = unwrap(o[k]);
    return out;
  };
  return JSON.stringify(unwrap(stripLocations(node)));
}

function clauseText(c: ClauseInfo): string {
  const parts = [`on ${c.kinds.join(", ")}`];
  if (c.guard !== undefined) parts.push(`when ${formatExpr(c.guard)}`);
  if (c.condition !== undefined) parts.push(`require ${formatExpr(c.condition)}`);
  if (c.limit !== undefined) {
    parts.push(
      `limit sum ${formatExpr(c.limit.amount)} over ${c.limit.windowSeconds} seconds <= ${
        formatExpr(c.limit.cap)
      }`,
    );
  }
  return parts.join(" ");
}

function checkKey(c: ClauseInfo): string {
  return c.condition !== undefined
    ? key(c.condition)
    : key([c.limit?.amount, c.limit?.windowSeconds, c.limit?.cap]);
}

function exampleLabel(e: Example, index: number): string {
  return `${e.expect} ${e.name === undefined ? `#${index + 1}` : quoteString(e.name.value)}`;
}

function exampleKey(e: Example): string {
  return key({
    expect: e.expect,
    name: e.name?.value,
    kind: e.kind?.text,
    facts: e.facts,
    network: e.network?.text,
    sets: e.sets,
    history: e.history,
  });
}

function severityText(r: RuleInfo): string {
  return (r.mandatory ? "mandatory" : "optional") + (r.temporary ? ", temporary" : "");
}

function actionText(r: RuleInfo): string {
  const f = r.severity.filter;
  return f === undefined ? r.severity.action : `${r.severity.action} (filter ${f.pattern})`;
}

function addedRemoved(old: string[], now: string[]): { added: string[]; removed: string[] } {
  return {
    added: now.filter((x) => !old.includes(x)).sort(),
    removed: old.filter((x) => !now.includes(x)).sort(),
  };
}

function diffRule(a: RuleInfo, b: RuleInfo): RuleChange | undefined {
  const change: RuleChange = { id: b.id, location: formatLocation(b.location) };
  let changed = false;
  const set = <K extends keyof RuleChange>(k: K, v: RuleChange[K]): void => {
    change[k] = v;
    changed = true;
  };
  if (severityText(a) !== severityText(b)) {
    set("severity", { old: severityText(a), new: severityText(b) });
  }
  if (actionText(a) !== actionText(b)) set("action", { old: actionText(a), new: actionText(b) });
  if (a.description !== b.description) {
    set("description", { old: a.description, new: b.description });
  }
  const aliases = addedRemoved(a.aliases, b.aliases);
  if (aliases.added.length + aliases.removed.length > 0) set("aliases", aliases);
  const kinds = addedRemoved(a.kinds, b.kinds);
  if (kinds.added.length + kinds.removed.length > 0) set("kinds", kinds);
  const clauses: ClauseChange[] = [];
  for (let i = 0; i < Math.max(a.clauses.length, b.clauses.length); i++) {
    const x = a.clauses[i];
    const y = b.clauses[i];
    if (x === undefined) clauses.push({ index: i, change: "added", new: clauseText(y) });
    else if (y === undefined) clauses.push({ index: i, change: "removed", old: clauseText(x) });
    else {
      const parts: ClauseChange["parts"] = [];
      if (x.kinds.join(",") !== y.kinds.join(",")) parts.push("kinds");
      if (key(x.guard ?? null) !== key(y.guard ?? null)) parts.push("guard");
      if (x.check !== y.check || checkKey(x) !== checkKey(y)) parts.push("check");
      if (parts.length > 0) {
        clauses.push({
          index: i,
          change: "changed",
          old: clauseText(x),
          new: clauseText(y),
          parts,
        });
      }
    }
  }
  if (clauses.length > 0) set("clauses", clauses);
  const examples = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
  const identity = (e: Example): string =>
    e.name === undefined ? exampleKey(e) : `name:${e.name.value}`;
  const before = new Map(a.examples.map((e, i) => [identity(e), { e, i }]));
  const after = new Map(b.examples.map((e, i) => [identity(e), { e, i }]));
  for (const [id, { e, i }] of after) {
    const old = before.get(id);
    if (old === undefined) examples.added.push(exampleLabel(e, i));
    else if (exampleKey(old.e) !== exampleKey(e)) examples.changed.push(exampleLabel(e, i));
  }
  for (const [id, { e, i }] of before) {
    if (!after.has(id)) examples.removed.push(exampleLabel(e, i));
  }
  if (examples.added.length + examples.removed.length + examples.changed.length > 0) {
    examples.added.sort();
    examples.removed.sort();
    examples.changed.sort();
    set("examples", examples);
  }
  return changed ? change : undefined;
}

// ---- how parameters are used ----

type Polarity = 1 | -1 | 0;

/**
 * Records, for each parameter, whether a larger value (`true`, more list members) allows more
 * (+1), refuses more (-1), or cannot be told (0), over every use in the rules.
 */
function paramPolarities(rules: readonly RuleInfo[]): Map<string, Polarity> {
  const out = new Map<string, Polarity>();
  const record = (e: Expr, p: Polarity): boolean => {
    if (e.type !== "Path" || e.segments[0] !== "param" || e.segments.length !== 2) return false;
    const name = e.segments[1];
    const prev = out.get(name);
    out.set(name, prev === undefined || prev === p ? p : 0);
    return true;
  };
  const neg = (p: Polarity): Polarity => (p === 0 ? 0 : (-p as Polarity));
  const unknown = (e: Expr): void => {
    if (record(e, 0)) return;
    forEachChild(e, unknown);
  };
  const numeric = (e: Expr, p: Polarity): void => {
    if (record(e, p)) return;
    const nonNegativeLiteral = (x: Expr): boolean => x.type === "Int" && x.value >= 0n;
    switch (e.type) {
      case "Paren":
        return numeric(e.expr, p);
      case "Negate":
        return numeric(e.operand, neg(p));
      case "Binary":
        if (e.op === "+") {
          numeric(e.left, p);
          numeric(e.right, p);
        } else if (e.op === "-") {
          numeric(e.left, p);
          numeric(e.right, neg(p));
        } else if (e.op === "*") {
          numeric(e.left, nonNegativeLiteral(e.right) ? p : 0);
          numeric(e.right, nonNegativeLiteral(e.left) ? p : 0);
        } else if (e.op === "/") {
          numeric(e.left, e.right.type === "Int" && e.right.value > 0n ? p : 0);
          unknown(e.right);
        } else unknown(e);
        return;
      case "Call":
        if (e.fn === "len") unknown(e);
        else e.args.forEach((a) => numeric(a, p));
        return;
      case "If":
        unknown(e.condition);
        numeric(e.then, p);
        numeric(e.else, p);
        return;
      default:
        unknown(e);
    }
  };
  const binary = (e: Expr & { type: "Binary" }, p: Polarity): void => {
    switch (e.op) {
      case "and":
      case "or":
        logical(e.left, p);
        logical(e.right, p);
        return;
      case "implies":
        logical(e.left, neg(p));
        logical(e.right, p);
        return;
      case "<":
      case "<=":
        numeric(e.left, neg(p));
        numeric(e.right, p);
        return;
      case ">":
      case ">=":
        numeric(e.left, p);
        numeric(e.right, neg(p));
        return;
      default:
        unknown(e);
    }
  };
  const logical = (e: Expr, p: Polarity): void => {
    if (record(e, p)) return;
    switch (e.type) {
      case "Paren":
        return logical(e.expr, p);
      case "Not":
        return logical(e.operand, neg(p));
      case "Binary":
        return binary(e, p);
      case "Between":
        unknown(e.value);
        numeric(e.low, neg(p));
        numeric(e.high, p);
        return;
      case "In":
        unknown(e.value);
        if (!record(e.target, e.negated ? neg(p) : p)) unknown(e.target);
        return;
      case "Quantifier":
        unknown(e.list);
        logical(e.body, p);
        return;
      case "If":
        unknown(e.condition);
        logical(e.then, p);
        logical(e.else, p);
        return;
      default:
        unknown(e);
    }
  };
  for (const rule of rules) {
    for (const c of rule.clauses) {
      if (c.guard !== undefined) logical(c.guard, -1); // a truer guard checks more
      if (c.condition !== undefined) logical(c.condition, 1);
      if (c.limit !== undefined) {
        numeric(c.limit.amount, -1);
        numeric(c.limit.cap, 1);
      }
    }
  }
  return out;
}

function forEachChild(e: Expr, f: (x: Expr) => void): void {
  switch (e.type) {
    case "List":
      e.elements.forEach(f);
      return;
    case "Object":
      e.entries.forEach((x) => f(x.value));
      return;
    case "Binary":
      f(e.left);
      f(e.right);
      return;
    case "Not":
    case "Negate":
      f(e.operand);
      return;
    case "Between":
      f(e.value);
      f(e.low);
      f(e.high);
      return;
    case "In":
      f(e.value);
      f(e.target);
      return;
    case "Quantifier":
    case "Sum":
      f(e.list);
      f(e.body);
      return;
    case "Count":
      f(e.list);
      if (e.condition !== undefined) f(e.condition);
      return;
    case "Call":
      e.args.forEach(f);
      return;
    case "If":
      f(e.condition);
      f(e.then);
      f(e.else);
      return;
    case "Paren":
      f(e.expr);
      return;
  }
}

function useOf(param: ParamInfo, polarity: Polarity | undefined): ParamUse | undefined {
  if (polarity === undefined || polarity === 0) return undefined;
  switch (param.type.kind) {
    case "int":
      return polarity > 0 ? "upper bound" : "lower bound";
    case "bool":
      return polarity > 0 ? "true allows more" : "true refuses more";
    case "list":
      return polarity > 0 ? "allowed values" : "refused values";
    default:
      return undefined;
  }
}

/** +1 when `b` is "more" than `a` (larger, true, a strict superset), -1 when less, 0 otherwise. */
function direction(a: JsonValue, b: JsonValue, param: ParamInfo): Polarity {
  switch (param.type.kind) {
    case "int": {
      const x = BigInt(a as string);
      const y = BigInt(b as string);
      return y > x ? 1 : y < x ? -1 : 0;
    }
    case "bool":
      return a === b ? 0 : b === true ? 1 : -1;
    case "list": {
      const x = new Set((a as JsonValue[]).map((v) => JSON.stringify(v)));
      const y = new Set((b as JsonValue[]).map((v) => JSON.stringify(v)));
      const added = [...y].some((v) => !x.has(v));
      const removed = [...x].some((v) => !y.has(v));
      return added && !removed ? 1 : removed && !added ? -1 : 0;
    }
    default:
      return 0;
  }
}

function groupValues(p: ParamInfo): string {
  const groups = new Map<string, Network[]>();
  for (const n of NETWORKS) {
    const v = formatValue(p.values[n], p.type);
    groups.set(v, [...(groups.get(v) ?? []), n]);
  }
  if (groups.size === 1) return `${[...groups.keys()][0]} on every network`;
  return [...groups].map(([v, ns]) => `${ns.join(", ")} ${v}`).join("; ");
}

function diffParam(
  a: ParamInfo,
  b: ParamInfo,
  options: { polarity: Polarity | undefined; networks: readonly Network[] },
): ParamChange | undefined {
  const change: ParamChange = { name: b.name, values: [] };
  const use = useOf(b, options.polarity);
  if (a.typeName !== b.typeName) change.type = { old: a.typeName, new: b.typeName };
  if (a.description !== b.description) {
    change.description = { old: a.description, new: b.description };
  }
  const groups = new Map<string, ValueChange>();
  for (const n of options.networks) {
    const old = formatValue(a.values[n], a.type);
    const now = formatValue(b.values[n], b.type);
    if (old === now && a.typeName === b.typeName) continue;
    const k = `${old}\0${now}`;
    const existing = groups.get(k);
    if (existing !== undefined) {
      existing.networks.push(n);
      continue;
    }
    const v: ValueChange = { networks: [n], old, new: now };
    if (change.type === undefined && options.polarity !== undefined && options.polarity !== 0) {
      const d = direction(a.values[n], b.values[n], b);
      if (d !== 0) v.effect = d === options.polarity ? "loosening" : "tightening";
    }
    groups.set(k, v);
  }
  change.values = [...groups.values()];
  if (change.type === undefined && change.description === undefined && change.values.length === 0) {
    return undefined;
  }
  if (use !== undefined) change.use = use;
  return change;
}

/** Every file a policy loads besides its top file, relative to the top file's directory. */
function relativeFiles(p: Policy): string[] {
  const dir = posix.dirname(p.model.file);
  return p.files
    .map((f) => f.path)
    .filter((f) => f !== p.model.file)
    .map((f) => posix.relative(dir, f));
}

/**
 * Compares two loaded policies.
 * @param old the policy before the change
 * @param now the policy after
 * @param options `network`: only report parameter values of this network (default: all)
 */
export function diffPolicies(
  old: Policy,
  now: Policy,
  options: { network?: Network } = {},
): PolicyDiff {
  const networks = options.network === undefined ? NETWORKS : [options.network];
  const byId = (p: Policy) => new Map(p.rules.map((r) => [r.id, r]));
  const a = byId(old);
  const b = byId(now);
  const summary = (r: RuleInfo): RuleSummary => ({
    id: r.id,
    severity: severityText(r),
    location: formatLocation(r.location),
    description: r.description,
  });
  const sortBy = <T>(xs: T[], f: (x: T) => string): T[] =>
    xs.sort((x, y) => (f(x) < f(y) ? -1 : f(x) > f(y) ? 1 : 0));
  const rules: PolicyDiff["rules"] = {
    added: sortBy([...b.values()].filter((r) => !a.has(r.id)).map(summary), (r) => r.id),
    removed: sortBy([...a.values()].filter((r) => !b.has(r.id)).map(summary), (r) => r.id),
    changed: sortBy(
      [...b.values()].flatMap((r) => {
        const before = a.get(r.id);
        const c = before === undefined ? undefined : diffRule(before, r);
        return c === undefined ? [] : [c];
      }),
      (r) => r.id,
    ),
  };
  const polarityNew = paramPolarities(now.rules);
  const polarityOld = paramPolarities(old.rules);
  const pa = new Map(old.params.map((p) => [p.name, p]));
  const pb = new Map(now.params.map((p) => [p.name, p]));
  const paramSummary = (p: ParamInfo): ParamSummary => ({
    name: p.name,
    type: p.typeName,
    values: groupValues(p),
    location: formatLocation(p.location),
  });
  const params: PolicyDiff["params"] = {
    added: sortBy([...pb.values()].filter((p) => !pa.has(p.name)).map(paramSummary), (p) => p.name),
    removed: sortBy(
      [...pa.values()].filter((p) => !pb.has(p.name)).map(paramSummary),
      (p) => p.name,
    ),
    changed: sortBy(
      [...pb.values()].flatMap((p) => {
        const before = pa.get(p.name);
        if (before === undefined) return [];
        const polarity = polarityNew.get(p.name) ?? polarityOld.get(p.name);
        const c = diffParam(before, p, { polarity, networks });
        return c === undefined ? [] : [c];
      }),
      (p) => p.name,
    ),
  };
  const filterKey = (
    f: { pattern: string },
    i: number,
    all: readonly { pattern: string }[],
  ): string => {
    const nth = all.slice(0, i).filter((x) => x.pattern === f.pattern).length;
    return nth === 0 ? f.pattern : `${f.pattern}#${nth + 1}`;
  };
  const fa = new Map(old.filters.map((f, i, all) => [filterKey(f, i, all), f]));
  const fb = new Map(now.filters.map((f, i, all) => [filterKey(f, i, all), f]));
  const filterSummary = (
    f: {
      pattern: string;
      action: "warn" | "error";
      location: Parameters<typeof formatLocation>[0];
    },
  ): FilterSummary => ({
    pattern: f.pattern,
    action: f.action,
    location: formatLocation(f.location),
  });
  const filters: PolicyDiff["filters"] = {
    added: sortBy(
      [...fb].filter(([k]) => !fa.has(k)).map(([, f]) => filterSummary(f)),
      (f) => f.pattern,
    ),
    removed: sortBy(
      [...fa].filter(([k]) => !fb.has(k)).map(([, f]) => filterSummary(f)),
      (f) => f.pattern,
    ),
    changed: sortBy(
      [...fb].flatMap(([k, f]) => {
        const before = fa.get(k);
        return before === undefined || before.action === f.action
          ? []
          : [{ pattern: f.pattern, old: before.action, new: f.action }];
      }),
      (f) => f.pattern,
    ),
  };
  return {
    old: { file: old.model.file, name: old.name, version: old.version },
    new: { file: now.model.file, name: now.name, version: now.version },
    includes: addedRemoved(relativeFiles(old), relativeFiles(now)),
    rules,
    params,
    filters,
  };
}

/** Whether the diff reports anything besides the files' names. */
export function isEmptyDiff(d: PolicyDiff): boolean {
  return d.old.name === d.new.name && d.old.version === d.new.version &&
    d.includes.added.length + d.includes.removed.length === 0 &&
    d.rules.added.length + d.rules.removed.length + d.rules.changed.length === 0 &&
    d.params.added.length + d.params.removed.length + d.params.changed.length === 0 &&
    d.filters.added.length + d.filters.removed.length + d.filters.changed.length === 0;
}

/** The text `mod.ts policy diff` prints: sorted sections, `+` added, `-` removed, `~` changed. */
export function formatDiff(d: PolicyDiff): string {
  const out: string[] = [];
  out.push(`--- ${d.old.file}: policy ${quoteString(d.old.name)} version ${d.old.version}`);
  out.push(`+++ ${d.new.file}: policy ${quoteString(d.new.name)} version ${d.new.version}`);
  if (isEmptyDiff(d)) {
    out.push("no differences");
    return out.join("\n") + "\n";
  }
  if (d.old.name !== d.new.name) {
    out.push(`name: ${quoteString(d.old.name)} -> ${quoteString(d.new.name)}`);
  }
  if (d.old.version !== d.new.version) out.push(`version: ${d.old.version} -> ${d.new.version}`);
  if (d.includes.added.length + d.includes.removed.length > 0) {
    out.push("includes:");
    for (const f of d.includes.added) out.push(`  + ${f}`);
    for (const f of d.includes.removed) out.push(`  - ${f}`);
  }
  const merged = <A, R, C>(
    added: A[],
    removed: R[],
    changed: C[],
    name: (x: A | R | C) => string,
  ): { mark: "+" | "-" | "~"; item: A | R | C }[] =>
    [
      ...added.map((item) => ({ mark: "+" as const, item })),
      ...removed.map((item) => ({ mark: "-" as const, item })),
      ...changed.map((item) => ({ mark: "~" as const, item })),
    ].sort((x, y) => (name(x.item) < name(y.item) ? -1 : name(x.item) > name(y.item) ? 1 : 0));
  const p = d.params;
  if (p.added.length + p.removed.length + p.changed.length > 0) {
    out.push("params:");
    for (const { mark, item } of merged(p.added, p.removed, p.changed, (x) => x.name)) {
      if (mark === "+") {
        const s = item as ParamSummary;
        out.push(`  + ${s.name} (${s.type}): ${s.values} at ${s.location}`);
      } else if (mark === "-") {
        const s = item as ParamSummary;
        out.push(`  - ${s.name} (${s.type}): was ${s.values}`);
      } else {
        const c = item as ParamChange;
        out.push(`  ~ ${c.name}${c.use === undefined ? "" : ` (${c.use})`}`);
        if (c.type !== undefined) out.push(`      type: ${c.type.old} -> ${c.type.new}`);
        if (c.description !== undefined) {
          out.push(
            `      description: ${quoteString(c.description.old)} -> ${
              quoteString(c.description.new)
            }`,
          );
        }
        for (const v of c.values) {
          const effect = v.effect === undefined ? "" : ` (${v.effect})`;
          const where = v.networks.length === NETWORKS.length
            ? "every network"
            : v.networks.join(", ");
          out.push(`      ${where}: ${v.old} -> ${v.new}${effect}`);
        }
      }
    }
  }
  const r = d.rules;
  if (r.added.length + r.removed.length + r.changed.length > 0) {
    out.push("rules:");
    for (const { mark, item } of merged(r.added, r.removed, r.changed, (x) => x.id)) {
      if (mark !== "~") {
        const s = item as RuleSummary;
        out.push(`  ${mark} ${s.id} (${s.severity}) at ${s.location}`);
        continue;
      }
      const c = item as RuleChange;
      out.push(`  ~ ${c.id} at ${c.location}`);
      if (c.severity !== undefined) {
        out.push(`      severity: ${c.severity.old} -> ${c.severity.new}`);
      }
      if (c.action !== undefined) out.push(`      violations: ${c.action.old} -> ${c.action.new}`);
      if (c.description !== undefined) {
        out.push(`      description:`);
        out.push(`        - ${c.description.old}`);
        out.push(`        + ${c.description.new}`);
      }
      const list = (label: string, x: { added: string[]; removed: string[] }): void => {
        out.push(
          `      ${label}: ${
            [...x.added.map((a) => `+ ${a}`), ...x.removed.map((a) => `- ${a}`)].join(", ")
          }`,
        );
      };
      if (c.aliases !== undefined) list("aliases", c.aliases);
      if (c.kinds !== undefined) list("kinds", c.kinds);
      for (const cl of c.clauses ?? []) {
        const what = cl.change === "changed"
          ? `changed (${(cl.parts ?? []).join(", ")})`
          : cl.change;
        out.push(`      clause ${cl.index} ${what}:`);
        if (cl.old !== undefined) out.push(`        - ${cl.old}`);
        if (cl.new !== undefined) out.push(`        + ${cl.new}`);
      }
      if (c.examples !== undefined) {
        out.push(
          `      examples: ${
            [
              ...c.examples.added.map((x) => `+ ${x}`),
              ...c.examples.removed.map((x) => `- ${x}`),
              ...c.examples.changed.map((x) => `~ ${x}`),
            ].join(", ")
          }`,
        );
      }
    }
  }
  const f = d.filters;
  if (f.added.length + f.removed.length + f.changed.length > 0) {
    out.push("filters:");
    for (const { mark, item } of merged(f.added, f.removed, f.changed, (x) => x.pattern)) {
      if (mark === "~") {
        const c = item as PolicyDiff["filters"]["changed"][number];
        out.push(`  ~ ${c.pattern}: ${c.old} -> ${c.new}`);
      } else {
        const s = item as FilterSummary;
        out.push(`  ${mark} ${s.pattern} ${s.action}${mark === "+" ? ` at ${s.location}` : ""}`);
      }
    }
  }
  return out.join("\n") + "\n";
}
