// A forked compute worker (src/node/worker.ts) never outlives the process that started it.
import assert from 'node:assert/strict';
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('../src/node/worker.js', import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('compute worker lifetime', () => {
  it('exits (code 2) when its IPC channel closes before any job', async () => {
    const child = fork(WORKER, ['--party=0'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    await once(child, 'spawn');
    child.disconnect();
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
  });

  it('exits when the process that forked it is killed', async () => {
    // A parent of its own that forks a worker, prints the worker's pid and waits; then SIGKILL.
    const parent = spawn(process.execPath, ['-e', `const c = require('node:child_process').fork(${JSON.stringify(WORKER)}, ['--party=1'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] }); c.on('spawn', () => console.log(c.pid)); setInterval(() => {}, 1 << 30);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    assert.ok(pid > 0 && alive(pid), 'the worker runs');
    parent.kill('SIGKILL');
    await once(parent, 'exit');
    while (alive(pid)) await new Promise((ok) => setTimeout(ok, 50));
    assert.equal(alive(pid), false);
  });
});
