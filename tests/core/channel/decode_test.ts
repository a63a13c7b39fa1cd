/**
 * core/channel/decode.ts (phase 1): the node's commitment transaction decoded output by output
 * into BOLT #3 templates (keys, delays, hashes), its two main values read back, and the
 * property-by-property comparison with the signer's rebuild that names the first field that
 * differs. The node transactions are BOLT #3 Appendix C and F commitments; the witness scripts of
 * Appendix C are the appendix's own annotations.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { fromHex, toHex } from "../../../core/bytes.ts";
import { hash160 } from "../../../core/crypto/mod.ts";
import { buildScript, p2pkh, p2wpkh, p2wsh } from "../../../core/bitcoin/script.ts";
import type { Tx } from "../../../core/bitcoin/tx.ts";
import { toLocalScript } from "../../../core/bolt3/scripts.ts";
import {
  compareCommitmentTx,
  decodeCommitmentValues,
  type DecodedOutput,
  decodeOutputs,
  decodeWitnessScript,
  type NodeCommitment,
  rebuiltTxFacts,
} from "../../../core/channel/decode.ts";
import { rebuildCommitment, type RebuiltCommitment } from "../../../core/channel/rebuild.ts";
import {
  caseInfo,
  caseTx,
  foreignKey,
  HTLCS,
  localKeys,
  remoteKeys,
  SEVEN_OUTPUTS,
  SEVEN_OUTPUTS_ANCHORS,
  VECTOR,
  vectorSetup,
} from "./_bolt3.ts";

/** Appendix C's seven-output commitment with the witness scripts its annotations list. */
function appendixCNode(): NodeCommitment {
  const tx = caseTx(SEVEN_OUTPUTS);
  const listed = SEVEN_OUTPUTS.annotations?.outputs_listed ?? [];
  const scripts = listed.flatMap((o) => (o.witness_script ? [fromHex(o.witness_script)] : []));
  strictEqual(scripts.length, 6, "five HTLCs and to_local");
  return {
    tx,
    witnessScripts: tx.outputs.map((o) =>
      scripts.find((s) => toHex(p2wsh(s)) === toHex(o.script)) ?? null
    ),
  };
}

/** Local's rebuild of a vector case (holder) or remote's (counterparty). */
function rebuildOf(side: "local" | "remote", anchors: boolean): RebuiltCommitment {
  const c = anchors ? SEVEN_OUTPUTS_ANCHORS : SEVEN_OUTPUTS;
  return rebuildCommitment(side === "local" ? "holder" : "counterparty", {
    setup: vectorSetup(side, anchors),
    keys: side === "local" ? localKeys() : remoteKeys(),
    info: caseInfo(c, anchors),
  });
}

/** Appendix F's commitment with the witness scripts of local's rebuild. */
function appendixFNode(): NodeCommitment {
  const rebuilt = rebuildOf("local", true);
  return {
    tx: caseTx(SEVEN_OUTPUTS_ANCHORS),
    witnessScripts: rebuilt.outputs.map((o) => o.witnessScript ?? null),
  };
}

/** A decoded output with its keys as hex (for comparisons). */
function hexed(d: DecodedOutput): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(d).map(([k, v]) => [k, v instanceof Uint8Array ? toHex(v) : v]),
  );
}

const localHtlc = VECTOR.localHtlcPubkey;
const remoteHtlc = VECTOR.remoteHtlcPubkey;
const revocationHash = toHex(hash160(fromHex(VECTOR.localRevocationPubkey)));
const hash160Of = (i: number) => toHex(hash160(fromHex(HTLCS[i].preimage)));

Deno.test("decodeWitnessScript: Appendix C's to_local and HTLC scripts, keys and values read out", () => {
  const listed = SEVEN_OUTPUTS.annotations?.outputs_listed ?? [];
  const decoded = listed.flatMap((o) =>
    o.witness_script ? [hexed(decodeWitnessScript(fromHex(o.witness_script)))] : []
  );
  const htlc = (i: number) => ({
    kind: HTLCS[i].offered ? "offered_htlc" : "received_htlc",
    revocationHash,
    countersignatoryKey: remoteHtlc,
    broadcasterKey: localHtlc,
    paymentHash160: hash160Of(i),
    cltvExpiry: HTLCS[i].offered ? 0 : HTLCS[i].cltvExpiry,
    anchors: false,
  });
  // The annotations list offered HTLCs 2 and 3, received 0, 1 and 4, then to_local.
  deepStrictEqual(decoded, [
    htlc(2),
    htlc(3),
    htlc(0),
    htlc(1),
    htlc(4),
    {
      kind: "to_local",
      revocationKey: VECTOR.localRevocationPubkey,
      toSelfDelay: 144,
      delayedKey: VECTOR.localDelayedPubkey,
    },
  ]);
});

Deno.test("decodeWitnessScript: the anchor templates (Appendix F's outputs)", () => {
  const rebuilt = rebuildOf("local", true);
  const byKind = (kind: string) =>
    rebuilt.outputs.filter((o) => o.kind === kind).map((o) =>
      hexed(decodeWitnessScript(o.witnessScript ?? new Uint8Array()))
    );
  deepStrictEqual(byKind("anchor_broadcaster"), [{
    kind: "anchor",
    key: VECTOR.localFundingPubkey,
  }]);
  deepStrictEqual(byKind("anchor_countersignatory"), [{
    kind: "anchor",
    key: VECTOR.remoteFundingPubkey,
  }]);
  deepStrictEqual(byKind("to_countersignatory"), [{
    kind: "to_remote_anchors",
    key: VECTOR.remotePaymentBasepoint,
  }]);
  const htlcs = byKind("htlc");
  strictEqual(htlcs.length, 5);
  for (const h of htlcs) {
    strictEqual(h.anchors, true);
    strictEqual(h.broadcasterKey, localHtlc);
    strictEqual(h.countersignatoryKey, remoteHtlc);
    strictEqual(h.revocationHash, revocationHash);
  }
  deepStrictEqual(
    htlcs.map((h) => [h.kind, h.cltvExpiry]).sort(),
    [
      ["offered_htlc", 0],
      ["offered_htlc", 0],
      ["received_htlc", 500],
      ["received_htlc", 501],
      ["received_htlc", 504],
    ],
  );
});

Deno.test("decodeWitnessScript: scripts that are not a BOLT #3 template are unrecognized, never thrown", () => {
  const key = fromHex(VECTOR.localDelayedPubkey);
  const notTemplate = { kind: "unrecognized", reason: "witness script is not a BOLT #3 template" };
  deepStrictEqual(decodeWitnessScript(Uint8Array.of(0x4c)), {
    kind: "unrecognized",
    reason: "witness script does not parse",
  });
  deepStrictEqual(decodeWitnessScript(new Uint8Array()), notTemplate);
  deepStrictEqual(decodeWitnessScript(fromHex(VECTOR.fundingWitnessScript)), notTemplate);
  // to_local with a delay pushed non-minimally (144 as three bytes), or negative (-1).
  for (const delay of [Uint8Array.of(0x90, 0x00, 0x00), Uint8Array.of(0x81)]) {
    const s = buildScript(
      "IF",
      key,
      "ELSE",
      delay,
      "CHECKSEQUENCEVERIFY",
      "DROP",
      key,
      "ENDIF",
      "CHECKSIG",
    );
    deepStrictEqual(decodeWitnessScript(s), notTemplate);
  }
  // to_local with a 32-byte key.
  const short = buildScript(
    "IF",
    key.subarray(1),
    "ELSE",
    144,
    "CHECKSEQUENCEVERIFY",
    "DROP",
    key,
    "ENDIF",
    "CHECKSIG",
  );
  deepStrictEqual(decodeWitnessScript(short), notTemplate);
  // An offered HTLC whose preimage size check says 33 instead of 32.
  const listed = SEVEN_OUTPUTS.annotations?.outputs_listed ?? [];
  const offered = fromHex(listed[0].witness_script ?? "");
  const size = toHex(offered).indexOf("820120"); // SIZE <32>
  const tampered = fromHex(toHex(offered).replace("820120", "820121"));
  strictEqual(size > 0, true);
  deepStrictEqual(decodeWitnessScript(tampered), notTemplate);
  // Every delay from 0 to 0xffff is read back (small-number opcodes and minimal pushes).
  for (const d of [0, 1, 16, 17, 127, 128, 255, 256, 0x7fff, 0x8000, 0xffff]) {
    const s = toLocalScript({
      revocationKey: key,
      broadcasterDelayedPaymentKey: key,
      toSelfDelay: d,
    });
    const decoded = decodeWitnessScript(s);
    strictEqual(decoded.kind === "to_local" ? decoded.toSelfDelay : -1, d);
  }
});

Deno.test("decodeOutputs: every output of Appendix C's commitment, and each way an output is foreign", () => {
  const node = appendixCNode();
  const { decoded, witscriptsOk } = decodeOutputs(node);
  strictEqual(witscriptsOk, true);
  // Transaction order (BIP 69 with CLTV ties): HTLCs 0, 2, 1, 3, 4, to_remote, to_local.
  deepStrictEqual(decoded.map((d) => d.kind), [
    "received_htlc",
    "offered_htlc",
    "received_htlc",
    "offered_htlc",
    "received_htlc",
    "to_remote_p2wpkh",
    "to_local",
  ]);
  const foreign = (tx: Tx, witnessScripts: (Uint8Array | null)[]) =>
    decodeOutputs({ tx, witnessScripts });
  const ws = node.witnessScripts;
  // A P2PKH output.
  const p2pkhTx = { ...node.tx, outputs: [{ amount: 1000n, script: p2pkh(foreignKey(1)) }] };
  deepStrictEqual(foreign(p2pkhTx, [null]), {
    decoded: [{ kind: "unrecognized", reason: "output is neither P2WPKH nor P2WSH" }],
    witscriptsOk: false,
  });
  // A P2WSH output without its witness script, or with another one.
  const missing = foreign(node.tx, [null, ...ws.slice(1)]);
  deepStrictEqual(missing.decoded[0], {
    kind: "unrecognized",
    reason: "witness script missing or not matching the output",
  });
  strictEqual(missing.witscriptsOk, false);
  const swapped = foreign(node.tx, [ws[1], ws[0], ...ws.slice(2)]);
  deepStrictEqual(swapped.decoded.slice(0, 2).map((d) => d.kind), ["unrecognized", "unrecognized"]);
  strictEqual(swapped.witscriptsOk, false);
  // A P2WSH output whose (matching) script is no template.
  const funding = fromHex(VECTOR.fundingWitnessScript);
  const odd = foreign({ ...node.tx, outputs: [{ amount: 1000n, script: p2wsh(funding) }] }, [
    funding,
  ]);
  deepStrictEqual(odd, {
    decoded: [{ kind: "unrecognized", reason: "witness script is not a BOLT #3 template" }],
    witscriptsOk: false,
  });
  // A P2WPKH output needs no witness script, whatever the entry says.
  deepStrictEqual(
    foreign({ ...node.tx, outputs: [{ amount: 1n, script: p2wpkh(foreignKey(2)) }] }, [funding]),
    { decoded: [{ kind: "to_remote_p2wpkh" }], witscriptsOk: true },
  );
});

Deno.test("decodeCommitmentValues: the two main outputs read from Appendix C and F transactions", () => {
  const keys = localKeys();
  deepStrictEqual(
    decodeCommitmentValues(appendixCNode(), {
      broadcaster: "holder",
      setup: vectorSetup("local", false),
      keys,
    }),
    { toBroadcasterSat: 6_986_976n, toCountersignatorySat: 3_000_000n },
  );
  const f = caseInfo(SEVEN_OUTPUTS_ANCHORS, true);
  deepStrictEqual(
    decodeCommitmentValues(appendixFNode(), {
      broadcaster: "holder",
      setup: vectorSetup("local", true),
      keys,
    }),
    { toBroadcasterSat: f.toBroadcasterSat, toCountersignatorySat: 3_000_000n },
  );
  strictEqual(f.toBroadcasterSat, 6_988_000n - 644n * (1124n + 5n * 172n) / 1000n - 660n);
  // On an anchor channel a P2WPKH to_remote is not the countersignatory's output (and vice versa).
  deepStrictEqual(
    decodeCommitmentValues(appendixCNode(), {
      broadcaster: "holder",
      setup: vectorSetup("local", true),
      keys,
    }),
    { toBroadcasterSat: 6_986_976n, toCountersignatorySat: 0n },
  );
  deepStrictEqual(
    decodeCommitmentValues(appendixFNode(), {
      broadcaster: "holder",
      setup: vectorSetup("local", false),
      keys,
    }),
    { toBroadcasterSat: f.toBroadcasterSat, toCountersignatorySat: 0n },
  );
  // No outputs at all: both zero.
  deepStrictEqual(
    decodeCommitmentValues({ tx: { ...caseTx(SEVEN_OUTPUTS), outputs: [] }, witnessScripts: [] }, {
      broadcaster: "counterparty",
      setup: vectorSetup("remote", false),
      keys: remoteKeys(),
    }),
    { toBroadcasterSat: 0n, toCountersignatorySat: 0n },
  );
});

/** The phase-1 facts of Appendix C's seven-output commitment, seen by local (the broadcaster). */
const HONEST_C = {
  phase: 1,
  version: 2,
  input_count: 1,
  input_spends_funding: true,
  locktime: 0x2052193e,
  expected_locktime: 0x2052193e,
  sequence: 0x802bb038,
  expected_sequence: 0x802bb038,
  witscripts_ok: true,
  to_holder_output_count: 1,
  to_counterparty_output_count: 1,
  unrecognized_output_count: 0,
  revocation_pubkey_ok: true,
  broadcaster_delayed_pubkey_ok: true,
  countersignatory_pubkey_ok: true,
  to_self_delay: 144,
  htlc_revocation_pubkey_ok: true,
  htlc_counterparty_pubkey_ok: true,
  htlc_holder_pubkey_ok: true,
  holder_anchor_count: 0,
  counterparty_anchor_count: 0,
  anchor_wrong_value_count: 0,
  anchor_unknown_key_count: 0,
  matches_rebuild: true,
  first_mismatch: "",
};

function compareLocal(node: NodeCommitment, anchors = false) {
  return compareCommitmentTx(node, rebuildOf("local", anchors), {
    setup: vectorSetup("local", anchors),
    keys: localKeys(),
  });
}

Deno.test("compareCommitmentTx: Appendix C's and F's transactions match the rebuild from either side", () => {
  deepStrictEqual(compareLocal(appendixCNode()), HONEST_C);
  // Remote sees the same transaction as the counterparty's commitment: the counts swap sides.
  deepStrictEqual(
    compareCommitmentTx(appendixCNode(), rebuildOf("remote", false), {
      setup: vectorSetup("remote", false),
      keys: remoteKeys(),
    }),
    HONEST_C,
  );
  deepStrictEqual(compareLocal(appendixFNode(), true), {
    ...HONEST_C,
    holder_anchor_count: 1,
    counterparty_anchor_count: 1,
  });
  const remoteF = compareCommitmentTx(appendixFNode(), rebuildOf("remote", true), {
    setup: vectorSetup("remote", true),
    keys: remoteKeys(),
  });
  deepStrictEqual(
    [remoteF.matches_rebuild, remoteF.holder_anchor_count, remoteF.counterparty_anchor_count],
    [true, 1, 1],
  );
});

/** The node's transaction changed by `edit` (a deep copy). */
function edited(node: NodeCommitment, edit: (tx: Tx, ws: (Uint8Array | null)[]) => void) {
  const tx: Tx = {
    ...node.tx,
    inputs: node.tx.inputs.map((i) => ({ ...i, txid: i.txid.slice() })),
    outputs: node.tx.outputs.map((o) => ({ ...o })),
  };
  const ws = node.witnessScripts.slice();
  edit(tx, ws);
  return { tx, witnessScripts: ws };
}

Deno.test("compareCommitmentTx: each tampered field is named, and flips the facts that describe it", () => {
  const node = appendixCNode();
  const cases: [string, (tx: Tx, ws: (Uint8Array | null)[]) => void, Record<string, unknown>][] = [
    ["version", (tx) => (tx.version = 1), { version: 1 }],
    ["input count", (tx) => tx.inputs.push({ ...tx.inputs[0], vout: 1 }), { input_count: 2 }],
    [
      "input 0 outpoint",
      (tx) => (tx.inputs[0].vout = 1),
      { input_spends_funding: false },
    ],
    ["input 0 outpoint", (tx) => (tx.inputs[0].txid[0] ^= 1), { input_spends_funding: false }],
    ["input 0 sequence", (tx) => (tx.inputs[0].sequence = 0xffffffff), { sequence: 0xffffffff }],
    ["input 0 scriptSig", (tx) => (tx.inputs[0].scriptSig = Uint8Array.of(0x51)), {}],
    ["locktime", (tx) => (tx.locktime = 0), { locktime: 0 }],
    [
      "output count",
      (tx, ws) => {
        tx.outputs.push({ amount: 5000n, script: p2pkh(foreignKey(3)) });
        ws.push(null);
      },
      { unrecognized_output_count: 1, witscripts_ok: false },
    ],
    ["output 6 amount", (tx) => (tx.outputs[6].amount += 1n), {}],
    [
      "output 5 script",
      (tx) => (tx.outputs[5].script = p2wpkh(foreignKey(4))),
      { countersignatory_pubkey_ok: false },
    ],
  ];
  for (const [field, edit, changed] of cases) {
    const facts = compareLocal(edited(node, edit));
    deepStrictEqual(facts, {
      ...HONEST_C,
      ...changed,
      matches_rebuild: false,
      first_mismatch: field,
    }, field);
  }
});

Deno.test("compareCommitmentTx: wrong keys and delays inside the scripts, and foreign anchors", () => {
  const node = appendixCNode();
  const other = foreignKey(5);
  // to_local with another delayed key, another revocation key, and a delay of 6.
  const toLocal = (o: { revocationKey?: Uint8Array; delayed?: Uint8Array; delay?: number }) =>
    edited(node, (tx, ws) => {
      const s = toLocalScript({
        revocationKey: o.revocationKey ?? fromHex(VECTOR.localRevocationPubkey),
        broadcasterDelayedPaymentKey: o.delayed ?? fromHex(VECTOR.localDelayedPubkey),
        toSelfDelay: o.delay ?? 144,
      });
      tx.outputs[6].script = p2wsh(s);
      ws[6] = s;
    });
  const diff = (n: NodeCommitment) => {
    const facts = compareLocal(n) as unknown as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(facts).filter(([k, v]) => v !== (HONEST_C as Record<string, unknown>)[k]),
    );
  };
  const mismatch = { matches_rebuild: false, first_mismatch: "output 6 script" };
  deepStrictEqual(diff(toLocal({ delayed: other })), {
    broadcaster_delayed_pubkey_ok: false,
    ...mismatch,
  });
  deepStrictEqual(diff(toLocal({ revocationKey: other })), {
    revocation_pubkey_ok: false,
    ...mismatch,
  });
  deepStrictEqual(diff(toLocal({ delay: 6 })), { to_self_delay: 6, ...mismatch });
  // An HTLC script with the local and remote HTLC keys swapped (the hex of the two keys).
  const swappedHtlc = edited(node, (tx, ws) => {
    const s = fromHex(
      toHex(ws[0] ?? new Uint8Array())
        .replace(remoteHtlc, "REMOTE").replace(localHtlc, remoteHtlc).replace("REMOTE", localHtlc),
    );
    tx.outputs[0].script = p2wsh(s);
    ws[0] = s;
  });
  deepStrictEqual(diff(swappedHtlc), {
    htlc_counterparty_pubkey_ok: false,
    htlc_holder_pubkey_ok: false,
    matches_rebuild: false,
    first_mismatch: "output 0 script",
  });
  // An HTLC script with another revocation hash.
  const revHtlc = edited(node, (tx, ws) => {
    const s = fromHex(toHex(ws[0] ?? new Uint8Array()).replace(revocationHash, "00".repeat(20)));
    tx.outputs[0].script = p2wsh(s);
    ws[0] = s;
  });
  deepStrictEqual(diff(revHtlc), {
    htlc_revocation_pubkey_ok: false,
    matches_rebuild: false,
    first_mismatch: "output 0 script",
  });
  // On an anchor channel: a 331-sat anchor, and an anchor of a key nobody has.
  const anchorsNode = appendixFNode();
  const anchorIndex = rebuildOf("local", true).outputs.findIndex((o) =>
    o.kind === "anchor_countersignatory"
  );
  const fat = compareLocal(
    edited(anchorsNode, (tx) => (tx.outputs[anchorIndex].amount = 331n)),
    true,
  );
  deepStrictEqual(
    [fat.anchor_wrong_value_count, fat.counterparty_anchor_count, fat.first_mismatch],
    [1, 1, `output ${anchorIndex} amount`],
  );
  const stranger = buildScript(
    other,
    "CHECKSIG",
    "IFDUP",
    "NOTIF",
    16,
    "CHECKSEQUENCEVERIFY",
    "ENDIF",
  );
  const unknown = compareLocal(
    edited(anchorsNode, (tx, ws) => {
      tx.outputs[anchorIndex].script = p2wsh(stranger);
      ws[anchorIndex] = stranger;
    }),
    true,
  );
  deepStrictEqual(
    [
      unknown.anchor_unknown_key_count,
      unknown.counterparty_anchor_count,
      unknown.holder_anchor_count,
    ],
    [1, 0, 1],
  );
  // A non-anchor HTLC script on an anchor channel is foreign.
  const legacyHtlc = compareLocal(
    edited(anchorsNode, (tx, ws) => {
      const i = rebuildOf("local", true).outputs.findIndex((o) => o.kind === "htlc");
      const s = node.witnessScripts[0] ?? new Uint8Array();
      tx.outputs[i].script = p2wsh(s);
      ws[i] = s;
    }),
    true,
  );
  strictEqual(legacyHtlc.unrecognized_output_count, 1);
});

Deno.test("compareCommitmentTx: a transaction without inputs or outputs is described, not thrown on", () => {
  const node = { tx: { ...caseTx(SEVEN_OUTPUTS), inputs: [], outputs: [] }, witnessScripts: [] };
  const facts = compareLocal(node);
  deepStrictEqual(
    [
      facts.input_count,
      facts.input_spends_funding,
      facts.sequence,
      facts.to_holder_output_count,
      facts.to_self_delay,
      facts.matches_rebuild,
      facts.first_mismatch,
    ],
    [0, false, 0, 0, 144, false, "input count"],
  );
});

Deno.test("rebuiltTxFacts: phase 2 describes the rebuild itself, from either side", () => {
  const expected = { ...HONEST_C, phase: 2 };
  deepStrictEqual(rebuiltTxFacts(rebuildOf("local", false)), expected);
  deepStrictEqual(rebuiltTxFacts(rebuildOf("remote", false)), expected);
  deepStrictEqual(rebuiltTxFacts(rebuildOf("local", true)), {
    ...expected,
    holder_anchor_count: 1,
    counterparty_anchor_count: 1,
  });
  // Remote's side of a commitment where only local has an output: remote holds no anchor.
  const single = rebuildCommitment("counterparty", {
    setup: vectorSetup("remote", true),
    keys: remoteKeys(),
    info: { ...caseInfo(SEVEN_OUTPUTS_ANCHORS, true), toCountersignatorySat: 0n, htlcs: [] },
  });
  const f = rebuiltTxFacts(single);
  deepStrictEqual(
    [
      f.to_holder_output_count,
      f.to_counterparty_output_count,
      f.holder_anchor_count,
      f.counterparty_anchor_count,
    ],
    [0, 1, 0, 1],
  );
});
