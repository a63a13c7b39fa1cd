/**
 * The data the signer keeps per channel, as zod schemas (the persisted state is validated on every
 * load) and the TypeScript types inferred from them.
 *
 * Conventions: bytes are lower-case hex strings (points 66 chars, hashes 64), amounts are bigint,
 * commitment numbers, feerates, delays and cltv values are numbers. No secret is ever part of a
 * channel state except the counterparty's revealed (hence no longer secret to them, but still
 * valuable to us) per-commitment secrets in `counterpartySecrets`.
 *
 * @module
 */
import { z } from "zod";

const hex = (bytes: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `${bytes} bytes of lower-case hex`);
const hexAny = z.string().regex(/^([0-9a-f]{2})*$/, "lower-case hex");

/** A 33-byte compressed point as hex. */
export const PointHex = hex(33);
/** A 32-byte hash as hex. */
export const HashHex = hex(32);
/** A script as hex. */
export const ScriptHex = hexAny;
const u48 = z.number().int().min(0).max(281474976710655);
const sat = z.bigint().min(0n).max(2_100_000_000_000_000n);
const msat = z.bigint().min(0n).max(2_100_000_000_000_000_000n);

/** The commitment types the signer knows (BOLT #9 `channel_type`). */
export const COMMITMENT_TYPES = [
  "legacy",
  "static_remotekey",
  "anchors",
  "anchors_zero_fee_htlc",
] as const;

/** One of {@link COMMITMENT_TYPES}. */
export type CommitmentType = typeof COMMITMENT_TYPES[number];

/** The counterparty's public keys (BOLT #2 `open_channel` / `accept_channel`). */
export const CounterpartyKeysSchema = z.object({
  fundingPubkey: PointHex,
  revocationBasepoint: PointHex,
  paymentBasepoint: PointHex,
  delayedPaymentBasepoint: PointHex,
  htlcBasepoint: PointHex,
});

/** See {@link CounterpartyKeysSchema}. */
export type CounterpartyKeys = z.infer<typeof CounterpartyKeysSchema>;

/** The negotiated channel parameters, fixed by `setup_channel`. */
export const ChannelSetupSchema = z.object({
  /** We opened (and funded) the channel. */
  isOutbound: z.boolean(),
  /** The funding output's value. */
  channelValueSat: sat,
  /** Amount pushed to the acceptor at open. */
  pushMsat: msat,
  /** The funding outpoint: txid in internal byte order (hex) and output index. */
  fundingOutpoint: z.object({ txid: HashHex, vout: z.number().int().min(0).max(0xffff) }),
  /** The delay we impose on the counterparty's `to_local` (its `to_self_delay`). */
  holderSelectedContestDelay: z.number().int().min(0).max(0xffff),
  /** The delay the counterparty imposes on our `to_local` (our `to_self_delay`). */
  counterpartySelectedContestDelay: z.number().int().min(0).max(0xffff),
  /** The counterparty's keys. */
  counterparty: CounterpartyKeysSchema,
  /** Our upfront shutdown script (empty: none). */
  holderShutdownScript: ScriptHex,
  /** The wallet index of our shutdown key, when the node said which it is. */
  holderShutdownWalletIndex: z.number().int().min(0).max(0x7fffffff).nullable(),
  /** The counterparty's upfront shutdown script (empty: none). */
  counterpartyShutdownScript: ScriptHex,
  /** The commitment type from `channel_type`. */
  commitmentType: z.enum(COMMITMENT_TYPES),
});

/** See {@link ChannelSetupSchema}. */
export type ChannelSetup = z.infer<typeof ChannelSetupSchema>;

/** One HTLC of a commitment, seen from that commitment's broadcaster (BOLT #3 naming). */
export const HtlcInfoSchema = z.object({
  /** The broadcaster offered it (an HTLC-timeout spends it on the broadcaster's side). */
  offered: z.boolean(),
  /** Amount. */
  amountMsat: msat,
  /** Payment hash. */
  paymentHash: HashHex,
  /** Expiry height. */
  cltvExpiry: z.number().int().min(0).max(0xffffffff),
});

/** See {@link HtlcInfoSchema}. */
export type HtlcInfo = z.infer<typeof HtlcInfoSchema>;

/**
 * What a commitment says, independent of keys: its number, the broadcaster's per-commitment
 * point, the feerate, the two main output values (0 when absent) and the untrimmed HTLCs in
 * canonical order (see `sortHtlcs`). Two infos are equal exactly when they describe the same
 * transaction.
 */
export const CommitmentInfoSchema = z.object({
  number: u48,
  perCommitmentPoint: PointHex,
  feeratePerKw: z.number().int().min(0).max(0xffffffff),
  toBroadcasterSat: sat,
  toCountersignatorySat: sat,
  htlcs: z.array(HtlcInfoSchema),
});

/** See {@link CommitmentInfoSchema}. */
export type CommitmentInfo = z.infer<typeof CommitmentInfoSchema>;

/** A holder commitment with the counterparty's signatures on it (compact 64-byte, hex). */
export const SignedHolderCommitmentSchema = z.object({
  info: CommitmentInfoSchema,
  /** The counterparty's signature on the commitment transaction. */
  counterpartySig: hex(64),
  /** The counterparty's signatures on our HTLC transactions, in commitment output order. */
  counterpartyHtlcSigs: z.array(hex(64)),
  /** Rules that were demoted to warnings when this commitment was accepted. */
  warnings: z.array(z.string()),
});

/** See {@link SignedHolderCommitmentSchema}. */
export type SignedHolderCommitment = z.infer<typeof SignedHolderCommitmentSchema>;

/** The counters and commitments of VLS's `EnforcementState` (see README.md). */
export const EnforcementSchema = z.object({
  nextHolderCommitNum: u48,
  nextCounterpartyCommitNum: u48,
  nextCounterpartyRevokeNum: u48,
  currentHolder: SignedHolderCommitmentSchema.nullable(),
  pendingHolder: SignedHolderCommitmentSchema.nullable(),
  currentCounterparty: CommitmentInfoSchema.nullable(),
  previousCounterparty: CommitmentInfoSchema.nullable(),
  /** The counterparty's revealed per-commitment secrets (BOLT #3 compact storage, hex secrets). */
  counterpartySecrets: z.object({
    version: z.literal(1),
    entries: z.array(z.object({ index: u48, secret: HashHex })).max(49),
  }),
  /** A close (mutual or force) was signed: no more state advances. */
  closed: z.boolean(),
  /** The holder commitment number signed for a force close, never to be revoked. */
  forceClosedNumber: u48.nullable(),
  /** Our balance right after open, in sat (VLS `initial_holder_value`). */
  initialHolderValueSat: sat,
});

/** See {@link EnforcementSchema}. */
export type Enforcement = z.infer<typeof EnforcementSchema>;

/** The persisted state of one channel. */
export const ChannelStateSchema = z.object({
  version: z.literal(1),
  /** The channel id bytes as hex (CLN: peer id and dbid; LDK: keys id). */
  id: hexAny,
  /** A stub has keys but no setup yet. */
  stage: z.enum(["stub", "ready"]),
  setup: ChannelSetupSchema.nullable(),
  enforcement: EnforcementSchema,
  /** The node told us to forget the channel; its id is never used again. */
  forgotten: z.boolean(),
});

/** See {@link ChannelStateSchema}. */
export type ChannelState = z.infer<typeof ChannelStateSchema>;
