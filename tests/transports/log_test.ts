/**
 * Structured logs (transports/log.ts): the JSON line's exact shape, value conversions (bigint,
 * bytes, errors), level filtering, a failing sink, the memory and silent loggers, and what the
 * module promises about secrets: it redacts nothing by field name (callers never pass secrets),
 * but a {@link SecretBytes} value prints as `[redacted]` and an error prints its name and message
 * only, never its other properties.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { SecretBytes } from "../../core/crypto/mod.ts";
import {
  formatLogLine,
  JsonLogger,
  type LogLevel,
  MemoryLogger,
  silentLogger,
} from "../../transports/log.ts";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const T = new Date("2026-03-04T05:06:07.089Z");

Deno.test("log: formatLogLine is one JSON object {time, level, event, fields}, in that order", () => {
  strictEqual(
    formatLogLine("info", "connection.open", {
      time: T,
      fields: { transport: "tcp", connection: 1 },
    }),
    '{"time":"2026-03-04T05:06:07.089Z","level":"info","event":"connection.open",' +
      '"fields":{"transport":"tcp","connection":1}}',
  );
  strictEqual(
    formatLogLine("debug", "x", { time: T }),
    '{"time":"2026-03-04T05:06:07.089Z","level":"debug","event":"x","fields":{}}',
  );
  // Without a time: the current one, ISO format.
  const line = JSON.parse(formatLogLine("warn", "y"));
  deepStrictEqual(Object.keys(line), ["time", "level", "event", "fields"]);
  strictEqual(new Date(line.time).toISOString(), line.time);
});

Deno.test("log: bigint as decimal, bytes as hex, errors as name and message, nested too", () => {
  class DetailedError extends Error {
    readonly detail = "not printed";
    constructor() {
      super("bad frame");
      this.name = "DetailedError";
    }
  }
  const fields = {
    dbid: 18446744073709551615n,
    peer: Uint8Array.from([0x02, 0xab, 0x00]),
    empty: new Uint8Array(0),
    error: new DetailedError(),
    nested: { amounts: [1n, 0n], ids: [Uint8Array.from([0xff])], ok: true, none: null },
    text: 'quote " and newline \n',
  };
  deepStrictEqual(JSON.parse(formatLogLine("error", "e", { time: T, fields })), {
    time: "2026-03-04T05:06:07.089Z",
    level: "error",
    event: "e",
    fields: {
      dbid: "18446744073709551615",
      peer: "02ab00",
      empty: "",
      error: { name: "DetailedError", message: "bad frame" }, // no stack, no `detail`
      nested: { amounts: ["1", "0"], ids: ["ff"], ok: true, none: null },
      text: 'quote " and newline \n',
    },
  });
  // One physical line whatever the field values hold.
  strictEqual(formatLogLine("info", "e", { time: T, fields }).includes("\n"), false);
});

Deno.test("log: a SecretBytes field prints [redacted]; other fields are written as given", () => {
  const seed = new SecretBytes(new Uint8Array(32).fill(0x5a));
  const line = formatLogLine("info", "e", {
    time: T,
    fields: { seed, node_id: Uint8Array.from([3, 4]) },
  });
  deepStrictEqual(JSON.parse(line).fields, { seed: "[redacted]", node_id: "0304" });
  strictEqual(line.includes("5a5a"), false);
});

Deno.test("log: JsonLogger drops lines below its level (default info) and ends each line with a newline", () => {
  const levels: LogLevel[] = ["debug", "info", "warn", "error"];
  const run = (level?: LogLevel) => {
    const lines: string[] = [];
    const logger = new JsonLogger({ write: (l) => lines.push(l), level, now: () => T });
    for (const l of levels) logger.log(l, `event.${l}`, { n: 1n });
    return lines;
  };
  deepStrictEqual(run(), [
    '{"time":"2026-03-04T05:06:07.089Z","level":"info","event":"event.info","fields":{"n":"1"}}\n',
    '{"time":"2026-03-04T05:06:07.089Z","level":"warn","event":"event.warn","fields":{"n":"1"}}\n',
    '{"time":"2026-03-04T05:06:07.089Z","level":"error","event":"event.error","fields":{"n":"1"}}\n',
  ]);
  deepStrictEqual(run("debug").map((l) => JSON.parse(l).level), levels);
  deepStrictEqual(run("warn").map((l) => JSON.parse(l).event), ["event.warn", "event.error"]);
  deepStrictEqual(run("error").map((l) => JSON.parse(l).event), ["event.error"]);
  // No fields: an empty object.
  const lines: string[] = [];
  new JsonLogger({ write: (l) => lines.push(l), now: () => T }).log("info", "bare");
  deepStrictEqual(JSON.parse(lines[0]).fields, {});
});

Deno.test("log: a failing sink drops the line instead of throwing", () => {
  let calls = 0;
  const logger = new JsonLogger({
    write: () => {
      calls++;
      throw new Error("disk full");
    },
  });
  logger.log("error", "still.running", { n: 1 });
  logger.log("info", "again");
  strictEqual(calls, 2);
});

Deno.test("log: by default JsonLogger writes to standard error, nothing to standard output", async () => {
  const code = `import { JsonLogger } from "./transports/log.ts";
const logger = new JsonLogger({ now: () => new Date(0) });
logger.log("debug", "dropped");
logger.log("warn", "written", { a: 1 });`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  strictEqual(out.code, 0);
  strictEqual(new TextDecoder().decode(out.stdout), "");
  strictEqual(
    new TextDecoder().decode(out.stderr),
    '{"time":"1970-01-01T00:00:00.000Z","level":"warn","event":"written","fields":{"a":1}}\n',
  );
});

Deno.test("log: MemoryLogger keeps every event in order; named() filters; silentLogger drops all", () => {
  const logger = new MemoryLogger();
  logger.log("debug", "a.one", { x: 1 });
  logger.log("warn", "b.two");
  logger.log("info", "a.one", { x: 2 });
  deepStrictEqual(logger.events, [
    { level: "debug", event: "a.one", fields: { x: 1 } },
    { level: "warn", event: "b.two", fields: {} },
    { level: "info", event: "a.one", fields: { x: 2 } },
  ]);
  deepStrictEqual(logger.named("a.one").map((e) => e.fields.x), [1, 2]);
  deepStrictEqual(logger.named("c.none"), []);
  strictEqual(silentLogger.log("error", "x", { y: 1 }), undefined);
});
