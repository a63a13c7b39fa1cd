/**
 * LDK-style keys with fixed expected values. The values were produced by LDK 0.1 itself
 * (npm `lightningdevkit` 0.1.0, `KeysManager.constructor_new(seed = 0x11 * 32, 1, 1)`, the seed
 * and starting time of VLS's `compare_ldk_keys_manager_test`); ldk_bindings_test.ts re-checks
 * them against the live wasm for more seeds. This file needs no wasm.
 */
import { deepStrictEqual, notDeepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex } from "../../../core/bytes.ts";
import { hash160, hkdfSha256, publicKey, sha256 } from "../../../core/crypto/mod.ts";
import { ExtendedPrivateKey, HARDENED } from "../../../core/keys/bip32.ts";
import {
  ldkChannelKeysId,
  ldkChannelSecrets,
  LdkNodeKeys,
  vlsLdkKeysId,
} from "../../../core/keys/ldk.ts";
import { clnAccountKey, clnChannelsSeed, NativeNodeKeys } from "../../../core/keys/native.ts";
import { ChannelId, KeysError } from "../../../core/keys/types.ts";
import { networkParams } from "../../../core/bitcoin/network.ts";

const SEED = new Uint8Array(32).fill(0x11);
const OPTIONS = { network: "testnet" as const, startingTimeSecs: 1n, startingTimeNanos: 1 };

Deno.test("ldk: node key m/0', destination m/1', shutdown m/2' as LDK 0.1", () => {
  const keys = new LdkNodeKeys(SEED, OPTIONS);
  strictEqual(
    toHex(keys.nodeId),
    "0328c0ca4140f514b1f1405c385676297752c11703cd92dfe859822cf8a1898902",
  );
  strictEqual(
    toHex(keys.nodeSecret.expose()),
    "e255b3ddc6e282cc99c436ac3ed80abaacaf5769042ca3acea2e7a1c613d38cd",
  );
  strictEqual(toHex(keys.destinationScript), "0014050f0745fdd3b4ecf888be6c7d959535a5b1ad44");
  const master = ExtendedPrivateKey.fromSeed(SEED);
  deepStrictEqual(keys.nodeSecret.expose(), master.derivePath("m/0'").secretKey.expose());
  deepStrictEqual(keys.destinationPubkey, master.derivePath("m/1'").publicKey);
  deepStrictEqual(publicKey(keys.destinationSecret().expose()), keys.destinationPubkey);
  deepStrictEqual(keys.shutdownPubkey, master.derivePath("m/2'").publicKey);
  deepStrictEqual(publicKey(keys.shutdownSecret().expose()), keys.shutdownPubkey);
  deepStrictEqual(
    keys.inboundPaymentKeyMaterial.expose(),
    master.derivePath("m/5'").secretKey.expose(),
  );
  // LDK's get_shutdown_scriptpubkey is P2WPKH of the shutdown key:
  strictEqual(
    toHex(concat(Uint8Array.of(0, 20), hash160(keys.shutdownPubkey))),
    "00142b9e15af6cd47ed444e41300718726753d3d6f89",
  );
});

Deno.test("ldk: generate_channel_keys_id encodes counter, nanos, secs, user channel id", () => {
  const keys = new LdkNodeKeys(SEED, OPTIONS);
  strictEqual(
    toHex(keys.generateChannelKeysId()),
    "0000000000000001000000000000000100000000000000000000000000000000",
  );
  strictEqual(
    toHex(keys.generateChannelKeysId()),
    "0000000100000001000000000000000100000000000000000000000000000000",
  );
  strictEqual(
    toHex(ldkChannelKeysId({
      childIndex: 0x01020304,
      startingTimeNanos: 0x05060708,
      startingTimeSecs: 0x090a0b0c0d0e0f10n,
      userChannelId: 0x1112131415161718191a1b1c1d1e1f20n,
    })),
    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
  );
  throws(
    () =>
      ldkChannelKeysId({
        childIndex: 0,
        startingTimeNanos: 0,
        startingTimeSecs: 0n,
        userChannelId: 1n << 128n,
      }),
    KeysError,
  );
});

Deno.test("ldk: derive_channel_keys as LDK 0.1 for two keys ids", () => {
  const keys = new LdkNodeKeys(SEED, OPTIONS);
  const expected = [
    {
      id: "0000000000000001000000000000000100000000000000000000000000000000",
      funding: "e07b34727df5c3667532971d597183b39b4c9cc350be11c7daf21f8c66cca733",
      revocation: "b9dc3e71061fc917a9d5764f6eb23b25cbcc005dc89251dfdc9ed57348b106ca",
      payment: "accdc037b01c87ea3ae880bae5b35820d94dec8a79ab92cc169604c8d261fb21",
      delayed: "f210a64c2da8f51a3aa8bac0e3628c8c13ebd4ae60fc7c04ce3b3f05216178a9",
      htlc: "aa038b652307aed6310016c7fdf05168d8bf2ba605a9557ef6f2badfa9439048",
      commitmentSeed: "3a9acf0c36fdeb5aea061c1f2a6a3e284a6c492f6db972da0d146a3c8203c7d0",
      fundingPubkey: "029315f0b941bb294350d90ce0419b43888f612108cc221b893a81e19b0aa52a2e",
    },
    {
      id: "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
      funding: "d6d432773589c7259bac581ff34f90efb63b7bad11e708c28676064ab01df625",
      revocation: "abff397611a5086a7b2bb54d6a3fb26b3238509d9b886f70d788f260379719ae",
      payment: "20cf43d36895a7ec81c2fc691f52d9c42f88e5893132e2d55cf326d1d2a4d1c7",
      delayed: "c00c4898f1d22c02dc4f632d094974c37c656dc448648ad37e1f174f4191edaf",
      htlc: "8a0bc41bddb33c8129b48bd9dea0f7071d02ae507b89bd78564d3ad9ef176efe",
      commitmentSeed: "74fb34d5ea1c83ce57da4b0f32735d1d5da33dc98c2e28b9789dcb03e7d674ac",
      fundingPubkey: "03198d13867f2495fe741bcc238a2d6d080d741d272568fb8c7431a425a12c2bcf",
    },
  ];
  for (const e of expected) {
    const ck = keys.channelKeysForKeysId(fromHex(e.id));
    strictEqual(toHex(ck.fundingSecret.expose()), e.funding);
    strictEqual(toHex(ck.revocationBaseSecret.expose()), e.revocation);
    strictEqual(toHex(ck.paymentBaseSecret.expose()), e.payment);
    strictEqual(toHex(ck.delayedPaymentBaseSecret.expose()), e.delayed);
    strictEqual(toHex(ck.htlcBaseSecret.expose()), e.htlc);
    strictEqual(toHex(ck.shaSeed.expose()), e.commitmentSeed);
    strictEqual(toHex(ck.fundingPubkey), e.fundingPubkey);
    strictEqual(ck.channelId.kind, "keys-id");
    strictEqual(ck.channelId.toHex(), e.id);
  }
});

Deno.test("ldk: the channel child index is params[4..8] (BE) mod 2^31, hardened", () => {
  const master = ExtendedPrivateKey.fromSeed(SEED);
  const channelMaster = master.derivePath("m/3'");
  const params = fromHex("00000000800000050000000000000000000000000000000000000000000000aa");
  // Written out: seed = SHA256(params || seed || (m/3'/5')), commitment seed, then the chain.
  const child = channelMaster.deriveChild(HARDENED + 5).secretKey.expose();
  const channelSeed = sha256(concat(params, SEED, child));
  const enc = new TextEncoder();
  const commitment = sha256(concat(channelSeed, enc.encode("commitment seed")));
  const funding = sha256(concat(channelSeed, commitment, enc.encode("funding key")));
  const secrets = ldkChannelSecrets(SEED, params, { channelMaster });
  deepStrictEqual(ldkChannelSecrets(SEED, params), secrets); // channel master derived from seed
  deepStrictEqual(secrets.shaSeed, commitment);
  deepStrictEqual(secrets.funding, funding);
  deepStrictEqual(
    secrets.revocation,
    sha256(concat(channelSeed, funding, enc.encode("revocation base key"))),
  );
  throws(() => ldkChannelSecrets(SEED, new Uint8Array(31)), KeysError);
});

Deno.test("ldk: VLS wallet, BOLT-12 and shared secrets in LDK style", () => {
  const ldk = new LdkNodeKeys(SEED, OPTIONS);
  const native = new NativeNodeKeys(SEED, { network: "testnet" });
  // VLS uses the native account key m/0/0 for the wallet in LDK style too.
  strictEqual(ldk.accountXpub(), native.accountXpub());
  strictEqual(
    ldk.accountXpub(),
    clnAccountKey(SEED).toPublic().toBase58(networkParams("testnet").bip32),
  );
  deepStrictEqual(ldk.walletPubkey(3), native.walletPubkey(3));
  // BOLT-12 and persistence keys come from the raw-seed master.
  const master = ExtendedPrivateKey.fromSeed(SEED);
  deepStrictEqual(ldk.bolt12Pubkey, master.derivePath("m/9735'").publicKey);
  deepStrictEqual(ldk.persistencePubkey, master.derivePath("m/9736'").publicKey);
  notDeepStrictEqual(ldk.bolt12Pubkey, native.bolt12Pubkey);
  deepStrictEqual(ldk.deriveSecret("x").expose(), native.deriveSecret("x").expose());
  deepStrictEqual(ldk.onionReplySecret().expose(), native.onionReplySecret().expose());
  notDeepStrictEqual(ldk.nodeId, native.nodeId);
});

Deno.test("ldk: CLN-style channel ids map through VLS's masked keys id", () => {
  const keys = new LdkNodeKeys(SEED, OPTIONS);
  const id = ChannelId.fromPeerDbid(keys.nodeId, 5n);
  const raw = hkdfSha256(clnChannelsSeed(SEED), { salt: id.bytes, info: "per-peer seed" });
  const keysId = keys.keysIdFor(id);
  deepStrictEqual(keysId.subarray(0, 4), new Uint8Array(4));
  strictEqual(keysId[4], raw[4] & 0x7f);
  deepStrictEqual(keysId.subarray(5), raw.subarray(5));
  deepStrictEqual(vlsLdkKeysId(clnChannelsSeed(SEED), id.bytes), keysId);
  deepStrictEqual(
    keys.channelKeys(id).fundingPubkey,
    keys.channelKeysForKeysId(keysId).fundingPubkey,
  );
  // A keys id is used as it is.
  const direct = ChannelId.fromKeysId(new Uint8Array(32).fill(0xff));
  deepStrictEqual(keys.keysIdFor(direct), new Uint8Array(32).fill(0xff));
});

Deno.test("ldk: starting time options and seed length are validated", () => {
  throws(() => new LdkNodeKeys(SEED, { network: "regtest", startingTimeNanos: 2 ** 32 }), {
    name: "KeysError",
  });
  throws(() => new LdkNodeKeys(SEED, { network: "regtest", startingTimeSecs: -1n }), KeysError);
  throws(() => new LdkNodeKeys(new Uint8Array(16), { network: "regtest" }), {
    name: "KeysError",
    message: "seed must be 32 bytes",
  });
  const keys = new LdkNodeKeys(SEED, OPTIONS);
  strictEqual(keys.startingTimeSecs, 1n);
  strictEqual(keys.startingTimeNanos, 1);
});

Deno.test("ldk: zeroize and printing", () => {
  const keys = new LdkNodeKeys(SEED, OPTIONS);
  const secretHex = toHex(keys.nodeSecret.expose());
  for (const shown of [String(keys), Deno.inspect(keys, { depth: 10 })]) {
    strictEqual(shown.includes(secretHex), false);
    strictEqual(shown.includes(toHex(SEED)), false);
  }
  keys.zeroize();
  deepStrictEqual(keys.nodeSecret.expose(), new Uint8Array(32));
  deepStrictEqual(keys.inboundPaymentKeyMaterial.expose(), new Uint8Array(32));
});
