/**
 * BOLT #3 benchmarks: key derivation, commitment construction at 0, 10 and 100 HTLCs, and the
 * BIP-143 digest of a commitment transaction. Run with
 * `deno bench --allow-all tests/bench/bolt3_bench.ts`.
 *
 * @module
 */
import vectors from "../vectors/bolt3/commitment-static-remotekey.json" with { type: "json" };
import { fromHex, reverse, u32be } from "../../core/bytes.ts";
import { sha256 } from "../../core/crypto/mod.ts";
import { sighashSegwitV0 } from "../../core/bitcoin/tx.ts";
import {
  buildCommitmentTx,
  type CommitmentHtlc,
  type CommitmentTxOptions,
  deriveCommitmentKeys,
  deriveRevocationPublicKey,
  generateFromSeed,
  obscuringFactor,
  perCommitmentPoint,
} from "../../core/bolt3/mod.ts";

const ch = vectors.channel;
const iv = vectors.internal_values;
const point = fromHex(iv.local_per_commitment_point);
const revocationBasepoint = fromHex(iv.remote_revocation_basepoint);
const seed = new Uint8Array(32).fill(0xff);
const secret = fromHex(iv.x_local_per_commitment_secret_raw32);

const keys = deriveCommitmentKeys(point, {
  broadcaster: {
    delayedPaymentBasepoint: fromHex(iv.local_delayed_payment_basepoint),
    htlcBasepoint: fromHex(ch.local_htlc_basepoint),
  },
  countersignatory: {
    revocationBasepoint,
    htlcBasepoint: fromHex(ch.remote_htlc_basepoint),
  },
});

/** `n` HTLCs of 50 000 sat, alternately offered and received, all untrimmed at 253 sat/kw. */
function htlcs(n: number): CommitmentHtlc[] {
  return Array.from({ length: n }, (_, i) => ({
    offered: i % 2 === 0,
    amountMsat: 50_000_000n,
    paymentHash: sha256(u32be(i)),
    cltvExpiry: 500 + i,
  }));
}

function options(n: number): CommitmentTxOptions {
  const inFlight = BigInt(n) * 50_000_000n;
  return {
    fundingOutpoint: { txid: reverse(fromHex(ch.funding_txid)), vout: ch.funding_output_index },
    fundingSatoshis: BigInt(ch.funding_amount_satoshi),
    commitmentNumber: ch.commitment_number,
    obscuringFactor: obscuringFactor(
      fromHex(ch.local_payment_basepoint),
      fromHex(ch.remote_payment_basepoint),
    ),
    broadcasterIsOpener: true,
    toBroadcasterMsat: 7_000_000_000n - inFlight,
    toCountersignatoryMsat: 3_000_000_000n,
    feeratePerKw: 253,
    dustLimitSatoshis: 546n,
    toSelfDelay: ch.to_self_delay,
    htlcs: htlcs(n),
    keys,
    countersignatoryPaymentBasepoint: fromHex(ch.remote_payment_basepoint),
    broadcasterFundingPubkey: fromHex(ch.local_funding_pubkey),
    countersignatoryFundingPubkey: fromHex(ch.remote_funding_pubkey),
    anchors: true,
  };
}

const opts0 = options(0);
const opts10 = options(10);
const opts100 = options(100);
const built10 = buildCommitmentTx(opts10);

Deno.bench("per-commitment point (secret * G)", { group: "keys" }, () => {
  perCommitmentPoint(secret);
});

Deno.bench("per-commitment secret (generate_from_seed, worst case 48 hashes)", {
  group: "keys",
}, () => {
  generateFromSeed(seed, 281474976710655);
});

Deno.bench("revocation pubkey derivation", { group: "keys" }, () => {
  deriveRevocationPublicKey(revocationBasepoint, point);
});

Deno.bench("commitment keys (TxCreationKeys)", { group: "keys" }, () => {
  deriveCommitmentKeys(point, {
    broadcaster: {
      delayedPaymentBasepoint: fromHex(iv.local_delayed_payment_basepoint),
      htlcBasepoint: fromHex(ch.local_htlc_basepoint),
    },
    countersignatory: { revocationBasepoint, htlcBasepoint: fromHex(ch.remote_htlc_basepoint) },
  });
});

Deno.bench("build commitment tx, 0 HTLCs", { group: "commitment" }, () => {
  buildCommitmentTx(opts0);
});

Deno.bench("build commitment tx, 10 HTLCs", { group: "commitment" }, () => {
  buildCommitmentTx(opts10);
});

Deno.bench("build commitment tx, 100 HTLCs", { group: "commitment" }, () => {
  buildCommitmentTx(opts100);
});

Deno.bench("BIP-143 sighash of a commitment tx (10 HTLCs)", { group: "sighash" }, () => {
  sighashSegwitV0(built10.tx, 0, {
    scriptCode: built10.fundingWitnessScript,
    amount: built10.fundingSatoshis,
  });
});

Deno.bench("build commitment tx, 100 HTLCs, fresh key objects (no key-check memo)", {
  group: "commitment",
}, () => {
  const k = opts100.keys;
  buildCommitmentTx({
    ...opts100,
    keys: {
      perCommitmentPoint: k.perCommitmentPoint.slice(),
      revocationKey: k.revocationKey.slice(),
      broadcasterDelayedPaymentKey: k.broadcasterDelayedPaymentKey.slice(),
      broadcasterHtlcKey: k.broadcasterHtlcKey.slice(),
      countersignatoryHtlcKey: k.countersignatoryHtlcKey.slice(),
    },
    countersignatoryPaymentBasepoint: opts100.countersignatoryPaymentBasepoint.slice(),
    broadcasterFundingPubkey: opts100.broadcasterFundingPubkey.slice(),
    countersignatoryFundingPubkey: opts100.countersignatoryFundingPubkey.slice(),
  });
});
