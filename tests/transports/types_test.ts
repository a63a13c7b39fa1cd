/**
 * transports/types.ts exports interfaces and one runtime value, {@link TransportError}: a named
 * Error subclass that carries only the message it was given.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { TransportError } from "../../transports/types.ts";

Deno.test("types: TransportError is a named Error with the message only", () => {
  const e = new TransportError("tcp:// URLs need a port: tcp://HOST:PORT");
  ok(e instanceof Error);
  ok(e instanceof TransportError);
  strictEqual(e.name, "TransportError");
  strictEqual(e.message, "tcp:// URLs need a port: tcp://HOST:PORT");
  strictEqual(String(e), "TransportError: tcp:// URLs need a port: tcp://HOST:PORT");
  deepStrictEqual(Object.keys(e), ["name"]); // no extra data travels with it
  strictEqual(e.cause, undefined);
});
