import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import * as ldk from "lightningdevkit";
import { concat, toHex, u64be, utf8 } from "../../../core/bytes.ts";
import { publicKey, sha256 } from "../../../core/crypto/mod.ts";
import { p2wpkh } from "../../../core/bitcoin/script.ts";
import { encodeTx } from "../../../core/bitcoin/tx.ts";
import type { ChannelId } from "../../../core/keys/types.ts";
import { PolicyRefusal, RequestError } from "../../../core/signer/errors.ts";
import type { ChannelBasepoints, SignerApi } from "../../../transports/ldk/api.ts";
import { INITIAL_COMMITMENT_INDEX } from "../../../transports/ldk/ldk_data.ts";
import { LdkAdapterError, WardenSignerProvider } from "../../../transports/ldk/signer_provider.ts";
import { loadLdk } from "../../ldk/wasm.ts";

const SEED = sha256(utf8("signer provider test"));
const PAYOUT = { script: p2wpkh(publicKey(sha256(utf8("payout")))), walletIndex: 3 };

function point(label: string): Uint8Array {
  return publicKey(sha256(utf8(label)));
}

/** A signer API that knows points and secrets only, refuses points above `maxPoint`. */
class FakeApi {
  readonly calls: string[] = [];
  maxPoint = 10;
  readonly api: SignerApi;
  constructor() {
    const unsupported = () => Promise.reject(new RequestError("unsupported", "not in this fake"));
    const api: Partial<SignerApi> = {
      newChannel: (id: ChannelId) => {
        this.calls.push(`newChannel ${id.toHex().slice(0, 8)}`);
        return Promise.resolve();
      },
      getChannelBasepoints: (id: ChannelId): Promise<ChannelBasepoints> => {
        this.calls.push(`getChannelBasepoints ${id.toHex().slice(0, 8)}`);
        const h = id.toHex();
        return Promise.resolve({
          revocation: point(`${h}/revocation`),
          payment: point(`${h}/payment`),
          delayedPayment: point(`${h}/delayed`),
          htlc: point(`${h}/htlc`),
          funding: point(`${h}/funding`),
        });
      },
      getPerCommitmentPoint: (_id: ChannelId, n: number) => {
        this.calls.push(`getPerCommitmentPoint ${n}`);
        if (n > this.maxPoint) {
          return Promise.reject(
            new PolicyRefusal("get_per_commitment_point", {
              rules: ["policy-optional-fail-fast"],
              temporary: false,
            }),
          );
        }
        return Promise.resolve(point(`point ${n}`));
      },
      revokeHolderCommitment: (_id: ChannelId, n: number) => {
        this.calls.push(`revokeHolderCommitment ${n}`);
        return Promise.resolve({
          secret: sha256(utf8(`secret ${n}`)),
          nextPoint: point(`point ${n + 2}`),
        });
      },
    };
    api.preapproveInvoice = (request) => {
      this.calls.push(`preapproveInvoice ${request.invstring}`);
      if (request.invstring === "refuse me") {
        return Promise.reject(
          new PolicyRefusal("preapprove_invoice", {
            rules: ["policy-commitment-payment-approved"],
            temporary: false,
          }),
        );
      }
      return Promise.resolve(true);
    };
    api.preapproveKeysend = (request) => {
      this.calls.push(
        `preapproveKeysend ${toHex(request.destination).slice(0, 4)} ` +
          `${toHex(request.paymentHash).slice(0, 4)} ${request.amountMsat}`,
      );
      return Promise.resolve(true);
    };
    for (
      const m of ["setupChannel", "validateCounterpartyRevocation", "signCounterpartyCommitment"]
    ) {
      (api as Record<string, unknown>)[m] = unsupported;
    }
    this.api = api as SignerApi;
  }
}

function provider(o: { poolSize?: number } = {}) {
  const fake = new FakeApi();
  let unblocks = 0;
  const p = new WardenSignerProvider({
    api: fake.api,
    payout: PAYOUT,
    keysIdSeed: SEED,
    poolSize: o.poolSize ?? 2,
    unblock: () => unblocks++,
  });
  return { p, fake, unblocks: () => unblocks };
}

const keysId = (i: number) => sha256(concat(SEED, u64be(BigInt(i))));
const idx = (n: number) => INITIAL_COMMITMENT_INDEX - BigInt(n);

Deno.test("signer provider: a pool of channels with reproducible keys ids", async () => {
  await loadLdk();
  const { p, fake } = provider();
  await p.ready();
  deepStrictEqual(p.channels(), [toHex(keysId(0)), toHex(keysId(1))]);
  const req = { inbound: false, channelValueSat: 1_000_000n, userChannelId: 1n };
  deepStrictEqual(p.generateChannelKeysId(req), keysId(0));
  await p.settled();
  deepStrictEqual(
    p.channels(),
    [0, 1, 2].map((i) => toHex(keysId(i))),
    "refilled in the background",
  );
  deepStrictEqual(p.generateChannelKeysId(req), keysId(1));
  deepStrictEqual(p.generateChannelKeysId(req), keysId(2));
  throws(() => p.generateChannelKeysId(req), LdkAdapterError, "the pool is empty until refilled");
  await p.settled();
  strictEqual(fake.calls.filter((c) => c.startsWith("newChannel")).length, 5);
});

Deno.test("signer provider: derived signers carry the signer's basepoints", async () => {
  await loadLdk();
  const { p } = provider();
  await p.ready();
  const id = keysId(0);
  const d = p.deriveChannelSigner(1_000_000n, id);
  const h = toHex(id);
  deepStrictEqual(d.pubkeys.get_funding_pubkey(), point(`${h}/funding`));
  deepStrictEqual(d.pubkeys.get_revocation_basepoint().get_a(), point(`${h}/revocation`));
  deepStrictEqual(d.pubkeys.get_payment_point(), point(`${h}/payment`));
  deepStrictEqual(d.pubkeys.get_delayed_payment_basepoint().get_a(), point(`${h}/delayed`));
  deepStrictEqual(d.pubkeys.get_htlc_basepoint().get_a(), point(`${h}/htlc`));
  deepStrictEqual(d.channel.channel_keys_id(), id);
  throws(() => p.deriveChannelSigner(1n, new Uint8Array(32)), LdkAdapterError);
  deepStrictEqual(p.destinationScript(id), PAYOUT.script);
  deepStrictEqual(p.shutdownScript().into_inner(), PAYOUT.script);
  throws(
    () =>
      new WardenSignerProvider({
        api: new FakeApi().api,
        payout: { script: utf8("x"), walletIndex: 0 },
      }),
    LdkAdapterError,
  );
});

Deno.test("signer provider: Err first, the signer asked once, unblock, then the answer", async () => {
  await loadLdk();
  const { p, fake, unblocks } = provider();
  await p.ready();
  const d = p.deriveChannelSigner(1_000_000n, keysId(0));
  strictEqual(!!d.channel.get_per_commitment_point(idx(1)).is_ok(), false);
  strictEqual(!!d.channel.get_per_commitment_point(idx(1)).is_ok(), false, "still running");
  await p.settled();
  strictEqual(unblocks(), 1);
  const r = d.channel.get_per_commitment_point(idx(1));
  ok(r instanceof ldk.Result_PublicKeyNoneZ_OK);
  deepStrictEqual(r.res, point("point 1"));
  strictEqual(fake.calls.filter((c) => c === "getPerCommitmentPoint 1").length, 1);
  deepStrictEqual(p.stats.answered, { get_per_commitment_point: 1 });
  deepStrictEqual(p.stats.deferred, { get_per_commitment_point: 2 });
});

Deno.test("signer provider: a refused point is asked again; a revocation brings point n + 2", async () => {
  await loadLdk();
  const { p, fake, unblocks } = provider();
  await p.ready();
  const d = p.deriveChannelSigner(1_000_000n, keysId(0));
  fake.maxPoint = 4;
  strictEqual(!!d.channel.get_per_commitment_point(idx(5)).is_ok(), false);
  await p.settled();
  strictEqual(unblocks(), 0, "a refusal unblocks nothing");
  deepStrictEqual(p.failures.map((f) => [f.ldkMethod, f.rules]), [
    ["get_per_commitment_point", ["policy-optional-fail-fast"]],
  ]);
  fake.maxPoint = 10;
  strictEqual(!!d.channel.get_per_commitment_point(idx(5)).is_ok(), false);
  await p.settled();
  strictEqual(!!d.channel.get_per_commitment_point(idx(5)).is_ok(), true, "premature, not final");
  // release_commitment_secret(3) answers secret 3 and remembers point 5's successor, point 5.
  strictEqual(!!d.channel.release_commitment_secret(idx(3)).is_ok(), false);
  await p.settled();
  const s = d.channel.release_commitment_secret(idx(3));
  ok(s instanceof ldk.Result__u832NoneZ_OK);
  deepStrictEqual(s.res, sha256(utf8("secret 3")));
  const before = fake.calls.length;
  const pt = d.channel.get_per_commitment_point(idx(5));
  ok(pt instanceof ldk.Result_PublicKeyNoneZ_OK);
  deepStrictEqual(pt.res, point("point 5"));
  strictEqual(fake.calls.length, before, "answered without asking the signer");
});

Deno.test("signer provider: the LDK SignerProvider fails closed", async () => {
  await loadLdk();
  const { p } = provider({ poolSize: 1 });
  await p.ready();
  const sp = p.signerProvider();
  deepStrictEqual(sp.generate_channel_keys_id(false, 1_000_000n, 7n << 120n), keysId(0));
  // The pool is empty until the refill completes: an all-zero id, never an exception.
  deepStrictEqual(sp.generate_channel_keys_id(false, 1_000_000n, 0n), new Uint8Array(32));
  const unknown = new Uint8Array(32).fill(9);
  const dead = sp.derive_channel_signer(1_000_000n, unknown);
  const tx = encodeTx({
    version: 2,
    inputs: [{
      txid: new Uint8Array(32),
      vout: 0,
      scriptSig: new Uint8Array(),
      sequence: 0,
      witness: [],
    }],
    outputs: [{ amount: 1_000n, script: PAYOUT.script }],
    locktime: 0,
  });
  strictEqual(!!dead.sign_holder_anchor_input(tx, 0).is_ok(), false);
  const script = sp.get_destination_script(unknown);
  ok(script instanceof ldk.Result_CVec_u8ZNoneZ_OK);
  deepStrictEqual(script.res, PAYOUT.script);
  await p.settled();
});

Deno.test("signer provider: payments are approved through the signer; a refusal is recorded", async () => {
  const { p, fake, unblocks } = provider();
  strictEqual(await p.preapproveInvoice("lnbcrt1u1example"), true);
  const destination = point("payee");
  const hash = sha256(utf8("preimage"));
  strictEqual(
    await p.preapproveKeysend({ destination, paymentHash: hash, amountMsat: 5_000n }),
    true,
  );
  strictEqual(p.failures.length, 0);
  await rejects(p.preapproveInvoice("refuse me"), (e: Error) => {
    ok(e instanceof PolicyRefusal);
    deepStrictEqual(e.rules, ["policy-commitment-payment-approved"]);
    return true;
  });
  deepStrictEqual(
    p.failures.map((f) => [f.channel, f.method, f.ldkMethod, f.rules, f.temporary]),
    [["", "preapproveInvoice", "send_payment", ["policy-commitment-payment-approved"], false]],
  );
  deepStrictEqual(fake.calls, [
    "preapproveInvoice lnbcrt1u1example",
    `preapproveKeysend ${toHex(destination).slice(0, 4)} ${toHex(hash).slice(0, 4)} 5000`,
    "preapproveInvoice refuse me",
  ]);
  await p.settled();
  strictEqual(unblocks(), 0, "approvals are not LDK callbacks: nothing to unblock");
});
