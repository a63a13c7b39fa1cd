/**
 * Parses policy text into the syntax tree of `ast.ts` with ohm-js (grammar: `policy/policy.ohm`,
 * embedded in `grammar.ts`). Comments are collected separately, with spans, for the formatter.
 *
 * @module
 */
import * as ohm from "ohm-js";
import type {
  BinaryOp,
  BytesLit,
  Clause,
  Comment,
  Example,
  ExampleSet,
  Expr,
  FilterDecl,
  FunctionName,
  Include,
  IntLit,
  Item,
  Limit,
  ListLit,
  Modifier,
  Name,
  ObjectEntry,
  ObjectLit,
  ParamDecl,
  ParamNetworkValue,
  PolicyFile,
  Require,
  RuleDecl,
  Span,
  StringLit,
  Unit,
} from "./ast.ts";
import { type Diagnostic, Diagnostics, didYouMean, PolicyError } from "./diagnostics.ts";
import { GRAMMAR_SOURCE } from "./grammar.ts";
import { DURATION_SECONDS } from "./units.ts";

const grammar: ohm.Grammar = ohm.grammar(GRAMMAR_SOURCE);

/** Maps offsets to 1-based lines and columns. */
export class LineIndex {
  readonly #starts: number[] = [0];

  /** Indexes `source`. */
  constructor(source: string) {
    for (let i = 0; i < source.length; i++) if (source[i] === "\n") this.#starts.push(i + 1);
  }

  /** The line and column of an offset. */
  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.#starts[lo] + 1 };
  }
}

/** State of the parse in progress (the semantics are built once; parsing is synchronous). */
interface ParseContext {
  file: string;
  lines: LineIndex;
  diagnostics: Diagnostics;
}
let context: ParseContext | undefined;

function spanOf(start: number, end: number): Span {
  if (context === undefined) throw new Error("parser context missing");
  const { line, column } = context.lines.position(start);
  return { file: context.file, start, end, line, column };
}

function nodeSpan(node: ohm.Node): Span {
  return spanOf(node.source.startIdx, node.source.endIdx);
}

function report(span: Span, message: string, hint?: string): void {
  context?.diagnostics.error(span, message, hint);
}

function name(node: ohm.Node): Name {
  return { text: node.sourceString, span: nodeSpan(node) };
}

function optional<T>(node: ohm.Node): T | undefined {
  return node.children.length === 0 ? undefined : node.children[0].ast() as T;
}

function list<T>(node: ohm.Node): T[] {
  return node.children.map((c) => c.ast() as T);
}

function listOf<T>(node: ohm.Node): T[] {
  return node.asIteration().children.map((c) => c.ast() as T);
}

function names(node: ohm.Node): Name[] {
  return node.asIteration().children.map(name);
}

function intValue(node: ohm.Node): bigint {
  return BigInt(node.sourceString.replaceAll("_", ""));
}

function binary(this: ohm.Node, left: ohm.Node, op: ohm.Node, right: ohm.Node): Expr {
  return {
    type: "Binary",
    op: op.sourceString as BinaryOp,
    opSpan: nodeSpan(op),
    left: left.ast() as Expr,
    right: right.ast() as Expr,
    span: nodeSpan(this),
  };
}

/** Resolves escapes (`\"`, `\\`) and folds each line break with its surrounding blanks to a space. */
function stringValue(node: ohm.Node): string {
  const raw = node.sourceString.slice(1, -1);
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === "\\") {
      const next = raw[i + 1];
      if (next === '"' || next === "\\") out += next;
      else {
        const at = node.source.startIdx + 1 + i;
        report(spanOf(at, at + 2), `unknown escape "\\${next}" in a string`, 'write \\" or \\\\');
      }
      i++;
    } else if (c === "\n" || c === "\r") {
      out = out.replace(/[ \t]+$/, "") + " ";
      while (i + 1 < raw.length && /[ \t\r\n]/.test(raw[i + 1])) i++;
    } else {
      out += c;
    }
  }
  return out;
}

const semantics: ohm.Semantics = grammar.createSemantics().addOperation<unknown>("ast", {
  File(header, items): PolicyFile {
    const [policyName, version] = header.ast() as [StringLit, IntLit];
    return {
      type: "File",
      path: context?.file ?? "",
      source: this.source.sourceString,
      name: policyName,
      version,
      items: list<Item>(items),
      comments: [],
      span: spanOf(0, this.source.sourceString.length),
    };
  },
  Header(_policy, str, _version, int): [StringLit, IntLit] {
    const version: IntLit = {
      type: "Int",
      value: intValue(int),
      unit: null,
      text: int.sourceString,
      span: nodeSpan(int),
    };
    return [str.ast() as StringLit, version];
  },
  Include(_include, path): Include {
    return { type: "Include", path: path.ast() as StringLit, span: nodeSpan(this) };
  },
  Param(_param, ident, description, value, networks): ParamDecl {
    const decl: ParamDecl = {
      type: "Param",
      name: name(ident),
      value: optional<Expr>(value),
      networks: list<ParamNetworkValue>(networks),
      span: nodeSpan(this),
    };
    const text = optional<StringLit>(description);
    if (text !== undefined) decl.description = text;
    if (decl.value === undefined) delete decl.value;
    return decl;
  },
  ParamDefault(_eq, expr): Expr {
    return expr.ast() as Expr;
  },
  ParamOn(_on, networks, _eq, value): ParamNetworkValue {
    return { networks: names(networks), value: value.ast() as Expr, span: nodeSpan(this) };
  },
  Rule(_rule, id, modifiers, aliases, description, clauses, examples): RuleDecl {
    return {
      type: "Rule",
      id: name(id),
      modifiers: list<Modifier>(modifiers),
      aliases: list<Name>(aliases),
      description: description.ast() as StringLit,
      clauses: list<Clause>(clauses),
      examples: list<Example>(examples),
      span: nodeSpan(this),
    };
  },
  Modifier(_word): Modifier {
    return { text: this.sourceString as Modifier["text"], span: nodeSpan(this) };
  },
  Alias(_alias, id): Name {
    return name(id);
  },
  Clause(_on, kinds, guard, body): Clause {
    const clause: Clause = {
      type: "Clause",
      kinds: names(kinds),
      body: body.ast() as Require | Limit,
      span: nodeSpan(this),
    };
    const g = optional<Expr>(guard);
    if (g !== undefined) clause.guard = g;
    return clause;
  },
  Guard(_when, expr): Expr {
    return expr.ast() as Expr;
  },
  Require(_require, condition): Require {
    return { type: "Require", condition: condition.ast() as Expr, span: nodeSpan(this) };
  },
  Limit(_limit, _sum, amount, _over, window, _le, cap): Limit {
    return {
      type: "Limit",
      amount: amount.ast() as Expr,
      window: window.ast() as IntLit,
      cap: cap.ast() as Expr,
      span: nodeSpan(this),
    };
  },
  Filter(_filter, pattern, action): FilterDecl {
    return {
      type: "Filter",
      pattern: name(pattern),
      action: action.sourceString as "warn" | "error",
      span: nodeSpan(this),
    };
  },
  Example(_example, expectation, exampleName, kind, facts, options): Example {
    const example: Example = {
      type: "Example",
      expect: expectation.sourceString as "allow" | "refuse",
      facts: facts.ast() as ObjectLit,
      sets: [],
      span: nodeSpan(this),
    };
    const n = optional<StringLit>(exampleName);
    if (n !== undefined) example.name = n;
    const k = optional<Name>(kind);
    if (k !== undefined) example.kind = k;
    for (const option of options.children) {
      const [which, value] = option.ast() as [string, Name | ExampleSet | ListLit];
      const span = nodeSpan(option);
      if (which === "set") example.sets.push(value as ExampleSet);
      else if (which === "network") {
        if (example.network !== undefined) report(span, "an example names one network");
        example.network = value as Name;
      } else {
        if (example.history !== undefined) report(span, "an example has one history");
        example.history = value as ListLit;
      }
    }
    return example;
  },
  ExampleKind(_on, kind): Name {
    return name(kind);
  },
  ExampleOption_network(_network, network): [string, Name] {
    return ["network", name(network)];
  },
  ExampleOption_set(_with, set, members): [string, ExampleSet] {
    return ["set", {
      name: name(set),
      members: members.ast() as ListLit,
      span: nodeSpan(this),
    }];
  },
  ExampleOption_history(_history, entries): [string, ListLit] {
    return ["history", entries.ast() as ListLit];
  },
  Implies_implies: binary,
  Or_or: binary,
  And_and: binary,
  Not_not(_not, operand): Expr {
    return { type: "Not", operand: operand.ast() as Expr, span: nodeSpan(this) };
  },
  Compare_compare: binary,
  Compare_between(value, _between, low, _and, high): Expr {
    return {
      type: "Between",
      value: value.ast() as Expr,
      low: low.ast() as Expr,
      high: high.ast() as Expr,
      span: nodeSpan(this),
    };
  },
  Compare_notIn(value, _not, _in, target): Expr {
    return {
      type: "In",
      value: value.ast() as Expr,
      target: target.ast() as Expr,
      negated: true,
      span: nodeSpan(this),
    };
  },
  Compare_in(value, _in, target): Expr {
    return {
      type: "In",
      value: value.ast() as Expr,
      target: target.ast() as Expr,
      negated: false,
      span: nodeSpan(this),
    };
  },
  Additive_add: binary,
  Additive_sub: binary,
  Multiplicative_mul: binary,
  Multiplicative_div: binary,
  Unary_neg(_minus, operand): Expr {
    return { type: "Negate", operand: operand.ast() as Expr, span: nodeSpan(this) };
  },
  Primary_paren(_open, expr, _close): Expr {
    return { type: "Paren", expr: expr.ast() as Expr, span: nodeSpan(this) };
  },
  Quantifier(which, variable, _in, listExpr, _colon, body): Expr {
    return {
      type: "Quantifier",
      quantifier: which.sourceString as "all" | "any",
      variable: name(variable),
      list: listExpr.ast() as Expr,
      body: body.ast() as Expr,
      span: nodeSpan(this),
    };
  },
  Count_where(_count, _open, variable, _in, listExpr, _colon, condition, _close): Expr {
    return {
      type: "Count",
      variable: name(variable),
      list: listExpr.ast() as Expr,
      condition: condition.ast() as Expr,
      span: nodeSpan(this),
    };
  },
  Count_plain(_count, _open, listExpr, _close): Expr {
    return { type: "Count", list: listExpr.ast() as Expr, span: nodeSpan(this) };
  },
  SumOf(_sum, _open, variable, _in, listExpr, _colon, body, _close): Expr {
    return {
      type: "Sum",
      variable: name(variable),
      list: listExpr.ast() as Expr,
      body: body.ast() as Expr,
      span: nodeSpan(this),
    };
  },
  Call(fn, _open, args, _close): Expr {
    return {
      type: "Call",
      fn: fn.sourceString as FunctionName,
      args: listOf<Expr>(args),
      span: nodeSpan(this),
    };
  },
  Conditional(_if, condition, _then, a, _else, b): Expr {
    return {
      type: "If",
      condition: condition.ast() as Expr,
      then: a.ast() as Expr,
      else: b.ast() as Expr,
      span: nodeSpan(this),
    };
  },
  List(_open, elements, _comma, _close): ListLit {
    return { type: "List", elements: listOf<Expr>(elements), span: nodeSpan(this) };
  },
  Object(_open, entries, _comma, _close): ObjectLit {
    return { type: "Object", entries: listOf<ObjectEntry>(entries), span: nodeSpan(this) };
  },
  Entry(key, _colon, value): ObjectEntry {
    return {
      key: key.sourceString.split("."),
      keySpan: nodeSpan(key),
      value: value.ast() as Expr,
    };
  },
  Quantity(int, unit): IntLit {
    const u = unit.children.length === 0 ? null : unit.sourceString as Unit;
    return {
      type: "Int",
      value: intValue(int),
      unit: u,
      text: this.sourceString,
      span: nodeSpan(this),
    };
  },
  duration(int, suffix): IntLit {
    return {
      type: "Int",
      value: intValue(int) * DURATION_SECONDS[suffix.sourceString],
      unit: "seconds",
      text: this.sourceString,
      span: nodeSpan(this),
    };
  },
  bytes(_prefix, digits): BytesLit {
    const hex = digits.sourceString.toLowerCase();
    if (hex.length % 2 !== 0) {
      report(nodeSpan(this), `hex bytes need an even number of digits (got ${hex.length})`);
    }
    return { type: "Bytes", hex, span: nodeSpan(this) };
  },
  boolean(_word): Expr {
    return { type: "Bool", value: this.sourceString === "true", span: nodeSpan(this) };
  },
  string(_open, _chars, _close): StringLit {
    return { type: "String", value: stringValue(this), span: nodeSpan(this) };
  },
  path(_first, _dots, _rest): Expr {
    return { type: "Path", segments: this.sourceString.split("."), span: nodeSpan(this) };
  },
});

/** Collects `#` and `//` comments outside strings. */
export function scanComments(source: string, file: string): Comment[] {
  const lines = new LineIndex(source);
  const comments: Comment[] = [];
  let lineHasCode = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\n") {
      lineHasCode = false;
    } else if (c === '"') {
      lineHasCode = true;
      for (i++; i < source.length && source[i] !== '"'; i++) if (source[i] === "\\") i++;
    } else if (c === "#" || (c === "/" && source[i + 1] === "/")) {
      let end = source.indexOf("\n", i);
      if (end < 0) end = source.length;
      const { line, column } = lines.position(i);
      const text = source.slice(i, end).replace(/\r$/, "");
      comments.push({
        text,
        span: { file, start: i, end: i + text.length, line, column },
        trailing: lineHasCode,
      });
      i = end - 1;
    } else if (c !== " " && c !== "\t" && c !== "\r") {
      lineHasCode = true;
    }
  }
  return comments;
}

const KEYWORDS = [
  "policy",
  "version",
  "include",
  "param",
  "rule",
  "mandatory",
  "temporary",
  "alias",
  "on",
  "when",
  "require",
  "limit",
  "sum",
  "over",
  "filter",
  "warn",
  "error",
  "example",
  "allow",
  "refuse",
  "network",
  "with",
  "history",
  "and",
  "or",
  "not",
  "implies",
  "between",
  "in",
  "all",
  "any",
  "if",
  "then",
  "else",
  "true",
  "false",
];

function syntaxError(match: ohm.FailedMatchResult, file: string, source: string): Diagnostic {
  const at = match.getRightmostFailurePosition();
  const { line, column } = new LineIndex(source).position(at);
  const word = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(source.slice(at))?.[0];
  const found = at >= source.length
    ? "the end of the file"
    : word !== undefined
    ? `"${word}"`
    : JSON.stringify(source[at]);
  let expected = match.getExpectedText().replaceAll("not an idChar", "the end of the word");
  // The start of an expression offers some twenty alternatives; name them once.
  if (expected.includes('"if"') && expected.includes('"all"')) {
    expected = expected.replace(/a name, .*"all", or "-"/, "an expression");
  }
  const diagnostic: Diagnostic = {
    file,
    line,
    column,
    message: `syntax error: expected ${expected}, found ${found}`,
  };
  const wanted = KEYWORDS.filter((k) => expected.includes(`"${k}"`));
  const hint = word === undefined ? undefined : didYouMean(word, wanted);
  if (hint !== undefined) diagnostic.hint = hint;
  return diagnostic;
}

/**
 * Parses one policy file, adding syntax and literal errors to `diagnostics`. Returns undefined
 * when the text does not match the grammar (one diagnostic, at the rightmost failure).
 */
export function parseInto(
  source: string,
  file: string,
  diagnostics: Diagnostics,
): PolicyFile | undefined {
  const match = grammar.match(source);
  if (match.failed()) {
    diagnostics.add(syntaxError(match, file, source));
    return undefined;
  }
  context = { file, lines: new LineIndex(source), diagnostics };
  try {
    const tree = semantics(match).ast() as PolicyFile;
    tree.comments = scanComments(source, file);
    return tree;
  } finally {
    context = undefined;
  }
}

/** Parses one policy file (no includes, no type checking); throws {@link PolicyError}. */
export function parse(source: string, options: { file: string }): PolicyFile {
  const diagnostics = new Diagnostics();
  const tree = parseInto(source, options.file, diagnostics);
  diagnostics.throwIfAny();
  if (tree === undefined) throw new PolicyError([]);
  return tree;
}
