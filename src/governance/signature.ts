// The shape of a signature on a Mosaik document (./identity.ts makes and checks them with
// node:crypto; the browser app with WebCrypto): the type and its shape check, importable from
// anywhere (no Node built-in).

export interface Signature {
  /** Name of the signer in the consortium configuration (a node name for 'authorization'). */
  signer: string;
  /** SHA-256 (hex) of the signer's raw 32-byte Ed25519 public key. */
  keyId: string;
  alg: 'ed25519';
  /** Base64 of the 64-byte signature. */
  sig: string;
}

/** Whether x has the shape of a signature (not whether it verifies). */
export function isSignature(x: unknown): x is Signature {
  const s = x as Partial<Signature> | null;
  return !!s && typeof s === 'object' && typeof s.signer === 'string' && typeof s.keyId === 'string' && s.alg === 'ed25519' && typeof s.sig === 'string';
}
