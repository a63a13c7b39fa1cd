/**
 * The demo (`deno task demo`): in process, its report (every attack refused by its rule, the
 * honest payments and close, the audit log's account); as a command, exit status 0 and the
 * account printed.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runDemo } from "../../demo/main.ts";
import { ROOT } from "../ldk/remote_node.ts";

Deno.test("demo: honest traffic signed, each theft refused by its rule, the audit log agrees", async () => {
  const lines: string[] = [];
  const r = await runDemo({ print: (l) => lines.push(l) });
  strictEqual(r.ok, true, lines.join("\n"));
  ok(r.signerCommand.startsWith("deno run --allow-net=127.0.0.1:"), r.signerCommand);
  ok(!r.signerCommand.includes("--allow-all"));
  ok(r.allowAllRefusal.startsWith("refusing to run with permissions it does not need"));
  deepStrictEqual(
    r.payments.map((p) => `${p.from}->${p.to} ${p.amountSat} ${p.status}`),
    [
      "A->B 50000 succeeded",
      "B->A 10000 succeeded",
      "A->B 20000 succeeded",
      "B->A 4000 succeeded",
      "A->B 5000 succeeded",
    ],
  );
  deepStrictEqual(r.attacks.map((a) => a.refusedBy), [
    ["policy-mutual-destination-allowlisted", "policy-mutual-destination-shared-allowlist"],
    ["policy-other", "policy-commitment-holder-not-revoked"],
    ["policy-revoke-new-commitment-signed"],
  ]);
  // The audit log holds exactly these refusals, each located in rules/default.policy.
  deepStrictEqual(
    r.refused.map((x) => `${x.kind}: ${x.rules.map((v) => v.rule).join(", ")}`),
    [
      "sign_mutual_close: policy-mutual-destination-allowlisted, " +
      "policy-mutual-destination-shared-allowlist",
      "sign_holder_commitment: policy-other, policy-commitment-holder-not-revoked",
      "revoke_holder_commitment: policy-revoke-new-commitment-signed",
    ],
  );
  for (const x of r.refused) {
    for (const v of x.rules) ok(/^rules\/default\.policy:\d+:\d+$/.test(v.at), v.at);
  }
  // The README's excerpt of the account is this run's, rule locations included.
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  deepStrictEqual(
    readme.split("\n").filter((l) => l.includes("(rules/default.policy:")).map((l) => l.trim()),
    r.refused.flatMap((x) => x.rules.map((v) => `${x.kind}: ${v.rule} (${v.at})`)),
  );
  // Net 61,000 sat moved to B; A's share is the rest minus the closing fee it pays as opener.
  strictEqual(r.close.B, 61_000n);
  strictEqual(r.close.A + r.close.B + r.close.feeSat, 1_000_000n);
  ok(r.signed.sign_counterparty_commitment >= 10);
  strictEqual(r.signed.preapprove_invoice, 3);
  ok(r.signed.sign_mutual_close >= 1);
});

Deno.test("demo: `deno run --allow-all demo/main.ts` exits 0 and prints the account", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "demo/main.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  strictEqual(out.code, 0, text + new TextDecoder().decode(out.stderr));
  ok(text.includes("by policy-mutual-destination-allowlisted"));
  ok(text.includes("by policy-other, policy-commitment-holder-not-revoked"));
  ok(text.includes("by policy-revoke-new-commitment-signed"));
  ok(text.trimEnd().endsWith("every theft was refused by a named rule."));
});
