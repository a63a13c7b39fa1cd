import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex, utf8 } from "../../../core/bytes.ts";
import { publicKey, sha256 } from "../../../core/crypto/mod.ts";
import {
  decodeSignedHeartbeat,
  encodeHeartbeat,
  encodeSignedHeartbeat,
  getHeartbeat,
  type Heartbeat,
  heartbeatPubkey,
  heartbeatSigHash,
  heartbeatStaleAfter,
  verifyHeartbeat,
} from "../../../core/node/heartbeat.ts";
import { contextOf, seedKeys } from "./_sign_fixture.ts";

const KEYS = seedKeys("regtest");
const TIP = fromHex("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206");
const HB: Heartbeat = {
  chainTip: TIP,
  chainHeight: 0x010203,
  chainTimestamp: 1296688602,
  currentTimestamp: 1000,
};

Deno.test("heartbeat payload: tip, then big-endian height, tip time and clock", () => {
  strictEqual(
    toHex(encodeHeartbeat(HB)),
    toHex(TIP) + "00010203" + "4d49e5da" + "000003e8",
  );
  strictEqual(
    toHex(heartbeatSigHash(encodeHeartbeat(HB))),
    toHex(sha256(concat(utf8("vlsheartbeat"), encodeHeartbeat(HB)))),
  );
  throws(() => encodeHeartbeat({ ...HB, chainHeight: -1 }), {
    name: "HeartbeatError",
    message: "chain height must be a u32",
  });
  throws(() => encodeHeartbeat({ ...HB, chainTip: TIP.subarray(1) }), /chain tip must be 32 bytes/);
});

Deno.test("get_heartbeat: signed by the account key, dated by the clock; round trip", () => {
  const ctx = contextOf(KEYS, { now: 1000 });
  const signed = getHeartbeat(ctx, { tipHash: TIP, height: 0x010203, tipTimestamp: 1296688602 });
  deepStrictEqual(signed.heartbeat, HB);
  const pub = heartbeatPubkey(KEYS);
  strictEqual(toHex(pub), toHex(KEYS.accountKey().publicKey));
  const bytes = encodeSignedHeartbeat(signed);
  strictEqual(bytes.length, 109);
  strictEqual(bytes[0], 0x40);
  deepStrictEqual(decodeSignedHeartbeat(bytes), signed);
  // Deterministic (no auxiliary randomness, as VLS).
  strictEqual(
    toHex(encodeSignedHeartbeat(getHeartbeat(ctx, {
      tipHash: TIP,
      height: 0x010203,
      tipTimestamp: 1296688602,
    }))),
    toHex(bytes),
  );
  deepStrictEqual(verifyHeartbeat(bytes, { pubkey: pub, now: 1000, network: "bitcoin" }), {
    valid: true,
    stale: false,
    futureDated: false,
    heartbeat: HB,
  });
  strictEqual(
    verifyHeartbeat(bytes, { pubkey: pub.subarray(1), now: 1000, network: "bitcoin" }).valid,
    true,
    "x-only key",
  );
});

Deno.test("verifyHeartbeat: stale and future-dated as VLS's monitor (status_test)", () => {
  const bytes = encodeSignedHeartbeat(
    getHeartbeat(contextOf(KEYS, { now: 1000 }), { tipHash: TIP, height: 1, tipTimestamp: 1 }),
  );
  const pubkey = heartbeatPubkey(KEYS);
  const at = (now: number) =>
    verifyHeartbeat(bytes, { pubkey, now, network: "bitcoin", staleAfter: 100 });
  deepStrictEqual([at(999).futureDated, at(999).stale], [true, false]);
  deepStrictEqual([at(1000).futureDated, at(1000).stale], [false, false]);
  deepStrictEqual([at(1100).futureDated, at(1100).stale], [false, false]);
  deepStrictEqual([at(1101).futureDated, at(1101).stale], [false, true]);
  strictEqual(
    verifyHeartbeat(bytes, { pubkey, now: 990, network: "bitcoin", futureTolerance: 10 })
      .futureDated,
    false,
  );
  strictEqual(heartbeatStaleAfter("bitcoin"), 3600);
  strictEqual(heartbeatStaleAfter("testnet"), 3600);
  strictEqual(heartbeatStaleAfter("regtest"), 5);
  strictEqual(heartbeatStaleAfter("signet"), 5);
  strictEqual(verifyHeartbeat(bytes, { pubkey, now: 1006, network: "regtest" }).stale, true);
  strictEqual(verifyHeartbeat(bytes, { pubkey, now: 1005, network: "regtest" }).stale, false);
  strictEqual(verifyHeartbeat(bytes, { pubkey, now: 4601, network: "bitcoin" }).stale, true);
});

Deno.test("verifyHeartbeat: tampering, another key, garbage", () => {
  const bytes = encodeSignedHeartbeat(
    getHeartbeat(contextOf(KEYS, { now: 1000 }), { tipHash: TIP, height: 7, tipTimestamp: 9 }),
  );
  const pubkey = heartbeatPubkey(KEYS);
  const tampered = bytes.slice();
  tampered[108] ^= 1;
  strictEqual(verifyHeartbeat(tampered, { pubkey, now: 1000, network: "bitcoin" }).valid, false);
  strictEqual(
    verifyHeartbeat(bytes, { pubkey: KEYS.nodeId, now: 1000, network: "bitcoin" }).valid,
    false,
  );
  strictEqual(
    verifyHeartbeat(bytes, {
      pubkey: publicKey(new Uint8Array(32).fill(3)),
      now: 1000,
      network: "bitcoin",
    }).valid,
    false,
  );
  deepStrictEqual(verifyHeartbeat(bytes.subarray(1), { pubkey, now: 1000, network: "bitcoin" }), {
    valid: false,
    stale: false,
    futureDated: false,
    heartbeat: null,
  });
  throws(() => decodeSignedHeartbeat(new Uint8Array(109)), { name: "HeartbeatError" });
});

Deno.test("get_heartbeat refuses bad requests", () => {
  const ctx = contextOf(KEYS, { now: 1000 });
  throws(() => getHeartbeat(ctx, { tipHash: TIP.subarray(1), height: 1, tipTimestamp: 1 }), {
    name: "NodeRequestError",
    message: /get_heartbeat: tipHash: must be 32 bytes/,
  });
  throws(() => getHeartbeat(ctx, { tipHash: TIP, height: 2 ** 32, tipTimestamp: 1 }), /height/);
  throws(
    () =>
      getHeartbeat(contextOf(KEYS, { now: 2 ** 32 }), { tipHash: TIP, height: 1, tipTimestamp: 1 }),
    /beyond a u32/,
  );
});
