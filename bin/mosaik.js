#!/usr/bin/env node
// The `mosaik` command as installed on the PATH (package.json "bin"; `npm link` in the clone puts it
// there, for every folder). Runs the compiled CLI (dist/src/cli/main.js), building it first when a
// fresh clone has not been built yet, so `mosaik …` works from any folder without `npx` (which,
// outside the clone, would ask the registry for a package named mosaik).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write('mosaik: building the command first (npm run build, once)\n');
  const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
await import(pathToFileURL(main).href);
