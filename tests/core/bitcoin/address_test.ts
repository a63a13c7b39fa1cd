import { strictEqual, throws } from "node:assert/strict";
import {
  AddressError,
  addressToScript,
  isAddressOf,
  scriptToAddress,
} from "../../../core/bitcoin/address.ts";
import { p2pkh, p2tr, p2wpkh } from "../../../core/bitcoin/script.ts";
import { fromHex, toHex } from "../../../core/bytes.ts";

/** BIP-350 "valid segwit addresses" (which supersede BIP-173's list for versions 1..16). */
const VALID_SEGWIT: [string, string][] = [
  ["BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"],
  [
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
    "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
  ],
  [
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
    "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
  ],
  ["BC1SW50QGDZ25J", "6002751e"],
  ["bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"],
  [
    "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
    "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
  ],
  [
    "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
    "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
  ],
  [
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
  ],
];

/**
 * BIP-173 and BIP-350 invalid segwit addresses, each with the error it gets. Under BIP-350 a
 * version 1..16 program in bech32 is refused first for its checksum variant; the BIP-173 reason
 * (written before bech32m existed) is in the comment.
 */
const INVALID_SEGWIT: [string, string, string][] = [
  // BIP-173
  ["tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty", "bitcoin", 'unknown address prefix "tc"'],
  [
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
    "bitcoin",
    "invalid bech32 address: Invalid checksum in bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
  ],
  ["BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2", "bitcoin", "invalid witness version 17"],
  // BIP-173: invalid program length
  ["bc1rw5uspcuh", "bitcoin", "witness version 3 address must use bech32m (BIP-350)"],
  // BIP-173: invalid program length
  [
    "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",
    "bitcoin",
    "witness version 15 address must use bech32m (BIP-350)",
  ],
  [
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
    "bitcoin",
    "invalid witness program length 16 for version 0 (BIP-141: 20 or 32)",
  ],
  [
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",
    "testnet",
    "invalid bech32 address: mixed-case string not allowed",
  ],
  // BIP-173: zero padding of more than 4 bits
  [
    "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",
    "bitcoin",
    "witness version 2 address must use bech32m (BIP-350)",
  ],
  [
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv",
    "testnet",
    "invalid witness program padding: Non-zero padding: 16",
  ],
  ["bc1gmk9yu", "bitcoin", "bech32 address has no witness version"],
  // BIP-350
  [
    "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",
    "bitcoin",
    'unknown address prefix "tc"',
  ],
  [
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
    "bitcoin",
    "witness version 1 address must use bech32m (BIP-350)",
  ],
  [
    "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
    "testnet",
    "witness version 2 address must use bech32m (BIP-350)",
  ],
  [
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
    "bitcoin",
    "witness version 16 address must use bech32m (BIP-350)",
  ],
  [
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
    "bitcoin",
    "witness version 0 address must use bech32, not bech32m (BIP-350)",
  ],
  [
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",
    "testnet",
    "witness version 0 address must use bech32, not bech32m (BIP-350)",
  ],
  [
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
    "bitcoin",
    'invalid bech32 address: Unknown letter "o". Allowed: qpzry9x8gf2tvdw0s3jn54khce6mua7l',
  ],
  [
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
    "bitcoin",
    "invalid witness version 17",
  ],
  ["bc1pw5dgrnzv", "bitcoin", "invalid witness program length 1 (BIP-141: 2..40)"],
  [
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
    "bitcoin",
    "invalid witness program length 41 (BIP-141: 2..40)",
  ],
  [
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",
    "testnet",
    "invalid bech32 address: mixed-case string not allowed",
  ],
  [
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
    "bitcoin",
    "invalid witness program padding: Excess padding",
  ],
  [
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",
    "testnet",
    "invalid witness program padding: Non-zero padding: 16",
  ],
];

const networkOf = (address: string) =>
  address.toLowerCase().startsWith("tb") ? "testnet" : "bitcoin";

Deno.test("BIP-173/BIP-350 valid addresses: address to script and back", () => {
  for (const [address, script] of VALID_SEGWIT) {
    const network = networkOf(address);
    strictEqual(toHex(addressToScript(address, network)), script, address);
    strictEqual(scriptToAddress(fromHex(script), network), address.toLowerCase(), address);
    strictEqual(isAddressOf(address, fromHex(script), network), true);
  }
});

Deno.test("BIP-173/BIP-350 invalid addresses: each refused with an AddressError", () => {
  for (const [address, network, message] of INVALID_SEGWIT) {
    throws(() => addressToScript(address, network), { name: "AddressError", message }, address);
    strictEqual(isAddressOf(address, new Uint8Array(), network), false);
  }
});

/**
 * Base58check pairs from Bitcoin Core's `base58_keys_valid.json` (mainnet, testnet), and the
 * regtest P2PKH address of BOLT #3 Appendix B (`mm3aPLSv...`, hash160 3ca33c2e...).
 */
const BASE58: [string, string, string][] = [
  [
    "1AGNa15ZQXAZUgFiqJ2i7Z2DPU2J6hW62i",
    "bitcoin",
    "76a91465a16059864a2fdbc7c99a4723a8395bc6f188eb88ac",
  ],
  [
    "3CMNFxN1oHBc4R1EpboAL5yzHGgE611Xou",
    "bitcoin",
    "a91474f209f6ea907e2ea48f74fae05782ae8a66525787",
  ],
  [
    "mo9ncXisMeAoXwqcV5EWuyncbmCcQN4rVs",
    "testnet",
    "76a91453c0307d6851aa0ce7825ba883c6bd9ad242b48688ac",
  ],
  [
    "2N2JD6wb56AfK4tfmM6PwdVmoYk2dCKf4Br",
    "testnet",
    "a9146349a418fc4578d10a372b54b45c280cc8c4382f87",
  ],
  [
    "mm3aPLSv9fBrbS68JzurAMp4xGoddJ6pSf",
    "regtest",
    "76a9143ca33c2e4446f4a305f23c80df8ad1afdcf652f988ac",
  ],
  [
    "2N2JD6wb56AfK4tfmM6PwdVmoYk2dCKf4Br",
    "regtest",
    "a9146349a418fc4578d10a372b54b45c280cc8c4382f87",
  ],
  [
    "mo9ncXisMeAoXwqcV5EWuyncbmCcQN4rVs",
    "signet",
    "76a91453c0307d6851aa0ce7825ba883c6bd9ad242b48688ac",
  ],
  [
    "2N2JD6wb56AfK4tfmM6PwdVmoYk2dCKf4Br",
    "testnet4",
    "a9146349a418fc4578d10a372b54b45c280cc8c4382f87",
  ],
];

Deno.test("base58check P2PKH and P2SH on every network", () => {
  for (const [address, network, script] of BASE58) {
    strictEqual(toHex(addressToScript(address, network)), script, `${address} on ${network}`);
    strictEqual(scriptToAddress(fromHex(script), network), address, `${address} on ${network}`);
  }
});

Deno.test("an address of another network is a typed error", () => {
  const cases: [string, string, string][] = [
    ["1AGNa15ZQXAZUgFiqJ2i7Z2DPU2J6hW62i", "regtest", "address is for bitcoin, not regtest"],
    ["3CMNFxN1oHBc4R1EpboAL5yzHGgE611Xou", "testnet", "address is for bitcoin, not testnet"],
    [
      "mo9ncXisMeAoXwqcV5EWuyncbmCcQN4rVs",
      "bitcoin",
      "address is for testnet/testnet4/signet/regtest, not bitcoin",
    ],
    [
      "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
      "regtest",
      'address is for bitcoin (prefix "bc"), not regtest (prefix "bcrt")',
    ],
    [
      "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
      "bitcoin",
      'address is for testnet/testnet4/signet (prefix "tb"), not bitcoin (prefix "bc")',
    ],
  ];
  for (const [address, network, message] of cases) {
    throws(() => addressToScript(address, network), { name: "AddressError", message });
  }
  throws(() => addressToScript("1AGNa15ZQXAZUgFiqJ2i7Z2DPU2J6hW62i", "litecoin"), {
    name: "AddressError",
    message:
      'unknown network "litecoin" (expected one of bitcoin, testnet, testnet4, signet, regtest)',
  });
});

Deno.test("regtest segwit addresses use the bcrt prefix", () => {
  const key = fromHex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
  // BIP-173's example key 1 program, encoded for regtest and back.
  const address = scriptToAddress(p2wpkh(key), "regtest");
  strictEqual(address, "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080");
  strictEqual(toHex(addressToScript(address, "regtest")), toHex(p2wpkh(key)));
  strictEqual(
    scriptToAddress(p2wpkh(key), "bitcoin"),
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
  );
  strictEqual(scriptToAddress(p2pkh(key), "bitcoin"), "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");
  // BIP-341 wallet vector scriptPubKey[0]: the tweaked key 53a1f6e4... pays to bc1p2wsl...
  const taproot = p2tr(fromHex("53a1f6e454df1aa2776a2814a721372d6258050de330b3c6d10ee8f4e0dda343"));
  strictEqual(
    scriptToAddress(taproot, "bitcoin"),
    "bc1p2wsldez5mud2yam29q22wgfh9439spgduvct83k3pm50fcxa5dps59h4z5",
  );
});

Deno.test("bad base58 and scripts without an address are typed errors", () => {
  throws(() => addressToScript("1AGNa15ZQXAZagFiqJ2i7Z2DPU2J6hW62i", "bitcoin"), {
    name: "AddressError",
    message: "invalid base58check address: Invalid checksum",
  });
  // base58check of 0x00 alone: a valid checksum but not a 21-byte payload.
  throws(() => addressToScript("1Wh4bh", "bitcoin"), {
    name: "AddressError",
    message: "base58check payload is 1 bytes, expected 21",
  });
  throws(() => addressToScript("", "bitcoin"), {
    name: "AddressError",
    message: "address must be a non-empty string",
  });
  throws(() => addressToScript("not an address!", "bitcoin"), {
    name: "AddressError",
    message: "not a bech32 or base58check address",
  });
  for (
    const script of ["6a0401020304", "", "51", "0014751e76e8199196d454941c45d1b3a323f1433bd6ff"]
  ) {
    throws(() => scriptToAddress(fromHex(script), "bitcoin"), {
      name: "AddressError",
      message: "script is not P2PKH, P2SH or a witness program: it has no address",
    }, script);
  }
  throws(
    () => scriptToAddress(fromHex("0015751e76e8199196d454941c45d1b3a323f1433bd6ff"), "bitcoin"),
    {
      name: "AddressError",
      message: "invalid witness program length 21 for version 0 (BIP-141: 20 or 32)",
    },
  );
  throws(() => scriptToAddress(fromHex("0010" + "00".repeat(16)), "bitcoin"), {
    name: "AddressError",
    message: "invalid witness program length 16 for version 0 (BIP-141: 20 or 32)",
  });
  strictEqual(new AddressError("x").name, "AddressError");
});
