/**
 * `mod.ts run` (core/cli/run.ts) without a live node: option parsing into a {@link RunConfig}
 * and every refusal with its exact message, the permissions a configuration needs, the refusals
 * of an uninitialised or unsafe data directory and of a policy with errors, the loud start-up
 * lines (`--approver positive`, `--log-level`), and least-privilege subprocesses refusing grants
 * that tests/transports/run_test.ts does not try (sys, ffi, net with `--serial -`, a missing
 * `--allow-run=stty` or recording grant). The end-to-end runs (serving a node, `-A`, the serial
 * line, wss://) are in tests/transports/run_test.ts.
 */
import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { dirname, join, resolve } from "node:path";
import { main } from "../../../core/cli/mod.ts";
import { CliError, UsageError } from "../../../core/cli/command.ts";
import { createSignerDir, DataDirError } from "../../../core/cli/data_dir.ts";
import {
  APPROVERS,
  loadRunPolicy,
  neededPermissions,
  parseRunArgs,
  programDir,
  runCommand,
  type RunConfig,
  startSigner,
  STOP_GRACE_MS,
} from "../../../core/cli/run.ts";
import { parseConnectUrl } from "../../../transports/url.ts";
import { ROOT } from "./_run.ts";

const REPO = ROOT.replace(/\/$/, "");
const DEFAULT_POLICY = join(REPO, "rules", "default.policy");

function captureIo() {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
  };
  return io;
}

/** A fresh temporary root with an initialised regtest data directory `node` in it. */
async function signerDir(): Promise<{ root: string; dir: string }> {
  const root = await Deno.makeTempDir({ prefix: "warden-cli-run-" });
  const dir = await createSignerDir(join(root, "node"), {
    seed: new Uint8Array(32).fill(0x42),
    network: "regtest",
    keyStyle: "native",
  });
  return { root, dir };
}

/** A policy without rules (loads in milliseconds; these tests do not sign anything). */
async function tinyPolicy(root: string): Promise<string> {
  const path = join(root, "tiny.policy");
  await Deno.writeTextFile(path, 'policy "tiny" version 1\n');
  return path;
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

// ---- parseRunArgs ---------------------------------------------------------------------------

Deno.test("run: parseRunArgs: paths made absolute, defaults filled in", () => {
  deepStrictEqual(
    parseRunArgs([
      "--data-dir",
      "node",
      "--policy",
      "policy/site.policy",
      "--connect",
      "tcp://127.0.0.1:9735",
    ]),
    {
      dataDir: resolve("node"),
      policyPath: resolve("policy/site.policy"),
      connect: { kind: "tcp", hostname: "127.0.0.1", port: 9735, hostPort: "127.0.0.1:9735" },
      serial: undefined,
      stty: false,
      baud: undefined,
      record: undefined,
      approver: "negative",
      devAllowMandatoryDemotion: false,
      logLevel: "info",
    } satisfies RunConfig,
  );
  deepStrictEqual(
    parseRunArgs([
      "--data-dir=/srv/node",
      "--policy=/etc/warden/site.policy",
      "--serial",
      "tty0",
      "--stty",
      "--baud",
      "9600",
      "--record",
      "traffic.jsonl",
      "--approver",
      "queue",
      "--log-level",
      "debug",
      "--dev-allow-mandatory-demotion",
    ]),
    {
      dataDir: "/srv/node",
      policyPath: "/etc/warden/site.policy",
      connect: undefined,
      serial: resolve("tty0"),
      stty: true,
      baud: 9600,
      record: resolve("traffic.jsonl"),
      approver: "queue",
      devAllowMandatoryDemotion: true,
      logLevel: "debug",
    } satisfies RunConfig,
  );
  // "-" is the process's standard input and output, not a path.
  const stdio = parseRunArgs(["--data-dir", "d", "--policy", "p", "--serial", "-"]);
  ok(stdio !== "help");
  deepStrictEqual([stdio.serial, stdio.connect], ["-", undefined]);
  const ws = parseRunArgs(["--data-dir", "d", "--policy", "p", "--connect", "wss://h/signer"]);
  ok(ws !== "help");
  deepStrictEqual(ws.connect, parseConnectUrl("wss://h/signer"));
  strictEqual(parseRunArgs(["--help"]), "help");
  strictEqual(parseRunArgs(["-h", "--data-dir", "d"]), "help");
  deepStrictEqual([...APPROVERS], ["negative", "positive", "queue"]);
  strictEqual(STOP_GRACE_MS, 3000);
});

Deno.test("run: parseRunArgs refusals are UsageErrors with exact messages, never echoing values", () => {
  const base = ["--data-dir", "d", "--policy", "p"];
  const tcp = [...base, "--connect", "tcp://h:1"];
  const serial = [...base, "--serial", "/dev/x"];
  const cases: [string[], string][] = [
    [[], "missing required option --data-dir"],
    [["--data-dir", "d"], "missing required option --policy"],
    [["--data-dir=", "--policy", "p"], "--data-dir needs a value"],
    [["--data-dir", "d", "--policy", ""], "--policy needs a value"],
    [[...base, "--connect", ""], "--connect needs a value"],
    [base, "give exactly one of --connect URL and --serial DEVICE"],
    [[...tcp, "--serial", "/dev/x"], "give exactly one of --connect URL and --serial DEVICE"],
    [[...tcp, "--serial", "-"], "give exactly one of --connect URL and --serial DEVICE"],
    // The URL's TransportError becomes a usage error with the same words.
    [[...base, "--connect", "tcp://h"], "tcp:// URLs need a port: tcp://HOST:PORT"],
    [
      [...base, "--connect", "tcp://op:s3cr3t@h:1"],
      "--connect URLs take no user name or password",
    ],
    [[...tcp, "--stty"], "--stty goes with --serial"],
    [[...tcp, "--baud", "115200"], "--baud goes with --serial"],
    [
      [...serial, "--baud", "7"],
      "--baud must be one of 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600",
    ],
    [[...serial, "--baud", ""], "--baud needs a value"],
    [[...tcp, "--approver", "s3cr3t"], "--approver must be one of negative, positive, queue"],
    [[...tcp, "--log-level", "trace"], "--log-level must be debug, info, warn or error"],
    [[...tcp, "--record", ""], "--record needs a value"],
    [[...tcp, "--s3cr3t"], "unknown option --s3cr3t"],
    [[...tcp, "--seed=s3cr3t"], "unknown option --seed"],
    [[...tcp, "s3cr3t"], "unexpected argument (this command takes only --options)"],
    [[...tcp, "--stty=s3cr3t"], "option --stty takes no value"],
    [[...base, "--connect"], "option --connect needs a value"],
  ];
  for (const [args, message] of cases) {
    throws(() => parseRunArgs(args), (e: unknown) => {
      ok(e instanceof UsageError, `${args.join(" ")}: ${e}`);
      strictEqual(e.message, message, args.join(" "));
      return true;
    });
  }
});

Deno.test("run: through main: --help on stdout (exit 0); a usage error is one line on stderr (exit 2)", async () => {
  const help = captureIo();
  strictEqual(await main(["run", "--help"], help), 0);
  deepStrictEqual([help.out, help.err], [runCommand.usage + "\n", ""]);
  ok(runCommand.usage.startsWith("usage: mod.ts run --data-dir DIR --policy FILE"));

  const bad = captureIo();
  strictEqual(
    await main(
      ["run", "--data-dir", "d", "--policy", "p", "--serial", "-", "--log-level", "x"],
      bad,
    ),
    2,
  );
  deepStrictEqual(
    [bad.out, bad.err],
    ["", "error: --log-level must be debug, info, warn or error (see --help)\n"],
  );
});

// ---- permissions ----------------------------------------------------------------------------

Deno.test("run: neededPermissions: exactly what each configuration reads, writes, dials and runs", () => {
  strictEqual(programDir(), REPO);
  const tcp: RunConfig = {
    dataDir: "/srv/node",
    policyPath: "/etc/warden/site.policy",
    connect: parseConnectUrl("tcp://[::1]:9735"),
  };
  deepStrictEqual(neededPermissions(tcp), {
    net: ["[::1]:9735"],
    read: ["/srv/node", "/etc/warden/site.policy"],
    readAllowed: ["/etc/warden", REPO],
    write: ["/srv/node"],
    run: [],
  });
  // The policy's includes are read too (each once); their directories may be.
  deepStrictEqual(
    neededPermissions(tcp, {
      policyFiles: ["/etc/warden/site.policy", DEFAULT_POLICY, DEFAULT_POLICY],
    }),
    {
      net: ["[::1]:9735"],
      read: ["/srv/node", "/etc/warden/site.policy", DEFAULT_POLICY],
      readAllowed: ["/etc/warden", dirname(DEFAULT_POLICY), REPO],
      write: ["/srv/node"],
      run: [],
    },
  );
  // --serial -: no network, no device path; --stty runs stty.
  deepStrictEqual(
    neededPermissions({ ...tcp, connect: undefined, serial: "-", stty: true }),
    {
      net: [],
      read: ["/srv/node", "/etc/warden/site.policy"],
      readAllowed: ["/etc/warden", REPO],
      write: ["/srv/node"],
      run: ["stty"],
    },
  );
  // A device and a recording are read and written.
  deepStrictEqual(
    neededPermissions({
      ...tcp,
      connect: undefined,
      serial: "/dev/ttyUSB0",
      record: "/srv/rec.jsonl",
    }),
    {
      net: [],
      read: ["/srv/node", "/etc/warden/site.policy", "/srv/rec.jsonl", "/dev/ttyUSB0"],
      readAllowed: ["/etc/warden", REPO],
      write: ["/srv/node", "/srv/rec.jsonl", "/dev/ttyUSB0"],
      run: [],
    },
  );
});

Deno.test("run: the permission check comes first: under --allow-all it refuses before reading anything", async () => {
  // The tests run with --allow-all, which the signer refuses. The data directory and the policy
  // do not exist: the refusal is about permissions, so nothing was read before the check.
  const io = captureIo();
  const args = [
    "run",
    "--data-dir",
    "/nonexistent-warden/node",
    "--policy",
    "/nonexistent-warden/site.policy",
    "--connect",
    "tcp://127.0.0.1:9",
  ];
  strictEqual(await main(args, io), 1);
  strictEqual(io.out, "");
  ok(
    io.err.startsWith(
      "error: refusing to run with permissions it does not need: --allow-net (everything), " +
        "--allow-read (everything), --allow-write (everything), --allow-run (everything)",
    ),
    io.err,
  );
  strictEqual(io.err.split("\n").length, 2, "one line");
  const config = parseRunArgs(args.slice(1));
  ok(config !== "help");
  await rejects(startSigner(config, { io: captureIo() }), (e: unknown) => {
    ok(e instanceof CliError);
    ok(e.message.startsWith("refusing to run with permissions it does not need: "), e.message);
    return true;
  });
});

// ---- start-up refusals (permission check off: the tests hold --allow-all) -------------------

Deno.test("run: startSigner refuses an uninitialised or unsafe data directory before opening its store", async () => {
  const { root, dir } = await signerDir();
  const policyPath = await tinyPolicy(root);
  const start = (dataDir: string) =>
    startSigner({ dataDir, policyPath, connect: parseConnectUrl("tcp://127.0.0.1:9") }, {
      io: captureIo(),
      checkPermissions: false,
    });
  const cliError = (message: string) => (e: unknown) => {
    ok(e instanceof CliError, String(e));
    strictEqual(e.message, message);
    return true;
  };
  const dataDirError = (message: string) => (e: unknown) => {
    ok(e instanceof DataDirError, String(e));
    strictEqual(e.message, message);
    return true;
  };
  try {
    const empty = join(root, "empty");
    await Deno.mkdir(empty);
    await rejects(
      start(empty),
      cliError(`${empty}/signer.json not found (is ${empty} a data directory made by init?)`),
    );
    deepStrictEqual(await listDir(empty), []); // nothing created in it
    const missing = join(root, "missing");
    await rejects(
      start(missing),
      cliError(`${missing}/signer.json not found (is ${missing} a data directory made by init?)`),
    );
    await Deno.writeTextFile(join(empty, "signer.json"), "{not json");
    await rejects(start(empty), cliError(`${empty}/signer.json is not valid JSON`));

    // A seed file others can read is refused before the store or the audit log exist.
    const seed = join(dir, "hsm_secret");
    await Deno.chmod(seed, 0o644);
    await rejects(
      start(dir),
      dataDirError(`${seed} is accessible by group or others (mode 0644); run chmod 600 on it`),
    );
    await Deno.remove(seed);
    await rejects(start(dir), dataDirError(`cannot read ${seed}: not found`));
    deepStrictEqual(await listDir(dir), ["signer.json"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("run: startSigner without --connect or --serial is a usage error", async () => {
  const { root, dir } = await signerDir();
  try {
    await rejects(
      startSigner({ dataDir: dir, policyPath: await tinyPolicy(root) }, {
        io: captureIo(),
        checkPermissions: false,
      }),
      (e: unknown) => {
        ok(e instanceof UsageError);
        strictEqual(e.message, "give --connect URL or --serial DEVICE");
        return true;
      },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("run: loadRunPolicy prints every diagnostic with its location, then one error counting them", async () => {
  const root = await Deno.makeTempDir({ prefix: "warden-cli-run-" });
  try {
    const bad = join(root, "bad.policy");
    await Deno.writeTextFile(
      bad,
      'policy "bad" version 1\n' +
        'rule r1 "x"\n  on sign_message\n  require message.lenght <= 8\n' +
        'rule r2 "y"\n  on sign_message\n  require message.lenth <= 8\n',
    );
    const io = captureIo();
    throws(() => loadRunPolicy(bad, { network: "regtest", io }), (e: unknown) => {
      ok(e instanceof CliError);
      strictEqual(e.message, `the policy ${bad} has 2 errors; not starting`);
      return true;
    });
    deepStrictEqual(io.err.trimEnd().split("\n"), [
      `${bad}:4:11: error: unknown fact "message.lenght" for kind sign_message ` +
      `(hint: did you mean "message.length"?)`,
      `${bad}:7:11: error: unknown fact "message.lenth" for kind sign_message ` +
      `(hint: did you mean "message.length"?)`,
    ]);
    strictEqual(io.out, "");

    const none = join(root, "none.policy");
    const io2 = captureIo();
    throws(
      () => loadRunPolicy(none, { network: "regtest", io: io2 }),
      new CliError(`the policy ${none} has 1 error; not starting`),
    );
    strictEqual(io2.err, `${none}:1:1: error: cannot read ${none} (NotFound)\n`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("run: --approver positive is a loud warn line; --log-level drops the lines below it", async () => {
  const { root, dir } = await signerDir();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connect = parseConnectUrl(`tcp://127.0.0.1:${listener.addr.port}`);
  const lines = (io: { err: string }) => io.err.trimEnd().split("\n").map((l) => JSON.parse(l));
  try {
    const policyPath = await tinyPolicy(root);
    const warnOnly = captureIo();
    const loud = await startSigner({
      dataDir: dir,
      policyPath,
      connect,
      approver: "positive",
      logLevel: "warn",
    }, { io: warnOnly, checkPermissions: false });
    await loud.stop();
    deepStrictEqual(lines(warnOnly).map((e) => [e.level, e.event, e.fields]), [[
      "warn",
      "approver.permissive",
      {
        message: "every payment and unknown on-chain output is approved (--approver positive)",
      },
    ]]);

    const info = captureIo();
    const quiet = await startSigner({
      dataDir: dir,
      policyPath,
      connect,
      approver: "queue",
      record: join(root, "traffic.jsonl"),
    }, { io: info, checkPermissions: false });
    await quiet.stop();
    const events = lines(info);
    strictEqual(events.some((e) => e.event === "approver.permissive"), false);
    const start = events.find((e) => e.event === "signer.start");
    deepStrictEqual(
      {
        approver: start.fields.approver,
        transport: start.fields.transport,
        target: start.fields.target,
        record: start.fields.record,
        permissions: start.fields.permissions,
        key_style: start.fields.key_style,
        data_dir: start.fields.data_dir,
        node_id: start.fields.node_id,
      },
      {
        approver: "queue",
        transport: "tcp",
        target: `127.0.0.1:${listener.addr.port}`,
        record: join(root, "traffic.jsonl"),
        permissions: "not checked",
        key_style: "native",
        data_dir: dir,
        node_id: [...quiet.nodeId].map((b) => b.toString(16).padStart(2, "0")).join(""),
      },
    );
    strictEqual(events[events.length - 1].event, "signer.stopped");
    deepStrictEqual(await listDir(dir), [
      "audit.log",
      "hsm_secret",
      "signer.json",
      "state.sqlite",
    ]);
  } finally {
    listener.close();
    await Deno.remove(root, { recursive: true });
  }
});

// ---- least-privilege subprocesses -----------------------------------------------------------

/** Runs `deno run FLAGS mod.ts run ARGS` from the repository root. */
async function runSigner(
  flags: string[],
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "mod.ts", "run", ...args],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("run: least-privilege subprocesses refuse sys, ffi, net with --serial -, and missing grants", async () => {
  const root = await Deno.makeTempDir({ prefix: "warden-cli-run-" });
  try {
    // An uninitialised data directory: every grant below is right except the one under test.
    const dir = join(root, "node");
    await Deno.mkdir(dir, { mode: 0o700 });
    const policyDir = join(root, "policy");
    await Deno.mkdir(policyDir);
    const policy = join(policyDir, "site.policy");
    await Deno.writeTextFile(policy, `policy "site" version 1\ninclude "${DEFAULT_POLICY}"\n`);
    const read = `--allow-read=${dir},${policyDir},${dirname(DEFAULT_POLICY)}`;
    const write = `--allow-write=${dir}`;
    const net = "--allow-net=127.0.0.1:9";
    const tcpArgs = ["--data-dir", dir, "--policy", policy, "--connect", "tcp://127.0.0.1:9"];
    const serialArgs = ["--data-dir", dir, "--policy", policy, "--serial", "-"];
    const record = join(root, "traffic.jsonl");
    const notInit =
      `error: ${dir}/signer.json not found (is ${dir} a data directory made by init?)`;
    const cases: [string[], string[], string][] = [
      // The baseline: the grants are right, so the start gets as far as the data directory.
      [[net, read, write], tcpArgs, notInit],
      [[read, write], serialArgs, notInit],
      [
        [net, read, write, "--allow-sys"],
        tcpArgs,
        "error: refusing to run with permissions it does not need: --allow-sys (everything)",
      ],
      [
        [net, read, write, "--allow-ffi"],
        tcpArgs,
        "error: refusing to run with permissions it does not need: --allow-ffi (everything)",
      ],
      [
        ["--allow-net=127.0.0.1:9735", read, write],
        serialArgs,
        "error: refusing to run with permissions it does not need: --allow-net=127.0.0.1:9735",
      ],
      [
        [read, write],
        [...serialArgs, "--stty"],
        "error: missing permissions it needs: --allow-run=stty",
      ],
      [
        [net, read, write],
        [...tcpArgs, "--record", record],
        `error: missing permissions it needs: --allow-read=${record}, --allow-write=${record}`,
      ],
    ];
    const runs = await Promise.all(cases.map(([flags, args]) => runSigner(flags, args)));
    runs.forEach((run, i) => {
      const [flags, args, line] = cases[i];
      const what = `${flags.join(" ")} ${args.join(" ")}`;
      deepStrictEqual([run.code, run.stdout, run.stderr], [1, "", line + "\n"], what);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
