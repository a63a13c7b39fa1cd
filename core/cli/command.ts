/**
 * Shared pieces of the command-line interface: the command shape every command file exports,
 * output streams, the two error kinds (usage and runtime) with their exit codes, and option
 * parsing on `node:util` `parseArgs` whose errors never echo argument values (a mistyped option
 * could carry a seed).
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Exit codes: success, runtime error, usage error. */
export const EXIT = { OK: 0, ERROR: 1, USAGE: 2 } as const;

/** Where a command writes. Each call writes the text as given (add `\n` yourself). */
export interface CliIo {
  /** Standard output. */
  stdout(text: string): void;
  /** Standard error. */
  stderr(text: string): void;
}

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = new TextEncoder().encode(text);
  for (let off = 0; off < bytes.length;) off += file.writeSync(bytes.subarray(off));
}

/** The process's stdout and stderr. */
export const denoIo: CliIo = {
  stdout: (text) => writeAll(Deno.stdout, text),
  stderr: (text) => writeAll(Deno.stderr, text),
};

/** One subcommand. */
export interface Command {
  /** Full usage text (several lines, no trailing newline). */
  usage: string;
  /** Run with the arguments after the command name; resolves to the exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** What every command file exports: its commands by name. */
export interface CommandModule {
  /** Commands of this group by name. */
  commands: Record<string, Command>;
}

/** Bad command-line usage (exit code 2). The message never contains argument values. */
export class UsageError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong, in words
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A command failed (exit code 1). The message never contains secrets. */
export class CliError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong, in words
   */
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** Option declarations for {@link parseOptions}: every option is a string or a boolean flag. */
export type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

/** Parsed options: strings for string options, booleans for flags; absent when not given. */
export type ParsedOptions = Record<string, string | boolean | undefined>;

function optionName(message: string): string {
  const m = /'(-{1,2}[A-Za-z0-9-]+)/.exec(message);
  return m ? m[1] : "an option";
}

/**
 * Parse `args` strictly (no positionals, no unknown options). Errors become {@link UsageError}s
 * with our own wording, which names the option but never repeats a value.
 */
export function parseOptions(args: string[], options: OptionSpec): ParsedOptions {
  try {
    const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
    return values as ParsedOptions;
  } catch (e) {
    const code = (e as { code?: string }).code;
    const message = e instanceof Error ? e.message : "";
    switch (code) {
      case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
        throw new UsageError(`unknown option ${optionName(message)}`);
      case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
        throw new UsageError(
          /does not take an argument/.test(message)
            ? `option ${optionName(message)} takes no value`
            : `option ${optionName(message)} needs a value`,
        );
      case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
        throw new UsageError("unexpected argument (this command takes only --options)");
      default:
        throw new UsageError("cannot parse the arguments");
    }
  }
}

/** The string option `name`, or a {@link UsageError} if it is missing or empty. */
export function requireString(values: ParsedOptions, name: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`missing required option --${name}`);
  return v;
}

/** Write `value` as one line of JSON on stdout. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout(JSON.stringify(value) + "\n");
}
