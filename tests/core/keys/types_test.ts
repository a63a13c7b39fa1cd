/** ChannelId (VLS `ChannelId` layouts), key styles and channelKeysFromSecrets. */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { fromHex, toHex } from "../../../core/bytes.ts";
import { publicKey } from "../../../core/crypto/mod.ts";
import {
  ChannelId,
  channelKeysFromSecrets,
  isKeyStyle,
  KEY_STYLES,
  KeysError,
} from "../../../core/keys/types.ts";

const PEER = fromHex("0266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c03518");

Deno.test("ChannelId.fromPeerDbid is peer_id || dbid u64 little-endian (VLS chaninfo layout)", () => {
  // VLS vlsd chaninfo sample record: 0266e4...c03518 followed by 0100000000000000 (dbid 1).
  const id = ChannelId.fromPeerDbid(PEER, 1n);
  strictEqual(
    id.toHex(),
    "0266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c035180100000000000000",
  );
  strictEqual(id.kind, "peer-dbid");
  deepStrictEqual(id.peerId, PEER);
  strictEqual(id.dbid, 1n);
  strictEqual(id.oid, 1n);
  strictEqual(ChannelId.fromPeerDbid(PEER, 0x0102030405060708n).oid, 0x0102030405060708n);
  strictEqual(ChannelId.fromPeerDbid(PEER, 0xffffffffffffffffn).dbid, 0xffffffffffffffffn);
  strictEqual(String(id), `peer-dbid:${id.toHex()}`);
});

Deno.test("ChannelId.fromKeysId and fromBytes", () => {
  const keysId = new Uint8Array(32).fill(7);
  const id = ChannelId.fromKeysId(keysId);
  strictEqual(id.kind, "keys-id");
  deepStrictEqual(id.bytes, keysId);
  strictEqual(id.peerId, undefined);
  strictEqual(id.dbid, undefined);
  // bytes is a copy: changing it does not change the id.
  id.bytes.fill(0);
  keysId.fill(0);
  strictEqual(id.toHex(), "07".repeat(32));
  const raw = ChannelId.fromBytes(keysId);
  strictEqual(raw.kind, "raw");
  strictEqual(raw.equals(ChannelId.fromBytes(new Uint8Array(32))), true);
  strictEqual(raw.equals(ChannelId.fromKeysId(new Uint8Array(32))), false);
  // VLS LDK-style ids: 24 zero bytes then the oid little-endian.
  strictEqual(ChannelId.fromBytes(fromHex("00".repeat(24) + "2a00000000000000")).oid, 42n);
  strictEqual(ChannelId.fromBytes(Uint8Array.of(1, 2)).oid, 0n);
});

Deno.test("ChannelId rejects bad input with KeysError", () => {
  throws(() => ChannelId.fromPeerDbid(PEER.subarray(1), 1n), {
    name: "KeysError",
    message: "peer id must be 33 bytes",
  });
  throws(() => ChannelId.fromPeerDbid(PEER, -1n), KeysError);
  throws(() => ChannelId.fromPeerDbid(PEER, 1n << 64n), KeysError);
  throws(() => ChannelId.fromKeysId(new Uint8Array(33)), KeysError);
  throws(() => ChannelId.fromBytes(new Uint8Array(0)), KeysError);
  throws(() => ChannelId.fromBytes(new Uint8Array(65)), KeysError);
});

Deno.test("key styles", () => {
  deepStrictEqual([...KEY_STYLES], ["native", "ldk"]);
  strictEqual(isKeyStyle("native"), true);
  strictEqual(isKeyStyle("ldk"), true);
  strictEqual(isKeyStyle("lnd"), false);
  strictEqual(isKeyStyle("Native"), false);
});

Deno.test("channelKeysFromSecrets computes public keys and rejects an invalid secret", () => {
  const s = (b: number) => new Uint8Array(32).fill(b);
  const id = ChannelId.fromKeysId(s(9));
  const keys = channelKeysFromSecrets(id, {
    funding: s(1),
    revocation: s(2),
    htlc: s(3),
    payment: s(4),
    delayedPayment: s(5),
    shaSeed: s(6),
  });
  deepStrictEqual(keys.fundingPubkey, publicKey(s(1)));
  deepStrictEqual(keys.basepoints.revocation, publicKey(s(2)));
  deepStrictEqual(keys.basepoints.htlc, publicKey(s(3)));
  deepStrictEqual(keys.basepoints.payment, publicKey(s(4)));
  deepStrictEqual(keys.basepoints.delayedPayment, publicKey(s(5)));
  strictEqual(toHex(keys.shaSeed.expose()), "06".repeat(32));
  strictEqual(JSON.stringify(keys).includes("0101"), false);
  throws(
    () =>
      channelKeysFromSecrets(id, {
        funding: s(1),
        revocation: new Uint8Array(32), // zero is not a secret key
        htlc: s(3),
        payment: s(4),
        delayedPayment: s(5),
        shaSeed: s(6),
      }),
    { name: "KeysError", message: "derived revocation base key is not a valid secret key" },
  );
});
