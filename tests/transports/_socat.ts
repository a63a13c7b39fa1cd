/**
 * A pseudo-terminal pair for the serial tests: `socat -d -d pty,raw,echo=0,link=A
 * pty,raw,echo=0,link=B`. socat must be installed; when it is not and the tests run as root (CI),
 * it is installed with apt-get; otherwise the test fails with a clear message.
 *
 * @module
 */
import { join } from "node:path";

async function commandWorks(name: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(name, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

let ensured: Promise<void> | undefined;

/** Makes sure socat is installed (installing it as root with apt-get when missing). */
export function ensureSocat(): Promise<void> {
  ensured ??= (async () => {
    if (await commandWorks("socat", ["-V"])) return;
    const uid = Deno.uid();
    if (uid !== 0) {
      throw new Error(
        "the serial tests need socat: install it (sudo apt-get install -y socat) and run again",
      );
    }
    for (const args of [["update"], ["install", "-y", "socat"]]) {
      const out = await new Deno.Command("apt-get", {
        args,
        stdout: "null",
        stderr: "piped",
        env: { DEBIAN_FRONTEND: "noninteractive" },
      }).output();
      if (!out.success) {
        const why = new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "";
        throw new Error(`cannot install socat with apt-get ${args.join(" ")}: ${why}`);
      }
    }
    if (!(await commandWorks("socat", ["-V"]))) throw new Error("socat is still not runnable");
  })();
  return ensured;
}

/** A running socat pty pair: `a` and `b` are the two ends' paths (symlinks to /dev/pts/N). */
export class PtyPair {
  private constructor(
    readonly a: string,
    readonly b: string,
    readonly process: Deno.ChildProcess,
  ) {}

  /** Starts socat with the links `a` and `b` inside `dir` and waits until both exist. */
  static async start(dir: string, names: { a?: string; b?: string } = {}): Promise<PtyPair> {
    await ensureSocat();
    const a = join(dir, names.a ?? "signer-tty");
    const b = join(dir, names.b ?? "node-tty");
    const process = new Deno.Command("socat", {
      args: ["-d", "-d", `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 10_000;
    while (true) {
      try {
        await Deno.stat(a);
        await Deno.stat(b);
        break;
      } catch {
        if (Date.now() > deadline) {
          process.kill("SIGKILL");
          await process.status;
          throw new Error("socat did not create the pty pair");
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    return new PtyPair(a, b, process);
  }

  /** Stops socat (the ends go away: reads on them fail with EIO) and waits for it. */
  async stop(): Promise<void> {
    try {
      this.process.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.process.status;
  }
}
