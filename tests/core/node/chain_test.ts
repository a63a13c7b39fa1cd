import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { concat, fromHex, toHex, u32le } from "../../../core/bytes.ts";
import { sha256d } from "../../../core/crypto/mod.ts";
import { type Tx, txid } from "../../../core/bitcoin/tx.ts";
import { ChainTracker, parseHeader } from "../../../core/node/chain.ts";

function header(prev: Uint8Array, time: number, bits = 0x207fffff): Uint8Array {
  for (let nonce = 0;; nonce++) {
    const h = concat(
      u32le(0x20000000),
      prev,
      new Uint8Array(32),
      u32le(time),
      u32le(bits),
      u32le(nonce),
    );
    if (parseHeader(h).powOk) return h;
  }
}

const spend = (prevTxid: Uint8Array, vout: number): Tx => ({
  version: 2,
  locktime: 0,
  inputs: [{
    txid: prevTxid,
    vout,
    scriptSig: new Uint8Array(),
    sequence: 0xffffffff,
    witness: [],
  }],
  outputs: [{ amount: 1000n, script: Uint8Array.of(0x51) }],
});

Deno.test("parseHeader: the genesis block of bitcoin meets its target; a tampered one does not", () => {
  const genesis = fromHex(
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c",
  );
  const h = parseHeader(genesis);
  strictEqual(h.powOk, true);
  strictEqual(
    toHex(h.hash.slice().reverse()),
    "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
  );
  genesis[79] ^= 1;
  strictEqual(parseHeader(genesis).powOk, false);
  throws(() => parseHeader(new Uint8Array(79)), { name: "ChainError" });
});

Deno.test("funding depth and closing depth follow the blocks the node feeds, and a reorg undoes them", () => {
  const t = new ChainTracker();
  const funding = spend(new Uint8Array(32).fill(9), 0);
  const outpoint = { txid: toHex(txid(funding)), vout: 0 };
  t.watch(outpoint);
  strictEqual(t.tracked, false);
  const b0 = header(new Uint8Array(32), 1000);
  t.commit(t.withBlock(b0, { height: 500 }));
  strictEqual(t.height, 500);
  const b1 = header(sha256d(b0), 1600);
  t.commit(t.withBlock(b1, { transactions: [funding] }));
  strictEqual(t.fundingDepth(outpoint), 1);
  const b2 = header(sha256d(b1), 2200);
  t.commit(t.withBlock(b2, { transactions: [spend(txid(funding), 0)] }));
  strictEqual(t.fundingDepth(outpoint), 2);
  strictEqual(t.closingDepth(outpoint), 1);
  throws(() => t.withBlock(header(sha256d(b0), 9999)), { name: "ChainError" });
  t.commit(t.withoutTip(b2));
  deepStrictEqual([t.height, t.fundingDepth(outpoint), t.closingDepth(outpoint)], [501, 1, 0]);
  throws(() => t.withoutTip(b2), { name: "ChainError", message: "only the tip can be removed" });
  const restored = new ChainTracker(structuredClone(t.state));
  strictEqual(restored.fundingDepth(outpoint), 1);
});
