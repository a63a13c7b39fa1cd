/**
 * Stream decoding when bytes arrive in tiny reads (a serial line, a slow TCP peer): a 128 KiB
 * serial request (the largest body, core/protocol/types.ts `MAX_BODY_SIZE`) pushed one byte per
 * read, and the same frame in 64 KiB reads for comparison. Before the decoders' buffer became one
 * growable array (core/protocol/framing.ts `ByteQueue`), the one-byte case was quadratic in the
 * frame size (about 6 to 18 s for one frame); now it is linear.
 *
 * Run with `deno bench --allow-all tests/bench/framing_bench.ts`.
 *
 * @module
 */
import {
  encodeSerialRequest,
  ROOT_PEER_ID,
  serialRequestDecoder,
} from "../../core/protocol/framing.ts";
import { MAX_BODY_SIZE } from "../../core/protocol/types.ts";

const body = new Uint8Array(MAX_BODY_SIZE);
body[1] = 0x12;
const frame = encodeSerialRequest({ seq: 1, peerId: ROOT_PEER_ID, dbid: 0n, body });

function decodeIn(size: number, resync: boolean): void {
  const d = serialRequestDecoder({ resync });
  let frames = 0;
  for (let i = 0; i < frame.length; i += size) frames += d.push(frame.subarray(i, i + size)).length;
  d.end();
  if (frames !== 1) throw new Error(`decoded ${frames} frames, expected 1`);
}

Deno.bench("128 KiB frame, one byte per read", { group: "framing", baseline: true }, () => {
  decodeIn(1, false);
});

Deno.bench("128 KiB frame, one byte per read, resync", { group: "framing" }, () => {
  decodeIn(1, true);
});

Deno.bench("128 KiB frame, 64 KiB reads", { group: "framing" }, () => {
  decodeIn(64 * 1024, false);
});
