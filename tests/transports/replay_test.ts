import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { concat, fromHex, toHex, utf8 } from "../../core/bytes.ts";
import { publicKey } from "../../core/crypto/mod.ts";
import { scriptToAddress } from "../../core/bitcoin/address.ts";
import { nodeKeysFromSeed } from "../../core/keys/mod.ts";
import { decodeReply } from "../../core/protocol/codec.ts";
import { main } from "../../core/cli/mod.ts";
import type { CliIo } from "../../core/cli/command.ts";
import { startSigner } from "../../core/cli/run.ts";
import { parseConnectUrl } from "../../transports/url.ts";
import {
  describeEntry,
  parseRecording,
  type ReplayEntry,
  ReplayError,
  type ReplaySummary,
  replayTransport,
} from "../../transports/replay.ts";
import { FrameSession } from "../../transports/session.ts";
import type { TrafficLine } from "../../transports/record.ts";
import { throws } from "node:assert/strict";
import { FakeHandler, frame, readReplies, writeAll } from "./_helpers.ts";
import {
  DEFAULT_POLICY,
  initBody,
  LDK_SEED_A,
  LDK_SEED_B,
  ldkFeeWalletScript,
  makeDataDir,
  req,
  sitePolicy,
  STRICT_MESSAGES,
} from "./_signer.ts";

function captureIo(): CliIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
  };
  return io;
}

const CHANNEL_PEER = publicKey(new Uint8Array(32).fill(7));

/** The node's requests, in order, all in the root context. */
function nodeRequests(): { name: string; body: Uint8Array }[] {
  return [
    { name: "init", body: initBody() },
    { name: "ping", body: req({ type: "ping", id: 1, message: "ping" }) },
    { name: "sign_message", body: req({ type: "sign_message", msg: utf8("hello, world") }) },
    { name: "sign_message", body: req({ type: "sign_message", msg: utf8("hi") }) },
    { name: "ecdh_req", body: req({ type: "ecdh_req", point: CHANNEL_PEER }) },
    { name: "get_heartbeat", body: req({ type: "get_heartbeat" }) },
    { name: "new_channel", body: req({ type: "new_channel", id: CHANNEL_PEER, dbid: 1n }) },
    {
      name: "get_channel_basepoints",
      body: req({ type: "get_channel_basepoints", peerid: CHANNEL_PEER, dbid: 1n }),
    },
  ];
}

/** Runs the real signer over TCP with --record, sends the node's requests; the recording path. */
async function recordSession(dir: string, policyPath: string): Promise<string> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const record = join(dir, "traffic.jsonl");
  const io = captureIo();
  const signer = await startSigner({
    dataDir: dir,
    policyPath,
    connect: parseConnectUrl(`tcp://127.0.0.1:${listener.addr.port}`),
    record,
    backoff: { initialMs: 5, maxMs: 50 },
  }, { io, checkPermissions: false });
  try {
    const conn = await listener.accept();
    const requests = nodeRequests();
    await writeAll(conn, concat(...requests.map((r, i) => frame(i, r.body))));
    const replies = await readReplies(conn, requests.length);
    ok(replies !== null);
    deepStrictEqual(replies.map((r) => r.seq), requests.map((_, i) => i));
    const init = decodeReply(replies[0].body);
    strictEqual(init.type, "init_reply_v4");
    deepStrictEqual((init as { node_id: Uint8Array }).node_id, signer.nodeId);
    deepStrictEqual(
      replies.map((r) => decodeReply(r.body).type),
      [
        "init_reply_v4",
        "pong",
        "sign_message_reply",
        "sign_message_reply",
        "ecdh_resp",
        "get_heartbeat_reply",
        "new_channel_reply",
        "get_channel_basepoints_reply",
      ],
    );
    conn.close();
  } finally {
    await signer.stop();
    listener.close();
  }
  // Logs are JSON lines: time, level, event, fields.
  const events = io.err.trim().split("\n").map((l) => JSON.parse(l));
  ok(events.every((e) => typeof e.time === "string" && typeof e.level === "string"));
  const names = events.map((e) => e.event);
  for (const n of ["signer.start", "connection.open", "connection.closed", "signer.stopped"]) {
    ok(names.includes(n), `${n} logged`);
  }
  return record;
}

async function replay(...args: string[]) {
  const io = captureIo();
  const code = await main(["replay", ...args, "--json"], io);
  strictEqual(code, 0, io.err);
  strictEqual(io.err, "");
  return JSON.parse(io.out) as { format: string; summary: ReplaySummary; entries: ReplayEntry[] };
}

Deno.test("replay: a recorded session replays unchanged with its policy; a stricter one refuses by rule id", async () => {
  const { root, dir } = await makeDataDir();
  try {
    const policy = await sitePolicy(join(root, "policy"));
    const record = await recordSession(dir, policy);
    const lines = (await Deno.readTextFile(record)).trim().split("\n").map((l) =>
      JSON.parse(l) as TrafficLine
    );
    strictEqual(lines.length, 16);
    // The ECDH shared secret is recorded as a digest only.
    const ecdh = lines.find((l) => l.name === "ecdh_resp");
    ok(ecdh && ecdh.hex === undefined && /^[0-9a-f]{64}$/.test(ecdh.sha256 ?? ""));

    const same = await replay("--traffic", record, "--data-dir", dir, "--policy", policy);
    strictEqual(same.format, "transport");
    deepStrictEqual(same.summary, {
      requests: 8,
      replayed: 8,
      unchanged: 8,
      decisionsChanged: 0,
      nowRefused: 0,
      nowAllowed: 0,
      repliesChanged: 0,
      skipped: 0,
      refusedBefore: 0,
      refusedAfter: 0,
    });
    deepStrictEqual(same.entries, []);

    const strict = await sitePolicy(join(root, "strict"), STRICT_MESSAGES);
    const changed = await replay("--traffic", record, "--data-dir", dir, "--policy", strict);
    strictEqual(changed.summary.decisionsChanged, 1);
    strictEqual(changed.summary.nowRefused, 1);
    strictEqual(changed.summary.unchanged, 7);
    deepStrictEqual(changed.entries.map(describeEntry), [
      "request 3 sign_message: was signed, now refused by site-short-messages",
    ]);

    // The text report: the changed request, then the summary.
    const io = captureIo();
    strictEqual(
      await main(["replay", "--traffic", record, "--data-dir", dir, "--policy", strict], io),
      0,
    );
    deepStrictEqual(io.out.trim().split("\n"), [
      "request 3 sign_message: was signed, now refused by site-short-messages",
      "replayed 8 of 8 requests: 7 unchanged, 1 decisions changed (1 now refused, 0 now " +
      "allowed), 0 replies changed, 0 skipped; refusals: 0 before, 1 now",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("replay: an LDK signer-API recording replays unchanged through the signer", async () => {
  const { root, dir } = await makeDataDir({ seed: LDK_SEED_A, keyStyle: "ldk" });
  try {
    // The operator's allowlist as when recorded (tests/ldk/record_traffic.ts): the harness wallet
    // (the fee bumps' change pays it) and node B as a payee (A's payments to B are approved).
    const address = scriptToAddress(ldkFeeWalletScript(LDK_SEED_A), "regtest");
    const payeeB = toHex(nodeKeysFromSeed(LDK_SEED_B, { network: "regtest", style: "ldk" }).nodeId);
    for (const entry of [address, `payee:${payeeB}`]) {
      const io = captureIo();
      strictEqual(await main(["allowlist", "add", entry, "--data-dir", dir], io), 0, io.err);
    }
    const file = new URL("../traffic/ldk_anchors.jsonl", import.meta.url).pathname;
    const requests = (await Deno.readTextFile(file)).split("\n").filter((l) =>
      l.includes('"dir":"request"')
    ).length;
    const report = await replay("--traffic", file, "--data-dir", dir, "--policy", DEFAULT_POLICY);
    strictEqual(report.format, "api");
    strictEqual(report.summary.requests, requests);
    strictEqual(report.summary.unchanged, requests);
    strictEqual(report.summary.decisionsChanged, 0);
    deepStrictEqual(report.entries, []);
    // Without the harness wallet on the allowlist, exactly the fee bumps paying change to it are
    // refused now, and the report names the rules (each once).
    const bare = await makeDataDir({ seed: LDK_SEED_A, keyStyle: "ldk" });
    try {
      const io = captureIo();
      strictEqual(
        await main(["allowlist", "add", `payee:${payeeB}`, "--data-dir", bare.dir], io),
        0,
        io.err,
      );
      const strict = await replay("--traffic", file, "--data-dir", bare.dir);
      const lines = strict.entries.map(describeEntry);
      ok(lines.length >= 1);
      for (const line of lines) {
        ok(
          /^request \d+ signAnchorSpend: was signed, now refused by policy-onchain-no-unknown-outputs, policy-onchain-fee-range$/
            .test(line),
          line,
        );
      }
      strictEqual(strict.summary.nowRefused, lines.length);
      strictEqual(strict.summary.unchanged, requests - lines.length);
    } finally {
      await Deno.remove(bare.root, { recursive: true });
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("replay: bad recordings are refused with the line number", () => {
  throws(() => parseRecording('{"dir":"request"}\nnot json'), (e: unknown) => {
    ok(e instanceof ReplayError);
    strictEqual(e.message, "line 1: not a transport record");
    return true;
  });
  throws(() => parseRecording("\n{oops"), /line 2: not a JSON line/);
  const api = '{"seq":1,"dir":"request","method":"newChannel","channel":null,"body":[]}';
  const line = JSON.stringify({
    time: "2026-01-01T00:00:00Z",
    dir: "request",
    transport: "tcp",
    id: 1,
    seq: 0,
    peer_id: "00".repeat(33),
    dbid: "0",
    type: 18,
    hex: toHex(fromHex("0012")),
  });
  throws(() => parseRecording(`${api}\n${line}`), /mixes transport and signer-API/);
  strictEqual(parseRecording(line).format, "transport");
});

Deno.test("replay: a dbid above 2^64 - 1 is a ReplayError naming the line, in parsing and in replay", async () => {
  const request = (dbid: string) =>
    JSON.stringify({
      time: "2026-01-01T00:00:00Z",
      dir: "request",
      transport: "tcp",
      id: 1,
      seq: 0,
      peer_id: "00".repeat(33),
      dbid,
      type: 18,
      hex: "0012",
    });
  const max = "18446744073709551615";
  strictEqual(parseRecording(request(max)).format, "transport");
  for (const dbid of ["18446744073709551616", "99999999999999999999"]) {
    throws(() => parseRecording(`${request("0")}\n${request(dbid)}`), (e: unknown) => {
      ok(e instanceof ReplayError);
      strictEqual(e.message, "line 2: dbid is above 2^64 - 1");
      return true;
    });
  }
  throws(
    () => parseRecording(request("1".repeat(21))),
    /^ReplayError: line 1: not a transport record$/,
  );
  // Lines handed to replayTransport directly are checked too (a typed error, not a BytesError).
  const session = new FrameSession(new FakeHandler(), { transport: "replay" });
  const bad = JSON.parse(request("18446744073709551616")) as TrafficLine;
  let error: unknown;
  try {
    await replayTransport([bad], { session });
  } catch (e) {
    error = e;
  }
  ok(error instanceof ReplayError, String(error));
  strictEqual(error.message, "request 1: not a valid context (peer_id, dbid)");
  // The largest dbid replays.
  const report = await replayTransport([JSON.parse(request(max)) as TrafficLine], { session });
  strictEqual(report.summary.replayed, 1);
});
