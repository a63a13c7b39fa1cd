/** nodeKeysFromSeed: the factory over both styles. */
import { deepStrictEqual, notDeepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { toHex } from "../../../core/bytes.ts";
import { SecretBytes } from "../../../core/crypto/mod.ts";
import {
  ChannelId,
  KeysError,
  type KeyStyle,
  LdkNodeKeys,
  NativeNodeKeys,
  nodeKeysFromSeed,
} from "../../../core/keys/mod.ts";

const SEED = new Uint8Array(32).fill(0x11);

Deno.test("nodeKeysFromSeed: native by default, ldk on request", () => {
  const native = nodeKeysFromSeed(SEED, { network: "regtest" });
  strictEqual(native instanceof NativeNodeKeys, true);
  strictEqual(native.style, "native");
  strictEqual(native.network, "regtest");
  const ldk = nodeKeysFromSeed(SEED, {
    network: "regtest",
    style: "ldk",
    startingTimeSecs: 1n,
    startingTimeNanos: 1,
  });
  strictEqual(ldk instanceof LdkNodeKeys, true);
  strictEqual(ldk.style, "ldk");
  // LDK 0.1's node id for this seed (see ldk_test.ts).
  strictEqual(
    toHex(ldk.nodeId),
    "0328c0ca4140f514b1f1405c385676297752c11703cd92dfe859822cf8a1898902",
  );
  deepStrictEqual(native.nodeId, new NativeNodeKeys(SEED, { network: "regtest" }).nodeId);
  notDeepStrictEqual(native.nodeId, ldk.nodeId);
});

Deno.test("nodeKeysFromSeed: SecretBytes seed, and the seed is copied", () => {
  const seed = SEED.slice();
  const fromSecret = nodeKeysFromSeed(new SecretBytes(seed), { network: "bitcoin" });
  const id = fromSecret.nodeId.slice();
  const ck = fromSecret.channelKeys(ChannelId.fromPeerDbid(id, 1n)).fundingPubkey;
  seed.fill(0);
  deepStrictEqual(fromSecret.nodeId, id);
  deepStrictEqual(fromSecret.channelKeys(ChannelId.fromPeerDbid(id, 1n)).fundingPubkey, ck);
});

Deno.test("nodeKeysFromSeed: bad input", () => {
  throws(() => nodeKeysFromSeed(new Uint8Array(64), { network: "regtest" }), {
    name: "KeysError",
    message: "seed must be 32 bytes",
  });
  throws(
    () => nodeKeysFromSeed(SEED, { network: "regtest", style: "lnd" as KeyStyle }),
    { name: "KeysError", message: "unknown key style (expected one of native, ldk)" },
  );
  throws(() => nodeKeysFromSeed(SEED, { network: "mainnet" as "bitcoin" }), {
    name: "NetworkError",
  });
  throws(
    () => nodeKeysFromSeed("00".repeat(32) as unknown as Uint8Array, { network: "regtest" }),
    KeysError,
  );
});
