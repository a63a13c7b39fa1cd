/**
 * The loaded policy as data: parameters with their per-network values and override history,
 * rules with their clauses, examples and what they read, filters in consultation order. This is
 * what `policy explain`, `policy diff` and `info` show; the engine compiles it.
 *
 * @module
 */
import type { Example, Expr, Location, ParamDecl, PolicyFile, RuleDecl } from "./ast.ts";
import type { Reads } from "./checker.ts";
import type { Type, Unit } from "./units.ts";
import type { JsonValue } from "./values.ts";
import type { Network } from "../core/bitcoin/network.ts";

export type { Network } from "../core/bitcoin/network.ts";
export type { Reads } from "./checker.ts";

/** One assignment of a parameter: its definition or an override by an including file. */
export interface ParamAssignment {
  /** `definition` (the first) or `override`. */
  kind: "definition" | "override";
  /** Where it is written. */
  location: Location;
  /** The values it set, per network (JSON-safe). Networks it left alone are absent. */
  values: Partial<Record<Network, JsonValue>>;
}

/** A parameter. */
export interface ParamInfo {
  /** The name (read as `param.NAME`). */
  name: string;
  /** The description ("" if none was written). */
  description: string;
  /** The type. */
  type: Type;
  /** The type's readable name (`per-kw`, `bool`, `list of string`). */
  typeName: string;
  /** The unit of a number, null for a plain number or a non-number. */
  unit: Unit | null;
  /** The runtime value on the policy's network (bigint for numbers). */
  value: unknown;
  /** Every network's value (JSON-safe: numbers as decimal strings). */
  values: Record<Network, JsonValue>;
  /** Where it is defined. */
  location: Location;
  /** Its definition and every override, in application order. */
  history: ParamAssignment[];
  /** The defining declaration. */
  decl: ParamDecl;
}

/** A `limit sum AMOUNT over WINDOW <= CAP` clause's parts. */
export interface LimitInfo {
  /** The per-request amount. */
  amount: Expr;
  /** The window in seconds. */
  windowSeconds: number;
  /** The cap. */
  cap: Expr;
  /** The amount's unit (null: plain number). */
  unit: Unit | null;
}

/** One clause of a rule. */
export interface ClauseInfo {
  /** Its position in the rule (0-based). */
  index: number;
  /** The kinds it is `on`. */
  kinds: string[];
  /** The `when` guard. */
  guard?: Expr;
  /** `require` or `limit`. */
  check: "require" | "limit";
  /** The condition of a `require`. */
  condition?: Expr;
  /** The parts of a `limit`. */
  limit?: LimitInfo;
  /** Where the clause starts. */
  location: Location;
  /** The clause's source text. */
  text: string;
  /** What it reads. */
  reads: Reads;
}

/** What happens to a rule's violations: the first matching filter, or the default `error`. */
export interface Severity {
  /** `error` refuses; `warn` reports a warning and allows. */
  action: "warn" | "error";
  /** The deciding filter's pattern and location, if a filter matched. */
  filter?: { pattern: string; location: Location };
}

/** A rule. */
export interface RuleInfo {
  /** The id. */
  id: string;
  /** Alias ids (filters may use them). */
  aliases: string[];
  /** A mandatory rule's violation always refuses (unless demoted in development). */
  mandatory: boolean;
  /** A temporary rule describes a condition that may clear by itself. */
  temporary: boolean;
  /** The description. */
  description: string;
  /** Where the rule starts. */
  location: Location;
  /** The rule's source text. */
  text: string;
  /** The clauses. */
  clauses: ClauseInfo[];
  /** The examples (syntax). */
  examples: Example[];
  /** Every kind any clause is `on`, in first-mention order. */
  kinds: string[];
  /** Everything the rule reads (union of its clauses). */
  reads: Reads;
  /** What its violations become. */
  severity: Severity;
  /** The declaration. */
  decl: RuleDecl;
}

/** A filter, in consultation order. */
export interface FilterInfo {
  /** The pattern as written (`policy-commitment-*`). */
  pattern: string;
  /** What it does. */
  action: "warn" | "error";
  /** Where it is. */
  location: Location;
  /** The rules it matches (ids), whether or not an earlier filter decided them. */
  matches: string[];
}

/** A mandatory rule demoted to a warning (only with `devAllowMandatoryDemotion`). */
export interface Demotion {
  /** The rule id. */
  rule: string;
  /** The filter's pattern. */
  pattern: string;
  /** The filter's location. */
  filter: Location;
}

/** A policy as loaded for one network. */
export interface PolicyModel {
  /** The policy's name (from the top file's header). */
  name: string;
  /** The top file's revision number. */
  version: number;
  /** The network the parameter values are for. */
  network: Network;
  /** The top file's path. */
  file: string;
  /** Every file, in load order (included files first), with syntax and comments. */
  files: PolicyFile[];
  /** Parameters in definition order. */
  params: ParamInfo[];
  /** Per-network runtime values of every parameter (for examples on other networks). */
  paramValues: Record<Network, unknown[]>;
  /** Rules in definition order. */
  rules: RuleInfo[];
  /** Filters in consultation order. */
  filters: FilterInfo[];
  /** Mandatory rules demoted by a filter (development flag). */
  demotions: Demotion[];
}
