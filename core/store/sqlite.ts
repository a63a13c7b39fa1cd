/**
 * The embedded, durable {@link Store}: one SQLite file (by default `<data dir>/state.sqlite`) on
 * Deno's built-in `node:sqlite`.
 *
 * Durability and atomicity:
 * - `journal_mode=WAL` and `synchronous=FULL`: a batch's commit record is fsynced to the
 *   write-ahead log before {@link SqliteStore.put} resolves, so an acknowledged batch survives a
 *   process crash, and a power loss on a disk that honours fsync; a batch interrupted before that
 *   is rolled back as a whole.
 * - Every batch runs in `BEGIN IMMEDIATE`, which takes the database's write lock before the
 *   versions are read, so the version checks and the writes are one atomic step even against
 *   another process or another {@link SqliteStore} on the same file. A writer that waits longer
 *   than the busy timeout gets a {@link StoreError}; a stale writer gets a
 *   {@link VersionConflictError}. Neither can overwrite newer state.
 *
 * Deletes are tombstones. Deleting a key stores a row with a NULL value and the delete's version;
 * the key then reads as absent (`get` is undefined, `list` skips it), but its version lives on, so
 * re-creating it must carry the tombstone's version + 1 and a write of version 0 is a conflict.
 * Versions of a key therefore never restart: a `(key, version)` pair names one value forever, and a
 * writer holding a stale view from before the delete can never match a version of the re-created
 * key. This is VLS's behaviour (its KVV stores delete by writing an empty value at version + 1),
 * and the store-level counterpart of its rule that a forgotten channel dbid is never reused (a
 * channel's key is `channel/<node>/<id>`, so re-opening a forgotten channel id is refused here
 * too). Tombstones are a key and a number each and are never purged: purging one would make its
 * old versions reusable again.
 *
 * The schema is versioned by the `schema_version` table (one row per applied migration). A file
 * written by a newer schema is refused rather than misread; an older one is migrated forward in one
 * transaction. The file carries SQLite's `application_id` `0x5744524e` ("WDRN") so that a foreign
 * database is recognised and refused too. The file is created with mode 0600 (SQLite gives its
 * `-wal` and `-shm` files the same mode), and an existing file that group or others may access is
 * refused.
 *
 * Every SQLite failure surfaces as a {@link StoreError} whose message is built from fixed SQLite
 * phrases only, so it can never quote a stored value. The API is asynchronous although
 * `node:sqlite` is synchronous, so that a networked backend (PostgreSQL) can sit behind the same
 * interface; each call runs to completion before it resolves.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { dirname } from "node:path";
import { checkKey, checkPrefix, checkWrites, prefixUpperBound, settle } from "./_common.ts";
import {
  type Store,
  type StoreEntry,
  StoreError,
  type StoreWrite,
  VersionConflictError,
} from "./types.ts";

/** The file name of the state store inside the data directory. */
export const STATE_FILE = "state.sqlite";

/** SQLite `application_id` marking a Warden state file ("WDRN"). */
export const APPLICATION_ID = 0x5744524e;

/** The default time a writer waits for another writer's lock, in milliseconds. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * Migrations: entry `i` takes the schema from version `i` to `i + 1`. Only ever append; never edit
 * an entry that has shipped.
 */
const MIGRATIONS: readonly string[] = [
  // 0 -> 1: the entries table. `value` NULL is a tombstone (see the module documentation).
  `CREATE TABLE entries (
     key     TEXT    PRIMARY KEY NOT NULL,
     value   TEXT,
     version INTEGER NOT NULL CHECK (version >= 0)
   ) STRICT`,
];

/** The schema version this build writes, and the newest it can read. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

/** Options of {@link SqliteStore.open}. */
export interface SqliteStoreOptions {
  /**
   * How long a write waits for another connection's write lock before failing with a
   * {@link StoreError}, in milliseconds. Default {@link DEFAULT_BUSY_TIMEOUT_MS}.
   */
  busyTimeoutMs?: number;
}

/** The settings of an open {@link SqliteStore}, as reported by SQLite (for diagnostics). */
export interface SqliteStoreSettings {
  /** The database file. */
  path: string;
  /** The schema version recorded in the file. */
  schemaVersion: number;
  /** SQLite's journal mode (`"wal"`). */
  journalMode: string;
  /** SQLite's `synchronous` level (2 = FULL). */
  synchronous: number;
  /** The busy timeout in milliseconds. */
  busyTimeoutMs: number;
}

/**
 * Fixed phrases of SQLite's error messages (`sqlite3_errstr` and a few statement-level ones). An
 * error message is reported only as the first of these it contains, so nothing from the statement's
 * data can leak into a {@link StoreError}.
 */
const SQLITE_PHRASES: readonly string[] = [
  "database is locked",
  "database table is locked",
  "disk I/O error",
  "database disk image is malformed",
  "file is not a database",
  "database or disk is full",
  "unable to open database file",
  "attempt to write a readonly database",
  "access permission denied",
  "out of memory",
  "string or blob too big",
  "constraint failed",
  "cannot store",
  "datatype mismatch",
  "locking protocol",
  "database schema has changed",
  "authorization denied",
  "query aborted",
  "interrupted",
  "cannot start a transaction within a transaction",
  "cannot commit - no transaction is active",
  "cannot rollback - no transaction is active",
  "no such table",
  "database is not open",
  "SQL logic error",
];

function describeSqliteError(e: unknown): string {
  const message = e instanceof Error ? e.message : "";
  const phrase = SQLITE_PHRASES.find((p) => message.includes(p));
  if (phrase === undefined) return "SQLite error";
  return phrase === "database is locked"
    ? "database is locked (another writer held the lock past the busy timeout)"
    : phrase;
}

/** A {@link StoreError} for a failed SQLite call; typed store errors pass through unchanged. */
function failure(operation: string, e: unknown): Error {
  if (e instanceof StoreError || e instanceof VersionConflictError) return e;
  return new StoreError(`${operation} failed: ${describeSqliteError(e)}`);
}

function fsReason(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "not found";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.AlreadyExists) return "already exists";
  if (e instanceof Deno.errors.NotADirectory) return "not a directory";
  return e instanceof Error ? e.name : "unknown error";
}

async function syncDir(dir: string): Promise<void> {
  let d: Deno.FsFile | undefined;
  try {
    d = await Deno.open(dir, { read: true });
    await d.sync();
  } catch {
    // Some platforms cannot fsync a directory; SQLite syncs its own journal's directory entry.
  } finally {
    d?.close();
  }
}

/**
 * Makes sure `path` is a regular file with mode 0600: creates it (empty, which SQLite treats as a
 * new database) when missing, refuses a symlink, a non-file, or a file group or others can access.
 */
async function prepareFile(path: string): Promise<void> {
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.lstat(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new StoreError(`cannot inspect ${path}: ${fsReason(e)}`);
    }
  }
  if (info === undefined) {
    const dir = dirname(path);
    try {
      const d = await Deno.stat(dir);
      if (!d.isDirectory) throw new StoreError(`${dir} is not a directory`);
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError(`data directory ${dir}: ${fsReason(e)}`);
    }
    try {
      const f = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
      f.close();
      await Deno.chmod(path, 0o600); // exact, whatever the umask
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        throw new StoreError(`cannot create ${path}: ${fsReason(e)}`);
      }
      return prepareFile(path); // created concurrently by someone else: check it as existing
    }
    await syncDir(dir);
    return;
  }
  if (info.isSymlink) throw new StoreError(`${path} is a symbolic link; refusing to follow it`);
  if (!info.isFile) throw new StoreError(`${path} is not a regular file`);
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(3, "0");
    throw new StoreError(
      `${path} has mode ${mode}: group or others can access it (run chmod 600 ${path})`,
    );
  }
}

/** Brings the schema up to {@link SCHEMA_VERSION} inside one write transaction. */
function migrate(db: DatabaseSync): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    const appId = (db.prepare("PRAGMA application_id").get() as { application_id: number })
      .application_id;
    const tables = (db.prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    ).all() as { name: string }[]).map((r) => r.name);
    if (appId !== 0 && appId !== APPLICATION_ID) {
      throw new StoreError("the file is a SQLite database of another application");
    }
    let current = 0;
    if (tables.includes("schema_version")) {
      const row = db.prepare("SELECT max(version) AS v FROM schema_version").get() as {
        v: number | null;
      };
      current = row.v ?? 0;
    } else if (tables.length > 0) {
      throw new StoreError("the file is a SQLite database but not a Warden state store");
    } else {
      db.exec(
        `CREATE TABLE schema_version (
           version    INTEGER PRIMARY KEY NOT NULL,
           applied_at TEXT    NOT NULL
         ) STRICT`,
      );
      db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
    }
    if (current > SCHEMA_VERSION) {
      throw new StoreError(
        `the state file has schema version ${current}, newer than ${SCHEMA_VERSION} which this ` +
          "build reads; upgrade the signer (never downgrade over a newer state file)",
      );
    }
    const record = db.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)");
    for (let v = current; v < SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]);
      record.run(v + 1, new Date().toISOString());
    }
    db.exec("COMMIT");
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  }
}

/** A {@link Store} in one SQLite file; open it with {@link SqliteStore.open}. */
export class SqliteStore implements Store {
  /** The database file. */
  readonly path: string;
  #db: DatabaseSync;
  #closed = false;
  #broken = false;
  #getStmt: StatementSync;
  #versionStmt: StatementSync;
  #upsertStmt: StatementSync;
  #listAllStmt: StatementSync;
  #listFromStmt: StatementSync;
  #listRangeStmt: StatementSync;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
    this.#getStmt = db.prepare(
      "SELECT value, version FROM entries WHERE key = ? AND value IS NOT NULL",
    );
    this.#versionStmt = db.prepare("SELECT version FROM entries WHERE key = ?");
    this.#upsertStmt = db.prepare(
      `INSERT INTO entries (key, value, version) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version`,
    );
    const cols = "SELECT key, value, version FROM entries WHERE value IS NOT NULL";
    this.#listAllStmt = db.prepare(`${cols} ORDER BY key`);
    this.#listFromStmt = db.prepare(`${cols} AND key >= ? ORDER BY key`);
    this.#listRangeStmt = db.prepare(`${cols} AND key >= ? AND key < ? ORDER BY key`);
  }

  /**
   * Opens (creating it with mode 0600 if missing) the store in the SQLite file at `path`, whose
   * directory must exist. Rejects with {@link StoreError} when the file is unsafe, is not a
   * Warden state file, was written by a newer schema, or SQLite fails.
   */
  static async open(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0 || busyTimeoutMs > 2 ** 31 - 1) {
      throw new StoreError("busyTimeoutMs must be an integer between 0 and 2^31 - 1");
    }
    await prepareFile(path);
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path, {
        enableForeignKeyConstraints: true,
        enableDoubleQuotedStringLiterals: false,
        allowExtension: false,
      });
      db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
      const mode = (db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode: string })
        .journal_mode;
      if (mode !== "wal") throw new StoreError(`cannot switch the journal to WAL (got ${mode})`);
      db.exec("PRAGMA synchronous = FULL");
      db.exec("PRAGMA trusted_schema = OFF");
      migrate(db);
      return new SqliteStore(path, db);
    } catch (e) {
      try {
        db?.close();
      } catch {
        // already failing: report the first error
      }
      throw failure(`opening ${path}`, e);
    }
  }

  /** The live entry at `key`, or undefined when it was never written or was deleted. */
  get(key: string): Promise<StoreEntry | undefined> {
    return settle(() => {
      this.#checkOpen();
      checkKey(key);
      try {
        const row = this.#getStmt.get(key) as { value: string; version: number } | undefined;
        return row === undefined ? undefined : { key, value: row.value, version: row.version };
      } catch (e) {
        throw failure("get", e);
      }
    });
  }

  /**
   * Every live entry whose key starts with `prefix`, in code point order of the keys (SQLite's
   * BINARY collation over UTF-8). The prefix is a plain string: `%`, `_`, `*` have no meaning.
   */
  list(prefix: string): Promise<StoreEntry[]> {
    return settle(() => {
      this.#checkOpen();
      checkPrefix(prefix);
      try {
        let rows: unknown[];
        if (prefix === "") {
          rows = this.#listAllStmt.all();
        } else {
          const upper = prefixUpperBound(prefix);
          rows = upper === undefined
            ? this.#listFromStmt.all(prefix)
            : this.#listRangeStmt.all(prefix, upper);
        }
        return (rows as { key: string; value: string; version: number }[]).map((r) => ({
          key: r.key,
          value: r.value,
          version: r.version,
        }));
      } catch (e) {
        throw failure("list", e);
      }
    });
  }

  /**
   * Applies every write or none, durably. Each write is checked, inside the transaction, against
   * the state left by the writes before it in the same batch; the first mismatch rolls back and
   * rejects with {@link VersionConflictError}. Any SQLite failure rolls back and rejects with
   * {@link StoreError}: the batch may then be assumed not applied only if the store is still
   * usable; re-read state before retrying.
   */
  put(writes: StoreWrite[]): Promise<void> {
    return settle(() => {
      this.#checkOpen();
      const batch = checkWrites(writes);
      if (batch.length === 0) return;
      const db = this.#db;
      try {
        db.exec("BEGIN IMMEDIATE");
      } catch (e) {
        throw failure("put", e);
      }
      try {
        for (const w of batch) {
          const row = this.#versionStmt.get(w.key) as { version: number } | undefined;
          const expected = row === undefined ? 0 : row.version + 1;
          if (w.version !== expected) {
            throw new VersionConflictError(w.key, { attempted: w.version, stored: row?.version });
          }
          this.#upsertStmt.run(w.key, w.value, w.version);
        }
        db.exec("COMMIT");
      } catch (e) {
        this.#rollback();
        throw failure("put", e);
      }
    });
  }

  /**
   * The settings SQLite reports for this connection (journal mode, synchronous level, busy
   * timeout, schema version), for diagnostics and tests.
   */
  settings(): Promise<SqliteStoreSettings> {
    return settle(() => {
      this.#checkOpen();
      try {
        const one = <T>(sql: string): T => Object.values(this.#db.prepare(sql).get() ?? {})[0] as T;
        return {
          path: this.path,
          schemaVersion: one<number>("SELECT max(version) FROM schema_version"),
          journalMode: one<string>("PRAGMA journal_mode"),
          synchronous: one<number>("PRAGMA synchronous"),
          busyTimeoutMs: one<number>("PRAGMA busy_timeout"),
        };
      } catch (e) {
        throw failure("settings", e);
      }
    });
  }

  /**
   * Closes the database (SQLite checkpoints the write-ahead log). Later calls reject with
   * {@link StoreError}; closing again is a no-op.
   */
  close(): Promise<void> {
    return settle(() => {
      if (this.#closed) return;
      this.#closed = true;
      if (!this.#db.isOpen) return;
      try {
        this.#db.close();
      } catch (e) {
        throw failure("close", e);
      }
    });
  }

  #rollback(): void {
    if (!this.#db.isTransaction) return; // SQLite already rolled back (e.g. after an I/O error)
    try {
      this.#db.exec("ROLLBACK");
    } catch {
      // The connection is stuck inside a transaction: refuse every later call rather than risk
      // committing a half-applied batch with the next one.
      this.#broken = true;
      try {
        this.#db.close();
      } catch {
        // nothing more to do
      }
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreError("store is closed");
    if (this.#broken) throw new StoreError("store is unusable after a failed rollback; reopen it");
  }
}
