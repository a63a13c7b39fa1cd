/**
 * The policy engine: {@link loadPolicy} loads, checks and compiles a policy for one network;
 * {@link Policy.evaluate} decides one request from its facts (policy/README.md, "Decisions").
 *
 * Evaluation runs every clause of the request's kind (indexed at load, in rule order) and reports
 * every violated clause, never stopping at the first. A violated clause's facts come from a trace
 * of the reference interpreter (the facts and parameters it read). An evaluation failure (a missing
 * fact, division by zero, a set not supplied) violates the clause: the engine fails closed.
 * Filters then turn violations of optional rules into warnings (first matching filter; default
 * error). A decision is JSON-safe, ready for the audit log.
 *
 * @module
 */
import type { Expr, Location, PolicyFile, Span } from "./ast.ts";
import { type Compiled, compileExpr, type EvalContext } from "./compiler.ts";
import { PolicyError } from "./diagnostics.ts";
import {
  EXAMPLE_NOW,
  type ExampleResult,
  type PreparedExample,
  type RuleOutcome,
  runExamples,
} from "./examples.ts";
import { interpret, type InterpretEnv, trace } from "./interpreter.ts";
import { limitKey, LimitState, LimitStateError, type LimitUpdate } from "./limits.ts";
import { loadModel, type LoadOptions } from "./loader.ts";
import type {
  ClauseInfo,
  Demotion,
  FilterInfo,
  Network,
  ParamInfo,
  PolicyModel,
  RuleInfo,
} from "./model.ts";
import type { FactRegistry } from "./registry.ts";
import {
  EvalError,
  type Facts,
  type JsonValue,
  MissingFactError,
  type PolicySet,
} from "./values.ts";
import type { Store, StoreWrite } from "../core/store/types.ts";

/** Options of one evaluation. */
export interface EvaluateOptions {
  /** The request's time in seconds (limit windows). */
  now: number;
  /** The sets the policy may ask (`wallet`, `allowlist`, ...). */
  sets?: Readonly<Record<string, PolicySet>>;
}

/** One violated clause. */
export interface Violation {
  /** The rule id. */
  rule: string;
  /** The rule's description. */
  description: string;
  /** Whether the rule is mandatory. */
  mandatory: boolean;
  /** Whether the rule is temporary. */
  temporary: boolean;
  /** The violated clause's source location. */
  location: Location;
  /** The clause's index in its rule. */
  clause: number;
  /** The request kind. */
  kind: string;
  /**
   * What the clause read (`commitment.htlcs[3].amount_sat`, `param.max_htlcs`, and for a limit
   * `limit.amount`, `limit.window_total`, `limit.cap`, `limit.window_seconds`), JSON-safe.
   */
  facts: Record<string, JsonValue>;
  /** Why evaluation failed, when it did (the clause is then violated). */
  error?: string;
  /** The filter that demoted this violation to a warning. */
  demotedBy?: Location;
}

/** The decision on one request. */
export interface Decision {
  /** The request kind. */
  kind: string;
  /** True when no violation refuses. */
  allowed: boolean;
  /** True when refused and every refusing violation is from a temporary rule (retryable). */
  temporary: boolean;
  /** Refusing violations. */
  violations: Violation[];
  /** Violations demoted to warnings by a filter. */
  warnings: Violation[];
  /** Amounts to add to limit windows (empty when refused). */
  limitUpdates: LimitUpdate[];
}

/** A request could not be evaluated at all (an unknown kind). */
export class PolicyEvaluationError extends Error {
  /**
   * Creates the error.
   * @param message what is wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "PolicyEvaluationError";
  }
}

interface CompiledClause {
  rule: RuleInfo;
  clause: ClauseInfo;
  guard?: Compiled;
  condition?: Compiled;
  amount?: Compiled;
  cap?: Compiled;
  key?: string;
}

/** The result of running one clause. */
type ClauseResult =
  | { ok: true; amount?: bigint }
  | {
    ok: false;
    error?: string;
    missing?: string;
    amount?: bigint;
    limit?: { total: bigint; cap: bigint };
  };

/** How clauses are evaluated: compiled closures or the reference interpreter. */
type Evaluator = (
  cc: CompiledClause,
  facts: Facts,
  network: Network,
  sets: EvaluateOptions["sets"],
) => {
  guard: boolean;
  condition?: boolean;
  amount?: bigint;
  cap?: bigint;
};

/** A loaded, checked and compiled policy for one network. */
export class Policy {
  readonly #model: PolicyModel;
  readonly #examples: PreparedExample[];
  readonly #registry: FactRegistry;
  readonly #byKind = new Map<string, CompiledClause[]>();
  readonly #limits: LimitState;
  readonly #paramIndex: Map<string, number>;
  readonly #sources = new Map<string, string>();
  readonly #setNames: ReadonlySet<string>;
  readonly #paramsByName = new Map<Network, ReadonlyMap<string, unknown>>();

  /**
   * Compiles a loaded model (use {@link loadPolicy}).
   * @param model the model, free of diagnostics
   * @param options the prepared examples and the registry it was checked against
   */
  constructor(
    model: PolicyModel,
    options: { examples: PreparedExample[]; registry: FactRegistry },
  ) {
    this.#model = model;
    this.#examples = options.examples;
    this.#registry = options.registry;
    for (const f of model.files) this.#sources.set(f.path, f.source);
    this.#paramIndex = new Map(model.params.map((p, i) => [p.name, i]));
    this.#setNames = new Set(options.registry.sets().map((s) => s.name));
    const scope = { params: this.#paramIndex, sets: this.#setNames };
    const limits: { key: string; windowSeconds: number }[] = [];
    for (const rule of model.rules) {
      for (const clause of rule.clauses) {
        const cc: CompiledClause = { rule, clause };
        if (clause.guard !== undefined) cc.guard = compileExpr(clause.guard, scope);
        if (clause.condition !== undefined) cc.condition = compileExpr(clause.condition, scope);
        if (clause.limit !== undefined) {
          cc.amount = compileExpr(clause.limit.amount, scope);
          cc.cap = compileExpr(clause.limit.cap, scope);
          cc.key = limitKey(rule.id, clause.index);
          limits.push({ key: cc.key, windowSeconds: clause.limit.windowSeconds });
        }
        for (const kind of clause.kinds) {
          const list = this.#byKind.get(kind) ?? [];
          list.push(cc);
          this.#byKind.set(kind, list);
        }
      }
    }
    this.#limits = new LimitState(limits);
  }

  /** The policy's name. */
  get name(): string {
    return this.#model.name;
  }

  /** The top file's revision number. */
  get version(): number {
    return this.#model.version;
  }

  /** The network the parameter values are for. */
  get network(): Network {
    return this.#model.network;
  }

  /** The loaded model (files with syntax and comments, parameters, rules, filters). */
  get model(): PolicyModel {
    return this.#model;
  }

  /** Every file, included files first (syntax trees with comments, for the formatter). */
  get files(): readonly PolicyFile[] {
    return this.#model.files;
  }

  /** Rules in definition order. */
  get rules(): readonly RuleInfo[] {
    return this.#model.rules;
  }

  /** Parameters in definition order. */
  get params(): readonly ParamInfo[] {
    return this.#model.params;
  }

  /** Filters in consultation order. */
  get filters(): readonly FilterInfo[] {
    return this.#model.filters;
  }

  /** Mandatory rules demoted by a filter under the development flag (log them loudly). */
  get mandatoryDemotions(): readonly Demotion[] {
    return this.#model.demotions;
  }

  /** The rule with this id or alias. */
  rule(idOrAlias: string): RuleInfo | undefined {
    return this.#model.rules.find((r) => r.id === idOrAlias || r.aliases.includes(idOrAlias));
  }

  /** The parameter with this name. */
  param(name: string): ParamInfo | undefined {
    return this.#model.params.find((p) => p.name === name);
  }

  /** The source text of a span of one of the policy's files. */
  text(span: Span): string {
    return (this.#sources.get(span.file) ?? "").slice(span.start, span.end);
  }

  #interpretEnv(facts: Facts, network: Network, sets: EvaluateOptions["sets"]): InterpretEnv {
    let params = this.#paramsByName.get(network);
    if (params === undefined) {
      const values = this.#model.paramValues[network];
      params = new Map(this.#model.params.map((p, i) => [p.name, values[i]]));
      this.#paramsByName.set(network, params);
    }
    return { facts, params, sets: sets ?? {}, setNames: this.#setNames, text: this.#text };
  }

  readonly #text = (span: Span): string => this.text(span);

  readonly #compiled: Evaluator = (cc, facts, network, sets) => {
    const ctx: EvalContext = {
      params: this.#model.paramValues[network],
      sets: sets ?? {},
      vars: [],
    };
    if (cc.guard !== undefined && cc.guard(facts, ctx) !== true) return { guard: false };
    if (cc.condition !== undefined) {
      return { guard: true, condition: cc.condition(facts, ctx) === true };
    }
    return {
      guard: true,
      amount: (cc.amount as Compiled)(facts, ctx) as bigint,
      cap: (cc.cap as Compiled)(facts, ctx) as bigint,
    };
  };

  readonly #interpreted: Evaluator = (cc, facts, network, sets) => {
    const env = this.#interpretEnv(facts, network, sets);
    const { clause } = cc;
    if (clause.guard !== undefined && interpret(clause.guard, env) !== true) {
      return { guard: false };
    }
    if (clause.condition !== undefined) {
      return { guard: true, condition: interpret(clause.condition, env) === true };
    }
    const limit = clause.limit;
    if (limit === undefined) throw new Error("clause without a check");
    return {
      guard: true,
      amount: interpret(limit.amount, env) as bigint,
      cap: interpret(limit.cap, env) as bigint,
    };
  };

  #run(
    cc: CompiledClause,
    facts: Facts,
    context: { network: Network; sets: EvaluateOptions["sets"]; now: number; limits: LimitState },
    evaluator: Evaluator,
  ): ClauseResult | undefined {
    let r;
    try {
      r = evaluator(cc, facts, context.network, context.sets);
    } catch (e) {
      if (e instanceof MissingFactError) return { ok: false, error: e.message, missing: e.path };
      if (e instanceof EvalError) return { ok: false, error: e.message };
      throw e;
    }
    if (!r.guard) return undefined;
    if (r.condition !== undefined) return { ok: r.condition };
    const amount = r.amount as bigint;
    const cap = r.cap as bigint;
    const total = context.limits.total(cc.key as string, context.now);
    if (amount < 0n || total + amount > cap) return { ok: false, amount, limit: { total, cap } };
    return { ok: true, amount };
  }

  /** The expressions a clause evaluates, in order: guard, then condition or amount and cap. */
  #exprs(clause: ClauseInfo): Expr[] {
    return [
      ...(clause.guard === undefined ? [] : [clause.guard]),
      ...(clause.condition === undefined ? [] : [clause.condition]),
      ...(clause.limit === undefined ? [] : [clause.limit.amount, clause.limit.cap]),
    ];
  }

  #violation(
    cc: CompiledClause,
    kind: string,
    result: ClauseResult & { ok: false },
    facts: Facts,
    context: { network: Network; sets: EvaluateOptions["sets"] },
  ): Violation {
    const { rule, clause } = cc;
    const t = trace(this.#exprs(clause), this.#interpretEnv(facts, context.network, context.sets));
    const read: Record<string, JsonValue> = t.facts;
    if (result.limit !== undefined && clause.limit !== undefined) {
      read["limit.amount"] = (result.amount ?? 0n).toString();
      read["limit.window_total"] = result.limit.total.toString();
      read["limit.cap"] = result.limit.cap.toString();
      read["limit.window_seconds"] = String(clause.limit.windowSeconds);
    }
    const v: Violation = {
      rule: rule.id,
      description: rule.description,
      mandatory: rule.mandatory,
      temporary: rule.temporary,
      location: clause.location,
      clause: clause.index,
      kind,
      facts: read,
    };
    const error = result.error ?? t.error;
    if (error !== undefined) v.error = error;
    return v;
  }

  #clauses(kind: string): CompiledClause[] {
    const clauses = this.#byKind.get(kind);
    if (clauses !== undefined) return clauses;
    if (this.#registry.kind(kind) !== undefined) return [];
    throw new PolicyEvaluationError(`unknown request kind ${kind}`);
  }

  #decide(kind: string, facts: Facts, options: EvaluateOptions, evaluator: Evaluator): Decision {
    if (!Number.isSafeInteger(options.now)) {
      throw new PolicyEvaluationError("now must be an integer number of seconds");
    }
    const context = {
      network: this.#model.network,
      sets: options.sets,
      now: options.now,
      limits: this.#limits,
    };
    const decision: Decision = {
      kind,
      allowed: true,
      temporary: false,
      violations: [],
      warnings: [],
      limitUpdates: [],
    };
    for (const cc of this.#clauses(kind)) {
      const result = this.#run(cc, facts, context, evaluator);
      if (result === undefined) continue;
      if (
        result.amount !== undefined && result.amount > 0n && cc.key !== undefined && cc.clause.limit
      ) {
        decision.limitUpdates.push({
          rule: cc.rule.id,
          clause: cc.clause.index,
          key: cc.key,
          windowSeconds: cc.clause.limit.windowSeconds,
          at: options.now,
          amount: result.amount.toString(),
        });
      }
      if (result.ok) continue;
      const v = this.#violation(cc, kind, result, facts, context);
      const severity = cc.rule.severity;
      if (severity.action === "warn" && severity.filter !== undefined) {
        v.demotedBy = severity.filter.location;
        decision.warnings.push(v);
      } else decision.violations.push(v);
    }
    decision.allowed = decision.violations.length === 0;
    decision.temporary = !decision.allowed && decision.violations.every((v) => v.temporary);
    if (!decision.allowed) decision.limitUpdates = [];
    return decision;
  }

  /**
   * Decides one request. Synchronous; reads limit windows from memory (see
   * {@link Policy.loadLimitState}); records nothing (see {@link Policy.limitWrites}).
   * @param kind the request kind
   * @param facts the facts the core computed (following the kind's schema)
   * @param options the time, and the sets
   * @throws {PolicyEvaluationError} for a kind the registry does not know, or a `now` that is
   *   not an integer
   */
  evaluate(kind: string, facts: Facts, options: EvaluateOptions): Decision {
    return this.#decide(kind, facts, options, this.#compiled);
  }

  /** {@link Policy.evaluate} with the reference interpreter instead of compiled closures. */
  evaluateInterpreted(kind: string, facts: Facts, options: EvaluateOptions): Decision {
    return this.#decide(kind, facts, options, this.#interpreted);
  }

  #limitStore: Store | undefined = undefined;

  /**
   * This policy for a signer over `store`: itself when it keeps no limit state yet or keeps that
   * store's, otherwise a copy with its own limit windows (the model is compiled again; nothing is
   * parsed), so one loaded policy can serve several signers.
   */
  forStore(store: Store): Policy {
    if (this.#limitStore === undefined || this.#limitStore === store) return this;
    return new Policy(this.#model, { examples: this.#examples, registry: this.#registry });
  }

  /**
   * Reads every limit window from the store (once, at start-up). A policy keeps the windows of
   * one store: loading it for a second store throws {@link LimitStateError}.
   */
  async loadLimitState(store: Store): Promise<void> {
    // The limit windows live in one store: a policy object serves exactly one signer, so a second
    // signer over another store (whose versions would conflict) must load its own policy.
    if (this.#limitStore !== undefined && this.#limitStore !== store) {
      throw new LimitStateError(
        "this policy already keeps limit state for another store: load one policy per signer",
      );
    }
    await this.#limits.load(store);
    this.#limitStore = store;
  }

  /** The store writes recording an allowed decision's limit amounts (add them to the same batch). */
  limitWrites(decision: Decision): StoreWrite[] {
    return this.#limits.writes(decision.limitUpdates);
  }

  /** Applies an allowed decision's limit amounts to memory, once its writes are durable. */
  commitLimits(decision: Decision): void {
    this.#limits.commit(decision.limitUpdates);
  }

  /** The sum of a limit clause's window at `now` (for `info` and tests). */
  limitTotal(rule: string, options: { clause?: number; now: number }): bigint {
    return this.#limits.total(limitKey(rule, options.clause ?? 0), options.now);
  }

  #runExample(example: PreparedExample): Map<string, RuleOutcome> {
    const network = example.network ?? "bitcoin";
    const sets: Record<string, PolicySet> = {};
    for (const [name, members] of Object.entries(example.sets)) sets[name] = new Set(members);
    const clauses = this.#clauses(example.kind);
    const limits = new LimitState(
      clauses.flatMap((cc) =>
        cc.key === undefined || cc.clause.limit === undefined
          ? []
          : [{ key: cc.key, windowSeconds: cc.clause.limit.windowSeconds }]
      ),
    );
    for (const cc of clauses) {
      if (cc.rule.id !== example.rule || cc.key === undefined) continue;
      for (const h of example.history) limits.record(cc.key, EXAMPLE_NOW + h.at, h.amount);
    }
    const context = { network, sets, now: EXAMPLE_NOW, limits };
    const outcomes = new Map<string, RuleOutcome>();
    for (const cc of clauses) {
      const id = cc.rule.id;
      const previous = outcomes.get(id);
      if (previous !== undefined && previous.verdict !== "allow") continue;
      const result = this.#run(cc, example.facts, context, this.#compiled);
      if (result === undefined || result.ok) {
        outcomes.set(id, { verdict: "allow" });
      } else if (result.missing !== undefined) {
        const t = trace(this.#exprs(cc.clause), this.#interpretEnv(example.facts, network, sets));
        outcomes.set(id, { verdict: "missing", path: t.missing ?? result.missing });
      } else {
        const v = this.#violation(cc, example.kind, result, example.facts, context);
        const outcome: RuleOutcome = { verdict: "refuse", facts: v.facts };
        if (v.error !== undefined) outcome.error = v.error;
        outcomes.set(id, outcome);
      }
    }
    for (const [id, o] of outcomes) {
      if (o.verdict === "missing" && id !== example.rule) outcomes.delete(id);
    }
    return outcomes;
  }

  /** Runs every rule example (`policy test`). */
  runExamples(): ExampleResult[] {
    return runExamples(this.#examples, (example) => this.#runExample(example));
  }
}

/**
 * Loads a policy file and its includes for one network, checks it against the registry's
 * schemas, and compiles it.
 * @param path the top policy file
 * @param options the registry, the network, an optional `readFile`, the development flag
 * @throws {PolicyError} listing every problem found
 */
export function loadPolicy(path: string, options: LoadOptions): Policy {
  const { model, examples, diagnostics } = loadModel(path, options);
  diagnostics.throwIfAny();
  if (model.files.length === 0) throw new PolicyError([]);
  return new Policy(model, { examples, registry: options.registry });
}
