/**
 * `--connect` URLs: `tcp://HOST:PORT` (a TCP connection carrying serial frames) and
 * `ws://HOST[:PORT]/PATH` or `wss://…` (one serial frame per binary WebSocket message). The signer
 * dials; it never listens.
 *
 * @module
 */
import { TransportError } from "./types.ts";

/** Where to connect. */
export type ConnectTarget =
  | {
    /** A TCP stream of serial frames. */
    kind: "tcp";
    /** Host name or address, IPv6 without brackets (for `Deno.connect`). */
    hostname: string;
    /** Port. */
    port: number;
    /** `host:port` as `--allow-net` spells it (IPv6 in brackets). */
    hostPort: string;
  }
  | {
    /** A WebSocket carrying serial frames. */
    kind: "websocket";
    /** The full URL. */
    url: string;
    /** `wss:`. */
    secure: boolean;
    /** Host name or address, IPv6 without brackets. */
    hostname: string;
    /** Port (80 or 443 when the URL has none). */
    port: number;
    /** `host:port` as `--allow-net` spells it (IPv6 in brackets). */
    hostPort: string;
  };

/**
 * Parses a `--connect` URL.
 * @throws {TransportError} for another scheme, a missing host or port, credentials, a query or
 *   fragment on tcp
 */
export function parseConnectUrl(text: string): ConnectTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TransportError(
      "--connect must be a URL: tcp://HOST:PORT, ws://HOST:PORT/PATH or wss://",
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new TransportError("--connect URLs take no user name or password");
  }
  if (!["tcp:", "ws:", "wss:"].includes(url.protocol)) {
    throw new TransportError("unsupported --connect scheme (expected tcp://, ws:// or wss://)");
  }
  const host = url.hostname;
  if (host === "") throw new TransportError("--connect URL has no host");
  const hostname = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  switch (url.protocol) {
    case "tcp:": {
      if (url.port === "") throw new TransportError("tcp:// URLs need a port: tcp://HOST:PORT");
      if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
        throw new TransportError("tcp:// URLs take only a host and a port");
      }
      const port = Number(url.port);
      if (port < 1) throw new TransportError("tcp:// URLs need a port from 1 to 65535");
      return { kind: "tcp", hostname, port, hostPort: `${host}:${port}` };
    }
    case "ws:":
    case "wss:": {
      if (url.hash !== "") throw new TransportError("WebSocket URLs take no fragment");
      const secure = url.protocol === "wss:";
      const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
      if (port < 1) throw new TransportError("WebSocket URLs need a port from 1 to 65535");
      return {
        kind: "websocket",
        url: url.href,
        secure,
        hostname,
        port,
        hostPort: `${host}:${port}`,
      };
    }
    default:
      throw new TransportError(
        "unsupported --connect scheme (expected tcp://, ws:// or wss://)",
      );
  }
}
