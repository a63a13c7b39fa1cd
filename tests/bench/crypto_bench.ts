/**
 * Benchmarks of the crypto primitives the signer uses on every request (default hybrid backend).
 * Run: `deno bench --allow-all tests/bench/crypto_bench.ts`.
 *
 * @module
 */
import { utf8 } from "../../core/bytes.ts";
import {
  ecdh,
  ecdsaSign,
  ecdsaSignLowR,
  ecdsaSignRecoverable,
  ecdsaVerify,
  pointMultiply,
  publicKey,
  schnorrSign,
  schnorrVerify,
  sha256,
  xOnlyPublicKey,
} from "../../core/crypto/mod.ts";

const secret = sha256(utf8("bench secret"));
const pubkey = publicKey(secret);
const other = publicKey(sha256(utf8("bench peer")));
const tweak = sha256(utf8("bench tweak"));
const data64 = new Uint8Array(64).fill(0x5a);
/** 16 digests, so that low-R grinding is measured at its average cost (about half need it). */
const digests = Array.from({ length: 16 }, (_, i) => sha256(utf8(`bench digest ${i}`)));
const signatures = digests.map((d) => ecdsaSign(d, secret));
const schnorrSigs = digests.map((d) => schnorrSign(d, secret));
const xOnly = xOnlyPublicKey(secret);
let i = 0;
const next = () => (i = (i + 1) & 15);

Deno.bench("sha256 (64 bytes)", { group: "hash" }, () => {
  sha256(data64);
});

Deno.bench("ecdsaSign (RFC 6979, low-S)", { group: "ecdsa" }, () => {
  ecdsaSign(digests[next()], secret);
});

Deno.bench("ecdsaSignLowR (RFC 6979 + grinding)", { group: "ecdsa" }, () => {
  ecdsaSignLowR(digests[next()], secret);
});

Deno.bench("ecdsaSignRecoverable", { group: "ecdsa" }, () => {
  ecdsaSignRecoverable(digests[next()], secret);
});

Deno.bench("ecdsaVerify (strict)", { group: "ecdsa" }, () => {
  const n = next();
  ecdsaVerify(signatures[n], digests[n], pubkey);
});

Deno.bench("schnorrSign (BIP-340)", { group: "schnorr" }, () => {
  schnorrSign(digests[next()], secret);
});

Deno.bench("schnorrVerify (BIP-340)", { group: "schnorr" }, () => {
  const n = next();
  schnorrVerify(schnorrSigs[n], digests[n], xOnly);
});

Deno.bench("ecdh (SHA256 of the shared point)", { group: "point" }, () => {
  ecdh(secret, other);
});

Deno.bench("pointMultiply", { group: "point" }, () => {
  pointMultiply(other, tweak);
});

Deno.bench("publicKey", { group: "point" }, () => {
  publicKey(tweak);
});
