// The daemon runs from the one-file bundle that `npm run build` makes (scripts/bundle.mjs), and only
// while that bundle was built from the compiled files now in dist: a stale bundle is never run.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { bundleIsCurrent, importDaemon } from '../src/cli/bundled.js';

describe('the daemon bundle', () => {
  it('is current after npm run build, and the node command imports it', async () => {
    assert.ok(bundleIsCurrent('daemon'), 'dist/bundle is missing or older than dist/src: run `npm run build` (npm test does) rather than `tsc` alone');
    const bundled = await importDaemon();
    const compiled = await import('../src/node/daemon.js');
    assert.equal(typeof bundled.startDaemon, 'function');
    assert.notEqual(bundled.startDaemon, compiled.startDaemon, 'the bundle, not the compiled modules');
  });

  it('is not used once any file it was built from changes, goes missing, or with MOSAIK_BUNDLE=off', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mosaik-bundle-'));
    try {
      const dist = pathToFileURL(dir + '/');
      mkdirSync(join(dir, 'bundle'));
      mkdirSync(join(dir, 'src/node'), { recursive: true });
      const files = ['src/node/daemon.js', 'src/node/api.js'];
      for (const f of files) writeFileSync(join(dir, f), `// ${f}\n`);
      const manifest = () => {
        const inputs = Object.fromEntries(files.map((f) => {
          const s = statSync(join(dir, f));
          return [f, { size: s.size, mtimeMs: s.mtimeMs }];
        }));
        writeFileSync(join(dir, 'bundle/manifest.json'), JSON.stringify({ entries: ['daemon'], inputs }));
      };
      assert.equal(bundleIsCurrent('daemon', dist), false, 'no manifest');
      manifest();
      assert.equal(bundleIsCurrent('daemon', dist), true);
      assert.equal(bundleIsCurrent('web', dist), false, 'an entry the bundle does not hold');
      const t = statSync(join(dir, files[1]!)).mtime;
      utimesSync(join(dir, files[1]!), t, new Date(t.getTime() + 1000));
      assert.equal(bundleIsCurrent('daemon', dist), false, 'a newer file (tsc without the bundling step)');
      manifest();
      assert.equal(bundleIsCurrent('daemon', dist), true);
      const t0 = statSync(join(dir, files[0]!)).mtime;
      writeFileSync(join(dir, files[0]!), '// a longer text than the one the bundle was built from\n');
      utimesSync(join(dir, files[0]!), t0, t0);
      assert.equal(bundleIsCurrent('daemon', dist), false, 'a file of another size');
      manifest();
      rmSync(join(dir, files[1]!));
      assert.equal(bundleIsCurrent('daemon', dist), false, 'a file gone');
      writeFileSync(join(dir, files[1]!), `// ${files[1]}\n`);
      manifest();
      const was = process.env.MOSAIK_BUNDLE;
      process.env.MOSAIK_BUNDLE = 'off';
      try {
        assert.equal(bundleIsCurrent('daemon', dist), false, 'MOSAIK_BUNDLE=off');
      } finally {
        if (was === undefined) delete process.env.MOSAIK_BUNDLE;
        else process.env.MOSAIK_BUNDLE = was;
      }
      assert.equal(bundleIsCurrent('daemon', dist), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
