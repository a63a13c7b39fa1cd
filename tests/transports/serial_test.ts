import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { concat } from "../../core/bytes.ts";
import { MemoryLogger } from "../../transports/log.ts";
import { FrameSession } from "../../transports/session.ts";
import { SerialTransport, setRawMode } from "../../transports/serial.ts";
import { TransportError } from "../../transports/types.ts";
import { body, FakeHandler, fakeReply, frame, readReplies, waitFor, writeAll } from "./_helpers.ts";
import { PtyPair } from "./_socat.ts";

const PEER = { peerId: new Uint8Array(33).fill(6), dbid: 3n };

async function openNode(path: string): Promise<Deno.FsFile> {
  return await Deno.open(path, { read: true, write: true });
}

/** One lock-step exchange: send a request, wait for its reply. */
async function exchange(node: Deno.FsFile, seq: number, b: Uint8Array) {
  await writeAll(node, frame(seq, b, PEER));
  return (await readReplies(node, 1))?.[0];
}

Deno.test("serial: frames both ways over a pty pair, lock-step, resync, reopen after the pair goes away", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-serial-" });
  const handler = new FakeHandler();
  const logger = new MemoryLogger();
  const session = new FrameSession(handler, { transport: "serial", logger });
  let pair = await PtyPair.start(dir);
  const transport = new SerialTransport(pair.a, {
    session,
    logger,
    stty: true, // stty -F A raw -echo 115200 before each open
    backoff: { initialMs: 5, maxMs: 50 },
  });
  let node: Deno.FsFile | undefined;
  try {
    transport.run();
    node = await openNode(pair.b);
    await waitFor(() => transport.connections === 1, { what: "the signer to open its end" });
    // Lock-step: each request waits for its reply. Bytes 0x0a, 0x0d, 0x11 and 0xff pass raw.
    for (const [seq, b] of [[0, body(19, 0x0a, 0x0d)], [1, body(30, 0x11, 0xff)]] as const) {
      deepStrictEqual(await exchange(node, seq, b), { seq, body: fakeReply(b) });
    }
    // Line noise before a frame is skipped.
    await writeAll(node, concat(new Uint8Array([0x00, 0xaa, 0x42]), frame(2, body(18, 2), PEER)));
    deepStrictEqual(await readReplies(node, 1), [{ seq: 2, body: fakeReply(body(18, 2)) }]);
    strictEqual(logger.named("frame.resync").reduce((n, e) => n + Number(e.fields.skipped), 0), 3);
    node.close();
    node = undefined;

    // The pair goes away (device unplugged): the signer's read fails, it retries opening.
    await pair.stop();
    await waitFor(() => logger.named("connection.closed").length === 1, { what: "close" });
    await waitFor(() => logger.named("connection.failed").length >= 1, { what: "a failed open" });
    strictEqual(logger.named("connection.closed")[0].fields.requests, 3);

    // It comes back: the signer reopens it and serves again.
    pair = await PtyPair.start(dir);
    node = await openNode(pair.b);
    await waitFor(() => transport.connections === 2, { what: "the reopen" });
    deepStrictEqual(await exchange(node, 3, body(18, 3)), { seq: 3, body: fakeReply(body(18, 3)) });
    strictEqual(handler.calls.length, 4);
  } finally {
    node?.close();
    await transport.stop();
    await pair.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serial: stty on something that is not a terminal is a clear error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-serial-" });
  try {
    const file = `${dir}/not-a-tty`;
    await Deno.writeTextFile(file, "");
    await rejects(setRawMode(file), (e: unknown) => {
      ok(e instanceof TransportError);
      ok(e.message.startsWith(`stty failed on ${file}`), e.message);
      return true;
    });
    await rejects(setRawMode(file, { baud: 1234 }), /unsupported baud rate/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
