/**
 * `mod.ts run` as a subprocess: with least-privilege flags it serves a TCP test node and logs
 * JSON lines; with more permissions than it needs (or fewer) it refuses to start with one error
 * line and exit code 1.
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { concat, utf8 } from "../../core/bytes.ts";
import { decodeReply } from "../../core/protocol/codec.ts";
import { signerErrorOf } from "../../core/protocol/errors.ts";
import { frame, readReplies, replies, writeAll } from "./_helpers.ts";
import { initBody, makeDataDir, req, ROOT, sitePolicy } from "./_signer.ts";
import { PtyPair } from "./_socat.ts";
import { main } from "../../core/cli/mod.ts";
import { startSigner } from "../../core/cli/run.ts";
import { parseConnectUrl } from "../../transports/url.ts";

interface Env {
  root: string;
  dir: string;
  policyDir: string;
  policy: string;
}

async function env(): Promise<Env> {
  const { root, dir } = await makeDataDir();
  const policyDir = join(root, "policy");
  return { root, dir, policyDir, policy: await sitePolicy(policyDir) };
}

/** The least-privilege flags for a signer dialing `hostPort`. */
function leastFlags(e: Env, hostPort: string): string[] {
  return [
    `--allow-net=${hostPort}`,
    `--allow-read=${e.dir},${e.policyDir},${join(ROOT, "rules")}`,
    `--allow-write=${e.dir}`,
  ];
}

function signer(flags: string[], args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "mod.ts", "run", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

/** A refused start: exit 1, one `error:` line matching `pattern`, nothing on stdout. */
async function refused(flags: string[], args: string[], pattern: RegExp): Promise<void> {
  const out = await signer(flags, args).output();
  const stderr = new TextDecoder().decode(out.stderr);
  strictEqual(out.code, 1, stderr);
  strictEqual(new TextDecoder().decode(out.stdout), "");
  const lines = stderr.trimEnd().split("\n");
  strictEqual(lines.length, 1, stderr);
  ok(lines[0].startsWith("error: "), lines[0]);
  ok(pattern.test(lines[0]), `${lines[0]} should match ${pattern}`);
}

Deno.test("run: least privilege; serves a TCP node, logs JSON lines, stops on SIGTERM", async () => {
  const e = await env();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const hostPort = `127.0.0.1:${listener.addr.port}`;
  const record = join(e.dir, "traffic.jsonl");
  const child = signer(leastFlags(e, hostPort), [
    "--data-dir",
    e.dir,
    "--policy",
    e.policy,
    "--connect",
    `tcp://${hostPort}`,
    "--record",
    record,
  ]);
  const output = child.output();
  try {
    const conn = await listener.accept();
    const requests = [
      initBody(),
      req({ type: "ping", id: 7, message: "ping" }),
      req({ type: "sign_message", msg: utf8("hello") }),
      req({ type: "sign_message", msg: new Uint8Array([0xff, 0xfe]) }), // not UTF-8: refused
    ];
    await writeAll(conn, concat(...requests.map((b, i) => frame(i, b))));
    const replies = await readReplies(conn, requests.length);
    ok(replies !== null);
    deepStrictEqual(
      replies.map((r) => decodeReply(r.body).type),
      ["init_reply_v4", "pong", "sign_message_reply", "signer_error"],
    );
    deepStrictEqual(signerErrorOf(replies[3].body), {
      code: 403,
      message: "policy: refused by policy-message-text",
      temporary: false,
    });
    conn.close();
  } finally {
    child.kill("SIGTERM");
    listener.close();
  }
  const out = await output;
  const stderr = new TextDecoder().decode(out.stderr);
  strictEqual(out.code, 0, stderr);
  const events = stderr.trimEnd().split("\n").map((l) => JSON.parse(l));
  for (const ev of events) {
    deepStrictEqual(Object.keys(ev), ["time", "level", "event", "fields"]);
  }
  const byName = (n: string) => events.filter((ev) => ev.event === n);
  const [start] = byName("signer.start");
  strictEqual(start.fields.permissions, "least privilege (checked)");
  strictEqual(start.fields.network, "regtest");
  strictEqual(start.fields.transport, "tcp");
  strictEqual(start.fields.policy.name, "site");
  deepStrictEqual(byName("decision.refused").map((ev) => ev.fields.rules), [[
    "policy-message-text",
  ]]);
  strictEqual(byName("connection.open").length >= 1, true);
  strictEqual(byName("signer.signal")[0].fields.signal, "SIGTERM");
  strictEqual(byName("signer.stopped")[0].fields.requests, 4);
  // The recording and the audit log are in the data directory.
  const lines = (await Deno.readTextFile(record)).trim().split("\n");
  strictEqual(lines.length, 8);
  const audit = (await Deno.readTextFile(join(e.dir, "audit.log"))).trim().split("\n");
  deepStrictEqual(audit.map((l) => JSON.parse(l).outcome), ["allow", "refuse"]);
  await Deno.remove(e.root, { recursive: true });
});

Deno.test("run: refuses to start with more permissions than it needs, or fewer", async () => {
  const e = await env();
  const hostPort = "127.0.0.1:9";
  const args = ["--data-dir", e.dir, "--policy", e.policy, "--connect", `tcp://${hostPort}`];
  const least = leastFlags(e, hostPort);
  try {
    await refused(
      ["-A"],
      args,
      /^error: refusing to run with permissions it does not need: --allow-net \(everything\), --allow-read \(everything\), --allow-write \(everything\), --allow-run \(everything\)/,
    );
    await refused([...least, "--allow-run"], args, /not need: --allow-run \(everything\)$/);
    await refused([...least, "--allow-run=stty"], args, /not need: --allow-run=stty$/);
    await refused(
      ["--allow-net", ...least.slice(1)],
      args,
      /not need: --allow-net \(everything\)$/,
    );
    await refused([...least, "--allow-write=/"], args, /not need: --allow-write/);
    await refused([...least, "--allow-read=/etc"], args, /not need: --allow-read=\/etc$/);
    await refused([...least, "--allow-env"], args, /not need: --allow-env \(everything\)$/);
    await refused(least.slice(0, 2), args, /^error: missing permissions it needs: --allow-write=/);
  } finally {
    await Deno.remove(e.root, { recursive: true });
  }
});

Deno.test("run: a policy with errors is reported with its location, exit 1", async () => {
  const e = await env();
  try {
    const bad = await sitePolicy(
      join(e.root, "bad"),
      'rule r1 "x"\n  on sign_message\n  require message.lenght <= 8\n',
    );
    const out = await signer(
      [
        `--allow-net=127.0.0.1:9`,
        `--allow-read=${e.dir},${join(e.root, "bad")},${join(ROOT, "rules")}`,
        `--allow-write=${e.dir}`,
      ],
      ["--data-dir", e.dir, "--policy", bad, "--connect", "tcp://127.0.0.1:9"],
    ).output();
    const stderr = new TextDecoder().decode(out.stderr).trimEnd().split("\n");
    strictEqual(out.code, 1);
    ok(/site\.policy:5:\d+: error: .*lenght/.test(stderr[0]), stderr[0]);
    ok(stderr[stderr.length - 1].startsWith("error: the policy "), stderr.join("\n"));
  } finally {
    await Deno.remove(e.root, { recursive: true });
  }
});

async function commandWorks(name: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(name, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

const HAS_OPENSSL = await commandWorks("openssl", ["version"]);

/** A CA and a server certificate for 127.0.0.1 signed by it (openssl), in `dir`. */
async function certificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const ssl = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  await Deno.writeTextFile(
    join(dir, "server.ext"),
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n" +
      "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
  );
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await ssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=warden test CA",
  );
  await ssl("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
  await ssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  );
  return { ca: join(dir, "ca.pem"), cert: join(dir, "server.pem"), key: join(dir, "server.key") };
}

Deno.test({
  name: "run: wss:// with least privilege (the node's CA given to Deno with --cert)",
  ignore: !HAS_OPENSSL,
  async fn() {
    const e = await env();
    const tls = await certificates(e.root);
    const sockets: WebSocket[] = [];
    const received: Uint8Array[] = [];
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      cert: await Deno.readTextFile(tls.cert),
      key: await Deno.readTextFile(tls.key),
      onListen: () => {},
    }, (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      socket.binaryType = "arraybuffer";
      socket.addEventListener("open", () => sockets.push(socket));
      socket.addEventListener("message", (ev) => received.push(new Uint8Array(ev.data)));
      return response;
    });
    const hostPort = `127.0.0.1:${server.addr.port}`;
    const child = signer([`--cert=${tls.ca}`, ...leastFlags(e, hostPort)], [
      "--data-dir",
      e.dir,
      "--policy",
      e.policy,
      "--connect",
      `wss://${hostPort}/signer`,
    ]);
    const output = child.output();
    try {
      const deadline = Date.now() + 20_000;
      while (sockets.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      strictEqual(sockets.length, 1, "the signer connected over TLS");
      sockets[0].send(frame(0, initBody()));
      sockets[0].send(frame(1, req({ type: "ping", id: 3, message: "ping" })));
      while (received.length < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      deepStrictEqual(
        received.map((m) => decodeReply(replies(m)[0].body).type),
        ["init_reply_v4", "pong"],
      );
    } finally {
      child.kill("SIGTERM");
      await output;
      await server.shutdown();
      await Deno.remove(e.root, { recursive: true });
    }
  },
});

Deno.test("run: --serial - with least privilege: the shell opens the line as stdin and stdout", async () => {
  const e = await env();
  const pair = await PtyPair.start(e.root);
  const flags = [
    `--allow-read=${e.dir},${e.policyDir},${join(ROOT, "rules")}`,
    `--allow-write=${e.dir}`,
  ];
  const args = ["--data-dir", e.dir, "--policy", e.policy, "--serial", "-"];
  // The operator's command line: deno run ... mod.ts run ... --serial - 0<>DEVICE 1>&0
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      `exec "$0" run "$@" 0<>'${pair.a}' 1>&0`,
      Deno.execPath(),
      ...flags,
      "mod.ts",
      "run",
      ...args,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const output = child.output();
  let node: Deno.FsFile | undefined;
  try {
    node = await Deno.open(pair.b, { read: true, write: true });
    // Lock-step: one request, one reply.
    await writeAll(node, frame(0, initBody()));
    const [init] = (await readReplies(node, 1)) ?? [];
    strictEqual(decodeReply(init.body).type, "init_reply_v4");
    await writeAll(node, frame(1, req({ type: "ping", id: 1, message: "ping" })));
    const [pong] = (await readReplies(node, 1)) ?? [];
    deepStrictEqual([pong.seq, decodeReply(pong.body).type], [1, "pong"]);
  } finally {
    node?.close();
  }
  // The line goes away: the signer exits with one error line after its logs.
  await pair.stop();
  const out = await output;
  const stderr = new TextDecoder().decode(out.stderr).trimEnd().split("\n");
  strictEqual(out.code, 1, stderr.join("\n"));
  strictEqual(stderr[stderr.length - 1], "error: the serial line on standard input closed");
  const events = stderr.slice(0, -1).map((l) => JSON.parse(l));
  const start = events.find((ev) => ev.event === "signer.start");
  deepStrictEqual([start.fields.transport, start.fields.target], ["serial", "stdio"]);
  strictEqual(events.find((ev) => ev.event === "signer.stopped").fields.requests, 2);
  await Deno.remove(e.root, { recursive: true });
});

Deno.test("run: --serial DEVICE under least privilege fails early, naming --serial -", async () => {
  const e = await env();
  const pair = await PtyPair.start(e.root);
  try {
    await refused(
      [
        `--allow-read=${e.dir},${e.policyDir},${join(ROOT, "rules")},${pair.a}`,
        `--allow-write=${e.dir},${pair.a}`,
      ],
      ["--data-dir", e.dir, "--policy", e.policy, "--serial", pair.a],
      /only with --allow-all; give the line as standard input and output instead: --serial - 0<>/,
    );
  } finally {
    await pair.stop();
    await Deno.remove(e.root, { recursive: true });
  }
});

Deno.test("run: a demoted mandatory rule is a loud warn line (development flag only)", async () => {
  const e = await env();
  const policy = await sitePolicy(join(e.root, "dev"), "filter policy-chain-validated warn\n");
  const io = { err: "", stdout: () => {}, stderr: (t: string) => void (io.err += t) };
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const running = await startSigner({
      dataDir: e.dir,
      policyPath: policy,
      connect: parseConnectUrl(`tcp://127.0.0.1:${listener.addr.port}`),
      devAllowMandatoryDemotion: true,
    }, { io, checkPermissions: false });
    await running.stop();
    const events = io.err.trim().split("\n").map((l) => JSON.parse(l));
    const [demotion] = events.filter((ev) => ev.event === "policy.mandatory_demotion");
    strictEqual(demotion.level, "warn");
    strictEqual(demotion.fields.rule, "policy-chain-validated");
    ok(/MANDATORY/.test(demotion.fields.message));
    strictEqual(
      events.find((ev) => ev.event === "signer.start").fields.policy.mandatory_demotions,
      1,
    );
    // Without the flag the same policy does not load.
    const io2 = { err: "", stdout: () => {}, stderr: (t: string) => void (io2.err += t) };
    await rejects(
      startSigner({
        dataDir: e.dir,
        policyPath: policy,
        connect: parseConnectUrl(`tcp://127.0.0.1:${listener.addr.port}`),
      }, { io: io2, checkPermissions: false }),
      /the policy .* has 1 error; not starting/,
    );
    ok(/error: .*mandatory/.test(io2.err), io2.err);
  } finally {
    listener.close();
    await Deno.remove(e.root, { recursive: true });
  }
});

Deno.test("run: usage errors exit 2 with one error line", async () => {
  const cases: [string[], RegExp][] = [
    [["--policy", "p"], /missing required option --data-dir/],
    [["--data-dir", "d", "--policy", "p"], /exactly one of --connect URL and --serial DEVICE/],
    [
      ["--data-dir", "d", "--policy", "p", "--connect", "tcp://h:1", "--serial", "/dev/x"],
      /exactly one/,
    ],
    [
      ["--data-dir", "d", "--policy", "p", "--connect", "http://h:1"],
      /unsupported --connect scheme/,
    ],
    [["--data-dir", "d", "--policy", "p", "--connect", "tcp://h"], /tcp:\/\/ URLs need a port/],
    [
      ["--data-dir", "d", "--policy", "p", "--connect", "tcp://h:1", "--stty"],
      /--stty goes with --serial/,
    ],
    [
      ["--data-dir", "d", "--policy", "p", "--serial", "/dev/x", "--baud", "7"],
      /--baud must be one of/,
    ],
    [
      ["--data-dir", "d", "--policy", "p", "--connect", "tcp://h:1", "--approver", "yes"],
      /--approver must be/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const io = { err: "", stdout: () => {}, stderr: (t: string) => void (io.err += t) };
    strictEqual(await main(["run", ...args], io), 2, args.join(" "));
    const lines = io.err.trimEnd().split("\n");
    strictEqual(lines.length, 1);
    ok(pattern.test(lines[0]), `${lines[0]} should match ${pattern}`);
  }
});
