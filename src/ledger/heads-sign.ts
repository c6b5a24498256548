// A node's signature of a tree head (src/ledger/heads.ts): Ed25519 (RFC 8032) over headMessage with
// the node's private key, through node:crypto. Node only: the key never leaves the node, and the
// verifying side (heads.ts, ed25519.ts) is what the CLI and the browser share.
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { headMessage, type HeadSignature, type TreeHead } from './heads.js';

/** This node's signature of a head (Ed25519 over headMessage). */
export function signHead(h: TreeHead, party: 0 | 1 | 2, privateKey: string | KeyObject): HeadSignature {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  return { party, signature: sign(null, headMessage(h), key).toString('base64') };
}
