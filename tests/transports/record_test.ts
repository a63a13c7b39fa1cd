import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { toHex } from "../../core/bytes.ts";
import { SecretBytes, sha256 } from "../../core/crypto/mod.ts";
import { encodeMessage, encodeReply } from "../../core/protocol/codec.ts";
import {
  replyCarriesSecret,
  requestCarriesSecret,
  type TrafficLine,
  trafficLine,
  TrafficRecorder,
} from "../../transports/record.ts";
import { FrameSession } from "../../transports/session.ts";
import { body, FakeHandler, fakeReply } from "./_helpers.ts";
import { initBody } from "./_signer.ts";

const PEER = { peerId: new Uint8Array(33).fill(2), dbid: 12n };
const TIME = new Date("2026-01-02T03:04:05.678Z");

async function readLines(path: string): Promise<TrafficLine[]> {
  return (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("record: a request line and its reply line", () => {
  const b = encodeMessage({ type: "get_per_commitment_point", n: 5n });
  deepStrictEqual(
    trafficLine("request", { transport: "tcp", id: 3, seq: 9, ctx: PEER, body: b, time: TIME }),
    {
      time: "2026-01-02T03:04:05.678Z",
      dir: "request",
      transport: "tcp",
      id: 3,
      seq: 9,
      peer_id: "02".repeat(33),
      dbid: "12",
      type: 18,
      name: "get_per_commitment_point",
      hex: toHex(b),
    },
  );
  const r = encodeReply({ type: "check_pubkey_reply", ok: true });
  deepStrictEqual(
    trafficLine("reply", {
      transport: "serial",
      id: 3,
      seq: 9,
      ctx: PEER,
      body: r,
      cached: true,
      time: TIME,
    }),
    {
      time: "2026-01-02T03:04:05.678Z",
      dir: "reply",
      transport: "serial",
      id: 3,
      seq: 9,
      peer_id: "02".repeat(33),
      dbid: "12",
      type: 128,
      name: "check_pubkey_reply",
      hex: toHex(r),
      cached: true,
    },
  );
});

Deno.test("record: replies carrying secrets, and init with key material, are kept as digests", () => {
  const ss = encodeReply({ type: "ecdh_resp", ss: new SecretBytes(new Uint8Array(32).fill(9)) });
  const line = trafficLine("reply", { transport: "tcp", id: 1, seq: 0, ctx: PEER, body: ss });
  strictEqual(line.hex, undefined);
  strictEqual(line.sha256, toHex(sha256(ss)));
  strictEqual(line.name, "ecdh_resp");
  // Every reply type with a secret field is recognised; others are not.
  deepStrictEqual(
    [100, 118, 127, 135, 140, 1136, 105, 114, 3000].map((t) => replyCarriesSecret(t)),
    [true, true, true, true, true, true, false, false, false],
  );
  // CLN's init carries no secret (recorded in full); with a dev seed it does.
  strictEqual(requestCarriesSecret(initBody()), false);
  const devInit = initBody();
  const withSeed = encodeMessage({
    type: "init_2",
    derivation_style: 0,
    network_name: "regtest",
    dev_seed: new SecretBytes(new Uint8Array(32).fill(1)),
    dev_allowlist: [],
  });
  strictEqual(requestCarriesSecret(withSeed), true);
  strictEqual(requestCarriesSecret(devInit), false);
  const seedLine = trafficLine("request", {
    transport: "tcp",
    id: 1,
    seq: 0,
    ctx: PEER,
    body: withSeed,
  });
  deepStrictEqual([seedLine.hex, seedLine.sha256], [undefined, toHex(sha256(withSeed))]);
});

Deno.test("record: a session's requests and replies, paired by id, continued after reopening", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-record-" });
  try {
    const path = join(dir, "traffic.jsonl");
    const recorder = await TrafficRecorder.open(path, { now: () => TIME });
    const session = new FrameSession(new FakeHandler(), { transport: "tcp", recorder });
    const a = body(19, 1);
    await session.process({ seq: 4, peerId: PEER.peerId, dbid: PEER.dbid, body: a });
    await session.process({ seq: 5, peerId: PEER.peerId, dbid: PEER.dbid, body: a }); // cached
    await session.process({ seq: 6, peerId: PEER.peerId, dbid: PEER.dbid, body: body(99) }); // no reply
    await recorder.close();
    strictEqual(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o600);
    const lines = await readLines(path);
    deepStrictEqual(
      lines.map((l) => [l.dir, l.id, l.seq, l.hex, l.cached ?? false]),
      [
        ["request", 1, 4, toHex(a), false],
        ["reply", 1, 4, toHex(fakeReply(a)), false],
        ["request", 2, 5, toHex(a), false],
        ["reply", 2, 5, toHex(fakeReply(a)), true],
        ["request", 3, 6, "0063", false],
      ],
    );
    ok(lines.every((l) => l.time === TIME.toISOString() && l.transport === "tcp"));
    // Reopened: ids go on after the last one.
    const again = await TrafficRecorder.open(path, { now: () => TIME });
    const s2 = new FrameSession(new FakeHandler(), { transport: "tcp", recorder: again });
    await s2.process({ seq: 0, peerId: PEER.peerId, dbid: 0n, body: body(18) });
    await again.flush();
    strictEqual(again.lines, 2);
    await again.close();
    deepStrictEqual((await readLines(path)).slice(5).map((l) => [l.dir, l.id]), [
      ["request", 4],
      ["reply", 4],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record: an existing recording with another mode is continued at mode 0600", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-record-" });
  try {
    const path = join(dir, "traffic.jsonl");
    await Deno.writeTextFile(path, "");
    await Deno.chmod(path, 0o644);
    strictEqual(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o644);
    const recorder = await TrafficRecorder.open(path, { now: () => TIME });
    strictEqual(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o600);
    recorder.request("tcp", { seq: 1, ctx: PEER, body: body(18) });
    await recorder.close();
    deepStrictEqual((await readLines(path)).map((l) => [l.dir, l.id, l.hex]), [
      ["request", 1, "0012"],
    ]);
    // A world-writable one too.
    await Deno.chmod(path, 0o666);
    await (await TrafficRecorder.open(path)).close();
    strictEqual(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record: the peer's revealed secrets in validate_revocation and check_future_secret requests are recorded in full (hence mode 0600)", () => {
  const secret = new SecretBytes(new Uint8Array(32).fill(0x5e));
  const requests = [
    encodeMessage({ type: "validate_revocation", revoke_num: 3n, per_commitment_secret: secret }),
    encodeMessage({ type: "check_future_secret", n: 3n, commitment_secret: secret }),
  ];
  for (const b of requests) {
    const line = trafficLine("request", { transport: "serial", id: 1, seq: 0, ctx: PEER, body: b });
    strictEqual(line.sha256, undefined);
    ok(line.hex?.includes("5e".repeat(32)), line.name);
    strictEqual(requestCarriesSecret(b), false);
  }
});
