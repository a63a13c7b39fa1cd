import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { fromJson, JsonCodecError, toJson } from "../../../core/store/json.ts";

function throwsCodec(fn: () => unknown, message: string | RegExp): void {
  throws(fn, (e: unknown) => {
    ok(e instanceof JsonCodecError, `expected JsonCodecError, got ${e}`);
    strictEqual(e.name, "JsonCodecError");
    if (typeof message === "string") strictEqual(e.message, message);
    else ok(message.test(e.message), `${JSON.stringify(e.message)} does not match ${message}`);
    return true;
  });
}

Deno.test("json: bigints and bytes have a fixed tagged encoding", () => {
  strictEqual(toJson(0n), '{"$bigint":"0"}');
  strictEqual(toJson(-42n), '{"$bigint":"-42"}');
  strictEqual(toJson(2n ** 64n), '{"$bigint":"18446744073709551616"}');
  strictEqual(toJson(new Uint8Array([0, 1, 0xab, 0xff])), '{"$bytes":"0001abff"}');
  strictEqual(toJson(new Uint8Array(0)), '{"$bytes":""}');
  strictEqual(
    toJson({ amount: 1000n, id: new Uint8Array([0xde, 0xad]), n: 3, s: "x", ok: true, z: null }),
    '{"amount":{"$bigint":"1000"},"id":{"$bytes":"dead"},"n":3,"s":"x","ok":true,"z":null}',
  );
  deepStrictEqual(fromJson('{"$bigint":"-42"}'), -42n);
  deepStrictEqual(fromJson('{"$bytes":"0001abff"}'), new Uint8Array([0, 1, 0xab, 0xff]));
});

Deno.test("json: nested documents round trip exactly", () => {
  const state = {
    channelId: new Uint8Array(32).fill(7),
    funding: { txid: new Uint8Array([1, 2, 3]), vout: 1, valueSat: 21_000_000n * 100_000_000n },
    htlcs: [
      { id: 0n, amountMsat: 5_000_000n, paymentHash: new Uint8Array(32), cltvExpiry: 500_000 },
      { id: 1n, amountMsat: -1n, paymentHash: new Uint8Array([0xff]), cltvExpiry: 0 },
    ],
    secrets: [[new Uint8Array([9]), 281474976710655n], []],
    feerate: 253,
    ratio: 0.1,
    big: 1e308,
    tiny: 5e-324,
    note: 'é😀 "quoted" \\ \u2028 \u0000',
    lone: "\uD800", // JSON.stringify escapes a lone surrogate, so even this survives
    flags: [true, false, null],
    empty: {},
    emptyList: [],
    ["__proto__"]: { polluted: 1n },
    "key with spaces": "v",
  };
  const text = toJson(state);
  const back = fromJson(text) as Record<string, unknown>;
  deepStrictEqual(back, state);
  ok(back.channelId instanceof Uint8Array);
  strictEqual(Object.getPrototypeOf(back), Object.prototype);
  deepStrictEqual(back["__proto__"], { polluted: 1n });
  strictEqual(({} as Record<string, unknown>).polluted, undefined);
  strictEqual(toJson(back), text); // canonical: re-encoding gives the same text
});

Deno.test("json: scalars and containers at the top level", () => {
  for (
    const v of [null, true, false, 0, -1.5, "", "s", [], {}, [1n, [2n, [new Uint8Array([3])]]]]
  ) {
    deepStrictEqual(fromJson(toJson(v)), v);
  }
  const nullProto = Object.assign(Object.create(null), { a: 1n });
  deepStrictEqual(fromJson(toJson(nullProto)), { a: 1n });
});

Deno.test("json: a Uint8Array view encodes only its own bytes", () => {
  const buf = new Uint8Array([1, 2, 3, 4, 5]);
  strictEqual(toJson(buf.subarray(1, 3)), '{"$bytes":"0203"}');
});

Deno.test("json: undefined properties are left out, -0 becomes 0", () => {
  strictEqual(toJson({ a: undefined, b: 1 }), '{"b":1}');
  deepStrictEqual(fromJson(toJson({ a: undefined, b: 1 })), { b: 1 });
  strictEqual(toJson(-0), "0");
  strictEqual(Object.is(fromJson("-0"), 0), true);
});

Deno.test("json: unsupported values are refused with their path, never their value", () => {
  throwsCodec(() => toJson(() => 1), "$ is a function");
  throwsCodec(() => toJson({ a: { f() {} } }), "$.a.f is a function");
  throwsCodec(() => toJson({ s: Symbol("x") }), "$.s is a symbol");
  throwsCodec(() => toJson({ n: NaN }), "$.n is not a finite number");
  throwsCodec(() => toJson([1, Infinity]), "$[1] is not a finite number");
  throwsCodec(() => toJson({ v: -Infinity }), "$.v is not a finite number");
  throwsCodec(() => toJson([1, undefined]), "$[1] is undefined");
  throwsCodec(() => toJson(undefined), "$ is undefined");
  // deno-lint-ignore no-sparse-arrays
  throwsCodec(() => toJson([1, , 3]), "$[1] is a hole in an array");
  throwsCodec(() => toJson({ d: new Date(0) }), "$.d is an instance of Date, not a plain object");
  throwsCodec(() => toJson({ m: new Map() }), "$.m is an instance of Map, not a plain object");
  throwsCodec(() => toJson(new Set([1])), "$ is an instance of Set, not a plain object");
  throwsCodec(
    () => toJson(new Uint16Array(2)),
    "$ is an instance of Uint16Array, not a plain object",
  );
  throwsCodec(
    () => toJson(new ArrayBuffer(2)),
    "$ is an instance of ArrayBuffer, not a plain object",
  );
  class Secret {
    value = 1n;
  }
  throwsCodec(
    () => toJson({ k: new Secret() }),
    "$.k is an instance of Secret, not a plain object",
  );
  throwsCodec(() => toJson({ [Symbol("s")]: 1 }), "$ has a symbol key");
  throwsCodec(
    () => toJson({ x: { $bigint: "1" } }),
    `$.x["$bigint"]: the key $bigint is reserved for tagged values`,
  );
  throwsCodec(
    () => toJson({ "a b": [{ $bytes: "00", other: 1 }] }),
    `$["a b"][0]["$bytes"]: the key $bytes is reserved for tagged values`,
  );
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = { back: cyclic };
  throwsCodec(() => toJson(cyclic), "$.self.back is a cycle");
  let deep: unknown = 1;
  for (let i = 0; i < 300; i++) deep = [deep];
  throwsCodec(() => toJson(deep), /^\$(\[0\])+ is nested too deeply$/);
  // A shared (acyclic) reference is fine: it is written twice.
  const shared = { n: 1n };
  deepStrictEqual(fromJson(toJson({ a: shared, b: shared })), { a: { n: 1n }, b: { n: 1n } });
  // The offending value never appears in the message.
  throws(() => toJson({ preimage: new Uint8Array([0xab]), bad: () => "SECRET" }), (e: unknown) => {
    ok(e instanceof JsonCodecError);
    ok(!e.message.includes("SECRET") && !e.message.includes("ab"));
    return true;
  });
});

Deno.test("json: malformed input is refused without quoting it", () => {
  throwsCodec(() => fromJson('{"seed": "SECRET'), "the input is not valid JSON");
  throwsCodec(() => fromJson(""), "the input is not valid JSON");
  throwsCodec(() => fromJson("undefined"), "the input is not valid JSON");
  throwsCodec(() => fromJson(5 as never), "the input is not a string");
  throwsCodec(() => fromJson("1e400"), "$ is not a finite number");
  throwsCodec(() => fromJson("[1, -1e999]"), "$[1] is not a finite number");
  let deep = "1";
  for (let i = 0; i < 300; i++) deep = `[${deep}]`;
  throwsCodec(() => fromJson(deep), /^\$(\[0\])+ is nested too deeply$/);
});

Deno.test("json: malformed tags are refused", () => {
  const bad: [string, string][] = [
    ['{"$bigint":"01"}', "$: $bigint is not a canonical decimal integer"],
    ['{"$bigint":"-0"}', "$: $bigint is not a canonical decimal integer"],
    ['{"$bigint":"+1"}', "$: $bigint is not a canonical decimal integer"],
    ['{"$bigint":"1.0"}', "$: $bigint is not a canonical decimal integer"],
    ['{"$bigint":""}', "$: $bigint is not a canonical decimal integer"],
    ['{"$bigint":" 1"}', "$: $bigint is not a canonical decimal integer"],
    ['{"$bigint":"0x10"}', "$: $bigint is not a canonical decimal integer"],
    ['{"$bigint":12}', "$: a $bigint tag must be the only key and hold a string"],
    ['{"$bigint":"1","x":2}', "$: a $bigint tag must be the only key and hold a string"],
    ['{"a":[{"$bytes":"ABCD"}]}', "$.a[0]: $bytes is not even-length lower-case hex"],
    ['{"$bytes":"abc"}', "$: $bytes is not even-length lower-case hex"],
    ['{"$bytes":"zz"}', "$: $bytes is not even-length lower-case hex"],
    ['{"$bytes":null}', "$: a $bytes tag must be the only key and hold a string"],
    ['{"$bytes":"00","$bigint":"1"}', "$: a $bytes tag must be the only key and hold a string"],
  ];
  for (const [text, message] of bad) throwsCodec(() => fromJson(text), message);
  // Other $-keys are ordinary data.
  deepStrictEqual(fromJson('{"$other":1}'), { $other: 1 });
  deepStrictEqual(fromJson(toJson({ $other: 1n })), { $other: 1n });
});
