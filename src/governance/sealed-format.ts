// The format of a sealed result part (./sealed.ts seals and opens it in Node; the browser app opens
// it with the same HPKE suite): RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// AES-256-GCM, info 'mosaik-result-v1', additional data '<cluster>/<job>/<party>'. Pure constants.

export const SEALED_ALG = 'hpke-x25519-sha256-aes256gcm';

/** A sealed part of a result: the HPKE encapsulated key and the ciphertext, base64url. */
export interface Sealed {
  alg: typeof SEALED_ALG;
  enc: string;
  ct: string;
}

export const RESULT_INFO = new TextEncoder().encode('mosaik-result-v1');

/** The additional data that binds a part to its cluster, job and node. */
export const resultAad = (cluster: string, job: string, party: number): Uint8Array => new TextEncoder().encode(`${cluster}/${job}/${party}`);
