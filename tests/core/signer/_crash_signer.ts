/**
 * Child process of the signer crash test (see `crash_test.ts` and the protocol in
 * `_crash_wire.ts`): a {@link Signer} over a {@link SqliteStore}, serving JSON lines on
 * stdin/stdout, one request at a time, replying only once the signer method resolved.
 *
 * Start-up has two halves so that the test can keep a warm child in reserve: the child loads its
 * keys and policy (the slow part) and prints `{"event":"warm"}`, then waits for a `{"start":true}`
 * line before it opens the state file and the signer (end of input instead: it exits 0 untouched).
 *
 * Usage: `deno run -A _crash_signer.ts <state file> <native|ldk> [ack-before-write]`.
 *
 * The optional third argument turns the child into a deliberately broken signer whose store
 * acknowledges a write before making it (the write lands a few milliseconds later): the crash
 * test runs it once to show that its checks catch a signer that releases before persisting.
 *
 * @module
 */
import { SqliteStore } from "../../../core/store/sqlite.ts";
import type { Store, StoreWrite } from "../../../core/store/types.ts";
import { Signer } from "../../../core/signer/signer.ts";
import { isKeyStyle } from "../../../core/keys/types.ts";
import { PolicyRefusal, RequestError } from "../../../core/signer/errors.ts";
import { PositiveApprover } from "../../../core/node/approvals.ts";
import { loadTestPolicy, NOW, ourNodeKeys } from "./_crash_channel.ts";
import {
  decodeChannelId,
  decodeLine,
  encodeLine,
  LineReader,
  type WireError,
  type WireRequest,
  writeAllSync,
} from "./_crash_wire.ts";

const [path, style, mutant] = Deno.args;
if (path === undefined || style === undefined || !isKeyStyle(style)) {
  console.error("usage: _crash_signer.ts <state file> <native|ldk>");
  Deno.exit(2);
}

const emit = (value: unknown) => writeAllSync(Deno.stdout, encodeLine(value));
let current = -1; // the request being served

const { policy, source } = loadTestPolicy();
const keys = ourNodeKeys(style);
const input = new LineReader(Deno.stdin.readable);
emit({ event: "warm" });
const go = await input.next();
if (go === undefined) Deno.exit(0);
if ((decodeLine(go) as { start?: boolean }).start !== true) {
  console.error("expected the start line");
  Deno.exit(2);
}

/** The SQLite store, reporting each durable write of the current request on stdout. */
const sqlite = await SqliteStore.open(path);
let late: Promise<void> = Promise.resolve();
const store: Store = {
  get: (key) => sqlite.get(key),
  list: (prefix) => sqlite.list(prefix),
  close: () => late.then(() => sqlite.close()),
  async put(writes: StoreWrite[]) {
    emit({ event: "put-begin", id: current });
    if (mutant === "ack-before-write") {
      late = late.then(() => new Promise((r) => setTimeout(r, 20))).then(() => sqlite.put(writes));
    } else {
      await sqlite.put(writes);
    }
    emit({ event: "put-done", id: current });
  },
};
// The operator approves every payment the node asks about (the node asks before each HTLC it
// offers; an HTLC nobody approved is refused by the payment rules).
const signer = await Signer.open({
  keys,
  store,
  policy,
  clock: () => NOW,
  approver: new PositiveApprover(),
});
emit({ event: "ready", policy: source });

function describe(e: unknown): WireError {
  if (e instanceof PolicyRefusal) return { name: e.name, rules: e.rules, message: e.message };
  if (e instanceof RequestError) return { name: e.name, code: e.code, message: e.message };
  return e instanceof Error
    ? { name: e.name, message: e.message }
    : { name: "Error", message: String(e) };
}

function serve(request: WireRequest): Promise<unknown> {
  if (request.method === "preapproveInvoice") {
    return signer.preapproveInvoice(request.args[0] as never);
  }
  if (request.method === "preapproveKeysend") {
    return signer.preapproveKeysend(request.args[0] as never);
  }
  const [rawId, ...rest] = request.args;
  const id = decodeChannelId(rawId);
  const a = rest as never[];
  switch (request.method) {
    case "newChannel":
      return signer.newChannel(id);
    case "setupChannel":
      return signer.setupChannel(id, a[0]);
    case "getPerCommitmentPoint":
      return signer.getPerCommitmentPoint(id, a[0]);
    case "signCounterpartyCommitment":
      return signer.signCounterpartyCommitment(id, a[0]);
    case "validateHolderCommitment":
      return signer.validateHolderCommitment(id, a[0]);
    case "revokeHolderCommitment":
      return signer.revokeHolderCommitment(id, a[0]);
    case "validateCounterpartyRevocation":
      return signer.validateCounterpartyRevocation(id, a[0], a[1]);
    case "signHolderCommitment":
      return signer.signHolderCommitment(id, a[0]);
    case "channelState":
      return signer.channelState(id);
    default:
      return Promise.reject(new RequestError("unsupported", `${request.method} takes no channel`));
  }
}

for (let line = await input.next(); line !== undefined; line = await input.next()) {
  const request = decodeLine(line) as unknown as WireRequest;
  current = request.id;
  try {
    const reply = await serve(request);
    emit({ id: request.id, ok: reply ?? null });
  } catch (e) {
    emit({ id: request.id, error: describe(e) });
  }
}
await sqlite.close();
