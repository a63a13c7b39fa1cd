/**
 * One full channel update as a routing node sees it, through the signer: sign the peer's next
 * commitment, validate the peer's signatures on ours, revoke our previous commitment, validate the
 * peer's revocation. The commitments carry 0, 10 or 100 HTLCs (each update fails the oldest HTLC
 * and adds a new one, so the count stays put).
 *
 * Three ways, one group per HTLC count (the report shows each against the blind baseline):
 * - **blind**: what a blind signer does for the same four requests over prebuilt transactions: the
 *   sighashes and ECDSA signatures of the commitment and its HTLC transactions, the per-commitment
 *   secret and point derivations, one small write to a memory store per request; no rebuild, no
 *   policy;
 * - **Warden, memory store**: the {@link Signer} (rebuild, facts, policy, state) without the disk;
 * - **Warden, SQLite store**: the same with every state change fsynced before the reply.
 *
 * The policy is rules/default.policy when it exists and loads, else an inline permissive policy
 * (the bench names say which). The honest peer's work (its signatures, its checks of ours) and the
 * node's approval of each payment we send (`preapprove_keysend`, before its HTLC is offered; the
 * payment rules refuse an outgoing HTLC nobody approved) run outside the measured region. At the end a summary gives updates per second and the ratios.
 *
 * Run with `deno bench --allow-all tests/bench/channel_bench.ts`.
 *
 * @module
 */
import { join } from "node:path";
import { ecdsaSign } from "../../core/crypto/mod.ts";
import { SIGHASH, sighashSegwitV0 } from "../../core/bitcoin/tx.ts";
import { derivePrivateKey } from "../../core/bolt3/keys.ts";
import { MemoryStore } from "../../core/store/memory.ts";
import { SqliteStore, STATE_FILE } from "../../core/store/sqlite.ts";
import type { Store } from "../../core/store/types.ts";
import { Signer } from "../../core/signer/signer.ts";
import { PositiveApprover } from "../../core/node/approvals.ts";
import { holderPoint, holderSecret, sortHtlcs } from "../../core/channel/state.ts";
import { rebuildCommitment, type RebuiltCommitment } from "../../core/channel/rebuild.ts";
import { toHex } from "../../core/bytes.ts";
import {
  counterpartyRequest,
  type Htlc,
  loadTestPolicy,
  makePair,
  NOW,
  ourChannelId,
  ourNodeKeys,
  type Pair,
  paymentHash,
  peerChecksRevocation,
  peerNodeKeys,
  peerRevokes,
  peerSignsOurs,
  peerValidatesOurs,
  sameBytes,
} from "../core/signer/_crash_channel.ts";

const HTLC_COUNTS = [0, 10, 100];
const loaded = loadTestPolicy();
const POLICY = loaded.source === "rules/default.policy"
  ? "default policy"
  : "inline permissive policy (rules/default.policy missing or not loading)";
if (loaded.fallbackReason) console.log(`note: ${loaded.fallbackReason}`);

const dir = await Deno.makeTempDir({ prefix: "warden-channel-bench-" });

/** Measured time (ms) and count per bench, for the summary. */
const measured = new Map<string, { ms: number; count: number; htlcs: number; kind: string }>();
function record(name: string, info: { htlcs: number; kind: string }, ms: number): void {
  const m = measured.get(name) ?? { ms: 0, count: 0, ...info };
  m.ms += ms;
  m.count++;
  measured.set(name, m);
}

/**
 * Payment hashes cycle through {@link HASHES} values, each with its own amount (never two in flight
 * at once: at most 100 HTLCs are), so the payments a signer approves stay below the policy's
 * max_invoices (1000) however long the bench runs: a hash met again is an approval already made.
 */
const HASHES = 1000;
let hashCounter = 0;
function newHtlc(fromUs: boolean): Htlc {
  const i = hashCounter++ % HASHES;
  return {
    fromUs,
    amountMsat: 5_000_000n + BigInt(i) * 1000n,
    hash: paymentHash(i),
    cltv: 600 + (i % 500),
  };
}

/** Whom our payments pay (the fixture's peer). */
const PAYEE = peerNodeKeys().nodeId;

/** A channel with `k` HTLCs in flight, driven through a {@link Signer}. */
class SignerChannel {
  readonly signer: Signer;
  readonly pair: Pair;
  readonly id = ourChannelId("native");
  readonly points = new Map<number, Uint8Array>();
  n = 1;

  private constructor(signer: Signer, pair: Pair) {
    this.signer = signer;
    this.pair = pair;
  }

  /** Open the channel (commitments 0), then add `k` HTLCs (commitments 1). */
  static async open(store: Store, k: number): Promise<SignerChannel> {
    const keys = ourNodeKeys("native");
    const signer = await Signer.open({
      keys,
      store,
      // A policy of its own: the policy keeps the rate-limit state (payment velocity) of the
      // store it was loaded for, so signers over different stores must not share one.
      policy: loadTestPolicy().policy,
      clock: () => NOW,
      approver: new PositiveApprover(),
    });
    const pair = makePair({
      ours: keys,
      id: ourChannelId("native"),
      valueSat: 10_000_000n,
      pushMsat: 4_000_000_000n,
    });
    const ch = new SignerChannel(signer, pair);
    await signer.newChannel(ch.id);
    await signer.setupChannel(ch.id, pair.setup);
    ch.points.set(0, await signer.getPerCommitmentPoint(ch.id, 0));
    const request = counterpartyRequest(pair, 0);
    peerValidatesOurs(pair, request, await signer.signCounterpartyCommitment(ch.id, request));
    const ours = peerSignsOurs(pair, 0, ch.points.get(0) as Uint8Array);
    ch.points.set(1, (await signer.validateHolderCommitment(ch.id, ours)).nextPoint);
    for (let i = 0; i < k; i++) await ch.add(newHtlc(i % 2 === 0));
    await ch.update();
    return ch;
  }

  /** Offer an HTLC; one of ours is a payment the node approves first (as CLN before paying). */
  async add(htlc: Htlc): Promise<void> {
    if (htlc.fromUs) {
      const approved = await this.signer.preapproveKeysend({
        destination: PAYEE,
        paymentHash: htlc.hash,
        amountMsat: htlc.amountMsat,
      });
      if (!approved) throw new Error("the payment was not approved");
    }
    this.pair.ledger.add(htlc);
  }

  /** One update (commitments n); only the four signer requests are inside `b.start/b.end`. */
  async update(b?: Deno.BenchContext, name?: string): Promise<void> {
    const { pair, signer, id } = this;
    const n = this.n++;
    const { ledger } = pair;
    if (n > 1 && ledger.htlcs.length > 0) {
      const oldest = ledger.htlcs[0];
      ledger.remove(oldest, false);
      await this.add(newHtlc(oldest.fromUs));
    }
    const theirs = counterpartyRequest(pair, n);
    const ours = peerSignsOurs(pair, n, this.points.get(n) as Uint8Array);
    const peerSecret = holderSecret(pair.peer.keys, n - 1);
    b?.start();
    const t0 = performance.now();
    const sigs = await signer.signCounterpartyCommitment(id, theirs);
    const { nextPoint } = await signer.validateHolderCommitment(id, ours);
    const rev = await signer.revokeHolderCommitment(id, n - 1);
    await signer.validateCounterpartyRevocation(id, n - 1, peerSecret);
    const ms = performance.now() - t0;
    b?.end();
    if (name) record(name, { htlcs: ledger.htlcs.length, kind: "warden" }, ms);
    // The peer checks what it received and revokes (outside the measurement).
    peerValidatesOurs(pair, theirs, sigs);
    sameBytes(peerRevokes(pair, n - 1), peerSecret, "the peer's secret");
    peerChecksRevocation(pair, n - 1, rev);
    this.points.set(n + 1, nextPoint);
  }
}

/**
 * The blind signer's share of the same update, over transactions prebuilt once: commitment and
 * HTLC signatures, secret and points, and a memory-store write per request.
 */
class BlindChannel {
  readonly store = new MemoryStore();
  readonly keys = ourNodeKeys("native").channelKeys(ourChannelId("native"));
  readonly rebuilt: RebuiltCommitment;
  readonly point: Uint8Array;
  n = 1;
  version = -1;

  constructor(k: number) {
    const pair = makePair({
      ours: ourNodeKeys("native"),
      id: ourChannelId("native"),
      valueSat: 10_000_000n,
      pushMsat: 4_000_000_000n,
    });
    for (let i = 0; i < k; i++) pair.ledger.add(newHtlc(i % 2 === 0));
    const request = counterpartyRequest(pair, 1);
    const values = request.values as { toBroadcasterSat: bigint; toCountersignatorySat: bigint };
    this.point = request.perCommitmentPoint;
    this.rebuilt = rebuildCommitment("counterparty", {
      setup: pair.setup,
      keys: this.keys,
      info: {
        number: 1,
        perCommitmentPoint: toHex(request.perCommitmentPoint),
        feeratePerKw: request.feeratePerKw,
        toBroadcasterSat: values.toBroadcasterSat,
        toCountersignatorySat: values.toCountersignatorySat,
        htlcs: sortHtlcs(request.htlcs.map((h) => ({ ...h, paymentHash: toHex(h.paymentHash) }))),
      },
    });
    if (this.rebuilt.htlcTxs.length !== k) throw new Error(`expected ${k} HTLC outputs`);
  }

  async #persist(): Promise<void> {
    this.version++;
    await this.store.put([{ key: "blind", value: `{"n":${this.n}}`, version: this.version }]);
  }

  async update(b: Deno.BenchContext, name: string): Promise<void> {
    const n = this.n++;
    const { rebuilt, keys } = this;
    b.start();
    const t0 = performance.now();
    // sign_counterparty_commitment: the commitment and every HTLC transaction.
    ecdsaSign(
      sighashSegwitV0(rebuilt.tx, 0, {
        scriptCode: rebuilt.fundingWitnessScript,
        amount: rebuilt.fundingSatoshis,
        sighashType: SIGHASH.ALL,
      }),
      keys.fundingSecret.expose(),
    );
    const htlcKey = derivePrivateKey(keys.htlcBaseSecret.expose(), this.point);
    for (const h of rebuilt.htlcTxs) {
      ecdsaSign(
        sighashSegwitV0(h.tx, 0, {
          scriptCode: h.htlcWitnessScript,
          amount: rebuilt.outputs[h.commitmentOutputIndex].amountSat,
          sighashType: SIGHASH.ALL,
        }),
        htlcKey,
      );
    }
    await this.#persist();
    // validate_holder_commitment: a blind signer only hands out the next point.
    holderPoint(keys, n + 1);
    await this.#persist();
    // revoke_holder_commitment: the old secret and the point after next.
    holderSecret(keys, n - 1);
    holderPoint(keys, n + 1);
    await this.#persist();
    // validate_counterparty_revocation: nothing to check, store it.
    await this.#persist();
    const ms = performance.now() - t0;
    b.end();
    record(name, { htlcs: rebuilt.htlcTxs.length, kind: "blind" }, ms);
  }
}

const channels: { memory: Map<number, SignerChannel>; sqlite: Map<number, SignerChannel> } = {
  memory: new Map(),
  sqlite: new Map(),
};
const stores: Store[] = [];
for (const k of HTLC_COUNTS) {
  channels.memory.set(k, await SignerChannel.open(new MemoryStore(), k));
  const sqlite = await SqliteStore.open(join(dir, `${k}-${STATE_FILE}`));
  stores.push(sqlite);
  channels.sqlite.set(k, await SignerChannel.open(sqlite, k));
}

for (const k of HTLC_COUNTS) {
  const group = `update with ${k} HTLCs`;
  const blind = new BlindChannel(k);
  const blindName = `${k} HTLCs: blind signer (signatures + secrets only, memory store)`;
  Deno.bench(blindName, { group, baseline: true }, async (b) => await blind.update(b, blindName));
  for (const storeKind of ["memory", "sqlite"] as const) {
    const name = `${k} HTLCs: Warden, ${POLICY}, ${
      storeKind === "sqlite" ? "SQLite store (fsync)" : "memory store"
    }`;
    const ch = channels[storeKind].get(k) as SignerChannel;
    Deno.bench(name, { group }, async (b) => await ch.update(b, name));
  }
}

globalThis.addEventListener("unload", () => {
  const lines: string[] = ["", "channel updates per second (mean over every measured iteration):"];
  for (const k of HTLC_COUNTS) {
    const entries = [...measured.entries()].filter(([name]) => name.startsWith(`${k} HTLCs:`));
    const base = entries.find(([, m]) => m.kind === "blind")?.[1];
    for (const [name, m] of entries) {
      const perUpdate = m.ms / m.count;
      const ratio = base ? ` (${(perUpdate / (base.ms / base.count)).toFixed(1)}x blind)` : "";
      lines.push(
        `  ${name}: ${(1000 / perUpdate).toFixed(1)} updates/s, ${perUpdate.toFixed(2)} ms/update${
          m.kind === "blind" ? "" : ratio
        }`,
      );
    }
  }
  console.log(lines.join("\n"));
  for (const s of stores) s.close();
  Deno.removeSync(dir, { recursive: true });
});
