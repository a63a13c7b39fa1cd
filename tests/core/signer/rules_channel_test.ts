/**
 * Every rule of `rules/default.policy`, driven through the real {@link Signer} (MemoryStore, our
 * node keys, the real default policy for regtest) into a refusal: each test builds honest requests
 * with a simulated honest peer (_rules_fixture.ts), tampers with one thing, and checks that the
 * refusal names exactly the expected rule ids and that nothing changed (store, cached state).
 * A tampered node transaction (phase 1) also differs from the signer's rebuild, so structural
 * refusals name `policy-commitment-other` / `policy-htlc-other` next to the specific rule.
 *
 * One honest end-to-end flow (open, 20 payments each way, close) and one round of honest
 * second-level, sweep, splice and anchor requests must pass with no violation at all: this
 * protects against over-strict rules.
 *
 * Where a parameter's default makes a refusal unreachable through the signer (the request size
 * caps), a site policy that includes the default one overrides that parameter.
 *
 * Our outgoing HTLCs are approved payments (the fixture preapproves each one), as the payment rules
 * of family G require. The payment, on-chain wallet and node-level rules are refused in
 * rules_node_test.ts, whose coverage test checks that every rule of the policy is refused in one
 * of the two files (or is listed as unreachable there).
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { concat, fromHex, toHex, u32le } from "../../../core/bytes.ts";
import { publicKey, sha256d } from "../../../core/crypto/mod.ts";
import { buildScript, p2pkh, p2wpkh, p2wsh } from "../../../core/bitcoin/script.ts";
import { type Tx, txid } from "../../../core/bitcoin/tx.ts";
import {
  anchorScript,
  fundingScript,
  offeredHtlcScript,
  receivedHtlcScript,
  toLocalScript,
} from "../../../core/bolt3/scripts.ts";
import type { CommitmentHtlcTransaction } from "../../../core/bolt3/htlc_tx.ts";
import type { CommitmentKeys } from "../../../core/bolt3/keys.ts";
import { parseHeader } from "../../../core/node/chain.ts";
import { ChannelId } from "../../../core/keys/types.ts";
import { holderPoint, holderSecret } from "../../../core/channel/state.ts";
import type { RebuiltCommitment } from "../../../core/channel/rebuild.ts";
import type { NodeCommitmentTx } from "../../../core/channel/ops/commitment.ts";
import type { HolderHtlcTxRequest } from "../../../core/channel/ops/htlc.ts";
import { assembleClosingTx, type MutualCloseValues } from "../../../core/channel/ops/close.ts";
import type { SpendTx } from "../../../core/channel/ops/sweep.ts";
import {
  assertNoViolations,
  copyTx,
  expectRefusal,
  FOREIGN_SCRIPT,
  hashOf,
  makeTx,
  nodeTx,
  NOW,
  PEER_ID,
  PEER_SCRIPT,
  Rig,
  type RigOptions,
  spendOf,
  TestChain,
  US_NODE,
  walletScript,
} from "./_rules_fixture.ts";
import { refusal } from "./_rules_coverage.ts";

/** Our funding key for the fixture channel, as the signer derives it. */
const US_FUNDING = US_NODE.channelKeys(ChannelId.fromPeerDbid(PEER_ID, 1n)).fundingPubkey;
const FOREIGN_KEY = publicKey(new Uint8Array(32).fill(0x55));
const OTHER_OUTPOINT = new Uint8Array(32).fill(0xdd);

/** An open channel with our 100k-sat HTLC added to the balance sheet (not yet signed). */
async function openWithPendingHtlc(options: RigOptions = {}): Promise<Rig> {
  const rig = await Rig.create(options);
  await rig.open();
  await rig.offer({ amountMsat: 100_000_000n, hash: hashOf(1), cltv: 500 });
  return rig;
}

// =================================================================================================
// A. Generic and node-level

/** An 80-byte regtest header on `prev` (internal order), nonce ground until the hash meets bits. */
function header(prev: Uint8Array, time: number, bits = 0x207fffff): Uint8Array {
  for (let nonce = 0;; nonce++) {
    const h = concat(
      u32le(0x20000000),
      prev,
      new Uint8Array(32),
      u32le(time),
      u32le(bits),
      u32le(nonce),
    );
    if (bits !== 0x207fffff || parseHeader(h).powOk) return h;
  }
}

refusal("policy-chain-validated", "a block that does not extend the tip", async () => {
  const rig = await Rig.create();
  const first = header(new Uint8Array(32), NOW);
  await rig.signer.addBlock(first, { height: 100 });
  const second = header(sha256d(first), NOW + 600);
  await rig.signer.addBlock(second);
  strictEqual(rig.signer.tipInfo()?.height, 101);
  const fork = header(sha256d(first), NOW + 601); // builds on the old tip, not the current one
  await expectRefusal(rig, () => rig.signer.addBlock(fork), ["policy-chain-validated"]);
  // A header whose hash misses its own target (bits with a tiny target) is refused too.
  const noWork = header(sha256d(second), NOW + 1200, 0x1d00ffff);
  await expectRefusal(rig, () => rig.signer.addBlock(noWork), ["policy-chain-validated"]);
  strictEqual(rig.signer.tipInfo()?.height, 101, "the tip did not move");
});

refusal("policy-generic-error", "a push above the channel value", async () => {
  const rig = await Rig.create();
  await rig.signer.newChannel(rig.id);
  await expectRefusal(
    rig,
    () => rig.signer.setupChannel(rig.id, { ...rig.setup, pushMsat: 1_000_000_001n }),
    ["policy-generic-error"],
  );
  strictEqual((await rig.state()).stage, "stub");
});

refusal("policy-other", "force-closing a commitment that is not the current one", async () => {
  const rig = await Rig.create();
  await rig.open();
  await expectRefusal(rig, () => rig.signer.signHolderCommitment(rig.id, 3), ["policy-other"]);
  await rig.signer.signHolderCommitment(rig.id, 0);
  strictEqual((await rig.state()).enforcement.closed, true);
});

refusal("policy-other", "a different setup for a ready channel", async () => {
  const rig = await Rig.create();
  await rig.setUp();
  await rig.signer.setupChannel(rig.id, rig.setup); // the same setup again: a retry
  await expectRefusal(
    rig,
    () => rig.signer.setupChannel(rig.id, { ...rig.setup, pushMsat: 1000n }),
    ["policy-other"],
  );
});

refusal("policy-optional-fail-fast", "points too far ahead, a stub's point 2", async () => {
  const rig = await Rig.create();
  await rig.signer.newChannel(rig.id);
  await rig.signer.getPerCommitmentPoint(rig.id, 1);
  await expectRefusal(
    rig,
    () => rig.signer.getPerCommitmentPoint(rig.id, 2),
    ["policy-optional-fail-fast"],
  );
  await rig.signer.setupChannel(rig.id, rig.setup);
  await rig.commit("us", 0);
  await rig.commit("peer", 0);
  // H = 1: point 2 is the look-ahead, point 3 is too far...
  await rig.signer.getPerCommitmentPoint(rig.id, 2);
  await expectRefusal(
    rig,
    () => rig.signer.getPerCommitmentPoint(rig.id, 3),
    ["policy-optional-fail-fast"],
  );
  // ...unless commitment 1 is validated and pending (LDK asks for H + 2 then).
  await rig.signer.validateHolderCommitment(rig.id, await rig.peerSignsOurs(1));
  strictEqual((await rig.state()).enforcement.pendingHolder?.info.number, 1);
  await rig.signer.getPerCommitmentPoint(rig.id, 3);
});

refusal("policy-optional-fail-fast", "validating a holder commitment beyond the next", async () => {
  const rig = await Rig.create();
  await rig.open();
  const request = await rig.peerSignsOurs(2);
  await expectRefusal(
    rig,
    () => rig.signer.validateHolderCommitment(rig.id, request),
    ["policy-optional-fail-fast"],
  );
});

// =================================================================================================
// B. Channel open

async function refusedSetup(
  edit: (s: Rig["setup"]) => Rig["setup"],
  rules: string[],
): Promise<void> {
  const rig = await Rig.create();
  await rig.signer.newChannel(rig.id);
  await expectRefusal(rig, () => rig.signer.setupChannel(rig.id, edit(rig.setup)), rules);
  strictEqual((await rig.state()).stage, "stub");
}

refusal(
  "policy-channel-contest-delay-range-holder",
  "the peer locks our funds 3000 blocks",
  () =>
    refusedSetup(
      (s) => ({ ...s, counterpartySelectedContestDelay: 3000 }),
      ["policy-channel-contest-delay-range-holder"],
    ),
);

refusal(
  "policy-channel-contest-delay-range-counterparty",
  "a 2-block justice window",
  () =>
    refusedSetup(
      (s) => ({ ...s, holderSelectedContestDelay: 2 }),
      ["policy-channel-contest-delay-range-counterparty"],
    ),
);

refusal("policy-channel-safe-mode", "legacy and plain anchor channels", async () => {
  await refusedSetup((s) => ({ ...s, commitmentType: "legacy" }), ["policy-channel-safe-mode"]);
  await refusedSetup((s) => ({ ...s, commitmentType: "anchors" }), ["policy-channel-safe-mode"]);
});

refusal("policy-channel-original-channel-id-reuse", "a forgotten id, a lower dbid", async () => {
  const rig = await Rig.create();
  const seven = ChannelId.fromPeerDbid(PEER_ID, 7n);
  await rig.signer.newChannel(seven);
  await rig.signer.forgetChannel(seven);
  await expectRefusal(
    rig,
    () => rig.signer.newChannel(seven),
    ["policy-channel-original-channel-id-reuse"],
  );
  await expectRefusal(
    rig,
    () => rig.signer.newChannel(ChannelId.fromPeerDbid(PEER_ID, 5n)),
    ["policy-channel-original-channel-id-reuse"],
  );
  await rig.signer.newChannel(ChannelId.fromPeerDbid(PEER_ID, 8n));
});

refusal(
  "policy-funding-max",
  "a 20 BTC channel",
  () => refusedSetup((s) => ({ ...s, channelValueSat: 2_000_000_000n }), ["policy-funding-max"]),
);

refusal(
  "policy-mutual-destination-allowlisted",
  "an upfront script we cannot spend",
  () =>
    refusedSetup(
      (s) => ({
        ...s,
        holderShutdownScript: toHex(FOREIGN_SCRIPT),
        holderShutdownWalletIndex: null,
      }),
      ["policy-mutual-destination-allowlisted"],
    ),
);

// =================================================================================================
// C. Splices and anchor spends

const WALLET_UTXO = new Uint8Array(32).fill(0xbb);

function fundingOutput(rig: Rig): Uint8Array {
  return p2wsh(fundingScript(rig.keys.fundingPubkey, rig.peer.keys.fundingPubkey));
}

/** A splice-in of 200k sat from our wallet key 7 (1000 sat fee), as our node sends it. */
function spliceIn(rig: Rig, edit: (t: Tx) => void = () => {}) {
  const funding = { txid: fromHex(rig.setup.fundingOutpoint.txid), vout: 0 };
  const tx = makeTx(
    [{ ...funding, sequence: 0xfffffffd }, { txid: WALLET_UTXO, vout: 1, sequence: 0xfffffffd }],
    [{ amount: 1_199_000n, script: fundingOutput(rig) }],
  );
  edit(tx);
  return {
    spend: spendOf(tx, {
      spent: [
        { amount: 1_000_000n, script: fundingOutput(rig) },
        { amount: 200_000n, script: walletScript(7) },
      ],
      inputPaths: [[], [7]],
      outputPaths: tx.outputs.map(() => []),
    }),
    remoteFundingPubkey: rig.peer.keys.fundingPubkey,
    inputIndex: 0,
  };
}

refusal("policy-onchain-format-standard", "a version 1 splice", async () => {
  const rig = await Rig.create();
  await rig.open();
  await expectRefusal(
    rig,
    () => rig.signer.signSplice(rig.id, spliceIn(rig, (t) => t.version = 1)),
    ["policy-onchain-format-standard"],
  );
});

refusal("policy-onchain-funding-non-malleable", "a splice with a legacy input", async () => {
  const rig = await Rig.create();
  await rig.open();
  const request = spliceIn(rig);
  request.spend.spent[1] = { amount: 200_000n, script: p2pkh(FOREIGN_KEY) };
  request.spend.inputPaths[1] = [];
  await expectRefusal(
    rig,
    () => rig.signer.signSplice(rig.id, request),
    ["policy-onchain-funding-non-malleable"],
  );
});

refusal("policy-onchain-max-size", "a 33 kB splice", async () => {
  const rig = await Rig.create();
  await rig.open();
  const request = spliceIn(
    rig,
    (t) => t.outputs.push({ amount: 0n, script: new Uint8Array(33_000) }),
  );
  await expectRefusal(
    rig,
    () => rig.signer.signSplice(rig.id, request),
    ["policy-onchain-max-size"],
  );
});

refusal("policy-onchain-output-scriptpubkey", "another remote funding key", async () => {
  const rig = await Rig.create();
  await rig.open();
  await expectRefusal(
    rig,
    () => rig.signer.signSplice(rig.id, { ...spliceIn(rig), remoteFundingPubkey: FOREIGN_KEY }),
    ["policy-onchain-output-scriptpubkey"],
  );
});

refusal(
  "policy-onchain-output-match-commitment",
  "a new funding output below the agreed value",
  async () => {
    const rig = await Rig.create();
    await rig.open();
    await expectRefusal(
      rig,
      () => rig.signer.signSplice(rig.id, { ...spliceIn(rig), newChannelValueSat: 1_300_000n }),
      ["policy-onchain-output-match-commitment"],
    );
    await rig.signer.signSplice(rig.id, { ...spliceIn(rig), newChannelValueSat: 1_199_000n });
  },
);

refusal(
  "policy-onchain-no-unknown-outputs",
  "a splice-out of our balance to a stranger",
  async () => {
    const rig = await Rig.create();
    await rig.open();
    const request = spliceIn(rig, (t) => {
      t.inputs.pop();
      t.outputs = [
        { amount: 500_000n, script: fundingOutput(rig) },
        { amount: 499_000n, script: FOREIGN_SCRIPT },
      ];
    });
    request.spend.spent.pop();
    request.spend.inputPaths.pop();
    await expectRefusal(
      rig,
      () => rig.signer.signSplice(rig.id, request),
      ["policy-onchain-no-unknown-outputs"],
    );
  },
);

refusal(
  "policy-commitment-input-match-funding",
  "a splice input that is not the funding",
  async () => {
    const rig = await Rig.create();
    await rig.open();
    await expectRefusal(
      rig,
      () => rig.signer.signSplice(rig.id, { ...spliceIn(rig), inputIndex: 1 }),
      ["policy-commitment-input-match-funding"],
    );
  },
);

/** A fee bump of our anchor of our commitment 0 with a wallet input (key 9), change to key 10. */
async function anchorRig(site?: string): Promise<{ rig: Rig; bump: (o?: Bump) => SpendTx }> {
  const rig = await Rig.create({ anchors: true, site });
  await rig.open();
  const ours = rig.holderCommitment("us", 0);
  const vout = ours.outputs.findIndex((o) => o.kind === "anchor_broadcaster");
  const theirs = ours.outputs.findIndex((o) => o.kind === "anchor_countersignatory");
  const bump = (o: Bump = {}) => {
    const v = o.theirAnchor ? theirs : vout;
    const tx = makeTx(
      [{ txid: txid(ours.tx), vout: v }, { txid: new Uint8Array(32).fill(0xcc), vout: 2 }],
      [{ amount: o.change ?? 49_000n, script: o.changeScript ?? walletScript(10) }],
    );
    return spendOf(tx, {
      spent: [
        { amount: o.anchorAmount ?? 330n, script: ours.outputs[v].scriptPubKey },
        { amount: o.walletInput ?? 50_000n, script: walletScript(9) },
      ],
      inputPaths: [[], o.inputPath ?? [9]],
      outputPaths: [o.changeScript ? [] : [10]],
    });
  };
  return { rig, bump };
}

interface Bump {
  theirAnchor?: boolean;
  anchorAmount?: bigint;
  walletInput?: bigint;
  change?: bigint;
  changeScript?: Uint8Array;
  inputPath?: number[];
}

refusal("policy-onchain-format-standard", "a version 1 fee bump", async () => {
  const { rig, bump } = await anchorRig();
  const spend = bump();
  spend.tx.version = 1;
  await expectRefusal(
    rig,
    () => rig.signer.signAnchorSpend(rig.id, { spend, inputIndex: 0 }),
    ["policy-onchain-format-standard"],
  );
});

refusal("policy-onchain-output-scriptpubkey", "a hardened wallet path", async () => {
  const { rig, bump } = await anchorRig();
  await expectRefusal(
    rig,
    () =>
      rig.signer.signAnchorSpend(rig.id, {
        spend: bump({ inputPath: [0x80000009] }),
        inputIndex: 0,
      }),
    ["policy-onchain-output-scriptpubkey"],
  );
});

refusal("policy-onchain-no-unknown-outputs", "fee bump change to a stranger", async () => {
  const { rig, bump } = await anchorRig();
  await expectRefusal(
    rig,
    () =>
      rig.signer.signAnchorSpend(rig.id, {
        spend: bump({ changeScript: FOREIGN_SCRIPT }),
        inputIndex: 0,
      }),
    ["policy-onchain-no-unknown-outputs"],
  );
});

refusal("policy-onchain-fee-range", "a fee bump that burns 299k sat", async () => {
  const { rig, bump } = await anchorRig();
  await expectRefusal(
    rig,
    () =>
      rig.signer.signAnchorSpend(rig.id, {
        spend: bump({ walletInput: 300_000n, change: 1_000n }),
        inputIndex: 0,
      }),
    ["policy-onchain-fee-range"],
  );
});

refusal("policy-onchain-fee-range", "the daily fee budget (velocity)", async () => {
  const { rig, bump } = await anchorRig("param max_onchain_fees_msat_per_day = 2_000_000 msat");
  await rig.signer.signAnchorSpend(rig.id, { spend: bump(), inputIndex: 0 }); // 1330 sat
  const refused = await expectRefusal(
    rig,
    () => rig.signer.signAnchorSpend(rig.id, { spend: bump(), inputIndex: 0 }),
    ["policy-onchain-fee-range"],
  );
  deepStrictEqual(refused.rules, ["policy-onchain-fee-range"], "the limit clause alone");
  const last = rig.audit[rig.audit.length - 1].decision.violations[0];
  strictEqual(last.clause, 1);
  strictEqual(last.facts["limit.window_total"], "1330000");
});

refusal("policy-commitment-anchor-match-fundingkey", "spending the peer's anchor", async () => {
  const { rig, bump } = await anchorRig();
  await expectRefusal(
    rig,
    () => rig.signer.signAnchorSpend(rig.id, { spend: bump({ theirAnchor: true }), inputIndex: 0 }),
    ["policy-commitment-anchor-match-fundingkey"],
  );
});

refusal("policy-commitment-anchor-amount", "an anchor stated as 331 sat", async () => {
  const { rig, bump } = await anchorRig();
  await expectRefusal(
    rig,
    () =>
      rig.signer.signAnchorSpend(rig.id, { spend: bump({ anchorAmount: 331n }), inputIndex: 0 }),
    ["policy-commitment-anchor-amount"],
  );
});

// =================================================================================================
// D. Commitment structure: the peer's commitment 1 as its node builds it (phase 1), tampered

/** Sign the peer's commitment 1 (with our pending HTLC) sent as `tamper` leaves the node's tx. */
function tampered(
  rule: string,
  name: string,
  o: { anchors?: boolean; rules: string[] },
  tamper: (c: RebuiltCommitment, node: NodeCommitmentTx) => void,
): void {
  refusal(rule, name, async () => {
    const rig = await openWithPendingHtlc({ anchors: o.anchors });
    const c = rig.peerCommitment(1);
    const node = nodeTx(c);
    tamper(c, node);
    const sign = (tx: NodeCommitmentTx) =>
      rig.signPeerCommitment(1, (r) => ({ ...r, values: undefined, tx }));
    await expectRefusal(rig, () => sign(node), o.rules);
    await sign(nodeTx(c)); // the honest transaction is signed
  });
}

function outputOf(c: RebuiltCommitment, kind: string): number {
  const i = c.outputs.findIndex((o) => o.kind === kind);
  if (i < 0) throw new Error(`no ${kind} output`);
  return i;
}

function setOutput(node: NodeCommitmentTx, i: number, ws: Uint8Array): void {
  node.tx.outputs[i].script = p2wsh(ws);
  node.witnessScripts[i] = ws;
}

function toLocalWith(c: RebuiltCommitment, edit: Partial<Parameters<typeof toLocalScript>[0]>) {
  return toLocalScript({
    revocationKey: c.keys.revocationKey,
    broadcasterDelayedPaymentKey: c.keys.broadcasterDelayedPaymentKey,
    toSelfDelay: c.toSelfDelay,
    ...edit,
  });
}

function htlcWith(c: RebuiltCommitment, i: number, keys: Partial<CommitmentKeys>): Uint8Array {
  const h = c.outputs[i].htlc;
  if (!h) throw new Error("not an HTLC output");
  const o = {
    revocationKey: keys.revocationKey ?? c.keys.revocationKey,
    broadcasterHtlcKey: keys.broadcasterHtlcKey ?? c.keys.broadcasterHtlcKey,
    countersignatoryHtlcKey: keys.countersignatoryHtlcKey ?? c.keys.countersignatoryHtlcKey,
    paymentHash: h.paymentHash,
    anchors: c.anchors,
  };
  return h.offered ? offeredHtlcScript(o) : receivedHtlcScript({ ...o, cltvExpiry: h.cltvExpiry });
}

const OTHER = "policy-commitment-other";

tampered("policy-commitment-version", "version 1", {
  rules: ["policy-commitment-version", OTHER],
}, (_c, node) => node.tx.version = 1);

tampered("policy-commitment-locktime", "another commitment number in the locktime", {
  rules: ["policy-commitment-locktime", OTHER],
}, (_c, node) => node.tx.locktime ^= 1);

tampered("policy-commitment-sequence", "another commitment number in the sequence", {
  rules: ["policy-commitment-sequence", OTHER],
}, (_c, node) => node.tx.inputs[0].sequence ^= 1);

tampered("policy-commitment-input-single", "a second input", {
  rules: ["policy-commitment-input-single", OTHER],
}, (_c, node) => node.tx.inputs.push({ ...node.tx.inputs[0], txid: OTHER_OUTPOINT.slice() }));

tampered("policy-commitment-input-match-funding", "another outpoint", {
  rules: ["policy-commitment-input-match-funding", OTHER],
}, (_c, node) => node.tx.inputs[0].txid = OTHER_OUTPOINT.slice());

tampered("policy-commitment-singular-to-holder", "our balance twice", {
  rules: ["policy-commitment-singular-to-holder", OTHER],
}, (c, node) => {
  const i = outputOf(c, "to_countersignatory");
  node.tx.outputs.push({ ...node.tx.outputs[i] });
  node.witnessScripts.push(null);
});

tampered("policy-commitment-singular-to-counterparty", "the peer's balance twice", {
  rules: ["policy-commitment-singular-to-counterparty", OTHER],
}, (c, node) => {
  const i = outputOf(c, "to_broadcaster");
  node.tx.outputs.push({ ...node.tx.outputs[i] });
  node.witnessScripts.push(node.witnessScripts[i]);
});

tampered("policy-commitment-no-unrecognized-outputs", "a P2WPKH output on an anchor channel", {
  anchors: true,
  rules: ["policy-commitment-no-unrecognized-outputs", OTHER],
}, (_c, node) => {
  node.tx.outputs.push({ amount: 1000n, script: FOREIGN_SCRIPT });
  node.witnessScripts.push(null);
});

// The transaction itself is the rebuild: only the PSBT's witness script is missing.
tampered("policy-commitment-scripts", "an HTLC output without its witness script", {
  rules: ["policy-commitment-scripts", "policy-commitment-no-unrecognized-outputs"],
}, (c, node) => node.witnessScripts[outputOf(c, "htlc")] = null);

tampered("policy-commitment-other", "outputs out of BIP-69 order", {
  rules: [OTHER],
}, (_c, node) => {
  node.tx.outputs.reverse();
  node.witnessScripts.reverse();
});

tampered(
  "policy-commitment-revocation-pubkey",
  "a foreign revocation key on to_local",
  {
    rules: ["policy-commitment-revocation-pubkey", OTHER],
  },
  (c, node) =>
    setOutput(node, outputOf(c, "to_broadcaster"), toLocalWith(c, { revocationKey: FOREIGN_KEY })),
);

tampered("policy-commitment-broadcaster-pubkey", "a foreign delayed key on to_local", {
  rules: ["policy-commitment-broadcaster-pubkey", OTHER],
}, (c, node) =>
  setOutput(
    node,
    outputOf(c, "to_broadcaster"),
    toLocalWith(c, { broadcasterDelayedPaymentKey: FOREIGN_KEY }),
  ));

tampered("policy-commitment-countersignatory-pubkey", "our balance to a foreign key", {
  rules: ["policy-commitment-countersignatory-pubkey", OTHER],
}, (c, node) => node.tx.outputs[outputOf(c, "to_countersignatory")].script = p2wpkh(FOREIGN_KEY));

tampered("policy-commitment-htlc-revocation-pubkey", "a foreign revocation hash in an HTLC", {
  rules: ["policy-commitment-htlc-revocation-pubkey", OTHER],
}, (c, node) => {
  const i = outputOf(c, "htlc");
  setOutput(node, i, htlcWith(c, i, { revocationKey: FOREIGN_KEY }));
});

tampered("policy-commitment-htlc-counterparty-htlc-pubkey", "a foreign key for the peer", {
  rules: ["policy-commitment-htlc-counterparty-htlc-pubkey", OTHER],
}, (c, node) => {
  const i = outputOf(c, "htlc");
  setOutput(node, i, htlcWith(c, i, { broadcasterHtlcKey: FOREIGN_KEY }));
});

tampered("policy-commitment-htlc-holder-htlc-pubkey", "a foreign key for us", {
  rules: ["policy-commitment-htlc-holder-htlc-pubkey", OTHER],
}, (c, node) => {
  const i = outputOf(c, "htlc");
  setOutput(node, i, htlcWith(c, i, { countersignatoryHtlcKey: FOREIGN_KEY }));
});

tampered(
  "policy-commitment-to-self-delay-range",
  "a shorter delay on the peer's to_local",
  {
    rules: ["policy-commitment-to-self-delay-range", OTHER],
  },
  (c, node) =>
    setOutput(
      node,
      outputOf(c, "to_broadcaster"),
      toLocalWith(c, { toSelfDelay: c.toSelfDelay - 1 }),
    ),
);

tampered("policy-commitment-anchors-not-when-off", "an anchor on a static_remotekey channel", {
  rules: ["policy-commitment-anchors-not-when-off", OTHER],
}, (_c, node) => {
  const ws = anchorScript(US_FUNDING);
  node.tx.outputs.push({ amount: 330n, script: p2wsh(ws) });
  node.witnessScripts.push(ws);
});

tampered("policy-commitment-anchor-to-holder", "our anchor left out", {
  anchors: true,
  rules: ["policy-commitment-anchor-to-holder", OTHER],
}, (c, node) => {
  const i = outputOf(c, "anchor_countersignatory");
  node.tx.outputs.splice(i, 1);
  node.witnessScripts.splice(i, 1);
});

tampered("policy-commitment-anchor-to-counterparty", "the peer's anchor left out", {
  anchors: true,
  rules: ["policy-commitment-anchor-to-counterparty", OTHER],
}, (c, node) => {
  const i = outputOf(c, "anchor_broadcaster");
  node.tx.outputs.splice(i, 1);
  node.witnessScripts.splice(i, 1);
});

tampered("policy-commitment-anchor-amount", "a 331-sat anchor", {
  anchors: true,
  rules: ["policy-commitment-anchor-amount", OTHER],
}, (c, node) => node.tx.outputs[outputOf(c, "anchor_countersignatory")].amount = 331n);

tampered("policy-commitment-anchor-match-fundingkey", "a third anchor to a stranger's key", {
  anchors: true,
  rules: ["policy-commitment-anchor-match-fundingkey", OTHER],
}, (_c, node) => {
  const ws = anchorScript(FOREIGN_KEY);
  node.tx.outputs.push({ amount: 330n, script: p2wsh(ws) });
  node.witnessScripts.push(ws);
});

refusal("policy-commitment-version", "our own commitment as version 1 (phase 1)", async () => {
  const rig = await Rig.create();
  await rig.open();
  const request = await rig.peerSignsOurs(1);
  const node = nodeTx(rig.ourCommitment(1));
  node.tx.version = 1;
  await expectRefusal(
    rig,
    () => rig.signer.validateHolderCommitment(rig.id, { ...request, values: undefined, tx: node }),
    ["policy-commitment-version", OTHER],
  );
});

// =================================================================================================
// E. Commitment values (phase 2: the node states the values)

refusal(
  "policy-commitment-fee-range",
  "300k sat of our balance as fee, and a fee below relay",
  async () => {
    const rig = await Rig.create();
    await rig.open();
    const shift = (d: bigint) => (r: ReturnType<Rig["request"]>) => ({
      ...r,
      values: r.values &&
        { ...r.values, toCountersignatorySat: r.values.toCountersignatorySat + d },
    });
    await expectRefusal(rig, () => rig.signPeerCommitment(1, shift(-300_000n)), [
      "policy-commitment-fee-range",
    ]);
    await expectRefusal(rig, () => rig.signPeerCommitment(1, shift(600n)), [
      "policy-commitment-fee-range",
    ]);
  },
);

refusal("policy-commitment-outputs-trimmed", "our balance left as 100 sat dust", async () => {
  const rig = await Rig.create();
  await rig.open();
  await expectRefusal(
    rig,
    () =>
      rig.signPeerCommitment(1, (r) => {
        const v = r.values ?? { toBroadcasterSat: 0n, toCountersignatorySat: 0n };
        return {
          ...r,
          values: {
            toBroadcasterSat: v.toBroadcasterSat + v.toCountersignatorySat - 100n,
            toCountersignatorySat: 100n,
          },
        };
      }),
    // Our balance went to the peer: also value leaving us without an HTLC.
    ["policy-commitment-outputs-trimmed", "policy-routing-deltas-only-htlc"],
  );
});

refusal("policy-commitment-htlc-count-limit", "three HTLCs over max_htlcs = 2", async () => {
  // The signer caps a request at 966 HTLCs (two sides of BOLT #2's 483), below the default 1000.
  const rig = await Rig.create({ site: "param max_htlcs = 2" });
  await rig.open();
  for (let i = 0; i < 3; i++) {
    await rig.offer({ amountMsat: 10_000_000n, hash: hashOf(10 + i), cltv: 500 });
  }
  await expectRefusal(rig, () => rig.signPeerCommitment(1), ["policy-commitment-htlc-count-limit"]);
});

refusal("policy-commitment-htlc-inflight-limit", "a 17M-sat HTLC", async () => {
  const rig = await Rig.create({ valueSat: 20_000_000n });
  await rig.open();
  await rig.offer({ amountMsat: 17_000_000_000n, hash: hashOf(3), cltv: 500 });
  await expectRefusal(
    rig,
    () => rig.signPeerCommitment(1),
    ["policy-commitment-htlc-inflight-limit"],
  );
});

refusal("policy-commitment-first-no-htlcs", "an HTLC in commitment 0", async () => {
  const rig = await Rig.create();
  await rig.setUp();
  await rig.offer({ amountMsat: 100_000_000n, hash: hashOf(1), cltv: 500 });
  await expectRefusal(rig, () => rig.signPeerCommitment(0), ["policy-commitment-first-no-htlcs"]);
});

refusal("policy-commitment-initial-funding-value", "1000 sat more than the push", async () => {
  const rig = await Rig.create();
  await rig.setUp();
  rig.openerMsat -= 1_000_000n;
  rig.acceptorMsat += 1_000_000n;
  await expectRefusal(
    rig,
    () => rig.signPeerCommitment(0),
    ["policy-commitment-initial-funding-value", "policy-routing-deltas-only-htlc"],
  );
});

refusal("policy-commitment-htlc-cltv-range", "an expiry that is a timestamp", async () => {
  const rig = await Rig.create();
  await rig.open();
  await rig.offer({ amountMsat: 100_000_000n, hash: hashOf(1), cltv: 500_000_000 });
  await expectRefusal(rig, () => rig.signPeerCommitment(1), ["policy-commitment-htlc-cltv-range"]);
});

refusal("policy-commitment-htlc-cltv-range", "use_chain_state: an expiry too soon", async () => {
  const chain = new TestChain();
  const rig = await Rig.create({ site: "param use_chain_state = true", chain });
  await rig.open();
  await rig.offer({ amountMsat: 100_000_000n, hash: hashOf(1), cltv: chain.height + 1 });
  await expectRefusal(rig, () => rig.signPeerCommitment(1), ["policy-commitment-htlc-cltv-range"]);
  rig.htlcs[0].cltv = chain.height + 40;
  await rig.signPeerCommitment(1);
});

// =================================================================================================
// F. Commitment state

refusal("policy-commitment-previous-revoked", "signing n before n-2 is revoked", async () => {
  const rig = await Rig.create();
  await rig.open();
  await rig.commit("us", 1);
  await expectRefusal(rig, () => rig.signPeerCommitment(2), ["policy-commitment-previous-revoked"]);
  strictEqual((await rig.state()).enforcement.nextCounterpartyCommitNum, 2);
});

refusal(
  "policy-commitment-previous-revoked",
  "a wrong secret, a premature revocation",
  async () => {
    const rig = await Rig.create();
    await rig.open();
    await rig.commit("us", 1);
    await expectRefusal(
      rig,
      () => rig.signer.validateCounterpartyRevocation(rig.id, 0, holderSecret(rig.peer.keys, 1)),
      ["policy-commitment-previous-revoked"],
    );
    // Commitment 1 is the peer's current one: it cannot be revoked before 2 is signed.
    await expectRefusal(
      rig,
      () => rig.signer.validateCounterpartyRevocation(rig.id, 1, holderSecret(rig.peer.keys, 1)),
      ["policy-commitment-previous-revoked"],
    );
    await rig.revoke("peer", 0);
    strictEqual((await rig.state()).enforcement.nextCounterpartyRevokeNum, 1);
  },
);

refusal(
  "policy-commitment-holder-not-revoked",
  "validating and force-closing revoked ones",
  async () => {
    const rig = await Rig.create();
    await rig.openWithTwoHtlcs();
    const request = await rig.peerSignsOurs(1);
    await expectRefusal(
      rig,
      () => rig.signer.validateHolderCommitment(rig.id, request),
      ["policy-commitment-holder-not-revoked"],
    );
    await expectRefusal(
      rig,
      () => rig.signer.signHolderCommitment(rig.id, 1),
      ["policy-commitment-holder-not-revoked", "policy-other"],
    );
  },
);

refusal("policy-commitment-retry-same", "a retry with other balances", async () => {
  const rig = await Rig.create();
  await rig.open();
  await rig.commit("us", 1);
  await rig.signPeerCommitment(1); // an identical retry is fine
  const moved = (r: ReturnType<Rig["request"]>) => ({
    ...r,
    values: r.values && {
      toBroadcasterSat: r.values.toBroadcasterSat + 1000n,
      toCountersignatorySat: r.values.toCountersignatorySat - 1000n,
    },
  });
  // The 1000 sat move to the peer is also value leaving us without an HTLC.
  await expectRefusal(rig, () => rig.signPeerCommitment(1, moved), [
    "policy-commitment-retry-same",
    "policy-routing-deltas-only-htlc",
  ]);
  // Our current commitment 0, validated again with other balances.
  const ours = await rig.peerSignsOurs(0, (r) => ({
    ...r,
    values: r.values && {
      toBroadcasterSat: r.values.toBroadcasterSat + 1000n,
      toCountersignatorySat: r.values.toCountersignatorySat - 1000n,
    },
  }));
  await expectRefusal(
    rig,
    () => rig.signer.validateHolderCommitment(rig.id, ours),
    ["policy-commitment-retry-same"],
  );
});

refusal("policy-commitment-retry-same", "the pending commitment with other content", async () => {
  const rig = await Rig.create();
  await rig.openWithTwoHtlcs();
  await rig.commit("us", 3);
  await rig.revoke("peer", 2);
  // Our commitment 3 validated: pending until we revoke 2 (H stays 3).
  const first = await rig.peerSignsOurs(3);
  await rig.signer.validateHolderCommitment(rig.id, first);
  const pending = (await rig.state()).enforcement.pendingHolder;
  strictEqual(pending?.info.number, 3);
  // Validated again, identical (LDK after a reconnect): allowed, nothing persisted.
  const before = await rig.snapshot();
  await rig.signer.validateHolderCommitment(rig.id, first);
  strictEqual(await rig.snapshot(), before);
  // The peer signs other content under the same number: refused, the pending one stays.
  const other = await rig.peerSignsOurs(3, (r) => ({
    ...r,
    feeratePerKw: r.feeratePerKw + 100,
    values: r.values && { ...r.values, toBroadcasterSat: r.values.toBroadcasterSat - 100n },
  }));
  await expectRefusal(
    rig,
    () => rig.signer.validateHolderCommitment(rig.id, other),
    ["policy-commitment-retry-same"],
  );
  await rig.revoke("us", 2);
  deepStrictEqual((await rig.state()).enforcement.currentHolder, pending);
});

refusal("policy-commitment-spends-active-utxo", "after we signed a force close", async () => {
  const rig = await Rig.create();
  await rig.open();
  await rig.signer.signHolderCommitment(rig.id, 0);
  await expectRefusal(rig, () => rig.signPeerCommitment(1), [
    "policy-commitment-spends-active-utxo",
  ]);
  const request = await rig.peerSignsOurs(1);
  await expectRefusal(
    rig,
    () => rig.signer.validateHolderCommitment(rig.id, request),
    ["policy-commitment-spends-active-utxo"],
  );
});

refusal("policy-commitment-spends-active-utxo", "the funding output spent on chain", async () => {
  const chain = new TestChain();
  const rig = await Rig.create({ chain });
  await rig.open();
  chain.closing = 3;
  await expectRefusal(rig, () => rig.signPeerCommitment(1), [
    "policy-commitment-spends-active-utxo",
  ]);
  chain.closing = 0;
  chain.doubleSpent = 1;
  await expectRefusal(rig, () => rig.signPeerCommitment(1), [
    "policy-commitment-spends-active-utxo",
  ]);
});

refusal(
  "policy-commitment-spends-active-utxo-depth",
  "funding not yet confirmed: retry later",
  async () => {
    const chain = new TestChain();
    chain.funding = 0;
    const rig = await Rig.create({ chain });
    await rig.open(); // commitment 0 needs no confirmation
    await expectRefusal(
      rig,
      () => rig.signPeerCommitment(1),
      ["policy-commitment-spends-active-utxo-depth"],
      { temporary: true },
    );
    chain.funding = 1;
    await rig.signPeerCommitment(1);
  },
);

// =================================================================================================
// H. Holder revocation

refusal(
  "policy-revoke-new-commitment-signed",
  "a bad signature, revoking with nothing pending",
  async () => {
    const rig = await Rig.create();
    await rig.open();
    const request = await rig.peerSignsOurs(1);
    const bad = request.counterpartySig.slice();
    bad[10] ^= 1;
    await expectRefusal(
      rig,
      () => rig.signer.validateHolderCommitment(rig.id, { ...request, counterpartySig: bad }),
      ["policy-revoke-new-commitment-signed"],
    );
    strictEqual((await rig.state()).enforcement.pendingHolder, null);
    await expectRefusal(
      rig,
      () => rig.signer.revokeHolderCommitment(rig.id, 0),
      ["policy-revoke-new-commitment-signed"],
    );
  },
);

refusal("policy-revoke-new-commitment-valid", "a commitment accepted with a warning", async () => {
  const rig = await Rig.create({ site: "filter policy-commitment-fee-range warn" });
  await rig.open();
  const request = await rig.peerSignsOurs(1, (r) => ({
    ...r,
    values: r.values && { ...r.values, toBroadcasterSat: r.values.toBroadcasterSat - 300_000n },
  }));
  await rig.signer.validateHolderCommitment(rig.id, request);
  const last = rig.audit[rig.audit.length - 1].decision;
  // The feerate, the trimmed value and its daily budget: three clauses of the one rule.
  deepStrictEqual(last.warnings.map((w) => [w.rule, w.clause]), [
    ["policy-commitment-fee-range", 0],
    ["policy-commitment-fee-range", 1],
    ["policy-commitment-fee-range", 2],
  ]);
  deepStrictEqual((await rig.state()).enforcement.pendingHolder?.warnings, [
    "policy-commitment-fee-range",
  ]);
  await expectRefusal(
    rig,
    () => rig.signer.revokeHolderCommitment(rig.id, 0),
    ["policy-revoke-new-commitment-valid"],
  );
});

refusal("policy-revoke-not-closed", "revoking the commitment we force-closed with", async () => {
  const rig = await Rig.create();
  await rig.open();
  await rig.signer.validateHolderCommitment(rig.id, await rig.peerSignsOurs(1));
  await rig.signer.signHolderCommitment(rig.id, 0);
  strictEqual((await rig.state()).enforcement.forceClosedNumber, 0);
  await expectRefusal(
    rig,
    () => rig.signer.revokeHolderCommitment(rig.id, 0),
    ["policy-revoke-not-closed"],
  );
});

// =================================================================================================
// I. Second-level HTLC transactions: ours on our commitment 2, the peer's on its commitment 2

function htlcTxOf(c: RebuiltCommitment, kind: "htlc-timeout" | "htlc-success") {
  const h = c.htlcTxs.find((x) => x.kind === kind);
  if (!h) throw new Error(`no ${kind}`);
  return h;
}

function htlcRequest(
  n: number,
  h: CommitmentHtlcTransaction,
  edit: (t: Tx) => void = () => {},
): HolderHtlcTxRequest {
  return {
    number: n,
    tx: copyTx(h.tx, edit),
    inputIndex: 0,
    witnessScript: h.htlcWitnessScript,
    amountSat: h.inputAmountSat,
    outputWitnessScript: h.outputWitnessScript,
  };
}

const HTLC_OTHER = "policy-htlc-other";

function htlcTest(
  rule: string,
  name: string,
  o: { kind: "htlc-timeout" | "htlc-success"; rules: string[] },
  tamper: (r: HolderHtlcTxRequest, c: RebuiltCommitment) => void,
): void {
  refusal(rule, name, async () => {
    const rig = await Rig.create();
    await rig.openWithTwoHtlcs();
    const c = rig.holderCommitment("us", 2);
    const h = htlcTxOf(c, o.kind);
    const request = htlcRequest(2, h);
    tamper(request, c);
    await expectRefusal(rig, () => rig.signer.signHolderHtlcTx(rig.id, request), o.rules);
    await rig.signer.signHolderHtlcTx(rig.id, htlcRequest(2, h));
  });
}

function htlcOutput(r: HolderHtlcTxRequest, ws: Uint8Array): void {
  r.tx.outputs[0].script = p2wsh(ws);
  r.outputWitnessScript = ws;
}

htlcTest("policy-htlc-version", "version 1", {
  kind: "htlc-success",
  rules: ["policy-htlc-version", HTLC_OTHER],
}, (r) => r.tx.version = 1);

htlcTest("policy-htlc-sequence", "a replaceable sequence", {
  kind: "htlc-success",
  rules: ["policy-htlc-sequence", HTLC_OTHER],
}, (r) => r.tx.inputs[0].sequence = 0xfffffffd);

htlcTest("policy-htlc-locktime", "an HTLC-success transaction with a locktime", {
  kind: "htlc-success",
  rules: ["policy-htlc-locktime", HTLC_OTHER],
}, (r) => r.tx.locktime = 10);

htlcTest("policy-htlc-cltv-range", "timing out one block early", {
  kind: "htlc-timeout",
  rules: ["policy-htlc-cltv-range", HTLC_OTHER],
}, (r) => r.tx.locktime -= 1);

htlcTest("policy-htlc-to-self-delay", "a shorter delay", {
  kind: "htlc-success",
  rules: ["policy-htlc-to-self-delay", HTLC_OTHER],
}, (r, c) =>
  htlcOutput(
    r,
    toLocalScript({
      revocationKey: c.keys.revocationKey,
      broadcasterDelayedPaymentKey: c.keys.broadcasterDelayedPaymentKey,
      toSelfDelay: c.toSelfDelay + 1,
    }),
  ));

htlcTest("policy-htlc-revocation-pubkey", "a foreign revocation key", {
  kind: "htlc-success",
  rules: ["policy-htlc-revocation-pubkey", HTLC_OTHER],
}, (r, c) =>
  htlcOutput(
    r,
    toLocalScript({
      revocationKey: FOREIGN_KEY,
      broadcasterDelayedPaymentKey: c.keys.broadcasterDelayedPaymentKey,
      toSelfDelay: c.toSelfDelay,
    }),
  ));

htlcTest("policy-htlc-delayed-pubkey", "our HTLC value to a foreign key", {
  kind: "htlc-success",
  rules: ["policy-htlc-delayed-pubkey", HTLC_OTHER],
}, (r, c) =>
  htlcOutput(
    r,
    toLocalScript({
      revocationKey: c.keys.revocationKey,
      broadcasterDelayedPaymentKey: FOREIGN_KEY,
      toSelfDelay: c.toSelfDelay,
    }),
  ));

htlcTest("policy-htlc-fee-range", "a fee below relay", {
  kind: "htlc-success",
  rules: ["policy-htlc-fee-range", HTLC_OTHER],
}, (r) => r.tx.outputs[0].amount = (r.amountSat ?? 0n) - 100n);

htlcTest("policy-htlc-other", "an HTLC of a commitment we never saw", {
  kind: "htlc-success",
  rules: [HTLC_OTHER],
}, (r) => r.tx.inputs[0].txid = OTHER_OUTPOINT.slice());

refusal("policy-htlc-cltv-range", "the peer's HTLC-timeout one block early", async () => {
  const rig = await Rig.create();
  await rig.openWithTwoHtlcs();
  const c = rig.holderCommitment("peer", 2);
  const h = htlcTxOf(c, "htlc-timeout");
  const request = (edit: (t: Tx) => void = () => {}) => ({
    ...htlcRequest(2, h, edit),
    perCommitmentPoint: holderPoint(rig.peer.keys, 2),
  });
  await expectRefusal(
    rig,
    () => rig.signer.signCounterpartyHtlcTx(rig.id, request((t) => t.locktime -= 1)),
    ["policy-htlc-cltv-range", HTLC_OTHER],
  );
  await rig.signer.signCounterpartyHtlcTx(rig.id, request());
});

// =================================================================================================
// J. Mutual close (we opened: we pay the fee)

function closeValues(rig: Rig, edit: Partial<MutualCloseValues> = {}): MutualCloseValues {
  const ours = rig.openerMsat / 1000n - 1000n;
  return {
    toHolderSat: ours,
    toCounterpartySat: rig.acceptorMsat / 1000n,
    holderScript: walletScript(3),
    counterpartyScript: PEER_SCRIPT,
    holderWalletPath: [3],
    ...edit,
  };
}

async function refusedClose(
  edit: (rig: Rig) => Partial<MutualCloseValues>,
  rules: string[],
  open: (rig: Rig) => Promise<void> = (rig) => rig.open(),
): Promise<void> {
  const rig = await Rig.create();
  await open(rig);
  await expectRefusal(
    rig,
    () => rig.signer.signMutualClose(rig.id, { values: closeValues(rig, edit(rig)) }),
    rules,
  );
  strictEqual((await rig.state()).enforcement.closed, false);
}

refusal("policy-mutual-destination-allowlisted", "our share to a stranger", () =>
  refusedClose(
    () => ({ holderScript: FOREIGN_SCRIPT, holderWalletPath: [] }),
    // Not our wallet, not the upfront script: the shared-allowlist rule refuses it too.
    ["policy-mutual-destination-allowlisted", "policy-mutual-destination-shared-allowlist"],
  ));

refusal("policy-mutual-value-matches-commitment", "20k sat more to the peer", () =>
  refusedClose(
    (rig) => ({
      toHolderSat: rig.openerMsat / 1000n - 21_000n,
      toCounterpartySat: rig.acceptorMsat / 1000n + 20_000n,
    }),
    ["policy-mutual-value-matches-commitment"],
  ));

refusal(
  "policy-mutual-fee-range",
  "half our balance as fee",
  () => refusedClose(() => ({ toHolderSat: 199_000n }), ["policy-mutual-fee-range"]),
);

refusal("policy-mutual-no-pending-htlcs", "closing with HTLCs in flight", () =>
  refusedClose(
    (rig) => ({ toHolderSat: 1_000_000n - rig.acceptorMsat / 1000n - 1000n }),
    ["policy-mutual-no-pending-htlcs"],
    (rig) => rig.openWithTwoHtlcs(),
  ));

refusal(
  "policy-mutual-scripts",
  "a non-standard peer script",
  () =>
    refusedClose(() => ({ counterpartyScript: buildScript(1, "DROP") }), ["policy-mutual-scripts"]),
);

refusal("policy-mutual-other", "the node's closing transaction as version 1", async () => {
  const rig = await Rig.create();
  await rig.open();
  const v = closeValues(rig);
  const tx = assembleClosingTx({
    fundingOutpoint: { txid: fromHex(rig.setup.fundingOutpoint.txid), vout: 0 },
    fundingSatoshis: rig.setup.channelValueSat,
    holderFundingPubkey: rig.keys.fundingPubkey,
    counterpartyFundingPubkey: rig.peer.keys.fundingPubkey,
    toHolderSat: v.toHolderSat,
    toCounterpartySat: v.toCounterpartySat,
    holderScript: v.holderScript,
    counterpartyScript: v.counterpartyScript,
  }).tx;
  const request = (t: Tx) => ({
    spend: spendOf(t, {
      outputPaths: t.outputs.map((o) => (toHex(o.script) === toHex(v.holderScript) ? [3] : [])),
    }),
    remoteFundingPubkey: rig.peer.keys.fundingPubkey,
  });
  await expectRefusal(
    rig,
    () => rig.signer.signMutualClose(rig.id, request(copyTx(tx, (t) => t.version = 1))),
    ["policy-mutual-other"],
  );
  await rig.signer.signMutualClose(rig.id, request(tx));
  strictEqual((await rig.state()).enforcement.closed, true);
});

// =================================================================================================
// K. Sweeps of our to_local (our commitment 2, delay 6) and of the peer's commitments

/** A one-input sweep of output `vout` of `c` to our wallet key 5 (500 sat fee). */
function sweepSpend(
  c: RebuiltCommitment,
  vout: number,
  o: { sequence: number; locktime?: number; fee?: bigint; to?: Uint8Array },
): SpendTx {
  const tx = makeTx(
    [{ txid: txid(c.tx), vout, sequence: o.sequence }],
    [{ amount: c.outputs[vout].amountSat - (o.fee ?? 500n), script: o.to ?? walletScript(5) }],
    o.locktime ?? 0,
  );
  return spendOf(tx, {
    spent: [{ amount: c.outputs[vout].amountSat, script: c.outputs[vout].scriptPubKey }],
    outputPaths: [o.to ? [] : [5]],
  });
}

async function refusedDelayedSweep(
  o: { sequence?: number; locktime?: number; fee?: bigint; to?: Uint8Array; version?: number },
  rules: string[],
  chain?: TestChain,
): Promise<void> {
  const rig = await Rig.create({ chain });
  await rig.openWithTwoHtlcs();
  const c = rig.holderCommitment("us", 2);
  const vout = outputOf(c, "to_broadcaster");
  const request = (edit: typeof o = {}) => {
    const spend = sweepSpend(c, vout, { sequence: 6, ...edit });
    if (edit.version !== undefined) spend.tx.version = edit.version;
    return { number: 2, spend, inputIndex: 0, witnessScript: c.outputs[vout].witnessScript };
  };
  await expectRefusal(rig, () => rig.signer.signDelayedSweep(rig.id, request(o)), rules);
  await rig.signer.signDelayedSweep(rig.id, request());
}

refusal(
  "policy-sweep-version",
  "version 1",
  () => refusedDelayedSweep({ version: 1 }, ["policy-sweep-version"]),
);

refusal(
  "policy-sweep-sequence",
  "before the CSV delay",
  () => refusedDelayedSweep({ sequence: 5 }, ["policy-sweep-sequence"]),
);

refusal(
  "policy-sweep-locktime",
  "a timestamp locktime",
  () => refusedDelayedSweep({ locktime: 500_000_000 }, ["policy-sweep-locktime"]),
);

refusal("policy-sweep-locktime", "a locktime ten blocks past our tip", () => {
  const chain = new TestChain();
  return refusedDelayedSweep({ locktime: chain.height + 10 }, ["policy-sweep-locktime"], chain);
});

refusal(
  "policy-sweep-destination-allowlisted",
  "to a stranger",
  () => refusedDelayedSweep({ to: FOREIGN_SCRIPT }, ["policy-sweep-destination-allowlisted"]),
);

refusal(
  "policy-sweep-fee-range",
  "the output burnt as fee",
  () => refusedDelayedSweep({ fee: 500_000n }, ["policy-sweep-fee-range"]),
);

/**
 * A sweep of output `vout` of `c` plus a foreign input whose amount the node leaves out (as LDK
 * does for the inputs it does not ask us to sign), paying `out` sat to our wallet key 5.
 */
function sweepWithUnknownInput(
  c: RebuiltCommitment,
  vout: number,
  o: { sequence: number; out: bigint },
): SpendTx {
  const tx = makeTx(
    [{ txid: txid(c.tx), vout, sequence: o.sequence }, { txid: OTHER_OUTPOINT, vout: 0 }],
    [{ amount: o.out, script: walletScript(5) }],
  );
  return spendOf(tx, {
    spent: [{ amount: c.outputs[vout].amountSat, script: c.outputs[vout].scriptPubKey }, null],
    outputPaths: [[5]],
  });
}

refusal(
  "policy-sweep-fee-range",
  "our output burnt behind an input of unknown amount (delayed, HTLC and justice sweeps)",
  async () => {
    // The mainnet cap (test networks allow 333,333 sat/kw, more than a 50k-sat HTLC can burn).
    const rig = await Rig.create({ site: "param max_feerate_per_kw = 25_000 per-kw" });
    await rig.openWithTwoHtlcs();
    // Our to_local of commitment 2, the HTLC the peer offered on its commitment 2, and the
    // peer's revoked commitment 1's to_local: each with 1,000 sat paid out of its whole value
    // (the rest is fee, however much the unknown input adds), then with the unknown input
    // funding the outputs above our value (an aggregated claim): allowed.
    const ours = rig.holderCommitment("us", 2);
    const theirs = rig.holderCommitment("peer", 2);
    const revoked = rig.holderCommitment("peer", 1);
    const local = outputOf(ours, "to_broadcaster");
    const htlc = theirs.outputs.findIndex((o) => o.kind === "htlc" && o.htlc?.offered);
    const penalty = outputOf(revoked, "to_broadcaster");
    const cases: [RebuiltCommitment, number, (spend: SpendTx) => Promise<unknown>][] = [
      [ours, local, (spend) =>
        rig.signer.signDelayedSweep(rig.id, {
          number: 2,
          spend,
          inputIndex: 0,
          witnessScript: ours.outputs[local].witnessScript,
        })],
      [theirs, htlc, (spend) =>
        rig.signer.signCounterpartyHtlcSweep(rig.id, {
          spend,
          inputIndex: 0,
          witnessScript: theirs.outputs[htlc].witnessScript,
          perCommitmentPoint: holderPoint(rig.peer.keys, 2),
        })],
      [revoked, penalty, (spend) =>
        rig.signer.signJusticeSweep(rig.id, {
          spend,
          inputIndex: 0,
          witnessScript: revoked.outputs[penalty].witnessScript,
          revocationSecret: holderSecret(rig.peer.keys, 1),
        })],
    ];
    const sequences = [6, 0xfffffffd, 0xffffffff];
    for (const [k, [c, vout, sign]] of cases.entries()) {
      const sequence = sequences[k];
      await expectRefusal(
        rig,
        () => sign(sweepWithUnknownInput(c, vout, { sequence, out: 1_000n })),
        ["policy-sweep-fee-range"],
      );
      await sign(sweepWithUnknownInput(c, vout, { sequence, out: c.outputs[vout].amountSat + 1n }));
    }
    const sweeps = rig.audit.filter((a) => a.kind.endsWith("_sweep"));
    deepStrictEqual(
      sweeps.map((a) => [a.kind, a.decision.allowed, a.decision.warnings.length]),
      ["sign_delayed_sweep", "sign_counterparty_htlc_sweep", "sign_justice_sweep"].flatMap((
        kind,
      ) => [[kind, false, 0], [kind, true, 0]]),
    );
  },
);

refusal(
  "policy-sweep-other",
  "an HTLC of an unknown commitment, an unrevealed secret",
  async () => {
    const rig = await Rig.create();
    await rig.openWithTwoHtlcs();
    const theirs = rig.holderCommitment("peer", 2);
    const i = theirs.outputs.findIndex((o) => o.kind === "htlc" && o.htlc?.offered);
    const htlcSweep = (point: Uint8Array) => ({
      spend: sweepSpend(theirs, i, { sequence: 0xfffffffd }),
      inputIndex: 0,
      witnessScript: theirs.outputs[i].witnessScript,
      perCommitmentPoint: point,
    });
    await expectRefusal(
      rig,
      () => rig.signer.signCounterpartyHtlcSweep(rig.id, htlcSweep(holderPoint(rig.peer.keys, 5))),
      ["policy-sweep-other"],
    );
    await rig.signer.signCounterpartyHtlcSweep(rig.id, htlcSweep(holderPoint(rig.peer.keys, 2)));
    // The peer's commitment 1 is revoked (R = 2), commitment 2 is not.
    const justice = (n: number) => {
      const c = rig.holderCommitment("peer", n);
      const vout = outputOf(c, "to_broadcaster");
      return {
        spend: sweepSpend(c, vout, { sequence: 0xffffffff }),
        inputIndex: 0,
        witnessScript: c.outputs[vout].witnessScript,
        revocationSecret: holderSecret(rig.peer.keys, n),
      };
    };
    await expectRefusal(
      rig,
      () => rig.signer.signJusticeSweep(rig.id, justice(2)),
      ["policy-sweep-other"],
    );
    await rig.signer.signJusticeSweep(rig.id, justice(1));
  },
);

// =================================================================================================
// Honest traffic: no rule may refuse (or even warn about) any of it

Deno.test("honest flow: open, 20 payments each way with HTLCs added and settled, close", async () => {
  for (const anchors of [false, true]) {
    const chain = new TestChain();
    const rig = await Rig.create({ anchors, chain });
    await rig.open();
    let n = 1;
    for (let i = 0; i < 20; i++) {
      for (const from of ["us", "peer"] as const) {
        const to = from === "us" ? "peer" : "us";
        const amountMsat = 20_000_000n + BigInt(i) * 1_000n;
        const htlc = {
          fromOpener: from === "us",
          amountMsat,
          hash: hashOf(100 + 2 * i + (from === "us" ? 0 : 1)),
          cltv: chain.height + 40 + i,
        };
        // Our payments are approved first, as a node must (policy-commitment-htlc-routing-balance).
        if (from === "us") await rig.approve(htlc.hash, amountMsat);
        if (from === "us") rig.openerMsat -= amountMsat;
        else rig.acceptorMsat -= amountMsat;
        rig.htlcs.push(htlc);
        await rig.commit(from, n);
        // A node re-sends its last commitment_signed after a reconnect: an identical retry.
        if (from === "us") await rig.signPeerCommitment(n);
        await rig.revoke(to, n - 1);
        await rig.commit(to, n);
        await rig.revoke(from, n - 1);
        // The peer re-sends its signatures on our current commitment: validated again, unchanged.
        await rig.signer.validateHolderCommitment(rig.id, await rig.peerSignsOurs(n));
        await rig.signer.getPerCommitmentPoint(rig.id, n + 1);
        n++;
        // Settled: the receiver removes the HTLC and signs first; half the updates in phase 1.
        rig.htlcs = rig.htlcs.filter((h) => h !== htlc);
        if (to === "us") rig.openerMsat += amountMsat;
        else rig.acceptorMsat += amountMsat;
        await rig.update(to, n, n % 2 === 0);
        n++;
      }
    }
    const e = (await rig.state()).enforcement;
    deepStrictEqual(
      [e.nextHolderCommitNum, e.nextCounterpartyCommitNum, e.nextCounterpartyRevokeNum],
      [n, n, n - 1],
    );
    // The peer's node sends the closing transaction; we pay the 1000-sat fee.
    const ours = rig.openerMsat / 1000n - 1000n;
    const theirs = rig.acceptorMsat / 1000n;
    const tx = assembleClosingTx({
      fundingOutpoint: { txid: fromHex(rig.setup.fundingOutpoint.txid), vout: 0 },
      fundingSatoshis: rig.setup.channelValueSat,
      holderFundingPubkey: rig.keys.fundingPubkey,
      counterpartyFundingPubkey: rig.peer.keys.fundingPubkey,
      toHolderSat: ours,
      toCounterpartySat: theirs,
      holderScript: walletScript(3),
      counterpartyScript: PEER_SCRIPT,
    }).tx;
    await rig.signer.signMutualClose(rig.id, {
      spend: spendOf(tx, {
        outputPaths: tx.outputs.map((o) => (toHex(o.script) === toHex(walletScript(3)) ? [3] : [])),
      }),
      remoteFundingPubkey: rig.peer.keys.fundingPubkey,
    });
    strictEqual((await rig.state()).enforcement.closed, true);
    assertNoViolations(rig);
    strictEqual(rig.audit.length > 300, true, `${rig.audit.length} decisions`);
  }
});

Deno.test("honest on-chain requests: HTLC txs, sweeps, splice, anchor spend, force close", async () => {
  for (const anchors of [false, true]) {
    const chain = new TestChain();
    const rig = await Rig.create({ anchors, chain });
    await rig.openWithTwoHtlcs();
    const ours = rig.holderCommitment("us", 2);
    for (const h of ours.htlcTxs) await rig.signer.signHolderHtlcTx(rig.id, htlcRequest(2, h));
    const theirs = rig.holderCommitment("peer", 2);
    for (const h of theirs.htlcTxs) {
      await rig.signer.signCounterpartyHtlcTx(rig.id, {
        ...htlcRequest(2, h),
        perCommitmentPoint: holderPoint(rig.peer.keys, 2),
      });
    }
    const vout = outputOf(ours, "to_broadcaster");
    await rig.signer.signDelayedSweep(rig.id, {
      number: 2,
      spend: sweepSpend(ours, vout, { sequence: 6, locktime: chain.height }),
      inputIndex: 0,
      witnessScript: ours.outputs[vout].witnessScript,
    });
    for (const [i, o] of theirs.outputs.entries()) {
      if (o.kind !== "htlc" || !o.htlc) continue;
      // Offered by the peer: we claim with the preimage; ours: we time it out at its expiry.
      const sequence = anchors ? 1 : 0xfffffffd;
      const locktime = o.htlc.offered ? chain.height : o.htlc.cltvExpiry;
      await rig.signer.signCounterpartyHtlcSweep(rig.id, {
        spend: sweepSpend(theirs, i, { sequence, locktime }),
        inputIndex: 0,
        witnessScript: o.witnessScript,
        perCommitmentPoint: holderPoint(rig.peer.keys, 2),
      });
    }
    const revoked = rig.holderCommitment("peer", 0);
    const toLocal = outputOf(revoked, "to_broadcaster");
    await rig.signer.signJusticeSweep(rig.id, {
      spend: sweepSpend(revoked, toLocal, { sequence: 0xffffffff }),
      inputIndex: 0,
      witnessScript: revoked.outputs[toLocal].witnessScript,
      revocationSecret: holderSecret(rig.peer.keys, 0),
    });
    await rig.signer.signSplice(rig.id, spliceIn(rig));
    if (anchors) {
      const a = outputOf(ours, "anchor_broadcaster");
      const bump = makeTx(
        [{ txid: txid(ours.tx), vout: a }, { txid: new Uint8Array(32).fill(0xcc), vout: 2 }],
        [{ amount: 49_000n, script: walletScript(10) }],
      );
      await rig.signer.signAnchorSpend(rig.id, {
        spend: spendOf(bump, {
          spent: [
            { amount: 330n, script: ours.outputs[a].scriptPubKey },
            { amount: 50_000n, script: walletScript(9) },
          ],
          inputPaths: [[], [9]],
          outputPaths: [[10]],
        }),
        inputIndex: 0,
      });
    }
    await rig.signer.signHolderCommitment(rig.id, 2);
    assertNoViolations(rig);
  }
});
