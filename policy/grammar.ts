/**
 * The policy grammar's text, embedded so that a locked-down signer (no read permission on its own
 * source) can build the parser. The source of truth is `policy/policy.ohm`; a test asserts the two
 * are equal. Regenerate this file with
 * `deno run --allow-read --allow-write policy/grammar.ts`.
 *
 * @module
 */

/** The ohm-js grammar of the policy language (a copy of `policy/policy.ohm`). */
export const GRAMMAR_SOURCE: string = String
  .raw`// The Warden policy language (policy/README.md). Source of truth for policy/grammar.ts, which embeds
// this text; regenerate it with deno run --allow-read --allow-write policy/grammar.ts.
Policy {
  File = Header Item*

  Header = kw<"policy"> string kw<"version"> int

  Item = Include | Param | Rule | Filter

  Include = kw<"include"> string

  Param = kw<"param"> ident string? ParamDefault? ParamOn*
  ParamDefault = "=" Expr
  ParamOn = kw<"on"> NonemptyListOf<ident, ","> "=" Expr

  Rule = kw<"rule"> ruleId Modifier* Alias* string Clause+ Example*
  Modifier = kw<"mandatory"> | kw<"temporary">
  Alias = kw<"alias"> ruleId

  Clause = kw<"on"> NonemptyListOf<ident, ","> Guard? Body
  Guard = kw<"when"> Expr
  Body = Require | Limit
  Require = kw<"require"> Expr
  Limit = kw<"limit"> kw<"sum"> Expr kw<"over"> Window "<=" Expr
  Window = duration | Quantity

  Filter = kw<"filter"> rulePattern FilterAction
  FilterAction = kw<"warn"> | kw<"error">

  Example = kw<"example"> Expectation string? ExampleKind? Object ExampleOption*
  Expectation = kw<"allow"> | kw<"refuse">
  ExampleKind = kw<"on"> ident
  ExampleOption = kw<"network"> ident  -- network
                | kw<"with"> ident List -- set
                | kw<"history"> List    -- history

  // Expressions, lowest precedence first.
  Expr = Implies

  Implies = Or kw<"implies"> Implies -- implies
          | Or

  Or = Or kw<"or"> And -- or
     | And

  And = And kw<"and"> Not -- and
      | Not

  Not = kw<"not"> Not -- not
      | Compare

  Compare = Additive CompareOp Additive                      -- compare
          | Additive kw<"between"> Additive kw<"and"> Additive -- between
          | Additive kw<"not"> kw<"in"> Additive             -- notIn
          | Additive kw<"in"> Additive                       -- in
          | Additive

  CompareOp = "==" | "!=" | "<=" | ">=" | "<" | ">"

  Additive = Additive "+" Multiplicative -- add
           | Additive "-" Multiplicative -- sub
           | Multiplicative

  Multiplicative = Multiplicative "*" Unary -- mul
                 | Multiplicative "/" Unary -- div
                 | Unary

  Unary = "-" Unary -- neg
        | Primary

  Primary = Quantifier
          | Count
          | SumOf
          | Call
          | Conditional
          | "(" Expr ")" -- paren
          | List
          | Object
          | bytes
          | duration
          | Quantity
          | boolean
          | string
          | path

  Quantifier = (kw<"all"> | kw<"any">) ident kw<"in"> Additive ":" Expr
  Count = kw<"count"> "(" ident kw<"in"> Expr ":" Expr ")" -- where
        | kw<"count"> "(" Expr ")"                          -- plain
  SumOf = kw<"sum"> "(" ident kw<"in"> Expr ":" Expr ")"
  Call = function "(" ListOf<Expr, ","> ")"
  Conditional = kw<"if"> Expr kw<"then"> Expr kw<"else"> Expr

  List = "[" ListOf<Expr, ","> ","? "]"
  Object = "{" ListOf<Entry, ","> ","? "}"
  Entry = key ":" Expr

  Quantity = int unit?

  // Lexical rules: no spaces inside.
  kw<word> = word ~idChar
  idChar = alnum | "_"
  reserved = ("and" | "or" | "not" | "implies" | "between" | "in" | "all" | "any" | "if"
             | "then" | "else" | "true" | "false") ~idChar
  ident (an identifier) = ~reserved letter idChar*
  name (a name) = letter idChar*
  path (a name) = ident ("." name)*
  key (a fact name) = name ("." name)*
  ruleId (a rule id) = alnum (alnum | "-" | "_")*
  rulePattern (a rule id or prefix*) = (alnum | "-" | "_")* "*" -- prefix
                                     | ruleId                  -- exact
  function = ("min" | "max" | "msat" | "sat" | "len") ~idChar
  unit (a unit) = ("per-kw" | "msat" | "sat" | "blocks" | "seconds") ~idChar
  int (an integer) = digit+ ("_" digit+)*
  duration (a duration) = int ("s" | "m" | "h" | "d") ~idChar
  bytes (hex bytes) = "0x" hexDigit* ~idChar
  boolean = kw<"true"> | kw<"false">
  string (a string) = "\"" stringChar* "\""
  stringChar = "\\" any -- escape
             | ~("\"" | "\\") any -- plain

  space += comment
  comment = "#" (~"\n" any)* -- hash
          | "//" (~"\n" any)* -- slashes
}
`;

if (import.meta.main) {
  const source = Deno.readTextFileSync(new URL("./policy.ohm", import.meta.url));
  if (source.includes("`") || source.includes("${")) {
    throw new Error("policy.ohm may not contain a backtick or ${ (it is embedded in a template)");
  }
  const self = new URL(import.meta.url);
  const text = Deno.readTextFileSync(self);
  // The template starts at the first backtick after the constant's declaration (the formatter
  // may break `String.raw` over two lines) and ends at the first backtick-semicolon after it
  // (policy.ohm has no backtick).
  const start = text.indexOf("`", text.indexOf("export const GRAMMAR_SOURCE")) + 1;
  const end = text.indexOf("`;", start);
  Deno.writeTextFileSync(self, text.slice(0, start) + source + text.slice(end));
}
