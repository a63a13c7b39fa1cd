/**
 * `policy`: the policy tools (policy/README.md, "Tools"), run as
 * `deno run -A mod.ts policy <subcommand> ...`:
 *
 * - `check FILE` parses and type-checks a policy against the signer's fact registry and prints a
 *   summary, or every problem as `file:line:col: error: message (hint: ...)` (exit 1);
 * - `test FILE` runs every rule example, like `opa test`: one line per failure, then `PASS: n/m`;
 * - `explain RULE` shows one rule of a policy (default: rules/default.policy of this repository);
 * - `fmt FILE...` prints, checks (`--check`) or rewrites (`--write`) files in canonical format;
 * - `diff OLD NEW` shows what a change does, rule by rule and parameter by parameter.
 *
 * Policies are loaded against {@link signerRegistry}, so a rule can only read facts the signer
 * computes. Exit codes: 0 success, 1 a problem with a policy (or a failing example, an unformatted
 * file), 2 bad usage.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { dirname, isAbsolute, relative } from "node:path";
import { CliError, type CliIo, type Command, EXIT, printJson, UsageError } from "./command.ts";
import { isNetwork, type Network, NETWORKS } from "../bitcoin/network.ts";
import { signerRegistry } from "../signer/registry.ts";
import { formatDiagnostic, PolicyError } from "../../policy/diagnostics.ts";
import { loadPolicy, type Policy } from "../../policy/engine.ts";
import { FormatError, formatPolicy } from "../../policy/format.ts";
import { diffPolicies, formatDiff } from "../../policy/diff.ts";
import {
  explainRule,
  findRule,
  formatExplanation,
  formatLocation,
  UnknownRuleError,
} from "../../policy/explain.ts";
import type { FactRegistry } from "../../policy/registry.ts";

type Values = Record<string, string | boolean | undefined>;
type Spec = Record<string, { type: "string" | "boolean" }>;

function optionName(message: string): string {
  const m = /'(-{1,2}[A-Za-z0-9-]+)/.exec(message);
  return m ? m[1] : "an option";
}

/**
 * Parses `args` strictly: known options only, and between `min` and `max` positional arguments.
 * Errors name the option, never a value.
 */
function parse(
  args: string[],
  spec: Spec,
  positionals: { min: number; max: number; what: string },
): { values: Values; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...spec, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const message = e instanceof Error ? e.message : "";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new UsageError(`unknown option ${optionName(message)}`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      throw new UsageError(
        /does not take an argument/.test(message)
          ? `option ${optionName(message)} takes no value`
          : `option ${optionName(message)} needs a value`,
      );
    }
    throw new UsageError("cannot parse the arguments");
  }
  const values = parsed.values as Values;
  if (!values.help) {
    const n = parsed.positionals.length;
    if (n < positionals.min || n > positionals.max) {
      throw new UsageError(`expected ${positionals.what}`);
    }
  }
  return { values, positionals: parsed.positionals };
}

function networkOption(values: Values): Network {
  const v = values.network;
  if (v === undefined) return "bitcoin";
  if (typeof v !== "string" || !isNetwork(v)) {
    throw new UsageError(`unknown network (expected one of ${NETWORKS.join(", ")})`);
  }
  return v;
}

/** rules/default.policy of this repository, relative to the working directory when inside it. */
export function defaultPolicyPath(): string {
  const path = fileURLToPath(new URL("../../rules/default.policy", import.meta.url));
  const rel = relative(Deno.cwd(), path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

/** Loads a policy; on problems prints every diagnostic to stderr and returns undefined. */
function load(
  path: string,
  io: CliIo,
  options: { registry: FactRegistry; network: Network; devAllowMandatoryDemotion?: boolean },
): Policy | undefined {
  try {
    return loadPolicy(path, options);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    if (e.diagnostics.length === 0) io.stderr(`error: cannot load ${path}\n`);
    for (const d of e.diagnostics) io.stderr(formatDiagnostic(d) + "\n");
    return undefined;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

// ---- check ----

const CHECK_USAGE =
  `usage: mod.ts policy check FILE [--network NETWORK] [--dev-allow-mandatory-demotion]

Parse FILE and its includes and type-check every rule against the signer's fact schemas. Prints a
summary (name, version, files, rules by severity, clauses by check and by request kind, parameters,
filters, examples, mandatory demotions) and exits 0, or prints every problem as
"file:line:col: error: message (hint: ...)" on stderr and exits 1.

  --network NETWORK               whose parameter values to load (${
    NETWORKS.join(", ")
  }; default bitcoin)
  --dev-allow-mandatory-demotion  let filters demote mandatory rules (development only; loud)`;

/** The summary `policy check` prints. */
export function checkSummary(policy: Policy): string {
  const m = policy.model;
  const rules = policy.rules;
  const mandatory = rules.filter((r) => r.mandatory).length;
  const temporary = rules.filter((r) => r.temporary).length;
  const clauses = rules.flatMap((r) => r.clauses);
  const limits = clauses.filter((c) => c.check === "limit").length;
  const perKind = new Map<string, number>();
  for (const c of clauses) for (const k of c.kinds) perKind.set(k, (perKind.get(k) ?? 0) + 1);
  const warn = policy.filters.filter((f) => f.action === "warn").length;
  const examples = rules.reduce((n, r) => n + r.examples.length, 0);
  const included = policy.files.map((f) => f.path).filter((p) => p !== m.file);
  const lines = [
    `policy "${policy.name}" version ${policy.version}: ok (network ${policy.network})`,
    `files: ${[m.file, ...included].join(", ")}`,
    `rules: ${rules.length} (${mandatory} mandatory, ${
      rules.length - mandatory
    } optional; ${temporary} temporary)`,
    `clauses: ${clauses.length} (${clauses.length - limits} require, ${limits} limit)`,
    `clauses per kind: ${
      [...perKind].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k} ${n}`).join(", ") ||
      "none"
    }`,
    `params: ${policy.params.length}`,
    `filters: ${policy.filters.length} (${warn} warn, ${policy.filters.length - warn} error)`,
    `examples: ${examples}`,
    `mandatory demotions: ${
      policy.mandatoryDemotions.length === 0 ? "none" : policy.mandatoryDemotions.length
    }`,
    ...policy.mandatoryDemotions.map((d) =>
      `  ${d.rule} demoted by filter ${d.pattern} at ${formatLocation(d.filter)}`
    ),
  ];
  return lines.join("\n") + "\n";
}

const DEMOTION_WARNING =
  "WARNING: --dev-allow-mandatory-demotion: filters may demote MANDATORY rules to warnings; " +
  "never use this in production\n";

function check(args: string[], io: CliIo): number {
  const { values, positionals } = parse(
    args,
    { network: { type: "string" }, "dev-allow-mandatory-demotion": { type: "boolean" } },
    { min: 1, max: 1, what: "one policy file" },
  );
  if (values.help) {
    io.stdout(CHECK_USAGE + "\n");
    return EXIT.OK;
  }
  const network = networkOption(values);
  const dev = values["dev-allow-mandatory-demotion"] === true;
  if (dev) io.stderr(DEMOTION_WARNING);
  const policy = load(positionals[0], io, {
    registry: signerRegistry(),
    network,
    devAllowMandatoryDemotion: dev,
  });
  if (policy === undefined) return EXIT.ERROR;
  for (const d of policy.mandatoryDemotions) {
    io.stderr(
      `WARNING: mandatory rule ${d.rule} is demoted to a warning by filter ${d.pattern} at ${
        formatLocation(d.filter)
      }\n`,
    );
  }
  io.stdout(checkSummary(policy));
  return EXIT.OK;
}

// ---- test ----

const TEST_USAGE = `usage: mod.ts policy test FILE [--network NETWORK] [--rule ID]

Run every rule example of FILE (and its includes). Prints one line per failing example (location,
rule, example, kind, expected and actual outcome, and what differs: the rule that refused instead,
the facts the rule read), then "PASS: n/m". Exits 1 on any failure or load error.

  --network NETWORK   the network to load the policy for (examples use their own network, default
                      bitcoin; ${NETWORKS.join(", ")})
  --rule ID           only the examples of this rule (an id or an alias)`;

function test(args: string[], io: CliIo): number {
  const { values, positionals } = parse(
    args,
    { network: { type: "string" }, rule: { type: "string" } },
    { min: 1, max: 1, what: "one policy file" },
  );
  if (values.help) {
    io.stdout(TEST_USAGE + "\n");
    return EXIT.OK;
  }
  const policy = load(positionals[0], io, {
    registry: signerRegistry(),
    network: networkOption(values),
  });
  if (policy === undefined) return EXIT.ERROR;
  let results = policy.runExamples();
  if (typeof values.rule === "string") {
    let id: string;
    try {
      id = findRule(policy, values.rule).id;
    } catch (e) {
      if (e instanceof UnknownRuleError) throw new CliError(e.message);
      throw e;
    }
    results = results.filter((r) => r.rule === id);
  }
  let passed = 0;
  for (const r of results) {
    if (r.passed) {
      passed++;
      continue;
    }
    const label = r.example === `#${r.index + 1}`
      ? `#${r.index + 1}`
      : `${JSON.stringify(r.example)} (#${r.index + 1})`;
    const actual = r.actual.outcome === "allow"
      ? "allow"
      : `refuse by ${r.actual.refusedBy.join(", ")}`;
    io.stdout(
      `${
        formatLocation(r.location)
      }: FAIL ${r.rule} example ${label} on ${r.kind}: expected ${r.expected}, got ${actual}: ${r.difference}\n`,
    );
  }
  io.stdout(`PASS: ${passed}/${results.length}\n`);
  return passed === results.length ? EXIT.OK : EXIT.ERROR;
}

// ---- explain ----

const EXPLAIN_USAGE =
  `usage: mod.ts policy explain RULE [--policy FILE] [--network NETWORK] [--json]

Show one rule (by id or alias): severity, description, source location and text, clauses, the
facts it reads (types and units), the parameters it reads with their values on NETWORK and on
every network and where each was set, the filters that match it, its examples.

  --policy FILE       the policy (default: rules/default.policy of this repository)
  --network NETWORK   whose parameter values to show first (${NETWORKS.join(", ")}; default bitcoin)
  --json              print the explanation as one JSON object`;

function explain(args: string[], io: CliIo): number {
  const { values, positionals } = parse(
    args,
    { policy: { type: "string" }, network: { type: "string" }, json: { type: "boolean" } },
    { min: 1, max: 1, what: "one rule id" },
  );
  if (values.help) {
    io.stdout(EXPLAIN_USAGE + "\n");
    return EXIT.OK;
  }
  const network = networkOption(values);
  const path = typeof values.policy === "string" ? values.policy : defaultPolicyPath();
  const registry = signerRegistry();
  const policy = load(path, io, { registry, network });
  if (policy === undefined) return EXIT.ERROR;
  let explanation;
  try {
    explanation = explainRule(policy, positionals[0], { registry });
  } catch (e) {
    if (e instanceof UnknownRuleError) throw new CliError(e.message);
    throw e;
  }
  if (values.json) printJson(io, explanation);
  else io.stdout(formatExplanation(explanation));
  return EXIT.OK;
}

// ---- fmt ----

const FMT_USAGE = `usage: mod.ts policy fmt FILE... [--write | --check]

Format policy files canonically (layout in policy/format.ts: fixed indentation, one item per
block, long expressions broken at and/or, comments kept in place; numbers keep their "_"
grouping as written). Formatting never changes the policy: the output parses to the same tree.

  (default)   print the formatted FILE (exactly one) on stdout
  --write     rewrite each FILE that is not formatted (atomically, keeping its mode)
  --check     print each FILE that is not formatted on stderr; exit 1 if any`;

async function writeAtomically(path: string, text: string): Promise<void> {
  const info = await Deno.stat(path);
  const tmp = `${dirname(path)}/.${path.split("/").pop()}.fmt-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(tmp, text, { mode: (info.mode ?? 0o644) & 0o777, createNew: true });
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

async function fmt(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(
    args,
    { write: { type: "boolean" }, check: { type: "boolean" } },
    { min: 1, max: Infinity, what: "a policy file" },
  );
  if (values.help) {
    io.stdout(FMT_USAGE + "\n");
    return EXIT.OK;
  }
  if (values.write && values.check) throw new UsageError("--write and --check exclude each other");
  if (!values.write && !values.check && positionals.length !== 1) {
    throw new UsageError("printing formats exactly one file (use --write or --check for several)");
  }
  let failed = 0;
  let unformatted = 0;
  for (const path of positionals) {
    let source: string;
    try {
      source = await Deno.readTextFile(path);
    } catch (e) {
      io.stderr(`error: cannot read ${path} (${e instanceof Error ? e.name : "error"})\n`);
      failed++;
      continue;
    }
    let out: string;
    try {
      out = formatPolicy(source, { file: path });
    } catch (e) {
      if (e instanceof PolicyError) {
        for (const d of e.diagnostics) io.stderr(formatDiagnostic(d) + "\n");
      } else if (e instanceof FormatError) io.stderr(`error: ${e.message}\n`);
      else throw e;
      failed++;
      continue;
    }
    if (values.check) {
      if (out !== source) {
        io.stderr(`${path}: not formatted\n`);
        unformatted++;
      }
    } else if (values.write) {
      if (out !== source) {
        await writeAtomically(path, out);
        io.stdout(`formatted ${path}\n`);
      }
    } else io.stdout(out);
  }
  if (unformatted > 0) {
    io.stderr(
      `error: ${plural(unformatted, "file")} not formatted (run mod.ts policy fmt --write)\n`,
    );
  }
  return failed + unformatted > 0 ? EXIT.ERROR : EXIT.OK;
}

// ---- diff ----

const DIFF_USAGE = `usage: mod.ts policy diff OLD NEW [--network NETWORK] [--json]

Load (and type-check) both policies and show what changes: rules added, removed and changed
(severity, what a violation does, description, aliases, kinds, each clause old and new,
examples), parameters added, removed and changed (values per network, old -> new, "tightening"
or "loosening" when the parameter's use tells), filters, included files. Sorted, stable text.
Exits 0 whatever the differences, 1 when a policy does not load.

  --network NETWORK   load both for this network and show only its parameter values
                      (${NETWORKS.join(", ")}; default: load for bitcoin, show every network)
  --json              print the differences as one JSON object`;

function diff(args: string[], io: CliIo): number {
  const { values, positionals } = parse(
    args,
    { network: { type: "string" }, json: { type: "boolean" } },
    { min: 2, max: 2, what: "two policy files: OLD NEW" },
  );
  if (values.help) {
    io.stdout(DIFF_USAGE + "\n");
    return EXIT.OK;
  }
  const network = networkOption(values);
  const registry = signerRegistry();
  const old = load(positionals[0], io, { registry, network });
  const now = load(positionals[1], io, { registry, network });
  if (old === undefined || now === undefined) return EXIT.ERROR;
  const d = diffPolicies(old, now, values.network === undefined ? {} : { network });
  if (values.json) printJson(io, d);
  else io.stdout(formatDiff(d));
  return EXIT.OK;
}

// ---- the group ----

const SUBCOMMANDS: Record<string, (args: string[], io: CliIo) => number | Promise<number>> = {
  check,
  test,
  explain,
  fmt,
  diff,
};

const POLICY_USAGE = `usage: mod.ts policy <subcommand> ARGUMENTS [--options]

The policy tools (policy/README.md). Policies are checked against the signer's fact registry.

subcommands:
  check FILE [--network N] [--dev-allow-mandatory-demotion]   parse and type-check; summary
  test FILE [--network N] [--rule ID]                          run the rule examples
  explain RULE [--policy FILE] [--network N] [--json]          show one rule
  fmt FILE... [--write | --check]                              canonical formatting
  diff OLD NEW [--network N] [--json]                          what a change does

Run \`mod.ts policy <subcommand> --help\` for details.
Exit codes: 0 success, 1 a policy problem (errors, failing examples, unformatted files),
2 usage error.`;

/** `policy`. */
export const policyCommand: Command = {
  usage: POLICY_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === undefined) {
      io.stderr(POLICY_USAGE + "\n");
      return EXIT.USAGE;
    }
    if (sub === "--help" || sub === "-h" || sub === "help") {
      io.stdout(POLICY_USAGE + "\n");
      return EXIT.OK;
    }
    const run = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
    if (run === undefined) {
      throw new UsageError(
        "unknown policy subcommand (expected check, test, explain, fmt or diff)",
      );
    }
    return await run(rest, io);
  },
};

/** The commands of this file. */
export const commands: Record<string, Command> = { policy: policyCommand };
