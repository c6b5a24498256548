// A citizen's name at the nodes (./citizens.ts): pseudonymous, derived from the key alone, the same
// in Node and in the citizen's browser. Browser-safe.

/** citizen-<the first 16 hex digits of the key id (SHA-256 of the raw public key)>. */
export const citizenName = (keyId: string): string => `citizen-${keyId.slice(0, 16)}`;
export const isCitizenName = (s: string): boolean => /^citizen-[0-9a-f]{16}$/.test(s);
