/**
 * The two crypto backends side by side, on the operations a channel update spends its time in.
 * Run: `deno bench --allow-all tests/bench/backend_bench.ts`.
 *
 * @module
 */
import { utf8 } from "../../core/bytes.ts";
import {
  type CryptoBackend,
  curvesBackend,
  hybridBackend,
  nobleBackend,
  sha256,
} from "../../core/crypto/mod.ts";

const secret = sha256(utf8("bench secret"));
const digest = sha256(utf8("bench digest"));
const tweak = sha256(utf8("bench tweak"));

for (const backend of [nobleBackend, curvesBackend, hybridBackend] as CryptoBackend[]) {
  const pub = backend.publicKey(secret);
  const sig = backend.ecdsaSign(digest, secret).signature;
  Deno.bench(`${backend.name}: ecdsa sign`, { group: "sign" }, () => {
    backend.ecdsaSign(digest, secret);
  });
  Deno.bench(`${backend.name}: ecdsa verify`, { group: "verify" }, () => {
    backend.ecdsaVerify(sig, digest, pub);
  });
  Deno.bench(`${backend.name}: public-scalar multiply (BOLT-3 tweak)`, { group: "tweak" }, () => {
    backend.pointMultiply(pub, tweak, true);
  });
  Deno.bench(`${backend.name}: constant-time multiply (ECDH)`, { group: "ecdh" }, () => {
    backend.pointMultiply(pub, tweak, false);
  });
  Deno.bench(`${backend.name}: public key`, { group: "pubkey" }, () => {
    backend.publicKey(tweak);
  });
}
