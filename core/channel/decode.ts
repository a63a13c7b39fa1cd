/**
 * Phase 1: what the node's own commitment transaction says, compared with the signer's rebuild.
 *
 * CLN sends the whole commitment transaction with a PSBT whose outputs carry their witness
 * scripts. The signer reads the two main output values from it (the only values a phase-1 request
 * does not state), rebuilds the commitment from its own state, and then compares the node's
 * transaction with the rebuild property by property, so that a refusal names what differs: the
 * version, the locktime, a key in a script, an extra output... (VLS can only say "recomposed tx
 * mismatch").
 *
 * Output classification follows BOLT #3's templates (to_local, to_remote in both forms, offered
 * and received HTLCs with and without anchors, anchors), parsed structurally so that a template
 * with a wrong key is still recognised as that template and the wrong key reported.
 *
 * @module
 */
import { encodeTx, stripSignatures, type Tx } from "../bitcoin/tx.ts";
import { equal, fromHex } from "../bytes.ts";
import { hash160 } from "../crypto/mod.ts";
import { p2wpkh, p2wsh, parseScript, type ScriptOp } from "../bitcoin/script.ts";
import { commitmentLocktimeAndSequence } from "../bolt3/commitment.ts";
import type { ChannelKeys } from "../keys/types.ts";
import type { CommitmentTxFactsT } from "./facts.ts";
import { isAnchors, type RebuiltCommitment } from "./rebuild.ts";
import type { ChannelSetup } from "./types.ts";

/** The node's transaction with the witness script of each output (null where the PSBT has none). */
export interface NodeCommitment {
  /** The unsigned commitment transaction. */
  tx: Tx;
  /** One entry per output. */
  witnessScripts: (Uint8Array | null)[];
}

/** What one output of a commitment transaction was recognised as. */
export type DecodedOutput =
  | { kind: "to_local"; revocationKey: Uint8Array; toSelfDelay: number; delayedKey: Uint8Array }
  | { kind: "to_remote_p2wpkh" }
  | { kind: "to_remote_anchors"; key: Uint8Array }
  | { kind: "anchor"; key: Uint8Array }
  | {
    kind: "offered_htlc" | "received_htlc";
    revocationHash: Uint8Array;
    countersignatoryKey: Uint8Array;
    broadcasterKey: Uint8Array;
    paymentHash160: Uint8Array;
    cltvExpiry: number;
    anchors: boolean;
  }
  | { kind: "unrecognized"; reason: string };

// ---------------------------------------------------------------------------------------------
// Script templates

type Capture = { capture: string; length?: number } | { number: string };
type Token = string | number | Capture;

function scriptNum(bytes: Uint8Array): number | undefined {
  if (bytes.length === 0 || bytes.length > 5) return undefined;
  if (
    (bytes[bytes.length - 1] & 0x7f) === 0 &&
    (bytes.length === 1 || !(bytes[bytes.length - 2] & 0x80))
  ) {
    return undefined; // not minimally encoded
  }
  let n = 0;
  for (let i = bytes.length - 1; i >= 0; i--) {
    n = n * 256 + (i === bytes.length - 1 ? bytes[i] & 0x7f : bytes[i]);
  }
  return bytes[bytes.length - 1] & 0x80 ? -n : n;
}

function match(
  ops: ScriptOp[],
  template: Token[],
): Record<string, Uint8Array | number> | undefined {
  if (ops.length !== template.length) return undefined;
  const out: Record<string, Uint8Array | number> = {};
  for (let i = 0; i < ops.length; i++) {
    const t = template[i];
    const op = ops[i];
    if (typeof t === "string" || typeof t === "number") {
      if (op !== t) return undefined;
    } else if ("capture" in t) {
      if (!(op instanceof Uint8Array) || (t.length !== undefined && op.length !== t.length)) {
        return undefined;
      }
      out[t.capture] = op;
    } else {
      const n = op instanceof Uint8Array ? scriptNum(op) : typeof op === "number" ? op : undefined;
      if (n === undefined || n < 0) return undefined;
      out[t.number] = n;
    }
  }
  return out;
}

const KEY = (name: string): Capture => ({ capture: name, length: 33 });
const H20 = (name: string): Capture => ({ capture: name, length: 20 });

const TO_LOCAL: Token[] = [
  "IF",
  KEY("revocation"),
  "ELSE",
  { number: "delay" },
  "CHECKSEQUENCEVERIFY",
  "DROP",
  KEY("delayed"),
  "ENDIF",
  "CHECKSIG",
];
const TO_REMOTE_ANCHORS: Token[] = [KEY("key"), "CHECKSIGVERIFY", 1, "CHECKSEQUENCEVERIFY"];
const ANCHOR: Token[] = [
  KEY("key"),
  "CHECKSIG",
  "IFDUP",
  "NOTIF",
  16,
  "CHECKSEQUENCEVERIFY",
  "ENDIF",
];
const HTLC_HEAD: Token[] = [
  "DUP",
  "HASH160",
  H20("revocation"),
  "EQUAL",
  "IF",
  "CHECKSIG",
  "ELSE",
  KEY("remote"),
  "SWAP",
  "SIZE",
  { number: "32" },
  "EQUAL",
];
const ANCHOR_TAIL: Token[] = [1, "CHECKSEQUENCEVERIFY", "DROP"];
const OFFERED_BODY: Token[] = [
  "NOTIF",
  "DROP",
  2,
  "SWAP",
  KEY("local"),
  2,
  "CHECKMULTISIG",
  "ELSE",
  "HASH160",
  H20("hash"),
  "EQUALVERIFY",
  "CHECKSIG",
  "ENDIF",
];
const RECEIVED_BODY: Token[] = [
  "IF",
  "HASH160",
  H20("hash"),
  "EQUALVERIFY",
  2,
  "SWAP",
  KEY("local"),
  2,
  "CHECKMULTISIG",
  "ELSE",
  "DROP",
  { number: "cltv" },
  "CHECKLOCKTIMEVERIFY",
  "DROP",
  "CHECKSIG",
  "ENDIF",
];

/** Recognise a witness script as one of BOLT #3's commitment output templates. */
export function decodeWitnessScript(script: Uint8Array): DecodedOutput {
  let ops: ScriptOp[];
  try {
    ops = parseScript(script);
  } catch {
    return { kind: "unrecognized", reason: "witness script does not parse" };
  }
  let m = match(ops, TO_LOCAL);
  if (m) {
    return {
      kind: "to_local",
      revocationKey: m.revocation as Uint8Array,
      toSelfDelay: m.delay as number,
      delayedKey: m.delayed as Uint8Array,
    };
  }
  m = match(ops, TO_REMOTE_ANCHORS);
  if (m) return { kind: "to_remote_anchors", key: m.key as Uint8Array };
  m = match(ops, ANCHOR);
  if (m) return { kind: "anchor", key: m.key as Uint8Array };
  for (const anchors of [false, true]) {
    const tail = anchors ? ANCHOR_TAIL : [];
    for (const offered of [true, false]) {
      const body = offered ? OFFERED_BODY : RECEIVED_BODY;
      m = match(ops, [...HTLC_HEAD, ...body, ...tail, "ENDIF"]);
      if (m && m["32"] === 32) {
        return {
          kind: offered ? "offered_htlc" : "received_htlc",
          revocationHash: m.revocation as Uint8Array,
          countersignatoryKey: m.remote as Uint8Array,
          broadcasterKey: m.local as Uint8Array,
          paymentHash160: m.hash as Uint8Array,
          cltvExpiry: offered ? 0 : m.cltv as number,
          anchors,
        };
      }
    }
  }
  return { kind: "unrecognized", reason: "witness script is not a BOLT #3 template" };
}

function isP2wpkh(script: Uint8Array): boolean {
  return script.length === 22 && script[0] === 0x00 && script[1] === 0x14;
}

function isP2wsh(script: Uint8Array): boolean {
  return script.length === 34 && script[0] === 0x00 && script[1] === 0x20;
}

/** Classify every output of the node's transaction; P2WSH outputs need a matching witness script. */
export function decodeOutputs(
  node: NodeCommitment,
): { decoded: DecodedOutput[]; witscriptsOk: boolean } {
  let witscriptsOk = true;
  const decoded = node.tx.outputs.map((o, i): DecodedOutput => {
    if (isP2wpkh(o.script)) return { kind: "to_remote_p2wpkh" };
    if (!isP2wsh(o.script)) {
      witscriptsOk = false;
      return { kind: "unrecognized", reason: "output is neither P2WPKH nor P2WSH" };
    }
    const ws = node.witnessScripts[i];
    if (!ws || !equal(p2wsh(ws), o.script)) {
      witscriptsOk = false;
      return { kind: "unrecognized", reason: "witness script missing or not matching the output" };
    }
    const d = decodeWitnessScript(ws);
    if (d.kind === "unrecognized") witscriptsOk = false;
    return d;
  });
  return { decoded, witscriptsOk };
}

/**
 * The two main output values of the node's commitment, read from its outputs: the value of the
 * first to_local-shaped output (the broadcaster's) and of the first to_remote-shaped one (the
 * countersignatory's), 0 when absent. Everything else about the transaction is rebuilt and
 * compared, never taken from it.
 */
export function decodeCommitmentValues(
  node: NodeCommitment,
  ctx: { broadcaster: "holder" | "counterparty"; setup: ChannelSetup; keys: ChannelKeys },
): { toBroadcasterSat: bigint; toCountersignatorySat: bigint } {
  const { decoded } = decodeOutputs(node);
  const anchors = isAnchors(ctx.setup);
  let toBroadcasterSat = 0n;
  let toCountersignatorySat = 0n;
  let seenLocal = false;
  let seenRemote = false;
  decoded.forEach((d, i) => {
    const value = node.tx.outputs[i].amount;
    if (d.kind === "to_local" && !seenLocal) {
      seenLocal = true;
      toBroadcasterSat = value;
    }
    const remote = anchors ? d.kind === "to_remote_anchors" : d.kind === "to_remote_p2wpkh";
    if (remote && !seenRemote) {
      seenRemote = true;
      toCountersignatorySat = value;
    }
  });
  return { toBroadcasterSat, toCountersignatorySat };
}

function firstMismatch(node: Tx, rebuilt: Tx): string {
  if (node.version !== rebuilt.version) return "version";
  if (node.inputs.length !== rebuilt.inputs.length) return "input count";
  for (let i = 0; i < node.inputs.length; i++) {
    const a = node.inputs[i];
    const b = rebuilt.inputs[i];
    if (!equal(a.txid, b.txid) || a.vout !== b.vout) return `input ${i} outpoint`;
    if (a.sequence !== b.sequence) return `input ${i} sequence`;
    if (a.scriptSig.length > 0) return `input ${i} scriptSig`;
  }
  if (node.locktime !== rebuilt.locktime) return "locktime";
  if (node.outputs.length !== rebuilt.outputs.length) return "output count";
  for (let i = 0; i < node.outputs.length; i++) {
    if (node.outputs[i].amount !== rebuilt.outputs[i].amount) return `output ${i} amount`;
    if (!equal(node.outputs[i].script, rebuilt.outputs[i].script)) return `output ${i} script`;
  }
  return "";
}

/**
 * The structural facts of the node's commitment transaction against the rebuild: one fact per
 * property a rule names (version, locktime, keys, counts), plus byte equality and the first field
 * that differs.
 */
export function compareCommitmentTx(
  node: NodeCommitment,
  rebuilt: RebuiltCommitment,
  ctx: { setup: ChannelSetup; keys: ChannelKeys },
): CommitmentTxFactsT {
  const { decoded, witscriptsOk } = decodeOutputs(node);
  const { tx } = node;
  const expected = commitmentLocktimeAndSequence(rebuilt.obscuredCommitmentNumber);
  const keys = rebuilt.keys;
  const anchors = isAnchors(ctx.setup);
  const holderIsBroadcaster = rebuilt.broadcaster === "holder";
  const cpFunding = fromHex(ctx.setup.counterparty.fundingPubkey);
  const holderFunding = ctx.keys.fundingPubkey;
  const countersignatoryPayment = holderIsBroadcaster
    ? fromHex(ctx.setup.counterparty.paymentBasepoint)
    : ctx.keys.basepoints.payment;
  const revocationHash = hash160(keys.revocationKey);
  const f = {
    toBroadcaster: 0,
    toCountersignatory: 0,
    unrecognized: 0,
    revocationOk: true,
    delayedOk: true,
    countersignatoryOk: true,
    toSelfDelay: rebuilt.toSelfDelay,
    htlcRevocationOk: true,
    htlcBroadcasterOk: true,
    htlcCountersignatoryOk: true,
    holderAnchors: 0,
    counterpartyAnchors: 0,
    anchorWrongValue: 0,
    anchorUnknownKey: 0,
  };
  decoded.forEach((d, i) => {
    const value = tx.outputs[i].amount;
    switch (d.kind) {
      case "to_local":
        f.toBroadcaster++;
        if (!equal(d.revocationKey, keys.revocationKey)) f.revocationOk = false;
        if (!equal(d.delayedKey, keys.broadcasterDelayedPaymentKey)) f.delayedOk = false;
        if (f.toBroadcaster === 1) f.toSelfDelay = d.toSelfDelay;
        break;
      case "to_remote_p2wpkh":
        if (anchors) {
          f.unrecognized++;
          break;
        }
        f.toCountersignatory++;
        if (!equal(tx.outputs[i].script, p2wpkh(countersignatoryPayment))) {
          f.countersignatoryOk = false;
        }
        break;
      case "to_remote_anchors":
        if (!anchors) {
          f.unrecognized++;
          break;
        }
        f.toCountersignatory++;
        if (!equal(d.key, countersignatoryPayment)) f.countersignatoryOk = false;
        break;
      case "anchor":
        if (value !== 330n) f.anchorWrongValue++;
        if (equal(d.key, holderFunding)) f.holderAnchors++;
        else if (equal(d.key, cpFunding)) f.counterpartyAnchors++;
        else f.anchorUnknownKey++;
        break;
      case "offered_htlc":
      case "received_htlc":
        if (d.anchors !== anchors) {
          f.unrecognized++;
          break;
        }
        if (!equal(d.revocationHash, revocationHash)) f.htlcRevocationOk = false;
        if (!equal(d.broadcasterKey, keys.broadcasterHtlcKey)) f.htlcBroadcasterOk = false;
        if (!equal(d.countersignatoryKey, keys.countersignatoryHtlcKey)) {
          f.htlcCountersignatoryOk = false;
        }
        break;
      case "unrecognized":
        f.unrecognized++;
        break;
    }
  });
  const input = tx.inputs[0];
  const fundingTxid = fromHex(ctx.setup.fundingOutpoint.txid);
  const mismatch = firstMismatch(tx, rebuilt.tx);
  const same = mismatch === "" &&
    equal(
      encodeTx(stripSignatures(tx), { witness: false }),
      encodeTx(rebuilt.tx, { witness: false }),
    );
  return {
    phase: 1,
    version: tx.version,
    input_count: tx.inputs.length,
    input_spends_funding: input !== undefined && equal(input.txid, fundingTxid) &&
      input.vout === ctx.setup.fundingOutpoint.vout,
    locktime: tx.locktime,
    expected_locktime: expected.locktime,
    sequence: input?.sequence ?? 0,
    expected_sequence: expected.sequence,
    witscripts_ok: witscriptsOk,
    to_holder_output_count: holderIsBroadcaster ? f.toBroadcaster : f.toCountersignatory,
    to_counterparty_output_count: holderIsBroadcaster ? f.toCountersignatory : f.toBroadcaster,
    unrecognized_output_count: f.unrecognized,
    revocation_pubkey_ok: f.revocationOk,
    broadcaster_delayed_pubkey_ok: f.delayedOk,
    countersignatory_pubkey_ok: f.countersignatoryOk,
    to_self_delay: f.toSelfDelay,
    htlc_revocation_pubkey_ok: f.htlcRevocationOk,
    htlc_counterparty_pubkey_ok: holderIsBroadcaster
      ? f.htlcCountersignatoryOk
      : f.htlcBroadcasterOk,
    htlc_holder_pubkey_ok: holderIsBroadcaster ? f.htlcBroadcasterOk : f.htlcCountersignatoryOk,
    holder_anchor_count: f.holderAnchors,
    counterparty_anchor_count: f.counterpartyAnchors,
    anchor_wrong_value_count: f.anchorWrongValue,
    anchor_unknown_key_count: f.anchorUnknownKey,
    matches_rebuild: same,
    first_mismatch: same ? "" : mismatch || "witness or serialisation",
  };
}

/**
 * Phase 2: no node transaction; the facts describe the rebuild itself, which is correct by
 * construction (counts from its outputs, every key check true, equality true).
 */
export function rebuiltTxFacts(rebuilt: RebuiltCommitment): CommitmentTxFactsT {
  const holderIsBroadcaster = rebuilt.broadcaster === "holder";
  const count = (kind: string) => rebuilt.outputs.filter((o) => o.kind === kind).length;
  const expected = commitmentLocktimeAndSequence(rebuilt.obscuredCommitmentNumber);
  const toB = count("to_broadcaster");
  const toC = count("to_countersignatory");
  const anchorB = count("anchor_broadcaster");
  const anchorC = count("anchor_countersignatory");
  return {
    phase: 2,
    version: rebuilt.tx.version,
    input_count: rebuilt.tx.inputs.length,
    input_spends_funding: true,
    locktime: rebuilt.tx.locktime,
    expected_locktime: expected.locktime,
    sequence: rebuilt.tx.inputs[0].sequence,
    expected_sequence: expected.sequence,
    witscripts_ok: true,
    to_holder_output_count: holderIsBroadcaster ? toB : toC,
    to_counterparty_output_count: holderIsBroadcaster ? toC : toB,
    unrecognized_output_count: 0,
    revocation_pubkey_ok: true,
    broadcaster_delayed_pubkey_ok: true,
    countersignatory_pubkey_ok: true,
    to_self_delay: rebuilt.toSelfDelay,
    htlc_revocation_pubkey_ok: true,
    htlc_counterparty_pubkey_ok: true,
    htlc_holder_pubkey_ok: true,
    holder_anchor_count: holderIsBroadcaster ? anchorB : anchorC,
    counterparty_anchor_count: holderIsBroadcaster ? anchorC : anchorB,
    anchor_wrong_value_count: 0,
    anchor_unknown_key_count: 0,
    matches_rebuild: true,
    first_mismatch: "",
  };
}
