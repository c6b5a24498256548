// A node's private key files (TLS, signing, upload keys: ./keys.ts, ./upload-keys.ts): written
// once, mode 0600 in a folder of mode 0700, never replaced unless asked.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Writes a key made by `make` to `path` (mode 0600, its folder 0700); refuses to replace an existing file unless asked. */
export function writeNewKeyFile<K extends { privateKeyPem: string }>(path: string, make: () => K, overwrite = false): K & { path: string } {
  if (!overwrite && existsSync(path)) throw new Error(`${path} already exists (use --force to replace it)`);
  const k = make();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, k.privateKeyPem, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { ...k, path };
}
