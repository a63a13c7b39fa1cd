/**
 * Mutual close, two-sided: the closing transaction the node sends (phase 1) or its values
 * (phase 2); the peer signs the same transaction from its side with the same operation, and both
 * signatures verify. Each tampering flips exactly the facts rules-spec.md §2.J reads.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { publicKey } from "../../../../core/crypto/mod.ts";
import { encodeTx, type Tx } from "../../../../core/bitcoin/tx.ts";
import { buildScript, p2pkh, p2sh, p2tr, p2wpkh, p2wsh } from "../../../../core/bitcoin/script.ts";
import { buildClosingTx } from "../../../../core/bolt3/closing.ts";
import { fundingScript } from "../../../../core/bolt3/scripts.ts";
import {
  assembleClosingTx,
  isStandardShutdownScript,
  type MutualCloseRequest,
  signMutualClose,
} from "../../../../core/channel/ops/close.ts";
import { ctxOf } from "../_peer.ts";
import {
  assertSchema,
  assertSigVerifies,
  Channel,
  ctxWith,
  diffFacts,
  editTx,
  FOREIGN_SCRIPT,
  fromHex,
  spendOf,
  toHex,
  walletOf,
  walletScript,
} from "../_fixture2.ts";

const PEER_SCRIPT = p2wpkh(publicKey(new Uint8Array(32).fill(0x22)));
const VALUE = 1_000_000n;

/** The closing transaction of `ch` as the peer's node builds it (we pay the 1000-sat fee). */
function closingTx(ch: Channel, o: { ours?: Uint8Array; shift?: bigint } = {}): Tx {
  return assembleClosingTx({
    fundingOutpoint: { txid: fromHex("aa".repeat(32)), vout: 0 },
    fundingSatoshis: VALUE,
    holderFundingPubkey: ch.peer.keys.fundingPubkey,
    counterpartyFundingPubkey: ch.us.keys.fundingPubkey,
    toHolderSat: ch.acceptorMsat / 1000n + (o.shift ?? 0n),
    toCounterpartySat: ch.openerMsat / 1000n - 1000n - (o.shift ?? 0n),
    holderScript: PEER_SCRIPT,
    counterpartyScript: o.ours ?? walletScript(3),
  }).tx;
}

/** Phase 1 request: our output (found by script) carries wallet path [3]. */
function phase1(ch: Channel, tx: Tx, ours: Uint8Array = walletScript(3)): MutualCloseRequest {
  const outputPaths = tx.outputs.map((o) => (toHex(o.script) === toHex(ours) ? [3] : []));
  return {
    spend: spendOf(tx, { outputPaths }),
    remoteFundingPubkey: ch.peer.keys.fundingPubkey,
  };
}

Deno.test("mutual close: the node's closing tx is recognised and both sides' signatures verify", () => {
  const ch = new Channel();
  ch.open();
  const tx = closingTx(ch);
  const out = signMutualClose(ctxWith(ch.us), phase1(ch, tx));
  assertSchema(out);
  deepStrictEqual(out.facts.close, {
    phase: 1,
    output_count: 2,
    to_holder_sat: 699_000n,
    to_counterparty_sat: 300_000n,
    fee_sat: 1000n,
    // 1000 sat over 113 * 4 + 222 = 674 weight units: the highest feerate giving that fee.
    feerate_per_kw: 1485,
    holder_output: {
      present: true,
      script: toHex(walletScript(3)),
      in_wallet: true,
      allowlisted: false,
    },
    counterparty_output: { present: true, script: toHex(PEER_SCRIPT), script_standard: true },
    assignment: "wallet",
    holder_shutdown_script: "",
    matches_rebuild: true,
    first_mismatch: "",
    wallet_lookup_ok: true,
  });
  // Commitment 0: we opened, so the 724-sat commitment fee is ours.
  deepStrictEqual(out.facts.current_holder_commitment, {
    to_holder_sat: 699_276n,
    to_counterparty_sat: 300_000n,
    htlc_count: 0,
  });
  deepStrictEqual(out.facts.current_counterparty_commitment, out.facts.current_holder_commitment);
  deepStrictEqual(out.facts.destination, { ok: true });
  strictEqual(out.next.enforcement.closed, true);
  strictEqual(ch.us.state.enforcement.closed, false, "the input state is not mutated");
  const script = fundingScript(ch.us.keys.fundingPubkey, ch.peer.keys.fundingPubkey);
  const signed = { tx, index: 0, scriptCode: script, amount: VALUE };
  assertSigVerifies(out.release(), { ...signed, pubkey: ch.us.keys.fundingPubkey });

  // The peer, through the same operation (phase 2, its values), signs the very same transaction.
  const theirs = signMutualClose(ctxOf(ch.peer), {
    values: {
      toHolderSat: 300_000n,
      toCounterpartySat: 699_000n,
      holderScript: PEER_SCRIPT,
      counterpartyScript: walletScript(3),
      holderWalletPath: [],
    },
  });
  strictEqual(theirs.facts.close.matches_rebuild, true);
  assertSigVerifies(theirs.release(), { ...signed, pubkey: ch.peer.keys.fundingPubkey });

  // Our phase 2 (LDK / VLS 1021): the same facts but for the phase and how our output was found.
  const values = signMutualClose(ctxWith(ch.us), {
    values: {
      toHolderSat: 699_000n,
      toCounterpartySat: 300_000n,
      holderScript: walletScript(3),
      counterpartyScript: PEER_SCRIPT,
      holderWalletPath: [3],
    },
  });
  deepStrictEqual(diffFacts(out.facts, values.facts), ["close.assignment", "close.phase"]);
  deepStrictEqual(values.release().signature, out.release().signature);
});

Deno.test("mutual close: each tampering flips exactly its facts", () => {
  const ch = new Channel();
  ch.open();
  const tx = closingTx(ch);
  const honest = signMutualClose(ctxWith(ch.us), phase1(ch, tx));
  const run = (r: MutualCloseRequest, wallet = walletOf()) => {
    const out = signMutualClose(ctxWith(ch.us, wallet), r);
    assertSchema(out);
    return out;
  };
  // Our share to a foreign script: found by value (the larger output is ours), not in the wallet.
  const foreign = run(phase1(ch, closingTx(ch, { ours: FOREIGN_SCRIPT }), FOREIGN_SCRIPT));
  deepStrictEqual(diffFacts(honest.facts, foreign.facts), [
    "close.assignment",
    "close.holder_output.in_wallet",
    "close.holder_output.script",
    "destination.ok",
  ]);
  strictEqual(foreign.facts.close.assignment, "value");
  // ...which the allowlist may permit.
  const allowed = run(
    phase1(ch, closingTx(ch, { ours: FOREIGN_SCRIPT }), FOREIGN_SCRIPT),
    walletOf([FOREIGN_SCRIPT]),
  );
  deepStrictEqual([allowed.facts.close.holder_output.allowlisted, allowed.facts.destination.ok], [
    true,
    true,
  ]);
  // Paying the peer 20k sat more than its balance.
  const generous = run(phase1(ch, closingTx(ch, { shift: 20_000n })));
  deepStrictEqual(diffFacts(honest.facts, generous.facts), [
    "close.to_counterparty_sat",
    "close.to_holder_sat",
  ]);
  const f = generous.facts;
  strictEqual(
    f.close.to_counterparty_sat > f.current_counterparty_commitment.to_counterparty_sat + 10_000n,
    true,
  );
  // A wrong version: the rebuild differs, the channel is not closed.
  const v1 = run(phase1(ch, editTx(tx, (t) => t.version = 1)));
  deepStrictEqual(diffFacts(honest.facts, v1.facts), [
    "close.first_mismatch",
    "close.matches_rebuild",
  ]);
  strictEqual(v1.facts.close.first_mismatch, "version");
  strictEqual(v1.next, ch.us.state);
  // An extra output, carved out of our share.
  const extra = editTx(tx, (t) => {
    const ours = t.outputs.findIndex((o) => toHex(o.script) === toHex(walletScript(3)));
    t.outputs[ours].amount -= 5000n;
    t.outputs.push({ amount: 5000n, script: FOREIGN_SCRIPT });
  });
  const three = run(phase1(ch, extra));
  deepStrictEqual(
    [
      three.facts.close.output_count,
      three.facts.close.matches_rebuild,
      three.facts.close.first_mismatch,
    ],
    [3, false, "output count"],
  );
  strictEqual(three.next, ch.us.state);
  // The node names another remote funding key.
  const key = run({
    ...phase1(ch, tx),
    remoteFundingPubkey: publicKey(new Uint8Array(32).fill(5)),
  });
  deepStrictEqual(diffFacts(honest.facts, key.facts), [
    "close.first_mismatch",
    "close.matches_rebuild",
  ]);
  strictEqual(key.facts.close.first_mismatch, "remote funding key");
  // A non-standard peer script.
  const odd = buildScript(1, "DROP");
  const nonStandard = run({
    values: {
      toHolderSat: 699_000n,
      toCounterpartySat: 300_000n,
      holderScript: walletScript(3),
      counterpartyScript: odd,
      holderWalletPath: [3],
    },
  });
  strictEqual(nonStandard.facts.close.counterparty_output.script_standard, false);
  // Outputs above the channel value.
  const over = run({
    values: {
      toHolderSat: 900_000n,
      toCounterpartySat: 300_000n,
      holderScript: walletScript(3),
      counterpartyScript: PEER_SCRIPT,
      holderWalletPath: [3],
    },
  });
  deepStrictEqual([over.facts.request.arithmetic_ok, over.facts.close.fee_sat], [false, 0n]);
  strictEqual(over.next, ch.us.state);
});

Deno.test("mutual close: pending HTLCs show in both current commitments", () => {
  const ch = new Channel();
  ch.openWithTwoHtlcs();
  const out = signMutualClose(ctxWith(ch.us), phase1(ch, closingTx(ch)));
  deepStrictEqual(
    [
      out.facts.current_holder_commitment.htlc_count,
      out.facts.current_counterparty_commitment.htlc_count,
    ],
    [2, 2],
  );
});

Deno.test("mutual close: an upfront shutdown script decides which output is ours", () => {
  const ch = new Channel();
  ch.open();
  const setup = ch.us.state.setup;
  if (!setup) throw new Error("not ready");
  ch.us.state = {
    ...ch.us.state,
    setup: { ...setup, holderShutdownScript: toHex(walletScript(8)), holderShutdownWalletIndex: 8 },
  };
  const tx = closingTx(ch, { ours: walletScript(8) });
  // No PSBT path: the setup's wallet index of the upfront script is used.
  const out = signMutualClose(ctxWith(ch.us), { spend: spendOf(tx) });
  deepStrictEqual(
    [out.facts.close.assignment, out.facts.close.holder_output.in_wallet, out.facts.destination.ok],
    ["upfront", true, true],
  );
  strictEqual(out.facts.close.holder_shutdown_script, toHex(walletScript(8)));
  strictEqual(out.facts.channel.has_holder_shutdown_script, true);
  // Our share to another wallet key than the agreed upfront script.
  const other = signMutualClose(ctxWith(ch.us), phase1(ch, closingTx(ch)));
  deepStrictEqual(
    [
      other.facts.close.assignment,
      other.facts.close.holder_output.in_wallet,
      other.facts.destination.ok,
    ],
    ["wallet", true, false],
  );
});

Deno.test("mutual close: malformed requests", () => {
  const ch = new Channel();
  ch.open();
  throws(() => signMutualClose(ctxWith(ch.us), {}), {
    name: "ChannelRequestError",
    message: "a close request carries either the transaction or the values",
  });
  throws(
    () =>
      signMutualClose(ctxWith(ch.us), {
        spend: spendOf(closingTx(ch)),
        remoteFundingPubkey: new Uint8Array(3),
      }),
    { name: "ChannelRequestError", message: "remote funding key must be 33 bytes" },
  );
});

Deno.test("assembleClosingTx equals BOLT #3's closing transaction for the same balances", () => {
  const ch = new Channel();
  const common = {
    fundingOutpoint: { txid: new Uint8Array(32).fill(0xaa), vout: 1 },
    fundingSatoshis: VALUE,
  };
  const built = buildClosingTx({
    ...common,
    localFundingPubkey: ch.us.keys.fundingPubkey,
    remoteFundingPubkey: ch.peer.keys.fundingPubkey,
    toLocalMsat: 600_000_000n,
    toRemoteMsat: 400_000_000n,
    localScriptPubKey: walletScript(1),
    remoteScriptPubKey: PEER_SCRIPT,
    feeSatoshis: 1234n,
    localIsOpener: true,
    dustLimitSatoshis: 546n,
  });
  const assembled = assembleClosingTx({
    ...common,
    holderFundingPubkey: ch.us.keys.fundingPubkey,
    counterpartyFundingPubkey: ch.peer.keys.fundingPubkey,
    toHolderSat: built.toLocalSat,
    toCounterpartySat: built.toRemoteSat,
    holderScript: walletScript(1),
    counterpartyScript: PEER_SCRIPT,
  });
  deepStrictEqual(encodeTx(assembled.tx), encodeTx(built.tx));
  deepStrictEqual(assembled.fundingWitnessScript, built.fundingWitnessScript);
  // A zero value leaves its output out.
  const one = assembleClosingTx({
    ...common,
    holderFundingPubkey: ch.us.keys.fundingPubkey,
    counterpartyFundingPubkey: ch.peer.keys.fundingPubkey,
    toHolderSat: 999_000n,
    toCounterpartySat: 0n,
    holderScript: walletScript(1),
    counterpartyScript: PEER_SCRIPT,
  });
  deepStrictEqual([one.tx.outputs.length, one.owners], [1, ["holder"]]);
});

Deno.test("isStandardShutdownScript: BOLT #2 shutdown script forms", () => {
  const key = publicKey(new Uint8Array(32).fill(1));
  const ok = [
    p2pkh(key),
    p2sh(key),
    p2wpkh(key),
    p2wsh(key),
    p2tr(key.subarray(1)),
    buildScript(16, new Uint8Array(2)),
    buildScript("RETURN", new Uint8Array(6)),
    buildScript("RETURN", new Uint8Array(80)),
  ];
  const bad = [
    new Uint8Array(),
    buildScript(0, new Uint8Array(21)),
    buildScript(1, new Uint8Array(41)),
    buildScript("RETURN", new Uint8Array(5)),
    buildScript("RETURN", new Uint8Array(81)),
    buildScript(key, "CHECKSIG"),
  ];
  deepStrictEqual(ok.map(isStandardShutdownScript), ok.map(() => true));
  deepStrictEqual(bad.map(isStandardShutdownScript), bad.map(() => false));
});
