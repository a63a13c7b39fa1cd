/**
 * `allowlist` through the real entry point, in temporary data directories: list, add, remove,
 * validation with one error line, the audit log, and a signer-like reader holding the store open
 * that sees every change the command makes.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { SqliteStore, STATE_FILE } from "../../../core/store/mod.ts";
import { AllowlistSource } from "../../../core/node/allowlist.ts";
import { addressToScript } from "../../../core/bitcoin/address.ts";
import { readAuditLog } from "../../../policy/audit.ts";
import { ExtendedPrivateKey } from "../../../core/keys/bip32.ts";
import { networkParams } from "../../../core/bitcoin/network.ts";
import { cli, dataDir, failed, okJson } from "./_run.ts";

const REG_WPKH = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
const MAIN_WPKH = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
const NODE = "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad";

Deno.test("allowlist: add, list, remove while a signer-like reader holds the store", async () => {
  const dir = await dataDir("regtest");
  deepStrictEqual(okJson(await cli("allowlist", "list", "--data-dir", dir)), {
    network: "regtest",
    entries: [],
  });
  // The reader opens the same SQLite file and keeps it open, as the running signer does.
  const store = await SqliteStore.open(join(dir, STATE_FILE));
  try {
    const source = await AllowlistSource.open(store, "regtest");
    deepStrictEqual(source.current.entries, []);

    deepStrictEqual(
      okJson(await cli("allowlist", "add", REG_WPKH.toUpperCase(), "--data-dir", dir)),
      { entry: `address:${REG_WPKH}`, changed: true, entries: [`address:${REG_WPKH}`] },
    );
    strictEqual((await source.refresh()).contains(addressToScript(REG_WPKH, "regtest")), true);

    deepStrictEqual(okJson(await cli("allowlist", "add", `payee:${NODE}`, "--data-dir", dir)), {
      entry: `payee:${NODE}`,
      changed: true,
      entries: [`address:${REG_WPKH}`, `payee:${NODE}`],
    });
    strictEqual((await source.refresh()).containsPayee(NODE), true);

    // Adding it again changes nothing (and is not logged).
    deepStrictEqual(
      okJson(await cli("allowlist", "add", `--data-dir`, dir, `address:${REG_WPKH}`)),
      {
        entry: `address:${REG_WPKH}`,
        changed: false,
        entries: [`address:${REG_WPKH}`, `payee:${NODE}`],
      },
    );

    deepStrictEqual(okJson(await cli("allowlist", "remove", REG_WPKH, "--data-dir", dir)), {
      entry: `address:${REG_WPKH}`,
      changed: true,
      entries: [`payee:${NODE}`],
    });
    strictEqual((await source.refresh()).contains(addressToScript(REG_WPKH, "regtest")), false);
    deepStrictEqual(okJson(await cli("allowlist", "list", "--data-dir", dir)).entries, [
      `payee:${NODE}`,
    ]);
  } finally {
    await store.close();
  }

  // Every change, in order, in the audit log (readable as audit records).
  const records = await readAuditLog(join(dir, "audit.log"));
  deepStrictEqual(
    records.map((r) => [r.kind, (r as unknown as { entry: string }).entry, r.outcome, r.channel]),
    [
      ["allowlist_add", `address:${REG_WPKH}`, "allow", null],
      ["allowlist_add", `payee:${NODE}`, "allow", null],
      ["allowlist_remove", `address:${REG_WPKH}`, "allow", null],
    ],
  );
  for (const r of records) {
    strictEqual(r.time, new Date(r.unix * 1000).toISOString());
    deepStrictEqual([r.violations, r.warnings], [[], []]);
  }
  strictEqual(((await Deno.stat(join(dir, "audit.log"))).mode ?? 0) & 0o777, 0o600);
});

Deno.test("allowlist: bad entries, wrong networks and bad usage give one error line", async () => {
  const dir = await dataDir("regtest");
  failed(
    await cli("allowlist", "add", MAIN_WPKH, "--data-dir", dir),
    2,
    /^error: address entry: not a valid regtest address \(address is for bitcoin/,
  );
  const xprv = ExtendedPrivateKey.fromSeed(new Uint8Array(32).fill(1)).toBase58(
    networkParams("regtest").bip32,
  );
  const run = await cli("allowlist", "add", `xpub:${xprv}`, "--data-dir", dir);
  failed(run, 2, /^error: xpub entry: that is a PRIVATE extended key/);
  ok(!run.stderr.includes(xprv.slice(4)), "the key is never echoed");
  failed(await cli("allowlist", "add", "--data-dir", dir), 2, /add takes exactly 1 argument/);
  failed(await cli("allowlist", "list", "x", "--data-dir", dir), 2, /list takes no arguments/);
  failed(
    await cli("allowlist", "frob", "--data-dir", dir),
    2,
    /expected one of: list, add, remove/,
  );
  failed(await cli("allowlist", "list"), 2, /missing required option --data-dir/);
  failed(await cli("allowlist", "list", "--data-dir", dir, "--bogus"), 2, /unknown option --bogus/);
  const missing = join(dir, "nope");
  failed(
    await cli("allowlist", "list", "--data-dir", missing),
    1,
    /signer\.json not found \(is .* a data directory made by init\?\)$/,
  );
  // Nothing was changed or logged.
  deepStrictEqual(okJson(await cli("allowlist", "list", "--data-dir", dir)).entries, []);
  let logged = true;
  try {
    await Deno.stat(join(dir, "audit.log"));
  } catch {
    logged = false;
  }
  strictEqual(logged, false);
  const help = await cli("allowlist", "--help");
  strictEqual(help.code, 0);
  ok(help.stdout.startsWith("usage: mod.ts allowlist list --data-dir DIR\n"));
});
