/**
 * The node state document: its store key, the initial state, its exact stored form through the
 * store's JSON codec, the default that lets documents written before `walletMaxUsedIndex` existed
 * load, and the values the schema refuses (each at its field).
 */
import { deepStrictEqual, notStrictEqual, strictEqual } from "node:assert/strict";
import { fromJson, toJson } from "../../../core/store/json.ts";
import {
  initialNodeState,
  NODE_STATE_KEY,
  type NodeState,
  NodeStateSchema,
} from "../../../core/node/state.ts";

/** The issues of a parse as `path: code: message` ([] when it parsed). */
function issues(value: unknown): string[] {
  const r = NodeStateSchema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.code}: ${i.message}`);
}

Deno.test("NODE_STATE_KEY is the document's store key", () => {
  strictEqual(NODE_STATE_KEY, "node/state");
});

Deno.test("initialNodeState: version 1, no forgotten dbid, no wallet index used; a fresh object", () => {
  const state = initialNodeState();
  deepStrictEqual(state, { version: 1, dbidHighWaterMark: 0n, walletMaxUsedIndex: -1 });
  deepStrictEqual(NodeStateSchema.parse(state), state);
  const other = initialNodeState();
  notStrictEqual(other, state);
  state.dbidHighWaterMark = 9n;
  strictEqual(initialNodeState().dbidHighWaterMark, 0n);
});

Deno.test("the stored form round-trips exactly through the store's JSON codec", () => {
  strictEqual(
    toJson(initialNodeState()),
    '{"version":1,"dbidHighWaterMark":{"$bigint":"0"},"walletMaxUsedIndex":-1}',
  );
  const state: NodeState = {
    version: 1,
    dbidHighWaterMark: 18_446_744_073_709_551_615n, // u64::MAX, CLN's dbid type
    walletMaxUsedIndex: 0x7fffffff,
  };
  const text = toJson(state);
  strictEqual(
    text,
    '{"version":1,"dbidHighWaterMark":{"$bigint":"18446744073709551615"},"walletMaxUsedIndex":2147483647}',
  );
  deepStrictEqual(NodeStateSchema.parse(fromJson(text)), state);
});

Deno.test("a document from before walletMaxUsedIndex loads with -1 (no index used)", () => {
  deepStrictEqual(
    NodeStateSchema.parse(fromJson('{"version":1,"dbidHighWaterMark":{"$bigint":"42"}}')),
    { version: 1, dbidHighWaterMark: 42n, walletMaxUsedIndex: -1 },
  );
});

Deno.test("invalid documents are refused at the field that is wrong", () => {
  const ok = initialNodeState();
  deepStrictEqual(issues({ ...ok, version: 2 }), [
    "version: invalid_value: Invalid input: expected 1",
  ]);
  deepStrictEqual(issues({ ...ok, dbidHighWaterMark: -1n }), [
    "dbidHighWaterMark: too_small: Too small: expected bigint to be >=0",
  ]);
  deepStrictEqual(issues({ ...ok, dbidHighWaterMark: 5 }), [
    "dbidHighWaterMark: invalid_type: Invalid input: expected bigint, received number",
  ]);
  deepStrictEqual(issues({ ...ok, walletMaxUsedIndex: -2 }), [
    "walletMaxUsedIndex: too_small: Too small: expected number to be >=-1",
  ]);
  deepStrictEqual(issues({ ...ok, walletMaxUsedIndex: 0x80000000 }), [
    "walletMaxUsedIndex: too_big: Too big: expected number to be <=2147483647",
  ]);
  deepStrictEqual(issues({ ...ok, walletMaxUsedIndex: 1.5 }), [
    "walletMaxUsedIndex: invalid_type: Invalid input: expected int, received number",
  ]);
  deepStrictEqual(issues({ version: 1 }), [
    "dbidHighWaterMark: invalid_type: Invalid input: expected bigint, received undefined",
  ]);
  // The bounds themselves are accepted.
  deepStrictEqual(issues({ ...ok, walletMaxUsedIndex: 0x7fffffff }), []);
  deepStrictEqual(issues({ ...ok, walletMaxUsedIndex: -1, dbidHighWaterMark: 0n }), []);
});
