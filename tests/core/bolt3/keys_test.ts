import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import vectors from "../../vectors/bolt3/key-derivation.json" with { type: "json" };
import staticRemotekey from "../../vectors/bolt3/commitment-static-remotekey.json" with {
  type: "json",
};
import { fromHex, toHex } from "../../../core/bytes.ts";
import { CryptoError, pointMultiply, publicKey, secretMultiply } from "../../../core/crypto/mod.ts";
import {
  basepointTweak,
  deriveCommitmentKeys,
  derivePrivateKey,
  derivePublicKey,
  deriveRevocationPrivateKey,
  deriveRevocationPublicKey,
  perCommitmentPoint,
  revocationBasepointTweak,
} from "../../../core/bolt3/mod.ts";

const BASE_SECRET = fromHex(vectors.base_secret);
const PC_SECRET = fromHex(vectors.per_commitment_secret);
const BASE_POINT = fromHex(vectors.base_point);
const PC_POINT = fromHex(vectors.per_commitment_point);
const [T1, T2, T3, T4] = vectors.tests;

Deno.test("Appendix E: shared inputs", () => {
  strictEqual(vectors.tests.length, 4);
  strictEqual(toHex(publicKey(BASE_SECRET)), vectors.base_point);
  strictEqual(toHex(perCommitmentPoint(PC_SECRET)), vectors.per_commitment_point);
});

Deno.test("Appendix E 1: pubkey from basepoint and per_commitment_point", () => {
  strictEqual(T1.inputs.basepoint, vectors.base_point);
  strictEqual(
    toHex(basepointTweak(PC_POINT, BASE_POINT)),
    T1.intermediate.sha256_per_commitment_point_basepoint,
  );
  strictEqual(toHex(derivePublicKey(BASE_POINT, PC_POINT)), T1.expected.localpubkey);
  strictEqual(T1.expected.localpubkey, vectors.expected.localpubkey);
});

Deno.test("Appendix E 2: private key from basepoint secret and per_commitment_point", () => {
  strictEqual(
    toHex(basepointTweak(PC_POINT, BASE_POINT)),
    T2.intermediate.sha256_per_commitment_point_basepoint,
  );
  const priv = derivePrivateKey(BASE_SECRET, PC_POINT);
  strictEqual(toHex(priv), T2.expected.localprivkey);
  strictEqual(toHex(publicKey(priv)), vectors.expected.localpubkey);
});

Deno.test("Appendix E 3: revocation pubkey, with intermediates", () => {
  const i = T3.intermediate;
  const t1 = revocationBasepointTweak(BASE_POINT, PC_POINT);
  strictEqual(toHex(t1), i.sha256_revocation_basepoint_per_commitment_point);
  strictEqual(toHex(pointMultiply(BASE_POINT, t1)), i.revocation_basepoint_times_sha256);
  const t2 = basepointTweak(PC_POINT, BASE_POINT);
  strictEqual(toHex(t2), i.sha256_per_commitment_point_revocation_basepoint);
  strictEqual(toHex(pointMultiply(PC_POINT, t2)), i.per_commitment_point_times_sha256);
  strictEqual(toHex(deriveRevocationPublicKey(BASE_POINT, PC_POINT)), T3.expected.revocationpubkey);
});

Deno.test("Appendix E 4: revocation private key, with intermediates", () => {
  const i = T4.intermediate;
  const t1 = revocationBasepointTweak(BASE_POINT, PC_POINT);
  strictEqual(toHex(t1), i.sha256_revocation_basepoint_per_commitment_point);
  strictEqual(toHex(secretMultiply(BASE_SECRET, t1)), i.revocation_basepoint_secret_times_sha256);
  const t2 = basepointTweak(PC_POINT, BASE_POINT);
  strictEqual(toHex(t2), i.sha256_per_commitment_point_revocation_basepoint);
  strictEqual(toHex(secretMultiply(PC_SECRET, t2)), i.per_commitment_secret_times_sha256);
  const priv = deriveRevocationPrivateKey(BASE_SECRET, PC_SECRET);
  strictEqual(toHex(priv), T4.expected.revocationprivkey);
  // The private key matches the public key of test 3.
  strictEqual(toHex(publicKey(priv)), vectors.expected.revocationpubkey);
});

Deno.test("Appendix C keys re-derive from the basepoints (TxCreationKeys)", () => {
  const ch = staticRemotekey.channel;
  const iv = staticRemotekey.internal_values;
  const pcSecret = fromHex(iv.x_local_per_commitment_secret_raw32);
  const point = perCommitmentPoint(pcSecret);
  strictEqual(toHex(point), iv.local_per_commitment_point);
  const keys = deriveCommitmentKeys(point, {
    broadcaster: {
      delayedPaymentBasepoint: fromHex(iv.local_delayed_payment_basepoint),
      htlcBasepoint: fromHex(ch.local_htlc_basepoint),
    },
    countersignatory: {
      revocationBasepoint: fromHex(iv.remote_revocation_basepoint),
      htlcBasepoint: fromHex(ch.remote_htlc_basepoint),
    },
  });
  deepStrictEqual(
    {
      perCommitmentPoint: toHex(keys.perCommitmentPoint),
      revocationKey: toHex(keys.revocationKey),
      broadcasterDelayedPaymentKey: toHex(keys.broadcasterDelayedPaymentKey),
      broadcasterHtlcKey: toHex(keys.broadcasterHtlcKey),
      countersignatoryHtlcKey: toHex(keys.countersignatoryHtlcKey),
    },
    {
      perCommitmentPoint: iv.local_per_commitment_point,
      revocationKey: ch.local_revocation_pubkey,
      broadcasterDelayedPaymentKey: ch.local_delayedpubkey,
      broadcasterHtlcKey: ch.local_htlcpubkey,
      countersignatoryHtlcKey: ch.remote_htlcpubkey,
    },
  );
  // The matching private keys (spec INTERNAL values).
  strictEqual(
    toHex(derivePrivateKey(fromHex(iv.local_payment_basepoint_secret_raw32), point)),
    ch.local_privkey_raw32,
  );
  strictEqual(
    toHex(derivePrivateKey(fromHex(iv.local_delayed_payment_basepoint_secret_raw32), point)),
    iv.local_delayed_privkey_raw32,
  );
  strictEqual(
    toHex(derivePrivateKey(fromHex(iv.remote_payment_basepoint_secret_raw32), point)),
    iv.remote_privkey_raw32,
  );
  const revocationPriv = deriveRevocationPrivateKey(
    fromHex(iv.remote_revocation_basepoint_secret_raw32),
    pcSecret,
  );
  strictEqual(toHex(publicKey(revocationPriv)), ch.local_revocation_pubkey);
});

Deno.test("key derivation refuses invalid points and secrets", () => {
  const notAPoint = new Uint8Array(33).fill(5); // 0x05 is no compressed-point prefix
  throws(() => derivePublicKey(notAPoint, PC_POINT), CryptoError);
  throws(() => deriveRevocationPublicKey(BASE_POINT, new Uint8Array(32)), CryptoError);
  throws(() => perCommitmentPoint(new Uint8Array(32)), CryptoError);
  throws(() => derivePrivateKey(new Uint8Array(31), PC_POINT), CryptoError);
});

Deno.test("deriveCommitmentKeys: a remembered derivation equals a fresh one and is a private copy", () => {
  const point = fromHex("025f7117a78150fe2ef97db7cfc83bd57b2e2c0d0dd25eaf467a4a1c2a45ce1486");
  const base = fromHex("036d6caac248af96f6afa7f904f550253a0f3ef3f5aa2fe6838a95b216691468e2");
  const options = {
    broadcaster: { delayedPaymentBasepoint: base, htlcBasepoint: base },
    countersignatory: { revocationBasepoint: base, htlcBasepoint: base },
  };
  const first = deriveCommitmentKeys(point, options);
  first.revocationKey.fill(0); // a caller scribbling on its copy
  const second = deriveCommitmentKeys(point, options);
  deepStrictEqual(second.revocationKey, deriveRevocationPublicKey(base, point));
  deepStrictEqual(second.broadcasterHtlcKey, derivePublicKey(base, point));
});
