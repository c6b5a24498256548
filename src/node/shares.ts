// A node's share files: one replicated share (x_i, x_{i+1}) of one column per file.
//
//   offset 0  "MKSH"  magic
//          4  u32     version (1), little endian
//          8  u64     n, number of lanes
//         16  n × u64 first half  (x_i)
//   16 + 8n   n × u64 second half (x_{i+1})
//
// Plain files for one-job runs only (the engine demo, `mosaik demo-engine`, and the TLS tests, where a
// custodian on the same machine writes them). The node daemon does not use them: its share store
// (src/node/store.ts) encrypts every column at rest and receives shares over TLS from custodians.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AShare } from '../mpc/share.js';

const MAGIC = 0x48534b4d; // "MKSH" little endian

export function encodeShare(s: AShare): Uint8Array {
  const n = s.length;
  const out = new Uint8Array(16 + 16 * n);
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, 1, true);
  v.setBigUint64(8, BigInt(n), true);
  out.set(new Uint8Array(s.a.buffer, s.a.byteOffset, 8 * n), 16);
  out.set(new Uint8Array(s.b.buffer, s.b.byteOffset, 8 * n), 16 + 8 * n);
  return out;
}

export function decodeShare(bytes: Uint8Array, what = 'share file'): AShare {
  if (bytes.byteLength < 16) throw new Error(`${what}: too short to be a share file`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== MAGIC) throw new Error(`${what}: not a Mosaik share file`);
  if (v.getUint32(4, true) !== 1) throw new Error(`${what}: unsupported version ${v.getUint32(4, true)}`);
  const n = Number(v.getBigUint64(8, true));
  if (bytes.byteLength !== 16 + 16 * n) throw new Error(`${what}: ${bytes.byteLength} bytes, expected ${16 + 16 * n} for ${n} lanes`);
  // Copy into fresh, aligned arrays (a file buffer may start at any offset).
  const a = new BigUint64Array(n);
  const b = new BigUint64Array(n);
  new Uint8Array(a.buffer).set(bytes.subarray(16, 16 + 8 * n));
  new Uint8Array(b.buffer).set(bytes.subarray(16 + 8 * n));
  return new AShare(a, b);
}

export function writeShareFile(path: string, s: AShare): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodeShare(s), { mode: 0o600 });
}

export function readShareFile(path: string): AShare {
  return decodeShare(readFileSync(path), path);
}
