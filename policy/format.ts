/**
 * The canonical formatter of policy files (`mod.ts policy fmt`, policy/README.md "Tools"): one
 * layout for one syntax tree, so that reviews diff cleanly.
 *
 * The layout:
 *
 * - `policy "NAME" version N`, a blank line, then the items. Blank lines between items are kept
 *   (several become one); a rule always has a blank line before it (before its leading comments)
 *   and after it.
 * - `param NAME "DESCRIPTION" = VALUE` on one line when it fits (else the description and the
 *   value on lines of their own, indented 2), then one `on NETWORKS = VALUE` line each, indented 2.
 * - `rule ID MODIFIERS ALIASES`, then indented 2: the description (wrapped at spaces to the line
 *   width, continuation lines aligned inside the quote), then for each clause `on KINDS`,
 *   `when GUARD` and `require EXPR` or `limit sum AMOUNT over WINDOW <= CAP` on lines of their own
 *   (`when` and the check indented 2 more than `on` when the rule has several clauses), then each
 *   `example ... { FACTS }`, its `network`, `with` and `history` options on lines of their own,
 *   indented 4.
 * - An expression stays on one line when it fits in {@link FORMAT_WIDTH} columns. Otherwise a
 *   chain of one operator group (`and`; `or`; `implies`; `+` and `-`; `*` and `/`; a comparison)
 *   puts each operand after the first on a line of its own, starting with its operator, aligned
 *   with the first operand (so the outermost, lowest-precedence operator breaks first);
 *   `between` puts `and HIGH` under `between`; `all`/`any` break after the colon (body indented 2
 *   from the quantifier); `if` puts `else` (and if needed `then`) under the `if`; lists and objects
 *   put one element per line (indented 2 from the line, trailing comma).
 * - Spacing is fixed: one space around binary operators, `f(a, b)`, `[a, b]`, `{ key: value }`.
 * - Literals: numbers keep their digits and `_` grouping as written (`25_000`, `1000`: the
 *   author's choice, not normalised) and get one space before their unit (`25_000 per-kw`);
 *   durations stay as written (`24h`, `90s`); hex bytes are lowercased; strings are re-escaped
 *   (`\"`, `\\`); parentheses are kept exactly as written.
 * - Comments are kept where they are: an end-of-line comment stays at the end of the line holding
 *   the code before it, an own-line comment stays on its own line before the code after it
 *   (indented like that code; an indented comment right after an item stays with the item,
 *   indented 2). A comment written where no line can break (inside `count(...)`, between `rule`
 *   and its id) moves to its own line before the line holding that code.
 *
 * {@link formatPolicy} checks its own output: the output must parse to the same tree (modulo
 * source locations) with the same comments, else it throws {@link FormatError} instead of
 * returning text that would change the policy.
 *
 * @module
 */
import type {
  Clause,
  Comment,
  Example,
  Expr,
  IntLit,
  Item,
  ObjectEntry,
  ParamDecl,
  PolicyFile,
  RuleDecl,
  StringLit,
} from "./ast.ts";
import { parse } from "./parser.ts";

/** The line width the formatter aims for (the repository's `deno fmt` width). */
export const FORMAT_WIDTH = 100;

/** The formatter produced text that does not parse back to the same policy (a bug; nothing written). */
export class FormatError extends Error {
  /**
   * Creates the error.
   * @param message what differs
   */
  constructor(message: string) {
    super(message);
    this.name = "FormatError";
  }
}

/** Escapes a string value and puts it in quotes. */
export function quoteString(value: string): string {
  return '"' + value.replaceAll("\\", "\\\\").replaceAll('"', '\\"') + '"';
}

/** A number as the formatter writes it: digits as written, one space, the unit; durations as written. */
export function intText(e: IntLit): string {
  const digits = /^[0-9_]+/.exec(e.text)?.[0] ?? e.value.toString();
  const rest = e.text.slice(digits.length);
  if (e.unit === "seconds" && /^[smhd]$/.test(rest)) return digits + rest;
  return e.unit === null ? digits : `${digits} ${e.unit}`;
}

function entryText(entry: ObjectEntry): string {
  return `${entry.key.join(".")}: ${formatExpr(entry.value)}`;
}

/** An expression on one line, in canonical spacing (the text `policy fmt` writes when it fits). */
export function formatExpr(e: Expr): string {
  switch (e.type) {
    case "Int":
      return intText(e);
    case "Bool":
      return String(e.value);
    case "String":
      return quoteString(e.value);
    case "Bytes":
      return "0x" + e.hex;
    case "List":
      return `[${e.elements.map(formatExpr).join(", ")}]`;
    case "Object":
      return e.entries.length === 0 ? "{}" : `{ ${e.entries.map(entryText).join(", ")} }`;
    case "Path":
      return e.segments.join(".");
    case "Binary":
      return `${formatExpr(e.left)} ${e.op} ${formatExpr(e.right)}`;
    case "Not":
      return `not ${formatExpr(e.operand)}`;
    case "Negate":
      return `-${formatExpr(e.operand)}`;
    case "Between":
      return `${formatExpr(e.value)} between ${formatExpr(e.low)} and ${formatExpr(e.high)}`;
    case "In":
      return `${formatExpr(e.value)} ${e.negated ? "not in" : "in"} ${formatExpr(e.target)}`;
    case "Quantifier":
      return `${e.quantifier} ${e.variable.text} in ${formatExpr(e.list)}: ${formatExpr(e.body)}`;
    case "Count":
      return e.variable === undefined || e.condition === undefined
        ? `count(${formatExpr(e.list)})`
        : `count(${e.variable.text} in ${formatExpr(e.list)}: ${formatExpr(e.condition)})`;
    case "Sum":
      return `sum(${e.variable.text} in ${formatExpr(e.list)}: ${formatExpr(e.body)})`;
    case "Call":
      return `${e.fn}(${e.args.map(formatExpr).join(", ")})`;
    case "If":
      return `if ${formatExpr(e.condition)} then ${formatExpr(e.then)} else ${formatExpr(e.else)}`;
    case "Paren":
      return `(${formatExpr(e.expr)})`;
  }
}

const LOCATION_KEYS = new Set(["span", "opSpan", "keySpan", "source", "comments"]);

/**
 * A copy of a syntax tree without source locations, source text and comments, numbers written
 * as {@link intText} (so `25_000  sat` and `25_000 sat` are equal, `25000 sat` is not): two files
 * that differ only in layout and comments give deeply equal results. Bigints stay bigints.
 */
export function stripLocations<T>(node: T): T {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== "object") return v;
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) if (!LOCATION_KEYS.has(k)) out[k] = strip(x);
    if (o.type === "Int") out.text = intText(o as unknown as IntLit);
    if (o.type === "File") delete out.path;
    return out;
  };
  return strip(node) as T;
}

/**
 * The operands and operators of a binary expression, flattened over its associativity group
 * (`a and b and c`, `a + b - c`, `a * b / c`; a comparison has two operands), or undefined.
 */
function chainOf(e: Expr): { operands: Expr[]; ops: string[] } | undefined {
  if (e.type !== "Binary") return undefined;
  const group = (op: string): string =>
    op === "and" || op === "or" || op === "implies"
      ? op
      : op === "+" || op === "-"
      ? "+"
      : op === "*" || op === "/"
      ? "*"
      : "compare";
  const g = group(e.op);
  const operands: Expr[] = [];
  const ops: string[] = [];
  if (g === "implies") {
    let cur: Expr = e;
    while (cur.type === "Binary" && cur.op === "implies") {
      operands.push(cur.left);
      ops.push(cur.op);
      cur = cur.right;
    }
    operands.push(cur);
    return { operands, ops };
  }
  let cur: Expr = e;
  while (cur.type === "Binary" && group(cur.op) === g) {
    operands.unshift(cur.right);
    ops.unshift(cur.op);
    cur = cur.left;
  }
  operands.unshift(cur);
  return { operands, ops };
}

/** The direct sub-expressions of an expression (a chain's operands for a chain). */
function children(e: Expr): Expr[] {
  const chain = chainOf(e);
  if (chain !== undefined) return chain.operands;
  switch (e.type) {
    case "List":
      return e.elements;
    case "Object":
      return e.entries.map((x) => x.value);
    case "Not":
    case "Negate":
      return [e.operand];
    case "Between":
      return [e.value, e.low, e.high];
    case "In":
      return [e.value, e.target];
    case "Quantifier":
      return [e.list, e.body];
    case "Count":
      return e.condition === undefined ? [e.list] : [e.list, e.condition];
    case "Sum":
      return [e.list, e.body];
    case "Call":
      return e.args;
    case "If":
      return [e.condition, e.then, e.else];
    case "Paren":
      return [e.expr];
    default:
      return [];
  }
}

/** The places inside an expression where its layout can break a line: comments there stay there. */
function regions(e: Expr): [number, number][] {
  const chain = chainOf(e);
  const between = (spans: { start: number; end: number }[], open?: number, close?: number) => {
    const out: [number, number][] = [];
    if (spans.length === 0) return out;
    if (open !== undefined) out.push([open, spans[0].start]);
    for (let i = 1; i < spans.length; i++) out.push([spans[i - 1].end, spans[i].start]);
    if (close !== undefined) out.push([spans[spans.length - 1].end, close]);
    return out;
  };
  if (chain !== undefined) return between(chain.operands.map((o) => o.span));
  switch (e.type) {
    case "List":
      return between(e.elements.map((x) => x.span), e.span.start + 1, e.span.end - 1);
    case "Object":
      return between(
        e.entries.map((x) => ({ start: x.keySpan.start, end: x.value.span.end })),
        e.span.start + 1,
        e.span.end - 1,
      );
    case "Quantifier":
      return [[e.list.span.end, e.body.span.start]];
    case "If":
      return [[e.condition.span.end, e.then.span.start], [e.then.span.end, e.else.span.start]];
    default:
      return [];
  }
}

/** One output line. */
interface Line {
  /** Indentation of the line (own-line comments moved before it get the same). */
  indent: number;
  /** The text, indentation included. */
  text: string;
  /** End-of-line comments. */
  trailing: string[];
  /** Comments moved to their own lines before this line. */
  before: Comment[];
  /** An empty separator line. */
  blank?: boolean;
}

/** An entry of the file level: an item, or an own-line comment. */
type Entry = { kind: "item"; item: Item } | { kind: "comment"; comment: Comment };

class Formatter {
  readonly #file: PolicyFile;
  readonly #source: string;
  readonly #comments: Comment[];
  readonly #used: boolean[];
  readonly #lines: Line[] = [];
  readonly #hosts = new WeakMap<Expr, boolean>();

  constructor(file: PolicyFile) {
    this.#file = file;
    this.#source = file.source;
    this.#comments = [...file.comments].sort((a, b) => a.span.start - b.span.start);
    this.#used = this.#comments.map(() => false);
  }

  // ---- output ----

  get #line(): Line {
    return this.#lines[this.#lines.length - 1];
  }

  get #col(): number {
    return this.#lines.length === 0 ? 0 : this.#line.text.length;
  }

  #newline(indent: number): Line {
    const line: Line = { indent, text: " ".repeat(indent), trailing: [], before: [] };
    this.#lines.push(line);
    return line;
  }

  #blank(): void {
    if (this.#lines.length === 0 || this.#line.blank) return;
    this.#lines.push({ indent: 0, text: "", trailing: [], before: [], blank: true });
  }

  #write(text: string): void {
    if (this.#lines.length === 0) this.#newline(0);
    this.#line.text += text;
  }

  #fits(width: number, reserve = 0): boolean {
    return this.#col + width + reserve <= FORMAT_WIDTH;
  }

  // ---- comments ----

  #anyIn(from: number, to: number): boolean {
    return this.#comments.some((c) => c.span.start >= from && c.span.end <= to);
  }

  #take(from: number, to: number): Comment[] {
    const out: Comment[] = [];
    this.#comments.forEach((c, i) => {
      if (!this.#used[i] && c.span.start >= from && c.span.end <= to) {
        this.#used[i] = true;
        out.push(c);
      }
    });
    return out;
  }

  /**
   * Places the comments of a gap where a line breaks: an end-of-line comment at the end of the
   * current line, an own-line comment on a line of its own at `indent` (the next code follows on
   * a new line, which the caller starts).
   */
  #boundary(from: number, to: number, indent: number): void {
    let ownLine = false;
    for (const c of this.#take(from, to)) {
      const line = this.#lines.length > 0 ? this.#line : undefined;
      if (c.trailing && !ownLine && line && !line.blank && line.trailing.length === 0) {
        line.trailing.push(c.text.trimEnd());
      } else {
        ownLine = true;
        this.#newline(indent);
        this.#write(c.text.trimEnd());
      }
    }
  }

  /** Moves the comments left in a range (where no line can break) before the line `line`. */
  #hoist(from: number, to: number, line: Line): void {
    for (const c of this.#take(from, to)) line.before.push(c);
  }

  /** Whether an expression (or one inside it) has a comment where its layout breaks lines. */
  #hostsComment(e: Expr): boolean {
    const known = this.#hosts.get(e);
    if (known !== undefined) return known;
    const result = regions(e).some(([a, b]) => this.#anyIn(a, b)) ||
      children(e).some((c) => this.#hostsComment(c));
    this.#hosts.set(e, result);
    return result;
  }

  // ---- expressions ----

  /** Writes an expression at the current column; `reserve` columns must follow it on its line. */
  #expr(e: Expr, reserve = 0): void {
    const start = this.#line;
    const flat = formatExpr(e);
    if (!this.#hostsComment(e) && this.#fits(flat.length, reserve)) this.#write(flat);
    else this.#broken(e, reserve);
    this.#hoist(e.span.start, e.span.end, start);
  }

  #broken(e: Expr, reserve: number): void {
    const chain = chainOf(e);
    if (chain !== undefined) {
      const col = this.#col;
      const { operands, ops } = chain;
      this.#expr(operands[0]);
      for (let i = 1; i < operands.length; i++) {
        this.#boundary(operands[i - 1].span.end, operands[i].span.start, col);
        this.#newline(col);
        this.#write(ops[i - 1] + " ");
        this.#expr(operands[i], i === operands.length - 1 ? reserve : 0);
      }
      return;
    }
    switch (e.type) {
      case "List":
        this.#block("[", "]", e.span, e.elements.map((x) => ({ span: x.span, value: x })));
        return;
      case "Object":
        this.#block(
          "{",
          "}",
          e.span,
          e.entries.map((x) => ({
            span: { start: x.keySpan.start, end: x.value.span.end },
            key: x.key.join("."),
            value: x.value,
          })),
        );
        return;
      case "Not":
        this.#write("not ");
        this.#expr(e.operand, reserve);
        return;
      case "Negate":
        this.#write("-");
        this.#expr(e.operand, reserve);
        return;
      case "Between": {
        this.#expr(e.value);
        this.#write(" ");
        const col = this.#col;
        this.#write("between ");
        this.#expr(e.low);
        this.#newline(col);
        this.#write("and ");
        this.#expr(e.high, reserve);
        return;
      }
      case "In":
        this.#expr(e.value);
        this.#write(e.negated ? " not in " : " in ");
        this.#expr(e.target, reserve);
        return;
      case "Quantifier": {
        const col = this.#col;
        this.#write(`${e.quantifier} ${e.variable.text} in `);
        this.#expr(e.list, 1);
        this.#write(":");
        this.#boundary(e.list.span.end, e.body.span.start, col + 2);
        this.#newline(col + 2);
        this.#expr(e.body, reserve);
        return;
      }
      case "Count":
        this.#write("count(");
        if (e.variable !== undefined && e.condition !== undefined) {
          this.#write(`${e.variable.text} in `);
          this.#expr(e.list);
          this.#write(": ");
          this.#expr(e.condition, reserve + 1);
        } else this.#expr(e.list, reserve + 1);
        this.#write(")");
        return;
      case "Sum":
        this.#write(`sum(${e.variable.text} in `);
        this.#expr(e.list);
        this.#write(": ");
        this.#expr(e.body, reserve + 1);
        this.#write(")");
        return;
      case "Call":
        this.#write(`${e.fn}(`);
        e.args.forEach((a, i) => {
          if (i > 0) this.#write(", ");
          this.#expr(a, i === e.args.length - 1 ? reserve + 1 : 1);
        });
        this.#write(")");
        return;
      case "If": {
        const col = this.#col;
        const head = `if ${formatExpr(e.condition)} then ${formatExpr(e.then)}`;
        const threeLines = this.#anyIn(e.condition.span.end, e.then.span.start) ||
          this.#hostsComment(e.condition) || this.#hostsComment(e.then) || !this.#fits(head.length);
        this.#write("if ");
        this.#expr(e.condition);
        if (threeLines) {
          this.#boundary(e.condition.span.end, e.then.span.start, col);
          this.#newline(col);
          this.#write("then ");
        } else this.#write(" then ");
        this.#expr(e.then);
        this.#boundary(e.then.span.end, e.else.span.start, col);
        this.#newline(col);
        this.#write("else ");
        this.#expr(e.else, reserve);
        return;
      }
      case "Paren":
        this.#write("(");
        this.#expr(e.expr, reserve + 1);
        this.#write(")");
        return;
      default:
        this.#write(formatExpr(e));
    }
  }

  /** A list or object with one element per line. */
  #block(
    open: string,
    close: string,
    span: { start: number; end: number },
    elements: { span: { start: number; end: number }; key?: string; value: Expr }[],
  ): void {
    const base = this.#line.indent;
    this.#write(open);
    if (elements.length === 0) {
      this.#write(close);
      return;
    }
    this.#boundary(span.start + 1, elements[0].span.start, base + 2);
    elements.forEach((el, i) => {
      const line = this.#newline(base + 2);
      if (el.key !== undefined) this.#write(`${el.key}: `);
      this.#expr(el.value, 1);
      this.#write(",");
      this.#hoist(el.span.start, el.span.end, line);
      const next = i + 1 < elements.length ? elements[i + 1].span.start : span.end - 1;
      this.#boundary(el.span.end, next, base + 2);
    });
    this.#newline(base);
    this.#write(close);
  }

  // ---- items ----

  /** A description string, wrapped at single spaces (value-preserving: a line break reads as one space). */
  #wrapped(lit: StringLit): void {
    const col = this.#col;
    const chunks: string[] = [];
    const v = lit.value;
    let from = 0;
    for (let i = 1; i < v.length - 1; i++) {
      if (v[i] === " " && !/[ \t]/.test(v[i - 1]) && !/[ \t]/.test(v[i + 1])) {
        chunks.push(v.slice(from, i));
        from = i + 1;
      }
    }
    chunks.push(v.slice(from));
    const escaped = chunks.map((c) => quoteString(c).slice(1, -1));
    let current = '"' + escaped[0];
    for (let i = 1; i < escaped.length; i++) {
      const last = i === escaped.length - 1 ? 1 : 0;
      if (this.#fits(current.length + 1 + escaped[i].length + last)) {
        current += " " + escaped[i];
      } else {
        this.#write(current);
        this.#newline(col + 1);
        current = escaped[i];
      }
    }
    this.#write(current + '"');
  }

  #param(p: ParamDecl): void {
    const line = this.#newline(0);
    this.#write(`param ${p.name.text}`);
    const desc = p.description;
    const value = p.value;
    let end = p.name.span.end;
    const head = `param ${p.name.text}` + (desc ? " " + quoteString(desc.value) : "") +
      (value ? " = " : "");
    const regionComment = (desc !== undefined && this.#anyIn(end, desc.span.start)) ||
      (value !== undefined && this.#anyIn(desc?.span.end ?? end, value.span.start));
    const valueFits = value === undefined ||
      (!this.#hostsComment(value) && head.length + formatExpr(value).length <= FORMAT_WIDTH) ||
      ((value.type === "List" || value.type === "Object") && head.length + 1 <= FORMAT_WIDTH);
    const oneLine = !regionComment && head.length <= FORMAT_WIDTH && valueFits;
    if (oneLine) {
      if (desc !== undefined) {
        this.#write(" " + quoteString(desc.value));
        end = desc.span.end;
      }
      if (value !== undefined) {
        this.#write(" = ");
        this.#expr(value);
        end = value.span.end;
      }
    } else {
      if (desc !== undefined) {
        this.#boundary(end, desc.span.start, 2);
        this.#newline(2);
        this.#wrapped(desc);
        end = desc.span.end;
      }
      if (value !== undefined) {
        this.#boundary(end, value.span.start, 2);
        this.#newline(2);
        this.#write("= ");
        this.#expr(value);
        end = value.span.end;
      }
    }
    for (const on of p.networks) {
      this.#boundary(end, on.span.start, 2);
      const onLine = this.#newline(2);
      this.#write(`on ${on.networks.map((n) => n.text).join(", ")} = `);
      this.#expr(on.value);
      this.#hoist(on.span.start, on.span.end, onLine);
      end = on.span.end;
    }
    this.#hoist(p.span.start, p.span.end, line);
  }

  #rule(r: RuleDecl): void {
    const line = this.#newline(0);
    this.#write(
      `rule ${r.id.text}` + r.modifiers.map((m) => " " + m.text).join("") +
        r.aliases.map((a) => " alias " + a.text).join(""),
    );
    let end = Math.max(
      r.id.span.end,
      ...r.modifiers.map((m) => m.span.end),
      ...r.aliases.map((a) => a.span.end),
    );
    this.#boundary(end, r.description.span.start, 2);
    this.#newline(2);
    this.#wrapped(r.description);
    end = r.description.span.end;
    const bodyIndent = r.clauses.length > 1 ? 4 : 2;
    for (const clause of r.clauses) {
      this.#boundary(end, clause.span.start, 2);
      this.#clause(clause, bodyIndent);
      end = clause.span.end;
    }
    for (const example of r.examples) {
      this.#boundary(end, example.span.start, 2);
      this.#example(example);
      end = example.span.end;
    }
    this.#hoist(r.span.start, r.span.end, line);
  }

  #clause(c: Clause, indent: number): void {
    const line = this.#newline(2);
    this.#write("on ");
    const col = this.#col;
    c.kinds.forEach((k, i) => {
      const piece = k.text + (i < c.kinds.length - 1 ? "," : "");
      if (i === 0) this.#write(piece);
      else if (this.#fits(1 + piece.length)) this.#write(" " + piece);
      else {
        this.#newline(col);
        this.#write(piece);
      }
    });
    let end = c.kinds[c.kinds.length - 1].span.end;
    if (c.guard !== undefined) {
      this.#boundary(end, c.guard.span.start, indent);
      const guardLine = this.#newline(indent);
      this.#write("when ");
      this.#expr(c.guard);
      this.#hoist(c.guard.span.start, c.guard.span.end, guardLine);
      end = c.guard.span.end;
    }
    const body = c.body;
    this.#boundary(end, body.span.start, indent);
    const bodyLine = this.#newline(indent);
    if (body.type === "Require") {
      this.#write("require ");
      this.#expr(body.condition);
    } else {
      this.#write("limit sum ");
      this.#expr(body.amount);
      this.#write(` over ${intText(body.window)} <= `);
      this.#expr(body.cap);
    }
    this.#hoist(body.span.start, body.span.end, bodyLine);
    this.#hoist(c.span.start, c.span.end, line);
  }

  #example(x: Example): void {
    const line = this.#newline(2);
    this.#write(`example ${x.expect}`);
    if (x.name !== undefined) this.#write(" " + quoteString(x.name.value));
    if (x.kind !== undefined) this.#write(` on ${x.kind.text}`);
    this.#write(" ");
    this.#expr(x.facts);
    let end = x.facts.span.end;
    const options: { start: number; end: number; write: () => void }[] = [];
    if (x.network !== undefined) {
      const n = x.network;
      options.push({ ...n.span, write: () => this.#write(`network ${n.text}`) });
    }
    for (const s of x.sets) {
      options.push({
        ...s.span,
        write: () => {
          this.#write(`with ${s.name.text} `);
          this.#expr(s.members);
        },
      });
    }
    if (x.history !== undefined) {
      const h = x.history;
      options.push({
        ...h.span,
        write: () => {
          this.#write("history ");
          this.#expr(h);
        },
      });
    }
    options.sort((a, b) => a.start - b.start);
    for (const o of options) {
      this.#boundary(end, o.start, 4);
      const optionLine = this.#newline(4);
      o.write();
      this.#hoist(o.start, o.end, optionLine);
      end = o.end;
    }
    this.#hoist(x.span.start, x.span.end, line);
  }

  #item(item: Item): void {
    switch (item.type) {
      case "Include": {
        const line = this.#newline(0);
        this.#write(`include ${quoteString(item.path.value)}`);
        this.#hoist(item.span.start, item.span.end, line);
        return;
      }
      case "Filter": {
        const line = this.#newline(0);
        this.#write(`filter ${item.pattern.text} ${item.action}`);
        this.#hoist(item.span.start, item.span.end, line);
        return;
      }
      case "Param":
        this.#param(item);
        return;
      case "Rule":
        this.#rule(item);
    }
  }

  // ---- the file ----

  /** Whether the source between two offsets holds an empty line. */
  #blankBetween(from: number, to: number): boolean {
    const lines = this.#source.slice(from, to).split("\n");
    for (let i = 1; i < lines.length - 1; i++) if (lines[i].trim() === "") return true;
    return false;
  }

  /** The offset of the first character of code (the `policy` keyword). */
  #codeStart(): number {
    const s = this.#source;
    let i = 0;
    for (;;) {
      while (i < s.length && /\s/.test(s[i])) i++;
      const c = this.#comments.find((x) => x.span.start === i);
      if (c === undefined) return i;
      i = c.span.end;
    }
  }

  format(): string {
    const file = this.#file;
    const headerStart = this.#codeStart();
    type At = { entry: Entry | "header"; start: number; end: number; attached?: boolean };
    const entries: At[] = [];
    const trailingOf = new Map<number, Comment[]>();
    const own = (c: Comment): void => {
      entries.push({
        entry: { kind: "comment", comment: c },
        start: c.span.start,
        end: c.span.end,
      });
    };
    /** The file-level gap between `from` and `to`, after entry `owner`. */
    const gap = (from: number, to: number, owner: number): void => {
      let ownLine = false;
      for (const c of this.#take(from, to)) {
        if (c.trailing && !ownLine && !trailingOf.has(owner)) {
          trailingOf.set(owner, [c]);
        } else {
          ownLine = true;
          own(c);
        }
      }
    };
    for (const c of this.#take(0, headerStart)) own(c);
    const headerIndex = entries.length;
    entries.push({ entry: "header", start: headerStart, end: file.version.span.end });
    // Comments inside the header go before it.
    const headerInner = this.#take(headerStart, file.version.span.end);
    let end = file.version.span.end;
    for (const item of file.items) {
      gap(end, item.span.start, entries.length - 1);
      entries.push({ entry: { kind: "item", item }, start: item.span.start, end: item.span.end });
      end = item.span.end;
    }
    gap(end, this.#source.length, entries.length - 1);

    const isRule = (e: Entry | "header"): boolean =>
      e !== "header" && e.kind === "item" && e.item.type === "Rule";
    const isComment = (e: Entry | "header"): boolean => e !== "header" && e.kind === "comment";
    /** The item a comment directly after it (indented, no blank line between) belongs to. */
    const ownerItem: (number | undefined)[] = entries.map(() => undefined);
    entries.forEach((at, i) => {
      if (i <= headerIndex || !isComment(at.entry)) return;
      const prev = entries[i - 1];
      const c = (at.entry as { comment: Comment }).comment;
      if (c.span.column <= 1 || this.#blankBetween(prev.end, at.start)) return;
      if (isComment(prev.entry)) ownerItem[i] = ownerItem[i - 1];
      else if (prev.entry !== "header") ownerItem[i] = i - 1;
      at.attached = ownerItem[i] !== undefined;
    });
    /** Whether the comment at index i leads (with no blank line) a rule. */
    const leadsRule = (i: number): boolean => {
      let j = i;
      while (j + 1 < entries.length && isComment(entries[j + 1].entry)) {
        if (this.#blankBetween(entries[j].end, entries[j + 1].start)) return false;
        j++;
      }
      return j + 1 < entries.length && isRule(entries[j + 1].entry) &&
        !this.#blankBetween(entries[j].end, entries[j + 1].start);
    };
    entries.forEach((at, i) => {
      const { entry } = at;
      if (i > 0 && !at.attached) {
        const prev = entries[i - 1];
        const owner = ownerItem[i - 1];
        const prevItem = owner !== undefined ? entries[owner].entry : prev.entry;
        const prevIsItem = !isComment(prev.entry) || owner !== undefined;
        const blank = this.#blankBetween(prev.end, at.start) ||
          (i > headerIndex &&
            (prevItem === "header" || isRule(prevItem) ||
              (prevIsItem && (isRule(entry) || (isComment(entry) && leadsRule(i))))));
        if (blank) this.#blank();
      }
      if (entry === "header") {
        const line = this.#newline(0);
        this.#write(`policy ${quoteString(file.name.value)} version ${intText(file.version)}`);
        line.before.push(...headerInner);
      } else if (entry.kind === "comment") {
        this.#newline(at.attached ? 2 : 0);
        this.#write(entry.comment.text.trimEnd());
      } else {
        this.#item(entry.item);
      }
      for (const c of trailingOf.get(i) ?? []) this.#line.trailing.push(c.text.trimEnd());
    });
    return this.#render();
  }

  #render(): string {
    const out: string[] = [];
    for (const line of this.#lines) {
      if (line.blank) {
        out.push("");
        continue;
      }
      const before = [...line.before].sort((a, b) => a.span.start - b.span.start);
      for (const c of before) out.push(" ".repeat(line.indent) + c.text.trimEnd());
      const code = line.text.trimEnd();
      out.push(line.trailing.length === 0 ? code : `${code}  ${line.trailing.join("  ")}`);
    }
    while (out.length > 0 && out[out.length - 1] === "") out.pop();
    return out.join("\n") + "\n";
  }
}

/** Formats a parsed file (its comments included). Does not check the result; see {@link formatPolicy}. */
export function formatFile(file: PolicyFile): string {
  return new Formatter(file).format();
}

function commentTexts(file: PolicyFile): string[] {
  return file.comments.map((c) => c.text.trimEnd()).sort();
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
  );
}

/**
 * Formats policy source text canonically and checks the result parses back to the same tree
 * (modulo locations) with the same comments.
 * @param source the file's text
 * @param options `file`: the path shown in syntax errors
 * @throws {PolicyError} when the source does not parse (syntax or literal errors)
 * @throws {FormatError} when the output would not be the same policy (never expected)
 */
export function formatPolicy(source: string, options: { file: string }): string {
  const tree = parse(source, options);
  const out = formatFile(tree);
  let again: PolicyFile;
  try {
    again = parse(out, options);
  } catch (e) {
    throw new FormatError(
      `formatting ${options.file} gave text that does not parse (${
        e instanceof Error ? e.message : String(e)
      })`,
    );
  }
  if (!deepEqual(stripLocations(tree), stripLocations(again))) {
    throw new FormatError(`formatting ${options.file} would change its syntax tree`);
  }
  if (!deepEqual(commentTexts(tree), commentTexts(again))) {
    throw new FormatError(`formatting ${options.file} would change its comments`);
  }
  return out;
}
