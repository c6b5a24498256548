// The README's first command, small: three node daemons, three custodians uploading their
// registers as shares, the example studies in MPC next to SQLite's answer.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'mosaik-demo-'));
after(() => rmSync(root, { recursive: true, force: true }));

function mosaik(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [MAIN, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

describe('mosaik demo (the main job)', () => {
  it('ingests the registers, runs every study in MPC and agrees with the plaintext; a rerun is idempotent', async () => {
    const dir = join(root, 'demo');
    const first = await mosaik('demo', '--citizens', '1500', '--dir', dir);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /every released cell agrees with the plaintext/);
    for (const t of ['Type-2 diabetes', 'length of stay', 'Statin', 'income']) assert.match(first.out, new RegExp(t));
    assert.match(first.out, /population version demo-1500-1: 1,500 rows × 6 columns shared; node-a stored, node-b stored, node-c stored/);
    const second = await mosaik('demo', '--citizens', '1500', '--dir', dir);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /population version demo-1500-1: 1,500 rows .* node-a already had it, node-b already had it, node-c already had it/);
  });
});
