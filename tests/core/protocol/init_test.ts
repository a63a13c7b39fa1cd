/**
 * Init and version negotiation (core/protocol/init.ts): CLN's init against the configured
 * network, dev fields, VLS's version rules, LDK's init_2, and the dispatcher's init phase.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, u16be } from "../../../core/bytes.ts";
import { SecretBytes } from "../../../core/crypto/mod.ts";
import { networkParams } from "../../../core/bitcoin/network.ts";
import { decodeMessage, encodeMessage, type RequestOf } from "../../../core/protocol/mod.ts";
import {
  capabilitiesFor,
  INIT_FAILURE_CODE,
  type InitOptions,
  initRequest,
  negotiateInit,
  negotiateInit2,
} from "../../../core/protocol/init.ts";
import { xpubBytes } from "../../../core/protocol/convert.ts";
import { DispatchError, SIGNER_ERROR, signerErrorOf } from "../../../core/protocol/errors.ts";
import {
  Dispatcher,
  DispatcherConfigError,
  type DispatchSigner,
} from "../../../core/protocol/dispatch.ts";
import { US_NODE } from "../signer/_rules_fixture.ts";
import { initMessage } from "./_cln_driver.ts";

/** `value`, which the test knows is there. */
function must<T>(value: T | null | undefined): T {
  if (value === null || value === undefined) throw new Error("missing value");
  return value;
}

const REGTEST = networkParams("regtest");
const OPTIONS: InitOptions = { network: "regtest", maxVersion: 6, dev: false, identity: US_NODE };

function failure(message: string) {
  return {
    reply: { type: "init_reply_failure", error_code: INIT_FAILURE_CODE, error_message: message },
  };
}

Deno.test("CLN's regtest init (protocol.md §6 vector 2) negotiates version 6", () => {
  const frame = fromHex(
    "00000037000b043587cf043583940622" +
      "6e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f" +
      "00000000000000000500000006",
  );
  const m = decodeMessage(frame.subarray(4));
  if (m.type !== "init") throw new Error("not init");
  deepStrictEqual(negotiateInit(m, OPTIONS), {
    reply: {
      type: "init_reply_v4",
      hsm_version: 6,
      hsm_capabilities: [28, 142, 147, 149, 29, 32, 34, 40, 41],
      node_id: US_NODE.nodeId,
      bip32: xpubBytes(US_NODE.accountKey(), REGTEST.bip32.public),
      bolt12: US_NODE.bolt12Pubkey,
      tlvs: {},
    },
    version: 6,
  });
});

Deno.test("initRequest is lightningd's regtest init (protocol.md §6 vector 2), byte for byte", () => {
  const frame = fromHex(
    "00000037000b043587cf043583940622" +
      "6e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f" +
      "00000000000000000500000006",
  );
  deepStrictEqual(encodeMessage(initRequest("regtest")), frame.subarray(4));
  const m = initRequest("bitcoin", { minVersion: 4, maxVersion: 5 });
  deepStrictEqual(m.chainparams, networkParams("bitcoin").genesisHash);
  strictEqual(m.bip32_key_version.pubkey_version, networkParams("bitcoin").bip32.public);
  strictEqual(m.hsm_wire_min_version, 4);
  strictEqual(negotiateInit(m, { ...OPTIONS, network: "bitcoin" }).version, 5);
});

Deno.test("capabilities: 40 from version 5 only", () => {
  deepStrictEqual(capabilitiesFor(4), [28, 142, 147, 149, 29, 32, 34, 41]);
  deepStrictEqual(capabilitiesFor(5), [28, 142, 147, 149, 29, 32, 34, 40, 41]);
  deepStrictEqual(capabilitiesFor(6), capabilitiesFor(5));
});

Deno.test("init checks the genesis hash and the BIP-32 versions against our network", () => {
  const mainnet = networkParams("bitcoin");
  deepStrictEqual(
    negotiateInit({ ...initMessage(), chainparams: mainnet.genesisHash }, OPTIONS),
    failure(
      "chainparams 000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f is not the " +
        "genesis block of regtest, which this signer is configured for",
    ),
  );
  deepStrictEqual(
    negotiateInit({
      ...initMessage(),
      bip32_key_version: { pubkey_version: 0x0488b21e, privkey_version: 0x0488ade4 },
    }, OPTIONS),
    failure("bip32_key_version 0x0488b21e/0x0488ade4 is not regtest's 0x043587cf/0x04358394"),
  );
  // The same init is right for a mainnet signer.
  const onMainnet = negotiateInit({
    ...initMessage(),
    chainparams: mainnet.genesisHash,
    bip32_key_version: { pubkey_version: 0x0488b21e, privkey_version: 0x0488ade4 },
  }, { ...OPTIONS, network: "bitcoin" });
  strictEqual(onMainnet.version, 6);
  const reply = onMainnet.reply;
  deepStrictEqual(
    reply.type === "init_reply_v4" && reply.bip32.subarray(0, 4),
    fromHex("0488b21e"),
    "xpub versions on mainnet",
  );
});

Deno.test("dev_* fields are refused unless in developer mode, and never applied", () => {
  const dev: RequestOf<"init"> = {
    ...initMessage(),
    dev_force_privkey: new SecretBytes(new Uint8Array(32).fill(1)),
    dev_force_channel_secrets_shaseed: new SecretBytes(new Uint8Array(32).fill(2)),
  };
  deepStrictEqual(
    negotiateInit(dev, OPTIONS),
    failure(
      "dev_force_privkey, dev_force_channel_secrets_shaseed: developer fields are refused (not in " +
        "developer mode)",
    ),
  );
  const allowed = negotiateInit(dev, { ...OPTIONS, dev: true });
  strictEqual(allowed.version, 6);
  deepStrictEqual(
    allowed.reply.type === "init_reply_v4" && allowed.reply.node_id,
    US_NODE.nodeId,
    "our own node id, not the forced key's",
  );
  // CLN's hsm_secret encryption key and passphrase concern its local file: ignored.
  strictEqual(
    negotiateInit({
      ...initMessage(),
      hsm_encryption_key: new SecretBytes(new Uint8Array(32).fill(3)),
      tlvs: { hsm_passphrase: new SecretBytes(new TextEncoder().encode("pass")) },
    }, OPTIONS).version,
    6,
  );
});

Deno.test("version negotiation follows VLS: min(ours, node max), node min <= ours, node max >= 2", () => {
  const at = (min: number, max: number, maxVersion = 6) =>
    negotiateInit(
      { ...initMessage(), hsm_wire_min_version: min, hsm_wire_max_version: max },
      { ...OPTIONS, maxVersion },
    );
  strictEqual(at(5, 6).version, 6);
  strictEqual(at(2, 9).version, 6);
  strictEqual(at(5, 5).version, 5);
  strictEqual(at(4, 6, 5).version, 5);
  deepStrictEqual(at(3, 3), {
    reply: {
      type: "init_reply_v2",
      node_id: US_NODE.nodeId,
      bip32: xpubBytes(US_NODE.accountKey(), REGTEST.bip32.public),
      bolt12: US_NODE.bolt12Pubkey,
    },
    version: 3,
  });
  deepStrictEqual(
    at(7, 8),
    failure("the node needs protocol version 7; this signer speaks at most 6"),
  );
  deepStrictEqual(at(6, 5), failure("hsm_wire_min_version 6 is above hsm_wire_max_version 5"));
  deepStrictEqual(
    at(0, 1),
    failure("the node speaks at most protocol version 1; this signer needs 2"),
  );
  deepStrictEqual(
    negotiateInit(initMessage(), { ...OPTIONS, identity: undefined }),
    failure("the signer's node identity is not available"),
  );
});

Deno.test("LDK's init_2: version 4, our network and key style; dev fields only in developer mode", () => {
  const m: RequestOf<"init_2"> = {
    type: "init_2",
    derivation_style: 0,
    network_name: "regtest",
    dev_seed: null,
    dev_allowlist: [],
  };
  deepStrictEqual(negotiateInit2(m, OPTIONS), {
    reply: {
      type: "init_2_reply",
      node_id: US_NODE.nodeId,
      bip32: xpubBytes(US_NODE.accountKey(), REGTEST.bip32.public),
      bolt12: US_NODE.bolt12Pubkey,
    },
    version: 4,
  });
  const refused = (edit: Partial<RequestOf<"init_2">>, options = OPTIONS) => {
    try {
      negotiateInit2({ ...m, ...edit }, options);
    } catch (e) {
      if (e instanceof DispatchError) return [e.code, e.message];
    }
    return undefined;
  };
  deepStrictEqual(refused({ network_name: "testnet" }), [
    SIGNER_ERROR.MALFORMED,
    'malformed: init_2.network_name: "testnet" is not regtest, which this signer is configured for',
  ]);
  deepStrictEqual(refused({ derivation_style: 1 }), [
    SIGNER_ERROR.MALFORMED,
    "malformed: init_2.derivation_style: ldk keys were asked for; this signer's keys are native",
  ]);
  deepStrictEqual(refused({ derivation_style: 9 }), [
    SIGNER_ERROR.MALFORMED,
    "malformed: init_2.derivation_style: unknown style 9",
  ]);
  deepStrictEqual(refused({ dev_allowlist: ["bcrt1qxyz"] }), [
    SIGNER_ERROR.UNSUPPORTED,
    "unsupported: init_2 (1011): dev_seed and dev_allowlist are refused (not in developer mode)",
  ]);
  strictEqual(
    negotiateInit2({ ...m, dev_seed: new SecretBytes(new Uint8Array(32)) }, {
      ...OPTIONS,
      dev: true,
    })
      .version,
    4,
  );
});

const NO_SIGNER = new Proxy({}, {
  get: (_t, name) => name === "identity" ? US_NODE : () => Promise.reject(new Error("unused")),
}) as DispatchSigner;

Deno.test("the dispatcher's init phase: init failures leave it uninitialised; init_2 sets version 4", async () => {
  const d = new Dispatcher(NO_SIGNER, { network: "regtest" });
  const bad = await d.handle(
    null,
    encodeMessage({ ...initMessage(), chainparams: networkParams("testnet").genesisHash }),
  );
  deepStrictEqual(bad?.subarray(0, 2), u16be(115));
  strictEqual(d.version, undefined);
  const init2 = encodeMessage({
    type: "init_2",
    derivation_style: 0,
    network_name: "regtest",
    dev_seed: null,
    dev_allowlist: [],
  });
  deepStrictEqual((await d.handle(null, init2))?.subarray(0, 2), u16be(1111));
  strictEqual(d.version, 4);
  // A bad init after a good one answers its failure but keeps the negotiated version.
  await d.handle(
    null,
    encodeMessage({ ...initMessage(), hsm_wire_min_version: 9, hsm_wire_max_version: 9 }),
  );
  strictEqual(d.version, 4);
});

Deno.test("dev_preinit_v1 (90) answers our node id in developer mode, UNSUPPORTED otherwise", async () => {
  const body = encodeMessage({
    type: "dev_preinit_v1",
    derivation_style: 0,
    network_name: "regtest",
    seed: null,
    allowlist: [],
  });
  const dev = new Dispatcher(NO_SIGNER, { network: "regtest", dev: true });
  deepStrictEqual(await dev.handle(null, body), concat(u16be(190), US_NODE.nodeId));
  const plain = new Dispatcher(NO_SIGNER, { network: "regtest" });
  deepStrictEqual(signerErrorOf(must(await plain.handle(null, body))), {
    code: SIGNER_ERROR.UNSUPPORTED,
    message: "unsupported: dev_preinit_v1 (90): developer mode is off",
    temporary: false,
  });
});

Deno.test("dispatcher options are checked at construction", () => {
  throws(
    () => new Dispatcher(NO_SIGNER, { network: "mainnet" as "bitcoin" }),
    DispatcherConfigError,
  );
  for (const maxVersion of [1, 7, 5.5]) {
    throws(() => new Dispatcher(NO_SIGNER, { network: "regtest", maxVersion }), {
      name: "DispatcherConfigError",
      message: "maxVersion must be an integer in 2..6",
    });
  }
  // An identity that is not the signer's keys.
  const other = new Proxy({}, {
    get: (_t, name) => name === "nodeId" ? new Uint8Array(33).fill(2) : undefined,
  }) as DispatchSigner;
  throws(() => new Dispatcher(other, { network: "regtest", identity: US_NODE }), {
    name: "DispatcherConfigError",
    message: "the identity's node id is not the signer's",
  });
  // Without an identity (option or signer accessor), init fails cleanly.
  const anonymous = new Proxy({}, { get: () => undefined }) as DispatchSigner;
  const d = new Dispatcher(anonymous, { network: "regtest" });
  return d.handle(null, encodeMessage(initMessage())).then((reply) => {
    deepStrictEqual(reply?.subarray(0, 6), concat(u16be(115), fromHex("00000014")));
  });
});
