/**
 * CLN "native" key derivation against known answers:
 * - VLS `vls-core/src/signer/derive.rs` tests (`node_keys_native_test`,
 *   `get_account_extended_key_test`, `channels_seed_test`) and `my_keys_manager.rs` tests
 *   (`keys_test_native`, `per_commit_test`; channel id `TEST_CHANNEL_ID[0]` = 01 00..00);
 * - CLN itself: the pyln-testing nodes l1, l2, l3 get `hsm_secret` = "lightning-N" padded with
 *   zeros to 32 bytes; their node ids appear throughout CLN's documentation examples, l1's
 *   `makesecret` of "scb secret" is the example in `doc/schemas/lightning-makesecret.json`, and
 *   l2's wallet address at key index 6 is the example in `doc/schemas/lightning-listaddresses.json`.
 */
import { deepStrictEqual, notDeepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { bech32 } from "@scure/base";
import { concat, fromHex, toHex, u64le, utf8 } from "../../../core/bytes.ts";
import { hash160, hkdfSha256, publicKey, sha256 } from "../../../core/crypto/mod.ts";
import { networkParams } from "../../../core/bitcoin/network.ts";
import {
  BOLT12_INDEX,
  clnAccountKey,
  clnBip32Master,
  clnChannelIdBytes,
  clnChannelSecrets,
  clnChannelSeed,
  clnChannelsSeed,
  clnDerivedSecretsBase,
  clnDeriveSecret,
  clnNodeSecret,
  NativeNodeKeys,
  onionReplySecretOf,
  PERSISTENCE_INDEX,
} from "../../../core/keys/native.ts";
import { ChannelId, KeysError } from "../../../core/keys/types.ts";

const ZERO_SEED = new Uint8Array(32);

/** pyln-testing's hsm_secret of node lN: "lightning-N" followed by zero bytes. */
function clnTestSeed(n: number): Uint8Array {
  const seed = new Uint8Array(32);
  seed.set(utf8(`lightning-${n}`));
  return seed;
}

/** BOLT #3 "Per-commitment Secret Requirements": generate_from_seed(seed, I). */
function shachainSecret(seed: Uint8Array, index: bigint): Uint8Array {
  let p: Uint8Array = seed.slice();
  for (let b = 47; b >= 0; b--) {
    if ((index >> BigInt(b)) & 1n) {
      p[b >> 3] ^= 1 << (b & 7);
      p = sha256(p);
    }
  }
  return p;
}

Deno.test("native: VLS known answers for the all-zero seed", () => {
  const keys = new NativeNodeKeys(ZERO_SEED, { network: "testnet" });
  strictEqual(
    toHex(keys.nodeId),
    "02058e8b6c2ad363ec59aa136429256d745164c2bdc87f98f0a68690ec2c5c9b0b",
  );
  strictEqual(
    toHex(clnChannelsSeed(ZERO_SEED)),
    "ab7f29780659755f14afb82342dc19db7d817ace8c312e759a244648dfc25e53",
  );
  strictEqual(
    clnAccountKey(ZERO_SEED).toBase58(networkParams("testnet").bip32),
    "tprv8ejySXSgpWvEBguEGNFYNcHz29W7QxEodgnwbfLzBCccBnxGAq4vBkgqUYPGR5EnCbLvJE7YQsod6qpid85JhvAfizVpqPg3WsWB6UG3fEL",
  );
  // The xpub of that tprv is what `accountXpub` prints.
  strictEqual(keys.accountXpub(), clnAccountKey(ZERO_SEED).toPublic().toBase58(TEST_VERSIONS));
});

const TEST_VERSIONS = networkParams("testnet").bip32;

Deno.test("native: VLS channel keys for TEST_CHANNEL_ID[0] under the zero seed", () => {
  const keys = new NativeNodeKeys(ZERO_SEED, { network: "testnet" });
  const id = ChannelId.fromBytes(
    fromHex("0100000000000000000000000000000000000000000000000000000000000000"),
  );
  const ck = keys.channelKeys(id);
  strictEqual(
    toHex(ck.fundingSecret.expose()),
    "bf36bee09cc5dd64c8f19e10b258efb1f606722e9ff6fe3267b63e2dbe33dcfc",
  );
  strictEqual(
    toHex(ck.revocationBaseSecret.expose()),
    "203612ab8275bab7916b8bf895d45b9dbb639b43d904b34d6449214e9855d345",
  );
  strictEqual(
    toHex(ck.htlcBaseSecret.expose()),
    "517c009452b4baa9df42d6c8cddc966e017d49606524ce7728681b593a5659c1",
  );
  strictEqual(
    toHex(ck.paymentBaseSecret.expose()),
    "54ce3b75dcc2731604f3db55ecd1520d797a154cc757d6d98c3ffd1e90a9a25a",
  );
  strictEqual(
    toHex(ck.delayedPaymentBaseSecret.expose()),
    "9f5c122778b12ad35f555437d88b76b726ae4e472897af33e22616fb0d0b0a44",
  );
  strictEqual(
    toHex(ck.shaSeed.expose()),
    "9fc48da6bc75058283b860d5989ffb802b6395ca28c4c3bb9d1da02df6bb0cb3",
  );
  // VLS per_commit_test: the point of commitment number INITIAL_COMMITMENT_NUMBER - 3.
  const secret = shachainSecret(ck.shaSeed.expose(), (1n << 48n) - 1n - 3n);
  strictEqual(
    toHex(publicKey(secret)),
    "03b5497ca60ff3165908c521ea145e742c25dedd14f5602f3f502d1296c39618a5",
  );
  // Public keys are those of the secrets.
  deepStrictEqual(ck.fundingPubkey, publicKey(ck.fundingSecret.expose()));
  deepStrictEqual(ck.basepoints.revocation, publicKey(ck.revocationBaseSecret.expose()));
  deepStrictEqual(ck.basepoints.payment, publicKey(ck.paymentBaseSecret.expose()));
  deepStrictEqual(ck.basepoints.delayedPayment, publicKey(ck.delayedPaymentBaseSecret.expose()));
  deepStrictEqual(ck.basepoints.htlc, publicKey(ck.htlcBaseSecret.expose()));
  strictEqual(ck.channelId, id);
});

Deno.test("native: CLN test nodes l1, l2, l3 have CLN's node ids", () => {
  const expected = [
    "0266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c03518",
    "022d223620a359a47ff7f7ac447c85c46c923da53389221a0054c11c1e3ca31d59",
    "035d2b1192dfba134e10e540875d366ebc8bc353d5aa766b80c090b39c3a5d885d",
  ];
  expected.forEach((nodeId, i) => {
    const keys = new NativeNodeKeys(clnTestSeed(i + 1), { network: "regtest" });
    strictEqual(toHex(keys.nodeId), nodeId, `l${i + 1}`);
  });
});

Deno.test('native: derive_secret equals CLN\'s makesecret example (l1, "scb secret")', () => {
  const keys = new NativeNodeKeys(clnTestSeed(1), { network: "regtest" });
  const expected = "a9a2e742405c28f059349132923a99337ae7f71168b7485496e3365f5bc664ed";
  strictEqual(toHex(keys.deriveSecret("scb secret").expose()), expected);
  // The RPC's hex form 73636220736563726574 is the same bytes.
  strictEqual(toHex(keys.deriveSecret(fromHex("73636220736563726574")).expose()), expected);
  strictEqual(
    toHex(clnDeriveSecret(clnDerivedSecretsBase(clnTestSeed(1)), utf8("scb secret"))),
    expected,
  );
});

Deno.test("native: wallet key m/0/0/6 of l2 gives CLN's listaddresses example", () => {
  const keys = new NativeNodeKeys(clnTestSeed(2), { network: "regtest" });
  const { prefix, words } = bech32.decode("bcrt1qkpw662yvzdy5ttdg8nw4eh4el0uc7m2ythw0h3");
  strictEqual(prefix, "bcrt");
  strictEqual(words[0], 0); // witness version 0
  const program = bech32.fromWords(words.slice(1));
  deepStrictEqual(hash160(keys.walletPubkey(6)), program);
  const key = keys.walletKey(6);
  strictEqual(key.index, 6);
  deepStrictEqual(key.publicKey, keys.walletPubkey(6));
  deepStrictEqual(publicKey(key.secret.expose()), key.publicKey);
  // The wallet key is m/0/0/6 of the HKDF master.
  deepStrictEqual(
    clnBip32Master(clnTestSeed(2)).derivePath("m/0/0/6").publicKey,
    keys.walletPubkey(6),
  );
  notDeepStrictEqual(keys.walletPubkey(5), keys.walletPubkey(6));
});

Deno.test("native: account xpub uses the network's version bytes", () => {
  const regtest = new NativeNodeKeys(clnTestSeed(1), { network: "regtest" });
  const mainnet = new NativeNodeKeys(clnTestSeed(1), { network: "bitcoin" });
  strictEqual(regtest.accountXpub().startsWith("tpub"), true);
  strictEqual(mainnet.accountXpub().startsWith("xpub"), true);
  strictEqual(regtest.accountKey().depth, 2);
  strictEqual(regtest.accountKey().childNumber, 0);
  deepStrictEqual(regtest.accountKey().publicKey, mainnet.accountKey().publicKey);
  deepStrictEqual(
    publicKey(regtest.accountSecret().expose()),
    regtest.accountKey().publicKey,
  );
  // Regression value (this implementation; m/0/0 of the HKDF "bip32 seed" master of l1).
  strictEqual(
    regtest.accountXpub(),
    "tpubDBrTnjDZwRM6jznHEmo1sYqJWU9so1HRsGEWWjMKLRhVLtuCKYKaHPE3NzqFY3ZdTd64t65T8YrXZZ8Ugwkb7oNzQVBtokaAvtC8Km6EM2G",
  );
});

Deno.test("native: BOLT-12 and persistence keys are m/9735' and m/9736' of the master", () => {
  const seed = clnTestSeed(1);
  const keys = new NativeNodeKeys(seed, { network: "regtest" });
  const master = clnBip32Master(seed);
  deepStrictEqual(keys.bolt12Pubkey, master.deriveChild(BOLT12_INDEX).publicKey);
  deepStrictEqual(keys.bolt12Pubkey, master.derivePath("m/9735'").publicKey);
  deepStrictEqual(publicKey(keys.bolt12Secret.expose()), keys.bolt12Pubkey);
  deepStrictEqual(keys.persistencePubkey, master.deriveChild(PERSISTENCE_INDEX).publicKey);
  notDeepStrictEqual(keys.bolt12Pubkey, keys.persistencePubkey);
});

Deno.test("native: channel seed from (peer id, dbid) with the dbid little-endian", () => {
  const seed = clnTestSeed(1);
  const keys = new NativeNodeKeys(seed, { network: "regtest" });
  const peer = new NativeNodeKeys(clnTestSeed(2), { network: "regtest" }).nodeId;
  const id = ChannelId.fromPeerDbid(peer, 0x0102n);
  deepStrictEqual(id.bytes, concat(peer, fromHex("0201000000000000")));
  deepStrictEqual(clnChannelIdBytes(peer, 0x0102n), id.bytes);
  // Written out from CLN get_channel_seed + derive_basepoints.
  const channelsSeed = hkdfSha256(seed, { info: "peer seed" });
  const channelSeed = hkdfSha256(channelsSeed, {
    salt: concat(peer, u64le(0x0102n)),
    info: "per-peer seed",
  });
  deepStrictEqual(clnChannelSeed(clnChannelsSeed(seed), id.bytes), channelSeed);
  deepStrictEqual(keys.channelSeed(id).expose(), channelSeed);
  const all = hkdfSha256(channelSeed, { info: "c-lightning", length: 192 });
  const ck = keys.channelKeys(id);
  deepStrictEqual(ck.fundingSecret.expose(), all.subarray(0, 32));
  deepStrictEqual(ck.revocationBaseSecret.expose(), all.subarray(32, 64));
  deepStrictEqual(ck.htlcBaseSecret.expose(), all.subarray(64, 96));
  deepStrictEqual(ck.paymentBaseSecret.expose(), all.subarray(96, 128));
  deepStrictEqual(ck.delayedPaymentBaseSecret.expose(), all.subarray(128, 160));
  deepStrictEqual(ck.shaSeed.expose(), all.subarray(160, 192));
  deepStrictEqual(clnChannelSecrets(channelSeed).shaSeed, all.subarray(160, 192));
  // The same bytes as a raw id give the same keys (native derivation only sees bytes) ...
  deepStrictEqual(keys.channelKeys(ChannelId.fromBytes(id.bytes)).fundingPubkey, ck.fundingPubkey);
  // ... and another dbid gives other keys.
  notDeepStrictEqual(
    keys.channelKeys(ChannelId.fromPeerDbid(peer, 0x0201n)).fundingPubkey,
    ck.fundingPubkey,
  );
});

Deno.test("native: node key is HKDF with CLN's zero counter salt (same as an empty salt)", () => {
  const seed = clnTestSeed(3);
  deepStrictEqual(clnNodeSecret(seed), hkdfSha256(seed, { info: "nodeid" }));
  deepStrictEqual(
    clnNodeSecret(seed),
    hkdfSha256(seed, { salt: new Uint8Array(4), info: "nodeid" }),
  );
});

Deno.test('native: onion reply secret is VLS\'s HKDF(seed, "onion reply secret")', () => {
  const keys = new NativeNodeKeys(ZERO_SEED, { network: "testnet" });
  deepStrictEqual(
    keys.onionReplySecret().expose(),
    hkdfSha256(ZERO_SEED, { info: "onion reply secret" }),
  );
  deepStrictEqual(onionReplySecretOf(ZERO_SEED), keys.onionReplySecret().expose());
});

Deno.test("native: bad input gives KeysError", () => {
  throws(() => new NativeNodeKeys(new Uint8Array(31), { network: "regtest" }), {
    name: "KeysError",
    message: "seed must be 32 bytes",
  });
  throws(() => clnNodeSecret(new Uint8Array(33)), KeysError);
  const keys = new NativeNodeKeys(ZERO_SEED, { network: "regtest" });
  throws(() => keys.walletKey(2 ** 31), KeysError);
  throws(() => keys.walletPubkey(-1), KeysError);
  throws(() => keys.walletKey(1.5), KeysError);
  throws(() => new NativeNodeKeys(ZERO_SEED, { network: "mars" as "regtest" }), {
    name: "NetworkError",
  });
});

Deno.test("native: secrets never show when keys are printed or serialised", () => {
  const seed = clnTestSeed(1);
  const keys = new NativeNodeKeys(seed, { network: "regtest" });
  const ck = keys.channelKeys(ChannelId.fromPeerDbid(keys.nodeId, 1n));
  const secrets = [
    toHex(seed),
    toHex(keys.nodeSecret.expose()),
    toHex(keys.bolt12Secret.expose()),
    toHex(ck.fundingSecret.expose()),
    toHex(ck.shaSeed.expose()),
  ];
  const shown = [
    String(keys),
    Deno.inspect(keys, { depth: 10 }),
    Deno.inspect(ck, { depth: 10 }),
    JSON.stringify(ck),
  ].join("\n");
  for (const s of secrets) strictEqual(shown.includes(s), false);
  strictEqual(String(keys).includes(toHex(keys.nodeId)), true);
});

Deno.test("native: zeroize wipes node and channel secrets", () => {
  const keys = new NativeNodeKeys(clnTestSeed(1), { network: "regtest" });
  const ck = keys.channelKeys(ChannelId.fromPeerDbid(keys.nodeId, 7n));
  ck.zeroize();
  deepStrictEqual(ck.fundingSecret.expose(), new Uint8Array(32));
  deepStrictEqual(ck.shaSeed.expose(), new Uint8Array(32));
  keys.zeroize();
  deepStrictEqual(keys.nodeSecret.expose(), new Uint8Array(32));
  deepStrictEqual(keys.bolt12Secret.expose(), new Uint8Array(32));
  deepStrictEqual(keys.accountSecret().expose(), new Uint8Array(32));
});
