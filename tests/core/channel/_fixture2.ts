/**
 * Test fixture for the on-chain channel operations: a channel between us and a simulated honest
 * peer (both running the same channel operations on mirrored setups, see _peer.ts), advanced
 * through real commitment rounds, plus wallets, transaction builders and a fact differ.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { equal, fromHex, toHex } from "../../../core/bytes.ts";
import { ecdsaVerify, publicKey, sha256 } from "../../../core/crypto/mod.ts";
import { SIGHASH, sighashSegwitV0, type Tx, type TxOutput } from "../../../core/bitcoin/tx.ts";
import { p2wpkh } from "../../../core/bitcoin/script.ts";
import { commitmentFee, isHtlcTrimmed } from "../../../core/bolt3/commitment.ts";
import { nodeKeysFromSeed } from "../../../core/keys/mod.ts";
import type { NodeKeys } from "../../../core/keys/types.ts";
import { walletView } from "../../../core/node/wallet.ts";
import {
  type HtlcRequest,
  signCounterpartyCommitment,
  validateHolderCommitment,
} from "../../../core/channel/ops/commitment.ts";
import { revokeHolderCommitment } from "../../../core/channel/ops/points.ts";
import { validateCounterpartyRevocation } from "../../../core/channel/ops/revocation.ts";
import { type OpContext, readySetup, type WalletView } from "../../../core/channel/ops/context.ts";
import { holderPoint } from "../../../core/channel/state.ts";
import { rebuildCommitment, type RebuiltCommitment } from "../../../core/channel/rebuild.ts";
import type { CommitmentInfo } from "../../../core/channel/types.ts";
import { ONCHAIN_FACT_KINDS } from "../../../core/channel/facts_onchain.ts";
import type { InputSignature, SpendTx } from "../../../core/channel/ops/sweep.ts";
import { ctxOf, makeChannel, type Side } from "./_peer.ts";

/** The feerate of every commitment of the fixture. */
export const FEERATE = 1000;

/** A payment in flight, from the opener's (our) point of view. */
export interface Htlc {
  fromOpener: boolean;
  amountMsat: bigint;
  hash: Uint8Array;
  cltv: number;
}

/** A deterministic payment hash. */
export const hashOf = (i: number): Uint8Array => sha256(new TextEncoder().encode(`preimage ${i}`));

/** A commitment's main output values and untrimmed HTLCs, from its broadcaster's view. */
export interface CommitmentValues {
  toBroadcasterSat: bigint;
  toCountersignatorySat: bigint;
  htlcs: HtlcRequest[];
}

function values(
  options: {
    broadcasterIsOpener: boolean;
    openerMsat: bigint;
    acceptorMsat: bigint;
    htlcs: Htlc[];
    anchors: boolean;
  },
): CommitmentValues {
  const dust = 546n;
  const htlcs = options.htlcs
    .map((h) => ({
      offered: h.fromOpener === options.broadcasterIsOpener,
      amountMsat: h.amountMsat,
      paymentHash: h.hash,
      cltvExpiry: h.cltv,
    }))
    .filter((h) =>
      !isHtlcTrimmed(h, {
        feeratePerKw: FEERATE,
        dustLimitSatoshis: dust,
        anchors: options.anchors,
      })
    );
  const fee =
    commitmentFee(FEERATE, { numUntrimmedHtlcs: htlcs.length, anchors: options.anchors }) +
    (options.anchors ? 660n : 0n);
  const opener = options.openerMsat / 1000n - fee;
  const acceptor = options.acceptorMsat / 1000n;
  const keep = (v: bigint) => (v >= dust ? v : 0n);
  const [b, c] = options.broadcasterIsOpener ? [opener, acceptor] : [acceptor, opener];
  return { toBroadcasterSat: keep(b), toCountersignatorySat: keep(c), htlcs };
}

/** Both sides and the balance sheet; we opened the channel. */
export class Channel {
  us: Side;
  peer: Side;
  anchors: boolean;
  openerMsat: bigint;
  acceptorMsat: bigint;
  htlcs: Htlc[] = [];
  /** Every holder commitment info each side validated, by number (to rebuild revoked ones). */
  history: { us: CommitmentInfo[]; peer: CommitmentInfo[] } = { us: [], peer: [] };

  constructor(options: { anchors?: boolean; pushMsat?: bigint } = {}) {
    const pushMsat = options.pushMsat ?? 300_000_000n;
    const { us, peer } = makeChannel({ anchors: options.anchors, pushMsat });
    this.us = us;
    this.peer = peer;
    this.anchors = options.anchors ?? false;
    this.openerMsat = 1_000_000_000n - pushMsat;
    this.acceptorMsat = pushMsat;
  }

  valuesFor(broadcaster: "us" | "peer"): CommitmentValues {
    return values({
      broadcasterIsOpener: broadcaster === "us",
      openerMsat: this.openerMsat,
      acceptorMsat: this.acceptorMsat,
      htlcs: this.htlcs,
      anchors: this.anchors,
    });
  }

  /** `signer` signs the other side's commitment `n`; the other side validates it. */
  commit(signer: "us" | "peer", n: number): void {
    const [s, v] = signer === "us" ? [this.us, this.peer] : [this.peer, this.us];
    const broadcaster = signer === "us" ? "peer" : "us";
    const { toBroadcasterSat, toCountersignatorySat, htlcs } = this.valuesFor(broadcaster);
    const request = {
      number: n,
      feeratePerKw: FEERATE,
      htlcs,
      values: { toBroadcasterSat, toCountersignatorySat },
    };
    const signed = signCounterpartyCommitment(ctxOf(s), {
      ...request,
      perCommitmentPoint: holderPoint(v.keys, n),
    });
    s.state = signed.next;
    const sigs = signed.release();
    const validated = validateHolderCommitment(ctxOf(v), {
      ...request,
      counterpartySig: sigs.signature,
      counterpartyHtlcSigs: sigs.htlcSignatures,
    });
    strictEqual(validated.facts.commitment.counterparty_sig_valid, true);
    strictEqual(validated.facts.commitment.htlc_sigs_valid, true);
    v.state = validated.next;
    const e = v.state.enforcement;
    const info = e.pendingHolder?.info.number === n ? e.pendingHolder.info : e.currentHolder?.info;
    if (info) this.history[broadcaster][n] = info;
  }

  /** `revoker` revokes its commitment `n`; the other side checks the revocation. */
  revoke(revoker: "us" | "peer", n: number): void {
    const [r, o] = revoker === "us" ? [this.us, this.peer] : [this.peer, this.us];
    const out = revokeHolderCommitment(ctxOf(r), n);
    r.state = out.next;
    const { secret } = out.release();
    const checked = validateCounterpartyRevocation(ctxOf(o), { number: n, secret });
    strictEqual(checked.facts.revocation.secret_chains, true);
    o.state = checked.next;
  }

  /** Open: both commitments 0 signed and validated. */
  open(): void {
    this.commit("us", 0);
    this.commit("peer", 0);
  }

  /**
   * Open, then we offer a 100k-sat HTLC (commitments 1) and the peer offers a 50k-sat one
   * (commitments 2). Afterwards: H = 3, C = 3, R = 2 on our side; both current commitments (2)
   * hold both HTLCs, and the peer's commitments 0 and 1 are revoked.
   */
  openWithTwoHtlcs(): void {
    this.open();
    this.openerMsat -= 100_000_000n;
    this.htlcs.push({ fromOpener: true, amountMsat: 100_000_000n, hash: hashOf(1), cltv: 500 });
    this.commit("us", 1);
    this.revoke("peer", 0);
    this.commit("peer", 1);
    this.revoke("us", 0);
    this.acceptorMsat -= 50_000_000n;
    this.htlcs.push({ fromOpener: false, amountMsat: 50_000_000n, hash: hashOf(2), cltv: 600 });
    this.commit("peer", 2);
    this.revoke("us", 1);
    this.commit("us", 2);
    this.revoke("peer", 1);
  }

  /** `side`'s holder commitment `n` as its node would build it. */
  holderCommitment(side: "us" | "peer", n: number): RebuiltCommitment {
    const s = side === "us" ? this.us : this.peer;
    return rebuildCommitment("holder", {
      setup: readySetup(s.state),
      keys: s.keys,
      info: this.history[side][n],
    });
  }
}

/** Our node's keys (the seed of _peer.ts). */
export const US_NODE: NodeKeys = nodeKeysFromSeed(new Uint8Array(32).fill(1), {
  network: "regtest",
});

/** A script paying a key nobody in the fixture owns. */
export const FOREIGN_SCRIPT: Uint8Array = p2wpkh(publicKey(new Uint8Array(32).fill(0x77)));

/** Our wallet view, with an allowlist. */
export function walletOf(allowlist: Uint8Array[] = []): WalletView {
  return walletView(US_NODE, { allowlisted: (s) => allowlist.some((a) => equal(a, s)) });
}

/** Our wallet's P2WPKH script at index `i`. */
export function walletScript(i: number): Uint8Array {
  return p2wpkh(US_NODE.walletPubkey(i));
}

/** The operation context of `side` with a wallet. */
export function ctxWith(side: Side, wallet: WalletView = walletOf()): OpContext {
  return { ...ctxOf(side), wallet };
}

/** A version 2 transaction with the given inputs (sequence 0xffffffff unless set) and outputs. */
export function makeTx(
  inputs: { txid: Uint8Array; vout: number; sequence?: number }[],
  outputs: TxOutput[],
  locktime = 0,
): Tx {
  return {
    version: 2,
    locktime,
    inputs: inputs.map((i) => ({
      txid: i.txid.slice(),
      vout: i.vout,
      scriptSig: new Uint8Array(),
      sequence: i.sequence ?? 0xffffffff,
      witness: [],
    })),
    outputs: outputs.map((o) => ({ amount: o.amount, script: o.script.slice() })),
  };
}

/** A deep copy of a transaction, changed by `edit`. */
export function editTx(tx: Tx, edit: (t: Tx) => void): Tx {
  const copy: Tx = {
    version: tx.version,
    locktime: tx.locktime,
    inputs: tx.inputs.map((i) => ({ ...i, txid: i.txid.slice(), witness: [] })),
    outputs: tx.outputs.map((o) => ({ amount: o.amount, script: o.script.slice() })),
  };
  edit(copy);
  return copy;
}

/** A {@link SpendTx} with the given spent outputs and paths (defaults: unknown, none). */
export function spendOf(
  tx: Tx,
  options: { spent?: (TxOutput | null)[]; inputPaths?: number[][]; outputPaths?: number[][] } = {},
): SpendTx {
  return {
    tx,
    spent: options.spent ?? tx.inputs.map(() => null),
    inputPaths: options.inputPaths ?? tx.inputs.map(() => []),
    outputPaths: options.outputPaths ?? tx.outputs.map(() => []),
  };
}

/** Check that a signature verifies for input `index` of `tx` under `pubkey`. */
export function assertSigVerifies(
  sig: InputSignature,
  o: { tx: Tx; index: number; scriptCode: Uint8Array; amount: bigint; pubkey: Uint8Array },
  sighashType: number = SIGHASH.ALL,
): void {
  strictEqual(sig.sighashType, sighashType, "sighash type");
  const digest = sighashSegwitV0(o.tx, o.index, {
    scriptCode: o.scriptCode,
    amount: o.amount,
    sighashType,
  });
  strictEqual(ecdsaVerify(sig.signature, digest, o.pubkey), true, "signature verifies");
}

type Leaf = string | number | boolean;

function flatten(value: unknown, prefix: string, out: Map<string, Leaf>): void {
  if (Array.isArray(value)) {
    out.set(`${prefix}.length`, value.length);
    value.forEach((v, i) => flatten(v, `${prefix}.${i}`, out));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (typeof value === "bigint") out.set(prefix, `${value}n`);
  else out.set(prefix, value as Leaf);
}

/** The leaf paths (arrays by index) whose values differ between two fact records, sorted. */
export function diffFacts(a: unknown, b: unknown): string[] {
  const x = new Map<string, Leaf>();
  const y = new Map<string, Leaf>();
  flatten(a, "", x);
  flatten(b, "", y);
  const keys = new Set([...x.keys(), ...y.keys()]);
  return [...keys].filter((k) => x.get(k) !== y.get(k)).sort();
}

/** Check an outcome's facts against its kind's schema (every field present, right types). */
export function assertSchema(outcome: { kind: string; facts: unknown }): void {
  const schema = ONCHAIN_FACT_KINDS[outcome.kind as keyof typeof ONCHAIN_FACT_KINDS];
  const parsed = schema.safeParse(outcome.facts);
  deepStrictEqual(parsed.success ? [] : parsed.error.issues, [], `facts of ${outcome.kind}`);
}

/** Hex helpers re-exported for tests. */
export { fromHex, toHex };
