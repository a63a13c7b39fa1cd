/**
 * `policy check|test|explain|fmt|diff` through the real entry point (`deno run -A mod.ts policy
 * ...` as a subprocess, cwd the repository root) on the fixtures in ./fixtures, written over the
 * signer's real request kinds: exit codes, the exact key lines of the output, located errors.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const F = "tests/core/cli/fixtures";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "mod.ts", "policy", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

function usageError(run: Run, pattern: RegExp): void {
  strictEqual(run.code, 2, run.stderr);
  strictEqual(run.stdout, "");
  strictEqual(lines(run.stderr).length, 1, run.stderr);
  ok(pattern.test(run.stderr), run.stderr);
  ok(run.stderr.startsWith("error: "));
}

Deno.test("policy: usage, help and bad arguments", async () => {
  let r = await cli();
  strictEqual(r.code, 2);
  ok(r.stderr.startsWith("usage: mod.ts policy <subcommand>"));
  r = await cli("--help");
  strictEqual(r.code, 0);
  ok(r.stdout.includes("  check FILE [--network N] [--dev-allow-mandatory-demotion]"));
  r = await cli("check", "--help");
  strictEqual(r.code, 0);
  ok(r.stdout.startsWith("usage: mod.ts policy check FILE"));
  usageError(await cli("frobnicate"), /^error: unknown policy subcommand/);
  usageError(await cli("check"), /^error: expected one policy file \(see --help\)$/m);
  usageError(await cli("check", `${F}/valid.policy`, "--colour"), /unknown option --colour/);
  usageError(
    await cli("check", `${F}/valid.policy`, "--network", "mainnet"),
    /unknown network \(expected one of bitcoin, testnet, testnet4, signet, regtest\)/,
  );
  usageError(await cli("diff", `${F}/diff_old.policy`), /expected two policy files: OLD NEW/);
  usageError(
    await cli("fmt", `${F}/valid.policy`, "--write", "--check"),
    /--write and --check exclude each other/,
  );
  usageError(
    await cli("fmt", `${F}/valid.policy`, `${F}/site.policy`),
    /printing formats exactly one file/,
  );
  const help = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "mod.ts", "help"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  ok(new TextDecoder().decode(help.stdout).includes("policy"), "listed in the top-level usage");
});

Deno.test("policy check: a valid policy prints its summary", async () => {
  const r = await cli("check", `${F}/valid.policy`);
  strictEqual(r.code, 0, r.stderr);
  strictEqual(r.stderr, "");
  deepStrictEqual(lines(r.stdout), [
    'policy "cli-valid" version 3: ok (network bitcoin)',
    `files: ${F}/valid.policy`,
    "rules: 6 (2 mandatory, 4 optional; 1 temporary)",
    "clauses: 6 (5 require, 1 limit)",
    "clauses per kind: setup_channel 1, sign_counterparty_commitment 4, sign_mutual_close 1, " +
    "validate_holder_commitment 4",
    "params: 6",
    "filters: 1 (1 warn, 0 error)",
    "examples: 9",
    "mandatory demotions: none",
  ]);
});

Deno.test("policy check: a site policy with an include, on another network", async () => {
  const r = await cli("check", `${F}/site.policy`, "--network", "regtest");
  strictEqual(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  strictEqual(out[0], 'policy "cli-site" version 4: ok (network regtest)');
  strictEqual(out[1], `files: ${F}/site.policy, ${F}/valid.policy`);
  strictEqual(out[2], "rules: 7 (2 mandatory, 5 optional; 1 temporary)");
  strictEqual(out[6], "filters: 2 (2 warn, 0 error)");
});

Deno.test("policy check: every problem, located, with hints; exit 1", async () => {
  const r = await cli("check", `${F}/errors.policy`);
  strictEqual(r.code, 1);
  strictEqual(r.stdout, "");
  const e = `${F}/errors.policy`;
  deepStrictEqual(lines(r.stderr), [
    `${e}:6:3: error: param mixed has values of different types: sat and msat`,
    `${e}:7:16: error: unknown network mainnet (hint: the networks are bitcoin, testnet, testnet4, signet, regtest, and the group test)`,
    `${e}:9:43: error: unknown kind sign_counterparty_commitmnt (hint: did you mean "sign_counterparty_commitment"?)`,
    `${e}:12:11: error: unknown fact "commitment.fee_feerate_per_k" for kind sign_counterparty_commitment (hint: did you mean "commitment.fee_feerate_per_kw"?)`,
    `${e}:15:30: error: unit mismatch: sat > msat (hint: convert with msat(x) (sat to msat) or sat(x) (msat to sat, truncating))`,
    `${e}:18:36: error: unknown parameter param.max_htlc (hint: did you mean "param.max_htlcs"?)`,
    `${e}:19:6: error: rule r-unit is already defined (as a rule) at ${e}:13:6 (hint: rules are never replaced: tighten with a new rule or a parameter)`,
    `${e}:23:20: error: unknown fact "commitment.tx.versio" (hint: did you mean "commitment.tx.version"?)`,
    `${e}:25:8: error: filter would demote mandatory rule r-mandatory (hint: mandatory rules always refuse; only --dev-allow-mandatory-demotion lets a filter demote them)`,
    `${e}:26:8: error: filter names unknown rule r-nope`,
  ]);
});

Deno.test("policy check: syntax errors, missing includes and files", async () => {
  let r = await cli("check", `${F}/syntax.policy`);
  strictEqual(r.code, 1);
  deepStrictEqual(lines(r.stderr), [
    `${F}/syntax.policy:7:1: error: syntax error: expected ")", a unit, "-", "+", "/", "*", "and", "implies", or "or", found "rule"`,
  ]);
  r = await cli("check", `${F}/missing_include.policy`);
  strictEqual(r.code, 1);
  deepStrictEqual(lines(r.stderr), [
    `${F}/missing_include.policy:3:9: error: cannot read included file ${F}/no_such_file.policy (NotFound)`,
  ]);
  r = await cli("check", `${F}/absent.policy`);
  strictEqual(r.code, 1);
  deepStrictEqual(lines(r.stderr), [
    `${F}/absent.policy:1:1: error: cannot read ${F}/absent.policy (NotFound)`,
  ]);
});

Deno.test("policy check: mandatory demotion is an error, allowed loudly with the dev flag", async () => {
  let r = await cli("check", `${F}/demote.policy`);
  strictEqual(r.code, 1);
  deepStrictEqual(lines(r.stderr), [
    `${F}/demote.policy:6:8: error: filter would demote mandatory rule policy-commitment-version (hint: mandatory rules always refuse; only --dev-allow-mandatory-demotion lets a filter demote them)`,
  ]);
  r = await cli("check", `${F}/demote.policy`, "--dev-allow-mandatory-demotion");
  strictEqual(r.code, 0, r.stderr);
  deepStrictEqual(lines(r.stderr), [
    "WARNING: --dev-allow-mandatory-demotion: filters may demote MANDATORY rules to warnings; never use this in production",
    `WARNING: mandatory rule policy-commitment-version is demoted to a warning by filter policy-commitment-version at ${F}/demote.policy:6:1`,
  ]);
  const out = lines(r.stdout);
  ok(out.includes("mandatory demotions: 1"));
  ok(
    out.includes(
      `  policy-commitment-version demoted by filter policy-commitment-version at ${F}/demote.policy:6:1`,
    ),
  );
});

Deno.test("policy test: every example passes", async () => {
  let r = await cli("test", `${F}/valid.policy`);
  strictEqual(r.code, 0, r.stdout + r.stderr);
  strictEqual(r.stdout, "PASS: 15/15\n");
  r = await cli("test", `${F}/site.policy`);
  strictEqual(r.code, 0, r.stdout + r.stderr);
  strictEqual(r.stdout, "PASS: 16/16\n");
  r = await cli("test", `${F}/valid.policy`, "--rule", "policy-commitment-tx-version");
  strictEqual(r.stdout, "PASS: 4/4\n", "an alias selects its rule (2 examples x 2 kinds)");
});

Deno.test("policy test: failures name the rule, example, location and what differs", async () => {
  const r = await cli("test", `${F}/failing.policy`);
  strictEqual(r.code, 1);
  const at = `${F}/failing.policy`;
  deepStrictEqual(lines(r.stdout), [
    `${at}:11:3: FAIL policy-commitment-htlc-count-limit example "too many" (#2) on sign_counterparty_commitment: expected allow, got refuse by policy-commitment-htlc-count-limit: expected allow, but policy-commitment-htlc-count-limit refuses (read: commitment.htlc_count = "11", param.max_htlcs = "10")`,
    `${at}:12:3: FAIL policy-commitment-htlc-count-limit example "not enough to refuse" (#3) on sign_counterparty_commitment: expected refuse, got allow: expected policy-commitment-htlc-count-limit to refuse, but it allows`,
    `${at}:18:3: FAIL policy-commitment-version example "another rule refuses instead" (#1) on sign_counterparty_commitment: expected refuse, got refuse by policy-commitment-htlc-count-limit: expected policy-commitment-version to refuse, but it allows; refused by policy-commitment-htlc-count-limit`,
    `${at}:19:3: FAIL policy-commitment-version example #2 on sign_counterparty_commitment: expected refuse, got allow: the example does not give commitment.tx.version, which the rule reads`,
    "PASS: 1/5",
  ]);
  const one = await cli("test", at, "--rule", "policy-commitment-htlc-count-limit");
  strictEqual(one.code, 1);
  strictEqual(lines(one.stdout).at(-1), "PASS: 1/3");
  const unknown = await cli("test", at, "--rule", "policy-commitment-versio");
  strictEqual(unknown.code, 1);
  strictEqual(
    unknown.stderr,
    'error: unknown rule policy-commitment-versio (hint: did you mean "policy-commitment-version"?)\n',
  );
  const broken = await cli("test", `${F}/syntax.policy`);
  strictEqual(broken.code, 1);
  ok(broken.stderr.startsWith(`${F}/syntax.policy:7:1: error: syntax error`));
});

Deno.test("policy explain: severity, source, facts, parameter values and history, filters", async () => {
  const r = await cli(
    "explain",
    "policy-commitment-fee-range",
    "--policy",
    `${F}/site.policy`,
    "--network",
    "regtest",
  );
  strictEqual(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  const expectLines = [
    "rule policy-commitment-fee-range",
    "  aliases: none",
    `  severity: optional; violations are warnings: demoted by filter policy-commitment-fee-range warn at ${F}/site.policy:16:1`,
    "  description: The commitment's feerate is within the configured range.",
    `  defined at: ${F}/valid.policy:19:1`,
    "  | rule policy-commitment-fee-range",
    "  |   require commitment.fee_feerate_per_kw between param.min_feerate_per_kw",
    `  clause 0 at ${F}/valid.policy:21:3`,
    "    on sign_counterparty_commitment, validate_holder_commitment",
    "    require commitment.fee_feerate_per_kw between param.min_feerate_per_kw and param.max_feerate_per_kw",
    "  commitment.fee_feerate_per_kw: integer in per-kw (on sign_counterparty_commitment, validate_holder_commitment)",
    "parameters read (values on regtest):",
    "  param.max_feerate_per_kw = 500_000 per-kw  (per-kw)",
    "    values: bitcoin 25_000 per-kw; testnet, testnet4, signet 333_333 per-kw; regtest 500_000 per-kw",
    `    defined at ${F}/valid.policy:5:1: bitcoin 25_000 per-kw; testnet, testnet4, signet, regtest 333_333 per-kw`,
    `    overridden at ${F}/site.policy:6:1: regtest 500_000 per-kw`,
    `    regtest value set at ${F}/site.policy:6:1`,
    `  filter policy-commitment-fee-range warn at ${F}/site.policy:16:1: decides: demotes violations to warnings`,
    "examples: 3",
    `  allow "high but on regtest" at ${F}/valid.policy:26:3`,
  ];
  for (const l of expectLines) ok(out.includes(l), `missing line: ${l}\n${r.stdout}`);
});

Deno.test("policy explain: aliases, limits, JSON, unknown rules", async () => {
  let r = await cli("explain", "policy-commitment-tx-version", "--policy", `${F}/valid.policy`);
  strictEqual(r.code, 0, r.stderr);
  ok(r.stdout.startsWith(
    "rule policy-commitment-version (asked as its alias policy-commitment-tx-version)\n" +
      "  aliases: policy-commitment-tx-version\n" +
      "  severity: mandatory; violations refuse (no filter matches)\n",
  ));
  r = await cli("explain", "policy-mutual-fee-velocity", "--policy", `${F}/valid.policy`);
  ok(
    lines(r.stdout).includes(
      "    limit sum msat(close.fee_sat) over 24h (86400 seconds) <= param.max_close_fees_msat_per_day",
    ),
  );
  ok(lines(r.stdout).includes("  close.fee_sat: integer in sat (on sign_mutual_close)"));
  r = await cli(
    "explain",
    "policy-commitment-spends-active-utxo",
    "--policy",
    `${F}/valid.policy`,
    "--json",
  );
  strictEqual(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  strictEqual(j.id, "policy-commitment-spends-active-utxo");
  strictEqual(j.severity, "mandatory, temporary");
  strictEqual(j.action, "error");
  strictEqual(j.clauses[0].guard, "commitment.advances_state and commitment.number > 0");
  deepStrictEqual(j.facts.map((f: { path: string; unit: string | null }) => [f.path, f.unit]), [
    ["commitment.advances_state", null],
    ["commitment.number", null],
    ["channel.funding_depth", "blocks"],
  ]);
  deepStrictEqual(j.params[0].values.bitcoin, "1 blocks");
  r = await cli("explain", "policy-commitment-fee-rang", "--policy", `${F}/valid.policy`);
  strictEqual(r.code, 1);
  strictEqual(r.stdout, "");
  strictEqual(
    r.stderr,
    'error: unknown rule policy-commitment-fee-rang (hint: did you mean "policy-commitment-fee-range"?)\n',
  );
  r = await cli("explain", "x", "--policy", `${F}/errors.policy`);
  strictEqual(r.code, 1);
  ok(r.stderr.startsWith(`${F}/errors.policy:6:3: error:`), "a policy that does not load");
});

Deno.test("policy explain: the default policy is rules/default.policy of the repository", async () => {
  const r = await cli("explain", "policy-commitment-fee-range");
  if (r.code === 0) {
    ok(/^ {2}defined at: rules\/default\.policy:\d+:\d+$/m.test(r.stdout), r.stdout);
  } else {
    ok(r.stderr.includes("rules/default.policy"), r.stderr);
  }
});

const FORMATTED = `# Not in canonical format: spacing, a long condition, comments in several places.
policy "cli-unformatted" version 2

param max_htlcs "Most HTLCs." = 483  # the BOLT #2 maximum
  on regtest = 30

rule policy-commitment-htlc-count-limit
  "A commitment carries at most max_htlcs HTLCs."
  on sign_counterparty_commitment, validate_holder_commitment
  require commitment.htlc_count <= param.max_htlcs
          and (commitment.number == 0 implies commitment.htlc_count == 0)  # first
  example allow { commitment.htlc_count: 3, commitment.number: 1 }

filter policy-commitment-htlc-count-limit warn
`;

Deno.test("policy fmt: prints, checks and rewrites", async () => {
  let r = await cli("fmt", `${F}/unformatted.policy`);
  strictEqual(r.code, 0, r.stderr);
  strictEqual(r.stdout, FORMATTED);
  r = await cli("fmt", "--check", `${F}/valid.policy`, `${F}/site.policy`);
  strictEqual(r.code, 0, r.stderr);
  strictEqual(r.stdout + r.stderr, "");
  r = await cli("fmt", "--check", `${F}/valid.policy`, `${F}/unformatted.policy`);
  strictEqual(r.code, 1);
  deepStrictEqual(lines(r.stderr), [
    `${F}/unformatted.policy: not formatted`,
    "error: 1 file not formatted (run mod.ts policy fmt --write)",
  ]);
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/copy.policy`;
    await Deno.copyFile(`${ROOT}${F}/unformatted.policy`, path);
    await Deno.chmod(path, 0o640);
    r = await cli("fmt", "--write", path);
    strictEqual(r.code, 0, r.stderr);
    strictEqual(r.stdout, `formatted ${path}\n`);
    strictEqual(await Deno.readTextFile(path), FORMATTED);
    strictEqual(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o640);
    deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["copy.policy"]);
    r = await cli("fmt", "--write", path);
    strictEqual(r.stdout, "", "nothing to rewrite the second time");
    r = await cli("fmt", "--check", path);
    strictEqual(r.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  r = await cli("fmt", `${F}/syntax.policy`);
  strictEqual(r.code, 1);
  strictEqual(r.stdout, "");
  ok(r.stderr.startsWith(`${F}/syntax.policy:7:1: error: syntax error`));
  r = await cli("fmt", "--check", `${F}/absent.policy`);
  strictEqual(r.code, 1);
  strictEqual(r.stderr, `error: cannot read ${F}/absent.policy (NotFound)\n`);
});

Deno.test("policy diff: rule by rule and parameter by parameter", async () => {
  const r = await cli("diff", `${F}/diff_old.policy`, `${F}/diff_new.policy`);
  strictEqual(r.code, 0, r.stderr);
  strictEqual(
    r.stdout,
    `--- ${F}/diff_old.policy: policy "cli-diff" version 1
+++ ${F}/diff_new.policy: policy "cli-diff" version 2
version: 1 -> 2
params:
  ~ max_feerate_per_kw (upper bound)
      bitcoin: 25_000 per-kw -> 20_000 per-kw (tightening)
      testnet, testnet4, signet, regtest: 333_333 per-kw -> 400_000 per-kw (loosening)
  + new_only (sat): 5 sat on every network at ${F}/diff_new.policy:9:1
  - old_only (blocks): was 1 blocks on every network
  ~ safe_commitment_types (allowed values)
      every network: ["static_remotekey", "anchors_zero_fee_htlc"] -> ["anchors_zero_fee_htlc"] (tightening)
rules:
  ~ policy-channel-safe-type at ${F}/diff_new.policy:23:1
      violations: warn (filter policy-channel-safe-type) -> error (filter policy-channel-safe-type)
  ~ policy-commitment-fee-range at ${F}/diff_new.policy:11:1
      severity: optional -> mandatory
      description:
        - The commitment's feerate is within the configured range.
        + The commitment's feerate is within the configured range (now mandatory).
      kinds: + validate_holder_commitment
      clause 0 changed (kinds):
        - on sign_counterparty_commitment require commitment.fee_feerate_per_kw between param.min_feerate_per_kw and param.max_feerate_per_kw
        + on sign_counterparty_commitment, validate_holder_commitment require commitment.fee_feerate_per_kw between param.min_feerate_per_kw and param.max_feerate_per_kw
      examples: + refuse "too low", - refuse "too high"
  ~ policy-commitment-htlc-count-limit at ${F}/diff_new.policy:18:1
      violations: warn (filter policy-commitment-htlc-count-limit) -> error
      clause 0 changed (check):
        - on sign_counterparty_commitment require commitment.htlc_count <= param.max_htlcs
        + on sign_counterparty_commitment require commitment.htlc_count <= param.max_htlcs - 1
  + policy-new-rule (optional) at ${F}/diff_new.policy:28:1
  - policy-old-rule (optional) at ${F}/diff_old.policy:29:1
filters:
  ~ policy-channel-safe-type: warn -> error
  - policy-commitment-htlc-count-limit warn
`,
  );
});

Deno.test("policy diff: --json, --network, identical files, load errors", async () => {
  let r = await cli("diff", `${F}/diff_old.policy`, `${F}/diff_new.policy`, "--json");
  strictEqual(r.code, 0, r.stderr);
  strictEqual(lines(r.stdout).length, 1);
  const d = JSON.parse(r.stdout);
  deepStrictEqual(d.rules.added.map((x: { id: string }) => x.id), ["policy-new-rule"]);
  deepStrictEqual(d.rules.removed.map((x: { id: string }) => x.id), ["policy-old-rule"]);
  deepStrictEqual(d.params.changed[0], {
    name: "max_feerate_per_kw",
    values: [
      { networks: ["bitcoin"], old: "25_000 per-kw", new: "20_000 per-kw", effect: "tightening" },
      {
        networks: ["testnet", "testnet4", "signet", "regtest"],
        old: "333_333 per-kw",
        new: "400_000 per-kw",
        effect: "loosening",
      },
    ],
    use: "upper bound",
  });
  r = await cli("diff", `${F}/diff_old.policy`, `${F}/diff_new.policy`, "--network", "regtest");
  const out = lines(r.stdout);
  ok(out.includes("      regtest: 333_333 per-kw -> 400_000 per-kw (loosening)"));
  ok(!out.some((l) => l.includes("bitcoin:")));
  r = await cli("diff", `${F}/valid.policy`, `${F}/valid.policy`);
  strictEqual(r.code, 0);
  strictEqual(lines(r.stdout).at(-1), "no differences");
  r = await cli("diff", `${F}/valid.policy`, `${F}/site.policy`);
  ok(lines(r.stdout).includes("includes:"));
  ok(lines(r.stdout).includes("  + valid.policy"));
  ok(lines(r.stdout).includes("  ~ max_htlcs (upper bound)"));
  ok(lines(r.stdout).includes("      every network: 483 -> 30 (tightening)"));
  r = await cli("diff", `${F}/valid.policy`, `${F}/errors.policy`);
  strictEqual(r.code, 1);
  strictEqual(r.stdout, "");
  ok(r.stderr.startsWith(`${F}/errors.policy:6:3: error:`));
});
