/**
 * SignerError replies (core/protocol/errors.ts): one distinct code per kind of failure, messages
 * that name the message and field, never a secret, always a valid str0.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { concat, fromHex, u16be, utf8 } from "../../../core/bytes.ts";
import { decodeMessage, encodeReply } from "../../../core/protocol/mod.ts";
import {
  classifyError,
  DispatchError,
  errorReply,
  MAX_ERROR_MESSAGE,
  sanitizeMessage,
  SIGNER_ERROR,
  signerError,
  signerErrorOf,
} from "../../../core/protocol/errors.ts";
import { ProtocolError } from "../../../core/protocol/types.ts";
import { PolicyRefusal, RequestError } from "../../../core/signer/errors.ts";

Deno.test("the codes are distinct", () => {
  const codes = Object.values(SIGNER_ERROR);
  strictEqual(new Set(codes).size, codes.length);
  deepStrictEqual(SIGNER_ERROR.ORPHAN_BLOCK, 401, "VLS's orphan code");
});

Deno.test("classifyError: each kind of failure, its code and message", () => {
  const at = { name: "sign_remote_commitment_tx", id: 19 };
  const policy = new PolicyRefusal("sign_counterparty_commitment", {
    rules: ["policy-a", "policy-b", "policy-a"],
    temporary: false,
  });
  deepStrictEqual(classifyError(policy, at), {
    code: SIGNER_ERROR.POLICY,
    message: "policy: refused by policy-a, policy-b",
  });
  const temporary = new PolicyRefusal("k", { rules: ["policy-t"], temporary: true });
  deepStrictEqual(classifyError(temporary, at), {
    code: SIGNER_ERROR.TEMPORARY,
    message: "temporary: refused by policy-t",
  });
  deepStrictEqual(classifyError(policy, { name: "add_block" }), {
    code: SIGNER_ERROR.ORPHAN_BLOCK,
    message: "orphan: policy: refused by policy-a, policy-b",
  });
  let protocol: unknown;
  try {
    decodeMessage(fromHex("0012000000"));
  } catch (e) {
    protocol = e;
  }
  deepStrictEqual(classifyError(protocol, { name: undefined, id: 18 }), {
    code: SIGNER_ERROR.MALFORMED,
    message: "malformed: get_per_commitment_point.n: truncated (needs 8 bytes, 3 left)",
  });
  deepStrictEqual(
    classifyError(new ProtocolError("unknown request type 4660", { code: "unknown-type" }), {
      id: 4660,
    }),
    { code: SIGNER_ERROR.UNKNOWN_MESSAGE, message: "unknown message type 4660" },
  );
  const requests: [RequestError["code"], number, string][] = [
    ["malformed", SIGNER_ERROR.MALFORMED, "malformed: sign_remote_commitment_tx: x"],
    [
      "unknown-channel",
      SIGNER_ERROR.UNKNOWN_CHANNEL,
      "unknown channel: sign_remote_commitment_tx: x",
    ],
    [
      "forgotten-channel",
      SIGNER_ERROR.UNKNOWN_CHANNEL,
      "unknown channel: sign_remote_commitment_tx: x",
    ],
    ["not-ready", SIGNER_ERROR.CHANNEL_STATE, "channel state: sign_remote_commitment_tx: x"],
    ["already-ready", SIGNER_ERROR.CHANNEL_STATE, "channel state: sign_remote_commitment_tx: x"],
    ["unsupported", SIGNER_ERROR.UNSUPPORTED, "unsupported: sign_remote_commitment_tx: x"],
    ["invariant", SIGNER_ERROR.INTERNAL, "internal: sign_remote_commitment_tx: x"],
  ];
  for (const [code, wire, message] of requests) {
    deepStrictEqual(classifyError(new RequestError(code, "x"), at), { code: wire, message });
  }
  deepStrictEqual(classifyError(new DispatchError(SIGNER_ERROR.WRONG_CONTEXT, "as is"), at), {
    code: SIGNER_ERROR.WRONG_CONTEXT,
    message: "as is",
  });
  // An unexpected exception contributes its class name only: its message may hold anything.
  deepStrictEqual(classifyError(new RangeError("secret 0123abcd"), at), {
    code: SIGNER_ERROR.INTERNAL,
    message: "internal: sign_remote_commitment_tx: RangeError",
  });
  deepStrictEqual(classifyError("thrown string", {}), {
    code: SIGNER_ERROR.INTERNAL,
    message: "internal: request: string",
  });
});

Deno.test("messages are valid str0: no control characters, well-formed, bounded", () => {
  strictEqual(sanitizeMessage("a\nb\u0000c\u007f"), "a b c ");
  strictEqual(sanitizeMessage("x\ud800y"), "x\ufffdy");
  const long = sanitizeMessage("z".repeat(5000));
  strictEqual(long.length, MAX_ERROR_MESSAGE);
  strictEqual(long.endsWith("…"), true);
  deepStrictEqual(
    signerError(SIGNER_ERROR.POLICY, "policy:\nrefused"),
    concat(u16be(3000), u16be(403), utf8("policy: refused\0")),
  );
  deepStrictEqual(
    errorReply(new DispatchError(SIGNER_ERROR.UNSUPPORTED, "unsupported: x")),
    concat(u16be(3000), u16be(501), utf8("unsupported: x\0")),
  );
});

Deno.test("signerErrorOf: decodes SignerError bodies and flags temporary ones", () => {
  deepStrictEqual(signerErrorOf(signerError(SIGNER_ERROR.TEMPORARY, "temporary: refused by p")), {
    code: 503,
    message: "temporary: refused by p",
    temporary: true,
  });
  deepStrictEqual(signerErrorOf(signerError(401, "orphan")), {
    code: 401,
    message: "orphan",
    temporary: false,
  });
  strictEqual(signerErrorOf(encodeReply({ type: "pong", id: 1, message: "pong" })), undefined);
  strictEqual(signerErrorOf(fromHex("0bb8")), undefined, "a truncated SignerError");
  strictEqual(signerErrorOf(new Uint8Array()), undefined);
});
