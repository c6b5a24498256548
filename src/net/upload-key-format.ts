// How cluster.json (and the browser) writes a node's X25519 upload key: "x25519:<base64url of the
// 32-byte public key>" (./upload-keys.ts makes and reads the keys in Node; the browser app seals
// uploads to them, src/ingest/sealed-upload.ts). Browser-safe: no Node built-in.

const UPLOAD_KEY_RE = /^x25519:([A-Za-z0-9_-]{43})$/;

/** The raw 32 bytes of a node's upload key as cluster.json gives it ("x25519:<base64url>"), base64url. */
export function uploadKeyBase64url(s: string): string {
  const m = UPLOAD_KEY_RE.exec(typeof s === 'string' ? s.trim() : '');
  if (!m) throw new Error(`an upload key looks like "x25519:" followed by the base64url of 32 bytes, got ${JSON.stringify(s)}`);
  return m[1]!;
}
