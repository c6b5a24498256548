// Ed25519 signature verification for the transparency log's co-signed tree heads (RFC 8032
// §5.1.7), the same code in the CLI and in a browser: point arithmetic from @noble/curves, SHA-512
// from @noble/hashes (audited, pure JS, no native code); no node:crypto, no KeyObject.
//
// The check is the cofactorless equation R = [S]B − [k]A, compared by encoding, with S < L and
// k = SHA-512(R ‖ A ‖ M) mod L: exactly what OpenSSL (node:crypto, which verified heads before)
// accepts, so a head verifies here if and only if it verified there (test/ledger-iso.test.ts checks
// both on random and corrupted signatures). A node's public key is decoded strictly (canonical y,
// not of small order) once, and its multiples are precomputed in 6-bit windows: an audit verifies
// three signatures per head against the same three keys, and this makes one verification about
// four times faster than @noble/curves' general ed25519.verify, which decodes the key every time.
// Measured in one process (Node 20, 2026-12-06): 6-bit windows cost 24–25 ms to build the first time
// and 0.29–0.30 ms per verification, 8-bit windows 50–61 ms and 0.34–0.36 ms; a node daemon builds
// one table per peer key in every run, so the smaller table is the cheaper at any number of heads.
// Nothing here is secret (public keys, signatures, messages): variable-time arithmetic is fine.
//
// A Node process may hand the equation to OpenSSL instead (setPlatformEd25519, installed by
// src/ledger/ed25519-openssl.ts in the node daemons and the CLI): the key is still decoded and
// checked here, S < L too, then node:crypto verifies. A daemon verifies a few hundred signatures
// per run and never warms this BigInt arithmetic up: the main job's 36 heads × 3 signatures took
// 0.23–0.26 CPU-s in a fresh process here and 0.014–0.017 through OpenSSL (bench/RESULTS.md).
// test/ledger-iso.test.ts checks that both ways give the same answers.
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { equalBytes, fromBase64 } from './bytes.js';

type Point = typeof ed25519.Point.BASE;

const Point = ed25519.Point;
/** The order L of the base point. */
const L = Point.Fn.ORDER;

interface PreparedKey {
  /** The 32-byte encoding (hashed into k). */
  bytes: Uint8Array;
  /** The decoded key A. */
  A: Point;
  /** −A with its window table, built at the first verification that needs it. */
  negA?: Point;
}

/** Verifies a signature under a checked 32-byte public key (the platform's own Ed25519). */
export type RawEd25519Verify = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
let platformVerify: RawEd25519Verify | null = null;

/**
 * Hands the verification equation to `verify` (null: back to @noble/curves). It must accept exactly
 * the signatures RFC 8032 §5.1.7 does, cofactorless, as OpenSSL does; keys and S are checked here first.
 */
export function setPlatformEd25519(verify: RawEd25519Verify | null): void {
  platformVerify = verify;
}

/**
 * The 32 key bytes of a signing key as cluster.json writes it: "ed25519:" and the base64url
 * (or standard base64) of the public key. Undefined when it is not one.
 */
export function signingKeyBytes(text: string): Uint8Array | undefined {
  const m = /^ed25519:([A-Za-z0-9_\-+/]{43}=?)$/.exec(typeof text === 'string' ? text.trim() : '');
  const raw = m ? fromBase64(m[1]!) : undefined;
  return raw && raw.length === 32 ? raw : undefined;
}

const prepared = new Map<string, PreparedKey | null>();
/** Bits per window of a key's precomputed multiples (see the module comment). */
const WINDOW_BITS = 6;

/** The decoded, precomputed public key (null: not a usable Ed25519 public key). Cached per key text. */
function prepare(text: string): PreparedKey | null {
  let k = prepared.get(text);
  if (k !== undefined) return k;
  k = null;
  const bytes = signingKeyBytes(text);
  if (bytes) {
    try {
      const A = Point.fromBytes(bytes, false); // strict RFC 8032 decoding
      if (!A.isSmallOrder()) k = { bytes, A };
    } catch {
      k = null;
    }
  }
  if (prepared.size > 64) prepared.clear(); // a handful of node keys in practice
  prepared.set(text, k);
  return k;
}

/** Whether `text` is an Ed25519 public key this module can verify with. */
export function isSigningKey(text: string): boolean {
  return prepare(text) !== null;
}

/** Verifies an Ed25519 signature (64 bytes) of `message` under the cluster.json-form public key. */
export function verifyEd25519(publicKey: string, message: Uint8Array, signature: Uint8Array): boolean {
  const key = prepare(publicKey);
  if (!key || signature.length !== 64) return false;
  const R = signature.subarray(0, 32);
  const S = bytesToNumberLE(signature.subarray(32));
  if (S >= L) return false; // RFC 8032 §5.1.7 step 1: S must be reduced
  if (platformVerify) return platformVerify(key.bytes, message, signature);
  const negA = (key.negA ??= key.A.negate().precompute(WINDOW_BITS, false));
  const hashed = new Uint8Array(64 + message.length);
  hashed.set(R, 0);
  hashed.set(key.bytes, 32);
  hashed.set(message, 64);
  const k = bytesToNumberLE(sha512(hashed)) % L;
  const check = Point.BASE.multiplyUnsafe(S).add(negA.multiplyUnsafe(k));
  return equalBytes(check.toBytes(), R);
}
