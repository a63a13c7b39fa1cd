import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { isNetwork, NetworkError, networkParams, NETWORKS } from "../../../core/bitcoin/network.ts";
import { concat, fromHex, reverse, toHex } from "../../../core/bytes.ts";
import { sha256d } from "../../../core/crypto/mod.ts";

const FUNDING = JSON.parse(
  Deno.readTextFileSync(new URL("../../vectors/bolt3/funding.json", import.meta.url)),
);

/** The genesis coinbase's merkle root, shared by mainnet, testnet3, signet and regtest. */
const MERKLE_ROOT = "3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a";

/** An 80-byte version-1 header on top of nothing: version, prev, merkle, time, bits, nonce. */
function genesisHeader(time: string, bits: string, nonce: string): Uint8Array {
  return concat(
    fromHex("01000000"),
    new Uint8Array(32),
    fromHex(MERKLE_ROOT),
    fromHex(time + bits + nonce),
  );
}

Deno.test("regtest genesis hash in internal byte order (as in CLN's chainparams)", () => {
  strictEqual(
    toHex(networkParams("regtest").genesisHash),
    "06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f",
  );
  // BOLT #3 Appendix B's regtest block 0 hashes to it, and block 1 builds on it.
  const block0 = fromHex(FUNDING.block0_genesis_hex);
  strictEqual(toHex(sha256d(block0.subarray(0, 80))), toHex(networkParams("regtest").genesisHash));
  strictEqual(
    toHex(fromHex(FUNDING.block1_hex).subarray(4, 36)),
    toHex(networkParams("regtest").genesisHash),
  );
  strictEqual(
    toHex(genesisHeader("dae5494d", "ffff7f20", "02000000")),
    toHex(block0.subarray(0, 80)),
  );
});

/**
 * Time, bits and nonce (little-endian) from Bitcoin Core's chainparams.cpp CreateGenesisBlock:
 * mainnet (1231006505, 2083236893, 0x1d00ffff), testnet3 (1296688602, 414098458, 0x1d00ffff),
 * signet (1598918400, 52613770, 0x1e0377ae), regtest (1296688602, 2, 0x207fffff).
 */
Deno.test("mainnet, testnet3 and signet genesis hashes are the hashes of their headers", () => {
  const cases: [string, Uint8Array, string][] = [
    [
      "bitcoin",
      genesisHeader("29ab5f49", "ffff001d", "1dac2b7c"),
      "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    ],
    [
      "testnet",
      genesisHeader("dae5494d", "ffff001d", "1aa4ae18"),
      "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
    ],
    [
      "signet",
      genesisHeader("008f4d5f", "ae77031e", "8ad22203"),
      "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
    ],
  ];
  for (const [name, header, display] of cases) {
    const hash = networkParams(name).genesisHash;
    strictEqual(toHex(reverse(hash)), display, name);
    strictEqual(toHex(sha256d(header)), toHex(hash), name);
  }
  strictEqual(
    toHex(reverse(networkParams("testnet4").genesisHash)),
    "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
  );
});

Deno.test("address, key and invoice constants per network", () => {
  const summary = NETWORKS.map((n) => {
    const p = networkParams(n);
    return [
      p.name,
      p.mainnet,
      p.bech32Hrp,
      p.p2pkhVersion,
      p.p2shVersion,
      p.wifVersion,
      p.coinType,
      p.invoicePrefix,
    ];
  });
  deepStrictEqual(summary, [
    ["bitcoin", true, "bc", 0x00, 0x05, 0x80, 0, "bc"],
    ["testnet", false, "tb", 0x6f, 0xc4, 0xef, 1, "tb"],
    ["testnet4", false, "tb", 0x6f, 0xc4, 0xef, 1, "tb"],
    ["signet", false, "tb", 0x6f, 0xc4, 0xef, 1, "tbs"],
    ["regtest", false, "bcrt", 0x6f, 0xc4, 0xef, 1, "bcrt"],
  ]);
  deepStrictEqual(networkParams("bitcoin").bip32, { public: 0x0488b21e, private: 0x0488ade4 });
  deepStrictEqual(networkParams("regtest").bip32, { public: 0x043587cf, private: 0x04358394 });
});

Deno.test("unknown networks are a NetworkError", () => {
  throws(() => networkParams("mainnet"), {
    name: "NetworkError",
    message:
      'unknown network "mainnet" (expected one of bitcoin, testnet, testnet4, signet, regtest)',
  });
  throws(() => networkParams(""), (e: Error) => e instanceof NetworkError);
  strictEqual(isNetwork("regtest"), true);
  strictEqual(isNetwork("Regtest"), false);
  strictEqual(isNetwork("toString"), false);
});
