/**
 * Node A of the LDK harness with Warden as its channel signer, in-process: the `Signer` (LDK key
 * style, seed = A's harness seed so the node id matches, MemoryStore or SqliteStore,
 * rules/default.policy for regtest) behind the transports/ldk adapter, fed every block of the
 * simulated chain (its own chain tracker gives the depth facts and the clock), with optional
 * traffic recording and a hook between the adapter and the signer (a compromised node). The
 * asynchronous flows (open, pay, close, sweep) are those of signed_harness.ts.
 *
 * @module
 */
import { equal, toHex } from "../../core/bytes.ts";
import { p2wpkh } from "../../core/bitcoin/script.ts";
import { nodeKeysFromSeed } from "../../core/keys/mod.ts";
import type { ChannelId, NodeKeys } from "../../core/keys/types.ts";
import { MemoryStore } from "../../core/store/memory.ts";
import { SqliteStore } from "../../core/store/sqlite.ts";
import type { Store } from "../../core/store/types.ts";
import { walletView } from "../../core/node/wallet.ts";
import { updateAllowlist } from "../../core/node/allowlist.ts";
import { NegativeApprover, PositiveApprover } from "../../core/node/approvals.ts";
import { type AuditSink, Signer } from "../../core/signer/signer.ts";
import { signerRegistry } from "../../core/signer/registry.ts";
import { loadPolicy } from "../../policy/mod.ts";
import type { Decision } from "../../policy/engine.ts";
import type { SignerApi } from "../../transports/ldk/api.ts";
import { HarnessError } from "./harness.ts";
import {
  feeWalletScript,
  harnessNodeId,
  harnessSeed,
  PAYOUT_INDEX,
  type SignedChannel,
  SignedHarness,
  type SignedHarnessParts,
  type SignedHarnessTexts,
  type SignedPayOptions,
  startSignedNodes,
} from "./signed_harness.ts";
import { RecordingSignerApi } from "./warden_traffic.ts";
import { TamperingSignerApi } from "./warden_tamper.ts";

export {
  type CloseOutcome,
  type DelayedSweep,
  feeWalletScript,
  harnessNodeId,
  harnessSeed,
  KEYS_ID_SEED,
  PAYOUT_INDEX,
  TEST_FEERATE,
} from "./signed_harness.ts";

/** The clock of a signer: the time of its chain tip (a fixed start before any block). */
export function signerClock(signer: () => Signer<Decision> | Signer | null): () => number {
  return () => signer()?.tipInfo()?.time ?? 1_700_000_000;
}

/** The default policy, loaded for regtest with the signer's fact registry. */
export function defaultPolicy(): ReturnType<typeof loadPolicy> {
  const path = new URL("../../rules/default.policy", import.meta.url).pathname;
  return loadPolicy(path, { registry: signerRegistry(), network: "regtest" });
}

/**
 * How A's signer approves the payments A sends (A asks before every `send_payment`):
 * - `"approver"`: the operator's approver says yes to every payment (`PositiveApprover`);
 * - `"allowlist"`: nobody approves (`NegativeApprover`, the signer's default) but B's node id is on
 *   the operator's allowlist (`payee:<id>`, written to the store), which approves invoices to B;
 * - `"none"`: nobody approves and nobody is allowlisted: every preapproval is refused.
 */
export type PaymentApproval = "approver" | "allowlist" | "none";

/** The allowlist entry of node B as a payee. */
export function payeeEntry(name = "B"): string {
  return `payee:${toHex(harnessNodeId(name))}`;
}

/** Options of {@link openSignerA}. */
export interface SignerAOptions {
  /** The store (a fresh one for a replay). */
  store: Store;
  /** How payments are approved (default `"approver"`). */
  approval?: PaymentApproval;
  /** Where decisions are recorded. */
  audit?: AuditSink<Decision>;
}

/**
 * Node A's signer as the harness runs it: A's seed (LDK key style), rules/default.policy for
 * regtest, the clock of its own chain tip, the harness's fee wallet allowlisted (anchor CPFP
 * change), and the payment approval of `approval` (for `"allowlist"`, B is added to the stored
 * allowlist). Replays of the recordings open the same signer over a fresh store.
 */
export async function openSignerA(
  o: SignerAOptions,
): Promise<{ signer: Signer<Decision>; keys: NodeKeys }> {
  const seed = harnessSeed("A");
  const keys = nodeKeysFromSeed(seed, { network: "regtest", style: "ldk" });
  const approval = o.approval ?? "approver";
  if (approval === "allowlist") {
    await updateAllowlist(o.store, "regtest", (a) => a.add(payeeEntry("B")));
  }
  const feeWallet = feeWalletScript(seed);
  // The signer's clock is the time of the last block it was fed (its own chain tracker), so a
  // replay of the recorded traffic (blocks included) sees the same times.
  const tip: { signer: Signer<Decision> | null } = { signer: null };
  const signer = await Signer.open<Decision>({
    keys,
    store: o.store,
    policy: defaultPolicy(),
    clock: signerClock(() => tip.signer),
    audit: o.audit,
    approver: approval === "approver" ? new PositiveApprover() : new NegativeApprover(),
    // The harness's fee-bump wallet (anchor CPFP change) is the operator's allowlist.
    wallet: walletView(keys, { allowlisted: (s) => equal(s, feeWallet) }),
  });
  tip.signer = signer;
  return { signer, keys };
}

/** Options of {@link WardenHarness.create}. */
export interface WardenHarnessOptions {
  /** Store backend (default memory; "sqlite" in a temp dir). */
  store?: "memory" | "sqlite";
  /** Record traffic at the SignerApi boundary. */
  record?: boolean;
  /** Node B's options (e.g. manual accept, config). */
  b?: { config?: { anchors?: boolean } };
  /** Keep A's harness traffic lines (default false: cheaper). */
  harnessTraffic?: boolean;
  /** Lowest LDK log level recorded (default "warn"). */
  logLevel?: "gossip" | "trace" | "debug" | "info" | "warn" | "error";
  /** Feerate of both nodes in sat/kW (default {@link TEST_FEERATE}). */
  feerate?: number;
  /** How A's signer approves A's payments (default `"approver"`; see {@link PaymentApproval}). */
  approval?: PaymentApproval;
}

/** Options of {@link WardenHarness.pay} and {@link WardenHarness.send}. */
export type WardenPayOptions = SignedPayOptions;

/** A channel opened through {@link WardenHarness.openChannel}. */
export type WardenChannel = SignedChannel;

/** What the in-process harness tells LDK (the traffic recordings hold its invoices). */
const WARDEN_TEXTS: SignedHarnessTexts = {
  invoice: "warden ldk harness",
  forceClose: "warden test force close",
};

/** The harness with node A signed by Warden. */
export class WardenHarness extends SignedHarness {
  /** Warden's signer service. */
  readonly signer: Signer<Decision>;
  /** A's keys (LDK style). */
  readonly keys: NodeKeys;
  /** The traffic recorder, when recording. */
  readonly recorder: RecordingSignerApi | null;
  /** The compromised-node hook between the adapter and the signer (no hook: honest). */
  readonly tamper: TamperingSignerApi;
  /** The store (closed by {@link close}). */
  readonly store: Store;
  readonly #tempDir: string | null;

  private constructor(
    parts: SignedHarnessParts,
    o: Pick<WardenHarness, "signer" | "keys" | "recorder" | "tamper" | "store"> & {
      tempDir: string | null;
    },
  ) {
    super(parts);
    this.signer = o.signer;
    this.keys = o.keys;
    this.recorder = o.recorder;
    this.tamper = o.tamper;
    this.store = o.store;
    this.#tempDir = o.tempDir;
  }

  /** Build the signer, the adapter and the harness (A signed by Warden, B by LDK). */
  static async create(options: WardenHarnessOptions = {}): Promise<WardenHarness> {
    let tempDir: string | null = null;
    let store: Store;
    if (options.store === "sqlite") {
      tempDir = await Deno.makeTempDir({ prefix: "warden-ldk-" });
      store = await SqliteStore.open(`${tempDir}/state.sqlite`);
    } else {
      store = new MemoryStore();
    }
    const { signer, keys } = await openSignerA({ store, approval: options.approval });
    let api: SignerApi = signer;
    const recorder = options.record ? new RecordingSignerApi(api) : null;
    if (recorder) api = recorder.api;
    const tamper = new TamperingSignerApi(api);
    const payout = p2wpkh(keys.walletPubkey(PAYOUT_INDEX));
    const { h, provider } = await startSignedNodes({
      api: tamper.api,
      payout,
      logLevel: options.logLevel,
      feerate: options.feerate,
      harnessTraffic: options.harnessTraffic ?? false,
      b: options.b,
    });
    const w = new WardenHarness(
      { h, provider, requests: tamper, payout, texts: WARDEN_TEXTS },
      { signer, keys, recorder, tamper, store, tempDir },
    );
    if (!equal(h.node("A").nodeId, keys.nodeId)) throw new HarnessError("node ids differ");
    if (!equal(h.node("B").nodeId, harnessNodeId("B"))) throw new HarnessError("B's id differs");
    return w;
  }

  /** The signer's force-closed commitment of each channel (from its enforcement state). */
  protected closedCommitments(): Promise<(id: ChannelId) => Promise<number>> {
    return Promise.resolve(async (id) => {
      const state = await this.signer.channelState(id);
      const n = state?.enforcement.forceClosedNumber;
      if (n === null || n === undefined) throw new HarnessError("no force-closed commitment");
      return n;
    });
  }

  /** Close the harness and the store (and remove a temporary directory). */
  async close(): Promise<void> {
    await this.settle();
    this.h.close();
    await this.store.close();
    if (this.#tempDir) await Deno.remove(this.#tempDir, { recursive: true });
  }
}
