/**
 * The three ways a signer request can fail, mapped one-to-one onto the wire protocol's
 * `SignerError` codes: a policy refusal (names the rule ids), a temporary failure (the node may
 * retry; nothing changed) and a bad request (malformed, unknown channel, wrong state). None of
 * them ever carries a secret.
 *
 * @module
 */

/** A rule refused the request. Nothing was persisted and nothing was signed. */
export class PolicyRefusal extends Error {
  /** The ids of every violated rule. */
  readonly rules: string[];
  /** Every violated rule is temporary: the same request may succeed later. */
  readonly temporary: boolean;
  /** The request kind that was refused. */
  readonly kind: string;

  /**
   * Creates the refusal.
   * @param kind the request kind
   * @param verdict the violated rule ids and whether all are temporary
   */
  constructor(kind: string, verdict: { rules: string[]; temporary: boolean }) {
    const refused = `${verdict.temporary ? "temporarily refused" : "refused"} ${kind}`;
    super(
      verdict.rules.length > 0
        ? `${refused} by ${verdict.rules.join(", ")}`
        : `${refused} (no rule named)`,
    );
    this.name = "PolicyRefusal";
    this.kind = kind;
    this.rules = verdict.rules;
    this.temporary = verdict.temporary;
  }
}

/** Why a request could not be handled at all. */
export type RequestErrorCode =
  | "unknown-channel"
  | "forgotten-channel"
  | "not-ready"
  | "already-ready"
  | "malformed"
  | "invariant"
  | "unsupported";

/** A request the signer cannot handle (not a policy decision); nothing changed. */
export class RequestError extends Error {
  /** Machine-readable reason. */
  readonly code: RequestErrorCode;

  /**
   * Creates the error.
   * @param code the reason
   * @param message what was wrong, never secret values
   */
  constructor(code: RequestErrorCode, message: string) {
    super(message);
    this.name = "RequestError";
    this.code = code;
  }
}
