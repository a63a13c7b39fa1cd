/**
 * BIP-341 key-path signing against the BIP's own wallet test vectors
 * (bitcoin/bips bip-0341/wallet-test-vectors.json, also src/test/data/bip341_wallet_vectors.json in
 * Bitcoin Core): output keys and tweaks of the `scriptPubKey` section, and for `keyPathSpending`
 * every signature message, signature hash, tweaked key and witness signature byte for byte.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { fromHex, toHex } from "../../../core/bytes.ts";
import { p2tr } from "../../../core/bitcoin/script.ts";
import { decodeTx, stripSignatures, type Tx, type TxOutput } from "../../../core/bitcoin/tx.ts";
import {
  signTaprootKeyPath,
  TAPROOT_SIGHASH,
  TaprootError,
  taprootOutputKey,
  taprootSighash,
  taprootSigMsg,
  taprootTweak,
  taprootTweakSecret,
  verifyTaprootKeyPath,
} from "../../../core/bitcoin/taproot.ts";
import { publicKey } from "../../../core/crypto/mod.ts";

/** `scriptPubKey` section: internal key, merkle root, tweak, tweaked key, scriptPubKey. */
const SCRIPT_PUBKEY_VECTORS: {
  internal: string;
  root: string | null;
  tweak: string;
  tweaked: string;
  spk: string;
}[] = [
  {
    internal: "d6889cb081036e0faefa3a35157ad71086b123b2b144b649798b494c300a961d",
    root: null,
    tweak: "b86e7be8f39bab32a6f2c0443abbc210f0edac0e2c53d501b36b64437d9c6c70",
    tweaked: "53a1f6e454df1aa2776a2814a721372d6258050de330b3c6d10ee8f4e0dda343",
    spk: "512053a1f6e454df1aa2776a2814a721372d6258050de330b3c6d10ee8f4e0dda343",
  },
  {
    internal: "187791b6f712a8ea41c8ecdd0ee77fab3e85263b37e1ec18a3651926b3a6cf27",
    root: "5b75adecf53548f3ec6ad7d78383bf84cc57b55a3127c72b9a2481752dd88b21",
    tweak: "cbd8679ba636c1110ea247542cfbd964131a6be84f873f7f3b62a777528ed001",
    tweaked: "147c9c57132f6e7ecddba9800bb0c4449251c92a1e60371ee77557b6620f3ea3",
    spk: "5120147c9c57132f6e7ecddba9800bb0c4449251c92a1e60371ee77557b6620f3ea3",
  },
  {
    internal: "93478e9488f956df2396be2ce6c5cced75f900dfa18e7dabd2428aae78451820",
    root: "c525714a7f49c28aedbbba78c005931a81c234b2f6c99a73e4d06082adc8bf2b",
    tweak: "6af9e28dbf9d6aaf027696e2598a5b3d056f5fd2355a7fd5a37a0e5008132d30",
    tweaked: "e4d810fd50586274face62b8a807eb9719cef49c04177cc6b76a9a4251d5450e",
    spk: "5120e4d810fd50586274face62b8a807eb9719cef49c04177cc6b76a9a4251d5450e",
  },
  {
    internal: "ee4fe085983462a184015d1f782d6a5f8b9c2b60130aff050ce221ecf3786592",
    root: "6c2dc106ab816b73f9d07e3cd1ef2c8c1256f519748e0813e4edd2405d277bef",
    tweak: "9e0517edc8259bb3359255400b23ca9507f2a91cd1e4250ba068b4eafceba4a9",
    tweaked: "712447206d7a5238acc7ff53fbe94a3b64539ad291c7cdbc490b7577e4b17df5",
    spk: "5120712447206d7a5238acc7ff53fbe94a3b64539ad291c7cdbc490b7577e4b17df5",
  },
  {
    internal: "f9f400803e683727b14f463836e1e78e1c64417638aa066919291a225f0e8dd8",
    root: "ab179431c28d3b68fb798957faf5497d69c883c6fb1e1cd9f81483d87bac90cc",
    tweak: "639f0281b7ac49e742cd25b7f188657626da1ad169209078e2761cefd91fd65e",
    tweaked: "77e30a5522dd9f894c3f8b8bd4c4b2cf82ca7da8a3ea6a239655c39c050ab220",
    spk: "512077e30a5522dd9f894c3f8b8bd4c4b2cf82ca7da8a3ea6a239655c39c050ab220",
  },
  {
    internal: "e0dfe2300b0dd746a3f8674dfd4525623639042569d829c7f0eed9602d263e6f",
    root: "ccbd66c6f7e8fdab47b3a486f59d28262be857f30d4773f2d5ea47f7761ce0e2",
    tweak: "b57bfa183d28eeb6ad688ddaabb265b4a41fbf68e5fed2c72c74de70d5a786f4",
    tweaked: "91b64d5324723a985170e4dc5a0f84c041804f2cd12660fa5dec09fc21783605",
    spk: "512091b64d5324723a985170e4dc5a0f84c041804f2cd12660fa5dec09fc21783605",
  },
  {
    internal: "55adf4e8967fbd2e29f20ac896e60c3b0f1d5b0efa9d34941b5958c7b0a0312d",
    root: "2f6b2c5397b6d68ca18e09a3f05161668ffe93a988582d55c6f07bd5b3329def",
    tweak: "6579138e7976dc13b6a92f7bfd5a2fc7684f5ea42419d43368301470f3b74ed9",
    tweaked: "75169f4001aa68f15bbed28b218df1d0a62cbbcf1188c6665110c293c907b831",
    spk: "512075169f4001aa68f15bbed28b218df1d0a62cbbcf1188c6665110c293c907b831",
  },
];

const RAW_UNSIGNED_TX =
  "02000000097de20cbff686da83a54981d2b9bab3586f4ca7e48f57f5b55963115f3b334e9c" +
  "010000000000000000d7b7cab57b1393ace2d064f4d4a2cb8af6def61273e127517d44759b6dafdd990000000000" +
  "fffffffff8e1f583384333689228c5d28eac13366be082dc57441760d957275419a418420000000000ffffffff" +
  "f0689180aa63b30cb162a73c6d2a38b7eeda2a83ece74310fda0843ad604853b0100000000feffffff" +
  "aa5202bdf6d8ccd2ee0f0202afbbb7461d9264a25e5bfd3c5a52ee1239e0ba6c0000000000feffffff" +
  "956149bdc66faa968eb2be2d2faa29718acbfe3941215893a2a3446d32acd050000000000000000000" +
  "e664b9773b88c09c32cb70a2a3e4da0ced63b7ba3b22f848531bbb1d5d5f4c94010000000000000000" +
  "e9aa6b8e6c9de67619e6a3924ae25696bb7b694bb677a632a74ef7eadfd4eabf0000000000ffffffff" +
  "a778eb6a263dc090464cd125c466b5a99667720b1c110468831d058aa1b82af10100000000ffffffff02" +
  "00ca9a3b000000001976a91406afd46bcdfd22ef94ac122aa11f241244a37ecc88ac" +
  "807840cb0000000020ac9a87f5594be208f8532db38cff670c450ed2fea8fcdefcc9a663f78bab962b0065cd1d";

const UTXOS_SPENT: [string, bigint][] = [
  ["512053a1f6e454df1aa2776a2814a721372d6258050de330b3c6d10ee8f4e0dda343", 420000000n],
  ["5120147c9c57132f6e7ecddba9800bb0c4449251c92a1e60371ee77557b6620f3ea3", 462000000n],
  ["76a914751e76e8199196d454941c45d1b3a323f1433bd688ac", 294000000n],
  ["5120e4d810fd50586274face62b8a807eb9719cef49c04177cc6b76a9a4251d5450e", 504000000n],
  ["512091b64d5324723a985170e4dc5a0f84c041804f2cd12660fa5dec09fc21783605", 630000000n],
  ["00147dd65592d0ab2fe0d0257d571abf032cd9db93dc", 378000000n],
  ["512075169f4001aa68f15bbed28b218df1d0a62cbbcf1188c6665110c293c907b831", 672000000n],
  ["5120712447206d7a5238acc7ff53fbe94a3b64539ad291c7cdbc490b7577e4b17df5", 546000000n],
  ["512077e30a5522dd9f894c3f8b8bd4c4b2cf82ca7da8a3ea6a239655c39c050ab220", 588000000n],
];

/** The precomputed hashes of the vector (`intermediary` of keyPathSpending). */
const HASHES = {
  amounts: "58a6964a4f5f8f0b642ded0a8a553be7622a719da71d1f5befcefcdee8e0fde6",
  outputs: "a2e6dab7c1f0dcd297c8d61647fd17d821541ea69c3cc37dcbad7f90d4eb4bc5",
  prevouts: "e3b33bb4ef3a52ad1fffb555c0d82828eb22737036eaeb02a235d82b909c4c3f",
  scriptPubkeys: "23ad0f61ad2bca5ba6a7693f50fce988e17c3780bf2b1e720cfbb38fbdd52e21",
  sequences: "18959c7221ab5ce9e26c3cd67b22c24f8baa54bac281d8e6b05e400e6c3a957e",
};

interface InputVector {
  index: number;
  privkey: string;
  root: string | null;
  hashType: number;
  internal: string;
  tweak: string;
  tweakedPrivkey: string;
  sigMsg: string;
  sigHash: string;
  witness: string;
}

const INPUT_SPENDING: InputVector[] = [
  {
    index: 0,
    privkey: "6b973d88838f27366ed61c9ad6367663045cb456e28335c109e30717ae0c6baa",
    root: null,
    hashType: 3,
    internal: "d6889cb081036e0faefa3a35157ad71086b123b2b144b649798b494c300a961d",
    tweak: "b86e7be8f39bab32a6f2c0443abbc210f0edac0e2c53d501b36b64437d9c6c70",
    tweakedPrivkey: "2405b971772ad26915c8dcdf10f238753a9b837e5f8e6a86fd7c0cce5b7296d9",
    sigMsg: "0003020000000065cd1de3b33bb4ef3a52ad1fffb555c0d82828eb22737036eaeb02a235d82b909c4c3f" +
      "58a6964a4f5f8f0b642ded0a8a553be7622a719da71d1f5befcefcdee8e0fde6" +
      "23ad0f61ad2bca5ba6a7693f50fce988e17c3780bf2b1e720cfbb38fbdd52e21" +
      "18959c7221ab5ce9e26c3cd67b22c24f8baa54bac281d8e6b05e400e6c3a957e0000000000" +
      "d0418f0e9a36245b9a50ec87f8bf5be5bcae434337b87139c3a5b1f56e33cba0",
    sigHash: "2514a6272f85cfa0f45eb907fcb0d121b808ed37c6ea160a5a9046ed5526d555",
    witness: "ed7c1647cb97379e76892be0cacff57ec4a7102aa24296ca39af7541246d8ff1" +
      "4d38958d4cc1e2e478e4d4a764bbfd835b16d4e314b72937b29833060b87276c03",
  },
  {
    index: 1,
    privkey: "1e4da49f6aaf4e5cd175fe08a32bb5cb4863d963921255f33d3bc31e1343907f",
    root: "5b75adecf53548f3ec6ad7d78383bf84cc57b55a3127c72b9a2481752dd88b21",
    hashType: 131,
    internal: "187791b6f712a8ea41c8ecdd0ee77fab3e85263b37e1ec18a3651926b3a6cf27",
    tweak: "cbd8679ba636c1110ea247542cfbd964131a6be84f873f7f3b62a777528ed001",
    tweakedPrivkey: "ea260c3b10e60f6de018455cd0278f2f5b7e454be1999572789e6a9565d26080",
    sigMsg:
      "0083020000000065cd1d00d7b7cab57b1393ace2d064f4d4a2cb8af6def61273e127517d44759b6dafdd99" +
      "00000000808f891b00000000225120147c9c57132f6e7ecddba9800bb0c4449251c92a1e60371ee77557b6620f3ea3" +
      "ffffffffffcef8fb4ca7efc5433f591ecfc57391811ce1e186a3793024def5c884cba51d",
    sigHash: "325a644af47e8a5a2591cda0ab0723978537318f10e6a63d4eed783b96a71a4d",
    witness: "052aedffc554b41f52b521071793a6b88d6dbca9dba94cf34c83696de0c1ec35" +
      "ca9c5ed4ab28059bd606a4f3a657eec0bb96661d42921b5f50a95ad33675b54f83",
  },
  {
    index: 3,
    privkey: "d3c7af07da2d54f7a7735d3d0fc4f0a73164db638b2f2f7c43f711f6d4aa7e64",
    root: "c525714a7f49c28aedbbba78c005931a81c234b2f6c99a73e4d06082adc8bf2b",
    hashType: 1,
    internal: "93478e9488f956df2396be2ce6c5cced75f900dfa18e7dabd2428aae78451820",
    tweak: "6af9e28dbf9d6aaf027696e2598a5b3d056f5fd2355a7fd5a37a0e5008132d30",
    tweakedPrivkey: "97323385e57015b75b0339a549c56a948eb961555973f0951f555ae6039ef00d",
    sigMsg: "0001020000000065cd1de3b33bb4ef3a52ad1fffb555c0d82828eb22737036eaeb02a235d82b909c4c3f" +
      "58a6964a4f5f8f0b642ded0a8a553be7622a719da71d1f5befcefcdee8e0fde6" +
      "23ad0f61ad2bca5ba6a7693f50fce988e17c3780bf2b1e720cfbb38fbdd52e21" +
      "18959c7221ab5ce9e26c3cd67b22c24f8baa54bac281d8e6b05e400e6c3a957e" +
      "a2e6dab7c1f0dcd297c8d61647fd17d821541ea69c3cc37dcbad7f90d4eb4bc50003000000",
    sigHash: "bf013ea93474aa67815b1b6cc441d23b64fa310911d991e713cd34c7f5d46669",
    witness: "ff45f742a876139946a149ab4d9185574b98dc919d2eb6754f8abaa59d18b025" +
      "637a3aa043b91817739554f4ed2026cf8022dbd83e351ce1fabc272841d2510a01",
  },
  {
    index: 4,
    privkey: "f36bb07a11e469ce941d16b63b11b9b9120a84d9d87cff2c84a8d4affb438f4e",
    root: "ccbd66c6f7e8fdab47b3a486f59d28262be857f30d4773f2d5ea47f7761ce0e2",
    hashType: 0,
    internal: "e0dfe2300b0dd746a3f8674dfd4525623639042569d829c7f0eed9602d263e6f",
    tweak: "b57bfa183d28eeb6ad688ddaabb265b4a41fbf68e5fed2c72c74de70d5a786f4",
    tweakedPrivkey: "a8e7aa924f0d58854185a490e6c41f6efb7b675c0f3331b7f14b549400b4d501",
    sigMsg: "0000020000000065cd1de3b33bb4ef3a52ad1fffb555c0d82828eb22737036eaeb02a235d82b909c4c3f" +
      "58a6964a4f5f8f0b642ded0a8a553be7622a719da71d1f5befcefcdee8e0fde6" +
      "23ad0f61ad2bca5ba6a7693f50fce988e17c3780bf2b1e720cfbb38fbdd52e21" +
      "18959c7221ab5ce9e26c3cd67b22c24f8baa54bac281d8e6b05e400e6c3a957e" +
      "a2e6dab7c1f0dcd297c8d61647fd17d821541ea69c3cc37dcbad7f90d4eb4bc50004000000",
    sigHash: "4f900a0bae3f1446fd48490c2958b5a023228f01661cda3496a11da502a7f7ef",
    witness: "b4010dd48a617db09926f729e79c33ae0b4e94b79f04a1ae93ede6315eb3669d" +
      "e185a17d2b0ac9ee09fd4c64b678a0b61a0a86fa888a273c8511be83bfd6810f",
  },
  {
    index: 6,
    privkey: "415cfe9c15d9cea27d8104d5517c06e9de48e2f986b695e4f5ffebf230e725d8",
    root: "2f6b2c5397b6d68ca18e09a3f05161668ffe93a988582d55c6f07bd5b3329def",
    hashType: 2,
    internal: "55adf4e8967fbd2e29f20ac896e60c3b0f1d5b0efa9d34941b5958c7b0a0312d",
    tweak: "6579138e7976dc13b6a92f7bfd5a2fc7684f5ea42419d43368301470f3b74ed9",
    tweakedPrivkey: "241c14f2639d0d7139282aa6abde28dd8a067baa9d633e4e7230287ec2d02901",
    sigMsg: "0002020000000065cd1de3b33bb4ef3a52ad1fffb555c0d82828eb22737036eaeb02a235d82b909c4c3f" +
      "58a6964a4f5f8f0b642ded0a8a553be7622a719da71d1f5befcefcdee8e0fde6" +
      "23ad0f61ad2bca5ba6a7693f50fce988e17c3780bf2b1e720cfbb38fbdd52e21" +
      "18959c7221ab5ce9e26c3cd67b22c24f8baa54bac281d8e6b05e400e6c3a957e0006000000",
    sigHash: "15f25c298eb5cdc7eb1d638dd2d45c97c4c59dcaec6679cfc16ad84f30876b85",
    witness: "a3785919a2ce3c4ce26f298c3d51619bc474ae24014bcdd31328cd8cfbab2eff" +
      "3395fa0a16fe5f486d12f22a9cedded5ae74feb4bbe5351346508c5405bcfee002",
  },
  {
    index: 7,
    privkey: "c7b0e81f0a9a0b0499e112279d718cca98e79a12e2f137c72ae5b213aad0d103",
    root: "6c2dc106ab816b73f9d07e3cd1ef2c8c1256f519748e0813e4edd2405d277bef",
    hashType: 130,
    internal: "ee4fe085983462a184015d1f782d6a5f8b9c2b60130aff050ce221ecf3786592",
    tweak: "9e0517edc8259bb3359255400b23ca9507f2a91cd1e4250ba068b4eafceba4a9",
    tweakedPrivkey: "65b6000cd2bfa6b7cf736767a8955760e62b6649058cbc970b7c0871d786346b",
    sigMsg:
      "0082020000000065cd1d00e9aa6b8e6c9de67619e6a3924ae25696bb7b694bb677a632a74ef7eadfd4eabf" +
      "00000000804c8b2000000000225120712447206d7a5238acc7ff53fbe94a3b64539ad291c7cdbc490b7577e4b17df5" +
      "ffffffff",
    sigHash: "cd292de50313804dabe4685e83f923d2969577191a3e1d2882220dca88cbeb10",
    witness: "ea0c6ba90763c2d3a296ad82ba45881abb4f426b3f87af162dd24d5109edc1cd" +
      "d11915095ba47c3a9963dc1e6c432939872bc49212fe34c632cd3ab9fed429c482",
  },
  {
    index: 8,
    privkey: "77863416be0d0665e517e1c375fd6f75839544eca553675ef7fdf4949518ebaa",
    root: "ab179431c28d3b68fb798957faf5497d69c883c6fb1e1cd9f81483d87bac90cc",
    hashType: 129,
    internal: "f9f400803e683727b14f463836e1e78e1c64417638aa066919291a225f0e8dd8",
    tweak: "639f0281b7ac49e742cd25b7f188657626da1ad169209078e2761cefd91fd65e",
    tweakedPrivkey: "ec18ce6af99f43815db543f47b8af5ff5df3b2cb7315c955aa4a86e8143d2bf5",
    sigMsg:
      "0081020000000065cd1da2e6dab7c1f0dcd297c8d61647fd17d821541ea69c3cc37dcbad7f90d4eb4bc500" +
      "a778eb6a263dc090464cd125c466b5a99667720b1c110468831d058aa1b82af101000000" +
      "002b0c230000000022512077e30a5522dd9f894c3f8b8bd4c4b2cf82ca7da8a3ea6a239655c39c050ab220" +
      "ffffffff",
    sigHash: "cccb739eca6c13a8a89e6e5cd317ffe55669bbda23f2fd37b0f18755e008edd2",
    witness: "bbc9584a11074e83bc8c6759ec55401f0ae7b03ef290c3139814f545b58a9f81" +
      "27258000874f44bc46db7646322107d4d86aec8e73b8719a61fff761d75b5dd981",
  },
];

/** `auxiliary.fullySignedTx`: the taproot witnesses above plus a P2PKH and a P2WPKH input. */
const FULLY_SIGNED_TX =
  "020000000001097de20cbff686da83a54981d2b9bab3586f4ca7e48f57f5b55963115f3b334e9c" +
  "010000000000000000d7b7cab57b1393ace2d064f4d4a2cb8af6def61273e127517d44759b6dafdd990000000000" +
  "fffffffff8e1f583384333689228c5d28eac13366be082dc57441760d957275419a41842000000006b" +
  "4830450221008f3b8f8f0537c420654d2283673a761b7ee2ea3c130753103e08ce79201cf32a022079e7ab904a19" +
  "80ef1c5890b648c8783f4d10103dd62f740d13daa79e298d50c201210279be667ef9dcbbac55a06295ce870b0702" +
  "9bfcdb2dce28d959f2815b16f81798fffffffff0689180aa63b30cb162a73c6d2a38b7eeda2a83ece74310fda084" +
  "3ad604853b0100000000feffffffaa5202bdf6d8ccd2ee0f0202afbbb7461d9264a25e5bfd3c5a52ee1239e0ba6c" +
  "0000000000feffffff956149bdc66faa968eb2be2d2faa29718acbfe3941215893a2a3446d32acd050000000000000" +
  "000000e664b9773b88c09c32cb70a2a3e4da0ced63b7ba3b22f848531bbb1d5d5f4c94010000000000000000e9aa6b" +
  "8e6c9de67619e6a3924ae25696bb7b694bb677a632a74ef7eadfd4eabf0000000000ffffffffa778eb6a263dc090" +
  "464cd125c466b5a99667720b1c110468831d058aa1b82af10100000000ffffffff0200ca9a3b000000001976a914" +
  "06afd46bcdfd22ef94ac122aa11f241244a37ecc88ac807840cb0000000020ac9a87f5594be208f8532db38cff67" +
  "0c450ed2fea8fcdefcc9a663f78bab962b0141ed7c1647cb97379e76892be0cacff57ec4a7102aa24296ca39af75" +
  "41246d8ff14d38958d4cc1e2e478e4d4a764bbfd835b16d4e314b72937b29833060b87276c030141052aedffc554" +
  "b41f52b521071793a6b88d6dbca9dba94cf34c83696de0c1ec35ca9c5ed4ab28059bd606a4f3a657eec0bb96661d" +
  "42921b5f50a95ad33675b54f83000141ff45f742a876139946a149ab4d9185574b98dc919d2eb6754f8abaa59d18" +
  "b025637a3aa043b91817739554f4ed2026cf8022dbd83e351ce1fabc272841d2510a010140b4010dd48a617db099" +
  "26f729e79c33ae0b4e94b79f04a1ae93ede6315eb3669de185a17d2b0ac9ee09fd4c64b678a0b61a0a86fa888a27" +
  "3c8511be83bfd6810f0247304402202b795e4de72646d76eab3f0ab27dfa30b810e856ff3a46c9a702df53bb0d8c" +
  "c302203ccc4d822edab5f35caddb10af1be93583526ccfbade4b4ead350781e2f8adcd012102f9308a019258c310" +
  "49344f85f89d5229b531c845836f99b08601f113bce036f90141a3785919a2ce3c4ce26f298c3d51619bc474ae24" +
  "014bcdd31328cd8cfbab2eff3395fa0a16fe5f486d12f22a9cedded5ae74feb4bbe5351346508c5405bcfee00201" +
  "41ea0c6ba90763c2d3a296ad82ba45881abb4f426b3f87af162dd24d5109edc1cdd11915095ba47c3a9963dc1e6c" +
  "432939872bc49212fe34c632cd3ab9fed429c4820141bbc9584a11074e83bc8c6759ec55401f0ae7b03ef290c313" +
  "9814f545b58a9f8127258000874f44bc46db7646322107d4d86aec8e73b8719a61fff761d75b5dd9810065cd1d";

const TX: Tx = decodeTx(fromHex(RAW_UNSIGNED_TX));
const PREVOUTS: TxOutput[] = UTXOS_SPENT.map(([s, a]) => ({ script: fromHex(s), amount: a }));
const rootOf = (r: string | null) => (r === null ? undefined : fromHex(r));

Deno.test("BIP-341 scriptPubKey vectors: tweak, output key and P2TR script", () => {
  for (const v of SCRIPT_PUBKEY_VECTORS) {
    const internal = fromHex(v.internal);
    strictEqual(toHex(taprootTweak(internal, rootOf(v.root))), v.tweak);
    const q = taprootOutputKey(internal, rootOf(v.root));
    strictEqual(toHex(q), v.tweaked);
    strictEqual(toHex(p2tr(q)), v.spk);
  }
});

Deno.test("BIP-341 key-path vectors: the common hashes inside every signature message", () => {
  // With SIGHASH_DEFAULT (input 4) the message holds every precomputed hash, in BIP-341 order.
  const msg = toHex(taprootSigMsg(TX, 4, { prevouts: PREVOUTS }));
  strictEqual(
    msg,
    "0000" + "02000000" + "0065cd1d" + HASHES.prevouts + HASHES.amounts + HASHES.scriptPubkeys +
      HASHES.sequences + HASHES.outputs + "00" + "04000000",
  );
});

Deno.test("BIP-341 key-path vectors: sigMsg, sigHash, tweaked key and witness of every input", () => {
  for (const v of INPUT_SPENDING) {
    const options = { prevouts: PREVOUTS, sighashType: v.hashType };
    const secret = fromHex(v.privkey);
    strictEqual(toHex(publicKey(secret).subarray(1)), v.internal, `input ${v.index} internal key`);
    strictEqual(toHex(taprootTweak(fromHex(v.internal), rootOf(v.root))), v.tweak);
    strictEqual(toHex(taprootTweakSecret(secret, rootOf(v.root))), v.tweakedPrivkey);
    strictEqual(toHex(taprootSigMsg(TX, v.index, options)), v.sigMsg, `input ${v.index} sigMsg`);
    strictEqual(toHex(taprootSighash(TX, v.index, options)), v.sigHash, `input ${v.index} sigHash`);
    const sig = signTaprootKeyPath(TX, v.index, { ...options, secret, merkleRoot: rootOf(v.root) });
    strictEqual(toHex(sig), v.witness, `input ${v.index} witness (zero aux randomness)`);
    strictEqual(sig.length, v.hashType === 0 ? 64 : 65);
    strictEqual(verifyTaprootKeyPath(TX, v.index, { prevouts: PREVOUTS, signature: sig }), true);
  }
});

Deno.test("BIP-341 fully signed transaction: its taproot witnesses verify, and only those", () => {
  const signed = decodeTx(fromHex(FULLY_SIGNED_TX));
  deepStrictEqual(stripSignatures(signed), TX, "the signed transaction is the vector's");
  const taproot = new Set(INPUT_SPENDING.map((v) => v.index));
  for (let i = 0; i < signed.inputs.length; i++) {
    const witness = signed.inputs[i].witness;
    if (!taproot.has(i)) continue;
    strictEqual(witness.length, 1, `input ${i} has one witness element`);
    strictEqual(
      verifyTaprootKeyPath(TX, i, { prevouts: PREVOUTS, signature: witness[0] }),
      true,
      `input ${i}`,
    );
    // The same signature on another input, or with a changed amount, does not verify.
    const other = i === 0 ? 1 : 0;
    strictEqual(
      verifyTaprootKeyPath(TX, other, { prevouts: PREVOUTS, signature: witness[0] }),
      false,
    );
  }
});

Deno.test("taproot signatures commit to every input's amount and script (the fee-lie defence)", () => {
  const v = INPUT_SPENDING[3]; // input 4, SIGHASH_DEFAULT
  const sig = fromHex(v.witness);
  const liedAmount = PREVOUTS.map((p, i) => (i === 2 ? { ...p, amount: p.amount + 1n } : p));
  strictEqual(verifyTaprootKeyPath(TX, 4, { prevouts: liedAmount, signature: sig }), false);
  const liedScript = PREVOUTS.map((p, i) =>
    i === 5 ? { ...p, script: fromHex("0014" + "00".repeat(20)) } : p
  );
  strictEqual(verifyTaprootKeyPath(TX, 4, { prevouts: liedScript, signature: sig }), false);
  // ANYONECANPAY (input 1, 0x83) commits only to its own input.
  const w1 = fromHex(INPUT_SPENDING[1].witness);
  strictEqual(verifyTaprootKeyPath(TX, 1, { prevouts: liedAmount, signature: w1 }), true);
});

Deno.test("taproot: malformed requests are typed errors or false, never crashes", () => {
  throws(() => taprootSigMsg(TX, 0, { prevouts: PREVOUTS, sighashType: 4 }), TaprootError);
  throws(() => taprootSigMsg(TX, 0, { prevouts: PREVOUTS, sighashType: 0x80 }), TaprootError);
  throws(() => taprootSigMsg(TX, 9, { prevouts: PREVOUTS }), TaprootError);
  throws(() => taprootSigMsg(TX, 0, { prevouts: PREVOUTS.slice(1) }), TaprootError);
  // SIGHASH_SINGLE on input 3 has no output 3.
  throws(
    () => taprootSigMsg(TX, 3, { prevouts: PREVOUTS, sighashType: TAPROOT_SIGHASH.SINGLE }),
    /SIGHASH_SINGLE: output 3 does not exist/,
  );
  throws(() => taprootTweak(new Uint8Array(31)), TaprootError);
  throws(() => taprootTweak(new Uint8Array(32), new Uint8Array(31)), TaprootError);
  throws(() => taprootTweakSecret(new Uint8Array(32)), TaprootError);
  // Not on the curve: x = 5 has no point (5^3 + 7 = 132 is not a square mod p).
  throws(() => taprootOutputKey(fromHex("00".repeat(31) + "05")), TaprootError);
  const sig = fromHex(INPUT_SPENDING[3].witness);
  strictEqual(verifyTaprootKeyPath(TX, 4, { prevouts: PREVOUTS, signature: sig.slice(1) }), false);
  strictEqual(
    verifyTaprootKeyPath(TX, 4, {
      prevouts: PREVOUTS,
      signature: new Uint8Array([...sig, 0x00]),
    }),
    false,
    "a 65-byte signature may not carry SIGHASH_DEFAULT",
  );
  strictEqual(verifyTaprootKeyPath(TX, 5, { prevouts: PREVOUTS, signature: sig }), false);
  strictEqual(verifyTaprootKeyPath(TX, 42, { prevouts: PREVOUTS, signature: sig }), false);
});
