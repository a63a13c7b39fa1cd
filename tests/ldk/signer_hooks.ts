/**
 * Signer hooks: a JS `SignerProvider` for an LDK node whose channel signers are supplied by a
 * pluggable {@link ChannelSignerFactory} (by default LDK's own `KeysManager`/`InMemorySigner`),
 * and a {@link SignerTap} that sits in front of every signer method to
 * - convert the arguments to plain data (see plain.ts),
 * - ask an observe/refuse hook ("allow" | "refuse" | "pending"),
 * - support LDK's async-signing protocol ("pending" answers Err now; {@link SignerTap.resolve}
 *   approves later; the harness then calls `signer_unblocked` and LDK asks again),
 * - log every call as one JSON line of the traffic format (seq, signer, method, decision, args,
 *   result, meta).
 *
 * Rules from the bindings (docs/reference ldk-bindings.md gotchas): callbacks are synchronous;
 * any exception escaping a callback breaks the wasm instance, so every callback body is wrapped
 * in try/catch and fails closed with `Err`; booleans arrive as 0/1; u128 arrives byte-reversed;
 * each delegated call uses a fresh `as_EcdsaChannelSigner()` / `as_ChannelSigner()` view (method
 * calls on a long-lived binding object keep their arguments alive forever).
 *
 * @module
 */
import * as ldk from "lightningdevkit";
import type { EcdsaChannelSignerInterface } from "lightningdevkit/structs/EcdsaChannelSigner.mjs";
import type { ChannelSignerInterface } from "lightningdevkit/structs/ChannelSigner.mjs";
import { fromHex, toHex } from "../../core/bytes.ts";
import {
  fixU128,
  hashOfPreimage,
  hex,
  type Plain,
  plainChannelParameters,
  plainClosing,
  plainCommitment,
  plainHolderCommitment,
  type PlainHolderCommitmentTx,
  plainHtlc,
  plainHtlcDescriptor,
  pointOfSecret,
} from "./plain.ts";

export type { ChannelSignerInterface, EcdsaChannelSignerInterface };

/** One channel signer instance produced by a {@link ChannelSignerFactory}. */
export interface DerivedChannelSigner {
  /** The ECDSA half (commitment, HTLC, justice, closing, anchor, announcement signatures). */
  ecdsa: EcdsaChannelSignerInterface;
  /** The channel half (points, secrets, validation, parameters). */
  channel: ChannelSignerInterface;
  /** The holder's channel public keys (fixed for the signer's lifetime). */
  pubkeys: ldk.ChannelPublicKeys;
}

/** Request of {@link ChannelSignerFactory.generateChannelKeysId}. */
export interface KeysIdRequest {
  /** The channel is inbound (opened by the peer). */
  inbound: boolean;
  /** Channel value in satoshi. */
  channelValueSat: bigint;
  /** The user channel id (already byte-order corrected). */
  userChannelId: bigint;
}

/**
 * The pluggable key material and signing backend of a node: replace it to put another signer
 * (e.g. Warden) behind LDK. Methods may throw; the tap turns a throw into `Err`.
 */
export interface ChannelSignerFactory {
  /** A fresh, unique 32-byte channel keys id. */
  generateChannelKeysId(request: KeysIdRequest): Uint8Array;
  /** A signer for a channel (called twice per channel: channel and monitor). */
  deriveChannelSigner(channelValueSat: bigint, channelKeysId: Uint8Array): DerivedChannelSigner;
  /** Script where on-chain claims of the channel pay to. */
  destinationScript(channelKeysId: Uint8Array): Uint8Array;
  /** Script for cooperative-close outputs. */
  shutdownScript(): ldk.ShutdownScript;
}

/** Every method that goes through a {@link SignerTap}. */
export type SignerMethod =
  | "generate_channel_keys_id"
  | "derive_channel_signer"
  | "get_destination_script"
  | "get_shutdown_scriptpubkey"
  | "get_per_commitment_point"
  | "release_commitment_secret"
  | "validate_holder_commitment"
  | "validate_counterparty_revocation"
  | "channel_keys_id"
  | "provide_channel_parameters"
  | "sign_counterparty_commitment"
  | "sign_holder_commitment"
  | "sign_justice_revoked_output"
  | "sign_justice_revoked_htlc"
  | "sign_holder_htlc_transaction"
  | "sign_counterparty_htlc_transaction"
  | "sign_closing_transaction"
  | "sign_holder_anchor_input"
  | "sign_channel_announcement_with_funding_key"
  | "sign_splicing_funding_input";

/** Methods whose answer cannot be refused (LDK requires an answer: void or infallible). */
export const UNREFUSABLE_METHODS: ReadonlySet<SignerMethod> = new Set<SignerMethod>([
  "channel_keys_id",
  "provide_channel_parameters",
  "derive_channel_signer",
  "generate_channel_keys_id",
]);

/** A signer call as the hook sees it (plain data only; secrets appear as points or hashes). */
export interface SignerCall {
  /** Sequence number of the call on this tap (1, 2, ...). */
  seq: number;
  /** Node name. */
  node: string;
  /** Signer instance of the channel: 1 = ChannelManager's, 2 = ChannelMonitor's; 0 = provider. */
  signer: number;
  /** Method name. */
  method: SignerMethod;
  /** Channel keys id, hex (null for provider calls before a channel exists). */
  channelKeysId: string | null;
  /** Channel value in satoshi (null when unknown). */
  channelValueSat: bigint | null;
  /** The arguments as plain data. */
  args: { [key: string]: Plain };
  /** Identity of the request: method + arguments (same key = LDK asking the same thing again). */
  key: string;
}

/** What a hook answers. `undefined` means "allow". */
export type SignerDecision = "allow" | "refuse" | "pending";

/** The observe/refuse hook: called before each signer method. Must be synchronous. */
export type SignerHook = (call: SignerCall) => SignerDecision | void;

/** One JSON line of signer traffic. */
export interface TrafficLine {
  /** Sequence number on this tap. */
  seq: number;
  /** Signer instance (see {@link SignerCall.signer}). */
  signer: number;
  /** Method name. */
  method: SignerMethod;
  /** "allow" (delegated), "refuse" / "pending" (answered Err), "error" (exception, Err). */
  decision: SignerDecision | "error";
  /** Plain arguments. */
  args: { [key: string]: Plain };
  /** Plain result (`{status:"ok", ...}` or `{status:"err"}`), null when not delegated. */
  result: Plain;
  /** Node, channel keys id and value. */
  meta: { node: string; channel_keys_id: string | null; channel_value_satoshis: bigint | null };
  /** Exception message when decision is "error" (never key material: arguments are public). */
  error?: string;
}

/** A request answered "pending", waiting for {@link SignerTap.resolve}. */
export interface PendingSignerCall {
  /** The first call that asked. */
  call: SignerCall;
  /** How many times LDK has asked so far (deduplicated: the hook saw it once). */
  asks: number;
}

/** Number of calls per method (optionally only one signer instance) in traffic lines. */
export function methodCounts(
  lines: readonly TrafficLine[],
  options: { signer?: number; decision?: TrafficLine["decision"] } = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) {
    if (options.signer !== undefined && l.signer !== options.signer) continue;
    if (options.decision !== undefined && l.decision !== options.decision) continue;
    out[l.method] = (out[l.method] ?? 0) + 1;
  }
  return out;
}

/** Serialise a traffic line as one JSON line (bigint as decimal strings). */
export function trafficJson(line: TrafficLine): string {
  return JSON.stringify(line, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

function canonical(v: Plain): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
}

// ---- result conversion ------------------------------------------------------------------------

type AnyResult = { is_ok(): boolean };

function sigResult(r: ldk.Result_ECDSASignatureNoneZ): Plain {
  return r instanceof ldk.Result_ECDSASignatureNoneZ_OK
    ? { status: "ok", sig: hex(r.res) }
    : { status: "err" };
}

function okResult(r: AnyResult): Plain {
  return r.is_ok() ? { status: "ok" } : { status: "err" };
}

// ---- the default factory ----------------------------------------------------------------------

/**
 * The default {@link ChannelSignerFactory}: LDK's `KeysManager` and its `InMemorySigner`s, each
 * call delegated through a fresh trait view. `user_channel_id` is not passed on (the bindings'
 * u128 encoder rejects large values; KeysManager keeps ids unique with its own counter).
 */
export function keysManagerSignerFactory(km: ldk.KeysManager): ChannelSignerFactory {
  return {
    generateChannelKeysId(request: KeysIdRequest): Uint8Array {
      return km.as_SignerProvider().generate_channel_keys_id(
        request.inbound,
        request.channelValueSat,
        0n,
      );
    },
    deriveChannelSigner(channelValueSat: bigint, channelKeysId: Uint8Array): DerivedChannelSigner {
      const ims = km.derive_channel_keys(channelValueSat, channelKeysId);
      return {
        ecdsa: inMemoryEcdsa(ims),
        channel: inMemoryChannel(ims),
        pubkeys: ims.as_ChannelSigner().get_pubkeys(),
      };
    },
    destinationScript(channelKeysId: Uint8Array): Uint8Array {
      const r = km.as_SignerProvider().get_destination_script(channelKeysId);
      if (!(r instanceof ldk.Result_CVec_u8ZNoneZ_OK)) throw new Error("no destination script");
      return r.res;
    },
    shutdownScript(): ldk.ShutdownScript {
      const r = km.as_SignerProvider().get_shutdown_scriptpubkey();
      if (!(r instanceof ldk.Result_ShutdownScriptNoneZ_OK)) throw new Error("no shutdown script");
      return r.res;
    },
  };
}

/** An EcdsaChannelSignerInterface delegating to an InMemorySigner (fresh view per call). */
export function inMemoryEcdsa(ims: ldk.InMemorySigner): EcdsaChannelSignerInterface {
  const v = () => ims.as_EcdsaChannelSigner();
  return {
    sign_counterparty_commitment: (tx, inbound, outbound) =>
      v().sign_counterparty_commitment(tx, inbound, outbound),
    sign_holder_commitment: (tx) => v().sign_holder_commitment(tx),
    sign_justice_revoked_output: (tx, input, amount, key) =>
      v().sign_justice_revoked_output(tx, input, amount, key),
    sign_justice_revoked_htlc: (tx, input, amount, key, htlc) =>
      v().sign_justice_revoked_htlc(tx, input, amount, key, htlc),
    sign_holder_htlc_transaction: (tx, input, d) => v().sign_holder_htlc_transaction(tx, input, d),
    sign_counterparty_htlc_transaction: (tx, input, amount, point, htlc) =>
      v().sign_counterparty_htlc_transaction(tx, input, amount, point, htlc),
    sign_closing_transaction: (tx) => v().sign_closing_transaction(tx),
    sign_holder_anchor_input: (tx, input) => v().sign_holder_anchor_input(tx, input),
    sign_channel_announcement_with_funding_key: (msg) =>
      v().sign_channel_announcement_with_funding_key(msg),
    sign_splicing_funding_input: (tx, input, value) =>
      v().sign_splicing_funding_input(tx, input, value),
  };
}

/** A ChannelSignerInterface delegating to an InMemorySigner (fresh view per call). */
export function inMemoryChannel(ims: ldk.InMemorySigner): ChannelSignerInterface {
  const v = () => ims.as_ChannelSigner();
  return {
    get_per_commitment_point: (idx) => v().get_per_commitment_point(idx),
    release_commitment_secret: (idx) => v().release_commitment_secret(idx),
    validate_holder_commitment: (tx, pre) => v().validate_holder_commitment(tx, pre),
    validate_counterparty_revocation: (idx, secret) =>
      v().validate_counterparty_revocation(idx, secret),
    channel_keys_id: () => v().channel_keys_id(),
    provide_channel_parameters: (p) => v().provide_channel_parameters(p),
  };
}

// ---- the tap ----------------------------------------------------------------------------------

interface SignerCtx {
  index: number;
  keysId: Uint8Array;
  keysIdHex: string;
  valueSat: bigint;
}

/** Options of {@link SignerTap}. */
export interface SignerTapOptions {
  /** Node name (in calls and traffic lines). */
  node: string;
  /** The backend; replaceable before the first channel (see {@link SignerTap.factory}). */
  factory: ChannelSignerFactory;
  /** Initial hook (see {@link SignerTap.hook}). */
  hook?: SignerHook;
  /** Keep traffic lines in memory (default true). */
  record?: boolean;
  /** Called with every traffic line (e.g. to write a recording). */
  onTraffic?: (line: TrafficLine) => void;
}

/**
 * Wraps a {@link ChannelSignerFactory} into an LDK `SignerProvider`, with hooks and traffic log.
 * Keep the tap alive as long as the node (the provider and its signers are reachable from it).
 */
export class SignerTap {
  /** The node name. */
  readonly node: string;
  /** The backend. Assign before the node opens its first channel to replace it entirely. */
  factory: ChannelSignerFactory;
  /** The observe/refuse hook (undefined = allow everything). */
  hook: SignerHook | undefined;
  /** Keep traffic lines in {@link traffic}. */
  record: boolean;
  /** Traffic callback. */
  onTraffic: ((line: TrafficLine) => void) | undefined;
  /** Every call so far (when {@link record} is on). */
  readonly traffic: TrafficLine[] = [];
  /** Scripts (hex) the backend handed out for claims and cooperative closes. */
  readonly payoutScripts: Set<string> = new Set();
  /**
   * Every holder commitment this node was asked to validate (always captured, even with
   * {@link record} off): the commitments the node could broadcast, revoked ones included.
   */
  readonly holderCommitments: PlainHolderCommitmentTx[] = [];
  /** The LDK SignerProvider to hand to `ChannelManager.constructor_new`. */
  readonly provider: ldk.SignerProvider;
  #seq = 0;
  #derived = new Map<string, number>();
  #pending = new Map<string, PendingSignerCall>();
  #approved = new Map<string, number>();
  #refused = new Map<string, number>();
  #keep: unknown[] = [];

  /**
   * Creates the tap and its SignerProvider.
   * @param options node name, factory, hook and traffic options
   */
  constructor(options: SignerTapOptions) {
    this.node = options.node;
    this.factory = options.factory;
    this.hook = options.hook;
    this.record = options.record ?? true;
    this.onTraffic = options.onTraffic;
    this.provider = this.#makeProvider();
  }

  /** Requests answered "pending" and not yet resolved. */
  pending(): PendingSignerCall[] {
    return [...this.#pending.values()];
  }

  /**
   * Resolve a pending request: the next time LDK asks the same thing it is delegated ("allow")
   * or refused once more ("refuse"). Then call the harness's `unblockSigners()`.
   * Returns false when no such request is pending.
   */
  resolve(key: string, verdict: "allow" | "refuse"): boolean {
    if (!this.#pending.delete(key)) return false;
    const map = verdict === "allow" ? this.#approved : this.#refused;
    map.set(key, (map.get(key) ?? 0) + 1);
    return true;
  }

  /** Resolve every pending request with the same verdict; returns how many. */
  resolveAll(verdict: "allow" | "refuse"): number {
    let n = 0;
    for (const k of [...this.#pending.keys()]) if (this.resolve(k, verdict)) n++;
    return n;
  }

  /** Traffic lines as JSON lines. */
  trafficJsonLines(): string[] {
    return this.traffic.map(trafficJson);
  }

  #decide(call: SignerCall): SignerDecision {
    if (UNREFUSABLE_METHODS.has(call.method)) {
      // Observed only: LDK needs an answer, so the hook's verdict (or exception) is ignored.
      try {
        this.hook?.(call);
      } catch {
        // ignored on purpose
      }
      return "allow";
    }
    const pending = this.#pending.get(call.key);
    if (pending) {
      pending.asks++;
      return "pending";
    }
    for (const [map, verdict] of [[this.#approved, "allow"], [this.#refused, "refuse"]] as const) {
      const n = map.get(call.key);
      if (n !== undefined) {
        if (n <= 1) map.delete(call.key);
        else map.set(call.key, n - 1);
        return verdict;
      }
    }
    const answer = this.hook ? this.hook(call) ?? "allow" : "allow";
    if (answer === "pending") this.#pending.set(call.key, { call, asks: 1 });
    // Anything that is not a known verdict fails closed.
    return answer === "allow" || answer === "pending" ? answer : "refuse";
  }

  #emit(line: TrafficLine): void {
    if (this.record) this.traffic.push(line);
    if (this.onTraffic) {
      try {
        this.onTraffic(line);
      } catch {
        // A broken observer must not break the node.
      }
    }
  }

  /**
   * The common path of every method: plain args, hook, delegate, log. Never throws.
   * `refusable` false: the hook is informed but its answer is ignored (LDK needs an answer).
   */
  #run<R>(
    ctx: SignerCtx | null,
    method: SignerMethod,
    spec: {
      args: () => { [key: string]: Plain };
      call: () => R;
      err: () => R;
      result: (r: R) => Plain;
    },
  ): R {
    const seq = ++this.#seq;
    const signer = ctx ? ctx.index : 0;
    const meta = {
      node: this.node,
      channel_keys_id: ctx ? ctx.keysIdHex : null,
      channel_value_satoshis: ctx ? ctx.valueSat : null,
    };
    const refusable = !UNREFUSABLE_METHODS.has(method);
    const errorLine = (args: { [key: string]: Plain }, e: unknown): TrafficLine => ({
      seq,
      signer,
      method,
      decision: "error",
      args,
      result: null,
      meta,
      error: e instanceof Error ? `${e.name}: ${e.message}` : "non-Error exception",
    });
    let args: { [key: string]: Plain } = {};
    try {
      args = spec.args();
    } catch (e) {
      // Arguments that cannot be read: refuse, unless LDK cannot take a refusal.
      if (refusable) {
        this.#emit(errorLine(args, e));
        return spec.err();
      }
      args = { unreadable_arguments: e instanceof Error ? e.message : "exception" };
    }
    let decision: SignerDecision;
    try {
      decision = this.#decide({
        seq,
        node: this.node,
        signer,
        method,
        channelKeysId: meta.channel_keys_id,
        channelValueSat: meta.channel_value_satoshis,
        args,
        key: `${meta.channel_keys_id ?? "-"}/${signer}/${method}/${canonical(args)}`,
      });
    } catch (e) {
      this.#emit(errorLine(args, e));
      return spec.err();
    }
    if (decision !== "allow") {
      this.#emit({ seq, signer, method, decision, args, result: null, meta });
      return spec.err();
    }
    let r: R;
    try {
      r = spec.call();
    } catch (e) {
      this.#emit(errorLine(args, e));
      return spec.err();
    }
    let result: Plain;
    try {
      result = spec.result(r);
    } catch (e) {
      result = { status: "unreadable", error: e instanceof Error ? e.message : "exception" };
    }
    this.#emit({ seq, signer, method, decision, args, result, meta });
    return r;
  }

  #makeProvider(): ldk.SignerProvider {
    // deno-lint-ignore no-this-alias
    const tap = this;
    return ldk.SignerProvider.new_impl({
      generate_channel_keys_id(inbound: boolean, valueSat: bigint, userChannelId: bigint) {
        const fallback = new Uint8Array(32);
        return tap.#run(null, "generate_channel_keys_id", {
          args: () => ({
            inbound: !!inbound,
            channel_value_satoshis: valueSat,
            user_channel_id: fixU128(userChannelId),
          }),
          call: () => {
            const id = tap.factory.generateChannelKeysId({
              inbound: !!inbound,
              channelValueSat: valueSat,
              userChannelId: fixU128(userChannelId),
            });
            if (id.length !== 32) throw new Error(`channel keys id of ${id.length} bytes`);
            return id;
          },
          // LDK needs 32 bytes; an all-zero id is the least harmful answer after a failure.
          err: () => fallback,
          result: (id): Plain => ({ status: "ok", channel_keys_id: toHex(id) }),
        });
      },
      derive_channel_signer(valueSat: bigint, keysId: Uint8Array) {
        return tap.#derive(valueSat, keysId);
      },
      read_chan_signer(_reader: Uint8Array) {
        return ldk.Result_EcdsaChannelSignerDecodeErrorZ.constructor_err(
          ldk.DecodeError.constructor_invalid_value(),
        );
      },
      get_destination_script(keysId: Uint8Array) {
        return tap.#run(null, "get_destination_script", {
          args: () => ({ channel_keys_id: toHex(keysId) }),
          call: () => {
            const script = tap.factory.destinationScript(keysId);
            tap.payoutScripts.add(toHex(script));
            return ldk.Result_CVec_u8ZNoneZ.constructor_ok(script);
          },
          err: () => ldk.Result_CVec_u8ZNoneZ.constructor_err(),
          result: (r): Plain =>
            r instanceof ldk.Result_CVec_u8ZNoneZ_OK
              ? { status: "ok", script: toHex(r.res) }
              : { status: "err" },
        });
      },
      get_shutdown_scriptpubkey() {
        return tap.#run(null, "get_shutdown_scriptpubkey", {
          args: () => ({}),
          call: () => {
            const script = tap.factory.shutdownScript();
            tap.payoutScripts.add(toHex(script.into_inner()));
            return ldk.Result_ShutdownScriptNoneZ.constructor_ok(script);
          },
          err: () => ldk.Result_ShutdownScriptNoneZ.constructor_err(),
          result: (r): Plain =>
            r instanceof ldk.Result_ShutdownScriptNoneZ_OK
              ? { status: "ok", script: toHex(r.res.into_inner()) }
              : { status: "err" },
        });
      },
    });
  }

  #derive(valueSat: bigint, keysId: Uint8Array): ldk.EcdsaChannelSigner {
    const keysIdHex = toHex(keysId);
    const index = (this.#derived.get(keysIdHex) ?? 0) + 1;
    this.#derived.set(keysIdHex, index);
    const ctx: SignerCtx = { index, keysId: keysId.slice(), keysIdHex, valueSat };
    const slot: { inner: DerivedChannelSigner | null } = { inner: null };
    this.#run(ctx, "derive_channel_signer", {
      args: () => ({ channel_value_satoshis: valueSat, channel_keys_id: keysIdHex }),
      call: () => {
        slot.inner = this.factory.deriveChannelSigner(valueSat, keysId);
        return true;
      },
      err: () => false,
      result: () => ({ status: "ok" }),
    });
    let signer: ldk.EcdsaChannelSigner;
    try {
      signer = this.#wrap(ctx, slot.inner);
    } catch {
      // e.g. unusable public keys from a replaced factory: fail closed with a dead signer.
      signer = this.#wrap(ctx, null);
    }
    this.#keep.push(signer);
    return signer;
  }

  /**
   * The EcdsaChannelSigner handed to LDK. If the factory failed, every method answers Err (and
   * the channel cannot progress), which is the fail-closed behaviour.
   */
  #wrap(ctx: SignerCtx, inner: DerivedChannelSigner | null): ldk.EcdsaChannelSigner {
    // deno-lint-ignore no-this-alias
    const tap = this;
    const missing = (): never => {
      throw new Error("channel signer could not be derived");
    };
    const e = (): EcdsaChannelSignerInterface => inner?.ecdsa ?? missing();
    const c = (): ChannelSignerInterface => inner?.channel ?? missing();
    const sigErr = () => ldk.Result_ECDSASignatureNoneZ.constructor_err();
    const sig = (
      method: SignerMethod,
      args: () => { [key: string]: Plain },
      call: () => ldk.Result_ECDSASignatureNoneZ,
    ) => tap.#run(ctx, method, { args, call, err: sigErr, result: sigResult });

    const ecdsa: EcdsaChannelSignerInterface = {
      sign_counterparty_commitment(tx, inbound, outbound) {
        return tap.#run(ctx, "sign_counterparty_commitment", {
          args: () => ({
            commitment_tx: plainCommitment(tx),
            inbound_htlc_preimage_hashes: inbound.map(hashOfPreimage),
            outbound_htlc_preimage_hashes: outbound.map(hashOfPreimage),
          }),
          call: () => e().sign_counterparty_commitment(tx, inbound, outbound),
          err: () => ldk.Result_C2Tuple_ECDSASignatureCVec_ECDSASignatureZZNoneZ.constructor_err(),
          result: (r): Plain =>
            r instanceof ldk.Result_C2Tuple_ECDSASignatureCVec_ECDSASignatureZZNoneZ_OK
              ? { status: "ok", sig: hex(r.res.get_a()), htlc_sigs: r.res.get_b().map(hex) }
              : { status: "err" },
        });
      },
      sign_holder_commitment(tx) {
        return sig(
          "sign_holder_commitment",
          () => ({ holder_tx: plainHolderCommitment(tx) }),
          () => e().sign_holder_commitment(tx),
        );
      },
      sign_justice_revoked_output(tx, input, amount, key) {
        return sig(
          "sign_justice_revoked_output",
          () => ({ justice_tx: hex(tx), input, amount, per_commitment_point: pointOfSecret(key) }),
          () => e().sign_justice_revoked_output(tx, input, amount, key),
        );
      },
      sign_justice_revoked_htlc(tx, input, amount, key, htlc) {
        return sig(
          "sign_justice_revoked_htlc",
          () => ({
            justice_tx: hex(tx),
            input,
            amount,
            per_commitment_point: pointOfSecret(key),
            htlc: plainHtlc(htlc),
          }),
          () => e().sign_justice_revoked_htlc(tx, input, amount, key, htlc),
        );
      },
      sign_holder_htlc_transaction(tx, input, d) {
        return sig(
          "sign_holder_htlc_transaction",
          () => ({ htlc_tx: hex(tx), input, htlc_descriptor: plainHtlcDescriptor(d) }),
          () => e().sign_holder_htlc_transaction(tx, input, d),
        );
      },
      sign_counterparty_htlc_transaction(tx, input, amount, point, htlc) {
        return sig(
          "sign_counterparty_htlc_transaction",
          () => ({
            htlc_tx: hex(tx),
            input,
            amount,
            per_commitment_point: hex(point),
            htlc: plainHtlc(htlc),
          }),
          () => e().sign_counterparty_htlc_transaction(tx, input, amount, point, htlc),
        );
      },
      sign_closing_transaction(tx) {
        return sig(
          "sign_closing_transaction",
          () => ({ closing_tx: plainClosing(tx) }),
          () => e().sign_closing_transaction(tx),
        );
      },
      sign_holder_anchor_input(tx, input) {
        return sig(
          "sign_holder_anchor_input",
          () => ({ anchor_tx: hex(tx), input }),
          () => e().sign_holder_anchor_input(tx, input),
        );
      },
      sign_channel_announcement_with_funding_key(msg) {
        return sig(
          "sign_channel_announcement_with_funding_key",
          () => ({ msg: hex(msg.write()), short_channel_id: msg.get_short_channel_id() }),
          () => e().sign_channel_announcement_with_funding_key(msg),
        );
      },
      sign_splicing_funding_input(tx, inputIndex, inputValue) {
        return sig(
          "sign_splicing_funding_input",
          () => ({ tx: hex(tx), input_index: inputIndex, input_value: inputValue }),
          () => e().sign_splicing_funding_input(tx, inputIndex, inputValue),
        );
      },
    };

    const channel: ChannelSignerInterface = {
      get_per_commitment_point(idx) {
        return tap.#run(ctx, "get_per_commitment_point", {
          args: () => ({ idx }),
          call: () => c().get_per_commitment_point(idx),
          err: () => ldk.Result_PublicKeyNoneZ.constructor_err(),
          result: (r): Plain =>
            r instanceof ldk.Result_PublicKeyNoneZ_OK
              ? { status: "ok", point: hex(r.res) }
              : { status: "err" },
        });
      },
      release_commitment_secret(idx) {
        return tap.#run(ctx, "release_commitment_secret", {
          args: () => ({ idx }),
          call: () => c().release_commitment_secret(idx),
          err: () => ldk.Result__u832NoneZ.constructor_err(),
          // The secret itself is never logged: its point identifies it.
          result: (r): Plain =>
            r instanceof ldk.Result__u832NoneZ_OK
              ? { status: "ok", secret_point: pointOfSecret(r.res) }
              : { status: "err" },
        });
      },
      validate_holder_commitment(tx, outbound) {
        return tap.#run(ctx, "validate_holder_commitment", {
          args: () => {
            const holder = plainHolderCommitment(tx);
            tap.holderCommitments.push(holder);
            return {
              holder_tx: holder,
              outbound_htlc_preimage_hashes: outbound.map(hashOfPreimage),
            };
          },
          call: () => c().validate_holder_commitment(tx, outbound),
          err: () => ldk.Result_NoneNoneZ.constructor_err(),
          result: okResult,
        });
      },
      validate_counterparty_revocation(idx, secret) {
        return tap.#run(ctx, "validate_counterparty_revocation", {
          args: () => ({ idx, secret_point: pointOfSecret(secret) }),
          call: () => c().validate_counterparty_revocation(idx, secret),
          err: () => ldk.Result_NoneNoneZ.constructor_err(),
          result: okResult,
        });
      },
      channel_keys_id() {
        return tap.#run(ctx, "channel_keys_id", {
          args: () => ({}),
          call: () => {
            const id = inner ? inner.channel.channel_keys_id() : ctx.keysId;
            return id.length === 32 ? id : ctx.keysId;
          },
          err: () => ctx.keysId.slice(),
          result: (id): Plain => ({ status: "ok", channel_keys_id: toHex(id) }),
        });
      },
      provide_channel_parameters(p) {
        tap.#run(ctx, "provide_channel_parameters", {
          args: () => ({ channel_parameters: plainChannelParameters(p) }),
          call: () => {
            c().provide_channel_parameters(p);
            return true;
          },
          err: () => false,
          result: () => ({ status: "ok" }),
        });
      },
    };
    const pubkeys = inner ? inner.pubkeys : placeholderPubkeys();
    return ldk.EcdsaChannelSigner.new_impl(ecdsa, channel, pubkeys);
  }
}

/** Public keys for a signer whose derivation failed (the generator point everywhere). */
function placeholderPubkeys(): ldk.ChannelPublicKeys {
  const g = fromHex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
  return ldk.ChannelPublicKeys.constructor_new(
    g,
    ldk.RevocationBasepoint.constructor_new(g),
    g,
    ldk.DelayedPaymentBasepoint.constructor_new(g),
    ldk.HtlcBasepoint.constructor_new(g),
  );
}
