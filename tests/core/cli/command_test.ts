/** Option parsing of the CLI: strict, with messages that never repeat argument values. */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { parseOptions, printJson, requireString, UsageError } from "../../../core/cli/command.ts";

const SPEC = {
  "data-dir": { type: "string" as const },
  "seed-hex": { type: "string" as const },
  help: { type: "boolean" as const, short: "h" },
};
const SECRET = "6c696768746e696e672d31000000000000000000000000000000000000000000";

Deno.test("parseOptions returns strings and flags", () => {
  deepStrictEqual(
    { ...parseOptions(["--data-dir", "/x", "--seed-hex=ab", "-h"], SPEC) },
    { "data-dir": "/x", "seed-hex": "ab", help: true },
  );
  deepStrictEqual({ ...parseOptions([], SPEC) }, {});
});

Deno.test("parseOptions errors name the option, never the value", () => {
  const cases: [string[], string][] = [
    [[`--seed=${SECRET}`], "unknown option --seed"],
    [["-x"], "unknown option -x"],
    [["--seed-hex"], "option --seed-hex needs a value"],
    [["--data-dir", "--seed-hex", SECRET], "option --data-dir needs a value"],
    [[`--help=${SECRET}`], "option -h takes no value"],
    [[SECRET], "unexpected argument (this command takes only --options)"],
  ];
  for (const [args, message] of cases) {
    throws(() => parseOptions(args, SPEC), (e: unknown) => {
      strictEqual(e instanceof UsageError, true);
      strictEqual((e as Error).message, message);
      strictEqual((e as Error).message.includes(SECRET), false);
      return true;
    });
  }
});

Deno.test("requireString and printJson", () => {
  strictEqual(requireString({ a: "v" }, "a"), "v");
  throws(() => requireString({ a: "" }, "a"), {
    name: "UsageError",
    message: "missing required option --a",
  });
  throws(() => requireString({ a: true }, "a"), UsageError);
  throws(() => requireString({}, "a"), UsageError);
  let out = "";
  printJson({ stdout: (t) => out += t, stderr: () => {} }, { a: 1, b: "x" });
  strictEqual(out, '{"a":1,"b":"x"}\n');
});
