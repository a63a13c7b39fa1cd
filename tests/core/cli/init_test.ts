/**
 * `init` and `info` through the real entry point: `deno run -A mod.ts ...` as a subprocess, in
 * temporary directories. Checks the printed keys against the keys module and known CLN/LDK
 * values, the files and their modes, that info repeats init, that every bad input exits
 * non-zero with one `error:` line and leaves the directory as it was, that concurrent inits
 * cannot both win, and that no seed ever appears in any output.
 */
import { deepStrictEqual, notStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { toHex, utf8 } from "../../../core/bytes.ts";
import { nodeKeysFromSeed } from "../../../core/keys/mod.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every output of every run, to check that no seed ever shows. */
const ALL_OUTPUT: string[] = [];

async function cli(...args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "mod.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const run = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  ALL_OUTPUT.push(run.stdout, run.stderr);
  return run;
}

/** pyln-testing's hsm_secret of CLN test node l1: "lightning-1" padded with zeros. */
const L1_SEED = new Uint8Array(32);
L1_SEED.set(utf8("lightning-1"));
const L1_HEX = toHex(L1_SEED);
const LDK_SEED_HEX = "11".repeat(32);
const OTHER_HEX = "a5".repeat(16) + "5a".repeat(16);

function assertOk(run: Run): Record<string, string> {
  strictEqual(run.code, 0, run.stderr);
  strictEqual(run.stderr, "");
  strictEqual(run.stdout.endsWith("\n"), true);
  strictEqual(run.stdout.trimEnd().includes("\n"), false, "exactly one line on stdout");
  return JSON.parse(run.stdout);
}

function assertError(run: Run, code: number, pattern: RegExp): void {
  strictEqual(run.code, code, `exit code; stderr: ${run.stderr}`);
  strictEqual(run.stdout, "");
  strictEqual(run.stderr.endsWith("\n"), true);
  const lines = run.stderr.slice(0, -1).split("\n");
  strictEqual(lines.length, 1, `one line on stderr, got: ${run.stderr}`);
  ok(lines[0].startsWith("error: "), lines[0]);
  ok(pattern.test(lines[0]), `${lines[0]} should match ${pattern}`);
}

/** Names, modes and contents under `path` (or "absent"). */
async function snapshot(path: string): Promise<string> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isDirectory) {
      return `file ${(info.mode ?? 0) & 0o777} ${toHex(await Deno.readFile(path))}`;
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "absent";
    throw e;
  }
  const entries: string[] = [`dir ${((await Deno.stat(path)).mode ?? 0) & 0o777}`];
  for await (const entry of Deno.readDir(path)) {
    entries.push(`${entry.name}: ${await snapshot(join(path, entry.name))}`);
  }
  return entries.sort().join("\n");
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "warden_init_test_" });
  try {
    await fn(await Deno.realPath(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("init with a fixed seed prints the expected keys and writes 0600 files", async () => {
  await withTemp(async (tmp) => {
    const dir = join(tmp, "node");
    const run = await cli("init", "--data-dir", dir, "--network", "regtest", "--seed-hex", L1_HEX);
    const out = assertOk(run);
    const keys = nodeKeysFromSeed(L1_SEED, { network: "regtest", style: "native" });
    deepStrictEqual(out, {
      // CLN's node id of its test node l1 (hsm_secret "lightning-1").
      node_id: "0266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c03518",
      network: "regtest",
      key_style: "native",
      bip32_xpub: keys.accountXpub(),
      bolt12_pubkey: toHex(keys.bolt12Pubkey),
      data_dir: dir,
    });
    strictEqual(out.node_id, toHex(keys.nodeId));
    strictEqual(
      out.bip32_xpub,
      "tpubDBrTnjDZwRM6jznHEmo1sYqJWU9so1HRsGEWWjMKLRhVLtuCKYKaHPE3NzqFY3ZdTd64t65T8YrXZZ8Ugwkb7oNzQVBtokaAvtC8Km6EM2G",
    );
    strictEqual(
      Object.keys(out).join(","),
      "node_id,network,key_style,bip32_xpub,bolt12_pubkey,data_dir",
    );
    // Exactly the two files, no temporaries; modes 0700 / 0600.
    strictEqual(
      await snapshot(dir),
      [
        "dir 448",
        `hsm_secret: file 384 ${L1_HEX}`,
        `signer.json: file 384 ${
          toHex(utf8('{"network":"regtest","key_style":"native","version":1}\n'))
        }`,
      ].sort().join("\n"),
    );
  });
});

Deno.test("info prints exactly what init printed (native and ldk)", async () => {
  await withTemp(async (tmp) => {
    for (
      const [style, seedHex, nodeId] of [
        ["native", OTHER_HEX, undefined],
        // LDK 0.1's KeysManager node id for seed 0x11 * 32 (tests/core/keys/ldk_test.ts).
        ["ldk", LDK_SEED_HEX, "0328c0ca4140f514b1f1405c385676297752c11703cd92dfe859822cf8a1898902"],
      ]
    ) {
      const dir = join(tmp, style as string);
      const init = await cli(
        "init",
        "--data-dir",
        dir,
        "--network",
        "signet",
        "--key-style",
        style as string,
        "--seed-hex",
        seedHex as string,
      );
      const out = assertOk(init);
      strictEqual(out.key_style, style);
      strictEqual(out.network, "signet");
      if (nodeId) strictEqual(out.node_id, nodeId);
      const info = await cli("info", "--data-dir", dir);
      assertOk(info);
      strictEqual(info.stdout, init.stdout);
      // A relative path is reported as the absolute directory.
      const relative = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(ROOT, "mod.ts"), "info", "--data-dir", style as string],
        cwd: tmp,
        stdout: "piped",
        stderr: "piped",
      }).output();
      strictEqual(new TextDecoder().decode(relative.stdout), init.stdout);
    }
  });
});

Deno.test("init without --seed-hex uses a fresh random seed", async () => {
  await withTemp(async (tmp) => {
    const a = assertOk(await cli("init", "--data-dir", join(tmp, "a"), "--network", "regtest"));
    const b = assertOk(await cli("init", "--data-dir", join(tmp, "b"), "--network", "bitcoin"));
    notStrictEqual(a.node_id, b.node_id);
    ok(b.bip32_xpub.startsWith("xpub"));
    for (const [name, out] of [["a", a], ["b", b]] as const) {
      const seed = await Deno.readFile(join(tmp, name, "hsm_secret"));
      strictEqual(seed.length, 32);
      const keys = nodeKeysFromSeed(seed, { network: out.network as "regtest" });
      strictEqual(out.node_id, toHex(keys.nodeId));
      strictEqual(out.bip32_xpub, keys.accountXpub());
      strictEqual(((await Deno.stat(join(tmp, name, "hsm_secret"))).mode ?? 0) & 0o777, 0o600);
      for (const text of ALL_OUTPUT) strictEqual(text.includes(toHex(seed)), false);
    }
  });
});

Deno.test("init into an existing empty directory keeps it and adds the two files", async () => {
  await withTemp(async (tmp) => {
    const dir = join(tmp, "empty");
    await Deno.mkdir(dir);
    assertOk(await cli("init", "--data-dir", dir, "--network", "regtest", "--seed-hex", L1_HEX));
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    deepStrictEqual(names.sort(), ["hsm_secret", "signer.json"]);
  });
});

Deno.test("bad input: one error line, exit 1 or 2, nothing written", async () => {
  await withTemp(async (tmp) => {
    // An initialised directory, a file, and directories with broken contents.
    const existing = join(tmp, "existing");
    assertOk(
      await cli("init", "--data-dir", existing, "--network", "regtest", "--seed-hex", L1_HEX),
    );
    const aFile = join(tmp, "a-file");
    await Deno.writeTextFile(aFile, "x");
    const configOnly = join(tmp, "config-only");
    await Deno.mkdir(configOnly);
    await Deno.writeTextFile(join(configOnly, "signer.json"), "{}");
    const noConfig = join(tmp, "no-config");
    await Deno.mkdir(noConfig, { mode: 0o700 });
    await Deno.writeFile(join(noConfig, "hsm_secret"), L1_SEED, { mode: 0o600 });
    const short = join(tmp, "short");
    assertOk(await cli("init", "--data-dir", short, "--network", "regtest"));
    await Deno.writeFile(join(short, "hsm_secret"), new Uint8Array(31));
    const readable = join(tmp, "readable");
    assertOk(await cli("init", "--data-dir", readable, "--network", "regtest"));
    await Deno.chmod(join(readable, "hsm_secret"), 0o644);
    const badNetwork = join(tmp, "bad-network");
    assertOk(await cli("init", "--data-dir", badNetwork, "--network", "regtest"));
    await Deno.writeTextFile(
      join(badNetwork, "signer.json"),
      '{"network":"mainnet","key_style":"native","version":1}',
    );
    const seedDir = join(tmp, "seed-is-dir");
    await Deno.mkdir(seedDir);
    await Deno.mkdir(join(seedDir, "hsm_secret"));
    await Deno.writeTextFile(
      join(seedDir, "signer.json"),
      '{"network":"regtest","key_style":"native","version":1}',
    );
    const fresh = join(tmp, "fresh");
    const init = ["init", "--data-dir", fresh, "--network", "regtest"];
    const cases: [string[], number, RegExp][] = [
      [[...init, "--seed-hex", L1_HEX.slice(2)], 2, /--seed-hex must be 64 hex characters/],
      [[...init, "--seed-hex", L1_HEX + "00"], 2, /--seed-hex must be 64 hex/],
      [[...init, "--seed-hex", "g" + L1_HEX.slice(1)], 2, /--seed-hex must be 64 hex/],
      [[...init, "--seed-hex", ""], 2, /--seed-hex must be 64 hex/],
      [[...init, "--seed-hex"], 2, /option --seed-hex needs a value/],
      [
        ["init", "--data-dir", fresh, "--network", "mainnet", "--seed-hex", L1_HEX],
        2,
        /unknown network/,
      ],
      [[...init, "--key-style", "lnd", "--seed-hex", L1_HEX], 2, /unknown key style/],
      [
        ["init", "--network", "regtest", "--seed-hex", L1_HEX],
        2,
        /missing required option --data-dir/,
      ],
      [["init", "--data-dir", fresh, "--seed-hex", L1_HEX], 2, /missing required option --network/],
      [[...init, `--seed=${L1_HEX}`], 2, /unknown option --seed /],
      [[...init, L1_HEX], 2, /unexpected argument/],
      [[L1_HEX], 2, /unknown command/],
      [
        ["init", "--data-dir", existing, "--network", "regtest", "--seed-hex", OTHER_HEX],
        1,
        /already exists/,
      ],
      [["init", "--data-dir", existing, "--network", "regtest"], 1, /already exists/],
      [
        ["init", "--data-dir", configOnly, "--network", "regtest"],
        1,
        /signer\.json already exists/,
      ],
      [
        ["init", "--data-dir", join(tmp, "no", "parent"), "--network", "regtest"],
        1,
        /cannot create data directory/,
      ],
      [["init", "--data-dir", aFile, "--network", "regtest"], 1, /is not a directory/],
      [["info"], 2, /missing required option --data-dir/],
      [["info", "--data-dir", fresh], 1, /does not exist/],
      [["info", "--data-dir", aFile], 1, /not a directory/],
      [["info", "--data-dir", noConfig], 1, /cannot read .*signer\.json: not found/],
      [["info", "--data-dir", configOnly], 1, /unsupported version/],
      [["info", "--data-dir", short], 1, /must be exactly 32 bytes/],
      [["info", "--data-dir", readable], 1, /accessible by group or others \(mode 0644\)/],
      [["info", "--data-dir", badNetwork], 1, /unknown network/],
      [["info", "--data-dir", seedDir], 1, /is not a regular file/],
      [["info", "--data-dir", existing, "--network", "regtest"], 2, /unknown option --network/],
    ];
    const before = await snapshot(tmp);
    const runs = await Promise.all(cases.map(([args]) => cli(...args)));
    cases.forEach(([args, code, pattern], i) => {
      const run = runs[i];
      assertError(run, code, pattern);
      for (const hex of [L1_HEX, OTHER_HEX, L1_HEX.slice(2)]) {
        strictEqual(run.stderr.toLowerCase().includes(hex), false, `seed echoed: ${args}`);
      }
    });
    strictEqual(await snapshot(tmp), before, "bad input changed the directory");
    strictEqual(await snapshot(fresh), "absent");
  });
});

Deno.test("concurrent inits of one directory: exactly one wins, its seed is on disk", async () => {
  await withTemp(async (tmp) => {
    const dir = join(tmp, "race");
    const seeds = Array.from({ length: 6 }, (_, i) => toHex(new Uint8Array(32).fill(i + 1)));
    const runs = await Promise.all(
      seeds.map((seed) =>
        cli("init", "--data-dir", dir, "--network", "regtest", "--seed-hex", seed)
      ),
    );
    const winners = runs.map((r, i) => [r, i] as const).filter(([r]) => r.code === 0);
    strictEqual(winners.length, 1, runs.map((r) => r.stderr).join(""));
    for (const run of runs) if (run.code !== 0) assertError(run, 1, /already exists/);
    const [winner, index] = winners[0];
    strictEqual(toHex(await Deno.readFile(join(dir, "hsm_secret"))), seeds[index]);
    const info = await cli("info", "--data-dir", dir);
    strictEqual(info.stdout, winner.stdout);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    deepStrictEqual(names.sort(), ["hsm_secret", "signer.json"]);
  });
});

Deno.test("help and usage", async () => {
  for (const args of [["--help"], ["help"], ["-h"]]) {
    const run = await cli(...args);
    strictEqual(run.code, 0);
    strictEqual(run.stderr, "");
    ok(/usage: deno run -A mod\.ts <command>/.test(run.stdout));
    ok(/\n {2}init +create a data directory/.test(run.stdout));
    ok(/\n {2}info +print the public keys/.test(run.stdout));
  }
  for (const args of [["help", "init"], ["init", "--help"], ["init", "-h"]]) {
    const run = await cli(...args);
    strictEqual(run.code, 0);
    ok(run.stdout.startsWith("usage: mod.ts init --data-dir DIR --network NETWORK"), run.stdout);
  }
  const info = await cli("info", "--help");
  strictEqual(info.code, 0);
  ok(info.stdout.startsWith("usage: mod.ts info --data-dir DIR"));
  const none = await cli();
  strictEqual(none.code, 2);
  strictEqual(none.stdout, "");
  ok(none.stderr.includes("usage: deno run -A mod.ts <command>"));
  assertError(await cli("help", "nosuch"), 2, /help takes one known command name/);
});

Deno.test("no seed ever appeared in any output", () => {
  ok(ALL_OUTPUT.length > 0);
  const seeds = [L1_HEX, LDK_SEED_HEX, OTHER_HEX];
  for (const text of ALL_OUTPUT) {
    for (const seed of seeds) {
      strictEqual(text.toLowerCase().includes(seed), false);
    }
  }
});
