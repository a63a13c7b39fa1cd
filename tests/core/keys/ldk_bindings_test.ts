/**
 * LDK-style keys against LDK itself: the npm package `lightningdevkit` 0.1.0 (LDK 0.1 compiled
 * to wasm). For several seeds and starting times, `KeysManager` and our {@link LdkNodeKeys} must
 * agree byte for byte on the node key, destination and shutdown scripts, inbound payment key,
 * generated channel keys ids and every channel secret and public key.
 *
 * Kept in its own file: it loads a 12 MB wasm module.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import * as ldk from "lightningdevkit";
import { concat, toHex, utf8 } from "../../../core/bytes.ts";
import { hash160, sha256 } from "../../../core/crypto/mod.ts";
import { ChannelId, LdkNodeKeys } from "../../../core/keys/mod.ts";

const wasm = await Deno.readFile(
  new URL("liblightningjs.wasm", import.meta.resolve("lightningdevkit")),
);
await ldk.initializeWasmFromBinary(wasm);

interface Case {
  seed: Uint8Array;
  secs: bigint;
  nanos: number;
}

/** Deterministic "random" bytes: SHA256 chain of a label. */
function bytesOf(label: string, n = 0): Uint8Array {
  return sha256(concat(utf8(label), Uint8Array.of(n)));
}

const CASES: Case[] = [
  { seed: new Uint8Array(32).fill(0x11), secs: 1n, nanos: 1 }, // VLS compare_ldk_keys_manager_test
  { seed: new Uint8Array(32), secs: 0n, nanos: 0 },
  { seed: bytesOf("seed", 1), secs: 1_700_000_000n, nanos: 123_456_789 },
  { seed: bytesOf("seed", 2), secs: 0xffffffffffffffffn, nanos: 0xffffffff },
  { seed: bytesOf("seed", 3), secs: 42n, nanos: 999_999_999 },
];

function ok_<T>(result: unknown, what: string): T {
  const r = result as { is_ok(): boolean | number; res?: T };
  ok(r.is_ok(), `${what} returned Err`);
  return r.res as T;
}

function p2wpkh(pubkey: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(0x00, 0x14), hash160(pubkey));
}

function compareChannel(
  km: ldk.KeysManager,
  mine: LdkNodeKeys,
  keysId: Uint8Array,
  label: string,
): void {
  const ims = km.derive_channel_keys(1_000_000n, keysId);
  const ck = mine.channelKeys(ChannelId.fromKeysId(keysId));
  strictEqual(toHex(ck.fundingSecret.expose()), toHex(ims.get_funding_key()), `${label} funding`);
  strictEqual(
    toHex(ck.revocationBaseSecret.expose()),
    toHex(ims.get_revocation_base_key()),
    `${label} revocation`,
  );
  strictEqual(toHex(ck.paymentBaseSecret.expose()), toHex(ims.get_payment_key()), `${label} pay`);
  strictEqual(
    toHex(ck.delayedPaymentBaseSecret.expose()),
    toHex(ims.get_delayed_payment_base_key()),
    `${label} delayed`,
  );
  strictEqual(toHex(ck.htlcBaseSecret.expose()), toHex(ims.get_htlc_base_key()), `${label} htlc`);
  strictEqual(toHex(ck.shaSeed.expose()), toHex(ims.get_commitment_seed()), `${label} seed`);
  const pubkeys = ims.as_ChannelSigner().get_pubkeys();
  strictEqual(toHex(ck.fundingPubkey), toHex(pubkeys.get_funding_pubkey()), `${label} F`);
  strictEqual(
    toHex(ck.basepoints.revocation),
    toHex(pubkeys.get_revocation_basepoint().get_a()),
    `${label} R`,
  );
  strictEqual(toHex(ck.basepoints.payment), toHex(pubkeys.get_payment_point()), `${label} P`);
  strictEqual(
    toHex(ck.basepoints.delayedPayment),
    toHex(pubkeys.get_delayed_payment_basepoint().get_a()),
    `${label} D`,
  );
  strictEqual(toHex(ck.basepoints.htlc), toHex(pubkeys.get_htlc_basepoint().get_a()), `${label} H`);
  strictEqual(toHex(ims.as_ChannelSigner().channel_keys_id()), toHex(keysId), `${label} id`);
}

Deno.test("LDK 0.1 KeysManager: node, destination, shutdown and inbound payment keys", () => {
  for (const [i, c] of CASES.entries()) {
    const km = ldk.KeysManager.constructor_new(c.seed, c.secs, c.nanos);
    const mine = new LdkNodeKeys(c.seed, {
      network: "regtest",
      startingTimeSecs: c.secs,
      startingTimeNanos: c.nanos,
    });
    const nodeId = ok_<Uint8Array>(
      km.as_NodeSigner().get_node_id(ldk.Recipient.LDKRecipient_Node),
      "get_node_id",
    );
    strictEqual(toHex(mine.nodeId), toHex(nodeId), `case ${i} node id`);
    strictEqual(toHex(mine.nodeSecret.expose()), toHex(km.get_node_secret_key()), `case ${i}`);
    const script = ok_<Uint8Array>(
      km.as_SignerProvider().get_destination_script(new Uint8Array(32)),
      "get_destination_script",
    );
    strictEqual(toHex(mine.destinationScript), toHex(script), `case ${i} destination script`);
    deepStrictEqual(p2wpkh(mine.destinationPubkey), mine.destinationScript);
    const shutdown = ok_<ldk.ShutdownScript>(
      km.as_SignerProvider().get_shutdown_scriptpubkey(),
      "get_shutdown_scriptpubkey",
    );
    strictEqual(toHex(p2wpkh(mine.shutdownPubkey)), toHex(shutdown.into_inner()), `case ${i}`);
    const expanded = km.as_NodeSigner().get_inbound_payment_key();
    ok(
      expanded.eq(ldk.ExpandedKey.constructor_new(mine.inboundPaymentKeyMaterial.expose())),
      `case ${i} inbound payment key`,
    );
    ok(!expanded.eq(ldk.ExpandedKey.constructor_new(mine.nodeSecret.expose())), "control");
  }
});

Deno.test("LDK 0.1 KeysManager: generate_channel_keys_id uses the counter and starting time", () => {
  for (const [i, c] of CASES.entries()) {
    const km = ldk.KeysManager.constructor_new(c.seed, c.secs, c.nanos);
    const mine = new LdkNodeKeys(c.seed, {
      network: "regtest",
      startingTimeSecs: c.secs,
      startingTimeNanos: c.nanos,
    });
    for (let n = 0; n < 3; n++) {
      // user_channel_id 0: the bindings' u128 encoding is byte-reversed (ldk-bindings.md).
      const theirs = km.as_SignerProvider().generate_channel_keys_id(n % 2 === 0, 100_000n, 0n);
      strictEqual(toHex(mine.generateChannelKeysId(0n)), toHex(theirs), `case ${i} id ${n}`);
      compareChannel(km, mine, theirs, `case ${i} generated ${n}`);
    }
  }
});

Deno.test("LDK 0.1 KeysManager: derive_channel_keys for arbitrary keys ids", () => {
  for (const [i, c] of CASES.entries()) {
    const km = ldk.KeysManager.constructor_new(c.seed, c.secs, c.nanos);
    const mine = new LdkNodeKeys(c.seed, { network: "bitcoin" });
    const ids = [
      new Uint8Array(32),
      new Uint8Array(32).fill(0xff), // index bytes 4..8 = ffffffff: mod 2^31 matters
      new Uint8Array(32).fill(33),
      bytesOf("keys id", i),
      bytesOf("keys id", i + 100),
    ];
    for (const [j, id] of ids.entries()) compareChannel(km, mine, id, `case ${i} id ${j}`);
    // VLS maps a CLN-style channel id to an LDK keys id; LDK derives the same keys from it.
    const clnId = ChannelId.fromPeerDbid(mine.nodeId, BigInt(i + 1));
    const keysId = mine.keysIdFor(clnId);
    strictEqual(toHex(keysId.subarray(0, 4)), "00000000");
    ok(keysId[4] < 0x80);
    const viaCln = mine.channelKeys(clnId);
    const ims = km.derive_channel_keys(0n, keysId);
    strictEqual(toHex(viaCln.fundingSecret.expose()), toHex(ims.get_funding_key()));
    strictEqual(toHex(viaCln.shaSeed.expose()), toHex(ims.get_commitment_seed()));
  }
});
