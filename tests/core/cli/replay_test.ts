/**
 * `mod.ts replay` (core/cli/replay.ts) through `main([...], io)`, without a live node: the usage
 * and its refusals, unreadable and malformed recordings, an uninitialised data directory, a
 * policy with errors, and a hand-written transport recording replayed with the default policy
 * and with another one (text, `--all` and `--json` reports), leaving the data directory as it
 * was. Recordings made by a running signer are replayed in tests/transports/replay_test.ts.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { toHex, u16be } from "../../../core/bytes.ts";
import { createSignerDir } from "../../../core/cli/data_dir.ts";
import { main } from "../../../core/cli/mod.ts";
import { API_REPLAY_START_TIME, replayCommand } from "../../../core/cli/replay.ts";
import { encodeMessage, encodeReply } from "../../../core/protocol/codec.ts";
import type { HsmdReply, HsmdRequest } from "../../../core/protocol/messages.ts";
import { initBody } from "../../transports/_signer.ts";

function captureIo() {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
  };
  return io;
}

async function replay(...args: string[]) {
  const io = captureIo();
  const code = await main(["replay", ...args], io);
  return { code, out: io.out, err: io.err };
}

/** A temporary root with an initialised regtest data directory and a policy without rules. */
async function fixture(): Promise<{ root: string; dir: string; tiny: string }> {
  const root = await Deno.makeTempDir({ prefix: "warden-cli-replay-" });
  const dir = await createSignerDir(join(root, "node"), {
    seed: new Uint8Array(32).fill(0x42),
    network: "regtest",
    keyStyle: "native",
  });
  const tiny = join(root, "tiny.policy");
  await Deno.writeTextFile(tiny, 'policy "tiny" version 1\n');
  return { root, dir, tiny };
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

const ROOT_PEER = "00".repeat(33);

function line(fields: Record<string, unknown>): string {
  return JSON.stringify({
    time: "2026-01-01T00:00:00.000Z",
    transport: "tcp",
    peer_id: ROOT_PEER,
    dbid: "0",
    ...fields,
  });
}

/**
 * A transport recording as `mod.ts run --record` writes it: init (its reply recorded as a
 * digest that will not match), ping with the signer's own pong, a signed non-UTF-8
 * sign_message (the default policy refuses it by policy-message-text), and an init carrying key
 * material (recorded as a digest, so not replayable).
 */
function recording(): string {
  const ping = encodeMessage({ type: "ping", id: 7, message: "ping" } as HsmdRequest);
  const pong = encodeReply({ type: "pong", id: 7, message: "pong" } as HsmdReply);
  const signMessage = encodeMessage(
    { type: "sign_message", msg: Uint8Array.from([0xff, 0xfe]) } as HsmdRequest,
  );
  return [
    line({ dir: "request", id: 1, seq: 0, type: 11, name: "init", hex: toHex(initBody()) }),
    line({
      dir: "reply",
      id: 1,
      seq: 0,
      type: 114,
      name: "init_reply_v4",
      sha256: "00".repeat(32),
    }),
    line({ dir: "request", id: 2, seq: 1, type: 1000, name: "ping", hex: toHex(ping) }),
    line({ dir: "reply", id: 2, seq: 1, type: 1100, name: "pong", hex: toHex(pong) }),
    line({
      dir: "request",
      id: 3,
      seq: 2,
      type: 23,
      name: "sign_message",
      hex: toHex(signMessage),
    }),
    line({
      dir: "reply",
      id: 3,
      seq: 2,
      type: 123,
      name: "sign_message_reply",
      hex: toHex(u16be(123)) + "11".repeat(65),
    }),
    line({ dir: "request", id: 4, seq: 3, type: 11, name: "init", sha256: "ab".repeat(32) }),
  ].join("\n") + "\n";
}

Deno.test("replay: --help prints the usage on stdout, exit 0", async () => {
  const run = await replay("--help");
  deepStrictEqual(run, { code: 0, out: replayCommand.usage + "\n", err: "" });
  ok(replayCommand.usage.startsWith("usage: mod.ts replay --traffic FILE --data-dir DIR"));
  strictEqual(API_REPLAY_START_TIME, 1_700_000_000);
});

Deno.test("replay: usage errors exit 2 with one line that never repeats a value", async () => {
  const cases: [string[], string][] = [
    [[], "missing required option --traffic"],
    [["--traffic", "t.jsonl"], "missing required option --data-dir"],
    [["--traffic", "", "--data-dir", "d"], "missing required option --traffic"],
    [["--traffic=t.jsonl", "--data-dir="], "missing required option --data-dir"],
    [
      ["--traffic", "t", "--data-dir", "d", "--approver", "queue"],
      "--approver must be negative or positive",
    ],
    [["--traffic", "t", "--data-dir", "d", "--connect", "tcp://h:1"], "unknown option --connect"],
    [["--traffic", "t", "--data-dir", "d", "--s3cr3t=1"], "unknown option --s3cr3t"],
    [
      ["--traffic", "t", "--data-dir", "d", "s3cr3t"],
      "unexpected argument (this command takes only --options)",
    ],
    [["--traffic", "t", "--data-dir", "d", "--all=s3cr3t"], "option --all takes no value"],
    [["--traffic", "t", "--data-dir"], "option --data-dir needs a value"],
  ];
  for (const [args, message] of cases) {
    deepStrictEqual(
      await replay(...args),
      { code: 2, out: "", err: `error: ${message} (see --help)\n` },
      args.join(" "),
    );
  }
});

Deno.test("replay: an unreadable or malformed recording is exit 1 with one line naming the file", async () => {
  const { root, dir } = await fixture();
  try {
    const missing = join(root, "missing.jsonl");
    deepStrictEqual(await replay("--traffic", missing, "--data-dir", dir), {
      code: 1,
      out: "",
      err: `error: cannot read ${missing} (NotFound)\n`,
    });
    deepStrictEqual(await replay("--traffic", root, "--data-dir", dir), {
      code: 1,
      out: "",
      err: `error: cannot read ${root} (IsADirectory)\n`,
    });
    const cases: [string, string][] = [
      ["{oops\n", "line 1: not a JSON line"],
      ['\n{"dir":"sideways"}\n', "line 2: not a traffic record (no dir)"],
      ['{"dir":"request","id":1}\n', "line 1: not a transport record"],
      [
        line({ dir: "request", id: 1, seq: 0, type: 1000, hex: "03e8" }) + "\n" +
        '{"seq":1,"dir":"request","method":"newChannel","channel":null,"body":[]}\n',
        "the file mixes transport and signer-API records",
      ],
    ];
    const file = join(root, "bad.jsonl");
    for (const [text, message] of cases) {
      await Deno.writeTextFile(file, text);
      deepStrictEqual(
        await replay("--traffic", file, "--data-dir", dir),
        { code: 1, out: "", err: `error: ${file}: ${message}\n` },
        text,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("replay: an uninitialised data directory and a policy with errors are exit 1", async () => {
  const { root, dir, tiny } = await fixture();
  try {
    const empty = join(root, "empty.jsonl");
    await Deno.writeTextFile(empty, "");
    const bare = join(root, "bare");
    await Deno.mkdir(bare);
    deepStrictEqual(await replay("--traffic", empty, "--data-dir", bare), {
      code: 1,
      out: "",
      err: `error: ${bare}/signer.json not found (is ${bare} a data directory made by init?)\n`,
    });
    const bad = join(root, "bad.policy");
    await Deno.writeTextFile(
      bad,
      'policy "bad" version 1\nrule r1 "x"\n  on sign_message\n  require message.lenght <= 8\n',
    );
    deepStrictEqual(await replay("--traffic", empty, "--data-dir", dir, "--policy", bad), {
      code: 1,
      out: "",
      err: `${bad}:4:11: error: unknown fact "message.lenght" for kind sign_message ` +
        `(hint: did you mean "message.length"?)\n` +
        `error: the policy ${bad} has 1 error; not starting\n`,
    });
    const missing = join(root, "missing.policy");
    deepStrictEqual(await replay("--traffic", empty, "--data-dir", dir, "--policy", missing), {
      code: 1,
      out: "",
      err: `${missing}:1:1: error: cannot read ${missing} (NotFound)\n` +
        `error: the policy ${missing} has 1 error; not starting\n`,
    });
    // With a good policy, an empty recording replays nothing, successfully.
    deepStrictEqual(await replay("--traffic", empty, "--data-dir", dir, "--policy", tiny), {
      code: 0,
      out: "replayed 0 of 0 requests: 0 unchanged, 0 decisions changed (0 now refused, 0 now " +
        "allowed), 0 replies changed, 0 skipped; refusals: 0 before, 0 now\n",
      err: "",
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("replay: a recording against the default policy and another one; --all, --json; DIR untouched", async () => {
  const { root, dir, tiny } = await fixture();
  try {
    const traffic = join(root, "traffic.jsonl");
    await Deno.writeTextFile(traffic, recording());
    const before = await listDir(dir);

    // No --policy: rules/default.policy, which refuses the non-UTF-8 message.
    deepStrictEqual(await replay("--traffic", traffic, "--data-dir", dir), {
      code: 0,
      out: [
        "request 1 init: answered as before, but the reply differs",
        "request 3 sign_message: was signed, now refused by policy-message-text",
        "request 4 init: skipped (recorded as a digest: it carries key material)",
        "replayed 3 of 4 requests: 1 unchanged, 1 decisions changed (1 now refused, 0 now " +
        "allowed), 1 replies changed, 1 skipped; refusals: 0 before, 1 now",
        "",
      ].join("\n"),
      err: "",
    });

    // A policy without rules signs it again (other signature bytes than recorded); --all
    // lists the unchanged ping too.
    deepStrictEqual(
      await replay("--traffic", traffic, "--data-dir", dir, "--policy", tiny, "--all"),
      {
        code: 0,
        out: [
          "request 1 init: answered as before, but the reply differs",
          "request 2 ping: answered (unchanged)",
          "request 3 sign_message: signed as before, but the reply differs",
          "request 4 init: skipped (recorded as a digest: it carries key material)",
          "replayed 3 of 4 requests: 1 unchanged, 0 decisions changed (0 now refused, 0 now " +
          "allowed), 2 replies changed, 1 skipped; refusals: 0 before, 0 now",
          "",
        ].join("\n"),
        err: "",
      },
    );

    const json = await replay(
      "--traffic",
      traffic,
      "--data-dir",
      dir,
      "--policy",
      tiny,
      "--json",
      "--approver",
      "positive",
    );
    deepStrictEqual([json.code, json.err, json.out.endsWith("}\n")], [0, "", true]);
    deepStrictEqual(JSON.parse(json.out), {
      format: "transport",
      summary: {
        requests: 4,
        replayed: 3,
        unchanged: 1,
        decisionsChanged: 0,
        nowRefused: 0,
        nowAllowed: 0,
        repliesChanged: 2,
        skipped: 1,
        refusedBefore: 0,
        refusedAfter: 0,
      },
      entries: [
        {
          id: 1,
          request: "init",
          before: { kind: "ok", reply: "init_reply_v4", signed: false },
          after: { kind: "ok", reply: "init_reply_v4", signed: false },
          change: "reply",
        },
        {
          id: 3,
          request: "sign_message",
          before: { kind: "ok", reply: "sign_message_reply", signed: true },
          after: { kind: "ok", reply: "sign_message_reply", signed: true },
          change: "reply",
        },
        {
          id: 4,
          request: "init",
          before: { kind: "none" },
          after: { kind: "unknown" },
          change: "skipped",
          reason: "recorded as a digest: it carries key material",
        },
      ],
    });
    // Nothing was written to the data directory (the store is in memory).
    deepStrictEqual(await listDir(dir), before);
    deepStrictEqual(before, ["hsm_secret", "signer.json"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
