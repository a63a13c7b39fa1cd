/**
 * The syntax tree of a policy file (policy/README.md, "File structure" and "Expressions").
 *
 * Every node carries its exact source {@link Span} (file, offsets, line and column), so that
 * diagnostics, decisions and `policy explain` can point at the text, and the formatter can
 * reproduce it. Comments are not part of the tree: they are kept in {@link PolicyFile.comments},
 * each with its span, for the formatter to interleave by position.
 *
 * @module
 */

/** A range of source text. Offsets are UTF-16 code units; line and column are 1-based. */
export interface Span {
  /** The file (as given to the parser; for included files the resolved path). */
  file: string;
  /** Offset of the first character. */
  start: number;
  /** Offset just past the last character. */
  end: number;
  /** Line of the first character. */
  line: number;
  /** Column of the first character. */
  column: number;
}

/** A source location, as diagnostics and decisions report it. */
export interface Location {
  /** The file. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

/** A comment (`# ...` or `// ...`), kept for the formatter. */
export interface Comment {
  /** The comment text including its `#` or `//` marker, without the line break. */
  text: string;
  /** Where it is. */
  span: Span;
  /** True when code precedes the comment on its line (an end-of-line comment). */
  trailing: boolean;
}

/** A name with its span (a rule id, a kind, a network, a parameter or set name). */
export interface Name {
  /** The text. */
  text: string;
  /** Where it is. */
  span: Span;
}

/** A whole policy file. */
export interface PolicyFile {
  /** Node type. */
  type: "File";
  /** The file's path. */
  path: string;
  /** The full source text. */
  source: string;
  /** The policy's name (`policy "default" ...`). */
  name: StringLit;
  /** The policy's own revision number (`... version 1`). */
  version: IntLit;
  /** Items in source order. */
  items: Item[];
  /** Every comment, in source order. */
  comments: Comment[];
  /** The whole file. */
  span: Span;
}

/** A top-level item. */
export type Item = Include | ParamDecl | RuleDecl | FilterDecl;

/** `include "path"`. */
export interface Include {
  /** Node type. */
  type: "Include";
  /** The path as written (relative to the including file). */
  path: StringLit;
  /** The whole item. */
  span: Span;
}

/** One `on NETWORKS = VALUE` of a parameter. */
export interface ParamNetworkValue {
  /** The networks (or the group `test`). */
  networks: Name[];
  /** The value (a literal). */
  value: Expr;
  /** From `on` to the end of the value. */
  span: Span;
}

/** `param NAME "description"? (= VALUE)? (on NETWORKS = VALUE)*`. */
export interface ParamDecl {
  /** Node type. */
  type: "Param";
  /** The parameter's name. */
  name: Name;
  /** Its description, if written. */
  description?: StringLit;
  /** The value for every network not listed in an `on` (absent only in a partial override). */
  value?: Expr;
  /** Per-network values. */
  networks: ParamNetworkValue[];
  /** The whole item. */
  span: Span;
}

/** A rule modifier. */
export interface Modifier {
  /** `mandatory` or `temporary`. */
  text: "mandatory" | "temporary";
  /** Where it is. */
  span: Span;
}

/** `rule ID MODIFIER* (alias ID)* "description" CLAUSE+ EXAMPLE*`. */
export interface RuleDecl {
  /** Node type. */
  type: "Rule";
  /** The rule id. */
  id: Name;
  /** `mandatory` / `temporary`, as written. */
  modifiers: Modifier[];
  /** Alias ids. */
  aliases: Name[];
  /** The description. */
  description: StringLit;
  /** The clauses, in order. */
  clauses: Clause[];
  /** The examples, in order. */
  examples: Example[];
  /** The whole item. */
  span: Span;
}

/** `on KINDS (when EXPR)? (require EXPR | limit sum EXPR over DURATION <= EXPR)`. */
export interface Clause {
  /** Node type. */
  type: "Clause";
  /** The request kinds. */
  kinds: Name[];
  /** The `when` guard. */
  guard?: Expr;
  /** The check. */
  body: Require | Limit;
  /** The whole clause. */
  span: Span;
}

/** `require EXPR`. */
export interface Require {
  /** Node type. */
  type: "Require";
  /** The condition. */
  condition: Expr;
  /** From `require` to the end of the condition. */
  span: Span;
}

/** `limit sum AMOUNT over WINDOW <= CAP`. */
export interface Limit {
  /** Node type. */
  type: "Limit";
  /** The per-request amount. */
  amount: Expr;
  /** The window (a duration, unit seconds). */
  window: IntLit;
  /** The cap on the window's sum. */
  cap: Expr;
  /** From `limit` to the end of the cap. */
  span: Span;
}

/** `filter PATTERN warn|error`. */
export interface FilterDecl {
  /** Node type. */
  type: "Filter";
  /** A rule id, an alias, or a prefix ending in `*` (the `*` is part of the text). */
  pattern: Name;
  /** What a matching violation becomes. */
  action: "warn" | "error";
  /** The whole item. */
  span: Span;
}

/** One `with SET [...]` of an example. */
export interface ExampleSet {
  /** The set's name. */
  name: Name;
  /** Its members. */
  members: ListLit;
  /** The whole option. */
  span: Span;
}

/** `example allow|refuse "name"? (on KIND)? {FACTS} (network N)? (with SET [..])* (history [..])?`. */
export interface Example {
  /** Node type. */
  type: "Example";
  /** The expected outcome. */
  expect: "allow" | "refuse";
  /** The example's name. */
  name?: StringLit;
  /** The kind it is for. */
  kind?: Name;
  /** The (partial) facts. */
  facts: ObjectLit;
  /** The network whose parameter values apply (default: the policy's network). */
  network?: Name;
  /** Sets supplied to the evaluation. */
  sets: ExampleSet[];
  /** Prior limit records: `[{ at: -2h, amount: 500 msat }, ...]`. */
  history?: ListLit;
  /** The whole example. */
  span: Span;
}

/** The units of quantities (policy/README.md, "Values and units"). */
export type Unit = "sat" | "msat" | "blocks" | "seconds" | "per-kw";

/** An expression. */
export type Expr =
  | IntLit
  | BoolLit
  | StringLit
  | BytesLit
  | ListLit
  | ObjectLit
  | PathExpr
  | Binary
  | Not
  | Negate
  | Between
  | In
  | Quantifier
  | Count
  | SumOf
  | Call
  | Conditional
  | Paren;

/** An integer, with an optional unit: `25_000`, `100 msat`, `24h` (unit seconds). */
export interface IntLit {
  /** Node type. */
  type: "Int";
  /** The value (a duration in seconds). */
  value: bigint;
  /** The unit, or null for a plain integer. */
  unit: Unit | null;
  /** The text as written (`24h`, `25_000 per-kw`). */
  text: string;
  /** Where it is. */
  span: Span;
}

/** `true` or `false`. */
export interface BoolLit {
  /** Node type. */
  type: "Bool";
  /** The value. */
  value: boolean;
  /** Where it is. */
  span: Span;
}

/** A string literal. */
export interface StringLit {
  /** Node type. */
  type: "String";
  /** The value (escapes resolved, line breaks folded). */
  value: string;
  /** Where it is (including the quotes). */
  span: Span;
}

/** Hex bytes `0x0014ab`; the value is lowercase hex without `0x`. */
export interface BytesLit {
  /** Node type. */
  type: "Bytes";
  /** Lowercase hex. */
  hex: string;
  /** Where it is. */
  span: Span;
}

/** `[a, b, c]`. */
export interface ListLit {
  /** Node type. */
  type: "List";
  /** The elements. */
  elements: Expr[];
  /** Where it is. */
  span: Span;
}

/** One `key: value` of an object literal; the key may be dotted (`commitment.htlcs`). */
export interface ObjectEntry {
  /** The key's segments. */
  key: string[];
  /** Where the key is. */
  keySpan: Span;
  /** The value. */
  value: Expr;
}

/** `{ key: value, ... }` (example facts and history entries only). */
export interface ObjectLit {
  /** Node type. */
  type: "Object";
  /** The entries in order. */
  entries: ObjectEntry[];
  /** Where it is. */
  span: Span;
}

/** A dotted name: a fact path, `param.NAME`, a set name or a bound variable (and its fields). */
export interface PathExpr {
  /** Node type. */
  type: "Path";
  /** The segments. */
  segments: string[];
  /** Where it is. */
  span: Span;
}

/** The binary operators. */
export type BinaryOp =
  | "implies"
  | "or"
  | "and"
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "+"
  | "-"
  | "*"
  | "/";

/** `left OP right`. */
export interface Binary {
  /** Node type. */
  type: "Binary";
  /** The operator. */
  op: BinaryOp;
  /** Where the operator is. */
  opSpan: Span;
  /** Left operand. */
  left: Expr;
  /** Right operand. */
  right: Expr;
  /** Where it is. */
  span: Span;
}

/** `not operand`. */
export interface Not {
  /** Node type. */
  type: "Not";
  /** The operand. */
  operand: Expr;
  /** Where it is. */
  span: Span;
}

/** `-operand`. */
export interface Negate {
  /** Node type. */
  type: "Negate";
  /** The operand. */
  operand: Expr;
  /** Where it is. */
  span: Span;
}

/** `value between low and high` (inclusive). */
export interface Between {
  /** Node type. */
  type: "Between";
  /** The tested value. */
  value: Expr;
  /** Lower bound. */
  low: Expr;
  /** Upper bound. */
  high: Expr;
  /** Where it is. */
  span: Span;
}

/** `value in target` / `value not in target`. */
export interface In {
  /** Node type. */
  type: "In";
  /** The element. */
  value: Expr;
  /** A list expression or a set name. */
  target: Expr;
  /** True for `not in`. */
  negated: boolean;
  /** Where it is. */
  span: Span;
}

/** `all v in list: body` / `any v in list: body`. */
export interface Quantifier {
  /** Node type. */
  type: "Quantifier";
  /** Which quantifier. */
  quantifier: "all" | "any";
  /** The bound variable. */
  variable: Name;
  /** The list. */
  list: Expr;
  /** The condition (extends as far right as possible). */
  body: Expr;
  /** Where it is. */
  span: Span;
}

/** `count(list)` or `count(v in list: condition)`. */
export interface Count {
  /** Node type. */
  type: "Count";
  /** The bound variable (with a condition). */
  variable?: Name;
  /** The list. */
  list: Expr;
  /** The condition. */
  condition?: Expr;
  /** Where it is. */
  span: Span;
}

/** `sum(v in list: amount)`. */
export interface SumOf {
  /** Node type. */
  type: "Sum";
  /** The bound variable. */
  variable: Name;
  /** The list. */
  list: Expr;
  /** The summed amount. */
  body: Expr;
  /** Where it is. */
  span: Span;
}

/** The built-in functions. */
export type FunctionName = "min" | "max" | "msat" | "sat" | "len";

/** `min(a, b)`, `max(a, b)`, `msat(x)`, `sat(x)`, `len(x)`. */
export interface Call {
  /** Node type. */
  type: "Call";
  /** The function. */
  fn: FunctionName;
  /** The arguments. */
  args: Expr[];
  /** Where it is. */
  span: Span;
}

/** `if condition then a else b`. */
export interface Conditional {
  /** Node type. */
  type: "If";
  /** The condition. */
  condition: Expr;
  /** Value when true. */
  then: Expr;
  /** Value when false (extends as far right as possible). */
  else: Expr;
  /** Where it is. */
  span: Span;
}

/** `(expr)`, kept so the formatter can reproduce the author's parentheses. */
export interface Paren {
  /** Node type. */
  type: "Paren";
  /** The inner expression. */
  expr: Expr;
  /** Where it is (including the parentheses). */
  span: Span;
}

/** The location of a span. */
export function locationOf(span: Span): Location {
  return { file: span.file, line: span.line, column: span.column };
}

/** The source text of a node, given its file's source. */
export function sourceText(source: string, span: Span): string {
  return source.slice(span.start, span.end);
}
