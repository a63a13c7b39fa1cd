/**
 * Loads a policy file and its includes into a {@link PolicyModel} (policy/README.md, "Includes and
 * overriding", "Severity and filters"), collecting every diagnostic it can:
 *
 * - includes are resolved relative to the including file and loaded before the including file's
 *   own items (depth first); a file included twice (a diamond) is loaded once; a cycle or a
 *   missing file is an error at the `include`;
 * - a `param` naming an existing parameter defined in an included file overrides it;
 * - rule ids and aliases are unique across all files;
 * - filters are consulted in order: the including file's own, then each included file's;
 * - then every clause is type-checked and every example's facts are checked.
 *
 * @module
 */
import type { Expr, FilterDecl, ParamDecl, PolicyFile, RuleDecl, Span } from "./ast.ts";
import { locationOf, sourceText } from "./ast.ts";
import { checkClause, type ParamType, type Reads } from "./checker.ts";
import { type Constant, constant } from "./literals.ts";
import { Diagnostics, didYouMean } from "./diagnostics.ts";
import { type PreparedExample, prepareExamples } from "./examples.ts";
import type {
  ClauseInfo,
  Demotion,
  FilterInfo,
  ParamInfo,
  PolicyModel,
  RuleInfo,
  Severity,
} from "./model.ts";
import { parseInto } from "./parser.ts";
import type { FactRegistry } from "./registry.ts";
import { sameType, type Type, typeName, unify } from "./units.ts";
import { jsonSafe } from "./values.ts";
import { type Network, NETWORKS } from "../core/bitcoin/network.ts";

/** How to load a policy. */
export interface LoadOptions {
  /** The request kinds and sets the core registered. */
  registry: FactRegistry;
  /** The network whose parameter values apply. */
  network: Network;
  /** Reads a file (default `Deno.readTextFileSync`). Paths are as resolved from includes. */
  readFile?: (path: string) => string;
  /** Allow filters to demote mandatory rules (`--dev-allow-mandatory-demotion`). */
  devAllowMandatoryDemotion?: boolean;
}

/** A loaded model plus its prepared examples, or the diagnostics that prevented it. */
export interface LoadResult {
  /** The model (always built, possibly incomplete when there are diagnostics). */
  model: PolicyModel;
  /** The examples, checked and ready to run. */
  examples: PreparedExample[];
  /** Every problem found. */
  diagnostics: Diagnostics;
}

/** Joins a relative include path to the including file's directory and normalises `.`/`..`. */
export function resolveInclude(from: string, path: string): string {
  const base = path.startsWith("/") ? [] : from.split("/").slice(0, -1);
  const parts = [...base, ...path.split("/")];
  const out: string[] = [];
  for (const p of parts) {
    if (p === "." || (p === "" && out.length > 0)) continue;
    if (p === ".." && out.length > 0 && out[out.length - 1] !== "..") {
      if (out[out.length - 1] !== "") out.pop();
    } else out.push(p);
  }
  return out.join("/");
}

interface ParamState {
  info: ParamInfo;
  file: string;
  runtime: Record<Network, unknown>;
  /** Where each file assigned it (a file defines or overrides a parameter once). */
  assigned: Map<string, Span>;
}

interface FileState {
  tree: PolicyFile;
  /** Files this one includes, transitively (resolved paths). */
  closure: Set<string>;
  /** Filters in consultation order: own, then each include's. */
  filters: FilterDecl[];
}

class Loader {
  readonly diagnostics = new Diagnostics();
  readonly files = new Map<string, FileState>();
  readonly order: PolicyFile[] = [];
  readonly params = new Map<string, ParamState>();
  readonly rules = new Map<string, { decl: RuleDecl; file: PolicyFile }>();
  readonly ids = new Map<string, { rule: string; span: Span }>();
  readonly readFile: (path: string) => string;

  constructor(readonly options: LoadOptions) {
    this.readFile = options.readFile ?? ((p) => Deno.readTextFileSync(p));
  }

  load(path: string, stack: string[], site?: Span): FileState | undefined {
    const loaded = this.files.get(path);
    if (loaded !== undefined) return loaded;
    if (stack.includes(path)) {
      const cycle = [...stack.slice(stack.indexOf(path)), path].join(" -> ");
      this.diagnostics.error(site as Span, `include cycle: ${cycle}`);
      return undefined;
    }
    let source: string;
    try {
      source = this.readFile(path);
    } catch (e) {
      const why = e instanceof Error ? e.name : "error";
      if (site === undefined) {
        this.diagnostics.add({
          file: path,
          line: 1,
          column: 1,
          message: `cannot read ${path} (${why})`,
        });
      } else this.diagnostics.error(site, `cannot read included file ${path} (${why})`);
      return undefined;
    }
    const tree = parseInto(source, path, this.diagnostics);
    if (tree === undefined) return undefined;
    const state: FileState = { tree, closure: new Set(), filters: [] };
    const included: FileState[] = [];
    for (const item of tree.items) {
      if (item.type !== "Include") continue;
      const target = resolveInclude(path, item.path.value);
      const child = this.load(target, [...stack, path], item.path.span);
      if (child === undefined) continue;
      state.closure.add(target);
      for (const c of child.closure) state.closure.add(c);
      included.push(child);
    }
    this.files.set(path, state);
    this.order.push(tree);
    for (const item of tree.items) {
      if (item.type === "Param") this.param(item, tree);
      else if (item.type === "Rule") this.rule(item, tree);
      else if (item.type === "Filter") state.filters.push(item);
    }
    const seen = new Set(state.filters);
    for (const child of included) {
      for (const f of child.filters) {
        if (!seen.has(f)) state.filters.push(f);
        seen.add(f);
      }
    }
    return state;
  }

  /** The value a declaration gives each network (explicit name > `test` group > default). */
  paramValues(decl: ParamDecl): Map<Network, { c: Constant; span: Span }> | undefined {
    const out = new Map<Network, { c: Constant; span: Span }>();
    let ok = true;
    const evaluate = (e: Expr): Constant | undefined => {
      const c = constant(e, this.diagnostics);
      if (c === undefined) ok = false;
      return c;
    };
    const base = decl.value === undefined ? undefined : evaluate(decl.value);
    if (base !== undefined) { for (const n of NETWORKS) out.set(n, { c: base, span: decl.span }); }
    const explicit = new Set<string>();
    const group: { c: Constant; span: Span }[] = [];
    const named: [Network, { c: Constant; span: Span }][] = [];
    for (const on of decl.networks) {
      const c = evaluate(on.value);
      for (const n of on.networks) {
        if (explicit.has(n.text)) {
          this.diagnostics.error(
            n.span,
            `network ${n.text} is listed twice for param ${decl.name.text}`,
          );
          ok = false;
        }
        explicit.add(n.text);
        if (c === undefined) continue;
        if (n.text === "test") group.push({ c, span: on.span });
        else if ((NETWORKS as readonly string[]).includes(n.text)) {
          named.push([n.text as Network, { c, span: on.span }]);
        } else {
          this.diagnostics.error(
            n.span,
            `unknown network ${n.text}`,
            didYouMean(n.text, [...NETWORKS, "test"]) ??
              `the networks are ${NETWORKS.join(", ")}, and the group test`,
          );
          ok = false;
        }
      }
    }
    for (const g of group) for (const n of NETWORKS) if (n !== "bitcoin") out.set(n, g);
    for (const [n, v] of named) out.set(n, v);
    if (!ok) return undefined;
    let type: Type | undefined;
    for (const { c, span } of out.values()) {
      if (type !== undefined && !sameType(type, c.type)) {
        this.diagnostics.error(
          span,
          `param ${decl.name.text} has values of different types: ${typeName(type)} and ${
            typeName(c.type)
          }`,
        );
        return undefined;
      }
      type = type === undefined ? c.type : unify(type, c.type);
    }
    return out;
  }

  param(decl: ParamDecl, file: PolicyFile): void {
    const name = decl.name.text;
    if (decl.value === undefined && decl.networks.length === 0) {
      this.diagnostics.error(
        decl.name.span,
        `param ${name} gives no value`,
        `write "param ${name} = VALUE" or "param ${name} on NETWORK = VALUE"`,
      );
      return;
    }
    const values = this.paramValues(decl);
    const existing = this.params.get(name);
    if (values === undefined) return;
    const assignment = Object.fromEntries(
      [...values].map(([n, v]) => [n, jsonSafe(v.c.value)]),
    ) as Partial<Record<Network, ReturnType<typeof jsonSafe>>>;
    const location = locationOf(decl.span);
    if (existing === undefined) {
      const missing = NETWORKS.filter((n) => !values.has(n));
      if (missing.length > 0) {
        this.diagnostics.error(
          decl.name.span,
          `param ${name} needs a value for every network (missing: ${missing.join(", ")})`,
          `write "param ${name} = VALUE", then "on NETWORK = VALUE" for exceptions`,
        );
        return;
      }
      const all = NETWORKS.map((n) => values.get(n)?.c as Constant);
      const type = all.reduce<Type>((t, c) => unify(t, c.type), all[0].type);
      const runtime = Object.fromEntries(
        NETWORKS.map((n, i) => [n, all[i].value]),
      ) as Record<Network, unknown>;
      const info: ParamInfo = {
        name,
        description: decl.description?.value ?? "",
        type,
        typeName: typeName(type),
        unit: type.kind === "int" ? type.unit : null,
        value: runtime[this.options.network],
        values: Object.fromEntries(
          NETWORKS.map((n) => [n, jsonSafe(runtime[n])]),
        ) as ParamInfo["values"],
        location,
        history: [{ kind: "definition", location, values: assignment }],
        decl,
      };
      this.params.set(name, {
        info,
        file: file.path,
        runtime,
        assigned: new Map([[file.path, decl.span]]),
      });
      return;
    }
    const state = this.files.get(file.path);
    const where =
      `${existing.info.location.file}:${existing.info.location.line}:${existing.info.location.column}`;
    const before = existing.assigned.get(file.path);
    if (before !== undefined) {
      this.diagnostics.error(
        decl.name.span,
        `param ${name} is already set in this file at ${before.file}:${before.line}:${before.column}`,
      );
      return;
    }
    if (state !== undefined && !state.closure.has(existing.file)) {
      this.diagnostics.error(
        decl.name.span,
        `param ${name} is already defined at ${where}, in a file this one does not include`,
        "only an including file can override a parameter",
      );
      return;
    }
    for (const v of values.values()) {
      if (!sameType(existing.info.type, v.c.type)) {
        this.diagnostics.error(
          v.span,
          `param ${name} is ${existing.info.typeName}; an override cannot make it ${
            typeName(v.c.type)
          }`,
        );
        return;
      }
    }
    existing.assigned.set(file.path, decl.span);
    for (const [n, v] of values) {
      existing.runtime[n] = v.c.value;
      existing.info.type = unify(existing.info.type, v.c.type); // `[]` learns its element type
    }
    existing.info.typeName = typeName(existing.info.type);
    const info = existing.info;
    info.value = existing.runtime[this.options.network];
    info.values = Object.fromEntries(
      NETWORKS.map((n) => [n, jsonSafe(existing.runtime[n])]),
    ) as ParamInfo["values"];
    if (decl.description !== undefined) info.description = decl.description.value;
    info.history.push({ kind: "override", location, values: assignment });
  }

  rule(decl: RuleDecl, file: PolicyFile): void {
    const id = decl.id.text;
    for (const n of [decl.id, ...decl.aliases]) {
      const taken = this.ids.get(n.text);
      if (taken !== undefined) {
        const what = taken.rule === n.text ? "a rule" : `an alias of rule ${taken.rule}`;
        this.diagnostics.error(
          n.span,
          `${
            n === decl.id ? "rule" : "alias"
          } ${n.text} is already defined (as ${what}) at ${taken.span.file}:${taken.span.line}:${taken.span.column}`,
          n === decl.id
            ? "rules are never replaced: tighten with a new rule or a parameter"
            : undefined,
        );
        if (n === decl.id) return;
        continue;
      }
      this.ids.set(n.text, { rule: id, span: n.span });
    }
    const seen = new Set<string>();
    for (const m of decl.modifiers) {
      if (seen.has(m.text)) this.diagnostics.error(m.span, `${m.text} is written twice`);
      seen.add(m.text);
    }
    this.rules.set(id, { decl, file });
  }
}

function mergeReads(all: Reads[]): Reads {
  const facts = new Set<string>();
  const params = new Set<string>();
  const sets = new Set<string>();
  for (const r of all) {
    r.facts.forEach((f) => facts.add(f));
    r.params.forEach((p) => params.add(p));
    r.sets.forEach((s) => sets.add(s));
  }
  return { facts: [...facts], params: [...params], sets: [...sets] };
}

function buildRule(
  loader: Loader,
  decl: RuleDecl,
  file: PolicyFile,
  paramTypes: ReadonlyMap<string, ParamType>,
): RuleInfo {
  const { registry } = loader.options;
  const kinds: string[] = [];
  const clauses: ClauseInfo[] = decl.clauses.map((clause, index) => {
    const seen = new Set<string>();
    for (const k of clause.kinds) {
      if (seen.has(k.text)) loader.diagnostics.error(k.span, `kind ${k.text} is listed twice`);
      seen.add(k.text);
      if (registry.kind(k.text) === undefined) {
        loader.diagnostics.error(
          k.span,
          `unknown kind ${k.text}`,
          didYouMean(k.text, registry.kinds().map((x) => x.name)),
        );
      } else if (!kinds.includes(k.text)) kinds.push(k.text);
    }
    const checked = checkClause(clause, {
      registry,
      params: paramTypes,
      diagnostics: loader.diagnostics,
    });
    const info: ClauseInfo = {
      index,
      kinds: clause.kinds.map((k) => k.text),
      check: clause.body.type === "Require" ? "require" : "limit",
      location: locationOf(clause.span),
      text: sourceText(file.source, clause.span),
      reads: checked.reads,
    };
    if (clause.guard !== undefined) info.guard = clause.guard;
    if (clause.body.type === "Require") info.condition = clause.body.condition;
    else {
      const t = checked.limitType;
      info.limit = {
        amount: clause.body.amount,
        windowSeconds: Number(clause.body.window.value),
        cap: clause.body.cap,
        unit: t !== undefined && t.kind === "int" ? t.unit : null,
      };
    }
    return info;
  });
  return {
    id: decl.id.text,
    aliases: decl.aliases.map((a) => a.text),
    mandatory: decl.modifiers.some((m) => m.text === "mandatory"),
    temporary: decl.modifiers.some((m) => m.text === "temporary"),
    description: decl.description.value,
    location: locationOf(decl.span),
    text: sourceText(file.source, decl.span),
    clauses,
    examples: decl.examples,
    kinds,
    reads: mergeReads(clauses.map((c) => c.reads)),
    severity: { action: "error" },
    decl,
  };
}

/** Suggests a prefix of as many dash-separated words as `prefix` has, taken from the rule ids. */
function prefixHint(prefix: string, names: string[]): string | undefined {
  const words = prefix.replace(/-$/, "").split("-").length;
  const tail = prefix.endsWith("-") ? "-" : "";
  const prefixes = names.map((n) => n.split("-").slice(0, words).join("-") + tail);
  const near = didYouMean(prefix, new Set(prefixes));
  return near?.replace(/"\?$/, '*"?');
}

/** Resolves filters against the rules; sets each rule's severity; returns the demotions. */
function applyFilters(
  loader: Loader,
  decls: FilterDecl[],
  rules: RuleInfo[],
): { filters: FilterInfo[]; demotions: Demotion[] } {
  const filters: FilterInfo[] = [];
  const decided = new Set<string>();
  const demotions: Demotion[] = [];
  const names = rules.flatMap((r) => [r.id, ...r.aliases]);
  for (const decl of decls) {
    const pattern = decl.pattern.text;
    const prefix = pattern.endsWith("*") ? pattern.slice(0, -1) : undefined;
    if (prefix === "") {
      loader.diagnostics.error(
        decl.pattern.span,
        "a filter prefix cannot be empty (it would match every rule)",
        'write a prefix such as "policy-commitment-*"',
      );
      continue;
    }
    const matches = rules.filter((r) =>
      [r.id, ...r.aliases].some((n) => prefix === undefined ? n === pattern : n.startsWith(prefix))
    );
    if (matches.length === 0) {
      const what = prefix === undefined ? `unknown rule ${pattern}` : `no rule matches ${pattern}`;
      loader.diagnostics.error(
        decl.pattern.span,
        `filter names ${what}`,
        prefix === undefined ? didYouMean(pattern, names) : prefixHint(prefix, names),
      );
      continue;
    }
    const location = locationOf(decl.span);
    filters.push({ pattern, action: decl.action, location, matches: matches.map((r) => r.id) });
    const demoted: string[] = [];
    for (const r of matches) {
      if (decided.has(r.id)) continue;
      decided.add(r.id);
      const severity: Severity = { action: decl.action, filter: { pattern, location } };
      if (r.mandatory && decl.action === "warn") {
        if (!loader.options.devAllowMandatoryDemotion) {
          demoted.push(r.id);
          continue;
        }
        demotions.push({ rule: r.id, pattern, filter: location });
      }
      r.severity = severity;
    }
    if (demoted.length > 0) {
      loader.diagnostics.error(
        decl.pattern.span,
        `filter would demote mandatory rule${demoted.length > 1 ? "s" : ""} ${demoted.join(", ")}`,
        "mandatory rules always refuse; only --dev-allow-mandatory-demotion lets a filter demote them",
      );
    }
  }
  return { filters, demotions };
}

/** Loads `path` and its includes; never throws for policy problems (see {@link LoadResult}). */
export function loadModel(path: string, options: LoadOptions): LoadResult {
  const loader = new Loader(options);
  const top = loader.load(path, []);
  const paramTypes = new Map([...loader.params].map(([n, p]) => [n, { type: p.info.type }]));
  const rules = [...loader.rules.values()].map(({ decl, file }) =>
    buildRule(loader, decl, file, paramTypes)
  );
  const { filters, demotions } = applyFilters(loader, top?.filters ?? [], rules);
  // In a file that builds on others (a site policy), a parameter no rule reads is a mistake: a
  // misspelled override would otherwise define a new, unused parameter and change nothing.
  const read = new Set(rules.flatMap((r) => r.reads.params));
  for (const [name, state] of loader.params) {
    if (read.has(name) || (loader.files.get(state.file)?.closure.size ?? 0) === 0) continue;
    const span = state.info.decl.name.span;
    loader.diagnostics.error(
      span,
      `param ${name} is read by no rule`,
      didYouMean(name, read) ?? "use it in a rule's condition or limit, or remove it",
    );
  }
  const params = [...loader.params.values()];
  const paramValues = Object.fromEntries(
    NETWORKS.map((n) => [n, params.map((p) => p.runtime[n])]),
  ) as Record<Network, unknown[]>;
  const examples = prepareExamples(rules, {
    registry: options.registry,
    params: paramTypes,
    diagnostics: loader.diagnostics,
  });
  const model: PolicyModel = {
    name: top?.tree.name.value ?? "",
    version: Number(top?.tree.version.value ?? 0n),
    network: options.network,
    file: path,
    files: loader.order,
    params: params.map((p) => p.info),
    paramValues,
    rules,
    filters,
    demotions,
  };
  return { model, examples, diagnostics: loader.diagnostics };
}
