// Packaging as a new user meets it (issue 12): the lock file matches package.json (so `npm ci`
// works on a fresh clone and `npm install` rewrites nothing), every locked package installs quietly
// on Node 20 (no EBADENGINE), the `mosaik` command works from any folder through the package's
// bin launcher (what `npm link` puts on the PATH), and the README uses that form, never `npx`
// (which, outside the clone, asks the registry for a package named mosaik).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));

type Version = [number, number, number];
const parse = (v: string): Version => {
  const m = /^v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?/.exec(v.trim());
  if (!m) throw new Error(`not a version: ${v}`);
  const n = (s?: string) => (s === undefined || s === 'x' || s === '*' ? 0 : Number(s));
  return [n(m[1]), n(m[2]), n(m[3])];
};
const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Whether `v` satisfies an engines range (the forms packages use: >=, >, <, <=, ^, ~, x-ranges, ||). */
export function satisfies(v: Version, range: string): boolean {
  return range.split('||').some((part) => {
    const comps = part.trim().replace(/([<>=^~]+)\s+/g, '$1').split(/\s+/).filter(Boolean);
    if (comps.length === 3 && comps[1] === '-') return cmp(v, parse(comps[0]!)) >= 0 && cmp(v, parse(comps[2]!)) <= 0;
    return comps.every((c) => {
      if (c === '*' || c === 'x') return true;
      const m = /^(>=|<=|>|<|\^|~|=)?(.*)$/.exec(c)!;
      const w = parse(m[2]!);
      const d = cmp(v, w);
      switch (m[1]) {
        case '>=': return d >= 0;
        case '>': return d > 0;
        case '<=': return d <= 0;
        case '<': return d < 0;
        case '^': return d >= 0 && v[0] === w[0];
        case '~': return d >= 0 && v[0] === w[0] && v[1] === w[1];
        default: return /\.(x|\*)|^\d+$|^\d+\.\d+$/.test(m[2]!) ? v[0] === w[0] && (!/^\d+\.\d+/.test(m[2]!) || v[1] === w[1]) : d === 0;
      }
    });
  });
}

describe('packaging', () => {
  it('package-lock.json matches package.json (npm ci works on a fresh clone)', () => {
    const root = lock.packages[''];
    assert.equal(lock.lockfileVersion, 3);
    for (const f of ['dependencies', 'devDependencies', 'bin'] as const) assert.deepEqual(root[f] ?? {}, pkg[f] ?? {}, `package-lock.json's ${f} differ from package.json's: run npm install and commit the lock`);
    // Every dependency of the root is locked.
    for (const d of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]) assert.ok(lock.packages[`node_modules/${d}`], `${d} is not in package-lock.json`);
    // The overrides the lock was made with.
    for (const [name, version] of Object.entries(pkg.overrides ?? {})) {
      const locked = Object.entries(lock.packages as Record<string, { version: string }>).filter(([k]) => k.endsWith(`node_modules/${name}`));
      assert.ok(locked.length && locked.every(([, v]) => v.version === version), `${name} is overridden to ${version} in package.json, but locked as ${locked.map(([, v]) => v.version).join(', ')}`);
    }
  });

  it('every locked package supports Node 20 (npm install prints no EBADENGINE)', () => {
    assert.ok(satisfies([20, 11, 0], '>=20') && !satisfies([20, 11, 0], '>=22') && satisfies([20, 11, 0], '^18.17.0 || >=20.5.0') && !satisfies([20, 1, 0], '^18.17.0 || >=20.5.0'));
    const node20: Version = process.versions.node.startsWith('20.') ? parse(process.versions.node) : [20, 11, 0];
    const bad = Object.entries(lock.packages as Record<string, { engines?: { node?: string }; optional?: boolean }>)
      .filter(([k, v]) => k && typeof v.engines?.node === 'string' && !satisfies(node20, v.engines.node))
      .map(([k, v]) => `${k} (node ${v.engines!.node})`);
    assert.deepEqual(bad, [], 'locked packages that do not support Node 20');
  });

  it('the bin launcher runs `mosaik --help` from any folder', () => {
    assert.equal(pkg.bin.mosaik, 'bin/mosaik.js');
    const elsewhere = mkdtempSync(join(tmpdir(), 'mosaik-pkg-'));
    try {
      const out = execFileSync(process.execPath, [join(ROOT, pkg.bin.mosaik), '--help'], { cwd: elsewhere, encoding: 'utf8' });
      assert.match(out, /^Usage: mosaik /m);
      assert.match(out, /local-cluster/);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('every command is there however the CLI is started (modules registered lazily, src/cli/main.ts)', () => {
    const mosaik = (...args: string[]) => execFileSync(process.execPath, [join(ROOT, pkg.bin.mosaik), ...args], { encoding: 'utf8' });
    const all = mosaik('--help');
    for (const c of ['keygen', 'node', 'query', 'demo', 'web', 'stats', 'ingest', 'identity', 'consortium', 'policy', 'study', 'consent', 'audit', 'citizen', 'grant', 'record']) assert.match(all, new RegExp(`^  ${c}\\b`, 'm'), `mosaik --help lists ${c}`);
    assert.match(mosaik('ingest', '--help'), /^Usage: mosaik ingest /m);
    assert.match(mosaik('stats', '--help'), /^Usage: mosaik stats /m);
    assert.match(mosaik('audit', '--help'), /verify/);
    assert.match(mosaik('node', '--help'), /--party <id>/);
    // `consent` has subcommands from three modules: all of them.
    const consent = mosaik('consent', '--help');
    for (const sub of ['set', 'inbox', 'change']) assert.match(consent, new RegExp(`^  ${sub}\\b`, 'm'), `mosaik consent --help lists ${sub}`);
  });

  it('the README puts mosaik on the PATH and never runs it through npx', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.doesNotMatch(readme, /npx\s+mosaik/, 'npx mosaik outside the clone downloads a registry package of that name');
    assert.match(readme, /npm link/);
    assert.match(readme, /^npm install && npm start$/m);
    assert.match(readme, /^npm install && npm test$/m);
  });
});
