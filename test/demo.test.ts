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
  it('ingests the registers, runs every study in MPC with output protection and agrees with the plaintext within the noise; a rerun starts fresh nodes', async () => {
    const dir = join(root, 'demo');
    const first = await mosaik('demo', '--citizens', '1500', '--dir', dir);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /every released cell agrees with the plaintext within the noise the protection added/);
    for (const t of ['Type-2 diabetes', 'Statin', 'income quintile', 'Mean income', 'Hospital contacts']) assert.match(first.out, new RegExp(t));
    assert.match(first.out, /population version demo-1500-1: 1,500 rows × 6 columns shared; node-a stored, node-b stored, node-c stored/);
    // Every released number carries noise, and says how much.
    assert.match(first.out, /Protected result \(differential privacy ε = 0\.1\): each count ± \d+ \(95 %\)/);
    assert.match(first.out, /researcher 'epidemiologist' spent epsilon 0\.7 of 1/);
    // The example statistics (issue 13), by another researcher, beside R.
    for (const t of ['logistic regression', 'Kaplan–Meier', 'log-rank', 'Cox regression']) assert.match(first.out, new RegExp(t));
    assert.match(first.out, /statistics: every estimate agrees with R within the noise the protection added; epsilon spent 1\.00/);
    // The nodes start empty on every run (keys kept): the same studies run again, with a fresh budget.
    const second = await mosaik('demo', '--citizens', '1500', '--dir', dir);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /population version demo-1500-1: 1,500 rows .* node-a stored, node-b stored, node-c stored/);
  });
});
