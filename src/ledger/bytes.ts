// Byte helpers for the transparency log's verification path, the same in Node and in a browser
// (Uint8Array, TextEncoder; no Buffer): UTF-8, hex and base64 (RFC 4648 §4 and the URL-safe
// alphabet of §5), and comparison. Hex comes from @noble/hashes, whose hashes the log uses.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export const utf8 = (s: string): Uint8Array => encoder.encode(s);

/** The length of a string in UTF-8 bytes (Buffer.byteLength(s, 'utf8')). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4; // a surrogate pair: one code point of four bytes
      i++;
    } else n += 3; // including a lone surrogate, which UTF-8 encoders write as U+FFFD (3 bytes)
  }
  return n;
}

/** Lower-case hex of bytes. */
export const toHex = (b: Uint8Array): string => bytesToHex(b);

/** Bytes of a hex string (even length, hex digits only; throws otherwise). */
export const hexBytes = (s: string): Uint8Array => hexToBytes(s);

/** Whether two byte arrays hold the same bytes (not constant-time: everything compared here is public). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;
B64_VALUE['-'.charCodeAt(0)] = 62; // URL-safe alphabet (RFC 4648 §5)
B64_VALUE['_'.charCodeAt(0)] = 63;

/**
 * Bytes of base64 text, standard or URL-safe, padded or not; undefined when it is not base64
 * (a character outside the alphabets, a length no encoding gives, or non-zero unused bits).
 */
export function fromBase64(s: string): Uint8Array | undefined {
  const text = s.endsWith('==') ? s.slice(0, -2) : s.endsWith('=') ? s.slice(0, -1) : s;
  if (text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64_VALUE[c]! : -1;
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if (acc & ((1 << bits) - 1)) return undefined; // leftover bits must be zero (canonical encoding)
  return out;
}
