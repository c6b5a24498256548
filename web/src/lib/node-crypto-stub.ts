// @hpke/core falls back to Node's `crypto` module where a runtime has no WebCrypto; a browser has
// it, so the bundle gets this instead of a Node built-in.
export const webcrypto = globalThis.crypto;
