// Governed use as a custodian and a researcher meet it (issue 12): `mosaik demo --governed` runs
// the whole governed flow on the demo registers in one command; `mosaik usage --cluster` reads all
// three nodes (each records usage on its own) and says where they disagree, instead of trusting
// node 0 alone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { compareUsage } from '../src/cli/governance-remote.js';
import type { UsageSummary } from '../src/governance/usage.js';

const u = (o: Partial<UsageSummary>): UsageSummary => ({ custodian: 'cpr', study: 'pop', queries: 2, rowsTouched: 2000, datasets: ['population'], epsilon: 0.2, firstAt: '2026-01-01T00:00:00Z', lastAt: '2026-01-02T00:00:00Z', ...o });

describe('usage cross-checked at the three nodes', () => {
  it('agree when the counts agree (times may differ by when each node finished)', () => {
    assert.deepEqual(compareUsage([{ node: 'node-a', summary: [u({})] }, { node: 'node-b', summary: [u({ lastAt: '2026-01-02T00:00:01Z' })] }, { node: 'node-c', summary: [u({})] }]), []);
  });
  it('name the custodian, study and each node\'s record where they differ or one lacks it', () => {
    const d = compareUsage([{ node: 'node-a', summary: [u({}), u({ study: 'other' })] }, { node: 'node-b', summary: [u({ queries: 1, rowsTouched: 1000 })] }, { node: 'node-c', summary: [u({}), u({ study: 'other' })] }]);
    assert.equal(d.length, 2);
    assert.match(d[0]!, /^cpr \/ other: node-a records 2 queries.*node-b records nothing/);
    assert.match(d[1]!, /^cpr \/ pop: node-a records 2 queries, 2000 rows.*node-b records 1 queries, 1000 rows/);
  });
});

describe('mosaik demo --governed', () => {
  it('runs the governed flow end to end: consortium, signed uploads, policies, consent, study, approvals with warnings, runs, a refusal logged, usage agreed, audit verified', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mosaik-gdemo-'));
    try {
      const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
      const r = await new Promise<{ code: number | null; out: string }>((ok) => {
        const child = spawn(process.execPath, [main, 'demo', '--governed', '--citizens', '1000', '--dir', join(dir, 'c')], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (b: Buffer) => (out += b.toString()));
        child.stderr.on('data', (b: Buffer) => (out += b.toString()));
        child.on('close', (code) => ok({ code, out }));
      });
      assert.equal(r.code, 0, r.out);
      for (const re of [
        /\$ mosaik consortium init --cluster .* --consent-dataset consent/,
        /consent register 'consent' of 'consent-register'/,
        /policy of 'sundhedsdatastyrelsen' .*hospital forbidden/,
        /register version consent-1, [\d,]+ rows, at every node; logged as counts and commitments/,
        /approval of study 'demo-governed' by 'sundhedsdatastyrelsen'\n\s+WARNING: study 'demo-governed' declares column contacts\.hospital, which your policy does not allow/,
        /t2d-prevalence \(epsilon 0\.1; consent register consent@consent-1/,
        /contacts-by-hospital: REFUSED — .*policy forbids it/,
        /consent-register +\d+ queries/,
        /the three nodes agree/,
        /refused attempts logged, by the check that failed: column-forbidden 1/,
        /✔ governed flow: 8 queries run, 1 refused by the custodian's policy \(and logged\), usage agrees at the three nodes, transparency log verified/,
      ]) assert.match(r.out, re);
      assert.match(readFileSync(join(dir, 'c', 'consortium.json'), 'utf8'), /"custodian": "consent-register"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
