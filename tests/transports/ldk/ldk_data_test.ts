import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import type * as ldk from "lightningdevkit";
import { concat, fromHex, toHex, u32be, u64be } from "../../../core/bytes.ts";
import { p2wpkh } from "../../../core/bitcoin/script.ts";
import { encodeTx } from "../../../core/bitcoin/tx.ts";
import { buildCommitmentTx } from "../../../core/bolt3/mod.ts";
import {
  commitmentHtlcs,
  commitmentNumberOf,
  commitmentTypeOf,
  commitmentWitnessScripts,
  fixU128,
  INITIAL_COMMITMENT_INDEX,
  LdkDataError,
  mutualCloseRequest,
  type ScriptContext,
  spendOf,
  tlvRecords,
} from "../../../transports/ldk/ldk_data.ts";
import {
  APPENDIX_C,
  APPENDIX_F,
  caseOptions,
  CHANNEL,
  localCommitmentKeys,
} from "../../core/bolt3/_vectors.ts";

Deno.test("ldk_data: commitment numbers count up from LDK's 2^48 - 1", () => {
  strictEqual(commitmentNumberOf(INITIAL_COMMITMENT_INDEX), 0);
  strictEqual(commitmentNumberOf(INITIAL_COMMITMENT_INDEX - 41n), 41);
  strictEqual(commitmentNumberOf(0n), 281474976710655);
  throws(() => commitmentNumberOf(INITIAL_COMMITMENT_INDEX + 1n), LdkDataError);
  throws(() => commitmentNumberOf(-1n), LdkDataError);
});

Deno.test("ldk_data: fixU128 undoes the bindings' byte reversal", () => {
  strictEqual(fixU128(42n << 120n), 42n);
  strictEqual(
    fixU128(fixU128(0x0102030405060708090a0b0c0d0e0f10n)),
    0x0102030405060708090a0b0c0d0e0f10n,
  );
  strictEqual(fixU128(0n), 0n);
});

/** One HTLC record as LDK writes it: a length-prefixed TLV stream. */
function htlcRecord(
  h: { offered: boolean; msat: bigint; cltv: number; hash: Uint8Array; index?: number },
) {
  const tlv = (type: number, value: Uint8Array) => concat(Uint8Array.of(type, value.length), value);
  const body = concat(
    tlv(0, Uint8Array.of(h.offered ? 1 : 0)),
    tlv(2, u64be(h.msat)),
    tlv(4, u32be(h.cltv)),
    tlv(6, h.hash),
    h.index === undefined ? new Uint8Array() : tlv(8, u32be(h.index)),
  );
  return concat(Uint8Array.of(body.length), body);
}

Deno.test("ldk_data: the HTLCs of a CommitmentTransaction from TLV 12 of its serialisation", () => {
  const a = {
    offered: true,
    msat: 5_000_000n,
    cltv: 500,
    hash: new Uint8Array(32).fill(1),
    index: 2,
  };
  const b = { offered: false, msat: 7_000n, cltv: 501, hash: new Uint8Array(32).fill(2) };
  const list = concat(htlcRecord(a), htlcRecord(b));
  // A stream with another record before and after TLV 12 (length 253+ uses a 3-byte BigSize).
  const stream = concat(
    Uint8Array.of(0, 1, 9),
    Uint8Array.of(12, list.length),
    list,
    Uint8Array.of(14, 0xfd, 0x01, 0x00),
    new Uint8Array(256),
  );
  const bytes = concat(Uint8Array.of(0xfd, stream.length >> 8, stream.length & 0xff), stream);
  deepStrictEqual([...tlvRecords(bytes).keys()], [0, 12, 14]);
  strictEqual(tlvRecords(bytes).get(14)?.length, 256);
  const fake = { write: () => bytes } as unknown as ldk.CommitmentTransaction;
  deepStrictEqual(commitmentHtlcs(fake), [
    { offered: true, amountMsat: 5_000_000n, cltvExpiry: 500, paymentHash: a.hash, outputIndex: 2 },
    { offered: false, amountMsat: 7_000n, cltvExpiry: 501, paymentHash: b.hash, outputIndex: null },
  ]);
  // Truncated data is an error, not a crash.
  throws(() => tlvRecords(bytes.subarray(0, 20)), LdkDataError);
  const broken = concat(Uint8Array.of(12, 3), Uint8Array.of(2, 0, 1));
  const fakeBroken = {
    write: () => concat(Uint8Array.of(broken.length), broken),
  } as unknown as ldk.CommitmentTransaction;
  throws(() => commitmentHtlcs(fakeBroken), LdkDataError);
});

/** Appendix C's channel as our side (local, the broadcaster) and the peer (remote). */
function appendixContext(anchors: boolean): ScriptContext {
  const none = new Uint8Array(33);
  return {
    anchors,
    holder: {
      funding: CHANNEL.localFundingPubkey,
      revocation: none,
      payment: CHANNEL.localPaymentBasepoint,
      delayedPayment: CHANNEL.localDelayedPaymentBasepoint,
      htlc: CHANNEL.localHtlcBasepoint,
    },
    counterparty: {
      funding: CHANNEL.remoteFundingPubkey,
      revocation: CHANNEL.remoteRevocationBasepoint,
      payment: CHANNEL.remotePaymentBasepoint,
      delayedPayment: none,
      htlc: CHANNEL.remoteHtlcBasepoint,
    },
    holderSelectedContestDelay: 6,
    counterpartySelectedContestDelay: CHANNEL.toSelfDelay,
  };
}

for (const [name, cases, anchors] of [["C", APPENDIX_C, false], ["F", APPENDIX_F, true]] as const) {
  Deno.test(`ldk_data: witness scripts of every output, BOLT #3 Appendix ${name}`, () => {
    let scripts = 0;
    for (const c of cases) {
      const built = buildCommitmentTx(caseOptions(c, anchors));
      const htlcs = built.outputs.flatMap((o, i) => o.htlc ? [{ ...o.htlc, outputIndex: i }] : []);
      const found = commitmentWitnessScripts(built.tx, {
        broadcaster: "holder",
        keys: localCommitmentKeys(),
        htlcs,
        context: appendixContext(anchors),
      });
      deepStrictEqual(
        found.map((s) => (s ? toHex(s) : null)),
        built.outputs.map((o) => (o.witnessScript ? toHex(o.witnessScript) : null)),
        c.name,
      );
      scripts += found.filter((s) => s !== null).length;
      // Seen from the other side (the peer's commitment we sign), the roles swap.
      const ctx = appendixContext(anchors);
      const swapped = commitmentWitnessScripts(built.tx, {
        broadcaster: "counterparty",
        keys: localCommitmentKeys(),
        htlcs,
        context: {
          ...ctx,
          holder: ctx.counterparty,
          counterparty: ctx.holder,
          holderSelectedContestDelay: ctx.counterpartySelectedContestDelay,
          counterpartySelectedContestDelay: ctx.holderSelectedContestDelay,
        },
      });
      deepStrictEqual(swapped, found);
    }
    strictEqual(scripts > cases.length, true);
  });
}

Deno.test("ldk_data: an output whose script matches no template has no witness script", () => {
  const built = buildCommitmentTx(caseOptions(APPENDIX_C[0], false));
  const tx = {
    ...built.tx,
    outputs: built.tx.outputs.map((o) => ({
      ...o,
      script: concat(Uint8Array.of(0, 32), new Uint8Array(32)),
    })),
  };
  const found = commitmentWitnessScripts(tx, {
    broadcaster: "holder",
    keys: localCommitmentKeys(),
    htlcs: [],
    context: appendixContext(false),
  });
  deepStrictEqual(found, tx.outputs.map(() => null));
});

Deno.test("ldk_data: commitment types from channel type features", () => {
  const features = (o: { zero?: boolean; nonzero?: boolean; srk?: boolean }) =>
    ({
      supports_anchors_zero_fee_htlc_tx: () => o.zero ?? false,
      supports_anchors_nonzero_fee_htlc_tx: () => o.nonzero ?? false,
      supports_static_remote_key: () => o.srk ?? false,
    }) as unknown as ldk.ChannelTypeFeatures;
  strictEqual(commitmentTypeOf(features({ zero: true, srk: true })), "anchors_zero_fee_htlc");
  strictEqual(commitmentTypeOf(features({ nonzero: true, srk: true })), "anchors");
  strictEqual(commitmentTypeOf(features({ srk: true })), "static_remotekey");
  strictEqual(commitmentTypeOf(features({})), "legacy");
});

const PAYOUT = { script: p2wpkh(fromHex("02" + "11".repeat(32))), walletIndex: 7 };

Deno.test("ldk_data: a closing transaction as a phase 2 request names our wallet index", () => {
  const closing = (holder: Uint8Array) =>
    ({
      to_holder_value_sat: () => 600_000n,
      to_counterparty_value_sat: () => 399_000n,
      to_holder_script: () => holder,
      to_counterparty_script: () => p2wpkh(fromHex("03" + "22".repeat(32))),
    }) as unknown as ldk.ClosingTransaction;
  deepStrictEqual(mutualCloseRequest(closing(PAYOUT.script), [PAYOUT]), {
    values: {
      toHolderSat: 600_000n,
      toCounterpartySat: 399_000n,
      holderScript: PAYOUT.script,
      counterpartyScript: p2wpkh(fromHex("03" + "22".repeat(32))),
      holderWalletPath: [7],
    },
  });
  const other = p2wpkh(fromHex("02" + "33".repeat(32)));
  deepStrictEqual(mutualCloseRequest(closing(other), [PAYOUT]).values?.holderWalletPath, []);
});

Deno.test("ldk_data: a transaction to sign one input of, with amounts and payout paths", () => {
  const tx = {
    version: 2,
    inputs: [0, 1].map((i) => ({
      txid: new Uint8Array(32).fill(i + 1),
      vout: i,
      scriptSig: new Uint8Array(),
      sequence: 0,
      witness: [],
    })),
    outputs: [{ amount: 1_000n, script: PAYOUT.script }, {
      amount: 2_000n,
      script: p2wpkh(fromHex("02" + "44".repeat(32))),
    }],
    locktime: 0,
  };
  const bytes = encodeTx(tx);
  const lookup = (o: { txid: Uint8Array; vout: number }) =>
    o.vout === 0 ? null : { amount: 5_000n, script: p2wpkh(fromHex("02" + "55".repeat(32))) };
  const spend = spendOf(bytes, { inputIndex: 0, amountSat: 330n, payouts: [PAYOUT], lookup });
  deepStrictEqual(spend.tx, tx);
  deepStrictEqual(spend.spent, [
    { amount: 330n, script: new Uint8Array() },
    { amount: 5_000n, script: p2wpkh(fromHex("02" + "55".repeat(32))) },
  ]);
  deepStrictEqual(spend.outputPaths, [[7], []]);
  deepStrictEqual(spend.inputPaths, [[], []]);
  throws(() => spendOf(bytes, { inputIndex: 2, amountSat: 1n, payouts: [] }), LdkDataError);
});
