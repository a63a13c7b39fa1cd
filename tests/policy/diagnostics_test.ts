import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  Diagnostics,
  didYouMean,
  editDistance,
  formatDiagnostic,
  nearest,
  PolicyError,
} from "../../policy/diagnostics.ts";

const span = (file: string, line: number, column: number) => ({
  file,
  start: 0,
  end: 1,
  line,
  column,
});

Deno.test("editDistance: insertions, deletions, substitutions", () => {
  strictEqual(editDistance("", ""), 0);
  strictEqual(editDistance("abc", "abc"), 0);
  strictEqual(editDistance("", "abc"), 3);
  strictEqual(editDistance("kitten", "sitting"), 3);
  strictEqual(editDistance("require", "requrie"), 2);
  strictEqual(editDistance("fee_sat", "fee_msat"), 1);
});

Deno.test("nearest and didYouMean: near enough to be a typo, earliest on ties", () => {
  strictEqual(nearest("walet", ["allowlist", "wallet"]), "wallet");
  strictEqual(nearest("xyz", ["wallet"]), undefined);
  strictEqual(nearest("ab", ["ab", "ac", "ad"]), "ac");
  strictEqual(
    nearest("commitment.fee_feerate", ["commitment.fee_feerate_per_kw"]),
    "commitment.fee_feerate_per_kw",
  );
  strictEqual(nearest("commitment.x", ["commitment.fee_feerate_per_kw"]), undefined);
  strictEqual(
    nearest("commitment.fe_feerate_per_kw", ["commitment.fee_feerate_per_kw"]),
    "commitment.fee_feerate_per_kw",
  );
  strictEqual(
    nearest("commitment.fee", [
      "commitment.tx",
      "commitment.fee_feerate_per_kw",
      "commitment.fee_sat",
    ]),
    "commitment.fee_sat",
  );
  strictEqual(didYouMean("mandatroy", ["mandatory", "temporary"]), 'did you mean "mandatory"?');
  strictEqual(didYouMean("zzz", ["mandatory"]), undefined);
});

Deno.test("formatDiagnostic: file:line:col: error: message (hint: ...)", () => {
  strictEqual(
    formatDiagnostic({ file: "a.policy", line: 3, column: 7, message: "bad" }),
    "a.policy:3:7: error: bad",
  );
  strictEqual(
    formatDiagnostic({ file: "a.policy", line: 3, column: 7, message: "bad", hint: "fix it" }),
    "a.policy:3:7: error: bad (hint: fix it)",
  );
});

Deno.test("Diagnostics: drops duplicates, sorts by file then position, throws one PolicyError", () => {
  const d = new Diagnostics();
  d.throwIfAny();
  d.error(span("b.policy", 2, 1), "second file");
  d.error(span("a.policy", 9, 1), "later");
  d.error(span("a.policy", 3, 5), "earlier", "hint");
  d.error(span("a.policy", 3, 5), "earlier", "hint");
  strictEqual(d.count, 3);
  deepStrictEqual(d.sorted(), [
    { file: "b.policy", line: 2, column: 1, message: "second file" },
    { file: "a.policy", line: 3, column: 5, message: "earlier", hint: "hint" },
    { file: "a.policy", line: 9, column: 1, message: "later" },
  ]);
  throws(() => d.throwIfAny(), (e: unknown) => {
    if (!(e instanceof PolicyError)) return false;
    strictEqual(e.name, "PolicyError");
    strictEqual(e.diagnostics.length, 3);
    strictEqual(
      e.message,
      "b.policy:2:1: error: second file\na.policy:3:5: error: earlier (hint: hint)\na.policy:9:1: error: later",
    );
    return true;
  });
});
