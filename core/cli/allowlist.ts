/**
 * `allowlist`: show and change the signer's allowlist (core/node/allowlist.ts) in a data
 * directory, while the signer runs or not:
 *
 * - `mod.ts allowlist list --data-dir DIR` prints `{"network", "entries"}`;
 * - `mod.ts allowlist add ENTRY --data-dir DIR` and `remove ENTRY` print
 *   `{"entry", "changed", "entries"}` (the entry in canonical form; adding a present entry or
 *   removing an absent one changes nothing and succeeds).
 *
 * The allowlist is the document `node/allowlist` of the data directory's store
 * (`DIR/state.sqlite`), written with a versioned put. Every change is then appended to
 * `DIR/audit.log` as one fsynced JSON line, in the audit log's record shape (policy/audit.ts,
 * `AuditRecord`, so `readAuditLog` reads it) plus the entry:
 * `{"time": ISO 8601, "unix", "kind": "allowlist_add" | "allowlist_remove", "channel": null,
 * "outcome": "allow", "violations": [], "warnings": [], "entry": "<canonical entry>"}`.
 * (policy/audit.ts's `AuditLog` records policy decisions only, so the line is written here, with
 * the same file handling: mode 0600, append only, a partial last line ended first, synced.)
 *
 * The network comes from `DIR/signer.json`; the seed is never read.
 *
 * This file also holds the helpers the `approvals` command shares: {@link readDirConfig},
 * {@link withDirStore}, {@link appendAdminAudit}, {@link parseSubcommand}.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { scanForSecrets } from "../../policy/audit.ts";
import { openStore } from "../store/mod.ts";
import type { Store } from "../store/types.ts";
import {
  AllowlistError,
  loadAllowlist,
  parseAllowlistEntry,
  updateAllowlist,
} from "../node/allowlist.ts";
import { CliError, type CliIo, type Command, EXIT, printJson, UsageError } from "./command.ts";
import { CONFIG_FILE, parseConfig, type SignerConfig } from "./data_dir.ts";

/** The audit log's file name in the data directory. */
export const AUDIT_FILE = "audit.log";

/** Reads `DIR/signer.json` (not the seed). Throws {@link CliError}. */
export async function readDirConfig(dir: string): Promise<SignerConfig> {
  const path = join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "not found" : "cannot be read";
    throw new CliError(`${path} ${why} (is ${dir} a data directory made by init?)`);
  }
  try {
    return parseConfig(text, path);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** Opens the store of data directory `dir`, runs `body`, and closes the store. */
export async function withDirStore<T>(dir: string, body: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(dir);
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

/** One administrative change for the audit log. */
export interface AdminAuditRecord {
  /** Unix seconds. */
  unix: number;
  /** What happened (`allowlist_add`, `allowlist_remove`, `approval_approve`, `approval_deny`). */
  kind: string;
  /** What it happened to (a canonical allowlist entry, an approval id). */
  entry: string;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
}

/**
 * Appends `record` to `DIR/audit.log` as one JSON line (see the module documentation) and syncs
 * it to disk. Throws {@link CliError} when the file cannot be written.
 */
export async function appendAdminAudit(dir: string, record: AdminAuditRecord): Promise<void> {
  const path = join(dir, AUDIT_FILE);
  const line = {
    time: new Date(record.unix * 1000).toISOString(),
    unix: record.unix,
    kind: record.kind,
    channel: null,
    outcome: "allow",
    violations: [],
    warnings: [],
    entry: record.entry,
  };
  scanForSecrets(line);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
  } catch (e) {
    throw new CliError(`cannot open ${path} (${e instanceof Error ? e.name : "error"})`);
  }
  try {
    const info = await file.stat();
    let text = JSON.stringify(line) + "\n";
    if (info.size > 0) {
      const reader = await Deno.open(path, { read: true });
      try {
        await reader.seek(info.size - 1, Deno.SeekMode.Start);
        const last = new Uint8Array(1);
        await reader.read(last);
        if (last[0] !== 0x0a) text = "\n" + text;
      } finally {
        reader.close();
      }
    }
    await writeAll(file, new TextEncoder().encode(text));
    await file.syncData();
  } catch (e) {
    throw new CliError(`cannot write ${path} (${e instanceof Error ? e.name : "error"})`);
  } finally {
    file.close();
  }
}

function optionName(message: string): string {
  const m = /'(-{1,2}[A-Za-z0-9-]+)/.exec(message);
  return m ? m[1] : "an option";
}

/** A subcommand's parsed arguments. */
export interface SubcommandArgs {
  /** The subcommand (the first argument). */
  sub: string;
  /** Its positional arguments. */
  positionals: string[];
  /** Its options. */
  values: Record<string, string | boolean | undefined>;
}

/**
 * Parses `<sub> [positionals] [--options]` with `--help` always allowed. `subs` maps each
 * subcommand to its number of positional arguments. Errors are {@link UsageError}s that name the
 * option, never a value.
 */
export function parseSubcommand(
  args: string[],
  spec: { subs: Record<string, number>; options: Record<string, { type: "string" | "boolean" }> },
): SubcommandArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...spec.options, help: { type: "boolean", short: "h" } },
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
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const [sub, ...positionals] = parsed.positionals;
  if (values.help) return { sub: sub ?? "", positionals, values };
  const names = Object.keys(spec.subs);
  if (sub === undefined || !Object.hasOwn(spec.subs, sub)) {
    // The word is not echoed: it might be a mistyped secret.
    throw new UsageError(`expected one of: ${names.join(", ")}`);
  }
  if (positionals.length !== spec.subs[sub]) {
    throw new UsageError(
      spec.subs[sub] === 0
        ? `${sub} takes no arguments besides options`
        : `${sub} takes exactly ${spec.subs[sub]} argument`,
    );
  }
  return { sub, positionals, values };
}

/** The string option `name` (required). */
export function requiredOption(values: SubcommandArgs["values"], name: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`missing required option --${name}`);
  return v;
}

const USAGE = `usage: mod.ts allowlist list --data-dir DIR
       mod.ts allowlist add ENTRY --data-dir DIR
       mod.ts allowlist remove ENTRY --data-dir DIR

Show or change the allowlist of the signer in DIR (the store DIR/state.sqlite; the signer may be
running). Destinations on the allowlist may be paid on chain without approval; payees on it are
approved automatically. Each change is appended to DIR/audit.log.

ENTRY is one of:
  address:ADDRESS            an address of the signer's network (ADDRESS alone also works)
  xpub:XPUB[/C][@FIRST-LAST] the P2WPKH, P2PKH and P2TR (BIP-86) scripts of keys XPUB/C/i for
                             FIRST <= i <= LAST (C defaults to 0, the range to 0-999; at most
                             10000 keys); tpub on the test networks
  payee:NODE_ID              a 33-byte node id in hex: its invoices are approved automatically

Prints one JSON object: list {"network", "entries"}; add and remove {"entry" (canonical),
"changed", "entries"}. Adding a present entry or removing an absent one changes nothing.

  --data-dir DIR        the data directory (made by init)`;

/** `allowlist`. */
export const allowlistCommand: Command = {
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseSubcommand(args, {
      subs: { list: 0, add: 1, remove: 1 },
      options: { "data-dir": { type: "string" } },
    });
    if (parsed.values.help) {
      io.stdout(USAGE + "\n");
      return EXIT.OK;
    }
    const dir = requiredOption(parsed.values, "data-dir");
    const { network } = await readDirConfig(dir);
    if (parsed.sub === "list") {
      const { allowlist } = await withDirStore(dir, (store) => loadAllowlist(store, network));
      printJson(io, { network, entries: allowlist.entries });
      return EXIT.OK;
    }
    const adding = parsed.sub === "add";
    let canonical: string;
    try {
      canonical = parseAllowlistEntry(parsed.positionals[0], network).text;
    } catch (e) {
      if (e instanceof AllowlistError) throw new UsageError(e.message);
      throw e;
    }
    const update = await withDirStore(
      dir,
      (store) =>
        updateAllowlist(store, network, (a) => adding ? a.add(canonical) : a.remove(canonical)),
    );
    if (update.changed) {
      const unix = Math.floor(Date.now() / 1000);
      try {
        await appendAdminAudit(dir, {
          unix,
          kind: adding ? "allowlist_add" : "allowlist_remove",
          entry: canonical,
        });
      } catch (e) {
        throw new CliError(
          `the allowlist was changed, but the audit log was not written: ${(e as Error).message}`,
        );
      }
    }
    printJson(io, { entry: canonical, changed: update.changed, entries: update.allowlist.entries });
    return EXIT.OK;
  },
};

/** The commands of this file. */
export const commands: Record<string, Command> = { allowlist: allowlistCommand };
