// Uploads sealed for their node: the format shared by the browser app, which seals each node's
// upload body (./upload-body.ts) to that node's X25519 upload key, and the node, which opens it
// (src/node/sealed-upload.ts) and stores it like any upload. A web server that relays the three
// bodies sees only ciphertext: not the shares, not the header.
//
//   body    "MKSU" | 0x01 | enc (32 bytes, the HPKE encapsulated key) | ciphertext
//   HPKE    RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM (the suite of
//           ../governance/sealed-format.ts), info 'mosaik-upload-v1'
//   AAD     'mosaik-sealed-upload/1\n<cluster>/<node name>/<party>/<dataset>/<version>': a body
//           opens only at the node it was sealed for, under the dataset and version of its URL
//   key     "x25519:<base64url of the raw 32-byte public key>", each node's `uploadKey` in
//           cluster.json (src/net/upload-keys.ts); the private half never leaves the node
//
// Pure constants and byte layout (browser-safe). Reveals: the body's length (about the plain
// upload's: rows × columns × 16 bytes plus the public header), which is public anyway (DESIGN.md).

export const SEALED_UPLOAD_FORMAT = 'mosaik-sealed-upload/1';
export const UPLOAD_SEAL_INFO = new TextEncoder().encode('mosaik-upload-v1');
const MAGIC = [0x4d, 0x4b, 0x53, 0x55]; // "MKSU"
const LAYOUT_VERSION = 1;
const ENC_BYTES = 32;
/** Bytes before the ciphertext. */
export const SEALED_UPLOAD_PREFIX = MAGIC.length + 1 + ENC_BYTES;
/** Largest sealed body a node opens (it holds one in memory): larger uploads go through `mosaik ingest`. */
export const SEALED_UPLOAD_MAX_BYTES = 256 << 20;

/** The additional data that binds a sealed body to its cluster, node, dataset and version. */
export const sealedUploadAad = (b: { cluster: string; node: string; party: number; dataset: string; version: string }): Uint8Array =>
  new TextEncoder().encode(`${SEALED_UPLOAD_FORMAT}\n${b.cluster}/${b.node}/${b.party}/${b.dataset}/${b.version}`);

/** The node route that takes a sealed body (PUT, application/octet-stream). */
export const sealedUploadPath = (dataset: string, version: string): string => `/v1/datasets/${encodeURIComponent(dataset)}/versions/${encodeURIComponent(version)}/sealed`;

export function encodeSealedUpload(enc: Uint8Array, ct: Uint8Array): Uint8Array {
  if (enc.length !== ENC_BYTES) throw new Error(`an X25519 encapsulated key has ${ENC_BYTES} bytes, not ${enc.length}`);
  const out = new Uint8Array(SEALED_UPLOAD_PREFIX + ct.length);
  out.set(MAGIC, 0);
  out[MAGIC.length] = LAYOUT_VERSION;
  out.set(enc, MAGIC.length + 1);
  out.set(ct, SEALED_UPLOAD_PREFIX);
  return out;
}

/** Splits a sealed body; throws with what is wrong when it is not one. */
export function decodeSealedUpload(body: Uint8Array): { enc: Uint8Array; ct: Uint8Array } {
  if (body.length < SEALED_UPLOAD_PREFIX + 16 || MAGIC.some((m, i) => body[i] !== m)) throw new Error('the body is not a sealed upload (it must start with "MKSU"; plain uploads go to PUT /v1/datasets/:name/versions/:version)');
  if (body[MAGIC.length] !== LAYOUT_VERSION) throw new Error(`sealed upload layout ${body[MAGIC.length]} is not known (this node reads layout ${LAYOUT_VERSION})`);
  return { enc: body.subarray(MAGIC.length + 1, SEALED_UPLOAD_PREFIX), ct: body.subarray(SEALED_UPLOAD_PREFIX) };
}

const UPLOAD_KEY_RE = /^x25519:([A-Za-z0-9_-]{43})$/;

/** The raw 32 bytes of a node's upload key as cluster.json gives it ("x25519:<base64url>"), base64url. */
export function uploadKeyBase64url(s: string): string {
  const m = UPLOAD_KEY_RE.exec(typeof s === 'string' ? s.trim() : '');
  if (!m) throw new Error(`an upload key looks like "x25519:" followed by the base64url of 32 bytes, got ${JSON.stringify(s)}`);
  return m[1]!;
}
