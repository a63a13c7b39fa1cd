/**
 * `heartbeat verify` through the real entry point: a heartbeat signed by the signer's account key
 * (core/node/heartbeat.ts) verifies with the key given or read from the data directory; stale,
 * future-dated, wrongly signed and undecodable heartbeats exit 1 with one line saying why.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { fromHex, reverse, toHex } from "../../../core/bytes.ts";
import { nodeKeysFromSeed } from "../../../core/keys/mod.ts";
import {
  encodeSignedHeartbeat,
  getHeartbeat,
  heartbeatPubkey,
} from "../../../core/node/heartbeat.ts";
import { cli, dataDir, failed, okJson, type Run, SEED_HEX } from "./_run.ts";

const T = 1_700_000_000;
const TIP = fromHex("11".repeat(31) + "22");
const keys = nodeKeysFromSeed(fromHex(SEED_HEX), { network: "regtest" });
const PUB = toHex(heartbeatPubkey(keys));
const HEX = toHex(
  encodeSignedHeartbeat(
    getHeartbeat({ keys, now: T }, { tipHash: TIP, height: 812, tipTimestamp: T - 600 }),
  ),
);

const VERDICT = {
  valid: true,
  stale: false,
  future_dated: false,
  height: 812,
  tip: toHex(reverse(TIP)),
  timestamp: T,
};

/** The JSON a failing run prints on stdout (it prints the verdict, then the error line). */
function verdictOf(run: Run): Record<string, unknown> {
  strictEqual(run.stdout.trimEnd().includes("\n"), false);
  return JSON.parse(run.stdout);
}

Deno.test("heartbeat verify: valid and fresh with --pubkey, x-only key, or --data-dir", async () => {
  deepStrictEqual(
    okJson(
      await cli(
        "heartbeat",
        "verify",
        "--hex",
        HEX,
        "--pubkey",
        PUB,
        "--network",
        "regtest",
        "--now",
        `${T + 3}`,
      ),
    ),
    { ...VERDICT, age_seconds: 3 },
  );
  deepStrictEqual(
    okJson(
      await cli(
        "heartbeat",
        "verify",
        "--hex",
        HEX,
        "--pubkey",
        PUB.slice(2),
        "--now",
        `${T + 3600}`,
      ),
    ),
    { ...VERDICT, age_seconds: 3600 },
  );
  const dir = await dataDir("regtest");
  const run = await cli(
    "heartbeat",
    "verify",
    "--hex",
    HEX.toUpperCase(),
    "--data-dir",
    dir,
    "--now",
    `${T}`,
  );
  deepStrictEqual(okJson(run), { ...VERDICT, age_seconds: 0 });
  strictEqual(run.stdout.includes(SEED_HEX), false);
});

Deno.test("heartbeat verify: stale, future-dated, wrong key, not a heartbeat", async () => {
  // regtest: stale after 5 seconds (the data directory's network, or --network).
  let run = await cli(
    "heartbeat",
    "verify",
    "--hex",
    HEX,
    "--pubkey",
    PUB,
    "--network",
    "regtest",
    "--now",
    `${T + 6}`,
  );
  failed(run, 1, /^error: the heartbeat is stale: 6 s old, more than 5 s on regtest$/, true);
  deepStrictEqual(verdictOf(run), { ...VERDICT, stale: true, age_seconds: 6 });
  // bitcoin (the default): 3600 seconds.
  run = await cli("heartbeat", "verify", "--hex", HEX, "--pubkey", PUB, "--now", `${T + 3601}`);
  failed(run, 1, /stale: 3601 s old, more than 3600 s on bitcoin$/, true);

  run = await cli("heartbeat", "verify", "--hex", HEX, "--pubkey", PUB, "--now", `${T - 2}`);
  failed(run, 1, /^error: the heartbeat is dated 2 s in the future$/, true);
  deepStrictEqual(verdictOf(run), { ...VERDICT, future_dated: true, age_seconds: -2 });

  const other = toHex(
    heartbeatPubkey(nodeKeysFromSeed(fromHex("77".repeat(32)), { network: "regtest" })),
  );
  run = await cli("heartbeat", "verify", "--hex", HEX, "--pubkey", other, "--now", `${T}`);
  failed(run, 1, /^error: the signature does not verify with this key$/, true);
  deepStrictEqual(verdictOf(run), { ...VERDICT, valid: false, age_seconds: 0 });

  run = await cli(
    "heartbeat",
    "verify",
    "--hex",
    HEX.slice(0, -2),
    "--pubkey",
    PUB,
    "--now",
    `${T}`,
  );
  failed(run, 1, /^error: the bytes are not a signed heartbeat/, true);
  deepStrictEqual(verdictOf(run), {
    valid: false,
    stale: false,
    future_dated: false,
    height: null,
    tip: null,
    timestamp: null,
    age_seconds: null,
  });
});

Deno.test("heartbeat verify: usage errors", async () => {
  failed(
    await cli("heartbeat", "verify", "--hex", "xyz", "--pubkey", PUB),
    2,
    /--hex must be hex bytes/,
  );
  failed(
    await cli("heartbeat", "verify", "--hex", HEX),
    2,
    /give exactly one of --pubkey and --data-dir/,
  );
  failed(
    await cli("heartbeat", "verify", "--hex", HEX, "--pubkey", "02" + "00".repeat(32)),
    2,
    /--pubkey must be a 33-byte compressed point or a 32-byte x-only key/,
  );
  failed(await cli("heartbeat", "verify", "--pubkey", PUB), 2, /missing required option --hex/);
  failed(await cli("heartbeat", "check", "--hex", HEX), 2, /expected one of: verify/);
  failed(
    await cli("heartbeat", "verify", "--hex", HEX, "--pubkey", PUB, "--network", "moon"),
    2,
    /unknown network/,
  );
});
