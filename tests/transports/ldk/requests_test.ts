import { deepStrictEqual, notStrictEqual, strictEqual } from "node:assert/strict";
import { PolicyRefusal, RequestError } from "../../../core/signer/errors.ts";
import { NodeLinkError } from "../../../transports/ldk/node_link.ts";
import {
  ChannelRequests,
  GATE_RETRIES,
  isTransient,
  refusalOf,
  type RequestFailure,
  requestKey,
} from "../../../transports/ldk/requests.ts";

/** A table with its callbacks recorded, and a way to wait for everything it started. */
function table(maxAnswers?: number) {
  const started = new Set<Promise<unknown>>();
  const failures: RequestFailure[] = [];
  let answers = 0;
  const t = new ChannelRequests({
    channel: "c1",
    onAnswer: () => answers++,
    onFailure: (f) => failures.push(f),
    track: (p) => {
      started.add(p);
      p.finally(() => started.delete(p));
    },
    maxAnswers,
  });
  const settled = async () => {
    while (started.size > 0) await Promise.allSettled([...started]);
  };
  return { t, failures, answers: () => answers, settled };
}

/** A request whose completion the test controls. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

const ASK = { method: "getPerCommitmentPoint", ldkMethod: "get_per_commitment_point" } as const;

Deno.test("requests: asked twice, started once, then answered from the table", async () => {
  const { t, answers, settled } = table();
  let runs = 0;
  const d = deferred<string>();
  const run = () => {
    runs++;
    return d.promise;
  };
  deepStrictEqual(t.ask("k", { ...ASK, scope: "offchain", run }), { kind: "later" });
  deepStrictEqual(t.ask("k", { ...ASK, scope: "offchain", run }), { kind: "later" });
  strictEqual(t.inFlight, 1);
  d.resolve("point");
  await settled();
  strictEqual(runs, 1);
  strictEqual(answers(), 1, "one unblock");
  deepStrictEqual(t.ask("k", { ...ASK, scope: "offchain", run }), { kind: "ok", value: "point" });
  strictEqual(runs, 1);
});

Deno.test("requests: a refusal is kept; a temporary one and uncached kinds are asked again", async () => {
  const { t, failures, answers, settled } = table();
  let runs = 0;
  const refuse = (temporary: boolean) => () => {
    runs++;
    return Promise.reject(new PolicyRefusal("x", { rules: ["policy-a", "policy-b"], temporary }));
  };
  t.ask("permanent", { ...ASK, scope: "offchain", run: refuse(false) });
  await settled();
  deepStrictEqual(t.ask("permanent", { ...ASK, scope: "offchain", run: refuse(false) }), {
    kind: "err",
  });
  strictEqual(runs, 1);
  deepStrictEqual(failures.map((f) => [f.channel, f.rules, f.temporary, f.blocksChannel]), [
    ["c1", ["policy-a", "policy-b"], false, false],
  ]);
  strictEqual(answers(), 0, "a refusal unblocks nothing");

  t.ask("temporary", { ...ASK, scope: "offchain", run: refuse(true) });
  await settled();
  deepStrictEqual(t.ask("temporary", { ...ASK, scope: "offchain", run: refuse(true) }), {
    kind: "later",
  });
  await settled();
  strictEqual(runs, 3);

  t.ask("premature", { ...ASK, scope: "offchain", run: refuse(false), cacheRefusals: false });
  await settled();
  deepStrictEqual(
    t.ask("premature", { ...ASK, scope: "offchain", run: refuse(false), cacheRefusals: false }),
    { kind: "later" },
  );
  await settled();
  strictEqual(runs, 5);
});

Deno.test("requests: a gate holds every request until its verdict, then they run in order", async () => {
  const { t, settled } = table();
  const order: string[] = [];
  const verdict = deferred<void>();
  t.gate(() => {
    order.push("validate");
    return verdict.promise;
  }, { method: "validateHolderCommitment", ldkMethod: "validate_holder_commitment" });
  strictEqual(t.gates, 1);
  const answer = t.ask("secret", {
    ...ASK,
    scope: "offchain",
    run: () => {
      order.push("revoke");
      return Promise.resolve("s");
    },
  });
  deepStrictEqual(answer, { kind: "later" });
  await new Promise((r) => setTimeout(r, 0));
  deepStrictEqual(order, ["validate"], "held back while the validation runs");
  verdict.resolve();
  await settled();
  deepStrictEqual(order, ["validate", "revoke"]);
  strictEqual(t.gates, 0);
  deepStrictEqual(t.ask("secret", { ...ASK, scope: "offchain", run: () => Promise.resolve("x") }), {
    kind: "ok",
    value: "s",
  });
});

Deno.test("requests: a refused validation blocks off-chain requests for good, not on-chain ones", async () => {
  const { t, failures, settled } = table();
  let held = 0;
  t.gate(
    () =>
      Promise.reject(
        new PolicyRefusal("validate_holder_commitment", { rules: ["policy-x"], temporary: false }),
      ),
    { method: "validateHolderCommitment", ldkMethod: "validate_holder_commitment" },
  );
  // Asked while the verdict is pending: queued, then dropped once the channel is blocked.
  t.ask("revoke", {
    ...ASK,
    scope: "offchain",
    run: () => {
      held++;
      return Promise.resolve(1);
    },
  });
  await settled();
  strictEqual(held, 0);
  notStrictEqual(t.blocked, null);
  deepStrictEqual(failures.map((f) => [f.method, f.rules, f.blocksChannel]), [
    ["validateHolderCommitment", ["policy-x"], true],
  ]);
  deepStrictEqual(t.ask("revoke", { ...ASK, scope: "offchain", run: () => Promise.resolve(1) }), {
    kind: "err",
  });
  // The monitor's claims still go to the signer, whose own rules decide them.
  deepStrictEqual(t.ask("claim", { ...ASK, scope: "onchain", run: () => Promise.resolve(2) }), {
    kind: "later",
  });
  await settled();
  deepStrictEqual(t.ask("claim", { ...ASK, scope: "onchain", run: () => Promise.resolve(3) }), {
    kind: "ok",
    value: 2,
  });
});

Deno.test("requests: a failed setup makes the channel dead for every request", async () => {
  const { t, settled } = table();
  t.gate(() => Promise.reject(new RequestError("malformed", "bad setup")), {
    method: "setupChannel",
    ldkMethod: "provide_channel_parameters",
    dead: true,
  });
  await settled();
  strictEqual(t.dead, true);
  deepStrictEqual(t.ask("claim", { ...ASK, scope: "onchain", run: () => Promise.resolve(1) }), {
    kind: "err",
  });
  // Later gates fail at once.
  t.gate(() => Promise.resolve(), { method: "validateHolderCommitment", ldkMethod: "v" });
  await settled();
  strictEqual(t.gates, 0);
});

Deno.test("requests: remembered answers and the bounded table", async () => {
  const { t, settled } = table(2);
  t.remember("a", 1);
  t.remember("b", 2);
  deepStrictEqual(t.ask("a", { ...ASK, scope: "offchain", run: () => Promise.resolve(9) }), {
    kind: "ok",
    value: 1,
  });
  t.remember("c", 3); // drops the oldest stored answer ("a")
  deepStrictEqual(t.ask("b", { ...ASK, scope: "offchain", run: () => Promise.resolve(9) }), {
    kind: "ok",
    value: 2,
  });
  deepStrictEqual(t.ask("a", { ...ASK, scope: "offchain", run: () => Promise.resolve(9) }), {
    kind: "later",
  });
  await settled();
  deepStrictEqual(t.ask("c", { ...ASK, scope: "offchain", run: () => Promise.resolve(0) }), {
    kind: "ok",
    value: 3,
  });
});

Deno.test("requests: keys are exact and refusals are read from the error", () => {
  const body = { number: 5, tx: new Uint8Array([1, 2]), amount: 10n };
  strictEqual(requestKey("m", body), requestKey("m", { ...body, tx: new Uint8Array([1, 2]) }));
  notStrictEqual(requestKey("m", body), requestKey("m", { ...body, amount: 11n }));
  notStrictEqual(requestKey("m", body), requestKey("n", body));
  deepStrictEqual(refusalOf(new PolicyRefusal("k", { rules: ["r1"], temporary: true })), {
    rules: ["r1"],
    temporary: true,
  });
  deepStrictEqual(refusalOf(new RequestError("malformed", "x")), { rules: [], temporary: false });
});

Deno.test("requests: a transport failure is not kept: the request is asked again", async () => {
  const { t, failures, settled } = table();
  let runs = 0;
  const run = () => {
    runs++;
    return runs === 1
      ? Promise.reject(new NodeLinkError("timeout", "no reply after 60000 ms"))
      : Promise.resolve("point");
  };
  t.ask("k", { ...ASK, scope: "offchain", run });
  await settled();
  deepStrictEqual(failures.map((f) => [f.error.name, f.temporary]), [["NodeLinkError", true]]);
  deepStrictEqual(t.ask("k", { ...ASK, scope: "offchain", run }), { kind: "later" });
  await settled();
  deepStrictEqual(t.ask("k", { ...ASK, scope: "offchain", run }), { kind: "ok", value: "point" });
  strictEqual(runs, 2);
  // Which link errors are transient: the link's state, not the request's content.
  deepStrictEqual(
    (["closed", "timeout", "busy", "not-initialized", "invalid", "handshake"] as const).map((c) =>
      isTransient(new NodeLinkError(c, "m"))
    ),
    [true, true, true, true, false, false],
  );
  strictEqual(isTransient(new PolicyRefusal("x", { rules: ["r"], temporary: true })), false);
});

Deno.test("requests: a gate runs its task again after a transport failure, then gives up", async () => {
  const { t, failures, settled } = table();
  let runs = 0;
  t.gate(() => {
    runs++;
    return runs < 3
      ? Promise.reject(new NodeLinkError("closed", "connection lost"))
      : Promise.resolve();
  }, { method: "validateHolderCommitment", ldkMethod: "validate_holder_commitment" });
  await settled();
  strictEqual(runs, 3);
  deepStrictEqual(failures, []);
  strictEqual(t.blocked, null);

  const { t: t2, failures: f2, settled: s2 } = table();
  let runs2 = 0;
  t2.gate(() => {
    runs2++;
    return Promise.reject(new NodeLinkError("timeout", "no reply"));
  }, { method: "validateHolderCommitment", ldkMethod: "validate_holder_commitment" });
  await s2();
  strictEqual(runs2, GATE_RETRIES + 1);
  deepStrictEqual(f2.map((f) => [f.error.message, f.blocksChannel]), [["no reply", true]]);
  // A refusal is a verdict: no second run.
  const { t: t3, settled: s3 } = table();
  let runs3 = 0;
  t3.gate(() => {
    runs3++;
    return Promise.reject(new PolicyRefusal("v", { rules: ["policy-x"], temporary: false }));
  }, { method: "validateHolderCommitment", ldkMethod: "validate_holder_commitment" });
  await s3();
  strictEqual(runs3, 1);
});
