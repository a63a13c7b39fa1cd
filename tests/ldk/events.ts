/**
 * LDK `Event`s as plain records, plus the binding objects the harness needs to act on them
 * (kept apart so the records stay plain data). Conversion happens inside the event-handler
 * callback; the actions run after `process_pending_events` returns, so LDK is never re-entered.
 *
 * @module
 */
import * as ldk from "lightningdevkit";
import { toHex } from "../../core/bytes.ts";
import { decodeTx, txidHex as txidHexOfTx } from "../../core/bitcoin/tx.ts";
import { plainOutPoint, txidHex } from "./plain.ts";

/** A spendable output reported by LDK (`SpendableOutputs`). */
export interface PlainSpendableOutput {
  /** Descriptor kind. */
  kind: "StaticOutput" | "DelayedPaymentOutput" | "StaticPaymentOutput" | "Unknown";
  /** Outpoint (display txid). */
  outpoint: { txid: string; vout: number };
  /** Value in satoshi. */
  valueSat: bigint;
  /** Output script, hex. */
  script: string;
}

/** A harness event (one LDK `Event`, flattened to plain data). */
export type HarnessEvent =
  | {
    kind: "FundingGenerationReady";
    temporaryChannelId: string;
    counterparty: string;
    channelValueSat: bigint;
    outputScript: string;
  }
  | { kind: "FundingTxBroadcastSafe"; channelId: string }
  | {
    kind: "ChannelPending";
    channelId: string;
    formerTemporaryChannelId: string;
    counterparty: string;
    fundingTxid: string;
    fundingVout: number;
  }
  | { kind: "ChannelReady"; channelId: string; counterparty: string; anchors: boolean }
  | {
    kind: "PaymentClaimable";
    paymentHash: string;
    amountMsat: bigint;
    channelId: string | null;
    preimageKnown: boolean;
  }
  | { kind: "PaymentClaimed"; paymentHash: string; amountMsat: bigint }
  | { kind: "PaymentSent"; paymentId: string; paymentHash: string; feePaidMsat: bigint | null }
  | { kind: "PaymentFailed"; paymentId: string; paymentHash: string | null; reason: string | null }
  | { kind: "PaymentPathSuccessful"; paymentId: string; paymentHash: string | null }
  | { kind: "PaymentPathFailed"; paymentHash: string; permanently: boolean }
  | { kind: "PendingHTLCsForwardable" }
  | { kind: "SpendableOutputs"; channelId: string | null; outputs: PlainSpendableOutput[] }
  | {
    kind: "OpenChannelRequest";
    temporaryChannelId: string;
    counterparty: string;
    fundingSat: bigint;
    anchors: boolean;
    announced: boolean;
  }
  | {
    kind: "BumpTransaction";
    type: "ChannelClose" | "HTLCResolution" | "Unknown";
    channelId: string;
    /** ChannelClose: the commitment txid; HTLCResolution: the commitment txid of the first HTLC. */
    commitmentTxid: string | null;
  }
  | {
    kind: "ChannelClosed";
    channelId: string;
    /** ClosureReason variant, e.g. "CounterpartyForceClosed", "LocallyInitiatedCooperativeClosure". */
    reason: string;
    /** LDK's description of the reason. */
    reasonText: string;
    counterparty: string | null;
    capacitySat: bigint | null;
  }
  | { kind: "DiscardFunding"; channelId: string }
  | { kind: "HTLCHandlingFailed"; channelId: string }
  | { kind: "PaymentForwarded"; prevChannelId: string | null; nextChannelId: string | null }
  | { kind: "Other"; name: string };

/** An event with its node and a per-node sequence number. */
export type RecordedEvent = HarnessEvent & { node: string; seq: number };

/** What the node must do after a batch of events (binding objects, not plain data). */
export type EventAction =
  | {
    kind: "fund";
    temporaryChannelId: ldk.ChannelId;
    counterparty: Uint8Array;
    outputScript: Uint8Array;
    valueSat: bigint;
  }
  | { kind: "claim"; preimage: Uint8Array }
  | { kind: "forward" }
  | {
    kind: "open-request";
    temporaryChannelId: ldk.ChannelId;
    counterparty: Uint8Array;
    fundingSat: bigint;
  }
  | { kind: "bump"; event: ldk.BumpTransactionEvent }
  | { kind: "spendable"; descriptors: ldk.SpendableOutputDescriptor[] };

function some32(o: ldk.Option_ThirtyTwoBytesZ): Uint8Array | null {
  return o instanceof ldk.Option_ThirtyTwoBytesZ_Some ? o.some : null;
}

function some64(o: ldk.Option_u64Z): bigint | null {
  return o instanceof ldk.Option_u64Z_Some ? o.some : null;
}

function cid(c: ldk.ChannelId): string {
  return toHex(c.get_a());
}

/** An optional ChannelId (the bindings give null for None). */
function cidOrNull(c: ldk.ChannelId | null | undefined): string | null {
  return c ? toHex(c.get_a()) : null;
}

function variant(o: object, prefix: string): string {
  const name = o.constructor.name;
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/** Plain view of a SpendableOutputDescriptor. */
export function plainSpendable(d: ldk.SpendableOutputDescriptor): PlainSpendableOutput {
  let outpoint: ldk.OutPoint;
  let out: ldk.TxOut;
  let kind: PlainSpendableOutput["kind"];
  if (d instanceof ldk.SpendableOutputDescriptor_StaticOutput) {
    kind = "StaticOutput";
    outpoint = d.outpoint;
    out = d.output;
  } else if (d instanceof ldk.SpendableOutputDescriptor_DelayedPaymentOutput) {
    kind = "DelayedPaymentOutput";
    outpoint = d.delayed_payment_output.get_outpoint();
    out = d.delayed_payment_output.get_output();
  } else if (d instanceof ldk.SpendableOutputDescriptor_StaticPaymentOutput) {
    kind = "StaticPaymentOutput";
    outpoint = d.static_payment_output.get_outpoint();
    out = d.static_payment_output.get_output();
  } else {
    return { kind: "Unknown", outpoint: { txid: "", vout: 0 }, valueSat: 0n, script: "" };
  }
  return {
    kind,
    outpoint: plainOutPoint(outpoint),
    valueSat: out.value,
    script: toHex(out.script_pubkey),
  };
}

/**
 * Convert one LDK event. Called inside the EventHandler callback: it must not call back into
 * ChannelManager/ChainMonitor (they are busy); it only reads the event.
 */
export function convertEvent(e: ldk.Event): { event: HarnessEvent; action?: EventAction } {
  if (e instanceof ldk.Event_FundingGenerationReady) {
    return {
      event: {
        kind: "FundingGenerationReady",
        temporaryChannelId: cid(e.temporary_channel_id),
        counterparty: toHex(e.counterparty_node_id),
        channelValueSat: e.channel_value_satoshis,
        outputScript: toHex(e.output_script),
      },
      action: {
        kind: "fund",
        temporaryChannelId: e.temporary_channel_id,
        counterparty: e.counterparty_node_id,
        outputScript: e.output_script,
        valueSat: e.channel_value_satoshis,
      },
    };
  }
  if (e instanceof ldk.Event_FundingTxBroadcastSafe) {
    return { event: { kind: "FundingTxBroadcastSafe", channelId: cid(e.channel_id) } };
  }
  if (e instanceof ldk.Event_ChannelPending) {
    const fo = plainOutPoint(e.funding_txo);
    return {
      event: {
        kind: "ChannelPending",
        channelId: cid(e.channel_id),
        formerTemporaryChannelId: cid(e.former_temporary_channel_id),
        counterparty: toHex(e.counterparty_node_id),
        fundingTxid: fo.txid,
        fundingVout: fo.vout,
      },
    };
  }
  if (e instanceof ldk.Event_ChannelReady) {
    return {
      event: {
        kind: "ChannelReady",
        channelId: cid(e.channel_id),
        counterparty: toHex(e.counterparty_node_id),
        anchors: !!e.channel_type.supports_anchors_zero_fee_htlc_tx(),
      },
    };
  }
  if (e instanceof ldk.Event_PaymentClaimable) {
    const preimage = some32(e.purpose.preimage());
    return {
      event: {
        kind: "PaymentClaimable",
        paymentHash: toHex(e.payment_hash),
        amountMsat: e.amount_msat,
        channelId: cidOrNull(e.via_channel_id),
        preimageKnown: preimage !== null,
      },
      action: preimage ? { kind: "claim", preimage } : undefined,
    };
  }
  if (e instanceof ldk.Event_PaymentClaimed) {
    return {
      event: {
        kind: "PaymentClaimed",
        paymentHash: toHex(e.payment_hash),
        amountMsat: e.amount_msat,
      },
    };
  }
  if (e instanceof ldk.Event_PaymentSent) {
    const id = some32(e.payment_id);
    return {
      event: {
        kind: "PaymentSent",
        paymentId: id ? toHex(id) : "",
        paymentHash: toHex(e.payment_hash),
        feePaidMsat: some64(e.fee_paid_msat),
      },
    };
  }
  if (e instanceof ldk.Event_PaymentFailed) {
    const hash = some32(e.payment_hash);
    const reason = e.reason instanceof ldk.Option_PaymentFailureReasonZ_Some
      ? (ldk.PaymentFailureReason[e.reason.some] ?? String(e.reason.some)).replace(
        "LDKPaymentFailureReason_",
        "",
      )
      : null;
    return {
      event: {
        kind: "PaymentFailed",
        paymentId: toHex(e.payment_id),
        paymentHash: hash ? toHex(hash) : null,
        reason,
      },
    };
  }
  if (e instanceof ldk.Event_PaymentPathSuccessful) {
    const hash = some32(e.payment_hash);
    return {
      event: {
        kind: "PaymentPathSuccessful",
        paymentId: toHex(e.payment_id),
        paymentHash: hash ? toHex(hash) : null,
      },
    };
  }
  if (e instanceof ldk.Event_PaymentPathFailed) {
    return {
      event: {
        kind: "PaymentPathFailed",
        paymentHash: toHex(e.payment_hash),
        permanently: !!e.payment_failed_permanently,
      },
    };
  }
  if (e instanceof ldk.Event_PendingHTLCsForwardable) {
    return { event: { kind: "PendingHTLCsForwardable" }, action: { kind: "forward" } };
  }
  if (e instanceof ldk.Event_SpendableOutputs) {
    const ch = e.channel_id;
    return {
      event: {
        kind: "SpendableOutputs",
        channelId: cidOrNull(ch),
        outputs: e.outputs.map(plainSpendable),
      },
      action: { kind: "spendable", descriptors: e.outputs },
    };
  }
  if (e instanceof ldk.Event_OpenChannelRequest) {
    return {
      event: {
        kind: "OpenChannelRequest",
        temporaryChannelId: cid(e.temporary_channel_id),
        counterparty: toHex(e.counterparty_node_id),
        fundingSat: e.funding_satoshis,
        anchors: !!e.channel_type.supports_anchors_zero_fee_htlc_tx(),
        announced: !!e.is_announced,
      },
      action: {
        kind: "open-request",
        temporaryChannelId: e.temporary_channel_id,
        counterparty: e.counterparty_node_id,
        fundingSat: e.funding_satoshis,
      },
    };
  }
  if (e instanceof ldk.Event_BumpTransaction) {
    const b = e.bump_transaction;
    let type: "ChannelClose" | "HTLCResolution" | "Unknown" = "Unknown";
    let channelId = "";
    let commitmentTxid: string | null = null;
    if (b instanceof ldk.BumpTransactionEvent_ChannelClose) {
      type = "ChannelClose";
      channelId = cid(b.channel_id);
      commitmentTxid = txidOfTx(b.commitment_tx);
    } else if (b instanceof ldk.BumpTransactionEvent_HTLCResolution) {
      type = "HTLCResolution";
      channelId = cid(b.channel_id);
      const first = b.htlc_descriptors[0];
      commitmentTxid = first ? txidHex(first.get_commitment_txid()) : null;
    }
    return {
      event: { kind: "BumpTransaction", type, channelId, commitmentTxid },
      action: { kind: "bump", event: b },
    };
  }
  if (e instanceof ldk.Event_ChannelClosed) {
    const cp = e.counterparty_node_id;
    return {
      event: {
        kind: "ChannelClosed",
        channelId: cid(e.channel_id),
        reason: variant(e.reason, "ClosureReason_"),
        reasonText: e.reason.to_str(),
        counterparty: cp && cp.length === 33 ? toHex(cp) : null,
        capacitySat: some64(e.channel_capacity_sats),
      },
    };
  }
  if (e instanceof ldk.Event_DiscardFunding) {
    return { event: { kind: "DiscardFunding", channelId: cid(e.channel_id) } };
  }
  if (e instanceof ldk.Event_HTLCHandlingFailed) {
    return {
      event: { kind: "HTLCHandlingFailed", channelId: cidOrNull(e.prev_channel_id) ?? "" },
    };
  }
  if (e instanceof ldk.Event_PaymentForwarded) {
    return {
      event: {
        kind: "PaymentForwarded",
        prevChannelId: cidOrNull(e.prev_channel_id),
        nextChannelId: cidOrNull(e.next_channel_id),
      },
    };
  }
  return { event: { kind: "Other", name: variant(e, "Event_") } };
}

/** Txid (display hex) of a serialised transaction ("" if it does not decode). */
function txidOfTx(bytes: Uint8Array): string {
  try {
    return txidHexOfTx(decodeTx(bytes));
  } catch {
    return "";
  }
}
