/**
 * Warden behind a real LDK node: a channel-signer factory (the shape of the LDK test harness's
 * `ChannelSignerFactory`) and an LDK `SignerProvider` whose every channel-signer method is backed
 * by an asynchronous {@link SignerApi} (the in-process `Signer`, or later a remote client).
 *
 * LDK's callbacks are synchronous; the adapter follows LDK's async-signing protocol
 * (`shared` reference, "Async validation pattern"):
 * - signing calls (`sign_counterparty_commitment`, `release_commitment_secret`,
 *   `sign_holder_commitment`, `sign_closing_transaction`, HTLC, justice and anchor signatures,
 *   `get_per_commitment_point`) answer from a cache of completed answers keyed by the exact
 *   request; otherwise the request is started (once) and the callback answers `Err`; when it
 *   completes the adapter calls `unblock()` (LDK's `ChannelManager.signer_unblocked` and
 *   `ChainMonitor.signer_unblocked`) and LDK asks again;
 * - `validate_holder_commitment` / `validate_counterparty_revocation` answer `Ok` at once (an `Err`
 *   force-closes the channel), start the validation, and hold back every later call of the
 *   channel until the verdict; a refusal blocks the channel's off-chain calls for good (the
 *   channel stalls; on-chain claims still go to the signer, whose own rules decide them);
 * - `derive_channel_signer` needs our basepoints synchronously: channels are created ahead of
 *   time in a small pool (`newChannel` + `getChannelBasepoints`), and `generate_channel_keys_id`
 *   hands out a pooled keys id (deterministic: SHA-256 of a seed and a counter);
 * - `provide_channel_parameters` becomes `setupChannel` (a gate as well);
 * - the node feeds every block to the signer through {@link WardenSignerProvider.blockConnected}.
 *
 * No callback ever throws into LDK: every body is wrapped and fails closed with `Err`.
 *
 * ```ts
 * const provider = new WardenSignerProvider({ api: signer, payout, unblock: () => node.unblock() });
 * await provider.ready();                  // pre-create the pool of channels
 * ChannelManager.constructor_new(..., provider.signerProvider(), ...);
 * ```
 *
 * @module
 */
import * as ldk from "lightningdevkit";
import type { EcdsaChannelSignerInterface } from "lightningdevkit/structs/EcdsaChannelSigner.mjs";
import type { ChannelSignerInterface } from "lightningdevkit/structs/ChannelSigner.mjs";
import { concat, equal, toHex, u64be } from "../../core/bytes.ts";
import { randomBytes, sha256 } from "../../core/crypto/mod.ts";
import { decodeTx, type Tx } from "../../core/bitcoin/tx.ts";
import { p2wsh } from "../../core/bitcoin/script.ts";
import { anchorScript } from "../../core/bolt3/scripts.ts";
import { ANCHOR_OUTPUT_SATOSHIS } from "../../core/bolt3/commitment.ts";
import { ChannelId } from "../../core/keys/types.ts";
import type { ChannelBasepoints, SignerApi } from "./api.ts";
import {
  channelSetupOf,
  commitmentNumberOf,
  counterpartyCommitmentRequest,
  fixU128,
  holderCommitmentNumber,
  holderCommitmentRequest,
  htlcRequestOf,
  LdkDataError,
  mutualCloseRequest,
  type PayoutScript,
  type ScriptContext,
  spendOf,
  type SpentOutputLookup,
} from "./ldk_data.ts";
import {
  type Answer,
  ChannelRequests,
  refusalOf,
  type RequestFailure,
  requestKey,
  type RequestScope,
} from "./requests.ts";

export type { ChannelSignerInterface, EcdsaChannelSignerInterface };

/** One channel signer instance (the harness's `DerivedChannelSigner` shape). */
export interface DerivedChannelSigner {
  /** The ECDSA half. */
  ecdsa: EcdsaChannelSignerInterface;
  /** The channel half. */
  channel: ChannelSignerInterface;
  /** Our channel public keys. */
  pubkeys: ldk.ChannelPublicKeys;
}

/** Request of {@link WardenSignerProvider.generateChannelKeysId} (harness `KeysIdRequest`). */
export interface KeysIdRequest {
  /** The channel is inbound. */
  inbound: boolean;
  /** Channel value in satoshi. */
  channelValueSat: bigint;
  /** The user channel id (byte order already corrected). */
  userChannelId: bigint;
}

/** Options of {@link WardenSignerProvider}. */
export interface WardenSignerProviderOptions {
  /** The signer. */
  api: SignerApi;
  /**
   * Where LDK pays on-chain claims (`get_destination_script`) and cooperative closes
   * (`get_shutdown_scriptpubkey`): a script of our wallet (m/0/0/index), so the signer can check
   * destinations. Must be P2WPKH or P2WSH.
   */
  payout: PayoutScript;
  /**
   * Seed of the keys ids (SHA-256 of the seed and a counter). Default: random. A fixed seed gives
   * reproducible traffic; never reuse one with the same signer store.
   */
  keysIdSeed?: Uint8Array;
  /** Channels created ahead of time (default 2). */
  poolSize?: number;
  /** Tell LDK answers are ready (`signer_unblocked` on the ChannelManager and ChainMonitor). */
  unblock?: () => void;
  /** Every refusal or failure (also kept in {@link WardenSignerProvider.failures}). */
  onFailure?: (f: RequestFailure) => void;
  /**
   * The outputs the other inputs of an on-chain transaction spend (LDK gives only the amount of
   * the input to sign; a fee-bump's wallet inputs come from the node's wallet). Without it those
   * amounts are unknown, and the signer refuses fee bumps it cannot account for.
   */
  spentOutput?: SpentOutputLookup;
}

/** What the adapter knows of one channel (by keys id). */
interface ChannelEntry {
  id: ChannelId;
  keysId: Uint8Array;
  hex: string;
  basepoints: ChannelBasepoints;
  valueSat: bigint | null;
  userChannelId: bigint | null;
  scripts: ScriptContext | null;
  setupStarted: boolean;
  requests: ChannelRequests;
}

/** Counts of what the adapter did, per LDK method. */
export interface AdapterStats {
  /** Answered from a completed signer reply. */
  answered: Record<string, number>;
  /** Validations answered `Ok` at once, their verdict pending (it gates the next calls). */
  acknowledged: Record<string, number>;
  /** Answered `Err` while the signer works (or a gate holds). */
  deferred: Record<string, number>;
  /** Answered `Err` for good (refused, blocked, failed). */
  refused: Record<string, number>;
}

/** A failure inside the adapter itself (bad LDK data, an unknown channel); never key material. */
export class LdkAdapterError extends Error {
  /**
   * Creates the error.
   * @param message what failed
   */
  constructor(message: string) {
    super(message);
    this.name = "LdkAdapterError";
  }
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function payoutKind(script: Uint8Array): "p2wpkh" | "p2wsh" {
  if (script.length === 22 && script[0] === 0x00 && script[1] === 0x14) return "p2wpkh";
  if (script.length === 34 && script[0] === 0x00 && script[1] === 0x20) return "p2wsh";
  throw new LdkAdapterError("the payout script must be P2WPKH or P2WSH");
}

function shutdownScriptOf(script: Uint8Array): ldk.ShutdownScript {
  return payoutKind(script) === "p2wpkh"
    ? ldk.ShutdownScript.constructor_new_p2wpkh(script.slice(2))
    : ldk.ShutdownScript.constructor_new_p2wsh(script.slice(2));
}

/** The Warden signer provider (see the module documentation). */
export class WardenSignerProvider {
  readonly #api: SignerApi;
  readonly #payout: PayoutScript;
  readonly #seed: Uint8Array;
  readonly #poolSize: number;
  readonly #entries = new Map<string, ChannelEntry>();
  readonly #pool: string[] = [];
  readonly #intents = new Map<bigint, { pushMsat: bigint }>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #counter = 0n;
  #filling = 0;
  #unblockScheduled = false;
  #keep: unknown[] = [];
  /** Tell LDK answers are ready; may be assigned after construction. */
  unblock: (() => void) | undefined;
  /** Every refusal or failure, in order. */
  readonly failures: RequestFailure[] = [];
  /** Counts per LDK method. */
  readonly stats: AdapterStats = { answered: {}, acknowledged: {}, deferred: {}, refused: {} };
  readonly #onFailure?: (f: RequestFailure) => void;
  readonly #lookup?: SpentOutputLookup;

  /**
   * Creates the provider (call {@link ready} before LDK opens a channel).
   * @param options the signer, payout script, keys-id seed, pool size and callbacks
   */
  constructor(options: WardenSignerProviderOptions) {
    this.#api = options.api;
    this.#payout = {
      script: options.payout.script.slice(),
      walletIndex: options.payout.walletIndex,
    };
    payoutKind(this.#payout.script); // validate early (without the wasm)
    this.#seed = options.keysIdSeed ? options.keysIdSeed.slice() : randomBytes(32);
    this.#poolSize = options.poolSize ?? 2;
    this.unblock = options.unblock;
    this.#onFailure = options.onFailure;
    this.#lookup = options.spentOutput;
  }

  // ---- pool and bookkeeping -----------------------------------------------------------------

  #track(p: Promise<unknown>): void {
    this.#inFlight.add(p);
    p.finally(() => this.#inFlight.delete(p)).catch(() => undefined);
  }

  #nextKeysId(): Uint8Array {
    const id = sha256(concat(this.#seed, u64be(this.#counter)));
    this.#counter++;
    return id;
  }

  #newEntry(keysId: Uint8Array, basepoints: ChannelBasepoints): ChannelEntry {
    const hex = toHex(keysId);
    const entry: ChannelEntry = {
      id: ChannelId.fromKeysId(keysId),
      keysId: keysId.slice(),
      hex,
      basepoints,
      valueSat: null,
      userChannelId: null,
      scripts: null,
      setupStarted: false,
      requests: new ChannelRequests({
        channel: hex,
        onAnswer: () => this.#scheduleUnblock(),
        onFailure: (f) => this.#failed(f),
        track: (p) => this.#track(p),
      }),
    };
    this.#entries.set(hex, entry);
    return entry;
  }

  #failed(f: RequestFailure): void {
    this.failures.push(f);
    try {
      this.#onFailure?.(f);
    } catch {
      // An observer must not break the adapter.
    }
  }

  async #createOne(): Promise<void> {
    const keysId = this.#nextKeysId();
    const id = ChannelId.fromKeysId(keysId);
    await this.#api.newChannel(id);
    const basepoints = await this.#api.getChannelBasepoints(id);
    this.#newEntry(keysId, basepoints);
    this.#pool.push(toHex(keysId));
  }

  /** Top the pool up in the background, one channel at a time (keys ids in counter order). */
  #refill(): void {
    if (this.#filling > 0 || this.#pool.length >= this.#poolSize) return;
    this.#filling++;
    const p = this.#createOne().then(
      () => {
        this.#filling--;
        this.#refill();
      },
      (e) => {
        this.#filling--;
        this.#failed({
          channel: "",
          method: "newChannel",
          ldkMethod: "generate_channel_keys_id",
          error: e instanceof Error ? e : new Error(String(e)),
          rules: [],
          temporary: false,
          blocksChannel: false,
        });
      },
    );
    this.#track(p);
  }

  /**
   * Fill the pool of pre-created channels (await before LDK opens or accepts a channel). Rejects
   * with the signer's error when a channel cannot be created.
   */
  async ready(): Promise<void> {
    while (this.#pool.length < this.#poolSize) {
      if (this.#filling > 0) {
        await this.settled();
        continue;
      }
      this.#filling++;
      try {
        await this.#createOne();
      } finally {
        this.#filling--;
      }
    }
  }

  /**
   * Load the basepoints of channels that already exist (a restart: LDK derives their signers from
   * the stored keys ids before anything else).
   */
  async preload(keysIds: readonly Uint8Array[]): Promise<void> {
    for (const keysId of keysIds) {
      if (this.#entries.has(toHex(keysId))) continue;
      const basepoints = await this.#api.getChannelBasepoints(ChannelId.fromKeysId(keysId));
      this.#newEntry(keysId, basepoints);
    }
  }

  /**
   * Declare what the node asked for a channel it opens or accepts with `userChannelId`: the push
   * amount, which LDK does not pass to the signer (it is only in `open_channel` and the
   * ChannelManager's arguments). Undeclared channels are set up with no push.
   */
  expectChannel(userChannelId: bigint, intent: { pushMsat: bigint }): void {
    this.#intents.set(userChannelId, { pushMsat: intent.pushMsat });
  }

  #scheduleUnblock(): void {
    if (this.#unblockScheduled) return;
    this.#unblockScheduled = true;
    // A macrotask: every answer completed by then (the signer's microtask chains, requests that
    // were waiting for a gate) is covered by one unblock.
    setTimeout(() => {
      this.#unblockScheduled = false;
      try {
        this.unblock?.();
      } catch {
        // The node's unblock must not break the adapter.
      }
    }, 0);
  }

  /**
   * Resolves when no signer request is running and no unblock is scheduled (after the unblocks,
   * LDK may have asked new questions: this waits for those too).
   */
  async settled(): Promise<void> {
    // Every request LDK starts is registered synchronously, so an idle adapter is idle for good.
    while (this.#inFlight.size > 0 || this.#unblockScheduled) {
      await Promise.allSettled([...this.#inFlight]);
      // Let the scheduled unblock (a timer) run; LDK may ask new questions in it.
      await new Promise((r) => setTimeout(r, 0));
    }
  }

  /**
   * Feed a block to the signer (call it for every block the node connects, in order, before
   * LDK's reactions to the block are answered: the signer serves requests in arrival order).
   * The first block is the signer's checkpoint at `height`. A refusal
   * (`policy-chain-validated`) is recorded in {@link failures}.
   */
  blockConnected(header: Uint8Array, o: { height: number; transactions: Tx[] }): void {
    this.#nodeRequest(
      "addBlock",
      () => this.#api.addBlock(header.slice(), { height: o.height, transactions: o.transactions }),
    );
  }

  /** Remove the tip block from the signer's chain (a reorganisation). */
  blockDisconnected(header: Uint8Array): void {
    this.#nodeRequest("removeBlock", () => this.#api.removeBlock(header.slice()));
  }

  /**
   * Approve a payment before the node sends it: call with the payee's BOLT #11 invoice string and
   * wait for the answer before LDK's `send_payment` (the payment's outgoing HTLCs are refused by
   * the signer's commitment rules unless it was approved; LDK has no such call of its own, as
   * CLN's `preapprove_invoice`). Resolves `true` once approved; a refusal (the approver said no,
   * an expired or foreign invoice, ...) rejects with the signer's error, also recorded in
   * {@link failures} (`ldkMethod` `send_payment`): the node must then not send.
   */
  preapproveInvoice(invoice: string): Promise<boolean> {
    return this.#payment("preapproveInvoice", () =>
      this.#api.preapproveInvoice({
        invstring: invoice,
      }));
  }

  /** Approve a keysend before sending it; as {@link preapproveInvoice}. */
  preapproveKeysend(
    payment: { destination: Uint8Array; paymentHash: Uint8Array; amountMsat: bigint },
  ): Promise<boolean> {
    return this.#payment("preapproveKeysend", () =>
      this.#api.preapproveKeysend({
        destination: payment.destination.slice(),
        paymentHash: payment.paymentHash.slice(),
        amountMsat: payment.amountMsat,
      }));
  }

  #payment(
    method: "preapproveInvoice" | "preapproveKeysend",
    run: () => Promise<boolean>,
  ): Promise<boolean> {
    let p: Promise<boolean>;
    try {
      p = run();
    } catch (e) {
      p = Promise.reject(e);
    }
    const out = p.catch((e) => {
      const error = e instanceof Error ? e : new Error(String(e));
      this.#failed({
        channel: "",
        method,
        ldkMethod: "send_payment",
        error,
        ...refusalOf(error),
        blocksChannel: false,
      });
      throw error;
    });
    this.#track(out);
    return out;
  }

  #nodeRequest(method: "addBlock" | "removeBlock", run: () => Promise<void>): void {
    let p: Promise<void>;
    try {
      p = run();
    } catch (e) {
      p = Promise.reject(e);
    }
    this.#track(p.catch((e) => {
      this.#failed({
        channel: "",
        method,
        ldkMethod: method === "addBlock" ? "block_connected" : "block_disconnected",
        error: e instanceof Error ? e : new Error(String(e)),
        ...refusalOf(e instanceof Error ? e : new Error(String(e))),
        blocksChannel: false,
      });
    }));
  }

  /** Signer requests running now. */
  get busy(): number {
    return this.#inFlight.size;
  }

  /** The channel keys ids the adapter knows (pooled ones included), hex. */
  channels(): string[] {
    return [...this.#entries.keys()];
  }

  /** Whether a channel's off-chain calls are blocked for good, and why. */
  blocked(keysIdHex: string): RequestFailure | null {
    return this.#entries.get(keysIdHex)?.requests.blocked ?? null;
  }

  // ---- the factory (harness ChannelSignerFactory shape) ---------------------------------------

  /** Hand out a pooled keys id (`generate_channel_keys_id`). Throws when the pool is empty. */
  generateChannelKeysId(request: KeysIdRequest): Uint8Array {
    const hex = this.#pool.shift();
    this.#refill();
    if (hex === undefined) {
      throw new LdkAdapterError("no pre-created channel left: await ready() before opening");
    }
    const entry = this.#entries.get(hex) as ChannelEntry;
    entry.userChannelId = request.userChannelId;
    return entry.keysId.slice();
  }

  /** A channel signer for a known keys id (`derive_channel_signer`). */
  deriveChannelSigner(channelValueSat: bigint, channelKeysId: Uint8Array): DerivedChannelSigner {
    const entry = this.#entries.get(toHex(channelKeysId));
    if (!entry) throw new LdkAdapterError("unknown channel keys id (preload it after a restart)");
    entry.valueSat ??= channelValueSat;
    const b = entry.basepoints;
    const pubkeys = ldk.ChannelPublicKeys.constructor_new(
      b.funding,
      ldk.RevocationBasepoint.constructor_new(b.revocation),
      b.payment,
      ldk.DelayedPaymentBasepoint.constructor_new(b.delayedPayment),
      ldk.HtlcBasepoint.constructor_new(b.htlc),
    );
    return { ecdsa: this.#ecdsa(entry), channel: this.#channel(entry), pubkeys };
  }

  /** The script on-chain claims pay to (`get_destination_script`). */
  destinationScript(_channelKeysId: Uint8Array): Uint8Array {
    return this.#payout.script.slice();
  }

  /** The script cooperative closes pay to (`get_shutdown_scriptpubkey`). */
  shutdownScript(): ldk.ShutdownScript {
    return shutdownScriptOf(this.#payout.script);
  }

  /**
   * This provider as an LDK `SignerProvider` (for a node without the test harness's tap). Every
   * callback fails closed: an all-zero keys id, a signer whose calls all answer `Err`, `Err`.
   */
  signerProvider(): ldk.SignerProvider {
    // deno-lint-ignore no-this-alias
    const self = this;
    const provider = ldk.SignerProvider.new_impl({
      generate_channel_keys_id(inbound: boolean, valueSat: bigint, userChannelId: bigint) {
        try {
          return self.generateChannelKeysId({
            inbound: !!inbound,
            channelValueSat: valueSat,
            userChannelId: fixU128(userChannelId),
          });
        } catch {
          return new Uint8Array(32);
        }
      },
      derive_channel_signer(valueSat: bigint, keysId: Uint8Array) {
        let signer: ldk.EcdsaChannelSigner;
        try {
          const d = self.deriveChannelSigner(valueSat, keysId);
          signer = ldk.EcdsaChannelSigner.new_impl(d.ecdsa, d.channel, d.pubkeys);
        } catch {
          signer = deadSigner(keysId);
        }
        self.#keep.push(signer);
        return signer;
      },
      read_chan_signer(_reader: Uint8Array) {
        return ldk.Result_EcdsaChannelSignerDecodeErrorZ.constructor_err(
          ldk.DecodeError.constructor_invalid_value(),
        );
      },
      get_destination_script(keysId: Uint8Array) {
        try {
          return ldk.Result_CVec_u8ZNoneZ.constructor_ok(self.destinationScript(keysId));
        } catch {
          return ldk.Result_CVec_u8ZNoneZ.constructor_err();
        }
      },
      get_shutdown_scriptpubkey() {
        try {
          return ldk.Result_ShutdownScriptNoneZ.constructor_ok(self.shutdownScript());
        } catch {
          return ldk.Result_ShutdownScriptNoneZ.constructor_err();
        }
      },
    });
    this.#keep.push(provider);
    return provider;
  }

  // ---- the channel signer ---------------------------------------------------------------------

  /**
   * The common path of a signing call: build the request (synchronously, from LDK's objects),
   * then answer from the cache or start it. Never throws; `later` and refusals become `Err`.
   */
  #call<T, R>(
    entry: ChannelEntry,
    ldkMethod: string,
    o: {
      method: keyof SignerApi;
      scope: RequestScope;
      build: () => { key: unknown; run: () => Promise<T> };
      ok: (value: T) => R;
      err: () => R;
      cacheRefusals?: boolean;
      onValue?: (value: T) => void;
    },
  ): R {
    try {
      const built = o.build();
      const answer: Answer<T> = entry.requests.ask(requestKey(o.method, built.key), {
        method: o.method,
        ldkMethod,
        scope: o.scope,
        run: built.run,
        cacheRefusals: o.cacheRefusals,
        onValue: o.onValue,
      });
      if (answer.kind === "ok") {
        const r = o.ok(answer.value);
        bump(this.stats.answered, ldkMethod);
        return r;
      }
      bump(answer.kind === "later" ? this.stats.deferred : this.stats.refused, ldkMethod);
      return o.err();
    } catch (e) {
      // Unreadable LDK data or an unusable answer: fail closed for this call.
      bump(this.stats.refused, ldkMethod);
      this.#failed({
        channel: entry.hex,
        method: o.method,
        ldkMethod,
        error: e instanceof Error ? e : new Error(String(e)),
        rules: [],
        temporary: false,
        blocksChannel: false,
      });
      return o.err();
    }
  }

  #sig(
    entry: ChannelEntry,
    ldkMethod: string,
    o: {
      method: keyof SignerApi;
      scope: RequestScope;
      build: () => { key: unknown; run: () => Promise<{ signature: Uint8Array }> };
    },
  ): ldk.Result_ECDSASignatureNoneZ {
    return this.#call(entry, ldkMethod, {
      ...o,
      ok: (v) => ldk.Result_ECDSASignatureNoneZ.constructor_ok(checked(v.signature, 64)),
      err: () => ldk.Result_ECDSASignatureNoneZ.constructor_err(),
    });
  }

  #ecdsa(entry: ChannelEntry): EcdsaChannelSignerInterface {
    const api = this.#api;
    const id = entry.id;
    const payouts = [this.#payout];
    const lookup = this.#lookup;
    const sigErr = () => ldk.Result_ECDSASignatureNoneZ.constructor_err();
    // A revoked output of the peer's commitment: its to_local, or one of its HTLCs.
    const justice = (
      ldkMethod: string,
      o: {
        tx: Uint8Array;
        input: number;
        amount: bigint;
        key: Uint8Array;
        htlc?: ldk.HTLCOutputInCommitment;
      },
    ) =>
      this.#sig(entry, ldkMethod, {
        method: "signJusticeSweep",
        scope: "onchain",
        build: () => {
          const request = {
            spend: spendOf(o.tx, {
              inputIndex: o.input,
              amountSat: o.amount,
              payouts,
              lookup,
            }),
            inputIndex: o.input,
            revocationSecret: o.key.slice(),
            ...(o.htlc === undefined ? {} : { htlc: htlcRequestOf(o.htlc) }),
          };
          return { key: request, run: () => api.signJusticeSweep(id, request) };
        },
      });
    return {
      sign_counterparty_commitment: (tx, inbound, outbound) => {
        const err = () =>
          ldk.Result_C2Tuple_ECDSASignatureCVec_ECDSASignatureZZNoneZ.constructor_err();
        const scripts = entry.scripts;
        if (scripts === null) {
          // Before the setup (LDK signs commitment 0 right after providing the parameters, while
          // setupChannel runs): answered after it.
          bump(this.stats.deferred, "sign_counterparty_commitment");
          return err();
        }
        return this.#call(entry, "sign_counterparty_commitment", {
          method: "signCounterpartyCommitment",
          scope: "offchain",
          build: () => {
            const request = counterpartyCommitmentRequest(tx, scripts, [...inbound, ...outbound]);
            return { key: request, run: () => api.signCounterpartyCommitment(id, request) };
          },
          ok: (v) =>
            ldk.Result_C2Tuple_ECDSASignatureCVec_ECDSASignatureZZNoneZ.constructor_ok(
              ldk.TwoTuple_ECDSASignatureCVec_ECDSASignatureZZ.constructor_new(
                checked(v.signature, 64),
                v.htlcSignatures.map((s) => checked(s, 64)),
              ),
            ),
          err,
        });
      },
      sign_holder_commitment: (tx) =>
        this.#sig(entry, "sign_holder_commitment", {
          method: "signHolderCommitment",
          scope: "onchain",
          build: () => {
            const n = holderCommitmentNumber(tx);
            return { key: n, run: () => api.signHolderCommitment(id, n) };
          },
        }),
      sign_justice_revoked_output: (tx, input, amount, key) =>
        justice("sign_justice_revoked_output", { tx, input, amount, key }),
      sign_justice_revoked_htlc: (tx, input, amount, key, htlc) =>
        justice("sign_justice_revoked_htlc", { tx, input, amount, key, htlc }),
      sign_holder_htlc_transaction: (tx, input, d) =>
        this.#sig(entry, "sign_holder_htlc_transaction", {
          method: "signHolderHtlcTx",
          scope: "onchain",
          build: () => {
            const request = {
              tx: decodeTx(tx),
              inputIndex: input,
              htlc: htlcRequestOf(d.get_htlc()),
              number: commitmentNumberOf(d.get_per_commitment_number()),
            };
            return { key: request, run: () => api.signHolderHtlcTx(id, request) };
          },
        }),
      sign_counterparty_htlc_transaction: (tx, input, amount, point, htlc) =>
        this.#sig(entry, "sign_counterparty_htlc_transaction", {
          method: "signCounterpartyHtlcSweep",
          scope: "onchain",
          build: () => {
            const request = {
              spend: spendOf(tx, { inputIndex: input, amountSat: amount, payouts, lookup }),
              inputIndex: input,
              perCommitmentPoint: point.slice(),
              htlc: htlcRequestOf(htlc),
            };
            return { key: request, run: () => api.signCounterpartyHtlcSweep(id, request) };
          },
        }),
      sign_closing_transaction: (tx) =>
        this.#sig(entry, "sign_closing_transaction", {
          method: "signMutualClose",
          scope: "offchain",
          build: () => {
            const request = mutualCloseRequest(tx, payouts);
            return { key: request, run: () => api.signMutualClose(id, request) };
          },
        }),
      sign_holder_anchor_input: (tx, input) =>
        this.#sig(entry, "sign_holder_anchor_input", {
          method: "signAnchorSpend",
          scope: "onchain",
          build: () => {
            const spend = spendOf(tx, {
              inputIndex: input,
              amountSat: ANCHOR_OUTPUT_SATOSHIS,
              script: p2wsh(anchorScript(entry.basepoints.funding)),
              payouts,
              lookup,
            });
            const request = { spend, inputIndex: input };
            return { key: request, run: () => api.signAnchorSpend(id, request) };
          },
        }),
      // Not part of the signer API: channels are not announced, splicing does not exist in 0.1.
      sign_channel_announcement_with_funding_key: (_msg) => {
        bump(this.stats.refused, "sign_channel_announcement_with_funding_key");
        return sigErr();
      },
      sign_splicing_funding_input: (_tx, _index, _value) => {
        bump(this.stats.refused, "sign_splicing_funding_input");
        return sigErr();
      },
    };
  }

  #channel(entry: ChannelEntry): ChannelSignerInterface {
    const api = this.#api;
    const id = entry.id;
    const okNone = () => ldk.Result_NoneNoneZ.constructor_ok();
    return {
      get_per_commitment_point: (idx) =>
        this.#call(entry, "get_per_commitment_point", {
          method: "getPerCommitmentPoint",
          scope: "offchain",
          // A refused point may only be premature (asked before the state allows it): ask again.
          cacheRefusals: false,
          build: () => {
            const n = commitmentNumberOf(idx);
            return { key: n, run: () => api.getPerCommitmentPoint(id, n) };
          },
          ok: (point) => ldk.Result_PublicKeyNoneZ.constructor_ok(checked(point, 33)),
          err: () => ldk.Result_PublicKeyNoneZ.constructor_err(),
        }),
      release_commitment_secret: (idx) => {
        let n = -1;
        return this.#call(entry, "release_commitment_secret", {
          method: "revokeHolderCommitment",
          scope: "offchain",
          build: () => {
            n = commitmentNumberOf(idx);
            return { key: n, run: () => api.revokeHolderCommitment(id, n) };
          },
          // The reply carries point n + 2: LDK asks for it next.
          onValue: (r) =>
            entry.requests.remember(requestKey("getPerCommitmentPoint", n + 2), r.nextPoint),
          ok: (r) => ldk.Result__u832NoneZ.constructor_ok(checked(r.secret, 32)),
          err: () => ldk.Result__u832NoneZ.constructor_err(),
        });
      },
      validate_holder_commitment: (tx, outboundPreimages) => {
        try {
          if (entry.requests.blocked !== null || entry.requests.dead) return okNone();
          const request = holderCommitmentRequest(
            tx,
            this.#scriptsOrThrow(entry),
            outboundPreimages,
          );
          entry.requests.gate(async () => {
            const v = await api.validateHolderCommitment(id, request);
            entry.requests.remember(
              requestKey("getPerCommitmentPoint", request.number + 1),
              v.nextPoint,
            );
          }, { method: "validateHolderCommitment", ldkMethod: "validate_holder_commitment" });
          bump(this.stats.acknowledged, "validate_holder_commitment");
        } catch (e) {
          this.#blockNow(entry, "validateHolderCommitment", "validate_holder_commitment", e);
        }
        // Err would force-close the channel: the verdict gates the next calls instead.
        return okNone();
      },
      validate_counterparty_revocation: (idx, secret) => {
        try {
          if (entry.requests.blocked !== null || entry.requests.dead) return okNone();
          const n = commitmentNumberOf(idx);
          const copy = secret.slice();
          entry.requests.gate(
            () => api.validateCounterpartyRevocation(id, n, copy),
            {
              method: "validateCounterpartyRevocation",
              ldkMethod: "validate_counterparty_revocation",
            },
          );
          bump(this.stats.acknowledged, "validate_counterparty_revocation");
        } catch (e) {
          this.#blockNow(
            entry,
            "validateCounterpartyRevocation",
            "validate_counterparty_revocation",
            e,
          );
        }
        return okNone();
      },
      channel_keys_id: () => entry.keysId.slice(),
      provide_channel_parameters: (p) => {
        try {
          this.#setup(entry, p);
        } catch (e) {
          // Parameters we cannot use: nothing of this channel will ever be signed.
          entry.requests.dead = true;
          this.#blockNow(entry, "setupChannel", "provide_channel_parameters", e);
        }
      },
    };
  }

  #scriptsOrThrow(entry: ChannelEntry): ScriptContext {
    if (entry.scripts === null) throw new LdkAdapterError("a commitment before the channel setup");
    return entry.scripts;
  }

  #blockNow(entry: ChannelEntry, method: string, ldkMethod: string, e: unknown): void {
    const failure: RequestFailure = {
      channel: entry.hex,
      method,
      ldkMethod,
      error: e instanceof Error ? e : new Error(String(e)),
      rules: [],
      temporary: false,
      blocksChannel: true,
    };
    if (entry.requests.blocked === null) entry.requests.blocked = failure;
    this.#failed(failure);
  }

  /** `provide_channel_parameters`: once per channel (LDK repeats it for every signer instance). */
  #setup(entry: ChannelEntry, p: ldk.ChannelTransactionParameters): void {
    if (entry.setupStarted) return;
    if (entry.valueSat === null) throw new LdkAdapterError("channel value unknown");
    const intent = entry.userChannelId === null
      ? undefined
      : this.#intents.get(entry.userChannelId);
    const { setup, scripts } = channelSetupOf(p, {
      channelValueSat: entry.valueSat,
      pushMsat: intent?.pushMsat ?? 0n,
    });
    const b = entry.basepoints;
    const h = scripts.holder;
    if (
      !equal(h.funding, b.funding) || !equal(h.revocation, b.revocation) ||
      !equal(h.payment, b.payment) || !equal(h.delayedPayment, b.delayedPayment) ||
      !equal(h.htlc, b.htlc)
    ) {
      throw new LdkDataError("LDK's holder keys are not the signer's basepoints");
    }
    entry.setupStarted = true;
    entry.scripts = scripts;
    entry.requests.gate(() => this.#api.setupChannel(entry.id, setup), {
      method: "setupChannel",
      ldkMethod: "provide_channel_parameters",
      dead: true,
    });
  }
}

function checked(bytes: Uint8Array, length: number): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    // The bindings throw (fatally) on a wrong length: refuse here instead.
    throw new LdkAdapterError(`the signer answered ${bytes?.length ?? 0} bytes, not ${length}`);
  }
  return bytes;
}

/** A signer whose every call answers `Err` (derivation failed: fail closed). */
function deadSigner(keysId: Uint8Array): ldk.EcdsaChannelSigner {
  const id = keysId.length === 32 ? keysId.slice() : new Uint8Array(32);
  const sigErr = () => ldk.Result_ECDSASignatureNoneZ.constructor_err();
  const ecdsa: EcdsaChannelSignerInterface = {
    sign_counterparty_commitment: () =>
      ldk.Result_C2Tuple_ECDSASignatureCVec_ECDSASignatureZZNoneZ.constructor_err(),
    sign_holder_commitment: sigErr,
    sign_justice_revoked_output: sigErr,
    sign_justice_revoked_htlc: sigErr,
    sign_holder_htlc_transaction: sigErr,
    sign_counterparty_htlc_transaction: sigErr,
    sign_closing_transaction: sigErr,
    sign_holder_anchor_input: sigErr,
    sign_channel_announcement_with_funding_key: sigErr,
    sign_splicing_funding_input: sigErr,
  };
  const channel: ChannelSignerInterface = {
    get_per_commitment_point: () => ldk.Result_PublicKeyNoneZ.constructor_err(),
    release_commitment_secret: () => ldk.Result__u832NoneZ.constructor_err(),
    // Err force-closes a channel that could never be signed anyway.
    validate_holder_commitment: () => ldk.Result_NoneNoneZ.constructor_err(),
    validate_counterparty_revocation: () => ldk.Result_NoneNoneZ.constructor_err(),
    channel_keys_id: () => id.slice(),
    provide_channel_parameters: () => {},
  };
  const gen = new Uint8Array([
    0x02,
    0x79,
    0xbe,
    0x66,
    0x7e,
    0xf9,
    0xdc,
    0xbb,
    0xac,
    0x55,
    0xa0,
    0x62,
    0x95,
    0xce,
    0x87,
    0x0b,
    0x07,
    0x02,
    0x9b,
    0xfc,
    0xdb,
    0x2d,
    0xce,
    0x28,
    0xd9,
    0x59,
    0xf2,
    0x81,
    0x5b,
    0x16,
    0xf8,
    0x17,
    0x98,
  ]);
  const pubkeys = ldk.ChannelPublicKeys.constructor_new(
    gen,
    ldk.RevocationBasepoint.constructor_new(gen),
    gen,
    ldk.DelayedPaymentBasepoint.constructor_new(gen),
    ldk.HtlcBasepoint.constructor_new(gen),
  );
  return ldk.EcdsaChannelSigner.new_impl(ecdsa, channel, pubkeys);
}
