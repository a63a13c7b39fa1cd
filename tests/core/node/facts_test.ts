/**
 * The node-level fact schemas (`new_channel`, `add_block`): the paths and types a policy reads,
 * the facts the signer builds parse unchanged, and facts of the wrong type are refused at the path
 * that is wrong.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import type { z } from "zod";
import { FactRegistry } from "../../../policy/registry.ts";
import {
  AddBlockFacts,
  type AddBlockFactsT,
  NewChannelFacts,
  type NewChannelFactsT,
  NODE_FACT_KINDS,
} from "../../../core/node/facts.ts";

function registry(): FactRegistry {
  const r = new FactRegistry();
  for (const [kind, schema] of Object.entries(NODE_FACT_KINDS)) {
    r.registerKind(kind, schema, { description: kind });
  }
  return r;
}

/** The issues of a parse as `path: code: message` ([] when it parsed). */
function issues(schema: z.ZodType, facts: unknown): string[] {
  const r = schema.safeParse(facts);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.code}: ${i.message}`);
}

const NEW_CHANNEL: NewChannelFactsT = {
  new_channel: { dbid: 8n, has_dbid: true, exists: false, was_forgotten: false },
  node: { dbid_high_water_mark: 5n, channel_count: 3 },
};

const ADD_BLOCK: AddBlockFactsT = {
  block: { links: true, pow_ok: true, height: 800_000, proof_present: false },
};

Deno.test("NODE_FACT_KINDS: the two node kinds and their schemas", () => {
  deepStrictEqual(Object.keys(NODE_FACT_KINDS), ["new_channel", "add_block"]);
  strictEqual(NODE_FACT_KINDS.new_channel, NewChannelFacts);
  strictEqual(NODE_FACT_KINDS.add_block, AddBlockFacts);
});

Deno.test("node kinds register; every path has the type a rule compares it with", () => {
  const r = registry();
  const listing = (kind: string) => r.factPaths(kind).map((p) => `${p.path}: ${p.typeName}`);
  deepStrictEqual(listing("new_channel"), [
    "new_channel.dbid: int",
    "new_channel.has_dbid: bool",
    "new_channel.exists: bool",
    "new_channel.was_forgotten: bool",
    "node.dbid_high_water_mark: int",
    "node.channel_count: int",
  ]);
  deepStrictEqual(listing("add_block"), [
    "block.links: bool",
    "block.pow_ok: bool",
    "block.height: blocks",
    "block.proof_present: bool",
  ]);
  // `new_channel.dbid > node.dbid_high_water_mark` compares two plain ints.
  deepStrictEqual(
    r.factPaths("new_channel").find((p) => p.path === "new_channel.dbid")?.type,
    r.factPaths("new_channel").find((p) => p.path === "node.dbid_high_water_mark")?.type,
  );
});

Deno.test("facts as the signer builds them parse unchanged", () => {
  deepStrictEqual(NewChannelFacts.parse(NEW_CHANNEL), NEW_CHANNEL);
  deepStrictEqual(AddBlockFacts.parse(ADD_BLOCK), ADD_BLOCK);
  // An LDK-style id has no dbid: 0, has_dbid false.
  const ldk = {
    new_channel: { dbid: 0n, has_dbid: false, exists: true, was_forgotten: true },
    node: { dbid_high_water_mark: 0n, channel_count: 0 },
  };
  deepStrictEqual(NewChannelFacts.parse(ldk), ldk);
  deepStrictEqual(registry().validate("new_channel", NEW_CHANNEL), NEW_CHANNEL);
  deepStrictEqual(registry().validate("add_block", ADD_BLOCK), ADD_BLOCK);
});

Deno.test("facts of the wrong type are refused at the wrong path", () => {
  deepStrictEqual(
    issues(NewChannelFacts, {
      ...NEW_CHANNEL,
      new_channel: { ...NEW_CHANNEL.new_channel, dbid: 8 },
    }),
    ["new_channel.dbid: invalid_type: Invalid input: expected bigint, received number"],
  );
  deepStrictEqual(
    issues(NewChannelFacts, { new_channel: NEW_CHANNEL.new_channel }),
    ["node: invalid_type: Invalid input: expected object, received undefined"],
  );
  deepStrictEqual(
    issues(NewChannelFacts, {
      ...NEW_CHANNEL,
      new_channel: { ...NEW_CHANNEL.new_channel, was_forgotten: undefined },
    }),
    ["new_channel.was_forgotten: invalid_type: Invalid input: expected boolean, received undefined"],
  );
  deepStrictEqual(
    issues(AddBlockFacts, { block: { ...ADD_BLOCK.block, height: 1.5 } }),
    ["block.height: invalid_type: Invalid input: expected int, received number"],
  );
  deepStrictEqual(
    issues(AddBlockFacts, { block: { ...ADD_BLOCK.block, height: 800_000n } }),
    ["block.height: invalid_type: Invalid input: expected number, received bigint"],
  );
  deepStrictEqual(
    issues(AddBlockFacts, { block: { ...ADD_BLOCK.block, pow_ok: "yes" } }),
    ["block.pow_ok: invalid_type: Invalid input: expected boolean, received string"],
  );
});

Deno.test("the block height carries its unit in the schema's metadata", () => {
  deepStrictEqual(AddBlockFacts.shape.block.shape.height.meta(), { unit: "blocks" });
  strictEqual(NewChannelFacts.shape.new_channel.shape.dbid.meta(), undefined);
});
