/**
 * Serial transport (`--serial /dev/ttyUSB0`): the signer opens a character device read/write and
 * answers serial frames lock-step (protocol.md §1.3: the node side sends one request and waits
 * for its reply). Line noise and a device opened in the middle of a frame are survived by
 * resynchronising on the next magic (transports/session.ts). When the device goes away (read or
 * write error, end of file) it is closed and reopened with backoff (transports/reconnect.ts).
 *
 * **Raw mode.** The line must be raw (no echo, no line editing, 8-bit clean) and at the right
 * speed. A locked-down signer cannot run `stty` (it has no `--allow-run`), so the operator sets
 * the line up first: `stty -F /dev/ttyUSB0 raw -echo 115200`. With `--stty` the signer runs that
 * command itself before each open; it then needs `--allow-run=stty` (and nothing else to run).
 *
 * **Deno and devices.** Deno 2 opens a file that resolves under /dev (a tty, a USB serial
 * adapter, a pseudo-terminal, even through a symlink or /dev/fd/N) only with `--allow-all`, whatever
 * `--allow-read`/`--allow-write` say. A locked-down signer therefore takes the line as its standard
 * input and output, opened by the shell ({@link StdioSerialTransport}, `--serial -`):
 * `deno run ... mod.ts run ... --serial - 0<>/dev/ttyUSB0 1>&0`. It cannot reopen it: when the
 * line goes away the transport ends (the process exits and its supervisor starts it again).
 * {@link SerialTransport} opens the device by path and reopens it, for processes that may.
 *
 * @module
 */
import { ReconnectingTransport, type TransportOptions } from "./reconnect.ts";
import type { ServeEnd } from "./session.ts";
import { type ByteChannel, TransportError } from "./types.ts";

/** Options of {@link SerialTransport}. */
export interface SerialOptions extends TransportOptions {
  /** Run `stty -F DEVICE raw -echo BAUD` before each open (needs `--allow-run=stty`). */
  stty?: boolean;
  /** The line speed for `stty` (default 115200). */
  baud?: number;
}

/** Speeds `stty` accepts that make sense for a signer link. */
export const BAUD_RATES: readonly number[] = [
  9600,
  19200,
  38400,
  57600,
  115200,
  230400,
  460800,
  921600,
];

/**
 * Sets `device` to raw mode at `baud` with `stty` (the operator's command, run by the signer);
 * `device` "-" is the process's standard input.
 * @throws {TransportError} when stty cannot run or fails
 */
export async function setRawMode(device: string, options: { baud?: number } = {}): Promise<void> {
  const baud = options.baud ?? 115200;
  if (!BAUD_RATES.includes(baud)) {
    throw new TransportError(`unsupported baud rate (expected one of ${BAUD_RATES.join(", ")})`);
  }
  let out: Deno.CommandOutput;
  const stdio = device === "-";
  try {
    out = await new Deno.Command("stty", {
      args: [...(stdio ? [] : ["-F", device]), "raw", "-echo", String(baud)],
      stdin: stdio ? "inherit" : "null",
      stdout: "null",
      stderr: "piped",
      clearEnv: true,
    }).output();
  } catch (e) {
    throw new TransportError(`cannot run stty (${e instanceof Error ? e.name : "error"})`);
  }
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0]?.slice(0, 200) ?? "";
    const what = stdio ? "standard input" : device;
    throw new TransportError(`stty failed on ${what}${why ? `: ${why}` : ""}`);
  }
}

/** A serial device serving frames lock-step, reopened when it goes away. */
export class SerialTransport extends ReconnectingTransport<Deno.FsFile> {
  readonly #device: string;
  readonly #stty: boolean;
  readonly #baud: number;

  /**
   * Sets the transport up; {@link run} opens the device.
   * @param device the character device's path
   * @param options the session, logger, backoff, and whether to run stty
   */
  constructor(device: string, options: SerialOptions) {
    super("serial", { ...options, target: device });
    this.#device = device;
    this.#stty = options.stty ?? false;
    this.#baud = options.baud ?? 115200;
  }

  /** Sets raw mode (with `--stty`) and opens the device. */
  protected override async open(): Promise<Deno.FsFile> {
    if (this.#stty) await setRawMode(this.#device, { baud: this.#baud });
    const file = await Deno.open(this.#device, { read: true, write: true });
    try {
      const info = await file.stat();
      if (info.isDirectory) throw new TransportError(`${this.#device} is a directory`);
    } catch (e) {
      file.close();
      throw e;
    }
    return file;
  }

  /** Serves frames until the device goes away, resynchronising on bad input. */
  protected override serveConnection(file: Deno.FsFile, signal: AbortSignal): Promise<ServeEnd> {
    return this.session.serve(file, { resync: true, signal });
  }

  /** Closes the device (interrupts a pending read). */
  protected override closeConnection(file: Deno.FsFile): void {
    try {
      file.close();
    } catch {
      // already closed
    }
  }
}

/**
 * The serial line as the process's standard input and output (`--serial -`; see the module
 * documentation): served once, lock-step, resynchronising; {@link run} ends when the line closes.
 */
export class StdioSerialTransport extends ReconnectingTransport<ByteChannel> {
  readonly #stty: boolean;
  readonly #baud: number;
  readonly #channel: ByteChannel;

  /**
   * Sets the transport up; {@link run} serves the line.
   * @param options the session, logger, whether to run stty (on standard input), and `channel`
   *   (default: `Deno.stdin` and `Deno.stdout`; tests pass their own)
   */
  constructor(options: Omit<SerialOptions, "backoff"> & { channel?: ByteChannel }) {
    super("serial", { ...options, target: "stdio", reconnect: false });
    this.#stty = options.stty ?? false;
    this.#baud = options.baud ?? 115200;
    this.#channel = options.channel ?? {
      read: (p) => Deno.stdin.read(p),
      write: (p) => Deno.stdout.write(p),
    };
  }

  /** Sets raw mode (with `--stty`); the line is already open. */
  protected override async open(): Promise<ByteChannel> {
    if (this.#stty) await setRawMode("-", { baud: this.#baud });
    return this.#channel;
  }

  /** Serves frames until the line closes, resynchronising on bad input. */
  protected override serveConnection(
    channel: ByteChannel,
    signal: AbortSignal,
  ): Promise<ServeEnd> {
    return this.session.serve(channel, { resync: true, signal });
  }

  /** Standard input and output stay open (the process is about to exit). */
  protected override closeConnection(_channel: ByteChannel): void {}
}
