/**
 * The command-line interface: `deno run -A mod.ts <command> [--options]`.
 *
 * Commands live in their own files, one file per command group, each exporting
 * `commands: Record<string, Command>` (see `command.ts`). To add a group, add one entry to
 * {@link COMMAND_GROUPS}: the command names with their one-line summaries and a loader; the
 * file is imported only when one of its commands runs.
 *
 * Exit codes: 0 success, 1 error, 2 usage error. Errors are one line on stderr, `error: ...`.
 *
 * @module
 */
import { type CliIo, type CommandModule, denoIo, EXIT, UsageError } from "./command.ts";

export { type CliIo, type Command, type CommandModule, EXIT } from "./command.ts";

/** One command group: its commands (name to summary) and how to load its file. */
export interface CommandGroup {
  /** Command names and their one-line summaries, in display order. */
  commands: Record<string, string>;
  /** Import the group's file. */
  load(): Promise<CommandModule>;
}

/** Every command group. Add new groups here (policy, run, replay, allowlist, ...). */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  {
    commands: {
      init: "create a data directory with a new (or given) seed and print its public keys",
      info: "print the public keys of an existing data directory",
    },
    load: () => import("./init.ts"),
  },
  {
    commands: {
      policy: "policy files: check, test, explain, fmt (format), diff (compare)",
    },
    load: () => import("./policy.ts"),
  },
  {
    commands: {
      allowlist: "show or change the allowlist of a data directory (list, add, remove)",
    },
    load: () => import("./allowlist.ts"),
  },
  {
    commands: {
      approvals: "answer the signer's approval queue (list, approve, deny)",
    },
    load: () => import("./approvals.ts"),
  },
  {
    commands: {
      heartbeat: "verify a signed heartbeat: signature, staleness, future dating (verify)",
    },
    load: () => import("./heartbeat.ts"),
  },
  {
    commands: {
      run: "run the signer: serve a node over tcp://, ws(s):// or a serial device, locked down",
    },
    load: () => import("./run.ts"),
  },
  {
    commands: {
      replay: "replay recorded traffic against a fresh signer and report changed decisions",
    },
    load: () => import("./replay.ts"),
  },
];

/** The top-level usage text. */
export function usage(): string {
  const names = COMMAND_GROUPS.flatMap((g) => Object.entries(g.commands));
  const width = Math.max(...names.map(([n]) => n.length)) + 2;
  return [
    "Warden: a validating Lightning signer.",
    "",
    "usage: deno run -A mod.ts <command> [--options]",
    "       deno run -A mod.ts help [command]",
    "",
    "commands:",
    ...names.map(([name, summary]) => `  ${name.padEnd(width)}${summary}`),
    "",
    "Run `mod.ts <command> --help` for a command's options.",
    "Exit codes: 0 success, 1 error, 2 usage error.",
  ].join("\n");
}

function findGroup(name: string): CommandGroup | undefined {
  return COMMAND_GROUPS.find((g) => Object.hasOwn(g.commands, name));
}

/** One line, without control characters. */
function oneLine(text: string): string {
  let out = "";
  for (const ch of text) out += ch < " " || ch === "\x7f" ? " " : ch;
  return out.replace(/ +/g, " ").trim();
}

async function dispatch(args: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h") {
    if (name === undefined) {
      io.stderr(usage() + "\n");
      return EXIT.USAGE;
    }
    io.stdout(usage() + "\n");
    return EXIT.OK;
  }
  if (name === "help") {
    if (rest.length === 0) {
      io.stdout(usage() + "\n");
      return EXIT.OK;
    }
    const group = findGroup(rest[0]);
    if (!group || rest.length > 1) throw new UsageError("help takes one known command name");
    const command = (await group.load()).commands[rest[0]];
    io.stdout(command.usage + "\n");
    return EXIT.OK;
  }
  const group = findGroup(name);
  if (!group) {
    // The name is not echoed: it might be a mistyped secret.
    throw new UsageError("unknown command (run `mod.ts help` for the list)");
  }
  const command = (await group.load()).commands[name];
  if (!command) throw new Error(`command ${name} is listed but not exported`);
  return await command.run(rest, io);
}

/**
 * Run the CLI with `args` (without the program name) and return the exit code. Output goes to
 * `io` (default: the process's stdout and stderr).
 */
export async function main(args: string[], io: CliIo = denoIo): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`error: ${oneLine(e.message)} (see --help)\n`);
      return EXIT.USAGE;
    }
    const message = e instanceof Error ? oneLine(e.message) : "unexpected failure";
    io.stderr(`error: ${message || "unexpected failure"}\n`);
    return EXIT.ERROR;
  }
}
