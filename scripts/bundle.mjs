// Bundles the node daemon (dist/src/node/daemon.js with everything it imports, fastify and the SQL
// parser included) into dist/bundle/daemon.js with rolldown, after `tsc`. A daemon then starts by
// compiling one file instead of resolving and compiling ≈ 220 ES modules and fastify's ≈ 136 CommonJS
// modules (bench/RESULTS.md, "A daemon starts from one bundled file").
//
// Files the code opens next to itself (`new URL('./kernels.wasm', import.meta.url)`) are copied beside
// the bundle. manifest.json lists every compiled module the bundle holds, and every copied file, with
// its size and mtime; src/cli/bundled.ts uses the bundle only while each of them is unchanged, so a
// `tsc` alone (which rewrites every file) or `tsc --watch` never runs an old bundle.
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const OUT = join(DIST, 'bundle');
// A worker thread's script is an entry of its own (the module opens it as `./core-worker.js`).
const ENTRIES = { daemon: join(DIST, 'src/node/daemon.js'), 'core-worker': join(DIST, 'src/mpc/core-worker.js') };
const ENTRY_FILES = new Set(Object.keys(ENTRIES).map((e) => `${e}.js`));

rmSync(OUT, { recursive: true, force: true });
// One build per entry, so that the daemon stays one file (no chunks shared with the worker's).
const output = [];
for (const [name, file] of Object.entries(ENTRIES)) {
  const bundle = await rolldown({ input: { [name]: file }, platform: 'node', logLevel: 'warn' });
  output.push(...(await bundle.write({ dir: OUT, format: 'esm', sourcemap: true })).output);
  await bundle.close();
}

const inputs = {};
const assets = new Map(); // name beside the bundle → the file it is copied from
for (const chunk of output) {
  if (chunk.type !== 'chunk') continue;
  for (const id of chunk.moduleIds) {
    if (!id.startsWith(join(DIST, 'src'))) continue;
    const s = statSync(id);
    inputs[relative(DIST, id)] = { size: s.size, mtimeMs: s.mtimeMs };
    for (const m of readFileSync(id, 'utf8').matchAll(/new URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g)) {
      const rel = m[1];
      if (!rel.startsWith('./') || rel.slice(2).includes('/')) throw new Error(`${relative(DIST, id)} opens ${rel}, which a bundle in ${relative(DIST, OUT)}/ cannot find; open it from the module's own folder or leave the module out of the bundle`);
      const from = join(dirname(id), rel);
      const name = basename(rel);
      if (ENTRY_FILES.has(name) && join(DIST, 'src', relative(join(DIST, 'src'), from)) === ENTRIES[name.slice(0, -3)]) continue; // bundled as an entry
      if (assets.has(name) && assets.get(name) !== from) throw new Error(`two modules open different files named ${name}`);
      assets.set(name, from);
    }
  }
}
mkdirSync(OUT, { recursive: true });
for (const [name, from] of assets) {
  if (name.endsWith('.js') && /(?:import|export)\s[^'"]*?from\s+['"]\.|import\(\s*['"]\./.test(readFileSync(from, 'utf8'))) {
    throw new Error(`${relative(DIST, from)} imports modules of its own folder, so it cannot be copied beside the bundle as it is`);
  }
  copyFileSync(from, join(OUT, name));
  const s = statSync(from);
  inputs[relative(DIST, from)] = { size: s.size, mtimeMs: s.mtimeMs };
}
writeFileSync(join(OUT, 'manifest.json'), JSON.stringify({ entries: Object.keys(ENTRIES), inputs }, null, 1) + '\n');
