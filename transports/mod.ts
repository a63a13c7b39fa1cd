/**
 * Transports: how the signer talks to its node. Every transport carries VLS's serial frames
 * (protocol.md §1.3) to one {@link FrameSession}, which hands each request to the protocol
 * dispatcher (core/protocol/dispatch.ts) and writes the reply back:
 *
 * - {@link TcpTransport} (`--connect tcp://HOST:PORT`): the signer dials the node; reconnects with
 *   backoff;
 * - {@link WebSocketTransport} (`--connect ws://…`, `wss://…`): one frame per binary message;
 * - {@link StdioSerialTransport} (`--serial -`: the line as standard input and output) and
 *   {@link SerialTransport} (`--serial DEVICE`): lock-step, resynchronising;
 * - {@link TrafficRecorder} (`--record FILE`) and the replay of recordings against a fresh signer
 *   (`mod.ts replay`);
 * - {@link checkPermissions}: the start-up least-privilege self-check of `mod.ts run`.
 *
 * ```ts
 * const session = new FrameSession(dispatcher, { transport: "tcp", logger: new JsonLogger() });
 * const tcp = new TcpTransport({ hostname: "127.0.0.1", port: 9735 }, { session });
 * tcp.run(); // ... later
 * await tcp.stop();
 * ```
 *
 * The in-process LDK adapter lives in `transports/ldk/` (its own entry point).
 *
 * @module
 */
export type { ByteChannel, FrameHandler, RequestContext } from "./types.ts";
export type { SerialRequest } from "../core/protocol/framing.ts";
export { TransportError } from "./types.ts";
export {
  DEFAULT_CACHE_BYTES,
  DEFAULT_CACHE_SIZE,
  DEFAULT_IDLE_MS,
  ERROR_REPLY_TYPES,
  FrameSession,
  type FrameSessionOptions,
  INIT_TYPES,
  INTERNAL_ERROR_CODE,
  ReplyCache,
  type ServeEnd,
  type SessionStats,
  UNCACHED_TYPES,
} from "./session.ts";
export { Backoff, type BackoffOptions, sleep } from "./backoff.ts";
export { ReconnectingTransport, type TransportOptions } from "./reconnect.ts";
export { type TcpTarget, TcpTransport } from "./tcp.ts";
export {
  CLOSE_PROTOCOL_ERROR,
  CLOSE_TOO_MANY_PENDING,
  decodeRequestMessage,
  MAX_PENDING_FRAMES,
  type WebSocketOptions,
  WebSocketTransport,
} from "./websocket.ts";
export {
  BAUD_RATES,
  type SerialOptions,
  SerialTransport,
  setRawMode,
  StdioSerialTransport,
} from "./serial.ts";
export { type ConnectTarget, parseConnectUrl } from "./url.ts";
export {
  formatLogLine,
  JsonLogger,
  type JsonLoggerOptions,
  type LogFields,
  type Logger,
  type LogLevel,
  MemoryLogger,
  silentLogger,
} from "./log.ts";
export {
  RecordError,
  replyCarriesSecret,
  requestCarriesSecret,
  type TrafficLine,
  trafficLine,
  TrafficRecorder,
  type TrafficRecorderOptions,
} from "./record.ts";
export {
  apiOutcome,
  type ApiRecord,
  describeEntry,
  describeOutcome,
  describeSummary,
  type Outcome,
  parseRecording,
  type Recording,
  replayApi,
  ReplayClock,
  type ReplayEntry,
  ReplayError,
  type ReplayReport,
  type ReplaySummary,
  replayTransport,
  replyOutcome,
} from "./replay.ts";
export {
  assertLeastPrivilege,
  checkPermissions,
  describeProblems,
  ENV_PROBES,
  NET_PROBE_HOSTS,
  NET_PROBE_PORTS,
  PATH_PROBES,
  PermissionCheckError,
  type PermissionNeeds,
  type PermissionProblem,
  type PermissionQuery,
  RUN_PROBES,
  SYS_KINDS,
} from "./permissions.ts";
