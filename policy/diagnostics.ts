/**
 * Located errors for policy files: every problem found while loading a policy (syntax, includes,
 * names, types, units, filters, examples) is a {@link Diagnostic}; loading collects all of them and
 * throws one {@link PolicyError}. Near names are suggested by edit distance ("did you mean ...").
 *
 * @module
 */
import type { Span } from "./ast.ts";

/** One located problem in a policy file. */
export interface Diagnostic {
  /** The file. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  /** What is wrong. */
  message: string;
  /** A one-line suggestion (`did you mean "x"?`). */
  hint?: string;
}

/** Formats a diagnostic as `file:line:col: error: message (hint: ...)`. */
export function formatDiagnostic(d: Diagnostic): string {
  const hint = d.hint === undefined ? "" : ` (hint: ${d.hint})`;
  return `${d.file}:${d.line}:${d.column}: error: ${d.message}${hint}`;
}

/** Loading a policy failed; {@link PolicyError.diagnostics} lists every problem found. */
export class PolicyError extends Error {
  /** Every diagnostic, in file and position order. */
  readonly diagnostics: readonly Diagnostic[];

  /**
   * Creates the error; the message is one formatted line per diagnostic.
   * @param diagnostics the problems (at least one)
   */
  constructor(diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"));
    this.name = "PolicyError";
    this.diagnostics = diagnostics;
  }
}

/** Collects diagnostics, dropping exact duplicates (a clause checked for several kinds). */
export class Diagnostics {
  readonly #list: Diagnostic[] = [];
  readonly #seen = new Set<string>();

  /**
   * Adds a diagnostic at a span.
   * @param span where
   * @param message what is wrong
   * @param hint an optional one-line suggestion
   */
  error(span: Span, message: string, hint?: string): void {
    this.add({ file: span.file, line: span.line, column: span.column, message, hint });
  }

  /** Adds a ready diagnostic (duplicates are dropped). */
  add(d: Diagnostic): void {
    const key = `${d.file}\0${d.line}\0${d.column}\0${d.message}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.#list.push(d);
  }

  /** How many were collected. */
  get count(): number {
    return this.#list.length;
  }

  /** The diagnostics, sorted by file order of appearance, then line and column. */
  sorted(): Diagnostic[] {
    const fileOrder = new Map<string, number>();
    for (const d of this.#list) if (!fileOrder.has(d.file)) fileOrder.set(d.file, fileOrder.size);
    return [...this.#list].map((d) => {
      const copy: Diagnostic = { file: d.file, line: d.line, column: d.column, message: d.message };
      if (d.hint !== undefined) copy.hint = d.hint;
      return copy;
    }).sort((a, b) =>
      (fileOrder.get(a.file) ?? 0) - (fileOrder.get(b.file) ?? 0) || a.line - b.line ||
      a.column - b.column
    );
  }

  /** Throws a {@link PolicyError} if anything was collected. */
  throwIfAny(): void {
    if (this.#list.length > 0) throw new PolicyError(this.sorted());
  }
}

/** Levenshtein distance between two strings (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidate nearest to `name`, if it is near enough to be a plausible typo: a candidate that
 * `name` is a prefix of (the shortest), else one within 2 edits, or a third of the name's length
 * for longer names. Ties go to the earlier candidate.
 */
export function nearest(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  let completion: string | undefined;
  for (const c of candidates) {
    if (c === name) continue;
    if (
      name.length > 0 && c.startsWith(name) &&
      (completion === undefined || c.length < completion.length)
    ) {
      completion = c;
    }
    const d = editDistance(name, c);
    if (d <= limit && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return completion ?? best;
}

/** A `did you mean "x"?` hint for the nearest candidate, or undefined. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const n = nearest(name, candidates);
  return n === undefined ? undefined : `did you mean "${n}"?`;
}
