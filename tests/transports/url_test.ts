/**
 * `--connect` URLs (transports/url.ts): every accepted form with the exact target it gives, and
 * every refused form with the exact {@link TransportError} message (which never repeats the URL,
 * so a mistyped secret or a password in it is not echoed).
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { type ConnectTarget, parseConnectUrl } from "../../transports/url.ts";
import { TransportError } from "../../transports/types.ts";

Deno.test("url: tcp://HOST:PORT forms", () => {
  const cases: [string, ConnectTarget][] = [
    [
      "tcp://127.0.0.1:9735",
      { kind: "tcp", hostname: "127.0.0.1", port: 9735, hostPort: "127.0.0.1:9735" },
    ],
    // IPv6: brackets off for Deno.connect, on for --allow-net.
    ["tcp://[::1]:9735", { kind: "tcp", hostname: "::1", port: 9735, hostPort: "[::1]:9735" }],
    ["tcp://localhost:1/", {
      kind: "tcp",
      hostname: "localhost",
      port: 1,
      hostPort: "localhost:1",
    }],
    [
      "tcp://node.example:65535",
      { kind: "tcp", hostname: "node.example", port: 65535, hostPort: "node.example:65535" },
    ],
    // The scheme is case-insensitive; a leading zero in the port is the same port; an empty
    // query is no query.
    ["TCP://h:08", { kind: "tcp", hostname: "h", port: 8, hostPort: "h:8" }],
    ["tcp://h:1?", { kind: "tcp", hostname: "h", port: 1, hostPort: "h:1" }],
  ];
  for (const [text, target] of cases) deepStrictEqual(parseConnectUrl(text), target, text);
});

Deno.test("url: ws:// and wss:// forms (default ports 80 and 443, query kept)", () => {
  const ws = (
    url: string,
    secure: boolean,
    hostname: string,
    port: number,
    hostPort: string,
  ): ConnectTarget => ({ kind: "websocket", url, secure, hostname, port, hostPort });
  const cases: [string, ConnectTarget][] = [
    [
      "ws://127.0.0.1:8080/signer",
      ws("ws://127.0.0.1:8080/signer", false, "127.0.0.1", 8080, "127.0.0.1:8080"),
    ],
    ["ws://h/signer", ws("ws://h/signer", false, "h", 80, "h:80")],
    ["ws://h:1", ws("ws://h:1/", false, "h", 1, "h:1")],
    ["wss://h/signer", ws("wss://h/signer", true, "h", 443, "h:443")],
    ["wss://h:443/x", ws("wss://h/x", true, "h", 443, "h:443")],
    ["wss://h:8443/x", ws("wss://h:8443/x", true, "h", 8443, "h:8443")],
    ["ws://[::1]:9/p", ws("ws://[::1]:9/p", false, "::1", 9, "[::1]:9")],
    ["ws://h:1/p?token=x", ws("ws://h:1/p?token=x", false, "h", 1, "h:1")],
    // Host names of ws URLs are normalised (lower case, IPv4 forms).
    [
      "WS://Node.Example:80/",
      ws("ws://node.example/", false, "node.example", 80, "node.example:80"),
    ],
    ["ws://0x7f.1/", ws("ws://127.0.0.1/", false, "127.0.0.1", 80, "127.0.0.1:80")],
  ];
  for (const [text, target] of cases) deepStrictEqual(parseConnectUrl(text), target, text);
});

Deno.test("url: refused forms are TransportErrors with exact messages that do not echo the URL", () => {
  const notUrl = "--connect must be a URL: tcp://HOST:PORT, ws://HOST:PORT/PATH or wss://";
  const cases: [string, string][] = [
    ["", notUrl],
    ["not a url", notUrl],
    ["127.0.0.1:9735", notUrl],
    // The scheme is looked at first: `localhost:` parses as a scheme.
    ["localhost:9735", "unsupported --connect scheme (expected tcp://, ws:// or wss://)"],
    ["unix:///run/node.sock", "unsupported --connect scheme (expected tcp://, ws:// or wss://)"],
    ["tcp://h:65536", notUrl],
    ["tcp://h:-1", notUrl],
    ["tcp://:1", notUrl],
    ["ws://:1/", notUrl],
    ["tcp://user:hunter2@h:1", "--connect URLs take no user name or password"],
    ["tcp://user@h:1", "--connect URLs take no user name or password"],
    ["wss://user:hunter2@h/signer", "--connect URLs take no user name or password"],
    ["tcp:///x", "--connect URL has no host"],
    ["tcp://h", "tcp:// URLs need a port: tcp://HOST:PORT"],
    ["tcp://h:0", "tcp:// URLs need a port from 1 to 65535"],
    ["tcp://h:1/path", "tcp:// URLs take only a host and a port"],
    ["tcp://h:1?x=1", "tcp:// URLs take only a host and a port"],
    ["tcp://h:1#f", "tcp:// URLs take only a host and a port"],
    ["ws://h/p#frag", "WebSocket URLs take no fragment"],
    ["ws://h:0/", "WebSocket URLs need a port from 1 to 65535"],
    ["wss://h:0/signer", "WebSocket URLs need a port from 1 to 65535"],
    ["http://h:1", "unsupported --connect scheme (expected tcp://, ws:// or wss://)"],
    ["https://h/signer", "unsupported --connect scheme (expected tcp://, ws:// or wss://)"],
    ["udp://h:1", "unsupported --connect scheme (expected tcp://, ws:// or wss://)"],
  ];
  for (const [text, message] of cases) {
    throws(() => parseConnectUrl(text), (e: unknown) => {
      ok(e instanceof TransportError, `${text}: ${e}`);
      strictEqual(e.name, "TransportError");
      strictEqual(e.message, message, text);
      ok(!e.message.includes("hunter2"));
      return true;
    });
  }
});
