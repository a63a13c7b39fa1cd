/**
 * The policy language engine (policy/README.md): parse, type-check against registered fact
 * schemas, compile, and evaluate requests into decisions; limit windows; rule examples.
 *
 * ```ts
 * const registry = new FactRegistry();
 * registry.registerKind("sign_mutual_close", z.object({ close: z.object({ fee_sat: fact.sat() }) }), {
 *   description: "sign a cooperative close",
 * });
 * const policy = loadPolicy("rules/site.policy", { registry, network: "bitcoin" });
 * await policy.loadLimitState(store);
 * const decision = policy.evaluate("sign_mutual_close", facts, { now });
 * if (decision.allowed) {
 *   await store.put([...operationWrites, ...policy.limitWrites(decision)]);
 *   policy.commitLimits(decision);
 * }
 * ```
 *
 * @module
 */
export type * from "./ast.ts";
export { locationOf, sourceText } from "./ast.ts";
export {
  type Diagnostic,
  didYouMean,
  editDistance,
  formatDiagnostic,
  nearest,
  PolicyError,
} from "./diagnostics.ts";
export { GRAMMAR_SOURCE } from "./grammar.ts";
export { LineIndex, parse, scanComments } from "./parser.ts";
export { type Type, typeName, UNITS } from "./units.ts";
export {
  fact,
  type FactPathInfo,
  FactRegistry,
  type FactSchema,
  type FieldSchema,
  type KindInfo,
  RegistryError,
  type SetInfo,
} from "./registry.ts";
export type { Reads } from "./checker.ts";
export { NETWORKS } from "../core/bitcoin/network.ts";
export type { Store, StoreEntry, StoreWrite } from "../core/store/types.ts";
export type {
  ClauseInfo,
  Demotion,
  FilterInfo,
  LimitInfo,
  Network,
  ParamAssignment,
  ParamInfo,
  PolicyModel,
  RuleInfo,
  Severity,
} from "./model.ts";
export { type LoadOptions, resolveInclude } from "./loader.ts";
export {
  EvalError,
  type Facts,
  type JsonValue,
  MissingFactError,
  type PolicySet,
  type Value,
} from "./values.ts";
export { type Compiled, compileExpr, type CompileScope, type EvalContext } from "./compiler.ts";
export { interpret, type InterpretEnv, type Trace, trace } from "./interpreter.ts";
export {
  BUCKETS_PER_WINDOW,
  bucketSeconds,
  LIMIT_KEY_PREFIX,
  limitKey,
  LimitStateError,
  type LimitUpdate,
} from "./limits.ts";
export { EXAMPLE_NOW, type ExampleResult } from "./examples.ts";
export {
  type Decision,
  type EvaluateOptions,
  loadPolicy,
  Policy,
  PolicyEvaluationError,
  type Violation,
} from "./engine.ts";
export {
  FORMAT_WIDTH,
  FormatError,
  formatExpr,
  formatFile,
  formatPolicy,
  intText,
  quoteString,
  stripLocations,
} from "./format.ts";
export {
  type AssignmentExplanation,
  type ClauseExplanation,
  explainRule,
  type FactExplanation,
  type FilterExplanation,
  findRule,
  formatExplanation,
  formatLocation,
  formatValue,
  groupDigits,
  type ParamExplanation,
  type RuleExplanation,
  UnknownRuleError,
} from "./explain.ts";
export {
  type Change,
  type ClauseChange,
  diffPolicies,
  type FilterSummary,
  formatDiff,
  isEmptyDiff,
  type ParamChange,
  type ParamSummary,
  type ParamUse,
  type PolicyDiff,
  type RuleChange,
  type RuleSummary,
  type ValueChange,
} from "./diff.ts";
export {
  type AuditEntry,
  AuditLog,
  AuditLogError,
  type AuditRecord,
  auditRecord,
  AuditSecretError,
  type AuditViolation,
  isSecretKey,
  looksLikeSecret32,
  readAuditLog,
  scanForSecrets,
} from "./audit.ts";
