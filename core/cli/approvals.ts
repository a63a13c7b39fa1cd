/**
 * `approvals`: answer the signer's approval queue (core/node/approvals.ts, `QueueApprover`) from
 * the command line, while the signer runs:
 *
 * - `mod.ts approvals list --data-dir DIR [--all]` prints `{"approvals": [entry, ...]}`, pending
 *   and decided entries that have not expired (with `--all`, expired ones too), oldest first;
 * - `mod.ts approvals approve ID --data-dir DIR` and `deny ID` decide a pending entry and print
 *   `{"id", "status", "changed", "entry"}`; deciding it the same way again changes nothing;
 *   an unknown, expired or oppositely decided entry is an error.
 *
 * Entries are documents `node/approval/<id>` of the data directory's store (`DIR/state.sqlite`),
 * changed with versioned writes; the signer reads them on every ask, so a decision applies to the
 * node's next retry. Amounts print as decimal strings. Every decision is appended to
 * `DIR/audit.log` (kinds `approval_approve` and `approval_deny`, `entry` = the id; see
 * core/cli/allowlist.ts for the line format).
 *
 * @module
 */
import {
  type ApprovalEntry,
  ApprovalError,
  decideApproval,
  listApprovals,
} from "../node/approvals.ts";
import { CliError, type CliIo, type Command, EXIT, printJson, UsageError } from "./command.ts";
import {
  appendAdminAudit,
  parseSubcommand,
  readDirConfig,
  requiredOption,
  withDirStore,
} from "./allowlist.ts";

/** An entry as printed: amounts as decimal strings. */
export function entryJson(entry: ApprovalEntry): unknown {
  return JSON.parse(
    JSON.stringify(entry, (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
  );
}

function clockOption(values: Record<string, string | boolean | undefined>): number {
  const v = values.now;
  if (v === undefined) return Math.floor(Date.now() / 1000);
  if (typeof v !== "string" || !/^[0-9]{1,15}$/.test(v)) {
    throw new UsageError("--now must be a number of seconds since the epoch");
  }
  return Number(v);
}

const USAGE = `usage: mod.ts approvals list --data-dir DIR [--all]
       mod.ts approvals approve ID --data-dir DIR
       mod.ts approvals deny ID --data-dir DIR

Answer the signer's approval queue in DIR (the store DIR/state.sqlite; the signer may be
running). A payment or on-chain transaction the approver queued waits as "pending" (the signer
refuses it temporarily, so the node retries); once approved or denied here, the node's next retry
gets that answer. Entries expire with their invoice, or one hour after the request. Decisions are
appended to DIR/audit.log.

Prints one JSON object: list {"approvals": [...]}; approve and deny {"id", "status", "changed",
"entry"}. ID is the 16-hex-character id list shows.

  --data-dir DIR        the data directory (made by init)
  --all                 list: include expired entries
  --now SECONDS         the clock in seconds since the epoch (default: the system clock)`;

/** `approvals`. */
export const approvalsCommand: Command = {
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseSubcommand(args, {
      subs: { list: 0, approve: 1, deny: 1 },
      options: {
        "data-dir": { type: "string" },
        all: { type: "boolean" },
        now: { type: "string" },
      },
    });
    if (parsed.values.help) {
      io.stdout(USAGE + "\n");
      return EXIT.OK;
    }
    const dir = requiredOption(parsed.values, "data-dir");
    const now = clockOption(parsed.values);
    await readDirConfig(dir); // a data directory, or a clear error
    if (parsed.sub === "list") {
      const entries = await withDirStore(
        dir,
        (store) => listApprovals(store, { now, all: parsed.values.all === true }),
      );
      printJson(io, { approvals: entries.map(entryJson) });
      return EXIT.OK;
    }
    if (parsed.values.all !== undefined) throw new UsageError("--all is an option of list only");
    const id = parsed.positionals[0];
    if (!/^[0-9a-fA-F]{16}$/.test(id)) {
      throw new UsageError("an approval id is 16 hex characters (see approvals list)");
    }
    const decision = parsed.sub === "approve" ? "approve" : "deny";
    let result;
    try {
      result = await withDirStore(dir, (store) => decideApproval(store, id, { decision, now }));
    } catch (e) {
      if (e instanceof ApprovalError) throw new CliError(e.message);
      throw e;
    }
    if (result.changed) {
      await appendAdminAudit(dir, {
        unix: now,
        kind: decision === "approve" ? "approval_approve" : "approval_deny",
        entry: result.entry.id,
      });
    }
    printJson(io, {
      id: result.entry.id,
      status: result.entry.status,
      changed: result.changed,
      entry: entryJson(result.entry),
    });
    return EXIT.OK;
  },
};

/** The commands of this file. */
export const commands: Record<string, Command> = { approvals: approvalsCommand };
