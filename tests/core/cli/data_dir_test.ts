/** The data directory: create-new writing with rollback, and strict reading. */
import { deepStrictEqual, rejects, strictEqual, throws } from "node:assert/strict";
import { join } from "node:path";
import {
  configJson,
  createSignerDir,
  DataDirError,
  openSignerDir,
  parseConfig,
} from "../../../core/cli/data_dir.ts";

const SEED = new Uint8Array(32).fill(7);

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden_dd_test_" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("createSignerDir then openSignerDir round-trips", async () => {
  await withTemp(async (tmp) => {
    const dir = join(tmp, "d");
    strictEqual(
      await createSignerDir(dir, { seed: SEED, network: "testnet4", keyStyle: "ldk" }),
      dir,
    );
    const opened = await openSignerDir(dir);
    strictEqual(opened.dir, dir);
    deepStrictEqual(opened.config, { network: "testnet4", keyStyle: "ldk" });
    deepStrictEqual(opened.seed.expose(), SEED);
    strictEqual(String(opened.seed), "[redacted]");
    strictEqual(((await Deno.stat(dir)).mode ?? 0) & 0o777, 0o700);
  });
});

Deno.test("createSignerDir refuses an existing signer.json entry and writes nothing", async () => {
  await withTemp(async (tmp) => {
    const dir = join(tmp, "d");
    // Any entry named signer.json (here a directory) blocks init; no temporary file remains.
    await Deno.mkdir(dir);
    await Deno.mkdir(join(dir, "signer.json"));
    await rejects(
      createSignerDir(dir, { seed: SEED, network: "regtest", keyStyle: "native" }),
      {
        name: "DataDirError",
        message: `${join(dir, "signer.json")} already exists; refusing to overwrite it`,
      },
    );
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    deepStrictEqual(names, ["signer.json"]);
  });
});

Deno.test("createSignerDir refuses a seed of the wrong length", async () => {
  await withTemp(async (tmp) => {
    await rejects(
      createSignerDir(join(tmp, "d"), {
        seed: new Uint8Array(16),
        network: "regtest",
        keyStyle: "native",
      }),
      DataDirError,
    );
    await rejects(Deno.lstat(join(tmp, "d")), Deno.errors.NotFound);
  });
});

Deno.test("parseConfig checks version, network and key style", () => {
  deepStrictEqual(parseConfig(configJson({ network: "bitcoin", keyStyle: "native" })), {
    network: "bitcoin",
    keyStyle: "native",
  });
  strictEqual(
    configJson({ network: "regtest", keyStyle: "ldk" }),
    '{"network":"regtest","key_style":"ldk","version":1}\n',
  );
  const bad: [string, RegExp][] = [
    ["not json", /is not valid JSON/],
    ["[]", /must hold a JSON object/],
    ['{"network":"regtest","key_style":"native","version":2}', /unsupported version/],
    ['{"network":"regtest","key_style":"native"}', /unsupported version/],
    ['{"network":"main","key_style":"native","version":1}', /unknown network/],
    ['{"network":"regtest","key_style":"lnd","version":1}', /unknown key_style/],
  ];
  for (const [text, message] of bad) {
    throws(() => parseConfig(text), { name: "DataDirError", message });
  }
});
