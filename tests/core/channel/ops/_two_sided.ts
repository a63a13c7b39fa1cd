/**
 * Test fixture for the state operations (commitments, points, revocations, force close): the
 * two-sided channel of ../_fixture2.ts, opened with no push by default, whose `revoke` also checks
 * that the revocation advances the revoker's state, that the next point is `n + 2`, and that the
 * other side finds the secret's point equal to the one it stored.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { revokeHolderCommitment } from "../../../../core/channel/ops/points.ts";
import { validateCounterpartyRevocation } from "../../../../core/channel/ops/revocation.ts";
import { holderPoint } from "../../../../core/channel/state.ts";
import { ctxOf } from "../_peer.ts";
import { Channel as BaseChannel, FEERATE, hashOf } from "../_fixture2.ts";

/** Both sides and the channel's balance sheet; `us` opened the channel. */
export class Channel extends BaseChannel {
  constructor(anchors = false, pushMsat = 0n) {
    super({ anchors, pushMsat });
  }

  /** `revoker` revokes its commitment `n`; the other side checks the revocation. */
  override revoke(revoker: "us" | "peer", n: number): void {
    const [r, o] = revoker === "us" ? [this.us, this.peer] : [this.peer, this.us];
    const out = revokeHolderCommitment(ctxOf(r), n);
    strictEqual(out.facts.revoke.advances_state, true);
    r.state = out.next;
    const { secret, nextPoint } = out.release();
    deepStrictEqual(nextPoint, holderPoint(r.keys, n + 2));
    const checked = validateCounterpartyRevocation(ctxOf(o), { number: n, secret });
    strictEqual(checked.facts.revocation.point_matches, true);
    strictEqual(checked.facts.revocation.secret_chains, true);
    o.state = checked.next;
  }
}

export { FEERATE, hashOf };

/** The `channel` facts of `us` in a fresh `new Channel()` (the _peer.ts setup, untracked chain). */
export const US_CHANNEL_FACTS = {
  is_stub: false,
  is_outbound: true,
  value_sat: 1_000_000n,
  push_msat: 0n,
  commitment_type: "static_remotekey",
  is_anchors: false,
  is_zero_fee_htlc: false,
  is_static_remotekey: true,
  holder_selected_contest_delay: 144,
  counterparty_selected_contest_delay: 6,
  has_holder_shutdown_script: false,
  holder_shutdown_script: "",
  holder_shutdown_script_in_wallet: false,
  holder_shutdown_script_allowlisted: false,
  has_counterparty_shutdown_script: false,
  closed: false,
  force_closed_number: -1,
  funding_depth: 0,
  closing_depth: 0,
  funding_double_spent_depth: 0,
};
