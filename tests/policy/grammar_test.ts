import { strictEqual } from "node:assert/strict";
import { GRAMMAR_SOURCE } from "../../policy/grammar.ts";

Deno.test("grammar.ts embeds policy/policy.ohm exactly", () => {
  const source = Deno.readTextFileSync(new URL("../../policy/policy.ohm", import.meta.url));
  strictEqual(
    GRAMMAR_SOURCE,
    source,
    "policy/grammar.ts is stale: run deno run --allow-read --allow-write policy/grammar.ts",
  );
});

Deno.test("the regenerator rewrites only the embedded text (idempotent, still valid code)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-grammar-" });
  try {
    const original = await Deno.readTextFile(new URL("../../policy/grammar.ts", import.meta.url));
    const ohm = await Deno.readTextFile(new URL("../../policy/policy.ohm", import.meta.url));
    await Deno.writeTextFile(`${dir}/grammar.ts`, original);
    // A changed grammar goes in; the same grammar again gives back the original file.
    await Deno.writeTextFile(
      `${dir}/policy.ohm`,
      ohm.replace("File = Header Item*", "File = Header  Item*"),
    );
    const run = () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-write", `${dir}/grammar.ts`],
        stdout: "null",
        stderr: "piped",
      }).output();
    strictEqual((await run()).code, 0);
    const changed = await Deno.readTextFile(`${dir}/grammar.ts`);
    strictEqual(changed, original.replace("File = Header Item*", "File = Header  Item*"));
    await Deno.writeTextFile(`${dir}/policy.ohm`, ohm);
    strictEqual((await run()).code, 0);
    strictEqual(await Deno.readTextFile(`${dir}/grammar.ts`), original);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
