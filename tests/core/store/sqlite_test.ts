import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import {
  APPLICATION_ID,
  SCHEMA_VERSION,
  SqliteStore,
  STATE_FILE,
} from "../../../core/store/sqlite.ts";
import { dump, rejectsConflict, rejectsStoreError, storeConformance } from "./_conformance.ts";
import { bankBatch, expectedBank, readBank } from "./_bank.ts";

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "warden-store-" });
}

storeConformance("SqliteStore", async () => {
  const dir = await tempDir();
  const store = await SqliteStore.open(join(dir, STATE_FILE));
  return {
    store,
    dispose: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

/** Runs `body` with a fresh temporary directory, removed afterwards. */
async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function mode(path: string): number {
  return (Deno.statSync(path).mode ?? 0) & 0o777;
}

Deno.test("SqliteStore: data, versions and tombstones survive close and reopen", async () => {
  await withDir(async (dir) => {
    const path = join(dir, STATE_FILE);
    let s = await SqliteStore.open(path);
    await s.put([
      { key: "channel/a", value: '{"n":1}', version: 0 },
      { key: "channel/b", value: '{"n":2}', version: 0 },
      { key: "node/state", value: '{"fees":"1000"}', version: 0 },
    ]);
    await s.put([{ key: "channel/a", value: '{"n":3}', version: 1 }]);
    await s.put([{ key: "channel/b", value: null, version: 1 }]);
    await s.close();

    s = await SqliteStore.open(path);
    deepStrictEqual(await dump(s), [
      ["channel/a", '{"n":3}', 1],
      ["node/state", '{"fees":"1000"}', 0],
    ]);
    await rejectsConflict(s.put([{ key: "channel/b", value: "{}", version: 0 }]), {
      key: "channel/b",
      attempted: 0,
      stored: 1,
    });
    await rejectsConflict(s.put([{ key: "channel/a", value: "{}", version: 1 }]), {
      key: "channel/a",
      attempted: 1,
      stored: 1,
    });
    await s.put([{ key: "channel/a", value: '{"n":4}', version: 2 }]);
    await s.close();

    s = await SqliteStore.open(path);
    deepStrictEqual(await s.get("channel/a"), { key: "channel/a", value: '{"n":4}', version: 2 });
    await s.close();
  });
});

Deno.test("SqliteStore: WAL, synchronous=FULL, busy timeout and schema are in force", async () => {
  await withDir(async (dir) => {
    const s = await SqliteStore.open(join(dir, STATE_FILE), { busyTimeoutMs: 1234 });
    deepStrictEqual(await s.settings(), {
      path: join(dir, STATE_FILE),
      schemaVersion: SCHEMA_VERSION,
      journalMode: "wal",
      synchronous: 2,
      busyTimeoutMs: 1234,
    });
    strictEqual(SCHEMA_VERSION, 1);
    await s.close();
    await rejectsStoreError(s.settings(), /^store is closed$/);
    const raw = new DatabaseSync(join(dir, STATE_FILE));
    try {
      deepStrictEqual(
        { ...raw.prepare("PRAGMA application_id").get() },
        { application_id: APPLICATION_ID },
      );
      deepStrictEqual(
        raw.prepare("SELECT version FROM schema_version").all().map((r) => r.version),
        [1],
      );
      deepStrictEqual({ ...raw.prepare("PRAGMA journal_mode").get() }, { journal_mode: "wal" });
    } finally {
      raw.close();
    }
  });
});

Deno.test({
  name: "SqliteStore: the file, its -wal and -shm are created with mode 0600",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withDir(async (dir) => {
      const path = join(dir, STATE_FILE);
      const s = await SqliteStore.open(path);
      await s.put([{ key: "k", value: "1", version: 0 }]);
      strictEqual(mode(path), 0o600);
      strictEqual(mode(`${path}-wal`), 0o600);
      strictEqual(mode(`${path}-shm`), 0o600);
      await s.close();
    });
  },
});

Deno.test({
  name: "SqliteStore: an existing file others can read is refused",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withDir(async (dir) => {
      const path = join(dir, STATE_FILE);
      await (await SqliteStore.open(path)).close();
      await Deno.chmod(path, 0o644);
      await rejectsStoreError(
        SqliteStore.open(path),
        /has mode 644: group or others can access it \(run chmod 600 /,
      );
      await Deno.chmod(path, 0o600);
      await (await SqliteStore.open(path)).close();
    });
  },
});

Deno.test("SqliteStore: unsafe or missing paths are refused", async () => {
  await withDir(async (dir) => {
    await rejectsStoreError(
      SqliteStore.open(join(dir, "missing", STATE_FILE)),
      /^data directory .*missing: not found$/,
    );
    await Deno.mkdir(join(dir, "sub"));
    await rejectsStoreError(SqliteStore.open(join(dir, "sub")), /sub is not a regular file$/);
    const target = join(dir, "target.sqlite");
    await (await SqliteStore.open(target)).close();
    await Deno.symlink(target, join(dir, "link.sqlite"));
    await rejectsStoreError(
      SqliteStore.open(join(dir, "link.sqlite")),
      /link\.sqlite is a symbolic link; refusing to follow it$/,
    );
    await rejectsStoreError(
      SqliteStore.open(target, { busyTimeoutMs: -1 }),
      /^busyTimeoutMs must be an integer/,
    );
  });
});

Deno.test("SqliteStore: a file written by a newer schema version is refused", async () => {
  await withDir(async (dir) => {
    const path = join(dir, STATE_FILE);
    const s = await SqliteStore.open(path);
    await s.put([{ key: "k", value: "1", version: 0 }]);
    await s.close();
    const raw = new DatabaseSync(path);
    raw.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)").run(7, "later");
    raw.close();
    await rejectsStoreError(
      SqliteStore.open(path),
      /^the state file has schema version 7, newer than 1 which this build reads; upgrade/,
    );
    // Refusing did not touch the file.
    const check = new DatabaseSync(path);
    deepStrictEqual(
      check.prepare("SELECT version FROM schema_version ORDER BY version").all().map((r) =>
        r.version
      ),
      [1, 7],
    );
    deepStrictEqual({ ...check.prepare("SELECT value FROM entries").get() }, { value: "1" });
    check.close();
  });
});

Deno.test("SqliteStore: foreign and corrupt files are refused with StoreError", async () => {
  await withDir(async (dir) => {
    const foreign = join(dir, "foreign.sqlite");
    const raw = new DatabaseSync(foreign);
    raw.exec("CREATE TABLE customers (name TEXT, card TEXT)");
    raw.prepare("INSERT INTO customers VALUES (?, ?)").run("alice", "4111-SECRET");
    raw.close();
    await Deno.chmod(foreign, 0o600);
    const e = await rejectsStoreError(
      SqliteStore.open(foreign),
      /^the file is a SQLite database but not a Warden state store$/,
    );
    ok(!e.message.includes("SECRET"));

    const other = join(dir, "other.sqlite");
    const raw2 = new DatabaseSync(other);
    raw2.exec("PRAGMA application_id = 42");
    raw2.close();
    await Deno.chmod(other, 0o600);
    await rejectsStoreError(
      SqliteStore.open(other),
      /^the file is a SQLite database of another application$/,
    );

    const junk = join(dir, "junk.sqlite");
    await Deno.writeFile(junk, new TextEncoder().encode("SECRET ".repeat(1000)), { mode: 0o600 });
    await Deno.chmod(junk, 0o600);
    const e2 = await rejectsStoreError(
      SqliteStore.open(junk),
      /^opening .*junk\.sqlite failed: file is not a database$/,
    );
    ok(!e2.message.includes("SECRET"));
  });
});

Deno.test("SqliteStore: a writer blocked past the busy timeout gets StoreError, nothing applied", async () => {
  await withDir(async (dir) => {
    const path = join(dir, STATE_FILE);
    const s = await SqliteStore.open(path, { busyTimeoutMs: 20 });
    await s.put([{ key: "k", value: "v0", version: 0 }]);
    const other = new DatabaseSync(path);
    other.exec("BEGIN IMMEDIATE"); // holds the write lock
    try {
      const e = await rejectsStoreError(
        s.put([{ key: "k", value: "SECRET-VALUE", version: 1 }]),
        /^put failed: database is locked \(another writer held the lock past the busy timeout\)$/,
      );
      ok(!e.message.includes("SECRET"));
      // Readers are not blocked by a writer in WAL mode.
      deepStrictEqual(await s.get("k"), { key: "k", value: "v0", version: 0 });
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    await s.put([{ key: "k", value: "v1", version: 1 }]);
    deepStrictEqual(await s.get("k"), { key: "k", value: "v1", version: 1 });
    await s.close();
  });
});

Deno.test("SqliteStore: two stores on one file: a stale writer gets VersionConflictError", async () => {
  await withDir(async (dir) => {
    const path = join(dir, STATE_FILE);
    const a = await SqliteStore.open(path);
    const b = await SqliteStore.open(path);
    try {
      await a.put([{ key: "chan", value: "a0", version: 0 }]);
      // Both read version 0.
      const seenByA = await a.get("chan");
      const seenByB = await b.get("chan");
      deepStrictEqual(seenByA, seenByB);
      await a.put([{ key: "chan", value: "a1", version: 1 }]);
      await rejectsConflict(b.put([{ key: "chan", value: "b1", version: 1 }]), {
        key: "chan",
        attempted: 1,
        stored: 1,
      });
      // Creating the same new key from both: the second is refused.
      await b.put([{ key: "new", value: "b", version: 0 }]);
      await rejectsConflict(a.put([{ key: "new", value: "a", version: 0 }]), {
        key: "new",
        attempted: 0,
        stored: 0,
      });
      // A delete by one is seen by the other.
      await a.put([{ key: "new", value: null, version: 1 }]);
      strictEqual(await b.get("new"), undefined);
      await rejectsConflict(b.put([{ key: "new", value: "again", version: 0 }]), {
        key: "new",
        attempted: 0,
        stored: 1,
      });
      deepStrictEqual(await dump(b), [["chan", "a1", 1]]);
      deepStrictEqual(await dump(a), [["chan", "a1", 1]]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

function denoRun(dir: string, script: string, args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      new URL(script, import.meta.url).pathname,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

Deno.test("SqliteStore: concurrent writer processes never overwrite each other", async () => {
  await withDir(async (dir) => {
    const path = join(dir, STATE_FILE);
    const s = await SqliteStore.open(path);
    await s.put([{ key: "counter", value: "0", version: 0 }]);
    await s.close();
    const writers = 3;
    const increments = 150;
    const start = String(Date.now() + 1500);
    const results = await Promise.all(
      Array.from(
        { length: writers },
        (_, i) =>
          denoRun(dir, "./_counter_writer.ts", [path, `w${i}`, String(increments), start])
            .output(),
      ),
    );
    const decoder = new TextDecoder();
    let conflicts = 0;
    for (const r of results) {
      strictEqual(r.code, 0, decoder.decode(r.stderr));
      conflicts += JSON.parse(decoder.decode(r.stdout)).conflicts;
    }
    const check = await SqliteStore.open(path);
    try {
      // Every successful increment is counted once: a silent overwrite would lose some.
      deepStrictEqual(await check.get("counter"), {
        key: "counter",
        value: String(writers * increments),
        version: writers * increments,
      });
      for (let i = 0; i < writers; i++) {
        deepStrictEqual(await check.get(`writer/w${i}`), {
          key: `writer/w${i}`,
          value: String(increments),
          version: increments - 1,
        });
      }
    } finally {
      await check.close();
    }
    console.log(`  ${writers} writers, ${writers * increments} increments, ${conflicts} conflicts`);
  });
});

Deno.test("SqliteStore: every acknowledged batch survives SIGKILL, none is half-applied", async () => {
  await withDir(async (dir) => {
    const path = join(dir, STATE_FILE);
    const decoder = new TextDecoder();
    let committed = -1; // sequence number of the last batch known to be in the file
    const rounds = 8;
    const log: string[] = [];
    for (let round = 0; round < rounds; round++) {
      // Rounds 0 and 1 are killed at a random moment of the first ~60 ms (start-up takes about
      // 50: possibly while the file or its schema is being created); later rounds after a random
      // number of acknowledged batches plus a random delay.
      const atStartup = round < 2;
      const killAfterAcks = atStartup ? 0 : 1 + Math.floor(Math.random() * 250);
      const delayMs = Math.random() * (atStartup ? 60 : 5);
      const label = `round ${round} (kill after ${killAfterAcks} acks + ${delayMs.toFixed(1)} ms)`;
      const child = denoRun(dir, "./_crash_writer.ts", [path, "1000000"]).spawn();
      const stderr = new Response(child.stderr).text();
      const acks: number[] = [];
      let killed = false;
      const kill = () => {
        if (killed) return;
        killed = true;
        setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // already exited
          }
        }, delayMs);
      };
      if (killAfterAcks === 0) kill();
      let buffered = "";
      for await (const chunk of child.stdout) {
        buffered += decoder.decode(chunk, { stream: true });
        const lines = buffered.split("\n");
        buffered = lines.pop() as string;
        for (const line of lines) acks.push(Number(line));
        if (acks.length >= killAfterAcks) kill();
      }
      const status = await child.status;
      const errText = await stderr;
      strictEqual(status.signal, "SIGKILL", `${label}: ${errText}`);
      strictEqual(buffered, "", `${label}: partial line`);
      // Acknowledgements are consecutive and continue from what the file held.
      acks.forEach((seq, i) => strictEqual(seq, committed + 1 + i, label));

      const s = await SqliteStore.open(path);
      try {
        const bank = await readBank(s); // throws on a half-applied batch
        const seq = bank?.seq ?? -1;
        const lastAck = acks.length > 0 ? acks[acks.length - 1] : committed;
        // Every acknowledged batch is there; at most the one in flight at the kill also is.
        ok(seq === lastAck || seq === lastAck + 1, `${label}: file at ${seq}, last ack ${lastAck}`);
        if (bank !== undefined) {
          deepStrictEqual(bank, expectedBank(seq), label);
          deepStrictEqual(await s.list("bank/"), bankBatch(bank).filter((w) => w.value !== null));
        }
        log.push(`${acks.length} acked, ${seq === lastAck ? "none" : "1"} in flight kept`);
        committed = seq;
      } finally {
        await s.close();
      }
      const raw = new DatabaseSync(path);
      try {
        deepStrictEqual({ ...raw.prepare("PRAGMA integrity_check").get() }, {
          integrity_check: "ok",
        });
      } finally {
        raw.close();
      }
    }
    ok(committed > 0, "some batches were committed");
    console.log(`  ${rounds} SIGKILL rounds: ${log.join("; ")}`);
  });
});
