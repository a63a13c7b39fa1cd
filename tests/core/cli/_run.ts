/**
 * Runs the CLI as a subprocess (`deno run -A mod.ts ...` from the repository root) and checks the
 * one-line output conventions; makes temporary data directories with `init`.
 *
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** One run's exit code and output. */
export interface Run {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Runs `mod.ts` with `args`. */
export async function cli(...args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "mod.ts", ...args],
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

/** A successful run: exit 0, nothing on stderr, one JSON line on stdout (returned parsed). */
export function okJson(run: Run): Record<string, unknown> {
  strictEqual(run.code, 0, run.stderr);
  strictEqual(run.stderr, "");
  strictEqual(run.stdout.endsWith("\n"), true);
  strictEqual(run.stdout.trimEnd().includes("\n"), false, "exactly one line on stdout");
  return JSON.parse(run.stdout);
}

/**
 * A failed run: exit `code`, exactly one `error:` line on stderr matching `pattern`, and nothing
 * on stdout unless `printsVerdict` (commands that print a verdict before failing).
 */
export function failed(run: Run, code: number, pattern: RegExp, printsVerdict = false): void {
  strictEqual(run.code, code, `exit code; stderr: ${run.stderr}`);
  if (!printsVerdict) strictEqual(run.stdout, "");
  const lines = run.stderr.slice(0, -1).split("\n");
  strictEqual(run.stderr.endsWith("\n"), true);
  strictEqual(lines.length, 1, `one line on stderr, got: ${run.stderr}`);
  ok(lines[0].startsWith("error: "), lines[0]);
  ok(pattern.test(lines[0]), `${lines[0]} should match ${pattern}`);
}

/** A fixed seed (never printed by the commands under test). */
export const SEED_HEX = "5a".repeat(32);

/** A new data directory for `network` (made by `init`), inside a fresh temporary directory. */
export async function dataDir(network: string): Promise<string> {
  const dir = join(await Deno.makeTempDir({ prefix: "warden-cli-" }), "node");
  const run = await cli("init", "--data-dir", dir, "--network", network, "--seed-hex", SEED_HEX);
  strictEqual(run.code, 0, run.stderr);
  return dir;
}
