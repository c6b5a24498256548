// The daemon's code from the one-file bundle `npm run build` makes (scripts/bundle.mjs: 0.76 → 0.31
// CPU-s per start), or from the compiled modules when the bundle is missing or older than any of them
// (a `tsc` without the bundling step) or MOSAIK_BUNDLE=off. Both are the same code.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIST = new URL('../../', import.meta.url);

interface Manifest {
  entries: string[];
  inputs: Record<string, { size: number; mtimeMs: number }>;
}

/** True when <dist>/bundle/<entry>.js was built from exactly the compiled files now in <dist>. */
export function bundleIsCurrent(entry: string, dist: URL = DIST): boolean {
  if (process.env.MOSAIK_BUNDLE === 'off') return false;
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(new URL('bundle/manifest.json', dist), 'utf8')) as Manifest;
  } catch {
    return false;
  }
  if (!m.entries.includes(entry)) return false;
  for (const [file, want] of Object.entries(m.inputs)) {
    const s = statSync(fileURLToPath(new URL(file, dist)), { throwIfNoEntry: false });
    if (!s || s.size !== want.size || s.mtimeMs !== want.mtimeMs) return false;
  }
  return true;
}

/** The daemon module (src/node/daemon.ts), bundled when the bundle is current. */
export async function importDaemon(): Promise<typeof import('../node/daemon.js')> {
  if (bundleIsCurrent('daemon')) return (await import(new URL('bundle/daemon.js', DIST).href)) as typeof import('../node/daemon.js');
  return import('../node/daemon.js');
}
