/**
 * The connection loop (transports/reconnect.ts), driven by a scripted transport: each `open()`
 * fails or hands over an in-memory connection served by a real {@link FrameSession}. Checks the
 * exact log lines (open, closed with the requests served, failed, retry with attempt and delay),
 * the backoff sequence and its reset after a connection that served requests, `reconnect: false`,
 * and stopping at every point of the loop (before it runs, while opening, while serving, while
 * waiting to retry).
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { concat } from "../../core/bytes.ts";
import { MemoryLogger } from "../../transports/log.ts";
import { ReconnectingTransport, type TransportOptions } from "../../transports/reconnect.ts";
import { FrameSession, type ServeEnd } from "../../transports/session.ts";
import type { ByteChannel } from "../../transports/types.ts";
import { body, FakeHandler, fakeReply, frame, replies, waitFor } from "./_helpers.ts";

/** An in-memory connection: reads `chunks`, then ends, fails or blocks until closed. */
class ScriptChannel implements ByteChannel {
  readonly #chunks: Uint8Array[];
  readonly #then: "eof" | "block" | Error;
  #wake: ((e: Error) => void) | undefined;
  /** Everything written. */
  written: Uint8Array = new Uint8Array(0);
  /** Calls of close(). */
  closes = 0;

  constructor(chunks: Uint8Array[], then: "eof" | "block" | Error = "eof") {
    this.#chunks = [...chunks];
    this.#then = then;
  }

  read(p: Uint8Array): Promise<number | null> {
    const next = this.#chunks.shift();
    if (next !== undefined) {
      p.set(next);
      return Promise.resolve(next.length);
    }
    if (this.closes > 0) return Promise.reject(new Deno.errors.BadResource("closed"));
    if (this.#then instanceof Error) return Promise.reject(this.#then);
    if (this.#then === "eof") return Promise.resolve(null);
    return new Promise((_, reject) => (this.#wake = reject));
  }

  write(p: Uint8Array): Promise<number> {
    this.written = concat(this.written, p);
    return Promise.resolve(p.length);
  }

  close(): void {
    this.closes++;
    this.#wake?.(new Deno.errors.BadResource("closed"));
  }
}

type Step = () => Promise<ScriptChannel>;

/** A transport whose opens follow a script (a missing step blocks until the test settles it). */
class ScriptedTransport extends ReconnectingTransport<ScriptChannel> {
  readonly #steps: Step[];
  /** Connections handed out. */
  readonly opened: ScriptChannel[] = [];
  /** Calls of open(). */
  opens = 0;

  constructor(
    steps: Step[],
    options: TransportOptions & { reconnect?: boolean },
  ) {
    super("fake", { ...options, target: "node.example:9735" });
    this.#steps = [...steps];
  }

  protected override async open(): Promise<ScriptChannel> {
    this.opens++;
    const step = this.#steps.shift();
    if (step === undefined) throw new Error("the script has no more steps");
    const channel = await step();
    this.opened.push(channel);
    return channel;
  }

  protected override serveConnection(conn: ScriptChannel, signal: AbortSignal): Promise<ServeEnd> {
    return this.session.serve(conn, { resync: false, signal });
  }

  protected override closeConnection(conn: ScriptChannel): void {
    conn.close();
  }
}

/** Backoff without jitter: 1, 2, 4, 4, ... ms. */
const FIXED = { initialMs: 1, maxMs: 4, factor: 2, random: () => 0 };
const WHERE = { transport: "fake", target: "node.example:9735" };

function setup() {
  const handler = new FakeHandler();
  const session = new FrameSession(handler, { transport: "fake" });
  const logger = new MemoryLogger();
  return { handler, session, logger };
}

function log(logger: MemoryLogger) {
  return logger.events.map((e) => [e.level, e.event, e.fields]);
}

Deno.test("reconnect: failures, connections and retries are logged exactly; the backoff resets after a served connection", async () => {
  const { handler, session, logger } = setup();
  const a = body(19, 1);
  const b = body(30, 2);
  const served = new ScriptChannel([concat(frame(0, a), frame(1, b))]);
  const garbage = new ScriptChannel([Uint8Array.from([0x12, 0x34, 0, 0])]);
  const waiting = new ScriptChannel([], "block");
  const transport = new ScriptedTransport([
    () => Promise.reject(new Deno.errors.ConnectionRefused("Connection refused (os error 111)")),
    () => Promise.reject(new Deno.errors.TimedOut("x".repeat(300))),
    () => Promise.resolve(served),
    () => Promise.reject("not an Error"),
    () => Promise.resolve(garbage),
    () => Promise.resolve(waiting),
  ], { session, logger, backoff: FIXED });
  deepStrictEqual([transport.name, transport.target], ["fake", "node.example:9735"]);
  deepStrictEqual([transport.connections, transport.stopped], [0, false]);
  const running = transport.run();
  strictEqual(transport.run(), running); // one loop, however often run() is called
  await waitFor(() => transport.connections === 3, { what: "the third connection" });
  await transport.stop();
  await running;
  strictEqual(transport.stopped, true);

  deepStrictEqual(log(logger), [
    [
      "warn",
      "connection.failed",
      { ...WHERE, error: "ConnectionRefused", message: "Connection refused (os error 111)" },
    ],
    ["info", "connection.retry", { ...WHERE, attempt: 1, delay_ms: 1 }],
    ["warn", "connection.failed", { ...WHERE, error: "TimedOut", message: "x".repeat(200) }],
    ["info", "connection.retry", { ...WHERE, attempt: 2, delay_ms: 2 }],
    ["info", "connection.open", { ...WHERE, connection: 1 }],
    ["info", "connection.closed", { ...WHERE, connection: 1, reason: "eof", requests: 2 }],
    // The connection served requests: the delays start again.
    ["info", "connection.retry", { ...WHERE, attempt: 1, delay_ms: 1 }],
    ["warn", "connection.failed", { ...WHERE, error: "Error", message: "" }],
    ["info", "connection.retry", { ...WHERE, attempt: 2, delay_ms: 2 }],
    ["info", "connection.open", { ...WHERE, connection: 2 }],
    // Bad framing ends the connection (warn) without serving anything: no reset.
    ["warn", "connection.closed", { ...WHERE, connection: 2, reason: "framing", requests: 0 }],
    ["info", "connection.retry", { ...WHERE, attempt: 3, delay_ms: 4 }],
    ["info", "connection.open", { ...WHERE, connection: 3 }],
    ["info", "connection.closed", { ...WHERE, connection: 3, reason: "aborted", requests: 0 }],
  ]);
  // The first connection's requests were answered on it, in order.
  deepStrictEqual(replies(served.written), [
    { seq: 0, body: fakeReply(a) },
    { seq: 1, body: fakeReply(b) },
  ]);
  strictEqual(handler.calls.length, 2);
  strictEqual(transport.opens, 6);
  ok(transport.opened.every((c) => c.closes >= 1), "every connection is closed");
});

Deno.test("reconnect: with reconnect false the loop ends with the first connection or the first failure", async () => {
  {
    const { session, logger } = setup();
    const transport = new ScriptedTransport([
      () => Promise.reject(new Deno.errors.NotFound("No such file or directory (os error 2)")),
    ], { session, logger, backoff: FIXED, reconnect: false });
    await transport.run();
    deepStrictEqual(log(logger), [
      [
        "warn",
        "connection.failed",
        { ...WHERE, error: "NotFound", message: "No such file or directory (os error 2)" },
      ],
    ]);
    deepStrictEqual([transport.opens, transport.connections], [1, 0]);
  }
  {
    const { session, logger } = setup();
    const broken = new ScriptChannel([frame(5, body(19, 5))], new Error("reset by peer"));
    const transport = new ScriptedTransport([() => Promise.resolve(broken)], {
      session,
      logger,
      backoff: FIXED,
      reconnect: false,
    });
    await transport.run();
    deepStrictEqual(log(logger), [
      ["info", "connection.open", { ...WHERE, connection: 1 }],
      ["warn", "connection.closed", { ...WHERE, connection: 1, reason: "error", requests: 1 }],
    ]);
    deepStrictEqual([transport.opens, broken.closes], [1, 1]);
    deepStrictEqual(replies(broken.written), [{ seq: 5, body: fakeReply(body(19, 5)) }]);
  }
});

Deno.test("reconnect: stop() before run(), while opening, and while waiting to retry", async () => {
  {
    // Never run: stop resolves, and a later run() opens nothing.
    const { session, logger } = setup();
    const transport = new ScriptedTransport([], { session, logger });
    await transport.stop();
    await transport.run();
    deepStrictEqual([transport.opens, logger.events], [0, []]);
  }
  {
    // Stopped while open() is pending: the connection it yields is closed, never served.
    const { session, logger } = setup();
    let resolveOpen: (c: ScriptChannel) => void = () => {};
    const late = new ScriptChannel([frame(0, body(19, 0))]);
    const transport = new ScriptedTransport([
      () => new Promise<ScriptChannel>((r) => (resolveOpen = r)),
    ], { session, logger });
    const running = transport.run();
    await waitFor(() => transport.opens === 1, { what: "the open" });
    const stopping = transport.stop();
    resolveOpen(late);
    await stopping;
    await running;
    deepStrictEqual([late.closes, late.written.length, transport.connections], [1, 0, 0]);
    deepStrictEqual(logger.events, []);
  }
  {
    // Stopped while open() is pending, which then fails: nothing is logged.
    const { session, logger } = setup();
    let rejectOpen: (e: Error) => void = () => {};
    const transport = new ScriptedTransport([
      () => new Promise<ScriptChannel>((_, reject) => (rejectOpen = reject)),
    ], { session, logger });
    const running = transport.run();
    await waitFor(() => transport.opens === 1, { what: "the open" });
    const stopping = transport.stop();
    rejectOpen(new Deno.errors.Interrupted("cancelled"));
    await stopping;
    await running;
    deepStrictEqual(logger.events, []);
  }
  {
    // Stopped during a long backoff delay: the wait is cut short.
    const { session, logger } = setup();
    const transport = new ScriptedTransport([
      () => Promise.reject(new Deno.errors.ConnectionRefused("refused")),
    ], { session, logger, backoff: { initialMs: 600_000, maxMs: 600_000, random: () => 0 } });
    const running = transport.run();
    await waitFor(() => logger.named("connection.retry").length === 1, { what: "the retry" });
    await transport.stop();
    await running;
    deepStrictEqual(log(logger).map((e) => e[1]), ["connection.failed", "connection.retry"]);
    deepStrictEqual(logger.named("connection.retry")[0].fields.delay_ms, 600_000);
    strictEqual(transport.opens, 1);
  }
});
