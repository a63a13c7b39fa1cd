/**
 * CLN's hsmd traffic for the transport bench, produced by the CLN-like driver of
 * tests/core/protocol/_cln_driver.ts (its in-process dispatcher answers, its simulated honest peer
 * checks every signature and secret), recorded as (context, request body, reply body) exchanges so
 * the bench can replay exactly those requests to the signer under test and compare its replies
 * byte for byte (every reply is deterministic: RFC 6979 signatures, derived points and secrets).
 *
 * The driver's chain view is left untracked, as the signer process sees the chain when the node
 * feeds it no blocks, so both apply the same rules.
 *
 * The channel: we open it (1,000,000 sat, 300,000 sat pushed, static_remotekey), then the peer
 * adds {@link HTLCS_IN_FLIGHT} incoming HTLCs in one update; from then on every update fails the
 * oldest HTLC back to the peer and carries a new one from the peer, so each commitment has 10
 * HTLCs and the balances do not drift however long the bench runs.
 *
 * @module
 */
import { peekType } from "../../core/protocol/codec.ts";
import { requestById } from "../../core/protocol/messages.ts";
import type { RequestContext } from "../../core/protocol/dispatch.ts";
import { sha256 } from "../../core/crypto/mod.ts";
import { equal, u32be } from "../../core/bytes.ts";
import { CHANNEL, ClnDriver } from "../core/protocol/_cln_driver.ts";

/** HTLCs on every commitment of the measured updates. */
export const HTLCS_IN_FLIGHT = 10;
/** Message type of `get_per_commitment_point`. */
export const GET_PER_COMMITMENT_POINT = 18;

/** The seed of the driver's node ("us": tests/core/signer/_rules_fixture.ts `US_NODE`). */
export const US_SEED: Uint8Array = new Uint8Array(32).fill(1);

/** One request with the reply the reference dispatcher gave. */
export interface Exchange {
  /** The client context (null: the root). */
  context: RequestContext | null;
  /** The request body. */
  body: Uint8Array;
  /** The reference reply body. */
  reply: Uint8Array;
  /** The request's message type. */
  type: number;
  /** The request's name. */
  name: string;
  /** How long the reference dispatcher took (in process, memory store, no transport), in ms. */
  referenceMs: number;
}

/** Recorded CLN traffic (see the module documentation). */
export class ClnTraffic {
  readonly #driver: ClnDriver;
  readonly #log: Exchange[] = [];
  /** The next commitment number (both ways). */
  #n = 1;
  #htlc = 0;

  private constructor(driver: ClnDriver) {
    this.#driver = driver;
    const call = driver.call.bind(driver);
    driver.call = async (body: Uint8Array, context: RequestContext | null = CHANNEL) => {
      const t0 = performance.now();
      const reply = await call(body, context);
      const referenceMs = performance.now() - t0;
      const type = peekType(body);
      this.#log.push({
        context,
        body,
        reply,
        type,
        name: requestById(type)?.name ?? `type ${type}`,
        referenceMs,
      });
      return reply;
    };
  }

  /** A driver over an untracked chain. */
  static async create(): Promise<ClnTraffic> {
    const driver = await ClnDriver.create();
    driver.chain.tracked = false;
    return new ClnTraffic(driver);
  }

  #take(): Exchange[] {
    return this.#log.splice(0);
  }

  /** `init` (wire versions 5..6). */
  async init(): Promise<Exchange[]> {
    await this.#driver.init();
    return this.#take();
  }

  /** The open (commitments 0), then the update adding {@link HTLCS_IN_FLIGHT} HTLCs. */
  async open(): Promise<Exchange[]> {
    await this.#driver.open();
    for (let i = 0; i < HTLCS_IN_FLIGHT; i++) this.#addIncoming();
    await this.#driver.update("us", this.#n++);
    return this.#take();
  }

  #addIncoming(): void {
    const i = this.#htlc++;
    const amountMsat = 2_000_000n + BigInt(i % 1000) * 1000n;
    this.#driver.acceptorMsat -= amountMsat;
    this.#driver.payments.push({
      fromUs: false,
      amountMsat,
      hash: sha256(u32be(i)),
      cltv: 1000 + (i % 1000),
    });
  }

  /**
   * The next update: the oldest HTLC is failed back to the peer and a new one added; we sign the
   * peer's commitment and its HTLC transactions, the peer revokes, the peer signs ours, we revoke.
   * @returns the exchanges in order, without `get_per_commitment_point` (the driver asks for our
   *   point to build the peer's signature; CLN's channeld has it from the previous reply)
   */
  async update(): Promise<Exchange[]> {
    const oldest = this.#driver.payments.shift();
    if (oldest) this.#driver.acceptorMsat += oldest.amountMsat;
    this.#addIncoming();
    await this.#driver.update("us", this.#n++);
    return this.#take().filter((e) => e.type !== GET_PER_COMMITMENT_POINT);
  }

  /** `get_per_commitment_point` for our current commitment (the reference reply included). */
  async pointRequest(): Promise<Exchange> {
    await this.#driver.send({ type: "get_per_commitment_point", n: BigInt(this.#n - 1) });
    const [e] = this.#take();
    return e;
  }

  /**
   * Sends `exchange` to the reference dispatcher again and times it (for requests without
   * effects, such as {@link pointRequest}'s).
   * @returns the time in ms
   */
  async timeReference(exchange: Exchange): Promise<number> {
    const t0 = performance.now();
    const reply = await this.#driver.dispatcher.handle(exchange.context, exchange.body);
    const ms = performance.now() - t0;
    if (reply === null || !equal(reply, exchange.reply)) {
      throw new Error(`${exchange.name}: the reference dispatcher changed its reply`);
    }
    return ms;
  }
}
