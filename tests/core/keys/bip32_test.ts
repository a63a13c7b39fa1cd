/**
 * BIP-32 test vectors 1-5 (bitcoin/bips, bip-0032.mediawiki, "Test Vectors"): every chain step of
 * vectors 1-4 as exact xpub/xprv strings, and every invalid key of vector 5.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { fromHex, toHex } from "../../../core/bytes.ts";
import {
  Bip32Error,
  ExtendedPrivateKey,
  ExtendedPublicKey,
  HARDENED,
  parseExtendedKey,
  parsePath,
} from "../../../core/keys/bip32.ts";
import { networkParams } from "../../../core/bitcoin/network.ts";

interface Step {
  path: string;
  xpub: string;
  xprv: string;
}

const VECTORS: { name: string; seed: string; steps: Step[] }[] = [
  {
    name: "vector 1",
    seed: "000102030405060708090a0b0c0d0e0f",
    steps: [
      {
        path: "m",
        xpub:
          "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
        xprv:
          "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
      },
      {
        path: "m/0'",
        xpub:
          "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
        xprv:
          "xprv9uHRZZhk6KAJC1avXpDAp4MDc3sQKNxDiPvvkX8Br5ngLNv1TxvUxt4cV1rGL5hj6KCesnDYUhd7oWgT11eZG7XnxHrnYeSvkzY7d2bhkJ7",
      },
      {
        path: "m/0'/1",
        xpub:
          "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ",
        xprv:
          "xprv9wTYmMFdV23N2TdNG573QoEsfRrWKQgWeibmLntzniatZvR9BmLnvSxqu53Kw1UmYPxLgboyZQaXwTCg8MSY3H2EU4pWcQDnRnrVA1xe8fs",
      },
      {
        path: "m/0'/1/2'",
        xpub:
          "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5",
        xprv:
          "xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAewRiNMjANTtpgP4mLTj34bhnZX7UiM",
      },
      {
        path: "m/0'/1/2'/2",
        xpub:
          "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
        xprv:
          "xprvA2JDeKCSNNZky6uBCviVfJSKyQ1mDYahRjijr5idH2WwLsEd4Hsb2Tyh8RfQMuPh7f7RtyzTtdrbdqqsunu5Mm3wDvUAKRHSC34sJ7in334",
      },
      {
        path: "m/0'/1/2'/2/1000000000",
        xpub:
          "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy",
        xprv:
          "xprvA41z7zogVVwxVSgdKUHDy1SKmdb533PjDz7J6N6mV6uS3ze1ai8FHa8kmHScGpWmj4WggLyQjgPie1rFSruoUihUZREPSL39UNdE3BBDu76",
      },
    ],
  },
  {
    name: "vector 2",
    seed:
      "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542",
    steps: [
      {
        path: "m",
        xpub:
          "xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB",
        xprv:
          "xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Qn3LqFtT2emdEXVYsCzC2U",
      },
      {
        path: "m/0",
        xpub:
          "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH",
        xprv:
          "xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZXo1ex8G81dwSM1fwqWpWkeS3v86pgKt",
      },
      {
        path: "m/0/2147483647'",
        xpub:
          "xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a",
        xprv:
          "xprv9wSp6B7kry3Vj9m1zSnLvN3xH8RdsPP1Mh7fAaR7aRLcQMKTR2vidYEeEg2mUCTAwCd6vnxVrcjfy2kRgVsFawNzmjuHc2YmYRmagcEPdU9",
      },
      {
        path: "m/0/2147483647'/1",
        xpub:
          "xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ537wTfunKau47EL2dhHKon",
        xprv:
          "xprv9zFnWC6h2cLgpmSA46vutJzBcfJ8yaJGg8cX1e5StJh45BBciYTRXSd25UEPVuesF9yog62tGAQtHjXajPPdbRCHuWS6T8XA2ECKADdw4Ef",
      },
      {
        path: "m/0/2147483647'/1/2147483646'",
        xpub:
          "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL",
        xprv:
          "xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc",
      },
      {
        path: "m/0/2147483647'/1/2147483646'/2",
        xpub:
          "xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5agb9rXpVGyy3bdW6EEgAtqt",
        xprv:
          "xprvA2nrNbFZABcdryreWet9Ea4LvTJcGsqrMzxHx98MMrotbir7yrKCEXw7nadnHM8Dq38EGfSh6dqA9QWTyefMLEcBYJUuekgW4BYPJcr9E7j",
      },
    ],
  },
  {
    name: "vector 3 (leading zeros)",
    seed:
      "4b381541583be4423346c643850da4b320e46a87ae3d2a4e6da11eba819cd4acba45d239319ac14f863b8d5ab5a0d0c64d2e8a1e7d1457df2e5a3c51c73235be",
    steps: [
      {
        path: "m",
        xpub:
          "xpub661MyMwAqRbcEZVB4dScxMAdx6d4nFc9nvyvH3v4gJL378CSRZiYmhRoP7mBy6gSPSCYk6SzXPTf3ND1cZAceL7SfJ1Z3GC8vBgp2epUt13",
        xprv:
          "xprv9s21ZrQH143K25QhxbucbDDuQ4naNntJRi4KUfWT7xo4EKsHt2QJDu7KXp1A3u7Bi1j8ph3EGsZ9Xvz9dGuVrtHHs7pXeTzjuxBrCmmhgC6",
      },
      {
        path: "m/0'",
        xpub:
          "xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y",
        xprv:
          "xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL4L",
      },
    ],
  },
  {
    name: "vector 4 (leading zeros, hardened)",
    seed: "3ddd5602285899a946114506157c7997e5444528f3003f6134712147db19b678",
    steps: [
      {
        path: "m",
        xpub:
          "xpub661MyMwAqRbcGczjuMoRm6dXaLDEhW1u34gKenbeYqAix21mdUKJyuyu5F1rzYGVxyL6tmgBUAEPrEz92mBXjByMRiJdba9wpnN37RLLAXa",
        xprv:
          "xprv9s21ZrQH143K48vGoLGRPxgo2JNkJ3J3fqkirQC2zVdk5Dgd5w14S7fRDyHH4dWNHUgkvsvNDCkvAwcSHNAQwhwgNMgZhLtQC63zxwhQmRv",
      },
      {
        path: "m/0'",
        xpub:
          "xpub69AUMk3qDBi3uW1sXgjCmVjJ2G6WQoYSnNHyzkmdCHEhSZ4tBok37xfFEqHd2AddP56Tqp4o56AePAgCjYdvpW2PU2jbUPFKsav5ut6Ch1m",
        xprv:
          "xprv9vB7xEWwNp9kh1wQRfCCQMnZUEG21LpbR9NPCNN1dwhiZkjjeGRnaALmPXCX7SgjFTiCTT6bXes17boXtjq3xLpcDjzEuGLQBM5ohqkao9G",
      },
      {
        path: "m/0'/1'",
        xpub:
          "xpub6BJA1jSqiukeaesWfxe6sNK9CCGaujFFSJLomWHprUL9DePQ4JDkM5d88n49sMGJxrhpjazuXYWdMf17C9T5XnxkopaeS7jGk1GyyVziaMt",
        xprv:
          "xprv9xJocDuwtYCMNAo3Zw76WENQeAS6WGXQ55RCy7tDJ8oALr4FWkuVoHJeHVAcAqiZLE7Je3vZJHxspZdFHfnBEjHqU5hG1Jaj32dVoS6XLT1",
      },
    ],
  },
];

for (const vector of VECTORS) {
  Deno.test(`BIP-32 ${vector.name}: every chain step, xpub and xprv exactly`, () => {
    const master = ExtendedPrivateKey.fromSeed(fromHex(vector.seed));
    let key = master;
    let previous = "m";
    for (const step of vector.steps) {
      // Each step is one child below the previous one: derive that single child.
      if (step.path !== "m") {
        const last = parsePath(step.path).at(-1);
        strictEqual(parsePath(step.path).length, parsePath(previous).length + 1);
        key = key.deriveChild(last as number);
      }
      strictEqual(key.toBase58(), step.xprv, `${step.path} xprv`);
      strictEqual(key.toPublic().toBase58(), step.xpub, `${step.path} xpub`);
      // The same key from the master in one go.
      strictEqual(master.derivePath(step.path).toBase58(), step.xprv, `${step.path} from m`);
      // Round trip through the parser.
      const parsedPrv = parseExtendedKey(step.xprv).key;
      strictEqual(parsedPrv instanceof ExtendedPrivateKey, true);
      strictEqual(parsedPrv.toBase58(), step.xprv);
      const parsedPub = parseExtendedKey(step.xpub).key;
      strictEqual(parsedPub instanceof ExtendedPublicKey, true);
      strictEqual(parsedPub.toBase58(), step.xpub);
      previous = step.path;
    }
  });
}

Deno.test("BIP-32 CKDpub of normal steps equals N(CKDpriv)", () => {
  // Vector 1, m/0'/1/2'/2/1000000000 from the public key at m/0'/1/2' (two normal steps).
  const master = ExtendedPrivateKey.fromSeed(fromHex(VECTORS[0].seed));
  const xpub = master.derivePath("m/0'/1/2'").toPublic();
  strictEqual(xpub.derivePath("2/1000000000").toBase58(), VECTORS[0].steps[5].xpub);
  // Vector 2, m/0 from the public master.
  const master2 = ExtendedPrivateKey.fromSeed(fromHex(VECTORS[1].seed));
  strictEqual(master2.toPublic().deriveChild(0).toBase58(), VECTORS[1].steps[1].xpub);
  throws(() => xpub.deriveChild(HARDENED), Bip32Error);
});

Deno.test("BIP-32 fingerprint, depth and child number of vector 1 m/0'", () => {
  const master = ExtendedPrivateKey.fromSeed(fromHex(VECTORS[0].seed));
  // Vector 1's master fingerprint is 3442193e (BIP-32 / BIP-174 examples).
  strictEqual(master.fingerprint.toString(16).padStart(8, "0"), "3442193e");
  const child = master.deriveChild(HARDENED);
  strictEqual(child.depth, 1);
  strictEqual(child.parentFingerprint, master.fingerprint);
  strictEqual(child.childNumber, HARDENED);
  strictEqual(
    toHex(master.publicKey),
    "0339a36013301597daef41fbe593a02cc513d0b55527ec2df1050e2e8ff49c85c2",
  );
});

Deno.test("BIP-32 serialisation with testnet versions (tprv/tpub) round-trips", () => {
  const versions = networkParams("regtest").bip32;
  const master = ExtendedPrivateKey.fromSeed(fromHex(VECTORS[0].seed));
  const tprv = master.toBase58(versions);
  const tpub = master.toPublic().toBase58(versions);
  strictEqual(tprv.startsWith("tprv"), true);
  strictEqual(tpub.startsWith("tpub"), true);
  const parsed = parseExtendedKey(tpub);
  deepStrictEqual(parsed.versions, versions);
  strictEqual(parsed.key.toBase58(versions), tpub);
  // Restricting the accepted versions to mainnet rejects a tpub.
  throws(
    () => parseExtendedKey(tpub, { versions: [networkParams("bitcoin").bip32] }),
    { name: "Bip32Error", message: "unknown extended key version" },
  );
});

// BIP-32 test vector 5: each must be rejected (reason as given in the BIP).
const INVALID: [string, string, string][] = [
  [
    "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6LBpB85b3D2yc8sfvZU521AAwdZafEz7mnzBBsz4wKY5fTtTQBm",
    "pubkey version / prvkey mismatch",
    "public key version with invalid public key prefix",
  ],
  [
    "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGTQQD3dC4H2D5GBj7vWvSQaaBv5cxi9gafk7NF3pnBju6dwKvH",
    "prvkey version / pubkey mismatch",
    "private key version with key data not starting 0x00",
  ],
  [
    "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Txnt3siSujt9RCVYsx4qHZGc62TG4McvMGcAUjeuwZdduYEvFn",
    "invalid pubkey prefix 04",
    "public key version with invalid public key prefix",
  ],
  [
    "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGpWnsj83BHtEy5Zt8CcDr1UiRXuWCmTQLxEK9vbz5gPstX92JQ",
    "invalid prvkey prefix 04",
    "private key version with key data not starting 0x00",
  ],
  [
    "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6N8ZMMXctdiCjxTNq964yKkwrkBJJwpzZS4HS2fxvyYUA4q2Xe4",
    "invalid pubkey prefix 01",
    "public key version with invalid public key prefix",
  ],
  [
    "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD9y5gkZ6Eq3Rjuahrv17fEQ3Qen6J",
    "invalid prvkey prefix 01",
    "private key version with key data not starting 0x00",
  ],
  [
    "xprv9s2SPatNQ9Vc6GTbVMFPFo7jsaZySyzk7L8n2uqKXJen3KUmvQNTuLh3fhZMBoG3G4ZW1N2kZuHEPY53qmbZzCHshoQnNf4GvELZfqTUrcv",
    "zero depth with non-zero parent fingerprint",
    "zero depth with non-zero parent fingerprint",
  ],
  [
    "xpub661no6RGEX3uJkY4bNnPcw4URcQTrSibUZ4NqJEw5eBkv7ovTwgiT91XX27VbEXGENhYRCf7hyEbWrR3FewATdCEebj6znwMfQkhRYHRLpJ",
    "zero depth with non-zero parent fingerprint",
    "zero depth with non-zero parent fingerprint",
  ],
  [
    "xprv9s21ZrQH4r4TsiLvyLXqM9P7k1K3EYhA1kkD6xuquB5i39AU8KF42acDyL3qsDbU9NmZn6MsGSUYZEsuoePmjzsB3eFKSUEh3Gu1N3cqVUN",
    "zero depth with non-zero index",
    "zero depth with non-zero index",
  ],
  [
    "xpub661MyMwAuDcm6CRQ5N4qiHKrJ39Xe1R1NyfouMKTTWcguwVcfrZJaNvhpebzGerh7gucBvzEQWRugZDuDXjNDRmXzSZe4c7mnTK97pTvGS8",
    "zero depth with non-zero index",
    "zero depth with non-zero index",
  ],
  [
    "DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHGMQzT7ayAmfo4z3gY5KfbrZWZ6St24UVf2Qgo6oujFktLHdHY4",
    "unknown extended key version",
    "unknown extended key version",
  ],
  [
    "DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHPmHJiEDXkTiJTVV9rHEBUem2mwVbbNfvT2MTcAqj3nesx8uBf9",
    "unknown extended key version",
    "unknown extended key version",
  ],
  [
    "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzF93Y5wvzdUayhgkkFoicQZcP3y52uPPxFnfoLZB21Teqt1VvEHx",
    "private key 0 not in 1..n-1",
    "private key not in 1..n-1",
  ],
  [
    "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD5SDKr24z3aiUvKr9bJpdrcLg1y3G",
    "private key n not in 1..n-1",
    "private key not in 1..n-1",
  ],
  [
    "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Q5JXayek4PRsn35jii4veMimro1xefsM58PgBMrvdYre8QyULY",
    "invalid pubkey 020000000000000000000000000000000000000000000000000000000000000007",
    "invalid public key",
  ],
  [
    "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHL",
    "invalid checksum",
    "invalid base58check encoding or checksum",
  ],
];

Deno.test("BIP-32 vector 5: all 16 invalid keys are rejected with a typed error", () => {
  strictEqual(INVALID.length, 16);
  for (const [key, reason, message] of INVALID) {
    throws(() => parseExtendedKey(key), (e: unknown) => {
      strictEqual(e instanceof Bip32Error, true, reason);
      strictEqual((e as Error).name, "Bip32Error", reason);
      strictEqual((e as Error).message, message, reason);
      // The error never repeats the key.
      strictEqual((e as Error).message.includes(key.slice(4, 20)), false, reason);
      return true;
    }, reason);
  }
});

Deno.test("BIP-32 path parsing", () => {
  deepStrictEqual(parsePath("m"), []);
  deepStrictEqual(parsePath("m/0/0"), [0, 0]);
  deepStrictEqual(parsePath("m/9735'"), [HARDENED + 9735]);
  deepStrictEqual(parsePath("0h/1H/2"), [HARDENED, HARDENED + 1, 2]);
  for (const bad of ["m/", "m//1", "m/-1", "m/2147483648", "m/1x", "x/1", "m/0''"]) {
    throws(() => parsePath(bad), Bip32Error, bad);
  }
});

Deno.test("BIP-32 master seed length and child index range", () => {
  throws(() => ExtendedPrivateKey.fromSeed(new Uint8Array(15)), {
    name: "Bip32Error",
    message: "seed must be 16 to 64 bytes",
  });
  throws(() => ExtendedPrivateKey.fromSeed(new Uint8Array(65)), Bip32Error);
  const master = ExtendedPrivateKey.fromSeed(fromHex(VECTORS[0].seed));
  throws(() => master.deriveChild(2 ** 32), Bip32Error);
  throws(() => master.deriveChild(-1), Bip32Error);
});

Deno.test("BIP-32 private keys never show when printed", () => {
  const master = ExtendedPrivateKey.fromSeed(fromHex(VECTORS[0].seed));
  const secretHex = toHex(master.secretKey.expose());
  const xprv = VECTORS[0].steps[0].xprv;
  for (
    const shown of [
      String(master),
      JSON.stringify({ master }),
      Deno.inspect(master),
      Deno.inspect({ master }, { depth: 5 }),
    ]
  ) {
    strictEqual(shown.includes(secretHex), false, shown);
    strictEqual(shown.includes(xprv), false, shown);
    strictEqual(shown.includes(VECTORS[0].steps[0].xpub), true, shown);
  }
});

Deno.test("BIP-32 zeroize wipes the private key", () => {
  const master = ExtendedPrivateKey.fromSeed(fromHex(VECTORS[0].seed));
  master.zeroize();
  deepStrictEqual(master.secretKey.expose(), new Uint8Array(32));
});
