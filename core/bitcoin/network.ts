/**
 * Bitcoin networks and their constants: BIP-32 version bytes, address prefixes, bech32 HRP and
 * the genesis block hash (the `chainparams` CLN sends at init).
 *
 * @module
 */
import { fromHex, reverse } from "../bytes.ts";

/** The networks the signer knows. Names follow CLN and VLS (`bitcoin` is mainnet). */
export const NETWORKS = ["bitcoin", "testnet", "testnet4", "signet", "regtest"] as const;

/** One of {@link NETWORKS}. */
export type Network = typeof NETWORKS[number];

/** Constants of one network. */
export interface NetworkParams {
  /** The network's name. */
  name: Network;
  /** Whether this is mainnet (policy defaults differ between mainnet and test networks). */
  mainnet: boolean;
  /** Bech32 human-readable part of segwit addresses. */
  bech32Hrp: string;
  /** Base58 version byte of P2PKH addresses. */
  p2pkhVersion: number;
  /** Base58 version byte of P2SH addresses. */
  p2shVersion: number;
  /** WIF version byte. */
  wifVersion: number;
  /** BIP-32 serialisation versions (xpub/xprv or tpub/tprv). */
  bip32: { public: number; private: number };
  /** BIP-44 coin type (0 mainnet, 1 test networks). */
  coinType: number;
  /** Genesis block hash, 32 bytes in internal byte order (as in CLN's `chainparams`). */
  genesisHash: Uint8Array;
  /** BOLT-11 invoice prefix after `ln` (`bc`, `tb`, `tbs`, `bcrt`). */
  invoicePrefix: string;
}

const TEST_BIP32 = { public: 0x043587cf, private: 0x04358394 };

function genesis(displayHex: string): Uint8Array {
  return reverse(fromHex(displayHex, 32));
}

const PARAMS: Record<Network, NetworkParams> = {
  bitcoin: {
    name: "bitcoin",
    mainnet: true,
    bech32Hrp: "bc",
    p2pkhVersion: 0x00,
    p2shVersion: 0x05,
    wifVersion: 0x80,
    bip32: { public: 0x0488b21e, private: 0x0488ade4 },
    coinType: 0,
    genesisHash: genesis("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"),
    invoicePrefix: "bc",
  },
  testnet: {
    name: "testnet",
    mainnet: false,
    bech32Hrp: "tb",
    p2pkhVersion: 0x6f,
    p2shVersion: 0xc4,
    wifVersion: 0xef,
    bip32: TEST_BIP32,
    coinType: 1,
    genesisHash: genesis("000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943"),
    invoicePrefix: "tb",
  },
  testnet4: {
    name: "testnet4",
    mainnet: false,
    bech32Hrp: "tb",
    p2pkhVersion: 0x6f,
    p2shVersion: 0xc4,
    wifVersion: 0xef,
    bip32: TEST_BIP32,
    coinType: 1,
    genesisHash: genesis("00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043"),
    invoicePrefix: "tb",
  },
  signet: {
    name: "signet",
    mainnet: false,
    bech32Hrp: "tb",
    p2pkhVersion: 0x6f,
    p2shVersion: 0xc4,
    wifVersion: 0xef,
    bip32: TEST_BIP32,
    coinType: 1,
    genesisHash: genesis("00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6"),
    invoicePrefix: "tbs",
  },
  regtest: {
    name: "regtest",
    mainnet: false,
    bech32Hrp: "bcrt",
    p2pkhVersion: 0x6f,
    p2shVersion: 0xc4,
    wifVersion: 0xef,
    bip32: TEST_BIP32,
    coinType: 1,
    genesisHash: genesis("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"),
    invoicePrefix: "bcrt",
  },
};

/** An unknown network name. */
export class NetworkError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "NetworkError";
  }
}

/** Whether `name` is a known network. */
export function isNetwork(name: string): name is Network {
  return (NETWORKS as readonly string[]).includes(name);
}

/** The constants of `name`; throws {@link NetworkError} for an unknown network. */
export function networkParams(name: string): NetworkParams {
  if (!isNetwork(name)) {
    throw new NetworkError(`unknown network "${name}" (expected one of ${NETWORKS.join(", ")})`);
  }
  return PARAMS[name];
}
