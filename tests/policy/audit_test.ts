/**
 * The audit log: one JSON line per decision, exact record shape, lines survive reopening, the
 * file is created 0600 and never truncated, every append is synced before it resolves (a spy on
 * `FsFile.syncData`, and a subprocess killed right after an append resolves), concurrent appends
 * never interleave, bigints are decimal strings, and a record that could hold a secret is refused
 * with nothing written.
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  AuditLog,
  AuditLogError,
  auditRecord,
  AuditSecretError,
  isSecretKey,
  looksLikeSecret32,
  readAuditLog,
  scanForSecrets,
} from "../../policy/audit.ts";
import { type Decision, loadPolicy } from "../../policy/engine.ts";
import type { AuditSink } from "../../core/signer/signer.ts";
import { commitmentFacts, memoryFiles, testRegistry } from "./fixtures/registry.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const REFUSAL: Decision = {
  kind: "sign_counterparty_commitment",
  allowed: false,
  temporary: false,
  violations: [{
    rule: "policy-commitment-fee-range",
    description: "The feerate is in range.",
    mandatory: false,
    temporary: false,
    location: { file: "rules/default.policy", line: 12, column: 3 },
    clause: 0,
    kind: "sign_counterparty_commitment",
    facts: { "commitment.feerate_per_kw": "26000", "param.max_feerate": "25000" },
  }],
  warnings: [{
    rule: "policy-commitment-retry-same",
    description: "Retries are identical.",
    mandatory: false,
    temporary: false,
    location: { file: "rules/default.policy", line: 40, column: 3 },
    clause: 1,
    kind: "sign_counterparty_commitment",
    facts: { "commitment.retry_same_point": false },
    error: "fact commitment.retry_same_info is missing",
    demotedBy: { file: "site.policy", line: 9, column: 1 },
  }],
  limitUpdates: [],
};

const ALLOWED: Decision = {
  kind: "sign_mutual_close",
  allowed: true,
  temporary: false,
  violations: [],
  warnings: [],
  limitUpdates: [],
};

async function tempFile(): Promise<{ dir: string; path: string }> {
  const dir = await Deno.makeTempDir();
  return { dir, path: `${dir}/audit.jsonl` };
}

Deno.test("audit: the record of a decision", () => {
  deepStrictEqual(
    auditRecord({
      time: 1_700_000_000,
      kind: REFUSAL.kind,
      channel: "ab".repeat(32),
      decision: REFUSAL,
    }),
    {
      time: "2023-11-14T22:13:20.000Z",
      unix: 1_700_000_000,
      kind: "sign_counterparty_commitment",
      channel: "ab".repeat(32),
      outcome: "refuse",
      violations: [{
        rule: "policy-commitment-fee-range",
        description: "The feerate is in range.",
        mandatory: false,
        temporary: false,
        location: "rules/default.policy:12:3",
        clause: 0,
        facts: { "commitment.feerate_per_kw": "26000", "param.max_feerate": "25000" },
      }],
      warnings: [{
        rule: "policy-commitment-retry-same",
        description: "Retries are identical.",
        mandatory: false,
        temporary: false,
        location: "rules/default.policy:40:3",
        clause: 1,
        facts: { "commitment.retry_same_point": false },
        error: "fact commitment.retry_same_info is missing",
        demoted_by: "site.policy:9:1",
      }],
    },
  );
  const temporary = { ...REFUSAL, temporary: true };
  strictEqual(auditRecord({ time: 1, kind: "k", decision: temporary }).outcome, "temporary");
  const allowed = auditRecord({ time: 2, kind: "sign_mutual_close", decision: ALLOWED });
  strictEqual(allowed.outcome, "allow");
  strictEqual(allowed.channel, null);
});

Deno.test("audit: lines are appended, survive reopening, never truncated; mode 0600", async () => {
  const { dir, path } = await tempFile();
  try {
    let log = await AuditLog.open(path);
    strictEqual(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o600);
    await log.append({ time: 10, kind: REFUSAL.kind, channel: "01".repeat(32), decision: REFUSAL });
    await log.append({ time: 11, kind: ALLOWED.kind, decision: ALLOWED });
    await log.close();
    log = await AuditLog.open(path);
    await log.append({ time: 12, kind: ALLOWED.kind, decision: ALLOWED });
    await log.close();
    const text = await Deno.readTextFile(path);
    const lines = text.split("\n");
    strictEqual(lines.length, 4);
    strictEqual(lines[3], "", "ends with a line break");
    for (const line of lines.slice(0, 3)) JSON.parse(line);
    const records = await readAuditLog(path);
    deepStrictEqual(records.map((r) => [r.unix, r.outcome]), [
      [10, "refuse"],
      [11, "allow"],
      [12, "allow"],
    ]);
    deepStrictEqual(
      records[0],
      auditRecord({
        time: 10,
        kind: REFUSAL.kind,
        channel: "01".repeat(32),
        decision: REFUSAL,
      }),
    );
    await rejects(log.append({ time: 13, kind: "k", decision: ALLOWED }), AuditLogError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("audit: an existing file keeps its content, loses group/other access, gets its partial line ended", async () => {
  const { dir, path } = await tempFile();
  try {
    await Deno.writeTextFile(path, '{"partial":', { mode: 0o644 });
    await Deno.chmod(path, 0o644);
    const log = await AuditLog.open(path);
    strictEqual(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o600);
    await log.append({ time: 5, kind: ALLOWED.kind, decision: ALLOWED });
    await log.close();
    const lines = (await Deno.readTextFile(path)).split("\n");
    strictEqual(lines[0], '{"partial":');
    strictEqual(JSON.parse(lines[1]).unix, 5);
    await rejects(readAuditLog(path), (e: unknown) => {
      ok(e instanceof AuditLogError);
      strictEqual(e.message, `${path}:1: not a JSON line`);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("audit: a real decision; bigint facts are decimal strings", async () => {
  const policy = loadPolicy("p.policy", {
    registry: testRegistry(),
    network: "bitcoin",
    readFile: memoryFiles({
      "p.policy": `policy "p" version 1
rule policy-commitment-fee-cap "Fees stay low."
  on sign_counterparty_commitment
  require commitment.fee_sat <= 1000 sat
`,
    }),
  });
  const decision = policy.evaluate("sign_counterparty_commitment", commitmentFacts(), { now: 100 });
  strictEqual(decision.allowed, false);
  // A fact value that is still a bigint (defence in depth) is written as a decimal string.
  decision.violations[0].facts["raw"] = 123456789012345678901234567890n as unknown as string;
  const { dir, path } = await tempFile();
  try {
    const log = await AuditLog.open(path);
    await log.append({ time: 100, kind: decision.kind, decision });
    await log.close();
    const [record] = await readAuditLog(path);
    deepStrictEqual(record.violations[0].facts, {
      "commitment.fee_sat": "3000",
      raw: "123456789012345678901234567890",
    });
    strictEqual(record.violations[0].location, "p.policy:3:3");
    ok((await Deno.readTextFile(path)).includes('"commitment.fee_sat":"3000"'));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("audit: every append is synced before it resolves", async () => {
  const { dir, path } = await tempFile();
  const proto = Deno.FsFile.prototype;
  const original = proto.syncData;
  const events: string[] = [];
  proto.syncData = async function (this: Deno.FsFile): Promise<void> {
    events.push("sync");
    await original.call(this);
  };
  try {
    const log = await AuditLog.open(path);
    for (let i = 0; i < 3; i++) {
      await log.append({ time: i, kind: ALLOWED.kind, decision: ALLOWED });
      events.push(`resolved ${i}`);
    }
    await log.close();
  } finally {
    proto.syncData = original;
    await Deno.remove(dir, { recursive: true });
  }
  deepStrictEqual(events, ["sync", "resolved 0", "sync", "resolved 1", "sync", "resolved 2"]);
});

Deno.test("audit: a process killed right after an append resolves leaves the line", async () => {
  const { dir, path } = await tempFile();
  try {
    const script = `
      import { AuditLog } from ${
      JSON.stringify(new URL("../../policy/audit.ts", import.meta.url).href)
    };
      const log = await AuditLog.open(${JSON.stringify(path)});
      await log.append({ time: 42, kind: "sign_mutual_close", decision: {
        kind: "sign_mutual_close", allowed: true, temporary: false,
        violations: [], warnings: [], limitUpdates: [] } });
      await Deno.stdout.write(new TextEncoder().encode("appended\\n"));
      // A pending promise alone does not keep Deno alive: a timer does, until the SIGKILL.
      setInterval(() => {}, 60_000);
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    let seen = "";
    while (!seen.includes("appended\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    strictEqual(seen, "appended\n");
    child.kill("SIGKILL");
    reader.releaseLock();
    await child.stdout.cancel();
    await child.stderr.cancel();
    const status = await child.status;
    strictEqual(status.signal, "SIGKILL");
    const records = await readAuditLog(path);
    deepStrictEqual(records.map((r) => [r.unix, r.kind, r.outcome]), [
      [42, "sign_mutual_close", "allow"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("audit: concurrent appends are whole lines, in call order", async () => {
  const { dir, path } = await tempFile();
  try {
    const log = await AuditLog.open(path);
    const big: Decision = {
      ...REFUSAL,
      violations: [{ ...REFUSAL.violations[0], facts: { blob: "x".repeat(200_000) } }],
    };
    await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) => log.append({ time: i, kind: big.kind, decision: i % 2 === 0 ? big : ALLOWED }),
      ),
    );
    await log.close();
    const lines = (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
    strictEqual(lines.length, 40);
    deepStrictEqual(
      lines.map((l) => JSON.parse(l).unix),
      Array.from({ length: 40 }, (_, i) => i),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("audit: a record that could hold a secret is refused and nothing is written", async () => {
  const { dir, path } = await tempFile();
  const secretHex = "5f".repeat(32);
  try {
    const log = await AuditLog.open(path);
    await log.append({ time: 1, kind: ALLOWED.kind, decision: ALLOWED });
    const size = (await Deno.stat(path)).size;
    const withFacts = (facts: Record<string, unknown>): Decision => ({
      ...REFUSAL,
      warnings: [],
      violations: [{
        ...REFUSAL.violations[0],
        facts: facts as Decision["violations"][0]["facts"],
      }],
    });
    const refused: [Record<string, unknown>, string][] = [
      [{ "revocation.per_commitment_secret": secretHex }, "revocation.per_commitment_secret"],
      [{ "payment.preimage": "0x" + secretHex.toUpperCase() }, "payment.preimage"],
      [{ "node.seed": "A".repeat(43) + "=" }, "node.seed"],
      [{ "funding.privKey": Array.from({ length: 32 }, (_, i) => i) }, "funding.privKey"],
      [{ secrets: { next: `secret=${secretHex};` } }, "secrets"],
      [{ private_key: "_-".repeat(21) + "A" }, "private_key"],
    ];
    for (const [facts, key] of refused) {
      await rejects(
        log.append({ time: 2, kind: REFUSAL.kind, decision: withFacts(facts) }),
        (e: unknown) => {
          ok(e instanceof AuditSecretError, String(e));
          ok(e.path.includes(key), e.path);
          ok(!e.message.includes(secretHex) && !e.message.includes("AAAA"), "never the value");
          return true;
        },
      );
    }
    strictEqual((await Deno.stat(path)).size, size, "nothing written");
    // Not refused: secret-named keys with values that cannot be 32-byte secrets, and 32-byte
    // values under other keys (txids, scripts, points).
    for (
      const facts of [
        { "revocation.secret_chains": true, "revocation.secret_number": "281474976710655" },
        { "commitment.txid": secretHex, "tx.outputs[0].script": "0020" + secretHex },
        { "preimage.known": "yes", "seed_len": "32" },
        { "per_commitment_secret_hash": "5f".repeat(33) },
      ]
    ) {
      await log.append({ time: 3, kind: REFUSAL.kind, decision: withFacts(facts) });
    }
    await log.close();
    strictEqual((await readAuditLog(path)).length, 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("audit: the secret scrub, precisely", () => {
  for (
    const k of [
      "secret",
      "per_commitment_secret",
      "PREIMAGE",
      "hsm-seed",
      "privkey",
      "priv.key",
      "Private_Key",
    ]
  ) {
    ok(isSecretKey(k), k);
  }
  for (const k of ["amount_sat", "script", "point", "txid", "signature", "private"]) {
    ok(!isSecretKey(k), k);
  }
  ok(looksLikeSecret32("ab".repeat(32)));
  ok(looksLikeSecret32(`0x${"AB".repeat(32)}`));
  ok(looksLikeSecret32(`key: ${"0f".repeat(32)}.`));
  ok(!looksLikeSecret32("ab".repeat(31)));
  ok(!looksLikeSecret32("ab".repeat(33)), "66 hex digits: not 32 bytes");
  ok(looksLikeSecret32("B".repeat(43) + "="), "base64 of 32 bytes");
  ok(looksLikeSecret32("-".repeat(43)), "base64url, unpadded");
  ok(!looksLikeSecret32("B".repeat(42) + "=="));
  ok(!looksLikeSecret32("a short string"));
  scanForSecrets({ outer: { inner: "ab".repeat(32) } });
  let caught: unknown;
  try {
    scanForSecrets({ outer: { seed: ["x", "ab".repeat(32)] } }, "entry");
  } catch (e) {
    caught = e;
  }
  ok(caught instanceof AuditSecretError);
  strictEqual(caught.path, "entry.outer.seed[1]");
});

Deno.test("audit: AuditLog is the signer's AuditSink<Decision>", async () => {
  const { dir, path } = await tempFile();
  try {
    const sink: AuditSink<Decision> = await AuditLog.open(path);
    await sink.append({ time: 7, kind: ALLOWED.kind, decision: ALLOWED });
    await (sink as AuditLog).close();
    strictEqual((await readAuditLog(path))[0].unix, 7);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("audit: unreadable logs and bad lines are AuditLogErrors", async () => {
  const { dir, path } = await tempFile();
  try {
    await rejects(readAuditLog(path), (e: unknown) => {
      ok(e instanceof AuditLogError);
      strictEqual(e.message, `cannot read audit log ${path} (NotFound)`);
      return true;
    });
    await Deno.writeTextFile(path, '{"unix":1}\n');
    await rejects(readAuditLog(path), /:1: not an audit record$/);
    await rejects(AuditLog.open(`${dir}/missing/dir/log`), AuditLogError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
