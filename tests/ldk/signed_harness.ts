/**
 * What the LDK harnesses with node A signed by Warden share, whoever runs the signer (in process:
 * warden_node.ts; a separate `mod.ts run` process: remote_node.ts): A's harness identity (seed,
 * node id, fee wallet, payout index, keys-id seed, feerate), the start of the two LDK nodes
 * around A's `WardenSignerProvider`, and a base class with the asynchronous versions of the
 * harness flows (every step waits for the adapter's signer requests and the `signer_unblocked`
 * rounds they trigger): open, pay, cooperative and force close, mining, the delayed sweeps.
 *
 * @module
 */
import * as ldk from "lightningdevkit";
import { concat, equal, fromHex, reverse, toHex, utf8 } from "../../core/bytes.ts";
import { derEncode, publicKey, sha256 } from "../../core/crypto/mod.ts";
import { p2wpkh } from "../../core/bitcoin/script.ts";
import { decodeTx, encodeTx, type Tx } from "../../core/bitcoin/tx.ts";
import { derivePublicKey } from "../../core/bolt3/keys.ts";
import { toLocalScript } from "../../core/bolt3/scripts.ts";
import { nodeKeysFromSeed } from "../../core/keys/mod.ts";
import { ChannelId } from "../../core/keys/types.ts";
import type { SignerApi } from "../../transports/ldk/api.ts";
import { WardenSignerProvider } from "../../transports/ldk/signer_provider.ts";
import type { RequestFailure } from "../../transports/ldk/requests.ts";
import type { SimChain, SimChainOptions } from "./chain.ts";
import {
  Harness,
  HarnessError,
  type NodeRef,
  type PaymentResult,
  type PayOptions,
  sendInvoicePayment,
} from "./harness.ts";
import type { LdkNode } from "./node.ts";
import { apiError } from "./node.ts";
import type { PlainCommitmentTx } from "./plain.ts";
import type { SeenRequest, TamperingSignerApi } from "./warden_tamper.ts";

/** The harness's seed of a node (harness default: SHA-256 of a label and the name). */
export function harnessSeed(name: string): Uint8Array {
  return sha256(concat(utf8("warden-ldk-harness-node:"), utf8(name)));
}

/** A harness node's id (LDK's KeysManager node key from the harness seed, as Warden derives it). */
export function harnessNodeId(name: string): Uint8Array {
  return nodeKeysFromSeed(harnessSeed(name), { network: "regtest", style: "ldk" }).nodeId;
}

/** The script of a node's harness wallet (SimWallet: P2WPKH of SHA-256(label || seed)). */
export function feeWalletScript(seed: Uint8Array): Uint8Array {
  return p2wpkh(publicKey(sha256(concat(utf8("warden-ldk-harness-wallet"), seed))));
}

/** The keys-id seed of the tests (reproducible traffic). */
export const KEYS_ID_SEED: Uint8Array = sha256(utf8("warden-ldk-test-keys-ids"));

/** Wallet index of A's payout script (destination and shutdown). */
export const PAYOUT_INDEX = 1;

/**
 * The feerate both nodes use (sat/kW): LDK's floor, 253. At this feerate BOLT #3 fees are rounded
 * down (an HTLC-timeout pays floor(663 * 253 / 1000) = 167 sat), which the signer's feerate
 * estimate must accept (VLS `estimate_feerate_per_kw`: (fee * 1000 + 999) / weight = 253; a plain
 * ceiling gives 252 and policy-htlc-fee-range refuses honest LDK traffic).
 */
export const TEST_FEERATE = 253;

/**
 * The output an outpoint (txid in internal order) names on the simulated chain, once `chain()`
 * gives one: what the node knows of the outputs its fee-bump inputs spend.
 */
export function chainOutputLookup(
  chain: () => SimChain | null,
): (outpoint: { txid: Uint8Array; vout: number }) => { amount: bigint; script: Uint8Array } | null {
  return ({ txid, vout }) => {
    const o = chain()?.output(toHex(reverse(txid)), vout);
    return o ? { amount: o.amount, script: o.script } : null;
  };
}

/** Options of {@link startSignedNodes}. */
export interface SignedNodesOptions {
  /** What A's adapter calls (the signer behind its request recorder). */
  api: SignerApi;
  /** A's payout script (wallet m/0/0/{@link PAYOUT_INDEX}). */
  payout: Uint8Array;
  /** Lowest LDK log level recorded (default "warn"). */
  logLevel?: "gossip" | "trace" | "debug" | "info" | "warn" | "error";
  /** The simulated chain's options (default: the harness's). */
  chain?: SimChainOptions;
  /** Feerate of both nodes in sat/kW (default {@link TEST_FEERATE}). */
  feerate?: number;
  /** Keep A's harness traffic lines (default: the node's default). */
  harnessTraffic?: boolean;
  /** Node B's options. */
  b?: { config?: { anchors?: boolean } };
}

/**
 * A's adapter (`WardenSignerProvider` over `api`, pool of 2, the chain's outputs for its fee
 * bumps) and the two LDK nodes: A with the harness seed of "A" signed through the adapter, B plain
 * LDK. Every block of the chain goes to the adapter as well, and the adapter's answers unblock A.
 */
export async function startSignedNodes(
  o: SignedNodesOptions,
): Promise<{ h: Harness; provider: WardenSignerProvider }> {
  const seed = harnessSeed("A");
  const chainRef: { chain: SimChain | null } = { chain: null };
  const provider = new WardenSignerProvider({
    api: o.api,
    payout: { script: o.payout, walletIndex: PAYOUT_INDEX },
    keysIdSeed: KEYS_ID_SEED,
    poolSize: 2,
    // The node knows the outputs its fee-bump inputs spend: here, from the simulated chain.
    spentOutput: chainOutputLookup(() => chainRef.chain),
  });
  await provider.ready();
  const feerate = o.feerate ?? TEST_FEERATE;
  const h = await Harness.create({
    // Debug lines cost a string conversion each; warnings and errors are enough here.
    log: { level: o.logLevel ?? "warn" },
    chain: o.chain,
    nodes: [
      {
        name: "A",
        seed,
        feerate,
        signer: { factory: () => provider, record: o.harnessTraffic },
      },
      { name: "B", feerate, config: o.b?.config },
    ],
  });
  chainRef.chain = h.chain;
  // Every block goes to the signer as well (before LDK's reactions to it reach the signer:
  // requests are served in arrival order and LDK's are started in a later microtask).
  h.chain.onBlock((b) =>
    provider.blockConnected(b.header, { height: b.height, transactions: b.txs.map((t) => t.tx) })
  );
  if (!equal(h.node("A").wallet.script, feeWalletScript(seed))) {
    throw new HarnessError("fee wallet differs");
  }
  provider.unblock = () => h.unblockSigners("A");
  return { h, provider };
}

/** A channel opened through {@link SignedHarness.openChannel}. */
export interface SignedChannel {
  /** Channel id, hex. */
  channelId: string;
  /** Funding outpoint (display txid). */
  funding: { txid: string; vout: number };
  /** Channel value. */
  valueSat: bigint;
  /** Opener. */
  from: string;
  /** Acceptor. */
  to: string;
}

/** Options of {@link SignedHarness.pay} and {@link SignedHarness.send}. */
export interface SignedPayOptions extends PayOptions {
  /**
   * Whether A asks its signer to approve the payment before sending it (default true, as an
   * honest node does). False plays a compromised node that sends without asking.
   */
  preapprove?: boolean;
}

/** A sweep of one delayed output. */
export interface DelayedSweep {
  /** The sweep's txid. */
  txid: string;
  /** The swept output's value. */
  valueSat: bigint;
  /** What the sweep pays to the payout script. */
  sweptSat: bigint;
  /** The chain's verdict on the broadcast. */
  outcome: string;
}

/** A mined cooperative close. */
export interface CloseOutcome {
  /** Closing txid. */
  txid: string;
  /** The transaction. */
  tx: Tx;
  /** Its fee. */
  feeSat: bigint;
  /** Output value per node. */
  outputs: Record<string, bigint>;
}

/** The texts a harness gives LDK (an invoice's description, a force close's message). */
export interface SignedHarnessTexts {
  /** The description of the payee's invoices. */
  invoice: string;
  /** The message of `force_close_broadcasting_latest_txn`. */
  forceClose: string;
}

/** The parts of a {@link SignedHarness}. */
export interface SignedHarnessParts {
  /** The LDK harness. */
  h: Harness;
  /** A's adapter. */
  provider: WardenSignerProvider;
  /** The request recorder the adapter calls (its `api`), in front of the signer. */
  requests: TamperingSignerApi;
  /** A's payout script. */
  payout: Uint8Array;
  /** The texts given to LDK. */
  texts: SignedHarnessTexts;
}

/**
 * The harness with node A signed by Warden through the adapter: the flows both harnesses run.
 * A subclass builds the signer and says how a force-closed commitment's number is known.
 */
export abstract class SignedHarness {
  /** The LDK harness. */
  readonly h: Harness;
  /** The adapter. */
  readonly provider: WardenSignerProvider;
  /** The API the adapter calls (the request recorder, then the signer). */
  readonly api: SignerApi;
  /** A's payout script (wallet m/0/0/1). */
  readonly payout: Uint8Array;
  readonly #requests: TamperingSignerApi;
  readonly #texts: SignedHarnessTexts;

  /**
   * Keeps the parts.
   * @param o the harness, the adapter, the recorder it calls, the payout script, the texts
   */
  protected constructor(o: SignedHarnessParts) {
    this.h = o.h;
    this.provider = o.provider;
    this.api = o.requests.api;
    this.payout = o.payout;
    this.#requests = o.requests;
    this.#texts = o.texts;
  }

  /**
   * How {@link sweepDelayed} learns the number of a channel's force-closed holder commitment:
   * called once before the outputs are swept (it may refuse there), the function it returns
   * once per output.
   */
  protected abstract closedCommitments(): Promise<(id: ChannelId) => Promise<number>>;

  /** Stop everything the harness started. */
  abstract close(): Promise<void>;

  /** Node A. */
  get A(): LdkNode {
    return this.h.node("A");
  }

  /** Node B. */
  get B(): LdkNode {
    return this.h.node("B");
  }

  /** Policy refusals (and other failures) the adapter met. */
  get failures(): RequestFailure[] {
    return this.provider.failures;
  }

  /** Every request the signer received (tampered ones included), in order, with its outcome. */
  get seen(): SeenRequest[] {
    return this.#requests.seen;
  }

  /** Wait until the signer answered everything and LDK's resulting rounds are done. */
  settle(): Promise<void> {
    return this.provider.settled();
  }

  /** Mine `n` blocks one by one, settling after each. */
  async mine(n = 1): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.h.mine(1);
      await this.settle();
    }
  }

  /** Mine until `done()` (checked before each block), at most `max` blocks. */
  async mineUntil(done: () => boolean, max: number): Promise<number> {
    for (let i = 0; i < max; i++) {
      if (done()) return i;
      await this.mine(1);
    }
    if (done()) return max;
    throw new HarnessError(`condition not reached after mining ${max} blocks`);
  }

  /** Pump and settle (e.g. after a timer tick). */
  async pump(): Promise<void> {
    this.h.pump();
    await this.settle();
  }

  /** Open a channel and wait until it is ready on both sides. */
  async openChannel(
    o: {
      from: NodeRef;
      to: NodeRef;
      valueSat: bigint;
      pushMsat?: bigint;
      anchors?: boolean;
      /** What A declares to the signer (default: the push it really asks LDK for). */
      declaredPushMsat?: bigint;
    },
  ): Promise<SignedChannel> {
    await this.provider.ready();
    const from = this.h.node(o.from);
    const to = this.h.node(o.to);
    const mark = from.events.length;
    const userChannelId = from.nextUserChannelId();
    if (from.name === "A") {
      this.provider.expectChannel(userChannelId, {
        pushMsat: o.declaredPushMsat ?? o.pushMsat ?? 0n,
      });
    }
    const r = from.chanMan.create_channel(
      to.nodeId,
      o.valueSat,
      o.pushMsat ?? 0n,
      userChannelId,
      null,
      from.channelConfig({ anchors: o.anchors }),
    );
    if (!(r instanceof ldk.Result_ChannelIdAPIErrorZ_OK)) {
      throw new HarnessError(`create_channel failed: ${apiError(r)}`);
    }
    const temp = toHex(r.res.get_a());
    await this.pump();
    const pending = this.h.events(from, "ChannelPending", { since: mark })
      .find((e) => e.formerTemporaryChannelId === temp);
    if (!pending) throw new HarnessError(`channel ${temp} did not reach ChannelPending`);
    const channel: SignedChannel = {
      channelId: pending.channelId,
      funding: { txid: pending.fundingTxid, vout: pending.fundingVout },
      valueSat: o.valueSat,
      from: from.name,
      to: to.name,
    };
    const ready = (n: LdkNode) =>
      n.events.some((e) => e.kind === "ChannelReady" && e.channelId === channel.channelId);
    await this.mineUntil(() => ready(from) && ready(to), 20);
    return channel;
  }

  /**
   * The payee's BOLT 11 invoice for `amountMsat` (LDK `create_invoice_from_channelmanager`, as
   * the harness's `pay`: expiry 3600 s, created at the payee's latest block time).
   */
  invoice(o: { to: NodeRef; amountMsat: bigint }): ldk.Bolt11Invoice {
    const inv = ldk.UtilMethods.constructor_create_invoice_from_channelmanager(
      this.h.node(o.to).chanMan,
      ldk.Option_u64Z.constructor_some(o.amountMsat),
      this.#texts.invoice,
      3600,
      ldk.Option_u16Z.constructor_none(),
    );
    if (!(inv instanceof ldk.Result_Bolt11InvoiceSignOrCreationErrorZ_OK)) {
      throw new HarnessError("invoice creation failed");
    }
    return inv.res;
  }

  /**
   * Start a payment over the direct channel (the harness's `pay` flow) and pump once, without
   * waiting for the signer. When A pays, it first asks its signer to approve the payee's invoice
   * (`provider.preapproveInvoice`, as a real node before `send_payment`) and does not send when
   * the signer refuses (status `failed`, reason `preapproval refused: ...`); `preapprove: false`
   * sends without asking. B is plain LDK and asks nobody.
   */
  async send(o: SignedPayOptions): Promise<PaymentResult> {
    const from = this.h.node(o.from);
    const to = this.h.node(o.to);
    const invoice = this.invoice({ to, amountMsat: o.amountMsat });
    const params = ldk.UtilMethods.constructor_payment_parameters_from_invoice(invoice);
    if (
      !(params instanceof
        ldk.Result_C3Tuple_ThirtyTwoBytesRecipientOnionFieldsRouteParametersZNoneZ_OK)
    ) {
      throw new HarnessError("payment parameters from invoice failed");
    }
    const hash = params.res.get_a();
    const paymentHash = toHex(hash);
    if (from.name === "A" && o.preapprove !== false) {
      try {
        await this.provider.preapproveInvoice(invoice.to_str());
      } catch (e) {
        const reason = `preapproval refused: ${e instanceof Error ? e.message : String(e)}`;
        return { paymentHash, status: "failed", feePaidMsat: null, reason };
      }
    }
    if (o.hold) to.hold.add(paymentHash);
    const since: [number, number] = [from.events.length, to.events.length];
    const reason = sendInvoicePayment(from, params.res);
    if (reason !== null) return { paymentHash, status: "failed", feePaidMsat: null, reason };
    this.h.pump();
    return this.h.paymentStatus({ from, to, paymentHash, since });
  }

  /** Pay over the direct channel (A preapproving first, see {@link send}) and wait. */
  async pay(o: SignedPayOptions): Promise<PaymentResult> {
    const from = this.h.node(o.from);
    const to = this.h.node(o.to);
    const since: [number, number] = [from.events.length, to.events.length];
    const r = await this.send(o);
    if (r.status === "failed") return r;
    await this.settle();
    return this.h.paymentStatus({ from, to, paymentHash: r.paymentHash, since });
  }

  /** Cooperative close by `by`: negotiate, mine the closing transaction, return it. */
  async cooperativeClose(o: { by: NodeRef; channel: SignedChannel }): Promise<CloseOutcome> {
    const by = this.h.node(o.by);
    const other = this.h.node(by.name === o.channel.from ? o.channel.to : o.channel.from);
    const r = by.chanMan.close_channel(by.channelIdObject(o.channel.channelId), other.nodeId);
    if (!r.is_ok()) throw new HarnessError(`close_channel failed: ${apiError(r)}`);
    await this.pump();
    const f = o.channel.funding;
    const spender = this.h.chain.spenderOf(f.txid, f.vout);
    if (!spender) throw new HarnessError("no closing transaction was broadcast");
    if (spender.height === null) await this.mine(1);
    const tx = this.h.chain.transaction(spender.txid)?.chainTx.tx as Tx;
    const outputs: Record<string, bigint> = {};
    for (const n of this.h.nodes.values()) {
      outputs[n.name] = tx.outputs.filter((x) => this.h.ownsScript(n, x.script))
        .reduce((s, x) => s + x.amount, 0n);
    }
    const feeSat = o.channel.valueSat - tx.outputs.reduce((s, x) => s + x.amount, 0n);
    return { txid: spender.txid, tx, feeSat, outputs };
  }

  /**
   * Force close by `by` (`force_close_broadcasting_latest_txn`). With `offline` the peers are
   * disconnected first, so the peer cannot answer the error with its own commitment while our
   * (asynchronous) holder signature is on its way; they are reconnected after.
   */
  async forceClose(
    o: { by: NodeRef; channel: SignedChannel; offline?: boolean },
  ): Promise<string> {
    const by = this.h.node(o.by);
    const other = this.h.node(by.name === o.channel.from ? o.channel.to : o.channel.from);
    const connections = o.offline ? this.h.net.connections() : [];
    for (const c of connections) this.h.net.disconnect(c);
    if (o.offline) await this.pump();
    const r = by.chanMan.force_close_broadcasting_latest_txn(
      by.channelIdObject(o.channel.channelId),
      other.nodeId,
      this.#texts.forceClose,
    );
    if (!r.is_ok()) throw new HarnessError(`force close failed: ${apiError(r)}`);
    await this.pump();
    const f = o.channel.funding;
    const spender = this.h.chain.spenderOf(f.txid, f.vout);
    if (!spender) throw new HarnessError("no commitment transaction was broadcast");
    if (o.offline) {
      this.h.connect("A", "B");
      await this.settle();
    }
    return spender.txid;
  }

  /** Every distinct commitment `ref` held for a channel (revoked ones included), oldest first. */
  heldCommitments(ref: NodeRef, channel: SignedChannel): PlainCommitmentTx[] {
    const seen = new Set<string>();
    const out: PlainCommitmentTx[] = [];
    for (const hc of this.h.tap(ref).holderCommitments) {
      const c = hc.commitment_tx;
      if (seen.has(c.txid)) continue;
      const input = decodeTx(fromHex(c.tx)).inputs[0];
      if (toHex(reverse(input.txid)) !== channel.funding.txid) continue;
      if (input.vout !== channel.funding.vout) continue;
      seen.add(c.txid);
      out.push(c);
    }
    return out;
  }

  /** Requests the signer received per API method (tampered ones included). */
  requestCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.seen) out[r.method] = (out[r.method] ?? 0) + 1;
    return out;
  }

  /** The arguments (after the channel id) of every request of `method`, in order. */
  requestsOf(method: string): unknown[][] {
    return this.seen.filter((s) => s.method === method).map((s) => s.args);
  }

  /**
   * Sweep every `DelayedPaymentOutput` LDK reported (our to_local, our HTLC transactions'
   * outputs) to the payout script, each input signed by Warden (`signDelayedSweep`): LDK itself
   * makes no channel-signer call for these (its `OutputSpender` would re-derive the keys).
   * Broadcasts one transaction per output; returns them.
   */
  async sweepDelayed(o: { feeSat?: bigint } = {}): Promise<DelayedSweep[]> {
    const out: DelayedSweep[] = [];
    const rest: ldk.SpendableOutputDescriptor[] = [];
    const closedNumber = await this.closedCommitments();
    for (const d of this.A.spendable) {
      if (!(d instanceof ldk.SpendableOutputDescriptor_DelayedPaymentOutput)) {
        rest.push(d);
        continue;
      }
      const p = d.delayed_payment_output;
      const id = ChannelId.fromKeysId(p.get_channel_keys_id());
      const point = p.get_per_commitment_point();
      const n = await closedNumber(id);
      const ours = await this.api.getPerCommitmentPoint(id, n);
      if (!equal(ours, point)) throw new HarnessError("the output is not of our closed commitment");
      const bp = await this.api.getChannelBasepoints(id);
      const delay = p.get_to_self_delay();
      const script = toLocalScript({
        revocationKey: p.get_revocation_pubkey().get_a(),
        broadcasterDelayedPaymentKey: derivePublicKey(bp.delayedPayment, point),
        toSelfDelay: delay,
      });
      const outpoint = p.get_outpoint();
      const value = p.get_output().value;
      const fee = o.feeSat ?? 500n;
      const tx: Tx = {
        version: 2,
        inputs: [{
          txid: outpoint.get_txid(),
          vout: outpoint.get_index(),
          scriptSig: new Uint8Array(),
          sequence: delay,
          witness: [],
        }],
        outputs: [{ amount: value - fee, script: this.payout }],
        locktime: 0,
      };
      const sig = await this.api.signDelayedSweep(id, {
        spend: {
          tx,
          spent: [{ amount: value, script: p.get_output().script_pubkey }],
          inputPaths: [[]],
          outputPaths: [[PAYOUT_INDEX]],
        },
        inputIndex: 0,
        number: n,
      });
      tx.inputs[0].witness = [
        concat(derEncode(sig.signature), Uint8Array.of(sig.sighashType)),
        new Uint8Array(),
        script,
      ];
      const outcome = this.h.submitTransaction(encodeTx(tx), "sweep:A");
      out.push({
        txid: outcome.txid,
        valueSat: value,
        sweptSat: value - fee,
        outcome: outcome.status,
      });
    }
    this.A.spendable.splice(0, this.A.spendable.length, ...rest);
    return out;
  }
}
