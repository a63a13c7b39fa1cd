import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { createBase58check } from "@scure/base";
import { fromHex, toHex, u32be } from "../../../core/bytes.ts";
import { sha256 } from "../../../core/crypto/mod.ts";
import { addressToScript, scriptToAddress } from "../../../core/bitcoin/address.ts";
import { ExtendedPrivateKey } from "../../../core/keys/bip32.ts";
import { MemoryStore } from "../../../core/store/memory.ts";
import { fromJson } from "../../../core/store/json.ts";
import type { Store, StoreWrite } from "../../../core/store/types.ts";
import {
  Allowlist,
  ALLOWLIST_KEY,
  type AllowlistEntry,
  AllowlistError,
  AllowlistSource,
  loadAllowlist,
  MAX_XPUB_RANGE,
  parseAllowlistEntry,
  updateAllowlist,
  xpubScripts,
} from "../../../core/node/allowlist.ts";

const b58 = createBase58check(sha256);

/** An extended key re-encoded with other version bytes (zpub → xpub/tpub). */
function withVersion(key: string, version: number): string {
  const raw = b58.decode(key);
  raw.set(u32be(version), 0);
  return b58.encode(raw);
}

/** BIP-84: the account key m/84'/0'/0' of "abandon ... about" and its published addresses. */
const BIP84_ZPUB =
  "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs";
const BIP84_XPUB = withVersion(BIP84_ZPUB, 0x0488b21e);
const BIP84_TPUB = withVersion(BIP84_ZPUB, 0x043587cf);
const BIP84_0_0 = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu";
const BIP84_0_1 = "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g";
const BIP84_1_0 = "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el";

/** BIP-86: the account key m/86'/0'/0' and its published P2TR scripts. */
const BIP86_XPUB =
  "xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ";
const BIP86_0_0 = "5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c";
const BIP86_0_1 = "5120a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb";
const BIP86_1_0 = "5120882d74e5d0572d5a816cef0041a96b6c1de832f6f9676d9605c44d5e9a97d3dc";

const NODE = "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad";
const MAIN_WPKH = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
const REG_WPKH = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

function err(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    ok(e instanceof AllowlistError, `${e}`);
    strictEqual(e.name, "AllowlistError");
    return e.message;
  }
  throw new Error("did not throw");
}

Deno.test("the BIP-84 account key converts to the xpub other tools print", () => {
  strictEqual(
    BIP84_XPUB,
    "xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7WyksVFkKB4RHwCD3XyuvPEbvqAQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V",
  );
});

Deno.test("address entries: bare or prefixed, canonical, network-checked", () => {
  const e = parseAllowlistEntry(MAIN_WPKH.toUpperCase(), "bitcoin");
  deepStrictEqual(e, {
    kind: "address",
    text: `address:${MAIN_WPKH}`,
    script: fromHex("0014751e76e8199196d454941c45d1b3a323f1433bd6"),
  });
  strictEqual(parseAllowlistEntry(`  address:${MAIN_WPKH} `, "bitcoin").text, e.text);
  strictEqual(parseAllowlistEntry(`ADDRESS:${MAIN_WPKH}`, "bitcoin").text, e.text);
  strictEqual(
    parseAllowlistEntry("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "bitcoin").text,
    "address:1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
  );
  strictEqual(
    parseAllowlistEntry("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "bitcoin").text,
    "address:3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
  );
  strictEqual(parseAllowlistEntry(REG_WPKH, "regtest").text, `address:${REG_WPKH}`);
  strictEqual(
    err(() => parseAllowlistEntry(MAIN_WPKH, "regtest")),
    `address entry: not a valid regtest address (address is for bitcoin (prefix "bc"), not ` +
      `regtest (prefix "bcrt"))`,
  );
  ok(
    err(() => parseAllowlistEntry("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "testnet")).includes(
      "not a valid testnet address",
    ),
  );
  ok(err(() => parseAllowlistEntry("address:nonsense", "bitcoin")).startsWith("address entry:"));
  strictEqual(
    err(() => parseAllowlistEntry("frob:x", "bitcoin")),
    "an entry is address:<addr>, xpub:<xpub>[@a-b], payee:<node id> or an address",
  );
  strictEqual(err(() => parseAllowlistEntry("  ", "bitcoin")), "an entry must not be empty");
  throws(() => parseAllowlistEntry(MAIN_WPKH, "mainnet" as "bitcoin"), /unknown network/);
});

Deno.test("payee entries: 33-byte node ids, lower-cased", () => {
  strictEqual(parseAllowlistEntry(`payee:${NODE.toUpperCase()}`, "regtest").text, `payee:${NODE}`);
  strictEqual(
    err(() => parseAllowlistEntry("payee:03e7", "regtest")),
    "payee entry: expected payee:<66 hex characters of a node id>",
  );
  strictEqual(
    err(() => parseAllowlistEntry(`payee:04${NODE.slice(2)}`, "regtest")),
    "payee entry: not a valid node id",
  );
});

Deno.test("xpub entries: syntax, defaults, canonical form, networks, private keys", () => {
  const e = parseAllowlistEntry(`xpub:${BIP84_XPUB}`, "bitcoin") as Extract<
    AllowlistEntry,
    { kind: "xpub" }
  >;
  strictEqual(e.text, `xpub:${BIP84_XPUB}@0-999`);
  deepStrictEqual([e.chain, e.first, e.last], [0, 0, 999]);
  const c = parseAllowlistEntry(`xpub:${BIP84_XPUB}/1@5-7`, "bitcoin") as typeof e;
  strictEqual(c.text, `xpub:${BIP84_XPUB}/1@5-7`);
  deepStrictEqual([c.chain, c.first, c.last], [1, 5, 7]);
  strictEqual(
    parseAllowlistEntry(`xpub:${BIP84_XPUB}/0@0-9`, "bitcoin").text,
    `xpub:${BIP84_XPUB}@0-9`,
  );
  strictEqual(
    parseAllowlistEntry(`xpub:${BIP84_TPUB}@0-9`, "regtest").text,
    `xpub:${BIP84_TPUB}@0-9`,
  );

  strictEqual(
    err(() => parseAllowlistEntry(`xpub:${BIP84_XPUB}@0-9`, "regtest")),
    "xpub entry: the extended key is not for regtest",
  );
  strictEqual(
    err(() => parseAllowlistEntry(`xpub:${BIP84_TPUB}@0-9`, "bitcoin")),
    "xpub entry: the extended key is not for bitcoin",
  );
  strictEqual(
    err(() => parseAllowlistEntry(`xpub:${BIP84_ZPUB}`, "bitcoin")),
    "xpub entry: not a valid extended key (unknown extended key version)",
  );
  strictEqual(
    err(() => parseAllowlistEntry(`xpub:${BIP84_XPUB}@9-5`, "bitcoin")),
    "xpub entry: the range ends before it starts",
  );
  strictEqual(
    err(() => parseAllowlistEntry(`xpub:${BIP84_XPUB}@0-${MAX_XPUB_RANGE}`, "bitcoin")),
    "xpub entry: a range covers at most 10000 keys",
  );
  strictEqual(
    err(() => parseAllowlistEntry(`xpub:${BIP84_XPUB}@0-2147483648`, "bitcoin")),
    "xpub entry: the last index must be below 2^31",
  );
  strictEqual(
    err(() => parseAllowlistEntry(`xpub:${BIP84_XPUB}@0`, "bitcoin")),
    "xpub entry: expected xpub:<base58 key>[/<chain>][@<first>-<last>]",
  );
  // A private key is refused, and never repeated.
  const xprv = ExtendedPrivateKey.fromSeed(new Uint8Array(32).fill(9)).toBase58();
  const message = err(() => parseAllowlistEntry(`xpub:${xprv}`, "bitcoin"));
  strictEqual(
    message,
    "xpub entry: that is a PRIVATE extended key; never share it, allowlist its xpub instead",
  );
  ok(!message.includes(xprv.slice(4, 20)));
});

function script(address: string): Uint8Array {
  return addressToScript(address, "bitcoin");
}

Deno.test("xpub ranges match the BIP-84 and BIP-86 published scripts, P2WPKH, P2PKH and P2TR", () => {
  const list = Allowlist.parse([`xpub:${BIP84_XPUB}@0-1`, `xpub:${BIP86_XPUB}@0-0`], "bitcoin");
  strictEqual(list.contains(script(BIP84_0_0)), true);
  strictEqual(list.contains(script(BIP84_0_1)), true);
  strictEqual(list.contains(script(BIP84_1_0)), false); // change chain not listed
  // The same key as P2PKH (same HASH160 as the P2WPKH program).
  const program = script(BIP84_0_0).subarray(2);
  const p2pkh = fromHex(`76a914${toHex(program)}88ac`);
  strictEqual(scriptToAddress(p2pkh, "bitcoin").startsWith("1"), true);
  strictEqual(list.contains(p2pkh), true);
  // ... but not as P2SH-P2WPKH (VLS matches three forms only).
  strictEqual(list.contains(fromHex(`a914${toHex(program)}87`)), false);
  strictEqual(list.contains(fromHex(BIP86_0_0)), true);
  strictEqual(list.contains(fromHex(BIP86_0_1)), false); // index 1 is outside @0-0
  strictEqual(list.contains(fromHex(BIP86_1_0)), false);

  const change = Allowlist.parse(
    [`xpub:${BIP86_XPUB}/1@0-0`, `xpub:${BIP84_XPUB}/1@0-0`],
    "bitcoin",
  );
  strictEqual(change.contains(fromHex(BIP86_1_0)), true);
  strictEqual(change.contains(script(BIP84_1_0)), true);
  strictEqual(change.contains(fromHex(BIP86_0_0)), false);

  // Three scripts per key, derived once and cached.
  const e = parseAllowlistEntry(`xpub:${BIP86_XPUB}@0-1`, "bitcoin") as Extract<
    AllowlistEntry,
    { kind: "xpub" }
  >;
  const scripts = xpubScripts(e);
  strictEqual(scripts.size, 6);
  ok(scripts.has(BIP86_0_1));
  strictEqual(xpubScripts(e), scripts);

  // The same key as tpub on regtest matches the same scripts.
  const reg = Allowlist.parse([`xpub:${BIP84_TPUB}@0-0`], "regtest");
  strictEqual(reg.contains(script(BIP84_0_0)), true);
  reg.warm();
});

Deno.test("allowlist: contains, payees, add and remove in any spelling, no duplicates", () => {
  let list = Allowlist.empty("bitcoin");
  list = list.add(MAIN_WPKH).add(`address:${MAIN_WPKH.toUpperCase()}`).add(`payee:${NODE}`);
  deepStrictEqual(list.entries, [`address:${MAIN_WPKH}`, `payee:${NODE}`]);
  strictEqual(list.contains(script(MAIN_WPKH)), true);
  strictEqual(list.contains(script("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")), false);
  strictEqual(list.containsPayee(fromHex(NODE)), true);
  strictEqual(list.containsPayee(NODE.toUpperCase()), true);
  strictEqual(list.containsPayee("02" + NODE.slice(2)), false);
  strictEqual(list.has(`ADDRESS:${MAIN_WPKH}`), true);
  strictEqual(list.add(MAIN_WPKH), list);
  const removed = list.remove(MAIN_WPKH.toUpperCase());
  deepStrictEqual(removed.entries, [`payee:${NODE}`]);
  strictEqual(removed.contains(script(MAIN_WPKH)), false);
  strictEqual(removed.remove(MAIN_WPKH), removed);
  deepStrictEqual(Allowlist.parse([MAIN_WPKH, `address:${MAIN_WPKH}`], "bitcoin").entries, [
    `address:${MAIN_WPKH}`,
  ]);
  throws(() => list.add(REG_WPKH), AllowlistError);
});

Deno.test("stored allowlist: one versioned document, network-checked", async () => {
  const store = new MemoryStore();
  deepStrictEqual((await loadAllowlist(store, "regtest")).allowlist.entries, []);
  const first = await updateAllowlist(store, "regtest", (a) => a.add(REG_WPKH));
  strictEqual(first.changed, true);
  const second = await updateAllowlist(store, "regtest", (a) => a.add(`payee:${NODE}`));
  deepStrictEqual(second.allowlist.entries, [`address:${REG_WPKH}`, `payee:${NODE}`]);
  const same = await updateAllowlist(store, "regtest", (a) => a.add(REG_WPKH));
  strictEqual(same.changed, false);
  const entry = await store.get(ALLOWLIST_KEY);
  strictEqual(entry?.version, 1);
  deepStrictEqual(fromJson(entry?.value ?? ""), {
    version: 1,
    network: "regtest",
    entries: [`address:${REG_WPKH}`, `payee:${NODE}`],
  });
  await rejects(
    loadAllowlist(store, "bitcoin"),
    new AllowlistError("the stored allowlist is for regtest, not bitcoin"),
  );
  await store.put([{ key: ALLOWLIST_KEY, value: '{"version":2}', version: 2 }]);
  await rejects(
    loadAllowlist(store, "regtest"),
    new AllowlistError("the stored node/allowlist is not valid"),
  );
});

Deno.test("updateAllowlist re-reads on a version conflict and keeps both changes", async () => {
  const inner = new MemoryStore();
  let interfere = true;
  const racy: Store = {
    get: (k) => inner.get(k),
    list: (p) => inner.list(p),
    close: () => inner.close(),
    async put(writes: StoreWrite[]) {
      if (interfere) {
        interfere = false;
        await updateAllowlist(inner, "regtest", (a) => a.add(`payee:${NODE}`));
      }
      return inner.put(writes);
    },
  };
  const result = await updateAllowlist(racy, "regtest", (a) => a.add(REG_WPKH));
  deepStrictEqual(result.allowlist.entries, [`payee:${NODE}`, `address:${REG_WPKH}`]);
  strictEqual((await inner.get(ALLOWLIST_KEY))?.version, 1);
});

Deno.test("AllowlistSource picks up another writer's changes by version", async () => {
  const store = new MemoryStore();
  const source = await AllowlistSource.open(store, "regtest");
  deepStrictEqual(source.current.entries, []);
  const before = await source.refresh();
  strictEqual(before, source.current);
  await updateAllowlist(store, "regtest", (a) => a.add(`payee:${NODE}`));
  strictEqual(source.current.containsPayee(NODE), false);
  const after = await source.refresh();
  strictEqual(after.containsPayee(NODE), true);
  strictEqual(await source.refresh(), after); // unchanged version: the same object
});
