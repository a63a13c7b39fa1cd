import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { fromHex, reverse, toHex } from "../../core/bytes.ts";
import { sha256d } from "../../core/crypto/mod.ts";
import { encodeTx, type Tx } from "../../core/bitcoin/tx.ts";
import { p2wpkh } from "../../core/bitcoin/script.ts";
import { ChainError, SimChain } from "./chain.ts";

const SCRIPT_A = p2wpkh(
  fromHex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
);
const SCRIPT_B = Uint8Array.of(0x00, 0x14, ...new Uint8Array(20).fill(7));

function spend(
  prev: { txid: string; vout: number },
  outputs: [bigint, Uint8Array][],
  extra: Partial<Tx> & { sequence?: number } = {},
): Uint8Array {
  return encodeTx({
    version: extra.version ?? 2,
    inputs: [{
      txid: reverse(fromHex(prev.txid)),
      vout: prev.vout,
      scriptSig: new Uint8Array(),
      sequence: extra.sequence ?? 0xfffffffd,
      witness: [new Uint8Array(71), new Uint8Array(33)],
    }],
    outputs: outputs.map(([amount, script]) => ({ amount, script })),
    locktime: extra.locktime ?? 0,
  });
}

Deno.test("chain: blocks have linked 80-byte headers with increasing times", () => {
  const chain = new SimChain({ startHeight: 10, startTime: 1_000_000, blockInterval: 600 });
  const seen: number[] = [];
  chain.onBlock((b) => seen.push(b.height));
  const tip0 = chain.tipHashInternal;
  const [b1, b2] = chain.mine(2);
  deepStrictEqual(seen, [11, 12]);
  strictEqual(b1.header.length, 80);
  deepStrictEqual(b1.header.subarray(4, 36), tip0);
  deepStrictEqual(b2.header.subarray(4, 36), reverse(fromHex(b1.hash)));
  strictEqual(b1.time, 1_000_600);
  strictEqual(b2.time, 1_001_200);
  strictEqual(toHex(reverse(sha256d(b2.header))), b2.hash);
  strictEqual(chain.height, 12);
  strictEqual(chain.block(11)?.hash, b1.hash);
});

Deno.test("chain: funding outputs confirm and are tracked in the UTXO view", () => {
  const chain = new SimChain();
  const out = chain.fund(SCRIPT_A, 50_000n);
  strictEqual(chain.output(out.txid, 0), undefined);
  const [block] = chain.mine(1);
  strictEqual(block.txs.length, 1);
  const utxo = chain.output(out.txid, 0);
  strictEqual(utxo?.amount, 50_000n);
  strictEqual(utxo?.coinbase, true);
  strictEqual(utxo?.height, 101);
  strictEqual(chain.confirmations(out.txid), 1);
  throws(() => chain.fund(SCRIPT_A, 0n), ChainError);
});

Deno.test("chain: first spend wins, conflicting broadcasts are rejected and reported", () => {
  const chain = new SimChain();
  const coin = chain.fund(SCRIPT_A, 50_000n);
  chain.mine(1);
  const t1 = chain.broadcast(spend(coin, [[40_000n, SCRIPT_B]]), "A");
  strictEqual(t1.status, "accepted");
  strictEqual(chain.broadcast(spend(coin, [[40_000n, SCRIPT_B]]), "A").status, "duplicate");
  const t2 = chain.broadcast(spend(coin, [[39_000n, SCRIPT_B]]), "B");
  strictEqual(t2.status, "rejected");
  strictEqual(chain.rejections.length, 1);
  strictEqual(chain.rejections[0].reason, "double-spend");
  strictEqual(chain.rejections[0].conflictsWith, t1.txid);
  strictEqual(chain.rejections[0].source, "B");
  chain.mine(1);
  strictEqual(chain.mempool().length, 0);
  deepStrictEqual(chain.spenderOf(coin.txid, 0), { txid: t1.txid, vin: 0, height: 102 });
  // Conflicting with a confirmed spend, and a child of a refused transaction.
  strictEqual(chain.broadcast(spend(coin, [[1_000n, SCRIPT_B]]), "B").status, "rejected");
  strictEqual(
    chain.broadcast(spend({ txid: t2.txid, vout: 0 }, [[1n, SCRIPT_B]])).status,
    "rejected",
  );
  strictEqual(chain.output(t1.txid, 0)?.amount, 40_000n);
  strictEqual(chain.unspent((u) => u.txid === t1.txid).length, 1);
});

Deno.test("chain: value creation and garbage are invalid", () => {
  const chain = new SimChain();
  const coin = chain.fund(SCRIPT_A, 50_000n);
  chain.mine(1);
  const r = chain.broadcast(spend(coin, [[50_001n, SCRIPT_B]]));
  strictEqual(r.status, "rejected");
  strictEqual(r.status === "rejected" && r.reason, "invalid");
  strictEqual(chain.broadcast(Uint8Array.of(1, 2, 3)).status, "rejected");
  strictEqual(chain.rejections.length, 2);
});

Deno.test("chain: non-final and orphan transactions wait, then confirm in order", () => {
  const chain = new SimChain({ startHeight: 100 });
  const coin = chain.fund(SCRIPT_A, 50_000n);
  chain.mine(1); // height 101
  // nLockTime 103: final only in a block at height >= 104.
  const locked = chain.broadcast(spend(coin, [[49_000n, SCRIPT_B]], { locktime: 103 }));
  strictEqual(locked.status, "waiting");
  // A child with a relative lock of 2 blocks on the locked parent.
  const child = chain.broadcast(
    spend({ txid: locked.txid, vout: 0 }, [[48_000n, SCRIPT_B]], { sequence: 2 }),
  );
  strictEqual(child.status, "waiting");
  strictEqual(chain.waiting().length, 2);
  chain.mine(2); // heights 102, 103
  strictEqual(chain.confirmations(locked.txid), 0);
  chain.mine(1); // 104: parent confirms
  strictEqual(chain.transaction(locked.txid)?.height, 104);
  chain.mine(1); // 105: child not yet (needs 104 + 2 <= height)
  strictEqual(chain.confirmations(child.txid), 0);
  chain.mine(1); // 106
  strictEqual(chain.transaction(child.txid)?.height, 106);
  strictEqual(chain.waiting().length, 0);
  deepStrictEqual(chain.childrenOf(locked.txid).map((c) => c.txid), [child.txid]);
  ok(chain.broadcasts.length >= 2);
});
