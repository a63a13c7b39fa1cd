import { deepStrictEqual, notStrictEqual, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex, utf8 } from "../../../core/bytes.ts";
import {
  type CryptoBackend,
  CryptoError,
  currentBackend,
  derEncode,
  ecdh,
  ecdsaRecover,
  ecdsaSign,
  ecdsaSignLowR,
  ecdsaSignRecoverable,
  ecdsaVerify,
  ecdsaVerifyDer,
  hash160,
  hkdfSha256,
  hmacSha256,
  hmacSha512,
  hybridBackend,
  isValidPublicKey,
  isValidSecretKey,
  MAX_RANDOM_BYTES,
  nobleBackend,
  pointAdd,
  pointMultiply,
  publicKey,
  randomBytes,
  ripemd160,
  schnorrSign,
  schnorrVerify,
  secretAdd,
  SecretBytes,
  secretMultiply,
  secretNegate,
  sha256,
  sha256d,
  taggedHash,
  useBackend,
  xOnlyPublicKey,
} from "../../../core/crypto/mod.ts";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N >> 1n;
const ONE = fromHex("0000000000000000000000000000000000000000000000000000000000000001");
const N_MINUS_1 = fromHex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");
const G = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
const rep = (byte: string, n: number) => fromHex(byte.repeat(n));
const scalar = (b: Uint8Array) => BigInt("0x" + toHex(b));
const bytes32 = (n: bigint) => fromHex(n.toString(16).padStart(64, "0"));

// ---------------------------------------------------------------------------------------------
// Hashes

Deno.test("SHA-256, double SHA-256, RIPEMD-160 and hash160 known answers", () => {
  strictEqual(
    toHex(sha256(new Uint8Array())),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  strictEqual(
    toHex(sha256(utf8("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  strictEqual(
    toHex(sha256(utf8("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  strictEqual(
    toHex(sha256(utf8("a".repeat(1000000)))),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
  strictEqual(
    toHex(sha256d(new Uint8Array())),
    "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456",
  );
  // RIPEMD-160 (Dobbertin, Bosselaers, Preneel: the published test values).
  strictEqual(toHex(ripemd160(new Uint8Array())), "9c1185a5c5e9fc54612808977ee8f548b2258d31");
  strictEqual(toHex(ripemd160(utf8("a"))), "0bdc9d2d256b3ee9daae347be6f4dc835a467ffe");
  strictEqual(toHex(ripemd160(utf8("abc"))), "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc");
  strictEqual(toHex(ripemd160(utf8("message digest"))), "5d0689ef49d2fae572b881b123a85ffa21595f36");
  // hash160 of the generator's compressed key: the BIP-173 example program.
  strictEqual(toHex(hash160(fromHex(G))), "751e76e8199196d454941c45d1b3a323f1433bd6");
});

Deno.test("HMAC-SHA256 and HMAC-SHA512: RFC 4231 test cases", () => {
  const cases: [Uint8Array, Uint8Array, string, string][] = [
    [
      rep("0b", 20),
      utf8("Hi There"),
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
    ],
    [
      utf8("Jefe"),
      utf8("what do ya want for nothing?"),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    ],
    [
      rep("aa", 20),
      rep("dd", 50),
      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
      "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
    ],
    [
      fromHex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
      rep("cd", 50),
      "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
      "",
    ],
    [
      rep("aa", 131),
      utf8("Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
      "",
    ],
    [
      rep("aa", 131),
      utf8(
        "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
      ),
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
      "",
    ],
  ];
  for (const [key, data, sha256Mac, sha512Mac] of cases) {
    strictEqual(toHex(hmacSha256(key, data)), sha256Mac);
    if (sha512Mac) strictEqual(toHex(hmacSha512(key, data)), sha512Mac);
  }
  // Test case 5: output truncated to 128 bits.
  strictEqual(
    toHex(hmacSha256(rep("0c", 20), utf8("Test With Truncation")).subarray(0, 16)),
    "a3b6167473100ee06e0c796c2955552b",
  );
});

Deno.test("HKDF-SHA256: RFC 5869 test cases 1-3", () => {
  const range = (from: number, to: number) =>
    Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
  strictEqual(
    toHex(
      hkdfSha256(rep("0b", 22), { salt: range(0x00, 0x0c), info: range(0xf0, 0xf9), length: 42 }),
    ),
    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  );
  strictEqual(
    toHex(
      hkdfSha256(range(0x00, 0x4f), {
        salt: range(0x60, 0xaf),
        info: range(0xb0, 0xff),
        length: 82,
      }),
    ),
    "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
  );
  const case3 =
    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8";
  strictEqual(
    toHex(hkdfSha256(rep("0b", 22), { salt: new Uint8Array(), info: "", length: 42 })),
    case3,
  );
  // RFC 5869: an absent salt is HashLen zero bytes, which HMAC treats like an empty key.
  strictEqual(toHex(hkdfSha256(rep("0b", 22), { length: 42 })), case3);
  strictEqual(toHex(hkdfSha256(rep("0b", 22), { salt: new Uint8Array(32), length: 42 })), case3);
  // A string info is its UTF-8 bytes; the default length is 32.
  deepStrictEqual(hkdfSha256(ONE, { info: "lnd" }), hkdfSha256(ONE, { info: utf8("lnd") }));
  strictEqual(hkdfSha256(ONE).length, 32);
  strictEqual(hkdfSha256(ONE, { length: 255 * 32 }).length, 8160);
  for (const length of [0, 255 * 32 + 1, 1.5]) {
    throws(() => hkdfSha256(ONE, { length }), {
      name: "CryptoError",
      message: "HKDF length out of range",
    });
  }
});

Deno.test("taggedHash: BIP-341 TapTweak of the wallet vector's internal key", () => {
  const internal = fromHex("d6889cb081036e0faefa3a35157ad71086b123b2b144b649798b494c300a961d");
  const tweak = taggedHash("TapTweak", internal);
  strictEqual(toHex(tweak), "b86e7be8f39bab32a6f2c0443abbc210f0edac0e2c53d501b36b64437d9c6c70");
  // Q = P + tweak*G with P the even-y lift of the internal key; Q has odd y here (parity 1).
  const output = pointAdd(concat(Uint8Array.of(2), internal), publicKey(tweak));
  strictEqual(toHex(output), "0353a1f6e454df1aa2776a2814a721372d6258050de330b3c6d10ee8f4e0dda343");
  // Several messages are concatenated.
  deepStrictEqual(taggedHash("t", utf8("ab"), utf8("c")), taggedHash("t", utf8("abc")));
  const t = sha256(utf8("t"));
  deepStrictEqual(taggedHash("t", utf8("abc")), sha256(concat(t, t, utf8("abc"))));
});

// ---------------------------------------------------------------------------------------------
// Keys and points

Deno.test("public keys: generator, n-1 and the BOLT #8 test keys", () => {
  strictEqual(toHex(publicKey(ONE)), G);
  strictEqual(toHex(publicKey(N_MINUS_1)), "03" + G.slice(2));
  strictEqual(toHex(xOnlyPublicKey(ONE)), G.slice(2));
  const bolt8: [string, string][] = [
    ["11", "034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa"], // ls
    ["12", "036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f7"], // initiator e
    ["21", "028d7500dd4c12685d1f568b4c2b5048e8534b873319f3a8daa612b469132ec7f7"], // rs
    ["22", "02466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27"], // responder e
  ];
  for (const [byte, pub] of bolt8) strictEqual(toHex(publicKey(rep(byte, 32))), pub);
});

Deno.test("secret and public key validity", () => {
  strictEqual(isValidSecretKey(ONE), true);
  strictEqual(isValidSecretKey(N_MINUS_1), true);
  strictEqual(isValidSecretKey(new Uint8Array(32)), false);
  strictEqual(isValidSecretKey(bytes32(N)), false);
  strictEqual(isValidSecretKey(rep("ff", 32)), false);
  strictEqual(isValidSecretKey(new Uint8Array(31).fill(1)), false);
  strictEqual(isValidPublicKey(fromHex(G)), true);
  strictEqual(isValidPublicKey(fromHex("02" + "00".repeat(32))), false); // x = 0 is not on the curve
  strictEqual(isValidPublicKey(fromHex("04" + G.slice(2))), false);
  strictEqual(
    isValidPublicKey(fromHex("02fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc30")),
    false, // x >= p
  );
  strictEqual(isValidPublicKey(fromHex(G).subarray(1)), false);
  throws(() => publicKey(new Uint8Array(32)), {
    name: "CryptoError",
    message: "secret key is out of range",
  });
  throws(() => publicKey(new Uint8Array(31)), {
    name: "CryptoError",
    message: "secret key must be 32 bytes",
  });
});

Deno.test("point and secret arithmetic agree: (a+b)G, (ab)G, -a", () => {
  const a = sha256(utf8("a"));
  const b = sha256(utf8("b"));
  const A = publicKey(a);
  const B = publicKey(b);
  deepStrictEqual(publicKey(secretAdd(a, b)), pointAdd(A, B));
  deepStrictEqual(pointAdd(A, B), pointAdd(B, A));
  deepStrictEqual(publicKey(secretMultiply(a, b)), pointMultiply(A, b));
  deepStrictEqual(pointMultiply(A, b), pointMultiply(B, a));
  strictEqual(scalar(secretAdd(a, b)), (scalar(a) + scalar(b)) % N);
  strictEqual(scalar(secretMultiply(a, b)), (scalar(a) * scalar(b)) % N);
  strictEqual(scalar(secretNegate(a)), N - scalar(a));
  deepStrictEqual(secretNegate(secretNegate(a)), a);
  deepStrictEqual(secretNegate(new Uint8Array(32)), new Uint8Array(32));
  // -A is A with the other y parity.
  const minusA = publicKey(secretNegate(a));
  deepStrictEqual(minusA.subarray(1), A.subarray(1));
  notStrictEqual(minusA[0], A[0]);
  // (n-1) + 2 wraps to 1.
  deepStrictEqual(secretAdd(N_MINUS_1, bytes32(2n)), ONE);
  throws(() => secretAdd(a, secretNegate(a)), {
    name: "CryptoError",
    message: "tweaked secret is zero",
  });
  throws(() => pointAdd(A, minusA), {
    name: "CryptoError",
    message: "point sum is the point at infinity",
  });
  throws(() => pointAdd(A, fromHex("02" + "00".repeat(32))), {
    name: "CryptoError",
    message: "second point is not a valid point",
  });
  throws(() => pointMultiply(A, new Uint8Array(32)), {
    name: "CryptoError",
    message: "scalar is out of range",
  });
  throws(() => secretMultiply(a, bytes32(N)), {
    name: "CryptoError",
    message: "scalar is out of range",
  });
});

Deno.test("BOLT #3 Appendix E key derivation with the point and secret operations", () => {
  const v = JSON.parse(
    Deno.readTextFileSync(new URL("../../vectors/bolt3/key-derivation.json", import.meta.url)),
  );
  const baseSecret = fromHex(v.base_secret);
  const perCommitmentSecret = fromHex(v.per_commitment_secret);
  const basepoint = fromHex(v.base_point);
  const perCommitmentPoint = fromHex(v.per_commitment_point);
  deepStrictEqual(publicKey(baseSecret), basepoint);
  deepStrictEqual(publicKey(perCommitmentSecret), perCommitmentPoint);
  const tweak = sha256(concat(perCommitmentPoint, basepoint));
  strictEqual(toHex(pointAdd(basepoint, publicKey(tweak))), v.expected.localpubkey);
  strictEqual(toHex(secretAdd(baseSecret, tweak)), v.expected.localprivkey);
  const r = sha256(concat(basepoint, perCommitmentPoint));
  const c = sha256(concat(perCommitmentPoint, basepoint));
  strictEqual(
    toHex(pointAdd(pointMultiply(basepoint, r), pointMultiply(perCommitmentPoint, c))),
    v.expected.revocationpubkey,
  );
  strictEqual(
    toHex(secretAdd(secretMultiply(baseSecret, r), secretMultiply(perCommitmentSecret, c))),
    v.expected.revocationprivkey,
  );
});

// ---------------------------------------------------------------------------------------------
// ECDSA

/**
 * RFC 6979 deterministic ECDSA on secp256k1 over SHA256(message), low-S. These are the vectors
 * used by bitcoinjs-lib (test/fixtures/ecdsa.json), Trezor and btcd (btcec signature_test.go,
 * TestSignatureSerialize/RFC 6979 cases); the first needs low-S normalisation (btcd: "This
 * signature hits the case when S is higher than halforder").
 */
const RFC6979: [string, string, string][] = [
  [
    "0000000000000000000000000000000000000000000000000000000000000001",
    "Satoshi Nakamoto",
    "934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d82442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5",
  ],
  [
    "0000000000000000000000000000000000000000000000000000000000000001",
    "All those moments will be lost in time, like tears in rain. Time to die...",
    "8600dbd41e348fe5c9465ab92d23e3db8b98b873beecd930736488696438cb6b547fe64427496db33bf66019dacbf0039c04199abb0122918601db38a72cfc21",
  ],
  [
    "0000000000000000000000000000000000000000000000000000000000000001",
    "Everything should be made as simple as possible, but not simpler.",
    "33a69cd2065432a30f3d1ce4eb0d59b8ab58c74f27c41a7fdb5696ad4e6108c96f807982866f785d3f6418d24163ddae117b7db4d5fdf0071de069fa54342262",
  ],
  [
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140",
    "Satoshi Nakamoto",
    "fd567d121db66e382991534ada77a6bd3106f0a1098c231e47993447cd6af2d06b39cd0eb1bc8603e159ef5c20a5c8ad685a45b06ce9bebed3f153d10d93bed5",
  ],
  [
    "f8b8af8ce3c7cca5e300d33939540c10d45ce001b8f252bfbc57ba0342904181",
    "Alan Turing",
    "7063ae83e7f62bbb171798131b4a0564b956930092b33b07b395615d9ec7e15c58dfcc1e00a35e1572f366ffe34ba0fc47db1e7189759b9fb233c5b05ab388ea",
  ],
  [
    "e91671c46231f833a6406ccbea0e3e392c76c167bac1cb013f6f1013980455c2",
    "There is a computer disease that anybody who works with computers knows about. It's a very serious disease and it interferes completely with the work. The trouble with computers is that you 'play' with them!",
    "b552edd27580141f3b2a5463048cb7cd3e047b97c9f98076c32dbdf85a68718b279fa72dd19bfae05577e06c7c0c1900c371fcd5893f7e1d56a37d30174671f6",
  ],
  [
    "cca9fbcc1b41e5a95d369eaa6ddcff73b61a4efaa279cfc6567e8daa39cbaf50",
    "sample",
    "af340daf02cc15c8d5d08d7735dfe6b98a474ed373bdb5fbecf7571be52b38425009fb27f37034a9b24b707b7c6b79ca23ddef9e25f7282e8a797efe53a8f124",
  ],
];

Deno.test("ECDSA: RFC 6979 known answers, low-S", () => {
  for (const [key, message, signature] of RFC6979) {
    const digest = sha256(utf8(message));
    const sig = ecdsaSign(digest, fromHex(key));
    strictEqual(toHex(sig), signature, message);
    strictEqual(scalar(sig.subarray(32)) <= HALF_N, true, message);
    strictEqual(ecdsaVerify(sig, digest, publicKey(fromHex(key))), true, message);
  }
  strictEqual(
    toHex(derEncode(ecdsaSign(sha256(utf8("Satoshi Nakamoto")), ONE))),
    "3045022100934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d802202442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5",
  );
});

/** Bitcoin Core src/test/key_tests.cpp "test deterministic signing" (double SHA-256). */
const CORE_KEY1 = fromHex("12b004fff7f4b69ef8650e767f18f11ede158148b425660723b9f9a66e61f747");
const CORE_KEY2 = fromHex("b524c28b61c9b2c49b2c7dd4c2d75887abb78768c054bd7c01af4029f6c0d117");

Deno.test("ECDSA: Bitcoin Core's deterministic signing vectors", () => {
  const digest = sha256d(utf8("Very deterministic message"));
  strictEqual(toHex(digest), "5255683da567900bfd3e786ed8836a4e7763c221bf1ac20ece2a5171b9199e8a");
  strictEqual(
    toHex(derEncode(ecdsaSign(digest, CORE_KEY1))),
    "304402205dbbddda71772d95ce91cd2d14b592cfbc1dd0aabd6a394b6c2d377bbe59d31d022014ddda21494a4e221f0824f0b8b924c43fa43c0ad57dccdaa11f81a6bd4582f6",
  );
  strictEqual(
    toHex(derEncode(ecdsaSign(digest, CORE_KEY2))),
    "3044022052d8a32079c11e79db95af63bb9600c5b04f21a9ca33dc129c2bfa8ac9dc1cd5022061d8ae5e0f6c1a16bde3719c64c2fd70e404b6428ab9a69566962e8771b5944d",
  );
  // SignCompact for key1 gives header 0x1c = 27 + recovery id 1.
  const rec = ecdsaSignRecoverable(digest, CORE_KEY1);
  strictEqual(rec.recovery, 1);
  strictEqual(
    toHex(rec.signature),
    "5dbbddda71772d95ce91cd2d14b592cfbc1dd0aabd6a394b6c2d377bbe59d31d14ddda21494a4e221f0824f0b8b924c43fa43c0ad57dccdaa11f81a6bd4582f6",
  );
});

/**
 * Low-R signatures produced by Bitcoin Core's signer (RFC 6979 with the grinding counter as extra
 * entropy, as CLN does), from Bisq's LowRSigningKeyTest GENERATED_TEST_VECTORS (made with
 * `bitcoin-tx`): [secret key, digest, r, s].
 */
const LOW_R: [string, string, string, string][] = [
  [
    "02",
    "546876d08f9f06f12c168f96079cd0af996ce22d89bbc58eced2631918a9bc9a",
    "45cc5d5e4fad81f2bc89f16cb37575da3ae13677f707a73ca5ca1e2787e3d311",
    "25829e0ad206dbd53cd637b75eedbde3273548673b2d08de3f61dcbe723409e2",
  ],
  [
    "02",
    "2cca2f04e6e654226483f5af39fbfebb883e301bd32553a6a0fb176b0d172b3a",
    "2bdcafead8f6db212228e52f061e894db8bdc2133c6c81a5b54883ef5648ae6d",
    "007bdcc92effb2931b4c7c5c834bf7aa847d3e0e0e1d9c7e41ed3981821eb830",
  ],
  [
    "02",
    "d78c70bc5e7f9a74ce4e3000369592a037a8898a93b07a5bdc2d88ed78462521",
    "1f283dfd1ba17e69dbbe2fe261c3984569316efa781b1a4e846fa7978f0fe918",
    "180187c9cc33c2849b4770260a1ee379e5c4292ad46bd700c45a108bb4c6f346",
  ],
  [
    "02",
    "c65a47a4d448b60cff8bbcf190492a1d5ef6beb217465c69bd358c4460ab84fb",
    "216301d61b337ca80c62047d349fa85c04b05451586ab0a2034d0855b09209fe",
    "228d09fe3e5a9a90501def65a8e467a5172c9fdd510c8a5db3a6cdbea000b1cc",
  ],
  [
    "02",
    "d5bde8603bada85600e24ae82c9dee32671ac5038f6842558610f5cf3129f21e",
    "50b0b26bbfe72cacee2c8e1612e057c1855da8320232965137dd67f9eab77523",
    "26f990be93e0b8ce5ddbe468d0d242c51686c2ad9608ee44b17875b991e23e82",
  ],
  [
    "110022003300440055006600770088009900aa00bb00cc00dd00ee00ff",
    "340b1fe486af2cd6b0ef8786d1c747fc3d785c5499d35faa25fbde57f9bf70ae",
    "2c5bc7104c059e2db8cda7b500424d2438ae2635b6cddcc51695a11e7ec95cc7",
    "62bc8969bfb02cac905f0739cecadc456bf48539a9b268b2c2725d3c2680be88",
  ],
  [
    "110022003300440055006600770088009900aa00bb00cc00dd00ee00ff",
    "a39e0f59a4d8448ab4a614edb998e3f315d3a4c855855386afdfe664a42a0864",
    "752066dbf4e862d634440649014ec1fc64fdcea1127320acc09b223b1e7fbc59",
    "2a613585d5ac1741080380bdf7b151e559ccb37c5521674a77b999c9de0f21e8",
  ],
  [
    "110022003300440055006600770088009900aa00bb00cc00dd00ee00ff",
    "df0a60d25576d441cdd76f5a3d63fe1308860121e70e832098abac5b6d5ff715",
    "65f8ccf807faeb46c0a69d1b1774a53081ec11c5e0ffb854620bcb2f2c8098bb",
    "32feb22792926929f01d51439814ec1bc414c2ab52b36a7c675e50ea37310b78",
  ],
  [
    "110022003300440055006600770088009900aa00bb00cc00dd00ee00ff",
    "79df48383bdf5d295e510f4aadcc3a3b2ed0c3d454e1b1e4315de7c3f1ea86ab",
    "588ae9380e85c8c2c565321957aa459a4ae0080331d41145b7dea5214bf91377",
    "7207f2c4969e19ef5de08d088ea7dcd4c1ba67574cc0ac023dc9e7c48abee8b6",
  ],
  [
    "110022003300440055006600770088009900aa00bb00cc00dd00ee00ff",
    "44adec39be60bf10994596a0248dcafa78a45ca30472190f0de61523e90ec131",
    "1bef291f3aa99c551ef5d96d9fd06d945092e185cebe2cda75351e2f27ca3ea2",
    "2024fda909bfb9b9079f072dbe005ae850a54f16d1b59bc46afc6db2ef5461fe",
  ],
  [
    "0123456789abcdef00000000000000000123456789abcdef0000000000000000",
    "e48ae59f8a200c946c827ab8992f8774dc0d5742d50baaa9f26b39a91f471eda",
    "39af0095c3cd45cba48891f29e2a69c3ba421c97bbc3181aa1f3699e3deb5234",
    "19ad75c9f49f42648338ddfac0b3597145db0864b897212d3da0a88b796d09f8",
  ],
  [
    "0123456789abcdef00000000000000000123456789abcdef0000000000000000",
    "9e1a0043b4e941352f8cd957041244bed7f4a616c254ab8ba1a8ce7fba8a798a",
    "33b8197cfdefd2d5715139770256037224454ccc21d25bebb91100bcead5aba9",
    "45857b3c9cea024f663afb580dc284db387627fbe701f620715cdd7bed0ad074",
  ],
  [
    "0123456789abcdef00000000000000000123456789abcdef0000000000000000",
    "bda8eafc615336f3db072cb6a77804f284fb89d7ae1ff90c7542278cfb25f1f0",
    "546033ea22ec13216b202af72d6cc434cdcfad74ef2a745d69adb5a568443118",
    "45d87e494c695b956fb5f5ec7d7af72ff35642f5b684654dcca72bbbbcf5bfa2",
  ],
  [
    "0123456789abcdef00000000000000000123456789abcdef0000000000000000",
    "c8fd5e849b13582c9eb71a98b82fc23597cf85ddeac7f83f1c773be2e73021eb",
    "3cc7ed384b7f64ed6e50d0ae93617761573571e6b15ae421d957ccb6f7b91d45",
    "404fd888b72db73a355fe0b5924f699103ae607c70b9f64c40e1667c61e7a80c",
  ],
  [
    "0123456789abcdef00000000000000000123456789abcdef0000000000000000",
    "597d869fc78e5ba7eaa27b6dd418d57d90915f9e8212125002187f715510928b",
    "65f5ae18a30d1c36f4a7af7e75372e47a39e6fdde2ab33156da74bd263eae039",
    "47fa066b272a29653b9fc8111be55ef5b5de73109fd94211a0484ba9ec29fc59",
  ],
  [
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "abed54431dfcd125916d9c0ebd8a2be9e871300fec5b664cb895acb4bc3e9535",
    "14aa272497fda7a11be7d3f93c528b5b2decacce8b652a7f07351b6297850586",
    "51fe6c6165880c91a945601c8b2d161c9f35243989d436b61d0369c2b3281ddd",
  ],
  [
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "ecf4f4f0cc3bcf6d828ccb237a6d80fcf84b55380cd37f8927af2516cde1c4e4",
    "398e2b26fbb01485d8fcf351249a49023db08db8d89df7cba4b8317df428b3ad",
    "6c1cb45174d97b6c1197022757155d2d3b33143853d341a2c7054f0f8dfdbaf6",
  ],
  [
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "a85c398d193cd603a4960a90232354baea46918a96c421ab53a972cd7a0892d6",
    "09269f59ff0423a0289e891cafffbde8fba9eec528f9c27cf4c4670cc1130e4e",
    "37d383ea040a6d41d7740ddad71b38b160ab61a28bd6f4985c7b0507ac8079c1",
  ],
  [
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "5be2ab78309b5cf85d41d035b42b8c10d7fd69aab5d496af84c0b4760bda639f",
    "7804f6ca0c17986184affe96ae8df3c163bfa4661fbf3f9208586e30768b99a2",
    "546c91e23074e3b38b6f4cf9c72b041968f56d06f6bf2e18f03eb02423369d28",
  ],
  [
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "14c2ff5e669fcf329d5a6bafbfd8b2a60b173ea565cdc8f39fc8c8a4564367d3",
    "5c12e5a06f942446ec0bdd470d13e871acbae8083678b2bcc365e53314d432f7",
    "3f856d7cac724daa898030dac14835b3702e8f484425e736b51752e6939ddc4d",
  ],
  [
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140",
    "f0f2fd0d2c8af9b1204c8320bf4453d381934afdca9ceaaa2f3fab24783b433a",
    "0cdfeff3615c787f74c01b0d40a69c75ac7f3e3aa4dd6024c570a19f0af08623",
    "04a78302a97985b7a7fcfc000d794f885c7bba0631a5f4c86c657e3993434403",
  ],
  [
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140",
    "7defe5ad8b5e636e8667bea1fc19c4619a326091201b3839b65c0339550e8df5",
    "62513a14aeac3a222b9805d198cf252667eb955348814d922ed33b705fdcaf30",
    "4f1ec4de4ab1e7ecd942b4a1c23be28a2f108090ee1494a4dd8c56b00560e577",
  ],
  [
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140",
    "c499af12e92bf421a0968aaeb766d140d240bd7b3ed021efc55e69707e95ba09",
    "78d6ee5e9b9e757671edf8023e38e1f5df9be261a498b9aec8cdaacb7e191b2c",
    "54448228d3b5e021224847f1706d31e69bc41ada1dc9dde93da0b770f653d8b9",
  ],
  [
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140",
    "22cbd20a30c91f0ad022a185b1e3999fe1c35f64f29572ddd00781c12ea0e024",
    "74c653169f9296952fec948a92e574365b40a74596913875c6ca0ac2d864a533",
    "168bed1a949d205b9358326fcffc7ac3318fd21a1c340da727995d3c2642daff",
  ],
  [
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140",
    "9339f4b9ca9ef2c9459462b329261895b5ed2952a1a0d26223fbaea88f60960e",
    "31b5b2fbaad2e3696cb4492aad8044f264f3ae991dde02c590fe254587d96e0c",
    "183ae3a641b2056ce425adec1bea9454574a1af367071d9aa28bcdc148ba425d",
  ],
];

Deno.test("ECDSA low-R: Bitcoin Core's signatures, R < 2^255, DER <= 71 bytes with sighash", () => {
  let ground = 0;
  for (const [key, digestHex, r, s] of LOW_R) {
    const secret = fromHex(key.padStart(64, "0"));
    const digest = fromHex(digestHex);
    const sig = ecdsaSignLowR(digest, secret);
    strictEqual(toHex(sig), r + s, digestHex);
    strictEqual(sig[0] < 0x80, true);
    strictEqual(derEncode(sig).length + 1 <= 71, true);
    deepStrictEqual(ecdsaSignLowR(digest, secret), sig); // deterministic
    strictEqual(ecdsaVerify(sig, digest, publicKey(secret)), true);
    const plain = ecdsaSign(digest, secret);
    if (plain[0] < 0x80) deepStrictEqual(plain, sig); // no grinding needed: plain RFC 6979
    else ground++;
  }
  // Some of these vectors exercise the grinding loop (plain RFC 6979 had a high R).
  strictEqual(ground, 17);
});

Deno.test("ECDSA strict verification refuses high-S, wrong keys and malformed input", () => {
  const secret = sha256(utf8("strict"));
  const digest = sha256(utf8("message"));
  const pubkey = publicKey(secret);
  const sig = ecdsaSign(digest, secret);
  strictEqual(ecdsaVerify(sig, digest, pubkey), true);
  const highS = concat(sig.subarray(0, 32), bytes32(N - scalar(sig.subarray(32))));
  strictEqual(ecdsaVerify(highS, digest, pubkey), false);
  strictEqual(ecdsaVerify(sig, digest, publicKey(sha256(utf8("other")))), false);
  strictEqual(ecdsaVerify(sig, sha256(utf8("other message")), pubkey), false);
  strictEqual(ecdsaVerify(sig, digest, fromHex("02" + "00".repeat(32))), false); // not a point
  strictEqual(ecdsaVerify(sig, digest, fromHex("04" + toHex(pubkey.subarray(1)))), false);
  strictEqual(ecdsaVerify(sig.subarray(0, 63), digest, pubkey), false);
  strictEqual(ecdsaVerify(sig, digest.subarray(0, 31), pubkey), false);
  strictEqual(ecdsaVerify(new Uint8Array(64), digest, pubkey), false); // r = s = 0
  strictEqual(ecdsaVerify(concat(bytes32(N), sig.subarray(32)), digest, pubkey), false); // r = n
  strictEqual(ecdsaVerify(concat(sig.subarray(0, 32), bytes32(N)), digest, pubkey), false); // s = n
  // DER: the strict encoding verifies; a padded (non-canonical) encoding of the same numbers does not.
  const der = derEncode(sig);
  strictEqual(ecdsaVerifyDer(der, digest, pubkey), true);
  const padded = concat(
    Uint8Array.of(0x30, der[1] + 1, 0x02, der[3] + 1, 0x00),
    der.subarray(4),
  );
  strictEqual(ecdsaVerifyDer(padded, digest, pubkey), false);
  strictEqual(ecdsaVerifyDer(derEncode(highS), digest, pubkey), false);
  strictEqual(ecdsaVerifyDer(concat(der, Uint8Array.of(0)), digest, pubkey), false);
  throws(() => ecdsaSign(digest.subarray(1), secret), {
    name: "CryptoError",
    message: "digest must be 32 bytes",
  });
  throws(() => ecdsaSign(digest, bytes32(N)), {
    name: "CryptoError",
    message: "secret key is out of range",
  });
  throws(() => ecdsaSign(digest, secret, { extraEntropy: new Uint8Array(16) }), {
    name: "CryptoError",
    message: "extra entropy must be 32 bytes",
  });
  // Extra entropy changes the nonce, deterministically.
  const counter1 = fromHex("01".padEnd(64, "0"));
  notStrictEqual(toHex(ecdsaSign(digest, secret, { extraEntropy: counter1 })), toHex(sig));
  deepStrictEqual(
    ecdsaSign(digest, secret, { extraEntropy: counter1 }),
    ecdsaSign(digest, secret, { extraEntropy: counter1 }),
  );
});

Deno.test("recoverable signatures: the recovery id given recovers the key, others do not", () => {
  for (const [key, message] of RFC6979) {
    const secret = fromHex(key);
    const digest = sha256(utf8(message));
    const { signature, recovery } = ecdsaSignRecoverable(digest, secret);
    deepStrictEqual(signature, ecdsaSign(digest, secret));
    strictEqual([0, 1, 2, 3].includes(recovery), true);
    deepStrictEqual(ecdsaRecover(signature, recovery, digest), publicKey(secret), message);
    const other = recovery ^ 1;
    notStrictEqual(toHex(ecdsaRecover(signature, other, digest)), toHex(publicKey(secret)));
  }
  const { signature } = ecdsaSignRecoverable(sha256(utf8("x")), ONE);
  throws(() => ecdsaRecover(signature, 4, sha256(utf8("x"))), {
    name: "CryptoError",
    message: "recovery id must be 0..3",
  });
  throws(() => ecdsaRecover(signature.subarray(1), 0, sha256(utf8("x"))), {
    name: "CryptoError",
    message: "signature must be 64 bytes",
  });
  // r = 0 recovers nothing.
  throws(() => ecdsaRecover(new Uint8Array(64), 0, sha256(utf8("x"))), {
    name: "CryptoError",
    message: "no public key recovers from this signature",
  });
});

// ---------------------------------------------------------------------------------------------
// ECDH and Schnorr

Deno.test("ECDH: BOLT #8 handshake shared secrets (ss = SHA256 of the compressed point)", () => {
  const rsPub = fromHex("028d7500dd4c12685d1f568b4c2b5048e8534b873319f3a8daa612b469132ec7f7");
  const rePub = fromHex("02466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27");
  const iePub = fromHex("036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f7");
  const lsPub = fromHex("034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa");
  const es = "1e2fb3c8fe8fb9f262f649f64d26ecf0f2c0a805a767cf02dc2d77a6ef1fdcc3";
  const ee = "c06363d6cc549bcb7913dbb9ac1c33fc1158680c89e972000ecd06b36c472e47";
  const se = "b36b6d195982c5be874d6d542dc268234379e1ae4ff1709402135b7de5cf0766";
  // Initiator: e.priv = 0x12.., ls.priv = 0x11..; responder: rs.priv = 0x21.., e.priv = 0x22..
  strictEqual(toHex(ecdh(rep("12", 32), rsPub)), es);
  strictEqual(toHex(ecdh(rep("21", 32), iePub)), es);
  strictEqual(toHex(ecdh(rep("12", 32), rePub)), ee);
  strictEqual(toHex(ecdh(rep("22", 32), iePub)), ee);
  strictEqual(toHex(ecdh(rep("11", 32), rePub)), se);
  strictEqual(toHex(ecdh(rep("22", 32), lsPub)), se);
  deepStrictEqual(ecdh(rep("12", 32), rsPub), sha256(pointMultiply(rsPub, rep("12", 32))));
  throws(() => ecdh(rep("12", 32), fromHex("02" + "00".repeat(32))), {
    name: "CryptoError",
    message: "public key is not a valid point",
  });
  throws(() => ecdh(new Uint8Array(32), rsPub), {
    name: "CryptoError",
    message: "secret key is out of range",
  });
});

/** bitcoin/bips bip-0340/test-vectors.csv rows 0..14 (32-byte messages; 15..18 are in noble_test). */
const BIP340: [string, string, string, string, string, boolean][] = [
  [
    "0000000000000000000000000000000000000000000000000000000000000003",
    "F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA821525F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0",
    true,
  ],
  [
    "B7E151628AED2A6ABF7158809CF4F3C762E7160F38B4DA56A784D9045190CFEF",
    "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
    "0000000000000000000000000000000000000000000000000000000000000001",
    "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
    "6896BD60EEAE296DB48A229FF71DFE071BDE413E6D43F917DC8DCF8C78DE33418906D11AC976ABCCB20B091292BFF4EA897EFCB639EA871CFA95F6DE339E4B0A",
    true,
  ],
  [
    "C90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B14E5C9",
    "DD308AFEC5777E13121FA72B9CC1B7CC0139715309B086C960E18FD969774EB8",
    "C87AA53824B4D7AE2EB035A2B5BBBCCC080E76CDC6D1692C4B0B62D798E6D906",
    "7E2D58D8B3BCDF1ABADEC7829054F90DDA9805AAB56C77333024B9D0A508B75C",
    "5831AAEED7B44BB74E5EAB94BA9D4294C49BCF2A60728D8B4C200F50DD313C1BAB745879A5AD954A72C45A91C3A51D3C7ADEA98D82F8481E0E1E03674A6F3FB7",
    true,
  ],
  [
    "0B432B2677937381AEF05BB02A66ECD012773062CF3FA2549E44F58ED2401710",
    "25D1DFF95105F5253C4022F628A996AD3A0D95FBF21D468A1B33F8C160D8F517",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
    "7EB0509757E246F19449885651611CB965ECC1A187DD51B64FDA1EDC9637D5EC97582B9CB13DB3933705B32BA982AF5AF25FD78881EBB32771FC5922EFC66EA3",
    true,
  ],
  [
    "",
    "D69C3509BB99E412E68B0FE8544E72837DFA30746D8BE2AA65975F29D22DC7B9",
    "",
    "4DF3C3F68FCC83B27E9D42C90431A72499F17875C81A599B566C9889B9696703",
    "00000000000000000000003B78CE563F89A0ED9414F5AA28AD0D96D6795F9C6376AFB1548AF603B3EB45C9F8207DEE1060CB71C04E80F593060B07D28308D7F4",
    true,
  ],
  [
    "",
    "EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34",
    "",
    "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
    "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E17776969E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
    false,
  ],
  [
    "",
    "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
    "",
    "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
    "FFF97BD5755EEEA420453A14355235D382F6472F8568A18B2F057A14602975563CC27944640AC607CD107AE10923D9EF7A73C643E166BE5EBEAFA34B1AC553E2",
    false,
  ],
  [
    "",
    "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
    "",
    "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
    "1FA62E331EDBC21C394792D2AB1100A7B432B013DF3F6FF4F99FCB33E0E1515F28890B3EDB6E7189B630448B515CE4F8622A954CFE545735AAEA5134FCCDB2BD",
    false,
  ],
  [
    "",
    "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
    "",
    "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
    "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769961764B3AA9B2FFCB6EF947B6887A226E8D7C93E00C5ED0C1834FF0D0C2E6DA6",
    false,
  ],
  [
    "",
    "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
    "",
    "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
    "0000000000000000000000000000000000000000000000000000000000000000123DDA8328AF9C23A94C1FEECFD123BA4FB73476F0D594DCB65C6425BD186051",
    false,
  ],
  [
    "",
    "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
    "",
    "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
    "00000000000000000000000000000000000000000000000000000000000000017615FBAF5AE28864013C099742DEADB4DBA87F11AC6754F93780D5A1837CF197",
    false,
  ],
  [
    "",
    "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
    "",
    "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
    "4A298DACAE57395A15D0795DDBFD1DCB564DA82B0F269BC70A74F8220429BA1D69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
    false,
  ],
  [
    "",
    "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
    "",
    "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
    false,
  ],
  [
    "",
    "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
    "",
    "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
    "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
    false,
  ],
  [
    "",
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC30",
    "",
    "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
    "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E17776969E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
    false,
  ],
];

Deno.test("Schnorr: BIP-340 test vectors 0..14 (sign where a key is given, verify all)", () => {
  BIP340.forEach(([secret, pub, aux, message, signature, valid], row) => {
    if (secret) {
      strictEqual(toHex(xOnlyPublicKey(fromHex(secret))), pub.toLowerCase(), `row ${row}`);
      const sig = schnorrSign(fromHex(message), fromHex(secret), { auxRand: fromHex(aux) });
      strictEqual(toHex(sig), signature.toLowerCase(), `row ${row}`);
    }
    strictEqual(
      schnorrVerify(fromHex(signature), fromHex(message), fromHex(pub)),
      valid,
      `row ${row}`,
    );
  });
  // Without auxRand, signing uses 32 zero bytes (row 0 is signed that way).
  const [secret, , , message, signature] = BIP340[0];
  strictEqual(toHex(schnorrSign(fromHex(message), fromHex(secret))), signature.toLowerCase());
  // Malformed input: false or a CryptoError, never a crash. This module signs 32-byte messages only.
  strictEqual(
    schnorrVerify(fromHex(signature).subarray(1), fromHex(message), fromHex(BIP340[0][1])),
    false,
  );
  strictEqual(schnorrVerify(fromHex(signature), new Uint8Array(0), fromHex(BIP340[0][1])), false);
  throws(() => schnorrSign(new Uint8Array(17), fromHex(secret)), {
    name: "CryptoError",
    message: "message must be 32 bytes",
  });
  throws(() => schnorrSign(fromHex(message), fromHex(secret), { auxRand: new Uint8Array(31) }), {
    name: "CryptoError",
    message: "aux randomness must be 32 bytes",
  });
});

// ---------------------------------------------------------------------------------------------
// Secrets and the backend

Deno.test("SecretBytes shows [redacted] to String, JSON and Deno.inspect", () => {
  const secret = new SecretBytes(fromHex("deadbeef".repeat(8)));
  strictEqual(String(secret), "[redacted]");
  strictEqual(`${secret}`, "[redacted]");
  strictEqual(JSON.stringify(secret), '"[redacted]"');
  strictEqual(JSON.stringify({ seed: secret, n: 1 }), '{"seed":"[redacted]","n":1}');
  strictEqual(Deno.inspect(secret), "SecretBytes([redacted])");
  strictEqual(Deno.inspect({ seed: secret }), "{ seed: SecretBytes([redacted]) }");
  strictEqual(Deno.inspect([secret], { depth: 10 }), "[ SecretBytes([redacted]) ]");
  strictEqual(Object.keys(secret).length, 0);
  strictEqual(secret.length, 32);
  strictEqual(toHex(secret.expose()), "deadbeef".repeat(8));
  secret.zeroize();
  strictEqual(toHex(secret.expose()), "00".repeat(32));
});

Deno.test("SecretBytes shows [redacted] in console output", async () => {
  const mod = new URL("../../../core/crypto/mod.ts", import.meta.url).href;
  const script = `
    import { SecretBytes } from ${JSON.stringify(mod)};
    const s = new SecretBytes(new Uint8Array(32).fill(0xab));
    console.log(s);
    console.log("%s", s);
    console.log("%o", s);
    console.log("%O", s);
    console.log("%j", s);
    console.log(\`\${s}\`);
    console.log({ nested: { s } });
    console.error([s]);
    console.info(s, 1);
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("../../../deno.json", import.meta.url).pathname, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  strictEqual(out.code, 0, text);
  const lines = text.trim().split("\n");
  strictEqual(lines.length, 9, text);
  for (const line of lines) strictEqual(line.includes("[redacted]"), true, line);
  for (const leak of ["ab", "171", "Uint8Array"]) {
    strictEqual(
      lines.some((l) => l.replaceAll("[redacted]", "").includes(leak)),
      false,
      `${leak} in ${text}`,
    );
  }
});

Deno.test("random bytes and the swappable backend", () => {
  strictEqual(randomBytes(48).length, 48);
  notStrictEqual(toHex(randomBytes(32)), toHex(randomBytes(32)));
  strictEqual(randomBytes(0).length, 0);
  // Beyond Web Crypto's 65,536-byte quota per call: filled in chunks, every chunk random.
  const big = randomBytes(200_000);
  strictEqual(big.length, 200_000);
  for (const at of [0, 65_536, 131_072, 199_968]) {
    notStrictEqual(toHex(big.subarray(at, at + 32)), "00".repeat(32), `chunk at ${at}`);
  }
  for (const bad of [-1, 1.5, Number.NaN, MAX_RANDOM_BYTES + 1]) {
    throws(() => randomBytes(bad), {
      name: "CryptoError",
      message: "random length must be an integer in 0..1048576",
    });
  }
  strictEqual(currentBackend(), hybridBackend);
  let calls = 0;
  const counting: CryptoBackend = {
    ...nobleBackend,
    name: "counting",
    sha256: (d) => {
      calls++;
      return nobleBackend.sha256(d);
    },
  };
  useBackend(counting);
  try {
    strictEqual(currentBackend().name, "counting");
    sha256d(utf8("x"));
    strictEqual(calls, 2);
  } finally {
    useBackend(hybridBackend);
  }
  strictEqual(currentBackend(), hybridBackend);
  const e = new CryptoError("m");
  strictEqual(e.name, "CryptoError");
});

Deno.test("secretAdd refuses a scalar that is not below the group order", () => {
  const n = fromHex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  const one = fromHex("00".repeat(31) + "01");
  throws(() => secretAdd(n, one), {
    name: "CryptoError",
    message: "scalar is not below the group order",
  });
  throws(() => secretAdd(one, n), {
    name: "CryptoError",
    message: "scalar is not below the group order",
  });
});

Deno.test("pointMultiply: the public-scalar path gives the constant-time path's result", () => {
  const p = publicKey(fromHex("11".repeat(32)));
  for (const k of ["01".padStart(64, "0"), "7f".repeat(32), "a1b2".repeat(16)]) {
    const scalar = fromHex(k);
    deepStrictEqual(pointMultiply(p, scalar, { publicScalar: true }), pointMultiply(p, scalar));
  }
});
