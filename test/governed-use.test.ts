// Governed use as a custodian meets it (issue 12): `mosaik usage --cluster` reads all three nodes
// (each records usage on its own) and says where they disagree, instead of trusting node 0 alone.
import assert from 'node:assert/strict';
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
