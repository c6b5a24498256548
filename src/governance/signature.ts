// The shape of a signature on a Mosaik document (./identity.ts makes and checks them with
// node:crypto; the browser app with WebCrypto). A type only: importable from anywhere.

export interface Signature {
  /** Name of the signer in the consortium configuration (a node name for 'authorization'). */
  signer: string;
  /** SHA-256 (hex) of the signer's raw 32-byte Ed25519 public key. */
  keyId: string;
  alg: 'ed25519';
  /** Base64 of the 64-byte signature. */
  sig: string;
}
