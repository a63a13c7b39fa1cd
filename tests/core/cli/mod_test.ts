/** The CLI dispatcher, in process: command table, help, exit codes, one-line errors. */
import { ok, strictEqual } from "node:assert/strict";
import { COMMAND_GROUPS, EXIT, main, usage } from "../../../core/cli/mod.ts";

function capture() {
  const io = { out: "", err: "" };
  return {
    io,
    cli: { stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) },
  };
}

Deno.test("every listed command is exported by its group, with a usage text", async () => {
  for (const group of COMMAND_GROUPS) {
    const module = await group.load();
    for (const name of Object.keys(group.commands)) {
      const command = module.commands[name];
      strictEqual(typeof command?.run, "function", name);
      ok(command.usage.startsWith(`usage: mod.ts ${name}`), name);
    }
  }
  ok(/^ {2}init +create a data directory/m.test(usage()));
});

Deno.test("main: help, no command, unknown command", async () => {
  let c = capture();
  strictEqual(await main(["help"], c.cli), EXIT.OK);
  strictEqual(c.io.out, usage() + "\n");
  strictEqual(c.io.err, "");
  c = capture();
  strictEqual(await main([], c.cli), EXIT.USAGE);
  strictEqual(c.io.err, usage() + "\n");
  c = capture();
  strictEqual(await main(["frobnicate"], c.cli), EXIT.USAGE);
  strictEqual(c.io.out, "");
  strictEqual(c.io.err, "error: unknown command (run `mod.ts help` for the list) (see --help)\n");
  c = capture();
  strictEqual(await main(["help", "info"], c.cli), EXIT.OK);
  ok(c.io.out.startsWith("usage: mod.ts info"));
});

Deno.test("main: runtime errors exit 1 with one line", async () => {
  const c = capture();
  const missing = `/nonexistent-${crypto.randomUUID()}`;
  strictEqual(await main(["info", "--data-dir", missing], c.cli), EXIT.ERROR);
  strictEqual(c.io.out, "");
  strictEqual(c.io.err, `error: data directory ${missing} does not exist\n`);
});
