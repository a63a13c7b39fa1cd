/**
 * The signer service's guarantees, independent of the real policy: a refusal changes nothing, an
 * allowed change is durable before the reply is computed, every decision is audited, requests are
 * serialised, ids are never reused.
 */
import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { fromHex } from "../../../core/bytes.ts";
import { nodeKeysFromSeed } from "../../../core/keys/mod.ts";
import { ChannelId } from "../../../core/keys/types.ts";
import { MemoryStore } from "../../../core/store/memory.ts";
import type { StoreWrite } from "../../../core/store/types.ts";
import { type AuditEntry, type PolicyEngine, Signer } from "../../../core/signer/signer.ts";
import { PolicyRefusal, type RequestError } from "../../../core/signer/errors.ts";
import { holderPoint } from "../../../core/channel/state.ts";
import { makeChannel } from "../channel/_peer.ts";
import { readySetup } from "../../../core/channel/ops/context.ts";

/** A policy that refuses what `refuse` says, by a rule named after the kind. */
function fakePolicy(refuse: (kind: string, facts: unknown) => boolean, temporary = false) {
  const seen: string[] = [];
  const policy: PolicyEngine = {
    evaluate(kind, facts) {
      seen.push(kind);
      const no = refuse(kind, facts);
      return {
        allowed: !no,
        temporary: no && temporary,
        violations: no ? [{ rule: `test-${kind}` }] : [],
        warnings: [],
      };
    },
    limitWrites: (): StoreWrite[] => [],
    commitLimits: () => {},
    loadLimitState: () => Promise.resolve(),
  };
  return { policy, seen };
}

const PEER = fromHex("02" + "11".repeat(32));
const keys = nodeKeysFromSeed(new Uint8Array(32).fill(1), { network: "regtest" });

async function openSigner(refuse: (kind: string, facts: unknown) => boolean = () => false) {
  const store = new MemoryStore();
  const audit: AuditEntry[] = [];
  const { policy, seen } = fakePolicy(refuse);
  const signer = await Signer.open({
    keys,
    store,
    policy,
    audit: { append: (e) => Promise.resolve(void audit.push(e)) },
    clock: () => 1_700_000_000,
  });
  return { signer, store, audit, seen };
}

Deno.test("new channel, setup, point: each decision audited, state persisted", async () => {
  const { signer, store, audit } = await openSigner();
  const id = ChannelId.fromPeerDbid(PEER, 1n);
  await signer.newChannel(id);
  const { us } = makeChannel();
  await signer.setupChannel(id, readySetup(us.state));
  const point = await signer.getPerCommitmentPoint(id, 0);
  deepStrictEqual(point, holderPoint(keys.channelKeys(id), 0));
  deepStrictEqual(audit.map((a) => a.kind), [
    "new_channel",
    "setup_channel",
    "get_per_commitment_point",
  ]);
  const stored = await store.get("channel/" + id.toHex());
  strictEqual(stored?.version, 1, "stub at 0, set up at 1; a point changes nothing");
  strictEqual((await signer.channelState(id))?.stage, "ready");
});

Deno.test("a refusal changes nothing and throws PolicyRefusal naming the rule", async () => {
  const { signer, store } = await openSigner((kind) => kind === "setup_channel");
  const id = ChannelId.fromPeerDbid(PEER, 2n);
  await signer.newChannel(id);
  const { us } = makeChannel();
  await rejects(signer.setupChannel(id, readySetup(us.state)), (e) => {
    strictEqual(e instanceof PolicyRefusal, true);
    deepStrictEqual((e as PolicyRefusal).rules, ["test-setup_channel"]);
    return true;
  });
  strictEqual((await store.get("channel/" + id.toHex()))?.version, 0, "still the stub");
  strictEqual((await signer.channelState(id))?.stage, "stub");
});

Deno.test("unknown, forgotten and not-ready channels are request errors, not decisions", async () => {
  const { signer, seen } = await openSigner();
  const id = ChannelId.fromPeerDbid(PEER, 3n);
  await rejects(signer.getPerCommitmentPoint(id, 0), {
    name: "RequestError",
    code: "unknown-channel",
  });
  await signer.newChannel(id);
  await rejects(
    signer.revokeHolderCommitment(id, 0),
    (e) => (e as RequestError).code === "not-ready",
  );
  await signer.forgetChannel(id);
  await rejects(signer.getPerCommitmentPoint(id, 0), {
    name: "RequestError",
    code: "forgotten-channel",
  });
  deepStrictEqual(seen, ["new_channel"], "no decision was made for the failed requests");
});

Deno.test("forgetting a CLN channel raises the dbid high-water mark, durably", async () => {
  const { signer, store } = await openSigner();
  await signer.newChannel(ChannelId.fromPeerDbid(PEER, 7n));
  await signer.forgetChannel(ChannelId.fromPeerDbid(PEER, 7n));
  const reopened = await Signer.open({
    keys,
    store,
    policy: fakePolicy((kind, facts) => {
      const f = facts as { new_channel: { dbid: bigint }; node: { dbid_high_water_mark: bigint } };
      return kind === "new_channel" && f.new_channel.dbid <= f.node.dbid_high_water_mark;
    }).policy,
  });
  await rejects(reopened.newChannel(ChannelId.fromPeerDbid(PEER, 5n)), PolicyRefusal);
  await reopened.newChannel(ChannelId.fromPeerDbid(PEER, 8n));
});

Deno.test("requests are serialised: concurrent calls see each other's state", async () => {
  const { signer } = await openSigner();
  const ids = Array.from({ length: 20 }, (_, i) => ChannelId.fromPeerDbid(PEER, BigInt(100 + i)));
  await Promise.all(ids.map((id) => signer.newChannel(id)));
  await Promise.all(ids.map((id) => signer.newChannel(id))); // idempotent retries
  for (const id of ids) strictEqual((await signer.channelState(id))?.stage, "stub");
});
